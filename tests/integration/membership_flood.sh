#!/usr/bin/env bash
# An attacker floods the address book: the victim connects to it, and it
# answers every GETPEERS with 2000 addresses, all in one /16 (127.99/16,
# nobody listening).  The victim's book keeps at most one bucket (64
# slots) of that group, since one (address group, source group) pair
# always maps to the same new bucket; the victim still reaches its
# outbound target with honest peers in distinct groups.  Also: a peer
# that pushes unsolicited PEERS faster than transport's per-peer bucket
# allows is scored, and discovery takes at most 10 of its addresses.
. "$(dirname "$0")/lib.sh"

TARGET=4
H=6 # honest nodes
P=$((PORT_BASE + 0))
LIGHT=(--ring-size 1m --ring-max-msg 256k --io-threads 1 --log-level warn)
hip() { echo "127.$((110 + $1)).0.1"; }
EVIL_IP=127.66.0.1
VICTIM_IP=127.70.0.1

# the honest network: h1.. seeded by h0
start_node h0 --listen "$(hip 0):$P" "${LIGHT[@]}" --max-outbound $TARGET
for ((i = 1; i < H; i++)); do
	start_node "h$i" --listen "$(hip $i):$((P + i))" --seed "$(hip 0):$P" "${LIGHT[@]}" \
		--max-outbound $TARGET
done
# the attacker, listening like a node
"$EVIL" peerflood "$EVIL_IP" $((P + 20)) --count 2000 --secs 60 >"$T/flood.out" 2>&1 &
EVILPID=$!
for ((i = 0; i < H; i++)); do wait_until 30 node_running "h$i" || fail "h$i did not start"; done
wait_until 10 grep -q listening "$T/flood.out" || fail "peerflood did not start: $(cat "$T/flood.out")"

# the victim: one honest seed, and the attacker added by hand (a seed
# could be skipped: the DHT may fill the book before seeds are needed).
# Its address groups follow the public-internet rule (netgroup prefix):
# here 127.X/16 stands for an operator's /16.
start_node v --listen "$VICTIM_IP:$((P + 30))" --seed "$(hip 0):$P" "${LIGHT[@]}" \
	--max-outbound $TARGET --netgroup prefix
wait_until 30 node_running v || fail "the victim did not start"
ctl v connect "$EVIL_IP:$((P + 20))" >/dev/null || fail "connect to the attacker refused"
wait_until 20 grep -q 'answered GETPEERS' "$T/flood.out" ||
	fail "the victim never asked the attacker: $(cat "$T/flood.out")"
ok "the attacker answered: $(grep answered "$T/flood.out" | tail -1)"

# honest_out: the victim's full outbound peers that are honest nodes
honest_out() {
	ctl v --json peers | grep -o '"addr":"127\.1[1-9][0-9]\.0\.1:[0-9]*","direction":"outbound"' | wc -l
}
n=0
for _ in $(seq 400); do
	n=$(honest_out)
	[ "$n" -ge $TARGET ] && break
	sleep 0.1
done
[ "$n" -ge $TARGET ] || { ctl v addrbook; fail "the victim has $n honest outbound peers, want $TARGET"; }
ok "the victim keeps $n honest outbound peers"

# the flood's group stays within one bucket (once the answer is in)
addrs_in() { ctl v --json addrbook | grep -o '"addrs_in":[0-9]*' | cut -d: -f2; }
flood_in() { [ "$(addrs_in)" -ge 2000 ]; }
wait_until 15 flood_in ||
	fail "the flood never reached the victim's book: $(ctl v --json addrbook | grep -o '"counters.*')"
group_count() {
	ctl v --json addrbook | grep -o "\"group\":\"$1\",\"new\":[0-9]*,\"tried\":[0-9]*" |
		grep -o '[0-9]*,"tried":[0-9]*$' | tr -d '"tried:' | awk -F, '{print $1 + $2}'
}
flood=$(group_count 127.99)
[ -n "$flood" ] || fail "no 127.99 addresses in the book: was the flood received?"
[ "$flood" -le 64 ] || fail "127.99/16 holds $flood entries (more than one bucket of 64)"
ok "of $(addrs_in) addresses received the book kept $flood of 127.99/16"

# later: dials to the flooded addresses fail, the group does not grow, the
# honest peers stay
sleep 4
flood2=$(group_count 127.99)
[ "$flood2" -le 64 ] || fail "127.99/16 grew to $flood2"
n=$(honest_out)
[ "$n" -ge $TARGET ] || fail "the victim lost honest peers: $n left"
junk=$(ctl v --json addrbook | grep -o '"addr":"127\.99\.[0-9.]*:65002","kind":"[a-z-]*","result":"[a-z]*"' | wc -l)
ok "4 s later: $flood2 entries of 127.99/16, $n honest outbound peers, $junk junk dials in the recent log"
kill "$EVILPID" 2>/dev/null
wait "$EVILPID" 2>/dev/null || true

# unsolicited PEERS: transport passes 2 (burst), scores the rest; discovery
# takes at most the peer's token bucket (10 addresses) from what passes
out=$("$EVIL" peersflood "$VICTIM_IP" $((P + 30)) --src 127.67.0.1 --count 20 2>&1) ||
	fail "peersflood: $out"
wait_until 5 log_has v "127.67.0.1.*misbehaved \(\+5.*PEERS flood" ||
	fail "excess PEERS were not scored"
unsol=$(group_count 127.98)
[ "${unsol:-0}" -ge 1 ] || fail "no unsolicited address was taken (the PEERS were lost?)"
[ "$unsol" -le 11 ] || fail "unsolicited PEERS added $unsol addresses (bucket of 10)"
ok "unsolicited PEERS: the excess frames scored, ${unsol:-0} addresses of 127.98/16 taken"
