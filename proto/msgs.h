/* msgs.h: the records that travel through the node's rings.
 *
 * A ring record is {tag, payload} (shm/ring.h).  The tag says which struct
 * below starts the payload; variable data (a transaction's encoding, a list
 * of ids) follows the struct.  These structs cross process boundaries on
 * one machine only, so they are plain C with fixed-width fields, explicit
 * padding and pinned sizes; they never go on the network (the wire format
 * is in docs/protocol.md).
 *
 * A consumer reads a record through ch_msg_view, which checks it against
 * the one table of records (msgs.c: each tag's struct and the rule for
 * what follows it) and copies the struct out: a malformed record is
 * counted and skipped, never trusted.
 *
 * Peer handles (`peer`) are 64-bit numbers chosen by transport, never
 * reused, also across transport restarts; 0 means "not from a peer" (the
 * local application). */
#ifndef CH_PROTO_MSGS_H
#define CH_PROTO_MSGS_H

#include <stdint.h>

#define CH_TXID_LEN 32

typedef enum ch_ring_tag {
	/* transport -> relay (ring transport.relay) */
	CH_TAG_PEER_UP = 1,         /* ch_msg_peer_up_t: a peer finished its handshake */
	CH_TAG_PEER_DOWN = 2,       /* ch_msg_peer_down_t */
	CH_TAG_PEER_MSG = 3,        /* ch_msg_peer_msg_t + the frame's msgpack payload */
	CH_TAG_TRANSPORT_RESET = 4, /* transport (re)started: every earlier peer is gone */

	/* relay -> transport (ring relay.transport) */
	CH_TAG_SEND = 10,      /* ch_msg_send_t + payload */
	CH_TAG_SEND_LIST = 11, /* ch_msg_send_list_t + npeers * u64 + payload */
	CH_TAG_MISBEHAVE = 12, /* ch_msg_misbehave_t: relay scores a peer */

	/* relay -> mempool (ring relay.mempool) */
	CH_TAG_TX_SUBMIT = 20,  /* ch_msg_tx_submit_t + tx encoding */
	CH_TAG_TX_REQUEST = 21, /* ch_msg_tx_request_t */
	CH_TAG_BLOCK = 22,      /* ch_msg_block_t + ntx * 32-byte tx ids */

	/* mempool -> relay (ring mempool.relay) */
	CH_TAG_TX_ACCEPTED = 30, /* ch_msg_tx_accepted_t */
	CH_TAG_TX_REJECTED = 31, /* ch_msg_tx_rejected_t */
	CH_TAG_TX_DATA = 32,     /* ch_msg_tx_data_t + tx encoding */
	CH_TAG_TX_NOTFOUND = 33, /* ch_msg_tx_request_t (the request answered) */
	CH_TAG_TX_REMOVED = 34,  /* ch_msg_tx_removed_t */
} ch_ring_tag_t;

/* ch_msg_peer_up_t.flags */
#define CH_PEER_BLOCK_RELAY 1 /* block-relay-only: announce no transactions to it */
#define CH_PEER_NO_RELAY    2 /* its hello lacks the relay service bit: no INVs to it */

typedef struct ch_msg_peer_up {
	uint64_t peer;
	uint8_t inbound;
	uint8_t flags; /* CH_PEER_* */
	uint8_t pad[4];
	uint16_t listen_port; /* the port the peer listens on (its hello) */
	uint8_t pubkey[32];
	char addr[64]; /* "ip:port" or "[ipv6]:port", NUL-terminated */
} ch_msg_peer_up_t;

typedef struct ch_msg_peer_down {
	uint64_t peer;
	char reason[56];
} ch_msg_peer_down_t;

typedef struct ch_msg_peer_msg {
	uint64_t peer;
	uint8_t type; /* wire type (docs/protocol.md section 1) */
	uint8_t pad[7];
} ch_msg_peer_msg_t;

typedef enum ch_send_mode {
	CH_SEND_ONE = 0, /* to `peer` */
	CH_SEND_ALL = 1, /* to every peer but `except` (0: none) */
} ch_send_mode_t;

typedef struct ch_msg_send {
	uint64_t peer;
	uint64_t except;
	uint8_t type;
	uint8_t mode; /* ch_send_mode_t */
	uint8_t pad[6];
} ch_msg_send_t;

typedef struct ch_msg_send_list {
	uint8_t type;
	uint8_t pad[3];
	uint32_t npeers; /* u64 handles that follow, then the payload */
} ch_msg_send_list_t;

/* The most points one MISBEHAVE record carries (transport refuses more). */
#define CH_MISBEHAVE_POINTS_MAX 1000

typedef struct ch_msg_misbehave {
	uint64_t peer;
	int32_t points; /* 1 .. CH_MISBEHAVE_POINTS_MAX */
	char reason[52];
} ch_msg_misbehave_t;

_Static_assert(sizeof(ch_msg_peer_up_t) == 112, "layout");
_Static_assert(sizeof(ch_msg_peer_down_t) == 64, "layout");
_Static_assert(sizeof(ch_msg_peer_msg_t) == 16, "layout");
_Static_assert(sizeof(ch_msg_send_t) == 24, "layout");
_Static_assert(sizeof(ch_msg_send_list_t) == 8, "layout");
_Static_assert(sizeof(ch_msg_misbehave_t) == 64, "layout");

/* A transaction from a peer (or relayed on behalf of the application). */
typedef struct ch_msg_tx_submit {
	uint64_t peer; /* origin, for scoring and for not echoing it back */
	uint32_t len;  /* bytes of tx encoding that follow */
	uint32_t pad;
} ch_msg_tx_submit_t;

/* A peer asked for a transaction (GETDATA): mempool answers TX_DATA or
 * TX_NOTFOUND with the same peer and id. */
typedef struct ch_msg_tx_request {
	uint64_t peer;
	uint8_t id[CH_TXID_LEN];
} ch_msg_tx_request_t;

/* A block arrived or was submitted: its transactions leave the pool. */
typedef struct ch_msg_block {
	uint8_t block_id[CH_TXID_LEN];
	uint64_t height;
	uint32_t ntx; /* 32-byte ids that follow */
	uint32_t pad;
} ch_msg_block_t;

/* The pool accepted a transaction: relay announces it to every peer but
 * the origin. */
typedef struct ch_msg_tx_accepted {
	uint8_t id[CH_TXID_LEN];
	uint64_t fee;
	uint32_t size; /* encoded bytes: fee rate = fee / size */
	uint32_t pad;
	uint64_t peer; /* origin (0: local) */
} ch_msg_tx_accepted_t;

/* Rejection reasons, also the "reason" codes of the mempool API. */
typedef enum ch_tx_reject {
	CH_TXR_MALFORMED = 1, /* not a valid encoding */
	CH_TXR_TOO_LARGE = 2,
	CH_TXR_BAD_SIG = 3,
	CH_TXR_FEE_TOO_LOW = 4, /* below the pool's current minimum fee rate */
	CH_TXR_DUPLICATE = 5,   /* already in the pool */
	CH_TXR_RECENTLY_REJECTED = 6,
	CH_TXR_REPLACEMENT_FEE = 7, /* same (from, nonce) without enough fee bump */
	CH_TXR_SENDER_LIMIT = 8,    /* too many from one key */
	CH_TXR_POOL_FULL = 9,       /* does not beat the worst when full */
	CH_TXR_EXPIRED = 10,
} ch_tx_reject_t;

typedef struct ch_msg_tx_rejected {
	uint8_t id[CH_TXID_LEN]; /* zero when the encoding was unreadable */
	uint64_t peer;
	int32_t reason; /* ch_tx_reject_t */
	uint32_t pad;
} ch_msg_tx_rejected_t;

typedef struct ch_msg_tx_data {
	uint64_t peer; /* who asked */
	uint8_t id[CH_TXID_LEN];
	uint32_t len; /* bytes of tx encoding that follow */
	uint32_t pad;
} ch_msg_tx_data_t;

typedef enum ch_tx_removal {
	CH_TXRM_INCLUDED = 1, /* in a block */
	CH_TXRM_EVICTED = 2,  /* pool full, lowest fee rate */
	CH_TXRM_EXPIRED = 3,
	CH_TXRM_REPLACED = 4, /* by a higher fee for the same (from, nonce) */
} ch_tx_removal_t;

typedef struct ch_msg_tx_removed {
	uint8_t id[CH_TXID_LEN];
	int32_t reason; /* ch_tx_removal_t */
	uint32_t pad;
} ch_msg_tx_removed_t;

_Static_assert(sizeof(ch_msg_tx_submit_t) == 16, "layout");
_Static_assert(sizeof(ch_msg_tx_request_t) == 40, "layout");
_Static_assert(sizeof(ch_msg_block_t) == 48, "layout");
_Static_assert(sizeof(ch_msg_tx_accepted_t) == 56, "layout");
_Static_assert(sizeof(ch_msg_tx_rejected_t) == 48, "layout");
_Static_assert(sizeof(ch_msg_tx_data_t) == 48, "layout");
_Static_assert(sizeof(ch_msg_tx_removed_t) == 40, "layout");

/* ---------------------------------------------------------------- the view */

/* A record as its consumer sees it: the struct its tag names, copied out
 * (aligned, strings NUL-terminated), and where the variable part is. */
typedef struct ch_msg {
	uint32_t tag;
	union {
		ch_msg_peer_up_t peer_up;
		ch_msg_peer_down_t peer_down;
		ch_msg_peer_msg_t peer_msg;
		ch_msg_send_t send;
		ch_msg_send_list_t send_list;
		ch_msg_misbehave_t misbehave;
		ch_msg_tx_submit_t tx_submit;
		ch_msg_tx_request_t tx_request; /* TX_REQUEST and TX_NOTFOUND */
		ch_msg_block_t block;
		ch_msg_tx_accepted_t tx_accepted;
		ch_msg_tx_rejected_t tx_rejected;
		ch_msg_tx_data_t tx_data;
		ch_msg_tx_removed_t tx_removed;
	} m;
	/* SEND_LIST: the npeers 64-bit handles (8 bytes each, unaligned) */
	const uint8_t *list;
	/* what follows the struct (and the list): PEER_MSG and SEND a frame's
	 * payload, SEND_LIST the payload after the handles, TX_SUBMIT and
	 * TX_DATA the transaction's encoding (len bytes), BLOCK ntx * 32 bytes
	 * of ids; NULL and 0 for fixed-size records */
	const uint8_t *body;
	uint32_t body_len;
} ch_msg_t;

/* ch_msg_view: checks the record {tag, data[0..size)} against its tag's
 * struct and rule and fills out.  Returns 0; CH_EPROTO for a tag no ring
 * carries or a record too short for its struct (out->m unset);
 * CH_ERANGE when the struct is there (copied into out->m) but the lengths
 * it declares disagree with the record's size.  Reads nothing outside
 * data; out->list and out->body point into it.  Thread-safe. */
int ch_msg_view(uint32_t tag, const void *data, uint32_t size, ch_msg_t *out);

/* ch_msg_tag_name: "PEER_UP", "TX_SUBMIT", ...; "UNKNOWN" otherwise. */
const char *ch_msg_tag_name(uint32_t tag);

#endif
