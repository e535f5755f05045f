/* msgs.c: the one table of ring records and the validating view (msgs.h). */
#include "msgs.h"

#include <stddef.h>
#include <string.h>

#include "err.h"

/* What may follow a record's struct. */
typedef enum rule {
	R_NONE,    /* nothing: the record is exactly the struct */
	R_REST,    /* any number of bytes: a frame's payload */
	R_COUNTED, /* exactly count * unit bytes (count: a u32 field of the struct) */
	R_LIST,    /* count * unit bytes of list, then any number of bytes */
} rule_t;

/* One entry per tag: name, struct size, rule, and for the counted rules
 * where the count is in the struct and how many bytes it counts each. */
typedef struct rec_rule {
	uint32_t tag;
	const char *name;
	uint32_t fixed;
	rule_t rule;
	uint32_t count_at; /* offset of a uint32_t count in the struct */
	uint32_t unit;
} rec_rule_t;

static const rec_rule_t rules[] = {
    {CH_TAG_PEER_UP, "PEER_UP", sizeof(ch_msg_peer_up_t), R_NONE, 0, 0},
    {CH_TAG_PEER_DOWN, "PEER_DOWN", sizeof(ch_msg_peer_down_t), R_NONE, 0, 0},
    {CH_TAG_PEER_MSG, "PEER_MSG", sizeof(ch_msg_peer_msg_t), R_REST, 0, 0},
    {CH_TAG_TRANSPORT_RESET, "TRANSPORT_RESET", 0, R_REST, 0, 0},
    {CH_TAG_SEND, "SEND", sizeof(ch_msg_send_t), R_REST, 0, 0},
    {CH_TAG_SEND_LIST, "SEND_LIST", sizeof(ch_msg_send_list_t), R_LIST,
     offsetof(ch_msg_send_list_t, npeers), 8},
    {CH_TAG_MISBEHAVE, "MISBEHAVE", sizeof(ch_msg_misbehave_t), R_NONE, 0, 0},
    {CH_TAG_TX_SUBMIT, "TX_SUBMIT", sizeof(ch_msg_tx_submit_t), R_COUNTED,
     offsetof(ch_msg_tx_submit_t, len), 1},
    {CH_TAG_TX_REQUEST, "TX_REQUEST", sizeof(ch_msg_tx_request_t), R_NONE, 0, 0},
    {CH_TAG_BLOCK, "BLOCK", sizeof(ch_msg_block_t), R_COUNTED, offsetof(ch_msg_block_t, ntx),
     CH_TXID_LEN},
    {CH_TAG_TX_ACCEPTED, "TX_ACCEPTED", sizeof(ch_msg_tx_accepted_t), R_NONE, 0, 0},
    {CH_TAG_TX_REJECTED, "TX_REJECTED", sizeof(ch_msg_tx_rejected_t), R_NONE, 0, 0},
    {CH_TAG_TX_DATA, "TX_DATA", sizeof(ch_msg_tx_data_t), R_COUNTED,
     offsetof(ch_msg_tx_data_t, len), 1},
    {CH_TAG_TX_NOTFOUND, "TX_NOTFOUND", sizeof(ch_msg_tx_request_t), R_NONE, 0, 0},
    {CH_TAG_TX_REMOVED, "TX_REMOVED", sizeof(ch_msg_tx_removed_t), R_NONE, 0, 0},
};

_Static_assert(sizeof(((ch_msg_t *)0)->m) >= sizeof(ch_msg_peer_up_t), "the union holds them all");

static const rec_rule_t *rule_of(uint32_t tag)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].tag == tag)
			return &rules[i];
	return NULL;
}

const char *ch_msg_tag_name(uint32_t tag)
{
	const rec_rule_t *r = rule_of(tag);
	return r ? r->name : "UNKNOWN";
}

/* terminate: text fields a producer wrote are NUL-terminated in the copy,
 * whatever the producer left there. */
static void terminate(ch_msg_t *out)
{
	switch (out->tag) {
	case CH_TAG_PEER_UP:
		out->m.peer_up.addr[sizeof(out->m.peer_up.addr) - 1] = 0;
		break;
	case CH_TAG_PEER_DOWN:
		out->m.peer_down.reason[sizeof(out->m.peer_down.reason) - 1] = 0;
		break;
	case CH_TAG_MISBEHAVE:
		out->m.misbehave.reason[sizeof(out->m.misbehave.reason) - 1] = 0;
		break;
	default:
		break;
	}
}

/* ch_msg_view: sizes are checked before anything is copied; counts are
 * widened to 64 bits so a hostile count cannot wrap. */
int ch_msg_view(uint32_t tag, const void *data, uint32_t size, ch_msg_t *out)
{
	const rec_rule_t *r = rule_of(tag);
	const uint8_t *p = data;
	uint64_t counted = 0;
	uint32_t rest;

	memset(out, 0, sizeof(*out));
	out->tag = tag;
	if (r == NULL || size < r->fixed)
		return CH_EPROTO;
	memcpy(&out->m, p, r->fixed);
	terminate(out);
	rest = size - r->fixed;
	if (r->rule == R_COUNTED || r->rule == R_LIST) {
		uint32_t count;
		memcpy(&count, (const uint8_t *)&out->m + r->count_at, sizeof(count));
		counted = (uint64_t)count * r->unit;
	}
	switch (r->rule) {
	case R_NONE:
		if (rest != 0)
			return CH_ERANGE;
		break;
	case R_REST:
		break;
	case R_COUNTED:
		if (counted != rest)
			return CH_ERANGE;
		break;
	case R_LIST:
		if (counted > rest)
			return CH_ERANGE;
		out->list = p + r->fixed;
		break;
	}
	if (r->rule != R_NONE) {
		out->body = p + r->fixed + (r->rule == R_LIST ? counted : 0);
		out->body_len = rest - (uint32_t)(r->rule == R_LIST ? counted : 0);
	}
	return 0;
}
