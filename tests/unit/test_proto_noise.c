/* test_proto_noise.c: the handshake, sealed records, frame headers and
 * the table of message types (proto/noise.h, wire.h), driven directly (no
 * sockets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "err.h"
#include "hash.h"
#include "identity.h"
#include "noise.h"
#include "wire.h"

static void ident_from_seed(ch_identity_t *id, uint8_t fill)
{
	uint8_t seed[32];
	memset(seed, fill, sizeof(seed));
	memset(id, 0, sizeof(*id));
	ch_ed25519_seed_keypair(&id->pk, &id->sk, seed);
}

typedef struct pair {
	ch_identity_t a, b;
	noise_hs_t i, r;
	noise_cipher_t itx, irx, rtx, rrx;
} pair_t;

/* handshake: runs the three messages; returns the first failing step's
 * code.  expect: the key the initiator expects (NULL: any). */
static int handshake(pair_t *p, uint8_t isuites, uint8_t rsuites, const uint8_t *expect,
                     const uint8_t *ei, const uint8_t *er)
{
	uint8_t m1[NOISE_MSG1_LEN], m2[NOISE_MSG2_MAX], m3[NOISE_MSG3_MAX];
	size_t l2, l3, hl;
	const uint8_t *hello;
	assert_int_equal(noise_init(&p->i, true, &p->a, isuites, ei), 0);
	assert_int_equal(noise_init(&p->r, false, &p->b, rsuites, er), 0);
	assert_int_equal(noise_write_msg1(&p->i, m1), 0);
	int rc = noise_read_msg1(&p->r, m1, sizeof(m1));
	if (rc)
		return rc;
	assert_int_equal(
	    noise_write_msg2(&p->r, (const uint8_t *)"hello-r", 7, m2, sizeof(m2), &l2), 0);
	assert_int_equal(noise_msg2_len(m2, l2), l2);
	rc = noise_read_msg2(&p->i, m2, l2, expect, &hello, &hl);
	if (rc)
		return rc;
	assert_int_equal(hl, 7);
	assert_memory_equal(hello, "hello-r", 7);
	assert_memory_equal(p->i.remote_pk, p->b.pk.b, 32);
	assert_int_equal(noise_write_msg3(&p->i, (const uint8_t *)"hi", 2, m3, sizeof(m3), &l3), 0);
	assert_int_equal(noise_msg3_len(m3, l3), l3);
	rc = noise_read_msg3(&p->r, m3, l3, &hello, &hl);
	if (rc)
		return rc;
	assert_int_equal(hl, 2);
	assert_memory_equal(p->r.remote_pk, p->a.pk.b, 32);
	assert_memory_equal(p->i.h, p->r.h, 32);
	assert_int_equal(noise_split(&p->i, &p->itx, &p->irx), 0);
	assert_int_equal(noise_split(&p->r, &p->rtx, &p->rrx), 0);
	return 0;
}

static void roundtrip_records(pair_t *p)
{
	uint8_t pt[NOISE_REC_MAX], rec[NOISE_REC_MAX + NOISE_REC_OVERHEAD];
	for (size_t len = 0; len <= NOISE_REC_MAX; len += 997) {
		for (size_t k = 0; k < len; k++)
			pt[k] = (uint8_t)(k * 13 + len);
		size_t n = noise_seal(&p->itx, pt, len, rec);
		assert_int_equal(n, len + NOISE_REC_OVERHEAD);
		assert_int_equal(noise_rec_len(rec, n), n);
		assert_int_equal(noise_rec_len(rec, 3), 0);
		size_t plen;
		assert_int_equal(noise_open(&p->rrx, rec, n, &plen), 0);
		assert_int_equal(plen, len);
		assert_memory_equal(rec + NOISE_REC_HDR, pt, len);
	}
	/* the other direction uses another key */
	size_t n = noise_seal(&p->rtx, (const uint8_t *)"back", 4, rec), plen;
	assert_int_equal(noise_open(&p->irx, rec, n, &plen), 0);
	assert_memory_equal(rec + 4, "back", 4);
}

static void test_handshake_both_suites(void **state)
{
	(void)state;
	pair_t p;
	ident_from_seed(&p.a, 1);
	ident_from_seed(&p.b, 2);
	assert_int_equal(handshake(&p, NOISE_SUITE_CHACHA, NOISE_SUITE_CHACHA | NOISE_SUITE_AESGCM,
	                           p.b.pk.b, NULL, NULL),
	                 0);
	assert_int_equal(p.itx.suite, NOISE_SUITE_CHACHA);
	roundtrip_records(&p);
	if (crypto_aead_aes256gcm_is_available()) {
		assert_int_equal(handshake(&p, noise_suites_local(false), noise_suites_local(false),
		                           NULL, NULL, NULL),
		                 0);
		assert_int_equal(p.itx.suite, NOISE_SUITE_AESGCM);
		roundtrip_records(&p);
	}
}

static void test_impostor_refused(void **state)
{
	(void)state;
	pair_t p;
	ch_identity_t other;
	ident_from_seed(&p.a, 1);
	ident_from_seed(&p.b, 2);
	ident_from_seed(&other, 3);
	assert_int_equal(
	    handshake(&p, NOISE_SUITE_CHACHA, NOISE_SUITE_CHACHA, other.pk.b, NULL, NULL),
	    CH_EPERM);
}

static void test_bad_msg1(void **state)
{
	(void)state;
	ch_identity_t b;
	ident_from_seed(&b, 2);
	noise_hs_t r;
	uint8_t m1[NOISE_MSG1_LEN] = "GET / HTTP/1.1\r\nHost: x\r\n";
	noise_init(&r, false, &b, NOISE_SUITE_CHACHA, NULL);
	assert_int_equal(noise_read_msg1(&r, m1, sizeof(m1)), CH_EPROTO);
	memcpy(m1, "CHR1", 4);
	m1[4] = 99;
	noise_init(&r, false, &b, NOISE_SUITE_CHACHA, NULL);
	assert_int_equal(noise_read_msg1(&r, m1, sizeof(m1)), CH_EVERSION);
	m1[4] = NOISE_VERSION;
	m1[5] = 0x80; /* no suite in common */
	noise_init(&r, false, &b, NOISE_SUITE_CHACHA, NULL);
	assert_int_equal(noise_read_msg1(&r, m1, sizeof(m1)), CH_ECRYPTO);
	assert_int_equal(noise_read_msg1(&r, m1, 10), CH_EPROTO);
}

/* Flip each byte of msg2 and msg3 in turn: every tampering is caught. */
static void test_tampering_detected(void **state)
{
	(void)state;
	ch_identity_t a, b;
	ident_from_seed(&a, 1);
	ident_from_seed(&b, 2);
	uint8_t m1[NOISE_MSG1_LEN], m2[NOISE_MSG2_MAX], m3[NOISE_MSG3_MAX];
	size_t l2, l3, hl;
	const uint8_t *hello;
	noise_hs_t i, r;
	noise_init(&i, true, &a, NOISE_SUITE_CHACHA, NULL);
	noise_init(&r, false, &b, NOISE_SUITE_CHACHA, NULL);
	noise_write_msg1(&i, m1);
	assert_int_equal(noise_read_msg1(&r, m1, sizeof(m1)), 0);
	noise_write_msg2(&r, (const uint8_t *)"x", 1, m2, sizeof(m2), &l2);
	for (size_t k = 0; k < l2; k++) {
		noise_hs_t i2 = i;
		m2[k] ^= 0x40;
		assert_int_not_equal(noise_read_msg2(&i2, m2, l2, NULL, &hello, &hl), 0);
		m2[k] ^= 0x40;
	}
	assert_int_equal(noise_read_msg2(&i, m2, l2, NULL, &hello, &hl), 0);
	noise_write_msg3(&i, (const uint8_t *)"y", 1, m3, sizeof(m3), &l3);
	for (size_t k = 0; k < l3; k++) {
		noise_hs_t r2 = r;
		m3[k] ^= 0x01;
		assert_int_not_equal(noise_read_msg3(&r2, m3, l3, &hello, &hl), 0);
		m3[k] ^= 0x01;
	}
	assert_int_equal(noise_read_msg3(&r, m3, l3, &hello, &hl), 0);
}

static void test_records_reject_tamper_replay_reorder(void **state)
{
	(void)state;
	pair_t p;
	ident_from_seed(&p.a, 1);
	ident_from_seed(&p.b, 2);
	assert_int_equal(handshake(&p, NOISE_SUITE_CHACHA, NOISE_SUITE_CHACHA, NULL, NULL, NULL),
	                 0);
	uint8_t r1[64], r2[64], copy[64];
	size_t n1 = noise_seal(&p.itx, (const uint8_t *)"first", 5, r1);
	size_t n2 = noise_seal(&p.itx, (const uint8_t *)"second", 6, r2);
	size_t plen;
	memcpy(copy, r2, n2);
	assert_int_equal(noise_open(&p.rrx, copy, n2, &plen), CH_ECRYPTO); /* out of order */
	memcpy(copy, r1, n1);
	copy[n1 - 1] ^= 1;
	assert_int_equal(noise_open(&p.rrx, copy, n1, &plen), CH_ECRYPTO); /* bad tag */
	memcpy(copy, r1, n1);
	assert_int_equal(noise_open(&p.rrx, copy, n1, &plen), 0);
	memcpy(copy, r1, n1);
	assert_int_equal(noise_open(&p.rrx, copy, n1, &plen), CH_ECRYPTO); /* replay */
	assert_int_equal(noise_open(&p.rrx, r2, n2, &plen), 0);
	uint8_t huge[4] = {0x7f, 0xff, 0xff, 0xff};
	assert_int_equal(noise_rec_len(huge, 4), SIZE_MAX);
	uint8_t tiny[4] = {0, 0, 0, 3};
	assert_int_equal(noise_rec_len(tiny, 4), SIZE_MAX);
}

static void hex(const char *label, const uint8_t *b, size_t n)
{
	char buf[2 * 256 + 1];
	ch_hex_encode(buf, sizeof(buf), b, n < 256 ? n : 256);
	printf("%s %s\n", label, buf);
}

/* Test vectors of docs/protocol.md: fixed identities (seeds 0x01.. and
 * 0x02..), fixed ephemerals (0x11.. and 0x22..), ChaCha20-Poly1305, hellos
 * "hello-r" and "hi".  Deterministic: ed25519 signatures are. */
static void test_vectors(void **state)
{
	(void)state;
	pair_t p;
	uint8_t ei[32], er[32];
	memset(ei, 0x11, 32);
	memset(er, 0x22, 32);
	ident_from_seed(&p.a, 1);
	ident_from_seed(&p.b, 2);
	assert_int_equal(handshake(&p, NOISE_SUITE_CHACHA, NOISE_SUITE_CHACHA, NULL, ei, er), 0);
	hex("transcript_h3", p.i.h, 32);
	uint8_t rec[64];
	size_t n = noise_seal(&p.itx, (const uint8_t *)"chorus", 6, rec);
	hex("first_record_i2r", rec, n);
	char h3[65];
	ch_hex_encode(h3, sizeof(h3), p.i.h, 32);
	assert_string_equal(h3, "5e9bdb4a80d3bde0ff17a1176ddb224c9e794708e301d3a78046cc1657b11abd");
	char r1[2 * 64 + 1];
	ch_hex_encode(r1, sizeof(r1), rec, n);
	assert_string_equal(r1, "00000016e41ccbd3fd1f559c943ad7cd2fb18342f5297c98cba0");
}

static void test_frame_headers(void **state)
{
	(void)state;
	uint8_t magic[4], other[4], hdr[WIRE_HDR_LEN];
	wire_magic("main", magic);
	wire_magic("test", other);
	assert_memory_not_equal(magic, other, 4);
	const char *payload = "\x81\xa1n\x01";
	wire_put_hdr(hdr, magic, WIRE_PING, payload, 4);
	wire_hdr_t h;
	assert_int_equal(wire_get_hdr(hdr, magic, 1 << 20, &h), 0);
	assert_int_equal(h.type, WIRE_PING);
	assert_int_equal(h.len, 4);
	assert_true(wire_crc_ok(&h, payload));
	assert_false(wire_crc_ok(&h, "\x81\xa1n\x02"));
	assert_int_equal(wire_get_hdr(hdr, other, 1 << 20, &h), CH_EPROTO);
	hdr[5] = 0x10; /* 256 MiB: above every maximum */
	assert_int_equal(wire_get_hdr(hdr, magic, 1 << 20, &h), CH_ERANGE);
	hdr[5] = 0;
	hdr[4] = 200; /* unknown type within the skip limit */
	assert_int_equal(wire_get_hdr(hdr, magic, 1 << 20, &h), 0);
	assert_int_equal(wire_max_len(200, 1 << 20), 0);
	/* the table of docs/protocol.md 1.4: number, name, largest payload */
	static const struct {
		uint8_t type;
		const char *name;
		uint32_t max;
	} table[] = {{1, "PING", 64},        {2, "PONG", 64},    {3, "GETPEERS", 64},
	             {4, "PEERS", 16384},    {5, "INV", 40016},  {6, "GETDATA", 40016},
	             {7, "NOTFOUND", 40016}, {8, "TX", 131072},  {9, "BLOCK", 777},
	             {10, "REJECT", 512},    {11, "UNKNOWN", 0}, {0, "UNKNOWN", 0}};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		assert_string_equal(wire_type_name(table[i].type), table[i].name);
		assert_int_equal(wire_max_len(table[i].type, 777), table[i].max);
	}
	assert_string_equal(wire_type_name(WIRE_BLOCK), "BLOCK");
	assert_string_equal(wire_type_name(200), "UNKNOWN");
	/* CRC-32C check value */
	assert_int_equal(ch_crc32c(0, "123456789", 9), 0xe3069283);
	/* a CRC over pieces equals the CRC over the whole */
	assert_int_equal(ch_crc32c(ch_crc32c(0, "1234", 4), "56789", 5), 0xe3069283);
}

int main(void)
{
	ch_crypto_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handshake_both_suites),
	    cmocka_unit_test(test_impostor_refused),
	    cmocka_unit_test(test_bad_msg1),
	    cmocka_unit_test(test_tampering_detected),
	    cmocka_unit_test(test_records_reject_tamper_replay_reorder),
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_frame_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
