/* test_proto_pex.c: the peer exchange payloads (proto/pex.h) of
 * docs/protocol.md section 1: PEERS and GETPEERS against hand-assembled
 * bytes (msgpack spec, BEP 5 compact peer info); round trips of IPv4 and
 * IPv6 addresses; a cap on what one PEERS gives; malformed messages
 * refused whole, malformed entries skipped and counted; the 16 KiB wire
 * maximum at encode and decode; every truncation refused; a seeded loop of
 * byte mutations never reads outside the input (ASan checks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "pex.h"

/* v4: a.b.c.d:port. */
static pex_addr_t v4(unsigned a, unsigned b, unsigned c, unsigned d, uint16_t port)
{
	pex_addr_t x;
	uint8_t ip[4] = {(uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d};
	uint32_t be;

	memcpy(&be, ip, 4);
	pex_addr_from_v4(&x, be, port);
	return x;
}

/* not_zero: the caller's check of the tests: 0.0.0.0 is refused. */
static bool not_zero(const pex_addr_t *a)
{
	uint32_t ip;
	return !(pex_addr_is_v4(a, &ip) && ip == 0);
}

static bool same(const pex_addr_t *a, const pex_addr_t *b)
{
	return memcmp(a->ip, b->ip, 16) == 0 && a->port == b->port;
}

/* PEERS of 127.10.0.1:7433 and [2001:db8::5]:9000, byte by byte. */
static void test_peers_vector(void **state)
{
	static const uint8_t want[] = {0x81, 0xa1, 'a',  0x92,                         /* {"a": [ */
	                               0xc4, 6,    127,  10,   0,    1,    0x1d, 0x09, /* bin6 */
	                               0xc4, 18,   0x20, 0x01, 0x0d, 0xb8, 0,    0,
	                               0,    0,    0,    0,    0,    0,    0, /* bin18 */
	                               0,    0,    5,    0x23, 0x28};
	pex_addr_t in[2], out[4];
	uint8_t *buf = NULL;
	size_t len = 0, n = 0;
	pex_stats_t st;

	(void)state;
	in[0] = v4(127, 10, 0, 1, 7433);
	memset(&in[1], 0, sizeof(in[1]));
	in[1].ip[0] = 0x20, in[1].ip[1] = 0x01, in[1].ip[2] = 0x0d, in[1].ip[3] = 0xb8;
	in[1].ip[15] = 5;
	in[1].port = 9000;
	assert_false(pex_addr_is_v4(&in[1], NULL));
	assert_int_equal(pex_peers_encode(in, 2, &buf, &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(pex_peers_decode(buf, len, not_zero, out, 4, &n, &st), 0);
	assert_int_equal(n, 2);
	assert_true(same(&out[0], &in[0]) && same(&out[1], &in[1]));
	assert_int_equal(st.total, 2);
	assert_int_equal(st.bad + st.dropped, 0);
	/* a cap on what one message gives */
	assert_int_equal(pex_peers_decode(buf, len, NULL, out, 1, &n, &st), 0);
	assert_int_equal(n, 1);
	assert_int_equal(st.dropped, 1);
	/* every truncation is refused whole */
	for (size_t k = 0; k < len; k++) {
		assert_int_equal(pex_peers_decode(buf, k, NULL, out, 4, &n, &st), CH_EPROTO);
		assert_int_equal(n, 0);
		assert_int_equal(st.total, 0);
	}
	free(buf);
	/* an empty list */
	assert_int_equal(pex_peers_encode(in, 0, &buf, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(buf,
	                    "\x81\xa1"
	                    "a\x90",
	                    4);
	assert_int_equal(pex_peers_decode(buf, len, NULL, out, 4, &n, NULL), 0);
	assert_int_equal(n, 0);
	free(buf);
}

static void test_getpeers(void **state)
{
	uint8_t gp[8];
	static uint8_t big[WIRE_GETPEERS_MAX + 1] = {0x80};

	(void)state;
	assert_int_equal(pex_getpeers_encode(gp, sizeof(gp)), 1);
	assert_int_equal(gp[0], 0x80);
	assert_int_equal(pex_getpeers_check(gp, 1), 0);
	assert_int_equal(pex_getpeers_encode(gp, 0), 0);
	assert_int_equal(pex_getpeers_check(gp, 0), CH_EPROTO);
	assert_int_equal(pex_getpeers_check((const uint8_t *)"\x91\x01", 2), CH_EPROTO); /* array */
	assert_int_equal(pex_getpeers_check(big, sizeof(big)), CH_EPROTO);
	/* a newer version's keys are fine; a broken map or trailing bytes not */
	assert_int_equal(pex_getpeers_check((const uint8_t *)"\x81\xa1x\x92\x01\xc0", 6), 0);
	assert_int_equal(pex_getpeers_check((const uint8_t *)"\x81\xa1x", 3), CH_EPROTO);
	assert_int_equal(pex_getpeers_check((const uint8_t *)"\x80\x80", 2), CH_EPROTO);
	assert_int_equal(pex_getpeers_check((const uint8_t *)"\x81\xa1x\xc1", 4), CH_EPROTO);
}

/* Malformed PEERS payloads: refused whole, or skipped entry by entry. */
static void test_peers_malformed(void **state)
{
	pex_addr_t out[8];
	size_t n = 9;
	pex_stats_t st;
	/* {"a": [bin5, bin6 0.0.0.0:1, "x", bin6 10.0.0.1:7213]} */
	const uint8_t mixed[] = {0x81, 0xa1, 'a', 0x94, 0xc4, 5, 1, 2,    3,   4,
	                         5,    0xc4, 6,   0,    0,    0, 0, 0,    1,   0xa1,
	                         'x',  0xc4, 6,   10,   0,    0, 1, 0x1c, 0x2d};

	(void)state;
	assert_int_equal(pex_peers_decode((const uint8_t *)"\x80", 1, NULL, out, 8, &n, &st),
	                 CH_EPROTO); /* no "a" */
	assert_int_equal(n, 0);
	assert_int_equal(pex_peers_decode((const uint8_t *)"\x81\xa1"
	                                                   "a\x01",
	                                  4, NULL, out, 8, &n, NULL),
	                 CH_EPROTO); /* "a" not an array */
	assert_int_equal(
	    pex_peers_decode((const uint8_t *)"\x92\x01\x02", 3, NULL, out, 8, &n, NULL),
	    CH_EPROTO); /* not a map */
	assert_int_equal(pex_peers_decode((const uint8_t *)"\x82\xa1"
	                                                   "a\x90\xa1"
	                                                   "a\x90",
	                                  7, NULL, out, 8, &n, NULL),
	                 CH_EPROTO); /* "a" twice */
	assert_int_equal(pex_peers_decode((const uint8_t *)"\x82\x01\x02\xa1"
	                                                   "a\x90",
	                                  6, NULL, out, 8, &n, NULL),
	                 CH_EPROTO); /* a key that is not a string */
	assert_int_equal(pex_peers_decode((const uint8_t *)"\x82\xa1z\x91\x01\xa1"
	                                                   "a\x90",
	                                  8, NULL, out, 8, &n, NULL),
	                 0); /* a newer version's key */
	assert_int_equal(pex_peers_decode(NULL, 0, NULL, out, 8, &n, NULL), CH_EPROTO);
	assert_int_equal(pex_peers_decode(mixed, sizeof(mixed), not_zero, out, 8, &n, &st), 0);
	assert_int_equal(n, 1);
	assert_int_equal(st.total, 4);
	assert_int_equal(st.bad, 3);
	assert_true(same(&out[0], &(pex_addr_t){0}) == false);
	assert_int_equal(out[0].port, 0x1c2d);
	/* without the caller's check 0.0.0.0:1 is an address */
	assert_int_equal(pex_peers_decode(mixed, sizeof(mixed), NULL, out, 8, &n, &st), 0);
	assert_int_equal(n, 2);
	assert_int_equal(st.bad, 2);
	/* more addresses than 16 KiB hold: refused at encode and at decode */
	static pex_addr_t many[2100];
	uint8_t *buf = NULL;
	size_t len;
	for (int i = 0; i < 2100; i++)
		many[i] = v4(10, 0, (unsigned)i / 200, (unsigned)i % 200 + 1, 1);
	assert_int_equal(pex_peers_encode(many, 2100, &buf, &len), CH_ERANGE);
	assert_int_equal(pex_peers_encode(many, 2000, &buf, &len), 0);
	assert_true(len <= WIRE_PEERS_MAX);
	static pex_addr_t back[2000];
	assert_int_equal(pex_peers_decode(buf, len, NULL, back, 2000, &n, NULL), 0);
	assert_int_equal(n, 2000);
	assert_true(same(&back[1999], &many[1999]));
	free(buf);
	static uint8_t huge[WIRE_PEERS_MAX + 1];
	memcpy(huge,
	       "\x81\xa1"
	       "a\x90",
	       4);
	assert_int_equal(pex_peers_decode(huge, sizeof(huge), NULL, back, 8, &n, NULL), CH_EPROTO);
}

/* A seeded loop of mutations: never a crash or a read outside the input;
 * what decodes gives at most max addresses and consistent counts. */
static void test_mutations(void **state)
{
	pex_addr_t in[20], out[20];
	uint8_t *buf, m[512];
	size_t len, n;
	pex_stats_t st;
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (int i = 0; i < 20; i++)
		in[i] = v4(10, 1, (unsigned)i, 1, (uint16_t)(1000 + i));
	assert_int_equal(pex_peers_encode(in, 20, &buf, &len), 0);
	for (int round = 0; round < 20000; round++) {
		memcpy(m, buf, len);
		for (int k = 0; k < 1 + round % 4; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			m[x % len] = (uint8_t)(x >> 32);
		}
		size_t ml = len - (x >> 40) % 8;
		int rc = pex_peers_decode(m, ml, NULL, out, 10, &n, &st);
		if (rc == 0) {
			assert_true(n <= 10);
			assert_true(n + st.bad + st.dropped == st.total);
		} else {
			assert_int_equal(n, 0);
		}
		(void)pex_getpeers_check(m, ml < WIRE_GETPEERS_MAX ? ml : WIRE_GETPEERS_MAX);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_peers_vector),
	    cmocka_unit_test(test_getpeers),
	    cmocka_unit_test(test_peers_malformed),
	    cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
