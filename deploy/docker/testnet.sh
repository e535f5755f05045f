#!/bin/sh
# testnet.sh up|down|check [NODES]: the docker-compose testnet (make
# testnet-up / testnet-down / testnet-check).  `up` builds the image from
# the project's own binaries (FROM scratch + their ldd closure), writes the
# compose file for NODES nodes (default 4) and starts seed, nodes and
# monitor; `check` brings it up, waits until every container keeps its
# outbound target (or has every other container as a peer), submits
# transactions in node1 and waits until every container's mempool has
# them, then tears it down; exit 0 only if all of that happened.  As root on Debian it installs docker.io and
# docker-compose and starts the engine if they are missing.
set -u
cmd=${1:-up}
nodes=${2:-4}
BUILD=${BUILD:-build}
P=chorus-testnet
here=$(cd "$(dirname "$0")" && pwd)
out=$BUILD/docker
compose() { docker-compose -p "$P" -f "$out/docker-compose.yml" "$@"; }

ensure_docker() {
	if ! command -v docker-compose >/dev/null || ! command -v dockerd >/dev/null; then
		if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io docker-compose >&2 ||
				{ echo "testnet: cannot install docker.io docker-compose" >&2; return 1; }
		else
			echo "testnet: needs docker.io and docker-compose (apt-get install -y docker.io docker-compose)" >&2
			return 1
		fi
	fi
	if ! docker info >/dev/null 2>&1; then
		[ "$(id -u)" = 0 ] || { echo "testnet: the Docker engine is not running" >&2; return 1; }
		(dockerd >/tmp/chorus-dockerd.log 2>&1 &)
		for _ in $(seq 60); do docker info >/dev/null 2>&1 && return 0; sleep 0.5; done
		echo "testnet: the Docker engine did not start (/tmp/chorus-dockerd.log)" >&2
		return 1
	fi
}

up() {
	ensure_docker || return 1
	mkdir -p "$out"
	sh "$here/mkrootfs.sh" "$BUILD/bin" "$out/rootfs" >/dev/null || return 1
	cp "$here/Dockerfile" "$out/"
	docker build -q -t chorus-node:local "$out" >/dev/null 2>&1 || { echo "testnet: image build failed" >&2; return 1; }
	sh "$here/compose-gen.sh" "$nodes" >"$out/docker-compose.yml"
	compose up -d >/dev/null 2>&1 || { echo "testnet: compose up failed" >&2; return 1; }
	echo "testnet: seed + $nodes nodes + monitor up (docker-compose -p $P -f $out/docker-compose.yml logs -f monitor)"
}

down() {
	[ -f "$out/docker-compose.yml" ] && compose down -v >/dev/null 2>&1
	echo "testnet: down"
}

xctl() {
	_c=$1
	shift
	docker exec "${P}_${_c}_1" /usr/bin/chorusctl --datadir "/shared/$_c" "$@"
}

count() { xctl "$1" --json mempool info 2>/dev/null | grep -o '"count": *[0-9]*' | grep -o '[0-9]*$'; }

check() {
	up || return 1
	trap down EXIT
	i=0
	while :; do
		ok=1
		for n in seed $(seq -f 'node%g' 1 "$nodes"); do
			[ "$(xctl "$n" --json peers 2>/dev/null | grep -o '"id"' | wc -l)" -ge 1 ] || ok=0
		done
		[ $ok = 1 ] && break
		i=$((i + 1)); [ $i -lt 150 ] || { echo "testnet: nodes did not connect" >&2; return 1; }
		sleep 0.2
	done
	# every node keeps its outbound target (8) or is connected to every
	# other container: one docker network is one /16, so this needs the
	# private-address groups of netgroup auto
	target=8
	i=0
	while :; do
		ok=1
		for n in seed $(seq -f 'node%g' 1 "$nodes"); do
			o=$(xctl "$n" --json peers 2>/dev/null | grep -o '"kind":"outbound"' | wc -l)
			p=$(xctl "$n" --json peers 2>/dev/null | grep -o '"id"' | wc -l)
			[ "$o" -ge "$target" ] || [ "$p" -ge "$nodes" ] || ok=0
		done
		[ $ok = 1 ] && break
		i=$((i + 1))
		if [ $i -ge 120 ]; then
			for n in seed $(seq -f 'node%g' 1 "$nodes"); do
				echo "testnet: $n: $(xctl "$n" --json peers 2>/dev/null | grep -o '"kind":"outbound"' | wc -l) outbound" >&2
			done
			echo "testnet: nodes did not reach their outbound target" >&2
			return 1
		fi
		sleep 0.5
	done
	echo "testnet: every container has $target outbound connections (or every other container as a peer)"
	xctl node1 tx submit --random --count 25 >/dev/null || { echo "testnet: submit failed" >&2; return 1; }
	i=0
	while :; do
		ok=1
		for n in seed $(seq -f 'node%g' 1 "$nodes"); do
			[ "$(count "$n")" -ge 25 ] || ok=0
		done
		[ $ok = 1 ] && break
		i=$((i + 1)); [ $i -lt 300 ] || { echo "testnet: mempools did not converge" >&2; return 1; }
		sleep 0.2
	done
	echo "testnet: 25 transactions submitted in node1 reached all $((nodes + 1)) containers' mempools"
}

case "$cmd" in
up) up ;;
down) down ;;
check) check ;;
*) echo "usage: testnet.sh up|down|check [NODES]" >&2; exit 64 ;;
esac
