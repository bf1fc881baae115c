#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# same-output.sh - does a change leave the sweep's output alone?  Runs two builds'
# iomapck-replay on the same recorded logs and says which outputs differ, byte for byte.
#
#   tests/tools/same-output.sh OLD_BUILD NEW_BUILD RUNS_DIR [LOG BASE]...
#
# OLD_BUILD, NEW_BUILD: build trees (each with logreplay/iomapck-replay).  RUNS_DIR: an
# `iomapck-vm run --out DIR` directory (each CONFIG-sSEED/ with log.img, manifest.txt,
# crashed.img, recovered.img); "-" for none.  Each further LOG BASE pair is a log made
# elsewhere (bench/sweep.sh's way) and the image it starts from.
# Per log: --check fua with the manifest and --json, --check flush -v, --check every with
# --json, --jobs 2, and --compare-recovery with --json; only timings and temporary paths
# are normalised.  Exit 0 all the same, 1 any differs (each named), 2 bad usage.
set -u
[ $# -ge 3 ] && [ $(( ($# - 3) % 2 )) = 0 ] || {
	echo "usage: ${0##*/} OLD_BUILD NEW_BUILD RUNS_DIR|- [LOG BASE]..." >&2; exit 2; }
old=$1 new=$2 runs=$3
shift 3
for b in "$old" "$new"; do
	[ -x "$b/logreplay/iomapck-replay" ] || { echo "${0##*/}: no $b/logreplay/iomapck-replay" >&2; exit 2; }
done
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
norm() { sed -E 's/[0-9]+\.[0-9]+ ?(s|ms)\b/T \1/g'; }
# sweep BUILD OUT NAME LOG BASE|- MANIFEST|- CRASHED|- RECOVERED|-
sweep() {
	local rp=$1/logreplay/iomapck-replay o=$2 n=$3 log=$4 base=() man=()
	[ "$5" != - ] && base=(--base "$5")
	[ "$6" != - ] && man=(--manifest "$6")
	"$rp" --log "$log" "${base[@]}" --check fua --keep-going --json "$o/$n.fua.json" \
		"${man[@]}" >"$o/$n.fua.txt" 2>&1; echo "rc $?" >>"$o/$n.fua.txt"
	"$rp" --log "$log" "${base[@]}" --check flush --keep-going -v "${man[@]}" 2>&1 |
		norm >"$o/$n.flush.txt"; echo "rc ${PIPESTATUS[0]}" >>"$o/$n.flush.txt"
	"$rp" --log "$log" "${base[@]}" --check every --keep-going --json "$o/$n.every.json" \
		>"$o/$n.every.txt" 2>&1; echo "rc $?" >>"$o/$n.every.txt"
	"$rp" --log "$log" "${base[@]}" --check fua --keep-going --jobs 2 "${man[@]}" \
		--json "$o/$n.jobs.json" >"$o/$n.jobs.txt" 2>&1; echo "rc $?" >>"$o/$n.jobs.txt"
	if [ "$7" != - ]; then
		"$rp" --base "$7" --compare-recovery "$8" --json "$o/$n.rec.json" \
			>"$o/$n.rec.txt" 2>&1; echo "rc $?" >>"$o/$n.rec.txt"
	fi
}
all() {	# BUILD OUT [LOG BASE]...
	local b=$1 o=$2 d n i=0
	mkdir -p "$o"
	shift 2
	if [ "$runs" != - ]; then
		for d in "$runs"/*-s*/; do
			[ -f "$d/log.img" ] || continue
			n=$(basename "$d") m=-
			[ -s "$d/manifest.txt" ] && m=$d/manifest.txt
			sweep "$b" "$o" "$n" "$d/log.img" - "$m" "$d/crashed.img" "$d/recovered.img"
		done
	fi
	while [ $# -ge 2 ]; do
		i=$((i + 1))
		sweep "$b" "$o" "log$i" "$1" "$2" - - -
		shift 2
	done
}
all "$old" "$t/old" "$@"
all "$new" "$t/new" "$@"
files=0 differ=0
diff <(ls "$t/old") <(ls "$t/new") >"$t/lists" ||
	{ echo "DIFFERS: the outputs written (< old only, > new only):"; cat "$t/lists"; differ=1; }
for f in "$t/old"/*; do
	files=$((files + 1))
	cmp -s "$f" "$t/new/${f##*/}" || { echo "DIFFERS: ${f##*/}"; differ=$((differ + 1)); }
done
echo "same-output: $files outputs, $differ differ"
[ "$differ" = 0 ] && [ "$files" -gt 0 ]
