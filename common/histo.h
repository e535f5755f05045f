/* histo.h: a latency histogram with fixed buckets, shared by the services
 * that measure (relay) and chorusd, which turns it into a Prometheus
 * histogram (docs/metrics.md).
 *
 * The bucket bounds are one table (ch_histo_bounds_ns), so a service and
 * chorusd always agree on them: from 0.5 ms to 30 s, about three per
 * decade, plus the overflow bucket.  Counts are per bucket (not
 * cumulative); on the control plane a histogram is the map {"buckets":
 * [CH_HISTO_NB + 1 counts], "count", "sum_ns"}.  Not thread-safe: one owner updates it,
 * and reads it from the same thread. */
#ifndef CH_HISTO_H
#define CH_HISTO_H

#include <stdint.h>

#define CH_HISTO_NB 15 /* finite bounds; bucket CH_HISTO_NB is the overflow */

typedef struct ch_histo {
	uint64_t bucket[CH_HISTO_NB + 1];
	uint64_t count;
	uint64_t sum_ns;
} ch_histo_t;

/* ch_histo_bounds_ns: the upper bound (inclusive) of each finite bucket. */
extern const uint64_t ch_histo_bounds_ns[CH_HISTO_NB];

/* ch_histo_add: one observation of ns nanoseconds. */
void ch_histo_add(ch_histo_t *h, uint64_t ns);

#endif
