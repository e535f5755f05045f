/* svctimer.c: timers of a single-threaded loop (see svctimer.h). */
#include "svctimer.h"

#include <string.h>

#include "err.h"

#define SLOT(id) ((id)&0xffffu)
#define GEN(id)  ((uint16_t)((id) >> 16))

void ch_timers_init(ch_timers_t *ts)
{
	memset(ts, 0, sizeof(*ts));
}

/* live: the slot of id, or NULL. */
static ch_timer_t *live(ch_timers_t *ts, uint32_t id)
{
	uint32_t s = SLOT(id);
	if (s == 0 || s > CH_TIMERS_MAX)
		return NULL;
	ch_timer_t *t = &ts->t[s - 1];
	return t->due && t->gen == GEN(id) ? t : NULL;
}

int ch_timers_add(ch_timers_t *ts, uint64_t due_ns, uint64_t period_ns, ch_timer_fn fn, void *arg,
                  uint32_t *id)
{
	if (!fn || !id)
		return CH_EINVAL;
	for (uint32_t i = 0; i < CH_TIMERS_MAX; i++) {
		ch_timer_t *t = &ts->t[i];
		if (t->due)
			continue;
		t->due = due_ns ? due_ns : 1;
		t->period = period_ns;
		t->fn = fn;
		t->arg = arg;
		t->gen++;
		ts->n++;
		*id = (uint32_t)t->gen << 16 | (i + 1);
		return 0;
	}
	return CH_ENOMEM;
}

int ch_timers_set(ch_timers_t *ts, uint32_t id, uint64_t due_ns)
{
	ch_timer_t *t = live(ts, id);
	if (!t)
		return CH_ENOENT;
	t->due = due_ns ? due_ns : 1;
	return 0;
}

int ch_timers_cancel(ch_timers_t *ts, uint32_t id)
{
	ch_timer_t *t = live(ts, id);
	if (!t)
		return CH_ENOENT;
	t->due = 0;
	ts->n--;
	return 0;
}

uint64_t ch_timers_next(const ch_timers_t *ts)
{
	uint64_t next = 0;
	for (uint32_t i = 0, seen = 0; i < CH_TIMERS_MAX && seen < ts->n; i++) {
		uint64_t d = ts->t[i].due;
		if (!d)
			continue;
		seen++;
		if (!next || d < next)
			next = d;
	}
	return next;
}

int ch_timers_run(ch_timers_t *ts, uint64_t now_ns, void *ctx)
{
	int ran = 0;
	for (uint32_t i = 0; i < CH_TIMERS_MAX && ts->n; i++) {
		ch_timer_t *t = &ts->t[i];
		if (!t->due || t->due > now_ns)
			continue;
		uint32_t id = (uint32_t)t->gen << 16 | (i + 1);
		ch_timer_fn fn = t->fn;
		void *arg = t->arg;
		if (t->period) {
			t->due += t->period;
			if (t->due <= now_ns)
				t->due = now_ns + t->period;
		} else {
			t->due = 0;
			ts->n--;
		}
		ts->fired++;
		ran++;
		/* the callback may reuse, move or cancel this very slot */
		fn(ctx, arg, id);
	}
	return ran;
}
