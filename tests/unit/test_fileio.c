/* test_fileio.c: ch_file_write_atomic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"

static void test_write_replace_and_fail(void **state)
{
	(void)state;
	char dir[] = "/tmp/chorus-fileio-XXXXXX", path[128], tmp[140], buf[64] = {0};
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(ch_file_write_atomic(path, "first", 5, 0600, 1), 0);
	assert_int_equal(ch_file_write_atomic(path, "second!", 7, 0600, 0), 0);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, sizeof(buf), f), 7);
	fclose(f);
	assert_string_equal(buf, "second!");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_not_equal(access(tmp, F_OK), 0); /* no temporary left */
	/* a folder that does not exist: an error, nothing created */
	char bad[160];
	snprintf(bad, sizeof(bad), "%s/missing/f", dir);
	assert_int_equal(ch_file_write_atomic(bad, "x", 1, 0600, 0), CH_EIO);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(ch_file_failed_call(), "open");
	/* the target is a directory: rename fails, the old content stays */
	char d2[160];
	snprintf(d2, sizeof(d2), "%s/d", dir);
	assert_int_equal(mkdir(d2, 0700), 0);
	char inner[180];
	snprintf(inner, sizeof(inner), "%s/x", d2);
	assert_int_equal(ch_file_write_atomic(inner, "y", 1, 0600, 0), 0);
	assert_int_equal(ch_file_write_atomic(d2, "z", 1, 0600, 0), CH_EIO);
	assert_string_equal(ch_file_failed_call(), "rename");
	snprintf(tmp, sizeof(tmp), "%s.tmp", d2);
	assert_int_not_equal(access(tmp, F_OK), 0);
	unlink(inner);
	rmdir(d2);
	unlink(path);
	rmdir(dir);
}

static void test_read_all(void **state)
{
	(void)state;
	char dir[] = "/tmp/chorus-fileio-XXXXXX", path[128];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r", dir);
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(ch_file_read_all(path, 100, &buf, &len), CH_ENOENT);
	assert_int_equal(ch_file_write_atomic(path, "0123456789", 10, 0600, 0), 0);
	assert_int_equal(ch_file_read_all(path, 100, &buf, &len), 0);
	assert_int_equal(len, 10);
	assert_memory_equal(buf, "0123456789", 10);
	assert_int_equal(buf[10], 0); /* NUL-terminated */
	free(buf);
	buf = NULL;
	assert_int_equal(ch_file_read_all(path, 9, &buf, &len), CH_ERANGE); /* over the bound */
	assert_null(buf);
	assert_int_equal(ch_file_read_all(dir, 1 << 20, &buf, &len), CH_EIO); /* a directory */
	assert_string_equal(ch_file_failed_call(), "read");
	assert_int_equal(errno, EISDIR);
	/* ch_write_all on a closed descriptor fails */
	assert_int_equal(ch_write_all(-1, "x", 1), CH_EIO);
	assert_string_equal(ch_file_failed_call(), "write");
	assert_int_equal(errno, EBADF);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_write_replace_and_fail),
	                                   cmocka_unit_test(test_read_all)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
