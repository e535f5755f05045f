/* test_relay_blocks.c: block rules of the relay core (services/relay/core.h,
 * docs/relay.md "Blocks") driven record by record: a compact block whose
 * missing ids never come is asked for whole (GETDATA blk) after
 * RL_BLOCK_TIMEOUT_MS and accepted when it comes; BLOCK messages from one
 * peer are limited to RL_BLOCK_RATE a second (burst RL_BLOCK_BURST), the
 * rest dropped unprocessed and scored; a transaction in the recent rejects
 * is filtered until a block clears them, then fetched again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "hash.h"
#include "msgs.h"
#include "block.h"
#include "services/relay/core.h"
#include "inv.h"

#define MS 1000000ULL

static rl_core_t *mk(void)
{
	rl_cfg_t cfg = {.max_peers = 16, .ring_max_msg = 1u << 20};
	memset(cfg.hash_key, 3, sizeof(cfg.hash_key));
	rl_core_t *c = rl_core_new(&cfg, 0);
	assert_non_null(c);
	return c;
}

static void id_of(int n, uint8_t id[32])
{
	memset(id, 0, 32);
	id[0] = (uint8_t)n;
	id[1] = 0xee;
}

static void up(rl_core_t *c, uint64_t h, bool inbound)
{
	ch_msg_peer_up_t m = {.peer = h, .inbound = inbound};
	snprintf(m.addr, sizeof(m.addr), "127.0.0.1:%u", (unsigned)h);
	rl_core_on_transport(c, CH_TAG_PEER_UP, (const uint8_t *)&m, sizeof(m), 0);
}

static void msg(rl_core_t *c, uint64_t h, uint8_t type, const uint8_t *p, size_t len, uint64_t now)
{
	static uint8_t buf[1 << 20];
	ch_msg_peer_msg_t m = {.peer = h, .type = type};
	memcpy(buf, &m, sizeof(m));
	memcpy(buf + sizeof(m), p, len);
	rl_core_on_transport(c, CH_TAG_PEER_MSG, buf, (uint32_t)(sizeof(m) + len), now);
}

static void inv(rl_core_t *c, uint64_t h, int n, uint64_t now)
{
	uint8_t id[32], buf[256];
	id_of(n, id);
	size_t len = rl_inv_encode(buf, sizeof(buf), id, 1, NULL, 0);
	msg(c, h, WIRE_INV, buf, len, now);
}

static void accepted(rl_core_t *c, int n, uint64_t now)
{
	ch_msg_tx_accepted_t m = {.fee = 1000, .size = 100};
	id_of(n, m.id);
	rl_core_on_mempool(c, CH_TAG_TX_ACCEPTED, (const uint8_t *)&m, sizeof(m), now);
}

typedef struct rec {
	uint32_t tag, len;
	uint8_t data[1 << 16];
} rec_t;

static rec_t R;
static rl_inv_t IV;

static bool next(shm_outq_t *q, rec_t *r)
{
	const uint8_t *p;
	if (!shm_outq_next(q, &r->tag, &p, &r->len))
		return false;
	assert_true(r->len <= sizeof(r->data));
	memcpy(r->data, p, r->len);
	shm_outq_pop(q);
	return true;
}

static void drain(rl_core_t *c)
{
	while (next(rl_core_out_transport(c), &R))
		;
	while (next(rl_core_out_mempool(c), &R))
		;
}

/* next_send: the next SEND record to transport (skipping others) of
 * `type` to `peer`; decodes an INV-shaped payload into IV. */
static void expect_send(rl_core_t *c, uint64_t peer, uint8_t type)
{
	assert_true(next(rl_core_out_transport(c), &R));
	assert_int_equal(R.tag, CH_TAG_SEND);
	ch_msg_send_t s;
	memcpy(&s, R.data, sizeof(s));
	assert_int_equal(s.peer, peer);
	assert_int_equal(s.type, type);
	if (type == WIRE_GETDATA || type == WIRE_INV)
		assert_int_equal(rl_inv_decode(R.data + sizeof(s), R.len - sizeof(s), &IV), 0);
}

static void expect_no_transport(rl_core_t *c)
{
	assert_int_equal(shm_outq_bytes(rl_core_out_transport(c)), 0);
}

static void keys(ch_seckey_t *sk)
{
	uint8_t seed[32] = {4};
	ch_pubkey_t pk;
	ch_ed25519_seed_keypair(&pk, sk, seed);
}

/* The sender never answers the GETDATA blktx: after RL_BLOCK_TIMEOUT_MS
 * the receiver asks it for the whole block, and accepts that. */
static void test_compact_fallback(void **state)
{
	(void)state;
	rl_core_t *p = mk(), *q = mk();
	up(p, 200, true);
	up(q, 100, false);
	for (int i = 1; i <= 5; i++)
		accepted(p, i, 0);
	for (int i = 1; i <= 3; i++)
		accepted(q, i, 0);
	rl_core_turn_end(p, 10 * MS);
	rl_core_turn_end(q, 10 * MS);
	drain(p);
	drain(q);
	uint8_t ids[5 * 32];
	for (int i = 0; i < 5; i++)
		id_of(i + 1, ids + 32 * i);
	ch_seckey_t sk;
	keys(&sk);
	rl_block_t b;
	assert_int_equal(rl_core_block_submit(p, ids, 5, false, 0, false, NULL, &sk, 20 * MS, &b,
	                                      NULL, NULL, NULL),
	                 0);
	assert_true(next(rl_core_out_mempool(p), &R)); /* P's own CH_TAG_BLOCK */
	assert_true(next(rl_core_out_transport(p), &R));
	assert_int_equal(R.tag, CH_TAG_SEND_LIST);
	size_t off = sizeof(ch_msg_send_list_t) + 8;
	msg(q, 100, WIRE_BLOCK, R.data + off, R.len - off, 21 * MS);
	rl_core_turn_end(q, 21 * MS);
	expect_send(q, 100, WIRE_GETDATA);
	assert_true(IV.has_blktx);
	assert_int_equal(IV.nidx, 2);
	expect_no_transport(q);
	assert_false(rl_core_has_block(q, b.id));

	/* just before the deadline: still waiting */
	uint64_t due = 21 * MS + RL_BLOCK_TIMEOUT_MS * MS;
	rl_core_turn_end(q, due - MS);
	expect_no_transport(q);
	assert_int_equal(rl_core_stats(q)->cmpct_fallbacks, 0);
	/* past it: GETDATA blk for the whole block, to the sender */
	rl_core_turn_end(q, due + MS);
	expect_send(q, 100, WIRE_GETDATA);
	assert_false(IV.has_blktx);
	assert_int_equal(IV.ntx, 0);
	assert_int_equal(IV.nblk, 1);
	assert_memory_equal(IV.blk[0], b.id, 32);
	assert_int_equal(rl_core_stats(q)->cmpct_fallbacks, 1);
	assert_false(rl_core_has_block(q, b.id));

	/* P serves it whole; Q accepts it and hands every id to its mempool */
	msg(p, 200, WIRE_GETDATA, R.data + sizeof(ch_msg_send_t), R.len - sizeof(ch_msg_send_t),
	    due + 2 * MS);
	rl_core_turn_end(p, due + 2 * MS);
	expect_send(p, 200, WIRE_BLOCK);
	msg(q, 100, WIRE_BLOCK, R.data + sizeof(ch_msg_send_t), R.len - sizeof(ch_msg_send_t),
	    due + 3 * MS);
	rl_core_turn_end(q, due + 3 * MS);
	assert_true(rl_core_has_block(q, b.id));
	assert_true(next(rl_core_out_mempool(q), &R));
	assert_int_equal(R.tag, CH_TAG_BLOCK);
	assert_int_equal(R.len, sizeof(ch_msg_block_t) + 5 * 32);
	assert_memory_equal(R.data + sizeof(ch_msg_block_t), ids, 5 * 32);
	/* nothing more is asked: the pending block is done */
	rl_core_turn_end(q, due + 10 * RL_BLOCK_TIMEOUT_MS * MS);
	expect_no_transport(q);
	rl_core_free(&p);
	rl_core_free(&q);
}

/* full_block: a signed BLOCK message (full form) of one transaction id n. */
static size_t full_block(int n, uint64_t height, const ch_seckey_t *sk, uint8_t *out, size_t cap,
                         uint8_t id[32])
{
	static uint8_t txs[32];
	id_of(n, txs);
	rl_block_t b = {.v = 1, .height = height, .ntx = 1, .txs = txs};
	rl_block_sign(&b, sk);
	memcpy(id, b.id, 32);
	return rl_block_msg_full(&b, out, cap);
}

/* 30 distinct valid blocks from one peer at one instant: the burst (20) is
 * processed, the other 10 are dropped before their signature is checked
 * and scored; a second later 5 more are let through (5/s). */
static void test_block_rate(void **state)
{
	(void)state;
	rl_core_t *c = mk();
	up(c, 9, false);
	rl_core_turn_end(c, MS);
	drain(c);
	ch_seckey_t sk;
	keys(&sk);
	uint8_t buf[1024], ids[40][32];
	uint64_t t0 = 2 * MS;
	for (int i = 0; i < 30; i++) {
		size_t len = full_block(i + 1, (uint64_t)i + 1, &sk, buf, sizeof(buf), ids[i]);
		assert_true(len > 0);
		msg(c, 9, WIRE_BLOCK, buf, len, t0);
	}
	rl_core_turn_end(c, t0);
	int burst = (int)RL_BLOCK_BURST;
	assert_int_equal(rl_core_stats(c)->blocks_accepted, burst);
	/* 16 recent blocks are kept: the last of the burst are, none after it */
	for (int i = burst - 16; i < 30; i++)
		assert_int_equal(rl_core_has_block(c, ids[i]), i < burst);
	bool scored = false;
	while (next(rl_core_out_transport(c), &R)) {
		if (R.tag != CH_TAG_MISBEHAVE)
			continue;
		ch_msg_misbehave_t m;
		memcpy(&m, R.data, sizeof(m));
		assert_int_equal(m.peer, 9);
		assert_non_null(strstr(m.reason, "BLOCK flood"));
		assert_int_equal(m.points, (30 - burst) * 5 * RL_PTS_FLOOD);
		scored = true;
	}
	assert_true(scored);
	drain(c);

	/* one second later: RL_BLOCK_RATE more tokens, not more */
	uint64_t t1 = t0 + 1000 * MS;
	for (int i = 30; i < 40; i++) {
		size_t len = full_block(i + 1, (uint64_t)i + 1, &sk, buf, sizeof(buf), ids[i]);
		msg(c, 9, WIRE_BLOCK, buf, len, t1);
	}
	rl_core_turn_end(c, t1);
	assert_int_equal(rl_core_stats(c)->blocks_accepted, burst + (int)RL_BLOCK_RATE);
	rl_core_free(&c);
}

/* A transaction the mempool refused for its fee goes into the recent
 * rejects: announced again, it is not fetched; a block clears the rejects
 * (the pool changed: it may fit now) and the next announcement fetches it. */
static void test_rejects_cleared_by_block(void **state)
{
	(void)state;
	rl_core_t *c = mk();
	up(c, 7, false);
	up(c, 8, false);
	rl_core_turn_end(c, MS);
	drain(c);
	inv(c, 7, 50, 2 * MS);
	rl_core_turn_end(c, 2 * MS);
	expect_send(c, 7, WIRE_GETDATA);
	uint8_t id[32];
	id_of(50, id);
	assert_memory_equal(IV.tx[0], id, 32);
	drain(c);
	ch_msg_tx_rejected_t rj = {.peer = 7, .reason = CH_TXR_FEE_TOO_LOW};
	memcpy(rj.id, id, 32);
	rl_core_on_mempool(c, CH_TAG_TX_REJECTED, (const uint8_t *)&rj, sizeof(rj), 3 * MS);
	rl_core_turn_end(c, 3 * MS);
	drain(c);

	/* announced by the other peer: filtered as a recent reject */
	uint64_t known0 = rl_core_stats(c)->inv_known;
	inv(c, 8, 50, 4 * MS);
	rl_core_turn_end(c, 4 * MS);
	expect_no_transport(c);
	assert_int_equal(rl_core_stats(c)->inv_known, known0 + 1);
	/* and stays filtered, however long (no block) */
	inv(c, 8, 50, 60000 * MS);
	rl_core_turn_end(c, 60000 * MS);
	expect_no_transport(c);

	/* a block of other transactions */
	accepted(c, 60, 60001 * MS);
	rl_core_turn_end(c, 60001 * MS);
	drain(c);
	uint8_t bid[32];
	id_of(60, bid);
	ch_seckey_t sk;
	keys(&sk);
	rl_block_t b;
	assert_int_equal(rl_core_block_submit(c, bid, 1, false, 0, false, NULL, &sk, 60002 * MS, &b,
	                                      NULL, NULL, NULL),
	                 0);
	drain(c);
	/* now the announcement is fetched again */
	inv(c, 8, 50, 60003 * MS);
	rl_core_turn_end(c, 60003 * MS);
	expect_send(c, 8, WIRE_GETDATA);
	assert_int_equal(IV.ntx, 1);
	assert_memory_equal(IV.tx[0], id, 32);
	rl_core_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_compact_fallback),
	    cmocka_unit_test(test_block_rate),
	    cmocka_unit_test(test_rejects_cleared_by_block),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
