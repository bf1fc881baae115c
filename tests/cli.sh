#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# e2fsck-ext's command line: a transparent wrapper without iomapcheck, e2fsck's syntax for
# -E, exit bits ORed with e2fsck's, clear single-line errors with exit 8 / 16.
. "$top_srcdir/tests/lib.sh"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT; cd "$t" || exit 1
n=0
check() { # check WANT_RC DESCRIPTION CMD...
	local want=$1 what=$2; shift 2
	"$@" >out 2>err; local rc=$?
	[ "$rc" = "$want" ] || { cat out err; fail "$what: exit $rc, want $want"; }
	n=$((n + 1))
}
mkimg good.img 16M -b 4096
cp good.img bad.img; dbg bad.img "setb 3000 2"
# transparent: same exit code as e2fsck, same output
for img in good.img bad.img; do
	"$E2FSCK" -fn $img >want.out 2>&1; want=$?
	check $want "transparent on $img" "$E2FSCK_EXT" -fn $img
	diff <(cat out err | grep -v '^e2fsck 1') <(grep -v '^e2fsck 1' want.out) >/dev/null || fail "transparent output differs"
done
check 0 "-E iomapcheck then e2fsck on a clean image" "$E2FSCK_EXT" -E iomapcheck -fn good.img
grep -q "Pass 5" out || fail "e2fsck did not run after our checks"
check 4 "findings OR e2fsck's 4" "$E2FSCK_EXT" -fnE iomapcheck bad.img
check 4 "-Eiomapcheck glued" "$E2FSCK_EXT" -Eiomapcheck,iomap_only -fn bad.img
grep -q "Pass 1" out && fail "iomap_only ran e2fsck"
check 4 "other -E tokens pass through" "$E2FSCK_EXT" -E iomapcheck,fragcheck -fn bad.img
check 4 "JSON to stdout" "$E2FSCK_EXT" -E iomapcheck,iomap_only,iomap_json=- -fn bad.img
python3 -c 'import json,sys; d=json.load(open("out")); assert d["summary"]["exit"]==4 and d["findings"][0]["check"]=="bitmap"' || fail "bad JSON on stdout"
check 0 "iomap_checks selects" "$E2FSCK_EXT" -E iomapcheck,iomap_only,iomap_checks=size:unwritten -fn bad.img
check 16 "iomap_json without value" "$E2FSCK_EXT" -E iomapcheck,iomap_json -fn bad.img
check 16 "unknown check" "$E2FSCK_EXT" -E iomapcheck,iomap_checks=nope -fn bad.img
# iomap_poison: hex digits, an even number, 1 to 64 bytes; one line naming the option, then usage
check 0 "iomap_poison on a clean image" "$E2FSCK_EXT" -E iomapcheck,iomap_only,iomap_poison=a5c3e1 -fn good.img
check 0 "iomap_poison with 0x and iomap_checks=stale" "$E2FSCK_EXT" -E iomapcheck,iomap_only,iomap_poison=0xDEADbeef,iomap_checks=stale -fn good.img
for bad in zz abc 0x "$(printf 'ab%.0s' $(seq 65))"; do
	check 16 "iomap_poison=$bad" "$E2FSCK_EXT" -E iomapcheck,iomap_only,iomap_poison=$bad -fn good.img
	head -1 err | grep -q "^e2fsck-ext: bad iomap_poison '" || { cat err; fail "iomap_poison=$bad message"; }
done
check 16 "iomap_poison without value" "$E2FSCK_EXT" -E iomapcheck,iomap_poison= -fn good.img
head -1 err | grep -q "iomap_poison needs a value" || { cat err; fail "empty iomap_poison message"; }
check 16 "iomap_checks=stale without iomap_poison" "$E2FSCK_EXT" -E iomapcheck,iomap_checks=stale -fn good.img
head -1 err | grep -q "iomap_checks=stale needs iomap_poison" || { cat err; fail "stale without poison message"; }
check 16 "two devices" "$E2FSCK_EXT" -E iomapcheck,iomap_only -fn bad.img good.img
head -c 1048576 /dev/zero >zero.img
check 8 "not ext" "$E2FSCK_EXT" -E iomapcheck,iomap_only -fn zero.img
[ "$(wc -l <err)" = 1 ] && grep -q "Not an ext2/ext3/ext4 file system" err || { cat err; fail "not-ext message"; }
if command -v mkfs.xfs >/dev/null || [ -x /usr/sbin/mkfs.vfat ]; then :; fi
mkimg big.img 64M -O bigalloc -C 16384
check 0 "bigalloc checked (no longer refused)" "$E2FSCK_EXT" -E iomapcheck,iomap_only -fn big.img
check 8 "missing image" "$E2FSCK_EXT" -E iomapcheck,iomap_only -fn nonexistent.img
[ "$(wc -l <err)" = 1 ] || { cat err; fail "more than one error line"; }
# the shim: an `e2fsck` that is e2fsck-ext, first on PATH (what `make install-shim` installs)
mkdir shim && ln -s "$E2FSCK_EXT" shim/e2fsck
PATH="$PWD/shim:$PATH" check 4 "shim with iomapcheck" e2fsck -E iomapcheck,iomap_only -fn bad.img
grep -q "iomapck" out || fail "shim did not run our checks"
PATH="$PWD/shim:$PATH" check 0 "shim transparent" e2fsck -fn good.img
# fsck(8): util-linux fsck runs fsck.ext4 from PATH.  It takes any word with '=' for a device
# (LABEL=...), a word after -E for a device too, and strips its own option letters (l, s, ...)
# out of option words ("-Eiomap_only" reaches us as "-Eiomap_ony"), so our sub-options come
# from IOMAPCK_OPTIONS (relative paths in them are the caller's).  fsck(8) itself wants an image named by an absolute path: a
# relative name is looked up in fstab, not found, and fsck(8) exits 0 having run nothing.
if command -v fsck >/dev/null; then
	ln -s "$E2FSCK_EXT" shim/fsck.ext4
	PATH="$PWD/shim:$PATH" IOMAPCK_OPTIONS=iomapcheck,iomap_only,iomap_json=r.json \
		check 4 "fsck(8) with IOMAPCK_OPTIONS" fsck -t ext4 -nf "$PWD/bad.img"
	python3 -c 'import json,sys; d=json.load(open("r.json")); sys.exit(0 if d["findings"] else 1)' ||
		fail "fsck(8) + IOMAPCK_OPTIONS: no findings in r.json"
	PATH="$PWD/shim:$PATH" IOMAPCK_OPTIONS=iomapcheck check 0 "fsck(8) clean" \
		fsck -t ext4 -nf "$PWD/good.img"
	grep -q "iomapck" out || fail "fsck(8) + IOMAPCK_OPTIONS=iomapcheck did not run our checks"
	IOMAPCK_OPTIONS=iomapcheck,fragcheck check 16 "e2fsck's option in IOMAPCK_OPTIONS" \
		"$E2FSCK_EXT" -fn good.img
	grep -q "IOMAPCK_OPTIONS: 'fragcheck'" err || { cat err; fail "IOMAPCK_OPTIONS error not named"; }
	IOMAPCK_OPTIONS=iomap_json=x.json check 4 "command line wins over IOMAPCK_OPTIONS" \
		"$E2FSCK_EXT" -E iomapcheck,iomap_only,iomap_json=y.json -fn bad.img
	[ -s y.json ] && [ ! -e x.json ] || fail "IOMAPCK_OPTIONS value not overridden"
else
	echo "note: fsck(8) not installed, its part skipped"
fi
echo "PASS: $n command lines"
