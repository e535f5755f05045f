/* mp.c: see mp.h. */
#include "mp.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

/* ---------------------------------------------------------------- writer */

static int w_fail(ch_mpw_t *w, int code)
{
	if (w->err == 0)
		w->err = code;
	return w->err;
}

void ch_mpw_init(ch_mpw_t *w)
{
	if (w == NULL)
		return;
	msgpack_sbuffer_init(&w->sb);
	msgpack_packer_init(&w->pk, &w->sb, msgpack_sbuffer_write);
	w->err = 0;
}

void ch_mpw_free(ch_mpw_t *w)
{
	if (w == NULL)
		return;
	msgpack_sbuffer_destroy(&w->sb);
	ch_mpw_init(w);
}

void ch_mpw_reset(ch_mpw_t *w)
{
	if (w == NULL)
		return;
	msgpack_sbuffer_clear(&w->sb);
	w->err = 0;
}

int ch_mpw_map(ch_mpw_t *w, size_t n)
{
	if (w == NULL)
		return CH_EINVAL;
	if (w->err != 0)
		return w->err;
	if (n > UINT32_MAX)
		return w_fail(w, CH_ERANGE);
	if (msgpack_pack_map(&w->pk, n) != 0)
		return w_fail(w, CH_ENOMEM);
	return 0;
}

int ch_mpw_array(ch_mpw_t *w, size_t n)
{
	if (w == NULL)
		return CH_EINVAL;
	if (w->err != 0)
		return w->err;
	if (n > UINT32_MAX)
		return w_fail(w, CH_ERANGE);
	if (msgpack_pack_array(&w->pk, n) != 0)
		return w_fail(w, CH_ENOMEM);
	return 0;
}

/* Packs a string of len bytes; the caller has checked w. */
static int pack_str(ch_mpw_t *w, const char *s, size_t len)
{
	if (s == NULL && len > 0)
		return w_fail(w, CH_EINVAL);
	if (len > UINT32_MAX)
		return w_fail(w, CH_ERANGE);
	if (msgpack_pack_str(&w->pk, len) != 0 || msgpack_pack_str_body(&w->pk, s, len) != 0)
		return w_fail(w, CH_ENOMEM);
	return 0;
}

int ch_mpw_key(ch_mpw_t *w, const char *key)
{
	if (w == NULL)
		return CH_EINVAL;
	if (w->err != 0)
		return w->err;
	if (key == NULL)
		return w_fail(w, CH_EINVAL);
	return pack_str(w, key, strlen(key));
}

int ch_mpw_kv_strn(ch_mpw_t *w, const char *key, const char *val, size_t len)
{
	int rc = ch_mpw_key(w, key);

	if (rc != 0)
		return rc;
	return pack_str(w, val, len);
}

int ch_mpw_kv_str(ch_mpw_t *w, const char *key, const char *val)
{
	if (w != NULL && val == NULL)
		return w_fail(w, CH_EINVAL);
	return ch_mpw_kv_strn(w, key, val, val != NULL ? strlen(val) : 0);
}

int ch_mpw_kv_u64(ch_mpw_t *w, const char *key, uint64_t val)
{
	int rc = ch_mpw_key(w, key);

	if (rc != 0)
		return rc;
	if (msgpack_pack_uint64(&w->pk, val) != 0)
		return w_fail(w, CH_ENOMEM);
	return 0;
}

int ch_mpw_kv_i64(ch_mpw_t *w, const char *key, int64_t val)
{
	int rc = ch_mpw_key(w, key);

	if (rc != 0)
		return rc;
	if (msgpack_pack_int64(&w->pk, val) != 0)
		return w_fail(w, CH_ENOMEM);
	return 0;
}

int ch_mpw_kv_bool(ch_mpw_t *w, const char *key, bool val)
{
	int rc = ch_mpw_key(w, key);

	if (rc != 0)
		return rc;
	if ((val ? msgpack_pack_true(&w->pk) : msgpack_pack_false(&w->pk)) != 0)
		return w_fail(w, CH_ENOMEM);
	return 0;
}

int ch_mpw_kv_bin(ch_mpw_t *w, const char *key, const void *ptr, size_t len)
{
	int rc;

	if (w != NULL && ptr == NULL && len > 0)
		return w_fail(w, CH_EINVAL);
	rc = ch_mpw_key(w, key);
	if (rc != 0)
		return rc;
	if (len > UINT32_MAX)
		return w_fail(w, CH_ERANGE);
	if (msgpack_pack_bin(&w->pk, len) != 0 || msgpack_pack_bin_body(&w->pk, ptr, len) != 0)
		return w_fail(w, CH_ENOMEM);
	return 0;
}

int ch_mpw_error(const ch_mpw_t *w)
{
	return w == NULL ? CH_EINVAL : w->err;
}

const void *ch_mpw_data(const ch_mpw_t *w)
{
	if (w == NULL || w->sb.size == 0)
		return NULL;
	return w->sb.data;
}

size_t ch_mpw_size(const ch_mpw_t *w)
{
	return w == NULL ? 0 : w->sb.size;
}

int ch_mpw_release(ch_mpw_t *w, void **data, size_t *len)
{
	if (w == NULL || data == NULL || len == NULL)
		return CH_EINVAL;
	if (w->err != 0)
		return w->err;
	*len = w->sb.size;
	if (w->sb.size == 0) {
		*data = NULL;
		return 0;
	}
	*data = msgpack_sbuffer_release(&w->sb);
	return 0;
}

/* ---------------------------------------------------------------- reader */

/* Reads an n-byte big-endian unsigned integer (n <= 8). */
static uint64_t be_read(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Checks that p[0..len) is exactly one well-formed msgpack object nested at
 * most CH_MP_MAX_DEPTH deep, before msgpack-c sees it.  Besides exactness
 * (no truncation, no trailing bytes, no reserved 0xc1), this bounds what
 * msgpack-c allocates: it reserves room for a container's declared element
 * count up front, so a 5-byte input claiming 2^32 elements would otherwise
 * ask for ~100 GB.  Here every declared element must fit in the bytes left
 * (each takes at least one), so allocation stays proportional to len. */
static int mp_scan(const uint8_t *p, size_t len)
{
	uint64_t left[CH_MP_MAX_DEPTH + 1]; /* items still to read per level */
	size_t depth = 1;
	size_t pos = 0;

	left[0] = 1; /* the root object */
	while (depth > 0) {
		size_t lenbytes = 0; /* size of a length or count field */
		uint64_t skip = 0;   /* payload bytes after the header */
		uint64_t items = 0;  /* items of a container */
		int per = 0;         /* items per count: 1 array, 2 map, 0 scalar */
		uint8_t b;

		if (left[depth - 1] == 0) {
			depth--;
			continue;
		}
		left[depth - 1]--;
		if (pos >= len)
			return CH_EPROTO;
		b = p[pos++];
		if (b <= 0x7f || b >= 0xe0) {
			/* positive or negative fixint */
		} else if (b <= 0x8f) {
			per = 2;
			items = b & 0x0f;
		} else if (b <= 0x9f) {
			per = 1;
			items = b & 0x0f;
		} else if (b <= 0xbf) {
			skip = b & 0x1f;
		} else {
			switch (b) {
			case 0xc0: /* nil */
			case 0xc2: /* false */
			case 0xc3: /* true */
				break;
			case 0xc4: /* bin 8 */
			case 0xd9: /* str 8 */
				lenbytes = 1;
				break;
			case 0xc5: /* bin 16 */
			case 0xda: /* str 16 */
				lenbytes = 2;
				break;
			case 0xc6: /* bin 32 */
			case 0xdb: /* str 32 */
				lenbytes = 4;
				break;
			case 0xc7: /* ext 8: length, then type byte */
				lenbytes = 1;
				skip = 1;
				break;
			case 0xc8: /* ext 16 */
				lenbytes = 2;
				skip = 1;
				break;
			case 0xc9: /* ext 32 */
				lenbytes = 4;
				skip = 1;
				break;
			case 0xcc: /* uint 8 */
			case 0xd0: /* int 8 */
				skip = 1;
				break;
			case 0xcd: /* uint 16 */
			case 0xd1: /* int 16 */
			case 0xd4: /* fixext 1: type + 1 */
				skip = 2;
				break;
			case 0xd5: /* fixext 2 */
				skip = 3;
				break;
			case 0xca: /* float 32 */
			case 0xce: /* uint 32 */
			case 0xd2: /* int 32 */
				skip = 4;
				break;
			case 0xd6: /* fixext 4 */
				skip = 5;
				break;
			case 0xcb: /* float 64 */
			case 0xcf: /* uint 64 */
			case 0xd3: /* int 64 */
				skip = 8;
				break;
			case 0xd7: /* fixext 8 */
				skip = 9;
				break;
			case 0xd8: /* fixext 16 */
				skip = 17;
				break;
			case 0xdc: /* array 16 */
				per = 1;
				lenbytes = 2;
				break;
			case 0xdd: /* array 32 */
				per = 1;
				lenbytes = 4;
				break;
			case 0xde: /* map 16 */
				per = 2;
				lenbytes = 2;
				break;
			case 0xdf: /* map 32 */
				per = 2;
				lenbytes = 4;
				break;
			default: /* 0xc1 is reserved */
				return CH_EPROTO;
			}
		}
		if (lenbytes > 0) {
			uint64_t v;

			if (len - pos < lenbytes)
				return CH_EPROTO;
			v = be_read(p + pos, lenbytes);
			pos += lenbytes;
			if (per > 0)
				items = v;
			else
				skip += v;
		}
		if (skip > len - pos)
			return CH_EPROTO;
		pos += (size_t)skip;
		if (per > 0) {
			items *= (uint64_t)per; /* at most 2 * (2^32 - 1): no overflow */
			if (depth > CH_MP_MAX_DEPTH || items > len - pos)
				return CH_EPROTO;
			if (items > 0)
				left[depth++] = items;
		}
	}
	return pos == len ? 0 : CH_EPROTO;
}

void ch_mpr_init(ch_mpr_t *r, size_t max_size)
{
	if (r == NULL)
		return;
	msgpack_unpacked_init(&r->up);
	r->buf = NULL;
	r->bufcap = 0;
	r->max_size = max_size != 0 ? max_size : CH_MP_MAX_DEFAULT;
	r->ok = false;
}

void ch_mpr_free(ch_mpr_t *r)
{
	size_t max_size;

	if (r == NULL)
		return;
	max_size = r->max_size;
	msgpack_unpacked_destroy(&r->up);
	free(r->buf);
	ch_mpr_init(r, max_size);
}

int ch_mpr_parse(ch_mpr_t *r, const void *buf, size_t len)
{
	msgpack_unpack_return ret;
	size_t off = 0;
	int rc;

	if (r == NULL || (buf == NULL && len > 0))
		return CH_EINVAL;
	msgpack_unpacked_destroy(&r->up);
	msgpack_unpacked_init(&r->up);
	r->ok = false;
	if (len > r->max_size)
		return CH_ERANGE;
	if (len == 0)
		return CH_EPROTO;
	rc = mp_scan(buf, len);
	if (rc != 0)
		return rc;
	if (r->bufcap < len) {
		char *nb = realloc(r->buf, len);

		if (nb == NULL)
			return CH_ENOMEM;
		r->buf = nb;
		r->bufcap = len;
	}
	memcpy(r->buf, buf, len);
	ret = msgpack_unpack_next(&r->up, r->buf, len, &off);
	if (ret == MSGPACK_UNPACK_NOMEM_ERROR)
		return CH_ENOMEM;
	if (ret != MSGPACK_UNPACK_SUCCESS || off != len) {
		msgpack_unpacked_destroy(&r->up);
		return CH_EPROTO;
	}
	r->ok = true;
	return 0;
}

int ch_mpr_root(const ch_mpr_t *r, const msgpack_object **out)
{
	if (r == NULL || out == NULL || !r->ok)
		return CH_EINVAL;
	*out = &r->up.data;
	return 0;
}

int ch_mpr_root_map(const ch_mpr_t *r, const msgpack_object **out)
{
	const msgpack_object *o;
	int rc = ch_mpr_root(r, &o);

	if (rc != 0 || out == NULL)
		return rc != 0 ? rc : CH_EINVAL;
	if (o->type != MSGPACK_OBJECT_MAP)
		return CH_EPROTO;
	*out = o;
	return 0;
}

/* ---------------------------------------------------------------- values */

int ch_mp_as_u64(const msgpack_object *o, uint64_t *out)
{
	if (o == NULL || out == NULL)
		return CH_EINVAL;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return CH_ERANGE;
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return CH_EPROTO;
	*out = o->via.u64;
	return 0;
}

int ch_mp_as_i64(const msgpack_object *o, int64_t *out)
{
	if (o == NULL || out == NULL)
		return CH_EINVAL;
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (o->via.u64 > (uint64_t)INT64_MAX)
			return CH_ERANGE;
		*out = (int64_t)o->via.u64;
		return 0;
	}
	if (o->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return CH_EPROTO;
	*out = o->via.i64;
	return 0;
}

int ch_mp_as_bool(const msgpack_object *o, bool *out)
{
	if (o == NULL || out == NULL)
		return CH_EINVAL;
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return CH_EPROTO;
	*out = o->via.boolean;
	return 0;
}

int ch_mp_as_str(const msgpack_object *o, const char **ptr, size_t *len)
{
	if (o == NULL || ptr == NULL || len == NULL)
		return CH_EINVAL;
	if (o->type != MSGPACK_OBJECT_STR)
		return CH_EPROTO;
	*ptr = o->via.str.ptr;
	*len = o->via.str.size;
	return 0;
}

int ch_mp_as_bin(const msgpack_object *o, const void **ptr, size_t *len)
{
	if (o == NULL || ptr == NULL || len == NULL)
		return CH_EINVAL;
	if (o->type != MSGPACK_OBJECT_BIN)
		return CH_EPROTO;
	*ptr = o->via.bin.ptr;
	*len = o->via.bin.size;
	return 0;
}

/* ---------------------------------------------------------------- maps */

int ch_mp_map_get(const msgpack_object *map, const char *key, const msgpack_object **out)
{
	const msgpack_object *found = NULL;
	size_t klen;

	if (map == NULL || key == NULL || out == NULL)
		return CH_EINVAL;
	if (map->type != MSGPACK_OBJECT_MAP)
		return CH_EPROTO;
	klen = strlen(key);
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object_kv *kv = &map->via.map.ptr[i];

		if (kv->key.type != MSGPACK_OBJECT_STR)
			return CH_EPROTO;
		if (kv->key.via.str.size != klen || memcmp(kv->key.via.str.ptr, key, klen) != 0)
			continue;
		if (found != NULL)
			return CH_EPROTO;
		found = &kv->val;
	}
	if (found == NULL)
		return CH_ENOENT;
	*out = found;
	return 0;
}

int ch_mp_get_u64(const msgpack_object *map, const char *key, uint64_t *out)
{
	const msgpack_object *o;
	int rc = ch_mp_map_get(map, key, &o);

	return rc != 0 ? rc : ch_mp_as_u64(o, out);
}

int ch_mp_get_i64(const msgpack_object *map, const char *key, int64_t *out)
{
	const msgpack_object *o;
	int rc = ch_mp_map_get(map, key, &o);

	return rc != 0 ? rc : ch_mp_as_i64(o, out);
}

int ch_mp_get_bool(const msgpack_object *map, const char *key, bool *out)
{
	const msgpack_object *o;
	int rc = ch_mp_map_get(map, key, &o);

	return rc != 0 ? rc : ch_mp_as_bool(o, out);
}

int ch_mp_get_str(const msgpack_object *map, const char *key, const char **ptr, size_t *len)
{
	const msgpack_object *o;
	int rc = ch_mp_map_get(map, key, &o);

	return rc != 0 ? rc : ch_mp_as_str(o, ptr, len);
}

int ch_mp_get_bin(const msgpack_object *map, const char *key, const void **ptr, size_t *len)
{
	const msgpack_object *o;
	int rc = ch_mp_map_get(map, key, &o);

	return rc != 0 ? rc : ch_mp_as_bin(o, ptr, len);
}

int ch_mp_get_strz(const msgpack_object *map, const char *key, char *buf, size_t cap)
{
	const char *s;
	size_t n;
	int rc;

	if (buf == NULL)
		return CH_EINVAL;
	if (cap > 0)
		buf[0] = '\0';
	rc = ch_mp_get_str(map, key, &s, &n);
	if (rc != 0)
		return rc;
	if (n > 0 && memchr(s, '\0', n) != NULL)
		return CH_EPROTO;
	if (n >= cap)
		return CH_ERANGE;
	if (n > 0)
		memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

int ch_mp_get_bin_exact(const msgpack_object *map, const char *key, void *out, size_t len)
{
	const void *p;
	size_t n;
	int rc;

	if (out == NULL && len > 0)
		return CH_EINVAL;
	rc = ch_mp_get_bin(map, key, &p, &n);
	if (rc != 0)
		return rc;
	if (n != len)
		return CH_EPROTO;
	if (len > 0)
		memcpy(out, p, len);
	return 0;
}
