#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# mkbigimage.sh - build the large ext4 image used by bench/check-vs-e2fsck.sh.
#
# What it makes (deterministic: a seeded generator, fixed UUID and hash seed):
#   * an 8 GiB sparse image file, 4 KiB blocks, the installed mke2fs's default features;
#   * ~210,000 regular files in 200 leaf directories (20 x 10, 1,050 files each, so every
#     leaf is an htree directory), plus a few symlinks and hard links per directory;
#     sizes: mostly 0-16 KiB, some 16-100 KiB, ~2.5% 100 KiB-4 MiB of which most are
#     sparse (a written head, or scattered 4 KiB pieces = multi-level extent trees,
#     then a hole up to the size), so ~1.5 GiB of real data for ~6 GiB of file sizes;
#   * made with `mkfs.ext4 -d TREE` (holes stay holes), then unwritten extents added by
#     `debugfs -w` `fallocate` on 400 files (inside holes, between scattered pieces,
#     past EOF, and two ranges longer than an unwritten extent can be);
#   * then `e2fsck -fy` once (debugfs can leave summary counts stale) and `e2fsck -fn`
#     must exit 0, else the script fails.
# Cache: OUT.img.stamp records the script's version and checksum; if it matches and
# OUT.img exists, the image is reused (use -f to rebuild).  The build goes to a temporary
# name next to OUT.img and is renamed only when clean.
set -euo pipefail

VERSION=2
prog=${0##*/}

usage() {
	cat <<EOF
usage: $prog [-f] OUT.img

Build (or reuse, if OUT.img.stamp matches this script) an 8 GiB sparse ext4 image with
~210k files and some unwritten extents, clean per e2fsck.  Needs mkfs.ext4, debugfs,
e2fsck (e2fsprogs) and python3; ~2.1 GiB of real disk for the image, plus ~2.5 GiB
for a temporary source tree: in \$MKBIGIMAGE_TMPDIR if set, else in /dev/shm if it
and RAM have room, else next to OUT.img.  Takes ~1-2 minutes on 2 cores.

  -f    rebuild even if a matching cached image exists
  -h    this help
EOF
}

force=0
while getopts ":fh" opt; do
	case $opt in
	f) force=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { usage >&2; exit 2; }
out=$1

for t in python3 mkfs.ext4 debugfs e2fsck; do
	command -v "$t" >/dev/null 2>&1 || PATH=$PATH:/sbin:/usr/sbin
	command -v "$t" >/dev/null 2>&1 || { echo "$prog: needs $t" >&2; exit 1; }
done

stamp=$out.stamp
want="mkbigimage.sh v$VERSION $(sha256sum <"${BASH_SOURCE[0]}" | cut -c1-16)"
if [ "$force" = 0 ] && [ -f "$out" ] && [ -f "$stamp" ] && [ ! "$out" -nt "$stamp" ] && [ "$(head -n1 "$stamp")" = "$want" ]; then
	echo "$prog: reusing $out (stamp matches: $want)"
	sed -n '2,$p' "$stamp"
	exit 0
fi

outdir=$(dirname "$out")
mkdir -p "$outdir"
# The source tree (~2.5 GiB of pages: 210k small files) goes to /dev/shm when it and RAM
# have room: creating and above all deleting 210k files on a disk is slow (minutes with
# online discard), on tmpfs it takes seconds.
tmpbase=${MKBIGIMAGE_TMPDIR:-}
if [ -z "$tmpbase" ]; then
	tmpbase=$outdir
	shm_kib=$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2{print $4}') || shm_kib=0
	mem_kib=$(awk '/^MemAvailable:/{print $2}' /proc/meminfo 2>/dev/null) || mem_kib=0
	if [ "${shm_kib:-0}" -gt $((4 << 20)) ] && [ "${mem_kib:-0}" -gt $((8 << 20)) ]; then
		tmpbase=/dev/shm
	fi
fi
work=$(mktemp -d "$tmpbase/.mkbigimage.XXXXXX")
tmpimg=$out.tmp.$$
cleanup() { rm -rf "$work" "$tmpimg"; }
trap cleanup EXIT
rm -f "$stamp"

now() { date +%s.%N; }
since() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$(now)"; }
t0=$(now)

# ---- 1. the source tree, the debugfs commands and the list of fallocated files ----------
t=$(now)
python3 - "$work/tree" "$work/fallocate.cmds" "$work/fallocated.list" "$work/gen.stats" <<'PY'
import math, os, random, sys

root, cmds_path, list_path, stats_path = sys.argv[1:5]
rng = random.Random(20261125)          # the seed: change it and VERSION together
BS = 4096
MTIME = 1764000000                     # fixed timestamps, so the tree is deterministic
TOP, SUB, PER_DIR = 20, 10, 1050       # 200 leaf directories x 1050 files

blob = rng.randbytes(8 << 20)          # random data, sliced at random offsets

def data(n):
    off = rng.randrange(0, len(blob) - n) if n < len(blob) else 0
    return blob[off:off + n]

def logu(lo, hi):
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))

written = 0           # bytes of real data
apparent = 0          # sum of file sizes
nfiles = nlinks = nsyml = 0
kinds = {}
sparse_head, scattered, dense, small = [], [], [], []

os.mkdir(root)
for top in range(TOP):
    tp = os.path.join(root, "t%02d" % top)
    os.mkdir(tp)
    for sub in range(SUB):
        rel = "t%02d/s%d" % (top, sub)
        dp = os.path.join(root, rel)
        os.mkdir(dp)
        for i in range(PER_DIR):
            name = "f%04d" % i
            path = os.path.join(dp, name)
            r = rng.random()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            if r < 0.12:                              # empty
                kind, size = "empty", 0
            elif r < 0.70:                            # 1 B - 4 KiB
                kind, size = "tiny", rng.randrange(1, BS + 1)
                os.write(fd, data(size)); written += size
            elif r < 0.925:                           # 4-16 KiB
                kind, size = "small", logu(BS + 1, 16 << 10)
                os.write(fd, data(size)); written += size
            elif r < 0.975:                           # 16-100 KiB
                kind, size = "medium", logu(16 << 10, 100 << 10)
                os.write(fd, data(size)); written += size
            else:                                     # 100 KiB - 4 MiB
                q = rng.random()
                if q < 0.45:                          # written head, hole to EOF
                    kind, size = "sparse_head", logu(100 << 10, 4 << 20)
                    head = rng.randrange(1, 16) * BS
                    os.write(fd, data(head)); written += head
                    os.ftruncate(fd, size)
                    sparse_head.append((rel + "/" + name, head // BS, (size + BS - 1) // BS))
                elif q < 0.80:                        # scattered 4 KiB pieces
                    kind, size = "scattered", logu(256 << 10, 4 << 20)
                    nblk = size // BS
                    pieces = min(rng.randrange(5, 41), nblk // 2)
                    stride = nblk // pieces
                    for p in range(pieces):
                        os.pwrite(fd, data(BS), p * stride * BS)
                    written += pieces * BS
                    os.ftruncate(fd, size)
                    scattered.append((rel + "/" + name, stride, pieces, (size + BS - 1) // BS))
                else:                                 # fully written
                    kind, size = "dense", rng.randrange(100 << 10, 400 << 10)
                    os.write(fd, data(size)); written += size
                    dense.append((rel + "/" + name, (size + BS - 1) // BS))
            if kind in ("tiny", "small"):
                small.append((rel + "/" + name, (size + BS - 1) // BS))
            os.utime(fd, (MTIME, MTIME))
            os.close(fd)
            kinds[kind] = kinds.get(kind, 0) + 1
            apparent += size
            nfiles += 1
        # a few links per directory: short (fast) and long (block) symlinks, hard links
        os.symlink("f0000", os.path.join(dp, "ln-short"))
        os.symlink("../" * 2 + rel + "/" + "x" * 80 + "/../f0001", os.path.join(dp, "ln-long"))
        os.link(os.path.join(dp, "f0002"), os.path.join(dp, "hl-f0002"))
        os.link(os.path.join(dp, "f0003"), os.path.join(root, "t%02d" % top, "hl-s%d-f0003" % sub))
        nsyml += 2; nlinks += 2
        os.utime(dp, (MTIME, MTIME))
    os.utime(tp, (MTIME, MTIME))

# ---- unwritten extents (debugfs fallocate FILE START_BLK END_BLK, inclusive) ----------
cmds, fl = [], []
def fa(path, a, b, why):
    cmds.append("fallocate /%s %d %d" % (path, a, b))
    fl.append("%s %s" % (why, path))

pick = lambda lst, n: [lst[i] for i in sorted(rng.sample(range(len(lst)), min(n, len(lst))))]
for path, headb, nblk in pick(sparse_head, 150):          # inside the hole, below EOF
    if nblk - headb < 4:
        continue
    a = rng.randrange(headb, nblk - 2)
    b = rng.randrange(a, nblk - 1)
    fa(path, a, b, "in-hole")
for path, stride, pieces, nblk in pick(scattered, 100):   # across pieces: many extents
    a = rng.randrange(0, stride)
    b = min(nblk - 1, a + stride * rng.randrange(2, pieces + 1))
    fa(path, a, b, "across-pieces")
for path, nblk in pick(small, 100):                       # past EOF (KEEP_SIZE style)
    a = nblk + rng.randrange(0, 4)
    fa(path, a, a + rng.randrange(0, 64), "past-eof")
for path, nblk in pick(dense, 48):                        # from inside to past EOF
    a = rng.randrange(0, nblk)
    fa(path, a, nblk + rng.randrange(1, 512), "straddle-eof")
for path, nblk in pick(dense, 2):                         # longer than 32767 blocks
    fa(path, nblk + 8, nblk + 8 + 40000, "long")

with open(cmds_path, "w") as f:
    f.write("\n".join(cmds) + "\n")
with open(list_path, "w") as f:
    f.write("\n".join(fl) + "\n")
with open(stats_path, "w") as f:
    f.write("tree: %d regular files (%s), %d symlinks, %d extra hard links, "
            "%d directories; %.2f GiB written, %.2f GiB apparent; %d fallocate commands\n"
            % (nfiles, ", ".join("%s %d" % kv for kv in sorted(kinds.items())), nsyml, nlinks,
               TOP * SUB + TOP + 1, written / 2**30, apparent / 2**30, len(cmds)))
PY
cat "$work/gen.stats"
echo "  tree generated in $(since "$t") s"

# ---- 2. mkfs.ext4 -d ------------------------------------------------------------------
t=$(now)
rm -f "$tmpimg"
truncate -s 8G "$tmpimg"
mkfs.ext4 -q -F -b 4096 -L iomapck-big \
	-U 3b1c0e0a-5a1e-4c4b-9d6b-1b16a5e0b001 \
	-E lazy_itable_init=1,lazy_journal_init=1,hash_seed=3b1c0e0a-5a1e-4c4b-9d6b-1b16a5e0b002 \
	-d "$work/tree" "$tmpimg"
echo "  mkfs.ext4 -d in $(since "$t") s"
t=$(now)
rm -rf "$work/tree" &    # deleting 210k files takes a while; overlap it
rmpid=$!

# ---- 3. unwritten extents ---------------------------------------------------------------
debugfs -w -f "$work/fallocate.cmds" "$tmpimg" >"$work/debugfs.log" 2>&1 ||
	{ echo "$prog: debugfs failed:" >&2; tail -20 "$work/debugfs.log" >&2; exit 1; }
if grep -v '^debugfs' "$work/debugfs.log" | grep -q .; then
	echo "$prog: debugfs complained:" >&2
	grep -v '^debugfs' "$work/debugfs.log" | head -20 >&2
	exit 1
fi
echo "  debugfs fallocate in $(since "$t") s"

# ---- 4. e2fsck -fy once, then it must be clean -------------------------------------------
t=$(now)
rc=0; e2fsck -fy "$tmpimg" >"$work/fsck-fy.log" 2>&1 || rc=$?
if [ "$rc" -ge 4 ]; then
	echo "$prog: e2fsck -fy exit $rc:" >&2; tail -30 "$work/fsck-fy.log" >&2; exit 1
fi
fixed=$(grep -cE 'Fix\? yes|count wrong' "$work/fsck-fy.log" || true)
echo "  e2fsck -fy in $(since "$t") s: exit $rc, $fixed fix(es)"
t=$(now)
rc=0; e2fsck -fn "$tmpimg" >"$work/fsck-fn.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "$prog: NOT CLEAN: e2fsck -fn exit $rc after e2fsck -fy:" >&2
	tail -30 "$work/fsck-fn.log" >&2
	exit 1
fi
echo "  e2fsck -fn in $(since "$t") s: exit 0"

# ---- 5. stats -----------------------------------------------------------------------------
t=$(now)
summary=$(grep -E ' files .* blocks$' "$work/fsck-fn.log" | sed "s|$tmpimg|$out|")
sed 's|^\([a-z-]*\) \(.*\)|ex /\2|' "$work/fallocated.list" >"$work/ex.cmds"
debugfs -f "$work/ex.cmds" "$tmpimg" >"$work/ex.log" 2>&1
unwritten=$(grep -cE ' Uninit *$' "$work/ex.log" || true)
ufiles=$(awk '/^debugfs: ex /{f=$3} / Uninit *$/{u[f]=1} END{print length(u)}' "$work/ex.log")
wait "$rmpid" || true
echo "  stats and tree removal in $(since "$t") s"

mv -f "$tmpimg" "$out"
{
	echo "$want"
	cat "$work/gen.stats"
	echo "image: $summary"
	echo "image: $unwritten unwritten extents in $ufiles files (counted with debugfs ex on every fallocated file; mkfs -d makes none)"
	echo "image: $(du -h --apparent-size "$out" | cut -f1) apparent, $(du -h "$out" | cut -f1) on disk; made $(date -u +%FT%TZ) in $(since "$t0") s"
} >"$stamp"
grep '^image:' "$stamp"
echo "$prog: made $out in $(since "$t0") s"
