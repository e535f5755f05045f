#!/usr/bin/env bash
# Blocks: a block produced at one node (chorusctl block submit --top N,
# signed with its identity) reaches every node of a 5-node line as a
# compact block, is rebuilt there from the pool, and removes its
# transactions from every pool; a node that lacks some of the block's
# transactions (it joined after they were relayed) asks for exactly the
# missing ids and completes the block; an explicit id list with --height
# and --prev; bad arguments; PUB events for blocks received.
. "$(dirname "$0")/lib.sh"
MON=$BIN/chorus-mon

N=5
for ((i = 0; i < N; i++)); do
	start_node n$i --listen 127.0.0.1:$((PORT_BASE + i)) --max-outbound 0
done
for ((i = 0; i < N; i++)); do
	wait_until 30 node_running n$i || fail "n$i did not start"
done
# the line as operator connections (discovery adds no full-relay peers
# with --max-outbound 0; block-relay-only links it may add carry no
# transactions)
edge_up() {
	ctl "n$1" --json peers | grep -o '{[^{}]*}' |
		grep "\"addr\":\"127.0.0.1:$((PORT_BASE + $2))\"" | grep -qE '"(kind|direction)":"outbound"'
}
for ((i = 1; i < N; i++)); do
	ctl n$i connect 127.0.0.1:$((PORT_BASE + i - 1)) >/dev/null || fail "connect n$i"
done
for ((i = 1; i < N; i++)); do
	wait_until 30 edge_up $i $((i - 1)) || fail "n$i is not in the line"
done

rstat() {
	ctl "$1" --json status relay | grep -o "\"$2\":[0-9]*" | head -1 | cut -d: -f2
}
LINE=(n0 n1 n2 n3 n4)

ctl n0 tx submit --random --count 30 >/dev/null || fail "submit"
wait_until 20 all_pools 30 "${LINE[@]}" || fail "the 30 transactions did not reach every pool"

# watch block events at the far end
# relay's metrics (one a second) share the subscription's connection: the
# first one seen proves the block subscription is in place too.
"$MON" --datadir "$T/n4" --json --filter metrics.relay --filter event.relay.block --duration 120 \
	>"$T/events.out" 2>&1 &
MON_PID=$!
wait_for 15 "chorus-mon's first relay metrics" file_has "$T/events.out" '"topic":"metrics\.relay"'

out=$(ctl n2 block submit --top 10) || fail "block submit: $out"
echo "$out" | grep -qE '^block [0-9a-f]{64} height 1: 10 txs, [0-9]+ bytes \(compact [0-9]+\), relayed to [2-9] peers$' ||
	fail "unexpected block submit output: $out"
B1=$(echo "$out" | awk '{ print $2 }')
wait_until 20 all_pools 20 "${LINE[@]}" || fail "the block's transactions did not leave every pool"
for n in "${LINE[@]}"; do
	[ "$(rstat $n blocks_accepted)" -eq 1 ] || fail "$n did not accept the block"
	[ "$(rstat $n tip_height)" -eq 1 ] || fail "$n's tip is not height 1"
done
for n in n0 n1 n3 n4; do
	[ "$(rstat $n cmpct_complete)" -eq 1 ] || fail "$n did not rebuild the compact block"
	[ "$(rstat $n cmpct_missing_ids)" -eq 0 ] || fail "$n asked for ids it had"
done
saved=$(rstat n2 cmpct_bytes_saved)
[ "$saved" -gt 0 ] || fail "no bytes saved by compact relay"
ok "block $B1 (10 txs) reached 5 nodes as compact blocks rebuilt from the pools; $saved bytes saved at the producer"

# n5 joins after the 20 remaining transactions were relayed.  Relay
# announces its pool to a peer that connects, so n5 hears of them; its
# higher minimum fee rate makes its own mempool refuse them: it lacks them
start_node n5 --listen 127.0.0.1:$((PORT_BASE + 5)) --max-outbound 0 --mempool-min-fee-rate 1000
wait_until 30 node_running n5 || fail "n5 did not start"
ctl n5 connect 127.0.0.1:$((PORT_BASE + 4)) >/dev/null || fail "connect n5"
wait_until 30 edge_up 5 4 || fail "n5 did not connect"
ctl n0 tx submit --random --count 5 --fee 2000000 >/dev/null || fail "submit 5"
wait_until 20 all_pools 25 "${LINE[@]}" || fail "5 more did not reach the line"
wait_until 20 all_pools 5 n5 || fail "n5 did not get the 5 new ones"
out=$(ctl n0 block submit --top 25) || fail "second block: $out"
B2=$(echo "$out" | awk '{ print $2 }')
wait_until 20 all_pools 0 "${LINE[@]}" n5 || fail "the second block did not empty every pool"
[ "$(rstat n5 blocks_accepted)" -eq 1 ] || fail "n5 did not accept the second block"
[ "$(rstat n5 cmpct_missing_ids)" -eq 20 ] || fail "n5 asked for $(rstat n5 cmpct_missing_ids) ids, not the 20 it lacked"
[ "$(rstat n5 tip_height)" -eq 2 ] || fail "n5's tip is not height 2"
ok "block $B2: n5 lacked 20 of its 25 transactions, asked n4 for exactly those, completed it"

two_blocks() { [ "$(grep -c '"topic":"event.relay.block_received"' "$T/events.out")" -ge 2 ]; }
wait_for 40 "two block_received events" two_blocks
kill -TERM $MON_PID
wait $MON_PID || fail "chorus-mon failed: $(cat "$T/events.out")"
[ "$(grep -c '"topic":"event.relay.block_received"' "$T/events.out")" -eq 2 ] ||
	fail "no block_received events: $(cat "$T/events.out")"
grep -q "\"id\":\"$B1\"" "$T/events.out" || fail "event lacks the block id"
ok "block_received events on PUB"

# explicit ids, height and prev; bad arguments
ctl n1 tx submit --random --count 3 --fee 2000000 >/dev/null || fail "submit 3"
wait_until 20 all_pools 3 "${LINE[@]}" || fail "3 more did not reach the line"
ids=$(ctl n1 --json mempool list --top 2 | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4)
out=$(ctl n3 block submit $ids --height 42 --prev "$B2") || fail "explicit block: $out"
echo "$out" | grep -q "height 42: 2 txs" || fail "explicit block: $out"
wait_until 20 all_pools 1 "${LINE[@]}" n5 || fail "the explicit block did not remove its 2 transactions"
ctl n3 block submit --top 3 0000 >/dev/null 2>&1
[ $? -eq 64 ] || fail "bad arguments are not a usage error"
ctl n3 block submit --prev zz >/dev/null 2>&1
[ $? -eq 64 ] || fail "a bad --prev is not a usage error"
ok "block submit ID... --height --prev; usage errors"

for n in n0 n1 n2 n3 n4 n5; do
	eval "kill -TERM \$PID_$n"
done
for n in n0 n1 n2 n3 n4 n5; do
	eval "wait \$PID_$n" || fail "$n did not stop cleanly"
done
