/* pex.h: the payloads of peer exchange, GETPEERS and PEERS
 * (docs/protocol.md section 1, "Peer exchange payloads").
 *
 *   GETPEERS  a msgpack map; no key is defined yet (we send {}), unknown
 *             keys are ignored.  At most WIRE_GETPEERS_MAX bytes.
 *   PEERS     {"a": [ADDR, ...]}: each ADDR a msgpack bin of 6 bytes (IPv4,
 *             port; network order, like BEP 5's compact peer info) or 18
 *             bytes (IPv6, port).  At most WIRE_PEERS_MAX bytes, so about
 *             2000 IPv4 addresses; a node sends at most PEX_REPLY_MAX.
 *
 * Decoding reads with the protocol cursor (pack.h), is strict about types
 * and lengths and bounded: a reader takes at most `max` addresses from one
 * message and counts what it skipped.  Nothing here keeps state; callers
 * own every buffer. */
#ifndef CH_PROTO_PEX_H
#define CH_PROTO_PEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Addresses a node puts in one answer. */
#define PEX_REPLY_MAX 100
/* Compact address sizes. */
#define PEX_V4_LEN 6
#define PEX_V6_LEN 18

/* An address: IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), port in host
 * order, so one type covers both families. */
typedef struct pex_addr {
	uint8_t ip[16];
	uint16_t port;
} pex_addr_t;

/* What a PEERS decode found beyond the addresses it returned. */
typedef struct pex_stats {
	uint32_t total;   /* entries in the message */
	uint32_t bad;     /* not a 6- or 18-byte bin, or refused by the caller's check */
	uint32_t dropped; /* valid but beyond max */
} pex_stats_t;

/* pex_addr_from_v4: ip (network order) and port into an address. */
void pex_addr_from_v4(pex_addr_t *a, uint32_t ip_be, uint16_t port);

/* pex_addr_is_v4: an IPv4(-mapped) address; *ip_be gets it (may be NULL). */
bool pex_addr_is_v4(const pex_addr_t *a, uint32_t *ip_be);

/* pex_getpeers_encode: the GETPEERS payload into out (cap >= 1).  Returns
 * its length, 0 if cap is too small. */
size_t pex_getpeers_encode(uint8_t *out, size_t cap);

/* pex_getpeers_check: 0 if payload is a GETPEERS (one well-formed map
 * within the maximum), CH_EPROTO if not. */
int pex_getpeers_check(const uint8_t *payload, size_t len);

/* pex_peers_encode: a PEERS payload of n addresses into a new buffer
 * (*out, *len; free() it).  Returns 0; CH_ERANGE if it would exceed
 * WIRE_PEERS_MAX; CH_ENOMEM. */
int pex_peers_encode(const pex_addr_t *addrs, size_t n, uint8_t **out, size_t *len);

/* The caller's judgement of a decoded address (a port, not unspecified...);
 * an address it refuses counts as bad. */
typedef bool (*pex_keep_fn)(const pex_addr_t *a);

/* pex_peers_decode: up to max addresses of a PEERS payload that keep
 * accepts (NULL: all) into out; *n gets how many; st (may be NULL) the
 * rest.  Returns 0; CH_EPROTO if the payload is not one map with an array
 * "a" (nothing is returned then). */
int pex_peers_decode(const uint8_t *payload, size_t len, pex_keep_fn keep, pex_addr_t *out,
                     size_t max, size_t *n, pex_stats_t *st);

#endif
