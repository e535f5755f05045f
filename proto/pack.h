/* pack.h: the one msgpack reader and writer of the peer protocol.
 *
 * Every payload a peer sends (the hello, PING/PONG, REJECT, PEX, INV /
 * GETDATA / NOTFOUND, TX, BLOCK, transactions) is read with pack_rd_t: a
 * cursor over the input that never allocates, never reads outside it,
 * bounds nesting (PACK_DEPTH_MAX) and returns strings and binaries as
 * pointers into the input.  Errors are sticky: after the first failure
 * every read fails, so a decoder may check once at the end.  Each failure
 * records what was wrong (pack_fault_t) and the type byte that was
 * refused, so a decoder can say why in words.
 *
 * A reader made with PACK_CANONICAL also refuses any header or integer
 * longer than needed (map16 for 3 entries, uint16 for 7, bin16 for 32
 * bytes, str8 for a 3-byte key): formats that hash their own encoding (a
 * transaction's id) need exactly one encoding per value.
 *
 * pack_wr_t writes the canonical (shortest) form into a caller's buffer;
 * an overflow sets err and writes nothing more.
 *
 * The control plane (command and reply maps over ZeroMQ, common/mp.h)
 * keeps its msgpack-c objects: its messages come from local sockets, are
 * looked up by key in any order and are rendered to JSON.
 *
 * Stateless apart from the cursor; one cursor per thread. */
#ifndef CH_PROTO_PACK_H
#define CH_PROTO_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting pack_rd_skip follows below the value it skips. */
#define PACK_DEPTH_MAX 8

/* pack_rd_init flags */
#define PACK_CANONICAL 1u /* refuse non-shortest headers and integers */

/* What made a read fail. */
typedef enum pack_fault {
	PACK_OK = 0,
	PACK_TRUNCATED = 1, /* the input ends inside the value */
	PACK_TYPE = 2,      /* another type than the one asked for (see byte) */
	PACK_NONCANON = 3,  /* a longer form than needed (PACK_CANONICAL only) */
	PACK_DEPTH = 4,     /* nested deeper than PACK_DEPTH_MAX */
	PACK_VALUE = 5,     /* well-formed, refused by the decoder (pack_rd_refuse) */
} pack_fault_t;

typedef struct pack_rd {
	const uint8_t *p, *end;
	int err;          /* sticky: CH_EPROTO once anything was wrong */
	pack_fault_t why; /* the first failure */
	uint8_t byte;     /* the type byte of the first failure */
	unsigned flags;   /* PACK_CANONICAL */
} pack_rd_t;

/* pack_rd_init: a cursor over buf[0..len). */
void pack_rd_init(pack_rd_t *r, const void *buf, size_t len, unsigned flags);

/* Each reader returns true on success; on failure it sets r->err, r->why
 * and r->byte (and returns false from then on). */
bool pack_rd_map(pack_rd_t *r, uint32_t *n);
bool pack_rd_array(pack_rd_t *r, uint32_t *n);
/* pack_rd_str: a string, in place (not NUL-terminated). */
bool pack_rd_str(pack_rd_t *r, const char **s, uint32_t *len);
/* pack_rd_bin_slow, pack_rd_uint_slow: the general cases of pack_rd_bin
 * and pack_rd_uint below (call those). */
bool pack_rd_bin_slow(pack_rd_t *r, const uint8_t **b, uint32_t *len);
bool pack_rd_uint_slow(pack_rd_t *r, uint64_t *v);

/* pack_rd_bin: a binary, in place.  Inline for the common bin8 (an id, a
 * key): lists of ids are the bulk of what peers send. */
static inline bool pack_rd_bin(pack_rd_t *r, const uint8_t **b, uint32_t *len)
{
	size_t left = (size_t)(r->end - r->p);
	if (!r->err && left >= 2 && r->p[0] == 0xc4 && left - 2 >= r->p[1]) {
		*len = r->p[1];
		*b = r->p + 2;
		r->p += 2 + *len;
		return true;
	}
	return pack_rd_bin_slow(r, b, len);
}
/* pack_rd_bin_hdr: only the header of a binary: its length, so a decoder
 * can refuse an oversized value before looking for its bytes; the bytes
 * follow with pack_rd_raw. */
bool pack_rd_bin_hdr(pack_rd_t *r, uint32_t *len);
/* pack_rd_raw: the next len bytes, in place. */
bool pack_rd_raw(pack_rd_t *r, uint64_t len, const uint8_t **p);
/* pack_rd_uint: a non-negative integer (positive fixint, uint 8..64);
 * inline for a positive fixint. */
static inline bool pack_rd_uint(pack_rd_t *r, uint64_t *v)
{
	if (!r->err && r->p < r->end && r->p[0] < 0x80) {
		*v = *r->p++;
		return true;
	}
	return pack_rd_uint_slow(r, v);
}
/* pack_rd_skip: one value of any type, containers included. */
bool pack_rd_skip(pack_rd_t *r);

/* A map's reader of one entry: given the key, it reads the value and
 * returns true if it knows the key, or returns false (reading nothing) to
 * have the value skipped.  It refuses a value with pack_rd_refuse (or a
 * failed read). */
typedef bool (*pack_field_fn)(pack_rd_t *r, const char *key, uint32_t klen, void *arg);

/* pack_rd_fields: a map with string keys, the shape of every payload:
 * field() sees each entry in order; unknown keys' values are skipped (a
 * newer version's).  true if the whole map read without error. */
bool pack_rd_fields(pack_rd_t *r, pack_field_fn field, void *arg);
/* pack_rd_refuse: a decoder refuses what it read (a wrong length, a
 * duplicate key): the cursor fails from here on like after a bad read.
 * Returns false. */
bool pack_rd_refuse(pack_rd_t *r);
/* pack_rd_done: no error and the whole input read (no trailing bytes). */
bool pack_rd_done(const pack_rd_t *r);
/* pack_rd_left: bytes not read yet. */
size_t pack_rd_left(const pack_rd_t *r);

/* pack_is: a string read in place equals the C string k. */
bool pack_is(const char *s, uint32_t len, const char *k);

typedef struct pack_wr {
	uint8_t *buf;
	size_t len, cap;
	int err; /* CH_ERANGE once something did not fit */
} pack_wr_t;

void pack_wr_init(pack_wr_t *w, void *buf, size_t cap);
void pack_wr_map(pack_wr_t *w, uint32_t n);
void pack_wr_array(pack_wr_t *w, uint32_t n);
void pack_wr_str(pack_wr_t *w, const char *s);
/* pack_wr_strn: a string of len bytes (need not be NUL-terminated). */
void pack_wr_strn(pack_wr_t *w, const char *s, size_t len);
void pack_wr_bin(pack_wr_t *w, const void *b, uint32_t len);
void pack_wr_uint(pack_wr_t *w, uint64_t v);
/* pack_wr_bin_hdr: only the header of a bin of len bytes (the caller
 * appends the bytes with pack_wr_raw). */
void pack_wr_bin_hdr(pack_wr_t *w, uint32_t len);
void pack_wr_raw(pack_wr_t *w, const void *b, size_t len);
/* pack_wr_end: bytes written, or 0 if anything failed to fit. */
size_t pack_wr_end(const pack_wr_t *w);

#endif
