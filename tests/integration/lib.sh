# lib.sh: shared helpers of the integration tests (sourced, bash).
#
# Every test gets its own temporary folder; every node it starts lives in a
# datadir under it.  The EXIT trap stops every node it started (SIGTERM, up
# to 8 s), then kills its background jobs and every process whose command
# line still names that folder (chorusd and all services carry --datadir), removes the
# shared-memory segments the nodes recorded in run/chorusd.shm, and deletes
# the folder: nothing is left behind, whether the test passes or fails.
set -u

BUILD=${CH_BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
CHORUSD=$BIN/chorusd
CTL=$BIN/chorusctl
EVIL=$(cd "$BUILD/tests/tools" 2>/dev/null && pwd)/evil_peer
T=$(mktemp -d /tmp/chorus-it.XXXXXX)
declare -a SHM_SEEN=() NODE_PIDS=()

cleanup() {
	local rc=$?
	# remember segments before processes vanish
	for f in "$T"/*/run/chorusd.shm; do
		[ -f "$f" ] && SHM_SEEN+=("$(cat "$f")")
	done
	# an orderly stop of every node still running first, so every service
	# goes through its exit path (where LeakSanitizer checks a sanitized
	# build); what has not stopped within 8 s is killed
	local p live=()
	for p in "${NODE_PIDS[@]}"; do
		alive "$p" && kill -TERM "$p" 2>/dev/null && live+=("$p")
	done
	any_alive() {
		local q
		for q in "$@"; do alive "$q" && return 0; done
		return 1
	}
	for _ in $(seq 80); do
		any_alive "${live[@]}" || break
		sleep 0.1
	done
	# helpers the test started in the background (evil peers, monitors,
	# clients) whose command lines need not name the folder: by PID
	for p in $(jobs -p); do kill -9 "$p" 2>/dev/null; done
	pkill -9 -f -- "$T/" 2>/dev/null
	for _ in $(seq 50); do pgrep -f -- "$T/" >/dev/null || break; sleep 0.1; done
	for s in "${SHM_SEEN[@]}"; do rm -f "/dev/shm/${s#/}"; done
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		for log in "$T"/*/chorus.log "$T"/*.out; do
			[ -f "$log" ] || continue
			echo "---- $log (last 40 lines)"
			tail -n 40 "$log"
		done
	fi
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ok() {
	echo "ok: $*"
}

# skip REASON: the test cannot run here.  Exit 77 (automake's skip status),
# never 0: tools/run-tests.sh counts it as skipped and names REASON, and on
# the reference machine (Debian, root) it fails the run.
skip() {
	echo "SKIP: $*"
	exit 77
}

# port_base: a per-run base port so parallel runs on one machine differ.
PORT_BASE=$((20000 + ($$ % 1200) * 10)) # below the ephemeral range (32768+)

# start_node NAME [chorusd flags...]: starts chorusd in the foreground (in
# the background of this shell) on datadir $T/NAME; sets NODE_PID.
start_node() {
	local name=$1
	shift
	mkdir -p "$T/$name"
	"$CHORUSD" --datadir "$T/$name" --foreground --log-file "$T/$name/chorus.log" "$@" \
		>"$T/$name.out" 2>&1 &
	NODE_PID=$!
	NODE_PIDS+=("$NODE_PID")
	eval "PID_$name=$NODE_PID"
}

# ctl NAME ARGS...: chorusctl against node NAME.
ctl() {
	local name=$1
	shift
	"$CTL" --datadir "$T/$name" --timeout 2000 "$@"
}

# Waiting: a test never sleeps a fixed time and hopes; it waits for the
# condition it needs, with a deadline after which it fails.  CH_WAIT_SCALE
# (a whole number, default 1) multiplies every deadline: make test-loaded
# sets it, since a machine whose cores are busy gets there later.  A
# condition that holds is seen within 50 ms, so a larger deadline costs
# nothing when things work.
WAIT_SCALE=${CH_WAIT_SCALE:-1}

# wait_until SECONDS CMD...: retries CMD every 50 ms until it succeeds;
# returns 1 when SECONDS (times CH_WAIT_SCALE) pass first.
wait_until() {
	local secs=$1
	shift
	local end=$((SECONDS + secs * WAIT_SCALE))
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
	return 0
}

# wait_for SECONDS WHAT CMD...: wait_until, failing the test with "timed out
# waiting for WHAT" when the deadline passes.
wait_for() {
	local secs=$1 what=$2
	shift 2
	wait_until "$secs" "$@" || fail "timed out after ${secs}s (x$WAIT_SCALE) waiting for $what"
}

# holds_for SECONDS CMD...: CMD stays true, checked every 100 ms, for
# SECONDS; returns 1 at the first time it is false.  For what must NOT
# happen (no extra dials, no growth): such a check has to watch for a while,
# and a slow machine only makes it see less, never fail wrongly.
holds_for() {
	local end=$(($(date +%s%N) / 1000000 + $1 * 1000))
	shift
	while [ $(($(date +%s%N) / 1000000)) -lt $end ]; do
		"$@" >/dev/null 2>&1 || return 1
		sleep 0.1
	done
}

# listening PORT: something listens on TCP PORT (asked of the kernel, so no
# connection is made that a node could count against a peer).
listening() {
	[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

# wait_listen SECONDS PORT: waits until TCP PORT has a listener.
wait_listen() {
	wait_for "$1" "a listener on port $2" listening "$2"
}

# file_has FILE REGEX: FILE exists and matches.
file_has() {
	grep -qE -- "$2" "$1" 2>/dev/null
}

# ctl_has NAME REGEX ARGS...: `chorusctl ARGS` on node NAME succeeds and its
# output matches REGEX.
ctl_has() {
	local name=$1 re=$2 out
	shift 2
	out=$(ctl "$name" "$@" 2>/dev/null) || return 1
	echo "$out" | grep -qE -- "$re"
}

# wait_ctl SECONDS NAME REGEX ARGS...: waits until ctl_has holds.
wait_ctl() {
	local secs=$1
	shift
	wait_for "$secs" "'chorusctl $(echo "${@:3}")' on $1 to match '$2'" ctl_has "$@"
}

# node_running NAME: chorusd says running and all four services are ready.
node_running() {
	local js
	js=$(ctl "$1" --json status) || return 1
	echo "$js" | grep -q '"state": *"running"' || return 1
	[ "$(echo "$js" | grep -o '"state": *"ready"' | wc -l)" -eq 4 ]
}

# svc_field NAME SERVICE FIELD: a field of one service in `status --json`.
svc_field() {
	ctl "$1" --json status | grep -o "{\"name\": *\"$2\"[^}]*}" |
		grep -o "\"$3\": *[^,}]*" | head -1 | sed 's/^[^:]*: *//; s/"//g'
}

# peer_count NAME: connected peers of node NAME.
peer_count() {
	ctl "$1" --json peers | grep -o '"id": *[0-9]*' | wc -l
}

# has_peers NAME N: node NAME has at least N peers.
has_peers() {
	[ "$(peer_count "$1")" -ge "$2" ]
}

# log_has NAME REGEX: node NAME's log matches.
log_has() {
	grep -qE -- "$2" "$T/$1/chorus.log"
}

# svc_pid NAME SERVICE: from the service's own pid file.
svc_pid() {
	cat "$T/$1/run/$2.pid" 2>/dev/null
}

# alive PID: the process exists and is not a zombie.
alive() {
	[ -n "$1" ] && [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# procs_of NAME: how many processes run with this node's datadir.
procs_of() {
	pgrep -f -- "$T/$1( |$)" | wc -l
}

# graph_connected N [SKIP]: nodes n0..n(N-1), leaving out nSKIP, form one
# connected graph over their peer lists (peers matched by public key; a
# connection to the left-out node does not count).
graph_connected() {
	local n=$1 skip=${2:--1}
	declare -A node_of=() seen=()
	local i k cur start=-1 want=0
	local -a queue=()
	for ((i = 0; i < n; i++)); do
		[ "$i" -eq "$skip" ] && continue
		k=$(ctl "n$i" --json status | grep -o '"pubkey": *"[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}')
		[ -n "$k" ] || return 1
		node_of[$k]=$i
		want=$((want + 1))
		[ "$start" -ge 0 ] || start=$i
	done
	seen[$start]=1
	queue=("$start")
	while [ ${#queue[@]} -gt 0 ]; do
		cur=${queue[0]}
		queue=("${queue[@]:1}")
		for k in $(ctl "n$cur" --json peers | grep -o '"pubkey":"[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}'); do
			i=${node_of[$k]:-}
			[ -n "$i" ] || continue
			[ -n "${seen[$i]:-}" ] && continue
			seen[$i]=1
			queue+=("$i")
		done
	done
	[ ${#seen[@]} -eq "$want" ]
}

# pool_count NAME: transactions in the node's pool.
pool_count() {
	ctl "$1" --json mempool info | grep -o '"count":[0-9]*' | cut -d: -f2
}

# all_pools COUNT NODES...: each listed node's pool holds exactly COUNT.
all_pools() {
	local want=$1 n
	shift
	for n in "$@"; do
		[ "$(pool_count "$n")" = "$want" ] || return 1
	done
}

# has_all NAME COUNT: the node's pool holds at least COUNT.
has_all() { [ "$(pool_count "$1")" -ge "$2" ]; }

# flow TAG END...: from each END node, 10 random transactions every 100 ms,
# at least 30 rounds and until $T/flow-TAG.stop exists, in the background
# (PIDs in FLOW_PIDS); the accepted lines go to $T/flow-TAG-END.out.
flow() {
	local tag=$1 end
	shift
	FLOW_PIDS=()
	for end in "$@"; do
		(
			r=0
			while [ $r -lt 30 ] || [ ! -e "$T/flow-$tag.stop" ]; do
				ctl "$end" tx submit --random --count 10 >>"$T/flow-$tag-$end.out" 2>&1
				sleep 0.1 # the pace of the traffic, not a wait
				r=$((r + 1))
			done
		) &
		FLOW_PIDS+=($!)
	done
}

# flow_accepted TAG: transactions of flow TAG accepted so far.
flow_accepted() { cat "$T"/flow-"$1"-*.out 2>/dev/null | grep -c '^accepted '; }

# flowed TAG N: more than N transactions of flow TAG were accepted.
flowed() { [ "$(flow_accepted "$1")" -gt "$2" ]; }

# restarted NODE SERVICE OLDPID: a new process wrote the service's pid file.
restarted() {
	local now
	now=$(svc_pid "$1" "$2")
	[ -n "$now" ] && [ "$now" != "$3" ]
}

# crash_in_flow NODE SERVICE BOUND NODES...: kill -9 SERVICE of NODE twice
# while a flow runs from the first and last of NODES (after 20 more
# accepted each time), waits for chorusd's restarts, stops the flow, and
# fails unless every accepted transaction is in every pool of NODES within
# BOUND seconds.
crash_in_flow() {
	local mid=$1 svc=$2 bound=$3 pid k total n
	shift 3
	local -a nodes=("$@")
	flow "$svc" "${nodes[0]}" "${nodes[-1]}"
	for k in 1 2; do
		wait_for 20 "the flow to go on before kill $k" flowed "$svc" $(($(flow_accepted "$svc") + 20))
		pid=$(svc_pid "$mid" "$svc")
		[ -n "$pid" ] || fail "no $svc pid"
		kill -9 "$pid"
		wait_until 10 restarted "$mid" "$svc" "$pid" || fail "$svc was not restarted"
		wait_until 10 node_running "$mid" || fail "$mid did not recover"
	done
	touch "$T/flow-$svc.stop"
	wait "${FLOW_PIDS[@]}"
	total=$(cat "$T"/flow-*.out | grep -c '^accepted ')
	wait_until "$bound" all_pools "$total" "${nodes[@]}" || {
		for n in "${nodes[@]}"; do echo "$n: $(pool_count "$n")"; done
		fail "after kill -9 $svc: not every pool has the $total transactions"
	}
	ok "kill -9 $svc on $mid twice during the flow: all $total transactions in all ${#nodes[@]} pools"
}

# full_out NAME: full-relay outbound connections of a node.
full_out() {
	ctl "$1" --json peers | grep -o '"kind":"outbound"' | wc -l
}

# target_met NAME TARGET N: node NAME keeps TARGET full outbound
# connections, or has all N-1 other nodes of an N-node test as peers: a node
# every other node dialed first (the bootstrap contact, say) has nobody left
# to dial, and a node connected to the whole network is not eclipsed.
target_met() {
	[ "$(full_out "$1")" -ge "$2" ] || [ "$(peer_count "$1")" -ge $(($3 - 1)) ]
}

# all_met N TARGET: every node n0..n(N-1) meets target_met.
all_met() {
	local i
	for ((i = 0; i < $1; i++)); do
		target_met "n$i" "$2" "$1" || return 1
	done
}

# lines_at_least FILE REGEX N: FILE has at least N lines matching REGEX.
lines_at_least() {
	local n
	n=$(grep -cE -- "$2" "$1" 2>/dev/null)
	[ "${n:-0}" -ge "$3" ]
}

# mon_start NAME OUT SERVICE TOPIC...: chorus-mon --json on node NAME into
# OUT, subscribed to TOPIC... and to metrics.SERVICE; sets MON_PID.
# Subscriptions connect lazily, so it returns once the first metrics of
# SERVICE (one a second) arrived: the TOPIC subscriptions went over that same
# connection to SERVICE, before it, so SERVICE's events are seen from then on.
mon_start() {
	local name=$1 out=$2 svc=$3 t
	shift 3
	local f=()
	for t in "$@"; do f+=(--filter "$t"); done
	"$BIN/chorus-mon" --datadir "$T/$name" --json --filter "metrics.$svc" "${f[@]}" \
		--duration 600 >"$out" 2>&1 &
	MON_PID=$!
	wait_for 15 "chorus-mon's first metrics.$svc on $name" file_has "$out" "\"topic\":\"metrics\\.$svc\""
}

# mon_stop: ends the chorus-mon of mon_start (SIGTERM: it exits 0).
mon_stop() {
	kill -TERM "$MON_PID"
	wait "$MON_PID" || fail "chorus-mon failed"
}
