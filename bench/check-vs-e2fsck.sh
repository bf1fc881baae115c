#!/bin/bash
# check-vs-e2fsck.sh [--rounds N] [--image PATH] [--e2fsck-ext PATH]
# Times `e2fsck-ext -E iomapcheck,iomap_only -n IMAGE` against the installed `e2fsck -fn IMAGE`
# on the large image of mkbigimage.sh, alternating, N rounds after one untimed warm-up run of
# each, with /usr/bin/time (wall seconds, peak RSS).  Prints every round, the medians, the
# ratio ours/e2fsck with its spread over rounds, and peak memory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rounds=5 image=$here/cache/big.img ours=$here/../e2fsck-ext/e2fsck-ext
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) rounds=$2; shift 2 ;;
	--image) image=$2; shift 2 ;;
	--e2fsck-ext) ours=$2; shift 2 ;;
	-h|--help) sed -n '2,6p' "$0"; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 16 ;;
	esac
done
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time: apt-get install time" >&2; exit 8; }
[ -x "$ours" ] || { echo "no $ours: build first (make)" >&2; exit 8; }
mkdir -p "$(dirname "$image")"
[ -f "$image" ] || "$here/mkbigimage.sh" "$image"
e2fsck=${E2FSCK:-/usr/sbin/e2fsck}
log=$(mktemp); trap 'rm -f "$log"' EXIT
timed() { # timed NAME CMD... -> "NAME secs kib rc"
	local name=$1; shift
	/usr/bin/time -o "$log" -f '%e %M' "$@" >/dev/null 2>&1 && rc=0 || rc=$?
	echo "$name $(cat "$log" | tail -1) $rc"
}
"$ours" -E iomapcheck,iomap_only -n "$image" >/dev/null 2>&1 || true
"$e2fsck" -fn "$image" >/dev/null 2>&1 || true
results=()
for r in $(seq 1 "$rounds"); do
	a=$(timed ours "$ours" -E iomapcheck,iomap_only -n "$image")
	b=$(timed e2fsck "$e2fsck" -fn "$image")
	echo "round $r: $a | $b"
	results+=("$a $b")
done
printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
rows = [l.split() for l in sys.stdin if l.strip()]
o = [float(r[1]) for r in rows]; e = [float(r[5]) for r in rows]
om = [int(r[2]) for r in rows]; em = [int(r[6]) for r in rows]
ratios = [a / b for a, b in zip(o, e)]
print("ours:   median %.2fs min %.2fs max %.2fs peak %d KiB exit %s" % (statistics.median(o), min(o), max(o), max(om), rows[0][3]))
print("e2fsck: median %.2fs min %.2fs max %.2fs peak %d KiB exit %s" % (statistics.median(e), min(e), max(e), max(em), rows[0][7]))
print("RESULT ratio=%.2f (spread %.2f-%.2f) ours_median=%.2fs e2fsck_median=%.2fs ours_peak_rss=%dKiB e2fsck_peak_rss=%dKiB"
      % (statistics.median(o) / statistics.median(e), min(ratios), max(ratios), statistics.median(o), statistics.median(e), max(om), max(em)))
'
