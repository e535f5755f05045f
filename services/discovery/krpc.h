/* krpc.h: KRPC messages of the BitTorrent DHT (BEP 5, BEP 44), parsed from
 * and encoded to bencoded datagrams.
 *
 * One struct, krpc_msg_t, serves both directions: krpc_parse fills it from
 * a datagram (spans point into the datagram, which the caller keeps alive),
 * krpc_encode writes the fields that are present, with every dictionary's
 * keys in sorted order as bencoding requires.  Only the message shape is
 * checked here (types, lengths of ids, hashes, keys and signatures); what a
 * method requires is checked by its handler, which answers 203 when an
 * argument is missing.
 *
 * Limits a peer cannot move: a transaction id of at most KRPC_TID_MAX
 * bytes, at most KRPC_MAX_VALUES peers read from a get_peers reply, a token
 * of at most KRPC_TOKEN_MAX bytes, a BEP 44 value of at most
 * KRPC_V_MAX bytes and a salt of at most KRPC_SALT_MAX bytes (longer ones
 * are parsed so the handler can answer 205/207, but never stored).
 *
 * No state; thread-safe. */
#ifndef CH_DHT_KRPC_H
#define CH_DHT_KRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bencode.h"

#define KRPC_ID_LEN 20
/* Longest transaction id accepted (BEP 5 suggests 2 bytes; some clients
 * use 4 to 8). */
#define KRPC_TID_MAX 16
/* Longest write token accepted (ours are 8 bytes, libtorrent's 4). */
#define KRPC_TOKEN_MAX 32
/* Peers read from one get_peers reply; more are ignored (a reply of
 * 100 peers is already ~900 bytes). */
#define KRPC_MAX_VALUES 100
/* BEP 44: the bencoded value is at most 1000 bytes, the salt 64. */
#define KRPC_V_MAX    1000
#define KRPC_SALT_MAX 64
/* Compact node info (BEP 5): 20-byte id, 4-byte IPv4, 2-byte port. */
#define KRPC_NODE_LEN 26
/* Compact peer info: 4-byte IPv4, 2-byte port. */
#define KRPC_PEER_LEN 6
/* Largest datagram we build (and the receive buffer size): replies stay
 * under libtorrent's ~1.5 KB limit by construction (8 nodes, <= 50 peers,
 * one 1000-byte value). */
#define KRPC_PKT_MAX 2048

/* BEP 5 and BEP 44 error codes. */
enum krpc_code {
	KRPC_E_GENERIC = 201,
	KRPC_E_SERVER = 202,
	KRPC_E_PROTOCOL = 203,
	KRPC_E_METHOD = 204,
	KRPC_E_V_TOO_BIG = 205,
	KRPC_E_BAD_SIG = 206,
	KRPC_E_SALT_TOO_BIG = 207,
	KRPC_E_CAS = 301,
	KRPC_E_SEQ = 302,
};

typedef enum krpc_y {
	KRPC_NONE = 0,
	KRPC_QUERY = 1,
	KRPC_RESPONSE = 2,
	KRPC_ERROR = 3,
} krpc_y_t;

typedef enum krpc_method {
	KRPC_M_UNKNOWN = 0,
	KRPC_M_PING,
	KRPC_M_FIND_NODE,
	KRPC_M_GET_PEERS,
	KRPC_M_ANNOUNCE_PEER,
	KRPC_M_GET,
	KRPC_M_PUT,
	KRPC_M_COUNT
} krpc_method_t;

/* Why a datagram is not a usable KRPC message (after bencode accepted it). */
typedef enum krpc_err {
	KRPC_OK = 0,
	KRPC_ERR_BENCODE, /* see ben_stats_t for the reason */
	KRPC_ERR_NOT_DICT,
	KRPC_ERR_TID,  /* "t" missing, not a string, empty or too long */
	KRPC_ERR_Y,    /* "y" missing or not q/r/e */
	KRPC_ERR_BODY, /* "a"/"r" not a dict, "q" not a string, "e" malformed */
	KRPC_ERR_ID,   /* no 20-byte "id" in "a" or "r" */
	KRPC_ERR_ARG,  /* an argument of the wrong type or length */
	KRPC_ERR_NREASONS
} krpc_err_t;

/* A byte span inside the datagram (or the caller's memory when encoding);
 * p == NULL means absent. */
typedef struct krpc_span {
	const uint8_t *p;
	size_t n;
} krpc_span_t;

typedef struct krpc_msg {
	krpc_y_t y;
	krpc_span_t t;    /* transaction id */
	krpc_span_t cv;   /* top-level "v": client version (optional) */
	krpc_span_t ip;   /* top-level "ip" (BEP 42): the requester's address */
	krpc_method_t q;  /* query method */
	krpc_span_t qstr; /* the method name as sent (for unknown methods) */
	bool ro;          /* BEP 43 read-only node: do not add it to tables */

	/* "a" (query) or "r" (response) */
	bool has_id;
	uint8_t id[KRPC_ID_LEN];
	bool has_target; /* find_node, get */
	uint8_t target[KRPC_ID_LEN];
	bool has_info_hash; /* get_peers, announce_peer */
	uint8_t info_hash[KRPC_ID_LEN];
	krpc_span_t token;
	bool has_port;
	int64_t port;
	bool implied_port;
	krpc_span_t v; /* raw bencoded value (BEP 44) */
	krpc_span_t k; /* 32-byte ed25519 public key */
	krpc_span_t sig;
	krpc_span_t salt;
	bool has_seq;
	int64_t seq;
	bool has_cas;
	int64_t cas;
	krpc_span_t nodes;                      /* compact node info, a multiple of 26 bytes */
	krpc_span_t nodes6;                     /* parsed for shape only (no IPv6 table) */
	const uint8_t *values[KRPC_MAX_VALUES]; /* 6-byte compact peers */
	uint32_t nvalues;
	bool has_values; /* the "values" key was present (even empty) */

	/* "e" */
	int64_t ecode;
	krpc_span_t emsg;
} krpc_msg_t;

/* krpc_parse: decodes the datagram pkt[0..len) into m (zeroed first).
 * Returns KRPC_OK; KRPC_ERR_BENCODE (bst counts why); or another reason of
 * krpc_err_t.  When the reason is KRPC_ERR_ID or KRPC_ERR_ARG and m->y is
 * KRPC_QUERY, m->t is valid so the caller can answer with error 203. */
krpc_err_t krpc_parse(const uint8_t *pkt, size_t len, krpc_msg_t *m, ben_stats_t *bst);

/* krpc_encode: writes m as a bencoded datagram into buf[0..cap); *out_len
 * gets its length.  For a query it writes "a" with the fields present;
 * for a response "r"; for an error "e" = [ecode, emsg].  Returns 0, or -1
 * if it does not fit. */
int krpc_encode(const krpc_msg_t *m, uint8_t *buf, size_t cap, size_t *out_len);

/* krpc_method_name: the wire name of a method ("find_node"); "unknown". */
const char *krpc_method_name(krpc_method_t q);

/* krpc_err_name: a short name of a parse failure reason. */
const char *krpc_err_name(krpc_err_t e);

/* krpc_sig_buf: writes the buffer BEP 44 signs for a mutable item:
 * ["4:salt" len ":" salt] "3:seqi" seq "e1:v" raw-v, the salt part only
 * when salt is non-empty.  Returns its length, or 0 if it does not fit
 * cap. */
size_t krpc_sig_buf(uint8_t *buf, size_t cap, const uint8_t *salt, size_t saltlen, int64_t seq,
                    const uint8_t *v, size_t vlen);

#endif
