/* metrics.c: see metrics.h; every metric is listed in docs/metrics.md. */
#include "metrics.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "ctl.h"
#include "err.h"
#include "histo.h"
#include "mp.h"
#include "node_layout.h"
#include "prom.h"

#define NSRC     5 /* chorusd, then the services in ch_svc_names order */
#define SRC_NODE 0
/* The largest reply accepted from one process. */
#define REPLY_MAX (1u << 20)

struct ch_metrics {
	struct MHD_Daemon *d;
	int fd;
	void *zctx;
	char datadir[CH_CTL_PATH_MAX];
};

typedef struct gather {
	ch_mpr_t r[NSRC];
	const msgpack_object *root[NSRC]; /* the result map, NULL: no answer */
	const char *name[NSRC];
} gather_t;

/* ---------------------------------------------------------------- reading */

static const msgpack_object *get(const msgpack_object *m, const char *k)
{
	const msgpack_object *o;
	if (!m || m->type != MSGPACK_OBJECT_MAP || ch_mp_map_get(m, k, &o) != 0)
		return NULL;
	return o;
}

static bool num(const msgpack_object *o, double *v)
{
	if (!o)
		return false;
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*v = (double)o->via.u64;
		return true;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*v = (double)o->via.i64;
		return true;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*v = o->via.f64;
		return true;
	case MSGPACK_OBJECT_BOOLEAN:
		*v = o->via.boolean ? 1 : 0;
		return true;
	default:
		return false;
	}
}

/* str: a string value as a C string in buf ("" when absent). */
static const char *str(const msgpack_object *o, char *buf, size_t cap)
{
	buf[0] = 0;
	if (o && o->type == MSGPACK_OBJECT_STR) {
		size_t n = o->via.str.size < cap - 1 ? o->via.str.size : cap - 1;
		memcpy(buf, o->via.str.ptr, n);
		buf[n] = 0;
	}
	return buf;
}

/* key_str: the i-th key of a map as a C string. */
static const char *key_str(const msgpack_object *m, uint32_t i, char *buf, size_t cap)
{
	return str(&m->via.map.ptr[i].key, buf, cap);
}

/* the entry of chorusd's services array for a service, or NULL */
static const msgpack_object *svc_entry(const gather_t *g, const char *name)
{
	const msgpack_object *a = get(g->root[SRC_NODE], "services");
	if (!a || a->type != MSGPACK_OBJECT_ARRAY)
		return NULL;
	for (uint32_t i = 0; i < a->via.array.size; i++) {
		char n[32];
		if (strcmp(str(get(&a->via.array.ptr[i], "name"), n, sizeof(n)), name) == 0)
			return &a->via.array.ptr[i];
	}
	return NULL;
}

static void gather(gather_t *g, void *zctx, const char *datadir)
{
	g->name[SRC_NODE] = "chorusd";
	for (int i = 0; i < CH_SVC_COUNT; i++)
		g->name[i + 1] = ch_svc_names[i];
	for (int i = 0; i < NSRC; i++) {
		ch_mpr_init(&g->r[i], REPLY_MAX);
		g->root[i] = NULL;
		if (i != SRC_NODE) {
			/* a service chorusd knows is not running is not asked:
			 * its socket would only time out */
			double pid = 0;
			if (!num(get(svc_entry(g, g->name[i]), "pid"), &pid) || pid <= 0)
				continue;
		}
		char ep[CH_CTL_ENDPOINT_MAX];
		if (ch_ctl_endpoint(datadir, g->name[i], "cmd", ep, sizeof(ep)) != 0)
			continue;
		if (ch_ctl_simple(zctx, ep, i == SRC_NODE ? "status" : "metrics", &g->r[i],
		                  METRICS_CALL_MS) != 0)
			continue;
		ch_ctl_reply_t rep;
		if (ch_ctl_reply_get(&g->r[i], &rep) == 0 && rep.ok && rep.result &&
		    rep.result->type == MSGPACK_OBJECT_MAP)
			g->root[i] = rep.result;
	}
}

static void gather_free(gather_t *g)
{
	for (int i = 0; i < NSRC; i++)
		ch_mpr_free(&g->r[i]);
}

/* /proc/PID/stat: user + system CPU seconds and resident bytes. */
static bool proc_stat(long pid, double *cpu_s, double *rss_bytes)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* the command name may hold spaces and parentheses: fields start
	 * after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p)
		return false;
	unsigned long utime = 0, stime = 0;
	long rss = 0;
	/* fields 3.. : state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime(14) stime(15) cutime cstime priority
	 * nice threads itrealvalue starttime vsize rss(24) */
	if (sscanf(p + 2,
	           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d "
	           "%*d %*u %*u %ld",
	           &utime, &stime, &rss) != 3)
		return false;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	*cpu_s = (double)(utime + stime) / (double)(tck > 0 ? tck : 100);
	*rss_bytes = (double)rss * (double)(page > 0 ? page : 4096);
	return true;
}

/* ---------------------------------------------------------------- writing */

#define L0       NULL
#define L1(n, v) (&(prom_labels_t){.name = {n}, .value = {v}})

/* A plain value of one source, one sample without labels. */
typedef struct scalar {
	int src;
	const char *key, *name, *type, *help;
} scalar_t;

#define TP 1
#define DS 2
#define RL 3
#define MP 4

static const scalar_t scalars[] = {
    {TP, "handshaking", "chorus_transport_handshaking", "gauge", "connections in the handshake"},
    {TP, "bans", "chorus_transport_banned_addresses", "gauge", "addresses banned now"},
    {TP, "accepted", "chorus_transport_connections_accepted_total", "counter",
     "inbound connections accepted"},
    {TP, "refused", "chorus_transport_connections_refused_total", "counter",
     "inbound connections refused at admission"},
    {TP, "dialed", "chorus_transport_dials_total", "counter", "outbound connections dialed"},
    {TP, "banned", "chorus_transport_bans_total", "counter", "bans issued"},
    {TP, "misbehaviour_points", "chorus_transport_misbehaviour_points_total", "counter",
     "misbehaviour points given to peers (transport's own and relay's reports)"},
    {TP, "bad_frames", "chorus_transport_bad_frames_total", "counter",
     "frames refused (magic, length, checksum)"},
    {TP, "ring_full", "chorus_transport_ring_full_total", "counter",
     "times the transport.relay ring was full"},
    {TP, "out_dropped", "chorus_transport_outbox_dropped_total", "counter",
     "outbound messages dropped for a peer over its outbox bound"},
    {TP, "slow_closed", "chorus_transport_slow_closed_total", "counter",
     "peers disconnected for not reading what they were sent"},
    {TP, "bans_refused", "chorus_transport_bans_refused_total", "counter",
     "automatic bans refused because the ban list was full"},
    {TP, "scores_remembered", "chorus_transport_scores_remembered", "gauge",
     "addresses whose misbehaviour points outlive their connection"},
    {TP, "pex_dropped", "chorus_transport_pex_dropped_total", "counter",
     "peer exchange frames dropped (rate or queue bound)"},
    {RL, "peers", "chorus_relay_peers", "gauge", "peers relay knows"},
    {RL, "inflight", "chorus_relay_requests_in_flight", "gauge",
     "transaction ids announced and not yet received"},
    {RL, "pending_blocks", "chorus_relay_pending_blocks", "gauge",
     "compact blocks waiting for transactions"},
    {RL, "tip_height", "chorus_relay_tip_height", "gauge", "height of the best block seen"},
    {RL, "memory_bound", "chorus_relay_memory_bytes", "gauge",
     "memory relay allocated for its tables"},
    {RL, "tx_in", "chorus_relay_tx_received_total", "counter", "TX messages from peers"},
    {RL, "tx_out", "chorus_relay_tx_sent_total", "counter", "TX messages to peers"},
    {RL, "tx_submitted", "chorus_relay_tx_submitted_total", "counter",
     "transactions handed to the mempool"},
    {RL, "accepted", "chorus_relay_tx_accepted_total", "counter",
     "transactions the mempool accepted (relay's view)"},
    {RL, "rejected", "chorus_relay_tx_rejected_total", "counter",
     "transactions the mempool rejected (relay's view)"},
    {RL, "inv_ids_in", "chorus_relay_announced_ids_received_total", "counter",
     "transaction ids announced to us"},
    {RL, "inv_ids_out", "chorus_relay_announced_ids_sent_total", "counter",
     "transaction ids we announced"},
    {RL, "req_timeouts", "chorus_relay_request_timeouts_total", "counter",
     "GETDATA requests that timed out"},
    {RL, "blocks_in", "chorus_relay_blocks_received_total", "counter", "blocks from peers"},
    {RL, "blocks_accepted", "chorus_relay_blocks_accepted_total", "counter", "blocks accepted"},
    {RL, "misbehave_reports", "chorus_relay_misbehaviour_reports_total", "counter",
     "misbehaviour reports relay sent to transport"},
    {MP, "count", "chorus_mempool_transactions", "gauge", "transactions in the pool"},
    {MP, "bytes", "chorus_mempool_bytes", "gauge", "encoded bytes of the pool's transactions"},
    {MP, "max_count", "chorus_mempool_max_transactions", "gauge", "the pool's count bound"},
    {MP, "max_bytes", "chorus_mempool_max_bytes", "gauge", "the pool's byte bound"},
    {MP, "min_fee_rate", "chorus_mempool_min_fee_rate", "gauge",
     "lowest fee rate (fee units per byte) the pool admits now"},
    {MP, "senders", "chorus_mempool_senders", "gauge", "distinct senders in the pool"},
    {MP, "journal_bytes", "chorus_mempool_journal_bytes", "gauge", "size of the journal"},
    {DS, "dht_nodes", "chorus_dht_nodes", "gauge", "nodes in the DHT routing table"},
    {DS, "dht_buckets", "chorus_dht_buckets", "gauge", "buckets of the routing table"},
    {DS, "dht_items", "chorus_dht_items", "gauge", "items (put values) stored"},
    {DS, "dht_item_bytes", "chorus_dht_item_bytes", "gauge", "bytes of the items stored"},
    {DS, "dht_peers", "chorus_dht_stored_peers", "gauge", "peer announcements stored"},
    {DS, "dht_lookups_running", "chorus_dht_lookups_running", "gauge", "lookups in progress"},
    {DS, "dht_lookups_started", "chorus_dht_lookups_started_total", "counter", "lookups started"},
    {DS, "dht_lookups_done", "chorus_dht_lookups_completed_total", "counter", "lookups completed"},
    {DS, "dht_lookups_timed_out", "chorus_dht_lookups_timed_out_total", "counter",
     "lookups that ran out of time"},
    {DS, "dht_pkts_in", "chorus_dht_packets_received_total", "counter", "DHT datagrams in"},
    {DS, "dht_pkts_out", "chorus_dht_packets_sent_total", "counter", "DHT datagrams out"},
    {DS, "dht_bytes_in", "chorus_dht_received_bytes_total", "counter", "DHT bytes in"},
    {DS, "dht_bytes_out", "chorus_dht_sent_bytes_total", "counter", "DHT bytes out"},
    {DS, "dht_timeouts", "chorus_dht_query_timeouts_total", "counter",
     "queries we sent that got no answer"},
    {DS, "dht_rate_limited", "chorus_dht_rate_limited_total", "counter",
     "queries dropped by the node-wide query rate limit"},
    {DS, "dht_src_limited", "chorus_dht_source_limited_total", "counter",
     "DHT datagrams dropped by the per-address or per-group limit"},
    {DS, "dht_malformed", "chorus_dht_malformed_total", "counter", "malformed KRPC messages"},
    {DS, "outbound", "chorus_discovery_outbound_peers", "gauge",
     "outbound connections discovery counts toward its target"},
    {DS, "dials", "chorus_discovery_dials_total", "counter", "dials discovery asked for"},
    {DS, "dial_failed", "chorus_discovery_dial_failures_total", "counter", "dials that failed"},
};

static void write_scalars(prom_t *p, const gather_t *g)
{
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		const scalar_t *s = &scalars[i];
		double v;
		if (!num(get(g->root[s->src], s->key), &v))
			continue;
		prom_family(p, s->name, s->type, s->help);
		prom_f64(p, s->name, L0, v);
	}
}

/* labelled: one family whose samples are scalar keys of a source, each
 * with one label value. */
static void labelled(prom_t *p, const gather_t *g, int src, const char *name, const char *type,
                     const char *help, const char *label, const char *const *keys,
                     const char *const *values, size_t n)
{
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		double v;
		if (!num(get(g->root[src], keys[i]), &v))
			continue;
		if (!any)
			prom_family(p, name, type, help);
		any = true;
		prom_f64(p, name, L1(label, values[i]), v);
	}
}

static void write_node(prom_t *p, const gather_t *g)
{
	const msgpack_object *n = g->root[SRC_NODE];
	char a[80], b[40], c[80], st[16];
	prom_family(p, "chorus_service_up", "gauge",
	            "1 when the process answered this scrape (chorusd and each service)");
	for (int i = 0; i < NSRC; i++)
		prom_u64(p, "chorus_service_up", L1("service", g->name[i]), g->root[i] != NULL);
	if (!n)
		return;
	prom_family(p, "chorus_node_info", "gauge", "the node's version, network and id (value 1)");
	prom_u64(p, "chorus_node_info",
	         &(prom_labels_t){.name = {"version", "network", "node_id"},
	                          .value = {str(get(n, "version"), b, sizeof(b)),
	                                    str(get(n, "network"), c, sizeof(c)),
	                                    str(get(n, "node_id"), a, sizeof(a))}},
	         1);
	prom_family(p, "chorus_node_running", "gauge",
	            "1 when chorusd is running with every service ready");
	prom_u64(p, "chorus_node_running", L0,
	         strcmp(str(get(n, "state"), st, sizeof(st)), "running") == 0);
	double started;
	if (num(get(n, "started_ms"), &started)) {
		prom_family(p, "chorus_node_start_time_seconds", "gauge",
		            "when chorusd started, seconds since the epoch");
		prom_f64(p, "chorus_node_start_time_seconds", L0, started / 1000.0);
	}

	/* per service, from chorusd's table (which outlives the services) */
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
	    {"chorus_service_ready", "gauge", "1 when the service is ready"},
	    {"chorus_service_restarts_total", "counter",
	     "times chorusd restarted the service (kept across its restarts)"},
	    {"chorus_service_start_time_seconds", "gauge",
	     "when the running process of the service started, seconds since the epoch: "
	     "its counters start from zero then"},
	    {"chorus_service_last_exit_info", "gauge",
	     "how the service's last process ended (value 1; absent before the first exit)"},
	};
	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		prom_family(p, fam[f].name, fam[f].type, fam[f].help);
		for (int i = 0; i < CH_SVC_COUNT; i++) {
			const msgpack_object *e = svc_entry(g, ch_svc_names[i]);
			double v = 0, pid = 0;
			if (!e)
				continue;
			const prom_labels_t *l = L1("service", ch_svc_names[i]);
			if (f == 0) {
				prom_u64(p, fam[f].name, l,
				         strcmp(str(get(e, "state"), st, sizeof(st)), "ready") ==
				             0);
			} else if (f == 1 && num(get(e, "restarts"), &v)) {
				prom_f64(p, fam[f].name, l, v);
			} else if (f == 2 && num(get(e, "pid"), &pid) && pid > 0 &&
			           num(get(e, "started_ms"), &v) && v > 0) {
				prom_f64(p, fam[f].name, l, v / 1000.0);
			} else if (f == 3 && str(get(e, "last_exit"), a, sizeof(a))[0]) {
				prom_u64(p, fam[f].name,
				         &(prom_labels_t){.name = {"service", "status"},
				                          .value = {ch_svc_names[i], a}},
				         1);
			}
		}
	}

	/* processes: chorusd and the running services, from /proc */
	long pids[NSRC] = {(long)getpid()};
	for (int i = 0; i < CH_SVC_COUNT; i++) {
		double pid = 0;
		num(get(svc_entry(g, ch_svc_names[i]), "pid"), &pid);
		pids[i + 1] = (long)pid;
	}
	double cpu[NSRC], rss[NSRC];
	bool have[NSRC];
	for (int i = 0; i < NSRC; i++)
		have[i] = pids[i] > 0 && proc_stat(pids[i], &cpu[i], &rss[i]);
	prom_family(p, "chorus_process_cpu_seconds_total", "counter",
	            "user and system CPU time of the process (from /proc)");
	for (int i = 0; i < NSRC; i++)
		if (have[i])
			prom_f64(p, "chorus_process_cpu_seconds_total", L1("process", g->name[i]),
			         cpu[i]);
	prom_family(p, "chorus_process_resident_memory_bytes", "gauge",
	            "resident memory of the process (from /proc)");
	for (int i = 0; i < NSRC; i++)
		if (have[i])
			prom_f64(p, "chorus_process_resident_memory_bytes",
			         L1("process", g->name[i]), rss[i]);
}

/* rings: chorusd's observer view (the counters live in shared memory and
 * outlive the services) */
static void write_rings(prom_t *p, const gather_t *g)
{
	const msgpack_object *a = get(g->root[SRC_NODE], "rings");
	if (!a || a->type != MSGPACK_OBJECT_ARRAY)
		return;
	static const struct {
		const char *key, *name, *type, *help;
	} fam[] = {
	    {"depth", "chorus_ring_depth_bytes", "gauge", "bytes published and not yet consumed"},
	    {"records", "chorus_ring_records", "gauge", "records published and not yet consumed"},
	    {"size", "chorus_ring_size_bytes", "gauge", "the ring's data area"},
	    {"stalls", "chorus_ring_stalls_total", "counter",
	     "times a producer found the ring full (for the node's life)"},
	};
	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		prom_family(p, fam[f].name, fam[f].type, fam[f].help);
		for (uint32_t i = 0; i < a->via.array.size; i++) {
			char rn[48];
			double v;
			const msgpack_object *r = &a->via.array.ptr[i];
			if (num(get(r, fam[f].key), &v))
				prom_f64(p, fam[f].name,
				         L1("ring", str(get(r, "name"), rn, sizeof(rn))), v);
		}
	}
}

static void write_transport(prom_t *p, const gather_t *g)
{
	static const char *const dk[] = {"inbound", "outbound"};
	labelled(p, g, TP, "chorus_transport_peers", "gauge", "connected peers by direction",
	         "direction", dk, dk, 2);
	static const char *const hk[] = {"handshakes", "handshake_failures"};
	static const char *const hv[] = {"ok", "failed"};
	labelled(p, g, TP, "chorus_transport_handshakes_total", "counter",
	         "handshakes that opened a peer (ok) or failed", "result", hk, hv, 2);
	const msgpack_object *t = get(g->root[TP], "types");
	if (!t || t->type != MSGPACK_OBJECT_MAP)
		return;
	static const struct {
		const char *name, *help;
	} fam[4] = {
	    {"chorus_transport_messages_received_total", "frames received from peers, by type"},
	    {"chorus_transport_received_bytes_total",
	     "bytes of frames received (13-byte header and payload, before decryption), by type"},
	    {"chorus_transport_messages_sent_total", "frames queued for peers, by type"},
	    {"chorus_transport_sent_bytes_total",
	     "bytes of frames queued for peers (header and payload, before encryption), by type"},
	};
	for (int f = 0; f < 4; f++) {
		prom_family(p, fam[f].name, "counter", fam[f].help);
		for (uint32_t i = 0; i < t->via.map.size; i++) {
			const msgpack_object *v = &t->via.map.ptr[i].val;
			char ty[24];
			double x;
			if (v->type == MSGPACK_OBJECT_ARRAY && v->via.array.size == 4 &&
			    num(&v->via.array.ptr[f], &x))
				prom_f64(p, fam[f].name, L1("type", key_str(t, i, ty, sizeof(ty))),
				         x);
		}
	}
}

static void write_histo(prom_t *p, const msgpack_object *h, const char *name, const char *help)
{
	const msgpack_object *b = get(h, "buckets");
	double count, sum_ns;
	if (!b || b->type != MSGPACK_OBJECT_ARRAY || b->via.array.size != CH_HISTO_NB + 1 ||
	    !num(get(h, "count"), &count) || !num(get(h, "sum_ns"), &sum_ns))
		return;
	char bn[96], le[32];
	prom_family(p, name, "histogram", help);
	snprintf(bn, sizeof(bn), "%s_bucket", name);
	double cum = 0;
	for (int i = 0; i <= CH_HISTO_NB; i++) {
		double v = 0;
		num(&b->via.array.ptr[i], &v);
		cum += v;
		if (i < CH_HISTO_NB)
			snprintf(le, sizeof(le), "%g", (double)ch_histo_bounds_ns[i] / 1e9);
		else
			snprintf(le, sizeof(le), "+Inf");
		prom_f64(p, bn, L1("le", le), cum);
	}
	snprintf(bn, sizeof(bn), "%s_sum", name);
	prom_f64(p, bn, L0, sum_ns / 1e9);
	snprintf(bn, sizeof(bn), "%s_count", name);
	prom_f64(p, bn, L0, count);
}

static void write_relay(prom_t *p, const gather_t *g)
{
	const msgpack_object *r = g->root[RL];
	if (!r)
		return;
	write_histo(p, get(r, "request_latency"), "chorus_relay_request_seconds",
	            "from a GETDATA for a transaction to the mempool's verdict on it");
	write_histo(p, get(r, "announce_latency"), "chorus_relay_propagation_seconds",
	            "from the first announcement of a transaction to the mempool's verdict on it");
}

static void write_mempool(prom_t *p, const gather_t *g)
{
	const msgpack_object *m = g->root[MP];
	double v;
	if (!m)
		return;
	const msgpack_object *by = get(m, "rejected_by_reason");
	prom_family(p, "chorus_mempool_admissions_total", "counter",
	            "admission verdicts: accepted, or the reason of the rejection");
	if (num(get(m, "accepted"), &v))
		prom_f64(p, "chorus_mempool_admissions_total", L1("verdict", "accepted"), v);
	if (by && by->type == MSGPACK_OBJECT_MAP)
		for (uint32_t i = 0; i < by->via.map.size; i++) {
			char rn[32];
			if (num(&by->via.map.ptr[i].val, &v))
				prom_f64(p, "chorus_mempool_admissions_total",
				         L1("verdict", key_str(by, i, rn, sizeof(rn))), v);
		}
	static const char *const rk[] = {"evictions", "expiries", "replaced", "included"};
	static const char *const rv[] = {"evicted", "expired", "replaced", "included"};
	labelled(p, g, MP, "chorus_mempool_removals_total", "counter",
	         "transactions that left the pool, by reason", "reason", rk, rv, 4);
}

static void write_dht(prom_t *p, const gather_t *g)
{
	static const char *const ak[] = {"addrbook_new", "addrbook_tried"};
	static const char *const av[] = {"new", "tried"};
	labelled(p, g, DS, "chorus_discovery_addresses", "gauge",
	         "addresses in the address book, by table", "table", ak, av, 2);
	const msgpack_object *q = get(g->root[DS], "dht_queries");
	if (!q || q->type != MSGPACK_OBJECT_MAP)
		return;
	static const struct {
		const char *name, *help;
	} fam[2] = {
	    {"chorus_dht_queries_received_total",
	     "KRPC queries received, by method (get and put are the DHT's gets and puts)"},
	    {"chorus_dht_queries_sent_total", "KRPC queries sent, by method"},
	};
	for (int f = 0; f < 2; f++) {
		prom_family(p, fam[f].name, "counter", fam[f].help);
		for (uint32_t i = 0; i < q->via.map.size; i++) {
			const msgpack_object *v = &q->via.map.ptr[i].val;
			char mn[24];
			double x;
			if (v->type == MSGPACK_OBJECT_ARRAY && v->via.array.size == 2 &&
			    num(&v->via.array.ptr[f], &x))
				prom_f64(p, fam[f].name,
				         L1("method", key_str(q, i, mn, sizeof(mn))), x);
		}
	}
}

int ch_metrics_render(void *zctx, const char *datadir, char **out, size_t *len)
{
	uint64_t t0 = ch_mono_ns();
	gather_t g;
	gather(&g, zctx, datadir);
	prom_t p = {0};
	write_node(&p, &g);
	write_rings(&p, &g);
	write_transport(&p, &g);
	write_relay(&p, &g);
	write_mempool(&p, &g);
	write_dht(&p, &g);
	write_scalars(&p, &g);
	gather_free(&g);
	prom_family(&p, "chorus_scrape_duration_seconds", "gauge",
	            "how long chorusd took to gather this scrape");
	prom_f64(&p, "chorus_scrape_duration_seconds", L0, (double)(ch_mono_ns() - t0) / 1e9);
	if (!prom_ok(&p)) {
		prom_free(&p);
		return CH_ENOMEM;
	}
	*out = p.buf;
	*len = p.len;
	return 0;
}

/* ---------------------------------------------------------------- HTTP */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type, void *body,
                             size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	ch_metrics_t *m = cls;
	static const char nf[] = "not found: the metrics are at /metrics\n";
	static const char na[] = "only GET\n";
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", (void *)na,
		             sizeof(na) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", (void *)nf, sizeof(nf) - 1,
		             MHD_RESPMEM_PERSISTENT);
	char *body;
	size_t len;
	if (ch_metrics_render(m->zctx, m->datadir, &body, &len) != 0) {
		static const char oom[] = "out of memory\n";
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", (void *)oom,
		             sizeof(oom) - 1, MHD_RESPMEM_PERSISTENT);
	}
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len,
	             MHD_RESPMEM_MUST_FREE);
}

static int bind_listen(const ch_hostport_t *l, char *err, size_t errcap)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE},
	                *res = NULL;
	char ps[8];
	snprintf(ps, sizeof(ps), "%u", l->port);
	int rc = getaddrinfo(l->host[0] ? l->host : NULL, ps, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(err, errcap, "metrics-listen %s: %s", l->str, gai_strerror(rc));
		return -1;
	}
	int fd = -1, e = 0;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
			e = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errcap, "metrics-listen %s: %s", l->str, strerror(e));
	return fd;
}

int ch_metrics_start(ch_metrics_t **out, const ch_hostport_t *listen, const char *datadir,
                     char *err, size_t errcap)
{
	*out = NULL;
	ch_metrics_t *m = calloc(1, sizeof(*m));
	if (!m)
		return CH_ENOMEM;
	snprintf(m->datadir, sizeof(m->datadir), "%s", datadir);
	m->fd = bind_listen(listen, err, errcap);
	if (m->fd < 0) {
		free(m);
		return CH_EINVAL;
	}
	m->zctx = zmq_ctx_new();
	if (!m->zctx) {
		close(m->fd);
		free(m);
		snprintf(err, errcap, "metrics: zmq_ctx_new failed");
		return CH_EIO;
	}
	/* One internal thread serves every connection, so one scrape runs at
	 * a time; a scrape's gathering is bounded (metrics.h), and idle
	 * connections are closed after 30 s, at most 16 at once. */
	m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
	                        on_request, m, MHD_OPTION_LISTEN_SOCKET, m->fd,
	                        MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
	if (!m->d) {
		zmq_ctx_term(m->zctx);
		close(m->fd);
		free(m);
		snprintf(err, errcap, "metrics: cannot start the HTTP server on %s", listen->str);
		return CH_EIO;
	}
	*out = m;
	return 0;
}

void ch_metrics_stop(ch_metrics_t **pm)
{
	ch_metrics_t *m = pm ? *pm : NULL;
	if (!m)
		return;
	MHD_stop_daemon(m->d); /* closes the listening socket too */
	zmq_ctx_term(m->zctx);
	free(m);
	*pm = NULL;
}
