#!/usr/bin/env bash
# One peer that never reads its socket slows only itself.  Node a relays
# 5,000 transactions to its honest peers b and c while an evil peer keeps a
# connection that never reads and sends a PING and GETDATAs of the
# announced ids every 100 ms (evil_peer neverread; its second connection,
# a spy that reads, learns the ids).  Every transaction must reach b and c,
# transport's peak RSS must stay under 64 MiB (the per-peer bound is 8 MiB
# waiting plus the socket buffers), and the reader-less peer must be
# disconnected and scored.
. "$(dirname "$0")/lib.sh"

P=$PORT_BASE
N=5000
RSS_MAX_KB=65536
# ThreadSanitizer's shadow memory multiplies a process's RSS several times
# (measured ~108 MB here against ~15 MB plain, ~29 MB under ASan): the
# bound is for the program, so a TSan build gets four times the room
case "$BUILD" in *tsan*) RSS_MAX_KB=$((RSS_MAX_KB * 4)) ;; esac
start_node a --listen 127.0.0.1:$P --max-outbound 0 --send-timeout 3s
start_node b --listen 127.0.0.1:$((P + 1)) --max-outbound 0
start_node c --listen 127.0.0.1:$((P + 2)) --max-outbound 0
for n in a b c; do
	wait_until 30 node_running $n || fail "node $n not running"
done
ctl b connect 127.0.0.1:$P >/dev/null || fail "connect b"
ctl c connect 127.0.0.1:$P >/dev/null || fail "connect c"
wait_until 20 has_peers a 2 || fail "b and c did not connect to a"

"$EVIL" neverread 127.0.0.1 $P --src 127.0.60.1 --secs 90 >"$T/evil.out" 2>&1 &
EVIL_PID=$!
wait_until 20 has_peers a 4 || fail "the evil peer's two connections did not come up"

# batches of 500 (each waited for): the first gives the spy ids, so the
# reader-less peer asks while the rest is relayed; batches keep the honest
# nodes' own request timeouts out of the picture on a loaded machine
for ((k = 500; k <= N; k += 500)); do
	ctl a tx submit --random --count 500 >/dev/null || fail "submit up to $k"
	wait_until 60 has_all b $k || fail "b has $(pool_count b) of $k transactions"
	wait_until 60 has_all c $k || fail "c has $(pool_count c) of $k transactions"
done
ok "b and c got all $N transactions"

wait "$EVIL_PID"
rc=$?
cat "$T/evil.out"
[ $rc -eq 0 ] || fail "the reader-less peer was not disconnected"
wait_until 5 log_has a "127.0.60.1.*misbehaved.*(does not read|took none of our bytes)" ||
	fail "the slow peer was not scored for not reading"
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$(svc_pid a transport)/status")
[ "$hwm" -lt $RSS_MAX_KB ] || fail "transport peaked at $hwm kB (bound $RSS_MAX_KB kB)"
why=$(grep -E "127.0.60.1.*misbehaved" "$T/a/chorus.log" | head -1 | sed 's/.*: //')
ok "slow peer disconnected and scored ($why); transport peak RSS $hwm kB (< $RSS_MAX_KB kB)"
has_peers a 2 || fail "a lost an honest peer"

kill -TERM "$PID_a" "$PID_b" "$PID_c"
wait "$PID_a" || fail "a did not stop cleanly"
wait "$PID_b" || fail "b did not stop cleanly"
wait "$PID_c" || fail "c did not stop cleanly"
