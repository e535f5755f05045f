/* test_hash.c: published test vectors for BLAKE2b-256, SHA-1 and ed25519
 * (RFC 8032), signature tampering, hex round trips and failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "hash.h"

/* Decodes a hex test vector that must be exactly len bytes. */
static void unhex(void *out, size_t len, const char *hex)
{
	size_t n = 0;

	assert_int_equal(ch_hex_decode(out, len, hex, &n), 0);
	assert_int_equal(n, len);
}

static void assert_hex(const void *bin, size_t len, const char *want)
{
	char buf[256];

	assert_int_equal(ch_hex_encode(buf, sizeof(buf), bin, len), 0);
	assert_string_equal(buf, want);
}

static void test_init(void **state)
{
	(void)state;
	assert_int_equal(ch_crypto_init(), 0);
	assert_int_equal(ch_crypto_init(), 0); /* idempotent */
}

static void test_blake2b256(void **state)
{
	uint8_t out[32], out2[32];
	uint8_t buf[1000];

	(void)state;
	assert_int_equal(ch_blake2b256(out, "", 0), 0);
	assert_hex(out, 32, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
	assert_int_equal(ch_blake2b256(out, NULL, 0), 0);
	assert_hex(out, 32, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
	assert_int_equal(ch_blake2b256(out, "abc", 3), 0);
	assert_hex(out, 32, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
	/* one changed input bit changes the digest */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	assert_int_equal(ch_blake2b256(out, buf, sizeof(buf)), 0);
	buf[500] ^= 1;
	assert_int_equal(ch_blake2b256(out2, buf, sizeof(buf)), 0);
	assert_memory_not_equal(out, out2, 32);
	assert_int_equal(ch_blake2b256(NULL, "abc", 3), CH_EINVAL);
	assert_int_equal(ch_blake2b256(out, NULL, 3), CH_EINVAL);
}

static void test_sha1(void **state)
{
	uint8_t out[20];
	static char million[1000000];

	(void)state;
	assert_int_equal(ch_sha1(out, "abc", 3), 0);
	assert_hex(out, 20, "a9993e364706816aba3e25717850c26c9cd0d89d");
	assert_int_equal(ch_sha1(out, "", 0), 0);
	assert_hex(out, 20, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	assert_int_equal(ch_sha1(out, NULL, 0), 0);
	assert_hex(out, 20, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	/* FIPS 180 vectors: the 448-bit message and one million 'a' */
	assert_int_equal(
	    ch_sha1(out, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56), 0);
	assert_hex(out, 20, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	memset(million, 'a', sizeof(million));
	assert_int_equal(ch_sha1(out, million, sizeof(million)), 0);
	assert_hex(out, 20, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	assert_int_equal(ch_sha1(NULL, "abc", 3), CH_EINVAL);
	assert_int_equal(ch_sha1(out, NULL, 1), CH_EINVAL);
}

/* RFC 8032 section 7.1, TEST 1 and TEST 2. */
static void test_ed25519_rfc8032(void **state)
{
	uint8_t seed[32];
	ch_pubkey_t pk, want_pk, pk2;
	ch_seckey_t sk;
	ch_sig_t sig, want_sig;
	const uint8_t msg2[1] = {0x72};

	(void)state;
	unhex(seed, 32, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
	unhex(want_pk.b, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
	unhex(want_sig.b, 64,
	      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc6"
	      "1e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
	assert_int_equal(ch_ed25519_seed_keypair(&pk, &sk, seed), 0);
	assert_memory_equal(pk.b, want_pk.b, 32);
	assert_memory_equal(sk.b, seed, 32);
	assert_int_equal(ch_ed25519_sk_pubkey(&pk2, &sk), 0);
	assert_memory_equal(pk2.b, want_pk.b, 32);
	assert_int_equal(ch_ed25519_sign(&sig, NULL, 0, &sk), 0);
	assert_memory_equal(sig.b, want_sig.b, 64);
	assert_int_equal(ch_ed25519_sign(&sig, "", 0, &sk), 0);
	assert_memory_equal(sig.b, want_sig.b, 64);
	assert_int_equal(ch_ed25519_verify(&sig, "", 0, &pk), 0);
	assert_int_equal(ch_ed25519_verify(&sig, NULL, 0, &pk), 0);

	/* every flipped bit of the signature fails */
	for (size_t bit = 0; bit < 64 * 8; bit++) {
		ch_sig_t bad = sig;

		bad.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(ch_ed25519_verify(&bad, "", 0, &pk), CH_ECRYPTO);
	}
	/* a different message or a different key fails */
	assert_int_equal(ch_ed25519_verify(&sig, "x", 1, &pk), CH_ECRYPTO);
	pk2 = pk;
	pk2.b[0] ^= 1;
	assert_int_equal(ch_ed25519_verify(&sig, "", 0, &pk2), CH_ECRYPTO);

	/* TEST 2: one-byte message 0x72 */
	unhex(seed, 32, "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
	unhex(want_pk.b, 32, "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
	unhex(want_sig.b, 64,
	      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e1599"
	      "6e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
	assert_int_equal(ch_ed25519_seed_keypair(&pk, &sk, seed), 0);
	assert_memory_equal(pk.b, want_pk.b, 32);
	assert_int_equal(ch_ed25519_sign(&sig, msg2, 1, &sk), 0);
	assert_memory_equal(sig.b, want_sig.b, 64);
	assert_int_equal(ch_ed25519_verify(&sig, msg2, 1, &pk), 0);
	ch_seckey_wipe(&sk);
	for (size_t i = 0; i < sizeof(sk.b); i++)
		assert_int_equal(sk.b[i], 0);
	ch_seckey_wipe(NULL);
}

static void test_ed25519_random(void **state)
{
	ch_pubkey_t pk, pk2;
	ch_seckey_t sk, sk2;
	ch_sig_t sig;
	uint8_t msg[256];
	uint64_t x = 12345;

	(void)state;
	assert_int_equal(ch_ed25519_keypair(&pk, &sk), 0);
	assert_int_equal(ch_ed25519_keypair(&pk2, &sk2), 0);
	assert_memory_not_equal(pk.b, pk2.b, 32);
	for (int round = 0; round < 200; round++) {
		size_t len;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		len = (size_t)(x >> 33) % sizeof(msg);
		for (size_t i = 0; i < len; i++)
			msg[i] = (uint8_t)(x >> (i % 56));
		assert_int_equal(ch_ed25519_sign(&sig, msg, len, &sk), 0);
		assert_int_equal(ch_ed25519_verify(&sig, msg, len, &pk), 0);
		assert_int_equal(ch_ed25519_verify(&sig, msg, len, &pk2), CH_ECRYPTO);
		if (len > 0) {
			msg[(x >> 40) % len] ^= (uint8_t)(1u << (x % 8));
			assert_int_equal(ch_ed25519_verify(&sig, msg, len, &pk), CH_ECRYPTO);
		}
	}
	/* an all-zero public key (a small-order point) is refused */
	memset(&pk2, 0, sizeof(pk2));
	assert_int_equal(ch_ed25519_verify(&sig, msg, 10, &pk2), CH_ECRYPTO);
}

static void test_ed25519_errors(void **state)
{
	ch_pubkey_t pk;
	ch_seckey_t sk;
	ch_sig_t sig;
	uint8_t seed[32] = {0};

	(void)state;
	assert_int_equal(ch_ed25519_keypair(NULL, &sk), CH_EINVAL);
	assert_int_equal(ch_ed25519_keypair(&pk, NULL), CH_EINVAL);
	assert_int_equal(ch_ed25519_seed_keypair(&pk, &sk, NULL), CH_EINVAL);
	assert_int_equal(ch_ed25519_seed_keypair(NULL, &sk, seed), CH_EINVAL);
	assert_int_equal(ch_ed25519_seed_keypair(&pk, &sk, seed), 0);
	assert_int_equal(ch_ed25519_sk_pubkey(NULL, &sk), CH_EINVAL);
	assert_int_equal(ch_ed25519_sk_pubkey(&pk, NULL), CH_EINVAL);
	assert_int_equal(ch_ed25519_sign(NULL, "a", 1, &sk), CH_EINVAL);
	assert_int_equal(ch_ed25519_sign(&sig, NULL, 1, &sk), CH_EINVAL);
	assert_int_equal(ch_ed25519_sign(&sig, "a", 1, NULL), CH_EINVAL);
	assert_int_equal(ch_ed25519_sign(&sig, "a", 1, &sk), 0);
	assert_int_equal(ch_ed25519_verify(NULL, "a", 1, &pk), CH_EINVAL);
	assert_int_equal(ch_ed25519_verify(&sig, NULL, 1, &pk), CH_EINVAL);
	assert_int_equal(ch_ed25519_verify(&sig, "a", 1, NULL), CH_EINVAL);
	assert_int_equal(ch_ed25519_verify(&sig, "a", 1, &pk), 0);
}

static void test_hex_encode(void **state)
{
	const uint8_t bin[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char buf[16];

	(void)state;
	assert_int_equal(ch_hex_encode(buf, sizeof(buf), bin, sizeof(bin)), 0);
	assert_string_equal(buf, "00017f80abff");
	assert_int_equal(ch_hex_encode(buf, 13, bin, sizeof(bin)), 0); /* exact fit */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(ch_hex_encode(buf, 12, bin, sizeof(bin)), CH_ERANGE);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(ch_hex_encode(buf, 0, bin, sizeof(bin)), CH_ERANGE);
	assert_int_equal(ch_hex_encode(buf, 1, NULL, 0), 0);
	assert_string_equal(buf, "");
	assert_int_equal(ch_hex_encode(buf, 0, NULL, 0), CH_ERANGE);
	assert_int_equal(ch_hex_encode(NULL, 16, bin, 1), CH_EINVAL);
	assert_int_equal(ch_hex_encode(buf, 16, NULL, 1), CH_EINVAL);
	/* a length whose doubling overflows */
	assert_int_equal(ch_hex_encode(buf, sizeof(buf), bin, SIZE_MAX / 2 + 1), CH_ERANGE);
}

static void test_hex_decode(void **state)
{
	uint8_t out[8];
	size_t n = 99;

	(void)state;
	assert_int_equal(ch_hex_decode(out, sizeof(out), "00017F80abFF", &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "\x00\x01\x7f\x80\xab\xff", 6);
	assert_int_equal(ch_hex_decode(out, sizeof(out), "", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(ch_hex_decode(NULL, 0, "", &n), 0);
	assert_int_equal(ch_hex_decode(out, sizeof(out), "abcd", NULL), 0);

	/* failures leave out and *len_out untouched */
	memset(out, 0x55, sizeof(out));
	n = 99;
	assert_int_equal(ch_hex_decode(out, sizeof(out), "abc", &n), CH_EPROTO);
	assert_int_equal(ch_hex_decode(out, sizeof(out), "0g", &n), CH_EPROTO);
	assert_int_equal(ch_hex_decode(out, sizeof(out), "zz00", &n), CH_EPROTO);
	assert_int_equal(ch_hex_decode(out, sizeof(out), "00 11", &n), CH_EPROTO);
	assert_int_equal(ch_hex_decode(out, sizeof(out), "0x00", &n), CH_EPROTO);
	assert_int_equal(ch_hex_decode(out, sizeof(out), "-1", &n), CH_EPROTO);
	assert_int_equal(ch_hex_decode(out, sizeof(out), "001122334455667788", &n), CH_ERANGE);
	assert_int_equal(ch_hex_decode(out, 0, "00", &n), CH_ERANGE);
	assert_int_equal(ch_hex_decode(out, sizeof(out), NULL, &n), CH_EINVAL);
	assert_int_equal(ch_hex_decode(NULL, 4, "00", &n), CH_EINVAL);
	assert_int_equal(n, 99);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0x55);
}

static void test_hex_round_trip_random(void **state)
{
	uint8_t in[300], back[300];
	char hex[601];
	uint64_t x = 0xc0ffee;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		size_t len, n = 0;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = (size_t)(x % (sizeof(in) + 1));
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			in[i] = (uint8_t)x;
		}
		assert_int_equal(ch_hex_encode(hex, sizeof(hex), in, len), 0);
		assert_int_equal(strlen(hex), 2 * len);
		assert_int_equal(ch_hex_decode(back, sizeof(back), hex, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(in, back, len);
		if (len > 0) {
			/* too small by one byte */
			assert_int_equal(ch_hex_decode(back, len - 1, hex, &n), CH_ERANGE);
			/* a random character replaced by a non-hex one */
			hex[x % (2 * len)] = (char)("gxz G-:"[x % 7]);
			assert_int_equal(ch_hex_decode(back, sizeof(back), hex, &n), CH_EPROTO);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_blake2b256),
	    cmocka_unit_test(test_sha1),
	    cmocka_unit_test(test_ed25519_rfc8032),
	    cmocka_unit_test(test_ed25519_random),
	    cmocka_unit_test(test_ed25519_errors),
	    cmocka_unit_test(test_hex_encode),
	    cmocka_unit_test(test_hex_decode),
	    cmocka_unit_test(test_hex_round_trip_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
