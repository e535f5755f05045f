/* dht_int.h: the inside of a DHT core, shared by dht.c (server side,
 * requests, timers), lookup.c (iterative lookups, put/announce) and
 * persist.c (state file).  Not for users of the core: see dht.h. */
#ifndef CH_DHT_INT_H
#define CH_DHT_INT_H

#include "dht.h"
#include "qlimit.h"

/* Why a request was sent. */
/* Length of our transaction ids: slot (2) and generation (6). */
#define DHT_TID_LEN 8

typedef enum req_purpose {
	REQ_PING = 1, /* maintenance, verification of a querier, bootstrap */
	REQ_LOOKUP,   /* search phase of a lookup */
	REQ_STORE,    /* announce_peer or put of a lookup's store phase */
} req_purpose_t;

/* A request awaiting its answer.  The 8-byte transaction id is the slot
 * index (2 bytes) and a random generation (6 bytes): a reply must name a
 * live slot, the right generation, and come from the address asked, so an
 * off-path forger guesses 48 bits per try. */
typedef struct dht_req {
	bool used;
	bool soft; /* past the soft timeout */
	bool id_known;
	uint8_t purpose;    /* req_purpose_t */
	uint8_t method;     /* krpc_method_t */
	uint64_t gen;       /* 48 random bits */
	uint16_t cid;       /* candidate id within the lookup */
	uint16_t lk_slot;   /* lookup slot */
	uint32_t lookup_id; /* 0: none */
	uint8_t id[DHT_ID_LEN];
	dht_addr_t addr;
	uint64_t sent_at;
} dht_req_t;

typedef enum cand_state {
	C_NEW = 0,
	C_SENT,
	C_REPLIED,
	C_FAILED,
} cand_state_t;

typedef enum store_state {
	S_NONE = 0,
	S_SENT,
	S_OK,
	S_ERR,
} store_state_t;

/* A node a lookup knows of. */
typedef struct lk_cand {
	uint8_t id[DHT_ID_LEN];
	dht_addr_t addr;
	bool id_known;  /* false for a bootstrap address not yet answered */
	bool soft;      /* its request is past the soft timeout */
	bool has_seq;   /* get: it holds a mutable item of seq */
	uint8_t state;  /* cand_state_t */
	uint8_t sstate; /* store_state_t */
	uint8_t hop;
	uint8_t toklen;
	uint16_t cid;
	uint8_t token[KRPC_TOKEN_MAX];
	int64_t seq;
} lk_cand_t;

typedef enum lk_phase {
	LK_SEARCH = 0,
	LK_STORE,
	LK_DONE,
} lk_phase_t;

/* One iterative lookup (and its store phase). */
typedef struct dht_lookup {
	uint32_t id;
	uint16_t slot; /* index in dht.lk */
	dht_op_t op;
	lk_phase_t phase;
	uint8_t target[DHT_ID_LEN];
	lk_cand_t c[DHT_LOOKUP_CANDS]; /* unknown ids first, then by distance */
	uint32_t n;
	uint16_t next_cid;
	uint32_t inflight;    /* requests holding an alpha slot */
	uint32_t outstanding; /* all requests awaiting an answer */
	uint64_t started, deadline;
	dht_done_fn cb;
	void *arg;
	int32_t own; /* republish of own item index, -1 if not */
	/* announce */
	uint16_t port;
	/* get: the salt a mutable item must hash with */
	uint8_t salt[KRPC_SALT_MAX];
	size_t saltlen;
	/* put: the item (signed once the search has found the seq) */
	dht_item_t put;
	bool put_ready;
	bool has_sk;
	ch_seckey_t sk;
	int64_t min_seq;
	dht_result_t res;
} dht_lookup_t;

struct dht {
	dht_config_t cfg;
	dht_rtable_t rt;
	dht_store_t st;
	uint8_t secret[2][16]; /* current, previous */
	uint64_t rotated_at;
	dht_req_t *reqs;
	uint32_t cap_reqs, used_reqs, hwm, req_hint;
	dht_lookup_t *lk[DHT_MAX_LOOKUPS];
	uint32_t nlk;
	uint32_t next_lk_id;
	dht_own_t *own[DHT_MAX_OWN];
	uint32_t nown;
	dht_addr_t boot[DHT_MAX_BOOT];
	uint32_t nboot;
	uint64_t next_maint, last_boot, next_expire;
	double qtok, vtok; /* token buckets: queries in, verification pings */
	dht_qlimit_t ql;   /* per-source buckets */
	uint64_t qtok_at, vtok_at;
	dht_stats_t stats;
	bool dirty;
	uint8_t pkt[KRPC_PKT_MAX];
};

/* dht.c: services for lookup.c */
void dht_rand(dht_t *d, void *buf, size_t n);
/* dht_send_query: sends query m (t, id and version filled in here) to addr
 * and records a request.  Returns 0, CH_ENOMEM (table full), CH_EIO. */
int dht_send_query(dht_t *d, krpc_msg_t *m, const dht_addr_t *addr, const uint8_t *id,
                   req_purpose_t purpose, dht_lookup_t *lk, uint16_t cid, uint64_t now);
/* dht_own_add: records (or updates) an own item for republishing. */
void dht_own_add(dht_t *d, const dht_item_t *it, uint64_t now);
/* dht_store_local: stores an own item in our own store. */
void dht_store_local(dht_t *d, const dht_item_t *it, uint64_t now);

/* lookup.c */
dht_lookup_t *dht_lk_new(dht_t *d, dht_op_t op, const uint8_t target[DHT_ID_LEN], dht_done_fn cb,
                         void *arg, uint64_t now);
void dht_lk_start(dht_t *d, dht_lookup_t *lk, uint64_t now);
dht_lookup_t *dht_lk_find(dht_t *d, uint16_t slot, uint32_t id);
void dht_lk_on_reply(dht_t *d, dht_lookup_t *lk, const dht_req_t *rq, const krpc_msg_t *m,
                     uint64_t now);
void dht_lk_on_error(dht_t *d, dht_lookup_t *lk, const dht_req_t *rq, int64_t code, uint64_t now);
void dht_lk_on_timeout(dht_t *d, dht_lookup_t *lk, const dht_req_t *rq, bool soft, uint64_t now);
/* dht_lk_tick: deadlines of every lookup; reaps finished ones. */
void dht_lk_tick(dht_t *d, uint64_t now);
void dht_lk_free(dht_t *d, uint32_t slot);

#endif
