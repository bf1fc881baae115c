#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Journal recovery against the installed e2fsck: the scenarios are case folders now,
# tests/cases/j_<scenario>/ (a script building fs.img with tests/journal/lib-journal.sh,
# judged by tests/journal/lib-recovery.sh, and the expected output), run by
# tests/cases/run-cases.sh with the other cases.  This runs only those, for work on the
# journal code: `tests/journal/recovery.sh [SCENARIO...]` (or JOURNAL_ONLY="a b"), from
# the build tree or with top_srcdir/top_builddir set.  Exit 0 when all pass, 77 when all
# were skipped, 1 otherwise.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}" "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
only=${*:-$JOURNAL_ONLY}
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
n=0 failed= skipped=0
for dir in "$top_srcdir"/tests/cases/j_*/; do
	s=$(basename "$dir"); s=${s#j_}
	grep -q 'lib-recovery.sh' "$dir/script" || continue
	case " ${only:-$s} " in *" $s "*) ;; *) continue ;; esac
	mkdir "$t/$s"
	( cd "$t/$s" && CASE_DIR="$dir" bash "$dir/script" ) >"$t/$s.out" 2>&1
	case $? in
	0) n=$((n + 1)); grep -e '^-- ' -e '^   ' "$t/$s.out" ;;
	77) skipped=$((skipped + 1)); grep -m1 '^SKIP:' "$t/$s.out" ;;
	*) n=$((n + 1)); failed="$failed $s"; sed 's/^/    /' "$t/$s.out" | tail -40 ;;
	esac
done
nf=$(echo $failed | wc -w)
echo "journal recovery: $n scenarios, $((n - nf)) passed${failed:+, failed:$failed}, $skipped skipped"
[ -z "$failed" ] || exit 1
[ $n -gt 0 ] || exit 77
