#!/usr/bin/env bash
# Per-peer limits of transport (docs/transport.md, "Connections and
# limits"): a peer over peer-msg-rate or peer-byte-rate gets a point per
# message over the bucket and, kept up, a ban; a peer that sends nothing is
# closed after idle-timeout; max-handshakes bounds handshakes in progress
# from everyone together; a ban ends after ban-time and the address may
# connect again.  Frames of a type the node does not know carry the floods:
# the node skips them, so only the rate limits can react.
. "$(dirname "$0")/lib.sh"

P=$((PORT_BASE + 0))
banned() { ctl a bans | grep -q "^$1 "; }

# message rate 10/s (burst 20): 500 tiny frames at once
start_node a --listen 127.0.0.1:$P --max-outbound 0 --peer-msg-rate 10
wait_until 30 node_running a || fail "node a not running"
out=$("$EVIL" rateflood 127.0.0.1 $P --src 127.0.70.1 --count 500 --len 8 2>&1) || fail "msg rate: $out"
wait_until 10 log_has a "127.0.70.1.*misbehaved \(\+1, score [0-9]+\): message rate above the limit" ||
	fail "the message flood was not scored"
wait_until 10 banned 127.0.70.1 || fail "the message flood was not banned: $(ctl a bans)"
ok "peer-msg-rate 10: $(echo "$out" | head -1); scored a point a message, banned"
# an honest rate under the same limit: nothing
out=$("$EVIL" rateflood 127.0.0.1 $P --src 127.0.70.2 --count 15 --len 8 2>&1) &&
	fail "a peer within its burst was closed: $out"
log_has a "127.0.70.2.*misbehaved" && fail "a peer within its burst was scored"
ok "15 frames (within the burst of 20) are not scored"
kill -TERM "$PID_a"
wait "$PID_a" || fail "a did not stop cleanly"

# byte rate 1 KiB/s (burst 2 KiB), messages unlimited: 8 KB frames; a
# short ban-time, to see the ban end (long enough that the ban is still on
# when the refusal is checked, however busy the machine)
start_node a --listen 127.0.0.1:$P --max-outbound 0 --peer-byte-rate 1k --ban-time 15s
wait_until 30 node_running a || fail "node a did not restart"
out=$("$EVIL" rateflood 127.0.0.1 $P --src 127.0.71.1 --count 200 --len 8000 2>&1) ||
	fail "byte rate: $out"
wait_until 10 banned 127.0.71.1 || fail "the byte flood was not banned: $(ctl a bans)"
log_has a "127.0.71.1.*message rate above the limit" || fail "the byte flood was not scored"
ok "peer-byte-rate 1k: $(echo "$out" | head -1); banned"

# ban expiry: refused while banned, then (ban-time 15 s) let in again
"$EVIL" refused 127.0.0.1 $P --src 127.0.71.1 >/dev/null || fail "a banned address was let in"
log_has a "refused inbound 127.0.71.1.*is banned" || fail "the refusal is not logged"
comes_in() {
	"$EVIL" hold 127.0.0.1 $P --src 127.0.71.1 --count 1 --secs 1 | grep -q '1 of 1 connected'
}
wait_until 60 comes_in || fail "not let in after the ban ended: $(ctl a bans)"
banned 127.0.71.1 && fail "an expired ban is still listed"
ok "ban-time 15s: the address was refused, then connected again after the ban ended"
kill -TERM "$PID_a"
wait "$PID_a" || fail "a did not stop cleanly"

# idle timeout 2 s (ping-timeout far longer, so only idleness can close it)
start_node a --listen 127.0.0.1:$P --max-outbound 0 --idle-timeout 2s --ping-timeout 120s
wait_until 30 node_running a || fail "node a did not restart"
out=$("$EVIL" silent 127.0.0.1 $P --src 127.0.72.1 --secs 60 2>&1) || fail "idle: $out"
wait_until 10 log_has a "127.0.72.1.*disconnected: idle timeout" || fail "the log lacks the reason"
ok "idle-timeout 2s: $(echo "$out" | head -1)"
log_has a "127.0.72.1.*misbehaved" && fail "an idle peer was scored"
kill -TERM "$PID_a"
wait "$PID_a" || fail "a did not stop cleanly"

# max-handshakes 8, groups by address (per group 8/4 = 2, per address 2):
# 6 addresses with 2 sockets each that never handshake; 8 are held
start_node a --listen 127.0.0.1:$P --max-outbound 0 --netgroup address --max-handshakes 8 \
	--handshake-timeout 20s
wait_until 30 node_running a || fail "node a did not restart"
pids=()
for h in 1 2 3 4 5 6; do
	"$EVIL" hsflood 127.0.0.1 $P --src 127.0.73.$h --count 2 --secs 8 >"$T/hs$h.out" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
held=$(cat "$T"/hs?.out | grep -o '[0-9]* of 2 still open' | awk '{s += $1} END {print s}')
[ "$held" -eq 8 ] || fail "held $held handshake slots, want 8: $(cat "$T"/hs?.out)"
log_has a "refused inbound 127.0.73.*too many handshakes in progress \(8\)" ||
	fail "the global refusal is not logged"
ok "max-handshakes 8: 8 of 12 sockets held, the rest refused"
# the slots come back once those sockets are gone: an honest peer gets in
wait_until 30 sh -c "'$EVIL' hold 127.0.0.1 $P --src 127.0.74.1 --count 1 --secs 1 | grep -q '1 of 1 connected'" ||
	fail "handshake slots were not given back"
ok "handshake slots given back"
