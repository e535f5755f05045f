#!/usr/bin/env bash
# When nobody drains transport.relay, transport stops reading from the peer
# (TCP backpressure) instead of buffering: the sender blocks, the node's
# memory stays flat, the connection stays up and nothing is counted as
# misbehaviour.  The stopped consumer is a real one: relay under SIGSTOP
# (with a heartbeat timeout long enough that chorusd lets it be).
. "$(dirname "$0")/lib.sh"

P=$PORT_BASE
start_node a --listen 127.0.0.1:$P --ring-size 1m --ring-max-msg 64k --heartbeat-timeout 60s
wait_until 10 node_running a || fail "node a not running"
RELAY=$(svc_pid a relay)
kill -STOP "$RELAY"
out=$("$EVIL" txflood 127.0.0.1 $P --src 127.0.50.1 --secs 5 2>&1)
rc=$?
# read the state while relay is still stopped: once it runs again it works
# through the backlog (and scores the flood's payloads, which are garbage)
st=$(ctl a --json status transport)
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$(svc_pid a transport)/status")
kill -CONT "$RELAY"
[ $rc -eq 0 ] || fail "$out"
ok "$(echo "$out" | head -1)"
echo "$st" | grep -q '"ring_full": *[1-9]' || fail "transport never found the ring full: $st"
echo "$st" | grep -q '"bans": *0' || fail "the flooding peer was banned while relay was stopped: $st"
[ "$rss" -lt 65536 ] || fail "transport grew to $rss kB while paused"
ok "transport paused reading (ring_full counted), kept the peer, RSS $rss kB"
ctl a status | grep -q 'transport.relay' || fail "status lacks the ring"
