/* filter.c: bounded id sets of the relay (filter.h). */
#include "filter.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* rl_hash_id: SipHash-2-4 with 128 bits out: one call gives the slot bits and an
 * independent fingerprint (or the Bloom filter's two base hashes). */
rl_hash_t rl_hash_id(const uint8_t key[RL_KEY_LEN], const uint8_t id[RL_ID_LEN])
{
	uint8_t out[crypto_shorthash_siphashx24_BYTES];
	crypto_shorthash_siphashx24(out, id, RL_ID_LEN, key);
	rl_hash_t h;
	memcpy(&h.a, out, 8);
	memcpy(&h.b, out + 8, 8);
	return h;
}

/* pow2_at_least: table sizes are powers of two so a slot is a mask, not a division. */
static uint32_t pow2_at_least(uint64_t n)
{
	uint32_t p = 16;
	while (p < n && p < (1u << 30))
		p <<= 1;
	return p;
}

/* ---------------------------------------------------------------- fset */

/* The fingerprint: 32 bits of the hash independent of the slot bits; 0
 * marks an empty slot, so a zero fingerprint becomes 1. */
static inline uint32_t fset_fp(rl_hash_t h)
{
	uint32_t fp = (uint32_t)(h.b >> 32);
	return fp ? fp : 1;
}

/* rl_fset_init: sizes each generation at most half full so probe runs stay short. */
int rl_fset_init(rl_fset_t *s, uint32_t capacity, unsigned ngen)
{
	if (!s || capacity == 0 || ngen < 2 || ngen > RL_FSET_MAX_GEN || capacity > (1u << 28))
		return CH_EINVAL;
	memset(s, 0, sizeof(*s));
	s->ngen = (uint8_t)ngen;
	s->per_gen = (capacity + ngen - 2) / (ngen - 1);
	s->nslots = pow2_at_least((uint64_t)s->per_gen * 2); /* at most half full */
	s->slots = calloc((size_t)s->nslots * ngen, sizeof(uint32_t));
	return s->slots ? 0 : CH_ENOMEM;
}

/* rl_fset_free: safe twice. */
void rl_fset_free(rl_fset_t *s)
{
	if (!s)
		return;
	free(s->slots);
	s->slots = NULL;
}

/* gen_has: linear probing in one generation's table. */
static inline bool gen_has(const uint32_t *t, uint32_t mask, uint32_t i, uint32_t fp)
{
	for (;; i = (i + 1) & mask) {
		uint32_t v = t[i];
		if (v == fp)
			return true;
		if (v == 0)
			return false;
	}
}

/* rl_fset_has: every generation is searched: the set is their union. */
bool rl_fset_has(const rl_fset_t *s, rl_hash_t h)
{
	uint32_t fp = fset_fp(h), mask = s->nslots - 1, i = (uint32_t)h.a & mask;
	for (unsigned g = 0; g < s->ngen; g++)
		if (gen_has(s->slots + (size_t)g * s->nslots, mask, i, fp))
			return true;
	return false;
}

/* rl_fset_add: a full current generation rolls over: the oldest is wiped and reused,
 * so memory never grows and the latest `capacity` ids are always kept. */
bool rl_fset_add(rl_fset_t *s, rl_hash_t h)
{
	if (rl_fset_has(s, h))
		return false;
	if (s->count >= s->per_gen) {
		/* the oldest generation becomes the current one, empty */
		s->cur = (uint8_t)((s->cur + 1) % s->ngen);
		memset(s->slots + (size_t)s->cur * s->nslots, 0,
		       (size_t)s->nslots * sizeof(uint32_t));
		s->count = 0;
	}
	uint32_t *t = s->slots + (size_t)s->cur * s->nslots, mask = s->nslots - 1;
	uint32_t i = (uint32_t)h.a & mask;
	while (t[i] != 0)
		i = (i + 1) & mask;
	t[i] = fset_fp(h);
	s->count++;
	s->inserted++;
	return true;
}

/* rl_fset_clear: the recent rejects are forgotten when a block changes the pool. */
void rl_fset_clear(rl_fset_t *s)
{
	memset(s->slots, 0, (size_t)s->nslots * s->ngen * sizeof(uint32_t));
	s->count = 0;
	s->cur = 0;
}

/* rl_fset_bytes: for the memory bound in status. */
size_t rl_fset_bytes(const rl_fset_t *s)
{
	return (size_t)s->nslots * s->ngen * sizeof(uint32_t);
}

/* ---------------------------------------------------------------- bloom */

int rl_bloom_init(rl_bloom_t *b, uint32_t capacity, double fp)
{
	if (!b || capacity == 0 || !(fp > 0 && fp < 1))
		return CH_EINVAL;
	memset(b, 0, sizeof(*b));
	double lfp = log(fp);
	int k = (int)lround(lfp / log(0.5));
	b->nhash = (uint32_t)(k < 1 ? 1 : k > 50 ? 50 : k);
	b->per_gen = (capacity + 1) / 2;
	double maxel = (double)b->per_gen * 3;
	double bits = ceil(-1.0 * b->nhash * maxel / log(1.0 - exp(lfp / b->nhash)));
	b->nwords = (uint32_t)(((uint64_t)bits + 63) / 64) * 2;
	b->data = calloc(b->nwords, sizeof(uint64_t));
	b->gen = 1;
	return b->data ? 0 : CH_ENOMEM;
}

/* rl_bloom_free: safe twice. */
void rl_bloom_free(rl_bloom_t *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
}

/* bloom_hash: the n-th of the k hash values, from the 128-bit hash by
 * double hashing and a final mix. */
static inline uint32_t bloom_hash(rl_hash_t h, uint32_t n)
{
	uint64_t x = h.a + (uint64_t)n * (h.b | 1);
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (uint32_t)(x >> 32);
}

/* rl_bloom_has: set in any generation counts (Bitcoin's contains()). */
bool rl_bloom_has(const rl_bloom_t *b, rl_hash_t h)
{
	for (uint32_t n = 0; n < b->nhash; n++) {
		uint32_t v = bloom_hash(h, n), bit = v & 63;
		uint32_t pos = (uint32_t)(((uint64_t)v * b->nwords) >> 32);
		if (!(((b->data[pos & ~1u] | b->data[pos | 1]) >> bit) & 1))
			return false;
	}
	return true;
}

/* rl_bloom_add: Bitcoin's insert(): a generation change wipes the positions of the
 * generation number about to be reused. */
void rl_bloom_add(rl_bloom_t *b, rl_hash_t h)
{
	if (b->count == b->per_gen) {
		b->count = 0;
		b->gen = b->gen == 3 ? 1 : b->gen + 1;
		uint64_t m1 = 0 - (uint64_t)(b->gen & 1), m2 = 0 - (uint64_t)(b->gen >> 1);
		for (uint32_t p = 0; p < b->nwords; p += 2) {
			uint64_t p1 = b->data[p], p2 = b->data[p + 1];
			uint64_t mask = (p1 ^ m1) | (p2 ^ m2);
			b->data[p] = p1 & mask;
			b->data[p + 1] = p2 & mask;
		}
	}
	b->count++;
	for (uint32_t n = 0; n < b->nhash; n++) {
		uint32_t v = bloom_hash(h, n), bit = v & 63;
		uint32_t pos = (uint32_t)(((uint64_t)v * b->nwords) >> 32);
		uint64_t one = 1ULL << bit;
		b->data[pos & ~1u] = (b->data[pos & ~1u] & ~one) | ((uint64_t)(b->gen & 1) << bit);
		b->data[pos | 1] = (b->data[pos | 1] & ~one) | ((uint64_t)(b->gen >> 1) << bit);
	}
}

/* rl_bloom_bytes: for the comparison in the bench. */
size_t rl_bloom_bytes(const rl_bloom_t *b)
{
	return (size_t)b->nwords * sizeof(uint64_t);
}

/* ---------------------------------------------------------------- idtab */

int rl_idtab_init(rl_idtab_t *t, uint32_t cap)
{
	if (!t || cap == 0 || cap > (1u << 26))
		return CH_EINVAL;
	memset(t, 0, sizeof(*t));
	uint32_t ns = pow2_at_least((uint64_t)cap * 2);
	/* calloc'd and never written at init: pages are touched only as the
	 * table fills (entries are handed out from a high-water mark) */
	t->slot = calloc(ns, sizeof(uint32_t));
	t->ent = calloc(cap, sizeof(rl_identry_t));
	if (!t->slot || !t->ent) {
		rl_idtab_free(t);
		return CH_ENOMEM;
	}
	t->mask = ns - 1;
	t->cap = cap;
	return 0;
}

/* rl_idtab_free: safe twice. */
void rl_idtab_free(rl_idtab_t *t)
{
	if (!t)
		return;
	free(t->slot);
	free(t->ent);
	t->slot = NULL;
	t->ent = NULL;
}

/* rl_idtab_clear: only the entries ever handed out need resetting. */
void rl_idtab_clear(rl_idtab_t *t)
{
	memset(t->slot, 0, ((size_t)t->mask + 1) * sizeof(uint32_t));
	for (uint32_t i = 0; i < t->hw; i++)
		t->ent[i].used = 0;
	t->hw = 0;
	t->free_head = 0;
	t->n = 0;
}

/* rl_idtab_find: the stored 64-bit hash is compared first, the id only on a match. */
int64_t rl_idtab_find(const rl_idtab_t *t, const uint8_t id[RL_ID_LEN], rl_hash_t h)
{
	for (uint32_t i = (uint32_t)h.a & t->mask;; i = (i + 1) & t->mask) {
		uint32_t s = t->slot[i];
		if (s == 0)
			return -1;
		const rl_identry_t *e = &t->ent[s - 1];
		if (e->h == h.a && memcmp(e->id, id, RL_ID_LEN) == 0)
			return s - 1;
	}
}

/* rl_idtab_add: free list first, then the high-water mark, so untouched pages stay
 * untouched. */
int64_t rl_idtab_add(rl_idtab_t *t, const uint8_t id[RL_ID_LEN], rl_hash_t h, bool *created)
{
	uint32_t i = (uint32_t)h.a & t->mask;
	if (created)
		*created = false;
	for (;; i = (i + 1) & t->mask) {
		uint32_t s = t->slot[i];
		if (s == 0)
			break;
		const rl_identry_t *e = &t->ent[s - 1];
		if (e->h == h.a && memcmp(e->id, id, RL_ID_LEN) == 0)
			return s - 1;
	}
	uint32_t idx;
	if (t->free_head) {
		idx = t->free_head - 1;
		t->free_head = t->ent[idx].next;
	} else if (t->hw < t->cap) {
		idx = t->hw++;
	} else {
		return -1;
	}
	rl_identry_t *e = &t->ent[idx];
	memcpy(e->id, id, RL_ID_LEN);
	e->h = h.a;
	e->used = 1;
	e->next = 0;
	t->slot[i] = idx + 1;
	t->n++;
	if (created)
		*created = true;
	return idx;
}

/* rl_idtab_del: see the comment inside on backward shifts. */
void rl_idtab_del(rl_idtab_t *t, uint32_t idx)
{
	rl_identry_t *e = &t->ent[idx];
	uint32_t i = (uint32_t)e->h & t->mask;
	while (t->slot[i] != idx + 1)
		i = (i + 1) & t->mask;
	/* backward-shift deletion: move later members of the probe run into
	 * the hole when their home slot does not lie between hole and them */
	for (uint32_t j = (i + 1) & t->mask; t->slot[j] != 0; j = (j + 1) & t->mask) {
		uint32_t k = (uint32_t)t->ent[t->slot[j] - 1].h & t->mask;
		bool stay = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (!stay) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i] = 0;
	e->used = 0;
	e->next = t->free_head;
	t->free_head = idx + 1;
	t->n--;
}
