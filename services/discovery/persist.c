/* persist.c: the DHT core's state file (dht_save, dht_load in dht.h).
 *
 * One bencoded dictionary, so the same strict decoder reads it back:
 *
 *   d 2:id 20:<our id>
 *     5:items l (d 3:exp i<wall ms>e 1:k 32:.. 3:mut i0|1e 4:salt ..
 *                 3:seq i..e 3:sig 64:.. 3:src 4:<ipv4> 1:t 20:<target>
 *                 1:v <bencoded value as a string> e)... e
 *     5:nodes <compact node info, 26 bytes each>
 *     3:own l (d 1:k .. 3:mut .. 4:salt .. 3:seq .. 3:sig .. 1:t .. 1:v .. e)... e
 *     3:ver i1e
 *   e
 *
 * Expiry is stored as wall-clock time (monotonic time does not survive a
 * reboot).  Loading checks every item again (sizes, target, signature), so
 * a damaged file cannot put a bad item into the store; a file that does
 * not decode is refused whole (CH_EPROTO) and the caller starts empty.
 * The file is written to PATH.tmp, flushed, fsynced and renamed over PATH,
 * so a crash leaves either the old or the new state. */
#include "dht_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "log.h"

#define PERSIST_VERSION 1
/* Largest state file read: items are capped at a few MB by dht_st_limits_t. */
#define PERSIST_MAX_FILE (16u << 20)
/* Encoded size of one item or node besides its value and salt. */
#define PERSIST_ITEM_OVERHEAD 256
/* Deepest nesting in the file: root, list, item. */
#define PERSIST_MAX_DEPTH 4
/* Values in a file we wrote: the root (a dict of five keys, two lists),
 * and per item or own item one dict of at most nine keys and their
 * values.  A file needing more tokens than that is not ours; bounding the
 * token array by it (not by the file's length) keeps a 16 MiB file from
 * costing 300 MiB of tokens. */
#define PERSIST_ROOT_TOKENS 16
#define PERSIST_ITEM_TOKENS 20
/* Own items are republished within this long after a load. */
#define PERSIST_REPUBLISH_SPREAD_NS (30ull * 1000000000ull)

/* put_item: one item dict; exp_ms < 0 and src 0 leave those keys out. */
static void put_item(ben_w_t *w, bool mut, const uint8_t *k, const uint8_t *salt, size_t saltlen,
                     int64_t seq, const uint8_t *sig, uint32_t src, const uint8_t *target,
                     const uint8_t *v, size_t vlen, int64_t exp_ms)
{
	ben_w_dict(w);
	if (exp_ms >= 0) {
		ben_w_cstr(w, "exp");
		ben_w_int(w, exp_ms);
	}
	if (mut) {
		ben_w_cstr(w, "k");
		ben_w_str(w, k, 32);
	}
	ben_w_cstr(w, "mut");
	ben_w_int(w, mut ? 1 : 0);
	if (mut) {
		if (saltlen > 0) {
			ben_w_cstr(w, "salt");
			ben_w_str(w, salt, saltlen);
		}
		ben_w_cstr(w, "seq");
		ben_w_int(w, seq);
		ben_w_cstr(w, "sig");
		ben_w_str(w, sig, 64);
	}
	if (src != 0) {
		ben_w_cstr(w, "src");
		ben_w_str(w, &src, 4);
	}
	ben_w_cstr(w, "t");
	ben_w_str(w, target, DHT_ID_LEN);
	ben_w_cstr(w, "v");
	ben_w_str(w, v, vlen);
	ben_w_end(w);
}

/* encode: the whole state into a malloc'd buffer. */
static uint8_t *encode(const dht_t *d, uint64_t now, uint64_t wall_ms, size_t *len)
{
	size_t cap = 1024 + d->st.item_bytes + (size_t)d->st.nitems * PERSIST_ITEM_OVERHEAD +
	             (size_t)d->nown * (KRPC_V_MAX + KRPC_SALT_MAX + PERSIST_ITEM_OVERHEAD) +
	             (size_t)d->rt.count * KRPC_NODE_LEN;
	uint8_t *buf = malloc(cap), *nodes;
	ben_w_t w;
	size_t nn = 0;

	if (buf == NULL)
		return NULL;
	nodes = malloc((size_t)d->rt.count * KRPC_NODE_LEN + 1);
	if (nodes == NULL) {
		free(buf);
		return NULL;
	}
	for (uint32_t bi = 0; bi < d->rt.nb; bi++)
		for (uint32_t i = 0; i < d->rt.b[bi].n; i++) {
			const dht_rt_node_t *x = &d->rt.b[bi].nodes[i];

			memcpy(nodes + nn, x->id, DHT_ID_LEN);
			memcpy(nodes + nn + DHT_ID_LEN, &x->addr.ip, 4);
			nodes[nn + 24] = (uint8_t)(x->addr.port >> 8);
			nodes[nn + 25] = (uint8_t)x->addr.port;
			nn += KRPC_NODE_LEN;
		}
	ben_w_init(&w, buf, cap);
	ben_w_dict(&w);
	ben_w_cstr(&w, "id");
	ben_w_str(&w, d->cfg.id, DHT_ID_LEN);
	ben_w_cstr(&w, "items");
	ben_w_list(&w);
	for (uint32_t i = 0; i < d->st.nitems; i++) {
		const dht_st_item_t *it = d->st.items[i];
		int64_t left_ms = it->expires > now ? (int64_t)((it->expires - now) / 1000000) : 0;

		if (left_ms == 0 || it->src_ip == 0)
			continue; /* expired, or our own (saved under "own") */
		put_item(&w, it->mut, it->k, it->salt, it->saltlen, it->seq, it->sig, it->src_ip,
		         it->target, it->v, it->vlen, (int64_t)wall_ms + left_ms);
	}
	ben_w_end(&w);
	ben_w_cstr(&w, "nodes");
	ben_w_str(&w, nodes, nn);
	ben_w_cstr(&w, "own");
	ben_w_list(&w);
	for (uint32_t i = 0; i < d->nown; i++) {
		const dht_item_t *it = &d->own[i]->item;

		put_item(&w, it->mut, it->k, it->salt, it->saltlen, it->seq, it->sig, 0, it->target,
		         it->v, it->vlen, -1);
	}
	ben_w_end(&w);
	ben_w_cstr(&w, "ver");
	ben_w_int(&w, PERSIST_VERSION);
	ben_w_end(&w);
	free(nodes);
	if (w.overflow) {
		free(buf);
		return NULL;
	}
	*len = w.len;
	return buf;
}

/* dht_save: dht_save / dht_load: the routing table, stored items and own items in a bencoded
 * file (persist.c); save writes path.tmp then renames. */
int dht_save(dht_t *d, const char *path, uint64_t now, uint64_t wall_ms)
{
	size_t len = 0;
	uint8_t *buf = encode(d, now, wall_ms, &len);
	if (buf == NULL)
		return CH_ENOMEM;
	int rc = ch_file_write_atomic(path, buf, len, 0600, 1);
	if (rc != 0)
		ch_log_errno(CH_LOG_LEVEL_WARN, ch_file_failed_call(),
		             "cannot save DHT state to %s", path);
	else
		d->dirty = false;
	free(buf);
	return rc;
}

/* load_item: one item dict at token i into it; false if malformed or it
 * does not verify. */
static bool load_item(const ben_doc_t *doc, uint32_t i, dht_item_t *it, uint32_t *src,
                      int64_t *exp_ms)
{
	const uint8_t *p;
	size_t n;
	int64_t mut = 0;
	uint8_t t[DHT_ID_LEN];

	memset(it, 0, sizeof(*it));
	*src = 0;
	*exp_ms = -1;
	if (doc->toks[i].type != BEN_DICT || ben_get_int(doc, i, "mut", &mut) != 0)
		return false;
	if (ben_get_str(doc, i, "t", &p, &n) != 0 || n != DHT_ID_LEN)
		return false;
	memcpy(it->target, p, DHT_ID_LEN);
	if (ben_get_str(doc, i, "v", &p, &n) != 0 || n == 0 || n > KRPC_V_MAX)
		return false;
	memcpy(it->v, p, n);
	it->vlen = n;
	if (ben_get_str(doc, i, "src", &p, &n) == 0 && n == 4)
		memcpy(src, p, 4);
	ben_get_int(doc, i, "exp", exp_ms);
	it->mut = mut != 0;
	if (!it->mut) {
		dht_item_target(false, NULL, NULL, 0, it->v, it->vlen, t);
		return memcmp(t, it->target, DHT_ID_LEN) == 0;
	}
	if (ben_get_str(doc, i, "k", &p, &n) != 0 || n != 32)
		return false;
	memcpy(it->k, p, 32);
	if (ben_get_str(doc, i, "sig", &p, &n) != 0 || n != 64)
		return false;
	memcpy(it->sig, p, 64);
	if (ben_get_int(doc, i, "seq", &it->seq) != 0 || it->seq < 0)
		return false;
	if (ben_get_str(doc, i, "salt", &p, &n) == 0) {
		if (n > KRPC_SALT_MAX)
			return false;
		memcpy(it->salt, p, n);
		it->saltlen = n;
	}
	dht_item_target(true, it->k, it->salt, it->saltlen, NULL, 0, t);
	return memcmp(t, it->target, DHT_ID_LEN) == 0 &&
	       dht_item_verify(it->k, it->sig, it->salt, it->saltlen, it->seq, it->v, it->vlen) ==
	           0;
}

/* dht_load: reads the state file back: nodes (questionable until they answer), items
 * not expired by wall time, own items (republished soon). */
int dht_load(dht_t *d, const char *path, uint64_t now, uint64_t wall_ms)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	ben_limits_t lim = {
	    .max_input = PERSIST_MAX_FILE,
	    .max_depth = PERSIST_MAX_DEPTH,
	    .max_tokens = 0,
	    .max_str = PERSIST_MAX_FILE,
	};
	ben_tok_t *toks;
	ben_doc_t doc;
	const uint8_t *p;
	size_t n;
	int64_t ver = 0;
	int32_t li;
	uint32_t bad = 0;
	int rc = ch_file_read_all(path, PERSIST_MAX_FILE, &buf, &len);

	if (rc == 0 && len == 0) {
		free(buf);
		rc = CH_EPROTO; /* an empty state file is a corrupt one */
	}
	if (rc == CH_ERANGE)
		rc = CH_EPROTO;
	if (rc != 0)
		return rc;
	/* every value takes at least 2 bytes ("0:", "le", "i0e"), so len/2
	 * tokens suffice for any file; a file we wrote needs at most the
	 * tokens of as many items as the store holds, plus the own items */
	size_t most =
	    PERSIST_ROOT_TOKENS + ((size_t)d->st.lim.max_items + DHT_MAX_OWN) * PERSIST_ITEM_TOKENS;
	lim.max_tokens = (uint32_t)(len / 2 + 2 < most ? len / 2 + 2 : most);
	toks = malloc(lim.max_tokens * sizeof(ben_tok_t));
	if (toks == NULL) {
		free(buf);
		return CH_ENOMEM;
	}
	if (ben_decode(&doc, buf, len, toks, lim.max_tokens, &lim, NULL) != BEN_OK ||
	    toks[0].type != BEN_DICT || ben_get_int(&doc, 0, "ver", &ver) != 0 ||
	    ver != PERSIST_VERSION) {
		rc = CH_EPROTO;
		goto out;
	}
	if (ben_get_str(&doc, 0, "nodes", &p, &n) == 0 && n % KRPC_NODE_LEN == 0) {
		for (size_t off = 0; off < n; off += KRPC_NODE_LEN) {
			dht_addr_t a;
			dht_rt_node_t *x;

			memcpy(&a.ip, p + off + DHT_ID_LEN, 4);
			a.port = (uint16_t)(p[off + 24] << 8 | p[off + 25]);
			if (a.ip == 0 || a.port == 0)
				continue;
			dht_rt_update(&d->rt, p + off, &a, RT_EV_REPLY, now);
			/* not heard from in this run: questionable until it
			 * answers, so it is pinged or asked first */
			x = dht_rt_find(&d->rt, p + off);
			if (x != NULL)
				x->last_reply = 0;
		}
	}
	li = ben_dict_get(&doc, 0, "items");
	if (li >= 0 && toks[li].type == BEN_LIST) {
		for (uint32_t i = (uint32_t)li + 1; i < toks[li].next; i = toks[i].next) {
			dht_item_t it;
			uint32_t src;
			int64_t exp_ms;
			dht_st_put_t sp;

			if (!load_item(&doc, i, &it, &src, &exp_ms) || src == 0) {
				bad++;
				continue;
			}
			if (exp_ms <= (int64_t)wall_ms)
				continue;
			/* never longer than a put now would live (a far-future
			 * time would overflow the conversion to ns) */
			uint64_t left_ms = (uint64_t)(exp_ms - (int64_t)wall_ms);
			if (left_ms > ST_ITEM_TTL_NS / 1000000ull)
				left_ms = ST_ITEM_TTL_NS / 1000000ull;
			sp = (dht_st_put_t){.target = it.target,
			                    .mut = it.mut,
			                    .seq = it.seq,
			                    .k = it.k,
			                    .sig = it.sig,
			                    .salt = it.salt,
			                    .saltlen = it.saltlen,
			                    .v = it.v,
			                    .vlen = it.vlen,
			                    .src_ip = src};
			if (dht_st_item_put(&d->st, &sp, now) == 0)
				dht_st_item_set_expiry(&d->st, it.target,
				                       now + left_ms * 1000000ull);
		}
	}
	li = ben_dict_get(&doc, 0, "own");
	if (li >= 0 && toks[li].type == BEN_LIST) {
		for (uint32_t i = (uint32_t)li + 1; i < toks[li].next; i = toks[i].next) {
			dht_item_t it;
			uint32_t src;
			int64_t exp_ms;
			uint64_t r = 0;

			if (!load_item(&doc, i, &it, &src, &exp_ms)) {
				bad++;
				continue;
			}
			/* the entry of this item: a target seen before updates
			 * its earlier entry, which need not be the last one */
			dht_own_t *o = dht_own_add(d, &it, now);
			dht_store_local(d, &it, now);
			if (o == NULL)
				continue;
			/* republish soon after a restart, spread out */
			dht_rand(d, &r, sizeof(r));
			o->next_publish = now + r % PERSIST_REPUBLISH_SPREAD_NS;
		}
	}
	if (bad > 0)
		CH_LOG_WARN("DHT state %s: %u damaged items skipped", path, bad);
	d->dirty = false;
out:
	free(toks);
	free(buf);
	return rc;
}
