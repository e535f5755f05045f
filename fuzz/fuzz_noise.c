/* fuzz_noise: the three handshake messages (proto/noise.c) as the
 * transport reads them: the first byte picks the role, the rest is the
 * message.
 *   0: responder reads msg1
 *   1: initiator (after its msg1) reads msg2, length from noise_msg2_len
 *   2: responder (after an honest msg1 and its msg2) reads msg3
 *   3: a record opened with a fixed key (noise_rec_len, noise_open)
 * Random bytes rarely pass the AEAD tags; the seeds hold real messages of
 * the same fixed keys, so mutations reach the checks behind the tags
 * (signatures, hello length, suite) through the length fields. */
#include "fuzz.h"
#include "noise.h"

static ch_identity_t a, b;

static void identity_from(ch_identity_t *id, uint8_t fill)
{
	uint8_t seed[32];
	memset(seed, fill, sizeof(seed));
	crypto_sign_seed_keypair(id->pk.b, id->sk.b, seed);
	memcpy(id->id, id->pk.b, CH_NODE_ID_LEN);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	if (sodium_init() < 0)
		abort();
	identity_from(&a, 0x0a);
	identity_from(&b, 0x0b);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0] % 4;
	const uint8_t *m = data + 1;
	size_t n = size - 1;
	uint8_t ea[32], eb[32];
	memset(ea, 0x1a, sizeof(ea));
	memset(eb, 0x1b, sizeof(eb));
	noise_hs_t ini, res;
	uint8_t m1[NOISE_MSG1_LEN], m2[NOISE_MSG2_MAX];
	size_t m2len;
	const uint8_t *hello;
	size_t hlen;
	static const uint8_t hi[] = "\x81\xa1v\x01";
	switch (mode) {
	case 0:
		noise_init(&res, false, &b, NOISE_SUITE_CHACHA | NOISE_SUITE_AESGCM, eb);
		noise_read_msg1(&res, m, n);
		break;
	case 1: {
		noise_init(&ini, true, &a, NOISE_SUITE_CHACHA, ea);
		noise_write_msg1(&ini, m1);
		size_t need = noise_msg2_len(m, n);
		if (need == 0 || need == SIZE_MAX || need > n)
			break;
		FUZZ_CHECK(need <= NOISE_MSG2_MAX);
		if (noise_read_msg2(&ini, m, need, NULL, &hello, &hlen) == 0) {
			FUZZ_CHECK(hlen <= NOISE_HELLO_MAX);
			uint8_t m3[NOISE_MSG3_MAX];
			size_t m3len;
			noise_cipher_t tx, rx;
			FUZZ_CHECK(noise_write_msg3(&ini, hi, sizeof(hi) - 1, m3, sizeof(m3),
			                            &m3len) == 0);
			FUZZ_CHECK(noise_split(&ini, &tx, &rx) == 0);
		}
		break;
	}
	case 2: {
		noise_init(&ini, true, &a, NOISE_SUITE_CHACHA, ea);
		noise_init(&res, false, &b, NOISE_SUITE_CHACHA, eb);
		noise_write_msg1(&ini, m1);
		FUZZ_CHECK(noise_read_msg1(&res, m1, sizeof(m1)) == 0);
		FUZZ_CHECK(noise_write_msg2(&res, hi, sizeof(hi) - 1, m2, sizeof(m2), &m2len) == 0);
		size_t need = noise_msg3_len(m, n);
		if (need == 0 || need == SIZE_MAX || need > n)
			break;
		FUZZ_CHECK(need <= NOISE_MSG3_MAX);
		if (noise_read_msg3(&res, m, need, &hello, &hlen) == 0) {
			FUZZ_CHECK(hlen <= NOISE_HELLO_MAX);
			noise_cipher_t tx, rx;
			FUZZ_CHECK(noise_split(&res, &tx, &rx) == 0);
		}
		break;
	}
	case 3: {
		noise_cipher_t c = {.suite = NOISE_SUITE_CHACHA};
		memset(c.key, 0x2c, sizeof(c.key));
		size_t need = noise_rec_len(m, n);
		if (need == 0 || need == SIZE_MAX || need > n)
			break;
		FUZZ_CHECK(need <= NOISE_REC_MAX + NOISE_REC_OVERHEAD);
		uint8_t *rec = malloc(need);
		FUZZ_CHECK(rec != NULL);
		memcpy(rec, m, need);
		size_t plen;
		if (noise_open(&c, rec, need, &plen) == 0)
			FUZZ_CHECK(plen + NOISE_REC_OVERHEAD == need);
		free(rec);
		break;
	}
	}
	return 0;
}
