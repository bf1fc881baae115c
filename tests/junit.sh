#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/junit.sh - iomapck-replay --junit: the xunit report of a sweep of a log with a
# seeded bug, its marks renamed to hostile bytes (<, &, ", a control byte, invalid UTF-8,
# a backslash).  The report must parse (xml.dom.minidom and xml.etree), say what the text
# output says (the failing points, the counts), name each mark as the man page says, and
# its repro commands must make a state where e2fsck-ext finds what the sweep found.  A
# damaged log gives an <error>, a sweep that checks nothing <skipped/>, and a report that
# cannot be written one line and exit 8.
set -u
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
DX=${DEBUGFS_EXT:-$top_builddir/debugfs-ext/debugfs-ext}
RP=${IOMAPCK_REPLAY:-$top_builddir/logreplay/iomapck-replay}
LE=${LOGEDIT:-$top_builddir/tests/tools/logedit}
[ -x "$DX" ] && [ -x "$RP" ] && [ -x "$LE" ] || fail "debugfs-ext, iomapck-replay or logedit not built"
command -v python3 >/dev/null || skip "no python3"
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
POISON=5aa5
MARK=$'m<1&"q\x01\x7f\xff\xc3(\xe2\x82\\z'

mkimg "$T/a.img" 16M -b 4096 -O quota -E quotatype=usrquota:grpquota
printf '%s\n' "iomap_poison $POISON" | "$DX" -w -f - "$T/a.img" >/dev/null 2>&1 || fail "poison"
cp "$T/a.img" "$T/a.base"
printf '%s\n' "iomap_write --create --uid 1000 --sync /f 0 1" \
	"iomap_write --mode nonda --bug leak_on_fail --fail ENOSPC /f 8192 16384" |
	"$DX" -w -L "$T/a.log" -f - "$T/a.img" >"$T/rec" 2>&1
# (the failed write makes the session exit non-zero)
[ -s "$T/a.log" ] || { cat "$T/rec"; fail "session: no log"; }
"$LE" --mark-name "$MARK" "$T/a.log" "$T/b.log" || fail "logedit --mark-name"
cd "$T" || fail "cd $T"

"$RP" --log b.log --base a.base --check every --keep-going --poison $POISON --junit j.xml >out 2>&1
rc=$?
[ $rc = 4 ] || { cat out; fail "sweep: exit $rc, want 4"; }
grep -q "^entry .*after mark" out || fail "no failing point after a mark: the test tests nothing"
# what the text output says, to compare with
LC_ALL=C sed -n 's/^\(entry [0-9]*.*\): findings$/\1/p' out >points
summary=$(grep '^b.log: [0-9]* entries' out) || fail "no summary line"

# the man page's rule for untrusted strings, done again independently (both checks use it)
cat >untrusted_rule.py <<'PY'
def clean(b):
    out, i = "", 0
    while i < len(b):
        if b[i] == 0x5c:
            out += "\\\\"; i += 1; continue
        for n in (1, 2, 3, 4):
            try:
                ch = b[i:i + n].decode("utf-8")
            except UnicodeDecodeError:
                continue
            c = ord(ch)
            if c in (9, 10, 13) or 0x20 <= c <= 0xd7ff or 0xe000 <= c <= 0xfffd or c >= 0x10000:
                out += ch; i += n; break
            n = 0; break
        else:
            n = 0
        if not n:
            out += "\\x%02X" % b[i]; i += 1
    return out
PY

python3 - j.xml points "$summary" "$MARK" <<'PY' || fail "the report is not what the sweep said"
import re, sys, xml.dom.minidom, xml.etree.ElementTree as ET
path, points, summary, mark = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
xml.dom.minidom.parse(path)                     # well-formed, or this raises
root = ET.parse(path).getroot()
def die(msg):
    print("junit.sh:", msg); sys.exit(1)
if root.tag != "testsuite": die("root is %s" % root.tag)
a = root.attrib
for k in ("name", "failures", "skipped", "tests", "time", "timestamp", "hostname"):
    if k not in a: die("testsuite has no %s" % k)
iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$"
if not re.match(iso, a["timestamp"]): die("timestamp %s" % a["timestamp"])
float(a["time"])
if (a["tests"], a["failures"], a["skipped"]) != ("1", "1", "0"): die("counts %s" % a)
props = {p.get("name"): p.get("value") for p in root.find("properties")}
m = re.match(r"b\.log: (\d+) entries, (\d+) crash points, (\d+) checked, (\d+) findings", summary)
want = {"log": "b.log", "base": "a.base", "check": "every", "entries": m[1], "points": m[2],
        "checked": m[3], "findings": m[4]}
for k, v in want.items():
    if props.get(k) != v: die("property %s = %r, want %r" % (k, props.get(k), v))
cases = root.findall("testcase")
if len(cases) != 1: die("%d testcases" % len(cases))
tc = cases[0]
if (tc.get("classname"), tc.get("name")) != ("iomapck-replay", "b.log"): die("testcase %s" % tc.attrib)
float(tc.get("time"))
# the man page's rule for untrusted bytes, done again here: valid UTF-8 stays (but not the
# characters XML forbids), a backslash is doubled, any other byte is \xHH
raw = mark.encode("utf-8", "surrogateescape")
from untrusted_rule import clean
want_mark = clean(raw)
if "\\x01" not in want_mark or "\\xFF" not in want_mark or "<" not in want_mark: die("bad test mark")
fails = tc.findall("failure")
expect = [l.rstrip("\n") for l in open(points, encoding="utf-8", errors="surrogateescape")]
if len(fails) != 1 or not expect: die("%d failures (one a testcase), the sweep printed %d points" % (len(fails), len(expect)))
f = fails[0]
if f.get("type") != "TestFail": die("type %s" % f.get("type"))
# each point a block of the text: "== MESSAGE", its findings, its repro commands
blocks = re.split(r"^== ", f.text or "", flags=re.M)[1:]
if len(blocks) != len(expect): die("%d points in the failure, the sweep printed %d" % (len(blocks), len(expect)))
marked = 0
msgs = []
for b, e in zip(blocks, expect):
    w = e.encode("utf-8", "surrogateescape")
    n = re.match(rb"entry (\d+)", w)[1].decode()
    if b"after mark" in w:
        w = ('entry %s (after mark "%s")' % (n, want_mark))
        marked += 1
    else:
        w = w.decode()
    head, _, t = b.partition("\n")
    if head != w: die("point %r, want %r" % (head, w))
    msgs.append(w)
    if "[" not in t or "iomapck:" not in t: die("no findings for point %s" % n)
    if ("--check every --keep-going --limit %d --replay state.img" % (int(n) + 1)) not in t:
        die("no repro for point %s: %s" % (n, t))
    if "e2fsck-ext -E iomapcheck,iomap_poison=5aa5 -fn state.img" not in t: die("no e2fsck-ext line")
want = "%d failing point%s; the first: %s" % (len(expect), "s" if len(expect) > 1 else "", msgs[0])
if f.get("message") != want: die("failure message %r, want %r" % (f.get("message"), want))
if not marked: die("no failure names the mark")
PY
echo "--junit: well-formed with a hostile mark name; one failure holding the $(wc -l <points) points the sweep printed, properties as its summary"

# the first failure's and the last one's repro commands: e2fsck-ext finds errors there,
# and none at the entry before the first
python3 - j.xml <<'PY' >repro || fail "no repro lines"
import xml.etree.ElementTree as ET
import re
f = ET.parse("j.xml").getroot().find("testcase").find("failure")
bs = re.split(r"^== ", f.text, flags=re.M)[1:]
for b in (bs[0], bs[-1]):
    print("; ".join(l.strip() for l in b.splitlines() if l.startswith("  ")))
PY
while read -r cmd; do
	cmd=${cmd//iomapck-replay /$RP }
	cmd=${cmd//e2fsck-ext /$E2FSCK_EXT }
	bash -c "$cmd" >r.out 2>&1
	n=$(sed -n 's/^state.img: iomapck: \([0-9]*\) error.*/\1/p' r.out)
	[ "${n:-0}" -gt 0 ] || { cat r.out; fail "repro found no error: $cmd"; }
done <repro
first=$(sed -n '1s/^entry \([0-9]*\).*/\1/p' points)
"$RP" --log b.log --base a.base --check every --keep-going --limit "$first" --replay state.img >/dev/null 2>&1
"$E2FSCK_EXT" -E iomapcheck,iomap_poison=$POISON -fn state.img >r.out 2>&1
grep -q "^state.img: iomapck: 0 error" r.out || { cat r.out; fail "errors before the first failing point $first"; }
echo "--junit: the repro commands of the first and last failing points give e2fsck-ext errors, none an entry earlier"

# nothing checked: <skipped/>; a damaged log: <error>, exit 8; an unwritable report: exit 8
"$RP" --log b.log --limit 1 --junit s.xml >out 2>&1 || { cat out; fail "--limit 1: exit $?"; }
cp b.log bad.log && printf XXXXXXXX | dd of=bad.log conv=notrunc status=none
"$RP" --log bad.log --junit e.xml >out 2>&1; rc=$?
[ $rc = 8 ] || fail "damaged log: exit $rc, want 8"
python3 - <<'PY' || fail "skipped/error reports"
import xml.etree.ElementTree as ET
s = ET.parse("s.xml").getroot()
assert s.get("skipped") == "1" and s.find("testcase/skipped") is not None, "no <skipped>"
e = ET.parse("e.xml").getroot()
err = e.find("testcase/error")
assert err is not None and "magic" in err.get("message"), "no <error>"
assert e.get("errors") == "1" and e.get("skipped") == "0" and e.find("testcase/skipped") is None
PY
"$RP" --log b.log --base a.base --junit "$T/no/such/dir/j.xml" >out 2>err; rc=$?
[ $rc = 8 ] && [ "$(wc -l <err)" = 1 ] && [ ! -s out ] || { cat out err; fail "unwritable --junit: exit $rc"; }
"$RP" --base a.base --compare-recovery a.img --junit x.xml >/dev/null 2>&1; rc=$?
[ $rc = 16 ] || fail "--junit with --compare-recovery: exit $rc, want 16"
echo "--junit: <skipped/> when nothing is checked, <error> for a damaged log (exit 8); an unwritable file: one line, exit 8"

# ---- --json with the same untrusted bytes: a log path with a quote and a backslash, the
# hostile mark: the document parses, as strict UTF-8, and the mark and the path come back
# by the documented rule (valid UTF-8 passes, a backslash doubled, any other byte \xHH)
cp b.log 'q"u\o.log' || fail "cp"
"$RP" --log 'q"u\o.log' --base a.base --check every --keep-going --poison $POISON --json j.json >out 2>&1
rc=$?
[ $rc = 4 ] || { cat out; fail "--json sweep: exit $rc, want 4"; }
MARK="$MARK" python3 - j.json <<'PY' || fail "--json: the document does not hold what the sweep printed"
import json, os, sys
raw = open(sys.argv[1], "rb").read()
d = json.loads(raw.decode("utf-8"))  # strict: invalid UTF-8 raises
from untrusted_rule import clean as rule
mark = os.environb[b"MARK"]
assert d["log"] == rule(b'q"u\\o.log'), (d["log"], rule(b'q"u\\o.log'))
marks = {p["mark"] for p in d["failing"]}
assert rule(mark) in marks, (marks, rule(mark))
assert len(d["failing"]) > 0
PY
echo "--json: a quote and a backslash in the log's path and the hostile mark: valid UTF-8 JSON, both as the rule says"
exit 0
