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

static errcode_t open_fs(const char *path, int flags, io_manager io, ext2_filsys *fs)
{
	int oflags = EXT2_FLAG_64BITS | EXT2_FLAG_SOFTSUPP_FEATURES | EXT2_FLAG_IGNORE_CSUM_ERRORS |
		     EXT2_FLAG_SKIP_MMP;

	if (flags & ICK_OPEN_RW)
		oflags |= EXT2_FLAG_RW;
	return ext2fs_open2(path, NULL, oflags, 0, 0, io ? io : unix_io_manager, fs);
}

errcode_t ick_image_open(const char *path, int flags, io_manager io, struct ick_image **out)
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
	err = open_fs(path, flags, io, &img->fs);
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
