/* scores.c: misbehaviour scores that outlive a connection.
 *
 * A peer's points used to start at zero on every connection, so anything
 * below the ban threshold per connection was free: reconnect and go on.
 * Now a connection's points are remembered per address (the ban key: the
 * IPv4 address or the IPv6 /64) when it closes and given back to the next
 * connection from there, halving every TP_SCORE_HALF_LIFE_MS.  A score that
 * decayed below one point is forgotten.
 *
 * The table is fixed (TP_SCORES_MAX entries, about 80 bytes each); when it
 * is full the smallest remembered score gives way, so flooding it with
 * small scores from many addresses cannot push out a large one.  One mutex;
 * taken only when a connection starts and ends. */
#include "transport.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct score_ent {
	char key[48];
	double points; /* as of at_ms */
	uint64_t at_ms;
} score_ent_t;

struct tp_scores {
	pthread_mutex_t lock;
	score_ent_t v[TP_SCORES_MAX];
	size_t n;
};

tp_scores_t *tp_scores_new(void)
{
	tp_scores_t *s = calloc(1, sizeof(*s));
	if (s)
		pthread_mutex_init(&s->lock, NULL);
	return s;
}

void tp_scores_destroy(tp_scores_t **sp)
{
	if (!sp || !*sp)
		return;
	pthread_mutex_destroy(&(*sp)->lock);
	free(*sp);
	*sp = NULL;
}

/* decayed: e's points at now. */
static double decayed(const score_ent_t *e, uint64_t now)
{
	if (now <= e->at_ms)
		return e->points;
	return e->points * exp2(-(double)(now - e->at_ms) / TP_SCORE_HALF_LIFE_MS);
}

int32_t tp_scores_take(tp_scores_t *s, const char *ip, uint64_t now)
{
	char key[48];
	int32_t pts = 0;

	if (s == NULL)
		return 0;
	tp_ban_key(ip, key, sizeof(key));
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].key, key) == 0) {
			pts = (int32_t)decayed(&s->v[i], now);
			s->v[i] = s->v[--s->n];
			break;
		}
	pthread_mutex_unlock(&s->lock);
	return pts;
}

void tp_scores_keep(tp_scores_t *s, const char *ip, int32_t points, uint64_t now)
{
	char key[48];
	score_ent_t *e = NULL;

	if (s == NULL || points < 1)
		return;
	tp_ban_key(ip, key, sizeof(key));
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n && !e; i++)
		if (strcmp(s->v[i].key, key) == 0)
			e = &s->v[i];
	if (e) { /* two connections from one address: the larger stands */
		if (decayed(e, now) < points) {
			e->points = points;
			e->at_ms = now;
		}
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (s->n < TP_SCORES_MAX) {
		e = &s->v[s->n++];
	} else {
		size_t low = 0;
		for (size_t i = 1; i < s->n; i++)
			if (decayed(&s->v[i], now) < decayed(&s->v[low], now))
				low = i;
		if (decayed(&s->v[low], now) >= points) {
			pthread_mutex_unlock(&s->lock);
			return;
		}
		e = &s->v[low];
	}
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->points = points;
	e->at_ms = now;
	pthread_mutex_unlock(&s->lock);
}

size_t tp_scores_count(tp_scores_t *s)
{
	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->lock);
	size_t n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}
