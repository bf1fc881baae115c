#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# bench/sweep-big.sh - the crash sweep at real size, side by side in one run
# (bench/sweep.sh --big runs this):
#  1. bench/sweep.sh's kind of log (one file, WRITES synced writes alternating da/nonda, by
#     debugfs-ext -L) over the 8 GiB, ~210k-inode image of bench/mkbigimage.sh, swept by
#     iomapck-replay in one process (median of 3) and the e2fsck way (--replay OUT --fsck
#     "e2fsck -fn OUT", as replay-log --fsck: once, it takes minutes); then the same writes
#     over an empty 8 GiB file system (ours, median of 3).  Printed: points, ms a point,
#     the ratio against the e2fsck way, the ratio of a point on the full file system to one
#     on the empty one, and peak RSS of each.
#  2. a file system that grows during the log: STATES debugfs sessions on the empty 8 GiB
#     file system, each creating 60 files, renaming 10 and deleting 10 (so ~4,000 files by
#     the end), made into a log by tests/tools/logdiff (one FUA point a session); the points/s
#     of the first and of the last tenth of the log.
#   bench/sweep-big.sh [--writes N] [--states N] [--no-fsck] [--image PATH]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
DX=${DEBUGFS_EXT:-$here/debugfs-ext/debugfs-ext}
RP=${IOMAPCK_REPLAY:-$here/logreplay/iomapck-replay}
LD=${LOGDIFF:-$here/tests/tools/logdiff}
E2FSCK=${E2FSCK:-/usr/sbin/e2fsck}
DEBUGFS=${DEBUGFS:-/usr/sbin/debugfs}
writes=100 states=100 fsck=1 image=$here/bench/cache/big.img
while [ $# -gt 0 ]; do
	case $1 in
	--writes) writes=$2; shift 2 ;;
	--states) states=$2; shift 2 ;;
	--no-fsck) fsck=0; shift ;;
	--image) image=$2; shift 2 ;;
	-h|--help) sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "sweep-big.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
for t in "$DX" "$RP" "$LD"; do
	[ -x "$t" ] || { echo "sweep-big.sh: $t is not built (make, make check builds logdiff)" >&2; exit 1; }
done
"$here/bench/mkbigimage.sh" "$image" >/dev/null || { echo "sweep-big.sh: mkbigimage.sh failed" >&2; exit 1; }
t=$(mktemp -d "${TMPDIR:-/var/tmp}/sweep-big.XXXXXX")
trap 'rm -rf "$t"' EXIT

# the workload of bench/sweep.sh, WRITES writes
cmds() {
	echo "iomap_write --create --uid 1000 /f 0 1"
	for i in $(seq 1 "$writes"); do
		echo "iomap_write --mode $([ $((i % 2)) = 0 ] && echo da || echo nonda) --sync --seed $((i % 200)) /f $(( (i * 37 % 1000) * 4096 + i )) $(( 1000 + i * 13 % 20000 ))"
	done
}
# timed LABEL CMD...: "seconds peak-KiB" of one run into $t/LABEL.time, output to $t/LABEL
timed() {
	local label=$1; shift
	/usr/bin/time -f '%e %M' -o "$t/$label.time" "$@" >"$t/$label" 2>&1 || true
}
med3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
points_of() { sed -n 's/.* \([0-9]*\) checked.*/\1/p' "$1" | tail -n1; }

echo "== 1. $writes synced writes over the populated image and over an empty one"
cp --sparse=always "$image" "$t/big.base"
cp --sparse=always "$image" "$t/big.img"
cmds | "$DX" -w -L "$t/big.log" -f - "$t/big.img" >/dev/null
rm -f "$t/big.img"
size=$(stat -c %s "$image")
mkfs.ext4 -q -F -b 4096 "$t/empty.base" "$((size / 1024))k"
cp --sparse=always "$t/empty.base" "$t/empty.img"
cmds | "$DX" -w -L "$t/empty.log" -f - "$t/empty.img" >/dev/null
rm -f "$t/empty.img"
ob= or= eb= er=
for r in 1 2 3; do
	timed ours "$RP" --log "$t/big.log" --base "$t/big.base" --check fua
	read -r s k <"$t/ours.time"; ob="$ob $s" or="$or $k"
	timed empty "$RP" --log "$t/empty.log" --base "$t/empty.base" --check fua
	read -r s k <"$t/empty.time"; eb="$eb $s" er="$er $k"
done
pts=$(points_of "$t/ours") epts=$(points_of "$t/empty")
ours=$(med3 $ob) empty=$(med3 $eb)
printf 'ours, populated:  %d points, %.3f s (runs:%s), %.2f ms a point, peak RSS %d MiB\n' \
	"$pts" "$ours" "$ob" "$(echo "$ours * 1000 / $pts" | bc -l)" "$(( $(med3 $or) / 1024 ))"
printf 'ours, empty:      %d points, %.3f s (runs:%s), %.2f ms a point, peak RSS %d MiB\n' \
	"$epts" "$empty" "$eb" "$(echo "$empty * 1000 / $epts" | bc -l)" "$(( $(med3 $er) / 1024 ))"
printf 'a point on the populated file system / one on the empty one: %.1f\n' \
	"$(echo "($ours / $pts) / ($empty / $epts)" | bc -l)"
if [ "$fsck" = 1 ]; then
	timed theirs "$RP" --log "$t/big.log" --base "$t/big.base" --check fua --replay "$t/rep" \
		--fsck "$E2FSCK -fn $t/rep >/dev/null 2>&1"
	read -r s k <"$t/theirs.time"
	rm -f "$t/rep"
	[ "$(points_of "$t/theirs")" = "$pts" ] || { echo "the e2fsck way checked $(points_of "$t/theirs") points, ours $pts" >&2; exit 1; }
	printf 'the e2fsck way:   %d points, %.1f s, %.1f ms a point, peak RSS %d MiB (ours; e2fsck runs apart)\n' \
		"$pts" "$s" "$(echo "$s * 1000 / $pts" | bc -l)" "$((k / 1024))"
	printf 'ratio (the e2fsck way / ours, one process): %.1f\n' "$(echo "$s / $ours" | bc -l)"
fi
rm -f "$t/big.base" "$t/big.log"

echo "== 2. a file system that grows: $states sessions of 60 creates, 10 renames, 10 deletes"
head -c 6000 /dev/urandom >"$t/small"
cp --sparse=always "$t/empty.base" "$t/g.0"
n=0
for s in $(seq 1 "$states"); do
	cp --sparse=always "$t/g.$((s - 1))" "$t/g.$s"
	{
		echo "mkdir /s$s"
		for i in $(seq 1 60); do echo "write $t/small /s$s/f$i"; done
		if [ "$s" -gt 1 ]; then
			for i in $(seq 1 10); do
				echo "ln /s$((s - 1))/f$i /s$s/r$i"
				echo "unlink /s$((s - 1))/f$i"
			done
			for i in $(seq 11 20); do echo "rm /s$((s - 1))/f$i"; done
		fi
	} | "$DEBUGFS" -w -f - "$t/g.$s" >/dev/null 2>&1
	n=$((n + 60 - ($s > 1 ? 10 : 0)))
done
"$LD" "$t/g.log" 4096 $(seq -f "$t/g.%g" 0 "$states")
# the entry that ends each tenth: the FUA of session states/10 and of session 9*states/10
fua_entry() { "$RP" --log "$t/g.log" --base "$t/g.0" --check fua -v | sed -n 's/^entry \([0-9]*\).*/\1/p' | sed -n "${1}p"; }
e1=$(fua_entry $((states / 10))) e9=$(fua_entry $((states * 9 / 10)))
[ -n "$e1" ] && [ -n "$e9" ] || { echo "sweep-big.sh: no FUA points in the growing log" >&2; exit 1; }
# microseconds, read without starting a process
now_us() { now=${EPOCHREALTIME//[.,]/}; }
us() { local s0; now_us; s0=$now; "$@" >/dev/null 2>&1 || true; now_us; echo $((now - s0)); }
f1= f9= fa=
for r in 1 2 3; do
	f1="$f1 $(us "$RP" --log "$t/g.log" --base "$t/g.0" --check fua --limit $((e1 + 1)))"
	f9="$f9 $(us "$RP" --log "$t/g.log" --base "$t/g.0" --check fua --limit $((e9 + 1)))"
	fa="$fa $(us "$RP" --log "$t/g.log" --base "$t/g.0" --check fua)"
done
timed ga "$RP" --log "$t/g.log" --base "$t/g.0" --check fua -v
read -r s k <"$t/ga.time"
tenth=$((states / 10))
a=$(echo "$(med3 $f1) / 1000000" | bc -l) b=$(echo "$(med3 $f9) / 1000000" | bc -l)
c=$(echo "$(med3 $fa) / 1000000" | bc -l)
last=$(echo "$c - $b" | bc -l)
printf 'log: %d sessions, ~%d files at the end; whole sweep %.3f s (%d points), peak RSS %d MiB\n' \
	"$states" "$n" "$c" "$(points_of "$t/ga")" "$((k / 1024))"
printf 'first tenth: %.0f points/s (%d points in %.3f s, start-up and the base included)\n' \
	"$(echo "$tenth / $a" | bc -l)" "$tenth" "$a"
printf 'last tenth:  %.0f points/s (%d points in %.3f s)\n' \
	"$(echo "$tenth / $last" | bc -l)" "$tenth" "$last"
grep ': inode block maps: ' "$t/ga" | sed 's/^[^:]*: /cache: /'
