#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/replaylog.sh - our logs read by xfstests' own replay-log (src/log-writes in the
# fstests tree; no distribution packages it, so build it from fstests and point REPLAY_LOG
# at it).  SKIP (77) without it.
#  1. A recorded session (debugfs-ext -L: both modes, writeback, fallocate, a second file)
#     replayed by replay-log onto a copy of the base is byte-identical to the image the
#     session left, and to ours (iomapck-replay --replay).
#  2. replay-log --find --end-mark NAME finds the entry our --dump lists first for NAME.
#  3. replay-log --check fua --fsck "e2fsck -fn" stops at the same entry as our --fsck
#     mode and as our in-process sweep, on logs with the no_quota and leak_on_fail bugs.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
DX=${DEBUGFS_EXT:-$top_builddir/debugfs-ext/debugfs-ext}
RP=${IOMAPCK_REPLAY:-$top_builddir/logreplay/iomapck-replay}
RL=${REPLAY_LOG:-$(command -v replay-log)}
[ -n "$RL" ] && [ -x "$RL" ] || skip "no xfstests replay-log (build src/log-writes of fstests, set REPLAY_LOG)"
[ -x "$DX" ] && [ -x "$RP" ] || fail "debugfs-ext or iomapck-replay not built"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

record() {	# NAME REQUEST...: $T/NAME.base, .log, .img
	local name=$1; shift
	mkimg "$T/$name.img" 16M -b 4096 -O quota -E quotatype=usrquota:grpquota
	cp "$T/$name.img" "$T/$name.base"
	printf '%s\n' "$@" | "$DX" -w -L "$T/$name.log" -f - "$T/$name.img" >"$T/$name.out" 2>&1
}

# ---- 1. replay to the end ----
record rt "iomap_write --create --uid 1000 /f 1000 100000" "iomap_write --mode nonda /f 300000 5000" \
	"iomap_writeback" "iomap_fallocate /f 400000 64K" "iomap_write --create /g 0 1M" ||
	{ cat "$T/rt.out"; fail "session"; }
cp "$T/rt.base" "$T/theirs.img"
"$RL" --log "$T/rt.log" --replay "$T/theirs.img" >"$T/rl.out" 2>&1 || { cat "$T/rl.out"; fail "replay-log --replay"; }
"$RP" --log "$T/rt.log" --base "$T/rt.base" --replay "$T/ours.img" --check mark >/dev/null 2>&1 || fail "our --replay"
cmp "$T/theirs.img" "$T/rt.img" || fail "replay-log's replay differs from the session's image"
cmp "$T/theirs.img" "$T/ours.img" || fail "replay-log's replay differs from ours"
# (its usage text says --number-entries; the option it parses is --num-entries)
n=$("$RL" --log "$T/rt.log" --num-entries)
ours=$("$RP" --log "$T/rt.log" --base "$T/rt.base" --dump --replay /dev/null | grep -c '^[0-9]*: ')
[ "$n" = "$ours" ] || fail "replay-log counts $n entries, we read $ours"
echo "replay-log: $n entries (as we read them) replayed onto the base equal the session's image and ours"

# ---- 2. marks ----
for m in after_alloc after_convert; do
	theirs=$("$RL" --log "$T/rt.log" --find --end-mark "$m" | cut -d@ -f1)
	ours=$("$RP" --log "$T/rt.log" --base "$T/rt.base" --dump --replay /dev/null |
		sed -n "s/^\([0-9]*\): .*mark \"$m\"\$/\1/p" | head -1)
	[ -n "$ours" ] && [ "$theirs" = "$ours" ] || fail "mark $m: replay-log finds entry '$theirs', our dump '$ours'"
done
echo "replay-log --find --end-mark: the same entries as our --dump"

# ---- 3. verdicts ----
check_bug() {	# BUG REQUEST...
	local bug=$1 theirs ours inproc; shift
	record "$bug" "$@" || true
	cp "$T/$bug.base" "$T/t.img"
	"$RL" --log "$T/$bug.log" --replay "$T/t.img" --check fua --fsck "$E2FSCK -fn $T/t.img" \
		>"$T/rl.out" 2>&1
	theirs=$(sed -n 's/^Fsck errored out on entry \([0-9]*\)$/\1/p' "$T/rl.out")
	"$RP" --log "$T/$bug.log" --base "$T/$bug.base" --check fua --replay "$T/o.img" \
		--fsck "$E2FSCK -fn $T/o.img >/dev/null 2>&1" >"$T/o" 2>&1
	ours=$(sed -n 's/^Fsck errored out on entry \([0-9]*\).*/\1/p' "$T/o")
	"$RP" --log "$T/$bug.log" --base "$T/$bug.base" --check fua >"$T/i" 2>&1
	inproc=$(sed -n 's/^entry \([0-9]*\).*findings$/\1/p' "$T/i" | head -1)
	[ -n "$theirs" ] && [ "$theirs" = "$ours" ] && [ "$theirs" = "$inproc" ] ||
		{ cat "$T/rl.out"; fail "$bug: replay-log stops at '$theirs', our --fsck at '$ours', in-process at '$inproc'"; }
	echo "bug $bug: replay-log --check fua --fsck 'e2fsck -fn' fails first at entry $theirs, as we do (both ways)"
}
check_bug no_quota "iomap_write --create --uid 1000 /f 0 1" "iomap_write --bug no_quota --sync /f 8192 16384"
check_bug leak_on_fail "iomap_write --create --uid 1000 --sync /f 0 1" \
	"iomap_write --mode nonda --bug leak_on_fail --fail ENOSPC /f 8192 16384"
