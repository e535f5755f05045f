# lib.sh: shared helpers of the integration tests (sourced, bash).
#
# Every test gets its own temporary folder; every node it starts lives in a
# datadir under it.  The EXIT trap kills every process whose command line
# names that folder (chorusd and all services carry --datadir), removes the
# shared-memory segments the nodes recorded in run/chorusd.shm, and deletes
# the folder: nothing is left behind, whether the test passes or fails.
set -u

BUILD=${CH_BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
CHORUSD=$BIN/chorusd
CTL=$BIN/chorusctl
EVIL=$(cd "$BUILD/tests/tools" 2>/dev/null && pwd)/evil_peer
T=$(mktemp -d /tmp/chorus-it.XXXXXX)
declare -a SHM_SEEN=()

cleanup() {
	local rc=$?
	# remember segments before processes vanish
	for f in "$T"/*/run/chorusd.shm; do
		[ -f "$f" ] && SHM_SEEN+=("$(cat "$f")")
	done
	pkill -9 -f -- "$T/" 2>/dev/null
	for _ in $(seq 50); do pgrep -f -- "$T/" >/dev/null || break; sleep 0.1; done
	for s in "${SHM_SEEN[@]}"; do rm -f "/dev/shm/${s#/}"; done
	if [ $rc -ne 0 ]; then
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
	eval "PID_$name=$NODE_PID"
}

# ctl NAME ARGS...: chorusctl against node NAME.
ctl() {
	local name=$1
	shift
	"$CTL" --datadir "$T/$name" --timeout 2000 "$@"
}

# wait_until SECONDS CMD...: retries CMD every 50 ms until it succeeds.
wait_until() {
	local secs=$1
	shift
	local end=$((SECONDS + secs))
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
	return 0
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

# full_out NAME: full-relay outbound connections of a node.
full_out() {
	ctl "$1" --json peers | grep -o '"kind":"outbound"' | wc -l
}
