/* fuzz_peers_dat: DATADIR/peers.dat, the operator's connect targets, as
 * the transport reads it at start (targets_load in
 * services/transport/main.c, compiled in here with its main renamed);
 * the targets loaded are saved and loaded again to the same list. */
#define main transport_main
#include "../services/transport/main.c"
#undef main
#include "fuzz.h"

static tp_t *t;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	t = calloc(1, sizeof(*t));
	FUZZ_CHECK(t != NULL);
	snprintf(t->datadir, sizeof(t->datadir), "%s", fuzz_tmpdir());
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[512];
	fuzz_write_file("peers.dat", data, size, path, sizeof(path));
	t->ntargets = 0;
	targets_load(t);
	FUZZ_CHECK(t->ntargets <= TP_SEEN_MAX);
	size_t n = t->ntargets;
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(memchr(t->targets[i].host, 0, sizeof(t->targets[i].host)) != NULL);
		FUZZ_CHECK(t->targets[i].port != 0 && t->targets[i].has_pk);
		FUZZ_CHECK(t->targets[i].kind != TP_KIND_FEELER);
	}
	targets_save(t);
	t->ntargets = 0;
	targets_load(t);
	FUZZ_CHECK(t->ntargets == n);
	return 0;
}
