/* ctl.c: see ctl.h. */
#include "ctl.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "clock.h"
#include "err.h"

/* Copies n bytes of src after dst[0..*len) if they fit in cap (NUL
 * included); the path builders use it so every overflow is CH_ERANGE. */
static int append(char *dst, size_t cap, size_t *len, const char *src, size_t n)
{
	if (n >= cap - *len)
		return CH_ERANGE;
	memcpy(dst + *len, src, n);
	*len += n;
	dst[*len] = '\0';
	return 0;
}

/* Length of path without trailing slashes, keeping a lone "/" as 0 so the
 * caller's "/run/..." suffix does not double it. */
static size_t trimmed_len(const char *path)
{
	size_t n = strlen(path);

	while (n > 0 && path[n - 1] == '/')
		n--;
	return n;
}

int ch_ctl_datadir(const char *arg, char *out, size_t cap)
{
	char joined[CH_CTL_PATH_MAX], real[PATH_MAX];
	const char *home = getenv("HOME"), *rest = NULL;
	size_t len = 0, n;
	int rc = 0;

	if (out == NULL || cap == 0)
		return CH_EINVAL;
	out[0] = '\0';
	joined[0] = '\0';
	if (arg == NULL || arg[0] == '\0')
		rest = "/.chorus";
	else if (arg[0] == '~' && (arg[1] == '\0' || arg[1] == '/'))
		rest = arg + 1;
	if (rest != NULL) {
		if (home == NULL || home[0] != '/')
			return CH_EINVAL;
		rc = append(joined, sizeof(joined), &len, home, trimmed_len(home));
		if (rc == 0)
			rc = append(joined, sizeof(joined), &len, rest, strlen(rest));
	} else if (arg[0] == '/') {
		rc = append(joined, sizeof(joined), &len, arg, strlen(arg));
	} else {
		if (getcwd(joined, sizeof(joined)) == NULL)
			return errno == ERANGE ? CH_ERANGE : CH_EIO;
		len = trimmed_len(joined);
		rc = append(joined, sizeof(joined), &len, "/", 1);
		if (rc == 0)
			rc = append(joined, sizeof(joined), &len, arg, strlen(arg));
	}
	if (rc != 0)
		return rc;
	if (realpath(joined, real) != NULL) {
		n = strlen(real);
	} else {
		n = trimmed_len(joined);
		if (n == 0)
			n = 1; /* the root itself */
		memcpy(real, joined, n);
	}
	if (n >= cap)
		return CH_ERANGE;
	memcpy(out, real, n);
	out[n] = '\0';
	return 0;
}

int ch_ctl_endpoint(const char *datadir, const char *name, const char *kind, char *out, size_t cap)
{
	size_t dlen, path;

	if (out != NULL && cap > 0)
		out[0] = '\0';
	if (datadir == NULL || name == NULL || kind == NULL || out == NULL || cap == 0)
		return CH_EINVAL;
	if (datadir[0] != '/' || name[0] == '\0' || strchr(name, '/') != NULL)
		return CH_EINVAL;
	if (strcmp(kind, "cmd") != 0 && strcmp(kind, "pub") != 0)
		return CH_EINVAL;
	dlen = trimmed_len(datadir);
	/* DATADIR "/run/" NAME "." KIND */
	path = dlen + 5 + strlen(name) + 1 + 3;
	if (path > CH_CTL_SOCKPATH_MAX || 6 + path + 1 > cap)
		return CH_ERANGE;
	snprintf(out, cap, "ipc://%.*s/run/%s.%s", (int)dlen, datadir, name, kind);
	return 0;
}

/* Maps the errno of a failed zmq call to a CH_E* code: ETERM means the
 * context is going away (the "other end" from the caller's view), EAGAIN a
 * timeout; the rest keep errno for the caller's message. */
static int zmq_err(int e)
{
	switch (e) {
	case ETERM:
		return CH_ECLOSED;
	case EAGAIN:
		return CH_ETIMEDOUT;
	case ENOMEM:
		return CH_ENOMEM;
	case EINVAL:
	case EPROTONOSUPPORT:
	case ENOCOMPATPROTO:
	case EFAULT:
		return CH_EINVAL;
	default:
		errno = e;
		return CH_EIO;
	}
}

/* Milliseconds left until deadline_ns (0 = none: -1, wait forever), at
 * least 1 while time remains, 0 once it has passed; rounding up so a call
 * never gives up before its deadline. */
static int remaining_ms(uint64_t deadline_ns)
{
	uint64_t now;

	if (deadline_ns == 0)
		return -1;
	now = ch_mono_ns();
	if (now >= deadline_ns)
		return 0;
	return (int)((deadline_ns - now + CH_NS_PER_MS - 1) / CH_NS_PER_MS);
}

/* Sets a send or receive timeout to what is left of the deadline; returns
 * CH_ETIMEDOUT when nothing is left. */
static int set_timeout(void *sock, int opt, uint64_t deadline_ns)
{
	int ms = remaining_ms(deadline_ns);

	if (ms == 0)
		return CH_ETIMEDOUT;
	if (zmq_setsockopt(sock, opt, &ms, sizeof(ms)) != 0)
		return zmq_err(errno);
	return 0;
}

/* Sends the request, retrying after signals until the deadline. */
static int send_req(void *sock, const void *req, size_t len, uint64_t deadline_ns)
{
	for (;;) {
		int rc = set_timeout(sock, ZMQ_SNDTIMEO, deadline_ns);

		if (rc != 0)
			return rc;
		if (zmq_send(sock, req, len, 0) >= 0)
			return 0;
		if (errno != EINTR)
			return zmq_err(errno);
	}
}

/* Receives the one-frame reply into reply, retrying after signals until
 * the deadline, then checks the docs/control.md envelope. */
static int recv_reply(void *sock, ch_mpr_t *reply, uint64_t deadline_ns)
{
	zmq_msg_t msg;
	const msgpack_object *root;
	bool ok;
	int rc;

	if (zmq_msg_init(&msg) != 0)
		return zmq_err(errno);
	for (;;) {
		rc = set_timeout(sock, ZMQ_RCVTIMEO, deadline_ns);
		if (rc != 0)
			break;
		if (zmq_msg_recv(&msg, sock, 0) >= 0)
			break;
		if (errno != EINTR) {
			rc = zmq_err(errno);
			break;
		}
	}
	if (rc == 0 && zmq_msg_more(&msg))
		rc = CH_EPROTO;
	if (rc == 0)
		rc = ch_mpr_parse(reply, zmq_msg_data(&msg), zmq_msg_size(&msg));
	zmq_msg_close(&msg);
	if (rc == 0)
		rc = ch_mpr_root_map(reply, &root);
	if (rc == 0)
		rc = ch_mp_get_bool(root, "ok", &ok);
	if (rc == CH_ENOENT)
		rc = CH_EPROTO;
	return rc;
}

/* Drops the reader's previous parse, keeping its buffer: ch_mpr_parse
 * documents that a failed parse (here of empty input) drops the result. */
static void drop_parse(ch_mpr_t *r)
{
	(void)ch_mpr_parse(r, NULL, 0);
}

int ch_ctl_call(void *zctx, const char *endpoint, const void *req, size_t len, ch_mpr_t *reply,
                int timeout_ms)
{
	uint64_t deadline = 0;
	void *sock;
	int linger = 0, rc, saved_errno;

	if (zctx == NULL || endpoint == NULL || req == NULL || len == 0 || reply == NULL ||
	    timeout_ms == 0)
		return CH_EINVAL;
	drop_parse(reply);
	if (timeout_ms > 0)
		deadline = ch_mono_ns() + (uint64_t)timeout_ms * CH_NS_PER_MS;
	sock = zmq_socket(zctx, ZMQ_REQ);
	if (sock == NULL)
		return zmq_err(errno);
	rc = zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) == 0 ? 0 : zmq_err(errno);
	if (rc == 0 && zmq_connect(sock, endpoint) != 0)
		rc = zmq_err(errno);
	if (rc == 0)
		rc = send_req(sock, req, len, deadline);
	if (rc == 0)
		rc = recv_reply(sock, reply, deadline);
	saved_errno = errno; /* the failing call's errno, for the caller's message */
	if (rc != 0)
		drop_parse(reply);
	zmq_close(sock);
	errno = saved_errno;
	return rc;
}

int ch_ctl_simple(void *zctx, const char *endpoint, const char *cmd, ch_mpr_t *reply,
                  int timeout_ms)
{
	ch_mpw_t w;
	int rc;

	if (cmd == NULL || cmd[0] == '\0')
		return CH_EINVAL;
	ch_mpw_init(&w);
	ch_mpw_map(&w, 1);
	ch_mpw_kv_str(&w, "cmd", cmd);
	rc = ch_mpw_error(&w);
	if (rc == 0)
		rc = ch_ctl_call(zctx, endpoint, ch_mpw_data(&w), ch_mpw_size(&w), reply,
		                 timeout_ms);
	ch_mpw_free(&w);
	return rc;
}

/* Copies a string field into dst as one printable line: control bytes
 * become spaces (so a message cannot break the tool's one-line output) and
 * an over-long text ends in "..." cut on a UTF-8 character boundary. */
static void copy_line(char *dst, size_t cap, const char *src, size_t n)
{
	size_t len = n < cap - 1 ? n : cap - 1;

	if (n > cap - 1) {
		len = cap - 4;
		while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	if (n > cap - 1) {
		memcpy(dst + len, "...", 3);
		len += 3;
	}
	dst[len] = '\0';
}

int ch_ctl_reply_get(const ch_mpr_t *reply, ch_ctl_reply_t *out)
{
	const msgpack_object *root, *o;
	const char *s;
	size_t n;
	int64_t code;
	int rc;

	if (reply == NULL || out == NULL)
		return CH_EINVAL;
	memset(out, 0, sizeof(*out));
	rc = ch_mpr_root_map(reply, &root);
	if (rc == 0)
		rc = ch_mp_get_bool(root, "ok", &out->ok);
	if (rc != 0)
		return rc == CH_ENOENT ? CH_EPROTO : rc;
	if (out->ok) {
		rc = ch_mp_map_get(root, "result", &o);
		if (rc == 0)
			out->result = o;
		return rc == CH_ENOENT ? 0 : rc;
	}
	if (ch_mp_get_i64(root, "code", &code) == 0 && code >= INT_MIN && code <= INT_MAX)
		out->code = (int)code;
	else
		out->code = CH_EPROTO;
	if (ch_mp_get_str(root, "error", &s, &n) == 0 && n > 0)
		copy_line(out->error, sizeof(out->error), s, n);
	else
		copy_line(out->error, sizeof(out->error), ch_errname(out->code),
		          strlen(ch_errname(out->code)));
	if (ch_mp_get_str(root, "message", &s, &n) == 0 && n > 0)
		copy_line(out->message, sizeof(out->message), s, n);
	else
		copy_line(out->message, sizeof(out->message), ch_strerror(out->code),
		          strlen(ch_strerror(out->code)));
	return 0;
}
