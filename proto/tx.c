/* tx.c: the strict transaction decoder (see tx.h). */
#include "tx.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>

/* The fields in canonical order. */
enum { F_V, F_FROM, F_NONCE, F_FEE, F_DATA, F_SIG, F_COUNT };
static const char *const field_names[F_COUNT] = {"v", "from", "nonce", "fee", "data", "sig"};

/* A cursor over the input; every read checks the bytes left. */
typedef struct {
	const uint8_t *p;
	size_t len, pos;
	char *why;
	size_t whycap;
} rd_t;

/* fail: records the reason (first one wins) and returns code. */
__attribute__((format(printf, 3, 4))) static int fail(rd_t *r, int code, const char *fmt, ...)
{
	if (r->why && r->whycap > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->why, r->whycap, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* be: an n-byte big-endian number at p. */
static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* read_uint: one canonical unsigned integer; refuses signed, float and
 * longer-than-needed forms, since each would give a second encoding of the
 * same transaction. */
static int read_uint(rd_t *r, const char *field, uint64_t *out)
{
	if (r->pos >= r->len)
		return fail(r, CH_EPROTO, "truncated in field '%s'", field);
	uint8_t b = r->p[r->pos++];
	size_t n;
	uint64_t min;
	if (b <= 0x7f) {
		*out = b;
		return 0;
	}
	switch (b) {
	case 0xcc:
		n = 1, min = 128;
		break;
	case 0xcd:
		n = 2, min = 256;
		break;
	case 0xce:
		n = 4, min = 65536;
		break;
	case 0xcf:
		n = 8, min = (uint64_t)UINT32_MAX + 1;
		break;
	default:
		return fail(r, CH_EPROTO,
		            "field '%s' is not an unsigned integer (type byte 0x%02x)", field, b);
	}
	if (r->len - r->pos < n)
		return fail(r, CH_EPROTO, "truncated in field '%s'", field);
	*out = be(r->p + r->pos, n);
	r->pos += n;
	if (*out < min)
		return fail(r, CH_EPROTO, "field '%s': non-canonical integer (%llu in %zu bytes)",
		            field, (unsigned long long)*out, n);
	return 0;
}

/* read_bin: one bin with the shortest length header, at most max bytes
 * (longer: CH_ERANGE for data, CH_EPROTO for fixed-size fields). */
static int read_bin(rd_t *r, const char *field, size_t max, int too_long, const uint8_t **ptr,
                    size_t *n)
{
	if (r->pos >= r->len)
		return fail(r, CH_EPROTO, "truncated in field '%s'", field);
	uint8_t b = r->p[r->pos++];
	size_t h;
	if (b == 0xc4)
		h = 1;
	else if (b == 0xc5)
		h = 2;
	else if (b == 0xc6)
		h = 4;
	else
		return fail(r, CH_EPROTO, "field '%s' is not binary (type byte 0x%02x)", field, b);
	if (r->len - r->pos < h)
		return fail(r, CH_EPROTO, "truncated in field '%s'", field);
	uint64_t v = be(r->p + r->pos, h);
	r->pos += h;
	if ((h == 2 && v < 256) || (h == 4 && v < 65536))
		return fail(r, CH_EPROTO, "field '%s': non-canonical length header", field);
	if (v > max)
		return fail(r, too_long, "field '%s' is %llu bytes, at most %zu allowed", field,
		            (unsigned long long)v, max);
	if (r->len - r->pos < v)
		return fail(r, CH_EPROTO, "truncated in field '%s'", field);
	*ptr = r->p + r->pos;
	*n = (size_t)v;
	r->pos += (size_t)v;
	return 0;
}

/* read_key: a fixstr key naming one of the six fields; *f gets its index. */
static int read_key(rd_t *r, int *f)
{
	if (r->pos >= r->len)
		return fail(r, CH_EPROTO, "truncated before a key");
	uint8_t b = r->p[r->pos++];
	if (b == 0xd9 || b == 0xda || b == 0xdb)
		return fail(r, CH_EPROTO, "non-canonical key encoding (type byte 0x%02x)", b);
	if ((b & 0xe0) != 0xa0)
		return fail(r, CH_EPROTO, "a key is not a string (type byte 0x%02x)", b);
	size_t n = b & 0x1f;
	if (r->len - r->pos < n)
		return fail(r, CH_EPROTO, "truncated in a key");
	const uint8_t *k = r->p + r->pos;
	r->pos += n;
	for (int i = 0; i < F_COUNT; i++)
		if (strlen(field_names[i]) == n && memcmp(field_names[i], k, n) == 0) {
			*f = i;
			return 0;
		}
	char shown[24];
	size_t m = n < sizeof(shown) - 1 ? n : sizeof(shown) - 1;
	for (size_t i = 0; i < m; i++)
		shown[i] = k[i] >= 0x20 && k[i] < 0x7f ? (char)k[i] : '?';
	shown[m] = 0;
	return fail(r, CH_EPROTO, "unknown key '%s'", shown);
}

/* mp_tx_decode: one pass over the fields in canonical order; the id hashes the bytes before "sig"
 * behind a 0x85 header, without copying. */
int mp_tx_decode(const uint8_t *buf, size_t len, mp_tx_t *tx, char *why, size_t whycap)
{
	rd_t r = {.p = buf, .len = len, .why = why, .whycap = whycap};
	if (why && whycap)
		why[0] = 0;
	if (!buf || !tx)
		return CH_EINVAL;
	if (len > MP_TX_MAX_SIZE)
		return fail(&r, CH_ERANGE, "encoding is %zu bytes, at most %d allowed", len,
		            MP_TX_MAX_SIZE);
	if (len == 0)
		return fail(&r, CH_EPROTO, "empty");
	uint8_t h = buf[r.pos++];
	size_t nfields;
	if ((h & 0xf0) == 0x80)
		nfields = h & 0x0f;
	else if (h == 0xde || h == 0xdf)
		return fail(&r, CH_EPROTO, "non-canonical map header (0x%02x)", h);
	else
		return fail(&r, CH_EPROTO, "not a map (type byte 0x%02x)", h);

	memset(tx, 0, sizeof(*tx));
	bool seen[F_COUNT] = {false};
	int last = -1;
	size_t sig_key_at = 0;
	for (size_t i = 0; i < nfields; i++) {
		int f = -1, rc;
		size_t key_at = r.pos;
		if ((rc = read_key(&r, &f)) != 0)
			return rc;
		if (seen[f])
			return fail(&r, CH_EPROTO, "duplicate key '%s'", field_names[f]);
		if (f < last)
			return fail(&r, CH_EPROTO, "key '%s' out of canonical order",
			            field_names[f]);
		seen[f] = true;
		last = f;
		const uint8_t *p;
		size_t n;
		uint64_t v;
		switch (f) {
		case F_V:
			if ((rc = read_uint(&r, "v", &v)) != 0)
				return rc;
			if (v != MP_TX_VERSION)
				return fail(&r, CH_EPROTO, "unsupported version %llu",
				            (unsigned long long)v);
			break;
		case F_FROM:
			if ((rc = read_bin(&r, "from", 255, CH_EPROTO, &p, &n)) != 0)
				return rc;
			if (n != sizeof(tx->from.b))
				return fail(&r, CH_EPROTO, "field 'from' is %zu bytes, not 32", n);
			memcpy(tx->from.b, p, n);
			break;
		case F_NONCE:
			if ((rc = read_uint(&r, "nonce", &tx->nonce)) != 0)
				return rc;
			break;
		case F_FEE:
			if ((rc = read_uint(&r, "fee", &tx->fee)) != 0)
				return rc;
			break;
		case F_DATA:
			if ((rc = read_bin(&r, "data", MP_TX_DATA_MAX, CH_ERANGE, &p, &n)) != 0)
				return rc;
			tx->data = p;
			tx->data_len = (uint32_t)n;
			break;
		case F_SIG:
			sig_key_at = key_at;
			if ((rc = read_bin(&r, "sig", 255, CH_EPROTO, &p, &n)) != 0)
				return rc;
			if (n != sizeof(tx->sig.b))
				return fail(&r, CH_EPROTO, "field 'sig' is %zu bytes, not 64", n);
			memcpy(tx->sig.b, p, n);
			break;
		}
	}
	for (int f = 0; f < F_COUNT; f++)
		if (!seen[f])
			return fail(&r, CH_EPROTO, "missing key '%s'", field_names[f]);
	if (nfields != F_COUNT)
		return fail(&r, CH_EPROTO, "%zu keys, expected %d", nfields, F_COUNT);
	if (r.pos != len)
		return fail(&r, CH_EPROTO, "%zu trailing bytes", len - r.pos);

	/* id = BLAKE2b-256(0x85 || the bytes between the map header and "sig") */
	crypto_generichash_state st;
	static const uint8_t unsigned_hdr = 0x85;
	crypto_generichash_init(&st, NULL, 0, CH_TXID_LEN);
	crypto_generichash_update(&st, &unsigned_hdr, 1);
	crypto_generichash_update(&st, buf + 1, sig_key_at - 1);
	crypto_generichash_final(&st, tx->id, CH_TXID_LEN);
	tx->enc = buf;
	tx->size = (uint32_t)len;
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
