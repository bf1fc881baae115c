/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wp_alloc.c - block allocation as the kernel does it: the free-space rules
 * (ext4_has_free_clusters, ext4_calculate_resv_clusters, ext4_nonda_switch), what the
 * extent tree maps, allocation of unwritten extents (ext4_mb_new_blocks' halving on
 * ENOSPC) and their conversion to written (the I/O end).
 */
#include "config.h"
#include <errno.h>
#include "wp.h"

/* ---- the free-space rules ---- */

static uint64_t resv_clusters(ext2_filsys fs)
{
	uint64_t r = ext2fs_blocks_count(fs->super) / 50;

	if (!ext2fs_has_feature_extents(fs->super))
		return 0;
	return r < 4096 ? r : 4096;
}

static int privileged(ext2_filsys fs, const struct wpi *wi)
{
	return wi->owner[ICK_QUOTA_USER] == 0 ||
	       wi->owner[ICK_QUOTA_USER] == fs->super->s_def_resuid ||
	       (fs->super->s_def_resgid && wi->owner[ICK_QUOTA_GROUP] == fs->super->s_def_resgid);
}

/* ext4_has_free_clusters */
int wp_has_free(struct ick_wp *wp, struct wpi *wi, uint64_t n)
{
	ext2_filsys fs = wp->fs;
	uint64_t free = ext2fs_free_blocks_count(fs->super), dirty = wp->dirty_clusters;
	uint64_t rc = resv_clusters(fs), rsv = ext2fs_r_blocks_count(fs->super) + rc;

	if (free >= rsv + n + dirty)
		return 1;
	return privileged(fs, wi) && free >= n + dirty + rc;
}

/* ext4_nonda_switch */
int wp_nonda_switch(struct ick_wp *wp)
{
	uint64_t free = ext2fs_free_blocks_count(wp->fs->super), dirty = wp->dirty_clusters;
	uint64_t batch = 2 * wp->ncpus > 32 ? 2 * wp->ncpus : 32;
	uint64_t watermark = 4 * batch * wp->ncpus;

	return 2 * free < 3 * dirty || free < dirty + watermark;
}

/* ---- on-disk mapping ---- */

/* What the extent tree maps at @lblk, for at most @max blocks (HOLE up to the next
 * extent). */
errcode_t wp_disk_lookup(struct wpi *wi, uint64_t lblk, uint64_t max, struct dmap *m)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent e;
	errcode_t err;

	m->type = ICK_IOMAP_HOLE;
	m->pblk = 0;
	m->len = max;
	if ((err = ext2fs_extent_open2(wi->wp->fs, wi->ino, (struct ext2_inode *)&wi->inode, &h)))
		return err;
	err = ext2fs_extent_goto2(h, 0, lblk);
	if (!err && !(err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &e)) &&
	    e.e_lblk <= lblk && lblk < e.e_lblk + e.e_len) {
		m->type = (e.e_flags & EXT2_EXTENT_FLAGS_UNINIT) ? ICK_IOMAP_UNWRITTEN
								  : ICK_IOMAP_MAPPED;
		m->pblk = e.e_pblk + (lblk - e.e_lblk);
		if (e.e_lblk + e.e_len - lblk < max)
			m->len = e.e_lblk + e.e_len - lblk;
		goto out;
	}
	/* a hole: it ends where the next leaf extent starts */
	err = 0;
	if (ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &e))
		goto out;
	for (int i = 0; i < 4 && e.e_lblk <= lblk; i++)
		if (ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &e))
			goto out;
	if (e.e_lblk > lblk && e.e_lblk - lblk < max)
		m->len = e.e_lblk - lblk;
out:
	ext2fs_extent_free(h);
	return err == EXT2_ET_EXTENT_NOT_FOUND ? 0 : err;
}

/* The model's view of @lblk: on disk, else delalloc, else a hole (clipped at the next
 * delalloc extent). */
errcode_t wp_model_lookup(struct wpi *wi, uint64_t lblk, uint64_t max, struct dmap *m)
{
	errcode_t err = wp_disk_lookup(wi, lblk, max, m);
	size_t i;

	if (err || m->type != ICK_IOMAP_HOLE)
		return err;
	i = wp_da_find(wi, lblk);
	if (i < wi->nda && wi->da[i].lblk <= lblk) {
		uint64_t left = wi->da[i].lblk + wi->da[i].len - lblk;
		m->type = ICK_IOMAP_DELALLOC;
		if (left < m->len)
			m->len = left;
	} else if (i < wi->nda && wi->da[i].lblk - lblk < m->len) {
		m->len = wi->da[i].lblk - lblk;
	}
	return 0;
}

/* ---- allocation and conversion ---- */

/* Map the free physical run [pblk, pblk+len) at @lblk (a hole): libext2fs maps the first
 * block of each piece (merging, splitting and growing the tree as needed), then the extent
 * that now ends there is lengthened over the rest, up to the extent length limit. */
static errcode_t map_run(struct wpi *wi, ext2_extent_handle_t h, uint64_t lblk, blk64_t pblk,
			 uint64_t len, int uninit)
{
	ext2_filsys fs = wi->wp->fs;
	uint64_t max = uninit ? EXT_UNINIT_MAX_LEN : EXT_INIT_MAX_LEN, i = 0;
	struct ext2fs_extent e;
	errcode_t err = 0;

	ext2fs_block_alloc_stats_range(fs, pblk, len, +1);
	while (i < len) {
		uint64_t more;

		if ((err = ext2fs_extent_set_bmap(h, lblk + i, pblk + i,
						  uninit ? EXT2_EXTENT_SET_BMAP_UNINIT : 0)) ||
		    (err = ext2fs_extent_goto(h, lblk + i)) ||
		    (err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &e)))
			break;
		more = len - i - 1;
		if (e.e_lblk + e.e_len != lblk + i + 1 ||
		    e.e_pblk + (lblk + i - e.e_lblk) != pblk + i)
			more = 0; /* not the extent we expected: go block by block */
		if (more > max - e.e_len)
			more = max - e.e_len;
		if (more) {
			e.e_len += (uint32_t)more;
			if ((err = ext2fs_extent_replace(h, 0, &e)) ||
			    (err = ext2fs_extent_fix_parents(h)))
				break;
		}
		i += 1 + more;
	}
	if (err) /* what is not mapped goes back */
		ext2fs_block_alloc_stats_range(fs, pblk + i, len - i, -1);
	return ext2fs_iblk_add_blocks(fs, (struct ext2_inode *)&wi->inode, i) ? EOVERFLOW : err;
}

/* ext4_mb_new_blocks: a request not reserved by delalloc is halved until
 * ext4_claim_free_clusters (ext4_has_free_clusters) lets it through; 0: ENOSPC */
static uint64_t claimable(struct wpi *wi, uint64_t lblk, uint64_t n)
{
	if (wp_is_delalloc(wi, lblk))
		return n;	/* EXT4_MB_DELALLOC_RESERVED: claimed at reservation */
	while (n && !wp_has_free(wi->wp, wi, n))
		n >>= 1;
	return n;
}

/*
 * Allocate the hole [lblk, lblk+n) as unwritten extents (written with the written_alloc
 * bug) near the inode's goal, and charge the quota by the inode's i_blocks growth (data
 * and tree blocks).  Delalloc blocks in the range have their reservation claimed; other
 * blocks only as far as the free-space rules allow (claimable; ENOSPC beyond, with the
 * blocks before it allocated, *@done of them).  The caller commits.  (ext2fs_fallocate is
 * not used: given a range short of the next extent it also fills the gap up to that
 * extent.)
 */
errcode_t wp_alloc_range_n(struct wpi *wi, uint64_t lblk, uint64_t n, uint64_t *done_out)
{
	struct ick_wp *wp = wi->wp;
	ext2_filsys fs = wp->fs;
	unsigned bugs = wi->call ? wi->call->bugs : 0;
	uint64_t before = ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)&wi->inode), after;
	uint64_t claimed = 0, done = 0;
	ext2_extent_handle_t h;
	errcode_t err;

	if ((err = ext2fs_extent_open2(fs, wi->ino, (struct ext2_inode *)&wi->inode, &h)))
		return err;
	while (done < n) {
		blk64_t goal = ext2fs_find_inode_goal(fs, wi->ino, (struct ext2_inode *)&wi->inode,
						      lblk + done);
		blk64_t pblk, plen;
		uint64_t want = claimable(wi, lblk + done, n - done);

		if (!want) {
			err = ENOSPC;
			break;
		}
		if ((err = ext2fs_new_range(fs, 0, goal, want, NULL, &pblk, &plen)) &&
		    (err = ext2fs_new_range(fs, 0, fs->super->s_first_data_block, want, NULL,
					    &pblk, &plen)))
			break;
		if (plen > want)
			plen = want;
		if ((err = map_run(wi, h, lblk + done, pblk, plen,
				   !(bugs & ICK_WP_BUG_WRITTEN_ALLOC))))
			break;
		done += plen;
	}
	ext2fs_extent_free(h);
	after = ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)&wi->inode);
	if (after > before)
		wp_charge(wp, wi, (int64_t)((after - before) * 512), 0);
	if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
		err = ENOSPC;
	for (uint64_t b = lblk; b < lblk + done; b++)
		if (wp_is_delalloc(wi, b)) {
			errcode_t e = wp_da_remove1(wi, b);
			if (e && !err)
				err = e;
			claimed++;
		}
	wp_unreserve(wp, wi, claimed);
	if (done)
		wi->es_seq++;
	wp_trace(wp, "alloc: ino %u blocks %llu+%llu %s%s", wi->ino, (unsigned long long)lblk,
	      (unsigned long long)done, (bugs & ICK_WP_BUG_WRITTEN_ALLOC) ? "written" : "unwritten",
	      claimed ? " (delalloc claimed)" : "");
	if (done_out)
		*done_out = done;
	return err;
}

errcode_t wp_alloc_range(struct wpi *wi, uint64_t lblk, uint64_t n)
{
	return wp_alloc_range_n(wi, lblk, n, NULL);
}

/* Convert the unwritten blocks of [lblk, lblk+n) to written. */
errcode_t wp_convert_range(struct wpi *wi, uint64_t lblk, uint64_t n)
{
	struct ick_wp *wp = wi->wp;
	ext2_filsys fs = wp->fs;
	uint64_t before = ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)&wi->inode), after;
	ext2_extent_handle_t h;
	struct ext2fs_extent e;
	uint64_t b = lblk, end = lblk + n, converted = 0;
	errcode_t err;

	if ((err = ext2fs_extent_open2(fs, wi->ino, (struct ext2_inode *)&wi->inode, &h)))
		return err;
	while (b < end) {
		if ((err = ext2fs_extent_goto2(h, 0, b)) == EXT2_ET_EXTENT_NOT_FOUND) {
			b++;
			continue;
		}
		if (err || (err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &e)))
			break;
		if (b < e.e_lblk || b >= e.e_lblk + e.e_len) {
			b++;
			continue;
		}
		if (!(e.e_flags & EXT2_EXTENT_FLAGS_UNINIT)) {
			b = e.e_lblk + e.e_len;
			continue;
		}
		if (e.e_lblk == b && e.e_lblk + e.e_len <= end) {
			/* the whole extent: one replace */
			e.e_flags &= ~EXT2_EXTENT_FLAGS_UNINIT;
			if ((err = ext2fs_extent_replace(h, 0, &e)) ||
			    (err = ext2fs_extent_fix_parents(h)))
				break;
			converted += e.e_len;
			b = e.e_lblk + e.e_len;
			continue;
		}
		/* a partial extent: block by block, libext2fs splits and merges */
		if ((err = ext2fs_extent_set_bmap(h, b, e.e_pblk + (b - e.e_lblk), 0)))
			break;
		converted++;
		b++;
	}
	ext2fs_extent_free(h);
	after = ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)&wi->inode);
	if (after != before) /* a split may have grown the tree */
		wp_charge(wp, wi, ((int64_t)after - (int64_t)before) * 512, 0);
	if (converted) {
		wi->es_seq++;
		wp_trace(wp, "convert: ino %u blocks %llu+%llu, %llu converted", wi->ino,
		      (unsigned long long)lblk, (unsigned long long)n, (unsigned long long)converted);
	}
	return err;
}

/* The failure path of an allocation that got its blocks but could not map them: the
 * blocks go back (unless the leak_on_fail bug keeps their bitmap bits). */
errcode_t wp_fail_alloc(struct wpi *wi, uint64_t n, errcode_t why)
{
	ext2_filsys fs = wi->wp->fs;
	blk64_t goal = ext2fs_find_inode_goal(fs, wi->ino, (struct ext2_inode *)&wi->inode, 0);
	blk64_t pblk, plen;
	errcode_t err;

	if (n > 64)
		n = 64;
	err = ext2fs_new_range(fs, 0, goal, n, NULL, &pblk, &plen);
	if (err)
		return why;
	ext2fs_block_alloc_stats_range(fs, pblk, plen, +1);
	if (wi->call->bugs & ICK_WP_BUG_LEAK_ON_FAIL) {
		wp_trace(wi->wp, "fail: %llu blocks at %llu kept in the bitmap (leak_on_fail)",
		      (unsigned long long)plen, (unsigned long long)pblk);
		if ((err = wp_commit(wi->wp, NULL, "failed allocation")))
			return err;
	} else {
		ext2fs_block_alloc_stats_range(fs, pblk, plen, -1);
		wp_trace(wi->wp, "fail: %llu blocks at %llu returned", (unsigned long long)plen,
		      (unsigned long long)pblk);
	}
	return why;
}
