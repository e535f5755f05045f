/* journal.c: the mempool's append-only store (see journal.h). */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "hash.h"
#include "log.h"

static const uint8_t j_magic[8] = {'C', 'H', 'M', 'P', 'J', 'R', 'N', '1'};
#define J_VERSION 1

struct mp_journal {
	int fd;
	char path[4096];
	uint64_t size;  /* bytes in the file */
	bool dirty;     /* written since the last fdatasync */
	uint64_t syncs; /* fdatasyncs of the journal (not of rewrites) */
	uint8_t *buf;   /* buffered records */
	size_t len, cap;
};

/* put32 / put64 / get32 / get64: little-endian integers of the file format. */
static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* check32: the record check: BLAKE2b-256 over the length field and the
 * body, first 4 bytes.  Covering the length catches a length field that was
 * damaged into another plausible value. */
static uint32_t check32(const uint8_t *lenfield, const uint8_t *body, size_t n)
{
	uint8_t h[32];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, lenfield, 4);
	crypto_generichash_update(&st, body, n);
	crypto_generichash_final(&st, h, sizeof(h));
	return get32(h);
}

/* reserve: room for n more buffered bytes. */
static int reserve(mp_journal_t *j, size_t n)
{
	if (j->len + n <= j->cap)
		return 0;
	size_t cap = j->cap ? j->cap : 4096;
	while (cap < j->len + n)
		cap *= 2;
	uint8_t *nb = realloc(j->buf, cap);
	if (!nb)
		return CH_ENOMEM;
	j->buf = nb;
	j->cap = cap;
	return 0;
}

/* append: one record of body parts a (na bytes) and b (nb bytes). */
static int append(mp_journal_t *j, const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	if (na + nb > MP_J_REC_MAX)
		return CH_ERANGE;
	if (reserve(j, 8 + na + nb))
		return CH_ENOMEM;
	uint8_t *r = j->buf + j->len;
	put32(r, (uint32_t)(na + nb));
	memcpy(r + 8, a, na);
	if (nb)
		memcpy(r + 8 + na, b, nb);
	put32(r + 4, check32(r, r + 8, na + nb));
	j->len += 8 + na + nb;
	return 0;
}

/* mp_journal_add: buffers an ADD record (time, origin, encoding). */
int mp_journal_add(mp_journal_t *j, uint64_t time_ms, uint64_t peer, const uint8_t *enc,
                   uint32_t len)
{
	uint8_t h[17];
	h[0] = MP_J_ADD;
	put64(h + 1, time_ms);
	put64(h + 9, peer);
	return append(j, h, sizeof(h), enc, len);
}

/* mp_journal_del: buffers a DEL record (reason, id). */
int mp_journal_del(mp_journal_t *j, const uint8_t id[CH_TXID_LEN], int reason)
{
	uint8_t h[2 + CH_TXID_LEN];
	h[0] = MP_J_DEL;
	h[1] = (uint8_t)reason;
	memcpy(h + 2, id, CH_TXID_LEN);
	return append(j, h, sizeof(h), NULL, 0);
}

/* mp_journal_ring: buffers a RING record (epoch, last applied seq). */
int mp_journal_ring(mp_journal_t *j, uint64_t epoch, uint64_t seq)
{
	uint8_t h[17];
	h[0] = MP_J_RING;
	put64(h + 1, epoch);
	put64(h + 9, seq);
	return append(j, h, sizeof(h), NULL, 0);
}

/* mp_journal_pending: bytes buffered. */
size_t mp_journal_pending(const mp_journal_t *j)
{
	return j->len;
}

/* mp_journal_discard: forgets the buffered records. */
void mp_journal_discard(mp_journal_t *j)
{
	j->len = 0;
}

/* mp_journal_size: bytes in the file. */
uint64_t mp_journal_size(const mp_journal_t *j)
{
	return j->size;
}

/* mp_journal_flush: one write of everything buffered; on failure the file is cut back to its last
 * good size. */
int mp_journal_flush(mp_journal_t *j)
{
	if (j->len == 0)
		return 0;
	if (ch_write_all(j->fd, j->buf, j->len) != 0) {
		ch_log_errno(CH_LOG_LEVEL_ERROR, "write", "journal %s", j->path);
		/* Cut any partial record so the next batch appends after good
		 * data; the buffered records are kept for a retry. */
		if (ftruncate(j->fd, (off_t)j->size) != 0 ||
		    lseek(j->fd, (off_t)j->size, SEEK_SET) < 0)
			ch_log_errno(CH_LOG_LEVEL_ERROR, "ftruncate", "journal %s", j->path);
		return CH_EIO;
	}
	j->size += j->len;
	j->len = 0;
	j->dirty = true;
	return 0;
}

/* mp_journal_sync: fdatasync only when something was written since the last one. */
int mp_journal_sync(mp_journal_t *j)
{
	if (!j->dirty)
		return 0;
	if (fdatasync(j->fd) != 0) {
		ch_log_errno(CH_LOG_LEVEL_ERROR, "fdatasync", "journal %s", j->path);
		return CH_EIO;
	}
	j->dirty = false;
	j->syncs++;
	return 0;
}

/* mp_journal_syncs: fdatasyncs done by mp_journal_sync. */
uint64_t mp_journal_syncs(const mp_journal_t *j)
{
	return j->syncs;
}

/* replay: reads the whole file through a buffer and calls the visitor for
 * each good record; stops at the first bad one. */
static int replay(mp_journal_t *j, const mp_journal_visitor_t *v, mp_journal_report_t *rep)
{
	struct stat st;
	if (fstat(j->fd, &st) != 0)
		return CH_EIO;
	rep->file_bytes = (uint64_t)st.st_size;
	if (st.st_size == 0) {
		rep->good_bytes = 0;
		return 0;
	}
	uint8_t hdr[MP_J_HDR_SZ];
	FILE *f = fdopen(dup(j->fd), "rb");
	if (!f)
		return CH_EIO;
	uint8_t *body = malloc(MP_J_REC_MAX);
	if (!body) {
		fclose(f);
		return CH_ENOMEM;
	}
	int rc = 0;
	if (fread(hdr, 1, sizeof(hdr), f) != sizeof(hdr) || memcmp(hdr, j_magic, 8) != 0 ||
	    get32(hdr + 8) != J_VERSION) {
		rep->damaged = true;
		snprintf(rep->why, sizeof(rep->why), "bad or truncated header");
		goto out;
	}
	uint64_t pos = MP_J_HDR_SZ;
	rep->good_bytes = pos;
	for (;;) {
		uint8_t rh[8];
		size_t got = fread(rh, 1, sizeof(rh), f);
		if (got == 0 && feof(f))
			break;
		if (got != sizeof(rh)) {
			snprintf(rep->why, sizeof(rep->why), "truncated record header at byte %llu",
			         (unsigned long long)pos);
			rep->damaged = true;
			break;
		}
		uint32_t len = get32(rh);
		if (len == 0 || len > MP_J_REC_MAX) {
			snprintf(rep->why, sizeof(rep->why),
			         "impossible record length %u at byte %llu", len,
			         (unsigned long long)pos);
			rep->damaged = true;
			break;
		}
		if (fread(body, 1, len, f) != len) {
			snprintf(rep->why, sizeof(rep->why), "truncated record at byte %llu",
			         (unsigned long long)pos);
			rep->damaged = true;
			break;
		}
		if (check32(rh, body, len) != get32(rh + 4)) {
			snprintf(rep->why, sizeof(rep->why), "record check fails at byte %llu",
			         (unsigned long long)pos);
			rep->damaged = true;
			break;
		}
		int bad = 0;
		if (body[0] == MP_J_ADD && len > 17)
			bad = v && v->add ? v->add(v->user, get64(body + 1), get64(body + 9),
			                           body + 17, len - 17)
			                  : 0;
		else if (body[0] == MP_J_DEL && len == 2 + CH_TXID_LEN)
			bad = v && v->del ? v->del(v->user, body + 2, body[1]) : 0;
		else if (body[0] == MP_J_RING && len == 17)
			bad = v && v->ring ? v->ring(v->user, get64(body + 1), get64(body + 9)) : 0;
		else
			bad = 1;
		if (bad)
			rep->bad_records++;
		else
			rep->records++;
		pos += 8 + len;
		rep->good_bytes = pos;
	}
out:
	free(body);
	fclose(f);
	return rc;
}

/* write_header: the 16-byte file header at the current position. */
static int write_header(int fd)
{
	uint8_t hdr[MP_J_HDR_SZ] = {0};
	memcpy(hdr, j_magic, 8);
	put32(hdr + 8, J_VERSION);
	return ch_write_all(fd, hdr, sizeof(hdr));
}

/* mp_journal_open: open or create, replay, and position the file after the last good record
 * (cutting a damaged tail). */
int mp_journal_open(const char *path, const mp_journal_visitor_t *v, mp_journal_report_t *rep,
                    mp_journal_t **out, char *err, size_t errcap)
{
	memset(rep, 0, sizeof(*rep));
	mp_journal_t *j = calloc(1, sizeof(*j));
	if (!j)
		return CH_ENOMEM;
	snprintf(j->path, sizeof(j->path), "%s", path);
	j->fd = open(path, O_RDWR | O_CLOEXEC, 0600);
	if (j->fd < 0 && errno == ENOENT) {
		rep->created = true;
		j->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (j->fd < 0) {
		snprintf(err, errcap, "cannot open %s: open: %s", path, strerror(errno));
		free(j);
		return CH_EIO;
	}
	int rc = replay(j, v, rep);
	if (rc) {
		snprintf(err, errcap, "cannot read %s: %s", path, ch_strerror(rc));
		close(j->fd);
		free(j);
		return rc;
	}
	if (rep->file_bytes == 0) {
		if (write_header(j->fd) != 0) {
			snprintf(err, errcap, "cannot write %s: write: %s", path, strerror(errno));
			close(j->fd);
			free(j);
			return CH_EIO;
		}
		rep->good_bytes = MP_J_HDR_SZ;
	}
	/* Append after the last good record; a damaged file is rewritten by
	 * the caller, but until then new records must not follow garbage. */
	j->size =
	    rep->damaged ? rep->good_bytes : (rep->file_bytes ? rep->file_bytes : MP_J_HDR_SZ);
	if (rep->damaged && rep->good_bytes < MP_J_HDR_SZ) {
		if (ftruncate(j->fd, 0) != 0 || lseek(j->fd, 0, SEEK_SET) < 0 ||
		    write_header(j->fd) != 0) {
			snprintf(err, errcap, "cannot reset %s: %s", path, strerror(errno));
			close(j->fd);
			free(j);
			return CH_EIO;
		}
		j->size = MP_J_HDR_SZ;
	} else if (rep->damaged && ftruncate(j->fd, (off_t)j->size) != 0) {
		snprintf(err, errcap, "cannot cut %s: ftruncate: %s", path, strerror(errno));
		close(j->fd);
		free(j);
		return CH_EIO;
	}
	if (lseek(j->fd, (off_t)j->size, SEEK_SET) < 0) {
		snprintf(err, errcap, "cannot seek %s: lseek: %s", path, strerror(errno));
		close(j->fd);
		free(j);
		return CH_EIO;
	}
	*out = j;
	return 0;
}

/* mp_journal_close: flush, sync, close. */
void mp_journal_close(mp_journal_t **jp)
{
	if (!jp || !*jp)
		return;
	mp_journal_t *j = *jp;
	mp_journal_flush(j);
	mp_journal_sync(j);
	close(j->fd);
	free(j->buf);
	free(j);
	*jp = NULL;
}

/* sync_dir: fsync of the folder holding path, so a rename is durable. */
static void sync_dir(const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", path);
	int fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* mp_journal_rewrite: compaction: a new file written, synced and renamed over the old one, then the
 * folder synced. */
int mp_journal_rewrite(mp_journal_t *j, int (*fill)(void *user, mp_journal_t *j), void *user)
{
	int rc = mp_journal_flush(j);
	if (rc)
		return rc;
	char tmp[4096 + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", j->path);
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ch_log_errno(CH_LOG_LEVEL_ERROR, "open", "journal rewrite %s", tmp);
		return CH_EIO;
	}
	rc = write_header(fd);
	uint64_t size = MP_J_HDR_SZ;
	/* fill() buffers into j->buf; written here in chunks as it grows. */
	if (!rc)
		rc = fill(user, j);
	if (!rc && ch_write_all(fd, j->buf, j->len) != 0)
		rc = CH_EIO;
	size += j->len;
	j->len = 0;
	if (!rc && fdatasync(fd) != 0)
		rc = CH_EIO;
	if (!rc && rename(tmp, j->path) != 0)
		rc = CH_EIO;
	if (rc) {
		ch_log_errno(CH_LOG_LEVEL_ERROR, "write", "journal rewrite %s", tmp);
		close(fd);
		unlink(tmp);
		return rc ? rc : CH_EIO;
	}
	sync_dir(j->path);
	close(j->fd);
	j->fd = fd;
	j->size = size;
	j->dirty = false;
	if (lseek(fd, (off_t)size, SEEK_SET) < 0)
		return CH_EIO;
	return 0;
}
