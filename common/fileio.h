/* fileio.h: small file helpers every process needs. */
#ifndef CH_FILEIO_H
#define CH_FILEIO_H

#include <stddef.h>

/* ch_file_write_atomic: replaces path with data[0..len): written to
 * "path.tmp" (mode `mode`), optionally fsynced, then renamed over path, so
 * a reader or a crash sees the old file or the new one, never a part.
 * Returns 0 or CH_EIO (errno says why; the temporary file is removed). */
int ch_file_write_atomic(const char *path, const void *data, size_t len, int mode, int sync);

#endif
