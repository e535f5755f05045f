/* bencode.c: strict bounded bencode decoder and encoder (see bencode.h). */
#include "bencode.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* One open container on the decoder's explicit stack. */
typedef struct ben_frame {
	uint32_t tok;     /* its token index */
	uint32_t items;   /* children completed so far */
	int32_t prev_key; /* dict: token index of the previous key, -1 if none */
} ben_frame_t;

/* The deepest stack the decoder keeps on the C stack; max_depth above this
 * is clamped (the packet and file limits stay far below it). */
#define BEN_STACK_MAX 64

/* ben_err_name: a short lowercase name of a reason ("truncated"), for metrics and logs. */
const char *ben_err_name(ben_err_t e)
{
	static const char *const names[BEN_ERR_NREASONS] = {
	    [BEN_OK] = "ok",
	    [BEN_ERR_SIZE] = "size",
	    [BEN_ERR_TRUNCATED] = "truncated",
	    [BEN_ERR_SYNTAX] = "syntax",
	    [BEN_ERR_INT] = "int",
	    [BEN_ERR_LENGTH] = "length",
	    [BEN_ERR_DEPTH] = "depth",
	    [BEN_ERR_COUNT] = "count",
	    [BEN_ERR_KEY] = "key",
	    [BEN_ERR_ORDER] = "order",
	    [BEN_ERR_TRAILING] = "trailing",
	};
	return (unsigned)e < BEN_ERR_NREASONS ? names[e] : "unknown";
}

/* parse_int: the integer between pos (after 'i') and its 'e'; canonical
 * only.  Advances *pos past the 'e'. */
static ben_err_t parse_int(const uint8_t *b, size_t len, size_t *pos, int64_t *out)
{
	size_t p = *pos;
	bool neg = false;
	uint64_t v = 0;
	size_t digits = 0;

	if (p < len && b[p] == '-') {
		neg = true;
		p++;
	}
	while (p < len && b[p] >= '0' && b[p] <= '9') {
		uint64_t d = (uint64_t)(b[p] - '0');
		/* the magnitude of INT64_MIN is one more than INT64_MAX */
		uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

		if (digits == 1 && b[p - 1] == '0')
			return BEN_ERR_INT; /* leading zero */
		if (v > (lim - d) / 10)
			return BEN_ERR_INT; /* overflow */
		v = v * 10 + d;
		digits++;
		p++;
	}
	if (p >= len)
		return BEN_ERR_TRUNCATED;
	if (b[p] != 'e' || digits == 0 || (neg && v == 0))
		return BEN_ERR_INT;
	*out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	*pos = p + 1;
	return BEN_OK;
}

/* parse_str: "<len>:<bytes>" at pos; canonical length, within max_str and
 * within the input.  Sets the string offset and length. */
static ben_err_t parse_str(const uint8_t *b, size_t len, size_t *pos, size_t max_str,
                           uint32_t *soff, uint32_t *slen)
{
	size_t p = *pos, n = 0, digits = 0;

	while (p < len && b[p] >= '0' && b[p] <= '9') {
		if (digits == 1 && b[p - 1] == '0')
			return BEN_ERR_LENGTH;
		n = n * 10 + (size_t)(b[p] - '0');
		if (n > max_str)
			return BEN_ERR_LENGTH; /* checked per digit: no overflow */
		digits++;
		p++;
	}
	if (p >= len)
		return BEN_ERR_TRUNCATED;
	if (b[p] != ':')
		return BEN_ERR_LENGTH;
	p++;
	if (n > len - p)
		return BEN_ERR_TRUNCATED;
	*soff = (uint32_t)p;
	*slen = (uint32_t)n;
	*pos = p + n;
	return BEN_OK;
}

/* key_cmp: byte order of two string tokens (shorter first on a tie). */
static int key_cmp(const ben_doc_t *doc, uint32_t a, uint32_t b)
{
	const ben_tok_t *x = &doc->toks[a], *y = &doc->toks[b];
	uint32_t n = x->slen < y->slen ? x->slen : y->slen;
	int c = memcmp(doc->buf + x->soff, doc->buf + y->soff, n);

	if (c != 0)
		return c;
	return (x->slen > y->slen) - (x->slen < y->slen);
}

/* decode: the body of ben_decode, without the counting. */
static ben_err_t decode(ben_doc_t *doc, const uint8_t *b, size_t len, ben_tok_t *toks, uint32_t cap,
                        const ben_limits_t *lim)
{
	ben_frame_t stack[BEN_STACK_MAX];
	uint32_t depth = 0, max_depth = lim->max_depth, max_toks = lim->max_tokens;
	size_t pos = 0;

	if (max_depth > BEN_STACK_MAX)
		max_depth = BEN_STACK_MAX;
	if (max_toks > cap)
		max_toks = cap;
	doc->buf = b;
	doc->len = len;
	doc->toks = toks;
	doc->ntoks = 0;
	if (len == 0 || len > lim->max_input || len > UINT32_MAX)
		return BEN_ERR_SIZE;

	for (;;) {
		ben_frame_t *top = depth > 0 ? &stack[depth - 1] : NULL;
		bool want_key =
		    top != NULL && toks[top->tok].type == BEN_DICT && top->items % 2 == 0;
		ben_tok_t *t;
		ben_err_t e;
		uint32_t idx;

		if (pos >= len)
			return BEN_ERR_TRUNCATED;
		if (b[pos] == 'e') {
			if (top == NULL)
				return BEN_ERR_SYNTAX;
			if (!want_key && toks[top->tok].type == BEN_DICT)
				return BEN_ERR_SYNTAX; /* a key without a value */
			t = &toks[top->tok];
			pos++;
			t->end = (uint32_t)pos;
			t->next = doc->ntoks;
			t->count = t->type == BEN_DICT ? top->items / 2 : top->items;
			depth--;
			idx = top->tok;
			goto completed;
		}
		if (want_key && !(b[pos] >= '0' && b[pos] <= '9'))
			return BEN_ERR_KEY;
		if (doc->ntoks >= max_toks)
			return BEN_ERR_COUNT;
		idx = doc->ntoks++;
		t = &toks[idx];
		memset(t, 0, sizeof(*t));
		t->start = (uint32_t)pos;
		t->next = idx + 1;
		switch (b[pos]) {
		case 'i':
			pos++;
			e = parse_int(b, len, &pos, &t->ival);
			if (e != BEN_OK)
				return e;
			t->type = BEN_INT;
			break;
		case 'l':
		case 'd':
			if (depth >= max_depth)
				return BEN_ERR_DEPTH;
			t->type = b[pos] == 'l' ? BEN_LIST : BEN_DICT;
			pos++;
			stack[depth++] = (ben_frame_t){.tok = idx, .items = 0, .prev_key = -1};
			continue; /* completed at its 'e' */
		default:
			if (b[pos] < '0' || b[pos] > '9')
				return BEN_ERR_SYNTAX;
			e = parse_str(b, len, &pos, lim->max_str, &t->soff, &t->slen);
			if (e != BEN_OK)
				return e;
			t->type = BEN_STR;
			break;
		}
		t->end = (uint32_t)pos;
		if (want_key) {
			if (top->prev_key >= 0 && key_cmp(doc, (uint32_t)top->prev_key, idx) >= 0)
				return BEN_ERR_ORDER;
			top->prev_key = (int32_t)idx;
		}
	completed:
		if (depth == 0) {
			if (pos != len)
				return BEN_ERR_TRAILING;
			return BEN_OK;
		}
		stack[depth - 1].items++;
	}
}

/* ben_decode: parses buf[0..len) as exactly one bencoded value into doc, using toks[0..cap)
 * (cap >= 1) and the limits lim. */
ben_err_t ben_decode(ben_doc_t *doc, const uint8_t *buf, size_t len, ben_tok_t *toks, uint32_t cap,
                     const ben_limits_t *lim, ben_stats_t *st)
{
	ben_err_t e;

	if (doc == NULL || toks == NULL || cap == 0 || lim == NULL || (buf == NULL && len > 0))
		e = BEN_ERR_SIZE;
	else
		e = decode(doc, buf, len, toks, cap, lim);
	if (st != NULL) {
		if (e == BEN_OK)
			st->decoded++;
		else
			st->rejected[e]++;
	}
	return e;
}

/* ben_dict_get: the token index of the value of key (a C string) in the dictionary at token d,
 * or -1 if d is not a dictionary or has no such key. */
int32_t ben_dict_get(const ben_doc_t *doc, uint32_t d, const char *key)
{
	size_t klen = strlen(key);
	uint32_t i;

	if (d >= doc->ntoks || doc->toks[d].type != BEN_DICT)
		return -1;
	i = d + 1;
	while (i < doc->toks[d].next) {
		const ben_tok_t *k = &doc->toks[i];
		uint32_t v = k->next;

		if (k->slen == klen && memcmp(doc->buf + k->soff, key, klen) == 0)
			return (int32_t)v;
		i = doc->toks[v].next;
	}
	return -1;
}

/* ben_get_str: the string value of key in dict d. */
int ben_get_str(const ben_doc_t *doc, uint32_t d, const char *key, const uint8_t **p, size_t *n)
{
	int32_t i = ben_dict_get(doc, d, key);

	if (i < 0)
		return -1;
	if (doc->toks[i].type != BEN_STR)
		return -2;
	*p = ben_str(doc, (uint32_t)i);
	*n = doc->toks[i].slen;
	return 0;
}

/* ben_get_int: the integer value of key in dict d. */
int ben_get_int(const ben_doc_t *doc, uint32_t d, const char *key, int64_t *out)
{
	int32_t i = ben_dict_get(doc, d, key);

	if (i < 0)
		return -1;
	if (doc->toks[i].type != BEN_INT)
		return -2;
	*out = doc->toks[i].ival;
	return 0;
}

/* ---------------------------------------------------------------- encoder */

void ben_w_init(ben_w_t *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->overflow = false;
}

/* ben_w_raw: bytes that are already bencoded (an item's verbatim "v"). */
void ben_w_raw(ben_w_t *w, const void *p, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	if (n > 0)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* ben_w_int: "i<v>e". */
void ben_w_int(ben_w_t *w, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "i%" PRId64 "e", v);

	ben_w_raw(w, tmp, (size_t)n);
}

/* ben_w_str: "<n>:<bytes>" (p may be NULL when n == 0). */
void ben_w_str(ben_w_t *w, const void *p, size_t n)
{
	char tmp[24];
	int h = snprintf(tmp, sizeof(tmp), "%zu:", n);

	ben_w_raw(w, tmp, (size_t)h);
	ben_w_raw(w, p, n);
}

/* ben_w_cstr: a NUL-terminated string as a bencoded string. */
void ben_w_cstr(ben_w_t *w, const char *s)
{
	ben_w_str(w, s, strlen(s));
}

/* ben_w_list: opens a list ("l"). */
void ben_w_list(ben_w_t *w)
{
	ben_w_raw(w, "l", 1);
}

/* ben_w_dict: opens a dictionary ("d"); keys must follow in sorted order. */
void ben_w_dict(ben_w_t *w)
{
	ben_w_raw(w, "d", 1);
}

/* ben_w_end: closes the innermost list or dictionary ("e"). */
void ben_w_end(ben_w_t *w)
{
	ben_w_raw(w, "e", 1);
}
