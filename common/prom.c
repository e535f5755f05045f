/* prom.c: see prom.h. */
#include "prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(prom_t *p, size_t more)
{
	if (p->oom)
		return false;
	if (p->len + more + 1 <= p->cap)
		return true;
	size_t c = p->cap ? p->cap : 16384;
	while (c < p->len + more + 1)
		c *= 2;
	char *nb = realloc(p->buf, c);
	if (!nb) {
		p->oom = true;
		return false;
	}
	p->buf = nb;
	p->cap = c;
	return true;
}

static void put(prom_t *p, const char *s, size_t n)
{
	if (!reserve(p, n))
		return;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = 0;
}

static void puts_(prom_t *p, const char *s)
{
	put(p, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void putf(prom_t *p, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(p, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* escape: HELP text escapes backslash and newline; label values also the
 * double quote. */
static void escape(prom_t *p, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			puts_(p, "\\\\");
		else if (*s == '\n')
			puts_(p, "\\n");
		else if (quote && *s == '"')
			puts_(p, "\\\"");
		else
			put(p, s, 1);
	}
}

void prom_family(prom_t *p, const char *name, const char *type, const char *help)
{
	puts_(p, "# HELP ");
	puts_(p, name);
	puts_(p, " ");
	escape(p, help, false);
	puts_(p, "\n# TYPE ");
	puts_(p, name);
	puts_(p, " ");
	puts_(p, type);
	puts_(p, "\n");
}

static void head(prom_t *p, const char *name, const prom_labels_t *l)
{
	puts_(p, name);
	if (!l || !l->name[0]) {
		puts_(p, " ");
		return;
	}
	puts_(p, "{");
	for (int i = 0; i < PROM_LABELS_MAX && l->name[i]; i++) {
		if (i)
			puts_(p, ",");
		puts_(p, l->name[i]);
		puts_(p, "=\"");
		escape(p, l->value[i] ? l->value[i] : "", true);
		puts_(p, "\"");
	}
	puts_(p, "} ");
}

void prom_u64(prom_t *p, const char *name, const prom_labels_t *l, uint64_t v)
{
	head(p, name, l);
	putf(p, "%llu\n", (unsigned long long)v);
}

void prom_f64(prom_t *p, const char *name, const prom_labels_t *l, double v)
{
	head(p, name, l);
	if (isnan(v))
		puts_(p, "NaN\n");
	else if (isinf(v))
		puts_(p, v > 0 ? "+Inf\n" : "-Inf\n");
	else {
		/* the shortest of %.15g and %.17g that reads back the same */
		char t[40];
		snprintf(t, sizeof(t), "%.15g", v);
		if (strtod(t, NULL) != v)
			snprintf(t, sizeof(t), "%.17g", v);
		putf(p, "%s\n", t);
	}
}

bool prom_ok(const prom_t *p)
{
	return !p->oom;
}

void prom_free(prom_t *p)
{
	free(p->buf);
	*p = (prom_t){0};
}
