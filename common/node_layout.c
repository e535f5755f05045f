/* node_layout.c: creating and finding the node's shared objects. */
#include "node_layout.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "err.h"

const char *const ch_svc_names[CH_SVC_COUNT] = {"transport", "discovery", "relay", "mempool"};

const ch_ring_desc_t ch_ring_descs[CH_RING_COUNT] = {
    {"transport.relay", CH_SVC_TRANSPORT, CH_SVC_RELAY},
    {"relay.transport", CH_SVC_RELAY, CH_SVC_TRANSPORT},
    {"relay.mempool", CH_SVC_RELAY, CH_SVC_MEMPOOL},
    {"mempool.relay", CH_SVC_MEMPOOL, CH_SVC_RELAY},
};

int ch_svc_lookup(const char *name, ch_svc_id_t *out)
{
	for (int i = 0; i < CH_SVC_COUNT; i++)
		if (name && strcmp(name, ch_svc_names[i]) == 0) {
			*out = (ch_svc_id_t)i;
			return 0;
		}
	return CH_ENOENT;
}

size_t ch_node_region_size(const ch_node_config_t *cfg)
{
	size_t fp = shm_ring_footprint(cfg->ring_size, cfg->ring_max_msg);
	if (!fp)
		return 0;
	/* header page + control block + each ring with its alignment slack */
	return 4096 + sizeof(ch_node_ctl_t) + 4096 + CH_RING_COUNT * (fp + shm_ring_align());
}

int ch_node_layout_create(shm_region_t *r, const ch_node_config_t *cfg, ch_node_ctl_t **ctl)
{
	size_t fp = shm_ring_footprint(cfg->ring_size, cfg->ring_max_msg);
	if (!r || !ctl || !fp)
		return CH_EINVAL;
	void *mem;
	int rc = shm_region_alloc(r, "node", 128, sizeof(ch_node_ctl_t), &mem);
	if (rc)
		return rc;
	ch_node_ctl_t *c = mem;
	for (int i = 0; i < CH_SVC_COUNT; i++)
		atomic_store_explicit(&c->svc[i].last_status, -1, memory_order_relaxed);
	for (int i = 0; i < CH_RING_COUNT; i++) {
		rc = shm_region_alloc(r, ch_ring_descs[i].name, shm_ring_align(), fp, &mem);
		if (rc)
			return rc;
		if (!shm_ring_new(mem, cfg->ring_size, cfg->ring_max_msg))
			return CH_EINVAL;
	}
	/* Magic last: a service that sees it sees a complete layout. */
	atomic_store_explicit(&c->magic, CH_NODE_MAGIC, memory_order_release);
	*ctl = c;
	return 0;
}

int ch_node_layout_open(shm_region_t *r, ch_node_ctl_t **ctl)
{
	void *mem;
	size_t sz;
	int rc = shm_region_find(r, "node", &mem, &sz);
	if (rc)
		return rc;
	if (sz < sizeof(ch_node_ctl_t))
		return CH_ERANGE;
	ch_node_ctl_t *c = mem;
	if (atomic_load_explicit(&c->magic, memory_order_acquire) != CH_NODE_MAGIC)
		return CH_EMAGIC;
	*ctl = c;
	return 0;
}

int ch_node_ring_join(shm_region_t *r, ch_ring_id_t id, shm_ring_role_t role,
                      const int fds[CH_RING_COUNT][2], shm_ring_t **out)
{
	if ((int)id < 0 || id >= CH_RING_COUNT)
		return CH_EINVAL;
	void *mem;
	size_t sz;
	int rc = shm_region_find(r, ch_ring_descs[id].name, &mem, &sz);
	if (rc)
		return rc;
	int data = fds ? fds[id][0] : -1, space = fds ? fds[id][1] : -1;
	/* The consumer sleeps on "data" and wakes the producer through "space";
	 * the producer the other way round. */
	if (role == SHM_RING_CONSUMER)
		return shm_ring_join(mem, sz, role, data, space, out);
	if (role == SHM_RING_PRODUCER)
		return shm_ring_join(mem, sz, role, space, data, out);
	return shm_ring_join(mem, sz, role, -1, -1, out);
}

int ch_ring_fds_format(const int fds[CH_RING_COUNT][2], char *out, size_t cap)
{
	size_t used = 0;
	out[0] = 0;
	for (int i = 0; i < CH_RING_COUNT; i++) {
		int n = snprintf(out + used, cap - used, "%s%s=%d,%d", i ? ";" : "",
		                 ch_ring_descs[i].name, fds[i][0], fds[i][1]);
		if (n < 0 || (size_t)n >= cap - used)
			return CH_ERANGE;
		used += (size_t)n;
	}
	return 0;
}

int ch_ring_fds_parse(const char *s, int fds[CH_RING_COUNT][2])
{
	for (int i = 0; i < CH_RING_COUNT; i++)
		fds[i][0] = fds[i][1] = -1;
	if (!s)
		return CH_ENOENT;
	char buf[512];
	if (strlen(s) >= sizeof(buf))
		return CH_ERANGE;
	strcpy(buf, s);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			return CH_EPROTO;
		*eq = 0;
		int id = -1;
		for (int i = 0; i < CH_RING_COUNT; i++)
			if (strcmp(tok, ch_ring_descs[i].name) == 0)
				id = i;
		int a, b;
		char tail;
		if (id < 0 || sscanf(eq + 1, "%d,%d%c", &a, &b, &tail) != 2 || a < 0 || b < 0)
			return CH_EPROTO;
		fds[id][0] = a;
		fds[id][1] = b;
	}
	return 0;
}

const char *ch_sup_state_name(uint32_t s)
{
	static const char *const names[] = {"stopped", "starting", "ready",
	                                    "backoff", "stopping", "fatal"};
	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

const char *ch_node_state_name(uint32_t s)
{
	static const char *const names[] = {"starting", "running", "stopping", "stopped"};
	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

void ch_wait_status_text(int status, char *buf, size_t cap)
{
	if (status == -1)
		snprintf(buf, cap, "%s", "");
	else if (WIFEXITED(status))
		snprintf(buf, cap, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, cap, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, cap, "status %d", status);
}
