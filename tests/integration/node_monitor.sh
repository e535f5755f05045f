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

"$MON" --datadir "$T/a" --json --filter event.chorusd --count 3 --duration 15 >"$T/mon.json" 2>&1 &
M=$!
sleep 1 # subscriptions connect lazily
kill -9 "$(svc_pid a relay)"
wait "$M" || fail "chorus-mon did not see 3 events: $(cat "$T/mon.json")"
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
