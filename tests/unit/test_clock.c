/* test_clock.c: clocks, sleeping, ISO formatting, duration parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "clock.h"
#include "err.h"

static void test_monotonic(void **state)
{
	uint64_t prev = ch_mono_ns();

	(void)state;
	assert_true(prev > 0);
	for (int i = 0; i < 100000; i++) {
		uint64_t now = ch_mono_ns();

		assert_true(now >= prev);
		prev = now;
	}
}

static void test_wall(void **state)
{
	uint64_t ms = ch_wall_ms();
	uint64_t us = ch_wall_us();
	time_t t = time(NULL);

	(void)state;
	/* after 2020-01-01 and consistent with time(2) and each other */
	assert_true(ms > 1577836800000ull);
	assert_true(ms / 1000 + 2 >= (uint64_t)t && (uint64_t)t + 2 >= ms / 1000);
	assert_true(us / 1000 + 1000 >= ms && ms + 1000 >= us / 1000);
}

static void test_sleep(void **state)
{
	uint64_t t0, t1;

	(void)state;
	t0 = ch_mono_ns();
	ch_sleep_ns(20 * CH_NS_PER_MS);
	t1 = ch_mono_ns();
	assert_true(t1 - t0 >= 20 * CH_NS_PER_MS);
	assert_true(t1 - t0 < 2000 * CH_NS_PER_MS);
	t0 = ch_mono_ns();
	ch_sleep_ns(0);
	t1 = ch_mono_ns();
	assert_true(t1 - t0 < 100 * CH_NS_PER_MS);
	/* sub-second remainder crossing a second boundary */
	t0 = ch_mono_ns();
	ch_sleep_ns(999 * CH_NS_PER_US);
	assert_true(ch_mono_ns() - t0 >= 999 * CH_NS_PER_US);
}

static void test_format_known(void **state)
{
	static const struct {
		uint64_t ms;
		const char *want;
	} cases[] = {
	    {0, "1970-01-01T00:00:00.000Z"},
	    {1, "1970-01-01T00:00:00.001Z"},
	    {999, "1970-01-01T00:00:00.999Z"},
	    {951782400000ull, "2000-02-29T00:00:00.000Z"},
	    {1234567890123ull, "2009-02-13T23:31:30.123Z"},
	    {1795311300123ull, "2026-11-22T01:35:00.123Z"},
	    {253402300799999ull, "9999-12-31T23:59:59.999Z"},
	};
	char buf[CH_TIME_ISO_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ch_time_format_iso(cases[i].ms, buf, sizeof(buf)), 0);
		assert_string_equal(buf, cases[i].want);
	}
}

/* Cross-check against the C library's strftime for random instants. */
static void test_format_random(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char buf[CH_TIME_ISO_LEN], want[64];

	(void)state;
	for (int i = 0; i < 2000; i++) {
		uint64_t ms;
		time_t t;
		struct tm tm;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ms = x % 253402300800000ull;
		t = (time_t)(ms / 1000);
		assert_non_null(gmtime_r(&t, &tm));
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want + strlen(want), sizeof(want) - strlen(want), ".%03uZ",
		         (unsigned)(ms % 1000));
		assert_int_equal(ch_time_format_iso(ms, buf, sizeof(buf)), 0);
		assert_string_equal(buf, want);
	}
}

static void test_format_errors(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(ch_time_format_iso(0, NULL, 64), CH_EINVAL);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(ch_time_format_iso(0, buf, CH_TIME_ISO_LEN - 1), CH_ERANGE);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(ch_time_format_iso(0, buf, 0), CH_ERANGE);
	/* year 10000 and beyond do not fit */
	assert_int_equal(ch_time_format_iso(253402300800000ull, buf, sizeof(buf)), CH_ERANGE);
	assert_int_equal(ch_time_format_iso(UINT64_MAX, buf, sizeof(buf)), CH_ERANGE);
	/* exactly enough room */
	assert_int_equal(ch_time_format_iso(0, buf, CH_TIME_ISO_LEN), 0);
	assert_int_equal(strlen(buf), CH_TIME_ISO_LEN - 1);
}

static void test_duration_good(void **state)
{
	static const struct {
		const char *s;
		uint64_t ms;
	} cases[] = {
	    {"250ms", 250},
	    {"5s", 5000},
	    {"2m", 120000},
	    {"1h", 3600000},
	    {"1d", 86400000},
	    {"30", 30000},
	    {"0", 0},
	    {"0ms", 0},
	    {"007s", 7000},
	    {"18446744073709551615ms", UINT64_MAX},
	    {"18446744073709551s", 18446744073709551000ull},
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 12345;
		assert_int_equal(ch_duration_parse(cases[i].s, &v), 0);
		assert_true(v == cases[i].ms);
	}
}

static void test_duration_bad(void **state)
{
	static const char *const bad[] = {
	    "",
	    "s",
	    "ms",
	    "-5s",
	    "+5s",
	    " 5s",
	    "5s ",
	    "5 s",
	    "5S",
	    "5sec",
	    "5x",
	    "1.5s",
	    "0x10",
	    "5ss",
	    "5mss",
	    "abc",
	    "1h1m",
	    "18446744073709551616ms",
	    "18446744073709552s",
	    "99999999999999999999999",
	};
	uint64_t v = 777;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ch_duration_parse(bad[i], &v), CH_EINVAL);
		assert_true(v == 777);
	}
	assert_int_equal(ch_duration_parse(NULL, &v), CH_EINVAL);
	assert_int_equal(ch_duration_parse("5s", NULL), CH_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_monotonic),     cmocka_unit_test(test_wall),
	    cmocka_unit_test(test_sleep),         cmocka_unit_test(test_format_known),
	    cmocka_unit_test(test_format_random), cmocka_unit_test(test_format_errors),
	    cmocka_unit_test(test_duration_good), cmocka_unit_test(test_duration_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
