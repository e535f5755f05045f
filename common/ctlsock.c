/* ctlsock.c: control-plane sockets of a node process (see ctlsock.h). */
#include "ctlsock.h"

#include <errno.h>
#include <stdio.h>
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
	char ep[CH_CTL_PATH_MAX + 8];
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
	int rc = bind_one(s, &s->cmd, ZMQ_REP, s->cmd_path, err, errcap);
	if (!rc)
		rc = bind_one(s, &s->pub, ZMQ_PUB, s->pub_path, err, errcap);
	return rc;
}

void ch_ctlsock_close(ch_ctlsock_t *s)
{
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

/* handle: one request in, one reply out; nothing a client sends can make
 * us skip the reply (REP would wedge) or crash. */
static void handle(ch_ctlsock_t *s, const void *data, size_t len, ch_ctlsock_dispatch_fn fn,
                   void *arg)
{
	const msgpack_object *root;
	const char *cmd;
	size_t cmdlen;
	char cmdz[64], err[512] = "";
	if (ch_mpr_parse(&s->req, data, len) != 0 || ch_mpr_root_map(&s->req, &root) != 0) {
		reply_error(s, CH_EPROTO, "request is not a msgpack map");
		return;
	}
	if (ch_mp_get_str(root, "cmd", &cmd, &cmdlen) != 0 || cmdlen == 0 ||
	    cmdlen >= sizeof(cmdz)) {
		reply_error(s, CH_EPROTO, "request has no \"cmd\" string");
		return;
	}
	memcpy(cmdz, cmd, cmdlen);
	cmdz[cmdlen] = 0;
	ch_mpw_reset(&s->out);
	int rc = fn(arg, cmdz, root, &s->out, err, sizeof(err));
	if (rc == 0 && ch_mpw_error(&s->out))
		rc = ch_mpw_error(&s->out);
	if (rc) {
		reply_error(s, rc, err[0] ? err : ch_strerror(rc));
		return;
	}
	ch_mpw_reset(&s->reply);
	ch_mpw_map(&s->reply, 2);
	ch_mpw_kv_bool(&s->reply, "ok", true);
	ch_mpw_key(&s->reply, "result");
	if (ch_mpw_size(&s->out) == 0)
		msgpack_pack_nil(&s->reply.pk);
	else
		msgpack_sbuffer_write(&s->reply.sb, ch_mpw_data(&s->out), ch_mpw_size(&s->out));
}

int ch_ctlsock_serve(ch_ctlsock_t *s, ch_ctlsock_dispatch_fn fn, void *arg)
{
	int served = 0;
	for (int i = 0; i < 64; i++) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s->cmd, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			break;
		}
		handle(s, zmq_msg_data(&m), zmq_msg_size(&m), fn, arg);
		zmq_msg_close(&m);
		/* A REP socket must answer before it can read again. */
		if (zmq_send(s->cmd, ch_mpw_data(&s->reply), ch_mpw_size(&s->reply), 0) < 0)
			ch_log(CH_LOG_LEVEL_WARN, "reply lost: zmq_send: %s",
			       zmq_strerror(zmq_errno()));
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
