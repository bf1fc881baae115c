#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/wl-trace.sh - the guest workload vm/wl.c without a VM: built on the host as
# iomapck-vm builds it (gcc -O2, not static), run with WL_NOMARK=1 WL_TRACE=1 on a fresh
# loop-mounted ext4 (so as root), each run's stdout (the trace), manifest (marks, durable
# files and the "#op" log) and manifest.final compared with the golden in tests/wl/:
#   seed1        wl run 1 (the default 400 operations): every seeded draw, so a change in
#                the number or order of random draws of any operation changes it
#   mmap-write   wl script vm/model/mmap-write.ops (create, write, mwrite, truncate,
#                fsync, fsyncdir)
#   falloc-keep-past-eof   wl script vm/model/falloc-keep-past-eof.ops
# Normalised: the mount point (MNT) and the script's directory (SRC).  The golden was made
# by the wl.c of eaf370b; WL_BIN=PATH runs another build (WL_GOLDEN=DIR writes the output
# there instead of comparing, to make a golden).
. "$top_srcdir/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (a loop-mounted ext4)"
command -v gcc >/dev/null || skip "no gcc"
command -v losetup >/dev/null && [ -e /dev/loop-control ] || skip "no loop devices"
T=$(mktemp -d)
mnt=$T/mnt
cleanup() { mountpoint -q "$mnt" && umount "$mnt"; rm -rf "$T"; }
trap cleanup EXIT
mkdir "$mnt"
WL=${WL_BIN:-$T/wl}
[ -n "$WL_BIN" ] || gcc -O2 -o "$WL" "$top_srcdir/vm/wl.c" || fail "cannot build vm/wl.c"

# run NAME ARGS...: wl ARGS (MNT and MAN stand for the mount point and the manifest) on a
# fresh file system; its normalised output in $T/NAME
run() {
	local name=$1 a args=() src=$top_srcdir/vm; shift
	for a in "$@"; do
		case $a in MNT) a=$mnt ;; MAN) a=$T/manifest ;; esac
		args+=("$a")
	done
	mkimg "$T/fs.img" 256M -T default
	mount -o loop "$T/fs.img" "$mnt" || skip "cannot loop-mount an ext4 image"
	WL_NOMARK=1 WL_TRACE=1 "$WL" "${args[@]}" >"$T/stdout" 2>"$T/stderr"
	echo "exit $?" >>"$T/stdout"
	umount "$mnt" || fail "umount $mnt"
	{
		echo "== stdout"; cat "$T/stdout"
		echo "== stderr"; cat "$T/stderr"
		echo "== manifest"; cat "$T/manifest"
		echo "== manifest.final"; cat "$T/manifest.final"
	} | sed -e "s|$mnt|MNT|g" -e "s|$src|SRC|g" >"$T/$name"
}

run seed1 run 1 MNT MAN default
run mmap-write script "$top_srcdir/vm/model/mmap-write.ops" MNT MAN iomap
run falloc-keep-past-eof script "$top_srcdir/vm/model/falloc-keep-past-eof.ops" MNT MAN iomap
bad=0
for name in seed1 mmap-write falloc-keep-past-eof; do
	if [ -n "$WL_GOLDEN" ]; then
		cp "$T/$name" "$WL_GOLDEN/$name.expect"
	elif cmp -s "$top_srcdir/tests/wl/$name.expect" "$T/$name"; then
		echo "wl-trace: $name: same as the golden"
	else
		echo "wl-trace: $name: differs from tests/wl/$name.expect:"
		diff -u "$top_srcdir/tests/wl/$name.expect" "$T/$name" | head -40
		bad=1
	fi
done
[ $bad = 0 ] || fail "wl's trace or manifest changed"
[ -n "$WL_GOLDEN" ] && echo "wl-trace: golden written to $WL_GOLDEN" ||
	echo "wl-trace: 3 runs the same as the golden"
