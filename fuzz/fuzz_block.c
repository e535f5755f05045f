/* fuzz_block: BLOCK payloads in their three forms (proto/block.c): a full
 * block, a compact block (header and short ids) and a "blktxn" reply
 * (the missing transactions of a compact block). */
#include "fuzz.h"
#include "block.h"

#define MAX_TXS 512 /* as a small ring-max-msg allows; the decoder must respect it */

static uint8_t txs[RL_BLOCK_TXS_MAX * 32];
static uint32_t idx[RL_BLOCK_TXS_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	if (sodium_init() < 0)
		abort();
	return 0;
}

static void one(const uint8_t *data, size_t size, uint32_t max_txs)
{
	rl_blkmsg_t m;
	memset(&m, 0, sizeof(m));
	m.b.txs = txs;
	m.idx = idx;
	if (rl_blkmsg_decode(data, size, max_txs, &m) != 0)
		return;
	switch (m.kind) {
	case RL_BLKMSG_FULL: {
		FUZZ_CHECK(m.b.ntx <= max_txs);
		rl_block_verify(&m.b);
		/* a decoded block encodes again within its computed size */
		size_t need = rl_block_size(&m.b);
		uint8_t *out = malloc(need ? need : 1);
		FUZZ_CHECK(out != NULL);
		FUZZ_CHECK(rl_block_encode(&m.b, true, out, need) <= need);
		free(out);
		break;
	}
	case RL_BLKMSG_CMPCT:
		FUZZ_CHECK(m.b.ntx <= max_txs);
		FUZZ_CHECK(m.b.ntx == 0 ||
		           (m.sid >= data && m.sid + (size_t)m.b.ntx * 6 <= data + size));
		break;
	case RL_BLKMSG_TXN:
		FUZZ_CHECK(m.n <= max_txs);
		break;
	default:
		FUZZ_CHECK(!"unknown kind");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, MAX_TXS);
	one(data, size, RL_BLOCK_TXS_MAX);
	return 0;
}
