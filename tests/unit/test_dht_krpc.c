/* test_dht_krpc.c: KRPC messages against the example packets of BEP 5
 * (parsed, then re-encoded byte for byte), messages with wrong types or
 * lengths rejected with their reason, and BEP 44's test vectors: the
 * signed buffers, the targets and the signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "hash.h"
#include "services/discovery/dht.h"
#include "services/discovery/krpc.h"

/* roundtrip_n: parses s[0..len) and re-encodes it; the bytes must be
 * identical. */
static void roundtrip_n(const char *s, size_t len, krpc_msg_t *m)
{
	uint8_t out[KRPC_PKT_MAX];
	size_t n = 0;
	krpc_err_t e = krpc_parse((const uint8_t *)s, len, m, NULL);

	if (e != KRPC_OK)
		fail_msg("parse '%s': %s", s, krpc_err_name(e));
	assert_int_equal(krpc_encode(m, out, sizeof(out), &n), 0);
	if (n != len || memcmp(out, s, n) != 0)
		fail_msg("re-encoded\n  %.*s\nwant\n  %s", (int)n, out, s);
}

/* roundtrip: roundtrip_n of a C string. */
static void roundtrip(const char *s, krpc_msg_t *m)
{
	roundtrip_n(s, strlen(s), m);
}

static void test_bep5_examples(void **state)
{
	krpc_msg_t m;

	(void)state;
	roundtrip("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe", &m);
	assert_int_equal(m.y, KRPC_QUERY);
	assert_int_equal(m.q, KRPC_M_PING);
	assert_memory_equal(m.id, "abcdefghij0123456789", 20);
	assert_memory_equal(m.t.p, "aa", 2);
	roundtrip("d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re", &m);
	assert_int_equal(m.y, KRPC_RESPONSE);
	roundtrip("d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:"
	          "t2:aa1:y1:qe",
	          &m);
	assert_int_equal(m.q, KRPC_M_FIND_NODE);
	assert_true(m.has_target);
	assert_memory_equal(m.target, "mnopqrstuvwxyz123456", 20);
	roundtrip("d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_"
	          "peers1:t2:aa1:y1:qe",
	          &m);
	assert_int_equal(m.q, KRPC_M_GET_PEERS);
	assert_true(m.has_info_hash);
	roundtrip(
	    "d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:"
	    "aa1:y1:re",
	    &m);
	assert_int_equal(m.nvalues, 2);
	assert_memory_equal(m.values[1], "idhtnm", 6);
	assert_memory_equal(m.token.p, "aoeusnth", 8);
	roundtrip(
	    "d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234"
	    "564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe",
	    &m);
	assert_int_equal(m.q, KRPC_M_ANNOUNCE_PEER);
	assert_true(m.implied_port);
	assert_true(m.has_port);
	assert_int_equal(m.port, 6881);
	roundtrip("d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee", &m);
	assert_int_equal(m.y, KRPC_ERROR);
	assert_int_equal(m.ecode, 201);
	assert_int_equal(m.emsg.n, 23);
	/* nodes: a multiple of 26 bytes */
	{
		static const char nodes[] =
		    "d1:rd2:id20:0123456789abcdefghij5:nodes26:ABCDEFGHIJKLMNO"
		    "PQRST\x7f\x00\x00\x01\x1a\xe1"
		    "e1:t2:aa1:y1:re";

		roundtrip_n(nodes, sizeof(nodes) - 1, &m);
	}
	assert_int_equal(m.nodes.n, 26);
	/* an unknown method still parses (the handler answers 204) */
	roundtrip("d1:ad2:id20:abcdefghij0123456789e1:q5:vote!1:t2:aa1:y1:qe", &m);
	assert_int_equal(m.q, KRPC_M_UNKNOWN);
	assert_string_equal(krpc_method_name(KRPC_M_ANNOUNCE_PEER), "announce_peer");
}

/* BEP 44 put and get messages, with the keys sorted as bencoding wants. */
static void test_bep44_messages(void **state)
{
	krpc_msg_t m;
	char sig[65], k[33], msg[512];

	(void)state;
	memset(sig, 'S', 64);
	sig[64] = 0;
	memset(k, 'K', 32);
	k[32] = 0;
	snprintf(
	    msg, sizeof(msg),
	    "d1:ad3:casi3e2:id20:abcdefghij01234567891:k32:%s4:salt6:foobar3:seqi4e3:sig64:%s5:"
	    "token8:aoeusnth1:v12:Hello World!e1:q3:put1:t2:aa1:y1:qe",
	    k, sig);
	roundtrip(msg, &m);
	assert_int_equal(m.q, KRPC_M_PUT);
	assert_true(m.has_cas && m.cas == 3);
	assert_true(m.has_seq && m.seq == 4);
	assert_int_equal(m.salt.n, 6);
	assert_int_equal(m.v.n, strlen("12:Hello World!"));
	snprintf(msg, sizeof(msg),
	         "d1:rd2:id20:abcdefghij01234567891:k32:%s5:nodes0:3:seqi4e3:sig64:%s5:token2:tk1:"
	         "vli1e1:xee1:t2:aa1:y1:re",
	         k, sig);
	roundtrip(msg, &m);
	/* v is kept verbatim, whatever its type */
	assert_int_equal(m.v.n, strlen("li1e1:xe"));
	assert_memory_equal(m.v.p, "li1e1:xe", m.v.n);
}

/* A wrong type or length for each checked field: rejected with its
 * reason; a query keeps its tid so it can be answered with 203. */
static void test_rejections(void **state)
{
	static const struct {
		const char *in;
		krpc_err_t why;
	} bad[] = {
	    {"i1e", KRPC_ERR_NOT_DICT},
	    {"l1:ae", KRPC_ERR_NOT_DICT},
	    {"d1:y1:qe", KRPC_ERR_TID},
	    {"d1:ti1e1:y1:qe", KRPC_ERR_TID},
	    {"d1:t0:1:y1:qe", KRPC_ERR_TID},
	    {"d1:t17:aaaaaaaaaaaaaaaaa1:y1:qe", KRPC_ERR_TID},
	    {"d1:t2:aae", KRPC_ERR_Y},
	    {"d1:t2:aa1:y1:xe", KRPC_ERR_Y},
	    {"d1:t2:aa1:y2:qqe", KRPC_ERR_Y},
	    {"d1:t2:aa1:yi1ee", KRPC_ERR_Y},
	    {"d1:t2:aa1:y1:qe", KRPC_ERR_BODY},
	    {"d1:ale1:q4:ping1:t2:aa1:y1:qe", KRPC_ERR_BODY},
	    {"d1:ade1:qi1e1:t2:aa1:y1:qe", KRPC_ERR_BODY},
	    {"d1:t2:aa1:y1:re", KRPC_ERR_BODY},
	    {"d1:eli201ee1:t2:aa1:y1:ee", KRPC_ERR_BODY},
	    {"d1:el1:x1:ye1:t2:aa1:y1:ee", KRPC_ERR_BODY},
	    {"d1:ade1:q4:ping1:t2:aa1:y1:qe", KRPC_ERR_ID},
	    {"d1:ad2:id19:abcdefghij012345678e1:q4:ping1:t2:aa1:y1:qe", KRPC_ERR_ID},
	    {"d1:ad2:idi1ee1:q4:ping1:t2:aa1:y1:qe", KRPC_ERR_ID},
	    {"d1:ad2:id20:abcdefghij01234567896:target19:mnopqrstuvwxyz12345e1:q9:find_node1:t2:"
	     "aa1:y1:qe",
	     KRPC_ERR_ARG},
	    {"d1:ad2:id20:abcdefghij01234567894:port4:6881e1:q13:announce_peer1:t2:aa1:y1:qe",
	     KRPC_ERR_ARG},
	    {"d1:ad2:id20:abcdefghij01234567891:k3:abce1:q3:put1:t2:aa1:y1:qe", KRPC_ERR_ARG},
	    {"d1:rd2:id20:abcdefghij01234567895:nodes25:aaaaaaaaaaaaaaaaaaaaaaaaae1:t2:aa1:y1:re",
	     KRPC_ERR_ARG},
	    {"d1:rd2:id20:abcdefghij01234567896:values4:spame1:t2:aa1:y1:re", KRPC_ERR_ARG},
	    {"d1:ad2:id20:abcdefghij01234567895:token33:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaae1:q3:"
	     "put1:t2:aa1:y1:qe",
	     KRPC_ERR_ARG},
	    {"xyz", KRPC_ERR_BENCODE},
	};
	ben_stats_t bst = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		krpc_msg_t m;
		krpc_err_t e = krpc_parse((const uint8_t *)bad[i].in, strlen(bad[i].in), &m, &bst);

		if (e != bad[i].why)
			fail_msg("'%s': got %s, want %s", bad[i].in, krpc_err_name(e),
			         krpc_err_name(bad[i].why));
		if (e == KRPC_ERR_ID || e == KRPC_ERR_ARG)
			assert_true(m.t.n == 2 && m.y != KRPC_NONE);
	}
	assert_int_equal(bst.rejected[BEN_ERR_SYNTAX], 1);
}

/* Peers of another length (IPv6) in "values" are skipped, not fatal; a
 * huge values list is capped at KRPC_MAX_VALUES. */
static void test_values_bounds(void **state)
{
	char buf[4096];
	size_t n = 0;
	krpc_msg_t m;

	(void)state;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n,
	                      "d1:rd2:id20:abcdefghij01234567896:valuesl18:aaaaaaaaaaaaaaaaaa");
	for (int i = 0; i < 150; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "6:%06d", i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "ee1:t2:aa1:y1:re");
	assert_int_equal(krpc_parse((const uint8_t *)buf, n, &m, NULL), KRPC_OK);
	assert_int_equal(m.nvalues, KRPC_MAX_VALUES);
	assert_memory_equal(m.values[0], "000000", 6);
}

/* Decodes a hex vector of exactly len bytes. */
static void unhex(void *out, size_t len, const char *hex)
{
	size_t n = 0;

	assert_int_equal(ch_hex_decode(out, len, hex, &n), 0);
	assert_int_equal(n, len);
}

/* BEP 44 test vectors 1-3. */
static void test_bep44_vectors(void **state)
{
	const char *v = "12:Hello World!";
	uint8_t pk[32], sig1[64], sig2[64], want[20], t[20], buf[256];
	size_t n;

	(void)state;
	unhex(pk, 32, "77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548");
	unhex(sig1, 64,
	      "305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff1260d3f39e4999684aa9"
	      "2eb7"
	      "3ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01");
	unhex(sig2, 64,
	      "6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17ddf9a8a7104b1258f30be"
	      "d378"
	      "7e6cb896fca78c58f8e03b5f18f14951a87d9a08");
	/* test 1: mutable, no salt */
	n = krpc_sig_buf(buf, sizeof(buf), NULL, 0, 1, (const uint8_t *)v, strlen(v));
	assert_int_equal(n, strlen("3:seqi1e1:v12:Hello World!"));
	assert_memory_equal(buf, "3:seqi1e1:v12:Hello World!", n);
	dht_item_target(true, pk, NULL, 0, NULL, 0, t);
	unhex(want, 20, "4a533d47ec9c7d95b1ad75f576cffc641853b750");
	assert_memory_equal(t, want, 20);
	assert_int_equal(dht_item_verify(pk, sig1, NULL, 0, 1, (const uint8_t *)v, strlen(v)), 0);
	/* test 2: mutable with salt */
	n = krpc_sig_buf(buf, sizeof(buf), (const uint8_t *)"foobar", 6, 1, (const uint8_t *)v,
	                 strlen(v));
	assert_memory_equal(buf, "4:salt6:foobar3:seqi1e1:v12:Hello World!", n);
	dht_item_target(true, pk, (const uint8_t *)"foobar", 6, NULL, 0, t);
	unhex(want, 20, "411eba73b6f087ca51a3795d9c8c938d365e32c1");
	assert_memory_equal(t, want, 20);
	assert_int_equal(dht_item_verify(pk, sig2, (const uint8_t *)"foobar", 6, 1,
	                                 (const uint8_t *)v, strlen(v)),
	                 0);
	/* wrong salt, seq, value or signature: rejected */
	assert_int_equal(dht_item_verify(pk, sig2, NULL, 0, 1, (const uint8_t *)v, strlen(v)),
	                 CH_ECRYPTO);
	assert_int_equal(dht_item_verify(pk, sig1, NULL, 0, 2, (const uint8_t *)v, strlen(v)),
	                 CH_ECRYPTO);
	assert_int_equal(
	    dht_item_verify(pk, sig1, NULL, 0, 1, (const uint8_t *)"12:Hello World?", strlen(v)),
	    CH_ECRYPTO);
	sig1[10] ^= 1;
	assert_int_equal(dht_item_verify(pk, sig1, NULL, 0, 1, (const uint8_t *)v, strlen(v)),
	                 CH_ECRYPTO);
	/* test 3: immutable */
	dht_item_target(false, NULL, NULL, 0, (const uint8_t *)v, strlen(v), t);
	unhex(want, 20, "e5f96f6f38320f0f33959cb4d3d656452117aadb");
	assert_memory_equal(t, want, 20);
	/* the signing buffer never overflows silently */
	assert_int_equal(krpc_sig_buf(buf, 10, NULL, 0, 1, (const uint8_t *)v, strlen(v)), 0);
}

/* Our own signatures verify, over the exact BEP 44 buffer. */
static void test_sign_verify(void **state)
{
	ch_pubkey_t pk;
	ch_seckey_t sk;
	ch_sig_t sig;
	uint8_t seed[32] = {1, 2, 3}, buf[256];
	const char *v = "d1:ai1ee";
	size_t n;

	(void)state;
	assert_int_equal(ch_ed25519_seed_keypair(&pk, &sk, seed), 0);
	n = krpc_sig_buf(buf, sizeof(buf), (const uint8_t *)"n", 1, 7, (const uint8_t *)v,
	                 strlen(v));
	assert_memory_equal(buf, "4:salt1:n3:seqi7e1:vd1:ai1ee", n);
	assert_int_equal(ch_ed25519_sign(&sig, buf, n, &sk), 0);
	assert_int_equal(
	    dht_item_verify(pk.b, sig.b, (const uint8_t *)"n", 1, 7, (const uint8_t *)v, strlen(v)),
	    0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bep5_examples), cmocka_unit_test(test_bep44_messages),
	    cmocka_unit_test(test_rejections),    cmocka_unit_test(test_values_bounds),
	    cmocka_unit_test(test_bep44_vectors), cmocka_unit_test(test_sign_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
