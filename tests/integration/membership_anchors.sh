#!/usr/bin/env bash
# Anchors: besides its full-relay target a node keeps 2 block-relay-only
# connections, remembered in DATADIR/anchors.dat.  Restarted, the node
# dials its anchors first (before the seeds and the book) and they connect
# again as block-relay peers.  A corrupt anchors file is ignored.
. "$(dirname "$0")/lib.sh"

N=10
TARGET=1
P=$((PORT_BASE + 0))
ip_of() { echo "127.$((130 + $1)).0.1"; }
LIGHT=(--ring-size 1m --ring-max-msg 256k --io-threads 1 --log-level warn
	--max-outbound $TARGET)
args_of() {
	local i=$1
	echo "--listen $(ip_of $i):$((P + i))"
	[ "$i" -gt 0 ] && echo "--seed $(ip_of 0):$P"
}

for ((i = 0; i < N; i++)); do
	# shellcheck disable=SC2046 # the flags split on purpose
	start_node "n$i" $(args_of $i) "${LIGHT[@]}"
done
for ((i = 0; i < N; i++)); do wait_until 30 node_running "n$i" || fail "n$i did not start"; done

V=n$((N - 1))
br_count() { ctl "$1" --json peers | grep -o '"kind":"block-relay"' | wc -l; }
has_anchors() { [ "$(br_count $V)" -ge 2 ] && [ -s "$T/$V/anchors.dat" ]; }
wait_until 40 has_anchors || { ctl $V addrbook; fail "$V has $(br_count $V) block-relay peers, want 2"; }
anchors=$(ctl $V --json addrbook | grep -o '"anchors":\[[^]]*\]' | grep -o '"addr":"[0-9.:]*"' |
	cut -d'"' -f4 | sort)
[ "$(echo "$anchors" | wc -l)" -eq 2 ] || fail "anchors: $anchors"
ok "$V keeps 2 block-relay peers, its anchors: $(echo $anchors)"
# the anchors are block-relay connections, in groups of their own
br_addrs=$(ctl $V --json peers | grep -o '"addr":"[0-9.:]*","direction":"outbound"[^}]*"kind":"block-relay"' |
	cut -d'"' -f4 | sort)
[ "$br_addrs" = "$anchors" ] || fail "anchors ($anchors) are not the block-relay peers ($br_addrs)"

# an orderly restart: the anchors are dialed first and connect again
eval "pid=\$PID_$V"
kill -TERM "$pid"
wait "$pid" || fail "$V did not stop cleanly"
[ -s "$T/$V/anchors.dat" ] || fail "anchors.dat lost at the stop"
# shellcheck disable=SC2046
start_node $V $(args_of $((N - 1))) "${LIGHT[@]}"
wait_until 30 node_running $V || fail "$V did not restart"
first_dials() {
	ctl $V --json addrbook | grep -o '"dials":\[.*\],"counters"' |
		grep -o '"addr":"[0-9.:]*","kind":"[a-z-]*"' | head -2
}
wait_until 10 bash -c "[ \$($CTL --datadir $T/$V --json addrbook | grep -o '\"kind\":\"block-relay\"' | wc -l) -ge 2 ]" ||
	fail "$V dialed no anchors after the restart: $(ctl $V addrbook)"
fd=$(first_dials)
echo "$fd" | grep -q '"kind":"block-relay"' || fail "first dials are not block-relay: $fd"
got=$(echo "$fd" | cut -d'"' -f4 | sort)
[ "$got" = "$anchors" ] || fail "the first dials ($got) are not the anchors ($anchors)"
ok "after the restart the first two dials were the anchors: $(echo $got)"
reconnected() {
	local now
	now=$(ctl $V --json peers | grep -o '"addr":"[0-9.:]*","direction":"outbound"[^}]*"kind":"block-relay"' |
		cut -d'"' -f4 | sort)
	[ "$now" = "$anchors" ]
}
wait_until 15 reconnected || fail "the anchors did not reconnect as block-relay peers"
ok "both anchors are connected again as block-relay peers"

# a corrupt anchors file is reported and ignored; the node still runs
eval "pid=\$PID_$V"
kill -TERM "$pid"
wait "$pid" || fail "$V did not stop cleanly"
printf 'CHAN garbage' >"$T/$V/anchors.dat"
# shellcheck disable=SC2046
start_node $V $(args_of $((N - 1))) "${LIGHT[@]}"
wait_until 30 node_running $V || fail "$V did not start with a corrupt anchors file"
wait_until 5 log_has $V "anchors file .* is corrupt" || fail "the corrupt anchors file was not reported"
ok "a corrupt anchors.dat is reported and ignored"
