/* peertab.c: the peer table, an immutable snapshot under RCU.
 *
 * Why a snapshot and not cds_lfht: the table is read on every outbound
 * message by the main thread and by commands, and written only on connect
 * and disconnect (a few per second at most).  A reader does
 * rcu_read_lock, one pointer load and an open-addressing probe: no atomic
 * read-modify-write, no shared cache line written.  A writer copies the
 * whole table (at most a few thousand pointers), publishes it with
 * a release store (tp_snap_set) and frees the old one after a grace period.
 * bench/peertab_bench.c measures it against a rwlock-protected table and
 * against liburcu's cds_lfht with readers and a writer at once. */
#include "transport.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

static size_t slot_of(uint64_t handle, size_t mask)
{
	uint64_t x = handle * 0x9e3779b97f4a7c15ULL;
	return (size_t)(x >> 32) & mask;
}

static void snap_free(tp_snap_t *s)
{
	if (!s)
		return;
	free(s->slot);
	free(s->list);
	free(s);
}

static void snap_free_rcu(struct rcu_head *h)
{
	snap_free(caa_container_of(h, tp_snap_t, rcu));
}

/* snap_build: a new snapshot holding peers[0..n). */
static tp_snap_t *snap_build(tp_peer_t **peers, size_t n)
{
	tp_snap_t *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	size_t slots = 16;
	while (slots < 2 * n)
		slots *= 2;
	s->slot = calloc(slots, sizeof(*s->slot));
	s->list = calloc(n ? n : 1, sizeof(*s->list));
	if (!s->slot || !s->list) {
		snap_free(s);
		return NULL;
	}
	s->mask = slots - 1;
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		s->list[i] = peers[i];
		size_t k = slot_of(peers[i]->handle, s->mask);
		while (s->slot[k])
			k = (k + 1) & s->mask;
		s->slot[k] = peers[i];
	}
	return s;
}

int tp_peertab_init(tp_peertab_t *t)
{
	pthread_mutex_init(&t->wlock, NULL);
	tp_snap_t *s = snap_build(NULL, 0);
	if (!s)
		return CH_ENOMEM;
	tp_snap_set(t, s);
	return 0;
}

void tp_peertab_fini(tp_peertab_t *t)
{
	synchronize_rcu();
	snap_free(t->cur);
	t->cur = NULL;
	pthread_mutex_destroy(&t->wlock);
}

tp_peer_t *tp_peertab_find(tp_snap_t *s, uint64_t handle)
{
	if (!s)
		return NULL;
	for (size_t k = slot_of(handle, s->mask);; k = (k + 1) & s->mask) {
		tp_peer_t *p = s->slot[k];
		if (!p)
			return NULL;
		if (p->handle == handle)
			return p;
	}
}

/* replace: publishes a snapshot of `peers` and retires the old one. */
static int replace(tp_peertab_t *t, tp_peer_t **peers, size_t n)
{
	tp_snap_t *s = snap_build(peers, n);
	if (!s)
		return CH_ENOMEM;
	tp_snap_t *old = t->cur;
	tp_snap_set(t, s);
	call_rcu(&old->rcu, snap_free_rcu);
	return 0;
}

int tp_peertab_add(tp_peertab_t *t, tp_peer_t *p)
{
	pthread_mutex_lock(&t->wlock);
	tp_snap_t *old = t->cur;
	tp_peer_t **v = malloc((old->n + 1) * sizeof(*v));
	int rc = CH_ENOMEM;
	if (v) {
		memcpy(v, old->list, old->n * sizeof(*v));
		v[old->n] = p;
		rc = replace(t, v, old->n + 1);
		free(v);
	}
	pthread_mutex_unlock(&t->wlock);
	return rc;
}

int tp_peertab_del(tp_peertab_t *t, tp_peer_t *p)
{
	pthread_mutex_lock(&t->wlock);
	tp_snap_t *old = t->cur;
	tp_peer_t **v = malloc((old->n ? old->n : 1) * sizeof(*v));
	int rc = CH_ENOMEM;
	if (v) {
		size_t n = 0;
		for (size_t i = 0; i < old->n; i++)
			if (old->list[i] != p)
				v[n++] = old->list[i];
		rc = n == old->n ? CH_ENOENT : replace(t, v, n);
		free(v);
	}
	pthread_mutex_unlock(&t->wlock);
	return rc;
}
