/* dht_setup.h: the DHT core the fuzz_dht target feeds, shared with the
 * seed generator so that seeds answer the very queries the core sends
 * (the randomness is a counter: transaction ids repeat from run to run). */
#ifndef CH_FUZZ_DHT_SETUP_H
#define CH_FUZZ_DHT_SETUP_H

#include <arpa/inet.h>
#include <sodium.h>
#include <string.h>

#include "../services/discovery/dht.h"
#include "../services/discovery/krpc.h"

#define FZ_DHT_NBOOT 3
#define FZ_DHT_T0    (1000ull * 1000000000ull)
#define FZ_DHT_OUT   64 /* datagrams remembered */

typedef struct fz_dht {
	dht_t *d;
	uint64_t ctr;
	uint8_t out[FZ_DHT_OUT][KRPC_PKT_MAX];
	size_t outlen[FZ_DHT_OUT];
	dht_addr_t outto[FZ_DHT_OUT];
	size_t nout;
	uint64_t sent;
} fz_dht_t;

static inline dht_addr_t fz_dht_boot(int i)
{
	dht_addr_t a = {.ip = htonl(0x0a000001u + (uint32_t)i), .port = (uint16_t)(6881 + i)};
	return a;
}

static void fz_dht_rand(void *arg, void *buf, size_t n)
{
	fz_dht_t *f = arg;
	uint8_t *b = buf;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(f->ctr++ * 131 + 7);
}

static int fz_dht_send(void *arg, const uint8_t *pkt, size_t len, const dht_addr_t *to)
{
	fz_dht_t *f = arg;
	f->sent++;
	if (f->nout < FZ_DHT_OUT && len <= KRPC_PKT_MAX) {
		memcpy(f->out[f->nout], pkt, len);
		f->outlen[f->nout] = len;
		f->outto[f->nout] = *to;
		f->nout++;
	}
	return 0;
}

static void fz_dht_done(void *arg, const dht_result_t *r)
{
	(void)arg;
	(void)r;
}

/* fz_dht_new: a core that has bootstrapped from three nodes and started a
 * get_peers, a mutable get and an immutable put, all waiting for
 * answers.  The item key is fixed (the seed 0x42...). */
static inline int fz_dht_new(fz_dht_t *f)
{
	memset(f, 0, sizeof(*f));
	dht_config_t c;
	dht_config_default(&c);
	memset(c.id, 0x5a, sizeof(c.id));
	c.send = fz_dht_send;
	c.send_arg = f;
	c.rand = fz_dht_rand;
	c.rand_arg = f;
	f->d = dht_new(&c, FZ_DHT_T0);
	if (!f->d)
		return -1;
	for (int i = 0; i < FZ_DHT_NBOOT; i++) {
		dht_addr_t a = fz_dht_boot(i);
		dht_add_bootstrap(f->d, &a, FZ_DHT_T0);
	}
	dht_bootstrap(f->d, FZ_DHT_T0);
	uint8_t ih[DHT_ID_LEN];
	memset(ih, 0x11, sizeof(ih));
	dht_get_peers(f->d, ih, fz_dht_done, NULL, FZ_DHT_T0, NULL);
	uint8_t pk[32], sk[64], seed[32], target[DHT_ID_LEN];
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	dht_item_target(true, pk, (const uint8_t *)"s", 1, NULL, 0, target);
	dht_get(f->d, target, (const uint8_t *)"s", 1, fz_dht_done, NULL, FZ_DHT_T0, NULL);
	static const uint8_t v[] = "5:hello";
	dht_put_immutable(f->d, v, sizeof(v) - 1, fz_dht_done, NULL, FZ_DHT_T0, target, NULL);
	return 0;
}

#endif
