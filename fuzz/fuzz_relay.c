/* fuzz_relay: peer messages as relay handles them after decoding
 * (services/relay/: INV, GETDATA with "blktx", NOTFOUND, TX, and BLOCK in
 * its full, compact and "blktxn" forms, i.e. the requests, the in-flight
 * table, compact block reconstruction and the missing-transaction
 * exchange).  Three peers are up; the input is a sequence of
 *   who (1) | type (1) | len (2, big-endian) | bytes
 * who 0..2: a PEER_MSG of that wire type from that peer; 3: a record from
 * the mempool with that tag (TX_ACCEPTED, TX_DATA, ...), as the pool
 * answers; anything else: the clock moves on by type * 10 ms.  After each
 * record the turn ends as in the service loop and the output queues are
 * drained.  The core lives for the whole run (see below): a crash found
 * late may need the inputs before it to reproduce (libFuzzer keeps them
 * in the corpus). */
#include "../services/relay/core.h"
#include "fuzz.h"

#define NPEERS 3

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	if (sodium_init() < 0)
		abort();
	return 0;
}

static void drain(shm_outq_t *q)
{
	uint32_t tag, len;
	const uint8_t *p;
	while (shm_outq_next(q, &tag, &p, &len)) {
		FUZZ_CHECK(tag != 0);
		shm_outq_pop(q);
	}
}

static void turn(rl_core_t *c, uint64_t now)
{
	rl_core_turn_end(c, now);
	drain(rl_core_out_transport(c));
	drain(rl_core_out_mempool(c));
}

static rl_core_t *core;
static uint64_t t_ns = 1000000000ull, hbase;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* one core for the whole run: making one costs ~100 ms under ASan
	 * (its caches are tens of MB); each input starts with fresh peers
	 * after a transport reset, so only the caches (seen, rejects) carry
	 * over, as they do across reconnections in the service */
	if (!core) {
		rl_cfg_t cfg = {.max_peers = 8, .ring_max_msg = 1u << 20};
		memset(cfg.hash_key, 3, sizeof(cfg.hash_key));
		core = rl_core_new(&cfg, t_ns);
		FUZZ_CHECK(core != NULL);
	}
	static const uint8_t none[1];
	rl_core_on_transport(core, CH_TAG_TRANSPORT_RESET, none, 0, t_ns); /* as a ring hands it */
	turn(core, t_ns);
	hbase += NPEERS;
	for (uint64_t h = 1; h <= NPEERS; h++) {
		ch_msg_peer_up_t m = {.peer = hbase + h,
		                      .inbound = h == 1,
		                      .flags = h == 3 ? CH_PEER_BLOCK_RELAY : 0};
		snprintf(m.addr, sizeof(m.addr), "10.0.0.%u:7000", (unsigned)h);
		m.pubkey[0] = (uint8_t)h;
		rl_core_on_transport(core, CH_TAG_PEER_UP, (const uint8_t *)&m, sizeof(m), t_ns);
	}
	turn(core, t_ns);
	static uint8_t rec[sizeof(ch_msg_peer_msg_t) + 65536];
	size_t off = 0;
	while (size - off >= 4) {
		uint8_t who = data[off], type = data[off + 1];
		size_t len = (size_t)data[off + 2] << 8 | data[off + 3];
		off += 4;
		if (len > size - off)
			len = size - off;
		if (who < NPEERS) {
			ch_msg_peer_msg_t m = {.peer = hbase + who + 1, .type = type};
			memcpy(rec, &m, sizeof(m));
			memcpy(rec + sizeof(m), data + off, len);
			if (rl_core_can_take_transport(core))
				rl_core_on_transport(core, CH_TAG_PEER_MSG, rec,
				                     (uint32_t)(sizeof(m) + len), t_ns);
		} else if (who == NPEERS) {
			if (rl_core_can_take_mempool(core))
				rl_core_on_mempool(core, type, data + off, (uint32_t)len, t_ns);
		} else {
			t_ns += (uint64_t)type * 10000000ull;
		}
		off += len;
		turn(core, t_ns);
	}
	t_ns += 60ull * 1000000000ull; /* every request times out */
	turn(core, t_ns);
	return 0;
}
