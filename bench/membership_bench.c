/* membership_bench.c: how fast nodes find their peers (issue 8).
 *
 *   join:       a network of 10 real nodes (each on its own 127.X.0.1, so
 *               its own address group; max-outbound 1, plus the 2
 *               block-relay connections) formed from one seed; then a new
 *               node with only that seed and max-outbound 8 starts; the
 *               time from its chorusd exec (and from its "running") until
 *               it has 8 connections.  Five joins, each a fresh node on a
 *               fresh address; p50 and best reported.  The target is
 *               200 ms.
 *   formation:  NODES real nodes (default 50; `--nodes N`) on their own
 *               groups, node 0 the only seed, max-outbound 8: the time
 *               from launching nodes 1..N-1 (and from all of them running)
 *               until every node has 8 full outbound connections.
 *
 * Every node runs light (--ring-size 1m --io-threads 1 --log-level warn).
 * Connections are read by polling each node's transport `peers` (a full
 * outbound connection has "kind": "outbound").  No baseline: there is no
 * other implementation to run here (libp2p's "marketplace" figure of
 * under 2 s for a join is the reference in docs/benchmarks.md). */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "bench.h"
#include "ctl.h"
#include "err.h"
#include "mp.h"

#define MAX_NODES 128
#define JOIN_NET  10
#define JOINS     5
#define TARGET    8

typedef struct node {
	char dir[PATH_MAX];
	char listen[64];
	pid_t pid;
} node_t;

static node_t nodes[MAX_NODES + 1];
static char chorusd[PATH_MAX];
static const char *root;
static uint16_t port_base;

/* rm_entry: nftw callback removing one path. */
static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* stop: SIGTERM and reap (SIGKILL after 5 s); the datadir goes too. */
static void stop(node_t *n)
{
	if (n->pid > 0) {
		kill(n->pid, SIGTERM);
		for (int i = 0; i < 500 && waitpid(n->pid, NULL, WNOHANG) != n->pid; i++)
			usleep(10000);
		if (kill(n->pid, 0) == 0) {
			kill(n->pid, SIGKILL);
			waitpid(n->pid, NULL, 0);
		}
		n->pid = -1;
	}
	if (n->dir[0])
		nftw(n->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	n->dir[0] = 0;
}

/* stop_all: at exit, whatever still runs. */
static void stop_all(void)
{
	for (int i = 0; i <= MAX_NODES; i++)
		if (nodes[i].pid > 0 || nodes[i].dir[0])
			stop(&nodes[i]);
	if (root != NULL)
		rmdir(root);
}

/* start: chorusd for node i (group 127.(10+i)), with node 0 as seed unless
 * i is 0. */
static int start(int i, int target)
{
	node_t *n = &nodes[i];
	char seed[64], tgt[16], log[PATH_MAX + 16];

	snprintf(n->dir, sizeof(n->dir), "%s/n%d", root, i);
	snprintf(n->listen, sizeof(n->listen), "127.%d.0.1:%u", 10 + i, (unsigned)(port_base + i));
	snprintf(seed, sizeof(seed), "127.10.0.1:%u", (unsigned)port_base);
	snprintf(tgt, sizeof(tgt), "%d", target);
	snprintf(log, sizeof(log), "%s/chorus.log", n->dir);
	if (mkdir(n->dir, 0700) != 0)
		return -1;
	fflush(stdout);
	n->pid = fork();
	if (n->pid < 0)
		return -1;
	if (n->pid == 0) {
		if (i == 0)
			execl(chorusd, "chorusd", "--datadir", n->dir, "--foreground", "--listen",
			      n->listen, "--log-file", log, "--log-level", "warn", "--ring-size",
			      "1m", "--ring-max-msg", "256k", "--io-threads", "1", "--max-outbound",
			      tgt, (char *)NULL);
		else
			execl(chorusd, "chorusd", "--datadir", n->dir, "--foreground", "--listen",
			      n->listen, "--seed", seed, "--log-file", log, "--log-level", "warn",
			      "--ring-size", "1m", "--ring-max-msg", "256k", "--io-threads", "1",
			      "--max-outbound", tgt, (char *)NULL);
		_exit(127);
	}
	return 0;
}

/* call: one command to a process of node i; the result map, or NULL. */
static const msgpack_object *call(void *zctx, int i, const char *svc, const char *cmd, ch_mpr_t *r,
                                  int timeout_ms)
{
	char ep[PATH_MAX + 64];
	ch_ctl_reply_t rep;

	if (ch_ctl_endpoint(nodes[i].dir, svc, "cmd", ep, sizeof(ep)) != 0 ||
	    ch_ctl_simple(zctx, ep, cmd, r, timeout_ms) != 0 || ch_ctl_reply_get(r, &rep) != 0 ||
	    !rep.ok || rep.result == NULL || rep.result->type != MSGPACK_OBJECT_MAP)
		return NULL;
	return rep.result;
}

/* running: chorusd says "running" (all four services ready). */
static bool running(void *zctx, int i)
{
	ch_mpr_t r;
	const msgpack_object *res;
	char st[16] = "";

	ch_mpr_init(&r, 1 << 16);
	res = call(zctx, i, "chorusd", "status", &r, 200);
	if (res != NULL)
		ch_mp_get_strz(res, "state", st, sizeof(st));
	ch_mpr_free(&r);
	return strcmp(st, "running") == 0;
}

/* outbound: node i's outbound connections; full ones only if `full`. */
static int outbound(void *zctx, int i, bool full)
{
	ch_mpr_t r;
	const msgpack_object *res, *list;
	int n = -1;

	ch_mpr_init(&r, 1 << 20);
	res = call(zctx, i, "transport", "peers", &r, 500);
	if (res != NULL && ch_mp_map_get(res, "peers", &list) == 0 &&
	    list->type == MSGPACK_OBJECT_ARRAY) {
		n = 0;
		for (uint32_t k = 0; k < list->via.array.size; k++) {
			char dir[16] = "", kind[16] = "";

			ch_mp_get_strz(&list->via.array.ptr[k], "direction", dir, sizeof(dir));
			ch_mp_get_strz(&list->via.array.ptr[k], "kind", kind, sizeof(kind));
			n += strcmp(dir, "outbound") == 0 &&
			     (!full || strcmp(kind, "outbound") == 0);
		}
	}
	ch_mpr_free(&r);
	return n;
}

/* connections: node i's connections, both directions (-1: no answer). */
static int connections(void *zctx, int i)
{
	ch_mpr_t r;
	const msgpack_object *res, *list;
	int n = -1;

	ch_mpr_init(&r, 1 << 20);
	res = call(zctx, i, "transport", "peers", &r, 500);
	if (res != NULL && ch_mp_map_get(res, "peers", &list) == 0 &&
	    list->type == MSGPACK_OBJECT_ARRAY)
		n = (int)list->via.array.size;
	ch_mpr_free(&r);
	return n;
}

/* wait_running: nodes [from, to) all running, within secs. */
static int wait_running(void *zctx, int from, int to, int secs)
{
	uint64_t end = bench_now_ns() + (uint64_t)secs * BENCH_NS_PER_S;

	for (int i = from; i < to; i++)
		while (!running(zctx, i)) {
			if (bench_now_ns() > end) {
				fprintf(stderr, "membership_bench: node %d did not start\n", i);
				return -1;
			}
			usleep(5000);
		}
	return 0;
}

/* all_met: every node of [0, n) has target full outbound connections. */
static bool all_met(void *zctx, int n, int target)
{
	for (int i = 0; i < n; i++)
		if (outbound(zctx, i, true) < target)
			return false;
	return true;
}

/* bench_join: see the top. */
static int bench_join(void *zctx)
{
	double from_exec[JOINS], from_ready[JOINS];
	uint64_t lat[JOINS], lat_ready[JOINS];

	/* the network keeps 1 full + 2 block-relay outbound each (3 x 10 of
	 * the 45 pairs), leaving room for the joiner's 8 */
	for (int i = 0; i < JOIN_NET; i++)
		if (start(i, 1) != 0)
			return -1;
	if (wait_running(zctx, 0, JOIN_NET, 60) != 0)
		return -1;
	uint64_t end = bench_now_ns() + 60 * BENCH_NS_PER_S;
	while (!all_met(zctx, JOIN_NET, 1)) {
		if (bench_now_ns() > end) {
			fprintf(stderr, "membership_bench: the 10-node network did not form\n");
			return -1;
		}
		usleep(20000);
	}
	bench_log("10-node network formed; joining %d times", JOINS);
	for (int j = 0; j < JOINS; j++) {
		/* each joiner a fresh node on a fresh address (its own group
		 * 127.(10+120+j)): nobody knows it yet */
		int me = MAX_NODES - JOINS + j;
		uint64_t t0 = bench_now_ns(), t_ready = 0;

		if (start(me, TARGET) != 0)
			return -1;
		for (;;) {
			char sock[PATH_MAX + 32];
			int have = -1;
			uint64_t now;

			/* ask only once the sockets exist: a request to a socket not
			 * yet bound waits for ZeroMQ's reconnect (100 ms) */
			snprintf(sock, sizeof(sock), "%s/run/transport.cmd", nodes[me].dir);
			if (access(sock, F_OK) == 0) {
				if (t_ready == 0 && running(zctx, me))
					t_ready = bench_now_ns();
				if (t_ready != 0)
					have = connections(zctx, me);
			}
			now = bench_now_ns();
			if (have >= TARGET) {
				lat[j] = now - t0;
				lat_ready[j] = now - t_ready;
				break;
			}
			if (now - t0 > 20 * BENCH_NS_PER_S) {
				fprintf(
				    stderr,
				    "membership_bench: the joiner has %d connections after 20 s\n",
				    have);
				return -1;
			}
			usleep(500);
		}
		from_exec[j] = (double)lat[j] / 1e6;
		from_ready[j] = (double)lat_ready[j] / 1e6;
		bench_log("join %d: 8 connections %.1f ms after exec, %.1f ms after running", j,
		          from_exec[j], from_ready[j]);
		stop(&nodes[me]);
	}
	qsort(lat, JOINS, sizeof(lat[0]), bench_cmp_u64);
	qsort(lat_ready, JOINS, sizeof(lat_ready[0]), bench_cmp_u64);
	bench_emit("membership", "join10_8conns_from_exec_p50",
	           (double)bench_percentile(lat, JOINS, 0.5) / 1e6, "ms", NULL, NAN,
	           BENCH_LOWER_IS_BETTER);
	bench_emit("membership", "join10_8conns_from_running_p50",
	           (double)bench_percentile(lat_ready, JOINS, 0.5) / 1e6, "ms", NULL, NAN,
	           BENCH_LOWER_IS_BETTER);
	bench_emit("membership", "join10_8conns_from_running_best", (double)lat_ready[0] / 1e6,
	           "ms", NULL, NAN, BENCH_LOWER_IS_BETTER);
	for (int i = 0; i < JOIN_NET; i++)
		stop(&nodes[i]);
	return 0;
}

/* bench_formation: see the top. */
static int bench_formation(void *zctx, int n)
{
	uint64_t t0, t_ready, t_done, end;

	if (start(0, TARGET) != 0 || wait_running(zctx, 0, 1, 30) != 0)
		return -1;
	t0 = bench_now_ns();
	for (int i = 1; i < n; i++)
		if (start(i, TARGET) != 0)
			return -1;
	if (wait_running(zctx, 1, n, 120) != 0)
		return -1;
	t_ready = bench_now_ns();
	end = t0 + 120 * BENCH_NS_PER_S;
	while (!all_met(zctx, n, TARGET)) {
		if (bench_now_ns() > end) {
			fprintf(stderr,
			        "membership_bench: %d nodes did not all reach %d outbound\n", n,
			        TARGET);
			return -1;
		}
		usleep(2000);
	}
	t_done = bench_now_ns();
	bench_log("%d nodes: all running %.0f ms after launch, all at %d outbound %.0f ms after "
	          "launch (%.0f ms after all running); load %.1f",
	          n, (double)(t_ready - t0) / 1e6, TARGET, (double)(t_done - t0) / 1e6,
	          (double)(t_done > t_ready ? t_done - t_ready : 0) / 1e6, bench_loadavg());
	char cas[64];
	snprintf(cas, sizeof(cas), "formation%d_all_target_from_launch", n);
	bench_emit("membership", cas, (double)(t_done - t0) / 1e6, "ms", NULL, NAN,
	           BENCH_LOWER_IS_BETTER);
	snprintf(cas, sizeof(cas), "formation%d_all_target_from_running", n);
	bench_emit("membership", cas, (double)(t_done > t_ready ? t_done - t_ready : 0) / 1e6, "ms",
	           NULL, NAN, BENCH_LOWER_IS_BETTER);
	for (int i = 0; i < n; i++)
		stop(&nodes[i]);
	return 0;
}

/* main: [BINDIR] [--nodes N]; the join bench, then the formation bench. */
int main(int argc, char **argv)
{
	const char *build = getenv("CH_BUILD");
	int n = 50, rc;
	void *zctx;

	bench_init();
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--nodes") == 0 && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (argv[i][0] != '-')
			snprintf(chorusd, sizeof(chorusd), "%s/chorusd", argv[i]);
	}
	if (n < 2 || n > MAX_NODES - JOINS) {
		fprintf(stderr, "membership_bench: --nodes is 2..%d\n", MAX_NODES - JOINS);
		return 64;
	}
	if (!chorusd[0])
		snprintf(chorusd, sizeof(chorusd), "%s/bin/chorusd",
		         build && *build ? build : "build");
	root = bench_tmp_path("nodes");
	if (root == NULL || mkdir(root, 0700) != 0) {
		fprintf(stderr, "membership_bench: no temp dir\n");
		return 1;
	}
	atexit(stop_all);
	port_base = (uint16_t)(30000 + getpid() % 4000 * 8);
	zctx = zmq_ctx_new();
	rc = bench_join(zctx);
	if (rc == 0)
		rc = bench_formation(zctx, n);
	zmq_ctx_term(zctx);
	stop_all();
	return rc == 0 ? 0 : 1;
}
