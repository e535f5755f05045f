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

pool_count() {
	ctl "$1" --json mempool info | grep -o '"count":[0-9]*' | cut -d: -f2
}
all_pools() {
	local i
	for ((i = 0; i < N; i++)); do
		[ "$(pool_count n$i)" = "$1" ] || return 1
	done
}

# flow TAG: 10 transactions every 100 ms at both ends, at least 30 rounds
# and until $T/flow-TAG.stop exists, in the background; the accepted lines
# go to $T/flow-TAG-*.out.
flow() {
	FLOW_PIDS=()
	for end in n0 n2; do
		(
			r=0
			while [ $r -lt 30 ] || [ ! -e "$T/flow-$1.stop" ]; do
				ctl $end tx submit --random --count 10 >>"$T/flow-$1-$end.out" 2>&1
				sleep 0.1 # the pace of the traffic, not a wait
				r=$((r + 1))
			done
		) &
		FLOW_PIDS+=($!)
	done
}
flowed() { [ "$(cat "$T"/flow-"$1"-*.out 2>/dev/null | grep -c '^accepted ')" -gt "$2" ]; }

# restarted SERVICE OLDPID: a new process wrote the service's pid file.
restarted() {
	local now
	now=$(svc_pid $MID "$1")
	[ -n "$now" ] && [ "$now" != "$2" ]
}

# crash SERVICE: kill -9 it on the middle node twice while the flow runs.
crash() {
	local svc=$1 pid
	flow "$svc"
	for k in 1 2; do
		# kill in the middle of the traffic: after 20 more accepted
		wait_for 20 "the flow to go on before kill $k" flowed "$svc" \
			$(($(cat "$T"/flow-"$svc"-*.out 2>/dev/null | grep -c '^accepted ') + 20))
		pid=$(svc_pid $MID "$svc")
		[ -n "$pid" ] || fail "no $svc pid"
		kill -9 "$pid"
		wait_until 10 restarted "$svc" "$pid" || fail "$svc was not restarted"
		wait_until 10 node_running $MID || fail "$MID did not recover"
	done
	touch "$T/flow-$svc.stop"
	wait "${FLOW_PIDS[@]}"
	total=$(cat "$T"/flow-*.out | grep -c '^accepted ')
	wait_until 90 all_pools "$total" || {
		for ((i = 0; i < N; i++)); do echo "n$i: $(pool_count n$i)"; done
		fail "after kill -9 $svc: not every pool has the $total transactions"
	}
	ok "kill -9 $svc on $MID twice during the flow: all $total transactions in all $N pools"
}

relay_pid=$(svc_pid $MID relay)
mempool_pid=$(svc_pid $MID mempool)
crash transport
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
