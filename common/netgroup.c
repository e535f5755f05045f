/* netgroup.c: address classes and groups (see netgroup.h for the rules). */
#include "netgroup.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

/* Tags in b[0]: how the rest of the group is to be read. */
enum {
	TAG_V4_PREFIX = 1, /* b[1..2]: the /16 */
	TAG_V6_PREFIX,     /* b[1..4]: the /32 */
	TAG_V4_ADDR,       /* b[1..4]: the address */
	TAG_V6_ADDR,       /* b[1..16]: the address */
	TAG_V4_ADDR_PORT,  /* b[1..4]: the address, b[5..6]: the port */
	TAG_V6_ADDR_PORT,  /* b[1..16]: the address, b[17..18]: the port */
};

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int ch_netgroup_mode_parse(const char *s, ch_netgroup_mode_t *out)
{
	if (s == NULL || out == NULL)
		return CH_EINVAL;
	if (strcmp(s, "auto") == 0)
		*out = CH_NETGROUP_AUTO;
	else if (strcmp(s, "prefix") == 0)
		*out = CH_NETGROUP_PREFIX;
	else if (strcmp(s, "address") == 0)
		*out = CH_NETGROUP_ADDRESS;
	else
		return CH_EINVAL;
	return 0;
}

/* is_v4: IPv4-mapped; the address is ip[12..15]. */
static bool is_v4(const uint8_t ip[16])
{
	return memcmp(ip, v4_mapped, 12) == 0;
}

ch_addr_class_t ch_addr_class(const uint8_t ip[16])
{
	if (is_v4(ip)) {
		const uint8_t *a = ip + 12;

		if (a[0] == 127)
			return CH_ADDR_LOOPBACK;
		if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
		    (a[0] == 192 && a[1] == 168) || (a[0] == 100 && (a[1] & 0xc0) == 64) ||
		    (a[0] == 169 && a[1] == 254))
			return CH_ADDR_PRIVATE;
		return CH_ADDR_PUBLIC;
	}
	static const uint8_t v6_loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

	if (memcmp(ip, v6_loop, 16) == 0)
		return CH_ADDR_LOOPBACK;
	if ((ip[0] & 0xfe) == 0xfc || (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80))
		return CH_ADDR_PRIVATE;
	return CH_ADDR_PUBLIC;
}

void ch_netgroup_of(const uint8_t ip[16], uint16_t port, ch_netgroup_mode_t mode, ch_netgroup_t *g)
{
	bool v4 = is_v4(ip);
	ch_addr_class_t cls = ch_addr_class(ip);
	enum { PREFIX, ADDR, ADDR_PORT } how = PREFIX;

	memset(g, 0, sizeof(*g));
	if (mode == CH_NETGROUP_ADDRESS)
		how = ADDR;
	else if (mode == CH_NETGROUP_AUTO)
		how = cls == CH_ADDR_LOOPBACK ? ADDR_PORT : cls == CH_ADDR_PRIVATE ? ADDR : PREFIX;
	switch (how) {
	case PREFIX:
		g->b[0] = v4 ? TAG_V4_PREFIX : TAG_V6_PREFIX;
		memcpy(g->b + 1, v4 ? ip + 12 : ip, v4 ? 2 : 4);
		break;
	case ADDR:
		g->b[0] = v4 ? TAG_V4_ADDR : TAG_V6_ADDR;
		memcpy(g->b + 1, v4 ? ip + 12 : ip, v4 ? 4 : 16);
		break;
	case ADDR_PORT:
		g->b[0] = v4 ? TAG_V4_ADDR_PORT : TAG_V6_ADDR_PORT;
		memcpy(g->b + 1, v4 ? ip + 12 : ip, v4 ? 4 : 16);
		g->b[v4 ? 5 : 17] = (uint8_t)(port >> 8);
		g->b[v4 ? 6 : 18] = (uint8_t)port;
		break;
	}
}

bool ch_netgroup_eq(const ch_netgroup_t *a, const ch_netgroup_t *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

const char *ch_netgroup_str(const ch_netgroup_t *g, char *buf, size_t cap)
{
	const uint8_t *b = g->b;
	char ip[INET6_ADDRSTRLEN];

	switch (b[0]) {
	case TAG_V4_PREFIX:
		snprintf(buf, cap, "%u.%u", b[1], b[2]);
		break;
	case TAG_V6_PREFIX:
		snprintf(buf, cap, "%x:%x", (unsigned)(b[1] << 8 | b[2]),
		         (unsigned)(b[3] << 8 | b[4]));
		break;
	case TAG_V4_ADDR:
	case TAG_V4_ADDR_PORT:
		snprintf(buf, cap, "%u.%u.%u.%u", b[1], b[2], b[3], b[4]);
		if (b[0] == TAG_V4_ADDR_PORT) {
			size_t n = strlen(buf);
			snprintf(buf + n, cap > n ? cap - n : 0, ":%u",
			         (unsigned)(b[5] << 8 | b[6]));
		}
		break;
	case TAG_V6_ADDR:
	case TAG_V6_ADDR_PORT:
		if (inet_ntop(AF_INET6, b + 1, ip, sizeof(ip)) == NULL)
			snprintf(ip, sizeof(ip), "?");
		if (b[0] == TAG_V6_ADDR)
			snprintf(buf, cap, "%s", ip);
		else
			snprintf(buf, cap, "[%s]:%u", ip, (unsigned)(b[17] << 8 | b[18]));
		break;
	default:
		snprintf(buf, cap, "?");
	}
	return buf;
}
