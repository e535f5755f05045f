/* seeds.c: writes the seed corpora of the fuzz targets (make fuzz-seeds):
 * fuzz/corpus/TARGET/seed-NAME, each made by the real encoder of what the
 * target decodes (hello_encode, rl_inv_encode, mp_tx_encode, the block
 * message encoders, pex_peers_encode, krpc_encode, the noise handshake,
 * ab_save, dht_save, the mempool journal), so the fuzzer starts from
 * inputs that pass the outer checks.  Keys and randomness are fixed: the
 * same seeds come out every time.  Usage: fuzz-seeds DIR. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../services/discovery/addrbook.h"
#include "../services/mempool/journal.h"
#include "block.h"
#include "dht_setup.h"
#include "hash.h"
#include "hello.h"
#include "inv.h"
#include "log.h"
#include "mp.h"
#include "noise.h"
#include "pex.h"
#include "tx.h"
#include "wire.h"

static const char *root;

static void put(const char *target, const char *name, const void *a, size_t alen, const void *b,
                size_t blen)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/%s", root, target);
	if (mkdir(p, 0755) != 0 && errno != EEXIST) {
		perror(p);
		exit(1);
	}
	snprintf(p, sizeof(p), "%s/%s/seed-%s", root, target, name);
	FILE *f = fopen(p, "wb");
	if (!f || (alen && fwrite(a, 1, alen, f) != alen) ||
	    (blen && fwrite(b, 1, blen, f) != blen)) {
		perror(p);
		exit(1);
	}
	fclose(f);
}

static void put1(const char *target, const char *name, const void *a, size_t alen)
{
	put(target, name, a, alen, NULL, 0);
}

static void seckey(ch_seckey_t *sk, uint8_t fill)
{
	uint8_t seed[32], pk[32];
	memset(seed, fill, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk->b, seed);
}

static void identity_from(ch_identity_t *id, uint8_t fill)
{
	uint8_t seed[32];
	memset(seed, fill, sizeof(seed));
	crypto_sign_seed_keypair(id->pk.b, id->sk.b, seed);
	memcpy(id->id, id->pk.b, CH_NODE_ID_LEN);
}

static size_t a_tx(uint8_t *out, size_t cap, uint8_t key, uint64_t nonce, size_t dlen)
{
	ch_seckey_t sk;
	seckey(&sk, key);
	uint8_t data[256], id[CH_TXID_LEN];
	memset(data, 'd', sizeof(data));
	size_t len = 0;
	if (mp_tx_encode(out, cap, &sk, nonce, 1000 + nonce, data, dlen, &len, id) != 0)
		exit(1);
	return len;
}

static void proto_seeds(void)
{
	uint8_t out[65536];
	size_t len;
	/* hello, PING, REJECT */
	hello_t h = {.v = 1, .min = 1, .svc = 1, .port = 7000, .t = 1700000000000ull};
	snprintf(h.net, sizeof(h.net), "main");
	snprintf(h.ua, sizeof(h.ua), "chorus/0.1.0");
	if (hello_encode(&h, out, sizeof(out), &len) != 0)
		exit(1);
	put1("fuzz_hello", "hello", out, len);
	put1("fuzz_hello", "ping", out, ping_encode(0x1122334455667788ull, out, sizeof(out)));
	put1("fuzz_hello", "reject", out, reject_encode("wrong network: test", out, sizeof(out)));

	/* INV, GETDATA blktx */
	uint8_t ids[4 * 32];
	for (int i = 0; i < 4 * 32; i++)
		ids[i] = (uint8_t)i;
	put1("fuzz_inv", "inv", out, rl_inv_encode(out, sizeof(out), ids, 3, ids + 96, 1));
	put1("fuzz_inv", "inv-tx", out, rl_inv_encode(out, sizeof(out), ids, 1, NULL, 0));
	uint32_t idx[3] = {0, 5, 4095};
	put1("fuzz_inv", "getblktx", out, rl_getblktx_encode(out, sizeof(out), ids, idx, 3));

	/* transactions and TX */
	uint8_t enc[1024];
	size_t elen = a_tx(enc, sizeof(enc), 7, 1, 32);
	put1("fuzz_tx", "tx", out, rl_tx_encode(out, sizeof(out), enc, (uint32_t)elen));
	put1("fuzz_tx", "enc", enc, elen);
	elen = a_tx(enc, sizeof(enc), 8, 300, 0);
	put1("fuzz_tx", "enc-empty", enc, elen);

	/* the three BLOCK forms */
	rl_block_t b = {.v = 1, .height = 42, .time = 1700000000000ull, .ntx = 4, .txs = ids};
	memset(b.prev, 0x11, 32);
	ch_seckey_t sk;
	seckey(&sk, 9);
	if (rl_block_sign(&b, &sk) != 0)
		exit(1);
	put1("fuzz_block", "full", out, rl_block_msg_full(&b, out, sizeof(out)));
	put1("fuzz_block", "cmpct", out, rl_block_msg_cmpct(&b, out, sizeof(out)));
	uint32_t ti[2] = {1, 3};
	put1("fuzz_block", "blktxn", out, rl_block_msg_txn(&b, ti, 2, out, sizeof(out)));

	/* PEX */
	put1("fuzz_pex", "getpeers", out, pex_getpeers_encode(out, sizeof(out)));
	pex_addr_t pa[3];
	memset(pa, 0, sizeof(pa));
	pex_addr_from_v4(&pa[0], htonl(0x0a000001), 7000);
	pex_addr_from_v4(&pa[1], htonl(0xc0000201), 7001);
	memset(pa[2].ip, 0x20, 16);
	pa[2].port = 7002;
	uint8_t *pe;
	size_t pelen;
	if (pex_peers_encode(pa, 3, &pe, &pelen) != 0)
		exit(1);
	put1("fuzz_pex", "peers", pe, pelen);
	free(pe);
}

/* fuzz_relay's records (fuzz/fuzz_relay.c): who, type, length, bytes */
static size_t relay_op(uint8_t *in, size_t n, uint8_t who, uint8_t type, const void *p, size_t len)
{
	in[n++] = who, in[n++] = type, in[n++] = (uint8_t)(len >> 8), in[n++] = (uint8_t)len;
	memcpy(in + n, p, len);
	return n + len;
}

static void relay_seeds(void)
{
	static uint8_t in[65536], out[16384];
	uint8_t enc[512], ids[4 * 32];
	size_t n = 0, elen = a_tx(enc, sizeof(enc), 7, 1, 16), len;
	mp_tx_t tx;
	if (mp_tx_decode(enc, elen, &tx, NULL, 0) != 0)
		exit(1);
	/* announced by peer 0, accepted by the pool, asked for by peer 1 */
	n = relay_op(in, n, 0, WIRE_INV, out, rl_inv_encode(out, sizeof(out), tx.id, 1, NULL, 0));
	ch_msg_tx_accepted_t acc = {.fee = 1001, .size = (uint32_t)elen};
	memcpy(acc.id, tx.id, sizeof(acc.id));
	n = relay_op(in, n, 3, CH_TAG_TX_ACCEPTED, &acc, sizeof(acc));
	n = relay_op(in, n, 1, WIRE_GETDATA, out,
	             rl_inv_encode(out, sizeof(out), tx.id, 1, NULL, 0));
	n = relay_op(in, n, 2, WIRE_TX, out, rl_tx_encode(out, sizeof(out), enc, (uint32_t)elen));
	n = relay_op(in, n, 4, 50, NULL, 0); /* half a second later */
	put1("fuzz_relay", "tx-flow", in, n);

	/* a block with that transaction and three others: compact from peer
	 * 1, the missing ones asked for (blktx) and sent (blktxn) */
	memcpy(ids, tx.id, 32);
	for (int i = 32; i < 4 * 32; i++)
		ids[i] = (uint8_t)(i * 7);
	rl_block_t b = {.v = 1, .height = 7, .time = 1700000000000ull, .ntx = 4, .txs = ids};
	ch_seckey_t sk;
	seckey(&sk, 9);
	if (rl_block_sign(&b, &sk) != 0)
		exit(1);
	n = 0;
	n = relay_op(in, n, 3, CH_TAG_TX_ACCEPTED, &acc, sizeof(acc));
	n = relay_op(in, n, 1, WIRE_INV, out, rl_inv_encode(out, sizeof(out), NULL, 0, b.id, 1));
	n = relay_op(in, n, 1, WIRE_BLOCK, out, rl_block_msg_cmpct(&b, out, sizeof(out)));
	uint32_t miss[3] = {1, 2, 3};
	n = relay_op(in, n, 0, WIRE_GETDATA, out,
	             rl_getblktx_encode(out, sizeof(out), b.id, miss, 3));
	n = relay_op(in, n, 1, WIRE_BLOCK, out, rl_block_msg_txn(&b, miss, 3, out, sizeof(out)));
	len = rl_block_msg_full(&b, out, sizeof(out));
	n = relay_op(in, n, 2, WIRE_BLOCK, out, len);
	n = relay_op(in, n, 0, WIRE_NOTFOUND, out,
	             rl_inv_encode(out, sizeof(out), ids + 32, 2, NULL, 0));
	put1("fuzz_relay", "block-flow", in, n);
}

static void noise_seeds(void)
{
	ch_identity_t a, b;
	identity_from(&a, 0x0a);
	identity_from(&b, 0x0b);
	uint8_t ea[32], eb[32];
	memset(ea, 0x1a, sizeof(ea));
	memset(eb, 0x1b, sizeof(eb));
	static const uint8_t hi[] = "\x81\xa1v\x01";
	noise_hs_t ini, res;
	uint8_t m1[NOISE_MSG1_LEN], m2[NOISE_MSG2_MAX], m3[NOISE_MSG3_MAX];
	size_t m2len, m3len;
	const uint8_t *hello;
	size_t hlen;
	noise_init(&ini, true, &a, NOISE_SUITE_CHACHA, ea);
	noise_init(&res, false, &b, NOISE_SUITE_CHACHA, eb);
	noise_write_msg1(&ini, m1);
	if (noise_read_msg1(&res, m1, sizeof(m1)) != 0 ||
	    noise_write_msg2(&res, hi, sizeof(hi) - 1, m2, sizeof(m2), &m2len) != 0 ||
	    noise_read_msg2(&ini, m2, m2len, NULL, &hello, &hlen) != 0 ||
	    noise_write_msg3(&ini, hi, sizeof(hi) - 1, m3, sizeof(m3), &m3len) != 0)
		exit(1);
	put("fuzz_noise", "msg1", "\x00", 1, m1, sizeof(m1));
	put("fuzz_noise", "msg2", "\x01", 1, m2, m2len);
	put("fuzz_noise", "msg3", "\x02", 1, m3, m3len);
	noise_cipher_t c = {.suite = NOISE_SUITE_CHACHA};
	memset(c.key, 0x2c, sizeof(c.key));
	uint8_t rec[64 + NOISE_REC_OVERHEAD];
	put("fuzz_noise", "record", "\x03", 1, rec,
	    noise_seal(&c, (const uint8_t *)"frames", 6, rec));
	put("fuzz_noise", "record-empty", "\x03", 1, rec, noise_seal(&c, NULL, 0, rec));
}

/* fuzz_transport's operations (fuzz/fuzz_transport.c) */
static void transport_seeds(void)
{
	uint8_t in[4096], p[512];
	size_t n = 0;
	/* a PING, a PONG, a TX in one go, then cut in 7-byte pieces */
	size_t pl = ping_encode(5, p, sizeof(p));
	in[n++] = 2, in[n++] = WIRE_PING, in[n++] = 0, in[n++] = (uint8_t)pl;
	memcpy(in + n, p, pl), n += pl;
	in[n++] = 2, in[n++] = WIRE_PONG, in[n++] = 0, in[n++] = (uint8_t)pl;
	memcpy(in + n, p, pl), n += pl;
	uint8_t enc[512];
	size_t elen = a_tx(enc, sizeof(enc), 7, 1, 16);
	pl = rl_tx_encode(p, sizeof(p), enc, (uint32_t)elen);
	in[n++] = 2, in[n++] = WIRE_TX, in[n++] = (uint8_t)(pl >> 8), in[n++] = (uint8_t)pl;
	memcpy(in + n, p, pl), n += pl;
	in[n++] = 3, in[n++] = 6;
	put1("fuzz_transport", "frames", in, n);
	/* a frame split across two records */
	n = 0;
	pl = pex_getpeers_encode(p, sizeof(p));
	uint8_t fr[64];
	uint8_t magic[WIRE_MAGIC_LEN];
	wire_magic("main", magic);
	wire_put_hdr(fr, magic, WIRE_GETPEERS, p, (uint32_t)pl);
	memcpy(fr + WIRE_HDR_LEN, p, pl);
	in[n++] = 0, in[n++] = 0, in[n++] = 5;
	memcpy(in + n, fr, 5), n += 5;
	in[n++] = 0, in[n++] = 0, in[n++] = (uint8_t)(WIRE_HDR_LEN + pl - 5);
	memcpy(in + n, fr + 5, WIRE_HDR_LEN + pl - 5), n += WIRE_HDR_LEN + pl - 5;
	put1("fuzz_transport", "split-frame", in, n);
	/* an empty record, then a frame of an unknown type */
	n = 0;
	in[n++] = 0, in[n++] = 0, in[n++] = 0;
	in[n++] = 2, in[n++] = 200, in[n++] = 0, in[n++] = 3, in[n++] = 0x81, in[n++] = 0xa0,
	in[n++] = 0xc0;
	put1("fuzz_transport", "empty-then-unknown", in, n);
	/* raw mode (first byte 0xff): an HTTP probe; an honest msg1 then junk */
	static const char http[] = "\xff\x07GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	put1("fuzz_transport", "raw-http", http, sizeof(http) - 1);
	ch_identity_t id;
	identity_from(&id, 0x02);
	uint8_t e[32];
	memset(e, 0x03, sizeof(e));
	noise_hs_t hs;
	noise_init(&hs, true, &id, NOISE_SUITE_CHACHA, e);
	n = 0;
	in[n++] = 0xff, in[n++] = 0x0f;
	noise_write_msg1(&hs, in + n), n += NOISE_MSG1_LEN;
	memset(in + n, 0x41, 40), n += 40;
	put1("fuzz_transport", "raw-msg1-junk", in, n);
}

static void ctl_seeds(void)
{
	ch_mpw_t w;
	ch_mpw_init(&w);
	ch_mpw_map(&w, 1);
	ch_mpw_kv_str(&w, "cmd", "status");
	put1("fuzz_ctl", "status", ch_mpw_data(&w), ch_mpw_size(&w));
	ch_mpw_reset(&w);
	ch_mpw_map(&w, 6);
	ch_mpw_kv_str(&w, "cmd", "connect");
	ch_mpw_kv_str(&w, "host", "127.0.0.1");
	ch_mpw_kv_u64(&w, "peer", 12345);
	ch_mpw_kv_bool(&w, "once", true);
	uint8_t key[32];
	memset(key, 0xab, sizeof(key));
	ch_mpw_kv_bin(&w, "key", key, sizeof(key));
	ch_mpw_kv_i64(&w, "count", -3);
	put1("fuzz_ctl", "connect", ch_mpw_data(&w), ch_mpw_size(&w));
	ch_mpw_reset(&w);
	ch_mpw_map(&w, 3);
	ch_mpw_kv_bool(&w, "ok", false);
	ch_mpw_kv_i64(&w, "code", -22);
	ch_mpw_kv_str(&w, "message", "bad\nthing");
	put1("fuzz_ctl", "error-reply", ch_mpw_data(&w), ch_mpw_size(&w));
	ch_mpw_free(&w);
}

static void krpc_seed(const char *name, const krpc_msg_t *m)
{
	uint8_t out[KRPC_PKT_MAX];
	size_t len;
	if (krpc_encode(m, out, sizeof(out), &len) != 0)
		exit(1);
	put1("fuzz_krpc", name, out, len);
}

static void dht_seeds(void)
{
	krpc_msg_t m;
	memset(&m, 0, sizeof(m));
	m.y = KRPC_QUERY;
	m.t = (krpc_span_t){(const uint8_t *)"aa", 2};
	m.q = KRPC_M_PING;
	m.has_id = true;
	memset(m.id, 0x21, sizeof(m.id));
	krpc_seed("ping", &m);
	m.q = KRPC_M_GET_PEERS;
	m.has_info_hash = true;
	memset(m.info_hash, 0x11, sizeof(m.info_hash));
	krpc_seed("get_peers", &m);
	m.q = KRPC_M_PUT;
	m.has_info_hash = false;
	m.token = (krpc_span_t){(const uint8_t *)"tokentok", 8};
	m.v = (krpc_span_t){(const uint8_t *)"5:hello", 7};
	krpc_seed("put", &m);
	uint8_t nodes[2 * KRPC_NODE_LEN];
	memset(nodes, 0x31, sizeof(nodes));
	memset(&m, 0, sizeof(m));
	m.y = KRPC_RESPONSE;
	m.t = (krpc_span_t){(const uint8_t *)"aa", 2};
	m.has_id = true;
	memset(m.id, 0x22, sizeof(m.id));
	m.nodes = (krpc_span_t){nodes, sizeof(nodes)};
	krpc_seed("nodes", &m);

	/* fuzz_dht: an answer to each query the harness's core sends */
	fz_dht_t *f = malloc(sizeof(*f));
	if (!f || fz_dht_new(f) != 0)
		exit(1);
	uint8_t in[16384];
	size_t n = 0;
	for (size_t i = 0; i < f->nout; i++) {
		krpc_msg_t q, r;
		if (krpc_parse(f->out[i], f->outlen[i], &q, NULL) != KRPC_OK || q.y != KRPC_QUERY)
			continue;
		int from = -1;
		for (int k = 0; k < FZ_DHT_NBOOT; k++) {
			dht_addr_t a = fz_dht_boot(k);
			if (a.ip == f->outto[i].ip && a.port == f->outto[i].port)
				from = k;
		}
		if (from < 0)
			continue;
		memset(&r, 0, sizeof(r));
		r.y = KRPC_RESPONSE;
		r.t = q.t;
		r.has_id = true;
		memset(r.id, 0x40 + from, sizeof(r.id));
		uint8_t nd[KRPC_NODE_LEN];
		memset(nd, 0x50 + (int)i, DHT_ID_LEN);
		nd[20] = 10, nd[21] = 2, nd[22] = 0, nd[23] = (uint8_t)(i + 1);
		nd[24] = 0x1a, nd[25] = 0xe1;
		r.nodes = (krpc_span_t){nd, sizeof(nd)};
		r.token = (krpc_span_t){(const uint8_t *)"tk", 2};
		uint8_t pkt[KRPC_PKT_MAX];
		size_t plen;
		if (krpc_encode(&r, pkt, sizeof(pkt), &plen) != 0 || n + 4 + plen > sizeof(in))
			continue;
		in[n++] = (uint8_t)(plen >> 8), in[n++] = (uint8_t)plen, in[n++] = (uint8_t)from,
		in[n++] = 0;
		memcpy(in + n, pkt, plen), n += plen;
	}
	put1("fuzz_dht", "replies", in, n);

	/* fuzz_dht_state: the same core's state, its own item included */
	char path[] = "/tmp/chorus-seeds-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		exit(1);
	close(fd);
	if (dht_save(f->d, path, FZ_DHT_T0, 1700000000000ull) != 0)
		exit(1);
	uint8_t *buf;
	size_t blen;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		exit(1);
	buf = malloc(1 << 20);
	blen = fread(buf, 1, 1 << 20, fp);
	fclose(fp);
	put1("fuzz_dht_state", "state", buf, blen);
	free(buf);
	unlink(path);
	dht_destroy(&f->d);
	free(f);
}

/* counter_rand: fixed "randomness", so the book's key and slots repeat */
static void counter_rand(void *arg, void *buf, size_t n)
{
	uint64_t *c = arg;
	uint8_t *b = buf;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((*c)++ * 167 + 13);
}

static void file_seeds(void)
{
	static const char bans[] = "10.0.0.7 99999999999999 bad checksum on a TX frame\n"
	                           "2001:db8::1 99999999999999 oversized BLOCK frame\n";
	put1("fuzz_bans", "bans", bans, sizeof(bans) - 1);
	static const char peers[] =
	    "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c 127.0.0.1 7001 "
	    "outbound\n"
	    "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394 node2.example 7002 "
	    "block-relay\n";
	put1("fuzz_peers_dat", "peers", peers, sizeof(peers) - 1);

	char dir[] = "/tmp/chorus-seeds-XXXXXX";
	if (!mkdtemp(dir))
		exit(1);
	char path[256];
	uint8_t *buf = malloc(1 << 20);
	size_t blen;
	FILE *fp;

	/* addrbook.dat: a few new and tried entries (first byte 0: keep the sum) */
	uint64_t ctr = 0;
	ab_config_t cfg = {.rand = counter_rand, .rand_arg = &ctr};
	ab_t *b = ab_new(&cfg);
	if (!b)
		exit(1);
	for (uint32_t i = 1; i <= 6; i++) {
		pex_addr_t a, s;
		pex_addr_from_v4(&a, htonl(0x0a000000u + i * 0x10000u + i), (uint16_t)(7000 + i));
		pex_addr_from_v4(&s, htonl(0x0b000001u), 7000);
		ab_add(b, &a, &s, 1700000000000ull, 1700000000000ull, NULL);
		if (i % 2)
			ab_good(b, &a, NULL, 1700000000000ull);
	}
	snprintf(path, sizeof(path), "%s/addrbook.dat", dir);
	if (ab_save(b, path) != 0 || !(fp = fopen(path, "rb")))
		exit(1);
	blen = fread(buf, 1, 1 << 20, fp);
	fclose(fp);
	put("fuzz_addrbook", "book", "\x00", 1, buf, blen);
	ab_destroy(&b);
	unlink(path);

	/* anchors.dat: two anchors (layout of services/discovery/svc_member.c) */
	uint8_t an[12 + 2 * 50 + 32];
	memset(an, 0, sizeof(an));
	memcpy(an, "CHAN", 4);
	an[4] = 1;
	an[8] = 2;
	for (int i = 0; i < 2; i++) {
		uint8_t *e = an + 12 + i * 50;
		e[10] = e[11] = 0xff, e[12] = 10, e[15] = (uint8_t)(i + 1);
		e[16] = 0x1b, e[17] = 0x58 + i;
		memset(e + 18, 0x60 + i, 32);
	}
	ch_blake2b256(an + 12 + 100, an, 12 + 100);
	put("fuzz_anchors", "anchors", "\x00", 1, an, sizeof(an));

	/* the mempool journal: two transactions, a removal, a ring position */
	snprintf(path, sizeof(path), "%s/mempool.journal", dir);
	mp_journal_t *j;
	mp_journal_report_t rep;
	char err[128];
	mp_journal_visitor_t v = {0};
	if (mp_journal_open(path, &v, &rep, &j, err, sizeof(err)) != 0)
		exit(1);
	uint8_t enc[512], id[CH_TXID_LEN];
	size_t elen = a_tx(enc, sizeof(enc), 7, 1, 16);
	mp_journal_add(j, 1700000000000ull, 3, enc, (uint32_t)elen);
	elen = a_tx(enc, sizeof(enc), 8, 2, 0);
	mp_journal_add(j, 1700000000000ull, 0, enc, (uint32_t)elen);
	memset(id, 0x77, sizeof(id));
	mp_journal_del(j, id, 1);
	mp_journal_ring(j, 1, 99);
	if (mp_journal_flush(j) != 0)
		exit(1);
	mp_journal_close(&j);
	if (!(fp = fopen(path, "rb")))
		exit(1);
	blen = fread(buf, 1, 1 << 20, fp);
	fclose(fp);
	put("fuzz_journal", "journal", "\x00", 1, buf, blen);
	unlink(path);
	free(buf);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-seeds DIR\n");
		return 2;
	}
	root = argv[1];
	if (sodium_init() < 0)
		return 1;
	if (ch_log_open("fuzz-seeds", CH_LOG_LEVEL_ERROR, NULL) != 0)
		return 1;
	proto_seeds();
	relay_seeds();
	noise_seeds();
	transport_seeds();
	ctl_seeds();
	dht_seeds();
	file_seeds();
	return 0;
}
