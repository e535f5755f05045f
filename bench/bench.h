/* bench.h: helpers shared by the bench programs (see docs/benchmarks.md).
 *
 *  - bench_now_ns(): CLOCK_MONOTONIC in ns; the same clock in every process,
 *    so a timestamp written by one process can be subtracted in another.
 *  - bench_emit(): one result as one JSON line on stdout, in the format
 *    run.sh collects:
 *      {"bench": B, "case": C, "value": V, "unit": U,
 *       "baseline": NAME|null, "baseline_value": X|null, "ratio": R|null}
 *    ratio = value / baseline_value when higher is better (throughput) and
 *    baseline_value / value when lower is better (latency), so a ratio above
 *    1 always means "better than the baseline".
 *  - bench_spawn()/bench_reap()/bench_kill_child(): a forked child that dies
 *    with its parent (PR_SET_PDEATHSIG), is killed by SIGALRM if it runs too
 *    long, and is killed and reaped by the parent on every failure path.
 *  - bench_tmp_*: one private temp directory, removed at exit and on
 *    SIGINT/SIGTERM/SIGHUP.
 *  - bench_percentile(): nearest-rank percentile of a sorted sample;
 *    bench_best(): best of n runs; bench_loadavg(): to log a busy machine.
 *
 * Everything is static inline so that a bench program may use any subset. */
#ifndef CH_BENCH_H
#define CH_BENCH_H

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NS_PER_US 1000ULL
#define BENCH_NS_PER_MS 1000000ULL
#define BENCH_NS_PER_S  1000000000ULL

/* A child that is still running after this many seconds is killed by its own
 * SIGALRM, whatever it is blocked in. */
#define BENCH_CHILD_MAX_S 30

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * BENCH_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* bench_cpu_ns: CPU time (user + system) of this process, all threads. */
static inline uint64_t bench_cpu_ns(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	uint64_t us = (uint64_t)ru.ru_utime.tv_sec * 1000000ULL + (uint64_t)ru.ru_utime.tv_usec +
	              (uint64_t)ru.ru_stime.tv_sec * 1000000ULL + (uint64_t)ru.ru_stime.tv_usec;
	return us * BENCH_NS_PER_US;
}

static inline void bench_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* bench_log: a human-readable line on stderr ("# " prefixed), never mixed
 * into the JSON on stdout. */
__attribute__((format(printf, 1, 2))) static inline void bench_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("# ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fflush(stderr);
}

/* ---------------------------------------------------------------- JSON */

typedef enum bench_better {
	BENCH_HIGHER_IS_BETTER = 1, /* throughput: ratio = value / baseline */
	BENCH_LOWER_IS_BETTER = 2,  /* latency: ratio = baseline / value */
} bench_better_t;

static inline void bench_json_num(double v)
{
	if (isfinite(v))
		printf("%.6g", v);
	else
		fputs("null", stdout);
}

/* bench_emit: one figure.  baseline NULL (or a non-finite baseline value)
 * gives "baseline": null, "baseline_value": null, "ratio": null. */
static inline void bench_emit(const char *bench, const char *cas, double value, const char *unit,
                              const char *baseline, double base_value, bench_better_t better)
{
	printf("{\"bench\": \"%s\", \"case\": \"%s\", \"value\": ", bench, cas);
	bench_json_num(value);
	printf(", \"unit\": \"%s\", \"baseline\": ", unit);
	if (baseline && isfinite(base_value) && isfinite(value)) {
		double ratio = NAN;
		if (better == BENCH_HIGHER_IS_BETTER && base_value > 0)
			ratio = value / base_value;
		else if (better == BENCH_LOWER_IS_BETTER && value > 0)
			ratio = base_value / value;
		printf("\"%s\", \"baseline_value\": ", baseline);
		bench_json_num(base_value);
		fputs(", \"ratio\": ", stdout);
		if (isfinite(ratio))
			printf("%.3g", ratio);
		else
			fputs("null", stdout);
	} else {
		fputs("null, \"baseline_value\": null, \"ratio\": null", stdout);
	}
	fputs("}\n", stdout);
	fflush(stdout);
}

/* ---------------------------------------------------------------- stats */

static inline int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a;
	uint64_t y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* bench_percentile: nearest-rank percentile q (0 < q <= 1) of n sorted
 * values; 0 if n == 0. */
static inline uint64_t bench_percentile(const uint64_t *sorted, size_t n, double q)
{
	if (n == 0)
		return 0;
	double rank = ceil(q * (double)n);
	size_t i = rank < 1 ? 0 : (size_t)rank - 1;
	return sorted[i < n ? i : n - 1];
}

/* bench_best: the largest finite value of n (best of n runs for a
 * higher-is-better figure); NAN if there is none. */
static inline double bench_best(const double *v, size_t n)
{
	double best = NAN;
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]) && !(v[i] <= best))
			best = v[i];
	return best;
}

/* bench_loadavg: the 1-minute load average (-1 if unknown), logged so that a
 * reader can tell a run on a busy machine. */
static inline double bench_loadavg(void)
{
	double l[1];
	return getloadavg(l, 1) == 1 ? l[0] : -1;
}

/* ---------------------------------------------------------------- temp dir */

static char bench_tmp_dir[PATH_MAX];
static char bench_tmp_file[PATH_MAX]; /* one file or empty dir in it, or "" */

static inline void bench_tmp_cleanup(void)
{
	if (bench_tmp_file[0] && unlink(bench_tmp_file) != 0)
		rmdir(bench_tmp_file); /* an (empty) directory */
	if (bench_tmp_dir[0])
		rmdir(bench_tmp_dir);
	bench_tmp_file[0] = 0;
	bench_tmp_dir[0] = 0;
}

/* bench_tmp_path: creates the temp dir on first use and returns dir/name in
 * bench_tmp_file (the caller unlinks it between runs; cleanup removes it). */
static inline const char *bench_tmp_path(const char *name)
{
	if (!bench_tmp_dir[0]) {
		const char *base = getenv("TMPDIR");
		if (!base || !*base)
			base = "/tmp";
		int n =
		    snprintf(bench_tmp_dir, sizeof(bench_tmp_dir), "%s/chorus-bench-XXXXXX", base);
		if (n < 0 || (size_t)n >= sizeof(bench_tmp_dir) || !mkdtemp(bench_tmp_dir)) {
			bench_tmp_dir[0] = 0;
			return NULL;
		}
	}
	int n = snprintf(bench_tmp_file, sizeof(bench_tmp_file), "%s/%s", bench_tmp_dir, name);
	if (n < 0 || (size_t)n >= sizeof(bench_tmp_file))
		return NULL;
	return bench_tmp_file;
}

/* ---------------------------------------------------------------- child */

static pid_t bench_child_pid = -1;

/* bench_kill_child: SIGKILL and reap the running child, if any. */
static inline void bench_kill_child(void)
{
	if (bench_child_pid > 0) {
		kill(bench_child_pid, SIGKILL);
		while (waitpid(bench_child_pid, NULL, 0) < 0 && errno == EINTR) {
		}
	}
	bench_child_pid = -1;
}

static inline void bench_on_signal(int sig)
{
	/* Only async-signal-safe calls: kill, waitpid, unlink, rmdir, raise. */
	if (bench_child_pid > 0) {
		kill(bench_child_pid, SIGKILL);
		waitpid(bench_child_pid, NULL, 0);
	}
	if (bench_tmp_file[0] && unlink(bench_tmp_file) != 0)
		rmdir(bench_tmp_file);
	if (bench_tmp_dir[0])
		rmdir(bench_tmp_dir);
	signal(sig, SIG_DFL);
	raise(sig);
}

static inline void bench_at_exit(void)
{
	bench_kill_child();
	bench_tmp_cleanup();
}

/* bench_init: cleanup at exit and on the usual terminating signals; ignores
 * SIGPIPE (a dead reader shows up as EPIPE). */
static inline void bench_init(void)
{
	atexit(bench_at_exit);
	signal(SIGINT, bench_on_signal);
	signal(SIGTERM, bench_on_signal);
	signal(SIGHUP, bench_on_signal);
	signal(SIGPIPE, SIG_IGN);
}

/* bench_spawn: forks a child that runs fn(arg) and exits 0 if it returned 0,
 * 1 otherwise.  The child dies with the parent and after BENCH_CHILD_MAX_S.
 * Returns 0 in the parent, -1 if fork failed. */
static inline int bench_spawn(int (*fn)(void *), void *arg)
{
	pid_t parent = getpid();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		alarm(BENCH_CHILD_MAX_S);
		_exit(fn(arg) == 0 ? 0 : 1);
	}
	bench_child_pid = pid;
	return 0;
}

/* bench_reap: waits up to timeout_ns for the child; kills it if it is still
 * running then.  0 if it exited with status 0, -1 otherwise. */
static inline int bench_reap(uint64_t timeout_ns)
{
	if (bench_child_pid <= 0)
		return -1;
	uint64_t deadline = bench_now_ns() + timeout_ns;
	int status = 0;
	for (uint32_t i = 0; i < 10000000u; i++) {
		pid_t p = waitpid(bench_child_pid, &status, WNOHANG);
		if (p == bench_child_pid) {
			bench_child_pid = -1;
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
		}
		if (p < 0 && errno != EINTR)
			break;
		if (bench_now_ns() >= deadline)
			break;
		struct timespec ts = {0, 200000};
		nanosleep(&ts, NULL);
	}
	bench_kill_child();
	return -1;
}

#endif
