/* test_err.c: ch_strerror / ch_errname for every code and out-of-range. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"

static void test_every_code(void **state)
{
	(void)state;
	for (int c = 0; c > -CH_ERR_COUNT; c--) {
		const char *name = ch_errname(c);
		const char *text = ch_strerror(c);

		assert_non_null(name);
		assert_non_null(text);
		assert_true(strncmp(name, "CH_", 3) == 0);
		assert_true(strlen(text) > 0);
		assert_string_not_equal(text, "unknown error");
		assert_string_not_equal(name, "CH_E?");
		/* names and texts are distinct across codes */
		for (int d = c - 1; d > -CH_ERR_COUNT; d--) {
			assert_string_not_equal(name, ch_errname(d));
			assert_string_not_equal(text, ch_strerror(d));
		}
	}
}

static void test_known_values(void **state)
{
	(void)state;
	assert_string_equal(ch_errname(CH_OK), "CH_OK");
	assert_string_equal(ch_strerror(CH_OK), "success");
	assert_string_equal(ch_errname(CH_EINVAL), "CH_EINVAL");
	assert_string_equal(ch_errname(CH_EPROTO), "CH_EPROTO");
	assert_string_equal(ch_errname(CH_ECRYPTO), "CH_ECRYPTO");
	assert_string_equal(ch_errname(CH_EUNKNOWN), "CH_EUNKNOWN");
	assert_string_equal(ch_strerror(CH_ENOENT), "not found");
	/* the last code is the one before CH_ERR_COUNT */
	assert_int_equal(CH_EUNKNOWN, -(CH_ERR_COUNT - 1));
}

static void test_out_of_range(void **state)
{
	static const int bad[] = {1,     2,      100, INT_MAX, -CH_ERR_COUNT, -CH_ERR_COUNT - 1,
	                          -1000, INT_MIN};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_string_equal(ch_strerror(bad[i]), "unknown error");
		assert_string_equal(ch_errname(bad[i]), "CH_E?");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_code),
	    cmocka_unit_test(test_known_values),
	    cmocka_unit_test(test_out_of_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
