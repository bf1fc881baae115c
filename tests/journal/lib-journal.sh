# SPDX-License-Identifier: GPL-2.0-only
# tests/journal/lib-journal.sh - the building blocks of images whose journal NEEDS
# RECOVERY, made with the installed mkfs.ext4 and debugfs (sourced after tests/lib.sh).
# The scenarios built from them are case folders, tests/cases/j_<scenario>/script.
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

# revoke records (j_revoke IMG JO-OPTIONS): T1 writes X, Y, Z and W; T2 revokes X and Y, and writes W and
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
