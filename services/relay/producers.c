/* producers.c: the validator set, its file and its lookups (producers.h). */
#include "producers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"
#include "hash.h"

/* find: the position of key, or where it would go (*found false). */
static uint32_t find(const rl_producers_t *s, const uint8_t key[32], bool *found)
{
	uint32_t lo = 0, hi = s->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(s->key[mid], key, 32);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

bool rl_prod_has(const rl_producers_t *s, const uint8_t key[32])
{
	bool found;
	find(s, key, &found);
	return found;
}

int rl_prod_add(rl_producers_t *s, const uint8_t key[32])
{
	bool found;
	uint32_t at = find(s, key, &found);
	if (found)
		return CH_EEXIST;
	if (s->n >= RL_PRODUCERS_MAX)
		return CH_ERANGE;
	memmove(s->key[at + 1], s->key[at], 32 * (size_t)(s->n - at));
	memcpy(s->key[at], key, 32);
	s->n++;
	return 0;
}

int rl_prod_remove(rl_producers_t *s, const uint8_t key[32])
{
	bool found;
	uint32_t at = find(s, key, &found);
	if (!found)
		return CH_ENOENT;
	memmove(s->key[at], s->key[at + 1], 32 * (size_t)(s->n - at - 1));
	s->n--;
	return 0;
}

bool rl_prod_parse_hex(const char *s, size_t len, uint8_t out[32])
{
	char hex[65];
	size_t got;
	if (len != 64)
		return false;
	memcpy(hex, s, 64);
	hex[64] = 0;
	return ch_hex_decode(out, 32, hex, &got) == 0 && got == 32;
}

int rl_prod_parse(rl_producers_t *s, const char *text, size_t len, char *err, size_t errcap)
{
	s->n = 0;
	size_t pos = 0;
	for (unsigned line = 1; pos < len; line++) {
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - l) : len - pos;
		pos += ll + (nl ? 1 : 0);
		while (ll && (l[ll - 1] == '\r' || l[ll - 1] == ' ' || l[ll - 1] == '\t'))
			ll--;
		while (ll && (*l == ' ' || *l == '\t')) {
			l++;
			ll--;
		}
		if (!ll || *l == '#')
			continue;
		uint8_t key[32];
		if (!rl_prod_parse_hex(l, ll, key)) {
			snprintf(err, errcap, "line %u: not a public key (64 hex digits)", line);
			return CH_EPROTO;
		}
		int rc = rl_prod_add(s, key);
		if (rc == CH_ERANGE) {
			snprintf(err, errcap, "line %u: more than %d keys", line, RL_PRODUCERS_MAX);
			return rc;
		}
	}
	return 0;
}

/* path_of: DATADIR/producers. */
static int path_of(const char *datadir, char *out, size_t cap)
{
	return (size_t)snprintf(out, cap, "%s/%s", datadir, RL_PRODUCERS_FILE) < cap ? 0
	                                                                             : CH_ERANGE;
}

int rl_prod_load(const char *datadir, rl_producers_t *s, char *err, size_t errcap)
{
	char path[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	if (path_of(datadir, path, sizeof(path))) {
		snprintf(err, errcap, "datadir path too long");
		return CH_ERANGE;
	}
	int rc = ch_file_read_all(path, RL_PRODUCERS_FILE_MAX, &buf, &len);
	if (rc == CH_ENOENT)
		return rc;
	if (rc) {
		snprintf(err, errcap, "%s: %s", path, ch_strerror(rc));
		return rc;
	}
	char why[128];
	rc = rl_prod_parse(s, (const char *)buf, len, why, sizeof(why));
	free(buf);
	if (rc)
		snprintf(err, errcap, "%s: %s", path, why);
	return rc;
}

int rl_prod_save(const char *datadir, const rl_producers_t *s)
{
	char path[4096];
	if (path_of(datadir, path, sizeof(path)))
		return CH_ERANGE;
	static const char head[] =
	    "# block producers: written by chorus-relay (chorusctl producers); "
	    "this file wins over the config's producer keys\n";
	size_t cap = sizeof(head) + 65 * (size_t)s->n;
	char *text = malloc(cap);
	if (!text)
		return CH_ENOMEM;
	memcpy(text, head, sizeof(head) - 1);
	size_t len = sizeof(head) - 1;
	for (uint32_t i = 0; i < s->n; i++) {
		ch_hex_encode(text + len, 65, s->key[i], 32);
		len += 64;
		text[len++] = '\n';
	}
	int rc = ch_file_write_atomic(path, text, len, 0644, 1);
	free(text);
	return rc;
}
