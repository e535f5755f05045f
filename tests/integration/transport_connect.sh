#!/usr/bin/env bash
# Nodes find each other through --seed over IPv4 and IPv6, refuse an
# impostor key, encrypt everything after the handshake, and reconnect after
# a kill -9 of transport.
. "$(dirname "$0")/lib.sh"

P=$((PORT_BASE + 0))
start_node a --listen 127.0.0.1:$P
start_node b --listen 127.0.0.1:$((P + 1)) --seed 127.0.0.1:$P
start_node c --listen 127.0.0.1:$((P + 2)) --seed 127.0.0.1:$P --seed 127.0.0.1:$((P + 1))
for n in a b c; do wait_until 15 has_peers $n 2 || fail "node $n has $(peer_count $n) peers, not 2"; done
ok "three nodes on 127.0.0.1 see each other"
ctl a peers | grep -q 'aes-256-gcm\|chacha20-poly1305' || fail "peers does not show the encryption"

# IPv6
if ip -6 addr show lo 2>/dev/null | grep -q '::1'; then
	start_node x --listen "[::1]:$((P + 3))"
	start_node y --listen "[::1]:$((P + 4))" --seed "[::1]:$((P + 3))"
	wait_until 15 has_peers y 1 || fail "no IPv6 connection"
	ctl x peers | grep -q '\[::1\]' || fail "x does not show an IPv6 peer"
	ok "two nodes on ::1"
else
	no_ipv6=1 # the rest still runs; the test ends as skipped
fi

# an impostor: the key we ask for is not the key a has
bogus=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_node d --listen 127.0.0.1:$((P + 5))
wait_until 10 node_running d || fail "node d not running"
ctl d connect "$bogus@127.0.0.1:$P" >/dev/null || fail "connect command failed"
wait_until 10 log_has d "impostor: expected key ${bogus:0:16}" || fail "impostor not refused"
[ "$(peer_count d)" -eq 0 ] || fail "d connected to an impostor"
ok "a dial with the wrong key is refused as an impostor"
# the right key connects
akey=$(ctl a --json status | grep -o '"pubkey": *"[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}')
ctl d connect "$akey@127.0.0.1:$P" >/dev/null || fail "connect with the right key failed"
wait_until 10 has_peers d 1 || fail "d did not connect with the right key"
ok "the same dial with the right key connects"

# nothing in clear after the handshake: a proxy records the TCP stream.  f's
# only way to e is through the proxy, so f having e as a peer, at the
# proxy's address, proves the handshake completed (and the hello, which
# carries the network name and user agent, crossed) inside the capture.
start_node e --listen 127.0.0.1:$((P + 7)) --network capture-secret-net
wait_until 10 node_running e || fail "node e not running"
"$EVIL" capture 127.0.0.1 $((P + 7)) --lport $((P + 6)) --secs 10 --out "$T/capture.bin" \
	>"$T/capture.out" 2>&1 &
CAP=$!
wait_for 10 "the capture proxy to listen" file_has "$T/capture.out" '^capture: listening'
start_node f --listen 127.0.0.1:$((P + 8)) --network capture-secret-net --seed 127.0.0.1:$((P + 6))
wait_ctl 10 f "127\.0\.0\.1:$((P + 6)) .* (aes-256-gcm|chacha20-poly1305)" peers
wait "$CAP" || fail "the capture proxy failed: $(cat "$T/capture.out")"
[ -s "$T/capture.bin" ] || fail "the capture is empty: $(cat "$T/capture.out")"
grep -q 'CHR1' "$T/capture.bin" || fail "capture lacks the clear handshake start (bad capture?)"
grep -q 'capture-secret-net' "$T/capture.bin" && fail "the network name is in clear on the wire"
grep -q 'chorus/0.1.0' "$T/capture.bin" && fail "the user agent is in clear on the wire"
ok "capture of $(stat -c %s "$T/capture.bin") bytes after a completed handshake: handshake start visible, hello and frames not"

# kill -9 transport of b: it comes back, redials its seed, a sees it again
old=$(svc_pid b transport)
kill -9 "$old"
wait_until 15 has_peers b 2 || fail "b did not reconnect after its transport was killed"
[ "$(svc_pid b transport)" != "$old" ] || fail "transport of b not restarted"
wait_until 10 has_peers a 2 || fail "a lost b"
ok "kill -9 transport: restarted and reconnected"
[ -z "${no_ipv6:-}" ] || skip "IPv6 loopback not configured (the IPv4 parts passed)"
