/* svccall.h: asynchronous calls to other processes' command sockets
 * (docs/control.md), for a single-threaded loop (the service frame's).
 *
 * One DEALER socket per endpoint, opened at the first call to it and kept
 * (ZeroMQ reconnects it when the other process restarts).  A request goes
 * out as [request id (8 bytes), "", body]; the server's ROUTER (or REP)
 * echoes the envelope, so the reply comes back as [id, "", reply] and is
 * matched to its call by the id, whatever order replies arrive in.  Each
 * call has a deadline; the owner's loop polls the sockets
 * (ch_caller_pollitems), reads what arrived (ch_caller_recv) and expires
 * calls past their deadline (ch_caller_expire).  Every call's callback runs
 * exactly once (reply, error, timeout, or CH_ECLOSED when the caller is
 * freed), unless the call is cancelled first.
 *
 * Bounds: CH_CALL_MAX calls in flight, CH_CALL_ENDPOINTS endpoints, a reply
 * of at most CH_CALL_REPLY_MAX bytes (ZeroMQ drops a larger one; the call
 * then times out).  A late reply (after its timeout) is counted and
 * dropped.  Not thread-safe: the owner's loop only. */
#ifndef CH_SVCCALL_H
#define CH_SVCCALL_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define CH_CALL_MAX       64
#define CH_CALL_ENDPOINTS 8
#define CH_CALL_REPLY_MAX (4u << 20)

/* A call's outcome: rc 0 and result (the reply's "result", NULL when it has
 * none), or rc < 0: the server's error code with its message, or
 * CH_ETIMEDOUT, CH_EPROTO (a reply that is not {"ok": bool, ...}) or
 * CH_ECLOSED (the caller is being freed).  result and message live until
 * the callback returns. */
typedef void (*ch_call_fn)(void *arg, int rc, const msgpack_object *result, const char *message);

typedef struct ch_caller ch_caller_t;

/* ch_caller_new: a caller on the ZeroMQ context zctx (the owner's). */
ch_caller_t *ch_caller_new(void *zctx);

/* ch_caller_free: every call still in flight gets CH_ECLOSED, then the
 * sockets are closed.  NULL-safe; sets *c to NULL. */
void ch_caller_free(ch_caller_t **c);

/* ch_caller_call: sends req[0..len) (a msgpack map with "cmd") to endpoint
 * (e.g. "ipc://DATADIR/run/transport.cmd") and returns at once; fn(arg,
 * ...) runs later from ch_caller_recv or ch_caller_expire.  deadline_ns is
 * monotonic.  *id (may be NULL) gets the call's id for ch_caller_cancel.
 * Returns 0; CH_EINVAL on bad arguments; CH_ENOMEM when CH_CALL_MAX calls
 * or CH_CALL_ENDPOINTS endpoints are in use; CH_EAGAIN when the socket's
 * queue is full; CH_EIO on another socket error.  On failure fn never
 * runs. */
int ch_caller_call(ch_caller_t *c, const char *endpoint, const void *req, size_t len,
                   uint64_t deadline_ns, ch_call_fn fn, void *arg, uint64_t *id);

/* ch_caller_cancel: forgets a call: its callback will not run and its
 * reply, if one comes, is dropped.  CH_ENOENT if not in flight. */
int ch_caller_cancel(ch_caller_t *c, uint64_t id);

/* ch_caller_pollitems: one ZMQ_POLLIN item per open socket into items (at
 * most cap); returns how many. */
size_t ch_caller_pollitems(const ch_caller_t *c, zmq_pollitem_t *items, size_t cap);

/* ch_caller_recv: reads every reply waiting on every socket, without
 * blocking, and runs their callbacks; returns how many. */
int ch_caller_recv(ch_caller_t *c);

/* ch_caller_expire: runs the callback of every call whose deadline is at
 * or before now_ns with CH_ETIMEDOUT; returns how many. */
int ch_caller_expire(ch_caller_t *c, uint64_t now_ns);

/* ch_caller_next: the earliest deadline in flight, 0 if none. */
uint64_t ch_caller_next(const ch_caller_t *c);

/* ch_caller_inflight / ch_caller_late: calls in flight; replies dropped
 * because their call was gone (timed out or cancelled). */
uint32_t ch_caller_inflight(const ch_caller_t *c);
uint64_t ch_caller_late(const ch_caller_t *c);

#endif
