#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tests/compare-model.sh - vm/compare-model (iomapck-vm compare-model) without a VM:
#  1. the translator: a wl script into debugfs-ext requests (da/non-da mode per config,
#     an mmap store as the pages it touches up to the size, truncate as a writeback +
#     debugfs punch + sif, O_DIRECT as a non-da write written back, zero range as punch +
#     fallocate, punch past EOF cut at the EOF block, the op log's seeded-only ops and
#     "enospc" results, bad scripts refused);
#  2. the whole comparison on a run directory whose "kernel" log is recorded by debugfs-ext
#     itself (-L, the same operations, log_mark at the script's marks), from a base image
#     made by mkfs: every mark "same", exit 0; the log with one extra fallocate before
#     fsync-2: exactly that range (and i_blocks) reported from fsync-2 on, exit 1;
#  3. the image comparer on two images differing in i_size, and delalloc left in a
#     model's iomap_map output detected; i_blocks less the extent tree blocks, the write order
#     of an epoch, quota rows and the model's "enospc" results parsed and compared;
#  4. bad input: one line, exit 2; no kernel: SKIP, exit 77.
. "$top_srcdir/tests/lib.sh"
command -v python3 >/dev/null || skip "no python3"
DFX=${DEBUGFS_EXT:-$top_builddir/debugfs-ext/debugfs-ext}
RP=${IOMAPCK_REPLAY:-$top_builddir/logreplay/iomapck-replay}
[ -x "$DFX" ] && [ -x "$RP" ] && [ -x "$E2FSCK_EXT" ] || fail "debugfs-ext, iomapck-replay or e2fsck-ext not built"
export IOMAPCK_DEBUGFS=${DEBUGFS_PATH:-$DEBUGFS} DEBUGFS_EXT="$DFX" IOMAPCK_REPLAY="$RP" E2FSCK_EXT
CM="python3 $top_srcdir/vm/compare-model"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

# ---- 1. the translator ----
cat >"$T/s.ops" <<'EOF'
# a comment
create /f
write /f 0 10000 1
fsync /f
mwrite /f 5000 100 3
truncate /f 9000
fsync /f
dwrite /f 0 4096 2
write /f 0 1 1
zero_range /f 1000 10000
punch /f 5000 100000
sfr /f
chown /f 1000 1001
projid /f 3
orphan-sync fdatasync
write /f 20000 100000 4 enospc = 4096
falloc /f 0 64m keep enospc = -ENOSPC
EOF
$CM translate --config iomap "$T/s.ops" >"$T/da.cmds" || fail "translate exit $?"
$CM translate --config iomap_nodelalloc "$T/s.ops" >"$T/nonda.cmds" || fail "translate exit $?"
grep -qx 'iomap_write --mode auto --seed 1 /f 0 10000' "$T/da.cmds" || fail "da write not translated"
grep -qx 'iomap_write --mode nonda --seed 1 /f 0 10000' "$T/nonda.cmds" || fail "non-da write not translated"
# the store 5000+100 touches page 1 (4096-8191), inside the size 10000
grep -qx 'iomap_write --mode auto --seed 3 /f 4096 4096' "$T/da.cmds" || fail "mwrite not the page it touches"
# truncate to 9000: block 2 (8192-12287) stays, blocks from 3 go
grep -qx 'punch /f 3' "$T/da.cmds" && grep -qx 'sif /f size 9000' "$T/da.cmds" || fail "truncate not translated"
n=$(grep -c '^# @@cm mark fsync-' "$T/da.cmds")
[ "$n" = 2 ] || fail "expected 2 marks, got $n"
# O_DIRECT: the non-da allocation, written back at once
grep -A1 -x 'iomap_write --mode nonda --seed 2 /f 0 4096' "$T/da.cmds" | grep -qx 'iomap_writeback /f' ||
	fail "dwrite not a non-da write + writeback"
# zero range 1000+10000 (size 10000 -> 11000): whole blocks 1-1 punched, then the range preallocated
grep -A2 -x 'punch /f 1 1' "$T/da.cmds" | grep -qx 'iomap_fallocate /f 1000 10000' || fail "zero_range"
# punch 5000+100000 past EOF (11000): cut at the end of block 2 (12288): block 2 only
grep -qx 'punch /f 2 2' "$T/da.cmds" || fail "punch past EOF not cut at the EOF block"
grep -qx 'sif /f uid 1000' "$T/da.cmds" && grep -qx 'sif /f gid 1001' "$T/da.cmds" &&
	grep -qx 'sif /f projid 3' "$T/da.cmds" || fail "chown/projid"
grep -qx '# @@cm mark fdatasync-3' "$T/da.cmds" || fail "orphan-sync not a mark"
[ "$(grep -c '^# @@cm result ' "$T/da.cmds")" = 2 ] || fail "enospc results not tagged"
grep -qx 'iomap_fallocate --keep-size /f 0 67108864' "$T/da.cmds" || fail "falloc enospc"
printf 'create /f\nwrite /g 0 1 1\n' >"$T/bad.ops"
$CM translate --config iomap "$T/bad.ops" >/dev/null 2>"$T/bad.err"; rc=$?
[ $rc = 2 ] && grep -q 'line 2: write: /g was not created' "$T/bad.err" || fail "bad script: rc $rc $(cat "$T/bad.err")"

# ---- 2. a whole comparison, the "kernel" recorded by debugfs-ext ----
mkimg "$T/base.img" 64M -T default
cat >"$T/run.ops" <<'EOF'
create /f
write /f 0 10000 1
fsync /f
falloc /f 100000 20000 keep
write /f 110000 5000 2
mwrite /f 5000 10 3
fsync /f
fsyncdir /
mark user-mark
EOF
# run DIR CONFIG MOUNT [EXTRA-REQUEST-BEFORE-fsync-2]: a run directory whose log the model
# itself wrote (from base.img: log_mark mkfs first, each script mark a log_mark)
mkrun() {
	local d=$1
	mkdir -p "$d"
	cp "$T/run.ops" "$d/script.ops"
	printf 'config=%s\nmount=%s\n' "$2" "$3" >"$d/meta.txt"
	$CM translate --config "$2" "$T/run.ops" >"$d/t.cmds" || fail "translate $2"
	{
		echo "log_mark mkfs"
		while IFS= read -r l; do
			case $l in
			"# @@cm mark fsync-2") [ -z "${4:-}" ] || echo "$4"; echo "log_mark fsync-2" ;;
			"# @@cm mark "*) echo "log_mark ${l#\# @@cm mark }" ;;
			"#"*) ;;
			*) echo "$l" ;;
			esac
		done <"$d/t.cmds"
	} >"$d/k.cmds"
	cp "$T/base.img" "$d/k.img"
	"$DFX" -w -L "$d/log.img" -f "$d/k.cmds" "$d/k.img" >"$d/k.out" 2>&1 || fail "debugfs-ext -L $2: $(tail -n2 "$d/k.out")"
	rm -f "$d/k.img"
}
for cfg in iomap:buffered_iomap iomap_nodelalloc:buffered_iomap,nodelalloc; do
	mkrun "$T/run-${cfg%%:*}" "${cfg%%:*}" "${cfg#*:}"
	cp "$T/base.img" "$T/base.copy"
	$CM --run "$T/run-${cfg%%:*}" --base "$T/base.img" --out "$T/w-${cfg%%:*}" >"$T/cmp.out" 2>&1; rc=$?
	cat "$T/cmp.out"
	[ $rc = 0 ] || fail "${cfg%%:*}: same operations not the same (rc $rc)"
	cmp -s "$T/base.img" "$T/base.copy" || fail "the base image was written"
	for m in fsync-1 fsync-2 dirsync-3; do
		grep -qx "$m: same (/f)" "$T/cmp.out" || fail "${cfg%%:*}: no '$m: same (/f)'"
	done
	grep -qx "user-mark: not compared (not a sync point)" "$T/cmp.out" || fail "user mark not reported"
done
# seeded: the "kernel" preallocated one more block range before fsync-2
off=200000 len=4096
mkrun "$T/run-seed" iomap_nodelalloc buffered_iomap,nodelalloc "iomap_fallocate --keep-size /f $off $len"
$CM --run "$T/run-seed" --base "$T/base.img" --out "$T/w-seed" >"$T/seed.out" 2>&1; rc=$?
cat "$T/seed.out"
[ $rc = 1 ] || fail "seeded difference: rc $rc, want 1"
lo=$((off / 4096)) hi=$(((off + len - 1) / 4096))
grep -qx 'fsync-1: same (/f)' "$T/seed.out" || fail "fsync-1 should be the same"
for m in fsync-2 dirsync-3; do
	grep -qx "$m: /f: blocks $lo-$hi: kernel unwritten, model hole" "$T/seed.out" ||
		fail "$m: the extra unwritten range $lo-$hi not reported"
	grep -q "^$m: /f: i_blocks: kernel [0-9]*, model [0-9]*$" "$T/seed.out" ||
		fail "$m: i_blocks difference not reported"
done
# a log without the script's marks: one line, exit 2
mkdir "$T/run-nomark"
cp "$T/run-seed/script.ops" "$T/run-seed/meta.txt" "$T/run-nomark/"
cp "$T/base.img" "$T/nm.img"
"$DFX" -w -L "$T/run-nomark/log.img" -R "log_mark mkfs" "$T/nm.img" >/dev/null 2>&1
$CM --run "$T/run-nomark" --base "$T/base.img" --out "$T/w-nm" >/dev/null 2>"$T/nm.err"; rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$T/nm.err")" = 1 ] && grep -q "no mark 'fsync-1'" "$T/nm.err" ||
	fail "log without marks: rc $rc: $(cat "$T/nm.err")"

# ---- 3. the image comparer, and delalloc left ----
cp "$T/w-iomap/model.img" "$T/a.img"
cp "$T/a.img" "$T/b.img"
$CM images "$T/a.img" "$T/b.img" /f >"$T/img.out"; rc=$?
[ $rc = 0 ] && [ "$(cat "$T/img.out")" = same ] || fail "equal images: rc $rc $(cat "$T/img.out")"
dbg "$T/b.img" "sif /f size 123"
$CM images "$T/a.img" "$T/b.img" /f >"$T/img.out"; rc=$?
size=$("$DEBUGFS" -R "stat /f" "$T/a.img" 2>/dev/null | sed -n 's/^User:.*Size: \([0-9]*\).*/\1/p')
[ $rc = 1 ] && grep -qx "/f: i_size: kernel $size, model 123" "$T/img.out" ||
	fail "i_size difference: rc $rc $(cat "$T/img.out")"
python3 - "$top_srcdir/vm/compare-model" <<'PY' || fail "delalloc left not reported"
import importlib.machinery, importlib.util, sys
ld = importlib.machinery.SourceFileLoader("cm", sys.argv[1])
cm = importlib.util.module_from_spec(importlib.util.spec_from_loader("cm", ld))
ld.exec_module(cm)
stat = "Inode: 12   Type: regular\nUser:     0   Group:     0   Size: 8192\nLinks: 1   Blockcount: 16\n"
ex = " 0/ 0   1/  1     0 -     1  1300 -  1301      2 \n"
k = cm.parse_file(stat + ex)
m = cm.parse_file("           0         8192  DELALLOC                  dirty 2 cookie 1\n" + stat + ex)
d = cm.compare_file("/f", k, m)
assert d == [("/f", "delalloc left after writeback", "-", "0+8192")], d
assert cm.compare_file("/f", k, cm.parse_file(stat + ex)) == []
# i_blocks: tree blocks are placement (and history); a difference in the data part is not
ex2 = " 0/ 1   1/  1     0 -     1  1557      2\n 1/ 1   1/  2     0 -     0  1300 -  1300      1 \n" \
      " 1/ 1   2/  2     1 -     1  1400 -  1400      1 \n"
k2 = cm.parse_file(stat.replace("Blockcount: 16", "Blockcount: 24") + ex2)
assert (k2["tree"], k2["leaves"], k2["phys"]) == (1, 2, [(1300, 1301), (1400, 1401)]), k2
assert cm.compare_file("/f", k2, m | {"delalloc": []}) == []
assert cm.compare_file("/f", k2 | {"blocks": 32}, m | {"delalloc": []}) == \
    [("/f", "i_blocks", 32, 16)]
# the order within an epoch: journal writes C, the file's data D, other writes left out
w = [(8 * 30, 8), (8 * 1300, 16), (8 * 501, 8)]
assert cm.order_of(w, 4096, [(1300, 1302)], [(500, 600)]) == "DC"
assert cm.order_of(w, 4096, [(1300, 1302)], None) == "CDC"
assert cm.order_kinds("CDC") == (True, True, True) and cm.order_kinds("C") is None
tr = ["  commit: allocate unwritten", "  data: ino 12 blocks 0+2 written", "  data: ino 13 x",
      "  commit: I/O end"]
assert cm.model_order(tr, 12) == "CDC" and cm.model_order(tr, 14) == "C"
# quota rows of debugfs lq, compared per id
lq = "debugfs-ext: lq user\n   user id      space    quota    limit      inodes    quota    limit\n" \
     "         0      23552        0        0           3        0        0\n" \
     "      1000       4096        0        0           1        0        0\ndebugfs-ext: stat /f\n" \
     "         7          1        0        0           1        0        0\n"
q = cm.parse_lq(lq)
assert q == {0: (23552, 3), 1000: (4096, 1)}, q
assert cm.compare_quota("user", q, {0: (23552, 3)}) == \
    [("quota user id 1000", "space", 4096, 0), ("quota user id 1000", "inodes", 1, 0)]
# the model's result of an "enospc" op, from its tagged part of the session
out = "# @@cm result 0\ndebugfs-ext: iomap_write --mode nonda --seed 2 /f 0 786432\n" \
      "iomap_write: short write: 524288 of 786432 bytes (inode 12, i_size 524288)\n" \
      "# @@cm result 1\ndebugfs-ext: iomap_write --mode nonda --seed 3 /g 0 16384\n" \
      "iomap_write: No space left on device after 0 of 16384 bytes (inode 13)\n" \
      "# @@cm result 2\ndebugfs-ext: iomap_fallocate --keep-size /fill 0 67108864\n" \
      "iomap_fallocate: No space left on device while allocating in /fill\n" \
      "# @@cm result 3\ndebugfs-ext: iomap_write --mode auto --seed 4 /g 0 100\n"
assert cm.session_results(out, 4) == ["524288", "-ENOSPC", "-ENOSPC", "100"], \
    cm.session_results(out, 4)
PY

# ---- 4. bad input, SKIP ----
$CM --run "$T/nowhere" >/dev/null 2>"$T/e.err"; rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$T/e.err")" = 1 ] || fail "no run dir: rc $rc"
$CM --script "$T/run.ops" --config iomap --kernel "$T/no-kernel" >"$T/skip.out"; rc=$?
[ $rc = 77 ] && grep -q '^SKIP: no kernel at' "$T/skip.out" || fail "no kernel: rc $rc, want 77"
echo "compare-model: translator, comparison and comparer ok"
