#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""sem.py IMG: what a file system says, for comparing two recoveries whose bytes may differ
where nothing is meant: every name (walked from the root), each inode's type, mode, links,
size, i_blocks, extent map and, for regular files, an md5 of the contents; each group's
free counts and free ranges.  Left out: times and i_version (the kernel's replay of a
name stamps the directory with the replay's time), checksums, and bytes in i_block past
the extent header's entries (the kernel keeps stale slots, e2fsck's rebuilt tree zeroes
them)."""
import hashlib, re, subprocess, sys

img = sys.argv[1]


def dbg(cmd):
    return subprocess.run(["debugfs", "-R", cmd, img], capture_output=True).stdout.decode(
        "latin-1")


def stat(ino):
    keep = []
    for line in dbg("stat <%d>" % ino).splitlines():
        if re.search(r"time:|Inode checksum|Version:", line):
            continue
        line = re.sub(r"Generation: \d+\s+", "", line)
        keep.append(line.strip())
    return keep


seen, out, todo = set(), [], [(2, "/")]
while todo:
    ino, path = todo.pop()
    if ino in seen:
        out.append("%s -> <%d>" % (path, ino))
        continue
    seen.add(ino)
    st = stat(ino)
    out.append("%s <%d>: %s" % (path, ino, " | ".join(st)))
    typ = next((l for l in st if l.startswith("Inode:")), "")
    if "directory" in typ:
        for line in dbg("ls -p <%d>" % ino).splitlines():
            f = line.split("/")
            if len(f) < 7 or f[5] in (".", "..") or not f[1].isdigit():
                continue
            todo.append((int(f[1]), path.rstrip("/") + "/" + f[5]))
    elif "regular" in typ:
        data = subprocess.run(["debugfs", "-R", "cat <%d>" % ino, img],
                              capture_output=True).stdout
        out.append("  md5 %s" % hashlib.md5(data).hexdigest())
for line in subprocess.run(["dumpe2fs", img], capture_output=True).stdout.decode(
        "latin-1").splitlines():
    line = line.strip()
    if re.match(r"(Free blocks|Free inodes|Group \d+:|\d+ free blocks)", line):
        out.append(line)
print("\n".join(out))
