/* tlink.c: the SUB and DEALER sockets to transport (tlink.h). */
#include "tlink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "ctl.h"
#include "err.h"
#include "hash.h"
#include "log.h"
#include "mp.h"

#define TL_TOPIC "event.transport."

/* tl_open: the DEALER talks to transport's ROUTER: every request is
 * [id, "", body] and the envelope [id, ""] comes back with the reply. */
int tl_open(tlink_t *t, void *zctx, const char *datadir)
{
	char cmd[CH_CTL_ENDPOINT_MAX], pub[CH_CTL_ENDPOINT_MAX];
	int zero = 0, one = 1, ivl = TL_RECONNECT_MS;
	int64_t maxmsg = TL_MSG_MAX;
	size_t fl = sizeof(int);

	memset(t, 0, sizeof(*t));
	t->dealer_fd = t->sub_fd = -1;
	if (ch_ctl_endpoint(datadir, "transport", "cmd", cmd, sizeof(cmd)) != 0 ||
	    ch_ctl_endpoint(datadir, "transport", "pub", pub, sizeof(pub)) != 0)
		return CH_ERANGE;
	t->dealer = zmq_socket(zctx, ZMQ_DEALER);
	t->sub = zmq_socket(zctx, ZMQ_SUB);
	if (t->dealer == NULL || t->sub == NULL)
		goto fail;
	zmq_setsockopt(t->dealer, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(t->sub, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(t->dealer, ZMQ_IMMEDIATE, &one, sizeof(one));
	/* transport binds its sockets while we start, and again after a
	 * restart: retry the connection often (ZeroMQ's default is 100 ms) */
	zmq_setsockopt(t->dealer, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
	zmq_setsockopt(t->sub, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
	zmq_setsockopt(t->dealer, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	zmq_setsockopt(t->sub, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (zmq_setsockopt(t->sub, ZMQ_SUBSCRIBE, TL_TOPIC, strlen(TL_TOPIC)) != 0 ||
	    zmq_connect(t->dealer, cmd) != 0 || zmq_connect(t->sub, pub) != 0 ||
	    zmq_getsockopt(t->dealer, ZMQ_FD, &t->dealer_fd, &fl) != 0 ||
	    zmq_getsockopt(t->sub, ZMQ_FD, &t->sub_fd, &fl) != 0)
		goto fail;
	t->next_id = 1;
	return 0;
fail:
	ch_log_errno(CH_LOG_LEVEL_ERROR, "zmq", "cannot open the link to transport (%s)",
	             zmq_strerror(zmq_errno()));
	tl_close(t);
	return CH_EIO;
}

/* tl_close: sockets only; the frame owns the context. */
void tl_close(tlink_t *t)
{
	if (t->dealer != NULL)
		zmq_close(t->dealer);
	if (t->sub != NULL)
		zmq_close(t->sub);
	t->dealer = t->sub = NULL;
	t->dealer_fd = t->sub_fd = -1;
}

/* request: sends one request and remembers it.  CH_EAGAIN when transport
 * is not there (ZMQ_IMMEDIATE) or too many wait. */
static int request(tlink_t *t, tl_req_kind_t kind, const ch_mpw_t *body, const ab_addr_t *a)
{
	tl_req_t *r;
	uint64_t id;

	if (t->nreqs >= TL_MAX_REQS || t->dealer == NULL)
		return CH_EAGAIN;
	id = t->next_id++;
	if (zmq_send(t->dealer, &id, sizeof(id), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
		t->st.send_failed++;
		return CH_EAGAIN;
	}
	/* once the first frame went, the rest of the message always follows */
	zmq_send(t->dealer, "", 0, ZMQ_SNDMORE);
	zmq_send(t->dealer, ch_mpw_data(body), ch_mpw_size(body), 0);
	r = &t->reqs[t->nreqs++];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->kind = kind;
	if (a != NULL)
		r->addr = *a;
	r->deadline_ns = ch_mono_ns() + TL_REQ_TIMEOUT_NS;
	return 0;
}

/* tl_connect: `connect {addr, kind, once}`; the outcome comes as events. */
int tl_connect(void *arg, const ab_addr_t *a, const uint8_t *pk, mb_kind_t kind)
{
	tlink_t *t = arg;
	char s[AB_ADDR_STR_MAX + 66];
	size_t off = 0;
	ch_mpw_t w;
	int rc;

	if (pk != NULL) {
		ch_hex_encode(s, sizeof(s), pk, 32);
		s[64] = '@';
		off = 65;
	}
	ab_addr_str(a, s + off, sizeof(s) - off);
	ch_mpw_init(&w);
	ch_mpw_map(&w, 4);
	ch_mpw_kv_str(&w, "cmd", "connect");
	ch_mpw_kv_str(&w, "addr", s);
	ch_mpw_kv_str(&w, "kind", mb_kind_name(kind));
	ch_mpw_kv_bool(&w, "once", true);
	rc = ch_mpw_error(&w) ? CH_ENOMEM : request(t, TL_REQ_CONNECT, &w, a);
	ch_mpw_free(&w);
	return rc;
}

/* tl_send: `send {peer, type, payload}`. */
int tl_send(void *arg, uint64_t peer, uint8_t type, const uint8_t *payload, size_t len)
{
	tlink_t *t = arg;
	ch_mpw_t w;
	int rc;

	ch_mpw_init(&w);
	ch_mpw_map(&w, 4);
	ch_mpw_kv_str(&w, "cmd", "send");
	ch_mpw_kv_u64(&w, "peer", peer);
	ch_mpw_kv_u64(&w, "type", type);
	ch_mpw_kv_bin(&w, "payload", payload, len);
	rc = ch_mpw_error(&w) ? CH_ENOMEM : request(t, TL_REQ_SEND, &w, NULL);
	ch_mpw_free(&w);
	return rc;
}

/* tl_disconnect: `disconnect {peer: ID}` (a surplus seed connection). */
int tl_disconnect(void *arg, uint64_t peer)
{
	tlink_t *t = arg;
	char id[24];
	ch_mpw_t w;
	int rc;

	snprintf(id, sizeof(id), "%llu", (unsigned long long)peer);
	ch_mpw_init(&w);
	ch_mpw_map(&w, 2);
	ch_mpw_kv_str(&w, "cmd", "disconnect");
	ch_mpw_kv_str(&w, "peer", id);
	rc = ch_mpw_error(&w) ? CH_ENOMEM : request(t, TL_REQ_SEND, &w, NULL);
	ch_mpw_free(&w);
	return rc;
}

/* simple: a request with no argument (peers, bans). */
static int simple(tlink_t *t, tl_req_kind_t kind, const char *cmd)
{
	ch_mpw_t w;
	int rc;

	ch_mpw_init(&w);
	ch_mpw_map(&w, 1);
	ch_mpw_kv_str(&w, "cmd", cmd);
	rc = ch_mpw_error(&w) ? CH_ENOMEM : request(t, kind, &w, NULL);
	ch_mpw_free(&w);
	return rc;
}

/* tl_sync_now: after a hint that the list changed (transport restarted). */
void tl_sync_now(tlink_t *t)
{
	t->next_sync_ns = 0;
}

/* ---------------------------------------------------------------- parsing */

/* peer_info: a peer map (event body or `peer_list` item) into info.  0 or
 * CH_EPROTO (no usable handle or address).  The key is 32 bytes of binary
 * in `peer_list`, hex in events. */
static int peer_info(const msgpack_object *m, const char *idkey, mb_peer_info_t *i)
{
	char addr[AB_ADDR_STR_MAX], kind[16] = "", dir[16] = "", pk[65] = "";
	uint64_t lp = 0;
	size_t n = 0;

	memset(i, 0, sizeof(*i));
	if (ch_mp_get_u64(m, idkey, &i->handle) != 0 ||
	    ch_mp_get_strz(m, "addr", addr, sizeof(addr)) != 0 ||
	    ab_addr_parse(addr, &i->addr) != 0)
		return CH_EPROTO;
	if (ch_mp_get_bool(m, "inbound", &i->inbound) != 0 &&
	    ch_mp_get_strz(m, "direction", dir, sizeof(dir)) == 0)
		i->inbound = strcmp(dir, "inbound") == 0;
	ch_mp_get_bool(m, "manual", &i->manual);
	if (ch_mp_get_u64(m, "listen_port", &lp) == 0 && lp <= 65535)
		i->listen_port = (uint16_t)lp;
	if (ch_mp_get_strz(m, "kind", kind, sizeof(kind)) != 0 ||
	    mb_kind_parse(kind, &i->kind) != 0)
		i->kind = i->inbound ? MB_INBOUND : MB_OUTBOUND;
	if (ch_mp_get_bin_exact(m, "pubkey", i->pk, sizeof(i->pk)) == 0 ||
	    (ch_mp_get_strz(m, "pubkey", pk, sizeof(pk)) == 0 &&
	     ch_hex_decode(i->pk, sizeof(i->pk), pk, &n) == 0 && n == 32))
		i->has_pk = true;
	return 0;
}

/* on_event: one message of transport's PUB. */
static void on_event(tlink_t *t, const char *what, const msgpack_object *m, uint64_t now_ns,
                     uint64_t wall_ms)
{
	mb_peer_info_t i;
	char addr[AB_ADDR_STR_MAX], reason[160] = "";
	ab_addr_t a;

	if (strcmp(what, "peer_msg") == 0) {
		uint64_t peer, type;
		const void *pl;
		size_t len;

		if (ch_mp_get_u64(m, "peer", &peer) == 0 && ch_mp_get_u64(m, "type", &type) == 0 &&
		    ch_mp_get_bin(m, "payload", &pl, &len) == 0)
			mb_on_msg(t->mb, peer, (uint8_t)type, pl, len, now_ns, wall_ms);
		return;
	}
	if (strcmp(what, "peer_connected") == 0) {
		if (peer_info(m, "peer", &i) == 0)
			mb_on_connected(t->mb, &i, now_ns, wall_ms);
		return;
	}
	if (strcmp(what, "peer_disconnected") == 0) {
		uint64_t peer;

		if (ch_mp_get_u64(m, "peer", &peer) == 0)
			mb_on_disconnected(t->mb, peer, now_ns);
		return;
	}
	if (ch_mp_get_strz(m, "addr", addr, sizeof(addr)) != 0 || ab_addr_parse(addr, &a) != 0)
		return;
	ch_mp_get_strz(m, "reason", reason, sizeof(reason));
	if (strcmp(what, "connection_failed") == 0) {
		mb_on_failed(t->mb, &a, reason, now_ns, wall_ms);
	} else if (strcmp(what, "feeler_ok") == 0) {
		if (peer_info(m, "peer", &i) == 0)
			mb_on_feeler_ok(t->mb, &a, i.has_pk ? i.pk : NULL, wall_ms);
	} else if (strcmp(what, "peer_banned") == 0) {
		mb_on_banned(t->mb, &a);
	}
}

/* on_peers_reply: the authoritative connection list. */
static void on_peers_reply(tlink_t *t, const msgpack_object *res, uint64_t now_ns, uint64_t wall_ms)
{
	const msgpack_object *list;

	if (res == NULL || res->type != MSGPACK_OBJECT_MAP ||
	    ch_mp_map_get(res, "peers", &list) != 0 || list->type != MSGPACK_OBJECT_ARRAY)
		return;
	mb_sync_begin(t->mb);
	for (uint32_t k = 0; k < list->via.array.size; k++) {
		mb_peer_info_t i;

		if (list->via.array.ptr[k].type == MSGPACK_OBJECT_MAP &&
		    peer_info(&list->via.array.ptr[k], "id", &i) == 0)
			mb_sync_peer(t->mb, &i);
	}
	mb_sync_end(t->mb, now_ns, wall_ms);
}

/* on_bans_reply: transport's live bans replace ours. */
static void on_bans_reply(tlink_t *t, const msgpack_object *res)
{
	static ab_addr_t ips[MB_MAX_BANS];
	const msgpack_object *list;
	size_t n = 0;

	if (res == NULL || res->type != MSGPACK_OBJECT_MAP ||
	    ch_mp_map_get(res, "bans", &list) != 0 || list->type != MSGPACK_OBJECT_ARRAY)
		return;
	for (uint32_t k = 0; k < list->via.array.size && n < MB_MAX_BANS; k++) {
		char host[64], hp[80];

		if (list->via.array.ptr[k].type != MSGPACK_OBJECT_MAP ||
		    ch_mp_get_strz(&list->via.array.ptr[k], "host", host, sizeof(host)) != 0)
			continue;
		snprintf(hp, sizeof(hp), strchr(host, ':') != NULL ? "[%s]:1" : "%s:1", host);
		if (ab_addr_parse(hp, &ips[n]) == 0)
			n++;
	}
	mb_set_bans(t->mb, ips, n);
}

/* take_req: the request a reply answers (removed from the table). */
static bool take_req(tlink_t *t, uint64_t id, tl_req_t *out)
{
	for (uint32_t i = 0; i < t->nreqs; i++)
		if (t->reqs[i].id == id) {
			*out = t->reqs[i];
			t->reqs[i] = t->reqs[--t->nreqs];
			return true;
		}
	return false;
}

/* on_reply: a reply, matched to its request by id. */
static void on_reply(tlink_t *t, uint64_t id, const void *body, size_t len, uint64_t now_ns,
                     uint64_t wall_ms)
{
	tl_req_t r;
	ch_mpr_t rd;
	ch_ctl_reply_t rep;
	bool parsed;

	if (!take_req(t, id, &r))
		return; /* timed out earlier */
	t->st.replies++;
	ch_mpr_init(&rd, TL_MSG_MAX);
	parsed = ch_mpr_parse(&rd, body, len) == 0 && ch_ctl_reply_get(&rd, &rep) == 0;
	if (!parsed || !rep.ok) {
		t->st.errors++;
		if (r.kind == TL_REQ_CONNECT)
			mb_on_dial_refused(t->mb, &r.addr, parsed ? rep.code : CH_EPROTO, wall_ms);
		else if (r.kind == TL_REQ_PEERS)
			t->sync_inflight = false;
		else if (r.kind == TL_REQ_BANS)
			t->bans_inflight = false;
		ch_mpr_free(&rd);
		return;
	}
	if (r.kind == TL_REQ_PEERS) {
		t->sync_inflight = false;
		on_peers_reply(t, rep.result, now_ns, wall_ms);
	} else if (r.kind == TL_REQ_BANS) {
		t->bans_inflight = false;
		on_bans_reply(t, rep.result);
	}
	ch_mpr_free(&rd);
}

/* read_parts: one multipart message into up to 3 parts; false when none
 * waits.  Parts beyond the third are dropped (and the message with them). */
static bool read_parts(void *sock, zmq_msg_t parts[3], int *n)
{
	*n = 0;
	for (;;) {
		zmq_msg_t m;
		int more;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sock, *n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
			zmq_msg_close(&m);
			return *n > 0;
		}
		more = zmq_msg_more(&m);
		if (*n < 3)
			parts[(*n)++] = m;
		else {
			zmq_msg_close(&m);
			*n = 4; /* too many: the caller drops it */
		}
		if (!more)
			return true;
	}
}

/* close_parts: releases what read_parts kept. */
static void close_parts(zmq_msg_t parts[3], int n)
{
	for (int i = 0; i < n && i < 3; i++)
		zmq_msg_close(&parts[i]);
}

/* poll_sub: events, each [topic, msgpack body]. */
static int poll_sub(tlink_t *t, uint64_t now_ns, uint64_t wall_ms)
{
	int done = 0;
	zmq_msg_t p[3];
	int n;

	while (done < TL_BATCH && read_parts(t->sub, p, &n)) {
		ch_mpr_t rd;
		const msgpack_object *m;
		char what[40];
		size_t tl = n == 2 ? zmq_msg_size(&p[0]) : 0;

		done++;
		if (n == 2 && tl > strlen(TL_TOPIC) && tl - strlen(TL_TOPIC) < sizeof(what)) {
			memcpy(what, (char *)zmq_msg_data(&p[0]) + strlen(TL_TOPIC),
			       tl - strlen(TL_TOPIC));
			what[tl - strlen(TL_TOPIC)] = 0;
			ch_mpr_init(&rd, TL_MSG_MAX);
			if (ch_mpr_parse(&rd, zmq_msg_data(&p[1]), zmq_msg_size(&p[1])) == 0 &&
			    ch_mpr_root_map(&rd, &m) == 0) {
				t->st.events++;
				on_event(t, what, m, now_ns, wall_ms);
			}
			ch_mpr_free(&rd);
		}
		close_parts(p, n);
	}
	return done;
}

/* poll_dealer: replies, each [id, "", body]. */
static int poll_dealer(tlink_t *t, uint64_t now_ns, uint64_t wall_ms)
{
	int done = 0;
	zmq_msg_t p[3];
	int n;

	while (done < TL_BATCH && read_parts(t->dealer, p, &n)) {
		done++;
		if (n == 3 && zmq_msg_size(&p[0]) == sizeof(uint64_t) && zmq_msg_size(&p[1]) == 0) {
			uint64_t id;

			memcpy(&id, zmq_msg_data(&p[0]), sizeof(id));
			on_reply(t, id, zmq_msg_data(&p[2]), zmq_msg_size(&p[2]), now_ns, wall_ms);
		}
		close_parts(p, n);
	}
	return done;
}

/* expire: requests transport never answered (it died meanwhile). */
static void expire(tlink_t *t, uint64_t now_ns, uint64_t wall_ms)
{
	for (uint32_t i = 0; i < t->nreqs;) {
		tl_req_t r = t->reqs[i];

		if (now_ns < r.deadline_ns) {
			i++;
			continue;
		}
		t->reqs[i] = t->reqs[--t->nreqs];
		t->st.timeouts++;
		if (r.kind == TL_REQ_CONNECT) {
			mb_on_dial_refused(t->mb, &r.addr, CH_ETIMEDOUT, wall_ms);
		} else if (r.kind == TL_REQ_PEERS) {
			t->sync_inflight = false;
			mb_transport_lost(t->mb);
		} else if (r.kind == TL_REQ_BANS) {
			t->bans_inflight = false;
		}
	}
}

/* tl_poll: see tlink.h. */
int tl_poll(tlink_t *t, uint64_t now_ns, uint64_t wall_ms)
{
	int done = 0;
	uint32_t ev = 0;
	size_t el = sizeof(ev);

	if (t->dealer == NULL || t->mb == NULL)
		return 0;
	done += poll_sub(t, now_ns, wall_ms);
	done += poll_dealer(t, now_ns, wall_ms);
	expire(t, now_ns, wall_ms);
	if (!t->sync_inflight && now_ns >= t->next_sync_ns) {
		if (simple(t, TL_REQ_PEERS, "peer_list") == 0) {
			t->sync_inflight = true;
			mb_sync_asked(t->mb, now_ns);
			t->next_sync_ns = now_ns + TL_SYNC_NS;
		} else {
			/* transport not (yet) there: ask again soon */
			mb_transport_lost(t->mb);
			t->next_sync_ns = now_ns + TL_RETRY_NS;
		}
	}
	if (!t->bans_inflight && now_ns >= t->next_bans_ns) {
		t->next_bans_ns = now_ns + TL_BANS_NS;
		if (simple(t, TL_REQ_BANS, "bans") == 0)
			t->bans_inflight = true;
	}
	/* ZMQ_FD is edge-triggered: reading ZMQ_EVENTS re-arms it */
	zmq_getsockopt(t->sub, ZMQ_EVENTS, &ev, &el);
	el = sizeof(ev);
	zmq_getsockopt(t->dealer, ZMQ_EVENTS, &ev, &el);
	return done;
}
