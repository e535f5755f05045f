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
start_node a --listen 127.0.0.1:$((PORT_BASE + 6)) --restart-backoff-max 2s
sleep 3
r=$(svc_field a relay restarts)
[ -n "$r" ] || fail "no status from the node"
# 3 s of backoff 0, 100, 200, 400, 800, 1600 ms: about 6 restarts, not hundreds
[ "$r" -ge 3 ] && [ "$r" -le 10 ] || fail "relay restarted $r times in 3 s"
st=$(svc_field a relay state)
ok "crash loop: $r restarts in 3 s (state $st)"
for s in transport discovery mempool; do
	[ "$(svc_field a $s restarts)" -eq 0 ] || fail "$s restarted"
done
grep -q 'relay (pid [0-9]*) exited: exit 3.*restarting in' "$T/a/chorus.log" || fail "exit not logged"
kill -TERM "$PID_a"; wait "$PID_a" || fail "stop with a crash-looping service failed"

printf '#!/bin/sh\nexit 78\n' >"$T/bin/chorus-relay"
start_node b --listen 127.0.0.1:$((PORT_BASE + 7))
wait "$PID_b"
rc=$?
[ $rc -ne 0 ] || fail "chorusd exited 0 after a fatal service exit"
grep -q 'relay exited with status 78 (fatal' "$T/b/chorus.log" || fail "fatal exit not explained in the log"
[ "$(ls "$T/b/run")" = "" ] || fail "run/ not cleaned after fatal shutdown"
ok "fatal exit: node shut down with status $rc and a message"
