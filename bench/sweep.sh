#!/bin/bash
# bench/sweep.sh - crash points checked per second: iomapck-replay's in-process sweep
# (overlay + journal recovery + every check at each FUA point) against the replay-log way
# (a replay target written entry by entry, synced at each point, `e2fsck -fn` run on it:
# iomapck-replay --fsck, which does what xfstests' replay-log --fsck does), on the same
# log, side by side in one run.
#   bench/sweep.sh [WRITES]     (default 300 synced writes: ~5,500 entries, ~600 FUA points)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
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
# ours takes tens of milliseconds: the median of 7 runs, in one process and in one worker
# per core (--jobs); the e2fsck way is one process per point, as replay-log runs it.
# The machine's noise moves single runs by a fifth: quote several runs of this script.
median_ms() {
	local runs= s e
	for r in 1 2 3 4 5 6 7; do
		now_us; s=$now
		"$RP" --log "$t/log" --base "$t/base" --check fua "$@" >"$t/ours"
		now_us; runs="$runs $((now - s))"
	done
	echo $runs | tr ' ' '\n' | sort -n | sed -n 4p | awk '{ printf "%.1f", $1 / 1000 }'
}
jobs=$(nproc)
ours_ms=$(median_ms)
ours_j_ms=$(median_ms --jobs "$jobs")
ours_full_ms=$(median_ms --no-incremental) # every inode's map walked at every point
# the e2fsck way takes seconds: the median of 3
runs=
for r in 1 2 3; do
	now_us; s=$now
	"$RP" --log "$t/log" --base "$t/base" --check fua --replay "$t/rep" \
		--fsck "$E2FSCK -fn $t/rep >/dev/null 2>&1" >"$t/theirs"
	now_us; runs="$runs $(( (now - s) / 1000 ))"
done
fsck_ms=$(echo $runs | tr ' ' '\n' | sort -n | sed -n 2p)
points=$(sed -n 's/.* \([0-9]*\) checked.*/\1/p' "$t/ours")
entries=$(sed -n 's/.*: \([0-9]*\) entries.*/\1/p' "$t/ours")
theirs=$(sed -n 's/.* \([0-9]*\) checked.*/\1/p' "$t/theirs")
[ "$theirs" = "$points" ] || { echo "the e2fsck way checked $theirs points, ours $points" >&2; exit 1; }
echo "log: $entries entries, $points FUA points (64 MiB image, $n synced writes)"
printf 'in-process sweep:          %7.1f ms  %8.1f points/s (median of 7)\n' "$ours_ms" "$(echo "$points * 1000 / $ours_ms" | bc -l)"
printf 'in-process sweep, --jobs %d: %7.1f ms  %8.1f points/s (median of 7)\n' "$jobs" "$ours_j_ms" "$(echo "$points * 1000 / $ours_j_ms" | bc -l)"
printf 'in-process, --no-incremental: %5.1f ms  %8.1f points/s (median of 7)\n' "$ours_full_ms" "$(echo "$points * 1000 / $ours_full_ms" | bc -l)"
printf 'write image + e2fsck -fn:   %7d ms  %8.1f points/s (median of 3)\n' "$fsck_ms" "$(echo "$points * 1000 / $fsck_ms" | bc -l)"
printf 'ratio (points/s ours / e2fsck way): %.1f in one process, %.1f with --jobs %d\n' \
	"$(echo "$fsck_ms / $ours_ms" | bc -l)" "$(echo "$fsck_ms / $ours_j_ms" | bc -l)" "$jobs"
