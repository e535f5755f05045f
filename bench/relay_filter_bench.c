/* relay_filter_bench.c: the relay's id sets against the alternatives the
 * design names (docs/relay.md, "Filters"), single-threaded as the relay
 * uses them:
 *   - the rolling fingerprint set (services/relay/filter.h, what the relay
 *     uses), at the per-peer size (4096 ids) and the seen-cache size
 *     (131072 ids);
 *   - Bitcoin Core's rolling Bloom filter (CRollingBloomFilter's
 *     algorithm, rl_bloom_t) at the same capacities and a 1e-6
 *     false-positive rate (Bitcoin's setting for known inventories);
 *   - a liburcu RCU lock-free hash table (cds_lfht, QSBR flavour) of full
 *     ids, kept at the same capacity by deleting the oldest (what a
 *     bounded exact set costs with RCU);
 *   - the exact open-addressing table (rl_idtab_t, the mempool id set).
 * For each: ns per insert (steady state: the set full, old ids rolling
 * out), ns per lookup of a present and of an absent id, bytes, and the
 * false positives measured over 2 M absent ids.  Also the cost of a
 * compact block's short id: SipHash-2-4 (used) against keyed BLAKE2b.
 * The hash of an id is computed once per id in the relay and shared by
 * every table, so it is timed separately (`hash`). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>
#include <urcu/rculfhash.h>

#include "bench.h"
#include "block.h"
#include "services/relay/filter.h"

#define FP_PROBES 2000000

static const uint8_t key[RL_KEY_LEN] = {0x42};

static void id_of(uint64_t n, uint8_t id[32])
{
	memset(id, 0, 32);
	memcpy(id, &n, 8);
	id[8] = 0x5a;
}

/* precomputed hashes, so each figure times the table and not SipHash */
static rl_hash_t *hs;

static void hashes(uint64_t n)
{
	hs = malloc(n * sizeof(rl_hash_t));
	for (uint64_t i = 0; i < n; i++) {
		uint8_t id[32];
		id_of(i, id);
		hs[i] = rl_hash_id(key, id);
	}
}

typedef struct fig {
	double ins, hit, miss;
	size_t bytes;
	uint64_t fp;
} fig_t;

static void emit(const char *what, uint32_t cap, const fig_t *f)
{
	char cas[96];
	snprintf(cas, sizeof(cas), "%s_%u_insert", what, cap);
	bench_emit("relay_filter", cas, f->ins, "ns", NULL, NAN, BENCH_LOWER_IS_BETTER);
	snprintf(cas, sizeof(cas), "%s_%u_lookup_hit", what, cap);
	bench_emit("relay_filter", cas, f->hit, "ns", NULL, NAN, BENCH_LOWER_IS_BETTER);
	snprintf(cas, sizeof(cas), "%s_%u_lookup_miss", what, cap);
	bench_emit("relay_filter", cas, f->miss, "ns", NULL, NAN, BENCH_LOWER_IS_BETTER);
	snprintf(cas, sizeof(cas), "%s_%u_bytes", what, cap);
	bench_emit("relay_filter", cas, (double)f->bytes, "B", NULL, NAN, BENCH_LOWER_IS_BETTER);
	snprintf(cas, sizeof(cas), "%s_%u_false_positives_per_2M", what, cap);
	bench_emit("relay_filter", cas, (double)f->fp, "count", NULL, NAN, BENCH_LOWER_IS_BETTER);
	bench_log("%-6s %6u: insert %6.1f ns, hit %6.1f ns, miss %6.1f ns, %9zu bytes, %llu FP in "
	          "2M",
	          what, cap, f->ins, f->hit, f->miss, f->bytes, (unsigned long long)f->fp);
}

static volatile uint64_t sink;

static void bench_fset(uint32_t cap)
{
	rl_fset_t s;
	fig_t f = {0};
	rl_fset_init(&s, cap, 2);
	uint64_t n = 8ULL * cap;
	for (uint64_t i = 0; i < 2ULL * cap; i++)
		rl_fset_add(&s, hs[i]);
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 2ULL * cap; i < n; i++)
		rl_fset_add(&s, hs[i]);
	f.ins = (double)(bench_now_ns() - t0) / (double)(n - 2ULL * cap);
	uint64_t hit = 0;
	t0 = bench_now_ns();
	for (uint64_t i = n - cap; i < n; i++)
		hit += rl_fset_has(&s, hs[i]);
	f.hit = (double)(bench_now_ns() - t0) / cap;
	t0 = bench_now_ns();
	for (uint64_t i = n; i < n + FP_PROBES; i++)
		f.fp += rl_fset_has(&s, hs[i]);
	f.miss = (double)(bench_now_ns() - t0) / FP_PROBES;
	sink += hit;
	f.bytes = rl_fset_bytes(&s);
	emit("fset", cap, &f);
	rl_fset_free(&s);
}

static void bench_bloom(uint32_t cap)
{
	rl_bloom_t b;
	fig_t f = {0};
	rl_bloom_init(&b, cap, 1e-6);
	uint64_t n = 8ULL * cap;
	for (uint64_t i = 0; i < 2ULL * cap; i++)
		rl_bloom_add(&b, hs[i]);
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 2ULL * cap; i < n; i++)
		rl_bloom_add(&b, hs[i]);
	f.ins = (double)(bench_now_ns() - t0) / (double)(n - 2ULL * cap);
	uint64_t hit = 0;
	t0 = bench_now_ns();
	for (uint64_t i = n - cap; i < n; i++)
		hit += rl_bloom_has(&b, hs[i]);
	f.hit = (double)(bench_now_ns() - t0) / cap;
	t0 = bench_now_ns();
	for (uint64_t i = n; i < n + FP_PROBES; i++)
		f.fp += rl_bloom_has(&b, hs[i]);
	f.miss = (double)(bench_now_ns() - t0) / FP_PROBES;
	sink += hit;
	f.bytes = rl_bloom_bytes(&b);
	emit("bloom", cap, &f);
	rl_bloom_free(&b);
}

static void bench_idtab(uint32_t cap)
{
	rl_idtab_t t;
	fig_t f = {0};
	rl_idtab_init(&t, cap);
	uint64_t n = 8ULL * cap;
	uint8_t id[32];
	int64_t *fifo = malloc(cap * sizeof(int64_t));
	for (uint64_t i = 0; i < cap; i++) {
		id_of(i, id);
		fifo[i] = rl_idtab_add(&t, id, hs[i], NULL);
	}
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = cap; i < n; i++) {
		rl_idtab_del(&t, (uint32_t)fifo[i % cap]); /* the oldest goes */
		id_of(i, id);
		fifo[i % cap] = rl_idtab_add(&t, id, hs[i], NULL);
	}
	f.ins = (double)(bench_now_ns() - t0) / (double)(n - cap);
	uint64_t hit = 0;
	t0 = bench_now_ns();
	for (uint64_t i = n - cap; i < n; i++) {
		id_of(i, id);
		hit += rl_idtab_find(&t, id, hs[i]) >= 0;
	}
	f.hit = (double)(bench_now_ns() - t0) / cap;
	t0 = bench_now_ns();
	for (uint64_t i = n; i < n + FP_PROBES; i++) {
		id_of(i, id);
		f.fp += rl_idtab_find(&t, id, hs[i]) >= 0;
	}
	f.miss = (double)(bench_now_ns() - t0) / FP_PROBES;
	sink += hit;
	f.bytes = ((size_t)t.mask + 1) * 4 + (size_t)t.cap * sizeof(rl_identry_t);
	emit("idtab", cap, &f);
	free(fifo);
	rl_idtab_free(&t);
}

/* ---- cds_lfht ---- */

typedef struct lnode {
	struct cds_lfht_node n;
	uint8_t id[32];
} lnode_t;

static int lmatch(struct cds_lfht_node *n, const void *k)
{
	return memcmp(((lnode_t *)n)->id, k, 32) == 0;
}

static void bench_lfht(uint32_t cap)
{
	fig_t f = {0};
	uint32_t buckets = 1;
	while (buckets < cap)
		buckets <<= 1;
	struct cds_lfht *ht = cds_lfht_new(buckets, buckets, 0, 0, NULL);
	lnode_t **fifo = calloc(cap, sizeof(*fifo));
	uint64_t n = 8ULL * cap;
	/* QSBR: nodes deleted are freed after a grace period; one thread
	 * here, so synchronize_rcu is immediate once we report quiescence */
	lnode_t **later = malloc(cap * sizeof(*later));
	uint32_t nlater = 0;
	for (uint64_t i = 0; i < cap; i++) {
		lnode_t *x = malloc(sizeof(*x));
		id_of(i, x->id);
		cds_lfht_node_init(&x->n);
		cds_lfht_add_unique(ht, hs[i].a, lmatch, x->id, &x->n);
		fifo[i] = x;
	}
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = cap; i < n; i++) {
		lnode_t *old = fifo[i % cap];
		cds_lfht_del(ht, &old->n);
		later[nlater++] = old;
		if (nlater == cap || nlater == 1024) {
			rcu_quiescent_state();
			synchronize_rcu();
			for (uint32_t k = 0; k < nlater; k++)
				free(later[k]);
			nlater = 0;
		}
		lnode_t *x = malloc(sizeof(*x));
		id_of(i, x->id);
		cds_lfht_node_init(&x->n);
		cds_lfht_add_unique(ht, hs[i].a, lmatch, x->id, &x->n);
		fifo[i % cap] = x;
	}
	f.ins = (double)(bench_now_ns() - t0) / (double)(n - cap);
	uint64_t hit = 0;
	uint8_t id[32];
	struct cds_lfht_iter it;
	t0 = bench_now_ns();
	rcu_read_lock();
	for (uint64_t i = n - cap; i < n; i++) {
		id_of(i, id);
		cds_lfht_lookup(ht, hs[i].a, lmatch, id, &it);
		hit += cds_lfht_iter_get_node(&it) != NULL;
	}
	f.hit = (double)(bench_now_ns() - t0) / cap;
	t0 = bench_now_ns();
	for (uint64_t i = n; i < n + FP_PROBES; i++) {
		id_of(i, id);
		cds_lfht_lookup(ht, hs[i].a, lmatch, id, &it);
		f.fp += cds_lfht_iter_get_node(&it) != NULL;
	}
	rcu_read_unlock();
	f.miss = (double)(bench_now_ns() - t0) / FP_PROBES;
	sink += hit;
	/* nodes (malloc rounds 48 + 32 up to 80) plus the bucket table */
	f.bytes = (size_t)cap * 80 + (size_t)buckets * 2 * sizeof(void *);
	emit("lfht", cap, &f);
	for (uint32_t k = 0; k < cap; k++) {
		cds_lfht_del(ht, &fifo[k]->n);
		later[nlater++] = fifo[k];
		if (nlater == 1024 || k + 1 == cap) {
			rcu_quiescent_state();
			synchronize_rcu();
			for (uint32_t j = 0; j < nlater; j++)
				free(later[j]);
			nlater = 0;
		}
	}
	cds_lfht_destroy(ht, NULL);
	free(fifo);
	free(later);
}

static void bench_short_ids(void)
{
	uint8_t bid[32] = {1}, id[32], out[16];
	const int n = 200000;
	uint64_t t0 = bench_now_ns(), acc = 0;
	for (int i = 0; i < n; i++) {
		id_of((uint64_t)i, id);
		acc += rl_short_id(bid, id);
	}
	double sip = (double)(bench_now_ns() - t0) / n;
	t0 = bench_now_ns();
	for (int i = 0; i < n; i++) {
		id_of((uint64_t)i, id);
		crypto_generichash(out, sizeof(out), id, 32, bid, 32);
		acc += out[0];
	}
	double b2 = (double)(bench_now_ns() - t0) / n;
	sink += acc;
	t0 = bench_now_ns();
	for (int i = 0; i < n; i++) {
		id_of((uint64_t)i, id);
		acc += rl_hash_id(key, id).a;
	}
	double h = (double)(bench_now_ns() - t0) / n;
	sink += acc;
	bench_emit("relay_filter", "short_id_siphash", sip, "ns", "blake2b_keyed", b2,
	           BENCH_LOWER_IS_BETTER);
	bench_emit("relay_filter", "hash_siphash128", h, "ns", NULL, NAN, BENCH_LOWER_IS_BETTER);
	bench_log("short id: SipHash-2-4 %.1f ns, keyed BLAKE2b %.1f ns (50000 pool ids per "
	          "compact block: %.1f ms vs %.1f ms); id hash SipHash-128 %.1f ns",
	          sip, b2, sip * 50000 / 1e6, b2 * 50000 / 1e6, h);
}

int main(void)
{
	bench_init();
	if (sodium_init() < 0)
		return 1;
	rcu_register_thread();
	hashes(8ULL * 131072 + FP_PROBES);
	for (int k = 0; k < 2; k++) {
		uint32_t cap = k == 0 ? 4096 : 131072;
		bench_fset(cap);
		bench_bloom(cap);
		bench_idtab(cap);
		bench_lfht(cap);
	}
	bench_short_ids();
	rcu_unregister_thread();
	free(hs);
	return sink == 42 ? 1 : 0;
}
