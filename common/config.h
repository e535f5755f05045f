/* config.h: schema-driven configuration from a `key = value` file and from
 * command-line flags (flags win over the file).
 *
 * A program declares its settings as a plain struct and describes each
 * field in a static ch_cfg_opt_t array; the parsers write straight into the
 * struct.  All storage is inline (no allocation, no ownership): strings are
 * char[N] arrays, repeatable keys are fixed-size lists.  Example:
 *
 *   struct settings { char datadir[256]; int64_t max_peers; bool fg;
 *                     ch_hostport_t listen; ch_cfg_hostports_t seeds;
 *                     char config[256]; };
 *   static const ch_cfg_opt_t opts[] = {
 *     {.key = "config", .type = CH_CFG_STR, .flags = CH_CFG_ARGONLY,
 *      .help = "config file", CH_CFG_AT(struct settings, config)},
 *     {.key = "max-peers", .type = CH_CFG_INT, .def = "125", .min = 1,
 *      .max = 4096, .help = "most peers", CH_CFG_AT(struct settings, max_peers)},
 *     {.key = "foreground", .type = CH_CFG_BOOL, .flags = CH_CFG_NOVALUE,
 *      .help = "stay in the foreground", CH_CFG_AT(struct settings, fg)},
 *     {.key = "seed", .type = CH_CFG_HOSTPORT, .flags = CH_CFG_MULTI,
 *      .help = "seed peer", CH_CFG_AT(struct settings, seeds)},
 *     ...
 *   };
 *
 * Typical start-up: ch_cfg_defaults(); ch_cfg_find_arg(..., "config", &path)
 * to learn the file before parsing flags; ch_cfg_parse_file() if a path is
 * known; then ch_cfg_parse_args() so flags override the file.
 *
 * Syntax.  Keys are the flag names without "--" (e.g. "max-peers"); `_` and
 * `-` are interchangeable in keys, in files and flags.  In a file: one
 * `key = value` per line; `#` starts a comment at the start of a line or
 * after whitespace (inside double quotes it is literal); blank lines are
 * ignored; whitespace around key and value is trimmed; a value may be
 * double-quoted (inside, \" and \\ are escapes); a NOVALUE key may stand
 * alone.  A non-MULTI key given twice in one file is an error.  On the
 * command line: `--key value` or `--key=value`; a NOVALUE flag takes no
 * separate value (`--foreground`, or `--foreground=false`); a later flag
 * overrides an earlier one; parsing stops at `--` or at the first argument
 * that does not start with "--" (a lone "-" is such an argument).
 *
 * MULTI keys collect up to CH_CFG_MULTI_MAX values; the first value from a
 * source (a file, or the command line) replaces the list from earlier
 * sources, later values from the same source append.
 *
 * Values by type (stored at offset in the caller's struct; size must equal
 * the field's size, which CH_CFG_AT fills in):
 *   CH_CFG_STR       char[N]; at most N-1 bytes.  MULTI: ch_cfg_strs_t.
 *   CH_CFG_INT       int64_t, decimal with optional sign.
 *   CH_CFG_BOOL      bool: true/false, yes/no, on/off, 1/0 (any case).
 *   CH_CFG_DURATION  uint64_t milliseconds: see ch_duration_parse ("250ms",
 *                    "5s", "2m", "1h", "1d", bare number = seconds).
 *   CH_CFG_SIZE      uint64_t bytes: digits and an optional binary unit
 *                    k, m, g, t (1024-based; also kb/kib, any case; "b").
 *   CH_CFG_HOSTPORT  ch_hostport_t: HOST:PORT, [V6]:PORT or :PORT, port
 *                    1-65535.  MULTI: ch_cfg_hostports_t.
 *   CH_CFG_LOGLEVEL  int: a ch_log_level (error|warn|info|debug).
 * For INT, DURATION and SIZE, min and max bound the value (in the stored
 * unit) when min < max; leave both 0 for no bound.  def is the default as
 * text in the same syntax (NULL: zero, false, empty string, empty list).
 *
 * Errors: every refused input returns CH_EINVAL (CH_ERANGE for too many
 * values of a MULTI key) and, if err is not NULL, writes a one-line message
 * that names the key, and for files path:line, and why, e.g.
 *   chorus.conf:3: max-peers: "abc" is not an integer
 *   --max-peers: 100000 is above the maximum 4096
 * On failure the settings may be partly updated: treat them as unusable.
 *
 * Thread-safety: no global state; concurrent calls on different settings
 * structs are safe. */
#ifndef CH_CONFIG_H
#define CH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Longest value list of a MULTI key. */
#define CH_CFG_MULTI_MAX 32
/* Size of each string in a ch_cfg_strs_t list (at most 255 bytes of text). */
#define CH_CFG_STRS_LEN 256
/* Longest host name kept in a ch_hostport_t, NUL included (DNS max is 253). */
#define CH_HOST_MAX 256
/* Longest HOST:PORT text kept, NUL included. */
#define CH_HOSTPORT_MAX 264
/* Longest line of a config file. */
#define CH_CFG_LINE_MAX 4096
/* Most options in one schema. */
#define CH_CFG_OPTS_MAX 256

typedef enum {
	CH_CFG_STR = 1,
	CH_CFG_INT,
	CH_CFG_BOOL,
	CH_CFG_DURATION,
	CH_CFG_SIZE,
	CH_CFG_HOSTPORT,
	CH_CFG_LOGLEVEL,
} ch_cfg_type_t;

/* Option flags. */
#define CH_CFG_MULTI   (1u << 0) /* repeatable: STR or HOSTPORT lists */
#define CH_CFG_NOVALUE (1u << 1) /* BOOL flag given without value sets true */
#define CH_CFG_ARGONLY (1u << 2) /* command line only (e.g. "config", "help") */

/* A parsed endpoint.  host has no brackets ("::1" for "[::1]:7433"); it is
 * "" for ":PORT" (meaning every local address).  port is 0 only when unset
 * (an empty default). */
typedef struct {
	char str[CH_HOSTPORT_MAX]; /* the text as given */
	char host[CH_HOST_MAX];
	uint16_t port;
} ch_hostport_t;

/* Storage of a MULTI CH_CFG_HOSTPORT option. */
typedef struct {
	size_t n;
	ch_hostport_t v[CH_CFG_MULTI_MAX];
} ch_cfg_hostports_t;

/* Storage of a MULTI CH_CFG_STR option. */
typedef struct {
	size_t n;
	char v[CH_CFG_MULTI_MAX][CH_CFG_STRS_LEN];
} ch_cfg_strs_t;

/* One option of a schema. */
typedef struct {
	const char *key;    /* flag name without "--", e.g. "max-peers" */
	ch_cfg_type_t type; /* how the value is parsed and stored */
	const char *def;    /* default as text, or NULL */
	const char *help;   /* one line for ch_cfg_usage */
	size_t offset;      /* offsetof(settings struct, field) */
	size_t size;        /* sizeof(field); checked against the type */
	int64_t min, max;   /* bounds for INT, DURATION, SIZE when min < max */
	unsigned flags;     /* CH_CFG_MULTI | CH_CFG_NOVALUE | CH_CFG_ARGONLY */
} ch_cfg_opt_t;

/* Designated initializers for offset and size of field m of struct type T. */
#define CH_CFG_AT(T, m) .offset = offsetof(T, m), .size = sizeof(((T *)0)->m)

/* ch_cfg_defaults: checks the schema (keys present, unique and made of
 * [A-Za-z0-9_-], types, sizes, flags) and writes every default into
 * settings.  Returns 0; CH_EINVAL with a message on a schema error or a
 * default that does not parse (both programmer errors).  Call first. */
int ch_cfg_defaults(const ch_cfg_opt_t *opts, size_t n, void *settings, char *err, size_t errcap);

/* ch_cfg_parse_file: applies the file at path.  Returns 0; CH_ENOENT if it
 * does not exist; CH_EIO if it cannot be read; CH_EINVAL on a syntax error,
 * an unknown or command-line-only key, a missing or bad value, an
 * out-of-range number, a duplicate key, a line over CH_CFG_LINE_MAX;
 * CH_ERANGE beyond CH_CFG_MULTI_MAX values.  err gets "path:line: key:
 * reason". */
int ch_cfg_parse_file(const ch_cfg_opt_t *opts, size_t n, void *settings, const char *path,
                      char *err, size_t errcap);

/* ch_cfg_parse_args: applies flags from argv[1..argc) (argv[0], the program
 * name, is skipped) and sets *argi_out (if not NULL) to the index of the
 * first argument not consumed: the first non-flag argument, the one after
 * "--", or argc.  "--help" is an ordinary key: declare
 * {"help", CH_CFG_BOOL, .flags = CH_CFG_NOVALUE | CH_CFG_ARGONLY} and test
 * the field; "-h" is accepted as "--help" when such a key exists.  Returns
 * 0; CH_EINVAL for an unknown flag, a single-dash flag, a missing or bad
 * value (errors as for files; err gets "--key: reason"); CH_ERANGE beyond
 * CH_CFG_MULTI_MAX values.  argv is not modified. */
int ch_cfg_parse_args(const ch_cfg_opt_t *opts, size_t n, void *settings, int argc, char **argv,
                      int *argi_out, char *err, size_t errcap);

/* Where a value came from, for ch_cfg_print. */
typedef enum ch_cfg_from {
	CH_CFG_FROM_DEFAULT = 0,
	CH_CFG_FROM_FILE,
	CH_CFG_FROM_FLAG,
	CH_CFG_FROM_DERIVED, /* computed by the program from other values */
} ch_cfg_from_t;

/* ch_cfg_parse_file_from / ch_cfg_parse_args_from: as above, and from[i]
 * (an array of n bytes, ch_cfg_from_t values; may be NULL) records which
 * options this source set. */
int ch_cfg_parse_file_from(const ch_cfg_opt_t *opts, size_t n, void *settings, const char *path,
                           uint8_t *from, char *err, size_t errcap);
int ch_cfg_parse_args_from(const ch_cfg_opt_t *opts, size_t n, void *settings, int argc,
                           char **argv, int *argi_out, uint8_t *from, char *err, size_t errcap);

/* ch_cfg_print: every option but the command-line-only ones as "key =
 * value" in config-file syntax (a list one line per value; an unset one as
 * a comment), each followed by "  # default", "# file", "# flag" or
 * "# derived" when from (n bytes) is given.  The output parses back. */
void ch_cfg_print(const ch_cfg_opt_t *opts, size_t n, const void *settings, const uint8_t *from,
                  FILE *out);

/* ch_cfg_find_arg: looks for "--key V" or "--key=V" among the flags of argv
 * (with the same stopping rules as ch_cfg_parse_args) without applying
 * anything, so a program can find --config before parsing the file.  The
 * last occurrence wins.  Returns 0 with *val_out pointing into argv;
 * CH_ENOENT if absent (or malformed flags stop the scan early); CH_EINVAL
 * on NULL arguments or a key missing from opts. */
int ch_cfg_find_arg(const ch_cfg_opt_t *opts, size_t n, int argc, char **argv, const char *key,
                    const char **val_out);

/* ch_cfg_usage: prints one block per option for --help: "--key VALUE",
 * the help text, the default and bounds, whether it repeats.  NULL out or
 * opts prints nothing. */
void ch_cfg_usage(const ch_cfg_opt_t *opts, size_t n, FILE *out);

/* ch_hostport_parse: parses "HOST:PORT", "[V6]:PORT" or ":PORT" into out.
 * HOST is a name or IPv4 address made of [A-Za-z0-9._-]; V6 is an IPv6
 * address of [0-9A-Fa-f:.] with an optional %zone.  Returns 0; CH_EINVAL on
 * NULL or malformed text; CH_ERANGE if the port is not 1-65535 or the text
 * is too long.  out is unchanged on failure.  Thread-safe. */
int ch_hostport_parse(const char *s, ch_hostport_t *out);

/* ch_size_parse: parses a byte size, digits and an optional binary unit (k,
 * m, g, t; kb, kib, ...; b; any case), e.g. "64k" = 65536.  Returns 0;
 * CH_EINVAL on NULL, malformed text or overflow.  Thread-safe. */
int ch_size_parse(const char *s, uint64_t *out);

/* ch_bool_parse: parses true/false, yes/no, on/off, 1/0 (any case).
 * Returns 0; CH_EINVAL otherwise.  Thread-safe. */
int ch_bool_parse(const char *s, bool *out);

#endif
