/* pool.h: the transaction pool: admission policy, fee-rate order, bounds,
 * expiry and recent rejects (docs/mempool.md).
 *
 * Pure logic: no I/O, no clock of its own (every call takes now_ms, a wall
 * clock in milliseconds, so ages survive restarts), randomness seeded from
 * the configuration.  Tests drive it directly.
 *
 * Structure (all sized once at creation from the bounds, nothing grows):
 *   - an entry slab of max_count entries with a free list;
 *   - two binary heaps with handles over the entries, ordered by fee rate
 *     (fee / size, compared exactly by cross-multiplication) then arrival:
 *     a max-heap (best on top) and a min-heap (worst on top).  Each slot
 *     holds the key inline, so comparisons never chase a pointer; each entry
 *     knows its position in both.  Insert O(log n) (O(1) on average for
 *     random keys), remove by id, pop best and evict worst O(log n), best
 *     and worst O(1); the k best or worst in order in O(k log k) by a
 *     frontier walk.  (A treap with parent links was measured first: 1-2.5
 *     us per operation at 100k, one cache miss per level; see
 *     docs/mempool.md.)
 *   - hash indexes (SipHash with a per-pool random key, so peers cannot aim
 *     at one bucket) by id, by (from, nonce), and per-sender counts;
 *   - an arrival list: expiry removes from its head, O(1) per expired entry;
 *   - a recent-rejects set of fixed capacity (rejects.h).
 *
 * Single-threaded: one pool per thread. */
#ifndef CH_MEMPOOL_POOL_H
#define CH_MEMPOOL_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msgs.h"
#include "tx.h"

/* Defaults of the service (docs/mempool.md lists them; candidates for
 * node configuration keys). */
#define MP_DEF_MAX_COUNT      50000             /* transactions */
#define MP_DEF_MAX_BYTES      (16u << 20)       /* bytes of encodings */
#define MP_DEF_PER_SENDER     100               /* transactions per key */
#define MP_DEF_BUMP_PCT       10                /* replacement fee bump, percent */
#define MP_DEF_EXPIRY_MS      (24ull * 3600000) /* age limit */
#define MP_DEF_BASE_RATE      1000              /* floor, milli-fee per byte (1/byte) */
#define MP_DEF_INCR_RATE      1000              /* added above an evicted tx's rate */
#define MP_DEF_HALFLIFE_MS    (10ull * 60000)   /* decay of the raised minimum */
#define MP_DEF_REJECTS_MAX    32768             /* recent-rejects entries */
#define MP_DEF_REJECTS_TTL_MS (2ull * 60000)    /* how long a reject is remembered */
#define MP_VICTIMS_MAX        1024              /* most evictions for one admission */
#define MP_NIL                UINT32_MAX

typedef struct mp_pool_cfg {
	uint32_t max_count;
	uint64_t max_bytes;
	uint32_t per_sender_max;
	uint32_t bump_pct;
	uint64_t expiry_ms;
	uint64_t base_rate_milli; /* minimum fee rate with nothing evicted */
	uint64_t incr_rate_milli; /* eviction raises the minimum to victim + this */
	uint64_t halflife_ms;     /* the raised part halves in this time */
	uint32_t rejects_max;
	uint64_t rejects_ttl_ms;
	uint64_t seed; /* treap priorities and hash keys; 0: random */
} mp_pool_cfg_t;

/* One pooled transaction.  Callers read these fields and never write. */
typedef struct mp_entry {
	/* line 0: what the id and (from, nonce) lookups touch */
	uint8_t id[CH_TXID_LEN];
	uint32_t id_next, fn_next; /* hash chains */
	uint32_t hb_id, hb_fn;     /* their buckets */
	uint32_t age_prev, age_next;
	uint32_t sender; /* index of the sender record */
	uint32_t size;
	/* line 1 */
	uint8_t from[32];
	uint64_t nonce;
	uint64_t fee;
	uint64_t seq; /* arrival number: breaks fee-rate ties, oldest first */
	uint64_t time_ms;
	/* line 2 */
	uint64_t peer;
	uint8_t *enc; /* the encoding, size bytes (owned) */
	bool used;
} mp_entry_t;

typedef struct mp_pool_stats {
	uint32_t count;
	uint64_t bytes;
	uint64_t min_rate_milli; /* at the time asked */
	uint64_t accepted, rejected, evicted, expired, replaced, included;
	uint64_t rejects_by_reason[CH_TXR_EXPIRED + 1];
	uint32_t senders;
	uint32_t recent_rejects;
} mp_pool_stats_t;

/* An admission's outcome: reason 0 (accepted) or a ch_tx_reject_t, and one
 * line for people. */
typedef struct mp_verdict {
	int reason;
	char text[192];
} mp_verdict_t;

typedef struct mp_pool mp_pool_t;

/* Called for each entry leaving the pool, before it is freed. */
typedef void (*mp_removed_fn)(void *user, const mp_entry_t *e, int removal);

/* mp_pool_cfg_default: the service defaults above. */
void mp_pool_cfg_default(mp_pool_cfg_t *c);

/* mp_pool_new: a pool with these bounds.  NULL on invalid bounds (zero
 * count or bytes) or when memory runs out. */
mp_pool_t *mp_pool_new(const mp_pool_cfg_t *cfg);

/* mp_pool_destroy: frees the pool and every encoding; safe twice, clears *p. */
void mp_pool_destroy(mp_pool_t **p);

/* mp_pool_set_observer: fn is called for every removal (replaced, evicted,
 * expired, included); NULL to stop. */
void mp_pool_set_observer(mp_pool_t *p, mp_removed_fn fn, void *user);

/* mp_pool_admit: the whole admission of a decoded transaction, cheapest
 * checks first: duplicate, recently rejected, fee rate below the current
 * minimum, replacement without the bump, sender limit, pool full (it must
 * beat every transaction it would evict), then the signature (when verify
 * is true), then the changes: the replaced and evicted transactions leave
 * (observer), the minimum fee rate rises above the evicted, the new one
 * enters.  Rejections whose cause is in the signed content are remembered
 * as recent rejects (never a bad signature: anyone can forge one for a
 * given id).  Returns 0 with the verdict in v; CH_ENOMEM (nothing changed);
 * CH_EINVAL on NULL arguments. */
int mp_pool_admit(mp_pool_t *p, const mp_tx_t *tx, uint64_t now_ms, uint64_t peer, bool verify,
                  mp_verdict_t *v);

/* mp_pool_restore: puts back a transaction from the store, arrival order
 * kept, with its original time: no policy beyond the bounds (the worst
 * leave if the bounds shrank) and a replaced (from, nonce).  0; CH_EEXIST
 * if the id is pooled; CH_ENOMEM. */
int mp_pool_restore(mp_pool_t *p, const mp_tx_t *tx, uint64_t time_ms, uint64_t peer);

/* mp_pool_get: the entry with this id, or NULL. */
const mp_entry_t *mp_pool_get(const mp_pool_t *p, const uint8_t id[CH_TXID_LEN]);

/* mp_pool_remove: removes the entry with this id for reason removal (a
 * ch_tx_removal_t; observer called).  0 or CH_ENOENT. */
int mp_pool_remove(mp_pool_t *p, const uint8_t id[CH_TXID_LEN], int removal);

/* mp_pool_best / mp_pool_worst: the highest / lowest fee-rate entry (ties:
 * the oldest is best, the newest worst); NULL when empty. */
const mp_entry_t *mp_pool_best(const mp_pool_t *p);
const mp_entry_t *mp_pool_worst(const mp_pool_t *p);

/* mp_pool_pop_best: removes the best entry as included (block building).
 * mp_pool_evict_worst: evicts the worst as if for room (raises the
 * minimum fee rate).  0 or CH_ENOENT when empty. */
int mp_pool_pop_best(mp_pool_t *p);
int mp_pool_evict_worst(mp_pool_t *p, uint64_t now_ms);

/* mp_pool_top: up to n entries, best first, into out; returns how many. */
size_t mp_pool_top(const mp_pool_t *p, size_t n, const mp_entry_t **out);

/* mp_pool_first_arrival / mp_pool_next_arrival: entries oldest first. */
const mp_entry_t *mp_pool_first_arrival(const mp_pool_t *p);
const mp_entry_t *mp_pool_next_arrival(const mp_pool_t *p, const mp_entry_t *e);

/* mp_pool_expire: removes every entry older than the expiry (observer,
 * removal expired) and remembers their ids; returns how many. */
uint32_t mp_pool_expire(mp_pool_t *p, uint64_t now_ms);

/* mp_pool_new_block: a block arrived: recent rejects other than expiries
 * are forgotten (the state they depended on changed). */
void mp_pool_new_block(mp_pool_t *p);

/* mp_pool_min_rate: the minimum fee rate now, in milli-fee per byte. */
uint64_t mp_pool_min_rate(mp_pool_t *p, uint64_t now_ms);

/* mp_pool_stats: counters and sizes. */
void mp_pool_stats(mp_pool_t *p, uint64_t now_ms, mp_pool_stats_t *st);

/* mp_pool_cfg: the configuration the pool runs with. */
const mp_pool_cfg_t *mp_pool_cfg(const mp_pool_t *p);

/* mp_rate_milli: floor(fee * 1000 / size), saturated; for display. */
uint64_t mp_rate_milli(uint64_t fee, uint32_t size);

/* mp_pool_check: verifies every internal invariant (both heaps ordered,
 * handles, indexes, counts, bytes, sender counts, arrival order); 0 or CH_EPROTO with the first
 * violation in why.  O(n), for tests. */
int mp_pool_check(const mp_pool_t *p, char *why, size_t whycap);

#endif
