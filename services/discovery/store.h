/* store.h: what a DHT node stores for others: announced peers (BEP 5) and
 * BEP 44 items, bounded and expiring.
 *
 * Bounds (dht_st_limits_t, every one a cap a peer cannot raise): items by
 * count and by bytes, items per source IP, info-hashes, peers per
 * info-hash, peers in all, announcements per source IP.  When the item
 * store is full a new item enters only if its target is nearer our id
 * than the farthest stored item, which is evicted: a node keeps what it is
 * most responsible for.  When peers are full, new info-hashes are refused.
 *
 * Expiry: items after ST_ITEM_TTL_NS (BEP 44: "MAY expire in 2 hours")
 * unless put again; peers after ST_PEER_TTL_NS.  A mutable item replaces
 * a stored one only with a higher seq (or the same seq and value, which
 * refreshes it), and only if cas, when given, equals the stored seq (BEP 44
 * errors 301 and 302).  Signatures are checked by the caller before.
 *
 * Items and info-hashes are kept in arrays sorted by target (binary
 * search).  Time is passed in; no I/O.  One thread at a time. */
#ifndef CH_DHT_STORE_H
#define CH_DHT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_ID_LEN 20
/* BEP 44: items may expire after 2 hours without a put. */
#define ST_ITEM_TTL_NS (2ull * 3600 * 1000000000ull)
/* Announced peers expire after 30 minutes (announcers repeat every 15). */
#define ST_PEER_TTL_NS (30ull * 60 * 1000000000ull)
/* Largest value and salt stored (BEP 44). */
#define ST_V_MAX    1000
#define ST_SALT_MAX 64

/* Store outcomes that are not 0 (the BEP error code to answer with). */
enum st_code {
	ST_E_FULL = 202, /* storage full or per-source limit: "server error" */
	ST_E_CAS = 301,
	ST_E_SEQ = 302,
};

typedef struct dht_st_limits {
	uint32_t max_items;           /* items in all */
	uint64_t max_item_bytes;      /* sum of value and salt lengths */
	uint32_t max_items_per_ip;    /* items last put by one source IP */
	uint32_t max_swarms;          /* distinct info-hashes with peers */
	uint32_t max_peers_per_swarm; /* peers under one info-hash */
	uint32_t max_peers;           /* peers in all */
	uint32_t max_peers_per_ip;    /* peers announced from one source IP */
} dht_st_limits_t;

/* Defaults: about 2.5 MB at most for items, 0.2 MB for peers. */
#define ST_DEFAULT_MAX_ITEMS           2048
#define ST_DEFAULT_MAX_ITEM_BYTES      (2u << 20)
#define ST_DEFAULT_MAX_ITEMS_PER_IP    64
#define ST_DEFAULT_MAX_SWARMS          1024
#define ST_DEFAULT_MAX_PEERS_PER_SWARM 128
#define ST_DEFAULT_MAX_PEERS           8192
#define ST_DEFAULT_MAX_PEERS_PER_IP    256

/* dht_st_limits_default: the defaults above. */
void dht_st_limits_default(dht_st_limits_t *l);

typedef struct dht_st_item {
	uint8_t target[ST_ID_LEN];
	bool mut;
	int64_t seq;
	uint8_t k[32];
	uint8_t sig[64];
	uint8_t salt[ST_SALT_MAX];
	uint8_t saltlen;
	uint32_t src_ip;  /* network order; 0 for our own items */
	uint64_t expires; /* monotonic ns */
	uint16_t vlen;
	uint8_t v[]; /* the verbatim bencoded value */
} dht_st_item_t;

typedef struct dht_st_peer {
	uint32_t ip; /* network order */
	uint16_t port;
	uint64_t expires;
} dht_st_peer_t;

typedef struct dht_st_swarm {
	uint8_t ih[ST_ID_LEN];
	uint32_t n, cap;
	dht_st_peer_t *peers;
} dht_st_swarm_t;

typedef struct dht_st_stats {
	uint64_t items_put, items_refreshed, items_rejected_full, items_rejected_ip;
	uint64_t items_evicted, items_expired, cas_mismatch, seq_outdated;
	uint64_t peers_added, peers_rejected, peers_expired;
} dht_st_stats_t;

typedef struct dht_store {
	uint8_t self[ST_ID_LEN];
	dht_st_limits_t lim;
	dht_st_item_t **items; /* sorted by target */
	uint32_t nitems, cap_items;
	uint64_t item_bytes;
	dht_st_swarm_t **swarms; /* sorted by info-hash */
	uint32_t nswarms, cap_swarms;
	uint32_t npeers;
	dht_st_stats_t stats;
} dht_store_t;

/* A put, as received (pointers into the packet). */
typedef struct dht_st_put {
	const uint8_t *target;
	bool mut;
	int64_t seq;
	const uint8_t *k, *sig; /* mutable: 32 and 64 bytes */
	const uint8_t *salt;
	size_t saltlen; /* <= ST_SALT_MAX */
	const uint8_t *v;
	size_t vlen; /* <= ST_V_MAX */
	bool has_cas;
	int64_t cas;
	uint32_t src_ip;
} dht_st_put_t;

/* dht_st_init: an empty store around our id with limits lim (NULL: defaults).
 * Allocates nothing until the first put. */
void dht_st_init(dht_store_t *st, const uint8_t self[ST_ID_LEN], const dht_st_limits_t *lim);

/* dht_st_free: releases everything; safe twice. */
void dht_st_free(dht_store_t *st);

/* dht_st_item_put: stores or updates an item at now.  Returns 0; ST_E_CAS,
 * ST_E_SEQ (mutable rules), ST_E_FULL (a cap); CH_ENOMEM. */
int dht_st_item_put(dht_store_t *st, const dht_st_put_t *p, uint64_t now);

/* dht_st_item_get: the live item under target, or NULL. */
const dht_st_item_t *dht_st_item_get(const dht_store_t *st, const uint8_t target[ST_ID_LEN],
                                     uint64_t now);

/* dht_st_item_set_expiry: sets the expiry of the item under target (used when
 * reloading persisted items, whose remaining life is known).  Returns 0 or
 * CH_ENOENT. */
int dht_st_item_set_expiry(dht_store_t *st, const uint8_t target[ST_ID_LEN], uint64_t expires);

/* dht_st_announce: records peer (ip, port) under ih at now.  Returns 0;
 * ST_E_FULL (a cap); CH_ENOMEM. */
int dht_st_announce(dht_store_t *st, const uint8_t ih[ST_ID_LEN], uint32_t ip, uint16_t port,
                    uint64_t now);

/* dht_st_peers: writes up to max live peers of ih as 6-byte compact entries
 * into out (6 * max bytes), starting at a rotating offset so that all
 * peers of a large swarm get handed out.  Returns how many. */
uint32_t dht_st_peers(dht_store_t *st, const uint8_t ih[ST_ID_LEN], uint8_t *out, uint32_t max,
                      uint64_t now);

/* dht_st_expire: drops expired items and peers.  Returns how many. */
uint32_t dht_st_expire(dht_store_t *st, uint64_t now);

#endif
