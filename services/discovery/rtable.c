/* rtable.c: the BEP 5 routing table (see rtable.h). */
#include "rtable.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

/* A ping older than this is considered lost even if no timeout was
 * reported (the request table may have been full). */
#define RT_PING_STALE_NS (60ull * 1000000000ull)

/* dht_rt_prefix: the number of leading bits a and b share (160 if equal). */
uint32_t dht_rt_prefix(const uint8_t a[RT_ID_LEN], const uint8_t b[RT_ID_LEN])
{
	for (uint32_t i = 0; i < RT_ID_LEN; i++) {
		uint8_t x = a[i] ^ b[i];

		if (x != 0)
			return i * 8 + (uint32_t)__builtin_clz(x) - 24;
	}
	return RT_ID_LEN * 8;
}

/* dht_rt_xor_cmp: compares the distances of a and b to target: <0 if a is nearer, 0 if equal,
 * >0 if b is nearer. */
int dht_rt_xor_cmp(const uint8_t target[RT_ID_LEN], const uint8_t a[RT_ID_LEN],
                   const uint8_t b[RT_ID_LEN])
{
	for (uint32_t i = 0; i < RT_ID_LEN; i++) {
		uint8_t x = a[i] ^ target[i], y = b[i] ^ target[i];

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

/* dht_rt_init: an empty table (one bucket) around our id. */
int dht_rt_init(dht_rtable_t *rt, const uint8_t self[RT_ID_LEN])
{
	memset(rt, 0, sizeof(*rt));
	memcpy(rt->self, self, RT_ID_LEN);
	rt->b = calloc(1, sizeof(dht_rt_bucket_t));
	if (rt->b == NULL)
		return CH_ENOMEM;
	rt->nb = 1;
	return 0;
}

/* dht_rt_free: releases the buckets; safe twice. */
void dht_rt_free(dht_rtable_t *rt)
{
	free(rt->b);
	rt->b = NULL;
	rt->nb = 0;
	rt->count = 0;
}

/* dht_rt_bucket_of: the index of the bucket id belongs in. */
uint32_t dht_rt_bucket_of(const dht_rtable_t *rt, const uint8_t id[RT_ID_LEN])
{
	uint32_t p = dht_rt_prefix(rt->self, id);

	return p < rt->nb - 1 ? p : rt->nb - 1;
}

/* dht_rt_is_good: BEP 5's good status at now. */
bool dht_rt_is_good(const dht_rt_node_t *n, uint64_t now)
{
	if (n->last_reply == 0 || n->fails >= RT_MAX_FAILS)
		return false;
	if (now < n->last_reply + RT_GOOD_NS)
		return true;
	return n->last_query != 0 && now < n->last_query + RT_GOOD_NS;
}

/* find_in: index of id in arr[0..n), or -1. */
static int find_in(const dht_rt_node_t *arr, uint32_t n, const uint8_t *id)
{
	for (uint32_t i = 0; i < n; i++)
		if (memcmp(arr[i].id, id, RT_ID_LEN) == 0)
			return (int)i;
	return -1;
}

/* dht_rt_find: the node with this id, or NULL. */
dht_rt_node_t *dht_rt_find(dht_rtable_t *rt, const uint8_t id[RT_ID_LEN])
{
	dht_rt_bucket_t *b = &rt->b[dht_rt_bucket_of(rt, id)];
	int i = find_in(b->nodes, b->n, id);

	return i >= 0 ? &b->nodes[i] : NULL;
}

/* split: the last bucket becomes two: prefix == L stays, longer moves to
 * the new last bucket.  Returns 0 or CH_ENOMEM (table unchanged). */
static int split(dht_rtable_t *rt)
{
	uint32_t L = rt->nb - 1;
	dht_rt_bucket_t *nb = realloc(rt->b, (rt->nb + 1) * sizeof(dht_rt_bucket_t));
	dht_rt_bucket_t old;

	if (nb == NULL)
		return CH_ENOMEM;
	rt->b = nb;
	old = nb[L];
	memset(&nb[L], 0, sizeof(dht_rt_bucket_t) * 2);
	nb[L].changed = nb[L + 1].changed = old.changed;
	rt->nb++;
	for (uint32_t i = 0; i < old.n; i++) {
		dht_rt_bucket_t *d = &nb[dht_rt_prefix(rt->self, old.nodes[i].id) == L ? L : L + 1];

		d->nodes[d->n++] = old.nodes[i];
	}
	for (uint32_t i = 0; i < old.nrepl; i++) {
		dht_rt_bucket_t *d = &nb[dht_rt_prefix(rt->self, old.repl[i].id) == L ? L : L + 1];

		d->repl[d->nrepl++] = old.repl[i];
	}
	return 0;
}

/* repl_remove: drops replacement i of b. */
static void repl_remove(dht_rt_bucket_t *b, uint32_t i)
{
	b->repl[i] = b->repl[b->nrepl - 1];
	b->nrepl--;
}

/* promote: moves the replacement that answered most recently into b.
 * Returns true if one moved in. */
static bool promote(dht_rt_bucket_t *b, uint64_t now)
{
	int best = -1;

	for (uint32_t i = 0; i < b->nrepl; i++)
		if (best < 0 || b->repl[i].last_reply > b->repl[best].last_reply)
			best = (int)i;
	if (best < 0 || b->n >= RT_K)
		return false;
	b->nodes[b->n] = b->repl[best];
	b->nodes[b->n].fails = 0;
	b->nodes[b->n].ping_at = 0;
	b->n++;
	b->changed = now;
	repl_remove(b, (uint32_t)best);
	return true;
}

/* cache: keeps a node that answered while its bucket was full; the
 * replacement that answered longest ago makes room. */
static void cache(dht_rt_bucket_t *b, const dht_rt_node_t *n)
{
	int i = find_in(b->repl, b->nrepl, n->id);

	if (i >= 0) {
		b->repl[i] = *n;
		return;
	}
	if (b->nrepl < RT_REPL) {
		b->repl[b->nrepl++] = *n;
		return;
	}
	i = 0;
	for (uint32_t j = 1; j < b->nrepl; j++)
		if (b->repl[j].last_reply < b->repl[i].last_reply)
			i = (int)j;
	b->repl[i] = *n;
}

/* on_reply: a node answered us. */
static dht_rt_result_t on_reply(dht_rtable_t *rt, const uint8_t *id, const dht_addr_t *addr,
                                uint64_t now)
{
	for (uint32_t guard = 0; guard <= RT_MAX_BUCKETS; guard++) {
		uint32_t bi = dht_rt_bucket_of(rt, id);
		dht_rt_bucket_t *b = &rt->b[bi];
		int i = find_in(b->nodes, b->n, id);
		dht_rt_node_t n;

		if (i >= 0) {
			dht_rt_node_t *x = &b->nodes[i];

			if (x->addr.ip != addr->ip || x->addr.port != addr->port) {
				if (dht_rt_is_good(x, now))
					return RT_IGNORED; /* keep the proven address */
				x->addr = *addr;
			}
			x->last_reply = now;
			x->fails = 0;
			x->ping_at = 0;
			b->changed = now;
			return RT_UPDATED;
		}
		memset(&n, 0, sizeof(n));
		memcpy(n.id, id, RT_ID_LEN);
		n.addr = *addr;
		n.last_reply = now;
		if (b->n < RT_K) {
			i = find_in(b->repl, b->nrepl, id);
			if (i >= 0)
				repl_remove(b, (uint32_t)i);
			b->nodes[b->n++] = n;
			b->changed = now;
			rt->count++;
			return RT_ADDED;
		}
		if (bi == rt->nb - 1 && rt->nb < RT_MAX_BUCKETS && split(rt) == 0)
			continue; /* try again in the narrower bucket */
		cache(b, &n);
		return RT_CACHED;
	}
	return RT_IGNORED;
}

/* dht_rt_update: records an event about node (id, addr) at time now. */
dht_rt_result_t dht_rt_update(dht_rtable_t *rt, const uint8_t id[RT_ID_LEN], const dht_addr_t *addr,
                              dht_rt_event_t ev, uint64_t now)
{
	dht_rt_bucket_t *b;
	int i;

	if (memcmp(id, rt->self, RT_ID_LEN) == 0)
		return RT_IGNORED;
	if (ev == RT_EV_REPLY)
		return on_reply(rt, id, addr, now);
	b = &rt->b[dht_rt_bucket_of(rt, id)];
	i = find_in(b->nodes, b->n, id);
	if (ev == RT_EV_QUERY) {
		if (i < 0 || b->nodes[i].addr.ip != addr->ip || b->nodes[i].addr.port != addr->port)
			return RT_IGNORED;
		b->nodes[i].last_query = now;
		return RT_UPDATED;
	}
	/* RT_EV_TIMEOUT */
	if (i < 0) {
		i = find_in(b->repl, b->nrepl, id);
		if (i >= 0)
			repl_remove(b, (uint32_t)i);
		return RT_IGNORED;
	}
	b->nodes[i].ping_at = 0;
	if (++b->nodes[i].fails < RT_MAX_FAILS)
		return RT_FAILED;
	b->nodes[i] = b->nodes[b->n - 1];
	b->n--;
	rt->count--;
	if (promote(b, now))
		rt->count++;
	return RT_REMOVED;
}

/* dht_rt_wants: true if a node with this id would enter the table (or its replacement cache)
 * were it to answer: used to decide whether a node that queried us deserves a ping. */
bool dht_rt_wants(const dht_rtable_t *rt, const uint8_t id[RT_ID_LEN], uint64_t now)
{
	uint32_t bi;
	const dht_rt_bucket_t *b;

	if (memcmp(id, rt->self, RT_ID_LEN) == 0)
		return false;
	bi = dht_rt_bucket_of(rt, id);
	b = &rt->b[bi];
	if (find_in(b->nodes, b->n, id) >= 0)
		return false;
	if (b->n < RT_K || (bi == rt->nb - 1 && rt->nb < RT_MAX_BUCKETS))
		return true;
	for (uint32_t i = 0; i < b->n; i++)
		if (!dht_rt_is_good(&b->nodes[i], now))
			return true;
	return false;
}

/* dht_rt_closest: the up to n (<= 64) nodes closest to target by XOR distance, nearest first,
 * bad nodes excluded. */
uint32_t dht_rt_closest(const dht_rtable_t *rt, const uint8_t target[RT_ID_LEN], dht_rt_node_t *out,
                        uint32_t n)
{
	uint32_t got = 0;

	if (n > 64)
		n = 64;
	for (uint32_t bi = 0; bi < rt->nb; bi++) {
		const dht_rt_bucket_t *b = &rt->b[bi];

		for (uint32_t i = 0; i < b->n; i++) {
			const dht_rt_node_t *x = &b->nodes[i];
			uint32_t pos = got;

			if (x->fails >= RT_MAX_FAILS)
				continue;
			while (pos > 0 && dht_rt_xor_cmp(target, x->id, out[pos - 1].id) < 0)
				pos--;
			if (pos >= n)
				continue;
			if (got < n)
				got++;
			memmove(&out[pos + 1], &out[pos], (got - 1 - pos) * sizeof(dht_rt_node_t));
			out[pos] = *x;
		}
	}
	return got;
}

/* dht_rt_next_ping: a questionable node (not answered for RT_GOOD_NS, or never in this run)
 * without a ping in flight, least recently seen first; marks it pinged at now. */
bool dht_rt_next_ping(dht_rtable_t *rt, uint64_t now, dht_rt_node_t *out)
{
	dht_rt_node_t *best = NULL;

	for (uint32_t bi = 0; bi < rt->nb; bi++) {
		dht_rt_bucket_t *b = &rt->b[bi];

		for (uint32_t i = 0; i < b->n; i++) {
			dht_rt_node_t *x = &b->nodes[i];

			if (x->ping_at != 0 && now < x->ping_at + RT_PING_STALE_NS)
				continue;
			if (x->fails == 0 && dht_rt_is_good(x, now))
				continue;
			/* a node that failed once goes first (BEP 5: try once
			 * more), then the least recently seen */
			if (best == NULL || (x->fails > 0) > (best->fails > 0) ||
			    ((x->fails > 0) == (best->fails > 0) &&
			     x->last_reply < best->last_reply))
				best = x;
		}
	}
	if (best == NULL)
		return false;
	best->ping_at = now;
	*out = *best;
	return true;
}

/* dht_rt_stale_bucket: the index of a bucket unchanged for RT_REFRESH_NS (and marks it changed
 * at now, so it is not picked again at once). */
bool dht_rt_stale_bucket(dht_rtable_t *rt, uint64_t now, uint32_t *idx)
{
	for (uint32_t bi = 0; bi < rt->nb; bi++) {
		if (now >= rt->b[bi].changed + RT_REFRESH_NS) {
			rt->b[bi].changed = now;
			*idx = bi;
			return true;
		}
	}
	return false;
}

/* dht_rt_random_id_in: a random id that falls in bucket idx, from the 20 random bytes rnd. */
void dht_rt_random_id_in(const dht_rtable_t *rt, uint32_t idx, const uint8_t rnd[RT_ID_LEN],
                         uint8_t out[RT_ID_LEN])
{
	uint32_t keep = idx < rt->nb - 1 ? idx : rt->nb - 1;

	memcpy(out, rnd, RT_ID_LEN);
	for (uint32_t i = 0; i < keep; i++) {
		uint8_t m = (uint8_t)(0x80u >> (i % 8));

		out[i / 8] = (uint8_t)((out[i / 8] & ~m) | (rt->self[i / 8] & m));
	}
	if (idx < rt->nb - 1) {
		/* first differing bit at idx */
		uint8_t m = (uint8_t)(0x80u >> (idx % 8));

		out[idx / 8] = (uint8_t)((out[idx / 8] & ~m) | (~rt->self[idx / 8] & m));
	}
}
