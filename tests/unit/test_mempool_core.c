/* test_mempool_core.c: the journal (replay, truncation at every byte, a
 * corrupt byte, a bad header, compaction) and the core: API submissions
 * with their events, persistence across a reopen, and the ring path with
 * real in-memory rings: TX_SUBMIT, TX_REQUEST, BLOCK and malformed
 * records in, ACCEPTED / REJECTED / DATA / NOTFOUND / REMOVED out, and
 * exactly-once: records redelivered after a crash (same ring epoch) are
 * skipped, a new epoch starts afresh. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "hash.h"
#include "ring.h"
#include "services/mempool/core.h"

static char dir[64];
static char path[128];

/* setup / teardown: a private folder for the journal. */
static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/chorus-mpcore-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mempool.journal", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char p[160];
	unlink(path);
	snprintf(p, sizeof(p), "%s.tmp", path);
	unlink(p);
	rmdir(dir);
	return 0;
}

/* sign: a real transaction of key k, nonce n, fee f. */
static size_t sign(uint8_t *out, int k, uint64_t n, uint64_t f, uint8_t id[32])
{
	uint8_t seed[32] = {0};
	ch_pubkey_t pk;
	ch_seckey_t sk;
	size_t len = 0;
	seed[0] = (uint8_t)k;
	seed[1] = (uint8_t)(k >> 8);
	assert_int_equal(ch_ed25519_seed_keypair(&pk, &sk, seed), 0);
	assert_int_equal(mp_tx_encode(out, MP_TX_MAX_SIZE, &sk, n, f, "data", 4, &len, id), 0);
	return len;
}

typedef struct {
	int accepted, rejected, removed, block;
	int last_reason;
} evlog_t;

/* on_ev: counts the core's events. */
static void on_ev(void *user, const mp_event_t *ev)
{
	evlog_t *l = user;
	switch (ev->kind) {
	case MP_EV_ACCEPTED:
		l->accepted++;
		break;
	case MP_EV_REJECTED:
		l->rejected++;
		l->last_reason = ev->reason;
		assert_non_null(ev->text);
		break;
	case MP_EV_REMOVED:
		l->removed++;
		break;
	case MP_EV_BLOCK:
		l->block++;
		break;
	}
}

/* open_core: a core on the test journal with this ring epoch. */
static mp_core_t *open_core(uint64_t epoch, evlog_t *log, uint64_t now)
{
	mp_core_cfg_t cfg;
	memset(&cfg, 0, sizeof(cfg));
	mp_pool_cfg_default(&cfg.pool);
	cfg.pool.max_count = 1000;
	cfg.pool.seed = 5;
	snprintf(cfg.journal_path, sizeof(cfg.journal_path), "%s", path);
	cfg.ring_epoch = epoch;
	cfg.on_event = on_ev;
	cfg.event_user = log;
	mp_core_t *c = NULL;
	char err[256];
	assert_int_equal(mp_core_open(&cfg, now, &c, err, sizeof(err)), 0);
	return c;
}

/* pool_count: transactions pooled. */
static uint32_t pool_count(mp_core_t *c)
{
	mp_core_stats_t st;
	mp_core_stats(c, 0, &st);
	return st.pool.count;
}

/* test_submit_persist_reopen: API submissions, events after commit, a block, and what a second
 * opener (a restarted process) sees. */
static void test_submit_persist_reopen(void **state)
{
	(void)state;
	evlog_t log = {0};
	uint8_t tx[MP_TX_MAX_SIZE], id[32], got[32];
	mp_verdict_t v;
	mp_core_t *c = open_core(1, &log, 1000);
	for (int i = 0; i < 50; i++) {
		size_t n = sign(tx, 1 + i / 10, (uint64_t)i, 1000 + (uint64_t)i, id);
		assert_int_equal(mp_core_submit(c, tx, n, 0, 1000, &v, got), 0);
		assert_int_equal(v.reason, 0);
		assert_memory_equal(got, id, 32);
	}
	/* events wait for the commit */
	assert_int_equal(log.accepted, 0);
	assert_int_equal(mp_core_commit(c), 0);
	assert_int_equal(log.accepted, 50);
	/* malformed and too large: rejected at once, with an event */
	assert_int_equal(mp_core_submit(c, (const uint8_t *)"\x80", 1, 0, 1000, &v, got), 0);
	assert_int_equal(v.reason, CH_TXR_MALFORMED);
	static uint8_t big[MP_TX_MAX_SIZE + 1];
	assert_int_equal(mp_core_submit(c, big, sizeof(big), 0, 1000, &v, got), 0);
	assert_int_equal(v.reason, CH_TXR_TOO_LARGE);
	assert_int_equal(log.rejected, 2);
	/* a block takes ten */
	uint8_t ids[10 * 32];
	for (int i = 0; i < 10; i++)
		sign(tx, 1, (uint64_t)i, 1000 + (uint64_t)i, ids + 32 * i);
	uint32_t removed = 0;
	assert_int_equal(mp_core_block(c, NULL, 7, ids, 10, &removed), 0);
	assert_int_equal(removed, 10);
	assert_int_equal(mp_core_commit(c), 0);
	assert_int_equal(log.removed, 10);
	assert_int_equal(log.block, 1);
	/* a second process opening the journal now (as after kill -9) sees
	 * exactly what was committed */
	evlog_t log2 = {0};
	mp_core_t *d = open_core(1, &log2, 2000);
	assert_int_equal(pool_count(d), 40);
	mp_core_stats_t st;
	mp_core_stats(d, 0, &st);
	assert_int_equal(st.restored, 40);
	assert_false(st.store_damaged);
	mp_core_close(&d);
	/* compaction keeps the same pool */
	assert_int_equal(mp_core_compact(c), 0);
	mp_core_close(&c);
	mp_core_close(&c);
	d = open_core(1, &log2, 3000);
	assert_int_equal(pool_count(d), 40);
	mp_core_close(&d);
	/* expired while down: dropped at open */
	d = open_core(1, &log2, 3000 + MP_DEF_EXPIRY_MS);
	assert_int_equal(pool_count(d), 0);
	mp_core_close(&d);
}

/* file_size / cut: helpers for damaging the journal. */
static off_t file_size(void)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* copy_file: the first len bytes of from into to. */
static void copy_file(const char *from, const char *to, off_t len)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	assert_non_null(a);
	assert_non_null(b);
	char buf[4096];
	while (len > 0) {
		size_t n = fread(buf, 1, (size_t)(len < 4096 ? len : 4096), a);
		assert_true(n > 0);
		fwrite(buf, 1, n, b);
		len -= (off_t)n;
	}
	fclose(a);
	fclose(b);
}

/* test_truncated_and_corrupt: the journal cut at every byte, a flipped byte, a bad header. */
static void test_truncated_and_corrupt(void **state)
{
	(void)state;
	evlog_t log = {0};
	uint8_t tx[MP_TX_MAX_SIZE], id[32];
	mp_verdict_t v;
	mp_core_t *c = open_core(1, &log, 1000);
	for (int i = 0; i < 6; i++) {
		size_t n = sign(tx, 50, (uint64_t)i, 5000, id);
		assert_int_equal(mp_core_submit(c, tx, n, 0, 1000, &v, id), 0);
		assert_int_equal(mp_core_commit(c), 0);
	}
	mp_core_close(&c);
	off_t full = file_size();
	char saved[160];
	snprintf(saved, sizeof(saved), "%s/saved", dir);
	copy_file(path, saved, full);
	/* every truncation point: open succeeds, keeps the whole records */
	uint32_t last = 0;
	for (off_t k = 0; k <= full; k++) {
		copy_file(saved, path, k);
		c = open_core(1, &log, 1000);
		uint32_t n = pool_count(c);
		mp_core_stats_t st;
		mp_core_stats(c, 0, &st);
		assert_true(n >= last);
		assert_true(n <= 6);
		/* damaged unless cut exactly at a record boundary */
		if (k == full)
			assert_int_equal(n, 6);
		last = n;
		mp_core_close(&c);
		/* after recovery the file is whole again */
		c = open_core(1, &log, 1000);
		mp_core_stats(c, 0, &st);
		assert_false(st.store_damaged);
		assert_int_equal(pool_count(c), n);
		mp_core_close(&c);
	}
	/* a flipped byte in the middle: the records before it survive */
	copy_file(saved, path, full);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, full / 2), 1);
	b ^= 0x55;
	assert_int_equal(pwrite(fd, &b, 1, full / 2), 1);
	close(fd);
	c = open_core(1, &log, 1000);
	mp_core_stats_t st;
	mp_core_stats(c, 0, &st);
	assert_true(st.store_damaged);
	assert_true(st.store_lost_bytes > 0);
	assert_true(pool_count(c) >= 2 && pool_count(c) < 6);
	mp_core_close(&c);
	/* a bad header: reported, started empty */
	fd = open(path, O_RDWR);
	assert_int_equal(pwrite(fd, "XXXX", 4, 0), 4);
	close(fd);
	c = open_core(1, &log, 1000);
	mp_core_stats(c, 0, &st);
	assert_true(st.store_damaged);
	assert_int_equal(pool_count(c), 0);
	mp_core_close(&c);
	unlink(saved);
}

/* ---------------------------------------------------------------- rings */

typedef struct {
	void *mem;
	shm_ring_t *prod, *cons;
} ring_t;

/* ring_make / ring_free: an in-memory ring with both ends joined. */
static void ring_make(ring_t *r)
{
	size_t fp = shm_ring_footprint(1 << 20, 1 << 16);
	assert_true(fp > 0);
	r->mem = aligned_alloc(shm_ring_align(), (fp + 127) & ~(size_t)127);
	assert_non_null(shm_ring_new(r->mem, 1 << 20, 1 << 16));
	assert_int_equal(shm_ring_join(r->mem, fp, SHM_RING_PRODUCER, -1, -1, &r->prod), 0);
	assert_int_equal(shm_ring_join(r->mem, fp, SHM_RING_CONSUMER, -1, -1, &r->cons), 0);
}

static void ring_free(ring_t *r)
{
	shm_ring_leave(&r->prod);
	shm_ring_leave(&r->cons);
	free(r->mem);
}

/* push_submit: a TX_SUBMIT record from peer. */
static void push_submit(ring_t *r, uint64_t peer, const uint8_t *tx, size_t n)
{
	uint8_t buf[MP_TX_MAX_SIZE + 16];
	ch_msg_tx_submit_t m = {.peer = peer, .len = (uint32_t)n};
	memcpy(buf, &m, sizeof(m));
	memcpy(buf + sizeof(m), tx, n);
	assert_int_equal(shm_ring_try_push(r->prod, buf, sizeof(m) + n, CH_TAG_TX_SUBMIT), 0);
}

/* Outputs read back from mempool.relay, counted by tag. */
typedef struct {
	int n[40];
	int last_reason;
	uint64_t last_peer;
	size_t data_len;
} outs_t;

/* drain_out: reads every output record, checking their shapes. */
static void drain_out(ring_t *r, outs_t *o)
{
	shm_rec_t rec;
	while (shm_ring_peek(r->cons, &rec) == 0) {
		assert_true(rec.tag < 40);
		o->n[rec.tag]++;
		if (rec.tag == CH_TAG_TX_REJECTED) {
			ch_msg_tx_rejected_t m;
			assert_int_equal(rec.size, sizeof(m));
			memcpy(&m, rec.data, sizeof(m));
			o->last_reason = m.reason;
			o->last_peer = m.peer;
		}
		if (rec.tag == CH_TAG_TX_DATA) {
			ch_msg_tx_data_t m;
			memcpy(&m, rec.data, sizeof(m));
			assert_int_equal(rec.size, sizeof(m) + m.len);
			o->data_len = m.len;
			mp_tx_t tx;
			assert_int_equal(mp_tx_decode(rec.data + sizeof(m), m.len, &tx, NULL, 0),
			                 0);
			assert_memory_equal(tx.id, m.id, 32);
		}
		shm_ring_advance(r->cons);
	}
	shm_ring_commit(r->cons);
}

/* test_ring_path_exactly_once: every input tag, malformed records, then redelivery with the same
 * and with a new epoch. */
static void test_ring_path_exactly_once(void **state)
{
	(void)state;
	evlog_t log = {0};
	ring_t in, out;
	outs_t o;
	ring_make(&in);
	ring_make(&out);
	mp_core_t *c = open_core(77, &log, 1000);
	mp_core_set_rings(c, in.cons, out.prod);
	uint8_t tx[MP_TX_MAX_SIZE], ids[20][32];
	size_t lens[20];
	/* 20 peer transactions, one duplicate, one bad signature, one
	 * malformed record, one unknown tag */
	for (int i = 0; i < 20; i++) {
		lens[i] = sign(tx, 300, (uint64_t)i, 2000, ids[i]);
		push_submit(&in, 1000 + (uint64_t)i, tx, lens[i]);
	}
	push_submit(&in, 5, tx, lens[19]);
	tx[lens[19] - 1] ^= 1;
	push_submit(&in, 6, tx, lens[19]);
	ch_msg_tx_submit_t bad = {.peer = 7, .len = 999};
	assert_int_equal(shm_ring_try_push(in.prod, &bad, sizeof(bad), CH_TAG_TX_SUBMIT), 0);
	assert_int_equal(shm_ring_try_push(in.prod, "??", 2, 99), 0);
	/* a request for a pooled and for an unknown id */
	ch_msg_tx_request_t req = {.peer = 9};
	memcpy(req.id, ids[3], 32);
	assert_int_equal(shm_ring_try_push(in.prod, &req, sizeof(req), CH_TAG_TX_REQUEST), 0);
	memset(req.id, 0xee, 32);
	assert_int_equal(shm_ring_try_push(in.prod, &req, sizeof(req), CH_TAG_TX_REQUEST), 0);
	/* a block with two of them */
	uint8_t blk[sizeof(ch_msg_block_t) + 64];
	ch_msg_block_t bm = {.height = 12, .ntx = 2};
	memcpy(blk, &bm, sizeof(bm));
	memcpy(blk + sizeof(bm), ids[0], 32);
	memcpy(blk + sizeof(bm) + 32, ids[1], 32);
	assert_int_equal(shm_ring_try_push(in.prod, blk, sizeof(blk), CH_TAG_BLOCK), 0);
	/* a block whose count lies */
	bm.ntx = 1000;
	assert_int_equal(shm_ring_try_push(in.prod, &bm, sizeof(bm), CH_TAG_BLOCK), 0);

	int total = 0, n;
	while ((n = mp_core_ring_work(c, 1000)) > 0)
		total += n;
	assert_int_equal(total, 28);
	memset(&o, 0, sizeof(o));
	drain_out(&out, &o);
	assert_int_equal(o.n[CH_TAG_TX_ACCEPTED], 20);
	assert_int_equal(o.n[CH_TAG_TX_REJECTED], 3); /* duplicate, bad sig, malformed */
	assert_int_equal(o.n[CH_TAG_TX_DATA], 1);
	assert_true(o.data_len == lens[3]);
	assert_int_equal(o.n[CH_TAG_TX_NOTFOUND], 1);
	assert_int_equal(o.n[CH_TAG_TX_REMOVED], 2);
	assert_int_equal(pool_count(c), 18);
	mp_core_stats_t st;
	mp_core_stats(c, 0, &st);
	assert_int_equal(st.ring_bad, 3); /* length lie, unknown tag, block count lie */
	assert_true(st.have_applied);
	assert_int_equal(st.applied_seq, 27);
	assert_int_equal(log.accepted, 20);
	mp_core_close(&c);

	/* Redelivery: the same records with the same seqs (a consumer that
	 * crashed after its journal write, before its ring commit), same
	 * epoch: none applied again; the 18 still pooled have their
	 * acceptance announced again (it may never have reached relay), the
	 * two the block took do not, and nothing is rejected. */
	ring_t in2, out2;
	ring_make(&in2);
	ring_make(&out2);
	for (int i = 0; i < 20; i++) {
		sign(tx, 300, (uint64_t)i, 2000, ids[i]);
		push_submit(&in2, 1000 + (uint64_t)i, tx, lens[i]);
	}
	evlog_t log2 = {0};
	c = open_core(77, &log2, 1000);
	assert_int_equal(pool_count(c), 18);
	mp_core_set_rings(c, in2.cons, out2.prod);
	while (mp_core_ring_work(c, 1000) > 0) {
	}
	memset(&o, 0, sizeof(o));
	drain_out(&out2, &o);
	mp_core_stats(c, 0, &st);
	assert_int_equal(st.ring_skipped, 20);
	assert_int_equal(st.ring_in, 0);
	assert_int_equal(st.reannounced, 18);
	assert_int_equal(o.n[CH_TAG_TX_ACCEPTED], 18);
	assert_int_equal(o.n[CH_TAG_TX_REJECTED], 0);
	assert_int_equal(log2.accepted, 0); /* no second event: the state did not change */
	mp_core_close(&c);

	/* A new node (new epoch): the ring starts at seq 0 again and every
	 * record is applied (here: duplicates of pooled ones, and the two
	 * that the block removed come back). */
	ring_t in3, out3;
	ring_make(&in3);
	ring_make(&out3);
	for (int i = 0; i < 20; i++) {
		sign(tx, 300, (uint64_t)i, 2000, ids[i]);
		push_submit(&in3, 1000 + (uint64_t)i, tx, lens[i]);
	}
	c = open_core(78, &log2, 1000);
	mp_core_set_rings(c, in3.cons, out3.prod);
	while (mp_core_ring_work(c, 1000) > 0) {
	}
	memset(&o, 0, sizeof(o));
	drain_out(&out3, &o);
	assert_int_equal(o.n[CH_TAG_TX_REJECTED], 18);
	assert_int_equal(o.last_reason, CH_TXR_DUPLICATE);
	assert_int_equal(o.n[CH_TAG_TX_ACCEPTED], 2);
	assert_int_equal(pool_count(c), 20);
	mp_core_close(&c);
	ring_free(&in);
	ring_free(&out);
	ring_free(&in2);
	ring_free(&out2);
	ring_free(&in3);
	ring_free(&out3);
}

/* Backpressure: with mempool.relay never read, outputs queue up to the
 * bound and then the input ring is no longer read. */
static void test_backpressure(void **state)
{
	(void)state;
	evlog_t log = {0};
	ring_t in, out;
	ring_make(&in);
	ring_make(&out);
	mp_core_t *c = open_core(3, &log, 1000);
	mp_core_set_rings(c, in.cons, out.prod);
	uint8_t tx[MP_TX_MAX_SIZE], id[32];
	size_t n = sign(tx, 400, 1, 5000, id);
	mp_tx_t t;
	assert_int_equal(mp_tx_decode(tx, n, &t, NULL, 0), 0);
	ch_msg_tx_request_t req = {.peer = 1};
	memcpy(req.id, id, 32);
	/* pool it, then ask for it many times: each answer is a TX_DATA */
	uint8_t got[32];
	mp_verdict_t v;
	assert_int_equal(mp_core_submit(c, tx, n, 0, 1000, &v, got), 0);
	assert_int_equal(mp_core_commit(c), 0);
	uint64_t pushed = 0;
	for (int round = 0; round < 400; round++) {
		while (shm_ring_try_push(in.prod, &req, sizeof(req), CH_TAG_TX_REQUEST) == 0)
			pushed++;
		mp_core_ring_work(c, 1000);
	}
	mp_core_stats_t st;
	mp_core_stats(c, 0, &st);
	/* the output ring is full, the queue stopped at its bound, and
	 * requests wait in the input ring */
	assert_true(st.outq_bytes >= MP_OUTQ_MAX / 2);
	assert_true(st.outq_bytes < MP_OUTQ_MAX / 2 + 65536);
	assert_true(mp_core_pending_input(c) > 0);
	/* the consumer reads: everything flows again, nothing was lost */
	outs_t o;
	memset(&o, 0, sizeof(o));
	for (int i = 0; i < 100000 && (mp_core_pending_input(c) > 0 || st.outq_bytes > 0); i++) {
		drain_out(&out, &o);
		mp_core_ring_work(c, 1000);
		mp_core_stats(c, 0, &st);
	}
	drain_out(&out, &o);
	assert_int_equal((uint64_t)o.n[CH_TAG_TX_DATA], pushed);
	mp_core_close(&c);
	ring_free(&in);
	ring_free(&out);
}

/* shared_ring: a ring in MAP_SHARED memory, so a forked child and this
 * process see one ring, as two services do. */
static void *shared_ring(size_t *fp)
{
	*fp = shm_ring_footprint(1 << 20, 1 << 16);
	void *mem = mmap(NULL, *fp, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_non_null(shm_ring_new(mem, 1 << 20, 1 << 16));
	return mem;
}

/* Crash contract: a mempool process applies peer submissions while
 * mempool.relay is full, so their acceptances wait in its queue, and is
 * killed with SIGKILL.  The input ring was not committed, so the restarted
 * core gets the records again and announces every acceptance: none lost. */
static void test_kill9_with_full_output(void **state)
{
	(void)state;
	size_t fp;
	void *in_mem = shared_ring(&fp), *out_mem = shared_ring(&fp);
	shm_ring_t *in_prod, *out_cons, *out_prod;
	assert_int_equal(shm_ring_join(in_mem, fp, SHM_RING_PRODUCER, -1, -1, &in_prod), 0);
	assert_int_equal(shm_ring_join(out_mem, fp, SHM_RING_PRODUCER, -1, -1, &out_prod), 0);
	/* relay is not reading mempool.relay: fill it */
	static uint8_t filler[60000];
	for (size_t sz = sizeof(filler); sz >= 1; sz /= 4)
		while (shm_ring_try_push(out_prod, filler, sz, CH_TAG_TX_NOTFOUND) == 0) {
		}
	shm_ring_leave(&out_prod);
	uint8_t tx[MP_TX_MAX_SIZE], id[32];
	enum { NTX = 10 };
	for (int i = 0; i < NTX; i++) {
		size_t n = sign(tx, 200, (uint64_t)i, 3000, id);
		ring_t r = {.prod = in_prod};
		push_submit(&r, 500 + (uint64_t)i, tx, n);
	}
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		evlog_t log = {0};
		shm_ring_t *in_cons, *out_p;
		if (shm_ring_join(in_mem, fp, SHM_RING_CONSUMER, -1, -1, &in_cons) != 0 ||
		    shm_ring_join(out_mem, fp, SHM_RING_PRODUCER, -1, -1, &out_p) != 0)
			_exit(2);
		mp_core_t *c = open_core(9, &log, 1000);
		mp_core_set_rings(c, in_cons, out_p);
		for (int i = 0; i < 10; i++)
			mp_core_ring_work(c, 1000);
		mp_core_stats_t st;
		mp_core_stats(c, 0, &st);
		if (st.ring_in != NTX || st.outq_bytes == 0 || st.pool.count != NTX)
			_exit(3);
		raise(SIGKILL);
		_exit(4);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* the restarted mempool: relay reads again */
	shm_ring_t *in_cons;
	assert_int_equal(shm_ring_join(in_mem, fp, SHM_RING_CONSUMER, -1, -1, &in_cons), 0);
	assert_int_equal(shm_ring_join(out_mem, fp, SHM_RING_PRODUCER, -1, -1, &out_prod), 0);
	assert_int_equal(shm_ring_join(out_mem, fp, SHM_RING_CONSUMER, -1, -1, &out_cons), 0);
	evlog_t log = {0};
	mp_core_t *c = open_core(9, &log, 1000);
	assert_int_equal(pool_count(c), NTX);
	mp_core_set_rings(c, in_cons, out_prod);
	outs_t o;
	memset(&o, 0, sizeof(o));
	ring_t rd = {.cons = out_cons};
	for (int i = 0; i < 20; i++) {
		drain_out(&rd, &o);
		mp_core_ring_work(c, 1000);
	}
	drain_out(&rd, &o);
	assert_int_equal(o.n[CH_TAG_TX_ACCEPTED], NTX);
	assert_int_equal(mp_core_pending_input(c), 0);
	mp_core_close(&c);
	shm_ring_leave(&in_prod);
	shm_ring_leave(&in_cons);
	shm_ring_leave(&out_prod);
	shm_ring_leave(&out_cons);
	munmap(in_mem, fp);
	munmap(out_mem, fp);
}

/* main: runs every case in order. */
int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_submit_persist_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_and_corrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ring_path_exactly_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill9_with_full_output, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
