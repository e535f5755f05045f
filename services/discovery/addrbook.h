/* addrbook.h: the address book: candidate peer addresses in Bitcoin Core's
 * two tables (addrman), so that no single source can fill the book.
 *
 *   - "new" holds addresses we heard of and never connected to:
 *     AB_NEW_BUCKETS buckets of AB_BUCKET_SIZE slots.  An address heard
 *     from source S goes to a bucket chosen by a keyed hash of (the
 *     address's group, S's group), among at most AB_NEW_BUCKETS_PER_SRC
 *     buckets per source group; one (address group, source group) pair
 *     always lands in the same bucket, so a source that sends thousands
 *     of addresses of one group occupies at most AB_BUCKET_SIZE slots.  An
 *     address heard from several sources may sit in up to AB_NEW_REFS_MAX
 *     buckets (each further one with probability 1/2^refs).
 *   - "tried" holds addresses we connected to: AB_TRIED_BUCKETS buckets,
 *     at most AB_TRIED_BUCKETS_PER_GROUP per address group.  An address
 *     moves there on a successful connection (ab_good).  When its tried
 *     slot is taken, the move is deferred (test-before-evict): the
 *     collision is recorded, the occupant is tested with a feeler
 *     (ab_collision_to_test) and ab_resolve_collisions keeps an occupant
 *     that answered in the last AB_REPLACEMENT_MS, or evicts it to "new"
 *     once it failed (or after AB_TEST_WINDOW_MS without an answer).
 *   - Within a bucket the slot is a keyed hash of the address; a taken
 *     slot is only given up by an entry that is "terrible" (too old, too
 *     many failures) or that has other references.
 *
 * Groups are common/netgroup's, the same that transport's max-per-group
 * uses.  The hash key is random per book and persisted with it,
 * so an outsider cannot compute which addresses collide.
 *
 * Everything is bounded by construction: an entry lives only while a
 * slot holds it, so at most AB_MAX_ENTRIES entries exist; nothing a peer
 * sends can grow the book beyond that.  The core does no I/O except
 * ab_save / ab_load; the time (wall-clock ms, persisted) and randomness
 * are injected so tests drive it directly.
 *
 * One thread at a time per book. */
#ifndef CH_DISC_ADDRBOOK_H
#define CH_DISC_ADDRBOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netgroup.h"
#include "pex.h"

/* Bitcoin Core's table geometry (addrman.h). */
#define AB_NEW_BUCKETS             1024
#define AB_TRIED_BUCKETS           256
#define AB_BUCKET_SIZE             64
#define AB_NEW_BUCKETS_PER_SRC     64 /* new buckets one source group can reach */
#define AB_TRIED_BUCKETS_PER_GROUP 8  /* tried buckets one address group can reach */
#define AB_NEW_REFS_MAX            8  /* new buckets one address may sit in */
/* Every slot of both tables: the most entries a book can hold. */
#define AB_MAX_ENTRIES ((AB_NEW_BUCKETS + AB_TRIED_BUCKETS) * AB_BUCKET_SIZE)
/* Tried collisions waiting for a test (test-before-evict). */
#define AB_COLLISIONS_MAX 10
/* An occupant that connected this recently keeps its tried slot. */
#define AB_REPLACEMENT_MS (4ull * 3600 * 1000)
/* A collision unresolved for this long evicts the occupant anyway. */
#define AB_TEST_WINDOW_MS (40ull * 60 * 1000)
/* "Terrible": not heard of for AB_HORIZON_MS, AB_RETRIES failures and
 * never a success, or AB_MAX_FAILURES failures in AB_MIN_FAIL_MS. */
#define AB_HORIZON_MS   (30ull * 24 * 3600 * 1000)
#define AB_RETRIES      3
#define AB_MAX_FAILURES 10
#define AB_MIN_FAIL_MS  (7ull * 24 * 3600 * 1000)
/* Random picks ab_select makes before it gives up. */
#define AB_SELECT_TRIES 256
/* The largest file ab_load reads (every slot, with room). */
#define AB_FILE_MAX (16u << 20)

/* An address: the form peers exchange (proto/pex.h): IPv4 as IPv4-mapped
 * IPv6 (::ffff:a.b.c.d), port in host order. */
typedef pex_addr_t ab_addr_t;

/* An address group (common/netgroup.h: one definition for the node). */
typedef ch_netgroup_t ab_group_t;

/* Longest text of an address ("[v6]:port") and of a group, NUL included. */
#define AB_ADDR_STR_MAX  56
#define AB_GROUP_STR_MAX CH_NETGROUP_STR_MAX

typedef enum ab_table {
	AB_ANY = 0,
	AB_NEW = 1,
	AB_TRIED = 2,
} ab_table_t;

/* One entry.  Callers read the first block; the rest is the book's. */
typedef struct ab_entry {
	ab_addr_t addr;
	ab_addr_t src;       /* who told us first (a peer, a seed, the DHT) */
	uint64_t seen_ms;    /* last heard of (wall ms) */
	uint64_t try_ms;     /* last connection attempt, 0: never */
	uint64_t success_ms; /* last successful connection, 0: never */
	uint32_t attempts;   /* failed attempts since the last success */
	bool tried;          /* in the tried table */
	bool has_pk;         /* the node's key, from a handshake */
	uint8_t pk[32];
	/* the book's bookkeeping */
	uint8_t refs;   /* new buckets holding it */
	bool live;      /* slot of the entry array in use */
	int32_t hnext;  /* hash chain */
	uint32_t lpos;  /* index in its table's list */
	uint32_t cpend; /* 1 + index in the collision list, 0: none */
} ab_entry_t;

typedef void (*ab_rand_fn)(void *arg, void *buf, size_t n);

typedef struct ab_config {
	ab_rand_fn rand; /* NULL: libsodium's randombytes_buf */
	void *rand_arg;
	ch_netgroup_mode_t netgroup; /* how buckets group addresses (0: auto) */
} ab_config_t;

typedef struct ab ab_t;

/* ab_addr_parse: "a.b.c.d:port" or "[v6]:port" (numeric only).  Returns 0
 * or CH_EINVAL. */
int ab_addr_parse(const char *s, ab_addr_t *out);

/* ab_addr_str: the text of an address as transport writes it. */
const char *ab_addr_str(const ab_addr_t *a, char *buf, size_t cap);

/* ab_addr_eq: same address and port. */
bool ab_addr_eq(const ab_addr_t *a, const ab_addr_t *b);

/* ab_addr_valid: an address worth keeping: a port, not unspecified, not
 * multicast or broadcast.  Loopback and private ranges are allowed (test
 * networks and LANs run on them). */
bool ab_addr_valid(const ab_addr_t *a);

/* ab_addr_from_peer_ok: whether an address that src (a peer, a DHT node)
 * told us may enter the book, so a peer cannot make the node probe
 * services it should not: never a well-known service port (below 1024, and
 * the usual database, cache, proxy, remote-desktop, mail and IRC ports);
 * a loopback or private address only from a source of the same class (a
 * local or private testnet; common/netgroup.h's classes). */
bool ab_addr_from_peer_ok(const ab_addr_t *a, const ab_addr_t *src);

/* ab_group_of / ab_group_eq / ab_group_str: the group of an address
 * ("127.10" for IPv4, "2001:db8" for IPv6). */
void ab_group_of(const ab_addr_t *a, ch_netgroup_mode_t mode, ab_group_t *g);
bool ab_group_eq(const ab_group_t *a, const ab_group_t *b);
const char *ab_group_str(const ab_group_t *g, char *buf, size_t cap);

/* ab_new: an empty book with a fresh random key.  NULL if memory runs out
 * (about 330 KiB for the tables, entries grow on demand). */
ab_t *ab_new(const ab_config_t *cfg);

/* ab_destroy: frees the book; safe on NULL; clears *b. */
void ab_destroy(ab_t **b);

/* ab_add: addr heard of from src (src may equal addr: it told us itself),
 * last seen at seen_ms.  A known address gets its seen time refreshed and,
 * if still new, maybe one more new bucket.  *added (may be NULL) is true
 * if the address gained a slot.  Returns 0; CH_EINVAL for an invalid
 * address or source.  A full slot whose occupant keeps it is not an
 * error: the address is simply not kept. */
int ab_add(ab_t *b, const ab_addr_t *addr, const ab_addr_t *src, uint64_t seen_ms, uint64_t now_ms,
           bool *added);

/* ab_good: a connection to addr succeeded at now_ms (pk: the node's key,
 * may be NULL).  An address not in the book is added first (source:
 * itself).  Moves it to tried, or records a collision when its tried
 * slot is held by another (test-before-evict).  Returns 0; CH_EINVAL for
 * an invalid address; CH_ENOMEM if it could not be added. */
int ab_good(ab_t *b, const ab_addr_t *addr, const uint8_t *pk, uint64_t now_ms);

/* ab_attempt: a connection to addr failed at now_ms.  Returns 0 or
 * CH_ENOENT (not in the book). */
int ab_attempt(ab_t *b, const ab_addr_t *addr, uint64_t now_ms);

/* ab_remove: forgets addr (it is ourselves).  Returns 0 or CH_ENOENT. */
int ab_remove(ab_t *b, const ab_addr_t *addr);

/* ab_find: the entry of addr, or NULL.  Valid until the next change. */
const ab_entry_t *ab_find(const ab_t *b, const ab_addr_t *addr);

/* ab_is_terrible / ab_chance: Bitcoin's IsTerrible and GetChance (the
 * relative chance ab_select takes an entry: 1, times 0.01 if tried in the
 * last 10 minutes, times 0.66 per failed attempt up to 8). */
bool ab_is_terrible(const ab_entry_t *e, uint64_t now_ms);
double ab_chance(const ab_entry_t *e, uint64_t now_ms);

/* A filter: true if the caller can use this entry now. */
typedef bool (*ab_filter_fn)(void *arg, const ab_entry_t *e);

/* ab_select: a random entry of table t (AB_ANY: tried or new with equal
 * odds when both have entries), weighted by ab_chance, that passes
 * filter (NULL: any); at most AB_SELECT_TRIES picks.  NULL if none. */
const ab_entry_t *ab_select(ab_t *b, ab_table_t t, ab_filter_fn filter, void *arg, uint64_t now_ms);

/* ab_sample: up to max distinct random entries passing filter, into out;
 * returns how many. */
size_t ab_sample(ab_t *b, ab_filter_fn filter, void *arg, const ab_entry_t **out, size_t max);

/* ab_collision_to_test: the tried occupant of a pending collision, to be
 * tested with a feeler; NULL if none. */
const ab_entry_t *ab_collision_to_test(ab_t *b);

/* ab_resolve_collisions: decides pending collisions (see the top). */
void ab_resolve_collisions(ab_t *b, uint64_t now_ms);

/* ab_count: entries in table t (AB_ANY: both); ab_collisions: pending. */
size_t ab_count(const ab_t *b, ab_table_t t);
size_t ab_collisions(const ab_t *b);

/* ab_foreach: calls fn on every entry (the book must not change meanwhile). */
void ab_foreach(const ab_t *b, void (*fn)(void *arg, const ab_entry_t *e), void *arg);

/* ab_dirty: changed since the last ab_save or ab_load. */
bool ab_dirty(const ab_t *b);

/* ab_save: writes the book (key and entries, checksummed) to path.tmp,
 * fsyncs it and renames it to path.  Returns 0 or CH_EIO (errno set). */
int ab_save(ab_t *b, const char *path);

/* ab_load: reads a book saved by ab_save into b, which must be empty; the
 * key is the file's, tried entries go back to their tried slots (to new
 * if the slot is taken), new ones to the bucket of their source.  Returns
 * 0; CH_ENOENT (no file); CH_EIO; CH_EPROTO (corrupt: bad magic, version,
 * size or checksum; b is then left empty with a fresh key); CH_EINVAL if
 * b is not empty. */
int ab_load(ab_t *b, const char *path, uint64_t now_ms);

#endif
