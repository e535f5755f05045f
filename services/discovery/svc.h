/* svc.h: the discovery service inside the common service frame
 * (common/service.h): one DHT core (dht.h) on the node's UDP port, driven
 * by dht_net.h from the frame's loop, its state persisted in the datadir,
 * its commands (dht_put, dht_get, dht_lookup, dht_status, dht_bootstrap,
 * dht_announce, dht_peers), events and metrics.
 *
 * Issue 8 (membership, address book, dialing) adds to this service; the
 * hooks it needs are here already: disc_t holds the core and the host, and
 * dht_announce / dht_get_peers are the operations membership uses on
 * SHA-1("chorus:" + network).
 *
 * Single-threaded: everything runs on the frame's loop. */
#ifndef CH_DISC_SVC_H
#define CH_DISC_SVC_H

#include <stdbool.h>
#include <stdint.h>

#include "addrbook.h"
#include "dht.h"
#include "dht_net.h"
#include "identity.h"
#include "member.h"
#include "service.h"
#include "tlink.h"

/* A command waits for its DHT operation at most this long (chorusctl's
 * default timeout is 3 s); the loop goes on meanwhile (svc_cmd.c). */
#define DISC_CMD_BUDGET_MS 2500
/* The state file is rewritten at most this often while it changes. */
#define DISC_SAVE_NS (1ull * 1000000000ull)
/* The state file in the datadir. */
#define DISC_STATE_FILE "dht.dat"
/* The address book and the anchors (svc_member.c). */
#define DISC_BOOK_FILE    "addrbook.dat"
#define DISC_ANCHORS_FILE "anchors.dat"
/* The book is rewritten at most this often while it changes. */
#define DISC_BOOK_SAVE_NS (5ull * 1000000000ull)
/* DHT membership: announce and get_peers under SHA-1("chorus:" +
 * network) every DISC_ANNOUNCE_NS (+-20 %); while below the outbound
 * target every DISC_ANNOUNCE_FAST_NS, doubling (up to DISC_ANNOUNCE_NS)
 * after each round that brought no address the book did not know, so a
 * network too small to reach the target does not keep asking the DHT. */
#define DISC_ANNOUNCE_NS      (60ull * 1000000000ull)
#define DISC_ANNOUNCE_FAST_NS (5ull * 1000000000ull)
/* A dial with no outcome this long after the handshake timeout failed. */
#define DISC_DIAL_SLACK_NS (3ull * 1000000000ull)

/* A command waiting for a DHT operation (svc_cmd.c). */
typedef struct disc_cmd_op disc_cmd_op_t;

typedef struct disc {
	ch_svc_t *svc;
	dht_net_t *net;
	dht_t *d; /* node 0 of net */
	dht_addr_t addr;
	ch_identity_t ident;
	char state_path[CH_PATH_MAX + 16];
	uint64_t next_save;
	bool joined; /* event sent when the table first held a node */
	uint64_t budget_ms;
	disc_cmd_op_t *cmd_ops; /* commands waiting for the DHT */
	uint32_t ncmd_ops;
	/* membership (svc_member.c) */
	ab_t *book;
	mb_t *mb;
	tlink_t link;
	bool link_open;
	char book_path[CH_PATH_MAX + 16];
	char anchors_path[CH_PATH_MAX + 16];
	uint64_t next_book_save;
	bool anchors_dirty;
	uint8_t member_ih[DHT_ID_LEN]; /* SHA-1("chorus:" + network) */
	uint16_t tcp_port;
	uint64_t next_announce;
	uint64_t announce_fast_ns; /* the current interval below target */
	bool announcing;
	uint64_t announces, announce_found; /* rounds, peers found by the last */
} disc_t;

/* The service's ops and command table (svc_cmd.c). */
extern const ch_svc_ops_t disc_ops;

/* The frame hooks (svc.c), see service.h: disc_init loads the identity,
 * binds the UDP socket (a port in use is fatal: CH_EINVAL), loads the
 * state file, bootstraps from the seeds; disc_work runs the DHT and saves
 * the state every DISC_SAVE_NS while it changes; disc_fini saves it. */
int disc_init(ch_svc_t *svc, void **user);
int disc_work(ch_svc_t *svc, void *user, uint64_t now_ns);
int disc_status(ch_svc_t *svc, void *user, ch_mpw_t *w);
int disc_metrics(ch_svc_t *svc, void *user, ch_mpw_t *w);
void disc_fini(ch_svc_t *svc, void *user);

/* disc_cmd_fini: frees the commands still waiting (their replies are
 * answered by the frame when it stops). */
void disc_cmd_fini(disc_t *x);

/* disc_resolve: HOST (name or IPv4; "" = any) to an IPv4 address in
 * network order.  Returns 0 or CH_ENOENT. */
int disc_resolve(const char *host, uint32_t *ip);

/* disc_addr_str: "a.b.c.d:port" into buf. */
const char *disc_addr_str(const dht_addr_t *a, char *buf, size_t cap);

/* disc_save: writes the state file now (if dirty or force). */
void disc_save(disc_t *x, bool force);

/* Membership (svc_member.c): disc_member_init loads the book (a corrupt
 * file is moved aside and a fresh book started) and the anchors, opens
 * the link to transport and starts the policy; disc_member_work runs the
 * link, the policy, the DHT membership timer and the book's saving;
 * disc_member_fini saves and frees. */
int disc_member_init(disc_t *x);
int disc_member_work(disc_t *x, uint64_t now_ns);
void disc_member_fini(disc_t *x);

/* disc_member_write: the `addrbook` command's result. */
void disc_member_write(disc_t *x, ch_mpw_t *out);

#endif
