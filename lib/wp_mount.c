/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wp_mount.c - one mount of the model: open (the refusals), hooks and trace, unmount
 * (writeback, check), a crash (drop everything), and poisoning free space.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "wp.h"

/* ---- mount, unmount, crash ---- */

errcode_t ick_wp_open(ext2_filsys fs, struct ick_wp **out)
{
	struct ick_wp *wp;
	errcode_t err;

	*out = NULL;
	if (!(fs->flags & EXT2_FLAG_RW))
		return ICK_ET_READ_ONLY;
	if (ext2fs_has_feature_journal_needs_recovery(fs->super))
		return ICK_ET_NEEDS_RECOVERY;
	if (ext2fs_has_feature_bigalloc(fs->super))
		return ICK_ET_UNSUPPORTED_FEATURE;
	if ((err = ext2fs_read_bitmaps(fs)))
		return err;
	if (!(wp = calloc(1, sizeof(*wp))))
		return ENOMEM;
	wp->fs = fs;
	wp->ncpus = 1;
	wp->folio_size = (sizeof(struct folio) + fs->blocksize + 63) / 64 * 64;
	/* a commit must be on the image when it returns: no write-back cache in between */
	if ((err = io_channel_set_options(fs->io, "cache=off")))
		goto fail;
	fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;
	if (ext2fs_has_feature_quota(fs->super))
		for (int t = 0; t < ICK_QUOTA_NTYPES; t++) {
			if (!ick_quota_inum(fs, t))
				continue;
			if ((err = ick_quota_open(fs, t, ICK_QUOTA_RW, &wp->q[t])))
				goto fail;
		}
	*out = wp;
	return 0;
fail:
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		(void)ick_quota_close(wp->q[t]);
	free(wp);
	return err;
}

void ick_wp_set_hooks(struct ick_wp *wp, const struct ick_wp_hooks *h)
{
	wp->hooks = h ? *h : (struct ick_wp_hooks){ 0 };
}

void ick_wp_set_trace(struct ick_wp *wp, ick_wp_trace_fn fn, void *priv)
{
	wp->trace = fn;
	wp->trace_priv = priv;
}

static void wp_free(struct ick_wp *wp)
{
	while (wp->inodes) {
		struct wpi *n = wp->inodes->next;
		wp_inode_free(wp->inodes);
		wp->inodes = n;
	}
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		free(wp->qr[t]);
	while (wp->chunks) {
		struct chunk *n = wp->chunks->next;
		munmap(wp->chunks, wp->chunks->size);
		wp->chunks = n;
	}
	free(wp);
}

errcode_t ick_wp_unmount(struct ick_wp *wp, struct ick_report *rep)
{
	errcode_t err, e;

	if (!wp)
		return 0;
	err = ick_wp_writeback(wp, 0, NULL);
	if (!err && rep)
		err = ick_wp_check(wp, rep);
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		if ((e = ick_quota_close(wp->q[t])) && !err)
			err = e;
	wp_free(wp);
	return err;
}

void ick_wp_crash(struct ick_wp *wp)
{
	if (!wp)
		return;
	/* every commit flushed its quota files, so closing writes nothing */
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		(void)ick_quota_close(wp->q[t]);
	wp_free(wp);
}

/* ---- poison ---- */

errcode_t ick_wp_poison_free(struct ick_wp *wp, const unsigned char *pat, size_t len,
			     uint64_t *blocks)
{
	ext2_filsys fs = wp->fs;
	unsigned bs = fs->blocksize;
	unsigned char *buf;
	errcode_t err = 0;

	*blocks = 0;
	if (!len || !(buf = malloc(bs)))
		return len ? ENOMEM : EINVAL;
	for (unsigned i = 0; i < bs; i++)
		buf[i] = pat[i % len];
	for (blk64_t b = fs->super->s_first_data_block; b < ext2fs_blocks_count(fs->super); b++) {
		if (ext2fs_fast_test_block_bitmap2(fs->block_map, b))
			continue;
		if ((err = io_channel_write_blk64(fs->io, b, 1, buf)))
			break;
		(*blocks)++;
	}
	free(buf);
	return err;
}
