/* test_proto_relay.c: the relay's payloads (proto/inv.h, block.h)
 * against the test vectors of docs/protocol.md section 3 (checked
 * independently with Python's hashlib and the cryptography package): the
 * block encoding, id, signature and short ids; INV / GETDATA / NOTFOUND,
 * TX and the BLOCK forms round trip; oversized inventories and blocks are
 * CH_ERANGE; every truncation and a seeded loop of byte mutations is
 * refused or decoded without reading outside the input (ASan checks);
 * unknown keys are skipped; a bad signature does not verify. */
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
#include "block.h"
#include "inv.h"
#include "pack.h"

static const char *TX1 = "933dcc8f5b512cece9ef16da1f090bf7edc6ee367c4222323428b5a9d2b9856d";
static const char *TX2 = "a55fccfb7c141fb627c610c481c7550e5dc208608871a5ca08c2f6a1d4842258";
static const char *BLOCK_ENC =
    "87a17601a668656967687407a470726576c420111111111111111111111111111111111111111111111111"
    "1111111111111111a374787392c420933dcc8f5b512cece9ef16da1f090bf7edc6ee367c4222323428b5a9"
    "d2b9856dc420a55fccfb7c141fb627c610c481c7550e5dc208608871a5ca08c2f6a1d4842258a870726f64"
    "75636572c42003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8a474696d65"
    "cf0000018bcfe56800a3736967c44043898baabd3a95b88ffd392dad2bd859383ea0e2d64e5fcf3e961765"
    "e5da0e92243b094463f515a683af8378f5d411cecfaae8681b1554df19e7cb38e7b81d03";
static const char *BLOCK_ID = "fbc340c1cbefe6244da7c0ba62944351f9e6ffa3ddb6adb73b282ae857fb9c92";
static const char *INV_HEX =
    "81a2747892c420933dcc8f5b512cece9ef16da1f090bf7edc6ee367c4222323428b5a9d2b9856dc420a55fcc"
    "fb7c141fb627c610c481c7550e5dc208608871a5ca08c2f6a1d4842258";

static uint8_t txs[64];
static ch_seckey_t sk;

static void hex(const char *h, uint8_t *out, size_t cap, size_t *len)
{
	assert_int_equal(ch_hex_decode(out, cap, h, len), 0);
}

/* vector_block: the block of the test vector (seed 00..1f). */
static rl_block_t vector_block(void)
{
	uint8_t seed[32];
	ch_pubkey_t pk;
	size_t n;
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	ch_ed25519_seed_keypair(&pk, &sk, seed);
	hex(TX1, txs, 32, &n);
	hex(TX2, txs + 32, 32, &n);
	rl_block_t b = {.v = 1, .height = 7, .time = 1700000000000ULL, .ntx = 2, .txs = txs};
	memset(b.prev, 0x11, 32);
	assert_int_equal(rl_block_sign(&b, &sk), 0);
	return b;
}

static void test_block_vector(void **state)
{
	(void)state;
	rl_block_t b = vector_block();
	uint8_t want[512], got[512], id[32];
	size_t wl, n;
	hex(BLOCK_ENC, want, sizeof(want), &wl);
	hex(BLOCK_ID, id, 32, &n);
	assert_memory_equal(b.id, id, 32);
	assert_int_equal(rl_block_encode(&b, true, got, sizeof(got)), wl);
	assert_memory_equal(got, want, wl);
	assert_int_equal(rl_block_verify(&b), 0);
	assert_int_equal(rl_block_encode(&b, true, got, wl - 1), 0); /* too small */
	/* short ids: SipHash-2-4 keyed with id[0..16), first 6 output bytes */
	assert_int_equal(rl_short_id(b.id, txs), 0x6208c0b3fa6fULL);
	assert_int_equal(rl_short_id(b.id, txs + 32), 0xc2713e71838dULL);
	b.sig[0] ^= 1;
	assert_int_equal(rl_block_verify(&b), CH_ECRYPTO);
	b.sig[0] ^= 1;
	b.height++;
	assert_int_equal(rl_block_hash(&b), 0);
	assert_int_equal(rl_block_verify(&b), CH_ECRYPTO); /* the id changed */
}

static void test_inv_vector_roundtrip(void **state)
{
	(void)state;
	static rl_inv_t inv;
	uint8_t want[256], got[256];
	size_t wl;
	vector_block();
	hex(INV_HEX, want, sizeof(want), &wl);
	assert_int_equal(rl_inv_encode(got, sizeof(got), txs, 2, NULL, 0), wl);
	assert_memory_equal(got, want, wl);
	assert_int_equal(rl_inv_decode(got, wl, &inv), 0);
	assert_int_equal(inv.ntx, 2);
	assert_int_equal(inv.nblk, 0);
	assert_memory_equal(inv.tx[1], txs + 32, 32);
	assert_int_equal(rl_inv_size(2, 0), wl);
	/* both kinds, 1000 ids (the limit) */
	static uint8_t ids[1000 * 32], buf[40016];
	for (int i = 0; i < 1000 * 32; i++)
		ids[i] = (uint8_t)(i * 7);
	size_t n = rl_inv_encode(buf, sizeof(buf), ids, 990, ids, 10);
	assert_true(n > 0 && n <= 40016);
	assert_int_equal(n, rl_inv_size(990, 10));
	assert_int_equal(rl_inv_decode(buf, n, &inv), 0);
	assert_int_equal(inv.ntx + inv.nblk, 1000);
	assert_memory_equal(inv.blk[9], ids + 9 * 32, 32);
	/* 1001 ids: oversized (still within the frame limit) */
	n = rl_inv_encode(buf, sizeof(buf), ids, 1000, ids, 1);
	assert_true(n > 0 && n <= 40016);
	assert_int_equal(rl_inv_decode(buf, n, &inv), CH_ERANGE);
	assert_int_equal(rl_inv_encode(buf, sizeof(buf), ids, 0, ids, 0), 0);
}

static void test_inv_unknown_and_blktx(void **state)
{
	(void)state;
	static rl_inv_t inv;
	uint8_t buf[256];
	pack_wr_t w;
	vector_block();
	pack_wr_init(&w, buf, sizeof(buf));
	pack_wr_map(&w, 3);
	pack_wr_str(&w, "future");
	pack_wr_map(&w, 1);
	pack_wr_str(&w, "x");
	pack_wr_array(&w, 2);
	pack_wr_uint(&w, 1ULL << 40);
	pack_wr_str(&w, "y");
	pack_wr_str(&w, "tx");
	pack_wr_array(&w, 1);
	pack_wr_bin(&w, txs, 32);
	pack_wr_str(&w, "blktx");
	pack_wr_map(&w, 2);
	pack_wr_str(&w, "id");
	pack_wr_bin(&w, txs + 32, 32);
	pack_wr_str(&w, "idx");
	pack_wr_array(&w, 2);
	pack_wr_uint(&w, 0);
	pack_wr_uint(&w, 300);
	assert_int_equal(w.err, 0);
	assert_int_equal(rl_inv_decode(buf, w.len, &inv), 0);
	assert_int_equal(inv.ntx, 1);
	assert_true(inv.has_blktx);
	assert_memory_equal(inv.blktx_id, txs + 32, 32);
	assert_int_equal(inv.nidx, 2);
	assert_int_equal(inv.idx[1], 300);
	uint32_t idx[2] = {0, 300};
	size_t n = rl_getblktx_encode(buf, sizeof(buf), txs, idx, 2);
	assert_int_equal(rl_inv_decode(buf, n, &inv), 0);
	assert_true(inv.has_blktx && inv.ntx == 0 && inv.nidx == 2);
	/* a 31-byte id, a string for an id, trailing bytes */
	pack_wr_init(&w, buf, sizeof(buf));
	pack_wr_map(&w, 1);
	pack_wr_str(&w, "tx");
	pack_wr_array(&w, 1);
	pack_wr_bin(&w, txs, 31);
	assert_int_equal(rl_inv_decode(buf, w.len, &inv), CH_EPROTO);
	n = rl_inv_encode(buf, sizeof(buf), txs, 1, NULL, 0);
	buf[n] = 0;
	assert_int_equal(rl_inv_decode(buf, n + 1, &inv), CH_EPROTO);
	buf[5] = 0xa2; /* a fixstr where a bin belongs */
	assert_int_equal(rl_inv_decode(buf, n, &inv), CH_EPROTO);
}

static void test_tx_wrap(void **state)
{
	(void)state;
	uint8_t enc[300], buf[400];
	const uint8_t *p;
	uint32_t len;
	memset(enc, 0x5a, sizeof(enc));
	size_t n = rl_tx_encode(buf, sizeof(buf), enc, sizeof(enc));
	assert_int_equal(n, sizeof(enc) + 7); /* 81 a2 't' 'x' c5 01 2c */
	assert_true(n <= sizeof(enc) + RL_TX_WRAP);
	assert_int_equal(rl_tx_decode(buf, n, &p, &len), 0);
	assert_int_equal(len, sizeof(enc));
	assert_ptr_equal(p, buf + 7);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(rl_tx_decode(buf, k, &p, &len), CH_EPROTO);
	assert_int_equal(rl_tx_encode(buf, 10, enc, sizeof(enc)), 0);
}

/* decode_all: a BLOCK payload with the buffers a relay gives it. */
static int decode_all(const uint8_t *p, size_t n, uint32_t max, rl_blkmsg_t *m)
{
	static uint8_t bt[4096 * 32];
	static uint32_t bi[4096];
	m->b.txs = bt;
	m->idx = bi;
	return rl_blkmsg_decode(p, n, max, m);
}

static void test_block_messages(void **state)
{
	(void)state;
	rl_block_t b = vector_block();
	static uint8_t buf[4096];
	rl_blkmsg_t m;
	size_t n = rl_block_msg_full(&b, buf, sizeof(buf));
	assert_int_equal(decode_all(buf, n, 100, &m), 0);
	assert_int_equal(m.kind, RL_BLKMSG_FULL);
	assert_memory_equal(m.b.id, b.id, 32);
	assert_int_equal(m.b.ntx, 2);
	assert_int_equal(rl_block_verify(&m.b), 0);
	assert_int_equal(decode_all(buf, n, 1, &m), CH_ERANGE); /* over the limit */
	for (size_t k = 0; k < n; k++)
		assert_int_not_equal(decode_all(buf, k, 100, &m), 0);

	n = rl_block_msg_cmpct(&b, buf, sizeof(buf));
	assert_true(n < rl_block_msg_full(&b, buf + 2048, 2048));
	assert_int_equal(decode_all(buf, n, 100, &m), 0);
	assert_int_equal(m.kind, RL_BLKMSG_CMPCT);
	assert_int_equal(m.b.ntx, 2);
	assert_memory_equal(m.b.id, b.id, 32);
	assert_int_equal(rl_block_verify(&m.b), 0); /* the claimed id is signed */
	assert_int_equal(m.sid[0], 0x62);
	for (size_t k = 0; k < n; k++)
		assert_int_not_equal(decode_all(buf, k, 100, &m), 0);

	uint32_t idx[1] = {1};
	n = rl_block_msg_txn(&b, idx, 1, buf, sizeof(buf));
	assert_int_equal(decode_all(buf, n, 100, &m), 0);
	assert_int_equal(m.kind, RL_BLKMSG_TXN);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.idx[0], 1);
	assert_memory_equal(m.b.txs, txs + 32, 32);
	idx[0] = 2; /* beyond the block */
	assert_int_equal(rl_block_msg_txn(&b, idx, 1, buf, sizeof(buf)), 0);

	/* a version 2 block, an unknown message kind */
	b.v = 2;
	n = rl_block_msg_full(&b, buf, sizeof(buf));
	assert_int_equal(decode_all(buf, n, 100, &m), CH_EPROTO);
	pack_wr_t w;
	pack_wr_init(&w, buf, sizeof(buf));
	pack_wr_map(&w, 1);
	pack_wr_str(&w, "blocks");
	pack_wr_uint(&w, 1);
	assert_int_equal(decode_all(buf, w.len, 100, &m), CH_EPROTO);
	assert_int_equal(rl_block_max_txs(1u << 20), RL_BLOCK_TXS_MAX);
	assert_int_equal(rl_block_max_txs(65536), (65536 - 1024) / RL_BLOCK_ID_BYTES);
}

/* within: [q, q + len) lies inside the input [p, p + n). */
static bool within(const uint8_t *q, size_t len, const uint8_t *p, size_t n)
{
	return q >= p && q + len <= p + n;
}

/* check_inv: what a successful INV decode hands out stays in bounds. */
static void check_inv(const rl_inv_t *inv, const uint8_t *p, size_t n)
{
	assert_true(inv->ntx <= WIRE_INV_IDS_MAX);
	assert_true(inv->nblk <= WIRE_INV_IDS_MAX);
	assert_true(inv->nidx <= RL_BLOCK_TXS_MAX);
	for (uint32_t i = 0; i < inv->ntx; i++)
		assert_true(within(inv->tx[i], 32, p, n));
	for (uint32_t i = 0; i < inv->nblk; i++)
		assert_true(within(inv->blk[i], 32, p, n));
	if (inv->has_blktx)
		assert_true(within(inv->blktx_id, 32, p, n));
}

/* check_blkmsg: a successful BLOCK decode is one of the three kinds and
 * within the limit it was given. */
static void check_blkmsg(const rl_blkmsg_t *m, const uint8_t *p, size_t n, uint32_t max)
{
	assert_true(m->kind == RL_BLKMSG_FULL || m->kind == RL_BLKMSG_CMPCT ||
	            m->kind == RL_BLKMSG_TXN);
	if (m->kind == RL_BLKMSG_TXN)
		assert_true(m->n <= max);
	else
		assert_true(m->b.ntx <= max);
	if (m->kind == RL_BLKMSG_CMPCT)
		assert_true(within(m->sid, (size_t)m->b.ntx * 6, p, n));
}

/* A seeded loop of mutations: decoders never crash or read outside the
 * input (ASan, and every pointer they hand out is checked to lie in it);
 * each answer is success or a documented error, and a success stays within
 * the limits.  Both outcomes must occur, or the loop tested nothing. */
static void test_mutations(void **state)
{
	(void)state;
	rl_block_t b = vector_block();
	static uint8_t orig[3][1024], buf[1024];
	size_t len[3];
	len[0] = rl_block_msg_full(&b, orig[0], sizeof(orig[0]));
	len[1] = rl_block_msg_cmpct(&b, orig[1], sizeof(orig[1]));
	len[2] = rl_inv_encode(orig[2], sizeof(orig[2]), txs, 2, txs, 1);
	static rl_inv_t inv;
	rl_blkmsg_t m;
	/* the unmutated messages decode */
	for (int k = 0; k < 3; k++) {
		assert_true(len[k] > 0);
		if (k == 2)
			assert_int_equal(rl_inv_decode(orig[k], len[k], &inv), 0);
		else
			assert_int_equal(decode_all(orig[k], len[k], 64, &m), 0);
	}
	uint64_t r = 42;
	int ok = 0, refused = 0;
	for (int it = 0; it < 200000; it++) {
		int k = it % 3;
		memcpy(buf, orig[k], len[k]);
		for (int j = 0; j < 1 + it % 4; j++) {
			r = r * 6364136223846793005ULL + 1442695040888963407ULL;
			buf[(r >> 33) % len[k]] = (uint8_t)(r >> 20);
		}
		r = r * 6364136223846793005ULL + 1442695040888963407ULL;
		size_t n = len[k] - (size_t)((r >> 40) % 3);
		uint8_t *p = malloc(n); /* exact size, so ASan sees any overread */
		assert_non_null(p);
		memcpy(p, buf, n);
		int rc = k == 2 ? rl_inv_decode(p, n, &inv) : decode_all(p, n, 64, &m);
		if (rc == 0) {
			ok++;
			if (k == 2)
				check_inv(&inv, p, n);
			else
				check_blkmsg(&m, p, n, 64);
		} else {
			assert_true(rc == CH_EPROTO || rc == CH_ERANGE);
			refused++;
		}
		free(p);
	}
	printf("mutations: %d of 200000 still decoded, %d refused\n", ok, refused);
	assert_true(ok > 0);
	assert_true(refused > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_block_vector),
	    cmocka_unit_test(test_inv_vector_roundtrip),
	    cmocka_unit_test(test_inv_unknown_and_blktx),
	    cmocka_unit_test(test_tx_wrap),
	    cmocka_unit_test(test_block_messages),
	    cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
