# SPDX-License-Identifier: GPL-2.0-only
# tests/lib.sh - helpers for image-based tests (sourced).  Images are made by the installed
# mkfs.ext4, changed by the installed debugfs, judged by e2fsck-ext and by the installed
# e2fsck -fn (through its machine-readable -E problem_log).
: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${E2FSCK_EXT:=$top_builddir/e2fsck-ext/e2fsck-ext}"
E2FSCK=${E2FSCK:-/usr/sbin/e2fsck}
DEBUGFS=${DEBUGFS:-/usr/sbin/debugfs}
MKFS=${MKFS:-/usr/sbin/mkfs.ext4}
export E2FSCK_CONFIG=/dev/null MKE2FS_CONFIG=${MKE2FS_CONFIG:-/etc/mke2fs.conf}
# Fixed times and UUIDs make images reproducible.
export E2FSPROGS_FAKE_TIME=1700000000

fail() { echo "FAIL: $*" >&2; exit 1; }
# case_expect: a case folder's ./got against its golden $CASE_DIR/expect (UPDATE_EXPECT=1
# writes the expect instead)
case_expect() {
	if [ "${UPDATE_EXPECT:-0}" = 1 ]; then
		cp got "$CASE_DIR/expect"
		return 0
	fi
	diff -u "$CASE_DIR/expect" got >got.diff || { head -60 got.diff; fail "output differs from $CASE_DIR/expect"; }
}
skip() { echo "SKIP: $*"; exit 77; }

# mkimg IMG SIZE [mkfs options...]: a fresh ext4 image.
mkimg() {
	local img=$1 size=$2; shift 2
	rm -f "$img"
	"$MKFS" -q -F -U 01234567-89ab-cdef-0123-456789abcdef -E root_owner=0:0 "$@" "$img" "$size" \
		>/dev/null || fail "mkfs.ext4 $* failed"
}

# dbg IMG CMD...: each argument one debugfs -w request, run in one debugfs session.
dbg() {
	local img=$1; shift
	printf '%s\n' "$@" | "$DEBUGFS" -w -f - "$img" >/dev/null 2>&1 || fail "debugfs $* failed"
}

# ick IMG JSON: our checks only, findings to JSON; returns our exit code.
ick() {
	"$E2FSCK_EXT" -E "iomapcheck,iomap_only,iomap_json=$2" -fn "$1" >"$2.txt" 2>&1
}

# ick_findings JSON: one line per finding: "check name ino lblk pblk len expected found".
ick_findings() {
	python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = lambda v: "-" if v is None else str(v)
for f in d["findings"]:
    print(f["check"], f["name"], n(f["ino"]), n(f["lblk"]), n(f["pblk"]), n(f["len"]),
          n(f["expected"]), n(f["found"]))
PY
}

# e2fsck_codes IMG: the installed e2fsck -fn's problem codes, one "code ino blk blk2 num" a line.
e2fsck_codes() {
	local log; log=$(mktemp)
	"$E2FSCK" -fn -E "problem_log=$log" "$1" >/dev/null 2>&1
	python3 - "$log" <<'PY'
import re, sys
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r'<problem code="(0x[0-9a-f]+)"([^/]*)/>', line)
    if not m:
        continue
    a = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
    print(m.group(1), a.get("ino", "-"), a.get("blk", "-"), a.get("blk2", "-"), a.get("num", "-"))
PY
	rm -f "$log"
}

# expect_same WHAT GOT WANT: compare two multi-line strings.
expect_same() {
	if [ "$2" != "$3" ]; then
		echo "--- $1: expected"; echo "$3"; echo "--- got"; echo "$2"
		fail "$1 differs"
	fi
}
