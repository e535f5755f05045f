/* core_int.h: the relay core's private state, shared by core.c (peers,
 * transactions, announcements) and cblock.c (blocks).  Not an API. */
#ifndef CH_RELAY_CORE_INT_H
#define CH_RELAY_CORE_INT_H

#include <stdarg.h>

#include "block.h"
#include "core.h"
#include "filter.h"
#include "inflight.h"
#include "inv.h"
#include "tbucket.h"

typedef struct rl_peer {
	uint64_t handle;
	bool used, inbound, reported;
	bool block_only; /* a block-relay-only connection we made: no transactions */
	uint16_t slot;
	char addr[64];
	uint8_t pubkey[32];
	rl_fset_t known;
	uint32_t serve_pending; /* its requests waiting on the mempool */
	uint32_t nf_excess;     /* unknown ids it asked for beyond its bucket */
	uint64_t grace_until;
	ch_tbucket_t inv_bucket, unreq_bucket, nf_bucket, fail_bucket, block_bucket;
	int32_t pend_points;
	char pend_reason[52];
	/* counters */
	uint64_t inv_in, inv_out, getdata_in, getdata_out, notfound_in, notfound_out, tx_in, tx_out,
	    blocks_in, blocks_out, dup_tx_in, unrequested, points, bytes_in, bytes_out;
} rl_peer_t;

/* An accepted transaction waiting for the announcement flush. */
typedef struct rl_batch_ent {
	uint8_t id[32];
	rl_hash_t h;
	uint64_t fee;
	uint32_t size;
	uint64_t origin;
} rl_batch_ent_t;

/* A NOTFOUND reply gathered during a turn. */
typedef struct rl_nf {
	uint16_t slot;
	uint8_t blk;
	uint8_t id[32];
} rl_nf_t;

/* A recent block, kept to serve GETDATA blk / blktx. */
typedef struct rl_blockrec {
	bool used;
	rl_block_t b; /* txs owned */
	uint64_t seq; /* age */
} rl_blockrec_t;

/* A compact block being completed. */
typedef struct rl_pending {
	bool used;
	uint8_t stage;  /* 1: blktx asked, 2: full block asked */
	bool announced; /* made by an INV: nothing verified, the first to give way */
	uint64_t peer;
	rl_block_t b;  /* txs owned, ntx * 32 */
	uint8_t *have; /* ntx flags */
	uint32_t missing, asked;
	uint64_t started_ns, deadline_ns;
} rl_pending_t;

struct rl_core {
	rl_cfg_t cfg;
	rl_peer_t *peers;
	uint32_t maxpeers, npeers;
	uint32_t *hmap; /* handle -> slot + 1, open addressing */
	uint32_t hmask;
	rl_fset_t down;
	rl_trk_t trk;
	rl_idtab_t pool;
	rl_fset_t seen, rejects;
	rl_batch_ent_t *batch;
	uint32_t nbatch;
	uint64_t batch_deadline;
	uint64_t last_flush_ns;
	shm_outq_t out_tp, out_mp;
	rl_inv_t *inv;
	/* block scratch: decode buffers */
	uint8_t *blk_txs;
	uint32_t *blk_idx;
	uint32_t *sidmap; /* short id -> position + 1, for one compact block */
	uint64_t *sids;
	uint32_t sidmask;
	uint32_t block_max;
	uint8_t *msgbuf; /* one outgoing payload being built */
	size_t msgcap;
	uint8_t *idbuf; /* WIRE_INV_IDS_MAX ids being gathered into one message */
	rl_nf_t *nf;
	uint32_t nnf;
	uint16_t *report; /* slots with misbehaviour points to report */
	uint32_t nreport;
	bool fail_check; /* the tracker counted failures this turn */
	rl_blockrec_t blocks[RL_BLOCKS_KEEP];
	uint64_t block_seq;
	rl_pending_t pend[RL_PENDING_BLOCKS];
	bool have_tip;
	uint64_t tip_height;
	uint8_t tip_id[32];
	bool flood;
	rl_producers_t *prod; /* the validator set (cblock.c); n == 0: any key */
	rl_stats_t st;
};

/* core.c, for cblock.c */
rl_peer_t *rl_peer_find(rl_core_t *c, uint64_t handle);
void rl_misbehave(rl_core_t *c, rl_peer_t *p, int points, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* rl_out_send: a SEND ONE record of `type` carrying payload to peer. */
void rl_out_send(rl_core_t *c, rl_peer_t *p, uint8_t type, const uint8_t *payload, size_t len);
/* rl_send_ids: an INV-shaped message (INV 5, GETDATA 6, NOTFOUND 7). */
void rl_send_ids(rl_core_t *c, rl_peer_t *p, uint8_t type, const uint8_t *tx, uint32_t ntx,
                 const uint8_t *blk, uint32_t nblk);
void rl_nf_add(rl_core_t *c, rl_peer_t *p, const uint8_t id[32], bool blk);
rl_hash_t rl_core_hash(const rl_core_t *c, const uint8_t id[32]);

/* cblock.c */
void rl_block_on_msg(rl_core_t *c, rl_peer_t *p, const uint8_t *pl, uint32_t len, uint64_t now);
void rl_block_on_getdata(rl_core_t *c, rl_peer_t *p, const rl_inv_t *inv, uint64_t now);
void rl_block_on_inv(rl_core_t *c, rl_peer_t *p, const uint8_t id[32], uint64_t now);
void rl_block_on_notfound(rl_core_t *c, rl_peer_t *p, const uint8_t id[32], uint64_t now);
int rl_block_tick(rl_core_t *c, uint64_t now);
uint64_t rl_block_deadline(const rl_core_t *c);
void rl_blocks_free(rl_core_t *c);
int rl_blocks_init(rl_core_t *c);
const rl_blockrec_t *rl_block_find(const rl_core_t *c, const uint8_t id[32]);

#endif
