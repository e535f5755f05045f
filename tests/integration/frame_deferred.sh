#!/usr/bin/env bash
# The service frame never waits: a node whose only DHT bootstrap never
# answers gets slow `dht lookup` commands (they end only when the lookup
# gives up or the command's budget runs out); while they wait, `status` of
# the discovery service is answered, and its own reply says that the slow
# commands were still waiting when it was written (replies_pending), so
# the status reply came first.  Then every slow command gets its own reply
# and nothing stays pending.  No timing thresholds: every step waits for a
# condition.
. "$(dirname "$0")/lib.sh"

# a UDP port nothing listens on: the bootstrap that never answers
HOLE=$((PORT_BASE + 7))
start_node n0 --listen "127.0.0.1:$PORT_BASE" --seed "127.0.0.1:$HOLE"
wait_until 15 node_running n0 || fail "node did not start"
ok "node running with an unreachable bootstrap"

pending() {
	ctl n0 --json status discovery | grep -o '"replies_pending": *[0-9]*' | grep -o '[0-9]*$'
}
pending_is() {
	[ "$(pending)" = "$1" ]
}
pending_is 0 || fail "replies pending before any slow command: $(pending)"

# three slow lookups at once, each from its own client
declare -a SLOW=()
for i in 1 2 3; do
	"$CTL" --datadir "$T/n0" --timeout 20000 dht lookup \
		"$(printf '%040d' "$i")" >"$T/slow$i.out" 2>&1 &
	SLOW+=($!)
done

# a status answered while all three wait: its reply was written with
# three replies still pending, so it went out before theirs
wait_until 20 pending_is 3 || fail "status never saw the 3 lookups waiting (pending $(pending))"
ok "status answered while 3 slow DHT commands wait"

# the frame's own commands and the DHT's status answer meanwhile too
ctl n0 --json status | grep -q '"state": *"running"' || fail "chorusd status failed"

# each slow command gets its own answer: the lookup gave up (no node
# replied) or the budget ran out
for i in 1 2 3; do
	wait "${SLOW[$((i - 1))]}"
	rc=$?
	out=$(cat "$T/slow$i.out")
	if [ $rc -eq 0 ]; then
		echo "$out" | grep -q "^0 nodes closest" ||
			fail "slow lookup $i found nodes behind a bootstrap that never answers: $out"
	else
		echo "$out" | grep -qi "timed out\|no answer from the DHT" ||
			fail "slow lookup $i failed otherwise (rc $rc): $out"
	fi
	ok "slow lookup $i: $(head -1 "$T/slow$i.out")"
done
wait_until 10 pending_is 0 || fail "replies still pending after the lookups ended: $(pending)"
ok "every slow command got its own reply; none pending"
