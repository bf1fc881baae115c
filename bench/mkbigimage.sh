#!/bin/bash
# mkbigimage.sh OUT.img - a large ext4 image for the benchmark: an 8 GiB sparse file,
# 200,000+ files of mixed sizes in 250 directories (made by mkfs.ext4 -d from a generated,
# seeded tree), plus unwritten extents (debugfs fallocate on 500 files), then e2fsck -fy so
# the image is clean.  Deterministic: same seed, same tree.
set -euo pipefail
out=${1:?usage: mkbigimage.sh OUT.img}
tree=$(mktemp -d "${TMPDIR:-/tmp}/ick-bigtree.XXXXXX")
trap 'rm -rf "$tree"' EXIT
t0=$(date +%s)
python3 - "$tree" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(20261125)
blob = bytes(rng.getrandbits(8) for _ in range(1 << 20))
for d in range(250):
    dp = os.path.join(root, "d%03d" % d)
    os.mkdir(dp)
    for f in range(820):
        r = rng.random()
        size = rng.randrange(0, 4096) if r < 0.6 else rng.randrange(4096, 65536) if r < 0.97 \
            else rng.randrange(1 << 17, 1 << 20)
        with open(os.path.join(dp, "f%04d" % f), "wb") as fh:
            fh.write(blob[:size])
PY
rm -f "$out"
mkfs.ext4 -q -F -b 4096 -N 300000 -d "$tree" "$out" 8G
{
	for d in $(seq 0 249); do
		printf 'fallocate /d%03d/f0001 64 95\nfallocate /d%03d/f0002 0 40\n' "$d" "$d"
	done
} | debugfs -w -f - "$out" >/dev/null 2>&1
e2fsck -fy "$out" >/dev/null 2>&1 || true
e2fsck -fn "$out" >/dev/null 2>&1 || { echo "image not clean after e2fsck -fy" >&2; exit 1; }
echo "made $out in $(( $(date +%s) - t0 )) s: $(debugfs -R stats "$out" 2>/dev/null | grep -E '^Inode count|^Free inodes|^Block count|^Free blocks' | tr '\n' ' ')"
