/* cmd_relay.c: chorusctl's relay commands (docs/relay.md):
 *
 *   block submit [--top N | ID...] [--height H] [--prev HEX]
 *       the relay builds a block of the listed ids (or of the mempool's N
 *       best), signs it with the node's identity and relays it; height and
 *       prev default to the best block the relay has seen, + 1
 *   relay peers
 *       per-peer filters, requests in flight and message counters
 *   producers list | set KEY... | add KEY... | remove KEY...
 *       the validator set: keys whose blocks the node accepts (saved by the
 *       relay in DATADIR/producers, which wins over the config) */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "chorusctl.h"
#include "cmd_relay.h"
#include "err.h"
#include "block.h"
#include "hash.h"

/* Most ids on one command line: a block's most transactions. */
#define IDS_MAX RL_BLOCK_TXS_MAX

/* usage: a usage error (exit 64) with a one-line reason. */
static int usage(ctl_req_t *req, const char *what)
{
	snprintf(req->err, sizeof(req->err), "%s", what);
	return CH_EINVAL;
}

/* num: a decimal number. */
static bool num(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* hex32: 64 hex digits into 32 bytes. */
static bool hex32(const char *s, uint8_t out[32])
{
	size_t got;
	return strlen(s) == 64 && ch_hex_decode(out, 32, s, &got) == 0 && got == 32;
}

/* ctl_build_block_submit: ids travel as 32-byte bins; height and prev only when given, so the
 * relay can default them from its best block. */
int ctl_build_block_submit(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req)
{
	uint64_t top = 0, height = 0;
	bool has_top = false, has_height = false, has_prev = false;
	uint8_t prev[32];
	static uint8_t ids[IDS_MAX][32];
	int nids = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--top") == 0 && i + 1 < argc) {
			if (!num(argv[++i], IDS_MAX, &top)) {
				snprintf(req->err, sizeof(req->err),
				         "--top takes a number from 0 to %d", IDS_MAX);
				return CH_EINVAL;
			}
			has_top = true;
		} else if (strcmp(argv[i], "--height") == 0 && i + 1 < argc) {
			if (!num(argv[++i], UINT64_MAX, &height))
				return usage(req, "--height takes a number");
			has_height = true;
		} else if (strcmp(argv[i], "--prev") == 0 && i + 1 < argc) {
			if (!hex32(argv[++i], prev))
				return usage(req, "--prev takes 64 hex digits");
			has_prev = true;
		} else if (argv[i][0] == '-') {
			snprintf(req->err, sizeof(req->err), "unknown option '%s'", argv[i]);
			return CH_EINVAL;
		} else {
			if (nids == IDS_MAX)
				return usage(req, "too many ids");
			if (!hex32(argv[i], ids[nids])) {
				snprintf(req->err, sizeof(req->err),
				         "'%s' is not a transaction id (64 hex digits)", argv[i]);
				return CH_EINVAL;
			}
			nids++;
		}
	}
	if (has_top && nids)
		return usage(req, "give either --top N or ids, not both");
	ctl_req_begin(req, c, (size_t)(has_top || nids) + has_height + has_prev);
	if (has_top) {
		ch_mpw_kv_u64(&req->w, "top", top);
	} else if (nids) {
		ch_mpw_key(&req->w, "txs");
		ch_mpw_array(&req->w, (size_t)nids);
		for (int i = 0; i < nids; i++)
			msgpack_pack_bin_with_body(&req->w.pk, ids[i], 32);
	}
	if (has_height)
		ch_mpw_kv_u64(&req->w, "height", height);
	if (has_prev)
		ch_mpw_kv_bin(&req->w, "prev", prev, 32);
	return ch_mpw_error(&req->w);
}

/* fnum / fstr: a field of a map, or 0 / "?". */
static uint64_t fnum(const msgpack_object *m, const char *k)
{
	uint64_t v = 0;
	ch_mp_get_u64(m, k, &v);
	return v;
}

/* fstr: a string field or "?". */
static const char *fstr(const msgpack_object *m, const char *k, char *buf, size_t cap)
{
	if (ch_mp_get_strz(m, k, buf, cap) != 0)
		snprintf(buf, cap, "?");
	return buf;
}

/* ctl_print_block_submit: one line: the id first, for scripts. */
void ctl_print_block_submit(FILE *out, const msgpack_object *res, const ctl_done_t *done)
{
	char id[80];
	if (!res || res->type != MSGPACK_OBJECT_MAP) {
		ctl_print_generic(out, res, done);
		return;
	}
	fprintf(out,
	        "block %s height %" PRIu64 ": %" PRIu64 " txs, %" PRIu64 " bytes (compact %" PRIu64
	        "), relayed to %" PRIu64 " peers\n",
	        fstr(res, "id", id, sizeof(id)), fnum(res, "height"), fnum(res, "ntx"),
	        fnum(res, "bytes"), fnum(res, "compact_bytes"), fnum(res, "relayed"));
}

/* ctl_print_relay_peers: one line per peer, the counters the tests and operators read. */
void ctl_print_relay_peers(FILE *out, const msgpack_object *res, const ctl_done_t *done)
{
	const msgpack_object *list;
	char addr[64], dir[16];
	if (!res || res->type != MSGPACK_OBJECT_MAP || ch_mp_map_get(res, "peers", &list) != 0 ||
	    list->type != MSGPACK_OBJECT_ARRAY) {
		ctl_print_generic(out, res, done);
		return;
	}
	if (list->via.array.size == 0) {
		fprintf(out, "no peers\n");
		return;
	}
	fprintf(out, "%-20s %-22s %-8s %6s %5s %7s %7s %7s %7s %7s %7s %5s %6s\n", "ID", "ADDRESS",
	        "DIR", "KNOWN", "FLY", "INV_IN", "INV_OUT", "GD_IN", "GD_OUT", "TX_IN", "TX_OUT",
	        "DUP", "POINTS");
	for (uint32_t i = 0; i < list->via.array.size; i++) {
		const msgpack_object *p = &list->via.array.ptr[i];
		fprintf(out,
		        "%-20" PRIu64 " %-22s %-8s %6" PRIu64 " %5" PRIu64 " %7" PRIu64 " %7" PRIu64
		        " %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %5" PRIu64
		        " %6" PRIu64 "\n",
		        fnum(p, "id"), fstr(p, "addr", addr, sizeof(addr)),
		        fstr(p, "direction", dir, sizeof(dir)), fnum(p, "known"),
		        fnum(p, "inflight"), fnum(p, "inv_in"), fnum(p, "inv_out"),
		        fnum(p, "getdata_in"), fnum(p, "getdata_out"), fnum(p, "tx_in"),
		        fnum(p, "tx_out"), fnum(p, "dup_tx_in"), fnum(p, "points"));
	}
}

/* ctl_build_producers: producers set|add|remove KEY...: keys as 64 hex
 * digits, sent as strings (set with none empties the set: any key). */
int ctl_build_producers(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req)
{
	bool is_set = strcmp(c->cmd, "producers_set") == 0;
	uint8_t k[32];
	if (!argc && !is_set)
		return usage(req, "give at least one public key (64 hex digits)");
	for (int i = 0; i < argc; i++) {
		if (!hex32(argv[i], k)) {
			snprintf(req->err, sizeof(req->err),
			         "'%s' is not a public key (64 hex digits)", argv[i]);
			return CH_EINVAL;
		}
	}
	ctl_req_begin(req, c, 1);
	ch_mpw_key(&req->w, "keys");
	ch_mpw_array(&req->w, (size_t)argc);
	for (int i = 0; i < argc; i++)
		msgpack_pack_str_with_body(&req->w.pk, argv[i], strlen(argv[i]));
	return ch_mpw_error(&req->w);
}

/* ctl_print_producers: a summary line, then one key per line. */
void ctl_print_producers(FILE *out, const msgpack_object *res, const ctl_done_t *done)
{
	const msgpack_object *list;
	char src[16];
	if (!res || res->type != MSGPACK_OBJECT_MAP ||
	    ch_mp_map_get(res, "producers", &list) != 0 || list->type != MSGPACK_OBJECT_ARRAY) {
		ctl_print_generic(out, res, done);
		return;
	}
	fstr(res, "source", src, sizeof(src));
	if (list->via.array.size == 0) {
		fprintf(out, "no producers (%s): any key's block is accepted\n", src);
		return;
	}
	fprintf(out, "%u producers (from the %s):\n", list->via.array.size,
	        strcmp(src, "file") == 0 ? "producers file" : "configuration");
	for (uint32_t i = 0; i < list->via.array.size; i++) {
		const msgpack_object *o = &list->via.array.ptr[i];
		if (o->type == MSGPACK_OBJECT_STR)
			fprintf(out, "%.*s\n", (int)o->via.str.size, o->via.str.ptr);
	}
}
