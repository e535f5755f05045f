/* config.c: see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "err.h"
#include "log.h"

/* Where the values of one parse come from; shapes the error prefix. */
enum src_kind {
	SRC_DEFAULT,
	SRC_FILE,
	SRC_ARGS,
};

/* State of one parse (one source). */
struct src {
	enum src_kind kind;
	const ch_cfg_opt_t *opts;
	size_t n;
	void *settings;   /* NULL: a dry run (ch_cfg_find_arg) */
	const char *path; /* SRC_FILE */
	size_t line;      /* SRC_FILE: current line number */
	size_t *seen;     /* per option: line (or 1) where this source set it */
	uint8_t *from;    /* per option: the source that set it last, or NULL */
	char *err;
	size_t errcap;
};

/* ---------------------------------------------------------------- helpers */

/* Appends printf output to buf at *off, never past cap. */
static void vappend(char *buf, size_t cap, size_t *off, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void vappend(char *buf, size_t cap, size_t *off, const char *fmt, va_list ap)
{
	int k;

	if (*off >= cap)
		return;
	k = vsnprintf(buf + *off, cap - *off, fmt, ap);
	if (k < 0)
		return;
	*off = (size_t)k >= cap - *off ? cap - 1 : *off + (size_t)k;
}

static void append(char *buf, size_t cap, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vappend(buf, cap, off, fmt, ap);
	va_end(ap);
}

/* Writes "<where>: <key>: <reason>" into s->err and returns code.  key may
 * be NULL (a syntax error before a key is known); klen is its length. */
static int fail(struct src *s, const char *key, size_t klen, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(struct src *s, const char *key, size_t klen, int code, const char *fmt, ...)
{
	size_t off = 0;
	va_list ap;

	if (s->err == NULL || s->errcap == 0)
		return code;
	s->err[0] = '\0';
	if (s->kind == SRC_FILE)
		append(s->err, s->errcap, &off, "%s:%zu: ", s->path, s->line);
	else if (s->kind == SRC_DEFAULT)
		append(s->err, s->errcap, &off, "schema: ");
	if (key != NULL) {
		int kl = klen > 128 ? 128 : (int)klen;

		append(s->err, s->errcap, &off, "%s%.*s: ", s->kind == SRC_ARGS ? "--" : "", kl,
		       key);
	}
	va_start(ap, fmt);
	vappend(s->err, s->errcap, &off, fmt, ap);
	va_end(ap);
	return code;
}

/* Key comparison where '-' and '_' are the same character. */
static bool key_eq(const char *schema_key, const char *given, size_t glen)
{
	size_t i;

	for (i = 0; i < glen; i++) {
		char a = schema_key[i] == '_' ? '-' : schema_key[i];
		char b = given[i] == '_' ? '-' : given[i];

		if (schema_key[i] == '\0' || a != b)
			return false;
	}
	return schema_key[i] == '\0';
}

static long find_opt(const ch_cfg_opt_t *opts, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (key_eq(opts[i].key, name, len))
			return (long)i;
	}
	return -1;
}

/* The field size a type needs (0: any size >= 1, for inline strings). */
static size_t type_size(const ch_cfg_opt_t *o)
{
	bool multi = (o->flags & CH_CFG_MULTI) != 0;

	switch (o->type) {
	case CH_CFG_STR:
		return multi ? sizeof(ch_cfg_strs_t) : 0;
	case CH_CFG_INT:
		return sizeof(int64_t);
	case CH_CFG_BOOL:
		return sizeof(bool);
	case CH_CFG_DURATION:
	case CH_CFG_SIZE:
		return sizeof(uint64_t);
	case CH_CFG_HOSTPORT:
		return multi ? sizeof(ch_cfg_hostports_t) : sizeof(ch_hostport_t);
	case CH_CFG_LOGLEVEL:
		return sizeof(int);
	}
	return 0;
}

/* Checks the schema; every entry point calls it, so a bad schema can never
 * make a parser write outside a field. */
static int check_schema(struct src *s)
{
	const unsigned known = CH_CFG_MULTI | CH_CFG_NOVALUE | CH_CFG_ARGONLY;

	if (s->opts == NULL || s->n == 0 || s->n > CH_CFG_OPTS_MAX) {
		s->kind = SRC_DEFAULT;
		return fail(s, NULL, 0, CH_EINVAL, "no options or more than %d", CH_CFG_OPTS_MAX);
	}
	for (size_t i = 0; i < s->n; i++) {
		const ch_cfg_opt_t *o = &s->opts[i];
		size_t want;
		const char *k = o->key;
		enum src_kind kind = s->kind;
		int rc = 0;

		s->kind = SRC_DEFAULT;
		if (k == NULL || k[0] == '\0' || k[0] == '-' || strlen(k) > 64) {
			rc = fail(s, NULL, 0, CH_EINVAL, "option %zu: bad key", i);
			goto out;
		}
		for (const char *p = k; *p != '\0'; p++) {
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
				rc = fail(s, k, strlen(k), CH_EINVAL, "bad character in key");
				goto out;
			}
		}
		if (o->type < CH_CFG_STR || o->type > CH_CFG_LOGLEVEL || (o->flags & ~known) != 0) {
			rc = fail(s, k, strlen(k), CH_EINVAL, "bad type or flags");
			goto out;
		}
		if ((o->flags & CH_CFG_MULTI) && o->type != CH_CFG_STR &&
		    o->type != CH_CFG_HOSTPORT) {
			rc = fail(s, k, strlen(k), CH_EINVAL, "MULTI needs STR or HOSTPORT");
			goto out;
		}
		if ((o->flags & CH_CFG_NOVALUE) && o->type != CH_CFG_BOOL) {
			rc = fail(s, k, strlen(k), CH_EINVAL, "NOVALUE needs BOOL");
			goto out;
		}
		want = type_size(o);
		if ((want == 0 && o->size == 0) || (want != 0 && o->size != want)) {
			rc = fail(s, k, strlen(k), CH_EINVAL,
			          "field size %zu does not fit the type", o->size);
			goto out;
		}
		if ((o->type == CH_CFG_DURATION || o->type == CH_CFG_SIZE) && o->min < o->max &&
		    o->min < 0) {
			rc = fail(s, k, strlen(k), CH_EINVAL, "negative minimum");
			goto out;
		}
		if (find_opt(s->opts, i, k, strlen(k)) >= 0) {
			rc = fail(s, k, strlen(k), CH_EINVAL, "key declared twice");
			goto out;
		}
	out:
		s->kind = kind;
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Formats a duration in the largest unit that divides it exactly. */
static void fmt_duration(uint64_t ms, char *buf, size_t cap)
{
	static const struct {
		uint64_t ms;
		const char *unit;
	} u[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};

	for (size_t i = 0; ms != 0 && i < sizeof(u) / sizeof(u[0]); i++) {
		if (ms % u[i].ms == 0) {
			snprintf(buf, cap, "%" PRIu64 "%s", ms / u[i].ms, u[i].unit);
			return;
		}
	}
	snprintf(buf, cap, "%" PRIu64 "ms", ms);
}

/* Formats a byte count in the largest binary unit that divides it. */
static void fmt_size(uint64_t v, char *buf, size_t cap)
{
	static const char units[] = "TGMK";

	for (int i = 0; v != 0 && i < 4; i++) {
		uint64_t m = 1ull << (10 * (4 - i));

		if (v % m == 0) {
			snprintf(buf, cap, "%" PRIu64 "%c", v / m, units[i]);
			return;
		}
	}
	snprintf(buf, cap, "%" PRIu64, v);
}

/* Parses a decimal int64 with optional sign.  0, CH_EINVAL (not a number)
 * or CH_ERANGE (does not fit). */
static int parse_int(const char *s, int64_t *out)
{
	bool neg = false;
	uint64_t v = 0;
	uint64_t limit;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (*s < '0' || *s > '9')
		return CH_EINVAL;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s >= '0' && *s <= '9'; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (v > (limit - d) / 10) {
			while (*s >= '0' && *s <= '9')
				s++;
			return *s == '\0' ? CH_ERANGE : CH_EINVAL;
		}
		v = v * 10 + d;
	}
	if (*s != '\0')
		return CH_EINVAL;
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return 0;
}

int ch_bool_parse(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	if (s == NULL || out == NULL)
		return CH_EINVAL;
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return CH_EINVAL;
}

int ch_size_parse(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		unsigned shift;
	} units[] = {
	    {"", 0},     {"b", 0},  {"k", 10},  {"kb", 10},  {"kib", 10}, {"m", 20},  {"mb", 20},
	    {"mib", 20}, {"g", 30}, {"gb", 30}, {"gib", 30}, {"t", 40},   {"tb", 40}, {"tib", 40},
	};
	uint64_t v = 0;

	if (s == NULL || out == NULL || *s < '0' || *s > '9')
		return CH_EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return CH_EINVAL;
		v = v * 10 + d;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(s, units[i].unit) != 0)
			continue;
		if (v > (UINT64_MAX >> units[i].shift))
			return CH_EINVAL;
		*out = v << units[i].shift;
		return 0;
	}
	return CH_EINVAL;
}

static bool host_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/* Checks the inside of "[...]": IPv6 characters with a ':' and an optional
 * "%zone" suffix. */
static bool v6_ok(const char *h, size_t len)
{
	bool colon = false;
	size_t i;

	for (i = 0; i < len && h[i] != '%'; i++) {
		if (h[i] == ':')
			colon = true;
		else if (!isxdigit((unsigned char)h[i]) && h[i] != '.')
			return false;
	}
	if (!colon)
		return false;
	if (i < len) { /* zone */
		if (i + 1 == len)
			return false;
		for (i++; i < len; i++) {
			if (!host_char(h[i]))
				return false;
		}
	}
	return true;
}

int ch_hostport_parse(const char *s, ch_hostport_t *out)
{
	ch_hostport_t hp;
	const char *host, *port;
	size_t hlen, len;
	uint32_t pv = 0;

	if (s == NULL || out == NULL)
		return CH_EINVAL;
	len = strlen(s);
	if (len >= CH_HOSTPORT_MAX)
		return CH_ERANGE;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return CH_EINVAL;
		host = s + 1;
		hlen = (size_t)(close - host);
		if (hlen == 0 || !v6_ok(host, hlen))
			return CH_EINVAL;
		port = close + 2;
	} else {
		const char *colon = strchr(s, ':');

		if (colon == NULL || strchr(colon + 1, ':') != NULL)
			return CH_EINVAL;
		host = s;
		hlen = (size_t)(colon - s);
		for (size_t i = 0; i < hlen; i++) {
			if (!host_char(host[i]))
				return CH_EINVAL;
		}
		port = colon + 1;
	}
	if (hlen >= CH_HOST_MAX)
		return CH_ERANGE;
	if (*port == '\0')
		return CH_EINVAL;
	for (const char *p = port; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return CH_EINVAL;
		if (pv <= 65535)
			pv = pv * 10 + (uint32_t)(*p - '0');
	}
	if (pv == 0 || pv > 65535)
		return CH_ERANGE;
	memset(&hp, 0, sizeof(hp));
	memcpy(hp.str, s, len + 1);
	memcpy(hp.host, host, hlen);
	hp.host[hlen] = '\0';
	hp.port = (uint16_t)pv;
	*out = hp;
	return 0;
}

/* ---------------------------------------------------------------- apply */

/* Checks an unsigned value (duration, size) against the option's bounds. */
static int check_ubounds(struct src *s, const ch_cfg_opt_t *o, uint64_t v, const char *val)
{
	char b[32];
	void (*fmt)(uint64_t, char *, size_t) = o->type == CH_CFG_SIZE ? fmt_size : fmt_duration;

	if (o->min >= o->max)
		return 0;
	if (v < (uint64_t)o->min) {
		fmt((uint64_t)o->min, b, sizeof(b));
		return fail(s, o->key, strlen(o->key), CH_EINVAL, "%s is below the minimum %s", val,
		            b);
	}
	if (v > (uint64_t)o->max) {
		fmt((uint64_t)o->max, b, sizeof(b));
		return fail(s, o->key, strlen(o->key), CH_EINVAL, "%s is above the maximum %s", val,
		            b);
	}
	return 0;
}

/* Parses val for option i and stores it into the settings. */
static int apply(struct src *s, size_t i, const char *val)
{
	const ch_cfg_opt_t *o = &s->opts[i];
	const char *k = o->key;
	size_t klen = strlen(k);
	char *field = (char *)s->settings + o->offset;
	bool multi = (o->flags & CH_CFG_MULTI) != 0;
	bool first = s->seen[i] == 0;
	size_t len = strlen(val);
	int rc;

	if (!multi && !first && s->kind == SRC_FILE)
		return fail(s, k, klen, CH_EINVAL, "given twice (first on line %zu)", s->seen[i]);
	s->seen[i] = s->kind == SRC_FILE ? s->line : 1;
	if (s->from != NULL)
		s->from[i] = s->kind == SRC_FILE   ? CH_CFG_FROM_FILE
		             : s->kind == SRC_ARGS ? CH_CFG_FROM_FLAG
		                                   : CH_CFG_FROM_DEFAULT;
	switch (o->type) {
	case CH_CFG_STR: {
		size_t cap = multi ? CH_CFG_STRS_LEN : o->size;

		if (len >= cap)
			return fail(s, k, klen, CH_EINVAL, "value is longer than %zu bytes",
			            cap - 1);
		if (!multi) {
			memcpy(field, val, len + 1);
			return 0;
		}
		ch_cfg_strs_t *list = (ch_cfg_strs_t *)(void *)field;

		if (first)
			list->n = 0;
		if (list->n >= CH_CFG_MULTI_MAX)
			return fail(s, k, klen, CH_ERANGE, "more than %d values", CH_CFG_MULTI_MAX);
		memcpy(list->v[list->n++], val, len + 1);
		return 0;
	}
	case CH_CFG_INT: {
		int64_t v;

		rc = parse_int(val, &v);
		if (rc == CH_ERANGE)
			return fail(s, k, klen, CH_EINVAL,
			            "%.80s is out of range for a 64-bit integer", val);
		if (rc != 0)
			return fail(s, k, klen, CH_EINVAL, "\"%.80s\" is not an integer", val);
		if (o->min < o->max && v < o->min)
			return fail(s, k, klen, CH_EINVAL,
			            "%" PRId64 " is below the minimum %" PRId64, v, o->min);
		if (o->min < o->max && v > o->max)
			return fail(s, k, klen, CH_EINVAL,
			            "%" PRId64 " is above the maximum %" PRId64, v, o->max);
		memcpy(field, &v, sizeof(v));
		return 0;
	}
	case CH_CFG_BOOL: {
		bool v;

		if (ch_bool_parse(val, &v) != 0)
			return fail(s, k, klen, CH_EINVAL,
			            "\"%.80s\" is not a boolean (true/false, yes/no, on/off, 1/0)",
			            val);
		memcpy(field, &v, sizeof(v));
		return 0;
	}
	case CH_CFG_DURATION:
	case CH_CFG_SIZE: {
		uint64_t v;

		if (o->type == CH_CFG_DURATION && ch_duration_parse(val, &v) != 0)
			return fail(s, k, klen, CH_EINVAL,
			            "\"%.80s\" is not a duration (e.g. 250ms, 5s, 2m, 1h)", val);
		if (o->type == CH_CFG_SIZE && ch_size_parse(val, &v) != 0)
			return fail(s, k, klen, CH_EINVAL,
			            "\"%.80s\" is not a size (e.g. 4096, 64k, 16M, 1G)", val);
		rc = check_ubounds(s, o, v, val);
		if (rc != 0)
			return rc;
		memcpy(field, &v, sizeof(v));
		return 0;
	}
	case CH_CFG_HOSTPORT: {
		ch_hostport_t hp;

		rc = ch_hostport_parse(val, &hp);
		if (rc != 0 && len >= CH_HOSTPORT_MAX)
			return fail(s, k, klen, CH_EINVAL, "value is longer than %d bytes",
			            CH_HOSTPORT_MAX - 1);
		if (rc == CH_ERANGE)
			return fail(s, k, klen, CH_EINVAL, "\"%.80s\": port must be 1-65535", val);
		if (rc != 0)
			return fail(s, k, klen, CH_EINVAL,
			            "\"%.80s\" is not HOST:PORT, [IPV6]:PORT or :PORT", val);
		if (!multi) {
			memcpy(field, &hp, sizeof(hp));
			return 0;
		}
		ch_cfg_hostports_t *list = (ch_cfg_hostports_t *)(void *)field;

		if (first)
			list->n = 0;
		if (list->n >= CH_CFG_MULTI_MAX)
			return fail(s, k, klen, CH_ERANGE, "more than %d values", CH_CFG_MULTI_MAX);
		list->v[list->n++] = hp;
		return 0;
	}
	case CH_CFG_LOGLEVEL: {
		int v;

		if (ch_log_level_parse(val, &v) != 0)
			return fail(s, k, klen, CH_EINVAL,
			            "\"%.80s\" is not a log level (error, warn, info, debug)", val);
		memcpy(field, &v, sizeof(v));
		return 0;
	}
	}
	return fail(s, k, klen, CH_EINVAL, "bad type");
}

static int src_begin(struct src *s, enum src_kind kind, const ch_cfg_opt_t *opts, size_t n,
                     void *settings, char *err, size_t errcap)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->opts = opts;
	s->n = n;
	s->settings = settings;
	s->err = err;
	s->errcap = errcap;
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	rc = check_schema(s);
	if (rc != 0)
		return rc;
	s->seen = calloc(n, sizeof(*s->seen));
	if (s->seen == NULL)
		return fail(s, NULL, 0, CH_ENOMEM, "out of memory");
	return 0;
}

static void src_end(struct src *s)
{
	free(s->seen);
	s->seen = NULL;
}

/* ---------------------------------------------------------------- public */

int ch_cfg_defaults(const ch_cfg_opt_t *opts, size_t n, void *settings, char *err, size_t errcap)
{
	struct src s;
	int rc;

	if (settings == NULL)
		return CH_EINVAL;
	rc = src_begin(&s, SRC_DEFAULT, opts, n, settings, err, errcap);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		memset((char *)settings + opts[i].offset, 0, opts[i].size);
		if (opts[i].def != NULL)
			rc = apply(&s, i, opts[i].def);
	}
	src_end(&s);
	return rc;
}

/* Parses one line of a file (without its newline) into s. */
static int file_line(struct src *s, char *line, char *vbuf)
{
	char *p = line;
	char *key, *val;
	size_t klen;
	long idx;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	key = p;
	while (*p != '\0' && *p != '=' && *p != ' ' && *p != '\t')
		p++;
	klen = (size_t)(p - key);
	while (*p == ' ' || *p == '\t')
		p++;
	if (klen == 0)
		return fail(s, NULL, 0, CH_EINVAL, "expected key = value");
	idx = find_opt(s->opts, s->n, key, klen);
	if (idx < 0)
		return fail(s, key, klen, CH_EINVAL, "unknown key");
	if (s->opts[idx].flags & CH_CFG_ARGONLY)
		return fail(s, s->opts[idx].key, strlen(s->opts[idx].key), CH_EINVAL,
		            "only allowed on the command line");
	if (*p == '\0' || *p == '#') {
		if (s->opts[idx].flags & CH_CFG_NOVALUE)
			return apply(s, (size_t)idx, "true");
		return fail(s, s->opts[idx].key, strlen(s->opts[idx].key), CH_EINVAL,
		            "expected key = value");
	}
	if (*p != '=')
		return fail(s, key, klen, CH_EINVAL, "expected '=' after the key");
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	val = vbuf;
	if (*p == '"') {
		char *o = vbuf;

		for (p++; *p != '"'; p++) {
			if (*p == '\0')
				return fail(s, s->opts[idx].key, strlen(s->opts[idx].key),
				            CH_EINVAL, "unterminated quote");
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			*o++ = *p;
		}
		*o = '\0';
		for (p++; *p == ' ' || *p == '\t'; p++)
			;
		if (*p != '\0' && *p != '#')
			return fail(s, s->opts[idx].key, strlen(s->opts[idx].key), CH_EINVAL,
			            "unexpected text after the closing quote");
	} else {
		char *end = p;

		for (char *q = p; *q != '\0'; q++) {
			if (*q == '#' && q > line && (q[-1] == ' ' || q[-1] == '\t'))
				break;
			end = q + 1;
		}
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end == p)
			return fail(s, s->opts[idx].key, strlen(s->opts[idx].key), CH_EINVAL,
			            "missing value");
		memcpy(vbuf, p, (size_t)(end - p));
		vbuf[end - p] = '\0';
	}
	return apply(s, (size_t)idx, val);
}

int ch_cfg_parse_file(const ch_cfg_opt_t *opts, size_t n, void *settings, const char *path,
                      char *err, size_t errcap)
{
	return ch_cfg_parse_file_from(opts, n, settings, path, NULL, err, errcap);
}

int ch_cfg_parse_file_from(const ch_cfg_opt_t *opts, size_t n, void *settings, const char *path,
                           uint8_t *from, char *err, size_t errcap)
{
	struct src s;
	char *line = NULL, *vbuf = NULL;
	char ebuf[128];
	size_t lcap = 0;
	ssize_t len;
	FILE *f;
	int rc;

	if (settings == NULL || path == NULL)
		return CH_EINVAL;
	rc = src_begin(&s, SRC_FILE, opts, n, settings, err, errcap);
	if (rc != 0) {
		src_end(&s);
		return rc;
	}
	s.path = path;
	s.from = from;
	f = fopen(path, "re");
	if (f == NULL) {
		int e = errno;

		src_end(&s);
		if (err != NULL && errcap > 0)
			snprintf(err, errcap, "%s: cannot open: %s", path,
			         strerror_r(e, ebuf, sizeof(ebuf)));
		return e == ENOENT ? CH_ENOENT : CH_EIO;
	}
	vbuf = malloc(CH_CFG_LINE_MAX + 1);
	if (vbuf == NULL)
		rc = fail(&s, NULL, 0, CH_ENOMEM, "out of memory");
	while (rc == 0 && (len = getline(&line, &lcap, f)) >= 0) {
		s.line++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if ((size_t)len > CH_CFG_LINE_MAX)
			rc = fail(&s, NULL, 0, CH_EINVAL, "line is longer than %d bytes",
			          CH_CFG_LINE_MAX);
		else if (memchr(line, '\0', (size_t)len) != NULL)
			rc = fail(&s, NULL, 0, CH_EINVAL, "line contains a NUL byte");
		else
			rc = file_line(&s, line, vbuf);
	}
	if (rc == 0 && ferror(f)) {
		s.line++;
		rc = fail(&s, NULL, 0, CH_EIO, "read error: %s",
		          strerror_r(errno, ebuf, sizeof(ebuf)));
	}
	fclose(f);
	free(line);
	free(vbuf);
	src_end(&s);
	return rc;
}

/* Walks the flags of argv.  With s->settings set it applies them; without
 * (a dry run) it only records the value of option `want` in *found. */
static int walk_args(struct src *s, int argc, char **argv, int *argi, long want, const char **found)
{
	int i = argc > 0 ? 1 : 0;
	int rc = 0;

	while (i < argc && argv[i] != NULL) {
		const char *a = argv[i];
		const char *name, *eq, *val;
		size_t nlen;
		long idx;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (a[1] != '-') {
			if (strcmp(a, "-h") == 0 &&
			    (idx = find_opt(s->opts, s->n, "help", 4)) >= 0 &&
			    s->opts[idx].type == CH_CFG_BOOL) {
				if (s->settings != NULL)
					rc = apply(s, (size_t)idx, "true");
				i++;
				if (rc != 0)
					break;
				continue;
			}
			rc = fail(s, NULL, 0, CH_EINVAL,
			          "%.80s: unknown flag (flags start with --)", a);
			break;
		}
		name = a + 2;
		eq = strchr(name, '=');
		nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
		idx = find_opt(s->opts, s->n, name, nlen);
		if (idx < 0) {
			rc = fail(s, name, nlen, CH_EINVAL, "unknown flag");
			break;
		}
		if (eq != NULL) {
			val = eq + 1;
			i++;
		} else if (s->opts[idx].flags & CH_CFG_NOVALUE) {
			val = "true";
			i++;
		} else if (i + 1 >= argc || argv[i + 1] == NULL) {
			rc = fail(s, s->opts[idx].key, strlen(s->opts[idx].key), CH_EINVAL,
			          "missing value");
			break;
		} else if (strncmp(argv[i + 1], "--", 2) == 0 && argv[i + 1][2] != '\0') {
			rc = fail(s, s->opts[idx].key, strlen(s->opts[idx].key), CH_EINVAL,
			          "missing value (next argument %.80s is a flag)", argv[i + 1]);
			break;
		} else {
			val = argv[i + 1];
			i += 2;
		}
		if (s->settings != NULL) {
			rc = apply(s, (size_t)idx, val);
			if (rc != 0)
				break;
		} else if (idx == want) {
			*found = val;
		}
	}
	if (argi != NULL)
		*argi = i;
	return rc;
}

int ch_cfg_parse_args(const ch_cfg_opt_t *opts, size_t n, void *settings, int argc, char **argv,
                      int *argi_out, char *err, size_t errcap)
{
	return ch_cfg_parse_args_from(opts, n, settings, argc, argv, argi_out, NULL, err, errcap);
}

int ch_cfg_parse_args_from(const ch_cfg_opt_t *opts, size_t n, void *settings, int argc,
                           char **argv, int *argi_out, uint8_t *from, char *err, size_t errcap)
{
	struct src s;
	int rc;

	if (settings == NULL || argc < 0 || (argv == NULL && argc > 0))
		return CH_EINVAL;
	rc = src_begin(&s, SRC_ARGS, opts, n, settings, err, errcap);
	s.from = from;
	if (rc == 0)
		rc = walk_args(&s, argc, argv, argi_out, -1, NULL);
	src_end(&s);
	return rc;
}

int ch_cfg_find_arg(const ch_cfg_opt_t *opts, size_t n, int argc, char **argv, const char *key,
                    const char **val_out)
{
	const char *found = NULL;
	struct src s;
	long want;
	int rc;

	if (key == NULL || val_out == NULL || argc < 0 || (argv == NULL && argc > 0))
		return CH_EINVAL;
	rc = src_begin(&s, SRC_ARGS, opts, n, NULL, NULL, 0);
	src_end(&s);
	if (rc != 0)
		return rc;
	want = find_opt(opts, n, key, strlen(key));
	if (want < 0)
		return CH_EINVAL;
	walk_args(&s, argc, argv, NULL, want, &found);
	if (found == NULL)
		return CH_ENOENT;
	*val_out = found;
	return 0;
}

static const char *metavar(const ch_cfg_opt_t *o)
{
	switch (o->type) {
	case CH_CFG_STR:
		return " STR";
	case CH_CFG_INT:
		return " N";
	case CH_CFG_BOOL:
		return (o->flags & CH_CFG_NOVALUE) ? "" : " BOOL";
	case CH_CFG_DURATION:
		return " DURATION";
	case CH_CFG_SIZE:
		return " SIZE";
	case CH_CFG_HOSTPORT:
		return " HOST:PORT";
	case CH_CFG_LOGLEVEL:
		return " LEVEL";
	}
	return "";
}

void ch_cfg_usage(const ch_cfg_opt_t *opts, size_t n, FILE *out)
{
	if (opts == NULL || out == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		const ch_cfg_opt_t *o = &opts[i];
		char left[96], extra[160], a[32], b[32];
		size_t off = 0;

		if (o->key == NULL)
			continue;
		snprintf(left, sizeof(left), "--%s%s", o->key, metavar(o));
		extra[0] = '\0';
		if (o->def != NULL && o->def[0] != '\0')
			append(extra, sizeof(extra), &off, "default: %s", o->def);
		if (o->min < o->max) {
			if (o->type == CH_CFG_INT) {
				snprintf(a, sizeof(a), "%" PRId64, o->min);
				snprintf(b, sizeof(b), "%" PRId64, o->max);
			} else if (o->type == CH_CFG_DURATION && o->min >= 0) {
				fmt_duration((uint64_t)o->min, a, sizeof(a));
				fmt_duration((uint64_t)o->max, b, sizeof(b));
			} else if (o->type == CH_CFG_SIZE && o->min >= 0) {
				fmt_size((uint64_t)o->min, a, sizeof(a));
				fmt_size((uint64_t)o->max, b, sizeof(b));
			} else {
				a[0] = '\0';
			}
			if (a[0] != '\0')
				append(extra, sizeof(extra), &off, "%srange %s..%s",
				       off > 0 ? "; " : "", a, b);
		}
		if (o->flags & CH_CFG_MULTI)
			append(extra, sizeof(extra), &off, "%srepeatable, up to %d",
			       off > 0 ? "; " : "", CH_CFG_MULTI_MAX);
		if (o->flags & CH_CFG_ARGONLY)
			append(extra, sizeof(extra), &off, "%scommand line only",
			       off > 0 ? "; " : "");
		if (strlen(left) > 26)
			fprintf(out, "  %s\n  %-26s", left, "");
		else
			fprintf(out, "  %-26s", left);
		fprintf(out, " %s", o->help != NULL ? o->help : "");
		if (extra[0] != '\0')
			fprintf(out, " (%s)", extra);
		fputc('\n', out);
	}
}

/* value_str: value k of option o (k > 0 only for lists) as it is written
 * in a config file: durations and sizes in their units, strings quoted when
 * empty or holding a space, '#' or a quote. */
static void value_str(const ch_cfg_opt_t *o, const void *settings, size_t k, char *buf, size_t cap)
{
	const char *field = (const char *)settings + o->offset;
	bool multi = (o->flags & CH_CFG_MULTI) != 0;
	const char *str = NULL;
	size_t off = 0;

	buf[0] = '\0';
	switch (o->type) {
	case CH_CFG_STR:
		str = multi ? ((const ch_cfg_strs_t *)(const void *)field)->v[k] : field;
		break;
	case CH_CFG_HOSTPORT:
		str = multi ? ((const ch_cfg_hostports_t *)(const void *)field)->v[k].str
		            : ((const ch_hostport_t *)(const void *)field)->str;
		break;
	case CH_CFG_INT: {
		int64_t v;
		memcpy(&v, field, sizeof(v));
		append(buf, cap, &off, "%" PRId64, v);
		return;
	}
	case CH_CFG_BOOL:
		append(buf, cap, &off, "%s", *(const bool *)(const void *)field ? "true" : "false");
		return;
	case CH_CFG_DURATION:
	case CH_CFG_SIZE: {
		uint64_t v;
		memcpy(&v, field, sizeof(v));
		if (o->type == CH_CFG_DURATION)
			fmt_duration(v, buf, cap);
		else
			fmt_size(v, buf, cap);
		return;
	}
	case CH_CFG_LOGLEVEL: {
		static const char *const names[] = {"error", "warn", "info", "debug"};
		int v;
		memcpy(&v, field, sizeof(v));
		append(buf, cap, &off, "%s", v >= 0 && v < 4 ? names[v] : "?");
		return;
	}
	}
	if (str[0] != '\0' && strpbrk(str, " \t#\"\\") == NULL) {
		append(buf, cap, &off, "%s", str);
		return;
	}
	append(buf, cap, &off, "\"");
	for (const char *c = str; *c; c++)
		append(buf, cap, &off, "%s%c", (*c == '"' || *c == '\\') ? "\\" : "", *c);
	append(buf, cap, &off, "\"");
}

/* list_len: how many values a list option holds. */
static size_t list_len(const ch_cfg_opt_t *o, const void *settings)
{
	const char *field = (const char *)settings + o->offset;

	if (o->type == CH_CFG_HOSTPORT)
		return ((const ch_cfg_hostports_t *)(const void *)field)->n;
	return ((const ch_cfg_strs_t *)(const void *)field)->n;
}

void ch_cfg_print(const ch_cfg_opt_t *opts, size_t n, const void *settings, const uint8_t *from,
                  FILE *out)
{
	static const char *const names[] = {"default", "file", "flag", "derived"};

	if (opts == NULL || settings == NULL || out == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		const ch_cfg_opt_t *o = &opts[i];
		const char *whence = from != NULL && from[i] < 4 ? names[from[i]] : NULL;
		bool multi = (o->flags & CH_CFG_MULTI) != 0;
		size_t count = multi ? list_len(o, settings) : 1;
		char val[CH_CFG_LINE_MAX + 1];

		if (o->key == NULL || (o->flags & CH_CFG_ARGONLY))
			continue;
		if (count == 0 ||
		    (!multi && o->type == CH_CFG_HOSTPORT &&
		     ((const ch_hostport_t *)(const void *)((const char *)settings + o->offset))
		             ->str[0] == '\0')) {
			fprintf(out, "# %s is not set%s%s\n", o->key, whence ? "  # " : "",
			        whence ? whence : "");
			continue;
		}
		for (size_t k = 0; k < count; k++) {
			value_str(o, settings, k, val, sizeof(val));
			fprintf(out, "%s = %s%s%s\n", o->key, val, whence ? "  # " : "",
			        whence ? whence : "");
		}
	}
}
