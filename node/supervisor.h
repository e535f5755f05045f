/* supervisor.h: chorusd's child table (nginx's master, PostgreSQL's
 * postmaster): spawn the four services, reap them, restart them with
 * backoff, kill the silent ones, stop them in order.
 *
 * Restart policy, per service:
 *   - exit status CH_EXIT_FATAL (78): not restarted; the node shuts down.
 *   - any other exit or signal while the node runs: restarted.  The first
 *     crash after a stable period (restart-stable of uptime) restarts at
 *     once; each further quick crash doubles the wait, from 100 ms up to
 *     restart-backoff-max.
 *   - a ready service whose heartbeat is older than heartbeat-timeout, or a
 *     starting one not ready within twice that, is killed (SIGKILL) and so
 *     restarted.
 * Stop order: transport and discovery first (no new work comes in), then
 * relay (drains what is in its rings), then mempool (persists the pool);
 * each gets SIGTERM and stop-timeout before SIGKILL.
 *
 * The supervisor writes pids, states and counters into the services'
 * control blocks; it never reads ring contents. */
#ifndef CH_NODE_SUPERVISOR_H
#define CH_NODE_SUPERVISOR_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "node_config.h"
#include "node_layout.h"

typedef struct sup_child {
	ch_svc_id_t id;
	const char *name;
	char path[PATH_MAX];
	pid_t pid;
	pid_t last_pid; /* the pid of the last process, kept after its exit */
	ch_svc_ctl_t *ctl;
	uint32_t state; /* ch_svc_sup_state_t */
	uint64_t spawned_ns;
	uint64_t restart_at_ns;
	uint64_t term_sent_ns; /* when SIGTERM went out while stopping */
	uint32_t crashes;      /* consecutive quick crashes */
	uint32_t restarts;
	int last_status;
} sup_child_t;

typedef void (*sup_event_fn)(void *arg, const char *what, const sup_child_t *c, const char *action,
                             uint64_t delay_ms);

typedef struct sup {
	sup_child_t child[CH_SVC_COUNT];
	const ch_node_config_t *cfg;
	ch_node_ctl_t *node;
	char **argv; /* argv for services, argv[0] replaced per child */
	char **envp;
	sup_event_fn on_event;
	void *event_arg;
	bool fatal;     /* a child exited with CH_EXIT_FATAL */
	int stop_phase; /* -1 running; 0..2 stop phases; 3 all stopped */
} sup_t;

/* sup_init: fills the table; bindir holds the chorus-NAME programs.
 * Returns 0, or CH_ENOENT naming the missing program in err. */
int sup_init(sup_t *s, const char *bindir, const ch_node_config_t *cfg, ch_node_ctl_t *node,
             char **argv, char **envp, char *err, size_t errcap);

/* sup_start_all: spawns every service. */
void sup_start_all(sup_t *s);

/* sup_reap: collects every exited child (call on SIGCHLD) and applies the
 * restart policy. */
void sup_reap(sup_t *s);

/* sup_tick: readiness, heartbeats, due restarts, stop phases. */
void sup_tick(sup_t *s, uint64_t now_ns);

/* sup_begin_stop: starts the ordered stop. */
void sup_begin_stop(sup_t *s);

/* sup_all_stopped: true when every child has exited after a stop. */
bool sup_all_stopped(const sup_t *s);

/* sup_all_ready: true when every child is ready. */
bool sup_all_ready(const sup_t *s);

/* sup_next_timeout_ms: how long the loop may sleep. */
int sup_next_timeout_ms(const sup_t *s, uint64_t now_ns);

#endif
