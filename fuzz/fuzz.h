/* fuzz.h: what the libFuzzer targets share (docs/fuzzing.md).
 *
 * Every target defines LLVMFuzzerTestOneInput and runs the real decoder on
 * the input; the file loaders get the input as the file's contents,
 * written to a private temporary folder first.  Nothing here checks a
 * result against an expected one: the sanitizers (address, undefined) and
 * the assertions in each target are the oracle. */
#ifndef CH_FUZZ_H
#define CH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <unistd.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* FUZZ_CHECK: an invariant of the code under test; a failure is a finding. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* fuzz_tmpdir: a folder of this process's own (made once, under $TMPDIR
 * or /tmp), for the file loaders. */
static inline const char *fuzz_tmpdir(void)
{
	static char dir[256];
	if (!dir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/chorus-fuzz-XXXXXX", t && t[0] ? t : "/tmp");
		if (!mkdtemp(dir))
			abort();
	}
	return dir;
}

/* fuzz_write_file: data[0..size) as the file `name` in fuzz_tmpdir();
 * path gets its full name. */
static inline void fuzz_write_file(const char *name, const uint8_t *data, size_t size, char *path,
                                   size_t cap)
{
	snprintf(path, cap, "%s/%s", fuzz_tmpdir(), name);
	FILE *f = fopen(path, "wb");
	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
}

/* fuzz_quiet: the code under test logs what it refuses; millions of
 * refusals would drown libFuzzer's own output, so the log goes to
 * /dev/null (still formatted: the formatting is code under test too). */
static inline void fuzz_quiet(void)
{
	if (ch_log_open("fuzz", CH_LOG_LEVEL_DEBUG, "/dev/null") != 0)
		abort();
}

#endif
