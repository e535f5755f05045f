#!/usr/bin/env bash
# The Python client (clients/python) against two real nodes a - b:
#   - the offline vectors of docs/protocol.md 2.4 (clients/python/tests/test_tx.py);
#   - clients/python/tests/test_live.py: a transaction built and signed in
#     Python is accepted with the id Python computed; a tampered signature
#     is refused as bad_sig; a batch gets per-item verdicts; a tx submitted
#     at either node reaches the other's pool; top N is in fee-rate order;
#     block submit; producers list/set/add/remove; typed errors; timeouts;
#   - the README's quickstart, which must be examples/quickstart.py verbatim,
#     runs as written.
# Needs Debian's python3-zmq, python3-msgpack, python3-nacl under
# /usr/bin/python3 (tools/deps.sh installs them); skips without.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
PYC=$(cd "$(dirname "$0")/../../clients/python" && pwd)

[ -x $PY ] || skip "no /usr/bin/python3"
miss=$($PY -c '
import importlib.util
for mod, pkg in (("zmq", "python3-zmq"), ("msgpack", "python3-msgpack"), ("nacl", "python3-nacl")):
    if importlib.util.find_spec(mod) is None:
        print(pkg)
' 2>&1) || skip "/usr/bin/python3 fails: $miss"
miss=$(echo $miss)
[ -z "$miss" ] || skip "missing $miss (apt-get install -y $miss)"

out=$($PY "$PYC/tests/test_tx.py" 2>&1) || fail "offline vectors: $out"
ok "Python encoder: the protocol's test vectors (ids, signatures, encodings)"

PA=$PORT_BASE
PB=$((PORT_BASE + 1))
start_node a --listen 127.0.0.1:$PA --max-outbound 0
start_node b --listen 127.0.0.1:$PB --max-outbound 0
wait_until 30 node_running a || fail "a did not start"
wait_until 30 node_running b || fail "b did not start"
edge_up() {
	ctl b --json peers | grep -q "\"addr\":\"127.0.0.1:$PA\""
}
ctl b connect 127.0.0.1:$PA >/dev/null || fail "connect b to a"
wait_until 30 edge_up || fail "b - a did not connect"
ok "two nodes a - b"

out=$(CHORUS_A=$T/a CHORUS_B=$T/b CH_WAIT_SCALE=$WAIT_SCALE $PY "$PYC/tests/test_live.py" 2>&1) ||
	fail "test_live.py: $out"
echo "$out" | grep -q "^OK" || fail "test_live.py did not say OK: $out"
echo "$out" | grep -q "skipped" && fail "test_live.py skipped tests: $out"
echo "$out" | grep ' \.\.\. ok$' | sed 's/^/    /'
ok "test_live.py: $(echo "$out" | grep -o '^Ran [0-9]* tests')"

# the README's example is the file, verbatim, and works as written
ex=$(awk '/^<!-- quickstart -->/ { on = 1; next } on && /^```python/ { grab = 1; next }
	grab && /^```/ { exit } grab { print }' "$PYC/README.md")
[ -n "$ex" ] || fail "no quickstart in clients/python/README.md"
[ "$ex" = "$(cat "$PYC/examples/quickstart.py")" ] ||
	fail "README's quickstart differs from examples/quickstart.py"
[ "$(echo "$ex" | wc -l)" -le 12 ] || fail "the quickstart is longer than promised"
out=$(cd "$T" && PYTHONPATH=$PYC $PY "$PYC/examples/quickstart.py" "$T/a" 2>&1) || fail "quickstart: $out"
echo "$out" | head -1 | grep -qE '^accepted [0-9a-f]{64}$' || fail "quickstart output: $out"
[ "$(echo "$out" | sed -n 2p)" = 5000 ] || fail "quickstart get_tx: $out"
[ "$(echo "$out" | wc -l)" -eq 5 ] || fail "quickstart top 3: $out"
ok "README quickstart runs as written"
