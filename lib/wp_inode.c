/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wp_inode.c - the inodes the model has touched: read once, refused unless a regular
 * extent-mapped file without inline data (as do_write_begin refuses them).
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "wp.h"

/* ---- inodes ---- */

void wp_inode_free(struct wpi *wi)
{
	for (size_t i = 0; i < wi->nfo; i++)
		wp_folio_put(wi->wp, wi->fo[i]);
	free(wi->fo);
	free(wi->da);
	free(wi);
}

errcode_t wp_read_inode(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode_large *in)
{
	memset(in, 0, sizeof(*in));
	return ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)in, sizeof(*in));
}

errcode_t wp_get_inode(struct ick_wp *wp, ext2_ino_t ino, struct wpi **out)
{
	struct wpi *wi;
	errcode_t err;

	for (wi = wp->inodes; wi; wi = wi->next)
		if (wi->ino == ino) {
			*out = wi;
			return 0;
		}
	if (ino < EXT2_FIRST_INODE(wp->fs->super) || ino > wp->fs->super->s_inodes_count)
		return EXT2_ET_BAD_INODE_NUM;
	if (!(wi = calloc(1, sizeof(*wi))))
		return ENOMEM;
	wi->wp = wp;
	wi->ino = ino;
	if ((err = wp_read_inode(wp->fs, ino, &wi->inode))) {
		free(wi);
		return err;
	}
	/* the kernel path refuses these (ERANGE / EINVAL in do_write_begin) */
	if (!LINUX_S_ISREG(wi->inode.i_mode) || (wi->inode.i_flags & EXT4_INLINE_DATA_FL) ||
	    !(wi->inode.i_flags & EXT4_EXTENTS_FL)) {
		free(wi);
		return ICK_ET_WP_FILE;
	}
	wi->i_size = EXT2_I_SIZE(&wi->inode);
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		wi->owner[t] = ick_quota_owner(wp->fs, &wi->inode, t);
	wi->next = wp->inodes;
	wp->inodes = wi;
	*out = wi;
	return 0;
}
