/* service.h: the frame every Chorus service process lives in.
 *
 * A service's main() is one line: `return ch_svc_main(&ops, argc, argv);`.
 * The frame does everything that is the same for all four:
 *   - parses the node configuration (the same flags and file as chorusd);
 *   - opens the log, writes run/NAME.pid;
 *   - joins the node's shared-memory region and the service's rings (as
 *     producer or consumer, per ch_ring_descs), with the eventfds chorusd
 *     handed down in CHORUS_RING_FDS;
 *   - binds the command socket (REP) and the PUB socket under run/;
 *   - calls ops->init, then says "ready" in its control block;
 *   - runs one loop: zmq_poll over the command socket, the rings' eventfds
 *     and any fd the service watches; ops->work every turn; a heartbeat in
 *     shared memory every turn (at least every 100 ms); metrics on PUB every
 *     second; a check that chorusd is still there;
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
 * Single-threaded: everything here runs on the loop's thread. */
#ifndef CH_SERVICE_H
#define CH_SERVICE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "mp.h"
#include "node_config.h"
#include "node_layout.h"

typedef struct ch_svc ch_svc_t;

/* A command handler: reads arguments from req (the request map), writes
 * exactly one msgpack value (the "result") into out, returns 0; or returns
 * a negative CH_E* code after ch_svc_set_error() (out is then ignored). */
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

/* ch_svc_request_stop: begins the orderly stop as SIGTERM would. */
void ch_svc_request_stop(ch_svc_t *svc);

#endif
