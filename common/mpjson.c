/* mpjson.c: see mpjson.h. */
#include "mpjson.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* An output cursor over the caller's buffer.  Once something does not fit,
 * full is set and every later write is dropped, so the buffer keeps a
 * prefix of the whole text. */
typedef struct {
	char *buf;
	size_t cap; /* bytes at buf, NUL included */
	size_t len; /* bytes written, always < cap */
	bool full;  /* a write did not fit */
	int err;    /* first error other than truncation (CH_EPROTO) */
	int keylvl; /* JSON only: nesting of non-string keys being rendered
	             * inside a JSON string; each level escapes `"` and `\` */
} out_t;

static const char hexdig[] = "0123456789abcdef";

/* Appends n raw bytes, truncating at the buffer end: the only place that
 * touches the buffer, so the bounds check lives in one spot. */
static void put_raw(out_t *w, const char *s, size_t n)
{
	size_t room;

	if (w->full || n == 0)
		return; /* n == 0: s may be NULL (an empty msgpack string) */
	room = w->cap - 1 - w->len;
	if (n > room) {
		memcpy(w->buf + w->len, s, room);
		w->len += room;
		w->full = true;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* Appends text that belongs at escaping level lvl: at level 0 it is copied,
 * at level L every `"` and `\` gets a backslash and the result is written
 * at level L-1.  This is how a non-string map key is rendered into a JSON
 * string without a temporary buffer (a key inside a key escapes twice). */
static void put_lvl(out_t *w, const char *s, size_t n, int lvl)
{
	size_t i, start = 0;

	if (lvl == 0) {
		put_raw(w, s, n);
		return;
	}
	for (i = 0; i < n && !w->full; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		put_lvl(w, s + start, i - start, lvl - 1);
		put_lvl(w, "\\", 1, lvl - 1);
		start = i;
	}
	if (!w->full)
		put_lvl(w, s + start, n - start, lvl - 1);
}

/* Appends text at the writer's current key level. */
static void put(out_t *w, const char *s, size_t n)
{
	put_lvl(w, s, n, w->keylvl);
}

/* Appends a C string at the writer's current key level. */
static void puts_(out_t *w, const char *s)
{
	put(w, s, strlen(s));
}

/* Decodes one UTF-8 character at s[0..n): returns its length (1..4) and
 * the code point, or 0 when the bytes are not valid UTF-8 (overlong forms,
 * surrogates and values above U+10FFFF are invalid), so invalid input is
 * replaced rather than passed on to a JSON parser or a terminal. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* True for code points that are escaped even though JSON would allow them
 * raw: DEL and the C1 controls (terminal escapes) and the JavaScript line
 * separators. */
static bool cp_needs_u_escape(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029;
}

/* Appends s[0..n) as a quoted JSON string with the escapes of mpjson.h. */
static void put_jstr(out_t *w, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0; /* run: bytes at p+i-run copied verbatim later */

	put(w, "\"", 1);
	while (i < n && !w->full) {
		uint32_t cp;
		size_t len = utf8_next(p + i, n - i, &cp);
		char esc[8];
		const char *rep = NULL;

		if (len == 0) {
			rep = "\\ufffd";
			len = 1;
		} else if (cp == '"') {
			rep = "\\\"";
		} else if (cp == '\\') {
			rep = "\\\\";
		} else if (cp == '\b') {
			rep = "\\b";
		} else if (cp == '\f') {
			rep = "\\f";
		} else if (cp == '\n') {
			rep = "\\n";
		} else if (cp == '\r') {
			rep = "\\r";
		} else if (cp == '\t') {
			rep = "\\t";
		} else if (cp_needs_u_escape(cp)) {
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
			rep = esc;
		}
		if (rep == NULL) {
			i += len;
			run += len;
			continue;
		}
		put(w, s + i - run, run);
		run = 0;
		puts_(w, rep);
		i += len;
	}
	put(w, s + i - run, run);
	put(w, "\"", 1);
}

/* Appends n bytes as lowercase hex (no quotes). */
static void put_hex(out_t *w, const void *ptr, size_t n)
{
	const unsigned char *p = ptr;
	char pair[2];

	for (size_t i = 0; i < n && !w->full; i++) {
		pair[0] = hexdig[p[i] >> 4];
		pair[1] = hexdig[p[i] & 15];
		put(w, pair, 2);
	}
}

/* Appends a float in the shortest %g form that reads back to the same
 * value (as a float for float32), so 0.1 prints as 0.1, not
 * 0.10000000000000001.  Non-finite values print as nonfin (JSON: null). */
static void put_float(out_t *w, double d, bool is32, const char *nonfin)
{
	char tmp[40];

	if (!isfinite(d)) {
		puts_(w, nonfin != NULL ? nonfin : (isnan(d) ? "nan" : d > 0 ? "inf" : "-inf"));
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		double back;

		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		back = strtod(tmp, NULL);
		if (is32 ? (float)back == (float)d : back == d)
			break;
	}
	puts_(w, tmp);
}

/* Appends an integer, nil, bool or float: the scalars both forms share.
 * Returns false if o is not one of them. */
static bool put_scalar(out_t *w, const msgpack_object *o, const char *nonfin)
{
	char tmp[32];

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		puts_(w, "null");
		return true;
	case MSGPACK_OBJECT_BOOLEAN:
		puts_(w, o->via.boolean ? "true" : "false");
		return true;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(tmp, sizeof(tmp), "%" PRIu64, o->via.u64);
		puts_(w, tmp);
		return true;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		snprintf(tmp, sizeof(tmp), "%" PRId64, o->via.i64);
		puts_(w, tmp);
		return true;
	case MSGPACK_OBJECT_FLOAT32:
		put_float(w, o->via.f64, true, nonfin);
		return true;
	case MSGPACK_OBJECT_FLOAT64:
		put_float(w, o->via.f64, false, nonfin);
		return true;
	default:
		return false;
	}
}

/* Records a non-truncation failure (the first one wins). */
static void fail(out_t *w, int code)
{
	if (w->err == 0)
		w->err = code;
}

static void json_value(out_t *w, const msgpack_object *o, int depth);

/* Appends a map key as a JSON string: string keys as they are, bin keys as
 * hex, anything else as its JSON text one escaping level deeper. */
static void json_key(out_t *w, const msgpack_object *k, int depth)
{
	if (k->type == MSGPACK_OBJECT_STR) {
		put_jstr(w, k->via.str.ptr, k->via.str.size);
	} else if (k->type == MSGPACK_OBJECT_BIN) {
		put(w, "\"", 1);
		put_hex(w, k->via.bin.ptr, k->via.bin.size);
		put(w, "\"", 1);
	} else {
		put(w, "\"", 1);
		w->keylvl++;
		json_value(w, k, depth + 1);
		w->keylvl--;
		put(w, "\"", 1);
	}
}

/* Appends one object as JSON, recursing into arrays and maps; depth is the
 * level of o (the root is 1). */
static void json_value(out_t *w, const msgpack_object *o, int depth)
{
	if (depth > CH_MPJSON_MAX_DEPTH) {
		fail(w, CH_EPROTO);
		return;
	}
	if (w->full || w->err != 0 || put_scalar(w, o, "null"))
		return;
	switch (o->type) {
	case MSGPACK_OBJECT_STR:
		put_jstr(w, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		put(w, "\"", 1);
		put_hex(w, o->via.bin.ptr, o->via.bin.size);
		put(w, "\"", 1);
		break;
	case MSGPACK_OBJECT_EXT:
		put(w, "\"", 1);
		put_hex(w, o->via.ext.ptr, o->via.ext.size);
		put(w, "\"", 1);
		break;
	case MSGPACK_OBJECT_ARRAY:
		put(w, "[", 1);
		for (uint32_t i = 0; i < o->via.array.size && !w->full && w->err == 0; i++) {
			if (i > 0)
				put(w, ",", 1);
			json_value(w, &o->via.array.ptr[i], depth + 1);
		}
		put(w, "]", 1);
		break;
	case MSGPACK_OBJECT_MAP:
		put(w, "{", 1);
		for (uint32_t i = 0; i < o->via.map.size && !w->full && w->err == 0; i++) {
			if (i > 0)
				put(w, ",", 1);
			json_key(w, &o->via.map.ptr[i].key, depth);
			put(w, ":", 1);
			json_value(w, &o->via.map.ptr[i].val, depth + 1);
		}
		put(w, "}", 1);
		break;
	default:
		fail(w, CH_EPROTO);
		break;
	}
}

/* True if s[0..n) can be printed bare in the text form: non-empty, valid
 * UTF-8, no spaces or controls, none of the form's punctuation. */
static bool text_plain(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (n == 0)
		return false;
	while (i < n) {
		uint32_t cp;
		size_t len = utf8_next(p + i, n - i, &cp);

		if (len == 0 || cp <= 0x20 || cp_needs_u_escape(cp) ||
		    (cp < 0x80 && strchr("=,[]{}\"\\", (int)cp) != NULL))
			return false;
		i += len;
	}
	return true;
}

/* Appends a string in the text form: bare when plain, else JSON-quoted. */
static void text_str(out_t *w, const char *s, size_t n)
{
	if (text_plain(s, n))
		put(w, s, n);
	else
		put_jstr(w, s, n);
}

/* Appends one object in the text form; top selects the space-separated
 * `k=v` layout of a top-level map. */
static void text_value(out_t *w, const msgpack_object *o, int depth, bool top)
{
	if (depth > CH_MPJSON_MAX_DEPTH) {
		fail(w, CH_EPROTO);
		return;
	}
	if (w->full || w->err != 0 || put_scalar(w, o, NULL))
		return;
	switch (o->type) {
	case MSGPACK_OBJECT_STR:
		text_str(w, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		put_hex(w, o->via.bin.ptr, o->via.bin.size);
		break;
	case MSGPACK_OBJECT_EXT:
		put_hex(w, o->via.ext.ptr, o->via.ext.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		put(w, "[", 1);
		for (uint32_t i = 0; i < o->via.array.size && !w->full && w->err == 0; i++) {
			if (i > 0)
				put(w, ",", 1);
			text_value(w, &o->via.array.ptr[i], depth + 1, false);
		}
		put(w, "]", 1);
		break;
	case MSGPACK_OBJECT_MAP:
		if (!top)
			put(w, "{", 1);
		for (uint32_t i = 0; i < o->via.map.size && !w->full && w->err == 0; i++) {
			if (i > 0)
				put(w, top ? " " : ",", 1);
			text_value(w, &o->via.map.ptr[i].key, depth + 1, false);
			put(w, "=", 1);
			text_value(w, &o->via.map.ptr[i].val, depth + 1, false);
		}
		if (!top)
			put(w, "}", 1);
		break;
	default:
		fail(w, CH_EPROTO);
		break;
	}
}

/* Cuts a truncated output back to a whole UTF-8 character, so a prefix
 * shown to a person or parsed never ends in half a character. */
static void trim_utf8(out_t *w)
{
	const unsigned char *p = (const unsigned char *)w->buf;
	size_t j = w->len, need;

	while (j > 0 && w->len - j < 3 && (p[j - 1] & 0xc0) == 0x80)
		j--;
	if (j == 0 || p[j - 1] < 0xc0)
		return;
	need = p[j - 1] >= 0xf0 ? 4 : p[j - 1] >= 0xe0 ? 3 : 2;
	if (w->len - (j - 1) < need)
		w->len = j - 1;
}

/* Terminates the output and turns the writer's state into the result. */
static int finish(out_t *w)
{
	if (w->full && w->err == 0)
		trim_utf8(w);
	w->buf[w->len] = '\0';
	if (w->err != 0)
		return w->err;
	return w->full ? CH_ERANGE : 0;
}

int ch_mp_to_json(const msgpack_object *o, char *buf, size_t cap)
{
	out_t w = {.buf = buf, .cap = cap};

	if (o == NULL || buf == NULL || cap == 0)
		return CH_EINVAL;
	json_value(&w, o, 1);
	return finish(&w);
}

int ch_mp_to_text(const msgpack_object *o, char *buf, size_t cap)
{
	out_t w = {.buf = buf, .cap = cap};

	if (o == NULL || buf == NULL || cap == 0)
		return CH_EINVAL;
	text_value(&w, o, 1, true);
	return finish(&w);
}

int ch_json_quote(const char *s, size_t len, char *buf, size_t cap)
{
	out_t w = {.buf = buf, .cap = cap};

	if (buf == NULL || cap == 0 || (s == NULL && len > 0))
		return CH_EINVAL;
	put_jstr(&w, s, len);
	return finish(&w);
}
