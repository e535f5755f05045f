/* svctimer.h: the timers of a single-threaded loop (the service frame's).
 *
 * A fixed table of CH_TIMERS_MAX timers on the monotonic clock: one-shot
 * (freed when it fires) or periodic (re-armed period_ns after the time it
 * was due; a loop that fell behind skips the missed firings instead of
 * running them back to back).  The loop asks ch_timers_next for how long
 * it may sleep and calls ch_timers_run after waking.  Ids carry a
 * generation, so cancelling a timer that has fired (and whose slot was
 * reused) is harmless.  Callbacks may add and cancel timers, themselves
 * included.  Not thread-safe: the owner's loop only. */
#ifndef CH_SVCTIMER_H
#define CH_SVCTIMER_H

#include <stdbool.h>
#include <stdint.h>

#define CH_TIMERS_MAX 64

/* A timer's callback: ctx is what ch_timers_run was given, arg what
 * ch_timers_add was, id the timer's id. */
typedef void (*ch_timer_fn)(void *ctx, void *arg, uint32_t id);

typedef struct ch_timer {
	uint64_t due;    /* monotonic ns; 0: slot free */
	uint64_t period; /* 0: one-shot */
	ch_timer_fn fn;
	void *arg;
	uint16_t gen;
} ch_timer_t;

typedef struct ch_timers {
	ch_timer_t t[CH_TIMERS_MAX];
	uint32_t n;     /* timers in use */
	uint64_t fired; /* callbacks run, ever */
} ch_timers_t;

/* ch_timers_init: an empty table. */
void ch_timers_init(ch_timers_t *ts);

/* ch_timers_add: a timer due at due_ns (monotonic; 0 counts as 1: due at
 * once), then every period_ns if period_ns > 0.  Returns its id (> 0) in
 * *id and 0; CH_EINVAL without fn; CH_ENOMEM when the table is full. */
int ch_timers_add(ch_timers_t *ts, uint64_t due_ns, uint64_t period_ns, ch_timer_fn fn, void *arg,
                  uint32_t *id);

/* ch_timers_set: moves a live timer to due_ns (its period unchanged).
 * CH_ENOENT if id is not a live timer. */
int ch_timers_set(ch_timers_t *ts, uint32_t id, uint64_t due_ns);

/* ch_timers_cancel: frees the timer; CH_ENOENT if id is not live (fired
 * one-shot, cancelled, or 0). */
int ch_timers_cancel(ch_timers_t *ts, uint32_t id);

/* ch_timers_next: the earliest due time, 0 if no timer is live. */
uint64_t ch_timers_next(const ch_timers_t *ts);

/* ch_timers_run: runs the callback of every timer due at now_ns (each at
 * most once per call, so a periodic timer of period 0 < p < the gap cannot
 * loop); returns how many ran. */
int ch_timers_run(ch_timers_t *ts, uint64_t now_ns, void *ctx);

#endif
