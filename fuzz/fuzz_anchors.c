/* fuzz_anchors: DATADIR/anchors.dat, the block-relay peers of the
 * previous run, as discovery reads it at start (anchors_load in
 * services/discovery/svc_member.c, compiled in here).  The file ends with
 * a BLAKE2b-256 of the rest; when the input's first byte is odd the
 * harness writes the right sum, so mutations reach the entries.  What
 * loads is saved and loaded again to the same anchors. */
#include "../services/discovery/svc_member.c"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	if (sodium_init() < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[4096];
	if (size < 1 || size - 1 > sizeof(buf))
		return 0;
	bool fix = data[0] & 1;
	size--;
	memcpy(buf, data + 1, size);
	if (fix && size >= 32)
		ch_blake2b256(buf + size - 32, buf, size - 32);
	char path[512];
	fuzz_write_file("anchors.dat", buf, size, path, sizeof(path));
	mb_anchor_t a[MB_ANCHORS + 1], b[MB_ANCHORS + 1];
	memset(a, 0, sizeof(a));
	size_t n = anchors_load(path, a);
	FUZZ_CHECK(n <= MB_ANCHORS);
	if (n > 0) {
		FUZZ_CHECK(anchors_save(path, a, n) == 0);
		memset(b, 0, sizeof(b));
		FUZZ_CHECK(anchors_load(path, b) == n);
		FUZZ_CHECK(memcmp(a, b, n * sizeof(a[0])) == 0);
	}
	return 0;
}
