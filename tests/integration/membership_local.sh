#!/usr/bin/env bash
# A local testnet on one address: 12 nodes on 127.0.0.1 (ports differ),
# every one given only node 0 as --seed, with the default netgroup (auto:
# loopback groups are address and port).  Every node reaches its outbound
# target (or is already connected to every other node, so nobody is left
# to dial), the graph survives the loss of any one node (checked for each
# node on the live peer lists), and after node 0 is killed with SIGKILL the
# other eleven are still one connected network.  (Under netgroup prefix,
# the public-internet rule, all of 127/8 is one group and each node keeps a
# single outbound connection; test_member checks that contrast.)
#
# The target is 4: twelve nodes have 66 pairs, so a target of 8 (96
# outbound connections, one per pair at most) cannot be met by all.
. "$(dirname "$0")/lib.sh"

N=12
TARGET=4
P=$((PORT_BASE + 0))
LIGHT=(--ring-size 1m --ring-max-msg 256k --io-threads 1 --log-level warn
	--max-outbound $TARGET)

start_all() {
	local i
	start_node n0 --listen "127.0.0.1:$P" "${LIGHT[@]}" "$@"
	wait_until 15 node_running n0 || fail "n0 did not start"
	for ((i = 1; i < N; i++)); do
		start_node "n$i" --listen "127.0.0.1:$((P + i))" --seed "127.0.0.1:$P" "${LIGHT[@]}" "$@"
	done
	for ((i = 1; i < N; i++)); do
		wait_until 30 node_running "n$i" || fail "n$i did not start"
	done
}

start_all
t0=$SECONDS
if ! wait_until 90 all_met $N $TARGET; then
	for ((i = 0; i < N; i++)); do
		echo "n$i: $(full_out "n$i") full outbound, $(peer_count "n$i") peers"
	done
	fail "not every node reached $TARGET outbound within 90s"
fi
ok "all $N nodes on 127.0.0.1 have >= $TARGET full outbound connections (or every other node as a peer) after $((SECONDS - t0))s"
for ((i = 0; i < N; i++)); do echo "n$i: $(full_out "n$i") full outbound, $(peer_count "n$i") peers"; done
for ((k = 0; k < N; k++)); do
	graph_connected $N $k || fail "without n$k the graph is not connected"
done
ok "the graph stays connected without any one of the $N nodes"

kill -9 $(pgrep -f -- "$T/n0( |$)")
wait_until 10 sh -c "! pgrep -f -- '$T/n0( |\$)'" || fail "n0 survived SIGKILL"
wait_until 30 graph_connected $N 0 || fail "after n0 was killed the others are not connected"
ok "after SIGKILL of node 0 the other $((N - 1)) nodes are one network"
