/* test_proto_tx.c: the transaction format of docs/protocol.md section 2:
 * the published test vectors (computed independently, with Python's
 * hashlib and the cryptography package), every strict-decoding rule, every
 * truncation, and a seeded mutation loop checking that whatever decodes
 * re-encodes to the same bytes (one transaction, one encoding). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "hash.h"
#include "pack.h"
#include "tx.h"

/* docs/protocol.md section 2: the key's seed is the bytes 00 01 .. 1f. */
static const char *const V_PK = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
/* vector 1: nonce 1, fee 1000, data "hello chorus" */
static const char *const V1_ENC =
    "86a17601a466726f6dc42003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8a56e"
    "6f6e636501a3666565cd03e8a464617461c40c68656c6c6f2063686f727573a3736967c440504dc1c88702bed2"
    "3c3824d456886099ebb65d46467df47718f78b5bbe41775d68636cc639693952c020a636f30029262edad06f8c"
    "0a038db6c1152a408d4d0d";
static const char *const V1_ID = "933dcc8f5b512cece9ef16da1f090bf7edc6ee367c4222323428b5a9d2b9856d";
static const char *const V1_SIG =
    "504dc1c88702bed23c3824d456886099ebb65d46467df47718f78b5bbe41775d68636cc639693952c020a636f3"
    "0029262edad06f8c0a038db6c1152a408d4d0d";
/* vector 2: nonce 0, fee 0, empty data: the smallest encoding */
static const char *const V2_ENC =
    "86a17601a466726f6dc42003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8a56e"
    "6f6e636500a366656500a464617461c400a3736967c440153252424930f8b52bda5d36f4c6865b18aa3ba51765"
    "0d07cc981919572bb22413341a7fbac331d1d13d36948631b3fe17431be45cc1f53f014cdcd6c920d401";
static const char *const V2_ID = "a55fccfb7c141fb627c610c481c7550e5dc208608871a5ca08c2f6a1d4842258";
/* vector 3: nonce 2^40, fee 2^64-1, 300 zero bytes of data (bin 16) */
static const char *const V3_ID = "ba400261da3dbdc797be29c306cb507b26008b06df4d50f84b1be2e16abfcc5b";
static const char *const V3_SIG =
    "efcfe9886570258422b5ff3d7ce701644ac0c4b486c2accaaf5bad317eff63eb5b5dbc031800ec4bda8a34c5a3"
    "398758e7fb5c1fbaf9609b53a62597b5e41106";

static uint64_t rng_state;

/* rng: splitmix64, seeded per test. */
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* unhex: hex into bytes, failing the test on bad input. */
static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;
	assert_int_equal(ch_hex_decode(out, cap, hex, &n), 0);
	return n;
}

/* assert_hex: b as hex equals the expected text. */
static void assert_hex(const uint8_t *b, size_t n, const char *hex)
{
	char buf[2 * MP_TX_MAX_SIZE + 1];
	assert_int_equal(ch_hex_encode(buf, sizeof(buf), b, n), 0);
	assert_string_equal(buf, hex);
}

/* vector_key: the key of the test vectors (seed 00 01 .. 1f). */
static void vector_key(ch_seckey_t *sk)
{
	uint8_t seed[32];
	ch_pubkey_t pk;
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	assert_int_equal(ch_ed25519_seed_keypair(&pk, sk, seed), 0);
	assert_hex(pk.b, 32, V_PK);
}

/* test_vectors_decode: the published encodings decode to their ids and fields. */
static void test_vectors_decode(void **state)
{
	(void)state;
	uint8_t buf[MP_TX_MAX_SIZE];
	mp_tx_t tx;
	char why[160];
	size_t n = unhex(buf, sizeof(buf), V1_ENC);
	assert_int_equal(n, 146);
	assert_int_equal(mp_tx_decode(buf, n, &tx, why, sizeof(why)), 0);
	assert_hex(tx.id, 32, V1_ID);
	assert_hex(tx.from.b, 32, V_PK);
	assert_hex(tx.sig.b, 64, V1_SIG);
	assert_int_equal(tx.nonce, 1);
	assert_int_equal(tx.fee, 1000);
	assert_int_equal(tx.data_len, 12);
	assert_memory_equal(tx.data, "hello chorus", 12);
	assert_int_equal(tx.size, 146);
	assert_int_equal(mp_tx_verify(&tx), 0);

	n = unhex(buf, sizeof(buf), V2_ENC);
	assert_int_equal(n, MP_TX_MIN_SIZE);
	assert_int_equal(mp_tx_decode(buf, n, &tx, why, sizeof(why)), 0);
	assert_hex(tx.id, 32, V2_ID);
	assert_int_equal(tx.data_len, 0);
	assert_int_equal(mp_tx_verify(&tx), 0);
}

/* test_vectors_encode: the encoder reproduces the vectors; its limits. */
static void test_vectors_encode(void **state)
{
	(void)state;
	ch_seckey_t sk;
	uint8_t out[MP_TX_MAX_SIZE], id[32], zeros[300] = {0};
	size_t len;
	vector_key(&sk);
	assert_int_equal(mp_tx_encode(out, sizeof(out), &sk, 1, 1000, "hello chorus", 12, &len, id),
	                 0);
	assert_int_equal(len, 146);
	assert_hex(out, len, V1_ENC);
	assert_hex(id, 32, V1_ID);
	assert_int_equal(mp_tx_encode(out, sizeof(out), &sk, 0, 0, NULL, 0, &len, id), 0);
	assert_hex(out, len, V2_ENC);
	assert_int_equal(
	    mp_tx_encode(out, sizeof(out), &sk, 1ull << 40, UINT64_MAX, zeros, 300, &len, id), 0);
	assert_int_equal(len, 449);
	assert_hex(id, 32, V3_ID);
	assert_hex(out + len - 64, 64, V3_SIG);
	mp_tx_t tx;
	assert_int_equal(mp_tx_decode(out, len, &tx, NULL, 0), 0);
	assert_int_equal(tx.fee, UINT64_MAX);
	assert_int_equal(tx.nonce, 1ull << 40);
	assert_int_equal(mp_tx_verify(&tx), 0);
	/* a wrong signature: one bit */
	out[len - 1] ^= 1;
	assert_int_equal(mp_tx_decode(out, len, &tx, NULL, 0), 0);
	assert_int_equal(mp_tx_verify(&tx), CH_ECRYPTO);
	/* limits of the encoder */
	assert_int_equal(mp_tx_encode(out, 100, &sk, 0, 0, NULL, 0, &len, id), CH_ERANGE);
	assert_int_equal(mp_tx_encode(NULL, 100, &sk, 0, 0, NULL, 0, &len, id), CH_EINVAL);
	static uint8_t big[MP_TX_DATA_MAX + 1];
	assert_int_equal(mp_tx_encode(out, sizeof(out), &sk, 0, 0, big, MP_TX_DATA_MAX, &len, id),
	                 0);
	assert_true(len <= MP_TX_MAX_SIZE);
	assert_int_equal(mp_tx_decode(out, len, &tx, NULL, 0), 0);
	assert_int_equal(
	    mp_tx_encode(out, sizeof(out), &sk, 0, 0, big, MP_TX_DATA_MAX + 1, &len, id),
	    CH_ERANGE);
	ch_seckey_wipe(&sk);
}

/* put_uint / put_key / put_bin: one value at p with the protocol's writer
 * (shortest forms); each returns the bytes written. */
static size_t put_uint(uint8_t *p, uint64_t v)
{
	pack_wr_t w;
	pack_wr_init(&w, p, 9);
	pack_wr_uint(&w, v);
	return pack_wr_end(&w);
}

static size_t put_key(uint8_t *p, const char *k)
{
	pack_wr_t w;
	pack_wr_init(&w, p, 32);
	pack_wr_str(&w, k);
	return pack_wr_end(&w);
}

static size_t put_bin(uint8_t *p, const void *b, size_t n)
{
	pack_wr_t w;
	pack_wr_init(&w, p, n + 5);
	pack_wr_bin(&w, b, (uint32_t)n);
	return pack_wr_end(&w);
}

/* A hand-made encoding: fields in the given order with raw value bytes. */
typedef struct {
	uint8_t b[MP_TX_MAX_SIZE + 64];
	size_t n;
} raw_t;

/* raw_bytes / raw_key: append to a hand-made encoding. */
static void raw_bytes(raw_t *r, const void *p, size_t n)
{
	memcpy(r->b + r->n, p, n);
	r->n += n;
}

static void raw_key(raw_t *r, const char *k)
{
	r->n += put_key(r->b + r->n, k);
}

/* base: vector 1 as parts, so one part at a time can be broken. */
static void raw_v1(raw_t *r, int skip, const char *extra_key)
{
	static const uint8_t pk[32] = {3};
	static const uint8_t sig[64] = {0};
	r->n = 0;
	uint8_t hdr = (uint8_t)(0x80 | (6 - (skip >= 0) + (extra_key != NULL)));
	raw_bytes(r, &hdr, 1);
	if (skip != 0)
		raw_key(r, "v"), r->n += put_uint(r->b + r->n, 1);
	if (skip != 1)
		raw_key(r, "from"), r->n += put_bin(r->b + r->n, pk, 32);
	if (skip != 2)
		raw_key(r, "nonce"), r->n += put_uint(r->b + r->n, 1);
	if (skip != 3)
		raw_key(r, "fee"), r->n += put_uint(r->b + r->n, 1000);
	if (skip != 4)
		raw_key(r, "data"), r->n += put_bin(r->b + r->n, "x", 1);
	if (extra_key)
		raw_key(r, extra_key), r->n += put_uint(r->b + r->n, 0);
	if (skip != 5)
		raw_key(r, "sig"), r->n += put_bin(r->b + r->n, sig, 64);
}

/* expect: decoding r gives rc, with why containing text. */
static void expect(const raw_t *r, int rc, const char *text)
{
	mp_tx_t tx;
	char why[160];
	int got = mp_tx_decode(r->b, r->n, &tx, why, sizeof(why));
	if (got != rc || !strstr(why, text))
		fail_msg("expected %d '%s', got %d '%s'", rc, text, got, why);
}

/* find: the offset of a byte string in r. */
static size_t find(const raw_t *r, const void *p, size_t n)
{
	for (size_t i = 0; i + n <= r->n; i++)
		if (memcmp(r->b + i, p, n) == 0)
			return i;
	fail_msg("pattern not found");
	return 0;
}

/* test_strict_rules: each decoding rule of docs/protocol.md 2.3. */
static void test_strict_rules(void **state)
{
	(void)state;
	raw_t r;
	mp_tx_t tx;
	raw_v1(&r, -1, NULL);
	assert_int_equal(mp_tx_decode(r.b, r.n, &tx, NULL, 0), 0);

	for (int f = 0; f < 6; f++) {
		static const char *const names[] = {"'v'",   "'from'", "'nonce'",
		                                    "'fee'", "'data'", "'sig'"};
		raw_v1(&r, f, NULL);
		expect(&r, CH_EPROTO, names[f]);
	}
	raw_v1(&r, -1, "memo");
	expect(&r, CH_EPROTO, "unknown key 'memo'");
	raw_v1(&r, -1, "fee");
	expect(&r, CH_EPROTO, "duplicate key 'fee'");

	/* keys out of order: swap "nonce" and "fee" entries */
	raw_v1(&r, -1, NULL);
	{
		raw_t o = {.n = 0};
		size_t a = find(&r, "\xa5nonce", 6),
		       b = find(&r,
		                "\xa3"
		                "fee",
		                4),
		       c = find(&r,
		                "\xa4"
		                "data",
		                5);
		raw_bytes(&o, r.b, a);
		raw_bytes(&o, r.b + b, c - b);
		raw_bytes(&o, r.b + a, b - a);
		raw_bytes(&o, r.b + c, r.n - c);
		expect(&o, CH_EPROTO, "out of canonical order");
	}
	/* non-canonical integers: fee 1000 as uint32, nonce 1 as uint8 */
	raw_v1(&r, -1, NULL);
	{
		size_t at = find(&r, "\xcd\x03\xe8", 3);
		raw_t o = {.n = 0};
		raw_bytes(&o, r.b, at);
		raw_bytes(&o, "\xce\x00\x00\x03\xe8", 5);
		raw_bytes(&o, r.b + at + 3, r.n - at - 3);
		expect(&o, CH_EPROTO, "non-canonical integer");
		at = find(&r, "nonce\x01", 6) + 5;
		o.n = 0;
		raw_bytes(&o, r.b, at);
		raw_bytes(&o, "\xcc\x01", 2);
		raw_bytes(&o, r.b + at + 1, r.n - at - 1);
		expect(&o, CH_EPROTO, "non-canonical integer");
		/* a signed integer for the fee */
		at = find(&r, "\xcd\x03\xe8", 3);
		o.n = 0;
		raw_bytes(&o, r.b, at);
		raw_bytes(&o, "\xd1\x03\xe8", 3);
		raw_bytes(&o, r.b + at + 3, r.n - at - 3);
		expect(&o, CH_EPROTO, "not an unsigned integer");
		/* a string where binary belongs */
		at = find(&r, "\xc4\x01x", 3);
		o.n = 0;
		raw_bytes(&o, r.b, at);
		raw_bytes(&o, "\xa1x", 2);
		raw_bytes(&o, r.b + at + 3, r.n - at - 3);
		expect(&o, CH_EPROTO, "not binary");
		/* bin 16 for one byte */
		o.n = 0;
		raw_bytes(&o, r.b, at);
		raw_bytes(&o, "\xc5\x00\x01x", 4);
		raw_bytes(&o, r.b + at + 3, r.n - at - 3);
		expect(&o, CH_EPROTO, "non-canonical length");
		/* a str8 key */
		at = find(&r,
		          "\xa3"
		          "fee",
		          4);
		o.n = 0;
		raw_bytes(&o, r.b, at);
		raw_bytes(&o,
		          "\xd9\x03"
		          "fee",
		          5);
		raw_bytes(&o, r.b + at + 4, r.n - at - 4);
		expect(&o, CH_EPROTO, "non-canonical key");
		/* an integer key */
		o.n = 0;
		raw_bytes(&o, r.b, at);
		raw_bytes(&o, "\x03", 1);
		raw_bytes(&o, r.b + at + 4, r.n - at - 4);
		expect(&o, CH_EPROTO, "not a string");
		/* version 2 */
		at = find(&r, "\xa1v\x01", 3);
		r.b[at + 2] = 2;
		expect(&r, CH_EPROTO, "unsupported version 2");
		r.b[at + 2] = 1;
		/* a 31-byte key */
		at = find(&r, "\xc4\x20\x03", 3);
		r.b[at + 1] = 31;
		expect(&r, CH_EPROTO, "");
		r.b[at + 1] = 32;
	}
	/* map headers */
	raw_v1(&r, -1, NULL);
	r.b[0] = 0x96;
	expect(&r, CH_EPROTO, "not a map");
	{
		raw_t o = {.n = 0};
		raw_bytes(&o, "\xde\x00\x06", 3);
		raw_bytes(&o, r.b + 1, r.n - 1);
		expect(&o, CH_EPROTO, "non-canonical map header");
	}
	/* trailing bytes */
	raw_v1(&r, -1, NULL);
	r.b[r.n++] = 0xc0;
	expect(&r, CH_EPROTO, "1 trailing bytes");
	/* sig of 63 bytes */
	raw_v1(&r, -1, NULL);
	r.n--;
	r.b[r.n - 64] = 63;
	expect(&r, CH_EPROTO, "'sig' is 63 bytes");
}

/* test_truncation_and_size: every prefix, and the size limits. */
static void test_truncation_and_size(void **state)
{
	(void)state;
	uint8_t buf[MP_TX_MAX_SIZE + 2];
	mp_tx_t tx;
	char why[160];
	size_t n = unhex(buf, sizeof(buf), V1_ENC);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(mp_tx_decode(buf, k, &tx, why, sizeof(why)), CH_EPROTO);
	assert_int_equal(mp_tx_decode(buf, n, &tx, why, sizeof(why)), 0);
	assert_int_equal(mp_tx_decode(buf, MP_TX_MAX_SIZE + 1, &tx, why, sizeof(why)), CH_ERANGE);
	assert_int_equal(mp_tx_decode(NULL, 10, &tx, why, sizeof(why)), CH_EINVAL);

	/* data one byte over the limit: CH_ERANGE, the caller's "too_large" */
	raw_t r = {.n = 0};
	static const uint8_t pk[32], sig[64];
	static uint8_t data[MP_TX_DATA_MAX + 1];
	raw_bytes(&r, "\x86", 1);
	raw_key(&r, "v"), r.n += put_uint(r.b + r.n, 1);
	raw_key(&r, "from"), r.n += put_bin(r.b + r.n, pk, 32);
	raw_key(&r, "nonce"), r.n += put_uint(r.b + r.n, 1);
	raw_key(&r, "fee"), r.n += put_uint(r.b + r.n, 1);
	raw_key(&r, "data"), r.n += put_bin(r.b + r.n, data, MP_TX_DATA_MAX + 1);
	raw_key(&r, "sig"), r.n += put_bin(r.b + r.n, sig, 64);
	assert_true(r.n <= MP_TX_MAX_SIZE);
	expect(&r, CH_ERANGE, "'data' is 32513 bytes");
	/* bin 32 claiming 4 GiB of data, in a short buffer */
	raw_t o = {.n = 0};
	size_t at = find(&r,
	                 "\xa4"
	                 "data",
	                 5) +
	            5;
	raw_bytes(&o, r.b, at);
	raw_bytes(&o, "\xc6\xff\xff\xff\xff", 5);
	expect(&o, CH_ERANGE, "4294967295 bytes");
	/* bin 32 for a short field is not canonical */
	o.n = at;
	raw_bytes(&o, "\xc6\x00\x00\x00\x01x", 6);
	expect(&o, CH_EPROTO, "non-canonical length");
}

/* reencode: the canonical encoding of decoded fields with their signature. */
static size_t reencode(const mp_tx_t *tx, uint8_t *out)
{
	size_t n = 1;
	out[0] = 0x86;
	n += put_key(out + n, "v");
	n += put_uint(out + n, 1);
	n += put_key(out + n, "from");
	n += put_bin(out + n, tx->from.b, 32);
	n += put_key(out + n, "nonce");
	n += put_uint(out + n, tx->nonce);
	n += put_key(out + n, "fee");
	n += put_uint(out + n, tx->fee);
	n += put_key(out + n, "data");
	n += put_bin(out + n, tx->data, tx->data_len);
	n += put_key(out + n, "sig");
	n += put_bin(out + n, tx->sig.b, 64);
	return n;
}

/* test_mutation_fuzz: what decodes re-encodes to the same bytes. */
static void test_mutation_fuzz(void **state)
{
	(void)state;
	uint8_t base[MP_TX_MAX_SIZE], buf[MP_TX_MAX_SIZE + 8], again[MP_TX_MAX_SIZE + 8];
	size_t n = unhex(base, sizeof(base), V1_ENC);
	rng_state = 20261122;
	unsigned ok = 0;
	for (int iter = 0; iter < 200000; iter++) {
		size_t m = n;
		memcpy(buf, base, n);
		int edits = 1 + (int)(rng() % 3);
		for (int e = 0; e < edits; e++) {
			size_t at = (size_t)(rng() % m);
			switch (rng() % 4) {
			case 0:
				buf[at] = (uint8_t)rng();
				break;
			case 1:
				buf[at] ^= (uint8_t)(1u << (rng() % 8));
				break;
			case 2: /* delete a byte */
				memmove(buf + at, buf + at + 1, m - at - 1);
				m--;
				break;
			case 3: /* insert a byte */
				memmove(buf + at + 1, buf + at, m - at);
				buf[at] = (uint8_t)rng();
				m++;
				break;
			}
		}
		mp_tx_t tx;
		char why[160];
		int rc = mp_tx_decode(buf, m, &tx, why, sizeof(why));
		assert_true(rc == 0 || rc == CH_EPROTO || rc == CH_ERANGE);
		if (rc == 0) {
			ok++;
			size_t k = reencode(&tx, again);
			assert_int_equal(k, m);
			assert_memory_equal(again, buf, m);
		} else {
			assert_true(why[0] != 0);
		}
	}
	/* value flips inside data or the signature keep it decodable */
	assert_true(ok > 1000);
}

/* test_names: every reason has a name. */
static void test_names(void **state)
{
	(void)state;
	assert_string_equal(mp_tx_reason_name(CH_TXR_FEE_TOO_LOW), "fee_too_low");
	assert_string_equal(mp_tx_reason_name(0), "accepted");
	assert_string_equal(mp_tx_reason_name(99), "unknown");
	for (int r = CH_TXR_MALFORMED; r <= CH_TXR_EXPIRED; r++)
		assert_string_not_equal(mp_tx_reason_name(r), "unknown");
	for (int r = CH_TXRM_INCLUDED; r <= CH_TXRM_REPLACED; r++)
		assert_string_not_equal(mp_tx_removal_name(r), "unknown");
}

/* main: runs every case in order. */
int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors_decode), cmocka_unit_test(test_vectors_encode),
	    cmocka_unit_test(test_strict_rules),   cmocka_unit_test(test_truncation_and_size),
	    cmocka_unit_test(test_mutation_fuzz),  cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
