/* test_dht_rtable.c: the routing table under random inserts keeps its
 * invariants (bucket ranges by shared prefix, at most K per bucket, no
 * duplicates, our id never inside, counts right); rt_closest equals a
 * brute-force sort; a full bucket caches newcomers as replacements; a
 * node failing twice is replaced by the freshest replacement; a good
 * node's address cannot be hijacked; questionable nodes are pinged;
 * stale buckets are refreshed with an id that falls in them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "services/discovery/rtable.h"

#define S (1000000000ull)

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void rand_id(uint8_t id[RT_ID_LEN])
{
	for (int i = 0; i < RT_ID_LEN; i++)
		id[i] = (uint8_t)(next() >> 32);
}

/* near_id: a random id sharing exactly p leading bits with self. */
static void near_id(const uint8_t *self, uint32_t p, uint8_t id[RT_ID_LEN])
{
	rand_id(id);
	for (uint32_t i = 0; i < p && i < 160; i++) {
		uint8_t m = (uint8_t)(0x80u >> (i % 8));

		id[i / 8] = (uint8_t)((id[i / 8] & ~m) | (self[i / 8] & m));
	}
	if (p < 160) {
		uint8_t m = (uint8_t)(0x80u >> (p % 8));

		id[p / 8] = (uint8_t)((id[p / 8] & ~m) | (~self[p / 8] & m));
	}
}

static dht_addr_t addr_of(uint32_t i)
{
	dht_addr_t a = {.ip = 0x0100007fu + (i << 8), .port = (uint16_t)(1000 + i % 60000)};

	return a;
}

/* check: every invariant of the table. */
static void check(const dht_rtable_t *rt)
{
	uint32_t total = 0;

	assert_true(rt->nb >= 1 && rt->nb <= RT_MAX_BUCKETS);
	for (uint32_t b = 0; b < rt->nb; b++) {
		const dht_rt_bucket_t *bk = &rt->b[b];

		assert_true(bk->n <= RT_K);
		assert_true(bk->nrepl <= RT_REPL);
		total += bk->n;
		for (uint32_t i = 0; i < bk->n + bk->nrepl; i++) {
			const dht_rt_node_t *x = i < bk->n ? &bk->nodes[i] : &bk->repl[i - bk->n];
			uint32_t p = dht_rt_prefix(rt->self, x->id);

			assert_true(p < 160); /* never our own id */
			if (b < rt->nb - 1)
				assert_int_equal(p, b);
			else
				assert_true(p >= b);
			assert_int_equal(dht_rt_bucket_of(rt, x->id), b);
			assert_true(x->fails < RT_MAX_FAILS);
		}
		/* no duplicates: within nodes, and between nodes and cache */
		for (uint32_t i = 0; i < bk->n; i++) {
			for (uint32_t j = i + 1; j < bk->n; j++)
				assert_memory_not_equal(bk->nodes[i].id, bk->nodes[j].id,
				                        RT_ID_LEN);
			for (uint32_t j = 0; j < bk->nrepl; j++)
				assert_memory_not_equal(bk->nodes[i].id, bk->repl[j].id, RT_ID_LEN);
		}
	}
	assert_int_equal(total, rt->count);
}

/* brute: is a nearer than b to t? (big-integer XOR compare by hand) */
static bool brute_nearer(const uint8_t *t, const uint8_t *a, const uint8_t *b)
{
	for (int i = 0; i < RT_ID_LEN; i++) {
		uint8_t x = a[i] ^ t[i], y = b[i] ^ t[i];

		if (x != y)
			return x < y;
	}
	return false;
}

static void test_invariants_random(void **state)
{
	dht_rtable_t rt;
	uint8_t self[RT_ID_LEN], id[RT_ID_LEN];
	uint64_t now = 10 * S;

	(void)state;
	rand_id(self);
	assert_int_equal(dht_rt_init(&rt, self), 0);
	check(&rt);
	for (uint32_t i = 0; i < 20000; i++) {
		dht_addr_t a = addr_of(i);
		uint32_t r = (uint32_t)(next() % 100);

		/* half uniform, half near us: deep buckets split */
		if (r < 50)
			rand_id(id);
		else
			near_id(self, (uint32_t)(next() % 40), id);
		if (i % 997 == 0)
			memcpy(id, self, RT_ID_LEN); /* our own id never enters */
		dht_rt_update(&rt, id, &a, RT_EV_REPLY, now);
		if (i % 7 == 0) {
			/* failures of some present node */
			const dht_rt_bucket_t *b = &rt.b[next() % rt.nb];

			if (b->n > 0) {
				dht_rt_node_t x = b->nodes[next() % b->n];

				dht_rt_update(&rt, x.id, &x.addr, RT_EV_TIMEOUT, now);
			}
		}
		if (i % 500 == 0)
			check(&rt);
		now += S / 10;
	}
	check(&rt);
	assert_true(rt.nb > 20);
	assert_true(rt.count > 20 * RT_K / 2);
	dht_rt_free(&rt);
	dht_rt_free(&rt); /* safe twice */
}

static void test_closest_matches_brute_force(void **state)
{
	dht_rtable_t rt;
	uint8_t self[RT_ID_LEN], id[RT_ID_LEN], t[RT_ID_LEN];
	dht_rt_node_t out[16], *all;
	uint32_t nall = 0;

	(void)state;
	rand_id(self);
	assert_int_equal(dht_rt_init(&rt, self), 0);
	for (uint32_t i = 0; i < 3000; i++) {
		dht_addr_t a = addr_of(i);

		near_id(self, (uint32_t)(next() % 30), id);
		dht_rt_update(&rt, id, &a, RT_EV_REPLY, S);
	}
	all = calloc(rt.count, sizeof(*all));
	assert_non_null(all);
	for (uint32_t b = 0; b < rt.nb; b++)
		for (uint32_t i = 0; i < rt.b[b].n; i++)
			all[nall++] = rt.b[b].nodes[i];
	for (int k = 0; k < 200; k++) {
		uint32_t n;

		if (k % 2)
			rand_id(t);
		else
			near_id(self, (uint32_t)(next() % 30), t);
		n = dht_rt_closest(&rt, t, out, 16);
		assert_int_equal(n, nall < 16 ? nall : 16);
		/* sorted, and nothing outside is nearer than the last */
		for (uint32_t i = 1; i < n; i++)
			assert_true(brute_nearer(t, out[i - 1].id, out[i].id));
		for (uint32_t j = 0; j < nall; j++) {
			bool in = false;

			for (uint32_t i = 0; i < n; i++)
				in = in || memcmp(out[i].id, all[j].id, RT_ID_LEN) == 0;
			if (!in)
				assert_false(brute_nearer(t, all[j].id, out[n - 1].id));
		}
	}
	free(all);
	dht_rt_free(&rt);
}

/* A full far bucket (cannot split) caches newcomers; two timeouts remove a
 * node and the freshest replacement takes its place. */
static void test_replacement_and_eviction(void **state)
{
	dht_rtable_t rt;
	uint8_t self[RT_ID_LEN], ids[RT_K + 3][RT_ID_LEN];
	dht_addr_t a;
	uint64_t now = 100 * S;

	(void)state;
	rand_id(self);
	assert_int_equal(dht_rt_init(&rt, self), 0);
	/* force a split first: a node near us, so bucket 0 is a far one */
	near_id(self, 50, ids[0]);
	a = addr_of(999);
	dht_rt_update(&rt, ids[0], &a, RT_EV_REPLY, now);
	for (uint32_t i = 0; i < RT_K + 3; i++) {
		near_id(self, 0, ids[i]);
		a = addr_of(i);
		dht_rt_result_t r = dht_rt_update(&rt, ids[i], &a, RT_EV_REPLY, now + i);

		if (i < RT_K)
			assert_int_equal(r, RT_ADDED);
		else
			assert_int_equal(r, RT_CACHED);
		check(&rt);
	}
	assert_true(rt.nb >= 2);
	assert_int_equal(rt.b[0].n, RT_K);
	assert_int_equal(rt.b[0].nrepl, 3);
	/* a query from a known node refreshes it; from an unknown it does
	 * nothing */
	a = addr_of(0);
	assert_int_equal(dht_rt_update(&rt, ids[0], &a, RT_EV_QUERY, now), RT_UPDATED);
	a = addr_of(77);
	assert_int_equal(dht_rt_update(&rt, ids[RT_K], &a, RT_EV_QUERY, now), RT_IGNORED);
	/* one timeout: still there; two: gone, replaced */
	a = addr_of(2);
	assert_int_equal(dht_rt_update(&rt, ids[2], &a, RT_EV_TIMEOUT, now), RT_FAILED);
	assert_non_null(dht_rt_find(&rt, ids[2]));
	assert_int_equal(dht_rt_update(&rt, ids[2], &a, RT_EV_TIMEOUT, now), RT_REMOVED);
	assert_null(dht_rt_find(&rt, ids[2]));
	assert_int_equal(rt.b[0].n, RT_K);
	assert_int_equal(rt.b[0].nrepl, 2);
	/* the freshest replacement (the last cached) moved in */
	assert_non_null(dht_rt_find(&rt, ids[RT_K + 2]));
	check(&rt);
	/* an answer resets the failure count */
	a = addr_of(3);
	dht_rt_update(&rt, ids[3], &a, RT_EV_TIMEOUT, now);
	dht_rt_update(&rt, ids[3], &a, RT_EV_REPLY, now);
	assert_int_equal(dht_rt_update(&rt, ids[3], &a, RT_EV_TIMEOUT, now), RT_FAILED);
	dht_rt_free(&rt);
}

/* A good node keeps its address against a reply from elsewhere; a
 * questionable one moves. */
static void test_address_change(void **state)
{
	dht_rtable_t rt;
	uint8_t self[RT_ID_LEN], id[RT_ID_LEN];
	dht_addr_t a1 = addr_of(1), a2 = addr_of(2);
	uint64_t now = 5 * S;

	(void)state;
	rand_id(self);
	rand_id(id);
	assert_int_equal(dht_rt_init(&rt, self), 0);
	dht_rt_update(&rt, id, &a1, RT_EV_REPLY, now);
	assert_int_equal(dht_rt_update(&rt, id, &a2, RT_EV_REPLY, now + S), RT_IGNORED);
	assert_int_equal(dht_rt_find(&rt, id)->addr.ip, a1.ip);
	now += RT_GOOD_NS + S;
	assert_int_equal(dht_rt_update(&rt, id, &a2, RT_EV_REPLY, now), RT_UPDATED);
	assert_int_equal(dht_rt_find(&rt, id)->addr.ip, a2.ip);
	/* a query from the old address does not count for the node */
	assert_int_equal(dht_rt_update(&rt, id, &a1, RT_EV_QUERY, now), RT_IGNORED);
	dht_rt_free(&rt);
}

/* Questionable nodes are pinged (failed ones first), good ones are not;
 * a stale bucket is reported once and its random id falls inside it. */
static void test_ping_and_refresh(void **state)
{
	dht_rtable_t rt;
	uint8_t self[RT_ID_LEN], id[RT_ID_LEN], rnd[RT_ID_LEN], t[RT_ID_LEN];
	dht_rt_node_t n;
	uint64_t now = 10 * S;
	uint32_t bi;

	(void)state;
	rand_id(self);
	assert_int_equal(dht_rt_init(&rt, self), 0);
	for (uint32_t i = 0; i < 40; i++) {
		dht_addr_t a = addr_of(i);

		near_id(self, i % 6, id);
		dht_rt_update(&rt, id, &a, RT_EV_REPLY, now);
	}
	assert_false(dht_rt_next_ping(&rt, now + S, &n));
	assert_false(dht_rt_stale_bucket(&rt, now + S, &bi));
	now += RT_GOOD_NS + S;
	/* every node is questionable now; each is pinged once */
	for (uint32_t i = 0; i < rt.count; i++) {
		assert_true(dht_rt_next_ping(&rt, now, &n));
		assert_false(dht_rt_is_good(&n, now));
	}
	assert_false(dht_rt_next_ping(&rt, now, &n));
	/* every bucket is stale, each reported once */
	for (uint32_t i = 0; i < rt.nb; i++) {
		assert_true(dht_rt_stale_bucket(&rt, now, &bi));
		rand_id(rnd);
		dht_rt_random_id_in(&rt, bi, rnd, t);
		assert_int_equal(dht_rt_bucket_of(&rt, t), bi);
	}
	assert_false(dht_rt_stale_bucket(&rt, now, &bi));
	/* BEP 5 good: answered long ago but queried us recently */
	n.last_reply = 1;
	n.last_query = now;
	n.fails = 0;
	assert_true(dht_rt_is_good(&n, now));
	n.last_reply = 0;
	assert_false(dht_rt_is_good(&n, now));
	dht_rt_free(&rt);
}

static void test_wants(void **state)
{
	dht_rtable_t rt;
	uint8_t self[RT_ID_LEN], id[RT_ID_LEN];

	(void)state;
	rand_id(self);
	assert_int_equal(dht_rt_init(&rt, self), 0);
	assert_false(dht_rt_wants(&rt, self, S));
	rand_id(id);
	assert_true(dht_rt_wants(&rt, id, S));
	dht_addr_t a = addr_of(1);
	dht_rt_update(&rt, id, &a, RT_EV_REPLY, S);
	assert_false(dht_rt_wants(&rt, id, S)); /* known already */
	assert_int_equal(dht_rt_prefix(self, self), 160);
	dht_rt_free(&rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_invariants_random),
	    cmocka_unit_test(test_closest_matches_brute_force),
	    cmocka_unit_test(test_replacement_and_eviction),
	    cmocka_unit_test(test_address_change),
	    cmocka_unit_test(test_ping_and_refresh),
	    cmocka_unit_test(test_wants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
