/* store.c: bounded, expiring storage of peers and BEP 44 items (see
 * store.h). */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "rtable.h"

/* dht_st_limits_default: Defaults: about 2.5 MB at most for items, 0.2 MB for peers. */
void dht_st_limits_default(dht_st_limits_t *l)
{
	l->max_items = ST_DEFAULT_MAX_ITEMS;
	l->max_item_bytes = ST_DEFAULT_MAX_ITEM_BYTES;
	l->max_items_per_ip = ST_DEFAULT_MAX_ITEMS_PER_IP;
	l->max_swarms = ST_DEFAULT_MAX_SWARMS;
	l->max_peers_per_swarm = ST_DEFAULT_MAX_PEERS_PER_SWARM;
	l->max_peers = ST_DEFAULT_MAX_PEERS;
	l->max_peers_per_ip = ST_DEFAULT_MAX_PEERS_PER_IP;
}

/* dht_st_init: an empty store around our id with limits lim (NULL: defaults). */
void dht_st_init(dht_store_t *st, const uint8_t self[ST_ID_LEN], const dht_st_limits_t *lim)
{
	memset(st, 0, sizeof(*st));
	memcpy(st->self, self, ST_ID_LEN);
	if (lim != NULL)
		st->lim = *lim;
	else
		dht_st_limits_default(&st->lim);
}

/* dht_st_free: releases everything; safe twice. */
void dht_st_free(dht_store_t *st)
{
	for (uint32_t i = 0; i < st->nitems; i++)
		free(st->items[i]);
	for (uint32_t i = 0; i < st->nswarms; i++) {
		free(st->swarms[i]->peers);
		free(st->swarms[i]);
	}
	free(st->items);
	free(st->swarms);
	st->items = NULL;
	st->swarms = NULL;
	st->nitems = st->cap_items = st->nswarms = st->cap_swarms = st->npeers = 0;
	st->item_bytes = 0;
}

/* search: binary search of key among n sorted records whose first 20
 * bytes are the key.  Returns the index if found (*found true) or the
 * insertion point. */
static uint32_t search(void *const *arr, uint32_t n, const uint8_t *key, bool *found)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(arr[mid], key, ST_ID_LEN);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* grow: makes room for one more pointer in *arr (capacity doubles). */
static int grow(void ***arr, uint32_t n, uint32_t *cap)
{
	void **na;
	uint32_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 16;
	na = realloc(*arr, nc * sizeof(void *));
	if (na == NULL)
		return CH_ENOMEM;
	*arr = na;
	*cap = nc;
	return 0;
}

/* item_cost: the bytes an item counts against max_item_bytes. */
static uint64_t item_cost(const dht_st_item_t *it)
{
	return (uint64_t)it->vlen + it->saltlen;
}

/* remove_item: drops item i. */
static void remove_item(dht_store_t *st, uint32_t i)
{
	st->item_bytes -= item_cost(st->items[i]);
	free(st->items[i]);
	memmove(&st->items[i], &st->items[i + 1], (st->nitems - i - 1) * sizeof(dht_st_item_t *));
	st->nitems--;
}

/* farthest: the index of the stored item farthest from our id. */
static uint32_t farthest(const dht_store_t *st)
{
	uint32_t f = 0;

	for (uint32_t i = 1; i < st->nitems; i++)
		if (dht_rt_xor_cmp(st->self, st->items[i]->target, st->items[f]->target) > 0)
			f = i;
	return f;
}

/* fill: writes the put's content into it. */
static void fill(dht_st_item_t *it, const dht_st_put_t *p, uint64_t now)
{
	memcpy(it->target, p->target, ST_ID_LEN);
	it->mut = p->mut;
	it->seq = p->mut ? p->seq : 0;
	if (p->mut) {
		memcpy(it->k, p->k, 32);
		memcpy(it->sig, p->sig, 64);
	}
	it->saltlen = (uint8_t)p->saltlen;
	if (p->saltlen > 0)
		memcpy(it->salt, p->salt, p->saltlen);
	it->src_ip = p->src_ip;
	it->expires = now + ST_ITEM_TTL_NS;
	it->vlen = (uint16_t)p->vlen;
	memcpy(it->v, p->v, p->vlen);
}

/* update: applies the BEP 44 rules to a put over an existing item i. */
static int update(dht_store_t *st, uint32_t i, const dht_st_put_t *p, uint64_t now)
{
	dht_st_item_t *it = st->items[i], *n;

	if (!it->mut || !p->mut) {
		/* immutable: same target means same value */
		it->expires = now + ST_ITEM_TTL_NS;
		st->stats.items_refreshed++;
		return 0;
	}
	if (p->has_cas && p->cas != it->seq) {
		st->stats.cas_mismatch++;
		return ST_E_CAS;
	}
	if (p->seq < it->seq ||
	    (p->seq == it->seq && (p->vlen != it->vlen || memcmp(p->v, it->v, p->vlen) != 0))) {
		st->stats.seq_outdated++;
		return ST_E_SEQ;
	}
	if (p->seq == it->seq) {
		it->expires = now + ST_ITEM_TTL_NS;
		st->stats.items_refreshed++;
		return 0;
	}
	if (st->item_bytes - item_cost(it) + p->vlen + p->saltlen > st->lim.max_item_bytes) {
		st->stats.items_rejected_full++;
		return ST_E_FULL;
	}
	n = realloc(it, sizeof(dht_st_item_t) + p->vlen);
	if (n == NULL)
		return CH_ENOMEM;
	st->item_bytes -= item_cost(n);
	fill(n, p, now);
	st->item_bytes += item_cost(n);
	st->items[i] = n;
	st->stats.items_put++;
	return 0;
}

/* dht_st_item_put: stores or updates an item at now. */
int dht_st_item_put(dht_store_t *st, const dht_st_put_t *p, uint64_t now)
{
	uint64_t cost = (uint64_t)p->vlen + p->saltlen;
	uint32_t per_ip = 0, pos;
	bool found;
	dht_st_item_t *it;

	if (p->vlen > ST_V_MAX || p->saltlen > ST_SALT_MAX)
		return ST_E_FULL;
	pos = search((void *const *)st->items, st->nitems, p->target, &found);
	if (found && st->items[pos]->expires > now)
		return update(st, pos, p, now);
	if (found)
		remove_item(st, pos);
	if (p->src_ip != 0) {
		for (uint32_t i = 0; i < st->nitems; i++)
			per_ip += st->items[i]->src_ip == p->src_ip;
		if (per_ip >= st->lim.max_items_per_ip) {
			st->stats.items_rejected_ip++;
			return ST_E_FULL;
		}
	}
	dht_st_expire(st, now);
	while (st->nitems > 0 && (st->nitems >= st->lim.max_items ||
	                          st->item_bytes + cost > st->lim.max_item_bytes)) {
		uint32_t f = farthest(st);

		if (dht_rt_xor_cmp(st->self, p->target, st->items[f]->target) >= 0) {
			st->stats.items_rejected_full++;
			return ST_E_FULL;
		}
		remove_item(st, f);
		st->stats.items_evicted++;
	}
	if (st->lim.max_items == 0 || cost > st->lim.max_item_bytes) {
		st->stats.items_rejected_full++;
		return ST_E_FULL;
	}
	if (grow((void ***)&st->items, st->nitems, &st->cap_items) != 0)
		return CH_ENOMEM;
	it = malloc(sizeof(dht_st_item_t) + p->vlen);
	if (it == NULL)
		return CH_ENOMEM;
	memset(it, 0, sizeof(*it));
	fill(it, p, now);
	pos = search((void *const *)st->items, st->nitems, p->target, &found);
	memmove(&st->items[pos + 1], &st->items[pos], (st->nitems - pos) * sizeof(dht_st_item_t *));
	st->items[pos] = it;
	st->nitems++;
	st->item_bytes += cost;
	st->stats.items_put++;
	return 0;
}

/* dht_st_item_get: the live item under target, or NULL. */
const dht_st_item_t *dht_st_item_get(const dht_store_t *st, const uint8_t target[ST_ID_LEN],
                                     uint64_t now)
{
	bool found;
	uint32_t i = search((void *const *)st->items, st->nitems, target, &found);

	return found && st->items[i]->expires > now ? st->items[i] : NULL;
}

/* dht_st_item_set_expiry: sets the expiry of the item under target (used when reloading
 * persisted items, whose remaining life is known). */
int dht_st_item_set_expiry(dht_store_t *st, const uint8_t target[ST_ID_LEN], uint64_t expires)
{
	bool found;
	uint32_t i = search((void *const *)st->items, st->nitems, target, &found);

	if (!found)
		return CH_ENOENT;
	st->items[i]->expires = expires;
	return 0;
}

/* swarm_remove: drops swarm i. */
static void swarm_remove(dht_store_t *st, uint32_t i)
{
	st->npeers -= st->swarms[i]->n;
	free(st->swarms[i]->peers);
	free(st->swarms[i]);
	memmove(&st->swarms[i], &st->swarms[i + 1],
	        (st->nswarms - i - 1) * sizeof(dht_st_swarm_t *));
	st->nswarms--;
}

/* dht_st_announce: records peer (ip, port) under ih at now. */
int dht_st_announce(dht_store_t *st, const uint8_t ih[ST_ID_LEN], uint32_t ip, uint16_t port,
                    uint64_t now)
{
	bool found;
	uint32_t pos = search((void *const *)st->swarms, st->nswarms, ih, &found), per_ip = 0;
	dht_st_swarm_t *sw;

	if (found) {
		sw = st->swarms[pos];
		for (uint32_t i = 0; i < sw->n; i++)
			if (sw->peers[i].ip == ip && sw->peers[i].port == port) {
				sw->peers[i].expires = now + ST_PEER_TTL_NS;
				return 0;
			}
	}
	for (uint32_t s = 0; s < st->nswarms; s++)
		for (uint32_t i = 0; i < st->swarms[s]->n; i++)
			per_ip += st->swarms[s]->peers[i].ip == ip;
	if (per_ip >= st->lim.max_peers_per_ip || st->npeers >= st->lim.max_peers ||
	    (found && st->swarms[pos]->n >= st->lim.max_peers_per_swarm) ||
	    (!found && st->nswarms >= st->lim.max_swarms)) {
		dht_st_expire(st, now);
		st->stats.peers_rejected++;
		return ST_E_FULL;
	}
	if (!found) {
		if (grow((void ***)&st->swarms, st->nswarms, &st->cap_swarms) != 0)
			return CH_ENOMEM;
		sw = calloc(1, sizeof(*sw));
		if (sw == NULL)
			return CH_ENOMEM;
		memcpy(sw->ih, ih, ST_ID_LEN);
		memmove(&st->swarms[pos + 1], &st->swarms[pos],
		        (st->nswarms - pos) * sizeof(dht_st_swarm_t *));
		st->swarms[pos] = sw;
		st->nswarms++;
	}
	sw = st->swarms[pos];
	if (sw->n == sw->cap) {
		uint32_t nc = sw->cap ? sw->cap * 2 : 4;
		dht_st_peer_t *np = realloc(sw->peers, nc * sizeof(dht_st_peer_t));

		if (np == NULL) {
			if (sw->n == 0)
				swarm_remove(st, pos);
			return CH_ENOMEM;
		}
		sw->peers = np;
		sw->cap = nc;
	}
	sw->peers[sw->n++] =
	    (dht_st_peer_t){.ip = ip, .port = port, .expires = now + ST_PEER_TTL_NS};
	st->npeers++;
	st->stats.peers_added++;
	return 0;
}

/* dht_st_peers: writes up to max live peers of ih as 6-byte compact entries into out (6 * max
 * bytes), starting at a rotating offset so that all peers of a large swarm get handed out. */
uint32_t dht_st_peers(dht_store_t *st, const uint8_t ih[ST_ID_LEN], uint8_t *out, uint32_t max,
                      uint64_t now)
{
	bool found;
	uint32_t pos = search((void *const *)st->swarms, st->nswarms, ih, &found), got = 0;
	dht_st_swarm_t *sw;

	if (!found)
		return 0;
	sw = st->swarms[pos];
	/* rotate by the clock so that a swarm larger than max is handed
	 * out in turns */
	for (uint32_t k = 0, start = sw->n ? (uint32_t)(now / 1000) % sw->n : 0;
	     k < sw->n && got < max; k++) {
		const dht_st_peer_t *p = &sw->peers[(start + k) % sw->n];

		if (p->expires <= now)
			continue;
		memcpy(out + got * 6, &p->ip, 4);
		out[got * 6 + 4] = (uint8_t)(p->port >> 8);
		out[got * 6 + 5] = (uint8_t)p->port;
		got++;
	}
	return got;
}

/* dht_st_expire: drops expired items and peers. */
uint32_t dht_st_expire(dht_store_t *st, uint64_t now)
{
	uint32_t dropped = 0;

	for (uint32_t i = st->nitems; i-- > 0;)
		if (st->items[i]->expires <= now) {
			remove_item(st, i);
			st->stats.items_expired++;
			dropped++;
		}
	for (uint32_t s = st->nswarms; s-- > 0;) {
		dht_st_swarm_t *sw = st->swarms[s];

		for (uint32_t i = sw->n; i-- > 0;)
			if (sw->peers[i].expires <= now) {
				sw->peers[i] = sw->peers[--sw->n];
				st->npeers--;
				st->stats.peers_expired++;
				dropped++;
			}
		if (sw->n == 0)
			swarm_remove(st, s);
	}
	return dropped;
}
