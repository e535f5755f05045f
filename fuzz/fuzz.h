/* fuzz.h: what the libFuzzer targets share (docs/fuzzing.md).
 *
 * Every target defines LLVMFuzzerTestOneInput and runs the real decoder on
 * the input; the file loaders get the input as the file's contents,
 * written to a private temporary folder first.  Nothing here checks a
 * result against an expected one: the sanitizers (address, undefined) and
 * the assertions in each target are the oracle. */
#ifndef CH_FUZZ_H
#define CH_FUZZ_H

#include <dirent.h>
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

/* fuzz_tmpdir_rm: removes the folder and what the loaders left in it
 * (one level: they write plain files). */
static inline void fuzz_tmpdir_rm(void);

/* fuzz_tmpdir: a folder of this process's own for the file loaders, made
 * once under $TMPDIR, else /dev/shm (the loaders fsync what they write
 * back: on tmpfs that costs nothing), else /tmp; removed at exit. */
static inline const char *fuzz_tmpdir_path(void)
{
	static char dir[256];
	return dir;
}

static inline const char *fuzz_tmpdir(void)
{
	char *dir = (char *)fuzz_tmpdir_path();
	if (!dir[0]) {
		const char *t = getenv("TMPDIR");
		if (!t || !t[0])
			t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(dir, 256, "%s/chorus-fuzz-XXXXXX", t);
		if (!mkdtemp(dir))
			abort();
		atexit(fuzz_tmpdir_rm);
	}
	return dir;
}

static inline void fuzz_tmpdir_rm(void)
{
	const char *dir = fuzz_tmpdir_path();
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char p[512];
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
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
