/* chorus-transport: the only process that talks TCP to peers
 * (DESIGN.md section 3).  This file is the main thread: the service frame's
 * hooks, listeners and admission, dialing, the relay.transport ring
 * (outbound messages into peer outboxes), events and commands.  The I/O
 * happens on worker threads (worker.c, conn.c). */
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "msgs.h"

#define OUT_BATCH     1024 /* relay.transport records per loop turn */
#define DIAL_EVERY_NS (100 * 1000000ULL)
#define BACKOFF_MAX_S 60

/* kind_name: the words of `connect`'s kind and of `peers`. */
static const char *kind_name(tp_kind_t k)
{
	return k == TP_KIND_FEELER        ? "feeler"
	       : k == TP_KIND_BLOCK_RELAY ? "block-relay"
	                                  : "outbound";
}

/* kind_parse: `connect`'s kind argument and peers.dat's fourth column. */
static int kind_parse(const char *s, tp_kind_t *k)
{
	if (strcmp(s, "outbound") == 0)
		*k = TP_KIND_OUTBOUND;
	else if (strcmp(s, "feeler") == 0)
		*k = TP_KIND_FEELER;
	else if (strcmp(s, "block-relay") == 0)
		*k = TP_KIND_BLOCK_RELAY;
	else
		return CH_EINVAL;
	return 0;
}

/* ---------------------------------------------------------------- targets */

/* targets_save: peers.dat, one target a line (key, host, port, kind),
 * written atomically and synced so a crash keeps the old list or the new. */
static void targets_save(tp_t *tp)
{
	/* room for the longest line (key, host, port, kind, separators) each */
	char buf[TP_SEEN_MAX * (64 + CH_HOST_MAX + 6 + 16 + 4)];
	char path[CH_PATH_MAX + 16];
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/peers.dat", tp->datadir);
	for (size_t i = 0; i < tp->ntargets; i++) {
		struct tp_target *t = &tp->targets[i];
		if (t->is_self || !t->has_pk)
			continue;
		char pk[65];
		ch_hex_encode(pk, sizeof(pk), t->pk, 32);
		int n = snprintf(buf + len, sizeof(buf) - len, "%s %s %u %s\n", pk, t->host,
		                 t->port, kind_name(t->kind));
		if (n < 0 || (size_t)n >= sizeof(buf) - len)
			break; /* cannot happen: buf holds TP_SEEN_MAX longest lines */
		len += (size_t)n;
	}
	if (ch_file_write_atomic(path, buf, len, 0644, 1) != 0)
		ch_log_errno(CH_LOG_LEVEL_ERROR, ch_file_failed_call(),
		             "cannot save the connect targets to %s", path);
}

/* target_add: a peer to keep connected to (a `connect` without once).
 * Known ones are updated. */
static struct tp_target *target_add(tp_t *tp, const char *host, uint16_t port, const uint8_t *pk,
                                    tp_kind_t kind)
{
	for (size_t i = 0; i < tp->ntargets; i++) {
		struct tp_target *t = &tp->targets[i];
		if (t->port == port && strcmp(t->host, host) == 0) {
			if (pk) {
				t->has_pk = true;
				memcpy(t->pk, pk, 32);
			}
			t->kind = kind;
			t->next_try_ns = 0;
			return t;
		}
	}
	if (tp->ntargets >= TP_SEEN_MAX)
		return NULL;
	struct tp_target *t = &tp->targets[tp->ntargets++];
	memset(t, 0, sizeof(*t));
	snprintf(t->host, sizeof(t->host), "%s", host);
	t->port = port;
	t->kind = kind;
	if (pk) {
		t->has_pk = true;
		memcpy(t->pk, pk, 32);
	}
	return t;
}

/* targets_load: the operator's targets of earlier runs (peers.dat: key,
 * host, port and, since issue 8, kind). */
static void targets_load(tp_t *tp)
{
	char path[CH_PATH_MAX + 16], line[512];
	snprintf(path, sizeof(path), "%s/peers.dat", tp->datadir);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char pkhex[65], host[CH_HOST_MAX], kind[16] = "outbound";
		unsigned port;
		uint8_t pk[32];
		size_t len;
		tp_kind_t k = TP_KIND_OUTBOUND;
		if (sscanf(line, "%64s %255s %u %15s", pkhex, host, &port, kind) < 3 || port == 0 ||
		    port > 65535 || ch_hex_decode(pk, sizeof(pk), pkhex, &len) != 0 || len != 32)
			continue;
		kind_parse(kind, &k);
		target_add(tp, host, (uint16_t)port, pk,
		           k == TP_KIND_FEELER ? TP_KIND_OUTBOUND : k);
	}
	fclose(f);
}

/* resolve: host and port to a socket address (numeric first). */
static int resolve(const char *host, uint16_t port, struct sockaddr_storage *sa, socklen_t *len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char ps[8];
	snprintf(ps, sizeof(ps), "%u", port);
	if (getaddrinfo(host[0] ? host : "127.0.0.1", ps, &hints, &res) != 0 || !res)
		return CH_ENOENT;
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* target_connected: a peer in the table is this target (by key, or by
 * address and the port it listens on). */
static bool target_connected(tp_t *tp, const struct tp_target *t, const char *ip)
{
	bool yes = false;
	rcu_read_lock();
	tp_snap_t *s = tp_snap_get(&tp->table);
	for (size_t i = 0; i < s->n && !yes; i++) {
		tp_peer_t *p = s->list[i];
		if (t->has_pk && memcmp(p->remote_pk, t->pk, 32) == 0) {
			yes = true;
			break;
		}
		char pip[TP_ADDR_MAX];
		tp_addr_format(&p->sa, pip, sizeof(pip), false);
		uint16_t port =
		    ntohs(p->sa.ss_family == AF_INET ? ((struct sockaddr_in *)&p->sa)->sin_port
		                                     : ((struct sockaddr_in6 *)&p->sa)->sin6_port);
		yes = strcmp(pip, ip) == 0 && (port == t->port || p->listen_port == t->port);
	}
	rcu_read_unlock();
	return yes;
}

/* bind_source: a node listening on one specific address dials from it
 * too, so peers see (and pass on) the address it accepts connections on;
 * with a wildcard listen host the kernel picks.  Best effort. */
static void bind_source(tp_t *tp, int fd, int family)
{
	const char *host = tp->cfg->listen.host;
	if (family == AF_INET) {
		struct sockaddr_in s4 = {.sin_family = AF_INET};
		if (inet_pton(AF_INET, host, &s4.sin_addr) == 1 && s4.sin_addr.s_addr != INADDR_ANY)
			(void)bind(fd, (struct sockaddr *)&s4, sizeof(s4));
	} else if (family == AF_INET6) {
		struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
		if (inet_pton(AF_INET6, host, &s6.sin6_addr) == 1 &&
		    !IN6_IS_ADDR_UNSPECIFIED(&s6.sin6_addr))
			(void)bind(fd, (struct sockaddr *)&s6, sizeof(s6));
	}
}

/* dial: one outbound connection to t; manual for persistent targets,
 * not for discovery's `connect ... once`. */
static int dial(tp_t *tp, struct tp_target *t, bool manual)
{
	struct sockaddr_storage sa;
	socklen_t len;
	if (resolve(t->host, t->port, &sa, &len) != 0) {
		CH_LOG_WARN("cannot resolve %s:%u", t->host, t->port);
		return CH_ENOENT;
	}
	char ip[TP_ADDR_MAX];
	tp_addr_format(&sa, ip, sizeof(ip), false);
	if (tp_bans_check(tp->bans, ip, ch_wall_ms()))
		return CH_EPERM;
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return CH_EIO;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bind_source(tp, fd, sa.ss_family);
	if (connect(fd, (struct sockaddr *)&sa, len) != 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		CH_LOG_INFO("dial %s:%u: connect: %s", t->host, t->port, strerror(e));
		return CH_EIO;
	}
	tp_newconn_t nc = {.fd = fd,
	                   .inbound = false,
	                   .kind = t->kind,
	                   .manual = manual,
	                   .sa = sa,
	                   .salen = len,
	                   .has_expect = t->has_pk};
	memcpy(nc.expect_pk, t->pk, 32);
	tp_worker_t *w = &tp->workers[tp->next_worker++ % tp->nworkers];
	tp_hs_begin(tp, &sa, false);
	if (tp_worker_give(w, &nc) != 0) {
		tp_hs_end(tp, &sa, false);
		close(fd);
		return CH_ENOMEM;
	}
	atomic_fetch_add(&tp->c_dialed, 1);
	return 0;
}

/* dial_due: keeps the persistent targets (the operator's `connect`)
 * connected, each with its own backoff. */
static void dial_due(tp_t *tp, uint64_t now)
{
	for (size_t i = 0; i < tp->ntargets; i++) {
		struct tp_target *t = &tp->targets[i];
		if (t->is_self || now < t->next_try_ns)
			continue;
		struct sockaddr_storage sa;
		socklen_t len;
		char ip[TP_ADDR_MAX] = "";
		if (resolve(t->host, t->port, &sa, &len) == 0)
			tp_addr_format(&sa, ip, sizeof(ip), false);
		if (target_connected(tp, t, ip)) {
			t->failures = 0;
			t->next_try_ns = now + 1000000000ULL;
			continue;
		}
		/* the operator's targets are on top of discovery's max-outbound */
		uint32_t shift = t->failures < 6 ? t->failures : 6;
		uint64_t wait_s = (1ULL << shift) < BACKOFF_MAX_S ? (1ULL << shift) : BACKOFF_MAX_S;
		/* the handshake timeout bounds one attempt; then back off */
		t->next_try_ns = now + tp->lim.handshake_ms * 1000000ULL + wait_s * 500000000ULL;
		if (dial(tp, t, true) == 0)
			t->failures++; /* reset once connected */
	}
}

/* ---------------------------------------------------------------- events */

/* target_matches: an event's "ip:port" is this target's address (a
 * numeric host; names are never matched, so an unrelated peer on the same
 * port cannot be taken for a target). */
static bool target_matches(const struct tp_target *t, const char *addr)
{
	char a[CH_HOST_MAX + 16];
	snprintf(a, sizeof(a), strchr(t->host, ':') ? "[%s]:%u" : "%s:%u", t->host, t->port);
	return strcmp(a, addr) == 0;
}

/* note_targets: what the events teach the persistent targets: our own
 * address is not dialed again, a connected target's key is remembered. */
static void note_targets(tp_t *tp, const tp_event_t *e)
{
	if (strcmp(e->what, "connection_failed") == 0 &&
	    strcmp(e->reason, "connected to ourselves") == 0) {
		for (size_t k = 0; k < tp->ntargets; k++)
			if (target_matches(&tp->targets[k], e->addr)) {
				tp->targets[k].is_self = true;
				CH_LOG_INFO("%s:%u is this node; not dialing it again",
				            tp->targets[k].host, tp->targets[k].port);
			}
	}
	if (strcmp(e->what, "peer_connected") == 0 && !e->inbound && e->manual) {
		bool changed = false;
		for (size_t k = 0; k < tp->ntargets; k++) {
			struct tp_target *t = &tp->targets[k];
			if (!target_matches(t, e->addr))
				continue;
			if (!t->has_pk) {
				t->has_pk = ch_hex_decode(t->pk, 32, e->pubkey, NULL) == 0;
				changed = true;
			}
			t->failures = 0;
		}
		if (changed)
			targets_save(tp);
	}
}

/* publish_pmsg: a GETPEERS or PEERS frame for discovery, as
 * event.transport.peer_msg {peer, type, payload, addr}; frees the copy. */
static void publish_pmsg(tp_t *tp, tp_event_t *e)
{
	ch_mpw_t w;
	ch_mpw_init(&w);
	ch_mpw_map(&w, 6);
	ch_mpw_kv_u64(&w, "ts", ch_wall_ms());
	ch_mpw_kv_str(&w, "service", "transport");
	ch_mpw_kv_u64(&w, "peer", e->peer);
	ch_mpw_kv_u64(&w, "type", e->msg_type);
	ch_mpw_kv_bin(&w, "payload", e->payload, e->len);
	ch_mpw_kv_str(&w, "addr", e->addr);
	ch_svc_publish(tp->svc, "peer_msg", &w);
	ch_mpw_free(&w);
	free(e->payload);
	e->payload = NULL;
}

/* publish_events: everything the workers queued, until the queue is
 * empty (a wake-up is only sent when it was). */
static void publish_events(tp_t *tp)
{
	tp_event_t evs[64];
	size_t n;
	do {
		pthread_mutex_lock(&tp->ev_lock);
		n = tp->nev < 64 ? tp->nev : 64;
		memcpy(evs, tp->evq, n * sizeof(evs[0]));
		memmove(tp->evq, tp->evq + n, (tp->nev - n) * sizeof(evs[0]));
		tp->nev -= n;
		for (size_t i = 0; i < n; i++)
			tp->npmq -= evs[i].payload != NULL;
		pthread_mutex_unlock(&tp->ev_lock);
		for (size_t i = 0; i < n; i++) {
			tp_event_t *e = &evs[i];
			if (e->payload != NULL) {
				publish_pmsg(tp, e);
				continue;
			}
			note_targets(tp, e);
			ch_mpw_t w;
			ch_mpw_init(&w);
			ch_mpw_map(&w, 12);
			ch_mpw_kv_u64(&w, "ts", ch_wall_ms());
			ch_mpw_kv_str(&w, "service", "transport");
			ch_mpw_kv_u64(&w, "peer", e->peer);
			ch_mpw_kv_str(&w, "addr", e->addr);
			ch_mpw_kv_str(&w, "reason", e->reason);
			ch_mpw_kv_i64(&w, "points", e->points);
			ch_mpw_kv_i64(&w, "score", e->score);
			ch_mpw_kv_str(&w, "pubkey", e->pubkey);
			ch_mpw_kv_bool(&w, "inbound", e->inbound);
			ch_mpw_kv_u64(&w, "listen_port", e->listen_port);
			ch_mpw_kv_str(&w, "kind", e->inbound ? "inbound" : kind_name(e->kind));
			ch_mpw_kv_bool(&w, "manual", e->manual);
			ch_svc_publish(tp->svc, e->what, &w);
			ch_mpw_free(&w);
		}
	} while (n > 0);
}

/* ---------------------------------------------------------------- outbound */

/* append_frame: one frame into a peer's outbox, never waiting: everything
 * the peer has waiting (outbox, staged, unsent; the worker publishes the
 * last two under out_lock) is bounded: a frame that would take it over
 * TP_OUT_HARD marks the peer for disconnection instead.  Returns true if
 * the peer's worker needs a wake-up. */
static bool append_frame(tp_t *tp, tp_peer_t *p, uint8_t type, const uint8_t *payload, uint32_t len)
{
	uint8_t hdr[WIRE_HDR_LEN];
	wire_put_hdr(hdr, tp->magic, type, payload, len);
	pthread_mutex_lock(&p->out_lock);
	if (p->dead || p->overflow) {
		pthread_mutex_unlock(&p->out_lock);
		return false;
	}
	uint64_t waiting = p->olen + atomic_load_explicit(&p->queued, memory_order_relaxed);
	if (waiting + WIRE_HDR_LEN + len > TP_OUT_HARD) {
		p->overflow = true;
	} else {
		size_t need = p->olen + WIRE_HDR_LEN + len;
		if (need > p->ocap) {
			size_t c = p->ocap ? p->ocap : 16384;
			while (c < need)
				c *= 2;
			uint8_t *nb = realloc(p->obuf, c);
			if (!nb) {
				p->overflow = true;
				goto out;
			}
			p->obuf = nb;
			p->ocap = c;
		}
		memcpy(p->obuf + p->olen, hdr, WIRE_HDR_LEN);
		memcpy(p->obuf + p->olen + WIRE_HDR_LEN, payload, len);
		p->olen += WIRE_HDR_LEN + len;
		atomic_fetch_add_explicit(&p->msgs_out, 1, memory_order_relaxed);
		tp_count_type(tp->type_out, tp->type_out_bytes, type, len);
	}
out:
	pthread_mutex_unlock(&p->out_lock);
	return !atomic_exchange_explicit(&p->notified, true, memory_order_acq_rel);
}

static void misbehave_from_relay(tp_t *tp, const ch_msg_misbehave_t *m)
{
	const char *reason = m->reason; /* NUL-terminated by ch_msg_view */
	rcu_read_lock();
	tp_peer_t *p = tp_peertab_find(tp_snap_get(&tp->table), m->peer);
	if (p && m->points > 0 && m->points <= CH_MISBEHAVE_POINTS_MAX) {
		int32_t score = atomic_fetch_add(&p->score, m->points) + m->points;
		atomic_fetch_add(&tp->c_misbehave_points, (uint64_t)m->points);
		CH_LOG_WARN("peer %s misbehaved (+%d, score %d): %s", p->addr, (int)m->points,
		            (int)score, reason);
		tp_event_t ev = {.peer = p->handle, .points = m->points, .score = score};
		snprintf(ev.what, sizeof(ev.what), "peer_misbehaved");
		snprintf(ev.addr, sizeof(ev.addr), "%s", p->addr);
		snprintf(ev.reason, sizeof(ev.reason), "%s", reason);
		tp_event_push(tp, &ev);
		if (score >= TP_BAN_SCORE) {
			char ip[TP_ADDR_MAX];
			tp_addr_format(&p->sa, ip, sizeof(ip), false);
			tp_bans_add(tp->bans, ip, ch_wall_ms() + tp->lim.ban_ms, reason, false);
			atomic_fetch_add(&tp->c_banned, 1);
			snprintf(p->close_req_reason, sizeof(p->close_req_reason), "banned: %s",
			         reason);
			atomic_store(&p->close_req, true);
			tp_worker_wake(p->w);
		}
	}
	rcu_read_unlock();
}

/* drain_relay: outbound records from relay into peer outboxes.  A record
 * is always consumed: what one peer cannot take is its own problem
 * (append_frame), never a reason to hold up the records of others. */
static int drain_relay(tp_t *tp)
{
	bool wake[TP_MAX_WORKERS] = {false};
	int done = 0;
	shm_rec_t rec;
	rcu_read_lock();
	tp_snap_t *s = tp_snap_get(&tp->table);
	while (done < OUT_BATCH) {
		int rc = shm_ring_peek(tp->from_relay, &rec);
		if (rc == CH_EAGAIN)
			break;
		if (rc) {
			CH_LOG_ERROR("relay.transport: %s; skipping the rest of the ring",
			             ch_strerror(rc));
			break;
		}
		ch_msg_t v;
		if (ch_msg_view(rec.tag, rec.data, rec.size, &v) != 0) {
			atomic_fetch_add(&tp->c_out_dropped, 1);
		} else if (rec.tag == CH_TAG_SEND) {
			const ch_msg_send_t *m = &v.m.send;
			uint32_t max = wire_max_len(m->type, tp->lim.block_max);
			if (m->type == 0 || m->type > WIRE_TYPE_MAX || v.body_len > max) {
				atomic_fetch_add(&tp->c_out_dropped, 1);
			} else if (m->mode == CH_SEND_ONE) {
				tp_peer_t *p = tp_peertab_find(s, m->peer);
				if (p && append_frame(tp, p, m->type, v.body, v.body_len))
					wake[p->w->idx] = true;
				else if (!p)
					atomic_fetch_add(&tp->c_out_dropped, 1);
			} else {
				for (size_t i = 0; i < s->n; i++)
					if (s->list[i]->handle != m->except &&
					    append_frame(tp, s->list[i], m->type, v.body,
					                 v.body_len))
						wake[s->list[i]->w->idx] = true;
			}
		} else if (rec.tag == CH_TAG_SEND_LIST) {
			const ch_msg_send_list_t *m = &v.m.send_list;
			if (m->type == 0 || m->type > WIRE_TYPE_MAX) {
				atomic_fetch_add(&tp->c_out_dropped, 1);
			} else {
				for (uint32_t k = 0; k < m->npeers; k++) {
					uint64_t h;
					memcpy(&h, v.list + 8 * (size_t)k, 8);
					tp_peer_t *p = tp_peertab_find(s, h);
					if (p && append_frame(tp, p, m->type, v.body, v.body_len))
						wake[p->w->idx] = true;
				}
			}
		} else if (rec.tag == CH_TAG_MISBEHAVE) {
			misbehave_from_relay(tp, &v.m.misbehave);
		} else { /* a record of another ring */
			atomic_fetch_add(&tp->c_out_dropped, 1);
		}
		shm_ring_advance(tp->from_relay);
		done++;
	}
	rcu_read_unlock();
	if (done)
		shm_ring_commit(tp->from_relay);
	for (int i = 0; i < tp->nworkers; i++)
		if (wake[i])
			tp_worker_wake(&tp->workers[i]);
	return done;
}

/* ---------------------------------------------------------------- accept */

/* on_wake: a worker queued events; the next loop turn (tp_work)
 * publishes them. */
static void on_wake(ch_svc_t *svc, void *arg, int fd, short revents)
{
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v));
	(void)n;
}

static void on_accept(ch_svc_t *svc, void *arg, int fd, short revents)
{
	tp_t *tp = arg;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		int c = accept4(fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0)
			return;
		char why[192];
		char addr[TP_ADDR_MAX];
		tp_addr_format(&sa, addr, sizeof(addr), true);
		if (tp_admit_inbound(tp, &sa, why, sizeof(why)) != 0) {
			atomic_fetch_add(&tp->c_refused, 1);
			CH_LOG_INFO("refused inbound %s: %s", addr, why);
			close(c);
			continue;
		}
		int one = 1;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		tp_newconn_t nc = {.fd = c, .inbound = true, .sa = sa, .salen = len};
		tp_hs_begin(tp, &sa, true);
		if (tp_worker_give(&tp->workers[tp->next_worker++ % tp->nworkers], &nc) != 0) {
			tp_hs_end(tp, &sa, true);
			close(c);
			continue;
		}
		atomic_fetch_add(&tp->c_accepted, 1);
	}
}

static int listen_on(tp_t *tp, const ch_hostport_t *hp)
{
	struct sockaddr_storage sa;
	socklen_t len;
	memset(&sa, 0, sizeof(sa));
	if (!hp->host[0]) { /* every address, IPv6 and IPv4 */
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons(hp->port);
		len = sizeof(*s6);
	} else if (resolve(hp->host, hp->port, &sa, &len) != 0) {
		CH_LOG_ERROR("listen: cannot resolve %s", hp->str);
		return CH_EINVAL;
	}
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return CH_EIO;
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&sa, len) != 0 || listen(fd, 128) != 0) {
		ch_log_errno(CH_LOG_LEVEL_ERROR, "bind", "cannot listen on %s", hp->str);
		close(fd);
		return CH_EIO;
	}
	tp->listen_fd[tp->nlisten++] = fd;
	tp->listen_port = hp->port;
	return ch_svc_watch(tp->svc, fd, ZMQ_POLLIN, on_accept, tp);
}

/* ---------------------------------------------------------------- commands */

static int cmd_peers(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	tp_t *tp = user;
	rcu_read_lock();
	tp_snap_t *s = tp_snap_get(&tp->table);
	ch_mpw_map(out, 1);
	ch_mpw_key(out, "peers");
	msgpack_pack_array(&out->pk, s->n);
	for (size_t i = 0; i < s->n; i++) {
		tp_peer_t *p = s->list[i];
		char pk[65], since[32];
		ch_hex_encode(pk, sizeof(pk), p->remote_pk, 32);
		ch_time_format_iso(p->connected_wall_ms, since, sizeof(since));
		int64_t rtt = atomic_load(&p->rtt_us);
		ch_mpw_map(out, 16);
		ch_mpw_kv_u64(out, "id", p->handle);
		ch_mpw_kv_str(out, "pubkey", pk);
		ch_mpw_kv_str(out, "addr", p->addr);
		ch_mpw_kv_str(out, "direction", p->inbound ? "inbound" : "outbound");
		ch_mpw_kv_i64(out, "rtt_us", rtt);
		ch_mpw_kv_u64(out, "bytes_in", atomic_load(&p->bytes_in));
		ch_mpw_kv_u64(out, "bytes_out", atomic_load(&p->bytes_out));
		ch_mpw_kv_u64(out, "msgs_in", atomic_load(&p->msgs_in));
		ch_mpw_kv_u64(out, "msgs_out", atomic_load(&p->msgs_out));
		ch_mpw_kv_i64(out, "score", atomic_load(&p->score));
		ch_mpw_kv_str(out, "since", since);
		ch_mpw_kv_str(out, "encryption",
		              p->suite == NOISE_SUITE_AESGCM ? "aes-256-gcm" : "chacha20-poly1305");
		ch_mpw_kv_str(out, "agent", p->user_agent);
		ch_mpw_kv_str(out, "kind", p->inbound ? "inbound" : kind_name(p->kind));
		ch_mpw_kv_bool(out, "manual", p->manual);
		ch_mpw_kv_u64(out, "listen_port", p->listen_port);
	}
	rcu_read_unlock();
	return 0;
}

/* peer_list: the connected peers for other services (relay rebuilding its
 * peers after a restart, discovery's view of the connections): typed
 * fields, no reply meant for people to parse.
 * {peers: [{id: uint, pubkey: bin 32, addr: str, inbound: bool,
 *           block_relay: bool, kind: "inbound" | "outbound" | "feeler" |
 *           "block-relay" (the words of the peer events), manual: bool,
 *           listen_port: uint}]} */
static int cmd_peer_list(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	tp_t *tp = user;
	(void)svc;
	(void)req;
	rcu_read_lock();
	tp_snap_t *s = tp_snap_get(&tp->table);
	ch_mpw_map(out, 1);
	ch_mpw_key(out, "peers");
	msgpack_pack_array(&out->pk, s->n);
	for (size_t i = 0; i < s->n; i++) {
		tp_peer_t *p = s->list[i];
		ch_mpw_map(out, 8);
		ch_mpw_kv_u64(out, "id", p->handle);
		ch_mpw_kv_bin(out, "pubkey", p->remote_pk, 32);
		ch_mpw_kv_str(out, "addr", p->addr);
		ch_mpw_kv_bool(out, "inbound", p->inbound);
		ch_mpw_kv_bool(out, "block_relay", !p->inbound && p->kind == TP_KIND_BLOCK_RELAY);
		ch_mpw_kv_str(out, "kind", p->inbound ? "inbound" : kind_name(p->kind));
		ch_mpw_kv_bool(out, "manual", p->manual);
		ch_mpw_kv_u64(out, "listen_port", p->listen_port);
	}
	rcu_read_unlock();
	return 0;
}

/* parse_target: "HOST:PORT", "[V6]:PORT" or "PUBKEY@..." */
static int parse_target(const char *s, char *host, size_t hcap, uint16_t *port, uint8_t pk[32],
                        bool *has_pk, char *err, size_t ecap)
{
	*has_pk = false;
	const char *at = strchr(s, '@');
	if (at) {
		size_t len;
		char hex[65];
		if ((size_t)(at - s) != 64) {
			snprintf(err, ecap, "the key before '@' must be 64 hex digits");
			return CH_EINVAL;
		}
		memcpy(hex, s, 64);
		hex[64] = 0;
		if (ch_hex_decode(pk, 32, hex, &len) != 0 || len != 32) {
			snprintf(err, ecap, "the key before '@' is not hex");
			return CH_EINVAL;
		}
		*has_pk = true;
		s = at + 1;
	}
	ch_hostport_t hp;
	if (ch_hostport_parse(s, &hp) != 0 || !hp.port || !hp.host[0]) {
		snprintf(err, ecap, "'%s' is not HOST:PORT", s);
		return CH_EINVAL;
	}
	snprintf(host, hcap, "%s", hp.host);
	*port = hp.port;
	return 0;
}

static int arg_str(const msgpack_object *req, const char *key, char *buf, size_t cap, ch_svc_t *svc)
{
	if (ch_mp_get_strz(req, key, buf, cap) != 0) {
		ch_svc_set_error(svc, "missing or bad argument '%s'", key);
		return CH_EINVAL;
	}
	return 0;
}

/* cmd_connect: {addr, kind?, once?}.  Without once the address becomes a
 * persistent target (redialed with backoff, remembered in peers.dat: the
 * operator's `chorusctl connect`); with once it is dialed one time and the
 * outcome only reported (discovery's policy owns retries). */
static int cmd_connect(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	tp_t *tp = user;
	char a[400], host[CH_HOST_MAX], err[128], kind[24] = "outbound";
	uint16_t port;
	uint8_t pk[32];
	bool has_pk, once = false;
	tp_kind_t k = TP_KIND_OUTBOUND;
	if (arg_str(req, "addr", a, sizeof(a), svc))
		return CH_EINVAL;
	if (parse_target(a, host, sizeof(host), &port, pk, &has_pk, err, sizeof(err))) {
		ch_svc_set_error(svc, "%s", err);
		return CH_EINVAL;
	}
	int grc = ch_mp_get_strz(req, "kind", kind, sizeof(kind));
	if ((grc != 0 && grc != CH_ENOENT) || (grc == 0 && kind_parse(kind, &k) != 0)) {
		ch_svc_set_error(svc, "kind must be outbound, feeler or block-relay");
		return CH_EINVAL;
	}
	grc = ch_mp_get_bool(req, "once", &once);
	if (grc != 0 && grc != CH_ENOENT) {
		ch_svc_set_error(svc, "once must be true or false");
		return CH_EINVAL;
	}
	if (k == TP_KIND_FEELER && !once) {
		ch_svc_set_error(svc, "a feeler is dialed once: add once=true");
		return CH_EINVAL;
	}
	if (once) {
		struct tp_target t = {.port = port, .has_pk = has_pk, .kind = k};
		snprintf(t.host, sizeof(t.host), "%s", host);
		memcpy(t.pk, pk, 32);
		int rc = dial(tp, &t, false);
		if (rc) {
			ch_svc_set_error(svc, "cannot dial %s: %s", a, ch_strerror(rc));
			return rc;
		}
	} else {
		struct tp_target *t = target_add(tp, host, port, has_pk ? pk : NULL, k);
		if (!t) {
			ch_svc_set_error(svc, "too many dial targets (%d)", TP_SEEN_MAX);
			return CH_ENOMEM;
		}
		t->is_self = false;
		t->failures = 0;
		t->next_try_ns = 0;
		int rc = dial(tp, t, true);
		if (rc) {
			ch_svc_set_error(svc, "cannot dial %s: %s", a, ch_strerror(rc));
			return rc;
		}
		t->next_try_ns = ch_mono_ns() + tp->lim.handshake_ms * 1000000ULL;
	}
	ch_mpw_map(out, 3);
	ch_mpw_kv_str(out, "dialing", a);
	ch_mpw_kv_str(out, "kind", kind_name(k));
	ch_mpw_kv_bool(out, "once", once);
	return 0;
}

/* cmd_send: {peer, type, payload}: one GETPEERS or PEERS frame to one peer
 * (discovery's peer exchange; relay's messages go through the ring). */
static int cmd_send(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	tp_t *tp = user;
	uint64_t peer, type;
	const void *pl;
	size_t len;
	if (ch_mp_get_u64(req, "peer", &peer) != 0 || ch_mp_get_u64(req, "type", &type) != 0 ||
	    ch_mp_get_bin(req, "payload", &pl, &len) != 0) {
		ch_svc_set_error(svc, "send needs peer (id), type and payload (bin)");
		return CH_EINVAL;
	}
	if (type != WIRE_GETPEERS && type != WIRE_PEERS) {
		ch_svc_set_error(svc, "send carries GETPEERS (3) or PEERS (4) only");
		return CH_EINVAL;
	}
	if (len > wire_max_len((uint8_t)type, tp->lim.block_max)) {
		ch_svc_set_error(svc, "%zu bytes is over the %s maximum of %u", len,
		                 wire_type_name((uint8_t)type),
		                 wire_max_len((uint8_t)type, tp->lim.block_max));
		return CH_ERANGE;
	}
	bool found, wake = false;
	rcu_read_lock();
	tp_peer_t *p = tp_peertab_find(tp_snap_get(&tp->table), peer);
	found = p != NULL;
	if (p)
		wake = append_frame(tp, p, (uint8_t)type, pl, (uint32_t)len);
	if (wake)
		tp_worker_wake(p->w);
	rcu_read_unlock();
	if (!found) {
		ch_svc_set_error(svc, "no connected peer %llu", (unsigned long long)peer);
		return CH_ENOENT;
	}
	ch_mpw_map(out, 1);
	ch_mpw_kv_u64(out, "queued", len);
	return 0;
}

/* find_peers: peers matching an id, a key (or a prefix of it) or an
 * address (with or without port); calls fn on each. */
static int for_matching(tp_t *tp, const char *what, void (*fn)(tp_peer_t *, void *), void *arg)
{
	int n = 0;
	char *end;
	unsigned long long id = strtoull(what, &end, 10);
	bool is_id = *what && *end == 0;
	size_t wl = strlen(what);
	rcu_read_lock();
	tp_snap_t *s = tp_snap_get(&tp->table);
	for (size_t i = 0; i < s->n; i++) {
		tp_peer_t *p = s->list[i];
		char pk[65], ip[TP_ADDR_MAX];
		ch_hex_encode(pk, sizeof(pk), p->remote_pk, 32);
		tp_addr_format(&p->sa, ip, sizeof(ip), false);
		if ((is_id && p->handle == id) || (wl >= 8 && strncmp(pk, what, wl) == 0) ||
		    strcmp(p->addr, what) == 0 || strcmp(ip, what) == 0) {
			fn(p, arg);
			n++;
		}
	}
	rcu_read_unlock();
	return n;
}

static void close_one(tp_peer_t *p, void *arg)
{
	snprintf(p->close_req_reason, sizeof(p->close_req_reason), "%s", (const char *)arg);
	atomic_store(&p->close_req, true);
	tp_worker_wake(p->w);
}

static int cmd_disconnect(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	tp_t *tp = user;
	char who[128];
	if (arg_str(req, "peer", who, sizeof(who), svc))
		return CH_EINVAL;
	int n = for_matching(tp, who, close_one, "disconnected by the operator");
	if (!n) {
		ch_svc_set_error(svc, "no connected peer matches '%s'", who);
		return CH_ENOENT;
	}
	ch_mpw_map(out, 1);
	ch_mpw_kv_u64(out, "disconnected", (uint64_t)n);
	return 0;
}

static int cmd_ban(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	tp_t *tp = user;
	char host[128];
	uint64_t secs = tp->lim.ban_ms / 1000;
	if (arg_str(req, "host", host, sizeof(host), svc))
		return CH_EINVAL;
	const msgpack_object *o;
	if (ch_mp_map_get(req, "seconds", &o) == 0 && ch_mp_as_u64(o, &secs) != 0) {
		ch_svc_set_error(svc, "seconds must be a positive integer");
		return CH_EINVAL;
	}
	struct in6_addr a6;
	struct in_addr a4;
	if (inet_pton(AF_INET, host, &a4) != 1 && inet_pton(AF_INET6, host, &a6) != 1) {
		ch_svc_set_error(svc, "'%s' is not an IP address", host);
		return CH_EINVAL;
	}
	tp_bans_add(tp->bans, host, ch_wall_ms() + secs * 1000, "banned by the operator", true);
	int n = for_matching(tp, host, close_one, "banned by the operator");
	CH_LOG_INFO("operator banned %s for %llu s (%d peers disconnected)", host,
	            (unsigned long long)secs, n);
	ch_mpw_map(out, 3);
	ch_mpw_kv_str(out, "banned", host);
	ch_mpw_kv_u64(out, "seconds", secs);
	ch_mpw_kv_u64(out, "disconnected", (uint64_t)n);
	return 0;
}

static int cmd_unban(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	tp_t *tp = user;
	char host[128];
	if (arg_str(req, "host", host, sizeof(host), svc))
		return CH_EINVAL;
	if (tp_bans_del(tp->bans, host) != 0) {
		ch_svc_set_error(svc, "%s is not banned", host);
		return CH_ENOENT;
	}
	ch_mpw_map(out, 1);
	ch_mpw_kv_str(out, "unbanned", host);
	return 0;
}

typedef struct ban_acc {
	ch_mpw_t *w;
	size_t n;
} ban_acc_t;

static void ban_write(void *arg, const char *ip, uint64_t until, const char *reason)
{
	ban_acc_t *a = arg;
	a->n++;
	char t[32];
	ch_time_format_iso(until, t, sizeof(t));
	ch_mpw_map(a->w, 3);
	ch_mpw_kv_str(a->w, "host", ip);
	ch_mpw_kv_str(a->w, "until", t);
	ch_mpw_kv_str(a->w, "reason", reason);
}

static int cmd_bans(ch_svc_t *svc, void *user, const msgpack_object *req, ch_mpw_t *out)
{
	tp_t *tp = user;
	/* the items first, counted as they are written, then the array header
	 * with exactly that count */
	ch_mpw_t items;
	ch_mpw_init(&items);
	ban_acc_t acc = {&items, 0};
	tp_bans_list(tp->bans, ch_wall_ms(), ban_write, &acc);
	ch_mpw_map(out, 1);
	ch_mpw_key(out, "bans");
	msgpack_pack_array(&out->pk, acc.n);
	msgpack_sbuffer_write(&out->sb, ch_mpw_data(&items), ch_mpw_size(&items));
	ch_mpw_free(&items);
	return 0;
}

static const ch_svc_cmd_t tp_cmds[] = {
    {"peers", cmd_peers, "connected peers with their statistics"},
    {"peer_list", cmd_peer_list,
     "connected peers as typed fields for other services: id, pubkey, addr, inbound, "
     "block_relay, kind, manual, listen_port"},
    {"connect", cmd_connect,
     "dial addr=HOST:PORT or PUBKEY@HOST:PORT and keep it connected; kind=outbound|feeler|"
     "block-relay, once=true: dial one time, no retries"},
    {"send", cmd_send, "queue one GETPEERS or PEERS frame: peer=ID type=3|4 payload=BIN"},
    {"disconnect", cmd_disconnect, "close peer=ID|PUBKEY|ADDR"},
    {"ban", cmd_ban, "ban host=IP [seconds=N] and disconnect it"},
    {"unban", cmd_unban, "lift the ban on host=IP"},
    {"bans", cmd_bans, "list the banned addresses"},
};

/* ---------------------------------------------------------------- frame hooks */

/* write_types: "types": {NAME: [frames in, bytes in, frames out, bytes
 * out]}, summed over the workers and the main thread. */
static void write_types(tp_t *tp, ch_mpw_t *w)
{
	ch_mpw_key(w, "types");
	ch_mpw_map(w, WIRE_TYPE_MAX + 1);
	for (unsigned t = 0; t <= WIRE_TYPE_MAX; t++) {
		uint64_t v[4] = {0, 0, atomic_load(&tp->type_out[t]),
		                 atomic_load(&tp->type_out_bytes[t])};
		for (int i = 0; i < tp->nworkers; i++) {
			tp_worker_t *wk = &tp->workers[i];
			v[0] += atomic_load_explicit(&wk->type_in[t], memory_order_relaxed);
			v[1] += atomic_load_explicit(&wk->type_in_bytes[t], memory_order_relaxed);
			v[2] += atomic_load_explicit(&wk->type_out[t], memory_order_relaxed);
			v[3] += atomic_load_explicit(&wk->type_out_bytes[t], memory_order_relaxed);
		}
		ch_mpw_key(w, wire_type_name((uint8_t)t));
		ch_mpw_array(w, 4);
		for (int i = 0; i < 4; i++)
			msgpack_pack_uint64(&w->pk, v[i]);
	}
}

static void write_counters(tp_t *tp, ch_mpw_t *w)
{
	ch_mpw_kv_u64(w, "inbound", (uint64_t)atomic_load(&tp->n_inbound));
	ch_mpw_kv_u64(w, "outbound", (uint64_t)atomic_load(&tp->n_outbound));
	ch_mpw_kv_u64(w, "handshaking", (uint64_t)atomic_load(&tp->n_handshaking));
	ch_mpw_kv_u64(w, "bans", tp_bans_count(tp->bans, ch_wall_ms()));
	ch_mpw_kv_u64(w, "accepted", atomic_load(&tp->c_accepted));
	ch_mpw_kv_u64(w, "refused", atomic_load(&tp->c_refused));
	ch_mpw_kv_u64(w, "dialed", atomic_load(&tp->c_dialed));
	ch_mpw_kv_u64(w, "handshake_failures", atomic_load(&tp->c_handshake_fail));
	ch_mpw_kv_u64(w, "banned", atomic_load(&tp->c_banned));
	ch_mpw_kv_u64(w, "bad_frames", atomic_load(&tp->c_bad_frames));
	ch_mpw_kv_u64(w, "ring_full", atomic_load(&tp->c_ring_full));
	ch_mpw_kv_u64(w, "out_dropped", atomic_load(&tp->c_out_dropped));
	ch_mpw_kv_u64(w, "slow_closed", atomic_load(&tp->c_slow_closed));
	ch_mpw_kv_u64(w, "listen_port", tp->listen_port);
	ch_mpw_kv_u64(w, "io_threads", (uint64_t)tp->nworkers);
	ch_mpw_kv_u64(w, "pex_dropped", atomic_load(&tp->c_pmsg_dropped));
	ch_mpw_kv_u64(w, "bans_refused", tp_bans_refused(tp->bans));
	ch_mpw_kv_u64(w, "scores_remembered", tp_scores_count(tp->scores));
	ch_mpw_kv_u64(w, "handshakes", atomic_load(&tp->c_handshake_ok));
	ch_mpw_kv_u64(w, "misbehaviour_points", atomic_load(&tp->c_misbehave_points));
	write_types(tp, w);
}
#define NCOUNTERS 21

static int tp_status(ch_svc_t *svc, void *user, ch_mpw_t *w)
{
	write_counters(user, w);
	return NCOUNTERS;
}

static int tp_work(ch_svc_t *svc, void *user, uint64_t now)
{
	tp_t *tp = user;
	rcu_quiescent_state(); /* QSBR: no RCU reference survives a loop turn */
	int done = drain_relay(tp);
	publish_events(tp);
	tp_bans_flush(tp->bans, ch_wall_ms());
	if (now - tp->last_dial_ns >= DIAL_EVERY_NS) {
		tp->last_dial_ns = now;
		dial_due(tp, now);
	}
	return done;
}

static int tp_init(ch_svc_t *svc, void **user)
{
	const ch_node_config_t *cfg = ch_svc_config(svc);
	tp_t *tp = calloc(1, sizeof(*tp));
	if (!tp)
		return CH_ENOMEM;
	*user = tp;
	tp->svc = svc;
	tp->cfg = cfg;
	snprintf(tp->datadir, sizeof(tp->datadir), "%s", cfg->datadir);
	char err[256];
	if (ch_identity_load(cfg->datadir, false, &tp->ident, err, sizeof(err)) != 0) {
		CH_LOG_ERROR("%s", err);
		return CH_EINVAL;
	}
	wire_magic(cfg->network, tp->magic);
	tp->suites = noise_suites_local(strcmp(cfg->cipher, "chacha20-poly1305") == 0);
	tp->lim = (tp_limits_t){
	    .max_peers = cfg->max_peers,
	    .max_outbound = cfg->max_outbound,
	    .max_per_group = cfg->max_per_group,
	    .netgroup = cfg->netgroup_mode,
	    .max_handshakes = cfg->max_handshakes,
	    .ban_ms = cfg->ban_time_ms,
	    .handshake_ms = cfg->handshake_timeout_ms,
	    .idle_ms = cfg->idle_timeout_ms,
	    .send_ms = cfg->send_timeout_ms,
	    .ping_ms = cfg->ping_timeout_ms,
	    .msg_rate = (double)cfg->peer_msg_rate,
	    .byte_rate = (double)cfg->peer_byte_rate,
	    .ping_rate = 2.0,
	    .block_max = (uint32_t)(cfg->ring_max_msg - sizeof(ch_msg_peer_msg_t)),
	};
	/* handles never repeat, across restarts too: start time in the top
	 * bits, a counter (2^20 connections per run) in the low ones */
	tp->handle_base = ch_wall_ms() << 20;
	pthread_mutex_init(&tp->ring_lock, NULL);
	pthread_mutex_init(&tp->ev_lock, NULL);
	tp->main_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (tp->main_evfd < 0 || ch_svc_watch(svc, tp->main_evfd, ZMQ_POLLIN, on_wake, tp) != 0)
		return CH_EIO;
	tp->to_relay = ch_svc_ring(svc, CH_RING_TRANSPORT_RELAY);
	tp->from_relay = ch_svc_ring(svc, CH_RING_RELAY_TRANSPORT);
	rcu_register_thread();
	if (tp_peertab_init(&tp->table) != 0)
		return CH_ENOMEM;
	randombytes_buf(tp->hs_key, sizeof(tp->hs_key));
	tp->bans = tp_bans_open(cfg->datadir);
	tp->scores = tp_scores_new();
	if (!tp->scores)
		return CH_ENOMEM;
	if (!tp->bans)
		return CH_ENOMEM;
	/* every peer of an earlier transport is gone: tell relay first */
	uint8_t z = 0;
	pthread_mutex_lock(&tp->ring_lock);
	if (shm_ring_try_push(tp->to_relay, &z, 1, CH_TAG_TRANSPORT_RESET) != 0)
		CH_LOG_WARN("transport.relay is full: relay will learn of the restart late");
	pthread_mutex_unlock(&tp->ring_lock);
	int rc = listen_on(tp, &cfg->listen);
	if (rc)
		return CH_EINVAL; /* a port in use is a configuration problem */
	if (tp_hello_build(tp, tp->hello, sizeof(tp->hello), &tp->hello_len) != 0)
		return CH_EINVAL;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int n = cfg->io_threads ? (int)cfg->io_threads : (int)(cores > 0 ? cores : 1);
	if (tp_workers_start(tp, n) != 0)
		return CH_EIO;
	/* seeds are discovery's: dialed while its address book is small */
	targets_load(tp);
	char id[2 * CH_NODE_ID_LEN + 1];
	ch_hex_encode(id, sizeof(id), tp->ident.id, CH_NODE_ID_LEN);
	CH_LOG_INFO("listening on %s (%d I/O threads, %s), node id %s, %zu dial targets",
	            cfg->listen.str, tp->nworkers,
	            (tp->suites & NOISE_SUITE_AESGCM) ? "aes-256-gcm/chacha20-poly1305"
	                                              : "chacha20-poly1305",
	            id, tp->ntargets);
	return 0;
}

static void tp_fini(ch_svc_t *svc, void *user)
{
	tp_t *tp = user;
	tp_workers_stop(tp);
	publish_events(tp);
	for (int i = 0; i < tp->nlisten; i++) {
		ch_svc_unwatch(svc, tp->listen_fd[i]);
		close(tp->listen_fd[i]);
	}
	rcu_thread_offline(); /* QSBR: waiting for grace periods while online deadlocks */
	rcu_barrier();        /* every call_rcu has run: peers and snapshots freed */
	rcu_thread_online();
	tp_peertab_fini(&tp->table);
	tp_bans_close(&tp->bans);
	tp_scores_destroy(&tp->scores);
	ch_svc_unwatch(svc, tp->main_evfd);
	close(tp->main_evfd);
	ch_identity_wipe(&tp->ident);
	rcu_unregister_thread();
	free(tp);
}

static const ch_svc_ops_t transport_ops = {
    .name = "transport",
    .cmds = tp_cmds,
    .ncmds = sizeof(tp_cmds) / sizeof(tp_cmds[0]),
    .init = tp_init,
    .work = tp_work,
    .status = tp_status,
    .metrics = tp_status,
    .fini = tp_fini,
};

int main(int argc, char **argv)
{
	return ch_svc_main(&transport_ops, argc, argv);
}
