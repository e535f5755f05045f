/* svc.c: chorus-relay inside the service frame: the rings around the core
 * (core.h, in the order that makes a crash lose nothing), the timer, the
 * rebuild of peers after a restart, commands, events and metrics
 * (docs/relay.md).  Nothing here waits: questions to transport and the
 * mempool are the frame's asynchronous calls, and block_submit's reply is
 * deferred until the mempool has answered. */
#include "svc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include <zmq.h>

#include "block.h"
#include "clock.h"
#include "core.h"
#include "ctl.h"
#include "err.h"
#include "identity.h"
#include "log.h"
#include "producers.h"

#define RING_BATCH     256                /* input records per ring per loop turn */
#define EVENT_EVERY_NS (100 * 1000000ULL) /* tx_relayed events at most this often */
#define PEERS_TIMEOUT  1000               /* ms for transport's peer list at a restart */
#define TOP_TIMEOUT    2000               /* ms for the mempool's best ids (block submit) */

typedef struct rl_svc {
	ch_svc_t *svc;
	rl_core_t *core;
	shm_ring_t *in_tp, *in_mp, *out_tp, *out_mp;
	bool unc_tp, unc_mp; /* records advanced past but not committed */
	bool rebuilding;     /* transport's peer list is awaited: its ring waits */
	uint32_t timer;      /* the frame timer at the core's next deadline */
	uint64_t armed;
	ch_identity_t ident;
	bool have_ident;
	const char *prod_source; /* "file", "config" or "none" */
	uint64_t last_ev_ns, ev_accepted, ev_ids, ev_invs;
	uint64_t ring_errors, out_dropped;
} rl_svc_t;

/* ---------------------------------------------------------------- events */

static void fill_block(ch_mpw_t *w, const void *arg)
{
	const rl_ev_block_t *e = arg;
	char hex[65];
	ch_hex_encode(hex, sizeof(hex), e->id, 32);
	ch_mpw_kv_str(w, "id", hex);
	ch_mpw_kv_u64(w, "height", e->height);
	ch_mpw_kv_u64(w, "ntx", e->ntx);
	ch_mpw_kv_u64(w, "peer", e->peer);
	ch_mpw_kv_bool(w, "compact", e->compact);
	ch_mpw_kv_u64(w, "missing", e->missing);
	ch_mpw_kv_u64(w, "ms", e->ms);
	ch_mpw_kv_u64(w, "relayed", e->relayed);
}

/* on_core_event: blocks are rare: each one is logged and published. */
static void on_core_event(void *user, rl_ev_kind_t kind, const void *ev)
{
	rl_svc_t *s = user;
	if (kind == RL_EV_BLOCK) {
		const rl_ev_block_t *e = ev;
		char hex[65];
		ch_hex_encode(hex, sizeof(hex), e->id, 32);
		CH_LOG_INFO("block %.16s... height %llu, %u txs, %s%s, relayed to %u peers", hex,
		            (unsigned long long)e->height, e->ntx,
		            e->peer ? (e->compact ? "compact from a peer" : "from a peer")
		                    : "submitted here",
		            e->missing ? " (ids asked for)" : "", e->relayed);
		ch_svc_event(s->svc, e->peer ? "block_received" : "block_submitted", 8, fill_block,
		             e);
	}
}

typedef struct relayed_ev {
	uint64_t accepted, ids, invs;
} relayed_ev_t;

/* fill_relayed: the aggregate since the last tx_relayed event. */
static void fill_relayed(ch_mpw_t *w, const void *arg)
{
	const relayed_ev_t *e = arg;
	ch_mpw_kv_u64(w, "txs", e->accepted);
	ch_mpw_kv_u64(w, "inv_ids", e->ids);
	ch_mpw_kv_u64(w, "invs", e->invs);
}

/* publish_relayed: one event per 100 ms at most summing what was
 * announced (one per transaction would cost more than relaying it). */
static void publish_relayed(rl_svc_t *s, uint64_t now)
{
	if (now - s->last_ev_ns < EVENT_EVERY_NS)
		return;
	s->last_ev_ns = now;
	const rl_stats_t *st = rl_core_stats(s->core);
	if (st->inv_ids_out == s->ev_ids && st->accepted == s->ev_accepted)
		return;
	relayed_ev_t e = {.accepted = st->accepted - s->ev_accepted,
	                  .ids = st->inv_ids_out - s->ev_ids,
	                  .invs = st->inv_out - s->ev_invs};
	s->ev_accepted = st->accepted;
	s->ev_ids = st->inv_ids_out;
	s->ev_invs = st->inv_out;
	ch_svc_event(s->svc, "tx_relayed", 3, fill_relayed, &e);
}

/* ---------------------------------------------------------------- rings */

/* flush_out: the queue's records into the ring, as many as fit. */
static int flush_out(rl_svc_t *s, shm_outq_t *q, shm_ring_t *r, ch_ring_id_t id)
{
	bool full;
	uint64_t refused = s->out_dropped;
	int n = shm_outq_flush(q, r, true, &full, &s->out_dropped);
	if (full)
		ch_svc_want_space(s->svc, id);
	/* larger than the ring takes: a bug, never a peer's doing */
	if (s->out_dropped != refused)
		CH_LOG_ERROR("%s: %llu records refused as too large", ch_ring_descs[id].name,
		             (unsigned long long)(s->out_dropped - refused));
	return n;
}

/* flush_all: both output queues, transport first (blocks and INVs). */
static int flush_all(rl_svc_t *s)
{
	return flush_out(s, rl_core_out_transport(s->core), s->out_tp, CH_RING_RELAY_TRANSPORT) +
	       flush_out(s, rl_core_out_mempool(s->core), s->out_mp, CH_RING_RELAY_MEMPOOL);
}

/* take: up to RING_BATCH records of one input ring into the core. */
static int take(rl_svc_t *s, shm_ring_t *r, bool transport, uint64_t now)
{
	int n = 0;
	shm_rec_t rec;
	if (transport && s->rebuilding)
		return 0;
	while (n < RING_BATCH && (transport ? rl_core_can_take_transport(s->core)
	                                    : rl_core_can_take_mempool(s->core))) {
		int rc = shm_ring_peek(r, &rec);
		if (rc == CH_EAGAIN)
			break;
		if (rc) {
			if (s->ring_errors++ == 0)
				CH_LOG_ERROR("%s: %s",
				             transport ? "transport.relay" : "mempool.relay",
				             ch_strerror(rc));
			break;
		}
		if (transport)
			rl_core_on_transport(s->core, rec.tag, rec.data, rec.size, now);
		else
			rl_core_on_mempool(s->core, rec.tag, rec.data, rec.size, now);
		shm_ring_advance(r);
		n++;
	}
	if (n && transport)
		s->unc_tp = true;
	else if (n)
		s->unc_mp = true;
	return n;
}

/* commit: an input ring is committed only when what its records caused
 * is in the output rings (core.h, steps 4). */
static void commit(rl_svc_t *s)
{
	bool tp_empty = shm_outq_bytes(rl_core_out_transport(s->core)) == 0;
	bool mp_empty = shm_outq_bytes(rl_core_out_mempool(s->core)) == 0;
	if (s->unc_tp && tp_empty && mp_empty) {
		shm_ring_commit(s->in_tp);
		s->unc_tp = false;
	}
	if (s->unc_mp && tp_empty && rl_core_batch_empty(s->core) &&
	    (mp_empty || !rl_core_flood(s->core))) {
		shm_ring_commit(s->in_mp);
		s->unc_mp = false;
	}
}

/* on_timer: the timer only wakes the loop; work() does what is due. */
static void on_timer(ch_svc_t *svc, void *arg, uint32_t id)
{
	rl_svc_t *s = arg;
	(void)svc;
	(void)id;
	s->timer = 0;
	s->armed = 0;
}

/* arm: a frame timer at the core's next deadline (a waiting announcement,
 * a request or block timeout), so the loop sleeps no longer than that. */
static void arm(rl_svc_t *s)
{
	uint64_t d = rl_core_deadline(s->core);
	if (d == s->armed)
		return;
	if (!d) {
		ch_svc_timer_cancel(s->svc, s->timer);
		s->timer = 0;
		s->armed = 0;
		return;
	}
	if (s->timer && ch_svc_timer_set(s->svc, s->timer, d) == 0) {
		s->armed = d;
		return;
	}
	s->armed = ch_svc_timer_add(s->svc, d, 0, on_timer, s, &s->timer) == 0 ? d : 0;
}

/* rl_svc_work: one loop turn, in the order of core.h that keeps crashes lossless. */
int rl_svc_work(ch_svc_t *svc, void *user, uint64_t now)
{
	rl_svc_t *s = user;
	int did = flush_all(s);
	did += take(s, s->in_tp, true, now);
	did += take(s, s->in_mp, false, now);
	did += rl_core_turn_end(s->core, ch_mono_ns());
	did += flush_all(s);
	commit(s);
	arm(s);
	publish_relayed(s, now);
	return did;
}

/* rl_svc_drain: on stop: everything read must reach an output ring before exit. */
int rl_svc_drain(ch_svc_t *svc, void *user)
{
	rl_svc_t *s = user;
	rl_svc_work(svc, user, ch_mono_ns());
	/* what is announced but unflushed, or not yet in a ring, is in flight */
	return (int)(shm_outq_bytes(rl_core_out_transport(s->core)) > 0) +
	       (int)(shm_outq_bytes(rl_core_out_mempool(s->core)) > 0) +
	       (int)!rl_core_batch_empty(s->core) + (int)s->unc_tp + (int)s->unc_mp;
}

/* ---------------------------------------------------------------- restart */

/* on_peer_list: transport's answer to peer_list (typed fields, see
 * services/transport); the transport ring is read again afterwards. */
static void on_peer_list(void *arg, int rc, const msgpack_object *res, const char *msg)
{
	rl_svc_t *s = arg;
	const msgpack_object *list;
	s->rebuilding = false;
	if (rc || !res || ch_mp_map_get(res, "peers", &list) ||
	    list->type != MSGPACK_OBJECT_ARRAY) {
		CH_LOG_WARN("restart: no peer list from transport (%s); peers are adopted as they "
		            "speak",
		            rc ? msg : "bad reply");
		return;
	}
	uint64_t now = ch_mono_ns();
	uint32_t n = 0;
	for (uint32_t i = 0; i < list->via.array.size; i++) {
		const msgpack_object *p = &list->via.array.ptr[i];
		uint64_t id;
		bool inbound, block_relay;
		char addr[64] = "";
		uint8_t pk[32];
		if (ch_mp_get_u64(p, "id", &id) != 0 ||
		    ch_mp_get_bool(p, "inbound", &inbound) != 0 ||
		    ch_mp_get_bool(p, "block_relay", &block_relay) != 0 ||
		    ch_mp_get_bin_exact(p, "pubkey", pk, sizeof(pk)) != 0)
			continue;
		ch_mp_get_strz(p, "addr", addr, sizeof(addr));
		rl_core_peer_restore(s->core, id, inbound, block_relay, addr, pk, now);
		n++;
	}
	CH_LOG_INFO("restart: %u peers rebuilt from transport", n);
}

/* rebuild_peers: after a restart relay does not know who is connected (the
 * PEER_UPs were consumed by the previous process): transport's `peer_list`
 * command tells.  The transport ring is not read until the answer (or its
 * timeout) is in, so what is still there is applied afterwards, which is
 * consistent: every PEER_UP/DOWN/RESET in the ring happened after the ones
 * already consumed. */
static void rebuild_peers(rl_svc_t *s)
{
	const ch_node_config_t *cfg = ch_svc_config(s->svc);
	char path[CH_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/run/transport.cmd", cfg->datadir);
	struct stat st;
	if (stat(path, &st) != 0) {
		CH_LOG_WARN("restart: transport's command socket is absent; peers are adopted as "
		            "they speak");
		return;
	}
	ch_mpw_t w;
	ch_mpw_init(&w);
	ch_mpw_map(&w, 1);
	ch_mpw_kv_str(&w, "cmd", "peer_list");
	int rc = ch_svc_call(s->svc, "transport", &w, PEERS_TIMEOUT, on_peer_list, s, NULL);
	ch_mpw_free(&w);
	if (rc)
		CH_LOG_WARN("restart: cannot ask transport for its peers (%s); peers are adopted "
		            "as they speak",
		            ch_strerror(rc));
	else
		s->rebuilding = true;
}

/* ---------------------------------------------------------------- producers */

/* load_producers: the validator set: DATADIR/producers if the producers
 * commands ever wrote it (it wins), else the config's producer keys.  A
 * file that does not parse stops the node (CH_EINVAL is fatal): falling
 * back to "any key" would open the pools to every peer. */
static int load_producers(rl_svc_t *s, const ch_node_config_t *cfg)
{
	rl_producers_t *set = calloc(1, sizeof(*set));
	char err[256];
	if (!set)
		return CH_ENOMEM;
	int rc = rl_prod_load(cfg->datadir, set, err, sizeof(err));
	if (rc == 0) {
		s->prod_source = "file";
		if (cfg->producers.n)
			CH_LOG_INFO("producers: %s/%s wins over the %zu producer keys of the "
			            "configuration",
			            cfg->datadir, RL_PRODUCERS_FILE, cfg->producers.n);
	} else if (rc == CH_ENOENT) {
		set->n = 0;
		for (size_t i = 0; i < cfg->producers.n; i++) {
			uint8_t k[32];
			/* node_config checked the form */
			if (rl_prod_parse_hex(cfg->producers.v[i], strlen(cfg->producers.v[i]), k))
				rl_prod_add(set, k);
		}
		s->prod_source = set->n ? "config" : "none";
	} else {
		CH_LOG_ERROR("producers: %s (fix or remove the file)", err);
		free(set);
		return CH_EINVAL;
	}
	rl_core_set_producers(s->core, set);
	if (set->n)
		CH_LOG_INFO("producers: %u keys may produce blocks (from the %s)", set->n,
		            strcmp(s->prod_source, "file") == 0 ? "producers file"
		                                                : "configuration");
	else
		CH_LOG_WARN("no block producers configured: any peer's block, signed by any key, "
		            "removes its transactions from the pool; set producer = PUBKEY (or "
		            "chorusctl producers set)");
	free(set);
	return 0;
}

/* ---------------------------------------------------------------- life */

int rl_svc_init(ch_svc_t *svc, void **user)
{
	const ch_node_config_t *cfg = ch_svc_config(svc);
	rl_svc_t *s = calloc(1, sizeof(*s));
	if (!s)
		return CH_ENOMEM;
	s->svc = svc;
	s->in_tp = ch_svc_ring(svc, CH_RING_TRANSPORT_RELAY);
	s->in_mp = ch_svc_ring(svc, CH_RING_MEMPOOL_RELAY);
	s->out_tp = ch_svc_ring(svc, CH_RING_RELAY_TRANSPORT);
	s->out_mp = ch_svc_ring(svc, CH_RING_RELAY_MEMPOOL);
	if (!s->in_tp || !s->in_mp || !s->out_tp || !s->out_mp) {
		free(s);
		return CH_EINVAL;
	}
	char err[256];
	s->have_ident = ch_identity_load(cfg->datadir, false, &s->ident, err, sizeof(err)) == 0;
	if (!s->have_ident)
		CH_LOG_WARN("no node identity (%s): block submit is unavailable", err);
	rl_cfg_t rc = {
	    .max_peers = (uint32_t)cfg->max_peers + 16, /* handshakes finishing during churn */
	    .ring_max_msg = cfg->ring_max_msg,
	    .on_event = on_core_event,
	    .event_user = s,
	};
	ch_crypto_init();
	randombytes_buf(rc.hash_key, sizeof(rc.hash_key));
	uint64_t now = ch_mono_ns();
	s->core = rl_core_new(&rc, now);
	if (!s->core) {
		CH_LOG_ERROR("relay init: out of memory");
		rl_svc_fini(svc, s);
		return CH_ENOMEM;
	}
	int prc = load_producers(s, cfg);
	if (prc) {
		rl_svc_fini(svc, s);
		return prc;
	}
	/* a ring already consumed from means this is a restart */
	shm_ring_stats_t st;
	shm_ring_stats(s->in_tp, &st);
	if (st.head_seq > 0)
		rebuild_peers(s);
	s->last_ev_ns = now;
	*user = s;
	return 0;
}

/* rl_svc_fini: safe after a failed init. */
void rl_svc_fini(ch_svc_t *svc, void *user)
{
	rl_svc_t *s = user;
	if (!s)
		return;
	ch_svc_timer_cancel(svc, s->timer);
	rl_core_free(&s->core);
	ch_identity_wipe(&s->ident);
	free(s);
}

/* ---------------------------------------------------------------- status */

static void kv_stats(ch_mpw_t *w, const rl_stats_t *st, int *n)
{
#define KV(name)                                                                                   \
	do {                                                                                       \
		ch_mpw_kv_u64(w, #name, st->name);                                                 \
		(*n)++;                                                                            \
	} while (0)
	KV(inv_in);
	KV(inv_ids_in);
	KV(inv_known);
	KV(inv_new);
	KV(inv_out);
	KV(inv_ids_out);
	KV(getdata_in);
	KV(getdata_ids_in);
	KV(getdata_out);
	KV(getdata_ids_out);
	KV(notfound_in);
	KV(notfound_out);
	KV(tx_in);
	KV(tx_out);
	KV(tx_submitted);
	KV(tx_unrequested);
	KV(tx_unreq_dropped);
	KV(accepted);
	KV(rejected);
	KV(dup_tx_in);
	KV(filtered_dups);
	KV(removed);
	KV(served);
	KV(serve_dropped);
	KV(getdata_dups);
	KV(getdata_unannounced);
	KV(block_inv_dropped);
	KV(pending_evicted);
	KV(blocks_in);
	KV(blocks_out);
	KV(blocks_accepted);
	KV(blocks_dup);
	KV(blocks_bad);
	KV(blocks_not_producer);
	KV(cmpct_in);
	KV(cmpct_complete);
	KV(cmpct_missing_ids);
	KV(cmpct_fallbacks);
	KV(cmpct_bytes_saved);
	KV(inv_oversized);
	KV(inv_flood);
	KV(malformed);
	KV(misbehave_reports);
	KV(fail_points);
	KV(bytes_in);
	KV(bytes_out);
	KV(announce_flushes);
	KV(poolset_full);
	KV(peers_up);
	KV(peers_down);
	KV(resets);
	KV(bad_records);
	KV(unknown_peer_msgs);
	KV(flood_sent);
#undef KV
}

/* write_histo: a histogram as common/histo.h describes it. */
static void write_histo(ch_mpw_t *w, const ch_histo_t *h)
{
	ch_mpw_map(w, 3);
	ch_mpw_key(w, "buckets");
	ch_mpw_array(w, CH_HISTO_NB + 1);
	for (int i = 0; i <= CH_HISTO_NB; i++)
		msgpack_pack_uint64(&w->pk, h->bucket[i]);
	ch_mpw_kv_u64(w, "count", h->count);
	ch_mpw_kv_u64(w, "sum_ns", h->sum_ns);
}

/* rl_svc_status: status and metrics share these pairs. */
int rl_svc_status(ch_svc_t *svc, void *user, ch_mpw_t *w)
{
	rl_svc_t *s = user;
	rl_state_info_t si;
	int n = 0;
	rl_core_state(s->core, &si);
	ch_mpw_kv_str(w, "mode", rl_core_flood(s->core) ? "flood" : "announce");
	ch_mpw_kv_u64(w, "peers", si.peers);
	ch_mpw_kv_u64(w, "inflight", si.inflight);
	ch_mpw_kv_u64(w, "poolset", si.poolset);
	ch_mpw_kv_u64(w, "batch", si.batch);
	ch_mpw_kv_u64(w, "pending_blocks", si.pending_blocks);
	ch_mpw_kv_u64(w, "recent_blocks", si.recent_blocks);
	ch_mpw_kv_u64(w, "tip_height", si.tip_height);
	ch_mpw_kv_u64(w, "outq_transport", si.outq_transport);
	ch_mpw_kv_u64(w, "outq_mempool", si.outq_mempool);
	ch_mpw_kv_u64(w, "memory_bound", si.memory);
	ch_mpw_kv_u64(w, "req_timeouts", si.trk_timeouts);
	ch_mpw_kv_u64(w, "req_dropped", si.trk_dropped);
	ch_mpw_kv_u64(w, "req_table_full", si.trk_full);
	ch_mpw_kv_u64(w, "req_peer_full", si.trk_peer_full);
	ch_mpw_kv_u64(w, "req_reasked", si.trk_reasked);
	ch_mpw_kv_u64(w, "ring_errors", s->ring_errors);
	ch_mpw_kv_u64(w, "out_dropped", s->out_dropped);
	ch_mpw_key(w, "request_latency");
	write_histo(w, rl_core_histo(s->core, 0));
	ch_mpw_key(w, "announce_latency");
	write_histo(w, rl_core_histo(s->core, 1));
	/* with no producer set any peer's block empties the pool: shown */
	ch_mpw_kv_str(w, "block_rule", rl_core_producers(s->core)->n ? "producers" : "any-key");
	ch_mpw_kv_u64(w, "producers", rl_core_producers(s->core)->n);
	ch_mpw_kv_str(w, "producers_source", s->prod_source ? s->prod_source : "none");
	n += 23;
	kv_stats(w, rl_core_stats(s->core), &n);
	return n;
}

/* ---------------------------------------------------------------- commands */

/* peers: per-peer state and counters. */
static int cmd_peers(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	rl_svc_t *s = user;
	uint32_t cap = 4096;
	rl_peer_info_t *pi = calloc(cap, sizeof(*pi));
	if (!pi)
		return CH_ENOMEM;
	uint32_t n = rl_core_peers(s->core, pi, cap);
	n = n < cap ? n : cap;
	ch_mpw_map(out, 1);
	ch_mpw_key(out, "peers");
	ch_mpw_array(out, n);
	for (uint32_t i = 0; i < n; i++) {
		const rl_peer_info_t *p = &pi[i];
		char pk[65];
		ch_hex_encode(pk, sizeof(pk), p->pubkey, 32);
		ch_mpw_map(out, 24);
		ch_mpw_kv_u64(out, "id", p->handle);
		ch_mpw_kv_str(out, "pubkey", pk);
		ch_mpw_kv_str(out, "addr", p->addr);
		ch_mpw_kv_str(out, "direction",
		              p->inbound      ? "inbound"
		              : p->block_only ? "block-relay"
		                              : "outbound");
		ch_mpw_kv_u64(out, "known", p->known);
		ch_mpw_kv_u64(out, "inflight", p->inflight);
		ch_mpw_kv_u64(out, "announced", p->announced);
		ch_mpw_kv_u64(out, "serve_pending", p->serve_pending);
		ch_mpw_kv_u64(out, "inv_in", p->inv_in);
		ch_mpw_kv_u64(out, "inv_out", p->inv_out);
		ch_mpw_kv_u64(out, "getdata_in", p->getdata_in);
		ch_mpw_kv_u64(out, "getdata_out", p->getdata_out);
		ch_mpw_kv_u64(out, "notfound_in", p->notfound_in);
		ch_mpw_kv_u64(out, "notfound_out", p->notfound_out);
		ch_mpw_kv_u64(out, "tx_in", p->tx_in);
		ch_mpw_kv_u64(out, "tx_out", p->tx_out);
		ch_mpw_kv_u64(out, "blocks_in", p->blocks_in);
		ch_mpw_kv_u64(out, "blocks_out", p->blocks_out);
		ch_mpw_kv_u64(out, "dup_tx_in", p->dup_tx_in);
		ch_mpw_kv_u64(out, "unrequested", p->unrequested);
		ch_mpw_kv_u64(out, "points", p->points);
		ch_mpw_kv_u64(out, "bytes_in", p->bytes_in);
		ch_mpw_kv_u64(out, "bytes_out", p->bytes_out);
		ch_mpw_kv_u64(out, "inbound", p->inbound);
	}
	free(pi);
	return 0;
}

/* get_id: a 32-byte id as bin or 64 hex digits. */
static bool get_id(const msgpack_object *o, uint8_t out[32])
{
	const void *b;
	const char *str;
	size_t len, got;
	if (ch_mp_as_bin(o, &b, &len) == 0 && len == 32) {
		memcpy(out, b, 32);
		return true;
	}
	if (ch_mp_as_str(o, &str, &len) == 0 && len == 64) {
		char hex[65];
		memcpy(hex, str, 64);
		hex[64] = 0;
		return ch_hex_decode(out, 32, hex, &got) == 0 && got == 32;
	}
	return false;
}

static void fill_submit(ch_mpw_t *out, const rl_block_t *b, size_t full, size_t cmpct,
                        uint32_t relayed)
{
	char id[65], prev[65];
	ch_hex_encode(id, sizeof(id), b->id, 32);
	ch_hex_encode(prev, sizeof(prev), b->prev, 32);
	ch_mpw_map(out, 8);
	ch_mpw_kv_str(out, "id", id);
	ch_mpw_kv_u64(out, "height", b->height);
	ch_mpw_kv_str(out, "prev", prev);
	ch_mpw_kv_u64(out, "ntx", b->ntx);
	ch_mpw_kv_u64(out, "time", b->time);
	ch_mpw_kv_u64(out, "bytes", full);
	ch_mpw_kv_u64(out, "compact_bytes", cmpct);
	ch_mpw_kv_u64(out, "relayed", relayed);
}

/* may_produce: this node's key is in the validator set (or there is none). */
static bool may_produce(const rl_svc_t *s)
{
	const rl_producers_t *set = rl_core_producers(s->core);
	return set->n == 0 || rl_prod_has(set, s->ident.pk.b);
}

/* submit: what block_submit needs once the ids are known. */
typedef struct submit {
	rl_svc_t *s;
	ch_svc_reply_t *reply;
	bool has_height, has_prev;
	uint64_t height;
	uint8_t prev[32];
} submit_t;

/* submit_block: builds, signs and relays the block of ids[0..n) into out. */
static int submit_block(rl_svc_t *s, const submit_t *a, const uint8_t *ids, uint32_t n,
                        ch_mpw_t *out)
{
	rl_block_t b;
	size_t full = 0, cmpct = 0;
	uint32_t relayed = 0;
	int rc =
	    rl_core_block_submit(s->core, ids, n, a->has_height, a->height, a->has_prev, a->prev,
	                         &s->ident.sk, ch_mono_ns(), &b, &full, &cmpct, &relayed);
	if (rc)
		return rc;
	b.ntx = n;
	fill_submit(out, &b, full, cmpct, relayed);
	/* out now: the mempool removes the transactions, peers get the block */
	flush_all(s);
	return 0;
}

/* on_top: the mempool's answer to `top` (ids as 32-byte bins): the block
 * is built and the deferred block_submit answered. */
static void on_top(void *arg, int rc, const msgpack_object *res, const char *msg)
{
	submit_t *a = arg;
	rl_svc_t *s = a->s;
	const msgpack_object *txs;
	uint32_t max = rl_core_block_max(s->core), n = 0;
	uint8_t *ids = malloc(32 * (size_t)(max ? max : 1));
	ch_mpw_t out;
	ch_mpw_init(&out);
	if (rc == CH_ETIMEDOUT) {
		ch_svc_reply_error(s->svc, a->reply, rc, "the mempool did not answer 'top'");
	} else if (rc) {
		ch_svc_reply_error(s->svc, a->reply, rc, "the mempool refused 'top': %s", msg);
	} else if (!res || ch_mp_map_get(res, "txs", &txs) || txs->type != MSGPACK_OBJECT_ARRAY) {
		ch_svc_reply_error(s->svc, a->reply, CH_EPROTO,
		                   "the mempool's answer to 'top' has no txs list");
	} else if (!ids) {
		ch_svc_reply_error(s->svc, a->reply, CH_ENOMEM, "out of memory");
	} else {
		for (uint32_t i = 0; i < txs->via.array.size && n < max; i++)
			if (ch_mp_get_bin_exact(&txs->via.array.ptr[i], "id", ids + 32 * (size_t)n,
			                        32) == 0)
				n++;
		rc = submit_block(s, a, ids, n, &out);
		if (rc == CH_EPERM)
			ch_svc_reply_error(s->svc, a->reply, rc,
			                   "this node's key is not a block producer (see chorusctl "
			                   "producers list)");
		else if (rc)
			ch_svc_reply_error(s->svc, a->reply, rc, "%s", ch_strerror(rc));
		else
			ch_svc_reply(s->svc, a->reply, &out);
	}
	ch_mpw_free(&out);
	free(ids);
	free(a);
}

/* block_submit {txs: [id...] | top: N, height?, prev?}: builds a block,
 * signs it with the node identity and relays it.  With top, the reply
 * waits (deferred) for the mempool's best ids. */
static int cmd_block_submit(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	rl_svc_t *s = user;
	const msgpack_object *txs = NULL, *o;
	uint64_t top = 0;
	submit_t a = {.s = s};
	bool has_top = ch_mp_get_u64(req, "top", &top) == 0;
	a.has_height = ch_mp_get_u64(req, "height", &a.height) == 0;
	a.has_prev = ch_mp_map_get(req, "prev", &o) == 0;
	if (!s->have_ident) {
		ch_svc_set_error(svc, "this node has no identity key to sign blocks with");
		return CH_EINVAL;
	}
	if (!may_produce(s)) {
		char pk[65];
		ch_hex_encode(pk, sizeof(pk), s->ident.pk.b, 32);
		ch_svc_set_error(svc,
		                 "this node's key %s is not a block producer (see chorusctl "
		                 "producers list): peers would refuse its block",
		                 pk);
		return CH_EPERM;
	}
	if (a.has_prev && !get_id(o, a.prev)) {
		ch_svc_set_error(svc, "\"prev\" must be 32 bytes of binary or 64 hex digits");
		return CH_EINVAL;
	}
	if (ch_mp_map_get(req, "txs", &txs) == 0 && txs->type != MSGPACK_OBJECT_ARRAY) {
		ch_svc_set_error(svc, "\"txs\" must be a list of ids");
		return CH_EINVAL;
	}
	uint32_t max = rl_core_block_max(s->core), n = 0;
	if ((has_top && top > max) || (txs && txs->via.array.size > max)) {
		ch_svc_set_error(svc, "a block holds at most %u transactions", max);
		return CH_ERANGE;
	}
	if (has_top) {
		submit_t *p = malloc(sizeof(*p));
		if (!p)
			return CH_ENOMEM;
		*p = a;
		p->reply = ch_svc_defer(svc);
		if (!p->reply) {
			free(p);
			ch_svc_set_error(svc, "too many commands wait");
			return CH_EBUSY;
		}
		ch_mpw_t w;
		ch_mpw_init(&w);
		ch_mpw_map(&w, 2);
		ch_mpw_kv_str(&w, "cmd", "top");
		ch_mpw_kv_u64(&w, "n", top);
		int rc = ch_svc_call(svc, "mempool", &w, TOP_TIMEOUT, on_top, p, NULL);
		ch_mpw_free(&w);
		if (rc) {
			ch_svc_reply_error(svc, p->reply, rc,
			                   "cannot ask the mempool for 'top': %s", ch_strerror(rc));
			free(p);
		}
		return 0;
	}
	uint8_t *ids = malloc(32 * (size_t)(max ? max : 1));
	if (!ids)
		return CH_ENOMEM;
	int rc = 0;
	if (txs) {
		for (; n < txs->via.array.size; n++) {
			if (!get_id(&txs->via.array.ptr[n], ids + 32 * (size_t)n)) {
				ch_svc_set_error(svc, "txs[%u] is not an id", n);
				rc = CH_EINVAL;
				break;
			}
		}
	}
	if (!rc)
		rc = submit_block(s, &a, ids, n, out);
	free(ids);
	return rc;
}

/* mode {flood: bool}: the bench's baseline (push whole transactions to
 * every peer) or the normal announce-then-fetch. */
static int cmd_mode(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	rl_svc_t *s = user;
	bool flood;
	if (ch_mp_get_bool(req, "flood", &flood) == 0)
		rl_core_set_flood(s->core, flood);
	ch_mpw_map(out, 1);
	ch_mpw_kv_str(out, "mode", rl_core_flood(s->core) ? "flood" : "announce");
	return 0;
}

/* ---------------------------------------------------------------- producers */

/* fill_producers: {producers: [hex...], source, block_rule}. */
static void fill_producers(rl_svc_t *s, ch_mpw_t *out)
{
	const rl_producers_t *set = rl_core_producers(s->core);
	ch_mpw_map(out, 3);
	ch_mpw_key(out, "producers");
	ch_mpw_array(out, set->n);
	for (uint32_t i = 0; i < set->n; i++) {
		char hex[65];
		ch_hex_encode(hex, sizeof(hex), set->key[i], 32);
		msgpack_pack_str_with_body(&out->pk, hex, 64);
	}
	ch_mpw_kv_str(out, "source", s->prod_source ? s->prod_source : "none");
	ch_mpw_kv_str(out, "block_rule", set->n ? "producers" : "any-key");
}

static int cmd_producers_list(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	(void)svc;
	(void)req;
	fill_producers(user, out);
	return 0;
}

typedef enum { PROD_SET, PROD_ADD, PROD_REMOVE } prod_op_t;

/* producers_change: the new set is built on a copy, written to
 * DATADIR/producers (atomically, fsynced), and only then applied: a
 * refused change or a failed write leaves the set as it was. */
static int producers_change(ch_svc_t *svc, rl_svc_t *s, const msgpack_object *req, ch_mpw_t *out,
                            prod_op_t op)
{
	const msgpack_object *keys;
	if (ch_mp_map_get(req, "keys", &keys) != 0 || keys->type != MSGPACK_OBJECT_ARRAY) {
		ch_svc_set_error(svc, "\"keys\" must be a list of public keys");
		return CH_EINVAL;
	}
	if (keys->via.array.size > RL_PRODUCERS_MAX) {
		ch_svc_set_error(svc, "at most %d producers", RL_PRODUCERS_MAX);
		return CH_ERANGE;
	}
	rl_producers_t *set = malloc(sizeof(*set));
	if (!set)
		return CH_ENOMEM;
	if (op == PROD_SET)
		set->n = 0;
	else
		*set = *rl_core_producers(s->core);
	int rc = 0;
	for (uint32_t i = 0; i < keys->via.array.size && !rc; i++) {
		uint8_t k[32];
		if (!get_id(&keys->via.array.ptr[i], k)) {
			ch_svc_set_error(svc, "keys[%u] is not a public key (64 hex digits)", i);
			rc = CH_EINVAL;
			break;
		}
		int r = op == PROD_REMOVE ? rl_prod_remove(set, k) : rl_prod_add(set, k);
		if (r == CH_ERANGE) {
			ch_svc_set_error(svc, "at most %d producers", RL_PRODUCERS_MAX);
			rc = r;
		} else if (r == CH_ENOENT) {
			char hex[65];
			ch_hex_encode(hex, sizeof(hex), k, 32);
			ch_svc_set_error(svc, "%s is not a producer", hex);
			rc = r;
		} /* adding a key already in (or listed twice) is harmless */
	}
	const ch_node_config_t *cfg = ch_svc_config(svc);
	if (!rc) {
		rc = rl_prod_save(cfg->datadir, set);
		if (rc)
			ch_svc_set_error(svc, "cannot write %s/%s: %s", cfg->datadir,
			                 RL_PRODUCERS_FILE, strerror(errno));
	}
	if (!rc) {
		uint32_t before = rl_core_producers(s->core)->n;
		rl_core_set_producers(s->core, set);
		s->prod_source = "file";
		CH_LOG_INFO("producers: %u keys (were %u), saved in %s/%s", set->n, before,
		            cfg->datadir, RL_PRODUCERS_FILE);
		if (!set->n)
			CH_LOG_WARN("no block producers now: any peer's block removes its "
			            "transactions from the pool");
		fill_producers(s, out);
	}
	free(set);
	return rc;
}

static int cmd_producers_set(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	return producers_change(svc, user, req, out, PROD_SET);
}

static int cmd_producers_add(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	return producers_change(svc, user, req, out, PROD_ADD);
}

static int cmd_producers_remove(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	return producers_change(svc, user, req, out, PROD_REMOVE);
}

const ch_svc_cmd_t rl_svc_cmds[] = {
    {"peers", cmd_peers, "per-peer relay state: filters, requests in flight, message counters"},
    {"block_submit", cmd_block_submit,
     "build, sign and relay a block: {txs: [id...] | top: N, height, prev}"},
    {"mode", cmd_mode, "{flood: bool}: the flooding baseline of the bench, or announce (default)"},
    {"producers_list", cmd_producers_list,
     "the validator set: keys whose blocks are accepted (none: any key)"},
    {"producers_set", cmd_producers_set,
     "{keys: [pubkey...]}: replace the validator set (saved in DATADIR/producers)"},
    {"producers_add", cmd_producers_add, "{keys: [pubkey...]}: add keys to the validator set"},
    {"producers_remove", cmd_producers_remove,
     "{keys: [pubkey...]}: remove keys from the validator set"},
};
const size_t rl_svc_ncmds = sizeof(rl_svc_cmds) / sizeof(rl_svc_cmds[0]);
