/* wire.c: frame headers (see wire.h). */
#include "wire.h"

#include <stdio.h>
#include <string.h>

#include "crc32c.h"
#include "err.h"
#include "hash.h"

/* Per-type payload maximums: small control messages stay small; INV and
 * GETDATA carry up to WIRE_INV_MAX ids; TX is bounded by the mempool's size
 * limit; BLOCK by the node's ring-max-msg. */
#define WIRE_INV_MAX 1000
#define WIRE_TX_MAX  (128 * 1024)

static const char *const type_names[] = {"UNKNOWN", "PING",     "PONG", "GETPEERS", "PEERS", "INV",
                                         "GETDATA", "NOTFOUND", "TX",   "BLOCK",    "REJECT"};

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
	return type <= WIRE_TYPE_MAX ? type_names[type] : type_names[0];
}

uint32_t wire_max_len(uint8_t type, uint32_t block_max)
{
	switch (type) {
	case WIRE_PING:
	case WIRE_PONG:
	case WIRE_GETPEERS:
		return 64;
	case WIRE_PEERS:
		return 16 * 1024;
	case WIRE_INV:
	case WIRE_GETDATA:
	case WIRE_NOTFOUND:
		return 16 + WIRE_INV_MAX * 40;
	case WIRE_TX:
		return WIRE_TX_MAX;
	case WIRE_BLOCK:
		return block_max;
	case WIRE_REJECT:
		return 512;
	default:
		return 0;
	}
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
