/* dht_bench.c: the DHT on one machine (issue 7's bench).
 *
 * Builds networks of 10, 100, 500 and 1000 Chorus DHT nodes in this one
 * process (dht_net.h's multi-instance mode: one UDP socket per node on
 * 127.0.0.1, one event loop), node 0 the bootstrap of the others, every
 * node then refreshing its table with two random lookups.  Then:
 *   - lookup latency p50/p95 and hop count of get_peers lookups of random
 *     info-hashes from random nodes, one at a time (as bittorrent-dht's
 *     dht.lookup); the baseline is the same lookups on a bittorrent-dht
 *     network of the same size, measured in the same run by
 *     tests/interop/btdht_bench.mjs (null, with the reason on stderr, when
 *     node or the package is missing);
 *   - put and get latency (BEP 44 immutable items) at the largest size;
 *   - throughput with 1, 10, 50 and 100 lookups in flight at once;
 *   - resident memory per DHT instance (RSS growth / nodes), against
 *     bittorrent-dht's per node.
 * --quick: sizes 10 and 100 only, fewer lookups.
 *
 * Every loop is bounded in count and in time (BENCH_DEADLINE_NS per
 * phase).  Only 127.0.0.1 is used. */
#include <arpa/inet.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "clock.h"
#include "services/discovery/dht_net.h"

#define BENCH_DEADLINE_NS (30ull * BENCH_NS_PER_S)
#define MAX_SAMPLES       1000
#define PUTS              50
/* Lookups each node makes to fill its table after joining. */
#define REFRESH_PER_NODE 2
/* Lookups started at once while the network settles. */
#define SETTLE_BATCH 50

static uint32_t lookups_per_size = 200;

typedef struct waiter {
	bool done;
	dht_result_t r;
} waiter_t;

static void on_done(void *arg, const dht_result_t *r)
{
	waiter_t *w = arg;

	w->r = *r;
	w->done = true;
}

/* run_until: turns the loop until *flag or the deadline. */
static void run_until(dht_net_t *n, const bool *flag, uint64_t ns)
{
	uint64_t end = bench_now_ns() + ns;

	while (!(flag && *flag) && bench_now_ns() < end)
		dht_net_run(n, 1);
}

/* running: lookups still running in the whole network. */
static uint32_t running(dht_net_t *n)
{
	uint32_t r = 0;

	for (uint32_t i = 0; i < dht_net_count(n); i++)
		if (dht_net_core(n, i) != NULL)
			r += dht_lookups_running(dht_net_core(n, i));
	return r;
}

/* settle: runs until no lookup is running (or the deadline). */
static void settle(dht_net_t *n)
{
	uint64_t end = bench_now_ns() + BENCH_DEADLINE_NS;

	while (running(n) > 0 && bench_now_ns() < end)
		dht_net_run(n, 1);
}

static uint64_t rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* build: n nodes joined through node 0, tables refreshed. */
static dht_net_t *build(uint32_t n)
{
	dht_net_t *net = dht_net_new();
	uint32_t ip = htonl(INADDR_LOOPBACK);
	dht_addr_t boot;

	if (net == NULL)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		dht_config_t c;

		dht_config_default(&c);
		randombytes_buf(c.id, sizeof(c.id));
		/* one machine: every node is 127.0.0.1, and node 0 is asked
		 * by all: lift the per-source and rate caps; loopback answers
		 * in microseconds, so a 100 ms soft timeout is generous */
		c.store.max_items_per_ip = 100000;
		c.max_qps = 1000000;
		c.max_qps_addr = c.max_qps_group = 0;
		c.soft_timeout_ms = 100;
		if (dht_net_add(net, &c, ip, 0, NULL, i == 0 ? &boot : NULL) != 0) {
			dht_net_destroy(&net);
			return NULL;
		}
	}
	for (uint32_t i = 1; i < n; i++) {
		dht_t *d = dht_net_core(net, i);

		dht_add_bootstrap(d, &boot, ch_mono_ns());
		dht_bootstrap(d, ch_mono_ns());
		dht_net_kick(net, i);
		if (i % SETTLE_BATCH == 0)
			settle(net);
	}
	settle(net);
	for (uint32_t r = 0; r < REFRESH_PER_NODE; r++)
		for (uint32_t i = 0; i < n; i++) {
			uint8_t t[DHT_ID_LEN];

			randombytes_buf(t, sizeof(t));
			dht_find_node(dht_net_core(net, i), t, NULL, NULL, ch_mono_ns(), NULL);
			dht_net_kick(net, i);
			if (i % SETTLE_BATCH == 0)
				settle(net);
		}
	settle(net);
	return net;
}

/* lookups: m sequential get_peers lookups; sorted latencies into lat,
 * mean hops into *hops.  Returns how many completed. */
static uint32_t lookups(dht_net_t *net, uint32_t m, uint64_t *lat, double *hops)
{
	uint32_t got = 0, n = dht_net_count(net);
	uint64_t hop_sum = 0, end = bench_now_ns() + BENCH_DEADLINE_NS;

	for (uint32_t i = 0; i < m && bench_now_ns() < end; i++) {
		uint32_t from = randombytes_uniform(n);
		uint8_t ih[DHT_ID_LEN];
		waiter_t w = {0};
		uint64_t t0;

		randombytes_buf(ih, sizeof(ih));
		t0 = bench_now_ns();
		if (dht_get_peers(dht_net_core(net, from), ih, on_done, &w, ch_mono_ns(), NULL) !=
		    0)
			continue;
		dht_net_kick(net, from);
		run_until(net, &w.done, 5 * BENCH_NS_PER_S);
		if (!w.done || w.r.status != 0)
			continue;
		lat[got++] = bench_now_ns() - t0;
		hop_sum += w.r.hops;
	}
	qsort(lat, got, sizeof(uint64_t), bench_cmp_u64);
	*hops = got ? (double)hop_sum / got : 0;
	return got;
}

/* The bittorrent-dht baseline of one size. */
typedef struct baseline {
	bool ok;
	double p50, p95, rss_per_node;
} baseline_t;

static char pkg_dir[PATH_MAX];
static const char *no_baseline; /* why there is none, or NULL */

/* find_baseline: node and bittorrent-dht (installed into BUILD/npm when
 * npm is there and it is not); sets no_baseline when unavailable. */
static void find_baseline(const char *argv0)
{
	char build[PATH_MAX], cmd[PATH_MAX * 2 + 128];

	snprintf(build, sizeof(build), "%s", argv0);
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(build, '/');

		if (slash == NULL) {
			snprintf(build, sizeof(build), "build");
			break;
		}
		*slash = '\0';
	}
	snprintf(pkg_dir, sizeof(pkg_dir), "%s/npm/node_modules/bittorrent-dht", build);
	if (access("tests/interop/btdht_bench.mjs", R_OK) != 0) {
		no_baseline = "tests/interop/btdht_bench.mjs not found (run from the source tree)";
		return;
	}
	if (system("command -v node >/dev/null 2>&1") != 0) {
		no_baseline = "node is not installed";
		return;
	}
	snprintf(cmd, sizeof(cmd), "%s/index.js", pkg_dir);
	if (access(cmd, R_OK) == 0)
		return;
	if (system("command -v npm >/dev/null 2>&1") != 0) {
		no_baseline = "bittorrent-dht is not installed and npm is missing";
		return;
	}
	bench_log("installing bittorrent-dht into %s/npm for the baseline", build);
	snprintf(cmd, sizeof(cmd),
	         "timeout 120 npm install --prefix '%s/npm' --no-audit --no-fund bittorrent-dht "
	         ">/dev/null 2>&1",
	         build);
	if (system(cmd) != 0)
		no_baseline = "npm install bittorrent-dht failed";
}

/* json_num: the number after "key": in a JSON line (NAN if absent). */
static double json_num(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	return p != NULL ? strtod(p + strlen(pat), NULL) : NAN;
}

/* run_baseline: the same lookups on a bittorrent-dht network of n. */
static baseline_t run_baseline(uint32_t n, uint32_t m)
{
	baseline_t b = {0};
	char cmd[PATH_MAX + 256], line[1024] = "";
	FILE *p;

	if (no_baseline != NULL)
		return b;
	snprintf(cmd, sizeof(cmd), "timeout 90 node tests/interop/btdht_bench.mjs '%s' %u %u 60",
	         pkg_dir, n, m);
	p = popen(cmd, "r");
	if (p == NULL)
		return b;
	while (fgets(line, sizeof(line), p) != NULL && line[0] != '{') {
	}
	if (pclose(p) != 0 || line[0] != '{') {
		bench_log("bittorrent-dht baseline at %u nodes failed", n);
		return b;
	}
	b.p50 = json_num(line, "p50_ns");
	b.p95 = json_num(line, "p95_ns");
	b.rss_per_node = json_num(line, "rss_per_node");
	b.ok = isfinite(b.p50) && isfinite(b.p95);
	return b;
}

/* throughput: lookups per second with k in flight, for ~1 s. */
typedef struct tp {
	dht_net_t *net;
	uint32_t done, started, target;
	uint64_t end;
} tp_t;

static void tp_start(tp_t *t);

static void tp_done(void *arg, const dht_result_t *r)
{
	tp_t *t = arg;

	(void)r;
	t->done++;
	if (bench_now_ns() < t->end)
		tp_start(t);
}

static void tp_start(tp_t *t)
{
	uint32_t from = randombytes_uniform(dht_net_count(t->net));
	uint8_t ih[DHT_ID_LEN];

	randombytes_buf(ih, sizeof(ih));
	if (dht_get_peers(dht_net_core(t->net, from), ih, tp_done, t, ch_mono_ns(), NULL) == 0) {
		t->started++;
		dht_net_kick(t->net, from);
	}
}

static double throughput(dht_net_t *net, uint32_t k)
{
	tp_t t = {.net = net};
	uint64_t t0 = bench_now_ns();

	t.end = t0 + BENCH_NS_PER_S;
	for (uint32_t i = 0; i < k; i++)
		tp_start(&t);
	run_until(net, NULL, BENCH_NS_PER_S);
	settle(net);
	return (double)t.done / ((double)(bench_now_ns() - t0) / 1e9);
}

/* put_get: PUTS immutable puts, then PUTS gets of them from other nodes. */
static void put_get(dht_net_t *net, uint32_t n)
{
	static uint64_t put_lat[PUTS], get_lat[PUTS];
	uint8_t keys[PUTS][DHT_ID_LEN];
	uint32_t np = 0, ng = 0;
	char name[64];

	for (uint32_t i = 0; i < PUTS; i++) {
		uint8_t v[104];
		waiter_t w = {0};
		uint32_t from = randombytes_uniform(n);
		uint64_t t0 = bench_now_ns();

		memcpy(v, "100:", 4);
		randombytes_buf(v + 4, 100);
		if (dht_put_immutable(dht_net_core(net, from), v, sizeof(v), on_done, &w,
		                      ch_mono_ns(), keys[np], NULL) != 0)
			continue;
		dht_net_kick(net, from);
		run_until(net, &w.done, 5 * BENCH_NS_PER_S);
		if (w.done && w.r.status == 0 && w.r.stored > 0)
			put_lat[np++] = bench_now_ns() - t0;
	}
	for (uint32_t i = 0; i < np; i++) {
		waiter_t w = {0};
		uint32_t from = randombytes_uniform(n);
		uint64_t t0 = bench_now_ns();

		if (dht_get(dht_net_core(net, from), keys[i], NULL, 0, on_done, &w, ch_mono_ns(),
		            NULL) != 0)
			continue;
		dht_net_kick(net, from);
		run_until(net, &w.done, 5 * BENCH_NS_PER_S);
		if (w.done && w.r.found)
			get_lat[ng++] = bench_now_ns() - t0;
	}
	qsort(put_lat, np, sizeof(uint64_t), bench_cmp_u64);
	qsort(get_lat, ng, sizeof(uint64_t), bench_cmp_u64);
	bench_log("put/get at %u nodes: %u/%d puts stored, %u/%u gets found", n, np, PUTS, ng, np);
	snprintf(name, sizeof(name), "put_p50_n%u", n);
	bench_emit("dht", name, (double)bench_percentile(put_lat, np, 0.5), "ns", NULL, NAN,
	           BENCH_LOWER_IS_BETTER);
	snprintf(name, sizeof(name), "put_p95_n%u", n);
	bench_emit("dht", name, (double)bench_percentile(put_lat, np, 0.95), "ns", NULL, NAN,
	           BENCH_LOWER_IS_BETTER);
	snprintf(name, sizeof(name), "get_p50_n%u", n);
	bench_emit("dht", name, (double)bench_percentile(get_lat, ng, 0.5), "ns", NULL, NAN,
	           BENCH_LOWER_IS_BETTER);
	snprintf(name, sizeof(name), "get_p95_n%u", n);
	bench_emit("dht", name, (double)bench_percentile(get_lat, ng, 0.95), "ns", NULL, NAN,
	           BENCH_LOWER_IS_BETTER);
}

int main(int argc, char **argv)
{
	static const uint32_t all_sizes[] = {10, 100, 500, 1000};
	static const uint32_t inflight[] = {1, 10, 50, 100};
	static uint64_t lat[MAX_SAMPLES];
	uint32_t nsizes = 4;
	bool quick = false;
	baseline_t last_base = {0};

	bench_init();
	for (int i = 1; i < argc; i++)
		quick = quick || strcmp(argv[i], "--quick") == 0;
	if (quick) {
		nsizes = 2;
		lookups_per_size = 50;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "dht_bench: libsodium failed to initialise\n");
		return 1;
	}
	find_baseline(argv[0]);
	if (no_baseline != NULL)
		bench_log("no bittorrent-dht baseline: %s", no_baseline);
	bench_log("load average %.2f", bench_loadavg());
	for (uint32_t s = 0; s < nsizes; s++) {
		uint32_t n = all_sizes[s], got;
		uint64_t rss0 = rss_bytes(), t0 = bench_now_ns();
		dht_net_t *net = build(n);
		double hops = 0;
		baseline_t base;
		char name[64];

		if (net == NULL) {
			fprintf(stderr, "dht_bench: cannot build a network of %u nodes\n", n);
			return 1;
		}
		bench_log("%u nodes joined in %.0f ms; node 0 knows %u, node %u knows %u", n,
		          (double)(bench_now_ns() - t0) / 1e6,
		          dht_rtable(dht_net_core(net, 0))->count, n - 1,
		          dht_rtable(dht_net_core(net, n - 1))->count);
		got = lookups(net, lookups_per_size, lat, &hops);
		base = run_baseline(n, lookups_per_size);
		if (base.ok)
			bench_log("bittorrent-dht, %u nodes: p50 %.2f ms, p95 %.2f ms", n,
			          base.p50 / 1e6, base.p95 / 1e6);
		snprintf(name, sizeof(name), "lookup_p50_n%u", n);
		bench_emit("dht", name, (double)bench_percentile(lat, got, 0.5), "ns",
		           base.ok ? "bittorrent-dht" : NULL, base.p50, BENCH_LOWER_IS_BETTER);
		snprintf(name, sizeof(name), "lookup_p95_n%u", n);
		bench_emit("dht", name, (double)bench_percentile(lat, got, 0.95), "ns",
		           base.ok ? "bittorrent-dht" : NULL, base.p95, BENCH_LOWER_IS_BETTER);
		snprintf(name, sizeof(name), "lookup_hops_n%u", n);
		bench_emit("dht", name, hops, "hops", NULL, NAN, BENCH_LOWER_IS_BETTER);
		if (s == nsizes - 1) {
			double per = (double)(rss_bytes() - rss0) / n;

			put_get(net, n);
			for (uint32_t k = 0; k < 4; k++) {
				snprintf(name, sizeof(name), "throughput_inflight%u_n%u",
				         inflight[k], n);
				bench_emit("dht", name, throughput(net, inflight[k]), "lookups/s",
				           NULL, NAN, BENCH_HIGHER_IS_BETTER);
			}
			last_base = base;
			bench_emit("dht", "memory_per_instance", per, "B",
			           last_base.ok && last_base.rss_per_node > 0 ? "bittorrent-dht"
			                                                      : NULL,
			           last_base.rss_per_node, BENCH_LOWER_IS_BETTER);
		}
		dht_net_destroy(&net);
	}
	return 0;
}
