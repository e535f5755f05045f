/* chorusd: the node supervisor (DESIGN.md sections 1 and 2).
 *
 * Owns the datadir (lock, identity key, run/), the node's shared-memory
 * region and the rings' eventfds, starts the four services from its own
 * folder and keeps them running (node/supervisor.h), answers `status` and
 * `stop` on its command socket, and publishes events and metrics.
 *
 * Exit status: 0 after an orderly stop; 78 for a refused configuration or
 * an unusable datadir; 1 when the datadir is in use or a service failed
 * fatally; 64 for a usage error. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "ctlsock.h"
#include "datadir.h"
#include "err.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "node_config.h"
#include "node_layout.h"
#include "supervisor.h"

#define CHORUS_VERSION "0.1.0"
#define EXIT_USAGE     64

extern char **environ;

typedef struct node {
	ch_node_config_t cfg;
	char datadir[PATH_MAX];
	char log_path[PATH_MAX + 16];
	char shm_name[SHM_REGION_PATH_MAX];
	char pid_path[PATH_MAX + 32];
	char shm_path[PATH_MAX + 32];
	ch_identity_t ident;
	int lock_fd;
	shm_region_t *region;
	ch_node_ctl_t *ctl;
	int ring_fds[CH_RING_COUNT][2];
	shm_ring_t *observe[CH_RING_COUNT];
	ch_ctlsock_t sock;
	int sigfd;
	sup_t sup;
	uint32_t state;
	uint64_t started_ns;
	int exit_status;
	char **svc_argv;
	char **svc_envp;
	ch_metrics_t *metrics; /* NULL: metrics-listen not set */
} node_t;

/* node_set_state: the only place the node's state changes; logs and
 * publishes old and new. */
static void node_set_state(node_t *n, ch_node_state_t to)
{
	if (n->state == (uint32_t)to)
		return;
	const char *from = ch_node_state_name(n->state);
	CH_LOG_INFO("node state: %s -> %s", from, ch_node_state_name(to));
	n->state = to;
	if (n->ctl)
		atomic_store_explicit(&n->ctl->state, to, memory_order_relaxed);
	if (n->sock.pub) {
		ch_mpw_t w;
		ch_mpw_init(&w);
		ch_mpw_map(&w, 4);
		ch_mpw_kv_u64(&w, "ts", ch_wall_ms());
		ch_mpw_kv_str(&w, "service", "chorusd");
		ch_mpw_kv_str(&w, "from", from);
		ch_mpw_kv_str(&w, "to", ch_node_state_name(to));
		ch_ctlsock_publish(&n->sock, "event.chorusd.state", &w);
		ch_mpw_free(&w);
	}
}

static void on_sup_event(void *arg, const char *what, const sup_child_t *c, const char *action,
                         uint64_t delay_ms)
{
	node_t *n = arg;
	char topic[64], how[64];
	snprintf(topic, sizeof(topic), "event.chorusd.%s", what);
	bool exited = strcmp(what, "service_exited") == 0;
	ch_mpw_t w;
	ch_mpw_init(&w);
	ch_mpw_map(&w, exited ? 8 : 5);
	ch_mpw_kv_u64(&w, "ts", ch_wall_ms());
	ch_mpw_kv_str(&w, "service", "chorusd");
	ch_mpw_kv_str(&w, "name", c->name);
	ch_mpw_kv_u64(&w, "pid", (uint64_t)(c->last_pid > 0 ? c->last_pid : 0));
	ch_mpw_kv_u64(&w, "restarts", c->restarts);
	if (exited) {
		ch_wait_status_text(c->last_status, how, sizeof(how));
		ch_mpw_kv_str(&w, "status", how);
		ch_mpw_kv_str(&w, "action", action);
		ch_mpw_kv_u64(&w, "delay_ms", delay_ms);
	}
	ch_ctlsock_publish(&n->sock, topic, &w);
	ch_mpw_free(&w);
}

/* ---------------------------------------------------------------- commands */

static void write_services(node_t *n, ch_mpw_t *w)
{
	uint64_t now_wall = ch_wall_ms();
	msgpack_pack_array(&w->pk, CH_SVC_COUNT);
	for (int i = 0; i < CH_SVC_COUNT; i++) {
		const sup_child_t *c = &n->sup.child[i];
		char how[64];
		ch_wait_status_text(c->last_status, how, sizeof(how));
		uint64_t spawned = atomic_load(&c->ctl->spawned_wall_ms);
		ch_mpw_map(w, 7);
		ch_mpw_kv_str(w, "name", c->name);
		ch_mpw_kv_u64(w, "pid", (uint64_t)(c->pid > 0 ? c->pid : 0));
		ch_mpw_kv_str(w, "state", ch_sup_state_name(c->state));
		ch_mpw_kv_u64(w, "uptime_ms",
		              c->pid > 0 && now_wall > spawned ? now_wall - spawned : 0);
		ch_mpw_kv_u64(w, "restarts", c->restarts);
		ch_mpw_kv_str(w, "last_exit", how);
		/* wall ms of the running process's start (0: none): exact, so
		 * a scraper sees it change only when the process does */
		ch_mpw_kv_u64(w, "started_ms", c->pid > 0 ? spawned : 0);
	}
}

static void write_rings(node_t *n, ch_mpw_t *w)
{
	msgpack_pack_array(&w->pk, CH_RING_COUNT);
	for (int i = 0; i < CH_RING_COUNT; i++) {
		shm_ring_stats_t st;
		shm_ring_stats(n->observe[i], &st);
		ch_ctlsock_write_ring(w, ch_ring_descs[i].name, "observer", &st);
	}
}

static int cmd_status(node_t *n, ch_mpw_t *out)
{
	char id[2 * CH_NODE_ID_LEN + 1], pk[65];
	ch_hex_encode(id, sizeof(id), n->ident.id, sizeof(n->ident.id));
	ch_hex_encode(pk, sizeof(pk), n->ident.pk.b, sizeof(n->ident.pk.b));
	ch_mpw_map(out, 12);
	ch_mpw_kv_str(out, "service", "chorusd");
	ch_mpw_kv_u64(out, "pid", (uint64_t)getpid());
	ch_mpw_kv_str(out, "state", ch_node_state_name(n->state));
	ch_mpw_kv_u64(out, "uptime_ms", (ch_mono_ns() - n->started_ns) / 1000000);
	ch_mpw_kv_u64(out, "started_ms", n->ctl->started_wall_ms);
	ch_mpw_kv_str(out, "version", CHORUS_VERSION);
	ch_mpw_kv_str(out, "datadir", n->datadir);
	ch_mpw_kv_str(out, "network", n->cfg.network);
	ch_mpw_kv_str(out, "node_id", id);
	ch_mpw_kv_str(out, "pubkey", pk);
	ch_mpw_key(out, "services");
	write_services(n, out);
	ch_mpw_key(out, "rings");
	write_rings(n, out);
	return 0;
}

static const struct {
	const char *name, *help;
} node_cmds[] = {
    {"ping", "answer with the service name and pid"},
    {"status", "node state, services, rings"},
    {"stop", "stop the node in order"},
    {"help", "list these commands"},
};

static int node_dispatch(void *arg, const char *cmd, const msgpack_object *req, ch_mpw_t *out,
                         char *err, size_t errcap)
{
	node_t *n = arg;
	if (strcmp(cmd, "status") == 0)
		return cmd_status(n, out);
	if (strcmp(cmd, "ping") == 0) {
		ch_mpw_map(out, 2);
		ch_mpw_kv_str(out, "service", "chorusd");
		ch_mpw_kv_u64(out, "pid", (uint64_t)getpid());
		return 0;
	}
	if (strcmp(cmd, "stop") == 0) {
		CH_LOG_INFO("stop requested over the command socket");
		node_set_state(n, CH_NODE_STOPPING);
		sup_begin_stop(&n->sup);
		ch_mpw_map(out, 1);
		ch_mpw_kv_bool(out, "stopping", true);
		return 0;
	}
	if (strcmp(cmd, "help") == 0) {
		size_t k = sizeof(node_cmds) / sizeof(node_cmds[0]);
		ch_mpw_map(out, 1);
		ch_mpw_key(out, "commands");
		msgpack_pack_array(&out->pk, k);
		for (size_t i = 0; i < k; i++) {
			ch_mpw_map(out, 2);
			ch_mpw_kv_str(out, "name", node_cmds[i].name);
			ch_mpw_kv_str(out, "help", node_cmds[i].help);
		}
		return 0;
	}
	snprintf(err, errcap, "unknown command '%s'; known: ping status stop help", cmd);
	return CH_EUNKNOWN;
}

static void publish_metrics(node_t *n)
{
	ch_mpw_t w;
	ch_mpw_init(&w);
	ch_mpw_map(&w, 7);
	ch_mpw_kv_u64(&w, "ts", ch_wall_ms());
	ch_mpw_kv_str(&w, "service", "chorusd");
	ch_mpw_kv_u64(&w, "pid", (uint64_t)getpid());
	ch_mpw_kv_u64(&w, "uptime_ms", (ch_mono_ns() - n->started_ns) / 1000000);
	ch_mpw_kv_str(&w, "state", ch_node_state_name(n->state));
	ch_mpw_key(&w, "services");
	write_services(n, &w);
	ch_mpw_key(&w, "rings");
	write_rings(n, &w);
	ch_ctlsock_publish(&n->sock, "metrics.chorusd", &w);
	ch_mpw_free(&w);
}

/* ---------------------------------------------------------------- start-up */

/* build_service_args: the services get chorusd's own flags (so they parse
 * the same settings) with datadir, config and log file made absolute. */
static int build_service_args(node_t *n, int argc, char **argv)
{
	n->svc_argv = calloc((size_t)argc + 8, sizeof(char *));
	if (!n->svc_argv)
		return CH_ENOMEM;
	int k = 0;
	n->svc_argv[k++] = NULL; /* the program, set per child */
	for (int i = 1; i < argc; i++)
		n->svc_argv[k++] = argv[i];
	n->svc_argv[k++] = "--datadir";
	n->svc_argv[k++] = n->datadir;
	if (n->cfg.config[0]) {
		static char abs_config[PATH_MAX];
		if (!realpath(n->cfg.config, abs_config))
			snprintf(abs_config, sizeof(abs_config), "%s", n->cfg.config);
		n->svc_argv[k++] = "--config";
		n->svc_argv[k++] = abs_config;
	}
	if (n->log_path[0]) {
		n->svc_argv[k++] = "--log-file";
		n->svc_argv[k++] = n->log_path;
	}
	n->svc_argv[k] = NULL;

	size_t ne = 0;
	while (environ[ne])
		ne++;
	n->svc_envp = calloc(ne + 3, sizeof(char *));
	if (!n->svc_envp)
		return CH_ENOMEM;
	size_t j = 0;
	for (size_t i = 0; i < ne; i++)
		if (strncmp(environ[i], "CHORUS_RING_FDS=", 16) != 0 &&
		    strncmp(environ[i], "CHORUS_SUPERVISOR_PID=", 22) != 0)
			n->svc_envp[j++] = environ[i];
	static char fds_env[600], sup_env[64];
	char fds[512];
	if (ch_ring_fds_format((const int(*)[2])n->ring_fds, fds, sizeof(fds)) != 0)
		return CH_ERANGE;
	snprintf(fds_env, sizeof(fds_env), "CHORUS_RING_FDS=%s", fds);
	snprintf(sup_env, sizeof(sup_env), "CHORUS_SUPERVISOR_PID=%d", (int)getpid());
	n->svc_envp[j++] = fds_env;
	n->svc_envp[j++] = sup_env;
	n->svc_envp[j] = NULL;
	return 0;
}

/* daemonize: detach unless --foreground.  The parent waits until the child
 * reports that the node started (or why not) and exits with that status,
 * so `chorusd` in a script fails visibly. */
static int daemonize(int *report_fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		char buf[512];
		ssize_t r = read(p[0], buf, sizeof(buf) - 1);
		if (r <= 0) {
			fprintf(stderr, "chorusd: the background process died at start-up\n");
			_exit(1);
		}
		buf[r] = 0;
		int status = buf[0] - '0';
		fprintf(status ? stderr : stdout, "%s\n", buf + 1);
		_exit(status);
	}
	close(p[0]);
	setsid();
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	*report_fd = p[1];
	return 0;
}

static void report(int fd, int status, const char *msg)
{
	if (fd < 0)
		return;
	char buf[512];
	int k = snprintf(buf, sizeof(buf), "%d%s", status, msg);
	ssize_t w = write(fd, buf, (size_t)(k < (int)sizeof(buf) ? k : (int)sizeof(buf) - 1));
	(void)w;
	close(fd);
}

/* fail: reports a start-up refusal to the terminal, and to the log file
 * when there is one (when the log is stderr, once is enough). */
static int fail(node_t *n, int report_fd, int status, const char *msg)
{
	if (n->log_path[0] || n->cfg.log_file[0])
		CH_LOG_ERROR("%s", msg);
	if (report_fd >= 0) {
		char buf[520];
		snprintf(buf, sizeof(buf), "chorusd: %s", msg);
		report(report_fd, status, buf);
	} else {
		fprintf(stderr, "chorusd: %s\n", msg);
	}
	return status;
}

static int setup_shm(node_t *n, char *err, size_t errcap)
{
	int rc = shm_region_name(n->datadir, n->shm_name, sizeof(n->shm_name));
	if (rc) {
		snprintf(err, errcap, "cannot name the shared memory: %s", ch_strerror(rc));
		return rc;
	}
	datadir_clean_stale(n->datadir, n->shm_name);
	size_t size = ch_node_region_size(&n->cfg);
	rc = shm_region_create(n->shm_name, size, &n->region);
	if (rc) {
		snprintf(err, errcap, "cannot create shared memory %s (%zu bytes): %s", n->shm_name,
		         size, ch_strerror(rc));
		return rc;
	}
	rc = ch_node_layout_create(n->region, &n->cfg, &n->ctl);
	if (rc) {
		snprintf(err, errcap, "cannot lay out shared memory: %s", ch_strerror(rc));
		return rc;
	}
	atomic_store(&n->ctl->chorusd_pid, (int32_t)getpid());
	n->ctl->started_wall_ms = ch_wall_ms();
	for (int i = 0; i < CH_RING_COUNT; i++) {
		/* Not close-on-exec: every service inherits them. */
		n->ring_fds[i][0] = eventfd(0, EFD_NONBLOCK);
		n->ring_fds[i][1] = eventfd(0, EFD_NONBLOCK);
		if (n->ring_fds[i][0] < 0 || n->ring_fds[i][1] < 0) {
			snprintf(err, errcap, "eventfd: %s", strerror(errno));
			return CH_EIO;
		}
		rc = ch_node_ring_join(n->region, (ch_ring_id_t)i, SHM_RING_OBSERVER, NULL,
		                       &n->observe[i]);
		if (rc) {
			snprintf(err, errcap, "ring %s: %s", ch_ring_descs[i].name,
			         ch_strerror(rc));
			return rc;
		}
	}
	return 0;
}

static int setup_signals(node_t *n)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return CH_EIO;
	n->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	return n->sigfd < 0 ? CH_EIO : 0;
}

/* on_signals: drains the signalfd; all signal work happens here, in the
 * loop, never in a handler. */
static void on_signals(node_t *n)
{
	struct signalfd_siginfo si;
	while (read(n->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			sup_reap(&n->sup);
			break;
		case SIGTERM:
		case SIGINT:
			if (n->state != CH_NODE_STOPPING)
				CH_LOG_INFO("%s: stopping the node", strsignal((int)si.ssi_signo));
			node_set_state(n, CH_NODE_STOPPING);
			sup_begin_stop(&n->sup);
			break;
		case SIGHUP:
			CH_LOG_INFO("SIGHUP ignored (restart the node to change settings)");
			break;
		}
	}
}

static void node_loop(node_t *n)
{
	uint64_t last_metrics = ch_mono_ns();
	for (;;) {
		uint64_t now = ch_mono_ns();
		zmq_pollitem_t items[2] = {
		    {.socket = n->sock.cmd, .events = ZMQ_POLLIN},
		    {.fd = n->sigfd, .events = ZMQ_POLLIN},
		};
		int rc = zmq_poll(items, 2, sup_next_timeout_ms(&n->sup, now));
		if (rc < 0 && zmq_errno() != EINTR && zmq_errno() != EAGAIN) {
			CH_LOG_ERROR("zmq_poll: %s", zmq_strerror(zmq_errno()));
			n->exit_status = 1;
			node_set_state(n, CH_NODE_STOPPING);
			sup_begin_stop(&n->sup);
		}
		on_signals(n);
		if (rc > 0 && (items[0].revents & ZMQ_POLLIN))
			ch_ctlsock_serve(&n->sock, node_dispatch, n);
		now = ch_mono_ns();
		sup_tick(&n->sup, now);
		if (n->sup.fatal && n->state != CH_NODE_STOPPING) {
			n->exit_status = 1;
			node_set_state(n, CH_NODE_STOPPING);
			sup_begin_stop(&n->sup);
		}
		if (n->state == CH_NODE_STARTING && sup_all_ready(&n->sup))
			node_set_state(n, CH_NODE_RUNNING);
		if (n->state == CH_NODE_STOPPING && sup_all_stopped(&n->sup) &&
		    n->sup.stop_phase >= 3)
			return;
		if (now - last_metrics >= 1000000000ULL) {
			last_metrics = now;
			publish_metrics(n);
		}
	}
}

static void node_cleanup(node_t *n)
{
	ch_metrics_stop(&n->metrics);
	for (int i = 0; i < CH_RING_COUNT; i++) {
		shm_ring_leave(&n->observe[i]);
		for (int j = 0; j < 2; j++)
			if (n->ring_fds[i][j] >= 0)
				close(n->ring_fds[i][j]);
	}
	ch_ctlsock_close(&n->sock);
	shm_region_close(&n->region);
	if (n->shm_name[0])
		shm_region_unlink(n->shm_name);
	if (n->pid_path[0])
		unlink(n->pid_path);
	if (n->shm_path[0])
		unlink(n->shm_path);
	if (n->sigfd >= 0)
		close(n->sigfd);
	ch_identity_wipe(&n->ident);
	free(n->svc_argv);
	free(n->svc_envp);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: chorusd [--config FILE] [--datadir DIR] [--listen HOST:PORT] "
	             "[--dht-port PORT]\n"
	             "               [--seed HOST:PORT]... [--network NAME] [--max-peers N]\n"
	             "               [--log-level LEVEL] [--foreground] [options]\n\n"
	             "Runs a Chorus node: the supervisor and its four services.\n"
	             "Every option is also a config-file key (key = value); flags win.\n\n");
	ch_node_config_usage(out);
}

int main(int argc, char **argv)
{
	static node_t node;
	node_t *n = &node;
	n->lock_fd = n->sigfd = -1;
	for (int i = 0; i < CH_RING_COUNT; i++)
		n->ring_fds[i][0] = n->ring_fds[i][1] = -1;
	n->started_ns = ch_mono_ns();
	char err[1024];
	int argi = 0;
	int rc = ch_node_config_load(&n->cfg, argc, argv, &argi, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "chorusd: %s\n", err);
		return CH_EXIT_FATAL;
	}
	if (n->cfg.help) {
		usage(stdout);
		return 0;
	}
	if (n->cfg.version) {
		printf("chorusd %s\n", CHORUS_VERSION);
		return 0;
	}
	if (n->cfg.print_config) {
		ch_node_config_print(&n->cfg, stdout);
		return 0;
	}
	if (argi < argc) {
		fprintf(stderr, "chorusd: unexpected argument '%s' (see --help)\n", argv[argi]);
		return EXIT_USAGE;
	}
	rc = datadir_prepare(n->cfg.datadir, n->datadir, sizeof(n->datadir), err, sizeof(err));
	if (rc) {
		fprintf(stderr, "chorusd: %s\n", err);
		return CH_EXIT_FATAL;
	}
	char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0) {
		fprintf(stderr, "chorusd: cannot find its own folder: readlink: %s\n",
		        strerror(errno));
		return 1;
	}
	self[sl] = 0;
	const char *bindir = dirname(self);

	int report_fd = -1;
	if (!n->cfg.foreground) {
		if (n->cfg.log_file[0])
			snprintf(n->log_path, sizeof(n->log_path), "%s", n->cfg.log_file);
		else
			snprintf(n->log_path, sizeof(n->log_path), "%s/chorus.log", n->datadir);
		if (daemonize(&report_fd) != 0) {
			fprintf(stderr, "chorusd: cannot detach: %s\n", strerror(errno));
			return 1;
		}
	}
	ch_log_open("chorusd", n->cfg.log_level,
	            n->log_path[0] ? n->log_path : (n->cfg.log_file[0] ? n->cfg.log_file : NULL));

	rc = datadir_lock(n->datadir, &n->lock_fd, err, sizeof(err));
	if (rc)
		return fail(n, report_fd, 1, err);
	rc = ch_identity_load(n->datadir, true, &n->ident, err, sizeof(err));
	if (rc) {
		datadir_unlock(n->datadir, n->lock_fd);
		return fail(n, report_fd, CH_EXIT_FATAL, err);
	}
	int status = 0;
	if ((rc = setup_shm(n, err, sizeof(err))) != 0 ||
	    (rc = build_service_args(n, argc, argv)) != 0 ||
	    (rc = sup_init(&n->sup, bindir, &n->cfg, n->ctl, n->svc_argv, n->svc_envp, err,
	                   sizeof(err))) != 0 ||
	    (rc = ch_ctlsock_open(&n->sock, n->datadir, "chorusd", err, sizeof(err))) != 0) {
		status =
		    fail(n, report_fd, rc == CH_ERANGE || rc == CH_ENOENT ? CH_EXIT_FATAL : 1, err);
		node_cleanup(n);
		datadir_unlock(n->datadir, n->lock_fd);
		return status;
	}
	if (setup_signals(n) != 0) {
		status = fail(n, report_fd, 1, "cannot set up signal handling");
		node_cleanup(n);
		datadir_unlock(n->datadir, n->lock_fd);
		return status;
	}
	if (n->cfg.metrics_listen.port &&
	    (rc = ch_metrics_start(&n->metrics, &n->cfg.metrics_listen, n->datadir, err,
	                           sizeof(err))) != 0) {
		/* an address in use or not ours is a configuration problem.
		 * Started after setup_signals: its thread inherits the blocked
		 * mask, so SIGCHLD and SIGTERM still reach the signalfd. */
		status = fail(n, report_fd, rc == CH_EINVAL ? CH_EXIT_FATAL : 1, err);
		node_cleanup(n);
		datadir_unlock(n->datadir, n->lock_fd);
		return status;
	}
	snprintf(n->pid_path, sizeof(n->pid_path), "%s/run/chorusd.pid", n->datadir);
	snprintf(n->shm_path, sizeof(n->shm_path), "%s/run/chorusd.shm", n->datadir);
	/* run/chorusd.pid and run/chorusd.shm tell operators (and tests) which
	 * process and which segment belong to this datadir. */
	FILE *pf = fopen(n->pid_path, "w");
	if (pf) {
		fprintf(pf, "%d\n", (int)getpid());
		fclose(pf);
	}
	pf = fopen(n->shm_path, "w");
	if (pf) {
		fprintf(pf, "%s\n", n->shm_name);
		fclose(pf);
	}
	char id[2 * CH_NODE_ID_LEN + 1];
	ch_hex_encode(id, sizeof(id), n->ident.id, sizeof(n->ident.id));
	CH_LOG_INFO("chorusd %s starting: datadir %s, network %s, node id %s, shm %s",
	            CHORUS_VERSION, n->datadir, n->cfg.network, id, n->shm_name);
	if (n->metrics)
		CH_LOG_INFO("metrics at http://%s/metrics", n->cfg.metrics_listen.str);
	n->sup.on_event = on_sup_event;
	n->sup.event_arg = n;
	node_set_state(n, CH_NODE_STARTING);
	sup_start_all(&n->sup);
	if (report_fd >= 0) {
		char msg[PATH_MAX * 2 + 64];
		snprintf(msg, sizeof(msg), "chorusd started in the background (pid %d); log: %s",
		         (int)getpid(), n->log_path);
		report(report_fd, 0, msg);
	}
	node_loop(n);
	node_set_state(n, CH_NODE_STOPPED);
	status = n->exit_status;
	CH_LOG_INFO("chorusd stopped (exit %d)", status);
	node_cleanup(n);
	datadir_unlock(n->datadir, n->lock_fd);
	ch_log_close();
	return status;
}
