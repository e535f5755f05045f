/* ring.c: the SPSC variable-length record ring (protocol in ring.h). */
#include "ring_private.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

struct shm_ring {
	shm_ring_shared_t *sh;
	uint8_t *data;
	uint64_t data_sz;
	uint64_t mask;
	uint64_t max_rec;
	shm_ring_role_t role;
	int wake_fd;
	int peer_fd;

	/* producer */
	uint64_t tail;       /* staged tail (>= published tail) */
	uint64_t tail_pub;   /* last value stored to sh->tail */
	uint64_t seq;        /* next seq to assign */
	uint64_t head_cache; /* last head seen */
	uint32_t staged;
	uint64_t want; /* bytes the last refused write needed */
	uint8_t *prep; /* reservation from shm_ring_prepare */
	uint64_t prep_sz;

	/* consumer */
	uint64_t head;       /* local head (>= committed head) */
	uint64_t head_pub;   /* last value stored to sh->head */
	uint64_t tail_cache; /* last tail seen */
	uint64_t next_seq;   /* seq expected next (valid if have_seq) */
	int have_seq;
	uint32_t uncommitted;
	uint64_t peek_len; /* bytes of the peeked record, 0 if none */
};

static inline uint64_t rec_len(uint64_t payload)
{
	return SHM_RING_HDR_SZ + ((payload + 15) & ~(uint64_t)15);
}

size_t shm_ring_align(void)
{
	return SHM_RING_ALIGN;
}

size_t shm_ring_footprint(size_t data_sz, size_t max_rec)
{
	if (data_sz < 4096 || (data_sz & (data_sz - 1)) != 0 || data_sz > (1UL << 40))
		return 0;
	if (max_rec == 0 || max_rec > SHM_RING_MAX_REC)
		return 0;
	if (data_sz < 2 * rec_len(max_rec))
		return 0;
	return sizeof(shm_ring_shared_t) + data_sz;
}

void *shm_ring_new(void *mem, size_t data_sz, size_t max_rec)
{
	size_t fp = shm_ring_footprint(data_sz, max_rec);
	if (!mem || !fp || ((uintptr_t)mem % SHM_RING_ALIGN) != 0)
		return NULL;
	shm_ring_shared_t *sh = mem;
	memset(sh, 0, sizeof(*sh));
	sh->data_sz = data_sz;
	sh->max_rec = max_rec;
	sh->footprint = fp;
	sh->data_off = sizeof(*sh);
	/* The magic goes last: a joiner that sees it (acquire) sees the rest. */
	atomic_store_explicit(&sh->magic, SHM_RING_MAGIC, memory_order_release);
	return mem;
}

void *shm_ring_delete(void *mem)
{
	if (!mem || ((uintptr_t)mem % SHM_RING_ALIGN) != 0)
		return NULL;
	shm_ring_shared_t *sh = mem;
	if (atomic_load_explicit(&sh->magic, memory_order_acquire) != SHM_RING_MAGIC)
		return NULL;
	atomic_store_explicit(&sh->magic, 0, memory_order_release);
	return mem;
}

/* producer_recover_seq: the next seq after a restart, exact at any crash
 * point.  publish() stores pend_tail, pend_seq, then tail (the commit), then
 * tail_seq.  If the last commit completed, pend_tail == tail and pend_seq is
 * right; if the producer died before the commit, tail_seq is from the commit
 * before and still right. */
static uint64_t producer_recover_seq(shm_ring_shared_t *sh, uint64_t tail)
{
	uint64_t pend_tail = atomic_load_explicit(&sh->pend_tail, memory_order_acquire);
	if (pend_tail == tail)
		return atomic_load_explicit(&sh->pend_seq, memory_order_acquire);
	return atomic_load_explicit(&sh->tail_seq, memory_order_acquire);
}

int shm_ring_join(void *mem, size_t mem_sz, shm_ring_role_t role, int wake_fd, int peer_fd,
                  shm_ring_t **out)
{
	if (!mem || !out)
		return CH_EINVAL;
	*out = NULL;
	if (role != SHM_RING_PRODUCER && role != SHM_RING_CONSUMER && role != SHM_RING_OBSERVER)
		return CH_EINVAL;
	if (((uintptr_t)mem % SHM_RING_ALIGN) != 0)
		return CH_EALIGN;
	if (mem_sz < sizeof(shm_ring_shared_t))
		return CH_ERANGE;
	shm_ring_shared_t *sh = mem;
	uint64_t magic = atomic_load_explicit(&sh->magic, memory_order_acquire);
	if ((magic & SHM_RING_TYPE_MASK) != SHM_RING_MAGIC_TYPE)
		return CH_EMAGIC;
	if (magic != SHM_RING_MAGIC)
		return CH_EVERSION;
	if (shm_ring_footprint(sh->data_sz, sh->max_rec) != sh->footprint ||
	    sh->data_off != sizeof(*sh))
		return CH_EPROTO;
	if (mem_sz < sh->footprint)
		return CH_ERANGE;
	uint64_t head = atomic_load_explicit(&sh->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&sh->tail, memory_order_acquire);
	if (shm_seq_lt(tail, head) || tail - head > sh->data_sz)
		return CH_EPROTO;

	shm_ring_t *r = calloc(1, sizeof(*r));
	if (!r)
		return CH_ENOMEM;
	r->sh = sh;
	r->data = (uint8_t *)mem + sh->data_off;
	r->data_sz = sh->data_sz;
	r->mask = sh->data_sz - 1;
	r->max_rec = sh->max_rec;
	r->role = role;
	r->wake_fd = wake_fd;
	r->peer_fd = peer_fd;
	r->want = 1;
	if (role == SHM_RING_PRODUCER) {
		r->tail = r->tail_pub = tail;
		r->seq = producer_recover_seq(sh, tail);
		r->head_cache = head;
		atomic_store_explicit(&sh->prod_sleeping, 0, memory_order_relaxed);
		atomic_store_explicit(&sh->producer_pid, (int32_t)getpid(), memory_order_relaxed);
	} else if (role == SHM_RING_CONSUMER) {
		r->head = r->head_pub = head;
		r->tail_cache = tail;
		atomic_store_explicit(&sh->cons_sleeping, 0, memory_order_relaxed);
		atomic_store_explicit(&sh->consumer_pid, (int32_t)getpid(), memory_order_relaxed);
	}
	*out = r;
	return 0;
}

void shm_ring_leave(shm_ring_t **rp)
{
	if (!rp || !*rp)
		return;
	free(*rp);
	*rp = NULL;
}

/* wake: writes the other side's eventfd.  EAGAIN means the counter is
 * already huge, so the sleeper will wake anyway. */
static void wake(int fd)
{
	uint64_t one = 1;
	if (fd >= 0) {
		ssize_t n = write(fd, &one, sizeof(one));
		(void)n;
	}
}

/* ---------------------------------------------------------------- producer */

/* producer_room: reserves space for a record of `need` bytes (header
 * included) at the staged tail, writing a pad marker first if the record
 * would cross the end.  Returns the record's offset, or -1 if full. */
static int64_t producer_room(shm_ring_t *r, uint64_t need)
{
	uint64_t off = r->tail & r->mask;
	uint64_t skip = (off + need > r->data_sz) ? r->data_sz - off : 0;
	uint64_t total = skip + need;
	if (r->tail + total - r->head_cache > r->data_sz) {
		/* Protocol step 1: acquire orders the consumer's reads before our
		 * overwrite of the space it released. */
		r->head_cache = atomic_load_explicit(&r->sh->head, memory_order_acquire);
		if (r->tail + total - r->head_cache > r->data_sz) {
			r->want = need;
			atomic_fetch_add_explicit(&r->sh->full_stalls, 1, memory_order_relaxed);
			return -1;
		}
	}
	if (skip) {
		shm_rec_hdr_t *pad = (shm_rec_hdr_t *)(r->data + off);
		pad->size = SHM_REC_PAD;
		pad->tag = 0;
		pad->seq = r->seq;
		r->tail += skip;
		off = 0;
	}
	r->want = 1;
	return (int64_t)off;
}

uint8_t *shm_ring_prepare(shm_ring_t *r, size_t sz)
{
	if (!r || r->role != SHM_RING_PRODUCER || sz == 0 || sz > r->max_rec)
		return NULL;
	int64_t off = producer_room(r, rec_len(sz));
	if (off < 0)
		return NULL;
	r->prep = r->data + off + SHM_RING_HDR_SZ;
	r->prep_sz = sz;
	return r->prep;
}

int shm_ring_write_prepared(shm_ring_t *r, size_t used, uint32_t tag)
{
	if (!r || !r->prep || used == 0 || used > r->prep_sz)
		return CH_EINVAL;
	shm_rec_hdr_t *h = (shm_rec_hdr_t *)(r->prep - SHM_RING_HDR_SZ);
	h->size = (uint32_t)used;
	h->tag = tag;
	h->seq = r->seq++;
	r->tail += rec_len(used);
	r->staged++;
	r->prep = NULL;
	return 0;
}

int shm_ring_try_write(shm_ring_t *r, const void *p, size_t sz, uint32_t tag)
{
	if (!r || r->role != SHM_RING_PRODUCER || (!p && sz))
		return CH_EINVAL;
	if (sz == 0 || sz > r->max_rec)
		return CH_ERANGE;
	int64_t off = producer_room(r, rec_len(sz));
	if (off < 0)
		return CH_EAGAIN;
	shm_rec_hdr_t *h = (shm_rec_hdr_t *)(r->data + off);
	memcpy(r->data + off + SHM_RING_HDR_SZ, p, sz);
	h->size = (uint32_t)sz;
	h->tag = tag;
	h->seq = r->seq++;
	r->tail += rec_len(sz);
	r->staged++;
	return 0;
}

void shm_ring_publish(shm_ring_t *r)
{
	if (!r || r->role != SHM_RING_PRODUCER || r->tail == r->tail_pub)
		return;
	shm_ring_shared_t *sh = r->sh;
	/* Crash-exact seq recovery (see producer_recover_seq): pend_tail before
	 * pend_seq before the commit; each store release keeps that order. */
	atomic_store_explicit(&sh->pend_tail, r->tail, memory_order_release);
	atomic_store_explicit(&sh->pend_seq, r->seq, memory_order_release);
	/* Protocol step 3, the commit: the records written before happen-before
	 * any consumer that acquires this tail. */
	atomic_store_explicit(&sh->tail, r->tail, memory_order_release);
	atomic_store_explicit(&sh->tail_seq, r->seq, memory_order_release);
	r->tail_pub = r->tail;
	r->staged = 0;
	/* Protocol step 4: the fence pairs with the consumer's fence in
	 * shm_ring_sleep_prepare, so either it sees our tail or we its flag. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&sh->cons_sleeping, memory_order_relaxed) &&
	    atomic_exchange_explicit(&sh->cons_sleeping, 0, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&sh->prod_wakeups, 1, memory_order_relaxed);
		wake(r->peer_fd);
	}
}

int shm_ring_try_push(shm_ring_t *r, const void *p, size_t sz, uint32_t tag)
{
	int rc = shm_ring_try_write(r, p, sz, tag);
	if (rc == 0)
		shm_ring_publish(r);
	return rc;
}

uint32_t shm_ring_staged(const shm_ring_t *r)
{
	return r ? r->staged : 0;
}

uint64_t shm_ring_next_seq(const shm_ring_t *r)
{
	return r ? r->seq : 0;
}

/* ---------------------------------------------------------------- consumer */

int shm_ring_peek(shm_ring_t *r, shm_rec_t *rec)
{
	if (!r || !rec || r->role != SHM_RING_CONSUMER)
		return CH_EINVAL;
	for (;;) {
		if (r->head == r->tail_cache) {
			/* Protocol step 1: acquire pairs with the producer's
			 * release of tail, making the records' bytes visible. */
			r->tail_cache = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
			if (r->head == r->tail_cache)
				return CH_EAGAIN;
			if (shm_seq_lt(r->tail_cache, r->head) ||
			    r->tail_cache - r->head > r->data_sz)
				return CH_EPROTO;
		}
		uint64_t off = r->head & r->mask;
		const shm_rec_hdr_t *h = (const shm_rec_hdr_t *)(r->data + off);
		uint32_t size = h->size;
		if (size == SHM_REC_PAD) {
			uint64_t skip = r->data_sz - off;
			if (r->tail_cache - r->head < skip)
				return CH_EPROTO;
			r->head += skip;
			continue;
		}
		uint64_t len = rec_len(size);
		if (size == 0 || size > r->max_rec || off + len > r->data_sz ||
		    r->tail_cache - r->head < len)
			return CH_EPROTO;
		uint64_t seq = h->seq;
		if (r->have_seq && seq != r->next_seq)
			return CH_EPROTO;
		rec->data = r->data + off + SHM_RING_HDR_SZ;
		rec->size = size;
		rec->tag = h->tag;
		rec->seq = seq;
		r->peek_len = len;
		return 0;
	}
}

void shm_ring_advance(shm_ring_t *r)
{
	if (!r || !r->peek_len)
		return;
	const shm_rec_hdr_t *h = (const shm_rec_hdr_t *)(r->data + (r->head & r->mask));
	r->next_seq = h->seq + 1;
	r->have_seq = 1;
	r->head += r->peek_len;
	r->peek_len = 0;
	r->uncommitted++;
}

void shm_ring_commit(shm_ring_t *r)
{
	if (!r || r->role != SHM_RING_CONSUMER || r->head == r->head_pub)
		return;
	shm_ring_shared_t *sh = r->sh;
	/* Protocol step 3: release orders our reads of the records before the
	 * producer's acquire of head and its overwrite. */
	atomic_store_explicit(&sh->head, r->head, memory_order_release);
	if (r->have_seq)
		atomic_store_explicit(&sh->head_seq, r->next_seq, memory_order_relaxed);
	r->head_pub = r->head;
	r->uncommitted = 0;
	/* Step 4: pairs with the producer's fence in shm_ring_sleep_prepare. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&sh->prod_sleeping, memory_order_relaxed) &&
	    atomic_exchange_explicit(&sh->prod_sleeping, 0, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&sh->cons_wakeups, 1, memory_order_relaxed);
		wake(r->peer_fd);
	}
}

int shm_ring_try_pop(shm_ring_t *r, void *buf, size_t cap, size_t *sz, uint32_t *tag, uint64_t *seq)
{
	shm_rec_t rec;
	int rc = shm_ring_peek(r, &rec);
	if (rc)
		return rc;
	if (rec.size > cap || !buf)
		return CH_ERANGE;
	memcpy(buf, rec.data, rec.size);
	if (sz)
		*sz = rec.size;
	if (tag)
		*tag = rec.tag;
	if (seq)
		*seq = rec.seq;
	shm_ring_advance(r);
	shm_ring_commit(r);
	return 0;
}

uint32_t shm_ring_uncommitted(const shm_ring_t *r)
{
	return r ? r->uncommitted : 0;
}

/* ---------------------------------------------------------------- waiting */

/* producer_fits: true if a record of r->want bytes fits now, reloading head. */
static bool producer_fits(shm_ring_t *r)
{
	uint64_t off = r->tail & r->mask;
	uint64_t need = r->want;
	uint64_t total = (off + need > r->data_sz ? r->data_sz - off : 0) + need;
	r->head_cache = atomic_load_explicit(&r->sh->head, memory_order_acquire);
	return r->tail + total - r->head_cache <= r->data_sz;
}

bool shm_ring_ready(shm_ring_t *r)
{
	if (!r)
		return false;
	if (r->role == SHM_RING_CONSUMER) {
		if (r->head != r->tail_cache)
			return true;
		r->tail_cache = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
		return r->head != r->tail_cache;
	}
	if (r->role == SHM_RING_PRODUCER)
		return producer_fits(r);
	return false;
}

bool shm_ring_sleep_prepare(shm_ring_t *r)
{
	if (!r || r->role == SHM_RING_OBSERVER)
		return false;
	_Atomic uint32_t *flag =
	    r->role == SHM_RING_CONSUMER ? &r->sh->cons_sleeping : &r->sh->prod_sleeping;
	atomic_store_explicit(flag, 1, memory_order_relaxed);
	/* Sleeping step 1: the fence pairs with the other side's fence after its
	 * publish/commit: either we see its new position here, or it sees our
	 * flag and writes our eventfd. */
	atomic_thread_fence(memory_order_seq_cst);
	if (shm_ring_ready(r)) {
		atomic_store_explicit(flag, 0, memory_order_relaxed);
		return false;
	}
	return true;
}

uint64_t shm_ring_published(shm_ring_t *r)
{
	if (!r)
		return 0;
	/* acquire: a later read of the records up to here sees their bytes */
	return atomic_load_explicit(&r->sh->tail, memory_order_acquire);
}

bool shm_ring_sleep_prepare_seen(shm_ring_t *r, uint64_t seen)
{
	if (!r || r->role != SHM_RING_CONSUMER)
		return false;
	atomic_store_explicit(&r->sh->cons_sleeping, 1, memory_order_relaxed);
	/* the same fence as sleep_prepare: pairs with the producer's fence
	 * after its publish */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&r->sh->tail, memory_order_acquire) != seen) {
		atomic_store_explicit(&r->sh->cons_sleeping, 0, memory_order_relaxed);
		return false;
	}
	return true;
}

void shm_ring_sleep_done(shm_ring_t *r)
{
	if (!r || r->role == SHM_RING_OBSERVER)
		return;
	_Atomic uint32_t *flag =
	    r->role == SHM_RING_CONSUMER ? &r->sh->cons_sleeping : &r->sh->prod_sleeping;
	atomic_store_explicit(flag, 0, memory_order_relaxed);
	if (r->wake_fd >= 0) {
		uint64_t v;
		ssize_t n = read(r->wake_fd, &v, sizeof(v)); /* drain; EAGAIN is fine */
		(void)n;
	}
}

int shm_ring_wake_fd(const shm_ring_t *r)
{
	return r ? r->wake_fd : -1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

int shm_ring_wait(shm_ring_t *r, uint64_t spin_ns, uint64_t timeout_ns)
{
	if (!r || r->role == SHM_RING_OBSERVER)
		return CH_EINVAL;
	uint64_t start = mono_ns();
	uint64_t now = start;
	/* Spin: no system call while the other side keeps up. */
	for (uint32_t i = 0;; i++) {
		if (shm_ring_ready(r))
			return 0;
		if ((i & 63) == 63) {
			now = mono_ns();
			if (now - start >= spin_ns || now - start >= timeout_ns)
				break;
			/* If the other side runs on our CPU, spinning only delays
			 * it: let it run (measured: 1.1 M -> 15-19 M msgs/s at
			 * 1 KiB with both sides on one CPU). */
			sched_yield();
		}
		cpu_relax();
	}
	for (;;) {
		now = mono_ns();
		if (now - start >= timeout_ns)
			return shm_ring_ready(r) ? 0 : CH_ETIMEDOUT;
		uint64_t left_ms = (timeout_ns - (now - start) + 999999) / 1000000;
		if (r->wake_fd < 0) {
			struct timespec ts = {0, 50000};
			nanosleep(&ts, NULL);
			if (shm_ring_ready(r))
				return 0;
			continue;
		}
		if (!shm_ring_sleep_prepare(r))
			return 0;
		struct pollfd pfd = {.fd = r->wake_fd, .events = POLLIN};
		int n = poll(&pfd, 1, left_ms > 1000 ? 1000 : (int)left_ms);
		int saved = errno;
		shm_ring_sleep_done(r);
		if (n < 0 && saved != EINTR)
			return CH_EIO;
		if (shm_ring_ready(r))
			return 0;
	}
}

/* ---------------------------------------------------------------- stats */

void shm_ring_stats(const shm_ring_t *r, shm_ring_stats_t *st)
{
	if (!st)
		return;
	memset(st, 0, sizeof(*st));
	if (!r)
		return;
	shm_ring_shared_t *sh = r->sh;
	uint64_t head = atomic_load_explicit(&sh->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&sh->tail, memory_order_acquire);
	st->data_sz = sh->data_sz;
	st->max_rec = sh->max_rec;
	st->depth = shm_seq_lt(tail, head) ? 0 : tail - head;
	st->tail_seq = atomic_load_explicit(&sh->tail_seq, memory_order_relaxed);
	st->head_seq = atomic_load_explicit(&sh->head_seq, memory_order_relaxed);
	if (st->depth == 0)
		st->head_seq = st->tail_seq;
	st->full_stalls = atomic_load_explicit(&sh->full_stalls, memory_order_relaxed);
	st->wakeups = atomic_load_explicit(&sh->prod_wakeups, memory_order_relaxed) +
	              atomic_load_explicit(&sh->cons_wakeups, memory_order_relaxed);
	st->producer_pid = atomic_load_explicit(&sh->producer_pid, memory_order_relaxed);
	st->consumer_pid = atomic_load_explicit(&sh->consumer_pid, memory_order_relaxed);
}
