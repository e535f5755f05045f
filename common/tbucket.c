/* tbucket.c: the token bucket (tbucket.h). */
#include "tbucket.h"

void ch_tbucket_init(ch_tbucket_t *b, double rate, double burst, uint64_t now_ns)
{
	*b = (ch_tbucket_t){.tokens = burst, .rate = rate, .burst = burst, .last_ns = now_ns};
}

/* ch_tbucket_refill: the cap applies at every refill, so an idle peer saves
 * up at most one burst. */
double ch_tbucket_refill(ch_tbucket_t *b, uint64_t now_ns)
{
	if (now_ns > b->last_ns) {
		b->tokens += (double)(now_ns - b->last_ns) / 1e9 * b->rate;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->last_ns = now_ns;
	}
	return b->tokens;
}

bool ch_tbucket_take(ch_tbucket_t *b, double n, uint64_t now_ns)
{
	if (ch_tbucket_refill(b, now_ns) < n)
		return false;
	b->tokens -= n;
	return true;
}

void ch_tbucket_spend(ch_tbucket_t *b, double n)
{
	b->tokens = b->tokens > n ? b->tokens - n : 0;
}
