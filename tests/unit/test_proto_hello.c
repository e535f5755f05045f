/* test_proto_hello.c: the hello, PING/PONG and REJECT payloads
 * (proto/hello.h) of docs/protocol.md 1.2 and 1.4: a hand-assembled hello
 * (msgpack spec, byte by byte) encodes and decodes; keys in another order
 * and unknown keys are accepted; every missing or mistyped needed key, a
 * duplicate, an oversized network name or port, trailing bytes and every
 * truncation are refused; the accept rules (network, versions) give their
 * reasons; a REJECT reason is cut to the frame's maximum. */
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
#include "hello.h"
#include "pack.h"
#include "wire.h"

/* {v:1, min:1, net:"main", svc:1, port:7433, ua:"chorus/0.1.0",
 *  t:1700000000000}, assembled from the msgpack specification. */
static const char *HELLO_HEX = "87"
                               "a17601"
                               "a36d696e01"
                               "a36e6574a46d61696e"
                               "a373766301"
                               "a4706f7274cd1d09"
                               "a27561ac63686f7275732f302e312e30"
                               "a174cf0000018bcfe56800";

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n;
	assert_int_equal(ch_hex_decode(out, cap, h, &n), 0);
	return n;
}

static hello_t vector_hello(void)
{
	hello_t h = {.v = 1, .min = 1, .svc = 1, .port = 7433, .t = 1700000000000ULL};
	snprintf(h.net, sizeof(h.net), "main");
	snprintf(h.ua, sizeof(h.ua), "chorus/0.1.0");
	return h;
}

static void test_hello_vector(void **state)
{
	(void)state;
	uint8_t want[128], got[128];
	size_t wn = unhex(HELLO_HEX, want, sizeof(want)), gn;
	hello_t h = vector_hello(), d;
	assert_int_equal(hello_encode(&h, got, sizeof(got), &gn), 0);
	assert_int_equal(gn, wn);
	assert_memory_equal(got, want, wn);
	assert_int_equal(hello_decode(want, wn, &d), 0);
	assert_int_equal(d.v, 1);
	assert_int_equal(d.min, 1);
	assert_int_equal(d.svc, 1);
	assert_int_equal(d.port, 7433);
	assert_true(d.t == 1700000000000ULL);
	assert_string_equal(d.net, "main");
	assert_string_equal(d.ua, "chorus/0.1.0");
	/* too small a buffer */
	assert_int_equal(hello_encode(&h, got, wn - 1, &gn), CH_ERANGE);
	/* every truncation is refused */
	for (size_t k = 0; k < wn; k++)
		assert_int_equal(hello_decode(want, k, &d), CH_EPROTO);
	/* a trailing byte is refused */
	want[wn] = 0xc0;
	assert_int_equal(hello_decode(want, wn + 1, &d), CH_EPROTO);
}

/* build: a hello map from (key, kind, value) triples; kind 'u' uint, 's'
 * string, 'b' binary, 'n' nil. */
typedef struct kv {
	const char *k;
	char kind;
	uint64_t u;
	const char *s;
} kv_t;

static size_t build(uint8_t *out, size_t cap, const kv_t *kv, uint32_t n)
{
	pack_wr_t w;
	pack_wr_init(&w, out, cap);
	pack_wr_map(&w, n);
	for (uint32_t i = 0; i < n; i++) {
		pack_wr_str(&w, kv[i].k);
		if (kv[i].kind == 'u')
			pack_wr_uint(&w, kv[i].u);
		else if (kv[i].kind == 's')
			pack_wr_str(&w, kv[i].s);
		else if (kv[i].kind == 'b')
			pack_wr_bin(&w, kv[i].s, (uint32_t)strlen(kv[i].s));
		else
			pack_wr_raw(&w, "\xc0", 1);
	}
	assert_int_equal(w.err, 0);
	return w.len;
}

static void test_hello_rules(void **state)
{
	(void)state;
	uint8_t buf[512];
	hello_t d;
	size_t n;
	/* another order, an unknown key (nested), only the needed keys */
	kv_t a[] = {{"port", 'u', 9, NULL},
	            {"future", 's', 0, "x"},
	            {"net", 's', 0, "test"},
	            {"min", 'u', 1, NULL},
	            {"v", 'u', 3, NULL}};
	n = build(buf, sizeof(buf), a, 5);
	assert_int_equal(hello_decode(buf, n, &d), 0);
	assert_int_equal(d.v, 3);
	assert_int_equal(d.port, 9);
	assert_string_equal(d.net, "test");
	assert_string_equal(d.ua, "");
	/* each needed key missing */
	for (int skip = 0; skip < 5; skip++) {
		kv_t b[5];
		uint32_t k = 0;
		for (int i = 0; i < 5; i++)
			if (i != skip)
				b[k++] = a[i];
		n = build(buf, sizeof(buf), b, k);
		assert_int_equal(hello_decode(buf, n, &d), skip == 1 ? 0 : CH_EPROTO);
	}
	/* needed keys of the wrong type */
	kv_t c[] = {{"v", 's', 0, "1"},
	            {"min", 'u', 1, NULL},
	            {"net", 's', 0, "main"},
	            {"port", 'u', 1, NULL}};
	n = build(buf, sizeof(buf), c, 4);
	assert_int_equal(hello_decode(buf, n, &d), CH_EPROTO);
	c[0] = (kv_t){"v", 'u', 1, NULL};
	c[2] = (kv_t){"net", 'b', 0, "main"};
	n = build(buf, sizeof(buf), c, 4);
	assert_int_equal(hello_decode(buf, n, &d), CH_EPROTO);
	c[2] = (kv_t){"net", 's', 0, "main"};
	c[3] = (kv_t){"port", 'u', 65536, NULL};
	n = build(buf, sizeof(buf), c, 4);
	assert_int_equal(hello_decode(buf, n, &d), CH_EPROTO);
	c[3] = (kv_t){"port", 'u', 65535, NULL};
	n = build(buf, sizeof(buf), c, 4);
	assert_int_equal(hello_decode(buf, n, &d), 0);
	/* a network name of CH_NETWORK_MAX bytes is the longest */
	char net[CH_NETWORK_MAX + 2];
	memset(net, 'n', sizeof(net));
	net[CH_NETWORK_MAX] = 0;
	c[2] = (kv_t){"net", 's', 0, net};
	n = build(buf, sizeof(buf), c, 4);
	assert_int_equal(hello_decode(buf, n, &d), 0);
	assert_int_equal(strlen(d.net), CH_NETWORK_MAX);
	net[CH_NETWORK_MAX] = 'n';
	net[CH_NETWORK_MAX + 1] = 0;
	n = build(buf, sizeof(buf), c, 4);
	assert_int_equal(hello_decode(buf, n, &d), CH_EPROTO);
	/* a NUL inside the network name */
	c[2] = (kv_t){"net", 's', 0, "main"};
	n = build(buf, sizeof(buf), c, 4);
	uint8_t *m = memmem(buf, n, "main", 4);
	m[2] = 0;
	assert_int_equal(hello_decode(buf, n, &d), CH_EPROTO);
	/* a needed key twice */
	kv_t e[] = {{"v", 'u', 1, NULL},
	            {"min", 'u', 1, NULL},
	            {"net", 's', 0, "main"},
	            {"port", 'u', 1, NULL},
	            {"v", 'u', 2, NULL}};
	n = build(buf, sizeof(buf), e, 5);
	assert_int_equal(hello_decode(buf, n, &d), CH_EPROTO);
	/* optional keys of another type are ignored; a user agent is made
	 * printable and cut */
	char ua[100];
	memset(ua, 'u', sizeof(ua) - 1);
	ua[sizeof(ua) - 1] = 0;
	ua[0] = '\n';
	kv_t f[] = {{"v", 'u', 1, NULL},    {"min", 'u', 1, NULL}, {"net", 's', 0, "main"},
	            {"port", 'u', 1, NULL}, {"svc", 's', 0, "x"},  {"t", 'n', 0, NULL},
	            {"ua", 's', 0, ua}};
	n = build(buf, sizeof(buf), f, 7);
	assert_int_equal(hello_decode(buf, n, &d), 0);
	assert_int_equal(d.svc, 0);
	assert_int_equal(strlen(d.ua), HELLO_UA_MAX);
	assert_int_equal(d.ua[0], '?');
	f[6] = (kv_t){"ua", 'u', 5, NULL};
	n = build(buf, sizeof(buf), f, 7);
	assert_int_equal(hello_decode(buf, n, &d), 0);
	assert_string_equal(d.ua, "");
	/* a key that is not a string */
	n = build(buf, sizeof(buf), c, 4);
	buf[1] = 0x01; /* the first key's fixstr header becomes an integer */
	assert_int_equal(hello_decode(buf, n, &d), CH_EPROTO);
	/* not a map */
	assert_int_equal(hello_decode((const uint8_t *)"\x90", 1, &d), CH_EPROTO);
}

static void test_hello_accept(void **state)
{
	(void)state;
	char why[160];
	hello_t h = vector_hello();
	assert_int_equal(hello_accept(&h, "main", why, sizeof(why)), 0);
	assert_int_equal(hello_accept(&h, "test", why, sizeof(why)), CH_EPERM);
	assert_non_null(strstr(why, "wrong network 'main'"));
	h.v = HELLO_MIN_VERSION - 1;
	assert_int_equal(hello_accept(&h, "main", why, sizeof(why)), CH_EVERSION);
	assert_non_null(strstr(why, "too old"));
	h.v = HELLO_VERSION + 5;
	h.min = HELLO_VERSION + 1;
	assert_int_equal(hello_accept(&h, "main", why, sizeof(why)), CH_EVERSION);
	assert_non_null(strstr(why, "requires protocol version"));
	h.min = HELLO_VERSION; /* a newer peer that still speaks ours */
	assert_int_equal(hello_accept(&h, "main", why, sizeof(why)), 0);
}

static void test_ping_reject(void **state)
{
	(void)state;
	uint8_t buf[1024];
	uint64_t nonce;
	/* {"n": 1} and {"n": 2^40} by hand */
	assert_int_equal(ping_encode(1, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "\x81\xa1n\x01", 4);
	assert_int_equal(ping_encode(1ULL << 40, buf, sizeof(buf)), 12);
	assert_memory_equal(buf, "\x81\xa1n\xcf\x00\x00\x01\x00\x00\x00\x00\x00", 12);
	assert_int_equal(ping_decode(buf, 12, &nonce), 0);
	assert_true(nonce == 1ULL << 40);
	assert_int_equal(ping_encode(1, buf, 3), 0);
	assert_int_equal(ping_decode((const uint8_t *)"\x80", 1, &nonce), CH_EPROTO);
	assert_int_equal(ping_decode((const uint8_t *)"\x81\xa1n\xa1x", 5, &nonce), CH_EPROTO);
	assert_int_equal(ping_decode((const uint8_t *)"\x82\xa1n\x01\xa1n\x02", 7, &nonce),
	                 CH_EPROTO);
	assert_int_equal(ping_decode((const uint8_t *)"\x82\xa1x\x90\xa1n\x07", 7, &nonce), 0);
	assert_int_equal(nonce, 7);

	/* {"reason": "bye"} by hand */
	char r[200];
	assert_int_equal(reject_encode("bye", buf, sizeof(buf)), 12);
	assert_memory_equal(buf,
	                    "\x81\xa6reason\xa3"
	                    "bye",
	                    12);
	assert_int_equal(reject_decode(buf, 12, r, sizeof(r)), 0);
	assert_string_equal(r, "bye");
	/* a long reason is cut to fit the frame's maximum */
	char lng[2000];
	memset(lng, 'x', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = 0;
	size_t n = reject_encode(lng, buf, sizeof(buf));
	assert_true(n > 400 && n <= WIRE_REJECT_MAX);
	assert_int_equal(reject_decode(buf, n, r, sizeof(r)), 0);
	assert_int_equal(strlen(r), sizeof(r) - 1);
	/* a control byte is shown as '?' */
	assert_int_equal(reject_encode("a\x01z", buf, sizeof(buf)), 12);
	assert_int_equal(reject_decode(buf, 12, r, sizeof(r)), 0);
	assert_string_equal(r, "a?z");
	/* no reason, a reason of another type, trailing bytes */
	assert_int_equal(reject_decode((const uint8_t *)"\x80", 1, r, sizeof(r)), CH_EPROTO);
	assert_string_equal(r, "");
	assert_int_equal(reject_decode((const uint8_t *)"\x81\xa6reason\x01", 9, r, sizeof(r)),
	                 CH_EPROTO);
	assert_int_equal(reject_encode("bye", buf, sizeof(buf)), 12);
	buf[12] = 0xc0;
	assert_int_equal(reject_decode(buf, 13, r, sizeof(r)), CH_EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello_vector),
	    cmocka_unit_test(test_hello_rules),
	    cmocka_unit_test(test_hello_accept),
	    cmocka_unit_test(test_ping_reject),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
