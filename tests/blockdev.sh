#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/blockdev.sh - block devices wherever a path is taken: a log, a base and a --replay
# target on loop devices (st_size is 0 there; the size comes from BLKGETSIZE64), e2fsck-ext
# and debugfs-ext on a device, and a mounted device refused for writing by name (e2fsck-ext
# only warns, as e2fsck -n does).  Needs root and losetup: SKIP otherwise.
. "$top_srcdir/tests/lib.sh"
DX=${DEBUGFS_EXT:-$top_builddir/debugfs-ext/debugfs-ext}
RP=${IOMAPCK_REPLAY:-$top_builddir/logreplay/iomapck-replay}
[ "$(id -u)" = 0 ] || skip "needs root for loop devices"
command -v losetup >/dev/null || skip "no losetup"
T=$(mktemp -d) || exit 1
LOOPS=()
cleanup() {
	umount "$T/mnt" 2>/dev/null
	for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
loop() { # FILE -> prints the loop device
	local l
	l=$(losetup -f --show "$1" 2>/dev/null) || skip "losetup cannot attach a loop device here"
	LOOPS+=("$l")
	echo "$l"
}
mkimg "$T/base" 16M -b 4096
cp "$T/base" "$T/img"
printf '%s\n' "iomap_write --create --sync /f 0 100000" "iomap_write /f 200000 5000" \
	"iomap_writeback" | "$DX" -w -L "$T/log" -f - "$T/img" >"$T/dx.out" 2>&1 ||
	{ cat "$T/dx.out"; fail "recording the log"; }
# the log's size is padded to whole sectors by nothing: give the device a whole 512 multiple
truncate -s $(( ($(stat -c %s "$T/log") + 511) / 512 * 512 )) "$T/log"
LOG=$(loop "$T/log")
BASE=$(loop "$T/base")
# ---- the sweep: the same output from devices as from files ----
"$RP" --log "$T/log" --base "$T/base" --check fua >"$T/files.out" 2>&1; rc_f=$?
"$RP" --log "$LOG" --base "$BASE" --check fua >"$T/devs.out" 2>&1; rc_d=$?
[ $rc_f = $rc_d ] || { cat "$T/devs.out"; fail "exit $rc_d from devices, $rc_f from files"; }
diff <(sed "s|$T/log|LOG|g; s|$T/base|BASE|g" "$T/files.out") \
	<(sed "s|$LOG|LOG|g; s|$BASE|BASE|g" "$T/devs.out") || fail "the sweep differs on devices"
grep -q "point" "$T/devs.out" || { cat "$T/devs.out"; fail "no points swept from the device log"; }
# ---- --replay onto a device: the same bytes as onto a file ----
"$RP" --log "$LOG" --base "$BASE" --replay "$T/replayed" --check mark >/dev/null 2>&1 ||
	fail "replay onto a file"
truncate -s 16M "$T/target"
TGT=$(loop "$T/target")
"$RP" --log "$LOG" --base "$BASE" --replay "$TGT" --check mark >"$T/o" 2>&1 ||
	{ cat "$T/o"; fail "replay onto a loop device"; }
cmp "$T/replayed" "$TGT" || fail "replay onto a device differs from replay onto a file"
cmp "$T/img" "$T/replayed" || fail "the replayed log differs from the session's image"
truncate -s 8M "$T/small"
SMALL=$(loop "$T/small")
"$RP" --log "$LOG" --base "$BASE" --replay "$SMALL" --check mark >"$T/o" 2>&1 &&
	fail "replay onto a device smaller than the base succeeded"
# ---- e2fsck-ext and debugfs-ext on a device ----
"$E2FSCK_EXT" -E iomapcheck,iomap_only -fn "$TGT" >"$T/o" 2>&1 || { cat "$T/o"; fail "e2fsck-ext on a device"; }
"$DX" -R "iomap_check" "$TGT" >"$T/o" 2>&1 || { cat "$T/o"; fail "debugfs-ext on a device"; }
# ---- mounted: writes refused by name, a read-only check warns ----
mkdir -p "$T/mnt"
if mount -o ro "$TGT" "$T/mnt" 2>/dev/null; then
	"$RP" --log "$LOG" --base "$BASE" --replay "$TGT" --check mark >"$T/o" 2>&1 &&
		fail "replay onto a mounted device succeeded"
	grep -qi "mounted" "$T/o" || { cat "$T/o"; fail "replay refusal does not say mounted"; }
	"$DX" -w -R "iomap_write /g 0 10" "$TGT" >"$T/o" 2>&1 && fail "debugfs-ext -w on a mounted device"
	grep -qi "mounted" "$T/o" || { cat "$T/o"; fail "debugfs-ext refusal does not say mounted"; }
	"$E2FSCK_EXT" -E iomapcheck,iomap_only -fn "$TGT" >"$T/o" 2>&1 ||
		{ cat "$T/o"; fail "e2fsck-ext -n on a mounted device"; }
	grep -q "is mounted on $T/mnt" "$T/o" || { cat "$T/o"; fail "no mounted warning"; }
	umount "$T/mnt"
else
	echo "note: cannot mount the loop device here; the mounted-device part is skipped"
fi
echo "PASS: log, base and replay target on loop devices; mounted devices refused for writing"
