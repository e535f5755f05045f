/* outq.c: records waiting for room in a ring (see outq.h). */
#include "outq.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* rewind: an empty queue starts again at 0, and gives back a buffer a
 * burst grew. */
static void rewind_empty(shm_outq_t *q)
{
	if (q->head < q->len)
		return;
	q->head = q->len = q->mark = 0;
	if (q->cap > SHM_OUTQ_KEEP) {
		free(q->buf);
		q->buf = NULL;
		q->cap = 0;
	}
}

uint8_t *shm_outq_begin(shm_outq_t *q, size_t max)
{
	size_t need = q->len + 8 + pad8(max);
	if (need > q->cap && q->head > 0) {
		memmove(q->buf, q->buf + q->head, q->len - q->head);
		q->len -= q->head;
		q->mark = q->mark > q->head ? q->mark - q->head : 0;
		q->head = 0;
		need = q->len + 8 + pad8(max);
	}
	if (need > q->cap) {
		size_t c = q->cap ? q->cap : 65536;
		while (c < need)
			c *= 2;
		uint8_t *nb = realloc(q->buf, c);
		if (!nb)
			return NULL;
		q->buf = nb;
		q->cap = c;
	}
	return q->buf + q->len + 8;
}

void shm_outq_end(shm_outq_t *q, uint32_t tag, size_t used)
{
	uint32_t hdr[2] = {tag, (uint32_t)used};
	memcpy(q->buf + q->len, hdr, 8);
	q->len += 8 + pad8(used);
}

int shm_outq_push(shm_outq_t *q, uint32_t tag, const void *a, size_t na, const void *b, size_t nb)
{
	uint8_t *p = shm_outq_begin(q, na + nb);
	if (!p)
		return CH_ENOMEM;
	if (na)
		memcpy(p, a, na);
	if (nb)
		memcpy(p + na, b, nb);
	shm_outq_end(q, tag, na + nb);
	return 0;
}

bool shm_outq_next(const shm_outq_t *q, uint32_t *tag, const uint8_t **p, uint32_t *len)
{
	if (q->head >= q->len)
		return false;
	uint32_t hdr[2];
	memcpy(hdr, q->buf + q->head, 8);
	*tag = hdr[0];
	*len = hdr[1];
	*p = q->buf + q->head + 8;
	return true;
}

void shm_outq_pop(shm_outq_t *q)
{
	uint32_t hdr[2];
	if (q->head >= q->len)
		return;
	memcpy(hdr, q->buf + q->head, 8);
	q->head += 8 + pad8(hdr[1]);
	rewind_empty(q);
}

size_t shm_outq_bytes(const shm_outq_t *q)
{
	return q->len - q->head;
}

void shm_outq_mark(shm_outq_t *q)
{
	q->mark = q->len;
}

void shm_outq_drop_unmarked(shm_outq_t *q)
{
	q->len = q->mark > q->head ? q->mark : q->head;
	rewind_empty(q);
}

int shm_outq_flush(shm_outq_t *q, shm_ring_t *r, bool all, bool *full, uint64_t *refused)
{
	int n = 0;
	uint32_t tag, len;
	const uint8_t *p;
	if (full)
		*full = false;
	while ((all || q->head < q->mark) && shm_outq_next(q, &tag, &p, &len)) {
		int rc = shm_ring_try_write(r, p, len, tag);
		if (rc == CH_EAGAIN) {
			if (full)
				*full = true;
			break;
		}
		if (rc && refused)
			(*refused)++;
		shm_outq_pop(q);
		n++;
	}
	if (n)
		shm_ring_publish(r);
	return n;
}

void shm_outq_clear(shm_outq_t *q)
{
	q->head = q->len;
	rewind_empty(q);
}

void shm_outq_free(shm_outq_t *q)
{
	free(q->buf);
	memset(q, 0, sizeof(*q));
}
