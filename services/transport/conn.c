/* conn.c: one connection, on its worker's thread: the handshake, sealed
 * records in and out, frames, keepalive, limits, misbehaviour, and the
 * hand-off of messages to the transport.relay ring.
 *
 * Reading: bytes go into the worker's scratch buffer; whole records are
 * opened in place there and their plaintext appended to pbuf, where frames
 * are parsed; a partial record is kept in rbuf (at most one record).  A
 * frame's length is checked against its type's maximum as soon as its
 * header is in, so pbuf never grows beyond one largest frame.
 *
 * Writing: frames (from the outbox or our own PING/PONG/REJECT) are staged
 * as plaintext, sealed in records of up to NOISE_REC_MAX bytes (many small
 * frames per record) into wbuf and written; EPOLLOUT is armed only while
 * wbuf has bytes the socket did not take.
 *
 * Closing: tp_conn_close only marks the peer; the worker tears it down
 * after the event that caused it has been handled (never free an object
 * inside its own callback). */
#include "transport.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "hello.h"
#include "log.h"
#include "msgs.h"

#define WBUF_HIGH (256 * 1024) /* stop sealing beyond this much unsent */

static bool grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap : 4096;
	while (c < need)
		c *= 2;
	uint8_t *n = realloc(*buf, c);
	if (!n)
		return false;
	*buf = n;
	*cap = c;
	return true;
}

static void emit(tp_peer_t *p, const char *what, const char *reason, int points)
{
	tp_event_t ev = {.peer = p->handle,
	                 .points = points,
	                 .inbound = p->inbound,
	                 .listen_port = p->listen_port,
	                 .kind = p->kind,
	                 .manual = p->manual};
	snprintf(ev.what, sizeof(ev.what), "%s", what);
	snprintf(ev.addr, sizeof(ev.addr), "%s", p->addr);
	snprintf(ev.reason, sizeof(ev.reason), "%s", reason ? reason : "");
	ev.score = atomic_load(&p->score);
	if (p->state == TP_OPEN)
		ch_hex_encode(ev.pubkey, sizeof(ev.pubkey), p->remote_pk, 32);
	tp_event_push(p->w->tp, &ev);
}

void tp_conn_close(tp_peer_t *p, const char *reason)
{
	if (p->closing)
		return;
	p->closing = true;
	snprintf(p->close_reason, sizeof(p->close_reason), "%s", reason);
}

void tp_misbehave(tp_peer_t *p, int points, const char *fmt, ...)
{
	char why[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	int32_t score = atomic_fetch_add(&p->score, points) + points;
	atomic_fetch_add(&p->w->tp->c_misbehave_points, (uint64_t)points);
	CH_LOG_WARN("peer %s misbehaved (+%d, score %d): %s", p->addr, points, (int)score, why);
	emit(p, "peer_misbehaved", why, points);
	tp_t *tp = p->w->tp;
	if (score >= TP_BAN_SCORE) {
		char ip[TP_ADDR_MAX];
		tp_addr_format(&p->sa, ip, sizeof(ip), false);
		tp_bans_add(tp->bans, ip, ch_wall_ms() + tp->lim.ban_ms, why, false);
		atomic_fetch_add(&tp->c_banned, 1);
		CH_LOG_WARN("banned %s for %llu s: %s", ip,
		            (unsigned long long)(tp->lim.ban_ms / 1000), why);
		emit(p, "peer_banned", why, points);
		char r[160];
		snprintf(r, sizeof(r), "banned: %s", why);
		tp_conn_close(p, r);
	}
}

/* ---------------------------------------------------------------- output */

/* arm: EPOLLOUT as asked; EPOLLIN unless the peer is paused (relay's ring
 * is full) or muted (it has too much waiting to be sent). */
static void arm(tp_peer_t *p, bool out)
{
	bool in = !p->paused && !p->muted;
	if (p->want_out == out && p->armed_in == in)
		return;
	struct epoll_event ev = {.data.ptr = p};
	ev.events = (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0);
	p->want_out = out;
	p->armed_in = in;
	epoll_ctl(p->w->epfd, EPOLL_CTL_MOD, p->fd, &ev);
}

/* note_queued: publishes how many bytes this peer has waiting in the
 * worker (staged, sealed but unsent) for the main thread's bound
 * (append_frame), and mutes the peer's input while that is over
 * TP_OUT_SOFT: a peer that does not read what it asked for cannot ask for
 * more.  It hears again below half. */
static void note_queued(tp_peer_t *p)
{
	uint64_t q = p->slen + (p->wlen - p->woff);
	atomic_store_explicit(&p->queued, q, memory_order_relaxed);
	bool muted = p->muted ? q >= TP_OUT_SOFT / 2 : q > TP_OUT_SOFT;
	if (muted != p->muted && p->state == TP_OPEN) {
		p->muted = muted;
		arm(p, p->want_out);
	}
}

/* write_out: writes what wbuf holds; arms EPOLLOUT if the socket is full. */
static void write_out(tp_peer_t *p, uint64_t now)
{
	while (p->woff < p->wlen) {
		ssize_t n = write(p->fd, p->wbuf + p->woff, p->wlen - p->woff);
		if (n > 0) {
			p->woff += (size_t)n;
			atomic_fetch_add_explicit(&p->bytes_out, (uint64_t)n, memory_order_relaxed);
			p->last_send_ns = now;
			p->stall_since_ns = 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!p->stall_since_ns) /* tp_conn_tick enforces send-timeout */
				p->stall_since_ns = now;
			arm(p, true);
			return;
		}
		char r[96];
		snprintf(r, sizeof(r), "write: %s", n < 0 ? strerror(errno) : "closed");
		tp_conn_close(p, r);
		return;
	}
	p->woff = p->wlen = 0;
	p->stall_since_ns = 0;
	if (p->want_out)
		arm(p, false);
	note_queued(p);
}

/* seal_staged: seals staged frames into records, as long as wbuf is not
 * too full, then writes. */
static void seal_staged(tp_peer_t *p, uint64_t now)
{
	/* Seal ahead of the socket by at most WBUF_HIGH; when the socket took
	 * everything, seal the next part at once (otherwise the rest would
	 * wait for the next message or ping). */
	size_t off = 0;
	do {
		while (off < p->slen && p->wlen - p->woff < WBUF_HIGH) {
			size_t chunk = p->slen - off;
			if (chunk > NOISE_REC_MAX)
				chunk = NOISE_REC_MAX;
			if (!grow(&p->wbuf, &p->wcap, p->wlen + chunk + NOISE_REC_OVERHEAD)) {
				tp_conn_close(p, "out of memory sealing records");
				return;
			}
			p->wlen += noise_seal(&p->tx, p->stage + off, chunk, p->wbuf + p->wlen);
			off += chunk;
		}
		write_out(p, now);
	} while (off < p->slen && p->wlen == 0 && !p->closing);
	if (off) {
		memmove(p->stage, p->stage + off, p->slen - off);
		p->slen -= off;
	}
	note_queued(p);
}

/* stage_frame: appends one frame we generate ourselves. */
static void stage_frame(tp_peer_t *p, uint8_t type, const void *payload, uint32_t len)
{
	if (!grow(&p->stage, &p->scap, p->slen + WIRE_HDR_LEN + len)) {
		tp_conn_close(p, "out of memory staging a frame");
		return;
	}
	wire_put_hdr(p->stage + p->slen, p->w->tp->magic, type, payload, len);
	memcpy(p->stage + p->slen + WIRE_HDR_LEN, payload, len);
	p->slen += WIRE_HDR_LEN + len;
	atomic_fetch_add_explicit(&p->msgs_out, 1, memory_order_relaxed);
	tp_count_type(p->w->type_out, p->w->type_out_bytes, type, len);
}

static void send_reject(tp_peer_t *p, const char *reason, uint64_t now)
{
	uint8_t pl[WIRE_REJECT_MAX];
	stage_frame(p, WIRE_REJECT, pl, (uint32_t)reject_encode(reason, pl, sizeof(pl)));
	seal_staged(p, now);
}

static void send_ping(tp_peer_t *p, uint64_t now)
{
	uint8_t pl[WIRE_PING_MAX];
	p->ping_nonce = now ^ p->handle;
	p->ping_sent_ns = now;
	stage_frame(p, WIRE_PING, pl, (uint32_t)ping_encode(p->ping_nonce, pl, sizeof(pl)));
	seal_staged(p, now);
}

void tp_conn_flush_outbox(tp_peer_t *p, uint64_t now)
{
	if (p->state != TP_OPEN || p->closing)
		return;
	bool overflow;
	pthread_mutex_lock(&p->out_lock);
	atomic_store(&p->notified, false);
	overflow = p->overflow;
	if (p->olen) {
		if (p->slen == 0) { /* swap instead of copying */
			uint8_t *b = p->stage;
			size_t c = p->scap;
			p->stage = p->obuf;
			p->scap = p->ocap;
			p->slen = p->olen;
			p->obuf = b;
			p->ocap = c;
		} else if (grow(&p->stage, &p->scap, p->slen + p->olen)) {
			memcpy(p->stage + p->slen, p->obuf, p->olen);
			p->slen += p->olen;
		}
		p->olen = 0;
	}
	/* under out_lock, so append_frame never sees the bytes in neither
	 * place: the bound covers the outbox and the staging together */
	atomic_store_explicit(&p->queued, p->slen + (p->wlen - p->woff), memory_order_relaxed);
	pthread_mutex_unlock(&p->out_lock);
	if (overflow) {
		atomic_fetch_add(&p->w->tp->c_slow_closed, 1);
		tp_misbehave(p, TP_SLOW_POINTS, "send queue over %u MiB: peer does not read",
		             TP_OUT_HARD >> 20);
		tp_conn_close(p, "send queue over its limit: peer too slow");
		return;
	}
	seal_staged(p, now);
}

/* ---------------------------------------------------------------- hello */

int tp_hello_build(tp_t *tp, uint8_t *out, size_t cap, size_t *len)
{
	hello_t h = {.v = HELLO_VERSION,
	             .min = HELLO_MIN_VERSION,
	             .svc = HELLO_SVC_RELAY,
	             .port = tp->listen_port,
	             .t = ch_wall_ms()};
	snprintf(h.net, sizeof(h.net), "%s", tp->cfg->network);
	snprintf(h.ua, sizeof(h.ua), "chorus/0.1.0");
	return hello_encode(&h, out, cap, len);
}

/* check_hello: the peer's hello against ours.  Returns 0, or a reason to
 * refuse it in why (sent to the peer in a REJECT). */
static int check_hello(tp_peer_t *p, const uint8_t *buf, size_t len, char *why, size_t cap)
{
	hello_t h;
	if (hello_decode(buf, len, &h) != 0) {
		snprintf(why, cap, "malformed hello");
		return CH_EPROTO;
	}
	snprintf(p->user_agent, sizeof(p->user_agent), "%s", h.ua);
	p->listen_port = h.port;
	p->no_relay = !(h.svc & HELLO_SVC_RELAY);
	return hello_accept(&h, p->w->tp->cfg->network, why, cap);
}

/* ring_put: one record into transport.relay (ring_lock held).  false if
 * the ring is full. */
static bool ring_put(tp_t *tp, uint32_t tag, const void *hdr, size_t hlen, const void *body,
                     size_t blen)
{
	uint8_t *dst = shm_ring_prepare(tp->to_relay, hlen + blen);
	if (!dst)
		return false;
	memcpy(dst, hdr, hlen);
	if (blen)
		memcpy(dst + hlen, body, blen);
	shm_ring_write_prepared(tp->to_relay, hlen + blen, tag);
	return true;
}

/* peer_up: the handshake is done and the hello accepted. */
static void peer_up(tp_peer_t *p, uint64_t now)
{
	tp_t *tp = p->w->tp;
	/* one connection per node: refuse a second one to the same key */
	bool dup = false;
	rcu_read_lock();
	tp_snap_t *s = tp_snap_get(&tp->table);
	for (size_t i = 0; i < s->n && !dup; i++)
		dup = memcmp(s->list[i]->remote_pk, p->remote_pk, 32) == 0;
	rcu_read_unlock();
	if (dup) {
		tp_conn_close(p, "already connected to this node");
		return;
	}
	if (!p->inbound && p->kind == TP_KIND_FEELER) {
		/* a feeler only proves the address works: report, then close
		 * without joining the table or telling relay */
		p->feeler_done = true;
		p->state = TP_OPEN; /* so the event carries the key */
		emit(p, "feeler_ok", "", 0);
		p->state = TP_HS_MSG3; /* never counted as open */
		tp_conn_close(p, "feeler done");
		return;
	}
	if (p->inbound) {
		char why[160];
		if (tp_admit_established(tp, p, why, sizeof(why)) != 0) {
			tp_conn_close(p, why);
			return;
		}
	}
	p->state = TP_OPEN;
	p->connected_ns = now;
	p->connected_wall_ms = ch_wall_ms();
	p->last_recv_ns = now;
	p->ping_done_ns = now;
	atomic_fetch_add(&tp->c_handshake_ok, 1);
	tp_hs_end(tp, &p->sa, p->inbound);
	atomic_fetch_add(p->inbound ? &tp->n_inbound : &tp->n_outbound, 1);
	if (tp_peertab_add(&tp->table, p) != 0) {
		tp_conn_close(p, "peer table full");
		return;
	}
	ch_msg_peer_up_t up = {
	    .peer = p->handle,
	    .inbound = p->inbound,
	    .flags = (uint8_t)((!p->inbound && p->kind == TP_KIND_BLOCK_RELAY ? CH_PEER_BLOCK_RELAY
	                                                                      : 0) |
	                       (p->no_relay ? CH_PEER_NO_RELAY : 0)),
	    .listen_port = p->listen_port};
	memcpy(up.pubkey, p->remote_pk, 32);
	snprintf(up.addr, sizeof(up.addr), "%s", p->addr);
	pthread_mutex_lock(&tp->ring_lock);
	if (!ring_put(tp, CH_TAG_PEER_UP, &up, sizeof(up), NULL, 0))
		atomic_fetch_add(&tp->c_ring_full, 1);
	shm_ring_publish(tp->to_relay);
	pthread_mutex_unlock(&tp->ring_lock);
	char pk[65];
	ch_hex_encode(pk, sizeof(pk), p->remote_pk, 32);
	CH_LOG_INFO("peer %s connected (%s, %s, %s, key %.16s...)", p->addr,
	            p->inbound ? "inbound" : "outbound", p->user_agent,
	            p->suite == NOISE_SUITE_AESGCM ? "aes-256-gcm" : "chacha20-poly1305", pk);
	emit(p, "peer_connected", "", 0);
	send_ping(p, now);
}

/* handshake_done: after split, checks who the peer is and its hello. */
static void handshake_done(tp_peer_t *p, const uint8_t *hello, size_t hlen, uint64_t now)
{
	tp_t *tp = p->w->tp;
	memcpy(p->remote_pk, p->hs->remote_pk, 32);
	p->suite = p->hs->suite;
	uint8_t h[NOISE_HELLO_MAX];
	memcpy(h, hello, hlen); /* hello points into hs, freed by split */
	if (noise_split(p->hs, &p->tx, &p->rx) != 0) {
		tp_conn_close(p, "handshake state error");
		return;
	}
	sodium_memzero(p->hs, sizeof(*p->hs));
	free(p->hs);
	p->hs = NULL;
	p->state = TP_OPEN; /* records from here on */
	if (memcmp(p->remote_pk, tp->ident.pk.b, 32) == 0) {
		/* the main thread sees this reason and stops dialing the address */
		p->state = TP_HS_MSG3; /* not counted as open */
		tp_conn_close(p, "connected to ourselves");
		return;
	}
	char why[160];
	if (check_hello(p, h, hlen, why, sizeof(why)) != 0) {
		CH_LOG_WARN("refusing peer %s: %s", p->addr, why);
		send_reject(p, why, now);
		p->state = TP_HS_MSG3;
		tp_misbehave(p, 5, "refused: %s", why);
		tp_conn_close(p, why);
		return;
	}
	p->state = TP_HS_MSG3;
	peer_up(p, now);
}

/* ---------------------------------------------------------------- frames */

typedef struct batch {
	bool locked; /* ring_lock held */
	bool wrote;
} batch_t;

static void batch_end(tp_t *tp, batch_t *b)
{
	if (!b->locked)
		return;
	if (b->wrote)
		shm_ring_publish(tp->to_relay);
	pthread_mutex_unlock(&tp->ring_lock);
	b->locked = b->wrote = false;
}

/* deliver: a frame for relay.  false if the ring is full (the frame stays
 * unconsumed and the peer pauses). */
static bool deliver(tp_peer_t *p, uint8_t type, const uint8_t *payload, uint32_t len, batch_t *b)
{
	tp_t *tp = p->w->tp;
	if (!b->locked) {
		pthread_mutex_lock(&tp->ring_lock);
		b->locked = true;
	}
	ch_msg_peer_msg_t m = {.peer = p->handle, .type = type};
	if (!ring_put(tp, CH_TAG_PEER_MSG, &m, sizeof(m), payload, len)) {
		atomic_fetch_add(&tp->c_ring_full, 1);
		return false;
	}
	b->wrote = true;
	if (type == WIRE_TX || type == WIRE_BLOCK)
		atomic_store_explicit(&p->last_useful_ns, ch_mono_ns(), memory_order_relaxed);
	return true;
}

static void on_pong(tp_peer_t *p, const uint8_t *payload, uint32_t len, uint64_t now)
{
	uint64_t n;
	if (ping_decode(payload, len, &n) == 0 && p->ping_sent_ns && n == p->ping_nonce) {
		atomic_store(&p->rtt_us, (int64_t)((now - p->ping_sent_ns) / 1000));
		p->ping_sent_ns = 0;
		p->ping_done_ns = now;
	}
}

static void on_reject(tp_peer_t *p, const uint8_t *payload, uint32_t len)
{
	char reason[200];
	if (reject_decode(payload, len, reason, sizeof(reason)) != 0 || !reason[0])
		snprintf(reason, sizeof(reason), "no reason given");
	CH_LOG_WARN("peer %s refused us: %s", p->addr, reason);
	char why[240];
	snprintf(why, sizeof(why), "refused by peer: %s", reason);
	tp_conn_close(p, why);
}

/* pex_frame: GETPEERS and PEERS are discovery's: rate-limited per peer
 * and type, then queued for PUB (event.transport.peer_msg). */
static void pex_frame(tp_peer_t *p, uint8_t type, const uint8_t *payload, uint32_t len,
                      uint64_t now)
{
	ch_tbucket_t *b = type == WIRE_GETPEERS ? &p->getpeers_bucket : &p->peers_bucket;
	if (!ch_tbucket_take(b, 1, now)) {
		tp_misbehave(p, TP_PEX_POINTS, "%s flood", wire_type_name(type));
		return;
	}
	tp_pmsg_push(p->w->tp, p->handle, type, p->addr, payload, len);
}

/* frames: parses whole frames out of pbuf and acts on them. */
static void frames(tp_peer_t *p, uint64_t now, batch_t *b)
{
	tp_t *tp = p->w->tp;
	size_t off = 0;
	while (!p->closing && p->plen - off >= WIRE_HDR_LEN) {
		wire_hdr_t h;
		int rc = wire_get_hdr(p->pbuf + off, tp->magic, tp->lim.block_max, &h);
		if (rc == CH_EPROTO) {
			atomic_fetch_add(&tp->c_bad_frames, 1);
			tp_misbehave(p, TP_BAN_SCORE, "frame with a wrong magic");
			break;
		}
		if (rc == CH_ERANGE) {
			atomic_fetch_add(&tp->c_bad_frames, 1);
			tp_misbehave(p, TP_BAN_SCORE, "oversized %s frame: %u bytes (max %u)",
			             wire_type_name(h.type), h.len,
			             wire_max_len(h.type, tp->lim.block_max));
			break;
		}
		if (p->plen - off < WIRE_HDR_LEN + (size_t)h.len)
			break; /* the rest is still on its way */
		const uint8_t *payload = p->pbuf + off + WIRE_HDR_LEN;
		/* a frame left at pbuf[0] by a pause was checked and charged
		 * when it first came: the retries are ours, not the peer's */
		bool charged = off == 0 && p->head_charged;
		p->head_charged = false;
		if (!charged && !wire_crc_ok(&h, payload)) {
			atomic_fetch_add(&tp->c_bad_frames, 1);
			tp_misbehave(p, TP_BAN_SCORE / 2 + 1, "bad checksum on a %s frame",
			             wire_type_name(h.type));
			tp_conn_close(p, "bad frame checksum");
			break;
		}
		if (!charged && h.type == WIRE_PING && !ch_tbucket_take(&p->ping_bucket, 1, now)) {
			tp_misbehave(p, 10, "ping flood");
			off += WIRE_HDR_LEN + h.len;
			continue;
		}
		if (!charged && (!ch_tbucket_take(&p->msg_bucket, 1, now) ||
		                 !ch_tbucket_take(&p->byte_bucket, h.len, now))) {
			tp_misbehave(p, 1, "message rate above the limit");
			off += WIRE_HDR_LEN + h.len;
			continue;
		}
		switch (h.type) {
		case WIRE_PING:
			stage_frame(p, WIRE_PONG, payload, h.len);
			break;
		case WIRE_PONG:
			on_pong(p, payload, h.len, now);
			break;
		case WIRE_REJECT:
			on_reject(p, payload, h.len);
			break;
		case WIRE_GETPEERS:
		case WIRE_PEERS:
			pex_frame(p, h.type, payload, h.len, now);
			break;
		case WIRE_INV:
		case WIRE_GETDATA:
		case WIRE_NOTFOUND:
		case WIRE_TX:
		case WIRE_BLOCK:
			if (!deliver(p, h.type, payload, h.len, b)) {
				p->paused = true; /* resumes when relay drains */
				p->head_charged = true;
				goto stop;
			}
			break;
		default:
			break; /* a newer version's type: skipped */
		}
		atomic_fetch_add_explicit(&p->msgs_in, 1, memory_order_relaxed);
		tp_count_type(p->w->type_in, p->w->type_in_bytes, h.type, h.len);
		off += WIRE_HDR_LEN + h.len;
	}
stop:
	if (off) {
		memmove(p->pbuf, p->pbuf + off, p->plen - off);
		p->plen -= off;
	}
	if (p->slen)
		seal_staged(p, now);
}

/* ---------------------------------------------------------------- input */

/* hs_step: one handshake message in buf[0..len).  Returns the bytes it
 * used, 0 if more are needed, or SIZE_MAX after closing the peer. */
static size_t hs_step(tp_peer_t *p, const uint8_t *buf, size_t len, uint64_t now)
{
	tp_t *tp = p->w->tp;
	size_t need;
	const uint8_t *hello;
	size_t hlen;
	uint8_t out[NOISE_MSG2_MAX];
	uint8_t mine[sizeof(tp->hello)]; /* our hello, with the current time */
	size_t mlen;
	size_t olen;
	int rc;
	switch (p->state) {
	case TP_HS_MSG1:
		if (len < NOISE_MSG1_LEN) {
			/* garbage shows itself early: an HTTP probe, a wrong port */
			if (len >= 4 && memcmp(buf, "CHR1", 4) != 0) {
				atomic_fetch_add(&tp->c_handshake_fail, 1);
				tp_misbehave(p, TP_BAN_SCORE, "garbage before the handshake");
				return SIZE_MAX;
			}
			return 0;
		}
		rc = noise_read_msg1(p->hs, buf, NOISE_MSG1_LEN);
		if (rc) {
			atomic_fetch_add(&tp->c_handshake_fail, 1);
			if (rc == CH_EVERSION)
				tp_misbehave(p, 10, "unsupported handshake version %u", buf[4]);
			else if (rc == CH_ECRYPTO)
				tp_misbehave(p, 10, "no cipher suite in common");
			else
				tp_misbehave(p, TP_BAN_SCORE, "garbage before the handshake");
			tp_conn_close(p, "bad handshake message 1");
			return SIZE_MAX;
		}
		if (tp_hello_build(tp, mine, sizeof(mine), &mlen) != 0 ||
		    noise_write_msg2(p->hs, mine, mlen, out, sizeof(out), &olen)) {
			tp_conn_close(p, "handshake state error");
			return SIZE_MAX;
		}
		if (!grow(&p->wbuf, &p->wcap, p->wlen + olen)) {
			tp_conn_close(p, "out of memory");
			return SIZE_MAX;
		}
		memcpy(p->wbuf + p->wlen, out, olen);
		p->wlen += olen;
		write_out(p, now);
		p->state = TP_HS_MSG3;
		return NOISE_MSG1_LEN;
	case TP_HS_MSG2:
		need = noise_msg2_len(buf, len);
		if (need == SIZE_MAX) {
			tp_misbehave(p, TP_BAN_SCORE, "malformed handshake message 2");
			return SIZE_MAX;
		}
		if (need == 0 || len < need)
			return 0;
		rc = noise_read_msg2(p->hs, buf, need, p->has_expect ? p->expect_pk : NULL, &hello,
		                     &hlen);
		if (rc) {
			atomic_fetch_add(&tp->c_handshake_fail, 1);
			if (rc == CH_EPERM) {
				char want[65], got[65];
				ch_hex_encode(want, sizeof(want), p->expect_pk, 32);
				ch_hex_encode(got, sizeof(got), p->hs->remote_pk, 32);
				tp_misbehave(p, 10, "impostor: expected key %.16s..., got %.16s...",
				             want, got);
			} else {
				tp_misbehave(p, TP_BAN_SCORE, "bad handshake message 2 (%s)",
				             ch_strerror(rc));
			}
			tp_conn_close(p, "handshake failed");
			return SIZE_MAX;
		}
		uint8_t m3[NOISE_MSG3_MAX];
		if (tp_hello_build(tp, mine, sizeof(mine), &mlen) != 0 ||
		    noise_write_msg3(p->hs, mine, mlen, m3, sizeof(m3), &olen) ||
		    !grow(&p->wbuf, &p->wcap, p->wlen + olen)) {
			tp_conn_close(p, "handshake state error");
			return SIZE_MAX;
		}
		memcpy(p->wbuf + p->wlen, m3, olen);
		p->wlen += olen;
		write_out(p, now);
		handshake_done(p, hello, hlen, now);
		return need;
	case TP_HS_MSG3:
		need = noise_msg3_len(buf, len);
		if (need == SIZE_MAX) {
			tp_misbehave(p, TP_BAN_SCORE, "malformed handshake message 3");
			return SIZE_MAX;
		}
		if (need == 0 || len < need)
			return 0;
		rc = noise_read_msg3(p->hs, buf, need, &hello, &hlen);
		if (rc) {
			atomic_fetch_add(&tp->c_handshake_fail, 1);
			tp_misbehave(p, TP_BAN_SCORE, "bad handshake message 3 (%s)",
			             ch_strerror(rc));
			tp_conn_close(p, "handshake failed");
			return SIZE_MAX;
		}
		handshake_done(p, hello, hlen, now);
		return need;
	default:
		return SIZE_MAX;
	}
}

/* record_in: opens one whole record in place and appends its plaintext. */
static bool record_in(tp_peer_t *p, uint8_t *rec, size_t len)
{
	size_t plen;
	if (noise_open(&p->rx, rec, len, &plen) != 0) {
		atomic_fetch_add(&p->w->tp->c_bad_frames, 1);
		tp_misbehave(p, TP_BAN_SCORE, "record failed authentication");
		tp_conn_close(p, "bad record tag");
		return false;
	}
	if (plen == 0) /* an empty record is valid; pbuf may not exist yet */
		return true;
	if (!grow(&p->pbuf, &p->pcap, p->plen + plen)) {
		tp_conn_close(p, "out of memory");
		return false;
	}
	memcpy(p->pbuf + p->plen, rec + NOISE_REC_HDR, plen);
	p->plen += plen;
	return true;
}

/* handshake_in: appends bytes to rbuf and runs handshake steps while whole
 * messages are there.  Returns true when the handshake is done and the
 * bytes after it (records already sent by the peer) were moved to the
 * start of data, with *n set to their count. */
static bool handshake_in(tp_peer_t *p, uint8_t *data, size_t *n, uint64_t now)
{
	if (!grow(&p->rbuf, &p->rcap, p->rlen + *n)) {
		tp_conn_close(p, "out of memory");
		return false;
	}
	memcpy(p->rbuf + p->rlen, data, *n);
	p->rlen += *n;
	*n = 0;
	while (p->state != TP_OPEN && !p->closing) {
		size_t used = hs_step(p, p->rbuf, p->rlen, now);
		if (used == SIZE_MAX || p->closing)
			return false;
		if (used == 0) {
			if (p->rlen > NOISE_MSG2_MAX)
				tp_misbehave(p, TP_BAN_SCORE, "oversized handshake message");
			return false;
		}
		memmove(p->rbuf, p->rbuf + used, p->rlen - used);
		p->rlen -= used;
	}
	if (p->closing)
		return false;
	/* at most one read's worth: fits in the scratch data came from */
	memcpy(data, p->rbuf, p->rlen);
	*n = p->rlen;
	p->rlen = 0;
	return true;
}

/* consume: handles bytes just read (data[0..n), in the worker's scratch):
 * the handshake, then whole records opened in place, a partial record
 * kept in rbuf, then the frames their plaintext completes. */
static void consume(tp_peer_t *p, uint8_t *data, size_t n, uint64_t now, batch_t *b)
{
	if (p->state != TP_OPEN && !handshake_in(p, data, &n, now))
		return;
	while (n && !p->closing) {
		if (p->rlen) { /* complete the partial record first */
			size_t need = noise_rec_len(p->rbuf, p->rlen);
			if (need == 0) {
				size_t k =
				    NOISE_REC_HDR - p->rlen < n ? NOISE_REC_HDR - p->rlen : n;
				memcpy(p->rbuf + p->rlen, data, k);
				p->rlen += k;
				data += k;
				n -= k;
				continue;
			}
			if (need == SIZE_MAX) {
				tp_misbehave(p, TP_BAN_SCORE, "record length out of range");
				return;
			}
			if (!grow(&p->rbuf, &p->rcap, need)) {
				tp_conn_close(p, "out of memory");
				return;
			}
			size_t k = need - p->rlen < n ? need - p->rlen : n;
			memcpy(p->rbuf + p->rlen, data, k);
			p->rlen += k;
			data += k;
			n -= k;
			if (p->rlen < need)
				break;
			p->rlen = 0;
			if (!record_in(p, p->rbuf, need))
				return;
			continue;
		}
		size_t need = noise_rec_len(data, n);
		if (need == SIZE_MAX) {
			tp_misbehave(p, TP_BAN_SCORE, "record length out of range");
			return;
		}
		if (need == 0 || need > n) { /* keep the partial record */
			if (!grow(&p->rbuf, &p->rcap, n > NOISE_REC_HDR ? n : NOISE_REC_HDR)) {
				tp_conn_close(p, "out of memory");
				return;
			}
			memcpy(p->rbuf, data, n);
			p->rlen = n;
			break;
		}
		if (!record_in(p, data, need))
			return;
		data += need;
		n -= need;
	}
	if (p->state == TP_OPEN && !p->closing)
		frames(p, now, b);
}

static void read_in(tp_peer_t *p, uint64_t now)
{
	tp_worker_t *w = p->w;
	batch_t b = {0};
	for (int rounds = 0; rounds < 16 && !p->closing && !p->paused && !p->muted; rounds++) {
		ssize_t n = read(p->fd, w->scratch, 64 * 1024);
		if (n > 0) {
			atomic_fetch_add_explicit(&p->bytes_in, (uint64_t)n, memory_order_relaxed);
			p->last_recv_ns = now;
			consume(p, w->scratch, (size_t)n, now, &b);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		tp_conn_close(p, n == 0 ? "closed by peer" : strerror(errno));
		break;
	}
	batch_end(w->tp, &b);
	arm(p, p->want_out); /* paused or muted: no EPOLLIN, TCP backpressure */
}

void tp_conn_resume(tp_peer_t *p, uint64_t now)
{
	if (!p->paused || p->closing)
		return;
	batch_t b = {0};
	p->paused = false;
	frames(p, now, &b);
	batch_end(p->w->tp, &b);
	arm(p, p->want_out); /* still full: stay paused; otherwise listen again */
}

/* ---------------------------------------------------------------- life */

tp_peer_t *tp_conn_new(tp_worker_t *w, const tp_newconn_t *nc)
{
	tp_t *tp = w->tp;
	uint64_t now = ch_mono_ns();
	tp_peer_t *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->hs = malloc(sizeof(*p->hs));
	if (!p->hs) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->out_lock, NULL);
	p->w = w;
	p->fd = nc->fd;
	p->inbound = nc->inbound;
	p->kind = nc->kind;
	p->manual = nc->manual;
	p->sa = nc->sa;
	p->salen = nc->salen;
	p->has_expect = nc->has_expect;
	memcpy(p->expect_pk, nc->expect_pk, 32);
	p->handle = tp_handle_new(tp);
	tp_addr_format(&p->sa, p->addr, sizeof(p->addr), true);
	tp_addr_group(&p->sa, tp->lim.netgroup, &p->group);
	{
		char ip[TP_ADDR_MAX];
		tp_addr_format(&p->sa, ip, sizeof(ip), false);
		atomic_store(&p->score, tp_scores_take(tp->scores, ip, ch_wall_ms()));
	}
	atomic_store(&p->rtt_us, -1);
	p->hs_deadline_ns = now + tp->lim.handshake_ms * 1000000ULL;
	p->last_recv_ns = now;
	ch_tbucket_init(&p->msg_bucket, tp->lim.msg_rate, tp->lim.msg_rate * 2, now);
	ch_tbucket_init(&p->byte_bucket, tp->lim.byte_rate, tp->lim.byte_rate * 2, now);
	ch_tbucket_init(&p->ping_bucket, tp->lim.ping_rate, 10, now);
	ch_tbucket_init(&p->getpeers_bucket, TP_PEX_RATE, TP_PEX_BURST, now);
	ch_tbucket_init(&p->peers_bucket, TP_PEX_RATE, TP_PEX_BURST, now);
	noise_init(p->hs, !p->inbound, &tp->ident, tp->suites, NULL);
	p->state = p->inbound ? TP_HS_MSG1 : TP_CONNECTING;
	struct epoll_event ev = {.data.ptr = p, .events = EPOLLIN | (p->inbound ? 0 : EPOLLOUT)};
	p->want_out = !p->inbound;
	p->armed_in = true;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, p->fd, &ev) != 0) {
		tp_conn_free(p);
		return NULL;
	}
	return p;
}

void tp_conn_on_io(tp_peer_t *p, uint32_t events, uint64_t now)
{
	if (p->closing)
		return;
	if (p->state == TP_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
			err = errno;
		if (err || (events & (EPOLLERR | EPOLLHUP))) {
			char r[96];
			snprintf(r, sizeof(r), "connect failed: %s",
			         strerror(err ? err : ECONNREFUSED));
			tp_conn_close(p, r);
			return;
		}
		if (!(events & EPOLLOUT))
			return;
		uint8_t m1[NOISE_MSG1_LEN];
		noise_write_msg1(p->hs, m1);
		if (!grow(&p->wbuf, &p->wcap, NOISE_MSG1_LEN)) {
			tp_conn_close(p, "out of memory");
			return;
		}
		memcpy(p->wbuf, m1, NOISE_MSG1_LEN);
		p->wlen = NOISE_MSG1_LEN;
		p->state = TP_HS_MSG2;
		write_out(p, now);
		return;
	}
	if ((events & EPOLLOUT) && p->wlen > p->woff) {
		write_out(p, now);
		if (p->slen && !p->closing)
			seal_staged(p, now);
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !p->paused && !p->muted)
		read_in(p, now);
	else if ((events & (EPOLLHUP | EPOLLERR)) && p->muted && !p->closing)
		tp_conn_close(p, "connection reset while muted"); /* HUP is level: no spin */
}

void tp_conn_tick(tp_peer_t *p, uint64_t now)
{
	tp_t *tp = p->w->tp;
	if (p->closing)
		return;
	if (atomic_load(&p->close_req)) {
		tp_conn_close(p,
		              p->close_req_reason[0] ? p->close_req_reason : "closed on request");
		return;
	}
	if (p->state != TP_OPEN) {
		if (now > p->hs_deadline_ns) {
			atomic_fetch_add(&tp->c_handshake_fail, 1);
			if (p->state == TP_CONNECTING) {
				tp_conn_close(p, "connect timed out");
			} else {
				tp_misbehave(p, 20, "handshake not completed in %llu ms",
				             (unsigned long long)tp->lim.handshake_ms);
				tp_conn_close(p, "handshake timeout");
			}
		}
		return;
	}
	if (now - p->last_recv_ns > tp->lim.idle_ms * 1000000ULL) {
		tp_conn_close(p, "idle timeout");
		return;
	}
	if (p->stall_since_ns && now - p->stall_since_ns > tp->lim.send_ms * 1000000ULL) {
		atomic_fetch_add(&tp->c_slow_closed, 1);
		tp_misbehave(p, TP_SLOW_POINTS, "took none of our bytes for %llu ms",
		             (unsigned long long)tp->lim.send_ms);
		tp_conn_close(p, "send timeout: peer does not read");
		return;
	}
	if (p->ping_sent_ns && now - p->ping_sent_ns > tp->lim.ping_ms * 1000000ULL) {
		char r[96];
		snprintf(r, sizeof(r), "PING not answered in %llu ms",
		         (unsigned long long)tp->lim.ping_ms);
		tp_conn_close(p, r);
		return;
	}
	/* every TP_PING_EVERY_NS whatever the peer sends: a peer that talks
	 * but never reads still has to answer */
	if (!p->ping_sent_ns && now - p->ping_done_ns > TP_PING_EVERY_NS)
		send_ping(p, now);
}

static void free_rcu(struct rcu_head *h)
{
	tp_conn_free(caa_container_of(h, tp_peer_t, rcu));
}

void tp_conn_free(tp_peer_t *p)
{
	if (!p)
		return;
	if (p->hs) {
		sodium_memzero(p->hs, sizeof(*p->hs));
		free(p->hs);
	}
	sodium_memzero(&p->tx, sizeof(p->tx));
	sodium_memzero(&p->rx, sizeof(p->rx));
	free(p->rbuf);
	free(p->pbuf);
	free(p->wbuf);
	free(p->stage);
	free(p->obuf);
	pthread_mutex_destroy(&p->out_lock);
	free(p);
}

/* tp_conn_teardown: worker only, after the peer was marked closing. */
void tp_conn_teardown(tp_peer_t *p)
{
	tp_t *tp = p->w->tp;
	bool was_open = false;
	rcu_read_lock();
	was_open = tp_peertab_find(tp_snap_get(&tp->table), p->handle) == p;
	rcu_read_unlock();
	if (p->wlen > p->woff) /* last words (a REJECT): best effort */
		write_out(p, ch_mono_ns());
	pthread_mutex_lock(&p->out_lock);
	p->dead = true;
	pthread_mutex_unlock(&p->out_lock);
	if (was_open) {
		tp_peertab_del(&tp->table, p);
		atomic_fetch_sub(p->inbound ? &tp->n_inbound : &tp->n_outbound, 1);
		ch_msg_peer_down_t d = {.peer = p->handle};
		snprintf(d.reason, sizeof(d.reason), "%s", p->close_reason);
		pthread_mutex_lock(&tp->ring_lock);
		if (!ring_put(tp, CH_TAG_PEER_DOWN, &d, sizeof(d), NULL, 0))
			atomic_fetch_add(&tp->c_ring_full, 1);
		shm_ring_publish(tp->to_relay);
		pthread_mutex_unlock(&tp->ring_lock);
		CH_LOG_INFO("peer %s disconnected: %s", p->addr, p->close_reason);
		emit(p, "peer_disconnected", p->close_reason, 0);
	} else {
		tp_hs_end(tp, &p->sa, p->inbound);
		CH_LOG_INFO("connection %s closed before the handshake finished: %s", p->addr,
		            p->close_reason);
		if (!p->feeler_done) /* a feeler's success was reported already */
			emit(p, "connection_failed", p->close_reason, 0);
	}
	{
		char ip[TP_ADDR_MAX];
		tp_addr_format(&p->sa, ip, sizeof(ip), false);
		tp_scores_keep(tp->scores, ip, atomic_load(&p->score), ch_wall_ms());
	}
	epoll_ctl(p->w->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	close(p->fd);
	p->fd = -1;
	call_rcu(&p->rcu, free_rcu);
}
