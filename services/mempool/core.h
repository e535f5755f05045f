/* core.h: the mempool service's logic without its frame: the pool, its
 * journal, the two rings to relay, and the events, with the order that
 * makes the promises hold:
 *
 *   1. apply a batch (API request, or up to ring_batch ring records) to the
 *      pool; journal records, ring outputs and events are only buffered;
 *   2. commit: one write(2) of the journal records, including the last
 *      applied relay.mempool seq; only then
 *   3. publish the ring outputs (accepted ids to announce, served
 *      transactions), fire the events and answer the client;
 *   4. commit the input ring once every output the applied records caused
 *      is in mempool.relay (at once, unless that ring is full).
 * So nothing is acknowledged or announced before it is in the journal, and
 * a kill -9 loses no output: records whose outputs may not have reached
 * mempool.relay are still in relay.mempool after a crash.  Such a
 * redelivered record (seq <= the journaled one, same ring epoch) is not
 * applied again (its state effects are in the journal); a submission whose
 * transaction is in the pool has its acceptance announced again (relay's
 * filters drop what was announced already).  Other outputs of a redelivered
 * record (a rejection, a served transaction) are not repeated: a lost one
 * costs a peer a request timeout, never a transaction.
 *
 * Outputs wait in a bounded queue when mempool.relay is full; while the
 * queue is above half its bound the input ring is not read (backpressure
 * to relay).  Announcements of transactions submitted through the API are
 * dropped and counted when the queue is full, since refusing the
 * application because relay is slow would be worse.
 *
 * Single-threaded; the service frame calls it from its loop, tests
 * directly. */
#ifndef CH_MEMPOOL_CORE_H
#define CH_MEMPOOL_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal.h"
#include "pool.h"
#include "ring.h"

#define MP_RING_BATCH    64           /* ring records applied per commit */
#define MP_OUTQ_MAX      (4u << 20)   /* bytes of outputs waiting for the ring */
#define MP_SYNC_MS       1000         /* fdatasync interval of the journal */
#define MP_COMPACT_MIN   (4ull << 20) /* journal bytes before compaction is considered */
#define MP_EXPIRE_EVERY  1000         /* ms between expiry sweeps */
#define MP_SUBMIT_MAX    4096         /* transactions in one API submit */
#define MP_BLOCK_IDS_MAX 32768        /* ids in one API remove_block */

typedef enum mp_event_kind {
	MP_EV_ACCEPTED = 1,
	MP_EV_REJECTED = 2,
	MP_EV_REMOVED = 3,
	MP_EV_BLOCK = 4,
} mp_event_kind_t;

/* An event for the PUB socket.  id is all zeros when a rejected encoding
 * could not be read; text only for rejections. */
typedef struct mp_event {
	mp_event_kind_t kind;
	int reason; /* ch_tx_reject_t or ch_tx_removal_t */
	uint8_t id[CH_TXID_LEN];
	uint64_t fee;
	uint32_t size;
	uint64_t peer;
	uint64_t height; /* block */
	uint32_t ntx;    /* block: ids listed */
	uint32_t nremoved;
	const char *text;
} mp_event_t;

typedef void (*mp_event_fn)(void *user, const mp_event_t *ev);

typedef struct mp_core_cfg {
	mp_pool_cfg_t pool;
	char journal_path[4096];
	uint64_t ring_epoch; /* the incarnation of the node's rings */
	mp_event_fn on_event;
	void *event_user;
} mp_core_cfg_t;

typedef struct mp_core_stats {
	mp_pool_stats_t pool;
	uint64_t journal_bytes;
	uint64_t restored;         /* transactions restored at start */
	bool store_damaged;        /* the journal was damaged at start */
	uint64_t store_lost_bytes; /* bytes cut off it */
	uint64_t ring_in, ring_skipped, ring_bad, ring_errors;
	uint64_t ring_out, outq_bytes, announce_dropped;
	uint64_t journal_errors, compactions;
	uint64_t journal_syncs; /* fdatasyncs of the journal (once a second while written) */
	uint64_t reannounced;   /* acceptances announced again after a crash */
	uint64_t applied_seq;
	bool have_applied;
} mp_core_stats_t;

typedef struct mp_core mp_core_t;

/* mp_core_open: creates the pool, opens and replays the journal (a damaged
 * one is cut back to its last good record, logged, and rewritten), drops
 * what expired meanwhile.  Returns 0 with *out; CH_EINVAL (bad pool
 * bounds), CH_EIO (err says why), CH_ENOMEM. */
int mp_core_open(const mp_core_cfg_t *cfg, uint64_t now_ms, mp_core_t **out, char *err,
                 size_t errcap);

/* mp_core_close: commits, syncs and frees; safe twice, clears *c. */
void mp_core_close(mp_core_t **c);

/* mp_core_set_rings: the rings to consume (relay.mempool) and produce
 * (mempool.relay); either may be NULL. */
void mp_core_set_rings(mp_core_t *c, shm_ring_t *in, shm_ring_t *out);

/* mp_core_submit: admits one encoded transaction from the API (peer 0) or
 * a peer, buffering its effects; id gets its id (zeros if unreadable).
 * The caller calls mp_core_commit before answering.  0 with the verdict;
 * CH_ENOMEM. */
int mp_core_submit(mp_core_t *c, const uint8_t *enc, size_t len, uint64_t peer, uint64_t now_ms,
                   mp_verdict_t *v, uint8_t id[CH_TXID_LEN]);

/* mp_core_block: removes the listed ids as included (unknown ones are
 * ignored) and forgets recent rejects; *removed gets how many left. */
int mp_core_block(mp_core_t *c, const uint8_t *block_id, uint64_t height, const uint8_t *ids,
                  uint32_t n, uint32_t *removed);

/* mp_core_commit: step 2 and 3 above for what is buffered.  0; CH_EIO
 * when the journal write failed (nothing of the batch is published; its
 * records stay buffered for the next attempt). */
int mp_core_commit(mp_core_t *c);

/* mp_core_ring_work: publishes waiting outputs, then applies up to
 * MP_RING_BATCH records of relay.mempool and commits them.  Returns how
 * many records it consumed (0: idle). */
int mp_core_ring_work(mp_core_t *c, uint64_t now_ms);

/* mp_core_tick: periodic duties: expiry, journal fdatasync, compaction.
 * Returns units of work done. */
int mp_core_tick(mp_core_t *c, uint64_t now_ms);

/* mp_core_pending_input: records waiting in relay.mempool (for drain). */
uint32_t mp_core_pending_input(mp_core_t *c);

/* mp_core_pool: the pool, for reading. */
mp_pool_t *mp_core_pool(mp_core_t *c);

/* mp_core_stats: counters for status and metrics. */
void mp_core_stats(mp_core_t *c, uint64_t now_ms, mp_core_stats_t *st);

/* mp_core_sync: fdatasync of the journal now (stop, tests). */
int mp_core_sync(mp_core_t *c);

/* mp_core_compact: rewrites the journal with the live pool now. */
int mp_core_compact(mp_core_t *c);

#endif
