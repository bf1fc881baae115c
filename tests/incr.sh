#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/incr.sh - the per-inode result cache (lib/incr.c) gives what walking everything
# gives, at every point, on logs over populated file systems.
#
# The states are made by real tools: mkfs.ext4 -d fills a file system with a few thousand
# files, then each state is the last one changed by one debugfs session (files written,
# removed, renamed, directories made, a fragmented file punched and fallocated, an inode
# put on the orphan list, a torn state with a bitmap and an inode table out of step);
# tests/tools/logdiff turns the series into a dm-log-writes log (one FUA point a state).
# Each log is swept with and without --no-incremental: text (-v -v) and JSON must be the
# same at every point, and the cache must have answered points (the -v line), except
# where incr.h says it cannot (quota) or its budget is forced tiny (IOMAPCK_INCR_BUDGET).
# The big image of bench/mkbigimage.sh, when it is there, gets a sample too.
set -u
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
RP=${IOMAPCK_REPLAY:-$top_builddir/logreplay/iomapck-replay}
DX=${DEBUGFS_EXT:-$top_builddir/debugfs-ext/debugfs-ext}
LD=$top_builddir/tests/tools/logdiff
[ -x "$RP" ] && [ -x "$LD" ] || fail "iomapck-replay or tests/tools/logdiff not built"
T=$(mktemp -d) || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

# tree DIR N: N files in N/100 directories, sizes from a seeded generator, some sparse
tree() {
	python3 - "$1" "$2" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
r = random.Random(17)
for i in range(n):
    d = os.path.join(root, "d%02d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        k = r.random()
        if k < 0.6:
            f.write(bytes([i % 251]) * r.randrange(0, 8192))
        elif k < 0.95:
            f.write(os.urandom(r.randrange(8192, 65536)))
        else:  # scattered 4 KiB pieces: an extent tree with a node block
            for j in range(0, 40):
                f.seek(j * 16384)
                f.write(os.urandom(4096))
PY
}

# frag FILE: a host file of 40 scattered 4 KiB pieces (more extents than the inode holds)
frag() {
	python3 -c '
import os, sys
with open(sys.argv[1], "wb") as f:
    for j in range(40):
        f.seek(j * 12288); f.write(os.urandom(4096))' "$1"
}

# states NAME [MAX]: $T/NAME.0 (the base) .. $T/NAME.K, each one debugfs session on the
# last (at most MAX sessions)
states() {
	local name=$1 max=${2:-99} k=0 img
	img=$T/$name.0
	frag "$T/frag"
	head -c 20000 /dev/urandom >"$T/small"
	# session [-x] CMD...: the next state, CMDs run on a copy of the last by debugfs (-x:
	# by debugfs-ext, whose states FIX leaves as they are)
	session() {
		local tool=$DEBUGFS what=debugfs
		[ "$1" != -x ] || { tool=$DX what=debugfs-ext; shift; }
		[ $k -lt "$max" ] || return 0
		k=$((k + 1))
		cp --sparse=always "$img" "$T/$name.$k"
		img=$T/$name.$k
		printf '%s\n' "$@" | "$tool" -w -f - "$img" >/dev/null 2>&1 || fail "$name: $what at state $k"
		[ "$tool" = "$DEBUGFS" ] || return 0
		# FIX: each state repaired by e2fsck (quota usage, which debugfs leaves as it was)
		[ -z "${FIX:-}" ] || "$E2FSCK" -fy "$img" >/dev/null 2>&1
		[ -z "${FIX:-}" ] || "$E2FSCK" -fn "$img" >/dev/null 2>&1 || fail "$name: state $k not clean after e2fsck -fy"
	}
	session "mkdir /new" "write $T/small /new/a" "write $T/frag /new/frag"
	session "rm /d00/f00001" "rm /d00/f00002" "write $T/small /d00/f00001"
	session "ln /d01/f00105 /new/renamed" "unlink /d01/f00105"
	session "punch /new/frag 8 20" "write $T/small /new/b"
	session "fallocate /new/frag 0 60" "mkdir /new/sub" "write $T/frag /new/sub/c"
	session "rm /d02/f00210" "rm /d02/f00211" "rm /d02/f00212" "write $T/frag /d02/g"
	# an orphan: an open-unlinked file, as a crash leaves it (the view releases it)
	session "unlink /new/b" "sif <$(ino_of "$img" /new/b)> links_count 0" \
		"set_super_value last_orphan $(ino_of "$img" /new/b)"
	session "rm /new/sub/c" "rmdir /new/sub" "write $T/small /d03/x"
	# torn: the inode points at blocks its bitmap does not hold (findings, then clean)
	session "write $T/small /d04/y" "freeb $(blk_of "$img" /d04/f00400) 1"
	session "setb $(blk_of "$img" /d04/f00400) 1" "rm /d04/f00400" "write $T/small /d04/z"
	session "rm /d05/f00500" "write $T/frag /d05/h"
	# only an inode's bytes change (its size): a per-inode finding, then none
	local size600 size601
	size600=$(size_of "$img" /d06/f00600)
	size601=$(size_of "$img" /d06/f00601)
	session "sif /d06/f00600 size 1"
	session "sif /d06/f00600 size $size600" "sif /d06/f00601 size 1"
	session "sif /d06/f00601 size $size601"
	# only an extent tree block changes: the model's writes into unwritten extents of a
	# file whose extents live in a node block convert them there (the inode stays)
	session -x "iomap_write --mode nonda --sync /new/frag 16384 4096"
	session -x "iomap_write --mode nonda --sync /new/frag 40960 4096"
	echo "$k"
}
size_of() { "$DEBUGFS" -R "stat $2" "$1" 2>/dev/null | sed -n 's/.*Size: \([0-9]*\).*/\1/p' | head -n1; }
ino_of() { "$DEBUGFS" -R "stat $2" "$1" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p'; }
blk_of() { "$DEBUGFS" -R "bmap $2 0" "$1" 2>/dev/null | tail -n1; }

# same LOG BASE EXPECT-FAST [sweep options]: both ways equal; EXPECT-FAST: yes, no or any
same() {
	local log=$1 base=$2 want=$3; shift 3
	"$RP" --log "$log" --base "$base" --keep-going -v -v --json "$T/i1.json" "$@" >"$T/i1" 2>&1; r1=$?
	"$RP" --log "$log" --base "$base" --keep-going -v -v --json "$T/i0.json" --no-incremental \
		"$@" >"$T/i0" 2>&1; r0=$?
	fast=$(sed -n 's/.*points from the per-inode cache: \([0-9]*\) .*/\1/p' "$T/i1")
	sed -i '/: inode block maps: /d' "$T/i1"
	[ $r1 = $r0 ] && cmp -s "$T/i1" "$T/i0" && cmp -s "$T/i1.json" "$T/i0.json" ||
		{ diff "$T/i0" "$T/i1" | head -20; fail "the cached sweep differs from the full one: $log $*"; }
	case $want in
	yes) [ "${fast:-0}" -gt 0 ] || fail "no point answered from the cache: $log $*" ;;
	no) [ "${fast:-0}" = 0 ] || fail "points answered from the cache where it must be off: $log $*" ;;
	esac
	points=$(grep -c '^entry ' "$T/i0")
	echo "  $(basename "$log") $*: $points points identical, ${fast:-0} from the cache"
}

# 1. a populated file system, no quota: every state, then every entry
mkdir "$T/tree"
tree "$T/tree" 3000
mkimg "$T/p.0" 256M -b 4096 -N 8192 -d "$T/tree"
n=$(states p)
"$LD" "$T/p.log" 4096 $(seq -f "$T/p.%g" 0 "$n") || fail "logdiff"
cp --sparse=always "$T/p.0" "$T/p.base"
echo "populated: 3000 files, $n states"
same "$T/p.log" "$T/p.base" yes --check fua
same "$T/p.log" "$T/p.base" any --check every
same "$T/p.log" "$T/p.base" yes --check fua --no-stale-log
# the cache forced tiny: every point in full, the same output; forced small: the inodes
# past the budget keep no claims, the points where one of them changes are full
IOMAPCK_INCR_BUDGET=4096 same "$T/p.log" "$T/p.base" no --check fua
IOMAPCK_INCR_CLAIMS_BUDGET=40000 same "$T/p.log" "$T/p.base" yes --check fua
# the findings of the torn state must be there (else the comparison proves little)
"$RP" --log "$T/p.log" --base "$T/p.base" --check fua --keep-going >"$T/torn" 2>&1
grep -q 'bitmap 0x01' "$T/torn" || fail "the torn state gave no bitmap finding"
grep -q 'after mark "state-9"' "$T/torn" || true

# 2. the same series with quota, each state repaired by e2fsck -fy (quota usage changes
# from point to point, by deltas in the cache), then unrepaired (quota findings: full), and
# with 1 KiB blocks
mkimg "$T/q.0" 160M -b 1024 -N 4096 -O quota -d "$T/tree"
"$E2FSCK" -fy "$T/q.0" >/dev/null 2>&1
n=$(FIX=1 states q)
"$LD" "$T/q.log" 1024 $(seq -f "$T/q.%g" 0 "$n") || fail "logdiff (quota)"
cp --sparse=always "$T/q.0" "$T/q.base"
same "$T/q.log" "$T/q.base" yes --check fua
same "$T/q.log" "$T/q.base" any --check every
mkimg "$T/u.0" 160M -b 1024 -N 4096 -O quota -d "$T/tree"
n=$(states u)
"$LD" "$T/u.log" 1024 $(seq -f "$T/u.%g" 0 "$n") || fail "logdiff (quota, unrepaired)"
cp --sparse=always "$T/u.0" "$T/u.base"
same "$T/u.log" "$T/u.base" any --check fua
"$RP" --log "$T/u.log" --base "$T/u.base" --check fua --keep-going >"$T/uq" 2>&1
grep -q 'quota 0x04' "$T/uq" || fail "debugfs's sessions left no quota finding (the comparison proves little)"
mkimg "$T/k.0" 160M -b 1024 -N 4096 -d "$T/tree"
n=$(states k)
"$LD" "$T/k.log" 1024 $(seq -f "$T/k.%g" 0 "$n") || fail "logdiff (1 KiB)"
cp --sparse=always "$T/k.0" "$T/k.base"
same "$T/k.log" "$T/k.base" yes --check fua

# 3. a crash's orphan release is not the history: a file whose inode sits on the orphan
# list with size 0 (as an extending direct write leaves it until its size lands), then
# gets its size and leaves the list.  The view at the middle point frees its blocks, the
# kernel going on did not: the stale tracker must not date the blocks' allocation from
# there (it did, and called the data never written)
mkimg "$T/o.0" 64M -b 4096
cp --sparse=always "$T/o.0" "$T/o.1"
head -c 8192 /dev/urandom >"$T/eight"
dbg "$T/o.1" "write $T/eight /o"
ino=$(ino_of "$T/o.1" /o)
cp --sparse=always "$T/o.1" "$T/o.2"
dbg "$T/o.2" "sif <$ino> size 0" "set_super_value last_orphan $ino"
cp --sparse=always "$T/o.2" "$T/o.3"
dbg "$T/o.3" "sif <$ino> size 8192" "set_super_value last_orphan 0"
"$LD" "$T/o.log" 4096 "$T/o.0" "$T/o.1" "$T/o.2" "$T/o.3" || fail "logdiff (orphan)"
"$RP" --log "$T/o.log" --base "$T/o.0" --check fua --keep-going -v -v >"$T/oo" 2>&1
grep -q 'orphans: 0 deleted, 1 truncated' "$T/oo" || { cat "$T/oo"; fail "the middle point's view released no orphan"; }
grep -q 'stale 0x06' "$T/oo" && { cat "$T/oo"; fail "an orphan the view released made its blocks stale later"; }
echo "  orphan release in a view: not taken for the kernel's history (no stale finding)"

# 4. what an independent review found the cache got wrong (each compared both ways):
#  a descriptor whose itable_unused exceeds the group's inodes (the scan sees none of
#  them: the difference must not wrap); a superblock field only the size check reads
#  (s_prealloc_dir_blocks); a discard under a block of a file nobody rewrites (the stale
#  evidence moves)
mkimg "$T/r.0" 64M -b 4096 -N 2048
cp --sparse=always "$T/r.0" "$T/r.1"
dbg "$T/r.1" "mkdir /a" "write $T/small /a/f" "mkdir /d" "expand_dir /d" "expand_dir /d" \
	"sif /d size 4096" "write $T/small /g"
cp --sparse=always "$T/r.1" "$T/r.2"
dbg "$T/r.2" "set_bg 0 itable_unused 60000" "set_bg 0 checksum calc"
cp --sparse=always "$T/r.2" "$T/r.3"
dbg "$T/r.3" "set_bg 0 itable_unused 0" "set_bg 0 checksum calc" "set_super_value prealloc_dir_blocks 8"
cp --sparse=always "$T/r.3" "$T/r.4"
dbg "$T/r.4" "set_super_value prealloc_dir_blocks 0" "write $T/small /h"
cp --sparse=always "$T/r.4" "$T/r.5"
dbg "$T/r.5" "write $T/small /i"
"$LD" "$T/r.log" 4096 "$T/r.0" "$T/r.1" "$T/r.2" "$T/r.3" "$T/r.4" \
	"discard:$(blk_of "$T/r.1" /g):1" "$T/r.5" || fail "logdiff (review cases)"
same "$T/r.log" "$T/r.0" any --check fua
same "$T/r.log" "$T/r.0" any --check every
"$RP" --log "$T/r.log" --base "$T/r.0" --check fua --keep-going --no-incremental >"$T/rr" 2>&1
grep -q 'bitmap 0x01' "$T/rr" && grep -q 'size 0x03' "$T/rr" && grep -q 'stale 0x06' "$T/rr" ||
	{ cat "$T/rr"; fail "the review cases lost the findings they exist for"; }

# 5. the big image, a sample of its points, when bench/mkbigimage.sh has made it
big=${IOMAPCK_BIG_IMAGE:-$top_builddir/bench/cache/big.img}
if [ -f "$big" ]; then
	cp --sparse=always "$big" "$T/b.0"
	n=$(states b 3)
	"$LD" "$T/b.log" 4096 $(seq -f "$T/b.%g" 0 "$n") || fail "logdiff (big)"
	same "$T/b.log" "$big" yes --check fua
	rm -f "$T"/b.*
else
	echo "  (no $big: the big-image sample is left out; bench/mkbigimage.sh makes it)"
fi
echo "incr: PASS"
