#!/usr/bin/env bash
# A testnet on network namespaces (deploy/netns-testnet): six hosts are
# split in two halves, each half keeps working (transactions, a DHT put),
# then the network heals and every mempool converges and the DHT answers
# from both sides.  Needs root with ip; skipped (saying why) otherwise.
. "$(dirname "$0")/lib.sh"

TN=$(cd "$(dirname "$0")/../../deploy" && pwd)/netns-testnet
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
	skip "needs root and ip netns"
fi
export CHORUS_NETNS_DIR=$T/netns
netdown() { "$TN" down >/dev/null 2>&1; }
trap 'netdown; cleanup' EXIT

N=6
"$TN" up $N --build "$BUILD" -- --ring-size 1m --io-threads 1 >/dev/null || fail "testnet did not come up"
tctl() { "$TN" ctl "$@"; }
npeers() { tctl "$1" --json peers 2>/dev/null | grep -o '"id": *[0-9]*' | wc -l; }
all_connected() { for i in $(seq 0 $((N - 1))); do [ "$(npeers $i)" -ge 1 ] || return 1; done; }
wait_until 30 all_connected || fail "hosts did not connect: $("$TN" status)"
ok "$N hosts up and connected"

count() { tctl "$1" --json mempool info 2>/dev/null | grep -o '"count": *[0-9]*' | grep -o '[0-9]*$'; }
"$TN" partition >/dev/null
tctl 0 tx submit --random --count 20 >/dev/null || fail "submit on side A failed"
tctl 4 tx submit --random --count 20 >/dev/null || fail "submit on side B failed"
side_a_has() { [ "$(count 1)" -ge 20 ]; }
side_b_has() { [ "$(count 5)" -ge 20 ]; }
wait_until 20 side_a_has || fail "side A did not share its transactions: $(count 1)"
wait_until 20 side_b_has || fail "side B did not share its transactions: $(count 5)"
[ "$(count 1)" -lt 40 ] || fail "side A saw side B's transactions through a partition"
key=$(tctl 1 dht put "partitioned value $$" 2>/dev/null | grep -o '[0-9a-f]\{40\}' | head -1)
[ -n "$key" ] || fail "DHT put on side A failed"
ok "each half kept working during the partition"

"$TN" heal >/dev/null
converged() { for i in $(seq 0 $((N - 1))); do [ "$(count $i)" -ge 40 ] || return 1; done; }
wait_until 90 converged || fail "mempools did not converge: $(for i in $(seq 0 $((N - 1))); do echo -n "h$i=$(count $i) "; done)"
ok "after healing every mempool has all 40 transactions"
got=$(tctl 5 dht get "$key" 2>&1)
echo "$got" | grep -q "partitioned value $$" || fail "the DHT did not answer from side B: $got"
ok "the DHT answers from the other side"
