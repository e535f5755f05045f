/* svc_member.c: membership inside the discovery service: the address
 * book and anchors files, the link to transport (tlink.h), the policy
 * (member.h) and the DHT membership rounds (announce + get_peers under
 * SHA-1("chorus:" + network)). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "err.h"
#include "fileio.h"
#include "hash.h"
#include "log.h"
#include "svc.h"

/* anchors.dat: magic, version, count, entries (ip, port, key), BLAKE2b. */
#define ANCHORS_MAGIC   "CHAN"
#define ANCHORS_VERSION 1u
#define ANCHOR_LEN      (16 + 2 + 32)

/* anchors_save: written atomically and synced, so a crash never leaves
 * half a file and a kill -9 right after loses nothing. */
static int anchors_save(const char *path, const mb_anchor_t *a, size_t n)
{
	uint8_t buf[12 + MB_ANCHORS * ANCHOR_LEN + 32], *p = buf;
	int rc;

	memcpy(p, ANCHORS_MAGIC, 4);
	p[4] = ANCHORS_VERSION;
	p[5] = p[6] = p[7] = 0;
	p[8] = (uint8_t)n;
	p[9] = p[10] = p[11] = 0;
	p += 12;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, a[i].addr.ip, 16);
		p[16] = (uint8_t)(a[i].addr.port >> 8);
		p[17] = (uint8_t)a[i].addr.port;
		memcpy(p + 18, a[i].pk, 32);
		p += ANCHOR_LEN;
	}
	ch_blake2b256(p, buf, (size_t)(p - buf));
	p += 32;
	rc = ch_file_write_atomic(path, buf, (size_t)(p - buf), 0600, 1);
	if (rc != 0)
		ch_log_errno(CH_LOG_LEVEL_WARN, ch_file_failed_call(),
		             "cannot save the anchors to %s", path);
	return rc;
}

/* anchors_load: the previous run's block-relay peers.  A bad file is
 * reported and ignored (the anchors are only a head start). */
static size_t anchors_load(const char *path, mb_anchor_t *a)
{
	uint8_t buf[12 + MB_ANCHORS * ANCHOR_LEN + 32 + 1], sum[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len;
	size_t n;

	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf));
	close(fd);
	n = len >= 12 ? buf[8] : 0;
	if (len < 12 + 32 || memcmp(buf, ANCHORS_MAGIC, 4) != 0 || buf[4] != ANCHORS_VERSION ||
	    n > MB_ANCHORS || (size_t)len != 12 + n * ANCHOR_LEN + 32) {
		CH_LOG_WARN("anchors file %s is corrupt; ignored", path);
		return 0;
	}
	ch_blake2b256(sum, buf, (size_t)len - 32);
	if (sodium_memcmp(sum, buf + len - 32, 32) != 0) {
		CH_LOG_WARN("anchors file %s is corrupt (checksum); ignored", path);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = buf + 12 + i * ANCHOR_LEN;

		memcpy(a[i].addr.ip, p, 16);
		a[i].addr.port = (uint16_t)(p[16] << 8 | p[17]);
		memcpy(a[i].pk, p + 18, 32);
	}
	return n;
}

/* on_anchors_changed: saved at once: a kill -9 must not lose them. */
static void on_anchors_changed(void *arg)
{
	disc_t *x = arg;

	x->anchors_dirty = true;
}

/* io_connect: the policy's dials through the link (`connect ... once`). */
static int io_connect(void *arg, const ab_addr_t *a, const uint8_t *pk, mb_kind_t kind)
{
	disc_t *x = arg;

	return tl_connect(&x->link, a, pk, kind);
}

/* io_send: a GETPEERS or PEERS through transport's `send`. */
static int io_send(void *arg, uint64_t peer, uint8_t type, const uint8_t *payload, size_t len)
{
	disc_t *x = arg;

	return tl_send(&x->link, peer, type, payload, len);
}

/* io_disconnect: closes a surplus seed connection. */
static int io_disconnect(void *arg, uint64_t peer)
{
	disc_t *x = arg;

	return tl_disconnect(&x->link, peer);
}

/* on_link: a message from transport woke the loop; the next turn's
 * disc_member_work reads it (tl_poll). */
static void on_link(ch_svc_t *svc, void *arg, int fd, short revents)
{
	disc_t *x = arg;

	(void)svc;
	(void)fd;
	(void)revents;
	tl_poll(&x->link, ch_mono_ns(), ch_wall_ms());
}

/* resolve_hostport: a seed or listen address into a book address
 * (numeric, else the first result of getaddrinfo).  0 or CH_ENOENT. */
static int resolve_hostport(const ch_hostport_t *hp, ab_addr_t *out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	struct in6_addr a6;
	struct in_addr a4;

	if (hp->host[0] == '\0' || hp->port == 0)
		return CH_ENOENT;
	if (inet_pton(AF_INET, hp->host, &a4) == 1) {
		pex_addr_from_v4(out, a4.s_addr, hp->port);
		return 0;
	}
	if (inet_pton(AF_INET6, hp->host, &a6) == 1) {
		memcpy(out->ip, &a6, 16);
		out->port = hp->port;
		return 0;
	}
	if (getaddrinfo(hp->host, NULL, &hints, &res) != 0 || res == NULL)
		return CH_ENOENT;
	if (res->ai_family == AF_INET)
		pex_addr_from_v4(out, ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr,
		                 hp->port);
	else {
		memcpy(out->ip, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, 16);
		out->port = hp->port;
	}
	freeaddrinfo(res);
	return 0;
}

/* load_book: a corrupt book is kept aside for a look and replaced. */
static void load_book(disc_t *x)
{
	int rc = ab_load(x->book, x->book_path, ch_wall_ms());

	if (rc == 0) {
		CH_LOG_INFO("address book loaded from %s: %zu new, %zu tried", x->book_path,
		            ab_count(x->book, AB_NEW), ab_count(x->book, AB_TRIED));
	} else if (rc == CH_EPROTO) {
		char aside[sizeof(x->book_path) + 16];

		snprintf(aside, sizeof(aside), "%s.corrupt", x->book_path);
		if (rename(x->book_path, aside) != 0)
			ch_log_errno(CH_LOG_LEVEL_WARN, "rename", "cannot move %s aside",
			             x->book_path);
		CH_LOG_WARN("address book %s is corrupt; kept as %s, starting a fresh book",
		            x->book_path, aside);
		ab_config_t bc = {.netgroup = ch_svc_config(x->svc)->netgroup_mode};

		ab_destroy(&x->book);
		x->book = ab_new(&bc);
	} else if (rc != CH_ENOENT) {
		CH_LOG_WARN("cannot read address book %s: %s", x->book_path, ch_strerror(rc));
	}
}

/* disc_member_init: see svc.h. */
int disc_member_init(disc_t *x)
{
	const ch_node_config_t *cfg = ch_svc_config(x->svc);
	mb_config_t c = {0};
	mb_io_t io = {.connect = io_connect,
	              .send = io_send,
	              .disconnect = io_disconnect,
	              .anchors_changed = on_anchors_changed,
	              .arg = x};
	mb_anchor_t anchors[MB_ANCHORS];
	size_t na;
	char ih_in[8 + CH_NETWORK_MAX];
	int rc;

	snprintf(x->book_path, sizeof(x->book_path), "%s/%s", cfg->datadir, DISC_BOOK_FILE);
	snprintf(x->anchors_path, sizeof(x->anchors_path), "%s/%s", cfg->datadir,
	         DISC_ANCHORS_FILE);
	ab_config_t bc = {.netgroup = cfg->netgroup_mode};

	x->book = ab_new(&bc);
	if (x->book == NULL)
		return CH_ENOMEM;
	load_book(x);
	if (x->book == NULL)
		return CH_ENOMEM;
	c.target = cfg->max_outbound > 0 ? (uint32_t)cfg->max_outbound : 0;
	c.netgroup = cfg->netgroup_mode;
	c.block_relay = MB_ANCHORS;
	c.dial_timeout_ns = cfg->handshake_timeout_ms * 1000000ull + DISC_DIAL_SLACK_NS;
	memcpy(c.self_pk, x->ident.pk.b, 32);
	if (resolve_hostport(&cfg->listen, &c.self[0]) == 0 && ab_addr_valid(&c.self[0]))
		c.nself = 1;
	for (size_t i = 0; i < cfg->seeds.n && c.nseeds < MB_MAX_SEEDS; i++) {
		if (resolve_hostport(&cfg->seeds.v[i], &c.seeds[c.nseeds]) == 0)
			c.nseeds++;
		else
			CH_LOG_WARN("seed %s: cannot resolve; not dialed", cfg->seeds.v[i].str);
	}
	x->mb = mb_new(&c, x->book, &io);
	if (x->mb == NULL)
		return CH_ENOMEM;
	na = anchors_load(x->anchors_path, anchors);
	mb_set_anchors(x->mb, anchors, na);
	rc = tl_open(&x->link, ch_svc_zctx(x->svc), cfg->datadir);
	if (rc != 0)
		return rc;
	x->link_open = true;
	x->link.mb = x->mb;
	if (ch_svc_watch(x->svc, x->link.sub_fd, ZMQ_POLLIN, on_link, x) != 0 ||
	    ch_svc_watch(x->svc, x->link.dealer_fd, ZMQ_POLLIN, on_link, x) != 0)
		return CH_ENOMEM;
	snprintf(ih_in, sizeof(ih_in), "chorus:%s", cfg->network);
	ch_sha1(x->member_ih, ih_in, strlen(ih_in));
	x->tcp_port = cfg->listen.port;
	x->next_book_save = ch_mono_ns() + DISC_BOOK_SAVE_NS;
	CH_LOG_INFO("membership: %zu new, %zu tried, %zu anchors, %u seeds, target %u outbound",
	            ab_count(x->book, AB_NEW), ab_count(x->book, AB_TRIED), na, c.nseeds, c.target);
	return 0;
}

/* on_announced: a membership round ended; its peers go to the book. */
static void on_announced(void *arg, const dht_result_t *r)
{
	disc_t *x = arg;
	ab_addr_t a[DHT_MAX_RESULT_PEERS], src[DHT_MAX_RESULT_PEERS];
	size_t n = 0;
	uint64_t now = ch_mono_ns();
	uint64_t base;

	x->announcing = false;
	x->announces++;
	for (uint32_t i = 0; i < r->npeers; i++) {
		uint32_t ip;

		memcpy(&ip, r->peers[i], 4);
		pex_addr_from_v4(&a[n], ip, (uint16_t)(r->peers[i][4] << 8 | r->peers[i][5]));
		pex_addr_from_v4(&src[n], r->peer_src[i].ip, r->peer_src[i].port);
		if (ab_addr_valid(&a[n]) && ab_addr_valid(&src[n]))
			n++;
	}
	x->announce_found = n;
	if (mb_add_candidates(x->mb, a, src, n, ch_wall_ms()) > 0 || x->announce_fast_ns == 0)
		x->announce_fast_ns = DISC_ANNOUNCE_FAST_NS;
	else if (x->announce_fast_ns < DISC_ANNOUNCE_NS)
		x->announce_fast_ns = x->announce_fast_ns * 2 < DISC_ANNOUNCE_NS
		                          ? x->announce_fast_ns * 2
		                          : DISC_ANNOUNCE_NS;
	base = mb_below_target(x->mb) ? x->announce_fast_ns : DISC_ANNOUNCE_NS;
	x->next_announce =
	    now + base - base / 5 + randombytes_uniform(1000) * (base / 5 * 2) / 1000;
}

/* announce_due: membership over the DHT, once the table has nodes. */
static int announce_due(disc_t *x, uint64_t now)
{
	int rc;

	if (x->announcing || now < x->next_announce || dht_rtable(x->d)->count == 0)
		return 0;
	rc = dht_announce(x->d, x->member_ih, x->tcp_port, on_announced, x, now, NULL);
	if (rc != 0) {
		x->next_announce = now + DISC_ANNOUNCE_FAST_NS;
		return 0;
	}
	x->announcing = true;
	dht_net_kick(x->net, 0);
	return 1;
}

/* save_member: the book every DISC_BOOK_SAVE_NS while it changes; the
 * anchors at once. */
static void save_member(disc_t *x, uint64_t now, bool force)
{
	if (x->anchors_dirty || (force && x->mb != NULL)) {
		mb_anchor_t a[MB_ANCHORS];

		x->anchors_dirty = false;
		anchors_save(x->anchors_path, a, mb_get_anchors(x->mb, a, MB_ANCHORS));
	}
	if (x->book != NULL && (force || now >= x->next_book_save) && ab_dirty(x->book)) {
		x->next_book_save = now + DISC_BOOK_SAVE_NS;
		int rc = ab_save(x->book, x->book_path);
		if (rc == CH_EIO)
			ch_log_errno(CH_LOG_LEVEL_WARN, ch_file_failed_call(),
			             "cannot save the address book to %s", x->book_path);
		else if (rc != 0)
			CH_LOG_WARN("cannot save the address book to %s: %s", x->book_path,
			            ch_strerror(rc));
	}
}

/* disc_member_work: see svc.h. */
int disc_member_work(disc_t *x, uint64_t now_ns)
{
	uint64_t wall = ch_wall_ms();
	int n = 0;

	if (x->mb == NULL)
		return 0;
	n += tl_poll(&x->link, now_ns, wall);
	n += mb_tick(x->mb, now_ns, wall);
	n += announce_due(x, now_ns);
	save_member(x, now_ns, false);
	return n;
}

/* disc_member_fini: the book and anchors survive the stop. */
void disc_member_fini(disc_t *x)
{
	save_member(x, ch_mono_ns(), true);
	if (x->link_open) {
		ch_svc_unwatch(x->svc, x->link.sub_fd);
		ch_svc_unwatch(x->svc, x->link.dealer_fd);
		tl_close(&x->link);
	}
	x->link_open = false;
	mb_destroy(&x->mb);
	ab_destroy(&x->book);
}

/* disc_member_write: the policy's status plus the DHT rounds. */
void disc_member_write(disc_t *x, ch_mpw_t *out)
{
	uint64_t now = ch_mono_ns();

	mb_write_status(x->mb, out, 4, now, ch_wall_ms());
	ch_mpw_kv_u64(out, "dht_rounds", x->announces);
	ch_mpw_kv_u64(out, "dht_last_found", x->announce_found);
	ch_mpw_kv_u64(out, "dht_round_interval_ms",
	              (mb_below_target(x->mb)
	                   ? (x->announce_fast_ns ? x->announce_fast_ns : DISC_ANNOUNCE_FAST_NS)
	                   : DISC_ANNOUNCE_NS) /
	                  1000000);
	ch_mpw_kv_u64(out, "dht_next_ms",
	              x->next_announce > now ? (x->next_announce - now) / 1000000 : 0);
}
