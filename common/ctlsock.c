/* ctlsock.c: control-plane sockets of a node process (see ctlsock.h). */
#include "ctlsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "err.h"
#include "log.h"

#define CTL_REQ_MAX (1 << 20) /* largest request accepted */
#define CTL_PUB_HWM 10000     /* messages queued per slow subscriber */

static int bind_one(ch_ctlsock_t *s, void **sock, int type, const char *path, char *err,
                    size_t errcap)
{
	char ep[CH_CTLSOCK_PATH_MAX + 8];
	snprintf(ep, sizeof(ep), "ipc://%s", path);
	*sock = zmq_socket(s->zctx, type);
	if (!*sock) {
		snprintf(err, errcap, "zmq_socket: %s", zmq_strerror(zmq_errno()));
		return CH_EIO;
	}
	int linger = 0, hwm = CTL_PUB_HWM;
	int64_t maxmsg = CTL_REQ_MAX;
	zmq_setsockopt(*sock, ZMQ_LINGER, &linger, sizeof(linger));
	if (type == ZMQ_PUB)
		zmq_setsockopt(*sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	else
		zmq_setsockopt(*sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (zmq_bind(*sock, ep) != 0) {
		snprintf(err, errcap, "cannot bind %s: zmq_bind: %s", ep,
		         zmq_strerror(zmq_errno()));
		return CH_EIO;
	}
	return 0;
}

int ch_ctlsock_open(ch_ctlsock_t *s, const char *datadir, const char *name, char *err,
                    size_t errcap)
{
	memset(s, 0, sizeof(*s));
	ch_mpr_init(&s->req, CTL_REQ_MAX);
	ch_mpw_init(&s->out);
	ch_mpw_init(&s->reply);
	int a = snprintf(s->cmd_path, sizeof(s->cmd_path), "%s/run/%s.cmd", datadir, name);
	int b = snprintf(s->pub_path, sizeof(s->pub_path), "%s/run/%s.pub", datadir, name);
	if (a < 0 || b < 0 || (size_t)a >= sizeof(s->cmd_path) ||
	    (size_t)b >= sizeof(s->pub_path)) {
		snprintf(err, errcap,
		         "datadir %s: path too long for a unix socket (%zu bytes at most for "
		         "run/%s.cmd)",
		         datadir, sizeof(s->cmd_path) - 1, name);
		s->cmd_path[0] = s->pub_path[0] = 0;
		return CH_ERANGE;
	}
	s->zctx = zmq_ctx_new();
	if (!s->zctx) {
		snprintf(err, errcap, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
		return CH_EIO;
	}
	int rc = bind_one(s, &s->cmd, ZMQ_ROUTER, s->cmd_path, err, errcap);
	if (!rc)
		rc = bind_one(s, &s->pub, ZMQ_PUB, s->pub_path, err, errcap);
	return rc;
}

struct ch_ctlsock_pending {
	ch_ctlsock_pending_t *next, *prev;
	ch_ctlsock_env_t env;
};

static void send_reply(ch_ctlsock_t *s, const ch_ctlsock_env_t *env);
static void reply_error(ch_ctlsock_t *s, int code, const char *msg);
static void reply_ok(ch_ctlsock_t *s, const ch_mpw_t *result);

ch_ctlsock_pending_t *ch_ctlsock_defer(ch_ctlsock_t *s)
{
	if (s->deferred)
		return s->deferred;
	if (s->taken)
		return NULL; /* taken and answered already during this dispatch */
	if (s->npending >= CH_CTLSOCK_PENDING_MAX)
		return NULL;
	ch_ctlsock_pending_t *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->env = s->env;
	p->next = s->pending;
	if (s->pending)
		s->pending->prev = p;
	s->pending = p;
	s->npending++;
	s->deferred = p;
	s->taken = true;
	return p;
}

void ch_ctlsock_answer(ch_ctlsock_t *s, ch_ctlsock_pending_t *p, int rc, const ch_mpw_t *result,
                       const char *msg)
{
	if (!p)
		return;
	if (rc == 0 && result && ch_mpw_error(result))
		rc = ch_mpw_error(result);
	if (rc)
		reply_error(s, rc, msg ? msg : ch_strerror(rc));
	else
		reply_ok(s, result);
	if (s->cmd)
		send_reply(s, &p->env);
	if (p->prev)
		p->prev->next = p->next;
	else
		s->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	s->npending--;
	if (s->deferred == p)
		s->deferred = NULL;
	free(p);
}

void ch_ctlsock_close(ch_ctlsock_t *s)
{
	while (s->pending)
		ch_ctlsock_answer(s, s->pending, CH_ECLOSED, NULL, "the process is stopping");
	if (s->cmd)
		zmq_close(s->cmd);
	if (s->pub)
		zmq_close(s->pub);
	s->cmd = s->pub = NULL;
	if (s->zctx)
		zmq_ctx_term(s->zctx);
	s->zctx = NULL;
	if (s->cmd_path[0])
		unlink(s->cmd_path);
	if (s->pub_path[0])
		unlink(s->pub_path);
	s->cmd_path[0] = s->pub_path[0] = 0;
	ch_mpr_free(&s->req);
	ch_mpw_free(&s->out);
	ch_mpw_free(&s->reply);
}

static void reply_error(ch_ctlsock_t *s, int code, const char *msg)
{
	ch_mpw_reset(&s->reply);
	ch_mpw_map(&s->reply, 4);
	ch_mpw_kv_bool(&s->reply, "ok", false);
	ch_mpw_kv_i64(&s->reply, "code", code);
	ch_mpw_kv_str(&s->reply, "error", ch_errname(code));
	ch_mpw_kv_str(&s->reply, "message", msg);
}

static void reply_ok(ch_ctlsock_t *s, const ch_mpw_t *result)
{
	ch_mpw_reset(&s->reply);
	ch_mpw_map(&s->reply, 2);
	ch_mpw_kv_bool(&s->reply, "ok", true);
	ch_mpw_key(&s->reply, "result");
	if (!result || ch_mpw_size(result) == 0)
		msgpack_pack_nil(&s->reply.pk);
	else
		msgpack_sbuffer_write(&s->reply.sb, ch_mpw_data(result), ch_mpw_size(result));
}

/* send_reply: the envelope, then s->reply.  A ROUTER never blocks: a reply
 * to a client that has gone away is dropped. */
static void send_reply(ch_ctlsock_t *s, const ch_ctlsock_env_t *env)
{
	for (uint8_t i = 0; i < env->n; i++)
		if (zmq_send(s->cmd, env->data[i], env->len[i], ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
			goto lost;
	if (zmq_send(s->cmd, ch_mpw_data(&s->reply), ch_mpw_size(&s->reply), ZMQ_DONTWAIT) >= 0)
		return;
lost:
	ch_log(CH_LOG_LEVEL_WARN, "reply lost: zmq_send: %s", zmq_strerror(zmq_errno()));
}

/* handle: one request in, at most one reply out (none when the dispatcher
 * deferred it); nothing a client sends can crash us. */
static void handle(ch_ctlsock_t *s, const void *data, size_t len, ch_ctlsock_dispatch_fn fn,
                   void *arg)
{
	const msgpack_object *root;
	const char *cmd;
	size_t cmdlen;
	char cmdz[64], err[512] = "";
	if (ch_mpr_parse(&s->req, data, len) != 0 || ch_mpr_root_map(&s->req, &root) != 0) {
		reply_error(s, CH_EPROTO, "request is not a msgpack map");
		send_reply(s, &s->env);
		return;
	}
	if (ch_mp_get_str(root, "cmd", &cmd, &cmdlen) != 0 || cmdlen == 0 ||
	    cmdlen >= sizeof(cmdz)) {
		reply_error(s, CH_EPROTO, "request has no \"cmd\" string");
		send_reply(s, &s->env);
		return;
	}
	memcpy(cmdz, cmd, cmdlen);
	cmdz[cmdlen] = 0;
	ch_mpw_reset(&s->out);
	s->deferred = NULL;
	s->taken = false;
	int rc = fn(arg, cmdz, root, &s->out, err, sizeof(err));
	s->deferred = NULL;
	if (s->taken)
		return; /* answered (or to be answered) through ch_ctlsock_answer */
	if (rc == 0 && ch_mpw_error(&s->out))
		rc = ch_mpw_error(&s->out);
	if (rc) {
		reply_error(s, rc, err[0] ? err : ch_strerror(rc));
		send_reply(s, &s->env);
		return;
	}
	reply_ok(s, &s->out);
	send_reply(s, &s->env);
}

/* recv_request: one multipart message: every frame but the last into
 * s->env, the last into body.  0, or CH_EAGAIN when nothing waits, or
 * CH_ERANGE when the envelope is beyond its bounds (message consumed). */
static int recv_request(ch_ctlsock_t *s, zmq_msg_t *body)
{
	int more = 1, bad = 0;
	size_t mlen = sizeof(more);
	s->env.n = 0;
	if (zmq_msg_recv(body, s->cmd, ZMQ_DONTWAIT) < 0)
		return CH_EAGAIN;
	for (;;) {
		if (zmq_getsockopt(s->cmd, ZMQ_RCVMORE, &more, &mlen) != 0 || !more)
			break;
		/* the frame held in body is part of the envelope */
		size_t n = zmq_msg_size(body);
		if (s->env.n >= CH_CTLSOCK_ENV_FRAMES || n > CH_CTLSOCK_ENV_FRAME)
			bad = 1;
		else {
			memcpy(s->env.data[s->env.n], zmq_msg_data(body), n);
			s->env.len[s->env.n++] = (uint8_t)n;
		}
		zmq_msg_close(body);
		zmq_msg_init(body);
		if (zmq_msg_recv(body, s->cmd, 0) < 0)
			return CH_ERANGE;
	}
	return bad ? CH_ERANGE : 0;
}

int ch_ctlsock_serve(ch_ctlsock_t *s, ch_ctlsock_dispatch_fn fn, void *arg)
{
	int served = 0;
	for (int i = 0; i < 64; i++) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		int rc = recv_request(s, &m);
		if (rc == CH_EAGAIN) {
			zmq_msg_close(&m);
			break;
		}
		if (rc == 0)
			handle(s, zmq_msg_data(&m), zmq_msg_size(&m), fn, arg);
		else
			ch_log(CH_LOG_LEVEL_WARN,
			       "request dropped: its envelope is beyond %d "
			       "frames of %d bytes",
			       CH_CTLSOCK_ENV_FRAMES, CH_CTLSOCK_ENV_FRAME);
		zmq_msg_close(&m);
		served++;
	}
	return served;
}

int ch_ctlsock_publish(ch_ctlsock_t *s, const char *topic, const ch_mpw_t *body)
{
	if (!s->pub)
		return CH_EINVAL;
	if (zmq_send(s->pub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return CH_EAGAIN;
	if (zmq_send(s->pub, ch_mpw_data(body), ch_mpw_size(body), ZMQ_DONTWAIT) < 0)
		return CH_EAGAIN;
	return 0;
}

void ch_ctlsock_write_ring(ch_mpw_t *w, const char *name, const char *role,
                           const shm_ring_stats_t *st)
{
	ch_mpw_map(w, 6);
	ch_mpw_kv_str(w, "name", name);
	ch_mpw_kv_str(w, "role", role);
	ch_mpw_kv_u64(w, "depth", st->depth);
	ch_mpw_kv_u64(w, "records", st->tail_seq - st->head_seq);
	ch_mpw_kv_u64(w, "size", st->data_sz);
	ch_mpw_kv_u64(w, "stalls", st->full_stalls);
}
