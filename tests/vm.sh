#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/vm.sh - `make check-vm`: real-kernel crash logs (vm/iomapck-vm, qemu) swept by us.
#  1. The small matrix, one seed: every crash point of every log clean (FUA points and the
#     manifest's fsync marks), every fsync'ed file intact at its marks, the dm-flakey crash
#     recovered by the kernel equal to our journal replay (iomapck-vm's own exit code).
#  2. Seeded wrongness in a real log (the default config's), edited with our own writer
#     (tests/tools/logedit) as a disk that lost an acknowledged write would:
#     - a data write removed (a block written once, by the write its extent's commit relies
#       on): stale over that block at the first failing crash point, which is after it;
#     - a journal descriptor block removed: recovery at the transaction's commit stops before
#       that transaction (the kernel's scan ends at a block that is not the next descriptor),
#       and the sweep's journal line says so; the kernel's own recovery of that state
#       (iomapck-vm kernel-verdict) equals ours block for block.
#  0. The kernel-log scan each run makes: a WARNING splat found, a clean log passes; every
#     run's whole dmesg is saved (dmesg.txt) and checked.
#  3. The incremental sweep (inode maps reused between points) says exactly what a sweep
#     walking every map at every point says, on every log of the matrix.
#  4. The series kernel (when present): two buffered_iomap configs swept, and
#     compare-model (the model against the kernel) on one short script, and on a failed
#     write on a nearly full file system (non-da ops).
#  5. fast_commit seed 1: its crash states that do not mount (a fast commit logging an inode
#     with no links) are confirmed by the kernel refusing the mount (triage), so it passes as
#     a known kernel bug.
# SKIP (77) where the VM cannot run (no qemu, no network for the kernel package), with the
# reason iomapck-vm gives.  IOMAPCK_VM_CACHE: a kernel/initramfs cache to reuse.
. "$top_srcdir/tests/lib.sh"
RP=${IOMAPCK_REPLAY:-$top_builddir/logreplay/iomapck-replay}
LOGEDIT=${LOGEDIT:-$top_builddir/tests/tools/logedit}
[ -x "$RP" ] && [ -x "$LOGEDIT" ] || fail "iomapck-replay or tests/tools/logedit not built"
command -v python3 >/dev/null || skip "no python3"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

# ---- 0. the kernel-log scan every run makes (no VM needed): a WARN() splat fails it ----
printf '%s\n' '@@ kmsg: EXT4-fs (vdb): mounted filesystem' \
	'@@ kmsg: WARNING: CPU: 1 PID: 55 at fs/ext4/inode.c:1 ext4_x+0x1/0x2' \
	'@@ kmsg: Call Trace:' >"$T/warn.txt"
"$top_srcdir/vm/iomapck-vm" scan-kernel-log "$T/warn.txt" >"$T/scan.out"; rc=$?
[ $rc = 1 ] && grep -q "^WARNING: CPU: 1" "$T/scan.out" || fail "a WARNING splat not found (rc $rc)"
printf '%s\n' '@@ kmsg: EXT4-fs (vdb): mounted filesystem' '@@ DONE' >"$T/clean.txt"
"$top_srcdir/vm/iomapck-vm" scan-kernel-log "$T/clean.txt" >/dev/null || fail "a clean log flagged"

# ---- 1. the matrix ----
"$top_srcdir/vm/iomapck-vm" --matrix small --seeds 1 --out "$T/runs" --replay "$RP" \
	--json "$T/vm.json" ${IOMAPCK_VM_CACHE:+--cache "$IOMAPCK_VM_CACHE"} >"$T/vm.out" 2>&1
rc=$?
cat "$T/vm.out"
[ $rc = 77 ] && skip "$(sed -n 's/^SKIP: //p' "$T/vm.out" | head -1)"
[ $rc = 0 ] || fail "iomapck-vm exit $rc"
for d in "$T"/runs/*/; do
	[ -s "$d/dmesg.txt" ] || fail "no kernel log saved in $d"
done

# ---- 2. seeded wrongness ----
R=$T/runs/default-s1
L=$R/log.img
[ -s "$L" ] && [ -s "$R/manifest.txt" ] || fail "no default-s1 log or manifest"
"$RP" --log "$L" --check mark --replay "$T/final.img" >/dev/null 2>&1 || fail "replay of $L"
bs=$("$DEBUGFS" -R stats "$T/final.img" 2>/dev/null | awk '/^Block size:/ { print $3 }')
: >"$T/blocks"
sed -n '/^mark umount$/,$ s/^file \([^ ]*\) .*/\1/p' "$R/manifest.txt" | while read -r f; do
	"$DEBUGFS" -R "blocks $f" "$T/final.img" 2>/dev/null | tr ' ' '\n' | grep . >>"$T/blocks"
done
[ -s "$T/blocks" ] || fail "no file blocks in the final state"

# a file block written by exactly one (plain) log entry: that entry, and the block
read -r entry blk < <(python3 - "$L" "$bs" "$T/blocks" <<'PY'
import struct, sys
log, bs = open(sys.argv[1], "rb"), int(sys.argv[2])
blocks = sorted({int(b) for b in open(sys.argv[3]).read().split()})
magic, ver, n, ss = struct.unpack("<QQQI", log.read(28))
per = bs // ss
writers = {}                    # block -> entries writing it
pos = ss
for i in range(n):
    log.seek(pos)
    sector, nr, flags, dlen = struct.unpack("<QQQQ", log.read(32))
    if not flags & 0xc and nr:
        for blk in range(sector // per, (sector + nr - 1) // per + 1):
            writers.setdefault(blk, []).append((i, flags))
    pos += ss + (0 if flags & 0xc else nr * ss)
for b in blocks:
    w = writers.get(b, [])
    if len(w) == 1 and w[0][1] == 0:
        print(w[0][0], b)
        break
PY
)
[ -n "$entry" ] || fail "no file block written exactly once in $L"
"$LOGEDIT" "$L" "$T/nodata.log" "$entry" || fail "logedit"
"$RP" --log "$T/nodata.log" --check fua --keep-going --manifest "$R/manifest.txt" >"$T/o" 2>&1; rc=$?
python3 - "$T/o" "$blk" "$entry" <<'PY' || { head -40 "$T/o"; fail "data write $entry (block $blk) removed: no stale finding over it (rc $rc)"; }
import re, sys
blk, entry, point, first = int(sys.argv[2]), int(sys.argv[3]), None, None
for line in open(sys.argv[1]):
    m = re.match(r"entry (\d+)", line)
    if m:
        point = int(m.group(1))
        first = point if first is None else first
    if point is not None and point != first:
        break   # the first failing point must show it
    m = re.search(r"physical (\d+)(?:-(\d+))?: .*\[stale 0x060[12]\]", line)
    if m and point is not None and point >= entry:
        lo = int(m.group(1)); hi = int(m.group(2) or lo)
        if lo <= blk <= hi:
            print(f"stale over block {blk} at entry {point} (the write was entry {entry})")
            sys.exit(0)
sys.exit(1)
PY
[ $rc = 4 ] || fail "exit $rc with a data write removed"
echo "seeded: data write (entry $entry, block $blk) removed: $(grep -c '^entry' "$T/o") failing points, $(grep -c 'durable 0x09' "$T/o") durability findings"

# the first journal descriptor block (jbd2 magic, type 1) of a transaction after the first,
# and the FUA entry of its commit block (type 2, same sequence)
read -r desc commit seq < <(python3 - "$L" <<'PY'
import struct, sys
log = open(sys.argv[1], "rb")
magic, ver, n, ss = struct.unpack("<QQQI", log.read(28))
pos, desc, first = ss, {}, None
for i in range(n):
    log.seek(pos)
    sector, nr, flags, dlen = struct.unpack("<QQQQ", log.read(32))
    if not flags & 0xc and nr:
        log.seek(pos + ss)
        m, bt, seq = struct.unpack(">III", log.read(12))
        if m == 0xc03b3998:
            if bt == 1 and first is None:
                first = seq
            if bt == 1 and seq > first and seq not in desc:
                desc[seq] = i
            elif bt == 2 and flags & 2 and seq in desc:
                print(desc[seq], i, seq)
                break
    pos += ss + (0 if flags & 0xc else nr * ss)
PY
)
[ -n "$commit" ] || fail "no journal descriptor with its commit in $L"
"$LOGEDIT" "$L" "$T/nodesc.log" "$desc" || fail "logedit"
jline() { "$RP" --log "$1" --check fua -v -v --limit "$2" 2>&1 | grep '^journal:' | tail -1; }
before=$(jline "$L" $((commit + 1)))
after=$(jline "$T/nodesc.log" "$commit")
echo "seeded: journal descriptor of transaction $seq (entry $desc) removed; at its commit (entry $commit):"
echo "  intact log: $before"
echo "  edited log: $after"
case $before in *" to $seq),"*) ;; *) fail "the intact log does not recover transaction $seq at its commit" ;; esac
case $after in
*" to $((seq - 1))),"*) ;;
*) fail "with its descriptor lost, recovery should stop before transaction $seq" ;;
esac

# the kernel's own recovery of that damaged state equals ours, block for block
"$RP" --log "$T/nodesc.log" --check mark --limit "$commit" --replay "$T/nodesc.img" >/dev/null 2>&1 ||
	fail "replay of the edited log"
mark=$(sed -n 's/^mark //p' "$R/manifest.txt" | head -1)
"$top_srcdir/vm/iomapck-vm" kernel-verdict --image "$T/nodesc.img" --config default \
	--manifest "$R/manifest.txt" --mark "$mark" --replay "$RP" --out "$T/verdict" \
	${IOMAPCK_VM_CACHE:+--cache "$IOMAPCK_VM_CACHE"} >"$T/kv.out" 2>&1
line=$(grep '^compare-recovery' "$T/kv.out")
echo "  the kernel's recovery of the edited state: $line"
case $line in
"compare-recovery (rc 0): "*" 0 differ; 0 changed by the kernel only "*) ;;
*) cat "$T/kv.out"; fail "our recovery of the damaged journal is not the kernel's" ;;
esac

# ---- 3. the incremental sweep on real kernel logs ----
# Reusing inode block maps between points (lib/memo.c) must change nothing: on each
# kernel log (journal recovery and orphan release at most points) every point says what a
# sweep walking every map says, text and JSON
n=0
for R in "$T"/runs/*-s1; do
	L=$R/log.img
	[ -s "$L" ] || continue
	"$RP" --log "$L" --check fua --keep-going -v -v --manifest "$R/manifest.txt" \
		--json "$T/i1.json" >"$T/i1" 2>&1; r1=$?
	"$RP" --log "$L" --check fua --keep-going -v -v --manifest "$R/manifest.txt" \
		--json "$T/i0.json" --no-incremental >"$T/i0" 2>&1; r0=$?
	grep -q ': inode block maps: [1-9]' "$T/i1" || fail "$L: no inode map reused"
	sed -i '/: inode block maps: /d' "$T/i1"
	[ $r1 = $r0 ] && cmp -s "$T/i1" "$T/i0" && cmp -s "$T/i1.json" "$T/i0.json" ||
		{ diff "$T/i0" "$T/i1" | head; fail "$L: the incremental sweep differs from the full one"; }
	n=$((n + 1))
done
[ $n -ge 2 ] || fail "only $n kernel logs to compare"
echo "incremental sweep: the same as the full one on $n kernel logs"

# ---- 5. fast commits: findings triaged on the kernel itself --------------------------------
# The seeded workload unlinks open files and fsyncs others: the fast commit then logs an
# inode with no links, which the kernel's replay cannot get back, so the crash states that
# hold it do not mount.  We say JOURNAL_CORRUPT there; the triage boots the kernel on the
# first such state (a read-write mount) and it must refuse it too; the run must pass as a
# known kernel bug, with no other unconfirmed finding.
"$top_srcdir/vm/iomapck-vm" --config fast_commit --seed 1 --out "$T/fc" --replay "$RP" \
	${IOMAPCK_VM_CACHE:+--cache "$IOMAPCK_VM_CACHE"} >"$T/fc.out" 2>&1
rc=$?
grep -E '^(KNOWN|FAIL)' "$T/fc.out" | cut -c1-300
[ $rc = 0 ] || { tail -n 20 "$T/fc.out"; fail "fast_commit seed 1: exit $rc"; }
if grep -q "\"JOURNAL_CORRUPT\"" "$T/fc/fast_commit-s1/replay.json"; then
	grep -q "^KNOWN KERNEL BUG .*JOURNAL_CORRUPT: the kernel refuses the rw mount" "$T/fc.out" ||
		fail "fast_commit seed 1: JOURNAL_CORRUPT not confirmed by the kernel refusing the mount"
	grep -q ": REFUSED$" "$T/fc/fast_commit-s1"/verdict-*/verdict.txt ||
		fail "fast_commit seed 1: no refused mount in the verdict"
else
	echo "fast_commit seed 1: no fast commit of an unlinked inode this time (timing)"
fi

# ---- 4. the kernel with the ext4 iomap series, from ../shared (SKIP that part without it):
# booted from its directory, named by the uname -r it carries; two buffered_iomap
# configurations (the da ops and, with nodelalloc, the non-da ones), each log clean and its
# iomap write tracepoint counted (a run where the iomap path did not run fails) ----
SERIES=$top_srcdir/../shared/kernels/linux-7.1.5-ext4-iomap-v2
if [ -f "$SERIES/vmlinux" ] || [ -f "$SERIES/bzImage" ]; then
	"$top_srcdir/vm/iomapck-vm" --kernel "$SERIES" --config iomap,iomap_nodelalloc --seed 1 \
		--out "$T/series" --replay "$RP" --json "$T/series.json" \
		${IOMAPCK_VM_CACHE:+--cache "$IOMAPCK_VM_CACHE"} >"$T/series.out" 2>&1
	rc=$?
	cat "$T/series.out"
	[ $rc = 0 ] || fail "iomapck-vm on the series kernel: exit $rc"
	python3 - "$T/series.json" <<'PY' || fail "series kernel: wrong name or no iomap writes"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kernel"] == "7.1.5-ext4-iomap-v2+", d["kernel"]
assert len(d["runs"]) == 2
for r in d["runs"]:
    n = r["meta"]["tracepoints"].get("ext4_iomap_buffered_write_begin", 0)
    print("series kernel %s, %s: ext4_iomap_buffered_write_begin x%d" % (d["kernel"], r["meta"]["config"], n))
    assert n > 0
PY
	# compare-model: the model against the series kernel, write for write, on one short
	# script (da ops); every fsync mark must be the same
	DEBUGFS_EXT=${DEBUGFS_EXT:-$top_builddir/debugfs-ext/debugfs-ext} E2FSCK_EXT=$E2FSCK_EXT \
	"$top_srcdir/vm/iomapck-vm" compare-model --kernel "$SERIES" --config iomap \
		--script "$top_srcdir/vm/model/short-write-mid-folio.ops" --out "$T/cm" \
		${IOMAPCK_VM_CACHE:+--cache "$IOMAPCK_VM_CACHE"} >"$T/cm.out" 2>"$T/cm.err"
	rc=$?
	cat "$T/cm.out"
	[ $rc = 0 ] || { tail -n 5 "$T/cm.err"; fail "compare-model on the series kernel: exit $rc"; }
	grep -q '^fsync-[0-9]*: same (/f)$' "$T/cm.out" || fail "compare-model: no fsync mark compared"
	# a failed write on a nearly full file system (non-da ops): the kernel's result of
	# each enospc op is the model's, and the states after it the same
	DEBUGFS_EXT=${DEBUGFS_EXT:-$top_builddir/debugfs-ext/debugfs-ext} E2FSCK_EXT=$E2FSCK_EXT \
	"$top_srcdir/vm/iomapck-vm" compare-model --kernel "$SERIES" --config iomap_nodelalloc \
		--script "$top_srcdir/vm/model/enospc-nearly-full.ops" --out "$T/cm-enospc" \
		${IOMAPCK_VM_CACHE:+--cache "$IOMAPCK_VM_CACHE"} >"$T/cme.out" 2>"$T/cme.err"
	rc=$?
	grep -v ': same' "$T/cme.out"
	[ $rc = 0 ] || { tail -n 5 "$T/cme.err"; fail "compare-model enospc on the series kernel: exit $rc"; }
	grep -q '^result of line [0-9]* (write /f 0 768k 2): kernel \([0-9-][A-Z0-9]*\), model \1$' \
		"$T/cme.out" || fail "compare-model enospc: the failed write's result not compared"
else
	echo "SKIP: $SERIES absent: the series-kernel part (and compare-model) is skipped"
fi
