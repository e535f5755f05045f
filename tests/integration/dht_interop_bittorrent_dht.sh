#!/usr/bin/env bash
# Interoperability with the npm package bittorrent-dht (webtorrent's BEP 5 /
# BEP 44 implementation): it bootstraps from a Chorus node and finds nodes
# through it; immutable and mutable items (salt, seq, cas, including a
# refused stale cas) put by either side are fetched and verified by the
# other; announce_peer / get_peers work both ways; a Chorus node bootstraps
# from it.  The steps are in tests/interop/btdht_peer.mjs.
#
# The package is installed into $BUILD/npm at test time when missing
# (npm install --prefix $BUILD/npm bittorrent-dht).  Skipped (exit 77 with a
# SKIP line) when node or npm is missing or the install fails.
. "$(dirname "$0")/lib.sh"

NPM_DIR=$(cd "$BUILD" && pwd)/npm
PKG=$NPM_DIR/node_modules/bittorrent-dht
if ! command -v node >/dev/null 2>&1; then
	skip "node is not installed (apt-get install nodejs npm)"
fi
if [ ! -f "$PKG/index.js" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		skip "npm is not installed, cannot install bittorrent-dht"
	fi
	mkdir -p "$NPM_DIR"
	if ! timeout 120 npm install --prefix "$NPM_DIR" --no-audit --no-fund bittorrent-dht >"$T/npm.out" 2>&1; then
		skip "npm install bittorrent-dht failed: $(tail -n 3 "$T/npm.out" | tr '\n' ' ')"
	fi
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

timeout 90 node "$(dirname "$0")/../interop/btdht_peer.mjs" "$PKG" "$CTL" $((PORT_BASE + 5)) \
	"$T/s" "$seed" "$T/a" "$T/b" "$T/lone" || fail "bittorrent-dht interop failed"
ok "bittorrent-dht $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$PKG/package.json") interoperates"
