#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# bench/sweep.sh - crash points checked per second: iomapck-replay's in-process sweep
# (overlay + journal recovery + every check at each FUA point) against the replay-log way
# (a replay target written entry by entry, synced at each point, `e2fsck -fn` run on it:
# iomapck-replay --fsck, which does what xfstests' replay-log --fsck does), on the same
# log, side by side in one run.
#   bench/sweep.sh [WRITES]     (default 300 synced writes: ~5,500 entries, ~600 FUA points)
#   bench/sweep.sh --big [ARGS] the same at real size: bench/sweep-big.sh
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --big ]; then
	shift
	exec "$here/bench/sweep-big.sh" "$@"
fi
DX=${DEBUGFS_EXT:-$here/debugfs-ext/debugfs-ext}
RP=${IOMAPCK_REPLAY:-$here/logreplay/iomapck-replay}
E2FSCK=${E2FSCK:-/usr/sbin/e2fsck}
n=${1:-300}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkfs.ext4 -q -F -b 4096 "$t/img" 64M
cp "$t/img" "$t/base"
{
	echo "iomap_write --create --uid 1000 /f 0 1"
	for i in $(seq 1 "$n"); do
		echo "iomap_write --mode $([ $((i % 2)) = 0 ] && echo da || echo nonda) --sync --seed $((i % 200)) /f $(( (i * 37 % 1000) * 4096 + i )) $(( 1000 + i * 13 % 20000 ))"
	done
} | "$DX" -w -L "$t/log" -f - "$t/img" >/dev/null
# microseconds, read without starting a process (date would add its own start-up to ours)
now_us() { now=${EPOCHREALTIME//[.,]/}; }
# ours takes tens of milliseconds: the median of 7 runs, in one process, in one worker per
# core (--jobs) and without incremental checking; the e2fsck way is one process per point,
# as replay-log runs it, and takes seconds.  This machine's speed drifts (a shared VM):
# three rounds, each ours right before the e2fsck way, a ratio per round, then the median.
median_ms() {
	local runs= s
	for r in 1 2 3 4 5 6 7; do
		now_us; s=$now
		"$RP" --log "$t/log" --base "$t/base" --check fua "$@" >"$t/ours"
		now_us; runs="$runs $((now - s))"
	done
	echo $runs | tr ' ' '\n' | sort -n | sed -n 4p | awk '{ printf "%.1f", $1 / 1000 }'
}
mid() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
jobs=$(nproc)
o1= oj= of= th= r1= rj=
for round in 1 2 3; do
	a=$(median_ms)
	b=$(median_ms --jobs "$jobs")
	c=$(median_ms --no-incremental) # every inode's map walked at every point
	now_us; s=$now
	"$RP" --log "$t/log" --base "$t/base" --check fua --replay "$t/rep" \
		--fsck "$E2FSCK -fn $t/rep >/dev/null 2>&1" >"$t/theirs"
	now_us; f=$(( (now - s) / 1000 ))
	o1="$o1 $a" oj="$oj $b" of="$of $c" th="$th $f"
	r1="$r1 $(echo "$f / $a" | bc -l)" rj="$rj $(echo "$f / $b" | bc -l)"
	printf 'round %d: ours %.1f ms, --jobs %d %.1f ms, --no-incremental %.1f ms; e2fsck way %d ms; ratio %.1f, %.1f with --jobs\n' \
		"$round" "$a" "$jobs" "$b" "$c" "$f" "$(echo "$f / $a" | bc -l)" "$(echo "$f / $b" | bc -l)"
done
points=$(sed -n 's/.* \([0-9]*\) checked.*/\1/p' "$t/ours")
entries=$(sed -n 's/.*: \([0-9]*\) entries.*/\1/p' "$t/ours")
theirs=$(sed -n 's/.* \([0-9]*\) checked.*/\1/p' "$t/theirs")
[ "$theirs" = "$points" ] || { echo "the e2fsck way checked $theirs points, ours $points" >&2; exit 1; }
ours_ms=$(mid $o1) ours_j_ms=$(mid $oj) ours_full_ms=$(mid $of) fsck_ms=$(mid $th)
echo "log: $entries entries, $points FUA points (64 MiB image, $n synced writes); medians of the 3 rounds:"
printf 'in-process sweep:          %7.1f ms  %8.1f points/s\n' "$ours_ms" "$(echo "$points * 1000 / $ours_ms" | bc -l)"
printf 'in-process sweep, --jobs %d: %7.1f ms  %8.1f points/s\n' "$jobs" "$ours_j_ms" "$(echo "$points * 1000 / $ours_j_ms" | bc -l)"
printf 'in-process, --no-incremental: %5.1f ms  %8.1f points/s\n' "$ours_full_ms" "$(echo "$points * 1000 / $ours_full_ms" | bc -l)"
printf 'write image + e2fsck -fn:   %7d ms  %8.1f points/s\n' "$fsck_ms" "$(echo "$points * 1000 / $fsck_ms" | bc -l)"
printf 'ratio (points/s ours / e2fsck way, median of the rounds): %.1f in one process, %.1f with --jobs %d\n' \
	"$(mid $r1)" "$(mid $rj)" "$jobs"
