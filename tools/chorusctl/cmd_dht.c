/* cmd_dht.c: chorusctl's DHT commands (see cmd_dht.h): argument parsers
 * that check what they can locally (hex lengths, sizes) so a typo is a
 * usage error (exit 64) rather than a round trip, and printers for people
 * (--json prints the service's result as it is). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_dht.h"
#include "err.h"
#include "mpjson.h"

/* The discovery service's limits, checked here too: a VALUE of at most
 * 996 bytes (a 1000-byte bencoded string), a NAME of at most 64 (BEP 44's
 * salt). */
#define DHT_VALUE_MAX 996
#define DHT_NAME_MAX  64

/* is_hex: s is exactly n hex digits. */
static bool is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* usage: sets the reason of a usage error. */
static int usage(ctl_req_t *req, const char *why)
{
	snprintf(req->err, sizeof(req->err), "%s", why);
	return CH_EINVAL;
}

/* ctl_build_dht_put: dht put [--name NAME] VALUE: {"value", "name"?}; prints the key. */
int ctl_build_dht_put(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req)
{
	const char *name = NULL, *value = NULL;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc && name == NULL)
			name = argv[++i];
		else if (strncmp(argv[i], "--name=", 7) == 0 && name == NULL)
			name = argv[i] + 7;
		else if (value == NULL)
			value = argv[i];
		else
			return usage(req, "one VALUE only (quote it if it has spaces)");
	}
	if (value == NULL)
		return usage(req, "no VALUE given");
	if (strlen(value) > DHT_VALUE_MAX)
		return usage(req, "VALUE is longer than 996 bytes");
	if (name != NULL && (name[0] == '\0' || strlen(name) > DHT_NAME_MAX))
		return usage(req, "NAME must be 1 to 64 bytes");
	ctl_req_begin(req, c, name != NULL ? 2 : 1);
	ch_mpw_kv_str(&req->w, "value", value);
	if (name != NULL)
		ch_mpw_kv_str(&req->w, "name", name);
	return ch_mpw_error(&req->w);
}

/* fcopy: string field key of map m into buf ("" if absent). */
static const char *fcopy(const msgpack_object *m, const char *key, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (m != NULL && m->type == MSGPACK_OBJECT_MAP)
		ch_mp_get_strz(m, key, buf, cap);
	return buf;
}

/* fnum: unsigned field key of m (0 if absent). */
static uint64_t fnum(const msgpack_object *m, const char *key)
{
	uint64_t v = 0;

	if (m != NULL && m->type == MSGPACK_OBJECT_MAP)
		ch_mp_get_u64(m, key, &v);
	return v;
}

/* fms: a float field key of m (0 if absent). */
static double fms(const msgpack_object *m, const char *key)
{
	const msgpack_object *v;

	if (m == NULL || m->type != MSGPACK_OBJECT_MAP || ch_mp_map_get(m, key, &v) != 0)
		return 0;
	if (v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32)
		return v->via.f64;
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return (double)v->via.u64;
	return 0;
}

/* ctl_print_dht_put: the key to get the value back (PUBKEY/NAME for a named one). */
void ctl_print_dht_put(FILE *out, const msgpack_object *res, const ctl_done_t *done)
{
	char key[64], pk[80], name[DHT_NAME_MAX + 1];
	bool mut = false;
	int64_t seq = 0;

	if (res == NULL || res->type != MSGPACK_OBJECT_MAP) {
		ctl_print_generic(out, res, done);
		return;
	}
	ch_mp_get_bool(res, "mutable", &mut);
	fcopy(res, "key", key, sizeof(key));
	if (mut) {
		ch_mp_get_i64(res, "seq", &seq);
		fprintf(out, "key: %s/%s\n", fcopy(res, "pubkey", pk, sizeof(pk)),
		        fcopy(res, "name", name, sizeof(name)));
		fprintf(out, "target: %s, seq %" PRId64 ", stored on %" PRIu64 " nodes\n", key, seq,
		        fnum(res, "stored"));
	} else {
		fprintf(out, "key: %s\n", key);
		fprintf(out, "stored on %" PRIu64 " nodes\n", fnum(res, "stored"));
	}
}

/* ctl_build_dht_get: dht get KEY|PUBKEY/NAME: {"key"}; prints the value alone on a line. */
int ctl_build_dht_get(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req)
{
	const char *slash;

	if (argc != 1)
		return usage(req, "give one KEY");
	slash = strchr(argv[0], '/');
	if (slash == NULL && !is_hex(argv[0], 40) && !is_hex(argv[0], 64))
		return usage(req, "KEY must be 40 hex digits, or PUBKEY (64 hex) with /NAME");
	if (slash != NULL) {
		char pk[65];

		if (slash - argv[0] != 64)
			return usage(req, "PUBKEY must be 64 hex digits");
		memcpy(pk, argv[0], 64);
		pk[64] = '\0';
		if (!is_hex(pk, 64) || strlen(slash + 1) == 0 || strlen(slash + 1) > DHT_NAME_MAX)
			return usage(req, "PUBKEY/NAME: 64 hex digits, '/', 1 to 64 bytes");
	}
	ctl_req_begin(req, c, 1);
	ch_mpw_kv_str(&req->w, "key", argv[0]);
	return ch_mpw_error(&req->w);
}

/* ctl_print_dht_get: the value alone, so scripts can use it as it is. */
void ctl_print_dht_get(FILE *out, const msgpack_object *res, const ctl_done_t *done)
{
	const char *p;
	const void *b;
	size_t n;

	if (res == NULL || res->type != MSGPACK_OBJECT_MAP) {
		ctl_print_generic(out, res, done);
		return;
	}
	if (ch_mp_get_str(res, "value", &p, &n) == 0) {
		fwrite(p, 1, n, out);
		fputc('\n', out);
	} else if (ch_mp_get_bin(res, "value", &b, &n) == 0) {
		/* binary: hex, so a terminal never gets raw bytes */
		for (size_t i = 0; i < n; i++)
			fprintf(out, "%02x", ((const uint8_t *)b)[i]);
		fputc('\n', out);
	} else {
		ctl_print_generic(out, res, done);
	}
}

/* ctl_build_dht_lookup: dht lookup ID: {"id"}; prints the closest nodes and the hop count. */
int ctl_build_dht_lookup(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req)
{
	if (argc != 1 || !is_hex(argv[0], 40))
		return usage(req, "ID must be 40 hex digits");
	ctl_req_begin(req, c, 1);
	ch_mpw_kv_str(&req->w, "id", argv[0]);
	return ch_mpw_error(&req->w);
}

/* ctl_print_dht_lookup: a summary line, then one line per node. */
void ctl_print_dht_lookup(FILE *out, const msgpack_object *res, const ctl_done_t *done)
{
	const msgpack_object *nodes;
	char t[64];

	if (res == NULL || res->type != MSGPACK_OBJECT_MAP ||
	    ch_mp_map_get(res, "nodes", &nodes) != 0 || nodes->type != MSGPACK_OBJECT_ARRAY) {
		ctl_print_generic(out, res, done);
		return;
	}
	fprintf(out, "%u nodes closest to %s: %" PRIu64 " hops, %" PRIu64 " queries, %.2f ms\n",
	        nodes->via.array.size, fcopy(res, "target", t, sizeof(t)), fnum(res, "hops"),
	        fnum(res, "queries"), fms(res, "elapsed_ms"));
	fprintf(out, "%-40s  %-21s  %s\n", "ID", "ADDR", "SHARED_BITS");
	for (uint32_t i = 0; i < nodes->via.array.size; i++) {
		const msgpack_object *n = &nodes->via.array.ptr[i];
		char id[64], addr[64];

		fprintf(out, "%-40s  %-21s  %" PRIu64 "\n", fcopy(n, "id", id, sizeof(id)),
		        fcopy(n, "addr", addr, sizeof(addr)), fnum(n, "shared_bits"));
	}
}

/* ctl_print_dht_status: dht status: prints the table per bucket, storage, own items, counters. */
void ctl_print_dht_status(FILE *out, const msgpack_object *res, const ctl_done_t *done)
{
	const msgpack_object *b, *own, *rej;
	char id[64], addr[64];

	if (res == NULL || res->type != MSGPACK_OBJECT_MAP ||
	    ch_mp_map_get(res, "buckets", &b) != 0 || b->type != MSGPACK_OBJECT_ARRAY) {
		ctl_print_generic(out, res, done);
		return;
	}
	fprintf(out, "dht id   %s\n", fcopy(res, "id", id, sizeof(id)));
	fprintf(out, "udp      %s\n", fcopy(res, "addr", addr, sizeof(addr)));
	fprintf(out, "nodes    %" PRIu64 " in %u buckets\n", fnum(res, "nodes"), b->via.array.size);
	fprintf(out,
	        "stored   %" PRIu64 " items (%" PRIu64 " bytes), %" PRIu64 " peers under %" PRIu64
	        " info-hashes\n",
	        fnum(res, "items"), fnum(res, "item_bytes"), fnum(res, "peers"),
	        fnum(res, "swarms"));
	fprintf(out,
	        "traffic  %" PRIu64 " datagrams in, %" PRIu64 " out; %" PRIu64
	        " lookups running\n\n",
	        fnum(res, "pkts_in"), fnum(res, "pkts_out"), fnum(res, "lookups_running"));
	fprintf(out, "%6s %5s %5s %12s %14s\n", "BUCKET", "NODES", "GOOD", "REPLACEMENTS",
	        "CHANGED_S_AGO");
	for (uint32_t i = 0; i < b->via.array.size; i++) {
		const msgpack_object *x = &b->via.array.ptr[i];

		fprintf(out, "%6" PRIu64 " %5" PRIu64 " %5" PRIu64 " %12" PRIu64 " %14" PRIu64 "\n",
		        fnum(x, "bucket"), fnum(x, "nodes"), fnum(x, "good"),
		        fnum(x, "replacements"), fnum(x, "changed_s_ago"));
	}
	if (ch_mp_map_get(res, "own", &own) == 0 && own->type == MSGPACK_OBJECT_ARRAY &&
	    own->via.array.size > 0) {
		fprintf(out, "\nown items (republished hourly):\n");
		for (uint32_t i = 0; i < own->via.array.size; i++) {
			const msgpack_object *o = &own->via.array.ptr[i];
			char key[64];
			bool mut = false;
			int64_t seq = 0;

			ch_mp_get_bool(o, "mutable", &mut);
			ch_mp_get_i64(o, "seq", &seq);
			fprintf(out, "  %s %s", fcopy(o, "key", key, sizeof(key)),
			        mut ? "mutable" : "immutable");
			if (mut)
				fprintf(out, " seq %" PRId64, seq);
			fprintf(out, ", stored on %" PRIu64 " nodes\n", fnum(o, "stored"));
		}
	}
	if (ch_mp_map_get(res, "rejected", &rej) == 0 && rej->type == MSGPACK_OBJECT_MAP) {
		fprintf(out, "\nrejected:");
		for (uint32_t i = 0; i < rej->via.map.size; i++) {
			const msgpack_object_kv *kv = &rej->via.map.ptr[i];

			if (kv->key.type == MSGPACK_OBJECT_STR &&
			    kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				fprintf(out, " %.*s=%" PRIu64, (int)kv->key.via.str.size,
				        kv->key.via.str.ptr, kv->val.via.u64);
		}
		fprintf(out, "\n");
	}
}

/* ctl_build_dht_bootstrap: dht bootstrap HOST:PORT: {"addr"}. */
int ctl_build_dht_bootstrap(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req)
{
	if (argc != 1 || strchr(argv[0], ':') == NULL)
		return usage(req, "give one HOST:PORT");
	ctl_req_begin(req, c, 1);
	ch_mpw_kv_str(&req->w, "addr", argv[0]);
	return ch_mpw_error(&req->w);
}

/* ctl_build_dht_announce: dht announce INFOHASH [PORT]: {"info_hash", "port"} (no PORT:
 * implied). */
int ctl_build_dht_announce(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req)
{
	unsigned long port = 0;
	char *end = NULL;

	if (argc < 1 || argc > 2 || !is_hex(argv[0], 40))
		return usage(req, "INFOHASH must be 40 hex digits");
	if (argc == 2) {
		port = strtoul(argv[1], &end, 10);
		if (end == argv[1] || *end != '\0' || port == 0 || port > 65535)
			return usage(req, "PORT must be 1 to 65535 (leave it out: implied port)");
	}
	ctl_req_begin(req, c, 2);
	ch_mpw_kv_str(&req->w, "info_hash", argv[0]);
	ch_mpw_kv_u64(&req->w, "port", port);
	return ch_mpw_error(&req->w);
}

/* ctl_build_dht_peers: dht peers INFOHASH: {"info_hash"}; prints one HOST:PORT per line. */
int ctl_build_dht_peers(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req)
{
	if (argc != 1 || !is_hex(argv[0], 40))
		return usage(req, "INFOHASH must be 40 hex digits");
	ctl_req_begin(req, c, 1);
	ch_mpw_kv_str(&req->w, "info_hash", argv[0]);
	return ch_mpw_error(&req->w);
}

/* ctl_print_dht_peers: one HOST:PORT per line. */
void ctl_print_dht_peers(FILE *out, const msgpack_object *res, const ctl_done_t *done)
{
	const msgpack_object *p;

	if (res == NULL || res->type != MSGPACK_OBJECT_MAP ||
	    ch_mp_map_get(res, "peers", &p) != 0 || p->type != MSGPACK_OBJECT_ARRAY) {
		ctl_print_generic(out, res, done);
		return;
	}
	for (uint32_t i = 0; i < p->via.array.size; i++)
		if (p->via.array.ptr[i].type == MSGPACK_OBJECT_STR)
			fprintf(out, "%.*s\n", (int)p->via.array.ptr[i].via.str.size,
			        p->via.array.ptr[i].via.str.ptr);
	if (p->via.array.size == 0)
		fprintf(out, "no peers\n");
}
