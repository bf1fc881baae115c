#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""jtool.py - read and patch an internal jbd2 journal inside an ext4 image file, for the
journal tests (tests/journal/lib-journal.sh).  Written for the tests from the on-disk format
(big-endian jbd2 fields, see ../../../shared/research/formats.md section 9 and Linux
include/linux/jbd2.h); it never replays anything.

The journal inode's log-to-physical map comes from the installed debugfs (`stat <8>`), so
fragmented journals are handled.  Journal block N ("log block") is the inode's block N;
block 0 is the journal superblock.

    jtool.py info IMG                      first maxlen start sequence incompat compat tagbytes blocksize
    jtool.py headers IMG                   one "logblk type sequence" line per block with the jbd2 magic
    jtool.py map IMG LOGBLK                the physical block of a log block
    jtool.py setsb IMG FIELD=VAL...        set journal superblock fields (magic start sequence
                                           maxlen first errno), then its checksum (v2/v3)
    jtool.py rotate IMG SHIFT              move every log block b (first..maxlen-1) to
                                           first + (b - first + SHIFT) mod (maxlen - first);
                                           s_start moves with it
    jtool.py poke IMG LOGBLK OFF HEX       overwrite bytes in a log block
    jtool.py flip IMG LOGBLK OFF           invert one byte of a log block
    jtool.py zero IMG LOGBLK               zero a log block
    jtool.py settag IMG LOGBLK IDX BLK     point tag IDX of a descriptor at fs block BLK
    jtool.py clearlast IMG LOGBLK          drop LAST_TAG from every tag of a descriptor
    jtool.py loopdesc IMG LOGBLK SEQ NTAGS TARGET
                                           write a descriptor of sequence SEQ with NTAGS tags
                                           (all SAME_UUID, LAST_TAG on the last), all naming
                                           fs block TARGET (no checksum: a csum-less journal)
    jtool.py sbfield IMG OFF LEN           a little-endian field of the ext4 superblock
    jtool.py classify IMG BLK...           what each fs block is (for messages)
"""
import re
import struct
import subprocess
import sys

JMAGIC = 0xC03B3998
DEBUGFS = "/usr/sbin/debugfs"
# journal superblock fields (offset, format)
JSB = {"magic": (0x0, ">I"), "blocktype": (0x4, ">I"), "blocksize": (0xC, ">I"),
       "maxlen": (0x10, ">I"), "first": (0x14, ">I"), "sequence": (0x18, ">I"),
       "start": (0x1C, ">I"), "errno": (0x20, ">i"), "compat": (0x24, ">I"),
       "incompat": (0x28, ">I"), "rocompat": (0x2C, ">I")}
INC_64BIT, INC_CSUM2, INC_CSUM3 = 0x2, 0x8, 0x10


def crc32c(seed, data):
    """crc32c as jbd2/e2fsprogs use it: reflected 0x82F63B78, no final inversion."""
    tab = crc32c.tab
    if tab is None:
        tab = crc32c.tab = []
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            tab.append(c)
    crc = seed
    for b in data:
        crc = tab[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


crc32c.tab = None


class Image:
    def __init__(self, path):
        self.path = path
        self.f = open(path, "r+b")
        self.f.seek(1024)
        sb = self.f.read(1024)
        self.sb = sb
        self.bs = 1024 << struct.unpack_from("<I", sb, 0x18)[0]
        incompat = struct.unpack_from("<I", sb, 0x60)[0]
        lo = struct.unpack_from("<I", sb, 0x4)[0]
        hi = struct.unpack_from("<I", sb, 0x150)[0] if incompat & 0x80 else 0
        self.blocks = lo | hi << 32
        self.jino = struct.unpack_from("<I", sb, 0xE0)[0]
        self._map = None

    def jmap(self):
        if self._map is None:
            out = subprocess.run([DEBUGFS, "-n", "-R", "stat <%d>" % self.jino, self.path],
                                 capture_output=True, text=True).stdout
            m = {}
            for a, b, p, q in re.findall(r"\((\d+)(?:-(\d+))?\):(\d+)(?:-(\d+))?", out):
                a, p = int(a), int(p)
                n = (int(b) - a + 1) if b else 1
                for i in range(n):
                    m[a + i] = p + i
            if not m:
                sys.exit("jtool: no map for the journal inode %d of %s" % (self.jino, self.path))
            self._map = m
        return self._map

    def read(self, lblk):
        self.f.seek(self.jmap()[lblk] * self.bs)
        return bytearray(self.f.read(self.bs))

    def write(self, lblk, data):
        assert len(data) == self.bs
        self.f.seek(self.jmap()[lblk] * self.bs)
        self.f.write(bytes(data))

    def jsb(self):
        return self.read(0)

    def field(self, sb, name):
        off, fmt = JSB[name]
        return struct.unpack_from(fmt, sb, off)[0]

    def tag_bytes(self, sb):
        inc = self.field(sb, "incompat")
        if inc & INC_CSUM3:
            return 16
        sz = 12
        if inc & INC_CSUM2:
            sz += 2
        return sz if inc & INC_64BIT else sz - 4

    def csum_v23(self, sb):
        return bool(self.field(sb, "incompat") & (INC_CSUM2 | INC_CSUM3))

    def set_sb_csum(self, sb):
        if self.csum_v23(sb):
            struct.pack_into(">I", sb, 0xFC, 0)
            struct.pack_into(">I", sb, 0xFC, crc32c(0xFFFFFFFF, bytes(sb[:1024])))


def tag_flags_at(img, sb, desc, off):
    if img.field(sb, "incompat") & INC_CSUM3:
        return struct.unpack_from(">I", desc, off + 4)[0], (off + 4, ">I")
    return struct.unpack_from(">H", desc, off + 6)[0], (off + 6, ">H")


def tag_offsets(img, sb, desc):
    """Offsets of the tags of a descriptor, as the kernel walks them (to LAST_TAG or the end)."""
    tb = img.tag_bytes(sb)
    limit = img.bs - (4 if img.csum_v23(sb) else 0)
    off, offs = 12, []
    while off + tb <= limit:
        offs.append(off)
        fl, _ = tag_flags_at(img, sb, desc, off)
        off += tb + (0 if fl & 2 else 16)
        if fl & 8:
            break
    return offs


def main(argv):
    cmd, img = argv[1], Image(argv[2])
    args = argv[3:]
    sb = img.jsb()
    if cmd == "info":
        print(img.field(sb, "first"), img.field(sb, "maxlen"), img.field(sb, "start"),
              img.field(sb, "sequence"), "0x%x" % img.field(sb, "incompat"),
              "0x%x" % img.field(sb, "compat"), img.tag_bytes(sb), img.bs)
    elif cmd == "headers":
        for lblk in range(1, img.field(sb, "maxlen")):
            b = img.read(lblk)
            magic, typ, seq = struct.unpack_from(">III", b, 0)
            if magic == JMAGIC:
                print(lblk, typ, seq)
    elif cmd == "map":
        print(img.jmap()[int(args[0])])
    elif cmd == "setsb":
        for a in args:
            k, v = a.split("=")
            off, fmt = JSB[k]
            struct.pack_into(fmt, sb, off, int(v, 0))
        img.set_sb_csum(sb)
        img.write(0, sb)
    elif cmd == "rotate":
        shift = int(args[0])
        first, last = img.field(sb, "first"), img.field(sb, "maxlen")
        n = last - first
        blocks = [img.read(b) for b in range(first, last)]
        for i, data in enumerate(blocks):
            img.write(first + (i + shift) % n, data)
        start = img.field(sb, "start")
        if start:
            struct.pack_into(">I", sb, 0x1C, first + (start - first + shift) % n)
        img.set_sb_csum(sb)
        img.write(0, sb)
    elif cmd == "poke":
        lblk, off, data = int(args[0]), int(args[1], 0), bytes.fromhex(args[2])
        b = img.read(lblk)
        b[off:off + len(data)] = data
        img.write(lblk, b)
    elif cmd == "flip":
        lblk, off = int(args[0]), int(args[1], 0)
        b = img.read(lblk)
        b[off] ^= 0xFF
        img.write(lblk, b)
    elif cmd == "zero":
        img.write(int(args[0]), bytearray(img.bs))
    elif cmd == "settag":
        lblk, idx, blk = int(args[0]), int(args[1]), int(args[2])
        d = img.read(lblk)
        off = tag_offsets(img, sb, d)[idx]
        struct.pack_into(">I", d, off, blk & 0xFFFFFFFF)
        if img.field(sb, "incompat") & INC_64BIT:
            struct.pack_into(">I", d, off + 8, blk >> 32)  # blocknr_high: 8 in both layouts
        elif blk >> 32:
            sys.exit("jtool: a 32-bit journal cannot name block %d" % blk)
        img.write(lblk, d)
    elif cmd == "clearlast":
        lblk = int(args[0])
        d = img.read(lblk)
        for off in tag_offsets(img, sb, d):
            fl, (foff, fmt) = tag_flags_at(img, sb, d, off)
            struct.pack_into(fmt, d, foff, fl & ~8)
        img.write(lblk, d)
    elif cmd == "loopdesc":
        lblk, seq, ntags, target = (int(x) for x in args)
        if img.csum_v23(sb):
            sys.exit("jtool: loopdesc wants a journal without checksums")
        tb = img.tag_bytes(sb)
        d = bytearray(img.bs)
        struct.pack_into(">III", d, 0, JMAGIC, 1, seq)
        for i in range(ntags):
            off = 12 + i * tb
            if off + tb > img.bs:
                sys.exit("jtool: %d tags do not fit a descriptor" % ntags)
            struct.pack_into(">IHH", d, off, target, 0, 2 | (8 if i == ntags - 1 else 0))
        img.write(lblk, d)
    elif cmd == "sbfield":
        off, ln = int(args[0], 0), int(args[1])
        print(int.from_bytes(img.sb[off:off + ln], "little"))
    elif cmd == "classify":
        for b in args:
            print(b, classify(img, int(b)))
    else:
        sys.exit("jtool: unknown command " + cmd)


def classify(img, blk):
    """A short name for fs block BLK: the superblock, a group's metadata, a journal block,
    or the inode that owns it (debugfs icheck)."""
    if blk == (1024 // img.bs if img.bs > 1024 else 1):
        return "primary superblock"
    inv = {p: l for l, p in img.jmap().items()}
    if blk in inv:
        return "journal superblock" if inv[blk] == 0 else "journal log block %d" % inv[blk]
    cache = getattr(classify, "groups", None)
    if cache is None:
        out = subprocess.run(["/usr/sbin/dumpe2fs", img.path], capture_output=True,
                             text=True).stdout
        cache = []
        grp = None
        for line in out.splitlines():
            m = re.match(r"Group (\d+):", line)
            if m:
                grp = int(m.group(1))
            for what, rx in (("superblock", r"superblock at (\d+)"),
                             ("group descriptors", r"Group descriptors at (\d+)-(\d+)"),
                             ("reserved GDT", r"Reserved GDT blocks at (\d+)-(\d+)"),
                             ("block bitmap", r"Block bitmap at (\d+)()"),
                             ("inode bitmap", r"Inode bitmap at (\d+)()"),
                             ("inode table", r"Inode table at (\d+)-(\d+)")):
                m = re.search(rx, line)
                if m and grp is not None:
                    a = int(m.group(1))
                    b = int(m.group(2)) if m.lastindex > 1 and m.group(2) else a
                    cache.append((a, b, "%s of group %d" % (what, grp)))
        classify.groups = cache
    for a, b, name in cache:
        if a <= blk <= b:
            return name
    out = subprocess.run([DEBUGFS, "-n", "-R", "icheck %d" % blk, img.path], capture_output=True,
                         text=True).stdout
    m = re.search(r"^%d\s+(\d+)" % blk, out, re.M)
    return "block of inode %s" % m.group(1) if m else "unowned block"


if __name__ == "__main__":
    main(sys.argv)
