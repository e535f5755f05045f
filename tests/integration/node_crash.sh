#!/usr/bin/env bash
# kill -9 of chorusd: its services exit within a few seconds (no orphans);
# a new chorusd on the same datadir cleans up and starts normally.
. "$(dirname "$0")/lib.sh"

start_node a --listen 127.0.0.1:$((PORT_BASE + 1))
wait_until 10 node_running a || fail "node did not reach running"
svcs=""
for s in transport discovery relay mempool; do svcs="$svcs $(svc_pid a $s)"; done
SHM=$(cat "$T/a/run/chorusd.shm")
kill -9 "$PID_a"
wait "$PID_a" 2>/dev/null
gone() { for p in $svcs; do alive "$p" && return 1; done; return 0; }
wait_until 5 gone || fail "services outlived chorusd:$(for p in $svcs; do alive $p && echo -n " $p"; done)"
ok "every service exited after kill -9 of chorusd"

start_node a --listen 127.0.0.1:$((PORT_BASE + 1))
wait_until 10 node_running a || fail "restarted node did not reach running"
[ "$(cat "$T/a/run/chorusd.shm")" = "$SHM" ] || fail "segment name changed"
for s in transport discovery relay mempool; do
	[ "$(svc_field a $s restarts)" -eq 0 ] || fail "$s restarts not 0 on a fresh node"
done
ok "new chorusd on the same datadir started cleanly"

# A service stopped with SIGSTOP sends no heartbeat: it is killed and restarted.
kill -TERM "$PID_a"; wait "$PID_a"
start_node a --listen 127.0.0.1:$((PORT_BASE + 1)) --heartbeat-timeout 1s
wait_until 10 node_running a || fail "node did not reach running"
old=$(svc_pid a relay)
kill -STOP "$old"
wait_until 10 bash -c "p=\$(cat $T/a/run/relay.pid 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != $old ]" ||
	fail "a silent relay was not restarted"
grep -q 'relay.*sent no heartbeat' "$T/a/chorus.log" || fail "no heartbeat message in the log"
wait_until 5 ctl a ping relay || fail "relay does not answer after heartbeat restart"
ok "a service without heartbeat is killed and restarted"
kill -TERM "$PID_a"; wait "$PID_a" || fail "stop failed"
