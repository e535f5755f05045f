#!/usr/bin/env bash
# Connection limits: max-per-group for inbound address groups, and inbound
# eviction by Bitcoin Core's rules of thumb when full.
. "$(dirname "$0")/lib.sh"

P=$((PORT_BASE + 0))
# 2 inbound per /16 group: 127.1.x.x is one group, 127.2.x.x another
start_node a --listen 127.0.0.1:$P --netgroup prefix --max-per-group 2 --max-peers 9 --max-outbound 1
wait_until 10 node_running a || fail "node a not running"
"$EVIL" hold 127.0.0.1 $P --src 127.1.0.1 --count 3 --secs 3 >"$T/hold1.out" 2>&1
grep -q 'hold: 2 of 3 connected' "$T/hold1.out" || fail "per-group limit: $(cat "$T/hold1.out")"
log_has a "refused inbound 127.1.0.1.*address group.*max-per-group 2" || fail "group refusal not logged"
ok "max-per-group 2: the third connection from 127.1/16 refused"

# inbound full (8 = max-peers 9 - max-outbound 1): 6 from 127.3/16, 2 from
# 127.4/16, with max-per-group high; a newcomer from 127.5/16 evicts the
# youngest peer of the most crowded group
kill -TERM "$PID_a"; wait "$PID_a"
start_node a --listen 127.0.0.1:$P --netgroup prefix --max-per-group 100 --max-peers 9 --max-outbound 1
wait_until 10 node_running a || fail "node a not running"
# the small group connects first: older peers are protected by age
"$EVIL" hold 127.0.0.1 $P --src 127.4.0.1 --count 2 --secs 12 >"$T/few.out" 2>&1 &
H2=$!
wait_until 10 has_peers a 2 || fail "the small group did not connect: $(cat "$T/few.out")"
"$EVIL" hold 127.0.0.1 $P --src 127.3.0.1 --count 6 --secs 10 >"$T/crowd.out" 2>&1 &
H1=$!
wait_until 10 has_peers a 8 || fail "a has $(peer_count a) peers, expected 8"
"$EVIL" hold 127.0.0.1 $P --src 127.5.0.1 --count 1 --secs 3 >"$T/new.out" 2>&1
wait "$H1" "$H2"
grep -q 'hold: 1 of 1 connected' "$T/new.out" || fail "the newcomer was not admitted: $(cat "$T/new.out")"
grep -q 'hold: 1 closed' "$T/crowd.out" || fail "no peer of the crowded group evicted: $(cat "$T/crowd.out")"
grep -q 'hold: 0 closed' "$T/few.out" || fail "a peer of the small group was evicted: $(cat "$T/few.out")"
log_has a "inbound full: evicting 127.3.0.1" || fail "eviction not logged"
ok "inbound full: the newcomer evicted a peer of the most crowded group"
