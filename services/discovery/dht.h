/* dht.h: the protocol core of the BitTorrent Mainline DHT (BEP 5, BEP 44).
 *
 * In the manner of jech/dht, the core does no I/O of its own.  The caller
 * gives it datagrams (dht_input) and the time (monotonic ns), and it sends
 * through an injected callback and asks to be called again at a deadline
 * (dht_tick's return).  Randomness is injected too, so a test drives many
 * cores with a simulated network and a simulated clock.  dht_net.h runs
 * cores over real UDP sockets (one or a thousand in one loop).
 *
 * What a core does:
 *   - answers ping, find_node, get_peers, announce_peer, get and put with
 *     BEP 5/44 semantics and error codes (201-207, 301, 302);
 *   - keeps the routing table (rtable.h): pings questionable nodes,
 *     refreshes stale buckets, verifies nodes that query it before they
 *     enter;
 *   - runs iterative lookups (alpha parallel requests, soft and hard
 *     per-request timeouts, termination when the K closest candidates
 *     have answered) for find_node, get_peers, get, and then announce_peer
 *     or put to the K closest that answered;
 *   - stores for others (store.h) with tokens from a secret that rotates
 *     every DHT_TOKEN_ROTATE_NS, the previous one still accepted;
 *   - republishes its own items every DHT_REPUBLISH_NS;
 *   - rate-limits incoming queries with a token bucket.
 *
 * Every table is capped (see the DHT_MAX_* constants and dht_st_limits_t);
 * nothing a peer sends can make it grow beyond them or abort the process.
 *
 * Callbacks (dht_done_fn) run inside dht_input or dht_tick; a callback may
 * start new operations or cancel others, but must not destroy the core.
 *
 * Threads: one thread at a time per core; distinct cores are
 * independent. */
#ifndef CH_DHT_H
#define CH_DHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "krpc.h"
#include "rtable.h"
#include "store.h"

#define DHT_ID_LEN 20
/* alpha of Kademlia: parallel requests per lookup. */
#define DHT_ALPHA 3
/* Lookups running at once per core (user, refresh, republish). */
#define DHT_MAX_LOOKUPS 256
/* Requests awaiting an answer per core (grown on demand up to this). */
#define DHT_MAX_PENDING 4096
/* Candidates a lookup remembers (nearest kept). */
#define DHT_LOOKUP_CANDS 32
/* Requests one lookup may send in all, however the network answers. */
#define DHT_LOOKUP_MAX_QUERIES 160
/* Peers collected by one get_peers lookup. */
#define DHT_MAX_RESULT_PEERS 64
/* Peers one get_peers reply may add to a result, so one lying node cannot
 * fill it. */
#define DHT_MAX_PEERS_PER_REPLY 16
/* Peers put in one get_peers reply (keeps it under 1.5 KB with nodes). */
#define DHT_MAX_REPLY_PEERS 50
/* Own items republished (dht put from this node). */
#define DHT_MAX_OWN 64
/* Bootstrap addresses remembered. */
#define DHT_MAX_BOOT 16
/* Token length we hand out; secret rotation period (BEP 5: 5 minutes,
 * tokens up to 10 minutes old accepted). */
#define DHT_TOKEN_LEN       8
#define DHT_TOKEN_ROTATE_NS (5ull * 60 * 1000000000ull)
/* BEP 44: re-announce once an hour. */
#define DHT_REPUBLISH_NS (60ull * 60 * 1000000000ull)
/* Maintenance period: one questionable ping, one stale bucket, etc. */
#define DHT_MAINT_NS (1000ull * 1000000ull)
/* Re-bootstrap while the table has fewer than K nodes, this often (a seed
 * that was not up yet when we started is tried again soon). */
#define DHT_REBOOT_NS (5ull * 1000000000ull)

typedef struct dht dht_t;

/* send: hands one datagram to the network; its return is only counted. */
typedef int (*dht_send_fn)(void *arg, const uint8_t *pkt, size_t len, const dht_addr_t *to);
/* rand: fills buf with n random bytes. */
typedef void (*dht_rand_fn)(void *arg, void *buf, size_t n);

typedef struct dht_config {
	uint8_t id[DHT_ID_LEN];
	dht_send_fn send;
	void *send_arg;
	dht_rand_fn rand; /* NULL: libsodium's randombytes_buf */
	void *rand_arg;
	uint32_t alpha;             /* parallel requests per lookup */
	uint32_t soft_timeout_ms;   /* after this a request frees its alpha slot */
	uint32_t req_timeout_ms;    /* after this a request has failed */
	uint32_t lookup_timeout_ms; /* a whole lookup, search and store phases */
	uint32_t max_qps;           /* incoming queries per second (burst 2x) */
	uint32_t max_qps_addr;      /* per source address (qlimit.h; burst 2x; 0: off) */
	uint32_t max_qps_group;     /* per source group (0: off) */
	uint32_t src_slots;         /* sources tracked (qlimit.h) */
	dht_st_limits_t store;
	char version[5]; /* client version sent as "v" (4 bytes), "" for none */
} dht_config_t;

/* dht_config_default: alpha 3, soft 400 ms, hard 2 s, lookup 20 s, 5000
 * queries/s in all, 20 per source address and 100 per source group over
 * 1024 tracked sources, default store limits, version "CH01".  id, send and rand
 * remain for the caller. */
void dht_config_default(dht_config_t *c);

/* A BEP 44 item as fetched or put. */
typedef struct dht_item {
	uint8_t target[DHT_ID_LEN];
	bool mut;
	int64_t seq;
	uint8_t k[32];
	uint8_t sig[64];
	uint8_t salt[KRPC_SALT_MAX];
	size_t saltlen;
	uint8_t v[KRPC_V_MAX];
	size_t vlen;
} dht_item_t;

typedef struct dht_node_info {
	uint8_t id[DHT_ID_LEN];
	dht_addr_t addr;
} dht_node_info_t;

typedef enum dht_op {
	DHT_OP_FIND_NODE = 1,
	DHT_OP_GET_PEERS,
	DHT_OP_ANNOUNCE,
	DHT_OP_GET,
	DHT_OP_PUT,
} dht_op_t;

/* The outcome of an operation, handed to its callback. */
typedef struct dht_result {
	int status; /* 0; CH_ENOENT (get: nothing found; put: nobody to store
	             * at); CH_ETIMEDOUT (lookup deadline) */
	dht_op_t op;
	uint32_t lookup_id;
	uint8_t target[DHT_ID_LEN];
	uint32_t hops;    /* rounds to reach the nearest node that answered */
	uint32_t queries; /* requests sent */
	uint32_t replies;
	uint32_t timeouts;
	uint64_t elapsed_ns;
	dht_node_info_t closest[RT_K]; /* nearest nodes that answered */
	uint32_t nclosest;
	bool found; /* get: a verified item (the highest seq if mutable) */
	dht_item_t item;
	uint8_t peers[DHT_MAX_RESULT_PEERS][KRPC_PEER_LEN];
	dht_addr_t peer_src[DHT_MAX_RESULT_PEERS]; /* the DHT node that named each */
	uint32_t npeers;
	uint32_t stored;       /* announce/put: nodes that acknowledged */
	uint32_t store_errors; /* ... that answered with an error */
	int64_t last_error;    /* the last error code received, 0 if none */
} dht_result_t;

typedef void (*dht_done_fn)(void *arg, const dht_result_t *r);

/* Counters; the service publishes them as metrics. */
typedef struct dht_stats {
	uint64_t pkts_in, bytes_in, pkts_out, bytes_out, send_errors;
	uint64_t malformed[KRPC_ERR_NREASONS]; /* dropped after bencode */
	ben_stats_t bencode;                   /* bencode rejections by reason */
	uint64_t queries_in[KRPC_M_COUNT];
	uint64_t queries_out[KRPC_M_COUNT];
	uint64_t responses_in, errors_in, errors_out, rate_limited;
	uint64_t unmatched;   /* responses with no pending request (late, spoofed) */
	uint64_t src_limited; /* packets over a per-source or per-group limit */
	uint64_t timeouts;
	uint64_t bad_token, bad_sig, bad_item; /* rejected puts/announces, bad gets */
	uint64_t lookups_started, lookups_done, lookups_timed_out;
	uint64_t pending_full, lookups_full;
	uint64_t republished;
} dht_stats_t;

/* One of our own items, kept for republishing. */
typedef struct dht_own {
	dht_item_t item;
	uint64_t next_publish; /* monotonic ns */
	uint32_t stored;       /* nodes that acknowledged the last put */
} dht_own_t;

/* dht_new: a core with configuration cfg at time now.  Returns NULL if
 * memory runs out or cfg lacks send. */
dht_t *dht_new(const dht_config_t *cfg, uint64_t now);

/* dht_destroy: frees the core; pending callbacks are not called.  Safe on
 * NULL; clears *d. */
void dht_destroy(dht_t **d);

/* dht_input: one datagram of len bytes from `from`, received at now. */
void dht_input(dht_t *d, const uint8_t *pkt, size_t len, const dht_addr_t *from, uint64_t now);

/* dht_tick: timers (timeouts, maintenance, republishing) at now.  Returns
 * the monotonic time at which it wants to be called again (<= now +
 * DHT_MAINT_NS). */
uint64_t dht_tick(dht_t *d, uint64_t now);

/* dht_add_bootstrap: remembers a bootstrap address (up to DHT_MAX_BOOT)
 * and pings it.  Returns 0 or CH_ENOMEM (list full). */
int dht_add_bootstrap(dht_t *d, const dht_addr_t *a, uint64_t now);

/* dht_bootstrap: a find_node for our own id from the table and the
 * bootstrap addresses (BEP 5's "upon inserting the first node ...").
 * Returns 0 or a CH_E* code. */
int dht_bootstrap(dht_t *d, uint64_t now);

/* dht_ping: pings addr (id unknown); on an answer the node enters the
 * table.  Returns 0 or CH_ENOMEM (too many pending requests). */
int dht_ping(dht_t *d, const dht_addr_t *addr, uint64_t now);

/* The operations below start a lookup and call cb(arg, result) once when
 * it ends; *id (may be NULL) gets its id for dht_cancel.  They return 0,
 * CH_ENOMEM (DHT_MAX_LOOKUPS reached), or CH_EINVAL (bad arguments). */

/* dht_find_node: the K nodes nearest target. */
int dht_find_node(dht_t *d, const uint8_t target[DHT_ID_LEN], dht_done_fn cb, void *arg,
                  uint64_t now, uint32_t *id);

/* dht_get_peers: peers announced under info-hash ih. */
int dht_get_peers(dht_t *d, const uint8_t ih[DHT_ID_LEN], dht_done_fn cb, void *arg, uint64_t now,
                  uint32_t *id);

/* dht_announce: get_peers, then announce_peer to the K nearest that
 * answered; port 0 sends implied_port (the UDP source port). */
int dht_announce(dht_t *d, const uint8_t ih[DHT_ID_LEN], uint16_t port, dht_done_fn cb, void *arg,
                 uint64_t now, uint32_t *id);

/* dht_get: a BEP 44 item under target, verified: an immutable value must
 * hash to target; a mutable one must have sha1(k + salt) == target and a
 * valid signature (salt: what the getter expects, may be empty).  The
 * highest seq wins; an immutable item ends the lookup at once. */
int dht_get(dht_t *d, const uint8_t target[DHT_ID_LEN], const uint8_t *salt, size_t saltlen,
            dht_done_fn cb, void *arg, uint64_t now, uint32_t *id);

/* dht_put_immutable: stores the bencoded value v (<= 1000 bytes, checked
 * to be one bencoded value) under sha1(v), written to target_out; it is
 * also kept here and republished.  */
int dht_put_immutable(dht_t *d, const uint8_t *v, size_t vlen, dht_done_fn cb, void *arg,
                      uint64_t now, uint8_t target_out[DHT_ID_LEN], uint32_t *id);

/* dht_put_mutable: a get of sha1(pk + salt) first (to learn the current
 * seq), then a put signed with sk of seq = max(highest found + 1,
 * min_seq, our last seq + 1), with cas = the seq each node returned.  The
 * signed item is kept and republished (the key is not kept). */
int dht_put_mutable(dht_t *d, const ch_seckey_t *sk, const uint8_t *salt, size_t saltlen,
                    const uint8_t *v, size_t vlen, int64_t min_seq, dht_done_fn cb, void *arg,
                    uint64_t now, uint8_t target_out[DHT_ID_LEN], uint32_t *id);

/* dht_cancel: stops lookup id; its callback is never called. */
void dht_cancel(dht_t *d, uint32_t id);

/* Read-only views for status, persistence and tests. */
const uint8_t *dht_id(const dht_t *d);
const dht_rtable_t *dht_rtable(const dht_t *d);
const dht_store_t *dht_store(const dht_t *d);
const dht_stats_t *dht_stats(const dht_t *d);
uint32_t dht_lookups_running(const dht_t *d);
uint32_t dht_own_count(const dht_t *d);
const dht_own_t *dht_own_at(const dht_t *d, uint32_t i);

/* dht_make_token: the token we hand to ip now (for tests). */
void dht_make_token(const dht_t *d, uint32_t ip, uint8_t out[DHT_TOKEN_LEN]);

/* dht_item_target: the BEP 44 target of an item: sha1(v) when immutable,
 * sha1(k + salt) when mutable. */
void dht_item_target(bool mut, const uint8_t *k, const uint8_t *salt, size_t saltlen,
                     const uint8_t *v, size_t vlen, uint8_t out[DHT_ID_LEN]);

/* dht_item_verify: checks a mutable item's signature over BEP 44's buffer.
 * Returns 0 or CH_ECRYPTO. */
int dht_item_verify(const uint8_t k[32], const uint8_t sig[64], const uint8_t *salt, size_t saltlen,
                    int64_t seq, const uint8_t *v, size_t vlen);

/* dht_save / dht_load: the routing table, stored items and own items in
 * a bencoded file (persist.c); save writes path.tmp then renames.  load
 * keeps items that have not expired by wall time.  Return 0; CH_EIO;
 * CH_EPROTO (corrupt file: nothing loaded); CH_ENOENT (no file). */
int dht_save(dht_t *d, const char *path, uint64_t now, uint64_t wall_ms);
int dht_load(dht_t *d, const char *path, uint64_t now, uint64_t wall_ms);

/* dht_dirty: true if the state changed since the last dht_save. */
bool dht_dirty(const dht_t *d);

#endif
