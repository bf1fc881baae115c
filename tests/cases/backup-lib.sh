# SPDX-License-Identifier: GPL-2.0-only
# backup-lib.sh - helpers for the c_backup_* cases (sourced after tests/lib.sh): damage a
# primary superblock or descriptor table, then compare our block-level verdict with the
# installed e2fsck -fn's, which falls back to a backup (e2fsck/unix.c main()).

# poke IMG OFFSET HEX: overwrite bytes of IMG at OFFSET (never our checker: the test's dd).
poke() {
	python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2]))
f.write(bytes.fromhex(sys.argv[3]))' "$@" || fail "poke $*"
}

# zero_sb IMG: zero the primary superblock (bytes 1024-2047).
zero_sb() { dd if=/dev/zero of="$1" bs=1024 seek=1 count=1 conv=notrunc 2>/dev/null; }

# e2fsck's block-level pass-5 problems, as "name expected found" (the counted value is what
# we call expected).  Inode-bitmap problems (padding, differences, checksum, inode and
# directory counts) are left out: we do not check inode bitmaps.  On a file system with
# group checksums, ext2fs_open2 clears every group's UNINIT flags when it reads a backup
# (lib/ext2fs/openfs.c), so the never-written inode bitmap of a formerly INODE_UNINIT group
# is read, and e2fsck -fn reports its padding and checksum: true of what it read, outside
# what we judge.
e2fsck_block() {
	e2fsck_codes "$1" | awk '
		$1 == "0x05000e" { print "group_free", $4, $3 }
		$1 == "0x05000f" { print "sb_free", $4, $3 }
		$1 == "0x05001b" { print "bitmap_csum" }
		$1 ~ /^0x0500(0[2456]|1[345]|18)$/ { print "bitmap_diff", $1 }' | sort
}
ours_block() {
	ick_findings "$1" | awk '
		$2 == "BITMAP_GROUP_FREE_COUNT" { print "group_free", $7, $8; next }
		$2 == "BITMAP_SB_FREE_COUNT" { print "sb_free", $7, $8; next }
		$2 == "BITMAP_CSUM" { print "bitmap_csum"; next }
		{ print "other", $0 }' | sort -u
}

# agree IMG WHAT NOTE: run both; the block-level problems must be the same, the note line
# must name the copy, and our exit must be 4 exactly when a problem other than the
# superblock's free count (PR_NO_OK in e2fsck, info for us) is left.
agree() {
	local img=$1 what=$2 want_note=$3 rc mine theirs
	ick "$img" "$img.json"; rc=$?
	grep -qF "iomapck: $want_note" "$img.json.txt" ||
		{ cat "$img.json.txt"; fail "$what: no line '$want_note'"; }
	mine=$(ours_block "$img.json"); theirs=$(e2fsck_block "$img")
	expect_same "$what: block problems (ours / e2fsck -fn)" "$mine" "$theirs"
	if echo "$mine" | grep -qv '^sb_free\|^$'; then
		[ $rc -eq 4 ] || { cat "$img.json.txt"; fail "$what: exit $rc, want 4"; }
	else
		[ $rc -eq 0 ] || { cat "$img.json.txt"; fail "$what: exit $rc, want 0"; }
	fi
	"$E2FSCK" -fn "$img" >"$img.e2" 2>&1
	grep -q "trying backup blocks" "$img.e2" || fail "$what: e2fsck did not fall back"
}
