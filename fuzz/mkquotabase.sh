#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# mkquotabase.sh OUT - the base image of the quota harness (fuzz_quota.c).
#
# A 1 MiB ext4 image with 1 KiB blocks and user, group and project quota, made by the
# installed mkfs.ext4 and debugfs (fixed UUID, hash seed and time, so it is the same every
# time).  Made at build time rather than stored: it is cheap, and it then always matches the
# installed e2fsprogs.  mkfs makes the user quota file 6 blocks long; the harness needs room
# for inputs of up to 64 blocks, all written (an unwritten extent reads as zeros), so a
# 64-block regular file holding the original quota file followed by filler is written and
# copied onto inode 3 (debugfs copy_inode), and the helper inode is released.  The old
# quota blocks stay marked in the bitmap; the harness runs the quota check only.
set -eu
out=$1
PATH=$PATH:/sbin:/usr/sbin
export E2FSPROGS_FAKE_TIME=1700000000
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkfs.ext4 -q -F -b 1024 -O quota,project -U 6e5a0000-0000-4000-8000-000000000001 \
	-E hash_seed=6e5a0000-0000-4000-8000-000000000002 "$t/base.img" 1M >/dev/null 2>&1
debugfs -R "dump <3> $t/orig.q" "$t/base.img" >/dev/null 2>&1
n=$(wc -c <"$t/orig.q")
[ "$n" -gt 0 ] && [ "$n" -le 65536 ]
{ cat "$t/orig.q"; head -c $((65536 - n)) /dev/zero | tr '\0' Q; } >"$t/pad"
debugfs -w -f - "$t/base.img" >"$t/log" 2>&1 <<EOD
write $t/pad qf
copy_inode qf <3>
unlink qf
clri <13>
freei <13>
sif <3> size $n
EOD
# the copy must be 64 written, mapped blocks
debugfs -R "stat <3>" "$t/base.img" 2>/dev/null | grep -q '(0-63):' || {
	cat "$t/log" >&2; echo "mkquotabase.sh: inode 3 is not 64 written blocks" >&2; exit 1; }
mv "$t/base.img" "$out"
