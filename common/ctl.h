/* ctl.h: a small client for the control plane of docs/control.md.
 *
 * Used by chorusctl, chorus-mon, tests and benchmarks to reach the command
 * (ROUTER) and event (PUB) sockets every Chorus process binds under
 * DATADIR/run/.  A call opens a fresh REQ socket, sends one request, waits
 * for one reply and closes the socket, so a timed-out call never leaves a
 * REQ socket stuck in the wrong send/receive state and a restarted server
 * is reached again on the next call.
 *
 * No global state: each function works on what it is given.  The ZeroMQ
 * context is the caller's (one per process, thread-safe); a ch_mpr_t reply
 * belongs to one thread at a time. */
#ifndef CH_CTL_H
#define CH_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "mp.h"

/* Longest Unix socket path, NUL excluded (sizeof(sun_path) - 1). */
#define CH_CTL_SOCKPATH_MAX 107
/* Longest endpoint ch_ctl_endpoint writes, NUL included ("ipc://" + path). */
#define CH_CTL_ENDPOINT_MAX (6 + CH_CTL_SOCKPATH_MAX + 1)
/* Longest datadir path ch_ctl_datadir writes, NUL included. */
#define CH_CTL_PATH_MAX 4096
/* Default wait for a reply, in milliseconds. */
#define CH_CTL_TIMEOUT_DEFAULT_MS 3000
/* Sizes of the text fields of ch_ctl_reply_t, NUL included. */
#define CH_CTL_ERRNAME_MAX 32
#define CH_CTL_MESSAGE_MAX 512

/* ch_ctl_datadir: turns a --datadir argument into the absolute path the
 * endpoints are built from: NULL or "" means $HOME/.chorus; "~" or "~/x" at
 * the start expands $HOME; a relative path is taken from the current
 * directory; the result is canonical (realpath) when the directory exists,
 * otherwise the joined path with trailing slashes removed.  Returns 0;
 * CH_EINVAL if out is NULL or $HOME is needed but unset or not absolute;
 * CH_ERANGE if the path needs more than cap bytes (out is "" then);
 * CH_EIO if the current directory cannot be read.  Thread-safe (reads the
 * environment). */
int ch_ctl_datadir(const char *arg, char *out, size_t cap);

/* ch_ctl_endpoint: writes "ipc://DATADIR/run/NAME.KIND" into out.  datadir
 * must be absolute (trailing slashes are dropped); name a non-empty process
 * name without '/'; kind "cmd" or "pub".  Returns 0; CH_EINVAL on NULL or
 * bad arguments; CH_ERANGE if the socket path would exceed
 * CH_CTL_SOCKPATH_MAX bytes or the endpoint does not fit in cap (out is ""
 * then, if cap > 0).  Thread-safe. */
int ch_ctl_endpoint(const char *datadir, const char *name, const char *kind, char *out, size_t cap);

/* ch_ctl_call: sends the request req[0..len) (a msgpack map, e.g. built
 * with ch_mpw_*) to the command socket at endpoint and parses the one-frame
 * reply into reply (initialised by the caller with ch_mpr_init; its
 * max_size bounds the reply).  timeout_ms bounds the whole call (send and
 * receive); a negative value waits forever, 0 is refused.  EINTR is retried
 * until the deadline.  Returns 0 when a reply arrived that is a msgpack map
 * with a bool "ok" (true or false: see ch_ctl_reply_get); CH_EINVAL on NULL
 * arguments, len 0, timeout 0 or a malformed endpoint; CH_ETIMEDOUT if no
 * reply came in time (also when nothing listens: ipc connects lazily);
 * CH_ECLOSED if the context was terminated; CH_EIO on another socket error
 * (errno is kept); CH_EPROTO if the reply is not a msgpack map with a bool
 * "ok", or has more than one frame; CH_ERANGE if it is longer than the
 * reader's max_size; CH_ENOMEM.  On failure reply holds no parse.
 * Thread-safe for distinct replies (each call has its own socket). */
int ch_ctl_call(void *zctx, const char *endpoint, const void *req, size_t len, ch_mpr_t *reply,
                int timeout_ms);

/* ch_ctl_simple: ch_ctl_call with the request {"cmd": cmd}.  Same returns;
 * CH_EINVAL also for a NULL or empty cmd. */
int ch_ctl_simple(void *zctx, const char *endpoint, const char *cmd, ch_mpr_t *reply,
                  int timeout_ms);

/* A reply taken apart.  Pointers point into the reader and stay valid until
 * its next parse or free. */
typedef struct {
	bool ok;
	/* ok: the "result" value, NULL if the reply has none */
	const msgpack_object *result;
	/* !ok: the "code" (CH_EPROTO when absent or not an int), the "error"
	 * name (ch_errname(code) when absent) and the "message" as one line
	 * (control characters become spaces, cut with "..." when too long;
	 * ch_strerror(code) when absent) */
	int code;
	char error[CH_CTL_ERRNAME_MAX];
	char message[CH_CTL_MESSAGE_MAX];
} ch_ctl_reply_t;

/* ch_ctl_reply_get: splits a reply that ch_ctl_call accepted into out,
 * filling absent fields of an error reply as described above so a tool can
 * always print one line.  Returns 0; CH_EINVAL on NULL arguments or a
 * reader without a successful parse; CH_EPROTO if the root is not a map
 * with a bool "ok".  Thread-safe for distinct readers. */
int ch_ctl_reply_get(const ch_mpr_t *reply, ch_ctl_reply_t *out);

#endif
