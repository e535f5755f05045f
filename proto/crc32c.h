/* crc32c.h: CRC-32C (Castagnoli), the frame checksum of the wire protocol.
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at
 * run time), a bitwise loop otherwise.  Not cryptographic: frames are also
 * sealed with an AEAD; the checksum catches bugs in framing, not attacks. */
#ifndef CH_PROTO_CRC32C_H
#define CH_PROTO_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* ch_crc32c: CRC-32C of buf, continuing from crc (0 to start).  Thread-safe. */
uint32_t ch_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
