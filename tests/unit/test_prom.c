/* test_prom.c: the Prometheus text writer (common/prom.h) and the latency
 * histogram (common/histo.h): HELP and TYPE lines, label values escaped
 * (backslash, quote, newline), HELP text escaped, values written in their
 * shortest exact form (integers without a fraction, NaN and infinities as
 * the format spells them), and every observation in the first bucket whose
 * bound holds it, bounds inclusive. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "histo.h"
#include "prom.h"

static void test_family(void **state)
{
	(void)state;
	prom_t p = {0};
	prom_family(&p, "chorus_x_total", "counter", "a \\ b\nc");
	prom_u64(&p, "chorus_x_total", NULL, 42);
	prom_u64(&p, "chorus_x_total",
	         &(prom_labels_t){.name = {"a", "b"}, .value = {"q\"uo\\te", "line\nbreak"}}, 7);
	assert_true(prom_ok(&p));
	assert_string_equal(p.buf, "# HELP chorus_x_total a \\\\ b\\nc\n"
	                           "# TYPE chorus_x_total counter\n"
	                           "chorus_x_total 42\n"
	                           "chorus_x_total{a=\"q\\\"uo\\\\te\",b=\"line\\nbreak\"} 7\n");
	assert_int_equal(p.len, strlen(p.buf));
	prom_free(&p);
	assert_null(p.buf);
}

static void test_values(void **state)
{
	(void)state;
	prom_t p = {0};
	prom_f64(&p, "a", NULL, 3.0);
	prom_f64(&p, "b", NULL, 0.1);
	prom_f64(&p, "c", NULL, 0.03);
	prom_f64(&p, "d", NULL, 9007199254740992.0);
	prom_f64(&p, "e", NULL, NAN);
	prom_f64(&p, "f", NULL, INFINITY);
	prom_f64(&p, "g", NULL, -INFINITY);
	prom_f64(&p, "h", NULL, 1.0 / 3.0);
	assert_string_equal(p.buf, "a 3\nb 0.1\nc 0.03\nd 9007199254740992\ne NaN\nf +Inf\n"
	                           "g -Inf\nh 0.33333333333333331\n");
	/* every value reads back exactly */
	assert_true(strtod(strstr(p.buf, "h ") + 2, NULL) == 1.0 / 3.0);
	prom_free(&p);
}

static void test_grows(void **state)
{
	(void)state;
	prom_t p = {0};
	for (int i = 0; i < 10000; i++)
		prom_u64(&p, "chorus_many", &(prom_labels_t){.name = {"i"}, .value = {"x"}}, i);
	assert_true(prom_ok(&p));
	assert_non_null(strstr(p.buf, "chorus_many{i=\"x\"} 9999\n"));
	prom_free(&p);
}

static void test_histo(void **state)
{
	(void)state;
	ch_histo_t h = {0};
	for (int i = 1; i < CH_HISTO_NB; i++)
		assert_true(ch_histo_bounds_ns[i] > ch_histo_bounds_ns[i - 1]);
	ch_histo_add(&h, 0);
	ch_histo_add(&h, ch_histo_bounds_ns[0]);     /* inclusive: bucket 0 */
	ch_histo_add(&h, ch_histo_bounds_ns[0] + 1); /* bucket 1 */
	ch_histo_add(&h, ch_histo_bounds_ns[CH_HISTO_NB - 1]);
	ch_histo_add(&h, ch_histo_bounds_ns[CH_HISTO_NB - 1] + 1); /* overflow */
	ch_histo_add(&h, UINT64_MAX / 4);
	assert_int_equal(h.bucket[0], 2);
	assert_int_equal(h.bucket[1], 1);
	assert_int_equal(h.bucket[CH_HISTO_NB - 1], 1);
	assert_int_equal(h.bucket[CH_HISTO_NB], 2);
	assert_int_equal(h.count, 6);
	uint64_t sum = 0;
	for (int i = 0; i <= CH_HISTO_NB; i++)
		sum += h.bucket[i];
	assert_int_equal(sum, h.count);
	assert_int_equal(h.sum_ns, 2 * ch_histo_bounds_ns[0] + 1 +
	                               2 * ch_histo_bounds_ns[CH_HISTO_NB - 1] + 1 +
	                               UINT64_MAX / 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_family),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_grows),
	    cmocka_unit_test(test_histo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
