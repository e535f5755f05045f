/* test_member_pacing.c: the timing rules of the membership policy
 * (services/discovery/member.h, docs/discovery.md "Each turn") driven
 * without I/O on a virtual clock: dials are paced by a token bucket
 * (MB_DIAL_RATE a second, burst MB_DIAL_BURST) however many addresses the
 * book offers and however fast they fail; feelers come every MB_FEELER_NS
 * (+-20 %) once the outbound target is met and the book holds new
 * addresses, never before the target is met, and none when no new address
 * is left to test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "pex.h"
#include "services/discovery/member.h"

#define S   (1000000000ull)
#define NOW (1700000000000ull)

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

static ab_addr_t v4(unsigned a, unsigned b, unsigned c, unsigned d, uint16_t port)
{
	ab_addr_t x;
	uint8_t ip[4] = {(uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d};
	uint32_t be;

	memcpy(&be, ip, 4);
	pex_addr_from_v4(&x, be, port);
	return x;
}

#define MAXD 4096

/* What the fake transport was asked: every dial with its virtual time. */
typedef struct rec {
	ab_addr_t dial[MAXD];
	mb_kind_t kind[MAXD];
	uint64_t at[MAXD];
	int ndial;
	uint64_t now;
} rec_t;

static int f_connect(void *arg, const ab_addr_t *a, const uint8_t *pk, mb_kind_t kind)
{
	rec_t *r = arg;

	(void)pk;
	assert_true(r->ndial < MAXD);
	r->dial[r->ndial] = *a;
	r->kind[r->ndial] = kind;
	r->at[r->ndial++] = r->now;
	return 0;
}

static int f_send(void *arg, uint64_t peer, uint8_t type, const uint8_t *payload, size_t len)
{
	(void)arg, (void)peer, (void)type, (void)payload, (void)len;
	return 0;
}

static int f_disconnect(void *arg, uint64_t peer)
{
	(void)arg, (void)peer;
	return 0;
}

static void f_anchors(void *arg)
{
	(void)arg;
}

typedef struct fix {
	rec_t r;
	ab_t *book;
	mb_t *m;
	uint64_t rs;
} fix_t;

/* fix_new: a policy with outbound target `target` over a book of `naddr`
 * new addresses, each in its own /16 (10.g.h.1). */
static fix_t *fix_new(uint32_t target, int naddr)
{
	fix_t *f = calloc(1, sizeof(*f));
	ab_config_t ac = {.rand = xrand, .rand_arg = &f->rs, .netgroup = CH_NETGROUP_PREFIX};
	mb_config_t c = {.target = target,
	                 .netgroup = CH_NETGROUP_PREFIX,
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
	ab_addr_t src = v4(20, 1, 0, 1, 1);

	assert_non_null(f);
	f->rs = 42;
	f->r.now = 1000 * S;
	c.self[0] = v4(30, 1, 0, 1, 7000);
	memset(c.self_pk, 0xee, 32);
	f->book = ab_new(&ac);
	assert_non_null(f->book);
	for (int i = 0; i < naddr; i++) {
		ab_addr_t a = v4(10 + (unsigned)i / 200, (unsigned)i % 200, 0, 1, 7000);

		ab_add(f->book, &a, &src, NOW, NOW, NULL);
	}
	f->m = mb_new(&c, f->book, &io);
	assert_non_null(f->m);
	mb_sync_asked(f->m, f->r.now);
	mb_sync_begin(f->m);
	mb_sync_end(f->m, f->r.now, NOW);
	return f;
}

static void fix_free(fix_t *f)
{
	mb_destroy(&f->m);
	ab_destroy(&f->book);
	free(f);
}

static uint64_t wall(const fix_t *f)
{
	return NOW + (f->r.now - 1000 * S) / 1000000;
}

/* A book of 1000 dead addresses and a target of 64: every dial fails at
 * once, so only the bucket can hold the dialing back.  Over 60 virtual
 * seconds in ticks of 50 ms, in every window [t_i, t_j] of ticks the dials
 * are at most MB_DIAL_BURST + MB_DIAL_RATE * (t_j - t_i); and the bucket is
 * used (the burst at once, then the rate), so the bound is the one that
 * holds them back. */
static void test_dial_pacing(void **state)
{
	enum { TICKS = 1200 };
	fix_t *f = fix_new(64, 1000);
	static int upto[TICKS + 1]; /* dials made before tick i */
	static uint64_t tick_at[TICKS];
	uint64_t t0 = f->r.now;

	(void)state;
	for (int i = 0; i < TICKS; i++) {
		upto[i] = f->r.ndial;
		tick_at[i] = f->r.now;
		int before = f->r.ndial;

		mb_tick(f->m, f->r.now, wall(f));
		for (int k = before; k < f->r.ndial; k++)
			mb_on_failed(f->m, &f->r.dial[k], "connect failed: Connection refused",
			             f->r.now, wall(f));
		f->r.now += S / 20;
	}
	upto[TICKS] = f->r.ndial;
	/* the burst at once */
	assert_int_equal(upto[1], (int)MB_DIAL_BURST);
	for (int i = 0; i < TICKS; i++)
		for (int j = i; j < TICKS; j++) {
			double secs = (double)(tick_at[j] - tick_at[i]) / S;
			int n = upto[j + 1] - upto[i];

			if (n > MB_DIAL_BURST + MB_DIAL_RATE * secs + 1e-6)
				fail_msg("%d dials in %.2f s (ticks %d..%d)", n, secs, i, j);
		}
	/* and no slower than the bucket either: it is what paces them */
	double total = (double)(tick_at[TICKS - 1] - t0) / S;

	assert_true(f->r.ndial >= (int)(MB_DIAL_BURST + MB_DIAL_RATE * total) - 2);
	print_message("%d dials in %.0f s (bucket: %.0f + %.0f/s)\n", f->r.ndial, total,
	              MB_DIAL_BURST, MB_DIAL_RATE);
	fix_free(f);
}

/* connect_all: every dial since `from` that is not a feeler connects (its
 * kind as asked); feelers succeed as transport reports them (feeler_ok). */
static int connect_all(fix_t *f, int from, uint64_t *handle)
{
	int feelers = 0;

	for (int k = from; k < f->r.ndial; k++) {
		if (f->r.kind[k] == MB_FEELER) {
			mb_on_feeler_ok(f->m, &f->r.dial[k], NULL, wall(f));
			feelers++;
			continue;
		}
		mb_peer_info_t p = {.handle = ++*handle,
		                    .addr = f->r.dial[k],
		                    .kind = f->r.kind[k],
		                    .listen_port = 7000,
		                    .has_pk = true};

		memset(p.pk, (int)*handle, 32);
		mb_on_connected(f->m, &p, f->r.now, wall(f));
	}
	return feelers;
}

/* run: ticks every second for secs seconds, connecting what is dialed;
 * records the times of the feelers into at[] (returns how many). */
static int run(fix_t *f, int secs, uint64_t *handle, uint64_t *at, int cap)
{
	int n = 0;

	for (int i = 0; i < secs; i++) {
		int before = f->r.ndial;

		mb_tick(f->m, f->r.now, wall(f));
		for (int k = before; k < f->r.ndial; k++)
			if (f->r.kind[k] == MB_FEELER && n < cap)
				at[n++] = f->r.now;
		connect_all(f, before, handle);
		f->r.now += S;
	}
	return n;
}

static void test_feelers(void **state)
{
	uint64_t handle = 0, at[64];
	fix_t *f = fix_new(2, 100);

	(void)state;
	/* below the target (every dial left pending, then failed): no feeler */
	for (int i = 0; i < 120; i++) {
		int before = f->r.ndial;

		mb_tick(f->m, f->r.now, wall(f));
		for (int k = before; k < f->r.ndial; k++) {
			assert_int_not_equal(f->r.kind[k], MB_FEELER);
			mb_on_failed(f->m, &f->r.dial[k], "connect failed: Connection refused",
			             f->r.now, wall(f));
		}
		f->r.now += S;
	}
	/* the target met, new addresses in the book: a feeler every 24..36 s */
	int n = run(f, 600, &handle, at, 64);

	assert_true(mb_outbound(f->m) >= 2);
	assert_true(n >= 600 / 36 - 1);
	assert_true(n <= 600 / 24 + 1);
	for (int i = 1; i < n; i++) {
		uint64_t gap = at[i] - at[i - 1];

		/* +-20 % of MB_FEELER_NS, seen on ticks of 1 s */
		if (gap < MB_FEELER_NS - MB_FEELER_NS / 5 ||
		    gap > MB_FEELER_NS + MB_FEELER_NS / 5 + S)
			fail_msg("feelers %.1f s apart", (double)gap / S);
	}
	assert_int_equal(mb_stats(f->m)->feelers, (uint64_t)n);
	print_message("%d feelers in 600 s\n", n);
	fix_free(f);

	/* a book whose every address is tried (nothing new to test): none */
	f = fix_new(2, 4);
	n = run(f, 40, &handle, at, 64); /* dials: 2 outbound, 2 block-relay */
	assert_int_equal(ab_count(f->book, AB_NEW), 0);
	n = run(f, 300, &handle, at, 64);
	assert_int_equal(n, 0);
	fix_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dial_pacing),
	    cmocka_unit_test(test_feelers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
