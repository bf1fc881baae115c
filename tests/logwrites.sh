#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/logwrites.sh - dm-log-writes logs: our writer (debugfs-ext -L), our reader and the
# in-process sweep (iomapck-replay).
#  (round trip and one recorded write: tests/cases/l_log_round_trip, l_log_one_write.)
#  Sweeps over logs of both modes (with and without --sync, short writes): no findings at
#     any FUA or mark; with a bug toggle the expected check fires at the first point where
#     the bug is visible;
#  (hand-built and damaged logs: tests/cases/l_log_hand_built, l_log_damaged.)
set -u
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
DX=${DEBUGFS_EXT:-$top_builddir/debugfs-ext/debugfs-ext}
RP=${IOMAPCK_REPLAY:-$top_builddir/logreplay/iomapck-replay}
[ -x "$DX" ] && [ -x "$RP" ] || fail "debugfs-ext or iomapck-replay not built"
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
POISON=5aa5

# record NAME MKFS-OPTS REQUEST...: base image $T/NAME.base, log $T/NAME.log, result $T/NAME.img
record() {
	local name=$1 opts=$2; shift 2
	# shellcheck disable=SC2086
	mkimg "$T/$name.img" 16M $opts
	printf '%s\n' "iomap_poison $POISON" | "$DX" -w -f - "$T/$name.img" >/dev/null 2>&1 || fail "$name: poison"
	cp "$T/$name.img" "$T/$name.base"
	printf '%s\n' "$@" | "$DX" -w -L "$T/$name.log" -f - "$T/$name.img" >"$T/$name.out" 2>&1
}

# ---- 2. sweeps ----
sweep_clean() { # NAME: zero findings at every FUA and at every mark
	local name=$1 w
	for w in fua mark; do
		"$RP" --log "$T/$name.log" --base "$T/$name.base" --check $w --poison $POISON \
			--keep-going >"$T/o" 2>&1 || { cat "$T/$name.out" "$T/o"; fail "$name: findings at $w points"; }
		grep -q " 0 findings" "$T/o" || { cat "$T/o"; fail "$name: no summary"; }
	done
	sed -n 's/.*: \([0-9]*\) entries, \([0-9]*\) crash points, \([0-9]*\) checked.*/\1 entries, \3 points checked/p' "$T/o"
}
for mode in da nonda; do
	record "$mode" "-b 4096" "iomap_write --mode $mode --create --uid 1000 /f 1000 50000" \
		"iomap_write --mode $mode --sync /f 200000 30000" \
		"iomap_write --mode $mode --short 5000 /f 300000 20000" \
		"iomap_write --mode $mode --seed 3 /f 2000 3000" || { cat "$T/$mode.out"; fail "$mode session"; }
	echo "sweep $mode: $(sweep_clean "$mode")"
done
record k1 "-b 1024 -O quota,^64bit" "iomap_write --create --uid 7 --gid 8 --sync /f 0 200K" \
	"iomap_write --mode nonda --sync /f 100K 300K" "iomap_fallocate --keep-size /f 1M 100K" \
	"iomap_write /f 1M 50K" || { cat "$T/k1.out"; fail "k1 session"; }
echo "sweep 1k/quota: $(sweep_clean k1)"

# replay-log's way, as the baseline: the device written out at each FUA, e2fsck -fn run on it
"$RP" --log "$T/da.log" --base "$T/da.base" --replay "$T/fsck.img" -C 1 \
	--fsck "$E2FSCK -fn $T/fsck.img >/dev/null 2>&1" >"$T/o" 2>&1 || { cat "$T/o"; fail "--fsck e2fsck"; }
nf=$(grep -c '^point ' "$T/o")
grep -q "crash points, $nf checked, 0 findings" "$T/o" || { cat "$T/o"; fail "--fsck counts"; }
"$RP" --log "$T/da.log" --base "$T/da.base" --replay "$T/fsck.img" --fsck false >"$T/o" 2>&1; rc=$?
[ $rc = 4 ] && grep -q "Fsck errored out on entry" "$T/o" || { cat "$T/o"; fail "--fsck false (rc $rc)"; }
"$RP" --log "$T/da.log" --fsck true >"$T/o" 2>&1; [ $? = 16 ] || fail "--fsck without --replay is not a usage error"
echo "--fsck: e2fsck -fn clean at all $nf FUA points of the da log; a failing command stops the sweep"
# dm-flakey: every write after a FUA entry lost; that state is clean
fua=$("$RP" --log "$T/nonda.log" --base "$T/nonda.base" --dump --replay /dev/null | grep -m2 'FUA' | tail -1 | cut -d: -f1)
"$RP" --log "$T/nonda.log" --base "$T/nonda.base" --drop-writes-after "$fua" >"$T/o" 2>&1 \
	&& grep -q "1 checked, 0 findings" "$T/o" || { cat "$T/o"; fail "--drop-writes-after $fua"; }
echo "dm-flakey: writes dropped after FUA entry $fua: clean"

# bug_sweep BUG CODE REQUESTS...: the sweep stops at the first point with CODE
bug_sweep() {
	local bug=$1 code=$2; shift 2
	record "bug-$bug" "-b 4096 -O quota -E quotatype=usrquota:grpquota" "$@"
	"$RP" --log "$T/bug-$bug.log" --base "$T/bug-$bug.base" --check fua --poison $POISON \
		--json "$T/o.json" >"$T/o" 2>&1
	rc=$?
	[ $rc = 4 ] && grep -q "\[$code" "$T/o" || { cat "$T/bug-$bug.out" "$T/o"; fail "bug $bug: $code not found in the sweep (rc $rc)"; }
	python3 - "$T/o.json" "${code#* }" <<'PY' || fail "bug $bug: --json is not JSON naming $code"
import json, sys
d = json.load(open(sys.argv[1]))
codes = {f["code"] for p in d["failing"] for f in p["report"]["findings"]}
sys.exit(0 if sys.argv[2] in codes and d["findings"] >= 1 else 1)
PY
	echo "bug $bug: $code at $(grep -m1 '^entry' "$T/o")"
	if [ -n "${FROM_LOG:-}" ]; then
		# no poison: the log alone shows the blocks got no write since their allocation,
		# at the same first entry
		local first
		first=$(grep -m1 '^entry' "$T/o")
		"$RP" --log "$T/bug-$bug.log" --base "$T/bug-$bug.base" --check fua >"$T/o3" 2>&1
		rc=$?
		[ $rc = 4 ] && grep -q "no write reached these blocks.*\[$code" "$T/o3" &&
			[ "$(grep -m1 '^entry' "$T/o3")" = "$first" ] ||
			{ cat "$T/o" "$T/o3"; fail "bug $bug: the log alone does not show $code at '$first' (rc $rc)"; }
		"$RP" --log "$T/bug-$bug.log" --base "$T/bug-$bug.base" --check fua --no-stale-log \
			>"$T/o3" 2>&1 || { cat "$T/o3"; fail "bug $bug: findings with neither poison nor log evidence"; }
		echo "bug $bug: $code from the log alone (no poison) at the same entry; nothing without evidence"
	fi
	if [ -n "${SAME_AS_E2FSCK:-}" ]; then
		# where e2fsck sees the damage, replay-log's way stops at the same entry
		local ours theirs
		ours=$(sed -n 's/^entry \([0-9]*\).*/\1/p' "$T/o" | head -1)
		"$RP" --log "$T/bug-$bug.log" --base "$T/bug-$bug.base" --check fua --replay "$T/f.img" \
			--fsck "$E2FSCK -fn $T/f.img >/dev/null 2>&1" >"$T/o2" 2>&1
		theirs=$(sed -n 's/^Fsck errored out on entry \([0-9]*\).*/\1/p' "$T/o2")
		[ "$ours" = "$theirs" ] || { cat "$T/o2"; fail "bug $bug: e2fsck fails at entry '$theirs', we at '$ours'"; }
		echo "bug $bug: e2fsck -fn (replay-log way) fails first at the same entry $theirs"
	fi
}
FROM_LOG=1 bug_sweep written_alloc "stale 0x0601" "iomap_write --create --uid 1000 --sync /f 100000 10" \
	"iomap_write --mode nonda --bug written_alloc --sync /f 8192 8192"
FROM_LOG=1 bug_sweep convert_early "stale 0x0601" "iomap_write --create --uid 1000 --sync /f 100000 10" \
	"iomap_write --mode da --bug convert_early --sync /f 8192 8192"
SAME_AS_E2FSCK=1 bug_sweep no_quota "quota 0x0401" "iomap_write --create --uid 1000 /f 0 1" \
	"iomap_write --bug no_quota --sync /f 8192 16384"
SAME_AS_E2FSCK=1 bug_sweep leak_on_fail "bitmap 0x0102" "iomap_write --create --uid 1000 --sync /f 0 1" \
	"iomap_write --mode nonda --bug leak_on_fail --fail ENOSPC /f 8192 16384"

# --reorder: a volatile cache may lose writes since the last FLUSH.  Our commits carry
# FLUSH|FUA; turning the I/O-end commit of the da log into a FUA-only write (as a missing
# preflush would) leaves every FUA state clean, but dropping one earlier data write exposes
# the poison under a written extent.
python3 - "$T/da.log" "$T/noflush.log" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
ss = struct.unpack_from("<I", d, 24)[0]
n = struct.unpack_from("<Q", d, 16)[0]
pos, after_data, done = ss, False, False
for i in range(n):
    sector, nr, flags, dlen = struct.unpack_from("<QQQQ", d, pos)
    if flags & 8 and d[pos + 32:pos + 32 + dlen] == b"after_data":
        after_data = True
    elif after_data and flags & 2 and not done:
        struct.pack_into("<Q", d, pos + 16, flags & ~1)   # FUA without FLUSH
        done = True
    pos += ss + (0 if flags & 0xc else nr * ss)
assert done
open(sys.argv[2], "wb").write(d)
PY
"$RP" --log "$T/noflush.log" --base "$T/da.base" --check fua --poison $POISON >"$T/o" 2>&1 \
	|| { cat "$T/o"; fail "FUA-only commit: not clean without --reorder"; }
"$RP" --log "$T/noflush.log" --base "$T/da.base" --check fua --poison $POISON --reorder 1 >"$T/o" 2>&1; rc=$?
[ $rc = 4 ] && grep -q "without entries .*findings" "$T/o" && grep -q "\[stale 0x0601" "$T/o" \
	|| { cat "$T/o"; fail "--reorder 1 did not expose the lost data write (rc $rc)"; }
"$RP" --log "$T/da.log" --base "$T/da.base" --check fua --poison $POISON --reorder 2 >"$T/o" 2>&1 \
	|| { cat "$T/o"; fail "--reorder 2 on the intact da log"; }
echo "reorder: a FUA-only commit is clean as logged, stale once one earlier write is lost; the intact log stays clean with --reorder 2"

# --manifest: at each mark it names, the files fsync'ed before it must be there, whole.
head -c 50000 /dev/urandom >"$T/src"
record man "-b 4096" "iomap_write --create --sync /f 0 50000 $T/src" "log_mark m1" \
	"iomap_write /f 1000 10" "log_mark m2" || { cat "$T/man.out"; fail "manifest session"; }
h=$(python3 -c '
import sys
h = 0xcbf29ce484222325
for b in open(sys.argv[1], "rb").read():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)' "$T/src")
printf 'mark m1\nfile /f 50000 fnv1a64:%s\nmark m2\nfile /f 50000 fnv1a64:%s\n' "$h" "$h" >"$T/man.txt"
"$RP" --log "$T/man.log" --base "$T/man.base" --manifest "$T/man.txt" >"$T/o" 2>&1 &&
	grep -q "0 findings; 2 of the manifest's 2 marks checked" "$T/o" || { cat "$T/o"; fail "manifest: clean"; }
bad=$(printf '%016x' $(( 0x$h ^ 1 )))
printf 'mark m1\nfile /f 50000 fnv1a64:%s\nfile /f 49999 fnv1a64:%s\nfile /d/g 1 fnv1a64:%s\n' \
	"$bad" "$h" "$h" >"$T/man.txt"
"$RP" --log "$T/man.log" --base "$T/man.base" --manifest "$T/man.txt" >"$T/o" 2>&1; rc=$?
[ $rc = 4 ] && grep -q 'entry [0-9]* (after mark "m1")' "$T/o" && grep -q "/f at mark m1.*\[durable 0x0903" "$T/o" &&
	grep -q "expected 49999, found 50000.*\[durable 0x0902" "$T/o" && grep -q "/d/g at mark m1: .*\[durable 0x0901" "$T/o" ||
	{ cat "$T/o"; fail "manifest: wrong hash, size and path not all reported (rc $rc)"; }
for bad in 'file /f 1 fnv1a64:0000000000000000' 'mark m1\nfile f 1 fnv1a64:0000000000000000' \
	'mark m1\nfile /f x fnv1a64:0000000000000000' 'mark m1\nfile /f 1 crc:0' 'mark m1\nmark m1' 'mark'; do
	printf "$bad\\n" >"$T/man.txt"
	"$RP" --log "$T/man.log" --base "$T/man.base" --manifest "$T/man.txt" >"$T/o" 2>&1; rc=$?
	[ $rc = 8 ] && grep -q "manifest is malformed (line [0-9]*: " "$T/o" || { cat "$T/o"; fail "manifest '$bad' (rc $rc)"; }
done
echo "manifest: clean at both marks; a wrong hash, size and path each reported at mark m1; 6 malformed manifests refused"

# --jobs N: the same sweep in N worker processes gives the sequential sweep's output, byte
# for byte: the first failing point only, every failing point with --keep-going, every
# clean point's journal line with -v -v, the JSON, and the stale evidence (the workers
# follow every point)
same_jobs() {
	"$RP" "$@" --json "$T/j1.json" >"$T/j1" 2>&1; r1=$?
	"$RP" "$@" --json "$T/j3.json" --jobs 3 >"$T/j3" 2>&1; r3=$?
	# how many inode maps each process could reuse is a cost, not a result: workers differ
	sed -i '/: inode block maps: /d' "$T/j1" "$T/j3"
	[ $r1 = $r3 ] && cmp -s "$T/j1" "$T/j3" && cmp -s "$T/j1.json" "$T/j3.json" ||
		{ diff "$T/j1" "$T/j3" | head -20; fail "--jobs 3 differs from the sequential sweep: $*"; }
}
same_jobs --log "$T/bug-written_alloc.log" --base "$T/bug-written_alloc.base" --check fua
same_jobs --log "$T/bug-convert_early.log" --base "$T/bug-convert_early.base" --check every --keep-going
same_jobs --log "$T/k1.log" --base "$T/k1.base" --check fua -v -v
same_jobs --log "$T/da.log" --base "$T/da.base" --check fua --poison $POISON --reorder 1 --keep-going
# The sweep reuses inode block maps from earlier points where nothing they read changed
# (lib/memo.c): it must say exactly what a sweep walking every map at every point says,
# text and JSON, at every point (--check every --keep-going -v -v), and it must have reused
reused_total=0
same_full() {
	"$RP" "$@" -v -v --keep-going --json "$T/i1.json" >"$T/i1" 2>&1; r1=$?
	"$RP" "$@" -v -v --keep-going --json "$T/i0.json" --no-incremental >"$T/i0" 2>&1; r0=$?
	n=$(sed -n 's/.*: inode block maps: \([0-9]*\) reused.*/\1/p' "$T/i1")
	grep -q ': inode block maps: ' "$T/i0" && fail "--no-incremental still reused maps: $*"
	sed -i '/: inode block maps: /d' "$T/i1"
	[ $r1 = $r0 ] && cmp -s "$T/i1" "$T/i0" && cmp -s "$T/i1.json" "$T/i0.json" ||
		{ diff "$T/i0" "$T/i1" | head -20; fail "the incremental sweep differs from the full one: $*"; }
	reused_total=$((reused_total + ${n:-0}))
}
# a file with an extent tree block (13 extents), then holes filled: at each conversion the
# tree block changes while the inode does not, so a stale reuse would show
req="iomap_write --create --uid 1000 --mode nonda --sync /f 0 4096"
for k in 1 2 3 4 5 6 7 8 9 10 11 12; do
	req="$req|iomap_write --mode nonda --sync /f $((k * 8192)) 4096"
done
for k in 1 5 9; do
	req="$req|iomap_write --mode nonda --sync /f $((k * 4096)) 4096"
done
IFS='|' read -r -a reqs <<<"$req"
record frag "-b 4096" "${reqs[@]}" || { cat "$T/frag.out"; fail "frag session"; }
same_full --log "$T/frag.log" --base "$T/frag.base" --check every --poison $POISON
BUGS=$(cd "$T" && ls bug-*.log | sed 's/^bug-//; s/\.log$//')
for bug in $BUGS; do
	same_full --log "$T/bug-$bug.log" --base "$T/bug-$bug.base" --check every
	same_full --log "$T/bug-$bug.log" --base "$T/bug-$bug.base" --check fua --poison $POISON
done
for mode in da nonda; do
	same_full --log "$T/$mode.log" --base "$T/$mode.base" --check every --poison $POISON
done
same_full --log "$T/k1.log" --base "$T/k1.base" --check every
same_full --log "$T/noflush.log" --base "$T/da.base" --check fua --poison $POISON --reorder 1
same_full --log "$T/man.log" --base "$T/man.base" --manifest "$T/man.txt"
[ "$reused_total" -gt 0 ] || fail "no inode map was ever reused: the incremental path went untested"
echo "incremental sweep: same text and JSON as walking every map, on $(echo $BUGS | wc -w) bug logs and 6 others ($reused_total maps reused)"

"$RP" --log "$T/da.log" --base "$T/da.base" --jobs 2 --fsck true --replay "$T/x" >/dev/null 2>&1
[ $? = 16 ] || fail "--jobs with --fsck is not a usage error"
echo "--jobs 3: same output and JSON as the sequential sweep on 4 logs (first failure, --keep-going, -v -v, --reorder)"

# memory follows what the sweep holds, not the log's size: the peak RSS of a 256 MiB log's
# sweep exceeds a small log's by far less than the log (its pages are handed back as the
# headers are read; the map holds 16 bytes a written sector)
peak_kib() {
	python3 - "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
mkimg "$T/big.img" 512M -b 4096 || fail "mkfs 512M"
cp "$T/big.img" "$T/big.base"
{ echo "iomap_write --create /f 0 1"; for i in 0 1 2 3; do
	echo "iomap_write --mode $([ $((i % 2)) = 0 ] && echo da || echo nonda) --sync /f $((i * 67108864)) 64M"
done; } | "$DX" -w -L "$T/big.log" -f - "$T/big.img" >"$T/big.out" 2>&1 || { cat "$T/big.out"; fail "256 MiB session"; }
logk=$(( $(stat -c %s "$T/big.log") / 1024 ))
big=$(peak_kib "$RP" --log "$T/big.log" --base "$T/big.base" --check fua)
small=$(peak_kib "$RP" --log "$T/da.log" --base "$T/da.base" --check fua)
[ "$logk" -gt $((200 * 1024)) ] || fail "the big log is only $logk KiB"
[ $((big - small)) -lt $((logk / 2)) ] ||
	fail "sweeping a $logk KiB log peaks at $big KiB RSS, a small one at $small KiB"
echo "memory: a $((logk / 1024)) MiB log swept at a peak RSS of $((big / 1024)) MiB (a small log: $((small / 1024)) MiB)"
rm -f "$T/big.img" "$T/big.base" "$T/big.log"

echo "logwrites: PASS"
