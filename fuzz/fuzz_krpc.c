/* fuzz_krpc: a DHT datagram through the bencode decoder and the KRPC
 * parser (services/discovery/bencode.c, krpc.c); what parses is encoded
 * again and must parse to the same message. */
#include "../services/discovery/krpc.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* bencode alone, with tight and loose limits */
	static ben_tok_t toks[1024];
	static const ben_limits_t tight = {
	    .max_input = BEN_PKT_MAX_INPUT, .max_depth = 4, .max_tokens = 32, .max_str = 64};
	static const ben_limits_t loose = {
	    .max_input = 1 << 20, .max_depth = 64, .max_tokens = 1024, .max_str = 1 << 20};
	ben_doc_t doc;
	ben_stats_t bst = {0};
	if (ben_decode(&doc, data, size, toks, 32, &tight, &bst) == BEN_OK)
		FUZZ_CHECK(doc.ntoks >= 1 && doc.ntoks <= 32 && toks[0].end == size);
	if (ben_decode(&doc, data, size, toks, 1024, &loose, &bst) == BEN_OK) {
		FUZZ_CHECK(doc.ntoks >= 1 && doc.ntoks <= 1024);
		for (uint32_t i = 0; i < doc.ntoks; i++) {
			FUZZ_CHECK(toks[i].start < toks[i].end && toks[i].end <= size);
			FUZZ_CHECK(toks[i].next > i && toks[i].next <= doc.ntoks);
			if (toks[i].type == BEN_STR)
				FUZZ_CHECK(toks[i].soff + (size_t)toks[i].slen <= size);
		}
		if (toks[0].type == BEN_DICT) {
			const uint8_t *p;
			size_t n;
			int64_t v;
			ben_get_str(&doc, 0, "y", &p, &n);
			ben_get_int(&doc, 0, "seq", &v);
		}
	}

	krpc_msg_t m;
	if (krpc_parse(data, size, &m, &bst) != KRPC_OK)
		return 0;
	uint8_t out[KRPC_PKT_MAX * 2];
	size_t olen;
	if (krpc_encode(&m, out, sizeof(out), &olen) == 0) {
		krpc_msg_t m2;
		FUZZ_CHECK(krpc_parse(out, olen, &m2, NULL) == KRPC_OK);
		FUZZ_CHECK(m2.y == m.y && m2.q == m.q);
	}
	return 0;
}
