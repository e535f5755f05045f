#!/usr/bin/env bash
# A service that always exits at once is restarted with growing delays, not
# in a tight loop; one that exits with the fatal status (78) is not
# restarted and the node shuts down with a message.
. "$(dirname "$0")/lib.sh"

# chorusd starts services from its own folder: build one with a broken relay.
mkdir -p "$T/bin"
cp "$BIN"/chorusd "$BIN"/chorus-transport "$BIN"/chorus-discovery "$BIN"/chorus-mempool "$T/bin/"
printf '#!/bin/sh\nexit 3\n' >"$T/bin/chorus-relay"
chmod +x "$T/bin/chorus-relay"
CHORUSD=$T/bin/chorusd
t0=$(date +%s%N)
start_node a --listen 127.0.0.1:$((PORT_BASE + 6)) --restart-backoff-max 2s
# the first seven exits: restarted at once, then after 100, 200, 400, 800,
# 1600 ms and then the 2 s cap
relay_exits() { [ "$(grep -c 'relay (pid [0-9]*) exited: exit 3.*restarting in' "$T/a/chorus.log")" -ge "$1" ]; }
wait_for 30 "seven relay exits in the log" relay_exits 7
ms=$((($(date +%s%N) - t0) / 1000000))
delays=$(grep -o 'relay (pid [0-9]*) exited: exit 3.*restarting in [0-9]* ms' "$T/a/chorus.log" |
	head -n 7 | grep -o '[0-9]* ms$' | tr -d ' ms' | tr '\n' ' ')
[ "$delays" = "0 100 200 400 800 1600 2000 " ] || fail "restart delays: $delays"
# the delays are really waited: the sixth restart cannot come before 3.1 s
[ $ms -ge 3100 ] || fail "seven exits within $ms ms: the delays were not waited"
r=$(svc_field a relay restarts)
[ -n "$r" ] || fail "no status from the node"
[ "$r" -le 8 ] || fail "relay restarted $r times for 7 logged exits"
st=$(svc_field a relay state)
ok "crash loop: delays $delays ms, $r restarts after $ms ms (state $st)"
for s in transport discovery mempool; do
	[ "$(svc_field a $s restarts)" -eq 0 ] || fail "$s restarted"
done
kill -TERM "$PID_a"; wait "$PID_a" || fail "stop with a crash-looping service failed"

printf '#!/bin/sh\nexit 78\n' >"$T/bin/chorus-relay"
start_node b --listen 127.0.0.1:$((PORT_BASE + 7))
wait "$PID_b"
rc=$?
[ $rc -ne 0 ] || fail "chorusd exited 0 after a fatal service exit"
grep -q 'relay exited with status 78 (fatal' "$T/b/chorus.log" || fail "fatal exit not explained in the log"
[ "$(ls "$T/b/run")" = "" ] || fail "run/ not cleaned after fatal shutdown"
ok "fatal exit: node shut down with status $rc and a message"
