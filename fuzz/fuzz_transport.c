/* fuzz_transport: what a peer's bytes go through in the transport
 * service (services/transport/conn.c): sealed records cut anywhere by the
 * socket, the reassembly of records and of frames across records, frame
 * headers, checksums, limits and the hand-off to relay.
 *
 * Each input is one connection on a real socketpair, driven as the worker
 * drives it (tp_conn_on_io).  The harness is the initiator: it runs the
 * handshake (a fixed key pair), then reads the input as operations:
 *   0 len(2) bytes        a record sealing those bytes (any plaintext)
 *   1 len(1) bytes        raw bytes (a broken record)
 *   2 type len(2) bytes   a record holding one well-formed frame
 *   3 cut(1)              delivers what is pending in pieces of cut+1
 * (the operation is the byte modulo 4); what remains is delivered at the
 * end.  An input starting with 0xff is instead the peer's raw bytes from
 * the first one (garbage, a broken handshake), delivered in pieces of the
 * second byte + 1.  The peer is then torn down as the worker does. */
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "../services/transport/transport.h"
#include "clock.h"
#include "fuzz.h"
#include "hello.h"
#include "wire.h"

#define RING_DATA (1u << 20)

static tp_t *tp;
static ch_node_config_t cfg;
static ch_identity_t them; /* the harness's identity */
static uint8_t *ring_mem;
static size_t ring_sz;
static uint8_t stream[1 << 18];
static size_t slen;

/* The harness is one thread and tears peers down outside any read-side
 * section, so a grace period is empty: what the code hands to call_rcu
 * (the peer, old table snapshots) is freed at once instead of by the
 * call_rcu thread later, and every input ends with its memory freed (the
 * leak check sees it).  Linked with -Wl,--wrap=urcu_qsbr_call_rcu. */
void __wrap_urcu_qsbr_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));
void __wrap_urcu_qsbr_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
	func(head);
}

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
	rcu_register_thread();
	tp = calloc(1, sizeof(*tp));
	if (!tp)
		abort();
	snprintf(cfg.network, sizeof(cfg.network), "main");
	tp->cfg = &cfg;
	identity_from(&tp->ident, 0x01);
	identity_from(&them, 0x02);
	snprintf(tp->datadir, sizeof(tp->datadir), "%s", fuzz_tmpdir());
	wire_magic("main", tp->magic);
	tp->suites = NOISE_SUITE_CHACHA;
	tp->lim = (tp_limits_t){.max_peers = 8,
	                        .max_outbound = 8,
	                        .max_per_group = 8,
	                        .max_handshakes = 8,
	                        .ban_ms = 1000,
	                        .handshake_ms = 3600 * 1000,
	                        .idle_ms = 3600 * 1000,
	                        .msg_rate = 1e9,
	                        .byte_rate = 1e12,
	                        .ping_rate = 1e9,
	                        .block_max = 1u << 20};
	tp->listen_port = 7000;
	if (tp_hello_build(tp, tp->hello, sizeof(tp->hello), &tp->hello_len) != 0)
		abort();
	tp->nworkers = 1;
	tp->workers[0].tp = tp;
	tp->workers[0].epfd = epoll_create1(EPOLL_CLOEXEC);
	tp->workers[0].evfd = -1;
	tp->main_evfd = -1;
	if (tp->workers[0].epfd < 0 || tp_peertab_init(&tp->table) != 0)
		abort();
	tp->bans = tp_bans_open(tp->datadir);
	if (!tp->bans)
		abort();
	pthread_mutex_init(&tp->ring_lock, NULL);
	pthread_mutex_init(&tp->ev_lock, NULL);
	ring_sz = shm_ring_footprint(RING_DATA, 256 * 1024);
	ring_mem = aligned_alloc(shm_ring_align() > 64 ? shm_ring_align() : 64,
	                         (ring_sz + 4095) & ~(size_t)4095);
	if (!ring_sz || !ring_mem)
		abort();
	return 0;
}

/* an empty ring per input, so every input starts alike */
static void ring_fresh(void)
{
	shm_ring_leave(&tp->to_relay);
	if (!shm_ring_new(ring_mem, RING_DATA, 256 * 1024) ||
	    shm_ring_join(ring_mem, ring_sz, SHM_RING_PRODUCER, -1, -1, &tp->to_relay) != 0)
		abort();
}

static void events_drop(void)
{
	for (size_t i = 0; i < tp->nev; i++)
		free(tp->evq[i].payload);
	tp->nev = 0;
	tp->npmq = 0;
}

/* drain: reads (and drops) what the node wrote to us */
static void drain(int fd, uint8_t *keep, size_t cap, size_t *klen)
{
	uint8_t buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (keep && *klen + (size_t)n <= cap) {
			memcpy(keep + *klen, buf, (size_t)n);
			*klen += (size_t)n;
		}
	}
}

static void push(const void *p, size_t n)
{
	if (n > sizeof(stream) - slen)
		n = sizeof(stream) - slen;
	memcpy(stream + slen, p, n);
	slen += n;
}

static void deliver(tp_peer_t *p, int fd, size_t piece, uint64_t now)
{
	size_t off = 0;
	while (off < slen && !p->closing) {
		size_t k = slen - off < piece ? slen - off : piece;
		ssize_t w = write(fd, stream + off, k);
		if (w <= 0)
			break;
		off += (size_t)w;
		tp_conn_on_io(p, EPOLLIN, now);
		drain(fd, NULL, 0, NULL);
		if (p->paused) /* relay full: it drains, the peer resumes */
			break;
	}
	slen = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	ring_fresh();
	tp_newconn_t nc = {.fd = sv[0], .inbound = true};
	struct sockaddr_in *sin = (struct sockaddr_in *)&nc.sa;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40000);
	sin->sin_addr.s_addr = htonl(0x0a000001);
	nc.salen = sizeof(*sin);
	tp_peer_t *p = tp_conn_new(&tp->workers[0], &nc);
	if (!p)
		abort();
	atomic_fetch_add(&tp->n_handshaking, 1);
	uint64_t now = ch_mono_ns();

	if (size >= 2 && data[0] == 0xff) {
		/* a peer that never handshakes honestly: the rest of the input
		 * as it arrives, in pieces of data[1] + 1 bytes */
		slen = 0;
		push(data + 2, size - 2);
		deliver(p, sv[1], (size_t)data[1] + 1, now);
		goto out;
	}

	/* the handshake, as an honest initiator */
	noise_hs_t hs;
	uint8_t seed[32], m1[NOISE_MSG1_LEN], m2[NOISE_MSG2_MAX], m3[NOISE_MSG3_MAX], hb[256];
	size_t m2len = 0, m3len, hlen;
	memset(seed, 0x03, sizeof(seed));
	noise_init(&hs, true, &them, NOISE_SUITE_CHACHA, seed);
	noise_write_msg1(&hs, m1);
	FUZZ_CHECK(write(sv[1], m1, sizeof(m1)) == (ssize_t)sizeof(m1));
	tp_conn_on_io(p, EPOLLIN, now);
	drain(sv[1], m2, sizeof(m2), &m2len);
	const uint8_t *rh;
	size_t rhlen;
	FUZZ_CHECK(noise_read_msg2(&hs, m2, m2len, tp->ident.pk.b, &rh, &rhlen) == 0);
	hello_t h = {.v = HELLO_VERSION, .min = HELLO_MIN_VERSION, .port = 7001, .t = 1};
	snprintf(h.net, sizeof(h.net), "main");
	snprintf(h.ua, sizeof(h.ua), "fuzz");
	FUZZ_CHECK(hello_encode(&h, hb, sizeof(hb), &hlen) == 0);
	FUZZ_CHECK(noise_write_msg3(&hs, hb, hlen, m3, sizeof(m3), &m3len) == 0);
	noise_cipher_t tx, rx;
	FUZZ_CHECK(noise_split(&hs, &tx, &rx) == 0);
	slen = 0;
	push(m3, m3len); /* records may follow msg3 in the same read */

	static uint8_t rec[NOISE_REC_MAX + NOISE_REC_OVERHEAD];
	static uint8_t pt[NOISE_REC_MAX];
	size_t off = 0;
	while (off < size && !p->closing) {
		uint8_t op = data[off++] % 4;
		size_t n;
		switch (op) {
		case 0:
			if (size - off < 2) {
				off = size;
				break;
			}
			n = ((size_t)data[off] << 8 | data[off + 1]) % (NOISE_REC_MAX + 1);
			off += 2;
			if (n > size - off)
				n = size - off;
			push(rec, noise_seal(&tx, data + off, n, rec));
			off += n;
			break;
		case 1:
			if (size - off < 1) {
				off = size;
				break;
			}
			n = data[off++];
			if (n > size - off)
				n = size - off;
			push(data + off, n);
			off += n;
			break;
		case 2:
			if (size - off < 3) {
				off = size;
				break;
			}
			{
				uint8_t type = data[off];
				n = ((size_t)data[off + 1] << 8 | data[off + 2]) %
				    (NOISE_REC_MAX - WIRE_HDR_LEN + 1);
				off += 3;
				if (n > size - off)
					n = size - off;
				wire_put_hdr(pt, tp->magic, type, data + off, (uint32_t)n);
				memcpy(pt + WIRE_HDR_LEN, data + off, n);
				push(rec, noise_seal(&tx, pt, WIRE_HDR_LEN + n, rec));
				off += n;
			}
			break;
		case 3:
			if (size - off < 1) {
				off = size;
				break;
			}
			deliver(p, sv[1], (size_t)data[off++] + 1, now);
			break;
		}
	}
	deliver(p, sv[1], sizeof(stream), now);
	FUZZ_CHECK(p->plen <= WIRE_HDR_LEN + (size_t)WIRE_UNKNOWN_MAX + tp->lim.block_max);
	sodium_memzero(&tx, sizeof(tx));
	sodium_memzero(&rx, sizeof(rx));
out:
	/* an open peer never buffers more than one handshake message or
	 * record */
	FUZZ_CHECK(p->closing || p->rlen <= NOISE_MSG2_MAX + NOISE_REC_MAX + NOISE_REC_OVERHEAD);

	/* the worker's way out: close, tear down, free after a grace period */
	tp_conn_close(p, "fuzz input done");
	tp_conn_teardown(p);
	close(sv[1]);
	events_drop();
	return 0;
}
