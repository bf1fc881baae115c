# SPDX-License-Identifier: GPL-2.0-only
# tests/cases/quota-lib.sh - helpers for the q_* quota cases (sourced after tests/lib.sh).

# q_base IMG: a consistent image with three owners.  debugfs charges nothing, so e2fsck -fy
# (the installed one) rewrites the quota files from the inodes; the image must then be clean.
#   f: 20000 bytes, uid/gid/project 0;  g: 20000 bytes, uid/gid 500, project 3;
#   d: a directory, uid 500.
q_base() {
	mkimg "$1" 16M -b 4096 -I 256 -O quota,project
	head -c 20000 /dev/urandom >data
	dbg "$1" "write data f" "write data g" "sif g uid 500" "sif g gid 500" "sif g projid 3" \
		"mkdir d" "sif d uid 500"
	"$E2FSCK" -fy "$1" >/dev/null 2>&1
	"$E2FSCK" -fn "$1" >/dev/null 2>&1 || fail "base image not clean after e2fsck -fy"
}

# q_lq IMG TYPE ID: "space inodes" of ID in the installed debugfs's `lq TYPE`, "0 0" if absent.
q_lq() {
	"$DEBUGFS" -R "lq $2" "$1" 2>/dev/null |
		awk -v id="$3" '$1 == id { print $2, $5; f = 1 } END { if (!f) print 0, 0 }'
}

# q_bytes IMG FILE: the bytes FILE's blocks take, from the installed debugfs's stat
# (Blockcount is in 512-byte units).
q_bytes() {
	"$DEBUGFS" -R "stat $2" "$1" 2>/dev/null |
		awk '/Blockcount:/ { for (i = 1; i < NF; i++) if ($i == "Blockcount:") print $(i + 1) * 512 }'
}

# q_ours JSON: our quota findings, one a line: "NAME TYPE ID EXPECTED FOUND" (numbers "-"
# when absent); BAD_FILE and FREE_LIST give "NAME INODE DETAIL".
q_ours() {
	python3 - "$1" <<'PY'
import json, re, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    if f["check"] != "quota":
        continue
    n = lambda v: "-" if v is None else str(v)
    m = re.match(r"(user|group|project) (\d+)", f["detail"] or "")
    if f["name"] in ("QUOTA_BAD_FILE", "QUOTA_FREE_LIST"):
        print(f["name"], n(f["ino"]), f["detail"])
    else:
        print(f["name"], m.group(1), m.group(2), n(f["expected"]), n(f["found"]))
PY
}

# q_ours_verdict JSON: our findings in e2fsck's terms, one a line, sorted:
#   "TYPE ID ACTUAL_SPACE ACTUAL_INODES EXPECTED_SPACE EXPECTED_INODES" (e2fsck's "actual" is
#   the computed usage, its "expected" the file's), "TYPE ID missing" for an id with no entry,
#   "TYPE bad" for a malformed file.
q_ours_verdict() {
	python3 - "$1" <<'PY'
import json, re, sys
out = set()
for f in json.load(open(sys.argv[1]))["findings"]:
    if f["check"] != "quota":
        continue
    d = f["detail"] or ""
    if f["name"] == "QUOTA_BAD_FILE":
        out.add(re.match(r"(\w+) quota file", d).group(1) + " bad")
        continue
    m = re.match(r"(user|group|project) (\d+): (.*)", d)
    if not m or f["name"] not in ("QUOTA_SPACE", "QUOTA_INODES"):
        continue
    t, i, rest = m.groups()
    nums = [int(x) for x in re.findall(r"(\d+) (?:bytes|inodes?)", rest)]
    if "no entry in the quota file" in rest:
        out.add("%s %s missing" % (t, i))
    elif rest.startswith("owns no inode"):
        out.add("%s %s 0 0 %d %d" % (t, i, nums[0], nums[1]))
    else:
        out.add("%s %s %d %d %d %d" % (t, i, nums[0], nums[1], nums[2], nums[3]))
print("\n".join(sorted(out)))
PY
}

# q_e2fsck_verdict IMG: the installed e2fsck -fn's quota verdict in the same form.  Its
# warnings precede "Update quota info for quota type N" (e2fsck's output is unbuffered, so
# 2>&1 keeps the order); the types must be those of problem 0x060002 in its problem_log.
q_e2fsck_verdict() {
	local log; log=$(mktemp)
	"$E2FSCK" -fn -E "problem_log=$log" "$1" >"$log.out" 2>&1
	python3 - "$log" "$log.out" <<'PY'
import re, sys
names = ["user", "group", "project"]
pending, out, types, bad = [], set(), set(), False
for line in open(sys.argv[2], errors="replace"):
    if line.startswith("[ERROR]"):
        bad = True   # e2fsck could not read (all of) the file
        continue
    m = re.search(r"Usage inconsistent for ID (\d+):actual \((-?\d+), (-?\d+)\) != expected \((-?\d+), (-?\d+)\)", line)
    if m:
        pending.append("%s %s %s %s %s" % m.groups()); continue
    m = re.search(r"Missing quota entry ID (\d+)", line)
    if m:
        pending.append("%s missing" % m.group(1)); continue
    m = re.search(r"Update quota info for quota type (\d)", line)
    if m:
        t = names[int(m.group(1))]
        types.add(t)
        if bad or not pending:
            out.add("%s bad" % t)
        else:
            out.update("%s %s" % (t, p) for p in pending)
        pending, bad = [], False
plog = set()
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r'<problem code="0x060002"([^/]*)/>', line)
    if m:
        num = re.search(r'num="(\d+)"', m.group(1))
        plog.add(names[int(num.group(1)) if num else 0])
if plog != types:
    print("problem_log types %s != text types %s" % (sorted(plog), sorted(types)))
print("\n".join(sorted(out)))
PY
	rm -f "$log" "$log.out"
}

# q_check IMG WANT_FINDINGS: our findings must be exactly WANT (q_ours form, in order), our
# exit 4 (0 when WANT is empty), and e2fsck -fn must name the same ids with the same figures.
q_check() {
	local want_rc=4
	[ -z "$2" ] && want_rc=0
	ick "$1" out.json; local rc=$?
	[ "$rc" -eq "$want_rc" ] || fail "our exit $rc, expected $want_rc ($(cat out.json.txt))"
	expect_same "our quota findings" "$(q_ours out.json)" "$2"
	expect_same "e2fsck's verdict vs ours" "$(q_e2fsck_verdict "$1")" "$(q_ours_verdict out.json)"
}
