#!/usr/bin/env bash
# Relay across random networks of 3, 5 and 10 nodes (a random spanning
# tree plus about n/2 random extra links, printed): the checks of
# relay_line.sh.
RELAY_TOPO=random
. "$(dirname "$0")/relay_line.sh"
