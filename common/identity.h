/* identity.h: the node's long-term ed25519 identity, kept in
 * DATADIR/identity.key (mode 0600): the 32-byte secret seed in lowercase
 * hex and a newline.  chorusd creates it on first start; transport and
 * discovery read it.  The node id is the first 20 bytes of BLAKE2b-256 of
 * the public key: 160 bits, the size of a DHT id. */
#ifndef CH_IDENTITY_H
#define CH_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"

#define CH_NODE_ID_LEN 20

typedef struct ch_identity {
	ch_pubkey_t pk;
	ch_seckey_t sk;
	uint8_t id[CH_NODE_ID_LEN];
} ch_identity_t;

/* ch_identity_load: reads DATADIR/identity.key; with create, makes a new
 * key when the file does not exist (O_EXCL, mode 0600).  Returns 0;
 * CH_ENOENT (absent, create false), CH_EPROTO (not 64 hex digits: a
 * corrupt key is never replaced silently), CH_EPERM (readable by group or
 * others), CH_EIO.  err gets a one-line reason. */
int ch_identity_load(const char *datadir, bool create, ch_identity_t *out, char *err,
                     size_t errcap);

/* ch_identity_wipe: clears the secret key from memory. */
void ch_identity_wipe(ch_identity_t *id);

#endif
