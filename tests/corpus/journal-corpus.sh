#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Every image of e2fsprogs' test suite (../shared/corpus/e2fsprogs) that needs journal
# recovery or has orphans to release: the view we check (e2fsck-ext -E iomap_recovered=OUT,
# never writing the image) must equal, block by block, what the installed
# `e2fsck -E journal_only -y` writes on a copy (its offline "mount": replay, orphans).
# Allowed differences: in the primary superblock, e2fsck's own bookkeeping when it closes
# the file system: s_wtime (0x30), s_kbytes_written (0x178) and, where it covers them,
# s_checksum (0x3fc); and the quota files, which e2fsck rewrites whole after releasing
# orphans while we update the entries in place: their blocks and inodes may differ, but
# `debugfs -R "lq TYPE"` must list the same usage and limits; and the inode of an orphan
# deleted in the view, whose dead content differs (see below).  The image's hash must not
# change.  Prints SKIP (exit 77) where the shared corpus is absent, as on a user's machine.
. "$top_srcdir/tests/lib.sh"
corpus=${ICK_CORPUS:-$top_srcdir/../shared/corpus}/e2fsprogs
[ -f "$corpus/ORACLE.tsv" ] || skip "no e2fsprogs corpus at $corpus (only in the project's workspace)"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
n=0 bad=0
while IFS=$'\t' read -r test features _; do
	img=$t/$test.img
	if [ -f "$corpus/$test/image.gz" ]; then gzip -dc "$corpus/$test/image.gz" >"$img"
	else bzip2 -dc "$corpus/$test/image.bz2" >"$img" 2>/dev/null || continue; fi
	case " $features " in
	*" needs_recovery "*) ;;
	*) "$DEBUGFS" -R stats "$img" 2>/dev/null | grep -q '^First orphan inode:' ||
		{ rm -f "$img"; continue; } ;;
	esac
	n=$((n + 1))
	before=$(sha256sum <"$img")
	"$E2FSCK_EXT" -E "iomapcheck,iomap_only,iomap_recovered=$t/ours" -fn "$img" >"$t/out" 2>&1
	rc=$?
	[ "$(sha256sum <"$img")" = "$before" ] || { echo "FAIL $test: the image changed"; bad=$((bad + 1)); }
	if [ $rc -ne 0 ] && [ $rc -ne 4 ] || grep -q -e Sanitizer -e 'runtime error' "$t/out"; then
		echo "FAIL $test: exit $rc"; sed 's/^/    /' "$t/out" | tail; bad=$((bad + 1)); continue
	fi
	cp "$img" "$t/theirs"
	"$E2FSCK" -E journal_only -y "$t/theirs" >/dev/null 2>&1
	if ! python3 - "$t/ours" "$t/theirs" "$test" "$(grep -e '^journal:' -e '^orphans:' "$t/out")" "$DEBUGFS" "$(cat "$t/out")" <<'PY'
import re, subprocess, sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
dbg = sys.argv[5]
def run(img, req):
    return subprocess.run([dbg, "-R", req, img], capture_output=True, text=True).stdout
allowed = set(range(1024 + 0x30, 1024 + 0x34)) | set(range(1024 + 0x178, 1024 + 0x180)) | \
          set(range(1024 + 0x3fc, 1024 + 0x400))
sb = b[1024:2048]
bs = 1024 << int.from_bytes(sb[0x18:0x1c], "little")
isz = int.from_bytes(sb[0x58:0x5a], "little") if int.from_bytes(sb[0x4c:0x50], "little") else 128
def inode_slot(img, ino):
    loc = re.search(r"located at block (\d+), offset (0x[0-9a-f]+)", run(img, "imap <%s>" % ino))
    off = int(loc.group(1)) * bs + int(loc.group(2), 16)
    return set(range(off, off + isz))
# a deleted orphan's inode: we empty its block map and i_blocks before freeing it, as the
# kernel's evict (truncate to 0, then free) does; e2fsck frees the blocks but leaves the
# dead inode's map and i_blocks as they were.  Both free the inode and its blocks.
for ino in re.findall(r"inode (\d+): orphan with no links", sys.argv[6]):
    allowed |= inode_slot(sys.argv[2], ino)
for kind in ("User", "Group", "Project"):
    for img in sys.argv[1:3]:
        m = re.search(kind + r" quota inode:\s+(\d+)", run(img, "stats"))
        if not m:
            continue
        ino = m.group(1)
        allowed |= inode_slot(img, ino)
        for blk in run(img, "blocks <%s>" % ino).split():
            allowed |= set(range(int(blk) * bs, (int(blk) + 1) * bs))
    lq = [re.sub(r"^debugfs.*\n", "", run(img, "lq " + kind.lower())) for img in sys.argv[1:3]]
    if lq[0] != lq[1]:
        print("FAIL %s: %s quota differs:\n%s---\n%s" % (sys.argv[3], kind, lq[0], lq[1])); sys.exit(1)
if len(a) != len(b):
    print("FAIL %s: view is %d bytes, e2fsck's copy %d" % (sys.argv[3], len(a), len(b))); sys.exit(1)
diff = [i for i in range(len(a)) if a[i] != b[i]] if a != b else []
bad = [i for i in diff if i not in allowed]
if bad:
    print("FAIL %s: %d bytes differ outside the allowed superblock fields, first at offsets %s"
          % (sys.argv[3], len(bad), [hex(x) for x in bad[:8]])); sys.exit(1)
print("same %s: %s (%d bytes differ, all allowed)" % (sys.argv[3], sys.argv[4], len(diff)))
PY
	then bad=$((bad + 1)); fi
	rm -f "$img" "$t/ours" "$t/theirs"
done < <(tail -n +2 "$corpus/ORACLE.tsv")
echo "journal corpus: $n images need recovery or orphan release, $((n - bad)) views equal e2fsck's, $bad failed"
[ "$n" -gt 0 ] || fail "no image needing recovery in ORACLE.tsv"
[ "$bad" -eq 0 ]
