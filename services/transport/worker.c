/* worker.c: the transport's I/O threads.  Each owns an epoll set and the
 * connections handed to it (round robin); it sleeps in epoll_wait and is
 * woken by its sockets or by its eventfd (outbox data, new connections,
 * close requests, stop). */
#include "transport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "log.h"

#define TICK_NS (100 * 1000000ULL)

void tp_worker_wake(tp_worker_t *w)
{
	uint64_t one = 1;
	ssize_t n = write(w->evfd, &one, sizeof(one));
	(void)n;
}

int tp_worker_give(tp_worker_t *w, const tp_newconn_t *nc)
{
	pthread_mutex_lock(&w->inbox_lock);
	if (w->ninbox >= TP_INBOX_MAX) {
		pthread_mutex_unlock(&w->inbox_lock);
		return CH_ENOMEM;
	}
	w->inbox[w->ninbox++] = *nc;
	pthread_mutex_unlock(&w->inbox_lock);
	tp_worker_wake(w);
	return 0;
}

static void take_inbox(tp_worker_t *w)
{
	tp_newconn_t in[TP_INBOX_MAX];
	size_t n;
	pthread_mutex_lock(&w->inbox_lock);
	n = w->ninbox;
	memcpy(in, w->inbox, n * sizeof(in[0]));
	w->ninbox = 0;
	pthread_mutex_unlock(&w->inbox_lock);
	for (size_t i = 0; i < n; i++) {
		if (w->npeers == w->cap) {
			size_t c = w->cap ? 2 * w->cap : 64;
			tp_peer_t **v = realloc(w->peers, c * sizeof(*v));
			if (!v) {
				close(in[i].fd);
				tp_hs_end(w->tp, &in[i].sa, in[i].inbound);
				continue;
			}
			w->peers = v;
			w->cap = c;
		}
		tp_peer_t *p = tp_conn_new(w, &in[i]);
		if (!p) {
			close(in[i].fd);
			tp_hs_end(w->tp, &in[i].sa, in[i].inbound);
			continue;
		}
		w->peers[w->npeers++] = p;
	}
}

/* reap: tears down the peers marked closing, after their events. */
static void reap(tp_worker_t *w)
{
	size_t j = 0;
	for (size_t i = 0; i < w->npeers; i++) {
		tp_peer_t *p = w->peers[i];
		if (p->closing)
			tp_conn_teardown(p);
		else
			w->peers[j++] = p;
	}
	w->npeers = j;
}

static void *worker_main(void *arg)
{
	tp_worker_t *w = arg;
	rcu_register_thread();
	struct epoll_event evs[64];
	uint64_t last_tick = ch_mono_ns();
	while (!atomic_load(&w->stop)) {
		bool paused = false;
		for (size_t i = 0; i < w->npeers && !paused; i++)
			paused = w->peers[i]->paused;
		/* a paused peer waits for relay to drain: retry every ms */
		rcu_thread_offline(); /* blocking: do not hold up grace periods */
		int n = epoll_wait(w->epfd, evs, 64, paused ? 1 : 100);
		rcu_thread_online();
		uint64_t now = ch_mono_ns();
		if (n < 0 && errno != EINTR) {
			CH_LOG_ERROR("worker %d: epoll_wait: %s", w->idx, strerror(errno));
			break;
		}
		bool woken = false;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL) {
				uint64_t v;
				ssize_t r = read(w->evfd, &v, sizeof(v));
				(void)r;
				woken = true;
				continue;
			}
			tp_conn_on_io(evs[i].data.ptr, evs[i].events, now);
		}
		if (woken)
			take_inbox(w);
		bool tick = now - last_tick >= TICK_NS;
		if (tick)
			last_tick = now;
		for (size_t i = 0; i < w->npeers; i++) {
			tp_peer_t *p = w->peers[i];
			if (atomic_load_explicit(&p->notified, memory_order_acquire))
				tp_conn_flush_outbox(p, now);
			if (p->paused)
				tp_conn_resume(p, now);
			if (tick || atomic_load_explicit(&p->close_req, memory_order_relaxed))
				tp_conn_tick(p, now);
		}
		reap(w);
	}
	/* stop: close everything (the service is exiting) */
	for (size_t i = 0; i < w->npeers; i++)
		tp_conn_close(w->peers[i], "transport stopping");
	reap(w);
	rcu_unregister_thread();
	return NULL;
}

int tp_workers_start(tp_t *tp, int n)
{
	if (n < 1)
		n = 1;
	if (n > TP_MAX_WORKERS)
		n = TP_MAX_WORKERS;
	for (int i = 0; i < n; i++) {
		tp_worker_t *w = &tp->workers[i];
		w->tp = tp;
		w->idx = i;
		pthread_mutex_init(&w->inbox_lock, NULL);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->epfd < 0 || w->evfd < 0)
			return CH_EIO;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			return CH_EIO;
		tp->nworkers = i + 1;
	}
	return 0;
}

void tp_workers_stop(tp_t *tp)
{
	for (int i = 0; i < tp->nworkers; i++) {
		atomic_store(&tp->workers[i].stop, true);
		tp_worker_wake(&tp->workers[i]);
	}
	for (int i = 0; i < tp->nworkers; i++) {
		tp_worker_t *w = &tp->workers[i];
		pthread_join(w->thread, NULL);
		for (size_t k = 0; k < w->ninbox; k++)
			close(w->inbox[k].fd);
		free(w->peers);
		close(w->epfd);
		close(w->evfd);
		pthread_mutex_destroy(&w->inbox_lock);
	}
	tp->nworkers = 0;
}
