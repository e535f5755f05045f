/* rwire.c: relay payloads and the msgpack cursor (rwire.h). */
#include "pack.h"

#include <string.h>

#include "err.h"

/* ---------------------------------------------------------------- reader */

void rl_rd_init(rl_rd_t *r, const void *buf, size_t len)
{
	r->p = buf;
	r->end = r->p + len;
	r->err = 0;
}

/* rd_fail: errors are sticky: later reads fail too and callers check once. */
static bool rd_fail(rl_rd_t *r)
{
	r->err = CH_EPROTO;
	return false;
}

/* rd_be: an n-byte big-endian number. */
static bool rd_be(rl_rd_t *r, unsigned n, uint64_t *v)
{
	if (r->err || (size_t)(r->end - r->p) < n)
		return rd_fail(r);
	uint64_t x = 0;
	for (unsigned i = 0; i < n; i++)
		x = (x << 8) | r->p[i];
	r->p += n;
	*v = x;
	return true;
}

/* rd_byte: one type byte. */
static bool rd_byte(rl_rd_t *r, uint8_t *b)
{
	if (r->err || r->p >= r->end)
		return rd_fail(r);
	*b = *r->p++;
	return true;
}

/* rl_rd_map: fixmap, map16 or map32. */
bool rl_rd_map(rl_rd_t *r, uint32_t *n)
{
	uint8_t b;
	uint64_t v;
	if (!rd_byte(r, &b))
		return false;
	if ((b & 0xf0) == 0x80) {
		*n = b & 0x0f;
		return true;
	}
	if (b == 0xde && rd_be(r, 2, &v)) {
		*n = (uint32_t)v;
		return true;
	}
	if (b == 0xdf && rd_be(r, 4, &v)) {
		*n = (uint32_t)v;
		return true;
	}
	return rd_fail(r);
}

/* rl_rd_array: fixarray, array16 or array32. */
bool rl_rd_array(rl_rd_t *r, uint32_t *n)
{
	uint8_t b;
	uint64_t v;
	if (!rd_byte(r, &b))
		return false;
	if ((b & 0xf0) == 0x90) {
		*n = b & 0x0f;
		return true;
	}
	if (b == 0xdc && rd_be(r, 2, &v)) {
		*n = (uint32_t)v;
		return true;
	}
	if (b == 0xdd && rd_be(r, 4, &v)) {
		*n = (uint32_t)v;
		return true;
	}
	return rd_fail(r);
}

/* rd_span: len bytes in place. */
static bool rd_span(rl_rd_t *r, uint64_t len, const uint8_t **p)
{
	if (r->err || (uint64_t)(r->end - r->p) < len)
		return rd_fail(r);
	*p = r->p;
	r->p += len;
	return true;
}

/* rl_rd_str: fixstr, str8/16/32, in place. */
bool rl_rd_str(rl_rd_t *r, const char **s, uint32_t *len)
{
	uint8_t b;
	uint64_t v = 0;
	if (!rd_byte(r, &b))
		return false;
	if ((b & 0xe0) == 0xa0)
		v = b & 0x1f;
	else if (!((b == 0xd9 && rd_be(r, 1, &v)) || (b == 0xda && rd_be(r, 2, &v)) ||
	           (b == 0xdb && rd_be(r, 4, &v))))
		return rd_fail(r);
	const uint8_t *p;
	if (!rd_span(r, v, &p))
		return false;
	*s = (const char *)p;
	*len = (uint32_t)v;
	return true;
}

/* rl_rd_bin: bin8/16/32, in place (ids and encodings are never copied). */
bool rl_rd_bin(rl_rd_t *r, const uint8_t **bin, uint32_t *len)
{
	uint8_t b;
	uint64_t v;
	if (!rd_byte(r, &b))
		return false;
	if (!((b == 0xc4 && rd_be(r, 1, &v)) || (b == 0xc5 && rd_be(r, 2, &v)) ||
	      (b == 0xc6 && rd_be(r, 4, &v))))
		return rd_fail(r);
	if (!rd_span(r, v, bin))
		return false;
	*len = (uint32_t)v;
	return true;
}

/* rl_rd_uint: positive fixint or uint8..64. */
bool rl_rd_uint(rl_rd_t *r, uint64_t *v)
{
	uint8_t b;
	if (!rd_byte(r, &b))
		return false;
	if (b < 0x80) {
		*v = b;
		return true;
	}
	if (b >= 0xcc && b <= 0xcf)
		return rd_be(r, 1u << (b - 0xcc), v);
	return rd_fail(r);
}

/* rl_rd_key: keys are strings. */
bool rl_rd_key(rl_rd_t *r, const char **s, uint32_t *len)
{
	return rl_rd_str(r, s, len);
}

/* rl_rd_is: a key is compared with its length (not NUL-terminated). */
bool rl_rd_is(const char *s, uint32_t len, const char *k)
{
	return strlen(k) == len && memcmp(s, k, len) == 0;
}

/* rd_skip_depth: any msgpack value, so a newer version's keys are skipped; the depth
 * bound stops a nesting bomb. */
static bool rd_skip_depth(rl_rd_t *r, int depth)
{
	uint8_t b;
	uint64_t v;
	const uint8_t *p;
	if (depth > 8 || r->err || r->p >= r->end)
		return rd_fail(r);
	b = *r->p;
	if (b < 0x80 || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
		r->p++;
		return true;
	}
	if ((b & 0xe0) == 0xa0 || b == 0xd9 || b == 0xda || b == 0xdb) {
		const char *s;
		uint32_t l;
		return rl_rd_str(r, &s, &l);
	}
	if (b >= 0xc4 && b <= 0xc6) {
		uint32_t l;
		return rl_rd_bin(r, &p, &l);
	}
	if ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd) {
		uint32_t n;
		if (!rl_rd_array(r, &n))
			return false;
		for (uint32_t i = 0; i < n; i++)
			if (!rd_skip_depth(r, depth + 1))
				return false;
		return true;
	}
	if ((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf) {
		uint32_t n;
		if (!rl_rd_map(r, &n))
			return false;
		for (uint32_t i = 0; i < 2 * n; i++)
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
		return rd_span(r, 2, &p);
	case 0xd5:
		return rd_span(r, 3, &p);
	case 0xd6:
		return rd_span(r, 5, &p);
	case 0xd7:
		return rd_span(r, 9, &p);
	case 0xd8:
		return rd_span(r, 17, &p);
	case 0xc7:
		return rd_be(r, 1, &v) && rd_span(r, v + 1, &p);
	case 0xc8:
		return rd_be(r, 2, &v) && rd_span(r, v + 1, &p);
	case 0xc9:
		return rd_be(r, 4, &v) && rd_span(r, v + 1, &p);
	default:
		return rd_fail(r);
	}
}

/* rl_rd_skip: see rd_skip_depth. */
bool rl_rd_skip(rl_rd_t *r)
{
	return rd_skip_depth(r, 0);
}

/* ---------------------------------------------------------------- writer */

void rl_wr_init(rl_wr_t *w, void *buf, size_t cap)
{
	w->buf = buf;
	w->len = 0;
	w->cap = cap;
	w->err = 0;
}

/* rl_wr_raw: bounded by cap: an overflow sets err and writes nothing. */
void rl_wr_raw(rl_wr_t *w, const void *b, size_t len)
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
static void wr_hdr(rl_wr_t *w, uint8_t t, uint64_t v, unsigned n)
{
	uint8_t h[9];
	h[0] = t;
	for (unsigned i = 0; i < n; i++)
		h[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	rl_wr_raw(w, h, 1 + n);
}

/* rl_wr_map: shortest header. */
void rl_wr_map(rl_wr_t *w, uint32_t n)
{
	if (n < 16)
		wr_hdr(w, (uint8_t)(0x80 | n), 0, 0);
	else if (n < 65536)
		wr_hdr(w, 0xde, n, 2);
	else
		wr_hdr(w, 0xdf, n, 4);
}

/* rl_wr_array: shortest header. */
void rl_wr_array(rl_wr_t *w, uint32_t n)
{
	if (n < 16)
		wr_hdr(w, (uint8_t)(0x90 | n), 0, 0);
	else if (n < 65536)
		wr_hdr(w, 0xdc, n, 2);
	else
		wr_hdr(w, 0xdd, n, 4);
}

/* rl_wr_str: keys and short names only. */
void rl_wr_str(rl_wr_t *w, const char *s)
{
	size_t n = strlen(s);
	if (n < 32)
		wr_hdr(w, (uint8_t)(0xa0 | n), 0, 0);
	else
		wr_hdr(w, 0xd9, n, 1); /* keys and names only: short */
	rl_wr_raw(w, s, n);
}

/* rl_wr_bin_hdr: shortest header. */
void rl_wr_bin_hdr(rl_wr_t *w, uint32_t len)
{
	if (len < 256)
		wr_hdr(w, 0xc4, len, 1);
	else if (len < 65536)
		wr_hdr(w, 0xc5, len, 2);
	else
		wr_hdr(w, 0xc6, len, 4);
}

/* rl_wr_bin: shortest header and the bytes. */
void rl_wr_bin(rl_wr_t *w, const void *b, uint32_t len)
{
	rl_wr_bin_hdr(w, len);
	rl_wr_raw(w, b, len);
}

/* rl_wr_uint: shortest form. */
void rl_wr_uint(rl_wr_t *w, uint64_t v)
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

/* ---------------------------------------------------------------- inventory */

/* rd_ids: an array of bin32 into out (at most max). */
static int rd_ids(rl_rd_t *r, const uint8_t **out, uint32_t *n, uint32_t max)
{
	uint32_t k;
	if (!rl_rd_array(r, &k))
		return CH_EPROTO;
	if (k > max)
		return CH_ERANGE;
	for (uint32_t i = 0; i < k; i++) {
		uint32_t len;
		if (!rl_rd_bin(r, &out[i], &len) || len != 32)
			return CH_EPROTO;
	}
	*n = k;
	return 0;
}

/* rl_inv_decode: ids point into the payload; the total over both lists is the limit. */
int rl_inv_decode(const uint8_t *buf, size_t len, rl_inv_t *out)
{
	rl_rd_t r;
	uint32_t n;
	out->ntx = out->nblk = out->nidx = 0;
	out->has_blktx = false;
	rl_rd_init(&r, buf, len);
	if (!rl_rd_map(&r, &n))
		return CH_EPROTO;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl;
		int rc = 0;
		if (!rl_rd_key(&r, &k, &kl))
			return CH_EPROTO;
		if (rl_rd_is(k, kl, "tx")) {
			rc = rd_ids(&r, out->tx, &out->ntx, RL_INV_MAX);
		} else if (rl_rd_is(k, kl, "blk")) {
			rc = rd_ids(&r, out->blk, &out->nblk, RL_INV_MAX);
		} else if (rl_rd_is(k, kl, "blktx")) {
			uint32_t m, il;
			out->has_blktx = true;
			if (!rl_rd_map(&r, &m))
				return CH_EPROTO;
			out->blktx_id = NULL;
			for (uint32_t j = 0; j < m; j++) {
				if (!rl_rd_key(&r, &k, &kl))
					return CH_EPROTO;
				if (rl_rd_is(k, kl, "id")) {
					if (!rl_rd_bin(&r, &out->blktx_id, &il) || il != 32)
						return CH_EPROTO;
				} else if (rl_rd_is(k, kl, "idx")) {
					uint32_t c;
					if (!rl_rd_array(&r, &c))
						return CH_EPROTO;
					if (c > sizeof(out->idx) / sizeof(out->idx[0]))
						return CH_ERANGE;
					for (uint32_t x = 0; x < c; x++) {
						uint64_t v;
						if (!rl_rd_uint(&r, &v) || v > UINT32_MAX)
							return CH_EPROTO;
						out->idx[x] = (uint32_t)v;
					}
					out->nidx = c;
				} else if (!rl_rd_skip(&r)) {
					return CH_EPROTO;
				}
			}
			if (!out->blktx_id)
				return CH_EPROTO;
		} else if (!rl_rd_skip(&r)) {
			return CH_EPROTO;
		}
		if (rc)
			return rc;
	}
	if (r.err || r.p != r.end)
		return CH_EPROTO;
	if (out->ntx + out->nblk > RL_INV_MAX)
		return CH_ERANGE;
	return 0;
}

/* rl_inv_size: exact size, so an INV can be written straight into an output queue. */
size_t rl_inv_size(uint32_t ntx, uint32_t nblk)
{
	size_t n = 1;
	if (ntx)
		n += 3 + (ntx < 16 ? 1 : 3) + 34 * (size_t)ntx;
	if (nblk)
		n += 4 + (nblk < 16 ? 1 : 3) + 34 * (size_t)nblk;
	return n;
}

size_t rl_inv_encode(uint8_t *out, size_t cap, const uint8_t *tx, uint32_t ntx, const uint8_t *blk,
                     uint32_t nblk)
{
	rl_wr_t w;
	if (ntx + nblk == 0)
		return 0;
	rl_wr_init(&w, out, cap);
	rl_wr_map(&w, (ntx ? 1 : 0) + (nblk ? 1 : 0));
	if (ntx) {
		rl_wr_str(&w, "tx");
		rl_wr_array(&w, ntx);
		for (uint32_t i = 0; i < ntx; i++)
			rl_wr_bin(&w, tx + 32 * (size_t)i, 32);
	}
	if (nblk) {
		rl_wr_str(&w, "blk");
		rl_wr_array(&w, nblk);
		for (uint32_t i = 0; i < nblk; i++)
			rl_wr_bin(&w, blk + 32 * (size_t)i, 32);
	}
	return w.err ? 0 : w.len;
}

size_t rl_getblktx_encode(uint8_t *out, size_t cap, const uint8_t id[32], const uint32_t *idx,
                          uint32_t n)
{
	rl_wr_t w;
	rl_wr_init(&w, out, cap);
	rl_wr_map(&w, 1);
	rl_wr_str(&w, "blktx");
	rl_wr_map(&w, 2);
	rl_wr_str(&w, "id");
	rl_wr_bin(&w, id, 32);
	rl_wr_str(&w, "idx");
	rl_wr_array(&w, n);
	for (uint32_t i = 0; i < n; i++)
		rl_wr_uint(&w, idx[i]);
	return w.err ? 0 : w.len;
}

/* ---------------------------------------------------------------- TX */

size_t rl_tx_encode(uint8_t *out, size_t cap, const uint8_t *enc, uint32_t len)
{
	rl_wr_t w;
	rl_wr_init(&w, out, cap);
	rl_wr_map(&w, 1);
	rl_wr_str(&w, "tx");
	rl_wr_bin(&w, enc, len);
	return w.err ? 0 : w.len;
}

/* rl_tx_decode: only the wrapper: the transaction is the mempool's to check. */
int rl_tx_decode(const uint8_t *buf, size_t len, const uint8_t **enc, uint32_t *enc_len)
{
	rl_rd_t r;
	uint32_t n;
	bool got = false;
	rl_rd_init(&r, buf, len);
	if (!rl_rd_map(&r, &n))
		return CH_EPROTO;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl;
		if (!rl_rd_key(&r, &k, &kl))
			return CH_EPROTO;
		if (rl_rd_is(k, kl, "tx") && !got) {
			if (!rl_rd_bin(&r, enc, enc_len))
				return CH_EPROTO;
			got = true;
		} else if (!rl_rd_skip(&r)) {
			return CH_EPROTO;
		}
	}
	return got && !r.err && r.p == r.end ? 0 : CH_EPROTO;
}
