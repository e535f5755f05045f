/* fileio.c: see fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

/* The call behind this thread's last CH_EIO (ch_file_failed_call). */
static _Thread_local const char *failed_call = "";

const char *ch_file_failed_call(void)
{
	return failed_call;
}

/* io_fail: CH_EIO, remembering which call failed; errno is kept. */
static int io_fail(const char *call)
{
	failed_call = call;
	return CH_EIO;
}

int ch_file_write_atomic(const char *path, const void *data, size_t len, int mode, int sync)
{
	char tmp[4096];
	const char *call;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return io_fail("open");
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return io_fail("open");
	call = "write";
	if (ch_write_all(fd, data, len) != 0)
		goto fail;
	call = "fsync";
	if (sync && fsync(fd) != 0)
		goto fail;
	call = "close";
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return io_fail("rename");
	}
	return 0;
fail : {
	int e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return io_fail(call);
}
}

int ch_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return io_fail("write");
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int ch_file_read_all(const char *path, size_t max, uint8_t **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? CH_ENOENT : io_fail("open");
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return io_fail("fstat");
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		close(fd);
		return CH_ERANGE;
	}
	size_t size = (size_t)st.st_size, got = 0;
	uint8_t *buf = malloc(size + 1);
	if (!buf) {
		close(fd);
		return CH_ENOMEM;
	}
	int e = 0;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			e = r < 0 ? errno : EIO; /* 0: the file shrank under us */
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	if (got != size) {
		free(buf);
		errno = e;
		return io_fail("read");
	}
	buf[got] = 0;
	*out = buf;
	*len = got;
	return 0;
}
