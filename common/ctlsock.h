/* ctlsock.h: the server side of the control plane (docs/control.md), shared
 * by chorusd and the service frame: a REP command socket and a PUB socket
 * bound at ipc://DATADIR/run/NAME.{cmd,pub}, request parsing and dispatch,
 * replies in the {"ok", "result"} / {"ok", "code", "error", "message"} form.
 * Single-threaded: used from the owner's loop only. */
#ifndef CH_CTLSOCK_H
#define CH_CTLSOCK_H

#include <msgpack.h>
#include <stddef.h>

#include "mp.h"
#include "ring.h"

#define CH_CTL_PATH_MAX 108 /* sun_path */

/* A dispatcher writes one msgpack value into out and returns 0, or returns
 * a negative CH_E* code with a one-line reason in err. */
typedef int (*ch_ctlsock_dispatch_fn)(void *arg, const char *cmd, const msgpack_object *req,
                                      ch_mpw_t *out, char *err, size_t errcap);

typedef struct ch_ctlsock {
	void *zctx;
	void *cmd; /* REP */
	void *pub; /* PUB */
	char cmd_path[CH_CTL_PATH_MAX];
	char pub_path[CH_CTL_PATH_MAX];
	ch_mpr_t req;
	ch_mpw_t out;
	ch_mpw_t reply;
} ch_ctlsock_t;

/* ch_ctlsock_open: binds both sockets (a stale socket file left by a killed
 * process is replaced).  CH_ERANGE if the socket path is too long, CH_EIO
 * with the reason in err otherwise. */
int ch_ctlsock_open(ch_ctlsock_t *s, const char *datadir, const char *name, char *err,
                    size_t errcap);

/* ch_ctlsock_close: closes the sockets, removes their files, ends the
 * context.  Safe on a zeroed or closed struct. */
void ch_ctlsock_close(ch_ctlsock_t *s);

/* ch_ctlsock_serve: answers every request waiting on the command socket,
 * without blocking.  Returns how many it answered. */
int ch_ctlsock_serve(ch_ctlsock_t *s, ch_ctlsock_dispatch_fn fn, void *arg);

/* ch_ctlsock_publish: sends [topic, body] on PUB, never blocking. */
int ch_ctlsock_publish(ch_ctlsock_t *s, const char *topic, const ch_mpw_t *body);

/* ch_ctlsock_write_ring: one RING map of docs/control.md. */
void ch_ctlsock_write_ring(ch_mpw_t *w, const char *name, const char *role,
                           const shm_ring_stats_t *st);

#endif
