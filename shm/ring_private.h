/* ring_private.h: the shared layout of a ring (see ring.h for the protocol).
 * Only ring.c and the ring's tests include this. */
#ifndef CH_SHM_RING_PRIVATE_H
#define CH_SHM_RING_PRIVATE_H

#include <stdatomic.h>
#include <stdint.h>

#include "ring.h"

/* Magic: the object type in the high 56 bits ("chring\0" ...), the layout
 * version in the low 8.  Written last by new (release), cleared by delete. */
#define SHM_RING_MAGIC_TYPE 0x636872696e670000ULL /* "chring\0\0" */
#define SHM_RING_VERSION    1ULL
#define SHM_RING_MAGIC      (SHM_RING_MAGIC_TYPE | SHM_RING_VERSION)
#define SHM_RING_TYPE_MASK  0xffffffffffffff00ULL

/* Record header flags live in the top bit of `size`. */
#define SHM_REC_PAD 0x80000000u

typedef struct shm_rec_hdr {
	uint32_t size; /* payload bytes, or SHM_REC_PAD: skip to offset 0 */
	uint32_t tag;
	uint64_t seq;
} shm_rec_hdr_t;

_Static_assert(sizeof(shm_rec_hdr_t) == SHM_RING_HDR_SZ, "record header is 16 bytes");

#define SHM_LINE 128 /* two 64-byte lines: defeats adjacent-line prefetch */

typedef struct shm_ring_shared {
	/* line 0: written by new and delete only, read by everyone. */
	_Atomic uint64_t magic;
	uint64_t data_sz;   /* power of two */
	uint64_t max_rec;   /* largest payload */
	uint64_t footprint; /* bytes of the whole object */
	uint64_t data_off;  /* offset of the data area from the object start */
	uint8_t pad0[SHM_LINE - 5 * 8];

	/* line 1: written by the producer only. */
	_Atomic uint64_t tail;      /* bytes published: the commit point */
	_Atomic uint64_t tail_seq;  /* seq of the next record, after the commit */
	_Atomic uint64_t pend_tail; /* tail being published (before the commit) */
	_Atomic uint64_t pend_seq;  /* its next seq (before the commit) */
	_Atomic uint64_t full_stalls;
	_Atomic uint64_t prod_wakeups; /* eventfd writes to wake the consumer */
	_Atomic int32_t producer_pid;
	uint8_t pad1[SHM_LINE - 6 * 8 - 4];

	/* line 2: written by the consumer only. */
	_Atomic uint64_t head;     /* bytes committed */
	_Atomic uint64_t head_seq; /* seq of the next record to read (stats) */
	_Atomic uint64_t cons_wakeups;
	_Atomic int32_t consumer_pid;
	uint8_t pad2[SHM_LINE - 3 * 8 - 4];

	/* line 3: the consumer's sleeping flag (set by it, cleared by either). */
	_Atomic uint32_t cons_sleeping;
	uint8_t pad3[SHM_LINE - 4];

	/* line 4: the producer's sleeping flag. */
	_Atomic uint32_t prod_sleeping;
	uint8_t pad4[SHM_LINE - 4];
} shm_ring_shared_t;

_Static_assert(sizeof(shm_ring_shared_t) == 5 * SHM_LINE, "five lines");
_Static_assert(offsetof(shm_ring_shared_t, tail) == 1 * SHM_LINE, "producer line");
_Static_assert(offsetof(shm_ring_shared_t, head) == 2 * SHM_LINE, "consumer line");
_Static_assert(offsetof(shm_ring_shared_t, cons_sleeping) == 3 * SHM_LINE, "cons flag line");
_Static_assert(offsetof(shm_ring_shared_t, prod_sleeping) == 4 * SHM_LINE, "prod flag line");

#endif
