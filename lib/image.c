/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * image.c - identify (libblkid), open (libext2fs) and gate an image by feature.
 * Never writes: without ICK_OPEN_RW the file is opened read-only by unix_io.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <blkid.h>
#include "image.h"
#include "blkdev.h"
#include "overlay.h"
#include "ick_err.h"

errcode_t ick_image_probe(const char *path, char *type, size_t typelen)
{
	blkid_probe pr = blkid_new_probe_from_filename(path);
	const char *val = NULL;
	int rc;

	type[0] = '\0';
	if (!pr)
		return errno ? errno : ICK_ET_PROBE;
	blkid_probe_enable_superblocks(pr, 1);
	/* A torn crash state may fail its superblock checksum; identify it all the same. */
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_BADCSUM);
	rc = blkid_do_safeprobe(pr);
	if (rc == 0 && blkid_probe_lookup_value(pr, "TYPE", &val, NULL) == 0 && val)
		snprintf(type, typelen, "%s", val);
	blkid_free_probe(pr);
	return rc < 0 && rc != -2 ? ICK_ET_PROBE : 0; /* -2: ambiguous, libext2fs decides */
}

static int is_ext_type(const char *t)
{
	return !strcmp(t, "ext2") || !strcmp(t, "ext3") || !strcmp(t, "ext4") ||
	       !strcmp(t, "ext4dev");
}

/* Features whose on-disk meaning our checks do not model: refuse rather than misjudge. */
static const char *refused_feature(ext2_filsys fs)
{
	if (ext2fs_has_feature_journal_dev(fs->super))
		return "journal_dev";
	if (fs->blocksize > 65536 || fs->blocksize < 1024)
		return "block size";
	return NULL;
}

/*
 * Geometry the rest of the code relies on, checked before any bitmap or table is read
 * (e2fsck's superblock checks refuse the same): the first data block is fixed by the block
 * size, and the image must hold the blocks the superblock claims — memory for bitmaps and
 * tables grows with that claim, so it is checked against the bytes really there.
 */
static const char *bad_geometry(ext2_filsys fs, char *why, size_t len)
{
	blk64_t n = ext2fs_blocks_count(fs->super);
	/* e2fsck/super.c check_super_block(): 1 for 1 KiB blocks, unless bigalloc */
	unsigned want = fs->blocksize == 1024 && EXT2FS_CLUSTER_RATIO(fs) == 1 ? 1 : 0;
	char *buf;
	errcode_t err;

	if (fs->super->s_first_data_block != want) {
		snprintf(why, len, "first_data_block is %u, must be %u with %u-byte blocks",
			 fs->super->s_first_data_block, want, fs->blocksize);
		return why;
	}
	if (n <= fs->super->s_first_data_block)
		return snprintf(why, len, "blocks_count is %llu", (unsigned long long)n), why;
	if (!(buf = malloc(fs->blocksize)))
		return snprintf(why, len, "out of memory"), why;
	err = io_channel_read_blk64(fs->io, n - 1, 1, buf);
	free(buf);
	if (err) {
		snprintf(why, len, "the superblock claims %llu blocks of %u bytes, but block %llu "
			 "cannot be read (%s): the image is shorter than the file system",
			 (unsigned long long)n, fs->blocksize, (unsigned long long)(n - 1),
			 error_message(err));
		return why;
	}
	return NULL;
}

static errcode_t open_at(const char *path, int flags, io_manager io, blk64_t sb,
			 unsigned bs, ext2_filsys *fs)
{
	int oflags = EXT2_FLAG_64BITS | EXT2_FLAG_SOFTSUPP_FEATURES | EXT2_FLAG_IGNORE_CSUM_ERRORS |
		     EXT2_FLAG_SKIP_MMP | EXT2_FLAG_NOFREE_ON_ERROR;
	errcode_t err;

	*fs = NULL;
	if (flags & ICK_OPEN_RW) {
		/* writing a device the kernel has mounted corrupts it: refused by name */
		if ((err = ick_refuse_mounted(path)))
			return err;
		oflags |= EXT2_FLAG_RW;
	}
	/* ext2fs_open2 (lib/ext2fs/openfs.c) wants the block size with a superblock number;
	 * with one above 1 it reads the descriptors after that superblock (for meta_bg, from
	 * the second group of each meta group) and, with group checksums, clears the UNINIT
	 * flags and itable_unused of every group, as e2fsck then sees them. */
	err = ext2fs_open2(path, NULL, oflags, (int)sb, bs, io ? io : unix_io_manager, fs);
	if (err && *fs) {
		ext2fs_free(*fs);
		*fs = NULL;
	}
	return err;
}

/* The superblock numbers e2fsck tries, in its order: groups 1 and the powers of 3, 5, 7
 * (ext2fs_list_backups with no file system, which assumes sparse_super). */
static dgrp_t next_backup(dgrp_t *three, dgrp_t *five, dgrp_t *seven)
{
	dgrp_t *min = three, ret;
	int mult = 3;

	if (*five < *min) {
		min = five;
		mult = 5;
	}
	if (*seven < *min) {
		min = seven;
		mult = 7;
	}
	ret = *min;
	*min = ret > UINT32_MAX / mult ? UINT32_MAX : ret * mult;
	return ret;
}

/*
 * Find a backup superblock as e2fsck/util.c get_backup_sb() does: for each block size (only
 * the known one, from the opened primary or -B), read the superblock at group g's first
 * block (+1 with 1 KiB blocks) for g = 1, 3, 5, 7, 9, 25, ... up to the groups the file
 * system (or else the device) holds, and take the first with the ext2 magic and that block
 * size.  Groups are s_blocks_per_group of the primary when it opened, else 8 x block size.
 */
static int find_backup(const char *path, io_manager io, ext2_filsys prim, unsigned want_bs,
		       blk64_t *sb, unsigned *bs)
{
	unsigned b = want_bs ? want_bs : prim ? prim->blocksize : EXT2_MIN_BLOCK_SIZE; /* -B first */
	int known = prim || want_bs;
	struct ext2_super_block *s;
	io_channel ch = NULL;
	int found = 0;

	if (!io)
		io = unix_io_manager;
	if (io->open(path, 0, &ch) || !(s = malloc(SUPERBLOCK_SIZE))) {
		if (ch)
			io_channel_close(ch);
		return 0;
	}
	for (; !found && b <= EXT2_MAX_BLOCK_SIZE; b *= 2) {
		dgrp_t three = 1, five = 5, seven = 7, g, limit;
		blk_t bpg = prim ? prim->super->s_blocks_per_group : b * 8;
		blk64_t n;

		if (prim)
			limit = ext2fs_blocks_count(prim->super) / bpg;
		else if (!ext2fs_get_device_size2(path, (int)b, &n))
			limit = n / bpg;
		else
			limit = 128; /* e2fsck's guess when the size is unknown */
		io_channel_set_blksize(ch, b);
		while (!found && (g = next_backup(&three, &five, &seven)) <= limit) {
			blk64_t at = (blk64_t)g * bpg + (b == 1024);

			if (io_channel_read_blk64(ch, at, -SUPERBLOCK_SIZE, s))
				continue;
			if (ext2fs_le16_to_cpu(s->s_magic) == EXT2_SUPER_MAGIC &&
			    ext2fs_le32_to_cpu(s->s_log_block_size) < 7 &&
			    ((unsigned)EXT2_MIN_BLOCK_SIZE << ext2fs_le32_to_cpu(s->s_log_block_size)) == b) {
				*sb = at;
				*bs = b;
				found = 1;
			}
		}
		if (known)
			break;
	}
	free(s);
	io_channel_close(ch);
	return found;
}

/* ext2fs_open2 checks no superblock checksum under IGNORE_CSUM_ERRORS; e2fsck opens
 * without it, and a bad one is EXT2_ET_SB_CSUM_INVALID. */
static errcode_t sb_csum(ext2_filsys fs)
{
	return ext2fs_superblock_csum_verify(fs, fs->super) ? 0 : EXT2_ET_SB_CSUM_INVALID;
}

/*
 * Open the primary, or a backup where e2fsck would (e2fsck/unix.c main(), the retry after
 * try_open_fs()): when no superblock was given, and opening fails with EXT2_ET_BAD_MAGIC,
 * EXT2_ET_SB_CSUM_INVALID or EXT2_ET_CORRUPT_SUPERBLOCK, or it opens but ext2fs_check_desc()
 * rejects the descriptors of a file system with more than one group, the backup that
 * get_backup_sb() finds is opened instead.  If the backup does not open either: with a
 * primary that opened (bad descriptors), e2fsck goes back to it, and so do we; else the
 * primary's error stands.  A given superblock (-b) is used as is, its block size (-B) or
 * each size in turn (try_open_fs()).  We keep checksum errors below the superblock
 * ignored; one case differs from e2fsck on purpose: a primary whose only fault is its
 * checksum, with no good backup, is still checked (a torn crash state), where e2fsck
 * gives up.
 */
static errcode_t open_fs(const char *path, int flags, io_manager io,
			 const struct ick_sb_choice *want, struct ick_image *img)
{
	blk64_t sb = 0;
	unsigned bs = 0;
	errcode_t err, desc = 0, csum;
	ext2_filsys prim = NULL, back = NULL;
	char why[192];

	if (want && want->superblock) {
		img->superblock = want->superblock;
		if (want->blocksize) {
			err = open_at(path, flags, io, want->superblock, want->blocksize, &img->fs);
		} else {
			err = EXT2_ET_BAD_MAGIC;
			for (bs = EXT2_MIN_BLOCK_SIZE; err && bs <= EXT2_MAX_BLOCK_SIZE; bs *= 2)
				err = open_at(path, flags, io, want->superblock, bs, &img->fs);
		}
		if (!err)
			snprintf(img->sb_note, sizeof(img->sb_note), "using superblock at block %llu "
				 "(%u-byte blocks) as given by -b", (unsigned long long)want->superblock,
				 img->fs->blocksize);
		return err;
	}
	err = open_at(path, flags, io, 0, 0, &prim);
	csum = err ? 0 : sb_csum(prim);
	/* an impossible claim is refused after this, before ext2fs_check_desc() allocates a
	 * bitmap as large as the claim (e2fsck has no such check before it, and no fallback
	 * for it either) */
	if (!err && !csum && prim->group_desc_count > 1 && !bad_geometry(prim, why, sizeof(why)))
		desc = ext2fs_check_desc(prim);
	if (desc == ENOMEM || desc == EXT2_ET_NO_MEMORY) {
		ext2fs_close_free(&prim);
		return desc;
	}
	/* never on the image itself opened for writing (debugfs-ext -w): libext2fs would write
	 * the backup's descriptors over the primaries at close */
	if (((flags & ICK_OPEN_RW) && !io) ||
	    !((err == EXT2_ET_BAD_MAGIC || err == EXT2_ET_CORRUPT_SUPERBLOCK) || csum || desc)) {
		img->fs = prim;
		return err;
	}
	/* get_backup_sb() gets the open file system only when the primary opened */
	if (find_backup(path, io, csum ? NULL : prim, want ? want->blocksize : 0, &sb, &bs) &&
	    !open_at(path, flags, io, sb, bs, &back) && !sb_csum(back)) {
		if (prim)
			ext2fs_close_free(&prim);
		img->fs = back;
		img->superblock = sb;
		snprintf(img->sb_note, sizeof(img->sb_note),
			 "primary %s unusable (%s); using backup superblock at block %llu "
			 "(%u-byte blocks)", desc ? "group descriptors" : "superblock",
			 error_message(err ? err : csum ? csum : desc), (unsigned long long)sb, bs);
		return 0;
	}
	if (back)
		ext2fs_close_free(&back);
	if (prim) { /* opened, bad descriptors or checksum: keep the primary */
		img->fs = prim;
		snprintf(img->sb_note, sizeof(img->sb_note),
			 "primary %s unusable (%s) and no usable backup; checked the primary",
			 desc ? "group descriptors" : "superblock", error_message(csum ? csum : desc));
		return 0;
	}
	return err;
}

errcode_t ick_image_open(const char *path, int flags, io_manager io, struct ick_image **out)
{
	return ick_image_open_sb(path, flags, io, NULL, out);
}

errcode_t ick_image_open_sb(const char *path, int flags, io_manager io,
			    const struct ick_sb_choice *want, struct ick_image **out)
{
	struct ick_image *img;
	char type[32] = "";
	const char *bad;
	errcode_t err;

	*out = NULL;
	if (!io && (err = ick_image_probe(path, type, sizeof(type))))
		return err;
	if (!io && type[0] && !is_ext_type(type))
		return !strcmp(type, "jbd") ? ICK_ET_JOURNAL_DEV : ICK_ET_NOT_EXT;
	img = calloc(1, sizeof(*img));
	if (!img || !(img->path = strdup(path))) {
		free(img);
		return ENOMEM;
	}
	err = open_fs(path, flags, io, want, img);
	if (err == EXT2_ET_BAD_MAGIC && !type[0])
		err = ICK_ET_NOT_EXT;
	if (err)
		goto out_free;
	if ((bad = refused_feature(img->fs))) {
		snprintf(img->refused, sizeof(img->refused), "%s", bad);
		err = ICK_ET_UNSUPPORTED_FEATURE;
		goto out_free;
	}
	if (bad_geometry(img->fs, img->refused, sizeof(img->refused))) {
		err = ICK_ET_BAD_GEOMETRY;
		goto out_free;
	}
	/* Up to 2^27 blocks a bitmap is at most 16 MiB, and a flat array is many times faster
	 * to scan (the crash sweep opens the file system at every point); past that, sparse
	 * bitmaps: memory follows the blocks in use, not the size an image claims. */
	img->fs->default_bitmap_type = ext2fs_blocks_count(img->fs->super) <= (1ull << 27)
					       ? EXT2FS_BMAP64_BITARRAY : EXT2FS_BMAP64_RBTREE;
	img->needs_recovery = ext2fs_has_feature_journal_needs_recovery(img->fs->super);
	*out = img;
	return 0;

out_free:
	/* keep the refused name for the caller's message */
	if (err == ICK_ET_UNSUPPORTED_FEATURE || err == ICK_ET_BAD_GEOMETRY) {
		ext2fs_close_free(&img->fs);
		img->fs = NULL;
		*out = img;
		return err;
	}
	if (img->fs)
		ext2fs_close_free(&img->fs);
	free(img->path);
	free(img);
	return err;
}

void ick_image_close(struct ick_image *img)
{
	if (!img)
		return;
	if (img->fs)
		ext2fs_close_free(&img->fs);
	ick_overlay_free(img->overlay);
	free(img->path);
	free(img);
}

int ick_image_no_fs(errcode_t err)
{
	return err == ICK_ET_NOT_EXT || err == EXT2_ET_BAD_MAGIC || err == EXT2_ET_SB_CSUM_INVALID ||
	       err == EXT2_ET_CORRUPT_SUPERBLOCK || err == EXT2_ET_SHORT_READ;
}
