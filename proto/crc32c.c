/* crc32c.c: CRC-32C (see crc32c.h). */
#include "crc32c.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#define CRC32C_POLY 0x82f63b78u /* reflected Castagnoli polynomial */

/* crc32c_soft: one bit at a time; only for CPUs without SSE4.2. */
static uint32_t crc32c_soft(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (CRC32C_POLY & (0u - (crc & 1u)));
	}
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
                                                            size_t len)
{
	uint64_t c = crc;
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	uint32_t c32 = (uint32_t)c;
	while (len--)
		c32 = __builtin_ia32_crc32qi(c32, *p++);
	return c32;
}

static bool have_sse42(void)
{
	static _Atomic int cached = -1; /* every thread computes the same value */
	int v = atomic_load_explicit(&cached, memory_order_relaxed);
	if (v < 0) {
		v = __builtin_cpu_supports("sse4.2") ? 1 : 0;
		atomic_store_explicit(&cached, v, memory_order_relaxed);
	}
	return v == 1;
}
#endif

uint32_t ch_crc32c(uint32_t crc, const void *buf, size_t len)
{
	crc = ~crc;
#if defined(__x86_64__)
	if (have_sse42())
		return ~crc32c_hw(crc, buf, len);
#endif
	return ~crc32c_soft(crc, buf, len);
}
