/* core.c: peers, transactions and announcements of the relay core
 * (core.h; blocks are in cblock.c). */
#include "core_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

#define NS_PER_MS 1000000ULL

/* An announcement flush goes out as one INV per peer. */
_Static_assert(RL_BATCH_MAX <= WIRE_INV_IDS_MAX, "a batch fits one INV");

/* ---------------------------------------------------------------- helpers */

rl_hash_t rl_core_hash(const rl_core_t *c, const uint8_t id[32])
{
	return rl_hash_id(c->cfg.hash_key, id);
}

/* handle_hash: peer handles go into the "gone" set through the same keyed hash. */
static rl_hash_t handle_hash(const rl_core_t *c, uint64_t handle)
{
	uint8_t id[32] = {0};
	memcpy(id, &handle, 8);
	id[31] = 0x68; /* a domain apart from ids */
	return rl_core_hash(c, id);
}

/* rl_misbehave: adds points to a peer, reported to transport (one record
 * per peer per turn, with the first reason) at the end of the turn. */
void rl_misbehave(rl_core_t *c, rl_peer_t *p, int points, const char *fmt, ...)
{
	if (points <= 0)
		return;
	p->points += (uint64_t)points;
	p->pend_points += points;
	if (!p->reported) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->pend_reason, sizeof(p->pend_reason), fmt, ap);
		va_end(ap);
		p->reported = true;
		c->report[c->nreport++] = p->slot;
	}
}

/* rl_out_send: one SEND ONE record; the byte counters are relay payload bytes. */
void rl_out_send(rl_core_t *c, rl_peer_t *p, uint8_t type, const uint8_t *payload, size_t len)
{
	uint8_t *d = shm_outq_begin(&c->out_tp, sizeof(ch_msg_send_t) + len);
	if (!d)
		return;
	ch_msg_send_t m = {.peer = p->handle, .type = type, .mode = CH_SEND_ONE};
	memcpy(d, &m, sizeof(m));
	memcpy(d + sizeof(m), payload, len);
	shm_outq_end(&c->out_tp, CH_TAG_SEND, sizeof(m) + len);
	p->bytes_out += len;
	c->st.bytes_out += len;
}

/* rl_send_ids: an INV-shaped message (INV, GETDATA, NOTFOUND) straight into
 * the transport queue. */
void rl_send_ids(rl_core_t *c, rl_peer_t *p, uint8_t type, const uint8_t *tx, uint32_t ntx,
                 const uint8_t *blk, uint32_t nblk)
{
	size_t max = rl_inv_size(ntx, nblk);
	uint8_t *d = shm_outq_begin(&c->out_tp, sizeof(ch_msg_send_t) + max);
	if (!d)
		return;
	ch_msg_send_t m = {.peer = p->handle, .type = type, .mode = CH_SEND_ONE};
	memcpy(d, &m, sizeof(m));
	size_t n = rl_inv_encode(d + sizeof(m), max, tx, ntx, blk, nblk);
	if (!n)
		return;
	shm_outq_end(&c->out_tp, CH_TAG_SEND, sizeof(m) + n);
	p->bytes_out += n;
	c->st.bytes_out += n;
}

/* rl_nf_add: NOTFOUND replies are gathered per turn so a peer gets one message. */
void rl_nf_add(rl_core_t *c, rl_peer_t *p, const uint8_t id[32], bool blk)
{
	if (c->nnf >= RL_NF_MAX)
		return; /* a peer asking this much unknown gets no answer to the rest */
	c->nf[c->nnf].slot = p->slot;
	c->nf[c->nnf].blk = blk;
	memcpy(c->nf[c->nnf].id, id, 32);
	c->nnf++;
}

/* ---------------------------------------------------------------- peers */

static uint32_t hm_home(const rl_core_t *c, uint64_t handle)
{
	return (uint32_t)((handle * 0x9E3779B97F4A7C15ULL) >> 32) & c->hmask;
}

/* rl_peer_find: every PEER_MSG looks its peer up: open addressing on the handle. */
rl_peer_t *rl_peer_find(rl_core_t *c, uint64_t handle)
{
	for (uint32_t i = hm_home(c, handle);; i = (i + 1) & c->hmask) {
		uint32_t v = c->hmap[i];
		if (!v)
			return NULL;
		if (c->peers[v - 1].handle == handle)
			return &c->peers[v - 1];
	}
}

/* hm_del: backward-shift deletion keeps probe runs intact without tombstones. */
static void hm_del(rl_core_t *c, uint64_t handle)
{
	uint32_t i = hm_home(c, handle);
	while (c->hmap[i] && c->peers[c->hmap[i] - 1].handle != handle)
		i = (i + 1) & c->hmask;
	if (!c->hmap[i])
		return;
	for (uint32_t j = (i + 1) & c->hmask; c->hmap[j]; j = (j + 1) & c->hmask) {
		uint32_t k = hm_home(c, c->peers[c->hmap[j] - 1].handle);
		bool stay = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (!stay) {
			c->hmap[i] = c->hmap[j];
			i = j;
		}
	}
	c->hmap[i] = 0;
}

/* announce_pool: a peer that just connected hears of what our pool holds
 * (up to RL_RESYNC_MAX ids, in INVs of WIRE_INV_IDS_MAX), so a node that was away
 * (restarted, partitioned) catches up on what it missed; it asks only for
 * what it lacks, and the known filter keeps these ids from being announced
 * to it again. */
static void announce_pool(rl_core_t *c, rl_peer_t *p)
{
	uint32_t k = 0, total = 0;
	for (uint32_t i = 0; i < c->pool.hw && total < RL_RESYNC_MAX; i++) {
		const rl_identry_t *e = &c->pool.ent[i];
		if (!e->used || !rl_fset_add(&p->known, rl_core_hash(c, e->id)))
			continue;
		memcpy(c->idbuf + 32 * (size_t)k++, e->id, 32);
		total++;
		if (k == WIRE_INV_IDS_MAX) {
			rl_send_ids(c, p, WIRE_INV, c->idbuf, k, NULL, 0);
			p->inv_out++;
			c->st.inv_out++;
			c->st.inv_ids_out += k;
			k = 0;
		}
	}
	if (k) {
		rl_send_ids(c, p, WIRE_INV, c->idbuf, k, NULL, 0);
		p->inv_out++;
		c->st.inv_out++;
		c->st.inv_ids_out += k;
	}
}

static rl_peer_t *peer_add(rl_core_t *c, uint64_t handle, bool inbound, bool block_only,
                           const char *addr, const uint8_t *pk, uint64_t grace_until, uint64_t now)
{
	rl_peer_t *p = rl_peer_find(c, handle);
	if (p)
		return p;
	uint32_t s = 0;
	while (s < c->maxpeers && c->peers[s].used)
		s++;
	if (s == c->maxpeers) {
		CH_LOG_WARN("relay peer table full (%u): peer %llu not relayed to", c->maxpeers,
		            (unsigned long long)handle);
		return NULL;
	}
	p = &c->peers[s];
	memset(p, 0, sizeof(*p));
	if (rl_fset_init(&p->known, RL_KNOWN_CAP, 2) != 0)
		return NULL;
	p->used = true;
	p->handle = handle;
	p->inbound = inbound;
	p->block_only = block_only;
	p->slot = (uint16_t)s;
	p->grace_until = grace_until;
	snprintf(p->addr, sizeof(p->addr), "%s", addr ? addr : "");
	if (pk)
		memcpy(p->pubkey, pk, 32);
	ch_tbucket_init(&p->inv_bucket, RL_INV_RATE, RL_INV_BURST, now);
	ch_tbucket_init(&p->unreq_bucket, RL_UNREQ_RATE, RL_UNREQ_BURST, now);
	ch_tbucket_init(&p->nf_bucket, RL_NOTFOUND_RATE, RL_NOTFOUND_BURST, now);
	ch_tbucket_init(&p->fail_bucket, RL_FAIL_RATE, RL_FAIL_BURST, now);
	ch_tbucket_init(&p->block_bucket, RL_BLOCK_RATE, RL_BLOCK_BURST, now);
	uint32_t i = hm_home(c, handle);
	while (c->hmap[i])
		i = (i + 1) & c->hmask;
	c->hmap[i] = s + 1;
	rl_trk_peer_up(&c->trk, p->slot, !inbound);
	c->npeers++;
	c->st.peers_up++;
	return p;
}

/* peer_del: the tracker hands the peer's requests to other announcers; its
 * handle is remembered as gone so late messages do not resurrect it. */
static void peer_del(rl_core_t *c, rl_peer_t *p, uint64_t now)
{
	rl_trk_peer_down(&c->trk, p->slot, now);
	hm_del(c, p->handle);
	rl_fset_add(&c->down, handle_hash(c, p->handle));
	/* gathered replies and reports for it are skipped by slot checks */
	for (uint32_t i = 0; i < c->nnf; i++)
		if (c->nf[i].slot == p->slot)
			c->nf[i].slot = UINT16_MAX;
	rl_fset_free(&p->known);
	uint16_t slot = p->slot;
	memset(p, 0, sizeof(*p));
	p->slot = slot;
	c->npeers--;
	c->st.peers_down++;
}

void rl_core_peer_restore(rl_core_t *c, uint64_t handle, bool inbound, bool block_only,
                          const char *addr, const uint8_t pubkey[32], uint64_t now)
{
	peer_add(c, handle, inbound, block_only, addr, pubkey, now + RL_GRACE_MS * NS_PER_MS, now);
}

/* ---------------------------------------------------------------- inputs */

/* decode_inv: an inventory payload, scoring what is wrong with it. */
static bool decode_inv(rl_core_t *c, rl_peer_t *p, const char *what, const uint8_t *pl,
                       uint32_t len)
{
	int rc = rl_inv_decode(pl, len, c->inv);
	if (rc == CH_ERANGE) {
		c->st.inv_oversized++;
		rl_misbehave(c, p, RL_PTS_OVERSIZED, "oversized %s (over %d ids)", what,
		             WIRE_INV_IDS_MAX);
		return false;
	}
	if (rc) {
		c->st.malformed++;
		rl_misbehave(c, p, RL_PTS_MALFORMED, "malformed %s", what);
		return false;
	}
	return true;
}

/* on_inv: an INV: the bucket bounds the work a peer can cause; each id is marked
 * known for the peer (it will not be announced back) and only ids nobody
 * has given us yet reach the tracker. */
static void on_inv(rl_core_t *c, rl_peer_t *p, const uint8_t *pl, uint32_t len, uint64_t now)
{
	if (!decode_inv(c, p, "INV", pl, len))
		return;
	rl_inv_t *inv = c->inv;
	uint32_t n = inv->ntx + inv->nblk;
	p->inv_in++;
	c->st.inv_in++;
	c->st.inv_ids_in += n;
	if (!ch_tbucket_take(&p->inv_bucket, n, now)) {
		c->st.inv_flood++;
		rl_misbehave(c, p, RL_PTS_FLOOD, "INV flood (over %.0f ids/s)", RL_INV_RATE);
		return;
	}
	/* a block-relay-only link carries no transactions: its side may not
	 * know (the hello does not say), so its tx ids are ignored */
	for (uint32_t i = 0; i < inv->ntx && !p->block_only; i++) {
		const uint8_t *id = inv->tx[i];
		rl_hash_t h = rl_core_hash(c, id);
		rl_fset_add(&p->known, h);
		if (rl_idtab_find(&c->pool, id, h) >= 0 || rl_fset_has(&c->seen, h) ||
		    rl_fset_has(&c->rejects, h)) {
			c->st.inv_known++;
			continue;
		}
		if (rl_trk_announce(&c->trk, id, h, p->slot, now) == RL_TRK_NEW)
			c->st.inv_new++;
	}
	/* block announcements share the peer's block bucket (5/s, burst
	 * 20): an INV of a thousand block ids asks for at most the burst */
	uint32_t over = 0;
	for (uint32_t i = 0; i < inv->nblk; i++) {
		rl_fset_add(&p->known, rl_core_hash(c, inv->blk[i]));
		if (!ch_tbucket_take(&p->block_bucket, 1, now)) {
			over++;
			continue;
		}
		rl_block_on_inv(c, p, inv->blk[i], now);
	}
	if (over) {
		c->st.block_inv_dropped += over;
		rl_misbehave(c, p, 5 * RL_PTS_FLOOD, "block announcements over %.0f/s",
		             RL_BLOCK_RATE);
	}
}

/* dedup_ids: drops the repeats of ids[0..*n) in place (the first of each
 * stays, in order); returns how many went.  A set of positions keyed by
 * the keyed hash, so the cost is linear and a peer cannot aim collisions. */
static uint32_t dedup_ids(const rl_core_t *c, const uint8_t **ids, uint32_t *n)
{
	enum { SLOTS = 2048 };
	_Static_assert(SLOTS >= 2 * WIRE_INV_IDS_MAX, "dedup set at most half full");
	uint16_t pos[SLOTS] = {0}; /* position in the kept ids + 1 */
	uint32_t k = 0;
	for (uint32_t i = 0; i < *n; i++) {
		size_t s = rl_core_hash(c, ids[i]).a & (SLOTS - 1);
		bool dup = false;
		for (; pos[s] && !dup; s = (s + 1) & (SLOTS - 1))
			dup = memcmp(ids[pos[s] - 1], ids[i], 32) == 0;
		if (dup)
			continue;
		ids[k] = ids[i];
		pos[s] = (uint16_t)(++k);
	}
	uint32_t gone = *n - k;
	*n = k;
	return gone;
}

/* unknown_asked: a GETDATA id we cannot serve: one point per 10 beyond
 * the peer's NOTFOUND bucket. */
static void unknown_asked(rl_core_t *c, rl_peer_t *p, uint64_t now)
{
	if (!ch_tbucket_take(&p->nf_bucket, 1, now) && ++p->nf_excess % 10 == 0)
		rl_misbehave(c, p, RL_PTS_FLOOD, "GETDATA for unknown transactions (over %.0f/s)",
		             RL_NOTFOUND_RATE);
}

/* on_getdata: a GETDATA: each id once (repeats are dropped and scored);
 * a transaction id is asked of the mempool, within the peer's serve cap,
 * only if the peer knows of it (we announced it, or it announced or sent
 * it; also anything during the grace after a relay restart, which forgot
 * what it had announced): any other is answered NOTFOUND and counted like
 * an unknown id.  Block ids and blktx are served from recent blocks. */
static void on_getdata(rl_core_t *c, rl_peer_t *p, const uint8_t *pl, uint32_t len, uint64_t now)
{
	if (!decode_inv(c, p, "GETDATA", pl, len))
		return;
	rl_inv_t *inv = c->inv;
	uint32_t dropped = 0;
	p->getdata_in++;
	c->st.getdata_in++;
	c->st.getdata_ids_in += inv->ntx + inv->nblk;
	uint32_t dups = dedup_ids(c, inv->tx, &inv->ntx) + dedup_ids(c, inv->blk, &inv->nblk);
	if (dups) {
		c->st.getdata_dups += dups;
		rl_misbehave(c, p, RL_PTS_MALFORMED, "GETDATA repeating %u ids", dups);
	}
	for (uint32_t i = 0; i < inv->ntx; i++) {
		if (now >= p->grace_until && !rl_fset_has(&p->known, rl_core_hash(c, inv->tx[i]))) {
			c->st.getdata_unannounced++;
			rl_nf_add(c, p, inv->tx[i], false);
			unknown_asked(c, p, now);
			continue;
		}
		if (p->serve_pending >= RL_PEER_SERVE_MAX) {
			dropped++;
			continue;
		}
		uint8_t *d = shm_outq_begin(&c->out_mp, sizeof(ch_msg_tx_request_t));
		if (!d)
			break;
		ch_msg_tx_request_t m = {.peer = p->handle};
		memcpy(m.id, inv->tx[i], 32);
		memcpy(d, &m, sizeof(m));
		shm_outq_end(&c->out_mp, CH_TAG_TX_REQUEST, sizeof(m));
		p->serve_pending++;
	}
	if (dropped) {
		c->st.serve_dropped += dropped;
		rl_misbehave(c, p, RL_PTS_FLOOD, "GETDATA beyond %d outstanding ids",
		             RL_PEER_SERVE_MAX);
	}
	rl_block_on_getdata(c, p, inv, now);
}

/* on_notfound: a NOTFOUND: the tracker moves what we asked of this peer to the next
 * announcer. */
static void on_notfound(rl_core_t *c, rl_peer_t *p, const uint8_t *pl, uint32_t len, uint64_t now)
{
	if (!decode_inv(c, p, "NOTFOUND", pl, len))
		return;
	rl_inv_t *inv = c->inv;
	p->notfound_in++;
	c->st.notfound_in++;
	for (uint32_t i = 0; i < inv->ntx; i++)
		if (rl_trk_notfound(&c->trk, inv->tx[i], rl_core_hash(c, inv->tx[i]), p->slot, now))
			c->fail_check = true;
	for (uint32_t i = 0; i < inv->nblk; i++)
		rl_block_on_notfound(c, p, inv->blk[i], now);
}

/* on_tx: a TX: relay never decodes it; it answers one outstanding request of
 * the peer or is unrequested (bucket, then dropped and scored). */
static void on_tx(rl_core_t *c, rl_peer_t *p, const uint8_t *pl, uint32_t len, uint64_t now)
{
	const uint8_t *enc;
	uint32_t el;
	if (rl_tx_decode(pl, len, &enc, &el) != 0 || el == 0 ||
	    el + sizeof(ch_msg_tx_submit_t) > c->cfg.ring_max_msg) {
		c->st.malformed++;
		rl_misbehave(c, p, RL_PTS_MALFORMED, "malformed TX payload");
		return;
	}
	p->tx_in++;
	c->st.tx_in++;
	if (rl_trk_delivered(&c->trk, p->slot, now)) {
		/* an answer to one of our requests */
	} else if (!c->flood && now >= p->grace_until) {
		/* nothing asked of it is outstanding: pushed without a request */
		p->unrequested++;
		c->st.tx_unrequested++;
		if (!ch_tbucket_take(&p->unreq_bucket, 1, now)) {
			c->st.tx_unreq_dropped++;
			rl_misbehave(c, p, RL_PTS_FLOOD, "unrequested TX (over %.0f/s)",
			             RL_UNREQ_RATE);
			return;
		}
	}
	uint8_t *d = shm_outq_begin(&c->out_mp, sizeof(ch_msg_tx_submit_t) + el);
	if (!d)
		return;
	ch_msg_tx_submit_t m = {.peer = p->handle, .len = el};
	memcpy(d, &m, sizeof(m));
	memcpy(d + sizeof(m), enc, el);
	shm_outq_end(&c->out_mp, CH_TAG_TX_SUBMIT, sizeof(m) + el);
	c->st.tx_submitted++;
}

/* rl_core_on_transport: one transport.relay record, read through the validating view; a
 * bad record is counted and skipped. */
void rl_core_on_transport(rl_core_t *c, uint32_t tag, const uint8_t *p, uint32_t len, uint64_t now)
{
	ch_msg_t v;
	if (ch_msg_view(tag, p, len, &v) != 0) {
		c->st.bad_records++;
		return;
	}
	switch (tag) {
	case CH_TAG_PEER_UP: {
		const ch_msg_peer_up_t *m = &v.m.peer_up;
		rl_peer_t *np = peer_add(c, m->peer, m->inbound,
		                         (m->flags & (CH_PEER_BLOCK_RELAY | CH_PEER_NO_RELAY)) != 0,
		                         m->addr, m->pubkey, 0, now);
		if (np && !np->block_only)
			announce_pool(c, np);
		return;
	}
	case CH_TAG_PEER_DOWN: {
		rl_peer_t *peer = rl_peer_find(c, v.m.peer_down.peer);
		if (peer)
			peer_del(c, peer, now);
		else
			rl_fset_add(&c->down, handle_hash(c, v.m.peer_down.peer));
		return;
	}
	case CH_TAG_TRANSPORT_RESET:
		for (uint32_t i = 0; i < c->maxpeers; i++)
			if (c->peers[i].used)
				peer_del(c, &c->peers[i], now);
		c->st.resets++;
		return;
	case CH_TAG_PEER_MSG: {
		const ch_msg_peer_msg_t *m = &v.m.peer_msg;
		rl_peer_t *peer = rl_peer_find(c, m->peer);
		if (!peer) {
			/* a peer we were not told about (a restart lost its
			 * PEER_UP): adopt it, unless it is known to be gone */
			c->st.unknown_peer_msgs++;
			if (rl_fset_has(&c->down, handle_hash(c, m->peer)))
				return;
			peer = peer_add(c, m->peer, true, false, "", NULL,
			                now + RL_GRACE_MS * NS_PER_MS, now);
			if (!peer)
				return;
		}
		const uint8_t *pl = v.body;
		uint32_t pl_len = v.body_len;
		peer->bytes_in += pl_len;
		c->st.bytes_in += pl_len;
		switch (m->type) {
		case WIRE_INV:
			on_inv(c, peer, pl, pl_len, now);
			break;
		case WIRE_GETDATA:
			on_getdata(c, peer, pl, pl_len, now);
			break;
		case WIRE_NOTFOUND:
			on_notfound(c, peer, pl, pl_len, now);
			break;
		case WIRE_TX:
			on_tx(c, peer, pl, pl_len, now);
			break;
		case WIRE_BLOCK:
			rl_block_on_msg(c, peer, pl, pl_len, now);
			break;
		default:
			break; /* transport hands relay only the types above */
		}
		return;
	}
	default: /* a record of another ring */
		c->st.bad_records++;
	}
}

/* ---------------------------------------------------------------- mempool */

static void on_accepted(rl_core_t *c, const ch_msg_tx_accepted_t *m, uint64_t now)
{
	rl_hash_t h = rl_core_hash(c, m->id);
	c->st.accepted++;
	if (rl_idtab_add(&c->pool, m->id, h, NULL) < 0)
		c->st.poolset_full++;
	rl_fset_add(&c->seen, h);
	rl_trk_done(&c->trk, m->id, h, now);
	rl_peer_t *origin = m->peer ? rl_peer_find(c, m->peer) : NULL;
	if (origin)
		rl_fset_add(&origin->known, h);
	if (c->flood) {
		uint8_t *d = shm_outq_begin(&c->out_mp, sizeof(ch_msg_tx_request_t));
		if (!d)
			return;
		ch_msg_tx_request_t r = {.peer = RL_FLOOD_BIT | m->peer};
		memcpy(r.id, m->id, 32);
		memcpy(d, &r, sizeof(r));
		shm_outq_end(&c->out_mp, CH_TAG_TX_REQUEST, sizeof(r));
		return;
	}
	if (c->nbatch >= RL_BATCH_MAX)
		return; /* cannot happen: inputs stop while the batch is full */
	rl_batch_ent_t *e = &c->batch[c->nbatch++];
	memcpy(e->id, m->id, 32);
	e->h = h;
	e->fee = m->fee;
	e->size = m->size ? m->size : 1;
	e->origin = m->peer;
	/* the delay spaces flushes at least announce_ns apart: after a quiet
	 * spell the first announcement goes out at the end of this turn,
	 * under load announcements gather for up to announce_ns */
	if (c->nbatch == 1)
		c->batch_deadline = c->last_flush_ns + c->cfg.announce_ns > now
		                        ? c->last_flush_ns + c->cfg.announce_ns
		                        : now;
}

/* on_rejected: a rejection tells the id of what a peer sent; what is remembered
 * depends on whether the reason comes from the signed content. */
static void on_rejected(rl_core_t *c, const ch_msg_tx_rejected_t *m, uint64_t now)
{
	static const uint8_t zero[32];
	rl_peer_t *p = m->peer ? rl_peer_find(c, m->peer) : NULL;
	c->st.rejected++;
	if (memcmp(m->id, zero, 32) == 0) {
		if (p)
			rl_misbehave(c, p, RL_PTS_MALFORMED, "unreadable transaction");
		return;
	}
	rl_hash_t h = rl_core_hash(c, m->id);
	rl_trk_done(&c->trk, m->id, h, now);
	if (p)
		rl_fset_add(&p->known, h);
	switch (m->reason) {
	case CH_TXR_DUPLICATE:
		/* it is in the pool: a copy we did not need */
		rl_idtab_add(&c->pool, m->id, h, NULL);
		rl_fset_add(&c->seen, h);
		c->st.dup_tx_in++;
		if (p)
			p->dup_tx_in++;
		break;
	case CH_TXR_FEE_TOO_LOW:
	case CH_TXR_RECENTLY_REJECTED:
	case CH_TXR_REPLACEMENT_FEE:
	case CH_TXR_SENDER_LIMIT:
	case CH_TXR_POOL_FULL:
	case CH_TXR_EXPIRED:
		rl_fset_add(&c->rejects, h);
		break;
	case CH_TXR_BAD_SIG:
	case CH_TXR_MALFORMED:
	case CH_TXR_TOO_LARGE:
		/* never remembered: the signature is outside the id, so a
		 * forged copy must not block the real one */
		if (p)
			rl_misbehave(c, p, RL_PTS_MALFORMED, "invalid transaction");
		break;
	default:
		break;
	}
}

/* on_tx_data: the mempool serves a request: to the peer that asked, or (flood
 * baseline) to every peer but the origin. */
static void on_tx_data(rl_core_t *c, const ch_msg_tx_data_t *m, const uint8_t *enc, uint64_t now)
{
	size_t max = m->len + RL_TX_WRAP;
	if (m->peer & RL_FLOOD_BIT) {
		uint64_t origin = m->peer & ~RL_FLOOD_BIT;
		uint8_t *d = shm_outq_begin(&c->out_tp, sizeof(ch_msg_send_t) + max);
		if (!d)
			return;
		ch_msg_send_t s = {.except = origin, .type = WIRE_TX, .mode = CH_SEND_ALL};
		memcpy(d, &s, sizeof(s));
		size_t n = rl_tx_encode(d + sizeof(s), max, enc, m->len);
		shm_outq_end(&c->out_tp, CH_TAG_SEND, sizeof(s) + n);
		for (uint32_t i = 0; i < c->maxpeers; i++) {
			rl_peer_t *p = &c->peers[i];
			if (p->used && p->handle != origin) {
				p->tx_out++;
				p->bytes_out += n;
				c->st.tx_out++;
				c->st.bytes_out += n;
				c->st.flood_sent++;
			}
		}
		return;
	}
	rl_peer_t *p = rl_peer_find(c, m->peer);
	if (!p)
		return;
	if (p->serve_pending)
		p->serve_pending--;
	uint8_t *d = shm_outq_begin(&c->out_tp, sizeof(ch_msg_send_t) + max);
	if (!d)
		return;
	ch_msg_send_t s = {.peer = p->handle, .type = WIRE_TX, .mode = CH_SEND_ONE};
	memcpy(d, &s, sizeof(s));
	size_t n = rl_tx_encode(d + sizeof(s), max, enc, m->len);
	shm_outq_end(&c->out_tp, CH_TAG_SEND, sizeof(s) + n);
	rl_fset_add(&p->known, rl_core_hash(c, m->id));
	p->tx_out++;
	p->bytes_out += n;
	c->st.tx_out++;
	c->st.served++;
	c->st.bytes_out += n;
	(void)now;
}

/* on_tx_notfound: the mempool lacks what a peer asked for. */
static void on_tx_notfound(rl_core_t *c, const ch_msg_tx_request_t *m, uint64_t now)
{
	rl_peer_t *p = rl_peer_find(c, m->peer);
	if (!p)
		return;
	if (p->serve_pending)
		p->serve_pending--;
	rl_nf_add(c, p, m->id, false);
	unknown_asked(c, p, now);
}

/* rl_core_on_mempool: one mempool.relay record, read like transport's. */
void rl_core_on_mempool(rl_core_t *c, uint32_t tag, const uint8_t *p, uint32_t len, uint64_t now)
{
	ch_msg_t v;
	if (ch_msg_view(tag, p, len, &v) != 0) {
		c->st.bad_records++;
		return;
	}
	switch (tag) {
	case CH_TAG_TX_ACCEPTED:
		on_accepted(c, &v.m.tx_accepted, now);
		return;
	case CH_TAG_TX_REJECTED:
		on_rejected(c, &v.m.tx_rejected, now);
		return;
	case CH_TAG_TX_DATA:
		on_tx_data(c, &v.m.tx_data, v.body, now);
		return;
	case CH_TAG_TX_NOTFOUND:
		on_tx_notfound(c, &v.m.tx_request, now);
		return;
	case CH_TAG_TX_REMOVED: {
		rl_hash_t h = rl_core_hash(c, v.m.tx_removed.id);
		int64_t e = rl_idtab_find(&c->pool, v.m.tx_removed.id, h);
		if (e >= 0)
			rl_idtab_del(&c->pool, (uint32_t)e);
		rl_fset_add(&c->seen, h); /* never fetch it again */
		c->st.removed++;
		return;
	}
	default: /* a record of another ring */
		c->st.bad_records++;
	}
}

/* ---------------------------------------------------------------- turn end */

static int cmp_out(const void *a, const void *b)
{
	const rl_trk_out_t *x = a, *y = b;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* send_getdata: k ids of idbuf asked of p. */
static void send_getdata(rl_core_t *c, rl_peer_t *p, uint32_t k)
{
	if (!p->used)
		return;
	rl_send_ids(c, p, WIRE_GETDATA, c->idbuf, k, NULL, 0);
	p->getdata_out++;
	c->st.getdata_out++;
	c->st.getdata_ids_out += k;
}

/* emit_requests: the tracker's decisions as one GETDATA per peer (per
 * WIRE_INV_IDS_MAX ids). */
static int emit_requests(rl_core_t *c)
{
	uint32_t n;
	rl_trk_out_t *o = (rl_trk_out_t *)rl_trk_take(&c->trk, &n);
	if (!n)
		return 0;
	qsort(o, n, sizeof(*o), cmp_out);
	for (uint32_t i = 0; i < n;) {
		uint16_t slot = o[i].slot;
		rl_peer_t *p = &c->peers[slot];
		uint32_t k = 0;
		for (; i < n && o[i].slot == slot; i++) {
			if (!rl_trk_live(&c->trk, &o[i]))
				continue;
			memcpy(c->idbuf + 32 * (size_t)k++, rl_trk_id(&c->trk, o[i].idx), 32);
			if (k == WIRE_INV_IDS_MAX) {
				send_getdata(c, p, k);
				k = 0;
			}
		}
		if (k)
			send_getdata(c, p, k);
	}
	rl_trk_take_done(&c->trk);
	return 1;
}

/* cmp_nf: groups NOTFOUND replies by peer. */
static int cmp_nf(const void *a, const void *b)
{
	const rl_nf_t *x = a, *y = b;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* emit_nf: this turn's NOTFOUND replies, one message per peer. */
static void emit_nf(rl_core_t *c)
{
	qsort(c->nf, c->nnf, sizeof(rl_nf_t), cmp_nf);
	for (uint32_t i = 0; i < c->nnf;) {
		uint16_t slot = c->nf[i].slot;
		uint32_t ntx = 0, nblk = 0;
		uint8_t *blk = c->msgbuf;
		for (; i < c->nnf && c->nf[i].slot == slot && ntx + nblk < WIRE_INV_IDS_MAX; i++) {
			if (c->nf[i].blk)
				memcpy(blk + 32 * (size_t)nblk++, c->nf[i].id, 32);
			else
				memcpy(c->idbuf + 32 * (size_t)ntx++, c->nf[i].id, 32);
		}
		if (slot == UINT16_MAX || !c->peers[slot].used)
			continue;
		rl_send_ids(c, &c->peers[slot], WIRE_NOTFOUND, c->idbuf, ntx, blk, nblk);
		c->peers[slot].notfound_out++;
		c->st.notfound_out++;
	}
	c->nnf = 0;
}

/* cmp_feerate: fee rates compared exactly by cross-multiplication, best first. */
static int cmp_feerate(const void *a, const void *b)
{
	const rl_batch_ent_t *x = a, *y = b;
	unsigned __int128 l = (unsigned __int128)x->fee * y->size;
	unsigned __int128 r = (unsigned __int128)y->fee * x->size;
	return l > r ? -1 : l < r;
}

/* flush_batch: the announcement tick: one INV per peer with the batch's
 * ids it is not known to have, highest fee rate first. */
static void flush_batch(rl_core_t *c, uint64_t now)
{
	qsort(c->batch, c->nbatch, sizeof(rl_batch_ent_t), cmp_feerate);
	for (uint32_t s = 0; s < c->maxpeers; s++) {
		rl_peer_t *p = &c->peers[s];
		if (!p->used || p->block_only)
			continue;
		uint32_t k = 0;
		for (uint32_t i = 0; i < c->nbatch; i++) {
			const rl_batch_ent_t *e = &c->batch[i];
			if (e->origin == p->handle || !rl_fset_add(&p->known, e->h)) {
				c->st.filtered_dups++;
				continue;
			}
			memcpy(c->idbuf + 32 * (size_t)k++, e->id, 32);
		}
		if (!k)
			continue;
		rl_send_ids(c, p, WIRE_INV, c->idbuf, k, NULL, 0);
		p->inv_out++;
		c->st.inv_out++;
		c->st.inv_ids_out += k;
	}
	c->nbatch = 0;
	c->st.announce_flushes++;
	c->last_flush_ns = now;
}

/* check_failures: announced-but-not-delivered counts from the tracker go
 * through each peer's bucket; what overflows it is scored. */
static void check_failures(rl_core_t *c, uint64_t now)
{
	for (uint32_t s = 0; s < c->maxpeers; s++) {
		rl_peer_t *p = &c->peers[s];
		uint32_t f = c->trk.peer[s].failed;
		if (!p->used || !f)
			continue;
		c->trk.peer[s].failed = 0;
		uint32_t excess = 0;
		for (uint32_t k = 0; k < f; k++)
			if (!ch_tbucket_take(&p->fail_bucket, 1, now))
				excess++;
		if (excess) {
			c->st.fail_points += excess;
			rl_misbehave(c, p, (int)(excess * RL_PTS_FLOOD),
			             "announced transactions not delivered");
		}
	}
	c->fail_check = false;
}

/* emit_reports: one MISBEHAVE record per peer per turn, points summed (transport
 * takes at most CH_MISBEHAVE_POINTS_MAX at a time). */
static void emit_reports(rl_core_t *c)
{
	for (uint32_t i = 0; i < c->nreport; i++) {
		rl_peer_t *p = &c->peers[c->report[i]];
		if (!p->used || !p->reported)
			continue;
		uint8_t *d = shm_outq_begin(&c->out_tp, sizeof(ch_msg_misbehave_t));
		if (!d)
			break;
		ch_msg_misbehave_t m = {.peer = p->handle,
		                        .points = p->pend_points > CH_MISBEHAVE_POINTS_MAX
		                                      ? CH_MISBEHAVE_POINTS_MAX
		                                      : p->pend_points};
		snprintf(m.reason, sizeof(m.reason), "%s", p->pend_reason);
		memcpy(d, &m, sizeof(m));
		shm_outq_end(&c->out_tp, CH_TAG_MISBEHAVE, sizeof(m));
		p->reported = false;
		p->pend_points = 0;
		c->st.misbehave_reports++;
	}
	c->nreport = 0;
}

/* rl_core_turn_end: the end of a loop turn: what the inputs decided goes out together. */
int rl_core_turn_end(rl_core_t *c, uint64_t now)
{
	int did = 0;
	if (rl_trk_expire(&c->trk, now)) {
		c->fail_check = true;
		did++;
	}
	rl_trk_schedule(&c->trk, now);
	did += emit_requests(c);
	did += rl_block_tick(c, now);
	if (c->nnf) {
		emit_nf(c);
		did++;
	}
	if (c->nbatch && (now >= c->batch_deadline || c->nbatch >= RL_BATCH_MAX)) {
		flush_batch(c, now);
		did++;
	}
	if (c->fail_check)
		check_failures(c, now);
	if (c->nreport) {
		emit_reports(c);
		did++;
	}
	return did;
}

/* ---------------------------------------------------------------- life */

rl_core_t *rl_core_new(const rl_cfg_t *cfg, uint64_t now)
{
	if (!cfg || cfg->max_peers == 0 || cfg->max_peers > 8192 || cfg->ring_max_msg < 65536)
		return NULL;
	rl_core_t *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cfg = *cfg;
	if (!c->cfg.announce_ns)
		c->cfg.announce_ns = RL_ANNOUNCE_MS * NS_PER_MS;
	if (!c->cfg.req_timeout_ns)
		c->cfg.req_timeout_ns = RL_REQ_TIMEOUT_MS * NS_PER_MS;
	c->maxpeers = cfg->max_peers;
	uint32_t hs = 16;
	while (hs < 4 * c->maxpeers)
		hs <<= 1;
	c->hmask = hs - 1;
	c->hmap = calloc(hs, sizeof(uint32_t));
	c->peers = calloc(c->maxpeers, sizeof(rl_peer_t));
	c->report = calloc(c->maxpeers, sizeof(uint16_t));
	c->batch = calloc(RL_BATCH_MAX, sizeof(rl_batch_ent_t));
	c->inv = malloc(sizeof(rl_inv_t));
	c->nf = calloc(RL_NF_MAX, sizeof(rl_nf_t));
	c->idbuf = malloc(32 * (size_t)WIRE_INV_IDS_MAX);
	c->block_max = rl_block_max_txs(cfg->ring_max_msg);
	if (!c->hmap || !c->peers || !c->report || !c->batch || !c->inv || !c->nf || !c->idbuf ||
	    rl_fset_init(&c->down, RL_DOWN_CAP, 2) || rl_fset_init(&c->seen, RL_SEEN_CAP, 2) ||
	    rl_fset_init(&c->rejects, RL_REJECTS_CAP, 2) ||
	    rl_idtab_init(&c->pool, RL_POOLSET_MAX) ||
	    rl_trk_init(&c->trk, RL_INFLIGHT_MAX, c->maxpeers, RL_PEER_INFLIGHT_MAX,
	                RL_PEER_ANNOUNCED_MAX, c->cfg.req_timeout_ns) ||
	    rl_blocks_init(c)) {
		rl_core_free(&c);
		return NULL;
	}
	for (uint32_t i = 0; i < c->maxpeers; i++)
		c->peers[i].slot = (uint16_t)i;
	(void)now;
	return c;
}

/* rl_core_free: safe twice: clears the caller's pointer. */
void rl_core_free(rl_core_t **cp)
{
	if (!cp || !*cp)
		return;
	rl_core_t *c = *cp;
	if (c->peers)
		for (uint32_t i = 0; i < c->maxpeers; i++)
			rl_fset_free(&c->peers[i].known);
	rl_blocks_free(c);
	rl_trk_free(&c->trk);
	rl_idtab_free(&c->pool);
	rl_fset_free(&c->down);
	rl_fset_free(&c->seen);
	rl_fset_free(&c->rejects);
	shm_outq_free(&c->out_tp);
	shm_outq_free(&c->out_mp);
	free(c->hmap);
	free(c->peers);
	free(c->report);
	free(c->batch);
	free(c->inv);
	free(c->nf);
	free(c->idbuf);
	free(c);
	*cp = NULL;
}
