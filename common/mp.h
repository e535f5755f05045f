/* mp.h: msgpack helpers for the control plane (msgpack-c 4.x).
 *
 * Control-plane bodies are msgpack maps with string keys.  The writer packs
 * such maps into a growing buffer; the reader parses one whole message
 * strictly (no trailing bytes, bounded size and nesting, allocation bounded
 * by the input size) and looks keys up with type checks, so a hostile or
 * buggy client gets CH_EPROTO instead of a crash or a wrong value.
 *
 * These serve the control plane only (commands, replies and events on
 * local sockets).  Payloads from peers are read with the protocol's own
 * allocation-free cursor, proto/pack.h; docs/protocol.md section 0 says
 * why the two differ.
 *
 * Neither object is shared: one ch_mpw_t / ch_mpr_t per thread at a time.
 * The functions themselves keep no global state. */
#ifndef CH_MP_H
#define CH_MP_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default cap on a message given to ch_mpr_parse (1 MiB). */
#define CH_MP_MAX_DEFAULT (1u << 20)
/* Deepest nesting of arrays and maps the reader accepts (the root counts). */
#define CH_MP_MAX_DEPTH 16

/* ---------------------------------------------------------------- writer */

/* A msgpack writer.  pk may be used directly with msgpack_pack_*() for
 * values the helpers do not cover (arrays, nested maps, nil).  Do not copy a
 * ch_mpw_t after ch_mpw_init (pk points at sb). */
typedef struct {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int err; /* first error of a helper, sticky until ch_mpw_reset */
} ch_mpw_t;

/* ch_mpw_init: makes an empty writer; allocates nothing until the first
 * write.  Must be paired with ch_mpw_free. */
void ch_mpw_init(ch_mpw_t *w);

/* ch_mpw_free: frees the buffer; the writer is left empty and may be reused
 * (or freed again).  NULL is ignored. */
void ch_mpw_free(ch_mpw_t *w);

/* ch_mpw_reset: empties the writer, keeping its buffer for reuse, and
 * clears the sticky error. */
void ch_mpw_reset(ch_mpw_t *w);

/* ch_mpw_map: starts a map of n key/value pairs; the caller then writes
 * exactly n pairs.  Every writer helper returns 0; CH_EINVAL on a NULL
 * writer/key/value; CH_ERANGE for a count or length above UINT32_MAX;
 * CH_ENOMEM if the buffer cannot grow.  After a helper fails, every later
 * helper returns the same error without writing (check once at the end with
 * ch_mpw_error) and the buffer must not be sent. */
int ch_mpw_map(ch_mpw_t *w, size_t n);

/* ch_mpw_array: starts an array of n values (see ch_mpw_map for errors). */
int ch_mpw_array(ch_mpw_t *w, size_t n);

/* ch_mpw_key: writes a string key; the caller packs its value next (for
 * example a nested map with ch_mpw_map, or msgpack_pack_* on w->pk). */
int ch_mpw_key(ch_mpw_t *w, const char *key);

/* ch_mpw_kv_str: key and a NUL-terminated UTF-8 string value. */
int ch_mpw_kv_str(ch_mpw_t *w, const char *key, const char *val);

/* ch_mpw_kv_strn: key and a string value of len bytes (need not be
 * NUL-terminated; val may be NULL when len == 0). */
int ch_mpw_kv_strn(ch_mpw_t *w, const char *key, const char *val, size_t len);

/* ch_mpw_kv_u64: key and an unsigned integer (packed in the smallest form). */
int ch_mpw_kv_u64(ch_mpw_t *w, const char *key, uint64_t val);

/* ch_mpw_kv_i64: key and a signed integer (packed in the smallest form). */
int ch_mpw_kv_i64(ch_mpw_t *w, const char *key, int64_t val);

/* ch_mpw_kv_bool: key and true/false. */
int ch_mpw_kv_bool(ch_mpw_t *w, const char *key, bool val);

/* ch_mpw_kv_bin: key and a binary value of len bytes (ptr may be NULL when
 * len == 0). */
int ch_mpw_kv_bin(ch_mpw_t *w, const char *key, const void *ptr, size_t len);

/* ch_mpw_error: the sticky error of the helpers (0 if none). */
int ch_mpw_error(const ch_mpw_t *w);

/* ch_mpw_data: the bytes written so far (NULL while empty); valid until the
 * next write, reset or free.  Owned by the writer. */
const void *ch_mpw_data(const ch_mpw_t *w);

/* ch_mpw_size: the number of bytes written so far. */
size_t ch_mpw_size(const ch_mpw_t *w);

/* ch_mpw_release: hands the buffer to the caller (*data, to be released
 * with free(); NULL if empty) and leaves the writer empty, e.g. for
 * zmq_msg_init_data.  Returns 0; CH_EINVAL on NULL arguments; the sticky
 * error if a helper failed (nothing is released then). */
int ch_mpw_release(ch_mpw_t *w, void **data, size_t *len);

/* ---------------------------------------------------------------- reader */

/* A strict reader of one message.  The parsed objects live in the reader
 * (it keeps its own copy of the input) until the next parse or free. */
typedef struct {
	msgpack_unpacked up;
	char *buf;       /* copy of the input; the objects point into it */
	size_t bufcap;   /* bytes allocated at buf */
	size_t max_size; /* largest input accepted */
	bool ok;         /* the last parse succeeded */
} ch_mpr_t;

/* ch_mpr_init: makes an empty reader accepting inputs up to max_size bytes
 * (0 = CH_MP_MAX_DEFAULT).  Must be paired with ch_mpr_free. */
void ch_mpr_init(ch_mpr_t *r, size_t max_size);

/* ch_mpr_free: frees what the reader holds; safe twice; NULL ignored. */
void ch_mpr_free(ch_mpr_t *r);

/* ch_mpr_parse: parses buf[0..len) as exactly one msgpack object.  buf may
 * be freed afterwards (it is copied).  Returns 0; CH_EINVAL on NULL
 * arguments; CH_ERANGE if len > max_size; CH_EPROTO if the input is empty,
 * truncated, malformed, nested deeper than CH_MP_MAX_DEPTH, or followed by
 * trailing bytes; CH_ENOMEM if memory runs out.  On failure the previous
 * result is dropped. */
int ch_mpr_parse(ch_mpr_t *r, const void *buf, size_t len);

/* ch_mpr_root: the parsed object.  Returns 0; CH_EINVAL on NULL arguments
 * or when no parse has succeeded. */
int ch_mpr_root(const ch_mpr_t *r, const msgpack_object **out);

/* ch_mpr_root_map: the parsed object, which must be a map.  Returns 0;
 * CH_EPROTO if it is not a map; CH_EINVAL as ch_mpr_root. */
int ch_mpr_root_map(const ch_mpr_t *r, const msgpack_object **out);

/* ---------------------------------------------------------------- values
 * Typed access to one object.  Each returns 0; CH_EINVAL on NULL arguments;
 * CH_EPROTO if the object has another type; CH_ERANGE if an integer does
 * not fit the requested type.  Strings and binaries are returned as pointer
 * and length into the reader (not NUL-terminated). */

int ch_mp_as_u64(const msgpack_object *o, uint64_t *out);
int ch_mp_as_i64(const msgpack_object *o, int64_t *out);
int ch_mp_as_bool(const msgpack_object *o, bool *out);
int ch_mp_as_str(const msgpack_object *o, const char **ptr, size_t *len);
int ch_mp_as_bin(const msgpack_object *o, const void **ptr, size_t *len);

/* ---------------------------------------------------------------- maps */

/* ch_mp_map_get: finds key in a map.  Every key of the map must be a
 * string, and key must occur once.  Returns 0 with *out pointing at the
 * value; CH_ENOENT if absent; CH_EPROTO if map is not a map, a key is not a
 * string, or key occurs twice; CH_EINVAL on NULL arguments.  O(map size). */
int ch_mp_map_get(const msgpack_object *map, const char *key, const msgpack_object **out);

/* ch_mp_get_u64 .. ch_mp_get_bin: ch_mp_map_get then ch_mp_as_* (same
 * errors as both; outputs unchanged on failure). */
int ch_mp_get_u64(const msgpack_object *map, const char *key, uint64_t *out);
int ch_mp_get_i64(const msgpack_object *map, const char *key, int64_t *out);
int ch_mp_get_bool(const msgpack_object *map, const char *key, bool *out);
int ch_mp_get_str(const msgpack_object *map, const char *key, const char **ptr, size_t *len);
int ch_mp_get_bin(const msgpack_object *map, const char *key, const void **ptr, size_t *len);

/* ch_mp_get_strz: copies a string value into buf as a C string.  Returns
 * 0; CH_ERANGE if it needs more than cap bytes (NUL included); CH_EPROTO if
 * it contains a NUL byte; otherwise as ch_mp_get_str.  buf is "" on failure
 * (if cap > 0). */
int ch_mp_get_strz(const msgpack_object *map, const char *key, char *buf, size_t cap);

/* ch_mp_get_bin_exact: copies a binary value that must be exactly len bytes
 * (a key, a hash, a signature) into out.  Returns 0; CH_EPROTO on another
 * type or another length; otherwise as ch_mp_get_bin. */
int ch_mp_get_bin_exact(const msgpack_object *map, const char *key, void *out, size_t len);

#endif
