/* bencode.h: a strict, bounded bencode decoder and a bounded encoder.
 *
 * Bencoding (BEP 3) is the wire format of every DHT message (BEP 5) and of
 * the DHT's persisted state.  Everything the decoder reads comes from a
 * peer or a file, so it trusts nothing:
 *   - the input, the nesting depth, the number of values and the length of
 *     one string are each capped by a ben_limits_t the caller chooses (one
 *     set for UDP packets, a larger one for the state file);
 *   - only the canonical form is accepted: integers without leading zeros
 *     or "-0", string lengths without leading zeros, dictionary keys that
 *     are strings in strictly increasing byte order (so no duplicates), no
 *     bytes after the one top-level value;
 *   - the decoder is iterative (an explicit stack bounded by max_depth), so
 *     no input can exhaust the C stack;
 *   - every rejection has a reason (ben_err_t) that the caller counts in a
 *     ben_stats_t.
 *
 * The decoder writes a flat array of tokens (one per value, in document
 * order, children right after their container), jsmn-style: no allocation,
 * and pointers stay inside the caller's buffer.  Each token records the raw
 * span of its value, which BEP 44 needs: an item's "v" is hashed and signed
 * in its verbatim bencoded form.
 *
 * The encoder writes into a fixed buffer and remembers an overflow instead
 * of writing past it; callers write dictionary keys in sorted order.
 *
 * No global state; every function is thread-safe on distinct objects. */
#ifndef CH_DHT_BENCODE_H
#define CH_DHT_BENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ben_type {
	BEN_INT = 1,
	BEN_STR = 2,
	BEN_LIST = 3,
	BEN_DICT = 4,
} ben_type_t;

/* Why an input was rejected; the index into ben_stats_t.rejected. */
typedef enum ben_err {
	BEN_OK = 0,
	BEN_ERR_SIZE,      /* input longer than max_input, or empty */
	BEN_ERR_TRUNCATED, /* input ends inside a value */
	BEN_ERR_SYNTAX,    /* a byte that starts no value, or a stray 'e' */
	BEN_ERR_INT,       /* malformed integer: empty, leading zero, "-0", overflow */
	BEN_ERR_LENGTH,    /* malformed string length, or longer than max_str */
	BEN_ERR_DEPTH,     /* nesting deeper than max_depth */
	BEN_ERR_COUNT,     /* more values than max_tokens */
	BEN_ERR_KEY,       /* a dictionary key that is not a string */
	BEN_ERR_ORDER,     /* dictionary keys not strictly increasing (or duplicated) */
	BEN_ERR_TRAILING,  /* bytes after the top-level value */
	BEN_ERR_NREASONS
} ben_err_t;

/* Caps of one decode.  All must be non-zero. */
typedef struct ben_limits {
	size_t max_input;    /* longest input, bytes */
	uint32_t max_depth;  /* deepest nesting of lists/dicts (the root counts) */
	uint32_t max_tokens; /* most values (every int, string, list, dict) */
	size_t max_str;      /* longest single string, bytes */
} ben_limits_t;

/* The limits for one KRPC datagram: a BEP 44 put (1000-byte value, key,
 * signature, salt, token) fits in 1.5 KB; 4 KB leaves room for a sloppy
 * peer.  256 values is far more than any DHT message has (a get_peers
 * reply with 100 peers is ~110); depth 16 covers any sane BEP 44 value. */
#define BEN_PKT_MAX_INPUT  4096
#define BEN_PKT_MAX_DEPTH  16
#define BEN_PKT_MAX_TOKENS 256

/* One decoded value.  For a container, `next` is the index of the first
 * token after all of its children, so siblings are walked by jumping. */
typedef struct ben_tok {
	uint8_t type;   /* ben_type_t */
	uint32_t start; /* offset of the value's first byte */
	uint32_t end;   /* offset one past its last byte */
	uint32_t next;  /* index of the token after this value and its children */
	uint32_t count; /* list: items; dict: key/value pairs; else 0 */
	uint32_t soff;  /* string: offset of the bytes */
	uint32_t slen;  /* string: number of bytes */
	int64_t ival;   /* integer value */
} ben_tok_t;

/* A decoded document: tokens point into buf, which the caller keeps alive. */
typedef struct ben_doc {
	const uint8_t *buf;
	size_t len;
	ben_tok_t *toks;
	uint32_t ntoks;
} ben_doc_t;

/* Counters of rejected inputs, per reason. */
typedef struct ben_stats {
	uint64_t decoded;
	uint64_t rejected[BEN_ERR_NREASONS];
} ben_stats_t;

/* ben_decode: parses buf[0..len) as exactly one bencoded value into doc,
 * using toks[0..cap) (cap >= 1) and the limits lim.  On success doc->toks[0]
 * is the root.  Returns BEN_OK, or the reason of the first violation (doc is
 * then unusable).  st (may be NULL) counts the outcome.  Never reads outside
 * buf, never allocates.  Thread-safe. */
ben_err_t ben_decode(ben_doc_t *doc, const uint8_t *buf, size_t len, ben_tok_t *toks, uint32_t cap,
                     const ben_limits_t *lim, ben_stats_t *st);

/* ben_err_name: a short lowercase name of a reason ("truncated"), for
 * metrics and logs.  Never NULL. */
const char *ben_err_name(ben_err_t e);

/* ben_dict_get: the token index of the value of key (a C string) in the
 * dictionary at token d, or -1 if d is not a dictionary or has no such key.
 * O(pairs). */
int32_t ben_dict_get(const ben_doc_t *doc, uint32_t d, const char *key);

/* ben_get_str: the string value of key in dict d.  Returns 0 with *p and *n set;
 * -1 if absent; -2 if present with another type. */
int ben_get_str(const ben_doc_t *doc, uint32_t d, const char *key, const uint8_t **p, size_t *n);

/* ben_get_int: the integer value of key in dict d.  Returns 0, -1 absent,
 * -2 another type. */
int ben_get_int(const ben_doc_t *doc, uint32_t d, const char *key, int64_t *out);

/* ben_str: the bytes of string token i (which must be a string). */
static inline const uint8_t *ben_str(const ben_doc_t *doc, uint32_t i)
{
	return doc->buf + doc->toks[i].soff;
}

/* ---------------------------------------------------------------- encoder */

/* A writer into a fixed buffer.  After an overflow every call is a no-op
 * and `overflow` stays true; check it once at the end. */
typedef struct ben_w {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
} ben_w_t;

/* ben_w_init: an empty writer over buf[0..cap). */
void ben_w_init(ben_w_t *w, uint8_t *buf, size_t cap);
/* ben_w_int: "i<v>e". */
void ben_w_int(ben_w_t *w, int64_t v);
/* ben_w_str: "<n>:<bytes>" (p may be NULL when n == 0). */
void ben_w_str(ben_w_t *w, const void *p, size_t n);
/* ben_w_cstr: a NUL-terminated string as a bencoded string. */
void ben_w_cstr(ben_w_t *w, const char *s);
/* ben_w_list / ben_w_dict / ben_w_end: open a list, a dict; close either. */
void ben_w_list(ben_w_t *w);
void ben_w_dict(ben_w_t *w);
void ben_w_end(ben_w_t *w);
/* ben_w_raw: bytes that are already bencoded (an item's verbatim "v"). */
void ben_w_raw(ben_w_t *w, const void *p, size_t n);

#endif
