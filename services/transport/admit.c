/* admit.c: who may connect.  Address groups, inbound limits and Bitcoin
 * Core's eviction rules of thumb, token buckets, and the event queue that
 * carries what workers see to the main thread's PUB socket. */
#include "transport.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "log.h"

/* sa_ip: the address of sa as 16 bytes (IPv4 mapped) and its port. */
static void sa_ip(const struct sockaddr_storage *sa, uint8_t ip[16], uint16_t *port_out)
{
	uint16_t port = 0;

	memset(ip, 0, 16);
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &s4->sin_addr, 4);
		port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		memcpy(ip, &s6->sin6_addr, 16);
		port = ntohs(s6->sin6_port);
	}
	*port_out = port;
}

void tp_addr_group(const struct sockaddr_storage *sa, ch_netgroup_mode_t mode, ch_netgroup_t *g)
{
	uint8_t ip[16];
	uint16_t port;

	sa_ip(sa, ip, &port);
	ch_netgroup_of(ip, port, mode, g);
}

void tp_addr_format(const struct sockaddr_storage *sa, char *out, size_t cap, bool with_port)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		port = ntohs(s4->sin_port);
		snprintf(out, cap, with_port ? "%s:%u" : "%s", ip, port);
		return;
	}
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	port = ntohs(s6->sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		inet_ntop(AF_INET, (const uint8_t *)&s6->sin6_addr + 12, ip, sizeof(ip));
		snprintf(out, cap, with_port ? "%s:%u" : "%s", ip, port);
		return;
	}
	inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
	if (with_port)
		snprintf(out, cap, "[%s]:%u", ip, port);
	else
		snprintf(out, cap, "%s", ip);
}

uint64_t tp_handle_new(tp_t *tp)
{
	return tp->handle_base | (atomic_fetch_add(&tp->handle_next, 1) & 0xfffff);
}

/* wake_main: the main thread publishes what workers queued at its next
 * turn; waking it keeps events prompt (discovery dials on them) instead
 * of waiting for the frame's 100 ms tick. */
static void wake_main(tp_t *tp)
{
	uint64_t one = 1;
	ssize_t n = write(tp->main_evfd, &one, sizeof(one));

	(void)n;
}

/* tp_event_push: any thread queues an event for PUB (bounded,
 * TP_EVQ_MAX); the first one wakes the main thread. */
void tp_event_push(tp_t *tp, const tp_event_t *ev)
{
	bool first;
	pthread_mutex_lock(&tp->ev_lock);
	first = tp->nev == 0;
	if (tp->nev < TP_EVQ_MAX)
		tp->evq[tp->nev++] = *ev;
	else
		atomic_fetch_add(&tp->ev_dropped, 1);
	pthread_mutex_unlock(&tp->ev_lock);
	if (first)
		wake_main(tp);
}

/* tp_pmsg_push: peer exchange frames travel in the event queue, in order
 * with the peer's other events; at most TP_PMQ_MAX of them (each at most
 * 16 KiB) wait at once, and the per-peer buckets keep it far from full. */
bool tp_pmsg_push(tp_t *tp, uint64_t peer, uint8_t type, const char *addr, const uint8_t *payload,
                  uint32_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	bool ok = false, first = false;
	if (copy == NULL) {
		atomic_fetch_add(&tp->c_pmsg_dropped, 1);
		return false;
	}
	memcpy(copy, payload, len);
	pthread_mutex_lock(&tp->ev_lock);
	if (tp->npmq < TP_PMQ_MAX && tp->nev < TP_EVQ_MAX) {
		tp_event_t *e = &tp->evq[tp->nev++];
		first = tp->nev == 1;
		memset(e, 0, sizeof(*e));
		snprintf(e->what, sizeof(e->what), "peer_msg");
		e->peer = peer;
		e->msg_type = type;
		snprintf(e->addr, sizeof(e->addr), "%s", addr);
		e->payload = copy;
		e->len = len;
		tp->npmq++;
		ok = true;
	}
	pthread_mutex_unlock(&tp->ev_lock);
	if (!ok) {
		free(copy);
		atomic_fetch_add(&tp->c_pmsg_dropped, 1);
		return false;
	}
	if (first)
		wake_main(tp);
	return true;
}

typedef struct cand {
	tp_peer_t *p;
	int64_t rtt;
	uint64_t useful, connected;
	bool keep;
} cand_t;

static int by_rtt(const void *a, const void *b)
{
	int64_t x = ((const cand_t *)a)->rtt, y = ((const cand_t *)b)->rtt;
	if (x < 0)
		x = INT64_MAX;
	if (y < 0)
		y = INT64_MAX;
	return (x > y) - (x < y);
}

static int by_useful_desc(const void *a, const void *b)
{
	uint64_t x = ((const cand_t *)a)->useful, y = ((const cand_t *)b)->useful;
	return (x < y) - (x > y);
}

static int by_age(const void *a, const void *b)
{
	uint64_t x = ((const cand_t *)a)->connected, y = ((const cand_t *)b)->connected;
	return (x > y) - (x < y); /* oldest first */
}

/* protect: marks the first k not-yet-kept candidates (in the current order)
 * as kept. */
static void protect(cand_t *c, size_t n, size_t k)
{
	for (size_t i = 0; i < n && k; i++)
		if (!c[i].keep) {
			c[i].keep = true;
			k--;
		}
}

/* evict_one: Bitcoin Core's rules of thumb for a full inbound table:
 * protect the 4 lowest-latency peers, the 4 that most recently sent us
 * something useful, one peer from each of 4 distinct address groups, and
 * the longest-connected half of the rest; then evict the youngest peer of
 * the address group with the most connections.  Returns the victim or
 * NULL.  Called inside rcu_read_lock. */
static tp_peer_t *evict_one(tp_snap_t *s)
{
	cand_t *c = calloc(s->n ? s->n : 1, sizeof(*c));
	size_t n = 0;
	if (!c)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		tp_peer_t *p = s->list[i];
		/* every peer in the table is open; one already leaving frees
		 * its slot anyway */
		if (!p->inbound || atomic_load(&p->close_req))
			continue;
		c[n++] = (cand_t){.p = p,
		                  .rtt = atomic_load(&p->rtt_us),
		                  .useful = atomic_load(&p->last_useful_ns),
		                  .connected = p->connected_ns};
	}
	qsort(c, n, sizeof(*c), by_rtt);
	protect(c, n, 4);
	qsort(c, n, sizeof(*c), by_useful_desc);
	for (size_t i = 0, k = 0; i < n && k < 4; i++)
		if (!c[i].keep && c[i].useful) {
			c[i].keep = true;
			k++;
		}
	/* one per distinct group, four groups */
	size_t groups = 0;
	for (size_t i = 0; i < n && groups < 4; i++) {
		if (c[i].keep)
			continue;
		bool seen = false;
		for (size_t j = 0; j < n && !seen; j++)
			seen = c[j].keep && ch_netgroup_eq(&c[j].p->group, &c[i].p->group);
		if (!seen) {
			c[i].keep = true;
			groups++;
		}
	}
	qsort(c, n, sizeof(*c), by_age);
	size_t rest = 0;
	for (size_t i = 0; i < n; i++)
		rest += !c[i].keep;
	protect(c, n, rest / 2);
	/* the most crowded group among the unprotected */
	tp_peer_t *victim = NULL;
	size_t best = 0;
	for (size_t i = 0; i < n; i++) {
		if (c[i].keep)
			continue;
		size_t cnt = 0;
		tp_peer_t *youngest = NULL;
		for (size_t j = 0; j < n; j++) {
			if (c[j].keep || !ch_netgroup_eq(&c[j].p->group, &c[i].p->group))
				continue;
			cnt++;
			if (!youngest || c[j].connected > youngest->connected_ns)
				youngest = c[j].p;
		}
		if (cnt > best) {
			best = cnt;
			victim = youngest;
		}
	}
	free(c);
	return victim;
}

/* hs_slots: the counter slots of sa's address and group.  The address is
 * the IP, or IP and port for loopback under netgroup auto (every local
 * connection its own, as its group is); slots are a keyed hash, so two
 * sources meet in one only by chance, which only makes the limit
 * stricter. */
static void hs_slots(tp_t *tp, const struct sockaddr_storage *sa, size_t *ia, size_t *ig)
{
	ch_netgroup_t ga, gg;
	uint8_t h[crypto_shorthash_BYTES], ip[16];
	uint16_t port;
	uint64_t v;

	sa_ip(sa, ip, &port);
	ch_netgroup_of(ip, port, tp->lim.netgroup, &gg);
	ch_netgroup_of(ip, port,
	               tp->lim.netgroup == CH_NETGROUP_AUTO && ch_addr_class(ip) == CH_ADDR_LOOPBACK
	                   ? CH_NETGROUP_AUTO
	                   : CH_NETGROUP_ADDRESS,
	               &ga);
	crypto_shorthash(h, ga.b, sizeof(ga.b), tp->hs_key);
	memcpy(&v, h, sizeof(v));
	*ia = v % TP_HS_SLOTS;
	crypto_shorthash(h, gg.b, sizeof(gg.b), tp->hs_key);
	memcpy(&v, h, sizeof(v));
	*ig = v % TP_HS_SLOTS;
}

void tp_hs_begin(tp_t *tp, const struct sockaddr_storage *sa, bool inbound)
{
	atomic_fetch_add(&tp->n_handshaking, 1);
	if (inbound) {
		size_t ia, ig;
		hs_slots(tp, sa, &ia, &ig);
		atomic_fetch_add(&tp->hs_addr[ia], 1);
		atomic_fetch_add(&tp->hs_group[ig], 1);
	}
}

void tp_hs_end(tp_t *tp, const struct sockaddr_storage *sa, bool inbound)
{
	atomic_fetch_sub(&tp->n_handshaking, 1);
	if (inbound) {
		size_t ia, ig;
		hs_slots(tp, sa, &ia, &ig);
		atomic_fetch_sub(&tp->hs_addr[ia], 1);
		atomic_fetch_sub(&tp->hs_group[ig], 1);
	}
}

/* hs_group_max: handshakes one address group may have in progress. */
static int64_t hs_group_max(const tp_t *tp)
{
	int64_t m = tp->lim.max_handshakes / 4;
	return m < TP_HS_PER_ADDR ? TP_HS_PER_ADDR : m;
}

int tp_admit_inbound(tp_t *tp, const struct sockaddr_storage *sa, char *why, size_t cap)
{
	char ip[TP_ADDR_MAX];
	tp_addr_format(sa, ip, sizeof(ip), false);
	if (tp_bans_check(tp->bans, ip, ch_wall_ms())) {
		snprintf(why, cap, "%s is banned", ip);
		return CH_EPERM;
	}
	if (atomic_load(&tp->n_handshaking) >= tp->lim.max_handshakes) {
		snprintf(why, cap, "too many handshakes in progress (%lld)",
		         (long long)tp->lim.max_handshakes);
		return CH_EBUSY;
	}
	size_t ia, ig;
	hs_slots(tp, sa, &ia, &ig);
	if (atomic_load(&tp->hs_addr[ia]) >= TP_HS_PER_ADDR) {
		snprintf(why, cap, "%d handshakes from %s in progress", TP_HS_PER_ADDR, ip);
		return CH_EBUSY;
	}
	if ((int64_t)atomic_load(&tp->hs_group[ig]) >= hs_group_max(tp)) {
		snprintf(why, cap, "%lld handshakes from the address group of %s in progress",
		         (long long)hs_group_max(tp), ip);
		return CH_EBUSY;
	}
	ch_netgroup_t g;
	tp_addr_group(sa, tp->lim.netgroup, &g);
	int64_t max_in = tp->lim.max_peers - tp->lim.max_outbound;
	int rc = 0;
	rcu_read_lock();
	tp_snap_t *s = tp_snap_get(&tp->table);
	size_t same = 0, in = 0;
	for (size_t i = 0; i < s->n; i++) {
		tp_peer_t *p = s->list[i];
		if (!p->inbound)
			continue;
		in++;
		same += ch_netgroup_eq(&p->group, &g);
	}
	/* connections of the group still in their handshake count too, or a
	 * burst from one group gets past the limit before any finishes */
	same += atomic_load(&tp->hs_group[ig]);
	if ((int64_t)same >= tp->lim.max_per_group) {
		snprintf(why, cap, "address group of %s has %zu inbound peers (max-per-group %lld)",
		         ip, same, (long long)tp->lim.max_per_group);
		rc = CH_EBUSY;
	} else if ((int64_t)in >= max_in && !evict_one(s)) {
		/* full: a newcomer may still try its handshake if someone could
		 * make room; who leaves is decided once it has finished
		 * (tp_admit_established), never for an unauthenticated socket */
		snprintf(why, cap, "inbound full (%lld) and no peer to evict", (long long)max_in);
		rc = CH_EBUSY;
	}
	rcu_read_unlock();
	return rc;
}

int tp_admit_established(tp_t *tp, tp_peer_t *np, char *why, size_t cap)
{
	int64_t max_in = tp->lim.max_peers - tp->lim.max_outbound;
	int rc = 0;
	rcu_read_lock();
	tp_snap_t *s = tp_snap_get(&tp->table);
	size_t in = 0;
	for (size_t i = 0; i < s->n; i++)
		in += s->list[i]->inbound && !atomic_load(&s->list[i]->close_req);
	if ((int64_t)in >= max_in) {
		tp_peer_t *victim = evict_one(s);
		if (!victim) {
			snprintf(why, cap, "inbound full (%lld) and no peer to evict",
			         (long long)max_in);
			rc = CH_EBUSY;
		} else {
			snprintf(victim->close_req_reason, sizeof(victim->close_req_reason),
			         "evicted: inbound full, making room for %s", np->addr);
			atomic_store(&victim->close_req, true);
			tp_worker_wake(victim->w);
			CH_LOG_INFO("inbound full: evicting %s for %s", victim->addr, np->addr);
		}
	}
	rcu_read_unlock();
	return rc;
}
