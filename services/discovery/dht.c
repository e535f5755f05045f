/* dht.c: the DHT core's server side (answers to the six queries), its
 * request table, tokens and timers.  Lookups are in lookup.c, the state
 * file in persist.c.  See dht.h for the contract. */
#include "dht_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hash.h"

/* Verification pings to nodes that queried us: a token bucket of this
 * rate per second (burst twice), so a flood of queries from fresh ids
 * cannot make us flood pings. */
#define DHT_VERIFY_PPS 100
/* Store expiry sweep period. */
#define DHT_EXPIRE_NS (60ull * 1000000000ull)
/* Refresh lookups running at once (bucket refresh is background work). */
#define DHT_MAX_REFRESH 2
/* Requests a fresh table starts with (doubles up to DHT_MAX_PENDING). */
#define DHT_REQS_INITIAL 16

/* default_rand: libsodium's random source. */
static void default_rand(void *arg, void *buf, size_t n)
{
	(void)arg;
	randombytes_buf(buf, n);
}

/* dht_config_default: alpha 3, soft 400 ms, hard 2 s, lookup 20 s, 5000 queries/s, default
 * store limits, version "CH01". */
void dht_config_default(dht_config_t *c)
{
	memset(c, 0, sizeof(*c));
	c->alpha = DHT_ALPHA;
	c->soft_timeout_ms = 400;
	c->req_timeout_ms = 2000;
	c->lookup_timeout_ms = 20000;
	c->max_qps = 5000;
	c->max_qps_addr = 20;
	c->max_qps_group = 100;
	c->src_slots = 1024;
	dht_st_limits_default(&c->store);
	memcpy(c->version, "CH01", 5);
}

/* dht_rand: dht.c: services for lookup.c. */
void dht_rand(dht_t *d, void *buf, size_t n)
{
	d->cfg.rand(d->cfg.rand_arg, buf, n);
}

/* dht_new: a core with configuration cfg at time now. */
dht_t *dht_new(const dht_config_t *cfg, uint64_t now)
{
	dht_t *d;

	if (cfg == NULL || cfg->send == NULL || ch_crypto_init() != 0)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->cfg = *cfg;
	if (d->cfg.rand == NULL)
		d->cfg.rand = default_rand;
	if (d->cfg.alpha == 0)
		d->cfg.alpha = DHT_ALPHA;
	if (d->cfg.req_timeout_ms == 0)
		d->cfg.req_timeout_ms = 2000;
	if (d->cfg.soft_timeout_ms == 0 || d->cfg.soft_timeout_ms > d->cfg.req_timeout_ms)
		d->cfg.soft_timeout_ms = d->cfg.req_timeout_ms;
	if (d->cfg.lookup_timeout_ms == 0)
		d->cfg.lookup_timeout_ms = 20000;
	if (d->cfg.max_qps == 0)
		d->cfg.max_qps = 5000;
	d->cfg.version[4] = 0;
	if (dht_rt_init(&d->rt, cfg->id) != 0) {
		free(d);
		return NULL;
	}
	dht_st_init(&d->st, cfg->id, &d->cfg.store);
	dht_rand(d, d->secret, sizeof(d->secret));
	{
		uint8_t qkey[16];

		dht_rand(d, qkey, sizeof(qkey));
		dht_ql_init(&d->ql, d->cfg.src_slots, d->cfg.max_qps_addr, d->cfg.max_qps_group,
		            qkey);
	}
	dht_rand(d, &d->next_lk_id, sizeof(d->next_lk_id));
	d->next_lk_id = (d->next_lk_id & 0xffffff) + 1;
	d->rotated_at = now;
	d->next_maint = now;
	d->next_expire = now + DHT_EXPIRE_NS;
	d->qtok = 2.0 * d->cfg.max_qps;
	d->qtok_at = now;
	d->vtok = 2.0 * DHT_VERIFY_PPS;
	d->vtok_at = now;
	return d;
}

/* dht_destroy: frees the core; pending callbacks are not called. */
void dht_destroy(dht_t **dp)
{
	dht_t *d = dp != NULL ? *dp : NULL;

	if (d == NULL)
		return;
	for (uint32_t i = 0; i < DHT_MAX_LOOKUPS; i++)
		if (d->lk[i] != NULL)
			dht_lk_free(d, i);
	for (uint32_t i = 0; i < d->nown; i++)
		free(d->own[i]);
	free(d->reqs);
	dht_ql_free(&d->ql);
	dht_rt_free(&d->rt);
	dht_st_free(&d->st);
	sodium_memzero(d->secret, sizeof(d->secret));
	free(d);
	*dp = NULL;
}

/* dht_id: Read-only views for status, persistence and tests. */
const uint8_t *dht_id(const dht_t *d)
{
	return d->cfg.id;
}

/* dht_rtable: the routing table, read-only (status, persistence, tests). */
const dht_rtable_t *dht_rtable(const dht_t *d)
{
	return &d->rt;
}

/* dht_store: what we store for others, read-only. */
const dht_store_t *dht_store(const dht_t *d)
{
	return &d->st;
}

/* dht_stats: the counters, for metrics and tests. */
const dht_stats_t *dht_stats(const dht_t *d)
{
	return &d->stats;
}

/* dht_lookups_running: lookups in their slots (finished ones until reaped). */
uint32_t dht_lookups_running(const dht_t *d)
{
	return d->nlk;
}

/* dht_own_count: own items kept for republishing. */
uint32_t dht_own_count(const dht_t *d)
{
	return d->nown;
}

/* dht_own_at: own item i, or NULL. */
const dht_own_t *dht_own_at(const dht_t *d, uint32_t i)
{
	return i < d->nown ? d->own[i] : NULL;
}

/* dht_dirty: true if the state changed since the last dht_save. */
bool dht_dirty(const dht_t *d)
{
	return d->dirty;
}

/* ---------------------------------------------------------------- items */

void dht_item_target(bool mut, const uint8_t *k, const uint8_t *salt, size_t saltlen,
                     const uint8_t *v, size_t vlen, uint8_t out[DHT_ID_LEN])
{
	uint8_t buf[32 + KRPC_SALT_MAX];

	if (!mut) {
		ch_sha1(out, v, vlen);
		return;
	}
	if (saltlen > KRPC_SALT_MAX)
		saltlen = KRPC_SALT_MAX;
	memcpy(buf, k, 32);
	if (saltlen > 0)
		memcpy(buf + 32, salt, saltlen);
	ch_sha1(out, buf, 32 + saltlen);
}

/* dht_item_verify: checks a mutable item's signature over BEP 44's buffer. */
int dht_item_verify(const uint8_t k[32], const uint8_t sig[64], const uint8_t *salt, size_t saltlen,
                    int64_t seq, const uint8_t *v, size_t vlen)
{
	uint8_t buf[KRPC_V_MAX + KRPC_SALT_MAX + 64];
	size_t n = krpc_sig_buf(buf, sizeof(buf), salt, saltlen, seq, v, vlen);
	ch_pubkey_t pk;
	ch_sig_t s;

	if (n == 0)
		return CH_ECRYPTO;
	memcpy(pk.b, k, 32);
	memcpy(s.b, sig, 64);
	return ch_ed25519_verify(&s, buf, n, &pk) == 0 ? 0 : CH_ECRYPTO;
}

/* ---------------------------------------------------------------- tokens */

/* token_for: the first 8 bytes of sha1(secret + ip) (BEP 5's scheme). */
static void token_for(const uint8_t secret[16], uint32_t ip, uint8_t out[DHT_TOKEN_LEN])
{
	uint8_t buf[20], h[20];

	memcpy(buf, secret, 16);
	memcpy(buf + 16, &ip, 4);
	ch_sha1(h, buf, sizeof(buf));
	memcpy(out, h, DHT_TOKEN_LEN);
}

/* dht_make_token: the token we hand to ip now (for tests). */
void dht_make_token(const dht_t *d, uint32_t ip, uint8_t out[DHT_TOKEN_LEN])
{
	token_for(d->secret[0], ip, out);
}

/* token_ok: tok was made for ip from the current or the previous secret. */
static bool token_ok(const dht_t *d, uint32_t ip, krpc_span_t tok)
{
	uint8_t want[DHT_TOKEN_LEN];

	if (tok.p == NULL || tok.n != DHT_TOKEN_LEN)
		return false;
	for (int i = 0; i < 2; i++) {
		token_for(d->secret[i], ip, want);
		if (sodium_memcmp(want, tok.p, DHT_TOKEN_LEN) == 0)
			return true;
	}
	return false;
}

/* rotate: a new secret every DHT_TOKEN_ROTATE_NS; the old one is kept
 * one more period, so a token lives between 5 and 10 minutes. */
static void rotate(dht_t *d, uint64_t now)
{
	if (now < d->rotated_at + DHT_TOKEN_ROTATE_NS)
		return;
	memcpy(d->secret[1], d->secret[0], 16);
	dht_rand(d, d->secret[0], 16);
	d->rotated_at = now;
}

/* ---------------------------------------------------------------- sending */

/* compact_addr: 6-byte compact form of a. */
static void compact_addr(const dht_addr_t *a, uint8_t out[6])
{
	memcpy(out, &a->ip, 4);
	out[4] = (uint8_t)(a->port >> 8);
	out[5] = (uint8_t)a->port;
}

/* send_msg: encodes m (adding our version) and hands it to the network. */
static int send_msg(dht_t *d, krpc_msg_t *m, const dht_addr_t *to)
{
	size_t len;

	if (d->cfg.version[0] != 0) {
		m->cv.p = (const uint8_t *)d->cfg.version;
		m->cv.n = strlen(d->cfg.version);
	}
	if (krpc_encode(m, d->pkt, sizeof(d->pkt), &len) != 0) {
		d->stats.send_errors++;
		return CH_ERANGE;
	}
	d->stats.pkts_out++;
	d->stats.bytes_out += len;
	if (d->cfg.send(d->cfg.send_arg, d->pkt, len, to) < 0) {
		d->stats.send_errors++;
		return CH_EIO;
	}
	return 0;
}

/* send_error: a KRPC error for transaction t. */
static void send_error(dht_t *d, krpc_span_t t, int64_t code, const char *msg, const dht_addr_t *to)
{
	krpc_msg_t e;

	memset(&e, 0, sizeof(e));
	e.y = KRPC_ERROR;
	e.t = t;
	e.ecode = code;
	e.emsg.p = (const uint8_t *)msg;
	e.emsg.n = strlen(msg);
	d->stats.errors_out++;
	send_msg(d, &e, to);
}

/* req_alloc: a free request slot (the table grows on demand), or -1. */
static int32_t req_alloc(dht_t *d)
{
	if (d->used_reqs >= d->cap_reqs) {
		uint32_t nc = d->cap_reqs ? d->cap_reqs * 2 : DHT_REQS_INITIAL;
		dht_req_t *nr;

		if (d->cap_reqs >= DHT_MAX_PENDING)
			return -1;
		if (nc > DHT_MAX_PENDING)
			nc = DHT_MAX_PENDING;
		nr = realloc(d->reqs, nc * sizeof(dht_req_t));
		if (nr == NULL)
			return -1;
		memset(nr + d->cap_reqs, 0, (nc - d->cap_reqs) * sizeof(dht_req_t));
		d->req_hint = d->cap_reqs;
		d->reqs = nr;
		d->cap_reqs = nc;
	}
	for (uint32_t k = 0; k < d->cap_reqs; k++) {
		uint32_t i = (d->req_hint + k) % d->cap_reqs;

		if (!d->reqs[i].used) {
			d->req_hint = (i + 1) % d->cap_reqs;
			d->used_reqs++;
			if (i + 1 > d->hwm)
				d->hwm = i + 1;
			return (int32_t)i;
		}
	}
	return -1;
}

/* req_free: releases slot i. */
static void req_free(dht_t *d, uint32_t i)
{
	d->reqs[i].used = false;
	d->used_reqs--;
	while (d->hwm > 0 && !d->reqs[d->hwm - 1].used)
		d->hwm--;
}

/* dht_send_query: sends query m (t, id and version filled in here) to addr and records a
 * request. */
int dht_send_query(dht_t *d, krpc_msg_t *m, const dht_addr_t *addr, const uint8_t *id,
                   req_purpose_t purpose, dht_lookup_t *lk, uint16_t cid, uint64_t now)
{
	int32_t i = req_alloc(d);
	dht_req_t *r;
	uint8_t tid[DHT_TID_LEN];

	if (i < 0) {
		d->stats.pending_full++;
		return CH_ENOMEM;
	}
	r = &d->reqs[i];
	memset(r, 0, sizeof(*r));
	r->used = true;
	dht_rand(d, &r->gen, sizeof(r->gen));
	r->gen &= 0xffffffffffffull;
	r->purpose = (uint8_t)purpose;
	r->method = (uint8_t)m->q;
	r->addr = *addr;
	r->sent_at = now;
	r->id_known = id != NULL;
	if (id != NULL)
		memcpy(r->id, id, DHT_ID_LEN);
	if (lk != NULL) {
		r->lookup_id = lk->id;
		r->lk_slot = lk->slot;
		r->cid = cid;
	}
	tid[0] = (uint8_t)(i >> 8);
	tid[1] = (uint8_t)i;
	for (int k = 0; k < 6; k++)
		tid[2 + k] = (uint8_t)(r->gen >> (40 - 8 * k));
	m->y = KRPC_QUERY;
	m->t.p = tid;
	m->t.n = sizeof(tid);
	m->has_id = true;
	memcpy(m->id, d->cfg.id, DHT_ID_LEN);
	d->stats.queries_out[m->q]++;
	send_msg(d, m, addr);
	return 0;
}

/* send_ping: a ping to addr (id may be NULL when unknown). */
static int send_ping(dht_t *d, const dht_addr_t *addr, const uint8_t *id, uint64_t now)
{
	krpc_msg_t m;

	memset(&m, 0, sizeof(m));
	m.q = KRPC_M_PING;
	return dht_send_query(d, &m, addr, id, REQ_PING, NULL, 0, now);
}

/* dht_ping: pings addr (id unknown); on an answer the node enters the table. */
int dht_ping(dht_t *d, const dht_addr_t *addr, uint64_t now)
{
	return send_ping(d, addr, NULL, now);
}

/* dht_add_bootstrap: remembers a bootstrap address (up to DHT_MAX_BOOT) and pings it. */
int dht_add_bootstrap(dht_t *d, const dht_addr_t *a, uint64_t now)
{
	bool known = false;

	for (uint32_t i = 0; i < d->nboot; i++)
		known = known || (d->boot[i].ip == a->ip && d->boot[i].port == a->port);
	if (!known) {
		if (d->nboot >= DHT_MAX_BOOT)
			return CH_ENOMEM;
		d->boot[d->nboot++] = *a;
	}
	return send_ping(d, a, NULL, now);
}

/* dht_bootstrap: a find_node for our own id from the table and the bootstrap addresses (BEP 5's
 * "upon inserting the first node ..."). */
int dht_bootstrap(dht_t *d, uint64_t now)
{
	dht_lookup_t *lk = dht_lk_new(d, DHT_OP_FIND_NODE, d->cfg.id, NULL, NULL, now);

	if (lk == NULL)
		return CH_ENOMEM;
	d->last_boot = now;
	dht_lk_start(d, lk, now);
	return 0;
}

/* ---------------------------------------------------------------- own items */

void dht_own_add(dht_t *d, const dht_item_t *it, uint64_t now)
{
	dht_own_t *o = NULL;
	uint64_t jitter = 0;

	for (uint32_t i = 0; i < d->nown && o == NULL; i++)
		if (memcmp(d->own[i]->item.target, it->target, DHT_ID_LEN) == 0)
			o = d->own[i];
	if (o == NULL) {
		if (d->nown >= DHT_MAX_OWN) {
			/* the oldest own item stops being republished */
			free(d->own[0]);
			memmove(&d->own[0], &d->own[1], (d->nown - 1) * sizeof(dht_own_t *));
			d->nown--;
		}
		o = calloc(1, sizeof(*o));
		if (o == NULL)
			return;
		d->own[d->nown++] = o;
	}
	o->item = *it;
	dht_rand(d, &jitter, sizeof(jitter));
	o->next_publish = now + DHT_REPUBLISH_NS - jitter % (DHT_REPUBLISH_NS / 10);
	d->dirty = true;
}

/* dht_store_local: stores an own item in our own store. */
void dht_store_local(dht_t *d, const dht_item_t *it, uint64_t now)
{
	dht_st_put_t p = {
	    .target = it->target,
	    .mut = it->mut,
	    .seq = it->seq,
	    .k = it->k,
	    .sig = it->sig,
	    .salt = it->salt,
	    .saltlen = it->saltlen,
	    .v = it->v,
	    .vlen = it->vlen,
	    .src_ip = 0,
	};

	if (dht_st_item_put(&d->st, &p, now) == 0)
		d->dirty = true;
}

/* ---------------------------------------------------------------- queries */

/* rate_ok: the token bucket of incoming queries. */
static bool rate_ok(dht_t *d, uint64_t now)
{
	double cap = 2.0 * d->cfg.max_qps;

	if (now > d->qtok_at) {
		d->qtok += (double)(now - d->qtok_at) * d->cfg.max_qps / 1e9;
		if (d->qtok > cap)
			d->qtok = cap;
		d->qtok_at = now;
	}
	if (d->qtok < 1.0) {
		d->stats.rate_limited++;
		return false;
	}
	d->qtok -= 1.0;
	return true;
}

/* ping_pending: a ping to addr awaits its answer already. */
static bool ping_pending(const dht_t *d, const dht_addr_t *addr)
{
	for (uint32_t i = 0; i < d->hwm; i++)
		if (d->reqs[i].used && d->reqs[i].purpose == REQ_PING &&
		    d->reqs[i].addr.ip == addr->ip && d->reqs[i].addr.port == addr->port)
			return true;
	return false;
}

/* verify_ok: the token bucket of verification pings (DHT_VERIFY_PPS). */
static bool verify_ok(dht_t *d, uint64_t now)
{
	if (now > d->vtok_at) {
		d->vtok += (double)(now - d->vtok_at) * DHT_VERIFY_PPS / 1e9;
		if (d->vtok > 2.0 * DHT_VERIFY_PPS)
			d->vtok = 2.0 * DHT_VERIFY_PPS;
		d->vtok_at = now;
	}
	if (d->vtok < 1.0)
		return false;
	d->vtok -= 1.0;
	return true;
}

/* nodes_near: the compact info of the K nodes nearest target into buf
 * (RT_K * 26 bytes).  Returns the byte count. */
static size_t nodes_near(const dht_t *d, const uint8_t *target, uint8_t *buf)
{
	dht_rt_node_t near[RT_K];
	uint32_t n = dht_rt_closest(&d->rt, target, near, RT_K);

	for (uint32_t i = 0; i < n; i++) {
		memcpy(buf + i * KRPC_NODE_LEN, near[i].id, DHT_ID_LEN);
		compact_addr(&near[i].addr, buf + i * KRPC_NODE_LEN + DHT_ID_LEN);
	}
	return n * KRPC_NODE_LEN;
}

/* on_put: BEP 44 put.  Returns 0 (answered with success) or writes the
 * error code and message to answer with. */
static int64_t on_put(dht_t *d, const krpc_msg_t *m, const dht_addr_t *from, uint64_t now,
                      const char **why)
{
	uint8_t target[DHT_ID_LEN];
	dht_st_put_t p;
	int rc;

	if (m->token.p == NULL || m->v.p == NULL)
		return *why = "put needs token and v", KRPC_E_PROTOCOL;
	if (!token_ok(d, from->ip, m->token)) {
		d->stats.bad_token++;
		return *why = "bad token", KRPC_E_PROTOCOL;
	}
	if (m->v.n > KRPC_V_MAX)
		return *why = "v too big", KRPC_E_V_TOO_BIG;
	memset(&p, 0, sizeof(p));
	if (m->k.p != NULL) {
		if (m->sig.p == NULL || !m->has_seq)
			return *why = "mutable put needs sig and seq", KRPC_E_PROTOCOL;
		if (m->salt.n > KRPC_SALT_MAX)
			return *why = "salt too big", KRPC_E_SALT_TOO_BIG;
		if (m->seq < 0)
			return *why = "negative seq", KRPC_E_PROTOCOL;
		if (dht_item_verify(m->k.p, m->sig.p, m->salt.p, m->salt.n, m->seq, m->v.p,
		                    m->v.n) != 0) {
			d->stats.bad_sig++;
			return *why = "invalid signature", KRPC_E_BAD_SIG;
		}
		p.mut = true;
		p.k = m->k.p;
		p.sig = m->sig.p;
		p.seq = m->seq;
		p.salt = m->salt.p;
		p.saltlen = m->salt.n;
		p.has_cas = m->has_cas;
		p.cas = m->cas;
	}
	dht_item_target(p.mut, p.k, p.salt, p.saltlen, m->v.p, m->v.n, target);
	p.target = target;
	p.v = m->v.p;
	p.vlen = m->v.n;
	p.src_ip = from->ip;
	rc = dht_st_item_put(&d->st, &p, now);
	switch (rc) {
	case 0:
		d->dirty = true;
		return 0;
	case ST_E_CAS:
		return *why = "cas mismatch", KRPC_E_CAS;
	case ST_E_SEQ:
		return *why = "sequence number less than current", KRPC_E_SEQ;
	default:
		return *why = "storage full", KRPC_E_SERVER;
	}
}

/* on_announce: BEP 5 announce_peer; 0 or an error code with *why. */
static int64_t on_announce(dht_t *d, const krpc_msg_t *m, const dht_addr_t *from, uint64_t now,
                           const char **why)
{
	int64_t port;

	if (!m->has_info_hash || m->token.p == NULL || (!m->has_port && !m->implied_port))
		return *why = "announce_peer needs info_hash, token and port", KRPC_E_PROTOCOL;
	if (!token_ok(d, from->ip, m->token)) {
		d->stats.bad_token++;
		return *why = "bad token", KRPC_E_PROTOCOL;
	}
	port = m->implied_port ? from->port : m->port;
	if (port < 1 || port > 65535)
		return *why = "bad port", KRPC_E_PROTOCOL;
	if (dht_st_announce(&d->st, m->info_hash, from->ip, (uint16_t)port, now) != 0)
		return *why = "storage full", KRPC_E_SERVER;
	return 0;
}

/* handle_query: answers one well-formed query. */
static void handle_query(dht_t *d, const krpc_msg_t *m, const dht_addr_t *from, uint64_t now)
{
	uint8_t nodes[RT_K * KRPC_NODE_LEN], token[DHT_TOKEN_LEN], ip[6];
	uint8_t peers[DHT_MAX_REPLY_PEERS * KRPC_PEER_LEN];
	const char *why = NULL;
	int64_t code = 0;
	krpc_msg_t r;

	d->stats.queries_in[m->q]++;
	/* verify a newcomer before it enters: it must answer a ping */
	if (!m->ro && dht_rt_update(&d->rt, m->id, from, RT_EV_QUERY, now) == RT_IGNORED &&
	    dht_rt_wants(&d->rt, m->id, now) && !ping_pending(d, from) && verify_ok(d, now))
		send_ping(d, from, m->id, now);
	memset(&r, 0, sizeof(r));
	r.y = KRPC_RESPONSE;
	r.t = m->t;
	r.has_id = true;
	memcpy(r.id, d->cfg.id, DHT_ID_LEN);
	compact_addr(from, ip);
	r.ip.p = ip;
	r.ip.n = sizeof(ip);

	switch (m->q) {
	case KRPC_M_PING:
		break;
	case KRPC_M_FIND_NODE:
		if (!m->has_target) {
			code = KRPC_E_PROTOCOL, why = "find_node needs target";
			break;
		}
		r.nodes.p = nodes;
		r.nodes.n = nodes_near(d, m->target, nodes);
		break;
	case KRPC_M_GET_PEERS: {
		uint32_t n;

		if (!m->has_info_hash) {
			code = KRPC_E_PROTOCOL, why = "get_peers needs info_hash";
			break;
		}
		dht_make_token(d, from->ip, token);
		r.token.p = token;
		r.token.n = DHT_TOKEN_LEN;
		r.nodes.p = nodes;
		r.nodes.n = nodes_near(d, m->info_hash, nodes);
		n = dht_st_peers(&d->st, m->info_hash, peers, DHT_MAX_REPLY_PEERS, now);
		if (n > 0) {
			r.has_values = true;
			r.nvalues = n;
			for (uint32_t i = 0; i < n; i++)
				r.values[i] = peers + i * KRPC_PEER_LEN;
		}
		break;
	}
	case KRPC_M_ANNOUNCE_PEER:
		code = on_announce(d, m, from, now, &why);
		break;
	case KRPC_M_GET: {
		const dht_st_item_t *it;

		if (!m->has_target) {
			code = KRPC_E_PROTOCOL, why = "get needs target";
			break;
		}
		dht_make_token(d, from->ip, token);
		r.token.p = token;
		r.token.n = DHT_TOKEN_LEN;
		r.nodes.p = nodes;
		r.nodes.n = nodes_near(d, m->target, nodes);
		it = dht_st_item_get(&d->st, m->target, now);
		if (it == NULL)
			break;
		if (it->mut) {
			r.has_seq = true;
			r.seq = it->seq;
			if (m->has_seq && it->seq <= m->seq)
				break; /* the asker has it already */
			r.k.p = it->k;
			r.k.n = 32;
			r.sig.p = it->sig;
			r.sig.n = 64;
		}
		r.v.p = it->v;
		r.v.n = it->vlen;
		break;
	}
	case KRPC_M_PUT:
		code = on_put(d, m, from, now, &why);
		break;
	default:
		code = KRPC_E_METHOD, why = "method unknown";
		break;
	}
	if (code != 0) {
		send_error(d, m->t, code, why, from);
		return;
	}
	send_msg(d, &r, from);
}

/* ---------------------------------------------------------------- replies */

/* match: the pending request a reply answers, or -1 (unknown id, reused
 * slot, or another address: late or spoofed). */
static int32_t match(const dht_t *d, krpc_span_t t, const dht_addr_t *from)
{
	uint32_t i;
	uint64_t gen = 0;

	if (t.n != DHT_TID_LEN)
		return -1;
	i = (uint32_t)t.p[0] << 8 | t.p[1];
	for (int k = 2; k < DHT_TID_LEN; k++)
		gen = gen << 8 | t.p[k];
	if (i >= d->cap_reqs || !d->reqs[i].used || d->reqs[i].gen != gen ||
	    d->reqs[i].addr.ip != from->ip || d->reqs[i].addr.port != from->port)
		return -1;
	return (int32_t)i;
}

/* handle_reply: a response or an error to one of our requests. */
static void handle_reply(dht_t *d, const krpc_msg_t *m, const dht_addr_t *from, uint64_t now)
{
	int32_t i = match(d, m->t, from);
	dht_lookup_t *lk;
	dht_req_t rq;

	if (i < 0) {
		d->stats.unmatched++;
		return;
	}
	dht_ql_refund(&d->ql, from, now); /* answers to us are not charged */
	rq = d->reqs[i];
	req_free(d, (uint32_t)i);
	if (m->y == KRPC_RESPONSE) {
		d->stats.responses_in++;
		if (rq.id_known && memcmp(rq.id, m->id, DHT_ID_LEN) != 0)
			dht_rt_update(&d->rt, rq.id, from, RT_EV_TIMEOUT, now); /* id moved */
		if (!m->ro && dht_rt_update(&d->rt, m->id, from, RT_EV_REPLY, now) == RT_ADDED)
			d->dirty = true;
	} else {
		d->stats.errors_in++;
		/* an error is an answer: the node is alive */
		if (rq.id_known)
			dht_rt_update(&d->rt, rq.id, from, RT_EV_REPLY, now);
	}
	if (rq.purpose == REQ_PING)
		return;
	lk = dht_lk_find(d, rq.lk_slot, rq.lookup_id);
	if (lk == NULL)
		return;
	if (m->y == KRPC_RESPONSE)
		dht_lk_on_reply(d, lk, &rq, m, now);
	else
		dht_lk_on_error(d, lk, &rq, m->ecode, now);
}

/* dht_input: one datagram of len bytes from `from`, received at now. */
void dht_input(dht_t *d, const uint8_t *pkt, size_t len, const dht_addr_t *from, uint64_t now)
{
	krpc_msg_t m;
	krpc_err_t e;

	d->stats.pkts_in++;
	d->stats.bytes_in += len;
	if (from->port == 0)
		return;
	if (!dht_ql_take(&d->ql, from, now)) {
		d->stats.src_limited++;
		return;
	}
	e = krpc_parse(pkt, len, &m, &d->stats.bencode);
	if (e != KRPC_OK) {
		d->stats.malformed[e]++;
		/* a query we can name gets BEP 5's protocol error */
		if (m.y == KRPC_QUERY && rate_ok(d, now))
			send_error(d, m.t, KRPC_E_PROTOCOL, "malformed query", from);
		return;
	}
	if (m.y == KRPC_QUERY) {
		if (rate_ok(d, now))
			handle_query(d, &m, from, now);
		return;
	}
	handle_reply(d, &m, from, now);
}

/* ---------------------------------------------------------------- timers */

/* timeouts: soft and hard request timeouts; returns the earliest future
 * deadline among pending requests (or limit). */
static uint64_t timeouts(dht_t *d, uint64_t now, uint64_t limit)
{
	uint64_t soft = (uint64_t)d->cfg.soft_timeout_ms * 1000000ull;
	uint64_t hard = (uint64_t)d->cfg.req_timeout_ms * 1000000ull;

	/* d->hwm and d->reqs may change inside the loop (a lookup sends) */
	for (uint32_t i = 0; i < d->hwm; i++) {
		dht_req_t rq = d->reqs[i];
		dht_lookup_t *lk;

		if (!rq.used)
			continue;
		if (now >= rq.sent_at + hard) {
			req_free(d, i);
			d->stats.timeouts++;
			if (rq.id_known)
				dht_rt_update(&d->rt, rq.id, &rq.addr, RT_EV_TIMEOUT, now);
			lk = rq.purpose == REQ_PING ? NULL
			                            : dht_lk_find(d, rq.lk_slot, rq.lookup_id);
			if (lk != NULL)
				dht_lk_on_timeout(d, lk, &rq, false, now);
			continue;
		}
		if (!rq.soft && now >= rq.sent_at + soft) {
			d->reqs[i].soft = true;
			lk = rq.purpose == REQ_PING ? NULL
			                            : dht_lk_find(d, rq.lk_slot, rq.lookup_id);
			if (lk != NULL)
				dht_lk_on_timeout(d, lk, &rq, true, now);
			if (rq.sent_at + hard < limit)
				limit = rq.sent_at + hard;
			continue;
		}
		if (!rq.soft && rq.sent_at + soft < limit)
			limit = rq.sent_at + soft;
		if (rq.soft && rq.sent_at + hard < limit)
			limit = rq.sent_at + hard;
	}
	return limit;
}

/* maintain: once per DHT_MAINT_NS: token secret, one ping of a
 * questionable node, one stale bucket refreshed, re-bootstrap while the
 * table is small, store expiry, republishing of own items. */
static void maintain(dht_t *d, uint64_t now)
{
	dht_rt_node_t n;
	uint32_t bi, refreshing = 0;
	uint16_t jitter = 0;

	dht_rand(d, &jitter, sizeof(jitter));
	d->next_maint = now + DHT_MAINT_NS - (DHT_MAINT_NS / 10) * jitter / 65536;
	rotate(d, now);
	if (dht_rt_next_ping(&d->rt, now, &n))
		send_ping(d, &n.addr, n.id, now);
	for (uint32_t i = 0; i < DHT_MAX_LOOKUPS; i++)
		refreshing += d->lk[i] != NULL && d->lk[i]->cb == NULL;
	if (refreshing < DHT_MAX_REFRESH && d->rt.count > 0 &&
	    dht_rt_stale_bucket(&d->rt, now, &bi)) {
		uint8_t rnd[DHT_ID_LEN], target[DHT_ID_LEN];
		dht_lookup_t *lk;

		dht_rand(d, rnd, sizeof(rnd));
		dht_rt_random_id_in(&d->rt, bi, rnd, target);
		lk = dht_lk_new(d, DHT_OP_FIND_NODE, target, NULL, NULL, now);
		if (lk != NULL)
			dht_lk_start(d, lk, now);
	}
	if (d->rt.count < RT_K && d->nboot > 0 &&
	    (d->last_boot == 0 || now >= d->last_boot + DHT_REBOOT_NS))
		dht_bootstrap(d, now);
	if (now >= d->next_expire) {
		d->next_expire = now + DHT_EXPIRE_NS;
		if (dht_st_expire(&d->st, now) > 0)
			d->dirty = true;
	}
	for (uint32_t i = 0; i < d->nown; i++) {
		dht_own_t *o = d->own[i];
		dht_lookup_t *lk;

		if (now < o->next_publish)
			continue;
		lk = dht_lk_new(d, DHT_OP_PUT, o->item.target, NULL, NULL, now);
		if (lk == NULL)
			break;
		lk->put = o->item;
		lk->put_ready = true;
		lk->own = (int32_t)i;
		o->next_publish = now + DHT_REPUBLISH_NS;
		dht_store_local(d, &o->item, now);
		d->stats.republished++;
		dht_lk_start(d, lk, now);
	}
}

/* dht_tick: timers (timeouts, maintenance, republishing) at now. */
uint64_t dht_tick(dht_t *d, uint64_t now)
{
	uint64_t next;

	if (now >= d->next_maint)
		maintain(d, now);
	next = timeouts(d, now, d->next_maint);
	dht_lk_tick(d, now);
	return next > now ? next : now + 1000000ull;
}
