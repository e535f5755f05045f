/* tx.c: the transaction encoder and its strict decoder (tx.h). */
#include "tx.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "pack.h"

/* The fields in canonical order. */
enum { F_V, F_FROM, F_NONCE, F_FEE, F_DATA, F_SIG, F_COUNT };
static const char *const field_names[F_COUNT] = {"v", "from", "nonce", "fee", "data", "sig"};

/* The decoder's state: the cursor, where "sig" starts, and the reason. */
typedef struct {
	pack_rd_t r;
	char *why;
	size_t whycap;
} rd_t;

/* fail: records the reason (first one wins) and returns code. */
__attribute__((format(printf, 3, 4))) static int fail(rd_t *d, int code, const char *fmt, ...)
{
	if (d->why && d->whycap > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(d->why, d->whycap, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* read_uint: one canonical unsigned integer; the cursor refuses signed,
 * float and longer-than-needed forms, since each would give a second
 * encoding of the same transaction. */
static int read_uint(rd_t *d, const char *field, uint64_t *out)
{
	if (pack_rd_uint(&d->r, out))
		return 0;
	if (d->r.why == PACK_TYPE)
		return fail(d, CH_EPROTO,
		            "field '%s' is not an unsigned integer (type byte 0x%02x)", field,
		            d->r.byte);
	if (d->r.why == PACK_NONCANON)
		return fail(d, CH_EPROTO, "field '%s': non-canonical integer (type byte 0x%02x)",
		            field, d->r.byte);
	return fail(d, CH_EPROTO, "truncated in field '%s'", field);
}

/* read_bin: one bin with the shortest length header, at most max bytes
 * (longer: too_long, CH_ERANGE for data, CH_EPROTO for fixed-size fields);
 * the length is judged before the bytes are looked for. */
static int read_bin(rd_t *d, const char *field, size_t max, int too_long, const uint8_t **ptr,
                    size_t *n)
{
	uint32_t v;
	if (!pack_rd_bin_hdr(&d->r, &v)) {
		if (d->r.why == PACK_TYPE)
			return fail(d, CH_EPROTO, "field '%s' is not binary (type byte 0x%02x)",
			            field, d->r.byte);
		if (d->r.why == PACK_NONCANON)
			return fail(d, CH_EPROTO, "field '%s': non-canonical length header", field);
		return fail(d, CH_EPROTO, "truncated in field '%s'", field);
	}
	if (v > max)
		return fail(d, too_long, "field '%s' is %lu bytes, at most %zu allowed", field,
		            (unsigned long)v, max);
	if (!pack_rd_raw(&d->r, v, ptr))
		return fail(d, CH_EPROTO, "truncated in field '%s'", field);
	*n = v;
	return 0;
}

/* read_key: a fixstr key naming one of the six fields; *f gets its index. */
static int read_key(rd_t *d, int *f)
{
	const char *k;
	uint32_t n;
	if (!pack_rd_str(&d->r, &k, &n)) {
		if (d->r.why == PACK_NONCANON)
			return fail(d, CH_EPROTO, "non-canonical key encoding (type byte 0x%02x)",
			            d->r.byte);
		if (d->r.why == PACK_TYPE)
			return fail(d, CH_EPROTO, "a key is not a string (type byte 0x%02x)",
			            d->r.byte);
		return fail(d, CH_EPROTO, "truncated in a key");
	}
	for (int i = 0; i < F_COUNT; i++)
		if (pack_is(k, n, field_names[i])) {
			*f = i;
			return 0;
		}
	char shown[24];
	size_t m = n < sizeof(shown) - 1 ? n : sizeof(shown) - 1;
	for (size_t i = 0; i < m; i++)
		shown[i] = k[i] >= 0x20 && k[i] < 0x7f ? k[i] : '?';
	shown[m] = 0;
	return fail(d, CH_EPROTO, "unknown key '%s'", shown);
}

/* mp_tx_decode: one pass over the fields in canonical order; the id hashes the bytes before "sig"
 * behind a 0x85 header, without copying. */
int mp_tx_decode(const uint8_t *buf, size_t len, mp_tx_t *tx, char *why, size_t whycap)
{
	rd_t d = {.why = why, .whycap = whycap};
	if (why && whycap)
		why[0] = 0;
	if (!buf || !tx)
		return CH_EINVAL;
	if (len > MP_TX_MAX_SIZE)
		return fail(&d, CH_ERANGE, "encoding is %zu bytes, at most %d allowed", len,
		            MP_TX_MAX_SIZE);
	if (len == 0)
		return fail(&d, CH_EPROTO, "empty");
	pack_rd_init(&d.r, buf, len, PACK_CANONICAL);
	uint32_t nfields;
	if (!pack_rd_map(&d.r, &nfields)) {
		if (d.r.why == PACK_NONCANON)
			return fail(&d, CH_EPROTO, "non-canonical map header (0x%02x)", d.r.byte);
		if (d.r.why == PACK_TRUNCATED)
			return fail(&d, CH_EPROTO, "truncated in the map header");
		return fail(&d, CH_EPROTO, "not a map (type byte 0x%02x)", d.r.byte);
	}

	memset(tx, 0, sizeof(*tx));
	bool seen[F_COUNT] = {false};
	int last = -1;
	const uint8_t *sig_key_at = NULL;
	for (uint32_t i = 0; i < nfields; i++) {
		int f = -1, rc;
		const uint8_t *key_at = d.r.p;
		if ((rc = read_key(&d, &f)) != 0)
			return rc;
		if (seen[f])
			return fail(&d, CH_EPROTO, "duplicate key '%s'", field_names[f]);
		if (f < last)
			return fail(&d, CH_EPROTO, "key '%s' out of canonical order",
			            field_names[f]);
		seen[f] = true;
		last = f;
		const uint8_t *p;
		size_t n;
		uint64_t v;
		switch (f) {
		case F_V:
			if ((rc = read_uint(&d, "v", &v)) != 0)
				return rc;
			if (v != MP_TX_VERSION)
				return fail(&d, CH_EPROTO, "unsupported version %llu",
				            (unsigned long long)v);
			break;
		case F_FROM:
			if ((rc = read_bin(&d, "from", 255, CH_EPROTO, &p, &n)) != 0)
				return rc;
			if (n != sizeof(tx->from.b))
				return fail(&d, CH_EPROTO, "field 'from' is %zu bytes, not 32", n);
			memcpy(tx->from.b, p, n);
			break;
		case F_NONCE:
			if ((rc = read_uint(&d, "nonce", &tx->nonce)) != 0)
				return rc;
			break;
		case F_FEE:
			if ((rc = read_uint(&d, "fee", &tx->fee)) != 0)
				return rc;
			break;
		case F_DATA:
			if ((rc = read_bin(&d, "data", MP_TX_DATA_MAX, CH_ERANGE, &p, &n)) != 0)
				return rc;
			tx->data = p;
			tx->data_len = (uint32_t)n;
			break;
		case F_SIG:
			sig_key_at = key_at;
			if ((rc = read_bin(&d, "sig", 255, CH_EPROTO, &p, &n)) != 0)
				return rc;
			if (n != sizeof(tx->sig.b))
				return fail(&d, CH_EPROTO, "field 'sig' is %zu bytes, not 64", n);
			memcpy(tx->sig.b, p, n);
			break;
		}
	}
	for (int f = 0; f < F_COUNT; f++)
		if (!seen[f])
			return fail(&d, CH_EPROTO, "missing key '%s'", field_names[f]);
	if (nfields != F_COUNT)
		return fail(&d, CH_EPROTO, "%lu keys, expected %d", (unsigned long)nfields,
		            F_COUNT);
	if (pack_rd_left(&d.r))
		return fail(&d, CH_EPROTO, "%zu trailing bytes", pack_rd_left(&d.r));

	/* id = BLAKE2b-256(0x85 || the bytes between the map header and "sig") */
	crypto_generichash_state st;
	static const uint8_t unsigned_hdr = 0x85;
	crypto_generichash_init(&st, NULL, 0, CH_TXID_LEN);
	crypto_generichash_update(&st, &unsigned_hdr, 1);
	crypto_generichash_update(&st, buf + 1, (size_t)(sig_key_at - buf) - 1);
	crypto_generichash_final(&st, tx->id, CH_TXID_LEN);
	tx->enc = buf;
	tx->size = (uint32_t)len;
	return 0;
}

/* mp_tx_encode: the fields in canonical order; the id hashes the unsigned
 * form, the same bytes behind a five-entry map header (0x85), so the
 * header is patched rather than the fields written twice. */
int mp_tx_encode(uint8_t *out, size_t cap, const ch_seckey_t *sk, uint64_t nonce, uint64_t fee,
                 const void *data, size_t dlen, size_t *len, uint8_t id[CH_TXID_LEN])
{
	uint8_t hid[CH_TXID_LEN];
	ch_pubkey_t pk;
	ch_sig_t sig;
	pack_wr_t w;

	if (!out || !sk || (!data && dlen > 0))
		return CH_EINVAL;
	if (dlen > MP_TX_DATA_MAX)
		return CH_ERANGE;
	if (cap < 149 + dlen)
		return CH_ERANGE;
	if (ch_ed25519_sk_pubkey(&pk, sk) != 0)
		return CH_ECRYPTO;
	pack_wr_init(&w, out, cap);
	pack_wr_map(&w, F_COUNT - 1); /* the unsigned form: the five fields before "sig" */
	pack_wr_str(&w, field_names[F_V]);
	pack_wr_uint(&w, MP_TX_VERSION);
	pack_wr_str(&w, field_names[F_FROM]);
	pack_wr_bin(&w, pk.b, sizeof(pk.b));
	pack_wr_str(&w, field_names[F_NONCE]);
	pack_wr_uint(&w, nonce);
	pack_wr_str(&w, field_names[F_FEE]);
	pack_wr_uint(&w, fee);
	pack_wr_str(&w, field_names[F_DATA]);
	pack_wr_bin(&w, data, (uint32_t)dlen);
	if (w.err)
		return CH_ERANGE;
	if (ch_blake2b256(hid, out, w.len) != 0 || ch_ed25519_sign(&sig, hid, sizeof(hid), sk) != 0)
		return CH_ECRYPTO;
	out[0] = 0x86; /* fixmap of six: the signed form */
	pack_wr_str(&w, field_names[F_SIG]);
	pack_wr_bin(&w, sig.b, sizeof(sig.b));
	if (w.err)
		return CH_ERANGE;
	if (len)
		*len = w.len;
	if (id)
		memcpy(id, hid, sizeof(hid));
	return 0;
}

/* mp_tx_verify: ed25519 over the 32-byte id. */
int mp_tx_verify(const mp_tx_t *tx)
{
	return ch_ed25519_verify(&tx->sig, tx->id, sizeof(tx->id), &tx->from);
}

/* mp_tx_reason_name: the names used in replies, events and chorusctl. */
const char *mp_tx_reason_name(int reason)
{
	switch (reason) {
	case 0:
		return "accepted";
	case CH_TXR_MALFORMED:
		return "malformed";
	case CH_TXR_TOO_LARGE:
		return "too_large";
	case CH_TXR_BAD_SIG:
		return "bad_sig";
	case CH_TXR_FEE_TOO_LOW:
		return "fee_too_low";
	case CH_TXR_DUPLICATE:
		return "duplicate";
	case CH_TXR_RECENTLY_REJECTED:
		return "recently_rejected";
	case CH_TXR_REPLACEMENT_FEE:
		return "replacement_fee";
	case CH_TXR_SENDER_LIMIT:
		return "sender_limit";
	case CH_TXR_POOL_FULL:
		return "pool_full";
	case CH_TXR_EXPIRED:
		return "expired";
	}
	return "unknown";
}

/* mp_tx_removal_name: the names of ch_tx_removal_t. */
const char *mp_tx_removal_name(int reason)
{
	switch (reason) {
	case CH_TXRM_INCLUDED:
		return "included";
	case CH_TXRM_EVICTED:
		return "evicted";
	case CH_TXRM_EXPIRED:
		return "expired";
	case CH_TXRM_REPLACED:
		return "replaced";
	}
	return "unknown";
}
