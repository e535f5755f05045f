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

/* hello_decode: the keys a node needs must be there and well typed; the
 * rest is informational and never a reason to refuse a peer. */
int hello_decode(const uint8_t *buf, size_t len, hello_t *h)
{
	enum { K_V = 1, K_MIN = 2, K_NET = 4, K_PORT = 8, K_SVC = 16, K_UA = 32, K_T = 64 };
	pack_rd_t r;
	uint32_t n;
	unsigned seen = 0;
	memset(h, 0, sizeof(*h));
	pack_rd_init(&r, buf, len, 0);
	if (!pack_rd_map(&r, &n))
		return CH_EPROTO;
	for (uint32_t i = 0; i < n; i++) {
		const char *k, *s;
		uint32_t kl, sl;
		uint64_t port;
		unsigned key = 0;
		if (!pack_rd_str(&r, &k, &kl))
			return CH_EPROTO;
		key = pack_is(k, kl, "v")      ? K_V
		      : pack_is(k, kl, "min")  ? K_MIN
		      : pack_is(k, kl, "net")  ? K_NET
		      : pack_is(k, kl, "port") ? K_PORT
		      : pack_is(k, kl, "svc")  ? K_SVC
		      : pack_is(k, kl, "ua")   ? K_UA
		      : pack_is(k, kl, "t")    ? K_T
		                               : 0;
		if (key & seen)
			return CH_EPROTO;
		seen |= key;
		switch (key) {
		case K_V:
			pack_rd_uint(&r, &h->v);
			break;
		case K_MIN:
			pack_rd_uint(&r, &h->min);
			break;
		case K_NET:
			if (!pack_rd_str(&r, &s, &sl) || sl > CH_NETWORK_MAX || memchr(s, 0, sl))
				return CH_EPROTO;
			copy_str(h->net, sizeof(h->net), s, sl);
			break;
		case K_PORT:
			if (!pack_rd_uint(&r, &port) || port > 65535)
				return CH_EPROTO;
			h->port = (uint16_t)port;
			break;
		case K_SVC:
			opt_uint(&r, &h->svc);
			break;
		case K_T:
			opt_uint(&r, &h->t);
			break;
		case K_UA: {
			pack_rd_t try = r;
			if (pack_rd_str(&try, &s, &sl)) {
				r = try;
				copy_str(h->ua, sizeof(h->ua), s, sl);
				printable(h->ua);
			} else {
				pack_rd_skip(&r);
			}
			break;
		}
		default:
			pack_rd_skip(&r);
		}
		if (r.err)
			return CH_EPROTO;
	}
	if (!pack_rd_done(&r) || (seen & (K_V | K_MIN | K_NET | K_PORT)) != (K_V | K_MIN | K_NET | K_PORT))
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

/* ping_decode: "n" once; other keys are a newer version's. */
int ping_decode(const uint8_t *buf, size_t len, uint64_t *nonce)
{
	pack_rd_t r;
	uint32_t n;
	bool got = false;
	pack_rd_init(&r, buf, len, 0);
	if (!pack_rd_map(&r, &n))
		return CH_EPROTO;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl;
		if (!pack_rd_str(&r, &k, &kl))
			return CH_EPROTO;
		if (pack_is(k, kl, "n")) {
			if (got || !pack_rd_uint(&r, nonce))
				return CH_EPROTO;
			got = true;
		} else if (!pack_rd_skip(&r)) {
			return CH_EPROTO;
		}
	}
	return got && pack_rd_done(&r) ? 0 : CH_EPROTO;
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
	pack_rd_t r;
	uint32_t n;
	bool got = false;
	pack_rd_init(&r, buf, len, 0);
	if (pack_rd_map(&r, &n))
		for (uint32_t i = 0; i < n && !r.err; i++) {
			const char *k, *s;
			uint32_t kl, sl;
			if (!pack_rd_str(&r, &k, &kl))
				break;
			if (!pack_is(k, kl, "reason"))
				pack_rd_skip(&r);
			else if (got)
				pack_rd_refuse(&r); /* twice */
			else if (pack_rd_str(&r, &s, &sl))
				copy_str(reason, cap, s, sl), got = true;
		}
	if (!got || !pack_rd_done(&r)) {
		reason[0] = 0;
		return CH_EPROTO;
	}
	printable(reason);
	return 0;
}
