/* tbucket.h: a token bucket, the one rate limiter of the node.
 *
 * `rate` tokens per second accrue up to `burst`; an action costs tokens
 * and is allowed only while they last.  Time is the caller's (nanoseconds
 * of any clock that never goes back, ch_mono_ns in the services), so tests
 * drive a bucket directly.  Not thread-safe: one bucket per owner. */
#ifndef CH_TBUCKET_H
#define CH_TBUCKET_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ch_tbucket {
	double tokens, rate, burst;
	uint64_t last_ns;
} ch_tbucket_t;

/* ch_tbucket_init: a full bucket (a newcomer may burst at once) whose
 * refill starts at now_ns. */
void ch_tbucket_init(ch_tbucket_t *b, double rate, double burst, uint64_t now_ns);

/* ch_tbucket_refill: adds what accrued since the last call (a clock that
 * did not advance adds nothing) and returns the tokens available. */
double ch_tbucket_refill(ch_tbucket_t *b, uint64_t now_ns);

/* ch_tbucket_take: refills, then takes n tokens if there are n.  true if
 * taken; false leaves the tokens as they were. */
bool ch_tbucket_take(ch_tbucket_t *b, double n, uint64_t now_ns);

/* ch_tbucket_spend: takes n tokens after a ch_tbucket_refill told how
 * many there were (never below zero). */
void ch_tbucket_spend(ch_tbucket_t *b, double n);

#endif
