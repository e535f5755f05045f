/* test_dht_lookup.c: iterative lookups on a simulated network of DHT cores
 * (test_dht_sim.h): tables fill from one bootstrap node; find_node finds
 * the true K closest; lookups terminate with dead nodes, in a black hole
 * and at their deadline, within the query cap; put/get of immutable and
 * mutable items (seq increasing, cas, salt) and announce/get_peers work
 * end to end; a quarter of the nodes dying loses no value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "hash.h"
#include "test_dht_sim.h"

#define MS (1000000ull)
#define S  (1000000000ull)

/* A finished operation, captured by done(). */
typedef struct waiter {
	bool done;
	dht_result_t r;
} waiter_t;

static void done(void *arg, const dht_result_t *r)
{
	waiter_t *w = arg;

	w->r = *r;
	w->done = true;
}

/* run_until_done: advances the network until w is done (or limit). */
static void run_until_done(sim_t *s, waiter_t *w, uint64_t limit)
{
	sim_run(s, s->now + limit, &w->done);
}

/* brute_closest: indexes of the k alive nodes nearest target. */
static uint32_t brute_closest(sim_t *s, const uint8_t *target, uint32_t *out, uint32_t k)
{
	uint32_t got = 0;

	for (uint32_t i = 0; i < s->n; i++) {
		uint32_t pos = got;

		if (s->nodes[i].dead)
			continue;
		while (pos > 0 && dht_rt_xor_cmp(target, dht_id(s->nodes[i].d),
		                                 dht_id(s->nodes[out[pos - 1]].d)) < 0)
			pos--;
		if (pos >= k)
			continue;
		if (got < k)
			got++;
		memmove(&out[pos + 1], &out[pos], (got - 1 - pos) * sizeof(uint32_t));
		out[pos] = i;
	}
	return got;
}

static sim_t *net_new(uint32_t n, uint64_t seed)
{
	sim_t *s = malloc(sizeof(*s));

	assert_non_null(s);
	sim_init(s, 1 * MS, seed);
	for (uint32_t i = 0; i < n; i++)
		sim_add(s, NULL);
	sim_bootstrap(s, 20 * MS, 10 * S);
	return s;
}

static void net_free(sim_t *s)
{
	sim_free(s);
	free(s);
}

/* Every table fills from a single bootstrap node. */
static void test_tables_fill(void **state)
{
	sim_t *s = net_new(64, 1);

	(void)state;
	for (uint32_t i = 0; i < s->n; i++) {
		const dht_rtable_t *rt = dht_rtable(s->nodes[i].d);

		if (rt->count < RT_K)
			fail_msg("node %u has only %u nodes", i, rt->count);
	}
	net_free(s);
}

/* find_node returns the true K nearest alive nodes.  Over many seeds about
 * one lookup in 300 of this simulation ends after its first hop with none
 * of them (a node with a small table); one such miss in 30 is tolerated,
 * two are not. */
static void test_find_node_exact(void **state)
{
	sim_t *s = net_new(100, 2);
	uint32_t exact = 0, missed = 0;

	(void)state;
	for (int t = 0; t < 30; t++) {
		uint8_t target[DHT_ID_LEN];
		uint32_t want[RT_K], from = (uint32_t)(sim_next(&s->rng) % s->n), hit = 0;
		waiter_t w = {0};

		sim_rand(s, target, sizeof(target));
		assert_int_equal(dht_find_node(s->nodes[from].d, target, done, &w, s->now, NULL),
		                 0);
		sim_kick(s, from);
		run_until_done(s, &w, 30 * S);
		assert_true(w.done);
		assert_int_equal(w.r.status, 0);
		assert_true(w.r.queries <= DHT_LOOKUP_MAX_QUERIES);
		assert_true(w.r.hops >= 1);
		assert_int_equal(brute_closest(s, target, want, RT_K), RT_K);
		for (uint32_t i = 0; i < w.r.nclosest; i++)
			for (uint32_t j = 0; j < RT_K; j++)
				if (want[j] != from &&
				    memcmp(w.r.closest[i].id, dht_id(s->nodes[want[j]].d), 20) == 0)
					hit++;
		/* the asker itself is never in its own result */
		for (uint32_t j = 0; j < RT_K; j++)
			if (want[j] == from)
				hit++;
		missed += hit < RT_K - 1;
		exact += hit == RT_K;
	}
	assert_true(missed <= 1);
	assert_true(exact >= 27);
	net_free(s);
}

/* With a quarter of the nodes dead, every lookup still terminates, within
 * the query cap, and finds the nearest alive node. */
static void test_terminates_with_dead(void **state)
{
	sim_t *s = net_new(80, 3);

	(void)state;
	for (uint32_t i = 1; i < s->n; i += 4)
		sim_kill(s, i);
	for (int t = 0; t < 20; t++) {
		uint8_t target[DHT_ID_LEN];
		uint32_t want[1], from = 0;
		waiter_t w = {0};

		sim_rand(s, target, sizeof(target));
		assert_int_equal(dht_find_node(s->nodes[from].d, target, done, &w, s->now, NULL),
		                 0);
		sim_kick(s, from);
		run_until_done(s, &w, 30 * S);
		assert_true(w.done);
		assert_int_equal(w.r.status, 0);
		assert_true(w.r.queries <= DHT_LOOKUP_MAX_QUERIES);
		assert_true(w.r.elapsed_ns < 10 * S);
		brute_closest(s, target, want, 1);
		if (want[0] != from)
			assert_memory_equal(w.r.closest[0].id, dht_id(s->nodes[want[0]].d), 20);
	}
	net_free(s);
}

/* A node whose whole table went dead: the lookup ends once every request
 * timed out, with no result, and sends a bounded number of queries. */
static void test_terminates_in_black_hole(void **state)
{
	sim_t *s = net_new(30, 4);
	uint8_t target[DHT_ID_LEN];
	waiter_t w = {0};

	(void)state;
	for (uint32_t i = 1; i < s->n; i++)
		sim_kill(s, i);
	sim_rand(s, target, sizeof(target));
	assert_int_equal(dht_find_node(s->nodes[0].d, target, done, &w, s->now, NULL), 0);
	sim_kick(s, 0);
	run_until_done(s, &w, 60 * S);
	assert_true(w.done);
	assert_int_equal(w.r.status, CH_ENOENT);
	assert_int_equal(w.r.replies, 0);
	assert_true(w.r.queries > 0 && w.r.queries <= DHT_LOOKUP_CANDS);
	assert_true(w.r.timeouts == w.r.queries);
	/* every request hard-timed out: about req_timeout per alpha round */
	assert_true(w.r.elapsed_ns < 20 * S);
	net_free(s);
}

/* A lookup that cannot finish before its deadline reports CH_ETIMEDOUT. */
static void test_lookup_deadline(void **state)
{
	sim_t s;
	dht_config_t c;
	uint8_t target[DHT_ID_LEN];
	waiter_t w = {0};

	(void)state;
	sim_init(&s, 300 * MS, 5); /* a slow network */
	dht_config_default(&c);
	c.lookup_timeout_ms = 1000;
	c.soft_timeout_ms = 5000;
	c.req_timeout_ms = 5000;
	for (uint32_t i = 0; i < 20; i++)
		sim_add(&s, &c);
	sim_bootstrap(&s, 10 * MS, 60 * S);
	sim_rand(&s, target, sizeof(target));
	assert_int_equal(dht_find_node(s.nodes[0].d, target, done, &w, s.now, NULL), 0);
	sim_kick(&s, 0);
	run_until_done(&s, &w, 30 * S);
	assert_true(w.done);
	assert_int_equal(w.r.status, CH_ETIMEDOUT);
	assert_true(w.r.elapsed_ns >= 1 * S && w.r.elapsed_ns < 3 * S);
	sim_free(&s);
}

/* Immutable put on one node, get from every other; a quarter dies. */
static void test_put_get_immutable(void **state)
{
	sim_t *s = net_new(40, 6);
	const char *v = "15:hello, kademlia";
	uint8_t key[DHT_ID_LEN], want[DHT_ID_LEN];
	waiter_t w = {0};

	(void)state;
	assert_int_equal(dht_put_immutable(s->nodes[3].d, (const uint8_t *)v, strlen(v), done, &w,
	                                   s->now, key, NULL),
	                 0);
	ch_sha1(want, v, strlen(v));
	assert_memory_equal(key, want, 20);
	sim_kick(s, 3);
	run_until_done(s, &w, 30 * S);
	assert_true(w.done);
	assert_int_equal(w.r.status, 0);
	assert_int_equal(w.r.stored, RT_K);
	for (int round = 0; round < 2; round++) {
		for (uint32_t i = 0; i < s->n; i++) {
			waiter_t g = {0};

			if (s->nodes[i].dead)
				continue;
			assert_int_equal(
			    dht_get(s->nodes[i].d, key, NULL, 0, done, &g, s->now, NULL), 0);
			sim_kick(s, i);
			run_until_done(s, &g, 30 * S);
			assert_true(g.done);
			if (g.r.status != 0)
				fail_msg("round %d node %u: get status %d", round, i, g.r.status);
			assert_true(g.r.found);
			assert_int_equal(g.r.item.vlen, strlen(v));
			assert_memory_equal(g.r.item.v, v, strlen(v));
		}
		/* a quarter of the nodes die, the putter among them */
		for (uint32_t i = 3; i < s->n; i += 4)
			sim_kill(s, i);
	}
	net_free(s);
}

/* Mutable items: seq grows on each put, salt separates items, a stale
 * put is refused by the store (302) and a bad cas too (301). */
static void test_put_get_mutable(void **state)
{
	sim_t *s = net_new(40, 7);
	ch_pubkey_t pk;
	ch_seckey_t sk;
	uint8_t seed[32] = {7}, key[DHT_ID_LEN], key2[DHT_ID_LEN];
	const char *v1 = "2:v1", *v2 = "2:v2";
	waiter_t w = {0}, g = {0};

	(void)state;
	assert_int_equal(ch_ed25519_seed_keypair(&pk, &sk, seed), 0);
	assert_int_equal(dht_put_mutable(s->nodes[1].d, &sk, (const uint8_t *)"name", 4,
	                                 (const uint8_t *)v1, 4, 0, done, &w, s->now, key, NULL),
	                 0);
	sim_kick(s, 1);
	run_until_done(s, &w, 30 * S);
	assert_int_equal(w.r.status, 0);
	assert_int_equal(w.r.item.seq, 1);
	assert_true(w.r.stored >= RT_K - 1);
	/* a second put from another node with the same key continues seq */
	memset(&w, 0, sizeof(w));
	assert_int_equal(dht_put_mutable(s->nodes[2].d, &sk, (const uint8_t *)"name", 4,
	                                 (const uint8_t *)v2, 4, 0, done, &w, s->now, key2, NULL),
	                 0);
	assert_memory_equal(key, key2, 20);
	sim_kick(s, 2);
	run_until_done(s, &w, 30 * S);
	assert_int_equal(w.r.status, 0);
	assert_int_equal(w.r.item.seq, 2);
	assert_int_equal(w.r.store_errors, 0);
	/* get with the right salt: the newest value */
	assert_int_equal(
	    dht_get(s->nodes[9].d, key, (const uint8_t *)"name", 4, done, &g, s->now, NULL), 0);
	sim_kick(s, 9);
	run_until_done(s, &g, 30 * S);
	assert_int_equal(g.r.status, 0);
	assert_true(g.r.found);
	assert_true(g.r.item.mut);
	assert_int_equal(g.r.item.seq, 2);
	assert_memory_equal(g.r.item.v, v2, 4);
	assert_memory_equal(g.r.item.k, pk.b, 32);
	/* the wrong salt cannot verify: nothing found */
	memset(&g, 0, sizeof(g));
	assert_int_equal(
	    dht_get(s->nodes[9].d, key, (const uint8_t *)"other", 5, done, &g, s->now, NULL), 0);
	sim_kick(s, 9);
	run_until_done(s, &g, 30 * S);
	assert_int_equal(g.r.status, CH_ENOENT);
	assert_false(g.r.found);
	assert_true(dht_stats(s->nodes[9].d)->bad_item > 0);
	net_free(s);
}

/* announce_peer stores our port under an info-hash; get_peers finds it,
 * also through implied_port. */
static void test_announce_get_peers(void **state)
{
	sim_t *s = net_new(40, 8);
	uint8_t ih[DHT_ID_LEN];
	waiter_t w = {0}, g = {0};
	bool seen_port = false, seen_implied = false;

	(void)state;
	ch_sha1(ih, "chorus:test", 11);
	assert_int_equal(dht_announce(s->nodes[5].d, ih, 7433, done, &w, s->now, NULL), 0);
	sim_kick(s, 5);
	run_until_done(s, &w, 30 * S);
	assert_int_equal(w.r.status, 0);
	assert_int_equal(w.r.stored, RT_K);
	memset(&w, 0, sizeof(w));
	assert_int_equal(dht_announce(s->nodes[6].d, ih, 0, done, &w, s->now, NULL), 0);
	sim_kick(s, 6);
	run_until_done(s, &w, 30 * S);
	assert_int_equal(w.r.status, 0);
	assert_int_equal(dht_get_peers(s->nodes[20].d, ih, done, &g, s->now, NULL), 0);
	sim_kick(s, 20);
	run_until_done(s, &g, 30 * S);
	assert_int_equal(g.r.status, 0);
	assert_int_equal(g.r.npeers, 2);
	for (uint32_t i = 0; i < g.r.npeers; i++) {
		uint32_t ip;
		uint16_t port = (uint16_t)(g.r.peers[i][4] << 8 | g.r.peers[i][5]);

		memcpy(&ip, g.r.peers[i], 4);
		if (ip == s->nodes[5].addr.ip && port == 7433)
			seen_port = true;
		if (ip == s->nodes[6].addr.ip && port == SIM_PORT)
			seen_implied = true;
	}
	assert_true(seen_port);
	assert_true(seen_implied);
	net_free(s);
}

/* With 10% packet loss lookups still succeed (soft/hard timeouts). */
static void test_lossy_network(void **state)
{
	sim_t *s = net_new(60, 9);
	uint32_t ok = 0;

	(void)state;
	s->drop_permille = 100;
	for (int t = 0; t < 20; t++) {
		uint8_t target[DHT_ID_LEN];
		uint32_t from = (uint32_t)(sim_next(&s->rng) % s->n);
		waiter_t w = {0};

		sim_rand(s, target, sizeof(target));
		assert_int_equal(dht_find_node(s->nodes[from].d, target, done, &w, s->now, NULL),
		                 0);
		sim_kick(s, from);
		run_until_done(s, &w, 30 * S);
		assert_true(w.done);
		ok += w.r.status == 0 && w.r.nclosest == RT_K;
	}
	assert_true(ok >= 18);
	net_free(s);
}

/* Cancelled lookups never call back; the core stays consistent. */
static void test_cancel(void **state)
{
	sim_t *s = net_new(30, 10);
	uint8_t target[DHT_ID_LEN];
	waiter_t w = {0};
	uint32_t id = 0;

	(void)state;
	sim_rand(s, target, sizeof(target));
	assert_int_equal(dht_find_node(s->nodes[0].d, target, done, &w, s->now, &id), 0);
	dht_cancel(s->nodes[0].d, id);
	sim_kick(s, 0);
	sim_run(s, s->now + 10 * S, NULL);
	assert_false(w.done);
	assert_int_equal(dht_lookups_running(s->nodes[0].d), 0);
	net_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tables_fill),
	    cmocka_unit_test(test_find_node_exact),
	    cmocka_unit_test(test_terminates_with_dead),
	    cmocka_unit_test(test_terminates_in_black_hole),
	    cmocka_unit_test(test_lookup_deadline),
	    cmocka_unit_test(test_put_get_immutable),
	    cmocka_unit_test(test_put_get_mutable),
	    cmocka_unit_test(test_announce_get_peers),
	    cmocka_unit_test(test_lossy_network),
	    cmocka_unit_test(test_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
