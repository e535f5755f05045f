/* test_mempool_pool.c: the pool's policy and order: every rejection
 * reason, replacement with and without the bump, eviction order when full
 * (by count and by bytes), expiry, the per-sender limit, the rising and
 * decaying minimum fee rate, top-N order, and a seeded randomised run of
 * insert, replace, remove, pop, evict and expire against a simple
 * reference model (a plain array, sorted on demand), compared after every
 * step together with the pool's own invariant check. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "hash.h"
#include "services/mempool/pool.h"

static uint64_t rng_state;

/* rng: splitmix64, seeded, for reproducible inputs. */
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Fake encodings: the pool copies size bytes from enc and never reads them
 * (signatures are checked only with verify = true). */
static uint8_t zeros[MP_TX_MAX_SIZE];
static uint64_t id_counter;

/* mk: an unsigned transaction with a fresh id. */
static mp_tx_t mk(int sender, uint64_t nonce, uint64_t fee, uint32_t size)
{
	mp_tx_t t;
	memset(&t, 0, sizeof(t));
	uint64_t c = ++id_counter;
	ch_blake2b256(t.id, &c, sizeof(c));
	memset(t.from.b, 0, 32);
	memcpy(t.from.b, &sender, sizeof(sender));
	t.nonce = nonce;
	t.fee = fee;
	t.size = size;
	t.enc = zeros;
	return t;
}

/* small_cfg: tight bounds for the policy tests. */
static mp_pool_cfg_t small_cfg(void)
{
	mp_pool_cfg_t c;
	mp_pool_cfg_default(&c);
	c.max_count = 8;
	c.max_bytes = 1 << 20;
	c.per_sender_max = 4;
	c.expiry_ms = 10000;
	c.base_rate_milli = 1000;
	c.incr_rate_milli = 1000;
	c.halflife_ms = 1000;
	c.seed = 7;
	return c;
}

/* admit: admission without signature checks; returns the reason. */
static int admit(mp_pool_t *p, const mp_tx_t *t, uint64_t now)
{
	mp_verdict_t v;
	assert_int_equal(mp_pool_admit(p, t, now, 0, false, &v), 0);
	return v.reason;
}

/* check: fails the test on any broken invariant. */
static void check(const mp_pool_t *p)
{
	char why[200];
	if (mp_pool_check(p, why, sizeof(why)) != 0)
		fail_msg("invariant: %s", why);
}

/* A removal log filled by the observer. */
typedef struct {
	uint8_t id[64][32];
	int reason[64];
	int n;
} rmlog_t;

/* log_removal: the observer of the tests. */
static void log_removal(void *user, const mp_entry_t *e, int why)
{
	rmlog_t *l = user;
	if (l->n < 64) {
		memcpy(l->id[l->n], e->id, 32);
		l->reason[l->n] = why;
	}
	l->n++;
}

/* test_reasons: every rejection reason the pool decides, and recent rejects' lifetime. */
static void test_reasons(void **state)
{
	(void)state;
	mp_pool_cfg_t c = small_cfg();
	mp_pool_t *p = mp_pool_new(&c);
	assert_non_null(p);
	mp_tx_t a = mk(1, 1, 1000, 200); /* rate 5/byte */
	assert_int_equal(admit(p, &a, 100), 0);
	assert_int_equal(admit(p, &a, 100), CH_TXR_DUPLICATE);
	/* fee rate 0.5 < 1 */
	mp_tx_t low = mk(2, 1, 100, 200);
	assert_int_equal(admit(p, &low, 100), CH_TXR_FEE_TOO_LOW);
	/* the same id again: remembered */
	assert_int_equal(admit(p, &low, 101), CH_TXR_RECENTLY_REJECTED);
	/* ... until its time-to-live passes */
	assert_int_equal(admit(p, &low, 101 + c.rejects_ttl_ms), CH_TXR_FEE_TOO_LOW);
	/* ... or a block arrives */
	mp_pool_new_block(p);
	assert_int_equal(admit(p, &low, 102 + c.rejects_ttl_ms), CH_TXR_FEE_TOO_LOW);
	/* exactly the minimum passes */
	mp_tx_t edge = mk(2, 2, 200, 200);
	assert_int_equal(admit(p, &edge, 100), 0);

	/* sender limit: 4 per key */
	for (int i = 0; i < 3; i++) {
		mp_tx_t t = mk(1, 10 + i, 1000, 200);
		assert_int_equal(admit(p, &t, 100), 0);
	}
	mp_tx_t fifth = mk(1, 20, 1000, 200);
	assert_int_equal(admit(p, &fifth, 100), CH_TXR_SENDER_LIMIT);
	/* a replacement is not a new one for the limit */
	mp_tx_t rep = mk(1, 10, 1100, 200);
	assert_int_equal(admit(p, &rep, 100), 0);

	/* replacement fee */
	mp_tx_t cheap = mk(1, 11, 1099, 200);
	assert_int_equal(admit(p, &cheap, 100), CH_TXR_REPLACEMENT_FEE);

	/* pool full (8): fill with rate 5, a rate-5 newcomer does not beat */
	mp_pool_stats_t st;
	mp_pool_stats(p, 100, &st);
	for (int s = 3; st.count < 8; s++) {
		mp_tx_t t = mk(s, 1, 1000, 200);
		assert_int_equal(admit(p, &t, 100), 0);
		mp_pool_stats(p, 100, &st);
	}
	assert_int_equal(st.count, 8);
	/* min fee rose? No eviction yet: edge (rate 1) is the worst */
	mp_tx_t tie = mk(30, 1, 200, 200); /* rate 1 = worst's rate: no */
	assert_int_equal(admit(p, &tie, 100), CH_TXR_POOL_FULL);

	/* expired: an entry that expired is refused while remembered */
	uint8_t first_id[32];
	memcpy(first_id, mp_pool_first_arrival(p)->id, 32);
	assert_true(mp_pool_expire(p, 100 + c.expiry_ms) >= 1);
	assert_null(mp_pool_get(p, first_id));
	assert_int_equal(admit(p, &a, 100 + c.expiry_ms), CH_TXR_EXPIRED);
	/* a block does not make an expired one welcome again */
	mp_pool_new_block(p);
	assert_int_equal(admit(p, &a, 101 + c.expiry_ms), CH_TXR_EXPIRED);
	mp_pool_stats(p, 100, &st);
	assert_true(st.rejects_by_reason[CH_TXR_EXPIRED] == 2);
	check(p);
	mp_pool_destroy(&p);
	mp_pool_destroy(&p);
	assert_null(p);
}

/* test_bad_sig: a forged signature is refused and does not block the real transaction. */
static void test_bad_sig(void **state)
{
	(void)state;
	mp_pool_cfg_t c = small_cfg();
	mp_pool_t *p = mp_pool_new(&c);
	ch_pubkey_t pk;
	ch_seckey_t sk;
	uint8_t enc[400], seed[32] = {9};
	size_t len;
	assert_int_equal(ch_ed25519_seed_keypair(&pk, &sk, seed), 0);
	assert_int_equal(mp_tx_encode(enc, sizeof(enc), &sk, 1, 5000, "x", 1, &len, NULL), 0);
	enc[len - 1] ^= 0x40;
	mp_tx_t t;
	assert_int_equal(mp_tx_decode(enc, len, &t, NULL, 0), 0);
	mp_verdict_t v;
	assert_int_equal(mp_pool_admit(p, &t, 0, 0, true, &v), 0);
	assert_int_equal(v.reason, CH_TXR_BAD_SIG);
	/* a forged signature must not block the real one (same id) */
	enc[len - 1] ^= 0x40;
	assert_int_equal(mp_tx_decode(enc, len, &t, NULL, 0), 0);
	assert_int_equal(mp_pool_admit(p, &t, 0, 0, true, &v), 0);
	assert_int_equal(v.reason, 0);
	mp_pool_destroy(&p);
}

/* test_replacement: the 10 % bump in fee and in fee rate. */
static void test_replacement(void **state)
{
	(void)state;
	mp_pool_cfg_t c = small_cfg();
	mp_pool_t *p = mp_pool_new(&c);
	rmlog_t log = {.n = 0};
	mp_pool_set_observer(p, log_removal, &log);
	mp_tx_t a = mk(1, 5, 1000, 200);
	assert_int_equal(admit(p, &a, 0), 0);
	/* +9.9 %: refused; +10 % in fee and rate: accepted */
	mp_tx_t b = mk(1, 5, 1099, 200);
	assert_int_equal(admit(p, &b, 0), CH_TXR_REPLACEMENT_FEE);
	/* +10 % fee but a bigger tx: the rate bump is missing */
	mp_tx_t big = mk(1, 5, 1100, 201);
	assert_int_equal(admit(p, &big, 0), CH_TXR_REPLACEMENT_FEE);
	mp_tx_t d = mk(1, 5, 1100, 200);
	assert_int_equal(admit(p, &d, 0), 0);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.reason[0], CH_TXRM_REPLACED);
	assert_memory_equal(log.id[0], a.id, 32);
	assert_null(mp_pool_get(p, a.id));
	assert_non_null(mp_pool_get(p, d.id));
	mp_pool_stats_t st;
	mp_pool_stats(p, 0, &st);
	assert_int_equal(st.count, 1);
	assert_int_equal(st.replaced, 1);
	check(p);
	mp_pool_destroy(&p);
}

/* test_eviction_order: by count and by bytes, worst first, ties newest first; top-N order. */
static void test_eviction_order(void **state)
{
	(void)state;
	mp_pool_cfg_t c = small_cfg();
	c.max_count = 4;
	c.per_sender_max = 100;
	mp_pool_t *p = mp_pool_new(&c);
	rmlog_t log = {.n = 0};
	mp_pool_set_observer(p, log_removal, &log);
	/* rates 2, 3, 3, 4 (the two 3s: b older than c) */
	mp_tx_t a = mk(1, 1, 400, 200), b = mk(1, 2, 600, 200), cc = mk(1, 3, 600, 200),
	        d = mk(1, 4, 800, 200);
	assert_int_equal(admit(p, &a, 0), 0);
	assert_int_equal(admit(p, &b, 1), 0);
	assert_int_equal(admit(p, &cc, 2), 0);
	assert_int_equal(admit(p, &d, 3), 0);
	assert_memory_equal(mp_pool_worst(p)->id, a.id, 32);
	assert_memory_equal(mp_pool_best(p)->id, d.id, 32);
	/* rate 2.5 beats a (2) */
	mp_tx_t e = mk(1, 5, 500, 200);
	assert_int_equal(admit(p, &e, 4), 0);
	assert_int_equal(log.n, 1);
	assert_memory_equal(log.id[0], a.id, 32);
	assert_int_equal(log.reason[0], CH_TXRM_EVICTED);
	/* the minimum rose to 2 + 1 = 3 per byte */
	assert_int_equal(mp_pool_min_rate(p, 4), 3000);
	/* rate 3.5: evicts e (2.5); then among the equal 3s the newer (cc) */
	mp_tx_t f = mk(1, 6, 700, 200), g = mk(1, 7, 740, 200);
	assert_int_equal(admit(p, &f, 4), 0);
	assert_memory_equal(log.id[1], e.id, 32);
	assert_int_equal(admit(p, &g, 4), 0);
	assert_memory_equal(log.id[2], cc.id, 32);
	/* top-N: best first, the older of equal rates first */
	const mp_entry_t *top[8];
	assert_int_equal(mp_pool_top(p, 8, top), 4);
	assert_memory_equal(top[0]->id, d.id, 32);
	assert_memory_equal(top[1]->id, g.id, 32);
	assert_memory_equal(top[2]->id, f.id, 32);
	assert_memory_equal(top[3]->id, b.id, 32);
	check(p);
	mp_pool_destroy(&p);

	/* by bytes: a 600-byte newcomer evicts the two worst 200-byte ones */
	c.max_count = 100;
	c.max_bytes = 800;
	p = mp_pool_new(&c);
	log.n = 0;
	mp_pool_set_observer(p, log_removal, &log);
	mp_tx_t t[4];
	for (int i = 0; i < 4; i++) {
		t[i] = mk(2, (uint64_t)i, 400 + 100 * (uint64_t)i, 200);
		assert_int_equal(admit(p, &t[i], 0), 0);
	}
	mp_tx_t large = mk(3, 1, 2000, 500); /* rate 4: beats 2, 2.5 and 3 */
	assert_int_equal(admit(p, &large, 0), 0);
	assert_int_equal(log.n, 3);
	assert_memory_equal(log.id[0], t[0].id, 32);
	assert_memory_equal(log.id[1], t[1].id, 32);
	assert_memory_equal(log.id[2], t[2].id, 32);
	mp_pool_stats_t st;
	mp_pool_stats(p, 0, &st);
	assert_int_equal(st.bytes, 700);
	assert_int_equal(st.evicted, 3);
	assert_int_equal(mp_pool_min_rate(p, 0), 4000); /* t[2]'s 3 + 1 */
	/* 700 bytes at rate 4.29: evicts t[3] (3.5) and large (4) */
	mp_tx_t huge = mk(4, 1, 3000, 700);
	assert_int_equal(admit(p, &huge, 0), 0);
	assert_int_equal(log.n, 5);
	assert_memory_equal(log.id[4], large.id, 32);
	/* once the minimum decayed: a rate-3 newcomer would have to evict the
	 * better huge: refused */
	mp_tx_t poor = mk(5, 1, 600, 200);
	assert_int_equal(admit(p, &poor, 100000), CH_TXR_POOL_FULL);
	assert_int_equal(log.n, 5);
	/* one larger than the whole pool never fits */
	c.max_bytes = 800;
	check(p);
	mp_pool_destroy(&p);
}

/* test_min_fee_rises_and_decays: the rolling minimum after evictions and its half-life. */
static void test_min_fee_rises_and_decays(void **state)
{
	(void)state;
	mp_pool_cfg_t c = small_cfg();
	c.max_count = 2;
	c.per_sender_max = 10;
	mp_pool_t *p = mp_pool_new(&c);
	assert_int_equal(mp_pool_min_rate(p, 0), 1000);
	mp_tx_t a = mk(1, 1, 2000, 200), b = mk(1, 2, 2000, 200), d = mk(1, 3, 4000, 200);
	assert_int_equal(admit(p, &a, 0), 0);
	assert_int_equal(admit(p, &b, 0), 0);
	assert_int_equal(admit(p, &d, 0), 0); /* evicts b (rate 10, newer) */
	assert_int_equal(mp_pool_min_rate(p, 0), 11000);
	mp_tx_t low = mk(2, 1, 2000, 200); /* rate 10 < 11 */
	assert_int_equal(admit(p, &low, 0), CH_TXR_FEE_TOO_LOW);
	/* one half-life: 5.5; two: 2.75; then it falls under the base */
	assert_int_equal(mp_pool_min_rate(p, 1000), 5500);
	assert_int_equal(mp_pool_min_rate(p, 2000), 2750);
	assert_int_equal(mp_pool_min_rate(p, 10000), 1000);
	mp_pool_stats_t st;
	mp_pool_stats(p, 10000, &st);
	assert_int_equal(st.min_rate_milli, 1000);
	/* evict_worst raises it too */
	assert_int_equal(mp_pool_evict_worst(p, 20000), 0);
	assert_int_equal(mp_pool_min_rate(p, 20000), 11000);
	assert_int_equal(mp_pool_pop_best(p), 0);
	assert_int_equal(mp_pool_pop_best(p), CH_ENOENT);
	assert_int_equal(mp_pool_evict_worst(p, 0), CH_ENOENT);
	mp_pool_destroy(&p);
}

/* test_expiry_and_restore: expiry by age, a clock stepping back, and restore from the store. */
static void test_expiry_and_restore(void **state)
{
	(void)state;
	mp_pool_cfg_t c = small_cfg();
	mp_pool_t *p = mp_pool_new(&c);
	rmlog_t log = {.n = 0};
	mp_pool_set_observer(p, log_removal, &log);
	mp_tx_t a = mk(1, 1, 1000, 200), b = mk(2, 1, 1000, 200), d = mk(3, 1, 1000, 200);
	assert_int_equal(admit(p, &a, 1000), 0);
	assert_int_equal(admit(p, &b, 2000), 0);
	/* the wall clock stepped back: arrival order and times stay sorted */
	assert_int_equal(admit(p, &d, 1500), 0);
	assert_int_equal(mp_pool_get(p, d.id)->time_ms, 2000);
	assert_int_equal(mp_pool_expire(p, 1000 + c.expiry_ms - 1), 0);
	assert_int_equal(mp_pool_expire(p, 1000 + c.expiry_ms), 1);
	assert_int_equal(log.reason[0], CH_TXRM_EXPIRED);
	assert_int_equal(mp_pool_expire(p, 2000 + c.expiry_ms), 2);
	mp_pool_stats_t st;
	mp_pool_stats(p, 0, &st);
	assert_int_equal(st.count, 0);
	assert_int_equal(st.expired, 3);
	/* restore keeps the given time, refuses a pooled id, replaces a
	 * (from, nonce) and evicts the worst beyond the bounds */
	assert_int_equal(mp_pool_restore(p, &a, 3005, 9), 0);
	assert_int_equal(mp_pool_restore(p, &a, 3005, 9), CH_EEXIST);
	assert_int_equal(mp_pool_get(p, a.id)->time_ms, 3005);
	assert_int_equal(mp_pool_get(p, a.id)->peer, 9);
	mp_tx_t a2 = mk(1, 1, 5000, 200);
	assert_int_equal(mp_pool_restore(p, &a2, 3006, 0), 0);
	assert_null(mp_pool_get(p, a.id));
	for (int i = 0; i < 10; i++) {
		mp_tx_t t = mk(10 + i, 1, 1000 + (uint64_t)i, 200);
		assert_int_equal(mp_pool_restore(p, &t, 3007, 0), 0);
	}
	mp_pool_stats(p, 0, &st);
	assert_int_equal(st.count, c.max_count);
	check(p);
	assert_int_equal(mp_pool_remove(p, a2.id, CH_TXRM_INCLUDED), 0);
	assert_int_equal(mp_pool_remove(p, a2.id, CH_TXRM_INCLUDED), CH_ENOENT);
	mp_pool_destroy(&p);
	/* invalid bounds */
	c.max_count = 0;
	assert_null(mp_pool_new(&c));
}

/* ---------------------------------------------------------------- model */

typedef struct {
	uint8_t id[32];
	int sender;
	uint64_t nonce, fee, seq, time;
	uint32_t size;
} m_ent_t;

#define M_MAX 256

typedef struct {
	m_ent_t e[M_MAX];
	int n;
	uint64_t seq, last_time;
	double roll;
	uint64_t roll_time;
	mp_pool_cfg_t cfg;
	/* removals the model expects, in order */
	uint8_t rm_id[M_MAX][32];
	int rm_reason[M_MAX];
	int nrm;
} model_t;

/* m_worse: the documented order: lower fee rate, ties: newer. */
static bool m_worse(const m_ent_t *a, const m_ent_t *b)
{
	unsigned __int128 x = (unsigned __int128)a->fee * b->size,
	                  y = (unsigned __int128)b->fee * a->size;
	return x < y || (x == y && a->seq > b->seq);
}

/* m_cmp_worst_first: qsort order of the model: worst first. */
static int m_cmp_worst_first(const void *a, const void *b)
{
	const m_ent_t *x = a, *y = b;
	return m_worse(x, y) ? -1 : m_worse(y, x) ? 1 : 0;
}

/* m_min_rate: the model's minimum fee rate. */
static uint64_t m_min_rate(const model_t *m, uint64_t now)
{
	double r = m->roll;
	if (r > 0 && now > m->roll_time)
		r *= exp2(-(double)(now - m->roll_time) / (double)m->cfg.halflife_ms);
	if (r < (double)m->cfg.base_rate_milli)
		r = 0;
	if (r <= (double)m->cfg.base_rate_milli)
		return m->cfg.base_rate_milli;
	return (uint64_t)ceil(r);
}

/* m_remove_at: the model drops entry i and logs why. */
static void m_remove_at(model_t *m, int i, int reason)
{
	memcpy(m->rm_id[m->nrm % M_MAX], m->e[i].id, 32);
	m->rm_reason[m->nrm % M_MAX] = reason;
	m->nrm++;
	m->e[i] = m->e[--m->n];
}

/* m_find: index of an id in the model, or -1. */
static int m_find(const model_t *m, const uint8_t *id)
{
	for (int i = 0; i < m->n; i++)
		if (memcmp(m->e[i].id, id, 32) == 0)
			return i;
	return -1;
}

/* m_evict_at: the model evicts entry i and raises its minimum. */
static void m_evict_at(model_t *m, int i, uint64_t now)
{
	double r = m->roll;
	if (r > 0 && now > m->roll_time)
		r *= exp2(-(double)(now - m->roll_time) / (double)m->cfg.halflife_ms);
	if (r < (double)m->cfg.base_rate_milli)
		r = 0;
	uint64_t rate = (uint64_t)((unsigned __int128)m->e[i].fee * 1000 / m->e[i].size);
	double want = (double)rate + (double)m->cfg.incr_rate_milli;
	if (want > r) {
		m->roll = want;
		m->roll_time = now;
	}
	m_remove_at(m, i, CH_TXRM_EVICTED);
}

/* m_admit: the admission rules of docs/mempool.md, written plainly. */
static int m_admit(model_t *m, const mp_tx_t *t, int sender, uint64_t now)
{
	if (m_find(m, t->id) >= 0)
		return CH_TXR_DUPLICATE;
	uint64_t minr = m_min_rate(m, now);
	if ((unsigned __int128)t->fee * 1000 < (unsigned __int128)minr * t->size)
		return CH_TXR_FEE_TOO_LOW;
	int old = -1, same = 0;
	for (int i = 0; i < m->n; i++) {
		if (m->e[i].sender == sender && m->e[i].nonce == t->nonce)
			old = i;
		same += m->e[i].sender == sender;
	}
	if (old >= 0) {
		const m_ent_t *o = &m->e[old];
		unsigned __int128 pct = 100 + m->cfg.bump_pct;
		if ((unsigned __int128)t->fee * 100 < (unsigned __int128)o->fee * pct ||
		    (unsigned __int128)t->fee * o->size * 100 <
		        (unsigned __int128)o->fee * t->size * pct)
			return CH_TXR_REPLACEMENT_FEE;
	} else if ((uint32_t)same >= m->cfg.per_sender_max) {
		return CH_TXR_SENDER_LIMIT;
	}
	/* victims: worst first, skipping the replaced one */
	m_ent_t sorted[M_MAX];
	memcpy(sorted, m->e, sizeof(m_ent_t) * (size_t)m->n);
	qsort(sorted, (size_t)m->n, sizeof(m_ent_t), m_cmp_worst_first);
	uint64_t cnt = (uint64_t)m->n + 1 - (old >= 0), bytes = t->size;
	for (int i = 0; i < m->n; i++)
		bytes += m->e[i].size;
	if (old >= 0)
		bytes -= m->e[old].size;
	int nv = 0;
	uint8_t victims[M_MAX][32];
	for (int i = 0; i < m->n && (cnt > m->cfg.max_count || bytes > m->cfg.max_bytes); i++) {
		if (old >= 0 && memcmp(sorted[i].id, m->e[old].id, 32) == 0)
			continue;
		unsigned __int128 x = (unsigned __int128)t->fee * sorted[i].size,
		                  y = (unsigned __int128)sorted[i].fee * t->size;
		if (x <= y)
			return CH_TXR_POOL_FULL;
		memcpy(victims[nv++], sorted[i].id, 32);
		cnt--;
		bytes -= sorted[i].size;
	}
	if (cnt > m->cfg.max_count || bytes > m->cfg.max_bytes)
		return CH_TXR_POOL_FULL;
	if (old >= 0)
		m_remove_at(m, old, CH_TXRM_REPLACED);
	for (int i = 0; i < nv; i++)
		m_evict_at(m, m_find(m, victims[i]), now);
	m_ent_t *e = &m->e[m->n++];
	memcpy(e->id, t->id, 32);
	e->sender = sender;
	e->nonce = t->nonce;
	e->fee = t->fee;
	e->size = t->size;
	e->seq = m->seq++;
	e->time = now < m->last_time ? m->last_time : now;
	m->last_time = e->time;
	return 0;
}

/* compare: same entries in the same order, same removals, invariants. */
static void compare(const model_t *m, const mp_pool_t *p, const rmlog_t *log, int step)
{
	const mp_entry_t *top[M_MAX];
	size_t k = mp_pool_top(p, M_MAX, top);
	if ((int)k != m->n)
		fail_msg("step %d: pool has %zu, model %d", step, k, m->n);
	m_ent_t sorted[M_MAX];
	memcpy(sorted, m->e, sizeof(m_ent_t) * (size_t)m->n);
	qsort(sorted, (size_t)m->n, sizeof(m_ent_t), m_cmp_worst_first);
	for (int i = 0; i < m->n; i++)
		if (memcmp(top[i]->id, sorted[m->n - 1 - i].id, 32) != 0)
			fail_msg("step %d: order differs at rank %d", step, i);
	if (log->n != m->nrm)
		fail_msg("step %d: %d removals, model %d", step, log->n, m->nrm);
	check(p);
}

/* test_random_vs_model: 30000 seeded random operations, compared after each. */
static void test_random_vs_model(void **state)
{
	(void)state;
	static model_t m;
	memset(&m, 0, sizeof(m));
	mp_pool_cfg_t c;
	mp_pool_cfg_default(&c);
	c.max_count = 48;
	c.max_bytes = 30000;
	c.per_sender_max = 6;
	c.expiry_ms = 6000;
	c.halflife_ms = 700;
	c.incr_rate_milli = 100;
	c.rejects_max = 0; /* recent rejects are tested above; the model omits them */
	c.seed = 99;
	m.cfg = c;
	mp_pool_t *p = mp_pool_new(&c);
	assert_non_null(p);
	rmlog_t log = {.n = 0};
	mp_pool_set_observer(p, log_removal, &log);
	rng_state = 424242;
	uint64_t now = 1000;
	for (int step = 0; step < 30000; step++) {
		now += rng() % 20;
		uint64_t op = rng() % 100;
		if (op < 72) {
			/* insert, often a (sender, nonce) that exists: a replacement */
			int sender = (int)(rng() % 12);
			uint64_t nonce = rng() % 8;
			uint32_t size = 132 + (uint32_t)(rng() % 1200);
			uint64_t fee = (uint64_t)size * (rng() % 12) + rng() % 64;
			mp_tx_t t = mk(sender, nonce, fee, size);
			if (rng() % 20 == 0 && m.n > 0) /* an id already pooled */
				memcpy(t.id, m.e[rng() % (uint64_t)m.n].id, 32);
			int want = m_admit(&m, &t, sender, now);
			int got = admit(p, &t, now);
			if (want != got)
				fail_msg("step %d: admit gave %d, model %d", step, got, want);
		} else if (op < 80 && m.n > 0) {
			int i = (int)(rng() % (uint64_t)m.n);
			uint8_t id[32];
			memcpy(id, m.e[i].id, 32);
			m_remove_at(&m, i, CH_TXRM_INCLUDED);
			assert_int_equal(mp_pool_remove(p, id, CH_TXRM_INCLUDED), 0);
		} else if (op < 85) {
			if (m.n == 0) {
				assert_int_equal(mp_pool_pop_best(p), CH_ENOENT);
			} else {
				int b = 0;
				for (int i = 1; i < m.n; i++)
					if (m_worse(&m.e[b], &m.e[i]))
						b = i;
				m_remove_at(&m, b, CH_TXRM_INCLUDED);
				assert_int_equal(mp_pool_pop_best(p), 0);
			}
		} else if (op < 89) {
			if (m.n == 0) {
				assert_int_equal(mp_pool_evict_worst(p, now), CH_ENOENT);
			} else {
				int w = 0;
				for (int i = 1; i < m.n; i++)
					if (m_worse(&m.e[i], &m.e[w]))
						w = i;
				m_evict_at(&m, w, now);
				assert_int_equal(mp_pool_evict_worst(p, now), 0);
			}
		} else if (op < 97) {
			now += rng() % 1000;
			uint32_t want = 0;
			for (;;) {
				int o = -1;
				for (int i = 0; i < m.n; i++)
					if (m.e[i].time + c.expiry_ms <= now &&
					    (o < 0 || m.e[i].seq < m.e[o].seq))
						o = i;
				if (o < 0)
					break;
				m_remove_at(&m, o, CH_TXRM_EXPIRED);
				want++;
			}
			assert_int_equal(mp_pool_expire(p, now), want);
		} else {
			assert_int_equal(mp_pool_min_rate(p, now), m_min_rate(&m, now));
		}
		compare(&m, p, &log, step);
	}
	mp_pool_stats_t st;
	mp_pool_stats(p, now, &st);
	print_message("model run: %llu accepted, %llu rejected, %llu evicted, %llu replaced, "
	              "%llu expired\n",
	              (unsigned long long)st.accepted, (unsigned long long)st.rejected,
	              (unsigned long long)st.evicted, (unsigned long long)st.replaced,
	              (unsigned long long)st.expired);
	assert_true(st.evicted > 100 && st.replaced > 100 && st.expired > 100);
	for (int r = CH_TXR_FEE_TOO_LOW; r <= CH_TXR_POOL_FULL; r++)
		if (r != CH_TXR_RECENTLY_REJECTED && r != CH_TXR_BAD_SIG &&
		    st.rejects_by_reason[r] == 0)
			fail_msg("the random run never produced reason %d", r);
	mp_pool_destroy(&p);
}

/* main: runs every case in order. */
int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reasons),
	    cmocka_unit_test(test_bad_sig),
	    cmocka_unit_test(test_replacement),
	    cmocka_unit_test(test_eviction_order),
	    cmocka_unit_test(test_min_fee_rises_and_decays),
	    cmocka_unit_test(test_expiry_and_restore),
	    cmocka_unit_test(test_random_vs_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
