/* test_mpjson.c: ch_mp_to_json / ch_mp_to_text / ch_json_quote: escapes,
 * nesting, bin and ext, non-string keys, truncation, and a seeded random
 * loop whose JSON output must pass a strict RFC 8259 checker and whose text
 * output must be balanced. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "mp.h"
#include "mpjson.h"

/* ---------------------------------------------------------------- JSON checker
 * A strict recursive-descent recogniser for RFC 8259 text (UTF-8 checked,
 * no raw control characters in strings), so the random loop proves the
 * output parses, not just that brackets balance. */

typedef struct {
	const unsigned char *p;
	size_t n, i;
	int depth;
} jp_t;

static bool jp_value(jp_t *j);

/* Skips JSON whitespace (the renderer writes none, but a checker allows it). */
static void jp_ws(jp_t *j)
{
	while (j->i < j->n && strchr(" \t\r\n", j->p[j->i]) != NULL && j->p[j->i] != 0)
		j->i++;
}

/* Consumes the literal word if it is next. */
static bool jp_lit(jp_t *j, const char *word)
{
	size_t len = strlen(word);

	if (j->n - j->i < len || memcmp(j->p + j->i, word, len) != 0)
		return false;
	j->i += len;
	return true;
}

/* Checks one UTF-8 sequence (the same rules as the renderer's decoder). */
static bool jp_utf8(jp_t *j)
{
	unsigned c = j->p[j->i];
	size_t len;
	unsigned long cp, min;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return false;
	}
	if (j->n - j->i < len)
		return false;
	for (size_t k = 1; k < len; k++) {
		if ((j->p[j->i + k] & 0xc0) != 0x80)
			return false;
		cp = (cp << 6) | (j->p[j->i + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return false;
	j->i += len;
	return true;
}

/* Checks a string token. */
static bool jp_string(jp_t *j)
{
	if (j->i >= j->n || j->p[j->i] != '"')
		return false;
	j->i++;
	while (j->i < j->n) {
		unsigned c = j->p[j->i];

		if (c == '"') {
			j->i++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (++j->i >= j->n)
				return false;
			c = j->p[j->i++];
			if (c == 'u') {
				for (int k = 0; k < 4; k++, j->i++)
					if (j->i >= j->n ||
					    strchr("0123456789abcdefABCDEF", j->p[j->i]) == NULL ||
					    j->p[j->i] == 0)
						return false;
			} else if (strchr("\"\\/bfnrt", (int)c) == NULL || c == 0) {
				return false;
			}
		} else if (c >= 0x80) {
			if (!jp_utf8(j))
				return false;
		} else {
			j->i++;
		}
	}
	return false;
}

/* Counts decimal digits at the cursor. */
static size_t jp_digits(jp_t *j)
{
	size_t k = 0;

	while (j->i < j->n && j->p[j->i] >= '0' && j->p[j->i] <= '9')
		j->i++, k++;
	return k;
}

/* Checks a number token: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool jp_number(jp_t *j)
{
	if (j->i < j->n && j->p[j->i] == '-')
		j->i++;
	if (j->i < j->n && j->p[j->i] == '0')
		j->i++;
	else if (jp_digits(j) == 0)
		return false;
	if (j->i < j->n && j->p[j->i] == '.') {
		j->i++;
		if (jp_digits(j) == 0)
			return false;
	}
	if (j->i < j->n && (j->p[j->i] == 'e' || j->p[j->i] == 'E')) {
		j->i++;
		if (j->i < j->n && (j->p[j->i] == '+' || j->p[j->i] == '-'))
			j->i++;
		if (jp_digits(j) == 0)
			return false;
	}
	return true;
}

/* Checks an array or object; open is '[' or '{'. */
static bool jp_container(jp_t *j, char open)
{
	char close = open == '[' ? ']' : '}';

	if (++j->depth > 200)
		return false;
	j->i++;
	jp_ws(j);
	if (j->i < j->n && j->p[j->i] == close) {
		j->i++;
		j->depth--;
		return true;
	}
	for (;;) {
		jp_ws(j);
		if (open == '{') {
			if (!jp_string(j))
				return false;
			jp_ws(j);
			if (j->i >= j->n || j->p[j->i++] != ':')
				return false;
		}
		if (!jp_value(j))
			return false;
		jp_ws(j);
		if (j->i >= j->n)
			return false;
		if (j->p[j->i] == ',') {
			j->i++;
			continue;
		}
		if (j->p[j->i] != close)
			return false;
		j->i++;
		j->depth--;
		return true;
	}
}

static bool jp_value(jp_t *j)
{
	jp_ws(j);
	if (j->i >= j->n)
		return false;
	switch (j->p[j->i]) {
	case '{':
	case '[':
		return jp_container(j, (char)j->p[j->i]);
	case '"':
		return jp_string(j);
	case 't':
		return jp_lit(j, "true");
	case 'f':
		return jp_lit(j, "false");
	case 'n':
		return jp_lit(j, "null");
	default:
		return jp_number(j);
	}
}

/* True if s is exactly one valid JSON value. */
static bool json_valid(const char *s)
{
	jp_t j = {.p = (const unsigned char *)s, .n = strlen(s)};

	if (!jp_value(&j))
		return false;
	jp_ws(&j);
	return j.i == j.n;
}

/* ---------------------------------------------------------------- helpers */

/* Parses the packed bytes of a writer into r and returns the root. */
static const msgpack_object *parse(ch_mpr_t *r, const msgpack_sbuffer *sb)
{
	const msgpack_object *o = NULL;

	assert_int_equal(ch_mpr_parse(r, sb->data, sb->size), 0);
	assert_int_equal(ch_mpr_root(r, &o), 0);
	return o;
}

/* Packs a string value. */
static void pk_str(msgpack_packer *pk, const char *s, size_t n)
{
	assert_int_equal(msgpack_pack_str(pk, n), 0);
	assert_int_equal(msgpack_pack_str_body(pk, s, n), 0);
}

/* Packs a NUL-terminated string value. */
static void pk_cstr(msgpack_packer *pk, const char *s)
{
	pk_str(pk, s, strlen(s));
}

/* Renders one string object as JSON and compares with want. */
static void check_str_json(const char *in, size_t n, const char *want)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	ch_mpr_t r;
	char buf[512];

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ch_mpr_init(&r, 0);
	pk_str(&pk, in, n);
	assert_int_equal(ch_mp_to_json(parse(&r, &sb), buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
	assert_true(json_valid(buf));
	assert_int_equal(ch_json_quote(in, n, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
	ch_mpr_free(&r);
	msgpack_sbuffer_destroy(&sb);
}

/* ---------------------------------------------------------------- tests */

static void test_escapes(void **state)
{
	(void)state;
	check_str_json("plain", 5, "\"plain\"");
	check_str_json("", 0, "\"\"");
	check_str_json("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
	check_str_json("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"");
	check_str_json("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"");
	check_str_json("nul\0x", 5, "\"nul\\u0000x\"");
	/* valid UTF-8 passes through; C1 controls and U+2028 are escaped */
	check_str_json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
	               "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	check_str_json("\xc2\x85|\xe2\x80\xa8", 6, "\"\\u0085|\\u2028\"");
	/* invalid bytes, overlong forms, surrogates, truncated sequences */
	check_str_json("\xff", 1, "\"\\ufffd\"");
	check_str_json("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");
	check_str_json("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");
	check_str_json("ab\xe2\x82", 4, "\"ab\\ufffd\\ufffd\"");
	check_str_json("\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

static void test_scalars_and_nesting(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	ch_mpr_t r;
	char buf[1024];
	const msgpack_object *o;
	static const unsigned char bin[] = {0x00, 0xab, 0xff, 0x10};

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ch_mpr_init(&r, 0);

	/* {"ok":true,"result":{"n":-5,"u":18446744073709551615,"f":0.1,
	 *  "h":bin,"a":[null,false,1.5,[],{}],"e":ext,"x":NaN,"s":"a b"}} */
	msgpack_pack_map(&pk, 2);
	pk_cstr(&pk, "ok");
	msgpack_pack_true(&pk);
	pk_cstr(&pk, "result");
	msgpack_pack_map(&pk, 9);
	pk_cstr(&pk, "n");
	msgpack_pack_int64(&pk, -5);
	pk_cstr(&pk, "u");
	msgpack_pack_uint64(&pk, UINT64_MAX);
	pk_cstr(&pk, "f");
	msgpack_pack_double(&pk, 0.1);
	pk_cstr(&pk, "g");
	msgpack_pack_float(&pk, 0.1f);
	pk_cstr(&pk, "h");
	msgpack_pack_bin(&pk, sizeof(bin));
	msgpack_pack_bin_body(&pk, bin, sizeof(bin));
	pk_cstr(&pk, "a");
	msgpack_pack_array(&pk, 5);
	msgpack_pack_nil(&pk);
	msgpack_pack_false(&pk);
	msgpack_pack_double(&pk, 1.5);
	msgpack_pack_array(&pk, 0);
	msgpack_pack_map(&pk, 0);
	pk_cstr(&pk, "e");
	msgpack_pack_ext(&pk, 2, 7);
	msgpack_pack_ext_body(&pk, "\x01\x02", 2);
	pk_cstr(&pk, "x");
	msgpack_pack_double(&pk, NAN);
	pk_cstr(&pk, "s");
	pk_cstr(&pk, "a b");
	o = parse(&r, &sb);

	assert_int_equal(ch_mp_to_json(o, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "{\"ok\":true,\"result\":{\"n\":-5,\"u\":18446744073709551615,"
	                         "\"f\":0.1,\"g\":0.1,\"h\":\"00abff10\","
	                         "\"a\":[null,false,1.5,[],{}],\"e\":\"0102\",\"x\":null,"
	                         "\"s\":\"a b\"}}");
	assert_true(json_valid(buf));

	assert_int_equal(ch_mp_to_text(o, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ok=true result={n=-5,u=18446744073709551615,f=0.1,g=0.1,"
	                         "h=00abff10,a=[null,false,1.5,[],{}],e=0102,x=nan,s=\"a b\"}");

	/* a bare scalar and an array at the top */
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_array(&pk, 3);
	pk_cstr(&pk, "x");
	pk_cstr(&pk, "");
	pk_cstr(&pk, "k=v");
	o = parse(&r, &sb);
	assert_int_equal(ch_mp_to_text(o, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "[x,\"\",\"k=v\"]");
	assert_int_equal(ch_mp_to_json(o, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "[\"x\",\"\",\"k=v\"]");

	/* an empty top-level map prints nothing in the text form */
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_map(&pk, 0);
	o = parse(&r, &sb);
	assert_int_equal(ch_mp_to_text(o, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(ch_mp_to_json(o, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "{}");

	ch_mpr_free(&r);
	msgpack_sbuffer_destroy(&sb);
}

static void test_nonstring_keys(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	ch_mpr_t r;
	char buf[512];
	const msgpack_object *o;

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ch_mpr_init(&r, 0);

	/* {1:"a", nil:2, bin(ab):3, ["q\"",{"k":1}]:4, {["x"]:1}:5} */
	msgpack_pack_map(&pk, 5);
	msgpack_pack_int(&pk, 1);
	pk_cstr(&pk, "a");
	msgpack_pack_nil(&pk);
	msgpack_pack_int(&pk, 2);
	msgpack_pack_bin(&pk, 1);
	msgpack_pack_bin_body(&pk, "\xab", 1);
	msgpack_pack_int(&pk, 3);
	msgpack_pack_array(&pk, 2);
	pk_cstr(&pk, "q\"");
	msgpack_pack_map(&pk, 1);
	pk_cstr(&pk, "k");
	msgpack_pack_int(&pk, 1);
	msgpack_pack_int(&pk, 4);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_array(&pk, 1);
	pk_cstr(&pk, "x");
	msgpack_pack_int(&pk, 1);
	msgpack_pack_int(&pk, 5);
	o = parse(&r, &sb);

	assert_int_equal(ch_mp_to_json(o, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "{\"1\":\"a\",\"null\":2,\"ab\":3,"
	                         "\"[\\\"q\\\\\\\"\\\",{\\\"k\\\":1}]\":4,"
	                         "\"{\\\"[\\\\\\\"x\\\\\\\"]\\\":1}\":5}");
	assert_true(json_valid(buf));
	assert_int_equal(ch_mp_to_text(o, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1=a null=2 ab=3 [\"q\\\"\",{k=1}]=4 {[x]=1}=5");

	ch_mpr_free(&r);
	msgpack_sbuffer_destroy(&sb);
}

static void test_bad_args_and_depth(void **state)
{
	msgpack_object o = {.type = MSGPACK_OBJECT_NIL};
	msgpack_object chain[CH_MPJSON_MAX_DEPTH + 1];
	char buf[512];

	(void)state;
	assert_int_equal(ch_mp_to_json(NULL, buf, sizeof(buf)), CH_EINVAL);
	assert_int_equal(ch_mp_to_json(&o, NULL, 10), CH_EINVAL);
	assert_int_equal(ch_mp_to_json(&o, buf, 0), CH_EINVAL);
	assert_int_equal(ch_mp_to_text(NULL, buf, sizeof(buf)), CH_EINVAL);
	assert_int_equal(ch_mp_to_text(&o, buf, 0), CH_EINVAL);
	assert_int_equal(ch_json_quote(NULL, 1, buf, sizeof(buf)), CH_EINVAL);
	assert_int_equal(ch_json_quote(NULL, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "\"\"");
	assert_int_equal(ch_json_quote("x", 1, NULL, 4), CH_EINVAL);

	/* an object built by hand deeper than the limit, and one at the limit */
	for (size_t i = 0; i < CH_MPJSON_MAX_DEPTH; i++) {
		chain[i].type = MSGPACK_OBJECT_ARRAY;
		chain[i].via.array.size = 1;
		chain[i].via.array.ptr = &chain[i + 1];
	}
	chain[CH_MPJSON_MAX_DEPTH].type = MSGPACK_OBJECT_NIL;
	assert_int_equal(ch_mp_to_json(&chain[0], buf, sizeof(buf)), CH_EPROTO);
	assert_int_equal(ch_mp_to_text(&chain[0], buf, sizeof(buf)), CH_EPROTO);
	assert_true(strlen(buf) < sizeof(buf));
	assert_int_equal(ch_mp_to_json(&chain[1], buf, sizeof(buf)), 0);
	assert_true(json_valid(buf));

	/* an unknown type */
	o.type = (msgpack_object_type)0x7f;
	assert_int_equal(ch_mp_to_json(&o, buf, sizeof(buf)), CH_EPROTO);
	assert_string_equal(buf, "");
}

/* Checks the truncation contract for one rendering function: for every cap
 * up to the full length, CH_ERANGE and a NUL-terminated prefix of the full
 * text, at most 3 bytes short (a cut UTF-8 character); at full length + 1
 * success. */
static void check_truncation(int (*fn)(const msgpack_object *, char *, size_t),
                             const msgpack_object *o, const char *full, size_t step)
{
	size_t len = strlen(full);
	char *buf = malloc(len + 1);

	assert_non_null(buf);
	for (size_t cap = 1; cap <= len; cap += step) {
		size_t got;

		memset(buf, 'Z', len + 1);
		assert_int_equal(fn(o, buf, cap), CH_ERANGE);
		got = strlen(buf);
		assert_true(got <= cap - 1);
		assert_true(got + 3 >= cap - 1);
		assert_memory_equal(buf, full, got);
	}
	assert_int_equal(fn(o, buf, len + 1), 0);
	assert_string_equal(buf, full);
	free(buf);
}

static void test_truncation(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	ch_mpr_t r;
	char buf[64];
	const msgpack_object *o;

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ch_mpr_init(&r, 0);
	msgpack_pack_map(&pk, 2);
	pk_cstr(&pk, "name");
	pk_cstr(&pk, "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac");
	pk_cstr(&pk, "list");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int(&pk, 1);
	pk_cstr(&pk, "two\n");
	o = parse(&r, &sb);

	assert_int_equal(ch_mp_to_json(o, buf, sizeof(buf)), 0);
	check_truncation(ch_mp_to_json, o, buf, 1);
	assert_int_equal(ch_mp_to_text(o, buf, sizeof(buf)), 0);
	check_truncation(ch_mp_to_text, o, buf, 1);

	/* a cut inside a 3-byte character backs off to the character start */
	assert_int_equal(ch_mp_to_json(o, buf, 11), CH_ERANGE);
	assert_string_equal(buf, "{\"name\":\"");
	assert_int_equal(ch_mp_to_json(o, buf, 13), CH_ERANGE);
	assert_string_equal(buf, "{\"name\":\"\xe2\x82\xac");
	assert_int_equal(ch_mp_to_json(o, buf, 1), CH_ERANGE);
	assert_string_equal(buf, "");

	ch_mpr_free(&r);
	msgpack_sbuffer_destroy(&sb);
}

/* ---------------------------------------------------------------- random */

/* xorshift64*: a tiny seeded generator so failures reproduce. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* Packs random bytes biased towards the characters that need escaping. */
static void rnd_bytes(uint64_t *s, char *out, size_t n)
{
	static const char *const pieces[] = {"a",
	                                     "Z",
	                                     " ",
	                                     "\"",
	                                     "\\",
	                                     "\n",
	                                     "\x01",
	                                     "\x7f",
	                                     "=",
	                                     ",",
	                                     "{",
	                                     "]",
	                                     "\xc3\xa9",
	                                     "\xe2\x82\xac",
	                                     "\xf0\x9f\x98\x80",
	                                     "\xff",
	                                     "\xc3",
	                                     "\xed\xa0\x80",
	                                     "\xe2\x80\xa8",
	                                     "\0"};
	size_t i = 0;

	while (i < n) {
		const char *p = pieces[rnd(s) % (sizeof(pieces) / sizeof(pieces[0]))];
		size_t len = p[0] == '\0' ? 1 : strlen(p);

		for (size_t k = 0; k < len && i < n; k++)
			out[i++] = p[k];
	}
}

/* Packs one random object of at most depth more levels. */
static void rnd_obj(uint64_t *s, msgpack_packer *pk, int depth)
{
	char bytes[48];
	size_t n;
	int kind = (int)(rnd(s) % (depth > 0 ? 12 : 9));

	switch (kind) {
	case 0:
		msgpack_pack_nil(pk);
		break;
	case 1:
		(rnd(s) & 1) ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
		break;
	case 2:
		msgpack_pack_uint64(pk, rnd(s) >> (rnd(s) % 64));
		break;
	case 3:
		msgpack_pack_int64(pk, -(int64_t)(rnd(s) >> (1 + rnd(s) % 63)) - 1);
		break;
	case 4: {
		static const double specials[] = {0.0, -0.0, 1e300, -1e-300, 5e-324, NAN, INFINITY};
		double d = (rnd(s) & 1) ? (double)(int64_t)rnd(s) / (double)(1 + rnd(s) % 1000000)
		                        : specials[rnd(s) % 7];
		(rnd(s) & 1) ? msgpack_pack_double(pk, d) : msgpack_pack_float(pk, (float)d);
		break;
	}
	case 5:
	case 6:
		n = rnd(s) % sizeof(bytes);
		rnd_bytes(s, bytes, n);
		assert_int_equal(msgpack_pack_str(pk, n), 0);
		assert_int_equal(msgpack_pack_str_body(pk, bytes, n), 0);
		break;
	case 7:
		n = rnd(s) % sizeof(bytes);
		rnd_bytes(s, bytes, n);
		msgpack_pack_bin(pk, n);
		msgpack_pack_bin_body(pk, bytes, n);
		break;
	case 8:
		n = rnd(s) % 20;
		rnd_bytes(s, bytes, n);
		msgpack_pack_ext(pk, n, (int8_t)rnd(s));
		msgpack_pack_ext_body(pk, bytes, n);
		break;
	case 9:
		n = rnd(s) % 5;
		msgpack_pack_array(pk, n);
		for (size_t i = 0; i < n; i++)
			rnd_obj(s, pk, depth - 1);
		break;
	default:
		n = rnd(s) % 5;
		msgpack_pack_map(pk, n);
		for (size_t i = 0; i < n; i++) {
			if (rnd(s) % 3 != 0) {
				size_t kn = rnd(s) % 12;

				rnd_bytes(s, bytes, kn);
				msgpack_pack_str(pk, kn);
				msgpack_pack_str_body(pk, bytes, kn);
			} else {
				rnd_obj(s, pk, depth - 1);
			}
			rnd_obj(s, pk, depth - 1);
		}
		break;
	}
}

/* Checks the text form's shape: brackets balance outside quoted strings,
 * quoted strings close, and no raw control character appears. */
static void check_text_shape(const char *t)
{
	char stack[256];
	size_t sp = 0;
	bool inq = false;

	for (const unsigned char *p = (const unsigned char *)t; *p != '\0'; p++) {
		assert_true(*p >= 0x20 && *p != 0x7f);
		if (inq) {
			if (*p == '\\')
				p++, assert_true(*p != '\0');
			else if (*p == '"')
				inq = false;
			continue;
		}
		if (*p == '"') {
			inq = true;
		} else if (*p == '[' || *p == '{') {
			assert_true(sp < sizeof(stack));
			stack[sp++] = (char)*p;
		} else if (*p == ']' || *p == '}') {
			assert_true(sp > 0);
			assert_int_equal(stack[--sp], *p == ']' ? '[' : '{');
		}
	}
	assert_false(inq);
	assert_int_equal(sp, 0);
}

static void test_random(void **state)
{
	const size_t cap = 1 << 20;
	char *json = malloc(cap), *text = malloc(cap);
	msgpack_sbuffer sb;
	msgpack_packer pk;
	ch_mpr_t r;
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	(void)state;
	/* the checker itself rejects what it should */
	assert_true(json_valid("{\"a\":[1,-0.5e+3,\"\\u00e9\",null]}"));
	assert_false(json_valid("{a:1}"));
	assert_false(json_valid("[1,]"));
	assert_false(json_valid("\"\x01\""));
	assert_false(json_valid("\"\xc3\""));
	assert_false(json_valid("01"));
	assert_false(json_valid("[1] x"));
	assert_false(json_valid("\"\\x\""));
	assert_non_null(json);
	assert_non_null(text);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ch_mpr_init(&r, 0);
	for (int iter = 0; iter < 3000; iter++) {
		const msgpack_object *o;

		msgpack_sbuffer_clear(&sb);
		rnd_obj(&seed, &pk, 1 + iter % 6);
		o = parse(&r, &sb);

		assert_int_equal(ch_mp_to_json(o, json, cap), 0);
		if (!json_valid(json))
			fail_msg("iteration %d: invalid JSON: %s", iter, json);
		assert_int_equal(ch_mp_to_text(o, text, cap), 0);
		check_text_shape(text);
		if (iter % 50 == 0) {
			size_t jl = strlen(json), tl = strlen(text);

			check_truncation(ch_mp_to_json, o, json, jl / 40 + 1);
			check_truncation(ch_mp_to_text, o, text, tl / 40 + 1);
		}
	}
	ch_mpr_free(&r);
	msgpack_sbuffer_destroy(&sb);
	free(json);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escapes),        cmocka_unit_test(test_scalars_and_nesting),
	    cmocka_unit_test(test_nonstring_keys), cmocka_unit_test(test_bad_args_and_depth),
	    cmocka_unit_test(test_truncation),     cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
