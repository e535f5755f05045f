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
	for end in n0 n4; do
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
	wait_until 30 all_pools "$total" || {
		for ((i = 0; i < N; i++)); do echo "n$i: $(pool_count n$i)"; done
		fail "after kill -9 $svc: not every pool has the $total transactions"
	}
	ok "kill -9 $svc on $MID twice during the flow: all $total transactions in all $N pools"
}

crash relay
log_has $MID "restart: [0-9]+ peers rebuilt from transport" || fail "relay did not rebuild its peers"
crash mempool

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
