/* wire.h: frames and the table of message types (docs/protocol.md
 * section 1).
 *
 * A frame is a 13-byte header and a msgpack payload:
 *   magic   4 bytes  first 4 bytes of BLAKE2b-256("chorus-net:" + network)
 *   type    1 byte   wire_type_t
 *   length  4 bytes  payload bytes, big-endian
 *   crc     4 bytes  CRC-32C of the payload, big-endian
 *   payload length bytes (msgpack)
 * Frames travel inside sealed records (noise.h) once the handshake is done;
 * a record holds any number of frames and a frame may span records.
 *
 * The length is checked against the type's maximum as soon as the header is
 * in, before anything is buffered for the payload.  Types the node does not
 * know (from a newer version) are skipped if within WIRE_UNKNOWN_MAX.
 *
 * This header and wire.c are the only place a message type's number, name
 * and largest payload are written down; every other module names them. */
#ifndef CH_PROTO_WIRE_H
#define CH_PROTO_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_HDR_LEN   13
#define WIRE_MAGIC_LEN 4

typedef enum wire_type {
	WIRE_PING = 1,
	WIRE_PONG = 2,
	WIRE_GETPEERS = 3,
	WIRE_PEERS = 4,
	WIRE_INV = 5,
	WIRE_GETDATA = 6,
	WIRE_NOTFOUND = 7,
	WIRE_TX = 8,
	WIRE_BLOCK = 9,
	WIRE_REJECT = 10, /* the reason a peer is refused, then close */
	WIRE_TYPE_MAX = 10,
} wire_type_t;

/* Largest payload per type (wire_max_len gives them by number).  Small
 * control messages stay small; INV, GETDATA and NOTFOUND carry up to
 * WIRE_INV_IDS_MAX ids (40 bytes each with msgpack headers, plus the map);
 * TX is bounded well above a transaction's largest encoding (tx.h); BLOCK
 * by the node's ring-max-msg (a run-time setting). */
#define WIRE_PING_MAX     64
#define WIRE_GETPEERS_MAX 64
#define WIRE_PEERS_MAX    (16u * 1024)
#define WIRE_INV_IDS_MAX  1000
#define WIRE_INV_MAX      (16 + WIRE_INV_IDS_MAX * 40)
#define WIRE_TX_MAX       (128u * 1024)
#define WIRE_REJECT_MAX   512
#define WIRE_UNKNOWN_MAX  (64u * 1024) /* largest frame of an unknown type we skip */

typedef struct wire_hdr {
	uint8_t type;
	uint32_t len;
	uint32_t crc;
} wire_hdr_t;

/* wire_magic: the 4-byte frame magic of a network name. */
void wire_magic(const char *network, uint8_t out[WIRE_MAGIC_LEN]);

/* wire_type_name: "PING", ..., or "UNKNOWN" for a type we do not know. */
const char *wire_type_name(uint8_t type);

/* wire_max_len: largest payload accepted for a type (block_max for BLOCK);
 * 0 for a type we do not know (skipped up to WIRE_UNKNOWN_MAX). */
uint32_t wire_max_len(uint8_t type, uint32_t block_max);

/* wire_put_hdr: writes the header of a frame carrying payload[0..len). */
void wire_put_hdr(uint8_t out[WIRE_HDR_LEN], const uint8_t magic[WIRE_MAGIC_LEN], uint8_t type,
                  const void *payload, uint32_t len);

/* wire_get_hdr: parses a header.  0; CH_EPROTO for a wrong magic; CH_ERANGE
 * for a length above the type's maximum (or above WIRE_UNKNOWN_MAX for an
 * unknown type).  The caller checks the crc once the payload is in. */
int wire_get_hdr(const uint8_t in[WIRE_HDR_LEN], const uint8_t magic[WIRE_MAGIC_LEN],
                 uint32_t block_max, wire_hdr_t *out);

/* wire_crc_ok: the payload matches the header's crc. */
int wire_crc_ok(const wire_hdr_t *h, const void *payload);

#endif
