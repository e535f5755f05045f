/* relay_bench.c: gossip across real networks on loopback (docs/relay.md,
 * "Figures").
 *
 * For each size (5, 10, 30, 50 nodes; --sizes) it starts that many real
 * nodes (chorusd and its four services each, --max-outbound 0 so that the
 * topology is the bench's), connects node i to up to three random earlier
 * nodes (transport's `connect`), waits until every planned link is up,
 * and then:
 *   - latency: --txs transactions (default 200), each signed here and
 *     submitted to the mempool of a random node at a paced rate (--rate,
 *     default 100/s, scaled to rate x 10 / nodes, at least 10/s: 100/s at 5
 *     and 10 nodes, 33/s at 30, 20/s at 50, so that 250 processes on two
 *     cores are not saturated); the bench subscribes to every node's mempool PUB
 *     (event.mempool.accepted) and takes, per transaction, the time from
 *     just before the submit to the arrival of the last node's event:
 *     p50 and p99;
 *   - bytes on the wire per transaction per node (transport's per-peer
 *     byte counters, sealed records, over the paced window), relay CPU per
 *     transaction per node and per announcement (utime + stime of every
 *     relay process from /proc, minus the same window measured idle), and
 *     the full copies received per transaction per node (relay's tx_in over
 *     (nodes - 1) per transaction: 1.0 is the floor);
 *   - the flooding baseline: every relay switched to flood mode (`mode
 *     {flood: true}`: an accepted transaction is pushed whole to every peer
 *     but its origin, no INV) and --flood-txs transactions (default 100)
 *     measured the same way; its duplicate ratio is the baseline of ours;
 *   - at 30 nodes, a burst: --burst transactions (default 1000) in one
 *     submit at one node, time until every pool holds all of them (pools
 *     polled every 10 ms).
 * Figures go out as JSON lines (bench.h).  Nodes use --ring-size 1m
 * --ring-max-msg 256k --io-threads 1 to keep 50 nodes (250 processes)
 * within memory; the memory per node (PSS of its five processes) is
 * reported too. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "bench.h"
#include "ctl.h"
#include "err.h"
#include "hash.h"
#include "mp.h"
#include "tx.h"

#define MAXN    64
#define MAXTX   4096
#define DEGREE  3
#define TX_DATA 64

typedef struct node {
	char dir[PATH_MAX];
	pid_t pid;
	int deg; /* planned links */
} node_t;

static node_t nodes[MAXN];
static int nn;
static char bindir[PATH_MAX], root[PATH_MAX];
static void *zctx;
static int port_base;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* stop_all: SIGTERM every node (they stop in order and remove their
 * shared memory), SIGKILL what is left after 10 s, then the folders. */
static void stop_all(void)
{
	for (int i = 0; i < nn; i++)
		if (nodes[i].pid > 0)
			kill(nodes[i].pid, SIGTERM);
	uint64_t end = bench_now_ns() + 10 * BENCH_NS_PER_S;
	for (int i = 0; i < nn; i++) {
		while (nodes[i].pid > 0) {
			if (waitpid(nodes[i].pid, NULL, WNOHANG) == nodes[i].pid)
				nodes[i].pid = 0;
			else if (bench_now_ns() > end) {
				kill(nodes[i].pid, SIGKILL);
				waitpid(nodes[i].pid, NULL, 0);
				nodes[i].pid = 0;
			} else
				usleep(10000);
		}
	}
	for (int i = 0; i < nn; i++)
		nftw(nodes[i].dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	nn = 0;
}

static void at_exit(void)
{
	stop_all();
	if (root[0])
		rmdir(root);
}

/* call: one command to a process of node i; the result map or NULL. */
static const msgpack_object *call(int i, const char *svc, const void *req, size_t len, ch_mpr_t *r,
                                  int timeout_ms)
{
	char ep[PATH_MAX + 64];
	ch_ctl_reply_t rep;
	if (ch_ctl_endpoint(nodes[i].dir, svc, "cmd", ep, sizeof(ep)) != 0)
		return NULL;
	if (ch_ctl_call(zctx, ep, req, len, r, timeout_ms) != 0 || ch_ctl_reply_get(r, &rep) != 0 ||
	    !rep.ok)
		return NULL;
	return rep.result;
}

static const msgpack_object *simple(int i, const char *svc, const char *cmd, ch_mpr_t *r)
{
	ch_mpw_t w;
	ch_mpw_init(&w);
	ch_mpw_map(&w, 1);
	ch_mpw_kv_str(&w, "cmd", cmd);
	const msgpack_object *o = call(i, svc, ch_mpw_data(&w), ch_mpw_size(&w), r, 2000);
	ch_mpw_free(&w);
	return o;
}

/* sum_peers: the sum of a numeric field over a `peers` list (0 if the
 * call failed); *count gets the number of peers, -1 on failure. */
static int64_t sum_peers(int i, const char *svc, const char *field, int *count)
{
	ch_mpr_t r;
	ch_mpr_init(&r, 8u << 20);
	const msgpack_object *res = simple(i, svc, "peers", &r), *list;
	int64_t s = 0;
	if (count)
		*count = -1;
	if (res && ch_mp_map_get(res, "peers", &list) == 0 && list->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t k = 0; k < list->via.array.size; k++) {
			uint64_t v = 0;
			ch_mp_get_u64(&list->via.array.ptr[k], field, &v);
			s += (int64_t)v;
		}
		if (count)
			*count = (int)list->via.array.size;
	}
	ch_mpr_free(&r);
	return s;
}

static uint64_t relay_stat(int i, const char *field)
{
	ch_mpr_t r;
	ch_mpr_init(&r, 1u << 20);
	const msgpack_object *res = simple(i, "relay", "status", &r);
	uint64_t v = 0;
	if (res)
		ch_mp_get_u64(res, field, &v);
	ch_mpr_free(&r);
	return v;
}

static int pool_count(int i)
{
	ch_mpr_t r;
	ch_mpr_init(&r, 1u << 20);
	const msgpack_object *res = simple(i, "mempool", "info", &r);
	uint64_t v = 0;
	int rc = res && ch_mp_get_u64(res, "count", &v) == 0 ? (int)v : -1;
	ch_mpr_free(&r);
	return rc;
}

static pid_t svc_pid(int i, const char *svc)
{
	char path[PATH_MAX + 64];
	int pid = 0;
	snprintf(path, sizeof(path), "%s/run/%s.pid", nodes[i].dir, svc);
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

/* cpu_us: utime + stime of a process, in microseconds. */
static uint64_t cpu_us(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (uint64_t)(ut + st) * 1000000ULL / (uint64_t)sysconf(_SC_CLK_TCK);
}

/* pss_kib: the proportional set size of a process (shared pages, such as
 * the rings and libraries, divided among the processes that map them). */
static uint64_t pss_kib(pid_t pid)
{
	char path[64], line[256];
	uint64_t kib = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Pss: %lu", (unsigned long *)&kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* all_cpu: utime + stime of every process of every node (us), and per
 * service kind into by[4] (transport, discovery, relay, mempool). */
static uint64_t all_cpu(uint64_t by[4])
{
	static const char *const svcs[] = {"transport", "discovery", "relay", "mempool"};
	uint64_t s = 0;
	for (int k = 0; k < 4; k++)
		by[k] = 0;
	for (int i = 0; i < nn; i++) {
		s += cpu_us(nodes[i].pid);
		for (int k = 0; k < 4; k++) {
			uint64_t u = cpu_us(svc_pid(i, svcs[k]));
			by[k] += u;
			s += u;
		}
	}
	return s;
}

static uint64_t relays_cpu(void)
{
	uint64_t s = 0;
	for (int i = 0; i < nn; i++)
		s += cpu_us(svc_pid(i, "relay"));
	return s;
}

/* ---------------------------------------------------------------- network */

static int start_net(int n, unsigned seed)
{
	srand(seed);
	nn = n;
	for (int i = 0; i < n; i++) {
		snprintf(nodes[i].dir, sizeof(nodes[i].dir), "%s/n%d", root, i);
		nodes[i].deg = 0;
		nodes[i].pid = 0;
	}
	int dial[MAXN][DEGREE], ndial[MAXN] = {0};
	for (int i = 1; i < n; i++) {
		int want = i < DEGREE ? i : DEGREE;
		while (ndial[i] < want) {
			int j = rand() % i, dup = 0;
			for (int k = 0; k < ndial[i]; k++)
				dup |= dial[i][k] == j;
			if (dup)
				continue;
			dial[i][ndial[i]++] = j;
			nodes[i].deg++;
			nodes[j].deg++;
		}
	}
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			char chorusd[PATH_MAX + 16], listen[32], log[PATH_MAX + 16];
			const char *argv[40];
			int a = 0;
			snprintf(chorusd, sizeof(chorusd), "%s/chorusd", bindir);
			snprintf(listen, sizeof(listen), "127.0.0.1:%d", port_base + i);
			snprintf(log, sizeof(log), "%s/chorus.log", nodes[i].dir);
			argv[a++] = "chorusd";
			argv[a++] = "--datadir";
			argv[a++] = nodes[i].dir;
			argv[a++] = "--foreground";
			argv[a++] = "--listen";
			argv[a++] = listen;
			argv[a++] = "--log-file";
			argv[a++] = log;
			argv[a++] = "--log-level";
			argv[a++] = "warn";
			argv[a++] = "--max-per-group";
			argv[a++] = "4096";
			argv[a++] = "--ring-size";
			argv[a++] = "1m";
			argv[a++] = "--ring-max-msg";
			argv[a++] = "256k";
			argv[a++] = "--io-threads";
			argv[a++] = "1";
			argv[a++] = "--max-outbound";
			argv[a++] = "0";
			argv[a] = NULL;
			mkdir(nodes[i].dir, 0700);
			int dn = open("/dev/null", O_WRONLY);
			dup2(dn, 1);
			dup2(dn, 2);
			execv(chorusd, (char *const *)argv);
			_exit(127);
		}
		nodes[i].pid = pid;
	}
	/* the links: operator connections (`connect`), node i to the nodes it
	 * drew; with --max-outbound 0 discovery dials no full-relay peers of
	 * its own (block-relay-only links it may add carry no transactions) */
	uint64_t end = bench_now_ns() + 90 * BENCH_NS_PER_S;
	for (int i = 0; i < n; i++) {
		ch_mpr_t r;
		ch_mpr_init(&r, 4096);
		while (!simple(i, "transport", "ping", &r)) {
			if (bench_now_ns() > end)
				return -1;
			usleep(20000);
		}
		ch_mpr_free(&r);
	}
	for (int i = 1; i < n; i++) {
		for (int k = 0; k < ndial[i]; k++) {
			char addr[32];
			ch_mpw_t w;
			ch_mpr_t r;
			snprintf(addr, sizeof(addr), "127.0.0.1:%d", port_base + dial[i][k]);
			ch_mpw_init(&w);
			ch_mpw_map(&w, 2);
			ch_mpw_kv_str(&w, "cmd", "connect");
			ch_mpw_kv_str(&w, "addr", addr);
			ch_mpr_init(&r, 4096);
			if (!call(i, "transport", ch_mpw_data(&w), ch_mpw_size(&w), &r, 2000))
				bench_log("connect %d -> %d refused", i, dial[i][k]);
			ch_mpw_free(&w);
			ch_mpr_free(&r);
		}
	}
	for (int i = 0; i < n; i++) {
		for (;;) {
			int np = 0, nr = 0;
			sum_peers(i, "transport", "rtt_us", &np);
			sum_peers(i, "relay", "tx_in", &nr);
			if (np >= nodes[i].deg && nr >= nodes[i].deg)
				break;
			if (bench_now_ns() > end) {
				bench_log("node %d has %d of %d links after 90 s", i, np,
				          nodes[i].deg);
				return -1;
			}
			usleep(50000);
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- txs */

typedef struct txrec {
	uint8_t id[32];
	uint64_t t0, tlast;
	int seen;
} txrec_t;

static txrec_t txr[MAXTX];
static int ntx;
static int tidx[2 * 8192]; /* id -> txr index + 1 */

static int tfind(const uint8_t id[32], bool add)
{
	uint32_t h;
	memcpy(&h, id, 4);
	for (uint32_t k = h & 16383;; k = (k + 1) & 16383) {
		if (!tidx[k]) {
			if (!add || ntx >= MAXTX)
				return -1;
			memcpy(txr[ntx].id, id, 32);
			txr[ntx].seen = 0;
			tidx[k] = ++ntx;
			return ntx - 1;
		}
		if (memcmp(txr[tidx[k] - 1].id, id, 32) == 0)
			return tidx[k] - 1;
	}
}

static void tx_reset(void)
{
	ntx = 0;
	memset(tidx, 0, sizeof(tidx));
}

static ch_seckey_t key;
static uint64_t nonce;

/* make_tx: a fresh signed transaction (a new key every 50). */
static size_t make_tx(uint8_t *out, uint8_t id[32])
{
	if (nonce % 50 == 0) {
		ch_pubkey_t pk;
		ch_ed25519_keypair(&pk, &key);
	}
	uint8_t data[TX_DATA];
	size_t len;
	randombytes_buf(data, sizeof(data));
	if (mp_tx_encode(out, 512, &key, nonce++, 20000, data, sizeof(data), &len, id) != 0)
		return 0;
	return len;
}

static int submit(int i, const uint8_t *tx, size_t len)
{
	ch_mpw_t w;
	ch_mpr_t r;
	ch_mpw_init(&w);
	ch_mpw_map(&w, 2);
	ch_mpw_kv_str(&w, "cmd", "submit");
	ch_mpw_kv_bin(&w, "tx", tx, len);
	ch_mpr_init(&r, 1u << 20);
	const msgpack_object *res = call(i, "mempool", ch_mpw_data(&w), ch_mpw_size(&w), &r, 5000);
	bool acc = false;
	if (res)
		ch_mp_get_bool(res, "accepted", &acc);
	ch_mpw_free(&w);
	ch_mpr_free(&r);
	return acc ? 0 : -1;
}

/* drain_events: accepted events until `until` (ns). */
static void drain_events(void *sub, uint64_t until)
{
	for (;;) {
		uint64_t now = bench_now_ns();
		long ms = now >= until ? 0 : (long)((until - now) / BENCH_NS_PER_MS);
		zmq_pollitem_t it = {.socket = sub, .events = ZMQ_POLLIN};
		if (zmq_poll(&it, 1, ms) <= 0)
			return;
		for (;;) {
			zmq_msg_t topic, body;
			zmq_msg_init(&topic);
			if (zmq_msg_recv(&topic, sub, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&topic);
				break;
			}
			uint64_t t = bench_now_ns();
			zmq_msg_init(&body);
			if (zmq_msg_more(&topic) && zmq_msg_recv(&body, sub, 0) >= 0) {
				ch_mpr_t r;
				const msgpack_object *m;
				uint8_t id[32];
				ch_mpr_init(&r, 65536);
				if (ch_mpr_parse(&r, zmq_msg_data(&body), zmq_msg_size(&body)) ==
				        0 &&
				    ch_mpr_root_map(&r, &m) == 0 &&
				    ch_mp_get_bin_exact(m, "id", id, 32) == 0) {
					int k = tfind(id, false);
					if (k >= 0) {
						txr[k].seen++;
						txr[k].tlast = t;
					}
				}
				ch_mpr_free(&r);
			}
			zmq_msg_close(&topic);
			zmq_msg_close(&body);
		}
	}
}

typedef struct run {
	double p50_ms, p99_ms, bytes_per_tx_node, cpu_us_per_tx_node, cpu_us_per_ann, copies;
	int complete;
} run_t;

/* run_paced: n transactions at `rate` per second at random nodes. */
static int run_paced(void *sub, int n, double rate, run_t *out)
{
	static uint8_t tx[512];
	int64_t bytes0 = 0, bytes1 = 0, rx0 = 0, rx1 = 0, ann0 = 0, ann1 = 0;
	/* idle CPU of the relays over the same duration, to subtract */
	double secs = (double)n / rate;
	uint64_t c0 = relays_cpu();
	usleep((useconds_t)(secs * 1e6 > 3e6 ? 3e6 : secs * 1e6));
	uint64_t idle = (uint64_t)((double)(relays_cpu() - c0) * (secs / (secs > 3 ? 3 : secs)));
	for (int i = 0; i < nn; i++) {
		bytes0 += sum_peers(i, "transport", "bytes_out", NULL);
		rx0 += sum_peers(i, "relay", "tx_in", NULL);
		ann0 += (int64_t)relay_stat(i, "inv_ids_out");
	}
	tx_reset();
	c0 = relays_cpu();
	uint64_t start = bench_now_ns();
	for (int k = 0; k < n; k++) {
		uint8_t id[32];
		size_t len = make_tx(tx, id);
		int slot = tfind(id, true);
		uint64_t when = start + (uint64_t)((double)k / rate * 1e9);
		drain_events(sub, when);
		txr[slot].t0 = bench_now_ns();
		if (submit(rand() % nn, tx, len) != 0) {
			bench_log("a submission was refused");
			return -1;
		}
	}
	uint64_t end = bench_now_ns() + 5 * BENCH_NS_PER_S;
	int done = 0;
	while (bench_now_ns() < end) {
		drain_events(sub, bench_now_ns() + 50 * BENCH_NS_PER_MS);
		done = 0;
		for (int k = 0; k < ntx; k++)
			done += txr[k].seen >= nn;
		if (done == ntx)
			break;
	}
	uint64_t cpu = relays_cpu() - c0;
	for (int i = 0; i < nn; i++) {
		bytes1 += sum_peers(i, "transport", "bytes_out", NULL);
		rx1 += sum_peers(i, "relay", "tx_in", NULL);
		ann1 += (int64_t)relay_stat(i, "inv_ids_out");
	}
	static uint64_t lat[MAXTX];
	int m = 0;
	for (int k = 0; k < ntx; k++)
		if (txr[k].seen >= nn)
			lat[m++] = txr[k].tlast - txr[k].t0;
	qsort(lat, (size_t)m, sizeof(lat[0]), bench_cmp_u64);
	out->complete = m;
	out->p50_ms = (double)bench_percentile(lat, (size_t)m, 0.5) / 1e6;
	out->p99_ms = (double)bench_percentile(lat, (size_t)m, 0.99) / 1e6;
	out->bytes_per_tx_node = (double)(bytes1 - bytes0) / ((double)n * nn);
	cpu = cpu > idle ? cpu - idle : 0;
	out->cpu_us_per_tx_node = (double)cpu / ((double)n * nn);
	out->cpu_us_per_ann = ann1 > ann0 ? (double)cpu / (double)(ann1 - ann0) : NAN;
	out->copies = (double)(rx1 - rx0) / ((double)n * (nn - 1));
	return 0;
}

static void set_flood(bool on)
{
	for (int i = 0; i < nn; i++) {
		ch_mpw_t w;
		ch_mpr_t r;
		ch_mpw_init(&w);
		ch_mpw_map(&w, 2);
		ch_mpw_kv_str(&w, "cmd", "mode");
		ch_mpw_kv_bool(&w, "flood", on);
		ch_mpr_init(&r, 4096);
		call(i, "relay", ch_mpw_data(&w), ch_mpw_size(&w), &r, 2000);
		ch_mpw_free(&w);
		ch_mpr_free(&r);
	}
}

/* run_burst: `count` transactions in one submit at node 0; ms until every
 * pool holds them (NAN if not within 20 s); the relays' CPU per transaction
 * per node and per announcement while they batch. */
static double run_burst(int count, double *cpu_tx_node, double *cpu_ann)
{
	int base[MAXN];
	uint64_t ann0 = 0, ann1 = 0;
	*cpu_tx_node = *cpu_ann = NAN;
	for (int i = 0; i < nn; i++) {
		base[i] = pool_count(i);
		ann0 += relay_stat(i, "inv_ids_out");
	}
	uint64_t b0[4], b1[4];
	uint64_t c0 = relays_cpu(), a0 = all_cpu(b0);
	ch_mpw_t w;
	ch_mpr_t r;
	static uint8_t tx[512];
	ch_mpw_init(&w);
	ch_mpw_map(&w, 2);
	ch_mpw_kv_str(&w, "cmd", "submit");
	ch_mpw_key(&w, "txs");
	ch_mpw_array(&w, (size_t)count);
	for (int k = 0; k < count; k++) {
		uint8_t id[32];
		size_t len = make_tx(tx, id);
		msgpack_pack_bin_with_body(&w.pk, tx, len);
	}
	ch_mpr_init(&r, 8u << 20);
	uint64_t t0 = bench_now_ns();
	const msgpack_object *res = call(0, "mempool", ch_mpw_data(&w), ch_mpw_size(&w), &r, 20000);
	ch_mpw_free(&w);
	ch_mpr_free(&r);
	if (!res)
		return NAN;
	int left = nn;
	bool done[MAXN] = {false};
	while (left && bench_now_ns() - t0 < 20 * BENCH_NS_PER_S) {
		for (int i = 0; i < nn; i++)
			if (!done[i] && pool_count(i) >= base[i] + count) {
				done[i] = true;
				left--;
			}
		if (left)
			usleep(10000);
	}
	double ms = left ? NAN : (double)(bench_now_ns() - t0) / 1e6;
	usleep(200000); /* the last announcements */
	uint64_t cpu = relays_cpu() - c0, all = all_cpu(b1) - a0;
	bench_log("burst: all processes used %.2f s of CPU (%.1f cores over %.0f ms): "
	          "transport %.2f, discovery %.2f, relay %.2f, mempool %.2f s",
	          (double)all / 1e6, (double)all / 1e3 / ms, ms, (double)(b1[0] - b0[0]) / 1e6,
	          (double)(b1[1] - b0[1]) / 1e6, (double)(b1[2] - b0[2]) / 1e6,
	          (double)(b1[3] - b0[3]) / 1e6);
	for (int i = 0; i < nn; i++)
		ann1 += relay_stat(i, "inv_ids_out");
	*cpu_tx_node = (double)cpu / ((double)count * nn);
	*cpu_ann = ann1 > ann0 ? (double)cpu / (double)(ann1 - ann0) : NAN;
	return ms;
}

static int parse_sizes(const char *s, int *out)
{
	int n = 0;
	while (*s && n < 8) {
		out[n] = atoi(s);
		if (out[n] < 2 || out[n] > MAXN)
			return -1;
		n++;
		s = strchr(s, ',');
		if (!s)
			break;
		s++;
	}
	return n;
}

int main(int argc, char **argv)
{
	int sizes[8] = {5, 10, 30, 50}, nsizes = 4, txs = 200, flood_txs = 100, burst = 1000;
	double rate = 100;
	const char *build = getenv("CH_BUILD");
	snprintf(bindir, sizeof(bindir), "%s/bin", build && *build ? build : "build");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--sizes") && v)
			nsizes = parse_sizes(argv[++i], sizes);
		else if (!strcmp(a, "--txs") && v)
			txs = atoi(argv[++i]);
		else if (!strcmp(a, "--flood-txs") && v)
			flood_txs = atoi(argv[++i]);
		else if (!strcmp(a, "--burst") && v)
			burst = atoi(argv[++i]);
		else if (!strcmp(a, "--rate") && v)
			rate = atof(argv[++i]);
		else if (!strcmp(a, "--bin") && v)
			snprintf(bindir, sizeof(bindir), "%s", argv[++i]);
		else {
			fprintf(stderr, "usage: relay_bench [--sizes 5,10,30,50] [--txs N] "
			                "[--rate N] [--flood-txs N] [--burst N] [--bin DIR]\n");
			return 64;
		}
	}
	if (nsizes <= 0 || txs <= 0 || txs > MAXTX / 2 || rate <= 0 || burst > 4096) {
		fprintf(stderr, "relay_bench: bad arguments\n");
		return 64;
	}
	bench_init();
	ch_crypto_init();
	const char *t = bench_tmp_path("nets");
	if (!t || mkdir(t, 0700) != 0) {
		fprintf(stderr, "relay_bench: no temp dir\n");
		return 1;
	}
	snprintf(root, sizeof(root), "%s", t);
	atexit(at_exit);
	port_base = 21000 + (int)(getpid() % 100) * 64;
	zctx = zmq_ctx_new();
	for (int s = 0; s < nsizes; s++) {
		int n = sizes[s];
		char cas[64];
		uint64_t t0 = bench_now_ns();
		if (start_net(n, 1000u + (unsigned)n) != 0) {
			bench_log("network of %d did not form", n);
			stop_all();
			return 1;
		}
		void *sub = zmq_socket(zctx, ZMQ_SUB);
		int hwm = 0;
		zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
		zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "event.mempool.accepted", 22);
		for (int i = 0; i < n; i++) {
			char ep[PATH_MAX + 64];
			ch_ctl_endpoint(nodes[i].dir, "mempool", "pub", ep, sizeof(ep));
			zmq_connect(sub, ep);
		}
		usleep(500000);
		uint64_t pss = 0;
		for (int i = 0; i < n; i++) {
			pss += pss_kib(nodes[i].pid);
			static const char *const svcs[] = {"transport", "discovery", "relay",
			                                   "mempool"};
			for (int k = 0; k < 4; k++)
				pss += pss_kib(svc_pid(i, svcs[k]));
		}
		bench_log("%d nodes up in %.1f s; load %.2f", n,
		          (double)(bench_now_ns() - t0) / 1e9, bench_loadavg());
		/* the paced rate keeps a 2-core machine below saturation as the
		 * network grows (every node does the work of every transaction) */
		double r = rate * 10 / n < rate ? rate * 10 / n : rate;
		if (r < 10)
			r = 10;
		bench_log("%d nodes: %d transactions at %.0f/s", n, txs, r);
		run_t ours, fl;
		if (run_paced(sub, txs, r, &ours) != 0) {
			stop_all();
			return 1;
		}
		set_flood(true);
		int frc = run_paced(sub, flood_txs, r, &fl);
		set_flood(false);
		if (frc != 0) {
			stop_all();
			return 1;
		}
		bench_log("%d nodes: %d/%d complete, p50 %.2f ms p99 %.2f ms, %.0f B/tx/node, "
		          "%.1f us CPU/tx/node, %.2f us/announcement, copies %.3f; flood: "
		          "%d/%d p50 %.2f p99 %.2f, %.0f B/tx/node, copies %.3f",
		          n, ours.complete, txs, ours.p50_ms, ours.p99_ms, ours.bytes_per_tx_node,
		          ours.cpu_us_per_tx_node, ours.cpu_us_per_ann, ours.copies, fl.complete,
		          flood_txs, fl.p50_ms, fl.p99_ms, fl.bytes_per_tx_node, fl.copies);
		snprintf(cas, sizeof(cas), "%dnodes_p50", n);
		bench_emit("relay", cas, ours.complete == txs ? ours.p50_ms : NAN, "ms", "flood",
		           fl.complete == flood_txs ? fl.p50_ms : NAN, BENCH_LOWER_IS_BETTER);
		snprintf(cas, sizeof(cas), "%dnodes_p99", n);
		bench_emit("relay", cas, ours.complete == txs ? ours.p99_ms : NAN, "ms", "flood",
		           fl.complete == flood_txs ? fl.p99_ms : NAN, BENCH_LOWER_IS_BETTER);
		snprintf(cas, sizeof(cas), "%dnodes_bytes_per_tx_node", n);
		bench_emit("relay", cas, ours.bytes_per_tx_node, "B", "flood", fl.bytes_per_tx_node,
		           BENCH_LOWER_IS_BETTER);
		snprintf(cas, sizeof(cas), "%dnodes_copies_per_tx_node", n);
		bench_emit("relay", cas, ours.copies, "copies", "flood", fl.copies,
		           BENCH_LOWER_IS_BETTER);
		snprintf(cas, sizeof(cas), "%dnodes_cpu_per_tx_node", n);
		bench_emit("relay", cas, ours.cpu_us_per_tx_node, "us", "flood",
		           fl.cpu_us_per_tx_node, BENCH_LOWER_IS_BETTER);
		snprintf(cas, sizeof(cas), "%dnodes_cpu_per_announcement", n);
		bench_emit("relay", cas, ours.cpu_us_per_ann, "us", NULL, NAN,
		           BENCH_LOWER_IS_BETTER);
		snprintf(cas, sizeof(cas), "%dnodes_pss_per_node", n);
		bench_emit("relay", cas, (double)pss / 1024.0 / n, "MiB", NULL, NAN,
		           BENCH_LOWER_IS_BETTER);
		if (n == 30 && burst > 0) {
			double ctx, cann, ms = run_burst(burst, &ctx, &cann);
			bench_log("burst of %d at 30 nodes: %.1f ms, %.1f us CPU/tx/node, %.2f "
			          "us/announcement",
			          burst, ms, ctx, cann);
			snprintf(cas, sizeof(cas), "30nodes_burst%d", burst);
			bench_emit("relay", cas, ms, "ms", NULL, NAN, BENCH_LOWER_IS_BETTER);
			snprintf(cas, sizeof(cas), "30nodes_burst_cpu_per_tx_node");
			bench_emit("relay", cas, ctx, "us", NULL, NAN, BENCH_LOWER_IS_BETTER);
			snprintf(cas, sizeof(cas), "30nodes_burst_cpu_per_announcement");
			bench_emit("relay", cas, cann, "us", NULL, NAN, BENCH_LOWER_IS_BETTER);
		}
		zmq_close(sub);
		stop_all();
	}
	zmq_ctx_term(zctx);
	return 0;
}
