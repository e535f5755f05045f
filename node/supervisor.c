/* supervisor.c: see supervisor.h. */
#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "log.h"

#define BACKOFF_FIRST_MS 100

/* stop phase of each service: transport and discovery, then relay, then
 * mempool. */
static const int stop_phase_of[CH_SVC_COUNT] = {
    [CH_SVC_TRANSPORT] = 0, [CH_SVC_DISCOVERY] = 0, [CH_SVC_RELAY] = 1, [CH_SVC_MEMPOOL] = 2};

static void set_state(sup_child_t *c, uint32_t st)
{
	c->state = st;
	atomic_store_explicit(&c->ctl->sup_state, st, memory_order_relaxed);
}

int sup_init(sup_t *s, const char *bindir, const ch_node_config_t *cfg, ch_node_ctl_t *node,
             char **argv, char **envp, char *err, size_t errcap)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->node = node;
	s->argv = argv;
	s->envp = envp;
	s->stop_phase = -1;
	for (int i = 0; i < CH_SVC_COUNT; i++) {
		sup_child_t *c = &s->child[i];
		c->id = (ch_svc_id_t)i;
		c->name = ch_svc_names[i];
		c->ctl = &node->svc[i];
		c->last_status = -1;
		snprintf(c->path, sizeof(c->path), "%s/chorus-%s", bindir, c->name);
		if (access(c->path, X_OK) != 0) {
			snprintf(err, errcap,
			         "cannot run %s: %s (chorusd starts its services from "
			         "its own folder)",
			         c->path, strerror(errno));
			return CH_ENOENT;
		}
	}
	return 0;
}

/* spawn: fork and exec one service.  chorusd has ZeroMQ threads, so the
 * child calls only async-signal-safe functions before execve. */
static void spawn(sup_t *s, sup_child_t *c)
{
	pid_t parent = getpid();
	s->argv[0] = c->path;
	/* Cleared before the fork: a fast child may say "ready" before the
	 * parent runs again, and that must not be erased. */
	atomic_store_explicit(&c->ctl->self_state, CH_SELF_NONE, memory_order_relaxed);
	atomic_store_explicit(&c->ctl->self_pid, 0, memory_order_relaxed);
	pid_t pid = fork();
	if (pid < 0) {
		ch_log_errno(CH_LOG_LEVEL_ERROR, "fork", "cannot start %s", c->name);
		c->restart_at_ns = ch_mono_ns() + 1000000000ULL;
		set_state(c, CH_SUP_BACKOFF);
		return;
	}
	if (pid == 0) {
		/* If chorusd dies, the service gets SIGTERM: no orphans. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(c->path, s->argv, s->envp);
		_exit(127);
	}
	c->pid = c->last_pid = pid;
	c->spawned_ns = ch_mono_ns();
	atomic_store_explicit(&c->ctl->heartbeat_ns, c->spawned_ns, memory_order_relaxed);
	atomic_store_explicit(&c->ctl->pid, pid, memory_order_relaxed);
	atomic_store_explicit(&c->ctl->spawned_wall_ms, ch_wall_ms(), memory_order_relaxed);
	set_state(c, CH_SUP_STARTING);
	CH_LOG_INFO("started %s (pid %d)", c->name, (int)pid);
	if (s->on_event)
		s->on_event(s->event_arg, "service_started", c, "", 0);
}

void sup_start_all(sup_t *s)
{
	for (int i = 0; i < CH_SVC_COUNT; i++)
		spawn(s, &s->child[i]);
}

static uint64_t backoff_ms(const sup_t *s, uint32_t crashes)
{
	if (crashes <= 1)
		return 0;
	uint64_t d = BACKOFF_FIRST_MS;
	for (uint32_t i = 2; i < crashes && d < s->cfg->restart_backoff_max_ms; i++)
		d *= 2;
	return d < s->cfg->restart_backoff_max_ms ? d : s->cfg->restart_backoff_max_ms;
}

/* on_exit: the restart policy for one exited child. */
static void on_child_exit(sup_t *s, sup_child_t *c, int status)
{
	uint64_t now = ch_mono_ns();
	pid_t pid = c->pid;
	char how[64];
	ch_wait_status_text(status, how, sizeof(how));
	c->last_status = status;
	c->pid = 0;
	atomic_store_explicit(&c->ctl->pid, 0, memory_order_relaxed);
	atomic_store_explicit(&c->ctl->last_status, status, memory_order_relaxed);
	uint64_t up_ms = (now - c->spawned_ns) / 1000000;

	if (s->stop_phase >= 0) {
		CH_LOG_INFO("%s exited: %s", c->name, how);
		set_state(c, CH_SUP_STOPPED);
		if (s->on_event)
			s->on_event(s->event_arg, "service_exited", c, "none", 0);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == CH_EXIT_FATAL) {
		CH_LOG_ERROR("%s exited with status %d (fatal: bad configuration or "
		             "environment, see its log); the node shuts down",
		             c->name, CH_EXIT_FATAL);
		set_state(c, CH_SUP_FATAL);
		s->fatal = true;
		if (s->on_event)
			s->on_event(s->event_arg, "service_exited", c, "fatal", 0);
		return;
	}
	if (up_ms >= s->cfg->restart_stable_ms)
		c->crashes = 0;
	c->crashes++;
	uint64_t delay = backoff_ms(s, c->crashes);
	c->restart_at_ns = now + delay * 1000000ULL;
	set_state(c, CH_SUP_BACKOFF);
	CH_LOG_WARN("%s (pid %d) exited: %s after %llu ms; restarting in %llu ms", c->name,
	            (int)pid, how, (unsigned long long)up_ms, (unsigned long long)delay);
	if (s->on_event)
		s->on_event(s->event_arg, "service_exited", c, delay ? "backoff" : "restart",
		            delay);
	if (delay == 0)
		sup_tick(s, now);
}

void sup_reap(sup_t *s)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		for (int i = 0; i < CH_SVC_COUNT; i++)
			if (s->child[i].pid == pid)
				on_child_exit(s, &s->child[i], status);
	}
}

static void kill_child(sup_child_t *c, int sig)
{
	if (c->pid > 0)
		kill(c->pid, sig);
}

static void check_running(sup_t *s, sup_child_t *c, uint64_t now)
{
	uint64_t hb_timeout = s->cfg->heartbeat_timeout_ms * 1000000ULL;
	if (c->state == CH_SUP_STARTING) {
		uint32_t self = atomic_load_explicit(&c->ctl->self_state, memory_order_acquire);
		int32_t self_pid = atomic_load_explicit(&c->ctl->self_pid, memory_order_relaxed);
		if (self == CH_SELF_READY && self_pid == c->pid) {
			set_state(c, CH_SUP_READY);
			CH_LOG_INFO("%s ready in %llu ms", c->name,
			            (unsigned long long)((now - c->spawned_ns) / 1000000));
			if (s->on_event)
				s->on_event(s->event_arg, "service_ready", c, "", 0);
		} else if (now - c->spawned_ns > 2 * hb_timeout) {
			CH_LOG_ERROR("%s (pid %d) not ready after %llu ms; killing it", c->name,
			             (int)c->pid, (unsigned long long)(2 * hb_timeout / 1000000));
			kill_child(c, SIGKILL);
		}
		return;
	}
	if (c->state == CH_SUP_READY) {
		uint64_t hb = atomic_load_explicit(&c->ctl->heartbeat_ns, memory_order_relaxed);
		if (now > hb && now - hb > hb_timeout) {
			CH_LOG_ERROR("%s (pid %d) sent no heartbeat for %llu ms; killing it",
			             c->name, (int)c->pid,
			             (unsigned long long)((now - hb) / 1000000));
			kill_child(c, SIGKILL);
			hb = now; /* one kill per timeout */
			atomic_store_explicit(&c->ctl->heartbeat_ns, now, memory_order_relaxed);
		}
		if (c->crashes && now - c->spawned_ns >= s->cfg->restart_stable_ms * 1000000ULL)
			c->crashes = 0;
	}
}

/* stop_tick: the ordered stop.  A phase is done when its children are
 * gone; a child that outlives stop-timeout after SIGTERM gets SIGKILL. */
static void stop_tick(sup_t *s, uint64_t now)
{
	while (s->stop_phase >= 0 && s->stop_phase < 3) {
		bool alive = false;
		for (int i = 0; i < CH_SVC_COUNT; i++) {
			sup_child_t *c = &s->child[i];
			if (stop_phase_of[i] != s->stop_phase)
				continue;
			if (c->pid <= 0) {
				if (c->state != CH_SUP_FATAL)
					set_state(c, CH_SUP_STOPPED);
				continue;
			}
			alive = true;
			if (!c->term_sent_ns) {
				c->term_sent_ns = now;
				set_state(c, CH_SUP_STOPPING);
				kill_child(c, SIGTERM);
			} else if (now - c->term_sent_ns > s->cfg->stop_timeout_ms * 1000000ULL) {
				CH_LOG_WARN("%s (pid %d) did not stop in %llu ms; killing it",
				            c->name, (int)c->pid,
				            (unsigned long long)s->cfg->stop_timeout_ms);
				kill_child(c, SIGKILL);
				c->term_sent_ns = now; /* once per timeout */
			}
		}
		if (alive)
			return;
		s->stop_phase++;
	}
}

void sup_tick(sup_t *s, uint64_t now)
{
	if (s->stop_phase >= 0) {
		stop_tick(s, now);
		return;
	}
	for (int i = 0; i < CH_SVC_COUNT; i++) {
		sup_child_t *c = &s->child[i];
		if (c->state == CH_SUP_BACKOFF && now >= c->restart_at_ns) {
			c->restarts++;
			atomic_store_explicit(&c->ctl->restarts, c->restarts, memory_order_relaxed);
			spawn(s, c);
		} else {
			check_running(s, c, now);
		}
	}
}

void sup_begin_stop(sup_t *s)
{
	if (s->stop_phase >= 0)
		return;
	s->stop_phase = 0;
	/* A service waiting in backoff is simply not restarted. */
	for (int i = 0; i < CH_SVC_COUNT; i++)
		if (s->child[i].pid <= 0 && s->child[i].state != CH_SUP_FATAL)
			set_state(&s->child[i], CH_SUP_STOPPED);
	stop_tick(s, ch_mono_ns());
}

bool sup_all_stopped(const sup_t *s)
{
	for (int i = 0; i < CH_SVC_COUNT; i++)
		if (s->child[i].pid > 0)
			return false;
	return true;
}

bool sup_all_ready(const sup_t *s)
{
	for (int i = 0; i < CH_SVC_COUNT; i++)
		if (s->child[i].state != CH_SUP_READY)
			return false;
	return true;
}

int sup_next_timeout_ms(const sup_t *s, uint64_t now)
{
	int t = 100;
	for (int i = 0; i < CH_SVC_COUNT; i++) {
		const sup_child_t *c = &s->child[i];
		if (c->state == CH_SUP_STARTING || s->stop_phase >= 0)
			t = 5; /* notice "ready" and exits promptly */
		if (c->state == CH_SUP_BACKOFF) {
			uint64_t left =
			    c->restart_at_ns > now ? (c->restart_at_ns - now) / 1000000 : 0;
			if ((int)left < t)
				t = (int)left;
		}
	}
	return t;
}
