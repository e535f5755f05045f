/* fuzz_tx: a TX message ({"tx": encoding}, proto/inv.c) and the
 * transaction encoding inside it (proto/tx.c), as relay and mempool
 * decode them; the signature is checked for what decodes. */
#include "fuzz.h"
#include "inv.h"
#include "tx.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	if (sodium_init() < 0)
		abort();
	return 0;
}

static void one_tx(const uint8_t *buf, size_t len)
{
	mp_tx_t tx;
	char why[128];
	if (mp_tx_decode(buf, len, &tx, why, sizeof(why)) != 0) {
		FUZZ_CHECK(memchr(why, 0, sizeof(why)) != NULL);
		return;
	}
	/* canonical: the whole input is the encoding, data lies inside it */
	FUZZ_CHECK(tx.enc == buf && tx.size == len);
	FUZZ_CHECK(len >= MP_TX_MIN_SIZE && len <= MP_TX_MAX_SIZE);
	FUZZ_CHECK(tx.data_len <= MP_TX_DATA_MAX);
	FUZZ_CHECK(tx.data_len == 0 || (tx.data >= buf && tx.data + tx.data_len <= buf + len));
	mp_tx_verify(&tx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *enc;
	uint32_t elen;
	if (rl_tx_decode(data, size, &enc, &elen) == 0) {
		FUZZ_CHECK(enc >= data && enc + elen <= data + size);
		one_tx(enc, elen);
	}
	one_tx(data, size);
	return 0;
}
