#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""jcompare.py OURS THEIRS [ALLOW...] - compare two images block by block.

Every block must be identical except the bytes ALLOW names, each "sb:FIELD" (a field of
the primary ext4 superblock) or "jsb:FIELD" (of the journal superblock, found through
THEIRS's journal inode).  Prints each differing block with what it is (jtool classify) and,
for the two superblocks, the names of the fields that differ.  Exits 1 if anything differs
outside ALLOW, 0 otherwise (the allowed differences are still printed, once each).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jtool  # noqa: E402

# primary superblock fields (offset, length) e2fsck may touch (little-endian)
SB = {"s_free_blocks_count": (0x0C, 4), "s_free_inodes_count": (0x10, 4),
      "s_mtime": (0x2C, 4), "s_wtime": (0x30, 4), "s_mnt_count": (0x34, 2),
      "s_state": (0x3A, 2), "s_lastcheck": (0x40, 4), "s_feature_compat": (0x5C, 4),
      "s_feature_incompat": (0x60, 4), "s_feature_ro_compat": (0x64, 4),
      "s_last_orphan": (0xE8, 4), "s_free_blocks_hi": (0x158, 4),
      "s_kbytes_written": (0x178, 8), "s_error_count": (0x194, 4),
      "s_first_error_time": (0x198, 4), "s_last_error_time": (0x1CC, 4),
      "s_mtime_hi": (0x274, 1), "s_wtime_hi": (0x275, 1), "s_lastcheck_hi": (0x277, 1),
      "s_checksum": (0x3FC, 4)}
# journal superblock fields (big-endian)
JSB = {"s_header": (0x0, 12), "s_blocksize": (0xC, 4), "s_maxlen": (0x10, 4),
       "s_first": (0x14, 4), "s_sequence": (0x18, 4), "s_start": (0x1C, 4),
       "s_errno": (0x20, 4), "s_feature_compat": (0x24, 4), "s_feature_incompat": (0x28, 4),
       "s_feature_ro_compat": (0x2C, 4), "s_uuid": (0x30, 16), "s_nr_users": (0x40, 4),
       "s_checksum_type": (0x50, 1), "s_num_fc_blks": (0x54, 4), "s_checksum": (0xFC, 4)}


def fields(table, a, b, base):
    names, covered = [], set()
    for name, (off, ln) in sorted(table.items(), key=lambda x: x[1]):
        if a[base + off:base + off + ln] != b[base + off:base + off + ln]:
            names.append(name)
        covered |= set(range(base + off, base + off + ln))
    other = [i - base for i in range(len(a)) if a[i] != b[i] and i not in covered]
    if other:
        names.append("bytes " + ",".join("0x%x" % o for o in other[:8]))
    return names


def describe(table, a, b, base, be):
    out = []
    for name in fields(table, a, b, base):
        if name.startswith("bytes"):
            out.append(name)
            continue
        off, ln = table[name]
        order = "big" if be else "little"
        out.append("%s %s->%s" % (name, hex(int.from_bytes(b[base + off:base + off + ln], order)),
                                  hex(int.from_bytes(a[base + off:base + off + ln], order))))
    return out


def main():
    ours, theirs = sys.argv[1], sys.argv[2]
    allow = sys.argv[3:]
    a, b = open(ours, "rb").read(), open(theirs, "rb").read()
    img = jtool.Image(theirs)
    bs = img.bs
    if len(a) != len(b):
        print("  sizes differ: ours %d bytes, theirs %d (%d blocks of %d)" %
              (len(a), len(b), len(b) // bs, bs))
    sbblk = 0 if bs > 1024 else 1
    sboff = 1024 - sbblk * bs
    jsbblk = img.jmap().get(0)
    ok = set()
    for name in allow:
        kind, field = name.split(":")
        if kind == "sb":
            off, ln = SB[field]
            ok |= set(range(sbblk * bs + sboff + off, sbblk * bs + sboff + off + ln))
        else:
            off, ln = JSB[field]
            ok |= set(range(jsbblk * bs + off, jsbblk * bs + off + ln))
    n = min(len(a), len(b)) // bs
    bad = 0
    for blk in range(n):
        x, y = a[blk * bs:(blk + 1) * bs], b[blk * bs:(blk + 1) * bs]
        if x == y:
            continue
        diff = [blk * bs + i for i in range(bs) if x[i] != y[i]]
        unallowed = [i for i in diff if i not in ok]
        what = jtool.classify(img, blk)
        if blk == sbblk:
            detail = describe(SB, x, y, sboff, False)
        elif blk == jsbblk:
            detail = describe(JSB, x, y, 0, True)
        else:
            detail = ["%d bytes, first at 0x%x" % (len(diff), diff[0] - blk * bs)]
        print("  %s block %d (%s): theirs->ours %s" % ("DIFF" if unallowed else "allowed",
                                                       blk, what, "; ".join(detail)))
        if unallowed:
            bad += 1
    if len(a) != len(b):
        bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
