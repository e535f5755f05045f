#!/bin/sh
# run-tests.sh BUILD TEST...: runs each test program or script, one line per
# test, and ends with "N passed, N failed".  Exits 1 if any test failed.
#
# A test's output goes to BUILD/test-logs/NAME.log and is printed only when
# it fails.  Scripts (*.sh) get BUILD in $CH_BUILD so they find the programs.
set -u
build=$1
shift
logs="$build/test-logs"
mkdir -p "$logs"
export CH_BUILD="$build"
pass=0
fail=0
failed=""
for t in "$@"; do
	name=$(basename "$t" .sh)
	start=$(date +%s)
	case "$t" in
	*.sh) bash "$t" >"$logs/$name.log" 2>&1 ;;
	*) "$t" >"$logs/$name.log" 2>&1 ;;
	esac
	rc=$?
	secs=$(($(date +%s) - start))
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		echo "PASS $name (${secs}s)"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "FAIL $name (exit $rc, ${secs}s); log follows:"
		tail -n 60 "$logs/$name.log" | sed 's/^/    /'
	fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ] || { echo "failed:$failed"; exit 1; }
