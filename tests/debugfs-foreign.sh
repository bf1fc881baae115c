#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/debugfs-foreign.sh - debugfs-ext runs the requests it does not know by the real
# debugfs (README, "Requests debugfs-ext does not know").  Guards against:
#  1. a debugfs request in a -f session seeing something other than what the model has
#     committed (stat/ex/bmap/testb/icheck/ncheck/ffb/lq/dump/ls after iomap_write, before
#     and after iomap_writeback), or the model losing its dirty state to it;
#  2. a debugfs write (sif, write, rm) running over dirty folios, or the model not reading
#     what it wrote (it would then allocate debugfs's blocks again: e2fsck sees them twice);
#     --writeback-before-foreign; -L refuses it; crash still writes nothing;
#  3. exit codes and output not passed through (-R execs debugfs; -f keeps its status);
#  4. the `debugfs` shim differing from the real debugfs on plain sessions: a dozen and more
#     ordinary requests through both, stdout, stderr, exit code, image and dumped file
#     compared byte for byte, as -f, interactive (stdin) and -R sessions.
set -u
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
DX=${DEBUGFS_EXT:-$top_builddir/debugfs-ext/debugfs-ext}
[ -x "$DX" ] || fail "$DX not built"
REAL=${DEBUGFS_PATH:-$DEBUGFS}
[ -x "$REAL" ] || skip "no debugfs at '$REAL' (configure --with-debugfs=PATH)"
export IOMAPCK_DEBUGFS=$REAL
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
OUT=$T/out

# dx OPTS... -- REQUEST...: one debugfs-ext -f session; stdout and stderr in $OUT (each
# request's lines before the next one's echo), status in RC.
dx() {
	local opts=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	printf '%s\n' "$@" | "$DX" "${opts[@]}" -f - >"$OUT" 2>&1
	RC=$?
}

# part N: the output of the Nth request of the last session (1-based; its echo left out).
part() {
	awk -v n="$1" '/^debugfs-ext: / && !/^debugfs-ext: (note|writing back)/ {i++; next} i == n' "$OUT"
}

# has N REGEX WHAT: request N's output matches REGEX.
has() {
	part "$1" | grep -Eq -- "$2" || { cat "$OUT"; fail "$3 (request $1: no /$2/)"; }
}
hasnt() {
	! part "$1" | grep -Eq -- "$2" || { cat "$OUT"; fail "$3 (request $1: /$2/)"; }
}

clean() {
	"$E2FSCK" -fn "$1" >"$T/fsck" 2>&1 || { cat "$T/fsck"; fail "e2fsck -fn not clean ($2)"; }
	"$E2FSCK_EXT" -E iomapcheck,iomap_only -fn "$1" >"$T/fsck" 2>&1 ||
		{ cat "$T/fsck"; fail "our checks not clean ($2)"; }
}

# ---- 1. what an iomap_write left, seen by debugfs in the same session ----
img=$T/q.img
mkimg "$img" 16M -b 4096 -O quota -E quotatype=usrquota:grpquota
dx -w "$img" -- \
	"iomap_write --create --mode nonda --uid 1000 /f 0 20000" \
	"stat /f" "ex /f" "bmap /f 0" "lq user" "dump /f $T/before" "ls -l /" \
	"iomap_write --create --uid 2000 /g 0 8192" "ex /g" "lq user" \
	"iomap_writeback" "ex /f" "lq user" "dump /f $T/after" "stat /f" "ncheck 12"
[ "$RC" = 0 ] || { cat "$OUT"; fail "session 1 exit $RC"; }
[ "$(grep -c 'dirty folios .* not on disk' "$OUT")" = 1 ] || { cat "$OUT"; fail "the dirty note is not said once"; }
has 2 'Size: 0$' "nonda before writeback: on-disk i_size 0"
has 2 '\(0-4\[u\]\)' "stat: five unwritten blocks"
has 3 '^ 0/ 0 .* 5 Uninit$' "ex: the unwritten extent before writeback"
pblk=$(part 4 | sed -n 's/^\([0-9][0-9]*\) (uninit)$/\1/p')
[ -n "$pblk" ] || { cat "$OUT"; fail "bmap: no uninit block"; }
has 5 '^ +1000 +20480 ' "lq: nonda charges uid 1000 at begin"
[ -f "$T/before" ] && [ ! -s "$T/before" ] || fail "dump before writeback is not empty (i_size 0)"
has 7 ' 1000 +0 +0 +[0-9].* f$' "ls -l: f owned by 1000, size 0"
hasnt 9 '[0-9] +[0-9]+ -' "ex /g: a da write has no extent before writeback"
has 10 '^ +2000 +0 ' "lq: a delalloc reservation is not charged on disk"
has 12 '^ 0/ 0 .* 5 $' "ex: written after iomap_writeback"
has 13 '^ +2000 +8192 ' "lq: uid 2000 charged at writeback"
has 15 'Size: 20000$' "stat: i_size after writeback"
has 16 "^12"$'\t'"/+f\$" "ncheck"
python3 - "$T/after" <<'PY' || fail "dump after writeback is not the pattern"
import sys
d = open(sys.argv[1], "rb").read()
assert len(d) == 20000 and all(b == ((o % 251) + (o // 4096)) & 255 for o, b in enumerate(d))
PY
# testb, icheck, ffb on the block the write allocated (a second, read-only session)
dx "$img" -- "testb $pblk" "icheck $pblk" "ffb 1 $pblk" "testb $((pblk + 1000))"
has 1 "Block $pblk marked in use" "testb"
has 2 "^$pblk"$'\t'"12\$" "icheck names inode 12"
hasnt 3 "Free blocks found: $pblk " "ffb skips the allocated block"
has 4 "not in use" "testb of a free block"
clean "$img" "after session 1"

# ---- 2. debugfs writes: refused over dirty folios, then seen by the model ----
# (no quota here: debugfs's write and rm change no quota file, and e2fsck would say so)
img=$T/w.img
mkimg "$img" 16M -b 4096
head -c 65536 /dev/urandom >"$T/host"
dx -w "$img" -- \
	"iomap_write --create /f 0 8192" "sif /f uid 5" "write $T/host /w" "stat /f" \
	"iomap_writeback" "write $T/host /w" "iomap_write --create --sync /n 0 65536"
[ "$RC" = 1 ] || { cat "$OUT"; fail "refused requests: exit $RC, not 1"; }
has 2 'sif: refused: 2 dirty folios and 2 reserved delalloc blocks are not on disk' "sif over dirty folios"
has 3 'write: refused: ' "write over dirty folios"
has 4 'User: +0 ' "the refused sif changed nothing"
has 6 'Allocated inode: 13' "write ran once clean"
hasnt 7 '.' "the model allocates around debugfs's file"
# without the remount the model would hand out /w's blocks again: e2fsck sees them twice
clean "$img" "debugfs write then iomap_write"
expect_content() {
	rm -f "$T/dump"
	"$REAL" -R "dump $1 $T/dump" "$img" >/dev/null 2>&1
	cmp -s "$T/dump" "$2" || fail "content of $1 differs"
}
expect_content /w "$T/host"
# the model reads the owner debugfs set: its next allocation is charged to uid 5
# (debugfs's sif moves no quota, so e2fsck would now disagree with uid 0's: not judged)
qimg=$T/q2.img
mkimg "$qimg" 16M -b 4096 -O quota -E quotatype=usrquota:grpquota
dx -w "$qimg" -- "iomap_write --create --sync /f 0 8192" "sif /f uid 5" \
	"iomap_write /f 8192 8192" "iomap_writeback" "lq user" "stat /f"
[ "$RC" = 0 ] || { cat "$OUT"; fail "sif session: exit $RC"; }
has 5 '^ +5 +8192 ' "uid 5 charged by the model after sif"
has 6 'User: +5 .*Size: 16384' "stat after the model's write"

# rm with --writeback-before-foreign: written back first, then removed, model agrees
dx -w --writeback-before-foreign "$img" -- \
	"iomap_write --create /r 0 40000" "rm /r" "iomap_map /r" "ls -l /"
[ "$RC" = 1 ] || { cat "$OUT"; fail "rm session: exit $RC, not 1 (iomap_map of a removed file)"; }
grep -q '^debugfs-ext: writing back 10 dirty folios before rm$' "$OUT" || { cat "$OUT"; fail "no writeback before rm"; }
has 3 'iomap_map: .*while looking up /r' "the model sees the removal"
hasnt 4 ' r$' "ls: /r gone"
has 4 ' n$' "ls: /n still there"
clean "$img" "rm after writeback"

# -L: a debugfs write would be missing from the log
dx -w -L "$T/log" "$img" -- "sif /f uid 6" "stat /f"
has 1 'refused: a write by debugfs would be missing from the log' "-L refuses debugfs writes"
has 2 'User: +0 ' "nothing written under -L"

# crash still writes nothing; debugfs before it sees the committed state only
dx -w "$img" -- "iomap_write --create /c 0 8192" "stat /c" "crash" "stat /c" "iomap_check"
[ "$RC" = 0 ] || { cat "$OUT"; fail "crash session exit $RC"; }
has 2 'Size: 0$' "stat before the crash: nothing on disk"
has 4 'Size: 0$' "stat after the crash: nothing written"
hasnt 4 '^\(0' "no extent after the crash"
clean "$img" "crash"

# open/close are not run (the session is about its image)
dx "$img" -- "close" "stat /c"
has 1 'close: not run' "close refused"
has 2 'Inode: ' "the session's image still open in debugfs"

# help and lr list both tables
"$DX" -R lr "$img" >"$OUT" 2>&1
grep -q '^iomap_write ' "$OUT" && grep -q '^show_inode_info, stat ' "$OUT" ||
	{ cat "$OUT"; fail "lr does not list both tables"; }
[ "$(grep -c '^list_requests' "$OUT")" = 1 ] || fail "lr lists libss's requests twice"

# ---- 3. exit codes pass through ----
for req in "stat /nonexistent" "bogus_request" "ls -l /" "testb 99999999"; do
	"$REAL" -R "$req" "$img" >"$T/r.out" 2>"$T/r.err"; want=$?
	"$DX" -R "$req" "$img" >"$T/s.out" 2>"$T/s.err"; got=$?
	[ "$got" = "$want" ] || fail "-R '$req': exit $got, debugfs $want"
	cmp -s "$T/r.out" "$T/s.out" && cmp -s "$T/r.err" "$T/s.err" || fail "-R '$req' output differs"
done
"$REAL" -R bogus "$img" >/dev/null 2>&1 && fail "the real debugfs exits 0 on an unknown request: test broken"

# ---- 4. the shim: plain debugfs sessions exactly as the real debugfs ----
mkdir "$T/shim"
ln -s "$DX" "$T/shim/debugfs"
base=$T/base.img
mkimg "$base" 8M -O quota -E quotatype=usrquota
printf 'hello\n' >"$T/h.txt"
dbg "$base" "write $T/h.txt a" "mkdir d"
cat >"$T/cmds" <<EOF
# ordinary requests
stats
ls -l /
stat /a

ex /a
bmap /a 0
testb 100
icheck 100
ncheck 12
ffb 3
lq user
cat /a
dump /a a.dump
bogus
mkdir /d/e
write $T/h.txt /w
sif /a uid 7
rm /a
ls -l /d
cd /d
pwd
EOF
# shim_vs_real NAME DEBUGFS-ARGS...: the same session through both; $T/cmds on stdin
shim_vs_real() {
	local name=$1 who; shift
	for who in real shim; do
		rm -rf "$T/w-$who"
		mkdir "$T/w-$who"
		cp "$base" "$T/w-$who/img"
		# the bytes are compared, so a sanitizer build must not add its leak report:
		# libss/readline (not instrumented) keep an interactive session's lines to exit
		(cd "$T/w-$who" && if [ $who = shim ]; then PATH=$T/shim:$PATH; else PATH=$(dirname "$REAL"):$PATH; fi
		 ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
			debugfs "$@" <"$T/cmds" >out 2>err; echo $? >rc)
	done
	for f in out err rc; do
		cmp -s "$T/w-real/$f" "$T/w-shim/$f" ||
			{ diff "$T/w-real/$f" "$T/w-shim/$f" | head -20; fail "shim $name: $f differs"; }
	done
	cmp -s "$T/w-real/img" "$T/w-shim/img" || fail "shim $name: images differ"
	[ -s "$T/w-real/out" ] || fail "shim $name: no output at all"
}
S=$T/w-shim
shim_vs_real "-f" -w -f - img
grep -q '^Block 100 marked in use' "$S/out" || fail "shim -f: testb output missing"
[ "$(cat "$S/rc")" = 1 ] || fail "shim -f: exit $(cat "$S/rc"), not 1 (one unknown request)"
cmp -s "$T/w-real/a.dump" "$S/a.dump" && [ -s "$S/a.dump" ] || fail "shim -f: dumped files differ"
[ "$(grep -c '^debugfs [0-9]' "$S/err")" = 1 ] || fail "shim -f: banner not printed once"
shim_vs_real "interactive" -w img
grep -q '^debugfs:  stat /a' "$S/out" || fail "shim interactive: no prompt"
shim_vs_real "-R" -R "stat /a" img
shim_vs_real "-c" -c -R "ls -l /" img
shim_vs_real "no image" -R "lr"
grep -q '^iomap_write' "$S/out" && fail "shim without an image is not the real debugfs"
# and the shim is still ours: debugfs -w -R "iomap_write ..." works
PATH=$T/shim:$PATH debugfs -w -R "iomap_write --create --sync /x 0 5000" "$S/img" >"$OUT" 2>&1 ||
	{ cat "$OUT"; fail "iomap_write through the shim"; }
"$REAL" -R "stat /x" "$S/img" 2>/dev/null | grep -q 'Size: 5000$' || fail "the shim's iomap_write left no file"
echo "debugfs-foreign: all checks passed"
