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
 * The encoder is inline here so that chorusctl (which links only the common
 * library) builds transactions with the same code the service decodes
 * them with; the strict decoder lives in tx.c.  Stateless and thread-safe. */
#ifndef CH_PROTO_TX_H
#define CH_PROTO_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
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

/* mp_tx_put_uint: writes v as the shortest msgpack unsigned integer at p
 * (up to 9 bytes) and returns the bytes written. */
static inline size_t mp_tx_put_uint(uint8_t *p, uint64_t v)
{
	size_t n;
	if (v < 128) {
		p[0] = (uint8_t)v;
		return 1;
	}
	if (v < 256) {
		p[0] = 0xcc;
		n = 1;
	} else if (v < 65536) {
		p[0] = 0xcd;
		n = 2;
	} else if (v <= UINT32_MAX) {
		p[0] = 0xce;
		n = 4;
	} else {
		p[0] = 0xcf;
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		p[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return 1 + n;
}

/* mp_tx_put_key: writes a fixstr key (under 32 bytes) and returns its size. */
static inline size_t mp_tx_put_key(uint8_t *p, const char *k)
{
	size_t n = strlen(k);
	p[0] = (uint8_t)(0xa0 | n);
	memcpy(p + 1, k, n);
	return 1 + n;
}

/* mp_tx_put_bin: writes a bin with the shortest header and returns its size. */
static inline size_t mp_tx_put_bin(uint8_t *p, const void *b, size_t n)
{
	size_t h;
	if (n < 256) {
		p[0] = 0xc4;
		p[1] = (uint8_t)n;
		h = 2;
	} else {
		p[0] = 0xc5; /* n <= MP_TX_DATA_MAX < 65536 */
		p[1] = (uint8_t)(n >> 8);
		p[2] = (uint8_t)n;
		h = 3;
	}
	if (n > 0)
		memcpy(p + h, b, n);
	return h + n;
}

/* mp_tx_encode: builds and signs a transaction from sk (whose public key
 * becomes "from") into out (cap bytes; MP_TX_MAX_SIZE always suffices).
 * Stores the encoding's length in *len and its id in id (either may be
 * NULL).  Returns 0; CH_EINVAL on NULL arguments; CH_ERANGE if data is
 * longer than MP_TX_DATA_MAX or out is too small; CH_ECRYPTO if signing
 * fails.  Thread-safe. */
static inline int mp_tx_encode(uint8_t *out, size_t cap, const ch_seckey_t *sk, uint64_t nonce,
                               uint64_t fee, const void *data, size_t dlen, size_t *len,
                               uint8_t id[CH_TXID_LEN])
{
	uint8_t hid[CH_TXID_LEN];
	ch_pubkey_t pk;
	ch_sig_t sig;
	size_t n = 1;

	if (!out || !sk || (!data && dlen > 0))
		return CH_EINVAL;
	if (dlen > MP_TX_DATA_MAX)
		return CH_ERANGE;
	if (cap < 149 + dlen)
		return CH_ERANGE;
	if (ch_ed25519_sk_pubkey(&pk, sk) != 0)
		return CH_ECRYPTO;
	n += mp_tx_put_key(out + n, "v");
	n += mp_tx_put_uint(out + n, MP_TX_VERSION);
	n += mp_tx_put_key(out + n, "from");
	n += mp_tx_put_bin(out + n, pk.b, sizeof(pk.b));
	n += mp_tx_put_key(out + n, "nonce");
	n += mp_tx_put_uint(out + n, nonce);
	n += mp_tx_put_key(out + n, "fee");
	n += mp_tx_put_uint(out + n, fee);
	n += mp_tx_put_key(out + n, "data");
	n += mp_tx_put_bin(out + n, data, dlen);
	out[0] = 0x85; /* the unsigned form: the five fields before "sig" */
	if (ch_blake2b256(hid, out, n) != 0 || ch_ed25519_sign(&sig, hid, sizeof(hid), sk) != 0)
		return CH_ECRYPTO;
	out[0] = 0x86;
	n += mp_tx_put_key(out + n, "sig");
	n += mp_tx_put_bin(out + n, sig.b, sizeof(sig.b));
	if (len)
		*len = n;
	if (id)
		memcpy(id, hid, sizeof(hid));
	return 0;
}

#endif
