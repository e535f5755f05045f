/* hello.h: what a session says about itself (docs/protocol.md 1.2, 1.4):
 * the hello both sides send inside the handshake, the PING / PONG nonce
 * and the REJECT reason.
 *
 *   hello   {"v": version, "min": oldest version accepted, "net": network,
 *            "svc": service bits, "port": TCP listen port, "ua": user agent,
 *            "t": wall-clock ms}           at most NOISE_HELLO_MAX bytes
 *   PING    {"n": u64}                     answered by a PONG echoing it
 *   REJECT  {"reason": str}                then the sender closes
 *
 * Decoders read with the protocol cursor (pack.h): keys in any order,
 * unknown keys skipped, a known key twice refused with CH_EPROTO.
 * Stateless and thread-safe. */
#ifndef CH_PROTO_HELLO_H
#define CH_PROTO_HELLO_H

#include <stddef.h>
#include <stdint.h>

#include "node_config.h"

#define HELLO_VERSION     1  /* the protocol version this node speaks */
#define HELLO_MIN_VERSION 1  /* the oldest version it accepts */
#define HELLO_SVC_RELAY   1  /* service bit: relays transactions and blocks */
#define HELLO_UA_MAX      63 /* bytes of a user agent we keep */

typedef struct hello {
	uint64_t v, min, svc, t;
	uint16_t port;
	char net[CH_NETWORK_MAX + 1]; /* NUL-terminated */
	char ua[HELLO_UA_MAX + 1];    /* NUL-terminated, printable ASCII ("?" for the rest) */
} hello_t;

/* hello_encode: h as the 7-entry map into out.  Returns 0; CH_ERANGE if
 * it does not fit cap. */
int hello_encode(const hello_t *h, uint8_t *out, size_t cap, size_t *len);

/* hello_decode: a peer's hello.  "v", "min", "net" and "port" are needed
 * (a net longer than CH_NETWORK_MAX or holding a NUL, a port above 65535
 * are malformed); "svc", "t" and "ua" are optional and ignored when of
 * another type (0, 0, ""; a longer ua is cut).  Returns 0 or CH_EPROTO. */
int hello_decode(const uint8_t *buf, size_t len, hello_t *h);

/* hello_accept: whether a node on network `net` speaking HELLO_VERSION
 * talks to the peer that sent h.  Returns 0; CH_EPERM (another network)
 * or CH_EVERSION (no common version), with the reason in why. */
int hello_accept(const hello_t *h, const char *net, char *why, size_t cap);

/* ping_encode: {"n": nonce}; bytes written, 0 if cap is too small. */
size_t ping_encode(uint64_t nonce, uint8_t *out, size_t cap);

/* ping_decode: the nonce of a PING or PONG.  0 or CH_EPROTO. */
int ping_decode(const uint8_t *buf, size_t len, uint64_t *nonce);

/* reject_encode: {"reason": reason}, the reason cut to fit cap (at most
 * WIRE_REJECT_MAX is sent); bytes written, 0 if cap is too small. */
size_t reject_encode(const char *reason, uint8_t *out, size_t cap);

/* reject_decode: the reason of a REJECT into reason (NUL-terminated, cut
 * to cap, printable ASCII).  0 or CH_EPROTO ("" then). */
int reject_decode(const uint8_t *buf, size_t len, char *reason, size_t cap);

#endif
