/* netgroup.h: the address group of a peer address, one definition for the
 * whole node.
 *
 * A group is the set of addresses one operator can be assumed to control
 * cheaply.  The node spreads its outbound connections over distinct groups,
 * caps inbound connections per group (max-per-group), buckets the address
 * book by group and evicts from the most crowded group; all of those use
 * ch_netgroup_of, so they agree.
 *
 * Modes (config key `netgroup`):
 *   prefix   the public-internet rule (Bitcoin Core's): /16 of IPv4, /32 of
 *            IPv6, for every address.
 *   address  the whole address (IPv4 /32, IPv6 /128), for every address.
 *   auto     (default) prefix for public addresses; the whole address for
 *            private ones (RFC 1918, 100.64/10 CGNAT, 169.254/16, fc00::/7
 *            ULA, fe80::/10), so a private network or a docker network meshes;
 *            address and port for loopback (127/8, ::1), where every local
 *            node shares one address.
 * Addresses are 16 bytes, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d). */
#ifndef CH_NETGROUP_H
#define CH_NETGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ch_netgroup_mode {
	CH_NETGROUP_AUTO = 0,
	CH_NETGROUP_PREFIX,
	CH_NETGROUP_ADDRESS,
} ch_netgroup_mode_t;

/* The class of an address, as the group rules and the dialing policy see it. */
typedef enum ch_addr_class {
	CH_ADDR_PUBLIC = 0,
	CH_ADDR_PRIVATE,  /* RFC 1918, CGNAT, link-local, IPv6 ULA and link-local */
	CH_ADDR_LOOPBACK, /* 127/8, ::1 */
} ch_addr_class_t;

/* A group: a class tag, then the bytes that matter.  Compare with
 * ch_netgroup_eq (or memcmp of the whole struct: unused bytes are zero). */
typedef struct ch_netgroup {
	uint8_t b[20];
} ch_netgroup_t;

/* Longest text of a group, NUL included. */
#define CH_NETGROUP_STR_MAX 56

/* ch_netgroup_mode_parse: "auto", "prefix" or "address".  Returns 0;
 * CH_EINVAL for anything else. */
int ch_netgroup_mode_parse(const char *s, ch_netgroup_mode_t *out);

/* ch_addr_class: public, private or loopback. */
ch_addr_class_t ch_addr_class(const uint8_t ip[16]);

/* ch_netgroup_of: the group of ip (16 bytes) and port under mode. */
void ch_netgroup_of(const uint8_t ip[16], uint16_t port, ch_netgroup_mode_t mode, ch_netgroup_t *g);

/* ch_netgroup_eq: the same group. */
bool ch_netgroup_eq(const ch_netgroup_t *a, const ch_netgroup_t *b);

/* ch_netgroup_str: a group as people read it ("1.2", "2001:db8",
 * "10.0.0.7", "127.0.0.1:7433"). */
const char *ch_netgroup_str(const ch_netgroup_t *g, char *buf, size_t cap);

#endif
