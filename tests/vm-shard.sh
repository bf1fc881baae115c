#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/vm-shard.sh - iomapck-vm --shard, merge and --junit without a VM: run directories
# made here (one per pair of a 3-config x 3-seed campaign, each with a status: clean, a
# dm-flakey finding, a VM failure, a failing sweep), taken with --from and swept by a
# stand-in for iomapck-replay that answers from the run directory.  The campaign is run
# once whole and as 4 shards (the index from JOB_COMPLETION_INDEX, as a Kubernetes Indexed
# Job sets it); `merge` of the shards must print the whole run's FAIL lines and write its
# summary JSON and JUnit byte for byte; without one shard it names its pairs and exits 2.
set -u
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
VM=$top_srcdir/vm/iomapck-vm
command -v python3 >/dev/null || skip "no python3"
T=$(mktemp -d) || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
export IOMAPCK_VM_DATA=$top_srcdir/vm

# the stand-in sweep tool: the run directory's fake.rc, fake.txt and fake.json
cat >"$T/replay" <<'SH'
#!/bin/bash
log= json=
while [ $# -gt 0 ]; do
	case $1 in --log) log=$2; shift ;; --json) json=$2; shift ;; --compare-recovery) echo "no recovery needed"; exit 0 ;; esac
	shift
done
d=$(dirname "$log")
cat "$d/fake.txt"
[ -z "$json" ] || cp "$d/fake.json" "$json"
exit "$(cat "$d/fake.rc")"
SH
chmod +x "$T/replay"

CONFIGS="default,nodelalloc,1k"
mkdir "$T/src"
k=0
for seed in 1 2 3; do
	for cfg in default nodelalloc 1k; do
		d=$T/src/$cfg-s$seed
		mkdir -p "$d"
		case $((k % 5)) in
		1) status=flakey-finding ;;
		3) status=vm-failed ;;
		*) status=ok ;;
		esac
		rc=0; [ $k = 4 ] && rc=8
		# a control byte and a "<" in the console: the JUnit must stay well-formed
		printf '@@ START\n@@ FAIL flakey check <%s>\x01\n' "$cfg" >"$d/console.txt"
		[ $status = vm-failed ] || echo "@@ DONE" >>"$d/console.txt"
		: >"$d/log.img"; : >"$d/crashed.img"; : >"$d/recovered.img"
		echo $rc >"$d/fake.rc"
		echo "$d/log.img: 10 entries, 3 crash points, 3 checked, 0 findings" >"$d/fake.txt"
		echo '{"log": "x", "failing": [], "entries": 10, "points": 3, "checked": 3, "findings": 0}' >"$d/fake.json"
		printf 'seed=%s\nconfig=%s\nmkfs=-F -q -T default\nmount=\nkernel=6.1.0-test\naccel=tcg\nstatus=%s\ntracepoints={}\nconsole=%s\n' \
			$seed $cfg $status "$d/console.txt" >"$d/meta.txt"
		printf '{"seed": %s, "script": null, "config": "%s", "mkfs": "-F -q -T default", "mount": "", "kernel": "6.1.0-test", "accel": "tcg", "ops": 400, "entries": 10, "status": "%s", "recovered_e2fsck_rc": "0", "vm_seconds": %s.5, "tracepoints": {}, "console": "%s"}\n' \
			$seed $cfg $status $k "$d/console.txt" >"$d/meta.json"
		k=$((k + 1))
	done
done

# the whole campaign in one run: its report lines, summary and JUnit
"$VM" check --from "$T/src" --config $CONFIGS --seeds 3 --replay "$T/replay" --out "$T/camp" \
	--json "$T/one.json" --junit "$T/one.xml" >"$T/one.out" 2>"$T/one.err"
rc=$?
[ $rc = 2 ] || { cat "$T/one.out" "$T/one.err"; fail "one run: exit $rc, want 2 (a VM failure)"; }
grep -E '^(KNOWN|FAIL) ' "$T/one.out" >"$T/one.report"
nfail=$(grep -c '^FAIL ' "$T/one.report")
[ "$nfail" = 2 ] || { cat "$T/one.out"; fail "one run: $nfail FAIL lines, want 2 (the dm-flakey runs)"; }
python3 - "$T/one.json" "$T/one.xml" <<'PY' || fail "one run: summary or JUnit wrong"
import json, sys, xml.dom.minidom, xml.etree.ElementTree as ET
d = json.load(open(sys.argv[1]))
names = ["%s-s%d" % (c, s) for s in (1, 2, 3) for c in ("default", "nodelalloc", "1k")]
assert [r["dir"].rsplit("/", 1)[1] for r in d["runs"]] == names, "runs not in campaign order"
assert d["exit"] == 2 and d["kernel"] == "6.1.0-test", d
xml.dom.minidom.parse(sys.argv[2])
s = ET.parse(sys.argv[2]).getroot()
cases = s.findall("testcase")
assert [c.get("name") for c in cases] == names, [c.get("name") for c in cases]
assert all(c.get("classname") == "iomapck-vm" for c in cases)
kind = ["error" if c.find("error") is not None else "failure" if c.find("failure") is not None
        else "pass" for c in cases]
# pairs 1 and 6 are dm-flakey findings, 3 and 8 VM failures, 4 a sweep that failed
want = ["pass", "failure", "pass", "error", "error", "pass", "failure", "pass", "error"]
assert kind == want, kind
assert (s.get("tests"), s.get("failures"), s.get("errors")) == ("9", "2", "3"), s.attrib
p = {q.get("name"): q.get("value") for q in cases[1].find("properties")}
assert p["config"] == "nodelalloc" and p["seed"] == "1" and p["kernel"] == "6.1.0-test" and p["accel"] == "tcg", p
assert cases[1].find("failure").get("message").startswith("FAIL seed 1 config nodelalloc")
PY
echo "one run: 9 pairs, 2 FAIL lines, the JUnit's testcases in campaign order (2 failures, 3 errors)"

# 4 shards, each with its own --out, the index from JOB_COMPLETION_INDEX
for i in 0 1 2 3; do
	JOB_COMPLETION_INDEX=$i "$VM" check --from "$T/src" --config $CONFIGS --seeds 3 --shard /4 \
		--replay "$T/replay" --out "$T/shard-$i" >"$T/out-shard-$i" 2>&1
	[ -f "$T/shard-$i/summary.json" ] && [ -f "$T/shard-$i/junit.xml" ] ||
		{ cat "$T/out-shard-$i"; fail "shard $i: no summary.json and junit.xml in its --out"; }
	n=$(find "$T/shard-$i" -name result.json | wc -l)
	want=$(( (9 - i + 3) / 4 ))
	[ "$n" = "$want" ] || fail "shard $i ran $n pairs, want $want"
done
# the report is a function of the runs' result files: merging the one run's own directory
# (moved away) into its --out gives its report byte for byte
mv "$T/camp" "$T/camp.one"
"$VM" merge --out "$T/camp" --json "$T/s.json" --junit "$T/s.xml" "$T/camp.one" >"$T/s.out" 2>"$T/s.err"
rc=$?
[ $rc = 2 ] || { cat "$T/s.out" "$T/s.err"; fail "merge of the one run: exit $rc, want its 2"; }
cmp "$T/s.out" "$T/one.report" || { diff "$T/one.report" "$T/s.out"; fail "merge of the one run: not its FAIL lines"; }
cmp "$T/s.json" "$T/one.json" || { diff "$T/one.json" "$T/s.json" | head; fail "merge of the one run: not its summary"; }
cmp "$T/s.xml" "$T/one.xml" || { diff "$T/one.xml" "$T/s.xml" | head; fail "merge of the one run: not its JUnit"; }
echo "merge of the one run's directory: its FAIL lines, summary JSON and JUnit, byte for byte"
# the shards swept the runs again: the same report but for the times they measured
rm -rf "$T/camp"
"$VM" merge --out "$T/camp" --json "$T/m.json" --junit "$T/m.xml" "$T"/shard-* >"$T/m.out" 2>"$T/m.err"
rc=$?
[ $rc = 2 ] || { cat "$T/m.out" "$T/m.err"; fail "merge: exit $rc, want the one run's 2"; }
cmp "$T/m.out" "$T/one.report" || { diff "$T/one.report" "$T/m.out"; fail "merge: not the one run's FAIL lines"; }
untimed() {	# the measured times and dates out
	sed -E -e 's/"seconds": [0-9.]+/"seconds": T/g' -e 's/ time="[0-9.]+"/ time="T"/g' \
		-e 's/(timestamp)="[^"]*"/\1="T"/g' "$1"
}
for f in json xml; do
	cmp <(untimed "$T/m.$f") <(untimed "$T/one.$f") ||
		{ diff <(untimed "$T/one.$f") <(untimed "$T/m.$f") | head; fail "merge: not the one run's $f"; }
done
grep -q '"seconds": [0-9]' "$T/m.json" && grep -q ' time="[0-9]' "$T/m.xml" || fail "merge: no times"
[ -f "$T/camp/default-s2/console.txt" ] || fail "merge: the campaign directory does not hold the runs"
echo "merge of 4 shards: the one run's FAIL lines byte for byte, its summary JSON and JUnit but for the times measured"

# a shard missing: its pairs named, exit 2
"$VM" merge --out "$T/camp2" "$T"/shard-0 "$T"/shard-2 "$T"/shard-3 >"$T/m2.out" 2>&1
rc=$?
miss=$(grep '^MISSING' "$T/m2.out" | grep -o '([^)]*)' | tr '\n' ' ')
[ $rc = 2 ] && [ "$miss" = "(nodelalloc-s1) (1k-s2) " ] ||
	{ cat "$T/m2.out"; fail "merge without shard 1: exit $rc, missing '$miss'"; }
# bad uses: one clear line, exit 2
for args in "--shard 4/4" "--shard /4" "--shard x"; do
	env -u JOB_COMPLETION_INDEX "$VM" check --from "$T/src" $args --out "$T/bad" >"$T/b.out" 2>&1; rc=$?
	[ $rc = 2 ] && [ "$(wc -l <"$T/b.out")" = 1 ] || { cat "$T/b.out"; fail "$args: exit $rc"; }
done
"$VM" merge --out "$T/camp3" "$T/src" >"$T/b.out" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "no campaign.json" "$T/b.out" || { cat "$T/b.out"; fail "merge of a non-shard dir: exit $rc"; }
echo "merge without shard 1 names its pairs (nodelalloc-s1, 1k-s2) and exits 2; bad --shard: exit 2"
