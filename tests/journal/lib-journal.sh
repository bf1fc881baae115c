# SPDX-License-Identifier: GPL-2.0-only
# tests/journal/lib-journal.sh - images whose journal NEEDS RECOVERY, one function per
# scenario, made with the installed mkfs.ext4 and debugfs (sourced after tests/lib.sh).
#
# How a transaction is made.  debugfs 1.47.0 writes jbd2 transactions itself:
#   jo [-c] [-v 2|3]          journal_open; -c turns checksums on while the journal is clean:
#                             csum v2 or v3 (-v, default 3) on a metadata_csum file system,
#                             the v1 transaction checksum (COMPAT_CHECKSUM) otherwise.  On a
#                             64bit file system the journal gets the 64BIT feature (12-byte
#                             tags; 8 without 64bit, 10/14 with csum v2, 16 with v3).
#   jw -b B1,B2 [-r R1,R2] [-c] FILE
#                             journal_write: one transaction (descriptor, the blocks read in
#                             order from FILE, a revoke block for -r, a commit block unless -c)
#   jc                        journal_close: writes the journal superblock (s_start set the
#                             first time) and the fs superblock with needs_recovery.
# debugfs never wraps the log (it refuses a transaction that would pass the journal's end:
# ENOSPC) and, in one jo session, a transaction with both -b and -r makes it start the next
# transaction on the previous commit block (its head estimate forgets the revoke block), so
# every transaction here is its own jo/jw/jc session (jo rescans the log for its head).
#
# What a transaction carries.  jtxn applies debugfs commands (write a file, mkdir, rm ...) to
# a SHADOW copy of the image and journals every block that changed, with its new content,
# into the image.  So the image is the state before those commands, with their metadata in
# the journal, as after a crash right after the commit; replaying gives the shadow (bar the
# superblock fields recovery itself sets), and e2fsck -fn on it is clean.  Raw blocks (jraw)
# are random blocks written to free blocks, to see exactly which were replayed or revoked.
#
# Journal geometry and damage: tests/journal/jtool.py (log map from `debugfs stat <8>`).

JTOOL="python3 $top_srcdir/tests/journal/jtool.py"

# recovered scenarios: the view must equal e2fsck -E journal_only's copy
JSCENARIOS="tags32 tags64 nocsum csum1 csum2 csum2_32 csum3 revoke revoke32 multi wrap seqwrap bs1k truncated uncommitted badcommit"
# damaged journals: the kernel (and we) refuse to recover them
JDAMAGED="badmagic tagoutside tagoverflow revokecount loop datacsum"

# jdata FILE BYTES SEED: reproducible pseudo-random bytes
jdata() {
	python3 -c 'import random,sys; r=random.Random(int(sys.argv[3])); open(sys.argv[1],"wb").write(bytes(r.getrandbits(8) for _ in range(int(sys.argv[2]))))' "$1" "$2" "$3"
}

# jfree IMG N: N free blocks (comma-separated), from the middle of the file system
jfree() {
	local n; n=$($JTOOL sbfield "$1" 0x4 4)
	"$DEBUGFS" -R "ffb $2 $((n / 2))" "$1" 2>/dev/null | sed -n 's/^Free blocks found: *//p' |
		tr -s ' ' '\n' | grep . | head -n "$2" | paste -sd, -
}

# jsession IMG JO-OPTIONS JW-ARGUMENTS: one transaction in its own debugfs session
jsession() {
	local img=$1 jo=$2 out; shift 2
	out=$(printf 'jo %s\njw %s\njc\n' "$jo" "$*" | "$DEBUGFS" -w -f - "$img" 2>&1)
	if echo "$out" | grep -q -i -e 'error' -e 'journal_write:' -e 'not open' -e 'Unknown' -e 'Usage\|usage'; then
		echo "$out" >&2; fail "debugfs jw $* on $img"
	fi
}

# jtxn IMG JO-OPTIONS CMD...: apply CMDs to IMG.shadow, journal the changed blocks into IMG
jtxn() {
	local img=$1 jo=$2 list; shift 2
	cp "$img.shadow" "$img.before"
	dbg "$img.shadow" "$@"
	list=$(python3 - "$img.before" "$img.shadow" "$img.data" <<'PY'
import struct, sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
bs = 1024 << struct.unpack_from("<I", b, 1024 + 0x18)[0]
changed = [i for i in range(len(b) // bs) if a[i * bs:(i + 1) * bs] != b[i * bs:(i + 1) * bs]]
open(sys.argv[3], "wb").write(b"".join(b[i * bs:(i + 1) * bs] for i in changed))
print(",".join(map(str, changed)))
PY
)
	[ -n "$list" ] || fail "jtxn: '$*' changed nothing"
	rm -f "$img.before"
	jsession "$img" "$jo" -b "$list" "$img.data"
}

# jraw IMG JO-OPTIONS BLOCKS SEED [-r REVOKES]: a transaction of random blocks
jraw() {
	local img=$1 jo=$2 blocks=$3 seed=$4 n bs; shift 4
	bs=$((1024 << $($JTOOL sbfield "$img" 0x18 4)))
	n=$(echo "$blocks" | tr , '\n' | wc -l)
	jdata "$img.data" $((n * bs)) "$seed"
	jsession "$img" "$jo" -b "$blocks" "$@" "$img.data"
}

# jbase IMG SIZE MKFS-OPTIONS...: a fresh image and its shadow; files for jtxn
jbase() {
	local img=$1 size=$2; shift 2
	mkimg "$img" "$size" "$@"
	cp "$img" "$img.shadow"
	( cd "$(dirname "$img")" && jdata d1 20000 1 && jdata d2 70000 2 && jdata d3 5000 3 &&
	  jdata d4 130000 4 )
}

# jlog IMG SEQ TYPE: the log block of the first block of TYPE (1 descriptor, 2 commit,
# 5 revoke) with sequence SEQ
jlog() {
	$JTOOL headers "$1" | awk -v s="$2" -v t="$3" '$2 == t && $3 == s { print $1; exit }'
}

jseq() { $JTOOL info "$1" | awk '{ print $4 }'; }

# two file-system transactions (create a file and a directory; a file inside it)
j_two() {
	local img=$1 jo=$2 d; d=$(dirname "$img")
	jtxn "$img" "$jo" "write $d/d1 f1" "mkdir dir1"
	jtxn "$img" "$jo" "write $d/d2 dir1/f2" "sif f1 mtime 1700000100"
}

# --- recovered scenarios ---
# 32-bit tags (8 bytes: no 64bit feature), no checksums
jmk_tags32() { jbase "$1" 16M -b 4096 -O ^64bit,^metadata_csum; j_two "$1" ""; }
# 64-bit tags (12 bytes), metadata_csum file system, journal without checksums
jmk_tags64() { jbase "$1" 16M -b 4096; j_two "$1" ""; }
# no checksum anywhere (no metadata_csum, journal plain), 64bit
jmk_nocsum() { jbase "$1" 16M -b 4096 -O ^metadata_csum; j_two "$1" ""; }
# v1 transaction checksum (COMPAT_CHECKSUM: crc32_be over descriptor and data in the commit)
jmk_csum1() { jbase "$1" 16M -b 4096 -O ^metadata_csum; j_two "$1" "-c"; }
# csum v2 (64bit: 14-byte tags with a 16-bit checksum; descriptor and revoke tails)
jmk_csum2() { jbase "$1" 16M -b 4096; j_two "$1" "-c -v 2"; }
# csum v2 on a 32-bit journal (10-byte tags)
jmk_csum2_32() { jbase "$1" 16M -b 4096 -O ^64bit; j_two "$1" "-c -v 2"; }
# csum v3 (16-byte tags with a 32-bit checksum)
jmk_csum3() { jbase "$1" 16M -b 4096; j_two "$1" "-c -v 3"; }

# revoke records, csum v3: T1 writes X, Y, Z and W; T2 revokes X and Y, and writes W and
# revokes it in the same transaction; T3 rewrites Y.  Replay: X and W keep their on-disk
# content (revoked by T2, which is as late as their last write), Y has T3's content (written
# after its revoke), Z has T1's.  Blocks are free ones, so e2fsck -fn stays clean.
j_revoke() {
	local img=$1 jo=$2 b x y z w
	b=$(jfree "$img" 4); x=${b%%,*}; b=${b#*,}; y=${b%%,*}; b=${b#*,}; z=${b%%,*}; w=${b#*,}
	jtxn "$img" "$jo" "write $(dirname "$img")/d1 f1"
	jraw "$img" "$jo" "$x,$y,$z,$w" 11
	jraw "$img" "$jo" "$w" 12 -r "$x,$y,$w"
	jraw "$img" "$jo" "$y" 13
	echo "$x $y $z $w" >"$img.revoke"
}
jmk_revoke() { jbase "$1" 16M -b 4096; j_revoke "$1" "-c -v 3"; }
# the same with 4-byte revoke records (no 64bit) and no checksums
jmk_revoke32() { jbase "$1" 16M -b 4096 -O ^64bit,^metadata_csum; j_revoke "$1" ""; }

# several transactions (csum v3) rewriting the same metadata blocks: the last one wins
jmk_multi() {
	local img=$1 d; d=$(dirname "$img")
	jbase "$img" 16M -b 4096
	jtxn "$img" "-c" "write $d/d1 f1"
	jtxn "$img" "-c" "mkdir a" "write $d/d2 a/f2"
	jtxn "$img" "-c" "write $d/d4 f4" "symlink s1 /a/f2"
	jtxn "$img" "-c" "rm f1" "mkdir a/b"
	jtxn "$img" "-c" "punch f4 3 10" "write $d/d3 a/b/f3"
}

# Wrap-around.  debugfs only writes from the log's first block on, so the log is moved
# afterwards: four transactions (csum v3) are written at log blocks 1..n of a 1024-block
# journal (-J size=4 with 4 KiB blocks), then every log block b of 1..1023 is moved to
# 1 + (b - 1 + SHIFT) mod 1023 and s_start moved with it (jtool rotate; the journal
# superblock checksum is recomputed).  SHIFT puts T2's descriptor at log block 1022, its
# first data block at 1023 (the last), the rest from block 1 on: both the scan's skip over
# the data blocks and the replay's reads wrap.  Nothing in a jbd2 block depends on its log
# position (the v3 checksums cover the sequence and content only), so the moved log is what
# the kernel would have written had the log started at the new s_start.
jmk_wrap() {
	local img=$1 d s2 seq; d=$(dirname "$img")
	jbase "$img" 16M -b 4096 -J size=4
	jtxn "$img" "-c" "write $d/d1 f1"
	jtxn "$img" "-c" "write $d/d4 f4" "mkdir a"
	jtxn "$img" "-c" "write $d/d2 a/f2"
	jtxn "$img" "-c" "rm f1"
	seq=$(jseq "$img")
	s2=$(jlog "$img" $((seq + 1)) 1)
	[ "$($JTOOL info "$img" | awk '{print $2}')" = 1024 ] || fail "wrap: journal is not 1024 blocks"
	$JTOOL rotate "$img" $((1022 - s2))
}

# sequence numbers wrapping past 2^32: the clean journal's s_sequence is set to 0xfffffffe
# before four transactions (0xfffffffe, 0xffffffff, 0, 1)
jmk_seqwrap() {
	local img=$1 d; d=$(dirname "$img")
	jbase "$img" 16M -b 4096
	dbg "$img" "jo -c" "jc"
	$JTOOL setsb "$img" sequence=0xfffffffe
	jtxn "$img" "" "write $d/d1 f1"
	jtxn "$img" "" "mkdir a"
	jtxn "$img" "" "write $d/d2 a/f2"
	jtxn "$img" "" "rm f1"
}

# 1 KiB blocks (the superblock is block 1), csum v3
jmk_bs1k() { jbase "$1" 16M -b 1024; j_two "$1" "-c"; jtxn "$1" "-c" "write $(dirname "$1")/d4 f4"; }

# the journal cut mid-way through T3: its last data block and commit block never reached
# the disk (zeroed).  T1 and T2 are replayed, T3 not.
jmk_truncated() {
	local img=$1 seq c3
	jbase "$img" 16M -b 4096 -O ^metadata_csum
	j_two "$img" ""
	jtxn "$img" "" "write $(dirname "$img")/d4 f4"
	seq=$(jseq "$img")
	c3=$(jlog "$img" $((seq + 2)) 2)
	[ -n "$c3" ] || fail "truncated: no commit block for T3"
	$JTOOL zero "$img" "$c3"
	$JTOOL zero "$img" $((c3 - 1))
}

# T3 written without a commit block at all (jw -c): not replayed
jmk_uncommitted() {
	local img=$1
	jbase "$img" 16M -b 4096
	j_two "$img" "-c"
	cp "$img.shadow" "$img.s2"
	dbg "$img.s2" "write $(dirname "$img")/d4 f4"
	jraw "$img" "" "$(jfree "$img.s2" 3)" 21 -c
}

# a commit block whose checksum is wrong (csum v3, sync commit): T1 is replayed, the log
# ends at T2 (T2 and T3 not replayed), and the file system is marked with errors
# (e2fsck: "Journal transaction 2 was corrupt, replay was aborted"; the kernel the same).
jmk_badcommit() {
	local img=$1 seq c2 d; d=$(dirname "$img")
	jbase "$img" 16M -b 4096
	jtxn "$img" "-c" "write $d/d1 f1"
	jtxn "$img" "-c" "write $d/d2 f2"
	jtxn "$img" "-c" "write $d/d3 f3"
	seq=$(jseq "$img")
	c2=$(jlog "$img" $((seq + 1)) 2)
	$JTOOL flip "$img" "$c2" 16
}

# --- damaged journals ---
# the journal superblock's magic number
jmk_badmagic() { jbase "$1" 16M -b 4096 -O ^metadata_csum; j_two "$1" ""; $JTOOL setsb "$1" magic=0x12345678; }

# a tag naming a block past the end of the file system (2nd tag of T1's descriptor)
jmk_tagoutside() {
	local img=$1 n
	jbase "$img" 16M -b 4096 -O ^metadata_csum
	j_two "$img" ""
	n=$($JTOOL sbfield "$img" 0x4 4)
	$JTOOL settag "$img" "$(jlog "$img" "$(jseq "$img")" 1)" 1 $((n + 1000))
}

# T1's descriptor has no LAST_TAG: its tags run on to the end of the block (the zeros after
# the real tags read as tags without SAME_UUID, 16 UUID bytes each), so the scan skips that
# many blocks, past the commit, and meets an empty block: the log ends before T1.
jmk_tagoverflow() {
	local img=$1
	jbase "$img" 16M -b 4096 -O ^metadata_csum
	j_two "$img" ""
	$JTOOL clearlast "$img" "$(jlog "$img" "$(jseq "$img")" 1)"
}

# a revoke block whose r_count (bytes used) is larger than the block
jmk_revokecount() {
	local img=$1 seq r
	jbase "$img" 16M -b 4096 -O ^metadata_csum
	j_revoke "$img" ""
	seq=$(jseq "$img")
	r=$(jlog "$img" $((seq + 2)) 5)
	$JTOOL poke "$img" "$r" 12 "$(printf %08x 4100)"
}

# A loop: three descriptors of the expected sequence at log blocks 1, 342 and 683 of a
# 1024-block journal (log 1..1023: 1023 = 3 * 341 blocks), each with 340 tags, so each
# skips to the next and the third wraps back to the first.  No commit is ever met and every
# block read has the expected sequence: a scan without a bound never ends (the installed
# e2fsck spins in its PASS_SCAN; it is only run under a short timeout to record that).
jmk_loop() {
	local img=$1 seq x b
	jbase "$img" 16M -b 4096 -O ^metadata_csum -J size=4
	j_two "$img" ""
	seq=$(jseq "$img")
	x=$(jfree "$img" 1)
	for b in 1 342 683; do $JTOOL loopdesc "$img" $b "$seq" 340 "$x"; done
}

# a replayed data block failing its csum v3 tag checksum (one byte of T2's 2nd data block)
jmk_datacsum() {
	local img=$1 seq dsc
	jbase "$img" 16M -b 4096
	j_two "$img" "-c"
	seq=$(jseq "$img")
	dsc=$(jlog "$img" $((seq + 1)) 1)
	$JTOOL flip "$img" $((dsc + 2)) 100
}

# jmake NAME IMG: build scenario NAME in IMG (its directory holds the helper files)
jmake() {
	"jmk_$1" "$2"
	"$DEBUGFS" -R stats "$2" 2>/dev/null | grep -q needs_recovery || fail "$1: nothing to recover"
}
