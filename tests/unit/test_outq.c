/* test_outq.c: the output staging queue (shm/outq.h) against a real ring:
 * records wait while the ring is full and leave in order as the consumer
 * frees room; the mark holds back uncommitted batches; a record the ring
 * can never take is dropped and counted; the buffer grows, compacts and
 * rewinds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "outq.h"
#include "ring.h"

#define DATA_SZ (16 * 1024)
#define MAX_REC 1024

typedef struct fixture {
	void *mem;
	shm_ring_t *p, *c;
	shm_outq_t q;
} fixture_t;

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	size_t sz = shm_ring_footprint(DATA_SZ, MAX_REC);
	f->mem = aligned_alloc(shm_ring_align(), sz);
	assert_ptr_equal(shm_ring_new(f->mem, DATA_SZ, MAX_REC), f->mem);
	assert_int_equal(shm_ring_join(f->mem, sz, SHM_RING_PRODUCER, -1, -1, &f->p), 0);
	assert_int_equal(shm_ring_join(f->mem, sz, SHM_RING_CONSUMER, -1, -1, &f->c), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;
	shm_outq_free(&f->q);
	shm_ring_leave(&f->p);
	shm_ring_leave(&f->c);
	free(f->mem);
	free(f);
	return 0;
}

/* consume: reads up to max records, checking tags run on from *next and
 * each payload holds its tag; returns how many. */
static int consume(fixture_t *f, int max, uint32_t *next)
{
	shm_rec_t rec;
	int n = 0;
	while (n < max && shm_ring_peek(f->c, &rec) == 0) {
		assert_int_equal(rec.tag, *next);
		assert_int_equal(rec.size, 300 + rec.tag % 7);
		for (size_t i = 0; i < rec.size; i++)
			assert_int_equal(((const uint8_t *)rec.data)[i], (uint8_t)(rec.tag + i));
		shm_ring_advance(f->c);
		(*next)++;
		n++;
	}
	shm_ring_commit(f->c);
	return n;
}

static void push_n(shm_outq_t *q, uint32_t from, uint32_t n)
{
	uint8_t buf[400];
	for (uint32_t t = from; t < from + n; t++) {
		size_t len = 300 + t % 7;
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)(t + i);
		/* split in two parts, as the mempool's header + encoding */
		assert_int_equal(shm_outq_push(q, t, buf, 10, buf + 10, len - 10), 0);
	}
}

/* More records than the ring holds: they wait, and leave in order as
 * room comes. */
static void test_waits_for_room(void **state)
{
	fixture_t *f = *state;
	uint32_t next = 1;
	bool full;
	uint64_t refused = 0;
	push_n(&f->q, 1, 200); /* ~62 KiB, the ring holds 16 */
	int moved = shm_outq_flush(&f->q, f->p, true, &full, &refused);
	assert_true(moved > 0);
	assert_true(full);
	assert_true(shm_outq_bytes(&f->q) > 0);
	int total = moved, loops = 0;
	while (shm_outq_bytes(&f->q) > 0) {
		assert_true(++loops < 1000);
		consume(f, 5, &next);
		total += shm_outq_flush(&f->q, f->p, true, &full, &refused);
	}
	assert_int_equal(total, 200);
	assert_false(full);
	consume(f, 1000, &next);
	assert_int_equal(next, 201);
	assert_int_equal(refused, 0);
	/* empty: rewound to the start */
	assert_int_equal(f->q.head, 0);
	assert_int_equal(f->q.len, 0);
}

/* Only marked records leave when !all; an unmarked batch can be dropped. */
static void test_mark(void **state)
{
	fixture_t *f = *state;
	uint32_t next = 1;
	push_n(&f->q, 1, 3);
	assert_int_equal(shm_outq_flush(&f->q, f->p, false, NULL, NULL), 0);
	shm_outq_mark(&f->q);
	push_n(&f->q, 4, 2); /* a batch not committed yet */
	assert_int_equal(shm_outq_flush(&f->q, f->p, false, NULL, NULL), 3);
	assert_int_equal(consume(f, 100, &next), 3);
	shm_outq_drop_unmarked(&f->q); /* the batch failed */
	assert_int_equal(shm_outq_bytes(&f->q), 0);
	push_n(&f->q, 4, 2);
	shm_outq_mark(&f->q);
	assert_int_equal(shm_outq_flush(&f->q, f->p, false, NULL, NULL), 2);
	assert_int_equal(consume(f, 100, &next), 2);
	assert_int_equal(next, 6);
}

/* A record larger than the ring's limit is dropped and counted; the ones
 * behind it still leave. */
static void test_refused(void **state)
{
	fixture_t *f = *state;
	uint64_t refused = 0;
	uint32_t next = 2;
	bool full;
	uint8_t *p = shm_outq_begin(&f->q, MAX_REC * 2);
	assert_non_null(p);
	memset(p, 0, MAX_REC * 2);
	shm_outq_end(&f->q, 1, MAX_REC * 2);
	push_n(&f->q, 2, 1);
	assert_int_equal(shm_outq_flush(&f->q, f->p, true, &full, &refused), 2);
	assert_int_equal(refused, 1);
	assert_false(full);
	assert_int_equal(consume(f, 10, &next), 1);
}

/* The buffer compacts when the head has moved, and a burst's large buffer
 * is given back once empty. */
static void test_growth(void **state)
{
	fixture_t *f = *state;
	uint32_t tag;
	const uint8_t *p;
	uint32_t len;
	push_n(&f->q, 1, 100);
	size_t cap = f->q.cap;
	for (int i = 0; i < 50; i++)
		shm_outq_pop(&f->q);
	push_n(&f->q, 101, 150); /* fits only after compaction: no growth */
	assert_int_equal(f->q.cap, cap);
	assert_int_equal(f->q.head, 0);
	assert_true(shm_outq_next(&f->q, &tag, &p, &len));
	assert_int_equal(tag, 51);
	shm_outq_clear(&f->q);
	assert_false(shm_outq_next(&f->q, &tag, &p, &len));
	assert_non_null(shm_outq_begin(&f->q, SHM_OUTQ_KEEP + 1));
	shm_outq_end(&f->q, 9, 1);
	assert_true(f->q.cap > SHM_OUTQ_KEEP);
	shm_outq_pop(&f->q);
	assert_null(f->q.buf);
	assert_int_equal(f->q.cap, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_waits_for_room, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mark, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_growth, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
