/* test_relay_filter.c: the relay's id sets (services/relay/filter.h):
 * argument checks, the rolling fingerprint set's retention guarantee and
 * measured false-positive rate, the rolling Bloom filter's, and the exact
 * id table against a reference model in a seeded random loop (add, find,
 * delete with backward shifts, full table). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "services/relay/filter.h"

static const uint8_t key[RL_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* xorshift64*: a seeded generator, so failures reproduce. */
static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

/* id_of: a distinct id for each number. */
static void id_of(uint64_t n, uint8_t id[32])
{
	memset(id, 0, 32);
	memcpy(id, &n, 8);
	id[31] = 0xaa;
}

static rl_hash_t h_of(uint64_t n)
{
	uint8_t id[32];
	id_of(n, id);
	return rl_hash_id(key, id);
}

static void test_hash_keyed(void **state)
{
	(void)state;
	uint8_t id[32] = {0}, k2[RL_KEY_LEN] = {0};
	rl_hash_t a = rl_hash_id(key, id), b = rl_hash_id(k2, id), c = rl_hash_id(key, id);
	assert_true(a.a != b.a || a.b != b.b);
	assert_true(a.a == c.a && a.b == c.b);
	assert_int_equal(sizeof(rl_identry_t), 48);
}

static void test_fset_args(void **state)
{
	(void)state;
	rl_fset_t s;
	assert_int_equal(rl_fset_init(NULL, 10, 2), CH_EINVAL);
	assert_int_equal(rl_fset_init(&s, 0, 2), CH_EINVAL);
	assert_int_equal(rl_fset_init(&s, 10, 1), CH_EINVAL);
	assert_int_equal(rl_fset_init(&s, 10, 5), CH_EINVAL);
	assert_int_equal(rl_fset_init(&s, 4096, 2), 0);
	/* two generations of 4096 in 8192 slots of 4 bytes */
	assert_int_equal(rl_fset_bytes(&s), 2 * 8192 * 4);
	rl_fset_free(&s);
	rl_fset_free(&s);
}

/* The set always remembers at least `capacity` of the latest insertions,
 * and forgets old ones (not everything is kept). */
static void test_fset_retention(void **state)
{
	(void)state;
	const uint32_t cap = 4096;
	for (unsigned gens = 2; gens <= 4; gens++) {
		rl_fset_t s;
		assert_int_equal(rl_fset_init(&s, cap, gens), 0);
		for (uint64_t i = 0; i < 10 * cap; i++) {
			assert_true(rl_fset_add(&s, h_of(i)));
			assert_false(rl_fset_add(&s, h_of(i))); /* idempotent */
			if (i % 997 == 0 && i >= cap)
				for (uint64_t j = i + 1 - cap; j <= i; j++)
					assert_true(rl_fset_has(&s, h_of(j)));
		}
		uint32_t old = 0;
		for (uint64_t i = 0; i < cap; i++)
			old += rl_fset_has(&s, h_of(i));
		assert_true(old < cap / 100); /* forgotten, false positives aside */
		rl_fset_clear(&s);
		assert_false(rl_fset_has(&s, h_of(10 * cap - 1)));
		rl_fset_free(&s);
	}
}

/* False positives of a full set, measured over 4 M absent ids: the
 * documented bound is about probes x generations x 2^-32. */
static void test_fset_fp_rate(void **state)
{
	(void)state;
	rl_fset_t s;
	assert_int_equal(rl_fset_init(&s, 4096, 2), 0);
	for (uint64_t i = 0; i < 8191; i++) /* both generations full */
		rl_fset_add(&s, h_of(i));
	uint64_t fp = 0, n = 4000000;
	for (uint64_t i = 0; i < n; i++)
		fp += rl_fset_has(&s, h_of((1ULL << 40) + i));
	printf("fset 4096x2: %llu false positives in %llu lookups\n", (unsigned long long)fp,
	       (unsigned long long)n);
	assert_true(fp <= 2); /* expectation ~0.005 */
	rl_fset_free(&s);
}

static void test_bloom(void **state)
{
	(void)state;
	rl_bloom_t b;
	assert_int_equal(rl_bloom_init(&b, 0, 0.01), CH_EINVAL);
	assert_int_equal(rl_bloom_init(&b, 10, 0), CH_EINVAL);
	assert_int_equal(rl_bloom_init(&b, 10000, 0.001), 0);
	for (uint64_t i = 0; i < 30000; i++) {
		rl_bloom_add(&b, h_of(i));
		if (i % 1013 == 0 && i >= 10000)
			for (uint64_t j = i + 1 - 10000; j <= i; j++)
				assert_true(rl_bloom_has(&b, h_of(j)));
	}
	uint64_t fp = 0, n = 1000000;
	for (uint64_t i = 0; i < n; i++)
		fp += rl_bloom_has(&b, h_of((1ULL << 41) + i));
	printf("bloom 10000 @ 0.001: %llu false positives in %llu (%.2e), %zu bytes\n",
	       (unsigned long long)fp, (unsigned long long)n, (double)fp / (double)n,
	       rl_bloom_bytes(&b));
	assert_true(fp < n / 500); /* the configured rate, with room */
	rl_bloom_free(&b);
}

static void test_idtab_args_full(void **state)
{
	(void)state;
	rl_idtab_t t;
	uint8_t id[32];
	bool created;
	assert_int_equal(rl_idtab_init(NULL, 4), CH_EINVAL);
	assert_int_equal(rl_idtab_init(&t, 0), CH_EINVAL);
	assert_int_equal(rl_idtab_init(&t, 4), 0);
	for (uint64_t i = 0; i < 4; i++) {
		id_of(i, id);
		assert_true(rl_idtab_add(&t, id, rl_hash_id(key, id), &created) >= 0);
		assert_true(created);
	}
	id_of(0, id);
	assert_true(rl_idtab_add(&t, id, rl_hash_id(key, id), &created) >= 0);
	assert_false(created);
	id_of(9, id);
	assert_int_equal(rl_idtab_add(&t, id, rl_hash_id(key, id), &created), -1);
	rl_idtab_clear(&t);
	assert_int_equal(t.n, 0);
	assert_true(rl_idtab_add(&t, id, rl_hash_id(key, id), &created) >= 0);
	rl_idtab_free(&t);
	rl_idtab_free(&t);
}

/* A seeded random loop against a reference bitmap: every id present in
 * the model is found, every absent one is not, through many deletions
 * (the backward shift must keep probe runs intact). */
static void test_idtab_random(void **state)
{
	(void)state;
	enum { CAP = 2000, UNIVERSE = 5000 };
	rl_idtab_t t;
	static int64_t where[UNIVERSE];
	assert_int_equal(rl_idtab_init(&t, CAP), 0);
	for (int i = 0; i < UNIVERSE; i++)
		where[i] = -1;
	uint32_t live = 0;
	for (int step = 0; step < 400000; step++) {
		uint64_t k = rnd() % UNIVERSE;
		uint8_t id[32];
		id_of(k, id);
		rl_hash_t h = rl_hash_id(key, id);
		if (rnd() % 2) {
			bool created;
			int64_t e = rl_idtab_add(&t, id, h, &created);
			if (where[k] >= 0) {
				assert_int_equal(e, where[k]);
				assert_false(created);
			} else if (live == CAP) {
				assert_int_equal(e, -1);
			} else {
				assert_true(e >= 0 && created);
				where[k] = e;
				live++;
			}
		} else if (where[k] >= 0) {
			assert_int_equal(rl_idtab_find(&t, id, h), where[k]);
			rl_idtab_del(&t, (uint32_t)where[k]);
			where[k] = -1;
			live--;
		}
		if (step % 50000 == 0)
			for (uint64_t j = 0; j < UNIVERSE; j++) {
				id_of(j, id);
				assert_int_equal(rl_idtab_find(&t, id, rl_hash_id(key, id)),
				                 where[j]);
			}
		assert_int_equal(t.n, live);
	}
	rl_idtab_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_keyed),     cmocka_unit_test(test_fset_args),
	    cmocka_unit_test(test_fset_retention), cmocka_unit_test(test_fset_fp_rate),
	    cmocka_unit_test(test_bloom),          cmocka_unit_test(test_idtab_args_full),
	    cmocka_unit_test(test_idtab_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
