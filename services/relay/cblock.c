/* cblock.c: blocks in the relay core: receiving full and compact blocks,
 * completing compact ones by request, serving recent blocks, relaying
 * accepted blocks ahead of transactions, and producing blocks
 * (docs/relay.md, "Blocks"). */
#include "core_int.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

#define NS_PER_MS 1000000ULL

/* rl_blocks_init: scratch buffers sized once from the block limit: receiving a block
 * allocates nothing but the copies that are kept. */
int rl_blocks_init(rl_core_t *c)
{
	uint32_t n = c->block_max ? c->block_max : 1;
	c->msgcap = RL_BLOCK_HDR_MAX + 64 + (size_t)n * RL_BLOCK_ID_BYTES;
	if (c->msgcap < 32 * (size_t)WIRE_INV_IDS_MAX)
		c->msgcap = 32 * (size_t)WIRE_INV_IDS_MAX;
	uint32_t ms = 16;
	while (ms < 2 * n)
		ms <<= 1;
	c->sidmask = ms - 1;
	c->msgbuf = malloc(c->msgcap);
	c->blk_txs = malloc(32 * (size_t)n);
	c->blk_idx = malloc(sizeof(uint32_t) * n);
	c->sidmap = calloc(ms, sizeof(uint32_t));
	c->sids = calloc(n, sizeof(uint64_t));
	c->prod = calloc(1, sizeof(*c->prod));
	return c->msgbuf && c->blk_txs && c->blk_idx && c->sidmap && c->sids && c->prod ? 0
	                                                                                : CH_ENOMEM;
}

/* pending_drop: frees a pending compact block (safe on an unused slot). */
static void pending_drop(rl_pending_t *pd)
{
	free(pd->b.txs);
	free(pd->have);
	memset(pd, 0, sizeof(*pd));
}

/* rl_blocks_free: everything the block side owns. */
void rl_blocks_free(rl_core_t *c)
{
	for (int i = 0; i < RL_BLOCKS_KEEP; i++)
		free(c->blocks[i].b.txs);
	for (int i = 0; i < RL_PENDING_BLOCKS; i++)
		pending_drop(&c->pend[i]);
	free(c->msgbuf);
	free(c->blk_txs);
	free(c->blk_idx);
	free(c->sidmap);
	free(c->sids);
	free(c->prod);
}

void rl_core_set_producers(rl_core_t *c, const rl_producers_t *s)
{
	*c->prod = *s;
}

const rl_producers_t *rl_core_producers(const rl_core_t *c)
{
	return c->prod;
}

/* producer_ok: the block's producer may produce (always, with no set). */
static bool producer_ok(const rl_core_t *c, const uint8_t producer[32])
{
	return c->prod->n == 0 || rl_prod_has(c->prod, producer);
}

/* rl_block_find: recent blocks are few (RL_BLOCKS_KEEP): a scan is cheapest. */
const rl_blockrec_t *rl_block_find(const rl_core_t *c, const uint8_t id[32])
{
	for (int i = 0; i < RL_BLOCKS_KEEP; i++)
		if (c->blocks[i].used && memcmp(c->blocks[i].b.id, id, 32) == 0)
			return &c->blocks[i];
	return NULL;
}

/* pending_find: pending compact blocks are few (RL_PENDING_BLOCKS). */
static rl_pending_t *pending_find(rl_core_t *c, const uint8_t id[32])
{
	for (int i = 0; i < RL_PENDING_BLOCKS; i++)
		if (c->pend[i].used && memcmp(c->pend[i].b.id, id, 32) == 0)
			return &c->pend[i];
	return NULL;
}

/* block_known: accepted recently (or listed in the seen-cache). */
static bool block_known(rl_core_t *c, const uint8_t id[32])
{
	return rl_block_find(c, id) || rl_fset_has(&c->seen, rl_core_hash(c, id));
}

/* store: keeps a copy of an accepted block in place of the oldest. */
static int store(rl_core_t *c, const rl_block_t *b)
{
	int slot = 0;
	for (int i = 0; i < RL_BLOCKS_KEEP; i++) {
		if (!c->blocks[i].used) {
			slot = i;
			break;
		}
		if (c->blocks[i].seq < c->blocks[slot].seq)
			slot = i;
	}
	rl_blockrec_t *r = &c->blocks[slot];
	uint8_t *txs = malloc(32 * (size_t)(b->ntx ? b->ntx : 1));
	if (!txs)
		return CH_ENOMEM;
	free(r->b.txs);
	r->b = *b;
	r->b.txs = txs;
	memcpy(txs, b->txs, 32 * (size_t)b->ntx);
	r->used = true;
	r->seq = ++c->block_seq;
	return 0;
}

/* accept: a verified block: kept, its ids marked seen, the mempool told,
 * and pushed in compact form to every peer not known to have it, ahead of
 * any announcement still waiting for its tick. */
static void accept(rl_core_t *c, const rl_block_t *b, rl_peer_t *from, bool compact,
                   uint32_t missing, uint64_t started, uint64_t now, uint32_t *relayed)
{
	if (store(c, b) != 0)
		return;
	c->st.blocks_accepted++;
	rl_fset_add(&c->seen, rl_core_hash(c, b->id));
	for (uint32_t i = 0; i < b->ntx; i++)
		rl_fset_add(&c->seen, rl_core_hash(c, b->txs + 32 * (size_t)i));
	/* the pool's state changed: what it refused for room or fee may fit */
	rl_fset_clear(&c->rejects);
	if (from)
		rl_fset_add(&from->known, rl_core_hash(c, b->id));

	size_t rec = sizeof(ch_msg_block_t) + 32 * (size_t)b->ntx;
	uint8_t *d = shm_outq_begin(&c->out_mp, rec);
	if (d) {
		ch_msg_block_t m = {.height = b->height, .ntx = b->ntx};
		memcpy(m.block_id, b->id, 32);
		memcpy(d, &m, sizeof(m));
		memcpy(d + sizeof(m), b->txs, 32 * (size_t)b->ntx);
		shm_outq_end(&c->out_mp, CH_TAG_BLOCK, rec);
	}

	/* what the full block would cost on the wire, for the bytes saved */
	size_t full = rl_block_msg_full(b, c->msgbuf, c->msgcap);
	size_t clen = rl_block_msg_cmpct(b, c->msgbuf, c->msgcap);
	uint32_t np = 0;
	rl_hash_t bh = rl_core_hash(c, b->id);
	for (uint32_t s = 0; s < c->maxpeers; s++)
		if (c->peers[s].used && &c->peers[s] != from &&
		    !rl_fset_has(&c->peers[s].known, bh))
			np++;
	if (clen && np) {
		size_t rl = sizeof(ch_msg_send_list_t) + 8 * (size_t)np + clen;
		d = shm_outq_begin(&c->out_tp, rl);
		if (d) {
			ch_msg_send_list_t m = {.type = WIRE_BLOCK, .npeers = np};
			memcpy(d, &m, sizeof(m));
			uint32_t k = 0;
			for (uint32_t s = 0; s < c->maxpeers; s++) {
				rl_peer_t *p = &c->peers[s];
				if (!p->used || p == from || !rl_fset_add(&p->known, bh))
					continue;
				memcpy(d + sizeof(m) + 8 * (size_t)k++, &p->handle, 8);
				p->blocks_out++;
				p->bytes_out += clen;
			}
			memcpy(d + sizeof(m) + 8 * (size_t)np, c->msgbuf, clen);
			shm_outq_end(&c->out_tp, CH_TAG_SEND_LIST, rl);
			c->st.blocks_out += np;
			c->st.bytes_out += clen * np;
			if (full > clen)
				c->st.cmpct_bytes_saved += (full - clen) * np;
		}
	}
	if (!c->have_tip || b->height >= c->tip_height) {
		c->have_tip = true;
		c->tip_height = b->height;
		memcpy(c->tip_id, b->id, 32);
	}
	if (relayed)
		*relayed = np;
	if (c->cfg.on_event) {
		rl_ev_block_t ev = {.height = b->height,
		                    .ntx = b->ntx,
		                    .peer = from ? from->handle : 0,
		                    .compact = compact,
		                    .missing = missing,
		                    .ms = (now - started) / NS_PER_MS,
		                    .relayed = np};
		memcpy(ev.id, b->id, 32);
		c->cfg.on_event(c->cfg.event_user, RL_EV_BLOCK, &ev);
	}
}

/* ask_full: GETDATA blk: the fallback when a compact block cannot be completed. */
static void ask_full(rl_core_t *c, rl_peer_t *p, const uint8_t id[32])
{
	rl_send_ids(c, p, WIRE_GETDATA, NULL, 0, id, 1);
	p->getdata_out++;
	c->st.getdata_out++;
}

/* pending_new: a slot for a block being completed.  A free one first;
 * else the oldest made by an announcement (nothing verified).  Only a
 * block whose signature was checked (announced false) may then give up
 * the oldest other one, and that one's sender is asked for the whole
 * block, so the block still comes; an unsolicited announcement never
 * evicts a block being completed (NULL: ignored, peers push blocks). */
static rl_pending_t *pending_new(rl_core_t *c, const rl_block_t *b, uint64_t peer, uint64_t now,
                                 bool announced)
{
	int slot = -1, oldest_ann = -1, oldest = -1;
	for (int i = 0; i < RL_PENDING_BLOCKS && slot < 0; i++) {
		const rl_pending_t *q = &c->pend[i];
		if (!q->used)
			slot = i;
		else if (q->announced &&
		         (oldest_ann < 0 || q->started_ns < c->pend[oldest_ann].started_ns))
			oldest_ann = i;
		else if (!q->announced &&
		         (oldest < 0 || q->started_ns < c->pend[oldest].started_ns))
			oldest = i;
	}
	if (slot < 0)
		slot = oldest_ann;
	if (slot < 0 && !announced && oldest >= 0) {
		slot = oldest;
		rl_pending_t *v = &c->pend[slot];
		rl_peer_t *vp = rl_peer_find(c, v->peer);
		if (vp && v->stage == 1)
			ask_full(c, vp, v->b.id); /* its full block is accepted when it comes */
	}
	if (slot < 0)
		return NULL;
	rl_pending_t *pd = &c->pend[slot];
	if (pd->used)
		c->st.pending_evicted++;
	pending_drop(pd);
	pd->b = *b;
	pd->b.txs = malloc(32 * (size_t)(b->ntx ? b->ntx : 1));
	pd->have = calloc(b->ntx ? b->ntx : 1, 1);
	if (!pd->b.txs || !pd->have) {
		pending_drop(pd);
		return NULL;
	}
	if (b->ntx) /* an announced block: no ids yet, txs may be NULL */
		memcpy(pd->b.txs, b->txs, 32 * (size_t)b->ntx);
	pd->used = true;
	pd->announced = announced;
	pd->peer = peer;
	pd->started_ns = now;
	return pd;
}

/* finish: every id of a compact block is known: its id must come out as
 * claimed (a short-id collision or a lying peer makes it differ: then the
 * full block is asked for). */
static void finish(rl_core_t *c, rl_block_t *b, rl_peer_t *p, uint32_t missing, uint64_t started,
                   uint64_t now, rl_pending_t *pd)
{
	uint8_t claimed[32];
	memcpy(claimed, b->id, 32);
	if (rl_block_hash(b) != 0)
		return;
	if (memcmp(claimed, b->id, 32) != 0) {
		memcpy(b->id, claimed, 32);
		c->st.cmpct_fallbacks++;
		if (!pd)
			pd = pending_new(c, b, p->handle, now, false);
		if (pd) {
			pd->stage = 2;
			pd->deadline_ns = now + RL_BLOCK_TIMEOUT_MS * NS_PER_MS;
			ask_full(c, p, claimed);
		}
		return;
	}
	if (!producer_ok(c, b->producer)) {
		/* the set changed while its ids were fetched */
		c->st.blocks_not_producer++;
		if (pd)
			pending_drop(pd);
		return;
	}
	c->st.cmpct_complete++;
	accept(c, b, p, true, missing, started, now, NULL);
	if (pd)
		pending_drop(pd);
}

/* reconstruct: a compact block's short ids matched against the pool. */
static void reconstruct(rl_core_t *c, rl_peer_t *p, rl_blkmsg_t *m, uint64_t now)
{
	rl_block_t *b = &m->b;
	uint32_t n = b->ntx, found = 0;
	bool collision = false;
	memset(c->sidmap, 0, ((size_t)c->sidmask + 1) * sizeof(uint32_t));
	uint8_t *have = c->msgbuf; /* n flags; msgbuf is free until we send */
	memset(have, 0, n);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t s = 0;
		for (int j = 0; j < RL_SHORT_ID_LEN; j++)
			s = (s << 8) | m->sid[RL_SHORT_ID_LEN * (size_t)i + (size_t)j];
		c->sids[i] = s;
		uint32_t k = (uint32_t)((s * 0x9E3779B97F4A7C15ULL) >> 32) & c->sidmask;
		while (c->sidmap[k]) {
			if (c->sids[c->sidmap[k] - 1] == s)
				collision = true;
			k = (k + 1) & c->sidmask;
		}
		c->sidmap[k] = i + 1;
	}
	for (uint32_t e = 0; e < c->pool.hw && found < n && !collision; e++) {
		const rl_identry_t *ent = &c->pool.ent[e];
		if (!ent->used)
			continue;
		uint64_t s = rl_short_id(b->id, ent->id);
		uint32_t k = (uint32_t)((s * 0x9E3779B97F4A7C15ULL) >> 32) & c->sidmask;
		for (; c->sidmap[k]; k = (k + 1) & c->sidmask) {
			uint32_t pos = c->sidmap[k] - 1;
			if (c->sids[pos] != s)
				continue;
			if (have[pos]) {
				collision = true; /* two pool ids share a short id */
			} else {
				have[pos] = 1;
				memcpy(b->txs + 32 * (size_t)pos, ent->id, 32);
				found++;
			}
			break;
		}
	}
	uint32_t missing = n - found;
	c->st.cmpct_missing_ids += missing;
	if (collision) {
		c->st.cmpct_fallbacks++;
		rl_pending_t *pd = pending_new(c, b, p->handle, now, false);
		if (pd) {
			pd->stage = 2;
			pd->deadline_ns = now + RL_BLOCK_TIMEOUT_MS * NS_PER_MS;
			ask_full(c, p, b->id);
		}
		return;
	}
	if (!missing) {
		finish(c, b, p, 0, now, now, NULL);
		return;
	}
	rl_pending_t *pd = pending_new(c, b, p->handle, now, false);
	if (!pd)
		return;
	memcpy(pd->have, have, n);
	pd->missing = pd->asked = missing;
	pd->stage = 1;
	pd->deadline_ns = now + RL_BLOCK_TIMEOUT_MS * NS_PER_MS;
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++)
		if (!pd->have[i])
			c->blk_idx[k++] = i;
	size_t len = rl_getblktx_encode(c->msgbuf, c->msgcap, b->id, c->blk_idx, k);
	if (len) {
		rl_out_send(c, p, WIRE_GETDATA, c->msgbuf, len);
		p->getdata_out++;
		c->st.getdata_out++;
	}
}

/* on_txn: the ids a peer sent for the positions we asked. */
static void on_txn(rl_core_t *c, rl_peer_t *p, rl_blkmsg_t *m, uint64_t now)
{
	rl_pending_t *pd = pending_find(c, m->b.id);
	if (!pd || pd->stage != 1 || pd->peer != p->handle)
		return; /* late or unasked: harmless, ignored */
	for (uint32_t i = 0; i < m->n; i++) {
		uint32_t pos = m->idx[i];
		if (pos >= pd->b.ntx || pd->have[pos])
			continue;
		memcpy(pd->b.txs + 32 * (size_t)pos, m->b.txs + 32 * (size_t)i, 32);
		pd->have[pos] = 1;
		pd->missing--;
	}
	if (pd->missing) {
		rl_misbehave(c, p, RL_PTS_MALFORMED, "incomplete blktxn");
		return;
	}
	finish(c, &pd->b, p, pd->asked, pd->started_ns, now, pd);
}

/* rl_block_on_msg: a BLOCK message: the bucket first (signature checks cost), then the
 * kind: blktxn completes a pending block, a known block is a duplicate,
 * a bad signature is scored before anything is kept. */
void rl_block_on_msg(rl_core_t *c, rl_peer_t *p, const uint8_t *pl, uint32_t len, uint64_t now)
{
	p->blocks_in++;
	c->st.blocks_in++;
	if (!ch_tbucket_take(&p->block_bucket, 1, now)) {
		rl_misbehave(c, p, 5 * RL_PTS_FLOOD, "BLOCK flood (over %.0f/s)", RL_BLOCK_RATE);
		return;
	}
	rl_blkmsg_t m = {.b.txs = c->blk_txs, .idx = c->blk_idx};
	int rc = rl_blkmsg_decode(pl, len, c->block_max, &m);
	if (rc == CH_ERANGE) {
		c->st.blocks_bad++;
		rl_misbehave(c, p, RL_PTS_OVERSIZED, "oversized block (over %u txs)", c->block_max);
		return;
	}
	if (rc) {
		c->st.blocks_bad++;
		c->st.malformed++;
		rl_misbehave(c, p, RL_PTS_MALFORMED, "malformed BLOCK");
		return;
	}
	if (m.kind == RL_BLKMSG_TXN) {
		on_txn(c, p, &m, now);
		return;
	}
	/* Before anything is kept or marked: a block from outside the
	 * validator set would otherwise empty pools and, through the
	 * seen-cache, censor its ids (even of transactions not yet sent). */
	if (!producer_ok(c, m.b.producer)) {
		c->st.blocks_not_producer++;
		rl_misbehave(c, p, RL_PTS_NOT_PRODUCER,
		             "block from a key outside the producer set");
		return;
	}
	rl_fset_add(&p->known, rl_core_hash(c, m.b.id));
	if (block_known(c, m.b.id)) {
		c->st.blocks_dup++;
		return;
	}
	if (rl_block_verify(&m.b) != 0) {
		c->st.blocks_bad++;
		rl_misbehave(c, p, RL_PTS_BAD_BLOCK, "block with a bad signature");
		return;
	}
	rl_pending_t *pd = pending_find(c, m.b.id);
	if (m.kind == RL_BLKMSG_FULL) {
		uint64_t started = pd ? pd->started_ns : now;
		if (pd)
			pending_drop(pd);
		accept(c, &m.b, p, false, 0, started, now, NULL);
		return;
	}
	c->st.cmpct_in++;
	if (pd) {
		c->st.blocks_dup++;
		return;
	}
	reconstruct(c, p, &m, now);
}

/* rl_block_on_getdata: serves whole blocks and blktxn from the recent blocks (never from the
 * pool, which removed the transactions when the block arrived). */
void rl_block_on_getdata(rl_core_t *c, rl_peer_t *p, const rl_inv_t *inv, uint64_t now)
{
	for (uint32_t i = 0; i < inv->nblk; i++) {
		const rl_blockrec_t *r = rl_block_find(c, inv->blk[i]);
		size_t len = r ? rl_block_msg_full(&r->b, c->msgbuf, c->msgcap) : 0;
		if (!len) {
			rl_nf_add(c, p, inv->blk[i], true);
			continue;
		}
		rl_out_send(c, p, WIRE_BLOCK, c->msgbuf, len);
		rl_fset_add(&p->known, rl_core_hash(c, r->b.id));
		p->blocks_out++;
		c->st.blocks_out++;
	}
	if (!inv->has_blktx)
		return;
	const rl_blockrec_t *r = rl_block_find(c, inv->blktx_id);
	if (!r) {
		rl_nf_add(c, p, inv->blktx_id, true);
		return;
	}
	for (uint32_t i = 0; i < inv->nidx; i++) {
		if (inv->idx[i] >= r->b.ntx) {
			rl_misbehave(c, p, RL_PTS_MALFORMED, "blktx index out of range");
			return;
		}
	}
	size_t len = rl_block_msg_txn(&r->b, inv->idx, inv->nidx, c->msgbuf, c->msgcap);
	if (len) {
		rl_out_send(c, p, WIRE_BLOCK, c->msgbuf, len);
		c->st.cmpct_bytes_saved =
		    c->st.cmpct_bytes_saved > len ? c->st.cmpct_bytes_saved - len : 0;
	}
	(void)now;
}

/* rl_block_on_inv: blocks are pushed, so an INV of one is rare: ask for the whole block. */
void rl_block_on_inv(rl_core_t *c, rl_peer_t *p, const uint8_t id[32], uint64_t now)
{
	if (block_known(c, id) || pending_find(c, id))
		return;
	rl_block_t b = {.ntx = 0};
	memcpy(b.id, id, 32);
	rl_pending_t *pd = pending_new(c, &b, p->handle, now, true);
	if (!pd)
		return;
	pd->stage = 2;
	pd->deadline_ns = now + RL_BLOCK_TIMEOUT_MS * NS_PER_MS;
	ask_full(c, p, id);
}

/* rl_block_on_notfound: the sender has no such block any more: stop waiting for it. */
void rl_block_on_notfound(rl_core_t *c, rl_peer_t *p, const uint8_t id[32], uint64_t now)
{
	rl_pending_t *pd = pending_find(c, id);
	if (pd && pd->peer == p->handle)
		pending_drop(pd); /* another peer will push it, or nobody has it */
	(void)now;
}

/* rl_block_tick: pending blocks past their deadline: blktx unanswered -> the whole
 * block; the whole block unanswered -> given up (other peers push it). */
int rl_block_tick(rl_core_t *c, uint64_t now)
{
	int did = 0;
	for (int i = 0; i < RL_PENDING_BLOCKS; i++) {
		rl_pending_t *pd = &c->pend[i];
		if (!pd->used || pd->deadline_ns > now)
			continue;
		did++;
		rl_peer_t *p = rl_peer_find(c, pd->peer);
		if (pd->stage == 1 && p) {
			/* the ids did not come: the whole block then */
			pd->stage = 2;
			pd->deadline_ns = now + RL_BLOCK_TIMEOUT_MS * NS_PER_MS;
			c->st.cmpct_fallbacks++;
			ask_full(c, p, pd->b.id);
		} else {
			pending_drop(pd);
		}
	}
	return did;
}

/* rl_block_deadline: the earliest pending deadline, for the loop's timer. */
uint64_t rl_block_deadline(const rl_core_t *c)
{
	uint64_t d = 0;
	for (int i = 0; i < RL_PENDING_BLOCKS; i++)
		if (c->pend[i].used && (!d || c->pend[i].deadline_ns < d))
			d = c->pend[i].deadline_ns;
	return d;
}

/* rl_core_block_max: for block submit's argument check. */
uint32_t rl_core_block_max(const rl_core_t *c)
{
	return c->block_max;
}

int rl_core_block_submit(rl_core_t *c, const uint8_t *ids, uint32_t n, bool has_height,
                         uint64_t height, bool has_prev, const uint8_t prev[32],
                         const ch_seckey_t *sk, uint64_t now, rl_block_t *out, size_t *full_bytes,
                         size_t *cmpct_bytes, uint32_t *relayed)
{
	if (n > c->block_max)
		return CH_ERANGE;
	if (c->prod->n) {
		ch_pubkey_t pk;
		if (ch_ed25519_sk_pubkey(&pk, sk) != 0)
			return CH_EINVAL;
		if (!rl_prod_has(c->prod, pk.b))
			return CH_EPERM;
	}
	rl_block_t b = {.v = RL_BLOCK_VERSION, .ntx = n, .txs = (uint8_t *)ids};
	b.height = has_height ? height : (c->have_tip ? c->tip_height + 1 : 1);
	if (has_prev)
		memcpy(b.prev, prev, 32);
	else if (c->have_tip)
		memcpy(b.prev, c->tip_id, 32);
	int rc = rl_block_sign(&b, sk);
	if (rc)
		return rc;
	if (full_bytes)
		*full_bytes = rl_block_msg_full(&b, c->msgbuf, c->msgcap);
	if (cmpct_bytes)
		*cmpct_bytes = rl_block_msg_cmpct(&b, c->msgbuf, c->msgcap);
	accept(c, &b, NULL, false, 0, now, now, relayed);
	if (out) {
		*out = b;
		out->txs = NULL;
	}
	return 0;
}
