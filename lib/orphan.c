/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * orphan.c - release orphan inodes as a mount does (contract in orphan.h).
 * Rules from Linux fs/ext4/orphan.c (ext4_orphan_cleanup) and e2fsprogs e2fsck/super.c
 * (release_orphan_inodes), read for facts; the freeing itself is libext2fs's
 * (ext2fs_punch, ext2fs_adjust_ea_refcount3, ext2fs_inode_alloc_stats2).
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <et/com_err.h>
#include "orphan.h"
#include "quota_file.h"

struct orph {
	ext2_filsys fs;
	struct ick_report *rep;
	struct ick_orphan_stats *st;
	struct ick_quota_file *q[ICK_QUOTA_NTYPES];
	ext2fs_inode_bitmap seen;
};

int ick_orphans_present(ext2_filsys fs)
{
	return fs->super->s_last_orphan || ext2fs_has_feature_orphan_present(fs->super);
}

static int valid_ino(ext2_filsys fs, ext2_ino_t ino)
{
	return ino >= EXT2_FIRST_INODE(fs->super) && ino <= fs->super->s_inodes_count;
}

/* The kernel releases the quota of what it frees; keep the view's quota files right. */
static void charge(struct orph *o, const struct ext2_inode_large *in, int64_t bytes, int64_t inodes)
{
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++) {
		/* a file the writer refuses (inconsistent free lists) keeps its old usage, and
		 * the quota check then reports the difference: nothing is hidden */
		errcode_t e = o->q[t] ? ick_quota_add_usage(o->q[t], ick_quota_owner(o->fs, in, t),
							   bytes, inodes) : 0;
		(void)e;
	}
}

static errcode_t read_full(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode_large *in)
{
	memset(in, 0, sizeof(*in));
	return ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)in, sizeof(*in));
}

/* Delete (no links) or truncate to i_size one orphan, as ext4_orphan_cleanup does. */
static errcode_t release_one(struct orph *o, ext2_ino_t ino, struct ext2_inode_large *in)
{
	ext2_filsys fs = o->fs;
	blk64_t before = ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)in), after;
	int del = in->i_links_count == 0;
	uint64_t start = del ? 0 : (EXT2_I_SIZE(in) + fs->blocksize - 1) / fs->blocksize;
	struct ick_finding f = ick_finding_blank(ICK_PR_JOURNAL_ORPHAN, ino);
	errcode_t err;

	if (ext2fs_inode_has_valid_blocks2(fs, (struct ext2_inode *)in) &&
	    (err = ext2fs_punch(fs, ino, (struct ext2_inode *)in, NULL, start, ~0ULL)))
		return err;
	if ((err = read_full(fs, ino, in)))
		return err;
	if (del && ext2fs_file_acl_block(fs, (struct ext2_inode *)in)) {
		blk64_t ea = ext2fs_file_acl_block(fs, (struct ext2_inode *)in);
		__u32 count = 1;
		err = ext2fs_adjust_ea_refcount3(fs, ea, NULL, -1, &count, ino);
		if (!err && count == 0) {
			ext2fs_block_alloc_stats2(fs, ea, -1);
			ext2fs_iblk_sub_blocks(fs, (struct ext2_inode *)in, 1);
		}
		ext2fs_file_acl_block_set(fs, (struct ext2_inode *)in, 0);
	}
	after = ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)in);
	charge(o, in, -(int64_t)((before - (after < before ? after : before)) * 512), del ? -1 : 0);
	if (del) {
		ext2fs_inode_alloc_stats2(fs, ino, -1, LINUX_S_ISDIR(in->i_mode));
		in->i_dtime = fs->now ? (__u32)fs->now : (__u32)time(NULL);
		o->st->deleted++;
	} else {
		in->i_dtime = 0;
		o->st->truncated++;
	}
	if ((err = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)in, sizeof(*in))))
		return err;
	if (!o->rep)
		return 0;
	return ick_report_add(o->rep, &f, del ? "inode %u: orphan with no links, deleted in the "
				 "view as a mount deletes it" : "inode %u: orphan, truncated in "
				 "the view to i_size as a mount truncates it", ino);
}

/* Each inode once: a loop in the chain or the same inode twice stops the walk. */
static int first_visit(struct orph *o, ext2_ino_t ino)
{
	if (ext2fs_test_inode_bitmap2(o->seen, ino))
		return 0;
	ext2fs_mark_inode_bitmap2(o->seen, ino);
	return 1;
}

static errcode_t walk_list(struct orph *o)
{
	ext2_filsys fs = o->fs;
	ext2_ino_t ino = fs->super->s_last_orphan;
	struct ext2_inode_large in;
	errcode_t err;

	fs->super->s_last_orphan = 0;
	ext2fs_mark_super_dirty(fs);
	while (ino) {
		ext2_ino_t next;
		if (!valid_ino(fs, ino)) {
			snprintf(o->st->why, sizeof(o->st->why), "orphan list names inode %u, "
				 "outside %u..%u", ino, EXT2_FIRST_INODE(fs->super),
				 fs->super->s_inodes_count);
			return 0;
		}
		if (!first_visit(o, ino)) {
			snprintf(o->st->why, sizeof(o->st->why), "orphan list loops back to inode %u",
				 ino);
			return 0;
		}
		if ((err = read_full(fs, ino, &in)))
			return err;
		next = in.i_dtime; /* the chain runs through i_dtime */
		if ((err = release_one(o, ino, &in)))
			return err;
		ino = next;
	}
	return 0;
}

static errcode_t walk_file_block(struct orph *o, blk64_t pblk, char *buf)
{
	ext2_filsys fs = o->fs;
	int per = ext2fs_inodes_per_orphan_block(fs);
	struct ext2_inode_large in;
	errcode_t err;

	if ((err = io_channel_read_blk64(fs->io, pblk, 1, buf)))
		return err;
	for (int i = 0; i < per; i++) {
		ext2_ino_t ino = ext2fs_le32_to_cpu(((__u32 *)buf)[i]);
		if (!ino)
			continue;
		((__u32 *)buf)[i] = 0;
		if (!valid_ino(fs, ino) || !first_visit(o, ino))
			continue;
		if ((err = read_full(fs, ino, &in)) || (err = release_one(o, ino, &in)))
			return err;
	}
	if (ext2fs_has_feature_metadata_csum(fs->super) &&
	    (err = ext2fs_orphan_file_block_csum_set(fs, fs->super->s_orphan_file_inum, pblk, buf)))
		return err;
	return io_channel_write_blk64(fs->io, pblk, 1, buf);
}

static errcode_t walk_file(struct orph *o)
{
	ext2_filsys fs = o->fs;
	ext2_ino_t fino = fs->super->s_orphan_file_inum;
	struct ext2_inode inode;
	uint64_t nblk;
	char *buf;
	errcode_t err = 0;

	if (!ext2fs_has_feature_orphan_file(fs->super) || !valid_ino(fs, fino) ||
	    ext2fs_read_inode(fs, fino, &inode))
		return 0;
	nblk = EXT2_I_SIZE(&inode) / fs->blocksize;
	if (nblk > ext2fs_blocks_count(fs->super))
		return 0;
	if (!(buf = malloc(fs->blocksize)))
		return ENOMEM;
	for (uint64_t l = 0; l < nblk && !err; l++) {
		blk64_t p = 0;
		if (ext2fs_bmap2(fs, fino, &inode, NULL, 0, l, NULL, &p) || !p ||
		    p >= ext2fs_blocks_count(fs->super))
			break; /* e2fsck: the orphan file must not have holes */
		err = walk_file_block(o, p, buf);
	}
	free(buf);
	if (!err) {
		ext2fs_clear_feature_orphan_present(fs->super);
		ext2fs_mark_super_dirty(fs);
	}
	return err;
}

static errcode_t do_release(ext2_filsys fs, struct ick_report *rep, struct ick_orphan_stats *st)
{
	struct orph o = { .fs = fs, .rep = rep, .st = st };
	errcode_t err;

	memset(st, 0, sizeof(*st));
	if (!ick_orphans_present(fs))
		return 0;
	if (fs->super->s_state & EXT2_ERROR_FS) {
		fs->super->s_last_orphan = 0;
		ext2fs_mark_super_dirty(fs);
		st->skipped_error_fs = 1;
		return 0;
	}
	if ((err = ext2fs_read_bitmaps(fs)))
		return err;
	if ((err = ext2fs_allocate_inode_bitmap(fs, "orphans seen", &o.seen)))
		return err;
	if (ext2fs_has_feature_quota(fs->super))
		for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
			if (ick_quota_open(fs, t, ICK_QUOTA_RW, &o.q[t]))
				o.q[t] = NULL; /* a malformed file is the quota check's finding */
	err = walk_list(&o);
	if (!err)
		err = walk_file(&o);
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++) {
		errcode_t e = ick_quota_close(o.q[t]);
		if (!err)
			err = e;
	}
	ext2fs_free_inode_bitmap(o.seen);
	return err;
}

/*
 * libext2fs reports an orphan's wild block numbers through com_err while freeing them
 * (ext2fs_block_alloc_stats2: "Illegal block number") and goes on; count them for the note
 * instead of letting them reach the user's terminal as stray lines.
 */
static unsigned wild_blocks;

static void count_wild(const char *who, long code, const char *fmt, va_list ap)
{
	(void)who;
	(void)code;
	(void)fmt;
	(void)ap;
	wild_blocks++;
}

errcode_t ick_orphans_release(ext2_filsys fs, struct ick_report *rep, struct ick_orphan_stats *st)
{
	void (*old)(const char *, long, const char *, va_list);
	errcode_t err;

	wild_blocks = 0;
	old = set_com_err_hook(count_wild);
	err = do_release(fs, rep, st);
	if (old)
		set_com_err_hook(old);
	else
		reset_com_err_hook();
	st->wild_blocks = wild_blocks;
	return err;
}
