#!/usr/bin/env bash
# A frame left unread because transport.relay is full is charged to the
# peer's rate limits once, when it arrives: the worker's retries (every
# millisecond while relay is stopped) are not the peer's doing.  An honest
# peer sending 20 frames a second under a limit of 100 a second keeps a
# score of 0 however long relay stalls (relay under SIGSTOP).
. "$(dirname "$0")/lib.sh"

P=$PORT_BASE
start_node a --listen 127.0.0.1:$P --ring-size 1m --ring-max-msg 64k --heartbeat-timeout 60s \
	--peer-msg-rate 100
wait_until 10 node_running a || fail "node a not running"
RELAY=$(svc_pid a relay)
kill -STOP "$RELAY"
out=$("$EVIL" trickle 127.0.0.1 $P --src 127.0.51.1 --secs 4 2>&1)
rc=$?
st=$(ctl a --json status transport)
score=$(ctl a --json peers | grep -o '"score": *-\?[0-9]*' | head -1 | sed 's/.*: *//')
# before relay runs again: it then scores the payloads (not transactions)
scored=$(grep "127.0.51.1.*misbehaved" "$T/a/chorus.log" | head -3)
kill -CONT "$RELAY"
[ $rc -eq 0 ] || fail "$out"
ok "$(echo "$out" | head -1)"
echo "$st" | grep -q '"ring_full": *[1-9]' || fail "transport never found the ring full: $st"
[ -z "$scored" ] || fail "the honest peer was scored while relay stalled: $scored"
[ -z "$score" ] || [ "$score" -eq 0 ] || fail "score $score"
ok "paused frames charged once: no points while the ring was full"
