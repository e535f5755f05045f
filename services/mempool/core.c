/* core.c: the mempool service's logic (see core.h). */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hash.h"
#include "log.h"
#include "outq.h"

struct mp_core {
	mp_core_cfg_t cfg;
	mp_pool_t *pool;
	mp_journal_t *j;
	shm_ring_t *in, *out;
	shm_outq_t q; /* output records; those of committed batches are below the mark */

	/* events of the batch in progress (fired on commit) */
	mp_event_t *ev;
	size_t nev, evcap;

	uint64_t applied_seq;
	bool have_applied;
	bool replaying;

	/* the input ring is committed once the outputs of the records applied
	 * so far have left: bytes of outputs ever flushed, and the count that
	 * must be reached first */
	uint64_t flushed_total, ring_mark;
	bool ring_uncommitted;

	uint64_t next_sync, next_expire;
	uint64_t restored;
	bool damaged;
	uint64_t lost_bytes;
	uint64_t ring_in, ring_skipped, ring_bad, ring_errors, ring_out, announce_dropped;
	uint64_t journal_errors, compactions, reannounced;
	uint64_t last_drop_log;
};

/* ---------------------------------------------------------------- queue */

/* outq_push: appends one output record.  droppable records (announcements
 * of API submissions) are dropped and counted when the queue is full;
 * others always go in (their producer is held back by backpressure). */
static void outq_push(mp_core_t *c, uint32_t tag, const void *a, size_t na, const void *b,
                      size_t nb, bool droppable)
{
	if (droppable && shm_outq_bytes(&c->q) + 8 + na + nb > MP_OUTQ_MAX) {
		c->announce_dropped++;
		return;
	}
	if (shm_outq_push(&c->q, tag, a, na, b, nb) != 0)
		c->announce_dropped++;
}

/* outq_flush: moves committed outputs into mempool.relay until it is full;
 * returns how many records moved. */
static int outq_flush(mp_core_t *c)
{
	if (!c->out) {
		shm_outq_clear(&c->q); /* no consumer in this setup */
		if (c->ring_uncommitted)
			shm_ring_commit(c->in);
		c->ring_uncommitted = false;
		return 0;
	}
	size_t before = shm_outq_bytes(&c->q);
	int n = shm_outq_flush(&c->q, c->out, false, NULL, &c->ring_errors);
	c->flushed_total += before - shm_outq_bytes(&c->q);
	c->ring_out += (uint64_t)n;
	if (c->ring_uncommitted && c->flushed_total >= c->ring_mark) {
		shm_ring_commit(c->in);
		c->ring_uncommitted = false;
	}
	return n;
}

/* ---------------------------------------------------------------- events */

static void ev_push(mp_core_t *c, const mp_event_t *ev)
{
	if (c->nev == c->evcap) {
		size_t cap = c->evcap ? c->evcap * 2 : 256;
		mp_event_t *n = realloc(c->ev, cap * sizeof(*n));
		if (!n)
			return; /* an event is best effort; the state is not */
		c->ev = n;
		c->evcap = cap;
	}
	c->ev[c->nev++] = *ev;
}

/* on_removed: the pool's observer: every removal is journaled, told to
 * relay and published (after commit). */
static void on_removed(void *user, const mp_entry_t *e, int removal)
{
	mp_core_t *c = user;
	if (c->replaying)
		return;
	if (mp_journal_del(c->j, e->id, removal) != 0)
		c->journal_errors++;
	ch_msg_tx_removed_t m = {.reason = removal};
	memcpy(m.id, e->id, CH_TXID_LEN);
	outq_push(c, CH_TAG_TX_REMOVED, &m, sizeof(m), NULL, 0, false);
	mp_event_t ev = {.kind = MP_EV_REMOVED, .reason = removal, .fee = e->fee, .size = e->size};
	memcpy(ev.id, e->id, CH_TXID_LEN);
	ev_push(c, &ev);
}

/* ---------------------------------------------------------------- replay */

static int rp_add(void *user, uint64_t time_ms, uint64_t peer, const uint8_t *enc, uint32_t len)
{
	mp_core_t *c = user;
	mp_tx_t tx;
	if (mp_tx_decode(enc, len, &tx, NULL, 0) != 0)
		return 1;
	int rc = mp_pool_restore(c->pool, &tx, time_ms, peer);
	return rc == 0 || rc == CH_EEXIST ? 0 : 1;
}

/* rp_del: replay of a DEL record: the id leaves (already gone is fine). */
static int rp_del(void *user, const uint8_t id[CH_TXID_LEN], int reason)
{
	mp_core_t *c = user;
	mp_pool_remove(c->pool, id, reason);
	return 0;
}

/* rp_ring: replay of a RING record: the last applied seq counts only for the same ring epoch. */
static int rp_ring(void *user, uint64_t epoch, uint64_t seq)
{
	mp_core_t *c = user;
	if (epoch == c->cfg.ring_epoch) {
		c->have_applied = true;
		c->applied_seq = seq;
	} else {
		c->have_applied = false;
	}
	return 0;
}

/* fill_live: the compacted journal: every pooled transaction, oldest first,
 * then the ring position. */
static int fill_live(void *user, mp_journal_t *j)
{
	mp_core_t *c = user;
	for (const mp_entry_t *e = mp_pool_first_arrival(c->pool); e;
	     e = mp_pool_next_arrival(c->pool, e))
		if (mp_journal_add(j, e->time_ms, e->peer, e->enc, e->size) != 0)
			return CH_ENOMEM;
	if (c->have_applied && mp_journal_ring(j, c->cfg.ring_epoch, c->applied_seq) != 0)
		return CH_ENOMEM;
	return 0;
}

/* mp_core_compact: see core.h; counts the outcome for info. */
int mp_core_compact(mp_core_t *c)
{
	int rc = mp_journal_rewrite(c->j, fill_live, c);
	if (rc)
		c->journal_errors++;
	else
		c->compactions++;
	return rc;
}

/* mp_core_open: see core.h; replay runs with the observer off, so restoring writes nothing. */
int mp_core_open(const mp_core_cfg_t *cfg, uint64_t now_ms, mp_core_t **out, char *err,
                 size_t errcap)
{
	mp_core_t *c = calloc(1, sizeof(*c));
	if (!c)
		return CH_ENOMEM;
	c->cfg = *cfg;
	c->pool = mp_pool_new(&cfg->pool);
	if (!c->pool) {
		snprintf(err, errcap, "cannot create the pool (bounds %u txs, %llu bytes)",
		         cfg->pool.max_count, (unsigned long long)cfg->pool.max_bytes);
		free(c);
		return CH_EINVAL;
	}
	mp_journal_visitor_t v = {.user = c, .add = rp_add, .del = rp_del, .ring = rp_ring};
	mp_journal_report_t rep;
	c->replaying = true;
	int rc = mp_journal_open(cfg->journal_path, &v, &rep, &c->j, err, errcap);
	c->replaying = false;
	if (rc) {
		mp_pool_destroy(&c->pool);
		free(c);
		return rc;
	}
	mp_pool_set_observer(c->pool, on_removed, c);
	mp_pool_stats_t st;
	mp_pool_stats(c->pool, now_ms, &st);
	c->restored = st.count;
	if (rep.damaged) {
		c->damaged = true;
		c->lost_bytes = rep.file_bytes - rep.good_bytes;
		CH_LOG_WARN("journal %s damaged: %s; kept %llu records (%llu of %llu bytes), "
		            "restored %u transactions",
		            cfg->journal_path, rep.why, (unsigned long long)rep.records,
		            (unsigned long long)rep.good_bytes, (unsigned long long)rep.file_bytes,
		            st.count);
	} else if (!rep.created) {
		CH_LOG_INFO("journal %s: restored %u transactions from %llu records (%llu bytes)",
		            cfg->journal_path, st.count, (unsigned long long)rep.records,
		            (unsigned long long)rep.file_bytes);
	}
	if (rep.bad_records)
		CH_LOG_WARN("journal %s: %llu unreadable records skipped", cfg->journal_path,
		            (unsigned long long)rep.bad_records);
	/* What expired while the service was down leaves now, journaled. */
	mp_pool_expire(c->pool, now_ms);
	c->nev = 0;
	shm_outq_clear(&c->q);
	if (rep.damaged || rep.bad_records || rep.records > 2 * (uint64_t)st.count + 1024)
		mp_core_compact(c);
	else if (mp_journal_flush(c->j) != 0)
		c->journal_errors++;
	c->next_sync = now_ms + MP_SYNC_MS;
	c->next_expire = now_ms + MP_EXPIRE_EVERY;
	*out = c;
	return 0;
}

/* mp_core_close: see core.h; what is buffered is committed first. */
void mp_core_close(mp_core_t **cp)
{
	if (!cp || !*cp)
		return;
	mp_core_t *c = *cp;
	mp_core_commit(c);
	mp_journal_close(&c->j);
	mp_pool_destroy(&c->pool);
	shm_outq_free(&c->q);
	free(c->ev);
	free(c);
	*cp = NULL;
}

/* mp_core_set_rings: see core.h. */
void mp_core_set_rings(mp_core_t *c, shm_ring_t *in, shm_ring_t *out)
{
	c->in = in;
	c->out = out;
}

/* mp_core_pool: see core.h. */
mp_pool_t *mp_core_pool(mp_core_t *c)
{
	return c->pool;
}

/* ---------------------------------------------------------------- batches */

/* emit_rejected: rejections are not state: their event goes out at once. */
static void emit_rejected(mp_core_t *c, const uint8_t *id, uint64_t peer, const mp_verdict_t *v)
{
	if (!c->cfg.on_event)
		return;
	mp_event_t ev = {
	    .kind = MP_EV_REJECTED, .reason = v->reason, .peer = peer, .text = v->text};
	if (id)
		memcpy(ev.id, id, CH_TXID_LEN);
	c->cfg.on_event(c->cfg.event_user, &ev);
}

/* mp_core_submit: decode, admit, and buffer the journal record, the announcement and the event
 * (core.h step 1). */
int mp_core_submit(mp_core_t *c, const uint8_t *enc, size_t len, uint64_t peer, uint64_t now_ms,
                   mp_verdict_t *v, uint8_t id[CH_TXID_LEN])
{
	mp_tx_t tx;
	char why[160];
	memset(id, 0, CH_TXID_LEN);
	int rc = mp_tx_decode(enc, len, &tx, why, sizeof(why));
	if (rc) {
		v->reason = rc == CH_ERANGE ? CH_TXR_TOO_LARGE : CH_TXR_MALFORMED;
		snprintf(v->text, sizeof(v->text), "%s", why);
		emit_rejected(c, NULL, peer, v);
		return 0;
	}
	memcpy(id, tx.id, CH_TXID_LEN);
	rc = mp_pool_admit(c->pool, &tx, now_ms, peer, true, v);
	if (rc)
		return rc;
	if (v->reason) {
		emit_rejected(c, tx.id, peer, v);
		return 0;
	}
	if (mp_journal_add(c->j, now_ms, peer, enc, (uint32_t)len) != 0)
		c->journal_errors++;
	ch_msg_tx_accepted_t m = {.fee = tx.fee, .size = tx.size, .peer = peer};
	memcpy(m.id, tx.id, CH_TXID_LEN);
	outq_push(c, CH_TAG_TX_ACCEPTED, &m, sizeof(m), NULL, 0, peer == 0);
	mp_event_t ev = {.kind = MP_EV_ACCEPTED, .fee = tx.fee, .size = tx.size, .peer = peer};
	memcpy(ev.id, tx.id, CH_TXID_LEN);
	ev_push(c, &ev);
	return 0;
}

/* mp_core_block: the listed ids leave as included; the block event waits for the commit like the
 * removals. */
int mp_core_block(mp_core_t *c, const uint8_t *block_id, uint64_t height, const uint8_t *ids,
                  uint32_t n, uint32_t *removed)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++)
		if (mp_pool_remove(c->pool, ids + (size_t)i * CH_TXID_LEN, CH_TXRM_INCLUDED) == 0)
			k++;
	mp_pool_new_block(c->pool);
	mp_event_t ev = {.kind = MP_EV_BLOCK, .height = height, .ntx = n, .nremoved = k};
	if (block_id)
		memcpy(ev.id, block_id, CH_TXID_LEN);
	ev_push(c, &ev);
	if (removed)
		*removed = k;
	return 0;
}

/* mp_core_commit: the journal write first; only after it succeeds do outputs and events leave
 * (core.h steps 2 and 3). */
int mp_core_commit(mp_core_t *c)
{
	if (mp_journal_flush(c->j) != 0) {
		c->journal_errors++;
		shm_outq_drop_unmarked(&c->q); /* nothing of this batch goes out */
		c->nev = 0;
		return CH_EIO;
	}
	shm_outq_mark(&c->q);
	outq_flush(c);
	if (c->cfg.on_event)
		for (size_t i = 0; i < c->nev; i++)
			c->cfg.on_event(c->cfg.event_user, &c->ev[i]);
	c->nev = 0;
	return 0;
}

/* ---------------------------------------------------------------- ring */

/* reply_rejected: a TX_REJECTED for relay (id zeros when unreadable). */
static void reply_rejected(mp_core_t *c, const uint8_t *id, uint64_t peer, int reason)
{
	ch_msg_tx_rejected_t m = {.peer = peer, .reason = reason};
	if (id)
		memcpy(m.id, id, CH_TXID_LEN);
	outq_push(c, CH_TAG_TX_REJECTED, &m, sizeof(m), NULL, 0, false);
}

/* reannounce: a submission redelivered after a crash, whose acceptance may
 * never have reached mempool.relay: if its transaction is pooled, the
 * acceptance goes out again. */
static void reannounce(mp_core_t *c, const shm_rec_t *r)
{
	ch_msg_t v;
	mp_tx_t tx;

	if (r->tag != CH_TAG_TX_SUBMIT || ch_msg_view(r->tag, r->data, r->size, &v) != 0 ||
	    mp_tx_decode(v.body, v.body_len, &tx, NULL, 0) != 0)
		return;
	const mp_entry_t *e = mp_pool_get(c->pool, tx.id);
	if (e == NULL)
		return;
	ch_msg_tx_accepted_t m = {.fee = e->fee, .size = e->size, .peer = v.m.tx_submit.peer};
	memcpy(m.id, e->id, CH_TXID_LEN);
	outq_push(c, CH_TAG_TX_ACCEPTED, &m, sizeof(m), NULL, 0, false);
	c->reannounced++;
}

/* apply_record: one relay.mempool record, read through the validating
 * view: a malformed record is counted and skipped (a submission whose
 * declared length is wrong is also answered as malformed). */
static void apply_record(mp_core_t *c, const shm_rec_t *r, uint64_t now_ms)
{
	ch_msg_t v;
	int rc = ch_msg_view(r->tag, r->data, r->size, &v);
	if (rc == CH_ERANGE && r->tag == CH_TAG_TX_SUBMIT)
		reply_rejected(c, NULL, v.m.tx_submit.peer, CH_TXR_MALFORMED);
	if (rc != 0) {
		c->ring_bad++;
		return;
	}
	switch (r->tag) {
	case CH_TAG_TX_SUBMIT: {
		const ch_msg_tx_submit_t *m = &v.m.tx_submit;
		mp_verdict_t vd;
		uint8_t id[CH_TXID_LEN];
		if (mp_core_submit(c, v.body, v.body_len, m->peer, now_ms, &vd, id) != 0) {
			c->ring_errors++;
			return;
		}
		if (vd.reason) {
			static const uint8_t zero[CH_TXID_LEN];
			reply_rejected(c, memcmp(id, zero, sizeof(zero)) ? id : NULL, m->peer,
			               vd.reason);
		}
		return;
	}
	case CH_TAG_TX_REQUEST: {
		const ch_msg_tx_request_t *m = &v.m.tx_request;
		const mp_entry_t *e = mp_pool_get(c->pool, m->id);
		if (!e) {
			outq_push(c, CH_TAG_TX_NOTFOUND, m, sizeof(*m), NULL, 0, false);
			return;
		}
		ch_msg_tx_data_t d = {.peer = m->peer, .len = e->size};
		memcpy(d.id, m->id, CH_TXID_LEN);
		outq_push(c, CH_TAG_TX_DATA, &d, sizeof(d), e->enc, e->size, false);
		return;
	}
	case CH_TAG_BLOCK:
		mp_core_block(c, v.m.block.block_id, v.m.block.height, v.body, v.m.block.ntx, NULL);
		return;
	default: /* a record of another ring */
		c->ring_bad++;
	}
}

/* mp_core_ring_work: one batch of relay.mempool: skip what was applied before a crash, apply the
 * rest, journal the last seq with the effects, then commit the ring. */
int mp_core_ring_work(mp_core_t *c, uint64_t now_ms)
{
	int moved = outq_flush(c);
	if (!c->in)
		return moved;
	int n = 0;
	uint64_t last = 0;
	bool any = false;
	while (n < MP_RING_BATCH && shm_outq_bytes(&c->q) < MP_OUTQ_MAX / 2) {
		shm_rec_t r;
		int rc = shm_ring_peek(c->in, &r);
		if (rc == CH_EAGAIN)
			break;
		if (rc != 0) {
			/* A scribbled ring: reading on would mean trusting it. */
			if (c->ring_errors++ == 0)
				CH_LOG_ERROR("relay.mempool: %s; not reading it further",
				             ch_strerror(rc));
			break;
		}
		n++;
		if (c->have_applied && !shm_seq_lt(c->applied_seq, r.seq)) {
			c->ring_skipped++; /* redelivered after a crash: applied already */
			reannounce(c, &r);
			shm_ring_advance(c->in);
			continue;
		}
		c->ring_in++;
		apply_record(c, &r, now_ms);
		last = r.seq;
		any = true;
		shm_ring_advance(c->in);
	}
	if (n == 0)
		return moved;
	if (any && mp_journal_ring(c->j, c->cfg.ring_epoch, last) != 0)
		c->journal_errors++;
	if (mp_core_commit(c) != 0)
		CH_LOG_ERROR("journal write failed; %d ring records applied but not yet persisted",
		             n);
	if (any) {
		c->applied_seq = last;
		c->have_applied = true;
	}
	/* step 4: the input goes once what it caused is in mempool.relay */
	c->ring_mark = c->flushed_total + (c->q.mark > c->q.head ? c->q.mark - c->q.head : 0);
	c->ring_uncommitted = true;
	outq_flush(c);
	return n + moved;
}

/* mp_core_pending_input: records published by relay and not yet committed by us. */
uint32_t mp_core_pending_input(mp_core_t *c)
{
	if (!c->in)
		return 0;
	shm_ring_stats_t st;
	shm_ring_stats(c->in, &st);
	return (uint32_t)(st.tail_seq - st.head_seq);
}

/* mp_core_sync: flush then fdatasync. */
int mp_core_sync(mp_core_t *c)
{
	int rc = mp_journal_flush(c->j);
	return rc ? rc : mp_journal_sync(c->j);
}

/* mp_core_tick: expiry once a second, fdatasync once a second, compaction when the journal is
 * mostly garbage, and a periodic warning while announcements are dropped. */
int mp_core_tick(mp_core_t *c, uint64_t now_ms)
{
	int did = 0;
	if (now_ms >= c->next_expire) {
		c->next_expire = now_ms + MP_EXPIRE_EVERY;
		uint32_t n = mp_pool_expire(c->pool, now_ms);
		if (n) {
			mp_core_commit(c);
			did += (int)n;
		}
	}
	if (now_ms >= c->next_sync) {
		c->next_sync = now_ms + MP_SYNC_MS;
		if (mp_journal_sync(c->j) != 0)
			c->journal_errors++;
		mp_pool_stats_t st;
		mp_pool_stats(c->pool, now_ms, &st);
		uint64_t live = st.bytes + (uint64_t)st.count * 40 + MP_J_HDR_SZ;
		if (mp_journal_size(c->j) > MP_COMPACT_MIN && mp_journal_size(c->j) > 2 * live) {
			mp_core_compact(c);
			did++;
		}
	}
	if (c->announce_dropped && now_ms >= c->last_drop_log + 10000) {
		c->last_drop_log = now_ms;
		CH_LOG_WARN("mempool.relay is full: %llu announcements dropped so far "
		            "(is relay consuming?)",
		            (unsigned long long)c->announce_dropped);
	}
	return did;
}

/* mp_core_stats: a snapshot of the pool's and the core's counters. */
void mp_core_stats(mp_core_t *c, uint64_t now_ms, mp_core_stats_t *st)
{
	memset(st, 0, sizeof(*st));
	mp_pool_stats(c->pool, now_ms, &st->pool);
	st->journal_bytes = mp_journal_size(c->j);
	st->restored = c->restored;
	st->store_damaged = c->damaged;
	st->store_lost_bytes = c->lost_bytes;
	st->ring_in = c->ring_in;
	st->ring_skipped = c->ring_skipped;
	st->ring_bad = c->ring_bad;
	st->ring_errors = c->ring_errors;
	st->ring_out = c->ring_out;
	st->outq_bytes = shm_outq_bytes(&c->q);
	st->announce_dropped = c->announce_dropped;
	st->journal_errors = c->journal_errors;
	st->compactions = c->compactions;
	st->journal_syncs = mp_journal_syncs(c->j);
	st->reannounced = c->reannounced;
	st->applied_seq = c->applied_seq;
	st->have_applied = c->have_applied;
}
