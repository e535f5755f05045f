/* metrics.h: chorusd's Prometheus endpoint (config key metrics-listen;
 * docs/metrics.md).
 *
 * An HTTP server (libmicrohttpd) with its own thread answers GET /metrics.
 * Each scrape gathers, in that thread, from every process of the node over
 * the control plane (docs/control.md): chorusd's own `status` and each
 * running service's `metrics`, one request at a time, each bounded by
 * METRICS_CALL_MS; a process that does not answer in time is reported
 * with chorus_service_up 0 and its series are left out of that scrape.
 * chorusd's loop answers `status` like any other request and never waits
 * for a scrape: nothing is shared between the two threads but the ZeroMQ
 * sockets' files.  One scrape runs at a time (a single server thread). */
#ifndef CH_NODE_METRICS_H
#define CH_NODE_METRICS_H

#include <stddef.h>

#include "config.h"

/* The longest wait for one process's answer during a scrape. */
#define METRICS_CALL_MS 1000

typedef struct ch_metrics ch_metrics_t;

/* ch_metrics_start: binds listen (TCP; an empty host means every address)
 * and starts the server thread, which gathers from the node at datadir.
 * Returns 0; CH_EINVAL with the reason in err when the address cannot be
 * resolved or bound (in use, not local); CH_ENOMEM; CH_EIO. */
int ch_metrics_start(ch_metrics_t **out, const ch_hostport_t *listen, const char *datadir,
                     char *err, size_t errcap);

/* ch_metrics_stop: stops the thread, closes the socket, frees; NULL-safe. */
void ch_metrics_stop(ch_metrics_t **m);

/* ch_metrics_render: one scrape's text into *out (malloc'd, *len bytes);
 * what the server sends.  zctx: a ZeroMQ context of the calling thread.
 * Returns 0 or CH_ENOMEM. */
int ch_metrics_render(void *zctx, const char *datadir, char **out, size_t *len);

#endif
