/* histo.c: see histo.h. */
#include "histo.h"

#define MS 1000000ULL

const uint64_t ch_histo_bounds_ns[CH_HISTO_NB] = {
    MS / 2,   1 * MS,   5 * MS / 2, 5 * MS,    10 * MS,   25 * MS,    50 * MS,    100 * MS,
    250 * MS, 500 * MS, 1000 * MS,  2500 * MS, 5000 * MS, 10000 * MS, 30000 * MS,
};

void ch_histo_add(ch_histo_t *h, uint64_t ns)
{
	int i = 0;
	while (i < CH_HISTO_NB && ns > ch_histo_bounds_ns[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum_ns += ns;
}
