/* test_netgroup.c: address classes and the three grouping modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "err.h"
#include "netgroup.h"

/* ip: text (v4 or v6) to the 16-byte form, IPv4 mapped. */
static void ip(const char *s, uint8_t out[16])
{
	struct in_addr a4;

	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, &a4) == 1) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

static const char *group(const char *addr, uint16_t port, ch_netgroup_mode_t mode, char *buf)
{
	uint8_t a[16];
	ch_netgroup_t g;

	ip(addr, a);
	ch_netgroup_of(a, port, mode, &g);
	return ch_netgroup_str(&g, buf, CH_NETGROUP_STR_MAX);
}

static void test_classes(void **state)
{
	static const struct {
		const char *ip;
		ch_addr_class_t cls;
	} cases[] = {
	    {"127.0.0.1", CH_ADDR_LOOPBACK},    {"127.200.3.4", CH_ADDR_LOOPBACK},
	    {"::1", CH_ADDR_LOOPBACK},          {"10.1.2.3", CH_ADDR_PRIVATE},
	    {"172.16.0.1", CH_ADDR_PRIVATE},    {"172.31.255.1", CH_ADDR_PRIVATE},
	    {"172.32.0.1", CH_ADDR_PUBLIC},     {"172.15.0.1", CH_ADDR_PUBLIC},
	    {"192.168.9.9", CH_ADDR_PRIVATE},   {"100.64.0.1", CH_ADDR_PRIVATE},
	    {"100.127.255.1", CH_ADDR_PRIVATE}, {"100.128.0.1", CH_ADDR_PUBLIC},
	    {"169.254.1.1", CH_ADDR_PRIVATE},   {"fd00::5", CH_ADDR_PRIVATE},
	    {"fc12::1", CH_ADDR_PRIVATE},       {"fe80::1", CH_ADDR_PRIVATE},
	    {"8.8.8.8", CH_ADDR_PUBLIC},        {"2001:db8::1", CH_ADDR_PUBLIC},
	};
	uint8_t a[16];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ip(cases[i].ip, a);
		assert_int_equal(ch_addr_class(a), cases[i].cls);
	}
}

static void test_modes(void **state)
{
	char b[CH_NETGROUP_STR_MAX];

	(void)state;
	/* public: /16 and /32 under auto and prefix, the address under address */
	assert_string_equal(group("8.8.4.4", 1, CH_NETGROUP_AUTO, b), "8.8");
	assert_string_equal(group("8.8.4.4", 1, CH_NETGROUP_PREFIX, b), "8.8");
	assert_string_equal(group("8.8.4.4", 1, CH_NETGROUP_ADDRESS, b), "8.8.4.4");
	assert_string_equal(group("2001:db8:1::1", 1, CH_NETGROUP_AUTO, b), "2001:db8");
	assert_string_equal(group("2001:db8:1::1", 1, CH_NETGROUP_ADDRESS, b), "2001:db8:1::1");
	/* private: the address under auto */
	assert_string_equal(group("10.0.0.7", 7433, CH_NETGROUP_AUTO, b), "10.0.0.7");
	assert_string_equal(group("10.0.0.7", 7433, CH_NETGROUP_PREFIX, b), "10.0");
	assert_string_equal(group("fd00::7", 7433, CH_NETGROUP_AUTO, b), "fd00::7");
	/* loopback: address and port under auto, the address under address */
	assert_string_equal(group("127.0.0.1", 7433, CH_NETGROUP_AUTO, b), "127.0.0.1:7433");
	assert_string_equal(group("::1", 7433, CH_NETGROUP_AUTO, b), "[::1]:7433");
	assert_string_equal(group("127.0.0.1", 7433, CH_NETGROUP_ADDRESS, b), "127.0.0.1");
	assert_string_equal(group("127.0.0.1", 7433, CH_NETGROUP_PREFIX, b), "127.0");
}

/* Equality follows the rules: same /16 under prefix, different under
 * auto for two private hosts; a v4 prefix never equals a v6 one. */
static void test_equality(void **state)
{
	uint8_t a[16], c[16];
	ch_netgroup_t ga, gc;

	(void)state;
	ip("10.0.0.1", a);
	ip("10.0.9.9", c);
	ch_netgroup_of(a, 1, CH_NETGROUP_PREFIX, &ga);
	ch_netgroup_of(c, 2, CH_NETGROUP_PREFIX, &gc);
	assert_true(ch_netgroup_eq(&ga, &gc));
	ch_netgroup_of(a, 1, CH_NETGROUP_AUTO, &ga);
	ch_netgroup_of(c, 1, CH_NETGROUP_AUTO, &gc);
	assert_false(ch_netgroup_eq(&ga, &gc));
	ip("127.0.0.1", a);
	ch_netgroup_of(a, 7000, CH_NETGROUP_AUTO, &ga);
	ch_netgroup_of(a, 7001, CH_NETGROUP_AUTO, &gc);
	assert_false(ch_netgroup_eq(&ga, &gc));
	ch_netgroup_of(a, 7000, CH_NETGROUP_AUTO, &gc);
	assert_true(ch_netgroup_eq(&ga, &gc));
	ip("0a00::", c); /* 0a00::/16 and 10.0/16 share bytes, not a group */
	ip("10.0.0.1", a);
	ch_netgroup_of(a, 1, CH_NETGROUP_PREFIX, &ga);
	ch_netgroup_of(c, 1, CH_NETGROUP_PREFIX, &gc);
	assert_false(ch_netgroup_eq(&ga, &gc));
}

static void test_mode_parse(void **state)
{
	ch_netgroup_mode_t m;

	(void)state;
	assert_int_equal(ch_netgroup_mode_parse("auto", &m), 0);
	assert_int_equal(m, CH_NETGROUP_AUTO);
	assert_int_equal(ch_netgroup_mode_parse("prefix", &m), 0);
	assert_int_equal(m, CH_NETGROUP_PREFIX);
	assert_int_equal(ch_netgroup_mode_parse("address", &m), 0);
	assert_int_equal(m, CH_NETGROUP_ADDRESS);
	assert_int_equal(ch_netgroup_mode_parse("Auto", &m), CH_EINVAL);
	assert_int_equal(ch_netgroup_mode_parse(NULL, &m), CH_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classes),
	    cmocka_unit_test(test_modes),
	    cmocka_unit_test(test_equality),
	    cmocka_unit_test(test_mode_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
