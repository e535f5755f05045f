#!/usr/bin/env bash
# Admission under abuse.  Handshake slots are limited per address (4) and
# per address group (max-handshakes / 4), so one source cannot hold them
# all; while inbound is full, sockets that never finish a handshake evict
# nobody (a newcomer that completes its handshake still does); and a
# peer's misbehaviour points outlive its connection: two half-ban offences
# on two connections from one address get it banned.  Groups follow the
# public rule here (netgroup prefix), so 127.X/16 stands for a /16.
. "$(dirname "$0")/lib.sh"

P=$((PORT_BASE + 0))
start_node a --listen 127.0.0.1:$P --netgroup prefix --max-per-group 100 --max-peers 9 \
	--max-outbound 1 --handshake-timeout 10s
wait_until 10 node_running a || fail "node a not running"

# one address: 10 sockets, 4 may handshake, 6 refused at once
"$EVIL" hsflood 127.0.0.1 $P --src 127.7.0.1 --count 10 --secs 2 >"$T/hs1.out" 2>&1
grep -q 'hsflood: 4 of 10 still open' "$T/hs1.out" || fail "per address: $(cat "$T/hs1.out")"
log_has a "refused inbound 127.7.0.1.*4 handshakes from 127.7.0.1 in progress" ||
	fail "the per-address refusal is not logged"
ok "one address holds 4 handshake slots; its other 6 sockets were refused"

# one group: 6 addresses of 127.8/16 with 4 sockets each: 16 (= 64 / 4) held
pids=()
for h in 1 2 3 4 5 6; do
	"$EVIL" hsflood 127.0.0.1 $P --src 127.8.0.$h --count 4 --secs 3 >"$T/g$h.out" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
held=$(cat "$T"/g?.out | grep -o '[0-9]* of 4 still open' | awk '{s += $1} END {print s}')
[ "$held" -eq 16 ] || fail "one group held $held handshake slots, want 16: $(cat "$T"/g?.out)"
log_has a "handshakes from the address group of 127.8.0.[0-9] in progress" ||
	fail "the per-group refusal is not logged"
ok "one address group holds 16 handshake slots"

# inbound full (8): unauthenticated sockets from five addresses evict nobody
"$EVIL" hold 127.0.0.1 $P --src 127.3.0.1 --count 8 --secs 9 >"$T/full.out" 2>&1 &
H=$!
wait_until 15 has_peers a 8 || fail "a has $(peer_count a) peers, expected 8"
for h in 1 2 3 4 5; do
	"$EVIL" hsflood 127.0.0.1 $P --src 127.9.0.$h --count 4 --secs 2 >"$T/f$h.out" 2>&1 &
done
wait_until 10 sh -c "grep -q 'still open' '$T/f5.out'" || fail "hsflood did not report"
sleep 1 # the sockets are held past the report: give an eviction the chance to show
has_peers a 8 || fail "established peers were evicted for unauthenticated sockets: $(peer_count a) left"
log_has a "evicting" && fail "an established peer was evicted for a socket without a handshake"
ok "inbound full: 20 sockets without a handshake evicted nobody"
# a newcomer that finishes its handshake makes room
"$EVIL" hold 127.0.0.1 $P --src 127.5.0.1 --count 1 --secs 2 >"$T/new.out" 2>&1
grep -q 'hold: 1 of 1 connected' "$T/new.out" || fail "the newcomer was not admitted: $(cat "$T/new.out")"
log_has a "inbound full: evicting 127.3.0.1.* for 127.5.0.1" || fail "no eviction for the newcomer"
wait "$H"
grep -q 'hold: 1 closed' "$T/full.out" || fail "eviction: $(cat "$T/full.out")"
ok "a newcomer that completed its handshake evicted one established peer"

# remembered scores: a bad checksum costs 51 points and the connection;
# the second one, on a new connection, reaches the ban
"$EVIL" badcrc 127.0.0.1 $P --src 127.10.0.1 >"$T/b1.out" 2>&1 || fail "badcrc 1: $(cat "$T/b1.out")"
ctl a bans | grep -q 127.10.0.1 && fail "banned after one offence"
"$EVIL" badcrc 127.0.0.1 $P --src 127.10.0.1 >"$T/b2.out" 2>&1 || fail "badcrc 2: $(cat "$T/b2.out")"
wait_until 5 sh -c "'$CTL' --datadir '$T/a' bans | grep -q 127.10.0.1" ||
	fail "not banned after a second offence on a new connection: $(ctl a bans)"
log_has a "misbehaved \(\+51, score 10[0-9]\)" || fail "the score did not carry over"
ok "points carried over to the next connection: banned at the second offence"
