#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# write-path.sh - throughput of debugfs-ext's `iomap_write` against the installed debugfs's
# `write`, copying the same data into the same fresh image.
#
# Once: a SRCFILE of the largest size from /dev/urandom, and a base image
# `mkfs.ext4 -q -F -b 4096 base.img 256M`, both in a temporary directory (mktemp -d,
# removed on exit).  For each size (4 KiB, 64 KiB, 1 MiB, 16 MiB, 64 MiB), SRC_SIZE is the
# first SIZE bytes of SRCFILE (debugfs's `write` copies a whole file).  Then REPS rounds,
# each one run of each of these, in this order, every one on its own fresh
# `cp --sparse=always base.img` copy, synced to disk (neither is timed, only the tool):
#     debugfs:  /usr/sbin/debugfs -w -R "write SRC_SIZE f" IMG
#     da:       debugfs-ext -w -R "iomap_write --sync --create --mode da /f 0 SIZE SRC_SIZE" IMG
#     nonda:    debugfs-ext -w -R "iomap_write --sync --create --mode nonda /f 0 SIZE SRC_SIZE" IMG
# Each run is timed by bash's $EPOCHREALTIME around `/usr/bin/time -f '%e %M'` (wall
# microseconds, includes starting /usr/bin/time and the tool's process start-up and image
# open/close; /usr/bin/time's own 10 ms figure is too coarse for the small sizes, it is
# kept for peak RSS).  The median wall time of each tool gives MB/s (10^6 bytes/s); the
# ratio is ours/debugfs throughput (= debugfs median time / ours), >= 1 means no slower;
# its spread is the min and max of the per-round ratios.
# Verification, once per size and mode (after round 1): `debugfs -R "dump /f out"` of our
# image must equal SRC_SIZE byte for byte, and `e2fsck -fn` on it must exit 0; debugfs's
# own copy is dumped and compared too.  Any failure or non-zero exit stops the script.
# Ends with one RESULT line per size and mode:
#     RESULT size=S mode=M debugfs_MBps=A ours_MBps=B ratio=R (spread X-Y)
# Exit status: 0; 1 on a failed write, verification or e2fsck; 2 on bad usage; 3 if a
# needed tool is missing.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

reps=${REPS:-5}
quick=0
ours=$top/debugfs-ext/debugfs-ext
ref=/usr/sbin/debugfs

usage() {
	cat <<EOF
usage: $prog [--quick] [--debugfs-ext PATH] [--debugfs PATH]

Throughput (MB/s) of \`debugfs-ext -w -R "iomap_write --sync --create --mode da|nonda
/f 0 SIZE SRC"\` against \`debugfs -w -R "write SRC f"\`, same random data, each run on a
fresh copy of one 256 MiB ext4 image (4 KiB blocks); sizes 4K 64K 1M 16M 64M; median of
REPS rounds; our result is checked against the source and by e2fsck -fn.

  --quick              sizes up to 1 MiB only, REPS=3 (unless REPS is set)
  --debugfs-ext PATH   our shell (default: $top/debugfs-ext/debugfs-ext)
  --debugfs PATH       the reference debugfs (default: /usr/sbin/debugfs)
  -h, --help           this help

Environment: REPS (rounds, default 5), TMPDIR (where the images go, ~0.4 GiB at most).
Needs bash 5 (\$EPOCHREALTIME), /usr/bin/time (GNU time), mkfs.ext4, debugfs, e2fsck,
python3.  Exit 0; 1 if a write, a comparison or e2fsck failed; 2 on bad usage; 3 if
something needed is missing.
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1; shift ;;
	--debugfs-ext) need_arg "$@"; ours=$2; shift 2 ;;
	--debugfs-ext=*) ours=${1#*=}; shift ;;
	--debugfs) need_arg "$@"; ref=$2; shift 2 ;;
	--debugfs=*) ref=${1#*=}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "$prog: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
if [ "$quick" = 1 ]; then
	sizes=(4K 64K 1M)
	reps=${REPS:-3}
else
	sizes=(4K 64K 1M 16M 64M)
fi
modes=(da nonda)
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "$prog: REPS wants a positive integer, not '$reps'" >&2; exit 2; }

[ -n "${EPOCHREALTIME:-}" ] || { echo "$prog: needs bash 5 (\$EPOCHREALTIME)" >&2; exit 3; }
need_tools "$ours" "$ref" debugfs
mkfs=$(command -v mkfs.ext4 || echo /usr/sbin/mkfs.ext4)
fsck=$(command -v e2fsck || echo /usr/sbin/e2fsck)
[ -x "$mkfs" ] || { echo "$prog: mkfs.ext4 is missing" >&2; exit 3; }
[ -x "$fsck" ] || { echo "$prog: e2fsck is missing" >&2; exit 3; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/write-path.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

die() { echo "$prog: FAIL: $*" >&2; exit 1; }

bytes() { # 4K -> 4096
	local n=${1%[KMG]}
	case $1 in
	*K) echo $((n << 10)) ;;
	*M) echo $((n << 20)) ;;
	*G) echo $((n << 30)) ;;
	*) echo "$n" ;;
	esac
}

# ---- the data and the image -------------------------------------------------------------------
maxb=0
for s in "${sizes[@]}"; do
	b=$(bytes "$s")
	if [ "$b" -gt "$maxb" ]; then maxb=$b; fi
done
head -c "$maxb" /dev/urandom >"$tmp/src"
[ "$(stat -c %s "$tmp/src")" = "$maxb" ] || die "could not read $maxb bytes from /dev/urandom"
for s in "${sizes[@]}"; do head -c "$(bytes "$s")" "$tmp/src" >"$tmp/src.$s"; done
"$mkfs" -q -F -b 4096 "$tmp/base.img" 256M >"$tmp/mkfs.out" 2>&1 ||
	{ cat "$tmp/mkfs.out" >&2; die "mkfs.ext4 failed"; }
# a fresh copy, synced (the tools fsync the image as they close it; without this their
# timed fsync would also write back the copy's dirty pages)
fresh() {
	rm -f "$tmp/img"
	cp --sparse=always "$tmp/base.img" "$tmp/img"
	sync "$tmp/img"
}

echo "== write-path: $(date -u +%FT%TZ) on $(uname -n), $(nproc) CPUs, Linux $(uname -r)"
echo "image:   mkfs.ext4 -q -F -b 4096 IMG 256M, fresh cp --sparse=always copy per run (synced, untimed), in $tmp ($(df -PT "$tmp" | awk 'NR==2{print $2}'))"
echo "debugfs: $ref -w -R \"write SRC f\" IMG ($("$ref" -V 2>&1 | head -n1))"
echo "ours:    $ours -w -R \"iomap_write --sync --create --mode MODE /f 0 SIZE SRC\" IMG"
echo "data:    one ${maxb}-byte file from /dev/urandom; SRC = its first SIZE bytes"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at the start; other work on the machine shows up as noise"
echo "timer:   \$EPOCHREALTIME around /usr/bin/time -f '%e %M' (wall us; RSS KiB); median of $reps rounds; MB = 10^6 bytes"

# timed NAME CMD...: run CMD under /usr/bin/time; output to $tmp/NAME.out; sets T_US T_KIB T_RC
timed() {
	local name=$1 line t0 t1 secs # secs: /usr/bin/time's own 10 ms figure, not used
	shift
	T_RC=0
	t0=$EPOCHREALTIME
	/usr/bin/time -o "$tmp/$name.time" -f '%e %M' "$@" >"$tmp/$name.out" 2>&1 || T_RC=$?
	t1=$EPOCHREALTIME
	t0=${t0//[.,]/} t1=${t1//[.,]/}
	T_US=$((10#$t1 - 10#$t0))
	line=$(tail -n1 "$tmp/$name.time")
	read -r secs T_KIB <<<"$line" || true
	: "$secs"
	[[ ${T_KIB:-} =~ ^[0-9]+$ ]] || T_KIB=-
}

run_failed() { # NAME WHAT
	echo "   --- last lines of $1's output:" >&2
	tail -n 8 "$tmp/$1.out" | sed 's/^/   | /' >&2
	die "$2 exited $T_RC"
}

verify() { # NAME SIZE: /f in $tmp/img must equal src.SIZE; ours (NAME != debugfs) also e2fsck -fn
	local name=$1 s=$2
	rm -f "$tmp/dump"
	"$ref" -R "dump /f $tmp/dump" "$tmp/img" >"$tmp/dump.out" 2>&1 ||
		{ cat "$tmp/dump.out" >&2; die "$name $s: debugfs dump /f failed"; }
	[ -f "$tmp/dump" ] || { cat "$tmp/dump.out" >&2; die "$name $s: debugfs dump made no file"; }
	cmp "$tmp/dump" "$tmp/src.$s" >"$tmp/cmp.out" 2>&1 ||
		{ cat "$tmp/cmp.out" >&2; die "$name $s: /f ($(stat -c %s "$tmp/dump") bytes) differs from the first $(bytes "$s") bytes of the source"; }
	if [ "$name" = debugfs ]; then
		echo "verified: $s debugfs: content equals the source"
		return 0
	fi
	local rc=0
	"$fsck" -fn "$tmp/img" >"$tmp/fsck.out" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		sed 's/^/   | /' "$tmp/fsck.out" >&2
		die "$name $s: e2fsck -fn exited $rc after our write"
	fi
	echo "verified: $s $name: content equals the source, e2fsck -fn exit 0"
}

echo
printf '%-5s %-5s | %10s %10s %10s | %6s\n' size round debugfs_ms da_ms nonda_ms KiB_max
: >"$tmp/rows"
for s in "${sizes[@]}"; do
	b=$(bytes "$s")
	for r in $(seq 1 "$reps"); do
		fresh
		timed debugfs "$ref" -w -R "write $tmp/src.$s f" "$tmp/img"
		[ "$T_RC" = 0 ] || run_failed debugfs "debugfs write ($s)"
		# debugfs exits 0 even when a request fails; round 1's dump comparison catches the rest
		if grep -qi 'error\|fail\|not found\|no space\|exists' "$tmp/debugfs.out"; then
			T_RC="0 but complained"
			run_failed debugfs "debugfs write ($s)"
		fi
		d_us=$T_US kib=$T_KIB
		if [ "$r" = 1 ]; then verify debugfs "$s"; fi
		line="$s $r $b $d_us"
		ms_cols=()
		for m in "${modes[@]}"; do
			fresh
			timed "$m" "$ours" -w -R "iomap_write --sync --create --mode $m /f 0 $s $tmp/src.$s" "$tmp/img"
			[ "$T_RC" = 0 ] || run_failed "$m" "debugfs-ext iomap_write --mode $m ($s)"
			if [ -s "$tmp/$m.out" ]; then
				echo "   --- $m $s printed:"
				sed 's/^/   | /' "$tmp/$m.out"
			fi
			if [ "$r" = 1 ]; then verify "$m" "$s"; fi
			line="$line $m $T_US"
			ms_cols+=("$(printf '%d.%03d' $((T_US / 1000)) $((T_US % 1000)))")
			if [ "$T_KIB" != - ] && [ "$kib" != - ] && [ "$T_KIB" -gt "$kib" ]; then kib=$T_KIB; fi
		done
		printf '%-5s %-5s | %10s %10s %10s | %6s\n' "$s" "$r" \
			"$(printf '%d.%03d' $((d_us / 1000)) $((d_us % 1000)))" "${ms_cols[@]}" "$kib"
		echo "$line" >>"$tmp/rows"
	done
done
echo

echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp/rows" <<'PY'
import statistics, sys
from collections import OrderedDict

data = OrderedDict()          # size -> {"bytes", "debugfs": [us], mode: [us]}
for l in open(sys.argv[1]):
    f = l.split()
    if not f:
        continue
    size, _, b, d = f[0], f[1], int(f[2]), int(f[3])
    e = data.setdefault(size, {"bytes": b, "debugfs": []})
    e["debugfs"].append(d)
    for m, us in zip(f[4::2], f[5::2]):
        e.setdefault(m, []).append(int(us))

def mbps(b, us):
    v = b / us if us > 0 else float("inf")      # bytes/us == 10^6 bytes/s
    return "%.0f" % v if v >= 100 else "%.1f" % v if v >= 10 else "%.2f" % v if v >= 1 else "%.3f" % v

print("| size | mode | debugfs MB/s | iomap_write MB/s | ratio | spread | median ms debugfs / ours |")
print("| --- | --- | ---: | ---: | ---: | --- | --- |")
results, slower = [], []
for size, e in data.items():
    dmed = statistics.median(e["debugfs"])
    for m in [k for k in e if k not in ("bytes", "debugfs")]:
        omed = statistics.median(e[m])
        ratio = dmed / omed
        per = [d / o for d, o in zip(e["debugfs"], e[m])]
        print("| %s | %s | %s | %s | %.2f | %.2f–%.2f | %.1f / %.1f |" % (
            size, m, mbps(e["bytes"], dmed), mbps(e["bytes"], omed), ratio,
            min(per), max(per), dmed / 1000, omed / 1000))
        results.append("RESULT size=%s mode=%s debugfs_MBps=%s ours_MBps=%s ratio=%.2f (spread %.2f-%.2f)"
                       % (size, m, mbps(e["bytes"], dmed), mbps(e["bytes"], omed), ratio, min(per), max(per)))
        if ratio < 1:
            slower.append("%s %s (%.2f)" % (size, m, ratio))
print()
print("ratio = iomap_write MB/s / debugfs MB/s of the medians (>= 1: no slower); spread = per-round ratios")
print("slower than debugfs: " + (", ".join(slower) if slower else "nowhere"))
print("\n".join(results))
PY
