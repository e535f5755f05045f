/* test_log.c: line format, levels, newline replacement, truncation, errno
 * helper, and that concurrent writers never interleave lines. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "log.h"

#define LINE_RE                                                                                    \
	"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "                      \
	"(ERROR|WARN |INFO |DEBUG) ([A-Za-z0-9_.-]+)\\[([0-9]+)\\] (.*)$"

/* Lines of a file, each without its newline. */
struct lines {
	char **v;
	size_t n;
	size_t bytes;    /* file size */
	int last_has_nl; /* the file ends with a newline */
};

static void lines_read(const char *path, struct lines *l)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;

	assert_non_null(f);
	memset(l, 0, sizeof(*l));
	l->last_has_nl = 1;
	while ((len = getline(&buf, &cap, f)) >= 0) {
		l->bytes += (size_t)len;
		l->last_has_nl = len > 0 && buf[len - 1] == '\n';
		if (l->last_has_nl)
			buf[len - 1] = '\0';
		l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
		assert_non_null(l->v);
		l->v[l->n++] = strdup(buf);
	}
	free(buf);
	fclose(f);
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Checks one line against the format; returns the message part. */
static const char *check_line(const char *line, const char *level, const char *service)
{
	regex_t re;
	regmatch_t m[5];
	char pid[32];

	assert_int_equal(regcomp(&re, LINE_RE, REG_EXTENDED), 0);
	if (regexec(&re, line, 5, m, 0) != 0) {
		print_error("bad line: %s\n", line);
		fail();
	}
	regfree(&re);
	if (level != NULL)
		assert_int_equal(strncmp(line + m[1].rm_so, level, strlen(level)), 0);
	if (service != NULL) {
		assert_int_equal((size_t)(m[2].rm_eo - m[2].rm_so), strlen(service));
		assert_int_equal(strncmp(line + m[2].rm_so, service, strlen(service)), 0);
	}
	snprintf(pid, sizeof(pid), "%.*s", (int)(m[3].rm_eo - m[3].rm_so), line + m[3].rm_so);
	assert_true(atol(pid) > 0);
	return line + m[4].rm_so;
}

static char *tmp_path(void)
{
	char tmpl[] = "/tmp/ch_test_log_XXXXXX";
	int fd = mkstemp(tmpl);

	assert_true(fd >= 0);
	close(fd);
	unlink(tmpl); /* ch_log_open creates it */
	return strdup(tmpl);
}

/* Before ch_log_open and after ch_log_close, lines go to stderr. */
static void test_default_stderr(void **state)
{
	char *path = tmp_path();
	int saved = dup(STDERR_FILENO);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct lines l;

	(void)state;
	assert_true(saved >= 0 && fd >= 0);
	fflush(stderr);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	CH_LOG_INFO("to stderr %d", 1);
	CH_LOG_DEBUG("not shown at the default level");
	assert_int_equal(ch_log_get_level(), CH_LOG_LEVEL_INFO);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(fd);
	lines_read(path, &l);
	assert_int_equal(l.n, 1);
	/* the default service name is the program's short name */
	assert_string_equal(check_line(l.v[0], "INFO ", program_invocation_short_name),
	                    "to stderr 1");
	lines_free(&l);
	unlink(path);
	free(path);
}

static void test_format_and_levels(void **state)
{
	char *path = tmp_path();
	struct lines l;
	struct stat st;
	char want[64];

	(void)state;
	umask(022);
	assert_int_equal(ch_log_open("transport", CH_LOG_LEVEL_INFO, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	CH_LOG_ERROR("e %d", 1);
	CH_LOG_WARN("w %s", "two");
	CH_LOG_INFO("i %u", 3u);
	CH_LOG_DEBUG("d hidden");
	ch_log(CH_LOG_LEVEL_DEBUG + 5, "clamped to debug, hidden");
	ch_log(-7, "clamped to error, shown");
	assert_false(ch_log_enabled(CH_LOG_LEVEL_DEBUG));
	assert_true(ch_log_enabled(CH_LOG_LEVEL_INFO));
	ch_log_set_level(CH_LOG_LEVEL_DEBUG);
	CH_LOG_DEBUG("d shown");
	ch_log_set_level(CH_LOG_LEVEL_ERROR);
	CH_LOG_WARN("w hidden");
	CH_LOG_ERROR("e2");
	ch_log_set_level(99);
	assert_int_equal(ch_log_get_level(), CH_LOG_LEVEL_DEBUG);
	ch_log_set_level(-3);
	assert_int_equal(ch_log_get_level(), CH_LOG_LEVEL_ERROR);
	ch_log(CH_LOG_LEVEL_ERROR, "%s", "");
	ch_log_close();
	ch_log_close(); /* twice is harmless */

	lines_read(path, &l);
	assert_int_equal(l.n, 7);
	assert_true(l.last_has_nl);
	assert_string_equal(check_line(l.v[0], "ERROR", "transport"), "e 1");
	assert_string_equal(check_line(l.v[1], "WARN ", "transport"), "w two");
	assert_string_equal(check_line(l.v[2], "INFO ", "transport"), "i 3");
	assert_string_equal(check_line(l.v[3], "ERROR", "transport"), "clamped to error, shown");
	assert_string_equal(check_line(l.v[4], "DEBUG", "transport"), "d shown");
	assert_string_equal(check_line(l.v[5], "ERROR", "transport"), "e2");
	assert_string_equal(check_line(l.v[6], "ERROR", "transport"), "");
	snprintf(want, sizeof(want), "transport[%ld] ", (long)getpid());
	assert_non_null(strstr(l.v[0], want));
	/* the time stamp is near now */
	lines_free(&l);

	/* a second open appends */
	assert_int_equal(ch_log_open("relay", CH_LOG_LEVEL_WARN, path), 0);
	CH_LOG_WARN("appended");
	ch_log_close();
	lines_read(path, &l);
	assert_int_equal(l.n, 8);
	assert_string_equal(check_line(l.v[7], "WARN ", "relay"), "appended");
	lines_free(&l);
	unlink(path);
	free(path);
}

static void test_newlines_and_truncation(void **state)
{
	char *path = tmp_path();
	char big[3000];
	struct lines l;
	const char *msg;
	size_t prefix;

	(void)state;
	assert_int_equal(ch_log_open("mempool", CH_LOG_LEVEL_DEBUG, path), 0);
	CH_LOG_INFO("line one\nline two\r\nline three\n");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[100] = '\n';
	CH_LOG_INFO("%s", big);
	ch_log_close();

	lines_read(path, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(check_line(l.v[0], "INFO ", "mempool"),
	                    "line one line two  line three ");
	msg = check_line(l.v[1], "INFO ", "mempool");
	/* the whole line, newline included, is exactly CH_LOG_LINE_MAX bytes */
	assert_int_equal(strlen(l.v[1]) + 1, CH_LOG_LINE_MAX);
	assert_string_equal(l.v[1] + strlen(l.v[1]) - 3, "...");
	assert_int_equal(msg[100], ' ');
	assert_int_equal(msg[99], 'a');
	assert_int_equal(msg[101], 'a');
	prefix = (size_t)(msg - l.v[1]);
	lines_free(&l);

	/* a message that exactly fills the line is not cut; one more byte is */
	unlink(path);
	assert_int_equal(ch_log_open("mempool", CH_LOG_LEVEL_DEBUG, path), 0);
	memset(big, 'b', sizeof(big));
	big[CH_LOG_LINE_MAX - 1 - prefix] = '\0';
	CH_LOG_INFO("%s", big);
	big[CH_LOG_LINE_MAX - 1 - prefix] = 'b';
	big[CH_LOG_LINE_MAX - prefix] = '\0';
	CH_LOG_INFO("%s", big);
	ch_log_close();
	lines_read(path, &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(strlen(l.v[0]) + 1, CH_LOG_LINE_MAX);
	assert_int_equal(l.v[0][strlen(l.v[0]) - 1], 'b');
	assert_int_equal(strlen(l.v[1]) + 1, CH_LOG_LINE_MAX);
	assert_string_equal(l.v[1] + strlen(l.v[1]) - 3, "...");
	lines_free(&l);
	unlink(path);
	free(path);
}

static void test_errno_helper(void **state)
{
	char *path = tmp_path();
	struct lines l;
	char big[2000];

	(void)state;
	assert_int_equal(ch_log_open("discovery", CH_LOG_LEVEL_INFO, path), 0);
	errno = ENOENT;
	ch_log_errno(CH_LOG_LEVEL_ERROR, "open", "cannot read %s", "peers.dat");
	assert_int_equal(errno, ENOENT);
	errno = EADDRINUSE;
	ch_log_errno(CH_LOG_LEVEL_WARN, "bind", NULL);
	errno = EINTR;
	ch_log_errno(CH_LOG_LEVEL_DEBUG, "read", "hidden at info");
	assert_int_equal(errno, EINTR);
	/* a huge message is cut but the call and errno survive */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	errno = EPIPE;
	ch_log_errno(CH_LOG_LEVEL_ERROR, "send", "%s", big);
	/* ch_log keeps errno too */
	errno = EAGAIN;
	CH_LOG_INFO("keeps errno");
	assert_int_equal(errno, EAGAIN);
	ch_log_close();

	lines_read(path, &l);
	assert_int_equal(l.n, 4);
	assert_string_equal(check_line(l.v[0], "ERROR", "discovery"),
	                    "cannot read peers.dat: open: No such file or directory (errno 2)");
	assert_string_equal(check_line(l.v[1], "WARN ", "discovery"),
	                    "bind: Address already in use (errno 98)");
	assert_true(strlen(l.v[2]) < CH_LOG_LINE_MAX);
	assert_non_null(strstr(l.v[2], "...: send: Broken pipe (errno 32)"));
	assert_string_equal(check_line(l.v[3], "INFO ", "discovery"), "keeps errno");
	lines_free(&l);
	unlink(path);
	free(path);
}

static void test_level_parse_name(void **state)
{
	static const struct {
		const char *s;
		int level;
	} good[] = {
	    {"error", CH_LOG_LEVEL_ERROR}, {"WARN", CH_LOG_LEVEL_WARN},
	    {"Info", CH_LOG_LEVEL_INFO},   {"debug", CH_LOG_LEVEL_DEBUG},
	    {"DEBUG", CH_LOG_LEVEL_DEBUG},
	};
	static const char *const bad[] = {"", "warning", "err", "info ", " info", "trace", "3"};
	int v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		assert_int_equal(ch_log_level_parse(good[i].s, &v), 0);
		assert_int_equal(v, good[i].level);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -1;
		assert_int_equal(ch_log_level_parse(bad[i], &v), CH_EINVAL);
		assert_int_equal(v, -1);
	}
	assert_int_equal(ch_log_level_parse(NULL, &v), CH_EINVAL);
	assert_int_equal(ch_log_level_parse("info", NULL), CH_EINVAL);
	for (int l = CH_LOG_LEVEL_ERROR; l <= CH_LOG_LEVEL_DEBUG; l++) {
		assert_int_equal(ch_log_level_parse(ch_log_level_name(l), &v), 0);
		assert_int_equal(v, l);
	}
	assert_string_equal(ch_log_level_name(CH_LOG_LEVEL_WARN), "warn");
	assert_string_equal(ch_log_level_name(-1), "unknown");
	assert_string_equal(ch_log_level_name(4), "unknown");
}

static void test_open_errors(void **state)
{
	(void)state;
	assert_int_equal(ch_log_open(NULL, CH_LOG_LEVEL_INFO, NULL), CH_EINVAL);
	assert_int_equal(ch_log_open("", CH_LOG_LEVEL_INFO, NULL), CH_EINVAL);
	assert_int_equal(ch_log_open("x", -1, NULL), CH_EINVAL);
	assert_int_equal(ch_log_open("x", CH_LOG_LEVEL_DEBUG + 1, NULL), CH_EINVAL);
	assert_int_equal(ch_log_open("x", CH_LOG_LEVEL_INFO, "/nonexistent-dir/x/chorus.log"),
	                 CH_EIO);
	assert_int_equal(errno, ENOENT);
	/* stderr with a very long service name: cut, still accepted */
	assert_int_equal(ch_log_open("a-service-name-that-is-much-longer-than-the-limit",
	                             CH_LOG_LEVEL_ERROR, NULL),
	                 0);
	ch_log_close();
}

#define N_PROCS   4
#define N_THREADS 4
#define N_LINES   400

/* Writes N_LINES long lines whose body encodes who wrote them. */
static void write_lines(int who)
{
	char body[900];

	for (int i = 0; i < N_LINES; i++) {
		int n = snprintf(body, sizeof(body), "w%d n%d ", who, i);

		memset(body + n, 'a' + who % 26, sizeof(body) - 1 - (size_t)n);
		body[sizeof(body) - 1] = '\0';
		CH_LOG_INFO("%s", body);
	}
}

static void *thread_main(void *arg)
{
	write_lines((int)(intptr_t)arg);
	return NULL;
}

/* Checks that every line is whole and every (writer, n) appears once. */
static void check_concurrent(const char *path, int writers)
{
	struct lines l;
	static char seen[16][N_LINES];

	memset(seen, 0, sizeof(seen));
	lines_read(path, &l);
	assert_int_equal(l.n, (size_t)writers * N_LINES);
	assert_true(l.last_has_nl);
	for (size_t i = 0; i < l.n; i++) {
		const char *msg = check_line(l.v[i], "INFO ", "stress");
		int who, n, off;

		assert_int_equal(sscanf(msg, "w%d n%d %n", &who, &n, &off), 2);
		assert_true(who >= 0 && who < writers && n >= 0 && n < N_LINES);
		assert_int_equal(seen[who][n], 0);
		seen[who][n] = 1;
		for (const char *p = msg + off; *p != '\0'; p++)
			assert_int_equal(*p, 'a' + who % 26);
		assert_int_equal(strlen(msg), 899);
	}
	lines_free(&l);
}

static void test_processes_do_not_interleave(void **state)
{
	char *path = tmp_path();
	pid_t pids[N_PROCS];

	(void)state;
	assert_int_equal(ch_log_open("stress", CH_LOG_LEVEL_INFO, path), 0);
	for (int p = 0; p < N_PROCS; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0) {
			write_lines(p);
			_exit(0);
		}
	}
	for (int p = 0; p < N_PROCS; p++) {
		int st;

		assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	ch_log_close();
	check_concurrent(path, N_PROCS);
	unlink(path);
	free(path);
}

static void test_threads_do_not_interleave(void **state)
{
	char *path = tmp_path();
	pthread_t th[N_THREADS];

	(void)state;
	assert_int_equal(ch_log_open("stress", CH_LOG_LEVEL_INFO, path), 0);
	for (int t = 0; t < N_THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, thread_main, (void *)(intptr_t)t), 0);
	for (int t = 0; t < N_THREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	ch_log_close();
	check_concurrent(path, N_THREADS);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_stderr),
	    cmocka_unit_test(test_format_and_levels),
	    cmocka_unit_test(test_newlines_and_truncation),
	    cmocka_unit_test(test_errno_helper),
	    cmocka_unit_test(test_level_parse_name),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_processes_do_not_interleave),
	    cmocka_unit_test(test_threads_do_not_interleave),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
