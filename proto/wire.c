/* wire.c: frame headers and the table of message types (wire.h). */
#include "wire.h"

#include <stdio.h>
#include <string.h>

#include "crc32c.h"
#include "err.h"
#include "hash.h"

/* The message types: name and largest payload (0 for BLOCK: the caller's
 * block_max). */
static const struct {
	const char *name;
	uint32_t max;
} types[WIRE_TYPE_MAX + 1] = {
    [0] = {"UNKNOWN", 0},
    [WIRE_PING] = {"PING", WIRE_PING_MAX},
    [WIRE_PONG] = {"PONG", WIRE_PING_MAX},
    [WIRE_GETPEERS] = {"GETPEERS", WIRE_GETPEERS_MAX},
    [WIRE_PEERS] = {"PEERS", WIRE_PEERS_MAX},
    [WIRE_INV] = {"INV", WIRE_INV_MAX},
    [WIRE_GETDATA] = {"GETDATA", WIRE_INV_MAX},
    [WIRE_NOTFOUND] = {"NOTFOUND", WIRE_INV_MAX},
    [WIRE_TX] = {"TX", WIRE_TX_MAX},
    [WIRE_BLOCK] = {"BLOCK", 0},
    [WIRE_REJECT] = {"REJECT", WIRE_REJECT_MAX},
};

void wire_magic(const char *network, uint8_t out[WIRE_MAGIC_LEN])
{
	char buf[64];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "chorus-net:%s", network);
	uint8_t h[32];
	ch_blake2b256(h, buf, n < sizeof(buf) ? n : sizeof(buf) - 1);
	memcpy(out, h, WIRE_MAGIC_LEN);
}

const char *wire_type_name(uint8_t type)
{
	return type <= WIRE_TYPE_MAX ? types[type].name : types[0].name;
}

uint32_t wire_max_len(uint8_t type, uint32_t block_max)
{
	if (type == WIRE_BLOCK)
		return block_max;
	return type <= WIRE_TYPE_MAX ? types[type].max : 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void wire_put_hdr(uint8_t out[WIRE_HDR_LEN], const uint8_t magic[WIRE_MAGIC_LEN], uint8_t type,
                  const void *payload, uint32_t len)
{
	memcpy(out, magic, WIRE_MAGIC_LEN);
	out[4] = type;
	put_be32(out + 5, len);
	put_be32(out + 9, ch_crc32c(0, payload, len));
}

int wire_get_hdr(const uint8_t in[WIRE_HDR_LEN], const uint8_t magic[WIRE_MAGIC_LEN],
                 uint32_t block_max, wire_hdr_t *out)
{
	if (memcmp(in, magic, WIRE_MAGIC_LEN) != 0)
		return CH_EPROTO;
	out->type = in[4];
	out->len = get_be32(in + 5);
	out->crc = get_be32(in + 9);
	uint32_t max = wire_max_len(out->type, block_max);
	if (max == 0)
		max = WIRE_UNKNOWN_MAX;
	if (out->len > max)
		return CH_ERANGE;
	return 0;
}

int wire_crc_ok(const wire_hdr_t *h, const void *payload)
{
	return ch_crc32c(0, payload, h->len) == h->crc;
}
