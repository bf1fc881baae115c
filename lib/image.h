/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * image.h - opening an image: identify it with libblkid, open it with libext2fs (read-only
 * unless ICK_OPEN_RW), refuse features we do not check by name, load the block bitmap.
 * In check mode the image is never opened for writing: ext2fs_open2 without EXT2_FLAG_RW
 * opens the file O_RDONLY, so no code path below can write it.
 */
#ifndef ICK_IMAGE_H
#define ICK_IMAGE_H

#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"

#define ICK_OPEN_RW 0x1 /* debugfs-ext -w only */

struct ick_overlay;

struct ick_image {
	ext2_filsys fs;
	char *path;
	char refused[192]; /* the feature (ICK_ET_UNSUPPORTED_FEATURE) or the reason
			      (ICK_ET_BAD_GEOMETRY) when open failed */
	/* the view (view.h) this image is: */
	int needs_recovery;       /* as the image is on disk */
	int recovered;            /* fs reads the journal-recovered view (view.c) */
	struct ick_overlay *overlay; /* owned (overlay.h); freed after fs is closed */
	blk64_t superblock;  /* the superblock read: 0 the primary, else a backup's block */
	char sb_note[192];   /* one line when not the primary as usual ("" otherwise) */
};

/* A superblock asked for, as e2fsck's -b and -B: superblock 0 chooses as e2fsck does. */
struct ick_sb_choice {
	blk64_t superblock;
	unsigned blocksize; /* 0: each size in turn (with -b), or any (when falling back) */
};

/*
 * ick_image_open - identify and open @path.
 * @io: io_manager to use, NULL for unix_io_manager.
 * Returns 0, ICK_ET_NOT_EXT (blkid found something else, or libext2fs found no ext2 magic),
 * ICK_ET_JOURNAL_DEV, ICK_ET_UNSUPPORTED_FEATURE or ICK_ET_BAD_GEOMETRY (name or reason
 * in img->refused; the file system is closed, *out is set)
 * or a libext2fs / errno code.
 */
ICK_MUST_CHECK errcode_t ick_image_open(const char *path, int flags, io_manager io,
					struct ick_image **out);
/*
 * ick_image_open_sb - as ick_image_open, reading the superblock @want names (NULL or 0:
 * the primary, or the backup e2fsck falls back to when the primary superblock or group
 * descriptors are unusable; image.c open_fs() says which e2fsck rule).  img->superblock
 * and img->sb_note say which copy was read.
 */
ICK_MUST_CHECK errcode_t ick_image_open_sb(const char *path, int flags, io_manager io,
					   const struct ick_sb_choice *want, struct ick_image **out);
void ick_image_close(struct ick_image *img);

/*
 * ick_image_no_fs - non-zero when @err, from opening a device (ick_image_open or a view
 * on it), says no ext2/3/4 file system is there yet, rather than a damaged or refused one:
 * something else or nothing identified (ICK_ET_NOT_EXT), no ext2 magic, a superblock
 * whose checksum or contents do not hold, or a device too short for one.  A crash sweep
 * counts such a state (before mkfs's superblock is written, or while it is half written)
 * instead of checking it.
 */
int ick_image_no_fs(errcode_t err);

/* What libblkid calls the content of @path ("ext4", "xfs", …), or NULL if nothing. */
ICK_MUST_CHECK errcode_t ick_image_probe(const char *path, char *type, size_t typelen);

#endif
