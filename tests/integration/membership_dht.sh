#!/usr/bin/env bash
# Membership through the DHT alone: 20 real nodes, each on its own
# 127.X.0.1 (its own /16 group), no seeds; every node is told node 0's DHT
# address (`chorusctl dht bootstrap`, the same contact a seed would give).
# Each announces its TCP port under SHA-1("chorus:" + network) and
# get_peers it; within a bounded time every node keeps its outbound
# target and the connection graph is connected.
. "$(dirname "$0")/lib.sh"

N=${MEMBERSHIP_NODES:-20}
TARGET=4
BOUND=${MEMBERSHIP_BOUND:-60}
P=$((PORT_BASE + 0))
ip_of() { echo "127.$((60 + $1)).0.1"; }
LIGHT=(--ring-size 1m --ring-max-msg 256k --io-threads 1 --log-level warn
	--max-outbound $TARGET)

for ((i = 0; i < N; i++)); do
	start_node "n$i" --listen "$(ip_of $i):$((P + i))" "${LIGHT[@]}"
done
for ((i = 0; i < N; i++)); do
	wait_until 30 node_running "n$i" || fail "n$i did not start"
done
for ((i = 1; i < N; i++)); do
	ctl "n$i" dht bootstrap "$(ip_of 0):$P" >/dev/null || fail "n$i: dht bootstrap refused"
done
t0=$SECONDS

if ! wait_until $BOUND all_met $N $TARGET; then
	for ((i = 0; i < N; i++)); do
		echo "n$i: $(full_out "n$i") full outbound, $(peer_count "n$i") peers"
		ctl "n$i" addrbook | head -3
	done
	fail "not every node reached $TARGET outbound within ${BOUND}s"
fi
ok "all $N nodes have >= $TARGET full outbound connections (or every other node as a peer) after $((SECONDS - t0))s"
graph_connected $N || fail "the connection graph is not connected"
ok "the connection graph is connected"

# the members came from the DHT: rounds ran and found members
for ((i = 0; i < N; i++)); do
	js=$(ctl "n$i" --json addrbook)
	rounds=$(echo "$js" | grep -o '"dht_rounds":[0-9]*' | cut -d: -f2)
	[ "${rounds:-0}" -ge 1 ] || fail "n$i ran no DHT membership round"
done
found=$(ctl "n$((N - 1))" --json addrbook | grep -o '"dht_candidates":[0-9]*' | cut -d: -f2)
[ "${found:-0}" -ge $TARGET ] || fail "n$((N - 1)) got only ${found:-0} candidates from the DHT"
ok "every node ran DHT membership rounds; n$((N - 1)) took $found candidates from them"
# and no seed was involved: nobody dialed a seed
for ((i = 0; i < N; i++)); do
	sd=$(ctl "n$i" --json addrbook | grep -o '"seed_dials":[0-9]*' | cut -d: -f2)
	[ "${sd:-0}" -eq 0 ] || fail "n$i dialed seeds"
done
free -m | awk '/Mem:/ {print "memory used: " $3 " MiB"}'
