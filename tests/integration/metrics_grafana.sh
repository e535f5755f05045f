#!/usr/bin/env bash
# deploy/grafana/chorus-dashboard.json: valid JSON, a panel for each main
# concern (peers, propagation, pool, DHT, restarts), and every metric name
# its queries use is one a running node's /metrics exposes.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "skip: python3 (to read JSON) is not installed"; exit 77; }
command -v curl >/dev/null || { echo "skip: curl is not installed"; exit 77; }

DASH=$(cd "$(dirname "$0")/../.." && pwd)/deploy/grafana/chorus-dashboard.json
# every query of the dashboard, one a line (fails on invalid JSON)
python3 - "$DASH" >"$T/exprs.txt" <<'PY' || fail "dashboard is not valid JSON or has a panel without queries"
import json, sys
d = json.load(open(sys.argv[1]))
n = 0
for p in d["panels"]:
    if p.get("type") == "row":
        continue
    if not p.get("targets"):
        sys.exit("panel without targets: " + p.get("title", "?"))
    for t in p["targets"]:
        print(t["expr"]); n += 1
for v in d.get("templating", {}).get("list", []):
    if v.get("type") == "query":
        print(v["query"])
if n == 0:
    sys.exit("no queries")
PY
grep -o 'chorus_[a-z0-9_]*' "$T/exprs.txt" | sort -u >"$T/used.txt"
for m in chorus_transport_peers chorus_relay_propagation_seconds_bucket chorus_mempool_transactions \
	chorus_dht_nodes chorus_service_restarts_total; do
	grep -qx "$m" "$T/used.txt" || fail "the dashboard has no panel on $m"
done

MPORT=$((PORT_BASE + 9))
start_node a --listen 127.0.0.1:$((PORT_BASE + 2)) --metrics-listen 127.0.0.1:$MPORT
wait_until 10 node_running a || fail "node a not running"
curl -sf "http://127.0.0.1:$MPORT/metrics" >"$T/metrics.txt" || fail "GET /metrics failed"
# sample names (histograms' _bucket, _sum, _count included) and families
{ grep -v '^#' "$T/metrics.txt" | sed 's/[{ ].*//'; grep '^# TYPE ' "$T/metrics.txt" | cut -d' ' -f3; } |
	sort -u >"$T/exposed.txt"
missing=$(comm -23 "$T/used.txt" "$T/exposed.txt")
[ -z "$missing" ] || fail "the dashboard uses metrics /metrics does not expose: $missing"
ok "dashboard: valid JSON, $(wc -l <"$T/exprs.txt") queries over $(wc -l <"$T/used.txt") metrics, all exposed"
kill -TERM "$PID_a"; wait "$PID_a" || fail "stopping a failed"
