/* test_dht_sim.h: a simulated network and clock for DHT core tests.
 *
 * Cores are created with a send callback that queues the datagram for
 * delivery `latency` ns later (or drops it with probability drop, or
 * because the receiver is dead); sim_run advances a virtual clock from
 * event to event, delivering datagrams and calling dht_tick when a core
 * is due.  Randomness is a seeded xorshift, so every run is the same.
 * Node i has address 127.1.0.0 + i + 1, port 6881 (distinct IPs, so
 * per-IP limits behave as on a real network).  Header-only: each test
 * binary includes it once. */
#ifndef TEST_DHT_SIM_H
#define TEST_DHT_SIM_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "services/discovery/dht.h"

#define SIM_MAX_NODES 512
#define SIM_PORT      6881

typedef struct sim_pkt {
	uint32_t to;
	dht_addr_t from;
	uint64_t at;
	size_t len;
	uint8_t data[KRPC_PKT_MAX];
} sim_pkt_t;

typedef struct sim sim_t;

typedef struct sim_node {
	dht_t *d;
	dht_addr_t addr;
	bool dead;
	uint64_t due;
	uint32_t idx;
	sim_t *sim;
} sim_node_t;

struct sim {
	sim_node_t nodes[SIM_MAX_NODES];
	uint32_t n;
	sim_pkt_t *q; /* FIFO ring: constant latency keeps it in time order */
	uint32_t qhead, qlen, qcap;
	uint64_t now, latency;
	uint32_t drop_permille;
	uint64_t rng;
	uint64_t sent, delivered, dropped;
	/* optional tap: every datagram sent by any node */
	void (*tap)(sim_t *s, uint32_t from, const uint8_t *pkt, size_t len, const dht_addr_t *to);
};

static inline uint64_t sim_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static inline void sim_rand(void *arg, void *buf, size_t n)
{
	sim_t *s = arg;
	uint8_t *b = buf;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(sim_next(&s->rng) >> 24);
}

static inline dht_addr_t sim_addr_of(uint32_t i)
{
	dht_addr_t a = {.ip = htonl(0x7f010000u | (i + 1)), .port = SIM_PORT};

	return a;
}

static inline int32_t sim_index_of(const sim_t *s, const dht_addr_t *a)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (s->nodes[i].addr.ip == a->ip && s->nodes[i].addr.port == a->port)
			return (int32_t)i;
	return -1;
}

static inline int sim_send(void *arg, const uint8_t *pkt, size_t len, const dht_addr_t *to)
{
	sim_node_t *nd = arg;
	sim_t *s = nd->sim;
	int32_t dst = sim_index_of(s, to);
	sim_pkt_t *p;

	s->sent++;
	if (s->tap)
		s->tap(s, nd->idx, pkt, len, to);
	if (dst < 0 || s->nodes[dst].dead ||
	    (s->drop_permille > 0 && sim_next(&s->rng) % 1000 < s->drop_permille)) {
		s->dropped++;
		return 0;
	}
	if (s->qlen == s->qcap) {
		uint32_t nc = s->qcap ? s->qcap * 2 : 1024;
		sim_pkt_t *nq = malloc(nc * sizeof(sim_pkt_t));

		if (nq == NULL)
			return -1;
		for (uint32_t i = 0; i < s->qlen; i++)
			nq[i] = s->q[(s->qhead + i) % s->qcap];
		free(s->q);
		s->q = nq;
		s->qcap = nc;
		s->qhead = 0;
	}
	p = &s->q[(s->qhead + s->qlen) % s->qcap];
	p->to = (uint32_t)dst;
	p->from = nd->addr;
	p->at = s->now + s->latency;
	p->len = len;
	memcpy(p->data, pkt, len);
	s->qlen++;
	return 0;
}

/* sim_init: an empty network with per-packet latency (ns) and a seed. */
static inline void sim_init(sim_t *s, uint64_t latency, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->latency = latency;
	s->rng = seed ? seed : 88172645463325252ull;
	s->now = 1000000000ull; /* t = 1 s: never 0 */
}

/* sim_add: a node with cfg tweaks (NULL: defaults) and a random id.
 * Returns its index. */
static inline uint32_t sim_add(sim_t *s, const dht_config_t *tweak)
{
	dht_config_t c;
	sim_node_t *nd = &s->nodes[s->n];

	if (tweak)
		c = *tweak;
	else
		dht_config_default(&c);
	sim_rand(s, c.id, sizeof(c.id));
	c.send = sim_send;
	c.send_arg = nd;
	c.rand = sim_rand;
	c.rand_arg = s;
	nd->sim = s;
	nd->idx = s->n;
	nd->addr = sim_addr_of(s->n);
	nd->d = dht_new(&c, s->now);
	nd->due = s->now;
	nd->dead = false;
	return s->n++;
}

/* sim_kill: the node stops answering (its datagrams are dropped). */
static inline void sim_kill(sim_t *s, uint32_t i)
{
	s->nodes[i].dead = true;
}

/* sim_kick: node i is due now (after an operation was started on it). */
static inline void sim_kick(sim_t *s, uint32_t i)
{
	s->nodes[i].due = s->now;
}

/* sim_run: advances the clock to `until`, delivering and ticking.  Stops
 * early when *stop becomes true (if stop is not NULL). */
static inline void sim_run(sim_t *s, uint64_t until, const bool *stop)
{
	for (uint64_t guard = 0; guard < 100000000ull; guard++) {
		uint64_t next = until;
		int32_t tick = -1;

		if (stop && *stop)
			return;
		if (s->qlen > 0 && s->q[s->qhead].at < next)
			next = s->q[s->qhead].at;
		for (uint32_t i = 0; i < s->n; i++)
			if (!s->nodes[i].dead && s->nodes[i].due < next) {
				next = s->nodes[i].due;
				tick = (int32_t)i;
			}
		if (next >= until && !(s->qlen > 0 && s->q[s->qhead].at <= until)) {
			s->now = until;
			return;
		}
		if (next > s->now)
			s->now = next;
		if (s->qlen > 0 && s->q[s->qhead].at <= s->now) {
			sim_pkt_t *p = &s->q[s->qhead];
			sim_node_t *nd = &s->nodes[p->to];

			s->qhead = (s->qhead + 1) % s->qcap;
			s->qlen--;
			if (!nd->dead) {
				s->delivered++;
				dht_input(nd->d, p->data, p->len, &p->from, s->now);
				nd->due = s->now; /* may have sent: recompute */
			}
			continue;
		}
		if (tick >= 0)
			s->nodes[tick].due = dht_tick(s->nodes[tick].d, s->now);
	}
}

/* sim_free: destroys every node and the queue. */
static inline void sim_free(sim_t *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		dht_destroy(&s->nodes[i].d);
	free(s->q);
	s->q = NULL;
}

/* sim_bootstrap: every node but 0 bootstraps from node 0, one after the
 * other (spaced by gap ns), then the network runs for settle ns. */
static inline void sim_bootstrap(sim_t *s, uint64_t gap, uint64_t settle)
{
	for (uint32_t i = 1; i < s->n; i++) {
		dht_add_bootstrap(s->nodes[i].d, &s->nodes[0].addr, s->now);
		dht_bootstrap(s->nodes[i].d, s->now);
		sim_kick(s, i);
		sim_run(s, s->now + gap, NULL);
	}
	sim_run(s, s->now + settle, NULL);
}

#endif
