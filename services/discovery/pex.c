/* pex.c: GETPEERS and PEERS payloads (pex.h). */
#include "pex.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mp.h"

/* pex_getpeers_encode: an empty map leaves room for later versions. */
size_t pex_getpeers_encode(uint8_t *out, size_t cap)
{
	if (out == NULL || cap < 1)
		return 0;
	out[0] = 0x80; /* fixmap of 0 pairs */
	return 1;
}

/* pex_getpeers_check: a malformed request is dropped, never answered. */
int pex_getpeers_check(const uint8_t *payload, size_t len)
{
	ch_mpr_t r;
	const msgpack_object *m;
	int rc;

	if (payload == NULL || len == 0 || len > PEX_GETPEERS_MAX)
		return CH_EPROTO;
	ch_mpr_init(&r, PEX_GETPEERS_MAX);
	rc = ch_mpr_parse(&r, payload, len) == 0 && ch_mpr_root_map(&r, &m) == 0 ? 0 : CH_EPROTO;
	ch_mpr_free(&r);
	return rc;
}

/* pex_peers_encode: compact entries keep ~2000 addresses within 16 KiB. */
int pex_peers_encode(const ab_addr_t *addrs, size_t n, uint8_t **out, size_t *len)
{
	ch_mpw_t w;
	int rc;

	ch_mpw_init(&w);
	ch_mpw_map(&w, 1);
	ch_mpw_key(&w, "a");
	ch_mpw_array(&w, n);
	for (size_t i = 0; i < n; i++) {
		uint8_t c[PEX_V6_LEN];
		uint32_t v4;

		if (ab_addr_is_v4(&addrs[i], &v4)) {
			memcpy(c, &v4, 4);
			c[4] = (uint8_t)(addrs[i].port >> 8);
			c[5] = (uint8_t)addrs[i].port;
			msgpack_pack_bin_with_body(&w.pk, c, PEX_V4_LEN);
		} else {
			memcpy(c, addrs[i].ip, 16);
			c[16] = (uint8_t)(addrs[i].port >> 8);
			c[17] = (uint8_t)addrs[i].port;
			msgpack_pack_bin_with_body(&w.pk, c, PEX_V6_LEN);
		}
	}
	rc = ch_mpw_error(&w);
	if (rc == 0 && ch_mpw_size(&w) > PEX_PEERS_MAX)
		rc = CH_ERANGE;
	if (rc == 0) {
		void *d;

		rc = ch_mpw_release(&w, &d, len);
		if (rc == 0)
			*out = d;
	}
	ch_mpw_free(&w);
	return rc;
}

/* pex_peers_decode: every entry is checked; a bad one is skipped and
 * counted, never fatal. */
int pex_peers_decode(const uint8_t *payload, size_t len, ab_addr_t *out, size_t max, size_t *n,
                     pex_stats_t *st)
{
	ch_mpr_t r;
	const msgpack_object *m, *a;
	pex_stats_t s = {0};
	int rc = CH_EPROTO;

	*n = 0;
	if (payload == NULL || len == 0 || len > PEX_PEERS_MAX)
		goto out;
	ch_mpr_init(&r, PEX_PEERS_MAX);
	if (ch_mpr_parse(&r, payload, len) != 0 || ch_mpr_root_map(&r, &m) != 0 ||
	    ch_mp_map_get(m, "a", &a) != 0 || a->type != MSGPACK_OBJECT_ARRAY) {
		ch_mpr_free(&r);
		goto out;
	}
	s.total = a->via.array.size;
	for (uint32_t i = 0; i < a->via.array.size; i++) {
		const msgpack_object *o = &a->via.array.ptr[i];
		const uint8_t *p;
		ab_addr_t ad;

		if (o->type != MSGPACK_OBJECT_BIN ||
		    (o->via.bin.size != PEX_V4_LEN && o->via.bin.size != PEX_V6_LEN)) {
			s.bad++;
			continue;
		}
		p = (const uint8_t *)o->via.bin.ptr;
		if (o->via.bin.size == PEX_V4_LEN) {
			uint32_t v4;

			memcpy(&v4, p, 4);
			ab_addr_from_v4(&ad, v4, (uint16_t)(p[4] << 8 | p[5]));
		} else {
			memcpy(ad.ip, p, 16);
			ad.port = (uint16_t)(p[16] << 8 | p[17]);
		}
		if (!ab_addr_valid(&ad)) {
			s.bad++;
		} else if (*n >= max) {
			s.dropped++;
		} else {
			out[(*n)++] = ad;
		}
	}
	ch_mpr_free(&r);
	rc = 0;
out:
	if (st != NULL)
		*st = s;
	return rc;
}
