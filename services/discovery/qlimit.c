/* qlimit.c: per-address and per-group token buckets (see qlimit.h). */
#include "qlimit.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "netgroup.h"

void dht_ql_init(dht_qlimit_t *q, uint32_t nslots, double rate_addr, double rate_group,
                 const uint8_t key[16])
{
	uint32_t n = 16;

	memset(q, 0, sizeof(*q));
	while (n < nslots && n < (1u << 20))
		n <<= 1;
	q->nslots = n;
	q->rate_addr = rate_addr;
	q->rate_group = rate_group;
	memcpy(q->key, key, 16);
}

void dht_ql_free(dht_qlimit_t *q)
{
	free(q->slot);
	q->slot = NULL;
}

/* slot_of: the slot of key (non-zero), taken over if its holder is idle. */
static dht_qslot_t *slot_of(dht_qlimit_t *q, uint64_t key, double rate, uint64_t now)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;
	dht_qslot_t *s;

	crypto_shorthash(h, (const uint8_t *)&key, sizeof(key), q->key);
	memcpy(&v, h, sizeof(v));
	s = &q->slot[v & (q->nslots - 1)];
	/* refill first: an idle holder is then full and gives the slot up */
	if (s->key != 0 && now > s->at) {
		s->tok += (double)(now - s->at) * rate / 1e9;
		if (s->tok > 2.0 * rate)
			s->tok = 2.0 * rate;
		s->at = now;
	}
	if (s->key != key && (s->key == 0 || s->tok >= 2.0 * rate)) {
		s->key = key;
		s->tok = 2.0 * rate;
		s->at = now;
	}
	return s;
}

/* take: one token from the bucket of key, if there is one. */
static bool take(dht_qlimit_t *q, uint64_t key, double rate, uint64_t now)
{
	dht_qslot_t *s = slot_of(q, key, rate, now);

	if (s->tok < 1.0)
		return false;
	s->tok -= 1.0;
	return true;
}

/* keys_of: the bucket keys of a source (bit 63: its address, bit 62: its
 * group) and whether it is loopback (no group limit). */
static bool keys_of(const dht_addr_t *from, uint64_t *akey, uint64_t *gkey)
{
	uint32_t h = ntohl(from->ip);
	uint8_t ip16[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	memcpy(ip16 + 12, &from->ip, 4);
	ch_addr_class_t cls = ch_addr_class(ip16);
	bool loopback = cls == CH_ADDR_LOOPBACK;

	*akey = 1ull << 63 | (uint64_t)h << 16 | (loopback ? from->port : 0);
	*gkey = 1ull << 62 | (uint64_t)(cls == CH_ADDR_PRIVATE ? h : h & 0xffffff00u);
	return loopback;
}

bool dht_ql_take(dht_qlimit_t *q, const dht_addr_t *from, uint64_t now)
{
	uint64_t akey, gkey;
	bool loopback = keys_of(from, &akey, &gkey);

	if (q->slot == NULL) {
		q->slot = calloc(q->nslots, sizeof(*q->slot));
		if (q->slot == NULL)
			return true;
	}
	if (q->rate_addr > 0 && !take(q, akey, q->rate_addr, now)) {
		q->dropped_addr++;
		return false;
	}
	if (q->rate_group > 0 && !loopback && !take(q, gkey, q->rate_group, now)) {
		q->dropped_group++;
		return false;
	}
	return true;
}

/* give_back: one token back to the bucket of key, up to its burst. */
static void give_back(dht_qlimit_t *q, uint64_t key, double rate, uint64_t now)
{
	dht_qslot_t *s = slot_of(q, key, rate, now);

	if (s->key == key && s->tok + 1.0 <= 2.0 * rate)
		s->tok += 1.0;
}

void dht_ql_refund(dht_qlimit_t *q, const dht_addr_t *from, uint64_t now)
{
	uint64_t akey, gkey;
	bool loopback = keys_of(from, &akey, &gkey);

	if (q->slot == NULL)
		return;
	if (q->rate_addr > 0)
		give_back(q, akey, q->rate_addr, now);
	if (q->rate_group > 0 && !loopback)
		give_back(q, gkey, q->rate_group, now);
}
