/* test_bencode.c: the strict bencode decoder and the encoder: canonical
 * values decode and re-encode byte for byte; every malformed input (huge
 * lengths, deep nesting, too many values, bad integers, non-string or
 * unsorted keys, trailing bytes, truncation at every byte) is rejected
 * with its reason counted; a seeded fuzz loop never crashes and never
 * accepts a value that breaks the token invariants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "services/discovery/bencode.h"

static const ben_limits_t pkt = {
    .max_input = BEN_PKT_MAX_INPUT,
    .max_depth = BEN_PKT_MAX_DEPTH,
    .max_tokens = BEN_PKT_MAX_TOKENS,
    .max_str = BEN_PKT_MAX_INPUT,
};

static ben_tok_t toks[BEN_PKT_MAX_TOKENS];

/* dec: decodes s with the packet limits. */
static ben_err_t dec(ben_doc_t *doc, const char *s, size_t n, ben_stats_t *st)
{
	return ben_decode(doc, (const uint8_t *)s, n, toks, BEN_PKT_MAX_TOKENS, &pkt, st);
}

/* reencode: writes token i of doc back with the encoder (dict keys in the
 * order they came, which the decoder checked to be sorted). */
static void reencode(const ben_doc_t *doc, uint32_t i, ben_w_t *w)
{
	const ben_tok_t *t = &doc->toks[i];

	switch (t->type) {
	case BEN_INT:
		ben_w_int(w, t->ival);
		break;
	case BEN_STR:
		ben_w_str(w, ben_str(doc, i), t->slen);
		break;
	default:
		if (t->type == BEN_LIST)
			ben_w_list(w);
		else
			ben_w_dict(w);
		for (uint32_t c = i + 1; c < t->next; c = doc->toks[c].next)
			reencode(doc, c, w);
		ben_w_end(w);
	}
}

static void test_valid_roundtrip(void **state)
{
	static const char *const ok[] = {
	    "i0e",
	    "i42e",
	    "i-7e",
	    "i9223372036854775807e",
	    "i-9223372036854775808e",
	    "0:",
	    "4:spam",
	    "le",
	    "de",
	    "l4:spami42ee",
	    "d3:bar4:spam3:fooi42ee",
	    "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe",
	    "d2:abi1e1:bi2ee",
	    "lllleeee",
	    "d1:ald1:bleeee",
	};
	uint8_t out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ben_doc_t doc;
		ben_stats_t st = {0};
		ben_w_t w;

		if (dec(&doc, ok[i], strlen(ok[i]), &st) != BEN_OK)
			fail_msg("rejected valid '%s'", ok[i]);
		assert_int_equal(st.decoded, 1);
		assert_int_equal(doc.toks[0].start, 0);
		assert_int_equal(doc.toks[0].end, strlen(ok[i]));
		assert_int_equal(doc.toks[0].next, doc.ntoks);
		ben_w_init(&w, out, sizeof(out));
		reencode(&doc, 0, &w);
		assert_false(w.overflow);
		assert_int_equal(w.len, strlen(ok[i]));
		assert_memory_equal(out, ok[i], w.len);
	}
}

static void test_lookup_helpers(void **state)
{
	const char *s = "d3:bar4:spam3:fooi42e1:vl1:xi1eee";
	ben_doc_t doc;
	const uint8_t *p;
	size_t n;
	int64_t v;
	int32_t vi;

	(void)state;
	assert_int_equal(dec(&doc, s, strlen(s), NULL), BEN_OK);
	assert_int_equal(doc.toks[0].type, BEN_DICT);
	assert_int_equal(doc.toks[0].count, 3);
	assert_int_equal(ben_get_str(&doc, 0, "bar", &p, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(p, "spam", 4);
	assert_int_equal(ben_get_int(&doc, 0, "foo", &v), 0);
	assert_int_equal(v, 42);
	/* wrong types and absent keys */
	assert_int_equal(ben_get_int(&doc, 0, "bar", &v), -2);
	assert_int_equal(ben_get_str(&doc, 0, "foo", &p, &n), -2);
	assert_int_equal(ben_get_str(&doc, 0, "nope", &p, &n), -1);
	assert_int_equal(ben_dict_get(&doc, 1, "bar"), -1); /* not a dict */
	/* the raw span of a nested value (BEP 44 hashes it verbatim) */
	vi = ben_dict_get(&doc, 0, "v");
	assert_true(vi > 0);
	assert_int_equal(doc.toks[vi].type, BEN_LIST);
	assert_int_equal(doc.toks[vi].count, 2);
	assert_int_equal(doc.toks[vi].end - doc.toks[vi].start, strlen("l1:xi1ee"));
	assert_memory_equal(s + doc.toks[vi].start, "l1:xi1ee", 8);
}

/* One malformed input and the reason it must be rejected with. */
typedef struct bad {
	const char *in;
	ben_err_t why;
} bad_t;

static void test_rejections_counted(void **state)
{
	static const bad_t bad[] = {
	    {"", BEN_ERR_SIZE},
	    {"i", BEN_ERR_TRUNCATED},
	    {"i12", BEN_ERR_TRUNCATED},
	    {"4:spa", BEN_ERR_TRUNCATED},
	    {"l", BEN_ERR_TRUNCATED},
	    {"l4:spam", BEN_ERR_TRUNCATED},
	    {"d1:a", BEN_ERR_TRUNCATED},
	    {"d1:ai1e", BEN_ERR_TRUNCATED},
	    {"4", BEN_ERR_TRUNCATED},
	    {"x", BEN_ERR_SYNTAX},
	    {"e", BEN_ERR_SYNTAX},
	    {"l-e", BEN_ERR_SYNTAX},
	    {"d1:ae", BEN_ERR_SYNTAX},
	    {"ie", BEN_ERR_INT},
	    {"i-e", BEN_ERR_INT},
	    {"i-0e", BEN_ERR_INT},
	    {"i01e", BEN_ERR_INT},
	    {"i-01e", BEN_ERR_INT},
	    {"i1.5e", BEN_ERR_INT},
	    {"i 1e", BEN_ERR_INT},
	    {"i9223372036854775808e", BEN_ERR_INT},
	    {"i-9223372036854775809e", BEN_ERR_INT},
	    {"i99999999999999999999999e", BEN_ERR_INT},
	    {"01:a", BEN_ERR_LENGTH},
	    {"5x", BEN_ERR_LENGTH},
	    {"99999999999:", BEN_ERR_LENGTH},
	    {"18446744073709551616:x", BEN_ERR_LENGTH},
	    {"4097:", BEN_ERR_LENGTH},
	    {"3:abcd", BEN_ERR_TRAILING},
	    {"i1ei2e", BEN_ERR_TRAILING},
	    {"lee", BEN_ERR_TRAILING},
	    {"di1ei2ee", BEN_ERR_KEY},
	    {"dlee1:ae", BEN_ERR_KEY},
	    {"dd1:ai1eei1ee", BEN_ERR_KEY},
	    {"d1:bi1e1:ai2ee", BEN_ERR_ORDER},
	    {"d1:ai1e1:ai2ee", BEN_ERR_ORDER},
	    {"d2:abi1e1:ai2ee", BEN_ERR_ORDER},
	};
	ben_stats_t st = {0};
	uint64_t want[BEN_ERR_NREASONS] = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ben_doc_t doc;
		ben_err_t e = dec(&doc, bad[i].in, strlen(bad[i].in), &st);

		if (e != bad[i].why)
			fail_msg("'%s': got %s, want %s", bad[i].in, ben_err_name(e),
			         ben_err_name(bad[i].why));
		want[bad[i].why]++;
	}
	for (int r = 1; r < BEN_ERR_NREASONS; r++)
		assert_int_equal(st.rejected[r], want[r]);
	assert_int_equal(st.decoded, 0);
	assert_string_equal(ben_err_name(BEN_ERR_DEPTH), "depth");
	assert_string_equal(ben_err_name((ben_err_t)99), "unknown");
}

static void test_depth_and_count(void **state)
{
	char buf[4096];
	ben_stats_t st = {0};
	ben_doc_t doc;
	size_t n = 0;
	ben_limits_t deep = pkt;

	(void)state;
	/* exactly the depth limit is fine, one more is not */
	for (int i = 0; i < BEN_PKT_MAX_DEPTH; i++)
		buf[n++] = 'l';
	for (int i = 0; i < BEN_PKT_MAX_DEPTH; i++)
		buf[n++] = 'e';
	assert_int_equal(dec(&doc, buf, n, &st), BEN_OK);
	n = 0;
	for (int i = 0; i < BEN_PKT_MAX_DEPTH + 1; i++)
		buf[n++] = 'l';
	for (int i = 0; i < BEN_PKT_MAX_DEPTH + 1; i++)
		buf[n++] = 'e';
	assert_int_equal(dec(&doc, buf, n, &st), BEN_ERR_DEPTH);
	/* 2000 levels: rejected without recursion, whatever the limit says */
	n = 0;
	for (int i = 0; i < 2000; i++)
		buf[n++] = 'l';
	for (int i = 0; i < 2000; i++)
		buf[n++] = 'e';
	deep.max_depth = 100000;
	assert_int_equal(
	    ben_decode(&doc, (const uint8_t *)buf, n, toks, BEN_PKT_MAX_TOKENS, &deep, &st),
	    BEN_ERR_DEPTH);
	/* too many values */
	n = 0;
	buf[n++] = 'l';
	for (int i = 0; i < BEN_PKT_MAX_TOKENS; i++) {
		memcpy(buf + n, "i1e", 3);
		n += 3;
	}
	buf[n++] = 'e';
	assert_int_equal(dec(&doc, buf, n, &st), BEN_ERR_COUNT);
	/* input over max_input */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(ben_decode(&doc, (const uint8_t *)buf, BEN_PKT_MAX_INPUT + 1, toks,
	                            BEN_PKT_MAX_TOKENS, &pkt, &st),
	                 BEN_ERR_SIZE);
	assert_int_equal(st.rejected[BEN_ERR_DEPTH], 2);
	assert_int_equal(st.rejected[BEN_ERR_COUNT], 1);
	assert_int_equal(st.rejected[BEN_ERR_SIZE], 1);
	/* NULL arguments are a size error, not a crash */
	assert_int_equal(ben_decode(NULL, (const uint8_t *)"i1e", 3, toks, 4, &pkt, NULL),
	                 BEN_ERR_SIZE);
	assert_int_equal(ben_decode(&doc, NULL, 3, toks, 4, &pkt, NULL), BEN_ERR_SIZE);
}

/* Every strict prefix of a valid message is rejected. */
static void test_truncation_everywhere(void **state)
{
	const char *msgs[] = {
	    "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:"
	    "aa1:y1:qe",
	    "d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:"
	    "y1:re",
	    "d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee",
	};
	ben_stats_t st = {0};
	uint64_t tried = 0;

	(void)state;
	for (size_t m = 0; m < 3; m++) {
		size_t len = strlen(msgs[m]);
		ben_doc_t doc;

		assert_int_equal(dec(&doc, msgs[m], len, NULL), BEN_OK);
		for (size_t k = 0; k < len; k++) {
			assert_int_not_equal(dec(&doc, msgs[m], k, &st), BEN_OK);
			tried++;
		}
	}
	assert_int_equal(st.decoded, 0);
	uint64_t sum = 0;
	for (int r = 0; r < BEN_ERR_NREASONS; r++)
		sum += st.rejected[r];
	assert_int_equal(sum, tried);
	assert_true(st.rejected[BEN_ERR_TRUNCATED] > tried / 2);
}

/* Random mutations never crash; whatever is accepted is consistent. */
static void test_fuzz(void **state)
{
	const char *seed =
	    "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti6"
	    "881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe";
	size_t len = strlen(seed);
	uint64_t x = 0x9e3779b97f4a7c15ull, accepted = 0;
	uint8_t buf[512];

	(void)state;
	for (int it = 0; it < 50000; it++) {
		size_t n = len;
		ben_doc_t doc;

		memcpy(buf, seed, len);
		for (int k = 0; k < 1 + it % 4; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			switch (x % 4) {
			case 0: /* flip a byte */
				buf[(x >> 8) % n] = (uint8_t)(x >> 24);
				break;
			case 1: /* cut */
				n = (size_t)((x >> 8) % n) + 1;
				break;
			case 2: /* structural byte */
				buf[(x >> 8) % n] = "ield:0123456789-"[(x >> 20) % 16];
				break;
			default: /* duplicate a span */
				if (n + 8 < sizeof(buf)) {
					size_t at = (size_t)((x >> 8) % n);

					memmove(buf + at + 8, buf + at, n - at);
					n += 8;
				}
			}
		}
		if (dec(&doc, (const char *)buf, n, NULL) != BEN_OK)
			continue;
		accepted++;
		for (uint32_t i = 0; i < doc.ntoks; i++) {
			assert_true(doc.toks[i].end <= n);
			assert_true(doc.toks[i].start < doc.toks[i].end);
			assert_true(doc.toks[i].next > i && doc.toks[i].next <= doc.ntoks);
			if (doc.toks[i].type == BEN_STR)
				assert_true(doc.toks[i].soff + doc.toks[i].slen <= n);
		}
	}
	assert_true(accepted > 0);
}

static void test_encoder_overflow(void **state)
{
	uint8_t buf[8];
	ben_w_t w;

	(void)state;
	ben_w_init(&w, buf, sizeof(buf));
	ben_w_cstr(&w, "spam"); /* 6 bytes */
	assert_false(w.overflow);
	ben_w_int(&w, 12345); /* 7 more: does not fit */
	assert_true(w.overflow);
	assert_int_equal(w.len, 6);
	ben_w_end(&w); /* stays overflowed, writes nothing */
	assert_int_equal(w.len, 6);
	ben_w_init(&w, buf, sizeof(buf));
	ben_w_int(&w, INT64_MIN);
	assert_true(w.overflow);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_roundtrip),       cmocka_unit_test(test_lookup_helpers),
	    cmocka_unit_test(test_rejections_counted),    cmocka_unit_test(test_depth_and_count),
	    cmocka_unit_test(test_truncation_everywhere), cmocka_unit_test(test_fuzz),
	    cmocka_unit_test(test_encoder_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
