/* hash.h: hashing, ed25519 signatures and hex, as thin wrappers over
 * libsodium (BLAKE2b, ed25519) and libmd (SHA-1, for the BitTorrent DHT's
 * ids and info-hashes).  No cryptography is implemented here.
 *
 * Every function is thread-safe and keeps no state.  Call ch_crypto_init()
 * once at start (it is also called by the functions that need randomness). */
#ifndef CH_HASH_H
#define CH_HASH_H

#include <stddef.h>
#include <stdint.h>

#define CH_BLAKE2B256_LEN   32
#define CH_SHA1_LEN         20
#define CH_ED25519_SEED_LEN 32

/* An ed25519 public key (32 bytes). */
typedef struct {
	uint8_t b[32];
} ch_pubkey_t;

/* An ed25519 secret key in libsodium's layout: seed (32) then public key
 * (32).  Wipe it with ch_seckey_wipe() when done. */
typedef struct {
	uint8_t b[64];
} ch_seckey_t;

/* An ed25519 signature (64 bytes). */
typedef struct {
	uint8_t b[64];
} ch_sig_t;

_Static_assert(sizeof(ch_pubkey_t) == 32, "ch_pubkey_t is 32 bytes");
_Static_assert(sizeof(ch_seckey_t) == 64, "ch_seckey_t is 64 bytes");
_Static_assert(sizeof(ch_sig_t) == 64, "ch_sig_t is 64 bytes");

/* ch_crypto_init: initialises libsodium (CPU feature detection, the random
 * source).  Idempotent and thread-safe (sodium_init locks internally).
 * Returns 0; CH_ECRYPTO if libsodium cannot initialise (no entropy). */
int ch_crypto_init(void);

/* ch_blake2b256: out = BLAKE2b with a 32-byte digest and no key (the
 * transaction id hash).  in may be NULL only when len == 0.  Returns 0;
 * CH_EINVAL on a NULL out or (NULL in, len > 0).  Thread-safe. */
int ch_blake2b256(uint8_t out[32], const void *in, size_t len);

/* ch_sha1: out = SHA-1 of in (libmd).  For the BitTorrent DHT (node ids,
 * info-hashes), which mandates it; never for security.  in may be NULL only
 * when len == 0.  Returns 0; CH_EINVAL on a NULL out or (NULL in, len > 0).
 * Thread-safe. */
int ch_sha1(uint8_t out[20], const void *in, size_t len);

/* ch_ed25519_keypair: a new random key pair (the node identity).  Returns 0;
 * CH_EINVAL on NULL arguments; CH_ECRYPTO if libsodium fails.  Thread-safe. */
int ch_ed25519_keypair(ch_pubkey_t *pk, ch_seckey_t *sk);

/* ch_ed25519_seed_keypair: the key pair derived from a 32-byte seed
 * (deterministic; for tests and for keys stored as seeds).  Returns 0;
 * CH_EINVAL on NULL arguments; CH_ECRYPTO if libsodium fails.  Thread-safe. */
int ch_ed25519_seed_keypair(ch_pubkey_t *pk, ch_seckey_t *sk, const uint8_t seed[32]);

/* ch_ed25519_sk_pubkey: copies the public key out of a secret key (e.g.
 * after loading identity.key).  Returns 0; CH_EINVAL on NULL.  Thread-safe. */
int ch_ed25519_sk_pubkey(ch_pubkey_t *pk, const ch_seckey_t *sk);

/* ch_ed25519_sign: sig = the detached signature of msg[0..len) by sk.  msg
 * may be NULL only when len == 0.  Returns 0; CH_EINVAL on NULL arguments;
 * CH_ECRYPTO if libsodium fails (sig is then zeroed).  Thread-safe. */
int ch_ed25519_sign(ch_sig_t *sig, const void *msg, size_t len, const ch_seckey_t *sk);

/* ch_ed25519_verify: checks a detached signature of msg[0..len) by pk.
 * Returns 0 if valid; CH_ECRYPTO if the signature is invalid or pk is not a
 * usable key; CH_EINVAL on NULL arguments.  Thread-safe. */
int ch_ed25519_verify(const ch_sig_t *sig, const void *msg, size_t len, const ch_pubkey_t *pk);

/* ch_seckey_wipe: overwrites a secret key with zeros in a way the compiler
 * cannot remove (sodium_memzero).  NULL is ignored.  Thread-safe. */
void ch_seckey_wipe(ch_seckey_t *sk);

/* ch_hex_encode: writes in[0..len) as lowercase hex into out, NUL-terminated
 * (2*len + 1 bytes).  Returns 0; CH_EINVAL on a NULL out or (NULL in,
 * len > 0); CH_ERANGE if cap < 2*len + 1 (out is then "" when cap > 0).
 * Thread-safe. */
int ch_hex_encode(char *out, size_t cap, const void *in, size_t len);

/* ch_hex_decode: decodes the NUL-terminated hex string (either case, no
 * spaces or prefix) into out and stores the byte count in *len_out (if
 * len_out is not NULL).  The whole string is checked before out is written,
 * so out is untouched on failure.  Returns 0; CH_EINVAL on a NULL hex or
 * (NULL out, cap > 0); CH_EPROTO on odd length or a non-hex character;
 * CH_ERANGE if the decoded bytes exceed cap.  Thread-safe. */
int ch_hex_decode(void *out, size_t cap, const char *hex, size_t *len_out);

#endif
