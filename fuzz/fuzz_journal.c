/* fuzz_journal: the mempool's journal as the mempool opens it at start
 * (mp_core_open: services/mempool/journal.c replays it into the real
 * pool, core.c decides what is kept, a damaged file is cut back and
 * rewritten).  Each record carries a 4-byte BLAKE2b check; when the
 * input's first byte is odd the harness writes the right checks, so
 * mutations reach the records' bodies (transactions, removals, ring
 * positions).  The rewritten journal must open again undamaged, with
 * the transactions the first open kept. */
#include "../services/mempool/core.h"
#include "../services/mempool/journal.h"
#include "fuzz.h"
#include "hash.h"

#define NOW_MS 1700000000000ull

static uint8_t buf[1 << 20];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	if (sodium_init() < 0)
		abort();
	return 0;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* fix_checks: rewrites each record's check over its length and body */
static void fix_checks(uint8_t *b, size_t len)
{
	size_t off = MP_J_HDR_SZ;
	while (len - off >= 8 && off <= len) {
		uint32_t rl = get32(b + off);
		if (rl > len - off - 8)
			break;
		uint8_t sum[32];
		crypto_generichash_state st;
		crypto_generichash_init(&st, NULL, 0, 32);
		crypto_generichash_update(&st, b + off, 4);
		crypto_generichash_update(&st, b + off + 8, rl);
		crypto_generichash_final(&st, sum, 32);
		memcpy(b + off + 4, sum, 4);
		off += 8 + rl;
	}
}

static int open_core(const char *path, mp_core_t **c, mp_core_stats_t *st)
{
	mp_core_cfg_t cfg;
	memset(&cfg, 0, sizeof(cfg));
	mp_pool_cfg_default(&cfg.pool);
	/* small tables: the pool is made per input (the journal's bounds do
	 * not depend on them) */
	cfg.pool.max_count = 256;
	cfg.pool.max_bytes = 1u << 20;
	cfg.pool.rejects_max = 64;
	cfg.pool.seed = 1;
	snprintf(cfg.journal_path, sizeof(cfg.journal_path), "%s", path);
	cfg.ring_epoch = 1;
	char err[256];
	int rc = mp_core_open(&cfg, NOW_MS, c, err, sizeof(err));
	if (rc == 0)
		mp_core_stats(*c, NOW_MS, st);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size - 1 > sizeof(buf))
		return 0;
	bool fix = data[0] & 1;
	size--;
	memcpy(buf, data + 1, size);
	if (fix && size >= MP_J_HDR_SZ)
		fix_checks(buf, size);
	char path[512];
	fuzz_write_file("mempool.journal", buf, size, path, sizeof(path));
	mp_core_t *c = NULL;
	mp_core_stats_t st;
	if (open_core(path, &c, &st) != 0)
		return 0;
	/* what is pooled after the open (restored, less what had expired)
	 * is what the journal now holds */
	uint32_t live = st.pool.count;
	mp_core_close(&c);
	FUZZ_CHECK(open_core(path, &c, &st) == 0);
	FUZZ_CHECK(!st.store_damaged);
	FUZZ_CHECK(st.restored == live && st.pool.count == live);
	mp_core_close(&c);
	return 0;
}
