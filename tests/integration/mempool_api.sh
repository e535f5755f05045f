#!/usr/bin/env bash
# The mempool through its API and chorusctl: random and hex submissions,
# every result printed, the published test vector accepted, rejections
# with their reason and exit status 1, tx get, mempool list in fee-rate
# order, mempool info, --json everywhere, and PUB events.
. "$(dirname "$0")/lib.sh"
MON=$BIN/chorus-mon

start_node a --listen 127.0.0.1:$((PORT_BASE + 5))
wait_until 10 node_running a || fail "node did not reach running"

# events: accepted and rejected ones arrive on PUB
mon_start a "$T/events.out" mempool event.mempool

out=$(ctl a tx submit --random --count 10) || fail "random submit failed: $out"
[ "$(echo "$out" | grep -c '^accepted ')" -eq 10 ] || fail "not 10 accepted: $out"
echo "$out" | grep -q '10 submitted: 10 accepted, 0 rejected' || fail "no summary: $out"
ok "tx submit --random --count 10: 10 accepted"

# the test vector of docs/protocol.md section 2
V1=86a17601a466726f6dc42003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8a56e6f6e636501a3666565cd03e8a464617461c40c68656c6c6f2063686f727573a3736967c440504dc1c88702bed23c3824d456886099ebb65d46467df47718f78b5bbe41775d68636cc639693952c020a636f30029262edad06f8c0a038db6c1152a408d4d0d
V1_ID=933dcc8f5b512cece9ef16da1f090bf7edc6ee367c4222323428b5a9d2b9856d
# a forged signature (the vector's, every signature digit changed) is
# refused, and does not block the real transaction with the same id
BAD=${V1:0:164}$(printf '%s' "${V1:164}" | tr '0123456789abcdef' '123456789abcdef0')
out=$(ctl a tx submit $BAD 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "rejected $V1_ID bad_sig" || fail "bad sig: $rc $out"
out=$(ctl a tx submit $V1) || fail "vector rejected: $out"
[ "$out" = "accepted $V1_ID fee_rate 6.849" ] || fail "unexpected: $out"
ok "test vector accepted with its id"

out=$(ctl a tx submit $V1 2>&1); rc=$?
[ $rc -eq 1 ] || fail "duplicate exit $rc"
echo "$out" | grep -q "rejected $V1_ID duplicate" || fail "no duplicate: $out"
js=$(ctl a --json tx submit 0badc0de); rc=$?
[ $rc -eq 1 ] || fail "malformed exit $rc"
echo "$js" | grep -q '"reason":1,"reason_name":"malformed"' || fail "malformed json: $js"
out=$(ctl a tx submit --random --fee 3 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q 'fee_too_low: fee rate' || fail "low fee: $rc $out"
ctl a tx submit zz >/dev/null 2>&1; [ $? -eq 64 ] || fail "bad hex is not a usage error"
ok "rejections: bad signature, duplicate, malformed, fee_too_low; exit 1"

js=$(ctl a --json tx get $V1_ID) || fail "tx get failed"
echo "$js" | grep -q "\"tx\":\"$V1\"" || fail "tx get: wrong encoding: $js"
echo "$js" | grep -q '"nonce":1,"fee":1000,"size":146' || fail "tx get fields: $js"
ctl a tx get 0000000000000000000000000000000000000000000000000000000000000000 >/dev/null 2>&1
[ $? -eq 1 ] || fail "tx get of an unknown id did not fail"
ok "tx get by id; unknown id: exit 1"

out=$(ctl a mempool list --top 5) || fail "list failed"
[ "$(echo "$out" | wc -l)" -eq 6 ] || fail "list --top 5 is not 5 rows: $out"
echo "$out" | awk 'NR > 1 { if (NR > 2 && $2 > prev) exit 1; prev = $2 }' || fail "not in fee-rate order: $out"
js=$(ctl a --json mempool list --top 100) || fail "list json"
[ "$(echo "$js" | grep -o '"id"' | wc -l)" -eq 11 ] || fail "list has not 11: $js"
ok "mempool list: best first"

js=$(ctl a --json mempool info) || fail "info failed"
echo "$js" | grep -q '"count":11,' || fail "info count: $js"
echo "$js" | grep -q '"min_fee_rate":1' || fail "info min fee: $js"
for k in bytes evictions expiries max_count max_bytes; do
	echo "$js" | grep -q "\"$k\":" || fail "info lacks $k"
done
ok "mempool info"

wait_for 20 "13 mempool events" lines_at_least "$T/events.out" '"topic":"event\.mempool' 13
mon_stop
grep -q '"topic":"event.mempool.accepted"' "$T/events.out" || fail "no accepted event: $(cat "$T/events.out")"
grep -q '"reason_name":"duplicate"' "$T/events.out" || fail "no rejected event: $(cat "$T/events.out")"
ok "accepted and rejected events on PUB"

kill -TERM "$PID_a"; wait "$PID_a" || fail "stop failed"
ok "stopped"
