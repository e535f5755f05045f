#!/usr/bin/env bash
# A peer that keeps talking (its own PING every 500 ms, so it is never
# idle) but never answers ours is closed after ping-timeout (here 2 s; the
# node pings a peer when it connects and every 15 s).
. "$(dirname "$0")/lib.sh"

P=$PORT_BASE
start_node a --listen 127.0.0.1:$P --max-outbound 0 --ping-timeout 2s
wait_until 30 node_running a || fail "node a not running"
out=$("$EVIL" noping 127.0.0.1 $P --src 127.0.62.1 --secs 30 2>&1) || fail "$out"
ok "$(echo "$out" | head -1)"
wait_until 5 log_has a "127.0.62.1.*disconnected: PING not answered in 2000 ms" ||
	fail "the log lacks the reason"
ok "the silent-to-PING peer was closed for it"
