/* inv.c: inventory and TX payloads (inv.h). */
#include "inv.h"

#include "err.h"
#include "pack.h"

/* ---------------------------------------------------------------- inventory */

/* rd_ids: an array of bin32 into out (at most max). */
static int rd_ids(pack_rd_t *r, const uint8_t **out, uint32_t *n, uint32_t max)
{
	uint32_t k;
	if (!pack_rd_array(r, &k))
		return CH_EPROTO;
	if (k > max)
		return CH_ERANGE;
	for (uint32_t i = 0; i < k; i++) {
		uint32_t len;
		if (!pack_rd_bin(r, &out[i], &len) || len != 32)
			return CH_EPROTO;
	}
	*n = k;
	return 0;
}

/* The decoder's state: the result and a code beyond "malformed". */
typedef struct inv_rd {
	rl_inv_t *out;
	int rc; /* CH_ERANGE for too many ids or indexes */
} inv_rd_t;

/* blktx_field: GETDATA's "blktx": a compact block's id and the positions
 * asked for. */
static bool blktx_field(pack_rd_t *r, const char *k, uint32_t kl, void *arg)
{
	inv_rd_t *d = arg;
	rl_inv_t *out = d->out;
	uint32_t il, c;
	if (pack_is(k, kl, "id")) {
		if (pack_rd_bin(r, &out->blktx_id, &il) && il != 32)
			pack_rd_refuse(r);
		return true;
	}
	if (!pack_is(k, kl, "idx"))
		return false;
	if (!pack_rd_array(r, &c))
		return true;
	if (c > sizeof(out->idx) / sizeof(out->idx[0])) {
		d->rc = CH_ERANGE;
		pack_rd_refuse(r);
		return true;
	}
	for (uint32_t x = 0; x < c; x++) {
		uint64_t v;
		if (!pack_rd_uint(r, &v) || v > UINT32_MAX) {
			pack_rd_refuse(r);
			return true;
		}
		out->idx[x] = (uint32_t)v;
	}
	out->nidx = c;
	return true;
}

/* inv_field: "tx", "blk" and "blktx". */
static bool inv_field(pack_rd_t *r, const char *k, uint32_t kl, void *arg)
{
	inv_rd_t *d = arg;
	rl_inv_t *out = d->out;
	if (pack_is(k, kl, "tx")) {
		d->rc = rd_ids(r, out->tx, &out->ntx, WIRE_INV_IDS_MAX);
	} else if (pack_is(k, kl, "blk")) {
		d->rc = rd_ids(r, out->blk, &out->nblk, WIRE_INV_IDS_MAX);
	} else if (pack_is(k, kl, "blktx")) {
		out->has_blktx = true;
		out->blktx_id = NULL;
		if (pack_rd_fields(r, blktx_field, d) && !out->blktx_id)
			pack_rd_refuse(r);
	} else {
		return false;
	}
	if (d->rc)
		pack_rd_refuse(r);
	return true;
}

/* rl_inv_decode: ids point into the payload; the total over both lists is the limit. */
int rl_inv_decode(const uint8_t *buf, size_t len, rl_inv_t *out)
{
	inv_rd_t d = {.out = out};
	pack_rd_t r;
	out->ntx = out->nblk = out->nidx = 0;
	out->has_blktx = false;
	pack_rd_init(&r, buf, len, 0);
	if (!pack_rd_fields(&r, inv_field, &d))
		return d.rc ? d.rc : CH_EPROTO;
	if (!pack_rd_done(&r))
		return CH_EPROTO;
	if (out->ntx + out->nblk > WIRE_INV_IDS_MAX)
		return CH_ERANGE;
	return 0;
}

/* rl_inv_size: exact size, so an INV can be written straight into an output queue. */
size_t rl_inv_size(uint32_t ntx, uint32_t nblk)
{
	size_t n = 1;
	if (ntx)
		n += 3 + (ntx < 16 ? 1 : 3) + 34 * (size_t)ntx;
	if (nblk)
		n += 4 + (nblk < 16 ? 1 : 3) + 34 * (size_t)nblk;
	return n;
}

size_t rl_inv_encode(uint8_t *out, size_t cap, const uint8_t *tx, uint32_t ntx, const uint8_t *blk,
                     uint32_t nblk)
{
	pack_wr_t w;
	if (ntx + nblk == 0)
		return 0;
	pack_wr_init(&w, out, cap);
	pack_wr_map(&w, (ntx ? 1 : 0) + (nblk ? 1 : 0));
	if (ntx) {
		pack_wr_str(&w, "tx");
		pack_wr_array(&w, ntx);
		for (uint32_t i = 0; i < ntx; i++)
			pack_wr_bin(&w, tx + 32 * (size_t)i, 32);
	}
	if (nblk) {
		pack_wr_str(&w, "blk");
		pack_wr_array(&w, nblk);
		for (uint32_t i = 0; i < nblk; i++)
			pack_wr_bin(&w, blk + 32 * (size_t)i, 32);
	}
	return pack_wr_end(&w);
}

size_t rl_getblktx_encode(uint8_t *out, size_t cap, const uint8_t id[32], const uint32_t *idx,
                          uint32_t n)
{
	pack_wr_t w;
	pack_wr_init(&w, out, cap);
	pack_wr_map(&w, 1);
	pack_wr_str(&w, "blktx");
	pack_wr_map(&w, 2);
	pack_wr_str(&w, "id");
	pack_wr_bin(&w, id, 32);
	pack_wr_str(&w, "idx");
	pack_wr_array(&w, n);
	for (uint32_t i = 0; i < n; i++)
		pack_wr_uint(&w, idx[i]);
	return pack_wr_end(&w);
}

/* ---------------------------------------------------------------- TX */

size_t rl_tx_encode(uint8_t *out, size_t cap, const uint8_t *enc, uint32_t len)
{
	pack_wr_t w;
	pack_wr_init(&w, out, cap);
	pack_wr_map(&w, 1);
	pack_wr_str(&w, "tx");
	pack_wr_bin(&w, enc, len);
	return pack_wr_end(&w);
}

/* The TX wrapper's one key; a second "tx" is skipped. */
typedef struct tx_rd {
	const uint8_t **enc;
	uint32_t *len;
	bool got;
} tx_rd_t;

static bool tx_field(pack_rd_t *r, const char *k, uint32_t kl, void *arg)
{
	tx_rd_t *d = arg;
	if (!pack_is(k, kl, "tx") || d->got)
		return false;
	d->got = pack_rd_bin(r, d->enc, d->len);
	return true;
}

/* rl_tx_decode: only the wrapper: the transaction is the mempool's to check. */
int rl_tx_decode(const uint8_t *buf, size_t len, const uint8_t **enc, uint32_t *enc_len)
{
	tx_rd_t d = {.enc = enc, .len = enc_len};
	pack_rd_t r;
	pack_rd_init(&r, buf, len, 0);
	return pack_rd_fields(&r, tx_field, &d) && d.got && pack_rd_done(&r) ? 0 : CH_EPROTO;
}
