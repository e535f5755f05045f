/* mempool_bench.c: the mempool's figures (DESIGN.md section 8).
 *
 *  1. Pool operations (insert, remove by id, pop best, evict worst) in
 *     ns/op at 10k, 100k and 1M pooled transactions, each op measured over
 *     K = min(n/10, 50000) operations around size n, in thread CPU time.
 *     insert is the whole admission but the signature (duplicate, recent
 *     rejects, fee floor, replacement, sender limit, room, copy, indexes).  Baseline in the same
 *     run: push and pop on a bare binary heap of 64-bit keys of the same
 *     size (what the go-p2p seed's container/heap does, 166-184 ns/op as
 *     published there).
 *  2. Admission with signature checking, tx/s: decode + policy + verify +
 *     insert; the same through the core with the journal written once per
 *     64 (the ring batch); and with an fdatasync per batch (the cost of
 *     power-failure durability).  Baseline: libsodium's bare ed25519
 *     verification of the same transactions, in the same run.
 *  3. Submission through the ZeroMQ API from this (client) process to a
 *     real node: one transaction per request (tx/s, p50, p99) and 100 per
 *     request.  Baseline: "ping" round trips on the same socket.
 *
 * --quick shrinks every size (for a smoke run).  Benchmarks only report. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <sodium.h>
#include <zmq.h>

#include "bench.h"
#include "ctl.h"
#include "err.h"
#include "hash.h"
#include "mp.h"
#include "services/mempool/core.h"
#include "services/mempool/pool.h"

static char tmpdir[256];
static pid_t node_pid = -1;

/* rm_entry: nftw callback removing one path. */
static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* cleanup: stops the node (SIGTERM, then SIGKILL) and removes the temp dir. */
static void cleanup(void)
{
	if (node_pid > 0) {
		kill(node_pid, SIGTERM);
		for (int i = 0; i < 300 && waitpid(node_pid, NULL, WNOHANG) != node_pid; i++)
			usleep(10000);
		kill(node_pid, SIGKILL);
		waitpid(node_pid, NULL, 0);
		node_pid = -1;
	}
	if (tmpdir[0])
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = 0;
}

static uint64_t rng_state = 12345;

/* rng: splitmix64, seeded, for reproducible inputs. */
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---------------------------------------------------------------- 1. pool */

static uint8_t zeros[MP_TX_MAX_SIZE];

/* fake: an unsigned transaction number i (ids are hashes of i). */
static void fake(mp_tx_t *t, uint64_t i)
{
	memset(t, 0, sizeof(*t));
	ch_blake2b256(t->id, &i, sizeof(i));
	memcpy(t->from.b, &i, sizeof(i));
	t->nonce = i;
	t->size = 132 + (uint32_t)(rng() % 270);
	t->fee = (uint64_t)t->size * (1 + rng() % 1000) + rng() % 1000;
	t->enc = zeros;
}

/* cpu_now_ns: this thread's CPU time.  The pool figures use it so that a
 * busy machine (time slices lost to other processes) does not inflate
 * them; the admission and API figures are wall-clock rates. */
static uint64_t cpu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * BENCH_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* heap_*: the bare binary heap baseline (max-heap of u64). */
static void heap_push(uint64_t *h, size_t *n, uint64_t v)
{
	size_t i = (*n)++;
	while (i > 0 && h[(i - 1) / 2] < v) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n)
{
	uint64_t top = h[0], v = h[--(*n)];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && h[c + 1] > h[c])
			c++;
		if (h[c] <= v)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = v;
	return top;
}

/* bench_pool: the four pool operations around size n, and the bare heap baseline. */
static void bench_pool(size_t n)
{
	size_t k = n / 10 < 50000 ? n / 10 : 50000;
	mp_pool_cfg_t cfg;
	mp_pool_cfg_default(&cfg);
	cfg.max_count = (uint32_t)n;
	cfg.max_bytes = (uint64_t)n * 1024;
	cfg.per_sender_max = 1u << 30;
	cfg.seed = 1;
	mp_pool_t *p = mp_pool_new(&cfg);
	mp_tx_t *tx = malloc((n + k) * sizeof(*tx));
	if (!p || !tx) {
		bench_log("pool %zu: out of memory", n);
		exit(1);
	}
	for (size_t i = 0; i < n + k; i++)
		fake(&tx[i], i);
	mp_verdict_t v;
	for (size_t i = 0; i < n - k; i++)
		mp_pool_admit(p, &tx[i], 0, 0, false, &v);
	/* insert: n - k -> n */
	uint64_t t0 = cpu_now_ns();
	for (size_t i = n - k; i < n; i++)
		mp_pool_admit(p, &tx[i], 0, 0, false, &v);
	double ins = (double)(cpu_now_ns() - t0) / (double)k;
	/* remove by id: k random pooled ids */
	size_t *pick = malloc(k * sizeof(*pick));
	for (size_t i = 0; i < k; i++)
		pick[i] = (size_t)(rng() % n);
	t0 = cpu_now_ns();
	for (size_t i = 0; i < k; i++)
		mp_pool_remove(p, tx[pick[i]].id, CH_TXRM_INCLUDED);
	double rem = (double)(cpu_now_ns() - t0) / (double)k;
	for (size_t i = 0; i < k; i++)
		mp_pool_restore(p, &tx[pick[i]], 0, 0);
	free(pick);
	/* pop best */
	t0 = cpu_now_ns();
	for (size_t i = 0; i < k; i++)
		mp_pool_pop_best(p);
	double pop = (double)(cpu_now_ns() - t0) / (double)k;
	for (size_t i = n; i < n + k; i++)
		mp_pool_restore(p, &tx[i], 0, 0);
	/* evict worst */
	t0 = cpu_now_ns();
	for (size_t i = 0; i < k; i++)
		mp_pool_evict_worst(p, 0);
	double ev = (double)(cpu_now_ns() - t0) / (double)k;
	mp_pool_destroy(&p);
	free(tx);

	/* baseline: a bare heap of n keys, push k then pop k */
	uint64_t *h = malloc((n + k) * sizeof(*h));
	size_t hn = 0;
	for (size_t i = 0; i < n - k; i++)
		heap_push(h, &hn, rng());
	t0 = cpu_now_ns();
	for (size_t i = 0; i < k; i++)
		heap_push(h, &hn, rng());
	double hpush = (double)(cpu_now_ns() - t0) / (double)k;
	t0 = cpu_now_ns();
	uint64_t sink = 0;
	for (size_t i = 0; i < k; i++)
		sink += heap_pop(h, &hn);
	double hpop = (double)(cpu_now_ns() - t0) / (double)k;
	free(h);
	if (sink == 42)
		bench_log("(sink)");

	char cas[64];
	const char *sz = n >= 1000000 ? "1m" : n >= 100000 ? "100k" : n >= 10000 ? "10k" : "small";
	snprintf(cas, sizeof(cas), "insert_%s", sz);
	bench_emit("mempool_pool", cas, ins, "ns", "bare_heap_push", hpush, BENCH_LOWER_IS_BETTER);
	snprintf(cas, sizeof(cas), "remove_by_id_%s", sz);
	bench_emit("mempool_pool", cas, rem, "ns", "bare_heap_pop", hpop, BENCH_LOWER_IS_BETTER);
	snprintf(cas, sizeof(cas), "pop_best_%s", sz);
	bench_emit("mempool_pool", cas, pop, "ns", "bare_heap_pop", hpop, BENCH_LOWER_IS_BETTER);
	snprintf(cas, sizeof(cas), "evict_worst_%s", sz);
	bench_emit("mempool_pool", cas, ev, "ns", "bare_heap_pop", hpop, BENCH_LOWER_IS_BETTER);
}

/* ---------------------------------------------------------------- 2. admission */

typedef struct {
	uint8_t *enc; /* n encodings, MP_TX_MAX_SIZE apart would waste: 256 each */
	size_t *len;
	size_t n;
} signed_t;

/* make_signed: n real transactions from n/50 keys. */
static void make_signed(signed_t *s, size_t n)
{
	s->enc = malloc(n * 256);
	s->len = malloc(n * sizeof(size_t));
	s->n = n;
	ch_seckey_t sk;
	ch_pubkey_t pk;
	uint8_t data[48];
	for (size_t i = 0; i < n; i++) {
		if (i % 50 == 0)
			ch_ed25519_keypair(&pk, &sk);
		randombytes_buf(data, sizeof(data));
		mp_tx_encode(s->enc + i * 256, 256, &sk, i, 100000 + i, data, sizeof(data),
		             &s->len[i], NULL);
	}
	ch_seckey_wipe(&sk);
}

/* rate: operations per second. */
static double rate(size_t n, uint64_t ns)
{
	return ns ? (double)n * 1e9 / (double)ns : 0;
}

/* bench_admission: best of 3 runs of each admission path over the same transactions. */
static void bench_admission(size_t n)
{
	signed_t s;
	make_signed(&s, n);
	double bare[3], pool[3], jr[3], sync[3];
	for (int r = 0; r < 3; r++) {
		/* bare libsodium verification of the same (sig, id, key) */
		mp_tx_t *t = malloc(n * sizeof(*t));
		for (size_t i = 0; i < n; i++)
			mp_tx_decode(s.enc + i * 256, s.len[i], &t[i], NULL, 0);
		uint64_t t0 = bench_now_ns();
		int bad = 0;
		for (size_t i = 0; i < n; i++)
			bad +=
			    crypto_sign_verify_detached(t[i].sig.b, t[i].id, 32, t[i].from.b) != 0;
		bare[r] = rate(n, bench_now_ns() - t0);
		free(t);
		if (bad)
			bench_log("%d bad signatures", bad);

		/* pool admission: decode + policy + verify + insert */
		mp_pool_cfg_t cfg;
		mp_pool_cfg_default(&cfg);
		cfg.max_count = (uint32_t)n;
		mp_pool_t *p = mp_pool_new(&cfg);
		mp_verdict_t v;
		t0 = bench_now_ns();
		for (size_t i = 0; i < n; i++) {
			mp_tx_t tx;
			if (mp_tx_decode(s.enc + i * 256, s.len[i], &tx, NULL, 0) == 0)
				mp_pool_admit(p, &tx, 1, 0, true, &v);
		}
		pool[r] = rate(n, bench_now_ns() - t0);
		mp_pool_destroy(&p);

		/* the core: + journal, one write per 64; then + fdatasync */
		for (int with_sync = 0; with_sync < 2; with_sync++) {
			mp_core_cfg_t cc;
			memset(&cc, 0, sizeof(cc));
			mp_pool_cfg_default(&cc.pool);
			cc.pool.max_count = (uint32_t)n;
			snprintf(cc.journal_path, sizeof(cc.journal_path), "%s/bench.journal",
			         tmpdir);
			unlink(cc.journal_path);
			mp_core_t *c;
			char err[256];
			if (mp_core_open(&cc, 1, &c, err, sizeof(err)) != 0) {
				bench_log("core: %s", err);
				exit(1);
			}
			uint8_t id[32];
			t0 = bench_now_ns();
			for (size_t i = 0; i < n; i++) {
				mp_core_submit(c, s.enc + i * 256, s.len[i], 0, 1, &v, id);
				if (i % 64 == 63 || i == n - 1) {
					mp_core_commit(c);
					if (with_sync)
						mp_core_sync(c);
				}
			}
			(with_sync ? sync : jr)[r] = rate(n, bench_now_ns() - t0);
			mp_core_close(&c);
			unlink(cc.journal_path);
		}
	}
	double b = bench_best(bare, 3);
	bench_emit("mempool_admit", "bare_ed25519_verify", b, "tx/s", NULL, NAN,
	           BENCH_HIGHER_IS_BETTER);
	bench_emit("mempool_admit", "pool_admission", bench_best(pool, 3), "tx/s", "bare_verify", b,
	           BENCH_HIGHER_IS_BETTER);
	bench_emit("mempool_admit", "admission_journaled", bench_best(jr, 3), "tx/s", "bare_verify",
	           b, BENCH_HIGHER_IS_BETTER);
	bench_emit("mempool_admit", "admission_fdatasync_per_64", bench_best(sync, 3), "tx/s",
	           "bare_verify", b, BENCH_HIGHER_IS_BETTER);
	free(s.enc);
	free(s.len);
}

/* ---------------------------------------------------------------- 3. API */

/* call: one request/reply on a REQ socket; returns reply bytes or -1. */
static int call(void *sock, const void *req, size_t len, char *buf, size_t cap)
{
	if (zmq_send(sock, req, len, 0) < 0)
		return -1;
	return zmq_recv(sock, buf, cap, 0);
}

/* bench_api: a real node, one client socket, single and batched submissions. */
static int bench_api(const char *bindir, size_t n)
{
	char datadir[512], chorusd[512], log[600], ep[CH_CTL_ENDPOINT_MAX];
	snprintf(datadir, sizeof(datadir), "%s/node", tmpdir);
	snprintf(chorusd, sizeof(chorusd), "%s/chorusd", bindir);
	snprintf(log, sizeof(log), "%s/chorus.log", datadir);
	char listen[64];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", 35000 + getpid() % 5000);
	mkdir(datadir, 0700);
	node_pid = fork();
	if (node_pid == 0) {
		execl(chorusd, "chorusd", "--datadir", datadir, "--foreground", "--listen", listen,
		      "--log-file", log, (char *)NULL);
		_exit(127);
	}
	void *zctx = zmq_ctx_new();
	if (ch_ctl_endpoint(datadir, "mempool", "cmd", ep, sizeof(ep)) != 0)
		return -1;
	ch_mpr_t r;
	ch_mpr_init(&r, 0);
	uint64_t start = bench_now_ns();
	while (ch_ctl_simple(zctx, ep, "ping", &r, 200) != 0) {
		if (bench_now_ns() - start > 20 * BENCH_NS_PER_S) {
			bench_log("api: the node did not start");
			return -1;
		}
	}
	ch_mpr_free(&r);
	signed_t s;
	make_signed(&s, n + 100 * 20);
	void *sock = zmq_socket(zctx, ZMQ_REQ);
	int linger = 0;
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_connect(sock, ep);
	static char buf[1 << 20];
	ch_mpw_t w;
	ch_mpw_init(&w);
	/* baseline: ping round trips */
	ch_mpw_map(&w, 1);
	ch_mpw_kv_str(&w, "cmd", "ping");
	uint64_t t0 = bench_now_ns();
	for (int i = 0; i < 2000; i++)
		if (call(sock, ch_mpw_data(&w), ch_mpw_size(&w), buf, sizeof(buf)) < 0)
			return -1;
	double ping = rate(2000, bench_now_ns() - t0);
	/* one transaction per request */
	uint64_t *lat = malloc(n * sizeof(*lat));
	size_t acc = 0;
	t0 = bench_now_ns();
	for (size_t i = 0; i < n; i++) {
		ch_mpw_reset(&w);
		ch_mpw_map(&w, 2);
		ch_mpw_kv_str(&w, "cmd", "submit");
		ch_mpw_kv_bin(&w, "tx", s.enc + i * 256, s.len[i]);
		uint64_t a = bench_now_ns();
		int got = call(sock, ch_mpw_data(&w), ch_mpw_size(&w), buf, sizeof(buf));
		lat[i] = bench_now_ns() - a;
		if (got < 0)
			return -1;
		acc += memmem(buf, (size_t)got,
		              "\xa8"
		              "accepted\xc3",
		              10) != NULL;
	}
	double one = rate(n, bench_now_ns() - t0);
	qsort(lat, n, sizeof(*lat), bench_cmp_u64);
	double p50 = (double)bench_percentile(lat, n, 0.5) / 1e3;
	double p99 = (double)bench_percentile(lat, n, 0.99) / 1e3;
	free(lat);
	/* 100 per request, 20 requests */
	t0 = bench_now_ns();
	for (size_t b = 0; b < 20; b++) {
		ch_mpw_reset(&w);
		ch_mpw_map(&w, 2);
		ch_mpw_kv_str(&w, "cmd", "submit");
		ch_mpw_key(&w, "txs");
		ch_mpw_array(&w, 100);
		for (size_t i = 0; i < 100; i++) {
			size_t x = n + b * 100 + i;
			msgpack_pack_bin(&w.pk, s.len[x]);
			msgpack_pack_bin_body(&w.pk, s.enc + x * 256, s.len[x]);
		}
		if (call(sock, ch_mpw_data(&w), ch_mpw_size(&w), buf, sizeof(buf)) < 0)
			return -1;
	}
	double batched = rate(2000, bench_now_ns() - t0);
	bench_log("api: %zu of %zu single submissions accepted", acc, n);
	ch_mpw_free(&w);
	zmq_close(sock);
	zmq_ctx_term(zctx);
	free(s.enc);
	free(s.len);
	bench_emit("mempool_api", "submit_one_per_request", one, "tx/s", "ping_round_trip", ping,
	           BENCH_HIGHER_IS_BETTER);
	bench_emit("mempool_api", "submit_latency_p50", p50, "us", "ping_round_trip", 1e6 / ping,
	           BENCH_LOWER_IS_BETTER);
	bench_emit("mempool_api", "submit_latency_p99", p99, "us", "ping_round_trip", 1e6 / ping,
	           BENCH_LOWER_IS_BETTER);
	bench_emit("mempool_api", "submit_100_per_request", batched, "tx/s", NULL, NAN,
	           BENCH_HIGHER_IS_BETTER);
	return 0;
}

/* main: runs every case in order. */
int main(int argc, char **argv)
{
	bench_init();
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	const char *bindir = "build/bin";
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--quick") != 0)
			bindir = argv[i];
	if (ch_crypto_init() != 0)
		return 1;
	snprintf(tmpdir, sizeof(tmpdir), "%s/chorus-mpbench-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) {
		tmpdir[0] = 0;
		return 1;
	}
	atexit(cleanup);
	bench_log("mempool bench: load %.2f", bench_loadavg());
	size_t sizes[] = {10000, 100000, 1000000};
	for (int i = 0; i < 3; i++) {
		size_t n = quick ? sizes[i] / 100 : sizes[i];
		uint64_t t0 = bench_now_ns();
		bench_pool(n);
		bench_log("pool at %zu: %.1f s", n, (double)(bench_now_ns() - t0) / 1e9);
	}
	bench_admission(quick ? 500 : 6000);
	if (bench_api(bindir, quick ? 300 : 3000) != 0) {
		bench_log("api bench failed");
		return 1;
	}
	return 0;
}
