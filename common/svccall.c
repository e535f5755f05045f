/* svccall.c: asynchronous calls to command sockets (see svccall.h). */
#include "svccall.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "err.h"
#include "log.h"
#include "mp.h"

typedef struct call {
	uint64_t id; /* 0: slot free */
	uint64_t deadline;
	ch_call_fn fn;
	void *arg;
} call_t;

typedef struct endpoint {
	char addr[CH_CTL_ENDPOINT_MAX];
	void *sock; /* DEALER */
} endpoint_t;

struct ch_caller {
	void *zctx;
	endpoint_t ep[CH_CALL_ENDPOINTS];
	uint32_t nep;
	call_t calls[CH_CALL_MAX];
	uint32_t ncalls;
	uint64_t next_id;
	uint64_t late;
	ch_mpr_t rd;
};

ch_caller_t *ch_caller_new(void *zctx)
{
	if (!zctx)
		return NULL;
	ch_caller_t *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->zctx = zctx;
	c->next_id = 1;
	ch_mpr_init(&c->rd, CH_CALL_REPLY_MAX);
	return c;
}

/* finish: frees the slot first, so the callback may start new calls. */
static void finish(ch_caller_t *c, call_t *k, int rc, const msgpack_object *result, const char *msg)
{
	ch_call_fn fn = k->fn;
	void *arg = k->arg;
	k->id = 0;
	c->ncalls--;
	fn(arg, rc, result, msg ? msg : (rc ? ch_strerror(rc) : ""));
}

void ch_caller_free(ch_caller_t **cp)
{
	ch_caller_t *c = cp ? *cp : NULL;
	if (!c)
		return;
	for (uint32_t i = 0; i < CH_CALL_MAX; i++)
		if (c->calls[i].id)
			finish(c, &c->calls[i], CH_ECLOSED, NULL, "the caller is stopping");
	for (uint32_t i = 0; i < c->nep; i++)
		zmq_close(c->ep[i].sock);
	ch_mpr_free(&c->rd);
	free(c);
	*cp = NULL;
}

/* socket_for: the DEALER connected to addr, opened on first use. */
static void *socket_for(ch_caller_t *c, const char *addr)
{
	for (uint32_t i = 0; i < c->nep; i++)
		if (strcmp(c->ep[i].addr, addr) == 0)
			return c->ep[i].sock;
	if (c->nep >= CH_CALL_ENDPOINTS || strlen(addr) >= sizeof(c->ep[0].addr))
		return NULL;
	void *s = zmq_socket(c->zctx, ZMQ_DEALER);
	if (!s)
		return NULL;
	int linger = 0;
	int64_t maxmsg = CH_CALL_REPLY_MAX;
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (zmq_connect(s, addr) != 0) {
		zmq_close(s);
		return NULL;
	}
	endpoint_t *e = &c->ep[c->nep++];
	strcpy(e->addr, addr);
	e->sock = s;
	return s;
}

int ch_caller_call(ch_caller_t *c, const char *endpoint, const void *req, size_t len,
                   uint64_t deadline_ns, ch_call_fn fn, void *arg, uint64_t *id)
{
	if (!c || !endpoint || !req || !len || !fn)
		return CH_EINVAL;
	if (c->ncalls >= CH_CALL_MAX)
		return CH_ENOMEM;
	void *s = socket_for(c, endpoint);
	if (!s)
		return c->nep >= CH_CALL_ENDPOINTS ? CH_ENOMEM : CH_EINVAL;
	call_t *k = NULL;
	for (uint32_t i = 0; i < CH_CALL_MAX && !k; i++)
		if (!c->calls[i].id)
			k = &c->calls[i];
	uint64_t cid = c->next_id++;
	if (zmq_send(s, &cid, sizeof(cid), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_send(s, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_send(s, req, len, ZMQ_DONTWAIT) < 0)
		return zmq_errno() == EAGAIN ? CH_EAGAIN : CH_EIO;
	*k = (call_t){.id = cid, .deadline = deadline_ns, .fn = fn, .arg = arg};
	c->ncalls++;
	if (id)
		*id = cid;
	return 0;
}

static call_t *find(ch_caller_t *c, uint64_t id)
{
	for (uint32_t i = 0; id && i < CH_CALL_MAX; i++)
		if (c->calls[i].id == id)
			return &c->calls[i];
	return NULL;
}

int ch_caller_cancel(ch_caller_t *c, uint64_t id)
{
	call_t *k = c ? find(c, id) : NULL;
	if (!k)
		return CH_ENOENT;
	k->id = 0;
	c->ncalls--;
	return 0;
}

size_t ch_caller_pollitems(const ch_caller_t *c, zmq_pollitem_t *items, size_t cap)
{
	size_t n = 0;
	for (uint32_t i = 0; c && i < c->nep && n < cap; i++)
		items[n++] = (zmq_pollitem_t){.socket = c->ep[i].sock, .events = ZMQ_POLLIN};
	return n;
}

/* deliver: one reply body for the call cid. */
static void deliver(ch_caller_t *c, uint64_t cid, const void *data, size_t len)
{
	call_t *k = find(c, cid);
	if (!k) {
		c->late++;
		return;
	}
	ch_ctl_reply_t r;
	if (ch_mpr_parse(&c->rd, data, len) != 0 || ch_ctl_reply_get(&c->rd, &r) != 0) {
		finish(c, k, CH_EPROTO, NULL, "the reply is not a {\"ok\": bool} map");
		return;
	}
	if (r.ok)
		finish(c, k, 0, r.result, NULL);
	else
		finish(c, k, r.code ? r.code : CH_EPROTO, NULL, r.message);
}

/* recv_one: one multipart reply from s: 0 delivered (or dropped as
 * malformed), CH_EAGAIN when none waits. */
static int recv_one(ch_caller_t *c, void *s)
{
	zmq_msg_t f[3];
	int nf = 0, more = 1;
	size_t mlen = sizeof(more);
	for (int i = 0; i < 3; i++)
		zmq_msg_init(&f[i]);
	int rc = 0;
	while (more) {
		zmq_msg_t *m = &f[nf < 3 ? nf : 2];
		if (nf >= 3) {
			zmq_msg_close(m);
			zmq_msg_init(m);
		}
		if (zmq_msg_recv(m, s, nf ? 0 : ZMQ_DONTWAIT) < 0) {
			rc = nf ? 0 : CH_EAGAIN;
			break;
		}
		nf++;
		if (zmq_getsockopt(s, ZMQ_RCVMORE, &more, &mlen) != 0)
			more = 0;
	}
	if (nf == 3 && zmq_msg_size(&f[0]) == sizeof(uint64_t) && zmq_msg_size(&f[1]) == 0) {
		uint64_t cid;
		memcpy(&cid, zmq_msg_data(&f[0]), sizeof(cid));
		deliver(c, cid, zmq_msg_data(&f[2]), zmq_msg_size(&f[2]));
	} else if (nf) {
		c->late++;
	}
	for (int i = 0; i < 3; i++)
		zmq_msg_close(&f[i]);
	return rc;
}

int ch_caller_recv(ch_caller_t *c)
{
	int n = 0;
	for (uint32_t i = 0; c && i < c->nep; i++)
		/* bounded per turn, so a flood of replies cannot starve the loop */
		for (int j = 0; j < 64 && recv_one(c, c->ep[i].sock) == 0; j++)
			n++;
	return n;
}

int ch_caller_expire(ch_caller_t *c, uint64_t now_ns)
{
	int n = 0;
	for (uint32_t i = 0; c && c->ncalls && i < CH_CALL_MAX; i++) {
		call_t *k = &c->calls[i];
		if (k->id && k->deadline <= now_ns) {
			finish(c, k, CH_ETIMEDOUT, NULL, "no reply in time");
			n++;
		}
	}
	return n;
}

uint64_t ch_caller_next(const ch_caller_t *c)
{
	uint64_t next = 0;
	for (uint32_t i = 0; c && c->ncalls && i < CH_CALL_MAX; i++)
		if (c->calls[i].id && (!next || c->calls[i].deadline < next))
			next = c->calls[i].deadline;
	return next;
}

uint32_t ch_caller_inflight(const ch_caller_t *c)
{
	return c ? c->ncalls : 0;
}

uint64_t ch_caller_late(const ch_caller_t *c)
{
	return c ? c->late : 0;
}
