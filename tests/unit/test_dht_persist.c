/* test_dht_persist.c: the DHT state file (services/discovery/persist.c)
 * read from hand-made files: an own item listed twice among others keeps
 * one entry and every own entry is republished soon after the load; a
 * stored item whose saved expiry lies far in the future lives no longer
 * than a fresh put; a file with more values than a saved state can hold
 * is refused whole (the token array is bounded by what a state holds, not
 * by the file's length). */
#include <arpa/inet.h>
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
#include "services/discovery/bencode.h"
#include "services/discovery/dht.h"

#define S      (1000000000ull)
#define NOW    (5000 * S)
#define WALL   1700000000000ull /* ms */
#define SPREAD (30 * S)         /* own items are republished within this after a load */

static int no_send(void *arg, const uint8_t *pkt, size_t len, const dht_addr_t *to)
{
	return 0;
}

static dht_t *core(void)
{
	dht_config_t c;
	dht_config_default(&c);
	memset(c.id, 0x33, sizeof(c.id));
	c.send = no_send;
	dht_t *d = dht_new(&c, NOW);
	assert_non_null(d);
	return d;
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* an immutable item's dict as the state file has it */
static void imm_item(ben_w_t *w, const char *v, uint32_t src, int64_t exp_ms)
{
	uint8_t t[DHT_ID_LEN];
	dht_item_target(false, NULL, NULL, 0, (const uint8_t *)v, strlen(v), t);
	ben_w_dict(w);
	if (exp_ms >= 0) {
		ben_w_cstr(w, "exp");
		ben_w_int(w, exp_ms);
	}
	ben_w_cstr(w, "mut");
	ben_w_int(w, 0);
	if (src) {
		ben_w_cstr(w, "src");
		ben_w_str(w, &src, 4);
	}
	ben_w_cstr(w, "t");
	ben_w_str(w, t, DHT_ID_LEN);
	ben_w_cstr(w, "v");
	ben_w_cstr(w, v);
	ben_w_end(w);
}

static void test_own_repeated(void **state)
{
	char path[] = "/tmp/chorus-dht-persist-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	uint8_t buf[4096];
	ben_w_t w;
	ben_w_init(&w, buf, sizeof(buf));
	ben_w_dict(&w);
	ben_w_cstr(&w, "own");
	ben_w_list(&w);
	imm_item(&w, "5:first", 0, -1);
	imm_item(&w, "6:second", 0, -1);
	imm_item(&w, "5:first", 0, -1); /* the same target again */
	ben_w_end(&w);
	ben_w_cstr(&w, "ver");
	ben_w_int(&w, 1);
	ben_w_end(&w);
	assert_false(w.overflow);
	write_file(path, buf, w.len);

	dht_t *d = core();
	assert_int_equal(dht_load(d, path, NOW, WALL), 0);
	assert_int_equal(dht_own_count(d), 2);
	/* each entry, the repeated one included, is due within the spread */
	for (uint32_t i = 0; i < dht_own_count(d); i++) {
		const dht_own_t *o = dht_own_at(d, i);
		assert_true(o->next_publish >= NOW && o->next_publish < NOW + SPREAD);
	}
	dht_destroy(&d);
	unlink(path);
}

static void test_far_expiry(void **state)
{
	char path[] = "/tmp/chorus-dht-persist-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	uint8_t buf[4096];
	ben_w_t w;
	ben_w_init(&w, buf, sizeof(buf));
	ben_w_dict(&w);
	ben_w_cstr(&w, "items");
	ben_w_list(&w);
	imm_item(&w, "4:long", htonl(0x0a000002), INT64_MAX);
	ben_w_end(&w);
	ben_w_cstr(&w, "ver");
	ben_w_int(&w, 1);
	ben_w_end(&w);
	assert_false(w.overflow);
	write_file(path, buf, w.len);

	dht_t *d = core();
	assert_int_equal(dht_load(d, path, NOW, WALL), 0);
	uint8_t t[DHT_ID_LEN];
	dht_item_target(false, NULL, NULL, 0, (const uint8_t *)"4:long", 6, t);
	const dht_st_item_t *it = dht_st_item_get(dht_store(d), t, NOW);
	assert_non_null(it);
	assert_true(it->expires > NOW && it->expires <= NOW + ST_ITEM_TTL_NS);
	dht_destroy(&d);
	unlink(path);
}

static void test_too_many_values(void **state)
{
	char path[] = "/tmp/chorus-dht-persist-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	/* a well-formed file whose one extra list holds more values than
	 * any state (all the store's items and own items) has */
	dht_st_limits_t lim;
	dht_st_limits_default(&lim);
	size_t nvals = ((size_t)lim.max_items + DHT_MAX_OWN) * 20 + 100;
	size_t cap = 64 + nvals * 3;
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	ben_w_t w;
	ben_w_init(&w, buf, cap);
	ben_w_dict(&w);
	ben_w_cstr(&w, "pad");
	ben_w_list(&w);
	for (size_t i = 0; i < nvals; i++)
		ben_w_int(&w, 0);
	ben_w_end(&w);
	ben_w_cstr(&w, "ver");
	ben_w_int(&w, 1);
	ben_w_end(&w);
	assert_false(w.overflow);
	write_file(path, buf, w.len);
	free(buf);

	dht_t *d = core();
	assert_int_equal(dht_load(d, path, NOW, WALL), CH_EPROTO);
	assert_int_equal(dht_own_count(d), 0);
	dht_destroy(&d);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_own_repeated),
	    cmocka_unit_test(test_far_expiry),
	    cmocka_unit_test(test_too_many_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
