#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# mkseeds.sh OUTDIR QUOTA_BASE - seed corpora for the harnesses:
#   OUTDIR/image/  whole images (<= 4 MiB): made here with mkfs.ext4 and debugfs, plus the
#                  small images of e2fsprogs' test corpus when it is present
#   OUTDIR/quota/  user quota files (<= 64 KiB): the base image's, one rebuilt by e2fsck
#                  over many owners, and those of the corpus images with quota
# The shared corpus ($FUZZ_SHARED_CORPUS, default /work/shared/corpus/e2fsprogs) is
# optional: whatever is absent is skipped, and the made-here seeds suffice.
set -u
out=$1
qbase=$2
corpus=${FUZZ_SHARED_CORPUS:-/work/shared/corpus/e2fsprogs}
PATH=$PATH:/sbin:/usr/sbin
export E2FSPROGS_FAKE_TIME=1700000000
MAXIMG=4194304
MAXQ=65536
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$out/image" "$out/quota"

uuid=6e5a0000-0000-4000-8000-000000000001
mk() { # mk NAME SIZE MKFS-ARGS... (then debugfs commands on stdin)
	name=$1 size=$2; shift 2
	img=$t/$name.img
	rm -f "$img"
	mkfs.ext4 -q -F -U $uuid -E hash_seed=$uuid "$@" "$img" "$size" >/dev/null 2>&1 ||
		{ echo "mkseeds.sh: mkfs $name failed (skipped)" >&2; cat >/dev/null; return 1; }
	debugfs -w -f - "$img" >/dev/null 2>&1
	cp "$img" "$out/image/mk_$name.img"
}

# file contents
head -c 5000 /dev/urandom >"$t/small"
head -c 40000 /dev/urandom >"$t/mid"
printf 'x' >"$t/tiny"

files='write '$t'/small small
write '$t'/mid mid
write '$t'/tiny tiny
mkdir d
mkdir d/e
write '$t'/small d/e/f
symlink sl /a/short/target
symlink d/long /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
mknod d/fifo p
sif small uid 1000
sif mid gid 100
sif d/e/f uid 65534'

# fallocated, holes, a file punched every third block, an EA, a project
extra='write /dev/null fa
fallocate fa 0 20
sif fa size 4096
write /dev/null hole
fallocate hole 40 44
write '$t'/mid frag
punch frag 2 2
punch frag 5 5
punch frag 8 8
punch frag 11 11
punch frag 14 14
punch frag 17 17
ea_set small user.a 12345
sif mid projid 7'
printf '%s\n%s\n' "$files" "$extra" | mk ext4q 1M -b 1024 -O quota,project
printf '%s\n' "$files" | mk ext4_4k 4M -b 4096
printf '%s\n' "$files" | mk ext2 1M -t ext2 -b 1024
printf '%s\n' "$files" | mk ext3 4M -t ext3 -b 1024
printf '%s\n' "$files" | mk metabg 2M -b 1024 -O meta_bg,^resize_inode
printf '%s\n' "$files" | mk inline 1M -b 1024 -I 256 -O inline_data
printf '%s\n%s\n' "$files" 'ea_set small user.big -f '$t'/mid' | mk eainode 2M -b 1024 -I 256 -O ea_inode
printf '%s\n' "$files" | mk nocsum 1M -b 1024 -O ^metadata_csum,uninit_bg
printf '%s\n' "$files" | mk bigalloc 4M -b 1024 -O bigalloc -C 4096
# bigalloc cluster maps: files punched inside clusters (several extents of one file in a
# cluster, partial clusters), unwritten extents, an EA block, quota charged in clusters
printf '%s\n%s\n' "$files" "$extra" | mk bigalloc_frag 2M -b 1024 -O bigalloc -C 16384
printf '%s\n%s\n' "$files" "$extra" | mk bigalloc_q 2M -b 1024 -I 256 -O bigalloc,quota,project -C 4096
printf '%s\n%s\n' "$files" "$extra" | mk bigalloc_4k 4M -b 4096 -O bigalloc,^has_journal -C 16384
printf '%s\n' "$files" | mk b64k 4M -b 65536 -O ^resize_inode
# journals left needing recovery (debugfs writes committed, unreplayed transactions):
# 64-bit tags with csum v3 and a revoke; 32-bit tags with csum v2; and an orphan inode
jnl='jo -c
jw -b 300,301 '$t'/mid
jc
jo -c
jw -b 302 '$t'/small
jw -r 300
jc'
printf '%s\n%s\n' "$files" "$jnl" | mk jnl64 4M -b 1024
printf '%s\n%s\n' "$files" "$(printf '%s\n' "$jnl" | sed 's/^jo -c$/jo -c -v 2/')" | mk jnl32 4M -b 1024 -O ^64bit
# the journal inode zeroed: recovery through the superblock's s_jnl_blocks (journal.c)
printf '%s\n%s\n%s\n' "$files" "$jnl" 'clri <8>' | mk jnlbackup 4M -t ext3 -b 1024 -O ^metadata_csum
printf '%s\n%s\n' "$files" 'sif mid links_count 0
ssv last_orphan 13' | mk orphan 2M -b 1024

# damaged primaries with good backups (image.c open_fs): 1 KiB blocks and 1024 blocks a
# group keep the backups at 1025, 3073 inside 4 MiB.  Group 1's block bitmap in the primary
# descriptors set past the end (ext2fs_check_desc rejects it; backup descriptors chosen,
# 32- and 64-byte descriptors, meta_bg); a zeroed and a checksum-broken primary superblock
# (the scan of get_backup_sb's candidates, which lie past 4 MiB without the geometry).
# poke FILE OFFSET HEX: write bytes at OFFSET
poke() { python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2]))
f.write(bytes.fromhex(sys.argv[3]))' "$@"; }
if printf '%s\n' "$files" | mk bkgdt 4M -b 1024 -g 1024; then
	poke "$out/image/mk_bkgdt.img" $((2048 + 64)) ffffff7f
	cp "$out/image/mk_bkgdt.img" "$out/image/mk_bkgdt_sb.img"
	dd if=/dev/zero of="$out/image/mk_bkgdt_sb.img" bs=1024 seek=1 count=1 conv=notrunc 2>/dev/null
fi
printf '%s\n' "$files" | mk bkgdt32 4M -b 1024 -g 1024 -O ^64bit &&
	poke "$out/image/mk_bkgdt32.img" $((2048 + 32)) ffffff7f
printf '%s\n' "$files" | mk bkmbg 4M -b 1024 -g 1024 -O meta_bg,^resize_inode &&
	poke "$out/image/mk_bkmbg.img" $((2048 + 64)) ffffff7f
if printf '%s\n' "$files" | mk bksb 4M -b 1024 -g 1024; then
	cp "$out/image/mk_bksb.img" "$out/image/mk_bkcsum.img"
	dd if=/dev/zero of="$out/image/mk_bksb.img" bs=1024 seek=1 count=1 conv=notrunc 2>/dev/null
	poke "$out/image/mk_bkcsum.img" $((1024 + 120)) 58 # s_volume_name[0]: checksum fails
fi
# fast commits (fuzz the fast-commit scan and replay, lib/fast_commit.c): the host kernel
# writes them (root and a loop mount; skipped otherwise): each fsync a fast commit, the
# image copied while mounted, so its fast-commit area is unreplayed
FC_DEFAULT='
import os
def put(p, data, mode=os.O_CREAT | os.O_WRONLY):
    fd = os.open(p, mode, 0o644); os.write(fd, data); os.fsync(fd); os.close(fd)
os.mkdir("d")
for i in range(6):
    put("d/f%d" % i, os.urandom(3000 * (i + 1)))
put("d/f0", b"x" * 5000, os.O_WRONLY | os.O_APPEND)
os.truncate("d/f1", 1000); fd = os.open("d/f1", os.O_RDONLY); os.fsync(fd); os.close(fd)
os.link("d/f2", "l2"); os.unlink("d/f3"); put("d/g", b"g" * 100)
'
# a rename across directories (LINK + UNLINK) with an orphan committed before, and an open
# file unlinked then fsync-ed (an INODE tag with no links: the kernel refuses the replay)
FC_RENAME='
import os
def put(p, data):
    fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644); os.write(fd, data); os.fsync(fd); os.close(fd)
os.mkdir("d"); os.mkdir("e"); put("d/a", os.urandom(20000)); put("d/o", os.urandom(9000))
keep = os.open("d/o", os.O_RDONLY); os.unlink("d/o"); os.sync()
os.rename("d/a", "e/a"); fd = os.open("e/a", os.O_WRONLY); os.pwrite(fd, b"r" * 5000, 1000); os.fsync(fd)
'
FC_UNLINKED='
import os
def put(p, data):
    fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644); os.write(fd, data); os.fsync(fd); os.close(fd)
os.mkdir("d"); put("d/a", os.urandom(20000)); put("b", os.urandom(3000)); os.sync()
fd = os.open("d/a", os.O_WRONLY); os.unlink("d/a"); os.pwrite(fd, os.urandom(8192), 30000); os.fsync(fd)
'
fcseed() { # fcseed NAME WORKLOAD MKFS-ARGS...
	name=$1 wl=$2; shift 2
	rm -f "$t/fc.img"; mkdir -p "$t/mnt"
	mkfs.ext4 -q -F -U $uuid -O fast_commit "$@" "$t/fc.img" 4M >/dev/null 2>&1 &&
		mount -o loop,commit=300 "$t/fc.img" "$t/mnt" 2>/dev/null ||
		{ echo "mkseeds.sh: no fast-commit seed $name (needs root and a loop mount)" >&2; return 0; }
	( cd "$t/mnt" && python3 -c "$wl" ) >/dev/null 2>&1
	cp "$t/fc.img" "$out/image/mk_$name.img"
	umount "$t/mnt"
}
fcseed fc1k "$FC_DEFAULT" -b 1024
fcseed fcnocsum "$FC_DEFAULT" -b 1024 -O ^metadata_csum,^64bit
fcseed fcrename "$FC_RENAME" -b 1024
fcseed fcunlinked "$FC_UNLINKED" -b 1024

# the quota harness: the base image's own file, and one e2fsck rebuilt over many owners
debugfs -R "dump <3> $out/quota/base.q" "$qbase" >/dev/null 2>&1
if cp "$qbase" "$t/q.img"; then
	{
		i=0
		for id in 1 2 3 100 1000 1001 1002 65534 65535 65536 70000 131072 16777216 \
			16843009 33554432 123456789 2147483647 4000000000 4294967294; do
			i=$((i + 1))
			echo "write $t/tiny u$i"
			echo "sif u$i uid $id"
		done
		for id in $(seq 2000 2040); do echo "write $t/tiny v$id"; echo "sif v$id uid $id"; done
	} | debugfs -w -f - "$t/q.img" >/dev/null 2>&1
	e2fsck -fy "$t/q.img" >/dev/null 2>&1
	debugfs -R "dump <3> $out/quota/many.q" "$t/q.img" >/dev/null 2>&1
fi

# the shared corpus: images of at most 4 MiB, and their user quota files
if [ -d "$corpus" ]; then
	for d in "$corpus"/*/; do
		n=$(basename "$d")
		if [ -f "$d/image.gz" ]; then gzip -dc "$d/image.gz" >"$t/c.img" 2>/dev/null || continue
		elif [ -f "$d/image.bz2" ]; then bzip2 -dc "$d/image.bz2" >"$t/c.img" 2>/dev/null || continue
		else continue; fi
		[ "$(wc -c <"$t/c.img")" -le $MAXIMG ] && cp "$t/c.img" "$out/image/c_$n.img"
		q=$(dumpe2fs -h "$t/c.img" 2>/dev/null | sed -n 's/^User quota inode: *//p')
		if [ -n "$q" ] && debugfs -R "dump <$q> $t/c.q" "$t/c.img" >/dev/null 2>&1 &&
		   [ -s "$t/c.q" ] && [ "$(wc -c <"$t/c.q")" -le $MAXQ ]; then
			cp "$t/c.q" "$out/quota/c_$n.q"
		fi
		rm -f "$t/c.img" "$t/c.q"
	done
else
	echo "mkseeds.sh: $corpus absent, using the made-here seeds only" >&2
fi
# logs over the quota base, recorded by debugfs-ext -L (when built) in both modes
mkdir -p "$out/log"
if [ -x "${DEBUGFS_EXT:-}" ]; then
	n=0
	for req in "iomap_write --create --uid 5 --sync /f 1000 20000" \
		   "iomap_write --mode nonda --create --sync /f 0 9000" \
		   "iomap_write --create /f 0 5000
iomap_write --short 700 /f 8000 9000
iomap_fallocate --keep-size /f 64K 16K
crash" \
		   "iomap_poison 5aa5
iomap_write --mode nonda --create --bug written_alloc --crash after_copy /f 4096 8192"; do
		n=$((n + 1))
		cp "$qbase" "$t/l.img"
		printf '%s\n' "$req" | "$DEBUGFS_EXT" -w -L "$out/log/rec$n.log" -f - "$t/l.img" >/dev/null 2>&1
	done
else
	echo "mkseeds.sh: no debugfs-ext built, log seeds are the minimal one only" >&2
fi
# a minimal log: the super sector and one mark entry (the kernel's layout)
python3 -c '
import struct, sys
sup = struct.pack("<QQQI", 0x6a736677736872, 1, 1, 512).ljust(512, b"\0")
mark = (struct.pack("<QQQQ", 0, 0, 8, 4) + b"seed").ljust(512, b"\0")
open(sys.argv[1], "wb").write(sup + mark)' "$out/log/min.log"
find "$out/image" "$out/quota" "$out/log" -type f -size 0 -delete
echo "mkseeds.sh: $(ls "$out/image" | wc -l) image seeds, $(ls "$out/quota" | wc -l) quota seeds, $(ls "$out/log" | wc -l) log seeds"
