/* mpjson.h: msgpack objects as JSON text and as a compact human form.
 *
 * chorusctl --json and chorus-mon --json print control-plane replies and
 * PUB bodies as one JSON line; chorus-mon and chorusctl's generic printer
 * print the same values as `key=value` text.  Both renderers write into a
 * caller's buffer (no allocation) and keep no state, so they are safe from
 * any thread on distinct buffers.
 *
 * JSON mapping (compact, no spaces, RFC 8259):
 *   nil -> null; bool -> true/false; integers in decimal; floats in the
 *   shortest form that reads back to the same value, NaN and infinities as
 *   null; str -> a JSON string; bin -> a string of lowercase hex; ext -> a
 *   string of lowercase hex of its payload (the type byte is dropped); map
 *   keys that are not strings become strings (bin keys their hex, other keys
 *   their JSON text, e.g. 1 -> "1", [1,"a"] -> "[1,\"a\"]").
 *   Strings are escaped: `"` and `\`, \b \f \n \r \t, other code points
 *   below U+0020, U+007F..U+009F, U+2028 and U+2029 as \u00XX/\u20XX; bytes
 *   that are not valid UTF-8 become U+FFFD.  The output is always valid
 *   UTF-8.
 *
 * Text mapping: a top-level map is `key=value key2=value2` (space
 * separated); nested maps are `{k=v,k2=v2}` and arrays `[a,b]`; strings
 * are printed bare when they are non-empty valid UTF-8 without spaces,
 * control characters or any of `=,[]{}"\`, otherwise quoted and escaped as
 * in JSON; bin and ext are lowercase hex; nil is `null`. */
#ifndef CH_MPJSON_H
#define CH_MPJSON_H

#include <msgpack.h>
#include <stddef.h>

/* Deepest nesting rendered (the root counts as 1; keys count as one more
 * level).  Deeper objects are refused with CH_EPROTO: they cannot come out
 * of ch_mpr_parse (CH_MP_MAX_DEPTH) and the renderers recurse. */
#define CH_MPJSON_MAX_DEPTH 64

/* ch_mp_to_json: writes o as compact JSON into buf, NUL-terminated.
 * Returns 0; CH_EINVAL if o or buf is NULL or cap is 0; CH_ERANGE if the
 * text needs more than cap - 1 bytes (buf then holds the longest prefix
 * that fits and ends on a whole UTF-8 character, NUL-terminated); CH_EPROTO
 * if o nests deeper than CH_MPJSON_MAX_DEPTH or has an unknown type (buf
 * holds what was written before, NUL-terminated).  Thread-safe. */
int ch_mp_to_json(const msgpack_object *o, char *buf, size_t cap);

/* ch_mp_to_text: writes o in the compact human form (see above) into buf,
 * NUL-terminated.  Same returns and truncation rule as ch_mp_to_json.
 * Thread-safe. */
int ch_mp_to_text(const msgpack_object *o, char *buf, size_t cap);

/* ch_json_quote: writes s[0..len) as a quoted, escaped JSON string (with
 * the escapes above) into buf, NUL-terminated; for building JSON lines
 * around rendered objects (a node name, a topic).  s may be NULL when len
 * is 0.  Returns 0; CH_EINVAL on NULL buf, cap 0 or NULL s with len > 0;
 * CH_ERANGE as ch_mp_to_json.  Thread-safe. */
int ch_json_quote(const char *s, size_t len, char *buf, size_t cap);

#endif
