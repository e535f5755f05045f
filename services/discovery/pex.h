/* pex.h: the payloads of peer exchange, GETPEERS (type 3) and PEERS (type
 * 4) (docs/protocol.md section 1, "Peer exchange payloads").
 *
 *   GETPEERS  a msgpack map; no key is defined yet (we send {}), unknown
 *             keys are ignored.  At most 64 bytes (the wire maximum).
 *   PEERS     {"a": [ADDR, ...]}: each ADDR a msgpack bin of 6 bytes (IPv4,
 *             port; network order, like BEP 5's compact peer info) or 18
 *             bytes (IPv6, port).  At most 16 KiB (the wire maximum), so
 *             about 2000 IPv4 addresses; we send at most PEX_REPLY_MAX.
 *
 * Decoding is strict about types and lengths and bounded: a reader takes
 * at most `max` addresses from one message and counts what it skipped.
 * Nothing here keeps state; callers own every buffer. */
#ifndef CH_DISC_PEX_H
#define CH_DISC_PEX_H

#include <stddef.h>
#include <stdint.h>

#include "addrbook.h"

/* Frame types (services/transport/wire.h; repeated to keep discovery free
 * of transport's headers). */
#define PEX_GETPEERS 3
#define PEX_PEERS    4
/* Wire maxima of the two payloads. */
#define PEX_GETPEERS_MAX 64
#define PEX_PEERS_MAX    (16u * 1024)
/* Addresses we put in one answer. */
#define PEX_REPLY_MAX 100
/* Compact address sizes. */
#define PEX_V4_LEN 6
#define PEX_V6_LEN 18

/* What a PEERS decode found beyond the addresses it returned. */
typedef struct pex_stats {
	uint32_t total;   /* entries in the message */
	uint32_t bad;     /* not a 6- or 18-byte bin, or an invalid address */
	uint32_t dropped; /* valid but beyond max */
} pex_stats_t;

/* pex_getpeers_encode: the GETPEERS payload into out (cap >= 1).  Returns
 * its length, 0 if cap is too small. */
size_t pex_getpeers_encode(uint8_t *out, size_t cap);

/* pex_getpeers_check: 0 if payload is a GETPEERS (a map within the
 * maximum), CH_EPROTO if not. */
int pex_getpeers_check(const uint8_t *payload, size_t len);

/* pex_peers_encode: a PEERS payload of n addresses into a new buffer
 * (*out, *len; free() it).  Returns 0; CH_ERANGE if it would exceed
 * PEX_PEERS_MAX; CH_ENOMEM. */
int pex_peers_encode(const ab_addr_t *addrs, size_t n, uint8_t **out, size_t *len);

/* pex_peers_decode: up to max valid addresses of a PEERS payload into
 * out; *n gets how many; st (may be NULL) the rest.  Returns 0; CH_EPROTO
 * if the payload is not a map with an array "a" (nothing is returned). */
int pex_peers_decode(const uint8_t *payload, size_t len, ab_addr_t *out, size_t max, size_t *n,
                     pex_stats_t *st);

#endif
