/* member.h: membership and the dialing policy (DESIGN.md section 4,
 * docs/discovery.md): which peers this node connects to, fed by the
 * address book (addrbook.h), transport's events and the DHT.
 *
 * What it does, each mb_tick:
 *   1. at start, once transport's peer list is known, dials the anchors
 *      (block-relay-only peers of the previous run, anchors.dat) first;
 *   2. keeps `target` (max-outbound) full outbound connections: picks
 *      addresses from the book (ab_select) whose group no outbound
 *      connection (or dial in flight) uses, never a banned address,
 *      ourselves, a peer already connected, or an address still in its
 *      backoff (MB_BACKOFF_BASE_MS doubling per failure up to
 *      MB_BACKOFF_MAX_MS); the seeds only while the book is too small
 *      (fewer addresses than the target) or yields nothing, each seed
 *      with its own backoff.  A seed connection does not count toward
 *      the target and is closed once the target is met without it
 *      (Bitcoin's -seednode: fetch addresses, then go);
 *   3. then keeps MB_ANCHORS block-relay-only connections to tried
 *      addresses in further groups; they are the anchors saved for the
 *      next start;
 *   4. every MB_FEELER_NS (jittered) makes one feeler connection: to the
 *      occupant of a tried collision (test-before-evict), else to a new
 *      address, which moves to tried if it answers;
 *   5. peer exchange: GETPEERS to each new outbound peer, and while below
 *      the target one GETPEERS every MB_PEX_ASK_NS to a peer not asked in
 *      the last MB_PEX_REASK_NS.
 * GETPEERS from peers are answered with a random sample (at most
 * PEX_REPLY_MAX) of the addresses seen working at first hand in the last
 * MB_PEX_FRESH_MS: connected peers, book entries we connected to, and
 * entries the node itself gave us (an inbound connection, a DHT
 * announcement) with no failed dial since; the answer is cached
 * per requester address for MB_PEX_CACHE_NS.  A PEERS answering our
 * GETPEERS (within MB_PEX_ANSWER_NS) gives up to MB_PEX_SOLICITED_MAX
 * addresses; an unsolicited one only as many as the peer's token bucket
 * holds (MB_PEX_ADDR_RATE per second, burst MB_PEX_ADDR_BURST).  Every
 * address goes to the book, never straight to a dial.
 *
 * The core does no I/O: it asks for dials and sends through mb_io_t and
 * is told what happened; the time (monotonic ns for timers, wall ms for
 * the book) is passed in.  Every table is capped (MB_MAX_*).
 *
 * One thread at a time. */
#ifndef CH_DISC_MEMBER_H
#define CH_DISC_MEMBER_H

#include <stdbool.h>
#include <stdint.h>

#include "addrbook.h"
#include "mp.h"

/* Caps. */
#define MB_MAX_PEERS     1024 /* connections tracked (more are not counted) */
#define MB_MAX_PENDING   64   /* dials in flight */
#define MB_MAX_SEEDS     32   /* configured seeds used */
#define MB_MAX_BANS      4096 /* banned addresses remembered */
#define MB_MAX_SELF      16   /* addresses known to be ourselves */
#define MB_MAX_GROUPS    256  /* outbound groups tracked for diversity */
#define MB_DIAL_LOG      32   /* recent dials shown by `addrbook` */
#define MB_PEX_CACHE_MAX 256  /* cached GETPEERS answers */
#define MB_GONE_MAX      64   /* disconnections remembered while a peer list is on its way */
/* Block-relay-only connections kept, and remembered as anchors. */
#define MB_ANCHORS 2
/* Timers. */
#define MB_NS                (1000000000ull)
#define MB_PEX_CACHE_NS      (30 * MB_NS)
#define MB_PEX_ASK_NS        (3 * MB_NS)
#define MB_PEX_REASK_NS      (30 * MB_NS)
#define MB_PEX_ANSWER_NS     (30 * MB_NS)
#define MB_PEX_FRESH_MS      (3ull * 3600 * 1000)
#define MB_PEX_ADDR_RATE     0.1
#define MB_PEX_ADDR_BURST    10.0
#define MB_PEX_SOLICITED_MAX 1000
#define MB_BACKOFF_BASE_MS   1000ull
#define MB_BACKOFF_MAX_MS    (10ull * 60 * 1000)
#define MB_SEED_BACKOFF_NS   (1 * MB_NS)
#define MB_SEED_BACKOFF_MAX  (60 * MB_NS)
#define MB_FEELER_NS         (30 * MB_NS)
#define MB_RESOLVE_NS        (1 * MB_NS)
#define MB_DROP_RETRY_NS     (5 * MB_NS)
/* Dials started per tick, so one tick stays short; and a token bucket on
 * all dials (a burst for joining, then a steady trickle). */
#define MB_DIALS_PER_TICK 16
#define MB_DIAL_RATE      2.0
#define MB_DIAL_BURST     16.0

typedef enum mb_kind {
	MB_OUTBOUND = 0,    /* full relay */
	MB_FEELER = 1,      /* closed after the handshake */
	MB_BLOCK_RELAY = 2, /* no transactions announced to it; an anchor */
	MB_INBOUND = 3,
} mb_kind_t;

typedef enum mb_result {
	MB_DIALING = 0,
	MB_OK = 1,
	MB_FAILED = 2,
	MB_REFUSED = 3, /* transport refused to dial (banned, bad address) */
} mb_result_t;

/* What the core asks for; each returns 0 or a CH_E* code (the dial is
 * then counted as failed). */
typedef struct mb_io {
	/* connect: ask transport to dial a (with the expected key pk, may be
	 * NULL) as kind, once (no retries of its own) */
	int (*connect)(void *arg, const ab_addr_t *a, const uint8_t *pk, mb_kind_t kind);
	/* send: one frame to one peer */
	int (*send)(void *arg, uint64_t peer, uint8_t type, const uint8_t *payload, size_t len);
	/* disconnect: ask transport to close a connection (a surplus seed) */
	int (*disconnect)(void *arg, uint64_t peer);
	/* anchors_changed: the anchor list changed (save it) */
	void (*anchors_changed)(void *arg);
	void *arg;
} mb_io_t;

typedef struct mb_anchor {
	ab_addr_t addr;
	uint8_t pk[32];
} mb_anchor_t;

typedef struct mb_config {
	uint32_t target;          /* full outbound connections (max-outbound) */
	uint32_t block_relay;     /* block-relay connections (MB_ANCHORS) */
	uint64_t dial_timeout_ns; /* a dial with no outcome by then failed */
	uint8_t self_pk[32];
	ab_addr_t self[MB_MAX_SELF]; /* our listen addresses, if known */
	uint32_t nself;
	ab_addr_t seeds[MB_MAX_SEEDS];
	uint32_t nseeds;
	ab_rand_fn rand; /* NULL: libsodium */
	void *rand_arg;
	ch_netgroup_mode_t netgroup; /* outbound diversity groups (0: auto) */
} mb_config_t;

/* A connection as transport reports it. */
typedef struct mb_peer_info {
	uint64_t handle;
	ab_addr_t addr;       /* the connection's remote address */
	uint16_t listen_port; /* from its hello (0: unknown) */
	bool inbound;
	bool manual; /* a `chorusctl connect` target, not ours */
	mb_kind_t kind;
	bool has_pk;
	uint8_t pk[32];
} mb_peer_info_t;

typedef struct mb_stats {
	uint64_t dials, dial_ok, dial_failed, dial_refused, feelers, seed_dials;
	uint64_t getpeers_in, getpeers_out, getpeers_cached, peers_in, peers_out;
	uint64_t peers_unsolicited, addrs_in, addrs_added, addrs_rate_limited, addrs_bad;
	uint64_t addrs_refused; /* a service port, or non-routable from another class */
	uint64_t pex_malformed, pex_unknown_peer, dht_candidates;
} mb_stats_t;

typedef struct mb mb_t;

/* mb_new: a policy over book (not owned) with config c and io.  NULL if
 * memory runs out. */
mb_t *mb_new(const mb_config_t *c, ab_t *book, const mb_io_t *io);

/* mb_destroy: frees it; safe on NULL; clears *m. */
void mb_destroy(mb_t **m);

/* mb_set_anchors: the anchors read at start (at most MB_ANCHORS), dialed
 * before anything else. */
void mb_set_anchors(mb_t *m, const mb_anchor_t *a, size_t n);

/* mb_get_anchors: the current anchors into out; returns how many. */
size_t mb_get_anchors(const mb_t *m, mb_anchor_t *out, size_t max);

/* Transport's peer list (the `peers` command), which replaces what the
 * core believed: mb_sync_asked when the request leaves, then on the reply
 * mb_sync_begin, mb_sync_peer per connection, mb_sync_end.  Events that
 * arrive in between win over the list (it may be older than they are).
 * Dialing starts after the first complete list.  mb_transport_lost: the
 * list could not be had (transport down): no dialing until the next. */
void mb_sync_asked(mb_t *m, uint64_t now_ns);
void mb_sync_begin(mb_t *m);
void mb_sync_peer(mb_t *m, const mb_peer_info_t *p);
void mb_sync_end(mb_t *m, uint64_t now_ns, uint64_t wall_ms);
void mb_transport_lost(mb_t *m);

/* Transport's events. */
void mb_on_connected(mb_t *m, const mb_peer_info_t *p, uint64_t now_ns, uint64_t wall_ms);
void mb_on_disconnected(mb_t *m, uint64_t handle, uint64_t now_ns);
void mb_on_failed(mb_t *m, const ab_addr_t *a, const char *reason, uint64_t now_ns,
                  uint64_t wall_ms);
void mb_on_feeler_ok(mb_t *m, const ab_addr_t *a, const uint8_t *pk, uint64_t wall_ms);
/* mb_on_dial_refused: transport answered the connect with an error. */
void mb_on_dial_refused(mb_t *m, const ab_addr_t *a, int code, uint64_t wall_ms);
/* mb_on_banned / mb_set_bans: banned addresses (the port is ignored). */
void mb_on_banned(mb_t *m, const ab_addr_t *ip);
void mb_set_bans(mb_t *m, const ab_addr_t *ips, size_t n);
/* mb_on_msg: a GETPEERS or PEERS frame from a peer. */
void mb_on_msg(mb_t *m, uint64_t handle, uint8_t type, const uint8_t *payload, size_t len,
               uint64_t now_ns, uint64_t wall_ms);

/* mb_add_candidates: addresses from the DHT, a[i] named by the DHT node
 * src[i] (its source in the book, so one DHT node reaches only its own
 * source buckets).  Ourselves are skipped.  Returns how many the book did
 * not know before. */
size_t mb_add_candidates(mb_t *m, const ab_addr_t *a, const ab_addr_t *src, size_t n,
                         uint64_t wall_ms);

/* mb_tick: the policy (see the top).  Returns how many actions it took. */
int mb_tick(mb_t *m, uint64_t now_ns, uint64_t wall_ms);

/* mb_below_target: fewer full outbound connections than the target (the
 * DHT is asked more often then). */
bool mb_below_target(const mb_t *m);

/* mb_outbound: full outbound connections now. */
uint32_t mb_outbound(const mb_t *m);

/* mb_stats: counters for metrics. */
const mb_stats_t *mb_stats(const mb_t *m);

/* mb_write_status: the `addrbook` command's result map into w: the book's
 * counts per table and per group, connections, anchors, recent dials,
 * counters; the map header counts `extra` more pairs the caller writes
 * after. */
void mb_write_status(mb_t *m, ch_mpw_t *w, size_t extra, uint64_t now_ns, uint64_t wall_ms);

/* mb_kind_name / mb_kind_parse: "outbound", "feeler", "block-relay",
 * "inbound".  parse returns 0 or CH_EINVAL. */
const char *mb_kind_name(mb_kind_t k);
int mb_kind_parse(const char *s, mb_kind_t *k);

#endif
