/* inv.h: the relay's inventory and transaction payloads (docs/protocol.md
 * section 3).
 *
 *   INV, GETDATA, NOTFOUND  {"tx": [bin32, ...], "blk": [bin32, ...]}
 *                           GETDATA may also carry "blktx": {"id": bin32,
 *                           "idx": [uint, ...]} (ids of a compact block)
 *   TX                      {"tx": bin}   (a transaction's encoding, tx.h)
 *
 * BLOCK payloads are in block.h.  Writers produce the canonical (shortest)
 * forms; readers accept any well-formed msgpack of the right types, skip
 * unknown keys (a newer version's), and refuse with CH_EPROTO (malformed)
 * or CH_ERANGE (more than WIRE_INV_IDS_MAX ids) without reading outside
 * the input.  Stateless and thread-safe. */
#ifndef CH_PROTO_INV_H
#define CH_PROTO_INV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "wire.h"

/* A decoded INV / GETDATA / NOTFOUND: pointers to the 32-byte ids inside
 * the payload (each is a bin32 body). */
typedef struct rl_inv {
	const uint8_t *tx[WIRE_INV_IDS_MAX];
	const uint8_t *blk[WIRE_INV_IDS_MAX];
	uint32_t ntx, nblk;
	/* GETDATA "blktx" */
	bool has_blktx;
	const uint8_t *blktx_id;
	uint32_t nidx;
	uint32_t idx[RL_BLOCK_TXS_MAX];
} rl_inv_t;

/* rl_inv_decode: 0; CH_ERANGE (more than WIRE_INV_IDS_MAX ids, or more
 * than RL_BLOCK_TXS_MAX blktx indexes); CH_EPROTO (anything malformed). */
int rl_inv_decode(const uint8_t *buf, size_t len, rl_inv_t *out);

/* rl_inv_size: bytes of an inventory payload of ntx and nblk ids. */
size_t rl_inv_size(uint32_t ntx, uint32_t nblk);

/* rl_inv_encode: {"tx": [...], "blk": [...]} with empty lists left out;
 * ids are contiguous 32-byte arrays.  Returns bytes written (0 if cap is
 * too small or both are empty). */
size_t rl_inv_encode(uint8_t *out, size_t cap, const uint8_t *tx, uint32_t ntx, const uint8_t *blk,
                     uint32_t nblk);

/* rl_getblktx_encode: GETDATA {"blktx": {"id": .., "idx": [...]}}. */
size_t rl_getblktx_encode(uint8_t *out, size_t cap, const uint8_t id[32], const uint32_t *idx,
                          uint32_t n);

/* ---------------------------------------------------------------- TX */

#define RL_TX_WRAP 8 /* bytes {"tx": bin32 header} adds around an encoding */

/* rl_tx_encode: {"tx": bin(enc)}; returns bytes written or 0. */
size_t rl_tx_encode(uint8_t *out, size_t cap, const uint8_t *enc, uint32_t len);

/* rl_tx_decode: the transaction's bytes inside a TX payload.  0; CH_EPROTO. */
int rl_tx_decode(const uint8_t *buf, size_t len, const uint8_t **enc, uint32_t *enc_len);

#endif
