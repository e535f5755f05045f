#!/usr/bin/env bash
# A whole node is killed with SIGKILL (chorusd and all its services) in the
# middle of transaction traffic and restarted on its datadir: it rejoins
# and converges: its mempool ends with every transaction, those it had
# before (its journal), those accepted while it was down (announced to it
# when it reconnects) and those after.
. "$(dirname "$0")/lib.sh"

N=4
for i in $(seq 0 $((N - 1))); do
	seed=()
	[ "$i" -gt 0 ] && seed=(--seed "127.30.0.1:$PORT_BASE")
	start_node "n$i" --listen "127.$((30 + i)).0.1:$((PORT_BASE + i))" --ring-size 1m \
		--io-threads 1 --log-level warn "${seed[@]}"
done
connected() { for i in $(seq 0 $((N - 1))); do has_peers "n$i" 1 || return 1; done; }
wait_until 30 connected || fail "the nodes did not connect"
ok "$N nodes connected"

count() { ctl "$1" --json mempool info 2>/dev/null | grep -o '"count": *[0-9]*' | grep -o '[0-9]*$'; }
submit() { ctl "$1" tx submit --random --count 5 --fee 900 2>/dev/null | grep -c '^accepted'; }
total=0
for round in $(seq 1 30); do
	a=$(submit n0)
	b=$(submit n1)
	total=$((total + a + b))
	if [ "$round" = 10 ]; then
		before=$(count n2)
		pkill -9 -f -- "$T/n2( |$)"
		wait_until 10 bash -c "! pgrep -f -- '$T/n2( |$)' >/dev/null" || fail "n2 did not die"
		ok "n2 killed with SIGKILL (all its processes) holding $before transactions"
	fi
	if [ "$round" = 20 ]; then
		start_node n2 --listen "127.32.0.1:$((PORT_BASE + 2))" --ring-size 1m \
			--io-threads 1 --log-level warn --seed "127.30.0.1:$PORT_BASE"
		wait_until 30 has_peers n2 1 || fail "n2 did not rejoin"
		ok "n2 restarted on its datadir and rejoined with $(count n2) transactions"
	fi
	sleep 0.2 # the pace of the traffic, not a wait
done
[ "$total" -ge 250 ] || fail "only $total submissions accepted"
converged() { for i in $(seq 0 $((N - 1))); do [ "$(count "n$i")" -ge "$total" ] || return 1; done; }
wait_until 60 converged || fail "no convergence: want $total, have $(for i in $(seq 0 $((N - 1))); do echo -n "n$i=$(count "n$i") "; done)"
ok "every mempool converged to all $total transactions, n2 included"
