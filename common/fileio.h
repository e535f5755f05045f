/* fileio.h: small file helpers every process needs. */
#ifndef CH_FILEIO_H
#define CH_FILEIO_H

#include <stddef.h>
#include <stdint.h>

/* ch_file_write_atomic: replaces path with data[0..len): written to
 * "path.tmp" (mode `mode`), optionally fsynced, then renamed over path, so
 * a reader or a crash sees the old file or the new one, never a part.
 * Returns 0 or CH_EIO (errno says why; the temporary file is removed). */
int ch_file_write_atomic(const char *path, const void *data, size_t len, int mode, int sync);

/* ch_write_all: write(2) until all n bytes are out, retrying short writes
 * and EINTR.  0 or CH_EIO (errno says why). */
int ch_write_all(int fd, const void *p, size_t n);

/* ch_file_read_all: the whole file at path into a malloc'd buffer (*out,
 * NUL-terminated after *len bytes; the caller frees it).  Returns 0,
 * CH_ENOENT (no such file), CH_ERANGE (larger than max bytes), CH_ENOMEM,
 * or CH_EIO (open, stat or a short read; errno says why). */
int ch_file_read_all(const char *path, size_t max, uint8_t **out, size_t *len);

/* ch_file_failed_call: the system call ("open", "write", "fsync",
 * "close", "rename", "fstat", "read") whose failure made this thread's last
 * CH_EIO from the functions above, for a message that names it with
 * errno: ch_log_errno(level, ch_file_failed_call(), "cannot save %s", p).
 * "" before any failure.  Thread-safe (one value per thread). */
const char *ch_file_failed_call(void);

#endif
