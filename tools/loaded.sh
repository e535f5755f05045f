#!/bin/sh
# loaded.sh CMD...: runs CMD while every core is kept busy by a CPU hog (one
# `yes >/dev/null` per core, at normal priority), to show the tests wait
# for conditions rather than for a fast machine.  The hogs are this
# script's own children, killed by PID when CMD ends, fails or is
# interrupted.  CH_WAIT_SCALE (default 3 here) stretches the tests'
# deadlines (tests/integration/lib.sh) and CH_TEST_TIMEOUT (default 600
# here) the per-test limit; CH_LOAD_PROCS overrides the count of hogs.
# Exits with CMD's status.
set -u
n=${CH_LOAD_PROCS:-$(nproc)}
pids=""
stop() {
	[ -n "$pids" ] && kill $pids 2>/dev/null
	[ -n "$pids" ] && wait $pids 2>/dev/null
	pids=""
}
trap stop EXIT
trap 'stop; exit 130' INT TERM
i=0
while [ $i -lt "$n" ]; do
	yes >/dev/null &
	pids="$pids $!"
	i=$((i + 1))
done
echo "loaded: $n CPU hog(s) running (pids$pids)"
CH_WAIT_SCALE=${CH_WAIT_SCALE:-3} CH_TEST_TIMEOUT=${CH_TEST_TIMEOUT:-600} "$@"
rc=$?
stop
echo "loaded: hogs stopped"
exit $rc
