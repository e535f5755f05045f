/* tx.h: the Chorus transaction (docs/protocol.md section 2).
 *
 * A transaction is the canonical msgpack encoding of a six-entry map, keys
 * in this order:
 *   {"v": 1, "from": bin 32, "nonce": u64, "fee": u64, "data": bin, "sig": bin 64}
 * Canonical means: fixmap header, fixstr keys, every unsigned integer in its
 * shortest form, every bin with the shortest length header.  The id is
 * BLAKE2b-256 of the same encoding without "sig" (a five-entry map, header
 * 0x85, then the same bytes up to "sig"); "sig" is the ed25519 signature of
 * the 32-byte id by "from".  Since the encoding is canonical, decoding then
 * encoding gives the input back byte for byte, and one set of fields has
 * exactly one encoding and one id.
 *
 * Both directions use the protocol's msgpack cursor (pack.h); the decoder
 * reads in canonical mode.  Stateless and thread-safe. */
#ifndef CH_PROTO_TX_H
#define CH_PROTO_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "msgs.h"

#define MP_TX_VERSION 1
/* Largest encoding accepted (bytes).  A TX_DATA ring record (48 + this)
 * stays under the smallest ring record size (64 KiB). */
#define MP_TX_MAX_SIZE 32768
/* Largest "data" field: the rest of a largest encoding is at most 149 bytes. */
#define MP_TX_DATA_MAX 32512
/* Smallest possible encoding (nonce and fee below 128, empty data). */
#define MP_TX_MIN_SIZE 132

/* A decoded transaction.  enc and data point into the decoded buffer. */
typedef struct mp_tx {
	uint8_t id[CH_TXID_LEN];
	ch_pubkey_t from;
	uint64_t nonce;
	uint64_t fee;
	const uint8_t *data;
	uint32_t data_len;
	ch_sig_t sig;
	const uint8_t *enc; /* the whole encoding */
	uint32_t size;      /* its length: the fee rate is fee / size */
} mp_tx_t;

/* mp_tx_decode: strictly decodes buf[0..len) into tx and computes its id.
 * Returns 0; CH_ERANGE if the encoding or its data field is too large;
 * CH_EPROTO for anything else that is not a canonical encoding (wrong
 * type, missing, unknown, duplicate or misordered key, non-canonical
 * integer or length, wrong key or signature length, version other than 1,
 * truncation, trailing bytes), with one line in why (may be NULL).  Never
 * reads outside buf.  The signature is not checked (mp_tx_verify). */
int mp_tx_decode(const uint8_t *buf, size_t len, mp_tx_t *tx, char *why, size_t whycap);

/* mp_tx_verify: checks tx->sig over tx->id by tx->from.  0 or CH_ECRYPTO. */
int mp_tx_verify(const mp_tx_t *tx);

/* mp_tx_reason_name: "malformed", "fee_too_low", ... for a ch_tx_reject_t;
 * "accepted" for 0; "unknown" otherwise. */
const char *mp_tx_reason_name(int reason);

/* mp_tx_removal_name: "included", "evicted", "expired", "replaced". */
const char *mp_tx_removal_name(int reason);

/* mp_tx_encode: builds and signs a transaction from sk (whose public key
 * becomes "from") into out (cap bytes; MP_TX_MAX_SIZE always suffices).
 * Stores the encoding's length in *len and its id in id (either may be
 * NULL).  Returns 0; CH_EINVAL on NULL arguments; CH_ERANGE if data is
 * longer than MP_TX_DATA_MAX or out is too small; CH_ECRYPTO if signing
 * fails.  Thread-safe. */
int mp_tx_encode(uint8_t *out, size_t cap, const ch_seckey_t *sk, uint64_t nonce, uint64_t fee,
                 const void *data, size_t dlen, size_t *len, uint8_t id[CH_TXID_LEN]);

#endif
