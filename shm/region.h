/* region.h: the node's shared-memory region.
 *
 * One POSIX shared-memory object per node, named from the datadir
 * (shm_region_name) so that several nodes run side by side on one machine.
 * chorusd creates it, lays out every object in it (rings, the services'
 * control blocks) with shm_region_alloc, and the services join it and look
 * their objects up by name with shm_region_find.
 *
 * Layout: a header {magic, size, used, directory of up to SHM_REGION_MAX_OBJ
 * named entries {name, offset, size}} followed by the objects, each at an
 * offset aligned as asked.  Offsets, never pointers: each process maps the
 * region at its own address.  The directory is written only by the creator,
 * before anyone joins (the magic is stored last, with release), and is
 * read-only afterwards, so no lock is needed.
 *
 * Lifecycle: create (O_EXCL: an existing region is CH_EEXIST; the creator
 * decides whether it is stale and unlinks it), open (join: checks magic,
 * version and size), close (unmaps), unlink (removes the name; mappings
 * stay valid until closed).
 *
 * Crash policy: the region outlives any process that has it mapped, which is
 * what lets a restarted service find its rings as they were.  Only chorusd
 * unlinks it (on orderly shutdown, or at start when the previous chorusd
 * died and left it behind). */
#ifndef CH_SHM_REGION_H
#define CH_SHM_REGION_H

#include <stddef.h>
#include <stdint.h>

#define SHM_REGION_MAX_OBJ  64
#define SHM_REGION_NAME_MAX 40 /* object names, NUL included */
#define SHM_REGION_PATH_MAX 64 /* "/chorus-<16 hex>" and similar */

typedef struct shm_region shm_region_t;

/* shm_region_name: the shm name of the node whose datadir is `datadir`:
 * "/chorus-" and 16 hex digits of BLAKE2b over the datadir's absolute path.
 * The datadir must exist (its real path is hashed).  0, CH_ENOENT, CH_ERANGE. */
int shm_region_name(const char *datadir, char *out, size_t cap);

/* shm_region_create: creates and maps a region of `size` bytes (rounded up
 * to pages), mode 0600.  CH_EEXIST if the name is taken, CH_EIO otherwise. */
int shm_region_create(const char *name, size_t size, shm_region_t **out);

/* shm_region_open: maps an existing region.  CH_ENOENT if absent,
 * CH_EMAGIC/CH_EVERSION if it is not a region of this layout, CH_ERANGE if
 * the object is smaller than its header says. */
int shm_region_open(const char *name, shm_region_t **out);

/* shm_region_close: unmaps (safe with NULL, clears *r). */
void shm_region_close(shm_region_t **r);

/* shm_region_unlink: removes the name.  0 or CH_ENOENT. */
int shm_region_unlink(const char *name);

/* shm_region_alloc: creator only, before anyone joins: reserves sz bytes
 * aligned to `align` (a power of two up to 4096) under `obj`, zeroed.
 * CH_EEXIST (name taken), CH_ENOMEM (region or directory full), CH_EINVAL. */
int shm_region_alloc(shm_region_t *r, const char *obj, size_t align, size_t sz, void **laddr);

/* shm_region_find: the local address and size of object `obj`.  CH_ENOENT. */
int shm_region_find(shm_region_t *r, const char *obj, void **laddr, size_t *sz);

/* shm_region_base / shm_region_size: the mapping, for tests and tools. */
void *shm_region_base(shm_region_t *r);
size_t shm_region_size(shm_region_t *r);

#endif
