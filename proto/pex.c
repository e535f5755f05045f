/* pex.c: GETPEERS and PEERS payloads (pex.h). */
#include "pex.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "pack.h"

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* pex_addr_from_v4: IPv4 addresses are kept IPv4-mapped so one type
 * covers both families. */
void pex_addr_from_v4(pex_addr_t *a, uint32_t ip_be, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->ip, v4_mapped, sizeof(v4_mapped));
	memcpy(a->ip + 12, &ip_be, 4);
	a->port = port;
}

/* pex_addr_is_v4: the mapped prefix tells the family. */
bool pex_addr_is_v4(const pex_addr_t *a, uint32_t *ip_be)
{
	if (memcmp(a->ip, v4_mapped, sizeof(v4_mapped)) != 0)
		return false;
	if (ip_be != NULL)
		memcpy(ip_be, a->ip + 12, 4);
	return true;
}

/* pex_getpeers_encode: an empty map leaves room for later versions. */
size_t pex_getpeers_encode(uint8_t *out, size_t cap)
{
	if (out == NULL || cap < 1)
		return 0;
	out[0] = 0x80; /* fixmap of 0 pairs */
	return 1;
}

/* no_field: GETPEERS defines no key yet: every value is skipped. */
static bool no_field(pack_rd_t *r, const char *k, uint32_t kl, void *arg)
{
	(void)r, (void)k, (void)kl, (void)arg;
	return false;
}

/* pex_getpeers_check: a malformed request is dropped, never answered. */
int pex_getpeers_check(const uint8_t *payload, size_t len)
{
	pack_rd_t r;

	if (payload == NULL || len == 0 || len > WIRE_GETPEERS_MAX)
		return CH_EPROTO;
	pack_rd_init(&r, payload, len, 0);
	return pack_rd_fields(&r, no_field, NULL) && pack_rd_done(&r) ? 0 : CH_EPROTO;
}

/* pex_peers_encode: compact entries keep ~2000 addresses within 16 KiB. */
int pex_peers_encode(const pex_addr_t *addrs, size_t n, uint8_t **out, size_t *len)
{
	/* map, "a", array header, then at most 20 bytes an address */
	size_t cap = 1 + 2 + 5 + 20 * n;
	uint8_t *buf;
	pack_wr_t w;

	if (n > WIRE_PEERS_MAX / (2 + PEX_V4_LEN)) /* cannot fit: spare the buffer */
		return CH_ERANGE;
	buf = malloc(cap);
	if (buf == NULL)
		return CH_ENOMEM;
	pack_wr_init(&w, buf, cap);
	pack_wr_map(&w, 1);
	pack_wr_str(&w, "a");
	pack_wr_array(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		uint8_t c[PEX_V6_LEN];
		uint32_t v4;

		if (pex_addr_is_v4(&addrs[i], &v4)) {
			memcpy(c, &v4, 4);
			c[4] = (uint8_t)(addrs[i].port >> 8);
			c[5] = (uint8_t)addrs[i].port;
			pack_wr_bin(&w, c, PEX_V4_LEN);
		} else {
			memcpy(c, addrs[i].ip, 16);
			c[16] = (uint8_t)(addrs[i].port >> 8);
			c[17] = (uint8_t)addrs[i].port;
			pack_wr_bin(&w, c, PEX_V6_LEN);
		}
	}
	if (w.err || w.len > WIRE_PEERS_MAX) {
		free(buf);
		return CH_ERANGE;
	}
	*out = buf;
	*len = w.len;
	return 0;
}

/* The decoder's state: the caller's check and buffer, what it found. */
typedef struct peers_rd {
	pex_keep_fn keep;
	pex_addr_t *out;
	size_t max, *n;
	pex_stats_t s;
	bool got;
} peers_rd_t;

/* read_addrs: the array "a": every entry is checked; a bad one is skipped
 * and counted, never fatal. */
static void read_addrs(pack_rd_t *r, peers_rd_t *d)
{
	uint32_t k;

	if (!pack_rd_array(r, &k))
		return;
	d->s.total = k;
	for (uint32_t i = 0; i < k && !r->err; i++) {
		pack_rd_t try = *r;
		const uint8_t *p;
		uint32_t l;
		pex_addr_t ad;

		if (!pack_rd_bin(&try, &p, &l) || (l != PEX_V4_LEN && l != PEX_V6_LEN)) {
			d->s.bad++;
			pack_rd_skip(r);
			continue;
		}
		*r = try;
		if (l == PEX_V4_LEN) {
			uint32_t v4;

			memcpy(&v4, p, 4);
			pex_addr_from_v4(&ad, v4, (uint16_t)(p[4] << 8 | p[5]));
		} else {
			memcpy(ad.ip, p, 16);
			ad.port = (uint16_t)(p[16] << 8 | p[17]);
		}
		if (d->keep != NULL && !d->keep(&ad))
			d->s.bad++;
		else if (*d->n >= d->max)
			d->s.dropped++;
		else
			d->out[(*d->n)++] = ad;
	}
}

/* peers_field: "a", once. */
static bool peers_field(pack_rd_t *r, const char *k, uint32_t kl, void *arg)
{
	peers_rd_t *d = arg;

	if (!pack_is(k, kl, "a"))
		return false;
	if (d->got)
		pack_rd_refuse(r); /* twice */
	else
		read_addrs(r, d);
	d->got = true;
	return true;
}

/* pex_peers_decode: all or nothing: a message malformed anywhere returns
 * no address, even those read before the fault. */
int pex_peers_decode(const uint8_t *payload, size_t len, pex_keep_fn keep, pex_addr_t *out,
                     size_t max, size_t *n, pex_stats_t *st)
{
	peers_rd_t d = {.keep = keep, .out = out, .max = max, .n = n};
	pack_rd_t r;
	bool ok;

	*n = 0;
	ok = payload != NULL && len > 0 && len <= WIRE_PEERS_MAX;
	if (ok) {
		pack_rd_init(&r, payload, len, 0);
		ok = pack_rd_fields(&r, peers_field, &d) && d.got && pack_rd_done(&r);
	}
	if (!ok) {
		*n = 0;
		d.s = (pex_stats_t){0};
	}
	if (st != NULL)
		*st = d.s;
	return ok ? 0 : CH_EPROTO;
}
