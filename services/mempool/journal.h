/* journal.h: the mempool's store, an append-only journal file.
 *
 * File: a 16-byte header ("CHMPJRN1", u32 version 1, u32 zero), then
 * records, all integers little-endian:
 *   u32 len | u32 check | body (len bytes)
 *   check = the first 4 bytes of BLAKE2b-256(len || body)
 *   body  = u8 type | payload
 *     ADD  (1): u64 time_ms | u64 peer | transaction encoding
 *     DEL  (2): u8 removal reason | 32-byte id
 *     RING (3): u64 ring epoch | u64 last applied relay.mempool seq
 *
 * Appends are buffered in memory and written with one write(2) per batch
 * (mp_journal_flush) before anything is acknowledged or announced: the
 * page cache then holds them, so they survive kill -9 of the process and a
 * restart of the node.  fdatasync runs on a timer and at stop
 * (mp_journal_sync): that bounds what a power failure can take.
 *
 * Replay reads records in order and stops at the first one that is
 * truncated, too long, or fails its check: everything before it is good.
 * mp_journal_rewrite writes the live state to a new file (fsync, rename,
 * fsync of the folder) so that a journal never grows without bound and a
 * damaged tail is cut off.
 *
 * Single-threaded. */
#ifndef CH_MEMPOOL_JOURNAL_H
#define CH_MEMPOOL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msgs.h"
#include "tx.h"

#define MP_J_ADD  1
#define MP_J_DEL  2
#define MP_J_RING 3

#define MP_J_HDR_SZ  16
#define MP_J_REC_MAX (1 + 16 + MP_TX_MAX_SIZE) /* largest body: an ADD of a largest tx */

typedef struct mp_journal mp_journal_t;

/* What replay hands back, record by record.  A callback's non-zero return
 * marks the record unusable (counted in bad_records; replay goes on). */
typedef struct mp_journal_visitor {
	void *user;
	int (*add)(void *user, uint64_t time_ms, uint64_t peer, const uint8_t *enc, uint32_t len);
	int (*del)(void *user, const uint8_t id[CH_TXID_LEN], int reason);
	int (*ring)(void *user, uint64_t epoch, uint64_t seq);
} mp_journal_visitor_t;

typedef struct mp_journal_report {
	uint64_t records;     /* good records replayed */
	uint64_t good_bytes;  /* file bytes up to the end of the last good record */
	uint64_t file_bytes;  /* the file's size */
	uint64_t bad_records; /* well-checked records the visitor refused */
	bool created;         /* there was no file */
	bool damaged;         /* bad header, or a bad record before the end */
	char why[160];        /* what was wrong, for the log */
} mp_journal_report_t;

/* mp_journal_open: opens (creating if absent, mode 0600) the journal at
 * path and replays it into v.  A damaged file is not an error: the report
 * says where it went wrong and the caller rewrites it.  Returns 0 with the
 * handle in *out; CH_EIO (err says which call failed); CH_ENOMEM. */
int mp_journal_open(const char *path, const mp_journal_visitor_t *v, mp_journal_report_t *rep,
                    mp_journal_t **out, char *err, size_t errcap);

/* mp_journal_close: flushes, syncs and closes; safe twice, clears *j. */
void mp_journal_close(mp_journal_t **j);

/* mp_journal_add / _del / _ring: buffer one record (nothing is written
 * until mp_journal_flush).  0 or CH_ENOMEM; CH_ERANGE for an encoding
 * longer than a record can hold. */
int mp_journal_add(mp_journal_t *j, uint64_t time_ms, uint64_t peer, const uint8_t *enc,
                   uint32_t len);
int mp_journal_del(mp_journal_t *j, const uint8_t id[CH_TXID_LEN], int reason);
int mp_journal_ring(mp_journal_t *j, uint64_t epoch, uint64_t seq);

/* mp_journal_pending: bytes buffered and not yet written. */
size_t mp_journal_pending(const mp_journal_t *j);

/* mp_journal_discard: drops the buffered records (after a failed batch). */
void mp_journal_discard(mp_journal_t *j);

/* mp_journal_flush: writes the buffered records with one write(2) (looping
 * on short writes).  0; CH_EIO (a partial record may be left at the end of
 * the file: the next open cuts it off; the handle truncates back to the
 * last good size so later appends stay readable). */
int mp_journal_flush(mp_journal_t *j);

/* mp_journal_sync: fdatasync if anything was written since the last one.
 * 0 or CH_EIO. */
int mp_journal_sync(mp_journal_t *j);

/* mp_journal_syncs: how many fdatasyncs mp_journal_sync has done (it
 * skips one when nothing was written since the last). */
uint64_t mp_journal_syncs(const mp_journal_t *j);

/* mp_journal_size: bytes in the file (after the last flush). */
uint64_t mp_journal_size(const mp_journal_t *j);

/* mp_journal_rewrite: replaces the file with a fresh one holding what
 * fill() buffers (through mp_journal_add/_ring on j), written, synced and
 * renamed into place.  Records buffered before the call are written first
 * into the old file.  0; CH_EIO (the old file stays in use). */
int mp_journal_rewrite(mp_journal_t *j, int (*fill)(void *user, mp_journal_t *j), void *user);

#endif
