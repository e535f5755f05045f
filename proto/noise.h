/* noise.h: the transport handshake and sealed records (docs/protocol.md 1).
 *
 * A three-message handshake in the spirit of Noise XX, built from
 * libsodium: an ephemeral X25519 exchange whose transcript both sides sign
 * with their static ed25519 identity (SIGMA-style authentication).
 *
 *   msg1 I->R  "CHR1" | version | suites | e_I                      (38 bytes)
 *   msg2 R->I  e_R | suite | len | AEAD_k2(pk_R | sig_R | hello_R)
 *   msg3 I->R  len | AEAD_k3(pk_I | sig_I | hello_I)
 *
 *   h0 = BLAKE2b("chorus-hs-v1");  h1 = BLAKE2b(h0 | msg1)
 *   ck = BLAKE2b_key=X25519(e,e')(h1 | e_R | suite)
 *   sig_R = ed25519(sk_R, "chorus-hs-resp" | h1 | e_R | suite | pk_R)
 *   h2 = BLAKE2b(h1 | msg2)
 *   sig_I = ed25519(sk_I, "chorus-hs-init" | h2 | pk_I)
 *   h3 = BLAKE2b(h2 | msg3)
 *   k2 = BLAKE2b_key=ck("hs2"), k3 = BLAKE2b_key=ck("hs3") (ChaCha20-Poly1305)
 *   k_i2r = BLAKE2b_key=ck("i2r" | h3), k_r2i = BLAKE2b_key=ck("r2i" | h3)
 *
 * Each signature covers both ephemerals (through h1, h2), so a captured
 * handshake cannot be replayed and a man in the middle cannot splice two
 * handshakes.  The suite choice is signed too (no downgrade).  The hellos
 * travel encrypted; the network and versions inside them are checked by the
 * caller after the handshake, so a refusal can be sent with its reason.
 *
 * Records after the handshake: len (4 bytes, big-endian: ciphertext bytes,
 * tag included) | AEAD(key, nonce = 0^32 | counter_le64, ad = len, frames).
 * The suite is AES-256-GCM when both sides have AES-NI, else
 * ChaCha20-Poly1305 (IETF).  Up to NOISE_REC_MAX plaintext bytes per
 * record; many small frames share one record.
 *
 * No I/O, no clocks: the caller moves bytes.  Not thread-safe per object. */
#ifndef CH_PROTO_NOISE_H
#define CH_PROTO_NOISE_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"

#define NOISE_VERSION      1
#define NOISE_MSG1_LEN     38
#define NOISE_HELLO_MAX    1024
#define NOISE_MSG2_MAX     (32 + 1 + 2 + 32 + 64 + NOISE_HELLO_MAX + 16)
#define NOISE_MSG3_MAX     (2 + 32 + 64 + NOISE_HELLO_MAX + 16)
#define NOISE_REC_MAX      16384 /* plaintext bytes per record */
#define NOISE_REC_HDR      4
#define NOISE_TAG          16
#define NOISE_REC_OVERHEAD (NOISE_REC_HDR + NOISE_TAG)

#define NOISE_SUITE_CHACHA 1
#define NOISE_SUITE_AESGCM 2

typedef struct noise_cipher {
	int suite;
	uint64_t nonce;
	uint8_t key[32];
	crypto_aead_aes256gcm_state aes __attribute__((aligned(16)));
} noise_cipher_t;

typedef struct noise_hs {
	bool initiator;
	const ch_identity_t *self;
	uint8_t e_sk[32], e_pk[32];
	uint8_t re_pk[32]; /* remote ephemeral */
	uint8_t h[32];     /* transcript hash so far */
	uint8_t ck[32];    /* chaining key after the DH */
	uint8_t suites;    /* suites we offer (initiator) or accept */
	uint8_t suite;     /* the chosen one */
	uint8_t remote_pk[32];
	int step;
	uint8_t scratch[32 + 64 + NOISE_HELLO_MAX]; /* the last message read, opened */
} noise_hs_t;

/* noise_suites_local: the suites this machine runs fast (AES only with
 * AES-NI).  With force_chacha, ChaCha20-Poly1305 only. */
uint8_t noise_suites_local(bool force_chacha);

/* noise_init: a handshake as initiator or responder.  e_seed (32 bytes)
 * fixes the ephemeral key for test vectors; NULL draws a random one. */
int noise_init(noise_hs_t *hs, bool initiator, const ch_identity_t *self, uint8_t suites,
               const uint8_t *e_seed);

/* Initiator steps.  The hello handed back by a read points into hs and
 * stays valid until the next step.  read_msg2 returns CH_ECRYPTO for a bad tag or signature,
 * CH_EPERM if expect_pk is not NULL and the responder's key differs
 * (an impostor), CH_EPROTO for malformed input. */
int noise_write_msg1(noise_hs_t *hs, uint8_t out[NOISE_MSG1_LEN]);
int noise_read_msg2(noise_hs_t *hs, const uint8_t *in, size_t len, const uint8_t *expect_pk,
                    const uint8_t **hello, size_t *hello_len);
int noise_write_msg3(noise_hs_t *hs, const uint8_t *hello, size_t hello_len, uint8_t *out,
                     size_t cap, size_t *out_len);

/* Responder steps.  read_msg1: CH_EPROTO for a wrong magic, CH_EVERSION for
 * a handshake version we do not speak, CH_ECRYPTO for no common suite. */
int noise_read_msg1(noise_hs_t *hs, const uint8_t *in, size_t len);
int noise_write_msg2(noise_hs_t *hs, const uint8_t *hello, size_t hello_len, uint8_t *out,
                     size_t cap, size_t *out_len);
int noise_read_msg3(noise_hs_t *hs, const uint8_t *in, size_t len, const uint8_t **hello,
                    size_t *hello_len);

/* noise_msg2_len / noise_msg3_len: the full length of a message from its
 * first bytes (have = bytes available); 0 if not enough bytes yet,
 * SIZE_MAX if the length field is out of range. */
size_t noise_msg2_len(const uint8_t *in, size_t have);
size_t noise_msg3_len(const uint8_t *in, size_t have);

/* noise_split: after msg3, the record ciphers for sending and receiving.
 * Wipes the handshake secrets. */
int noise_split(noise_hs_t *hs, noise_cipher_t *tx, noise_cipher_t *rx);

/* noise_seal: seals pt[0..len) (len <= NOISE_REC_MAX) into out, which must
 * hold len + NOISE_REC_OVERHEAD bytes.  Returns the record's length. */
size_t noise_seal(noise_cipher_t *c, const uint8_t *pt, size_t len, uint8_t *out);

/* noise_rec_len: the full length of the record starting at in (have bytes
 * available): 0 if the header is incomplete, SIZE_MAX if its length is
 * impossible (a peer to punish). */
size_t noise_rec_len(const uint8_t *in, size_t have);

/* noise_open: opens the complete record rec[0..len) in place; the plaintext
 * is at rec + NOISE_REC_HDR, *pt_len bytes.  CH_ECRYPTO on a bad tag (the
 * connection must close: the nonce sequence is broken). */
int noise_open(noise_cipher_t *c, uint8_t *rec, size_t len, size_t *pt_len);

#endif
