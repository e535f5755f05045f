#!/usr/bin/env bash
# Hostile peers: each failure mode gives a logged reason, a disconnect and a
# score; the bad ones get their address banned; bans survive a restart; the
# node keeps serving honest peers throughout.
. "$(dirname "$0")/lib.sh"

P=$((PORT_BASE + 0))
start_node a --listen 127.0.0.1:$P --handshake-timeout 2s
wait_until 10 node_running a || fail "node a not running"

# evil MODE SRC LOGREGEX: the tool sees the expected reaction and the log
# names the reason.
evil() {
	local mode=$1 src=$2 re=$3 out
	out=$(timeout 40 "$EVIL" "$mode" 127.0.0.1 $P --src "$src" 2>&1) || fail "$mode: $out"
	wait_until 5 log_has a "$re" || fail "$mode: log lacks /$re/"
	ok "$mode from $src: $(echo "$out" | tail -1)"
}

evil garbage     127.0.11.1 "127.0.11.1.*misbehaved.*garbage before the handshake"
evil slowloris   127.0.12.1 "127.0.12.1.*misbehaved.*handshake not completed"
evil truncated   127.0.13.1 "127.0.13.1.*misbehaved.*handshake not completed"
evil wrongnet    127.0.14.1 "refusing peer 127.0.14.1.*wrong network 'not-this-network'"
evil oldversion  127.0.15.1 "refusing peer 127.0.15.1.*version 0 is too old"
evil oversized   127.0.16.1 "127.0.16.1.*misbehaved.*oversized PING frame"
evil badcrc      127.0.17.1 "127.0.17.1.*misbehaved.*bad checksum"
evil badtag      127.0.18.1 "127.0.18.1.*misbehaved.*record failed authentication"
evil pingflood   127.0.19.1 "127.0.19.1.*misbehaved.*ping flood"
evil unknowntype 127.0.20.1 "peer 127.0.20.1.*connected"

# banned: garbage, oversized, badtag, pingflood; not banned: the others
bans=$(ctl a bans)
for ip in 127.0.11.1 127.0.16.1 127.0.18.1 127.0.19.1; do
	echo "$bans" | grep -q "^$ip " || fail "$ip not banned: $bans"
done
for ip in 127.0.12.1 127.0.14.1 127.0.15.1 127.0.20.1; do
	echo "$bans" | grep -q "^$ip " && fail "$ip banned but should not be"
done
ok "bans: $(echo "$bans" | wc -l) addresses"
"$EVIL" refused 127.0.0.1 $P --src 127.0.16.1 >/dev/null || fail "a banned address was let in"
log_has a "refused inbound 127.0.16.1.*is banned" || fail "refusal of a banned address not logged"

# honest peers are still served
start_node b --listen 127.0.0.1:$((P + 1)) --seed 127.0.0.1:$P
wait_until 10 has_peers a 1 || fail "an honest peer could not connect after the attacks"
ok "an honest peer connects after the attacks"

# bans survive a restart; an operator ban and unban
kill -TERM "$PID_a"; wait "$PID_a" || fail "stop failed"
start_node a --listen 127.0.0.1:$P --handshake-timeout 2s
wait_until 10 node_running a || fail "node a did not restart"
ctl a bans | grep -q "^127.0.18.1 " || fail "bans lost across a restart"
"$EVIL" refused 127.0.0.1 $P --src 127.0.18.1 >/dev/null || fail "ban not enforced after restart"
ok "bans persist across a restart"
ctl a ban 127.0.30.1 60 >/dev/null || fail "operator ban failed"
ctl a bans | grep -q "^127.0.30.1 " || fail "operator ban not listed"
ctl a unban 127.0.30.1 >/dev/null || fail "unban failed"
ctl a bans | grep -q "^127.0.30.1 " && fail "unban did not lift the ban"
ctl a unban 127.0.99.9 >/dev/null 2>&1 && fail "unban of an address never banned succeeded"
ctl a ban not-an-ip >/dev/null 2>&1 && fail "ban of a non-address accepted"
ok "operator ban and unban"
