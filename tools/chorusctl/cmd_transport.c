/* cmd_transport.c: chorusctl's transport commands: peers, connect,
 * disconnect, ban, unban, bans (their table entries are in commands.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chorusctl.h"
#include "err.h"

/* one_arg: exactly one word, written as key. */
static int one_arg(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req, const char *key,
                   const char *what)
{
	if (argc != 1) {
		snprintf(req->err, sizeof(req->err), "%s takes one argument: %s", c->name, what);
		return CH_EINVAL;
	}
	ctl_req_begin(req, c, 1);
	return ch_mpw_kv_str(&req->w, key, argv[0]);
}

int ctl_build_connect(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req)
{
	return one_arg(c, argc, argv, req, "addr", "HOST:PORT or PUBKEY@HOST:PORT");
}

int ctl_build_peer(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req)
{
	return one_arg(c, argc, argv, req, "peer", "PEER (id, key or address)");
}

int ctl_build_host(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req)
{
	return one_arg(c, argc, argv, req, "host", "HOST (an IP address)");
}

int ctl_build_ban(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req)
{
	if (argc < 1 || argc > 2) {
		snprintf(req->err, sizeof(req->err), "ban takes HOST [SECONDS]");
		return CH_EINVAL;
	}
	char *end;
	unsigned long long secs = 0;
	if (argc == 2) {
		secs = strtoull(argv[1], &end, 10);
		if (!*argv[1] || *end || secs == 0) {
			snprintf(req->err, sizeof(req->err), "SECONDS must be a positive integer");
			return CH_EINVAL;
		}
	}
	ctl_req_begin(req, c, argc == 2 ? 2 : 1);
	ch_mpw_kv_str(&req->w, "host", argv[0]);
	if (argc == 2)
		ch_mpw_kv_u64(&req->w, "seconds", secs);
	return ch_mpw_error(&req->w);
}

static const char *str_of(const msgpack_object *m, const char *key, char *buf, size_t cap)
{
	if (ch_mp_get_strz(m, key, buf, cap) != 0)
		snprintf(buf, cap, "?");
	return buf;
}

static uint64_t u64_of(const msgpack_object *m, const char *key)
{
	uint64_t v = 0;
	ch_mp_get_u64(m, key, &v);
	return v;
}

static int64_t i64_of(const msgpack_object *m, const char *key)
{
	int64_t v = 0;
	ch_mp_get_i64(m, key, &v);
	return v;
}

/* human: 1234567 -> "1.2M". */
static const char *human(uint64_t v, char *buf, size_t cap)
{
	if (v < 10000)
		snprintf(buf, cap, "%llu", (unsigned long long)v);
	else if (v < 10000000)
		snprintf(buf, cap, "%.1fk", (double)v / 1e3);
	else if (v < 10000000000ULL)
		snprintf(buf, cap, "%.1fM", (double)v / 1e6);
	else
		snprintf(buf, cap, "%.1fG", (double)v / 1e9);
	return buf;
}

void ctl_print_peers(FILE *out, const msgpack_object *result, const ctl_done_t *done)
{
	(void)done;
	const msgpack_object *list;
	if (ch_mp_map_get(result, "peers", &list) != 0 || list->type != MSGPACK_OBJECT_ARRAY) {
		ctl_print_generic(out, result, done);
		return;
	}
	fprintf(out, "%-20s %-16s %-23s %-8s %8s %7s %7s %7s %7s %5s %-19s %s\n", "ID", "KEY",
	        "ADDRESS", "DIR", "RTT_MS", "B_IN", "B_OUT", "M_IN", "M_OUT", "SCORE", "SINCE",
	        "ENCRYPTION");
	for (uint32_t i = 0; i < list->via.array.size; i++) {
		const msgpack_object *p = &list->via.array.ptr[i];
		char pk[65], addr[64], dir[16], since[32], enc[32], a[16], b[16], c[16], d[16];
		int64_t rtt = i64_of(p, "rtt_us");
		char rtts[32];
		if (rtt < 0)
			snprintf(rtts, sizeof(rtts), "-");
		else
			snprintf(rtts, sizeof(rtts), "%.3f", (double)rtt / 1000.0);
		str_of(p, "since", since, sizeof(since));
		since[19] = 0;
		fprintf(out, "%-20llu %-16.16s %-23s %-8s %8s %7s %7s %7s %7s %5lld %-19s %s\n",
		        (unsigned long long)u64_of(p, "id"), str_of(p, "pubkey", pk, sizeof(pk)),
		        str_of(p, "addr", addr, sizeof(addr)),
		        str_of(p, "direction", dir, sizeof(dir)), rtts,
		        human(u64_of(p, "bytes_in"), a, sizeof(a)),
		        human(u64_of(p, "bytes_out"), b, sizeof(b)),
		        human(u64_of(p, "msgs_in"), c, sizeof(c)),
		        human(u64_of(p, "msgs_out"), d, sizeof(d)), (long long)i64_of(p, "score"),
		        since, str_of(p, "encryption", enc, sizeof(enc)));
	}
	if (list->via.array.size == 0)
		fprintf(out, "(no peers)\n");
}

void ctl_print_bans(FILE *out, const msgpack_object *result, const ctl_done_t *done)
{
	const msgpack_object *list;
	if (ch_mp_map_get(result, "bans", &list) != 0 || list->type != MSGPACK_OBJECT_ARRAY) {
		ctl_print_generic(out, result, done);
		return;
	}
	for (uint32_t i = 0; i < list->via.array.size; i++) {
		const msgpack_object *b = &list->via.array.ptr[i];
		char host[64], until[40], reason[160];
		fprintf(out, "%-40s until %s  %s\n", str_of(b, "host", host, sizeof(host)),
		        str_of(b, "until", until, sizeof(until)),
		        str_of(b, "reason", reason, sizeof(reason)));
	}
	if (list->via.array.size == 0)
		fprintf(out, "(no bans)\n");
}
