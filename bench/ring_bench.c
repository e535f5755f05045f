/* ring_bench.c: the shm ring against ZeroMQ ipc://, a pipe and a Unix
 * SOCK_SEQPACKET socket, across two processes (docs/benchmarks.md).
 *
 * Every run forks: the child is the consumer, the parent the producer.  The
 * shared state (ring memory, eventfds, pipe, socket pair, temp dir for the
 * ZeroMQ endpoint) is made before fork(); ZeroMQ contexts are made after it,
 * in each process.  A small shared control block (ctl_t) carries the child's
 * readiness, its measurements and its error message back to the parent.
 *
 * Fairness: every transport copies the payload in on the producer side and
 * out into a local buffer on the consumer side, and the consumer checks a
 * sequence number in the first 8 bytes of every record.  Records have a fixed
 * size per case; the last one carries END_MARK as its sequence number.
 *
 * Throughput: the producer sends as fast as it can for at most --secs seconds
 * (and at most a fixed count); the consumer times from the first record to
 * the end marker.  The figure is the best of --runs runs (runs of the four
 * transports are interleaved so that a noisy moment hits all of them; best,
 * not median, because other processes on a 2-CPU machine only ever slow a
 * run down).
 *
 * Latency: the producer sends a record every PERIOD_NS carrying
 * CLOCK_MONOTONIC at the moment of sending; the consumer stores now - ts for
 * each record after a warm-up.  p50 and p99 over --samples samples, from the
 * run (of --runs) with the lowest p99: the host preempts this VM's vCPUs for
 * milliseconds now and then, which says nothing about the transport.
 *
 * Usage: ring_bench [--quick] [--sweep] [--secs S] [--runs N] [--samples N]
 *                   [--data BYTES] [--batch N] [--spin-us N] [--zmq-hwm N]
 *                   [--no-pin] [--verbose]
 *                   [--no-throughput] [--no-latency]
 *                   [--kind ring|zmq_ipc|pipe|unix_seqpacket]... [--size 64|1024|16384]...
 * (make bench runs it without arguments.) */
#include "bench.h"

#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <zmq.h>

#include "err.h"
#include "ring.h"

#define MAX_REC     16384UL    /* largest record size measured */
#define END_MARK    UINT64_MAX /* sequence number of the last record */
#define MAX_SAMPLES 65536U     /* latency samples at most */
#define PERIOD_NS   (20 * BENCH_NS_PER_US)
#define WARMUP      2000U
#define ZMQ_HWM     100000
#define SOCK_BUF    (1 << 20) /* SO_SNDBUF/SO_RCVBUF and F_SETPIPE_SZ */
#define READY_NS    (5 * BENCH_NS_PER_S)
#define GRACE_NS    (5 * BENCH_NS_PER_S) /* consumer slack after the producer */

enum kind { K_RING, K_ZMQ, K_PIPE, K_UNIX, K_COUNT };
static const char *const kind_name[K_COUNT] = {"ring", "zmq_ipc", "pipe", "unix_seqpacket"};

static const size_t sizes[] = {64, 1024, 16384};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* Shared between parent and child (MAP_SHARED); the child writes the
 * results, the parent reads them after reaping it. */
typedef struct ctl {
	_Atomic uint32_t ready; /* child: set up, about to consume */
	uint64_t n;             /* data records received */
	uint64_t t_first;       /* when the first data record arrived */
	uint64_t t_end;         /* when the end marker arrived */
	uint64_t cpu_ns;        /* child CPU time over the run (all threads) */
	uint64_t wall_ns;
	uint32_t nsamples;
	int cpu_end; /* CPU the consumer ran on at the end */
	char err[160];
	uint64_t samples[MAX_SAMPLES];
} ctl_t;

typedef struct cfg {
	enum kind kind;
	size_t rec;         /* record payload bytes */
	bool latency;       /* paced latency run, else throughput */
	uint64_t max_count; /* throughput: records at most */
	uint64_t max_ns;    /* throughput: the producer stops after this */
	size_t ring_data;   /* ring data area */
	uint32_t batch;     /* ring: publish/commit every batch records */
	uint64_t spin_ns;   /* ring: shm_ring_wait spin, both sides */
	uint32_t warmup;    /* latency: records not sampled */
	uint32_t samples;   /* latency: records sampled */
} cfg_t;

typedef struct xport {
	void *mem; /* ring */
	size_t mem_sz;
	int efd_data;  /* consumer sleeps on it */
	int efd_space; /* producer sleeps on it */
	shm_ring_t *r;
	int fd[2]; /* pipe / socket pair: [0] consumer, [1] producer */
	char endpoint[PATH_MAX + 8];
	void *zctx;
	void *zsock;
} xport_t;

typedef struct result {
	double msgs_per_s;
	uint64_t p50, p90, p99, p999, max;
	double cpu_pct;
} result_t;

static ctl_t *g_ctl;
static xport_t g_x = {.efd_data = -1, .efd_space = -1, .fd = {-1, -1}};
static _Alignas(64) uint8_t g_src[MAX_REC];
static _Alignas(64) uint8_t g_dst[MAX_REC];
static int g_pipe_resized = -1; /* F_SETPIPE_SZ worked: 1, refused: 0 */
static bool g_verbose;          /* --verbose: per-run details on stderr */
static int g_zmq_hwm = ZMQ_HWM; /* --zmq-hwm */

/* Pinning: the producer's and the consumer's main threads run on two
 * different CPUs (the first two allowed), set after the transport is open so
 * that ZeroMQ's I/O threads keep the full CPU mask.  --no-pin disables it
 * (see docs/benchmarks.md for why unpinned ring runs are bimodal). */
static cpu_set_t g_cpus; /* the mask we started with */
static int g_cpu_prod = -1, g_cpu_cons = -1;

static void pin_self(int cpu)
{
	if (cpu < 0)
		return;
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s); /* this thread only */
}

static void unpin_self(void)
{
	if (g_cpu_prod >= 0)
		sched_setaffinity(0, sizeof(g_cpus), &g_cpus);
}

static void pin_init(bool pin)
{
	if (!pin || sched_getaffinity(0, sizeof(g_cpus), &g_cpus) != 0)
		return;
	int found = 0, cpus[2] = {-1, -1};
	for (int i = 0; i < CPU_SETSIZE && found < 2; i++)
		if (CPU_ISSET(i, &g_cpus))
			cpus[found++] = i;
	if (found == 2) {
		g_cpu_prod = cpus[0];
		g_cpu_cons = cpus[1];
	}
}

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g_ctl->err, sizeof(g_ctl->err), fmt, ap);
	va_end(ap);
	return -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---------------------------------------------------------------- io helpers */

static int write_full(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t done = 0;
	for (uint32_t i = 0; done < n && i < 1000000u; i++) {
		ssize_t k = write(fd, b + done, n - done);
		if (k > 0)
			done += (size_t)k;
		else if (k < 0 && errno != EINTR)
			return -1;
	}
	return done == n ? 0 : -1;
}

static int read_full(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	size_t done = 0;
	for (uint32_t i = 0; done < n && i < 1000000u; i++) {
		ssize_t k = read(fd, b + done, n - done);
		if (k > 0)
			done += (size_t)k;
		else if (k == 0)
			return errno = 0, -1; /* EOF */
		else if (errno != EINTR)
			return -1;
	}
	return done == n ? 0 : -1;
}

/* ---------------------------------------------------------------- set-up */

/* xp_setup: everything both processes share, made before fork(). */
static int xp_setup(const cfg_t *c)
{
	xport_t *x = &g_x;
	switch (c->kind) {
	case K_RING:
		x->mem_sz = shm_ring_footprint(c->ring_data, SHM_RING_MIN_REC);
		if (!x->mem_sz)
			return fail("bad ring size %zu", c->ring_data);
		x->mem = mmap(NULL, x->mem_sz, PROT_READ | PROT_WRITE,
		              MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (x->mem == MAP_FAILED) {
			x->mem = NULL;
			return fail("mmap: %s", strerror(errno));
		}
		if ((uintptr_t)x->mem % shm_ring_align() != 0)
			return fail("mmap not aligned to %zu", shm_ring_align());
		if (!shm_ring_new(x->mem, c->ring_data, SHM_RING_MIN_REC))
			return fail("shm_ring_new failed");
		x->efd_data = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		x->efd_space = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (x->efd_data < 0 || x->efd_space < 0)
			return fail("eventfd: %s", strerror(errno));
		return 0;
	case K_ZMQ: {
		const char *path = bench_tmp_path("zmq.sock");
		if (!path)
			return fail("cannot make a temp dir");
		unlink(path);
		snprintf(x->endpoint, sizeof(x->endpoint), "ipc://%s", path);
		return 0;
	}
	case K_PIPE:
		if (pipe2(x->fd, O_CLOEXEC) != 0)
			return fail("pipe2: %s", strerror(errno));
		g_pipe_resized = fcntl(x->fd[1], F_SETPIPE_SZ, SOCK_BUF) >= SOCK_BUF ? 1 : 0;
		return 0;
	case K_UNIX: {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, x->fd) != 0)
			return fail("socketpair: %s", strerror(errno));
		int sz = SOCK_BUF;
		setsockopt(x->fd[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(x->fd[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		return 0;
	}
	default:
		return fail("bad kind");
	}
}

/* xp_open: one side's own part, after fork(). */
static int xp_open(const cfg_t *c, bool producer)
{
	xport_t *x = &g_x;
	switch (c->kind) {
	case K_RING: {
		int rc = producer ? shm_ring_join(x->mem, x->mem_sz, SHM_RING_PRODUCER,
		                                  x->efd_space, x->efd_data, &x->r)
		                  : shm_ring_join(x->mem, x->mem_sz, SHM_RING_CONSUMER, x->efd_data,
		                                  x->efd_space, &x->r);
		return rc ? fail("shm_ring_join: %s", ch_strerror(rc)) : 0;
	}
	case K_ZMQ: {
		int hwm = g_zmq_hwm, tmo = 5000, linger = 5000;
		x->zctx = zmq_ctx_new();
		if (!x->zctx)
			return fail("zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
		x->zsock = zmq_socket(x->zctx, producer ? ZMQ_PUSH : ZMQ_PULL);
		if (!x->zsock)
			return fail("zmq_socket: %s", zmq_strerror(zmq_errno()));
		int rc =
		    zmq_setsockopt(x->zsock, producer ? ZMQ_SNDHWM : ZMQ_RCVHWM, &hwm, sizeof(hwm));
		rc |= zmq_setsockopt(x->zsock, producer ? ZMQ_SNDTIMEO : ZMQ_RCVTIMEO, &tmo,
		                     sizeof(tmo));
		rc |= zmq_setsockopt(x->zsock, ZMQ_LINGER, &linger, sizeof(linger));
		if (rc)
			return fail("zmq_setsockopt: %s", zmq_strerror(zmq_errno()));
		rc =
		    producer ? zmq_connect(x->zsock, x->endpoint) : zmq_bind(x->zsock, x->endpoint);
		if (rc)
			return fail("zmq %s %s: %s", producer ? "connect" : "bind", x->endpoint,
			            zmq_strerror(zmq_errno()));
		return 0;
	}
	case K_PIPE:
	case K_UNIX:
		close_fd(&x->fd[producer ? 0 : 1]);
		return 0;
	default:
		return fail("bad kind");
	}
}

/* xp_close: one side's own part (the producer's close delivers the rest:
 * ZeroMQ lingers up to 5 s, a pipe or socket gives the reader EOF). */
static void xp_close(void)
{
	xport_t *x = &g_x;
	shm_ring_leave(&x->r);
	if (x->zsock)
		zmq_close(x->zsock);
	if (x->zctx)
		zmq_ctx_term(x->zctx);
	x->zsock = x->zctx = NULL;
	close_fd(&x->fd[0]);
	close_fd(&x->fd[1]);
}

/* xp_teardown: the shared part, in the parent once the child is gone. */
static void xp_teardown(void)
{
	xport_t *x = &g_x;
	xp_close();
	if (x->mem) {
		shm_ring_delete(x->mem);
		munmap(x->mem, x->mem_sz);
	}
	x->mem = NULL;
	close_fd(&x->efd_data);
	close_fd(&x->efd_space);
	if (x->endpoint[0] && bench_tmp_file[0])
		unlink(bench_tmp_file);
	x->endpoint[0] = 0;
}

/* ---------------------------------------------------------------- producer */

/* ring_send: stage one record; publish every `batch` records, or when the
 * ring is full (then wait for space, spinning spin_ns first). */
static int ring_send(const cfg_t *c, uint32_t *staged, const void *p, size_t n)
{
	shm_ring_t *r = g_x.r;
	for (uint32_t tries = 0; tries < 5; tries++) {
		int rc = shm_ring_try_write(r, p, n, 0);
		if (rc == 0) {
			if (++*staged >= c->batch) {
				shm_ring_publish(r);
				*staged = 0;
			}
			return 0;
		}
		if (rc != CH_EAGAIN)
			return fail("shm_ring_try_write: %s", ch_strerror(rc));
		shm_ring_publish(r);
		*staged = 0;
		rc = shm_ring_wait(r, c->spin_ns, BENCH_NS_PER_S);
		if (rc != 0 && rc != CH_ETIMEDOUT)
			return fail("producer shm_ring_wait: %s", ch_strerror(rc));
	}
	return fail("producer: ring full for 5 s");
}

static int send_rec(const cfg_t *c, uint32_t *staged, const void *p, size_t n)
{
	switch (c->kind) {
	case K_RING:
		return ring_send(c, staged, p, n);
	case K_ZMQ:
		for (int i = 0; i < 100; i++) {
			if (zmq_send(g_x.zsock, p, n, 0) == (int)n)
				return 0;
			if (zmq_errno() != EINTR)
				break;
		}
		return fail("zmq_send: %s", zmq_strerror(zmq_errno()));
	case K_PIPE:
		return write_full(g_x.fd[1], p, n) ? fail("pipe write: %s", strerror(errno)) : 0;
	case K_UNIX:
		for (int i = 0; i < 100; i++) {
			if (send(g_x.fd[1], p, n, 0) == (ssize_t)n)
				return 0;
			if (errno != EINTR)
				break;
		}
		return fail("send: %s", strerror(errno));
	default:
		return fail("bad kind");
	}
}

/* send_end: the end marker, then make sure everything is published. */
static int send_end(const cfg_t *c, uint32_t *staged)
{
	uint64_t end = END_MARK;
	memcpy(g_src, &end, sizeof(end));
	int rc = send_rec(c, staged, g_src, c->rec);
	if (c->kind == K_RING)
		shm_ring_publish(g_x.r);
	return rc;
}

static int produce_bulk(const cfg_t *c)
{
	uint32_t staged = 0;
	uint64_t deadline = bench_now_ns() + c->max_ns;
	for (uint64_t i = 0; i < c->max_count; i++) {
		if ((i & 255) == 0 && bench_now_ns() >= deadline)
			break;
		memcpy(g_src, &i, sizeof(i));
		if (send_rec(c, &staged, g_src, c->rec))
			return -1;
	}
	return send_end(c, &staged);
}

/* produce_paced: one record every PERIOD_NS (measured from the previous
 * send, so a late send never causes a burst), carrying its send time.  The
 * wait yields the CPU so that ZeroMQ's I/O threads can run on this core. */
static int produce_paced(const cfg_t *c)
{
	uint32_t staged = 0;
	uint64_t total = (uint64_t)c->warmup + c->samples;
	uint64_t deadline = bench_now_ns() + total * PERIOD_NS * 20 + GRACE_NS;
	uint64_t prev = 0;
	for (uint64_t i = 0; i < total; i++) {
		uint64_t now = bench_now_ns();
		for (uint32_t k = 0; k < 100000u && now - prev < PERIOD_NS; k++) {
			sched_yield();
			now = bench_now_ns();
		}
		if (now >= deadline)
			return fail("producer: paced run over its time budget");
		memcpy(g_src, &i, sizeof(i));
		memcpy(g_src + 8, &now, sizeof(now));
		if (send_rec(c, &staged, g_src, c->rec))
			return -1;
		prev = now;
	}
	return send_end(c, &staged);
}

/* ---------------------------------------------------------------- consumer */

/* on_record: the per-record check and bookkeeping shared by all transports.
 * Returns 1 at the end marker, 0 to go on, -1 on a bad record. */
static int on_record(const cfg_t *c, size_t size, uint64_t *expect)
{
	uint64_t s;
	memcpy(&s, g_dst, sizeof(s));
	if (s == END_MARK) {
		g_ctl->t_end = bench_now_ns();
		return 1;
	}
	if (s != *expect || size != c->rec)
		return fail("consumer: record %llu of %zu bytes, expected %llu of %zu",
		            (unsigned long long)s, size, (unsigned long long)*expect, c->rec);
	if (c->latency) {
		uint64_t now = bench_now_ns(), ts;
		memcpy(&ts, g_dst + 8, sizeof(ts));
		if (s >= c->warmup && g_ctl->nsamples < MAX_SAMPLES)
			g_ctl->samples[g_ctl->nsamples++] = now - ts;
	} else if (s == 0) {
		g_ctl->t_first = bench_now_ns();
	}
	++*expect;
	return 0;
}

static uint64_t consumer_budget(const cfg_t *c)
{
	if (c->latency)
		return ((uint64_t)c->warmup + c->samples) * PERIOD_NS * 20 + 2 * GRACE_NS;
	return c->max_ns + 2 * GRACE_NS;
}

static int ring_consume(const cfg_t *c)
{
	shm_ring_t *r = g_x.r;
	uint64_t expect = 0;
	uint32_t uncommitted = 0;
	uint64_t deadline = bench_now_ns() + consumer_budget(c);
	uint64_t limit = 64 * (c->max_count + c->warmup + c->samples) + 1000000;
	for (uint64_t it = 0; it < limit; it++) {
		shm_rec_t rec;
		int rc = shm_ring_peek(r, &rec);
		if (rc == CH_EAGAIN) {
			/* Empty: commit what we have, then spin/sleep. */
			shm_ring_commit(r);
			uncommitted = 0;
			rc = shm_ring_wait(r, c->spin_ns, BENCH_NS_PER_S);
			if (rc != 0 && rc != CH_ETIMEDOUT)
				return fail("consumer shm_ring_wait: %s", ch_strerror(rc));
			if (bench_now_ns() >= deadline)
				return fail("consumer: over its time budget after %llu records",
				            (unsigned long long)expect);
			continue;
		}
		if (rc != 0)
			return fail("shm_ring_peek: %s", ch_strerror(rc));
		if (rec.size > sizeof(g_dst))
			return fail("consumer: record of %u bytes", rec.size);
		memcpy(g_dst, rec.data, rec.size);
		shm_ring_advance(r);
		if (++uncommitted >= c->batch) {
			shm_ring_commit(r);
			uncommitted = 0;
		}
		rc = on_record(c, rec.size, &expect);
		if (rc) {
			shm_ring_commit(r);
			g_ctl->n = expect;
			return rc < 0 ? -1 : 0;
		}
	}
	return fail("consumer: iteration limit");
}

static int sock_consume(const cfg_t *c)
{
	uint64_t expect = 0;
	uint64_t limit = c->max_count + c->warmup + c->samples + 2;
	for (uint64_t it = 0; it < limit; it++) {
		ssize_t n = -1;
		switch (c->kind) {
		case K_ZMQ:
			for (int i = 0; i < 100 && n < 0; i++) {
				n = zmq_recv(g_x.zsock, g_dst, sizeof(g_dst), 0);
				if (n < 0 && zmq_errno() != EINTR)
					return fail("zmq_recv: %s", zmq_strerror(zmq_errno()));
			}
			break;
		case K_PIPE:
			if (read_full(g_x.fd[0], g_dst, c->rec))
				return fail("pipe read: %s", errno ? strerror(errno) : "EOF");
			n = (ssize_t)c->rec;
			break;
		case K_UNIX:
			for (int i = 0; i < 100 && n < 0; i++) {
				n = recv(g_x.fd[0], g_dst, sizeof(g_dst), 0);
				if (n < 0 && errno != EINTR)
					return fail("recv: %s", strerror(errno));
			}
			if (n == 0)
				return fail("recv: EOF");
			break;
		default:
			return fail("bad kind");
		}
		if (n < 0 || (size_t)n > sizeof(g_dst))
			return fail("consumer: receive failed (%zd)", n);
		int rc = on_record(c, (size_t)n, &expect);
		if (rc) {
			g_ctl->n = expect;
			return rc < 0 ? -1 : 0;
		}
	}
	return fail("consumer: no end marker after %llu records", (unsigned long long)limit);
}

static int child_main(void *arg)
{
	const cfg_t *c = arg;
	if (xp_open(c, false))
		return -1;
	pin_self(g_cpu_cons);
	uint64_t cpu0 = bench_cpu_ns(), t0 = bench_now_ns();
	atomic_store_explicit(&g_ctl->ready, 1, memory_order_release);
	int rc = c->kind == K_RING ? ring_consume(c) : sock_consume(c);
	g_ctl->cpu_ns = bench_cpu_ns() - cpu0;
	g_ctl->wall_ns = bench_now_ns() - t0;
	g_ctl->cpu_end = sched_getcpu();
	xp_close();
	return rc;
}

/* ---------------------------------------------------------------- one run */

static int wait_ready(void)
{
	uint64_t deadline = bench_now_ns() + READY_NS;
	for (uint32_t i = 0; i < 1000000u; i++) {
		if (atomic_load_explicit(&g_ctl->ready, memory_order_acquire))
			return 0;
		if (bench_now_ns() >= deadline)
			break;
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
	return fail("consumer not ready after 5 s");
}

static int run_once(const cfg_t *c, result_t *res)
{
	memset(g_ctl, 0, offsetof(ctl_t, samples));
	memset(res, 0, sizeof(*res));
	int rc = -1;
	if (xp_setup(c) || bench_spawn(child_main, (void *)c))
		goto out;
	if (wait_ready() || xp_open(c, true))
		goto out;
	pin_self(g_cpu_prod);
	rc = c->latency ? produce_paced(c) : produce_bulk(c);
	if (rc)
		goto out;
	if (g_verbose && g_x.r) {
		shm_ring_stats_t st;
		shm_ring_stats(g_x.r, &st);
		bench_log("  ring stats: full_stalls %llu wakeups %llu producer cpu %d",
		          (unsigned long long)st.full_stalls, (unsigned long long)st.wakeups,
		          sched_getcpu());
	}
	xp_close(); /* delivers what is queued, then EOF */
	if (bench_reap(consumer_budget(c) + GRACE_NS) != 0)
		rc = g_ctl->err[0] ? -1 : fail("consumer failed");
	if (g_verbose)
		bench_log("  %s %zuB: consumer cpu %d, %llu records, %.4g msgs/s",
		          kind_name[c->kind], c->rec, g_ctl->cpu_end, (unsigned long long)g_ctl->n,
		          g_ctl->t_end > g_ctl->t_first
		              ? (double)g_ctl->n * 1e9 / (double)(g_ctl->t_end - g_ctl->t_first)
		              : 0.0);
	if (rc == 0 && !c->latency) {
		if (g_ctl->n < 2 || g_ctl->t_end <= g_ctl->t_first)
			rc = fail("too few records (%llu)", (unsigned long long)g_ctl->n);
		else
			res->msgs_per_s =
			    (double)(g_ctl->n - 1) * 1e9 / (double)(g_ctl->t_end - g_ctl->t_first);
	}
	if (rc == 0 && c->latency) {
		uint32_t n = g_ctl->nsamples;
		if (n == 0) {
			rc = fail("no latency samples");
		} else {
			qsort(g_ctl->samples, n, sizeof(uint64_t), bench_cmp_u64);
			res->p50 = bench_percentile(g_ctl->samples, n, 0.50);
			res->p90 = bench_percentile(g_ctl->samples, n, 0.90);
			res->p99 = bench_percentile(g_ctl->samples, n, 0.99);
			res->p999 = bench_percentile(g_ctl->samples, n, 0.999);
			res->max = g_ctl->samples[n - 1];
			res->cpu_pct = g_ctl->wall_ns
			                   ? 100.0 * (double)g_ctl->cpu_ns / (double)g_ctl->wall_ns
			                   : NAN;
		}
	}
out:
	bench_kill_child(); /* no-op if reaped */
	if (rc && g_x.zsock) {
		int linger = 0; /* the peer is gone: do not wait to deliver */
		zmq_setsockopt(g_x.zsock, ZMQ_LINGER, &linger, sizeof(linger));
	}
	xp_teardown();
	unpin_self();
	if (rc)
		bench_log("FAILED %s %s %zuB: %s", kind_name[c->kind],
		          c->latency ? "latency" : "throughput", c->rec, g_ctl->err);
	return rc;
}

/* ---------------------------------------------------------------- main */

typedef struct opts {
	double secs;
	uint32_t runs;
	uint32_t samples;
	size_t ring_data;
	uint32_t batch;
	uint64_t spin_ns;
	bool sweep;
	bool no_pin;
	bool no_tp, no_lat; /* skip the throughput / latency part */
	uint32_t kind_mask; /* bit per enum kind to run */
	uint32_t size_mask; /* bit per entry of sizes[] to run */
} opts_t;

static cfg_t base_cfg(const opts_t *o, enum kind k, size_t rec)
{
	cfg_t c = {
	    .kind = k,
	    .rec = rec,
	    .max_count = (uint64_t)(2e10 / (double)rec) + 1000,
	    .max_ns = (uint64_t)(o->secs * 1e9),
	    .ring_data = o->ring_data,
	    .batch = o->batch,
	    .spin_ns = o->spin_ns,
	    .warmup = WARMUP,
	    .samples = o->samples,
	};
	return c;
}

static const char *size_label(size_t rec)
{
	return rec == 64 ? "64B" : rec == 1024 ? "1KiB" : "16KiB";
}

static int throughput_all(const opts_t *o)
{
	int failed = 0;
	for (size_t si = 0; si < NSIZES; si++) {
		size_t rec = sizes[si];
		if (!(o->size_mask & (1u << si)))
			continue;
		double v[K_COUNT][16];
		double med[K_COUNT];
		for (uint32_t run = 0; run < o->runs; run++)
			for (int k = 0; k < K_COUNT; k++) {
				cfg_t c = base_cfg(o, (enum kind)k, rec);
				result_t res = {.msgs_per_s = NAN};
				if (!(o->kind_mask & (1u << k)))
					v[k][run] = NAN;
				else if (run_once(&c, &res)) {
					failed = 1;
					res.msgs_per_s = NAN;
				}
				v[k][run] = res.msgs_per_s;
			}
		for (int k = 0; k < K_COUNT; k++) {
			med[k] = bench_best(v[k], o->runs);
			if (!(o->kind_mask & (1u << k)))
				continue;
			char runs[256];
			size_t len = 0;
			for (uint32_t run = 0; run < o->runs && len < sizeof(runs) - 16; run++)
				len += (size_t)snprintf(runs + len, sizeof(runs) - len, " %.4g",
				                        v[k][run]);
			bench_log("%-14s %5s throughput runs (msgs/s):%s", kind_name[k],
			          size_label(rec), runs);
		}
		char cas[64], bw[64];
		snprintf(cas, sizeof(cas), "throughput_%s", size_label(rec));
		snprintf(bw, sizeof(bw), "bandwidth_%s", size_label(rec));
		for (int k = 0; k < K_COUNT; k++) {
			if (!(o->kind_mask & (1u << k)))
				continue;
			const char *base = k == K_RING ? kind_name[K_ZMQ] : NULL;
			bench_emit(kind_name[k], cas, med[k], "msgs/s", base, med[K_ZMQ],
			           BENCH_HIGHER_IS_BETTER);
			bench_emit(kind_name[k], bw, med[k] * (double)rec, "B/s", base,
			           med[K_ZMQ] * (double)rec, BENCH_HIGHER_IS_BETTER);
		}
	}
	return failed;
}

static void emit_latency(const char *bench, const char *mode, size_t rec, const result_t *r,
                         const result_t *base, bool ok, bool base_ok)
{
	char cas[64];
	const char *bname = base ? kind_name[K_ZMQ] : NULL;
	snprintf(cas, sizeof(cas), "latency_p50%s_%s", mode, size_label(rec));
	bench_emit(bench, cas, ok ? (double)r->p50 : NAN, "ns", bname,
	           base && base_ok ? (double)base->p50 : NAN, BENCH_LOWER_IS_BETTER);
	snprintf(cas, sizeof(cas), "latency_p99%s_%s", mode, size_label(rec));
	bench_emit(bench, cas, ok ? (double)r->p99 : NAN, "ns", bname,
	           base && base_ok ? (double)base->p99 : NAN, BENCH_LOWER_IS_BETTER);
	snprintf(cas, sizeof(cas), "consumer_cpu%s_%s", mode, size_label(rec));
	bench_emit(bench, cas, ok ? r->cpu_pct : NAN, "%", NULL, NAN, BENCH_LOWER_IS_BETTER);
}

static int latency_all(const opts_t *o)
{
	int failed = 0;
	/* Variants: ring awake, ring sleeping, then the baselines. */
	enum { V_AWAKE, V_SLEEP, V_ZMQ, V_PIPE, V_UNIX, V_COUNT };
	static const enum kind vkind[V_COUNT] = {K_RING, K_RING, K_ZMQ, K_PIPE, K_UNIX};
	static const char *const vname[V_COUNT] = {"ring awake", "ring sleep", "zmq_ipc", "pipe",
	                                           "unix_seqpacket"};
	for (size_t si = 0; si < NSIZES; si++) {
		size_t rec = sizes[si];
		if (!(o->size_mask & (1u << si)))
			continue;
		result_t res[V_COUNT];
		memset(res, 0, sizeof(res));
		bool ok[V_COUNT] = {false};
		bool on[V_COUNT];
		for (int v = 0; v < V_COUNT; v++)
			on[v] = o->kind_mask & (1u << vkind[v]);
		/* Runs of the variants are interleaved; per variant the run with
		 * the lowest p99 is kept (p50 and p99 from that same run). */
		for (uint32_t run = 0; run < o->runs; run++)
			for (int v = 0; v < V_COUNT; v++) {
				if (!on[v])
					continue;
				cfg_t c = base_cfg(o, vkind[v], rec);
				c.latency = true;
				c.max_count = 0;
				c.batch = 1;
				c.spin_ns = v == V_AWAKE ? BENCH_NS_PER_S : 0;
				result_t r;
				if (run_once(&c, &r) != 0) {
					failed = 1;
					continue;
				}
				bench_log("%-14s %5s latency ns: p50 %llu p90 %llu p99 %llu p99.9 "
				          "%llu max %llu; consumer cpu %.0f%%",
				          vname[v], size_label(rec), (unsigned long long)r.p50,
				          (unsigned long long)r.p90, (unsigned long long)r.p99,
				          (unsigned long long)r.p999, (unsigned long long)r.max,
				          r.cpu_pct);
				if (!ok[v] || r.p99 < res[v].p99)
					res[v] = r;
				ok[v] = true;
			}
		if (on[V_AWAKE]) {
			emit_latency("ring", "_awake", rec, &res[V_AWAKE], &res[V_ZMQ], ok[V_AWAKE],
			             ok[V_ZMQ]);
			emit_latency("ring", "_sleep", rec, &res[V_SLEEP], &res[V_ZMQ], ok[V_SLEEP],
			             ok[V_ZMQ]);
		}
		for (int v = V_ZMQ; v < V_COUNT; v++)
			if (on[v])
				emit_latency(kind_name[vkind[v]], "", rec, &res[v], NULL, ok[v],
				             false);
	}
	return failed;
}

/* sweep: ring throughput over data-area sizes and batch sizes (not part of
 * `make bench`; used to choose the defaults, see docs/benchmarks.md). */
static int sweep(const opts_t *o)
{
	static const size_t datas[] = {256UL << 10, 512UL << 10, 1UL << 20, 2UL << 20, 4UL << 20};
	static const uint32_t batches[] = {1, 8, 32, 128, 512};
	int failed = 0;
	for (size_t si = 0; si < NSIZES; si++)
		for (size_t di = 0;
		     (o->size_mask & (1u << si)) && di < sizeof(datas) / sizeof(datas[0]); di++)
			for (size_t bi = 0; bi < sizeof(batches) / sizeof(batches[0]); bi++) {
				opts_t so = *o;
				so.ring_data = datas[di];
				so.batch = batches[bi];
				double v[16];
				for (uint32_t run = 0; run < o->runs; run++) {
					cfg_t c = base_cfg(&so, K_RING, sizes[si]);
					result_t res;
					if (run_once(&c, &res)) {
						failed = 1;
						res.msgs_per_s = NAN;
					}
					v[run] = res.msgs_per_s;
				}
				char cas[96];
				snprintf(cas, sizeof(cas), "throughput_%s_data%zuKiB_batch%u",
				         size_label(sizes[si]), datas[di] >> 10, batches[bi]);
				bench_emit("ring_sweep", cas, bench_best(v, o->runs), "msgs/s",
				           NULL, NAN, BENCH_HIGHER_IS_BETTER);
			}
	return failed;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s ? s : "", &end, 0);
	if (!s || errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t u;
		if (!strcmp(a, "--quick")) {
			o->secs = 0.2;
			o->runs = 1;
			o->samples = 5000;
		} else if (!strcmp(a, "--sweep")) {
			o->sweep = true;
		} else if (!strcmp(a, "--no-pin")) {
			o->no_pin = true;
		} else if (!strcmp(a, "--zmq-hwm") && !parse_u64(val, 1, 10000000, &u)) {
			g_zmq_hwm = (int)u;
			i++;
		} else if (!strcmp(a, "--verbose")) {
			g_verbose = true;
		} else if (!strcmp(a, "--no-throughput")) {
			o->no_tp = true;
		} else if (!strcmp(a, "--no-latency")) {
			o->no_lat = true;
		} else if (!strcmp(a, "--kind") && val) {
			if (o->kind_mask == ~0u)
				o->kind_mask = 0;
			int k = 0;
			while (k < K_COUNT && strcmp(val, kind_name[k]))
				k++;
			if (k == K_COUNT)
				return -1;
			o->kind_mask |= 1u << k;
			i++;
		} else if (!strcmp(a, "--size") && val) {
			if (o->size_mask == ~0u)
				o->size_mask = 0;
			size_t si = 0;
			while (si < NSIZES && strtoull(val, NULL, 10) != sizes[si])
				si++;
			if (si == NSIZES)
				return -1;
			o->size_mask |= 1u << si;
			i++;
		} else if (!strcmp(a, "--secs") && val) {
			char *end;
			o->secs = strtod(val, &end);
			if (*end || !(o->secs > 0.01 && o->secs <= 10))
				return -1;
			i++;
		} else if (!strcmp(a, "--runs") && !parse_u64(val, 1, 15, &u)) {
			o->runs = (uint32_t)u;
			i++;
		} else if (!strcmp(a, "--samples") && !parse_u64(val, 100, MAX_SAMPLES, &u)) {
			o->samples = (uint32_t)u;
			i++;
		} else if (!strcmp(a, "--data") && !parse_u64(val, 256UL << 10, 1UL << 30, &u) &&
		           (u & (u - 1)) == 0) {
			o->ring_data = u;
			i++;
		} else if (!strcmp(a, "--batch") && !parse_u64(val, 1, 1 << 20, &u)) {
			o->batch = (uint32_t)u;
			i++;
		} else if (!strcmp(a, "--spin-us") && !parse_u64(val, 0, 10000000, &u)) {
			o->spin_ns = u * BENCH_NS_PER_US;
			i++;
		} else {
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	opts_t o = {
	    .secs = 1.0,
	    .runs = 3,
	    .samples = 20000,
	    .ring_data = 4UL << 20,
	    .batch = 128,
	    .spin_ns = 100 * BENCH_NS_PER_US,
	    .kind_mask = ~0u,
	    .size_mask = ~0u,
	};
	bool help = argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
	if (help || parse_opts(argc, argv, &o)) {
		fprintf(
		    help ? stdout : stderr,
		    "usage: %s [options]   (make bench runs it without options)\n"
		    "  --quick             1 run of 0.2 s per case, 5000 latency samples\n"
		    "  --sweep             ring throughput over data areas x batch sizes only\n"
		    "  --secs S            throughput: producer time limit per run (1.0)\n"
		    "  --runs N            runs per case, best kept (3)\n"
		    "  --samples N         latency samples per run (20000)\n"
		    "  --data BYTES        ring data area, a power of two (4194304)\n"
		    "  --batch N           ring publish/commit batch (128)\n"
		    "  --spin-us N         ring shm_ring_wait spin in throughput runs (100)\n"
		    "  --zmq-hwm N         ZMQ_SNDHWM/ZMQ_RCVHWM (100000)\n"
		    "  --kind NAME         only ring, zmq_ipc, pipe, unix_seqpacket (repeatable)\n"
		    "  --size N            only 64, 1024, 16384 (repeatable)\n"
		    "  --no-throughput     skip the throughput part\n"
		    "  --no-latency        skip the latency part\n"
		    "  --no-pin            do not pin producer and consumer to two CPUs\n"
		    "  --verbose           per-run details (CPUs, ring stalls and wake-ups)\n",
		    argv[0]);
		return help ? 0 : 2;
	}
	bench_init();
	pin_init(!o.no_pin);
	g_ctl =
	    mmap(NULL, sizeof(ctl_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g_ctl == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	double load0 = bench_loadavg();
	int zmaj, zmin, zpat;
	zmq_version(&zmaj, &zmin, &zpat);
	bench_log("ring_bench: %ld cpus, zeromq %d.%d.%d; producer on cpu %d, consumer on cpu %d "
	          "(-1: not pinned)",
	          sysconf(_SC_NPROCESSORS_ONLN), zmaj, zmin, zpat, g_cpu_prod, g_cpu_cons);
	bench_log("ring: data area %zu KiB, max_rec %lu, batch %u, spin %llu us (throughput); "
	          "latency: publish+commit per record, spin 1 s (awake) or 0 (sleep)",
	          o.ring_data >> 10, SHM_RING_MIN_REC, o.batch,
	          (unsigned long long)(o.spin_ns / BENCH_NS_PER_US));
	bench_log("throughput: best of %u runs of <= %.2f s; latency: %u samples after %u "
	          "warm-up, one every %llu us, the run of %u with the lowest p99",
	          o.runs, o.secs, o.samples, WARMUP, (unsigned long long)(PERIOD_NS / 1000),
	          o.runs);
	int failed;
	if (o.sweep) {
		failed = sweep(&o);
	} else {
		failed = o.no_tp ? 0 : throughput_all(&o);
		bench_log("pipe: F_SETPIPE_SZ %d %s; unix: SOCK_SEQPACKET socketpair, "
		          "SO_SNDBUF/SO_RCVBUF %d; zmq: PUSH/PULL ipc, SNDHWM/RCVHWM %d",
		          SOCK_BUF,
		          g_pipe_resized < 0   ? "not tried"
		          : g_pipe_resized > 0 ? "applied"
		                               : "refused (default size)",
		          SOCK_BUF, g_zmq_hwm);
		failed |= o.no_lat ? 0 : latency_all(&o);
	}
	bench_log("load average at the end: %.2f (at the start: %.2f)", bench_loadavg(), load0);
	munmap(g_ctl, sizeof(ctl_t));
	return failed ? 1 : 0;
}
