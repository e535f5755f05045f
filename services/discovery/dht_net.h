/* dht_net.h: runs DHT cores over real UDP sockets, one or many in one
 * event loop.
 *
 * The discovery service runs one core; benchmarks and tests run hundreds
 * (each with its own socket on 127.0.0.1) in one process, with exactly
 * the same code: this is the "multi-instance mode" of the issue.  The host
 * owns an epoll set of the sockets, receives datagrams in batches, feeds
 * them to their core with the monotonic time, and calls each core's
 * dht_tick when its deadline comes.  The epoll descriptor itself can be
 * watched by an outer loop (the service frame's zmq_poll).
 *
 * Caps: at most DHT_NET_MAX nodes per host; at most DHT_NET_RECV_BATCH
 * datagrams read from one socket per turn, so a flooded socket cannot
 * starve the others.  Sends never block (a full socket buffer drops the
 * datagram and counts a send error, as UDP would).
 *
 * One thread at a time per host. */
#ifndef CH_DHT_NET_H
#define CH_DHT_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "dht.h"

/* Most cores in one host (the bench runs 1000). */
#define DHT_NET_MAX 4096
/* Datagrams read from one socket per turn. */
#define DHT_NET_RECV_BATCH 64

typedef struct dht_net dht_net_t;

/* dht_net_new: an empty host.  NULL on failure (errno from epoll_create1
 * or malloc). */
dht_net_t *dht_net_new(void);

/* dht_net_destroy: destroys every core, closes every socket; safe on NULL;
 * clears *n. */
void dht_net_destroy(dht_net_t **n);

/* dht_net_add: binds a UDP socket to ip:port (network-order ip; port 0
 * picks a free one) and creates a core with cfg (its send and send_arg
 * are replaced by the host's).  *idx gets the node's index, *bound its
 * address.  Returns 0; CH_EIO (socket or bind failed: errno says why,
 * logged with the call); CH_ENOMEM. */
int dht_net_add(dht_net_t *n, const dht_config_t *cfg, uint32_t ip, uint16_t port, uint32_t *idx,
                dht_addr_t *bound);

/* dht_net_remove: destroys node idx and closes its socket (a "killed"
 * node: it stops answering at once). */
void dht_net_remove(dht_net_t *n, uint32_t idx);

/* dht_net_core: the core of node idx (NULL if removed). */
dht_t *dht_net_core(dht_net_t *n, uint32_t idx);

/* dht_net_addr: the bound address of node idx. */
dht_addr_t dht_net_addr(const dht_net_t *n, uint32_t idx);

/* dht_net_count: nodes ever added (indexes run 0..count-1). */
uint32_t dht_net_count(const dht_net_t *n);

/* dht_net_kick: node idx wants its tick now (call after starting an
 * operation on its core from outside the loop). */
void dht_net_kick(dht_net_t *n, uint32_t idx);

/* dht_net_fd: the epoll descriptor, readable when a datagram waits. */
int dht_net_fd(const dht_net_t *n);

/* dht_net_run: one turn: waits up to timeout_ms (0: not at all; capped by
 * the next core deadline) for datagrams, delivers them, and ticks the
 * cores that are due.  Returns the number of datagrams and ticks handled,
 * or CH_EIO if epoll_wait failed (not EINTR). */
int dht_net_run(dht_net_t *n, int timeout_ms);

#endif
