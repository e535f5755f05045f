/* test_dht_net.c: 20 DHT nodes and one bootstrap node on 127.0.0.1 in one
 * process (the multi-instance mode of dht_net.h, real UDP sockets): every
 * routing table fills from the single bootstrap node; an immutable and a
 * mutable item put on one node are fetched, verified, from every other;
 * a quarter of the nodes (the putters and the bootstrap node among them)
 * are killed and every value is still found; a node restarted from its
 * saved state has its table and items at once; a corrupt state file is
 * refused whole. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "err.h"
#include "hash.h"
#include "services/discovery/dht_net.h"

#define NODES 21 /* node 0 bootstraps the 20 others */

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

/* run_for: runs the host until *flag (if given) or ms pass. */
static void run_for(dht_net_t *n, const bool *flag, uint64_t ms)
{
	uint64_t end = ch_mono_ns() + ms * 1000000ull;

	while (ch_mono_ns() < end && !(flag && *flag))
		assert_true(dht_net_run(n, 5) >= 0);
}

static uint32_t min_table(dht_net_t *n)
{
	uint32_t m = UINT32_MAX;

	for (uint32_t i = 0; i < dht_net_count(n); i++)
		if (dht_net_core(n, i) != NULL && dht_rtable(dht_net_core(n, i))->count < m)
			m = dht_rtable(dht_net_core(n, i))->count;
	return m;
}

/* get_all: every live node fetches key (salt for mutable) and must find
 * want. */
static void get_all(dht_net_t *n, const uint8_t *key, const char *salt, const char *want)
{
	for (uint32_t i = 0; i < dht_net_count(n); i++) {
		dht_t *d = dht_net_core(n, i);
		waiter_t w = {0};

		if (d == NULL)
			continue;
		assert_int_equal(dht_get(d, key, (const uint8_t *)salt, salt ? strlen(salt) : 0,
		                         done, &w, ch_mono_ns(), NULL),
		                 0);
		dht_net_kick(n, i);
		run_for(n, &w.done, 5000);
		if (!w.done)
			fail_msg("node %u: get did not finish (%u lookups running)", i,
			         dht_lookups_running(d));
		if (w.r.status != 0 || !w.r.found)
			fail_msg("node %u: get status %d", i, w.r.status);
		assert_int_equal(w.r.item.vlen, strlen(want));
		assert_memory_equal(w.r.item.v, want, strlen(want));
	}
}

static void test_twenty_nodes(void **state)
{
	dht_net_t *n = dht_net_new();
	dht_config_t c;
	dht_addr_t boot;
	uint32_t ip = htonl(INADDR_LOOPBACK);
	ch_pubkey_t pk;
	ch_seckey_t sk;
	uint8_t seed[32] = {42}, k1[DHT_ID_LEN], k2[DHT_ID_LEN];
	waiter_t w1 = {0}, w2 = {0};
	const char *v1 = "25:an immutable chorus value", *v2 = "13:mutable value";

	(void)state;
	assert_non_null(n);
	for (uint32_t i = 0; i < NODES; i++) {
		dht_config_default(&c);
		ch_sha1(c.id, &i, sizeof(i));
		/* all nodes share 127.0.0.1: lift the per-source caps; on
		 * loopback an answer takes well under a millisecond */
		c.store.max_items_per_ip = 1000;
		c.soft_timeout_ms = 100;
		assert_int_equal(dht_net_add(n, &c, ip, 0, NULL, i == 0 ? &boot : NULL), 0);
	}
	for (uint32_t i = 1; i < NODES; i++) {
		dht_t *d = dht_net_core(n, i);

		assert_int_equal(dht_add_bootstrap(d, &boot, ch_mono_ns()), 0);
		assert_int_equal(dht_bootstrap(d, ch_mono_ns()), 0);
		dht_net_kick(n, i);
		run_for(n, NULL, 20);
	}
	/* tables fill: every node knows at least K others */
	for (int t = 0; t < 400 && min_table(n) < RT_K; t++)
		run_for(n, NULL, 10);
	if (min_table(n) < RT_K)
		fail_msg("smallest table has %u nodes", min_table(n));

	/* put on one node, get on all */
	assert_int_equal(dht_put_immutable(dht_net_core(n, 5), (const uint8_t *)v1, strlen(v1),
	                                   done, &w1, ch_mono_ns(), k1, NULL),
	                 0);
	assert_int_equal(ch_ed25519_seed_keypair(&pk, &sk, seed), 0);
	assert_int_equal(dht_put_mutable(dht_net_core(n, 9), &sk, (const uint8_t *)"name", 4,
	                                 (const uint8_t *)v2, strlen(v2), 0, done, &w2,
	                                 ch_mono_ns(), k2, NULL),
	                 0);
	dht_net_kick(n, 5);
	dht_net_kick(n, 9);
	run_for(n, &w1.done, 5000);
	run_for(n, &w2.done, 5000);
	assert_true(w1.done && w2.done);
	assert_int_equal(w1.r.status, 0);
	assert_int_equal(w2.r.status, 0);
	assert_int_equal(w1.r.stored, RT_K);
	assert_int_equal(w2.r.stored, RT_K);
	get_all(n, k1, NULL, v1);
	get_all(n, k2, "name", v2);

	/* a quarter dies: the bootstrap node, both putters, three more */
	dht_net_remove(n, 0);
	dht_net_remove(n, 5);
	dht_net_remove(n, 9);
	dht_net_remove(n, 12);
	dht_net_remove(n, 15);
	dht_net_remove(n, 18);
	get_all(n, k1, NULL, v1);
	get_all(n, k2, "name", v2);
	dht_net_destroy(&n);
	dht_net_destroy(&n);
}

/* A node restarted from its state file rejoins at once: its table and
 * its own items are back before it has received a single datagram. */
static void test_restart_from_state(void **state)
{
	dht_net_t *n = dht_net_new();
	dht_config_t c;
	dht_addr_t boot;
	uint32_t ip = htonl(INADDR_LOOPBACK), idx = 0;
	char path[] = "/tmp/chorus-dht-state-XXXXXX";
	int fd = mkstemp(path);
	waiter_t w = {0};
	uint8_t key[DHT_ID_LEN], id3[DHT_ID_LEN];
	const char *v = "9:persisted";
	uint32_t nodes_before;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	for (uint32_t i = 0; i < 10; i++) {
		dht_config_default(&c);
		ch_sha1(c.id, &i, sizeof(i));
		c.store.max_items_per_ip = 1000;
		assert_int_equal(dht_net_add(n, &c, ip, 0, NULL, i == 0 ? &boot : NULL), 0);
		if (i > 0) {
			dht_add_bootstrap(dht_net_core(n, i), &boot, ch_mono_ns());
			dht_bootstrap(dht_net_core(n, i), ch_mono_ns());
			dht_net_kick(n, i);
		}
	}
	run_for(n, NULL, 500);
	assert_int_equal(dht_put_immutable(dht_net_core(n, 3), (const uint8_t *)v, strlen(v), done,
	                                   &w, ch_mono_ns(), key, NULL),
	                 0);
	run_for(n, &w.done, 5000);
	assert_true(w.done);
	nodes_before = dht_rtable(dht_net_core(n, 3))->count;
	assert_true(nodes_before >= 5);
	memcpy(id3, dht_id(dht_net_core(n, 3)), DHT_ID_LEN);
	assert_int_equal(dht_save(dht_net_core(n, 3), path, ch_mono_ns(), ch_wall_ms()), 0);
	assert_false(dht_dirty(dht_net_core(n, 3)));
	dht_net_remove(n, 3);

	/* a new instance with the same id loads the file */
	dht_config_default(&c);
	memcpy(c.id, id3, DHT_ID_LEN);
	assert_int_equal(dht_net_add(n, &c, ip, 0, &idx, NULL), 0);
	assert_int_equal(dht_load(dht_net_core(n, idx), path, ch_mono_ns(), ch_wall_ms()), 0);
	assert_int_equal(dht_rtable(dht_net_core(n, idx))->count, nodes_before);
	assert_int_equal(dht_own_count(dht_net_core(n, idx)), 1);
	assert_non_null(dht_st_item_get(dht_store(dht_net_core(n, idx)), key, ch_mono_ns()));
	/* and finds the value through the reloaded table */
	memset(&w, 0, sizeof(w));
	assert_int_equal(dht_get(dht_net_core(n, idx), key, NULL, 0, done, &w, ch_mono_ns(), NULL),
	                 0);
	dht_net_kick(n, idx);
	run_for(n, &w.done, 5000);
	assert_true(w.done && w.r.found);
	assert_true(w.r.replies > 0);

	/* a corrupt file is refused whole */
	f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, 0, SEEK_SET);
	fputc('!', f);
	fclose(f);
	dht_config_default(&c);
	c.id[0] = 0x77;
	assert_int_equal(dht_net_add(n, &c, ip, 0, &idx, NULL), 0);
	assert_int_equal(dht_load(dht_net_core(n, idx), path, ch_mono_ns(), ch_wall_ms()),
	                 CH_EPROTO);
	assert_int_equal(dht_rtable(dht_net_core(n, idx))->count, 0);
	unlink(path);
	assert_int_equal(dht_load(dht_net_core(n, idx), path, ch_mono_ns(), ch_wall_ms()),
	                 CH_ENOENT);
	dht_net_destroy(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_twenty_nodes),
	    cmocka_unit_test(test_restart_from_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
