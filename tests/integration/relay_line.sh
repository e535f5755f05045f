#!/usr/bin/env bash
# Relay across a network: networks of 3, 5 and 10 real nodes on 127.0.0.1
# (each all five processes) in one topology: line by default, ring or
# random when run as relay_ring.sh / relay_random.sh (which set RELAY_TOPO).
# Transactions submitted at several nodes must end in every mempool, and
# every link must carry each transaction in full at most once in each
# direction: the TX messages received over all links add up to exactly
# (nodes - 1) per transaction (each node but the origin gets it once), no
# node receives a duplicate, and no link carries more TX than there are
# transactions.
. "$(dirname "$0")/lib.sh"

TOPO=${RELAY_TOPO:-line}
PER=${RELAY_TXS:-20} # transactions submitted at each of three nodes
RANDOM=$(($$ % 32768))

# edge_up NAME I J: node I of net NAME has its outbound connection to J.
edge_up() {
	ctl "$1$2" --json peers | grep -o '{[^{}]*}' |
		grep "\"addr\":\"127.0.0.1:$((PORT_BASE + $3))\"" | grep -qE '"(kind|direction)":"outbound"'
}

# net_start NAME N EDGES...: starts N nodes NAME0..; an edge "i-j" (i > j)
# makes node i connect to node j.  --max-outbound 0 keeps discovery from
# dialing full-relay peers of its own (it may still add block-relay-only
# links: they carry no transactions, so the checks below are unaffected)
# and the edges are operator connections, so the transaction topology is
# exactly the one planned.
net_start() {
	local name=$1 n=$2 i e
	shift 2
	for ((i = 0; i < n; i++)); do
		start_node "$name$i" --listen 127.0.0.1:$((PORT_BASE + i)) --max-per-group 64 \
			--max-outbound 0 --ring-size 1m --ring-max-msg 256k
	done
	for ((i = 0; i < n; i++)); do
		wait_until 30 node_running "$name$i" || fail "$name$i did not start"
	done
	for e in "$@"; do
		ctl "$name${e%-*}" connect 127.0.0.1:$((PORT_BASE + ${e#*-})) >/dev/null ||
			fail "connect $e"
	done
	for e in "$@"; do
		wait_until 30 edge_up "$name" "${e%-*}" "${e#*-}" || fail "edge $e did not come up ($TOPO)"
	done
}

# net_stop NAME N: an orderly stop of every node, all at once.
net_stop() {
	local name=$1 n=$2 i pid
	for ((i = 0; i < n; i++)); do
		eval "pid=\$PID_$name$i"
		kill -TERM "$pid" 2>/dev/null
	done
	for ((i = 0; i < n; i++)); do
		eval "pid=\$PID_$name$i"
		wait "$pid" || fail "$name$i did not stop cleanly"
	done
}

# all_have NAME N COUNT: every node's pool holds COUNT transactions.
all_have() {
	local i
	for ((i = 0; i < $2; i++)); do
		[ "$(pool_count "$1$i")" = "$3" ] || return 1
	done
}

# sum_field JSON KEY: the sum of every "KEY":N in the text.
sum_field() {
	echo "$1" | grep -o "\"$2\":[0-9]*" | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }'
}

# max_field JSON KEY: the largest "KEY":N in the text.
max_field() {
	echo "$1" | grep -o "\"$2\":[0-9]*" | cut -d: -f2 | awk '$1 > m { m = $1 } END { print m + 0 }'
}

# edges N: the topology's edge list.
edges() {
	local n=$1 i j
	case $TOPO in
	line) for ((i = 1; i < n; i++)); do echo "$i-$((i - 1))"; done ;;
	ring)
		for ((i = 1; i < n; i++)); do echo "$i-$((i - 1))"; done
		echo "$((n - 1))-0"
		;;
	random)
		# a random tree (connected), then about n/2 extra random edges
		declare -A have=()
		for ((i = 1; i < n; i++)); do
			j=$((RANDOM % i))
			have["$i-$j"]=1
			echo "$i-$j"
		done
		for ((k = 0; k < n / 2; k++)); do
			i=$((1 + RANDOM % (n - 1)))
			j=$((RANDOM % i))
			[ -n "${have["$i-$j"]:-}" ] && continue
			have["$i-$j"]=1
			echo "$i-$j"
		done
		;;
	*) fail "unknown topology $TOPO" ;;
	esac
}

run_net() {
	local n=$1 name="$TOPO${1}_" i
	mapfile -t E < <(edges "$n")
	net_start "$name" "$n" "${E[@]}"
	local t0=$SECONDS
	local total=0
	for i in 0 $((n / 2)) $((n - 1)); do
		out=$(ctl "$name$i" tx submit --random --count "$PER") || fail "submit at $name$i: $out"
		total=$((total + PER))
	done
	wait_until 30 all_have "$name" "$n" "$total" || {
		for ((i = 0; i < n; i++)); do echo "$name$i: $(pool_count "$name$i")"; done
		fail "$TOPO of $n: not every pool has the $total transactions"
	}
	local secs=$((SECONDS - t0))
	local rx=0 dups=0 worst=0 js
	for ((i = 0; i < n; i++)); do
		js=$(ctl "$name$i" --json relay peers) || fail "relay peers of $name$i"
		rx=$((rx + $(sum_field "$js" tx_in)))
		dups=$((dups + $(sum_field "$js" dup_tx_in)))
		for k in tx_in tx_out; do
			m=$(max_field "$js" $k)
			[ "$m" -gt "$worst" ] && worst=$m
		done
	done
	[ "$dups" -eq 0 ] || fail "$TOPO of $n: $dups duplicate transactions received"
	[ "$worst" -le "$total" ] || fail "$TOPO of $n: a link carried $worst TX for $total txs"
	[ "$rx" -eq $((total * (n - 1))) ] ||
		fail "$TOPO of $n: $rx TX messages received, expected $((total * (n - 1)))"
	ok "$TOPO of $n (${E[*]}): $total txs in every pool within ${secs}s; $rx TX messages = txs x (nodes - 1), no duplicates"
	net_stop "$name" "$n"
}

run_net 3
run_net 5
run_net 10
