/* test_relay_core.c: the relay core (services/relay/core.h) driven record
 * by record, as the rings would: announce-then-fetch end to end (INV,
 * GETDATA to the outbound announcer, TX to the mempool, ACCEPTED batched
 * into one INV per peer after the delay, in fee-rate order, never to the
 * origin or a peer known to have it), serving GETDATA (TX, NOTFOUND), a
 * timeout moving a request to the other announcer, misbehaviour reports,
 * peers coming and going, the flood baseline, and a compact block between
 * two cores: the receiver lacks two transactions, asks for exactly those
 * positions, gets their ids and hands the whole block to its mempool. */
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

static int nblock_events;
static rl_ev_block_t last_block;

static void on_event(void *user, rl_ev_kind_t kind, const void *ev)
{
	(void)user;
	if (kind == RL_EV_BLOCK) {
		nblock_events++;
		last_block = *(const rl_ev_block_t *)ev;
	}
}

static rl_core_t *mk(void)
{
	rl_cfg_t cfg = {.max_peers = 16, .ring_max_msg = 1u << 20, .on_event = on_event};
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

/* inv: a peer sends an INV-shaped message (INV 5, GETDATA 6, NOTFOUND 7)
 * of the ids numbered in ns[]. */
static void inv(rl_core_t *c, uint64_t h, uint8_t type, const int *ns, int n, uint64_t now)
{
	uint8_t ids[64 * 32], buf[4096];
	for (int i = 0; i < n; i++)
		id_of(ns[i], ids + 32 * i);
	size_t len = rl_inv_encode(buf, sizeof(buf), ids, (uint32_t)n, NULL, 0);
	msg(c, h, type, buf, len, now);
}

static void accepted(rl_core_t *c, int n, uint64_t fee, uint32_t size, uint64_t peer, uint64_t now)
{
	ch_msg_tx_accepted_t m = {.fee = fee, .size = size, .peer = peer};
	id_of(n, m.id);
	rl_core_on_mempool(c, CH_TAG_TX_ACCEPTED, (const uint8_t *)&m, sizeof(m), now);
}

/* A record taken out of an output queue. */
typedef struct rec {
	uint32_t tag, len;
	uint8_t data[1 << 16];
} rec_t;

/* next: pops the oldest record of q into r; false when empty. */
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

/* expect_send: the next transport record is a SEND of `type` to `peer`;
 * decodes its INV-shaped payload into iv (if given). */
static void expect_send(rl_core_t *c, uint64_t peer, uint8_t type, rl_inv_t *iv, rec_t *r)
{
	assert_true(next(rl_core_out_transport(c), r));
	assert_int_equal(r->tag, CH_TAG_SEND);
	ch_msg_send_t s;
	memcpy(&s, r->data, sizeof(s));
	assert_int_equal(s.mode, CH_SEND_ONE);
	assert_int_equal(s.peer, peer);
	assert_int_equal(s.type, type);
	if (iv)
		assert_int_equal(rl_inv_decode(r->data + sizeof(s), r->len - sizeof(s), iv), 0);
}

static void expect_empty(rl_core_t *c)
{
	assert_int_equal(shm_outq_bytes(rl_core_out_transport(c)), 0);
	assert_int_equal(shm_outq_bytes(rl_core_out_mempool(c)), 0);
}

static rec_t R;
static rl_inv_t IV;

static void test_announce_fetch(void **state)
{
	(void)state;
	rl_core_t *c = mk();
	uint8_t id[32];
	up(c, 1, false); /* outbound */
	up(c, 2, true);
	up(c, 3, true);
	int x = 7;
	inv(c, 2, WIRE_INV, &x, 1, 0); /* the inbound one first, same turn */
	inv(c, 1, WIRE_INV, &x, 1, 0);
	rl_core_turn_end(c, 0);
	expect_send(c, 1, WIRE_GETDATA, &IV, &R); /* GETDATA to the outbound announcer */
	id_of(7, id);
	assert_int_equal(IV.ntx, 1);
	assert_memory_equal(IV.tx[0], id, 32);
	expect_empty(c);

	uint8_t enc[200], pl[300];
	memset(enc, 0x33, sizeof(enc));
	size_t n = rl_tx_encode(pl, sizeof(pl), enc, sizeof(enc));
	msg(c, 1, WIRE_TX, pl, n, 1 * MS);
	assert_true(next(rl_core_out_mempool(c), &R));
	assert_int_equal(R.tag, CH_TAG_TX_SUBMIT);
	ch_msg_tx_submit_t ts;
	memcpy(&ts, R.data, sizeof(ts));
	assert_int_equal(ts.peer, 1);
	assert_int_equal(ts.len, sizeof(enc));
	assert_memory_equal(R.data + sizeof(ts), enc, sizeof(enc));
	assert_int_equal(rl_core_stats(c)->tx_unrequested, 0);

	accepted(c, 7, 1000, 200, 1, 2 * MS);
	assert_false(rl_core_batch_empty(c));
	assert_int_equal(rl_core_deadline(c), 2 * MS); /* quiet until now: at once */
	rl_core_turn_end(c, 4 * MS);
	/* peer 1 sent it, peer 2 announced it: only peer 3 hears of it */
	expect_send(c, 3, WIRE_INV, &IV, &R);
	assert_memory_equal(IV.tx[0], id, 32);
	expect_empty(c);
	assert_true(rl_core_batch_empty(c));
	assert_true(rl_core_in_pool(c, id));

	/* peer 3 asks; the mempool serves */
	inv(c, 3, WIRE_GETDATA, &x, 1, 5 * MS);
	assert_true(next(rl_core_out_mempool(c), &R));
	assert_int_equal(R.tag, CH_TAG_TX_REQUEST);
	uint8_t d[sizeof(ch_msg_tx_data_t) + sizeof(enc)];
	ch_msg_tx_data_t td = {.peer = 3, .len = sizeof(enc)};
	memcpy(td.id, id, 32);
	memcpy(d, &td, sizeof(td));
	memcpy(d + sizeof(td), enc, sizeof(enc));
	rl_core_on_mempool(c, CH_TAG_TX_DATA, d, sizeof(d), 6 * MS);
	expect_send(c, 3, WIRE_TX, NULL, &R);
	const uint8_t *p;
	uint32_t pl_len;
	assert_int_equal(rl_tx_decode(R.data + sizeof(ch_msg_send_t), R.len - sizeof(ch_msg_send_t),
	                              &p, &pl_len),
	                 0);
	assert_int_equal(pl_len, sizeof(enc));

	/* an id the mempool no longer has: NOTFOUND, batched at turn end */
	inv(c, 3, WIRE_GETDATA, &x, 1, 7 * MS);
	assert_true(next(rl_core_out_mempool(c), &R));
	ch_msg_tx_request_t rq = {.peer = 3};
	id_of(7, rq.id);
	rl_core_on_mempool(c, CH_TAG_TX_NOTFOUND, (const uint8_t *)&rq, sizeof(rq), 8 * MS);
	expect_empty(c);
	rl_core_turn_end(c, 8 * MS);
	expect_send(c, 3, WIRE_NOTFOUND, &IV, &R);
	assert_memory_equal(IV.tx[0], rq.id, 32);

	/* known: an INV of x now is filtered, no request */
	inv(c, 2, WIRE_INV, &x, 1, 9 * MS);
	rl_core_turn_end(c, 9 * MS);
	expect_empty(c);
	assert_true(rl_core_stats(c)->inv_known >= 1);
	rl_core_free(&c);
	rl_core_free(&c);
}

static void test_fee_order_and_timeout(void **state)
{
	(void)state;
	rl_core_t *c = mk();
	up(c, 1, true);
	up(c, 2, true);
	accepted(c, 1, 100, 100, 0, 0);    /* 1 per byte */
	accepted(c, 2, 5000, 100, 0, 0);   /* 50 */
	accepted(c, 3, 1000, 100, 0, 0);   /* 10 */
	accepted(c, 4, 10000, 1000, 0, 0); /* 10, same rate */
	rl_core_turn_end(c, 10 * MS);
	for (uint64_t p = 1; p <= 2; p++) {
		uint8_t id[32];
		expect_send(c, p, WIRE_INV, &IV, &R);
		assert_int_equal(IV.ntx, 4);
		id_of(2, id);
		assert_memory_equal(IV.tx[0], id, 32);
		id_of(1, id);
		assert_memory_equal(IV.tx[3], id, 32);
	}
	/* right after a flush the next waits out the delay */
	accepted(c, 6, 100, 100, 0, 10 * MS + MS / 2);
	assert_int_equal(rl_core_deadline(c), 10 * MS + RL_ANNOUNCE_MS * MS);
	rl_core_turn_end(c, 11 * MS);
	expect_empty(c);
	rl_core_turn_end(c, 10 * MS + RL_ANNOUNCE_MS * MS);
	expect_send(c, 1, WIRE_INV, &IV, &R);
	expect_send(c, 2, WIRE_INV, &IV, &R);
	assert_int_equal(IV.ntx, 1);
	/* both announce 5; nobody answers: after the timeout the other */
	int x = 5;
	inv(c, 1, WIRE_INV, &x, 1, 20 * MS);
	inv(c, 2, WIRE_INV, &x, 1, 20 * MS);
	rl_core_turn_end(c, 20 * MS);
	expect_send(c, 1, WIRE_GETDATA, &IV, &R);
	rl_core_turn_end(c, 1019 * MS);
	expect_empty(c);
	rl_core_turn_end(c, 1021 * MS);
	expect_send(c, 2, WIRE_GETDATA, &IV, &R);
	assert_int_equal(IV.ntx, 1);
	rl_core_free(&c);
}

/* expect_misbehave: the next transport record scores peer with points. */
static void expect_misbehave(rl_core_t *c, uint64_t peer, int points, const char *reason)
{
	rec_t *r = &R;
	assert_true(next(rl_core_out_transport(c), r));
	assert_int_equal(r->tag, CH_TAG_MISBEHAVE);
	ch_msg_misbehave_t m;
	memcpy(&m, r->data, sizeof(m));
	assert_int_equal(m.peer, peer);
	assert_int_equal(m.points, points);
	assert_non_null(strstr(m.reason, reason));
}

static void test_misbehaviour(void **state)
{
	(void)state;
	rl_core_t *c = mk();
	up(c, 1, true);
	static uint8_t ids[1001 * 32], buf[40016];
	size_t n = rl_inv_encode(buf, sizeof(buf), ids, 1001, NULL, 0);
	msg(c, 1, WIRE_INV, buf, n, 0);
	msg(c, 1, WIRE_NOTFOUND, (const uint8_t *)"\x81\xa2tx\xc0", 5, 0); /* nil for a list */
	rl_core_turn_end(c, 0);
	expect_misbehave(c, 1, 30, "oversized INV"); /* both, summed, first reason */
	expect_empty(c);

	/* unrequested TX: the first RL_UNREQ_BURST go to the pool, then dropped */
	uint8_t pl[64];
	size_t pn = rl_tx_encode(pl, sizeof(pl), (const uint8_t *)"abc", 3);
	for (int i = 0; i < (int)RL_UNREQ_BURST + 5; i++)
		msg(c, 1, WIRE_TX, pl, pn, 1 * MS);
	rl_core_turn_end(c, 1 * MS);
	int submits = 0;
	while (next(rl_core_out_mempool(c), &R))
		submits += R.tag == CH_TAG_TX_SUBMIT;
	assert_int_equal(submits, (int)RL_UNREQ_BURST);
	expect_misbehave(c, 1, 5, "unrequested TX");
	assert_int_equal(rl_core_stats(c)->tx_unreq_dropped, 5);

	/* a block with a bad signature */
	uint8_t seed[32] = {9}, txs[32] = {1}, bb[1024];
	ch_pubkey_t pk;
	ch_seckey_t sk;
	ch_ed25519_seed_keypair(&pk, &sk, seed);
	rl_block_t b = {.v = 1, .height = 3, .ntx = 1, .txs = txs};
	rl_block_sign(&b, &sk);
	b.sig[1] ^= 1;
	size_t bl = rl_block_msg_full(&b, bb, sizeof(bb));
	msg(c, 1, WIRE_BLOCK, bb, bl, 2 * MS);
	rl_core_turn_end(c, 2 * MS);
	expect_misbehave(c, 1, RL_PTS_BAD_BLOCK, "bad signature");
	assert_false(rl_core_has_block(c, b.id));
	rl_core_free(&c);
}

/* GETDATA abuse: 1,000 copies of one announced id are served once (and
 * scored); an id never announced to the peer is answered NOTFOUND without
 * asking the mempool. */
static void test_getdata_abuse(void **state)
{
	(void)state;
	rl_core_t *c = mk();
	up(c, 1, false);
	up(c, 3, true);
	accepted(c, 7, 1000, 200, 1, 2 * MS);
	rl_core_turn_end(c, 4 * MS);
	expect_send(c, 3, WIRE_INV, &IV, &R); /* announced to 3 */
	expect_empty(c);

	static uint8_t ids[WIRE_INV_IDS_MAX * 32], buf[40016];
	for (int i = 0; i < WIRE_INV_IDS_MAX; i++)
		id_of(7, ids + 32 * i);
	size_t n = rl_inv_encode(buf, sizeof(buf), ids, WIRE_INV_IDS_MAX, NULL, 0);
	msg(c, 3, WIRE_GETDATA, buf, n, 5 * MS);
	int requests = 0;
	while (next(rl_core_out_mempool(c), &R))
		requests += R.tag == CH_TAG_TX_REQUEST;
	assert_int_equal(requests, 1);
	assert_int_equal(rl_core_stats(c)->getdata_dups, WIRE_INV_IDS_MAX - 1);
	rl_core_turn_end(c, 5 * MS);
	expect_misbehave(c, 3, RL_PTS_MALFORMED, "GETDATA repeating 999 ids");
	expect_empty(c);

	/* never announced to 3 (not even in the pool): NOTFOUND, no request */
	int y = 9;
	inv(c, 3, WIRE_GETDATA, &y, 1, 6 * MS);
	assert_false(next(rl_core_out_mempool(c), &R));
	rl_core_turn_end(c, 6 * MS);
	expect_send(c, 3, WIRE_NOTFOUND, &IV, &R);
	uint8_t id[32];
	id_of(9, id);
	assert_memory_equal(IV.tx[0], id, 32);
	assert_int_equal(rl_core_stats(c)->getdata_unannounced, 1);
	rl_core_free(&c);
}

static void test_peers(void **state)
{
	(void)state;
	rl_core_t *c = mk();
	rl_peer_info_t pi[4];
	up(c, 1, true);
	up(c, 1, true); /* redelivered after a crash: idempotent */
	assert_int_equal(rl_core_peers(c, pi, 4), 1);
	/* a message from a peer never announced: adopted (relay restart) */
	int x = 1;
	inv(c, 5, WIRE_INV, &x, 1, 0);
	assert_int_equal(rl_core_peers(c, pi, 4), 2);
	ch_msg_peer_down_t d = {.peer = 5};
	rl_core_on_transport(c, CH_TAG_PEER_DOWN, (const uint8_t *)&d, sizeof(d), 0);
	assert_int_equal(rl_core_peers(c, pi, 4), 1);
	inv(c, 5, WIRE_INV, &x, 1, 0); /* known to be gone: not adopted again */
	assert_int_equal(rl_core_peers(c, pi, 4), 1);
	rl_core_peer_restore(c, 9, false, false, "10.0.0.1:7433", NULL, 0);
	assert_int_equal(rl_core_peers(c, pi, 4), 2);
	rl_core_on_transport(c, CH_TAG_TRANSPORT_RESET, (const uint8_t *)"", 0, 0);
	assert_int_equal(rl_core_peers(c, pi, 4), 0);
	rl_core_on_transport(c, 99, (const uint8_t *)"x", 1, 0);
	assert_int_equal(rl_core_stats(c)->bad_records, 1);
	rl_core_turn_end(c, 0);
	rl_core_free(&c);
}

/* A block-relay-only connection: no transaction announced to it, its
 * transaction INVs ignored, blocks still pushed. */
static void test_block_relay_only(void **state)
{
	(void)state;
	rl_core_t *c = mk();
	ch_msg_peer_up_t m = {.peer = 4, .flags = CH_PEER_BLOCK_RELAY};
	rl_core_on_transport(c, CH_TAG_PEER_UP, (const uint8_t *)&m, sizeof(m), 0);
	/* a peer whose hello says it does not relay: no INVs either */
	ch_msg_peer_up_t nr = {.peer = 6, .inbound = 1, .flags = CH_PEER_NO_RELAY};
	rl_core_on_transport(c, CH_TAG_PEER_UP, (const uint8_t *)&nr, sizeof(nr), 0);
	up(c, 5, true);
	accepted(c, 1, 100, 100, 0, 0);
	rl_core_turn_end(c, 10 * MS);
	expect_send(c, 5, WIRE_INV, &IV, &R); /* only the full-relay peer */
	expect_empty(c);
	int x = 2;
	inv(c, 4, WIRE_INV, &x, 1, 11 * MS);
	rl_core_turn_end(c, 11 * MS);
	expect_empty(c);
	uint8_t ids[32], seed[32] = {1};
	ch_pubkey_t pk;
	ch_seckey_t sk;
	ch_ed25519_seed_keypair(&pk, &sk, seed);
	id_of(1, ids);
	uint32_t relayed;
	assert_int_equal(rl_core_block_submit(c, ids, 1, true, 9, false, NULL, &sk, 12 * MS, NULL,
	                                      NULL, NULL, &relayed),
	                 0);
	assert_int_equal(relayed, 3); /* blocks go to all three */
	rl_peer_info_t pi[3];
	assert_int_equal(rl_core_peers(c, pi, 3), 3);
	assert_int_equal(pi[0].block_only + pi[1].block_only + pi[2].block_only, 2);
	rl_core_free(&c);
}

static void test_flood_mode(void **state)
{
	(void)state;
	rl_core_t *c = mk();
	up(c, 1, true);
	up(c, 2, true);
	rl_core_set_flood(c, true);
	accepted(c, 4, 100, 100, 2, 0);
	assert_true(rl_core_batch_empty(c));
	assert_true(next(rl_core_out_mempool(c), &R));
	assert_int_equal(R.tag, CH_TAG_TX_REQUEST);
	ch_msg_tx_request_t rq;
	memcpy(&rq, R.data, sizeof(rq));
	assert_int_equal(rq.peer, RL_FLOOD_BIT | 2);
	uint8_t d[sizeof(ch_msg_tx_data_t) + 10];
	ch_msg_tx_data_t td = {.peer = rq.peer, .len = 10};
	memcpy(d, &td, sizeof(td));
	memset(d + sizeof(td), 1, 10);
	rl_core_on_mempool(c, CH_TAG_TX_DATA, d, sizeof(d), 0);
	assert_true(next(rl_core_out_transport(c), &R));
	ch_msg_send_t s;
	memcpy(&s, R.data, sizeof(s));
	assert_int_equal(s.mode, CH_SEND_ALL);
	assert_int_equal(s.except, 2);
	assert_int_equal(s.type, WIRE_TX);
	assert_int_equal(rl_core_stats(c)->flood_sent, 1);
	rl_core_free(&c);
}

/* A compact block from core P to core Q, which lacks two transactions. */
static void test_compact_block(void **state)
{
	(void)state;
	rl_core_t *p = mk(), *q = mk();
	up(p, 200, true); /* Q as P sees it */
	up(q, 100, false);
	for (int i = 1; i <= 5; i++)
		accepted(p, i, 1000, 100, 0, 0);
	for (int i = 1; i <= 3; i++)
		accepted(q, i, 1000, 100, 0, 0);
	rl_core_turn_end(p, 10 * MS);
	rl_core_turn_end(q, 10 * MS);
	while (next(rl_core_out_transport(p), &R)) /* their INVs: not needed here */
		;
	while (next(rl_core_out_transport(q), &R))
		;
	uint8_t ids[5 * 32], seed[32] = {4};
	for (int i = 0; i < 5; i++)
		id_of(5 - i, ids + 32 * i); /* 5, 4, 3, 2, 1 */
	ch_pubkey_t pk;
	ch_seckey_t sk;
	ch_ed25519_seed_keypair(&pk, &sk, seed);
	rl_block_t b;
	size_t full, cmpct;
	uint32_t relayed;
	nblock_events = 0;
	assert_int_equal(rl_core_block_submit(p, ids, 5, false, 0, false, NULL, &sk, 20 * MS, &b,
	                                      &full, &cmpct, &relayed),
	                 0);
	assert_int_equal(b.height, 1);
	assert_int_equal(relayed, 1);
	assert_true(cmpct < full);
	assert_int_equal(nblock_events, 1);
	uint64_t saved = rl_core_stats(p)->cmpct_bytes_saved;
	assert_int_equal(saved, full - cmpct);
	/* P's mempool: the block's ids */
	assert_true(next(rl_core_out_mempool(p), &R));
	assert_int_equal(R.tag, CH_TAG_BLOCK);
	assert_int_equal(R.len, sizeof(ch_msg_block_t) + 5 * 32);
	/* P -> Q: the compact block */
	assert_true(next(rl_core_out_transport(p), &R));
	assert_int_equal(R.tag, CH_TAG_SEND_LIST);
	ch_msg_send_list_t sl;
	memcpy(&sl, R.data, sizeof(sl));
	assert_int_equal(sl.npeers, 1);
	assert_int_equal(sl.type, WIRE_BLOCK);
	size_t off = sizeof(sl) + 8;
	msg(q, 100, 9, R.data + off, R.len - off, 21 * MS);
	rl_core_turn_end(q, 21 * MS);
	/* Q asks for positions 0 and 1 (ids 5 and 4) */
	expect_send(q, 100, 6, &IV, &R);
	assert_true(IV.has_blktx);
	assert_int_equal(IV.nidx, 2);
	assert_int_equal(IV.idx[0], 0);
	assert_int_equal(IV.idx[1], 1);
	assert_memory_equal(IV.blktx_id, b.id, 32);
	msg(p, 200, 6, R.data + sizeof(ch_msg_send_t), R.len - sizeof(ch_msg_send_t), 22 * MS);
	expect_send(p, 200, 9, NULL, &R);
	msg(q, 100, 9, R.data + sizeof(ch_msg_send_t), R.len - sizeof(ch_msg_send_t), 23 * MS);
	rl_core_turn_end(q, 23 * MS);
	assert_true(rl_core_has_block(q, b.id));
	assert_int_equal(nblock_events, 2);
	assert_int_equal(last_block.missing, 2);
	assert_true(last_block.compact);
	assert_true(next(rl_core_out_mempool(q), &R));
	assert_int_equal(R.tag, CH_TAG_BLOCK);
	assert_memory_equal(R.data + sizeof(ch_msg_block_t), ids, 5 * 32);
	expect_empty(q); /* P is known to have it: not sent back */
	assert_int_equal(rl_core_stats(q)->cmpct_missing_ids, 2);
	/* the ids sent on request are subtracted from what was saved */
	assert_true(rl_core_stats(p)->cmpct_bytes_saved < saved);
	/* the same block again, whole: a duplicate, counted and dropped (not
	 * accepted again, not relayed, no points) */
	static uint8_t again[4096];
	b.txs = ids; /* submit leaves txs NULL; they are the ids it was given */
	size_t again_len = rl_block_msg_full(&b, again, sizeof(again));
	assert_true(again_len > 0);
	uint64_t dup0 = rl_core_stats(q)->blocks_dup;
	uint64_t acc0 = rl_core_stats(q)->blocks_accepted;
	msg(q, 100, 9, again, again_len, 24 * MS);
	rl_core_turn_end(q, 24 * MS);
	assert_int_equal(rl_core_stats(q)->blocks_dup, dup0 + 1);
	assert_int_equal(rl_core_stats(q)->blocks_accepted, acc0);
	assert_int_equal(nblock_events, 2);
	expect_empty(q);
	/* an empty BLOCK payload: malformed */
	msg(q, 100, 9, R.data, 0, 25 * MS);
	rl_core_turn_end(q, 25 * MS);
	expect_misbehave(q, 100, RL_PTS_MALFORMED, "malformed BLOCK");
	rl_core_free(&p);
	rl_core_free(&q);
}

/* An INV of 1,000 block ids from a third peer while a compact block waits
 * for its missing ids: the announcements are rate-limited (the burst is
 * asked, the rest dropped and scored) and never evict the block being
 * completed, whose blktxn then completes it. */
static void test_block_slots(void **state)
{
	(void)state;
	rl_core_t *p = mk(), *q = mk();
	up(p, 200, true);
	up(q, 100, false);
	up(q, 300, true); /* the announcer */
	for (int i = 1; i <= 5; i++)
		accepted(p, i, 1000, 100, 0, 0);
	for (int i = 1; i <= 3; i++)
		accepted(q, i, 1000, 100, 0, 0);
	rl_core_turn_end(p, 10 * MS);
	rl_core_turn_end(q, 10 * MS);
	while (next(rl_core_out_transport(p), &R))
		;
	while (next(rl_core_out_transport(q), &R))
		;
	uint8_t ids[5 * 32], seed[32] = {4};
	for (int i = 0; i < 5; i++)
		id_of(5 - i, ids + 32 * i);
	ch_pubkey_t pk;
	ch_seckey_t sk;
	ch_ed25519_seed_keypair(&pk, &sk, seed);
	rl_block_t b;
	assert_int_equal(rl_core_block_submit(p, ids, 5, false, 0, false, NULL, &sk, 20 * MS, &b,
	                                      NULL, NULL, NULL),
	                 0);
	assert_true(next(rl_core_out_mempool(p), &R));
	assert_true(next(rl_core_out_transport(p), &R)); /* the compact block */
	size_t off = sizeof(ch_msg_send_list_t) + 8;
	msg(q, 100, WIRE_BLOCK, R.data + off, R.len - off, 21 * MS);
	rl_core_turn_end(q, 21 * MS);
	expect_send(q, 100, WIRE_GETDATA, &IV, &R); /* blktx for two positions */
	assert_true(IV.has_blktx);
	rec_t *ask = malloc(sizeof(*ask));
	assert_non_null(ask);
	*ask = R;

	static uint8_t blk[WIRE_INV_IDS_MAX * 32], buf[40016];
	for (int i = 0; i < WIRE_INV_IDS_MAX; i++) {
		memset(blk + 32 * i, 0, 32);
		memcpy(blk + 32 * i, &i, sizeof(i));
		blk[32 * i + 31] = 0xb1;
	}
	size_t n = rl_inv_encode(buf, sizeof(buf), NULL, 0, blk, WIRE_INV_IDS_MAX);
	msg(q, 300, WIRE_INV, buf, n, 22 * MS);
	rl_core_turn_end(q, 22 * MS);
	int asks = 0;
	while (next(rl_core_out_transport(q), &R))
		asks += R.tag == CH_TAG_SEND;
	assert_true(asks <= (int)RL_BLOCK_BURST);
	assert_true(rl_core_stats(q)->block_inv_dropped >= WIRE_INV_IDS_MAX - (int)RL_BLOCK_BURST);

	/* P answers the blktx: Q completes the block */
	msg(p, 200, WIRE_GETDATA, ask->data + sizeof(ch_msg_send_t),
	    ask->len - sizeof(ch_msg_send_t), 23 * MS);
	expect_send(p, 200, WIRE_BLOCK, NULL, &R);
	msg(q, 100, WIRE_BLOCK, R.data + sizeof(ch_msg_send_t), R.len - sizeof(ch_msg_send_t),
	    24 * MS);
	rl_core_turn_end(q, 24 * MS);
	assert_true(rl_core_has_block(q, b.id));
	free(ask);
	rl_core_free(&p);
	rl_core_free(&q);
}

/* An INV of a block the node lacks: a GETDATA for the whole block goes to
 * its announcer (the pending slot made for it holds no ids yet; copying
 * them from a NULL array was undefined behaviour, an abort under UBSan). */
static void test_block_inv(void **state)
{
	(void)state;
	rl_core_t *c = mk();
	up(c, 7, false);
	rl_core_turn_end(c, MS);
	while (next(rl_core_out_transport(c), &R))
		;
	uint8_t bid[32], buf[256];
	memset(bid, 0xb1, sizeof(bid));
	size_t len = rl_inv_encode(buf, sizeof(buf), NULL, 0, bid, 1);
	assert_true(len > 0);
	msg(c, 7, WIRE_INV, buf, len, 2 * MS);
	rl_core_turn_end(c, 2 * MS);
	expect_send(c, 7, WIRE_GETDATA, &IV, &R);
	assert_int_equal(IV.ntx, 0);
	assert_int_equal(IV.nblk, 1);
	assert_memory_equal(IV.blk[0], bid, 32);
	/* announced again meanwhile: no second request */
	msg(c, 7, WIRE_INV, buf, len, 3 * MS);
	rl_core_turn_end(c, 3 * MS);
	expect_empty(c);
	rl_core_free(&c);
}

/* The validator set: a block (full or compact) signed by a key outside it
 * is refused before it changes anything: nothing for the mempool, nothing
 * relayed, no seen-cache entry (an id it listed is still fetched when
 * announced), the sender scored; a listed producer's block goes through;
 * block submit with an unlisted key fails; an empty set accepts any key. */
static void test_producer_set(void **state)
{
	(void)state;
	rl_core_t *c = mk();
	up(c, 1, true);
	up(c, 2, false);
	for (int i = 1; i <= 3; i++)
		accepted(c, i, 1000, 100, 0, 0);
	rl_core_turn_end(c, 10 * MS);
	while (next(rl_core_out_transport(c), &R)) /* the INVs of the pool */
		;
	uint8_t seed_a[32] = {1}, seed_b[32] = {2};
	ch_pubkey_t pka, pkb;
	ch_seckey_t ska, skb;
	ch_ed25519_seed_keypair(&pka, &ska, seed_a);
	ch_ed25519_seed_keypair(&pkb, &skb, seed_b);
	rl_producers_t *set = calloc(1, sizeof(*set));
	assert_non_null(set);
	assert_int_equal(rl_prod_add(set, pka.b), 0);
	rl_core_set_producers(c, set);

	/* B (not a producer) lists ids 1, 2 and 9 (not sent yet) */
	uint8_t ids[3 * 32], bb[4096];
	id_of(1, ids);
	id_of(2, ids + 32);
	id_of(9, ids + 64);
	rl_block_t b = {.v = 1, .height = 5, .ntx = 3, .txs = ids};
	assert_int_equal(rl_block_sign(&b, &skb), 0);
	size_t bl = rl_block_msg_full(&b, bb, sizeof(bb));
	msg(c, 1, WIRE_BLOCK, bb, bl, 20 * MS);
	rl_core_turn_end(c, 20 * MS);
	expect_misbehave(c, 1, RL_PTS_NOT_PRODUCER, "outside the producer set");
	expect_empty(c);
	bl = rl_block_msg_cmpct(&b, bb, sizeof(bb));
	msg(c, 1, WIRE_BLOCK, bb, bl, 21 * MS);
	rl_core_turn_end(c, 21 * MS);
	expect_misbehave(c, 1, RL_PTS_NOT_PRODUCER, "outside the producer set");
	expect_empty(c);
	assert_int_equal(rl_core_stats(c)->blocks_not_producer, 2);
	assert_int_equal(rl_core_stats(c)->blocks_accepted, 0);
	assert_false(rl_core_has_block(c, b.id));
	assert_true(rl_core_in_pool(c, ids));
	/* id 9 is not in the seen-cache: announced, it is asked for */
	int nine = 9;
	inv(c, 2, WIRE_INV, &nine, 1, 22 * MS);
	rl_core_turn_end(c, 22 * MS);
	expect_send(c, 2, WIRE_GETDATA, &IV, &R);
	assert_int_equal(IV.ntx, 1);
	assert_memory_equal(IV.tx[0], ids + 64, 32);
	expect_empty(c);

	/* block submit: B refused, A accepted */
	assert_int_equal(rl_core_block_submit(c, ids, 1, false, 0, false, NULL, &skb, 23 * MS, NULL,
	                                      NULL, NULL, NULL),
	                 CH_EPERM);
	expect_empty(c);

	/* A's block from peer 1: accepted, the mempool told, relayed to 2 */
	rl_block_t a = {.v = 1, .height = 6, .ntx = 2, .txs = ids};
	assert_int_equal(rl_block_sign(&a, &ska), 0);
	bl = rl_block_msg_full(&a, bb, sizeof(bb));
	msg(c, 1, WIRE_BLOCK, bb, bl, 24 * MS);
	rl_core_turn_end(c, 24 * MS);
	assert_true(rl_core_has_block(c, a.id));
	assert_true(next(rl_core_out_mempool(c), &R));
	assert_int_equal(R.tag, CH_TAG_BLOCK);
	assert_true(next(rl_core_out_transport(c), &R));
	assert_int_equal(R.tag, CH_TAG_SEND_LIST);

	/* an empty set: any key again */
	set->n = 0;
	rl_core_set_producers(c, set);
	b.height = 7;
	assert_int_equal(rl_block_sign(&b, &skb), 0);
	bl = rl_block_msg_full(&b, bb, sizeof(bb));
	msg(c, 1, WIRE_BLOCK, bb, bl, 25 * MS);
	rl_core_turn_end(c, 25 * MS);
	assert_true(rl_core_has_block(c, b.id));
	free(set);
	rl_core_free(&c);
}

/* The producers file: comments, blank lines, any case, a key listed twice
 * counted once, sorted lookups, add / remove, a bad line named. */
static void test_producers_file(void **state)
{
	(void)state;
	rl_producers_t *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	char err[128];
	const char *text = "# producers\n\n"
	                   "  BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB \r\n"
	                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	                   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	assert_int_equal(rl_prod_parse(s, text, strlen(text), err, sizeof(err)), 0);
	assert_int_equal(s->n, 2);
	uint8_t a[32], b[32], c[32];
	memset(a, 0xaa, 32);
	memset(b, 0xbb, 32);
	memset(c, 0xcc, 32);
	assert_true(rl_prod_has(s, a));
	assert_true(rl_prod_has(s, b));
	assert_false(rl_prod_has(s, c));
	assert_int_equal(rl_prod_add(s, a), CH_EEXIST);
	assert_int_equal(rl_prod_add(s, c), 0);
	assert_true(rl_prod_has(s, c));
	assert_int_equal(rl_prod_remove(s, a), 0);
	assert_int_equal(rl_prod_remove(s, a), CH_ENOENT);
	assert_false(rl_prod_has(s, a));
	assert_true(rl_prod_has(s, b) && rl_prod_has(s, c));
	const char *bad = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nzz\n";
	assert_int_equal(rl_prod_parse(s, bad, strlen(bad), err, sizeof(err)), CH_EPROTO);
	assert_non_null(strstr(err, "line 2"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_announce_fetch),
	    cmocka_unit_test(test_fee_order_and_timeout),
	    cmocka_unit_test(test_misbehaviour),
	    cmocka_unit_test(test_getdata_abuse),
	    cmocka_unit_test(test_peers),
	    cmocka_unit_test(test_flood_mode),
	    cmocka_unit_test(test_compact_block),
	    cmocka_unit_test(test_block_slots),
	    cmocka_unit_test(test_block_relay_only),
	    cmocka_unit_test(test_block_inv),
	    cmocka_unit_test(test_producer_set),
	    cmocka_unit_test(test_producers_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
