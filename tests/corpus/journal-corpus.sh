#!/bin/bash
# Every image of e2fsprogs' test suite (../shared/corpus/e2fsprogs) that needs journal
# recovery: our recovered view (e2fsck-ext -E iomap_recovered=OUT, never writing the image)
# must equal, block by block, what the installed `e2fsck -E journal_only -y` writes on a
# copy.  Allowed differences, all in the primary superblock, all e2fsck's own bookkeeping
# when it closes the file system: s_wtime (0x30), s_kbytes_written (0x178) and, where it
# covers them, s_checksum (0x3fc).  The image's hash must not change.  Prints SKIP (exit
# 77) where the shared corpus is absent, as on a user's machine.
. "$top_srcdir/tests/lib.sh"
corpus=${ICK_CORPUS:-$top_srcdir/../shared/corpus}/e2fsprogs
[ -f "$corpus/ORACLE.tsv" ] || skip "no e2fsprogs corpus at $corpus (only in the project's workspace)"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
n=0 bad=0
while IFS=$'\t' read -r test features _; do
	case " $features " in *" needs_recovery "*) ;; *) continue ;; esac
	n=$((n + 1))
	img=$t/$test.img
	if [ -f "$corpus/$test/image.gz" ]; then gzip -dc "$corpus/$test/image.gz" >"$img"
	else bzip2 -dc "$corpus/$test/image.bz2" >"$img"; fi
	before=$(sha256sum <"$img")
	"$E2FSCK_EXT" -E "iomapcheck,iomap_only,iomap_recovered=$t/ours" -fn "$img" >"$t/out" 2>&1
	rc=$?
	[ "$(sha256sum <"$img")" = "$before" ] || { echo "FAIL $test: the image changed"; bad=$((bad + 1)); }
	if [ $rc -ne 0 ] && [ $rc -ne 4 ] || grep -q -e Sanitizer -e 'runtime error' "$t/out"; then
		echo "FAIL $test: exit $rc"; sed 's/^/    /' "$t/out" | tail; bad=$((bad + 1)); continue
	fi
	cp "$img" "$t/theirs"
	"$E2FSCK" -E journal_only -y "$t/theirs" >/dev/null 2>&1
	if ! python3 - "$t/ours" "$t/theirs" "$test" "$(grep '^journal:' "$t/out")" <<'PY'
import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
allowed = set(range(1024 + 0x30, 1024 + 0x34)) | set(range(1024 + 0x178, 1024 + 0x180)) | \
          set(range(1024 + 0x3fc, 1024 + 0x400))
if len(a) != len(b):
    print("FAIL %s: view is %d bytes, e2fsck's copy %d" % (sys.argv[3], len(a), len(b))); sys.exit(1)
diff = [i for i in range(len(a)) if a[i] != b[i]] if a != b else []
bad = [i for i in diff if i not in allowed]
if bad:
    print("FAIL %s: %d bytes differ outside the allowed superblock fields, first at offsets %s"
          % (sys.argv[3], len(bad), [hex(x) for x in bad[:8]])); sys.exit(1)
print("same %s: %s (%d allowed superblock bytes differ)" % (sys.argv[3], sys.argv[4], len(diff)))
PY
	then bad=$((bad + 1)); fi
	rm -f "$img" "$t/ours" "$t/theirs"
done < <(tail -n +2 "$corpus/ORACLE.tsv")
echo "journal corpus: $n images need recovery, $((n - bad)) recovered views equal e2fsck's, $bad failed"
[ "$n" -gt 0 ] || fail "no image needing recovery in ORACLE.tsv"
[ "$bad" -eq 0 ]
