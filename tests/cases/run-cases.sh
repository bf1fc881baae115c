#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs every tests/cases/<prefix>_<name>/script (prefixes: c_ check, q_ quota, w_ write path,
# l_ log, j_ journal).  A script exits 0 (pass), 77 (skip, with a SKIP: line giving the
# reason) or anything else (fail).  Prints one summary line; exits 1 if any failed, 77 if
# all were skipped.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
export top_srcdir
pass=0 failn=0 skipn=0 failed=
work=${TMPDIR:-/tmp}/iomapck-cases.$$
mkdir -p "$work"
for dir in "$here"/*_*/; do
	name=$(basename "$dir")
	[ -f "$dir/script" ] || continue
	t="$work/$name"; mkdir -p "$t"
	( cd "$t" && CASE_DIR="$dir" bash "$dir/script" ) >"$t/out" 2>&1
	rc=$?
	case $rc in
	0) pass=$((pass + 1)); echo "PASS: $name" ;;
	77) skipn=$((skipn + 1)); echo "SKIP: $name ($(grep -m1 '^SKIP:' "$t/out" | cut -c7-))" ;;
	*) failn=$((failn + 1)); failed="$failed $name"; echo "FAIL: $name"; sed 's/^/    /' "$t/out" | tail -40 ;;
	esac
done
echo "cases: $pass passed, $failn failed, $skipn skipped"
[ "$failn" -eq 0 ] && rm -rf "$work"
[ "$failn" -ne 0 ] && exit 1
[ "$pass" -eq 0 ] && [ "$skipn" -gt 0 ] && exit 77
exit 0
