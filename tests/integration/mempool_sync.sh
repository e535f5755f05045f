#!/usr/bin/env bash
# The mempool's journal is fdatasynced once a second while it is written
# (docs/mempool.md "Persistence": the bound on what a power failure can
# lose).  Counted by the service itself (journal_syncs in `mempool info`,
# incremented after each successful fdatasync): an strace-free view that
# also works on tmpfs, where /proc/PID/io shows no writeback.  Each batch
# of submissions is followed by a sync, and a quiet node does not sync.
. "$(dirname "$0")/lib.sh"

start_node a --listen 127.0.0.1:$PORT_BASE --max-outbound 0
wait_until 30 node_running a || fail "node a not running"
syncs() { ctl a --json mempool info | grep -o '"journal_syncs":[0-9]*' | cut -d: -f2; }
synced_past() { [ "$(syncs)" -gt "$1" ]; }
same_syncs() { [ "$(syncs)" -eq "$1" ]; }

[ -n "$(syncs)" ] || fail "mempool info lacks journal_syncs: $(ctl a --json mempool info)"
for round in 1 2 3; do
	before=$(syncs)
	ctl a tx submit --random --count 20 >/dev/null || fail "submit"
	wait_until 30 synced_past "$before" || fail "round $round: no fdatasync after the submissions"
done
ok "each of 3 batches of submissions was followed by an fdatasync (journal_syncs $(syncs))"
now=$(syncs)
holds_for 3 same_syncs "$now" || fail "a quiet journal was synced ($now -> $(syncs))"
ok "no sync while nothing is written"
