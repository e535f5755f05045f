/* addrbook.c: the address book of addrbook.h (Bitcoin Core's addrman:
 * new and tried tables, bucketed by keyed hashes of address and source
 * groups, test-before-evict), with its file format.
 *
 * Storage: entries live in one array (a free list reuses slots), found by
 * address through a chained hash table, and listed per table in a dense
 * array for uniform random picks.  The bucket tables hold entry indices
 * (-1: empty slot). */
#include "addrbook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "hash.h"

/* Heads of the address hash chains (a power of two). */
#define AB_HASH_HEADS 16384
/* First size of the entry array; it doubles up to AB_MAX_ENTRIES. */
#define AB_FIRST_CAP 256
/* The file: magic, version, key, count; fixed-size entries; BLAKE2b-256. */
#define AB_FILE_MAGIC   "CHAB"
#define AB_FILE_VERSION 1u
#define AB_FILE_HDR     (4 + 4 + AB_KEY_LEN + 4)
#define AB_FILE_ENTRY   (16 + 2 + 16 + 2 + 8 + 8 + 8 + 4 + 1 + 32)
#define AB_KEY_LEN      16 /* crypto_shorthash (SipHash-2-4) key */
/* An attempt this recent keeps an entry from being terrible. */
#define AB_RECENT_TRY_MS (60ull * 1000)
/* A collision occupant tried this long ago without success is replaced. */
#define AB_COLLISION_WAIT_MS (60ull * 1000)

_Static_assert(AB_KEY_LEN == crypto_shorthash_KEYBYTES, "SipHash key size");
_Static_assert(AB_MAX_ENTRIES < INT32_MAX, "entry indices are int32_t");

struct ab {
	uint8_t key[AB_KEY_LEN];
	ab_rand_fn rand;
	void *rand_arg;
	ch_netgroup_mode_t netgroup;
	ab_entry_t *e; /* entries, ecap slots */
	uint32_t ecap;
	uint32_t ehigh;   /* slots ever used */
	int32_t freehead; /* free slots, chained through hnext */
	int32_t *heads;   /* AB_HASH_HEADS chains */
	int32_t *newtab;  /* AB_NEW_BUCKETS * AB_BUCKET_SIZE */
	int32_t *tried;   /* AB_TRIED_BUCKETS * AB_BUCKET_SIZE */
	int32_t *list[3]; /* [AB_NEW], [AB_TRIED]: dense entry lists, ecap each */
	uint32_t nlist[3];
	int32_t coll[AB_COLLISIONS_MAX];
	uint32_t ncoll;
	bool dirty;
};

/* ---------------------------------------------------------------- addresses */

/* ab_addr_parse: the text transport prints and peers' events carry. */
int ab_addr_parse(const char *s, ab_addr_t *out)
{
	char host[64];
	const char *colon;
	size_t hl;
	char *end;
	unsigned long port;
	struct in_addr a4;
	struct in6_addr a6;

	if (s == NULL || out == NULL)
		return CH_EINVAL;
	colon = strrchr(s, ':');
	if (colon == NULL)
		return CH_EINVAL;
	hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 3 || s[hl - 1] != ']')
			return CH_EINVAL;
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return CH_EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == 0 || *end != 0 || errno != 0 || port == 0 || port > 65535)
		return CH_EINVAL;
	if (inet_pton(AF_INET, host, &a4) == 1) {
		pex_addr_from_v4(out, a4.s_addr, (uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		memcpy(out->ip, &a6, 16);
		out->port = (uint16_t)port;
		return 0;
	}
	return CH_EINVAL;
}

/* ab_addr_str: the same text transport writes, so events and dials
 * match by string. */
const char *ab_addr_str(const ab_addr_t *a, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	uint32_t v4;

	if (pex_addr_is_v4(a, &v4)) {
		struct in_addr in = {.s_addr = v4};

		inet_ntop(AF_INET, &in, ip, sizeof(ip));
		snprintf(buf, cap, "%s:%u", ip, (unsigned)a->port);
	} else {
		inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
		snprintf(buf, cap, "[%s]:%u", ip, (unsigned)a->port);
	}
	return buf;
}

/* ab_addr_eq: entries are keyed by address and port. */
bool ab_addr_eq(const ab_addr_t *a, const ab_addr_t *b)
{
	return a->port == b->port && memcmp(a->ip, b->ip, 16) == 0;
}

/* ab_addr_valid: keeps out what can never be dialed. */
bool ab_addr_valid(const ab_addr_t *a)
{
	static const uint8_t zero[16] = {0};
	uint32_t v4;

	if (a->port == 0)
		return false;
	if (pex_addr_is_v4(a, &v4)) {
		uint32_t h = ntohl(v4);

		return (h >> 24) != 0 && (h >> 28) != 0xe && h != 0xffffffffu;
	}
	return memcmp(a->ip, zero, 16) != 0 && a->ip[0] != 0xff;
}

/* bad_port: ports of services a node must not be made to connect to. */
static bool bad_port(uint16_t port)
{
	static const uint16_t ports[] = {1080, 1433, 1521, 1723, 2049,  3128,  3306, 3389, 5060,
	                                 5061, 5432, 5900, 6000, 6379,  6665,  6666, 6667, 6668,
	                                 6669, 6697, 9200, 9300, 10080, 11211, 27017};

	if (port < 1024)
		return true;
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (ports[i] == port)
			return true;
	return false;
}

bool ab_addr_from_peer_ok(const ab_addr_t *a, const ab_addr_t *src)
{
	ch_addr_class_t cls;

	if (!ab_addr_valid(a) || bad_port(a->port))
		return false;
	cls = ch_addr_class(a->ip);
	return cls == CH_ADDR_PUBLIC || cls == ch_addr_class(src->ip);
}

/* ab_group_of / ab_group_eq / ab_group_str: common/netgroup's groups. */
void ab_group_of(const ab_addr_t *a, ch_netgroup_mode_t mode, ab_group_t *g)
{
	ch_netgroup_of(a->ip, a->port, mode, g);
}

bool ab_group_eq(const ab_group_t *a, const ab_group_t *b)
{
	return ch_netgroup_eq(a, b);
}

const char *ab_group_str(const ab_group_t *g, char *buf, size_t cap)
{
	return ch_netgroup_str(g, buf, cap);
}

/* ---------------------------------------------------------------- hashing */

/* khash: SipHash-2-4 under the book's key: where an address lands is
 * unpredictable to anyone without the key. */
static uint64_t khash(const ab_t *b, const void *data, size_t len)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t v = 0;

	crypto_shorthash(out, data, len, b->key);
	for (int i = 7; i >= 0; i--)
		v = v << 8 | out[i];
	return v;
}

/* tried_bucket: Bitcoin's GetTriedBucket: an address group reaches at most
 * AB_TRIED_BUCKETS_PER_GROUP buckets. */
static uint32_t tried_bucket(const ab_t *b, const ab_addr_t *a)
{
	uint8_t buf[1 + 18 + sizeof(ab_group_t) + 8];
	ab_group_t g;
	uint64_t h1;

	buf[0] = 'T';
	memcpy(buf + 1, a->ip, 16);
	buf[17] = (uint8_t)(a->port >> 8);
	buf[18] = (uint8_t)a->port;
	h1 = khash(b, buf, 19) % AB_TRIED_BUCKETS_PER_GROUP;
	ab_group_of(a, b->netgroup, &g);
	buf[0] = 't';
	memcpy(buf + 1, g.b, sizeof(g.b));
	memcpy(buf + 1 + sizeof(g.b), &h1, 8);
	return (uint32_t)(khash(b, buf, 1 + sizeof(g.b) + 8) % AB_TRIED_BUCKETS);
}

/* new_bucket: Bitcoin's GetNewBucket: a source group reaches at most
 * AB_NEW_BUCKETS_PER_SRC buckets, and one (address group, source group)
 * pair always the same one. */
static uint32_t new_bucket(const ab_t *b, const ab_addr_t *a, const ab_addr_t *src)
{
	uint8_t buf[1 + 2 * sizeof(ab_group_t) + 8];
	ab_group_t ga, gs;
	uint64_t h1;

	ab_group_of(a, b->netgroup, &ga);
	ab_group_of(src, b->netgroup, &gs);
	buf[0] = 'N';
	memcpy(buf + 1, ga.b, sizeof(ga.b));
	memcpy(buf + 1 + sizeof(ga.b), gs.b, sizeof(gs.b));
	h1 = khash(b, buf, 1 + 2 * sizeof(ab_group_t)) % AB_NEW_BUCKETS_PER_SRC;
	buf[0] = 'n';
	memcpy(buf + 1, gs.b, sizeof(gs.b));
	memcpy(buf + 1 + sizeof(gs.b), &h1, 8);
	return (uint32_t)(khash(b, buf, 1 + sizeof(gs.b) + 8) % AB_NEW_BUCKETS);
}

/* bucket_pos: Bitcoin's GetBucketPosition: the slot of an address in a
 * bucket of either table. */
static uint32_t bucket_pos(const ab_t *b, bool is_new, uint32_t bucket, const ab_addr_t *a)
{
	uint8_t buf[1 + 4 + 18];

	buf[0] = is_new ? 'P' : 'p';
	memcpy(buf + 1, &bucket, 4);
	memcpy(buf + 5, a->ip, 16);
	buf[21] = (uint8_t)(a->port >> 8);
	buf[22] = (uint8_t)a->port;
	return (uint32_t)(khash(b, buf, sizeof(buf)) % AB_BUCKET_SIZE);
}

/* addr_head: the hash chain of an address (unkeyed would do, but the key
 * keeps chain lengths out of an attacker's hands too). */
static uint32_t addr_head(const ab_t *b, const ab_addr_t *a)
{
	uint8_t buf[18];

	memcpy(buf, a->ip, 16);
	buf[16] = (uint8_t)(a->port >> 8);
	buf[17] = (uint8_t)a->port;
	return (uint32_t)(khash(b, buf, sizeof(buf)) & (AB_HASH_HEADS - 1));
}

/* rnd: n random bytes from the injected source. */
static void rnd(ab_t *b, void *buf, size_t n)
{
	if (b->rand != NULL)
		b->rand(b->rand_arg, buf, n);
	else
		randombytes_buf(buf, n);
}

/* rnd_below: a random number in [0, n) (n > 0). */
static uint32_t rnd_below(ab_t *b, uint32_t n)
{
	uint64_t r;

	rnd(b, &r, sizeof(r));
	return (uint32_t)(r % n);
}

/* rnd_unit: a random double in [0, 1). */
static double rnd_unit(ab_t *b)
{
	uint64_t r;

	rnd(b, &r, sizeof(r));
	return (double)(r >> 11) * (1.0 / 9007199254740992.0);
}

/* ---------------------------------------------------------------- entries */

/* find_idx: the index of addr's entry, or -1. */
static int32_t find_idx(const ab_t *b, const ab_addr_t *a)
{
	for (int32_t i = b->heads[addr_head(b, a)]; i >= 0; i = b->e[i].hnext)
		if (ab_addr_eq(&b->e[i].addr, a))
			return i;
	return -1;
}

/* grow: doubles the entry array and the table lists together (the lists
 * hold at most every entry). */
static int grow(ab_t *b)
{
	uint32_t cap = b->ecap ? b->ecap * 2 : AB_FIRST_CAP;
	ab_entry_t *e;

	if (b->ecap >= AB_MAX_ENTRIES)
		return CH_ENOMEM;
	if (cap > AB_MAX_ENTRIES)
		cap = AB_MAX_ENTRIES;
	e = realloc(b->e, cap * sizeof(*e));
	if (e == NULL)
		return CH_ENOMEM;
	b->e = e;
	for (int t = AB_NEW; t <= AB_TRIED; t++) {
		int32_t *l = realloc(b->list[t], cap * sizeof(*l));

		if (l == NULL)
			return CH_ENOMEM;
		b->list[t] = l;
	}
	b->ecap = cap;
	return 0;
}

/* list_add / list_del: an entry joins or leaves its table's dense list. */
static void list_add(ab_t *b, int32_t id, ab_table_t t)
{
	b->e[id].lpos = b->nlist[t];
	b->list[t][b->nlist[t]++] = id;
}

/* list_del: swap-remove, keeping the moved entry's position right. */
static void list_del(ab_t *b, int32_t id, ab_table_t t)
{
	uint32_t pos = b->e[id].lpos, last = --b->nlist[t];

	b->list[t][pos] = b->list[t][last];
	b->e[b->list[t][pos]].lpos = pos;
}

/* coll_del: drops collision number i (swap with the last). */
static void coll_del(ab_t *b, uint32_t i)
{
	b->e[b->coll[i]].cpend = 0;
	b->coll[i] = b->coll[--b->ncoll];
	if (i < b->ncoll)
		b->e[b->coll[i]].cpend = i + 1;
}

/* entry_create: a fresh entry for addr in the new list, in no bucket yet
 * (the caller places it or deletes it).  -1 if the array is full. */
static int32_t entry_create(ab_t *b, const ab_addr_t *a, const ab_addr_t *src, uint64_t seen)
{
	int32_t id;
	uint32_t h;

	if (b->freehead >= 0) {
		id = b->freehead;
		b->freehead = b->e[id].hnext;
	} else {
		if (b->ehigh == b->ecap && grow(b) != 0)
			return -1;
		id = (int32_t)b->ehigh++;
	}
	memset(&b->e[id], 0, sizeof(b->e[id]));
	b->e[id].addr = *a;
	b->e[id].src = *src;
	b->e[id].seen_ms = seen;
	b->e[id].live = true;
	h = addr_head(b, a);
	b->e[id].hnext = b->heads[h];
	b->heads[h] = id;
	list_add(b, id, AB_NEW);
	return id;
}

/* entry_delete: unlinks an entry that no slot holds any more. */
static void entry_delete(ab_t *b, int32_t id)
{
	ab_entry_t *e = &b->e[id];
	int32_t *pp = &b->heads[addr_head(b, &e->addr)];

	while (*pp != id)
		pp = &b->e[*pp].hnext;
	*pp = e->hnext;
	list_del(b, id, e->tried ? AB_TRIED : AB_NEW);
	if (e->cpend)
		coll_del(b, e->cpend - 1);
	e->live = false;
	e->hnext = b->freehead;
	b->freehead = id;
	b->dirty = true;
}

/* clear_new_slot: empties one new slot; its occupant loses a reference
 * and is deleted with its last one. */
static void clear_new_slot(ab_t *b, uint32_t slot)
{
	int32_t id = b->newtab[slot];

	if (id < 0)
		return;
	b->newtab[slot] = -1;
	if (--b->e[id].refs == 0)
		entry_delete(b, id);
}

/* place_new: puts entry id into the new slot its source gives, unless an
 * occupant that is neither terrible nor multiply referenced holds it.
 * true if placed (or already there). */
static bool place_new(ab_t *b, int32_t id, const ab_addr_t *src, uint64_t now)
{
	ab_entry_t *e = &b->e[id];
	uint32_t bk = new_bucket(b, &e->addr, src);
	uint32_t slot = bk * AB_BUCKET_SIZE + bucket_pos(b, true, bk, &e->addr);
	int32_t occ = b->newtab[slot];

	if (occ == id)
		return true;
	if (occ >= 0) {
		const ab_entry_t *o = &b->e[occ];

		if (!ab_is_terrible(o, now) && !(o->refs > 1 && e->refs == 0))
			return false;
		clear_new_slot(b, slot);
	}
	b->newtab[slot] = id;
	b->e[id].refs++;
	b->dirty = true;
	return true;
}

/* remove_from_new: clears every new slot holding id (up to refs of them). */
static void remove_from_new(ab_t *b, int32_t id)
{
	const ab_addr_t *a = &b->e[id].addr;

	for (uint32_t bk = 0; bk < AB_NEW_BUCKETS && b->e[id].refs > 0; bk++) {
		uint32_t slot = bk * AB_BUCKET_SIZE + bucket_pos(b, true, bk, a);

		if (b->newtab[slot] == id) {
			b->newtab[slot] = -1;
			b->e[id].refs--;
		}
	}
	b->e[id].refs = 0;
}

/* make_tried: Bitcoin's MakeTried: id leaves new for its tried slot; an
 * occupant is moved back to new (to the bucket of its source). */
static void make_tried(ab_t *b, int32_t id)
{
	ab_entry_t *e = &b->e[id];
	uint32_t tb = tried_bucket(b, &e->addr);
	uint32_t tslot = tb * AB_BUCKET_SIZE + bucket_pos(b, false, tb, &e->addr);
	int32_t old = b->tried[tslot];

	remove_from_new(b, id);
	list_del(b, id, AB_NEW);
	if (e->cpend)
		coll_del(b, e->cpend - 1);
	if (old >= 0) {
		ab_entry_t *o = &b->e[old];
		uint32_t nb = new_bucket(b, &o->addr, &o->src);
		uint32_t nslot = nb * AB_BUCKET_SIZE + bucket_pos(b, true, nb, &o->addr);

		b->tried[tslot] = -1;
		list_del(b, old, AB_TRIED);
		o->tried = false;
		list_add(b, old, AB_NEW);
		clear_new_slot(b, nslot);
		b->newtab[nslot] = old;
		o->refs = 1;
	}
	b->tried[tslot] = id;
	e->tried = true;
	list_add(b, id, AB_TRIED);
	b->dirty = true;
}

/* ---------------------------------------------------------------- public */

/* ab_new: the tables are allocated whole (fixed geometry), entries grow. */
ab_t *ab_new(const ab_config_t *cfg)
{
	ab_t *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	if (cfg != NULL) {
		b->rand = cfg->rand;
		b->rand_arg = cfg->rand_arg;
		b->netgroup = cfg->netgroup;
	}
	b->freehead = -1;
	b->heads = malloc(AB_HASH_HEADS * sizeof(int32_t));
	b->newtab = malloc((size_t)AB_NEW_BUCKETS * AB_BUCKET_SIZE * sizeof(int32_t));
	b->tried = malloc((size_t)AB_TRIED_BUCKETS * AB_BUCKET_SIZE * sizeof(int32_t));
	if (b->heads == NULL || b->newtab == NULL || b->tried == NULL || grow(b) != 0) {
		ab_destroy(&b);
		return NULL;
	}
	memset(b->heads, 0xff, AB_HASH_HEADS * sizeof(int32_t));
	memset(b->newtab, 0xff, (size_t)AB_NEW_BUCKETS * AB_BUCKET_SIZE * sizeof(int32_t));
	memset(b->tried, 0xff, (size_t)AB_TRIED_BUCKETS * AB_BUCKET_SIZE * sizeof(int32_t));
	rnd(b, b->key, sizeof(b->key));
	return b;
}

/* ab_destroy: frees everything; safe twice. */
void ab_destroy(ab_t **bp)
{
	ab_t *b;

	if (bp == NULL || *bp == NULL)
		return;
	b = *bp;
	free(b->e);
	free(b->heads);
	free(b->newtab);
	free(b->tried);
	free(b->list[AB_NEW]);
	free(b->list[AB_TRIED]);
	sodium_memzero(b->key, sizeof(b->key));
	free(b);
	*bp = NULL;
}

/* ab_add: Bitcoin's AddSingle. */
int ab_add(ab_t *b, const ab_addr_t *addr, const ab_addr_t *src, uint64_t seen_ms, uint64_t now_ms,
           bool *added)
{
	int32_t id;
	bool placed;

	if (added != NULL)
		*added = false;
	if (b == NULL || addr == NULL || src == NULL || !ab_addr_valid(addr) || !ab_addr_valid(src))
		return CH_EINVAL;
	if (seen_ms > now_ms)
		seen_ms = now_ms; /* nobody is seen in the future */
	id = find_idx(b, addr);
	if (id >= 0) {
		ab_entry_t *e = &b->e[id];

		if (seen_ms > e->seen_ms) {
			e->seen_ms = seen_ms;
			b->dirty = true;
		}
		if (e->tried || e->refs >= AB_NEW_REFS_MAX)
			return 0;
		/* each further reference is half as likely as the last */
		if (rnd_below(b, 1u << e->refs) != 0)
			return 0;
		placed = place_new(b, id, src, now_ms);
		if (added != NULL)
			*added = placed;
		return 0;
	}
	id = entry_create(b, addr, src, seen_ms);
	if (id < 0)
		return 0; /* cannot happen while slots bound entries; not kept */
	placed = place_new(b, id, src, now_ms);
	if (!placed)
		entry_delete(b, id);
	if (added != NULL)
		*added = placed;
	return 0;
}

/* ab_good: Bitcoin's Good_ with test_before_evict. */
int ab_good(ab_t *b, const ab_addr_t *addr, const uint8_t *pk, uint64_t now_ms)
{
	int32_t id, occ;
	ab_entry_t *e;
	uint32_t tb, tslot;

	if (b == NULL || addr == NULL || !ab_addr_valid(addr))
		return CH_EINVAL;
	id = find_idx(b, addr);
	if (id < 0) {
		id = entry_create(b, addr, addr, now_ms);
		if (id < 0)
			return CH_ENOMEM;
		tb = tried_bucket(b, addr);
		tslot = tb * AB_BUCKET_SIZE + bucket_pos(b, false, tb, addr);
		if (b->tried[tslot] < 0) {
			make_tried(b, id); /* straight in: no new slot needed */
		} else if (!place_new(b, id, addr, now_ms)) {
			entry_delete(b, id);
			return CH_ENOMEM;
		}
	}
	e = &b->e[id];
	e->success_ms = e->try_ms = e->seen_ms = now_ms;
	e->attempts = 0;
	if (pk != NULL) {
		e->has_pk = true;
		memcpy(e->pk, pk, 32);
	}
	b->dirty = true;
	if (e->tried)
		return 0;
	tb = tried_bucket(b, addr);
	tslot = tb * AB_BUCKET_SIZE + bucket_pos(b, false, tb, addr);
	occ = b->tried[tslot];
	if (occ >= 0 && occ != id) {
		/* test before evict: the occupant gets a chance to answer */
		if (!e->cpend && b->ncoll < AB_COLLISIONS_MAX) {
			b->coll[b->ncoll++] = id;
			e->cpend = b->ncoll;
		}
		return 0;
	}
	make_tried(b, id);
	return 0;
}

/* ab_attempt: a failed connection counts toward "terrible" and lowers
 * the chance of being picked. */
int ab_attempt(ab_t *b, const ab_addr_t *addr, uint64_t now_ms)
{
	int32_t id = b != NULL && addr != NULL ? find_idx(b, addr) : -1;

	if (id < 0)
		return CH_ENOENT;
	b->e[id].try_ms = now_ms;
	b->e[id].attempts++;
	b->dirty = true;
	return 0;
}

/* ab_remove: an address found to be ourselves leaves the book. */
int ab_remove(ab_t *b, const ab_addr_t *addr)
{
	int32_t id = b != NULL && addr != NULL ? find_idx(b, addr) : -1;

	if (id < 0)
		return CH_ENOENT;
	if (b->e[id].tried) {
		uint32_t tb = tried_bucket(b, addr);

		b->tried[tb * AB_BUCKET_SIZE + bucket_pos(b, false, tb, addr)] = -1;
	} else {
		remove_from_new(b, id);
	}
	entry_delete(b, id);
	return 0;
}

/* ab_find: lookups for the policy (backoff, keys). */
const ab_entry_t *ab_find(const ab_t *b, const ab_addr_t *addr)
{
	int32_t id = b != NULL && addr != NULL ? find_idx(b, addr) : -1;

	return id >= 0 ? &b->e[id] : NULL;
}

/* ab_is_terrible: Bitcoin's IsTerrible. */
bool ab_is_terrible(const ab_entry_t *e, uint64_t now_ms)
{
	if (e->try_ms != 0 && now_ms - e->try_ms < AB_RECENT_TRY_MS && e->try_ms <= now_ms)
		return false; /* tried in the last minute: give it its chance */
	if (e->seen_ms > now_ms + 10 * 60 * 1000ull)
		return true; /* from the future */
	if (e->seen_ms == 0 || (e->seen_ms <= now_ms && now_ms - e->seen_ms > AB_HORIZON_MS))
		return true;
	if (e->success_ms == 0 && e->attempts >= AB_RETRIES)
		return true;
	if (e->success_ms <= now_ms && now_ms - e->success_ms > AB_MIN_FAIL_MS &&
	    e->attempts >= AB_MAX_FAILURES)
		return true;
	return false;
}

/* ab_chance: Bitcoin's GetChance. */
double ab_chance(const ab_entry_t *e, uint64_t now_ms)
{
	double c = 1.0;

	if (e->try_ms != 0 && now_ms >= e->try_ms && now_ms - e->try_ms < 10 * 60 * 1000ull)
		c *= 0.01;
	for (uint32_t i = 0; i < e->attempts && i < 8; i++)
		c *= 0.66;
	return c;
}

/* ab_select: Bitcoin's Select_: random picks with a growing acceptance
 * factor, so low-chance entries are still reached eventually. */
const ab_entry_t *ab_select(ab_t *b, ab_table_t t, ab_filter_fn filter, void *arg, uint64_t now_ms)
{
	double factor = 1.0;

	if (b == NULL)
		return NULL;
	for (int tries = 0; tries < AB_SELECT_TRIES; tries++) {
		ab_table_t which = t;
		const ab_entry_t *e;

		if (which == AB_ANY) {
			if (b->nlist[AB_NEW] == 0 && b->nlist[AB_TRIED] == 0)
				return NULL;
			if (b->nlist[AB_NEW] == 0)
				which = AB_TRIED;
			else if (b->nlist[AB_TRIED] == 0)
				which = AB_NEW;
			else
				which = rnd_below(b, 2) ? AB_TRIED : AB_NEW;
		}
		if (b->nlist[which] == 0)
			return NULL;
		e = &b->e[b->list[which][rnd_below(b, b->nlist[which])]];
		if (filter != NULL && !filter(arg, e))
			continue;
		if (rnd_unit(b) < factor * ab_chance(e, now_ms))
			return e;
		factor *= 1.2;
	}
	return NULL;
}

/* ab_sample: reservoir sampling over every entry: exact and uniform, and
 * cheap enough at AB_MAX_ENTRIES for the rate GETPEERS arrive at. */
size_t ab_sample(ab_t *b, ab_filter_fn filter, void *arg, const ab_entry_t **out, size_t max)
{
	size_t n = 0, seen = 0;

	if (b == NULL || max == 0)
		return 0;
	for (uint32_t i = 0; i < b->ehigh; i++) {
		const ab_entry_t *e = &b->e[i];

		if (!e->live || (filter != NULL && !filter(arg, e)))
			continue;
		seen++;
		if (n < max) {
			out[n++] = e;
		} else {
			uint32_t j =
			    rnd_below(b, (uint32_t)(seen < UINT32_MAX ? seen : UINT32_MAX));

			if (j < max)
				out[j] = e;
		}
	}
	return n;
}

/* ab_collision_to_test: Bitcoin's SelectTriedCollision. */
const ab_entry_t *ab_collision_to_test(ab_t *b)
{
	const ab_entry_t *e;
	uint32_t tb;
	int32_t occ;

	if (b == NULL || b->ncoll == 0)
		return NULL;
	e = &b->e[b->coll[rnd_below(b, b->ncoll)]];
	tb = tried_bucket(b, &e->addr);
	occ = b->tried[tb * AB_BUCKET_SIZE + bucket_pos(b, false, tb, &e->addr)];
	return occ >= 0 ? &b->e[occ] : NULL;
}

/* ab_resolve_collisions: Bitcoin's ResolveCollisions. */
void ab_resolve_collisions(ab_t *b, uint64_t now_ms)
{
	uint32_t i = 0;

	if (b == NULL)
		return;
	while (i < b->ncoll) {
		int32_t id = b->coll[i];
		ab_entry_t *e = &b->e[id];
		uint32_t tb = tried_bucket(b, &e->addr);
		int32_t occ = b->tried[tb * AB_BUCKET_SIZE + bucket_pos(b, false, tb, &e->addr)];
		bool done = false;

		if (e->tried || occ < 0) {
			if (!e->tried)
				make_tried(b, id); /* also drops the collision */
			else
				coll_del(b, i);
			continue;
		}
		const ab_entry_t *o = &b->e[occ];

		if (o->success_ms != 0 && now_ms - o->success_ms < AB_REPLACEMENT_MS) {
			done = true; /* the occupant works: keep it */
		} else if (o->try_ms != 0 && now_ms - o->try_ms < AB_REPLACEMENT_MS) {
			/* it was tried and failed: give it a minute, then replace */
			if (now_ms - o->try_ms > AB_COLLISION_WAIT_MS) {
				make_tried(b, id);
				continue;
			}
		} else if (now_ms - e->success_ms > AB_TEST_WINDOW_MS) {
			make_tried(b, id); /* never tested in time: evict anyway */
			continue;
		}
		if (done)
			coll_del(b, i);
		else
			i++;
	}
}

/* ab_count: sizes for status and the seed rule. */
size_t ab_count(const ab_t *b, ab_table_t t)
{
	if (b == NULL)
		return 0;
	if (t == AB_ANY)
		return b->nlist[AB_NEW] + b->nlist[AB_TRIED];
	return b->nlist[t];
}

/* ab_collisions: pending tests, for status. */
size_t ab_collisions(const ab_t *b)
{
	return b != NULL ? b->ncoll : 0;
}

/* ab_foreach: the per-group counts of the addrbook command. */
void ab_foreach(const ab_t *b, void (*fn)(void *arg, const ab_entry_t *e), void *arg)
{
	for (uint32_t i = 0; b != NULL && i < b->ehigh; i++)
		if (b->e[i].live)
			fn(arg, &b->e[i]);
}

/* ab_dirty: the service saves only a changed book. */
bool ab_dirty(const ab_t *b)
{
	return b != NULL && b->dirty;
}

/* ---------------------------------------------------------------- file */

/* put_u16 / put_u32 / put_u64 and get_*: little-endian fields. */
static uint8_t *put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

/* put_u32: little-endian, like every field of the file. */
static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + 4;
}

/* put_u64: little-endian. */
static uint8_t *put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + 8;
}

/* get_u16: little-endian. */
static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* get_u32: little-endian. */
static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* get_u64: little-endian. */
static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ab_save: tmp, fsync, rename: a crash leaves the old file or the new. */
int ab_save(ab_t *b, const char *path)
{
	size_t n = ab_count(b, AB_ANY), len = AB_FILE_HDR + n * AB_FILE_ENTRY + 32;
	uint8_t *buf = malloc(len), *p = buf;
	int rc;

	if (buf == NULL)
		return CH_EIO;
	memcpy(p, AB_FILE_MAGIC, 4);
	p = put_u32(p + 4, AB_FILE_VERSION);
	memcpy(p, b->key, AB_KEY_LEN);
	p = put_u32(p + AB_KEY_LEN, (uint32_t)n);
	for (uint32_t i = 0; i < b->ehigh; i++) {
		const ab_entry_t *e = &b->e[i];

		if (!e->live)
			continue;
		memcpy(p, e->addr.ip, 16);
		p = put_u16(p + 16, e->addr.port);
		memcpy(p, e->src.ip, 16);
		p = put_u16(p + 16, e->src.port);
		p = put_u64(p, e->seen_ms);
		p = put_u64(p, e->try_ms);
		p = put_u64(p, e->success_ms);
		p = put_u32(p, e->attempts);
		*p++ = (uint8_t)((e->tried ? 1 : 0) | (e->has_pk ? 2 : 0));
		memcpy(p, e->pk, 32);
		p += 32;
	}
	ch_blake2b256(p, buf, (size_t)(p - buf));
	rc = ch_file_write_atomic(path, buf, len, 0600, 1);
	free(buf);
	if (rc == 0)
		b->dirty = false;
	return rc;
}

/* load_entry: one record back into the book (tried first, then new). */
static void load_entry(ab_t *b, const uint8_t *p, bool want_tried, uint64_t now)
{
	ab_addr_t a, s;
	uint8_t flags = p[16 + 2 + 16 + 2 + 8 + 8 + 8 + 4];
	int32_t id;

	if (((flags & 1) != 0) != want_tried)
		return;
	memcpy(a.ip, p, 16);
	a.port = get_u16(p + 16);
	memcpy(s.ip, p + 18, 16);
	s.port = get_u16(p + 34);
	if (!ab_addr_valid(&a) || !ab_addr_valid(&s) || find_idx(b, &a) >= 0)
		return;
	id = entry_create(b, &a, &s, get_u64(p + 36));
	if (id < 0)
		return;
	b->e[id].try_ms = get_u64(p + 44);
	b->e[id].success_ms = get_u64(p + 52);
	b->e[id].attempts = get_u32(p + 60);
	b->e[id].has_pk = (flags & 2) != 0;
	memcpy(b->e[id].pk, p + 65, 32);
	if (want_tried) {
		uint32_t tb = tried_bucket(b, &a);

		if (b->tried[tb * AB_BUCKET_SIZE + bucket_pos(b, false, tb, &a)] < 0) {
			make_tried(b, id);
			return;
		}
	}
	if (!place_new(b, id, &s, now))
		entry_delete(b, id);
}

/* ab_load: checks everything before taking anything. */
int ab_load(ab_t *b, const char *path, uint64_t now_ms)
{
	uint8_t *buf = NULL, sum[32];
	size_t len = 0;
	uint32_t n;
	int rc;

	if (b == NULL || path == NULL || ab_count(b, AB_ANY) != 0)
		return CH_EINVAL;
	rc = ch_file_read_all(path, AB_FILE_MAX, &buf, &len);
	if (rc == CH_ERANGE)
		return CH_EPROTO; /* too large to be ours: corrupt */
	if (rc != 0)
		return rc;
	rc = CH_EPROTO;
	if (len < AB_FILE_HDR + 32 || memcmp(buf, AB_FILE_MAGIC, 4) != 0 ||
	    get_u32(buf + 4) != AB_FILE_VERSION)
		goto out;
	n = get_u32(buf + 8 + AB_KEY_LEN);
	if (n > AB_MAX_ENTRIES || len != AB_FILE_HDR + (size_t)n * AB_FILE_ENTRY + 32)
		goto out;
	ch_blake2b256(sum, buf, len - 32);
	if (sodium_memcmp(sum, buf + len - 32, 32) != 0)
		goto out;
	memcpy(b->key, buf + 8, AB_KEY_LEN);
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < n; i++)
			load_entry(b, buf + AB_FILE_HDR + (size_t)i * AB_FILE_ENTRY, pass == 0,
			           now_ms);
	b->dirty = false;
	rc = 0;
out:
	free(buf);
	return rc;
}
