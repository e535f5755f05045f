/* qlimit.h: per-source limits on what the DHT answers.
 *
 * A KRPC query costs its sender one datagram and us one answer that can be
 * twenty times larger (a get for a stored item: a 75-byte query, a 1.4 KB
 * reply).  With a spoofed source address that answer lands on a victim:
 * reflection.  The global query bucket bounds what the node sends in all;
 * these buckets bound what one address, and one address group, can make it
 * send: each source gets `rate_addr` packets a second (burst twice), each
 * group `rate_group`.  Every packet is charged before it is parsed (a
 * flood of unsolicited replies costs a table lookup, not a parse); one
 * that answers a request of ours gets its tokens back.  Groups: the /24 of a public address, the
 * address of a private one; loopback sources are keyed by address and port and have no group limit
 * (every local node shares one address).
 *
 * Memory is fixed: `nslots` slots (24 bytes each), allocated at the first
 * packet.  A slot is found by a keyed hash (the key is random per node, so
 * an outsider cannot aim two sources at one slot); a slot held by another
 * source is taken over once that source's bucket has refilled (it has been
 * quiet), else the two share it, which only makes the limit stricter.
 * No I/O; time comes in as an argument. */
#ifndef CH_DHT_QLIMIT_H
#define CH_DHT_QLIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "rtable.h"

typedef struct dht_qslot {
	uint64_t key; /* 0: free */
	uint64_t at;  /* ns of the last refill */
	double tok;
} dht_qslot_t;

typedef struct dht_qlimit {
	dht_qslot_t *slot; /* nslots, or NULL until first use */
	uint32_t nslots;   /* a power of two */
	double rate_addr, rate_group;
	uint8_t key[16];
	uint64_t dropped_addr, dropped_group;
} dht_qlimit_t;

/* dht_ql_init: limits of rate_addr and rate_group packets per second (0:
 * no limit of that kind) over nslots slots (rounded up to a power of
 * two, at least 16), hashed under key. */
void dht_ql_init(dht_qlimit_t *q, uint32_t nslots, double rate_addr, double rate_group,
                 const uint8_t key[16]);

/* dht_ql_take: true if a packet from `from` at now is within both limits
 * (and charges them); false if over (counted in dropped_*).  Without
 * memory for the slots every packet passes (the global limit still holds). */
bool dht_ql_take(dht_qlimit_t *q, const dht_addr_t *from, uint64_t now);

/* dht_ql_refund: gives back the tokens of a packet that turned out to be
 * an answer to our own request (only queries and unsolicited packets
 * count). */
void dht_ql_refund(dht_qlimit_t *q, const dht_addr_t *from, uint64_t now);

/* dht_ql_free: frees the slots. */
void dht_ql_free(dht_qlimit_t *q);

#endif
