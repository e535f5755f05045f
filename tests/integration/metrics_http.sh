#!/usr/bin/env bash
# chorusd's /metrics endpoint over plain HTTP (curl): off by default; with
# metrics-listen every sample has its family's HELP and TYPE lines, and the
# values follow the node: services up, transactions admitted, a killed
# service's restart and last exit, its counters' new start time.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "skip: curl is not installed"; exit 77; }

MPORT=$((PORT_BASE + 9))
URL=http://127.0.0.1:$MPORT/metrics

# listening_tcp PID: TCP sockets the process listens on (from /proc).
listening_tcp() {
	local ino n=0
	for ino in $(ls -l "/proc/$1/fd" 2>/dev/null | grep -o 'socket:\[[0-9]*\]' | grep -o '[0-9]*'); do
		# column 4 is the state (0A: LISTEN), column 10 the inode
		awk -v i="$ino" '$4 == "0A" && $10 == i {f = 1} END {exit !f}' /proc/net/tcp /proc/net/tcp6 &&
			n=$((n + 1))
	done
	echo $n
}

# off by default: chorusd (the process; transport is another) listens on nothing
start_node off --listen 127.0.0.1:$((PORT_BASE + 1))
wait_until 10 node_running off || fail "node off not running"
[ "$(listening_tcp "$PID_off")" -eq 0 ] || fail "chorusd listens on TCP without metrics-listen"
"$CHORUSD" --datadir "$T/off" --print-config | grep -q '^# metrics-listen is not set' ||
	fail "metrics-listen is set by default"
kill -TERM "$PID_off"; wait "$PID_off"
ok "no metrics endpoint by default"

start_node a --listen 127.0.0.1:$((PORT_BASE + 2)) --metrics-listen 127.0.0.1:$MPORT
wait_until 10 node_running a || fail "node a not running"
[ "$(listening_tcp "$PID_a")" -eq 1 ] || fail "chorusd does not listen on the metrics port"

# metric NAME_AND_LABELS: the value of one sample of a fresh scrape.
metric() {
	curl -sf "$URL" | awk -v k="$1" '$1 == k {print $2; f = 1} END {exit !f}'
}

# metric_is NAME_AND_LABELS VALUE: that sample has that value now.
metric_is() {
	[ "$(metric "$1")" = "$2" ]
}

# check_exposition FILE: every sample's family has HELP and TYPE before it,
# each once; counters end in _total; lines and values parse.
check_exposition() {
	awk '
	/^# HELP / { if (help[$3]++) { print "two HELP for " $3; bad = 1 } next }
	/^# TYPE / { if (type[$3]++) { print "two TYPE for " $3; bad = 1 }
	             if ($4 != "counter" && $4 != "gauge" && $4 != "histogram") { print "type " $4; bad = 1 }
	             kind[$3] = $4; next }
	/^#/ { next }
	!/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [^ ]+$/ {
	  print "bad line: " $0; bad = 1; next }
	{ name = $1; sub(/[{ ].*/, "", name); fam = name
	  if (!(fam in type)) { fam = name; sub(/_(bucket|sum|count)$/, "", fam) }
	  if (!(fam in type) || !(fam in help)) { print "no HELP/TYPE before " name; bad = 1 }
	  if (kind[fam] == "counter" && fam !~ /_total$/) { print "counter without _total: " fam; bad = 1 }
	  if ($NF !~ /^(-?[0-9.e+-]+|NaN|[+-]Inf)$/) { print "bad value: " $0; bad = 1 } }
	END { exit bad }' "$1"
}

# headers and content type
hdr=$(curl -sf -D - -o "$T/m1.txt" "$URL") || fail "GET /metrics failed"
echo "$hdr" | grep -qi '^content-type: text/plain; version=0.0.4' || fail "content type: $hdr"
check_exposition "$T/m1.txt" || fail "malformed exposition"
for f in chorus_service_up chorus_service_restarts_total chorus_process_cpu_seconds_total \
	chorus_process_resident_memory_bytes chorus_ring_depth_bytes chorus_ring_stalls_total \
	chorus_transport_peers chorus_transport_messages_received_total chorus_transport_sent_bytes_total \
	chorus_transport_handshakes_total chorus_transport_misbehaviour_points_total \
	chorus_mempool_transactions chorus_mempool_bytes chorus_mempool_min_fee_rate \
	chorus_mempool_admissions_total chorus_relay_request_seconds chorus_relay_propagation_seconds \
	chorus_dht_nodes chorus_dht_lookups_started_total chorus_dht_queries_received_total; do
	grep -q "^# TYPE $f " "$T/m1.txt" || fail "no family $f"
done
for s in chorusd transport discovery relay mempool; do
	[ "$(metric "chorus_service_up{service=\"$s\"}")" = 1 ] || fail "$s not up in /metrics"
done
id=$(ctl a --json status | grep -o '"node_id": *"[0-9a-f]*"' | grep -o '[0-9a-f]\{40\}')
grep -q "^chorus_node_info{.*node_id=\"$id\"} 1$" "$T/m1.txt" || fail "node id not $id"
rss=$(metric 'chorus_process_resident_memory_bytes{process="mempool"}')
[ "${rss%.*}" -gt 0 ] || fail "mempool RSS $rss"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/")" = 404 ] || fail "/ is not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL")" = 405 ] || fail "POST is not 405"
ok "HELP and TYPE for every sample, services up, node id, RSS, 404 and 405"

N=25
ctl a tx submit --random --count $N >/dev/null || fail "tx submit failed"
wait_until 10 metric_is chorus_mempool_transactions $N ||
	fail "chorus_mempool_transactions is not $N"
[ "$(metric 'chorus_mempool_admissions_total{verdict="accepted"}')" = $N ] || fail "accepted is not $N"
[ "$(metric 'chorus_mempool_admissions_total{verdict="duplicate"}')" = 0 ] || fail "duplicates"
[ "$(metric 'chorus_mempool_bytes')" -gt $((N * 132)) ] || fail "pool bytes too small"
ok "$N transactions: chorus_mempool_transactions and admissions{accepted} = $N"

old=$(metric 'chorus_service_start_time_seconds{service="relay"}')
kill -9 "$(svc_pid a relay)"
wait_until 10 metric_is 'chorus_service_restarts_total{service="relay"}' 1 ||
	fail "relay restart not counted"
wait_until 10 node_running a || fail "node a did not recover"
curl -sf "$URL" | grep -qxF 'chorus_service_last_exit_info{service="relay",status="signal 9 (Killed)"} 1' ||
	fail "relay's last exit is not signal 9: $(curl -sf "$URL" | grep last_exit)"
new=$(metric 'chorus_service_start_time_seconds{service="relay"}')
awk -v o="$old" -v n="$new" 'BEGIN {exit !(n > o)}' || fail "relay start time $old -> $new"
[ "$(metric 'chorus_service_restarts_total{service="mempool"}')" = 0 ] || fail "mempool restarted"
curl -sf -o "$T/m2.txt" "$URL" || fail "GET /metrics failed"
check_exposition "$T/m2.txt" || fail "malformed exposition after a restart"
ok "relay killed: restarts_total 1, last exit signal 9, start time $old -> $new"

# a hung service (SIGSTOP): the scrape still completes, without it; chorusd
# answers its command socket during such a scrape and, still supervising,
# kills the silent relay and restarts it
kill -STOP "$(svc_pid a relay)"
curl -sf -o "$T/m3.txt" "$URL" &
CURL_PID=$!
ctl a status >/dev/null || fail "chorusd did not answer during a scrape"
wait "$CURL_PID" || fail "the scrape with a hung relay failed"
grep -qx 'chorus_service_up{service="relay"} 0' "$T/m3.txt" || fail "a hung relay is reported up"
grep -qx 'chorus_service_up{service="mempool"} 1' "$T/m3.txt" || fail "mempool not up beside a hung relay"
check_exposition "$T/m3.txt" || fail "malformed exposition with a hung relay"
wait_until 20 metric_is 'chorus_service_restarts_total{service="relay"}' 2 ||
	fail "the stopped relay was not restarted"
wait_until 10 metric_is 'chorus_service_up{service="relay"}' 1 || fail "relay not back"
ok "a hung relay: scrape completes with relay up 0, chorusd answers meanwhile, restarts it"

# the metrics address is taken (by a): a second node refuses to start
mkdir -p "$T/b"
"$CHORUSD" --datadir "$T/b" --foreground --listen 127.0.0.1:$((PORT_BASE + 3)) \
	--metrics-listen 127.0.0.1:$MPORT >"$T/b.out" 2>&1
rc=$?
[ $rc -eq 78 ] || fail "a taken metrics address: exit $rc, not 78"
grep -q "metrics-listen 127.0.0.1:$MPORT: Address already in use" "$T/b.out" ||
	fail "no reason given: $(cat "$T/b.out")"
ok "a taken metrics-listen address is refused (exit 78, reason given)"

kill -TERM "$PID_a"; wait "$PID_a" || fail "stopping a failed"
ok "metrics over HTTP"
