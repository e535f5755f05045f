/* filter.h: the relay's bounded sets of 32-byte ids (docs/relay.md).
 *
 *  - rl_hash_t: a keyed 128-bit hash of an id (SipHash-2-4-128 under a key
 *    drawn at start), computed once per id and reused by every table, so a
 *    peer choosing ids cannot aim them at one bucket or at the Bloom bits.
 *  - rl_fset_t: a rolling set of 32-bit fingerprints in `ngen` generations
 *    of open-addressing tables: it always remembers at least the `capacity`
 *    most recent insertions and forgets the oldest a generation at a time.
 *    Used for the per-peer known inventories, the seen-cache and the
 *    recent rejects.  False positives only: about probes x ngen x 2^-32 per
 *    lookup (~1e-9, measured in tests/unit/test_relay_filter.c).
 *  - rl_bloom_t: Bitcoin Core's CRollingBloomFilter (two bits per position
 *    hold the generation), kept to compare against (bench/relay_filter_bench.c):
 *    at the same false-positive rate it needs more memory than rl_fset_t.
 *  - rl_idtab_t: an exact table of ids (linear probing with backward-shift
 *    deletion, entries in a slab with a free list), for the mempool id set
 *    and the requests in flight.
 *
 * Nothing here allocates after init; nothing is thread-safe (the relay is
 * single-threaded). */
#ifndef CH_RELAY_FILTER_H
#define CH_RELAY_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RL_ID_LEN  32
#define RL_KEY_LEN 16

typedef struct rl_hash {
	uint64_t a, b;
} rl_hash_t;

/* rl_hash_id: the keyed hash of a 32-byte id.  Thread-safe. */
rl_hash_t rl_hash_id(const uint8_t key[RL_KEY_LEN], const uint8_t id[RL_ID_LEN]);

/* ---------------------------------------------------------------- fset */

#define RL_FSET_MAX_GEN 4

typedef struct rl_fset {
	uint32_t *slots; /* ngen tables of nslots fingerprints; 0 = empty */
	uint32_t nslots; /* per generation, a power of two */
	uint32_t per_gen;
	uint32_t count; /* entries in the current generation */
	uint8_t ngen, cur;
	uint64_t inserted; /* since init (for stats) */
} rl_fset_t;

/* rl_fset_init: a set that remembers at least `capacity` ids (between
 * capacity and capacity * ngen / (ngen - 1)), with 2 <= ngen <= 4
 * generations each at most half full.  0; CH_EINVAL; CH_ENOMEM. */
int rl_fset_init(rl_fset_t *s, uint32_t capacity, unsigned ngen);

/* rl_fset_free: frees the tables (safe twice). */
void rl_fset_free(rl_fset_t *s);

/* rl_fset_has: true if h was inserted recently (or, rarely, a false
 * positive). */
bool rl_fset_has(const rl_fset_t *s, rl_hash_t h);

/* rl_fset_add: inserts h; false if it was there already. */
bool rl_fset_add(rl_fset_t *s, rl_hash_t h);

/* rl_fset_clear: forgets everything. */
void rl_fset_clear(rl_fset_t *s);

/* rl_fset_bytes: memory of the tables. */
size_t rl_fset_bytes(const rl_fset_t *s);

/* ---------------------------------------------------------------- bloom */

typedef struct rl_bloom {
	uint64_t *data; /* pairs of words: bit i of word 2k and 2k+1 = the generation */
	uint32_t nwords;
	uint32_t nhash;
	uint32_t per_gen, count;
	uint32_t gen; /* 1, 2, 3 */
} rl_bloom_t;

/* rl_bloom_init: a rolling Bloom filter remembering at least `capacity`
 * ids with false-positive rate fp (Bitcoin's sizing: 3 generations of
 * capacity/2).  0; CH_EINVAL; CH_ENOMEM. */
int rl_bloom_init(rl_bloom_t *b, uint32_t capacity, double fp);
void rl_bloom_free(rl_bloom_t *b);
bool rl_bloom_has(const rl_bloom_t *b, rl_hash_t h);
void rl_bloom_add(rl_bloom_t *b, rl_hash_t h);
size_t rl_bloom_bytes(const rl_bloom_t *b);

/* ---------------------------------------------------------------- idtab */

typedef struct rl_identry {
	uint8_t id[RL_ID_LEN];
	uint64_t h;    /* rl_hash_t.a: the home slot */
	uint32_t next; /* free list */
	uint8_t used;
	uint8_t pad[3];
} rl_identry_t;

typedef struct rl_idtab {
	uint32_t *slot; /* entry index + 1; 0 = empty */
	uint32_t mask;
	rl_identry_t *ent;
	uint32_t cap, n;
	uint32_t hw;        /* entries [0, hw) have been handed out at least once */
	uint32_t free_head; /* index + 1; 0 = none */
} rl_idtab_t;

/* rl_idtab_init: room for cap ids (slots: a power of two >= 2 cap).
 * 0; CH_EINVAL; CH_ENOMEM. */
int rl_idtab_init(rl_idtab_t *t, uint32_t cap);
void rl_idtab_free(rl_idtab_t *t);

/* rl_idtab_find: the entry index of id, or -1. */
int64_t rl_idtab_find(const rl_idtab_t *t, const uint8_t id[RL_ID_LEN], rl_hash_t h);

/* rl_idtab_add: the entry of id, created if absent (*created says which);
 * -1 when the table is full. */
int64_t rl_idtab_add(rl_idtab_t *t, const uint8_t id[RL_ID_LEN], rl_hash_t h, bool *created);

/* rl_idtab_del: removes entry idx (which must be in use). */
void rl_idtab_del(rl_idtab_t *t, uint32_t idx);

/* rl_idtab_clear: removes everything. */
void rl_idtab_clear(rl_idtab_t *t);

#endif
