/* evil_peer: a transport client that misbehaves on purpose, for the
 * integration tests (tests/integration/transport_*.sh).  It speaks the real
 * handshake (proto/noise.c) with a throwaway identity, then
 * does one wrong thing and reports how the node reacted.
 *
 *   evil_peer MODE HOST PORT [--src IP] [--net NAME] [--count N] [--secs S]
 *
 * (capture: evil_peer capture HOST PORT --lport LISTENPORT --out FILE)
 * MODE: garbage | slowloris | truncated | wrongnet | oldversion | oversized
 *       | badcrc | badtag | pingflood | unknowntype | txflood | refused | hold
 *       | hsflood (--count connections that never start a handshake)
 *       | capture | peerflood (listens on HOST PORT; answers GETPEERS with
 *       --count addresses of one /16) | peersflood (--count unsolicited PEERS)
 *       relay messages after the handshake (docs/protocol.md section 3):
 *       | invflood (INVs of WIRE_INV_IDS_MAX random ids, --count messages)
 *       | nodeliver (announces --count ids, never answers the GETDATAs)
 *       | unrequested (pushes --count valid transactions nobody asked for)
 *       | getdataunknown (--count GETDATAs of WIRE_INV_IDS_MAX unknown ids)
 *       | oversizedinv (INVs of one id too many) | badblock (a block, bad signature)
 *       each waits for the node to score it into a ban (the connection
 *       closes) while answering PINGs.
 *       | neverread: two connections: a spy that reads and collects the
 *       transaction ids the node announces, and a peer that never reads
 *       its socket while it sends two GETDATAs of those ids (each once per
 *       message) every 100 ms and a PING every second (within every
 *       limit); exit 0 once the node closed the reader-less one (within
 *       --secs).
 *       | norelay: (with --svc 0) reads for --secs, answering PINGs, and
 *       counts the INVs the node sends (none expected); also checks that
 *       the node's hello carries the wall clock of this handshake
 *       | noping: reads everything, never answers a PING, sends its own
 *       PING every 500 ms (never idle); exit 0 once the node closed it
 *       within --secs
 *       | trickle: a 32 KB TX frame every 50 ms (20/s) for --secs, never
 *       faster (what an honest peer within its limits does); exit 0 if
 *       the node kept the connection.
 *       | silent: after the handshake sends nothing at all (not even a
 *       PONG) and reads; exit 0 once the node closed it within --secs
 *       | noread: after the handshake never reads its socket (a 4 KiB
 *       receive buffer, so the kernel holds little for it) and sends
 *       nothing; exit 0 once the node closed it within --secs
 *       | rateflood: --count frames of a type the node does not know (it
 *       skips them, so only the rate limits see them) with --len payload
 *       bytes each, as fast as the socket takes them; exit 0 once the
 *       node closed the connection (within 10 s of the last frame)
 * Exit 0 when the node reacted as expected (printed on stdout), 1 if not,
 * 2 on a local error.  `capture LISTENPORT` is a TCP proxy that writes every
 * byte it forwards to --out FILE; `hold` keeps --count handshaken
 * connections open for --secs seconds, answering pings, and prints how many
 * the node closed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "hash.h"
#include "hello.h"
#include "identity.h"
#include "tx.h"
#include "block.h"
#include "inv.h"
#include "noise.h"
#include "wire.h"

static const char *host = "127.0.0.1", *src = NULL, *net = "main", *outfile = NULL;
static int port, count = 20, secs = 10, lport, svc_bits = HELLO_SVC_RELAY, flen = 16;
static int rcvbuf; /* SO_RCVBUF of our sockets (0: the kernel's) */

static int dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	/* before connect, so the window the node sees is small from the start */
	if (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0) {
		close(fd);
		return -1;
	}
	if (src) {
		struct sockaddr_in s = {.sin_family = AF_INET};
		inet_pton(AF_INET, src, &s.sin_addr);
		if (bind(fd, (struct sockaddr *)&s, sizeof(s)) != 0) {
			perror("bind");
			close(fd);
			return -1;
		}
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, host, &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* wait_closed: true if the node closes the connection within ms. */
static bool wait_closed(int fd, int ms)
{
	uint64_t end = ch_mono_ns() + (uint64_t)ms * 1000000ULL;
	uint8_t buf[4096];
	while (ch_mono_ns() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) > 0) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n == 0 || (n < 0 && errno == ECONNRESET))
				return true;
		}
	}
	return false;
}

static bool read_exact(int fd, uint8_t *buf, size_t n, int ms)
{
	size_t got = 0;
	uint64_t end = ch_mono_ns() + (uint64_t)ms * 1000000ULL;
	while (got < n && ch_mono_ns() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t k = read(fd, buf + got, n - got);
		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return got == n;
}

typedef struct sess {
	int fd;
	ch_identity_t id;
	noise_hs_t hs;
	noise_cipher_t tx, rx;
	uint8_t magic[4];
	uint64_t peer_t; /* the node's hello: its wall clock when it answered */
} sess_t;

static size_t hello(uint8_t *out, size_t cap, const char *network, uint64_t v, uint64_t min)
{
	hello_t h = {.v = v, .min = min, .svc = (uint64_t)svc_bits, .port = 1, .t = ch_wall_ms()};
	size_t n;
	snprintf(h.net, sizeof(h.net), "%s", network);
	snprintf(h.ua, sizeof(h.ua), "evil_peer/1");
	return hello_encode(&h, out, cap, &n) == 0 ? n : 0;
}

/* handshake: the three messages as initiator.  true when done. */
static bool handshake(sess_t *s, const char *network, uint64_t v, uint64_t min)
{
	uint8_t seed[32];
	randombytes_buf(seed, sizeof(seed));
	ch_ed25519_seed_keypair(&s->id.pk, &s->id.sk, seed);
	wire_magic(network, s->magic);
	s->fd = dial();
	if (s->fd < 0)
		return false;
	noise_init(&s->hs, true, &s->id, noise_suites_local(false), NULL);
	uint8_t m1[NOISE_MSG1_LEN], m2[NOISE_MSG2_MAX], m3[NOISE_MSG3_MAX], h[256];
	noise_write_msg1(&s->hs, m1);
	if (write(s->fd, m1, sizeof(m1)) != (ssize_t)sizeof(m1) || !read_exact(s->fd, m2, 35, 5000))
		return false;
	size_t l2 = noise_msg2_len(m2, 35);
	if (l2 == 0 || l2 == SIZE_MAX || !read_exact(s->fd, m2 + 35, l2 - 35, 5000))
		return false;
	const uint8_t *rh;
	size_t rhl, l3;
	if (noise_read_msg2(&s->hs, m2, l2, NULL, &rh, &rhl) != 0)
		return false;
	hello_t nh;
	if (hello_decode(rh, rhl, &nh) == 0)
		s->peer_t = nh.t;
	size_t hl = hello(h, sizeof(h), network, v, min);
	if (noise_write_msg3(&s->hs, h, hl, m3, sizeof(m3), &l3) != 0 ||
	    write(s->fd, m3, l3) != (ssize_t)l3)
		return false;
	return noise_split(&s->hs, &s->tx, &s->rx) == 0;
}

static bool send_plain(sess_t *s, const uint8_t *pt, size_t len, bool break_tag)
{
	uint8_t rec[NOISE_REC_MAX + NOISE_REC_OVERHEAD];
	size_t n = noise_seal(&s->tx, pt, len, rec);
	if (break_tag)
		rec[n - 1] ^= 0x55;
	return write(s->fd, rec, n) == (ssize_t)n;
}

static size_t frame(sess_t *s, uint8_t *out, uint8_t type, const void *payload, uint32_t len)
{
	wire_put_hdr(out, s->magic, type, payload, len);
	memcpy(out + WIRE_HDR_LEN, payload, len);
	return WIRE_HDR_LEN + len;
}

/* next_frame: reads records until one frame of `want` type (0: any) comes;
 * copies its payload.  Returns the type, 0 on close or timeout. */
static int next_frame(sess_t *s, int want, char *payload, size_t cap, int ms)
{
	static uint8_t pbuf[1 << 20];
	static size_t plen;
	uint64_t end = ch_mono_ns() + (uint64_t)ms * 1000000ULL;
	for (;;) {
		while (plen >= WIRE_HDR_LEN) {
			wire_hdr_t h;
			if (wire_get_hdr(pbuf, s->magic, 1 << 20, &h) != 0)
				return 0;
			if (plen < WIRE_HDR_LEN + h.len)
				break;
			int t = h.type;
			size_t k = h.len < cap - 1 ? h.len : cap - 1;
			memcpy(payload, pbuf + WIRE_HDR_LEN, k);
			payload[k] = 0;
			memmove(pbuf, pbuf + WIRE_HDR_LEN + h.len, plen - WIRE_HDR_LEN - h.len);
			plen -= WIRE_HDR_LEN + h.len;
			if (!want || t == want)
				return t;
		}
		uint8_t hdr[4];
		int left = (int)((end - ch_mono_ns()) / 1000000);
		if (left <= 0 || ch_mono_ns() > end || !read_exact(s->fd, hdr, 4, left))
			return 0;
		size_t rl = noise_rec_len(hdr, 4);
		static uint8_t rec[NOISE_REC_MAX + NOISE_REC_OVERHEAD];
		if (rl == SIZE_MAX || rl == 0)
			return 0;
		memcpy(rec, hdr, 4);
		if (!read_exact(s->fd, rec + 4, rl - 4, 5000))
			return 0;
		size_t ptl;
		if (noise_open(&s->rx, rec, rl, &ptl) != 0 || plen + ptl > sizeof(pbuf))
			return 0;
		memcpy(pbuf + plen, rec + 4, ptl);
		plen += ptl;
	}
}

static int result(bool ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "UNEXPECTED", what);
	return ok ? 0 : 1;
}

static int run_capture(int listen_port)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)listen_port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 4) != 0) {
		perror("capture: bind");
		return 2;
	}
	FILE *out = fopen(outfile ? outfile : "/dev/null", "wb");
	if (!out)
		return 2;
	printf("capture: listening on %d\n", listen_port);
	fflush(stdout);
	uint64_t end = ch_mono_ns() + (uint64_t)secs * 1000000000ULL;
	struct pollfd lp = {.fd = l, .events = POLLIN};
	if (poll(&lp, 1, secs * 1000) <= 0)
		return result(false, "no connection to capture");
	int c = accept(l, NULL, NULL), u = dial();
	if (c < 0 || u < 0)
		return 2;
	uint64_t bytes = 0;
	while (ch_mono_ns() < end) {
		struct pollfd p[2] = {{.fd = c, .events = POLLIN}, {.fd = u, .events = POLLIN}};
		if (poll(p, 2, 100) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			uint8_t buf[65536];
			ssize_t n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0)
				goto done;
			fwrite(buf, 1, (size_t)n, out);
			bytes += (uint64_t)n;
			if (write(i == 0 ? u : c, buf, (size_t)n) != n)
				goto done;
		}
	}
done:
	fclose(out);
	printf("capture: %llu bytes\n", (unsigned long long)bytes);
	return bytes > 0 ? 0 : 1;
}

/* run_hsflood: opens --count connections from --src and never starts a
 * handshake, holding them --secs seconds; prints how many the node still
 * kept open after one second (the others it refused at once). */
static int run_hsflood(void)
{
	int *fd = calloc((size_t)count, sizeof(int));
	int open_n = 0;
	for (int i = 0; i < count; i++)
		fd[i] = dial();
	usleep(1000000);
	for (int i = 0; i < count; i++) {
		if (fd[i] < 0)
			continue;
		struct pollfd p = {.fd = fd[i], .events = POLLIN};
		char c;
		bool closed = poll(&p, 1, 0) > 0 && recv(fd[i], &c, 1, MSG_DONTWAIT) <= 0;
		open_n += !closed;
	}
	printf("hsflood: %d of %d still open\n", open_n, count);
	fflush(stdout);
	if (secs > 1)
		sleep((unsigned)secs - 1);
	for (int i = 0; i < count; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	free(fd);
	return 0;
}

static int run_hold(void)
{
	sess_t *s = calloc((size_t)count, sizeof(*s));
	bool *closed = calloc((size_t)count, sizeof(bool));
	int up = 0;
	for (int i = 0; i < count; i++) {
		if (handshake(&s[i], net, 1, 1))
			up++;
		else
			closed[i] = true;
		usleep(20000);
	}
	printf("hold: %d of %d connected\n", up, count);
	fflush(stdout);
	uint64_t end = ch_mono_ns() + (uint64_t)secs * 1000000000ULL;
	while (ch_mono_ns() < end) {
		for (int i = 0; i < count; i++) {
			if (closed[i])
				continue;
			struct pollfd p = {.fd = s[i].fd, .events = POLLIN};
			if (poll(&p, 1, 0) <= 0)
				continue;
			char pl[256];
			int t = next_frame(&s[i], 0, pl, sizeof(pl), 200);
			if (t == 0) {
				closed[i] = true;
				printf("hold: connection %d closed by the node\n", i);
				fflush(stdout);
			} else if (t == WIRE_PING) {
				uint8_t f[300];
				size_t n = frame(&s[i], f, WIRE_PONG, pl, (uint32_t)strlen(pl));
				send_plain(&s[i], f, n, false);
			}
		}
		usleep(10000);
	}
	int nclosed = 0;
	for (int i = 0; i < count; i++) {
		nclosed += closed[i];
		if (s[i].fd > 0)
			close(s[i].fd);
	}
	printf("hold: %d closed\n", nclosed);
	fflush(stdout);
	free(s);
	free(closed);
	return 0;
}

/* send_frame: one frame of any size, cut into records of at most
 * NOISE_REC_MAX plaintext bytes.  false once the node closed. */
static bool send_frame(sess_t *s, uint8_t type, const uint8_t *payload, uint32_t len)
{
	static uint8_t buf[WIRE_HDR_LEN + (1 << 20)];
	size_t n = frame(s, buf, type, payload, len);
	for (size_t off = 0; off < n; off += NOISE_REC_MAX) {
		size_t k = n - off < NOISE_REC_MAX ? n - off : NOISE_REC_MAX;
		if (!send_plain(s, buf + off, k, false))
			return false;
	}
	return true;
}

/* closed_soon: true if the node closes within ms, answering its PINGs
 * meanwhile (so only the relay's scoring can end the connection). */
static bool closed_soon(sess_t *s, int ms)
{
	uint64_t end = ch_mono_ns() + (uint64_t)ms * 1000000ULL;
	char pl[64 * 1024];
	while (ch_mono_ns() < end) {
		int left = (int)((end - ch_mono_ns()) / 1000000);
		int t = next_frame(s, 0, pl, sizeof(pl), left > 0 ? left : 1);
		if (t == 0)
			return ch_mono_ns() < end;
		if (t == WIRE_PING) {
			uint8_t f[128];
			size_t n = frame(s, f, WIRE_PONG, pl, (uint32_t)strnlen(pl, 64));
			send_plain(s, f, n, false);
		}
	}
	return false;
}

/* random_inv: an INV of n random ids (n may exceed what a node accepts). */
static size_t random_inv(uint8_t *out, size_t cap, uint32_t n)
{
	static uint8_t ids[(WIRE_INV_IDS_MAX + 1) * 32];
	randombytes_buf(ids, 32 * (size_t)n);
	return rl_inv_encode(out, cap, ids, n, NULL, 0);
}

static int run_relay_mode(sess_t *s, const char *mode)
{
	static const char *const modes[] = {"invflood",  "getdataunknown", "oversizedinv",
	                                    "nodeliver", "unrequested",    "badblock"};
	bool ours = false;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		ours = ours || !strcmp(mode, modes[i]);
	if (!ours)
		return -1; /* a transport mode: handled by main */
	static uint8_t pl[256 * 1024];
	struct timeval tv = {.tv_sec = 5};
	setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int sent = 0;
	if (!strcmp(mode, "invflood") || !strcmp(mode, "getdataunknown") ||
	    !strcmp(mode, "oversizedinv")) {
		bool over = !strcmp(mode, "oversizedinv");
		uint8_t type = !strcmp(mode, "getdataunknown") ? WIRE_GETDATA : WIRE_INV;
		for (; sent < count; sent++) {
			size_t n = random_inv(pl, sizeof(pl), WIRE_INV_IDS_MAX + (over ? 1 : 0));
			if (!send_frame(s, type, pl, (uint32_t)n))
				break;
		}
		printf("%s: sent %d messages\n", mode, sent);
	} else if (!strcmp(mode, "nodeliver")) {
		for (int left = count; left > 0; left -= WIRE_INV_IDS_MAX, sent++) {
			size_t n =
			    random_inv(pl, sizeof(pl),
			               left > WIRE_INV_IDS_MAX ? WIRE_INV_IDS_MAX : (uint32_t)left);
			if (!send_frame(s, WIRE_INV, pl, (uint32_t)n))
				break;
		}
		printf("nodeliver: announced %d ids in %d INVs, answering nothing\n", count, sent);
	} else if (!strcmp(mode, "unrequested")) {
		ch_pubkey_t pk;
		ch_seckey_t sk;
		uint8_t enc[512], seed[32];
		for (; sent < count; sent++) {
			if (sent % 50 == 0) { /* under the pool's per-sender limit */
				randombytes_buf(seed, sizeof(seed));
				ch_ed25519_seed_keypair(&pk, &sk, seed);
			}
			size_t el;
			uint8_t data[16];
			randombytes_buf(data, sizeof(data));
			if (mp_tx_encode(enc, sizeof(enc), &sk, (uint64_t)sent, 20000, data,
			                 sizeof(data), &el, NULL) != 0)
				return 2;
			size_t n = rl_tx_encode(pl, sizeof(pl), enc, (uint32_t)el);
			if (!send_frame(s, WIRE_TX, pl, (uint32_t)n))
				break;
		}
		printf("unrequested: pushed %d transactions\n", sent);
	} else if (!strcmp(mode, "badblock")) {
		ch_pubkey_t pk;
		ch_seckey_t sk;
		uint8_t seed[32], txs[3 * 32];
		randombytes_buf(seed, sizeof(seed));
		randombytes_buf(txs, sizeof(txs));
		ch_ed25519_seed_keypair(&pk, &sk, seed);
		rl_block_t b = {.v = RL_BLOCK_VERSION, .height = 7, .ntx = 3, .txs = txs};
		if (rl_block_sign(&b, &sk) != 0)
			return 2;
		b.sig[5] ^= 0x40; /* the signature no longer verifies */
		size_t n = rl_block_msg_full(&b, pl, sizeof(pl));
		sent = send_frame(s, WIRE_BLOCK, pl, (uint32_t)n);
		printf("badblock: sent a block with a bad signature\n");
	} else {
		return -1;
	}
	return result(closed_soon(s, secs * 1000), "the node scored us into a ban and closed");
}

/* ---------------------------------------------------------------- peerflood
 * peerflood HOST PORT: listens on HOST:PORT like a node (the responder's
 * side of the handshake) for --secs seconds; every GETPEERS it receives is
 * answered with a PEERS of --count addresses (at most what 16 KiB holds)
 * all in one /16, 127.99.x.y, on port 65002 where nothing listens.  Answers
 * PINGs.  Exit 0 once it answered at least one GETPEERS. */
#define PF_MAX_SESS 8

typedef struct pf_sess {
	sess_t s;
	bool up;
	uint8_t buf[64 * 1024 + NOISE_REC_OVERHEAD]; /* records not yet opened */
	size_t len;
	uint8_t pt[128 * 1024]; /* plaintext not yet a whole frame */
	size_t plen;
} pf_sess_t;

/* pf_accept: the responder's three steps, blocking with timeouts. */
static bool pf_accept(pf_sess_t *ps, int fd)
{
	uint8_t seed[32], m1[NOISE_MSG1_LEN], m2[NOISE_MSG2_MAX], m3[NOISE_MSG3_MAX], h[256];
	size_t l2, l3, hl, rhl;
	const uint8_t *rh;

	memset(ps, 0, sizeof(*ps));
	ps->s.fd = fd;
	randombytes_buf(seed, sizeof(seed));
	ch_ed25519_seed_keypair(&ps->s.id.pk, &ps->s.id.sk, seed);
	wire_magic(net, ps->s.magic);
	noise_init(&ps->s.hs, false, &ps->s.id, noise_suites_local(false), NULL);
	hl = hello(h, sizeof(h), net, 1, 1);
	if (!read_exact(fd, m1, sizeof(m1), 5000) || noise_read_msg1(&ps->s.hs, m1, sizeof(m1)) ||
	    noise_write_msg2(&ps->s.hs, h, hl, m2, sizeof(m2), &l2) ||
	    write(fd, m2, l2) != (ssize_t)l2 || !read_exact(fd, m3, 2, 5000))
		return false;
	l3 = noise_msg3_len(m3, 2);
	if (l3 == 0 || l3 == SIZE_MAX || l3 > sizeof(m3) || !read_exact(fd, m3 + 2, l3 - 2, 5000) ||
	    noise_read_msg3(&ps->s.hs, m3, l3, &rh, &rhl) != 0)
		return false;
	ps->up = noise_split(&ps->s.hs, &ps->s.tx, &ps->s.rx) == 0;
	return ps->up;
}

/* pf_peers: the PEERS payload: {"a": [bin6 x n]}, n capped to 16 KiB. */
static size_t pf_peers(uint8_t *out, int n)
{
	size_t o = 0;
	if (n > 2000)
		n = 2000; /* 8 bytes each: 2000 fit in 16 KiB */
	out[o++] = 0x81;
	out[o++] = 0xa1;
	out[o++] = 'a';
	out[o++] = 0xdd;
	for (int k = 3; k >= 0; k--)
		out[o++] = (uint8_t)((uint32_t)n >> (8 * k));
	for (int i = 0; i < n; i++) {
		out[o++] = 0xc4;
		out[o++] = 6;
		out[o++] = 127;
		out[o++] = 99;
		out[o++] = (uint8_t)(1 + i / 250);
		out[o++] = (uint8_t)(1 + i % 250);
		out[o++] = 65002 >> 8;
		out[o++] = 65002 & 0xff;
	}
	return o;
}

/* pf_input: records into plaintext, whole frames acted on.  Returns how
 * many GETPEERS it answered, or -1 once the connection is gone. */
static int pf_input(pf_sess_t *ps)
{
	static uint8_t pl[16 * 1024 + 64];
	ssize_t r = read(ps->s.fd, ps->buf + ps->len, sizeof(ps->buf) - ps->len);
	int answered = 0;

	if (r <= 0)
		return -1;
	ps->len += (size_t)r;
	for (;;) {
		size_t rl = noise_rec_len(ps->buf, ps->len), ptl;
		if (rl == SIZE_MAX)
			return -1;
		if (rl == 0 || rl > ps->len)
			break;
		if (noise_open(&ps->s.rx, ps->buf, rl, &ptl) != 0 ||
		    ps->plen + ptl > sizeof(ps->pt))
			return -1;
		memcpy(ps->pt + ps->plen, ps->buf + NOISE_REC_HDR, ptl);
		ps->plen += ptl;
		memmove(ps->buf, ps->buf + rl, ps->len - rl);
		ps->len -= rl;
	}
	while (ps->plen >= WIRE_HDR_LEN) {
		wire_hdr_t h;
		if (wire_get_hdr(ps->pt, ps->s.magic, 1 << 20, &h) != 0)
			return -1;
		if (ps->plen < WIRE_HDR_LEN + h.len)
			break;
		if (h.type == WIRE_PING) {
			send_frame(&ps->s, WIRE_PONG, ps->pt + WIRE_HDR_LEN, h.len);
		} else if (h.type == WIRE_GETPEERS) {
			size_t n = pf_peers(pl, count);
			if (send_frame(&ps->s, WIRE_PEERS, pl, (uint32_t)n))
				answered++;
		}
		memmove(ps->pt, ps->pt + WIRE_HDR_LEN + h.len, ps->plen - WIRE_HDR_LEN - h.len);
		ps->plen -= WIRE_HDR_LEN + h.len;
	}
	return answered;
}

/* run_peersflood: after the handshake (as initiator), --count unsolicited
 * PEERS of 10 addresses each in 127.98/16, back to back; then answers
 * PINGs for 2 s so only the node's limits end the connection.  The node
 * must drop and score the excess (transport) and take at most its token
 * bucket's worth of addresses (discovery). */
static int run_peersflood(sess_t *s)
{
	uint8_t pl[128];
	size_t o = 0;
	int sent = 0;

	signal(SIGPIPE, SIG_IGN);
	pl[o++] = 0x81;
	pl[o++] = 0xa1;
	pl[o++] = 'a';
	pl[o++] = 0x9a; /* fixarray of 10 */
	for (int i = 0; i < 10; i++) {
		const uint8_t e[8] = {0xc4,       6,           127, 98, 0, (uint8_t)(i + 1),
		                      65002 >> 8, 65002 & 0xff};
		memcpy(pl + o, e, sizeof(e));
		o += sizeof(e);
	}
	for (; sent < count; sent++)
		if (!send_frame(s, WIRE_PEERS, pl, (uint32_t)o))
			break;
	printf("peersflood: sent %d unsolicited PEERS\n", sent);
	fflush(stdout);
	closed_soon(s, 2000);
	return result(sent > 0, "peersflood: sent");
}

static int run_peerflood(void)
{
	static pf_sess_t ss[PF_MAX_SESS];
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1, answered = 0;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

	signal(SIGPIPE, SIG_IGN);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, host, &a.sin_addr);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 16) != 0) {
		perror("peerflood: bind");
		return 2;
	}
	printf("peerflood: listening on %s:%d\n", host, port);
	fflush(stdout);
	uint64_t end = ch_mono_ns() + (uint64_t)secs * 1000000000ULL;
	while (ch_mono_ns() < end) {
		struct pollfd p[PF_MAX_SESS + 1] = {{.fd = l, .events = POLLIN}};
		for (int i = 0; i < PF_MAX_SESS; i++)
			p[i + 1] =
			    (struct pollfd){.fd = ss[i].up ? ss[i].s.fd : -1, .events = POLLIN};
		if (poll(p, PF_MAX_SESS + 1, 100) <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			int c = accept(l, NULL, NULL), k = 0;
			while (k < PF_MAX_SESS && ss[k].up)
				k++;
			if (c >= 0 && (k == PF_MAX_SESS || !pf_accept(&ss[k], c)))
				close(c);
		}
		for (int i = 0; i < PF_MAX_SESS; i++) {
			if (!ss[i].up || !(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			int n = pf_input(&ss[i]);
			if (n < 0) {
				close(ss[i].s.fd);
				ss[i].up = false;
			} else if (n > 0) {
				answered += n;
				printf("peerflood: answered GETPEERS %d with %d addresses in "
				       "127.99/16\n",
				       answered, count > 2000 ? 2000 : count);
				fflush(stdout);
			}
		}
	}
	return result(answered > 0, "peerflood: answered GETPEERS with one group's addresses");
}

/* ---------------------------------------------------------------- neverread */
#define NR_IDS_MAX 20000

static uint8_t nr_ids[NR_IDS_MAX][32];
static size_t nr_nids;

/* nr_spy_input: reads what the spy has, answers PINGs and collects the
 * ids of every INV.  -1 once the connection is gone. */
static int nr_spy_input(pf_sess_t *ps)
{
	static rl_inv_t inv;
	ssize_t r = read(ps->s.fd, ps->buf + ps->len, sizeof(ps->buf) - ps->len);
	if (r <= 0)
		return r < 0 && errno == EAGAIN ? 0 : -1;
	ps->len += (size_t)r;
	for (;;) {
		size_t rl = noise_rec_len(ps->buf, ps->len), ptl;
		if (rl == SIZE_MAX)
			return -1;
		if (rl == 0 || rl > ps->len)
			break;
		if (noise_open(&ps->s.rx, ps->buf, rl, &ptl) != 0 ||
		    ps->plen + ptl > sizeof(ps->pt))
			return -1;
		memcpy(ps->pt + ps->plen, ps->buf + NOISE_REC_HDR, ptl);
		ps->plen += ptl;
		memmove(ps->buf, ps->buf + rl, ps->len - rl);
		ps->len -= rl;
	}
	while (ps->plen >= WIRE_HDR_LEN) {
		wire_hdr_t h;
		if (wire_get_hdr(ps->pt, ps->s.magic, 1 << 20, &h) != 0)
			return -1;
		if (ps->plen < WIRE_HDR_LEN + h.len)
			break;
		const uint8_t *pl = ps->pt + WIRE_HDR_LEN;
		if (h.type == WIRE_PING)
			send_frame(&ps->s, WIRE_PONG, pl, h.len);
		else if (h.type == WIRE_INV && rl_inv_decode(pl, h.len, &inv) == 0)
			for (uint32_t i = 0; i < inv.ntx && nr_nids < NR_IDS_MAX; i++)
				memcpy(nr_ids[nr_nids++], inv.tx[i], 32);
		memmove(ps->pt, ps->pt + WIRE_HDR_LEN + h.len, ps->plen - WIRE_HDR_LEN - h.len);
		ps->plen -= WIRE_HDR_LEN + h.len;
	}
	return 0;
}

/* nr_seal: one frame into records appended to out (room checked by the
 * caller). */
static size_t nr_seal(sess_t *s, uint8_t *out, uint8_t type, const uint8_t *pl, uint32_t len)
{
	static uint8_t fb[WIRE_HDR_LEN + 64 * 1024];
	size_t n = frame(s, fb, type, pl, len), o = 0;
	for (size_t off = 0; off < n; off += NOISE_REC_MAX) {
		size_t k = n - off < NOISE_REC_MAX ? n - off : NOISE_REC_MAX;
		o += noise_seal(&s->tx, fb + off, k, out + o);
	}
	return o;
}

/* nr_closed: the node closed (or reset) the connection. */
static bool nr_closed(int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) != 0 ||
	       ti.tcpi_state != TCP_ESTABLISHED;
}

static int run_neverread(void)
{
	static pf_sess_t spy;
	static uint8_t ob[8 * 64 * 1024], pl[64 * 1024];
	sess_t slow = {0};
	size_t ol = 0, oo = 0, next = 0;
	uint64_t rounds = 0, sent = 0;

	if (!handshake(&spy.s, net, 1, 1) || !handshake(&slow, net, 1, 1))
		return result(false, "neverread: handshake failed");
	spy.up = true;
	fcntl(spy.s.fd, F_SETFL, fcntl(spy.s.fd, F_GETFL) | O_NONBLOCK);
	fcntl(slow.fd, F_SETFL, fcntl(slow.fd, F_GETFL) | O_NONBLOCK);
	printf("neverread: spy and reader-less peer connected\n");
	fflush(stdout);
	uint64_t start = ch_mono_ns(), end = start + (uint64_t)secs * 1000000000ULL;
	uint64_t next_round = start;
	while (ch_mono_ns() < end) {
		struct pollfd p = {.fd = spy.s.fd, .events = POLLIN};
		if (poll(&p, 1, 10) > 0 && nr_spy_input(&spy) < 0)
			return result(false, "neverread: the node closed the spy");
		if (nr_closed(slow.fd)) {
			printf("neverread: the node closed the reader-less peer after %.1f s "
			       "(%llu rounds, %llu bytes sent, %zu ids known)\n",
			       (double)(ch_mono_ns() - start) / 1e9, (unsigned long long)rounds,
			       (unsigned long long)sent, nr_nids);
			return result(true, "neverread: the reader-less peer was disconnected");
		}
		uint64_t now = ch_mono_ns();
		if (oo == ol && now >= next_round) { /* GETDATAs, 100 ms apart */
			next_round = now + 100000000ULL;
			ol = oo = 0;
			size_t n;
			if (rounds % 10 == 0) { /* a PING a second: under the 2/s limit */
				n = ping_encode(now, pl, sizeof(pl));
				ol += nr_seal(&slow, ob + ol, WIRE_PING, pl, (uint32_t)n);
			}
			for (int k = 0; k < 2 && nr_nids; k++) {
				uint32_t c = nr_nids < WIRE_INV_IDS_MAX ? (uint32_t)nr_nids
				                                        : WIRE_INV_IDS_MAX;
				static uint8_t ids[WIRE_INV_IDS_MAX * 32];
				for (uint32_t i = 0; i < c; i++, next++)
					memcpy(ids + 32 * i, nr_ids[next % nr_nids], 32);
				n = rl_inv_encode(pl, sizeof(pl), ids, c, NULL, 0);
				ol += nr_seal(&slow, ob + ol, WIRE_GETDATA, pl, (uint32_t)n);
			}
			rounds++;
		}
		while (oo < ol) {
			ssize_t w = write(slow.fd, ob + oo, ol - oo);
			if (w <= 0)
				break;
			oo += (size_t)w;
			sent += (uint64_t)w;
		}
	}
	printf("neverread: still connected after %d s (%llu rounds, %llu bytes sent, %zu ids)\n",
	       secs, (unsigned long long)rounds, (unsigned long long)sent, nr_nids);
	return result(false, "neverread: the node kept a peer that never reads");
}

/* run_norelay: see the modes at the top. */
static int run_norelay(sess_t *s, uint64_t before_ms)
{
	static char pl[64 * 1024];
	int invs = 0;
	printf("norelay: the node's hello says t=%llu, we dialed at %llu\n",
	       (unsigned long long)s->peer_t, (unsigned long long)before_ms);
	fflush(stdout);
	uint64_t end = ch_mono_ns() + (uint64_t)secs * 1000000000ULL;
	while (ch_mono_ns() < end) {
		int left = (int)((end - ch_mono_ns()) / 1000000);
		int t = next_frame(s, 0, pl, sizeof(pl), left > 0 ? left : 1);
		if (t == WIRE_PING) {
			uint8_t f[128];
			size_t n = frame(s, f, WIRE_PONG, pl, (uint32_t)strnlen(pl, 64));
			send_plain(s, f, n, false);
		} else if (t == WIRE_INV) {
			invs++;
		} else if (t == 0 && nr_closed(s->fd)) {
			return result(false, "norelay: the node closed the connection");
		}
	}
	printf("norelay: %d INVs received with service bits %d\n", invs, svc_bits);
	bool fresh = s->peer_t >= before_ms;
	if (!fresh)
		return result(false, "norelay: the node's hello time is older than this handshake");
	return result(invs == 0, "norelay: no INV to a peer that does not relay");
}

/* run_noping: see the modes at the top. */
static int run_noping(sess_t *s)
{
	static char pl[64 * 1024];
	uint64_t start = ch_mono_ns(), end = start + (uint64_t)secs * 1000000000ULL;
	uint64_t next_ping = start;
	int pings = 0;
	while (ch_mono_ns() < end) {
		if (ch_mono_ns() >= next_ping) {
			uint8_t f[128], p[WIRE_PING_MAX];
			size_t n = ping_encode(ch_mono_ns(), p, sizeof(p));
			n = frame(s, f, WIRE_PING, p, (uint32_t)n);
			send_plain(s, f, n, false);
			next_ping = ch_mono_ns() + 500000000ULL;
		}
		int t = next_frame(s, 0, pl, sizeof(pl), 100);
		pings += t == WIRE_PING;
		if (t == 0 && nr_closed(s->fd)) {
			printf(
			    "noping: closed by the node after %.1f s, %d PINGs left unanswered\n",
			    (double)(ch_mono_ns() - start) / 1e9, pings);
			return result(true, "noping: the node closed a peer that never answers");
		}
	}
	printf("noping: still connected after %d s, %d PINGs left unanswered\n", secs, pings);
	return result(false, "noping: the node kept a peer that never answers its PING");
}

/* run_trickle: 20 frames a second through a non-blocking socket; a frame
 * the socket does not take waits (the node may stop reading: that is
 * backpressure, not a reason to send faster later). */
static int run_trickle(sess_t *s)
{
	static uint8_t tx[32000], ob[64 * 1024];
	size_t ol = 0, oo = 0;
	uint64_t frames = 0, now = ch_mono_ns(), end = now + (uint64_t)secs * 1000000000ULL;
	uint64_t next = now;
	memset(tx, 0x5a, sizeof(tx));
	fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
	while ((now = ch_mono_ns()) < end) {
		if (oo == ol && now >= next) {
			ol = nr_seal(s, ob, WIRE_TX, tx, sizeof(tx));
			oo = 0;
			frames++;
			next = now + 50000000ULL;
		}
		while (oo < ol) {
			ssize_t w = write(s->fd, ob + oo, ol - oo);
			if (w < 0 && errno != EAGAIN)
				return result(false, "trickle: the node closed the connection");
			if (w <= 0)
				break;
			oo += (size_t)w;
		}
		if (nr_closed(s->fd))
			return result(false, "trickle: the node closed the connection");
		usleep(1000);
	}
	printf("trickle: %llu frames in %d s\n", (unsigned long long)frames, secs);
	return result(true, "trickle: the node kept the connection");
}

/* run_silent: see the modes at the top. */
static int run_silent(sess_t *s)
{
	static char pl[64 * 1024];
	uint64_t start = ch_mono_ns(), end = start + (uint64_t)secs * 1000000000ULL;
	while (ch_mono_ns() < end) {
		int t = next_frame(s, 0, pl, sizeof(pl), 100);
		if (t == 0 && nr_closed(s->fd)) {
			printf("silent: closed by the node after %.1f s\n",
			       (double)(ch_mono_ns() - start) / 1e9);
			return result(true, "silent: the node closed a peer that sent nothing");
		}
	}
	printf("silent: still connected after %d s\n", secs);
	return result(false, "silent: the node kept a peer that sent nothing");
}

/* run_noread: see the modes at the top. */
static int run_noread(sess_t *s)
{
	uint64_t start = ch_mono_ns(), end = start + (uint64_t)secs * 1000000000ULL;
	printf("noread: connected\n");
	fflush(stdout);
	while (ch_mono_ns() < end) {
		if (nr_closed(s->fd)) {
			printf("noread: closed by the node after %.1f s\n",
			       (double)(ch_mono_ns() - start) / 1e9);
			return result(true, "noread: the node closed a peer that never reads");
		}
		usleep(50000);
	}
	printf("noread: still connected after %d s\n", secs);
	return result(false, "noread: the node kept a peer that never reads");
}

/* run_rateflood: see the modes at the top. */
static int run_rateflood(sess_t *s)
{
	static uint8_t pl[WIRE_UNKNOWN_MAX];
	if (flen < 0 || flen > (int)sizeof(pl))
		return 2;
	memset(pl, 0x33, (size_t)flen);
	int sent = 0;
	while (sent < count && send_frame(s, 200, pl, (uint32_t)flen))
		sent++;
	printf("rateflood: sent %d frames of %d bytes\n", sent, flen);
	return result(sent < count || closed_soon(s, 10000), "rateflood: the node closed");
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: evil_peer MODE HOST PORT [--src IP] [--net NAME] "
		                "[--count N] [--secs S] [--out FILE]\n");
		return 2;
	}
	ch_crypto_init();
	/* the node closing on us is an expected outcome: a write after it
	 * must fail, not kill this process before it reports */
	signal(SIGPIPE, SIG_IGN);
	const char *mode = argv[1];
	host = argv[2];
	port = atoi(argv[3]);
	for (int i = 4; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--src"))
			src = argv[i + 1];
		else if (!strcmp(argv[i], "--net"))
			net = argv[i + 1];
		else if (!strcmp(argv[i], "--count"))
			count = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--secs"))
			secs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--out"))
			outfile = argv[i + 1];
		else if (!strcmp(argv[i], "--lport"))
			lport = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--svc"))
			svc_bits = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--len"))
			flen = atoi(argv[i + 1]);
	}
	if (!strcmp(mode, "noread"))
		rcvbuf = 4096;
	if (!strcmp(mode, "capture"))
		return run_capture(lport);
	if (!strcmp(mode, "hold"))
		return run_hold();
	if (!strcmp(mode, "peerflood"))
		return run_peerflood();
	if (!strcmp(mode, "neverread"))
		return run_neverread();
	if (!strcmp(mode, "hsflood"))
		return run_hsflood();
	sess_t s = {0};
	char pl[1024];
	uint8_t f[2048];
	if (!strcmp(mode, "garbage") || !strcmp(mode, "refused") || !strcmp(mode, "slowloris")) {
		s.fd = dial();
		if (s.fd < 0)
			return result(!strcmp(mode, "refused"), "connect refused");
		if (!strcmp(mode, "garbage")) {
			const char *g = "GET / HTTP/1.1\r\nHost: chorus\r\n\r\n";
			if (write(s.fd, g, strlen(g)) < 0)
				return 2;
			return result(wait_closed(s.fd, 5000), "garbage: the node closed");
		}
		if (!strcmp(mode, "refused"))
			return result(wait_closed(s.fd, 3000),
			              "refused: closed before any handshake");
		/* slowloris: msg1 one byte at a time, slower than the timeout allows */
		uint8_t m1[NOISE_MSG1_LEN];
		noise_hs_t hs;
		ch_identity_t id;
		uint8_t seed[32] = {7};
		ch_ed25519_seed_keypair(&id.pk, &id.sk, seed);
		noise_init(&hs, true, &id, NOISE_SUITE_CHACHA, NULL);
		noise_write_msg1(&hs, m1);
		for (int i = 0; i < NOISE_MSG1_LEN; i++) {
			if (write(s.fd, m1 + i, 1) != 1)
				return result(true, "slowloris: the node closed mid-handshake");
			if (wait_closed(s.fd, 500))
				return result(true, "slowloris: the node closed mid-handshake");
		}
		return result(false, "slowloris: the node waited for the whole message");
	}
	if (!strcmp(mode, "truncated")) {
		uint8_t seed[32];
		randombytes_buf(seed, 32);
		ch_ed25519_seed_keypair(&s.id.pk, &s.id.sk, seed);
		s.fd = dial();
		uint8_t m1[NOISE_MSG1_LEN], m2[NOISE_MSG2_MAX], m3[NOISE_MSG3_MAX], h[256];
		noise_init(&s.hs, true, &s.id, NOISE_SUITE_CHACHA, NULL);
		noise_write_msg1(&s.hs, m1);
		if (s.fd < 0 || write(s.fd, m1, sizeof(m1)) != (ssize_t)sizeof(m1) ||
		    !read_exact(s.fd, m2, 35, 5000))
			return 2;
		size_t l2 = noise_msg2_len(m2, 35), l3, rhl;
		const uint8_t *rh;
		if (!read_exact(s.fd, m2 + 35, l2 - 35, 5000) ||
		    noise_read_msg2(&s.hs, m2, l2, NULL, &rh, &rhl) != 0)
			return 2;
		size_t hl = hello(h, sizeof(h), net, 1, 1);
		noise_write_msg3(&s.hs, h, hl, m3, sizeof(m3), &l3);
		if (write(s.fd, m3, l3 / 2) < 0) /* half of message 3, then silence */
			return 2;
		return result(wait_closed(s.fd, 15000),
		              "truncated: the node timed out the handshake");
	}
	bool wrong = !strcmp(mode, "wrongnet"), old = !strcmp(mode, "oldversion");
	uint64_t before_ms = ch_wall_ms();
	if (!handshake(&s, wrong ? "not-this-network" : net, old ? 0 : 1, old ? 0 : 1)) {
		return result(false, "handshake failed");
	}
	if (wrong || old) {
		if (wrong) /* the frame magic is per network: read with theirs */
			wire_magic(net, s.magic);
		int t = next_frame(&s, WIRE_REJECT, pl, sizeof(pl), 5000);
		printf("reject payload: %s\n", t ? pl + 8 : "(none)");
		return result(t == WIRE_REJECT && wait_closed(s.fd, 5000),
		              "refused with a reason, then closed");
	}
	if (!strcmp(mode, "peersflood"))
		return run_peersflood(&s);
	if (!strcmp(mode, "trickle"))
		return run_trickle(&s);
	if (!strcmp(mode, "noping"))
		return run_noping(&s);
	if (!strcmp(mode, "silent"))
		return run_silent(&s);
	if (!strcmp(mode, "noread"))
		return run_noread(&s);
	if (!strcmp(mode, "rateflood"))
		return run_rateflood(&s);
	if (!strcmp(mode, "norelay"))
		return run_norelay(&s, before_ms);
	int rrc = run_relay_mode(&s, mode);
	if (rrc >= 0)
		return rrc;
	if (!strcmp(mode, "oversized")) {
		uint8_t hdr[WIRE_HDR_LEN];
		wire_put_hdr(hdr, s.magic, WIRE_PING, "", 0);
		hdr[5] = 0x10; /* 256 MiB */
		send_plain(&s, hdr, sizeof(hdr), false);
		return result(wait_closed(s.fd, 5000), "oversized length: closed");
	}
	if (!strcmp(mode, "badcrc")) {
		size_t n = frame(&s, f, WIRE_PING, "\x81\xa1n\x01", 4);
		f[12] ^= 1;
		send_plain(&s, f, n, false);
		return result(wait_closed(s.fd, 5000), "bad checksum: closed");
	}
	if (!strcmp(mode, "badtag")) {
		size_t n = frame(&s, f, WIRE_PING, "\x81\xa1n\x01", 4);
		send_plain(&s, f, n, true);
		return result(wait_closed(s.fd, 5000), "bad record tag: closed");
	}
	if (!strcmp(mode, "pingflood")) {
		for (int i = 0; i < 500; i++) {
			size_t n = frame(&s, f, WIRE_PING, "\x81\xa1n\x01", 4);
			if (!send_plain(&s, f, n, false))
				break;
		}
		return result(wait_closed(s.fd, 5000), "ping flood: closed");
	}
	if (!strcmp(mode, "txflood")) {
		/* TX frames for --secs seconds through a non-blocking socket:
		 * with nobody draining the node's ring, the node must stop
		 * reading (TCP backpressure) and keep the connection. */
		fcntl(s.fd, F_SETFL, fcntl(s.fd, F_GETFL) | O_NONBLOCK);
		static uint8_t tx[1000], rec[64 * 1024];
		memset(tx, 0x5a, sizeof(tx));
		size_t fl = frame(&s, f, WIRE_TX, tx, 600);
		uint64_t sent = 0, end = ch_mono_ns() + (uint64_t)secs * 1000000000ULL;
		uint64_t stalled_since = 0, stalled_ns = 0;
		size_t rl = 0, off = 0;
		while (ch_mono_ns() < end) {
			if (off == rl) { /* seal 16 frames into a record */
				uint8_t pt[16 * 700];
				size_t n = 0;
				for (int k = 0; k < 16; k++, n += fl)
					memcpy(pt + n, f, fl);
				rl = noise_seal(&s.tx, pt, n, rec);
				off = 0;
			}
			ssize_t w = write(s.fd, rec + off, rl - off);
			if (w > 0) {
				off += (size_t)w;
				sent += (uint64_t)w;
				stalled_since = 0;
				continue;
			}
			if (w < 0 && errno != EAGAIN)
				return result(false, "txflood: the node closed the connection");
			uint64_t now = ch_mono_ns();
			if (!stalled_since)
				stalled_since = now;
			stalled_ns = now - stalled_since;
			usleep(1000);
		}
		printf("txflood: sent %llu bytes; blocked for the last %.1f s\n",
		       (unsigned long long)sent, (double)stalled_ns / 1e9);
		return result(stalled_ns > 1000000000ULL && sent < 256ULL << 20,
		              "txflood: the node stopped reading and kept the connection");
	}
	if (!strcmp(mode, "unknowntype")) {
		size_t n = frame(&s, f, 200, "from the future", 15);
		n += frame(&s, f + n, WIRE_PING, "\x81\xa1n\x05", 4);
		send_plain(&s, f, n, false);
		int t = next_frame(&s, WIRE_PONG, pl, sizeof(pl), 5000);
		return result(t == WIRE_PONG, "unknown type skipped, then PING answered");
	}
	fprintf(stderr, "evil_peer: unknown mode %s\n", mode);
	return 2;
}
