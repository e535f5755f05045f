#!/usr/bin/env bash
# Every transaction acknowledged as accepted survives: kill -9 of
# chorus-mempool while a client submits (three times), an orderly stop and
# start of the whole node, kill -9 of chorusd; a truncated journal and a
# journal of garbage are reported and survived.
. "$(dirname "$0")/lib.sh"

PORT=$((PORT_BASE + 6))
start_node a --listen 127.0.0.1:$PORT --restart-stable 100ms
wait_until 10 node_running a || fail "node did not reach running"

# The client: rounds of 20 random transactions, one JSON line per result,
# until told to stop; rounds that meet a dead mempool fail and are simply
# retried.  Each kill waits until the client got more acknowledgements, so
# every kill lands in the middle of traffic.
client() {
	local i=0
	while [ ! -e "$T/stop" ] && [ $i -lt 1000 ]; do
		"$CTL" --datadir "$T/a" --timeout 3000 --json tx submit --random --count 20 \
			>>"$T/acks.jsonl" 2>>"$T/client.err"
		i=$((i + 1))
	done
}
acks() {
	local n
	n=$(grep -c '"accepted":true' "$T/acks.jsonl" 2>/dev/null)
	echo "${n:-0}"
}
acks_over() { [ "$(acks)" -gt "$1" ]; }
client &
CLIENT=$!
for k in 1 2 3; do
	wait_for 20 "more acknowledgements before kill $k" acks_over $(($(acks) + 20))
	old=$(svc_pid a mempool)
	kill -9 "$old" || fail "no mempool to kill"
	wait_until 5 bash -c "p=\$(cat $T/a/run/mempool.pid 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != $old ]" ||
		fail "mempool not restarted after kill $k"
done
wait_for 30 "100 acknowledged transactions" acks_over 99
touch "$T/stop"
wait $CLIENT
grep '"accepted":true' "$T/acks.jsonl" | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4 | sort -u >"$T/acked"
n=$(wc -l <"$T/acked")
[ "$n" -ge 100 ] || fail "only $n acknowledged transactions"
ok "$n transactions acknowledged while the mempool was killed 3 times"

# pool_ids: the ids in the pool (the pool holds them all: fewer than 1000)
pool_ids() {
	ctl a --json mempool list --top 1000 | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4 | sort -u
}
check_all() {
	wait_until 10 ctl a ping mempool || fail "mempool does not answer ($1)"
	pool_ids >"$T/pool"
	missing=$(comm -23 "$T/acked" "$T/pool" | wc -l)
	[ "$missing" -eq 0 ] || fail "$missing acknowledged transactions missing after $1"
}
check_all "the kills"
ok "every acknowledged transaction is in the pool"

kill -TERM "$PID_a"; wait "$PID_a" || fail "stop failed"
start_node a --listen 127.0.0.1:$PORT
wait_until 10 node_running a || fail "node did not restart"
check_all "a node restart"
grep -q "restored $(pool_ids | wc -l) transactions" "$T/a/chorus.log" || fail "no restore line in the log"
ok "all still there after stopping and starting the node"

kill -9 "$PID_a"; wait "$PID_a" 2>/dev/null
wait_until 10 bash -c "! pgrep -f -- '$T/a( |\$)' >/dev/null" || fail "services outlived chorusd"
start_node a --listen 127.0.0.1:$PORT
wait_until 10 node_running a || fail "node did not start after kill -9 of chorusd"
check_all "kill -9 of chorusd"
ok "all still there after kill -9 of chorusd"

# A truncated journal: cut in the middle of a record.
before=$(pool_ids | wc -l)
kill -TERM "$PID_a"; wait "$PID_a"
size=$(stat -c %s "$T/a/mempool.journal")
truncate -s $((size - 37)) "$T/a/mempool.journal"
start_node a --listen 127.0.0.1:$PORT
wait_until 10 node_running a || fail "node did not start on a truncated journal"
after=$(pool_ids | wc -l)
[ "$after" -eq $((before - 1)) ] || fail "truncated journal: $after of $before kept (expected one lost)"
ctl a --json mempool info | grep -q '"store_damaged":true' || fail "damage not reported in info"
grep -q 'journal .* damaged: truncated record' "$T/a/chorus.log" || fail "damage not logged"
ok "truncated journal: reported, $after of $before kept"

# A journal of garbage: reported, the node starts with an empty pool.
kill -TERM "$PID_a"; wait "$PID_a"
head -c 5000 /dev/urandom >"$T/a/mempool.journal"
start_node a --listen 127.0.0.1:$PORT
wait_until 10 node_running a || fail "node did not start on a garbage journal"
[ "$(pool_ids | wc -l)" -eq 0 ] || fail "garbage journal gave transactions"
grep -q 'damaged: bad or truncated header' "$T/a/chorus.log" || fail "garbage not logged"
out=$(ctl a tx submit --random --count 3) || fail "cannot submit after recovery: $out"
kill -TERM "$PID_a"; wait "$PID_a" || fail "stop failed"
ok "garbage journal: reported, empty pool, serving"
