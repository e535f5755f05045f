/* fuzz_addrbook: DATADIR/addrbook.dat, discovery's address book, as
 * ab_load reads it (services/discovery/addrbook.c).  The file ends with a
 * BLAKE2b-256 of the rest; when the input's first byte is odd the harness
 * writes the right sum, so mutations reach the entries behind the check.
 * What loads is saved and loaded again to as many entries. */
#include "../services/discovery/addrbook.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size - 1 > sizeof(buf))
		return 0;
	bool fix = data[0] & 1;
	size--;
	memcpy(buf, data + 1, size);
	if (fix && size >= 32)
		ch_blake2b256(buf + size - 32, buf, size - 32);
	char path[512];
	fuzz_write_file("addrbook.dat", buf, size, path, sizeof(path));
	ab_config_t cfg = {0};
	ab_t *b = ab_new(&cfg);
	FUZZ_CHECK(b != NULL);
	if (ab_load(b, path, NOW_MS) == 0) {
		size_t n = ab_count(b, AB_ANY);
		FUZZ_CHECK(ab_save(b, path) == 0);
		ab_t *c = ab_new(&cfg);
		FUZZ_CHECK(c != NULL);
		FUZZ_CHECK(ab_load(c, path, NOW_MS) == 0);
		FUZZ_CHECK(ab_count(c, AB_ANY) == n);
		ab_destroy(&c);
	} else {
		FUZZ_CHECK(ab_count(b, AB_ANY) == 0);
	}
	ab_destroy(&b);
	return 0;
}
