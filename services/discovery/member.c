/* member.c: membership and the dialing policy (member.h). */
#include "member.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hash.h"
#include "pex.h"
#include "tbucket.h"

/* A connection transport told us about. */
typedef struct mb_peer {
	mb_peer_info_t i;
	uint64_t added_ns;        /* when an event (not a list) told us of it */
	bool seed;                /* an outbound connection to a configured seed */
	uint64_t drop_ns;         /* when we asked transport to close it, 0: never */
	ab_addr_t listen;         /* where it accepts connections (port 0: unknown) */
	uint64_t asked_ns;        /* our last GETPEERS to it, 0: never */
	bool awaiting;            /* a PEERS from it now answers our GETPEERS */
	ch_tbucket_t addr_bucket; /* addresses it may send unsolicited */
} mb_peer_t;

/* A dial in flight. */
typedef struct mb_pending {
	ab_addr_t addr;
	mb_kind_t kind;
	uint64_t deadline_ns;
	int32_t seed; /* index in seeds, -1: not a seed */
	uint32_t log; /* its dial log entry + 1, 0: none */
} mb_pending_t;

typedef struct mb_seed {
	ab_addr_t addr;
	uint64_t next_ns;
	uint32_t failures;
} mb_seed_t;

typedef struct mb_dial {
	ab_addr_t addr;
	mb_kind_t kind;
	mb_result_t result;
	uint64_t wall_ms;
	uint64_t seq;
} mb_dial_t;

typedef struct mb_cache {
	uint8_t ip[16];
	uint64_t made_ns;
	uint8_t *payload;
	size_t len;
} mb_cache_t;

struct mb {
	mb_config_t c;
	ab_t *book;
	mb_io_t io;
	mb_peer_t *peers; /* MB_MAX_PEERS */
	uint32_t npeers;
	bool synced;
	bool in_sync;
	uint64_t sync_asked_ns;     /* when the list being received was asked for */
	uint64_t gone[MB_GONE_MAX]; /* handles disconnected since, newest last */
	uint64_t gone_ns[MB_GONE_MAX];
	uint32_t ngone;
	mb_peer_t *sync; /* the list being received */
	uint32_t nsync;
	mb_pending_t pend[MB_MAX_PENDING];
	uint32_t npend;
	mb_seed_t seeds[MB_MAX_SEEDS];
	uint8_t (*bans)[16]; /* MB_MAX_BANS, sorted */
	uint32_t nbans;
	ab_addr_t self[MB_MAX_SELF];
	uint32_t nself;
	mb_anchor_t anchors[MB_ANCHORS];
	uint32_t nanchors;
	mb_anchor_t start_anchors[MB_ANCHORS]; /* read at start, dialed first */
	uint32_t nstart_anchors;
	bool anchors_dialed;
	bool book_exhausted; /* the last pick from the book found nothing */
	uint64_t next_feeler_ns, next_ask_ns, next_resolve_ns;
	ab_group_t groups[MB_MAX_GROUPS];
	uint32_t ngroups;
	mb_dial_t log[MB_DIAL_LOG];
	uint64_t nlog;
	mb_cache_t cache[MB_PEX_CACHE_MAX];
	uint32_t ncache;
	uint64_t now_ns, wall_ms;
	ch_tbucket_t dial_bucket; /* MB_DIAL_RATE per second, at most MB_DIAL_BURST */
	mb_stats_t st;
};

/* ---------------------------------------------------------------- helpers */

static void resolve_pending(mb_t *m, int idx, mb_result_t r, const uint8_t *pk);

/* rnd: randomness from the injected source (tests make it repeatable). */
static void rnd(mb_t *m, void *buf, size_t n)
{
	if (m->c.rand != NULL)
		m->c.rand(m->c.rand_arg, buf, n);
	else
		randombytes_buf(buf, n);
}

/* rnd_below: uniform enough in [0, n) for picking peers (n > 0). */
static uint32_t rnd_below(mb_t *m, uint32_t n)
{
	uint64_t r;

	rnd(m, &r, sizeof(r));
	return (uint32_t)(r % n);
}

/* jitter: d +- 20 %, so timers of many nodes do not line up. */
static uint64_t jitter(mb_t *m, uint64_t d)
{
	return d - d / 5 + (uint64_t)rnd_below(m, 1000) * (2 * (d / 5)) / 1000;
}

/* mb_kind_name: the words transport's `connect` and `peers` use. */
const char *mb_kind_name(mb_kind_t k)
{
	switch (k) {
	case MB_FEELER:
		return "feeler";
	case MB_BLOCK_RELAY:
		return "block-relay";
	case MB_INBOUND:
		return "inbound";
	default:
		return "outbound";
	}
}

/* mb_kind_parse: the inverse, for events and peer lists. */
int mb_kind_parse(const char *s, mb_kind_t *k)
{
	static const mb_kind_t all[] = {MB_OUTBOUND, MB_FEELER, MB_BLOCK_RELAY, MB_INBOUND};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, mb_kind_name(all[i])) == 0) {
			*k = all[i];
			return 0;
		}
	return CH_EINVAL;
}

/* ban_cmp: bans are sorted by address bytes for bsearch. */
static int ban_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* is_banned: transport refuses these anyway; asking would only cost a
 * round trip and a failure. */
static bool is_banned(const mb_t *m, const ab_addr_t *a)
{
	return m->nbans > 0 && bsearch(a->ip, m->bans, m->nbans, 16, ban_cmp) != NULL;
}

/* is_self: our listen addresses and those transport found to be us. */
static bool is_self(const mb_t *m, const ab_addr_t *a)
{
	for (uint32_t i = 0; i < m->nself; i++)
		if (ab_addr_eq(&m->self[i], a))
			return true;
	return false;
}

/* add_self: remembers an address that turned out to be this node. */
static void add_self(mb_t *m, const ab_addr_t *a)
{
	if (is_self(m, a))
		return;
	if (m->nself < MB_MAX_SELF)
		m->self[m->nself++] = *a;
	ab_remove(m->book, a);
}

/* counts_outbound: full-relay outbound connections (manual ones are the
 * operator's, on top of the target). */
static bool counts_outbound(const mb_peer_t *p)
{
	return !p->i.inbound && !p->i.manual && p->i.kind == MB_OUTBOUND;
}

/* is_seed_addr: a configured seed. */
static bool is_seed_addr(const mb_t *m, const ab_addr_t *a)
{
	for (uint32_t i = 0; i < m->c.nseeds; i++)
		if (ab_addr_eq(&m->seeds[i].addr, a))
			return true;
	return false;
}

/* full_nonseed: outbound connections that count toward the target: a
 * seed connection is for fetching addresses (Bitcoin's -seednode), kept
 * only while the book cannot replace it. */
static uint32_t full_nonseed(const mb_t *m)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < m->npeers; i++)
		n += counts_outbound(&m->peers[i]) && !m->peers[i].seed;
	return n;
}

/* find_peer: by transport's handle. */
static mb_peer_t *find_peer(mb_t *m, uint64_t handle)
{
	for (uint32_t i = 0; i < m->npeers; i++)
		if (m->peers[i].i.handle == handle)
			return &m->peers[i];
	return NULL;
}

/* connected_to: a peer already connected at this address (its listen
 * address) or with this key: dialing it again would be refused as a
 * duplicate. */
static bool connected_to(const mb_t *m, const ab_addr_t *a, const uint8_t *pk)
{
	for (uint32_t i = 0; i < m->npeers; i++) {
		const mb_peer_t *p = &m->peers[i];

		if (ab_addr_eq(&p->listen, a) || ab_addr_eq(&p->i.addr, a))
			return true;
		if (pk != NULL && p->i.has_pk && memcmp(p->i.pk, pk, 32) == 0)
			return true;
	}
	return false;
}

/* find_pending: the dial in flight to a. */
static int find_pending(const mb_t *m, const ab_addr_t *a)
{
	for (uint32_t i = 0; i < m->npend; i++)
		if (ab_addr_eq(&m->pend[i].addr, a))
			return (int)i;
	return -1;
}

/* log_dial: one line of the dial log, returned as index + 1. */
static uint32_t log_dial(mb_t *m, const ab_addr_t *a, mb_kind_t kind)
{
	mb_dial_t *d = &m->log[m->nlog % MB_DIAL_LOG];

	d->addr = *a;
	d->kind = kind;
	d->result = MB_DIALING;
	d->wall_ms = m->wall_ms;
	d->seq = m->nlog++;
	return (uint32_t)(m->nlog - 1) % MB_DIAL_LOG + 1;
}

/* peer_listen: where a connection's node accepts connections. */
static void peer_listen(const mb_peer_info_t *i, ab_addr_t *out)
{
	*out = i->addr;
	if (i->inbound)
		out->port = i->listen_port;
}

/* ---------------------------------------------------------------- life */

/* mb_new: everything sized once; nothing grows later. */
mb_t *mb_new(const mb_config_t *c, ab_t *book, const mb_io_t *io)
{
	mb_t *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->c = *c;
	m->book = book;
	m->io = *io;
	m->peers = calloc(MB_MAX_PEERS, sizeof(*m->peers));
	m->sync = calloc(MB_MAX_PEERS, sizeof(*m->sync));
	m->bans = calloc(MB_MAX_BANS, 16);
	if (m->peers == NULL || m->sync == NULL || m->bans == NULL) {
		mb_destroy(&m);
		return NULL;
	}
	if (m->c.nseeds > MB_MAX_SEEDS)
		m->c.nseeds = MB_MAX_SEEDS;
	for (uint32_t i = 0; i < m->c.nseeds; i++)
		m->seeds[i].addr = m->c.seeds[i];
	m->nself = m->c.nself < MB_MAX_SELF ? m->c.nself : MB_MAX_SELF;
	memcpy(m->self, m->c.self, m->nself * sizeof(m->self[0]));
	ch_tbucket_init(&m->dial_bucket, MB_DIAL_RATE, MB_DIAL_BURST, 0);
	return m;
}

/* mb_destroy: the cached answers are the only other allocations. */
void mb_destroy(mb_t **mp)
{
	mb_t *m;

	if (mp == NULL || *mp == NULL)
		return;
	m = *mp;
	for (uint32_t i = 0; i < m->ncache; i++)
		free(m->cache[i].payload);
	free(m->peers);
	free(m->sync);
	free(m->bans);
	free(m);
	*mp = NULL;
}

/* mb_set_anchors: a restarted node reconnects to known-good peers first. */
void mb_set_anchors(mb_t *m, const mb_anchor_t *a, size_t n)
{
	if (a == NULL)
		n = 0;
	m->nstart_anchors = (uint32_t)(n < MB_ANCHORS ? n : MB_ANCHORS);
	memcpy(m->start_anchors, a, m->nstart_anchors * sizeof(*a));
	memcpy(m->anchors, a, m->nstart_anchors * sizeof(*a));
	m->nanchors = m->nstart_anchors;
}

/* mb_get_anchors: for anchors.dat. */
size_t mb_get_anchors(const mb_t *m, mb_anchor_t *out, size_t max)
{
	size_t n = m->nanchors < max ? m->nanchors : max;

	memcpy(out, m->anchors, n * sizeof(*out));
	return n;
}

/* anchor_add: a new block-relay peer becomes the first anchor; the list
 * keeps MB_ANCHORS.  Disconnections do not remove anchors: at an orderly
 * stop every peer disconnects, and those are exactly the ones to keep. */
static void anchor_add(mb_t *m, const ab_addr_t *a, const uint8_t *pk)
{
	uint32_t i;

	for (i = 0; i < m->nanchors; i++)
		if (ab_addr_eq(&m->anchors[i].addr, a))
			break;
	if (i == 0 && m->nanchors > 0 && memcmp(m->anchors[0].pk, pk, 32) == 0)
		return; /* already the newest */
	if (i == m->nanchors)
		i = m->nanchors < MB_ANCHORS ? m->nanchors++ : MB_ANCHORS - 1;
	memmove(&m->anchors[1], &m->anchors[0], i * sizeof(m->anchors[0]));
	m->anchors[0].addr = *a;
	memcpy(m->anchors[0].pk, pk, 32);
	if (m->io.anchors_changed != NULL)
		m->io.anchors_changed(m->io.arg);
}

/* anchor_drop: an anchor that cannot be reached at start is forgotten
 * (Bitcoin deletes anchors.dat once read for the same reason). */
static void anchor_drop(mb_t *m, const ab_addr_t *a)
{
	for (uint32_t i = 0; i < m->nanchors; i++)
		if (ab_addr_eq(&m->anchors[i].addr, a)) {
			memmove(&m->anchors[i], &m->anchors[i + 1],
			        (m->nanchors - i - 1) * sizeof(m->anchors[0]));
			m->nanchors--;
			if (m->io.anchors_changed != NULL)
				m->io.anchors_changed(m->io.arg);
			return;
		}
}

/* ---------------------------------------------------------------- peers */

/* peer_fill: a tracked connection from what transport reported. */
static void peer_fill(mb_peer_t *p, const mb_peer_info_t *i, const mb_peer_t *old)
{
	memset(p, 0, sizeof(*p));
	p->i = *i;
	if (p->i.inbound)
		p->i.kind = MB_INBOUND;
	peer_listen(i, &p->listen);
	ch_tbucket_init(&p->addr_bucket, MB_PEX_ADDR_RATE, MB_PEX_ADDR_BURST, 0);
	if (old != NULL) { /* keep what we learned of it */
		p->drop_ns = old->drop_ns;
		p->asked_ns = old->asked_ns;
		p->awaiting = old->awaiting;
		p->addr_bucket = old->addr_bucket;
	}
}

/* mb_sync_asked: the list was asked for at now_ns; events after that
 * may be newer than the list. */
void mb_sync_asked(mb_t *m, uint64_t now_ns)
{
	m->sync_asked_ns = now_ns;
	m->ngone = 0;
}

/* mb_sync_begin: a fresh peer list is coming. */
void mb_sync_begin(mb_t *m)
{
	m->in_sync = true;
	m->nsync = 0;
}

/* was_gone: a disconnection event for handle came after the list was
 * asked for: the list's entry is stale. */
static bool was_gone(const mb_t *m, uint64_t handle)
{
	for (uint32_t i = 0; i < m->ngone; i++)
		if (m->gone[i] == handle && m->gone_ns[i] >= m->sync_asked_ns)
			return true;
	return false;
}

/* mb_sync_peer: one connection of the list. */
void mb_sync_peer(mb_t *m, const mb_peer_info_t *p)
{
	if (!m->in_sync || m->nsync >= MB_MAX_PEERS || p->kind == MB_FEELER ||
	    was_gone(m, p->handle))
		return;
	peer_fill(&m->sync[m->nsync], p, find_peer(m, p->handle));
	m->sync[m->nsync++].seed = !p->inbound && is_seed_addr(m, &p->addr);
}

/* mb_sync_end: the list replaces ours; connections we did not know (the
 * events were missed, e.g. while discovery restarted) are taken as they
 * are, with their addresses recorded as working. */
void mb_sync_end(mb_t *m, uint64_t now_ns, uint64_t wall_ms)
{
	mb_peer_t *t;

	if (!m->in_sync)
		return;
	m->now_ns = now_ns;
	m->wall_ms = wall_ms;
	/* connections reported by events after the list was asked for may be
	 * missing from it: they stay */
	for (uint32_t i = 0; i < m->npeers && m->nsync < MB_MAX_PEERS; i++) {
		bool listed = false;

		if (m->peers[i].added_ns < m->sync_asked_ns)
			continue;
		for (uint32_t k = 0; k < m->nsync && !listed; k++)
			listed = m->sync[k].i.handle == m->peers[i].i.handle;
		if (!listed)
			m->sync[m->nsync++] = m->peers[i];
	}
	for (uint32_t i = 0; i < m->nsync; i++) {
		const mb_peer_t *p = &m->sync[i];
		int pd;

		if (find_peer(m, p->i.handle) != NULL)
			continue;
		pd = p->i.inbound ? -1 : find_pending(m, &p->i.addr);
		if (pd >= 0) /* its event was missed: the dial succeeded */
			resolve_pending(m, pd, MB_OK, p->i.has_pk ? p->i.pk : NULL);
		if (!p->i.inbound) {
			ab_good(m->book, &p->i.addr, p->i.has_pk ? p->i.pk : NULL, wall_ms);
			if (p->i.kind == MB_BLOCK_RELAY && p->i.has_pk && !p->i.manual)
				anchor_add(m, &p->i.addr, p->i.pk);
		} else if (p->listen.port != 0 && ab_addr_from_peer_ok(&p->listen, &p->i.addr)) {
			ab_add(m->book, &p->listen, &p->listen, wall_ms, wall_ms, NULL);
		}
	}
	t = m->peers;
	m->peers = m->sync;
	m->sync = t;
	m->npeers = m->nsync;
	m->in_sync = false;
	m->synced = true;
}

/* mb_transport_lost: no dialing while transport cannot be asked. */
void mb_transport_lost(mb_t *m)
{
	m->synced = false;
	m->in_sync = false;
}

/* send_getpeers: asks a peer for addresses; its next PEERS is an answer. */
static void send_getpeers(mb_t *m, mb_peer_t *p)
{
	uint8_t pl[8];
	size_t n = pex_getpeers_encode(pl, sizeof(pl));

	p->asked_ns = m->now_ns;
	p->awaiting = true;
	if (m->io.send(m->io.arg, p->i.handle, WIRE_GETPEERS, pl, n) == 0)
		m->st.getpeers_out++;
}

/* resolve_pending: a dial ended; the book and the seed learn the result. */
static void resolve_pending(mb_t *m, int idx, mb_result_t r, const uint8_t *pk)
{
	mb_pending_t d = m->pend[idx];

	m->pend[idx] = m->pend[--m->npend];
	if (d.log != 0 && m->log[d.log - 1].result == MB_DIALING &&
	    ab_addr_eq(&m->log[d.log - 1].addr, &d.addr))
		m->log[d.log - 1].result = r;
	if (r == MB_OK) {
		m->st.dial_ok++;
		ab_good(m->book, &d.addr, pk, m->wall_ms);
		if (d.seed >= 0) {
			m->seeds[d.seed].failures = 0;
			m->seeds[d.seed].next_ns = m->now_ns + MB_SEED_BACKOFF_NS;
		}
		return;
	}
	if (r == MB_REFUSED)
		m->st.dial_refused++;
	else
		m->st.dial_failed++;
	ab_attempt(m->book, &d.addr, m->wall_ms);
	if (d.seed >= 0) {
		mb_seed_t *s = &m->seeds[d.seed];
		uint64_t wait = MB_SEED_BACKOFF_NS << (s->failures < 6 ? s->failures : 6);

		s->failures++;
		s->next_ns = m->now_ns + (wait < MB_SEED_BACKOFF_MAX ? wait : MB_SEED_BACKOFF_MAX);
	}
	if (d.kind == MB_BLOCK_RELAY)
		anchor_drop(m, &d.addr);
}

/* mb_on_connected: a handshake finished. */
void mb_on_connected(mb_t *m, const mb_peer_info_t *i, uint64_t now_ns, uint64_t wall_ms)
{
	mb_peer_t *p;
	int pd;

	m->now_ns = now_ns;
	m->wall_ms = wall_ms;
	if (i->kind == MB_FEELER)
		return; /* transport reports feelers as feeler_ok */
	pd = i->inbound ? -1 : find_pending(m, &i->addr);
	if (pd >= 0)
		resolve_pending(m, pd, MB_OK, i->has_pk ? i->pk : NULL);
	else if (!i->inbound)
		ab_good(m->book, &i->addr, i->has_pk ? i->pk : NULL, wall_ms);
	p = find_peer(m, i->handle);
	if (p == NULL) {
		if (m->npeers >= MB_MAX_PEERS)
			return;
		p = &m->peers[m->npeers++];
	}
	peer_fill(p, i, NULL);
	p->added_ns = now_ns;
	p->seed = !i->inbound && is_seed_addr(m, &i->addr);
	if (i->inbound) {
		if (p->listen.port != 0 && !is_self(m, &p->listen) &&
		    ab_addr_from_peer_ok(&p->listen, &p->i.addr))
			ab_add(m->book, &p->listen, &p->listen, wall_ms, wall_ms, NULL);
		return;
	}
	if (i->kind == MB_BLOCK_RELAY && i->has_pk && !i->manual)
		anchor_add(m, &i->addr, i->pk);
	if (i->kind == MB_OUTBOUND)
		send_getpeers(m, p);
}

/* mb_on_disconnected: the slot frees up; the next tick may dial. */
void mb_on_disconnected(mb_t *m, uint64_t handle, uint64_t now_ns)
{
	mb_peer_t *p = find_peer(m, handle);

	if (p != NULL)
		*p = m->peers[--m->npeers];
	if (m->ngone == MB_GONE_MAX) { /* the oldest is forgotten */
		memmove(m->gone, m->gone + 1, (MB_GONE_MAX - 1) * sizeof(m->gone[0]));
		memmove(m->gone_ns, m->gone_ns + 1, (MB_GONE_MAX - 1) * sizeof(m->gone_ns[0]));
		m->ngone--;
	}
	m->gone[m->ngone] = handle;
	m->gone_ns[m->ngone++] = now_ns;
}

/* mb_on_failed: a dial (or feeler) did not reach a handshake. */
void mb_on_failed(mb_t *m, const ab_addr_t *a, const char *reason, uint64_t now_ns,
                  uint64_t wall_ms)
{
	int pd = find_pending(m, a);

	m->now_ns = now_ns;
	m->wall_ms = wall_ms;
	if (strcmp(reason, "connected to ourselves") == 0) {
		if (pd >= 0) { /* our dial reached us (the inbound side is ignored) */
			uint32_t lg = m->pend[pd].log;

			if (lg != 0 && ab_addr_eq(&m->log[lg - 1].addr, a))
				m->log[lg - 1].result = MB_FAILED;
			m->pend[pd] = m->pend[--m->npend];
			add_self(m, a);
		}
		return;
	}
	if (pd < 0)
		return; /* an inbound that failed, or a dial of someone else's */
	/* a duplicate means the address works: we are connected another way */
	resolve_pending(m, pd, strstr(reason, "already connected") != NULL ? MB_OK : MB_FAILED,
	                NULL);
}

/* mb_on_feeler_ok: the feeler's address answered: it moves to tried. */
void mb_on_feeler_ok(mb_t *m, const ab_addr_t *a, const uint8_t *pk, uint64_t wall_ms)
{
	int pd = find_pending(m, a);

	m->wall_ms = wall_ms;
	if (pd >= 0)
		resolve_pending(m, pd, MB_OK, pk);
	else
		ab_good(m->book, a, pk, wall_ms);
}

/* mb_on_dial_refused: transport did not even start the dial. */
void mb_on_dial_refused(mb_t *m, const ab_addr_t *a, int code, uint64_t wall_ms)
{
	int pd = find_pending(m, a);

	(void)code;
	m->wall_ms = wall_ms;
	if (pd >= 0)
		resolve_pending(m, pd, MB_REFUSED, NULL);
}

/* mb_on_banned: one more banned address (kept sorted). */
void mb_on_banned(mb_t *m, const ab_addr_t *a)
{
	uint32_t i = 0;

	if (is_banned(m, a) || m->nbans >= MB_MAX_BANS)
		return;
	while (i < m->nbans && memcmp(m->bans[i], a->ip, 16) < 0)
		i++;
	memmove(&m->bans[i + 1], &m->bans[i], (m->nbans - i) * 16);
	memcpy(m->bans[i], a->ip, 16);
	m->nbans++;
}

/* mb_set_bans: the whole list from transport (bans expire there). */
void mb_set_bans(mb_t *m, const ab_addr_t *ips, size_t n)
{
	m->nbans = 0;
	for (size_t i = 0; i < n && m->nbans < MB_MAX_BANS; i++)
		memcpy(m->bans[m->nbans++], ips[i].ip, 16);
	qsort(m->bans, m->nbans, 16, ban_cmp);
}

/* ---------------------------------------------------------------- exchange */

typedef struct sample_ctx {
	const mb_t *m;
	const ab_addr_t *except;
	uint64_t fresh_after;
} sample_ctx_t;

/* fresh_filter: book entries seen working recently at first hand: a
 * connection of ours succeeded, or the node itself told us (it connected
 * to us, or announced itself on the DHT) and no dial of ours failed
 * since.  Hearsay from peer exchange is not passed on until it is
 * verified.  Never the requester. */
static bool fresh_filter(void *arg, const ab_entry_t *e)
{
	const sample_ctx_t *s = arg;
	bool worked = e->success_ms != 0 && e->success_ms >= s->fresh_after;
	bool first_hand =
	    ab_addr_eq(&e->src, &e->addr) && e->seen_ms >= s->fresh_after && e->attempts == 0;

	return (worked || first_hand) && memcmp(e->addr.ip, s->except->ip, 16) != 0 &&
	       !is_banned(s->m, &e->addr);
}

/* build_answer: up to PEX_REPLY_MAX addresses seen working: connected
 * peers' listen addresses first in the pool, then fresh book entries;
 * a random sample of the union. */
static int build_answer(mb_t *m, const mb_peer_t *req, uint8_t **out, size_t *len)
{
	ab_addr_t pool[PEX_REPLY_MAX * 2];
	const ab_entry_t *ents[PEX_REPLY_MAX];
	sample_ctx_t sc = {m, &req->i.addr,
	                   m->wall_ms > MB_PEX_FRESH_MS ? m->wall_ms - MB_PEX_FRESH_MS : 1};
	size_t n = 0, ne;

	for (uint32_t i = 0; i < m->npeers && n < PEX_REPLY_MAX; i++) {
		const mb_peer_t *p = &m->peers[i];

		if (p == req || p->listen.port == 0 || p->i.kind == MB_BLOCK_RELAY ||
		    memcmp(p->listen.ip, req->i.addr.ip, 16) == 0)
			continue;
		pool[n++] = p->listen;
	}
	ne = ab_sample(m->book, fresh_filter, &sc, ents, PEX_REPLY_MAX);
	for (size_t i = 0; i < ne; i++) {
		bool dup = false;

		for (size_t k = 0; k < n && !dup; k++)
			dup = ab_addr_eq(&pool[k], &ents[i]->addr);
		if (!dup)
			pool[n++] = ents[i]->addr;
	}
	/* a random PEX_REPLY_MAX of the pool (Fisher-Yates prefix) */
	for (size_t i = 0; i < n && i < PEX_REPLY_MAX; i++) {
		size_t j = i + rnd_below(m, (uint32_t)(n - i));
		ab_addr_t t = pool[i];

		pool[i] = pool[j];
		pool[j] = t;
	}
	return pex_peers_encode(pool, n < PEX_REPLY_MAX ? n : PEX_REPLY_MAX, out, len);
}

/* on_getpeers: answers from the cache when this requester asked lately,
 * so repeated asks cannot enumerate the book. */
static void on_getpeers(mb_t *m, mb_peer_t *p, const uint8_t *payload, size_t len)
{
	mb_cache_t *c = NULL;
	uint8_t *ans;
	size_t alen;

	if (pex_getpeers_check(payload, len) != 0) {
		m->st.pex_malformed++;
		return;
	}
	m->st.getpeers_in++;
	for (uint32_t i = 0; i < m->ncache; i++)
		if (memcmp(m->cache[i].ip, p->i.addr.ip, 16) == 0) {
			c = &m->cache[i];
			break;
		}
	if (c != NULL && m->now_ns - c->made_ns < MB_PEX_CACHE_NS) {
		m->st.getpeers_cached++;
	} else {
		if (build_answer(m, p, &ans, &alen) != 0)
			return;
		if (c == NULL) {
			if (m->ncache < MB_PEX_CACHE_MAX) {
				c = &m->cache[m->ncache++];
			} else { /* the oldest answer goes */
				c = &m->cache[0];
				for (uint32_t i = 1; i < m->ncache; i++)
					if (m->cache[i].made_ns < c->made_ns)
						c = &m->cache[i];
				free(c->payload);
			}
		} else {
			free(c->payload);
		}
		memcpy(c->ip, p->i.addr.ip, 16);
		c->made_ns = m->now_ns;
		c->payload = ans;
		c->len = alen;
	}
	if (m->io.send(m->io.arg, p->i.handle, WIRE_PEERS, c->payload, c->len) == 0)
		m->st.peers_out++;
}

/* on_peers: addresses into the book, as many as the peer may give. */
static void on_peers(mb_t *m, mb_peer_t *p, const uint8_t *payload, size_t len)
{
	static ab_addr_t addrs[MB_PEX_SOLICITED_MAX];
	pex_stats_t ps;
	size_t n = 0, max;
	bool solicited = p->awaiting && m->now_ns - p->asked_ns < MB_PEX_ANSWER_NS;

	m->st.peers_in++;
	if (solicited) {
		p->awaiting = false;
		max = MB_PEX_SOLICITED_MAX;
	} else {
		m->st.peers_unsolicited++;
		max = (size_t)ch_tbucket_refill(&p->addr_bucket, m->now_ns);
	}
	if (pex_peers_decode(payload, len, ab_addr_valid, addrs, max, &n, &ps) != 0) {
		m->st.pex_malformed++;
		return;
	}
	if (!solicited)
		ch_tbucket_spend(&p->addr_bucket, (double)n);
	m->st.addrs_in += ps.total;
	m->st.addrs_bad += ps.bad;
	m->st.addrs_rate_limited += ps.dropped;
	for (size_t i = 0; i < n; i++) {
		bool added = false;

		if (is_self(m, &addrs[i]))
			continue;
		if (!ab_addr_from_peer_ok(&addrs[i], &p->i.addr)) {
			m->st.addrs_refused++;
			continue;
		}
		ab_add(m->book, &addrs[i], &p->i.addr, m->wall_ms, m->wall_ms, &added);
		m->st.addrs_added += added;
	}
}

/* mb_on_msg: peer exchange from a connected peer. */
void mb_on_msg(mb_t *m, uint64_t handle, uint8_t type, const uint8_t *payload, size_t len,
               uint64_t now_ns, uint64_t wall_ms)
{
	mb_peer_t *p = find_peer(m, handle);

	m->now_ns = now_ns;
	m->wall_ms = wall_ms;
	if (p == NULL) {
		m->st.pex_unknown_peer++;
		return; /* gone, or not yet synced: it will ask again */
	}
	if (type == WIRE_GETPEERS)
		on_getpeers(m, p, payload, len);
	else if (type == WIRE_PEERS)
		on_peers(m, p, payload, len);
}

/* mb_add_candidates: DHT members into the book (never a dial). */
size_t mb_add_candidates(mb_t *m, const ab_addr_t *a, const ab_addr_t *src, size_t n,
                         uint64_t wall_ms)
{
	size_t fresh = 0;

	m->wall_ms = wall_ms;
	for (size_t i = 0; i < n; i++) {
		bool known;

		if (is_self(m, &a[i]))
			continue;
		if (!ab_addr_from_peer_ok(&a[i], &src[i])) {
			m->st.addrs_refused++;
			continue;
		}
		m->st.dht_candidates++;
		known = ab_find(m->book, &a[i]) != NULL;
		ab_add(m->book, &a[i], &src[i], wall_ms, wall_ms, NULL);
		fresh += !known && ab_find(m->book, &a[i]) != NULL;
	}
	return fresh;
}

/* ---------------------------------------------------------------- dialing */

/* collect_groups: the groups outbound connections and dials use now. */
static void collect_groups(mb_t *m)
{
	m->ngroups = 0;
	for (uint32_t i = 0; i < m->npeers + m->npend && m->ngroups < MB_MAX_GROUPS; i++) {
		const ab_addr_t *a;

		if (i < m->npeers) {
			const mb_peer_t *p = &m->peers[i];

			if (p->i.inbound || p->i.manual || p->i.kind == MB_FEELER)
				continue;
			a = &p->i.addr;
		} else {
			if (m->pend[i - m->npeers].kind == MB_FEELER)
				continue;
			a = &m->pend[i - m->npeers].addr;
		}
		ab_group_of(a, m->c.netgroup, &m->groups[m->ngroups++]);
	}
}

/* group_used: another outbound connection is in this group. */
static bool group_used(const mb_t *m, const ab_addr_t *a)
{
	ab_group_t g;

	ab_group_of(a, m->c.netgroup, &g);
	for (uint32_t i = 0; i < m->ngroups; i++)
		if (ab_group_eq(&m->groups[i], &g))
			return true;
	return false;
}

/* in_backoff: failures push the next attempt out exponentially. */
static bool in_backoff(const ab_entry_t *e, uint64_t wall_ms)
{
	uint64_t wait;

	if (e->attempts == 0 || e->try_ms == 0)
		return false;
	wait = MB_BACKOFF_BASE_MS << (e->attempts - 1 < 10 ? e->attempts - 1 : 10);
	if (wait > MB_BACKOFF_MAX_MS)
		wait = MB_BACKOFF_MAX_MS;
	return wall_ms < e->try_ms + wait;
}

/* dialable: the filter of every pick from the book. */
static bool dialable(void *arg, const ab_entry_t *e)
{
	const mb_t *m = arg;

	if (is_banned(m, &e->addr) || is_self(m, &e->addr) || is_seed_addr(m, &e->addr) ||
	    (e->has_pk && memcmp(e->pk, m->c.self_pk, 32) == 0))
		return false; /* seeds are dialed by the seed rule only */
	if (find_pending(m, &e->addr) >= 0 || connected_to(m, &e->addr, e->has_pk ? e->pk : NULL))
		return false;
	return !in_backoff(e, m->wall_ms);
}

/* dialable_diverse: dialable, in a group no outbound connection uses. */
static bool dialable_diverse(void *arg, const ab_entry_t *e)
{
	return dialable(arg, e) && !group_used(arg, &e->addr);
}

/* dial_allowed: the dial rate bucket: a book full of dead addresses
 * cannot turn into a storm of connection attempts. */
static bool dial_allowed(mb_t *m)
{
	return ch_tbucket_refill(&m->dial_bucket, m->now_ns) >= 1.0;
}

/* dial: asks transport, records the dial in flight and in the log. */
static bool dial(mb_t *m, const ab_addr_t *a, const uint8_t *pk, mb_kind_t kind, int32_t seed)
{
	mb_pending_t *d;

	if (m->npend >= MB_MAX_PENDING || !dial_allowed(m))
		return false;
	ch_tbucket_spend(&m->dial_bucket, 1.0);
	d = &m->pend[m->npend++];
	d->addr = *a;
	d->kind = kind;
	d->deadline_ns = m->now_ns + m->c.dial_timeout_ns;
	d->seed = seed;
	d->log = log_dial(m, a, kind);
	m->st.dials++;
	if (kind == MB_FEELER)
		m->st.feelers++;
	if (seed >= 0)
		m->st.seed_dials++;
	if (kind != MB_FEELER) {
		ab_group_t g;

		ab_group_of(a, m->c.netgroup, &g);
		if (m->ngroups < MB_MAX_GROUPS)
			m->groups[m->ngroups++] = g;
	}
	if (m->io.connect(m->io.arg, a, pk, kind) != 0) {
		resolve_pending(m, (int)(d - m->pend), MB_REFUSED, NULL);
		return false;
	}
	return true;
}

/* expire_pending: dials whose outcome never came (an event lost while
 * transport restarted) count as failures. */
static void expire_pending(mb_t *m)
{
	for (uint32_t i = 0; i < m->npend;)
		if (m->now_ns >= m->pend[i].deadline_ns)
			resolve_pending(m, (int)i, MB_FAILED, NULL);
		else
			i++;
}

/* count_kind: connections and dials in flight of one kind, neither
 * manual nor to seeds. */
static uint32_t count_kind(const mb_t *m, mb_kind_t k)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < m->npeers; i++)
		n += !m->peers[i].i.inbound && !m->peers[i].i.manual && !m->peers[i].seed &&
		     m->peers[i].i.kind == k;
	for (uint32_t i = 0; i < m->npend; i++)
		n += m->pend[i].kind == k && m->pend[i].seed < 0;
	return n;
}

/* drop_seeds: once the book gave the target without them, connections to
 * seeds are closed (a seed everyone keeps could never dial out itself). */
static int drop_seeds(mb_t *m)
{
	int n = 0;

	if (full_nonseed(m) < m->c.target || m->io.disconnect == NULL)
		return 0;
	for (uint32_t i = 0; i < m->npeers; i++) {
		mb_peer_t *p = &m->peers[i];

		if (!p->seed || !counts_outbound(p) ||
		    (p->drop_ns != 0 && m->now_ns - p->drop_ns < MB_DROP_RETRY_NS))
			continue;
		if (p->awaiting && m->now_ns - p->asked_ns < MB_PEX_ANSWER_NS)
			continue; /* its addresses are what it is for: wait for them */
		p->drop_ns = m->now_ns;
		n += m->io.disconnect(m->io.arg, p->i.handle) == 0;
	}
	return n;
}

/* anchor_candidate: block-relay anchors come from the book like any
 * outbound peer (never a seed: dialable excludes them). */
static bool anchor_candidate(void *arg, const ab_entry_t *e)
{
	return dialable_diverse(arg, e);
}

/* dial_seeds: the seeds, while the book cannot do the job alone. */
static int dial_seeds(mb_t *m)
{
	int n = 0;

	for (uint32_t i = 0; i < m->c.nseeds; i++) {
		mb_seed_t *s = &m->seeds[i];

		if (m->now_ns < s->next_ns || is_self(m, &s->addr) || is_banned(m, &s->addr) ||
		    find_pending(m, &s->addr) >= 0 || connected_to(m, &s->addr, NULL))
			continue;
		s->next_ns = m->now_ns + m->c.dial_timeout_ns;
		n += dial(m, &s->addr, NULL, MB_OUTBOUND, (int32_t)i);
	}
	return n;
}

/* dial_anchors: the previous run's block-relay peers, first of all. */
static int dial_anchors(mb_t *m)
{
	int n = 0;

	m->anchors_dialed = true;
	for (uint32_t i = 0; i < m->nstart_anchors; i++) {
		const mb_anchor_t *a = &m->start_anchors[i];

		if (connected_to(m, &a->addr, a->pk) || is_banned(m, &a->addr) ||
		    is_self(m, &a->addr))
			continue;
		n += dial(m, &a->addr, a->pk, MB_BLOCK_RELAY, -1);
	}
	return n;
}

/* ask_more: below the target, one more peer is asked for addresses. */
static int ask_more(mb_t *m)
{
	uint32_t start, n = m->npeers;

	if (n == 0)
		return 0;
	start = rnd_below(m, n);
	for (uint32_t k = 0; k < n; k++) {
		mb_peer_t *p = &m->peers[(start + k) % n];

		if (p->i.kind == MB_BLOCK_RELAY ||
		    (p->asked_ns != 0 && m->now_ns - p->asked_ns < MB_PEX_REASK_NS))
			continue;
		send_getpeers(m, p);
		return 1;
	}
	return 0;
}

/* mb_tick: the policy of member.h, in that order. */
int mb_tick(mb_t *m, uint64_t now_ns, uint64_t wall_ms)
{
	int done = 0;
	uint32_t have, want;

	m->now_ns = now_ns;
	m->wall_ms = wall_ms;
	expire_pending(m);
	if (now_ns >= m->next_resolve_ns) {
		m->next_resolve_ns = now_ns + MB_RESOLVE_NS;
		ab_resolve_collisions(m->book, wall_ms);
	}
	if (!m->synced)
		return 0;
	collect_groups(m);
	if (!m->anchors_dialed)
		done += dial_anchors(m);

	/* full outbound: the book first; the seeds while it is too small or
	 * yields nothing; seed connections dropped once they are surplus */
	have = count_kind(m, MB_OUTBOUND);
	want = m->c.target > have ? m->c.target - have : 0;
	if (want > 0 && (ab_count(m->book, AB_ANY) < m->c.target || m->book_exhausted))
		done += dial_seeds(m);
	done += drop_seeds(m);
	m->book_exhausted = false;
	for (uint32_t k = 0; k < want && k < MB_DIALS_PER_TICK && dial_allowed(m); k++) {
		const ab_entry_t *e = ab_select(m->book, AB_ANY, dialable_diverse, m, wall_ms);

		if (e == NULL) {
			m->book_exhausted = true;
			break;
		}
		ab_addr_t a = e->addr;
		uint8_t pk[32];
		bool has_pk = e->has_pk;

		memcpy(pk, e->pk, 32);
		done += dial(m, &a, has_pk ? pk : NULL, MB_OUTBOUND, -1);
	}

	/* block-relay-only, once the full target is met */
	if (full_nonseed(m) >= m->c.target) {
		have = count_kind(m, MB_BLOCK_RELAY);
		for (uint32_t k = have; k < m->c.block_relay && dial_allowed(m); k++) {
			/* proven addresses first, as Bitcoin's anchors */
			const ab_entry_t *e =
			    ab_select(m->book, AB_TRIED, anchor_candidate, m, wall_ms);

			if (e == NULL)
				e = ab_select(m->book, AB_ANY, anchor_candidate, m, wall_ms);

			if (e == NULL)
				break;
			ab_addr_t a = e->addr;
			uint8_t pk[32];
			bool has_pk = e->has_pk;

			memcpy(pk, e->pk, 32);
			done += dial(m, &a, has_pk ? pk : NULL, MB_BLOCK_RELAY, -1);
		}
	}

	/* feelers: test a collision, or move a new address to tried */
	if (m->next_feeler_ns == 0)
		m->next_feeler_ns = now_ns + jitter(m, MB_FEELER_NS);
	if (now_ns >= m->next_feeler_ns && full_nonseed(m) >= m->c.target && dial_allowed(m)) {
		const ab_entry_t *e = ab_collision_to_test(m->book);

		m->next_feeler_ns = now_ns + jitter(m, MB_FEELER_NS);
		if (e == NULL || !dialable(m, e))
			e = ab_select(m->book, AB_NEW, dialable, m, wall_ms);
		if (e != NULL) {
			ab_addr_t a = e->addr;

			done += dial(m, &a, NULL, MB_FEELER, -1);
		}
	}

	/* peer exchange while short of peers */
	if (mb_below_target(m) && now_ns >= m->next_ask_ns) {
		m->next_ask_ns = now_ns + jitter(m, MB_PEX_ASK_NS);
		done += ask_more(m);
	}
	return done;
}

/* mb_outbound: full outbound connections established. */
uint32_t mb_outbound(const mb_t *m)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < m->npeers; i++)
		n += counts_outbound(&m->peers[i]);
	return n;
}

/* mb_below_target: the DHT and peer exchange hurry while this holds. */
bool mb_below_target(const mb_t *m)
{
	return full_nonseed(m) < m->c.target;
}

/* mb_stats: for metrics. */
const mb_stats_t *mb_stats(const mb_t *m)
{
	return &m->st;
}

/* ---------------------------------------------------------------- status */

typedef struct grp_count {
	ab_group_t g;
	uint32_t nnew, ntried;
} grp_count_t;

typedef struct grp_acc {
	grp_count_t *v;
	size_t n;
	ch_netgroup_mode_t mode;
} grp_acc_t;

/* grp_collect: one row per entry; merged after sorting. */
static void grp_collect(void *arg, const ab_entry_t *e)
{
	grp_acc_t *a = arg;

	ab_group_of(&e->addr, a->mode, &a->v[a->n].g);
	a->v[a->n].nnew = !e->tried;
	a->v[a->n].ntried = e->tried;
	a->n++;
}

/* grp_by_group / grp_by_size: sort orders of the group table. */
static int grp_by_group(const void *a, const void *b)
{
	return memcmp(((const grp_count_t *)a)->g.b, ((const grp_count_t *)b)->g.b,
	              sizeof(ab_group_t));
}

/* grp_by_size: the largest groups first, ties by group. */
static int grp_by_size(const void *a, const void *b)
{
	const grp_count_t *x = a, *y = b;
	uint32_t sx = x->nnew + x->ntried, sy = y->nnew + y->ntried;

	if (sx != sy)
		return sx < sy ? 1 : -1;
	return grp_by_group(a, b);
}

/* Groups listed by `addrbook` (the largest). */
#define MB_STATUS_GROUPS 64

/* write_groups: "groups_total" and the largest MB_STATUS_GROUPS groups. */
static void write_groups(mb_t *m, ch_mpw_t *w)
{
	grp_acc_t a = {calloc(ab_count(m->book, AB_ANY) + 1, sizeof(grp_count_t)), 0,
	               m->c.netgroup};
	size_t ng = 0, shown;
	char gs[AB_GROUP_STR_MAX];

	if (a.v != NULL)
		ab_foreach(m->book, grp_collect, &a);
	qsort(a.v, a.n, sizeof(*a.v), grp_by_group);
	for (size_t i = 0; i < a.n; i++) {
		if (ng > 0 && ab_group_eq(&a.v[ng - 1].g, &a.v[i].g)) {
			a.v[ng - 1].nnew += a.v[i].nnew;
			a.v[ng - 1].ntried += a.v[i].ntried;
		} else {
			a.v[ng++] = a.v[i];
		}
	}
	qsort(a.v, ng, sizeof(*a.v), grp_by_size);
	shown = ng < MB_STATUS_GROUPS ? ng : MB_STATUS_GROUPS;
	ch_mpw_kv_u64(w, "groups_total", ng);
	ch_mpw_key(w, "groups");
	ch_mpw_array(w, shown);
	for (size_t i = 0; i < shown; i++) {
		ch_mpw_map(w, 3);
		ch_mpw_kv_str(w, "group", ab_group_str(&a.v[i].g, gs, sizeof(gs)));
		ch_mpw_kv_u64(w, "new", a.v[i].nnew);
		ch_mpw_kv_u64(w, "tried", a.v[i].ntried);
	}
	free(a.v);
}

/* mb_write_status: see member.h; 13 pairs of its own. */
void mb_write_status(mb_t *m, ch_mpw_t *w, size_t extra, uint64_t now_ns, uint64_t wall_ms)
{
	char s[AB_ADDR_STR_MAX], hex[65];
	uint64_t first = m->nlog > MB_DIAL_LOG ? m->nlog - MB_DIAL_LOG : 0;
	uint32_t block_relay = 0;

	(void)now_ns;
	for (uint32_t i = 0; i < m->npeers; i++)
		block_relay += !m->peers[i].i.inbound && m->peers[i].i.kind == MB_BLOCK_RELAY;
	ch_mpw_map(w, 13 + extra);
	ch_mpw_kv_u64(w, "new", ab_count(m->book, AB_NEW));
	ch_mpw_kv_u64(w, "tried", ab_count(m->book, AB_TRIED));
	ch_mpw_kv_u64(w, "collisions", ab_collisions(m->book));
	write_groups(m, w);
	ch_mpw_kv_u64(w, "outbound", mb_outbound(m));
	ch_mpw_kv_u64(w, "target", m->c.target);
	ch_mpw_kv_u64(w, "block_relay", block_relay);
	ch_mpw_kv_u64(w, "dialing", m->npend);
	ch_mpw_key(w, "anchors");
	ch_mpw_array(w, m->nanchors);
	for (uint32_t i = 0; i < m->nanchors; i++) {
		ch_hex_encode(hex, sizeof(hex), m->anchors[i].pk, 32);
		ch_mpw_map(w, 2);
		ch_mpw_kv_str(w, "addr", ab_addr_str(&m->anchors[i].addr, s, sizeof(s)));
		ch_mpw_kv_str(w, "pubkey", hex);
	}
	ch_mpw_key(w, "start_anchors");
	ch_mpw_array(w, m->nstart_anchors);
	for (uint32_t i = 0; i < m->nstart_anchors; i++) {
		ab_addr_str(&m->start_anchors[i].addr, s, sizeof(s));
		msgpack_pack_str_with_body(&w->pk, s, strlen(s));
	}
	ch_mpw_key(w, "dials");
	ch_mpw_array(w, m->nlog - first);
	for (uint64_t k = first; k < m->nlog; k++) {
		const mb_dial_t *d = &m->log[k % MB_DIAL_LOG];
		static const char *const res[] = {"dialing", "ok", "failed", "refused"};

		ch_mpw_map(w, 4);
		ch_mpw_kv_str(w, "addr", ab_addr_str(&d->addr, s, sizeof(s)));
		ch_mpw_kv_str(w, "kind", mb_kind_name(d->kind));
		ch_mpw_kv_str(w, "result", res[d->result]);
		ch_mpw_kv_u64(w, "ago_ms", wall_ms > d->wall_ms ? wall_ms - d->wall_ms : 0);
	}
	ch_mpw_key(w, "counters");
	ch_mpw_map(w, 20);
	ch_mpw_kv_u64(w, "pex_unknown_peer", m->st.pex_unknown_peer);
	ch_mpw_kv_u64(w, "dials", m->st.dials);
	ch_mpw_kv_u64(w, "dial_ok", m->st.dial_ok);
	ch_mpw_kv_u64(w, "dial_failed", m->st.dial_failed);
	ch_mpw_kv_u64(w, "dial_refused", m->st.dial_refused);
	ch_mpw_kv_u64(w, "feelers", m->st.feelers);
	ch_mpw_kv_u64(w, "seed_dials", m->st.seed_dials);
	ch_mpw_kv_u64(w, "getpeers_in", m->st.getpeers_in);
	ch_mpw_kv_u64(w, "getpeers_out", m->st.getpeers_out);
	ch_mpw_kv_u64(w, "getpeers_cached", m->st.getpeers_cached);
	ch_mpw_kv_u64(w, "peers_in", m->st.peers_in);
	ch_mpw_kv_u64(w, "peers_out", m->st.peers_out);
	ch_mpw_kv_u64(w, "peers_unsolicited", m->st.peers_unsolicited);
	ch_mpw_kv_u64(w, "addrs_in", m->st.addrs_in);
	ch_mpw_kv_u64(w, "addrs_added", m->st.addrs_added);
	ch_mpw_kv_u64(w, "addrs_rate_limited", m->st.addrs_rate_limited);
	ch_mpw_kv_u64(w, "addrs_refused", m->st.addrs_refused);
	ch_mpw_kv_u64(w, "addrs_bad", m->st.addrs_bad);
	ch_mpw_kv_u64(w, "pex_malformed", m->st.pex_malformed);
	ch_mpw_kv_u64(w, "dht_candidates", m->st.dht_candidates);
}
