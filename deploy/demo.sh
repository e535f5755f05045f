#!/usr/bin/env bash
# demo.sh: the README's main command (`make demo`).  Starts a network of
# Chorus nodes on loopback, each in its own address group (temporary datadirs, node 0 is everyone's seed),
# waits until they are connected, submits a stream of transactions at
# different nodes and a few blocks, puts a value in the DHT on one node and
# gets it on another, shows what happens live, and ends with a summary.
#
#   deploy/demo.sh [--nodes N] [--rate TX_PER_S] [--duration S] [--build DIR]
#
# Exit status 0 only if every transaction reached every mempool, every
# block reached every node and the DHT round trip returned the value.
# Ctrl-C at any moment stops everything: no process, shared-memory segment
# or socket is left behind.
set -u

NODES=${NODES:-5}
RATE=${RATE:-50}
DURATION=${DURATION:-15}
BUILD=${BUILD:-build}
while [ $# -gt 0 ]; do
	case "$1" in
	--nodes) NODES=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "demo: unknown option $1" >&2; exit 64 ;;
	esac
done
[ "$NODES" -ge 2 ] && [ "$NODES" -le 50 ] || { echo "demo: --nodes must be 2..50" >&2; exit 64; }
[ "$RATE" -ge 1 ] && [ "$RATE" -le 2000 ] || { echo "demo: --rate must be 1..2000" >&2; exit 64; }
[ "$DURATION" -ge 1 ] && [ "$DURATION" -le 3600 ] || { echo "demo: --duration must be 1..3600" >&2; exit 64; }

BIN=$(cd "$BUILD/bin" && pwd) || { echo "demo: no $BUILD/bin (run make)" >&2; exit 1; }
CHORUSD=$BIN/chorusd
CTL=$BIN/chorusctl
MON=$BIN/chorus-mon
T=$(mktemp -d /tmp/chorus-demo.XXXXXX)
BASE=$((24000 + ($$ % 500) * 8))
PIDS=()
MONPIDS=()

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	for p in "${MONPIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 100); do
		alive=0
		for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	# whatever is left (a node that would not stop): kill it and its segment
	for f in "$T"/n*/run/chorusd.shm; do
		[ -f "$f" ] && rm -f "/dev/shm/$(sed 's|^/||' "$f")"
	done
	pkill -9 -f -- "$T/" 2>/dev/null
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, stopping the network"; exit 130' INT TERM

say() { printf '\033[1m== %s\033[0m\n' "$*"; }
ctl() { local n=$1; shift; "$CTL" --datadir "$T/n$n" --timeout 3000 "$@"; }
now_ms() { date +%s%3N; }

# each node on its own 127.X.0.1 so each is in its own address group (/16):
# the dialing policy spreads outbound connections over distinct groups
say "starting $NODES nodes on 127.10-$((10 + NODES - 1)).0.1 (datadirs in $T)"
for i in $(seq 0 $((NODES - 1))); do
	mkdir -p "$T/n$i"
	seed=()
	[ "$i" -gt 0 ] && seed=(--seed "127.10.0.1:$BASE")
	"$CHORUSD" --datadir "$T/n$i" --foreground --log-file "$T/n$i/chorus.log" \
		--listen "127.$((10 + i)).0.1:$((BASE + i))" --max-per-group 64 --ring-size 1m --ring-max-msg 256k \
		--mempool-min-fee-rate 1 "${seed[@]}" >"$T/n$i.out" 2>&1 &
	PIDS+=($!)
done

# live view: everything but the per-transaction events
MONARGS=()
for i in $(seq 0 $((NODES - 1))); do MONARGS+=(--datadir "$T/n$i"); done
"$MON" "${MONARGS[@]}" --filter event.chorusd --filter event.transport \
	--filter event.mempool.block --filter event.relay.block --filter event.discovery \
	2>/dev/null | sed 's/^/   | /' &
MONPIDS+=($!)
# the record: every mempool's accepted transactions, with their times
"$MON" "${MONARGS[@]}" --json --filter event.mempool.accepted --filter event.mempool.block \
	>"$T/accepted.jsonl" 2>/dev/null &
MONPIDS+=($!)

peers_of() { ctl "$1" --json peers 2>/dev/null | grep -o '"id": *[0-9]*' | wc -l; }
connected() {
	for i in $(seq 0 $((NODES - 1))); do [ "$(peers_of "$i")" -ge 1 ] || return 1; done
	[ "$(peers_of 0)" -ge $((NODES - 1)) ]
}
t0=$(now_ms)
until connected; do
	[ $(( $(now_ms) - t0 )) -lt 30000 ] || { echo "demo: the nodes did not connect in 30 s" >&2; exit 1; }
	sleep 0.2
done
say "connected in $(( $(now_ms) - t0 )) ms"
sleep 0.5

say "submitting $RATE tx/s for $DURATION s, round robin over the nodes; a block every 5 s"
: >"$T/submitted"
total=$((RATE * DURATION))
sent=0
blocks=0
start=$(now_ms)
tick=0
while [ $sent -lt $total ]; do
	# one batch per 100 ms: RATE/10 transactions at one node
	node=$(( tick % NODES ))
	n=$(( (RATE + 9) / 10 ))
	[ $((sent + n)) -gt $total ] && n=$((total - sent))
	ctl "$node" --json tx submit --random --count "$n" --fee $((300 + RANDOM % 900)) 2>/dev/null |
		grep -o '"accepted":true,"id":"[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}' >>"$T/submitted"
	sent=$((sent + n))
	tick=$((tick + 1))
	if [ $((tick % 50)) = 25 ]; then
		bnode=$(( (tick / 50) % NODES ))
		if ctl "$bnode" block submit --top 20 >>"$T/blocks.out" 2>&1; then
			blocks=$((blocks + 1))
		else
			echo "   block submit at n$bnode failed: $(tail -1 "$T/blocks.out")"
		fi
	fi
	if [ $((tick % 10)) = 0 ]; then
		inall=$(awk -v nodes="$NODES" '/"topic":"event.mempool.accepted"/ {
			match($0, /"id":"[0-9a-f]*"/); id = substr($0, RSTART + 6, 64)
			match($0, /"node":"[^"]*"/); nd = substr($0, RSTART, RLENGTH)
			if (!((id, nd) in seen)) { seen[id, nd] = 1; cnt[id]++ } }
			END { c = 0; for (i in cnt) if (cnt[i] == nodes) c++; print c }' "$T/accepted.jsonl")
		echo "   t=$(( ($(now_ms) - start) / 1000 ))s submitted $(wc -l <"$T/submitted") accepted, in every mempool $inall"
	fi
	next=$((start + tick * 100))
	delay=$(( next - $(now_ms) ))
	[ $delay -gt 0 ] && sleep "$(printf '0.%03d' "$delay")"
done

say "DHT: put a value on n1, get it on n$((NODES - 1))"
dht_ok=0
dt0=$(now_ms)
key=$(ctl 1 dht put "hello from the chorus demo $$" 2>"$T/dht.err" | grep -o '[0-9a-f]\{40\}' | head -1)
if [ -n "$key" ]; then
	got=$(ctl $((NODES - 1)) dht get "$key" 2>>"$T/dht.err")
	echo "$got" | grep -q "hello from the chorus demo $$" && dht_ok=1
fi
dht_ms=$(( $(now_ms) - dt0 ))
[ $dht_ok = 1 ] && echo "   key $key, value back in $dht_ms ms" || echo "   DHT round trip failed: $(tail -2 "$T/dht.err")"

say "waiting for the last transactions to reach every mempool"
want=$(sort -u "$T/submitted" | wc -l)
for _ in $(seq 100); do
	done_n=$(awk -v nodes="$NODES" '/"topic":"event.mempool.accepted"/ {
		match($0, /"id":"[0-9a-f]*"/); id = substr($0, RSTART + 6, 64)
		match($0, /"node":"[^"]*"/); nd = substr($0, RSTART, RLENGTH)
		if (!((id, nd) in seen)) { seen[id, nd] = 1; cnt[id]++ } }
		END { c = 0; for (i in cnt) if (cnt[i] == nodes) c++; print c }' "$T/accepted.jsonl")
	[ "$done_n" -ge "$want" ] && break
	sleep 0.1
done
sleep 0.5
for p in "${MONPIDS[@]}"; do kill "$p" 2>/dev/null; done
wait "${MONPIDS[@]}" 2>/dev/null
MONPIDS=()

say "summary"
printf '   %-6s %-6s %-10s %s\n' node peers accepted blocks
all_ok=1
for i in $(seq 0 $((NODES - 1))); do
	acc=$(awk -v nd="\"node\":\"n$i\"" 'index($0, nd) && /"topic":"event.mempool.accepted"/ {
		match($0, /"id":"[0-9a-f]*"/); s[substr($0, RSTART + 6, 64)] = 1 }
		END { print length(s) }' "$T/accepted.jsonl")
	blk=$(grep -c "\"node\":\"n$i\".*\"topic\":\"event.mempool.block\"" "$T/accepted.jsonl")
	printf '   %-6s %-6s %-10s %s\n' "n$i" "$(peers_of "$i")" "$acc/$want" "$blk/$blocks"
	[ "$acc" -ge "$want" ] || all_ok=0
	[ "$blk" -ge "$blocks" ] || all_ok=0
done
# propagation: from the first mempool to accept a transaction to the last
awk -v nodes="$NODES" '/"topic":"event.mempool.accepted"/ {
	match($0, /"id":"[0-9a-f]*"/); id = substr($0, RSTART + 6, 64)
	match($0, /"ts":[0-9]*/); ts = substr($0, RSTART + 5, RLENGTH - 5) + 0
	match($0, /"node":"[^"]*"/); nd = substr($0, RSTART, RLENGTH)
	if ((id, nd) in seen) next
	seen[id, nd] = 1; cnt[id]++
	if (!(id in first) || ts < first[id]) first[id] = ts
	if (!(id in last) || ts > last[id]) last[id] = ts }
	END { n = 0; for (i in cnt) if (cnt[i] == nodes) d[n++] = last[i] - first[i]
	      if (n == 0) { print "   propagation: no transaction reached every node"; exit }
	      for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (d[j] < d[i]) { t = d[i]; d[i] = d[j]; d[j] = t }
	      printf "   propagation to every mempool over %d transactions: p50 %d ms, p99 %d ms\n",
	             n, d[int(n * 0.5)], d[int(n * 0.99)] }' "$T/accepted.jsonl"
echo "   blocks produced: $blocks; DHT round trip: $([ $dht_ok = 1 ] && echo "$dht_ms ms" || echo failed)"
[ $dht_ok = 1 ] || all_ok=0
[ "$want" -ge $((total * 9 / 10)) ] || { echo "   only $want of $total submissions were accepted"; all_ok=0; }

say "stopping the network"
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()
if [ $all_ok = 1 ]; then
	say "demo passed: everything was delivered"
	exit 0
fi
say "demo FAILED: something was not delivered (logs were in $T)"
exit 1
