#!/usr/bin/env bash
# The per-peer send bound (docs/transport.md "Backpressure and memory"):
# over 8 MiB waiting for one peer (TP_OUT_HARD) that peer is disconnected
# ("send queue over its limit") and scored.  The peer here never reads and
# keeps a 4 KiB receive buffer; every other way to close it (send-timeout,
# ping-timeout, idle-timeout) is set far beyond the test, so only the
# bound can.  What fills its queue is what a node sends unasked: blocks,
# each pushed in compact form to every peer (4,096 ids, the most a block lists: ~25 KB each).
. "$(dirname "$0")/lib.sh"

P=$PORT_BASE
start_node a --listen 127.0.0.1:$P --max-outbound 0 --send-timeout 1h --ping-timeout 1h \
	--idle-timeout 1h
wait_until 30 node_running a || fail "node a not running"
"$EVIL" noread 127.0.0.1 $P --src 127.0.76.1 --secs 240 >"$T/noread.out" 2>&1 &
EVIL_PID=$!
wait_until 20 has_peers a 1 || fail "the reader-less peer did not connect: $(cat "$T/noread.out")"

closed() { log_has a "127.0.76.1.*disconnected: send queue over its limit"; }
# one list of ids for every block: each block differs by its height
ids=$(head -c 131072 /dev/urandom | od -An -v -tx1 | tr -d ' \n' | fold -w64)
blocks=0
while ! closed; do
	[ $blocks -lt 1500 ] || fail "1500 blocks (~37 MB) sent and the peer is still connected"
	# shellcheck disable=SC2086 # one argument per id
	ctl a block submit $ids >/dev/null || fail "block submit $blocks"
	blocks=$((blocks + 1))
done
# (the peer itself may never see the close: the FIN waits behind the
# bytes its full window does not take)
no_peers() { [ "$(peer_count a)" -eq 0 ]; }
wait_until 10 no_peers || fail "the peer is still listed"
kill "$EVIL_PID"
log_has a "127.0.76.1.*misbehaved \(\+10, score [0-9]+\): send queue over 8 MiB" ||
	fail "the peer was not scored for its queue"
slow=$(ctl a --json status transport | grep -o '"slow_closed": *[0-9]*' | grep -o '[0-9]*$')
[ "${slow:-0}" -ge 1 ] || fail "slow_closed is ${slow:-missing}"
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$(svc_pid a transport)/status")
ok "closed and scored at the 8 MiB bound after $blocks blocks; slow_closed $slow; transport peak RSS $hwm kB"
