/* pack.c: the protocol's msgpack cursor and writer (pack.h). */
#include "pack.h"

#include <string.h>

#include "err.h"

/* ---------------------------------------------------------------- reader */

void pack_rd_init(pack_rd_t *r, const void *buf, size_t len, unsigned flags)
{
	r->p = buf;
	r->end = r->p + len;
	r->err = 0;
	r->why = PACK_OK;
	r->byte = 0;
	r->flags = flags;
}

/* rd_fail: errors are sticky: the first one is kept, later reads fail too
 * and callers check once. */
static bool rd_fail(pack_rd_t *r, pack_fault_t why, uint8_t byte)
{
	if (!r->err) {
		r->err = CH_EPROTO;
		r->why = why;
		r->byte = byte;
	}
	return false;
}

/* rd_canon: in canonical mode, v must have needed the form it came in
 * (v >= min); otherwise a second encoding of the same value exists. */
static bool rd_canon(pack_rd_t *r, uint8_t b, uint64_t v, uint64_t min)
{
	if ((r->flags & PACK_CANONICAL) && v < min)
		return rd_fail(r, PACK_NONCANON, b);
	return true;
}

/* rd_be: an n-byte big-endian number. */
static bool rd_be(pack_rd_t *r, unsigned n, uint64_t *v)
{
	if (r->err)
		return false;
	if ((size_t)(r->end - r->p) < n)
		return rd_fail(r, PACK_TRUNCATED, 0);
	uint64_t x = 0;
	for (unsigned i = 0; i < n; i++)
		x = (x << 8) | r->p[i];
	r->p += n;
	*v = x;
	return true;
}

/* rd_byte: one type byte. */
static bool rd_byte(pack_rd_t *r, uint8_t *b)
{
	if (r->err)
		return false;
	if (r->p >= r->end)
		return rd_fail(r, PACK_TRUNCATED, 0);
	*b = *r->p++;
	return true;
}

/* rd_count: the count of a map or array: fix form (b & 0x0f under the
 * prefix fix), or the 16- and 32-bit forms t16, t32. */
static bool rd_count(pack_rd_t *r, uint8_t fix, uint8_t t16, uint8_t t32, uint32_t *n)
{
	uint8_t b;
	uint64_t v;
	if (!rd_byte(r, &b))
		return false;
	if ((b & 0xf0) == fix) {
		*n = b & 0x0f;
		return true;
	}
	if (b == t16) {
		if (!rd_be(r, 2, &v) || !rd_canon(r, b, v, 16))
			return false;
	} else if (b == t32) {
		if (!rd_be(r, 4, &v) || !rd_canon(r, b, v, 65536))
			return false;
	} else {
		return rd_fail(r, PACK_TYPE, b);
	}
	*n = (uint32_t)v;
	return true;
}

/* pack_rd_map: fixmap, map16 or map32. */
bool pack_rd_map(pack_rd_t *r, uint32_t *n)
{
	return rd_count(r, 0x80, 0xde, 0xdf, n);
}

/* pack_rd_array: fixarray, array16 or array32. */
bool pack_rd_array(pack_rd_t *r, uint32_t *n)
{
	return rd_count(r, 0x90, 0xdc, 0xdd, n);
}

/* pack_rd_raw: bounds-checked against what is left, so a length a peer
 * claims is never trusted. */
bool pack_rd_raw(pack_rd_t *r, uint64_t len, const uint8_t **p)
{
	if (r->err)
		return false;
	if ((uint64_t)(r->end - r->p) < len)
		return rd_fail(r, PACK_TRUNCATED, 0);
	*p = r->p;
	r->p += len;
	return true;
}

/* pack_rd_str: fixstr, str8/16/32. */
bool pack_rd_str(pack_rd_t *r, const char **s, uint32_t *len)
{
	uint8_t b;
	uint64_t v = 0;
	const uint8_t *p;
	if (!rd_byte(r, &b))
		return false;
	if ((b & 0xe0) == 0xa0)
		v = b & 0x1f;
	else if (b == 0xd9) {
		if (!rd_be(r, 1, &v) || !rd_canon(r, b, v, 32))
			return false;
	} else if (b == 0xda) {
		if (!rd_be(r, 2, &v) || !rd_canon(r, b, v, 256))
			return false;
	} else if (b == 0xdb) {
		if (!rd_be(r, 4, &v) || !rd_canon(r, b, v, 65536))
			return false;
	} else {
		return rd_fail(r, PACK_TYPE, b);
	}
	if (!pack_rd_raw(r, v, &p))
		return false;
	*s = (const char *)p;
	*len = (uint32_t)v;
	return true;
}

/* pack_rd_bin_hdr: bin8/16/32. */
bool pack_rd_bin_hdr(pack_rd_t *r, uint32_t *len)
{
	uint8_t b;
	uint64_t v;
	if (!rd_byte(r, &b))
		return false;
	if (b == 0xc4) {
		if (!rd_be(r, 1, &v))
			return false;
	} else if (b == 0xc5) {
		if (!rd_be(r, 2, &v) || !rd_canon(r, b, v, 256))
			return false;
	} else if (b == 0xc6) {
		if (!rd_be(r, 4, &v) || !rd_canon(r, b, v, 65536))
			return false;
	} else {
		return rd_fail(r, PACK_TYPE, b);
	}
	*len = (uint32_t)v;
	return true;
}

/* pack_rd_bin_slow: in place: ids and encodings are never copied. */
bool pack_rd_bin_slow(pack_rd_t *r, const uint8_t **bin, uint32_t *len)
{
	uint32_t n;
	if (!pack_rd_bin_hdr(r, &n) || !pack_rd_raw(r, n, bin))
		return false;
	*len = n;
	return true;
}

/* pack_rd_uint_slow: positive fixint or uint8..64; signed and float
 * forms are another type. */
bool pack_rd_uint_slow(pack_rd_t *r, uint64_t *v)
{
	static const uint64_t min[4] = {128, 256, 65536, (uint64_t)UINT32_MAX + 1};
	uint8_t b;
	if (!rd_byte(r, &b))
		return false;
	if (b < 0x80) {
		*v = b;
		return true;
	}
	if (b < 0xcc || b > 0xcf)
		return rd_fail(r, PACK_TYPE, b);
	return rd_be(r, 1u << (b - 0xcc), v) && rd_canon(r, b, *v, min[b - 0xcc]);
}

/* pack_is: keys are compared with their length (not NUL-terminated). */
bool pack_is(const char *s, uint32_t len, const char *k)
{
	return strlen(k) == len && memcmp(s, k, len) == 0;
}

/* rd_skip_depth: any msgpack value, so a newer version's keys are
 * skipped; the depth bound stops a nesting bomb. */
static bool rd_skip_depth(pack_rd_t *r, int depth)
{
	uint8_t b;
	uint64_t v;
	uint32_t n;
	const uint8_t *p;
	if (r->err)
		return false;
	if (r->p >= r->end)
		return rd_fail(r, PACK_TRUNCATED, 0);
	b = *r->p;
	if (depth > PACK_DEPTH_MAX)
		return rd_fail(r, PACK_DEPTH, b);
	if (b < 0x80 || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
		r->p++;
		return true;
	}
	if ((b & 0xe0) == 0xa0 || b == 0xd9 || b == 0xda || b == 0xdb) {
		const char *s;
		return pack_rd_str(r, &s, &n);
	}
	if (b >= 0xc4 && b <= 0xc6)
		return pack_rd_bin(r, &p, &n);
	if ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd || (b & 0xf0) == 0x80 || b == 0xde ||
	    b == 0xdf) {
		bool map = (b & 0xf0) == 0x80 || b == 0xde || b == 0xdf;
		if (!(map ? pack_rd_map(r, &n) : pack_rd_array(r, &n)))
			return false;
		for (uint64_t i = 0; i < (map ? 2 * (uint64_t)n : n); i++)
			if (!rd_skip_depth(r, depth + 1))
				return false;
		return true;
	}
	r->p++;
	switch (b) {
	case 0xcc:
	case 0xd0:
		return rd_be(r, 1, &v);
	case 0xcd:
	case 0xd1:
		return rd_be(r, 2, &v);
	case 0xca:
	case 0xce:
	case 0xd2:
		return rd_be(r, 4, &v);
	case 0xcb:
	case 0xcf:
	case 0xd3:
		return rd_be(r, 8, &v);
	case 0xd4:
		return pack_rd_raw(r, 2, &p);
	case 0xd5:
		return pack_rd_raw(r, 3, &p);
	case 0xd6:
		return pack_rd_raw(r, 5, &p);
	case 0xd7:
		return pack_rd_raw(r, 9, &p);
	case 0xd8:
		return pack_rd_raw(r, 17, &p);
	case 0xc7:
		return rd_be(r, 1, &v) && pack_rd_raw(r, v + 1, &p);
	case 0xc8:
		return rd_be(r, 2, &v) && pack_rd_raw(r, v + 1, &p);
	case 0xc9:
		return rd_be(r, 4, &v) && pack_rd_raw(r, v + 1, &p);
	default: /* 0xc1 is reserved */
		return rd_fail(r, PACK_TYPE, b);
	}
}

/* pack_rd_skip: see rd_skip_depth. */
bool pack_rd_skip(pack_rd_t *r)
{
	return rd_skip_depth(r, 0);
}

/* pack_rd_fields: keys must be strings; the entry count is the peer's
 * claim, so the loop stops at the first failure. */
bool pack_rd_fields(pack_rd_t *r, pack_field_fn field, void *arg)
{
	uint32_t n;
	if (!pack_rd_map(r, &n))
		return false;
	for (uint32_t i = 0; i < n && !r->err; i++) {
		const char *k;
		uint32_t kl;
		if (pack_rd_str(r, &k, &kl) && !field(r, k, kl, arg))
			pack_rd_skip(r);
	}
	return !r->err;
}

bool pack_rd_refuse(pack_rd_t *r)
{
	return rd_fail(r, PACK_VALUE, 0);
}

bool pack_rd_done(const pack_rd_t *r)
{
	return !r->err && r->p == r->end;
}

size_t pack_rd_left(const pack_rd_t *r)
{
	return (size_t)(r->end - r->p);
}

/* ---------------------------------------------------------------- writer */

void pack_wr_init(pack_wr_t *w, void *buf, size_t cap)
{
	w->buf = buf;
	w->len = 0;
	w->cap = cap;
	w->err = 0;
}

/* pack_wr_raw: bounded by cap: an overflow sets err and writes nothing. */
void pack_wr_raw(pack_wr_t *w, const void *b, size_t len)
{
	if (w->err || w->cap - w->len < len) {
		w->err = CH_ERANGE;
		return;
	}
	if (len)
		memcpy(w->buf + w->len, b, len);
	w->len += len;
}

/* wr_hdr: a type byte and an n-byte big-endian number. */
static void wr_hdr(pack_wr_t *w, uint8_t t, uint64_t v, unsigned n)
{
	uint8_t h[9];
	h[0] = t;
	for (unsigned i = 0; i < n; i++)
		h[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	pack_wr_raw(w, h, 1 + n);
}

/* wr_sized: the shortest header of a length or count: the fix form below
 * fixmax (fix | n), else the 8- (if t8), 16- or 32-bit form. */
static void wr_sized(pack_wr_t *w, uint64_t n, uint8_t fix, uint64_t fixmax, uint8_t t8,
                     uint8_t t16, uint8_t t32)
{
	if (n < fixmax)
		wr_hdr(w, (uint8_t)(fix | n), 0, 0);
	else if (t8 && n < 256)
		wr_hdr(w, t8, n, 1);
	else if (n < 65536)
		wr_hdr(w, t16, n, 2);
	else
		wr_hdr(w, t32, n, 4);
}

void pack_wr_map(pack_wr_t *w, uint32_t n)
{
	wr_sized(w, n, 0x80, 16, 0, 0xde, 0xdf);
}

void pack_wr_array(pack_wr_t *w, uint32_t n)
{
	wr_sized(w, n, 0x90, 16, 0, 0xdc, 0xdd);
}

void pack_wr_strn(pack_wr_t *w, const char *s, size_t len)
{
	if (len > UINT32_MAX) {
		w->err = CH_ERANGE;
		return;
	}
	wr_sized(w, len, 0xa0, 32, 0xd9, 0xda, 0xdb);
	pack_wr_raw(w, s, len);
}

void pack_wr_str(pack_wr_t *w, const char *s)
{
	pack_wr_strn(w, s, strlen(s));
}

/* pack_wr_bin_hdr: bin has no fix form: bin8 from 0. */
void pack_wr_bin_hdr(pack_wr_t *w, uint32_t len)
{
	wr_sized(w, len, 0, 0, 0xc4, 0xc5, 0xc6);
}

void pack_wr_bin(pack_wr_t *w, const void *b, uint32_t len)
{
	pack_wr_bin_hdr(w, len);
	pack_wr_raw(w, b, len);
}

/* pack_wr_uint: shortest form. */
void pack_wr_uint(pack_wr_t *w, uint64_t v)
{
	if (v < 128)
		wr_hdr(w, (uint8_t)v, 0, 0);
	else if (v < 256)
		wr_hdr(w, 0xcc, v, 1);
	else if (v < 65536)
		wr_hdr(w, 0xcd, v, 2);
	else if (v <= UINT32_MAX)
		wr_hdr(w, 0xce, v, 4);
	else
		wr_hdr(w, 0xcf, v, 8);
}

size_t pack_wr_end(const pack_wr_t *w)
{
	return w->err ? 0 : w->len;
}
