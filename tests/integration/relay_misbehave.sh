#!/usr/bin/env bash
# Peers that abuse the relay messages (tests/tools/evil_peer): INV floods,
# announcements never delivered, unrequested transactions, GETDATA for
# unknown ids, oversized INVs, a block with a bad signature.  Each one is
# bounded (the relay's caps hold and its tables drain), counted in relay
# status, reported to transport with a reason (logged) and scored into a
# ban; an honest peer keeps being served throughout.
. "$(dirname "$0")/lib.sh"

P=$((PORT_BASE + 0))
start_node a --listen 127.0.0.1:$P --max-outbound 0
start_node b --listen 127.0.0.1:$((P + 1)) --max-outbound 0
wait_until 20 node_running a || fail "node a not running"
wait_until 20 node_running b || fail "node b not running"
ctl b connect 127.0.0.1:$P >/dev/null || fail "connect"
wait_until 20 has_peers a 1 || fail "b did not connect to a"

# rstat NODE KEY: a number from relay status.
rstat() {
	ctl "$1" --json status relay | grep -o "\"$2\":[0-9]*" | head -1 | cut -d: -f2
}

# drained NODE: no requests left in flight.
drained() {
	[ "$(rstat "$1" inflight)" -eq 0 ]
}

# evil MODE SRC COUNT REASON: runs the mode from SRC and checks the node's
# reaction: the tool sees the ban, the log names the relay's reason.
evil() {
	local mode=$1 src=$2 n=$3 re=$4 out
	out=$(timeout 60 "$EVIL" "$mode" 127.0.0.1 $P --src "$src" --count "$n" --secs 20 2>&1) ||
		fail "$mode: $out"
	wait_until 5 log_has a "$src.*misbehaved.*$re" || fail "$mode: log lacks /$re/"
	ctl a bans | grep -q "^$src " || fail "$mode: $src not banned"
	ok "$mode from $src: $(echo "$out" | head -1); banned for '$re'"
}

# honest: a transaction submitted at b reaches a, and one at a reaches b.
honest() {
	local before_a before_b
	before_a=$(pool_count a)
	before_b=$(pool_count b)
	ctl b tx submit --random --count 5 >/dev/null || fail "submit at b"
	ctl a tx submit --random --count 5 >/dev/null || fail "submit at a"
	want() { [ "$(pool_count "$1")" -eq "$2" ]; }
	wait_until 10 want a $((before_a + 10)) || fail "honest b not served after $1"
	wait_until 10 want b $((before_b + 10)) || fail "a does not relay to honest b after $1"
}

honest "start"

evil invflood 127.0.21.1 400 "INV flood"
[ "$(rstat a inv_flood)" -gt 0 ] || fail "no INV flood counted"
[ "$(rstat a req_peer_full)" -gt 0 ] || fail "the per-peer announcement cap did not act"
wait_until 5 drained a || fail "requests of the flooder not dropped"
honest "the INV flood"
ok "INV flood: counted, $(rstat a req_peer_full) announcements over the per-peer cap dropped"

evil nodeliver 127.0.22.1 1200 "announced transactions not delivered"
[ "$(rstat a req_timeouts)" -ge 500 ] || fail "fewer timeouts than requests in flight"
[ "$(rstat a req_timeouts)" -le 1200 ] || fail "more requests than the cap allows"
honest "the undelivered announcements"
ok "never delivered: $(rstat a req_timeouts) requests timed out (cap 500 in flight)"

before=$(pool_count a)
evil unrequested 127.0.23.1 400 "unrequested TX"
[ "$(rstat a tx_unreq_dropped)" -gt 0 ] || fail "no unrequested TX dropped"
got=$(($(pool_count a) - before))
[ "$got" -le 200 ] || fail "$got unrequested transactions went into the pool (bound ~100)"
honest "the unrequested transactions"
ok "unrequested: $got admitted within the bucket, $(rstat a tx_unreq_dropped) dropped"

evil getdataunknown 127.0.24.1 40 "GETDATA"
[ "$(rstat a notfound_out)" -gt 0 ] || fail "no NOTFOUND answered"
honest "the GETDATA flood"
ok "GETDATA for unknown ids: $(rstat a notfound_out) NOTFOUND answers, $(rstat a serve_dropped) ids over the serve cap"

evil oversizedinv 127.0.25.1 10 "oversized INV"
[ "$(rstat a inv_oversized)" -ge 5 ] || fail "oversized INVs not counted"
honest "the oversized INVs"

evil badblock 127.0.26.1 1 "block with a bad signature"
[ "$(rstat a blocks_bad)" -eq 1 ] || fail "bad block not counted"
[ "$(rstat a blocks_accepted)" -eq 0 ] || fail "a bad block was accepted"
honest "the bad block"

[ "$(rstat a inflight)" -eq 0 ] || fail "requests left in flight"
ctl a bans | grep -q "^127.0.0.1 " && fail "the honest peer's address was banned"
ctl b --json peers | grep -q "\"addr\":\"127.0.0.1:$P\"" || fail "the honest peer is no longer connected"
ok "the honest peer stayed connected and served; relay tables bounded at $(rstat a memory_bound) bytes"

kill -TERM "$PID_a" "$PID_b"
wait "$PID_a" || fail "a did not stop cleanly"
wait "$PID_b" || fail "b did not stop cleanly"
