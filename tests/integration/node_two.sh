#!/usr/bin/env bash
# Two nodes with their own datadirs and ports run side by side: separate
# segments and sockets; a crash in one leaves the other alone.
. "$(dirname "$0")/lib.sh"

start_node a --listen 127.0.0.1:$((PORT_BASE + 2))
start_node b --listen 127.0.0.1:$((PORT_BASE + 3))
wait_until 10 node_running a || fail "node a not running"
wait_until 10 node_running b || fail "node b not running"
[ "$(cat "$T/a/run/chorusd.shm")" != "$(cat "$T/b/run/chorusd.shm")" ] || fail "nodes share a segment"
[ "$(ctl a --json status | grep -o '"node_id": *"[0-9a-f]*"')" != \
  "$(ctl b --json status | grep -o '"node_id": *"[0-9a-f]*"')" ] || fail "nodes share an identity"
kill -9 "$(svc_pid a relay)"
wait_until 5 bash -c "[ \"\$($CTL --datadir $T/a --json status | grep -o '{\"name\": *\"relay\"[^}]*}' | grep -o '\"restarts\": *[0-9]*' | grep -o '[0-9]*$')\" = 1 ]" ||
	fail "relay of a not restarted"
[ "$(svc_field b relay restarts)" -eq 0 ] || fail "node b restarted its relay too"
kill -TERM "$PID_a"; wait "$PID_a" || fail "stopping a failed"
node_running b || fail "node b affected by stopping a"
kill -TERM "$PID_b"; wait "$PID_b" || fail "stopping b failed"
ok "two nodes side by side"
