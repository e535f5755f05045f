/* producers.h: the validator set: the public keys whose blocks this node
 * accepts (docs/relay.md, "Who may produce blocks").
 *
 * An empty set means no rule: any key's block is accepted, as it always
 * was, and relay warns about it.  The set comes from the `producer` keys of
 * the configuration, or from DATADIR/producers once the `producers_*`
 * commands wrote it (the file then wins).  File format: one public key of
 * 64 hex digits per line; blank lines and lines starting with '#' are
 * ignored.  At most RL_PRODUCERS_MAX keys. */
#ifndef CH_RELAY_PRODUCERS_H
#define CH_RELAY_PRODUCERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RL_PRODUCERS_MAX      1024 /* keys in the set: 32 KiB */
#define RL_PRODUCERS_FILE     "producers"
#define RL_PRODUCERS_FILE_MAX (RL_PRODUCERS_MAX * 80 + 4096) /* bytes of the file read */

/* Kept sorted, so a block's producer is found by binary search. */
typedef struct rl_producers {
	uint32_t n;
	uint8_t key[RL_PRODUCERS_MAX][32];
} rl_producers_t;

/* rl_prod_has: true if key is in the set. */
bool rl_prod_has(const rl_producers_t *s, const uint8_t key[32]);
/* rl_prod_add: 0; CH_EEXIST (already in); CH_ERANGE (the set is full). */
int rl_prod_add(rl_producers_t *s, const uint8_t key[32]);
/* rl_prod_remove: 0; CH_ENOENT (not in the set). */
int rl_prod_remove(rl_producers_t *s, const uint8_t key[32]);

/* rl_prod_parse_hex: 64 hex digits (any case) into 32 bytes. */
bool rl_prod_parse_hex(const char *s, size_t len, uint8_t out[32]);

/* rl_prod_parse: the file's text into *s (replaced).  0; CH_EPROTO with
 * "line N: why" in err; CH_ERANGE over RL_PRODUCERS_MAX keys.  A key
 * listed twice counts once. */
int rl_prod_parse(rl_producers_t *s, const char *text, size_t len, char *err, size_t errcap);

/* rl_prod_load: DATADIR/producers into *s.  0; CH_ENOENT (no file: the
 * configuration applies); other codes with err set. */
int rl_prod_load(const char *datadir, rl_producers_t *s, char *err, size_t errcap);

/* rl_prod_save: writes the set to DATADIR/producers atomically (a temporary
 * file fsynced and renamed), so a crash leaves the old set or the new one.
 * 0 or CH_EIO / CH_ENOMEM / CH_ERANGE (path too long). */
int rl_prod_save(const char *datadir, const rl_producers_t *s);

#endif
