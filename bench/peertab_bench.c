/* peertab_bench.c: the transport's peer table (services/transport/peertab.c,
 * an immutable snapshot under RCU) against the alternatives, with readers
 * and a writer at once, as issue 4 asks:
 *   - rwlock: the same open-addressing table, in place, under a
 *     pthread_rwlock (every lookup takes the read lock);
 *   - lfht: liburcu's lock-free resizable hash table (cds_lfht).
 * All RCU here is the QSBR flavour the transport uses (readers report a
 * quiescent state every 256 lookups).
 * Readers look up random handles of the 125 connected peers (the default
 * max-peers) as fast as they can; the writer removes and re-adds a peer
 * (a disconnect and a connect) at a churn rate: 1000 per second, a busy
 * node, or as fast as it can (a stress case).  Reported: lookups per
 * second per reader, and the ratio against the rwlock table. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "services/transport/transport.h"
/* after transport.h: it includes <urcu.h>, which picks the RCU flavour */
#include <urcu/rculfhash.h>

#define NPEERS 125
#define RUN_NS (600 * BENCH_NS_PER_MS)
#define SLOTS  512

typedef enum impl { IMPL_RCU, IMPL_RWLOCK, IMPL_LFHT } impl_t;

/* ---- rwlock table: open addressing, backward-shift deletion ---- */
typedef struct rw_table {
	pthread_rwlock_t lock;
	tp_peer_t *slot[SLOTS];
} rw_table_t;

static size_t rw_slot(uint64_t h)
{
	return (size_t)((h * 0x9e3779b97f4a7c15ULL) >> 32) & (SLOTS - 1);
}

static tp_peer_t *rw_find(rw_table_t *t, uint64_t h)
{
	for (size_t k = rw_slot(h);; k = (k + 1) & (SLOTS - 1)) {
		tp_peer_t *p = t->slot[k];
		if (!p || p->handle == h)
			return p;
	}
}

static void rw_add(rw_table_t *t, tp_peer_t *p)
{
	size_t k = rw_slot(p->handle);
	while (t->slot[k])
		k = (k + 1) & (SLOTS - 1);
	t->slot[k] = p;
}

static void rw_del(rw_table_t *t, uint64_t h)
{
	size_t k = rw_slot(h);
	while (t->slot[k] && t->slot[k]->handle != h)
		k = (k + 1) & (SLOTS - 1);
	if (!t->slot[k])
		return;
	t->slot[k] = NULL;
	/* shift back the rest of the cluster */
	for (size_t j = (k + 1) & (SLOTS - 1); t->slot[j]; j = (j + 1) & (SLOTS - 1)) {
		tp_peer_t *p = t->slot[j];
		size_t home = rw_slot(p->handle);
		bool between = k <= j ? (home <= k || home > j) : (home <= k && home > j);
		if (between) {
			t->slot[k] = p;
			t->slot[j] = NULL;
			k = j;
		}
	}
}

/* ---- lfht ---- */
typedef struct lf_node {
	struct cds_lfht_node node;
	struct rcu_head rcu;
	uint64_t handle;
} lf_node_t;

static int lf_match(struct cds_lfht_node *n, const void *key)
{
	return caa_container_of(n, lf_node_t, node)->handle == *(const uint64_t *)key;
}

static void lf_free(struct rcu_head *h)
{
	free(caa_container_of(h, lf_node_t, rcu));
}

/* ---- the run ---- */
typedef struct shared {
	impl_t impl;
	tp_peertab_t rcu;
	rw_table_t rw;
	struct cds_lfht *lf;
	tp_peer_t peers[NPEERS];
	_Atomic bool stop;
	uint64_t churn_per_s; /* 0: as fast as possible */
	_Atomic uint64_t lookups, writes, misses;
} shared_t;

static void *reader(void *arg)
{
	shared_t *s = arg;
	rcu_register_thread();
	uint64_t x = (uint64_t)(uintptr_t)&x, n = 0, miss = 0;
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		for (int i = 0; i < 256; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			uint64_t h = s->peers[x % NPEERS].handle;
			bool found;
			if (s->impl == IMPL_RCU) {
				rcu_read_lock();
				found = tp_peertab_find(rcu_dereference(s->rcu.cur), h) != NULL;
				rcu_read_unlock();
			} else if (s->impl == IMPL_RWLOCK) {
				pthread_rwlock_rdlock(&s->rw.lock);
				found = rw_find(&s->rw, h) != NULL;
				pthread_rwlock_unlock(&s->rw.lock);
			} else {
				struct cds_lfht_iter it;
				rcu_read_lock();
				cds_lfht_lookup(s->lf, h * 0x9e3779b97f4a7c15ULL, lf_match, &h,
				                &it);
				found = cds_lfht_iter_get_node(&it) != NULL;
				rcu_read_unlock();
			}
			miss += !found; /* the peer being replaced right now */
		}
		n += 256;
		rcu_quiescent_state();
	}
	atomic_fetch_add(&s->lookups, n);
	atomic_fetch_add(&s->misses, miss);
	rcu_unregister_thread();
	return NULL;
}

static void *writer(void *arg)
{
	shared_t *s = arg;
	rcu_register_thread();
	uint64_t n = 0, start = bench_now_ns();
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		tp_peer_t *p = &s->peers[n % NPEERS];
		if (s->impl == IMPL_RCU) {
			tp_peertab_del(&s->rcu, p);
			tp_peertab_add(&s->rcu, p);
		} else if (s->impl == IMPL_RWLOCK) {
			pthread_rwlock_wrlock(&s->rw.lock);
			rw_del(&s->rw, p->handle);
			rw_add(&s->rw, p);
			pthread_rwlock_unlock(&s->rw.lock);
		} else {
			struct cds_lfht_iter it;
			uint64_t h = p->handle;
			rcu_read_lock();
			cds_lfht_lookup(s->lf, h * 0x9e3779b97f4a7c15ULL, lf_match, &h, &it);
			struct cds_lfht_node *old = cds_lfht_iter_get_node(&it);
			if (old && cds_lfht_del(s->lf, old) == 0)
				call_rcu(&caa_container_of(old, lf_node_t, node)->rcu, lf_free);
			lf_node_t *nn = calloc(1, sizeof(*nn));
			nn->handle = h;
			cds_lfht_add(s->lf, h * 0x9e3779b97f4a7c15ULL, &nn->node);
			rcu_read_unlock();
		}
		n++;
		rcu_quiescent_state();
		if (s->churn_per_s) { /* pace: n writes by now */
			uint64_t due = start + n * BENCH_NS_PER_S / s->churn_per_s;
			while (bench_now_ns() < due && !atomic_load(&s->stop))
				usleep(100);
		}
	}
	atomic_store(&s->writes, n);
	rcu_unregister_thread();
	return NULL;
}

static const char *impl_name[] = {"rcu_snapshot", "rwlock", "cds_lfht"};

/* run: lookups per second per reader for one implementation. */
static double run(impl_t impl, int nreaders, uint64_t churn)
{
	shared_t *s = calloc(1, sizeof(*s));
	s->impl = impl;
	s->churn_per_s = churn;
	tp_peertab_init(&s->rcu);
	pthread_rwlock_init(&s->rw.lock, NULL);
	s->lf = cds_lfht_new(256, 256, 0, CDS_LFHT_AUTO_RESIZE, NULL);
	for (int i = 0; i < NPEERS; i++) {
		s->peers[i].handle = (1882521480229552128ULL) + (uint64_t)i * 7919;
		if (impl == IMPL_RCU)
			tp_peertab_add(&s->rcu, &s->peers[i]);
		else if (impl == IMPL_RWLOCK)
			rw_add(&s->rw, &s->peers[i]);
		else {
			lf_node_t *nn = calloc(1, sizeof(*nn));
			nn->handle = s->peers[i].handle;
			rcu_read_lock();
			cds_lfht_add(s->lf, nn->handle * 0x9e3779b97f4a7c15ULL, &nn->node);
			rcu_read_unlock();
		}
	}
	pthread_t r[8], w;
	for (int i = 0; i < nreaders; i++)
		pthread_create(&r[i], NULL, reader, s);
	pthread_create(&w, NULL, writer, s);
	rcu_thread_offline();
	usleep(RUN_NS / 1000);
	atomic_store(&s->stop, true);
	for (int i = 0; i < nreaders; i++)
		pthread_join(r[i], NULL);
	pthread_join(w, NULL);
	double per = (double)atomic_load(&s->lookups) / ((double)RUN_NS / 1e9) / nreaders;
	fprintf(stderr,
	        "peertab: %-12s readers %d churn %6llu/s: %.1f M lookups/s/reader, %llu "
	        "writes, %llu misses\n",
	        impl_name[impl], nreaders, (unsigned long long)churn, per / 1e6,
	        (unsigned long long)atomic_load(&s->writes),
	        (unsigned long long)atomic_load(&s->misses));
	/* tear down: free lfht nodes, wait for callbacks */
	if (impl == IMPL_LFHT) {
		struct cds_lfht_iter it;
		struct cds_lfht_node *n;
		rcu_read_lock();
		cds_lfht_for_each(s->lf, &it, n)
		{
			if (cds_lfht_del(s->lf, n) == 0)
				call_rcu(&caa_container_of(n, lf_node_t, node)->rcu, lf_free);
		}
		rcu_read_unlock();
	}
	rcu_barrier();
	rcu_thread_online();
	cds_lfht_destroy(s->lf, NULL);
	tp_peertab_fini(&s->rcu);
	pthread_rwlock_destroy(&s->rw.lock);
	free(s);
	return per;
}

int main(void)
{
	bench_init();
	rcu_register_thread();
	const struct {
		int readers;
		uint64_t churn;
		const char *label;
	} cases[] = {
	    {1, 1000, "1reader_churn1000"},
	    {2, 1000, "2readers_churn1000"},
	    {1, 0, "1reader_churnmax"},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		double rw = run(IMPL_RWLOCK, cases[c].readers, cases[c].churn);
		double rc = run(IMPL_RCU, cases[c].readers, cases[c].churn);
		double lf = run(IMPL_LFHT, cases[c].readers, cases[c].churn);
		char name[96];
		snprintf(name, sizeof(name), "rcu_snapshot_%s", cases[c].label);
		bench_emit("peertab", name, rc, "lookups/s/reader", "rwlock", rw,
		           BENCH_HIGHER_IS_BETTER);
		snprintf(name, sizeof(name), "cds_lfht_%s", cases[c].label);
		bench_emit("peertab", name, lf, "lookups/s/reader", "rwlock", rw,
		           BENCH_HIGHER_IS_BETTER);
	}
	rcu_unregister_thread();
	return 0;
}
