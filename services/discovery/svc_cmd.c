/* svc_cmd.c: the discovery service's commands (docs/control.md, docs/dht.md)
 * and its ops table.
 *
 * A command that needs the network starts a DHT operation and runs the
 * DHT (only) until the operation ends or the budget (DISC_CMD_BUDGET_MS,
 * at most half the heartbeat timeout) runs out; then the operation is
 * cancelled and the command answers CH_ETIMEDOUT.  The frame's request /
 * reply socket needs the answer before the next request, which is why the
 * command waits here rather than answering later. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "svc.h"

/* The longest user value of `dht put VALUE`: stored as the bencoded
 * string "<len>:<VALUE>", which BEP 44 caps at 1000 bytes. */
#define DISC_VALUE_MAX 996
/* The longest NAME of `dht put --name` (BEP 44's salt limit). */
#define DISC_NAME_MAX KRPC_SALT_MAX

/* An operation a command waits for. */
typedef struct cmd_wait {
	bool done;
	dht_result_t r;
} cmd_wait_t;

/* on_done: the operation's callback. */
static void on_done(void *arg, const dht_result_t *r)
{
	cmd_wait_t *w = arg;

	w->r = *r;
	w->done = true;
}

/* wait_op: runs the DHT until w is done or the budget is spent (then the
 * lookup is cancelled: CH_ETIMEDOUT). */
static int wait_op(disc_t *x, cmd_wait_t *w, uint32_t id)
{
	uint64_t end = ch_mono_ns() + x->budget_ms * 1000000ull;

	dht_net_kick(x->net, 0);
	while (!w->done) {
		uint64_t now = ch_mono_ns();

		if (now >= end) {
			dht_cancel(x->d, id);
			ch_svc_set_error(x->svc, "no answer from the DHT within %" PRIu64 " ms",
			                 x->budget_ms);
			return CH_ETIMEDOUT;
		}
		dht_net_run(x->net,
		            (int)((end - now) / 1000000 < 10 ? (end - now) / 1000000 + 1 : 10));
	}
	return 0;
}

/* hex_arg: a hex string argument of exactly n bytes. */
static int hex_arg(ch_svc_t *svc, const msgpack_object *req, const char *key, uint8_t *out,
                   size_t n)
{
	char hex[130];
	size_t got = 0;

	if (ch_mp_get_strz(req, key, hex, sizeof(hex)) != 0 ||
	    ch_hex_decode(out, n, hex, &got) != 0 || got != n) {
		ch_svc_set_error(svc, "%s must be %zu hex digits", key, 2 * n);
		return CH_EINVAL;
	}
	return 0;
}

/* kv_hex: key and the hex of n bytes. */
static void kv_hex(ch_mpw_t *w, const char *key, const uint8_t *p, size_t n)
{
	char hex[2 * KRPC_V_MAX + 1];

	ch_hex_encode(hex, sizeof(hex), p, n);
	ch_mpw_kv_str(w, key, hex);
}

/* kv_ms: key and a duration in ms (fractional). */
static void kv_ms(ch_mpw_t *w, const char *key, uint64_t ns)
{
	ch_mpw_key(w, key);
	msgpack_pack_double(&w->pk, (double)ns / 1e6);
}

/* fill_put_event: the body of event.discovery.dht_put. */
static void fill_put_event(ch_mpw_t *w, const void *arg)
{
	const dht_result_t *r = arg;

	kv_hex(w, "key", r->target, DHT_ID_LEN);
	ch_mpw_kv_u64(w, "stored", r->stored);
	ch_mpw_kv_bool(w, "mutable", r->item.mut);
}

/* cmd_put: {value, name?} -> {key, stored, mutable, seq?, pubkey?, name?} */
static int cmd_put(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	disc_t *x = user;
	const char *val, *name = NULL;
	size_t vlen, nlen = 0;
	uint8_t v[KRPC_V_MAX], key[DHT_ID_LEN];
	int n, rc;
	cmd_wait_t w = {0};
	uint32_t id = 0;

	if (ch_mp_get_str(req, "value", &val, &vlen) != 0 &&
	    ch_mp_get_bin(req, "value", (const void **)&val, &vlen) != 0) {
		ch_svc_set_error(svc, "dht put needs a value");
		return CH_EINVAL;
	}
	if (vlen > DISC_VALUE_MAX) {
		ch_svc_set_error(svc, "value is %zu bytes; at most %d fit a DHT item", vlen,
		                 DISC_VALUE_MAX);
		return CH_ERANGE;
	}
	rc = ch_mp_get_str(req, "name", &name, &nlen);
	if (rc == 0 && (nlen == 0 || nlen > DISC_NAME_MAX)) {
		ch_svc_set_error(svc, "name must be 1 to %d bytes", DISC_NAME_MAX);
		return CH_ERANGE;
	}
	if (rc != 0 && rc != CH_ENOENT) {
		ch_svc_set_error(svc, "name must be a string");
		return CH_EINVAL;
	}
	n = snprintf((char *)v, sizeof(v), "%zu:", vlen);
	memcpy(v + n, val, vlen);
	if (name != NULL)
		rc = dht_put_mutable(x->d, &x->ident.sk, (const uint8_t *)name, nlen, v,
		                     (size_t)n + vlen, 0, on_done, &w, ch_mono_ns(), key, &id);
	else
		rc = dht_put_immutable(x->d, v, (size_t)n + vlen, on_done, &w, ch_mono_ns(), key,
		                       &id);
	if (rc != 0) {
		ch_svc_set_error(svc, "cannot start the put: %s", ch_strerror(rc));
		return rc;
	}
	rc = wait_op(x, &w, id);
	if (rc != 0)
		return rc;
	ch_svc_event(svc, "dht_put", 3, fill_put_event, &w.r);
	ch_mpw_map(out, name != NULL ? 8 : 5);
	kv_hex(out, "key", key, DHT_ID_LEN);
	ch_mpw_kv_u64(out, "stored", w.r.stored);
	ch_mpw_kv_bool(out, "mutable", name != NULL);
	ch_mpw_kv_u64(out, "queries", w.r.queries);
	kv_ms(out, "elapsed_ms", w.r.elapsed_ns);
	if (name != NULL) {
		ch_mpw_kv_i64(out, "seq", w.r.item.seq);
		kv_hex(out, "pubkey", x->ident.pk.b, 32);
		ch_mpw_kv_strn(out, "name", name, nlen);
	}
	return 0;
}

/* parse_key: KEY of `dht get`: 40 hex digits (a target), or PUBKEY (64
 * hex) with an optional /NAME (the salt). */
static int parse_key(ch_svc_t *svc, const char *s, uint8_t target[DHT_ID_LEN], uint8_t *salt,
                     size_t *saltlen)
{
	const char *slash = strchr(s, '/');
	char hex[65];
	uint8_t pk[32];
	size_t n = 0, hl = slash != NULL ? (size_t)(slash - s) : strlen(s);

	*saltlen = 0;
	if (hl == 40 && slash == NULL) {
		memcpy(hex, s, 40);
		hex[40] = 0;
		if (ch_hex_decode(target, DHT_ID_LEN, hex, &n) == 0 && n == DHT_ID_LEN)
			return 0;
	} else if (hl == 64) {
		memcpy(hex, s, 64);
		hex[64] = 0;
		if (ch_hex_decode(pk, 32, hex, &n) == 0 && n == 32) {
			if (slash != NULL) {
				*saltlen = strlen(slash + 1);
				if (*saltlen == 0 || *saltlen > DISC_NAME_MAX) {
					ch_svc_set_error(svc, "NAME must be 1 to %d bytes",
					                 DISC_NAME_MAX);
					return CH_ERANGE;
				}
				memcpy(salt, slash + 1, *saltlen);
			}
			dht_item_target(true, pk, salt, *saltlen, NULL, 0, target);
			return 0;
		}
	}
	ch_svc_set_error(svc, "KEY must be 40 hex digits, or PUBKEY (64 hex digits) with an "
	                      "optional /NAME");
	return CH_EINVAL;
}

/* kv_value: the value of an item: the bytes of a bencoded string (as a
 * string when printable), or the raw bencoding of another type. */
static void kv_value(ch_mpw_t *w, const dht_item_t *it)
{
	size_t colon = 0, len = 0;
	bool str = it->vlen > 0 && it->v[0] >= '0' && it->v[0] <= '9', printable = true;

	while (str && colon < it->vlen && it->v[colon] != ':')
		len = len * 10 + (size_t)(it->v[colon++] - '0');
	str = str && colon < it->vlen && colon + 1 + len == it->vlen;
	if (!str) {
		ch_mpw_kv_str(w, "encoding", "bencode");
		ch_mpw_kv_strn(w, "value", (const char *)it->v, it->vlen);
		return;
	}
	for (size_t i = colon + 1; i < it->vlen && printable; i++)
		printable = it->v[i] >= 0x20 || it->v[i] == '\n' || it->v[i] == '\t';
	ch_mpw_kv_str(w, "encoding", "string");
	if (printable)
		ch_mpw_kv_strn(w, "value", (const char *)it->v + colon + 1, len);
	else
		ch_mpw_kv_bin(w, "value", it->v + colon + 1, len);
}

/* cmd_get: {key} -> {key, value, encoding, mutable, seq?, pubkey?, hops,
 * queries, elapsed_ms} */
static int cmd_get(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	disc_t *x = user;
	char key[64 + 1 + DISC_NAME_MAX + 1];
	uint8_t target[DHT_ID_LEN], salt[DISC_NAME_MAX];
	size_t saltlen = 0;
	cmd_wait_t w = {0};
	uint32_t id = 0;
	int rc;

	if (ch_mp_get_strz(req, "key", key, sizeof(key)) != 0) {
		ch_svc_set_error(svc, "dht get needs a KEY (40 hex digits or PUBKEY/NAME)");
		return CH_EINVAL;
	}
	rc = parse_key(svc, key, target, salt, &saltlen);
	if (rc != 0)
		return rc;
	rc = dht_get(x->d, target, salt, saltlen, on_done, &w, ch_mono_ns(), &id);
	if (rc == 0)
		rc = wait_op(x, &w, id);
	if (rc != 0)
		return rc;
	if (!w.r.found) {
		ch_svc_set_error(svc, "not found (asked %u nodes, %u answered)", w.r.queries,
		                 w.r.replies);
		return CH_ENOENT;
	}
	ch_mpw_map(out, w.r.item.mut ? 9 : 7);
	kv_hex(out, "key", target, DHT_ID_LEN);
	kv_value(out, &w.r.item);
	ch_mpw_kv_bool(out, "mutable", w.r.item.mut);
	ch_mpw_kv_u64(out, "hops", w.r.hops);
	ch_mpw_kv_u64(out, "queries", w.r.queries);
	kv_ms(out, "elapsed_ms", w.r.elapsed_ns);
	if (w.r.item.mut) {
		ch_mpw_kv_i64(out, "seq", w.r.item.seq);
		kv_hex(out, "pubkey", w.r.item.k, 32);
	}
	return 0;
}

/* write_nodes: "nodes": [{id, addr, prefix}] of a result. */
static void write_nodes(ch_mpw_t *out, const dht_result_t *r)
{
	char addr[64];

	ch_mpw_key(out, "nodes");
	ch_mpw_array(out, r->nclosest);
	for (uint32_t i = 0; i < r->nclosest; i++) {
		ch_mpw_map(out, 3);
		kv_hex(out, "id", r->closest[i].id, DHT_ID_LEN);
		ch_mpw_kv_str(out, "addr", disc_addr_str(&r->closest[i].addr, addr, sizeof(addr)));
		ch_mpw_kv_u64(out, "shared_bits", dht_rt_prefix(r->target, r->closest[i].id));
	}
}

/* cmd_lookup: {id} -> {target, hops, queries, replies, elapsed_ms, nodes} */
static int cmd_lookup(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	disc_t *x = user;
	uint8_t target[DHT_ID_LEN];
	cmd_wait_t w = {0};
	uint32_t id = 0;
	int rc = hex_arg(svc, req, "id", target, DHT_ID_LEN);

	if (rc == 0)
		rc = dht_find_node(x->d, target, on_done, &w, ch_mono_ns(), &id);
	if (rc == 0)
		rc = wait_op(x, &w, id);
	if (rc != 0)
		return rc;
	ch_mpw_map(out, 6);
	kv_hex(out, "target", target, DHT_ID_LEN);
	ch_mpw_kv_u64(out, "hops", w.r.hops);
	ch_mpw_kv_u64(out, "queries", w.r.queries);
	ch_mpw_kv_u64(out, "replies", w.r.replies);
	kv_ms(out, "elapsed_ms", w.r.elapsed_ns);
	write_nodes(out, &w.r);
	return 0;
}

/* cmd_status: the routing table per bucket, storage, own items, counters. */
static int cmd_status(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	disc_t *x = user;
	const dht_rtable_t *rt = dht_rtable(x->d);
	const dht_store_t *st = dht_store(x->d);
	const dht_stats_t *s = dht_stats(x->d);
	uint64_t now = ch_mono_ns();
	char addr[64];
	uint32_t nonempty = 0;

	(void)svc;
	for (uint32_t b = 0; b < rt->nb; b++)
		nonempty += rt->b[b].n + rt->b[b].nrepl > 0;
	ch_mpw_map(out, 13);
	kv_hex(out, "id", dht_id(x->d), DHT_ID_LEN);
	ch_mpw_kv_str(out, "addr", disc_addr_str(&x->addr, addr, sizeof(addr)));
	ch_mpw_kv_u64(out, "nodes", rt->count);
	ch_mpw_key(out, "buckets");
	ch_mpw_array(out, nonempty);
	for (uint32_t b = 0; b < rt->nb; b++) {
		const dht_rt_bucket_t *bk = &rt->b[b];
		uint32_t good = 0;

		if (bk->n + bk->nrepl == 0)
			continue;
		for (uint32_t i = 0; i < bk->n; i++)
			good += dht_rt_is_good(&bk->nodes[i], now);
		ch_mpw_map(out, 5);
		ch_mpw_kv_u64(out, "bucket", b);
		ch_mpw_kv_u64(out, "nodes", bk->n);
		ch_mpw_kv_u64(out, "good", good);
		ch_mpw_kv_u64(out, "replacements", bk->nrepl);
		ch_mpw_kv_u64(out, "changed_s_ago",
		              now > bk->changed ? (now - bk->changed) / 1000000000ull : 0);
	}
	ch_mpw_kv_u64(out, "items", st->nitems);
	ch_mpw_kv_u64(out, "item_bytes", st->item_bytes);
	ch_mpw_kv_u64(out, "swarms", st->nswarms);
	ch_mpw_kv_u64(out, "peers", st->npeers);
	ch_mpw_key(out, "own");
	ch_mpw_array(out, dht_own_count(x->d));
	for (uint32_t i = 0; i < dht_own_count(x->d); i++) {
		const dht_own_t *o = dht_own_at(x->d, i);

		ch_mpw_map(out, 4);
		kv_hex(out, "key", o->item.target, DHT_ID_LEN);
		ch_mpw_kv_bool(out, "mutable", o->item.mut);
		ch_mpw_kv_i64(out, "seq", o->item.seq);
		ch_mpw_kv_u64(out, "stored", o->stored);
	}
	ch_mpw_kv_u64(out, "lookups_running", dht_lookups_running(x->d));
	ch_mpw_kv_u64(out, "pkts_in", s->pkts_in);
	ch_mpw_kv_u64(out, "pkts_out", s->pkts_out);
	ch_mpw_key(out, "rejected");
	ch_mpw_map(out, 5 + BEN_ERR_NREASONS - 1);
	ch_mpw_kv_u64(out, "rate_limited", s->rate_limited);
	ch_mpw_kv_u64(out, "src_limited", s->src_limited);
	ch_mpw_kv_u64(out, "bad_token", s->bad_token);
	ch_mpw_kv_u64(out, "bad_sig", s->bad_sig);
	ch_mpw_kv_u64(out, "malformed_krpc",
	              s->malformed[KRPC_ERR_NOT_DICT] + s->malformed[KRPC_ERR_TID] +
	                  s->malformed[KRPC_ERR_Y] + s->malformed[KRPC_ERR_BODY] +
	                  s->malformed[KRPC_ERR_ID] + s->malformed[KRPC_ERR_ARG]);
	for (int r = 1; r < BEN_ERR_NREASONS; r++) {
		char k[32];

		snprintf(k, sizeof(k), "bencode_%s", ben_err_name((ben_err_t)r));
		ch_mpw_kv_u64(out, k, s->bencode.rejected[r]);
	}
	return 0;
}

/* cmd_bootstrap: {addr: "HOST:PORT"}: pings it and looks up our own id
 * through it (a node to join through, e.g. another implementation's). */
static int cmd_bootstrap(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	disc_t *x = user;
	char s[CH_HOSTPORT_MAX], buf[64];
	ch_hostport_t hp;
	dht_addr_t a;
	uint64_t now = ch_mono_ns();
	int rc;

	if (ch_mp_get_strz(req, "addr", s, sizeof(s)) != 0 || ch_hostport_parse(s, &hp) != 0 ||
	    disc_resolve(hp.host, &a.ip) != 0 || a.ip == 0) {
		ch_svc_set_error(svc, "addr must be HOST:PORT of a DHT node (IPv4)");
		return CH_EINVAL;
	}
	a.port = hp.port;
	rc = dht_add_bootstrap(x->d, &a, now);
	if (rc == 0)
		rc = dht_bootstrap(x->d, now);
	if (rc != 0) {
		ch_svc_set_error(svc, "cannot bootstrap: %s", ch_strerror(rc));
		return rc;
	}
	dht_net_kick(x->net, 0);
	ch_mpw_map(out, 1);
	ch_mpw_kv_str(out, "bootstrapping", disc_addr_str(&a, buf, sizeof(buf)));
	return 0;
}

/* cmd_announce: {info_hash, port (0: implied)} -> {stored, queries} */
static int cmd_announce(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	disc_t *x = user;
	uint8_t ih[DHT_ID_LEN];
	uint64_t port = 0;
	cmd_wait_t w = {0};
	uint32_t id = 0;
	int rc = hex_arg(svc, req, "info_hash", ih, DHT_ID_LEN);

	if (rc == 0 && (ch_mp_get_u64(req, "port", &port) != 0 || port > 65535)) {
		ch_svc_set_error(svc, "port must be 0 (implied) to 65535");
		rc = CH_EINVAL;
	}
	if (rc == 0)
		rc = dht_announce(x->d, ih, (uint16_t)port, on_done, &w, ch_mono_ns(), &id);
	if (rc == 0)
		rc = wait_op(x, &w, id);
	if (rc != 0)
		return rc;
	ch_mpw_map(out, 3);
	ch_mpw_kv_u64(out, "stored", w.r.stored);
	ch_mpw_kv_u64(out, "queries", w.r.queries);
	kv_ms(out, "elapsed_ms", w.r.elapsed_ns);
	return 0;
}

/* cmd_peers: {info_hash} -> {peers: ["ip:port"], hops, queries} */
static int cmd_peers(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	disc_t *x = user;
	uint8_t ih[DHT_ID_LEN];
	cmd_wait_t w = {0};
	uint32_t id = 0;
	char buf[64];
	int rc = hex_arg(svc, req, "info_hash", ih, DHT_ID_LEN);

	if (rc == 0)
		rc = dht_get_peers(x->d, ih, on_done, &w, ch_mono_ns(), &id);
	if (rc == 0)
		rc = wait_op(x, &w, id);
	if (rc != 0)
		return rc;
	ch_mpw_map(out, 3);
	ch_mpw_key(out, "peers");
	ch_mpw_array(out, w.r.npeers);
	for (uint32_t i = 0; i < w.r.npeers; i++) {
		dht_addr_t a;

		memcpy(&a.ip, w.r.peers[i], 4);
		a.port = (uint16_t)(w.r.peers[i][4] << 8 | w.r.peers[i][5]);
		disc_addr_str(&a, buf, sizeof(buf));
		msgpack_pack_str_with_body(&out->pk, buf, strlen(buf));
	}
	ch_mpw_kv_u64(out, "hops", w.r.hops);
	ch_mpw_kv_u64(out, "queries", w.r.queries);
	return 0;
}

/* cmd_addrbook: {} -> the book per table and group, the connections the
 * policy keeps, anchors, recent dials, counters (member.h). */
static int cmd_addrbook(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	disc_t *x = user;

	(void)req;
	if (x->mb == NULL) {
		ch_svc_set_error(svc, "membership is not running");
		return CH_ENOENT;
	}
	disc_member_write(x, out);
	return 0;
}

static const ch_svc_cmd_t cmds[] = {
    {"addrbook", cmd_addrbook,
     "address book counts per table and group, outbound peers, anchors, recent dials"},
    {"dht_put", cmd_put, "store {value} (immutable) or {value, name} (signed, mutable)"},
    {"dht_get", cmd_get, "fetch and verify {key}: 40 hex, or PUBKEY/NAME"},
    {"dht_lookup", cmd_lookup, "the K nodes closest to {id} and the hop count"},
    {"dht_status", cmd_status, "routing table per bucket, storage, own items, counters"},
    {"dht_bootstrap", cmd_bootstrap, "join the DHT through {addr: HOST:PORT}"},
    {"dht_announce", cmd_announce, "announce_peer {info_hash, port} (port 0: implied)"},
    {"dht_peers", cmd_peers, "get_peers {info_hash}"},
};

const ch_svc_ops_t disc_ops = {
    .name = "discovery",
    .cmds = cmds,
    .ncmds = sizeof(cmds) / sizeof(cmds[0]),
    .init = disc_init,
    .work = disc_work,
    .status = disc_status,
    .metrics = disc_metrics,
    .fini = disc_fini,
};
