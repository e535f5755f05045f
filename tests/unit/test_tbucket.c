/* test_tbucket.c: the token bucket (common/tbucket.h): starts full, takes
 * while tokens last, refills at its rate up to the burst, ignores a clock
 * that does not advance, takes fractions and large costs, spends what a
 * refill reported; a seeded loop checks that over any run no more is
 * taken than burst + rate * elapsed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tbucket.h"

#define S 1000000000ull

static void test_basics(void **state)
{
	(void)state;
	ch_tbucket_t b;
	ch_tbucket_init(&b, 2.0, 10.0, 5 * S);
	for (int i = 0; i < 10; i++)
		assert_true(ch_tbucket_take(&b, 1, 5 * S));
	assert_false(ch_tbucket_take(&b, 1, 5 * S));         /* empty */
	assert_false(ch_tbucket_take(&b, 1, 5 * S + S / 4)); /* 0.5 accrued */
	assert_true(ch_tbucket_take(&b, 1, 5 * S + S / 2));  /* 1.0 */
	assert_false(ch_tbucket_take(&b, 1, 5 * S + S / 2));
	/* an earlier time adds nothing and does not move the clock back */
	assert_false(ch_tbucket_take(&b, 1, 4 * S));
	assert_true(ch_tbucket_take(&b, 1, 6 * S));
	/* idle for an hour: at most the burst */
	assert_true(ch_tbucket_refill(&b, 3600 * S) == 10.0);
	/* a cost above the burst is never allowed; fractions are */
	assert_false(ch_tbucket_take(&b, 10.5, 3600 * S));
	assert_true(ch_tbucket_take(&b, 0.25, 3600 * S));
	assert_true(ch_tbucket_refill(&b, 3600 * S) == 9.75);
	/* spend: what a refill reported, never below zero */
	ch_tbucket_spend(&b, 9.0);
	assert_true(ch_tbucket_refill(&b, 3600 * S) == 0.75);
	ch_tbucket_spend(&b, 5.0);
	assert_true(ch_tbucket_refill(&b, 3600 * S) == 0.0);
	/* a bucket made at time 0 starts full and stays capped */
	ch_tbucket_init(&b, 0.1, 2.0, 0);
	assert_true(ch_tbucket_refill(&b, 123 * S) == 2.0);
}

/* Over a random run of takes, the total taken never exceeds what the
 * bucket can give: burst + rate * elapsed. */
static void test_bound(void **state)
{
	(void)state;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int run = 0; run < 200; run++) {
		ch_tbucket_t b;
		double rate = 1 + run % 50, burst = 1 + run % 7, taken = 0;
		uint64_t t0 = (uint64_t)run * S, t = t0;
		ch_tbucket_init(&b, rate, burst, t0);
		for (int i = 0; i < 2000; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			t += x % (S / 20);
			double n = (double)(1 + x % 3);
			if (ch_tbucket_take(&b, n, t))
				taken += n;
			assert_true(taken <= burst + rate * (double)(t - t0) / 1e9 + 1e-6);
		}
		assert_true(taken > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basics),
	    cmocka_unit_test(test_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
