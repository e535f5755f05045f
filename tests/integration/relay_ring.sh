#!/usr/bin/env bash
# Relay across ring networks of 3, 5 and 10 nodes: the checks of
# relay_line.sh (every transaction in every pool, each link carrying each
# transaction at most once per direction) with every node on a cycle, so
# each transaction reaches most nodes by two paths at once.
RELAY_TOPO=ring
. "$(dirname "$0")/relay_line.sh"
