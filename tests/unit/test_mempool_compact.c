/* test_mempool_compact.c: journal upkeep of the mempool core
 * (docs/mempool.md "Persistence"): the journal is fdatasynced by the tick
 * once a second while something was written (counted in journal_syncs),
 * never when nothing was; the periodic tick compacts the journal
 * once it passes MP_COMPACT_MIN and twice the live size, not before, and
 * the compacted journal restores the same pool; and a process that is
 * killed with SIGKILL at random moments while it compacts again and again
 * (and acknowledges new transactions between compactions) never loses an
 * acknowledged transaction: every reopen restores all of them, undamaged. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "hash.h"
#include "services/mempool/core.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/chorus-mpcompact-XXXXXX");
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

/* sign: a transaction of its own key k (nonce 0) with 1000 bytes of data,
 * so a few thousand of them make megabytes of journal. */
static size_t sign(uint8_t *out, int k, uint8_t id[32])
{
	uint8_t seed[32] = {0}, data[1000];
	ch_pubkey_t pk;
	ch_seckey_t sk;
	size_t len = 0;
	seed[0] = (uint8_t)k;
	seed[1] = (uint8_t)(k >> 8);
	seed[2] = 0x77;
	memset(data, (uint8_t)k, sizeof(data));
	assert_int_equal(ch_ed25519_seed_keypair(&pk, &sk, seed), 0);
	assert_int_equal(
	    mp_tx_encode(out, MP_TX_MAX_SIZE, &sk, 0, 200000, data, sizeof(data), &len, id), 0);
	return len;
}

static mp_core_t *open_core(uint64_t now, mp_core_stats_t *st)
{
	mp_core_cfg_t cfg;
	memset(&cfg, 0, sizeof(cfg));
	mp_pool_cfg_default(&cfg.pool);
	cfg.pool.max_count = 20000;
	cfg.pool.seed = 5;
	snprintf(cfg.journal_path, sizeof(cfg.journal_path), "%s", path);
	cfg.ring_epoch = 1;
	mp_core_t *c = NULL;
	char err[256];
	assert_int_equal(mp_core_open(&cfg, now, &c, err, sizeof(err)), 0);
	if (st)
		mp_core_stats(c, now, st);
	return c;
}

/* add: transaction k submitted and committed (acknowledged). */
static void add(mp_core_t *c, int k, uint64_t now, uint8_t id[32])
{
	uint8_t tx[MP_TX_MAX_SIZE], got[32];
	mp_verdict_t v;
	size_t n = sign(tx, k, id);
	assert_int_equal(mp_core_submit(c, tx, n, 0, now, &v, got), 0);
	assert_int_equal(v.reason, 0);
	assert_int_equal(mp_core_commit(c), 0);
}

/* in_pool: every transaction k in [lo, hi) is pooled (probed by resubmitting: a duplicate). */
static void expect_all(mp_core_t *c, int lo, int hi, uint64_t now)
{
	uint8_t tx[MP_TX_MAX_SIZE], id[32], got[32];
	for (int k = lo; k < hi; k++) {
		mp_verdict_t v;
		size_t n = sign(tx, k, id);
		assert_int_equal(mp_core_submit(c, tx, n, 0, now, &v, got), 0);
		if (v.reason != CH_TXR_DUPLICATE)
			fail_msg("transaction %d lost (verdict %d)", k, v.reason);
	}
}

static void test_tick_compacts(void **state)
{
	(void)state;
	enum { LIVE = 50, BATCH = 100 };
	uint64_t now = 1000;
	mp_core_t *c = open_core(now, NULL);
	uint8_t id[32];
	for (int k = 0; k < LIVE; k++)
		add(c, k, now, id);
	/* churn: batches added and taken by blocks, so the file grows while
	 * the pool stays small; the tick (once a second) must not compact
	 * while the file is under MP_COMPACT_MIN */
	int k = LIVE;
	mp_core_stats_t st;
	for (;;) {
		uint8_t ids[BATCH * 32];
		for (int i = 0; i < BATCH; i++, k++)
			add(c, k, now, ids + 32 * i);
		uint32_t removed = 0;
		assert_int_equal(mp_core_block(c, NULL, 1, ids, BATCH, &removed), 0);
		assert_int_equal(removed, BATCH);
		assert_int_equal(mp_core_commit(c), 0);
		mp_core_stats(c, now, &st);
		if (st.journal_bytes > MP_COMPACT_MIN)
			break;
		now += MP_SYNC_MS;
		mp_core_tick(c, now);
		mp_core_stats(c, now, &st);
		assert_int_equal(st.compactions, 0);
	}
	uint64_t big = st.journal_bytes;
	assert_int_equal(st.pool.count, LIVE);
	/* within the second: nothing yet */
	mp_core_tick(c, now + 1);
	mp_core_stats(c, now, &st);
	assert_int_equal(st.compactions, 0);
	/* the next tick compacts */
	now += MP_SYNC_MS;
	mp_core_tick(c, now);
	mp_core_stats(c, now, &st);
	assert_int_equal(st.compactions, 1);
	assert_int_equal(st.journal_errors, 0);
	assert_true(st.journal_bytes < big / 10);
	struct stat fs;
	assert_int_equal(stat(path, &fs), 0);
	assert_int_equal((uint64_t)fs.st_size, st.journal_bytes);
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_not_equal(access(tmp, F_OK), 0);
	/* a second opener sees the same pool from the compacted file */
	mp_core_t *d = open_core(now, &st);
	assert_int_equal(st.pool.count, LIVE);
	assert_false(st.store_damaged);
	expect_all(d, 0, LIVE, now);
	mp_core_close(&d);
	/* the small compacted journal is not compacted again */
	now += MP_SYNC_MS;
	mp_core_tick(c, now);
	mp_core_stats(c, now, &st);
	assert_int_equal(st.compactions, 1);
	mp_core_close(&c);
}

/* The child: compacts, adds one transaction, reports it acknowledged
 * (after its commit) down the pipe, and again, until killed. */
static void compactor(int wfd, int next_k)
{
	mp_core_t *c = open_core(1000, NULL);
	uint8_t id[32];
	for (int k = next_k;; k++) {
		if (mp_core_compact(c) != 0)
			_exit(3);
		add(c, k, 1000, id);
		if (write(wfd, &k, sizeof(k)) != (ssize_t)sizeof(k))
			_exit(4);
	}
}

static void test_kill9_during_compaction(void **state)
{
	(void)state;
	enum { LIVE = 1500, ROUNDS = 25 };
	mp_core_t *c = open_core(1000, NULL);
	uint8_t id[32];
	for (int k = 0; k < LIVE; k++)
		add(c, k, 1000, id);
	mp_core_close(&c);
	srand((unsigned)time(NULL));
	int acked = LIVE, compactions_seen = 0, mid_rewrite = 0;
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	for (int r = 0; r < ROUNDS; r++) {
		int pfd[2];
		assert_int_equal(pipe(pfd), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			compactor(pfd[1], acked);
		}
		close(pfd[1]);
		/* let it run through a compaction or two, then kill it at a
		 * random moment (most of its time is spent compacting) */
		int k;
		if (read(pfd[0], &k, sizeof(k)) == (ssize_t)sizeof(k)) {
			assert_int_equal(k, acked);
			acked++;
			compactions_seen++;
		}
		struct timespec ts = {0, (long)(rand() % 20000) * 1000};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		/* what it acknowledged before dying */
		while (read(pfd[0], &k, sizeof(k)) == (ssize_t)sizeof(k)) {
			assert_int_equal(k, acked);
			acked++;
		}
		close(pfd[0]);
		/* killed between creating the new file and renaming it */
		mid_rewrite += access(tmp, F_OK) == 0;
		mp_core_stats_t st;
		c = open_core(1000, &st);
		if (st.store_damaged)
			fail_msg("round %d: the journal was damaged", r);
		/* all acknowledged, and at most the one in flight besides */
		if (st.pool.count < (uint32_t)acked || st.pool.count > (uint32_t)acked + 1)
			fail_msg("round %d: %u pooled, %d acknowledged", r, st.pool.count, acked);
		if (st.pool.count == (uint32_t)acked + 1)
			acked++; /* committed but killed before it reported: kept */
		mp_core_close(&c);
	}
	c = open_core(1000, NULL);
	expect_all(c, 0, acked, 1000);
	mp_core_close(&c);
	assert_true(compactions_seen > 0);
	print_message("%d kills (%d with the new file half made); %d transactions acknowledged, "
	              "all restored\n",
	              ROUNDS, mid_rewrite, acked);
}

static uint64_t syncs(mp_core_t *c)
{
	mp_core_stats_t st;
	mp_core_stats(c, 0, &st);
	return st.journal_syncs;
}

static void test_sync_timer(void **state)
{
	(void)state;
	uint64_t t0 = 5000;
	mp_core_t *c = open_core(t0, NULL);
	uint64_t s0 = syncs(c);
	uint8_t id[32];
	add(c, 1, t0, id);
	/* written, but the second is not over */
	mp_core_tick(c, t0 + MP_SYNC_MS - 1);
	assert_int_equal(syncs(c), s0);
	/* the second is over: synced */
	mp_core_tick(c, t0 + MP_SYNC_MS);
	assert_int_equal(syncs(c), s0 + 1);
	/* nothing written since: the next seconds cost no sync */
	mp_core_tick(c, t0 + 2 * MP_SYNC_MS);
	mp_core_tick(c, t0 + 3 * MP_SYNC_MS);
	assert_int_equal(syncs(c), s0 + 1);
	/* written in each of the next seconds: synced in each */
	for (int i = 0; i < 5; i++) {
		uint64_t now = t0 + (uint64_t)(4 + i) * MP_SYNC_MS;
		add(c, 10 + i, now, id);
		mp_core_tick(c, now);
		assert_int_equal(syncs(c), s0 + 2 + (uint64_t)i);
	}
	/* a busy stretch of ticks within one second: one sync, not one each */
	uint64_t t1 = t0 + 10 * MP_SYNC_MS;
	add(c, 20, t1, id);
	mp_core_tick(c, t1);
	uint64_t s1 = syncs(c);
	for (int i = 1; i < 10; i++) {
		add(c, 20 + i, t1 + (uint64_t)i, id);
		mp_core_tick(c, t1 + (uint64_t)i * (MP_SYNC_MS / 10));
	}
	assert_int_equal(syncs(c), s1);
	mp_core_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sync_timer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tick_compacts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill9_during_compaction, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
