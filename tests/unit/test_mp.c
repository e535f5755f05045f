/* test_mp.c: writer/reader round trips, type and key checks, truncation,
 * trailing bytes, limits, and a seeded fuzz loop over random and mutated
 * buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "mp.h"

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The message of the round-trip tests: a control-plane style map. */
static void build_sample(ch_mpw_t *w)
{
	static const uint8_t key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

	assert_int_equal(ch_mpw_map(w, 9), 0);
	assert_int_equal(ch_mpw_kv_str(w, "cmd", "status"), 0);
	assert_int_equal(ch_mpw_kv_u64(w, "fee", UINT64_MAX), 0);
	assert_int_equal(ch_mpw_kv_u64(w, "zero", 0), 0);
	assert_int_equal(ch_mpw_kv_i64(w, "neg", INT64_MIN), 0);
	assert_int_equal(ch_mpw_kv_i64(w, "pos", 42), 0);
	assert_int_equal(ch_mpw_kv_bool(w, "ok", true), 0);
	assert_int_equal(ch_mpw_kv_bin(w, "from", key, sizeof(key)), 0);
	assert_int_equal(ch_mpw_kv_strn(w, "raw", "a\0b", 3), 0);
	assert_int_equal(ch_mpw_key(w, "list"), 0);
	assert_int_equal(ch_mpw_array(w, 2), 0);
	assert_int_equal(msgpack_pack_uint8(&w->pk, 7), 0);
	assert_int_equal(ch_mpw_map(w, 1), 0);
	assert_int_equal(ch_mpw_kv_bool(w, "inner", false), 0);
	assert_int_equal(ch_mpw_error(w), 0);
}

static void test_round_trip(void **state)
{
	ch_mpw_t w;
	ch_mpr_t r;
	const msgpack_object *m, *o;
	uint64_t u;
	int64_t i;
	bool b;
	const char *s;
	const void *p;
	size_t len;
	uint8_t key[32];
	char sbuf[16];

	(void)state;
	ch_mpw_init(&w);
	assert_null(ch_mpw_data(&w));
	assert_int_equal(ch_mpw_size(&w), 0);
	build_sample(&w);
	ch_mpr_init(&r, 0);
	assert_int_equal(ch_mpr_parse(&r, ch_mpw_data(&w), ch_mpw_size(&w)), 0);
	/* the reader copied the input: the writer's buffer may go away */
	ch_mpw_free(&w);
	ch_mpw_free(&w);
	assert_int_equal(ch_mpr_root_map(&r, &m), 0);
	assert_int_equal(ch_mp_get_str(m, "cmd", &s, &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(s, "status", 6);
	assert_int_equal(ch_mp_get_strz(m, "cmd", sbuf, sizeof(sbuf)), 0);
	assert_string_equal(sbuf, "status");
	assert_int_equal(ch_mp_get_u64(m, "fee", &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(ch_mp_get_u64(m, "zero", &u), 0);
	assert_true(u == 0);
	assert_int_equal(ch_mp_get_i64(m, "neg", &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(ch_mp_get_i64(m, "pos", &i), 0);
	assert_true(i == 42);
	assert_int_equal(ch_mp_get_u64(m, "pos", &u), 0);
	assert_true(u == 42);
	assert_int_equal(ch_mp_get_bool(m, "ok", &b), 0);
	assert_true(b);
	assert_int_equal(ch_mp_get_bin(m, "from", &p, &len), 0);
	assert_int_equal(len, 32);
	assert_int_equal(ch_mp_get_bin_exact(m, "from", key, sizeof(key)), 0);
	assert_int_equal(key[9], 10);
	assert_int_equal(ch_mp_get_str(m, "raw", &s, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "a\0b", 3);
	assert_int_equal(ch_mp_map_get(m, "list", &o), 0);
	assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(o->via.array.size, 2);
	assert_int_equal(ch_mp_as_u64(&o->via.array.ptr[0], &u), 0);
	assert_true(u == 7);
	assert_int_equal(ch_mp_get_bool(&o->via.array.ptr[1], "inner", &b), 0);
	assert_false(b);
	ch_mpr_free(&r);
	ch_mpr_free(&r);
}

static void test_wrong_types(void **state)
{
	ch_mpw_t w;
	ch_mpr_t r;
	const msgpack_object *m;
	uint64_t u = 5;
	int64_t i = 5;
	bool b = true;
	const char *s = NULL;
	const void *p = NULL;
	size_t len = 5;
	uint8_t key[32], small[31];
	char sbuf[4];

	(void)state;
	ch_mpw_init(&w);
	build_sample(&w);
	ch_mpr_init(&r, 0);
	assert_int_equal(ch_mpr_parse(&r, ch_mpw_data(&w), ch_mpw_size(&w)), 0);
	assert_int_equal(ch_mpr_root_map(&r, &m), 0);
	assert_int_equal(ch_mp_get_u64(m, "cmd", &u), CH_EPROTO);
	assert_int_equal(ch_mp_get_i64(m, "ok", &i), CH_EPROTO);
	assert_int_equal(ch_mp_get_bool(m, "pos", &b), CH_EPROTO);
	assert_int_equal(ch_mp_get_str(m, "from", &s, &len), CH_EPROTO);
	assert_int_equal(ch_mp_get_bin(m, "cmd", &p, &len), CH_EPROTO);
	assert_int_equal(ch_mp_get_strz(m, "list", sbuf, sizeof(sbuf)), CH_EPROTO);
	/* integers that do not fit */
	assert_int_equal(ch_mp_get_u64(m, "neg", &u), CH_ERANGE);
	assert_int_equal(ch_mp_get_i64(m, "fee", &i), CH_ERANGE);
	/* outputs unchanged on failure */
	assert_true(u == 5 && i == 5 && b && s == NULL && p == NULL && len == 5);
	/* string too long for the buffer, string with NUL */
	assert_int_equal(ch_mp_get_strz(m, "cmd", sbuf, sizeof(sbuf)), CH_ERANGE);
	assert_string_equal(sbuf, "");
	assert_int_equal(ch_mp_get_strz(m, "raw", sbuf, sizeof(sbuf)), CH_EPROTO);
	/* binary of the wrong length */
	assert_int_equal(ch_mp_get_bin_exact(m, "from", small, sizeof(small)), CH_EPROTO);
	assert_int_equal(ch_mp_get_bin_exact(m, "cmd", key, sizeof(key)), CH_EPROTO);
	/* lookups on something that is not a map */
	assert_int_equal(ch_mp_get_u64(&m->via.map.ptr[1].val, "x", &u), CH_EPROTO);
	/* NULL arguments */
	assert_int_equal(ch_mp_get_u64(NULL, "fee", &u), CH_EINVAL);
	assert_int_equal(ch_mp_get_u64(m, NULL, &u), CH_EINVAL);
	assert_int_equal(ch_mp_get_u64(m, "fee", NULL), CH_EINVAL);
	assert_int_equal(ch_mp_get_str(m, "cmd", NULL, &len), CH_EINVAL);
	assert_int_equal(ch_mp_get_bin_exact(m, "from", NULL, 32), CH_EINVAL);
	assert_int_equal(ch_mp_get_strz(m, "cmd", NULL, 4), CH_EINVAL);
	assert_int_equal(ch_mp_as_bool(NULL, &b), CH_EINVAL);
	ch_mpr_free(&r);
	ch_mpw_free(&w);
}

static void test_missing_and_duplicate_keys(void **state)
{
	ch_mpw_t w;
	ch_mpr_t r;
	const msgpack_object *m, *o;
	uint64_t u;

	(void)state;
	ch_mpw_init(&w);
	ch_mpr_init(&r, 0);
	/* duplicate key */
	assert_int_equal(ch_mpw_map(&w, 3), 0);
	assert_int_equal(ch_mpw_kv_u64(&w, "a", 1), 0);
	assert_int_equal(ch_mpw_kv_u64(&w, "b", 2), 0);
	assert_int_equal(ch_mpw_kv_u64(&w, "a", 3), 0);
	assert_int_equal(ch_mpr_parse(&r, ch_mpw_data(&w), ch_mpw_size(&w)), 0);
	assert_int_equal(ch_mpr_root_map(&r, &m), 0);
	assert_int_equal(ch_mp_get_u64(m, "a", &u), CH_EPROTO);
	assert_int_equal(ch_mp_get_u64(m, "b", &u), 0);
	assert_int_equal(ch_mp_get_u64(m, "c", &u), CH_ENOENT);
	assert_int_equal(ch_mp_get_u64(m, "", &u), CH_ENOENT);
	/* a key that is a prefix of another is not a match */
	assert_int_equal(ch_mp_map_get(m, "aa", &o), CH_ENOENT);

	/* a non-string key anywhere makes every lookup fail */
	ch_mpw_reset(&w);
	assert_int_equal(ch_mpw_map(&w, 2), 0);
	assert_int_equal(ch_mpw_kv_u64(&w, "a", 1), 0);
	assert_int_equal(msgpack_pack_uint8(&w.pk, 9), 0);
	assert_int_equal(msgpack_pack_uint8(&w.pk, 9), 0);
	assert_int_equal(ch_mpr_parse(&r, ch_mpw_data(&w), ch_mpw_size(&w)), 0);
	assert_int_equal(ch_mpr_root_map(&r, &m), 0);
	assert_int_equal(ch_mp_get_u64(m, "a", &u), CH_EPROTO);

	/* the root must be a map for ch_mpr_root_map */
	ch_mpw_reset(&w);
	assert_int_equal(ch_mpw_array(&w, 0), 0);
	assert_int_equal(ch_mpr_parse(&r, ch_mpw_data(&w), ch_mpw_size(&w)), 0);
	assert_int_equal(ch_mpr_root_map(&r, &m), CH_EPROTO);
	assert_int_equal(ch_mpr_root(&r, &o), 0);
	assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);

	/* an empty map: everything is absent */
	ch_mpw_reset(&w);
	assert_int_equal(ch_mpw_map(&w, 0), 0);
	assert_int_equal(ch_mpr_parse(&r, ch_mpw_data(&w), ch_mpw_size(&w)), 0);
	assert_int_equal(ch_mpr_root_map(&r, &m), 0);
	assert_int_equal(ch_mp_get_u64(m, "a", &u), CH_ENOENT);
	ch_mpr_free(&r);
	ch_mpw_free(&w);
}

static void test_truncated_and_trailing(void **state)
{
	ch_mpw_t w;
	ch_mpr_t r;
	const msgpack_object *m;
	uint8_t *buf;
	size_t n;

	(void)state;
	ch_mpw_init(&w);
	build_sample(&w);
	n = ch_mpw_size(&w);
	buf = malloc(n + 1);
	assert_non_null(buf);
	memcpy(buf, ch_mpw_data(&w), n);
	ch_mpr_init(&r, 0);
	/* every strict prefix is refused */
	for (size_t k = 0; k < n; k++) {
		assert_int_equal(ch_mpr_parse(&r, buf, k), CH_EPROTO);
		assert_int_equal(ch_mpr_root(&r, &m), CH_EINVAL);
	}
	/* trailing bytes are refused */
	buf[n] = 0xc0;
	assert_int_equal(ch_mpr_parse(&r, buf, n + 1), CH_EPROTO);
	assert_int_equal(ch_mpr_parse(&r, buf, n), 0);
	assert_int_equal(ch_mpr_root_map(&r, &m), 0);
	/* a failed parse drops the previous result */
	assert_int_equal(ch_mpr_parse(&r, buf, n - 1), CH_EPROTO);
	assert_int_equal(ch_mpr_root_map(&r, &m), CH_EINVAL);
	assert_int_equal(ch_mpr_parse(&r, NULL, 0), CH_EPROTO);
	assert_int_equal(ch_mpr_parse(&r, NULL, 3), CH_EINVAL);
	assert_int_equal(ch_mpr_parse(NULL, buf, n), CH_EINVAL);
	free(buf);
	ch_mpr_free(&r);
	ch_mpw_free(&w);
}

static void test_hostile_headers(void **state)
{
	/* containers and strings that claim more than the input holds */
	static const struct {
		const char *name;
		uint8_t b[8];
		size_t n;
		int rc;
	} cases[] = {
	    {"array32 of 2^32-1", {0xdd, 0xff, 0xff, 0xff, 0xff}, 5, CH_EPROTO},
	    {"map32 of 2^32-1", {0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0}, 6, CH_EPROTO},
	    {"array16 of 3 with 2", {0xdc, 0x00, 0x03, 0x01, 0x02}, 5, CH_EPROTO},
	    {"str32 of 4G", {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}, 6, CH_EPROTO},
	    {"bin8 of 5 with 1", {0xc4, 0x05, 0x00}, 3, CH_EPROTO},
	    {"ext32 huge", {0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}, 6, CH_EPROTO},
	    {"fixext16 short", {0xd8, 0x01, 0x00}, 3, CH_EPROTO},
	    {"reserved 0xc1", {0xc1}, 1, CH_EPROTO},
	    {"fixmap missing value", {0x81, 0xa1, 'a'}, 3, CH_EPROTO},
	    {"uint64 short", {0xcf, 0x00, 0x00}, 3, CH_EPROTO},
	    {"nil", {0xc0}, 1, 0},
	    {"fixext1", {0xd4, 0x01, 0x02}, 3, 0},
	    {"empty map16", {0xde, 0x00, 0x00}, 3, 0},
	    {"float64", {0xcb, 0, 0, 0, 0, 0, 0, 0}, 8, CH_EPROTO},
	};
	ch_mpr_t r;

	(void)state;
	ch_mpr_init(&r, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = ch_mpr_parse(&r, cases[i].b, cases[i].n);

		if (rc != cases[i].rc) {
			print_error("%s: got %d\n", cases[i].name, rc);
			fail();
		}
	}
	ch_mpr_free(&r);
}

static void test_depth_and_size_limits(void **state)
{
	uint8_t buf[64];
	ch_mpr_t r;
	ch_mpw_t w;

	(void)state;
	ch_mpr_init(&r, 0);
	/* CH_MP_MAX_DEPTH nested one-element arrays around a nil: fine */
	memset(buf, 0x91, CH_MP_MAX_DEPTH);
	buf[CH_MP_MAX_DEPTH] = 0xc0;
	assert_int_equal(ch_mpr_parse(&r, buf, CH_MP_MAX_DEPTH + 1), 0);
	/* one level more: refused, even when the innermost is empty */
	memset(buf, 0x91, CH_MP_MAX_DEPTH + 1);
	buf[CH_MP_MAX_DEPTH + 1] = 0xc0;
	assert_int_equal(ch_mpr_parse(&r, buf, CH_MP_MAX_DEPTH + 2), CH_EPROTO);
	memset(buf, 0x91, CH_MP_MAX_DEPTH);
	buf[CH_MP_MAX_DEPTH] = 0x90;
	assert_int_equal(ch_mpr_parse(&r, buf, CH_MP_MAX_DEPTH + 1), CH_EPROTO);
	ch_mpr_free(&r);

	/* the size cap */
	ch_mpr_init(&r, 16);
	ch_mpw_init(&w);
	assert_int_equal(ch_mpw_map(&w, 1), 0);
	assert_int_equal(ch_mpw_kv_str(&w, "k", "0123456789"), 0);
	assert_int_equal(ch_mpw_size(&w), 14);
	assert_int_equal(ch_mpr_parse(&r, ch_mpw_data(&w), ch_mpw_size(&w)), 0);
	assert_int_equal(ch_mpw_kv_str(&w, "k", "0123"), 0); /* now 21 bytes, malformed anyway */
	assert_int_equal(ch_mpr_parse(&r, ch_mpw_data(&w), ch_mpw_size(&w)), CH_ERANGE);
	ch_mpw_free(&w);
	ch_mpr_free(&r);
}

static void test_writer_errors(void **state)
{
	ch_mpw_t w;
	void *data = (void *)1;
	size_t len = 9;

	(void)state;
	assert_int_equal(ch_mpw_map(NULL, 1), CH_EINVAL);
	assert_int_equal(ch_mpw_kv_u64(NULL, "a", 1), CH_EINVAL);
	ch_mpw_free(NULL);
	ch_mpw_init(&w);
	/* empty release */
	assert_int_equal(ch_mpw_release(&w, &data, &len), 0);
	assert_null(data);
	assert_int_equal(len, 0);
	/* a NULL key is an error and sticks */
	assert_int_equal(ch_mpw_map(&w, 2), 0);
	assert_int_equal(ch_mpw_kv_u64(&w, NULL, 1), CH_EINVAL);
	assert_int_equal(ch_mpw_kv_u64(&w, "b", 2), CH_EINVAL);
	assert_int_equal(ch_mpw_error(&w), CH_EINVAL);
	assert_int_equal(ch_mpw_release(&w, &data, &len), CH_EINVAL);
	ch_mpw_reset(&w);
	assert_int_equal(ch_mpw_error(&w), 0);
	assert_int_equal(ch_mpw_kv_str(&w, "a", NULL), CH_EINVAL);
	ch_mpw_reset(&w);
	assert_int_equal(ch_mpw_kv_bin(&w, "a", NULL, 3), CH_EINVAL);
	ch_mpw_reset(&w);
	assert_int_equal(ch_mpw_kv_bin(&w, "a", NULL, 0), 0);
	ch_mpw_reset(&w);
	assert_int_equal(ch_mpw_map(&w, (size_t)UINT32_MAX + 1), CH_ERANGE);
	ch_mpw_reset(&w);
	assert_int_equal(ch_mpw_kv_strn(&w, "a", "x", (size_t)UINT32_MAX + 1), CH_ERANGE);
	ch_mpw_reset(&w);
	/* release hands over a malloc'd buffer */
	assert_int_equal(ch_mpw_map(&w, 1), 0);
	assert_int_equal(ch_mpw_kv_bool(&w, "x", false), 0);
	assert_int_equal(ch_mpw_release(&w, &data, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(data, "\x81\xa1x\xc2", 4);
	assert_int_equal(ch_mpw_size(&w), 0);
	free(data);
	ch_mpw_free(&w);
}

/* Parses buf and, on success, walks the result with every accessor. */
static void fuzz_one(ch_mpr_t *r, const uint8_t *buf, size_t len)
{
	const msgpack_object *root, *m, *o;
	uint64_t u;
	int64_t i;
	bool b;
	const char *s;
	const void *p;
	size_t n;
	char sbuf[8];
	uint8_t bin[4];
	int rc = ch_mpr_parse(r, buf, len);

	assert_true(rc == 0 || rc == CH_EPROTO || rc == CH_ERANGE);
	if (rc != 0)
		return;
	assert_int_equal(ch_mpr_root(r, &root), 0);
	(void)ch_mp_as_u64(root, &u);
	(void)ch_mp_as_i64(root, &i);
	(void)ch_mp_as_bool(root, &b);
	(void)ch_mp_as_str(root, &s, &n);
	(void)ch_mp_as_bin(root, &p, &n);
	if (ch_mpr_root_map(r, &m) != 0)
		return;
	for (uint32_t k = 0; k < m->via.map.size; k++) {
		const msgpack_object *key = &m->via.map.ptr[k].key;
		char name[64];

		if (key->type != MSGPACK_OBJECT_STR || key->via.str.size >= sizeof(name))
			continue;
		memcpy(name, key->via.str.ptr, key->via.str.size);
		name[key->via.str.size] = '\0';
		rc = ch_mp_map_get(m, name, &o);
		assert_true(rc == 0 || rc == CH_EPROTO || rc == CH_ENOENT);
		(void)ch_mp_get_u64(m, name, &u);
		(void)ch_mp_get_i64(m, name, &i);
		(void)ch_mp_get_bool(m, name, &b);
		(void)ch_mp_get_str(m, name, &s, &n);
		(void)ch_mp_get_bin(m, name, &p, &n);
		(void)ch_mp_get_strz(m, name, sbuf, sizeof(sbuf));
		(void)ch_mp_get_bin_exact(m, name, bin, sizeof(bin));
	}
}

static void test_fuzz(void **state)
{
	uint8_t seed_msg[512], buf[600];
	size_t seed_len;
	ch_mpw_t w;
	ch_mpr_t r;
	int accepted = 0;

	(void)state;
	rng_state = 20261122;
	ch_mpw_init(&w);
	build_sample(&w);
	seed_len = ch_mpw_size(&w);
	assert_true(seed_len <= sizeof(seed_msg));
	memcpy(seed_msg, ch_mpw_data(&w), seed_len);
	ch_mpw_free(&w);
	ch_mpr_init(&r, 512);

	for (int round = 0; round < 20000; round++) {
		size_t len;

		if (round % 2 == 0) {
			/* random bytes, biased towards msgpack type bytes */
			len = (size_t)(rng() % 64);
			for (size_t k = 0; k < len; k++) {
				uint64_t x = rng();

				buf[k] = (x & 0x300) == 0 ? (uint8_t)(0xc0 + (x >> 16) % 32)
				                          : (uint8_t)x;
			}
		} else {
			/* the sample with a few mutations: flips, inserts, cuts */
			int muts = 1 + (int)(rng() % 4);

			memcpy(buf, seed_msg, seed_len);
			len = seed_len;
			for (int k = 0; k < muts; k++) {
				uint64_t x = rng();
				size_t at = len > 0 ? (size_t)(x >> 8) % len : 0;

				switch (x % 4) {
				case 0:
					buf[at] ^= (uint8_t)(1u << ((x >> 40) % 8));
					break;
				case 1:
					buf[at] = (uint8_t)(x >> 32);
					break;
				case 2:
					if (len < sizeof(buf)) {
						memmove(buf + at + 1, buf + at, len - at);
						buf[at] = (uint8_t)(x >> 24);
						len++;
					}
					break;
				default:
					len = at;
					break;
				}
			}
		}
		fuzz_one(&r, buf, len);
		if (ch_mpr_root(&r, &(const msgpack_object *){NULL}) == 0)
			accepted++;
	}
	/* the loop exercised both outcomes */
	assert_true(accepted > 100);
	assert_true(accepted < 19000);
	/* over the size cap */
	memset(buf, 0xc0, sizeof(buf));
	assert_int_equal(ch_mpr_parse(&r, buf, 513), CH_ERANGE);
	ch_mpr_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_wrong_types),
	    cmocka_unit_test(test_missing_and_duplicate_keys),
	    cmocka_unit_test(test_truncated_and_trailing),
	    cmocka_unit_test(test_hostile_headers),
	    cmocka_unit_test(test_depth_and_size_limits),
	    cmocka_unit_test(test_writer_errors),
	    cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
