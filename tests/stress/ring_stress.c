/* ring_stress.c: the ring's crash contract under real kill -9.
 *
 * A producer process and a consumer process exchange RING_STRESS_N records
 * (10 million; fewer under the sanitizers) through one ring, each record
 * carrying its sequence number and a byte pattern derived from it.  The test
 * process is the third party: at random moments it kill -9s one of them and
 * starts a new one, which re-joins the ring.  At the end:
 *   - zero torn records (every payload matches its pattern and its seq),
 *   - zero lost (every seq the producer published was applied exactly
 *     once, in order),
 *   - duplicates only in the documented window: after a consumer restart,
 *     only records it had read but not committed (at most one batch, 64),
 *     and only at the very start of the new consumer's run.
 *
 * The consumer's "effect" is `applied` in the shared harness: the next seq
 * it expects, stored after each record (a consumer that stores the last
 * applied seq with its effect gets exactly-once; the test measures the raw
 * redelivery window).
 *
 * With CH_STRESS_THREADS=1 the same producer and consumer logic runs as two
 * threads of one process, without kills: the threaded variant that
 * ThreadSanitizer checks (make test-tsan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "ring.h"

#ifdef CH_SANITIZE
#define RING_STRESS_N 2000000ULL
#else
#define RING_STRESS_N 10000000ULL
#endif
#define DATA_SZ    (256 * 1024)
#define MAX_REC    8192
#define MAX_BATCH  64
#define DEADLINE_S 600 /* the whole test, hard bound */
#define MAX_KILLS  4000

typedef struct harness {
	_Atomic uint64_t applied; /* consumer: next seq expected */
	_Atomic uint64_t torn;    /* payloads that did not match */
	_Atomic uint64_t lost;    /* seqs skipped */
	_Atomic uint64_t dups;    /* redelivered records, total */
	_Atomic uint64_t max_dup_run;
	_Atomic uint64_t late_dups; /* duplicates not at the start of a run */
	_Atomic uint64_t ring_errs; /* CH_EPROTO from peek */
} harness_t;

typedef struct ctx {
	void *mem;
	size_t mem_sz;
	int data_fd, space_fd;
	harness_t *h;
	uint64_t n;
} ctx_t;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* record_size: mostly small records, now and then a large one, so that
 * records wrap at every possible offset. */
static size_t record_size(uint64_t seq)
{
	uint64_t m = mix(seq);
	if ((m & 63) == 0)
		return 8 + (m >> 8) % (MAX_REC - 8);
	return 8 + (m >> 8) % 120;
}

static void fill(uint8_t *b, size_t n, uint64_t seq)
{
	memcpy(b, &seq, 8);
	for (size_t i = 8; i < n; i++)
		b[i] = (uint8_t)(seq * 131 + i * 7);
}

static int intact(const uint8_t *b, size_t n, uint64_t seq)
{
	uint64_t s;
	if (n != record_size(seq))
		return 0;
	memcpy(&s, b, 8);
	if (s != seq)
		return 0;
	for (size_t i = 8; i < n; i++)
		if (b[i] != (uint8_t)(seq * 131 + i * 7))
			return 0;
	return 1;
}

static int run_producer(ctx_t *c, uint64_t rseed)
{
	shm_ring_t *r;
	if (shm_ring_join(c->mem, c->mem_sz, SHM_RING_PRODUCER, c->space_fd, c->data_fd, &r))
		return 2;
	uint8_t buf[MAX_REC];
	uint64_t seq = shm_ring_next_seq(r);
	uint64_t batch = 1 + mix(rseed) % MAX_BATCH;
	while (seq < c->n) {
		size_t sz = record_size(seq);
		fill(buf, sz, seq);
		int rc = shm_ring_try_write(r, buf, sz, (uint32_t)seq);
		if (rc == CH_EAGAIN) {
			shm_ring_publish(r);
			shm_ring_wait(r, 50000, 100000000ULL);
			continue;
		}
		if (rc)
			return 3;
		seq++;
		if (shm_ring_staged(r) >= batch) {
			shm_ring_publish(r);
			batch = 1 + mix(seq ^ rseed) % MAX_BATCH;
		}
	}
	shm_ring_publish(r);
	shm_ring_leave(&r);
	return 0;
}

static void atomic_max(_Atomic uint64_t *a, uint64_t v)
{
	uint64_t cur = atomic_load(a);
	while (v > cur && !atomic_compare_exchange_weak(a, &cur, v))
		;
}

static int run_consumer(ctx_t *c, uint64_t rseed)
{
	harness_t *h = c->h;
	shm_ring_t *r;
	if (shm_ring_join(c->mem, c->mem_sz, SHM_RING_CONSUMER, c->data_fd, c->space_fd, &r))
		return 2;
	uint64_t batch = 1 + mix(rseed) % MAX_BATCH;
	uint64_t dup_run = 0;
	int fresh = 0; /* seen a new record in this run */
	for (;;) {
		uint64_t applied = atomic_load_explicit(&h->applied, memory_order_relaxed);
		if (applied >= c->n)
			break;
		shm_rec_t rec;
		int rc = shm_ring_peek(r, &rec);
		if (rc == CH_EAGAIN) {
			shm_ring_commit(r);
			shm_ring_wait(r, 50000, 100000000ULL);
			continue;
		}
		if (rc) {
			atomic_fetch_add(&h->ring_errs, 1);
			return 4;
		}
		if (!intact(rec.data, rec.size, rec.seq) || rec.tag != (uint32_t)rec.seq)
			atomic_fetch_add(&h->torn, 1);
		if (rec.seq < applied) {
			atomic_fetch_add(&h->dups, 1);
			if (fresh)
				atomic_fetch_add(&h->late_dups, 1);
			atomic_max(&h->max_dup_run, ++dup_run);
		} else {
			if (rec.seq > applied)
				atomic_fetch_add(&h->lost, rec.seq - applied);
			fresh = 1;
			atomic_store_explicit(&h->applied, rec.seq + 1, memory_order_relaxed);
		}
		shm_ring_advance(r);
		if (shm_ring_uncommitted(r) >= batch) {
			shm_ring_commit(r);
			batch = 1 + mix(rec.seq ^ rseed) % MAX_BATCH;
		}
	}
	shm_ring_commit(r);
	shm_ring_leave(&r);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static ctx_t *ctx_new(uint64_t n)
{
	ctx_t *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->n = n;
	c->mem_sz = shm_ring_footprint(DATA_SZ, MAX_REC);
	assert_true(c->mem_sz > 0);
	/* One anonymous shared mapping for ring and harness: inherited by
	 * fork, gone when the last process exits, so nothing can leak. */
	size_t total = c->mem_sz + 4096;
	void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	c->mem = m;
	assert_non_null(shm_ring_new(c->mem, DATA_SZ, MAX_REC));
	c->h = (harness_t *)((uint8_t *)m + c->mem_sz);
	c->data_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c->space_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(c->data_fd >= 0 && c->space_fd >= 0);
	return c;
}

static void ctx_free(ctx_t *c)
{
	close(c->data_fd);
	close(c->space_fd);
	munmap(c->mem, c->mem_sz + 4096);
	free(c);
}

static void report(const char *what, ctx_t *c, uint64_t kills_p, uint64_t kills_c, double secs)
{
	harness_t *h = c->h;
	printf("%s: records %llu applied %llu torn %llu lost %llu dups %llu (max run %llu, late "
	       "%llu) ring errors %llu; kills producer %llu consumer %llu; %.2f s\n",
	       what, (unsigned long long)c->n, (unsigned long long)atomic_load(&h->applied),
	       (unsigned long long)atomic_load(&h->torn), (unsigned long long)atomic_load(&h->lost),
	       (unsigned long long)atomic_load(&h->dups),
	       (unsigned long long)atomic_load(&h->max_dup_run),
	       (unsigned long long)atomic_load(&h->late_dups),
	       (unsigned long long)atomic_load(&h->ring_errs), (unsigned long long)kills_p,
	       (unsigned long long)kills_c, secs);
	fflush(stdout);
}

static void check(ctx_t *c)
{
	harness_t *h = c->h;
	assert_int_equal(atomic_load(&h->applied), c->n);
	assert_int_equal(atomic_load(&h->torn), 0);
	assert_int_equal(atomic_load(&h->lost), 0);
	assert_int_equal(atomic_load(&h->late_dups), 0);
	assert_int_equal(atomic_load(&h->ring_errs), 0);
	assert_true(atomic_load(&h->max_dup_run) <= MAX_BATCH);
}

enum { PRODUCER = 0, CONSUMER = 1 };

static pid_t spawn(ctx_t *c, int role, uint64_t rseed)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Never outlive the test, even if it fails or is killed. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(9);
		_exit(role == PRODUCER ? run_producer(c, rseed) : run_consumer(c, rseed));
	}
	return pid;
}

static pid_t live[2];

static void kill_children(void)
{
	for (int i = 0; i < 2; i++)
		if (live[i] > 0) {
			kill(live[i], SIGKILL);
			waitpid(live[i], NULL, 0);
			live[i] = 0;
		}
}

static void test_kill9_processes(void **state)
{
	(void)state;
	ctx_t *c = ctx_new(RING_STRESS_N);
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	printf("seed %llu\n", (unsigned long long)seed);
	uint64_t kills[2] = {0, 0}, start = now_ns(), i = 0;
	int done[2] = {0, 0};
	live[PRODUCER] = spawn(c, PRODUCER, mix(seed + i++));
	live[CONSUMER] = spawn(c, CONSUMER, mix(seed + i++));
	while (!done[PRODUCER] || !done[CONSUMER]) {
		if (now_ns() - start > DEADLINE_S * 1000000000ULL) {
			kill_children();
			report("TIMEOUT", c, kills[0], kills[1], (now_ns() - start) / 1e9);
			fail_msg("stress test did not finish in %d s", DEADLINE_S);
		}
		/* A random moment: 0 to 3 ms. */
		uint64_t r = mix(seed + i++);
		struct timespec ts = {0, (long)(r % 3000000)};
		nanosleep(&ts, NULL);
		/* Reap children that finished on their own. */
		for (int role = 0; role < 2; role++) {
			int st;
			if (live[role] > 0 && waitpid(live[role], &st, WNOHANG) == live[role]) {
				live[role] = 0;
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
					kill_children();
					report("FAIL", c, kills[0], kills[1], 0);
					fail_msg("%s exited with status %d",
					         role ? "consumer" : "producer", st);
				}
				done[role] = 1;
			}
		}
		/* kill -9 one of the live ones and start it again. */
		int victim = (int)((r >> 32) & 1);
		if (live[victim] > 0 && kills[0] + kills[1] < MAX_KILLS) {
			kill(live[victim], SIGKILL);
			int st;
			waitpid(live[victim], &st, 0);
			live[victim] = 0;
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
				done[victim] = 1; /* finished just before the signal */
			} else if (WIFEXITED(st)) {
				kill_children();
				fail_msg("child exited with %d", WEXITSTATUS(st));
			} else {
				kills[victim]++;
				live[victim] = spawn(c, victim, mix(seed + i++));
			}
		}
	}
	report("kill -9 stress", c, kills[0], kills[1], (now_ns() - start) / 1e9);
	check(c);
	assert_true(kills[0] > 0 && kills[1] > 0);
	ctx_free(c);
}

static void *producer_thread(void *p)
{
	run_producer(p, 1);
	return NULL;
}

static void test_two_threads(void **state)
{
	(void)state;
	ctx_t *c = ctx_new(RING_STRESS_N / 5);
	uint64_t start = now_ns();
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, producer_thread, c), 0);
	assert_int_equal(run_consumer(c, 2), 0);
	pthread_join(t, NULL);
	report("threads", c, 0, 0, (now_ns() - start) / 1e9);
	check(c);
	assert_int_equal(atomic_load(&c->h->dups), 0);
	ctx_free(c);
}

int main(void)
{
	const char *threads = getenv("CH_STRESS_THREADS");
	if (threads && *threads == '1') {
		const struct CMUnitTest t[] = {cmocka_unit_test(test_two_threads)};
		return cmocka_run_group_tests(t, NULL, NULL);
	}
	const struct CMUnitTest t[] = {
	    cmocka_unit_test(test_kill9_processes),
	    cmocka_unit_test(test_two_threads),
	};
	int rc = cmocka_run_group_tests(t, NULL, NULL);
	kill_children();
	return rc;
}
