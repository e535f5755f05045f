#!/usr/bin/env bash
# A node starts with four services; kill -9 of each service restarts only
# that one, which answers its command socket again; SIGTERM stops the node
# with exit 0 and leaves no process, segment, socket or pid file.
. "$(dirname "$0")/lib.sh"

start_node a --listen 127.0.0.1:$PORT_BASE
wait_until 10 node_running a || fail "node did not reach running"
ok "four services running"
SHM=$(cat "$T/a/run/chorusd.shm")
[ -e "/dev/shm/${SHM#/}" ] || fail "no shared-memory segment $SHM"

for svc in transport discovery relay mempool; do
	declare -A before=()
	for s in transport discovery relay mempool; do before[$s]=$(svc_field a $s restarts); done
	old=$(svc_pid a $svc)
	alive "$old" || fail "$svc pid $old not alive"
	kill -9 "$old"
	wait_until 5 bash -c "p=\$(cat $T/a/run/$svc.pid 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != $old ]" ||
		fail "$svc was not restarted"
	wait_until 5 ctl a ping $svc || fail "$svc does not answer ping after restart"
	wait_until 5 node_running a || fail "node not running after $svc restart"
	for s in transport discovery relay mempool; do
		now=$(svc_field a $s restarts)
		if [ $s = $svc ]; then
			[ "$now" -eq $((before[$s] + 1)) ] || fail "$s restarts $now, expected $((before[$s] + 1))"
		else
			[ "$now" -eq "${before[$s]}" ] || fail "$s restarted although $svc was killed"
		fi
	done
	last=$(svc_field a $svc last_exit)
	echo "$last" | grep -q 'signal 9' || fail "$svc last_exit '$last' does not say signal 9"
	ok "$svc restarted after kill -9 (pid $old -> $(svc_pid a $svc)), others untouched"
done

# status in plain text names every service
out=$(ctl a status) || fail "chorusctl status failed"
for s in transport discovery relay mempool; do echo "$out" | grep -q "$s" || fail "status lacks $s"; done

pids=$(pgrep -f -- "$T/a( |$)")
kill -TERM "$PID_a"
wait "$PID_a"
rc=$?
[ $rc -eq 0 ] || fail "chorusd exited $rc after SIGTERM"
for p in $pids; do alive "$p" && fail "process $p still alive after stop"; done
[ -e "/dev/shm/${SHM#/}" ] && fail "segment $SHM left behind"
left=$(ls "$T/a/run" 2>/dev/null)
[ -z "$left" ] || fail "run/ not empty after stop: $left"
[ -e "$T/a/chorusd.lock" ] && fail "lock file left behind"
grep -q 'exit 0' "$T/a/chorus.log" || fail "services did not log exit 0"
ok "SIGTERM: exit 0, nothing left behind"
