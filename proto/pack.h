/* rwire.h: the relay's wire payloads (docs/protocol.md section 3) and a
 * small msgpack cursor to read and write them without allocating.
 *
 *   INV, GETDATA, NOTFOUND  {"tx": [bin32, ...], "blk": [bin32, ...]}
 *                           GETDATA may also carry "blktx": {"id": bin32,
 *                           "idx": [uint, ...]} (ids of a compact block)
 *   TX                      {"tx": bin}   (the mempool's encoding, opaque)
 *   BLOCK                   {"block": BLOCK} | {"cmpct": COMPACT} |
 *                           {"blktxn": {"id": bin32, "idx": [uint...],
 *                                       "ids": [bin32...]}}   (block.h)
 *
 * Writers produce the canonical (shortest) forms; readers accept any
 * well-formed msgpack of the right types, skip unknown keys (a newer
 * version's), and refuse with CH_EPROTO (malformed) or CH_ERANGE (more
 * than RL_INV_MAX ids) without reading outside the input.  Stateless and
 * thread-safe. */
#ifndef CH_RELAY_RWIRE_H
#define CH_RELAY_RWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RL_INV_MAX 1000 /* ids in one INV / GETDATA / NOTFOUND (wire limit 40016 bytes) */

/* ---------------------------------------------------------------- cursor */

typedef struct rl_rd {
	const uint8_t *p, *end;
	int err; /* sticky: CH_EPROTO once anything was wrong */
} rl_rd_t;

void rl_rd_init(rl_rd_t *r, const void *buf, size_t len);
/* Each reader returns true on success; on failure it sets r->err. */
bool rl_rd_map(rl_rd_t *r, uint32_t *n);
bool rl_rd_array(rl_rd_t *r, uint32_t *n);
bool rl_rd_str(rl_rd_t *r, const char **s, uint32_t *len);
bool rl_rd_bin(rl_rd_t *r, const uint8_t **b, uint32_t *len);
bool rl_rd_uint(rl_rd_t *r, uint64_t *v);
/* rl_rd_key: reads a string key and tells whether it equals k. */
bool rl_rd_key(rl_rd_t *r, const char **s, uint32_t *len);
bool rl_rd_is(const char *s, uint32_t len, const char *k);
/* rl_rd_skip: skips one value of any type (nesting at most 8 deep). */
bool rl_rd_skip(rl_rd_t *r);

/* The writer appends to buf (cap bytes); on overflow it sets err and
 * writes nothing more. */
typedef struct rl_wr {
	uint8_t *buf;
	size_t len, cap;
	int err;
} rl_wr_t;

void rl_wr_init(rl_wr_t *w, void *buf, size_t cap);
void rl_wr_map(rl_wr_t *w, uint32_t n);
void rl_wr_array(rl_wr_t *w, uint32_t n);
void rl_wr_str(rl_wr_t *w, const char *s);
void rl_wr_bin(rl_wr_t *w, const void *b, uint32_t len);
void rl_wr_uint(rl_wr_t *w, uint64_t v);
/* rl_wr_bin_hdr: only the header of a bin of len bytes (the caller
 * appends the bytes with rl_wr_raw). */
void rl_wr_bin_hdr(rl_wr_t *w, uint32_t len);
void rl_wr_raw(rl_wr_t *w, const void *b, size_t len);

/* ---------------------------------------------------------------- inventory */

/* A decoded INV / GETDATA / NOTFOUND: pointers to the 32-byte ids inside
 * the payload (each is a bin32 body). */
typedef struct rl_inv {
	const uint8_t *tx[RL_INV_MAX];
	const uint8_t *blk[RL_INV_MAX];
	uint32_t ntx, nblk;
	/* GETDATA "blktx" */
	bool has_blktx;
	const uint8_t *blktx_id;
	uint32_t nidx;
	uint32_t idx[4096];
} rl_inv_t;

/* rl_inv_decode: 0; CH_ERANGE (more than RL_INV_MAX ids, or more than 4096
 * blktx indexes); CH_EPROTO (anything malformed). */
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
