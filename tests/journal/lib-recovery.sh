# SPDX-License-Identifier: GPL-2.0-only
# tests/journal/lib-recovery.sh - the judge of the journal-recovery case folders
# (tests/cases/j_<scenario>/script: builds fs.img with tests/journal/lib-journal.sh, then
# `jcase NAME recovered|damaged`).  Sourced after tests/lib.sh; SKIPs (77) when a tool is
# missing.
#
# Recovered scenarios (and tagoverflow, which the kernel and e2fsck treat as the end of the
# log): e2fsck-ext -E iomapcheck,iomap_only,iomap_recovered=OUT -fn IMG must leave IMG
# unchanged (sha256), print a "journal: recovered ..." line, and OUT must equal, BLOCK BY
# BLOCK, what the installed `e2fsck -E journal_only -y` writes on a copy.  The only bytes
# allowed to differ are what e2fsck's close writes into the primary superblock and we do
# not emulate: s_wtime (e2fsck stamps the real time, not E2FSPROGS_FAKE_TIME),
# s_kbytes_written (e2fsck adds what its own replay wrote) and s_checksum, which covers
# them.  Everything else e2fsck changes beyond the replay we must do too: needs_recovery
# cleared, ERROR_FS after a corrupt commit, and in the journal superblock s_start 0,
# s_sequence = last replayed + 2 and its checksum.  Then our checks on the view must agree
# with `e2fsck -fn` on e2fsck's recovered copy (problem categories, as run-corpus.sh), and
# iomapck-replay --compare-recovery against e2fsck's copy finds every replayed block equal.
#
# Damaged journals: we must refuse to recover (exit 4, JOURNAL_CORRUPT with its reason,
# a "journal: cannot be recovered (" line), leave IMG unchanged, write the raw image as the
# view (OUT equals IMG, every byte), and our checks must agree with `e2fsck -fn` on the raw
# image.  e2fsck's own behaviour there differs and is recorded in the output, not judged
# (each case's script says what it does).
#
# Both: the JSON note is the journal line, no sanitizer report appears in our output (CI
# runs the cases under ASan+UBSan), and our normalised output - "-- NAME: exit RC; NOTE",
# "JOURNAL_CORRUPT: REASON" (damaged) and "checks: CATEGORIES" - equals the case's
# `expect` file (which holds the exact journal line each scenario must give).
for tool in python3 sha256sum timeout; do
	command -v "$tool" >/dev/null || skip "no $tool"
done
for tool in "$E2FSCK" "$DEBUGFS" "$MKFS"; do
	[ -x "$tool" ] || skip "no $tool (e2fsprogs)"
done
[ -x "$E2FSCK_EXT" ] || fail "$E2FSCK_EXT is not built"
: "${IOMAPCK_REPLAY:=$top_builddir/logreplay/iomapck-replay}"
. "$top_srcdir/tests/journal/lib-journal.sh"
compare="python3 $top_srcdir/tests/journal/jcompare.py"
ALLOW="sb:s_wtime sb:s_kbytes_written sb:s_checksum"

# categories of our findings and of e2fsck -fn's problem codes (as run-corpus.sh).  The
# journal is judged apart: our 08xx findings are left out, and so are e2fsck's pass-0 journal
# problems (0x00000f-0x000019, 0x000025-0x00002c, 0x00003a, 0x00004a: "Superblock has an
# invalid journal" and the like), the counterpart of our JOURNAL_CORRUPT, checked above.
cats() { # cats ours JSON | cats e2fsck IMG
	if [ "$1" = ours ]; then
		ick_findings "$2" | awk '$1 != "journal" { print $2 }'
	else
		e2fsck_codes "$2" | awk '{ print $1 }'
	fi | python3 -c '
import sys
m = {"BITMAP_USED_FREE": "bitmap", "BITMAP_UNOWNED": "bitmap", "BITMAP_CSUM": "bitmap",
     "0x050003": "bitmap", "BITMAP_GROUP_FREE_COUNT": "free", "BITMAP_SB_FREE_COUNT": "free",
     "0x05000e": "free", "0x05000f": "free", "SIZE_WRITTEN_PAST_EOF": "isize",
     "SIZE_DIR": "isize", "0x01000c": "isize", "SIZE_IBLOCKS": "iblocks", "0x01000d": "iblocks"}
jnl = set(range(0x0f, 0x1a)) | set(range(0x25, 0x2d)) | {0x3a, 0x4a}
words = [w for w in sys.stdin.read().split() if not (w.startswith("0x") and int(w, 16) in jnl)]
print(" ".join(sorted({m.get(w, "other:" + w) for w in words})))'
}

jfailed=
problem() {
	echo "FAIL $JNAME: $*"
	jfailed=1
}

# jours: e2fsck-ext on fs.img (ours.img the view, ours.json); sets rc and note
jours() {
	local sum; sum=$(sha256sum <fs.img)
	timeout -s KILL 120 "$E2FSCK_EXT" -E "iomapcheck,iomap_only,iomap_recovered=$PWD/ours.img,iomap_json=$PWD/ours.json" \
		-fn fs.img >ours.out 2>&1
	rc=$?
	note=$(grep '^journal:' ours.out)
	echo "-- $JNAME: exit $rc; $note" | tee got
	[ "$(sha256sum <fs.img)" = "$sum" ] || problem "the image changed"
	if grep -q -e Sanitizer -e 'runtime error' -e 'LeakSanitizer' ours.out; then
		problem "sanitizer report:"; sed 's/^/    /' ours.out | head -30; return 1
	fi
	[ -s ours.json ] && [ -f ours.img ] || { problem "no JSON or no view (exit $rc)"; sed 's/^/    /' ours.out; return 1; }
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["note"] != sys.argv[2])' \
		ours.json "$note" || problem "JSON note is not the journal line"
}

# jtheirs [TIMEOUT]: the installed e2fsck -E journal_only -y on theirs.img (a copy), recorded
jtheirs() {
	cp fs.img theirs.img
	timeout -s KILL "${1:-60}" "$E2FSCK" -E journal_only -y theirs.img >e2.out 2>&1
	erc=$?
	echo "   e2fsck -E journal_only -y: exit $erc: $(grep -v -e '^e2fsck 1' -e '^$' e2.out | head -${2:-100} | paste -sd'|' -)"
}

jdamaged() {
	local reason
	[ $rc -eq 4 ] || problem "exit $rc, want 4"
	reason=$(python3 -c '
import json, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    if f["name"] == "JOURNAL_CORRUPT" and f["code"] == "0x0801":
        print(f["detail"] or ""); break
else:
    print("NONE")' ours.json)
	case $reason in
	NONE) problem "no JOURNAL_CORRUPT finding" ;;
	"") problem "JOURNAL_CORRUPT without a reason" ;;
	*) echo "JOURNAL_CORRUPT: $reason" | tee -a got ;;
	esac
	case $note in "journal: cannot be recovered ("*) ;; *) problem "journal line: $note" ;; esac
	# our view is the raw image, every byte
	$compare ours.img fs.img >cmp || { problem "view is not the raw image:"; cat cmp; }
	want=$(cats e2fsck fs.img) got=$(cats ours ours.json)
	[ "$got" = "$want" ] || problem "checks on the raw image: ours [$got], e2fsck -fn [$want]"
	echo "checks: ${got:-none}" >>got
	if [ "$JNAME" != loop ]; then
		jtheirs 60 4
	else
		echo "   e2fsck -E journal_only -y: not run (its scan never ends on this log)"
	fi
}

jrecovered() {
	case $note in "journal: recovered "*) ;; *) problem "journal line: $note" ;; esac
	[ $rc -eq 0 ] || [ "$JNAME" = badcommit ] || { problem "exit $rc, want 0"; sed 's/^/    /' ours.out; }
	jtheirs 60
	[ $erc -le 1 ] || { problem "e2fsck -E journal_only failed (exit $erc)"; return 1; }
	if ! $compare ours.img theirs.img $ALLOW >cmp; then
		problem "view differs from e2fsck's recovered copy:"; grep -v '^  allowed' cmp | head -40
	fi
	want=$(cats e2fsck theirs.img) got=$(cats ours ours.json)
	[ "$got" = "$want" ] || problem "checks: ours [$got], e2fsck -fn on its recovered copy [$want]"
	echo "checks: ${got:-none}" >>got
	# iomapck-replay --compare-recovery (what iomapck-vm runs against the kernel's recovery):
	# every block we replay equals e2fsck's
	"$IOMAPCK_REPLAY" --base fs.img --compare-recovery theirs.img >cr.out 2>&1 &&
		grep -q "recovered; [0-9]* blocks replayed and compared, .* 0 differ" cr.out ||
		{ problem "--compare-recovery against e2fsck's copy:"; cat cr.out; }
}

# jcase NAME recovered|damaged: judge fs.img (built by the case's script) as said above;
# fails at the end if anything did.  Leaves ours.* and theirs.img for the case's own checks.
jcase() {
	JNAME=$1
	"$DEBUGFS" -R stats fs.img 2>/dev/null | grep -q needs_recovery || fail "$1: nothing to recover"
	if jours; then
		if [ "$2" = damaged ]; then jdamaged; else jrecovered; fi
	fi
	[ -z "$jfailed" ] || fail "$JNAME: see above"
	expect_same "$JNAME: our output (the case's expect)" "$(cat got)" "$(cat "$CASE_DIR/expect")"
	echo "$JNAME: judged as expected"
}

# jcheck_revoked: X and W revoked (on-disk content kept), Y rewritten after its revoke, Z
# replayed (fs.img.revoke: "X Y Z W", from j_revoke), and the note counts 4 revoke hits
jcheck_revoked() {
	python3 - fs.img ours.img $(cat fs.img.revoke) <<'PY' || fail "revoked blocks wrong"
import struct, sys
raw, ours = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
bs = 1024 << struct.unpack_from("<I", raw, 1024 + 0x18)[0]
x, y, z, w = (int(v) for v in sys.argv[3:7])
blk = lambda d, b: d[b * bs:(b + 1) * bs]
ok = blk(ours, x) == blk(raw, x) and blk(ours, w) == blk(raw, w) and \
     blk(ours, y) != blk(raw, y) and blk(ours, z) != blk(raw, z)
sys.exit(0 if ok else 1)
PY
	case $note in *", 4 revoked"*) ;; *) fail "want 4 revoke hits: $note" ;; esac
}

# jcheck_compare_recovery: iomapck-replay --compare-recovery against e2fsck's copy reports
# one byte changed in a replayed block, and a block the replay does not write (the last of
# the file system) changed as if the kernel had replayed a transaction we did not
jcheck_compare_recovery() {
	local b rc
	b=$(python3 - fs.img theirs.img <<'PY'
import struct, sys
raw, theirs = open(sys.argv[1], "rb").read(), bytearray(open(sys.argv[2], "rb").read())
bs = 1024 << struct.unpack_from("<I", raw, 1024 + 0x18)[0]
first = 1 if bs == 1024 else 0
for b in range(first + 1, len(raw) // bs):   # a replayed block: not the superblock's
    if raw[b * bs:(b + 1) * bs] != theirs[b * bs:(b + 1) * bs] and b > 0:
        theirs[b * bs + 7] ^= 0xff
        open(sys.argv[2], "wb").write(theirs)
        print(b)
        break
PY
)
	"$IOMAPCK_REPLAY" --base fs.img --compare-recovery theirs.img >cr.out 2>&1; rc=$?
	[ $rc = 4 ] && grep -q "physical $b: .*offset 7.*\[journal 0x0806" cr.out ||
		{ cat cr.out; fail "--compare-recovery: block $b changed, not reported (exit $rc)"; }
	echo "   --compare-recovery: one byte changed in replayed block $b of e2fsck's copy: reported"
	python3 - theirs.img <<'PY'
import sys
f = open(sys.argv[1], "r+b"); f.seek(-1, 2); last = f.read(1); f.seek(-1, 2)
f.write(bytes([last[0] ^ 0x5a]))
PY
	"$IOMAPCK_REPLAY" --base fs.img --compare-recovery theirs.img >cr.out 2>&1; rc=$?
	[ $rc = 4 ] && grep -q "the kernel changed it; our replay does not write it" cr.out &&
		grep -q "; 1 changed by the kernel only" cr.out ||
		{ cat cr.out; fail "--compare-recovery: a block only the other side changed, not reported (exit $rc)"; }
	echo "   --compare-recovery: the last block changed on e2fsck's side only: reported"
}
