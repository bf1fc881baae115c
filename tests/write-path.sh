#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/write-path.sh - debugfs-ext's iomap write path on mkfs'd images, judged by the
# installed e2fsck -fn, by our checks, and by reading the files back with the installed
# debugfs (and the kernel where this machine can loop-mount).
#
#  1. every kind of range (holes, unaligned, over written data, over fallocated ranges
#     inside and past EOF, extending, short and failed writes), both modes, on four images
#     (4k/1k blocks, 64bit on/off, with and without usr/grp/prj quota): clean, and the
#     content is exactly what was written;
#  2. every crash point in both modes: clean, old data intact, the new range reads old
#     data, new data or zeros and never free space's poison;
#  3. every bug toggle fires its check, and the same write without it does not;
#  4. the validity cookie: a writeback between begin and the copy makes the copy re-map;
#  5. refusals (needs_recovery, bigalloc, inline data, block-mapped file, read-only), the
#     da/non-da switch near a full file system;
#  6. ENOSPC: a fallocate keeps what it allocated, up to the reserved clusters; a non-da
#     write stops short after the blocks it got.
set -u
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
DX=${DEBUGFS_EXT:-$top_builddir/debugfs-ext/debugfs-ext}
[ -x "$DX" ] || fail "$DX not built"
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
OUT=$T/out
NCHECK=0

# dx IMG REQUEST...: one debugfs-ext -w session; output in $OUT; returns its exit code.
dx() {
	local img=$1; shift
	printf '%s\n' "$@" | "$DX" -w -f - "$img" >"$OUT" 2>&1
}

# judge IMG [POISON]: the installed e2fsck -fn and our checks both clean.
judge() {
	local img=$1 opt=iomapcheck,iomap_only
	[ -n "${2:-}" ] && opt="$opt,iomap_poison=$2"
	"$E2FSCK" -fn "$img" >"$T/e2fsck.txt" 2>&1 || { cat "$T/e2fsck.txt"; cat "$OUT"; fail "e2fsck -fn not clean on $img ($WHAT)"; }
	"$E2FSCK_EXT" -E "$opt" -fn "$img" >"$T/ours.txt" 2>&1 || { cat "$T/ours.txt"; cat "$OUT"; fail "our checks not clean on $img ($WHAT)"; }
	NCHECK=$((NCHECK + 1))
}

# exp_write EXP OFF LEN SEED [LIMIT]: apply a pattern write to the expected content.
exp_write() {
	python3 - "$@" <<'PY'
import os, sys
p, off, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
d = bytearray(open(p, "rb").read()) if os.path.exists(p) else bytearray()
if len(d) < off + n:
    d += bytes(off + n - len(d))
for o in range(off, off + n):
    d[o] = ((o % 251) + (o // 4096) + seed) & 255
open(p, "wb").write(d)
PY
}

# expect_content IMG PATH EXP: the file read back by the installed debugfs is EXP.
expect_content() {
	rm -f "$T/dump"
	"$DEBUGFS" -R "dump $2 $T/dump" "$1" >/dev/null 2>&1
	cmp -s "$T/dump" "$3" || { cmp "$T/dump" "$3" | head -3; cat "$OUT"; fail "content of $2 differs ($WHAT)"; }
}

# written: the byte count a short write reported (or LEN when it was not short).
written() {
	local n; n=$(sed -n 's/.*short write: \([0-9]*\) of.*/\1/p' "$OUT" | tail -1)
	echo "${n:-$1}"
}

IMAGES=(
	"4k-quota-prj-64bit|-b 4096 -O quota,project -E quotatype=usrquota:grpquota:prjquota"
	"1k-quota-no64bit|-b 1024 -O quota,^64bit -E quotatype=usrquota:grpquota"
	"4k-noquota-no64bit|-b 4096 -O ^64bit"
	"1k-quota-prj-64bit|-b 1024 -O quota,project,64bit -E quotatype=usrquota:grpquota:prjquota"
)

# ---- 1. ranges ----
for spec in "${IMAGES[@]}"; do
	name=${spec%%|*}; opts=${spec#*|}
	for mode in da nonda; do
		WHAT="$name $mode"
		img=$T/$name-$mode.img
		# shellcheck disable=SC2086
		mkimg "$img" 16M $opts
		prj=""; [[ $name == *prj* ]] && prj="--projid 42"
		e1=$T/e1; e2=$T/e2; e3=$T/e3; e4=$T/e4
		rm -f "$e1" "$e2" "$e3" "$e4"
		# a hole, unaligned, creating the file; then over written data; then a hole
		# inside i_size after an extending write
		dx "$img" "iomap_write --mode $mode --create --uid 1000 --gid 100 $prj /f1 1000 10000" \
			"iomap_writeback /f1" \
			"iomap_write --mode $mode --seed 7 /f1 3000 5000" \
			"iomap_write --mode $mode --seed 9 /f1 40000 100" \
			"iomap_write --mode $mode --seed 11 --sync /f1 20000 5000" \
			"iomap_check" || { cat "$OUT"; fail "session 1 ($WHAT)"; }
		grep -q "0 error(s), 0 warning(s)" "$OUT" || { cat "$OUT"; fail "iomap_check in session ($WHAT)"; }
		exp_write "$e1" 1000 10000 0; exp_write "$e1" 3000 5000 7
		exp_write "$e1" 40000 100 9; exp_write "$e1" 20000 5000 11
		judge "$img"; expect_content "$img" /f1 "$e1"
		# fallocated ranges: unwritten inside EOF, unwritten past EOF (KEEP_SIZE),
		# writes over both, one extending past the unwritten range
		dx "$img" "iomap_write --mode $mode --create --uid 1001 --gid 100 /f2 0 1" \
			"iomap_fallocate /f2 0 64K" \
			"iomap_fallocate --keep-size /f2 64K 64K" \
			"iomap_write --mode $mode --seed 3 /f2 5000 3000" \
			"iomap_write --mode $mode --seed 5 /f2 70000 10000" \
			"iomap_write --mode $mode --seed 6 /f2 120000 20000" || { cat "$OUT"; fail "session 2 ($WHAT)"; }
		exp_write "$e2" 0 1 0; python3 -c "import sys; d=bytearray(open('$e2','rb').read()); d+=bytes(65536-len(d)); open('$e2','wb').write(d)"
		exp_write "$e2" 5000 3000 3; exp_write "$e2" 70000 10000 5; exp_write "$e2" 120000 20000 6
		judge "$img"; expect_content "$img" /f2 "$e2"
		# short writes: into a fresh file and over written data
		dx "$img" "iomap_write --mode $mode --create --uid 1000 /f3 0 8192" "iomap_writeback" \
			"iomap_write --mode $mode --short 2500 --seed 2 /f3 100 10000" \
			|| { cat "$OUT"; fail "session 3 ($WHAT)"; }
		n=$(written 10000)
		exp_write "$e3" 0 8192 0; exp_write "$e3" 100 "$n" 2
		dx "$img" "iomap_write --mode $mode --short 700 --seed 4 /f3 9000 5000" \
			|| { cat "$OUT"; fail "session 3b ($WHAT)"; }
		n=$(written 5000)
		[ "$n" -lt 5000 ] || fail "short write not short ($WHAT)"
		[ "$n" -gt 0 ] && exp_write "$e3" 9000 "$n" 4
		judge "$img"; expect_content "$img" /f3 "$e3"
		# a failed write (ENOSPC after the retries) leaves everything as it was
		dx "$img" "iomap_write --mode $mode --fail ENOSPC /f3 50000 10000"
		[ $? = 1 ] && grep -q "No space left" "$OUT" || { cat "$OUT"; fail "--fail ENOSPC ($WHAT)"; }
		judge "$img"; expect_content "$img" /f3 "$e3"
		# a large extending write with a file as the source
		head -c 3000000 /dev/urandom >"$e4"
		dx "$img" "iomap_write --mode $mode --create --gid 100 /f4 0 3000000 $e4" \
			|| { cat "$OUT"; fail "session 4 ($WHAT)"; }
		judge "$img"; expect_content "$img" /f4 "$e4"
	done
done
echo "ranges: ${#IMAGES[@]} images x 2 modes, every range kind clean and read back exactly"

# The kernel reads the same bytes (where loop mounts work; the host lacks the v2 quota
# format, so the image without quota is the one mounted).
kimg=$T/4k-noquota-no64bit-da.img
if [ "$(id -u)" = 0 ] && mkdir -p "$T/mnt" && mount -o loop,ro "$kimg" "$T/mnt" 2>/dev/null; then
	ok=1
	for f in 1 2 3 4; do cmp -s "$T/mnt/f$f" <("$DEBUGFS" -R "cat /f$f" "$kimg" 2>/dev/null) || ok=0; done
	umount "$T/mnt"
	[ $ok = 1 ] || fail "the kernel reads different content"
	echo "kernel: loop-mounted read-only, f1-f4 read back equal"
else
	echo "SKIP: kernel read-back (needs root and loop mounts of ext4)"
fi

# ---- 2. crash points ----
POISON=5aa5
crash_case() { # MODE POINT IMGOPTS
	local mode=$1 point=$2 img=$T/crash.img old=$T/old new=$T/new
	WHAT="crash $mode $point ($3)"
	# shellcheck disable=SC2086
	mkimg "$img" 16M $3
	rm -f "$old" "$new"
	dx "$img" "iomap_write --create --uid 1000 --gid 100 --seed 1 --sync /f 0 10000" \
		"iomap_poison $POISON" || { cat "$OUT"; fail "$WHAT: setup"; }
	exp_write "$old" 0 10000 1
	judge "$img" "$POISON"; expect_content "$img" /f "$old"
	dx "$img" "iomap_write --mode $mode --seed 2 --crash $point /f 6000 20000"
	grep -q "power cut at $point" "$OUT" || { cat "$OUT"; fail "$WHAT: crash point not reached"; }
	judge "$img" "$POISON"
	exp_write "$new" 0 10000 1; exp_write "$new" 6000 20000 2
	rm -f "$T/dump"; "$DEBUGFS" -R "dump /f $T/dump" "$img" >/dev/null 2>&1
	python3 - "$T/dump" "$old" "$new" "$WHAT" <<'PY' || fail "$WHAT: content"
import sys
got, old, new = (open(p, "rb").read() for p in sys.argv[1:4])
if len(got) < len(old) or len(got) > len(new):
    sys.exit("%s: size %d outside [%d, %d]" % (sys.argv[4], len(got), len(old), len(new)))
bad = [o for o in range(len(got))
       if got[o] != new[o] and (o >= len(old) or got[o] != old[o]) and got[o] != 0]
if bad:
    sys.exit("%s: %d bytes neither old, new nor zero (first at %d: %#x)" % (sys.argv[4], len(bad), bad[0], got[bad[0]]))
if got[:6000] != old[:6000]:
    sys.exit("%s: old data outside the write changed" % sys.argv[4])
PY
}
for opts in "-b 4096 -O quota,project -E quotatype=usrquota:grpquota:prjquota" "-b 1024 -O ^64bit"; do
	for p in after_reserve after_copy after_alloc after_data after_convert; do crash_case da $p "$opts"; done
	for p in after_alloc after_copy after_data after_convert; do crash_case nonda $p "$opts"; done
done
echo "crash points: 9 per image x 2 images, each clean with old data intact and no poison exposed"

# ---- 3. bug toggles ----
# bug_case NAME CHECK SETUP-REQUESTS... -- REQUEST (the request is run with and without
# --bug NAME; the finding must appear only with it)
bug_case() {
	local bug=$1 code=$2 img=$T/bug.img; shift 2
	local setup=() req
	while [ "$1" != -- ]; do setup+=("$1"); shift; done
	req=$2
	for with in 0 1; do
		WHAT="bug $bug (with=$with)"
		mkimg "$img" 16M -b 4096 -O quota,project -E quotatype=usrquota:grpquota:prjquota
		local r=${req/BUG/}
		[ $with = 1 ] && r=${req/BUG/--bug $bug}
		dx "$img" "${setup[@]}" "$r" "iomap_check --poison $POISON"
		if grep -q "\[$code" "$OUT"; then found=1; else found=0; fi
		# the on-disk checks see what was committed, after the model is gone too
		"$E2FSCK_EXT" -E "iomapcheck,iomap_only,iomap_poison=$POISON" -fn "$img" >"$T/ours.txt" 2>&1
		if grep -q "\[$code" "$T/ours.txt"; then found=1; fi
		if [ $with = 1 ] && [ $found = 0 ]; then cat "$OUT" "$T/ours.txt"; fail "$WHAT: $code did not fire"; fi
		if [ $with = 0 ] && [ $found = 1 ]; then cat "$OUT" "$T/ours.txt"; fail "$WHAT: $code fired without the bug"; fi
	done
	echo "bug $bug: $code fires with it, not without"
}
bug_case written_alloc "stale 0x0601" \
	"iomap_write --create --uid 1000 --sync /f 100000 10" "iomap_poison $POISON" -- \
	"iomap_write --mode nonda BUG --crash after_copy /f 8192 8192"
bug_case convert_early "stale 0x0601" \
	"iomap_write --create --uid 1000 --sync /f 100000 10" "iomap_poison $POISON" -- \
	"iomap_write --mode da BUG --crash after_convert /f 8192 8192"
bug_case no_punch "delalloc 0x0501" \
	"iomap_write --create --uid 1000 /f 0 1" -- \
	"iomap_write --mode da BUG --short 100 /f 8192 16384"
bug_case no_quota "quota 0x0401" \
	"iomap_write --create --uid 1000 /f 0 1" -- \
	"iomap_write --mode da BUG --sync /f 8192 16384"
bug_case leak_on_fail "bitmap 0x0102" \
	"iomap_write --create --uid 1000 --sync /f 0 1" -- \
	"iomap_write --mode nonda BUG --fail ENOSPC /f 8192 16384"
# and e2fsck agrees where it can see the damage (bitmaps, quota)
WHAT="e2fsck on leak_on_fail"
mkimg "$T/bug.img" 16M -b 4096
dx "$T/bug.img" "iomap_write --create --sync /f 0 1" "iomap_write --mode nonda --bug leak_on_fail --fail ENOSPC /f 8192 16384"
"$E2FSCK" -fn "$T/bug.img" >"$T/e2fsck.txt" 2>&1 && fail "$WHAT: e2fsck -fn clean on a leaked allocation"
grep -q "Block bitmap differences" "$T/e2fsck.txt" || fail "$WHAT: e2fsck did not name the bitmap"

# ---- 4. the validity cookie ----
WHAT="cookie"
img=$T/cookie.img
mkimg "$img" 16M -b 4096
dx "$img" "iomap_write --create /f 0 4096" "iomap_write --trace --race --seed 3 /f 0 8192" \
	|| { cat "$OUT"; fail "cookie session"; }
grep -q "race: writeback between begin and copy" "$OUT" && grep -q "^  stale: .*remap" "$OUT" \
	|| { cat "$OUT"; fail "the stale cookie was not caught"; }
# the re-map after the stale cookie sees the block the race wrote back, as MAPPED
sed -n '/stale:/,$p' "$OUT" | grep -q "begin: ino [0-9]* pos 0 len [0-9]* -> MAPPED" \
	|| { cat "$OUT"; fail "no re-map after the stale cookie"; }
rm -f "$T/e"; exp_write "$T/e" 0 4096 0; exp_write "$T/e" 0 8192 3
judge "$img"; expect_content "$img" /f "$T/e"
echo "cookie: a writeback between begin and copy made the copy re-map (stale -> MAPPED)"

# ---- 5. refusals and the mode switch ----
WHAT=refusals
mkimg "$T/r.img" 16M -b 4096
"$DEBUGFS" -w -R "feature needs_recovery" "$T/r.img" >/dev/null 2>&1
dx "$T/r.img" "iomap_write --create /f 0 10"; rc=$?
[ $rc = 1 ] && grep -q "needs journal recovery" "$OUT" || { cat "$OUT"; fail "needs_recovery not refused (rc $rc)"; }
mkimg "$T/r.img" 16M -b 1024 -C 4096 -O bigalloc
dx "$T/r.img" "iomap_write --create /f 0 10"; rc=$?
# (the checks run on bigalloc; the write path, which models block allocation, refuses it)
[ $rc = 1 ] && grep -q "(bigalloc" "$OUT" || { cat "$OUT"; fail "bigalloc not refused (rc $rc)"; }
mkimg "$T/r.img" 16M -b 4096 -O inline_data
echo hello >"$T/small"
dbg "$T/r.img" "write $T/small small"
dx "$T/r.img" "iomap_write /small 0 10"; rc=$?
[ $rc = 1 ] && grep -q "does not handle this file" "$OUT" || { cat "$OUT"; fail "inline data not refused (rc $rc)"; }
mkimg "$T/r.img" 16M -b 4096 -O ^extent,^64bit
dbg "$T/r.img" "write $T/small small"
dx "$T/r.img" "iomap_write /small 0 10"; rc=$?
[ $rc = 1 ] && grep -q "does not handle this file" "$OUT" || { cat "$OUT"; fail "block-mapped file not refused (rc $rc)"; }
mkimg "$T/r.img" 16M -b 4096
sum=$(sha256sum <"$T/r.img")
printf 'iomap_write --create /f 0 10\niomap_check\n' | "$DX" -f - "$T/r.img" >"$OUT" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "read-only (start with -w)" "$OUT" || { cat "$OUT"; fail "read-only shell wrote (rc $rc)"; }
[ "$(sha256sum <"$T/r.img")" = "$sum" ] || fail "read-only shell changed the image"
echo "refusals: needs_recovery, bigalloc, inline data, block-mapped, read-only (image unchanged)"

# auto: da on a roomy file system, non-da once free clusters fall below dirty+watermark
WHAT="mode auto"
# 4 MiB of 1 KiB blocks: the reserved clusters (81) below the watermark (128 a CPU), so
# a non-da filler (which cannot take them) can leave free space between the two
mkimg "$img" 4M -b 1024 -m 0
dx "$img" "iomap_write --create --trace --mode auto /a 0 4096" || { cat "$OUT"; fail "auto roomy"; }
grep -q ", da ops" "$OUT" || { cat "$OUT"; fail "auto did not pick da with room"; }
free=$("$DEBUGFS" -R stats "$img" 2>/dev/null | sed -n 's/^Free blocks: *//p')
# non-da for the filler: a da reservation must leave the reserved clusters free
dx "$img" "iomap_write --mode nonda --create --sync /big 0 $(( (free - 100) * 1024 ))" \
	"iomap_write --trace --mode auto /a 0 4096" || { cat "$OUT"; fail "auto full"; }
grep -q ", non-da ops" "$OUT" || { cat "$OUT"; fail "auto did not switch to non-da near full"; }
judge "$img"
echo "mode auto: da with room, non-da below the watermark"

# ENOSPC on a nearly full file system, as ext4_mb_new_blocks and ext4_alloc_file_blocks
# have it (the kernel is compare-model's vm/model/enospc-nearly-full.ops): a fallocate
# that cannot have it all keeps what it got, which leaves the reserved clusters
# (ext4_calculate_resv_clusters: 2% of the blocks) free; a non-da write with fewer free
# blocks than it needs writes into those it got and stops short after them
WHAT="ENOSPC"
mkimg "$img" 8M -b 1024 -m 0
total=$("$DEBUGFS" -R stats "$img" 2>/dev/null | sed -n 's/^Block count: *//p')
resv=$((total / 50))
dx "$img" "iomap_write --create /fill 0 0" "iomap_fallocate --keep-size /fill 0 16M"; rc=$?
[ $rc = 1 ] && grep -q "No space left" "$OUT" || { cat "$OUT"; fail "fallocate of more than the disk: rc $rc"; }
free=$("$DEBUGFS" -R stats "$img" 2>/dev/null | sed -n 's/^Free blocks: *//p')
got=$("$DEBUGFS" -R "stat /fill" "$img" 2>/dev/null | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p')
# the data stops at the reserve; extent tree blocks (allocated after) may take a few of it
[ "$free" -le "$resv" ] && [ "$free" -ge $((resv - 4)) ] ||
	fail "after the failed fallocate $free blocks free, want the $resv reserved (a few less)"
[ "$got" -gt 0 ] || fail "the failed fallocate kept nothing"
judge "$img"
dx "$img" "punch /fill 0 99" || { cat "$OUT"; fail "punch"; }
dx "$img" "iomap_write --mode nonda --create --sync /g 0 200K"; rc=$?
n=$(sed -n 's/.*short write: \([0-9]*\) of 204800 bytes.*/\1/p' "$OUT")
[ $rc = 0 ] && [ -n "$n" ] && [ "$n" -gt 0 ] && [ $((n % 1024)) = 0 ] ||
	{ cat "$OUT"; fail "non-da write into about 100 free blocks: rc $rc, not short"; }
size=$("$DEBUGFS" -R "stat /g" "$img" 2>/dev/null | sed -n 's/^User:.*Size: \([0-9]*\).*/\1/p')
[ "$size" = "$n" ] || fail "short write of $n bytes, i_size $size"
"$DEBUGFS" -R "ex /g" "$img" 2>/dev/null | grep -q Uninit && fail "unwritten blocks left after the short write"
judge "$img"
echo "ENOSPC: fallocate keeps $((got / 2)) blocks, $free free (reserve $resv); a non-da write stops after $n bytes"
echo "write-path: PASS ($NCHECK images judged clean by e2fsck -fn and by us)"
