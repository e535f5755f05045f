/* api.c: the mempool's commands, events and frame hooks (see api.h). */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "core.h"
#include "err.h"
#include "hash.h"
#include "log.h"

#define TOP_DEFAULT 10
#define TOP_MAX     1000
/* Budget of a top reply with encodings: the client's reader takes 1 MiB. */
#define TOP_TX_BUDGET (768u << 10)

typedef struct mp_api {
	ch_svc_t *svc;
	mp_core_t *core;
} mp_api_t;

/* ---------------------------------------------------------------- writers */

static void kv_double(ch_mpw_t *w, const char *key, double v)
{
	ch_mpw_key(w, key);
	msgpack_pack_double(&w->pk, v);
}

/* rate_of: fee per byte as a double, for replies and events (0 for an empty size). */
static double rate_of(uint64_t fee, uint32_t size)
{
	return size ? (double)fee / (double)size : 0;
}

/* ---------------------------------------------------------------- events */

static void fill_event(ch_mpw_t *w, const void *arg)
{
	const mp_event_t *ev = arg;
	static const uint8_t zero[CH_TXID_LEN];
	switch (ev->kind) {
	case MP_EV_ACCEPTED:
		ch_mpw_kv_bin(w, "id", ev->id, CH_TXID_LEN);
		ch_mpw_kv_u64(w, "fee", ev->fee);
		ch_mpw_kv_u64(w, "size", ev->size);
		kv_double(w, "fee_rate", rate_of(ev->fee, ev->size));
		ch_mpw_kv_u64(w, "peer", ev->peer);
		break;
	case MP_EV_REJECTED:
		ch_mpw_key(w, "id");
		if (memcmp(ev->id, zero, CH_TXID_LEN) == 0)
			msgpack_pack_nil(&w->pk);
		else
			msgpack_pack_bin(&w->pk, CH_TXID_LEN),
			    msgpack_pack_bin_body(&w->pk, ev->id, CH_TXID_LEN);
		ch_mpw_kv_u64(w, "peer", ev->peer);
		ch_mpw_kv_i64(w, "reason", ev->reason);
		ch_mpw_kv_str(w, "reason_name", mp_tx_reason_name(ev->reason));
		ch_mpw_kv_str(w, "message", ev->text ? ev->text : "");
		break;
	case MP_EV_REMOVED:
		ch_mpw_kv_bin(w, "id", ev->id, CH_TXID_LEN);
		ch_mpw_kv_i64(w, "reason", ev->reason);
		ch_mpw_kv_str(w, "reason_name", mp_tx_removal_name(ev->reason));
		break;
	case MP_EV_BLOCK:
		ch_mpw_kv_bin(w, "block_id", ev->id, CH_TXID_LEN);
		ch_mpw_kv_u64(w, "height", ev->height);
		ch_mpw_kv_u64(w, "ntx", ev->ntx);
		ch_mpw_kv_u64(w, "removed", ev->nremoved);
		break;
	}
}

/* on_event: the core's events become event.mempool.* on PUB. */
static void on_event(void *user, const mp_event_t *ev)
{
	mp_api_t *a = user;
	static const char *const what[] = {"", "accepted", "rejected", "removed", "block"};
	static const int pairs[] = {0, 5, 5, 3, 4};
	if (a->svc)
		ch_svc_event(a->svc, what[ev->kind], pairs[ev->kind], fill_event, ev);
}

/* ---------------------------------------------------------------- commands */

/* write_verdict: one submit result map. */
static void write_verdict(ch_mpw_t *w, const mp_verdict_t *v, const uint8_t *id, double rate,
                          bool have_id)
{
	ch_mpw_map(w, 6);
	ch_mpw_kv_bool(w, "accepted", v->reason == 0);
	ch_mpw_key(w, "id");
	if (have_id)
		msgpack_pack_bin(&w->pk, CH_TXID_LEN),
		    msgpack_pack_bin_body(&w->pk, id, CH_TXID_LEN);
	else
		msgpack_pack_nil(&w->pk);
	ch_mpw_kv_i64(w, "reason", v->reason);
	ch_mpw_kv_str(w, "reason_name", mp_tx_reason_name(v->reason));
	ch_mpw_kv_str(w, "message", v->text);
	kv_double(w, "fee_rate", rate);
}

typedef struct sub_res {
	mp_verdict_t v;
	uint8_t id[CH_TXID_LEN];
	double rate;
	bool have_id;
} sub_res_t;

/* submit {tx: bin} | {txs: [bin, ...]}: admits, commits to the journal,
 * then answers: one result map, or {accepted, rejected, results: [...]}. */
static int cmd_submit(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	mp_api_t *a = user;
	const msgpack_object *txs = NULL, *one = NULL;
	if (ch_mp_map_get(req, "txs", &txs) != 0 && ch_mp_map_get(req, "tx", &one) != 0) {
		ch_svc_set_error(svc, "submit needs \"tx\" (binary) or \"txs\" (array of binary)");
		return CH_EINVAL;
	}
	uint32_t n = 1;
	if (txs) {
		if (txs->type != MSGPACK_OBJECT_ARRAY || txs->via.array.size == 0 ||
		    txs->via.array.size > MP_SUBMIT_MAX) {
			ch_svc_set_error(svc, "\"txs\" must be an array of 1 to %d binaries",
			                 MP_SUBMIT_MAX);
			return CH_EINVAL;
		}
		n = txs->via.array.size;
	}
	sub_res_t *res = calloc(n, sizeof(*res));
	if (!res)
		return CH_ENOMEM;
	uint64_t now = ch_wall_ms();
	uint32_t acc = 0;
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *o = txs ? &txs->via.array.ptr[i] : one;
		const void *p;
		size_t len;
		if (ch_mp_as_bin(o, &p, &len) != 0) {
			res[i].v.reason = CH_TXR_MALFORMED;
			snprintf(res[i].v.text, sizeof(res[i].v.text),
			         "a transaction must be msgpack binary");
			continue;
		}
		int rc = mp_core_submit(a->core, p, len, 0, now, &res[i].v, res[i].id);
		if (rc) {
			free(res);
			ch_svc_set_error(svc, "out of memory admitting a transaction");
			return rc;
		}
		static const uint8_t zero[CH_TXID_LEN];
		res[i].have_id = memcmp(res[i].id, zero, CH_TXID_LEN) != 0;
		if (res[i].have_id) {
			mp_tx_t tx;
			if (mp_tx_decode(p, len, &tx, NULL, 0) == 0)
				res[i].rate = rate_of(tx.fee, tx.size);
		}
		acc += res[i].v.reason == 0;
	}
	if (mp_core_commit(a->core) != 0) {
		free(res);
		ch_svc_set_error(svc, "cannot write the journal: nothing was accepted");
		return CH_EIO;
	}
	if (!txs) {
		write_verdict(out, &res[0].v, res[0].id, res[0].rate, res[0].have_id);
	} else {
		ch_mpw_map(out, 3);
		ch_mpw_kv_u64(out, "accepted", acc);
		ch_mpw_kv_u64(out, "rejected", n - acc);
		ch_mpw_key(out, "results");
		ch_mpw_array(out, n);
		for (uint32_t i = 0; i < n; i++)
			write_verdict(out, &res[i].v, res[i].id, res[i].rate, res[i].have_id);
	}
	free(res);
	return 0;
}

/* req_id: the "id" argument, binary (32 bytes) or 64 hex digits. */
static int req_id(ch_svc_t *svc, const msgpack_object *req, uint8_t id[CH_TXID_LEN])
{
	const msgpack_object *o;
	const void *p;
	const char *s;
	size_t len;
	if (ch_mp_map_get(req, "id", &o) != 0) {
		ch_svc_set_error(svc, "missing \"id\"");
		return CH_EINVAL;
	}
	if (ch_mp_as_bin(o, &p, &len) == 0 && len == CH_TXID_LEN) {
		memcpy(id, p, CH_TXID_LEN);
		return 0;
	}
	if (ch_mp_as_str(o, &s, &len) == 0 && len == 2 * CH_TXID_LEN) {
		char hex[2 * CH_TXID_LEN + 1];
		memcpy(hex, s, len);
		hex[len] = 0;
		size_t got;
		if (ch_hex_decode(id, CH_TXID_LEN, hex, &got) == 0 && got == CH_TXID_LEN)
			return 0;
	}
	ch_svc_set_error(svc, "\"id\" must be 32 bytes of binary or 64 hex digits");
	return CH_EINVAL;
}

/* write_entry: one pooled transaction; full adds the encoding, data and
 * signature. */
static void write_entry(ch_mpw_t *w, const mp_entry_t *e, uint64_t now, bool full, bool with_tx)
{
	ch_mpw_map(w, 8 + (full ? 3 : 0) + (with_tx && !full ? 1 : 0));
	ch_mpw_kv_bin(w, "id", e->id, CH_TXID_LEN);
	ch_mpw_kv_bin(w, "from", e->from, 32);
	ch_mpw_kv_u64(w, "nonce", e->nonce);
	ch_mpw_kv_u64(w, "fee", e->fee);
	ch_mpw_kv_u64(w, "size", e->size);
	kv_double(w, "fee_rate", rate_of(e->fee, e->size));
	ch_mpw_kv_u64(w, "age_ms", now > e->time_ms ? now - e->time_ms : 0);
	ch_mpw_kv_u64(w, "peer", e->peer);
	if (full) {
		mp_tx_t tx;
		if (mp_tx_decode(e->enc, e->size, &tx, NULL, 0) != 0)
			memset(&tx, 0, sizeof(tx));
		ch_mpw_kv_bin(w, "data", tx.data, tx.data_len);
		ch_mpw_kv_bin(w, "sig", tx.sig.b, sizeof(tx.sig.b));
	}
	if (full || with_tx)
		ch_mpw_kv_bin(w, "tx", e->enc, e->size);
}

/* get {id}: one pooled transaction, or CH_ENOENT. */
static int cmd_get(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	mp_api_t *a = user;
	uint8_t id[CH_TXID_LEN];
	int rc = req_id(svc, req, id);
	if (rc)
		return rc;
	const mp_entry_t *e = mp_pool_get(mp_core_pool(a->core), id);
	if (!e) {
		char hex[2 * CH_TXID_LEN + 1];
		ch_hex_encode(hex, sizeof(hex), id, CH_TXID_LEN);
		ch_svc_set_error(svc, "transaction %s is not in the pool", hex);
		return CH_ENOENT;
	}
	write_entry(out, e, ch_wall_ms(), true, true);
	return 0;
}

/* top {n, with_tx}: the n best by fee rate, best first (block building). */
static int cmd_top(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	mp_api_t *a = user;
	uint64_t n = TOP_DEFAULT;
	bool with_tx = false;
	int rc = ch_mp_get_u64(req, "n", &n);
	if (rc != 0 && rc != CH_ENOENT) {
		ch_svc_set_error(svc, "\"n\" must be a non-negative integer");
		return CH_EINVAL;
	}
	rc = ch_mp_get_bool(req, "with_tx", &with_tx);
	if (rc != 0 && rc != CH_ENOENT) {
		ch_svc_set_error(svc, "\"with_tx\" must be a boolean");
		return CH_EINVAL;
	}
	if (n > TOP_MAX) {
		ch_svc_set_error(svc, "\"n\" is at most %d", TOP_MAX);
		return CH_ERANGE;
	}
	const mp_entry_t *list[TOP_MAX];
	size_t k = mp_pool_top(mp_core_pool(a->core), (size_t)n, list);
	bool truncated = false;
	if (with_tx) {
		size_t bytes = 0, i;
		for (i = 0; i < k && bytes + list[i]->size <= TOP_TX_BUDGET; i++)
			bytes += list[i]->size;
		truncated = i < k;
		k = i;
	}
	uint64_t now = ch_wall_ms();
	ch_mpw_map(out, 3);
	ch_mpw_kv_u64(out, "count", k);
	ch_mpw_kv_bool(out, "truncated", truncated);
	ch_mpw_key(out, "txs");
	ch_mpw_array(out, k);
	for (size_t i = 0; i < k; i++)
		write_entry(out, list[i], now, false, with_tx);
	return 0;
}

/* write_stats: the key-value pairs of info, status and metrics. */
static int write_stats(mp_api_t *a, ch_mpw_t *w)
{
	mp_core_stats_t st;
	uint64_t now = ch_wall_ms();
	mp_core_stats(a->core, now, &st);
	const mp_pool_cfg_t *cfg = mp_pool_cfg(mp_core_pool(a->core));
	ch_mpw_kv_u64(w, "count", st.pool.count);
	ch_mpw_kv_u64(w, "bytes", st.pool.bytes);
	ch_mpw_kv_u64(w, "max_count", cfg->max_count);
	ch_mpw_kv_u64(w, "max_bytes", cfg->max_bytes);
	kv_double(w, "min_fee_rate", (double)st.pool.min_rate_milli / 1000.0);
	kv_double(w, "base_fee_rate", (double)cfg->base_rate_milli / 1000.0);
	ch_mpw_kv_u64(w, "senders", st.pool.senders);
	ch_mpw_kv_u64(w, "accepted", st.pool.accepted);
	ch_mpw_kv_u64(w, "rejected", st.pool.rejected);
	ch_mpw_kv_u64(w, "evictions", st.pool.evicted);
	ch_mpw_kv_u64(w, "expiries", st.pool.expired);
	ch_mpw_kv_u64(w, "replaced", st.pool.replaced);
	ch_mpw_kv_u64(w, "included", st.pool.included);
	ch_mpw_kv_u64(w, "recent_rejects", st.pool.recent_rejects);
	ch_mpw_kv_u64(w, "journal_bytes", st.journal_bytes);
	ch_mpw_kv_u64(w, "restored", st.restored);
	ch_mpw_kv_bool(w, "store_damaged", st.store_damaged);
	ch_mpw_kv_u64(w, "store_lost_bytes", st.store_lost_bytes);
	ch_mpw_kv_u64(w, "journal_errors", st.journal_errors);
	ch_mpw_kv_u64(w, "journal_syncs", st.journal_syncs);
	ch_mpw_kv_u64(w, "compactions", st.compactions);
	ch_mpw_kv_u64(w, "ring_in", st.ring_in);
	ch_mpw_kv_u64(w, "ring_skipped", st.ring_skipped);
	ch_mpw_kv_u64(w, "ring_reannounced", st.reannounced);
	ch_mpw_kv_u64(w, "ring_bad", st.ring_bad);
	ch_mpw_kv_u64(w, "ring_out", st.ring_out);
	ch_mpw_kv_u64(w, "outq_bytes", st.outq_bytes);
	ch_mpw_kv_u64(w, "announce_dropped", st.announce_dropped);
	/* every reason, zeros included, so a series exists from the start */
	ch_mpw_key(w, "rejected_by_reason");
	ch_mpw_map(w, CH_TXR_EXPIRED);
	for (int r = 1; r <= CH_TXR_EXPIRED; r++)
		ch_mpw_kv_u64(w, mp_tx_reason_name(r), st.pool.rejects_by_reason[r]);
	return 29;
}

/* info: pool size, bounds, fee floor and counters. */
static int cmd_info(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	mp_api_t *a = user;
	ch_mpw_t tmp;
	ch_mpw_init(&tmp);
	int n = write_stats(a, &tmp);
	ch_mpw_map(out, (size_t)n);
	msgpack_sbuffer_write(&out->sb, ch_mpw_data(&tmp), ch_mpw_size(&tmp));
	ch_mpw_free(&tmp);
	return 0;
}

/* remove_block {ids: [bin32...], height, block_id}: the listed
 * transactions leave the pool as included. */
static int cmd_remove_block(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	mp_api_t *a = user;
	const msgpack_object *ids;
	uint64_t height = 0;
	uint8_t block_id[CH_TXID_LEN] = {0};
	if (ch_mp_map_get(req, "ids", &ids) != 0 || ids->type != MSGPACK_OBJECT_ARRAY ||
	    ids->via.array.size > MP_BLOCK_IDS_MAX) {
		ch_svc_set_error(svc, "remove_block needs \"ids\", an array of up to %d ids",
		                 MP_BLOCK_IDS_MAX);
		return CH_EINVAL;
	}
	int rc = ch_mp_get_u64(req, "height", &height);
	if (rc != 0 && rc != CH_ENOENT) {
		ch_svc_set_error(svc, "\"height\" must be a non-negative integer");
		return CH_EINVAL;
	}
	rc = ch_mp_get_bin_exact(req, "block_id", block_id, CH_TXID_LEN);
	if (rc != 0 && rc != CH_ENOENT) {
		ch_svc_set_error(svc, "\"block_id\" must be 32 bytes of binary");
		return CH_EINVAL;
	}
	uint32_t n = ids->via.array.size;
	uint8_t *flat = malloc((size_t)n * CH_TXID_LEN + 1);
	if (!flat)
		return CH_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const void *p;
		size_t len;
		if (ch_mp_as_bin(&ids->via.array.ptr[i], &p, &len) != 0 || len != CH_TXID_LEN) {
			free(flat);
			ch_svc_set_error(svc, "\"ids\"[%u] is not 32 bytes of binary", i);
			return CH_EINVAL;
		}
		memcpy(flat + (size_t)i * CH_TXID_LEN, p, CH_TXID_LEN);
	}
	uint32_t removed = 0;
	mp_core_block(a->core, block_id, height, flat, n, &removed);
	free(flat);
	if (mp_core_commit(a->core) != 0) {
		ch_svc_set_error(svc, "cannot write the journal");
		return CH_EIO;
	}
	ch_mpw_map(out, 2);
	ch_mpw_kv_u64(out, "listed", n);
	ch_mpw_kv_u64(out, "removed", removed);
	return 0;
}

const ch_svc_cmd_t mp_api_cmds[] = {
    {"submit", cmd_submit,
     "admit transactions: {tx: bin} or {txs: [bin...]}; accepted with id or rejected with reason"},
    {"get", cmd_get, "one pooled transaction by id: {id}"},
    {"top", cmd_top, "the best transactions by fee rate: {n, with_tx}"},
    {"info", cmd_info, "pool size, bounds, minimum fee rate and counters"},
    {"remove_block", cmd_remove_block,
     "a block's transactions leave the pool: {ids: [bin...], height, block_id}"},
};
const size_t mp_api_ncmds = sizeof(mp_api_cmds) / sizeof(mp_api_cmds[0]);

/* ---------------------------------------------------------------- hooks */

int mp_api_init(ch_svc_t *svc, void **user)
{
	const ch_node_config_t *nc = ch_svc_config(svc);
	mp_api_t *a = calloc(1, sizeof(*a));
	mp_core_cfg_t *cfg = calloc(1, sizeof(*cfg));
	if (!a || !cfg) {
		free(a);
		free(cfg);
		return CH_ENOMEM;
	}
	a->svc = svc;
	mp_pool_cfg_default(&cfg->pool);
	cfg->pool.max_count = (uint32_t)nc->mempool_max_count;
	cfg->pool.max_bytes = nc->mempool_max_bytes;
	cfg->pool.per_sender_max = (uint32_t)nc->mempool_per_sender;
	cfg->pool.bump_pct = (uint32_t)nc->mempool_replace_bump;
	cfg->pool.expiry_ms = nc->mempool_expiry_ms;
	cfg->pool.base_rate_milli = (uint64_t)nc->mempool_min_fee_rate * 1000;
	cfg->pool.halflife_ms = nc->mempool_fee_halflife_ms;
	snprintf(cfg->journal_path, sizeof(cfg->journal_path), "%s/mempool.journal", nc->datadir);
	cfg->ring_epoch = ch_svc_node_epoch(svc);
	cfg->on_event = on_event;
	cfg->event_user = a;
	char err[512];
	int rc = mp_core_open(cfg, ch_wall_ms(), &a->core, err, sizeof(err));
	free(cfg);
	if (rc) {
		CH_LOG_ERROR("%s", err);
		free(a);
		return rc == CH_EINVAL ? CH_EINVAL : rc;
	}
	mp_core_set_rings(a->core, ch_svc_ring(svc, CH_RING_RELAY_MEMPOOL),
	                  ch_svc_ring(svc, CH_RING_MEMPOOL_RELAY));
	*user = a;
	return 0;
}

/* mp_api_work: each loop turn: ring records, then timers; asks to sleep on the output ring while
 * outputs wait for room. */
int mp_api_work(ch_svc_t *svc, void *user, uint64_t now_ns)
{
	mp_api_t *a = user;
	uint64_t now = ch_wall_ms();
	int did = mp_core_ring_work(a->core, now);
	did += mp_core_tick(a->core, now);
	mp_core_stats_t st;
	if (did == 0) {
		mp_core_stats(a->core, now, &st);
		if (st.outq_bytes > 0)
			ch_svc_want_space(svc, CH_RING_MEMPOOL_RELAY);
	}
	return did;
}

/* mp_api_status: status and metrics carry the same counters as info. */
int mp_api_status(ch_svc_t *svc, void *user, ch_mpw_t *w)
{
	return write_stats(user, w);
}

/* mp_api_drain: on stop, keeps the loop turning until relay.mempool is empty (what relay left is
 * applied and journaled). */
int mp_api_drain(ch_svc_t *svc, void *user)
{
	mp_api_t *a = user;
	mp_core_stats_t st;
	mp_core_stats(a->core, ch_wall_ms(), &st);
	/* Outputs that cannot leave (relay gone, ring full) would hold the
	 * input back forever: stop then; the journal keeps the pool. */
	if (st.outq_bytes >= MP_OUTQ_MAX / 2)
		return 0;
	return (int)mp_core_pending_input(a->core);
}

/* mp_api_fini: commits, syncs and closes the journal, frees the pool. */
void mp_api_fini(ch_svc_t *svc, void *user)
{
	mp_api_t *a = user;
	mp_core_close(&a->core);
	free(a);
}
