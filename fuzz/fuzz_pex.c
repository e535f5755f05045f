/* fuzz_pex: GETPEERS and PEERS payloads (proto/pex.c), as discovery reads
 * them from a peer. */
#include "fuzz.h"
#include "pex.h"

static bool keep_routable(const pex_addr_t *a)
{
	return a->port != 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pex_getpeers_check(data, size);
	pex_addr_t out[PEX_REPLY_MAX];
	size_t n = 0;
	pex_stats_t st;
	if (pex_peers_decode(data, size, NULL, out, PEX_REPLY_MAX, &n, &st) == 0) {
		FUZZ_CHECK(n <= PEX_REPLY_MAX);
		FUZZ_CHECK(n + st.bad + st.dropped == st.total);
		/* what decodes re-encodes to something that decodes the same */
		uint8_t *enc;
		size_t elen;
		if (pex_peers_encode(out, n, &enc, &elen) == 0) {
			pex_addr_t back[PEX_REPLY_MAX];
			size_t n2 = 0;
			FUZZ_CHECK(
			    pex_peers_decode(enc, elen, NULL, back, PEX_REPLY_MAX, &n2, NULL) == 0);
			FUZZ_CHECK(n2 == n && memcmp(back, out, n * sizeof(*out)) == 0);
			free(enc);
		}
	}
	pex_addr_t few[3];
	pex_peers_decode(data, size, keep_routable, few, 3, &n, NULL);
	FUZZ_CHECK(n <= 3);
	return 0;
}
