/* test_addrbook.c: the address book (services/discovery/addrbook.h):
 * addresses and groups, the bound one source group puts on the new table
 * (the flood case), new -> tried on success, test-before-evict on tried
 * collisions, terrible entries, selection with filters, sampling, the
 * file (round trip, truncated, bad checksum, bad magic, wrong version,
 * missing, non-empty book), and a seeded random loop checking the
 * invariants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "services/discovery/addrbook.h"

#define NOW (1700000000000ull) /* wall ms */
#define MIN (60ull * 1000)

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

static uint64_t seed_state;

/* book_new: a book with repeatable randomness, grouping loopback addresses
 * by the public-internet rule (/16) so 127.x.y.z model public groups. */
static ab_t *book_new(uint64_t seed)
{
	ab_config_t c = {.rand = xrand, .rand_arg = &seed_state, .netgroup = CH_NETGROUP_PREFIX};

	seed_state = seed;
	return ab_new(&c);
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

/* Parsing, printing, validity and groups of addresses. */
static void test_addresses(void **state)
{
	ab_addr_t a, b;
	ab_group_t g;
	char s[AB_ADDR_STR_MAX], gs[AB_GROUP_STR_MAX];

	(void)state;
	assert_int_equal(ab_addr_parse("127.10.0.1:7433", &a), 0);
	assert_string_equal(ab_addr_str(&a, s, sizeof(s)), "127.10.0.1:7433");
	assert_true(pex_addr_is_v4(&a, NULL));
	ab_group_of(&a, CH_NETGROUP_PREFIX, &g);
	assert_string_equal(ab_group_str(&g, gs, sizeof(gs)), "127.10");
	ab_group_of(&a, CH_NETGROUP_AUTO, &g); /* loopback: address and port */
	assert_string_equal(ab_group_str(&g, gs, sizeof(gs)), "127.10.0.1:7433");
	assert_int_equal(ab_addr_parse("[2001:db8::1]:9", &b), 0);
	assert_false(pex_addr_is_v4(&b, NULL));
	assert_string_equal(ab_addr_str(&b, s, sizeof(s)), "[2001:db8::1]:9");
	ab_group_of(&b, CH_NETGROUP_AUTO, &g); /* public: the /32 */
	assert_string_equal(ab_group_str(&g, gs, sizeof(gs)), "2001:db8");
	assert_false(ab_addr_eq(&a, &b));
	/* refused */
	const char *bad[] = {"",    "1.2.3.4", "1.2.3.4:",   "1.2.3.4:0", "1.2.3.4:65536",
	                     "x:1", "[::1:5",  "1.2.3.4:5x", ":5",        "[]:5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ab_addr_parse(bad[i], &a), CH_EINVAL);
	assert_int_equal(ab_addr_parse(NULL, &a), CH_EINVAL);
	/* validity: unspecified, multicast, broadcast, port 0 */
	assert_false(ab_addr_valid(&(ab_addr_t){0}));
	a = v4(0, 1, 2, 3, 5);
	assert_false(ab_addr_valid(&a));
	a = v4(224, 0, 0, 1, 5);
	assert_false(ab_addr_valid(&a));
	a = v4(255, 255, 255, 255, 5);
	assert_false(ab_addr_valid(&a));
	a = v4(10, 0, 0, 1, 0);
	assert_false(ab_addr_valid(&a));
	a = v4(10, 0, 0, 1, 1);
	assert_true(ab_addr_valid(&a));
	assert_int_equal(ab_addr_parse("[ff02::1]:5", &a), 0);
	assert_false(ab_addr_valid(&a));
}

/* One source floods addresses of one group: a single bucket holds them. */
static void test_flood_one_group(void **state)
{
	ab_t *b = book_new(1);
	ab_addr_t src = v4(127, 66, 0, 1, 7000);
	size_t n;

	(void)state;
	for (unsigned i = 0; i < 5000; i++) {
		ab_addr_t a = v4(127, 99, i / 250, i % 250 + 1, 2);

		assert_int_equal(ab_add(b, &a, &src, NOW, NOW, NULL), 0);
	}
	n = ab_count(b, AB_NEW);
	assert_true(n > 0 && n <= AB_BUCKET_SIZE);
	/* more floods from the same source group change nothing */
	for (unsigned i = 0; i < 5000; i++) {
		ab_addr_t a = v4(127, 99, 20 + i / 250, i % 250 + 1, 3);
		ab_addr_t s2 = v4(127, 66, 5, 5, 7000); /* same /16 as src */

		ab_add(b, &a, &s2, NOW, NOW, NULL);
	}
	assert_true(ab_count(b, AB_NEW) <= AB_BUCKET_SIZE);
	/* one source group spreading over many groups reaches at most
	 * AB_NEW_BUCKETS_PER_SRC buckets */
	for (unsigned i = 0; i < 20000; i++) {
		ab_addr_t a = v4(10, i % 250, i / 250, 1, 9);

		ab_add(b, &a, &src, NOW, NOW, NULL);
	}
	assert_true(ab_count(b, AB_NEW) <= (size_t)AB_NEW_BUCKETS_PER_SRC * AB_BUCKET_SIZE);
	/* an honest address from another source still gets in */
	ab_addr_t h = v4(127, 110, 0, 1, 7433), hs = v4(127, 111, 0, 1, 7433);
	bool added = false;
	assert_int_equal(ab_add(b, &h, &hs, NOW, NOW, &added), 0);
	assert_true(added);
	assert_non_null(ab_find(b, &h));
	/* invalid arguments */
	ab_addr_t z = {0};
	assert_int_equal(ab_add(b, &z, &src, NOW, NOW, NULL), CH_EINVAL);
	assert_int_equal(ab_add(b, &h, &z, NOW, NOW, NULL), CH_EINVAL);
	assert_int_equal(ab_add(NULL, &h, &src, NOW, NOW, NULL), CH_EINVAL);
	ab_destroy(&b);
	assert_null(b);
	ab_destroy(&b); /* twice is fine */
}

/* Success moves an address to tried; failures count; terrible entries. */
static void test_good_attempt_terrible(void **state)
{
	ab_t *b = book_new(2);
	ab_addr_t a = v4(127, 20, 0, 1, 1000), src = v4(127, 21, 0, 1, 1000);
	const ab_entry_t *e;
	uint8_t pk[32];

	(void)state;
	memset(pk, 7, sizeof(pk));
	assert_int_equal(ab_add(b, &a, &src, NOW, NOW, NULL), 0);
	assert_int_equal(ab_count(b, AB_NEW), 1);
	assert_int_equal(ab_attempt(b, &a, NOW + 1), 0);
	e = ab_find(b, &a);
	assert_int_equal(e->attempts, 1);
	assert_true(ab_chance(e, NOW + 2) < 0.01);      /* tried in the last 10 min */
	assert_false(ab_is_terrible(e, NOW + 2));       /* tried in the last minute */
	assert_false(ab_is_terrible(e, NOW + 2 * MIN)); /* one failure is fine */
	ab_attempt(b, &a, NOW + 3 * MIN);
	ab_attempt(b, &a, NOW + 4 * MIN);
	assert_true(
	    ab_is_terrible(ab_find(b, &a), NOW + 6 * MIN)); /* 3 failures, never a success */
	assert_int_equal(ab_good(b, &a, pk, NOW + 7 * MIN), 0);
	e = ab_find(b, &a);
	assert_true(e->tried);
	assert_int_equal(e->attempts, 0);
	assert_true(e->has_pk);
	assert_memory_equal(e->pk, pk, 32);
	assert_int_equal(ab_count(b, AB_NEW), 0);
	assert_int_equal(ab_count(b, AB_TRIED), 1);
	/* a success for an address never heard of adds it straight to tried */
	ab_addr_t c = v4(127, 22, 0, 1, 1000);
	assert_int_equal(ab_good(b, &c, NULL, NOW), 0);
	assert_true(ab_find(b, &c)->tried);
	/* old and unheard-of entries are terrible */
	ab_addr_t d = v4(127, 23, 0, 1, 1000);
	ab_add(b, &d, &src, NOW, NOW, NULL);
	assert_true(ab_is_terrible(ab_find(b, &d), NOW + AB_HORIZON_MS + 1));
	/* unknown addresses */
	ab_addr_t u = v4(127, 24, 0, 1, 1000);
	assert_int_equal(ab_attempt(b, &u, NOW), CH_ENOENT);
	assert_int_equal(ab_remove(b, &u), CH_ENOENT);
	assert_null(ab_find(b, &u));
	/* remove */
	assert_int_equal(ab_remove(b, &a), 0);
	assert_null(ab_find(b, &a));
	assert_int_equal(ab_count(b, AB_TRIED), 1);
	ab_destroy(&b);
}

/* fill_tried_until_collision: successes in one group until one collides
 * (one group reaches 8 tried buckets: 512 slots, so it comes soon). */
static ab_addr_t fill_tried_until_collision(ab_t *b, uint64_t when)
{
	for (unsigned i = 0; i < 4000; i++) {
		ab_addr_t a = v4(127, 30, i / 200, i % 200 + 1, 4000);

		ab_add(b, &a, &a, when, when, NULL);
		ab_good(b, &a, NULL, when);
		if (ab_collisions(b) > 0)
			return a;
	}
	fail_msg("no tried collision in 4000 addresses");
	return (ab_addr_t){0};
}

/* Test-before-evict: an occupant that answers keeps its slot. */
static void test_collision_keeps_working_occupant(void **state)
{
	ab_t *b = book_new(3);
	ab_addr_t newer = fill_tried_until_collision(b, NOW);
	const ab_entry_t *occ = ab_collision_to_test(b);
	ab_addr_t occ_addr;

	(void)state;
	assert_non_null(occ);
	occ_addr = occ->addr;
	assert_false(ab_find(b, &newer)->tried); /* deferred, still new */
	/* the feeler to the occupant succeeds */
	ab_good(b, &occ_addr, NULL, NOW + MIN);
	ab_resolve_collisions(b, NOW + MIN);
	assert_int_equal(ab_collisions(b), 0);
	assert_true(ab_find(b, &occ_addr)->tried);
	assert_false(ab_find(b, &newer)->tried);
	ab_destroy(&b);
}

/* Test-before-evict: an occupant that fails is replaced after a minute. */
static void test_collision_evicts_failed_occupant(void **state)
{
	ab_t *b = book_new(4);
	ab_addr_t newer = fill_tried_until_collision(b, NOW - AB_REPLACEMENT_MS - MIN);
	const ab_entry_t *occ = ab_collision_to_test(b);
	ab_addr_t occ_addr;
	size_t total = ab_count(b, AB_ANY);

	(void)state;
	assert_non_null(occ);
	occ_addr = occ->addr;
	ab_attempt(b, &occ_addr, NOW); /* the feeler failed */
	ab_resolve_collisions(b, NOW + 10 * 1000);
	assert_int_equal(ab_collisions(b), 1); /* within the minute: wait */
	ab_resolve_collisions(b, NOW + 2 * MIN);
	assert_int_equal(ab_collisions(b), 0);
	assert_true(ab_find(b, &newer)->tried);
	assert_non_null(ab_find(b, &occ_addr));
	assert_false(ab_find(b, &occ_addr)->tried); /* back to new */
	assert_int_equal(ab_count(b, AB_ANY), total);
	ab_destroy(&b);
}

/* A collision nobody resolves in AB_TEST_WINDOW_MS evicts anyway. */
static void test_collision_window(void **state)
{
	ab_t *b = book_new(5);
	ab_addr_t newer = fill_tried_until_collision(b, NOW - AB_REPLACEMENT_MS - MIN);

	(void)state;
	ab_good(b, &newer, NULL, NOW); /* it keeps working; the occupant is never tested */
	ab_resolve_collisions(b, NOW);
	assert_int_equal(ab_collisions(b), 1);
	ab_resolve_collisions(b, NOW + AB_TEST_WINDOW_MS + MIN);
	assert_int_equal(ab_collisions(b), 0);
	assert_true(ab_find(b, &newer)->tried);
	ab_destroy(&b);
}

/* only_group_40 / none: filters for ab_select and ab_sample. */
static bool only_group_40(void *arg, const ab_entry_t *e)
{
	(void)arg;
	return e->addr.ip[13] == 40;
}

static bool none(void *arg, const ab_entry_t *e)
{
	(void)arg;
	(void)e;
	return false;
}

/* Selection honours filters; samples are distinct and bounded. */
static void test_select_and_sample(void **state)
{
	ab_t *b = book_new(6);
	const ab_entry_t *out[50];
	size_t n;

	(void)state;
	assert_null(ab_select(b, AB_ANY, NULL, NULL, NOW));
	for (unsigned g = 40; g < 60; g++)
		for (unsigned i = 1; i <= 5; i++) {
			ab_addr_t a = v4(127, g, 0, i, 5000), s = v4(127, g + 100, 0, 1, 1);

			ab_add(b, &a, &s, NOW, NOW, NULL);
		}
	for (int k = 0; k < 100; k++) {
		const ab_entry_t *e = ab_select(b, AB_ANY, only_group_40, NULL, NOW);

		assert_non_null(e);
		assert_int_equal(e->addr.ip[13], 40);
	}
	assert_null(ab_select(b, AB_ANY, none, NULL, NOW));
	assert_null(ab_select(b, AB_TRIED, NULL, NULL, NOW)); /* tried is empty */
	n = ab_sample(b, NULL, NULL, out, 50);
	assert_int_equal(n, 50);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_ptr_not_equal(out[i], out[j]);
	assert_int_equal(ab_sample(b, only_group_40, NULL, out, 50), 5);
	assert_int_equal(ab_sample(b, NULL, NULL, out, 0), 0);
	ab_destroy(&b);
}

/* path_of / write_bytes / read_bytes: scratch files for the file tests. */
static void path_of(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "/tmp/test_addrbook.%d.%s", (int)getpid(), name);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

static size_t read_bytes(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* The file: round trip, then every way it can be broken. */
static void test_file(void **state)
{
	ab_t *b = book_new(7), *c;
	char path[128], bad[128];
	static uint8_t buf[AB_FILE_MAX];
	size_t len;

	(void)state;
	path_of(path, sizeof(path), "dat");
	path_of(bad, sizeof(bad), "bad");
	for (unsigned i = 0; i < 300; i++) {
		ab_addr_t a = v4(127, 50 + i % 30, i / 30, 1, 6000),
		          s = v4(127, 200, 0, i % 7 + 1, 1);

		ab_add(b, &a, &s, NOW, NOW, NULL);
		if (i % 3 == 0)
			ab_good(b, &a, NULL, NOW);
		if (i % 5 == 0)
			ab_attempt(b, &a, NOW);
	}
	assert_true(ab_dirty(b));
	assert_int_equal(ab_save(b, path), 0);
	assert_false(ab_dirty(b));
	c = book_new(99); /* another key: the file's replaces it */
	assert_int_equal(ab_load(c, path, NOW), 0);
	assert_int_equal(ab_count(c, AB_NEW), ab_count(b, AB_NEW));
	assert_int_equal(ab_count(c, AB_TRIED), ab_count(b, AB_TRIED));
	for (unsigned i = 0; i < 300; i++) {
		ab_addr_t a = v4(127, 50 + i % 30, i / 30, 1, 6000);
		const ab_entry_t *x = ab_find(b, &a), *y = ab_find(c, &a);

		assert_true((x == NULL) == (y == NULL));
		if (x == NULL)
			continue;
		assert_int_equal(x->tried, y->tried);
		assert_int_equal(x->attempts, y->attempts);
		assert_int_equal(x->success_ms, y->success_ms);
	}
	/* loading into a book that has entries is refused */
	assert_int_equal(ab_load(c, path, NOW), CH_EINVAL);
	ab_destroy(&c);
	/* missing */
	c = book_new(8);
	assert_int_equal(ab_load(c, "/nonexistent/addrbook.dat", NOW), CH_ENOENT);
	/* truncated, bad checksum, bad magic, wrong version: CH_EPROTO, empty */
	len = read_bytes(path, buf, sizeof(buf));
	write_bytes(bad, buf, len - 1);
	assert_int_equal(ab_load(c, bad, NOW), CH_EPROTO);
	buf[len / 2] ^= 1;
	write_bytes(bad, buf, len);
	assert_int_equal(ab_load(c, bad, NOW), CH_EPROTO);
	buf[len / 2] ^= 1;
	buf[0] = 'X';
	write_bytes(bad, buf, len);
	assert_int_equal(ab_load(c, bad, NOW), CH_EPROTO);
	buf[0] = 'C';
	buf[4] = 9;
	write_bytes(bad, buf, len);
	assert_int_equal(ab_load(c, bad, NOW), CH_EPROTO);
	write_bytes(bad, "", 0);
	assert_int_equal(ab_load(c, bad, NOW), CH_EPROTO);
	assert_int_equal(ab_count(c, AB_ANY), 0);
	unlink(path);
	unlink(bad);
	ab_destroy(&c);
	ab_destroy(&b);
}

typedef struct inv {
	size_t n, nnew, ntried;
	const ab_t *b;
} inv_t;

/* check_entry: one entry against the invariants of the tables. */
static void check_entry(void *arg, const ab_entry_t *e)
{
	inv_t *v = arg;

	v->n++;
	if (e->tried) {
		v->ntried++;
		assert_int_equal(e->refs, 0);
	} else {
		v->nnew++;
		assert_true(e->refs >= 1 && e->refs <= AB_NEW_REFS_MAX);
	}
	assert_ptr_equal(ab_find(v->b, &e->addr), e);
}

/* Random operations; the tables and the entries must always agree. */
static void test_random_loop(void **state)
{
	uint64_t r = 0x1234567;
	ab_t *b = book_new(10);

	(void)state;
	for (int step = 0; step < 60000; step++) {
		uint64_t x;
		ab_addr_t a, s;
		uint64_t now = NOW + (uint64_t)step * 1000;

		xrand(&r, &x, sizeof(x));
		a = v4(127, (unsigned)(x >> 8) % 40, (unsigned)(x >> 16) % 8,
		       (unsigned)(x >> 24) % 50 + 1, (uint16_t)(1000 + (x >> 32) % 3));
		s = v4(127, 100 + (unsigned)(x >> 40) % 30, 0, 1, 1);
		switch (x % 8) {
		case 0:
		case 1:
		case 2:
			ab_add(b, &a, &s, now, now, NULL);
			break;
		case 3:
			ab_good(b, &a, NULL, now);
			break;
		case 4:
			ab_attempt(b, &a, now);
			break;
		case 5:
			ab_remove(b, &a);
			break;
		case 6:
			ab_select(b, (ab_table_t)((x >> 50) % 3), NULL, NULL, now);
			break;
		default:
			ab_resolve_collisions(b, now);
			break;
		}
		if (step % 5000 == 0 || step == 59999) {
			inv_t v = {.b = b};

			ab_foreach(b, check_entry, &v);
			assert_int_equal(v.nnew, ab_count(b, AB_NEW));
			assert_int_equal(v.ntried, ab_count(b, AB_TRIED));
			assert_true(v.n <= AB_MAX_ENTRIES);
			assert_true(ab_collisions(b) <= AB_COLLISIONS_MAX);
		}
	}
	ab_destroy(&b);
}

/* Pinned sizes and NULL handling. */
static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(sizeof(((ab_addr_t *)0)->ip), 16);
	assert_int_equal(AB_MAX_ENTRIES, 81920);
	assert_null(ab_find(NULL, NULL));
	assert_int_equal(ab_count(NULL, AB_ANY), 0);
}

/* main: the cmocka group. */
int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_flood_one_group),
	    cmocka_unit_test(test_good_attempt_terrible),
	    cmocka_unit_test(test_collision_keeps_working_occupant),
	    cmocka_unit_test(test_collision_evicts_failed_occupant),
	    cmocka_unit_test(test_collision_window),
	    cmocka_unit_test(test_select_and_sample),
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_random_loop),
	    cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
