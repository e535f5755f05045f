#!/usr/bin/env bash
# Interoperability with libtorrent (Debian's python3-libtorrent), the
# reference BEP 5 / BEP 44 implementation: libtorrent bootstraps from a
# Chorus node and finds nodes through it; immutable and mutable (salted)
# items put by either side are fetched and verified by the other;
# announce_peer / get_peers work both ways; a Chorus node bootstraps from
# libtorrent.  The steps are in tests/interop/lt_peer.py.
#
# Skipped (exit 77 with a SKIP line) when /usr/bin/python3 cannot import
# libtorrent: install python3-libtorrent to run it.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
if [ ! -x "$PY" ]; then
	skip "$PY not found (Debian's python3 runs python3-libtorrent)"
fi
if ! why=$("$PY" -c 'import libtorrent' 2>&1); then
	skip "python3-libtorrent is not installed (apt-get install python3-libtorrent): $why"
fi

seed=$((PORT_BASE + 0))
start_node s --listen "127.0.0.1:$seed"
start_node a --listen "127.0.0.1:$((PORT_BASE + 1))" --seed "127.0.0.1:$seed"
start_node b --listen "127.0.0.1:$((PORT_BASE + 2))" --seed "127.0.0.1:$seed"
start_node lone --listen "127.0.0.1:$((PORT_BASE + 3))"
for n in s a b lone; do
	wait_until 15 node_running "$n" || fail "node $n did not start"
done
table_has() {
	local n
	n=$(ctl "$1" --json status discovery | grep -o '"dht_nodes": *[0-9]*' | grep -o '[0-9]*$')
	[ -n "$n" ] && [ "$n" -ge "$2" ]
}
for n in s a b; do
	wait_until 15 table_has "$n" 2 || fail "node $n: DHT table did not fill"
done
ok "three Chorus nodes joined; one more alone"

timeout 90 "$PY" "$(dirname "$0")/../interop/lt_peer.py" "$CTL" $((PORT_BASE + 5)) "$T/s" "$seed" \
	"$T/a" "$T/b" "$T/lone" || fail "libtorrent interop failed"
ok "libtorrent $("$PY" -c 'import libtorrent; print(libtorrent.__version__)') interoperates"
