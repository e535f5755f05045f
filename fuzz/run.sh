#!/bin/sh
# run.sh FUZZ_BUILD SECONDS TARGET...: runs each libFuzzer target for
# SECONDS and prints one line per target:
#   PASS name: runs N, exec/s N, coverage N, corpus N
# or FAIL with the crashing input's path.  The working corpus of a target
# is FUZZ_BUILD/corpus/NAME (grown by the run), started from the committed
# seeds in fuzz/corpus/NAME, which are only read; fuzz/dict/NAME.dict is
# used when present.  With FUZZ_SMOKE=1 the runs use a fixed seed and start
# from the committed seeds only, so CI repeats the same inputs.
# Exits non-zero if any target failed.
set -u
build=$1
secs=$2
shift 2
pass=0
fail=0
mkdir -p "$build/artifacts" "$build/logs"
for name in "$@"; do
	bin=$build/fuzz/$name
	if [ ! -x "$bin" ]; then
		echo "FAIL $name: no binary $bin"
		fail=$((fail + 1))
		continue
	fi
	work=$build/corpus/$name
	[ "${FUZZ_SMOKE:-0}" = 1 ] && rm -rf "$work"
	mkdir -p "$work"
	set -- -max_total_time="$secs" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 \
	    -max_len=65536 -artifact_prefix="$build/artifacts/$name-"
	[ -f "fuzz/dict/$name.dict" ] && set -- "$@" -dict="fuzz/dict/$name.dict"
	[ "${FUZZ_SMOKE:-0}" = 1 ] && set -- "$@" -seed=1
	seeds=fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=
	log=$build/logs/$name.log
	"$bin" "$@" "$work" $seeds >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	corp=$(printf '%s\n' "$last" | sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p')
	if [ $rc -eq 0 ]; then
		echo "PASS $name: runs ${runs:-?}, exec/s ${eps:-?}, coverage ${cov:-?}, corpus ${corp:-?}"
		pass=$((pass + 1))
	else
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		echo "FAIL $name: exit $rc, input ${art:-none}, log $log"
		grep -E 'ERROR: |SUMMARY: |runtime error|check failed' "$log" | head -n 5 | sed 's/^/    /'
		fail=$((fail + 1))
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ $fail -eq 0 ]
