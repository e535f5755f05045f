/* block.h: blocks as the relay carries them (docs/protocol.md section 3).
 *
 * A block is the msgpack map, keys in this order (canonical: fixmap,
 * fixstr keys, shortest integers and headers):
 *   {"v": 1, "height": u64, "prev": bin32, "txs": [bin32, ...],
 *    "producer": bin32 (ed25519 public key), "time": u64 (ms), "sig": bin64}
 * Its id is BLAKE2b-256 of the same map without "sig" (a six-entry map);
 * "sig" is the producer's ed25519 signature of the 32-byte id.  Chorus
 * checks only the signature and the sizes: heights, parents and who may
 * produce are the application's business.
 *
 * Compact form (BLOCK {"cmpct": ...}): the header fields, the id, and one
 * 6-byte short id per transaction: the first 6 bytes of SipHash-2-4 of the
 * transaction id keyed with the first 16 bytes of the block id
 * (rl_short_id).  The receiver matches them against its pool's ids, asks
 * the sender for the positions it cannot match (GETDATA {"blktx"}), gets
 * the full ids (BLOCK {"blktxn"}), recomputes the id and checks it and the
 * signature.
 *
 * Decoders never read outside their input and refuse with CH_EPROTO
 * (malformed) or CH_ERANGE (more transactions than allowed).  Stateless;
 * thread-safe. */
#ifndef CH_PROTO_BLOCK_H
#define CH_PROTO_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"

#define RL_BLOCK_VERSION  1
#define RL_BLOCK_TXS_MAX  4096 /* transactions in a block (also bounded by ring-max-msg) */
#define RL_SHORT_ID_LEN   6
#define RL_BLOCK_HDR_MAX  256 /* bytes of a block's encoding besides its ids */
#define RL_BLOCK_ID_BYTES 34  /* bytes per transaction id in the encoding (bin8 header) */

typedef struct rl_block {
	uint64_t v, height, time;
	uint8_t id[32], prev[32], producer[32], sig[64];
	uint32_t ntx;
	uint8_t *txs; /* ntx * 32 bytes, owned by whoever filled the struct */
} rl_block_t;

/* rl_block_max_txs: the most transactions a block may list so that every
 * record carrying it (BLOCK frames, CH_TAG_BLOCK) fits ring_max_msg. */
uint32_t rl_block_max_txs(uint64_t ring_max_msg);

/* rl_block_size: bytes of the (signed) encoding. */
size_t rl_block_size(const rl_block_t *b);

/* rl_block_encode: the encoding, with or without "sig", into out.  Returns
 * bytes written, 0 if cap is too small. */
size_t rl_block_encode(const rl_block_t *b, bool with_sig, uint8_t *out, size_t cap);

/* rl_block_hash: b->id = BLAKE2b-256 of the unsigned encoding.  0;
 * CH_ENOMEM. */
int rl_block_hash(rl_block_t *b);

/* rl_block_sign: sets producer from sk, time (if 0), the id and sig. */
int rl_block_sign(rl_block_t *b, const ch_seckey_t *sk);

/* rl_block_verify: the signature over b->id by b->producer.  0;
 * CH_ECRYPTO. */
int rl_block_verify(const rl_block_t *b);

/* rl_short_id: the 48-bit short id of a transaction in a block. */
uint64_t rl_short_id(const uint8_t block_id[32], const uint8_t txid[32]);

/* ---------------------------------------------------------------- messages */

typedef enum rl_blkmsg_kind {
	RL_BLKMSG_FULL = 1,  /* {"block": BLOCK}: b complete, id computed */
	RL_BLKMSG_CMPCT = 2, /* {"cmpct": ...}: b without txs, id as claimed */
	RL_BLKMSG_TXN = 3,   /* {"blktxn": ...}: id, idx[n], ids (n * 32) */
} rl_blkmsg_kind_t;

typedef struct rl_blkmsg {
	rl_blkmsg_kind_t kind;
	rl_block_t b;       /* FULL, CMPCT (txs: the caller's buffer) */
	const uint8_t *sid; /* CMPCT: b.ntx * 6 bytes */
	uint32_t *idx;      /* TXN: the caller's buffer */
	uint32_t n;         /* TXN: indexes and ids */
} rl_blkmsg_t;

/* rl_blkmsg_decode: a BLOCK payload.  m->b.txs must point at max_txs * 32
 * bytes and m->idx at max_txs numbers (for TXN the ids go to b.txs).  For
 * FULL the id is computed (signature not checked).  0; CH_ERANGE;
 * CH_EPROTO; CH_ENOMEM. */
int rl_blkmsg_decode(const uint8_t *buf, size_t len, uint32_t max_txs, rl_blkmsg_t *m);

/* rl_block_msg_full: {"block": encoding}; bytes written or 0. */
size_t rl_block_msg_full(const rl_block_t *b, uint8_t *out, size_t cap);

/* rl_block_msg_cmpct: {"cmpct": ...}; bytes written or 0. */
size_t rl_block_msg_cmpct(const rl_block_t *b, uint8_t *out, size_t cap);
size_t rl_block_cmpct_size(const rl_block_t *b);

/* rl_block_msg_txn: {"blktxn": {"id", "idx", "ids"}} for the listed
 * positions of b; bytes written or 0. */
size_t rl_block_msg_txn(const rl_block_t *b, const uint32_t *idx, uint32_t n, uint8_t *out,
                        size_t cap);

#endif
