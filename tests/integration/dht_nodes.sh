#!/usr/bin/env bash
# The DHT through real nodes and chorusctl: six chorusd nodes, five of them
# seeded with node 0 only, fill their DHT routing tables; `dht put` (an
# immutable value, and a value signed under --name whose seq grows) on one
# node is fetched, verified, by `dht get` on every other; `dht lookup`,
# `dht status` and the shell work; a killed discovery service comes back
# with its table and items from the datadir at once; with two of the six
# nodes killed (a third: the seed and the putter) the values are still
# found; bad arguments are usage errors.
. "$(dirname "$0")/lib.sh"

N=6
# a get through dead nodes waits for soft timeouts: allow chorusctl more
# than its 3 s default (the service answers within its own 2.5 s budget)
dctl() {
	local name=$1
	shift
	"$CTL" --datadir "$T/$name" --timeout 5000 "$@"
}

dht_nodes() {
	dctl "$1" --json status discovery | grep -o '"dht_nodes": *[0-9]*' | grep -o '[0-9]*$'
}

# table_has NAME MIN: the node's DHT table holds at least MIN nodes.
table_has() {
	local n
	n=$(dht_nodes "$1") || return 1
	[ -n "$n" ] && [ "$n" -ge "$2" ]
}

for i in $(seq 0 $((N - 1))); do
	port=$((PORT_BASE + i))
	if [ "$i" -eq 0 ]; then
		start_node "n$i" --listen "127.0.0.1:$port"
	else
		start_node "n$i" --listen "127.0.0.1:$port" --seed "127.0.0.1:$PORT_BASE"
	fi
done
for i in $(seq 0 $((N - 1))); do
	wait_until 15 node_running "n$i" || fail "node n$i did not start"
done
ok "$N nodes running"

for i in $(seq 0 $((N - 1))); do
	wait_until 15 table_has "n$i" $((N - 1)) || fail "n$i table has $(dht_nodes "n$i") nodes, want $((N - 1))"
done
ok "every routing table holds the $((N - 1)) other nodes"

# immutable put on n1, get everywhere
out=$(dctl n1 dht put "hello from chorus") || fail "dht put failed: $out"
key=$(echo "$out" | sed -n 's/^key: \([0-9a-f]\{40\}\)$/\1/p')
[ -n "$key" ] || fail "dht put printed no key: $out"
echo "$out" | grep -q "stored on [1-9]" || fail "put stored nowhere: $out"
want=$(printf '17:hello from chorus' | sha1sum | cut -c1-40)
[ "$key" = "$want" ] || fail "key $key is not sha1 of the bencoded value ($want)"
for i in $(seq 0 $((N - 1))); do
	got=$(dctl "n$i" dht get "$key") || fail "n$i: dht get $key failed"
	[ "$got" = "hello from chorus" ] || fail "n$i: got '$got'"
done
ok "immutable value put on n1 fetched on every node (key = sha1 of its bencoding)"

# mutable put under a name, twice: seq grows, everyone sees the new value
out=$(dctl n2 dht put --name greeting "first version") || fail "dht put --name failed: $out"
mkey=$(echo "$out" | sed -n 's/^key: \([0-9a-f]\{64\}\/greeting\)$/\1/p')
[ -n "$mkey" ] || fail "dht put --name printed no PUBKEY/NAME: $out"
echo "$out" | grep -q "seq 1," || fail "first put is not seq 1: $out"
out=$(dctl n2 dht put --name greeting "second version") || fail "second put failed: $out"
echo "$out" | grep -q "seq 2," || fail "second put is not seq 2: $out"
for i in $(seq 0 $((N - 1))); do
	got=$(dctl "n$i" dht get "$mkey") || fail "n$i: dht get $mkey failed"
	[ "$got" = "second version" ] || fail "n$i: got '$got' for $mkey"
done
js=$(dctl n4 --json dht get "$mkey")
echo "$js" | grep -q '"seq": *2' || fail "json get lacks seq 2: $js"
echo "$js" | grep -q '"mutable": *true' || fail "json get lacks mutable: $js"
ok "mutable value (seq 1 then 2) fetched and verified on every node"

# the wrong name finds nothing (and says so)
pub=${mkey%/greeting}
if dctl n3 dht get "$pub/other" >/dev/null 2>"$T/err.out"; then
	fail "a get under another name succeeded"
fi
grep -q "not found" "$T/err.out" || fail "no 'not found' message: $(cat "$T/err.out")"
ok "a name nobody stored is not found"

# lookup and status
out=$(dctl n3 dht lookup 0000000000000000000000000000000000000000) || fail "dht lookup failed"
echo "$out" | grep -q "nodes closest to 0000000000000000000000000000000000000000" || fail "lookup output: $out"
[ "$(echo "$out" | grep -c '127.0.0.1:')" -ge 4 ] || fail "lookup lists too few nodes: $out"
out=$(dctl n3 dht status) || fail "dht status failed"
echo "$out" | grep -q "^BUCKET" || fail "status has no bucket table: $out"
echo "$out" | grep -q "stored" || fail "status has no storage line: $out"
ok "dht lookup and dht status"

# the shell runs the same commands
out=$(printf 'dht put "typed in the shell"\ndht status\nquit\n' | "$CTL" --datadir "$T/n5" shell) ||
	fail "shell failed: $out"
skey=$(echo "$out" | sed -n 's/^key: \([0-9a-f]\{40\}\)$/\1/p')
[ -n "$skey" ] || fail "shell put printed no key: $out"
got=$(printf 'dht get %s\nquit\n' "$skey" | "$CTL" --datadir "$T/n0" shell) || fail "shell get failed"
[ "$got" = "typed in the shell" ] || fail "shell get printed '$got'"
ok "shell: dht put, dht get, dht status, quit"

# usage errors never reach the node
dctl n0 dht get nothex >/dev/null 2>&1
[ $? -eq 64 ] || fail "a bad KEY is not a usage error"
dctl n0 dht lookup 1234 >/dev/null 2>&1
[ $? -eq 64 ] || fail "a bad ID is not a usage error"
dctl n0 dht put >/dev/null 2>&1
[ $? -eq 64 ] || fail "put without VALUE is not a usage error"
ok "bad arguments are usage errors (exit 64)"

# kill -9 of discovery: back with its table and items from the datadir
# (wait until the state file holds the whole table, 5 nodes = 130 bytes,
# and the item stored on n3)
wait_until 12 grep -qa "5:nodes$(((N - 1) * 26)):" "$T/n3/dht.dat" || fail "dht.dat never held the table"
wait_until 12 grep -qa "hello from chorus" "$T/n3/dht.dat" || fail "dht.dat never held the stored item"
old=$(svc_pid n3 discovery)
kill -9 "$old"
wait_until 5 bash -c "p=\$(cat $T/n3/run/discovery.pid 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != $old ]" ||
	fail "discovery was not restarted"
wait_until 5 ctl n3 ping discovery || fail "discovery does not answer after restart"
new=$(svc_pid n3 discovery)
grep -q "discovery\[$new\] DHT state loaded from $T/n3/dht.dat: $((N - 1)) nodes, [1-9][0-9]* items" "$T/n3/chorus.log" ||
	fail "restarted discovery did not load its table and items: $(grep "discovery\[$new\]" "$T/n3/chorus.log")"
n=$(dht_nodes n3)
[ "$n" -ge $((N - 1)) ] || fail "restarted discovery has $n nodes, want $((N - 1))"
got=$(dctl n3 dht get "$key") || fail "n3: get after restart failed"
[ "$got" = "hello from chorus" ] || fail "n3: got '$got' after restart"
ok "restarted discovery reloaded its $((N - 1)) nodes and its items from dht.dat at once"

# a third of the nodes die, the seed and the putter among them
kill -9 "$PID_n0" "$PID_n1"
wait "$PID_n0" "$PID_n1" 2>/dev/null
for i in 2 3 4 5; do
	got=$(dctl "n$i" dht get "$key") || fail "n$i: get after kills failed"
	[ "$got" = "hello from chorus" ] || fail "n$i: got '$got' after kills"
	got=$(dctl "n$i" dht get "$mkey") || fail "n$i: mutable get after kills failed"
	[ "$got" = "second version" ] || fail "n$i: got '$got' for $mkey after kills"
done
ok "with the seed and the putter killed, every value is still found"
