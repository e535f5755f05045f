/* transport_relay.h: the relay stand-in of bench/transport_bench.c.
 *
 * transport_bench copies itself into a temp folder as `chorus-relay`, next to
 * real copies of chorusd and the other services; when it runs under that
 * name it is this service (ch_svc_main with the name "relay"), so it sits
 * at both rings of transport exactly where relay does:
 *   - it consumes transport.relay: PEER_UP gives the peer handle (the last
 *     one up), PEER_DOWN / TRANSPORT_RESET clear it, PEER_MSG of wire type
 *     TX is counted (messages, payload bytes, first and last arrival in
 *     CLOCK_MONOTONIC ns, one clock across processes) and its sequence
 *     number checked; in echo mode each TX goes straight back to its peer;
 *   - it produces CH_TAG_SEND records (ch_msg_send_t + payload, mode
 *     CH_SEND_ONE, type WIRE_TX) to relay.transport: a stream of N messages
 *     as fast as the ring takes them (ch_svc_want_space when it is full), or
 *     one in flight (send, wait for the echo, send the next);
 *   - windowed stream: the same stream, but with at most `window` payload
 *     bytes sent and not yet acknowledged; the receiving relay ("sink" with
 *     `ack` bytes) sends back a small TX carrying its message count every
 *     `ack` payload bytes received (application-level flow control, since
 *     transport takes records off its ring faster than it can send them);
 *   - it consumes mempool.relay and drops what it finds there.
 * Commands (driven by the bench with ch_ctl_call):
 *   bstart {kind: "sink"|"echo"|"stream"|"ping", size, count, ms, window,
 *          ack}: clears the counters and starts a run (sink and echo only
 *          receive; window applies to stream, ack to sink; 0: none);
 *   bstat  the counters (see br_cmd_stat).
 * A payload is a msgpack bin of exactly `size` bytes whose first 8 data
 * bytes are the message's sequence number (little-endian).
 *
 * Everything here is static: this header is included by transport_bench.c
 * only (every C file in bench/ is a program of its own). */
#ifndef CH_BENCH_TRANSPORT_RELAY_H
#define CH_BENCH_TRANSPORT_RELAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "err.h"
#include "log.h"
#include "mp.h"
#include "msgs.h"
#include "ring.h"
#include "service.h"
#include "wire.h"

#define BR_MAX_PAYLOAD (128 * 1024) /* the wire's limit for TX */
#define BR_MIN_PAYLOAD 16
#define BR_BATCH       4096 /* records per work() turn, each way */
#define BR_PUBLISH     128  /* stream: publish every this many records */

typedef enum br_mode {
	BR_IDLE = 0,
	BR_STREAM = 1, /* send `target` messages (or until the deadline) */
	BR_PING = 2,   /* one in flight: send, wait for the echo, send the next */
} br_mode_t;

typedef struct br {
	ch_svc_t *svc;
	shm_ring_t *in;    /* transport.relay */
	shm_ring_t *out;   /* relay.transport */
	shm_ring_t *mp_in; /* mempool.relay: drained and dropped */
	uint64_t peer;     /* the last peer up, 0: none */
	uint32_t npeers;

	br_mode_t mode;
	bool echo;
	uint32_t size;
	uint64_t target, deadline_ns;
	uint64_t sent, send_first_ns, send_last_ns;
	bool want_send; /* ping: the next message waits for ring space */
	uint64_t pp_done, pp_start_ns, pp_end_ns;

	uint64_t rx_msgs, rx_bytes, rx_first_ns, rx_last_ns, rx_bad, rx_expect;
	uint64_t echoed, ring_full, peer_downs;
	uint64_t window;    /* stream: most unacknowledged payload bytes, 0: none */
	uint64_t acked;     /* stream: messages the receiver acknowledged */
	uint64_t ack_every; /* sink: acknowledge every this many bytes, 0: never */
	uint64_t ack_next;  /* sink: rx_bytes at which the next ack is due */
	bool echo_pending;
	size_t echo_len;

	uint8_t *rec;  /* ch_msg_send_t + payload: stream and ping */
	uint8_t *erec; /* ch_msg_send_t + payload: the pending echo */
} br_t;

/* br_seq_off: where the sequence number sits in a payload built by
 * br_fill (after the msgpack bin header); 0 if p is not such a payload. */
static size_t br_seq_off(const uint8_t *p, size_t len)
{
	size_t off = 0;
	if (len >= BR_MIN_PAYLOAD && p[0] == 0xc4)
		off = 2;
	else if (len >= BR_MIN_PAYLOAD && p[0] == 0xc5)
		off = 3;
	else if (len >= BR_MIN_PAYLOAD && p[0] == 0xc6)
		off = 5;
	return off;
}

/* br_fill: a payload of exactly size bytes: a msgpack bin header, the
 * sequence number 0, then a filler pattern. */
static void br_fill(uint8_t *p, uint32_t size)
{
	size_t off;
	if (size - 2 <= 0xff) {
		p[0] = 0xc4;
		p[1] = (uint8_t)(size - 2);
		off = 2;
	} else if (size - 3 <= 0xffff) {
		p[0] = 0xc5;
		p[1] = (uint8_t)((size - 3) >> 8);
		p[2] = (uint8_t)(size - 3);
		off = 3;
	} else {
		uint32_t n = size - 5;
		p[0] = 0xc6;
		p[1] = (uint8_t)(n >> 24);
		p[2] = (uint8_t)(n >> 16);
		p[3] = (uint8_t)(n >> 8);
		p[4] = (uint8_t)n;
		off = 5;
	}
	for (size_t i = off; i < size; i++)
		p[i] = (uint8_t)(i * 131 + 7);
	memset(p + off, 0, 8);
}

/* br_send: stages message `seq` of the prepared record (not published).
 * 0, CH_EAGAIN when the ring is full (counted), another CH_E* code. */
static int br_send(br_t *b, uint64_t seq)
{
	uint8_t *pl = b->rec + sizeof(ch_msg_send_t);
	memcpy(pl + br_seq_off(pl, b->size), &seq, 8);
	int rc = shm_ring_try_write(b->out, b->rec, sizeof(ch_msg_send_t) + b->size, CH_TAG_SEND);
	if (rc == CH_EAGAIN) {
		b->ring_full++;
		ch_svc_want_space(b->svc, CH_RING_RELAY_TRANSPORT);
	}
	return rc;
}

/* br_finish: the run is over (count reached, deadline passed or error). */
static void br_finish(br_t *b)
{
	b->mode = BR_IDLE;
	b->want_send = false;
	b->send_last_ns = bench_now_ns();
	if (b->pp_start_ns && !b->pp_end_ns)
		b->pp_end_ns = b->send_last_ns;
}

/* br_stream: sends as many messages of the stream as the ring takes, up to
 * BR_BATCH per turn; returns how many. */
static int br_stream(br_t *b)
{
	int n = 0;
	if (!b->send_first_ns)
		b->send_first_ns = bench_now_ns();
	while (n < BR_BATCH && b->sent < b->target) {
		if (((n & 255) == 0 && bench_now_ns() >= b->deadline_ns) || !b->peer) {
			br_finish(b);
			break;
		}
		if (b->window && (b->sent - b->acked + 1) * b->size > b->window)
			break; /* wait for an ack: it arrives on transport.relay */
		int rc = br_send(b, b->sent);
		if (rc == CH_EAGAIN)
			break;
		if (rc) {
			CH_LOG_ERROR("bench relay: ring write: %s", ch_strerror(rc));
			br_finish(b);
			break;
		}
		b->sent++;
		if ((++n % BR_PUBLISH) == 0)
			shm_ring_publish(b->out);
	}
	shm_ring_publish(b->out);
	if (b->mode == BR_STREAM && b->sent >= b->target)
		br_finish(b);
	return n;
}

/* br_ping_send: sends the next one-in-flight message if one is due. */
static int br_ping_send(br_t *b)
{
	if (!b->want_send)
		return 0;
	if (br_send(b, b->pp_done) != 0)
		return 0;
	shm_ring_publish(b->out);
	b->want_send = false;
	b->sent++;
	return 1;
}

/* br_flush_echo: writes the pending echo; false while the ring is full. */
static bool br_flush_echo(br_t *b)
{
	int rc = shm_ring_try_write(b->out, b->erec, b->echo_len, CH_TAG_SEND);
	if (rc == CH_EAGAIN) {
		b->ring_full++;
		ch_svc_want_space(b->svc, CH_RING_RELAY_TRANSPORT);
		return false;
	}
	shm_ring_publish(b->out);
	b->echo_pending = false;
	if (rc == 0)
		b->echoed++;
	return true;
}

/* br_queue: a record for peer carrying pl[0..len) as the pending echo. */
static void br_queue(br_t *b, uint64_t peer, const uint8_t *pl, size_t len)
{
	ch_msg_send_t m = {.peer = peer, .type = WIRE_TX, .mode = CH_SEND_ONE};
	memcpy(b->erec, &m, sizeof(m));
	memcpy(b->erec + sizeof(m), pl, len);
	b->echo_len = sizeof(m) + len;
	b->echo_pending = true;
}

/* br_on_tx: one TX message from a peer: an ack (windowed stream), or
 * counted, checked, echoed, acknowledged or answered (one in flight). */
static void br_on_tx(br_t *b, uint64_t peer, const uint8_t *pl, size_t len)
{
	size_t off = br_seq_off(pl, len);
	uint64_t seq = 0;
	if (off)
		memcpy(&seq, pl + off, 8);
	if (b->window) {
		if (seq > b->acked && seq <= b->sent)
			b->acked = seq;
		return;
	}
	b->rx_msgs++;
	b->rx_bytes += len;
	if (!off || seq != b->rx_expect)
		b->rx_bad++;
	b->rx_expect = seq + 1;
	if (b->echo && len <= BR_MAX_PAYLOAD)
		br_queue(b, peer, pl, len);
	if (b->ack_every && b->rx_bytes >= b->ack_next) {
		uint8_t ack[BR_MIN_PAYLOAD];
		br_fill(ack, sizeof(ack));
		memcpy(ack + br_seq_off(ack, sizeof(ack)), &b->rx_msgs, 8);
		br_queue(b, peer, ack, sizeof(ack));
		b->ack_next = b->rx_bytes + b->ack_every;
	}
	if (b->mode == BR_PING) {
		b->pp_done++;
		if (b->pp_done >= b->target || bench_now_ns() >= b->deadline_ns) {
			b->pp_end_ns = bench_now_ns();
			br_finish(b);
		} else {
			b->want_send = true;
		}
	}
}

/* br_consume: records from transport; returns how many. */
static int br_consume(br_t *b)
{
	int n = 0;
	bool tx = false;
	shm_rec_t rec;
	while (n < BR_BATCH) {
		if (b->echo_pending && !br_flush_echo(b))
			break; /* no more input until the echo is out */
		int rc = shm_ring_peek(b->in, &rec);
		if (rc == CH_EAGAIN)
			break;
		if (rc) {
			CH_LOG_ERROR("bench relay: transport.relay: %s", ch_strerror(rc));
			break;
		}
		ch_msg_t v;
		if (ch_msg_view(rec.tag, rec.data, rec.size, &v) != 0) {
			CH_LOG_WARN("bench relay: a malformed %s record", ch_msg_tag_name(rec.tag));
		} else if (rec.tag == CH_TAG_PEER_UP) {
			b->peer = v.m.peer_up.peer;
			b->npeers++;
		} else if (rec.tag == CH_TAG_PEER_DOWN) {
			const ch_msg_peer_down_t *d = &v.m.peer_down;
			CH_LOG_WARN("bench relay: peer %llu down: %s", (unsigned long long)d->peer,
			            d->reason);
			b->peer_downs++;
			if (b->npeers)
				b->npeers--;
			if (d->peer == b->peer)
				b->peer = 0;
		} else if (rec.tag == CH_TAG_TRANSPORT_RESET) {
			b->peer = 0;
			b->npeers = 0;
		} else if (rec.tag == CH_TAG_PEER_MSG && v.m.peer_msg.type == WIRE_TX) {
			br_on_tx(b, v.m.peer_msg.peer, v.body, v.body_len);
			tx = true;
		}
		shm_ring_advance(b->in);
		n++;
	}
	if (n)
		shm_ring_commit(b->in);
	if (tx) {
		uint64_t now = bench_now_ns();
		if (!b->rx_first_ns)
			b->rx_first_ns = now;
		b->rx_last_ns = now;
	}
	return n;
}

/* br_drop_mempool: drains mempool.relay (nothing here wants it). */
static int br_drop_mempool(br_t *b)
{
	int n = 0;
	shm_rec_t rec;
	while (b->mp_in && n < BR_BATCH && shm_ring_peek(b->mp_in, &rec) == 0) {
		shm_ring_advance(b->mp_in);
		n++;
	}
	if (n)
		shm_ring_commit(b->mp_in);
	return n;
}

/* br_work: the frame's work hook. */
static int br_work(ch_svc_t *svc, void *user, uint64_t now_ns)
{
	br_t *b = user;
	(void)svc;
	(void)now_ns;
	int n = br_consume(b);
	if (b->mode == BR_STREAM)
		n += br_stream(b);
	else if (b->mode == BR_PING)
		n += br_ping_send(b);
	n += br_drop_mempool(b);
	return n;
}

/* br_cmd_start: bstart {kind, size, count, ms, window, ack}; an echo or
 * ack of the previous run still waiting for ring space is dropped. */
static int br_cmd_start(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	br_t *b = user;
	char kind[16];
	uint64_t size = 64, count = 0, ms = 1000, window = 0, ack = 0;
	if (ch_mp_get_strz(req, "kind", kind, sizeof(kind)) != 0) {
		ch_svc_set_error(svc, "missing 'kind' (sink, echo, stream or ping)");
		return CH_EINVAL;
	}
	ch_mp_get_u64(req, "size", &size);
	ch_mp_get_u64(req, "count", &count);
	ch_mp_get_u64(req, "ms", &ms);
	ch_mp_get_u64(req, "window", &window);
	ch_mp_get_u64(req, "ack", &ack);
	bool send = !strcmp(kind, "stream") || !strcmp(kind, "ping");
	if (!send && strcmp(kind, "sink") && strcmp(kind, "echo")) {
		ch_svc_set_error(svc, "unknown kind '%s'", kind);
		return CH_EINVAL;
	}
	if (send && (size < BR_MIN_PAYLOAD || size > BR_MAX_PAYLOAD || !count ||
	             (window && window < size))) {
		ch_svc_set_error(svc, "size must be %d..%d, count > 0, window 0 or >= size",
		                 BR_MIN_PAYLOAD, BR_MAX_PAYLOAD);
		return CH_EINVAL;
	}
	if (send && !b->peer) {
		ch_svc_set_error(svc, "no peer connected");
		return CH_ENOENT;
	}
	uint8_t *rec = b->rec, *erec = b->erec;
	uint64_t peer = b->peer;
	uint32_t npeers = b->npeers;
	shm_ring_t *in = b->in, *o = b->out, *mp = b->mp_in;
	*b = (br_t){.svc = svc,
	            .in = in,
	            .out = o,
	            .mp_in = mp,
	            .peer = peer,
	            .npeers = npeers,
	            .rec = rec,
	            .erec = erec,
	            .echo = !strcmp(kind, "echo"),
	            .size = (uint32_t)size,
	            .window = !strcmp(kind, "stream") ? window : 0,
	            .ack_every = !strcmp(kind, "sink") ? ack : 0,
	            .ack_next = ack,
	            .target = count,
	            .deadline_ns = bench_now_ns() + ms * BENCH_NS_PER_MS};
	if (send) {
		ch_msg_send_t m = {.peer = peer, .type = WIRE_TX, .mode = CH_SEND_ONE};
		memcpy(b->rec, &m, sizeof(m));
		br_fill(b->rec + sizeof(m), (uint32_t)size);
	}
	if (!strcmp(kind, "stream")) {
		b->mode = BR_STREAM;
	} else if (!strcmp(kind, "ping")) {
		b->mode = BR_PING;
		b->want_send = true;
		b->pp_start_ns = bench_now_ns();
	}
	ch_mpw_map(out, 1);
	ch_mpw_kv_u64(out, "peer", peer);
	return 0;
}

/* br_cmd_stat: bstat: the counters of the current run. */
static int br_cmd_stat(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	br_t *b = user;
	(void)svc;
	(void)req;
	ch_mpw_map(out, 18);
	ch_mpw_kv_u64(out, "peer", b->peer);
	ch_mpw_kv_u64(out, "npeers", b->npeers);
	ch_mpw_kv_u64(out, "mode", (uint64_t)b->mode);
	ch_mpw_kv_u64(out, "sent", b->sent);
	ch_mpw_kv_u64(out, "send_first_ns", b->send_first_ns);
	ch_mpw_kv_u64(out, "send_last_ns", b->send_last_ns);
	ch_mpw_kv_u64(out, "pp_done", b->pp_done);
	ch_mpw_kv_u64(out, "pp_start_ns", b->pp_start_ns);
	ch_mpw_kv_u64(out, "pp_end_ns", b->pp_end_ns);
	ch_mpw_kv_u64(out, "rx_msgs", b->rx_msgs);
	ch_mpw_kv_u64(out, "rx_bytes", b->rx_bytes);
	ch_mpw_kv_u64(out, "rx_first_ns", b->rx_first_ns);
	ch_mpw_kv_u64(out, "rx_last_ns", b->rx_last_ns);
	ch_mpw_kv_u64(out, "rx_bad", b->rx_bad);
	ch_mpw_kv_u64(out, "echoed", b->echoed);
	ch_mpw_kv_u64(out, "ring_full", b->ring_full);
	ch_mpw_kv_u64(out, "peer_downs", b->peer_downs);
	ch_mpw_kv_u64(out, "now_ns", bench_now_ns());
	return 0;
}

/* br_init: the rings and the two record buffers. */
static int br_init(ch_svc_t *svc, void **user)
{
	br_t *b = calloc(1, sizeof(*b));
	if (!b)
		return CH_ENOMEM;
	*user = b;
	b->svc = svc;
	b->in = ch_svc_ring(svc, CH_RING_TRANSPORT_RELAY);
	b->out = ch_svc_ring(svc, CH_RING_RELAY_TRANSPORT);
	b->mp_in = ch_svc_ring(svc, CH_RING_MEMPOOL_RELAY);
	b->rec = malloc(sizeof(ch_msg_send_t) + BR_MAX_PAYLOAD);
	b->erec = malloc(sizeof(ch_msg_send_t) + BR_MAX_PAYLOAD);
	if (!b->in || !b->out || !b->rec || !b->erec)
		return CH_EINVAL;
	CH_LOG_INFO("bench relay: standing in for relay (transport_bench)");
	return 0;
}

/* br_fini: frees what br_init allocated. */
static void br_fini(ch_svc_t *svc, void *user)
{
	br_t *b = user;
	(void)svc;
	free(b->rec);
	free(b->erec);
	free(b);
}

static const ch_svc_cmd_t br_cmds[] = {
    {"bstart", br_cmd_start,
     "start a bench run: kind=sink|echo|stream|ping size count ms window ack"},
    {"bstat", br_cmd_stat, "counters of the current bench run"},
};

static const ch_svc_ops_t bench_relay_ops = {
    .name = "relay",
    .cmds = br_cmds,
    .ncmds = sizeof(br_cmds) / sizeof(br_cmds[0]),
    .init = br_init,
    .work = br_work,
    .fini = br_fini,
};

#endif
