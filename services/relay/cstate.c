/* cstate.c: the relay core's read-only views
 * (flow control for the frame, counters and per-peer state for commands
 * and metrics), apart from the logic in core.c and cblock.c. */
#include "core_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- state */

bool rl_core_can_take_transport(const rl_core_t *c)
{
	return shm_outq_bytes(&c->out_tp) < RL_OUTQ_SOFT &&
	       shm_outq_bytes(&c->out_mp) < RL_OUTQ_SOFT && c->nreport < c->maxpeers / 2 &&
	       c->nnf < RL_NF_MAX - WIRE_INV_IDS_MAX;
}

/* rl_core_can_take_mempool: see the comment inside: no wait on relay.mempool here. */
bool rl_core_can_take_mempool(const rl_core_t *c)
{
	/* records from the mempool only produce output to transport (the
	 * flood baseline aside): waiting on relay.mempool here could close a
	 * cycle with the mempool waiting on us */
	if (c->flood && shm_outq_bytes(&c->out_mp) >= 4 * RL_OUTQ_SOFT)
		return false;
	return c->nbatch < RL_BATCH_MAX && shm_outq_bytes(&c->out_tp) < RL_OUTQ_SOFT &&
	       c->nnf < RL_NF_MAX;
}

/* rl_core_batch_empty: mempool.relay may be committed only with no announcement waiting. */
bool rl_core_batch_empty(const rl_core_t *c)
{
	return c->nbatch == 0;
}

/* rl_core_deadline: the earliest of the announcement, request and block deadlines. */
uint64_t rl_core_deadline(const rl_core_t *c)
{
	uint64_t d = c->nbatch ? c->batch_deadline : 0;
	uint64_t t = rl_trk_deadline(&c->trk), b = rl_block_deadline(c);
	if (t && (!d || t < d))
		d = t;
	if (b && (!d || b < d))
		d = b;
	return d;
}

/* rl_core_out_transport: the queue for relay.transport (svc.c copies it into the ring). */
shm_outq_t *rl_core_out_transport(rl_core_t *c)
{
	return &c->out_tp;
}

/* rl_core_out_mempool: the queue for relay.mempool. */
shm_outq_t *rl_core_out_mempool(rl_core_t *c)
{
	return &c->out_mp;
}

/* rl_core_set_flood: the bench switches every node to its baseline with this. */
void rl_core_set_flood(rl_core_t *c, bool on)
{
	c->flood = on;
}

/* rl_core_flood: for status and the commit rule. */
bool rl_core_flood(const rl_core_t *c)
{
	return c->flood;
}

/* rl_core_stats: counters for status and metrics. */
const rl_stats_t *rl_core_stats(const rl_core_t *c)
{
	return &c->st;
}

/* rl_core_histo: the request (0) or announcement (1) latency histogram. */
const ch_histo_t *rl_core_histo(const rl_core_t *c, int which)
{
	return which ? &c->trk.h_announce : &c->trk.h_request;
}

/* rl_core_peers: a copy of each peer's state for the peers command. */
uint32_t rl_core_peers(const rl_core_t *c, rl_peer_info_t *out, uint32_t cap)
{
	uint32_t n = 0;
	for (uint32_t s = 0; s < c->maxpeers; s++) {
		const rl_peer_t *p = &c->peers[s];
		if (!p->used)
			continue;
		if (n < cap) {
			rl_peer_info_t *o = &out[n];
			memset(o, 0, sizeof(*o));
			o->handle = p->handle;
			o->inbound = p->inbound;
			o->block_only = p->block_only;
			snprintf(o->addr, sizeof(o->addr), "%s", p->addr);
			memcpy(o->pubkey, p->pubkey, 32);
			o->known = (uint32_t)(p->known.inserted < RL_KNOWN_CAP ? p->known.inserted
			                                                       : RL_KNOWN_CAP);
			o->inflight = c->trk.peer[s].inflight;
			o->announced = c->trk.peer[s].announced;
			o->serve_pending = p->serve_pending;
			o->inv_in = p->inv_in;
			o->inv_out = p->inv_out;
			o->getdata_in = p->getdata_in;
			o->getdata_out = p->getdata_out;
			o->notfound_in = p->notfound_in;
			o->notfound_out = p->notfound_out;
			o->tx_in = p->tx_in;
			o->tx_out = p->tx_out;
			o->blocks_in = p->blocks_in;
			o->blocks_out = p->blocks_out;
			o->dup_tx_in = p->dup_tx_in;
			o->unrequested = p->unrequested;
			o->points = p->points;
			o->bytes_in = p->bytes_in;
			o->bytes_out = p->bytes_out;
		}
		n++;
	}
	return n;
}

/* rl_core_state: table sizes and the memory bound for status. */
void rl_core_state(const rl_core_t *c, rl_state_info_t *o)
{
	memset(o, 0, sizeof(*o));
	o->peers = c->npeers;
	o->inflight = rl_trk_count(&c->trk);
	o->poolset = c->pool.n;
	o->batch = c->nbatch;
	for (int i = 0; i < RL_PENDING_BLOCKS; i++)
		o->pending_blocks += c->pend[i].used;
	for (int i = 0; i < RL_BLOCKS_KEEP; i++)
		o->recent_blocks += c->blocks[i].used;
	o->tip_height = c->tip_height;
	o->outq_transport = shm_outq_bytes(&c->out_tp);
	o->outq_mempool = shm_outq_bytes(&c->out_mp);
	o->memory = rl_fset_bytes(&c->seen) + rl_fset_bytes(&c->rejects) + rl_fset_bytes(&c->down) +
	            ((size_t)c->pool.mask + 1) * 4 + (size_t)c->pool.cap * sizeof(rl_identry_t) +
	            ((size_t)c->trk.tab.mask + 1) * 4 +
	            (size_t)c->trk.tab.cap * (sizeof(rl_identry_t) + sizeof(rl_req_t)) +
	            c->out_tp.cap + c->out_mp.cap + sizeof(rl_producers_t);
	for (uint32_t s = 0; s < c->maxpeers; s++)
		if (c->peers[s].used)
			o->memory += rl_fset_bytes(&c->peers[s].known);
	o->trk_timeouts = c->trk.st.timeouts;
	o->trk_dropped = c->trk.st.dropped;
	o->trk_full = c->trk.st.full;
	o->trk_peer_full = c->trk.st.peer_full;
	o->trk_reasked = c->trk.st.reasked;
}

/* rl_core_in_pool: for tests. */
bool rl_core_in_pool(const rl_core_t *c, const uint8_t id[32])
{
	return rl_idtab_find(&c->pool, id, rl_core_hash(c, id)) >= 0;
}

/* rl_core_has_block: for tests. */
bool rl_core_has_block(const rl_core_t *c, const uint8_t id[32])
{
	return rl_block_find(c, id) != NULL;
}
