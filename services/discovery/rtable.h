/* rtable.h: the Kademlia routing table of BEP 5.
 *
 * Layout.  Buckets are kept by the length of the prefix a node id shares
 * with our own id: bucket i (i < nb - 1) holds nodes whose first differing
 * bit is bit i; the last bucket holds every node sharing at least nb - 1
 * bits, which is the bucket whose range contains our own id.  Only that
 * bucket splits, when it is full and a new good node falls in it (BEP 5's
 * "split the bucket our id falls in"); there are at most 160 buckets.
 * This is the same table as BEP 5's ranges, stored by prefix length.
 *
 * Contents.  Each bucket holds at most RT_K (8) nodes, every one of which
 * has answered one of our queries at least once (nodes that only queried
 * us, or that others told us about, are pinged first and enter on reply),
 * plus a replacement cache of at most RT_REPL nodes that answered when the
 * bucket was full.  A node that fails RT_MAX_FAILS requests in a row is
 * removed and the freshest replacement takes its place.
 *
 * Status (BEP 5): good = answered within RT_GOOD_NS, or answered once and
 * queried us within RT_GOOD_NS; questionable otherwise; bad after
 * RT_MAX_FAILS failures.  dht_rt_next_ping picks a questionable node to ping
 * (least recently seen first), dht_rt_stale_bucket a bucket to refresh.
 *
 * Time is passed in (monotonic ns); the table does no I/O and owns no
 * timers.  One thread at a time per table. */
#ifndef CH_DHT_RTABLE_H
#define CH_DHT_RTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_ID_LEN 20
/* K of Kademlia and BEP 5: nodes per bucket. */
#define RT_K 8
/* Replacement cache per bucket: nodes that answered while it was full. */
#define RT_REPL 8
/* 160-bit ids: at most 160 buckets (prefix lengths 0..159). */
#define RT_MAX_BUCKETS 160
/* Failures in a row after which a node is bad (BEP 5: "try once more
 * before discarding"). */
#define RT_MAX_FAILS 2
/* BEP 5: a node is good for 15 minutes after it answered. */
#define RT_GOOD_NS (15ull * 60 * 1000000000ull)
/* BEP 5: refresh a bucket unchanged for 15 minutes. */
#define RT_REFRESH_NS (15ull * 60 * 1000000000ull)

/* An IPv4 endpoint: address in network byte order, port in host order. */
typedef struct dht_addr {
	uint32_t ip;
	uint16_t port;
} dht_addr_t;

typedef struct dht_rt_node {
	uint8_t id[RT_ID_LEN];
	dht_addr_t addr;
	uint64_t last_reply; /* when it last answered us (0: not in this run) */
	uint64_t last_query; /* when it last queried us */
	uint64_t ping_at;    /* when we pinged it and await the answer (0: none) */
	uint8_t fails;       /* requests in a row without an answer */
} dht_rt_node_t;

typedef struct dht_rt_bucket {
	dht_rt_node_t nodes[RT_K];
	dht_rt_node_t repl[RT_REPL];
	uint8_t n;
	uint8_t nrepl;
	uint64_t changed; /* last time a node was added, replaced or answered */
} dht_rt_bucket_t;

typedef struct dht_rtable {
	uint8_t self[RT_ID_LEN];
	dht_rt_bucket_t *b; /* nb buckets (grown on split) */
	uint32_t nb;
	uint32_t count; /* nodes in buckets (not replacements) */
} dht_rtable_t;

/* What dht_rt_update did. */
typedef enum rt_result {
	RT_IGNORED = 0, /* own id, unknown node on a query or failure, etc. */
	RT_ADDED,       /* now in a bucket */
	RT_UPDATED,     /* was there; times refreshed */
	RT_CACHED,      /* bucket full of good nodes: kept as a replacement */
	RT_REMOVED,     /* failed too often: removed (a replacement moved in) */
	RT_FAILED,      /* one more failure counted */
} dht_rt_result_t;

/* What happened to a node. */
typedef enum rt_event {
	RT_EV_REPLY = 1, /* it answered one of our queries */
	RT_EV_QUERY,     /* it sent us a query */
	RT_EV_TIMEOUT,   /* a query to it went unanswered */
} dht_rt_event_t;

/* dht_rt_init: an empty table (one bucket) around our id.  Returns 0 or
 * CH_ENOMEM. */
int dht_rt_init(dht_rtable_t *rt, const uint8_t self[RT_ID_LEN]);

/* dht_rt_free: releases the buckets; safe twice. */
void dht_rt_free(dht_rtable_t *rt);

/* dht_rt_prefix: the number of leading bits a and b share (160 if equal). */
uint32_t dht_rt_prefix(const uint8_t a[RT_ID_LEN], const uint8_t b[RT_ID_LEN]);

/* dht_rt_bucket_of: the index of the bucket id belongs in. */
uint32_t dht_rt_bucket_of(const dht_rtable_t *rt, const uint8_t id[RT_ID_LEN]);

/* dht_rt_update: records an event about node (id, addr) at time now.
 * REPLY inserts or refreshes it (splitting, replacing a bad node or
 * caching it as a replacement); QUERY refreshes a known node only;
 * TIMEOUT counts a failure and removes the node at RT_MAX_FAILS.  A known
 * id seen from another address keeps its old address while the old one is
 * good (it cannot be hijacked by a spoofed reply).  Returns what it did. */
dht_rt_result_t dht_rt_update(dht_rtable_t *rt, const uint8_t id[RT_ID_LEN], const dht_addr_t *addr,
                              dht_rt_event_t ev, uint64_t now);

/* dht_rt_find: the node with this id, or NULL. */
dht_rt_node_t *dht_rt_find(dht_rtable_t *rt, const uint8_t id[RT_ID_LEN]);

/* dht_rt_wants: true if a node with this id would enter the table (or its
 * replacement cache) were it to answer: used to decide whether a node that
 * queried us deserves a ping. */
bool dht_rt_wants(const dht_rtable_t *rt, const uint8_t id[RT_ID_LEN], uint64_t now);

/* dht_rt_closest: the up to n (<= 64) nodes closest to target by XOR distance,
 * nearest first, bad nodes excluded.  Returns how many were written. */
uint32_t dht_rt_closest(const dht_rtable_t *rt, const uint8_t target[RT_ID_LEN], dht_rt_node_t *out,
                        uint32_t n);

/* dht_rt_next_ping: a questionable node (not answered for RT_GOOD_NS, or never
 * in this run) without a ping in flight, least recently seen first; marks
 * it pinged at now.  Returns false if none. */
bool dht_rt_next_ping(dht_rtable_t *rt, uint64_t now, dht_rt_node_t *out);

/* dht_rt_stale_bucket: the index of a bucket unchanged for RT_REFRESH_NS
 * (and marks it changed at now, so it is not picked again at once).
 * Returns false if none. */
bool dht_rt_stale_bucket(dht_rtable_t *rt, uint64_t now, uint32_t *idx);

/* dht_rt_random_id_in: a random id that falls in bucket idx, from the 20
 * random bytes rnd. */
void dht_rt_random_id_in(const dht_rtable_t *rt, uint32_t idx, const uint8_t rnd[RT_ID_LEN],
                         uint8_t out[RT_ID_LEN]);

/* dht_rt_is_good: BEP 5's good status at now. */
bool dht_rt_is_good(const dht_rt_node_t *n, uint64_t now);

/* dht_rt_xor_cmp: compares the distances of a and b to target: <0 if a is
 * nearer, 0 if equal, >0 if b is nearer. */
int dht_rt_xor_cmp(const uint8_t target[RT_ID_LEN], const uint8_t a[RT_ID_LEN],
                   const uint8_t b[RT_ID_LEN]);

#endif
