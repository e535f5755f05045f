/* test_proto_msgs.c: the validating view of ring records
 * (proto/msgs.h): every tag at its exact size, one byte short and one byte
 * long; counted parts that disagree with the record (a hostile count that
 * would wrap 32 bits included); SEND_LIST's handles and payload apart;
 * text fields NUL-terminated in the copy; unknown tags; records at an odd
 * address (UBSan checks alignment); a seeded loop of random records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "msgs.h"
#include "wire.h"

/* Each fixed-size tag and its struct's size. */
static const struct {
	uint32_t tag;
	uint32_t size;
} fixed[] = {
    {CH_TAG_PEER_UP, sizeof(ch_msg_peer_up_t)},
    {CH_TAG_PEER_DOWN, sizeof(ch_msg_peer_down_t)},
    {CH_TAG_MISBEHAVE, sizeof(ch_msg_misbehave_t)},
    {CH_TAG_TX_REQUEST, sizeof(ch_msg_tx_request_t)},
    {CH_TAG_TX_ACCEPTED, sizeof(ch_msg_tx_accepted_t)},
    {CH_TAG_TX_REJECTED, sizeof(ch_msg_tx_rejected_t)},
    {CH_TAG_TX_NOTFOUND, sizeof(ch_msg_tx_request_t)},
    {CH_TAG_TX_REMOVED, sizeof(ch_msg_tx_removed_t)},
};

static uint8_t buf[4096 + 1];

static void test_fixed(void **state)
{
	(void)state;
	ch_msg_t v;
	uint8_t *odd = buf + 1; /* never aligned */
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		memset(buf, 0xab, sizeof(buf));
		assert_int_equal(ch_msg_view(fixed[i].tag, odd, fixed[i].size, &v), 0);
		assert_int_equal(v.tag, fixed[i].tag);
		assert_null(v.body);
		assert_int_equal(v.body_len, 0);
		assert_memory_equal(&v.m, odd, 8); /* the struct is copied */
		assert_int_equal(ch_msg_view(fixed[i].tag, odd, fixed[i].size - 1, &v), CH_EPROTO);
		assert_int_equal(ch_msg_view(fixed[i].tag, odd, fixed[i].size + 1, &v), CH_ERANGE);
		assert_int_equal(ch_msg_view(fixed[i].tag, odd, 0, &v), CH_EPROTO);
		assert_string_not_equal(ch_msg_tag_name(fixed[i].tag), "UNKNOWN");
	}
	/* text fields end with a NUL whatever the producer wrote */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(ch_msg_view(CH_TAG_PEER_UP, odd, sizeof(ch_msg_peer_up_t), &v), 0);
	assert_int_equal(strlen(v.m.peer_up.addr), sizeof(v.m.peer_up.addr) - 1);
	assert_int_equal(ch_msg_view(CH_TAG_PEER_DOWN, odd, sizeof(ch_msg_peer_down_t), &v), 0);
	assert_int_equal(strlen(v.m.peer_down.reason), sizeof(v.m.peer_down.reason) - 1);
	assert_int_equal(ch_msg_view(CH_TAG_MISBEHAVE, odd, sizeof(ch_msg_misbehave_t), &v), 0);
	assert_int_equal(strlen(v.m.misbehave.reason), sizeof(v.m.misbehave.reason) - 1);
	/* tags no ring carries */
	assert_int_equal(ch_msg_view(0, odd, 64, &v), CH_EPROTO);
	assert_int_equal(ch_msg_view(13, odd, 64, &v), CH_EPROTO);
	assert_int_equal(ch_msg_view(UINT32_MAX, odd, 64, &v), CH_EPROTO);
	assert_string_equal(ch_msg_tag_name(99), "UNKNOWN");
	assert_string_equal(ch_msg_tag_name(CH_TAG_SEND_LIST), "SEND_LIST");
}

static void test_variable(void **state)
{
	(void)state;
	ch_msg_t v;
	uint8_t *odd = buf + 1;
	/* PEER_MSG and SEND: any payload after the struct */
	ch_msg_peer_msg_t pm = {.peer = 7, .type = WIRE_INV};
	memcpy(odd, &pm, sizeof(pm));
	memcpy(odd + sizeof(pm), "hello", 5);
	assert_int_equal(ch_msg_view(CH_TAG_PEER_MSG, odd, sizeof(pm) + 5, &v), 0);
	assert_int_equal(v.m.peer_msg.peer, 7);
	assert_int_equal(v.body_len, 5);
	assert_memory_equal(v.body, "hello", 5);
	assert_int_equal(ch_msg_view(CH_TAG_PEER_MSG, odd, sizeof(pm), &v), 0);
	assert_int_equal(v.body_len, 0);
	assert_int_equal(ch_msg_view(CH_TAG_SEND, odd, sizeof(ch_msg_send_t) - 1, &v), CH_EPROTO);
	assert_int_equal(ch_msg_view(CH_TAG_TRANSPORT_RESET, odd, 1, &v), 0);
	/* TX_SUBMIT: exactly len bytes of encoding */
	ch_msg_tx_submit_t ts = {.peer = 3, .len = 100};
	memcpy(odd, &ts, sizeof(ts));
	assert_int_equal(ch_msg_view(CH_TAG_TX_SUBMIT, odd, sizeof(ts) + 100, &v), 0);
	assert_ptr_equal(v.body, odd + sizeof(ts));
	assert_int_equal(v.body_len, 100);
	assert_int_equal(ch_msg_view(CH_TAG_TX_SUBMIT, odd, sizeof(ts) + 99, &v), CH_ERANGE);
	assert_int_equal(v.m.tx_submit.peer, 3); /* the struct is there to answer */
	assert_int_equal(ch_msg_view(CH_TAG_TX_SUBMIT, odd, sizeof(ts) + 101, &v), CH_ERANGE);
	/* TX_DATA likewise */
	ch_msg_tx_data_t td = {.peer = 4, .len = 10};
	memcpy(odd, &td, sizeof(td));
	assert_int_equal(ch_msg_view(CH_TAG_TX_DATA, odd, sizeof(td) + 10, &v), 0);
	assert_int_equal(ch_msg_view(CH_TAG_TX_DATA, odd, sizeof(td) + 11, &v), CH_ERANGE);
	/* BLOCK: ntx * 32 bytes of ids; a count that would wrap 32 bits */
	ch_msg_block_t bl = {.height = 9, .ntx = 3};
	memcpy(odd, &bl, sizeof(bl));
	assert_int_equal(ch_msg_view(CH_TAG_BLOCK, odd, sizeof(bl) + 96, &v), 0);
	assert_int_equal(v.body_len, 96);
	assert_int_equal(ch_msg_view(CH_TAG_BLOCK, odd, sizeof(bl) + 64, &v), CH_ERANGE);
	bl.ntx = 0x08000001u; /* * 32 = 2^32 + 32: 32 if it wrapped */
	memcpy(odd, &bl, sizeof(bl));
	assert_int_equal(ch_msg_view(CH_TAG_BLOCK, odd, sizeof(bl) + 32, &v), CH_ERANGE);
	/* SEND_LIST: npeers handles, then the payload */
	ch_msg_send_list_t sl = {.type = WIRE_BLOCK, .npeers = 2};
	memcpy(odd, &sl, sizeof(sl));
	uint64_t h[2] = {11, 12};
	memcpy(odd + sizeof(sl), h, sizeof(h));
	memcpy(odd + sizeof(sl) + sizeof(h), "blk", 3);
	assert_int_equal(ch_msg_view(CH_TAG_SEND_LIST, odd, sizeof(sl) + 16 + 3, &v), 0);
	assert_ptr_equal(v.list, odd + sizeof(sl));
	assert_ptr_equal(v.body, odd + sizeof(sl) + 16);
	assert_int_equal(v.body_len, 3);
	assert_int_equal(ch_msg_view(CH_TAG_SEND_LIST, odd, sizeof(sl) + 16, &v), 0);
	assert_int_equal(v.body_len, 0);
	assert_int_equal(ch_msg_view(CH_TAG_SEND_LIST, odd, sizeof(sl) + 15, &v), CH_ERANGE);
	sl.npeers = UINT32_MAX;
	memcpy(odd, &sl, sizeof(sl));
	assert_int_equal(ch_msg_view(CH_TAG_SEND_LIST, odd, 4000, &v), CH_ERANGE);
}

/* Random records: whatever the view accepts lies inside the record. */
static void test_random(void **state)
{
	(void)state;
	static const uint32_t tags[] = {1, 2, 3, 4, 10, 11, 12, 20, 21, 22, 30, 31, 32, 33, 34, 5};
	uint64_t x = 0x853c49e6748fea9bull;
	for (int round = 0; round < 100000; round++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint32_t size = (uint32_t)(x % 300);
		uint8_t *rec = malloc(size ? size : 1);
		for (uint32_t i = 0; i < size; i++)
			rec[i] = (uint8_t)(x >> (i % 56)) & (i % 7 ? 0x03 : 0xff);
		ch_msg_t v;
		int rc = ch_msg_view(tags[(x >> 20) % 16], rec, size, &v);
		if (rc == 0 && v.body) {
			assert_true(v.body >= rec && v.body + v.body_len <= rec + size);
			if (v.list)
				assert_true(v.list >= rec && v.list <= v.body);
		}
		free(rec);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixed),
	    cmocka_unit_test(test_variable),
	    cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
