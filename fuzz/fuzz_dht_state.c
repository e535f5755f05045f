/* fuzz_dht_state: DATADIR/dht.dat, the DHT core's state file, as
 * dht_load reads it (services/discovery/persist.c): nodes, stored items
 * (each checked again: target, signature) and own items.  What loads is
 * saved and loaded again into a fresh core with the same counts. */
#include "dht_setup.h"
#include "fuzz.h"

#define NOW  (1000ull * 1000000000ull)
#define WALL 1700000000000ull

static int no_send(void *arg, const uint8_t *pkt, size_t len, const dht_addr_t *to)
{
	return 0;
}

static dht_t *core(void)
{
	dht_config_t c;
	dht_config_default(&c);
	memset(c.id, 0x5a, sizeof(c.id));
	c.send = no_send;
	dht_t *d = dht_new(&c, NOW);
	FUZZ_CHECK(d != NULL);
	return d;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	if (sodium_init() < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[512];
	fuzz_write_file("dht.dat", data, size, path, sizeof(path));
	dht_t *d = core();
	if (dht_load(d, path, NOW, WALL) == 0) {
		uint32_t own = dht_own_count(d);
		FUZZ_CHECK(own <= DHT_MAX_OWN);
		for (uint32_t i = 0; i < own; i++) {
			const dht_own_t *o = dht_own_at(d, i);
			FUZZ_CHECK(o->item.vlen <= KRPC_V_MAX && o->item.saltlen <= KRPC_SALT_MAX);
			/* reloaded own items are republished within 30 s */
			FUZZ_CHECK(o->next_publish >= NOW &&
			           o->next_publish < NOW + 30ull * 1000000000ull);
		}
		uint32_t nodes = dht_rtable(d)->count;
		FUZZ_CHECK(dht_save(d, path, NOW, WALL) == 0);
		dht_t *e = core();
		FUZZ_CHECK(dht_load(e, path, NOW, WALL) == 0);
		FUZZ_CHECK(dht_own_count(e) == own);
		FUZZ_CHECK(dht_rtable(e)->count == nodes);
		dht_destroy(&e);
	}
	dht_destroy(&d);
	return 0;
}
