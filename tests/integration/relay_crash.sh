#!/usr/bin/env bash
# kill -9 of relay, then of mempool, on the middle node of a 5-node line
# while transactions flow through it in both directions: every transaction
# still reaches every mempool.  What sat in the rings is processed after
# the restart (input rings are committed only once their effects are in
# the output rings), the restarted relay rebuilds its peers from
# transport's list, and no peer is disconnected.
. "$(dirname "$0")/lib.sh"

N=5
MID=n2
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

LINE=(n0 n1 n2 n3 n4)

crash_in_flow $MID relay 30 "${LINE[@]}"
log_has $MID "restart: [0-9]+ peers rebuilt from transport" || fail "relay did not rebuild its peers"
crash_in_flow $MID mempool 30 "${LINE[@]}"

[ "$(svc_field $MID relay restarts)" -eq 2 ] || fail "relay restarts: $(svc_field $MID relay restarts)"
[ "$(svc_field $MID mempool restarts)" -eq 2 ] || fail "mempool restarts"
grep -q "disconnected" "$T/$MID/chorus.log" && fail "a peer of $MID was disconnected"
edge_up 2 1 && edge_up 3 2 || fail "$MID lost its peers"
ok "peers stayed connected through 4 crashes; relay rebuilt its peer list from transport"

for ((i = 0; i < N; i++)); do
	eval "kill -TERM \$PID_n$i"
done
for ((i = 0; i < N; i++)); do
	eval "wait \$PID_n$i" || fail "n$i did not stop cleanly"
done
