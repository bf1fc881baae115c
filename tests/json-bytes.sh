#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/json-bytes.sh - every JSON document a program writes holds untrusted bytes as the
# man page says (iomapck-replay(8), UNTRUSTED STRINGS): a log path and a mark name with a
# double quote, a backslash, control bytes (\x01, a tab, a newline) and invalid UTF-8
# (\xff), swept with --json; the same path as the crashed image of --compare-recovery
# --json and as e2fsck-ext's device with iomap_json.  Each document must parse as strict
# UTF-8 JSON and give back the path and the mark by the rule, done again here.
set -u
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
command -v python3 >/dev/null || skip "no python3"
: "${DEBUGFS_EXT:=$top_builddir/debugfs-ext/debugfs-ext}"
: "${IOMAPCK_REPLAY:=$top_builddir/logreplay/iomapck-replay}" "${LOGEDIT:=$top_builddir/tests/tools/logedit}"
for p in "$DEBUGFS_EXT" "$IOMAPCK_REPLAY" "$LOGEDIT"; do [ -x "$p" ] || fail "$p not built"; done
T=$(mktemp -d) && cd "$T" || exit 1
trap 'cd / && rm -rf "$T"' EXIT
BYTES=$'"q\\b\x01t\tn\nx\xffz'
export LOG="l${BYTES}.log" MARK="m${BYTES}" IMG="c${BYTES}.img"

# a session whose failed write leaks blocks: crash points after marks with findings
mkimg a.img 16M -b 4096
cp a.img a.base
printf '%s\n' "iomap_write --create --sync /f 0 1" \
	"iomap_write --mode nonda --bug leak_on_fail --fail ENOSPC /f 8192 16384" |
	"$DEBUGFS_EXT" -w -L a.log -f - a.img >rec 2>&1
[ -s a.log ] || { cat rec; fail "session: no log"; }
"$LOGEDIT" --mark-name "$MARK" a.log "$LOG" || fail "logedit --mark-name"
cp a.base "$IMG"

"$IOMAPCK_REPLAY" --log "$LOG" --base a.base --check mark --keep-going --json o.json >out 2>&1; rc=$?
[ $rc = 4 ] || { cat out; fail "sweep: exit $rc, want 4"; }
"$IOMAPCK_REPLAY" --base "$IMG" --compare-recovery a.base --json c.json >out 2>&1; rc=$?
[ $rc = 0 ] || { cat out; fail "--compare-recovery: exit $rc"; }
"$E2FSCK_EXT" -E iomapcheck,iomap_only,iomap_json=e.json -fn "$IMG" >out 2>&1; rc=$?
[ $rc = 0 ] || { cat out; fail "e2fsck-ext: exit $rc"; }

python3 - <<'PY' || fail "a JSON document does not hold the bytes by the rule"
import json, os
def rule(b):
    """valid UTF-8 but XML's forbidden characters passes, a backslash is doubled, any other
    byte is \\xHH (surrogateescape gives each undecodable byte alone)"""
    out = []
    for ch in b.decode("utf-8", "surrogateescape"):
        c = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0xdc80 <= c <= 0xdcff:
            out.append("\\x%02X" % (c - 0xdc00))
        elif c in (9, 10, 13) or 0x20 <= c <= 0xd7ff or 0xe000 <= c <= 0xfffd or c >= 0x10000:
            out.append(ch)
        else:
            out.append("".join("\\x%02X" % x for x in ch.encode("utf-8", "surrogatepass")))
    return "".join(out)
def load(name):
    return json.loads(open(name, "rb").read().decode("utf-8"))  # strict UTF-8 and JSON
e = os.environb
log, mark, img = rule(e[b"LOG"]), rule(e[b"MARK"]), rule(e[b"IMG"])
assert log == 'l"q\\\\b\\x01t\tn\nx\\xFFz.log', log   # the rule, written out once
o = load("o.json")
assert o["log"] == log, (o["log"], log)
assert o["failing"], "no failing point"
assert {p["mark"] for p in o["failing"]} == {mark}, ({p["mark"] for p in o["failing"]}, mark)
assert all(p["report"]["image"] == log for p in o["failing"])
for name in ("c.json", "e.json"):
    d = load(name)
    assert d["image"] == img, (name, d["image"], img)
print("json-bytes: the sweep's, --compare-recovery's and e2fsck-ext's JSON as the rule says")
PY
