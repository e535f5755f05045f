#!/usr/bin/env bash
# A real Prometheus server scrapes a 3-node network (a line n2 - n1 - n0
# on 127.0.0.1) and PromQL queries through its HTTP API return what the
# network did: every target up, N transactions submitted at n0 accepted
# on every node, each relayed once per link (2N TX frames received in
# all), the propagation histogram counting them, a killed relay's restart.
# Needs Debian's prometheus package: installed here when root on Debian,
# else the test skips (exit 77) saying why.
. "$(dirname "$0")/lib.sh"

if ! command -v prometheus >/dev/null; then
	if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null 2>&1 ||
			{ echo "skip: apt-get install prometheus failed"; exit 77; }
	else
		echo "skip: prometheus is not installed (as root on Debian: apt-get install prometheus)"
		exit 77
	fi
fi
command -v curl >/dev/null || { echo "skip: curl is not installed"; exit 77; }

N=40
PP=$((PORT_BASE + 8)) # Prometheus
mport() { echo $((PORT_BASE + 5 + $1)); }

for i in 0 1 2; do
	start_node "n$i" --listen 127.0.0.1:$((PORT_BASE + i)) --metrics-listen 127.0.0.1:$(mport $i) \
		--max-per-group 64 --max-outbound 0
done
for i in 0 1 2; do
	wait_until 30 node_running "n$i" || fail "n$i did not start"
done
ctl n1 connect 127.0.0.1:$PORT_BASE >/dev/null || fail "connect n1 -> n0"
ctl n2 connect 127.0.0.1:$((PORT_BASE + 1)) >/dev/null || fail "connect n2 -> n1"
wait_until 30 has_peers n1 2 || fail "n1 has not 2 peers"

mkdir -p "$T/prom-data"
cat >"$T/prom.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: chorus
    static_configs:
      - targets: ['127.0.0.1:$(mport 0)', '127.0.0.1:$(mport 1)', '127.0.0.1:$(mport 2)']
YML
prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/prom-data" \
	--web.listen-address=127.0.0.1:$PP --log.level=warn >"$T/prometheus.out" 2>&1 &
PROM_PID=$!
wait_until 60 curl -sf "http://127.0.0.1:$PP/-/ready" || fail "prometheus not ready"

# promql QUERY: the value of a one-element instant vector ("" if none).
promql() {
	curl -sfG --data-urlencode "query=$1" "http://127.0.0.1:$PP/api/v1/query" |
		grep -o '"value":\[[^]]*\]' | head -1 | sed 's/.*,"\(.*\)"\]/\1/'
}

# promql_is QUERY VALUE
promql_is() {
	[ "$(promql "$1")" = "$2" ]
}

wait_until 60 promql_is 'count(up{job="chorus"} == 1)' 3 || fail "targets not up: $(promql 'count(up == 1)')"
wait_until 30 promql_is 'sum(chorus_transport_peers)' 4 || fail "peers: $(promql 'sum(chorus_transport_peers)')"
ok "prometheus scrapes 3 nodes; sum(chorus_transport_peers) = 4"

ctl n0 tx submit --random --count $N >/dev/null || fail "tx submit failed"
q="count(chorus_mempool_admissions_total{verdict=\"accepted\"} == $N)"
wait_until 60 promql_is "$q" 3 ||
	fail "$q is $(promql "$q"); per node: $(curl -sG --data-urlencode 'query=chorus_mempool_admissions_total{verdict="accepted"}' "http://127.0.0.1:$PP/api/v1/query")"
echo "PromQL: $q => $(promql "$q")"
q='sum(chorus_mempool_transactions)'
wait_until 30 promql_is "$q" $((3 * N)) || fail "$q is $(promql "$q")"
echo "PromQL: $q => $(promql "$q")"
q='sum(chorus_transport_messages_received_total{type="TX"})'
wait_until 30 promql_is "$q" $((2 * N)) || fail "$q is $(promql "$q")"
echo "PromQL: $q => $(promql "$q")"
q='sum(chorus_relay_propagation_seconds_count)'
wait_until 30 promql_is "$q" $((2 * N)) || fail "$q is $(promql "$q")"
echo "PromQL: $q => $(promql "$q")"
q='histogram_quantile(0.9, sum by (le) (chorus_relay_propagation_seconds_bucket))'
v=$(promql "$q")
[ -n "$v" ] && [ "$v" != NaN ] || fail "$q is '$v'"
echo "PromQL: $q => $v"
ok "$N transactions at n0: accepted on all 3 nodes, $((2 * N)) TX frames, $((2 * N)) propagation observations"

kill -9 "$(svc_pid n1 relay)"
q="chorus_service_restarts_total{instance=\"127.0.0.1:$(mport 1)\",service=\"relay\"}"
wait_until 30 promql_is "$q" 1 || fail "$q is $(promql "$q")"
q='sum(chorus_service_restarts_total)'
promql_is "$q" 1 || fail "$q is $(promql "$q")"
ok "n1's relay killed: its restarts_total is 1, the network's total 1"

kill -TERM "$PROM_PID"; wait "$PROM_PID"
for i in 0 1 2; do kill -TERM "$(eval echo "\$PID_n$i")"; done
for i in 0 1 2; do wait "$(eval echo "\$PID_n$i")" || fail "n$i did not stop cleanly"; done
ok "prometheus scraped a 3-node network"
