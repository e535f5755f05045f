/* fuzz_inv: INV, GETDATA and NOTFOUND payloads, and GETDATA's "blktx"
 * form (the missing-transaction request of a compact block)
 * (proto/inv.c). */
#include "fuzz.h"
#include "inv.h"

static rl_inv_t inv; /* large: ids and indexes */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (rl_inv_decode(data, size, &inv) != 0)
		return 0;
	FUZZ_CHECK(inv.ntx <= WIRE_INV_IDS_MAX && inv.nblk <= WIRE_INV_IDS_MAX);
	FUZZ_CHECK(inv.nidx <= RL_BLOCK_TXS_MAX);
	/* every id the decoder hands back lies inside the input */
	for (uint32_t i = 0; i < inv.ntx; i++)
		FUZZ_CHECK(inv.tx[i] >= data && inv.tx[i] + 32 <= data + size);
	for (uint32_t i = 0; i < inv.nblk; i++)
		FUZZ_CHECK(inv.blk[i] >= data && inv.blk[i] + 32 <= data + size);
	if (inv.has_blktx)
		FUZZ_CHECK(inv.blktx_id >= data && inv.blktx_id + 32 <= data + size);
	return 0;
}
