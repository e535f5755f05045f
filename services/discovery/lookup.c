/* lookup.c: iterative Kademlia lookups of the DHT core and their store
 * phase (announce_peer, put).
 *
 * A lookup keeps at most DHT_LOOKUP_CANDS candidates: bootstrap addresses
 * whose id is unknown first, then known nodes by XOR distance to the
 * target.  The "window" is the K nearest candidates that have not failed
 * (nor gone past the soft timeout without an answer).
 * At most alpha requests hold a slot at once; a request past the soft
 * timeout frees its slot (another candidate is asked) but may still
 * answer until the hard timeout.  Only window members are asked, and the
 * search ends when every window member has answered, or when nothing is
 * in flight and nobody is left to ask.  A lookup sends at most
 * DHT_LOOKUP_MAX_QUERIES requests and ends at its deadline whatever the
 * network does, so it always terminates.
 *
 * Then announce and put send their store request to the K nearest nodes
 * that answered with a token, and the lookup completes when each has
 * answered, failed or timed out.
 *
 * Candidates are referred to by a per-lookup id (cid), never by index,
 * because inserting a nearer candidate shifts the array while requests are
 * in flight. */
#include "dht_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* Table nodes a lookup starts from. */
#define LK_SEED 16

/* dht_lk_new: lookup.c. */
dht_lookup_t *dht_lk_new(dht_t *d, dht_op_t op, const uint8_t target[DHT_ID_LEN], dht_done_fn cb,
                         void *arg, uint64_t now)
{
	dht_lookup_t *lk;
	uint32_t slot = DHT_MAX_LOOKUPS;

	for (uint32_t i = 0; i < DHT_MAX_LOOKUPS && slot == DHT_MAX_LOOKUPS; i++)
		if (d->lk[i] == NULL)
			slot = i;
	if (slot == DHT_MAX_LOOKUPS) {
		d->stats.lookups_full++;
		return NULL;
	}
	lk = calloc(1, sizeof(*lk));
	if (lk == NULL)
		return NULL;
	lk->id = d->next_lk_id++;
	if (d->next_lk_id == 0)
		d->next_lk_id = 1;
	lk->slot = (uint16_t)slot;
	lk->op = op;
	memcpy(lk->target, target, DHT_ID_LEN);
	lk->started = now;
	lk->deadline = now + (uint64_t)d->cfg.lookup_timeout_ms * 1000000ull;
	lk->cb = cb;
	lk->arg = arg;
	lk->own = -1;
	lk->res.op = op;
	lk->res.lookup_id = lk->id;
	memcpy(lk->res.target, target, DHT_ID_LEN);
	d->lk[slot] = lk;
	d->nlk++;
	d->stats.lookups_started++;
	return lk;
}

/* dht_lk_free: frees the lookup in slot (its secret key wiped). */
void dht_lk_free(dht_t *d, uint32_t slot)
{
	dht_lookup_t *lk = d->lk[slot];

	if (lk == NULL)
		return;
	sodium_memzero(&lk->sk, sizeof(lk->sk));
	free(lk);
	d->lk[slot] = NULL;
	d->nlk--;
}

/* dht_lk_find: the live lookup in slot with this id, or NULL (finished, reused). */
dht_lookup_t *dht_lk_find(dht_t *d, uint16_t slot, uint32_t id)
{
	dht_lookup_t *lk = slot < DHT_MAX_LOOKUPS ? d->lk[slot] : NULL;

	return lk != NULL && lk->id == id && lk->phase != LK_DONE ? lk : NULL;
}

/* cand_of: the candidate with this cid, or NULL (dropped since). */
static lk_cand_t *cand_of(dht_lookup_t *lk, uint16_t cid)
{
	for (uint32_t i = 0; i < lk->n; i++)
		if (lk->c[i].cid == cid)
			return &lk->c[i];
	return NULL;
}

/* drop: removes candidate i, releasing the slots its request held. */
static void drop(dht_lookup_t *lk, uint32_t i)
{
	lk_cand_t *c = &lk->c[i];

	if (c->state == C_SENT) {
		if (!c->soft)
			lk->inflight--;
		lk->outstanding--;
	}
	memmove(&lk->c[i], &lk->c[i + 1], (lk->n - i - 1) * sizeof(lk_cand_t));
	lk->n--;
}

/* cand_add: a candidate (id NULL: unknown) unless known already by id or
 * address; the farthest is dropped when full.  Returns its index or -1. */
static int cand_add(dht_t *d, dht_lookup_t *lk, const uint8_t *id, const dht_addr_t *addr,
                    uint8_t hop)
{
	uint32_t pos = 0;

	if (addr->ip == 0 || addr->port == 0)
		return -1;
	if (id != NULL && memcmp(id, d->cfg.id, DHT_ID_LEN) == 0)
		return -1;
	for (uint32_t i = 0; i < lk->n; i++) {
		const lk_cand_t *c = &lk->c[i];

		if ((id != NULL && c->id_known && memcmp(c->id, id, DHT_ID_LEN) == 0) ||
		    (c->addr.ip == addr->ip && c->addr.port == addr->port))
			return -1;
		if (!c->id_known)
			pos = i + 1;
	}
	if (id != NULL)
		while (pos < lk->n && dht_rt_xor_cmp(lk->target, lk->c[pos].id, id) < 0)
			pos++;
	if (pos >= DHT_LOOKUP_CANDS)
		return -1;
	if (lk->n == DHT_LOOKUP_CANDS)
		drop(lk, lk->n - 1);
	memmove(&lk->c[pos + 1], &lk->c[pos], (lk->n - pos) * sizeof(lk_cand_t));
	lk->n++;
	memset(&lk->c[pos], 0, sizeof(lk_cand_t));
	lk->c[pos].id_known = id != NULL;
	if (id != NULL)
		memcpy(lk->c[pos].id, id, DHT_ID_LEN);
	lk->c[pos].addr = *addr;
	lk->c[pos].hop = hop;
	lk->c[pos].cid = ++lk->next_cid;
	return (int)pos;
}

/* window: looks at the K nearest candidates that have not failed.  Sets
 * *all_replied (every one answered) and returns the index of the nearest
 * one not asked yet, or -1; *members gets how many there are. */
static int window(const dht_lookup_t *lk, bool *all_replied, uint32_t *members)
{
	int next = -1;
	uint32_t k = 0;

	*all_replied = true;
	for (uint32_t i = 0; i < lk->n && k < RT_K; i++) {
		const lk_cand_t *c = &lk->c[i];

		/* a request past its soft timeout no longer holds the window:
		 * nearer-than-the-rest dead nodes cost a soft timeout, not a
		 * hard one (it may still answer and rejoin) */
		if (!c->id_known || c->state == C_FAILED || (c->state == C_SENT && c->soft))
			continue;
		k++;
		if (c->state != C_REPLIED)
			*all_replied = false;
		if (c->state == C_NEW && next < 0)
			next = (int)i;
	}
	*members = k;
	return next;
}

/* search_query: the search-phase query of the lookup's operation. */
static void search_query(const dht_lookup_t *lk, krpc_msg_t *m)
{
	memset(m, 0, sizeof(*m));
	switch (lk->op) {
	case DHT_OP_FIND_NODE:
		m->q = KRPC_M_FIND_NODE;
		m->has_target = true;
		memcpy(m->target, lk->target, DHT_ID_LEN);
		break;
	case DHT_OP_GET_PEERS:
	case DHT_OP_ANNOUNCE:
		m->q = KRPC_M_GET_PEERS;
		m->has_info_hash = true;
		memcpy(m->info_hash, lk->target, DHT_ID_LEN);
		break;
	case DHT_OP_GET:
	case DHT_OP_PUT:
		m->q = KRPC_M_GET;
		m->has_target = true;
		memcpy(m->target, lk->target, DHT_ID_LEN);
		break;
	}
}

/* complete: ends the lookup with status and calls its callback.  The
 * lookup is freed later by dht_lk_tick (never inside its own callback). */
static void complete(dht_t *d, dht_lookup_t *lk, int status, uint64_t now)
{
	dht_result_t *r = &lk->res;
	bool hop_set = false;

	lk->phase = LK_DONE;
	r->status = status;
	r->elapsed_ns = now - lk->started;
	r->nclosest = 0;
	for (uint32_t i = 0; i < lk->n && r->nclosest < RT_K; i++) {
		const lk_cand_t *c = &lk->c[i];

		if (!c->id_known || c->state != C_REPLIED)
			continue;
		if (!hop_set) {
			r->hops = c->hop;
			hop_set = true;
		}
		memcpy(r->closest[r->nclosest].id, c->id, DHT_ID_LEN);
		r->closest[r->nclosest].addr = c->addr;
		r->nclosest++;
	}
	d->stats.lookups_done++;
	if (status == CH_ETIMEDOUT)
		d->stats.lookups_timed_out++;
	if (lk->op == DHT_OP_PUT)
		for (uint32_t i = 0; i < d->nown; i++)
			if (memcmp(d->own[i]->item.target, lk->target, DHT_ID_LEN) == 0)
				d->own[i]->stored = r->stored;
	sodium_memzero(&lk->sk, sizeof(lk->sk));
	if (lk->cb != NULL) {
		dht_done_fn cb = lk->cb;

		lk->cb = NULL;
		cb(lk->arg, r);
	}
}

/* sign_put: a mutable put found the current seq: sign ours. */
static int sign_put(dht_t *d, dht_lookup_t *lk, uint64_t now)
{
	uint8_t buf[KRPC_V_MAX + KRPC_SALT_MAX + 64];
	int64_t seq = lk->min_seq > 1 ? lk->min_seq : 1;
	dht_item_t *it = &lk->put;
	ch_sig_t sig;
	size_t n;

	for (uint32_t i = 0; i < lk->n; i++)
		if (lk->c[i].has_seq && lk->c[i].seq < INT64_MAX && lk->c[i].seq + 1 > seq)
			seq = lk->c[i].seq + 1;
	for (uint32_t i = 0; i < d->nown; i++)
		if (memcmp(d->own[i]->item.target, it->target, DHT_ID_LEN) == 0 &&
		    d->own[i]->item.seq < INT64_MAX && d->own[i]->item.seq + 1 > seq)
			seq = d->own[i]->item.seq + 1;
	it->seq = seq;
	n = krpc_sig_buf(buf, sizeof(buf), it->salt, it->saltlen, seq, it->v, it->vlen);
	if (n == 0 || ch_ed25519_sign(&sig, buf, n, &lk->sk) != 0)
		return CH_ECRYPTO;
	memcpy(it->sig, sig.b, 64);
	sodium_memzero(&lk->sk, sizeof(lk->sk));
	lk->has_sk = false;
	lk->put_ready = true;
	dht_store_local(d, it, now);
	dht_own_add(d, it, now);
	return 0;
}

/* store_phase: announce_peer or put to the K nearest that answered with a
 * token. */
static void store_phase(dht_t *d, dht_lookup_t *lk, uint64_t now)
{
	uint32_t sent = 0;

	lk->phase = LK_STORE;
	lk->outstanding = 0;
	lk->inflight = 0;
	if (lk->op == DHT_OP_PUT && !lk->put_ready && sign_put(d, lk, now) != 0) {
		complete(d, lk, CH_ECRYPTO, now);
		return;
	}
	lk->res.item = lk->put;
	for (uint32_t i = 0; i < lk->n && sent < RT_K; i++) {
		lk_cand_t *c = &lk->c[i];
		krpc_msg_t m;

		if (!c->id_known || c->state != C_REPLIED || c->toklen == 0)
			continue;
		memset(&m, 0, sizeof(m));
		m.token.p = c->token;
		m.token.n = c->toklen;
		if (lk->op == DHT_OP_ANNOUNCE) {
			m.q = KRPC_M_ANNOUNCE_PEER;
			m.has_info_hash = true;
			memcpy(m.info_hash, lk->target, DHT_ID_LEN);
			m.has_port = true;
			/* port is required by some peers even with implied_port */
			m.port = lk->port != 0 ? lk->port : 1;
			m.implied_port = lk->port == 0;
		} else {
			const dht_item_t *it = &lk->put;

			m.q = KRPC_M_PUT;
			m.v.p = it->v;
			m.v.n = it->vlen;
			if (it->mut) {
				m.k.p = it->k;
				m.k.n = 32;
				m.sig.p = it->sig;
				m.sig.n = 64;
				m.has_seq = true;
				m.seq = it->seq;
				m.salt.p = it->salt;
				m.salt.n = it->saltlen;
				/* BEP 44: cas only to nodes that returned the
				 * item, and only for a new seq */
				m.has_cas = c->has_seq && lk->own < 0 && c->seq < it->seq;
				m.cas = c->seq;
			}
		}
		if (dht_send_query(d, &m, &c->addr, c->id, REQ_STORE, lk, c->cid, now) != 0)
			break;
		c->sstate = S_SENT;
		lk->outstanding++;
		sent++;
	}
	if (sent == 0)
		complete(d, lk, CH_ENOENT, now);
}

/* search_done: the search phase ended. */
static void search_done(dht_t *d, dht_lookup_t *lk, uint64_t now)
{
	switch (lk->op) {
	case DHT_OP_ANNOUNCE:
	case DHT_OP_PUT:
		store_phase(d, lk, now);
		break;
	case DHT_OP_GET:
		complete(d, lk, lk->res.found ? 0 : CH_ENOENT, now);
		break;
	default:
		complete(d, lk, lk->res.nclosest > 0 || lk->res.replies > 0 ? 0 : CH_ENOENT, now);
		break;
	}
}

/* step: sends what the window allows and ends the search when due. */
static void step(dht_t *d, dht_lookup_t *lk, uint64_t now)
{
	bool all_replied = false;
	uint32_t members = 0;
	int next = -1;

	while (lk->phase == LK_SEARCH) {
		krpc_msg_t m;
		lk_cand_t *c = NULL;

		next = window(lk, &all_replied, &members);
		for (uint32_t i = 0; i < lk->n && c == NULL; i++)
			if (!lk->c[i].id_known && lk->c[i].state == C_NEW)
				c = &lk->c[i];
		if (c == NULL && next >= 0)
			c = &lk->c[next];
		if (c == NULL || lk->inflight >= d->cfg.alpha ||
		    lk->res.queries >= DHT_LOOKUP_MAX_QUERIES)
			break;
		search_query(lk, &m);
		if (dht_send_query(d, &m, &c->addr, c->id_known ? c->id : NULL, REQ_LOOKUP, lk,
		                   c->cid, now) != 0)
			break;
		c->state = C_SENT;
		c->soft = false;
		lk->inflight++;
		lk->outstanding++;
		lk->res.queries++;
	}
	if (lk->phase != LK_SEARCH)
		return;
	if ((members > 0 && all_replied) ||
	    (lk->outstanding == 0 &&
	     (next < 0 || lk->res.queries >= DHT_LOOKUP_MAX_QUERIES || lk->inflight == 0)))
		search_done(d, lk, now);
}

/* dht_lk_start: seeds the candidates from the table (and the bootstrap addresses while
 * the table is small) and sends the first requests. */
void dht_lk_start(dht_t *d, dht_lookup_t *lk, uint64_t now)
{
	dht_rt_node_t near[LK_SEED];
	uint32_t n = dht_rt_closest(&d->rt, lk->target, near, LK_SEED);

	for (uint32_t i = 0; i < n; i++)
		cand_add(d, lk, near[i].id, &near[i].addr, 1);
	if (d->rt.count < RT_K)
		for (uint32_t i = 0; i < d->nboot; i++)
			cand_add(d, lk, NULL, &d->boot[i], 1);
	step(d, lk, now);
}

/* learn_id: a bootstrap candidate answered with its id: it becomes a
 * known node at its sorted place (or goes, if that id is known). */
static void learn_id(dht_t *d, dht_lookup_t *lk, lk_cand_t *c, const uint8_t *id)
{
	lk_cand_t copy = *c;
	int pos;

	drop(lk, (uint32_t)(c - lk->c));
	pos = cand_add(d, lk, id, &copy.addr, copy.hop);
	if (pos < 0)
		return;
	copy.id_known = true;
	memcpy(copy.id, id, DHT_ID_LEN);
	copy.cid = lk->c[pos].cid;
	lk->c[pos] = copy;
}

/* take_item: a get reply carried an item: keep it if it verifies. */
static void take_item(dht_t *d, dht_lookup_t *lk, lk_cand_t *c, const krpc_msg_t *m)
{
	dht_result_t *r = &lk->res;
	uint8_t t[DHT_ID_LEN];

	if (m->v.n > KRPC_V_MAX) {
		d->stats.bad_item++;
		return;
	}
	if (m->k.p == NULL) {
		dht_item_target(false, NULL, NULL, 0, m->v.p, m->v.n, t);
		if (memcmp(t, lk->target, DHT_ID_LEN) != 0) {
			d->stats.bad_item++;
			return;
		}
		if (!r->found) {
			r->found = true;
			memset(&r->item, 0, sizeof(r->item));
			memcpy(r->item.target, t, DHT_ID_LEN);
			memcpy(r->item.v, m->v.p, m->v.n);
			r->item.vlen = m->v.n;
		}
		return;
	}
	dht_item_target(true, m->k.p, lk->salt, lk->saltlen, NULL, 0, t);
	if (m->sig.p == NULL || !m->has_seq || m->seq < 0 ||
	    memcmp(t, lk->target, DHT_ID_LEN) != 0 ||
	    dht_item_verify(m->k.p, m->sig.p, lk->salt, lk->saltlen, m->seq, m->v.p, m->v.n) != 0) {
		d->stats.bad_item++;
		return;
	}
	c->has_seq = true;
	c->seq = m->seq;
	if (r->found && r->item.seq >= m->seq)
		return;
	r->found = true;
	memset(&r->item, 0, sizeof(r->item));
	memcpy(r->item.target, t, DHT_ID_LEN);
	r->item.mut = true;
	r->item.seq = m->seq;
	memcpy(r->item.k, m->k.p, 32);
	memcpy(r->item.sig, m->sig.p, 64);
	memcpy(r->item.salt, lk->salt, lk->saltlen);
	r->item.saltlen = lk->saltlen;
	memcpy(r->item.v, m->v.p, m->v.n);
	r->item.vlen = m->v.n;
}

/* take_peers: peers of a get_peers reply from `from`, deduplicated,
 * bounded in all and per reply, each remembering who named it. */
static void take_peers(dht_lookup_t *lk, const krpc_msg_t *m, const dht_addr_t *from)
{
	dht_result_t *r = &lk->res;
	uint32_t took = 0;

	for (uint32_t i = 0;
	     i < m->nvalues && r->npeers < DHT_MAX_RESULT_PEERS && took < DHT_MAX_PEERS_PER_REPLY;
	     i++) {
		bool dup = false;

		for (uint32_t j = 0; j < r->npeers && !dup; j++)
			dup = memcmp(r->peers[j], m->values[i], KRPC_PEER_LEN) == 0;
		if (!dup) {
			r->peer_src[r->npeers] = *from;
			memcpy(r->peers[r->npeers++], m->values[i], KRPC_PEER_LEN);
			took++;
		}
	}
}

/* dht_lk_on_reply: a response to one of the lookup's requests: token, nodes, peers,
 * item; then the next step (or the end). */
void dht_lk_on_reply(dht_t *d, dht_lookup_t *lk, const dht_req_t *rq, const krpc_msg_t *m,
                     uint64_t now)
{
	lk_cand_t *c = cand_of(lk, rq->cid);
	uint8_t hop;

	if (c == NULL)
		return;
	if (rq->purpose == REQ_STORE) {
		if (lk->phase != LK_STORE || c->sstate != S_SENT)
			return;
		c->sstate = S_OK;
		lk->res.stored++;
		if (--lk->outstanding == 0)
			complete(d, lk, 0, now);
		return;
	}
	if (lk->phase != LK_SEARCH || c->state != C_SENT)
		return;
	if (!c->soft)
		lk->inflight--;
	lk->outstanding--;
	lk->res.replies++;
	if (c->id_known && memcmp(c->id, m->id, DHT_ID_LEN) != 0) {
		c->state = C_FAILED; /* not the node we were told of */
		step(d, lk, now);
		return;
	}
	c->state = C_REPLIED;
	if (m->token.p != NULL && m->token.n <= KRPC_TOKEN_MAX) {
		memcpy(c->token, m->token.p, m->token.n);
		c->toklen = (uint8_t)m->token.n;
	}
	if ((lk->op == DHT_OP_GET || lk->op == DHT_OP_PUT) && m->v.p != NULL)
		take_item(d, lk, c, m);
	if (lk->op == DHT_OP_GET_PEERS || lk->op == DHT_OP_ANNOUNCE)
		take_peers(lk, m, &rq->addr);
	hop = c->hop < UINT8_MAX ? (uint8_t)(c->hop + 1) : UINT8_MAX;
	if (!c->id_known)
		learn_id(d, lk, c, m->id); /* c is invalid from here */
	for (size_t off = 0; off + KRPC_NODE_LEN <= m->nodes.n; off += KRPC_NODE_LEN) {
		const uint8_t *e = m->nodes.p + off;
		dht_addr_t a;

		memcpy(&a.ip, e + DHT_ID_LEN, 4);
		a.port = (uint16_t)(e[DHT_ID_LEN + 4] << 8 | e[DHT_ID_LEN + 5]);
		cand_add(d, lk, e, &a, hop);
	}
	if (lk->op == DHT_OP_GET && lk->res.found && !lk->res.item.mut) {
		complete(d, lk, 0, now); /* an immutable item is final */
		return;
	}
	step(d, lk, now);
}

/* dht_lk_on_error: a KRPC error to one of the lookup's requests: the candidate failed
 * (search) or the store was refused (store phase). */
void dht_lk_on_error(dht_t *d, dht_lookup_t *lk, const dht_req_t *rq, int64_t code, uint64_t now)
{
	lk_cand_t *c = cand_of(lk, rq->cid);

	if (c == NULL)
		return;
	if (rq->purpose == REQ_STORE) {
		if (lk->phase != LK_STORE || c->sstate != S_SENT)
			return;
		c->sstate = S_ERR;
		lk->res.store_errors++;
		lk->res.last_error = code;
		if (--lk->outstanding == 0)
			complete(d, lk, 0, now);
		return;
	}
	if (lk->phase != LK_SEARCH || c->state != C_SENT)
		return;
	if (!c->soft)
		lk->inflight--;
	lk->outstanding--;
	c->state = C_FAILED;
	step(d, lk, now);
}

/* dht_lk_on_timeout: a soft timeout frees the request's alpha slot; a hard one fails
 * the candidate. */
void dht_lk_on_timeout(dht_t *d, dht_lookup_t *lk, const dht_req_t *rq, bool soft, uint64_t now)
{
	lk_cand_t *c = cand_of(lk, rq->cid);

	if (c == NULL)
		return;
	if (rq->purpose == REQ_STORE) {
		if (soft || lk->phase != LK_STORE || c->sstate != S_SENT)
			return;
		c->sstate = S_ERR;
		lk->res.timeouts++;
		if (--lk->outstanding == 0)
			complete(d, lk, 0, now);
		return;
	}
	if (lk->phase != LK_SEARCH || c->state != C_SENT)
		return;
	if (soft) {
		if (!c->soft) {
			c->soft = true;
			lk->inflight--;
		}
	} else {
		if (!c->soft)
			lk->inflight--;
		lk->outstanding--;
		c->state = C_FAILED;
		lk->res.timeouts++;
	}
	step(d, lk, now);
}

/* dht_lk_tick: deadlines of every lookup; reaps finished ones. */
void dht_lk_tick(dht_t *d, uint64_t now)
{
	for (uint32_t i = 0; i < DHT_MAX_LOOKUPS; i++) {
		dht_lookup_t *lk = d->lk[i];

		if (lk == NULL)
			continue;
		if (lk->phase != LK_DONE && now >= lk->deadline)
			complete(d, lk, CH_ETIMEDOUT, now);
		if (d->lk[i] == lk && lk->phase == LK_DONE)
			dht_lk_free(d, i);
	}
}

/* ---------------------------------------------------------------- operations */

/* begin: a new lookup of op, started at once. */
static int begin(dht_t *d, dht_op_t op, const uint8_t *target, dht_done_fn cb, void *arg,
                 uint64_t now, uint32_t *id, dht_lookup_t **out)
{
	dht_lookup_t *lk = dht_lk_new(d, op, target, cb, arg, now);

	if (lk == NULL)
		return CH_ENOMEM;
	if (id != NULL)
		*id = lk->id;
	if (out != NULL)
		*out = lk;
	return 0;
}

/* dht_find_node: The operations below start a lookup and call cb(arg, result) once when it
 * ends; *id (may be NULL) gets its id for dht_cancel. */
int dht_find_node(dht_t *d, const uint8_t target[DHT_ID_LEN], dht_done_fn cb, void *arg,
                  uint64_t now, uint32_t *id)
{
	dht_lookup_t *lk;
	int rc = begin(d, DHT_OP_FIND_NODE, target, cb, arg, now, id, &lk);

	if (rc == 0)
		dht_lk_start(d, lk, now);
	return rc;
}

/* dht_get_peers: peers announced under info-hash ih. */
int dht_get_peers(dht_t *d, const uint8_t ih[DHT_ID_LEN], dht_done_fn cb, void *arg, uint64_t now,
                  uint32_t *id)
{
	dht_lookup_t *lk;
	int rc = begin(d, DHT_OP_GET_PEERS, ih, cb, arg, now, id, &lk);

	if (rc == 0)
		dht_lk_start(d, lk, now);
	return rc;
}

/* dht_announce: get_peers, then announce_peer to the K nearest that answered; port 0 sends
 * implied_port (the UDP source port). */
int dht_announce(dht_t *d, const uint8_t ih[DHT_ID_LEN], uint16_t port, dht_done_fn cb, void *arg,
                 uint64_t now, uint32_t *id)
{
	dht_lookup_t *lk;
	int rc = begin(d, DHT_OP_ANNOUNCE, ih, cb, arg, now, id, &lk);

	if (rc == 0) {
		lk->port = port;
		dht_lk_start(d, lk, now);
	}
	return rc;
}

/* dht_get: a BEP 44 item under target, verified: an immutable value must hash to target; a
 * mutable one must have sha1(k + salt) == target and a valid signature (salt: what the getter
 * expects, may be empty). */
int dht_get(dht_t *d, const uint8_t target[DHT_ID_LEN], const uint8_t *salt, size_t saltlen,
            dht_done_fn cb, void *arg, uint64_t now, uint32_t *id)
{
	dht_lookup_t *lk;
	int rc;

	if (saltlen > KRPC_SALT_MAX || (salt == NULL && saltlen > 0))
		return CH_EINVAL;
	rc = begin(d, DHT_OP_GET, target, cb, arg, now, id, &lk);
	if (rc == 0) {
		if (saltlen > 0)
			memcpy(lk->salt, salt, saltlen);
		lk->saltlen = saltlen;
		dht_lk_start(d, lk, now);
	}
	return rc;
}

/* value_ok: v is one bencoded value of at most KRPC_V_MAX bytes. */
static bool value_ok(const uint8_t *v, size_t vlen)
{
	static const ben_limits_t lim = {
	    .max_input = KRPC_V_MAX,
	    .max_depth = BEN_PKT_MAX_DEPTH,
	    .max_tokens = BEN_PKT_MAX_TOKENS,
	    .max_str = KRPC_V_MAX,
	};
	ben_tok_t toks[BEN_PKT_MAX_TOKENS];
	ben_doc_t doc;

	return v != NULL && vlen > 0 && vlen <= KRPC_V_MAX &&
	       ben_decode(&doc, v, vlen, toks, BEN_PKT_MAX_TOKENS, &lim, NULL) == BEN_OK;
}

/* dht_put_immutable: stores the bencoded value v (<= 1000 bytes, checked to be one bencoded
 * value) under sha1(v), written to target_out; it is also kept here and republished. */
int dht_put_immutable(dht_t *d, const uint8_t *v, size_t vlen, dht_done_fn cb, void *arg,
                      uint64_t now, uint8_t target_out[DHT_ID_LEN], uint32_t *id)
{
	dht_item_t it;
	dht_lookup_t *lk;
	int rc;

	if (!value_ok(v, vlen))
		return CH_EINVAL;
	memset(&it, 0, sizeof(it));
	memcpy(it.v, v, vlen);
	it.vlen = vlen;
	dht_item_target(false, NULL, NULL, 0, v, vlen, it.target);
	if (target_out != NULL)
		memcpy(target_out, it.target, DHT_ID_LEN);
	rc = begin(d, DHT_OP_PUT, it.target, cb, arg, now, id, &lk);
	if (rc != 0)
		return rc;
	lk->put = it;
	lk->put_ready = true;
	dht_store_local(d, &it, now);
	dht_own_add(d, &it, now);
	dht_lk_start(d, lk, now);
	return 0;
}

/* dht_put_mutable: a get of sha1(pk + salt) first (to learn the current seq), then a put signed
 * with sk of seq = max(highest found + 1, min_seq, our last seq + 1), with cas = the seq each
 * node returned. */
int dht_put_mutable(dht_t *d, const ch_seckey_t *sk, const uint8_t *salt, size_t saltlen,
                    const uint8_t *v, size_t vlen, int64_t min_seq, dht_done_fn cb, void *arg,
                    uint64_t now, uint8_t target_out[DHT_ID_LEN], uint32_t *id)
{
	dht_lookup_t *lk;
	ch_pubkey_t pk;
	dht_item_t *it;
	int rc;

	if (sk == NULL || !value_ok(v, vlen) || saltlen > KRPC_SALT_MAX ||
	    (salt == NULL && saltlen > 0) || min_seq < 0 || ch_ed25519_sk_pubkey(&pk, sk) != 0)
		return CH_EINVAL;
	{
		uint8_t target[DHT_ID_LEN];

		dht_item_target(true, pk.b, salt, saltlen, NULL, 0, target);
		if (target_out != NULL)
			memcpy(target_out, target, DHT_ID_LEN);
		rc = begin(d, DHT_OP_PUT, target, cb, arg, now, id, &lk);
		if (rc != 0)
			return rc;
	}
	it = &lk->put;
	memcpy(it->target, lk->target, DHT_ID_LEN);
	it->mut = true;
	memcpy(it->k, pk.b, 32);
	if (saltlen > 0) {
		memcpy(it->salt, salt, saltlen);
		memcpy(lk->salt, salt, saltlen);
	}
	it->saltlen = saltlen;
	lk->saltlen = saltlen;
	memcpy(it->v, v, vlen);
	it->vlen = vlen;
	lk->sk = *sk;
	lk->has_sk = true;
	lk->min_seq = min_seq;
	dht_lk_start(d, lk, now);
	return 0;
}

/* dht_cancel: stops lookup id; its callback is never called. */
void dht_cancel(dht_t *d, uint32_t id)
{
	for (uint32_t i = 0; i < DHT_MAX_LOOKUPS; i++) {
		dht_lookup_t *lk = d->lk[i];

		if (lk != NULL && lk->id == id) {
			lk->cb = NULL;
			lk->phase = LK_DONE;
			sodium_memzero(&lk->sk, sizeof(lk->sk));
		}
	}
}
