#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Every image of e2fsprogs' test suite (../shared/corpus/e2fsprogs) whose features include
# quota, through our quota check: our verdict — which types and ids are inconsistent, with
# e2fsck's figures, or which files are malformed — must equal the installed e2fsck -fn's
# (its text warnings and problem 0x060002 in its problem_log), and "consistent or not" must
# equal ORACLE.tsv's quota_issue column.  No sanitizer report, 30 s per image.  Prints SKIP
# (exit 77) where the shared corpus is absent, as on a user's machine.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cases/quota-lib.sh"
corpus=${ICK_CORPUS:-$top_srcdir/../shared/corpus}/e2fsprogs
[ -f "$corpus/ORACLE.tsv" ] || skip "no e2fsprogs corpus at $corpus (only in the project's workspace)"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
cd "$t" || exit 1
ok=0 bad=0 n=0
while IFS=$'\t' read -r test features e2rc _ _ quota_issue _; do
	case " $features " in *" quota "*) ;; *) continue ;; esac
	n=$((n + 1))
	img=$t/$test.img
	if [ -f "$corpus/$test/image.gz" ]; then gzip -dc "$corpus/$test/image.gz" >"$img"
	elif [ -f "$corpus/$test/image.bz2" ]; then bzip2 -dc "$corpus/$test/image.bz2" >"$img"
	else echo "FAIL $test: no image"; bad=$((bad + 1)); continue; fi
	timeout 30 "$E2FSCK_EXT" -E "iomapcheck,iomap_only,iomap_checks=quota,iomap_json=$t/out.json" \
		-fn "$img" >"$t/out.txt" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ] || grep -q -e Sanitizer -e 'runtime error' "$t/out.txt"; then
		echo "FAIL $test: exit $rc"; sed 's/^/    /' "$t/out.txt" | tail -20; bad=$((bad + 1)); continue
	fi
	ours=$(q_ours_verdict "$t/out.json")
	mounted=0
	if grep -q -e '"JOURNAL_ORPHAN"' -e '"note": "journal: recovered' "$t/out.json"; then
		# we judged the view a mount gives (journal recovered, orphans released): so is
		# e2fsck, on a copy it brought there with -E journal_only -y
		mounted=1
		cp "$img" "$t/mounted.img"
		"$E2FSCK" -E journal_only -y "$t/mounted.img" >/dev/null 2>&1
		theirs=$(q_e2fsck_verdict "$t/mounted.img")
		rm -f "$t/mounted.img"
	else
		theirs=$(q_e2fsck_verdict "$img")
	fi
	verdict=0; [ -n "$ours" ] && verdict=1
	if [ "$ours" != "$theirs" ]; then
		echo "FAIL $test: ours [${ours//$'\n'/; }] e2fsck [${theirs//$'\n'/; }]"; bad=$((bad + 1))
	elif [ "$mounted" = 0 ] && [ "$verdict" != "$quota_issue" ]; then
		echo "FAIL $test: our verdict $verdict, ORACLE.tsv quota_issue $quota_issue"; bad=$((bad + 1))
	else
		echo "agree $test$([ $mounted = 1 ] && echo ' (mounted view)'): ${ours:-consistent}" | tr '\n' ';' | sed 's/;$/\n/'; ok=$((ok + 1))
	fi
	rm -f "$img"
done < <(tail -n +2 "$corpus/ORACLE.tsv")
echo "quota corpus: $n images with quota, $ok agree, $bad failed"
[ "$n" -gt 0 ] || fail "no image with quota in ORACLE.tsv"
[ "$bad" -eq 0 ]
