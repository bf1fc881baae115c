#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Journal recovery against the installed e2fsck, one image per scenario of
# tests/journal/lib-journal.sh (made with the installed mkfs.ext4 and debugfs).
#
# Recovered scenarios ($JSCENARIOS, and tagoverflow, which the kernel and e2fsck treat as
# the end of the log): e2fsck-ext -E iomapcheck,iomap_only,iomap_recovered=OUT -fn IMG must
# leave IMG unchanged (sha256), print a "journal: recovered ..." line, and OUT must equal,
# BLOCK BY BLOCK, what the installed `e2fsck -E journal_only -y` writes on a copy.  The only
# bytes allowed to differ are what e2fsck's close writes into the primary superblock and we
# do not emulate: s_wtime (e2fsck stamps the real time, not E2FSPROGS_FAKE_TIME),
# s_kbytes_written (e2fsck adds what its own replay wrote) and s_checksum, which covers
# them.  Everything else e2fsck changes beyond the replay we must do too: needs_recovery
# cleared, ERROR_FS after a corrupt commit, and in the journal superblock s_start 0,
# s_sequence = last replayed + 2 and its checksum.  Then our checks on the view must agree
# with `e2fsck -fn` on e2fsck's recovered copy (problem categories, as run-corpus.sh).
#
# Damaged journals ($JDAMAGED minus tagoverflow): we must refuse to recover (exit 4,
# JOURNAL_CORRUPT with its reason), leave IMG unchanged, write the raw image as the view
# (OUT equals IMG, every byte), and our checks must agree with `e2fsck -fn` on the raw
# image.  e2fsck's own behaviour there differs and is recorded in the log, not judged:
#   badmagic     "Superblock has an invalid journal (inode 8). Clear?" - deletes and
#                recreates the journal, nothing replayed
#   tagoutside   replays the block past the end: the image FILE grows to hold it
#   revokecount  "Invalid argument while recovering journal": nothing replayed, VALID_FS
#                cleared, s_start 0
#   datacsum     "JBD2: Invalid checksum recovering data block": replays every other block
#                (leaving the file system inconsistent), "Journal checksum error found"
#   loop         never finishes its scan (ignores SIGTERM): not run here
# No sanitizer report may appear in our output (CI runs this under ASan+UBSan).
# SKIP (77) only when a tool is missing.  JOURNAL_ONLY="a b" runs only those scenarios.
. "$top_srcdir/tests/lib.sh"
for tool in python3 sha256sum timeout; do
	command -v "$tool" >/dev/null || skip "no $tool"
done
for tool in "$E2FSCK" "$DEBUGFS" "$MKFS"; do
	[ -x "$tool" ] || skip "no $tool (e2fsprogs)"
done
[ -x "$E2FSCK_EXT" ] || fail "$E2FSCK_EXT is not built"
. "$top_srcdir/tests/journal/lib-journal.sh"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
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

# expected start of our journal line, per recovered scenario
want_line() {
	case $1 in
	seqwrap) echo "journal: recovered 4 transactions (sequence 4294967294 to 1)" ;;
	revoke | revoke32 | wrap) echo "journal: recovered 4 transactions (sequence 1 to 4)" ;;
	multi) echo "journal: recovered 5 transactions (sequence 1 to 5)" ;;
	bs1k) echo "journal: recovered 3 transactions (sequence 1 to 3)" ;;
	badcommit) echo "journal: recovered 1 transaction (sequence 1 to 1)" ;;
	tagoverflow) echo "journal: recovered 0 transactions" ;;
	*) echo "journal: recovered 2 transactions (sequence 1 to 2)" ;;
	esac
}

n=0 failed=
problem() {
	echo "FAIL $s: $*"
	case " $failed " in *" $s "*) ;; *) failed="$failed $s" ;; esac
}

for s in $JSCENARIOS $JDAMAGED; do
	case " ${JOURNAL_ONLY:-$s} " in *" $s "*) ;; *) continue ;; esac
	d=$t/$s; mkdir -p "$d"; img=$d/fs.img
	( jmake "$s" "$img" ) >"$d/make.log" 2>&1 || { problem "cannot build: $(tail -3 "$d/make.log")"; continue; }
	n=$((n + 1))
	damaged=0
	case " $JDAMAGED " in *" $s "*) [ "$s" = tagoverflow ] || damaged=1 ;; esac
	sum=$(sha256sum <"$img")
	timeout -s KILL 120 "$E2FSCK_EXT" -E "iomapcheck,iomap_only,iomap_recovered=$d/ours.img,iomap_json=$d/ours.json" \
		-fn "$img" >"$d/ours.out" 2>&1
	rc=$?
	note=$(grep '^journal:' "$d/ours.out")
	echo "-- $s: exit $rc; $note"
	[ "$(sha256sum <"$img")" = "$sum" ] || problem "the image changed"
	if grep -q -e Sanitizer -e 'runtime error' -e 'LeakSanitizer' "$d/ours.out"; then
		problem "sanitizer report:"; sed 's/^/    /' "$d/ours.out" | head -30; continue
	fi
	[ -s "$d/ours.json" ] && [ -f "$d/ours.img" ] || { problem "no JSON or no view (exit $rc)"; sed 's/^/    /' "$d/ours.out"; continue; }
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["note"] != sys.argv[2])' \
		"$d/ours.json" "$note" || problem "JSON note is not the journal line"

	if [ $damaged = 1 ]; then
		[ $rc -eq 4 ] || problem "exit $rc, want 4"
		reason=$(python3 -c '
import json, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    if f["name"] == "JOURNAL_CORRUPT" and f["code"] == "0x0801":
        print(f["detail"] or ""); break
else:
    print("NONE")' "$d/ours.json")
		case $reason in
		NONE) problem "no JOURNAL_CORRUPT finding" ;;
		"") problem "JOURNAL_CORRUPT without a reason" ;;
		*) echo "   JOURNAL_CORRUPT: $reason" ;;
		esac
		case $note in "journal: cannot be recovered ("*) ;; *) problem "journal line: $note" ;; esac
		# our view is the raw image, every byte
		$compare "$d/ours.img" "$img" >"$d/cmp" || { problem "view is not the raw image:"; cat "$d/cmp"; }
		want=$(cats e2fsck "$img") got=$(cats ours "$d/ours.json")
		[ "$got" = "$want" ] || problem "checks on the raw image: ours [$got], e2fsck -fn [$want]"
		if [ "$s" != loop ]; then
			cp "$img" "$d/theirs.img"
			timeout -s KILL 60 "$E2FSCK" -E journal_only -y "$d/theirs.img" >"$d/e2.out" 2>&1
			echo "   e2fsck -E journal_only -y: exit $?: $(grep -v -e '^e2fsck 1' -e '^$' "$d/e2.out" | sed "s|$d/||" | head -4 | paste -sd'|' -)"
		else
			echo "   e2fsck -E journal_only -y: not run (its scan never ends on this log)"
		fi
		rm -f "$d"/*.img "$d"/*.img.*
		continue
	fi

	# recovered scenarios
	want=$(want_line "$s")
	case $note in "$want"*) ;; *) problem "journal line: want '$want...', got '$note'" ;; esac
	case $s in
	badcommit) [ $rc -eq 4 ] && grep -q JOURNAL_TXN_CORRUPT "$d/ours.json" ||
		problem "exit $rc, want 4 with JOURNAL_TXN_CORRUPT" ;;
	*) [ $rc -eq 0 ] || { problem "exit $rc, want 0"; sed 's/^/    /' "$d/ours.out"; } ;;
	esac
	cp "$img" "$d/theirs.img"
	timeout -s KILL 60 "$E2FSCK" -E journal_only -y "$d/theirs.img" >"$d/e2.out" 2>&1
	erc=$?
	echo "   e2fsck -E journal_only -y: exit $erc: $(grep -v -e '^e2fsck 1' -e '^$' "$d/e2.out" | sed "s|$d/||" | paste -sd'|' -)"
	[ $erc -le 1 ] || { problem "e2fsck -E journal_only failed (exit $erc)"; continue; }
	if ! $compare "$d/ours.img" "$d/theirs.img" $ALLOW >"$d/cmp"; then
		problem "view differs from e2fsck's recovered copy:"; grep -v '^  allowed' "$d/cmp" | head -40
	fi
	want=$(cats e2fsck "$d/theirs.img") got=$(cats ours "$d/ours.json")
	[ "$got" = "$want" ] || problem "checks: ours [$got], e2fsck -fn on its recovered copy [$want]"
	# iomapck-replay --compare-recovery (what iomapck-vm runs against the kernel's recovery):
	# every block we replay equals e2fsck's; one byte changed in one of them is reported
	"$IOMAPCK_REPLAY" --base "$img" --compare-recovery "$d/theirs.img" >"$d/cr.out" 2>&1 &&
		grep -q "recovered; [0-9]* blocks replayed and compared, .* 0 differ" "$d/cr.out" ||
		{ problem "--compare-recovery against e2fsck's copy:"; cat "$d/cr.out"; }
	if [ "$s" = multi ]; then
		b=$(python3 - "$img" "$d/theirs.img" <<'PY'
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
		"$IOMAPCK_REPLAY" --base "$img" --compare-recovery "$d/theirs.img" >"$d/cr.out" 2>&1; rc=$?
		[ $rc = 4 ] && grep -q "physical $b: .*offset 7.*\[journal 0x0806" "$d/cr.out" ||
			{ problem "--compare-recovery: block $b changed, not reported (exit $rc)"; cat "$d/cr.out"; }
		echo "   --compare-recovery: one byte changed in replayed block $b of e2fsck's copy: reported"
		# and a block the replay does not write (the last of the file system), changed as
		# if the kernel had replayed a transaction we did not
		python3 - "$d/theirs.img" <<'PY'
import sys
f = open(sys.argv[1], "r+b"); f.seek(-1, 2); last = f.read(1); f.seek(-1, 2)
f.write(bytes([last[0] ^ 0x5a]))
PY
		"$IOMAPCK_REPLAY" --base "$img" --compare-recovery "$d/theirs.img" >"$d/cr.out" 2>&1; rc=$?
		[ $rc = 4 ] && grep -q "the kernel changed it; our replay does not write it" "$d/cr.out" &&
			grep -q "; 1 changed by the kernel only" "$d/cr.out" ||
			{ problem "--compare-recovery: a block only the other side changed, not reported (exit $rc)"; cat "$d/cr.out"; }
		echo "   --compare-recovery: the last block changed on e2fsck's side only: reported"
	fi
	case $s in
	revoke | revoke32)
		# X and W revoked (on-disk content kept), Y rewritten after its revoke, Z replayed
		python3 - "$img" "$d/ours.img" $(cat "$img.revoke") <<'PY' || problem "revoked blocks wrong"
import struct, sys
raw, ours = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
bs = 1024 << struct.unpack_from("<I", raw, 1024 + 0x18)[0]
x, y, z, w = (int(v) for v in sys.argv[3:7])
blk = lambda d, b: d[b * bs:(b + 1) * bs]
ok = blk(ours, x) == blk(raw, x) and blk(ours, w) == blk(raw, w) and \
     blk(ours, y) != blk(raw, y) and blk(ours, z) != blk(raw, z)
sys.exit(0 if ok else 1)
PY
		case $note in *", 4 revoked"*) ;; *) problem "want 4 revoke hits: $note" ;; esac ;;
	badcommit)
		grep -q 'Journal transaction 2 was corrupt' "$d/e2.out" || problem "e2fsck did not stop at transaction 2" ;;
	esac
	rm -f "$d"/*.img "$d"/*.img.*
done
nf=$(echo $failed | wc -w)
echo "journal recovery: $n scenarios, $((n - nf)) passed${failed:+, failed:$failed}"
[ $n -gt 0 ] || fail "no scenario ran"
[ -z "$failed" ]
