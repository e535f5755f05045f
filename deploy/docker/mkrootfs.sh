#!/bin/sh
# mkrootfs.sh BIN_DIR OUT_DIR: a root file system for a FROM scratch image:
# the Chorus programs and the shared libraries they load (their ldd
# closure, the dynamic loader included), nothing else.  No image is pulled.
set -eu
bin=$1
out=$2
rm -rf "$out"
mkdir -p "$out/usr/bin" "$out/tmp" "$out/shared" "$out/etc"
chmod 1777 "$out/tmp"
for p in chorusd chorus-transport chorus-discovery chorus-relay chorus-mempool chorusctl chorus-mon; do
	cp "$bin/$p" "$out/usr/bin/"
	ldd "$bin/$p" | awk '/=>/ { print $3 } /^\t\// { print $1 }' | while read -r lib; do
		[ -n "$lib" ] && [ -e "$lib" ] || continue
		mkdir -p "$out$(dirname "$lib")"
		cp -L "$lib" "$out$lib"
	done
done
printf 'hosts: files dns\n' >"$out/etc/nsswitch.conf"
printf 'root:x:0:0:root:/tmp:/usr/bin/chorusd\n' >"$out/etc/passwd"
echo "rootfs: $(du -sh "$out" | cut -f1) in $out"
