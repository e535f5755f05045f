/* tlink.h: discovery's link to the transport service, never blocking.
 *
 *   - Events: a SUB socket on ipc://DATADIR/run/transport.pub, topic
 *     "event.transport.": peer_connected, peer_disconnected,
 *     connection_failed, feeler_ok, peer_banned and peer_msg (GETPEERS and
 *     PEERS frames) go to the membership core (member.h).  ZeroMQ
 *     reconnects the SUB by itself after a transport restart.
 *   - Commands: a DEALER socket on transport's command socket (ROUTER).
 *     Each request carries an 8-byte id in its envelope, which ROUTER sends
 *     back, so replies find their request whatever their order, and a
 *     request whose transport died is dropped after TL_REQ_TIMEOUT_NS.
 *     ZMQ_IMMEDIATE: a request fails at once while transport is down
 *     instead of queueing for the next one.  The requests: `connect`
 *     (dials), `send` (GETPEERS/PEERS frames), `disconnect` (surplus
 *     seed connections), `peer_list` every TL_SYNC_NS
 *     (the authoritative list of connections: events can be missed) and
 *     `bans` every TL_BANS_NS.
 *
 * Both sockets' ZMQ_FD are watched by the service frame so a message
 * wakes the loop; tl_poll drains them (ZeroMQ's fd is edge-triggered, so
 * they are drained until EAGAIN each time).
 *
 * One thread (the frame's loop). */
#ifndef CH_DISC_TLINK_H
#define CH_DISC_TLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "member.h"

/* Requests awaiting a reply (beyond, new requests fail with CH_EAGAIN). */
#define TL_MAX_REQS 256
/* A request unanswered this long is dropped. */
#define TL_REQ_TIMEOUT_NS (3ull * 1000000000ull)
/* Transport's peer list is fetched this often, and its bans. */
#define TL_SYNC_NS (2ull * 1000000000ull)
#define TL_BANS_NS (30ull * 1000000000ull)
/* ... and retried this soon while transport cannot be reached; the
 * sockets' reconnect interval. */
#define TL_RETRY_NS     (10ull * 1000000ull)
#define TL_RECONNECT_MS 10
/* Messages read per socket per tl_poll, so a flood cannot stall the loop. */
#define TL_BATCH 256
/* Largest reply or event read (a peer list of 1024 peers fits). */
#define TL_MSG_MAX (1u << 20)

typedef enum tl_req_kind {
	TL_REQ_CONNECT = 1,
	TL_REQ_SEND = 2,
	TL_REQ_PEERS = 3,
	TL_REQ_BANS = 4,
} tl_req_kind_t;

typedef struct tl_req {
	uint64_t id;
	tl_req_kind_t kind;
	ab_addr_t addr; /* connect: the address dialed */
	uint64_t deadline_ns;
} tl_req_t;

typedef struct tl_stats {
	uint64_t events, replies, errors, timeouts, send_failed;
} tl_stats_t;

typedef struct tlink {
	void *dealer, *sub;
	int dealer_fd, sub_fd;
	mb_t *mb; /* set by the owner once the core exists */
	tl_req_t reqs[TL_MAX_REQS];
	uint32_t nreqs;
	uint64_t next_id;
	uint64_t next_sync_ns, next_bans_ns;
	bool sync_inflight, bans_inflight;
	tl_stats_t st;
} tlink_t;

/* tl_open: both sockets on datadir's transport endpoints, in zctx.
 * Returns 0; CH_ERANGE (path too long); CH_EIO (a ZeroMQ call failed). */
int tl_open(tlink_t *t, void *zctx, const char *datadir);

/* tl_close: closes both sockets; safe twice. */
void tl_close(tlink_t *t);

/* tl_connect / tl_send: the mb_io_t operations (arg is the tlink_t). */
int tl_connect(void *arg, const ab_addr_t *a, const uint8_t *pk, mb_kind_t kind);
int tl_send(void *arg, uint64_t peer, uint8_t type, const uint8_t *payload, size_t len);
int tl_disconnect(void *arg, uint64_t peer);

/* tl_poll: reads what both sockets hold (up to TL_BATCH each), expires
 * requests, and sends the periodic `peers` and `bans`.  Returns how many
 * messages it handled. */
int tl_poll(tlink_t *t, uint64_t now_ns, uint64_t wall_ms);

/* tl_sync_now: fetch the peer list at the next tl_poll. */
void tl_sync_now(tlink_t *t);

#endif
