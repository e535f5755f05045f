/* ctlsock.h: the server side of the control plane (docs/control.md), shared
 * by chorusd and the service frame: a ROUTER command socket and a PUB socket
 * bound at ipc://DATADIR/run/NAME.{cmd,pub}, request parsing and dispatch,
 * replies in the {"ok", "result"} / {"ok", "code", "error", "message"} form.
 *
 * The command socket is a ROUTER, so a reply need not follow its request at
 * once: a dispatcher may take the request's envelope (ch_ctlsock_defer) and
 * answer it later (ch_ctlsock_answer) while other requests are served.  A
 * ROUTER speaks to REQ clients (chorusctl, ch_ctl_call) exactly as the REP
 * socket it replaced did, and to DEALER clients (the service frame's
 * asynchronous calls, svccall.h): every frame before the last one (the
 * client's identity, its request id, the empty delimiter) is the envelope,
 * sent back unchanged in front of the reply.
 *
 * Single-threaded: used from the owner's loop only. */
#ifndef CH_CTLSOCK_H
#define CH_CTLSOCK_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mp.h"
#include "ring.h"

#define CH_CTLSOCK_PATH_MAX 108 /* sun_path */

/* A dispatcher writes one msgpack value into out and returns 0, or returns
 * a negative CH_E* code with a one-line reason in err. */
typedef int (*ch_ctlsock_dispatch_fn)(void *arg, const char *cmd, const msgpack_object *req,
                                      ch_mpw_t *out, char *err, size_t errcap);

/* The envelope of one request: at most CH_CTLSOCK_ENV_FRAMES frames of at
 * most CH_CTLSOCK_ENV_FRAME bytes each (a request with a larger envelope
 * is dropped unanswered: no REQ or DEALER client sends one). */
#define CH_CTLSOCK_ENV_FRAMES 8
#define CH_CTLSOCK_ENV_FRAME  255
/* Requests taken for a later answer at once, at most; beyond, a dispatcher
 * that asks to defer is refused (it answers CH_EBUSY at once). */
#define CH_CTLSOCK_PENDING_MAX 256

typedef struct ch_ctlsock_env {
	uint8_t n;
	uint8_t len[CH_CTLSOCK_ENV_FRAMES];
	uint8_t data[CH_CTLSOCK_ENV_FRAMES][CH_CTLSOCK_ENV_FRAME];
} ch_ctlsock_env_t;

/* A request taken for a later answer (opaque; owned by the socket until
 * answered). */
typedef struct ch_ctlsock_pending ch_ctlsock_pending_t;

typedef struct ch_ctlsock {
	void *zctx;
	void *cmd; /* ROUTER */
	void *pub; /* PUB */
	char cmd_path[CH_CTLSOCK_PATH_MAX];
	char pub_path[CH_CTLSOCK_PATH_MAX];
	ch_mpr_t req;
	ch_mpw_t out;
	ch_mpw_t reply;
	ch_ctlsock_env_t env;           /* of the request being dispatched */
	ch_ctlsock_pending_t *deferred; /* taken during this dispatch */
	bool taken;                     /* the dispatch deferred its reply */
	ch_ctlsock_pending_t *pending;  /* list of requests not yet answered */
	uint32_t npending;
} ch_ctlsock_t;

/* ch_ctlsock_open: binds both sockets (a stale socket file left by a killed
 * process is replaced).  CH_ERANGE if the socket path is too long, CH_EIO
 * with the reason in err otherwise. */
int ch_ctlsock_open(ch_ctlsock_t *s, const char *datadir, const char *name, char *err,
                    size_t errcap);

/* ch_ctlsock_close: answers every deferred request with CH_ECLOSED, closes
 * the sockets, removes their files, ends the context.  Safe on a zeroed or
 * closed struct. */
void ch_ctlsock_close(ch_ctlsock_t *s);

/* ch_ctlsock_serve: answers every request waiting on the command socket,
 * without blocking.  Returns how many it answered. */
int ch_ctlsock_serve(ch_ctlsock_t *s, ch_ctlsock_dispatch_fn fn, void *arg);

/* ch_ctlsock_defer: called by a dispatcher: the request it is handling will
 * be answered later with ch_ctlsock_answer; whatever the dispatcher returns
 * is then ignored.  NULL (and nothing deferred) when CH_CTLSOCK_PENDING_MAX
 * requests already wait or memory is short. */
ch_ctlsock_pending_t *ch_ctlsock_defer(ch_ctlsock_t *s);

/* ch_ctlsock_answer: answers a deferred request and releases p: rc 0 with
 * result (one msgpack value; NULL or empty: nil), or a negative CH_E* code
 * with msg (NULL: ch_strerror(code)).  Never blocks: a client that has gone
 * away loses its reply. */
void ch_ctlsock_answer(ch_ctlsock_t *s, ch_ctlsock_pending_t *p, int rc, const ch_mpw_t *result,
                       const char *msg);

/* ch_ctlsock_publish: sends [topic, body] on PUB, never blocking. */
int ch_ctlsock_publish(ch_ctlsock_t *s, const char *topic, const ch_mpw_t *body);

/* ch_ctlsock_write_ring: one RING map of docs/control.md. */
void ch_ctlsock_write_ring(ch_mpw_t *w, const char *name, const char *role,
                           const shm_ring_stats_t *st);

#endif
