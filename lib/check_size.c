/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * check_size.c - the size check: i_size against the last written (initialized) block, and
 * i_blocks against the blocks the inode owns.  Rules follow e2fsck's check_blocks()
 * (e2fsprogs 1.47.0 e2fsck/pass1.c: bad_size 3 for files, 1/2/5 for directories, verity
 * exempt), plus one of ours: a written block that starts exactly at i_size, which e2fsck
 * tolerates and a lost i_size update after a crash leaves behind (a warning).  That one is
 * not applied to the file system's own inodes (reserved inodes, the quota and orphan files):
 * the kernel does not write them through the iomap path, and mke2fs sizes some (older
 * journals) one block short of their map; e2fsck's rule still applies to them.  Never writes.
 */
#include "config.h"
#include <errno.h>
#include "check.h"

#ifndef EXT4_VERITY_FL
#define EXT4_VERITY_FL 0x00100000
#endif

/* The file system's own inodes: reserved ones, the project quota file, the orphan file. */
static int internal_inode(ext2_filsys fs, ext2_ino_t ino)
{
	const struct ext2_super_block *sb = fs->super;

	return ino < EXT2_FIRST_INODE(sb) || ino == sb->s_prj_quota_inum ||
	       ino == sb->s_usr_quota_inum || ino == sb->s_grp_quota_inum ||
	       ino == sb->s_orphan_file_inum;
}

/*
 * The largest i_size the mapping can address, e2fsck's check_blocks() bad_size 4 and 6
 * (e2fsck/pass1.c): a block-mapped inode up to (12 + b + b^2 + b^3) blocks with b the block
 * numbers an indirect block holds (ext2_max_sizes[]), an extent-mapped one on an extent file
 * system up to 2^32 blocks less one byte (ee_block is 32 bits).
 */
static uint64_t max_size(ext2_filsys fs, const struct ext2_inode_large *in)
{
	unsigned bits = EXT2_BLOCK_SIZE_BITS(fs->super);
	uint64_t b = 1ULL << (bits - 2), max;

	if (ext2fs_has_feature_extents(fs->super) && (in->i_flags & EXT4_EXTENTS_FL))
		return (1ULL << (32 + bits)) - 1;
	max = EXT2_NDIR_BLOCKS + b + b * b + b * b * b;
	return max << bits;
}

static errcode_t too_big(struct ick_ctx *ctx, const struct ick_inode_ctx *ic)
{
	uint64_t size = EXT2_I_SIZE(ic->inode), max = max_size(ctx->fs, ic->inode);
	struct ick_finding f;

	if (size <= max)
		return 0;
	f = ick_finding_blank(ICK_PR_SIZE_TOO_BIG, ic->ino);
	f.expected = (uint64_t)(ic->last_mapped + 1) * ctx->fs->blocksize;
	f.found = size;
	return ick_report_add(ctx->rep, &f, "i_size is %llu, the mapping addresses at most %llu",
			      (unsigned long long)size, (unsigned long long)max);
}

static errcode_t file_size(struct ick_ctx *ctx, const struct ick_inode_ctx *ic)
{
	uint64_t bs = ctx->fs->blocksize, size = EXT2_I_SIZE(ic->inode);
	uint64_t first_past, last = (uint64_t)ic->last_written;
	struct ick_finding f;

	if (ic->last_written < 0 || (ic->inode->i_flags & EXT4_VERITY_FL))
		return too_big(ctx, ic);
	if (last * bs < size)
		return too_big(ctx, ic);
	if (last * bs == size && internal_inode(ctx->fs, ic->ino))
		return 0;
	f = ick_finding_blank(last * bs > size ? ICK_PR_SIZE_WRITTEN_PAST_EOF
					       : ICK_PR_SIZE_WRITTEN_AT_EOF, ic->ino);
	first_past = (size + bs - 1) / bs;
	f.lblk = first_past;
	f.len = last - first_past + 1;
	f.expected = (last + 1) * bs;
	f.found = size;
	return ick_report_add(ctx->rep, &f, "i_size is %llu, should be %llu",
			      (unsigned long long)size, (unsigned long long)f.expected);
}

static errcode_t dir_size(struct ick_ctx *ctx, const struct ick_inode_ctx *ic)
{
	ext2_filsys fs = ctx->fs;
	uint64_t size = EXT2_I_SIZE(ic->inode), nblock = size >> EXT2_BLOCK_SIZE_BITS(fs->super);
	uint64_t want = (uint64_t)(ic->last_mapped + 1);
	struct ick_finding f;
	int bad;

	if (ic->inode->i_flags & EXT4_INLINE_DATA_FL)
		return 0;
	bad = (size & (fs->blocksize - 1)) || nblock > want ||
	      (nblock < want && want - nblock > fs->super->s_prealloc_dir_blocks);
	if (!bad)
		return 0;
	f = ick_finding_blank(ICK_PR_SIZE_DIR, ic->ino);
	f.expected = want * fs->blocksize;
	f.found = size;
	return ick_report_add(ctx->rep, &f, "i_size is %llu, should be %llu",
			      (unsigned long long)size, (unsigned long long)f.expected);
}

static errcode_t iblocks(struct ick_ctx *ctx, const struct ick_inode_ctx *ic)
{
	ext2_filsys fs = ctx->fs;
	uint64_t want = ic->nblocks * (fs->blocksize / 512);
	uint64_t have = ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)ic->inode);
	struct ick_finding f;

	if (want == have)
		return 0;
	f = ick_finding_blank(ICK_PR_SIZE_IBLOCKS, ic->ino);
	f.expected = want;
	f.found = have;
	return ick_report_add(ctx->rep, &f, "i_blocks is %llu, should be %llu (512-byte units)",
			      (unsigned long long)have, (unsigned long long)want);
}

static errcode_t sz_end_inode(void *p, struct ick_inode_ctx *ic)
{
	struct ick_ctx *ctx = p;
	errcode_t err = 0;

	/* e2fsck walks the bad-blocks inode apart and never checks its sizes; neither do we */
	if (ic->ino == EXT2_BAD_INO)
		return 0;
	if (LINUX_S_ISREG(ic->inode->i_mode))
		err = file_size(ctx, ic);
	else if (LINUX_S_ISDIR(ic->inode->i_mode))
		err = dir_size(ctx, ic);
	else if (!LINUX_S_ISLNK(ic->inode->i_mode)) /* e2fsck checks symlink sizes apart */
		err = too_big(ctx, ic);
	return err ? err : iblocks(ctx, ic);
}

static errcode_t sz_setup(struct ick_ctx *ctx, void **state)
{
	*state = ctx;
	return 0;
}

const struct ick_check_def ick_check_size = {
	.name = "size",
	.id = ICK_CHECK_SIZE,
	.setup = sz_setup,
	.ops = { .end_inode = sz_end_inode },
};
