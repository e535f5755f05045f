/* service.c: the service frame (see service.h). */
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "ctl.h"
#include "ctlsock.h"
#include "err.h"
#include "fileio.h"
#include "hash.h"
#include "log.h"

#define SVC_MAX_WATCH  64
#define SVC_TICK_MS    100
#define SVC_METRICS_NS 1000000000ULL
#define SVC_REQ_MAX    (1 << 20) /* largest command request accepted */

typedef struct svc_watch {
	int fd;
	short events;
	ch_svc_fd_fn cb;
	void *arg;
} svc_watch_t;

struct ch_svc {
	const ch_svc_ops_t *ops;
	void *user;
	ch_svc_id_t id;
	ch_node_config_t cfg;
	char run_dir[CH_PATH_MAX + 8];
	char pid_path[CH_PATH_MAX + 32];
	pid_t supervisor;
	uint64_t started_ns;

	shm_region_t *region;
	ch_node_ctl_t *node;
	ch_svc_ctl_t *ctl;
	int ring_fds[CH_RING_COUNT][2];
	shm_ring_t *rings[CH_RING_COUNT];
	shm_ring_role_t roles[CH_RING_COUNT];
	bool want_space[CH_RING_COUNT];

	ch_ctlsock_t sock;

	svc_watch_t watch[SVC_MAX_WATCH];
	size_t nwatch;

	ch_timers_t timers;
	struct {
		ch_svc_timer_fn fn;
		void *arg;
	} tcb[CH_TIMERS_MAX];
	ch_caller_t *caller;

	char errmsg[256];
	bool stop;
};

static volatile sig_atomic_t svc_signalled;

/* on_signal: only sets a flag; the loop notices within one tick. */
static void on_signal(int sig)
{
	(void)sig;
	svc_signalled = 1;
}

const ch_node_config_t *ch_svc_config(const ch_svc_t *svc)
{
	return &svc->cfg;
}

shm_ring_t *ch_svc_ring(ch_svc_t *svc, ch_ring_id_t id)
{
	return ((int)id >= 0 && id < CH_RING_COUNT) ? svc->rings[id] : NULL;
}

void ch_svc_want_space(ch_svc_t *svc, ch_ring_id_t id)
{
	if ((int)id >= 0 && id < CH_RING_COUNT && svc->roles[id] == SHM_RING_PRODUCER)
		svc->want_space[id] = true;
}

uint64_t ch_svc_node_epoch(const ch_svc_t *svc)
{
	uint64_t in[2] = {(uint64_t)atomic_load(&svc->node->chorusd_pid),
	                  svc->node->started_wall_ms};
	uint8_t h[32];
	uint64_t e;
	ch_blake2b256(h, in, sizeof(in));
	memcpy(&e, h, sizeof(e));
	return e;
}

void *ch_svc_zctx(ch_svc_t *svc)
{
	return svc->sock.zctx;
}

void ch_svc_request_stop(ch_svc_t *svc)
{
	svc->stop = true;
}

void ch_svc_set_error(ch_svc_t *svc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(svc->errmsg, sizeof(svc->errmsg), fmt, ap);
	va_end(ap);
}

int ch_svc_watch(ch_svc_t *svc, int fd, short events, ch_svc_fd_fn cb, void *arg)
{
	for (size_t i = 0; i < svc->nwatch; i++)
		if (svc->watch[i].fd == fd) {
			svc->watch[i] = (svc_watch_t){fd, events, cb, arg};
			return 0;
		}
	if (svc->nwatch >= SVC_MAX_WATCH)
		return CH_ENOMEM;
	svc->watch[svc->nwatch++] = (svc_watch_t){fd, events, cb, arg};
	return 0;
}

int ch_svc_unwatch(ch_svc_t *svc, int fd)
{
	for (size_t i = 0; i < svc->nwatch; i++)
		if (svc->watch[i].fd == fd) {
			/* Mark instead of compacting: a callback may be running. */
			svc->watch[i].fd = -1;
			return 0;
		}
	return CH_ENOENT;
}

static void compact_watches(ch_svc_t *svc)
{
	size_t j = 0;
	for (size_t i = 0; i < svc->nwatch; i++)
		if (svc->watch[i].fd >= 0)
			svc->watch[j++] = svc->watch[i];
	svc->nwatch = j;
}

ch_svc_reply_t *ch_svc_defer(ch_svc_t *svc)
{
	return ch_ctlsock_defer(&svc->sock);
}

void ch_svc_reply(ch_svc_t *svc, ch_svc_reply_t *r, const ch_mpw_t *result)
{
	ch_ctlsock_answer(&svc->sock, r, 0, result, NULL);
}

void ch_svc_reply_error(ch_svc_t *svc, ch_svc_reply_t *r, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ch_ctlsock_answer(&svc->sock, r, code < 0 ? code : CH_EINVAL, NULL, msg);
}

int ch_svc_call(ch_svc_t *svc, const char *name, const ch_mpw_t *req, uint32_t timeout_ms,
                ch_call_fn fn, void *arg, uint64_t *id)
{
	char ep[CH_CTL_ENDPOINT_MAX];
	if (!svc->caller || !req || ch_mpw_error(req))
		return CH_EINVAL;
	int rc = ch_ctl_endpoint(svc->cfg.datadir, name, "cmd", ep, sizeof(ep));
	if (rc)
		return rc;
	return ch_caller_call(svc->caller, ep, ch_mpw_data(req), ch_mpw_size(req),
	                      ch_mono_ns() + (uint64_t)timeout_ms * 1000000ULL, fn, arg, id);
}

int ch_svc_call_cancel(ch_svc_t *svc, uint64_t id)
{
	return ch_caller_cancel(svc->caller, id);
}

/* timer_tramp: the table's callback, calling the service's. */
static void timer_tramp(void *ctx, void *arg, uint32_t id)
{
	ch_svc_t *svc = ctx;
	size_t slot = (size_t)(uintptr_t)arg;
	svc->tcb[slot].fn(svc, svc->tcb[slot].arg, id);
}

int ch_svc_timer_add(ch_svc_t *svc, uint64_t due_ns, uint64_t period_ns, ch_svc_timer_fn fn,
                     void *arg, uint32_t *id)
{
	uint32_t tid;
	if (!fn || !id)
		return CH_EINVAL;
	int rc = ch_timers_add(&svc->timers, due_ns, period_ns, timer_tramp, NULL, &tid);
	if (rc)
		return rc;
	size_t slot = (tid & 0xffffu) - 1;
	svc->timers.t[slot].arg = (void *)(uintptr_t)slot;
	svc->tcb[slot].fn = fn;
	svc->tcb[slot].arg = arg;
	*id = tid;
	return 0;
}

int ch_svc_timer_set(ch_svc_t *svc, uint32_t id, uint64_t due_ns)
{
	return ch_timers_set(&svc->timers, id, due_ns);
}

int ch_svc_timer_cancel(ch_svc_t *svc, uint32_t id)
{
	return ch_timers_cancel(&svc->timers, id);
}

int ch_svc_event(ch_svc_t *svc, const char *what, int npairs,
                 void (*fill)(ch_mpw_t *w, const void *arg), const void *arg)
{
	char topic[96];
	snprintf(topic, sizeof(topic), "event.%s.%s", svc->ops->name, what);
	ch_mpw_t w;
	ch_mpw_init(&w);
	ch_mpw_map(&w, (size_t)npairs + 2);
	ch_mpw_kv_u64(&w, "ts", ch_wall_ms());
	ch_mpw_kv_str(&w, "service", svc->ops->name);
	if (fill)
		fill(&w, arg);
	int rc = ch_ctlsock_publish(&svc->sock, topic, &w);
	ch_mpw_free(&w);
	return rc;
}

int ch_svc_publish(ch_svc_t *svc, const char *what, const ch_mpw_t *body)
{
	char topic[96];
	snprintf(topic, sizeof(topic), "event.%s.%s", svc->ops->name, what);
	return ch_ctlsock_publish(&svc->sock, topic, body);
}

/* rings_status: the RING entries of docs/control.md for status and metrics. */
static void write_rings(ch_svc_t *svc, ch_mpw_t *w)
{
	int n = 0;
	for (int i = 0; i < CH_RING_COUNT; i++)
		n += svc->rings[i] != NULL;
	ch_mpw_key(w, "rings");
	msgpack_pack_array(&w->pk, (size_t)n);
	for (int i = 0; i < CH_RING_COUNT; i++) {
		if (!svc->rings[i])
			continue;
		shm_ring_stats_t st;
		shm_ring_stats(svc->rings[i], &st);
		ch_ctlsock_write_ring(w, ch_ring_descs[i].name,
		                      svc->roles[i] == SHM_RING_PRODUCER ? "producer" : "consumer",
		                      &st);
	}
}

/* append_pairs: lets the service write its own pairs after the frame's. */
static int own_pairs(ch_svc_t *svc, int (*fn)(ch_svc_t *, void *, ch_mpw_t *), ch_mpw_t *extra)
{
	return fn ? fn(svc, svc->user, extra) : 0;
}

static void publish_metrics(ch_svc_t *svc)
{
	ch_mpw_t extra, w;
	ch_mpw_init(&extra);
	ch_mpw_init(&w);
	int n = own_pairs(svc, svc->ops->metrics, &extra);
	ch_mpw_map(&w, 5 + (size_t)(n > 0 ? n : 0));
	ch_mpw_kv_u64(&w, "ts", ch_wall_ms());
	ch_mpw_kv_str(&w, "service", svc->ops->name);
	ch_mpw_kv_u64(&w, "pid", (uint64_t)getpid());
	ch_mpw_kv_u64(&w, "uptime_ms", (ch_mono_ns() - svc->started_ns) / 1000000);
	write_rings(svc, &w);
	if (n > 0)
		msgpack_sbuffer_write(&w.sb, ch_mpw_data(&extra), ch_mpw_size(&extra));
	char topic[64];
	snprintf(topic, sizeof(topic), "metrics.%s", svc->ops->name);
	ch_ctlsock_publish(&svc->sock, topic, &w);
	ch_mpw_free(&extra);
	ch_mpw_free(&w);
}

/* builtin commands: ping, help, status */
static int cmd_ping(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	ch_mpw_map(out, 2);
	ch_mpw_kv_str(out, "service", svc->ops->name);
	ch_mpw_kv_u64(out, "pid", (uint64_t)getpid());
	return 0;
}

static int cmd_status(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	ch_mpw_t extra;
	ch_mpw_init(&extra);
	int n = own_pairs(svc, svc->ops->status, &extra);
	ch_mpw_map(out, 8 + (size_t)(n > 0 ? n : 0));
	ch_mpw_kv_str(out, "service", svc->ops->name);
	ch_mpw_kv_u64(out, "pid", (uint64_t)getpid());
	ch_mpw_kv_str(out, "state", svc->stop ? "stopping" : "ready");
	ch_mpw_kv_u64(out, "uptime_ms", (ch_mono_ns() - svc->started_ns) / 1000000);
	ch_mpw_kv_u64(out, "replies_pending", svc->sock.npending);
	ch_mpw_kv_u64(out, "calls_in_flight", ch_caller_inflight(svc->caller));
	ch_mpw_kv_u64(out, "timers", svc->timers.n);
	write_rings(svc, out);
	if (n > 0)
		msgpack_sbuffer_write(&out->sb, ch_mpw_data(&extra), ch_mpw_size(&extra));
	ch_mpw_free(&extra);
	return 0;
}

/* cmd_metrics: the body of the last `metrics.NAME` publication, made now:
 * what chorusd's Prometheus endpoint gathers. */
static int cmd_metrics(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	ch_mpw_t extra;
	ch_mpw_init(&extra);
	int n = own_pairs(svc, svc->ops->metrics, &extra);
	ch_mpw_map(out, 5 + (size_t)(n > 0 ? n : 0));
	ch_mpw_kv_u64(out, "ts", ch_wall_ms());
	ch_mpw_kv_str(out, "service", svc->ops->name);
	ch_mpw_kv_u64(out, "pid", (uint64_t)getpid());
	ch_mpw_kv_u64(out, "uptime_ms", (ch_mono_ns() - svc->started_ns) / 1000000);
	write_rings(svc, out);
	if (n > 0)
		msgpack_sbuffer_write(&out->sb, ch_mpw_data(&extra), ch_mpw_size(&extra));
	ch_mpw_free(&extra);
	return 0;
}

static int cmd_help(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out);

static const ch_svc_cmd_t builtin_cmds[] = {
    {"ping", cmd_ping, "answer with the service name and pid"},
    {"status", cmd_status, "state, uptime and rings of this service"},
    {"metrics", cmd_metrics, "the counters this service publishes every second"},
    {"help", cmd_help, "list the commands of this service"},
};
#define NBUILTIN (sizeof(builtin_cmds) / sizeof(builtin_cmds[0]))

static int cmd_help(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	ch_mpw_map(out, 1);
	ch_mpw_key(out, "commands");
	msgpack_pack_array(&out->pk, NBUILTIN + svc->ops->ncmds);
	for (size_t i = 0; i < NBUILTIN + svc->ops->ncmds; i++) {
		const ch_svc_cmd_t *c =
		    i < NBUILTIN ? &builtin_cmds[i] : &svc->ops->cmds[i - NBUILTIN];
		ch_mpw_map(out, 2);
		ch_mpw_kv_str(out, "name", c->name);
		ch_mpw_kv_str(out, "help", c->help ? c->help : "");
	}
	return 0;
}

/* dispatch: finds the handler for a request; fills errmsg for unknown ones
 * with the list of known commands. */
static int dispatch(void *arg, const char *cmd, const msgpack_object *req, ch_mpw_t *out, char *err,
                    size_t errcap)
{
	ch_svc_t *svc = arg;
	const ch_svc_cmd_t *c = NULL;
	for (size_t i = 0; i < NBUILTIN && !c; i++)
		if (strcmp(builtin_cmds[i].name, cmd) == 0)
			c = &builtin_cmds[i];
	for (size_t i = 0; i < svc->ops->ncmds && !c; i++)
		if (strcmp(svc->ops->cmds[i].name, cmd) == 0)
			c = &svc->ops->cmds[i];
	if (!c) {
		size_t used = (size_t)snprintf(err, errcap, "unknown command '%s'; known:", cmd);
		for (size_t i = 0; i < NBUILTIN + svc->ops->ncmds && used < errcap; i++) {
			const char *name =
			    i < NBUILTIN ? builtin_cmds[i].name : svc->ops->cmds[i - NBUILTIN].name;
			used += (size_t)snprintf(err + used, errcap - used, " %s", name);
		}
		return CH_EUNKNOWN;
	}
	svc->errmsg[0] = 0;
	int rc = c->fn(svc, svc->user, req, out);
	if (rc)
		snprintf(err, errcap, "%s", svc->errmsg[0] ? svc->errmsg : ch_strerror(rc));
	return rc;
}

/* write_pid_file: run/NAME.pid, for operators and scripts; atomic, so a
 * reader never sees it empty. */
static int write_pid_file(ch_svc_t *svc)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ch_file_write_atomic(svc->pid_path, buf, (size_t)n, 0644, 0) != 0) {
		ch_log_errno(CH_LOG_LEVEL_ERROR, "write", "cannot write %s", svc->pid_path);
		return CH_EIO;
	}
	return 0;
}

/* svc_setup: everything before "ready".  Returns an exit status (0: go on). */
static int svc_setup(ch_svc_t *svc, int argc, char **argv)
{
	char err[512];
	int argi = 0;
	int rc = ch_node_config_load(&svc->cfg, argc, argv, &argi, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "chorus-%s: %s\n", svc->ops->name, err);
		return CH_EXIT_FATAL;
	}
	if (argi < argc) {
		fprintf(stderr, "chorus-%s: unexpected argument '%s'\n", svc->ops->name,
		        argv[argi]);
		return CH_EXIT_FATAL;
	}
	ch_log_open(svc->ops->name, svc->cfg.log_level,
	            svc->cfg.log_file[0] ? svc->cfg.log_file : NULL);
	const char *fds = getenv("CHORUS_RING_FDS");
	const char *sup = getenv("CHORUS_SUPERVISOR_PID");
	if (!fds || !sup) {
		CH_LOG_ERROR("chorus-%s is started by chorusd, not by hand "
		             "(CHORUS_RING_FDS and CHORUS_SUPERVISOR_PID are not set)",
		             svc->ops->name);
		return CH_EXIT_FATAL;
	}
	svc->supervisor = (pid_t)atoi(sup);
	if (ch_ring_fds_parse(fds, svc->ring_fds) != 0) {
		CH_LOG_ERROR("CHORUS_RING_FDS is malformed: %s", fds);
		return CH_EXIT_FATAL;
	}
	snprintf(svc->run_dir, sizeof(svc->run_dir), "%s/run", svc->cfg.datadir);
	snprintf(svc->pid_path, sizeof(svc->pid_path), "%s/%s.pid", svc->run_dir, svc->ops->name);

	char shm_name[SHM_REGION_PATH_MAX];
	rc = shm_region_name(svc->cfg.datadir, shm_name, sizeof(shm_name));
	if (!rc)
		rc = shm_region_open(shm_name, &svc->region);
	if (!rc)
		rc = ch_node_layout_open(svc->region, &svc->node);
	if (rc) {
		CH_LOG_ERROR("cannot join the node's shared memory for %s: %s", svc->cfg.datadir,
		             ch_strerror(rc));
		return CH_EXIT_FATAL;
	}
	svc->ctl = &svc->node->svc[svc->id];
	atomic_store_explicit(&svc->ctl->self_pid, (int32_t)getpid(), memory_order_relaxed);
	atomic_store_explicit(&svc->ctl->self_state, CH_SELF_STARTING, memory_order_release);

	for (int i = 0; i < CH_RING_COUNT; i++) {
		shm_ring_role_t role = 0;
		if (ch_ring_descs[i].producer == svc->id)
			role = SHM_RING_PRODUCER;
		else if (ch_ring_descs[i].consumer == svc->id)
			role = SHM_RING_CONSUMER;
		if (!role)
			continue;
		rc = ch_node_ring_join(svc->region, (ch_ring_id_t)i, role,
		                       (const int(*)[2])svc->ring_fds, &svc->rings[i]);
		if (rc) {
			CH_LOG_ERROR("cannot join ring %s: %s", ch_ring_descs[i].name,
			             ch_strerror(rc));
			return CH_EXIT_FATAL;
		}
		svc->roles[i] = role;
	}

	rc = ch_ctlsock_open(&svc->sock, svc->cfg.datadir, svc->ops->name, err, sizeof(err));
	if (rc) {
		CH_LOG_ERROR("%s", err);
		return rc == CH_ERANGE ? CH_EXIT_FATAL : 1;
	}
	svc->caller = ch_caller_new(svc->sock.zctx);
	if (!svc->caller) {
		CH_LOG_ERROR("out of memory");
		return 1;
	}
	if (write_pid_file(svc))
		return 1;
	if (svc->ops->init) {
		rc = svc->ops->init(svc, &svc->user);
		if (rc) {
			CH_LOG_ERROR("init failed: %s", ch_strerror(rc));
			return rc == CH_EINVAL ? CH_EXIT_FATAL : 1;
		}
	}
	atomic_store_explicit(&svc->ctl->ready_ns, ch_mono_ns(), memory_order_relaxed);
	atomic_store_explicit(&svc->ctl->self_state, CH_SELF_READY, memory_order_release);
	CH_LOG_INFO("ready (pid %d)", (int)getpid());
	return 0;
}

static void svc_teardown(ch_svc_t *svc)
{
	/* calls in flight end (CH_ECLOSED) while the service's state lives */
	ch_caller_free(&svc->caller);
	if (svc->ops->fini && svc->user)
		svc->ops->fini(svc, svc->user);
	ch_ctlsock_close(&svc->sock);
	for (int i = 0; i < CH_RING_COUNT; i++) {
		if (svc->rings[i] && svc->roles[i] == SHM_RING_PRODUCER)
			shm_ring_publish(svc->rings[i]);
		if (svc->rings[i] && svc->roles[i] == SHM_RING_CONSUMER)
			shm_ring_commit(svc->rings[i]);
		shm_ring_leave(&svc->rings[i]);
	}
	if (svc->ctl)
		atomic_store_explicit(&svc->ctl->self_state, CH_SELF_NONE, memory_order_release);
	shm_region_close(&svc->region);
	unlink(svc->pid_path);
}

/* sleep_rings: declares sleep on every ring we wait on; false if one of
 * them has new work (then we must not sleep).  For an input ring, "new"
 * means published after seen[i], the position it had before the service's
 * last turn: records the service left there on purpose (its output is full)
 * do not keep it awake, records that arrived during the turn do. */
static bool sleep_rings(ch_svc_t *svc, const uint64_t seen[CH_RING_COUNT],
                        bool prepared[CH_RING_COUNT])
{
	bool ok = true;
	for (int i = 0; i < CH_RING_COUNT; i++) {
		prepared[i] = false;
		if (!svc->rings[i])
			continue;
		bool may;
		if (svc->roles[i] == SHM_RING_CONSUMER)
			may = shm_ring_sleep_prepare_seen(svc->rings[i], seen[i]);
		else if (svc->want_space[i])
			may = shm_ring_sleep_prepare(svc->rings[i]);
		else
			continue;
		if (!may) {
			ok = false;
			continue;
		}
		prepared[i] = true;
	}
	return ok;
}

/* run_due: the timers and call timeouts due at now; how many ran. */
static int run_due(ch_svc_t *svc, uint64_t now)
{
	int n = 0;
	uint64_t t = ch_timers_next(&svc->timers);
	if (t && t <= now)
		n += ch_timers_run(&svc->timers, now, svc);
	t = ch_caller_next(svc->caller);
	if (t && t <= now)
		n += ch_caller_expire(svc->caller, now);
	return n;
}

/* sleep_ms: how long the loop may block: the tick, or less when a timer or
 * a call's timeout is due sooner (rounded up to the next millisecond). */
static long sleep_ms(ch_svc_t *svc, uint64_t now)
{
	uint64_t next = ch_timers_next(&svc->timers), c = ch_caller_next(svc->caller);
	if (c && (!next || c < next))
		next = c;
	if (!next)
		return SVC_TICK_MS;
	if (next <= now)
		return 0;
	uint64_t ms = (next - now + 999999) / 1000000;
	return ms < SVC_TICK_MS ? (long)ms : SVC_TICK_MS;
}

static void svc_loop(ch_svc_t *svc)
{
	uint64_t spin_ns = (uint64_t)svc->cfg.ring_spin_us * 1000;
	uint64_t last_work = 0, last_metrics = ch_mono_ns(), stop_deadline = 0;
	zmq_pollitem_t items[1 + CH_CALL_ENDPOINTS + CH_RING_COUNT + SVC_MAX_WATCH];
	uint32_t turn = 0;
	for (;;) {
		uint64_t now = ch_mono_ns();
		atomic_store_explicit(&svc->ctl->heartbeat_ns, now, memory_order_relaxed);
		if (svc_signalled && !svc->stop)
			svc->stop = true;
		if (svc->stop) {
			if (!stop_deadline) {
				CH_LOG_INFO("stopping");
				atomic_store_explicit(&svc->ctl->self_state, CH_SELF_STOPPING,
				                      memory_order_release);
				uint64_t t = svc->cfg.stop_timeout_ms;
				stop_deadline = now + (t > 1000 ? t - 500 : t / 2) * 1000000ULL;
			}
			int left = svc->ops->drain ? svc->ops->drain(svc, svc->user) : 0;
			if (left == 0 || now > stop_deadline) {
				if (left)
					CH_LOG_WARN("stop timeout with %d items in flight", left);
				return;
			}
		}
		uint64_t seen[CH_RING_COUNT] = {0};
		for (int i = 0; i < CH_RING_COUNT; i++) {
			svc->want_space[i] = false;
			if (svc->rings[i] && svc->roles[i] == SHM_RING_CONSUMER)
				seen[i] = shm_ring_published(svc->rings[i]);
		}
		int did = run_due(svc, now);
		did += svc->ops->work ? svc->ops->work(svc, svc->user, now) : 0;
		if (did > 0)
			last_work = now;

		/* Spin while recently busy; poll the sockets only now and then. */
		bool spinning = did > 0 || now - last_work < spin_ns;
		if (spinning && (++turn & 255) != 0)
			continue;

		size_t n = 0;
		items[n++] = (zmq_pollitem_t){.socket = svc->sock.cmd, .events = ZMQ_POLLIN};
		size_t call_base = n;
		n += ch_caller_pollitems(svc->caller, items + n, CH_CALL_ENDPOINTS);
		size_t ncall = n - call_base;
		bool prepared[CH_RING_COUNT] = {false};
		long timeout = sleep_ms(svc, now);
		if (spinning || svc->stop)
			timeout = 0;
		else if (!sleep_rings(svc, seen, prepared))
			timeout = 0;
		for (int i = 0; i < CH_RING_COUNT; i++)
			if (prepared[i])
				items[n++] = (zmq_pollitem_t){.fd = shm_ring_wake_fd(svc->rings[i]),
				                              .events = ZMQ_POLLIN};
		size_t watch_base = n;
		for (size_t i = 0; i < svc->nwatch; i++)
			items[n++] = (zmq_pollitem_t){.fd = svc->watch[i].fd,
			                              .events = svc->watch[i].events};
		int rc = zmq_poll(items, (int)n, timeout);
		for (int i = 0; i < CH_RING_COUNT; i++)
			if (prepared[i])
				shm_ring_sleep_done(svc->rings[i]);
		/* A signal interrupts zmq_poll (EINTR, or EAGAIN from its
		 * internal retry): the next turn sees the stop flag. */
		if (rc < 0 && zmq_errno() != EINTR && zmq_errno() != EAGAIN) {
			CH_LOG_ERROR("zmq_poll: %s", zmq_strerror(zmq_errno()));
			return;
		}
		if (rc < 0)
			continue;
		if (rc > 0 && (items[0].revents & ZMQ_POLLIN))
			ch_ctlsock_serve(&svc->sock, dispatch, svc);
		for (size_t i = 0; rc > 0 && i < ncall; i++)
			if (items[call_base + i].revents & ZMQ_POLLIN) {
				ch_caller_recv(svc->caller);
				break;
			}
		size_t nw = svc->nwatch;
		for (size_t i = 0; rc > 0 && i < nw; i++) {
			svc_watch_t *w = &svc->watch[i];
			short rev = items[watch_base + i].revents;
			if (w->fd >= 0 && rev)
				w->cb(svc, w->arg, w->fd, rev);
		}
		compact_watches(svc);

		now = ch_mono_ns();
		if (now - last_metrics >= SVC_METRICS_NS) {
			last_metrics = now;
			publish_metrics(svc);
			/* chorusd gone (and PDEATHSIG missed, e.g. a race at
			 * spawn): do not live on as an orphan. */
			if (getppid() != svc->supervisor) {
				CH_LOG_WARN("chorusd (pid %d) is gone; exiting",
				            (int)svc->supervisor);
				svc->stop = true;
			}
		}
	}
}

int ch_svc_main(const ch_svc_ops_t *ops, int argc, char **argv)
{
	ch_svc_t *svc = calloc(1, sizeof(*svc));
	if (!svc)
		return 1;
	svc->ops = ops;
	svc->started_ns = ch_mono_ns();
	ch_timers_init(&svc->timers);
	if (ch_svc_lookup(ops->name, &svc->id) != 0) {
		fprintf(stderr, "chorus: unknown service name %s\n", ops->name);
		free(svc);
		return CH_EXIT_FATAL;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int status = svc_setup(svc, argc, argv);
	if (status == 0) {
		svc_loop(svc);
		CH_LOG_INFO("stopped");
	}
	svc_teardown(svc);
	ch_log_close();
	free(svc);
	return status;
}
