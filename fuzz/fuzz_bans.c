/* fuzz_bans: DATADIR/bans.dat as the transport reads it at start
 * (services/transport/bans.c); the bans loaded are then listed, checked
 * and saved again, and the saved file must load to as many bans. */
#include "../services/transport/transport.h"
#include "clock.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static void count(void *arg, const char *ip, uint64_t until, const char *reason)
{
	FUZZ_CHECK(strlen(ip) < 48 && strlen(reason) < 80 && !strchr(reason, '\n'));
	(*(size_t *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[512];
	fuzz_write_file("bans.dat", data, size, path, sizeof(path));
	tp_bans_t *b = tp_bans_open(fuzz_tmpdir());
	FUZZ_CHECK(b != NULL);
	uint64_t now = ch_wall_ms();
	size_t n = 0;
	tp_bans_list(b, now, count, &n);
	FUZZ_CHECK(n == tp_bans_count(b, now));
	tp_bans_check(b, "10.0.0.1", now);
	/* a change saves the file; the saved file loads the same bans (the
	 * one just removed aside) */
	tp_bans_del(b, "no-such-address");
	tp_bans_add(b, "192.0.2.1", now + 3600 * 1000, "fuzz\nline", false);
	size_t live = tp_bans_count(b, now);
	tp_bans_close(&b);
	b = tp_bans_open(fuzz_tmpdir());
	FUZZ_CHECK(b != NULL);
	FUZZ_CHECK(tp_bans_count(b, now) == live);
	tp_bans_close(&b);
	return 0;
}
