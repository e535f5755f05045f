/* bans.c: banned addresses, by IP (any port), with an expiry, persisted in
 * DATADIR/bans.dat so that bans survive restarts.  One line per ban:
 * "IP UNTIL_WALL_MS REASON".  A malformed line is logged and skipped; the
 * list is bounded (TP_BANS_MAX): when full, the ban expiring first goes.
 * Thread-safe (one mutex): workers ban, the main thread checks and lists. */
#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "fileio.h"
#include "log.h"

#define TP_BANS_MAX 10000

typedef struct ban {
	char ip[48];
	uint64_t until;
	char reason[80];
} ban_t;

struct tp_bans {
	pthread_mutex_t lock;
	char path[CH_PATH_MAX + 16];
	ban_t *v;
	size_t n;
};

/* bans_save_locked: the live bans, one line each, written atomically and
 * synced: a ban must survive a crash right after it was given. */
static void bans_save_locked(tp_bans_t *b)
{
	/* room for the longest line each: ip, a 20-digit time, the reason,
	 * separators */
	size_t cap = b->n * (sizeof(b->v[0].ip) + 20 + sizeof(b->v[0].reason) + 3) + 1, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		CH_LOG_ERROR("cannot save bans to %s: out of memory", b->path);
		return;
	}
	uint64_t now = ch_wall_ms();
	for (size_t i = 0; i < b->n; i++) {
		if (b->v[i].until <= now)
			continue;
		int n = snprintf(buf + len, cap - len, "%s %llu %s\n", b->v[i].ip,
		                 (unsigned long long)b->v[i].until, b->v[i].reason);
		if (n < 0 || (size_t)n >= cap - len)
			break; /* cannot happen: cap holds n longest lines */
		len += (size_t)n;
	}
	if (ch_file_write_atomic(b->path, buf, len, 0644, 1) != 0)
		ch_log_errno(CH_LOG_LEVEL_ERROR, ch_file_failed_call(), "cannot save bans to %s",
		             b->path);
	free(buf);
}

tp_bans_t *tp_bans_open(const char *datadir)
{
	tp_bans_t *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->v = calloc(TP_BANS_MAX, sizeof(*b->v));
	if (!b->v) {
		free(b);
		return NULL;
	}
	pthread_mutex_init(&b->lock, NULL);
	snprintf(b->path, sizeof(b->path), "%s/bans.dat", datadir);
	FILE *f = fopen(b->path, "r");
	if (!f)
		return b;
	char line[256];
	int lineno = 0;
	uint64_t now = ch_wall_ms();
	while (fgets(line, sizeof(line), f) && b->n < TP_BANS_MAX) {
		lineno++;
		ban_t e = {0};
		unsigned long long until;
		int off = 0;
		if (sscanf(line, "%47s %llu %n", e.ip, &until, &off) < 2) {
			CH_LOG_WARN("%s:%d: malformed ban line skipped", b->path, lineno);
			continue;
		}
		snprintf(e.reason, sizeof(e.reason), "%s", line + off);
		e.reason[strcspn(e.reason, "\n")] = 0;
		e.until = until;
		if (e.until > now)
			b->v[b->n++] = e;
	}
	fclose(f);
	if (b->n)
		CH_LOG_INFO("loaded %zu bans from %s", b->n, b->path);
	return b;
}

void tp_bans_close(tp_bans_t **bp)
{
	if (!bp || !*bp)
		return;
	pthread_mutex_destroy(&(*bp)->lock);
	free((*bp)->v);
	free(*bp);
	*bp = NULL;
}

int tp_bans_add(tp_bans_t *b, const char *ip, uint64_t until, const char *reason)
{
	if (!ip || strlen(ip) >= sizeof(b->v[0].ip))
		return CH_EINVAL;
	pthread_mutex_lock(&b->lock);
	ban_t *e = NULL;
	for (size_t i = 0; i < b->n && !e; i++)
		if (strcmp(b->v[i].ip, ip) == 0)
			e = &b->v[i];
	if (!e && b->n < TP_BANS_MAX)
		e = &b->v[b->n++];
	if (!e) { /* full: replace the one expiring first */
		e = &b->v[0];
		for (size_t i = 1; i < b->n; i++)
			if (b->v[i].until < e->until)
				e = &b->v[i];
	}
	snprintf(e->ip, sizeof(e->ip), "%s", ip);
	e->until = until;
	snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : "");
	for (char *c = e->reason; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	bans_save_locked(b);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

int tp_bans_del(tp_bans_t *b, const char *ip)
{
	int rc = CH_ENOENT;
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->v[i].ip, ip) == 0) {
			b->v[i] = b->v[--b->n];
			rc = 0;
			break;
		}
	if (rc == 0)
		bans_save_locked(b);
	pthread_mutex_unlock(&b->lock);
	return rc;
}

bool tp_bans_check(tp_bans_t *b, const char *ip, uint64_t now)
{
	bool banned = false;
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->n && !banned; i++)
		banned = b->v[i].until > now && strcmp(b->v[i].ip, ip) == 0;
	pthread_mutex_unlock(&b->lock);
	return banned;
}

void tp_bans_list(tp_bans_t *b, uint64_t now,
                  void (*fn)(void *arg, const char *ip, uint64_t until, const char *reason),
                  void *arg)
{
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].until > now)
			fn(arg, b->v[i].ip, b->v[i].until, b->v[i].reason);
	pthread_mutex_unlock(&b->lock);
}

size_t tp_bans_count(tp_bans_t *b, uint64_t now)
{
	size_t n = 0;
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->n; i++)
		n += b->v[i].until > now;
	pthread_mutex_unlock(&b->lock);
	return n;
}
