/* commands.c: chorusctl's command table, argument parsers and printers
 * (see chorusctl.h for how to add a command). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "chorusctl.h"
#include "cmd_dht.h"
#include "cmd_discovery.h"
#include "cmd_mempool.h"
#include "cmd_relay.h"
#include "err.h"
#include "mpjson.h"

/* The processes of a node, in the order they are shown. */
static const char *const processes[] = {"chorusd", "transport", "discovery", "relay", "mempool"};

#define NPROCESSES (sizeof(processes) / sizeof(processes[0]))

/* Render buffers start here and double up to the cap: results are bounded
 * by the reply reader (1 MiB) and JSON escaping grows text at most 6x. */
#define RENDER_START (16u << 10)
#define RENDER_MAX   (64u << 20)

bool ctl_is_process(const char *name)
{
	for (size_t i = 0; i < NPROCESSES; i++)
		if (strcmp(name, processes[i]) == 0)
			return true;
	return false;
}

const char *ctl_cmd_wire(const ctl_cmd_t *c)
{
	return c->cmd != NULL ? c->cmd : c->name;
}

int ctl_req_begin(ctl_req_t *req, const ctl_cmd_t *c, size_t n)
{
	ch_mpw_map(&req->w, n + 1);
	ch_mpw_kv_str(&req->w, "cmd", ctl_cmd_wire(c));
	return ch_mpw_error(&req->w);
}

/* Counts how many leading argv words spell name ("tx submit" = 2), or 0 if
 * they do not; multi-word commands are matched word by word so "tx" alone
 * does not run "tx submit". */
static int name_match(const char *name, int argc, char **argv)
{
	int words = 0;
	const char *p = name;

	while (*p != '\0') {
		size_t len = strcspn(p, " ");

		if (words >= argc || strlen(argv[words]) != len ||
		    strncmp(argv[words], p, len) != 0)
			return 0;
		words++;
		p += len;
		p += strspn(p, " ");
	}
	return words;
}

const ctl_cmd_t *ctl_cmd_find(int argc, char **argv, int *words)
{
	const ctl_cmd_t *best = NULL;
	int most = 0;

	for (size_t i = 0; i < ctl_ncmds; i++) {
		int w = name_match(ctl_cmds[i].name, argc, argv);

		if (w > most) {
			most = w;
			best = &ctl_cmds[i];
		}
	}
	*words = most;
	return best;
}

void ctl_list_commands(FILE *out)
{
	for (size_t i = 0; i < ctl_ncmds; i++) {
		char left[64];

		snprintf(left, sizeof(left), "%s%s%s", ctl_cmds[i].name,
		         ctl_cmds[i].args != NULL && ctl_cmds[i].args[0] != '\0' ? " " : "",
		         ctl_cmds[i].args != NULL ? ctl_cmds[i].args : "");
		fprintf(out, "  %-24s %s\n", left, ctl_cmds[i].help);
	}
}

/* ---------------------------------------------------------------- rendering */

/* Renders o with fn into a buffer that grows until the text fits, then
 * prints prefix, the text, suffix and a newline; a text still too long at
 * RENDER_MAX is printed cut, with "...". */
static int render_line(FILE *out, const char *prefix, const char *suffix,
                       int (*fn)(const msgpack_object *, char *, size_t), const msgpack_object *o)
{
	size_t cap = RENDER_START;
	char *buf = NULL;
	int rc;

	for (;;) {
		char *nb = realloc(buf, cap);

		if (nb == NULL) {
			free(buf);
			return CH_ENOMEM;
		}
		buf = nb;
		rc = fn(o, buf, cap);
		if (rc != CH_ERANGE || cap >= RENDER_MAX)
			break;
		cap *= 2;
	}
	if (rc == 0 || rc == CH_ERANGE)
		fprintf(out, "%s%s%s%s\n", prefix, buf, rc == CH_ERANGE ? "..." : "", suffix);
	free(buf);
	return rc == CH_ERANGE ? 0 : rc;
}

int ctl_print_json(FILE *out, const msgpack_object *o)
{
	return render_line(out, "", "", ch_mp_to_json, o);
}

/* Prints o in the text form on one line after prefix; with braces a map
 * keeps them (the text form drops them for a top-level map, which suits a
 * list item but not a field value). */
static void print_text(FILE *out, const char *prefix, const msgpack_object *o, bool braces)
{
	bool map = braces && o->type == MSGPACK_OBJECT_MAP;
	char pre[160];

	snprintf(pre, sizeof(pre), "%s%s", prefix, map ? "{" : "");
	if (render_line(out, pre, map ? "}" : "", ch_mp_to_text, o) != 0)
		fprintf(out, "%s(cannot render)\n", prefix);
}

/* True if o is a non-empty array of maps: shown one item per line. */
static bool is_list_of_maps(const msgpack_object *o)
{
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0)
		return false;
	for (uint32_t i = 0; i < o->via.array.size; i++)
		if (o->via.array.ptr[i].type != MSGPACK_OBJECT_MAP)
			return false;
	return true;
}

/* Deepest nesting print_fields indents; deeper maps print on one line. */
#define FIELDS_MAX_INDENT 8

/* Prints the fields of a map, one "key: value" per line with keys aligned;
 * a nested map is printed below its key, indented, and a list of maps one
 * item per line, so a result of any shape stays readable.  skip (may be
 * NULL) lists keys a caller has shown already. */
static void print_fields(FILE *out, const msgpack_object *m, const char *const *skip, int indent)
{
	char key[64];
	int width = 0;

	for (uint32_t pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < m->via.map.size; i++) {
			const msgpack_object_kv *kv = &m->via.map.ptr[i];
			const msgpack_object *v = &kv->val;
			bool skipped = false;
			char prefix[128];
			int len;

			if (ch_mp_to_text(&kv->key, key, sizeof(key)) < 0 && key[0] == '\0')
				snprintf(key, sizeof(key), "?");
			for (const char *const *s = skip; s != NULL && *s != NULL; s++)
				skipped = skipped || strcmp(*s, key) == 0;
			if (skipped)
				continue;
			len = (int)strlen(key);
			if (pass == 0) {
				width = len > width && len <= 24 ? len : width;
				continue;
			}
			if (v->type == MSGPACK_OBJECT_MAP && v->via.map.size > 0 &&
			    indent < FIELDS_MAX_INDENT) {
				fprintf(out, "%*s%s:\n", indent, "", key);
				print_fields(out, v, NULL, indent + 2);
			} else if (is_list_of_maps(v)) {
				fprintf(out, "%*s%s:\n", indent, "", key);
				snprintf(prefix, sizeof(prefix), "%*s- ", indent + 2, "");
				for (uint32_t k = 0; k < v->via.array.size; k++)
					print_text(out, prefix, &v->via.array.ptr[k], false);
			} else {
				snprintf(prefix, sizeof(prefix), "%*s%s:%*s ", indent, "", key,
				         width > len ? width - len : 0, "");
				print_text(out, prefix, v, true);
			}
		}
	}
}

void ctl_print_generic(FILE *out, const msgpack_object *result, const ctl_done_t *done)
{
	(void)done;
	if (result == NULL || result->type == MSGPACK_OBJECT_NIL)
		fprintf(out, "ok\n");
	else if (result->type == MSGPACK_OBJECT_MAP)
		print_fields(out, result, NULL, 0);
	else
		print_text(out, "", result, false);
}

/* ---------------------------------------------------------------- fields */

/* Copies field key of map m into buf for a table cell: strings as they are
 * (control bytes as spaces), other values in the text form, "-" when
 * absent or empty, so a reply missing a field still prints. */
static const char *fstr(const msgpack_object *m, const char *key, char *buf, size_t cap)
{
	const msgpack_object *v;
	const char *s;
	size_t n;

	snprintf(buf, cap, "-");
	if (m == NULL || m->type != MSGPACK_OBJECT_MAP || ch_mp_map_get(m, key, &v) != 0)
		return buf;
	if (ch_mp_as_str(v, &s, &n) == 0) {
		if (n == 0)
			return buf;
		if (n > cap - 1)
			n = cap - 1;
		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
		buf[n] = '\0';
		return buf;
	}
	if (ch_mp_to_text(v, buf, cap) < 0 && buf[0] == '\0')
		snprintf(buf, cap, "?");
	return buf;
}

/* Formats a millisecond count the way an uptime reads best: "850ms",
 * "42.3s", "5m07s", "3h12m", "2d04h". */
static const char *fmt_ms(uint64_t ms, char *buf, size_t cap)
{
	uint64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(buf, cap, "%" PRIu64 "ms", ms);
	else if (s < 60)
		snprintf(buf, cap, "%.1fs", (double)ms / 1000.0);
	else if (s < 3600)
		snprintf(buf, cap, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, cap, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(buf, cap, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s / 3600 % 24);
	return buf;
}

/* A duration field as text, "-" if absent or not a number. */
static const char *fdur(const msgpack_object *m, const char *key, char *buf, size_t cap)
{
	uint64_t ms;

	if (m == NULL || m->type != MSGPACK_OBJECT_MAP || ch_mp_get_u64(m, key, &ms) != 0)
		return fstr(m, key, buf, cap);
	return fmt_ms(ms, buf, cap);
}

/* The array field key of m, or NULL. */
static const msgpack_object *farray(const msgpack_object *m, const char *key)
{
	const msgpack_object *v;

	if (ch_mp_map_get(m, key, &v) != 0 || v->type != MSGPACK_OBJECT_ARRAY)
		return NULL;
	return v;
}

/* Prints the RING table of docs/control.md: where each ring stands. */
static void print_rings(FILE *out, const msgpack_object *res)
{
	const msgpack_object *rings = farray(res, "rings");
	char name[64], role[16], depth[24], size[24], recs[24], stalls[24], fill[16];

	if (rings == NULL || rings->via.array.size == 0) {
		fprintf(out, "rings: none reported\n");
		return;
	}
	fprintf(out, "%-24s %-9s %12s %12s %5s %12s %8s\n", "RING", "ROLE", "DEPTH", "SIZE", "FILL",
	        "RECORDS", "STALLS");
	for (uint32_t i = 0; i < rings->via.array.size; i++) {
		const msgpack_object *r = &rings->via.array.ptr[i];
		uint64_t d, s;

		snprintf(fill, sizeof(fill), "-");
		if (r->type == MSGPACK_OBJECT_MAP && ch_mp_get_u64(r, "depth", &d) == 0 &&
		    ch_mp_get_u64(r, "size", &s) == 0 && s > 0)
			snprintf(fill, sizeof(fill), "%" PRIu64 "%%", d > s ? 100 : d * 100 / s);
		fprintf(out, "%-24s %-9s %12s %12s %5s %12s %8s\n",
		        fstr(r, "name", name, sizeof(name)), fstr(r, "role", role, sizeof(role)),
		        fstr(r, "depth", depth, sizeof(depth)), fstr(r, "size", size, sizeof(size)),
		        fill, fstr(r, "records", recs, sizeof(recs)),
		        fstr(r, "stalls", stalls, sizeof(stalls)));
	}
}

/* ---------------------------------------------------------------- printers */

/* status: for chorusd a node summary, the service table and the rings; for
 * a service its fields and its rings. */
static void print_status(FILE *out, const msgpack_object *res, const ctl_done_t *done)
{
	static const char *const shown[] = {"rings", NULL};
	const msgpack_object *svcs;
	char a[80], b[32], c[32], d[CH_CTL_PATH_MAX];

	if (res == NULL || res->type != MSGPACK_OBJECT_MAP) {
		ctl_print_generic(out, res, done);
		return;
	}
	if (strcmp(fstr(res, "service", a, sizeof(a)), "chorusd") != 0) {
		print_fields(out, res, shown, 0);
		fprintf(out, "\n");
		print_rings(out, res);
		return;
	}
	fprintf(out, "node      %s, up %s, pid %s\n", fstr(res, "state", a, sizeof(a)),
	        fdur(res, "uptime_ms", b, sizeof(b)), fstr(res, "pid", c, sizeof(c)));
	fprintf(out, "node_id   %s\n", fstr(res, "node_id", d, sizeof(d)));
	fprintf(out, "network   %s\n", fstr(res, "network", a, sizeof(a)));
	fprintf(out, "datadir   %s\n\n", fstr(res, "datadir", d, sizeof(d)));

	svcs = farray(res, "services");
	if (svcs == NULL || svcs->via.array.size == 0) {
		fprintf(out, "services: none reported\n");
	} else {
		fprintf(out, "%-10s %8s %-9s %9s %8s  %s\n", "SERVICE", "PID", "STATE", "UPTIME",
		        "RESTARTS", "LAST EXIT");
		for (uint32_t i = 0; i < svcs->via.array.size; i++) {
			const msgpack_object *s = &svcs->via.array.ptr[i];
			char name[32], pid[24], state[16], up[16], rs[24], last[64];
			uint64_t p;

			/* a stopped service reports pid 0 */
			fstr(s, "pid", pid, sizeof(pid));
			if (s->type == MSGPACK_OBJECT_MAP && ch_mp_get_u64(s, "pid", &p) == 0 &&
			    p == 0)
				snprintf(pid, sizeof(pid), "-");
			fprintf(out, "%-10s %8s %-9s %9s %8s  %s\n",
			        fstr(s, "name", name, sizeof(name)), pid,
			        fstr(s, "state", state, sizeof(state)),
			        fdur(s, "uptime_ms", up, sizeof(up)),
			        fstr(s, "restarts", rs, sizeof(rs)),
			        fstr(s, "last_exit", last, sizeof(last)));
		}
	}
	fprintf(out, "\n");
	print_rings(out, res);
}

/* ping: who answered and how fast. */
static void print_ping(FILE *out, const msgpack_object *res, const ctl_done_t *done)
{
	char svc[32], pid[24];

	fprintf(out, "pong from %s (pid %s) in %.2f ms\n",
	        res != NULL ? fstr(res, "service", svc, sizeof(svc)) : done->target,
	        fstr(res, "pid", pid, sizeof(pid)), done->rtt_ms);
}

/* stop: the node accepted the request; shutdown continues on its own. */
static void print_stop(FILE *out, const msgpack_object *res, const ctl_done_t *done)
{
	bool stopping = false;

	if (res != NULL && res->type == MSGPACK_OBJECT_MAP &&
	    ch_mp_get_bool(res, "stopping", &stopping) == 0 && stopping)
		fprintf(out, "%s is stopping\n", done->target);
	else
		ctl_print_generic(out, res, done);
}

/* help SERVICE: the commands a process says it answers. */
static void print_remote_help(FILE *out, const msgpack_object *res, const ctl_done_t *done)
{
	const msgpack_object *cmds =
	    res != NULL && res->type == MSGPACK_OBJECT_MAP ? farray(res, "commands") : NULL;
	char name[64], help[256];

	if (cmds == NULL) {
		ctl_print_generic(out, res, done);
		return;
	}
	fprintf(out, "commands of %s:\n", done->target);
	for (uint32_t i = 0; i < cmds->via.array.size; i++) {
		const msgpack_object *c = &cmds->via.array.ptr[i];

		fprintf(out, "  %-20s %s\n", fstr(c, "name", name, sizeof(name)),
		        fstr(c, "help", help, sizeof(help)));
	}
}

/* ---------------------------------------------------------------- parsers */

/* [SERVICE]: an optional process name that replaces the default target. */
static int build_service_arg(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req)
{
	if (argc > 1) {
		snprintf(req->err, sizeof(req->err), "too many arguments (from '%s')", argv[1]);
		return CH_EINVAL;
	}
	if (argc == 1) {
		if (!ctl_is_process(argv[0])) {
			snprintf(req->err, sizeof(req->err),
			         "unknown service '%s' (one of chorusd transport discovery relay "
			         "mempool)",
			         argv[0]);
			return CH_EINVAL;
		}
		snprintf(req->target, sizeof(req->target), "%s", argv[0]);
	}
	return ctl_req_begin(req, c, 0);
}

/* ---------------------------------------------------------------- local */

/* Prints s (NULL as "") as a quoted JSON string; the buffer is sized for
 * the worst case (every byte a six-character escape). */
static int print_jstr(FILE *out, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0, cap = len * 6 + 3;
	char *buf = malloc(cap);
	int rc;

	if (buf == NULL)
		return CH_ENOMEM;
	rc = ch_json_quote(s, len, buf, cap);
	if (rc == 0)
		fputs(buf, out);
	free(buf);
	return rc;
}

/* help [SERVICE|COMMAND]: the local command list, one command's usage, or
 * (for a process name) the commands that process answers. */
static int local_help(ctl_ctx_t *cx, const ctl_cmd_t *c, int argc, char **argv)
{
	const ctl_cmd_t *other;
	int words, rc;

	if (argc == 0) {
		if (!cx->set.json) {
			printf("usage: chorusctl [--datadir DIR] [--json] [--timeout MS] COMMAND "
			       "[ARGS]\n\ncommands:\n");
			ctl_list_commands(stdout);
			return CTL_EXIT_OK;
		}
		rc = 0;
		printf("{\"commands\":[");
		for (size_t i = 0; i < ctl_ncmds && rc == 0; i++) {
			printf("%s{\"name\":", i > 0 ? "," : "");
			rc = print_jstr(stdout, ctl_cmds[i].name);
			printf(",\"args\":");
			rc = rc == 0 ? print_jstr(stdout, ctl_cmds[i].args) : rc;
			printf(",\"help\":");
			rc = rc == 0 ? print_jstr(stdout, ctl_cmds[i].help) : rc;
			printf("}");
		}
		printf("]}\n");
		return rc == 0 ? CTL_EXIT_OK : CTL_EXIT_ERROR;
	}
	if (argc == 1 && ctl_is_process(argv[0])) {
		ctl_req_t req = {0};

		ch_mpw_init(&req.w);
		snprintf(req.target, sizeof(req.target), "%s", argv[0]);
		rc = ctl_req_begin(&req, c, 0);
		rc = rc == 0 ? ctl_send(cx, c, &req) : CTL_EXIT_ERROR;
		ch_mpw_free(&req.w);
		return rc;
	}
	other = ctl_cmd_find(argc, argv, &words);
	if (other != NULL && words == argc) {
		printf("usage: chorusctl %s%s%s\n  %s\n", other->name,
		       other->args != NULL && other->args[0] != '\0' ? " " : "",
		       other->args != NULL ? other->args : "", other->help);
		return CTL_EXIT_OK;
	}
	fprintf(stderr, "chorusctl: help: no command or service '%s'\n", argv[0]);
	return CTL_EXIT_USAGE;
}

/* ---------------------------------------------------------------- table */

/* transport commands (cmd_transport.c) */
int ctl_build_connect(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req);
int ctl_build_peer(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req);
int ctl_build_host(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req);
int ctl_build_ban(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req);
void ctl_print_peers(FILE *out, const msgpack_object *result, const ctl_done_t *done);
void ctl_print_bans(FILE *out, const msgpack_object *result, const ctl_done_t *done);

const ctl_cmd_t ctl_cmds[] = {
    {.name = "status",
     .args = "[SERVICE]",
     .help = "node state, services and ring depths (or one service's status)",
     .target = "chorusd",
     .build = build_service_arg,
     .print = print_status},
    {.name = "stop",
     .help = "stop the node (orderly shutdown)",
     .target = "chorusd",
     .print = print_stop},
    {.name = "ping",
     .args = "[SERVICE]",
     .help = "check that a process answers (default chorusd)",
     .target = "chorusd",
     .build = build_service_arg,
     .print = print_ping},
    {.name = "help",
     .args = "[SERVICE|COMMAND]",
     .help = "list commands, show one command, or ask SERVICE for its commands",
     .target = "chorusd",
     .print = print_remote_help,
     .local = local_help},
    /* transport */
    {.name = "peers",
     .help = "connected peers: id, key, address, direction, RTT, traffic, score",
     .target = "transport",
     .print = ctl_print_peers},
    {.name = "connect",
     .args = "HOST:PORT|PUBKEY@HOST:PORT",
     .help = "dial a peer and keep it connected (with a key: refuse impostors)",
     .target = "transport",
     .build = ctl_build_connect},
    {.name = "disconnect",
     .args = "PEER",
     .help = "close a peer's connection (id, key prefix or address)",
     .target = "transport",
     .build = ctl_build_peer},
    {.name = "ban",
     .args = "HOST [SECONDS]",
     .help = "ban an address (default ban-time) and disconnect it",
     .target = "transport",
     .build = ctl_build_ban},
    {.name = "unban",
     .args = "HOST",
     .help = "lift a ban",
     .target = "transport",
     .build = ctl_build_host},
    {.name = "bans",
     .help = "list banned addresses",
     .target = "transport",
     .print = ctl_print_bans},
    /* mempool (cmd_mempool.c) */
    {.name = "tx submit",
     .args = "HEX|--random [--fee N] [--count N]",
     .help = "submit a transaction, or N random ones signed with throwaway keys",
     .target = "mempool",
     .cmd = "submit",
     .local = ctl_local_tx_submit},
    {.name = "tx get",
     .args = "ID",
     .help = "one pooled transaction by id",
     .target = "mempool",
     .cmd = "get",
     .build = ctl_build_tx_get},
    {.name = "mempool info",
     .help = "pool size, bounds, minimum fee rate, evictions, expiries",
     .target = "mempool",
     .cmd = "info"},
    {.name = "mempool list",
     .args = "[--top N]",
     .help = "the best transactions by fee rate (default 20)",
     .target = "mempool",
     .cmd = "top",
     .build = ctl_build_mempool_list,
     .print = ctl_print_mempool_list},
    /* dht (cmd_dht.c) */
    {.name = "dht put",
     .args = "[--name NAME] VALUE",
     .help = "store VALUE in the DHT (immutable; --name: signed, mutable) and print its key",
     .target = "discovery",
     .cmd = "dht_put",
     .build = ctl_build_dht_put,
     .print = ctl_print_dht_put},
    {.name = "dht get",
     .args = "KEY|PUBKEY/NAME",
     .help = "fetch a value from the DHT, verified, and print it",
     .target = "discovery",
     .cmd = "dht_get",
     .build = ctl_build_dht_get,
     .print = ctl_print_dht_get},
    {.name = "dht lookup",
     .args = "ID",
     .help = "the 8 DHT nodes closest to ID and the hop count",
     .target = "discovery",
     .cmd = "dht_lookup",
     .build = ctl_build_dht_lookup,
     .print = ctl_print_dht_lookup},
    {.name = "dht status",
     .help = "DHT routing table per bucket, stored items, counters",
     .target = "discovery",
     .cmd = "dht_status",
     .print = ctl_print_dht_status},
    {.name = "dht bootstrap",
     .args = "HOST:PORT",
     .help = "join the DHT through the node at HOST:PORT (any BEP 5 node)",
     .target = "discovery",
     .cmd = "dht_bootstrap",
     .build = ctl_build_dht_bootstrap},
    {.name = "dht announce",
     .args = "INFOHASH [PORT]",
     .help = "announce_peer under INFOHASH (no PORT: the DHT port, implied)",
     .target = "discovery",
     .cmd = "dht_announce",
     .build = ctl_build_dht_announce},
    {.name = "dht peers",
     .args = "INFOHASH",
     .help = "get_peers: the peers announced under INFOHASH",
     .target = "discovery",
     .cmd = "dht_peers",
     .build = ctl_build_dht_peers,
     .print = ctl_print_dht_peers},
    /* discovery: address book and dialing policy (cmd_discovery.c) */
    {.name = "addrbook",
     .help = "address book per table and group, outbound peers, anchors, recent dials",
     .target = "discovery",
     .print = ctl_print_addrbook},
    /* relay (cmd_relay.c) */
    {.name = "block submit",
     .args = "[--top N | ID...] [--height H] [--prev HEX]",
     .help = "build a block of these ids (or the pool's N best), sign it and relay it",
     .target = "relay",
     .cmd = "block_submit",
     .build = ctl_build_block_submit,
     .print = ctl_print_block_submit},
    {.name = "relay peers",
     .help = "per-peer relay state: known ids, requests in flight, INV/GETDATA/TX counters",
     .target = "relay",
     .cmd = "peers",
     .print = ctl_print_relay_peers},
    {.name = "producers list",
     .help = "the keys whose blocks this node accepts (none: any key)",
     .target = "relay",
     .cmd = "producers_list",
     .print = ctl_print_producers},
    {.name = "producers set",
     .args = "[PUBKEY...]",
     .help = "replace the block producer set (saved in DATADIR/producers; none: any key)",
     .target = "relay",
     .cmd = "producers_set",
     .build = ctl_build_producers,
     .print = ctl_print_producers},
    {.name = "producers add",
     .args = "PUBKEY...",
     .help = "add block producers (saved in DATADIR/producers)",
     .target = "relay",
     .cmd = "producers_add",
     .build = ctl_build_producers,
     .print = ctl_print_producers},
    {.name = "producers remove",
     .args = "PUBKEY...",
     .help = "remove block producers (saved in DATADIR/producers)",
     .target = "relay",
     .cmd = "producers_remove",
     .build = ctl_build_producers,
     .print = ctl_print_producers},
    {.name = "shell",
     .help = "read commands from stdin, one per line (quit, exit or EOF ends)",
     .local = ctl_shell},
};

const size_t ctl_ncmds = sizeof(ctl_cmds) / sizeof(ctl_cmds[0]);
