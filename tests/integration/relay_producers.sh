#!/usr/bin/env bash
# Who may produce blocks: n0 - n1 - n2 in a line whose nodes list n0's key
# as the only producer (n1, n2 by --producer, n0 by `producers set` at run
# time); f, a node with its own key and no producer set, is connected to
# n1 and forges blocks with `block submit`.
#   1. f's block (5 pooled ids and the id of a transaction not yet sent)
#      changes nothing on n0..n2: every pool keeps its 10 transactions, n1
#      relays nothing, f is scored; n0's block is accepted and relayed.
#   2. the forged block censors nothing: the transaction whose id it
#      listed, submitted afterwards at n2, reaches n0, n1 and n2.
#   3. `producers add` / `remove` take effect at once and survive a kill -9
#      of relay (DATADIR/producers, which wins over --producer).
#   4. block submit on n2 (not a producer) is refused with the error.
# Also: a malformed --producer is refused at start.
# On the code before the producer set, step 1 fails (n1 accepts the forged
# block: the pools drop to 5 and it is relayed), and so would step 2 (the
# listed id sits in every seen-cache, so n1 never fetches it); steps 3 and
# 4 fail since there is no producer set.
. "$(dirname "$0")/lib.sh"

key_of() {
	ctl "$1" --json status | grep -o '"pubkey": *"[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}' | head -1
}
rstat() {
	ctl "$1" --json status relay | grep -o "\"$2\":[0-9]*" | head -1 | cut -d: -f2
}
rstr() {
	ctl "$1" --json status relay | grep -o "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4
}
# points_of NODE PUBKEY: relay's misbehaviour points for that peer.
points_of() {
	ctl "$1" --json relay peers | grep -o '{[^{}]*}' | grep "\"pubkey\":\"$2\"" |
		grep -o '"points":[0-9]*' | cut -d: -f2
}
edge_up() {
	ctl "$1" --json peers | grep -o '{[^{}]*}' |
		grep "\"addr\":\"127.0.0.1:$2\"" | grep -qE '"(kind|direction)":"outbound"'
}
top_ids() {
	ctl "$1" --json mempool list --top "$2" | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4
}
LINE=(n0 n1 n2)

# a malformed key is refused at start, naming the key
out=$("$CHORUSD" --datadir "$T/bad" --producer 1234 --print-config 2>&1)
[ $? -eq 78 ] || fail "a malformed producer key was not refused: $out"
echo "$out" | grep -q 'producer: "1234" is not a public key' || fail "refusal: $out"
ok "a malformed --producer is refused at start (exit 78)"

start_node n0 --listen 127.0.0.1:$PORT_BASE --max-outbound 0
wait_until 30 node_running n0 || fail "n0 did not start"
P0=$(key_of n0)
[ -n "$P0" ] || fail "no key for n0"
start_node n1 --listen 127.0.0.1:$((PORT_BASE + 1)) --max-outbound 0 --producer "$P0"
start_node n2 --listen 127.0.0.1:$((PORT_BASE + 2)) --max-outbound 0 --producer "$P0"
start_node f --listen 127.0.0.1:$((PORT_BASE + 3)) --max-outbound 0
# mk makes the transaction the forged block lists; its own network keeps
# it away from the others
start_node mk --listen 127.0.0.1:$((PORT_BASE + 4)) --max-outbound 0 --network elsewhere
for n in n1 n2 f mk; do
	wait_until 30 node_running $n || fail "$n did not start"
done
PF=$(key_of f)
out=$(ctl n0 producers set "$P0") || fail "producers set on n0: $out"
echo "$out" | grep -q "^1 producers (from the producers file)" || fail "producers set: $out"
echo "$out" | grep -qx "$P0" || fail "producers set does not list n0's key: $out"
ctl n1 producers list | grep -q "^1 producers (from the configuration)" || fail "n1's set"
[ "$(rstr n1 block_rule)" = producers ] || fail "n1's status: block_rule $(rstr n1 block_rule)"
[ "$(rstr f block_rule)" = any-key ] || fail "f's status: block_rule $(rstr f block_rule)"
log_has f "WARN .*no block producers configured" || fail "f did not warn about its open pool"
log_has n1 "no block producers configured" && fail "n1 warned though it has a producer"
ok "producers from --producer and from producers set; f (none) warns and says block_rule any-key"

ctl n1 connect 127.0.0.1:$PORT_BASE >/dev/null || fail "connect n1"
ctl n2 connect 127.0.0.1:$((PORT_BASE + 1)) >/dev/null || fail "connect n2"
ctl f connect 127.0.0.1:$((PORT_BASE + 1)) >/dev/null || fail "connect f"
wait_until 30 edge_up n1 $PORT_BASE || fail "n1 - n0"
wait_until 30 edge_up n2 $((PORT_BASE + 1)) || fail "n2 - n1"
wait_until 30 edge_up f $((PORT_BASE + 1)) || fail "f - n1"

ctl n0 tx submit --random --count 10 >/dev/null || fail "submit"
wait_until 20 all_pools 10 "${LINE[@]}" f || fail "the 10 transactions did not reach every pool"

# the transaction the forged block will name before it exists anywhere
ctl mk tx submit --random --count 1 >/dev/null || fail "mk submit"
TID=$(top_ids mk 1)
THEX=$(ctl mk --json tx get "$TID" | grep -o '"tx":"[0-9a-f]*"' | cut -d'"' -f4)
[ -n "$THEX" ] || fail "no transaction from mk"

# --- 1. a forged block changes nothing
out=$(ctl f block submit $(top_ids f 5) "$TID") || fail "f's block submit: $out"
echo "$out" | grep -q "6 txs" || fail "f's block: $out"
wait_for 20 "n1 to refuse f's block" eval '[ "$(rstat n1 blocks_not_producer)" -ge 1 ]'
wait_for 10 "f's points on n1" eval '[ "$(points_of n1 "$PF")" -ge 50 ]'
# nothing may happen from here: watched for a while (a slow machine only
# watches less)
holds_for 2 all_pools 10 "${LINE[@]}" || fail "the forged block removed transactions"
for n in "${LINE[@]}"; do
	[ "$(rstat $n blocks_accepted)" -eq 0 ] || fail "$n accepted the forged block"
done
[ "$(rstat n1 blocks_out)" -eq 0 ] || fail "n1 relayed the forged block"
ok "f's block (not a producer) left every pool at 10, was not relayed, scored f $(points_of n1 "$PF") points"

# --- 2. no censorship: the listed id still travels
out=$(ctl n2 tx submit "$THEX") || fail "submit T at n2: $out"
wait_until 20 all_pools 11 "${LINE[@]}" || fail "T (listed in the forged block) did not reach every pool"
ok "the transaction the forged block listed reached n0, n1, n2 when sent later"

# --- a listed producer's block is accepted and relayed
out=$(ctl n0 block submit --top 4) || fail "n0's block: $out"
wait_until 20 all_pools 7 "${LINE[@]}" || fail "n0's block did not remove its 4 transactions everywhere"
for n in "${LINE[@]}"; do
	[ "$(rstat $n blocks_accepted)" -eq 1 ] || fail "$n did not accept n0's block"
done
[ "$(rstat n1 blocks_out)" -ge 1 ] || fail "n1 did not relay n0's block"
ok "n0's block (a producer) accepted on every node and relayed by n1"

# --- 4. block submit on a non-producer
out=$(ctl n2 block submit --top 1 2>&1) && fail "n2 (not a producer) submitted a block: $out"
echo "$out" | grep -q "is not a block producer" || fail "unexpected refusal: $out"
holds_for 1 all_pools 7 "${LINE[@]}" || fail "the refused submit removed transactions"
ok "block submit on n2 refused: $out"

# --- 3. run-time changes, kept across a kill -9 of relay
kill_relay() {
	local old
	old=$(svc_pid "$1" relay)
	kill -9 "$old" || fail "kill relay of $1"
	wait_for 30 "$1's relay to come back" eval '[ "$(svc_pid '"$1"' relay)" != "'"$old"'" ] && node_running '"$1"
}
for n in "${LINE[@]}"; do
	ctl $n producers add "$PF" >/dev/null || fail "producers add on $n"
done
kill_relay n1
out=$(ctl n1 producers list) || fail "list after restart"
echo "$out" | grep -q "^2 producers (from the producers file)" || fail "n1 after restart: $out"
echo "$out" | grep -qx "$PF" || fail "f's key did not survive the restart: $out"
wait_until 30 edge_up f $((PORT_BASE + 1)) || fail "f is no longer connected to n1"
ctl f block submit $(top_ids n1 2) >/dev/null || fail "f's second block"
wait_until 20 all_pools 5 "${LINE[@]}" || fail "f's block (f added) was not accepted everywhere"
ok "producers add at run time: f's block accepted on every node, after a kill -9 of n1's relay"

for n in "${LINE[@]}"; do
	ctl $n producers remove "$PF" >/dev/null || fail "producers remove on $n"
done
kill_relay n1
out=$(ctl n1 producers list) || fail "list after the second restart"
echo "$out" | grep -q "^1 producers (from the producers file)" || fail "n1 after restart: $out"
echo "$out" | grep -qx "$P0" || fail "n0's key is gone: $out"
echo "$out" | grep -qx "$PF" && fail "f's key survived its removal: $out"
wait_until 30 edge_up f $((PORT_BASE + 1)) || fail "f is no longer connected to n1"
ctl f block submit $(top_ids n1 2) >/dev/null || fail "f's third block"
wait_for 20 "n1 to refuse f's third block" eval '[ "$(rstat n1 blocks_not_producer)" -ge 1 ]'
holds_for 2 all_pools 5 "${LINE[@]}" || fail "f's block (f removed) removed transactions"
ok "producers remove at run time: f's block refused again after a kill -9 of n1's relay"

for n in n0 n1 n2 f mk; do
	eval "kill -TERM \$PID_$n"
done
for n in n0 n1 n2 f mk; do
	eval "wait \$PID_$n" || fail "$n did not stop cleanly"
done
