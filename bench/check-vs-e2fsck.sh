#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# check-vs-e2fsck.sh - time iomapck's front end against the installed e2fsck on a big image.
#
# Runs, on the same clean ext4 image (by default bench/cache/big.img, built or reused by
# bench/mkbigimage.sh: 8 GiB, ~210k files, unwritten extents):
#     ours:   e2fsck-ext -E iomapcheck,iomap_only -n IMAGE   (must exit 0 or 4)
#     e2fsck: /usr/sbin/e2fsck -fn IMAGE                      (must exit 0)
# First one untimed run of each to warm the page cache (no caches are dropped, no root
# needed), then N rounds, each running ours then e2fsck, timed by /usr/bin/time -f '%e %M'
# (wall seconds, 10 ms resolution, and peak RSS in KiB); each run is also timed by bash's
# $EPOCHREALTIME (microseconds; includes starting /usr/bin/time, ~1 ms), shown as "ms",
# because ours can take well under 0.1 s.  Prints every round, median / min / max per tool,
# the ratio ours/e2fsck of the medians with its spread (min and max of the per-round
# ratios), the peak RSS of each (max over rounds), and ends with one line:
#     RESULT ratio=R (spread A-B) ours_median=Xs e2fsck_median=Ys ours_peak_rss=NKiB
#            e2fsck_peak_rss=MKiB exits=ok|UNEXPECTED ratio_ms=R2
# where everything but ratio_ms (the same ratio from the microsecond clock) comes from
# /usr/bin/time.
# Exit status: 0, or 1 if an exit code was not the expected one, 2 on bad usage,
# 3 if a needed tool is missing or the image cannot be made.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

rounds=5
image=
ours=$top/e2fsck-ext/e2fsck-ext
ref=/usr/sbin/e2fsck

usage() {
	cat <<EOF
usage: $prog [--rounds N] [--image PATH] [--e2fsck-ext PATH] [--e2fsck PATH]

Time \`e2fsck-ext -E iomapcheck,iomap_only -n IMAGE\` against \`e2fsck -fn IMAGE\`,
alternating, after one untimed warm-up run of each; print each round, median/min/max,
the ratio ours/e2fsck with its spread, peak RSS, and a final RESULT line.

  --rounds N         timed rounds (default 5)
  --image PATH       image to check (default bench/cache/big.img, made or reused by
                     bench/mkbigimage.sh; a PATH that does not exist is made by it too)
  --e2fsck-ext PATH  our front end (default: $top/e2fsck-ext/e2fsck-ext)
  --e2fsck PATH      the reference e2fsck (default: /usr/sbin/e2fsck)
  -h, --help         this help

Needs /usr/bin/time (GNU time) and python3.  Exit 0, or 1 if an exit code was unexpected
(ours not 0/4, e2fsck not 0), 2 on bad usage, 3 if something needed is missing.
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--rounds) need_arg "$@"; rounds=$2; shift 2 ;;
	--rounds=*) rounds=${1#*=}; shift ;;
	--image) need_arg "$@"; image=$2; shift 2 ;;
	--image=*) image=${1#*=}; shift ;;
	--e2fsck-ext) need_arg "$@"; ours=$2; shift 2 ;;
	--e2fsck-ext=*) ours=${1#*=}; shift ;;
	--e2fsck) need_arg "$@"; ref=$2; shift 2 ;;
	--e2fsck=*) ref=${1#*=}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "$prog: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "$prog: --rounds wants a positive integer, not '$rounds'" >&2; exit 2; }

need_tools "$ours" "$ref" e2fsck

# ---- the image ------------------------------------------------------------------------------
if [ -z "$image" ]; then
	image=$here/cache/big.img
	"$here/mkbigimage.sh" "$image" || { echo "$prog: mkbigimage.sh failed" >&2; exit 3; }
elif [ ! -e "$image" ]; then
	"$here/mkbigimage.sh" "$image" || { echo "$prog: mkbigimage.sh failed" >&2; exit 3; }
fi
[ -r "$image" ] || { echo "$prog: cannot read $image" >&2; exit 3; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-vs-e2fsck.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

imgstats=$( (dumpe2fs -h "$image" 2>/dev/null || /sbin/dumpe2fs -h "$image" 2>/dev/null || true) | awk -F: '
	/^Inode count/{ic=$2+0} /^Free inodes/{fi=$2+0} /^Block count/{bc=$2+0}
	/^Free blocks/{fb=$2+0} /^Block size/{bs=$2+0}
	END{ if (bc) printf "%d/%d inodes used, %d/%d blocks of %d bytes used", ic-fi, ic, bc-fb, bc, bs }')

echo "== check-vs-e2fsck: $(date -u +%FT%TZ) on $(uname -n), $(nproc) CPUs, Linux $(uname -r)"
echo "image:  $image ($(du -h --apparent-size "$image" | cut -f1) sparse, $(du -h "$image" | cut -f1) on disk${imgstats:+; $imgstats})"
echo "ours:   $ours -E iomapcheck,iomap_only -n IMAGE"
echo "e2fsck: $ref -fn IMAGE ($("$ref" -V 2>&1 | head -n1))"
echo "timer:  /usr/bin/time -f '%e %M' (wall s at 10 ms resolution, peak RSS KiB); page cache warm, not dropped"

ok_ours() { [ "$1" = 0 ] || [ "$1" = 4 ]; }
ok_ref() { [ "$1" = 0 ]; }

# timed NAME CMD...: run CMD under /usr/bin/time, output to $tmp/NAME.out;
# sets T_SECS T_KIB T_RC, and T_MS (wall ms by $EPOCHREALTIME, "-" without bash 5)
timed() {
	local name=$1 line t0 t1
	shift
	T_RC=0
	t0=${EPOCHREALTIME:-}
	/usr/bin/time -o "$tmp/$name.time" -f '%e %M' "$@" >"$tmp/$name.out" 2>&1 || T_RC=$?
	t1=${EPOCHREALTIME:-}
	if [ -n "$t0" ] && [ -n "$t1" ]; then
		t0=${t0//[.,]/} t1=${t1//[.,]/}
		T_MS=$(( (10#$t1 - 10#$t0) / 1000 )).$(printf '%03d' $(( (10#$t1 - 10#$t0) % 1000 )))
	else
		T_MS=-
	fi
	# on a non-zero exit GNU time writes "Command exited with non-zero status N" first
	line=$(tail -n1 "$tmp/$name.time")
	read -r T_SECS T_KIB <<<"$line" || true
	if ! [[ ${T_SECS:-} =~ ^[0-9.]+$ && ${T_KIB:-} =~ ^[0-9]+$ ]]; then
		echo "$prog: cannot parse /usr/bin/time output for $name: $(tr '\n' ' ' <"$tmp/$name.time")" >&2
		exit 3
	fi
}

show_output() { # NAME: the tail of a run's output, for an unexpected exit
	echo "   --- last lines of $1's output:"
	tail -n 8 "$tmp/$1.out" | sed 's/^/   | /'
}

# what the ms column carries besides the tool: starting /usr/bin/time and a trivial program
if [ -n "${EPOCHREALTIME:-}" ]; then
	for _ in 1 2 3 4 5; do timed calib /bin/true; echo "$T_MS"; done >"$tmp/calib"
	echo "ms column overhead: $(sort -n "$tmp/calib" | sed -n 3p) ms (median of 5 x /usr/bin/time /bin/true), included, not subtracted"
fi

bad=0
# ---- warm-up (untimed results, but the same commands) ---------------------------------------
timed ours "$ours" -E iomapcheck,iomap_only -n "$image"
w_ours=$T_RC
timed e2fsck "$ref" -fn "$image"
w_ref=$T_RC
echo "warm-up: ours exit $w_ours, e2fsck exit $w_ref (not timed)"
shown_ours=0 shown_ref=0
ok_ours "$w_ours" || { bad=1; shown_ours=1; echo "!! ours exited $w_ours (want 0 or 4)"; show_output ours; }
ok_ref "$w_ref" || { bad=1; shown_ref=1; echo "!! e2fsck exited $w_ref (want 0 on a clean image)"; show_output e2fsck; }
grep -E ' files .* blocks$' "$tmp/e2fsck.out" | sed 's/^/e2fsck says: /' || true
echo

# ---- timed rounds -----------------------------------------------------------------------------
printf '%-5s | %6s %9s %9s %4s | %8s %9s %10s %4s | %6s %8s\n' \
	round ours_s ours_ms ours_KiB exit e2fsck_s e2fsck_ms e2fsck_KiB exit ratio ratio_ms
: >"$tmp/rows"
for r in $(seq 1 "$rounds"); do
	timed ours "$ours" -E iomapcheck,iomap_only -n "$image"
	o_s=$T_SECS o_ms=$T_MS o_k=$T_KIB o_rc=$T_RC
	timed e2fsck "$ref" -fn "$image"
	e_s=$T_SECS e_ms=$T_MS e_k=$T_KIB e_rc=$T_RC
	read -r ratio ratio_ms < <(python3 -c '
import sys
def r(a, b):
    try:
        return "%.3f" % (float(a) / float(b))
    except (ValueError, ZeroDivisionError):
        return "n/a"
print(r(sys.argv[1], sys.argv[2]), r(sys.argv[3], sys.argv[4]))' "$o_s" "$e_s" "$o_ms" "$e_ms")
	flag=
	ok_ours "$o_rc" || { bad=1; flag="$flag !!ours-exit"; }
	ok_ref "$e_rc" || { bad=1; flag="$flag !!e2fsck-exit"; }
	printf '%-5s | %6s %9s %9s %4s | %8s %9s %10s %4s | %6s %8s%s\n' \
		"$r" "$o_s" "$o_ms" "$o_k" "$o_rc" "$e_s" "$e_ms" "$e_k" "$e_rc" "$ratio" "$ratio_ms" "$flag"
	echo "$o_s $o_k $o_rc $e_s $e_k $e_rc $o_ms $e_ms" >>"$tmp/rows"
	ok_ours "$o_rc" || [ "$shown_ours" = 1 ] || { show_output ours; shown_ours=1; }
	ok_ref "$e_rc" || [ "$shown_ref" = 1 ] || { show_output e2fsck; shown_ref=1; }
done
echo

# ---- summary ----------------------------------------------------------------------------------
exits=ok
[ "$bad" = 0 ] || exits=UNEXPECTED
python3 - "$tmp/rows" "$exits" <<'PY'
import collections, statistics, sys

rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
exits = sys.argv[2]
o = [float(r[0]) for r in rows]; ok = [int(r[1]) for r in rows]; orc = [r[2] for r in rows]
e = [float(r[3]) for r in rows]; ek = [int(r[4]) for r in rows]; erc = [r[5] for r in rows]

def codes(c):
    return ", ".join("%s x%d" % kv for kv in sorted(collections.Counter(c).items()))

def ms(col):
    try:
        return [float(r[col]) for r in rows]
    except ValueError:
        return None
oms, ems = ms(6), ms(7)

print("%-8s %9s %9s %9s %10s %13s   %s" % ("tool", "median_s", "min_s", "max_s", "median_ms", "peak_rss_KiB", "exit codes"))
for name, t, m, k, c in (("ours", o, oms, ok, orc), ("e2fsck", e, ems, ek, erc)):
    print("%-8s %9.2f %9.2f %9.2f %10s %13d   %s" % (name, statistics.median(t), min(t), max(t),
          "%.1f" % statistics.median(m) if m else "-", max(k), codes(c)))

om, em = statistics.median(o), statistics.median(e)
per = [a / b for a, b in zip(o, e) if b > 0]
if em > 0 and per:
    ratio, lo, hi = "%.2f" % (om / em), "%.2f" % min(per), "%.2f" % max(per)
else:
    ratio = lo = hi = "n/a"
print()
print("ratio ours/e2fsck of medians: %s (per-round ratios from %s to %s, %d rounds)" % (ratio, lo, hi, len(rows)))
ratio_ms = "n/a"
if oms and ems and statistics.median(ems) > 0:
    perm = [a / b for a, b in zip(oms, ems) if b > 0]
    ratio_ms = "%.3f" % (statistics.median(oms) / statistics.median(ems))
    print("same from the microsecond clock:  %s (per-round ratios from %.3f to %.3f)" % (ratio_ms, min(perm), max(perm)))
if om < 0.2:
    print("note: ours takes under 0.2 s, so the 10 ms resolution of /usr/bin/time is >= 5% of it;"
          " see ratio_ms")
print("exit codes: %s (ours must be 0 or 4, e2fsck 0)" % exits)
print("RESULT ratio=%s (spread %s-%s) ours_median=%.2fs e2fsck_median=%.2fs "
      "ours_peak_rss=%dKiB e2fsck_peak_rss=%dKiB exits=%s ratio_ms=%s"
      % (ratio, lo, hi, om, em, max(ok), max(ek), exits, ratio_ms))
PY
[ "$bad" = 0 ] || exit 1
