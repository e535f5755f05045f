/* outq.h: records waiting for room in a ring.
 *
 * A producer that must not lose what it computed (relay's announcements
 * and requests, the mempool's verdicts) stages each output record
 * {tag, payload} here, then moves what fits into the ring
 * (shm_outq_flush); what does not fit waits for the consumer, and the
 * queue's size is the producer's flow-control measure.  One byte buffer:
 * an 8-byte header {tag, length} then the payload padded to 8 bytes; it
 * grows by doubling from 64 KiB, rewinds when empty, and gives back a
 * buffer a burst made larger than SHM_OUTQ_KEEP.
 *
 * A mark (shm_outq_mark) lets a producer flush only the records of
 * batches it has committed (the mempool: a verdict leaves only once its
 * journal entry is written); shm_outq_flush(.., all = true) ignores it.
 *
 * Not thread-safe: the producer's thread only. */
#ifndef CH_SHM_OUTQ_H
#define CH_SHM_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring.h"

#define SHM_OUTQ_KEEP (8u << 20)

typedef struct shm_outq {
	uint8_t *buf;
	size_t head, len, cap; /* live records are buf[head .. len) */
	size_t mark;           /* records below this may leave when !all */
} shm_outq_t;

/* shm_outq_begin: room for a record of up to max payload bytes at the end
 * of the queue (NULL when memory is short); the pointer is valid until the
 * next begin or push.  shm_outq_end appends the record of used bytes. */
uint8_t *shm_outq_begin(shm_outq_t *q, size_t max);
void shm_outq_end(shm_outq_t *q, uint32_t tag, size_t used);

/* shm_outq_push: appends {tag, a[0..na) b[0..nb)}.  0 or CH_ENOMEM. */
int shm_outq_push(shm_outq_t *q, uint32_t tag, const void *a, size_t na, const void *b, size_t nb);

/* shm_outq_next: the oldest record (false when empty); shm_outq_pop drops
 * it. */
bool shm_outq_next(const shm_outq_t *q, uint32_t *tag, const uint8_t **p, uint32_t *len);
void shm_outq_pop(shm_outq_t *q);

/* shm_outq_bytes: bytes waiting (headers and padding included). */
size_t shm_outq_bytes(const shm_outq_t *q);

/* shm_outq_mark: every record queued so far may leave. */
void shm_outq_mark(shm_outq_t *q);

/* shm_outq_drop_unmarked: drops the records queued since the mark (a
 * batch that failed to commit). */
void shm_outq_drop_unmarked(shm_outq_t *q);

/* shm_outq_flush: moves records (all, or those below the mark) into ring
 * r while they fit, and publishes them; returns how many moved.  *full
 * (may be NULL) says it stopped on a full ring (the producer should wait
 * for room: ch_svc_want_space); a record the ring can never take (larger
 * than its record limit: a bug, never a peer's doing) is dropped and
 * counted in *refused (may be NULL). */
int shm_outq_flush(shm_outq_t *q, shm_ring_t *r, bool all, bool *full, uint64_t *refused);

/* shm_outq_clear: drops every record (no ring to flush to). */
void shm_outq_clear(shm_outq_t *q);

/* shm_outq_free: releases the buffer; the queue is empty and usable. */
void shm_outq_free(shm_outq_t *q);

#endif
