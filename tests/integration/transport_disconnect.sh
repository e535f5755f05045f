#!/usr/bin/env bash
# `chorusctl disconnect PEER` (docs/transport.md, "Commands"): PEER is the
# peer's id, a prefix of its public key of at least 8 hex digits, or its
# address; only the matching peer is closed, with the operator as reason;
# a PEER that matches nobody is an error.
. "$(dirname "$0")/lib.sh"

P=$PORT_BASE
start_node a --listen 127.0.0.1:$P --max-outbound 0
wait_until 30 node_running a || fail "node a not running"
for h in 1 2 3 4; do
	"$EVIL" hold 127.0.0.1 $P --src 127.0.75.$h --count 1 --secs 120 >"$T/h$h.out" 2>&1 &
done
wait_until 30 has_peers a 4 || fail "a has $(peer_count a) peers, expected 4"

# peer_of IP FIELD: a field of the peer connected from IP (peers --json)
peer_of() {
	ctl a --json peers | tr '{' '\n' | grep "\"addr\":\"$1:" | grep -o "\"$2\":\"\?[0-9a-f]*" |
		sed 's/.*:"\?//'
}
closed() { grep -q 'closed by the node' "$T/h$1.out"; }

id=$(peer_of 127.0.75.1 id)
key=$(peer_of 127.0.75.2 pubkey)
[ -n "$id" ] && [ ${#key} -eq 64 ] || fail "peers lacks id or pubkey: $(ctl a --json peers)"

out=$(ctl a disconnect "${key:0:7}" 2>&1) && fail "a 7-digit key prefix was accepted: $out"
out=$(ctl a disconnect 127.0.99.1 2>&1) && fail "an address nobody has was accepted: $out"
out=$(ctl a disconnect 999999999 2>&1) && fail "an unknown id was accepted: $out"
holds_for 1 has_peers a 4 || fail "a failed disconnect closed a peer"
ok "no match (7-digit prefix, unknown address, unknown id): an error, nobody closed"

ctl a disconnect "$id" >/dev/null || fail "disconnect by id $id"
wait_for 10 "the peer of id $id to be closed" closed 1
ctl a disconnect "${key:0:8}" >/dev/null || fail "disconnect by key prefix ${key:0:8}"
wait_for 10 "the peer of key ${key:0:8} to be closed" closed 2
ctl a disconnect 127.0.75.3 >/dev/null || fail "disconnect by address"
wait_for 10 "the peer of 127.0.75.3 to be closed" closed 3
for h in 1 2 3; do
	wait_until 10 log_has a "127.0.75.$h.*disconnected: disconnected by the operator" ||
		fail "the log lacks the operator as reason for 127.0.75.$h"
done
closed 4 && fail "the fourth peer was closed too"
has_peers a 1 || fail "the fourth peer is gone"
[ "$(peer_count a)" -eq 1 ] || fail "a has $(peer_count a) peers, expected 1"
ok "disconnect by id, by key prefix and by address each closed that peer only"
