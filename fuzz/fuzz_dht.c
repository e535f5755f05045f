/* fuzz_dht: datagrams into the DHT core (services/discovery/dht.c and the
 * routing table, store, lookups and BEP 44 items behind it), which does
 * no I/O: the input is a sequence of datagrams, each
 *   len (2 bytes, big-endian) | from (1 byte) | wait (1 byte) | datagram
 * from: 0..2 one of the bootstrap nodes the core queried, otherwise
 * 10.1.0.from:from; wait: tenths of a second to advance the clock (and
 * run dht_tick) before the datagram.  Every datagram the core sends in
 * answer must parse as KRPC. */
#include "dht_setup.h"
#include "fuzz.h"

static fz_dht_t fz;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	if (sodium_init() < 0)
		abort();
	return 0;
}

static void check_sent(fz_dht_t *f, size_t from)
{
	for (size_t i = from; i < f->nout; i++) {
		krpc_msg_t m;
		FUZZ_CHECK(krpc_parse(f->out[i], f->outlen[i], &m, NULL) == KRPC_OK);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_dht_new(&fz) != 0)
		abort();
	check_sent(&fz, 0);
	uint64_t now = FZ_DHT_T0;
	size_t off = 0;
	while (size - off >= 4) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		uint8_t from = data[off + 2], wait = data[off + 3];
		off += 4;
		if (len > size - off)
			len = size - off;
		dht_addr_t a;
		if (from < FZ_DHT_NBOOT) {
			a = fz_dht_boot(from);
		} else {
			a.ip = htonl(0x0a010000u | from);
			a.port = from;
		}
		if (wait) {
			now += (uint64_t)wait * 100000000ull;
			dht_tick(fz.d, now);
		}
		size_t before = fz.nout;
		dht_input(fz.d, data + off, len, &a, now);
		check_sent(&fz, before);
		if (fz.nout == FZ_DHT_OUT)
			fz.nout = 0;
		off += len;
	}
	/* long after: every lookup times out and finishes */
	dht_tick(fz.d, now + 60ull * 1000000000ull);
	dht_tick(fz.d, now + 3600ull * 1000000000ull);
	dht_destroy(&fz.d);
	return 0;
}
