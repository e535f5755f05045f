/* test_dht_store.c: storage limits (items by count, bytes and source IP;
 * info-hashes, peers per info-hash, peers per source IP), eviction of the
 * item farthest from our id, expiry (items 2 h, peers 30 min) and BEP
 * 44's mutable rules (seq only grows, cas must match, equal seq and value
 * refreshes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "services/discovery/rtable.h"
#include "services/discovery/store.h"

#define S (1000000000ull)

static void target_n(uint32_t n, uint8_t t[20])
{
	memset(t, 0, 20);
	t[0] = (uint8_t)(n >> 24);
	t[1] = (uint8_t)(n >> 16);
	t[2] = (uint8_t)(n >> 8);
	t[3] = (uint8_t)n;
	t[19] = 0x5a;
}

static int put_imm(dht_store_t *st, const uint8_t *t, uint32_t ip, size_t vlen, uint64_t now)
{
	static uint8_t v[1000];
	dht_st_put_t p = {.target = t, .v = v, .vlen = vlen, .src_ip = ip};

	memset(v, 'x', sizeof(v));
	return dht_st_item_put(st, &p, now);
}

static void test_item_count_and_eviction(void **state)
{
	dht_st_limits_t lim;
	dht_store_t st;
	uint8_t self[20] = {0}, t[20];

	(void)state;
	dht_st_limits_default(&lim);
	lim.max_items = 10;
	lim.max_items_per_ip = 100;
	dht_st_init(&st, self, &lim);
	/* targets 1..10 fill the store; our id is 0, so small is near */
	for (uint32_t i = 1; i <= 10; i++) {
		target_n(i << 20, t);
		assert_int_equal(put_imm(&st, t, 1, 10, S), 0);
	}
	assert_int_equal(st.nitems, 10);
	/* a farther target is refused */
	target_n(100 << 20, t);
	assert_int_equal(put_imm(&st, t, 1, 10, S), ST_E_FULL);
	assert_int_equal(st.stats.items_rejected_full, 1);
	/* a nearer one evicts the farthest (10 << 20) */
	target_n(1, t);
	assert_int_equal(put_imm(&st, t, 1, 10, S), 0);
	assert_int_equal(st.nitems, 10);
	assert_int_equal(st.stats.items_evicted, 1);
	target_n(10 << 20, t);
	assert_null(dht_st_item_get(&st, t, S));
	target_n(1, t);
	assert_non_null(dht_st_item_get(&st, t, S));
	/* sorted order is kept */
	for (uint32_t i = 1; i < st.nitems; i++)
		assert_true(memcmp(st.items[i - 1]->target, st.items[i]->target, 20) < 0);
	dht_st_free(&st);
	dht_st_free(&st);
}

static void test_item_bytes_and_per_ip(void **state)
{
	dht_st_limits_t lim;
	dht_store_t st;
	uint8_t self[20] = {0}, t[20];

	(void)state;
	dht_st_limits_default(&lim);
	lim.max_item_bytes = 2500;
	lim.max_items_per_ip = 3;
	dht_st_init(&st, self, &lim);
	/* per source IP: the 4th item from one address is refused */
	for (uint32_t i = 1; i <= 3; i++) {
		target_n(i, t);
		assert_int_equal(put_imm(&st, t, 0x01020304, 100, S), 0);
	}
	target_n(4, t);
	assert_int_equal(put_imm(&st, t, 0x01020304, 100, S), ST_E_FULL);
	assert_int_equal(st.stats.items_rejected_ip, 1);
	assert_int_equal(put_imm(&st, t, 0x05060708, 100, S), 0); /* another source */
	/* our own items (ip 0) have no per-source cap */
	for (uint32_t i = 10; i < 15; i++) {
		target_n(i, t);
		assert_int_equal(put_imm(&st, t, 0, 10, S), 0);
	}
	/* bytes: 4 x 100 + 5 x 10 = 450; two items of 1000 fit, a third evicts */
	target_n(1u << 30, t);
	assert_int_equal(put_imm(&st, t, 9, 1000, S), 0);
	target_n(1u << 29, t);
	assert_int_equal(put_imm(&st, t, 9, 1000, S), 0);
	assert_true(st.item_bytes <= lim.max_item_bytes);
	target_n(2u << 30, t);
	assert_int_equal(put_imm(&st, t, 9, 1000, S), ST_E_FULL); /* farthest: refused */
	assert_true(st.item_bytes <= lim.max_item_bytes);
	/* oversized values never enter */
	target_n(77, t);
	assert_int_equal(put_imm(&st, t, 9, 1000, S), 0);
	assert_true(st.item_bytes <= lim.max_item_bytes);
	dht_st_free(&st);
}

static void test_expiry(void **state)
{
	dht_store_t st;
	uint8_t self[20] = {0}, t[20], peers[6 * 4];
	uint64_t now = S;

	(void)state;
	dht_st_init(&st, self, NULL);
	target_n(5, t);
	assert_int_equal(put_imm(&st, t, 1, 10, now), 0);
	assert_int_equal(dht_st_announce(&st, t, 0x0100007f, 6881, now), 0);
	assert_int_equal(dht_st_peers(&st, t, peers, 4, now), 1);
	assert_memory_equal(peers + 4, "\x1a\xe1", 2);
	/* peers live 30 minutes, items 2 hours */
	now += ST_PEER_TTL_NS + S;
	assert_int_equal(dht_st_peers(&st, t, peers, 4, now), 0);
	assert_non_null(dht_st_item_get(&st, t, now));
	/* a put of the same immutable item refreshes it */
	assert_int_equal(put_imm(&st, t, 1, 10, now), 0);
	assert_int_equal(st.stats.items_refreshed, 1);
	now += ST_ITEM_TTL_NS - S;
	assert_non_null(dht_st_item_get(&st, t, now));
	now += 2 * S;
	assert_null(dht_st_item_get(&st, t, now));
	assert_int_equal(dht_st_expire(&st, now), 2);
	assert_int_equal(st.nitems, 0);
	assert_int_equal(st.nswarms, 0);
	assert_int_equal(st.npeers, 0);
	dht_st_free(&st);
}

static void test_peer_limits(void **state)
{
	dht_st_limits_t lim;
	dht_store_t st;
	uint8_t self[20] = {0}, t[20], out[6 * 64];

	(void)state;
	dht_st_limits_default(&lim);
	lim.max_swarms = 3;
	lim.max_peers_per_swarm = 5;
	lim.max_peers_per_ip = 8;
	lim.max_peers = 100;
	dht_st_init(&st, self, &lim);
	target_n(1, t);
	for (uint16_t p = 1; p <= 5; p++)
		assert_int_equal(dht_st_announce(&st, t, 0x01000001u + p, p, S), 0);
	assert_int_equal(dht_st_announce(&st, t, 0x09000001u, 9, S), ST_E_FULL);
	/* re-announcing a known peer is not a new one */
	assert_int_equal(dht_st_announce(&st, t, 0x01000002u, 1, S), 0);
	for (uint32_t i = 2; i <= 3; i++) {
		target_n(i, t);
		assert_int_equal(dht_st_announce(&st, t, 0x07000001u, 1, S), 0);
	}
	target_n(4, t);
	assert_int_equal(dht_st_announce(&st, t, 0x07000001u, 1, S), ST_E_FULL);
	/* per source IP across swarms */
	target_n(2, t);
	for (uint16_t p = 2; p <= 5; p++)
		dht_st_announce(&st, t, 0x08000001u, p, S);
	target_n(3, t);
	for (uint16_t p = 2; p <= 5; p++)
		dht_st_announce(&st, t, 0x08000001u, p, S);
	uint32_t from8 = 0;
	for (uint32_t s = 0; s < st.nswarms; s++)
		for (uint32_t i = 0; i < st.swarms[s]->n; i++)
			from8 += st.swarms[s]->peers[i].ip == 0x08000001u;
	assert_true(from8 <= lim.max_peers_per_ip);
	target_n(1, t);
	assert_int_equal(dht_st_peers(&st, t, out, 64, S), 5);
	assert_int_equal(dht_st_peers(&st, t, out, 2, S), 2);
	assert_true(st.stats.peers_rejected >= 2);
	dht_st_free(&st);
}

static void test_mutable_rules(void **state)
{
	dht_store_t st;
	uint8_t self[20] = {0}, t[20], k[32] = {1}, sig[64] = {2};
	dht_st_put_t p = {.target = t, .mut = true, .k = k, .sig = sig, .src_ip = 1};
	const dht_st_item_t *it;

	(void)state;
	target_n(9, t);
	dht_st_init(&st, self, NULL);
	p.seq = 5;
	p.v = (const uint8_t *)"1:a";
	p.vlen = 3;
	assert_int_equal(dht_st_item_put(&st, &p, S), 0);
	/* a lower seq: 302 */
	p.seq = 4;
	p.v = (const uint8_t *)"1:b";
	assert_int_equal(dht_st_item_put(&st, &p, S), ST_E_SEQ);
	/* the same seq with another value: 302; with the same value: refresh */
	p.seq = 5;
	assert_int_equal(dht_st_item_put(&st, &p, S), ST_E_SEQ);
	p.v = (const uint8_t *)"1:a";
	assert_int_equal(dht_st_item_put(&st, &p, S), 0);
	assert_int_equal(st.stats.items_refreshed, 1);
	/* cas must equal the stored seq: 301 otherwise */
	p.seq = 6;
	p.v = (const uint8_t *)"3:new";
	p.vlen = 5;
	p.has_cas = true;
	p.cas = 4;
	assert_int_equal(dht_st_item_put(&st, &p, S), ST_E_CAS);
	p.cas = 5;
	assert_int_equal(dht_st_item_put(&st, &p, S), 0);
	it = dht_st_item_get(&st, t, S);
	assert_non_null(it);
	assert_int_equal(it->seq, 6);
	assert_int_equal(it->vlen, 5);
	assert_memory_equal(it->v, "3:new", 5);
	assert_int_equal(st.item_bytes, 5);
	assert_int_equal(st.stats.cas_mismatch, 1);
	assert_int_equal(st.stats.seq_outdated, 2);
	/* cas is ignored when nothing is stored */
	target_n(10, t);
	p.cas = 99;
	assert_int_equal(dht_st_item_put(&st, &p, S), 0);
	dht_st_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_item_count_and_eviction),
	    cmocka_unit_test(test_item_bytes_and_per_ip),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_peer_limits),
	    cmocka_unit_test(test_mutable_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
