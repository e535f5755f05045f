/* dht_net.c: UDP host for one or many DHT cores (see dht_net.h). */
#include "dht_net.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "log.h"

/* Events taken from epoll per wait. */
#define NET_EVENTS 256
/* Socket buffers: room for bursts when a thousand nodes share a core. */
#define NET_SOCKBUF (1 << 20)

typedef struct net_node {
	dht_t *d;
	int fd;
	dht_addr_t addr;
	uint64_t due; /* next dht_tick */
	dht_net_t *net;
} net_node_t;

struct dht_net {
	int ep;
	net_node_t *nodes;
	uint32_t n, cap;
	uint8_t buf[KRPC_PKT_MAX * 2];
};

/* net_send: the cores' send callback: one non-blocking sendto. */
static int net_send(void *arg, const uint8_t *pkt, size_t len, const dht_addr_t *to)
{
	net_node_t *nd = arg;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	ssize_t r;

	sa.sin_addr.s_addr = to->ip;
	sa.sin_port = htons(to->port);
	do {
		r = sendto(nd->fd, pkt, len, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa));
	} while (r < 0 && errno == EINTR);
	return r < 0 ? CH_EIO : 0;
}

/* dht_net_new: an empty host. */
dht_net_t *dht_net_new(void)
{
	dht_net_t *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->ep = epoll_create1(EPOLL_CLOEXEC);
	if (n->ep < 0) {
		free(n);
		return NULL;
	}
	return n;
}

/* dht_net_destroy: destroys every core, closes every socket; safe on NULL; clears *n. */
void dht_net_destroy(dht_net_t **np)
{
	dht_net_t *n = np != NULL ? *np : NULL;

	if (n == NULL)
		return;
	for (uint32_t i = 0; i < n->n; i++)
		dht_net_remove(n, i);
	free(n->nodes);
	close(n->ep);
	free(n);
	*np = NULL;
}

/* dht_net_add: binds a UDP socket to ip:port (network-order ip; port 0 picks a free one) and
 * creates a core with cfg (its send and send_arg are replaced by the host's). */
int dht_net_add(dht_net_t *n, const dht_config_t *cfg, uint32_t ip, uint16_t port, uint32_t *idx,
                dht_addr_t *bound)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	struct epoll_event ev = {.events = EPOLLIN};
	int fd, sz = NET_SOCKBUF;
	dht_config_t c = *cfg;
	net_node_t *nd;
	uint64_t now;

	if (n->n >= DHT_NET_MAX)
		return CH_ENOMEM;
	/* cores keep a pointer to their net_node_t (their send_arg), so the
	 * array must never move: the whole capacity comes at the first add */
	if (n->nodes == NULL) {
		n->nodes = calloc(DHT_NET_MAX, sizeof(net_node_t));
		if (n->nodes == NULL)
			return CH_ENOMEM;
		n->cap = DHT_NET_MAX;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ch_log_errno(CH_LOG_LEVEL_ERROR, "socket", "DHT socket");
		return CH_EIO;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	sa.sin_addr.s_addr = ip;
	sa.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		int e = errno;

		ch_log_errno(CH_LOG_LEVEL_ERROR, "bind", "cannot bind the DHT to UDP port %u",
		             (unsigned)port);
		close(fd);
		errno = e;
		return CH_EIO;
	}
	nd = &n->nodes[n->n];
	memset(nd, 0, sizeof(*nd));
	nd->fd = fd;
	nd->net = n;
	nd->addr.ip = sa.sin_addr.s_addr;
	nd->addr.port = ntohs(sa.sin_port);
	c.send = net_send;
	c.send_arg = nd;
	now = ch_mono_ns();
	nd->d = dht_new(&c, now);
	if (nd->d == NULL) {
		close(fd);
		return CH_ENOMEM;
	}
	ev.data.u32 = n->n;
	if (epoll_ctl(n->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		ch_log_errno(CH_LOG_LEVEL_ERROR, "epoll_ctl", "DHT socket");
		dht_destroy(&nd->d);
		close(fd);
		return CH_EIO;
	}
	nd->due = now;
	if (idx != NULL)
		*idx = n->n;
	if (bound != NULL)
		*bound = nd->addr;
	n->n++;
	return 0;
}

/* dht_net_remove: destroys node idx and closes its socket (a "killed" node: it stops answering
 * at once). */
void dht_net_remove(dht_net_t *n, uint32_t idx)
{
	net_node_t *nd;

	if (idx >= n->n || n->nodes[idx].d == NULL)
		return;
	nd = &n->nodes[idx];
	epoll_ctl(n->ep, EPOLL_CTL_DEL, nd->fd, NULL);
	close(nd->fd);
	nd->fd = -1;
	dht_destroy(&nd->d);
}

/* dht_net_core: the core of node idx (NULL if removed). */
dht_t *dht_net_core(dht_net_t *n, uint32_t idx)
{
	return idx < n->n ? n->nodes[idx].d : NULL;
}

/* dht_net_addr: the bound address of node idx. */
dht_addr_t dht_net_addr(const dht_net_t *n, uint32_t idx)
{
	dht_addr_t none = {0, 0};

	return idx < n->n ? n->nodes[idx].addr : none;
}

/* dht_net_count: nodes ever added (indexes run 0..count-1). */
uint32_t dht_net_count(const dht_net_t *n)
{
	return n->n;
}

/* dht_net_kick: node idx wants its tick now (call after starting an operation on its core from
 * outside the loop). */
void dht_net_kick(dht_net_t *n, uint32_t idx)
{
	if (idx < n->n)
		n->nodes[idx].due = 0;
}

/* dht_net_fd: the epoll descriptor, readable when a datagram waits. */
int dht_net_fd(const dht_net_t *n)
{
	return n->ep;
}

/* drain: reads up to DHT_NET_RECV_BATCH datagrams of node nd. */
static int drain(dht_net_t *n, net_node_t *nd)
{
	int got = 0;

	while (got < DHT_NET_RECV_BATCH && nd->d != NULL) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		ssize_t r = recvfrom(nd->fd, n->buf, sizeof(n->buf), MSG_DONTWAIT,
		                     (struct sockaddr *)&sa, &sl);
		dht_addr_t from;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (sl != sizeof(sa) || sa.sin_family != AF_INET)
			continue;
		from.ip = sa.sin_addr.s_addr;
		from.port = ntohs(sa.sin_port);
		dht_input(nd->d, n->buf, (size_t)r, &from, ch_mono_ns());
		got++;
	}
	if (got > 0 && nd->d != NULL)
		nd->due = 0; /* input may have started requests: recompute */
	return got;
}

/* dht_net_run: one turn: waits up to timeout_ms (0: not at all; capped by the next core
 * deadline) for datagrams, delivers them, and ticks the cores that are due. */
int dht_net_run(dht_net_t *n, int timeout_ms)
{
	struct epoll_event ev[NET_EVENTS];
	uint64_t now = ch_mono_ns(), next = UINT64_MAX;
	int work = 0, k;

	for (uint32_t i = 0; i < n->n; i++)
		if (n->nodes[i].d != NULL && n->nodes[i].due < next)
			next = n->nodes[i].due;
	if (timeout_ms > 0 && next != UINT64_MAX) {
		uint64_t wait_ms = next > now ? (next - now + 999999) / 1000000 : 0;

		if (wait_ms < (uint64_t)timeout_ms)
			timeout_ms = (int)wait_ms;
	}
	k = epoll_wait(n->ep, ev, NET_EVENTS, timeout_ms);
	if (k < 0 && errno != EINTR) {
		ch_log_errno(CH_LOG_LEVEL_ERROR, "epoll_wait", "DHT loop");
		return CH_EIO;
	}
	for (int i = 0; i < k; i++) {
		uint32_t idx = ev[i].data.u32;

		if (idx < n->n && n->nodes[idx].d != NULL)
			work += drain(n, &n->nodes[idx]);
	}
	now = ch_mono_ns();
	for (uint32_t i = 0; i < n->n; i++) {
		net_node_t *nd = &n->nodes[i];

		if (nd->d == NULL || nd->due > now)
			continue;
		nd->due = dht_tick(nd->d, now);
		work++;
	}
	return work;
}
