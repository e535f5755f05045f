#!/usr/bin/env bash
# kill -9 of transport on the middle node of a 3-node line, twice, while
# transactions flow through it in both directions (docs/node.md: every
# child may be killed at any moment).  What must hold: relay and mempool
# keep running (the same processes), the restarted transport redials its
# operator targets (both ends), so the line comes back, and
# every transaction some mempool acknowledged reaches every mempool.
. "$(dirname "$0")/lib.sh"

N=3
MID=n1
for ((i = 0; i < N; i++)); do
	start_node n$i --listen 127.0.0.1:$((PORT_BASE + i)) --max-outbound 0
done
for ((i = 0; i < N; i++)); do
	wait_until 30 node_running n$i || fail "n$i did not start"
done
# the line as operator connections of the middle node to both ends
# (discovery adds no full-relay peers with --max-outbound 0).  The middle
# node is the dialer: its restarted transport redials its targets at once.
# Were the ends the dialers, the middle node's discovery could open a
# block-relay-only connection to an end first while that end waits out its
# backoff; the end then counts its target as connected (one connection per
# key) and that link carries no transactions, so the line stays cut.
edge_up() {
	ctl "n$1" --json peers | grep -o '{[^{}]*}' |
		grep "\"addr\":\"127.0.0.1:$((PORT_BASE + $2))\"" | grep -q '"kind":"outbound"'
}
ctl $MID connect 127.0.0.1:$PORT_BASE >/dev/null || fail "connect $MID to n0"
ctl $MID connect 127.0.0.1:$((PORT_BASE + 2)) >/dev/null || fail "connect $MID to n2"
wait_until 30 edge_up 1 0 || fail "$MID is not connected to n0"
wait_until 30 edge_up 1 2 || fail "$MID is not connected to n2"

LINE=(n0 n1 n2)

relay_pid=$(svc_pid $MID relay)
mempool_pid=$(svc_pid $MID mempool)
crash_in_flow $MID transport 90 "${LINE[@]}"
[ "$(svc_pid $MID relay)" = "$relay_pid" ] || fail "relay of $MID was restarted"
[ "$(svc_pid $MID mempool)" = "$mempool_pid" ] || fail "mempool of $MID was restarted"
alive "$relay_pid" && alive "$mempool_pid" || fail "relay or mempool of $MID died"
[ "$(svc_field $MID transport restarts)" -eq 2 ] ||
	fail "transport restarts: $(svc_field $MID transport restarts)"
wait_until 60 edge_up 1 0 || fail "$MID did not redial n0"
wait_until 60 edge_up 1 2 || fail "$MID did not redial n2"
ok "relay and mempool of $MID ran on through both crashes; the line came back"

for ((i = 0; i < N; i++)); do
	eval "kill -TERM \$PID_n$i"
done
for ((i = 0; i < N; i++)); do
	eval "wait \$PID_n$i" || fail "n$i did not stop cleanly"
done
