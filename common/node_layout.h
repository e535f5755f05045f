/* node_layout.h: what a node's shared-memory region holds, and how each
 * process finds its part of it.
 *
 * chorusd creates the region (shm/region.h) and in it:
 *   - "node": the node control block (ch_node_ctl_t): chorusd's state and
 *     one ch_svc_ctl_t per service: the supervisor's view (pid, restarts,
 *     last exit) on one cache line, the service's own (ready, heartbeat) on
 *     another;
 *   - the data-plane rings, one SPSC ring per direction and pair:
 *       transport.relay   transport -> relay    messages from peers
 *       relay.transport   relay -> transport    messages to peers
 *       relay.mempool     relay -> mempool      transactions and blocks
 *       mempool.relay     mempool -> relay      accepted ids, served txs
 * Each ring has two eventfds, created by chorusd and inherited by every
 * service (so a restarted service gets the same ones): "data" (the consumer
 * sleeps on it) and "space" (the producer sleeps on it).  chorusd passes
 * their numbers in the environment variable CHORUS_RING_FDS as
 *   "transport.relay=7,8;relay.transport=9,10;..."  (data,space).
 *
 * chorusd writes the supervisor line and never reads ring contents. */
#ifndef CH_NODE_LAYOUT_H
#define CH_NODE_LAYOUT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node_config.h"
#include "region.h"
#include "ring.h"

typedef enum ch_svc_id {
	CH_SVC_TRANSPORT = 0,
	CH_SVC_DISCOVERY = 1,
	CH_SVC_RELAY = 2,
	CH_SVC_MEMPOOL = 3,
	CH_SVC_COUNT = 4,
} ch_svc_id_t;

typedef enum ch_ring_id {
	CH_RING_TRANSPORT_RELAY = 0,
	CH_RING_RELAY_TRANSPORT = 1,
	CH_RING_RELAY_MEMPOOL = 2,
	CH_RING_MEMPOOL_RELAY = 3,
	CH_RING_COUNT = 4,
} ch_ring_id_t;

typedef struct ch_ring_desc {
	const char *name;
	ch_svc_id_t producer;
	ch_svc_id_t consumer;
} ch_ring_desc_t;

/* What the supervisor thinks of a service (written by chorusd). */
typedef enum ch_svc_sup_state {
	CH_SUP_STOPPED = 0,
	CH_SUP_STARTING = 1, /* spawned, not ready yet */
	CH_SUP_READY = 2,
	CH_SUP_BACKOFF = 3, /* crashed, waiting to restart */
	CH_SUP_STOPPING = 4,
	CH_SUP_FATAL = 5, /* exited with CH_EXIT_FATAL: not restarted */
} ch_svc_sup_state_t;

/* What a service says of itself (written by the service). */
typedef enum ch_svc_self_state {
	CH_SELF_NONE = 0,
	CH_SELF_STARTING = 1,
	CH_SELF_READY = 2,
	CH_SELF_STOPPING = 3,
} ch_svc_self_state_t;

typedef enum ch_node_state {
	CH_NODE_STARTING = 0,
	CH_NODE_RUNNING = 1,
	CH_NODE_STOPPING = 2,
	CH_NODE_STOPPED = 3,
} ch_node_state_t;

typedef struct ch_svc_ctl {
	/* line 0: written by chorusd */
	_Atomic int32_t pid; /* 0 when not running */
	_Atomic uint32_t sup_state;
	_Atomic uint32_t restarts;
	_Atomic int32_t last_status; /* raw wait status of the last exit, -1 none */
	_Atomic uint64_t spawned_wall_ms;
	uint8_t pad0[128 - 4 * 4 - 8];
	/* line 1: written by the service */
	_Atomic uint32_t self_state;
	_Atomic int32_t self_pid;      /* the pid that wrote self_state */
	_Atomic uint64_t heartbeat_ns; /* CLOCK_MONOTONIC of its last loop turn */
	_Atomic uint64_t ready_ns;     /* CLOCK_MONOTONIC when it became ready */
	uint8_t pad1[128 - 4 * 2 - 8 * 2];
} ch_svc_ctl_t;

_Static_assert(sizeof(ch_svc_ctl_t) == 256, "two lines per service");

#define CH_NODE_MAGIC 0x63686e6f64650001ULL /* "chnode" + layout version 1 */

typedef struct ch_node_ctl {
	_Atomic uint64_t magic;
	_Atomic uint32_t state; /* ch_node_state_t */
	_Atomic int32_t chorusd_pid;
	uint64_t started_wall_ms;
	uint8_t pad0[128 - 8 * 3];
	ch_svc_ctl_t svc[CH_SVC_COUNT];
} ch_node_ctl_t;

extern const char *const ch_svc_names[CH_SVC_COUNT];
extern const ch_ring_desc_t ch_ring_descs[CH_RING_COUNT];

/* ch_svc_lookup: the id of a service name; CH_ENOENT. */
int ch_svc_lookup(const char *name, ch_svc_id_t *out);

/* ch_node_region_size: bytes of the region for these ring settings. */
size_t ch_node_region_size(const ch_node_config_t *cfg);

/* ch_node_layout_create: lays out a freshly created region: the control
 * block and every ring, formatted.  chorusd only.  0 or a CH_E* code. */
int ch_node_layout_create(shm_region_t *r, const ch_node_config_t *cfg, ch_node_ctl_t **ctl);

/* ch_node_layout_open: the control block of an opened region, checked.
 * CH_ENOENT (no block), CH_EMAGIC, CH_ERANGE. */
int ch_node_layout_open(shm_region_t *r, ch_node_ctl_t **ctl);

/* ch_node_ring_join: joins ring `id` in `role`, with the eventfds of fds
 * (an array of CH_RING_COUNT pairs {data, space}; -1 for none). */
int ch_node_ring_join(shm_region_t *r, ch_ring_id_t id, shm_ring_role_t role,
                      const int fds[CH_RING_COUNT][2], shm_ring_t **out);

/* ch_ring_fds_format / ch_ring_fds_parse: the CHORUS_RING_FDS text. */
int ch_ring_fds_format(const int fds[CH_RING_COUNT][2], char *out, size_t cap);
int ch_ring_fds_parse(const char *s, int fds[CH_RING_COUNT][2]);

/* ch_sup_state_name / ch_node_state_name: lowercase names for status. */
const char *ch_sup_state_name(uint32_t s);
const char *ch_node_state_name(uint32_t s);

/* ch_wait_status_text: "exit 1", "signal 9 (Killed)", "" for -1. */
void ch_wait_status_text(int status, char *buf, size_t cap);

#endif
