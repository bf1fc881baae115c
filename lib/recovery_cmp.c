/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * recovery_cmp.c - our journal replay against the kernel's (see recovery_cmp.h).
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ick_err.h"
#include "image.h"
#include "overlay.h"
#include "recovery_cmp.h"
#include "view.h"

struct cmp {
	struct ick_image *kernel;    /* the kernel-recovered image */
	struct ick_image *view;      /* our view (journal + orphans), or NULL */
	struct ick_report *rep;
	struct ick_recovery_cmp *out;
	blk64_t skip[2];             /* the two superblocks */
	ext2fs_block_bitmap journal; /* the journal's blocks: the kernel's next transactions
				      * go there after a rw mount; not file system state */
	unsigned char *buf;
	unsigned bs;
};

/* The first byte at which two blocks differ. */
static size_t first_diff(const unsigned char *a, const unsigned char *b, size_t n)
{
	size_t i = 0;

	while (i < n && a[i] == b[i])
		i++;
	return i;
}

static errcode_t one(uint64_t blk, const unsigned char *ours, void *priv)
{
	struct cmp *c = priv;
	const unsigned char *v;
	struct ick_finding f;
	errcode_t err;

	if (blk == c->skip[0] || blk == c->skip[1]) {
		c->out->skipped++;
		return 0;
	}
	c->out->blocks++;
	if ((err = io_channel_read_blk64(c->kernel->fs->io, blk, 1, c->buf)))
		return err;
	if (!memcmp(ours, c->buf, c->bs)) {
		c->out->equal++;
		return 0;
	}
	v = c->view && c->view->overlay ? ick_overlay_get(c->view->overlay, blk) : NULL;
	if (v && !memcmp(v, c->buf, c->bs)) {
		c->out->equal_after_orphans++;
		return 0;
	}
	/* both releases changed it: a deleted orphan's inode carries each one's clock (i_dtime)
	 * and the kernel's own choices (i_size zeroed at eviction), so bytes cannot match */
	if (v && memcmp(v, ours, c->bs)) {
		c->out->orphan_changed++;
		return 0;
	}
	c->out->differ++;
	f = ick_finding_blank(ICK_PR_JOURNAL_RECOVERY_DIFFERS, 0);
	f.pblk = blk;
	f.len = 1;
	return ick_report_add(c->rep, &f, "first differing byte at offset %zu",
			      first_diff(ours, c->buf, c->bs));
}

/* Blocks the kernel changed that our replay does not write (nor our orphan release):
 * a transaction it replayed and we did not.  Read a chunk at a time from both images. */
static errcode_t kernel_only(struct cmp *c, struct ick_image *raw, struct ick_overlay *ov)
{
	enum { CHUNK = 256 };
	blk64_t n = ext2fs_blocks_count(raw->fs->super);
	unsigned char *a, *b;
	errcode_t err = 0;

	if (!(a = malloc((size_t)CHUNK * c->bs)) || !(b = malloc((size_t)CHUNK * c->bs))) {
		free(a);
		return ENOMEM;
	}
	for (blk64_t blk = 0; blk < n && !err; blk += CHUNK) {
		int k = n - blk < CHUNK ? (int)(n - blk) : CHUNK;

		if ((err = io_channel_read_blk64(raw->fs->io, blk, k, a)) ||
		    (err = io_channel_read_blk64(c->kernel->fs->io, blk, k, b)))
			break;
		for (int i = 0; i < k && !err; i++) {
			const unsigned char *x = a + (size_t)i * c->bs, *y = b + (size_t)i * c->bs;
			struct ick_finding f;

			if (!memcmp(x, y, c->bs) || blk + i == c->skip[0] || blk + i == c->skip[1] ||
			    ick_overlay_get(ov, blk + i) ||
			    (c->journal && ext2fs_test_block_bitmap2(c->journal, blk + i)) ||
			    (c->view && c->view->overlay && ick_overlay_get(c->view->overlay, blk + i)))
				continue;
			c->out->kernel_only++;
			f = ick_finding_blank(ICK_PR_JOURNAL_RECOVERY_DIFFERS, 0);
			f.pblk = blk + i;
			f.len = 1;
			err = ick_report_add(c->rep, &f, "the kernel changed it; our replay does not "
					     "write it (first differing byte at offset %zu)",
					     first_diff(x, y, c->bs));
		}
	}
	free(a);
	free(b);
	return err;
}

static int mark_journal(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref,
			int off, void *priv)
{
	ext2fs_block_bitmap bm = priv;

	if (*blocknr >= fs->super->s_first_data_block && *blocknr < ext2fs_blocks_count(fs->super))
		ext2fs_mark_block_bitmap2(bm, *blocknr);
	return 0;
}

/* The internal journal's blocks (NULL when there is none or it cannot be walked: then
 * journal blocks the kernel rewrote count as differences, never silently). */
static ext2fs_block_bitmap journal_blocks(ext2_filsys fs)
{
	ext2fs_block_bitmap bm;

	if (!ext2fs_has_feature_journal(fs->super) || !fs->super->s_journal_inum ||
	    ext2fs_allocate_block_bitmap(fs, "journal", &bm))
		return NULL;
	if (ext2fs_block_iterate3(fs, fs->super->s_journal_inum, BLOCK_FLAG_READ_ONLY, NULL,
				  mark_journal, bm)) {
		ext2fs_free_block_bitmap(bm);
		return NULL;
	}
	return bm;
}

/* The journal superblock's block, or 0 when there is no internal journal. */
static blk64_t journal_sb(ext2_filsys fs)
{
	blk64_t pblk = 0;
	ext2_ino_t ino = fs->super->s_journal_inum;

	if (!ext2fs_has_feature_journal(fs->super) || !ino ||
	    ext2fs_bmap2(fs, ino, NULL, NULL, 0, 0, NULL, &pblk))
		return 0;
	return pblk;
}

errcode_t ick_recovery_compare(const char *crashed, const char *recovered, struct ick_report *rep,
			       struct ick_recovery_cmp *out)
{
	struct ick_image *raw = NULL;
	struct ick_overlay *ov = NULL;
	struct cmp c = { .rep = rep, .out = out };
	errcode_t err;

	memset(out, 0, sizeof(*out));
	if ((err = ick_image_open(crashed, 0, NULL, &raw)))
		goto done;
	c.bs = raw->fs->blocksize;
	c.skip[0] = raw->fs->blocksize == 1024 ? 1 : 0;
	c.skip[1] = journal_sb(raw->fs);
	/* nothing to replay (an empty overlay) still leaves the other direction to compare */
	if ((err = ick_overlay_new(c.bs, &ov)) ||
	    (raw->needs_recovery && (err = ick_journal_recover(raw->fs, NULL, ov, &out->journal))))
		goto done;
	if ((err = ick_image_open(recovered, 0, NULL, &c.kernel)))
		goto done;
	if (c.kernel->fs->blocksize != c.bs ||
	    ext2fs_blocks_count(c.kernel->fs->super) != ext2fs_blocks_count(raw->fs->super)) {
		err = ICK_ET_GEOMETRY_DIFFERS;
		goto done;
	}
	/* our full view, for blocks the kernel's orphan release changed after the replay */
	{
		struct ick_report scratch;

		if ((err = ick_report_init(&scratch, crashed)))
			goto done;
		err = ick_view_open(crashed, NULL, &scratch, &c.view);
		ick_report_free(&scratch);
		if (err)
			goto done;
	}
	if (!(c.buf = malloc(c.bs))) {
		err = ENOMEM;
		goto done;
	}
	if (!(err = ick_overlay_iterate(ov, one, &c))) {
		c.journal = journal_blocks(raw->fs);
		err = kernel_only(&c, raw, ov);
	}
done:
	if (c.journal)
		ext2fs_free_block_bitmap(c.journal);
	free(c.buf);
	ick_image_close(c.view);
	ick_image_close(c.kernel);
	ick_overlay_free(ov);
	ick_image_close(raw);
	return err;
}
