/* transport_bench.c: the transport benchmarks of issue 4 (docs/benchmarks.md,
 * section "Transport").
 *
 * Two real nodes on loopback, with the bench taking relay's place at the
 * rings on both sides: the bench makes a temp folder with copies of
 * BUILD/bin/chorusd, chorus-transport, chorus-discovery and chorus-mempool,
 * and of itself as `chorus-relay`; run under that name it is the relay
 * service of transport_relay.h.  Node A listens, node B has --seed A; the
 * bench drives both relays over their command sockets (ch_ctl_call).
 *
 * Measured, in one run:
 *  1. streaming A -> B at 64 B, 1 KiB, 16 KiB (WIRE_TX messages), for
 *     --secs or a count: MiB/s and msgs/s from A's first send to B's last
 *     arrival (every message must arrive, in order), two ways:
 *       stream_*         relay A writes SEND records as fast as its ring
 *                        takes them (the definition);
 *       stream_window_*  at most --window payload bytes (default 192 KiB)
 *                        sent and not yet acknowledged by relay B (an ack
 *                        every window / 4 bytes), i.e. flow control done by
 *                        the application because transport has none yet.
 *     Baseline: a plain TCP connection between two processes (fork), the
 *     same messages with a 4-byte length prefix, written 256 KiB at a time.
 *  2. one in flight (commonware-p2p's mode): A sends one message, B's relay
 *     echoes it, A sends the next when the echo is back; time per message.
 *     Baseline: a plain TCP ping-pong of the same messages.  Three rounds
 *     of (baseline, transport), best of each.
 *  Both with transport's --io-threads 1 and 2 (cases end in _io1, _io2);
 *  a case that fails (a lost peer, a missing message) is reported as null,
 *  the reason is on stderr and the program exits 1 at the end.
 *  3. memory: the PSS (smaps_rollup) of a whole node (chorusd and its four
 *     services, pids from DATADIR/run/NAME.pid; this node runs the real
 *     chorus-relay) with 0, 10 and 100 connected peers (`evil_peer hold`
 *     from 127.2.0.1 .. 127.11.0.1, ten per address), and the cost per peer.
 *
 * Options: --bin DIR (programs to copy, default BUILD/bin where BUILD is
 * three levels above this program), --evil PATH (default
 * BUILD/tests/tools/evil_peer), --threads 1,2, --secs S (per case, default
 * 1), --window BYTES, --size 64|1024|16384 (one size only), --spin-us N
 * (--ring-spin-us of nodes A and B), --quick (0.3 s, --threads 1),
 * --no-stream, --no-ping, --no-mem, --keep (keep the temp folder and print
 * it).
 *
 * Every process started here is killed and every file removed at exit, on
 * failure and on SIGINT/SIGTERM/SIGHUP; chorusd removes its shared memory on
 * SIGTERM (and the bench unlinks it if chorusd had to be killed). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "bench.h"
#include "ctl.h"
#include "err.h"
#include "mp.h"
#include "transport_relay.h"

#define NSIZES        3
#define MAX_THREADS   4
#define MAX_KIDS      64
#define STREAM_BYTES  (2ULL << 30) /* count bound of a stream case */
#define STREAM_MAX    10000000ULL
#define PING_MAX      200000ULL
#define PING_ROUNDS   3 /* one-in-flight: rounds of (baseline, transport) */
#define TCP_CHUNK     (256 * 1024)
#define MEM_GROUPS    10 /* evil_peer processes, one source address each */
#define MEM_PER_GROUP 10
#define LIBP2P_PEER_B 50e6 /* libp2p marketplace guide: ~50 MB per peer */
#define MIB           (1024.0 * 1024.0)
/* Windowed stream: at most WINDOW payload bytes unacknowledged; the
 * receiver acks every window / 4 bytes.  192 KiB keeps the frames in flight
 * under transport's WBUF_HIGH (256 KiB), see docs/benchmarks.md. */
#define WINDOW (192 << 10)

static const uint32_t sizes[NSIZES] = {64, 1024, 16384};
static const char *const size_names[NSIZES] = {"64B", "1KiB", "16KiB"};

typedef struct opts {
	char bin[PATH_MAX];
	char evil[PATH_MAX];
	int threads[MAX_THREADS];
	int nthreads;
	double secs;
	uint64_t window; /* windowed stream, payload bytes */
	bool mem, keep, stream, ping;
	uint32_t only_size;  /* run only this message size (0: all) */
	const char *spin_us; /* --ring-spin-us for nodes A and B (NULL: default) */
} opts_t;

typedef struct node {
	char name[8];
	char dir[PATH_MAX]; /* datadir */
	char log[PATH_MAX];
	char shm[256]; /* segment name from run/chorusd.shm */
	pid_t pid;
	uint16_t port;
} node_t;

/* What one relay reports (bstat). */
typedef struct rstat {
	uint64_t peer, npeers, mode, sent, send_first_ns, send_last_ns;
	uint64_t pp_done, pp_start_ns, pp_end_ns;
	uint64_t rx_msgs, rx_bytes, rx_first_ns, rx_last_ns, rx_bad, echoed, ring_full, peer_downs;
} rstat_t;

/* ---------------------------------------------------------------- cleanup */

static volatile sig_atomic_t g_sig;
static pid_t g_kids[MAX_KIDS];
static bool g_kid_node[MAX_KIDS];
static char g_tmp[PATH_MAX];
static bool g_keep;

/* kid_add: remembers a child so that a signal or exit kills it. */
static void kid_add(pid_t pid, bool is_node)
{
	for (int i = 0; i < MAX_KIDS; i++)
		if (g_kids[i] <= 0) {
			g_kid_node[i] = is_node;
			g_kids[i] = pid;
			return;
		}
}

/* kid_del: forgets a child that was reaped. */
static void kid_del(pid_t pid)
{
	for (int i = 0; i < MAX_KIDS; i++)
		if (g_kids[i] == pid)
			g_kids[i] = 0;
}

/* on_signal: kills the children (nodes get SIGTERM so that chorusd cleans
 * up its segment); the main flow sees g_sig, cleans up and re-raises. */
static void on_signal(int sig)
{
	g_sig = sig;
	for (int i = 0; i < MAX_KIDS; i++)
		if (g_kids[i] > 0)
			kill(g_kids[i], g_kid_node[i] ? SIGTERM : SIGKILL);
}

/* reap_wait: waits up to ms for pid; true if it was reaped. */
static bool reap_wait(pid_t pid, int ms)
{
	for (int i = 0; i <= ms; i++) {
		pid_t p = waitpid(pid, NULL, WNOHANG);
		if (p == pid || (p < 0 && errno == ECHILD))
			return true;
		usleep(1000);
	}
	return false;
}

/* kill_kid: SIGKILL and reap one child. */
static void kill_kid(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
	}
	kid_del(pid);
}

/* rm_entry: nftw callback removing one entry. */
static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* cleanup: every child stopped (nodes with SIGTERM first), the temp
 * folder removed. */
static void cleanup(void)
{
	for (int i = 0; i < MAX_KIDS; i++)
		if (g_kids[i] > 0 && g_kid_node[i]) {
			kill(g_kids[i], SIGTERM);
			if (reap_wait(g_kids[i], 8000))
				g_kids[i] = 0;
		}
	for (int i = 0; i < MAX_KIDS; i++)
		if (g_kids[i] > 0)
			kill_kid(g_kids[i]);
	if (g_tmp[0] && !g_keep)
		nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else if (g_tmp[0])
		bench_log("kept %s", g_tmp);
	g_tmp[0] = 0;
}

/* nap: sleeps ms; false if a signal asked us to stop. */
static bool nap(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
	return !g_sig;
}

/* ---------------------------------------------------------------- files */

/* copy_file: src to dst, mode 0755. */
static int copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		close(in);
		return -1;
	}
	char buf[65536];
	ssize_t n;
	int rc = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = -1;
			break;
		}
	if (n < 0)
		rc = -1;
	close(in);
	if (close(out) != 0)
		rc = -1;
	return rc;
}

/* make_bindir: dir with chorusd and services copied from opts->bin; relay
 * is `relay` (a path) copied as chorus-relay. */
static int make_bindir(const char *dir, const char *bin, const char *relay)
{
	static const char *const progs[] = {"chorusd", "chorus-transport", "chorus-discovery",
	                                    "chorus-mempool"};
	if (mkdir(dir, 0700) != 0)
		return -1;
	char src[PATH_MAX + 32], dst[PATH_MAX + 32];
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		snprintf(src, sizeof(src), "%s/%s", bin, progs[i]);
		snprintf(dst, sizeof(dst), "%s/%s", dir, progs[i]);
		if (copy_file(src, dst) != 0) {
			fprintf(stderr, "transport_bench: cannot copy %s: %s\n", src,
			        strerror(errno));
			return -1;
		}
	}
	snprintf(dst, sizeof(dst), "%s/chorus-relay", dir);
	if (copy_file(relay, dst) != 0) {
		fprintf(stderr, "transport_bench: cannot copy %s: %s\n", relay, strerror(errno));
		return -1;
	}
	return 0;
}

/* read_int_file: the first integer of a file, 0 if none. */
static long read_int_file(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = 0;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* pss_kib: the "Pss:" of one process from /proc/PID/smaps_rollup, in KiB;
 * -1 if it cannot be read. */
static long pss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "r");
	long kib = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pss: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* node_pss_mib: the PSS of every process with a pid file in DATADIR/run
 * (chorusd and its services), in MiB; NAN unless all five were read. */
static double node_pss_mib(const node_t *n)
{
	char run[PATH_MAX + 8], path[PATH_MAX + 300];
	snprintf(run, sizeof(run), "%s/run", n->dir);
	DIR *d = opendir(run);
	if (!d)
		return NAN;
	long total = 0;
	int procs = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".pid") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", run, e->d_name);
		long pid = read_int_file(path);
		long kib = pid > 0 ? pss_kib((pid_t)pid) : -1;
		if (kib < 0)
			continue;
		total += kib;
		procs++;
	}
	closedir(d);
	if (procs != 5) {
		bench_log("%s: PSS of %d processes, not 5", n->name, procs);
		return NAN;
	}
	return (double)total / 1024.0;
}

/* free_port: a TCP port on 127.0.0.1 that nobody listens on right now. */
static uint16_t free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	uint16_t port = 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* ---------------------------------------------------------------- control */

/* call: one request to ep; on success *res is the reply's result (valid
 * until r is parsed again or freed). */
static int call(void *z, const char *ep, const ch_mpw_t *req, ch_mpr_t *r,
                const msgpack_object **res, int timeout_ms)
{
	ch_ctl_reply_t rep;
	int rc = ch_ctl_call(z, ep, ch_mpw_data(req), ch_mpw_size(req), r, timeout_ms);
	if (rc == 0)
		rc = ch_ctl_reply_get(r, &rep);
	if (rc == 0 && !rep.ok) {
		bench_log("%s: %s", ep, rep.message);
		rc = rep.code ? rep.code : CH_EPROTO;
	}
	if (rc == 0 && !rep.result)
		rc = CH_EPROTO;
	if (rc == 0)
		*res = rep.result;
	return rc;
}

/* endpoint: the command socket of service svc of node n. */
static void endpoint(const node_t *n, const char *svc, char *ep, size_t cap)
{
	if (ch_ctl_endpoint(n->dir, svc, "cmd", ep, cap) != 0)
		ep[0] = 0;
}

/* simple_call: {"cmd": cmd} to service svc of n. */
static int simple_call(void *z, const node_t *n, const char *svc, const char *cmd, ch_mpr_t *r,
                       const msgpack_object **res)
{
	char ep[CH_CTL_ENDPOINT_MAX];
	endpoint(n, svc, ep, sizeof(ep));
	ch_mpw_t w;
	ch_mpw_init(&w);
	ch_mpw_map(&w, 1);
	ch_mpw_kv_str(&w, "cmd", cmd);
	int rc = call(z, ep, &w, r, res, 2000);
	ch_mpw_free(&w);
	return rc;
}

/* relay_stat: bstat of n's relay. */
static int relay_stat(void *z, const node_t *n, rstat_t *s)
{
	ch_mpr_t r;
	ch_mpr_init(&r, 0);
	const msgpack_object *m;
	int rc = simple_call(z, n, "relay", "bstat", &r, &m);
	if (rc == 0) {
		struct {
			const char *k;
			uint64_t *v;
		} f[] = {{"peer", &s->peer},
		         {"npeers", &s->npeers},
		         {"mode", &s->mode},
		         {"sent", &s->sent},
		         {"send_first_ns", &s->send_first_ns},
		         {"send_last_ns", &s->send_last_ns},
		         {"pp_done", &s->pp_done},
		         {"pp_start_ns", &s->pp_start_ns},
		         {"pp_end_ns", &s->pp_end_ns},
		         {"rx_msgs", &s->rx_msgs},
		         {"rx_bytes", &s->rx_bytes},
		         {"rx_first_ns", &s->rx_first_ns},
		         {"rx_last_ns", &s->rx_last_ns},
		         {"rx_bad", &s->rx_bad},
		         {"echoed", &s->echoed},
		         {"ring_full", &s->ring_full},
		         {"peer_downs", &s->peer_downs}};
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]) && rc == 0; i++)
			rc = ch_mp_get_u64(m, f[i].k, f[i].v);
	}
	ch_mpr_free(&r);
	return rc;
}

/* relay_start: bstart on n's relay. */
static int relay_start(void *z, const node_t *n, const char *kind, uint32_t size, uint64_t count,
                       uint64_t ms, uint64_t window, uint64_t ack)
{
	char ep[CH_CTL_ENDPOINT_MAX];
	endpoint(n, "relay", ep, sizeof(ep));
	ch_mpw_t w;
	ch_mpw_init(&w);
	ch_mpw_map(&w, 7);
	ch_mpw_kv_u64(&w, "window", window);
	ch_mpw_kv_u64(&w, "ack", ack);
	ch_mpw_kv_str(&w, "cmd", "bstart");
	ch_mpw_kv_str(&w, "kind", kind);
	ch_mpw_kv_u64(&w, "size", size);
	ch_mpw_kv_u64(&w, "count", count);
	ch_mpw_kv_u64(&w, "ms", ms);
	ch_mpr_t r;
	ch_mpr_init(&r, 0);
	const msgpack_object *res;
	int rc = call(z, ep, &w, &r, &res, 2000);
	ch_mpr_free(&r);
	ch_mpw_free(&w);
	return rc;
}

/* ---------------------------------------------------------------- nodes */

/* node_start: forks chorusd on n (datadir, port already set) with the
 * programs of bindir and extra arguments. */
static int node_start(node_t *n, const char *bindir, const char *const *extra, int nextra)
{
	char chorusd[PATH_MAX + 16], listen[32], out[PATH_MAX + 8];
	snprintf(chorusd, sizeof(chorusd), "%s/chorusd", bindir);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", n->port);
	snprintf(out, sizeof(out), "%s.out", n->log);
	const char *argv[48];
	int k = 0;
	argv[k++] = "chorusd";
	argv[k++] = "--foreground";
	argv[k++] = "--datadir";
	argv[k++] = n->dir;
	argv[k++] = "--listen";
	argv[k++] = listen;
	argv[k++] = "--log-file";
	argv[k++] = n->log;
	argv[k++] = "--stop-timeout";
	argv[k++] = "3s";
	for (int i = 0; i < nextra && k < 47; i++)
		argv[k++] = extra[i];
	argv[k] = NULL;
	pid_t parent = getpid();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(chorusd, (char *const *)argv);
		_exit(127);
	}
	n->pid = pid;
	kid_add(pid, true);
	return 0;
}

/* node_tail: the end of n's log on stderr, after a failure. */
static void node_tail(const node_t *n)
{
	FILE *f = fopen(n->log, "r");
	if (!f)
		return;
	char line[1024];
	char lines[12][1024];
	int k = 0;
	while (fgets(line, sizeof(line), f))
		snprintf(lines[k++ % 12], sizeof(lines[0]), "%s", line);
	fclose(f);
	fprintf(stderr, "# --- last lines of %s\n", n->log);
	for (int i = k > 12 ? k - 12 : 0; i < k; i++)
		fprintf(stderr, "#   %s", lines[i % 12]);
}

/* node_wait_running: until chorusd says "running" (and keeps its segment
 * name for cleanup); -1 on exit, signal or timeout. */
static int node_wait_running(void *z, node_t *n, int timeout_ms)
{
	uint64_t end = bench_now_ns() + (uint64_t)timeout_ms * BENCH_NS_PER_MS;
	while (bench_now_ns() < end && !g_sig) {
		if (waitpid(n->pid, NULL, WNOHANG) == n->pid) {
			kid_del(n->pid);
			n->pid = -1;
			fprintf(stderr, "transport_bench: node %s exited at start\n", n->name);
			node_tail(n);
			return -1;
		}
		ch_mpr_t r;
		ch_mpr_init(&r, 0);
		const msgpack_object *m;
		char state[32] = "";
		if (simple_call(z, n, "chorusd", "status", &r, &m) == 0)
			ch_mp_get_strz(m, "state", state, sizeof(state));
		ch_mpr_free(&r);
		if (!strcmp(state, "running")) {
			char path[PATH_MAX + 32];
			snprintf(path, sizeof(path), "%s/run/chorusd.shm", n->dir);
			FILE *f = fopen(path, "r");
			if (f) {
				if (!fgets(n->shm, sizeof(n->shm), f))
					n->shm[0] = 0;
				n->shm[strcspn(n->shm, "\r\n")] = 0;
				fclose(f);
			}
			return 0;
		}
		nap(50);
	}
	fprintf(stderr, "transport_bench: node %s not running after %d ms\n", n->name, timeout_ms);
	node_tail(n);
	return -1;
}

/* node_stop: SIGTERM (orderly stop: chorusd removes its segment), SIGKILL
 * after 8 s, then the segment unlinked if it is still there. */
static void node_stop(node_t *n)
{
	if (n->pid <= 0)
		return;
	kill(n->pid, SIGTERM);
	if (!reap_wait(n->pid, 8000)) {
		bench_log("node %s: no exit 8 s after SIGTERM; killing it", n->name);
		kill_kid(n->pid);
	}
	kid_del(n->pid);
	n->pid = -1;
	if (n->shm[0] && shm_unlink(n->shm) == 0)
		bench_log("node %s: removed its leftover segment %s", n->name, n->shm);
}

/* node_init: names and paths of a node under the temp folder. */
static void node_init(node_t *n, const char *name)
{
	memset(n, 0, sizeof(*n));
	n->pid = -1;
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->dir, sizeof(n->dir), "%s/%s", g_tmp, name);
	snprintf(n->log, sizeof(n->log), "%s/%s.log", g_tmp, name);
	n->port = free_port();
}

/* ---------------------------------------------------------------- transport runs */

/* run_stream: one streaming case A -> B, as fast as A's ring takes the
 * messages (window 0) or with at most window unacknowledged bytes.  Returns
 * 0 with MiB/s and msgs/s (from A's first send to B's last arrival), -1 on
 * failure. */
static int run_stream(void *z, const node_t *a, const node_t *b, uint32_t size, double secs,
                      uint64_t window, double *mibs, double *msgs)
{
	*mibs = *msgs = NAN;
	uint64_t count = STREAM_BYTES / size;
	if (count > STREAM_MAX)
		count = STREAM_MAX;
	uint64_t ms = (uint64_t)(secs * 1000);
	const char *how = window ? "windowed" : "ring-paced";
	if (relay_start(z, b, "sink", 0, 0, 0, 0, window / 4) != 0 ||
	    relay_start(z, a, "stream", size, count, ms, window, 0) != 0)
		return -1;
	rstat_t sa = {0}, sb = {0};
	uint64_t end = bench_now_ns() + (ms + 20000) * BENCH_NS_PER_MS;
	do {
		if (!nap(20) || relay_stat(z, a, &sa) != 0)
			return -1;
	} while (sa.mode != BR_IDLE && bench_now_ns() < end);
	if (sa.mode != BR_IDLE) {
		bench_log("stream %u B %s: the sender did not finish", size, how);
		return -1;
	}
	/* then until B has everything, or makes no progress for 3 s */
	uint64_t last = UINT64_MAX, progress = bench_now_ns();
	for (;;) {
		if (relay_stat(z, b, &sb) != 0)
			return -1;
		if (sb.rx_msgs >= sa.sent || sb.peer_downs || sa.peer_downs)
			break;
		if (sb.rx_msgs != last) {
			last = sb.rx_msgs;
			progress = bench_now_ns();
		} else if (bench_now_ns() - progress > 3 * BENCH_NS_PER_S) {
			break;
		}
		if (!nap(20))
			return -1;
	}
	double send_s = (double)(sa.send_last_ns - sa.send_first_ns) / 1e9;
	double total_s = sb.rx_last_ns ? (double)(sb.rx_last_ns - sa.send_first_ns) / 1e9 : NAN;
	bench_log("stream %5u B %s: sent %llu in %.3f s (%.1f MiB/s offered, ring full %llu), "
	          "received %llu (%llu out of order) by %.3f s",
	          size, how, (unsigned long long)sa.sent, send_s,
	          (double)sa.sent * size / MIB / send_s, (unsigned long long)sa.ring_full,
	          (unsigned long long)sb.rx_msgs, (unsigned long long)sb.rx_bad, total_s);
	if (sb.rx_msgs != sa.sent || sb.rx_bad || sa.peer_downs || sb.peer_downs) {
		bench_log("stream %u B %s: FAILED: %llu of %llu arrived, %llu bad, peer down "
		          "%llu/%llu",
		          size, how, (unsigned long long)sb.rx_msgs, (unsigned long long)sa.sent,
		          (unsigned long long)sb.rx_bad, (unsigned long long)sa.peer_downs,
		          (unsigned long long)sb.peer_downs);
		return -1;
	}
	*mibs = (double)sb.rx_bytes / MIB / total_s;
	*msgs = (double)sb.rx_msgs / total_s;
	return 0;
}

/* run_ping: one-in-flight case: A sends, B echoes, A sends the next.
 * Returns 0 with ns per message (round trip), -1 on failure. */
static int run_ping(void *z, const node_t *a, const node_t *b, uint32_t size, double secs,
                    double *ns)
{
	*ns = NAN;
	uint64_t ms = (uint64_t)(secs * 1000);
	if (relay_start(z, b, "echo", 0, 0, 0, 0, 0) != 0 ||
	    relay_start(z, a, "ping", size, PING_MAX, ms, 0, 0) != 0)
		return -1;
	rstat_t sa = {0};
	uint64_t end = bench_now_ns() + (ms + 5000) * BENCH_NS_PER_MS;
	do {
		if (!nap(20) || relay_stat(z, a, &sa) != 0)
			return -1;
	} while (sa.mode != BR_IDLE && bench_now_ns() < end);
	if (sa.mode != BR_IDLE || !sa.pp_done || sa.rx_bad) {
		bench_log("one in flight %u B: FAILED (%llu done, %llu bad, still running: %s)",
		          size, (unsigned long long)sa.pp_done, (unsigned long long)sa.rx_bad,
		          sa.mode != BR_IDLE ? "yes" : "no");
		return -1;
	}
	*ns = (double)(sa.pp_end_ns - sa.pp_start_ns) / (double)sa.pp_done;
	bench_log("one in flight %5u B: %llu round trips, %.1f us each", size,
	          (unsigned long long)sa.pp_done, *ns / 1e3);
	return 0;
}

/* wait_peered: until both relays have a peer. */
static int wait_peered(void *z, const node_t *a, const node_t *b, int timeout_ms, bool loud)
{
	uint64_t end = bench_now_ns() + (uint64_t)timeout_ms * BENCH_NS_PER_MS;
	while (bench_now_ns() < end && !g_sig) {
		rstat_t sa = {0}, sb = {0};
		if (relay_stat(z, a, &sa) == 0 && relay_stat(z, b, &sb) == 0 && sa.peer && sb.peer)
			return 0;
		nap(50);
	}
	if (!loud)
		return -1;
	fprintf(stderr, "transport_bench: the two nodes did not connect in %d ms\n", timeout_ms);
	node_tail(a);
	node_tail(b);
	return -1;
}

/* repeer: if a relay lost its peer (a failed case), asks B's transport to
 * dial A now (instead of after its backoff) and waits for both relays. */
static int repeer(void *z, const node_t *a, const node_t *b)
{
	rstat_t sa = {0}, sb = {0};
	if (relay_stat(z, a, &sa) == 0 && relay_stat(z, b, &sb) == 0 && sa.peer && sb.peer)
		return 0;
	bench_log("reconnecting %s to %s", b->name, a->name);
	char ep[CH_CTL_ENDPOINT_MAX], addr[32];
	endpoint(b, "transport", ep, sizeof(ep));
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", a->port);
	ch_mpw_t w;
	ch_mpw_init(&w);
	ch_mpw_map(&w, 2);
	ch_mpw_kv_str(&w, "cmd", "connect");
	ch_mpw_kv_str(&w, "addr", addr);
	ch_mpr_t r;
	ch_mpr_init(&r, 0);
	const msgpack_object *res;
	int rc = -1;
	for (int i = 0; i < 3 && rc != 0 && !g_sig; i++) {
		call(z, ep, &w, &r, &res, 2000);
		rc = wait_peered(z, a, b, 3000, i == 2);
	}
	ch_mpr_free(&r);
	ch_mpw_free(&w);
	return rc;
}

/* ---------------------------------------------------------------- plain TCP */

/* write_all: the whole buffer to a blocking socket. */
static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *c = p;
	while (n) {
		ssize_t k = write(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

/* read_all: exactly n bytes from a blocking socket. */
static int read_all(int fd, void *p, size_t n)
{
	uint8_t *c = p;
	while (n) {
		ssize_t k = read(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

/* put_be32: writes the baseline's length prefix. */
static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* get_be32: reads a length prefix. */
static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* What the receiving child reports. */
typedef struct tcp_res {
	uint64_t msgs, bytes, last_ns;
	int ok;
} tcp_res_t;

/* tcp_sink: the stream receiver: length-prefixed messages, each copied out
 * of the read buffer, until a zero length. */
static void tcp_sink(int fd, tcp_res_t *res)
{
	size_t cap = 4 * TCP_CHUNK, have = 0;
	uint8_t *buf = malloc(cap), *msg = malloc(BR_MAX_PAYLOAD);
	if (!buf || !msg)
		return;
	for (;;) {
		ssize_t n = read(fd, buf + have, cap - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		size_t off = 0;
		bool got = false;
		while (have - off >= 4) {
			uint32_t len = get_be32(buf + off);
			if (len == 0) {
				res->ok = 1;
				goto out;
			}
			if (len > BR_MAX_PAYLOAD)
				goto out;
			if (have - off - 4 < len)
				break;
			memcpy(msg, buf + off + 4, len);
			res->msgs++;
			res->bytes += len;
			off += 4 + len;
			got = true;
		}
		if (got)
			res->last_ns = bench_now_ns();
		memmove(buf, buf + off, have - off);
		have -= off;
	}
out:
	free(buf);
	free(msg);
}

/* tcp_echo: the ping-pong child: each message back as it came. */
static void tcp_echo(int fd, tcp_res_t *res)
{
	uint8_t *buf = malloc(4 + BR_MAX_PAYLOAD);
	if (!buf)
		return;
	for (;;) {
		if (read_all(fd, buf, 4) != 0)
			break;
		uint32_t len = get_be32(buf);
		if (len == 0) {
			res->ok = 1;
			break;
		}
		if (len > BR_MAX_PAYLOAD || read_all(fd, buf + 4, len) != 0 ||
		    write_all(fd, buf, 4 + len) != 0)
			break;
		res->msgs++;
	}
	free(buf);
}

/* tcp_pair: a TCP connection over loopback to a forked child that runs
 * sink (stream) or echo; returns the parent's socket, the child's pid and
 * the pipe its result comes through. */
static int tcp_pair(bool echo, pid_t *child, int *resfd)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int p[2];
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) != 0 || pipe(p) != 0) {
		if (l >= 0)
			close(l);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		alarm(BENCH_CHILD_MAX_S);
		close(l);
		close(p[0]);
		int c = socket(AF_INET, SOCK_STREAM, 0), one = 1;
		tcp_res_t res = {0};
		if (c >= 0 && connect(c, (struct sockaddr *)&a, sizeof(a)) == 0) {
			setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			if (echo)
				tcp_echo(c, &res);
			else
				tcp_sink(c, &res);
		}
		ssize_t w = write(p[1], &res, sizeof(res));
		_exit(w == (ssize_t)sizeof(res) ? 0 : 1);
	}
	close(p[1]);
	if (pid < 0) {
		close(l);
		close(p[0]);
		return -1;
	}
	kid_add(pid, false);
	*child = pid;
	*resfd = p[0];
	int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	if (c < 0) {
		kill_kid(pid);
		close(p[0]);
		return -1;
	}
	int one = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return c;
}

/* tcp_finish: the child's result, the child reaped. */
static int tcp_finish(int fd, pid_t child, int resfd, tcp_res_t *res)
{
	close(fd);
	memset(res, 0, sizeof(*res));
	int rc = read_all(resfd, res, sizeof(*res)) == 0 && res->ok ? 0 : -1;
	close(resfd);
	if (!reap_wait(child, 5000))
		kill_kid(child);
	kid_del(child);
	return rc;
}

/* tcp_stream: the streaming baseline.  0 with MiB/s and msgs/s. */
static int tcp_stream(uint32_t size, double secs, double *mibs, double *msgs)
{
	*mibs = *msgs = NAN;
	pid_t child;
	int resfd;
	int fd = tcp_pair(false, &child, &resfd);
	if (fd < 0)
		return -1;
	size_t per = 4 + size, k = TCP_CHUNK / per ? TCP_CHUNK / per : 1;
	uint8_t *buf = malloc(k * per);
	if (!buf) {
		close(fd);
		kill_kid(child);
		close(resfd);
		return -1;
	}
	for (size_t i = 0; i < k; i++) {
		put_be32(buf + i * per, size);
		br_fill(buf + i * per + 4, size);
	}
	uint64_t count = STREAM_BYTES / size < STREAM_MAX ? STREAM_BYTES / size : STREAM_MAX;
	uint64_t sent = 0, t0 = bench_now_ns(), end = t0 + (uint64_t)(secs * 1e9);
	int rc = 0;
	while (sent < count && bench_now_ns() < end && !g_sig) {
		uint64_t m = count - sent < k ? count - sent : k;
		if (write_all(fd, buf, m * per) != 0) {
			rc = -1;
			break;
		}
		sent += m;
	}
	uint8_t zero[4] = {0};
	if (rc == 0)
		rc = write_all(fd, zero, 4);
	free(buf);
	tcp_res_t res;
	if (tcp_finish(fd, child, resfd, &res) != 0 || rc != 0 || res.msgs != sent)
		return -1;
	double s = (double)(res.last_ns - t0) / 1e9;
	*mibs = (double)res.bytes / MIB / s;
	*msgs = (double)res.msgs / s;
	return 0;
}

/* tcp_pingpong: the one-in-flight baseline.  0 with ns per message. */
static int tcp_pingpong(uint32_t size, double secs, double *ns)
{
	*ns = NAN;
	pid_t child;
	int resfd;
	int fd = tcp_pair(true, &child, &resfd);
	if (fd < 0)
		return -1;
	uint8_t *buf = malloc(4 + size), *back = malloc(4 + size);
	int rc = buf && back ? 0 : -1;
	uint64_t done = 0, t0 = bench_now_ns(), end = t0 + (uint64_t)(secs * 1e9), t1 = t0;
	if (rc == 0) {
		put_be32(buf, size);
		br_fill(buf + 4, size);
	}
	while (rc == 0 && done < PING_MAX && !g_sig) {
		if (write_all(fd, buf, 4 + size) != 0 || read_all(fd, back, 4 + size) != 0) {
			rc = -1;
			break;
		}
		done++;
		t1 = bench_now_ns();
		if (t1 >= end)
			break;
	}
	uint8_t zero[4] = {0};
	if (rc == 0)
		rc = write_all(fd, zero, 4);
	free(buf);
	free(back);
	tcp_res_t res;
	if (tcp_finish(fd, child, resfd, &res) != 0 || rc != 0 || !done)
		return -1;
	*ns = (double)(t1 - t0) / (double)done;
	return 0;
}

/* ---------------------------------------------------------------- memory */

/* spawn_holder: `evil_peer hold` with count connections from src. */
static pid_t spawn_holder(const char *evil, uint16_t port, const char *src, int count)
{
	char ps[8], cs[8];
	snprintf(ps, sizeof(ps), "%u", port);
	snprintf(cs, sizeof(cs), "%d", count);
	pid_t parent = getpid();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			close(fd);
		}
		execl(evil, "evil_peer", "hold", "127.0.0.1", ps, "--src", src, "--count", cs,
		      "--secs", "120", (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		kid_add(pid, false);
	return pid;
}

/* wait_inbound: until transport reports want inbound peers. */
static int wait_inbound(void *z, const node_t *n, uint64_t want, int timeout_ms)
{
	uint64_t end = bench_now_ns() + (uint64_t)timeout_ms * BENCH_NS_PER_MS, got = 0;
	while (bench_now_ns() < end && !g_sig) {
		ch_mpr_t r;
		ch_mpr_init(&r, 0);
		const msgpack_object *m;
		if (simple_call(z, n, "transport", "status", &r, &m) == 0)
			ch_mp_get_u64(m, "inbound", &got);
		ch_mpr_free(&r);
		if (got == want)
			return 0;
		nap(100);
	}
	bench_log("memory: %llu inbound peers, wanted %llu", (unsigned long long)got,
	          (unsigned long long)want);
	return -1;
}

/* run_memory: PSS of a fresh node with 0, 10, 100 peers. */
static int run_memory(void *z, const opts_t *o, const char *bindir, double pss[3])
{
	pss[0] = pss[1] = pss[2] = NAN;
	node_t m;
	node_init(&m, "m");
	const char *extra[] = {"--max-per-group", "16"};
	if (node_start(&m, bindir, extra, 2) != 0 || node_wait_running(z, &m, 20000) != 0) {
		node_stop(&m);
		return -1;
	}
	pid_t holders[MEM_GROUPS] = {0};
	int rc = -1;
	if (!nap(1000))
		goto out;
	pss[0] = node_pss_mib(&m);
	for (int g = 0; g < MEM_GROUPS; g++) {
		char src[32];
		snprintf(src, sizeof(src), "127.%d.0.1", 2 + g);
		holders[g] = spawn_holder(o->evil, m.port, src, MEM_PER_GROUP);
		if (holders[g] <= 0)
			goto out;
		if (g == 0) {
			if (wait_inbound(z, &m, MEM_PER_GROUP, 20000) != 0 || !nap(500))
				goto out;
			pss[1] = node_pss_mib(&m);
		}
	}
	if (wait_inbound(z, &m, MEM_GROUPS * MEM_PER_GROUP, 30000) != 0 || !nap(500))
		goto out;
	pss[2] = node_pss_mib(&m);
	rc = 0;
out:
	for (int g = 0; g < MEM_GROUPS; g++)
		kill_kid(holders[g]);
	node_stop(&m);
	return rc;
}

/* ---------------------------------------------------------------- main */

/* Results of one --io-threads setting. */
typedef struct tres {
	double mibs[NSIZES], msgs[NSIZES], win_mibs[NSIZES], win_msgs[NSIZES], ping_ns[NSIZES];
	double base_mibs[NSIZES], base_msgs[NSIZES], base_ping_ns[NSIZES];
	double pss_after;
} tres_t;

/* run_threads: nodes A and B with transport on `threads` I/O threads, the
 * streaming and one-in-flight cases, each next to its plain TCP baseline. */
static int run_threads(void *z, const opts_t *o, const char *bindir, int threads, tres_t *t)
{
	for (int i = 0; i < NSIZES; i++)
		t->mibs[i] = t->msgs[i] = t->win_mibs[i] = t->win_msgs[i] = t->ping_ns[i] =
		    t->base_mibs[i] = t->base_msgs[i] = t->base_ping_ns[i] = NAN;
	t->pss_after = NAN;
	node_t a, b;
	char an[8], bn[8];
	snprintf(an, sizeof(an), "a%d", threads);
	snprintf(bn, sizeof(bn), "b%d", threads);
	node_init(&a, an);
	node_init(&b, bn);
	char th[8], seed[32];
	snprintf(th, sizeof(th), "%d", threads);
	snprintf(seed, sizeof(seed), "127.0.0.1:%u", a.port);
	const char *extra[12] = {"--io-threads",     th,    "--peer-msg-rate", "100000000",
	                         "--peer-byte-rate", "64g", "--ring-size",     "16m",
	                         "--seed",           seed,  "--ring-spin-us",  o->spin_us};
	/* A takes the arguments before --seed, B all (--ring-spin-us moves up) */
	int na = 8, nb = 10;
	if (o->spin_us) {
		extra[8] = "--ring-spin-us";
		extra[9] = o->spin_us;
		extra[10] = "--seed";
		extra[11] = seed;
		na = 10;
		nb = 12;
	}
	int rc = -1;
	if (node_start(&a, bindir, extra, na) != 0 || node_start(&b, bindir, extra, nb) != 0 ||
	    node_wait_running(z, &a, 20000) != 0 || node_wait_running(z, &b, 20000) != 0 ||
	    wait_peered(z, &a, &b, 20000, true) != 0)
		goto out;
	bench_log("io-threads %d: nodes up (A :%u, B :%u), load average %.2f", threads, a.port,
	          b.port, bench_loadavg());
	rc = 0;
	for (int i = 0; i < NSIZES && !g_sig && o->stream; i++) {
		if (o->only_size && sizes[i] != o->only_size)
			continue;
		if (tcp_stream(sizes[i], o->secs, &t->base_mibs[i], &t->base_msgs[i]) != 0)
			rc = -1;
		bench_log("plain TCP stream %5u B: %.1f MiB/s, %.0f msgs/s", sizes[i],
		          t->base_mibs[i], t->base_msgs[i]);
		if (run_stream(z, &a, &b, sizes[i], o->secs, o->window, &t->win_mibs[i],
		               &t->win_msgs[i]) != 0)
			rc = -1;
		bench_log("transport stream %5u B, %d KiB window: %.1f MiB/s, %.0f msgs/s",
		          sizes[i], (int)(o->window / 1024), t->win_mibs[i], t->win_msgs[i]);
		if (repeer(z, &a, &b) != 0)
			goto out;
		if (run_stream(z, &a, &b, sizes[i], o->secs, 0, &t->mibs[i], &t->msgs[i]) != 0)
			rc = -1;
		bench_log("transport stream %5u B, ring-paced: %.1f MiB/s, %.0f msgs/s", sizes[i],
		          t->mibs[i], t->msgs[i]);
		if (repeer(z, &a, &b) != 0)
			goto out;
	}
	t->pss_after = node_pss_mib(&a);
	for (int i = 0; i < NSIZES && !g_sig && o->ping; i++) {
		if (o->only_size && sizes[i] != o->only_size)
			continue;
		/* interleaved rounds, best of each: wake-up costs on this kind
		 * of VM change by 3-4x from one second to the next */
		for (int r = 0; r < PING_ROUNDS && !g_sig; r++) {
			double base, ns;
			if (tcp_pingpong(sizes[i], o->secs / PING_ROUNDS, &base) != 0)
				rc = -1;
			bench_log("plain TCP ping-pong %5u B: %.1f us", sizes[i], base / 1e3);
			if (run_ping(z, &a, &b, sizes[i], o->secs / PING_ROUNDS, &ns) != 0)
				rc = -1;
			if (isfinite(base) && !(base >= t->base_ping_ns[i]))
				t->base_ping_ns[i] = base;
			if (isfinite(ns) && !(ns >= t->ping_ns[i]))
				t->ping_ns[i] = ns;
			if (repeer(z, &a, &b) != 0)
				goto out;
		}
	}
out:
	node_stop(&b);
	node_stop(&a);
	return g_sig ? -1 : rc;
}

/* best: the best finite value over the thread settings (max or min). */
static double best(const double *v, int n, size_t stride, bool max)
{
	double r = NAN;
	for (int i = 0; i < n; i++) {
		double x = *(const double *)((const char *)v + (size_t)i * stride);
		if (isfinite(x) && (!isfinite(r) || (max ? x > r : x < r)))
			r = x;
	}
	return r;
}

/* usage: the options, on stderr. */
static void usage(void)
{
	fprintf(stderr, "usage: transport_bench [--bin DIR] [--evil PATH] [--threads 1,2] "
	                "[--secs S] [--window BYTES] [--size 64|1024|16384] [--spin-us N]\n"
	                "       [--quick] [--no-stream] [--no-ping] [--no-mem] [--keep]\n");
}

/* parse_opts: the command line into o (defaults from BUILD, the folder
 * three levels above this program). */
static int parse_opts(int argc, char **argv, const char *self, opts_t *o)
{
	char build[PATH_MAX];
	snprintf(build, sizeof(build), "%s", self);
	for (int i = 0; i < 3; i++) {
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof(tmp), "%s", build);
		snprintf(build, sizeof(build), "%s", dirname(tmp));
	}
	snprintf(o->bin, sizeof(o->bin), "%s/bin", build);
	snprintf(o->evil, sizeof(o->evil), "%s/tests/tools/evil_peer", build);
	o->threads[0] = 1;
	o->threads[1] = 2;
	o->nthreads = 2;
	o->secs = 1.0;
	o->window = WINDOW;
	o->mem = o->stream = o->ping = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--quick")) {
			o->secs = 0.3;
			o->nthreads = 1;
		} else if (!strcmp(a, "--no-mem")) {
			o->mem = false;
		} else if (!strcmp(a, "--no-stream")) {
			o->stream = false;
		} else if (!strcmp(a, "--no-ping")) {
			o->ping = false;
		} else if (!strcmp(a, "--keep")) {
			o->keep = true;
		} else if (!strcmp(a, "--bin") && v) {
			snprintf(o->bin, sizeof(o->bin), "%s", v);
			i++;
		} else if (!strcmp(a, "--evil") && v) {
			snprintf(o->evil, sizeof(o->evil), "%s", v);
			i++;
		} else if (!strcmp(a, "--window") && v && atoll(v) >= BR_MAX_PAYLOAD / 8) {
			o->window = (uint64_t)atoll(v);
			i++;
		} else if (!strcmp(a, "--size") && v && atoi(v) > 0) {
			o->only_size = (uint32_t)atoi(v);
			i++;
		} else if (!strcmp(a, "--spin-us") && v) {
			o->spin_us = v;
			i++;
		} else if (!strcmp(a, "--secs") && v && atof(v) > 0) {
			o->secs = atof(v);
			i++;
		} else if (!strcmp(a, "--threads") && v) {
			o->nthreads = 0;
			char tmp[64];
			snprintf(tmp, sizeof(tmp), "%s", v);
			for (char *s = strtok(tmp, ","); s && o->nthreads < MAX_THREADS;
			     s = strtok(NULL, ","))
				if (atoi(s) >= 1 && atoi(s) <= 16)
					o->threads[o->nthreads++] = atoi(s);
			if (!o->nthreads)
				return -1;
			i++;
		} else {
			return -1;
		}
	}
	return 0;
}

/* wanted: whether the options include the stream (or one-in-flight) case
 * of size index i. */
static bool wanted(const opts_t *o, int i, bool stream)
{
	return (stream ? o->stream : o->ping) && (!o->only_size || o->only_size == sizes[i]);
}

/* emit_all: every figure of the cases that ran as a JSON line. */
static void emit_all(const opts_t *o, const tres_t *t, const double pss[3])
{
	char c[64];
	size_t st = sizeof(tres_t);
	double bm[NSIZES], bs[NSIZES], bp[NSIZES];
	for (int i = 0; i < NSIZES; i++) {
		bm[i] = best(&t[0].base_mibs[i], o->nthreads, st, true);
		bs[i] = best(&t[0].base_msgs[i], o->nthreads, st, true);
		bp[i] = best(&t[0].base_ping_ns[i], o->nthreads, st, false);
		if (wanted(o, i, true)) {
			snprintf(c, sizeof(c), "stream_%s", size_names[i]);
			bench_emit("tcp_plain", c, bm[i], "MiB/s", NULL, NAN,
			           BENCH_HIGHER_IS_BETTER);
			snprintf(c, sizeof(c), "stream_msgs_%s", size_names[i]);
			bench_emit("tcp_plain", c, bs[i], "msgs/s", NULL, NAN,
			           BENCH_HIGHER_IS_BETTER);
		}
		if (wanted(o, i, false)) {
			snprintf(c, sizeof(c), "one_in_flight_%s", size_names[i]);
			bench_emit("tcp_plain", c, bp[i], "ns", NULL, NAN, BENCH_LOWER_IS_BETTER);
		}
	}
	for (int k = 0; k < o->nthreads; k++) {
		for (int i = 0; i < NSIZES; i++) {
			if (!wanted(o, i, true))
				continue;
			snprintf(c, sizeof(c), "stream_%s_io%d", size_names[i], o->threads[k]);
			bench_emit("transport", c, t[k].mibs[i], "MiB/s", "tcp_plain", bm[i],
			           BENCH_HIGHER_IS_BETTER);
			snprintf(c, sizeof(c), "stream_msgs_%s_io%d", size_names[i], o->threads[k]);
			bench_emit("transport", c, t[k].msgs[i], "msgs/s", "tcp_plain", bs[i],
			           BENCH_HIGHER_IS_BETTER);
			snprintf(c, sizeof(c), "stream_window_%s_io%d", size_names[i],
			         o->threads[k]);
			bench_emit("transport", c, t[k].win_mibs[i], "MiB/s", "tcp_plain", bm[i],
			           BENCH_HIGHER_IS_BETTER);
			snprintf(c, sizeof(c), "stream_window_msgs_%s_io%d", size_names[i],
			         o->threads[k]);
			bench_emit("transport", c, t[k].win_msgs[i], "msgs/s", "tcp_plain", bs[i],
			           BENCH_HIGHER_IS_BETTER);
		}
		for (int i = 0; i < NSIZES; i++) {
			if (!wanted(o, i, false))
				continue;
			snprintf(c, sizeof(c), "one_in_flight_%s_io%d", size_names[i],
			         o->threads[k]);
			bench_emit("transport", c, t[k].ping_ns[i], "ns", "tcp_plain", bp[i],
			           BENCH_LOWER_IS_BETTER);
		}
		if (!o->stream)
			continue;
		snprintf(c, sizeof(c), "pss_after_stream_io%d", o->threads[k]);
		bench_emit("transport", c, t[k].pss_after, "MiB", NULL, NAN, BENCH_LOWER_IS_BETTER);
	}
	if (!o->mem)
		return;
	bench_emit("transport", "pss_0_peers", pss[0], "MiB", NULL, NAN, BENCH_LOWER_IS_BETTER);
	bench_emit("transport", "pss_10_peers", pss[1], "MiB", NULL, NAN, BENCH_LOWER_IS_BETTER);
	bench_emit("transport", "pss_100_peers", pss[2], "MiB", NULL, NAN, BENCH_LOWER_IS_BETTER);
	double per = (pss[2] - pss[0]) / (MEM_GROUPS * MEM_PER_GROUP);
	bench_emit("transport", "pss_per_peer", per, "MiB", "libp2p_guide", LIBP2P_PEER_B / MIB,
	           BENCH_LOWER_IS_BETTER);
}

/* main: the relay stand-in when run as chorus-relay; the bench otherwise. */
int main(int argc, char **argv)
{
	char self[PATH_MAX];
	snprintf(self, sizeof(self), "%s", argv[0]);
	if (!strcmp(basename(self), "chorus-relay"))
		return ch_svc_main(&bench_relay_ops, argc, argv);

	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0) {
		fprintf(stderr, "transport_bench: readlink /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	self[sl] = 0;
	opts_t o;
	memset(&o, 0, sizeof(o));
	if (parse_opts(argc, argv, self, &o) != 0) {
		usage();
		return 2;
	}
	g_keep = o.keep;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	const char *base = getenv("TMPDIR");
	snprintf(g_tmp, sizeof(g_tmp), "%s/chorus-tbench-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(g_tmp)) {
		fprintf(stderr, "transport_bench: mkdtemp: %s\n", strerror(errno));
		g_tmp[0] = 0;
		return 1;
	}
	atexit(cleanup);
	char bench_bin[PATH_MAX + 16], node_bin[PATH_MAX + 16], relay[PATH_MAX + 32];
	snprintf(bench_bin, sizeof(bench_bin), "%s/bin-bench", g_tmp);
	snprintf(node_bin, sizeof(node_bin), "%s/bin-node", g_tmp);
	snprintf(relay, sizeof(relay), "%s/chorus-relay", o.bin);
	if (make_bindir(bench_bin, o.bin, self) != 0 ||
	    (o.mem && make_bindir(node_bin, o.bin, relay) != 0))
		return 1;
	bench_log("programs from %s; %d CPUs; load average %.2f; %.1f s per case", o.bin,
	          (int)sysconf(_SC_NPROCESSORS_ONLN), bench_loadavg(), o.secs);

	void *z = zmq_ctx_new();
	tres_t t[MAX_THREADS];
	int failed = 0;
	for (int k = 0; k < o.nthreads && !g_sig; k++)
		if (run_threads(z, &o, bench_bin, o.threads[k], &t[k]) != 0)
			failed = 1;
	double pss[3] = {NAN, NAN, NAN};
	if (o.mem && !g_sig) {
		if (run_memory(z, &o, node_bin, pss) != 0)
			failed = 1;
		bench_log("memory: whole node %.1f MiB with 0 peers, %.1f with %d, %.1f with %d",
		          pss[0], pss[1], MEM_PER_GROUP, pss[2], MEM_GROUPS * MEM_PER_GROUP);
	}
	zmq_ctx_term(z);
	if (g_sig) {
		int sig = g_sig;
		cleanup();
		signal(sig, SIG_DFL);
		raise(sig);
		return 128 + sig;
	}
	emit_all(&o, t, pss);
	return failed;
}
