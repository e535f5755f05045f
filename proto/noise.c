/* noise.c: handshake and records (see noise.h for the pattern). */
#include "noise.h"

#include <string.h>

#include "err.h"

static const uint8_t msg1_magic[4] = {'C', 'H', 'R', '1'};

/* mix: h = BLAKE2b-256(h | a | b). */
static void mix(uint8_t h[32], const void *a, size_t alen, const void *b, size_t blen)
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, h, 32);
	if (alen)
		crypto_generichash_update(&st, a, alen);
	if (blen)
		crypto_generichash_update(&st, b, blen);
	crypto_generichash_final(&st, h, 32);
}

/* kdf: out = BLAKE2b-256 keyed with key over a | b. */
static void kdf(uint8_t out[32], const uint8_t key[32], const void *a, size_t alen, const void *b,
                size_t blen)
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, key, 32, 32);
	crypto_generichash_update(&st, a, alen);
	if (blen)
		crypto_generichash_update(&st, b, blen);
	crypto_generichash_final(&st, out, 32);
}

static void put_be16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t get_be16(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

uint8_t noise_suites_local(bool force_chacha)
{
	if (!force_chacha && crypto_aead_aes256gcm_is_available())
		return NOISE_SUITE_CHACHA | NOISE_SUITE_AESGCM;
	return NOISE_SUITE_CHACHA;
}

int noise_init(noise_hs_t *hs, bool initiator, const ch_identity_t *self, uint8_t suites,
               const uint8_t *e_seed)
{
	if (!hs || !self || !(suites & (NOISE_SUITE_CHACHA | NOISE_SUITE_AESGCM)))
		return CH_EINVAL;
	memset(hs, 0, sizeof(*hs));
	hs->initiator = initiator;
	hs->self = self;
	hs->suites = suites;
	if (e_seed) {
		memcpy(hs->e_sk, e_seed, 32);
		crypto_scalarmult_base(hs->e_pk, hs->e_sk);
	} else {
		crypto_box_keypair(hs->e_pk, hs->e_sk);
	}
	const char *label = "chorus-hs-v1";
	crypto_generichash(hs->h, 32, (const uint8_t *)label, strlen(label), NULL, 0);
	return 0;
}

int noise_write_msg1(noise_hs_t *hs, uint8_t out[NOISE_MSG1_LEN])
{
	if (!hs->initiator || hs->step != 0)
		return CH_EINVAL;
	memcpy(out, msg1_magic, 4);
	out[4] = NOISE_VERSION;
	out[5] = hs->suites;
	memcpy(out + 6, hs->e_pk, 32);
	mix(hs->h, out, NOISE_MSG1_LEN, NULL, 0);
	hs->step = 1;
	return 0;
}

int noise_read_msg1(noise_hs_t *hs, const uint8_t *in, size_t len)
{
	if (hs->initiator || hs->step != 0)
		return CH_EINVAL;
	if (len != NOISE_MSG1_LEN || memcmp(in, msg1_magic, 4) != 0)
		return CH_EPROTO;
	if (in[4] != NOISE_VERSION)
		return CH_EVERSION;
	uint8_t common = in[5] & hs->suites;
	if (common & NOISE_SUITE_AESGCM)
		hs->suite = NOISE_SUITE_AESGCM;
	else if (common & NOISE_SUITE_CHACHA)
		hs->suite = NOISE_SUITE_CHACHA;
	else
		return CH_ECRYPTO;
	memcpy(hs->re_pk, in + 6, 32);
	mix(hs->h, in, NOISE_MSG1_LEN, NULL, 0);
	hs->step = 1;
	return 0;
}

/* derive_ck: ck from the ephemeral DH and the transcript after msg1. */
static int derive_ck(noise_hs_t *hs, const uint8_t e_r[32])
{
	uint8_t dh[32];
	if (crypto_scalarmult(dh, hs->e_sk, hs->re_pk) != 0)
		return CH_ECRYPTO; /* a low-order point */
	kdf(hs->ck, dh, hs->h, 32, e_r, 32);
	uint8_t s = hs->suite;
	kdf(hs->ck, hs->ck, &s, 1, NULL, 0);
	sodium_memzero(dh, sizeof(dh));
	return 0;
}

static void resp_signed(const noise_hs_t *hs, const uint8_t e_r[32], const uint8_t pk[32],
                        uint8_t buf[14 + 32 + 32 + 1 + 32])
{
	memcpy(buf, "chorus-hs-resp", 14);
	memcpy(buf + 14, hs->h, 32);
	memcpy(buf + 46, e_r, 32);
	buf[78] = hs->suite;
	memcpy(buf + 79, pk, 32);
}

int noise_write_msg2(noise_hs_t *hs, const uint8_t *hello, size_t hello_len, uint8_t *out,
                     size_t cap, size_t *out_len)
{
	if (hs->initiator || hs->step != 1 || hello_len > NOISE_HELLO_MAX)
		return CH_EINVAL;
	size_t plen = 32 + 64 + hello_len, total = 32 + 1 + 2 + plen + NOISE_TAG;
	if (cap < total)
		return CH_ERANGE;
	if (derive_ck(hs, hs->e_pk) != 0)
		return CH_ECRYPTO;
	uint8_t signed_buf[111], pt[32 + 64 + NOISE_HELLO_MAX], k2[32], nonce[12] = {0};
	resp_signed(hs, hs->e_pk, hs->self->pk.b, signed_buf);
	memcpy(pt, hs->self->pk.b, 32);
	crypto_sign_detached(pt + 32, NULL, signed_buf, sizeof(signed_buf), hs->self->sk.b);
	memcpy(pt + 96, hello, hello_len);
	kdf(k2, hs->ck, "hs2", 3, NULL, 0);
	memcpy(out, hs->e_pk, 32);
	out[32] = hs->suite;
	put_be16(out + 33, plen + NOISE_TAG);
	uint8_t ad[32 + 33];
	memcpy(ad, hs->h, 32);
	memcpy(ad + 32, out, 33);
	crypto_aead_chacha20poly1305_ietf_encrypt(out + 35, NULL, pt, plen, ad, sizeof(ad), NULL,
	                                          nonce, k2);
	mix(hs->h, out, total, NULL, 0);
	*out_len = total;
	hs->step = 2;
	sodium_memzero(k2, sizeof(k2));
	return 0;
}

size_t noise_msg2_len(const uint8_t *in, size_t have)
{
	if (have < 35)
		return 0;
	size_t n = get_be16(in + 33);
	if (n < 32 + 64 + NOISE_TAG || n > 32 + 64 + NOISE_HELLO_MAX + NOISE_TAG)
		return SIZE_MAX;
	return 35 + n;
}

size_t noise_msg3_len(const uint8_t *in, size_t have)
{
	if (have < 2)
		return 0;
	size_t n = get_be16(in);
	if (n < 32 + 64 + NOISE_TAG || n > 32 + 64 + NOISE_HELLO_MAX + NOISE_TAG)
		return SIZE_MAX;
	return 2 + n;
}

int noise_read_msg2(noise_hs_t *hs, const uint8_t *in, size_t len, const uint8_t *expect_pk,
                    const uint8_t **hello, size_t *hello_len)
{
	if (!hs->initiator || hs->step != 1)
		return CH_EINVAL;
	size_t need = noise_msg2_len(in, len);
	if (need == 0 || need == SIZE_MAX || need != len)
		return CH_EPROTO;
	uint8_t suite = in[32];
	if (!(suite & hs->suites) || (suite != NOISE_SUITE_CHACHA && suite != NOISE_SUITE_AESGCM))
		return CH_EPROTO;
	hs->suite = suite;
	memcpy(hs->re_pk, in, 32);
	if (derive_ck(hs, hs->re_pk) != 0)
		return CH_ECRYPTO;
	uint8_t k2[32], nonce[12] = {0}, ad[32 + 33];
	kdf(k2, hs->ck, "hs2", 3, NULL, 0);
	memcpy(ad, hs->h, 32);
	memcpy(ad + 32, in, 33);
	uint8_t *pt = hs->scratch;
	unsigned long long plen;
	size_t clen = len - 35;
	int bad = crypto_aead_chacha20poly1305_ietf_decrypt(pt, &plen, NULL, in + 35, clen, ad,
	                                                    sizeof(ad), nonce, k2);
	sodium_memzero(k2, sizeof(k2));
	if (bad)
		return CH_ECRYPTO;
	uint8_t signed_buf[111];
	resp_signed(hs, hs->re_pk, pt, signed_buf);
	if (crypto_sign_verify_detached(pt + 32, signed_buf, sizeof(signed_buf), pt) != 0)
		return CH_ECRYPTO;
	memcpy(hs->remote_pk, pt, 32);
	if (expect_pk && sodium_memcmp(expect_pk, pt, 32) != 0)
		return CH_EPERM;
	mix(hs->h, in, len, NULL, 0);
	*hello = pt + 96;
	*hello_len = (size_t)plen - 96;
	hs->step = 2;
	return 0;
}

static void init_signed(const noise_hs_t *hs, const uint8_t pk[32], uint8_t buf[14 + 32 + 32])
{
	memcpy(buf, "chorus-hs-init", 14);
	memcpy(buf + 14, hs->h, 32);
	memcpy(buf + 46, pk, 32);
}

int noise_write_msg3(noise_hs_t *hs, const uint8_t *hello, size_t hello_len, uint8_t *out,
                     size_t cap, size_t *out_len)
{
	if (!hs->initiator || hs->step != 2 || hello_len > NOISE_HELLO_MAX)
		return CH_EINVAL;
	size_t plen = 32 + 64 + hello_len, total = 2 + plen + NOISE_TAG;
	if (cap < total)
		return CH_ERANGE;
	uint8_t signed_buf[78], pt[32 + 64 + NOISE_HELLO_MAX], k3[32], nonce[12] = {0};
	init_signed(hs, hs->self->pk.b, signed_buf);
	memcpy(pt, hs->self->pk.b, 32);
	crypto_sign_detached(pt + 32, NULL, signed_buf, sizeof(signed_buf), hs->self->sk.b);
	memcpy(pt + 96, hello, hello_len);
	kdf(k3, hs->ck, "hs3", 3, NULL, 0);
	put_be16(out, plen + NOISE_TAG);
	uint8_t ad[34];
	memcpy(ad, hs->h, 32);
	memcpy(ad + 32, out, 2);
	crypto_aead_chacha20poly1305_ietf_encrypt(out + 2, NULL, pt, plen, ad, sizeof(ad), NULL,
	                                          nonce, k3);
	mix(hs->h, out, total, NULL, 0);
	*out_len = total;
	hs->step = 3;
	sodium_memzero(k3, sizeof(k3));
	return 0;
}

int noise_read_msg3(noise_hs_t *hs, const uint8_t *in, size_t len, const uint8_t **hello,
                    size_t *hello_len)
{
	if (hs->initiator || hs->step != 2)
		return CH_EINVAL;
	size_t need = noise_msg3_len(in, len);
	if (need == 0 || need == SIZE_MAX || need != len)
		return CH_EPROTO;
	uint8_t k3[32], nonce[12] = {0}, ad[34];
	kdf(k3, hs->ck, "hs3", 3, NULL, 0);
	memcpy(ad, hs->h, 32);
	memcpy(ad + 32, in, 2);
	uint8_t *pt = hs->scratch;
	unsigned long long plen;
	int bad = crypto_aead_chacha20poly1305_ietf_decrypt(pt, &plen, NULL, in + 2, len - 2, ad,
	                                                    sizeof(ad), nonce, k3);
	sodium_memzero(k3, sizeof(k3));
	if (bad)
		return CH_ECRYPTO;
	uint8_t signed_buf[78];
	init_signed(hs, pt, signed_buf);
	if (crypto_sign_verify_detached(pt + 32, signed_buf, sizeof(signed_buf), pt) != 0)
		return CH_ECRYPTO;
	memcpy(hs->remote_pk, pt, 32);
	mix(hs->h, in, len, NULL, 0);
	*hello = pt + 96;
	*hello_len = (size_t)plen - 96;
	hs->step = 3;
	return 0;
}

static void cipher_init(noise_cipher_t *c, int suite, const uint8_t key[32])
{
	memset(c, 0, sizeof(*c));
	c->suite = suite;
	memcpy(c->key, key, 32);
	if (suite == NOISE_SUITE_AESGCM)
		crypto_aead_aes256gcm_beforenm(&c->aes, key);
}

int noise_split(noise_hs_t *hs, noise_cipher_t *tx, noise_cipher_t *rx)
{
	if (hs->step != 3)
		return CH_EINVAL;
	uint8_t i2r[32], r2i[32];
	kdf(i2r, hs->ck, "i2r", 3, hs->h, 32);
	kdf(r2i, hs->ck, "r2i", 3, hs->h, 32);
	cipher_init(tx, hs->suite, hs->initiator ? i2r : r2i);
	cipher_init(rx, hs->suite, hs->initiator ? r2i : i2r);
	sodium_memzero(i2r, sizeof(i2r));
	sodium_memzero(r2i, sizeof(r2i));
	sodium_memzero(hs->e_sk, sizeof(hs->e_sk));
	sodium_memzero(hs->ck, sizeof(hs->ck));
	hs->step = 4;
	return 0;
}

static void nonce_bytes(uint64_t n, uint8_t out[12])
{
	memset(out, 0, 4);
	for (int i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(n >> (8 * i));
}

size_t noise_seal(noise_cipher_t *c, const uint8_t *pt, size_t len, uint8_t *out)
{
	uint8_t nonce[12];
	nonce_bytes(c->nonce++, nonce);
	size_t clen = len + NOISE_TAG;
	out[0] = (uint8_t)(clen >> 24);
	out[1] = (uint8_t)(clen >> 16);
	out[2] = (uint8_t)(clen >> 8);
	out[3] = (uint8_t)clen;
	if (c->suite == NOISE_SUITE_AESGCM)
		crypto_aead_aes256gcm_encrypt_afternm(out + 4, NULL, pt, len, out, 4, NULL, nonce,
		                                      &c->aes);
	else
		crypto_aead_chacha20poly1305_ietf_encrypt(out + 4, NULL, pt, len, out, 4, NULL,
		                                          nonce, c->key);
	return NOISE_REC_HDR + clen;
}

size_t noise_rec_len(const uint8_t *in, size_t have)
{
	if (have < NOISE_REC_HDR)
		return 0;
	size_t clen = (size_t)in[0] << 24 | (size_t)in[1] << 16 | (size_t)in[2] << 8 | in[3];
	if (clen < NOISE_TAG || clen > NOISE_REC_MAX + NOISE_TAG)
		return SIZE_MAX;
	return NOISE_REC_HDR + clen;
}

int noise_open(noise_cipher_t *c, uint8_t *rec, size_t len, size_t *pt_len)
{
	size_t need = noise_rec_len(rec, len);
	if (need == 0 || need == SIZE_MAX || need != len)
		return CH_EPROTO;
	uint8_t nonce[12];
	nonce_bytes(c->nonce, nonce);
	unsigned long long plen;
	int bad;
	if (c->suite == NOISE_SUITE_AESGCM)
		bad = crypto_aead_aes256gcm_decrypt_afternm(rec + 4, &plen, NULL, rec + 4, len - 4,
		                                            rec, 4, nonce, &c->aes);
	else
		bad = crypto_aead_chacha20poly1305_ietf_decrypt(rec + 4, &plen, NULL, rec + 4,
		                                                len - 4, rec, 4, nonce, c->key);
	if (bad)
		return CH_ECRYPTO;
	c->nonce++;
	*pt_len = (size_t)plen;
	return 0;
}
