/* restart_bench.c: service restart latency after kill -9.
 *
 * Starts a real node (chorusd and its four services) on a temporary datadir,
 * then 50 times: picks a service (round robin), reads its pid, kill -9s it,
 * and pings its command socket every millisecond until a process with a new
 * pid answers.  Reports p50 and p99 of that time.  The baseline, measured
 * in the same run, is the floor any restart pays: fork + execve of a tiny
 * program + waitpid.
 *
 * chorusd runs with --restart-stable 100ms so that each kill counts as a
 * first crash (restart at once, no backoff); kills are 150 ms apart. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "bench.h"
#include "ctl.h"
#include "err.h"
#include "mp.h"

#define KILLS 50

static const char *const svcs[] = {"transport", "discovery", "relay", "mempool"};

static char datadir[PATH_MAX];
static pid_t node_pid = -1;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* stop_node: SIGTERM (chorusd stops in order and removes its segment,
 * sockets and pid files), then the datadir itself. */
static void stop_node(void)
{
	if (node_pid <= 0) {
		if (datadir[0])
			nftw(datadir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		return;
	}
	if (node_pid > 0) {
		kill(node_pid, SIGTERM);
		for (int i = 0; i < 200; i++) {
			if (waitpid(node_pid, NULL, WNOHANG) == node_pid) {
				node_pid = -1;
				return;
			}
			usleep(10000);
		}
		kill(node_pid, SIGKILL);
		waitpid(node_pid, NULL, 0);
		node_pid = -1;
	}
	nftw(datadir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static pid_t read_pid(const char *svc)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/run/%s.pid", datadir, svc);
	FILE *f = fopen(path, "r");
	int pid = 0;
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

/* ping_pid: the pid that answers ping on svc's socket, 0 if none in time. */
static pid_t ping_pid(void *zctx, const char *svc, int timeout_ms)
{
	char ep[PATH_MAX + 64];
	if (ch_ctl_endpoint(datadir, svc, "cmd", ep, sizeof(ep)) != 0)
		return 0;
	ch_mpr_t r;
	ch_mpr_init(&r, 4096);
	pid_t pid = 0;
	ch_ctl_reply_t rep;
	if (ch_ctl_simple(zctx, ep, "ping", &r, timeout_ms) == 0 &&
	    ch_ctl_reply_get(&r, &rep) == 0 && rep.ok && rep.result) {
		uint64_t p;
		if (ch_mp_get_u64(rep.result, "pid", &p) == 0)
			pid = (pid_t)p;
	}
	ch_mpr_free(&r);
	return pid;
}

static uint64_t spawn_floor_ns(void)
{
	uint64_t t[50];
	for (int i = 0; i < 50; i++) {
		uint64_t t0 = bench_now_ns();
		pid_t p = fork();
		if (p == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		waitpid(p, NULL, 0);
		t[i] = bench_now_ns() - t0;
	}
	qsort(t, 50, sizeof(t[0]), bench_cmp_u64);
	return bench_percentile(t, 50, 0.5);
}

int main(int argc, char **argv)
{
	bench_init();
	/* the build to measure: argv[1] (a bin folder), else $CH_BUILD/bin (set
	 * by bench/run.sh), else build/bin */
	const char *build = getenv("CH_BUILD");
	char chorusd[PATH_MAX];
	if (argc > 1)
		snprintf(chorusd, sizeof(chorusd), "%s/chorusd", argv[1]);
	else
		snprintf(chorusd, sizeof(chorusd), "%s/bin/chorusd",
		         build && *build ? build : "build");
	const char *dd = bench_tmp_path("node");
	if (!dd) {
		fprintf(stderr, "restart_bench: no temp dir\n");
		return 1;
	}
	snprintf(datadir, sizeof(datadir), "%s", dd);
	atexit(stop_node);
	char listen[64];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", 30000 + getpid() % 5000);
	node_pid = fork();
	if (node_pid == 0) {
		char log[PATH_MAX + 16];
		snprintf(log, sizeof(log), "%s/chorus.log", datadir);
		execl(chorusd, "chorusd", "--datadir", datadir, "--foreground", "--listen", listen,
		      "--log-file", log, "--restart-stable", "100ms", (char *)NULL);
		_exit(127);
	}
	void *zctx = zmq_ctx_new();
	uint64_t t_start = bench_now_ns();
	for (int i = 0; i < 4; i++)
		while (ping_pid(zctx, svcs[i], 100) == 0) {
			if (bench_now_ns() - t_start > 20 * BENCH_NS_PER_S) {
				fprintf(stderr, "restart_bench: node did not start\n");
				return 1;
			}
		}
	uint64_t lat[KILLS];
	for (int k = 0; k < KILLS; k++) {
		const char *svc = svcs[k % 4];
		pid_t old = read_pid(svc);
		if (old <= 0) {
			fprintf(stderr, "restart_bench: no pid for %s\n", svc);
			return 1;
		}
		uint64_t t0 = bench_now_ns();
		kill(old, SIGKILL);
		for (;;) {
			pid_t now = ping_pid(zctx, svc, 5);
			if (now > 0 && now != old)
				break;
			if (bench_now_ns() - t0 > 10 * BENCH_NS_PER_S) {
				fprintf(stderr, "restart_bench: %s not back after 10 s\n", svc);
				return 1;
			}
			usleep(1000);
		}
		lat[k] = bench_now_ns() - t0;
		usleep(150000);
	}
	zmq_ctx_term(zctx);
	stop_node();
	uint64_t floor_ns = spawn_floor_ns();
	qsort(lat, KILLS, sizeof(lat[0]), bench_cmp_u64);
	double p50 = (double)bench_percentile(lat, KILLS, 0.5) / 1e6;
	double p99 = (double)bench_percentile(lat, KILLS, 0.99) / 1e6;
	double base = (double)floor_ns / 1e6;
	bench_emit("restart", "kill9_to_serving_p50", p50, "ms", "fork_exec_wait", base,
	           BENCH_LOWER_IS_BETTER);
	bench_emit("restart", "kill9_to_serving_p99", p99, "ms", "fork_exec_wait", base,
	           BENCH_LOWER_IS_BETTER);
	return 0;
}
