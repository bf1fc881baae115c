# SPDX-License-Identifier: GPL-2.0-only
# wp-lib.sh - helpers of the write-path cases (tests/cases/w_*): debugfs-ext's iomap write
# path on mkfs'd images, judged by the installed e2fsck -fn, by our checks, and by reading
# the files back with the installed debugfs.  A case runs in its own empty directory with
# relative paths, so its output holds no temporary path; every session's output goes to
# ./got, which case_expect compares with the case's golden ./expect (UPDATE_EXPECT=1 writes
# it instead).
DX=${DEBUGFS_EXT:-$top_builddir/debugfs-ext/debugfs-ext}
[ -x "$DX" ] || fail "$DX not built"
OUT=dx.out
# shellcheck disable=SC2034 # the cases use it
POISON=5aa5
NCHECK=0
: >got

# dx IMG REQUEST...: one debugfs-ext -w session; output in $OUT and after ./got; returns its
# exit code.
dx() {
	local img=$1 rc; shift
	printf '%s\n' "$@" | "$DX" -w -f - "$img" >"$OUT" 2>&1
	rc=$?
	{ cat "$OUT"; echo "(exit $rc)"; } >>got
	return $rc
}

# judge IMG [POISON]: the installed e2fsck -fn and our checks both clean.
judge() {
	local img=$1 opt=iomapcheck,iomap_only
	[ -n "${2:-}" ] && opt="$opt,iomap_poison=$2"
	"$E2FSCK" -fn "$img" >e2fsck.txt 2>&1 || { cat e2fsck.txt; cat "$OUT"; fail "e2fsck -fn not clean on $img ($WHAT)"; }
	"$E2FSCK_EXT" -E "$opt" -fn "$img" >ours.txt 2>&1 || { cat ours.txt; cat "$OUT"; fail "our checks not clean on $img ($WHAT)"; }
	NCHECK=$((NCHECK + 1))
}

# exp_write EXP OFF LEN SEED: apply a pattern write to the expected content.
exp_write() {
	python3 - "$@" <<'PY'
import os, sys
p, off, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
d = bytearray(open(p, "rb").read()) if os.path.exists(p) else bytearray()
if len(d) < off + n:
    d += bytes(off + n - len(d))
for o in range(off, off + n):
    d[o] = ((o % 251) + (o // 4096) + seed) & 255
open(p, "wb").write(d)
PY
}

# expect_content IMG PATH EXP: the file read back by the installed debugfs is EXP.
expect_content() {
	rm -f dump
	"$DEBUGFS" -R "dump $2 dump" "$1" >/dev/null 2>&1
	cmp -s dump "$3" || { cmp dump "$3" | head -3; cat "$OUT"; fail "content of $2 differs ($WHAT)"; }
}

# written LEN: the byte count a short write reported (or LEN when it was not short).
written() {
	local n; n=$(sed -n 's/.*short write: \([0-9]*\) of.*/\1/p' "$OUT" | tail -1)
	echo "${n:-$1}"
}

# wp_norm: stdin to stdout without what varies between releases (e2fsck-ext's version).
wp_norm() {
	sed 's/^iomapck [^ ]*: checking /iomapck VERSION: checking /'
}

# case_expect: ./got is the case's golden expect.
