#!/bin/sh
# bench/run.sh BUILD: runs every bench program in BUILD/bench/bin/, shows its
# output as it comes, collects its JSON lines (stdout lines starting with "{")
# into BUILD/bench/results.jsonl (rewritten on every run), and prints a table
# of all results at the end.  Exits non-zero if any program fails or none is
# found.  Benchmarks only report; they never assert timings.
#
# Environment:
#   BENCH_ONLY     run only these programs (names, space-separated)
#   BENCH_ARGS     extra arguments for every program run; programs take
#                  different arguments, so combine it with BENCH_ONLY
#                  (BENCH_ONLY=ring_bench BENCH_ARGS=--quick make bench)
#   BENCH_TIMEOUT  seconds after which a program is killed (default 600)
#
# The JSON line format and the ratio rule are in docs/benchmarks.md.
set -u

build=${1:-build}
bindir=$build/bench/bin
results=$build/bench/results.jsonl
timeout_s=${BENCH_TIMEOUT:-600}
# programs that start nodes find the build here (as the integration tests do)
export CH_BUILD="$build"

if [ ! -d "$bindir" ]; then
	echo "bench/run.sh: no $bindir (run 'make bench')" >&2
	exit 1
fi
mkdir -p "$build/bench" || exit 1
: >"$results" || exit 1

status_file=$(mktemp "${TMPDIR:-/tmp}/chorus-bench-status.XXXXXX") || exit 1
trap 'rm -f "$status_file"' EXIT
trap 'rm -f "$status_file"; exit 130' INT TERM HUP

run_timeout=
if command -v timeout >/dev/null 2>&1; then
	run_timeout="timeout -k 10 $timeout_s"
fi

failed=0
ran=0
for prog in "$bindir"/*; do
	if [ ! -f "$prog" ] || [ ! -x "$prog" ]; then
		continue
	fi
	name=$(basename "$prog")
	if [ -n "${BENCH_ONLY:-}" ]; then
		case " $BENCH_ONLY " in
		*" $name "*) ;;
		*) continue ;;
		esac
	fi
	ran=$((ran + 1))
	echo "== $name ${BENCH_ARGS:-}" >&2
	echo 1 >"$status_file"
	# The status goes through a file: a pipeline's status is its last command's.
	# shellcheck disable=SC2086 # word splitting of BENCH_ARGS and run_timeout is wanted
	{
		$run_timeout "$prog" ${BENCH_ARGS:-}
		echo $? >"$status_file"
	} | awk -v out="$results" '/^\{/ { print >> out } { print; fflush() }'
	rc=$(cat "$status_file")
	if [ "$rc" != 0 ]; then
		echo "== $name FAILED (exit status $rc)" >&2
		failed=1
	fi
done

if [ "$ran" = 0 ]; then
	echo "bench/run.sh: no bench programs to run in $bindir${BENCH_ONLY:+ (BENCH_ONLY=$BENCH_ONLY)}" >&2
	exit 1
fi

# The table: one row per JSON line, values with SI prefixes.
awk '
function field(key,    re, s) {
	re = "\"" key "\": (\"[^\"]*\"|[^,}]*)"
	if (!match($0, re))
		return ""
	s = substr($0, RSTART + length(key) + 4, RLENGTH - length(key) - 4)
	gsub(/"/, "", s)
	return s
}
function human(s, unit,    v, a, p) {
	if (s == "" || s == "null")
		return "-"
	v = s + 0
	if (unit == "ns") {
		if (v >= 1e6) return sprintf("%.2f ms", v / 1e6)
		if (v >= 1e3) return sprintf("%.2f us", v / 1e3)
		return sprintf("%.0f ns", v)
	}
	if (unit == "%")
		return sprintf("%.0f %%", v)
	a = v < 0 ? -v : v
	p = ""
	if (a >= 1e9) { v /= 1e9; p = "G" } else if (a >= 1e6) { v /= 1e6; p = "M" } else if (a >= 1e3) { v /= 1e3; p = "k" }
	return sprintf("%.3g %s%s", v, p, unit == "msgs/s" ? "msg/s" : unit)
}
BEGIN {
	fmt = "%-15s %-26s %14s   %-10s %14s %8s\n"
	printf fmt, "bench", "case", "value", "baseline", "base value", "ratio"
	printf fmt, "-----", "----", "-----", "--------", "----------", "-----"
}
/^\{/ {
	unit = field("unit")
	base = field("baseline"); if (base == "null") base = "-"
	ratio = field("ratio"); ratio = (ratio == "null" || ratio == "") ? "-" : sprintf("%.3gx", ratio)
	printf fmt, field("bench"), field("case"), human(field("value"), unit), base,
	       human(field("baseline_value"), unit), ratio
}
' "$results"
echo "results: $results ($(wc -l <"$results") lines)"

exit "$failed"
