/* test_config.c: every option type good and bad, files (comments, quotes,
 * duplicates, unknown keys), flags, precedence, MULTI lists, error texts,
 * and a seeded randomised loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "err.h"
#include "log.h"

struct settings {
	char name[16];
	int64_t count;
	int64_t any;
	bool flag;
	bool fg;
	uint64_t timeout;
	uint64_t bufsize;
	ch_hostport_t listen;
	ch_cfg_hostports_t seeds;
	ch_cfg_strs_t tags;
	int level;
	char config[128];
	bool help;
};

typedef struct settings S;

static const ch_cfg_opt_t opts[] = {
    {.key = "name", .type = CH_CFG_STR, .def = "main", .help = "a name", CH_CFG_AT(S, name)},
    {.key = "max-count",
     .type = CH_CFG_INT,
     .def = "125",
     .min = 1,
     .max = 4096,
     .help = "a bounded count",
     CH_CFG_AT(S, count)},
    {.key = "any_int", .type = CH_CFG_INT, .help = "unbounded", CH_CFG_AT(S, any)},
    {.key = "flag", .type = CH_CFG_BOOL, .def = "yes", .help = "a bool", CH_CFG_AT(S, flag)},
    {.key = "foreground",
     .type = CH_CFG_BOOL,
     .flags = CH_CFG_NOVALUE,
     .help = "no value needed",
     CH_CFG_AT(S, fg)},
    {.key = "timeout",
     .type = CH_CFG_DURATION,
     .def = "5s",
     .min = 100,
     .max = 3600000,
     .help = "a duration",
     CH_CFG_AT(S, timeout)},
    {.key = "buf-size",
     .type = CH_CFG_SIZE,
     .def = "64k",
     .min = 4096,
     .max = 1 << 30,
     .help = "a size",
     CH_CFG_AT(S, bufsize)},
    {.key = "listen",
     .type = CH_CFG_HOSTPORT,
     .def = ":7433",
     .help = "an endpoint",
     CH_CFG_AT(S, listen)},
    {.key = "seed",
     .type = CH_CFG_HOSTPORT,
     .flags = CH_CFG_MULTI,
     .def = "seed.example:1",
     .help = "repeatable endpoint",
     CH_CFG_AT(S, seeds)},
    {.key = "tag",
     .type = CH_CFG_STR,
     .flags = CH_CFG_MULTI,
     .help = "repeatable string",
     CH_CFG_AT(S, tags)},
    {.key = "log-level",
     .type = CH_CFG_LOGLEVEL,
     .def = "info",
     .help = "a level",
     CH_CFG_AT(S, level)},
    {.key = "config",
     .type = CH_CFG_STR,
     .flags = CH_CFG_ARGONLY,
     .help = "config file",
     CH_CFG_AT(S, config)},
    {.key = "help",
     .type = CH_CFG_BOOL,
     .flags = CH_CFG_NOVALUE | CH_CFG_ARGONLY,
     .help = "print help",
     CH_CFG_AT(S, help)},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ch_test_cfg_XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes text to a file in tmpdir and returns its path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void defaults(S *s)
{
	char err[256];

	memset(s, 0xa5, sizeof(*s));
	assert_int_equal(ch_cfg_defaults(opts, NOPTS, s, err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

/* Parses one flag (--key value) into fresh defaults. */
static int one_flag(S *s, const char *key, const char *val, char *err, size_t cap)
{
	char flag[64];
	char *argv[] = {"prog", flag, (char *)val, NULL};
	int argi = -1;
	int rc;

	defaults(s);
	snprintf(flag, sizeof(flag), "--%s", key);
	rc = ch_cfg_parse_args(opts, NOPTS, s, 3, argv, &argi, err, cap);
	if (rc == 0)
		assert_int_equal(argi, 3);
	return rc;
}

static void test_defaults(void **state)
{
	S s;

	(void)state;
	defaults(&s);
	assert_string_equal(s.name, "main");
	assert_true(s.count == 125);
	assert_true(s.any == 0);
	assert_true(s.flag);
	assert_false(s.fg);
	assert_true(s.timeout == 5000);
	assert_true(s.bufsize == 65536);
	assert_string_equal(s.listen.host, "");
	assert_int_equal(s.listen.port, 7433);
	assert_string_equal(s.listen.str, ":7433");
	assert_int_equal(s.seeds.n, 1);
	assert_string_equal(s.seeds.v[0].host, "seed.example");
	assert_int_equal(s.seeds.v[0].port, 1);
	assert_int_equal(s.tags.n, 0);
	assert_int_equal(s.level, CH_LOG_LEVEL_INFO);
	assert_string_equal(s.config, "");
	assert_false(s.help);
}

static void test_types_good(void **state)
{
	char err[256];
	S s;

	(void)state;
	assert_int_equal(one_flag(&s, "name", "test-net", err, sizeof(err)), 0);
	assert_string_equal(s.name, "test-net");
	assert_int_equal(one_flag(&s, "name", "", err, sizeof(err)), 0);
	assert_string_equal(s.name, "");
	assert_int_equal(one_flag(&s, "name", "123456789012345", err, sizeof(err)), 0);
	assert_int_equal(one_flag(&s, "max-count", "4096", err, sizeof(err)), 0);
	assert_true(s.count == 4096);
	assert_int_equal(one_flag(&s, "max-count", "+1", err, sizeof(err)), 0);
	assert_true(s.count == 1);
	assert_int_equal(one_flag(&s, "any-int", "-9223372036854775808", err, sizeof(err)), 0);
	assert_true(s.any == INT64_MIN);
	assert_int_equal(one_flag(&s, "any_int", "9223372036854775807", err, sizeof(err)), 0);
	assert_true(s.any == INT64_MAX);
	for (int i = 0; i < 8; i++) {
		static const char *const v[] = {"false", "NO",  "off", "0",
		                                "TRUE",  "yes", "On",  "1"};

		assert_int_equal(one_flag(&s, "flag", v[i], err, sizeof(err)), 0);
		assert_int_equal(s.flag, i >= 4);
	}
	assert_int_equal(one_flag(&s, "timeout", "250ms", err, sizeof(err)), 0);
	assert_true(s.timeout == 250);
	assert_int_equal(one_flag(&s, "timeout", "1h", err, sizeof(err)), 0);
	assert_true(s.timeout == 3600000);
	assert_int_equal(one_flag(&s, "timeout", "2", err, sizeof(err)), 0);
	assert_true(s.timeout == 2000);
	assert_int_equal(one_flag(&s, "buf-size", "16M", err, sizeof(err)), 0);
	assert_true(s.bufsize == 16u << 20);
	assert_int_equal(one_flag(&s, "buf-size", "1G", err, sizeof(err)), 0);
	assert_true(s.bufsize == 1u << 30);
	assert_int_equal(one_flag(&s, "buf-size", "4096", err, sizeof(err)), 0);
	assert_true(s.bufsize == 4096);
	assert_int_equal(one_flag(&s, "buf-size", "8KiB", err, sizeof(err)), 0);
	assert_true(s.bufsize == 8192);
	assert_int_equal(one_flag(&s, "listen", "[::1]:9000", err, sizeof(err)), 0);
	assert_string_equal(s.listen.host, "::1");
	assert_int_equal(s.listen.port, 9000);
	assert_string_equal(s.listen.str, "[::1]:9000");
	assert_int_equal(one_flag(&s, "listen", "127.0.0.1:65535", err, sizeof(err)), 0);
	assert_string_equal(s.listen.host, "127.0.0.1");
	assert_int_equal(s.listen.port, 65535);
	assert_int_equal(one_flag(&s, "log-level", "DEBUG", err, sizeof(err)), 0);
	assert_int_equal(s.level, CH_LOG_LEVEL_DEBUG);
	assert_int_equal(one_flag(&s, "tag", "x y", err, sizeof(err)), 0);
	assert_int_equal(s.tags.n, 1);
	assert_string_equal(s.tags.v[0], "x y");
}

static void test_types_bad(void **state)
{
	static const struct {
		const char *key, *val, *msg;
	} cases[] = {
	    {"name", "1234567890123456", "--name: value is longer than 15 bytes"},
	    {"max-count", "abc", "--max-count: \"abc\" is not an integer"},
	    {"max-count", "12x", "--max-count: \"12x\" is not an integer"},
	    {"max-count", " 12", "--max-count: \" 12\" is not an integer"},
	    {"max-count", "", "--max-count: \"\" is not an integer"},
	    {"max-count", "1.5", "--max-count: \"1.5\" is not an integer"},
	    {"max-count", "100000", "--max-count: 100000 is above the maximum 4096"},
	    {"max-count", "0", "--max-count: 0 is below the minimum 1"},
	    {"max-count", "-5", "--max-count: -5 is below the minimum 1"},
	    {"any-int", "9223372036854775808",
	     "--any_int: 9223372036854775808 is out of range for a 64-bit integer"},
	    {"any-int", "-9223372036854775809",
	     "--any_int: -9223372036854775809 is out of range for a 64-bit integer"},
	    {"flag", "maybe",
	     "--flag: \"maybe\" is not a boolean (true/false, yes/no, on/off, 1/0)"},
	    {"flag", "2", "--flag: \"2\" is not a boolean"},
	    {"timeout", "5x", "--timeout: \"5x\" is not a duration (e.g. 250ms, 5s, 2m, 1h)"},
	    {"timeout", "-1s", "--timeout: \"-1s\" is not a duration"},
	    {"timeout", "99ms", "--timeout: 99ms is below the minimum 100ms"},
	    {"timeout", "2h", "--timeout: 2h is above the maximum 1h"},
	    {"timeout", "99999999999999999999", "--timeout: \"99999999999999999999\" is not a"},
	    {"buf-size", "1K", "--buf-size: 1K is below the minimum 4K"},
	    {"buf-size", "2g", "--buf-size: 2g is above the maximum 1G"},
	    {"buf-size", "16Q", "--buf-size: \"16Q\" is not a size"},
	    {"buf-size", "99999999999T", "--buf-size: \"99999999999T\" is not a size"},
	    {"listen", "host", "--listen: \"host\" is not HOST:PORT, [IPV6]:PORT or :PORT"},
	    {"listen", "host:0", "--listen: \"host:0\": port must be 1-65535"},
	    {"listen", "host:65536", "--listen: \"host:65536\": port must be 1-65535"},
	    {"listen", "::1:80", "--listen: \"::1:80\" is not HOST:PORT"},
	    {"listen", "host:", "--listen: \"host:\" is not HOST:PORT"},
	    {"listen", "[::1]", "--listen: \"[::1]\" is not HOST:PORT"},
	    {"seed", "a b:1", "--seed: \"a b:1\" is not HOST:PORT"},
	    {"log-level", "loud",
	     "--log-level: \"loud\" is not a log level (error, warn, info, debug)"},
	    {"tag", "", NULL},
	};
	char err[256];
	S s;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = one_flag(&s, cases[i].key, cases[i].val, err, sizeof(err));

		if (cases[i].msg == NULL) {
			assert_int_equal(rc, 0);
			continue;
		}
		if (rc != CH_EINVAL || strncmp(err, cases[i].msg, strlen(cases[i].msg)) != 0) {
			print_error("case %zu: rc %d, err '%s', want '%s'\n", i, rc, err,
			            cases[i].msg);
			fail();
		}
	}
	/* a NULL or zero-size err buffer is fine */
	assert_int_equal(one_flag(&s, "max-count", "abc", NULL, 0), CH_EINVAL);
	/* a short err buffer is cut, still terminated */
	assert_int_equal(one_flag(&s, "max-count", "abc", err, 8), CH_EINVAL);
	assert_string_equal(err, "--max-c");
}

static void test_hostport_parse(void **state)
{
	static const struct {
		const char *s;
		int rc;
		const char *host;
		unsigned port;
	} cases[] = {
	    {"example.org:7433", 0, "example.org", 7433},
	    {"10.0.0.1:1", 0, "10.0.0.1", 1},
	    {":80", 0, "", 80},
	    {"[::]:80", 0, "::", 80},
	    {"[fe80::1%eth0]:7433", 0, "fe80::1%eth0", 7433},
	    {"[::ffff:1.2.3.4]:5", 0, "::ffff:1.2.3.4", 5},
	    {"h:007433", 0, "h", 7433},
	    {"h:99999999999999999999", CH_ERANGE, NULL, 0},
	    {"h:0", CH_ERANGE, NULL, 0},
	    {"h:+80", CH_EINVAL, NULL, 0},
	    {"h:-1", CH_EINVAL, NULL, 0},
	    {"h:80 ", CH_EINVAL, NULL, 0},
	    {"h", CH_EINVAL, NULL, 0},
	    {"", CH_EINVAL, NULL, 0},
	    {":", CH_EINVAL, NULL, 0},
	    {"[]:80", CH_EINVAL, NULL, 0},
	    {"[::1]80", CH_EINVAL, NULL, 0},
	    {"[::1:80", CH_EINVAL, NULL, 0},
	    {"[abc]:80", CH_EINVAL, NULL, 0},
	    {"[::1%]:80", CH_EINVAL, NULL, 0},
	    {"[::g]:80", CH_EINVAL, NULL, 0},
	    {"a:b:80", CH_EINVAL, NULL, 0},
	    {"a/b:80", CH_EINVAL, NULL, 0},
	    {"a@b:80", CH_EINVAL, NULL, 0},
	};
	ch_hostport_t hp;
	char longhost[400];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&hp, 0x5a, sizeof(hp));
		if (ch_hostport_parse(cases[i].s, &hp) != cases[i].rc) {
			print_error("case %s\n", cases[i].s);
			fail();
		}
		if (cases[i].rc != 0) {
			assert_int_equal(hp.port, 0x5a5a); /* unchanged */
			continue;
		}
		assert_string_equal(hp.host, cases[i].host);
		assert_int_equal(hp.port, cases[i].port);
		assert_string_equal(hp.str, cases[i].s);
	}
	memset(longhost, 'a', sizeof(longhost));
	strcpy(longhost + 256, ":80");
	assert_int_equal(ch_hostport_parse(longhost, &hp), CH_ERANGE);
	strcpy(longhost + 253, ":80");
	assert_int_equal(ch_hostport_parse(longhost, &hp), 0);
	assert_int_equal(strlen(hp.host), 253);
	memset(longhost, 'a', sizeof(longhost));
	strcpy(longhost + 300, ":80");
	assert_int_equal(ch_hostport_parse(longhost, &hp), CH_ERANGE);
	assert_int_equal(ch_hostport_parse(NULL, &hp), CH_EINVAL);
	assert_int_equal(ch_hostport_parse("h:1", NULL), CH_EINVAL);
}

static void test_size_bool_parse(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
	    {"0", 0},
	    {"1", 1},
	    {"1b", 1},
	    {"64k", 65536},
	    {"64K", 65536},
	    {"64kb", 65536},
	    {"64KiB", 65536},
	    {"16M", 16u << 20},
	    {"1G", 1u << 30},
	    {"2t", 2ull << 40},
	    {"16777215T", 16777215ull << 40},
	};
	static const char *const bad[] = {"",    "k",   "-1",   "1.5k",      "1 k",
	                                  "1kk", "1e3", "0x10", "16777216T", "18446744073709551616",
	                                  "1p"};
	uint64_t v;
	bool b = false;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(ch_size_parse(good[i].s, &v), 0);
		assert_true(v == good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ch_size_parse(bad[i], &v), CH_EINVAL);
	assert_int_equal(ch_size_parse(NULL, &v), CH_EINVAL);
	assert_int_equal(ch_bool_parse("Yes", &b), 0);
	assert_true(b);
	assert_int_equal(ch_bool_parse("yess", &b), CH_EINVAL);
	assert_int_equal(ch_bool_parse("", &b), CH_EINVAL);
	assert_int_equal(ch_bool_parse(NULL, &b), CH_EINVAL);
}

static void test_file_syntax(void **state)
{
	const char *path =
	    write_file("good.conf", "# a comment line\n"
	                            "\n"
	                            "   \t  \n"
	                            "  name   =   hello   # trailing comment\n"
	                            "max_count=7\n"
	                            "any-int = -3\r\n"
	                            "foreground\n"
	                            "flag = off\n"
	                            "\t# indented comment\n"
	                            "timeout = 250ms\n"
	                            "buf_size = 1M\n"
	                            "listen = \"[::1]:8000\" # quoted\n"
	                            "seed = a.example:1\n"
	                            "seed = b.example:2\n"
	                            "tag = \"with # hash and \\\"quotes\\\" and \\\\\"\n"
	                            "tag = a#b\n"
	                            "tag = \"\"\n"
	                            "log-level = warn");
	char err[256];
	S s;

	(void)state;
	defaults(&s);
	assert_int_equal(ch_cfg_parse_file(opts, NOPTS, &s, path, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(s.name, "hello");
	assert_true(s.count == 7);
	assert_true(s.any == -3);
	assert_true(s.fg);
	assert_false(s.flag);
	assert_true(s.timeout == 250);
	assert_true(s.bufsize == 1 << 20);
	assert_string_equal(s.listen.host, "::1");
	assert_int_equal(s.listen.port, 8000);
	/* the file's seeds replace the default list */
	assert_int_equal(s.seeds.n, 2);
	assert_string_equal(s.seeds.v[0].str, "a.example:1");
	assert_string_equal(s.seeds.v[1].str, "b.example:2");
	assert_int_equal(s.tags.n, 3);
	assert_string_equal(s.tags.v[0], "with # hash and \"quotes\" and \\");
	assert_string_equal(s.tags.v[1], "a#b");
	assert_string_equal(s.tags.v[2], "");
	assert_int_equal(s.level, CH_LOG_LEVEL_WARN);
}

static void test_file_errors(void **state)
{
	static const struct {
		const char *text;
		int rc;
		const char *msg; /* after "<path>:" */
	} cases[] = {
	    {"name = a\nmax-peers = 5\n", CH_EINVAL, "2: max-peers: unknown key"},
	    {"\n\nmax-count = abc\n", CH_EINVAL, "3: max-count: \"abc\" is not an integer"},
	    {"max-count = 100000\n", CH_EINVAL, "1: max-count: 100000 is above the maximum 4096"},
	    {"name = a\nname = b\n", CH_EINVAL, "2: name: given twice (first on line 1)"},
	    {"name = a\nname_ = b\n", CH_EINVAL, "2: name_: unknown key"},
	    {"max_count = 1\nmax-count = 2\n", CH_EINVAL, "2: max-count: given twice"},
	    {"name =\n", CH_EINVAL, "1: name: missing value"},
	    {"name = # comment\n", CH_EINVAL, "1: name: missing value"},
	    {"name\n", CH_EINVAL, "1: name: expected key = value"},
	    {"= value\n", CH_EINVAL, "1: expected key = value"},
	    {"name value\n", CH_EINVAL, "1: name: expected '=' after the key"},
	    {"name = \"abc\n", CH_EINVAL, "1: name: unterminated quote"},
	    {"name = \"abc\" x\n", CH_EINVAL, "1: name: unexpected text after the closing quote"},
	    {"config = x.conf\n", CH_EINVAL, "1: config: only allowed on the command line"},
	    {"help = true\n", CH_EINVAL, "1: help: only allowed on the command line"},
	    {"foreground = maybe\n", CH_EINVAL, "1: foreground: \"maybe\" is not a boolean"},
	    {"listen = 1.2.3.4\n", CH_EINVAL, "1: listen: \"1.2.3.4\" is not HOST:PORT"},
	    {"timeout = 5 s\n", CH_EINVAL, "1: timeout: \"5 s\" is not a duration"},
	    {"--name = x\n", CH_EINVAL, "1: --name: unknown key"},
	};
	char err[256], want[320];
	S s;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = write_file("bad.conf", cases[i].text);
		int rc;

		defaults(&s);
		rc = ch_cfg_parse_file(opts, NOPTS, &s, path, err, sizeof(err));
		snprintf(want, sizeof(want), "%s:%s", path, cases[i].msg);
		if (rc != cases[i].rc || strncmp(err, want, strlen(want)) != 0) {
			print_error("case %zu: rc %d, err '%s', want '%s'\n", i, rc, err, want);
			fail();
		}
	}
}

static void test_file_limits(void **state)
{
	char err[256], want[256];
	char *text;
	const char *path;
	size_t off = 0;
	S s;

	(void)state;
	/* a missing file */
	snprintf(want, sizeof(want), "%s/none.conf", tmpdir);
	defaults(&s);
	assert_int_equal(ch_cfg_parse_file(opts, NOPTS, &s, want, err, sizeof(err)), CH_ENOENT);
	assert_non_null(strstr(err, "none.conf"));
	assert_non_null(strstr(err, "No such file"));
	/* a directory is not readable as a file */
	assert_int_equal(ch_cfg_parse_file(opts, NOPTS, &s, tmpdir, err, sizeof(err)), CH_EIO);
	/* an empty file changes nothing */
	path = write_file("empty.conf", "");
	assert_int_equal(ch_cfg_parse_file(opts, NOPTS, &s, path, err, sizeof(err)), 0);
	assert_string_equal(s.name, "main");
	/* a line longer than CH_CFG_LINE_MAX */
	text = malloc(CH_CFG_LINE_MAX + 64);
	assert_non_null(text);
	memcpy(text, "name = ", 7);
	memset(text + 7, 'x', CH_CFG_LINE_MAX);
	text[CH_CFG_LINE_MAX + 7] = '\0';
	path = write_file("long.conf", text);
	assert_int_equal(ch_cfg_parse_file(opts, NOPTS, &s, path, err, sizeof(err)), CH_EINVAL);
	assert_non_null(strstr(err, ":1: line is longer than 4096 bytes"));
	/* 32 seeds are fine, 33 are not */
	for (int i = 0; i < 33; i++)
		off += (size_t)snprintf(text + off, CH_CFG_LINE_MAX + 64 - off, "seed = h%d:%d\n",
		                        i, i + 1);
	path = write_file("seeds.conf", text);
	defaults(&s);
	assert_int_equal(ch_cfg_parse_file(opts, NOPTS, &s, path, err, sizeof(err)), CH_ERANGE);
	assert_non_null(strstr(err, ":33: seed: more than 32 values"));
	text[off - strlen("seed = h32:33\n")] = '\0';
	path = write_file("seeds.conf", text);
	defaults(&s);
	assert_int_equal(ch_cfg_parse_file(opts, NOPTS, &s, path, err, sizeof(err)), 0);
	assert_int_equal(s.seeds.n, 32);
	assert_int_equal(s.seeds.v[31].port, 32);
	free(text);
	/* NULL arguments */
	assert_int_equal(ch_cfg_parse_file(opts, NOPTS, &s, NULL, err, sizeof(err)), CH_EINVAL);
	assert_int_equal(ch_cfg_parse_file(opts, NOPTS, NULL, path, err, sizeof(err)), CH_EINVAL);
	assert_int_equal(ch_cfg_parse_file(NULL, NOPTS, &s, path, err, sizeof(err)), CH_EINVAL);
}

static void test_args(void **state)
{
	char err[256];
	int argi = -1;
	S s;

	(void)state;
	{
		char *argv[] = {"chorusctl", "--name=x", "--max-count", "9",     "--foreground",
		                "--tag",     "a",        "--tag=b",     "peers", "--json"};

		defaults(&s);
		assert_int_equal(
		    ch_cfg_parse_args(opts, NOPTS, &s, 10, argv, &argi, err, sizeof(err)), 0);
		assert_int_equal(argi, 8); /* "peers" */
		assert_string_equal(s.name, "x");
		assert_true(s.count == 9);
		assert_true(s.fg);
		assert_int_equal(s.tags.n, 2);
		assert_string_equal(s.tags.v[1], "b");
	}
	{
		/* "--" ends the flags; a later flag overrides an earlier one */
		char *argv[] = {"p", "--name", "a", "--name", "b", "--", "--name", "c"};

		defaults(&s);
		assert_int_equal(
		    ch_cfg_parse_args(opts, NOPTS, &s, 8, argv, &argi, err, sizeof(err)), 0);
		assert_int_equal(argi, 6);
		assert_string_equal(s.name, "b");
	}
	{
		/* "-" is an argument; NOVALUE flags take "=false"; -h means --help */
		char *argv[] = {"p", "--foreground=false", "-h", "-", "x"};

		defaults(&s);
		s.fg = true;
		assert_int_equal(
		    ch_cfg_parse_args(opts, NOPTS, &s, 5, argv, &argi, err, sizeof(err)), 0);
		assert_int_equal(argi, 3);
		assert_false(s.fg);
		assert_true(s.help);
	}
	{
		char *argv[] = {"p"};

		assert_int_equal(
		    ch_cfg_parse_args(opts, NOPTS, &s, 1, argv, &argi, err, sizeof(err)), 0);
		assert_int_equal(argi, 1);
		assert_int_equal(
		    ch_cfg_parse_args(opts, NOPTS, &s, 0, NULL, &argi, err, sizeof(err)), 0);
		assert_int_equal(argi, 0);
	}
	/* errors */
	{
		static const struct {
			int argc;
			char *argv[4];
			const char *msg;
		} cases[] = {
		    {2, {"p", "--nope"}, "--nope: unknown flag"},
		    {2, {"p", "--nope=3"}, "--nope: unknown flag"},
		    {2, {"p", "--=3"}, "--: unknown flag"},
		    {2, {"p", "-x"}, "-x: unknown flag (flags start with --)"},
		    {2, {"p", "--max-count"}, "--max-count: missing value"},
		    {3,
		     {"p", "--max-count", "--foreground"},
		     "--max-count: missing value (next argument --foreground is a flag)"},
		    {3, {"p", "--max-count", "0"}, "--max-count: 0 is below the minimum 1"},
		    {2, {"p", "--foreground=maybe"}, "--foreground: \"maybe\" is not a boolean"},
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			int rc;

			defaults(&s);
			rc = ch_cfg_parse_args(opts, NOPTS, &s, cases[i].argc,
			                       (char **)cases[i].argv, &argi, err, sizeof(err));
			if (rc != CH_EINVAL ||
			    strncmp(err, cases[i].msg, strlen(cases[i].msg)) != 0) {
				print_error("case %zu: rc %d err '%s'\n", i, rc, err);
				fail();
			}
		}
	}
	{
		/* 33 --seed flags */
		char *argv[1 + 66];
		char vals[33][16];

		argv[0] = "p";
		for (int i = 0; i < 33; i++) {
			snprintf(vals[i], sizeof(vals[i]), "h:%d", i + 1);
			argv[1 + 2 * i] = "--seed";
			argv[2 + 2 * i] = vals[i];
		}
		defaults(&s);
		assert_int_equal(
		    ch_cfg_parse_args(opts, NOPTS, &s, 65, argv, &argi, err, sizeof(err)), 0);
		assert_int_equal(s.seeds.n, 32);
		defaults(&s);
		assert_int_equal(
		    ch_cfg_parse_args(opts, NOPTS, &s, 67, argv, &argi, err, sizeof(err)),
		    CH_ERANGE);
		assert_string_equal(err, "--seed: more than 32 values");
	}
	assert_int_equal(ch_cfg_parse_args(opts, NOPTS, NULL, 0, NULL, &argi, err, sizeof(err)),
	                 CH_EINVAL);
	assert_int_equal(ch_cfg_parse_args(opts, NOPTS, &s, -1, NULL, &argi, err, sizeof(err)),
	                 CH_EINVAL);
}

static void test_precedence_and_find_arg(void **state)
{
	const char *path = write_file("prec.conf", "name = fromfile\n"
	                                           "max-count = 10\n"
	                                           "seed = f1:1\n"
	                                           "seed = f2:2\n"
	                                           "tag = t1\n");
	char *argv[] = {"chorusd",    "--max-count", "20",  "--config",
	                (char *)path, "--seed",      "a:3", "run"};
	const char *cfg = NULL;
	char err[256];
	int argi;
	S s;

	(void)state;
	defaults(&s);
	assert_int_equal(ch_cfg_find_arg(opts, NOPTS, 8, argv, "config", &cfg), 0);
	assert_string_equal(cfg, path);
	assert_int_equal(ch_cfg_find_arg(opts, NOPTS, 8, argv, "name", &cfg), CH_ENOENT);
	assert_int_equal(ch_cfg_find_arg(opts, NOPTS, 8, argv, "nope", &cfg), CH_EINVAL);
	assert_int_equal(ch_cfg_find_arg(opts, NOPTS, 8, argv, NULL, &cfg), CH_EINVAL);
	assert_int_equal(ch_cfg_parse_file(opts, NOPTS, &s, path, err, sizeof(err)), 0);
	assert_int_equal(ch_cfg_parse_args(opts, NOPTS, &s, 8, argv, &argi, err, sizeof(err)), 0);
	assert_int_equal(argi, 7);
	assert_string_equal(s.name, "fromfile"); /* file beats default */
	assert_true(s.count == 20);              /* flag beats file */
	assert_string_equal(s.config, path);
	/* the flags' seeds replace the file's; the file's tags stay */
	assert_int_equal(s.seeds.n, 1);
	assert_string_equal(s.seeds.v[0].str, "a:3");
	assert_int_equal(s.tags.n, 1);
	assert_string_equal(s.tags.v[0], "t1");
	{
		/* find_arg stops where parsing stops and knows NOVALUE flags */
		char *argv2[] = {"p", "--foreground", "cmd", "--config", "x"};
		char *argv3[] = {"p", "--config=a", "--config", "b"};

		assert_int_equal(ch_cfg_find_arg(opts, NOPTS, 5, argv2, "config", &cfg), CH_ENOENT);
		assert_int_equal(ch_cfg_find_arg(opts, NOPTS, 4, argv3, "config", &cfg), 0);
		assert_string_equal(cfg, "b");
	}
}

static void test_schema_errors(void **state)
{
	struct bad {
		int64_t i;
		char s[8];
		int64_t j;
	};
	ch_cfg_opt_t o[2];
	char err[256];
	struct bad b;

	(void)state;
	memset(o, 0, sizeof(o));
	o[0] = (ch_cfg_opt_t){.key = "a", .type = CH_CFG_INT, CH_CFG_AT(struct bad, i)};
	o[1] = (ch_cfg_opt_t){.key = "b", .type = CH_CFG_STR, CH_CFG_AT(struct bad, s)};
	assert_int_equal(ch_cfg_defaults(o, 2, &b, err, sizeof(err)), 0);
	/* duplicate keys, also across '-' and '_' */
	o[0].key = "x-y";
	o[1].key = "x_y";
	assert_int_equal(ch_cfg_defaults(o, 2, &b, err, sizeof(err)), CH_EINVAL);
	assert_string_equal(err, "schema: x_y: key declared twice");
	o[1].key = "b";
	/* a size that does not match the type */
	o[0].size = 4;
	assert_int_equal(ch_cfg_defaults(o, 2, &b, err, sizeof(err)), CH_EINVAL);
	assert_non_null(strstr(err, "x-y: field size 4"));
	o[0].size = sizeof(int64_t);
	/* MULTI and NOVALUE on the wrong types */
	o[0].flags = CH_CFG_MULTI;
	assert_int_equal(ch_cfg_defaults(o, 2, &b, err, sizeof(err)), CH_EINVAL);
	o[0].flags = CH_CFG_NOVALUE;
	assert_int_equal(ch_cfg_defaults(o, 2, &b, err, sizeof(err)), CH_EINVAL);
	o[0].flags = 1u << 10;
	assert_int_equal(ch_cfg_defaults(o, 2, &b, err, sizeof(err)), CH_EINVAL);
	o[0].flags = 0;
	/* bad keys and types */
	o[0].key = "has space";
	assert_int_equal(ch_cfg_defaults(o, 2, &b, err, sizeof(err)), CH_EINVAL);
	o[0].key = "";
	assert_int_equal(ch_cfg_defaults(o, 2, &b, err, sizeof(err)), CH_EINVAL);
	o[0].key = NULL;
	assert_int_equal(ch_cfg_defaults(o, 2, &b, err, sizeof(err)), CH_EINVAL);
	o[0].key = "a";
	o[0].type = (ch_cfg_type_t)99;
	assert_int_equal(ch_cfg_defaults(o, 2, &b, err, sizeof(err)), CH_EINVAL);
	o[0].type = CH_CFG_INT;
	/* a default that does not parse */
	o[0].def = "ten";
	assert_int_equal(ch_cfg_defaults(o, 2, &b, err, sizeof(err)), CH_EINVAL);
	assert_string_equal(err, "schema: a: \"ten\" is not an integer");
	o[0].def = NULL;
	o[1].def = "too long!";
	assert_int_equal(ch_cfg_defaults(o, 2, &b, err, sizeof(err)), CH_EINVAL);
	o[1].def = NULL;
	/* the parsers check the schema too */
	o[1].size = 0;
	{
		char *argv[] = {"p", "--b", "x"};
		int argi;

		assert_int_equal(ch_cfg_parse_args(o, 2, &b, 3, argv, &argi, err, sizeof(err)),
		                 CH_EINVAL);
	}
	assert_int_equal(ch_cfg_defaults(o, 0, &b, err, sizeof(err)), CH_EINVAL);
	assert_int_equal(ch_cfg_defaults(NULL, 2, &b, err, sizeof(err)), CH_EINVAL);
}

static void test_usage(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	ch_cfg_usage(opts, NOPTS, f);
	ch_cfg_usage(opts, NOPTS, NULL);
	ch_cfg_usage(NULL, NOPTS, f);
	fclose(f);
	for (size_t i = 0; i < NOPTS; i++) {
		char flag[64];

		snprintf(flag, sizeof(flag), "--%s", opts[i].key);
		assert_non_null(strstr(buf, flag));
		assert_non_null(strstr(buf, opts[i].help));
	}
	assert_non_null(strstr(buf, "--max-count N"));
	assert_non_null(strstr(buf, "(default: 125; range 1..4096)"));
	assert_non_null(strstr(buf, "(default: 5s; range 100ms..1h)"));
	assert_non_null(strstr(buf, "(default: 64k; range 4K..1G)"));
	assert_non_null(strstr(buf, "--seed HOST:PORT"));
	assert_non_null(strstr(buf, "repeatable, up to 32"));
	assert_non_null(strstr(buf, "--foreground "));
	assert_null(strstr(buf, "--foreground BOOL"));
	free(buf);
}

static uint64_t rng_state = 424242;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Random integers through flags and files agree with the bounds; random
 * garbage lines never crash and either parse or fail with a message. */
static void test_random(void **state)
{
	char err[256], val[32], text[512];
	S s;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		int64_t v = (int64_t)(rng() % 10000) - 1000;
		bool in = v >= 1 && v <= 4096;
		const char *path;
		int rc;

		snprintf(val, sizeof(val), "%lld", (long long)v);
		rc = one_flag(&s, "max-count", val, err, sizeof(err));
		assert_int_equal(rc, in ? 0 : CH_EINVAL);
		if (in)
			assert_true(s.count == v);
		else
			assert_non_null(strstr(err, "--max-count: "));
		if (round % 10 != 0)
			continue;
		snprintf(text, sizeof(text), "max_count = %s\n", val);
		path = write_file("rand.conf", text);
		defaults(&s);
		rc = ch_cfg_parse_file(opts, NOPTS, &s, path, err, sizeof(err));
		assert_int_equal(rc, in ? 0 : CH_EINVAL);
		if (in)
			assert_true(s.count == v);
	}
	for (int round = 0; round < 300; round++) {
		static const char alphabet[] = "ab=# \t\"\\:[]01-_\nnametagseed";
		size_t len = (size_t)(rng() % 200);
		const char *path;
		int rc;

		for (size_t i = 0; i < len; i++)
			text[i] = alphabet[rng() % (sizeof(alphabet) - 1)];
		text[len] = '\0';
		path = write_file("garbage.conf", text);
		defaults(&s);
		err[0] = 'x';
		rc = ch_cfg_parse_file(opts, NOPTS, &s, path, err, sizeof(err));
		assert_true(rc == 0 || rc == CH_EINVAL || rc == CH_ERANGE);
		if (rc != 0)
			assert_int_equal(strncmp(err, path, strlen(path)), 0);
		else
			assert_string_equal(err, "");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_types_good),
	    cmocka_unit_test(test_types_bad),
	    cmocka_unit_test(test_hostport_parse),
	    cmocka_unit_test(test_size_bool_parse),
	    cmocka_unit_test(test_file_syntax),
	    cmocka_unit_test(test_file_errors),
	    cmocka_unit_test(test_file_limits),
	    cmocka_unit_test(test_args),
	    cmocka_unit_test(test_precedence_and_find_arg),
	    cmocka_unit_test(test_schema_errors),
	    cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
