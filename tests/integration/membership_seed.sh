#!/usr/bin/env bash
# Membership from one seed: 20 real nodes, each on its own 127.X.0.1 (its
# own /16 address group), all given only node 0 as --seed.  Within a
# bounded time every node keeps its outbound target (4 full-relay
# connections, chosen from its address book, filled by peer exchange) and
# the connection graph is connected.  Seeds are for fetching addresses:
# the nodes drop node 0 once their target is met without it, so node 0
# itself reaches its target too.
. "$(dirname "$0")/lib.sh"

N=${MEMBERSHIP_NODES:-20}
TARGET=4
BOUND=${MEMBERSHIP_BOUND:-45}
P=$((PORT_BASE + 0))
ip_of() { echo "127.$((20 + $1)).0.1"; }
LIGHT=(--ring-size 1m --ring-max-msg 256k --io-threads 1 --log-level warn
	--max-outbound $TARGET)

start_node n0 --listen "$(ip_of 0):$P" "${LIGHT[@]}"
wait_until 15 node_running n0 || fail "n0 did not start"
for ((i = 1; i < N; i++)); do
	start_node "n$i" --listen "$(ip_of $i):$((P + i))" --seed "$(ip_of 0):$P" "${LIGHT[@]}"
done
for ((i = 1; i < N; i++)); do
	wait_until 30 node_running "n$i" || fail "n$i did not start"
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

# the outbound peers of each node are in distinct address groups
for ((i = 0; i < N; i++)); do
	groups=$(ctl "n$i" --json peers | grep -o '"addr":"[0-9.]*:[0-9]*","direction":"outbound"' |
		cut -d'"' -f4 | cut -d. -f1,2 | sort)
	[ "$(echo "$groups" | uniq | wc -l)" -eq "$(echo "$groups" | wc -l)" ] ||
		fail "n$i has two outbound peers in one group: $(echo $groups)"
done
ok "every node's outbound peers are in distinct groups"

# the seed is no longer everyone's peer: seed connections were dropped
in0=$(ctl n0 --json peers | grep -o '"direction":"inbound"' | wc -l)
[ "$in0" -lt $((N - 1)) ] || fail "node 0 still has $in0 inbound peers: seeds were not dropped"
ok "node 0 (the seed) kept $in0 inbound peers; the others dropped their seed connection"

# peer exchange works: every node but the seed (given no address but the
# seed's) asked, got PEERS answers carrying addresses, and the answers added
# addresses to the books (the DHT also fills them, so not every address is
# new by the time PEERS brings it)
ab_num() { ctl "$1" --json addrbook | grep -o "\"$2\":[0-9]*" | head -1 | cut -d: -f2; }
total_added=0
for ((i = 1; i < N; i++)); do
	pin=$(ab_num "n$i" peers_in)
	ain=$(ab_num "n$i" addrs_in)
	[ "${pin:-0}" -ge 1 ] || fail "n$i received no PEERS answer"
	[ "${ain:-0}" -ge $TARGET ] || fail "n$i received only ${ain:-0} addresses by peer exchange"
	total_added=$((total_added + $(ab_num "n$i" addrs_added)))
done
[ $total_added -ge 1 ] || fail "peer exchange added no address to any book"
known=$(ctl n$((N - 1)) --json addrbook | grep -o '"new":[0-9]*,"tried":[0-9]*' | head -1)
ok "peer exchange: every node got addresses, $total_added added to books (n$((N - 1)): $known)"
free -m | awk '/Mem:/ {print "memory used: " $3 " MiB"}'
