/* ring.h: a single-producer single-consumer ring of variable-length records
 * in shared memory, between two processes (or two threads).
 *
 * This is the data plane of a Chorus node: every message payload between
 * transport, relay and mempool moves through one of these.
 *
 * ---------------------------------------------------------------- lifecycle
 * Like every shm object (STYLE.md 1-8):
 *   shm_ring_align()        alignment the memory must have (128)
 *   shm_ring_footprint(d,m) bytes needed for a data area of d bytes (a power
 *                           of two) and records of up to m payload bytes;
 *                           0 if the parameters are invalid
 *   shm_ring_new(mem,d,m)   formats mem (creator only; nobody joined yet);
 *                           writes the magic last, with a release store
 *   shm_ring_join(...)      checks magic, layout version, alignment and size,
 *                           returns a process-local handle for one role
 *   shm_ring_leave(&r)      frees the local handle; shared state untouched
 *   shm_ring_delete(mem)    clears the magic (only when nobody is joined)
 * The shared part holds no pointers, only positions and sizes, so processes
 * that map the region at different addresses share it.
 *
 * ---------------------------------------------------------------- records
 * A record is a 16-byte header {u32 size, u32 tag, u64 seq} followed by
 * `size` payload bytes (1 .. max_rec), padded to 16 bytes.  Records are
 * contiguous in the data area: when a record does not fit before the end,
 * the producer writes a pad marker and starts again at offset 0, so a
 * consumer always sees a record's payload as one contiguous span (zero-copy
 * reads with shm_ring_peek).  `tag` is the caller's (a message type, say).
 *
 * Positions are 64-bit byte counters that only grow (offset = pos & (d-1));
 * they never wrap in practice (2^64 bytes) and are compared with
 * shm_seq_lt(), which is wrap-safe anyway.  `seq` is the record's number in
 * the stream: 0, 1, 2, ... strictly increasing by one, never reused, also
 * across producer restarts.
 *
 * ---------------------------------------------------------------- protocol
 * Shared state: `tail` (producer line: bytes published) and `head`
 * (consumer line: bytes committed), on cache lines 128 bytes apart, each
 * written by one side only.
 *
 * Publish (producer):
 *   1. Read `head` (acquire) only when the locally cached head says the ring
 *      is too full; the acquire orders the consumer's reads of old records
 *      before our overwrite of them.
 *   2. Write header and payload of one or more records at the local tail
 *      (plain stores, invisible to the consumer: they lie beyond `tail`).
 *   3. Store `tail` = local tail (release): every byte written in step 2
 *      happens-before a consumer's acquire load that sees the new tail.
 *      This single store is the commit point: a batch of records becomes
 *      visible at once (batched publication).
 *   4. Fence (seq_cst), then read the consumer's `sleeping` flag (relaxed);
 *      only if it is set, clear it (exchange) and write its eventfd.  While
 *      the consumer is awake this costs no system call.
 *
 * Consume (consumer):
 *   1. Read `tail` (acquire) only when the locally cached tail says the ring
 *      is empty.
 *   2. Read records between the local head and the cached tail (peek gives
 *      the payload in place; advance moves the local head past it).
 *   3. Store `head` = local head (release) to commit: our reads of those
 *      records happen-before the producer's overwrite of them.  Commit after
 *      each record or after a batch; the commit is the consumer's promise
 *      that it has finished with everything before head.
 *   4. Fence (seq_cst), then read the producer's `sleeping` flag; wake it
 *      only if it waits for space.
 *
 * Sleeping (either side):
 *   1. Set own `sleeping` flag (relaxed), fence (seq_cst), re-read the other
 *      side's position: if there is work, clear the flag and do not sleep.
 *   2. Otherwise poll(2)/epoll on the eventfd; on wake-up, drain it.
 *   The fences on both sides (step 4 above and step 1 here) make a lost
 *   wake-up impossible: either the waker sees the flag or the sleeper sees
 *   the new position.
 *
 * ---------------------------------------------------------------- waiting
 * Event loops use the non-blocking calls (try_push, peek) and put
 * shm_ring_wake_fd() in their poll set, calling shm_ring_sleep_prepare()
 * before they sleep.  Blocking users call shm_ring_wait(), which spins for
 * `spin_ns` (checking the ring, no system call) and then sleeps on the
 * eventfd.  Waking a sleeping process costs about 25-30 us on these virtual
 * machines against about 0.1 us for a hop between two awake processes, so
 * spinning a little buys latency with CPU: spin_ns = 0 sleeps at once (least
 * CPU), a spin of 50-200 us keeps a busy pipeline awake between bursts.
 * The node's setting is `ring-spin` (see docs/shm.md).
 *
 * ---------------------------------------------------------------- crashes
 *  - Producer killed in the middle of a record or a batch: nothing of it is
 *    visible, since `tail` moves only after whole records are written.  A
 *    restarted producer joins, reads the published `tail` and the next seq,
 *    and appends after the last committed record (the half-written bytes are
 *    overwritten).
 *  - Consumer killed in the middle of a batch: on join it resumes at the last
 *    committed `head`, so the records it had read but not committed are
 *    delivered again: at-least-once, with duplicates only in the window
 *    between its last commit and the crash (at most one batch; one record
 *    when it commits after each).  Each record carries its `seq`, so a
 *    consumer that stores the last seq it applied together with the effect
 *    (mempool's journal does) skips those and gets exactly-once.
 *  - A full ring refuses (try_push returns CH_EAGAIN) or the producer waits
 *    (shm_ring_wait for space); it never overwrites unconsumed records.
 *  - The data area is never trusted blindly: a consumer that finds a header
 *    with an impossible size or seq (memory scribbled by a bug) reports
 *    CH_EPROTO instead of reading out of bounds.
 *
 * ---------------------------------------------------------------- threads
 * One producer and one consumer at a time per ring (processes or threads).
 * A handle is used by one thread.  Counters in shm_ring_stats are
 * approximate (relaxed) and meant for metrics. */
#ifndef CH_SHM_RING_H
#define CH_SHM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHM_RING_ALIGN   128UL
#define SHM_RING_HDR_SZ  16UL    /* bytes of record header */
#define SHM_RING_MIN_REC 65536UL /* max_rec may be set lower only in tests */
#define SHM_RING_MAX_REC (1UL << 26)

typedef enum shm_ring_role {
	SHM_RING_PRODUCER = 1,
	SHM_RING_CONSUMER = 2,
	SHM_RING_OBSERVER = 3, /* reads positions and stats only (chorusctl, chorusd) */
} shm_ring_role_t;

typedef struct shm_ring shm_ring_t; /* process-local handle */

/* One record as seen by the consumer: `data` points into the ring and stays
 * valid until shm_ring_commit() moves head past it. */
typedef struct shm_rec {
	const uint8_t *data;
	uint32_t size;
	uint32_t tag;
	uint64_t seq;
} shm_rec_t;

typedef struct shm_ring_stats {
	uint64_t data_sz;     /* bytes of the data area */
	uint64_t max_rec;     /* largest payload accepted */
	uint64_t depth;       /* bytes published and not yet committed by the consumer */
	uint64_t tail_seq;    /* seq the next published record will get */
	uint64_t head_seq;    /* seq of the next record the consumer will see */
	uint64_t full_stalls; /* times a producer found the ring full */
	uint64_t wakeups;     /* eventfd writes, both directions */
	int32_t producer_pid; /* last process joined as producer (0: none) */
	int32_t consumer_pid;
} shm_ring_stats_t;

/* shm_ring_align: required alignment of a ring's memory, in bytes. */
size_t shm_ring_align(void);

/* shm_ring_footprint: bytes a ring needs for a data area of data_sz bytes
 * (a power of two, at least 4 KiB) carrying records of up to max_rec payload
 * bytes (1 .. SHM_RING_MAX_REC, and data_sz >= 2 * (max_rec + 16) so that a
 * largest record always fits in an empty ring).  0 if invalid. */
size_t shm_ring_footprint(size_t data_sz, size_t max_rec);

/* shm_ring_new: formats mem as an empty ring.  mem must be aligned and hold
 * shm_ring_footprint() bytes; nobody may be joined.  Returns mem, or NULL on
 * invalid arguments.  Call once, from the creating process. */
void *shm_ring_new(void *mem, size_t data_sz, size_t max_rec);

/* shm_ring_join: joins a formatted ring of mem_sz bytes in one role and
 * returns the handle in *out.  wake_fd is the eventfd this side sleeps on
 * (the consumer's "data arrived", the producer's "space freed"); peer_fd the
 * one it writes to wake the other side.  Either may be -1 (no sleeping, no
 * waking: pure polling).  The fds stay owned by the caller.
 * Errors: CH_EINVAL (NULL or bad role), CH_EALIGN (misaligned mem), CH_ERANGE
 * (mem_sz smaller than the footprint recorded in the header), CH_EMAGIC (not
 * a ring), CH_EVERSION (another layout version), CH_EPROTO (a header whose
 * fields contradict each other), CH_ENOMEM. */
int shm_ring_join(void *mem, size_t mem_sz, shm_ring_role_t role, int wake_fd, int peer_fd,
                  shm_ring_t **out);

/* shm_ring_leave: frees a handle (safe with NULL, clears *r).  A producer's
 * staged but unpublished records are discarded, as in a crash. */
void shm_ring_leave(shm_ring_t **r);

/* shm_ring_delete: clears the magic so later joins fail.  Only when nobody
 * is joined.  Returns mem, or NULL if mem is not a ring. */
void *shm_ring_delete(void *mem);

/* ---- producer ---- */

/* shm_ring_try_write: stages one record (copying sz bytes from p) without
 * publishing it.  0, CH_EAGAIN if the ring lacks space (nothing staged),
 * CH_ERANGE if sz is 0 or above max_rec. */
int shm_ring_try_write(shm_ring_t *r, const void *p, size_t sz, uint32_t tag);

/* shm_ring_prepare: zero-copy write.  Returns where up to sz payload bytes
 * may be written, or NULL (full: CH_EAGAIN, or sz invalid); the record exists
 * only after shm_ring_write_prepared(r, used, tag) with used <= sz. */
uint8_t *shm_ring_prepare(shm_ring_t *r, size_t sz);
int shm_ring_write_prepared(shm_ring_t *r, size_t used, uint32_t tag);

/* shm_ring_publish: makes every staged record visible at once (protocol
 * step 3) and wakes a sleeping consumer (step 4).  Cheap when nothing is
 * staged. */
void shm_ring_publish(shm_ring_t *r);

/* shm_ring_try_push: try_write then publish. */
int shm_ring_try_push(shm_ring_t *r, const void *p, size_t sz, uint32_t tag);

/* shm_ring_staged: records written but not yet published. */
uint32_t shm_ring_staged(const shm_ring_t *r);

/* shm_ring_next_seq: the seq the next written record will get.  After a
 * producer restart it continues exactly after the last published record. */
uint64_t shm_ring_next_seq(const shm_ring_t *r);

/* ---- consumer ---- */

/* shm_ring_peek: the next record, in place.  0, CH_EAGAIN if the ring is
 * empty, CH_EPROTO if the data area holds an impossible header. */
int shm_ring_peek(shm_ring_t *r, shm_rec_t *rec);

/* shm_ring_advance: moves the local head past the record last peeked.  The
 * producer may reuse its space only after shm_ring_commit. */
void shm_ring_advance(shm_ring_t *r);

/* shm_ring_commit: publishes the local head (protocol consume step 3) and
 * wakes a producer that waits for space. */
void shm_ring_commit(shm_ring_t *r);

/* shm_ring_try_pop: peek, copy into buf (cap bytes), advance and commit.
 * CH_ERANGE (nothing consumed) if the record does not fit in cap. */
int shm_ring_try_pop(shm_ring_t *r, void *buf, size_t cap, size_t *sz, uint32_t *tag,
                     uint64_t *seq);

/* shm_ring_uncommitted: records advanced past but not yet committed. */
uint32_t shm_ring_uncommitted(const shm_ring_t *r);

/* ---- waiting ---- */

/* shm_ring_ready: true if this side can make progress now: a consumer has a
 * record to read, a producer has room for a largest record. */
bool shm_ring_ready(shm_ring_t *r);

/* shm_ring_sleep_prepare: announces that this side is about to sleep on its
 * wake_fd.  Returns true if it may sleep, false if work arrived meanwhile
 * (the flag is then cleared).  After the sleep, call shm_ring_sleep_done. */
bool shm_ring_sleep_prepare(shm_ring_t *r);
void shm_ring_sleep_done(shm_ring_t *r);

/* shm_ring_published: the consumer's view of the producer's published
 * position (acquire).  With shm_ring_sleep_prepare_seen, an event loop can
 * sleep while records it chose not to consume yet (its output is full) are
 * still in the ring: it sleeps unless something was published after it
 * looked. */
uint64_t shm_ring_published(shm_ring_t *r);

/* shm_ring_sleep_prepare_seen: consumer only.  Like sleep_prepare, but the
 * condition to stay awake is "published beyond seen" instead of "anything
 * unread".  Returns true if it may sleep (the flag stays set, so the next
 * publish wakes it). */
bool shm_ring_sleep_prepare_seen(shm_ring_t *r, uint64_t seen);

/* shm_ring_wake_fd: the fd this side sleeps on (-1 if none). */
int shm_ring_wake_fd(const shm_ring_t *r);

/* shm_ring_wait: blocks until shm_ring_ready() or timeout_ns passes (0 on
 * ready, CH_ETIMEDOUT, CH_EIO).  Spins for spin_ns first, then sleeps on
 * wake_fd (or, without one, polls every 50 us). */
int shm_ring_wait(shm_ring_t *r, uint64_t spin_ns, uint64_t timeout_ns);

/* ---- both ---- */

/* shm_ring_stats: a snapshot for metrics; valid for any role. */
void shm_ring_stats(const shm_ring_t *r, shm_ring_stats_t *st);

/* shm_seq_lt: a < b for 64-bit sequence numbers, wrap-safe. */
static inline bool shm_seq_lt(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b) < 0;
}

#endif
