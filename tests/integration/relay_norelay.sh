#!/usr/bin/env bash
# A peer whose hello declares service bits 0 (it does not relay) gets no
# INV: neither the pool announcement when it connects nor the batches,
# while an honest peer gets every transaction.  The same tool with the
# relay bit set does get INVs (the check can fail).  Both also check that
# the node's hello carries the wall clock of that handshake, not the
# transport's start time.
. "$(dirname "$0")/lib.sh"

P=$PORT_BASE
start_node a --listen 127.0.0.1:$P --max-outbound 0
start_node b --listen 127.0.0.1:$((P + 1)) --max-outbound 0
wait_until 30 node_running a || fail "node a not running"
wait_until 30 node_running b || fail "node b not running"
ctl b connect 127.0.0.1:$P >/dev/null || fail "connect b"
wait_until 20 has_peers a 1 || fail "b did not connect"

ctl a tx submit --random --count 10 >/dev/null || fail "submit"
wait_until 20 has_all b 10 || fail "b did not get the first 10"
"$EVIL" norelay 127.0.0.1 $P --src 127.0.61.1 --svc 0 --secs 6 >"$T/norelay.out" 2>&1 &
E0=$!
"$EVIL" norelay 127.0.0.1 $P --src 127.0.61.2 --svc 1 --secs 6 >"$T/relay.out" 2>&1 &
E1=$!
wait_until 20 has_peers a 3 || fail "the evil peers did not connect"
ctl a tx submit --random --count 10 >/dev/null || fail "submit"
wait_until 20 has_all b 20 || fail "b did not get all 20"
wait "$E0"
rc0=$?
wait "$E1"
rc1=$?
cat "$T/norelay.out" "$T/relay.out"
[ $rc0 -eq 0 ] || fail "the peer that does not relay got INVs (or a stale hello time)"
grep -q "hello time is older" "$T/relay.out" && fail "stale hello time"
grep -qE "norelay: [1-9][0-9]* INVs received with service bits 1" "$T/relay.out" ||
	fail "the relaying peer got no INV: the check cannot fail"
ok "no INV to a peer with service bits 0; the relaying one got them; hello time is current"
