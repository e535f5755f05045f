#!/usr/bin/env bash
# kill -9 discovery: transport keeps every connection (they are its, not
# discovery's), and discovery comes back with its address book
# (DATADIR/addrbook.dat) and its DHT routing table (dht.dat), adopts the
# connections transport reports instead of dialing new ones, and keeps the
# target.  A corrupt address book is reported, kept aside, and a fresh one
# started.
. "$(dirname "$0")/lib.sh"

N=8
TARGET=2
P=$((PORT_BASE + 0))
ip_of() { echo "127.$((150 + $1)).0.1"; }
LIGHT=(--ring-size 1m --ring-max-msg 256k --io-threads 1 --log-level warn
	--max-outbound $TARGET)
for ((i = 0; i < N; i++)); do
	seed=()
	[ $i -gt 0 ] && seed=(--seed "$(ip_of 0):$P")
	start_node "n$i" --listen "$(ip_of $i):$((P + i))" "${seed[@]}" "${LIGHT[@]}"
done
for ((i = 0; i < N; i++)); do wait_until 30 node_running "n$i" || fail "n$i did not start"; done

V=n3
met() { [ "$(full_out $V)" -ge $TARGET ]; }
wait_until 30 met || fail "$V did not reach its target"
book() { ctl $V --json addrbook | grep -o '"new":[0-9]*,"tried":[0-9]*,"collisions"' | head -1; }
peer_ids() { ctl $V --json peers | grep -o '"id":[0-9]*' | sort; }
dht_nodes() { ctl $V --json dht status | grep -o '"nodes":[0-9]*' | head -1 | cut -d: -f2; }
# discovery saves a changed book at once unless it saved less than 5 s
# ago (then when those 5 s are up): a book file older than 6 s therefore
# holds every change, and the live book is what a restart must find.  The
# DHT table (saved each second while it changes) only has to exist.
age() { echo $(($(date +%s) - $(stat -c %Y "$1" 2>/dev/null || date +%s))); }
on_disk() { [ -s "$T/$V/addrbook.dat" ] && [ "$(age "$T/$V/addrbook.dat")" -ge 6 ] && [ -s "$T/$V/dht.dat" ]; }
wait_for 60 "addrbook.dat to hold the whole book (unchanged for 6 s) and dht.dat" on_disk
[ -s "$T/$V/addrbook.dat" ] || fail "no addrbook.dat"
before_book=$(book)
before_peers=$(peer_ids)
before_nodes=$(dht_nodes)
tpid=$(svc_pid $V transport)
dpid=$(svc_pid $V discovery)
ok "$V before: book $before_book, $(echo "$before_peers" | wc -l) connections, $before_nodes DHT nodes"

kill -9 "$dpid"
restarted() { [ -n "$(svc_pid $V discovery)" ] && [ "$(svc_pid $V discovery)" != "$dpid" ] && node_running $V; }
wait_until 15 restarted || fail "discovery was not restarted"
[ "$(svc_pid $V transport)" = "$tpid" ] || fail "transport was restarted too"
after_peers=$(peer_ids)
# every connection is still there (other nodes may have dialed in since)
lost=$(comm -23 <(echo "$before_peers") <(echo "$after_peers"))
[ -z "$lost" ] || fail "connections lost: $(echo $lost) (before $(echo $before_peers) after $(echo $after_peers))"
ok "transport kept all $(echo "$before_peers" | wc -l) connections through the crash"
after_book=$(book)
nb() { echo "$1" | grep -o '[0-9]*' | head -2 | awk '{s += $1} END {print s}'; }
[ "$(nb "$after_book")" -ge "$(nb "$before_book")" ] ||
	fail "the book shrank: before $before_book, after $after_book"
after_nodes=$(dht_nodes)
[ "${after_nodes:-0}" -ge 1 ] || fail "the DHT table came back empty"
ok "discovery came back with its book ($after_book) and $after_nodes DHT nodes"
# it adopted the connections: the outbound count it reports is transport's
adopted() { ctl $V --json addrbook | grep -q "\"outbound\":$(full_out $V),"; }
wait_until 5 adopted || fail "discovery does not count transport's connections: $(ctl $V addrbook | head -3)"
not_over() { [ "$(full_out $V)" -le $((TARGET + 1)) ]; }
holds_for 2 not_over || fail "discovery dialed on top of the kept connections: $(full_out $V) outbound"
ok "discovery adopted the kept connections (outbound $(full_out $V) of $TARGET)"

# a corrupt address book: reported, kept aside, a fresh book
eval "pid=\$PID_$V"
kill -TERM "$pid"
wait "$pid" || fail "$V did not stop cleanly"
printf 'CHAB\001\000\000\000 not a book' >"$T/$V/addrbook.dat"
start_node $V --listen "$(ip_of 3):$((P + 3))" --seed "$(ip_of 0):$P" "${LIGHT[@]}"
wait_until 30 node_running $V || fail "$V did not start with a corrupt book"
wait_until 5 log_has $V "address book .* is corrupt" || fail "the corrupt book was not reported"
[ -f "$T/$V/addrbook.dat.corrupt" ] || fail "the corrupt book was not kept aside"
wait_until 30 met || fail "$V did not reach its target with a fresh book"
ok "a corrupt addrbook.dat is reported, kept as addrbook.dat.corrupt, and the node rejoins"
