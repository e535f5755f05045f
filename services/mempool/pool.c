/* pool.c: the transaction pool (see pool.h and docs/mempool.md). */
#include "pool.h"

#include <math.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

typedef unsigned __int128 u128;

/* A heap slot: the order key inline (no pointer chase to compare) and the
 * entry it stands for. */
typedef struct mp_hslot {
	uint64_t fee;
	uint64_t seq;
	uint32_t size;
	uint32_t idx;
} mp_hslot_t;

/* Encodings live in chunks of 128 B .. 32 KiB (powers of two). */
#define ENC_MIN_SHIFT 7
#define ENC_CLASSES   9

#define MP_HMAX 0
#define MP_HMIN 1

/* A sender's count of pooled transactions. */
typedef struct mp_sender {
	uint8_t from[32];
	uint32_t count;
	uint32_t next; /* hash chain, or free list */
	uint32_t hb;   /* its bucket */
} mp_sender_t;

/* A remembered rejection. */
typedef struct mp_reject {
	uint8_t id[CH_TXID_LEN];
	uint64_t time_ms;
	uint32_t gen; /* block generation it was made in */
	uint32_t next;
	uint32_t hb; /* its bucket */
	int32_t reason;
	bool used;
} mp_reject_t;

struct mp_pool {
	mp_pool_cfg_t cfg;
	uint8_t hkey[crypto_shorthash_KEYBYTES];

	mp_entry_t *e; /* max_count entries */
	uint32_t free_head;
	uint32_t count;
	uint64_t bytes;
	uint64_t next_seq;

	mp_hslot_t *h[2]; /* the two heaps: MP_HMAX (best on top), MP_HMIN */
	uint32_t *hpos;   /* each entry's positions: [2 * idx + heap] */
	uint32_t age_head, age_tail;
	uint64_t last_time;

	uint32_t hmask; /* buckets - 1, for the entry indexes */
	uint32_t *by_id;
	uint32_t *by_fn;

	mp_sender_t *s;
	uint32_t *by_sender;
	uint32_t s_free;
	uint32_t nsenders;

	mp_reject_t *rj;
	uint32_t *by_rj;
	uint32_t rj_mask;
	uint32_t rj_cursor;
	uint32_t rj_gen;
	uint32_t nrejects;

	/* raised minimum fee rate: rolled at roll_time, halving each halflife */
	double roll_milli;
	uint64_t roll_time;

	uint32_t victims[MP_VICTIMS_MAX];
	uint32_t frontier[2 * MP_VICTIMS_MAX + 2];

	/* freed encodings kept for reuse, per power-of-two size class */
	void *enc_free[ENC_CLASSES];
	uint64_t enc_free_bytes;

	mp_removed_fn observer;
	void *observer_user;

	uint64_t accepted, rejected, evicted, expired, replaced, included;
	uint64_t by_reason[CH_TXR_EXPIRED + 1];
};

/* mp_pool_cfg_default: the MP_DEF_* constants of pool.h. */
void mp_pool_cfg_default(mp_pool_cfg_t *c)
{
	*c = (mp_pool_cfg_t){
	    .max_count = MP_DEF_MAX_COUNT,
	    .max_bytes = MP_DEF_MAX_BYTES,
	    .per_sender_max = MP_DEF_PER_SENDER,
	    .bump_pct = MP_DEF_BUMP_PCT,
	    .expiry_ms = MP_DEF_EXPIRY_MS,
	    .base_rate_milli = MP_DEF_BASE_RATE,
	    .incr_rate_milli = MP_DEF_INCR_RATE,
	    .halflife_ms = MP_DEF_HALFLIFE_MS,
	    .rejects_max = MP_DEF_REJECTS_MAX,
	    .rejects_ttl_ms = MP_DEF_REJECTS_TTL_MS,
	};
}

/* ---------------------------------------------------------------- helpers */

/* khash: SipHash-2-4 of a key with the pool's secret, so that bucket
 * positions cannot be aimed at by whoever picks ids, keys or nonces. */
static uint64_t khash(const mp_pool_t *p, const void *k, size_t n)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h;
	crypto_shorthash(out, k, n, p->hkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

/* The three key hashes of a transaction, computed once per operation. */
typedef struct keyh {
	uint64_t id, fn, sender;
} keyh_t;

/* key_hashes: the id, (from, nonce) and sender hashes of one transaction. */
static keyh_t key_hashes(const mp_pool_t *p, const uint8_t *id, const uint8_t *from, uint64_t nonce)
{
	uint8_t k[40];
	memcpy(k, from, 32);
	memcpy(k + 32, &nonce, 8);
	return (keyh_t){khash(p, id, CH_TXID_LEN), khash(p, k, sizeof(k)), khash(p, from, 32)};
}

/* mp_rate_milli: see pool.h; 128-bit so that no fee overflows. */
uint64_t mp_rate_milli(uint64_t fee, uint32_t size)
{
	if (size == 0)
		return UINT64_MAX;
	u128 r = (u128)fee * 1000 / size;
	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}

/* rate_cmp: -1, 0, 1 as fee_a/size_a is below, equal to, above fee_b/size_b
 * (exact: 64x32-bit products in 128 bits). */
static int rate_cmp(uint64_t fa, uint32_t sa, uint64_t fb, uint32_t sb)
{
	u128 a = (u128)fa * sb, b = (u128)fb * sa;
	return a < b ? -1 : a > b;
}

/* ---------------------------------------------------------------- encodings */

/* enc_class: the size class of an encoding of n bytes (n <= 32 KiB). */
static int enc_class(uint32_t n)
{
	int c = 0;
	while (c < ENC_CLASSES - 1 && (1u << (ENC_MIN_SHIFT + c)) < n)
		c++;
	return c;
}

/* enc_alloc / enc_free: encodings come from per-class free lists before
 * malloc: a pool that churns at its bound reuses the same chunks instead
 * of paying the allocator (about a fifth of an operation's time).  The
 * lists hold at most max_bytes; beyond that chunks go back to malloc. */
static uint8_t *enc_alloc(mp_pool_t *p, uint32_t n)
{
	int c = enc_class(n);
	void *b = p->enc_free[c];
	if (b) {
		p->enc_free[c] = *(void **)b;
		p->enc_free_bytes -= 1u << (ENC_MIN_SHIFT + c);
		return b;
	}
	return malloc((size_t)1 << (ENC_MIN_SHIFT + c));
}

static void enc_free(mp_pool_t *p, uint8_t *b, uint32_t n)
{
	int c = enc_class(n);
	uint32_t sz = 1u << (ENC_MIN_SHIFT + c);
	if (!b)
		return;
	if (p->enc_free_bytes + sz > p->cfg.max_bytes) {
		free(b);
		return;
	}
	*(void **)b = p->enc_free[c];
	p->enc_free[c] = b;
	p->enc_free_bytes += sz;
}

/* ---------------------------------------------------------------- heaps */

/* above: whether slot a belongs above slot b in heap dir (MP_HMAX: the
 * better one on top; MP_HMIN: the worse one on top). */
static bool above(const mp_hslot_t *a, const mp_hslot_t *b, int dir)
{
	int c = rate_cmp(a->fee, a->size, b->fee, b->size);
	bool better = c > 0 || (c == 0 && a->seq < b->seq);
	return dir == MP_HMAX ? better : !better;
}

/* hset: puts slot s at position i of heap dir and records the handle. */
static void hset(mp_pool_t *p, int dir, uint32_t i, const mp_hslot_t *s)
{
	p->h[dir][i] = *s;
	p->hpos[2 * s->idx + (uint32_t)dir] = i;
}

/* hup / hdown: sift the slot at i towards the root / the leaves. */
static void hup(mp_pool_t *p, int dir, uint32_t i)
{
	mp_hslot_t s = p->h[dir][i];
	while (i > 0) {
		uint32_t par = (i - 1) / 2;
		if (!above(&s, &p->h[dir][par], dir))
			break;
		hset(p, dir, i, &p->h[dir][par]);
		i = par;
	}
	hset(p, dir, i, &s);
}

static void hdown(mp_pool_t *p, int dir, uint32_t i)
{
	mp_hslot_t s = p->h[dir][i];
	uint32_t n = p->count;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && above(&p->h[dir][c + 1], &p->h[dir][c], dir))
			c++;
		if (!above(&p->h[dir][c], &s, dir))
			break;
		hset(p, dir, i, &p->h[dir][c]);
		i = c;
	}
	hset(p, dir, i, &s);
}

/* heaps_insert: entry x enters both heaps (p->count already counts it). */
static void heaps_insert(mp_pool_t *p, uint32_t x)
{
	const mp_entry_t *e = &p->e[x];
	mp_hslot_t s = {.fee = e->fee, .seq = e->seq, .size = e->size, .idx = x};
	for (int dir = 0; dir < 2; dir++) {
		hset(p, dir, p->count - 1, &s);
		hup(p, dir, p->count - 1);
	}
}

/* heaps_remove: entry x leaves both heaps (p->count still counts it): the
 * last slot takes its place and sifts whichever way it must. */
static void heaps_remove(mp_pool_t *p, uint32_t x)
{
	uint32_t last = p->count - 1;
	for (int dir = 0; dir < 2; dir++) {
		uint32_t i = p->hpos[2 * x + (uint32_t)dir];
		if (i == last)
			continue;
		mp_hslot_t s = p->h[dir][last];
		hset(p, dir, i, &s);
		p->count--; /* sift within the shrunk heap */
		if (i > 0 && above(&s, &p->h[dir][(i - 1) / 2], dir))
			hup(p, dir, i);
		else
			hdown(p, dir, i);
		p->count++;
	}
}

/* walk: up to max entry indices from one end (dir MP_HMAX: best first,
 * MP_HMIN: worst first), in order, by a frontier over heap positions (a
 * small heap of candidates: the next in order is always the top of the
 * frontier, whose children then join it).  O(max log max).  fr is scratch
 * of 2 * max + 1 positions. */
static size_t walk(const mp_pool_t *p, int dir, size_t max, uint32_t *out, uint32_t *fr)
{
	size_t nf = 0, k = 0;
	const mp_hslot_t *h = p->h[dir];
	if (p->count == 0 || max == 0)
		return 0;
	fr[nf++] = 0;
	while (nf > 0 && k < max) {
		uint32_t top = fr[0];
		out[k++] = h[top].idx;
		/* pop the frontier's top */
		uint32_t v = fr[--nf];
		size_t i = 0;
		for (;;) {
			size_t c = 2 * i + 1;
			if (c >= nf)
				break;
			if (c + 1 < nf && above(&h[fr[c + 1]], &h[fr[c]], dir))
				c++;
			if (!above(&h[fr[c]], &h[v], dir))
				break;
			fr[i] = fr[c];
			i = c;
		}
		if (nf > 0)
			fr[i] = v;
		/* push the children of the taken position */
		for (uint32_t c = 2 * top + 1; c <= 2 * top + 2; c++) {
			if (c >= p->count)
				break;
			size_t j = nf++;
			while (j > 0 && above(&h[c], &h[fr[(j - 1) / 2]], dir)) {
				fr[j] = fr[(j - 1) / 2];
				j = (j - 1) / 2;
			}
			fr[j] = c;
		}
	}
	return k;
}

/* ---------------------------------------------------------------- indexes */

static uint32_t find_id_h(const mp_pool_t *p, const uint8_t *id, uint64_t h)
{
	for (uint32_t i = p->by_id[h & p->hmask]; i != MP_NIL; i = p->e[i].id_next)
		if (memcmp(p->e[i].id, id, CH_TXID_LEN) == 0)
			return i;
	return MP_NIL;
}

/* find_id: the entry with this id, hashing it first. */
static uint32_t find_id(const mp_pool_t *p, const uint8_t *id)
{
	return find_id_h(p, id, khash(p, id, CH_TXID_LEN));
}

/* find_fn_h: the entry holding (from, nonce), given its hash. */
static uint32_t find_fn_h(const mp_pool_t *p, const uint8_t *from, uint64_t nonce, uint64_t h)
{
	for (uint32_t i = p->by_fn[h & p->hmask]; i != MP_NIL; i = p->e[i].fn_next)
		if (p->e[i].nonce == nonce && memcmp(p->e[i].from, from, 32) == 0)
			return i;
	return MP_NIL;
}

/* find_fn: find_fn_h, hashing first (for the checks). */
static uint32_t find_fn(const mp_pool_t *p, const uint8_t *from, uint64_t nonce)
{
	keyh_t k = key_hashes(p, from, from, nonce);
	return find_fn_h(p, from, nonce, k.fn);
}

/* find_sender_h: the sender record of a key, given its hash. */
static uint32_t find_sender_h(const mp_pool_t *p, const uint8_t *from, uint64_t h)
{
	for (uint32_t i = p->by_sender[h & p->hmask]; i != MP_NIL; i = p->s[i].next)
		if (memcmp(p->s[i].from, from, 32) == 0)
			return i;
	return MP_NIL;
}

/* unlink_chain: removes x from the chain starting at *head whose links are
 * at offset off of each element (entries or senders). */
static void unlink_entry_chain(mp_entry_t *e, uint32_t *head, uint32_t x, bool fn)
{
	uint32_t *link = head;
	while (*link != MP_NIL && *link != x)
		link = fn ? &e[*link].fn_next : &e[*link].id_next;
	if (*link == x)
		*link = fn ? e[x].fn_next : e[x].id_next;
}

/* sender_add / sender_drop: per-key counts; a record exists while its key
 * has at least one pooled transaction. */
static uint32_t sender_add(mp_pool_t *p, const uint8_t *from, uint64_t h)
{
	uint32_t i = find_sender_h(p, from, h);
	if (i == MP_NIL) {
		i = p->s_free; /* never empty: one record per entry at most */
		p->s_free = p->s[i].next;
		memcpy(p->s[i].from, from, 32);
		p->s[i].count = 0;
		uint32_t b = (uint32_t)h & p->hmask;
		p->s[i].hb = b;
		p->s[i].next = p->by_sender[b];
		p->by_sender[b] = i;
		p->nsenders++;
	}
	p->s[i].count++;
	return i;
}

static void sender_drop(mp_pool_t *p, uint32_t i)
{
	if (--p->s[i].count > 0)
		return;
	uint32_t *link = &p->by_sender[p->s[i].hb];
	while (*link != i)
		link = &p->s[*link].next;
	*link = p->s[i].next;
	p->s[i].next = p->s_free;
	p->s_free = i;
	p->nsenders--;
}

/* ---------------------------------------------------------------- rejects */

/* rj_bucket: from the id's hash (its upper half: the lower one picks the
 * pool's bucket). */
static uint32_t rj_bucket(const mp_pool_t *p, uint64_t h)
{
	return (uint32_t)(h >> 32) & p->rj_mask;
}

/* rj_find: the live remembered rejection of id, or NULL: expired by age,
 * or made before the last block (except expiries, which stay). */
static mp_reject_t *rj_find(mp_pool_t *p, const uint8_t *id, uint64_t h, uint64_t now_ms)
{
	for (uint32_t i = p->by_rj[rj_bucket(p, h)]; i != MP_NIL; i = p->rj[i].next) {
		mp_reject_t *r = &p->rj[i];
		if (memcmp(r->id, id, CH_TXID_LEN) != 0)
			continue;
		if (now_ms >= r->time_ms + p->cfg.rejects_ttl_ms)
			return NULL;
		if (r->reason != CH_TXR_EXPIRED && r->gen != p->rj_gen)
			return NULL;
		return r;
	}
	return NULL;
}

/* rj_add: remembers a rejection, reusing the oldest slot when full (FIFO,
 * so the set never grows past rejects_max). */
static void rj_add(mp_pool_t *p, const uint8_t *id, uint64_t h, int reason, uint64_t now_ms)
{
	if (p->cfg.rejects_max == 0)
		return;
	for (uint32_t i = p->by_rj[rj_bucket(p, h)]; i != MP_NIL; i = p->rj[i].next)
		if (memcmp(p->rj[i].id, id, CH_TXID_LEN) == 0) {
			p->rj[i].reason = reason;
			p->rj[i].time_ms = now_ms;
			p->rj[i].gen = p->rj_gen;
			return;
		}
	uint32_t i = p->rj_cursor;
	p->rj_cursor = (p->rj_cursor + 1) % p->cfg.rejects_max;
	mp_reject_t *r = &p->rj[i];
	if (r->used) {
		uint32_t *link = &p->by_rj[r->hb];
		while (*link != i)
			link = &p->rj[*link].next;
		*link = r->next;
	} else {
		p->nrejects++;
	}
	memcpy(r->id, id, CH_TXID_LEN);
	r->reason = reason;
	r->time_ms = now_ms;
	r->gen = p->rj_gen;
	r->used = true;
	uint32_t b = rj_bucket(p, h);
	r->hb = b;
	r->next = p->by_rj[b];
	p->by_rj[b] = i;
}

/* mp_pool_new_block: a new generation: older rejections (but expiries) stop counting. */
void mp_pool_new_block(mp_pool_t *p)
{
	p->rj_gen++;
}

/* ---------------------------------------------------------------- life */

/* pow2_at_least: the smallest power of two >= n (n <= 2^31). */
static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t b = 1;
	while (b < n)
		b <<= 1;
	return b;
}

/* mp_pool_new: everything is allocated here, once, from the bounds; the hash key is random unless
 * the configuration gives a seed (tests). */
mp_pool_t *mp_pool_new(const mp_pool_cfg_t *cfg)
{
	if (!cfg || cfg->max_count == 0 || cfg->max_count >= (1u << 30) || cfg->max_bytes == 0 ||
	    cfg->rejects_max >= (1u << 30))
		return NULL;
	if (ch_crypto_init() != 0)
		return NULL;
	mp_pool_t *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = *cfg;
	if (cfg->seed) {
		uint8_t s[32];
		ch_blake2b256(s, &cfg->seed, sizeof(cfg->seed));
		memcpy(p->hkey, s, sizeof(p->hkey));
	} else {
		randombytes_buf(p->hkey, sizeof(p->hkey));
	}
	uint32_t n = cfg->max_count, nb = pow2_at_least(n);
	uint32_t rjn = cfg->rejects_max, rjb = pow2_at_least(rjn ? rjn : 1);
	p->hmask = nb - 1;
	p->rj_mask = rjb - 1;
	p->e = calloc(n, sizeof(*p->e));
	p->s = calloc(n, sizeof(*p->s));
	p->by_id = malloc(nb * sizeof(uint32_t));
	p->by_fn = malloc(nb * sizeof(uint32_t));
	p->by_sender = malloc(nb * sizeof(uint32_t));
	p->rj = calloc(rjn ? rjn : 1, sizeof(*p->rj));
	p->by_rj = malloc(rjb * sizeof(uint32_t));
	p->hpos = malloc(2 * (size_t)n * sizeof(uint32_t));
	for (int d = 0; d < 2; d++) {
		p->h[d] = malloc(n * sizeof(mp_hslot_t));
	}
	if (!p->h[0] || !p->h[1] || !p->hpos || !p->e || !p->s || !p->by_id || !p->by_fn ||
	    !p->by_sender || !p->rj || !p->by_rj) {
		mp_pool_destroy(&p);
		return NULL;
	}
	memset(p->by_id, 0xff, nb * sizeof(uint32_t));
	memset(p->by_fn, 0xff, nb * sizeof(uint32_t));
	memset(p->by_sender, 0xff, nb * sizeof(uint32_t));
	memset(p->by_rj, 0xff, rjb * sizeof(uint32_t));
	for (uint32_t i = 0; i < n; i++) {
		p->e[i].id_next = i + 1 < n ? i + 1 : MP_NIL; /* free list */
		p->s[i].next = i + 1 < n ? i + 1 : MP_NIL;
	}
	p->free_head = 0;
	p->s_free = 0;
	p->age_head = p->age_tail = MP_NIL;
	return p;
}

/* mp_pool_destroy: frees the encodings (pooled and recycled) and every table. */
void mp_pool_destroy(mp_pool_t **pp)
{
	if (!pp || !*pp)
		return;
	mp_pool_t *p = *pp;
	if (p->e)
		for (uint32_t i = 0; i < p->cfg.max_count; i++)
			if (p->e[i].used)
				enc_free(p, p->e[i].enc, p->e[i].size);
	free(p->e);
	free(p->s);
	free(p->by_id);
	free(p->by_fn);
	free(p->by_sender);
	free(p->rj);
	free(p->by_rj);
	free(p->hpos);
	for (int c = 0; c < ENC_CLASSES; c++)
		while (p->enc_free[c]) {
			void *next = *(void **)p->enc_free[c];
			free(p->enc_free[c]);
			p->enc_free[c] = next;
		}
	for (int d = 0; d < 2; d++) {
		free(p->h[d]);
	}
	free(p);
	*pp = NULL;
}

/* mp_pool_set_observer: see pool.h. */
void mp_pool_set_observer(mp_pool_t *p, mp_removed_fn fn, void *user)
{
	p->observer = fn;
	p->observer_user = user;
}

/* mp_pool_cfg: see pool.h. */
const mp_pool_cfg_t *mp_pool_cfg(const mp_pool_t *p)
{
	return &p->cfg;
}

/* ---------------------------------------------------------------- core ops */

/* link_entry: puts a filled slot into every structure. */
static void link_entry(mp_pool_t *p, uint32_t x, const keyh_t *k)
{
	mp_entry_t *e = &p->e[x];
	uint32_t b = (uint32_t)k->id & p->hmask;
	e->hb_id = b;
	e->id_next = p->by_id[b];
	p->by_id[b] = x;
	b = (uint32_t)k->fn & p->hmask;
	e->hb_fn = b;
	e->fn_next = p->by_fn[b];
	p->by_fn[b] = x;
	e->sender = sender_add(p, e->from, k->sender);
	e->age_next = MP_NIL;
	e->age_prev = p->age_tail;
	if (p->age_tail != MP_NIL)
		p->e[p->age_tail].age_next = x;
	else
		p->age_head = x;
	p->age_tail = x;
	p->count++;
	p->bytes += e->size;
	heaps_insert(p, x);
}

/* take_slot: fills a free slot from tx (the encoding is given, owned). */
static uint32_t take_slot(mp_pool_t *p, const mp_tx_t *tx, uint8_t *enc, uint64_t time_ms,
                          uint64_t peer)
{
	uint32_t x = p->free_head;
	mp_entry_t *e = &p->e[x];
	p->free_head = e->id_next;
	memset(e, 0, sizeof(*e));
	memcpy(e->id, tx->id, CH_TXID_LEN);
	memcpy(e->from, tx->from.b, 32);
	e->nonce = tx->nonce;
	e->fee = tx->fee;
	e->size = tx->size;
	e->seq = p->next_seq++;
	/* The arrival list must stay sorted by time even if the wall clock
	 * steps back: a time never precedes the newest one. */
	e->time_ms = time_ms < p->last_time ? p->last_time : time_ms;
	p->last_time = e->time_ms;
	e->peer = peer;
	e->enc = enc;
	e->used = true;
	return x;
}

/* drop: removes entry x for reason removal, calling the observer first. */
static void drop(mp_pool_t *p, uint32_t x, int removal)
{
	mp_entry_t *e = &p->e[x];
	/* Everything below misses the cache at 100k+ entries; asking for the
	 * independent lines at once overlaps those misses. */
	__builtin_prefetch(&p->by_fn[e->hb_fn]);
	__builtin_prefetch(&p->s[e->sender]);
	__builtin_prefetch(&p->hpos[2 * x]);
	if (e->age_prev != MP_NIL)
		__builtin_prefetch(&p->e[e->age_prev]);
	if (e->age_next != MP_NIL)
		__builtin_prefetch(&p->e[e->age_next]);
	if (p->observer)
		p->observer(p->observer_user, e, removal);
	unlink_entry_chain(p->e, &p->by_id[e->hb_id], x, false);
	unlink_entry_chain(p->e, &p->by_fn[e->hb_fn], x, true);
	sender_drop(p, e->sender);
	if (e->age_prev != MP_NIL)
		p->e[e->age_prev].age_next = e->age_next;
	else
		p->age_head = e->age_next;
	if (e->age_next != MP_NIL)
		p->e[e->age_next].age_prev = e->age_prev;
	else
		p->age_tail = e->age_prev;
	heaps_remove(p, x);
	p->count--;
	p->bytes -= e->size;
	switch (removal) {
	case CH_TXRM_EVICTED:
		p->evicted++;
		break;
	case CH_TXRM_EXPIRED:
		p->expired++;
		break;
	case CH_TXRM_REPLACED:
		p->replaced++;
		break;
	case CH_TXRM_INCLUDED:
		p->included++;
		break;
	}
	enc_free(p, e->enc, e->size);
	e->enc = NULL;
	e->used = false;
	e->id_next = p->free_head;
	p->free_head = x;
}

/* current_roll: the raised part of the minimum now: the peak set by the
 * last eviction, halved every halflife since (0 once below the base
 * rate).  A function of (peak, time, now) only, so it is reproducible. */
static double current_roll(const mp_pool_t *p, uint64_t now_ms)
{
	double r = p->roll_milli;
	if (r <= 0)
		return 0;
	if (now_ms > p->roll_time && p->cfg.halflife_ms > 0)
		r *= exp2(-(double)(now_ms - p->roll_time) / (double)p->cfg.halflife_ms);
	return r < (double)p->cfg.base_rate_milli ? 0 : r;
}

/* mp_pool_min_rate: the base rate, or the decayed raised one when above it, rounded up. */
uint64_t mp_pool_min_rate(mp_pool_t *p, uint64_t now_ms)
{
	double r = current_roll(p, now_ms);
	uint64_t base = p->cfg.base_rate_milli;
	if (r <= (double)base)
		return base;
	return r >= 1.8e19 ? UINT64_MAX : (uint64_t)ceil(r);
}

/* evict: drops x for room and raises the minimum fee rate to its rate
 * plus the increment, as Bitcoin Core's rolling minimum does. */
static void evict(mp_pool_t *p, uint32_t x, uint64_t now_ms)
{
	uint64_t r = mp_rate_milli(p->e[x].fee, p->e[x].size);
	double want = (double)r + (double)p->cfg.incr_rate_milli;
	if (want > current_roll(p, now_ms)) {
		p->roll_milli = want;
		p->roll_time = now_ms;
	}
	drop(p, x, CH_TXRM_EVICTED);
}

/* ---------------------------------------------------------------- admission */

/* reject: fills the verdict; remember says whether the cause is in the
 * signed content (then the id is remembered as a recent reject). */
__attribute__((format(printf, 6, 7))) static int reject(mp_pool_t *p, const mp_tx_t *tx,
                                                        uint64_t now_ms, int reason,
                                                        mp_verdict_t *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->text, sizeof(v->text), fmt, ap);
	va_end(ap);
	v->reason = reason;
	p->rejected++;
	p->by_reason[reason]++;
	if (reason == CH_TXR_FEE_TOO_LOW || reason == CH_TXR_REPLACEMENT_FEE ||
	    reason == CH_TXR_SENDER_LIMIT || reason == CH_TXR_POOL_FULL)
		rj_add(p, tx->id, khash(p, tx->id, CH_TXID_LEN), reason, now_ms);
	return 0;
}

/* bump_ok: the replacement pays at least bump_pct percent more, in fee and
 * in fee rate, than the transaction it replaces. */
static bool bump_ok(const mp_pool_t *p, const mp_entry_t *old, const mp_tx_t *tx)
{
	u128 pct = 100 + (u128)p->cfg.bump_pct;
	if ((u128)tx->fee * 100 < (u128)old->fee * pct)
		return false;
	/* new.fee / new.size >= old.fee / old.size * pct / 100 */
	return (u128)tx->fee * old->size * 100 >= (u128)old->fee * tx->size * pct;
}

/* milli_text: a rate in milli-fee per byte as "12.345". */
static const char *milli_text(uint64_t m, char *buf, size_t cap)
{
	snprintf(buf, cap, "%llu.%03llu", (unsigned long long)(m / 1000),
	         (unsigned long long)(m % 1000));
	return buf;
}

/* mp_pool_admit: see pool.h for the order of the checks; the victims are chosen before the
 * signature is checked but removed only after. */
int mp_pool_admit(mp_pool_t *p, const mp_tx_t *tx, uint64_t now_ms, uint64_t peer, bool verify,
                  mp_verdict_t *v)
{
	char a[32], b[32];
	if (!p || !tx || !v)
		return CH_EINVAL;
	v->reason = 0;
	v->text[0] = 0;
	keyh_t k = key_hashes(p, tx->id, tx->from.b, tx->nonce);
	__builtin_prefetch(&p->by_fn[k.fn & p->hmask]);
	__builtin_prefetch(&p->by_sender[k.sender & p->hmask]);
	__builtin_prefetch(&p->by_rj[rj_bucket(p, k.id)]);
	if (find_id_h(p, tx->id, k.id) != MP_NIL)
		return reject(p, tx, now_ms, CH_TXR_DUPLICATE, v, "already in the pool");
	mp_reject_t *rj = rj_find(p, tx->id, k.id, now_ms);
	if (rj && rj->reason == CH_TXR_EXPIRED)
		return reject(p, tx, now_ms, CH_TXR_EXPIRED, v,
		              "expired from the pool recently; sign a new one");
	if (rj)
		return reject(p, tx, now_ms, CH_TXR_RECENTLY_REJECTED, v, "rejected recently (%s)",
		              mp_tx_reason_name(rj->reason));
	uint64_t minr = mp_pool_min_rate(p, now_ms);
	if ((u128)tx->fee * 1000 < (u128)minr * tx->size)
		return reject(p, tx, now_ms, CH_TXR_FEE_TOO_LOW, v,
		              "fee rate %s below the minimum %s per byte",
		              milli_text(mp_rate_milli(tx->fee, tx->size), a, sizeof(a)),
		              milli_text(minr, b, sizeof(b)));
	uint32_t old = find_fn_h(p, tx->from.b, tx->nonce, k.fn);
	if (old != MP_NIL) {
		if (!bump_ok(p, &p->e[old], tx))
			return reject(
			    p, tx, now_ms, CH_TXR_REPLACEMENT_FEE, v,
			    "replacing nonce %llu needs %u%% more fee and fee rate than %llu",
			    (unsigned long long)tx->nonce, p->cfg.bump_pct,
			    (unsigned long long)p->e[old].fee);
	} else {
		uint32_t s = find_sender_h(p, tx->from.b, k.sender);
		if (s != MP_NIL && p->s[s].count >= p->cfg.per_sender_max)
			return reject(p, tx, now_ms, CH_TXR_SENDER_LIMIT, v,
			              "sender has %u transactions pooled, the limit",
			              p->s[s].count);
	}
	/* Room: walk from the worst, skipping the replaced one; each victim
	 * must rank strictly below the newcomer's fee rate. */
	uint64_t need_count = (uint64_t)p->count + 1 - (old != MP_NIL);
	uint64_t need_bytes = p->bytes + tx->size - (old != MP_NIL ? p->e[old].size : 0);
	uint32_t nv = 0;
	if (need_count > p->cfg.max_count || need_bytes > p->cfg.max_bytes) {
		/* candidates worst first; one more than the cap for the replaced */
		uint32_t cand[MP_VICTIMS_MAX + 1];
		size_t nc = walk(p, MP_HMIN, MP_VICTIMS_MAX + 1, cand, p->frontier);
		size_t ci = 0;
		while (need_count > p->cfg.max_count || need_bytes > p->cfg.max_bytes) {
			while (ci < nc && cand[ci] == old)
				ci++;
			uint32_t w = ci < nc ? cand[ci++] : MP_NIL;
			if (w == MP_NIL || nv == MP_VICTIMS_MAX ||
			    rate_cmp(tx->fee, tx->size, p->e[w].fee, p->e[w].size) <= 0)
				return reject(
				    p, tx, now_ms, CH_TXR_POOL_FULL, v,
				    "pool full and fee rate %s does not beat the lowest %s",
				    milli_text(mp_rate_milli(tx->fee, tx->size), a, sizeof(a)),
				    w == MP_NIL
				        ? "-"
				        : milli_text(mp_rate_milli(p->e[w].fee, p->e[w].size), b,
				                     sizeof(b)));
			p->victims[nv++] = w;
			need_count--;
			need_bytes -= p->e[w].size;
		}
	}
	if (verify && mp_tx_verify(tx) != 0)
		return reject(p, tx, now_ms, CH_TXR_BAD_SIG, v, "signature does not verify");
	uint8_t *enc = enc_alloc(p, tx->size);
	if (!enc)
		return CH_ENOMEM;
	memcpy(enc, tx->enc, tx->size);
	if (old != MP_NIL)
		drop(p, old, CH_TXRM_REPLACED);
	for (uint32_t i = 0; i < nv; i++)
		evict(p, p->victims[i], now_ms);
	link_entry(p, take_slot(p, tx, enc, now_ms, peer), &k);
	p->accepted++;
	return 0;
}

/* mp_pool_restore: see pool.h. */
int mp_pool_restore(mp_pool_t *p, const mp_tx_t *tx, uint64_t time_ms, uint64_t peer)
{
	keyh_t k = key_hashes(p, tx->id, tx->from.b, tx->nonce);
	if (find_id_h(p, tx->id, k.id) != MP_NIL)
		return CH_EEXIST;
	uint8_t *enc = enc_alloc(p, tx->size);
	if (!enc)
		return CH_ENOMEM;
	memcpy(enc, tx->enc, tx->size);
	uint32_t old = find_fn_h(p, tx->from.b, tx->nonce, k.fn);
	if (old != MP_NIL)
		drop(p, old, CH_TXRM_REPLACED);
	while (p->count > 0 &&
	       (p->count + 1 > p->cfg.max_count || p->bytes + tx->size > p->cfg.max_bytes))
		drop(p, p->h[MP_HMIN][0].idx, CH_TXRM_EVICTED);
	link_entry(p, take_slot(p, tx, enc, time_ms, peer), &k);
	return 0;
}

/* mp_pool_get: see pool.h. */
const mp_entry_t *mp_pool_get(const mp_pool_t *p, const uint8_t id[CH_TXID_LEN])
{
	uint32_t x = find_id(p, id);
	return x == MP_NIL ? NULL : &p->e[x];
}

/* mp_pool_remove: see pool.h. */
int mp_pool_remove(mp_pool_t *p, const uint8_t id[CH_TXID_LEN], int removal)
{
	uint32_t x = find_id(p, id);
	if (x == MP_NIL)
		return CH_ENOENT;
	drop(p, x, removal);
	return 0;
}

/* mp_pool_best: the max-heap's top. */
const mp_entry_t *mp_pool_best(const mp_pool_t *p)
{
	return p->count == 0 ? NULL : &p->e[p->h[MP_HMAX][0].idx];
}

/* mp_pool_worst: the min-heap's top. */
const mp_entry_t *mp_pool_worst(const mp_pool_t *p)
{
	return p->count == 0 ? NULL : &p->e[p->h[MP_HMIN][0].idx];
}

/* mp_pool_pop_best: see pool.h. */
int mp_pool_pop_best(mp_pool_t *p)
{
	if (p->count == 0)
		return CH_ENOENT;
	drop(p, p->h[MP_HMAX][0].idx, CH_TXRM_INCLUDED);
	return 0;
}

/* mp_pool_evict_worst: see pool.h. */
int mp_pool_evict_worst(mp_pool_t *p, uint64_t now_ms)
{
	if (p->count == 0)
		return CH_ENOENT;
	evict(p, p->h[MP_HMIN][0].idx, now_ms);
	return 0;
}

/* mp_pool_top: a frontier walk of the max-heap (scratch allocated per call). */
size_t mp_pool_top(const mp_pool_t *p, size_t n, const mp_entry_t **out)
{
	if (n > p->count)
		n = p->count;
	uint32_t *idx = malloc((3 * n + 1) * sizeof(uint32_t));
	if (!idx)
		return 0;
	size_t k = walk(p, MP_HMAX, n, idx, idx + n);
	for (size_t i = 0; i < k; i++)
		out[i] = &p->e[idx[i]];
	free(idx);
	return k;
}

/* mp_pool_first_arrival / mp_pool_next_arrival: the arrival list, oldest first (compaction writes
 * in this order so replay keeps it). */
const mp_entry_t *mp_pool_first_arrival(const mp_pool_t *p)
{
	return p->age_head == MP_NIL ? NULL : &p->e[p->age_head];
}

const mp_entry_t *mp_pool_next_arrival(const mp_pool_t *p, const mp_entry_t *e)
{
	return e->age_next == MP_NIL ? NULL : &p->e[e->age_next];
}

/* mp_pool_expire: pops the arrival list's head while it is old enough. */
uint32_t mp_pool_expire(mp_pool_t *p, uint64_t now_ms)
{
	uint32_t n = 0;
	while (p->age_head != MP_NIL && p->e[p->age_head].time_ms + p->cfg.expiry_ms <= now_ms) {
		uint32_t x = p->age_head;
		rj_add(p, p->e[x].id, khash(p, p->e[x].id, CH_TXID_LEN), CH_TXR_EXPIRED, now_ms);
		drop(p, x, CH_TXRM_EXPIRED);
		n++;
	}
	return n;
}

/* mp_pool_stats: see pool.h. */
void mp_pool_stats(mp_pool_t *p, uint64_t now_ms, mp_pool_stats_t *st)
{
	memset(st, 0, sizeof(*st));
	st->count = p->count;
	st->bytes = p->bytes;
	st->min_rate_milli = mp_pool_min_rate(p, now_ms);
	st->accepted = p->accepted;
	st->rejected = p->rejected;
	st->evicted = p->evicted;
	st->expired = p->expired;
	st->replaced = p->replaced;
	st->included = p->included;
	memcpy(st->rejects_by_reason, p->by_reason, sizeof(st->rejects_by_reason));
	st->senders = p->nsenders;
	st->recent_rejects = p->nrejects;
}

/* ---------------------------------------------------------------- checks */

/* check_heap: heap dir is ordered, its handles point back, and it holds
 * exactly the used entries. */
static int check_heap(const mp_pool_t *p, int dir, uint64_t *bytes, char *why, size_t whycap)
{
	*bytes = 0;
	for (uint32_t i = 0; i < p->count; i++) {
		const mp_hslot_t *s = &p->h[dir][i];
		const mp_entry_t *e = &p->e[s->idx];
		if (!e->used || p->hpos[2 * s->idx + (uint32_t)dir] != i || e->fee != s->fee ||
		    e->size != s->size || e->seq != s->seq) {
			snprintf(why, whycap, "heap %d slot %u does not match its entry", dir, i);
			return CH_EPROTO;
		}
		if (i > 0 && above(s, &p->h[dir][(i - 1) / 2], dir)) {
			snprintf(why, whycap, "heap %d order broken at %u", dir, i);
			return CH_EPROTO;
		}
		if (find_id(p, e->id) != s->idx || find_fn(p, e->from, e->nonce) != s->idx) {
			snprintf(why, whycap, "entry %u missing from an index", s->idx);
			return CH_EPROTO;
		}
		*bytes += e->size;
	}
	return 0;
}

/* mp_pool_check: both heaps, then the arrival list, then the sender counts. */
int mp_pool_check(const mp_pool_t *p, char *why, size_t whycap)
{
	uint32_t ages = 0;
	for (int dir = 0; dir < 2; dir++) {
		uint64_t bytes;
		int rc = check_heap(p, dir, &bytes, why, whycap);
		if (rc)
			return rc;
		if (bytes != p->bytes) {
			snprintf(why, whycap, "bytes %llu, heap %d has %llu",
			         (unsigned long long)p->bytes, dir, (unsigned long long)bytes);
			return CH_EPROTO;
		}
	}
	uint64_t t = 0;
	for (uint32_t x = p->age_head; x != MP_NIL; x = p->e[x].age_next) {
		if (p->e[x].time_ms < t || ++ages > p->count) {
			snprintf(why, whycap, "arrival list out of order or too long");
			return CH_EPROTO;
		}
		t = p->e[x].time_ms;
	}
	if (ages != p->count) {
		snprintf(why, whycap, "arrival list has %u, count %u", ages, p->count);
		return CH_EPROTO;
	}
	uint64_t scount = 0;
	for (uint32_t b = 0; b <= p->hmask; b++)
		for (uint32_t s = p->by_sender[b]; s != MP_NIL; s = p->s[s].next)
			scount += p->s[s].count;
	if (scount != p->count) {
		snprintf(why, whycap, "sender counts sum to %llu, count %u",
		         (unsigned long long)scount, p->count);
		return CH_EPROTO;
	}
	return 0;
}
