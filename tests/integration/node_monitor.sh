#!/usr/bin/env bash
# chorus-mon shows a node's events and metrics live: a kill -9 appears as
# exit, start and ready events; --json gives one object per line; two nodes
# can be watched at once; chorusctl refuses unknown commands with the list.
. "$(dirname "$0")/lib.sh"

MON=$BIN/chorus-mon
start_node a --listen 127.0.0.1:$PORT_BASE
start_node b --listen 127.0.0.1:$((PORT_BASE + 1))
wait_until 10 node_running a || fail "node a not running"
wait_until 10 node_running b || fail "node b not running"

# The subscription connects lazily: chorus-mon also takes chorusd's metrics
# (one a second), and the first of them on its socket proves the
# subscriptions (sent in order on that one connection) are in place before
# the kill.
"$MON" --datadir "$T/a" --json --filter metrics.chorusd --filter event.chorusd --duration 60 \
	>"$T/mon.json" 2>&1 &
M=$!
wait_for 15 "chorus-mon's first metrics" file_has "$T/mon.json" '"topic":"metrics\.chorusd"'
kill -9 "$(svc_pid a relay)"
wait_for 15 "a service_ready event for relay" \
	file_has "$T/mon.json" '"topic":"event.chorusd.service_ready".*"name":"relay"'
kill -TERM "$M"
wait "$M" || fail "chorus-mon did not exit 0 on SIGTERM: $(cat "$T/mon.json")"
grep -q '"topic":"event.chorusd.service_exited".*"name":"relay".*"status":"signal 9' "$T/mon.json" ||
	fail "no service_exited event for relay: $(cat "$T/mon.json")"
grep -q '"topic":"event.chorusd.service_started".*"name":"relay"' "$T/mon.json" ||
	fail "no service_started event"
ok "chorus-mon --json shows the kill -9, the restart and readiness"

"$MON" --datadir "$T/a" --datadir "$T/b" --filter metrics.chorusd --count 4 --duration 10 >"$T/mon.txt" 2>&1 ||
	fail "chorus-mon on two nodes: $(cat "$T/mon.txt")"
grep -q ' a metrics.chorusd' "$T/mon.txt" || fail "no metrics from node a: $(cat "$T/mon.txt")"
grep -q ' b metrics.chorusd' "$T/mon.txt" || fail "no metrics from node b: $(cat "$T/mon.txt")"
ok "chorus-mon watches two nodes at once"

out=$(ctl a frobnicate 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "an unknown command succeeded"
echo "$out" | grep -q 'status' || fail "unknown command did not list the known ones: $out"
ok "chorusctl: unknown command refused with the list (exit $rc)"
