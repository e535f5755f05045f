/* core.h: the relay's logic without its frame (docs/relay.md).
 *
 * The core takes ring records (rl_core_on_transport, rl_core_on_mempool)
 * and the time, and produces ring records into two output queues (to
 * transport, to mempool) that the caller copies into the rings; it never
 * does I/O itself, so unit tests drive it record by record.
 *
 * The order that keeps "a relay crash loses nothing" (svc.c):
 *   1. copy what the output queues hold into relay.transport and
 *      relay.mempool (publish);
 *   2. read input records (peek, advance, no commit) while the output
 *      queues are below RL_OUTQ_SOFT (transport.relay) and the
 *      announcement batch has room (mempool.relay);
 *   3. rl_core_turn_end: requests, timeouts, replies, the announcement
 *      flush when its delay is over;
 *   4. step 1 again; then commit transport.relay if both output queues are
 *      empty, and mempool.relay if the transport queue and the
 *      announcement batch are empty.  A record is therefore committed only
 *      once everything it caused is in a ring; after kill -9 the rings
 *      redeliver the rest (at-least-once; the mempool drops duplicates and
 *      every filter here is idempotent).
 *
 * Single-threaded. */
#ifndef CH_RELAY_CORE_H
#define CH_RELAY_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "histo.h"
#include "msgs.h"
#include "outq.h"
#include "producers.h"

/* ---- timing (candidates for configuration keys) ---- */
#define RL_ANNOUNCE_MS      2    /* batching delay of announcements: future key relay-announce-ms */
#define RL_REQ_TIMEOUT_MS   1000 /* a GETDATA unanswered this long goes to the next announcer */
#define RL_BLOCK_TIMEOUT_MS 2000 /* a compact block waiting for its missing ids */
#define RL_GRACE_MS         5000 /* after a restart: unrequested TX are not held against peers */

/* ---- bounds (every table and queue of the relay) ---- */
#define RL_KNOWN_CAP          4096       /* ids remembered per peer (known inventory), 64 KiB */
#define RL_SEEN_CAP           131072     /* seen-cache: ids accepted or in blocks, 2 MiB */
#define RL_REJECTS_CAP        32768      /* recent rejects, 512 KiB */
#define RL_POOLSET_MAX        65536      /* ids of the mempool (for compact blocks), 3.5 MiB */
#define RL_RESYNC_MAX         5000       /* pool ids announced to a peer when it connects */
#define RL_INFLIGHT_MAX       32768      /* requests in flight and waiting, all peers, 3.3 MiB */
#define RL_PEER_INFLIGHT_MAX  500        /* GETDATA ids outstanding per peer */
#define RL_PEER_ANNOUNCED_MAX 4000       /* in-flight entries one peer may have created */
#define RL_PEER_SERVE_MAX     4000       /* its GETDATA ids waiting on the mempool */
#define RL_BATCH_MAX          1000       /* ids per announcement flush (one INV per peer) */
#define RL_OUTQ_SOFT          (2u << 20) /* output bytes above which inputs wait */
#define RL_NF_MAX             4096       /* NOTFOUND replies gathered per turn */
#define RL_BLOCKS_KEEP        16         /* recent blocks kept to serve (full, blktxn) */
#define RL_PENDING_BLOCKS     8          /* compact blocks waiting for missing ids */
#define RL_DOWN_CAP           4096       /* handles of peers gone (no implicit re-creation) */

/* ---- misbehaviour: token buckets (rate per second, burst) and points ---- */
#define RL_INV_RATE       10000.0 /* INV ids per second per peer */
#define RL_INV_BURST      50000.0
#define RL_UNREQ_RATE     10.0 /* unrequested TX per second per peer */
#define RL_UNREQ_BURST    100.0
#define RL_NOTFOUND_RATE  100.0 /* GETDATA ids we could not serve */
#define RL_NOTFOUND_BURST 1000.0
#define RL_FAIL_RATE      5.0 /* announced, asked, never delivered */
#define RL_FAIL_BURST     100.0
#define RL_BLOCK_RATE     5.0 /* blocks per second per peer */
#define RL_BLOCK_BURST    20.0

#define RL_PTS_OVERSIZED 20  /* INV / GETDATA / NOTFOUND over the id limit, oversized block */
#define RL_PTS_MALFORMED 10  /* undecodable relay payload, invalid transaction */
#define RL_PTS_FLOOD     1   /* per message (or item) over a bucket */
#define RL_PTS_BAD_BLOCK 100 /* a block whose signature does not verify */
/* A block whose producer is not in the validator set: 50, so one such block
 * from an honest peer that has not yet heard of a change of the set does not
 * ban it, and a second one does (points are remembered per address). */
#define RL_PTS_NOT_PRODUCER 50

/* Flood mode (the bench's baseline): TX_REQUEST records the relay makes
 * for itself carry this bit in `peer`, the origin in the other bits. */
#define RL_FLOOD_BIT (1ULL << 63)

typedef enum rl_ev_kind {
	RL_EV_BLOCK = 1, /* a block was accepted (received or submitted) */
} rl_ev_kind_t;

typedef struct rl_ev_block {
	uint8_t id[32];
	uint64_t height;
	uint32_t ntx;
	uint64_t peer; /* 0: submitted here */
	bool compact;
	uint32_t missing; /* ids that had to be asked for */
	uint64_t ms;      /* from the first piece to complete */
	uint32_t relayed; /* peers it went to */
} rl_ev_block_t;

typedef void (*rl_event_fn)(void *user, rl_ev_kind_t kind, const void *ev);

typedef struct rl_cfg {
	uint32_t max_peers;    /* peer slots */
	uint64_t ring_max_msg; /* bounds of records and blocks */
	uint64_t announce_ns;  /* RL_ANNOUNCE_MS */
	uint64_t req_timeout_ns;
	uint8_t hash_key[16]; /* random per process */
	rl_event_fn on_event;
	void *event_user;
} rl_cfg_t;

typedef struct rl_core rl_core_t;

/* The output queue of each ring is a shm_outq_t (shm/outq.h). */

typedef struct rl_stats {
	uint64_t peers_up, peers_down, resets, bad_records, unknown_peer_msgs;
	uint64_t inv_in, inv_ids_in, inv_known, inv_new, inv_out, inv_ids_out;
	uint64_t getdata_in, getdata_ids_in, getdata_out, getdata_ids_out;
	uint64_t notfound_in, notfound_out, tx_in, tx_out, tx_submitted, tx_unrequested,
	    tx_unreq_dropped;
	uint64_t accepted, rejected, dup_tx_in, removed, served, serve_dropped;
	uint64_t getdata_dups, getdata_unannounced;  /* ids dropped, ids answered NOTFOUND */
	uint64_t block_inv_dropped, pending_evicted; /* block ids over the bucket; slots given up */
	uint64_t blocks_in, blocks_out, blocks_accepted, blocks_dup, blocks_bad, cmpct_in,
	    cmpct_complete, cmpct_missing_ids, cmpct_fallbacks, cmpct_bytes_saved;
	uint64_t blocks_not_producer; /* refused: the producer is not in the validator set */
	uint64_t inv_oversized, inv_flood, malformed, misbehave_reports, fail_points;
	uint64_t bytes_in, bytes_out, announce_flushes, poolset_full, filtered_dups;
	uint64_t flood_sent;
} rl_stats_t;

/* rl_core_new: NULL on bad configuration or no memory. */
rl_core_t *rl_core_new(const rl_cfg_t *cfg, uint64_t now);
void rl_core_free(rl_core_t **c);

/* rl_core_on_transport / rl_core_on_mempool: one input record. */
void rl_core_on_transport(rl_core_t *c, uint32_t tag, const uint8_t *p, uint32_t len, uint64_t now);
void rl_core_on_mempool(rl_core_t *c, uint32_t tag, const uint8_t *p, uint32_t len, uint64_t now);

/* rl_core_turn_end: after a batch of inputs (or on a timer); returns units
 * of work done. */
int rl_core_turn_end(rl_core_t *c, uint64_t now);

/* rl_core_peer_restore: a peer transport reports as connected (after a
 * relay restart); unrequested TX from it are forgiven for RL_GRACE_MS. */
void rl_core_peer_restore(rl_core_t *c, uint64_t handle, bool inbound, bool block_only,
                          const char *addr, const uint8_t pubkey[32], uint64_t now);

/* Flow control and commit rules (see the order at the top). */
bool rl_core_can_take_transport(const rl_core_t *c);
bool rl_core_can_take_mempool(const rl_core_t *c);
bool rl_core_batch_empty(const rl_core_t *c);
/* rl_core_deadline: the next time turn_end has something to do (0: none). */
uint64_t rl_core_deadline(const rl_core_t *c);

shm_outq_t *rl_core_out_transport(rl_core_t *c);
shm_outq_t *rl_core_out_mempool(rl_core_t *c);

/* rl_core_set_flood: the bench's baseline mode: every accepted
 * transaction is pushed whole to every peer but its origin, no INV. */
void rl_core_set_flood(rl_core_t *c, bool on);
bool rl_core_flood(const rl_core_t *c);

/* rl_core_block_submit: builds a block of the given transaction ids (n <=
 * rl_core_block_max), signs it with sk, and relays it as if received.
 * height/prev default (has_* false) to the best block seen + 1 and its id.
 * Fills *out (txs NULL).  0; CH_ERANGE (too many ids); CH_ENOMEM;
 * CH_ECRYPTO; CH_EPERM (the key is not in a non-empty validator set). */
typedef struct rl_block rl_block_t;
int rl_core_block_submit(rl_core_t *c, const uint8_t *ids, uint32_t n, bool has_height,
                         uint64_t height, bool has_prev, const uint8_t prev[32],
                         const ch_seckey_t *sk, uint64_t now, rl_block_t *out, size_t *full_bytes,
                         size_t *cmpct_bytes, uint32_t *relayed);
uint32_t rl_core_block_max(const rl_core_t *c);

/* rl_core_set_producers: replaces the validator set (copied).  With at
 * least one key, a block (full or compact) whose producer is not in it is
 * refused before it changes anything: nothing leaves the pool, neither the
 * block's id nor its ids enter the seen-cache, it is not relayed, and the
 * sender gets RL_PTS_NOT_PRODUCER; block submit with a key outside it fails
 * with CH_EPERM.  An empty set: any key's block is accepted. */
void rl_core_set_producers(rl_core_t *c, const rl_producers_t *s);
const rl_producers_t *rl_core_producers(const rl_core_t *c);

/* ---- reading state (commands, metrics, tests) ---- */
const rl_stats_t *rl_core_stats(const rl_core_t *c);
/* rl_core_histo: latency from GETDATA to verdict (which 0) and from the
 * first announcement to verdict (which 1); see inflight.h. */
const ch_histo_t *rl_core_histo(const rl_core_t *c, int which);

typedef struct rl_peer_info {
	uint64_t handle;
	bool inbound, block_only;
	char addr[64];
	uint8_t pubkey[32];
	uint32_t known, inflight, announced, serve_pending;
	uint64_t inv_in, inv_out, getdata_in, getdata_out, notfound_in, notfound_out, tx_in, tx_out,
	    blocks_in, blocks_out, dup_tx_in, unrequested, points, bytes_in, bytes_out;
} rl_peer_info_t;

/* rl_core_peers: fills up to cap entries; returns the number of peers. */
uint32_t rl_core_peers(const rl_core_t *c, rl_peer_info_t *out, uint32_t cap);

typedef struct rl_state_info {
	uint32_t peers, inflight, poolset, batch, pending_blocks, recent_blocks;
	uint64_t tip_height;
	size_t outq_transport, outq_mempool, memory;
	uint64_t trk_timeouts, trk_dropped, trk_full, trk_peer_full, trk_reasked;
} rl_state_info_t;
void rl_core_state(const rl_core_t *c, rl_state_info_t *out);

/* rl_core_has_block: true if the block id was accepted recently. */
bool rl_core_has_block(const rl_core_t *c, const uint8_t id[32]);
/* rl_core_in_pool: true if id is in the relay's view of the mempool. */
bool rl_core_in_pool(const rl_core_t *c, const uint8_t id[32]);

#endif
