/* hash.c: see hash.h. */
#include "hash.h"

#include <sha1.h>
#include <sodium.h>
#include <string.h>

#include "err.h"

_Static_assert(crypto_generichash_BYTES == 32, "BLAKE2b default digest is 32 bytes");
_Static_assert(crypto_sign_PUBLICKEYBYTES == sizeof(ch_pubkey_t), "ed25519 public key size");
_Static_assert(crypto_sign_SECRETKEYBYTES == sizeof(ch_seckey_t), "ed25519 secret key size");
_Static_assert(crypto_sign_BYTES == sizeof(ch_sig_t), "ed25519 signature size");
_Static_assert(crypto_sign_SEEDBYTES == CH_ED25519_SEED_LEN, "ed25519 seed size");
_Static_assert(SHA1_DIGEST_LENGTH == CH_SHA1_LEN, "SHA-1 digest size");

int ch_crypto_init(void)
{
	/* 0: initialised now; 1: already initialised; -1: failure. */
	return sodium_init() < 0 ? CH_ECRYPTO : 0;
}

int ch_blake2b256(uint8_t out[32], const void *in, size_t len)
{
	if (out == NULL || (in == NULL && len > 0))
		return CH_EINVAL;
	if (crypto_generichash(out, CH_BLAKE2B256_LEN, in, len, NULL, 0) != 0)
		return CH_ECRYPTO;
	return 0;
}

int ch_sha1(uint8_t out[20], const void *in, size_t len)
{
	SHA1_CTX ctx;

	if (out == NULL || (in == NULL && len > 0))
		return CH_EINVAL;
	SHA1Init(&ctx);
	if (len > 0)
		SHA1Update(&ctx, in, len);
	SHA1Final(out, &ctx);
	return 0;
}

int ch_ed25519_keypair(ch_pubkey_t *pk, ch_seckey_t *sk)
{
	if (pk == NULL || sk == NULL)
		return CH_EINVAL;
	if (ch_crypto_init() != 0 || crypto_sign_keypair(pk->b, sk->b) != 0)
		return CH_ECRYPTO;
	return 0;
}

int ch_ed25519_seed_keypair(ch_pubkey_t *pk, ch_seckey_t *sk, const uint8_t seed[32])
{
	if (pk == NULL || sk == NULL || seed == NULL)
		return CH_EINVAL;
	if (crypto_sign_seed_keypair(pk->b, sk->b, seed) != 0)
		return CH_ECRYPTO;
	return 0;
}

int ch_ed25519_sk_pubkey(ch_pubkey_t *pk, const ch_seckey_t *sk)
{
	if (pk == NULL || sk == NULL)
		return CH_EINVAL;
	if (crypto_sign_ed25519_sk_to_pk(pk->b, sk->b) != 0)
		return CH_ECRYPTO;
	return 0;
}

int ch_ed25519_sign(ch_sig_t *sig, const void *msg, size_t len, const ch_seckey_t *sk)
{
	static const unsigned char empty[1];

	if (sig == NULL || sk == NULL || (msg == NULL && len > 0))
		return CH_EINVAL;
	if (crypto_sign_detached(sig->b, NULL, msg != NULL ? msg : empty, len, sk->b) != 0) {
		memset(sig, 0, sizeof(*sig));
		return CH_ECRYPTO;
	}
	return 0;
}

int ch_ed25519_verify(const ch_sig_t *sig, const void *msg, size_t len, const ch_pubkey_t *pk)
{
	static const unsigned char empty[1];

	if (sig == NULL || pk == NULL || (msg == NULL && len > 0))
		return CH_EINVAL;
	if (crypto_sign_verify_detached(sig->b, msg != NULL ? msg : empty, len, pk->b) != 0)
		return CH_ECRYPTO;
	return 0;
}

void ch_seckey_wipe(ch_seckey_t *sk)
{
	if (sk != NULL)
		sodium_memzero(sk, sizeof(*sk));
}

int ch_hex_encode(char *out, size_t cap, const void *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = in;

	if (out == NULL || (in == NULL && len > 0))
		return CH_EINVAL;
	if (len > (SIZE_MAX - 1) / 2 || cap < 2 * len + 1) {
		if (cap > 0)
			out[0] = '\0';
		return CH_ERANGE;
	}
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return 0;
}

/* The value of one hex digit, or -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ch_hex_decode(void *out, size_t cap, const char *hex, size_t *len_out)
{
	uint8_t *o = out;
	size_t n;

	if (hex == NULL || (out == NULL && cap > 0))
		return CH_EINVAL;
	for (n = 0; hex[n] != '\0'; n++) {
		if (hex_value(hex[n]) < 0)
			return CH_EPROTO;
	}
	if (n % 2 != 0)
		return CH_EPROTO;
	if (n / 2 > cap)
		return CH_ERANGE;
	for (size_t i = 0; i < n / 2; i++)
		o[i] = (uint8_t)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
	if (len_out != NULL)
		*len_out = n / 2;
	return 0;
}
