/* test_proto_pack.c: the protocol's msgpack cursor and writer
 * (proto/pack.h): the writer's shortest forms at every boundary against
 * the msgpack specification; the reader accepts each form, refuses other
 * types and, in canonical mode, every longer-than-needed form; each
 * failure says why and stays failed; skip follows every type and stops a
 * nesting bomb; truncations are refused; a seeded loop of random bytes
 * never reads outside the input (ASan checks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "pack.h"

/* wr_uint: the encoding of v. */
static size_t wr_uint(uint64_t v, uint8_t *out)
{
	pack_wr_t w;
	pack_wr_init(&w, out, 16);
	pack_wr_uint(&w, v);
	return pack_wr_end(&w);
}

static void test_writer_forms(void **state)
{
	(void)state;
	static const struct {
		uint64_t v;
		const char *enc;
		size_t n;
	} u[] = {
	    {0, "\x00", 1},
	    {127, "\x7f", 1},
	    {128, "\xcc\x80", 2},
	    {255, "\xcc\xff", 2},
	    {256, "\xcd\x01\x00", 3},
	    {65535, "\xcd\xff\xff", 3},
	    {65536, "\xce\x00\x01\x00\x00", 5},
	    {4294967295u, "\xce\xff\xff\xff\xff", 5},
	    {4294967296ull, "\xcf\x00\x00\x00\x01\x00\x00\x00\x00", 9},
	};
	uint8_t b[70000];
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		assert_int_equal(wr_uint(u[i].v, b), u[i].n);
		assert_memory_equal(b, u[i].enc, u[i].n);
	}
	pack_wr_t w;
	/* map and array headers: fix below 16, then 16-bit */
	pack_wr_init(&w, b, sizeof(b));
	pack_wr_map(&w, 15);
	pack_wr_map(&w, 16);
	pack_wr_array(&w, 15);
	pack_wr_array(&w, 65536);
	assert_int_equal(pack_wr_end(&w), 1 + 3 + 1 + 5);
	assert_memory_equal(b, "\x8f\xde\x00\x10\x9f\xdd\x00\x01\x00\x00", 10);
	/* strings: fixstr below 32, then str8 */
	char s[300];
	memset(s, 's', sizeof(s));
	pack_wr_init(&w, b, sizeof(b));
	pack_wr_strn(&w, s, 31);
	assert_int_equal(b[0], 0xbf);
	pack_wr_init(&w, b, sizeof(b));
	pack_wr_strn(&w, s, 32);
	assert_memory_equal(b, "\xd9\x20", 2);
	pack_wr_init(&w, b, sizeof(b));
	pack_wr_strn(&w, s, 256);
	assert_memory_equal(b, "\xda\x01\x00", 3);
	/* binaries: bin8 from 0, bin16 from 256, bin32 from 65536 */
	static uint8_t big[65536];
	pack_wr_init(&w, b, sizeof(b));
	pack_wr_bin(&w, big, 0);
	pack_wr_bin(&w, big, 255);
	assert_memory_equal(b, "\xc4\x00\xc4\xff", 4);
	pack_wr_init(&w, b, sizeof(b));
	pack_wr_bin(&w, big, 256);
	assert_memory_equal(b, "\xc5\x01\x00", 3);
	pack_wr_init(&w, b, sizeof(b));
	pack_wr_bin(&w, big, 65536);
	assert_memory_equal(b, "\xc6\x00\x01\x00\x00", 5);
	assert_int_equal(pack_wr_end(&w), 65541);
	/* overflow: nothing more is written, and the end says so */
	pack_wr_init(&w, b, 3);
	pack_wr_uint(&w, 1);
	pack_wr_uint(&w, 1000);
	assert_int_equal(w.err, CH_ERANGE);
	assert_int_equal(pack_wr_end(&w), 0);
	assert_int_equal(w.len, 1);
}

/* rd: a cursor over a literal. */
static pack_rd_t rd(const char *p, size_t n, unsigned flags)
{
	pack_rd_t r;
	pack_rd_init(&r, p, n, flags);
	return r;
}

static void test_reader_forms(void **state)
{
	(void)state;
	pack_rd_t r;
	uint64_t v;
	uint32_t n;
	const char *s;
	const uint8_t *b;
	/* every uint form, lenient and canonical where shortest */
	r = rd("\x05\xcc\x05\xcd\x00\x05\xce\x00\x00\x00\x05\xcf\x00\x00\x00\x00\x00\x00\x00\x05",
	       20, 0);
	for (int i = 0; i < 5; i++) {
		assert_true(pack_rd_uint(&r, &v));
		assert_int_equal(v, 5);
	}
	assert_true(pack_rd_done(&r));
	r = rd("\xcc\x05", 2, PACK_CANONICAL);
	assert_false(pack_rd_uint(&r, &v));
	assert_int_equal(r.why, PACK_NONCANON);
	assert_int_equal(r.byte, 0xcc);
	assert_int_equal(r.err, CH_EPROTO);
	r = rd("\xcd\x00\xff", 3, PACK_CANONICAL);
	assert_false(pack_rd_uint(&r, &v));
	r = rd("\xcd\x01\x00", 3, PACK_CANONICAL);
	assert_true(pack_rd_uint(&r, &v) && v == 256);
	r = rd("\xcf\x00\x00\x00\x00\xff\xff\xff\xff", 9, PACK_CANONICAL);
	assert_false(pack_rd_uint(&r, &v));
	/* signed and float forms are another type */
	r = rd("\xd0\x05", 2, 0);
	assert_false(pack_rd_uint(&r, &v));
	assert_int_equal(r.why, PACK_TYPE);
	assert_int_equal(r.byte, 0xd0);
	r = rd("\xff", 1, 0); /* negative fixint */
	assert_false(pack_rd_uint(&r, &v));
	/* sticky: after a failure, nothing reads */
	r = rd("\xc0\x01", 2, 0);
	assert_false(pack_rd_uint(&r, &v));
	assert_false(pack_rd_skip(&r));
	assert_int_equal(r.why, PACK_TYPE);
	/* maps, arrays: fix, 16, 32; canonical refuses 16 for 3 entries */
	r = rd("\x83\xde\x00\x03\xdf\x00\x00\x00\x03\x93\xdc\x00\x03\xdd\x00\x00\x00\x03", 18, 0);
	for (int i = 0; i < 3; i++)
		assert_true(pack_rd_map(&r, &n) && n == 3);
	for (int i = 0; i < 3; i++)
		assert_true(pack_rd_array(&r, &n) && n == 3);
	r = rd("\xde\x00\x03", 3, PACK_CANONICAL);
	assert_false(pack_rd_map(&r, &n));
	assert_int_equal(r.why, PACK_NONCANON);
	r = rd("\xdf\x00\x00\x00\x10", 5, PACK_CANONICAL);
	assert_false(pack_rd_map(&r, &n));
	r = rd("\xde\x00\x10", 3, PACK_CANONICAL);
	assert_true(pack_rd_map(&r, &n) && n == 16);
	r = rd("\x93", 1, 0);
	assert_false(pack_rd_map(&r, &n));
	assert_int_equal(r.why, PACK_TYPE);
	/* strings in place; str8 for 3 bytes is not canonical */
	r = rd("\xa3"
	       "abc\xd9\x03"
	       "abc",
	       9, 0);
	assert_true(pack_rd_str(&r, &s, &n) && n == 3 && pack_is(s, n, "abc"));
	assert_true(pack_rd_str(&r, &s, &n) && pack_is(s, n, "abc") && !pack_is(s, n, "ab"));
	assert_true(pack_rd_done(&r));
	r = rd("\xd9\x03"
	       "abc",
	       5, PACK_CANONICAL);
	assert_false(pack_rd_str(&r, &s, &n));
	assert_int_equal(r.why, PACK_NONCANON);
	/* binaries; the header alone, then the bytes */
	r = rd("\xc4\x02xy\xc5\x00\x02xy", 9, 0);
	assert_true(pack_rd_bin(&r, &b, &n) && n == 2 && b[0] == 'x');
	assert_true(pack_rd_bin_hdr(&r, &n) && n == 2);
	assert_true(pack_rd_raw(&r, n, &b) && b[1] == 'y');
	assert_true(pack_rd_done(&r));
	r = rd("\xc5\x00\x02xy", 5, PACK_CANONICAL);
	assert_false(pack_rd_bin(&r, &b, &n));
	assert_int_equal(r.why, PACK_NONCANON);
	r = rd("\xa2xy", 3, 0);
	assert_false(pack_rd_bin(&r, &b, &n));
	assert_int_equal(r.why, PACK_TYPE);
	/* a length beyond the input */
	r = rd("\xc6\xff\xff\xff\xff", 5, 0);
	assert_false(pack_rd_bin(&r, &b, &n));
	assert_int_equal(r.why, PACK_TRUNCATED);
	/* refuse: a decoder's own reason */
	r = rd("\x01", 1, 0);
	assert_false(pack_rd_refuse(&r));
	assert_int_equal(r.why, PACK_VALUE);
	assert_false(pack_rd_done(&r));
	/* trailing bytes */
	r = rd("\x01\x02", 2, 0);
	assert_true(pack_rd_uint(&r, &v));
	assert_false(pack_rd_done(&r));
	assert_int_equal(pack_rd_left(&r), 1);
}

static void test_skip(void **state)
{
	(void)state;
	/* one value of each type, in an array */
	static const char all[] =
	    "\xdc\x00\x10"
	    "\x01\xe0\xc0\xc2\xc3"                     /* fixints, nil, bools */
	    "\xcc\x01\xd1\x00\x01\xca\x00\x00\x00\x00" /* uint8, int16, float32 */
	    "\xcb\x00\x00\x00\x00\x00\x00\x00\x00"     /* float64 */
	    "\xa1x\xc4\x01y"                           /* str, bin */
	    "\xd4\x01\x00\xd8\x01"
	    "0123456789abcdef"  /* fixext 1, 16 */
	    "\xc7\x02\x01zz"    /* ext 8 */
	    "\x81\xa1k\x90"     /* map {"k": []} */
	    "\x92\x80\x91\xc0"; /* [{}, [nil]] */
	pack_rd_t r = rd(all, sizeof(all) - 1, 0);
	assert_true(pack_rd_skip(&r));
	assert_true(pack_rd_done(&r));
	/* every truncation fails */
	for (size_t k = 0; k + 1 < sizeof(all) - 1; k++) {
		r = rd(all, k, 0);
		assert_false(pack_rd_skip(&r));
		assert_int_equal(r.why, PACK_TRUNCATED);
	}
	/* nesting: a value PACK_DEPTH_MAX levels below the skipped one is
	 * followed, one more level not */
	char deep[64];
	memset(deep, 0x91, sizeof(deep));
	deep[PACK_DEPTH_MAX] = 0x01;
	r = rd(deep, PACK_DEPTH_MAX + 1, 0);
	assert_true(pack_rd_skip(&r));
	memset(deep, 0x91, sizeof(deep));
	deep[PACK_DEPTH_MAX + 1] = 0x01;
	r = rd(deep, PACK_DEPTH_MAX + 2, 0);
	assert_false(pack_rd_skip(&r));
	assert_int_equal(r.why, PACK_DEPTH);
	/* the reserved byte */
	r = rd("\xc1", 1, 0);
	assert_false(pack_rd_skip(&r));
	assert_int_equal(r.why, PACK_TYPE);
	/* a container claiming more items than there are bytes */
	r = rd("\xdd\xff\xff\xff\xff\x01", 6, 0);
	assert_false(pack_rd_skip(&r));
	assert_int_equal(r.why, PACK_TRUNCATED);
}

/* Random bytes through every reader: never outside the input; the cursor
 * never moves past the end. */
static void test_random(void **state)
{
	(void)state;
	uint64_t x = 0x2545f4914f6cdd1dull;
	for (int round = 0; round < 50000; round++) {
		size_t n = 1 + round % 40;
		uint8_t *buf = malloc(n); /* exact size: ASan sees any overrun */
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			buf[i] = (uint8_t)x;
		}
		pack_rd_t r;
		pack_rd_init(&r, buf, n, round & 1 ? PACK_CANONICAL : 0);
		uint32_t k;
		uint64_t v;
		const char *s;
		const uint8_t *b;
		for (int i = 0; i < 8 && !r.err; i++) {
			switch ((x >> (8 * i)) % 6) {
			case 0:
				pack_rd_skip(&r);
				break;
			case 1:
				pack_rd_map(&r, &k);
				break;
			case 2:
				pack_rd_str(&r, &s, &k);
				break;
			case 3:
				pack_rd_bin(&r, &b, &k);
				break;
			case 4:
				pack_rd_uint(&r, &v);
				break;
			default:
				pack_rd_array(&r, &k);
			}
			assert_true(r.p <= r.end);
		}
		assert_true(r.err == 0 || r.why != PACK_OK);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_writer_forms),
	    cmocka_unit_test(test_reader_forms),
	    cmocka_unit_test(test_skip),
	    cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
