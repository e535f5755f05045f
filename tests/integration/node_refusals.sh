#!/usr/bin/env bash
# Bad configuration, bad flags, an occupied or unusable datadir: each is
# refused at start with a clear message and a non-zero exit.
. "$(dirname "$0")/lib.sh"

# expect_refusal PATTERN ARGS...: chorusd must exit non-zero, printing PATTERN.
expect_refusal() {
	local pat=$1
	shift
	local out rc
	out=$(timeout 20 "$CHORUSD" --foreground "$@" 2>&1)
	rc=$?
	[ $rc -ne 0 ] || fail "accepted: $* (output: $out)"
	[ $rc -ne 124 ] || fail "hung: $*"
	echo "$out" | grep -q -- "$pat" || fail "for '$*' expected /$pat/, got: $out"
	ok "refused ($rc): $out"
}

mkdir -p "$T/c"
expect_refusal 'max-peers' --datadir "$T/c" --max-peers abc
expect_refusal 'max-peers.*maximum' --datadir "$T/c" --max-peers 100000
expect_refusal 'no-such-flag' --datadir "$T/c" --no-such-flag 1
expect_refusal 'listen' --datadir "$T/c" --listen 127.0.0.1:99999
expect_refusal 'network' --datadir "$T/c" --network 'Bad Name'
expect_refusal 'ring-size' --datadir "$T/c" --ring-size 3m
expect_refusal 'netgroup' --datadir "$T/c" --netgroup nearby
# both limits set by hand and contradictory: the message names both keys
# and what to change, on one line that ends in a newline
expect_refusal 'max-outbound 4 must be below max-peers 2: lower max-outbound or raise max-peers' \
	--datadir "$T/c" --max-peers 2 --max-outbound 4
"$CHORUSD" --foreground --datadir "$T/c" --max-peers 2 --max-outbound 4 >"$T/refusal.txt" 2>&1
[ "$(wc -l <"$T/refusal.txt")" -eq 1 ] && [ "$(tail -c 1 "$T/refusal.txt" | od -An -c | tr -d ' ')" = '\n' ] ||
	fail "the refusal is not one line ending in a newline: $(od -c "$T/refusal.txt" | tail -3)"
ok "a refusal is one line ending in a newline"
printf 'listen = 127.0.0.1:7433\nbogus-key = 1\n' >"$T/c/bad.conf"
expect_refusal 'bad.conf:2: bogus-key' --datadir "$T/c" --config "$T/c/bad.conf"
printf 'log-level = loud\n' >"$T/c/bad2.conf"
expect_refusal 'bad2.conf:1: log-level' --datadir "$T/c" --config "$T/c/bad2.conf"
expect_refusal 'nosuch.conf' --datadir "$T/c" --config "$T/c/nosuch.conf"
expect_refusal 'unexpected argument' --datadir "$T/c" stray

# a datadir that is a file, and one on a read-only file system
touch "$T/file"
expect_refusal 'not a directory' --datadir "$T/file"
expect_refusal 'datadir' --datadir /proc/chorus-test-datadir

# flags win over the file: the file's bad value is overridden
printf 'max-peers = 7\n' >"$T/c/good.conf"
start_node c --config "$T/c/good.conf" --max-peers 9 --listen 127.0.0.1:$((PORT_BASE + 4))
wait_until 10 node_running c || fail "node with good config did not start"

# max-peers alone lowered: max-outbound follows (derived), and
# --print-config says where each value came from; its output parses back
"$CHORUSD" --datadir "$T/c" --max-peers 2 --print-config >"$T/eff.conf" || fail "--print-config failed"
grep -qx 'max-peers = 2  # flag' "$T/eff.conf" || fail "max-peers: $(grep max-peers "$T/eff.conf")"
grep -qx 'max-outbound = 1  # derived' "$T/eff.conf" || fail "max-outbound: $(grep max-outbound "$T/eff.conf")"
grep -qx 'idle-timeout = 90s  # default' "$T/eff.conf" || fail "idle-timeout: $(grep idle-timeout "$T/eff.conf")"
"$CHORUSD" --config "$T/eff.conf" --print-config >"$T/eff2.conf" || fail "--print-config output does not parse back"
grep -qx 'max-peers = 2  # file' "$T/eff2.conf" || fail "read back: $(grep max-peers "$T/eff2.conf")"
ok "--print-config: max-outbound derived from max-peers 2; the output parses back"
start_node small --max-peers 2 --listen 127.0.0.1:$((PORT_BASE + 6))
wait_until 15 node_running small || fail "a node with --max-peers 2 did not start"
ok "--max-peers 2 alone starts"

# occupied datadir
expect_refusal 'in use by another chorusd' --datadir "$T/c" --listen 127.0.0.1:$((PORT_BASE + 5))
node_running c || fail "the running node suffered from the refused second one"
kill -TERM "$PID_c"; wait "$PID_c" || fail "stop failed"

# the sample configuration documents real keys with valid values: every
# line uncommented must parse
sample=$(dirname "$0")/../../deploy/chorus.conf.sample
sed -n 's/^# \([a-z-]* = [^#]*\).*/\1/p' "$sample" >"$T/sample.conf"
[ "$(wc -l <"$T/sample.conf")" -ge 20 ] || fail "too few keys taken from the sample"
"$CHORUSD" --config "$T/sample.conf" --help >/dev/null || fail "deploy/chorus.conf.sample does not parse"
ok "deploy/chorus.conf.sample: $(wc -l <"$T/sample.conf") keys parse"
