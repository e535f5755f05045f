/* transport.h: the transport service's internal types (not a public API).
 *
 * Threads:
 *   - the frame's main thread: command socket, listeners (accept and
 *     admission), dialing, the relay.transport ring (outbound messages are
 *     copied into each peer's outbox), events to PUB;
 *   - io-threads workers, each with its own epoll and its own connections:
 *     handshake, sealed records, frames, keepalive, rate limits; inbound
 *     messages go into the transport.relay ring under ring_lock.
 * Shared between them:
 *   - the peer table (peertab.c): an immutable snapshot published with RCU,
 *     read on every outbound message, replaced on connect/disconnect;
 *   - per peer: the outbox (out_lock), statistics (atomics);
 *   - the event queue (ev_lock), the ban list (bans.c, its own lock),
 *     connection counters (atomics).
 * A peer is freed only by its worker, after it left the table, through
 * call_rcu: a reader inside rcu_read_lock never sees freed memory.
 * RCU flavour: QSBR.  Workers go offline around epoll_wait; the main
 * thread reports a quiescent state every loop turn (tp_work). */
#ifndef CH_TRANSPORT_H
#define CH_TRANSPORT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
/* QSBR: read-side critical sections cost nothing; each thread reports a
 * quiescent state once per loop turn and goes offline while it blocks.
 * bench/peertab_bench.c measured the default flavour's read side slower
 * than an uncontended rwlock on these machines. */
#include <urcu-qsbr.h>

#include "identity.h"
#include "netgroup.h"
#include "noise.h"
#include "service.h"
#include "tbucket.h"
#include "wire.h"

#define TP_MAX_WORKERS 16
#define TP_MAX_LISTEN  4
#define TP_ADDR_MAX    64 /* "[ipv6]:port" */
/* Bytes waiting for one peer: its outbox, staged plaintext and sealed bytes
 * the socket has not taken, counted together.  Beyond TP_OUT_SOFT its
 * socket is not read (it cannot ask for more); beyond TP_OUT_HARD it is
 * disconnected and scored.  Nothing is dropped below that: an INV lost
 * would never be sent again, so a peer that lags for a moment keeps every
 * announcement.  No record for it ever waits in relay.transport, so a
 * peer that stops reading slows only itself. */
#define TP_OUT_SOFT      (1u << 20)
#define TP_OUT_HARD      (8u << 20)
#define TP_SLOW_POINTS   10   /* a peer disconnected for not reading what it is sent */
#define TP_BAN_SCORE     100  /* misbehaviour points that get an address banned */
#define TP_HS_PER_ADDR   4    /* inbound handshakes in progress per address */
#define TP_HS_SLOTS      1024 /* counters those are kept in */
#define TP_PING_EVERY_NS (15 * 1000000000ULL)
#define TP_SEEN_MAX      64 /* remembered outbound targets to redial */
/* Peer exchange frames (GETPEERS, PEERS) go to discovery through PUB:
 * per peer and type at most TP_PEX_RATE per second (burst TP_PEX_BURST);
 * each excess frame is dropped and scores TP_PEX_POINTS. */
#define TP_PEX_RATE   0.1
#define TP_PEX_BURST  2.0
#define TP_PEX_POINTS 5
#define TP_PMQ_MAX    256 /* peer exchange frames queued for PUB; beyond, dropped */

/* What an outbound connection is for (discovery's policy asks for it). */
typedef enum tp_kind {
	TP_KIND_OUTBOUND = 0,    /* full relay (the default) */
	TP_KIND_FEELER = 1,      /* closed right after the handshake */
	TP_KIND_BLOCK_RELAY = 2, /* relay announces no transactions to it */
} tp_kind_t;

typedef enum tp_state {
	TP_CONNECTING = 1, /* outbound, connect() in progress */
	TP_HS_MSG1 = 2,    /* responder waits for msg1 */
	TP_HS_MSG2 = 3,    /* initiator waits for msg2 */
	TP_HS_MSG3 = 4,    /* responder waits for msg3 */
	TP_OPEN = 5,
} tp_state_t;

typedef struct tp_worker tp_worker_t;
typedef struct tp tp_t;

typedef struct tp_peer {
	struct rcu_head rcu;
	uint64_t handle;
	int fd;
	tp_worker_t *w;
	/* fixed once the peer is in the table */
	bool inbound;
	tp_kind_t kind; /* outbound only */
	bool manual;    /* a persistent `connect` target */
	char addr[TP_ADDR_MAX];
	struct sockaddr_storage sa;
	socklen_t salen;
	ch_netgroup_t group;
	uint8_t remote_pk[32];
	bool has_expect;
	uint8_t expect_pk[32];
	uint64_t connected_wall_ms;
	uint64_t connected_ns;
	int suite;
	char user_agent[64];
	uint16_t listen_port;
	bool no_relay; /* its hello's service bits lack HELLO_SVC_RELAY */

	/* worker-owned */
	tp_state_t state;
	noise_hs_t *hs;
	noise_cipher_t tx, rx;
	uint8_t *rbuf; /* bytes read, not yet a whole handshake message or record */
	size_t rlen, rcap;
	uint8_t *pbuf; /* plaintext not yet a whole frame */
	size_t plen, pcap;
	uint8_t *wbuf; /* sealed bytes to write */
	size_t wlen, woff, wcap;
	uint8_t *stage; /* plaintext frames being sealed */
	size_t slen, scap;
	bool paused;       /* transport.relay full: not reading this socket */
	bool muted;        /* over TP_OUT_SOFT waiting to be sent: not reading this socket */
	bool armed_in;     /* EPOLLIN armed */
	bool want_out;     /* EPOLLOUT armed */
	bool head_charged; /* the frame at pbuf[0] (left there by a pause) passed the limits */
	uint64_t stall_since_ns; /* unsent bytes the socket refused since then; 0: none */
	uint64_t hs_deadline_ns;
	uint64_t last_recv_ns, last_send_ns;
	_Atomic uint64_t last_useful_ns; /* read by eviction */
	uint64_t ping_sent_ns, ping_nonce;
	uint64_t ping_done_ns; /* our last PING answered (or the handshake) */
	ch_tbucket_t msg_bucket, byte_bucket, ping_bucket;
	ch_tbucket_t getpeers_bucket, peers_bucket;
	bool feeler_done; /* a feeler that reported success: no failure event */
	bool closing;
	char close_reason[128];

	/* outbox: written by the main thread, drained by the worker */
	pthread_mutex_t out_lock;
	uint8_t *obuf;
	size_t olen, ocap;
	bool dead;     /* under out_lock: no more appends */
	bool overflow; /* under out_lock: exceeded TP_OUT_HARD */
	_Atomic bool notified;
	_Atomic bool close_req;  /* the main thread asks the worker to close */
	_Atomic uint64_t queued; /* bytes staged and unsent in the worker */
	char close_req_reason[96];

	/* statistics, read by commands */
	_Atomic uint64_t bytes_in, bytes_out, msgs_in, msgs_out;
	_Atomic int32_t score;
	_Atomic int64_t rtt_us;
} tp_peer_t;

/* The peer table: an immutable snapshot, replaced whole (peertab.c). */
typedef struct tp_snap {
	struct rcu_head rcu;
	size_t n;         /* peers */
	size_t mask;      /* slots - 1 (a power of two, at least 2n) */
	tp_peer_t **slot; /* open addressing by handle */
	tp_peer_t **list; /* the n peers, for iteration */
} tp_snap_t;

typedef struct tp_peertab {
	tp_snap_t *cur;        /* tp_snap_get / tp_snap_set */
	pthread_mutex_t wlock; /* serialises writers */
} tp_peertab_t;

/* tp_snap_get / tp_snap_set: the current snapshot, read with acquire and
 * published with release.  That is what rcu_dereference and
 * rcu_assign_pointer do here, in a form ThreadSanitizer understands
 * (liburcu is not instrumented): everything a worker wrote to a peer
 * before its snapshot was published is visible to the thread that finds
 * the peer in it.  Old snapshots are still freed after a QSBR grace
 * period (peertab.c). */
static inline tp_snap_t *tp_snap_get(tp_peertab_t *t)
{
	return __atomic_load_n(&t->cur, __ATOMIC_ACQUIRE);
}

static inline void tp_snap_set(tp_peertab_t *t, tp_snap_t *s)
{
	__atomic_store_n(&t->cur, s, __ATOMIC_RELEASE);
}

int tp_peertab_init(tp_peertab_t *t);
void tp_peertab_fini(tp_peertab_t *t);
/* Readers: inside rcu_read_lock(). */
tp_peer_t *tp_peertab_find(tp_snap_t *s, uint64_t handle);
/* Writers: copy, change, publish; the old snapshot goes through call_rcu. */
int tp_peertab_add(tp_peertab_t *t, tp_peer_t *p);
int tp_peertab_del(tp_peertab_t *t, tp_peer_t *p);

/* Remembered scores (scores.c): a closed connection's points, per ban key,
 * halving every TP_SCORE_HALF_LIFE_MS, given to the next connection. */
#define TP_SCORES_MAX         4096
#define TP_SCORE_HALF_LIFE_MS (30.0 * 60 * 1000)
typedef struct tp_scores tp_scores_t;
tp_scores_t *tp_scores_new(void);
void tp_scores_destroy(tp_scores_t **s);
/* tp_scores_take: the remembered (decayed) points of ip, forgotten from the
 * table (the connection carries them now); 0 if none.  A NULL table (a
 * harness without one) remembers nothing. */
int32_t tp_scores_take(tp_scores_t *s, const char *ip, uint64_t now_wall_ms);
/* tp_scores_keep: remembers points of ip at a connection's end. */
void tp_scores_keep(tp_scores_t *s, const char *ip, int32_t points, uint64_t now_wall_ms);
size_t tp_scores_count(tp_scores_t *s);

/* Bans (bans.c): by address (no port), persisted in DATADIR/bans.dat. */
typedef struct tp_bans tp_bans_t;
tp_bans_t *tp_bans_open(const char *datadir);
void tp_bans_close(tp_bans_t **b);
/* tp_bans_add: bans ip (its key: tp_ban_key) until then.  A ban the node
 * gives itself (manual false) is refused with CH_ENOMEM when the list is
 * full; the operator's replaces the automatic ban expiring first. */
int tp_bans_add(tp_bans_t *b, const char *ip, uint64_t until_wall_ms, const char *reason,
                bool manual);
/* tp_bans_flush: writes bans.dat if bans changed and the last write is a
 * second old (main loop). */
void tp_bans_flush(tp_bans_t *b, uint64_t now_wall_ms);
/* tp_bans_refused: automatic bans refused because the list was full. */
uint64_t tp_bans_refused(tp_bans_t *b);
/* tp_ban_key: what a ban of ip covers: the IPv4 address, or the /64 of an
 * IPv6 address ("2001:db8::/64"). */
void tp_ban_key(const char *ip, char *out, size_t cap);
int tp_bans_del(tp_bans_t *b, const char *ip);
bool tp_bans_check(tp_bans_t *b, const char *ip, uint64_t now_wall_ms);
/* tp_bans_list: calls fn for each live ban. */
void tp_bans_list(tp_bans_t *b, uint64_t now_wall_ms,
                  void (*fn)(void *arg, const char *ip, uint64_t until, const char *reason),
                  void *arg);
size_t tp_bans_count(tp_bans_t *b, uint64_t now_wall_ms);

/* An event for PUB, queued by workers, published by the main thread. */
typedef struct tp_event {
	char what[32];
	uint64_t peer;
	char addr[TP_ADDR_MAX];
	char reason[128];
	int32_t points;
	int32_t score;
	char pubkey[65];
	bool inbound;
	uint16_t listen_port;
	tp_kind_t kind;
	bool manual;
	/* "peer_msg": a GETPEERS or PEERS frame for discovery, in the same
	 * queue as the peer's other events so it never overtakes its
	 * peer_connected */
	uint8_t msg_type;
	uint8_t *payload; /* malloc'd, len bytes (at most the type's wire maximum) */
	uint32_t len;
} tp_event_t;

#define TP_EVQ_MAX 1024 /* queued events; beyond, counted as dropped */

/* A dial or accepted socket handed to a worker. */
typedef struct tp_newconn {
	int fd;
	bool inbound;
	tp_kind_t kind;
	bool manual;
	bool has_expect;
	uint8_t expect_pk[32];
	struct sockaddr_storage sa;
	socklen_t salen;
} tp_newconn_t;

#define TP_INBOX_MAX 256

struct tp_worker {
	tp_t *tp;
	int idx;
	pthread_t thread;
	int epfd;
	int evfd; /* wake-up: outbox data, new connections, close requests, stop */
	pthread_mutex_t inbox_lock;
	tp_newconn_t inbox[TP_INBOX_MAX];
	size_t ninbox;
	tp_peer_t **peers; /* this worker's connections */
	size_t npeers, cap;
	_Atomic bool stop;
	/* frames by wire type (0: a type we do not know), header included;
	 * written by this worker only, summed by status */
	_Atomic uint64_t type_in[WIRE_TYPE_MAX + 1], type_in_bytes[WIRE_TYPE_MAX + 1];
	_Atomic uint64_t type_out[WIRE_TYPE_MAX + 1], type_out_bytes[WIRE_TYPE_MAX + 1];
	uint8_t scratch[64 * 1024 + NOISE_REC_OVERHEAD];
};

/* The settings of the service, from the node config. */
typedef struct tp_limits {
	int64_t max_peers, max_outbound, max_per_group, max_handshakes;
	ch_netgroup_mode_t netgroup; /* how peers are grouped (common/netgroup.h) */
	uint64_t ban_ms, handshake_ms, idle_ms, send_ms, ping_ms;
	double msg_rate, byte_rate, ping_rate;
	uint32_t block_max;
} tp_limits_t;

struct tp {
	ch_svc_t *svc;
	const ch_node_config_t *cfg;
	ch_identity_t ident;
	char datadir[CH_PATH_MAX];
	uint8_t magic[WIRE_MAGIC_LEN];
	uint8_t suites;
	tp_limits_t lim;
	uint8_t hello[512]; /* built at start to check the settings; each handshake */
	size_t hello_len;   /* sends a fresh one (tp_hello_build: t is the wall clock) */

	int listen_fd[TP_MAX_LISTEN];
	int nlisten;
	uint16_t listen_port;

	tp_worker_t workers[TP_MAX_WORKERS];
	int nworkers;
	int next_worker;

	tp_peertab_t table;
	tp_bans_t *bans;
	tp_scores_t *scores;

	uint64_t handle_base;
	_Atomic uint64_t handle_next;

	int main_evfd; /* workers wake the main thread: events queued */

	/* transport.relay: one producer handle shared by the workers */
	pthread_mutex_t ring_lock;
	shm_ring_t *to_relay;
	shm_ring_t *from_relay;
	bool ring_reset_sent;

	_Atomic int32_t n_inbound, n_outbound, n_handshaking;
	/* inbound handshakes in progress by keyed hash of address and group */
	_Atomic uint16_t hs_addr[TP_HS_SLOTS], hs_group[TP_HS_SLOTS];
	uint8_t hs_key[16];

	pthread_mutex_t ev_lock;
	tp_event_t evq[TP_EVQ_MAX];
	size_t nev;
	_Atomic uint64_t ev_dropped;
	size_t npmq; /* peer_msg events in evq (under ev_lock), at most TP_PMQ_MAX */
	_Atomic uint64_t c_pmsg_dropped;

	/* dial targets to keep (`connect` without once, remembered outbound);
	 * seeds and everything else are discovery's (docs/discovery.md) */
	struct tp_target {
		char host[CH_HOST_MAX];
		uint16_t port;
		bool has_pk;
		uint8_t pk[32];
		tp_kind_t kind;
		bool is_self;
		uint64_t next_try_ns;
		uint32_t failures;
	} targets[TP_SEEN_MAX];
	size_t ntargets;

	uint64_t last_dial_ns;

	/* counters */
	_Atomic uint64_t c_accepted, c_refused, c_dialed, c_handshake_fail, c_banned, c_ring_full,
	    c_bad_frames, c_out_dropped, c_slow_closed;
	_Atomic uint64_t c_handshake_ok, c_misbehave_points;
	/* frames the main thread queued for peers, by wire type (see workers) */
	_Atomic uint64_t type_out[WIRE_TYPE_MAX + 1], type_out_bytes[WIRE_TYPE_MAX + 1];
};

/* tp_count_type: adds one frame of len payload bytes to a per-type counter
 * pair (the type clamped to 0 when unknown). */
static inline void tp_count_type(_Atomic uint64_t *n, _Atomic uint64_t *bytes, uint8_t type,
                                 uint32_t len)
{
	unsigned t = type <= WIRE_TYPE_MAX ? type : 0;
	atomic_fetch_add_explicit(&n[t], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&bytes[t], (uint64_t)len + WIRE_HDR_LEN, memory_order_relaxed);
}

/* worker.c */
int tp_workers_start(tp_t *tp, int n);
void tp_workers_stop(tp_t *tp);
int tp_worker_give(tp_worker_t *w, const tp_newconn_t *nc);
void tp_worker_wake(tp_worker_t *w);

/* conn.c (worker thread) */
tp_peer_t *tp_conn_new(tp_worker_t *w, const tp_newconn_t *nc);
void tp_conn_on_io(tp_peer_t *p, uint32_t events, uint64_t now);
void tp_conn_tick(tp_peer_t *p, uint64_t now);
void tp_conn_flush_outbox(tp_peer_t *p, uint64_t now);
void tp_conn_resume(tp_peer_t *p, uint64_t now);
void tp_conn_close(tp_peer_t *p, const char *reason);
void tp_conn_free(tp_peer_t *p);
void tp_conn_teardown(tp_peer_t *p);
void tp_misbehave(tp_peer_t *p, int points, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* admit.c (main thread and workers) */
void tp_addr_group(const struct sockaddr_storage *sa, ch_netgroup_mode_t mode, ch_netgroup_t *g);
void tp_addr_format(const struct sockaddr_storage *sa, char *out, size_t cap, bool with_port);
/* tp_admit_inbound: whether an accepted socket may start its handshake:
 * not banned, handshake slots free (in all, TP_HS_PER_ADDR per address and
 * max-handshakes/4 per address group), its group under max-per-group, and
 * inbound not full or someone evictable.  Evicts nobody. */
int tp_admit_inbound(tp_t *tp, const struct sockaddr_storage *sa, char *why, size_t cap);
/* tp_admit_established: an inbound peer finished its handshake; if inbound
 * is full another is evicted for it (Bitcoin Core's rules), or, with no
 * one evictable, CH_EBUSY: the newcomer is closed. */
int tp_admit_established(tp_t *tp, tp_peer_t *p, char *why, size_t cap);
/* tp_hs_begin / tp_hs_end: a connection enters or leaves its handshake
 * (the counters behind max-handshakes and the per-address limits). */
void tp_hs_begin(tp_t *tp, const struct sockaddr_storage *sa, bool inbound);
void tp_hs_end(tp_t *tp, const struct sockaddr_storage *sa, bool inbound);
void tp_event_push(tp_t *tp, const tp_event_t *ev);
/* tp_pmsg_push: queues a peer exchange frame for PUB (copies payload);
 * false if the queue is full or memory ran out (counted, dropped). */
bool tp_pmsg_push(tp_t *tp, uint64_t peer, uint8_t type, const char *addr, const uint8_t *payload,
                  uint32_t len);

/* tp_handle_new: a peer handle never used before (admit.c). */
uint64_t tp_handle_new(tp_t *tp);
/* tp_hello_build: our hello (conn.c). */
int tp_hello_build(tp_t *tp, uint8_t *out, size_t cap, size_t *len);

#endif
