#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# An external journal: mkfs.ext4 -J device= needs a block device, so the journal file is
# attached to a loop device for mkfs only (root; SKIP otherwise).  debugfs then leaves a
# committed, unreplayed transaction in the journal file.  Without the journal we check the
# raw image and say so (JOURNAL_NOT_RECOVERED); with iomap_journal=FILE, and with e2fsck's
# own -j FILE, the view equals, block by block, what the installed
# `e2fsck -E journal_only -y -j COPY` writes (bar its close-time superblock fields), and
# neither the image nor the journal file changes.
. "$top_srcdir/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root for a loop device (mkfs.ext4 -J device= wants a block device)"
command -v losetup >/dev/null || skip "no losetup"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
cd "$t" || exit 1
mke2fs -q -F -O journal_dev -b 4096 ext.jnl 4M >/dev/null || fail "mke2fs journal_dev"
dev=$(losetup -f --show ext.jnl 2>/dev/null) || skip "cannot attach a loop device here"
mkfs.ext4 -q -F -b 4096 -J device="$dev" fs.img 32M >/dev/null 2>&1; rc=$?
losetup -d "$dev"
[ $rc -eq 0 ] || fail "mkfs.ext4 -J device=$dev failed"
head -c 8192 /dev/urandom >data
printf 'jo -f %s\njw -b 300,301 %s\njc\n' "$t/ext.jnl" "$t/data" | "$DEBUGFS" -w -f - fs.img >/dev/null 2>&1
"$DEBUGFS" -R stats fs.img 2>/dev/null | grep -q needs_recovery || fail "debugfs left nothing to recover"
sum=$(cat fs.img ext.jnl | sha256sum)

"$E2FSCK_EXT" -E iomapcheck,iomap_only -fn fs.img >out 2>&1
grep -q 'JOURNAL_NOT_RECOVERED\|0x0802' out || fail "no JOURNAL_NOT_RECOVERED without the journal: $(cat out)"
grep -q '^journal: needs recovery, not recovered (external journal not given)' out || fail "no note: $(cat out)"

cp fs.img theirs.img; cp ext.jnl theirs.jnl
"$E2FSCK" -E journal_only -y -j "$t/theirs.jnl" theirs.img >/dev/null 2>&1
for how in "-E iomapcheck,iomap_only,iomap_recovered=ours.img,iomap_journal=$t/ext.jnl" \
	   "-E iomapcheck,iomap_only,iomap_recovered=ours.img -j $t/ext.jnl"; do
	rm -f ours.img
	# shellcheck disable=SC2086
	"$E2FSCK_EXT" $how -fn fs.img >out 2>&1 || fail "exit $? with $how: $(cat out)"
	grep -q '^journal: recovered 1 transaction (sequence 1 to 1), replayed 2 blocks' out ||
		fail "not recovered with $how: $(cat out)"
	python3 - ours.img theirs.img <<'PY' || fail "view differs from e2fsck's with $how"
import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
ok = set(range(1024 + 0x30, 1024 + 0x34)) | set(range(1024 + 0x178, 1024 + 0x180)) | \
     set(range(1024 + 0x3fc, 1024 + 0x400))
bad = [i for i in range(len(a)) if a[i] != b[i] and i not in ok] if len(a) == len(b) else [-1]
if bad:
    print("differs at", [hex(x) for x in bad[:8]]); sys.exit(1)
PY
done
[ "$(cat fs.img ext.jnl | sha256sum)" = "$sum" ] || fail "the image or the journal changed"
echo "external journal: raw check says so without it; with it, view equals e2fsck's"
