/* test_member.c: the membership policy (member.h) driven without I/O: seeds only while the
 * book is small and dropped once surplus (after their answer), outbound
 * peers in distinct groups, backoff after a failure, banned addresses
 * and ourselves never dialed, anchors dialed first, GETPEERS answered
 * with connected peers (the requester excluded) from a per-requester
 * cache, unsolicited PEERS held to the token bucket, a peer list that is
 * older than the events does not undo them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "pex.h"
#include "services/discovery/member.h"

#define S   (1000000000ull)
#define NOW (1700000000000ull)

/* xrand: xorshift64*, the injected randomness, repeatable per seed. */
static void xrand(void *arg, void *buf, size_t n)
{
	uint64_t *s = arg;
	uint8_t *p = buf;

	for (size_t i = 0; i < n; i++) {
		*s ^= *s >> 12;
		*s ^= *s << 25;
		*s ^= *s >> 27;
		p[i] = (uint8_t)((*s * 0x2545F4914F6CDD1Dull) >> 56);
	}
}

/* v4: a.b.c.d:port as a book address. */
static ab_addr_t v4(unsigned a, unsigned b, unsigned c, unsigned d, uint16_t port)
{
	ab_addr_t x;
	uint8_t ip[4] = {(uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d};
	uint32_t be;

	memcpy(&be, ip, 4);
	pex_addr_from_v4(&x, be, port);
	return x;
}

/* ---------------------------------------------------------------- policy */

/* What the fake I/O recorded. */
typedef struct rec {
	ab_addr_t dial[256];
	mb_kind_t kind[256];
	int ndial;
	uint64_t sent_peer[64];
	uint8_t sent_type[64];
	uint8_t sent[64][WIRE_PEERS_MAX];
	size_t sent_len[64];
	int nsent;
	uint64_t dropped[16];
	int ndropped;
	int anchors_changed;
	int fail_connect; /* connect returns this */
} rec_t;

/* f_connect / f_send / f_disconnect / f_anchors: the fake I/O records. */
static int f_connect(void *arg, const ab_addr_t *a, const uint8_t *pk, mb_kind_t kind)
{
	rec_t *r = arg;

	(void)pk;
	if (r->fail_connect)
		return r->fail_connect;
	r->dial[r->ndial] = *a;
	r->kind[r->ndial++] = kind;
	return 0;
}

static int f_send(void *arg, uint64_t peer, uint8_t type, const uint8_t *payload, size_t len)
{
	rec_t *r = arg;

	r->sent_peer[r->nsent] = peer;
	r->sent_type[r->nsent] = type;
	memcpy(r->sent[r->nsent], payload, len);
	r->sent_len[r->nsent++] = len;
	return 0;
}

static int f_disconnect(void *arg, uint64_t peer)
{
	rec_t *r = arg;

	r->dropped[r->ndropped++] = peer;
	return 0;
}

static void f_anchors(void *arg)
{
	((rec_t *)arg)->anchors_changed++;
}

typedef struct fix {
	rec_t r;
	ab_t *book;
	mb_t *m;
	uint64_t rs;
	uint64_t now;
} fix_t;

/* fix_new_mode / fix_new / fix_free: a policy over a fresh book with the
 * fake I/O.  fix_new groups loopback addresses by the public-internet rule
 * (/16), so 127.x.y.z model public groups. */
static fix_t *fix_new_mode(uint32_t target, const ab_addr_t *seeds, uint32_t nseeds,
                           ch_netgroup_mode_t mode)
{
	fix_t *f = calloc(1, sizeof(*f));
	ab_config_t ac = {.rand = xrand, .rand_arg = &f->rs, .netgroup = mode};
	mb_config_t c = {.target = target,
	                 .netgroup = mode,
	                 .block_relay = MB_ANCHORS,
	                 .dial_timeout_ns = 8 * S,
	                 .nself = 1,
	                 .rand = xrand,
	                 .rand_arg = &f->rs};
	mb_io_t io = {.connect = f_connect,
	              .send = f_send,
	              .disconnect = f_disconnect,
	              .anchors_changed = f_anchors,
	              .arg = &f->r};

	f->rs = 42;
	f->now = 1000 * S;
	c.self[0] = v4(127, 1, 0, 1, 7000);
	memset(c.self_pk, 0xee, 32);
	if (nseeds > 0)
		memcpy(c.seeds, seeds, nseeds * sizeof(*seeds));
	c.nseeds = nseeds;
	f->book = ab_new(&ac);
	f->m = mb_new(&c, f->book, &io);
	assert_non_null(f->m);
	return f;
}

static fix_t *fix_new(uint32_t target, const ab_addr_t *seeds, uint32_t nseeds)
{
	return fix_new_mode(target, seeds, nseeds, CH_NETGROUP_PREFIX);
}

static void fix_free(fix_t *f)
{
	mb_destroy(&f->m);
	assert_null(f->m);
	ab_destroy(&f->book);
	free(f);
}

/* sync: an empty (or given) peer list from transport: dialing may start. */
static void sync_list(fix_t *f, const mb_peer_info_t *p, int n)
{
	mb_sync_asked(f->m, f->now);
	mb_sync_begin(f->m);
	for (int i = 0; i < n; i++)
		mb_sync_peer(f->m, &p[i]);
	mb_sync_end(f->m, f->now, NOW);
}

/* peer: a connection as transport would report it (key = handle bytes). */
static mb_peer_info_t peer(uint64_t h, ab_addr_t a, bool inbound, uint16_t lp)
{
	mb_peer_info_t p = {.handle = h, .addr = a, .inbound = inbound, .listen_port = lp};

	p.kind = inbound ? MB_INBOUND : MB_OUTBOUND;
	p.has_pk = true;
	memset(p.pk, (int)h, 32);
	return p;
}

/* count_group: dials made into 127.b/16. */
static int count_group(const rec_t *r, unsigned b)
{
	int n = 0;

	for (int i = 0; i < r->ndial; i++)
		n += r->dial[i].ip[13] == b;
	return n;
}

/* Seeds while the book is small; the seed dropped once the book gave
 * the target without it, and only after it answered. */
static void test_seeds(void **state)
{
	ab_addr_t seed = v4(127, 10, 0, 1, 7000);
	fix_t *f = fix_new(2, &seed, 1);
	mb_peer_info_t sp;
	ab_addr_t addrs[3];
	uint8_t *pl;
	size_t len;

	(void)state;
	mb_tick(f->m, f->now, NOW);
	assert_int_equal(f->r.ndial, 0); /* nothing before transport's list */
	sync_list(f, NULL, 0);
	mb_tick(f->m, f->now, NOW);
	assert_int_equal(f->r.ndial, 1);
	assert_true(ab_addr_eq(&f->r.dial[0], &seed));
	/* it connects; we ask it for addresses */
	sp = peer(1, seed, false, 7000);
	mb_on_connected(f->m, &sp, f->now, NOW);
	assert_int_equal(f->r.nsent, 1);
	assert_int_equal(f->r.sent_type[0], WIRE_GETPEERS);
	/* its answer: three members in three groups */
	addrs[0] = v4(127, 20, 0, 1, 7000);
	addrs[1] = v4(127, 21, 0, 1, 7000);
	addrs[2] = v4(127, 22, 0, 1, 7000);
	assert_int_equal(pex_peers_encode(addrs, 3, &pl, &len), 0);
	mb_on_msg(f->m, 1, WIRE_PEERS, pl, len, f->now, NOW);
	free(pl);
	assert_int_equal(ab_count(f->book, AB_NEW), 3);
	f->now += S;
	mb_tick(f->m, f->now, NOW + 1000);
	assert_int_equal(f->r.ndial, 3); /* two book addresses for the target of 2 */
	assert_int_equal(f->r.ndropped, 0);
	for (int i = 1; i < 3; i++) {
		mb_peer_info_t p = peer(10 + (uint64_t)i, f->r.dial[i], false, 7000);

		mb_on_connected(f->m, &p, f->now, NOW + 1000);
	}
	assert_int_equal(mb_outbound(f->m), 3);
	assert_false(mb_below_target(f->m));
	mb_tick(f->m, f->now, NOW + 1000);
	assert_int_equal(f->r.ndropped, 1); /* the seed is surplus now */
	assert_int_equal(f->r.dropped[0], 1);
	fix_free(f);
}

/* One outbound per group; a failure backs the address off; banned and
 * ourselves are never dialed. */
static void test_groups_backoff_bans(void **state)
{
	fix_t *f = fix_new(8, NULL, 0);
	ab_addr_t src = v4(127, 200, 0, 1, 1), banned = v4(127, 50, 0, 1, 7000);
	ab_addr_t self = v4(127, 1, 0, 1, 7000);

	(void)state;
	for (unsigned i = 0; i < 10; i++) {
		ab_addr_t a = v4(127, 40, 0, i + 1, 7000);

		ab_add(f->book, &a, &src, NOW, NOW, NULL);
	}
	for (unsigned g = 41; g < 44; g++) {
		ab_addr_t a = v4(127, g, 0, 1, 7000);

		ab_add(f->book, &a, &src, NOW, NOW, NULL);
	}
	ab_add(f->book, &banned, &src, NOW, NOW, NULL);
	ab_add(f->book, &self, &src, NOW, NOW, NULL);
	mb_on_banned(f->m, &banned);
	sync_list(f, NULL, 0);
	mb_tick(f->m, f->now, NOW);
	assert_int_equal(count_group(&f->r, 40), 1);
	assert_int_equal(count_group(&f->r, 41) + count_group(&f->r, 42) + count_group(&f->r, 43),
	                 3);
	assert_int_equal(count_group(&f->r, 50), 0);
	assert_int_equal(count_group(&f->r, 1), 0);
	assert_int_equal(f->r.ndial, 4);
	/* every dial fails: backoff keeps them from being redialed at once */
	for (int i = 0; i < 4; i++)
		mb_on_failed(f->m, &f->r.dial[i], "connect failed: Connection refused", f->now,
		             NOW);
	int before = f->r.ndial;
	f->now += S / 10;
	mb_tick(f->m, f->now, NOW + 100);
	for (int i = before; i < f->r.ndial; i++)
		for (int k = 0; k < 4; k++)
			assert_false(ab_addr_eq(&f->r.dial[i], &f->r.dial[k]));
	/* "connected to ourselves" removes the address for good */
	ab_addr_t me = f->r.dial[before];
	mb_on_failed(f->m, &me, "connected to ourselves", f->now, NOW + 200);
	assert_null(ab_find(f->book, &me));
	/* transport refusing the connect is a failure too */
	f->r.fail_connect = CH_EPERM;
	f->now += 30 * S;
	mb_tick(f->m, f->now, NOW + 30000);
	assert_true(mb_stats(f->m)->dial_refused > 0);
	fix_free(f);
}

/* Anchors are dialed first, as block-relay; a new block-relay peer becomes
 * an anchor; one that fails at start is dropped. */
static void test_anchors(void **state)
{
	fix_t *f = fix_new(1, NULL, 0);
	mb_anchor_t an[2], got[2];
	ab_addr_t src = v4(127, 200, 0, 1, 1);

	(void)state;
	an[0].addr = v4(127, 60, 0, 1, 7000);
	an[1].addr = v4(127, 61, 0, 1, 7000);
	memset(an[0].pk, 1, 32);
	memset(an[1].pk, 2, 32);
	for (unsigned g = 70; g < 80; g++) {
		ab_addr_t a = v4(127, g, 0, 1, 7000);

		ab_add(f->book, &a, &src, NOW, NOW, NULL);
	}
	mb_set_anchors(f->m, an, 2);
	sync_list(f, NULL, 0);
	mb_tick(f->m, f->now, NOW);
	assert_true(f->r.ndial >= 3);
	assert_true(ab_addr_eq(&f->r.dial[0], &an[0].addr));
	assert_true(ab_addr_eq(&f->r.dial[1], &an[1].addr));
	assert_int_equal(f->r.kind[0], MB_BLOCK_RELAY);
	assert_int_equal(f->r.kind[1], MB_BLOCK_RELAY);
	assert_int_equal(f->r.kind[2], MB_OUTBOUND);
	/* the first connects, the second fails: it is no anchor any more */
	mb_peer_info_t p = peer(5, an[0].addr, false, 7000);
	p.kind = MB_BLOCK_RELAY;
	memcpy(p.pk, an[0].pk, 32);
	mb_on_connected(f->m, &p, f->now, NOW);
	mb_on_failed(f->m, &an[1].addr, "connect failed: Connection refused", f->now, NOW);
	assert_int_equal(mb_get_anchors(f->m, got, 2), 1);
	assert_true(ab_addr_eq(&got[0].addr, &an[0].addr));
	assert_true(f->r.anchors_changed >= 1);
	/* a disconnection keeps the anchor (an orderly stop disconnects all) */
	mb_on_disconnected(f->m, 5, f->now);
	assert_int_equal(mb_get_anchors(f->m, got, 2), 1);
	fix_free(f);
}

/* GETPEERS: connected peers' listen addresses, never the requester's; the
 * same answer from the cache within MB_PEX_CACHE_NS; unsolicited PEERS
 * limited to the token bucket. */
static void test_exchange(void **state)
{
	fix_t *f = fix_new(8, NULL, 0);
	mb_peer_info_t ps[4];
	ab_addr_t out[128];
	size_t n;
	uint8_t gp[4], *pl;
	size_t gl = pex_getpeers_encode(gp, sizeof(gp)), len;

	(void)state;
	ps[0] = peer(1, v4(127, 80, 0, 1, 40000), true, 7001);
	ps[1] = peer(2, v4(127, 81, 0, 1, 40001), true, 7002);
	ps[2] = peer(3, v4(127, 82, 0, 1, 7003), false, 7003);
	ps[3] = peer(4, v4(127, 83, 0, 1, 40003), true, 0); /* no listen port */
	sync_list(f, ps, 4);
	mb_on_msg(f->m, 1, WIRE_GETPEERS, gp, gl, f->now, NOW);
	assert_int_equal(f->r.nsent, 1);
	assert_int_equal(f->r.sent_type[0], WIRE_PEERS);
	assert_int_equal(pex_peers_decode(f->r.sent[0], f->r.sent_len[0], NULL, out, 128, &n, NULL),
	                 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(out[i].ip[13], 80); /* not the requester */
		assert_true(out[i].port == 7002 || out[i].port == 7003);
	}
	/* asked again soon: the cached answer */
	mb_on_msg(f->m, 1, WIRE_GETPEERS, gp, gl, f->now + S, NOW);
	assert_int_equal(f->r.nsent, 2);
	assert_int_equal(f->r.sent_len[1], f->r.sent_len[0]);
	assert_memory_equal(f->r.sent[1], f->r.sent[0], f->r.sent_len[0]);
	assert_int_equal(mb_stats(f->m)->getpeers_cached, 1);
	/* a malformed GETPEERS is not answered */
	mb_on_msg(f->m, 2, WIRE_GETPEERS, (const uint8_t *)"\x01", 1, f->now, NOW);
	assert_int_equal(f->r.nsent, 2);
	/* unsolicited PEERS from peer 2: at most MB_PEX_ADDR_BURST addresses */
	static ab_addr_t many[100];
	for (int i = 0; i < 100; i++)
		many[i] = v4(44, (unsigned)i, 0, 1, 7000);
	size_t base = ab_count(f->book, AB_ANY);
	assert_int_equal(pex_peers_encode(many, 100, &pl, &len), 0);
	mb_on_msg(f->m, 2, WIRE_PEERS, pl, len, f->now, NOW);
	assert_int_equal(ab_count(f->book, AB_ANY), base + (size_t)MB_PEX_ADDR_BURST);
	mb_on_msg(f->m, 2, WIRE_PEERS, pl, len, f->now, NOW); /* bucket empty */
	assert_int_equal(ab_count(f->book, AB_ANY), base + (size_t)MB_PEX_ADDR_BURST);
	assert_true(mb_stats(f->m)->addrs_rate_limited >= 180);
	/* what peer 3 (on loopback) may not make us dial: service ports, and
	 * private addresses (another class than its own); loopback and public
	 * addresses on ordinary ports are taken */
	f->now += 100 * S; /* its bucket is full again */
	ab_addr_t mixed[6] = {v4(10, 0, 0, 5, 7000),   v4(192, 168, 1, 1, 7000),
	                      v4(45, 1, 0, 1, 6379),   v4(127, 99, 0, 1, 22),
	                      v4(127, 99, 0, 2, 7433), v4(46, 1, 0, 1, 7433)};
	uint64_t refused = mb_stats(f->m)->addrs_refused;
	free(pl);
	assert_int_equal(pex_peers_encode(mixed, 6, &pl, &len), 0);
	mb_on_msg(f->m, 3, WIRE_PEERS, pl, len, f->now, NOW);
	assert_int_equal(mb_stats(f->m)->addrs_refused - refused, 4);
	assert_non_null(ab_find(f->book, &mixed[4]));
	assert_non_null(ab_find(f->book, &mixed[5]));
	for (int i = 0; i < 4; i++)
		assert_null(ab_find(f->book, &mixed[i]));
	/* the rule itself: same class only, never a service port */
	ab_addr_t pub = v4(8, 8, 8, 8, 7433), lan = v4(10, 1, 1, 1, 7433);
	assert_true(ab_addr_from_peer_ok(&lan, &lan));
	assert_false(ab_addr_from_peer_ok(&lan, &pub));
	assert_true(ab_addr_from_peer_ok(&pub, &lan));
	ab_addr_t pub_smtp = v4(8, 8, 8, 8, 25);
	assert_false(ab_addr_from_peer_ok(&pub_smtp, &pub));
	/* a message from a peer we do not know is dropped */
	mb_on_msg(f->m, 99, WIRE_PEERS, pl, len, f->now, NOW);
	assert_int_equal(mb_stats(f->m)->pex_unknown_peer, 1);
	free(pl);
	fix_free(f);
}

/* A peer list asked for before an event must not undo the event. */
static void test_stale_list(void **state)
{
	fix_t *f = fix_new(8, NULL, 0);
	mb_peer_info_t a = peer(1, v4(127, 90, 0, 1, 7000), false, 7000);
	mb_peer_info_t b = peer(2, v4(127, 91, 0, 1, 7000), false, 7000);

	(void)state;
	sync_list(f, NULL, 0);
	mb_on_connected(f->m, &a, f->now, NOW);
	mb_sync_asked(f->m, f->now + 1);
	mb_on_connected(f->m, &b, f->now + 2, NOW); /* after the ask */
	mb_on_disconnected(f->m, 1, f->now + 3);    /* after the ask */
	mb_sync_begin(f->m);
	mb_sync_peer(f->m, &a); /* the list still has a, lacks b */
	mb_sync_end(f->m, f->now + 4, NOW);
	assert_int_equal(mb_outbound(f->m), 1); /* b only */
	fix_free(f);
}

/* main: the cmocka group. */
/* Under netgroup auto, nodes that share one loopback address (a local
 * testnet) and nodes on one private network are each their own group, so
 * the outbound target is reached; under prefix they all share one. */
static void test_local_networks_mesh(void **state)
{
	ab_addr_t src = v4(127, 0, 0, 1, 6999);

	(void)state;
	for (int mode = 0; mode < 2; mode++) {
		fix_t *f =
		    fix_new_mode(8, NULL, 0, mode == 0 ? CH_NETGROUP_AUTO : CH_NETGROUP_PREFIX);

		for (unsigned i = 0; i < 6; i++) {
			ab_addr_t lo = v4(127, 0, 0, 1, (uint16_t)(7001 + i));
			ab_addr_t priv = v4(10, 0, 0, (uint8_t)(2 + i), 7000);

			ab_add(f->book, &lo, &src, NOW, NOW, NULL);
			ab_add(f->book, &priv, &src, NOW, NOW, NULL);
		}
		sync_list(f, NULL, 0);
		mb_tick(f->m, f->now, NOW);
		/* auto: 8 distinct groups of 12 candidates; prefix: 127.0/16 and 10.0/16 */
		assert_int_equal(f->r.ndial, mode == 0 ? 8 : 2);
		fix_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seeds),      cmocka_unit_test(test_groups_backoff_bans),
	    cmocka_unit_test(test_anchors),    cmocka_unit_test(test_exchange),
	    cmocka_unit_test(test_stale_list), cmocka_unit_test(test_local_networks_mesh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
