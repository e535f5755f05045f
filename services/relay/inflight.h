/* inflight.h: the requests in flight (docs/relay.md, "Requests").
 *
 * Every transaction id a peer announced that we lack has one entry, keyed
 * by id, with up to RL_ALT_MAX announcers (peer slots) in the order they
 * announced it.  An entry is in exactly one of three places:
 *   - FRESH: announced during this loop turn, not yet assigned; at the end
 *     of the turn rl_trk_schedule() picks whom to ask, preferring an
 *     outbound announcer, then one with the fewest requests in flight;
 *   - WAITING: every untried announcer has `peer_cap` requests in flight;
 *     the entry waits on one of them and is asked when that peer answers
 *     or times out something (or when another announcer with room shows up);
 *   - ASKED: a GETDATA went to one announcer at asked_ns; the entries are
 *     in a FIFO in asking order, which is deadline order since the timeout
 *     is one constant, so expiry pops from its head.
 * An answer (the mempool accepted or rejected the transaction: rl_trk_done)
 * frees the entry.  A timeout or a NOTFOUND from the asked peer marks that
 * announcer tried and asks the next one; when none is left the entry is
 * dropped (a later announcement creates it again).
 *
 * Announcers who never deliver must not hide one who would (sybils that
 * announce first): an entry keeps RL_ALT_MAX announcers; a new announcer
 * of a full entry takes the place of one already tried (it failed), or
 * else of the lowest-ranked untried one if the newcomer ranks higher.
 * Rank: outbound before inbound (we chose those), then the longer
 * connected (earlier rl_trk_peer_up; new sybils rank last).  The one being
 * asked, or waited on, keeps its place.  Asking prefers outbound, then the
 * fewest requests outstanding, then the longer connected.
 *
 * Bounds: `cap` entries in all (the table is allocated once); a peer may
 * have at most `peer_cap` requests outstanding (sent and not yet answered
 * by a TX, a NOTFOUND or a timeout: a delivered transaction frees its slot
 * before the mempool's verdict, so requests pipeline with verification)
 * and may have created at most `announce_cap` entries, so one peer cannot
 * fill the table.
 *
 * No I/O and no clock of its own: the caller passes the time and reads the
 * requests to send with rl_trk_take().  Single-threaded. */
#ifndef CH_RELAY_INFLIGHT_H
#define CH_RELAY_INFLIGHT_H

#include <stdbool.h>
#include <stdint.h>

#include "filter.h"
#include "histo.h"

#define RL_ALT_MAX 8 /* announcers remembered per id (`tried` has one bit each) */

typedef enum rl_req_state {
	RL_REQ_FREE = 0,
	RL_REQ_FRESH = 1,
	RL_REQ_WAITING = 2,
	RL_REQ_ASKED = 3,
} rl_req_state_t;

typedef struct rl_req {
	uint64_t asked_ns;
	uint64_t first_ns;   /* the first announcement */
	uint32_t prev, next; /* list links: entry index + 1, 0 = none */
	uint32_t gen;        /* bumped when the entry is freed */
	uint16_t ann[RL_ALT_MAX];
	uint16_t peer; /* ASKED: who was asked; WAITING: whose queue */
	uint8_t nann;
	uint8_t tried;   /* bit i: ann[i] was asked (or is gone) */
	uint8_t state;   /* rl_req_state_t */
	uint8_t counted; /* ann[0]'s `announced` counts this entry */
} rl_req_t;

typedef struct rl_trk_peer {
	uint32_t inflight;    /* ASKED entries */
	uint32_t outstanding; /* requests sent and not yet answered: what the cap limits */
	uint32_t announced;   /* entries it created */
	uint32_t wait_head, wait_tail;
	uint32_t failed; /* timeouts and NOTFOUNDs since rl_trk_take_failed */
	uint64_t up_seq; /* order of rl_trk_peer_up: smaller is longer connected */
	uint8_t up, outbound;
} rl_trk_peer_t;

/* A request to send: GETDATA of entry idx to peer slot (skip it if the
 * entry's gen changed or it is no longer ASKED by that peer). */
typedef struct rl_trk_out {
	uint32_t idx, gen;
	uint16_t slot;
} rl_trk_out_t;

typedef enum rl_trk_res {
	RL_TRK_NEW = 0,       /* a new entry */
	RL_TRK_ADDED = 1,     /* another announcer of a known entry */
	RL_TRK_KNOWN = 2,     /* this peer had announced it already, or no room for it */
	RL_TRK_FULL = 3,      /* the table is full: dropped */
	RL_TRK_PEER_FULL = 4, /* this peer created announce_cap entries: dropped */
} rl_trk_res_t;

typedef struct rl_trk_stats {
	uint64_t created, asked, reasked, timeouts, notfound, dropped, done, full, peer_full;
	uint64_t replaced; /* announcers that took the place of a tried or lower-ranked one */
} rl_trk_stats_t;

typedef struct rl_trk {
	rl_idtab_t tab;
	rl_req_t *req; /* parallel to tab.ent */
	rl_trk_peer_t *peer;
	uint32_t npeers;
	uint32_t fresh_head, fresh_tail;
	uint32_t asked_head, asked_tail;
	uint64_t timeout_ns;
	uint32_t peer_cap, announce_cap;
	uint64_t up_seq;
	rl_trk_out_t *out;
	uint32_t nout, outcap;
	rl_trk_stats_t st;
	/* at each verdict (rl_trk_done): since the GETDATA went out (asked
	 * entries only), and since the first peer announced the id */
	ch_histo_t h_request, h_announce;
} rl_trk_t;

/* rl_trk_init: a tracker of cap entries for peer slots 0..npeers-1.
 * 0; CH_EINVAL; CH_ENOMEM. */
int rl_trk_init(rl_trk_t *t, uint32_t cap, uint32_t npeers, uint32_t peer_cap,
                uint32_t announce_cap, uint64_t timeout_ns);
void rl_trk_free(rl_trk_t *t);

/* rl_trk_peer_up / rl_trk_peer_down: a slot starts or stops being a peer.
 * Down: what was asked of it or waits on it goes to the other announcers. */
void rl_trk_peer_up(rl_trk_t *t, uint16_t slot, bool outbound);
void rl_trk_peer_down(rl_trk_t *t, uint16_t slot, uint64_t now);

/* rl_trk_announce: peer slot announced id (not seen, not pooled). */
rl_trk_res_t rl_trk_announce(rl_trk_t *t, const uint8_t id[RL_ID_LEN], rl_hash_t h, uint16_t slot,
                             uint64_t now);

/* rl_trk_schedule: assigns this turn's fresh entries. */
void rl_trk_schedule(rl_trk_t *t, uint64_t now);

/* rl_trk_done: the transaction arrived (accepted or rejected): frees its
 * entry.  Returns the slot it was asked of, or -1 (not asked, or no entry). */
int rl_trk_done(rl_trk_t *t, const uint8_t id[RL_ID_LEN], rl_hash_t h, uint64_t now);

/* rl_trk_notfound: peer slot cannot serve id: if we had asked it, the next
 * announcer is asked.  true if it was asked of slot. */
bool rl_trk_notfound(rl_trk_t *t, const uint8_t id[RL_ID_LEN], rl_hash_t h, uint16_t slot,
                     uint64_t now);

/* rl_trk_delivered: peer slot sent a transaction (whose id the mempool
 * will tell): one of its requests is answered, so it may be asked another
 * at once, before the verdict.  false if nothing was outstanding (an
 * unrequested transaction). */
bool rl_trk_delivered(rl_trk_t *t, uint16_t slot, uint64_t now);

/* rl_trk_expire: times out requests older than timeout_ns; returns how many. */
uint32_t rl_trk_expire(rl_trk_t *t, uint64_t now);

/* rl_trk_deadline: when the oldest request times out (0: nothing asked). */
uint64_t rl_trk_deadline(const rl_trk_t *t);

/* rl_trk_take: the requests decided since the last take (valid until the
 * next call into the tracker); rl_trk_take_done empties the list. */
const rl_trk_out_t *rl_trk_take(const rl_trk_t *t, uint32_t *n);
void rl_trk_take_done(rl_trk_t *t);

/* rl_trk_live: true if out item o still stands. */
bool rl_trk_live(const rl_trk_t *t, const rl_trk_out_t *o);

/* rl_trk_id: the id of entry idx. */
const uint8_t *rl_trk_id(const rl_trk_t *t, uint32_t idx);

/* rl_trk_count: entries in use. */
uint32_t rl_trk_count(const rl_trk_t *t);

#endif
