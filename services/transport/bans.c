/* bans.c: banned addresses, with an expiry, persisted in DATADIR/bans.dat
 * so that bans survive restarts.  One line per ban: "KEY UNTIL_WALL_MS
 * REASON".  The key is the IPv4 address, or the /64 of an IPv6 address
 * ("2001:db8:1:2::/64"): one host holds a whole /64 and could otherwise
 * step around a ban by rotating addresses inside it.
 *
 * The list is bounded (TP_BANS_MAX).  When it is full (after dropping what
 * expired) a ban the node gives itself is refused and counted: the bans
 * already held are the earlier offenders, and letting new ones flush them
 * would let an attacker with many addresses lift its own ban.  A ban from
 * the operator replaces the automatic ban that expires first.
 *
 * Writes are batched: a ban marks the file dirty and it is rewritten (atomic,
 * synced) at most once a second, from tp_bans_flush on the main loop, so a
 * ban storm costs one write a second, not one per ban.  Operator bans and
 * unbans are written at once.  A malformed line is logged and skipped.
 * Thread-safe (one mutex): workers ban, the main thread checks and lists. */
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "fileio.h"
#include "log.h"

#define TP_BANS_MAX 10000

/* Bans are written at most this often (tp_bans_flush). */
#define TP_BANS_SAVE_MS 1000

typedef struct ban {
	char ip[48]; /* the key: see tp_ban_key */
	uint64_t until;
	bool manual;
	char reason[80];
} ban_t;

struct tp_bans {
	pthread_mutex_t lock;
	char path[CH_PATH_MAX + 16];
	ban_t *v;
	size_t n;
	bool dirty;
	uint64_t saved_ms;
	uint64_t refused; /* automatic bans refused because the list was full */
};

void tp_ban_key(const char *ip, char *out, size_t cap)
{
	struct in6_addr a6;

	if (strchr(ip, ':') != NULL && inet_pton(AF_INET6, ip, &a6) == 1 &&
	    !IN6_IS_ADDR_V4MAPPED(&a6)) {
		char txt[INET6_ADDRSTRLEN];

		memset(a6.s6_addr + 8, 0, 8);
		inet_ntop(AF_INET6, &a6, txt, sizeof(txt));
		snprintf(out, cap, "%s/64", txt);
		return;
	}
	snprintf(out, cap, "%s", ip);
}

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
	b->dirty = false;
	b->saved_ms = now;
}

/* purge_locked: drops the expired bans. */
static void purge_locked(tp_bans_t *b, uint64_t now)
{
	for (size_t i = 0; i < b->n;)
		if (b->v[i].until <= now)
			b->v[i] = b->v[--b->n];
		else
			i++;
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
		char ip[48];
		unsigned long long until;
		int off = 0;
		if (sscanf(line, "%47s %llu %n", ip, &until, &off) < 2) {
			CH_LOG_WARN("%s:%d: malformed ban line skipped", b->path, lineno);
			continue;
		}
		tp_ban_key(ip, e.ip, sizeof(e.ip));
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
	if ((*bp)->dirty)
		bans_save_locked(*bp);
	pthread_mutex_destroy(&(*bp)->lock);
	free((*bp)->v);
	free(*bp);
	*bp = NULL;
}

int tp_bans_add(tp_bans_t *b, const char *ip, uint64_t until, const char *reason, bool manual)
{
	char key[sizeof(b->v[0].ip)];
	uint64_t now = ch_wall_ms();

	if (!ip || strlen(ip) >= sizeof(key))
		return CH_EINVAL;
	tp_ban_key(ip, key, sizeof(key));
	pthread_mutex_lock(&b->lock);
	ban_t *e = NULL;
	for (size_t i = 0; i < b->n && !e; i++)
		if (strcmp(b->v[i].ip, key) == 0)
			e = &b->v[i];
	if (!e && b->n == TP_BANS_MAX)
		purge_locked(b, now);
	if (!e && b->n < TP_BANS_MAX) {
		e = &b->v[b->n++];
		memset(e, 0, sizeof(*e));
	}
	if (!e && manual) { /* full: the automatic ban expiring first goes */
		for (size_t i = 0; i < b->n; i++)
			if (!b->v[i].manual && (!e || b->v[i].until < e->until))
				e = &b->v[i];
	}
	if (!e) {
		b->refused++;
		pthread_mutex_unlock(&b->lock);
		return CH_ENOMEM;
	}
	bool same = strcmp(e->ip, key) == 0;
	if (same && e->until > until && !manual) {
		pthread_mutex_unlock(&b->lock); /* a longer ban stands */
		return 0;
	}
	snprintf(e->ip, sizeof(e->ip), "%s", key);
	e->until = until;
	e->manual = manual || (same && e->manual);
	snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : "");
	for (char *c = e->reason; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	b->dirty = true;
	if (manual || now >= b->saved_ms + TP_BANS_SAVE_MS)
		bans_save_locked(b);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

void tp_bans_flush(tp_bans_t *b, uint64_t now)
{
	pthread_mutex_lock(&b->lock);
	if (b->dirty && now >= b->saved_ms + TP_BANS_SAVE_MS)
		bans_save_locked(b);
	pthread_mutex_unlock(&b->lock);
}

uint64_t tp_bans_refused(tp_bans_t *b)
{
	pthread_mutex_lock(&b->lock);
	uint64_t n = b->refused;
	pthread_mutex_unlock(&b->lock);
	return n;
}

int tp_bans_del(tp_bans_t *b, const char *ip)
{
	char key[sizeof(b->v[0].ip)];
	int rc = CH_ENOENT;

	tp_ban_key(ip, key, sizeof(key));
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->v[i].ip, key) == 0) {
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
	char key[sizeof(b->v[0].ip)];
	bool banned = false;

	tp_ban_key(ip, key, sizeof(key));
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->n && !banned; i++)
		banned = b->v[i].until > now && strcmp(b->v[i].ip, key) == 0;
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
