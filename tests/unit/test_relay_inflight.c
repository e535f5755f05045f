/* test_relay_inflight.c: the requests in flight (services/relay/inflight.h):
 * outbound preference, timeouts moving a request to the next announcer,
 * NOTFOUND, dropping when nobody is left, the per-peer cap with waiting
 * and pumping (a delivery frees a slot before the verdict), the per-peer
 * announcement cap, a full table, peers going
 * down, and a seeded random loop that checks the bookkeeping invariants
 * (in-flight counts equal ASKED entries, lists consistent, bounds hold). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "services/relay/inflight.h"

#define MS 1000000ULL
static const uint8_t key[RL_KEY_LEN] = {7};

static void id_of(uint64_t n, uint8_t id[32])
{
	memset(id, 0, 32);
	memcpy(id, &n, 8);
}

static rl_trk_res_t announce(rl_trk_t *t, uint64_t n, uint16_t slot, uint64_t now)
{
	uint8_t id[32];
	id_of(n, id);
	return rl_trk_announce(t, id, rl_hash_id(key, id), slot, now);
}

static int done(rl_trk_t *t, uint64_t n, uint64_t now)
{
	uint8_t id[32];
	id_of(n, id);
	return rl_trk_done(t, id, rl_hash_id(key, id), now);
}

static bool notfound(rl_trk_t *t, uint64_t n, uint16_t slot, uint64_t now)
{
	uint8_t id[32];
	id_of(n, id);
	return rl_trk_notfound(t, id, rl_hash_id(key, id), slot, now);
}

/* asked: the live requests taken since the last call, as (slot, n) pairs
 * counted into per-slot totals; returns how many. */
static uint32_t taken(rl_trk_t *t, uint32_t per_slot[8], uint64_t *last_n)
{
	uint32_t n, live = 0;
	const rl_trk_out_t *o = rl_trk_take(t, &n);
	if (per_slot)
		memset(per_slot, 0, 8 * sizeof(uint32_t));
	for (uint32_t i = 0; i < n; i++) {
		if (!rl_trk_live(t, &o[i]))
			continue;
		live++;
		if (per_slot)
			per_slot[o[i].slot]++;
		if (last_n)
			memcpy(last_n, rl_trk_id(t, o[i].idx), 8);
	}
	rl_trk_take_done(t);
	return live;
}

static void test_args(void **state)
{
	(void)state;
	rl_trk_t t;
	assert_int_equal(rl_trk_init(&t, 0, 4, 1, 1, MS), CH_EINVAL);
	assert_int_equal(rl_trk_init(&t, 4, 0, 1, 1, MS), CH_EINVAL);
	assert_int_equal(rl_trk_init(&t, 4, 4, 0, 1, MS), CH_EINVAL);
	assert_int_equal(rl_trk_init(&t, 4, 4, 1, 1, MS), 0);
	assert_int_equal(announce(&t, 1, 0, 0), RL_TRK_KNOWN); /* slot 0 is not up */
	assert_int_equal(announce(&t, 1, 9, 0), RL_TRK_KNOWN); /* no such slot */
	rl_trk_free(&t);
	rl_trk_free(&t);
}

/* Two announcers in one turn: the outbound one is asked even though the
 * inbound one announced first; after the timeout the inbound one is; after
 * its timeout nobody is left and the entry is dropped. */
static void test_outbound_timeout_drop(void **state)
{
	(void)state;
	rl_trk_t t;
	uint32_t per[8];
	assert_int_equal(rl_trk_init(&t, 16, 4, 10, 10, 1000 * MS), 0);
	rl_trk_peer_up(&t, 1, false); /* inbound */
	rl_trk_peer_up(&t, 2, true);  /* outbound */
	assert_int_equal(announce(&t, 42, 1, 0), RL_TRK_NEW);
	assert_int_equal(announce(&t, 42, 2, 0), RL_TRK_ADDED);
	assert_int_equal(announce(&t, 42, 2, 0), RL_TRK_KNOWN);
	rl_trk_schedule(&t, 0);
	assert_int_equal(taken(&t, per, NULL), 1);
	assert_int_equal(per[2], 1);
	assert_int_equal(t.peer[2].inflight, 1);
	assert_int_equal(rl_trk_deadline(&t), 1000 * MS);
	assert_int_equal(rl_trk_expire(&t, 999 * MS), 0);
	assert_int_equal(rl_trk_expire(&t, 1000 * MS), 1);
	assert_int_equal(taken(&t, per, NULL), 1);
	assert_int_equal(per[1], 1);
	assert_int_equal(t.peer[2].inflight, 0);
	assert_int_equal(t.peer[2].failed, 1);
	assert_int_equal(rl_trk_expire(&t, 2000 * MS), 1);
	assert_int_equal(taken(&t, NULL, NULL), 0);
	assert_int_equal(rl_trk_count(&t), 0);
	assert_int_equal(t.st.dropped, 1);
	assert_int_equal(t.peer[1].announced, 0);
	/* announced again later: a new entry */
	assert_int_equal(announce(&t, 42, 1, 3000 * MS), RL_TRK_NEW);
	rl_trk_free(&t);
}

/* The transaction arrives: the entry is freed and a later answer from an
 * alternative does nothing; NOTFOUND moves on to the next announcer. */
static void test_done_and_notfound(void **state)
{
	(void)state;
	rl_trk_t t;
	uint32_t per[8];
	assert_int_equal(rl_trk_init(&t, 16, 4, 10, 10, 1000 * MS), 0);
	rl_trk_peer_up(&t, 1, true);
	rl_trk_peer_up(&t, 2, true);
	announce(&t, 1, 1, 0);
	announce(&t, 1, 2, 0);
	announce(&t, 2, 1, 0);
	announce(&t, 2, 2, 0);
	rl_trk_schedule(&t, 0);
	assert_int_equal(taken(&t, per, NULL), 2);
	assert_int_equal(per[1] + per[2], 2);
	int asked = done(&t, 1, 1);
	assert_true(asked == 1 || asked == 2);
	assert_int_equal(done(&t, 1, 2), -1);
	/* id 2 asked of someone: the other is no NOTFOUND source */
	uint16_t who = t.peer[1].inflight ? 1 : 2, other = who == 1 ? 2 : 1;
	assert_false(notfound(&t, 2, other, 3));
	assert_true(notfound(&t, 2, who, 3));
	assert_int_equal(taken(&t, per, NULL), 1);
	assert_int_equal(per[other], 1);
	assert_true(notfound(&t, 2, other, 4));
	assert_int_equal(rl_trk_count(&t), 0);
	rl_trk_free(&t);
}

/* A peer with peer_cap requests outstanding: further entries wait on it
 * and are asked as answers come in; a second announcer with room takes a
 * waiting entry at once. */
/* asked_slot: the slot of the one live request taken (-1: none). */
static int asked_slot(rl_trk_t *t)
{
	uint32_t n;
	int slot = -1;
	const rl_trk_out_t *o = rl_trk_take(t, &n);
	for (uint32_t i = 0; i < n; i++)
		if (rl_trk_live(t, &o[i]))
			slot = o[i].slot;
	rl_trk_take_done(t);
	return slot;
}

/* Sybils that announce first and never deliver cannot hide an honest
 * announcer: four of them leave room for a fifth announcer, which is
 * asked once they time out; with a full entry (eight) an outbound peer
 * takes the place of the youngest untried inbound one, and anyone takes
 * the place of one that already failed; a younger inbound newcomer does
 * not push out older untried ones. */
static void test_sybils(void **state)
{
	(void)state;
	rl_trk_t t;
	assert_int_equal(rl_trk_init(&t, 16, 32, 10, 10, 1000 * MS), 0);
	for (uint16_t s = 1; s <= 4; s++)
		rl_trk_peer_up(&t, s, false); /* sybils, connected first */
	rl_trk_peer_up(&t, 5, false);         /* honest, inbound */
	for (uint16_t s = 1; s <= 4; s++)
		announce(&t, 42, s, 0);
	assert_int_equal(announce(&t, 42, 5, 0), RL_TRK_ADDED);
	rl_trk_schedule(&t, 0);
	bool honest_asked = false;
	uint64_t now = 0;
	for (int round = 0; round < 5 && !honest_asked; round++) {
		int s = asked_slot(&t);
		assert_true(s >= 1);
		honest_asked = s == 5;
		now += 1000 * MS;
		rl_trk_expire(&t, now);
	}
	assert_true(honest_asked);
	rl_trk_free(&t);

	/* a full entry: eight inbound sybils (slots 11..18) */
	assert_int_equal(rl_trk_init(&t, 16, 32, 10, 10, 1000 * MS), 0);
	rl_trk_peer_up(&t, 1, true); /* honest outbound, connected first */
	for (uint16_t s = 11; s <= 18; s++)
		rl_trk_peer_up(&t, s, false);
	rl_trk_peer_up(&t, 20, false); /* a younger inbound one */
	rl_trk_peer_up(&t, 21, false); /* and another */
	for (uint16_t s = 11; s <= 18; s++)
		announce(&t, 7, s, 0);
	rl_trk_schedule(&t, 0);
	int first = asked_slot(&t);
	assert_true(first >= 11 && first <= 18);
	assert_int_equal(announce(&t, 7, 20, 0), RL_TRK_KNOWN); /* ranks below all */
	assert_int_equal(announce(&t, 7, 1, 0), RL_TRK_ADDED);  /* outbound: replaces */
	assert_int_equal(t.st.replaced, 1);
	rl_trk_expire(&t, 1000 * MS);
	assert_int_equal(asked_slot(&t), 1); /* outbound preferred */
	/* the sybil asked first failed: its place can go to anyone */
	assert_int_equal(announce(&t, 7, 21, 1000 * MS), RL_TRK_ADDED);
	assert_int_equal(t.st.replaced, 2);
	rl_trk_free(&t);
}

static void test_peer_cap_and_pump(void **state)
{
	(void)state;
	rl_trk_t t;
	uint32_t per[8];
	assert_int_equal(rl_trk_init(&t, 64, 4, 3, 100, 1000 * MS), 0);
	rl_trk_peer_up(&t, 1, true);
	rl_trk_peer_up(&t, 2, false);
	for (uint64_t i = 0; i < 5; i++)
		announce(&t, i, 1, 0);
	rl_trk_schedule(&t, 0);
	assert_int_equal(taken(&t, per, NULL), 3);
	assert_int_equal(t.peer[1].inflight, 3);
	assert_int_equal(t.peer[1].wait_head != 0, 1);
	/* the verdict alone frees nothing: the delivery does, before it */
	done(&t, 0, 1);
	assert_int_equal(taken(&t, per, NULL), 0);
	assert_true(rl_trk_delivered(&t, 1, 1));
	assert_int_equal(taken(&t, per, NULL), 1);
	assert_int_equal(per[1], 1);
	assert_false(rl_trk_delivered(&t, 2, 1)); /* nothing asked of 2: unrequested */
	uint64_t n = 99;
	/* id 4 still waits on peer 1: peer 2 announces it and gets it */
	assert_int_equal(announce(&t, 4, 2, 2), RL_TRK_ADDED);
	assert_int_equal(taken(&t, per, &n), 1);
	assert_int_equal(per[2], 1);
	assert_int_equal(n, 4);
	assert_int_equal(t.peer[1].wait_head, 0);
	rl_trk_free(&t);
}

/* A peer may create at most announce_cap entries; the table as a whole
 * at most cap. */
static void test_caps(void **state)
{
	(void)state;
	rl_trk_t t;
	assert_int_equal(rl_trk_init(&t, 8, 4, 100, 5, 1000 * MS), 0);
	rl_trk_peer_up(&t, 1, true);
	rl_trk_peer_up(&t, 2, true);
	for (uint64_t i = 0; i < 5; i++)
		assert_int_equal(announce(&t, i, 1, 0), RL_TRK_NEW);
	assert_int_equal(announce(&t, 5, 1, 0), RL_TRK_PEER_FULL);
	for (uint64_t i = 10; i < 13; i++)
		assert_int_equal(announce(&t, i, 2, 0), RL_TRK_NEW);
	assert_int_equal(announce(&t, 13, 2, 0), RL_TRK_FULL);
	assert_int_equal(t.st.full, 1);
	assert_int_equal(t.st.peer_full, 1);
	rl_trk_free(&t);
}

/* A peer goes down: what was asked of it or waits on it goes to the other
 * announcer; its own entries no longer count against the slot. */
static void test_peer_down(void **state)
{
	(void)state;
	rl_trk_t t;
	uint32_t per[8];
	assert_int_equal(rl_trk_init(&t, 64, 4, 2, 100, 1000 * MS), 0);
	rl_trk_peer_up(&t, 1, true);
	rl_trk_peer_up(&t, 2, false);
	for (uint64_t i = 0; i < 4; i++)
		announce(&t, i, 1, 0);
	announce(&t, 0, 2, 0);
	announce(&t, 3, 2, 0);
	rl_trk_schedule(&t, 0);
	taken(&t, NULL, NULL);
	rl_trk_peer_down(&t, 1, 5);
	/* 3 was asked of peer 2 already (peer 1 was at its cap); 0 moves to
	 * peer 2; 1 and 2 had nobody else: dropped */
	assert_int_equal(taken(&t, per, NULL), 1);
	assert_int_equal(per[2], 1);
	assert_int_equal(t.peer[2].inflight, 2);
	assert_int_equal(rl_trk_count(&t), 2);
	assert_int_equal(t.peer[1].announced, 0);
	rl_trk_peer_up(&t, 1, true);
	assert_int_equal(t.peer[1].announced, 0);
	done(&t, 0, 6);
	done(&t, 3, 6);
	assert_int_equal(t.peer[1].announced, 0); /* not decremented below 0 */
	assert_int_equal(rl_trk_count(&t), 0);
	rl_trk_free(&t);
}

/* check: the invariants of the tracker's bookkeeping. */
static void check(const rl_trk_t *t, uint32_t npeers)
{
	uint32_t asked[8] = {0}, announced[8] = {0}, used = 0;
	for (uint32_t i = 0; i < t->tab.cap; i++) {
		if (!t->tab.ent[i].used)
			continue;
		used++;
		const rl_req_t *r = &t->req[i];
		assert_true(r->state >= RL_REQ_FRESH && r->state <= RL_REQ_ASKED);
		assert_true(r->nann >= 1 && r->nann <= RL_ALT_MAX);
		if (r->state == RL_REQ_ASKED)
			asked[r->peer]++;
		if (r->counted)
			announced[r->ann[0]]++;
	}
	assert_int_equal(used, t->tab.n);
	for (uint32_t s = 0; s < npeers; s++) {
		if (!t->peer[s].up)
			continue;
		assert_int_equal(t->peer[s].inflight, asked[s]);
		assert_int_equal(t->peer[s].announced, announced[s]);
		assert_true(t->peer[s].outstanding <= t->peer_cap);
		/* its wait list is well linked and holds WAITING entries on it */
		uint32_t prev = 0;
		for (uint32_t e = t->peer[s].wait_head; e; e = t->req[e - 1].next) {
			assert_int_equal(t->req[e - 1].prev, prev);
			assert_int_equal(t->req[e - 1].state, RL_REQ_WAITING);
			assert_int_equal(t->req[e - 1].peer, s);
			prev = e;
		}
		assert_int_equal(t->peer[s].wait_tail, prev);
	}
	/* the asked FIFO is in deadline order */
	uint64_t last = 0;
	for (uint32_t e = t->asked_head; e; e = t->req[e - 1].next) {
		assert_true(t->req[e - 1].asked_ns >= last);
		last = t->req[e - 1].asked_ns;
	}
}

static void test_random(void **state)
{
	(void)state;
	rl_trk_t t;
	uint64_t rng = 12345, now = 0;
	assert_int_equal(rl_trk_init(&t, 256, 8, 5, 80, 50 * MS), 0);
	for (uint16_t s = 0; s < 8; s++)
		rl_trk_peer_up(&t, s, s % 2);
	for (int step = 0; step < 200000; step++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		uint32_t r = (uint32_t)(rng >> 33);
		uint64_t id = r % 400;
		uint16_t slot = (uint16_t)((r >> 9) % 8);
		now += (r >> 20) % 3 * MS;
		switch ((r >> 12) % 9) {
		case 0:
		case 1:
		case 2:
			if (t.peer[slot].up)
				announce(&t, id, slot, now);
			break;
		case 3:
			rl_trk_schedule(&t, now);
			break;
		case 4:
			done(&t, id, now);
			break;
		case 5:
			if ((r >> 26) % 2)
				notfound(&t, id, slot, now);
			else
				rl_trk_delivered(&t, slot, now);
			break;
		case 6:
			rl_trk_expire(&t, now);
			break;
		case 7:
			if ((r >> 24) % 50 == 0) {
				if (t.peer[slot].up)
					rl_trk_peer_down(&t, slot, now);
				else
					rl_trk_peer_up(&t, slot, slot % 2);
			}
			break;
		default:
			taken(&t, NULL, NULL);
			break;
		}
		if (step % 97 == 0)
			check(&t, 8);
	}
	rl_trk_schedule(&t, now);
	check(&t, 8);
	rl_trk_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_args),
	    cmocka_unit_test(test_outbound_timeout_drop),
	    cmocka_unit_test(test_sybils),
	    cmocka_unit_test(test_done_and_notfound),
	    cmocka_unit_test(test_peer_cap_and_pump),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_peer_down),
	    cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
