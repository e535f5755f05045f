/* svc.c: the discovery service's life in the frame: init (identity,
 * socket, state file, bootstrap from the seeds, membership), work (the
 * DHT loop, membership, saving), status and metrics, fini.  Commands are
 * in svc_cmd.c, membership's glue in svc_member.c. */
#include "svc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "err.h"
#include "log.h"

/* disc_resolve: HOST (name or IPv4; "" = any) to an IPv4 address in network order. */
int disc_resolve(const char *host, uint32_t *ip)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *res = NULL;
	struct in_addr in;

	if (host == NULL || host[0] == '\0') {
		*ip = htonl(INADDR_ANY);
		return 0;
	}
	if (inet_pton(AF_INET, host, &in) == 1) {
		*ip = in.s_addr;
		return 0;
	}
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
		return CH_ENOENT;
	*ip = ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr;
	freeaddrinfo(res);
	return 0;
}

/* disc_addr_str: "a.b.c.d:port" into buf. */
const char *disc_addr_str(const dht_addr_t *a, char *buf, size_t cap)
{
	char ip[INET_ADDRSTRLEN];
	struct in_addr in = {.s_addr = a->ip};

	inet_ntop(AF_INET, &in, ip, sizeof(ip));
	snprintf(buf, cap, "%s:%u", ip, (unsigned)a->port);
	return buf;
}

/* dht_bind_ip: the IPv4 address the DHT binds for the listen host.  The
 * DHT is IPv4 only (BEP 32 is not implemented): an IPv6 loopback listen
 * host gives 127.0.0.1; any other IPv6 host, or a name without an IPv4
 * address, gives 0.0.0.0 with a warning, so the node still runs. */
static uint32_t dht_bind_ip(const char *host)
{
	struct in6_addr in6;
	uint32_t ip;

	if (inet_pton(AF_INET6, host, &in6) == 1 && IN6_IS_ADDR_LOOPBACK(&in6))
		return htonl(INADDR_LOOPBACK);
	if (disc_resolve(host, &ip) == 0)
		return ip;
	CH_LOG_WARN("the DHT is IPv4 only and listen host '%s' has no IPv4 address: it binds "
	            "0.0.0.0",
	            host);
	return htonl(INADDR_ANY);
}

/* disc_save: writes the state file now (if dirty or force). */
void disc_save(disc_t *x, bool force)
{
	if (x->d == NULL || (!force && !dht_dirty(x->d)))
		return;
	dht_save(x->d, x->state_path, ch_mono_ns(), ch_wall_ms());
}

/* on_readable: the DHT socket has datagrams. */
static void on_readable(ch_svc_t *svc, void *arg, int fd, short revents)
{
	disc_t *x = arg;

	(void)svc;
	(void)fd;
	(void)revents;
	dht_net_run(x->net, 0);
}

/* load_state: the persisted table and items; a corrupt file is moved
 * aside (never silently overwritten) and the node starts empty. */
static void load_state(disc_t *x)
{
	int rc = dht_load(x->d, x->state_path, ch_mono_ns(), ch_wall_ms());

	if (rc == 0) {
		CH_LOG_INFO("DHT state loaded from %s: %u nodes, %u items, %u own items",
		            x->state_path, dht_rtable(x->d)->count, dht_store(x->d)->nitems,
		            dht_own_count(x->d));
	} else if (rc == CH_EPROTO) {
		char aside[sizeof(x->state_path) + 16];

		snprintf(aside, sizeof(aside), "%s.corrupt", x->state_path);
		if (rename(x->state_path, aside) != 0)
			ch_log_errno(CH_LOG_LEVEL_WARN, "rename", "cannot move %s aside",
			             x->state_path);
		CH_LOG_WARN("DHT state %s is corrupt; kept as %s, starting empty", x->state_path,
		            aside);
	} else if (rc != CH_ENOENT) {
		CH_LOG_WARN("cannot read DHT state %s: %s", x->state_path, ch_strerror(rc));
	}
}

/* bootstrap_seeds: each configured seed HOST:PORT is also a DHT contact
 * at the same port number (a node's dht-port defaults to its listen
 * port). */
static void bootstrap_seeds(disc_t *x, const ch_node_config_t *cfg, uint64_t now)
{
	for (size_t i = 0; i < cfg->seeds.n; i++) {
		dht_addr_t a = {.port = cfg->seeds.v[i].port};

		if (disc_resolve(cfg->seeds.v[i].host, &a.ip) != 0 || a.ip == htonl(INADDR_ANY)) {
			CH_LOG_WARN("seed %s:%u: cannot resolve", cfg->seeds.v[i].host,
			            (unsigned)cfg->seeds.v[i].port);
			continue;
		}
		if (a.ip == x->addr.ip && a.port == x->addr.port)
			continue; /* ourselves */
		dht_add_bootstrap(x->d, &a, now);
	}
}

/* disc_init: identity, socket, core, state, bootstrap. */
int disc_init(ch_svc_t *svc, void **user)
{
	const ch_node_config_t *cfg = ch_svc_config(svc);
	disc_t *x = calloc(1, sizeof(*x));
	dht_config_t c;
	uint32_t ip;
	char err[256], buf[64];
	uint64_t now = ch_mono_ns();
	int rc;

	if (x == NULL)
		return CH_ENOMEM;
	x->svc = svc;
	*user = x;
	rc = ch_identity_load(cfg->datadir, false, &x->ident, err, sizeof(err));
	if (rc != 0) {
		CH_LOG_ERROR("discovery: %s", err);
		return CH_EINVAL;
	}
	ip = dht_bind_ip(cfg->listen.host);
	x->net = dht_net_new();
	if (x->net == NULL)
		return CH_ENOMEM;
	dht_config_default(&c);
	memcpy(c.id, x->ident.id, DHT_ID_LEN);
	rc = dht_net_add(x->net, &c, ip, (uint16_t)cfg->dht_port, NULL, &x->addr);
	if (rc != 0)
		/* the port is taken or not ours: restarting will not help */
		return errno == EADDRINUSE || errno == EACCES || errno == EADDRNOTAVAIL ? CH_EINVAL
		                                                                        : rc;
	x->d = dht_net_core(x->net, 0);
	x->budget_ms = DISC_CMD_BUDGET_MS;
	snprintf(x->state_path, sizeof(x->state_path), "%s/%s", cfg->datadir, DISC_STATE_FILE);
	load_state(x);
	bootstrap_seeds(x, cfg, now);
	dht_bootstrap(x->d, now);
	x->next_save = now; /* the first change is saved at once */
	rc = ch_svc_watch(svc, dht_net_fd(x->net), ZMQ_POLLIN, on_readable, x);
	if (rc != 0)
		return rc;
	rc = disc_member_init(x);
	if (rc != 0)
		return rc;
	CH_LOG_INFO("DHT node %02x%02x%02x%02x... on UDP %s", x->ident.id[0], x->ident.id[1],
	            x->ident.id[2], x->ident.id[3], disc_addr_str(&x->addr, buf, sizeof(buf)));
	return 0;
}

/* fill_joined: the body of event.discovery.dht_joined. */
static void fill_joined(ch_mpw_t *w, const void *arg)
{
	const disc_t *x = arg;

	ch_mpw_kv_u64(w, "nodes", dht_rtable(x->d)->count);
}

/* disc_work: the DHT's datagrams and timers; the state file. */
int disc_work(ch_svc_t *svc, void *user, uint64_t now_ns)
{
	disc_t *x = user;
	int n;

	if (x == NULL || x->net == NULL)
		return 0;
	n = dht_net_run(x->net, 0);
	if (!x->joined && dht_rtable(x->d)->count > 0) {
		x->joined = true;
		ch_svc_event(svc, "dht_joined", 1, fill_joined, x);
	}
	if (now_ns >= x->next_save) {
		x->next_save = now_ns + DISC_SAVE_NS;
		disc_save(x, false);
	}
	if (n < 0)
		n = 0;
	return n + disc_member_work(x, now_ns);
}

/* disc_status: the summary pairs of `status discovery`. */
int disc_status(ch_svc_t *svc, void *user, ch_mpw_t *w)
{
	disc_t *x = user;
	char id[41], addr[64];

	if (x == NULL || x->d == NULL)
		return 0;
	ch_hex_encode(id, sizeof(id), dht_id(x->d), DHT_ID_LEN);
	ch_mpw_kv_str(w, "dht_id", id);
	ch_mpw_kv_str(w, "dht_addr", disc_addr_str(&x->addr, addr, sizeof(addr)));
	ch_mpw_kv_u64(w, "dht_nodes", dht_rtable(x->d)->count);
	ch_mpw_kv_u64(w, "dht_items", dht_store(x->d)->nitems);
	ch_mpw_kv_u64(w, "dht_peers", dht_store(x->d)->npeers);
	if (x->mb == NULL)
		return 5;
	ch_mpw_kv_u64(w, "outbound", mb_outbound(x->mb));
	ch_mpw_kv_u64(w, "addrbook_new", ab_count(x->book, AB_NEW));
	ch_mpw_kv_u64(w, "addrbook_tried", ab_count(x->book, AB_TRIED));
	return 8;
}

/* sum: the total of n counters. */
static uint64_t sum(const uint64_t *v, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s;
}

/* disc_metrics: DHT counters every second on PUB. */
int disc_metrics(ch_svc_t *svc, void *user, ch_mpw_t *w)
{
	disc_t *x = user;
	const dht_stats_t *s;
	const mb_stats_t *ms;

	if (x == NULL || x->d == NULL)
		return 0;
	s = dht_stats(x->d);
	ch_mpw_kv_u64(w, "dht_nodes", dht_rtable(x->d)->count);
	ch_mpw_kv_u64(w, "dht_buckets", dht_rtable(x->d)->nb);
	ch_mpw_kv_u64(w, "dht_items", dht_store(x->d)->nitems);
	ch_mpw_kv_u64(w, "dht_item_bytes", dht_store(x->d)->item_bytes);
	ch_mpw_kv_u64(w, "dht_peers", dht_store(x->d)->npeers);
	ch_mpw_kv_u64(w, "dht_lookups_running", dht_lookups_running(x->d));
	ch_mpw_kv_u64(w, "dht_lookups_done", s->lookups_done);
	ch_mpw_kv_u64(w, "dht_pkts_in", s->pkts_in);
	ch_mpw_kv_u64(w, "dht_pkts_out", s->pkts_out);
	ch_mpw_kv_u64(w, "dht_bytes_in", s->bytes_in);
	ch_mpw_kv_u64(w, "dht_bytes_out", s->bytes_out);
	ch_mpw_kv_u64(w, "dht_queries_in", sum(s->queries_in, KRPC_M_COUNT));
	ch_mpw_kv_u64(w, "dht_malformed", sum(s->malformed, KRPC_ERR_NREASONS));
	ch_mpw_kv_u64(w, "dht_bencode_rejected", sum(s->bencode.rejected, BEN_ERR_NREASONS));
	ch_mpw_kv_u64(w, "dht_rate_limited", s->rate_limited);
	ch_mpw_kv_u64(w, "dht_src_limited", s->src_limited);
	ch_mpw_kv_u64(w, "dht_timeouts", s->timeouts);
	ch_mpw_kv_u64(w, "dht_bad_token", s->bad_token);
	ch_mpw_kv_u64(w, "dht_bad_sig", s->bad_sig);
	ch_mpw_kv_u64(w, "dht_lookups_started", s->lookups_started);
	ch_mpw_kv_u64(w, "dht_lookups_timed_out", s->lookups_timed_out);
	/* per KRPC method (get and put are the DHT's gets and puts):
	 * [queries received, queries sent] */
	ch_mpw_key(w, "dht_queries");
	ch_mpw_map(w, KRPC_M_COUNT);
	for (int m = 0; m < KRPC_M_COUNT; m++) {
		ch_mpw_key(w, krpc_method_name((krpc_method_t)m));
		ch_mpw_array(w, 2);
		msgpack_pack_uint64(&w->pk, s->queries_in[m]);
		msgpack_pack_uint64(&w->pk, s->queries_out[m]);
	}
	if (x->mb == NULL)
		return 22;
	ms = mb_stats(x->mb);
	ch_mpw_kv_u64(w, "outbound", mb_outbound(x->mb));
	ch_mpw_kv_u64(w, "addrbook_new", ab_count(x->book, AB_NEW));
	ch_mpw_kv_u64(w, "addrbook_tried", ab_count(x->book, AB_TRIED));
	ch_mpw_kv_u64(w, "dials", ms->dials);
	ch_mpw_kv_u64(w, "dial_failed", ms->dial_failed);
	ch_mpw_kv_u64(w, "getpeers_in", ms->getpeers_in);
	ch_mpw_kv_u64(w, "peers_in", ms->peers_in);
	ch_mpw_kv_u64(w, "addrs_added", ms->addrs_added);
	ch_mpw_kv_u64(w, "member_rounds", x->announces);
	return 31;
}

/* disc_fini: saves the state and releases everything. */
void disc_fini(ch_svc_t *svc, void *user)
{
	disc_t *x = user;

	(void)svc;
	if (x == NULL)
		return;
	disc_cmd_fini(x);
	disc_member_fini(x);
	if (x->net != NULL) {
		disc_save(x, true);
		ch_svc_unwatch(svc, dht_net_fd(x->net));
		dht_net_destroy(&x->net);
	}
	ch_identity_wipe(&x->ident);
	free(x);
}
