/* inflight.c: the requests in flight (inflight.h). */
#include "inflight.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

_Static_assert(RL_ALT_MAX <= 8, "rl_req_t.tried has 8 bits");

int rl_trk_init(rl_trk_t *t, uint32_t cap, uint32_t npeers, uint32_t peer_cap,
                uint32_t announce_cap, uint64_t timeout_ns)
{
	if (!t || cap == 0 || npeers == 0 || npeers > UINT16_MAX || peer_cap == 0)
		return CH_EINVAL;
	memset(t, 0, sizeof(*t));
	int rc = rl_idtab_init(&t->tab, cap);
	if (rc)
		return rc;
	t->req = calloc(cap, sizeof(rl_req_t));
	t->peer = calloc(npeers, sizeof(rl_trk_peer_t));
	/* an entry is asked at most once per announcer between two takes */
	t->outcap = cap * RL_ALT_MAX;
	t->out = calloc(t->outcap, sizeof(rl_trk_out_t));
	if (!t->req || !t->peer || !t->out) {
		rl_trk_free(t);
		return CH_ENOMEM;
	}
	t->npeers = npeers;
	t->peer_cap = peer_cap;
	t->announce_cap = announce_cap;
	t->timeout_ns = timeout_ns;
	return 0;
}

/* rl_trk_free: safe twice. */
void rl_trk_free(rl_trk_t *t)
{
	if (!t)
		return;
	rl_idtab_free(&t->tab);
	free(t->req);
	free(t->peer);
	free(t->out);
	t->req = NULL;
	t->peer = NULL;
	t->out = NULL;
}

/* ---------------------------------------------------------------- lists */

static void list_push(rl_trk_t *t, uint32_t *head, uint32_t *tail, uint32_t idx)
{
	rl_req_t *r = &t->req[idx];
	r->next = 0;
	r->prev = *tail;
	if (*tail)
		t->req[*tail - 1].next = idx + 1;
	else
		*head = idx + 1;
	*tail = idx + 1;
}

/* list_unlink: O(1) removal from any of the lists (doubly linked by index). */
static void list_unlink(rl_trk_t *t, uint32_t *head, uint32_t *tail, uint32_t idx)
{
	rl_req_t *r = &t->req[idx];
	if (r->prev)
		t->req[r->prev - 1].next = r->next;
	else
		*head = r->next;
	if (r->next)
		t->req[r->next - 1].prev = r->prev;
	else
		*tail = r->prev;
	r->prev = r->next = 0;
}

/* unlink: takes an entry off whichever list its state puts it on; an
 * ASKED entry also gives its peer's slot back. */
static void unlink_any(rl_trk_t *t, uint32_t idx)
{
	rl_req_t *r = &t->req[idx];
	switch (r->state) {
	case RL_REQ_FRESH:
		list_unlink(t, &t->fresh_head, &t->fresh_tail, idx);
		break;
	case RL_REQ_WAITING: {
		rl_trk_peer_t *p = &t->peer[r->peer];
		list_unlink(t, &p->wait_head, &p->wait_tail, idx);
		break;
	}
	case RL_REQ_ASKED:
		list_unlink(t, &t->asked_head, &t->asked_tail, idx);
		if (t->peer[r->peer].inflight)
			t->peer[r->peer].inflight--;
		break;
	default:
		break;
	}
	r->state = RL_REQ_FREE;
}

/* release: frees an entry (already unlinked). */
static void release(rl_trk_t *t, uint32_t idx)
{
	rl_req_t *r = &t->req[idx];
	if (r->counted && t->peer[r->ann[0]].announced)
		t->peer[r->ann[0]].announced--;
	r->counted = 0;
	r->state = RL_REQ_FREE;
	r->gen++;
	rl_idtab_del(&t->tab, idx);
}

/* ---------------------------------------------------------------- asking */

static void ask(rl_trk_t *t, uint32_t idx, unsigned i, uint64_t now)
{
	rl_req_t *r = &t->req[idx];
	uint16_t slot = r->ann[i];
	if (r->tried)
		t->st.reasked++;
	r->tried |= (uint8_t)(1u << i);
	r->state = RL_REQ_ASKED;
	r->peer = slot;
	r->asked_ns = now;
	list_push(t, &t->asked_head, &t->asked_tail, idx);
	t->peer[slot].inflight++;
	t->peer[slot].outstanding++;
	t->st.asked++;
	if (t->nout < t->outcap)
		t->out[t->nout++] = (rl_trk_out_t){.idx = idx, .gen = r->gen, .slot = slot};
}

static void pump(rl_trk_t *t, uint16_t slot, uint64_t now);

/* answered: one request to slot is settled (delivered, not found or timed
 * out): it may be asked another. */
static void answered(rl_trk_t *t, uint16_t slot)
{
	if (t->peer[slot].outstanding)
		t->peer[slot].outstanding--;
}

/* ranks_above: a is preferred to b as an announcer to keep (outbound,
 * then longer connected). */
static bool ranks_above(const rl_trk_peer_t *a, const rl_trk_peer_t *b)
{
	if (a->outbound != b->outbound)
		return a->outbound;
	return a->up_seq < b->up_seq;
}

/* assign: asks the best untried announcer that has room (outbound first,
 * then the fewest in flight, then the longer connected), or queues the
 * entry on the best one without room, or drops it when no announcer is
 * left. */
static void assign(rl_trk_t *t, uint32_t idx, uint64_t now)
{
	rl_req_t *r = &t->req[idx];
	int best = -1, waitfor = -1;
	for (unsigned i = 0; i < r->nann; i++) {
		const rl_trk_peer_t *p = &t->peer[r->ann[i]];
		if ((r->tried >> i) & 1)
			continue;
		if (!p->up) {
			r->tried |= (uint8_t)(1u << i);
			continue;
		}
		if (p->outstanding >= t->peer_cap) {
			if (waitfor < 0 || (p->outbound && !t->peer[r->ann[waitfor]].outbound))
				waitfor = (int)i;
			continue;
		}
		if (best < 0) {
			best = (int)i;
			continue;
		}
		const rl_trk_peer_t *b = &t->peer[r->ann[best]];
		if ((p->outbound && !b->outbound) ||
		    (p->outbound == b->outbound && p->outstanding < b->outstanding) ||
		    (p->outbound == b->outbound && p->outstanding == b->outstanding &&
		     p->up_seq < b->up_seq))
			best = (int)i;
	}
	if (best >= 0) {
		ask(t, idx, (unsigned)best, now);
	} else if (waitfor >= 0) {
		rl_trk_peer_t *p = &t->peer[r->ann[waitfor]];
		r->state = RL_REQ_WAITING;
		r->peer = r->ann[waitfor];
		list_push(t, &p->wait_head, &p->wait_tail, idx);
	} else {
		t->st.dropped++;
		release(t, idx);
	}
}

/* pump: a peer has room again: ask it what waits on it. */
static void pump(rl_trk_t *t, uint16_t slot, uint64_t now)
{
	rl_trk_peer_t *p = &t->peer[slot];
	while (p->up && p->outstanding < t->peer_cap && p->wait_head) {
		uint32_t idx = p->wait_head - 1;
		rl_req_t *r = &t->req[idx];
		list_unlink(t, &p->wait_head, &p->wait_tail, idx);
		r->state = RL_REQ_FREE;
		unsigned i = 0;
		while (i < r->nann && r->ann[i] != slot)
			i++;
		if (i < r->nann && !((r->tried >> i) & 1))
			ask(t, idx, i, now);
		else
			assign(t, idx, now);
	}
}

/* ---------------------------------------------------------------- peers */

void rl_trk_peer_up(rl_trk_t *t, uint16_t slot, bool outbound)
{
	if (slot >= t->npeers)
		return;
	t->peer[slot] = (rl_trk_peer_t){.up = 1, .outbound = outbound, .up_seq = ++t->up_seq};
}

/* rl_trk_peer_down: see the comment inside. */
void rl_trk_peer_down(rl_trk_t *t, uint16_t slot, uint64_t now)
{
	if (slot >= t->npeers || !t->peer[slot].up)
		return;
	t->peer[slot].up = 0;
	/* A peer goes down rarely: one pass over the table finds its entries.
	 * First the bookkeeping, then the reassignments (which may touch other
	 * entries' lists but never this peer's, since it is down). */
	for (uint32_t idx = 0; idx < t->tab.hw; idx++) {
		rl_req_t *r = &t->req[idx];
		if (!t->tab.ent[idx].used)
			continue;
		for (unsigned i = 0; i < r->nann; i++)
			if (r->ann[i] == slot)
				r->tried |= (uint8_t)(1u << i);
		if (r->ann[0] == slot)
			r->counted = 0; /* the slot may be reused by another peer */
		if ((r->state == RL_REQ_ASKED || r->state == RL_REQ_WAITING) && r->peer == slot) {
			unlink_any(t, idx);
			assign(t, idx, now);
		}
	}
	t->peer[slot] = (rl_trk_peer_t){0};
}

/* ---------------------------------------------------------------- events */

/* replace_victim: in a full entry, the place a new announcer `slot` may
 * take: a tried one first, else the lowest-ranked untried one if slot
 * ranks above it; never the one asked or waited on.  -1: none. */
static int replace_victim(const rl_trk_t *t, const rl_req_t *r, uint16_t slot)
{
	int worst = -1;
	for (unsigned i = 0; i < r->nann; i++) {
		bool current = (r->state == RL_REQ_ASKED || r->state == RL_REQ_WAITING) &&
		               r->peer == r->ann[i];
		if (current)
			continue;
		if ((r->tried >> i) & 1)
			return (int)i;
		if (worst < 0 || ranks_above(&t->peer[r->ann[worst]], &t->peer[r->ann[i]]))
			worst = (int)i;
	}
	if (worst >= 0 && ranks_above(&t->peer[slot], &t->peer[r->ann[worst]]))
		return worst;
	return -1;
}

rl_trk_res_t rl_trk_announce(rl_trk_t *t, const uint8_t id[RL_ID_LEN], rl_hash_t h, uint16_t slot,
                             uint64_t now)
{
	if (slot >= t->npeers || !t->peer[slot].up)
		return RL_TRK_KNOWN;
	int64_t e = rl_idtab_find(&t->tab, id, h);
	if (e >= 0) {
		uint32_t idx = (uint32_t)e;
		rl_req_t *r = &t->req[idx];
		for (unsigned i = 0; i < r->nann; i++)
			if (r->ann[i] == slot)
				return RL_TRK_KNOWN;
		unsigned k = r->nann;
		if (k >= RL_ALT_MAX) {
			int v = replace_victim(t, r, slot);
			if (v < 0)
				return RL_TRK_KNOWN;
			k = (unsigned)v;
			if (k == 0 && r->counted) { /* the creator's count goes with it */
				if (t->peer[r->ann[0]].announced)
					t->peer[r->ann[0]].announced--;
				r->counted = 0;
			}
			r->tried &= (uint8_t) ~(1u << k);
			t->st.replaced++;
		} else {
			r->nann++;
		}
		r->ann[k] = slot;
		/* it waits for a busy peer, or every earlier announcer was
		 * tried: this one may take it now */
		if (r->state == RL_REQ_WAITING && t->peer[slot].outstanding < t->peer_cap) {
			unlink_any(t, idx);
			ask(t, idx, k, now);
		}
		return RL_TRK_ADDED;
	}
	if (t->peer[slot].announced >= t->announce_cap) {
		t->st.peer_full++;
		return RL_TRK_PEER_FULL;
	}
	bool created;
	e = rl_idtab_add(&t->tab, id, h, &created);
	if (e < 0) {
		t->st.full++;
		return RL_TRK_FULL;
	}
	uint32_t idx = (uint32_t)e;
	rl_req_t *r = &t->req[idx];
	uint32_t gen = r->gen;
	*r =
	    (rl_req_t){.gen = gen, .nann = 1, .state = RL_REQ_FRESH, .counted = 1, .first_ns = now};
	r->ann[0] = slot;
	t->peer[slot].announced++;
	list_push(t, &t->fresh_head, &t->fresh_tail, idx);
	t->st.created++;
	return RL_TRK_NEW;
}

/* rl_trk_schedule: assignment waits for the end of the turn so that several announcers of
 * one id in the same batch of records compete (outbound preferred). */
void rl_trk_schedule(rl_trk_t *t, uint64_t now)
{
	while (t->fresh_head) {
		uint32_t idx = t->fresh_head - 1;
		list_unlink(t, &t->fresh_head, &t->fresh_tail, idx);
		t->req[idx].state = RL_REQ_FREE;
		assign(t, idx, now);
	}
}

/* rl_trk_done: the verdict frees the entry; capacity was given back at delivery. */
int rl_trk_done(rl_trk_t *t, const uint8_t id[RL_ID_LEN], rl_hash_t h, uint64_t now)
{
	int64_t e = rl_idtab_find(&t->tab, id, h);
	if (e < 0)
		return -1;
	uint32_t idx = (uint32_t)e;
	rl_req_t *r = &t->req[idx];
	int asked = r->state == RL_REQ_ASKED ? r->peer : -1;
	if (asked >= 0 && now >= r->asked_ns)
		ch_histo_add(&t->h_request, now - r->asked_ns);
	if (now >= r->first_ns)
		ch_histo_add(&t->h_announce, now - r->first_ns);
	unlink_any(t, idx);
	release(t, idx);
	t->st.done++;
	if (asked >= 0)
		pump(t, (uint16_t)asked, now);
	return asked;
}

bool rl_trk_notfound(rl_trk_t *t, const uint8_t id[RL_ID_LEN], rl_hash_t h, uint16_t slot,
                     uint64_t now)
{
	int64_t e = rl_idtab_find(&t->tab, id, h);
	if (e < 0)
		return false;
	uint32_t idx = (uint32_t)e;
	rl_req_t *r = &t->req[idx];
	if (r->state != RL_REQ_ASKED || r->peer != slot)
		return false;
	t->st.notfound++;
	t->peer[slot].failed++;
	answered(t, slot);
	unlink_any(t, idx);
	assign(t, idx, now);
	pump(t, slot, now);
	return true;
}

/* rl_trk_delivered: see inflight.h. */
bool rl_trk_delivered(rl_trk_t *t, uint16_t slot, uint64_t now)
{
	if (slot >= t->npeers || !t->peer[slot].outstanding)
		return false;
	answered(t, slot);
	pump(t, slot, now);
	return true;
}

/* rl_trk_expire: the FIFO is in deadline order: pop while the head is overdue. */
uint32_t rl_trk_expire(rl_trk_t *t, uint64_t now)
{
	uint32_t n = 0;
	while (t->asked_head) {
		uint32_t idx = t->asked_head - 1;
		rl_req_t *r = &t->req[idx];
		if (r->asked_ns + t->timeout_ns > now)
			break;
		uint16_t slot = r->peer;
		t->st.timeouts++;
		t->peer[slot].failed++;
		answered(t, slot);
		unlink_any(t, idx);
		assign(t, idx, now);
		pump(t, slot, now);
		n++;
	}
	return n;
}

/* rl_trk_deadline: the head of the FIFO is the next timeout. */
uint64_t rl_trk_deadline(const rl_trk_t *t)
{
	if (!t->asked_head)
		return 0;
	return t->req[t->asked_head - 1].asked_ns + t->timeout_ns;
}

/* rl_trk_take: the decisions are read in place (no copy). */
const rl_trk_out_t *rl_trk_take(const rl_trk_t *t, uint32_t *n)
{
	*n = t->nout;
	return t->out;
}

/* rl_trk_take_done: the caller sent them. */
void rl_trk_take_done(rl_trk_t *t)
{
	t->nout = 0;
}

/* rl_trk_live: a decision may have been overtaken within the turn (answered, moved). */
bool rl_trk_live(const rl_trk_t *t, const rl_trk_out_t *o)
{
	const rl_req_t *r = &t->req[o->idx];
	return r->gen == o->gen && r->state == RL_REQ_ASKED && r->peer == o->slot &&
	       t->tab.ent[o->idx].used;
}

/* rl_trk_id: the id stored in the table entry. */
const uint8_t *rl_trk_id(const rl_trk_t *t, uint32_t idx)
{
	return t->tab.ent[idx].id;
}

/* rl_trk_count: entries in use, for status. */
uint32_t rl_trk_count(const rl_trk_t *t)
{
	return t->tab.n;
}
