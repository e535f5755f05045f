/* service.h: the frame every Chorus service process lives in.
 *
 * A service's main() is one line: `return ch_svc_main(&ops, argc, argv);`.
 * The frame does everything that is the same for all four:
 *   - parses the node configuration (the same flags and file as chorusd);
 *   - opens the log, writes run/NAME.pid;
 *   - joins the node's shared-memory region and the service's rings (as
 *     producer or consumer, per ch_ring_descs), with the eventfds chorusd
 *     handed down in CHORUS_RING_FDS;
 *   - binds the command socket (ROUTER, see ctlsock.h) and the PUB socket
 *     under run/;
 *   - calls ops->init, then says "ready" in its control block;
 *   - runs one loop: zmq_poll over the command socket, the sockets of the
 *     service's calls to other services, the rings' eventfds and any fd the
 *     service watches; the service's timers; ops->work every turn; a
 *     heartbeat in shared memory every turn (at least every 100 ms); metrics
 *     on PUB every second; a check that chorusd is still there;
 *   - on SIGTERM or SIGINT: "stopping", ops->drain until it reports nothing
 *     in flight (or stop-timeout), ops->fini, sockets closed, pid file
 *     removed, exit 0.
 * Exit status: 0 after an orderly stop, CH_EXIT_FATAL (78: do not restart)
 * when the configuration or the environment is unusable, 1 on a runtime
 * failure (chorusd restarts it).
 *
 * Spinning: after a turn that did work the loop keeps polling without
 * sleeping for ring-spin-us, so a busy pipeline pays no wake-up; then it
 * declares itself asleep on its rings (shm_ring_sleep_prepare) and blocks
 * in zmq_poll until a ring, a socket or the 100 ms tick wakes it.
 *
 * Never waiting: nothing in the frame blocks the loop, and a service needs
 * no blocking call either.  A command that needs time (a DHT lookup, a
 * call to another service) takes its reply handle (ch_svc_defer) and
 * answers later (ch_svc_reply); other commands, status included, are
 * answered meanwhile.  A question to another service is an asynchronous
 * call (ch_svc_call) with a callback and a timeout; the frame owns its
 * sockets and polls them.  Timers (ch_svc_timer_add) run on the loop and
 * bound how long it sleeps.
 *
 * Single-threaded: everything here runs on the loop's thread. */
#ifndef CH_SERVICE_H
#define CH_SERVICE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctlsock.h"
#include "mp.h"
#include "node_config.h"
#include "node_layout.h"
#include "svccall.h"
#include "svctimer.h"

typedef struct ch_svc ch_svc_t;

/* A command handler: reads arguments from req (the request map), writes
 * exactly one msgpack value (the "result") into out, returns 0; or returns
 * a negative CH_E* code after ch_svc_set_error() (out is then ignored); or
 * takes the reply with ch_svc_defer() to answer later (req lives only
 * until the handler returns: copy what the answer needs). */
typedef int (*ch_svc_cmd_fn)(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out);

typedef struct ch_svc_cmd {
	const char *name;
	ch_svc_cmd_fn fn;
	const char *help;
} ch_svc_cmd_t;

typedef struct ch_svc_ops {
	const char *name;         /* one of ch_svc_names */
	const ch_svc_cmd_t *cmds; /* the service's own commands */
	size_t ncmds;
	/* init: after rings and sockets, before "ready".  Non-zero: the
	 * service exits (CH_EINVAL => fatal, else 1). */
	int (*init)(ch_svc_t *svc, void **user);
	/* work: every loop turn; returns how many units of work it did (0:
	 * idle, so the loop may sleep). */
	int (*work)(ch_svc_t *svc, void *user, uint64_t now_ns);
	/* status / metrics: write key-value pairs (no map header) into w and
	 * return how many pairs. */
	int (*status)(ch_svc_t *svc, void *user, ch_mpw_t *w);
	int (*metrics)(ch_svc_t *svc, void *user, ch_mpw_t *w);
	/* drain: on stop, called each turn until it returns 0 (nothing left
	 * in flight). */
	int (*drain)(ch_svc_t *svc, void *user);
	void (*fini)(ch_svc_t *svc, void *user);
} ch_svc_ops_t;

/* ch_svc_main: runs the service; returns the process exit status. */
int ch_svc_main(const ch_svc_ops_t *ops, int argc, char **argv);

/* ch_svc_config: the node configuration (read-only). */
const ch_node_config_t *ch_svc_config(const ch_svc_t *svc);

/* ch_svc_ring: the joined ring `id`, or NULL if this service is neither its
 * producer nor its consumer. */
shm_ring_t *ch_svc_ring(ch_svc_t *svc, ch_ring_id_t id);

/* ch_svc_want_space: the service is blocked on a full ring it produces to;
 * the loop will sleep on that ring's space eventfd until the consumer
 * commits.  Cleared at the next turn. */
void ch_svc_want_space(ch_svc_t *svc, ch_ring_id_t id);

/* ch_svc_node_epoch: a number that identifies this run of the node (chorusd's
 * pid and start time, from the node control block): the node's rings are
 * new when it changes, so ring sequence numbers start again from 0.  A
 * consumer that persists the last seq it applied keys it with this. */
uint64_t ch_svc_node_epoch(const ch_svc_t *svc);

/* ch_svc_zctx: the service's ZeroMQ context (for its own sockets). */
void *ch_svc_zctx(ch_svc_t *svc);

/* ch_svc_watch / ch_svc_unwatch: call cb when fd is ready (events: ZMQ_POLLIN
 * | ZMQ_POLLOUT).  Up to 64 fds; CH_ENOMEM beyond.  Unwatch is safe inside
 * a callback. */
typedef void (*ch_svc_fd_fn)(ch_svc_t *svc, void *arg, int fd, short revents);
int ch_svc_watch(ch_svc_t *svc, int fd, short events, ch_svc_fd_fn cb, void *arg);
int ch_svc_unwatch(ch_svc_t *svc, int fd);

/* ch_svc_set_error: the message of the error a command handler returns. */
void ch_svc_set_error(ch_svc_t *svc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ch_svc_event: publishes `event.NAME.what` with a body of npairs
 * key-value pairs written by fill (plus "ts" and "service").  Best effort:
 * a slow subscriber never blocks the service (ZeroMQ drops at its HWM). */
int ch_svc_event(ch_svc_t *svc, const char *what, int npairs,
                 void (*fill)(ch_mpw_t *w, const void *arg), const void *arg);

/* ch_svc_publish: publishes `event.NAME.what` with a body the caller built
 * (a map that should carry "ts" and "service").  Best effort, never blocks. */
int ch_svc_publish(ch_svc_t *svc, const char *what, const ch_mpw_t *body);

/* ---------------------------------------------------------------- deferred replies */

/* A command whose reply comes later.  Owned by the frame until answered;
 * at most CH_CTLSOCK_PENDING_MAX wait at once.  Requests that are never
 * answered are answered CH_ECLOSED when the service stops. */
typedef ch_ctlsock_pending_t ch_svc_reply_t;

/* ch_svc_defer: called in a command handler: the reply will be sent later
 * with ch_svc_reply or ch_svc_reply_error, and whatever the handler returns
 * or writes is ignored.  NULL when too many replies wait (the handler then
 * answers at once, e.g. CH_EBUSY). */
ch_svc_reply_t *ch_svc_defer(ch_svc_t *svc);

/* ch_svc_reply: answers with result (one msgpack value; NULL: nil) and
 * releases r.  May be called from any callback on the loop, or from the
 * handler itself. */
void ch_svc_reply(ch_svc_t *svc, ch_svc_reply_t *r, const ch_mpw_t *result);

/* ch_svc_reply_error: answers with a negative CH_E* code and a message. */
void ch_svc_reply_error(ch_svc_t *svc, ch_svc_reply_t *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---------------------------------------------------------------- calls */

/* ch_svc_call: sends req (a msgpack map with "cmd") to the command socket
 * of the node process `name` (a service or "chorusd") and returns at once;
 * fn runs later on the loop with the reply's result, the error the other
 * side answered, or CH_ETIMEDOUT after timeout_ms (see svccall.h for the
 * bounds).  A call still in flight at stop gets CH_ECLOSED before
 * ops->fini.  *id (may be NULL) is for ch_svc_call_cancel.  Returns 0, or
 * an error from ch_caller_call (fn never runs then). */
int ch_svc_call(ch_svc_t *svc, const char *name, const ch_mpw_t *req, uint32_t timeout_ms,
                ch_call_fn fn, void *arg, uint64_t *id);

/* ch_svc_call_cancel: the call's callback will not run. */
int ch_svc_call_cancel(ch_svc_t *svc, uint64_t id);

/* ---------------------------------------------------------------- timers */

/* A timer's callback, on the loop. */
typedef void (*ch_svc_timer_fn)(ch_svc_t *svc, void *arg, uint32_t id);

/* ch_svc_timer_add: fn runs at due_ns (monotonic, ch_mono_ns), then every
 * period_ns if period_ns > 0 (a one-shot timer is freed when it fires).
 * The loop sleeps no longer than the next timer, to the millisecond (its
 * poll's resolution).  Up to CH_TIMERS_MAX timers (CH_ENOMEM beyond). */
int ch_svc_timer_add(ch_svc_t *svc, uint64_t due_ns, uint64_t period_ns, ch_svc_timer_fn fn,
                     void *arg, uint32_t *id);

/* ch_svc_timer_set: moves a live timer; CH_ENOENT if it is not live. */
int ch_svc_timer_set(ch_svc_t *svc, uint32_t id, uint64_t due_ns);

/* ch_svc_timer_cancel: frees a timer; harmless on one that has fired. */
int ch_svc_timer_cancel(ch_svc_t *svc, uint32_t id);

/* ch_svc_request_stop: begins the orderly stop as SIGTERM would. */
void ch_svc_request_stop(ch_svc_t *svc);

#endif
