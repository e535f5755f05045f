#!/bin/sh
# run-tests.sh BUILD TEST...: runs each test program or script, one line per
# test, and ends with "N passed, N failed, N skipped".  Exits 1 if any test
# failed.
#
# Three outcomes.  Exit 0 is a pass; exit 77 (as in automake) is a skip, and
# the test's log says why on a line "SKIP: reason"; anything else is a
# failure.  On the machine the README promises (Debian, as root) every test
# must run, so there a skip counts as a failure unless CH_ALLOW_SKIP=1;
# elsewhere skips are allowed and each one is named with its reason.
#
# A test's output goes to BUILD/test-logs/NAME.log and is printed only when
# it fails.  Scripts (*.sh) get BUILD in $CH_BUILD so they find the programs.
#
# Time limit: each test runs under timeout(1), CH_TEST_TIMEOUT seconds
# (default 300).  timeout puts the test in its own process group; when the
# limit passes it sends TERM to the whole group (so the scripts' traps run
# and clean up by PID), then KILL 15 s later.  Every test also carries a tag
# in its environment (CH_TEST_TAG), which every process it starts inherits,
# daemons that left the group included: a process still carrying the tag
# once the test has ended is named, killed by PID, and fails the test.
#
# Sanitizers: every process of a test writes its ASan/UBSan/LSan/TSan
# reports to BUILD/sanitizer/NAME/report.PID (log_path), not to a stderr a
# supervisor may have thrown away; any report file there fails the test, even
# one that exited 0 (a service that crashed and was restarted by chorusd),
# and its first lines are printed.  The options only matter to sanitized
# builds; options already in the environment are kept and take precedence.
set -u
build=$1
shift
mkdir -p "$build/test-logs" "$build/sanitizer"
build_abs=$(cd "$build" && pwd)
logs="$build_abs/test-logs"
export CH_BUILD="$build"
limit=${CH_TEST_TIMEOUT:-300}
here=$(cd "$(dirname "$0")" && pwd)

strict=0
if [ -f /etc/debian_version ] && [ "$(id -u)" = 0 ] && [ "${CH_ALLOW_SKIP:-0}" != 1 ]; then
	strict=1
fi

pass=0
fail=0
skip=0
failed=""
skipped=""
nl='
'

# leftovers TAG: PIDs of processes whose environment carries CH_TEST_TAG=TAG.
leftovers() {
	grep -lzx "CH_TEST_TAG=$1" /proc/[0-9]*/environ 2>/dev/null | sed 's|^/proc/||; s|/environ$||'
}

for t in "$@"; do
	name=$(basename "$t" .sh)
	log="$logs/$name.log"
	san="$build_abs/sanitizer/$name"
	rm -rf "$san"
	mkdir -p "$san"
	tag="$name.$$"
	so="log_path=$san/report"
	supp=""
	[ -f "$here/lsan.supp" ] && supp=":suppressions=$here/lsan.supp"
	tsupp=""
	[ -f "$here/tsan.supp" ] && tsupp=":suppressions=$here/tsan.supp"
	start=$(date +%s)
	case "$t" in
	*.sh) set -- bash "$t" ;;
	*) set -- "$t" ;;
	esac
	CH_TEST_TAG=$tag \
		ASAN_OPTIONS="$so:halt_on_error=1:abort_on_error=1:detect_leaks=1:print_stacktrace=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
		UBSAN_OPTIONS="$so:halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
		LSAN_OPTIONS="$so:print_suppressions=0$supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
		TSAN_OPTIONS="$so:halt_on_error=1:second_deadlock_stack=1$tsupp${TSAN_OPTIONS:+:$TSAN_OPTIONS}" \
		timeout -s TERM -k 15 "$limit" "$@" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))

	why=""
	if [ $rc -eq 124 ] || { [ $rc -eq 137 ] && [ $secs -ge "$limit" ]; }; then
		why="timed out after ${limit}s (CH_TEST_TIMEOUT)"
	elif [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		why="exit $rc"
	fi

	# processes the test left running, daemons included
	left=$(leftovers "$tag")
	if [ -n "$left" ]; then
		for p in $left; do
			echo "left running: pid $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" >>"$log"
			kill -TERM "$p" 2>/dev/null
		done
		i=0
		while [ $i -lt 50 ] && [ -n "$(leftovers "$tag")" ]; do
			sleep 0.1
			i=$((i + 1))
		done
		for p in $(leftovers "$tag"); do kill -KILL "$p" 2>/dev/null; done
		why="${why:+$why; }left $(echo $left | wc -w) process(es) running"
	fi

	reports=$(find "$san" -type f 2>/dev/null | sort)
	if [ -n "$reports" ]; then
		why="${why:+$why; }sanitizer report(s) in $san"
	fi

	if [ -z "$why" ] && [ $rc -eq 77 ]; then
		reason=$(grep -m1 '^SKIP:' "$log" | sed 's/^SKIP: *//')
		[ -n "$reason" ] || reason="no SKIP: line in $log"
		if [ $strict -eq 1 ]; then
			why="skipped ($reason), and every test must run on Debian as root (CH_ALLOW_SKIP=1 allows skips)"
		else
			skip=$((skip + 1))
			skipped="$skipped$nl    $name: $reason"
			echo "SKIP $name (${secs}s): $reason"
			continue
		fi
	fi

	if [ -z "$why" ]; then
		pass=$((pass + 1))
		echo "PASS $name (${secs}s)"
		continue
	fi
	fail=$((fail + 1))
	failed="$failed $name"
	echo "FAIL $name (${why}, ${secs}s); log follows:"
	# the test's own lines first (what it checked and why it failed), then
	# the end of the node logs it printed after them ("---- FILE" headers)
	sed '/^---- /,$d' "$log" | tail -n 60 | sed 's/^/    /'
	if grep -q '^---- ' "$log"; then
		echo "    [node logs, last 60 lines]"
		sed -n '/^---- /,$p' "$log" | tail -n 60 | sed 's/^/    /'
	fi
	for r in $reports; do
		echo "    ---- $r (first 40 lines)"
		head -n 40 "$r" | sed 's/^/    /'
	done
done
echo "$pass passed, $fail failed, $skip skipped"
[ $skip -eq 0 ] || echo "skipped:$skipped"
[ $fail -eq 0 ] || {
	echo "failed:$failed"
	exit 1
}
