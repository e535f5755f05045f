/* test_ring.c: unit tests of shm/ring (lifecycle, edges, wrap-around,
 * crash recovery at each step of the protocol, wake-ups, two threads). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "err.h"
#include "ring.h"
#include "ring_private.h"

#define DATA_SZ (64 * 1024)
#define MAX_REC 4096

typedef struct fixture {
	void *mem;
	size_t sz;
	shm_ring_t *p;
	shm_ring_t *c;
} fixture_t;

static void *ring_alloc(size_t data_sz, size_t max_rec, size_t *sz)
{
	*sz = shm_ring_footprint(data_sz, max_rec);
	assert_true(*sz > 0);
	void *mem = aligned_alloc(shm_ring_align(), *sz);
	assert_non_null(mem);
	assert_ptr_equal(shm_ring_new(mem, data_sz, max_rec), mem);
	return mem;
}

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	f->mem = ring_alloc(DATA_SZ, MAX_REC, &f->sz);
	assert_int_equal(shm_ring_join(f->mem, f->sz, SHM_RING_PRODUCER, -1, -1, &f->p), 0);
	assert_int_equal(shm_ring_join(f->mem, f->sz, SHM_RING_CONSUMER, -1, -1, &f->c), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;
	shm_ring_leave(&f->p);
	shm_ring_leave(&f->c);
	assert_null(f->p);
	free(f->mem);
	free(f);
	return 0;
}

/* fill_pattern: payload bytes derived from (seq, i), so any torn or
 * misplaced byte is detected. */
static void fill_pattern(uint8_t *b, size_t n, uint64_t key)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(key * 131 + i * 7 + (i >> 8));
}

static int check_pattern(const uint8_t *b, size_t n, uint64_t key)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != (uint8_t)(key * 131 + i * 7 + (i >> 8)))
			return 0;
	return 1;
}

static void test_footprint_rejects_bad_params(void **state)
{
	(void)state;
	assert_int_equal(shm_ring_footprint(0, 64), 0);
	assert_int_equal(shm_ring_footprint(2048, 64), 0);         /* below 4 KiB */
	assert_int_equal(shm_ring_footprint(65536 + 4096, 64), 0); /* not a power of two */
	assert_int_equal(shm_ring_footprint(65536, 0), 0);
	assert_int_equal(shm_ring_footprint(65536, 40000), 0); /* 2 records must fit */
	assert_int_equal(shm_ring_footprint(65536, SHM_RING_MAX_REC + 1), 0);
	assert_true(shm_ring_footprint(65536, 32000) > 65536);
	assert_true(shm_ring_footprint(1 << 20, SHM_RING_MIN_REC) > (1 << 20));
	assert_int_equal(shm_ring_align() % 128, 0);
}

static void test_new_rejects_bad_memory(void **state)
{
	(void)state;
	size_t sz = shm_ring_footprint(DATA_SZ, MAX_REC);
	uint8_t *mem = aligned_alloc(shm_ring_align(), sz + 128);
	assert_null(shm_ring_new(NULL, DATA_SZ, MAX_REC));
	assert_null(shm_ring_new(mem + 8, DATA_SZ, MAX_REC));
	assert_null(shm_ring_new(mem, DATA_SZ + 1, MAX_REC));
	assert_null(shm_ring_delete(mem + 8));
	free(mem);
}

static void test_join_refuses_bad_regions(void **state)
{
	(void)state;
	size_t sz;
	uint8_t *mem = ring_alloc(DATA_SZ, MAX_REC, &sz);
	shm_ring_t *r = (shm_ring_t *)0x1;
	assert_int_equal(shm_ring_join(NULL, sz, SHM_RING_CONSUMER, -1, -1, &r), CH_EINVAL);
	assert_int_equal(shm_ring_join(mem, sz, 0, -1, -1, &r), CH_EINVAL);
	assert_int_equal(shm_ring_join(mem + 64, sz, SHM_RING_CONSUMER, -1, -1, &r), CH_EALIGN);
	assert_null(r);
	assert_int_equal(shm_ring_join(mem, 100, SHM_RING_CONSUMER, -1, -1, &r), CH_ERANGE);
	assert_int_equal(shm_ring_join(mem, sz - 1, SHM_RING_CONSUMER, -1, -1, &r), CH_ERANGE);

	shm_ring_shared_t *sh = (shm_ring_shared_t *)mem;
	/* wrong version: same type, other layout */
	atomic_store(&sh->magic, SHM_RING_MAGIC_TYPE | (SHM_RING_VERSION + 1));
	assert_int_equal(shm_ring_join(mem, sz, SHM_RING_CONSUMER, -1, -1, &r), CH_EVERSION);
	/* not a ring at all */
	atomic_store(&sh->magic, 0x1234567890abcdefULL);
	assert_int_equal(shm_ring_join(mem, sz, SHM_RING_CONSUMER, -1, -1, &r), CH_EMAGIC);
	atomic_store(&sh->magic, SHM_RING_MAGIC);
	/* header fields that contradict each other */
	sh->data_sz = 3000;
	assert_int_equal(shm_ring_join(mem, sz, SHM_RING_CONSUMER, -1, -1, &r), CH_EPROTO);
	sh->data_sz = DATA_SZ;
	atomic_store(&sh->head, 100);
	assert_int_equal(shm_ring_join(mem, sz, SHM_RING_CONSUMER, -1, -1, &r), CH_EPROTO);
	atomic_store(&sh->head, 0);
	atomic_store(&sh->tail, DATA_SZ + 16);
	assert_int_equal(shm_ring_join(mem, sz, SHM_RING_CONSUMER, -1, -1, &r), CH_EPROTO);
	atomic_store(&sh->tail, 0);
	/* deleted */
	assert_int_equal(shm_ring_join(mem, sz, SHM_RING_OBSERVER, -1, -1, &r), 0);
	shm_ring_leave(&r);
	assert_ptr_equal(shm_ring_delete(mem), mem);
	assert_null(shm_ring_delete(mem));
	assert_int_equal(shm_ring_join(mem, sz, SHM_RING_CONSUMER, -1, -1, &r), CH_EMAGIC);
	shm_ring_leave(&r); /* NULL-safe */
	free(mem);
}

static void test_push_pop_basic(void **state)
{
	fixture_t *f = *state;
	shm_rec_t rec;
	uint8_t buf[MAX_REC];
	size_t n;
	uint32_t tag;
	uint64_t seq;
	assert_int_equal(shm_ring_peek(f->c, &rec), CH_EAGAIN);
	assert_int_equal(shm_ring_try_pop(f->c, buf, sizeof(buf), &n, &tag, &seq), CH_EAGAIN);
	assert_int_equal(shm_ring_try_push(f->p, "hello", 5, 7), 0);
	assert_int_equal(shm_ring_try_push(f->p, "w", 1, 8), 0);
	assert_int_equal(shm_ring_peek(f->c, &rec), 0);
	assert_int_equal(rec.size, 5);
	assert_int_equal(rec.tag, 7);
	assert_int_equal(rec.seq, 0);
	assert_memory_equal(rec.data, "hello", 5);
	/* peeking again without advancing gives the same record */
	assert_int_equal(shm_ring_peek(f->c, &rec), 0);
	assert_int_equal(rec.seq, 0);
	shm_ring_advance(f->c);
	assert_int_equal(shm_ring_uncommitted(f->c), 1);
	shm_ring_commit(f->c);
	assert_int_equal(shm_ring_uncommitted(f->c), 0);
	assert_int_equal(shm_ring_try_pop(f->c, buf, 0, &n, &tag, &seq), CH_ERANGE);
	assert_int_equal(shm_ring_try_pop(f->c, buf, sizeof(buf), &n, &tag, &seq), 0);
	assert_int_equal(n, 1);
	assert_int_equal(tag, 8);
	assert_int_equal(seq, 1);
	assert_int_equal(buf[0], 'w');
	assert_int_equal(shm_ring_peek(f->c, &rec), CH_EAGAIN);
	/* sizes out of range are refused, nothing staged */
	assert_int_equal(shm_ring_try_write(f->p, buf, 0, 0), CH_ERANGE);
	assert_int_equal(shm_ring_try_write(f->p, buf, MAX_REC + 1, 0), CH_ERANGE);
	assert_int_equal(shm_ring_try_write(f->p, buf, MAX_REC, 0), 0);
	assert_int_equal(shm_ring_staged(f->p), 1);
	assert_int_equal(shm_ring_try_write(NULL, buf, 1, 0), CH_EINVAL);
	assert_int_equal(shm_ring_try_write(f->c, buf, 1, 0), CH_EINVAL); /* wrong role */
	assert_int_equal(shm_ring_peek(f->p, &rec), CH_EINVAL);
}

static void test_unpublished_is_invisible(void **state)
{
	fixture_t *f = *state;
	shm_rec_t rec;
	for (int i = 0; i < 10; i++)
		assert_int_equal(shm_ring_try_write(f->p, "abc", 3, 0), 0);
	assert_int_equal(shm_ring_staged(f->p), 10);
	assert_int_equal(shm_ring_peek(f->c, &rec), CH_EAGAIN);
	assert_false(shm_ring_ready(f->c));
	shm_ring_publish(f->p);
	assert_int_equal(shm_ring_staged(f->p), 0);
	assert_true(shm_ring_ready(f->c));
	for (int i = 0; i < 10; i++) {
		assert_int_equal(shm_ring_peek(f->c, &rec), 0);
		assert_int_equal(rec.seq, (uint64_t)i);
		shm_ring_advance(f->c);
	}
	assert_int_equal(shm_ring_peek(f->c, &rec), CH_EAGAIN);
}

static void test_full_and_empty_edges(void **state)
{
	fixture_t *f = *state;
	/* 48-byte payloads: 64-byte records, so exactly DATA_SZ/64 fit. */
	uint8_t buf[48] = {0};
	size_t cap = DATA_SZ / 64, n = 0;
	while (shm_ring_try_write(f->p, buf, sizeof(buf), 0) == 0)
		n++;
	assert_int_equal(n, cap);
	shm_ring_publish(f->p);
	shm_ring_stats_t st;
	shm_ring_stats(f->p, &st);
	assert_int_equal(st.depth, DATA_SZ);
	assert_true(st.full_stalls >= 1);
	assert_false(shm_ring_ready(f->p));
	/* consumed but not committed: still full for the producer */
	shm_rec_t rec;
	assert_int_equal(shm_ring_peek(f->c, &rec), 0);
	shm_ring_advance(f->c);
	assert_int_equal(shm_ring_try_write(f->p, buf, sizeof(buf), 0), CH_EAGAIN);
	shm_ring_commit(f->c);
	assert_int_equal(shm_ring_try_write(f->p, buf, sizeof(buf), 0), 0);
	assert_int_equal(shm_ring_try_write(f->p, buf, sizeof(buf), 0), CH_EAGAIN);
	shm_ring_publish(f->p);
	size_t got = 0;
	while (shm_ring_peek(f->c, &rec) == 0) {
		assert_int_equal(rec.seq, got + 1);
		shm_ring_advance(f->c);
		got++;
	}
	shm_ring_commit(f->c);
	assert_int_equal(got, cap);
	shm_ring_stats(f->c, &st);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.head_seq, cap + 1);
	assert_int_equal(st.tail_seq, cap + 1);
}

/* A reference FIFO model drives random sizes, batches and commits through
 * many wrap-arounds and checks every byte. */
static void test_wraparound_random_sizes(void **state)
{
	fixture_t *f = *state;
	enum { N = 200000, QCAP = 4096 };
	static uint32_t qsize[QCAP];
	uint64_t qhead = 0, qtail = 0, sent = 0, recvd = 0;
	uint8_t buf[MAX_REC];
	srand(12345);
	while (recvd < N) {
		int burst = rand() % 40;
		for (int i = 0; i < burst && sent < N; i++) {
			uint32_t sz = (rand() % 8 == 0) ? 1 + rand() % MAX_REC : 1 + rand() % 200;
			fill_pattern(buf, sz, sent);
			int rc = shm_ring_try_write(f->p, buf, sz, (uint32_t)sent);
			if (rc == CH_EAGAIN)
				break;
			assert_int_equal(rc, 0);
			assert_true(qtail - qhead < QCAP);
			qsize[qtail++ % QCAP] = sz;
			sent++;
		}
		if (rand() % 3)
			shm_ring_publish(f->p);
		int take = rand() % 40;
		for (int i = 0; i < take; i++) {
			shm_rec_t rec;
			int rc = shm_ring_peek(f->c, &rec);
			if (rc == CH_EAGAIN)
				break;
			assert_int_equal(rc, 0);
			assert_true(qhead < qtail);
			assert_int_equal(rec.seq, recvd);
			assert_int_equal(rec.tag, (uint32_t)recvd);
			assert_int_equal(rec.size, qsize[qhead % QCAP]);
			assert_true(check_pattern(rec.data, rec.size, recvd));
			assert_int_equal((uintptr_t)rec.data % 16, 0);
			qhead++;
			recvd++;
			shm_ring_advance(f->c);
		}
		if (rand() % 2)
			shm_ring_commit(f->c);
		if (sent == N)
			shm_ring_publish(f->p);
	}
	shm_ring_commit(f->c);
	assert_int_equal(sent, N);
}

static void test_zero_copy_prepare(void **state)
{
	fixture_t *f = *state;
	assert_null(shm_ring_prepare(f->p, 0));
	assert_null(shm_ring_prepare(f->p, MAX_REC + 1));
	assert_null(shm_ring_prepare(f->c, 10));
	uint8_t *w = shm_ring_prepare(f->p, 100);
	assert_non_null(w);
	memcpy(w, "zero-copy", 9);
	assert_int_equal(shm_ring_write_prepared(f->p, 101, 1), CH_EINVAL); /* more than reserved */
	assert_int_equal(shm_ring_write_prepared(f->p, 9, 3), 0);
	assert_int_equal(shm_ring_write_prepared(f->p, 9, 3), CH_EINVAL); /* reservation used */
	shm_ring_publish(f->p);
	shm_rec_t rec;
	assert_int_equal(shm_ring_peek(f->c, &rec), 0);
	assert_int_equal(rec.size, 9);
	assert_int_equal(rec.tag, 3);
	assert_memory_equal(rec.data, "zero-copy", 9);
}

/* The consumer dies after reading but before committing: a new consumer
 * gets those records again (at-least-once), and nothing before. */
static void test_consumer_restart_redelivers_uncommitted(void **state)
{
	fixture_t *f = *state;
	for (int i = 0; i < 10; i++)
		assert_int_equal(shm_ring_try_write(f->p, &i, sizeof(i), 0), 0);
	shm_ring_publish(f->p);
	shm_rec_t rec;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(shm_ring_peek(f->c, &rec), 0);
		shm_ring_advance(f->c);
	}
	shm_ring_commit(f->c); /* 0..3 committed */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(shm_ring_peek(f->c, &rec), 0);
		shm_ring_advance(f->c);
	}
	shm_ring_leave(&f->c); /* "crash": 4..6 read but not committed */
	assert_int_equal(shm_ring_join(f->mem, f->sz, SHM_RING_CONSUMER, -1, -1, &f->c), 0);
	for (int i = 4; i < 10; i++) {
		assert_int_equal(shm_ring_peek(f->c, &rec), 0);
		assert_int_equal(rec.seq, (uint64_t)i);
		shm_ring_advance(f->c);
	}
	assert_int_equal(shm_ring_peek(f->c, &rec), CH_EAGAIN);
}

/* The producer dies with staged records: they vanish; a new producer
 * continues the seq after the last published record. */
static void test_producer_restart_discards_staged(void **state)
{
	fixture_t *f = *state;
	for (int i = 0; i < 5; i++)
		assert_int_equal(shm_ring_try_write(f->p, &i, sizeof(i), 0), 0);
	shm_ring_publish(f->p);
	for (int i = 0; i < 3; i++)
		assert_int_equal(shm_ring_try_write(f->p, &i, sizeof(i), 0), 0);
	shm_ring_leave(&f->p);
	assert_int_equal(shm_ring_join(f->mem, f->sz, SHM_RING_PRODUCER, -1, -1, &f->p), 0);
	assert_int_equal(shm_ring_next_seq(f->p), 5);
	assert_int_equal(shm_ring_try_push(f->p, "x", 1, 0), 0);
	shm_rec_t rec;
	for (uint64_t i = 0; i < 6; i++) {
		assert_int_equal(shm_ring_peek(f->c, &rec), 0);
		assert_int_equal(rec.seq, i);
		shm_ring_advance(f->c);
	}
	assert_int_equal(rec.size, 1);
	assert_int_equal(shm_ring_peek(f->c, &rec), CH_EAGAIN);
}

/* publish stores pend_tail, pend_seq, tail, tail_seq in that order; a
 * producer killed between any two must recover the exact next seq. */
static void test_producer_seq_recovery_at_each_crash_point(void **state)
{
	fixture_t *f = *state;
	shm_ring_shared_t *sh = f->mem;
	for (int i = 0; i < 7; i++)
		assert_int_equal(shm_ring_try_write(f->p, &i, sizeof(i), 0), 0);
	shm_ring_publish(f->p); /* tail_seq = 7 */
	uint64_t tail = atomic_load(&sh->tail);
	shm_ring_leave(&f->p);

	/* died after pend_tail, before pend_seq */
	atomic_store(&sh->pend_tail, tail + 64);
	assert_int_equal(shm_ring_join(f->mem, f->sz, SHM_RING_PRODUCER, -1, -1, &f->p), 0);
	assert_int_equal(shm_ring_next_seq(f->p), 7);
	shm_ring_leave(&f->p);
	/* died after pend_seq, before the tail commit */
	atomic_store(&sh->pend_seq, 9);
	assert_int_equal(shm_ring_join(f->mem, f->sz, SHM_RING_PRODUCER, -1, -1, &f->p), 0);
	assert_int_equal(shm_ring_next_seq(f->p), 7);
	shm_ring_leave(&f->p);
	/* died after the commit, before tail_seq: pend_* are right */
	atomic_store(&sh->pend_tail, tail);
	atomic_store(&sh->pend_seq, 7);
	atomic_store(&sh->tail_seq, 5);
	assert_int_equal(shm_ring_join(f->mem, f->sz, SHM_RING_PRODUCER, -1, -1, &f->p), 0);
	assert_int_equal(shm_ring_next_seq(f->p), 7);
}

static void test_corrupt_header_is_reported(void **state)
{
	fixture_t *f = *state;
	shm_ring_shared_t *sh = f->mem;
	uint8_t *data = (uint8_t *)f->mem + sh->data_off;
	assert_int_equal(shm_ring_try_push(f->p, "abcd", 4, 0), 0);
	assert_int_equal(shm_ring_try_push(f->p, "efgh", 4, 0), 0);
	shm_rec_t rec;
	shm_rec_hdr_t *h = (shm_rec_hdr_t *)data;
	h->size = MAX_REC + 1; /* beyond max_rec */
	assert_int_equal(shm_ring_peek(f->c, &rec), CH_EPROTO);
	h->size = 1000; /* beyond the published tail */
	assert_int_equal(shm_ring_peek(f->c, &rec), CH_EPROTO);
	h->size = 4;
	assert_int_equal(shm_ring_peek(f->c, &rec), 0);
	shm_ring_advance(f->c);
	shm_rec_hdr_t *h2 = (shm_rec_hdr_t *)(data + 32);
	h2->seq = 99; /* out of sequence */
	assert_int_equal(shm_ring_peek(f->c, &rec), CH_EPROTO);
}

static void test_wakeup_only_when_sleeping(void **state)
{
	(void)state;
	size_t sz;
	void *mem = ring_alloc(DATA_SZ, MAX_REC, &sz);
	int data_fd = eventfd(0, EFD_NONBLOCK), space_fd = eventfd(0, EFD_NONBLOCK);
	assert_true(data_fd >= 0 && space_fd >= 0);
	shm_ring_t *p, *c;
	assert_int_equal(shm_ring_join(mem, sz, SHM_RING_PRODUCER, space_fd, data_fd, &p), 0);
	assert_int_equal(shm_ring_join(mem, sz, SHM_RING_CONSUMER, data_fd, space_fd, &c), 0);
	assert_int_equal(shm_ring_wake_fd(c), data_fd);
	uint64_t v = 0;
	/* consumer awake: publishing writes nothing */
	assert_int_equal(shm_ring_try_push(p, "a", 1, 0), 0);
	assert_int_equal(read(data_fd, &v, sizeof(v)), -1);
	/* work pending: may not sleep */
	assert_false(shm_ring_sleep_prepare(c));
	shm_rec_t rec;
	assert_int_equal(shm_ring_peek(c, &rec), 0);
	shm_ring_advance(c);
	shm_ring_commit(c);
	/* now it may sleep, and the next publish writes the eventfd once */
	assert_true(shm_ring_sleep_prepare(c));
	assert_int_equal(shm_ring_try_push(p, "b", 1, 0), 0);
	assert_int_equal(shm_ring_try_push(p, "c", 1, 0), 0);
	assert_int_equal(read(data_fd, &v, sizeof(v)), sizeof(v));
	assert_int_equal(v, 1);
	shm_ring_sleep_done(c);
	assert_int_equal(shm_ring_wait(c, 0, 1000000), 0);
	shm_ring_stats_t st;
	shm_ring_stats(c, &st);
	assert_int_equal(st.wakeups, 1);
	assert_int_equal(st.consumer_pid, getpid());
	/* an empty ring times out */
	while (shm_ring_peek(c, &rec) == 0)
		shm_ring_advance(c);
	shm_ring_commit(c);
	assert_int_equal(shm_ring_wait(c, 1000, 20 * 1000000ULL), CH_ETIMEDOUT);
	shm_ring_leave(&p);
	shm_ring_leave(&c);
	close(data_fd);
	close(space_fd);
	free(mem);
}

/* Two threads, one ring, a million records, both sides sleeping on
 * eventfds when idle: the threaded variant TSan checks. */
typedef struct thr_arg {
	void *mem;
	size_t sz;
	int data_fd, space_fd;
	uint64_t n;
	uint64_t bad;
} thr_arg_t;

static void *producer_thread(void *p)
{
	thr_arg_t *a = p;
	shm_ring_t *r;
	if (shm_ring_join(a->mem, a->sz, SHM_RING_PRODUCER, a->space_fd, a->data_fd, &r))
		return NULL;
	uint8_t buf[512];
	for (uint64_t i = 0; i < a->n;) {
		size_t sz = 8 + (i * 37) % 500;
		fill_pattern(buf, sz, i);
		int rc = shm_ring_try_write(r, buf, sz, 0);
		if (rc == CH_EAGAIN) {
			shm_ring_publish(r);
			shm_ring_wait(r, 20000, 1000000000ULL);
			continue;
		}
		i++;
		if ((i & 31) == 0)
			shm_ring_publish(r);
	}
	shm_ring_publish(r);
	shm_ring_leave(&r);
	return NULL;
}

static void test_two_threads(void **state)
{
	(void)state;
	thr_arg_t a = {.n = 1000000};
#ifdef CH_SANITIZE
	a.n = 200000;
#endif
	a.mem = ring_alloc(DATA_SZ, MAX_REC, &a.sz);
	a.data_fd = eventfd(0, EFD_NONBLOCK);
	a.space_fd = eventfd(0, EFD_NONBLOCK);
	shm_ring_t *c;
	assert_int_equal(shm_ring_join(a.mem, a.sz, SHM_RING_CONSUMER, a.data_fd, a.space_fd, &c),
	                 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, producer_thread, &a), 0);
	uint64_t got = 0;
	while (got < a.n) {
		shm_rec_t rec;
		int rc = shm_ring_peek(c, &rec);
		if (rc == CH_EAGAIN) {
			shm_ring_commit(c);
			assert_int_equal(shm_ring_wait(c, 20000, 5000000000ULL), 0);
			continue;
		}
		assert_int_equal(rc, 0);
		if (rec.seq != got || rec.size != 8 + (got * 37) % 500 ||
		    !check_pattern(rec.data, rec.size, got))
			a.bad++;
		shm_ring_advance(c);
		got++;
		if ((got & 15) == 0)
			shm_ring_commit(c);
	}
	shm_ring_commit(c);
	pthread_join(t, NULL);
	assert_int_equal(a.bad, 0);
	shm_ring_leave(&c);
	close(a.data_fd);
	close(a.space_fd);
	free(a.mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_footprint_rejects_bad_params),
	    cmocka_unit_test(test_new_rejects_bad_memory),
	    cmocka_unit_test(test_join_refuses_bad_regions),
	    cmocka_unit_test_setup_teardown(test_push_pop_basic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpublished_is_invisible, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_and_empty_edges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wraparound_random_sizes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zero_copy_prepare, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_consumer_restart_redelivers_uncommitted, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_producer_restart_discards_staged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_producer_seq_recovery_at_each_crash_point, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_header_is_reported, setup, teardown),
	    cmocka_unit_test(test_wakeup_only_when_sleeping),
	    cmocka_unit_test(test_two_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
