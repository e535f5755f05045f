/* region.c: the node's named shared-memory region (see region.h). */
#include "region.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

#define SHM_REGION_MAGIC_TYPE 0x63687265676e0000ULL /* "chregn\0\0" */
#define SHM_REGION_VERSION    1ULL
#define SHM_REGION_MAGIC      (SHM_REGION_MAGIC_TYPE | SHM_REGION_VERSION)
#define SHM_REGION_TYPE_MASK  0xffffffffffffff00ULL

typedef struct shm_region_entry {
	char name[SHM_REGION_NAME_MAX];
	uint64_t off;
	uint64_t sz;
} shm_region_entry_t;

typedef struct shm_region_hdr {
	_Atomic uint64_t magic;
	uint64_t size; /* bytes mapped */
	uint64_t used; /* bump allocator: next free offset */
	uint64_t nobj;
	shm_region_entry_t dir[SHM_REGION_MAX_OBJ];
} shm_region_hdr_t;

_Static_assert(sizeof(shm_region_entry_t) == 56, "directory entry layout");

struct shm_region {
	shm_region_hdr_t *hdr;
	size_t size;
};

int shm_region_name(const char *datadir, char *out, size_t cap)
{
	if (!datadir || !out)
		return CH_EINVAL;
	char real[PATH_MAX];
	if (!realpath(datadir, real))
		return CH_ENOENT;
	unsigned char h[8];
	crypto_generichash(h, sizeof(h), (const unsigned char *)real, strlen(real), NULL, 0);
	int n = snprintf(out, cap, "/chorus-%02x%02x%02x%02x%02x%02x%02x%02x", h[0], h[1], h[2],
	                 h[3], h[4], h[5], h[6], h[7]);
	return (n < 0 || (size_t)n >= cap) ? CH_ERANGE : 0;
}

static size_t page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	return (n + pg - 1) / pg * pg;
}

static int region_map(int fd, size_t size, shm_region_t **out)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return CH_EIO;
	shm_region_t *r = calloc(1, sizeof(*r));
	if (!r) {
		munmap(p, size);
		return CH_ENOMEM;
	}
	r->hdr = p;
	r->size = size;
	*out = r;
	return 0;
}

int shm_region_create(const char *name, size_t size, shm_region_t **out)
{
	if (!name || !out || size < sizeof(shm_region_hdr_t))
		return CH_EINVAL;
	*out = NULL;
	size = page_round(size);
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return errno == EEXIST ? CH_EEXIST : CH_EIO;
	if (ftruncate(fd, (off_t)size) != 0) {
		close(fd);
		shm_unlink(name);
		return CH_EIO;
	}
	int rc = region_map(fd, size, out);
	close(fd);
	if (rc) {
		shm_unlink(name);
		return rc;
	}
	shm_region_hdr_t *h = (*out)->hdr;
	h->size = size;
	h->used = (sizeof(*h) + 4095) & ~(uint64_t)4095;
	h->nobj = 0;
	atomic_store_explicit(&h->magic, SHM_REGION_MAGIC, memory_order_release);
	return 0;
}

int shm_region_open(const char *name, shm_region_t **out)
{
	if (!name || !out)
		return CH_EINVAL;
	*out = NULL;
	int fd = shm_open(name, O_RDWR, 0);
	if (fd < 0)
		return errno == ENOENT ? CH_ENOENT : CH_EIO;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return CH_EIO;
	}
	if ((size_t)st.st_size < sizeof(shm_region_hdr_t)) {
		close(fd);
		return CH_ERANGE;
	}
	int rc = region_map(fd, (size_t)st.st_size, out);
	close(fd);
	if (rc)
		return rc;
	shm_region_hdr_t *h = (*out)->hdr;
	uint64_t magic = atomic_load_explicit(&h->magic, memory_order_acquire);
	rc = 0;
	if ((magic & SHM_REGION_TYPE_MASK) != SHM_REGION_MAGIC_TYPE)
		rc = CH_EMAGIC;
	else if (magic != SHM_REGION_MAGIC)
		rc = CH_EVERSION;
	else if (h->size > (size_t)st.st_size || h->used > h->size || h->nobj > SHM_REGION_MAX_OBJ)
		rc = CH_ERANGE;
	for (uint64_t i = 0; rc == 0 && i < h->nobj; i++) {
		const shm_region_entry_t *e = &h->dir[i];
		if (e->off > h->size || e->sz > h->size - e->off)
			rc = CH_ERANGE;
	}
	if (rc)
		shm_region_close(out);
	return rc;
}

void shm_region_close(shm_region_t **rp)
{
	if (!rp || !*rp)
		return;
	munmap((*rp)->hdr, (*rp)->size);
	free(*rp);
	*rp = NULL;
}

int shm_region_unlink(const char *name)
{
	if (!name)
		return CH_EINVAL;
	if (shm_unlink(name) != 0)
		return errno == ENOENT ? CH_ENOENT : CH_EIO;
	return 0;
}

int shm_region_alloc(shm_region_t *r, const char *obj, size_t align, size_t sz, void **laddr)
{
	if (!r || !obj || !laddr || sz == 0 || align == 0 || align > 4096 ||
	    (align & (align - 1)) != 0 || strlen(obj) >= SHM_REGION_NAME_MAX)
		return CH_EINVAL;
	shm_region_hdr_t *h = r->hdr;
	void *exists;
	if (shm_region_find(r, obj, &exists, NULL) == 0)
		return CH_EEXIST;
	if (h->nobj >= SHM_REGION_MAX_OBJ)
		return CH_ENOMEM;
	uint64_t off = (h->used + align - 1) & ~(uint64_t)(align - 1);
	if (off > h->size || sz > h->size - off)
		return CH_ENOMEM;
	shm_region_entry_t *e = &h->dir[h->nobj];
	memset(e, 0, sizeof(*e));
	strcpy(e->name, obj);
	e->off = off;
	e->sz = sz;
	h->used = off + sz;
	h->nobj++;
	*laddr = (uint8_t *)h + off;
	memset(*laddr, 0, sz);
	return 0;
}

int shm_region_find(shm_region_t *r, const char *obj, void **laddr, size_t *sz)
{
	if (!r || !obj || !laddr)
		return CH_EINVAL;
	shm_region_hdr_t *h = r->hdr;
	for (uint64_t i = 0; i < h->nobj; i++) {
		if (strncmp(h->dir[i].name, obj, SHM_REGION_NAME_MAX) == 0) {
			*laddr = (uint8_t *)h + h->dir[i].off;
			if (sz)
				*sz = h->dir[i].sz;
			return 0;
		}
	}
	return CH_ENOENT;
}

void *shm_region_base(shm_region_t *r)
{
	return r ? (void *)r->hdr : NULL;
}

size_t shm_region_size(shm_region_t *r)
{
	return r ? r->size : 0;
}
