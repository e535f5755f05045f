/* test_dht_core.c: one DHT core answering hand-made datagrams: the six
 * queries of BEP 5 and BEP 44 with their replies; the error codes 203,
 * 204, 205, 206, 207, 301 and 302; tokens accepted for one rotation and
 * refused after two; BEP 44's vector 1 stored and served; the get "seq"
 * filter; malformed datagrams counted and never answered unless they are
 * nameable queries; replies that match no request (late or spoofed)
 * ignored; the incoming-query token bucket; verification pings. */
#include <arpa/inet.h>
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
#include "services/discovery/dht.h"

#define S (1000000000ull)

/* Every datagram the core sends, the last one kept whole. */
typedef struct cap {
	uint8_t last[KRPC_PKT_MAX];
	size_t last_len;
	dht_addr_t last_to;
	uint32_t sent;
} cap_t;

static int cap_send(void *arg, const uint8_t *pkt, size_t len, const dht_addr_t *to)
{
	cap_t *c = arg;

	memcpy(c->last, pkt, len);
	c->last_len = len;
	c->last_to = *to;
	c->sent++;
	return 0;
}

static uint64_t seedv = 42;

static void det_rand(void *arg, void *buf, size_t n)
{
	uint8_t *b = buf;

	(void)arg;
	for (size_t i = 0; i < n; i++) {
		seedv ^= seedv << 13;
		seedv ^= seedv >> 7;
		seedv ^= seedv << 17;
		b[i] = (uint8_t)seedv;
	}
}

typedef struct fix {
	dht_t *d;
	cap_t cap;
	dht_config_t cfg;
	uint64_t now;
	dht_addr_t peer;
} fix_t;

static int setup(void **state)
{
	fix_t *f = calloc(1, sizeof(*f));

	dht_config_default(&f->cfg);
	memset(f->cfg.id, 0x11, 20);
	f->cfg.send = cap_send;
	f->cfg.send_arg = &f->cap;
	f->cfg.rand = det_rand;
	/* most cases send many packets from one address at one instant: the
	 * per-source limits have their own case */
	f->cfg.max_qps_addr = f->cfg.max_qps_group = 0;
	f->now = 10 * S;
	f->d = dht_new(&f->cfg, f->now);
	f->peer.ip = htonl(0x0a000001);
	f->peer.port = 6881;
	*state = f;
	return f->d == NULL;
}

static int teardown(void **state)
{
	fix_t *f = *state;

	dht_destroy(&f->d);
	dht_destroy(&f->d); /* safe twice */
	free(f);
	return 0;
}

/* ask: feeds pkt (len bytes; 0: strlen) from the peer and parses the
 * answer into m (returns false if nothing was sent). */
static bool ask(fix_t *f, const char *pkt, size_t len, krpc_msg_t *m)
{
	uint32_t before = f->cap.sent;

	dht_input(f->d, (const uint8_t *)pkt, len ? len : strlen(pkt), &f->peer, f->now);
	if (f->cap.sent == before)
		return false;
	assert_int_equal(krpc_parse(f->cap.last, f->cap.last_len, m, NULL), KRPC_OK);
	return true;
}

/* expect_error: the answer is a KRPC error with code. */
static void expect_error(fix_t *f, const char *pkt, size_t len, int64_t code)
{
	krpc_msg_t m;

	assert_true(ask(f, pkt, len, &m));
	if (m.y != KRPC_ERROR || m.ecode != code)
		fail_msg("%s: got y=%d code=%lld, want error %lld", pkt, m.y, (long long)m.ecode,
		         (long long)code);
}

/* token_of: the token a get_peers gives the peer. */
static void token_of(fix_t *f, uint8_t tok[8])
{
	krpc_msg_t m;

	assert_true(
	    ask(f,
	        "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_"
	        "peers1:t2:gp1:y1:qe",
	        0, &m));
	assert_int_equal(m.token.n, 8);
	memcpy(tok, m.token.p, 8);
}

static void test_ping_and_find_node(void **state)
{
	fix_t *f = *state;
	krpc_msg_t m;
	uint8_t ipport[6];

	assert_true(ask(f, "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe", 0, &m));
	assert_int_equal(m.y, KRPC_RESPONSE);
	assert_memory_equal(m.t.p, "aa", 2);
	assert_memory_equal(m.id, f->cfg.id, 20);
	/* BEP 42 "ip": the address we saw, and our client version */
	memcpy(ipport, &f->peer.ip, 4);
	ipport[4] = 6881 >> 8;
	ipport[5] = 6881 & 255;
	assert_int_equal(m.ip.n, 6);
	assert_memory_equal(m.ip.p, ipport, 6);
	assert_memory_equal(m.cv.p, "CH01", 4);
	assert_true(ask(f,
	                "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_"
	                "node1:t2:bb1:y1:qe",
	                0, &m));
	assert_int_equal(m.y, KRPC_RESPONSE);
	assert_non_null(m.nodes.p);
	assert_int_equal(m.nodes.n % 26, 0);
	/* the querier is pinged to be verified before it enters the table */
	assert_true(dht_stats(f->d)->queries_out[KRPC_M_PING] >= 1);
	assert_int_equal(dht_stats(f->d)->queries_in[KRPC_M_FIND_NODE], 1);
}

static void test_protocol_errors(void **state)
{
	fix_t *f = *state;
	krpc_msg_t m;

	/* missing arguments: 203 */
	expect_error(f, "d1:ad2:id20:abcdefghij0123456789e1:q9:find_node1:t2:aa1:y1:qe", 0, 203);
	expect_error(f, "d1:ad2:id20:abcdefghij0123456789e1:q9:get_peers1:t2:aa1:y1:qe", 0, 203);
	expect_error(f, "d1:ad2:id20:abcdefghij0123456789e1:q3:get1:t2:aa1:y1:qe", 0, 203);
	expect_error(f, "d1:ad2:id20:abcdefghij0123456789e1:q3:put1:t2:aa1:y1:qe", 0, 203);
	expect_error(f,
	             "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q13:"
	             "announce_peer1:t2:aa1:y1:qe",
	             0, 203);
	/* malformed but nameable queries: 203 */
	expect_error(f, "d1:ad2:id3:abce1:q4:ping1:t2:aa1:y1:qe", 0, 203);
	expect_error(f, "d1:ale1:q4:ping1:t2:aa1:y1:qe", 0, 203);
	/* unknown method: 204 */
	expect_error(f, "d1:ad2:id20:abcdefghij0123456789e1:q4:vote1:t2:aa1:y1:qe", 0, 204);
	/* garbage, responses without a request, errors: counted, not answered */
	assert_false(ask(f, "garbage", 0, &m));
	assert_false(ask(f, "d1:t2:aa1:y1:xe", 0, &m));
	assert_false(ask(f,
	                 "d1:rd2:id20:mnopqrstuvwxyz123456e1:t4:\x00\x01\x02\x03"
	                 "1:y1:re",
	                 strlen("d1:rd2:id20:mnopqrstuvwxyz123456e1:t4:") + 4 + strlen("1:y1:re"),
	                 &m));
	assert_false(ask(f, "d1:eli201e1:xe1:t2:aa1:y1:ee", 0, &m));
	const dht_stats_t *st = dht_stats(f->d);
	assert_int_equal(st->bencode.rejected[BEN_ERR_SYNTAX], 1);
	assert_int_equal(st->malformed[KRPC_ERR_Y], 1);
	assert_int_equal(st->malformed[KRPC_ERR_ID], 1);
	assert_int_equal(st->malformed[KRPC_ERR_BODY], 1);
	assert_int_equal(st->unmatched, 2);
	assert_int_equal(st->errors_out, 8);
}

static void test_announce_and_tokens(void **state)
{
	fix_t *f = *state;
	krpc_msg_t m;
	uint8_t tok[8];
	char pkt[512];
	int n;

	token_of(f, tok);
	/* a wrong token: 203 */
	expect_error(
	    f,
	    "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti7000e5:"
	    "token8:XXXXXXXXe1:q13:announce_peer1:t2:aa1:y1:qe",
	    0, 203);
	assert_int_equal(dht_stats(f->d)->bad_token, 1);
	/* the token is binary (it may hold a NUL): copied in, not printed */
	n = snprintf(
	    pkt, sizeof(pkt),
	    "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti7000e5:"
	    "token8:XXXXXXXXe1:q13:announce_peer1:t2:aa1:y1:qe");
	memcpy(strstr(pkt, "XXXXXXXX"), tok, 8);
	assert_true(ask(f, pkt, (size_t)n, &m));
	assert_int_equal(m.y, KRPC_RESPONSE);
	/* implied_port: the UDP source port is stored */
	n = snprintf(
	    pkt, sizeof(pkt),
	    "d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz12"
	    "34564:porti1e5:token8:XXXXXXXXe1:q13:announce_peer1:t2:ab1:y1:qe");
	memcpy(strstr(pkt, "XXXXXXXX"), tok, 8);
	assert_true(ask(f, pkt, (size_t)n, &m));
	assert_int_equal(m.y, KRPC_RESPONSE);
	/* get_peers now returns both, as compact peers */
	assert_true(
	    ask(f,
	        "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_"
	        "peers1:t2:gp1:y1:qe",
	        0, &m));
	assert_int_equal(m.nvalues, 2);
	bool p7000 = false, p6881 = false;
	for (uint32_t i = 0; i < m.nvalues; i++) {
		uint16_t port = (uint16_t)(m.values[i][4] << 8 | m.values[i][5]);

		assert_memory_equal(m.values[i], &f->peer.ip, 4);
		p7000 = p7000 || port == 7000;
		p6881 = p6881 || port == 6881;
	}
	assert_true(p7000 && p6881);
	/* bad port */
	n = snprintf(
	    pkt, sizeof(pkt),
	    "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti70000e"
	    "5:token8:XXXXXXXXe1:q13:announce_peer1:t2:aa1:y1:qe");
	memcpy(strstr(pkt, "XXXXXXXX"), tok, 8);
	expect_error(f, pkt, (size_t)n, 203);
	/* a token from another address is refused */
	f->peer.ip ^= htonl(1);
	n = snprintf(
	    pkt, sizeof(pkt),
	    "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti7000e5:"
	    "token8:XXXXXXXXe1:q13:announce_peer1:t2:aa1:y1:qe");
	memcpy(strstr(pkt, "XXXXXXXX"), tok, 8);
	expect_error(f, pkt, (size_t)n, 203);
}

/* Tokens survive one rotation of the secret and die at the second. */
static void test_token_expiry(void **state)
{
	fix_t *f = *state;
	uint8_t tok[8], now_tok[8];
	char pkt[512];
	krpc_msg_t m;
	int n;

	dht_tick(f->d, f->now);
	token_of(f, tok);
	dht_make_token(f->d, f->peer.ip, now_tok);
	assert_memory_equal(tok, now_tok, 8);
	n = snprintf(
	    pkt, sizeof(pkt),
	    "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti7000e5:"
	    "token8:XXXXXXXXe1:q13:announce_peer1:t2:aa1:y1:qe");
	memcpy(strstr(pkt, "XXXXXXXX"), tok, 8);
	/* 5 minutes: the secret rotated once; the old token still works */
	f->now += DHT_TOKEN_ROTATE_NS + S;
	dht_tick(f->d, f->now);
	dht_make_token(f->d, f->peer.ip, now_tok);
	assert_memory_not_equal(tok, now_tok, 8);
	assert_true(ask(f, pkt, (size_t)n, &m));
	assert_int_equal(m.y, KRPC_RESPONSE);
	/* 10 minutes: rotated twice; refused */
	f->now += DHT_TOKEN_ROTATE_NS + S;
	dht_tick(f->d, f->now);
	expect_error(f, pkt, (size_t)n, 203);
	assert_int_equal(dht_stats(f->d)->bad_token, 1);
}

/* put_pkt: a BEP 44 put with the given fields (k/sig/seq/salt/cas may be
 * NULL or negative to leave them out). */
static size_t put_pkt(char *out, size_t cap, const uint8_t *tok, const uint8_t *k,
                      const uint8_t *sig, int64_t seq, const char *salt, int64_t cas, const char *v)
{
	size_t n = 0;

	n += (size_t)snprintf(out + n, cap - n, "d1:ad");
	if (cas >= 0)
		n += (size_t)snprintf(out + n, cap - n, "3:casi%llde", (long long)cas);
	n += (size_t)snprintf(out + n, cap - n, "2:id20:abcdefghij0123456789");
	if (k) {
		n += (size_t)snprintf(out + n, cap - n, "1:k32:");
		memcpy(out + n, k, 32);
		n += 32;
	}
	if (salt)
		n += (size_t)snprintf(out + n, cap - n, "4:salt%zu:%s", strlen(salt), salt);
	if (seq >= -1 && k)
		n += (size_t)snprintf(out + n, cap - n, "3:seqi%llde", (long long)seq);
	if (sig) {
		n += (size_t)snprintf(out + n, cap - n, "3:sig64:");
		memcpy(out + n, sig, 64);
		n += 64;
	}
	n += (size_t)snprintf(out + n, cap - n, "5:token8:");
	memcpy(out + n, tok, 8);
	n += 8;
	n += (size_t)snprintf(out + n, cap - n, "1:v%se1:q3:put1:t2:pp1:y1:qe", v);
	return n;
}

static void unhex(void *out, size_t len, const char *hex)
{
	size_t n = 0;

	assert_int_equal(ch_hex_decode(out, len, hex, &n), 0);
	assert_int_equal(n, len);
}

static void test_bep44_put_get(void **state)
{
	fix_t *f = *state;
	uint8_t tok[8], pk[32], sig[64], target[20];
	char pkt[2048], get[256];
	krpc_msg_t m;
	size_t n;

	token_of(f, tok);
	unhex(pk, 32, "77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548");
	unhex(sig, 64,
	      "305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff1260d3f39e4999684aa9"
	      "2eb7"
	      "3ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01");
	/* BEP 44 test vector 1 is accepted */
	n = put_pkt(pkt, sizeof(pkt), tok, pk, sig, 1, NULL, -1, "12:Hello World!");
	assert_true(ask(f, pkt, n, &m));
	assert_int_equal(m.y, KRPC_RESPONSE);
	/* and served under its target 4a533d... */
	unhex(target, 20, "4a533d47ec9c7d95b1ad75f576cffc641853b750");
	n = (size_t)snprintf(get, sizeof(get), "d1:ad2:id20:abcdefghij01234567896:target20:");
	memcpy(get + n, target, 20);
	n += 20;
	n += (size_t)snprintf(get + n, sizeof(get) - n, "e1:q3:get1:t2:gg1:y1:qe");
	assert_true(ask(f, get, n, &m));
	assert_int_equal(m.y, KRPC_RESPONSE);
	assert_true(m.has_seq && m.seq == 1);
	assert_memory_equal(m.k.p, pk, 32);
	assert_memory_equal(m.sig.p, sig, 64);
	assert_int_equal(m.v.n, 15);
	assert_memory_equal(m.v.p, "12:Hello World!", 15);
	assert_int_equal(m.token.n, 8);
	/* get with seq >= stored: seq only, no k/v/sig */
	n = (size_t)snprintf(get, sizeof(get),
	                     "d1:ad2:id20:abcdefghij01234567893:seqi1e6:target20:");
	memcpy(get + n, target, 20);
	n += 20;
	n += (size_t)snprintf(get + n, sizeof(get) - n, "e1:q3:get1:t2:gg1:y1:qe");
	assert_true(ask(f, get, n, &m));
	assert_true(m.has_seq && m.seq == 1);
	assert_null(m.v.p);
	assert_null(m.k.p);
	/* 206: a tampered signature */
	sig[0] ^= 1;
	n = put_pkt(pkt, sizeof(pkt), tok, pk, sig, 2, NULL, -1, "12:Hello World!");
	expect_error(f, pkt, n, 206);
	sig[0] ^= 1;
	/* 302: same seq, other value (the signature check comes first, so a
	 * validly signed stale item is needed: re-use vector 1's value with
	 * seq 1 and a different... stale seq via a lower number) */
	n = put_pkt(pkt, sizeof(pkt), tok, pk, sig, 1, NULL, -1, "12:Hello World!");
	assert_true(ask(f, pkt, n, &m)); /* same seq, same value: refresh */
	assert_int_equal(m.y, KRPC_RESPONSE);
	/* 301: cas given and wrong (checked before the seq rule) */
	n = put_pkt(pkt, sizeof(pkt), tok, pk, sig, 1, NULL, 0, "12:Hello World!");
	expect_error(f, pkt, n, 301);
	/* 205: v over 1000 bytes */
	{
		char big[1100];
		memcpy(big, "1001:", 5);
		memset(big + 5, 'z', 1001);
		big[1006] = 0;
		n = put_pkt(pkt, sizeof(pkt), tok, NULL, NULL, -2, NULL, -1, big);
		expect_error(f, pkt, n, 205);
	}
	/* 207: salt over 64 bytes */
	{
		char salt[70];
		memset(salt, 's', 65);
		salt[65] = 0;
		n = put_pkt(pkt, sizeof(pkt), tok, pk, sig, 1, salt, -1, "12:Hello World!");
		expect_error(f, pkt, n, 207);
	}
	/* 203: mutable without sig, negative seq; bad token */
	n = put_pkt(pkt, sizeof(pkt), tok, pk, NULL, 1, NULL, -1, "12:Hello World!");
	expect_error(f, pkt, n, 203);
	n = put_pkt(pkt, sizeof(pkt), tok, pk, sig, -1, NULL, -1, "12:Hello World!");
	expect_error(f, pkt, n, 203);
	tok[0] ^= 1;
	n = put_pkt(pkt, sizeof(pkt), tok, NULL, NULL, -2, NULL, -1, "3:abc");
	expect_error(f, pkt, n, 203);
	tok[0] ^= 1;
	/* an immutable put is stored under sha1(v), verbatim bencoding */
	n = put_pkt(pkt, sizeof(pkt), tok, NULL, NULL, -2, NULL, -1, "li1ei2ee");
	assert_true(ask(f, pkt, n, &m));
	assert_int_equal(m.y, KRPC_RESPONSE);
	ch_sha1(target, "li1ei2ee", 8);
	assert_non_null(dht_st_item_get(dht_store(f->d), target, f->now));
	assert_int_equal(dht_stats(f->d)->bad_sig, 1);
}

/* 302 with real keys: a lower seq than stored. */
static void test_seq_outdated(void **state)
{
	fix_t *f = *state;
	uint8_t tok[8], seed[32] = {9}, buf[256];
	ch_pubkey_t pk;
	ch_seckey_t sk;
	ch_sig_t sig5, sig4;
	char pkt[2048];
	krpc_msg_t m;
	size_t n;

	token_of(f, tok);
	assert_int_equal(ch_ed25519_seed_keypair(&pk, &sk, seed), 0);
	n = krpc_sig_buf(buf, sizeof(buf), NULL, 0, 5, (const uint8_t *)"1:a", 3);
	ch_ed25519_sign(&sig5, buf, n, &sk);
	n = krpc_sig_buf(buf, sizeof(buf), NULL, 0, 4, (const uint8_t *)"1:b", 3);
	ch_ed25519_sign(&sig4, buf, n, &sk);
	n = put_pkt(pkt, sizeof(pkt), tok, pk.b, sig5.b, 5, NULL, -1, "1:a");
	assert_true(ask(f, pkt, n, &m));
	assert_int_equal(m.y, KRPC_RESPONSE);
	n = put_pkt(pkt, sizeof(pkt), tok, pk.b, sig4.b, 4, NULL, -1, "1:b");
	expect_error(f, pkt, n, 302);
}

/* The query token bucket: a burst beyond 2x max_qps is dropped. */
static void test_rate_limit(void **state)
{
	fix_t *f = *state;
	const char *ping = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
	uint32_t before = f->cap.sent;

	for (int i = 0; i < 12000; i++)
		dht_input(f->d, (const uint8_t *)ping, strlen(ping), &f->peer, f->now);
	/* burst = 2 x 5000; a verification ping may be among the sends */
	assert_true(f->cap.sent - before <= 10001 && f->cap.sent - before >= 9999);
	assert_int_equal(dht_stats(f->d)->rate_limited, 12000 - 10000);
	/* one second later the bucket has refilled */
	f->now += S;
	before = f->cap.sent;
	dht_input(f->d, (const uint8_t *)ping, strlen(ping), &f->peer, f->now);
	assert_int_equal(f->cap.sent, before + 1);
}

/* Reflection: per-source and per-group buckets (defaults: 20/s and 100/s,
 * burst twice) bound what one address or one /24 can make us send, before
 * the packet is even parsed; loopback sources are told apart by port; an
 * answer to our own request is not charged. */
static void test_source_limits(void **state)
{
	fix_t *f = *state;
	dht_config_t c = f->cfg;
	const char *get = "d1:ad2:id20:abcdefghij01234567896:target20:ABCDEFGHIJ0123456789e"
	                  "1:q3:get1:t2:aa1:y1:qe";
	size_t glen = strlen(get);
	dht_t *d;

	(void)state;
	dht_config_default(&c);
	memcpy(c.id, f->cfg.id, 20);
	c.send = cap_send;
	c.send_arg = &f->cap;
	c.rand = det_rand;
	d = dht_new(&c, f->now);
	assert_non_null(d);
	/* one public address: 100 queries at once, 40 pass */
	dht_addr_t a = {.ip = htonl(0x01020304), .port = 6881};
	for (int i = 0; i < 100; i++)
		dht_input(d, (const uint8_t *)get, glen, &a, f->now);
	assert_int_equal(dht_stats(d)->src_limited, 60);
	/* other addresses of 1.2.3.0/24: the group's burst of 200 is shared */
	for (int h = 5; h < 10; h++) {
		dht_addr_t b = {.ip = htonl(0x01020300u | (uint32_t)h), .port = 6881};
		for (int i = 0; i < 100; i++)
			dht_input(d, (const uint8_t *)get, glen, &b, f->now);
	}
	/* 40 + 4 x 40 = 200 in the group; the fifth address is refused whole */
	assert_int_equal(dht_stats(d)->src_limited, 60 + 4 * 60 + 100);
	/* another /24 is not affected */
	dht_addr_t o = {.ip = htonl(0x01020404), .port = 6881};
	dht_input(d, (const uint8_t *)get, glen, &o, f->now);
	assert_int_equal(dht_stats(d)->src_limited, 400);
	/* a second later the address has 20 more */
	uint64_t later = f->now + S;
	uint64_t before = dht_stats(d)->src_limited;
	for (int i = 0; i < 30; i++)
		dht_input(d, (const uint8_t *)get, glen, &a, later);
	assert_int_equal(dht_stats(d)->src_limited - before, 10);
	/* loopback: two ports of 127.0.0.1 are two sources, no group limit */
	before = dht_stats(d)->src_limited;
	for (int p = 0; p < 10; p++) {
		dht_addr_t l = {.ip = htonl(0x7f000001), .port = (uint16_t)(7000 + p)};
		for (int i = 0; i < 40; i++)
			dht_input(d, (const uint8_t *)get, glen, &l, later);
	}
	assert_int_equal(dht_stats(d)->src_limited, before);
	/* answers to our pings are not charged: 100 pings to one address,
	 * each answered, all matched */
	dht_addr_t n = {.ip = htonl(0x05060708), .port = 9000};
	for (int i = 0; i < 100; i++) {
		krpc_msg_t q, r;
		uint8_t out[KRPC_PKT_MAX];
		size_t len;

		assert_int_equal(dht_ping(d, &n, later), 0);
		assert_int_equal(krpc_parse(f->cap.last, f->cap.last_len, &q, NULL), KRPC_OK);
		memset(&r, 0, sizeof(r));
		r.y = KRPC_RESPONSE;
		r.t = q.t;
		r.has_id = true;
		memset(r.id, 0x33, 20);
		assert_int_equal(krpc_encode(&r, out, sizeof(out), &len), 0);
		dht_input(d, out, len, &n, later);
	}
	assert_int_equal(dht_stats(d)->responses_in, 100);
	assert_int_equal(dht_stats(d)->src_limited, before);
	dht_destroy(&d);
}

/* A reply to our own request from another address is ignored. */
static void test_spoofed_reply(void **state)
{
	fix_t *f = *state;
	dht_addr_t boot = {.ip = htonl(0x0a000002), .port = 7000};
	krpc_msg_t q, r;
	uint8_t out[KRPC_PKT_MAX];
	size_t n;

	assert_int_equal(dht_ping(f->d, &boot, f->now), 0);
	assert_int_equal(krpc_parse(f->cap.last, f->cap.last_len, &q, NULL), KRPC_OK);
	assert_int_equal(q.q, KRPC_M_PING);
	assert_int_equal(q.t.n, 8);
	memset(&r, 0, sizeof(r));
	r.y = KRPC_RESPONSE;
	r.t = q.t;
	r.has_id = true;
	memset(r.id, 0x22, 20);
	assert_int_equal(krpc_encode(&r, out, sizeof(out), &n), 0);
	/* from the wrong address: unmatched, not added */
	dht_input(f->d, out, n, &f->peer, f->now);
	assert_int_equal(dht_stats(f->d)->unmatched, 1);
	assert_int_equal(dht_rtable(f->d)->count, 0);
	/* from the right one: the node enters the table */
	dht_input(f->d, out, n, &boot, f->now);
	assert_int_equal(dht_rtable(f->d)->count, 1);
	assert_int_equal(dht_stats(f->d)->responses_in, 1);
	/* a second copy (replay) matches nothing */
	dht_input(f->d, out, n, &boot, f->now);
	assert_int_equal(dht_stats(f->d)->unmatched, 2);
}

/* Requests that are never answered time out and free their slot. */
static void test_request_timeout(void **state)
{
	fix_t *f = *state;
	dht_addr_t a = {.ip = htonl(0x0a000003), .port = 7000};

	for (int i = 0; i < 100; i++) {
		a.port = (uint16_t)(7000 + i);
		assert_int_equal(dht_ping(f->d, &a, f->now), 0);
	}
	uint64_t next = dht_tick(f->d, f->now);
	assert_true(next > f->now && next <= f->now + 2 * S);
	f->now += 3 * S;
	dht_tick(f->d, f->now);
	assert_int_equal(dht_stats(f->d)->timeouts, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ping_and_find_node, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_protocol_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_announce_and_tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bep44_put_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seq_outdated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spoofed_reply, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_source_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_timeout, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
