/* test_proto_layout.c: proto/ is the only place that defines the peer
 * protocol.  Reads every C source and header of the tree outside proto/
 * and fails, naming file and line, on:
 *   A. a #define or enum constant with a name proto/'s headers define
 *      (a copied constant: PEX_GETPEERS next to WIRE_GETPEERS);
 *   B. a #define or enum constant in a family proto/ owns: WIRE_, NOISE_,
 *      PEX_, HELLO_, PACK_, CH_TAG_, MP_TX_, or named *_INV_MAX (RL_INV_MAX
 *      beside WIRE_INV_IDS_MAX);
 *   C. `case N:` with a number under a switch on a `type` (relay's old
 *      dispatch on 5..9);
 *   D. `.type = N` or `type == N` / `type != N` with a number other than 0
 *      (a message sent or recognised by a bare number).
 * The rules are first run on lines that must and must not trip them, so
 * the scan cannot pass by matching nothing.  Runs from the repository root
 * (as make test does). */
#include <ftw.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The families proto/ owns (rule B): name prefixes, and one suffix. */
static const char *const families[] = {"WIRE_", "NOISE_",  "PEX_",  "HELLO_",
                                       "PACK_", "CH_TAG_", "MP_TX_"};
static const char *const family_suffix = "_INV_MAX";

/* Names proto/'s headers define (rule A). */
#define NAMES_MAX 512
static char *names[NAMES_MAX];
static size_t nnames;

static regex_t re_define, re_enum, re_case, re_switch, re_type;
static int violations;

static void compile(regex_t *re, const char *pattern)
{
	assert_int_equal(regcomp(re, pattern, REG_EXTENDED), 0);
}

static void setup_regexes(void)
{
	compile(&re_define, "^[ \t]*#[ \t]*define[ \t]+([A-Za-z_][A-Za-z0-9_]*)");
	compile(&re_enum, "^[ \t]+([A-Z][A-Z0-9_]*)[ \t]*=[ \t]*[-0-9(]");
	compile(&re_case, "^[ \t]*case[ \t]+[0-9]+[ \t]*:");
	compile(&re_switch, "switch[ \t]*\\(.*[^A-Za-z0-9_]type[ \t]*\\)");
	compile(&re_type,
	        "(\\.type[ \t]*=|[^A-Za-z0-9_]type[ \t]*[!=]=)[ \t]*[1-9][0-9]*[^0-9A-Za-z_]");
}

/* match1: the first group of re in line, into out (cap bytes). */
static bool match1(const regex_t *re, const char *line, char *out, size_t cap)
{
	regmatch_t m[2];
	if (regexec(re, line, 2, m, 0) != 0)
		return false;
	if (out) {
		size_t n = (size_t)(m[1].rm_eo - m[1].rm_so);
		n = n < cap - 1 ? n : cap - 1;
		memcpy(out, line + m[1].rm_so, n);
		out[n] = 0;
	}
	return true;
}

static bool is_proto_name(const char *n)
{
	for (size_t i = 0; i < nnames; i++)
		if (strcmp(names[i], n) == 0)
			return true;
	return false;
}

static bool in_family(const char *n)
{
	size_t l = strlen(n), k = strlen(family_suffix);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (strncmp(n, families[i], strlen(families[i])) == 0)
			return true;
	return l >= k && strcmp(n + l - k, family_suffix) == 0;
}

/* check_line: the rule a line breaks, or NULL.  in_type_switch: the last
 * switch seen was on a `type`. */
static const char *check_line(const char *line, bool *in_type_switch)
{
	char name[128];
	const char *s = line + strspn(line, " \t");
	if (strncmp(s, "/*", 2) == 0 || strncmp(s, "*", 1) == 0 || strncmp(s, "//", 2) == 0)
		return NULL; /* a comment */
	if (regexec(&re_switch, line, 0, NULL, 0) == 0)
		*in_type_switch = true;
	else if (strstr(line, "switch"))
		*in_type_switch = false;
	if (match1(&re_define, line, name, sizeof(name)) ||
	    match1(&re_enum, line, name, sizeof(name))) {
		if (is_proto_name(name))
			return "A: defines a name proto/ defines";
		if (in_family(name))
			return "B: defines a name of a family proto/ owns";
	}
	if (*in_type_switch && regexec(&re_case, line, 0, NULL, 0) == 0)
		return "C: dispatches on a bare type number";
	if (regexec(&re_type, line, 0, NULL, 0) == 0)
		return "D: names a message type by its number";
	return NULL;
}

/* collect: the names proto/'s headers define (header guards aside). */
static int collect(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)f;
	size_t l = strlen(path);
	if (flag != FTW_F || l < 2 || strcmp(path + l - 2, ".h") != 0)
		return 0;
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char line[1024], name[128];
	while (fgets(line, sizeof(line), fp))
		if ((match1(&re_define, line, name, sizeof(name)) ||
		     match1(&re_enum, line, name, sizeof(name))) &&
		    strncmp(name, "CH_PROTO_", 9) != 0 && nnames < NAMES_MAX)
			names[nnames++] = strdup(name);
	fclose(fp);
	return 0;
}

/* scan: one source file outside proto/. */
static int scan(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)f;
	size_t l = strlen(path);
	if (flag != FTW_F || l < 2 ||
	    (strcmp(path + l - 2, ".c") != 0 && strcmp(path + l - 2, ".h") != 0))
		return 0;
	if (strcmp(path + l - strlen("test_proto_layout.c"), "test_proto_layout.c") == 0)
		return 0; /* this file names the patterns it looks for */
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char line[4096];
	bool sw = false;
	for (int no = 1; fgets(line, sizeof(line), fp); no++) {
		const char *why = check_line(line, &sw);
		if (why) {
			fprintf(stderr, "%s:%d: %s: %s", path, no, why, line);
			violations++;
		}
	}
	fclose(fp);
	return 0;
}

/* The rules on lines that must trip them and lines that must not. */
static void test_rules(void **state)
{
	(void)state;
	bool sw = false;
	assert_true(nnames > 50); /* proto/'s names were read */
	assert_true(is_proto_name("WIRE_INV") && is_proto_name("CH_TAG_SEND"));
	assert_non_null(check_line("#define WIRE_GETPEERS 3\n", &sw));
	assert_non_null(check_line("#define PEX_GETPEERS 3\n", &sw));
	assert_non_null(check_line("#define RL_INV_MAX 1000 /* ids */\n", &sw));
	assert_non_null(check_line("\tCH_TAG_SEND = 10,\n", &sw));
	assert_non_null(check_line("  # define NOISE_HELLO_MAX 1024\n", &sw));
	assert_null(check_line("\t\tswitch (m.type) {\n", &sw));
	assert_non_null(check_line("\t\tcase 5:\n", &sw));
	assert_null(check_line("\t\tcase WIRE_INV:\n", &sw));
	assert_null(check_line("\tswitch (state) {\n", &sw));
	assert_null(check_line("\t\tcase 5:\n", &sw)); /* not a switch on a type */
	assert_non_null(check_line("\tch_msg_send_t m = {.type = 8, .mode = 0};\n", &sw));
	assert_non_null(check_line("\tif (h.type == 9)\n", &sw));
	assert_null(check_line("\tif (m->type == 0 || m->type > WIRE_TYPE_MAX)\n", &sw));
	assert_null(check_line("\tif (o->type == MSGPACK_OBJECT_MAP)\n", &sw));
	assert_null(check_line("#define MB_PEX_CACHE_MAX 256\n", &sw));
	assert_null(check_line("#define RL_BLOCK_RATE 5.0\n", &sw));
	assert_null(check_line("#define RL_INV_RATE 10000.0\n", &sw));
	assert_null(check_line(" * #define PEX_PEERS 4 (in a comment)\n", &sw));
	assert_null(check_line("\tcase 'i':\n", &sw));
}

/* The tree outside proto/ breaks none of them. */
static void test_tree(void **state)
{
	(void)state;
	static const char *const dirs[] = {"common", "shm",   "services", "node",
	                                   "tools",  "tests", "bench"};
	violations = 0;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		assert_int_equal(nftw(dirs[i], scan, 16, FTW_PHYS), 0);
	if (violations)
		fail_msg("%d line(s) define protocol knowledge outside proto/ (listed above)",
		         violations);
}

static int setup(void **state)
{
	(void)state;
	setup_regexes();
	if (nftw("proto", collect, 16, FTW_PHYS) != 0) {
		fprintf(stderr, "run from the repository root: proto/ not found\n");
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	regfree(&re_define), regfree(&re_enum), regfree(&re_case), regfree(&re_switch);
	regfree(&re_type);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_tree),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
