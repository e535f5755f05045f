/* fuzz_hello: the hello a peer sends inside the handshake, and the PING,
 * PONG and REJECT payloads (proto/hello.c). */
#include "fuzz.h"
#include "hello.h"
#include "wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hello_t h;
	if (hello_decode(data, size, &h) == 0) {
		FUZZ_CHECK(memchr(h.net, 0, sizeof(h.net)) != NULL);
		FUZZ_CHECK(memchr(h.ua, 0, sizeof(h.ua)) != NULL);
		char why[160];
		hello_accept(&h, "main", why, sizeof(why));
		/* what decodes re-encodes and decodes to the same hello */
		uint8_t out[1024];
		size_t len;
		if (hello_encode(&h, out, sizeof(out), &len) == 0) {
			hello_t h2;
			FUZZ_CHECK(hello_decode(out, len, &h2) == 0);
			FUZZ_CHECK(h2.v == h.v && h2.min == h.min && h2.port == h.port &&
			           strcmp(h2.net, h.net) == 0);
		}
	}
	uint64_t n;
	if (ping_decode(data, size, &n) == 0) {
		uint8_t out[64];
		size_t len = ping_encode(n, out, sizeof(out));
		uint64_t n2;
		FUZZ_CHECK(len && ping_decode(out, len, &n2) == 0 && n2 == n);
	}
	char reason[WIRE_REJECT_MAX + 1];
	if (reject_decode(data, size, reason, sizeof(reason)) == 0)
		FUZZ_CHECK(strlen(reason) < sizeof(reason));
	char small[8];
	reject_decode(data, size, small, sizeof(small));
	return 0;
}
