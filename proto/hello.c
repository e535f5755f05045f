/* hello.c: the hello, PING/PONG and REJECT payloads (hello.h). */
#include "hello.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "pack.h"
#include "wire.h"

/* printable: what a peer wrote, made safe to log: printable ASCII only. */
static void printable(char *s)
{
	for (; *s; s++)
		if (*s < 32 || *s > 126)
			*s = '?';
}

/* copy_str: a string read in place into buf (cap > 0), cut to fit. */
static void copy_str(char *buf, size_t cap, const char *s, uint32_t n)
{
	size_t k = n < cap - 1 ? n : cap - 1;
	memcpy(buf, s, k);
	buf[k] = 0;
}

/* hello_encode: the seven keys in a fixed order. */
int hello_encode(const hello_t *h, uint8_t *out, size_t cap, size_t *len)
{
	pack_wr_t w;
	pack_wr_init(&w, out, cap);
	pack_wr_map(&w, 7);
	pack_wr_str(&w, "v");
	pack_wr_uint(&w, h->v);
	pack_wr_str(&w, "min");
	pack_wr_uint(&w, h->min);
	pack_wr_str(&w, "net");
	pack_wr_str(&w, h->net);
	pack_wr_str(&w, "svc");
	pack_wr_uint(&w, h->svc);
	pack_wr_str(&w, "port");
	pack_wr_uint(&w, h->port);
	pack_wr_str(&w, "ua");
	pack_wr_str(&w, h->ua);
	pack_wr_str(&w, "t");
	pack_wr_uint(&w, h->t);
	if (w.err)
		return CH_ERANGE;
	*len = w.len;
	return 0;
}

/* opt_uint: an optional number: another type is skipped, as if absent. */
static void opt_uint(pack_rd_t *r, uint64_t *v)
{
	pack_rd_t try = *r;
	if (pack_rd_uint(&try, v))
		*r = try;
	else
		pack_rd_skip(r);
}

/* The keys of a hello, as bits of what was seen. */
enum { K_V = 1, K_MIN = 2, K_NET = 4, K_PORT = 8, K_SVC = 16, K_UA = 32, K_T = 64 };
#define K_NEEDED (K_V | K_MIN | K_NET | K_PORT)

typedef struct hello_rd {
	hello_t *h;
	unsigned seen;
} hello_rd_t;

/* hello_field: one entry of a hello. */
static bool hello_field(pack_rd_t *r, const char *k, uint32_t kl, void *arg)
{
	hello_rd_t *d = arg;
	hello_t *h = d->h;
	const char *s;
	uint32_t sl;
	uint64_t port;
	unsigned key = pack_is(k, kl, "v")      ? K_V
	               : pack_is(k, kl, "min")  ? K_MIN
	               : pack_is(k, kl, "net")  ? K_NET
	               : pack_is(k, kl, "port") ? K_PORT
	               : pack_is(k, kl, "svc")  ? K_SVC
	               : pack_is(k, kl, "ua")   ? K_UA
	               : pack_is(k, kl, "t")    ? K_T
	                                        : 0;
	if (key == 0)
		return false;
	if (key & d->seen) {
		pack_rd_refuse(r); /* twice */
		return true;
	}
	d->seen |= key;
	switch (key) {
	case K_V:
		pack_rd_uint(r, &h->v);
		break;
	case K_MIN:
		pack_rd_uint(r, &h->min);
		break;
	case K_NET:
		if (!pack_rd_str(r, &s, &sl) || sl > CH_NETWORK_MAX || memchr(s, 0, sl))
			pack_rd_refuse(r);
		else
			copy_str(h->net, sizeof(h->net), s, sl);
		break;
	case K_PORT:
		if (!pack_rd_uint(r, &port) || port > 65535)
			pack_rd_refuse(r);
		h->port = (uint16_t)port;
		break;
	case K_SVC:
		opt_uint(r, &h->svc);
		break;
	case K_T:
		opt_uint(r, &h->t);
		break;
	default: { /* K_UA */
		pack_rd_t try = *r;
		if (pack_rd_str(&try, &s, &sl)) {
			*r = try;
			copy_str(h->ua, sizeof(h->ua), s, sl);
			printable(h->ua);
		} else {
			pack_rd_skip(r);
		}
	}
	}
	return true;
}

/* hello_decode: the keys a node needs must be there and well typed; the
 * rest is informational and never a reason to refuse a peer. */
int hello_decode(const uint8_t *buf, size_t len, hello_t *h)
{
	hello_rd_t d = {.h = h};
	pack_rd_t r;
	memset(h, 0, sizeof(*h));
	pack_rd_init(&r, buf, len, 0);
	if (!pack_rd_fields(&r, hello_field, &d) || !pack_rd_done(&r) ||
	    (d.seen & K_NEEDED) != K_NEEDED)
		return CH_EPROTO;
	return 0;
}

/* hello_accept: a wrong network is refused before versions, since the two
 * nodes should never have met. */
int hello_accept(const hello_t *h, const char *net, char *why, size_t cap)
{
	if (strcmp(h->net, net) != 0) {
		char shown[sizeof(h->net)];
		snprintf(shown, sizeof(shown), "%s", h->net);
		printable(shown);
		snprintf(why, cap, "wrong network '%s' (this node is on '%s')", shown, net);
		return CH_EPERM;
	}
	if (h->v < HELLO_MIN_VERSION) {
		snprintf(why, cap, "protocol version %llu is too old (minimum %d)",
		         (unsigned long long)h->v, HELLO_MIN_VERSION);
		return CH_EVERSION;
	}
	if (h->min > HELLO_VERSION) {
		snprintf(why, cap, "peer requires protocol version %llu or newer (we speak %d)",
		         (unsigned long long)h->min, HELLO_VERSION);
		return CH_EVERSION;
	}
	return 0;
}

/* ---------------------------------------------------------------- PING, REJECT */

size_t ping_encode(uint64_t nonce, uint8_t *out, size_t cap)
{
	pack_wr_t w;
	pack_wr_init(&w, out, cap);
	pack_wr_map(&w, 1);
	pack_wr_str(&w, "n");
	pack_wr_uint(&w, nonce);
	return pack_wr_end(&w);
}

/* one_field: a payload of one known key: where its value goes, and
 * whether it came (twice is malformed). */
typedef struct one_field {
	const char *key;
	bool got;
	uint64_t *u; /* a number, or */
	char *str;   /* a string cut to cap (printable) */
	size_t cap;
} one_field_t;

static bool one_field(pack_rd_t *r, const char *k, uint32_t kl, void *arg)
{
	one_field_t *f = arg;
	const char *s;
	uint32_t sl;
	if (!pack_is(k, kl, f->key))
		return false;
	if (f->got)
		pack_rd_refuse(r);
	else if (f->u)
		f->got = pack_rd_uint(r, f->u);
	else if ((f->got = pack_rd_str(r, &s, &sl)))
		copy_str(f->str, f->cap, s, sl);
	return true;
}

/* ping_decode: "n" once; other keys are a newer version's. */
int ping_decode(const uint8_t *buf, size_t len, uint64_t *nonce)
{
	one_field_t f = {.key = "n", .u = nonce};
	pack_rd_t r;
	pack_rd_init(&r, buf, len, 0);
	return pack_rd_fields(&r, one_field, &f) && f.got && pack_rd_done(&r) ? 0 : CH_EPROTO;
}

/* reject_encode: the reason is for a human: cut rather than refused. */
size_t reject_encode(const char *reason, uint8_t *out, size_t cap)
{
	static const size_t overhead = 1 + 7 + 3; /* map, "reason", str16 header */
	size_t n = strlen(reason), room = cap < WIRE_REJECT_MAX ? cap : WIRE_REJECT_MAX;
	pack_wr_t w;
	if (room <= overhead)
		return 0;
	if (n > room - overhead)
		n = room - overhead;
	pack_wr_init(&w, out, cap);
	pack_wr_map(&w, 1);
	pack_wr_str(&w, "reason");
	pack_wr_strn(&w, reason, n);
	return pack_wr_end(&w);
}

/* reject_decode: only "reason" matters; anything else a peer adds is
 * skipped. */
int reject_decode(const uint8_t *buf, size_t len, char *reason, size_t cap)
{
	one_field_t f = {.key = "reason", .str = reason, .cap = cap};
	pack_rd_t r;
	pack_rd_init(&r, buf, len, 0);
	if (!pack_rd_fields(&r, one_field, &f) || !f.got || !pack_rd_done(&r)) {
		reason[0] = 0;
		return CH_EPROTO;
	}
	printable(reason);
	return 0;
}
