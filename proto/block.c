/* block.c: block encoding, id, signature, compact form (block.h). */
#include "block.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "pack.h"

/* rl_block_max_txs: the block limit follows from the ring record limit: a full BLOCK frame
 * behind its send header must fit, and so must CH_TAG_BLOCK (32 per id). */
uint32_t rl_block_max_txs(uint64_t ring_max_msg)
{
	/* the largest record: a full BLOCK frame behind a 24-byte send header */
	uint64_t room = ring_max_msg > 1024 ? ring_max_msg - 1024 : 0;
	uint64_t n = room / RL_BLOCK_ID_BYTES;
	return n > RL_BLOCK_TXS_MAX ? RL_BLOCK_TXS_MAX : (uint32_t)n;
}

/* rl_block_size: an upper bound of the encoding, for buffers (headers are < 256 bytes). */
size_t rl_block_size(const rl_block_t *b)
{
	return RL_BLOCK_HDR_MAX + (size_t)b->ntx * RL_BLOCK_ID_BYTES;
}

/* put_fields: the canonical field order of docs/protocol.md 3.3; the unsigned form
 * (the id's input) is the same without "sig". */
static void put_fields(pack_wr_t *w, const rl_block_t *b, bool with_sig)
{
	pack_wr_map(w, with_sig ? 7 : 6);
	pack_wr_str(w, "v");
	pack_wr_uint(w, b->v);
	pack_wr_str(w, "height");
	pack_wr_uint(w, b->height);
	pack_wr_str(w, "prev");
	pack_wr_bin(w, b->prev, 32);
	pack_wr_str(w, "txs");
	pack_wr_array(w, b->ntx);
	for (uint32_t i = 0; i < b->ntx; i++)
		pack_wr_bin(w, b->txs + 32 * (size_t)i, 32);
	pack_wr_str(w, "producer");
	pack_wr_bin(w, b->producer, 32);
	pack_wr_str(w, "time");
	pack_wr_uint(w, b->time);
	if (with_sig) {
		pack_wr_str(w, "sig");
		pack_wr_bin(w, b->sig, 64);
	}
}

/* rl_block_encode: the canonical encoding (block.h), with or without the signature. */
size_t rl_block_encode(const rl_block_t *b, bool with_sig, uint8_t *out, size_t cap)
{
	pack_wr_t w;
	pack_wr_init(&w, out, cap);
	put_fields(&w, b, with_sig);
	return pack_wr_end(&w);
}

/* rl_block_hash: the id covers every field but the signature, so a relaying node can
 * check a block without trusting whoever sent it. */
int rl_block_hash(rl_block_t *b)
{
	size_t cap = rl_block_size(b);
	uint8_t *buf = malloc(cap);
	if (!buf)
		return CH_ENOMEM;
	size_t n = rl_block_encode(b, false, buf, cap);
	int rc = n ? ch_blake2b256(b->id, buf, n) : CH_ERANGE;
	free(buf);
	return rc;
}

/* rl_block_sign: the producer is the node identity that signs: no separate field to forge. */
int rl_block_sign(rl_block_t *b, const ch_seckey_t *sk)
{
	ch_pubkey_t pk;
	ch_sig_t sig;
	if (ch_ed25519_sk_pubkey(&pk, sk) != 0)
		return CH_EINVAL;
	memcpy(b->producer, pk.b, 32);
	if (!b->time)
		b->time = ch_wall_ms();
	int rc = rl_block_hash(b);
	if (rc)
		return rc;
	if (ch_ed25519_sign(&sig, b->id, 32, sk) != 0)
		return CH_ECRYPTO;
	memcpy(b->sig, sig.b, 64);
	return 0;
}

/* rl_block_verify: only the signature: heights and parents are the application's. */
int rl_block_verify(const rl_block_t *b)
{
	ch_sig_t sig;
	ch_pubkey_t pk;
	memcpy(sig.b, b->sig, 64);
	memcpy(pk.b, b->producer, 32);
	return ch_ed25519_verify(&sig, b->id, 32, &pk) == 0 ? 0 : CH_ECRYPTO;
}

/* rl_short_id: SipHash-2-4 keyed with the block id: per-block keys stop anyone from
 * grinding transactions whose short ids collide in every block; 16x
 * cheaper than keyed BLAKE2b when a whole pool is hashed per block. */
uint64_t rl_short_id(const uint8_t block_id[32], const uint8_t txid[32])
{
	uint8_t h[crypto_shorthash_siphash24_BYTES];
	crypto_shorthash_siphash24(h, txid, 32, block_id);
	uint64_t v = 0;
	for (int i = 0; i < RL_SHORT_ID_LEN; i++)
		v = (v << 8) | h[i];
	return v;
}

/* ---------------------------------------------------------------- decode */

static bool rd_bin_exact(pack_rd_t *r, uint8_t *out, uint32_t len)
{
	const uint8_t *p;
	uint32_t l;
	if (!pack_rd_bin(r, &p, &l) || l != len)
		return pack_rd_refuse(r);
	memcpy(out, p, len);
	return true;
}

/* The decoder's state for the three forms: the message, the limit, the
 * keys seen, and a code beyond "malformed". */
typedef struct blk_rd {
	rl_blkmsg_t *m;
	uint32_t max_txs;
	unsigned seen;       /* header keys, one bit each */
	bool txs, id;        /* "txs" (full), "id" (compact, blktxn) */
	uint32_t nidx, nids; /* blktxn; UINT32_MAX: not yet */
	int rc;              /* CH_ERANGE: more transactions than max_txs */
} blk_rd_t;

/* refused: a known key with a wrong value: the cursor stops (true: the
 * key was this form's). */
static bool refused(pack_rd_t *r)
{
	pack_rd_refuse(r);
	return true;
}

/* fail: the same, with a code beyond "malformed". */
static bool fail(pack_rd_t *r, blk_rd_t *d, int rc)
{
	d->rc = rc;
	return refused(r);
}

/* header_field: one of the header keys (v, height, prev, producer, time,
 * sig) into the block; false if k is none of them (nothing consumed). */
static bool header_field(pack_rd_t *r, const char *k, uint32_t kl, blk_rd_t *d)
{
	static const char *const keys[] = {"v", "height", "prev", "producer", "time", "sig"};
	rl_block_t *b = &d->m->b;
	for (unsigned i = 0; i < 6; i++) {
		if (!pack_is(k, kl, keys[i]))
			continue;
		if (d->seen & (1u << i))
			pack_rd_refuse(r); /* duplicate key */
		d->seen |= 1u << i;
		switch (i) {
		case 0:
			pack_rd_uint(r, &b->v);
			break;
		case 1:
			pack_rd_uint(r, &b->height);
			break;
		case 2:
			rd_bin_exact(r, b->prev, 32);
			break;
		case 3:
			rd_bin_exact(r, b->producer, 32);
			break;
		case 4:
			pack_rd_uint(r, &b->time);
			break;
		default:
			rd_bin_exact(r, b->sig, 64);
			break;
		}
		return true;
	}
	return false;
}

/* rd_ids32: an array of at most max bin32 into out. */
static void rd_ids32(pack_rd_t *r, blk_rd_t *d, uint8_t *out, uint32_t max, uint32_t *n)
{
	uint32_t k;
	if (!pack_rd_array(r, &k))
		return;
	if (k > max) {
		fail(r, d, CH_ERANGE);
		return;
	}
	for (uint32_t i = 0; i < k; i++)
		if (!rd_bin_exact(r, out + 32 * (size_t)i, 32))
			return;
	*n = k;
}

/* full_field: a whole block; a second "txs" is skipped. */
static bool full_field(pack_rd_t *r, const char *k, uint32_t kl, void *arg)
{
	blk_rd_t *d = arg;
	if (header_field(r, k, kl, d))
		return true;
	if (!pack_is(k, kl, "txs") || d->txs)
		return false;
	rd_ids32(r, d, d->m->b.txs, d->max_txs, &d->m->b.ntx);
	d->txs = true;
	return true;
}

/* cmpct_field: a compact block: header fields, the claimed id, short ids;
 * a second "id" or "sid" is skipped. */
static bool cmpct_field(pack_rd_t *r, const char *k, uint32_t kl, void *arg)
{
	blk_rd_t *d = arg;
	rl_blkmsg_t *m = d->m;
	uint32_t l;
	if (header_field(r, k, kl, d))
		return true;
	if (pack_is(k, kl, "id") && !d->id) {
		d->id = rd_bin_exact(r, m->b.id, 32);
		return true;
	}
	if (!pack_is(k, kl, "sid") || m->sid)
		return false;
	if (!pack_rd_bin(r, &m->sid, &l) || l % RL_SHORT_ID_LEN)
		return refused(r);
	if (l / RL_SHORT_ID_LEN > d->max_txs)
		return fail(r, d, CH_ERANGE);
	m->b.ntx = l / RL_SHORT_ID_LEN;
	return true;
}

/* txn_field: the ids of the positions asked with GETDATA blktx; a second
 * "id", "idx" or "ids" is skipped. */
static bool txn_field(pack_rd_t *r, const char *k, uint32_t kl, void *arg)
{
	blk_rd_t *d = arg;
	rl_blkmsg_t *m = d->m;
	if (pack_is(k, kl, "id") && !d->id) {
		d->id = rd_bin_exact(r, m->b.id, 32);
	} else if (pack_is(k, kl, "idx") && d->nidx == UINT32_MAX) {
		if (!pack_rd_array(r, &d->nidx))
			return true;
		if (d->nidx > d->max_txs)
			return fail(r, d, CH_ERANGE);
		for (uint32_t x = 0; x < d->nidx; x++) {
			uint64_t v;
			if (!pack_rd_uint(r, &v) || v >= d->max_txs)
				return refused(r);
			m->idx[x] = (uint32_t)v;
		}
	} else if (pack_is(k, kl, "ids") && d->nids == UINT32_MAX) {
		rd_ids32(r, d, m->b.txs, d->max_txs, &d->nids);
	} else {
		return false;
	}
	return true;
}

/* rl_blkmsg_decode: exactly one key tells the kind; unknown kinds are malformed (a newer
 * version would use a new key and get scored: versions must agree). */
int rl_blkmsg_decode(const uint8_t *buf, size_t len, uint32_t max_txs, rl_blkmsg_t *m)
{
	blk_rd_t d = {.m = m, .max_txs = max_txs, .nidx = UINT32_MAX, .nids = UINT32_MAX};
	pack_rd_t r;
	uint32_t n, kl;
	const char *k;
	bool ok;
	uint8_t *txs = m->b.txs;
	memset(&m->b, 0, sizeof(m->b));
	m->b.txs = txs;
	m->n = 0;
	m->sid = NULL;
	pack_rd_init(&r, buf, len, 0);
	if (!pack_rd_map(&r, &n) || n != 1 || !pack_rd_str(&r, &k, &kl))
		return CH_EPROTO;
	if (pack_is(k, kl, "block")) {
		m->kind = RL_BLKMSG_FULL;
		ok = pack_rd_fields(&r, full_field, &d) && d.seen == 0x3f && d.txs &&
		     m->b.v == RL_BLOCK_VERSION;
	} else if (pack_is(k, kl, "cmpct")) {
		m->kind = RL_BLKMSG_CMPCT;
		ok = pack_rd_fields(&r, cmpct_field, &d) && d.seen == 0x3f && d.id && m->sid &&
		     m->b.v == RL_BLOCK_VERSION;
	} else if (pack_is(k, kl, "blktxn")) {
		m->kind = RL_BLKMSG_TXN;
		ok = pack_rd_fields(&r, txn_field, &d) && d.id && d.nidx != UINT32_MAX &&
		     d.nids == d.nidx;
		m->n = ok ? d.nidx : 0;
	} else {
		return CH_EPROTO;
	}
	if (!ok)
		return d.rc ? d.rc : CH_EPROTO;
	if (!pack_rd_done(&r))
		return CH_EPROTO;
	return m->kind == RL_BLKMSG_FULL ? rl_block_hash(&m->b) : 0;
}

/* ---------------------------------------------------------------- encode */

size_t rl_block_msg_full(const rl_block_t *b, uint8_t *out, size_t cap)
{
	pack_wr_t w;
	pack_wr_init(&w, out, cap);
	pack_wr_map(&w, 1);
	pack_wr_str(&w, "block");
	put_fields(&w, b, true);
	return pack_wr_end(&w);
}

/* rl_block_cmpct_size: an upper bound of the compact message. */
size_t rl_block_cmpct_size(const rl_block_t *b)
{
	return RL_BLOCK_HDR_MAX + 64 + (size_t)b->ntx * RL_SHORT_ID_LEN;
}

/* rl_block_msg_cmpct: the claimed id travels with the header, since the receiver needs it
 * to key the short ids before it can rebuild the id itself. */
size_t rl_block_msg_cmpct(const rl_block_t *b, uint8_t *out, size_t cap)
{
	pack_wr_t w;
	pack_wr_init(&w, out, cap);
	pack_wr_map(&w, 1);
	pack_wr_str(&w, "cmpct");
	pack_wr_map(&w, 8);
	pack_wr_str(&w, "id");
	pack_wr_bin(&w, b->id, 32);
	pack_wr_str(&w, "v");
	pack_wr_uint(&w, b->v);
	pack_wr_str(&w, "height");
	pack_wr_uint(&w, b->height);
	pack_wr_str(&w, "prev");
	pack_wr_bin(&w, b->prev, 32);
	pack_wr_str(&w, "producer");
	pack_wr_bin(&w, b->producer, 32);
	pack_wr_str(&w, "time");
	pack_wr_uint(&w, b->time);
	pack_wr_str(&w, "sig");
	pack_wr_bin(&w, b->sig, 64);
	pack_wr_str(&w, "sid");
	pack_wr_bin_hdr(&w, b->ntx * RL_SHORT_ID_LEN);
	for (uint32_t i = 0; i < b->ntx && !w.err; i++) {
		uint64_t s = rl_short_id(b->id, b->txs + 32 * (size_t)i);
		uint8_t be[RL_SHORT_ID_LEN];
		for (int j = 0; j < RL_SHORT_ID_LEN; j++)
			be[j] = (uint8_t)(s >> (8 * (RL_SHORT_ID_LEN - 1 - j)));
		pack_wr_raw(&w, be, sizeof(be));
	}
	return pack_wr_end(&w);
}

size_t rl_block_msg_txn(const rl_block_t *b, const uint32_t *idx, uint32_t n, uint8_t *out,
                        size_t cap)
{
	pack_wr_t w;
	pack_wr_init(&w, out, cap);
	pack_wr_map(&w, 1);
	pack_wr_str(&w, "blktxn");
	pack_wr_map(&w, 3);
	pack_wr_str(&w, "id");
	pack_wr_bin(&w, b->id, 32);
	pack_wr_str(&w, "idx");
	pack_wr_array(&w, n);
	for (uint32_t i = 0; i < n; i++)
		pack_wr_uint(&w, idx[i]);
	pack_wr_str(&w, "ids");
	pack_wr_array(&w, n);
	for (uint32_t i = 0; i < n; i++) {
		if (idx[i] >= b->ntx)
			return 0;
		pack_wr_bin(&w, b->txs + 32 * (size_t)idx[i], 32);
	}
	return pack_wr_end(&w);
}
