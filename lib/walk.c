/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * walk.c - the single owner pass behind the bitmap, unwritten and size checks.
 * Owns: the traversal of group metadata, the inode table, extent trees (through libext2fs's
 * extent handle), indirect blocks (ext2fs_block_iterate3) and EA blocks.  Never writes.
 * Validation of extents follows e2fsck's scan_extent_node() (e2fsprogs 1.47.0,
 * e2fsck/pass1.c): bad start block, out of order, zero length, ends beyond the file system,
 * logical collision — in that order — so a mapping e2fsck -n skips is skipped here too.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "walk.h"
#include "report.h"
#include "ick_err.h"
#include "ea_inode.h"

struct region { uint64_t start, end; }; /* logical, end exclusive */

struct walker {
	ext2_filsys fs;
	const struct ick_walk_ops *ops;
	void *priv;
	ext2fs_block_bitmap tree_seen; /* tree blocks of the current inode (loop guard) */
	blk64_t *seen_list;
	size_t seen_nr, seen_cap;
	ext2fs_block_bitmap ea_seen;   /* shared EA blocks are claimed once */
	struct region *reg;            /* logical ranges of the current inode */
	size_t reg_nr, reg_cap;
	uint64_t entries, max_entries; /* per-inode work cap */
	char *buf;                     /* one block */
	const struct ick_map_cache *cache; /* NULL: every map is walked */
	int ea_every;                  /* hand a shared EA block to every inode naming it */
	blk64_t first, total;          /* s_first_data_block, blocks_count */
	blk64_t prev_pblk, prev_lblk;  /* bigalloc: e2fsck's pb->previous_block, last_block */
};

const char *ick_claim_kind_name(enum ick_claim_kind k)
{
	static const char *const n[] = { "superblock", "group descriptors", "block bitmap",
					 "inode bitmap", "inode table", "data", "extent tree block",
					 "indirect block", "EA block", "bad block", "resize inode",
					 "MMP block" };
	return (unsigned)k < ICK_ARRAY_SIZE(n) ? n[k] : "?";
}

const char *ick_bad_name(enum ick_bad b)
{
	static const char *const n[] = { "valid", "outside the file system", "zero length",
					 "out of order", "overlaps an earlier extent",
					 "unreadable or bad node", "tree loop",
					 "more entries than the file system has blocks",
					 "past the directory size limit",
					 "past the symlink size limit (one block)",
					 "past the block count a file may have" };
	return (unsigned)b < ICK_ARRAY_SIZE(n) ? n[b] : "?";
}

int ick_inode_in_use(ext2_filsys fs, ext2_ino_t ino, const struct ext2_inode *inode)
{
	if (ino < EXT2_FIRST_INODE(fs->super))
		return 1;
	return inode->i_links_count != 0;
}

static int outside(const struct walker *w, blk64_t pblk, uint64_t len)
{
	return pblk < w->first || pblk >= w->total || len > w->total - pblk;
}

static errcode_t emit(struct walker *w, struct ick_claim *c, struct ick_inode_ctx *ic)
{
	if (c->bad == ICK_BAD_NONE && c->kind != ICK_CLAIM_GDT && c->len &&
	    outside(w, c->pblk, c->len))
		c->bad = ICK_BAD_RANGE;
	if (ic && c->bad)
		ic->nbad++;
	if (ic && w->cache)
		w->cache->claim(w->cache->priv, c);
	return w->ops->claim ? w->ops->claim(w->priv, c, ic) : 0;
}

/* The current inode's map walk reads @blk next. */
static void map_read(struct walker *w, blk64_t blk)
{
	if (w->cache)
		w->cache->read(w->cache->priv, blk);
	if (w->ops->map_read)
		w->ops->map_read(w->priv, blk);
}

/* ---- group metadata ---- */

static errcode_t claim_meta(struct walker *w, enum ick_claim_kind kind, dgrp_t g, blk64_t pblk,
			    uint64_t len)
{
	struct ick_claim c = { .kind = kind, .group = g, .lblk = ICK_NONE, .pblk = pblk,
			       .len = len };
	return emit(w, &c, NULL);
}

static errcode_t walk_group_sb(struct walker *w, dgrp_t g)
{
	ext2_filsys fs = w->fs;
	blk64_t super, old_desc, new_desc, total = w->total;
	blk_t used;
	uint64_t old_n;
	errcode_t err;

	ext2fs_super_and_bgd_loc2(fs, g, &super, &old_desc, &new_desc, &used);
	old_n = ext2fs_has_feature_meta_bg(fs->super) ? fs->super->s_first_meta_bg :
		(uint64_t)fs->desc_blocks + fs->super->s_reserved_gdt_blocks;
	if ((super || g == 0) && (err = claim_meta(w, ICK_CLAIM_SUPER, g, super, 1)))
		return err;
	if (old_desc && old_desc < total) {
		if (old_n > total - old_desc)
			old_n = total - old_desc;
		if (old_n && (err = claim_meta(w, ICK_CLAIM_GDT, g, old_desc, old_n)))
			return err;
	}
	/* past the end as old_desc is clamped to it (a crafted tiny last group): libext2fs's
	 * own reservation ignores it too */
	if (new_desc && new_desc < total && (err = claim_meta(w, ICK_CLAIM_GDT, g, new_desc, 1)))
		return err;
	return 0;
}

/*
 * The MMP block is owned by the file system: e2fsck's e2fsck_pass1() marks s_mmp_block in
 * block_found_map when mmp is on and the block lies strictly above s_first_data_block and
 * inside the file system; elsewhere it claims nothing (and neither do we).
 */
static errcode_t walk_mmp(struct walker *w)
{
	blk64_t mmp = w->fs->super->s_mmp_block;

	if (!ext2fs_has_feature_mmp(w->fs->super) || mmp <= w->first || mmp >= w->total)
		return 0;
	return claim_meta(w, ICK_CLAIM_MMP, 0, mmp, 1);
}

static errcode_t walk_groups(struct walker *w)
{
	ext2_filsys fs = w->fs;
	errcode_t err;

	if ((err = walk_mmp(w)))
		return err;

	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		if ((err = walk_group_sb(w, g)))
			return err;
		if ((err = claim_meta(w, ICK_CLAIM_BBITMAP, g, ext2fs_block_bitmap_loc(fs, g), 1)) ||
		    (err = claim_meta(w, ICK_CLAIM_IBITMAP, g, ext2fs_inode_bitmap_loc(fs, g), 1)) ||
		    (err = claim_meta(w, ICK_CLAIM_ITABLE, g, ext2fs_inode_table_loc(fs, g),
				      fs->inode_blocks_per_group)))
			return err;
	}
	return 0;
}

/* ---- per-inode logical regions (collision detection, as e2fsck's region.c) ---- */

static errcode_t region_add(struct walker *w, uint64_t start, uint64_t len, int *collide)
{
	size_t lo = 0, hi = w->reg_nr;
	uint64_t end = start + len;

	*collide = 0;
	while (lo < hi) { /* first region whose end is above start */
		size_t mid = (lo + hi) / 2;
		if (w->reg[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < w->reg_nr && w->reg[lo].start < end) {
		*collide = 1;
		return 0;
	}
	if (w->reg_nr == w->reg_cap) {
		struct region *n = ick_array_grow(w->reg, &w->reg_cap, sizeof(*n), 32);
		if (!n)
			return ENOMEM;
		w->reg = n;
	}
	memmove(&w->reg[lo + 1], &w->reg[lo], (w->reg_nr - lo) * sizeof(*w->reg));
	w->reg[lo].start = start;
	w->reg[lo].end = end;
	w->reg_nr++;
	return 0;
}

static errcode_t seen_add(struct walker *w, blk64_t blk, int *loop)
{
	*loop = ext2fs_test_block_bitmap2(w->tree_seen, blk) != 0;
	if (*loop)
		return 0;
	if (w->seen_nr == w->seen_cap) {
		blk64_t *n = ick_array_grow(w->seen_list, &w->seen_cap, sizeof(*n), 16);
		if (!n)
			return ENOMEM;
		w->seen_list = n;
	}
	w->seen_list[w->seen_nr++] = blk;
	ext2fs_mark_block_bitmap2(w->tree_seen, blk);
	return 0;
}

static void inode_reset(struct walker *w)
{
	for (size_t i = 0; i < w->seen_nr; i++)
		ext2fs_unmark_block_bitmap2(w->tree_seen, w->seen_list[i]);
	w->seen_nr = 0;
	w->prev_pblk = 0;
	w->reg_nr = 0;
	w->entries = 0;
}

/* ---- bigalloc: what a mapping charges to its file ---- */

/*
 * Under bigalloc a file is charged whole clusters, by e2fsck's rules (e2fsprogs 1.47,
 * e2fsck/pass1.c): a cluster the file's previous mapping (in walk order) ended in is not
 * charged nor claimed again, every other cluster a mapping touches is charged whole.  Tree
 * and EA blocks are a cluster each.  Without bigalloc a cluster is a block and all of this
 * is the identity.
 */
static uint64_t whole_clusters_down(ext2_filsys fs, uint64_t nblks)
{
	return EXT2FS_C2B(fs, EXT2FS_B2C(fs, nblks)); /* check_blocks(): B2C of EA quota blocks */
}

/* e2fsck/pass1.c has_unaligned_cluster_map(): one logical cluster maps to one physical
 * cluster, at the same offsets. */
static int misaligned(const struct walker *w, blk64_t pblk, uint64_t lblk)
{
	ext2_filsys fs = w->fs;
	uint64_t mask = EXT2FS_CLUSTER_MASK(fs);

	if ((lblk & mask) != (pblk & mask))
		return 1;
	return w->prev_pblk && (lblk & mask) &&
	       EXT2FS_B2C(fs, lblk) == EXT2FS_B2C(fs, w->prev_lblk) &&
	       EXT2FS_B2C(fs, pblk) != EXT2FS_B2C(fs, w->prev_pblk);
}

/* e2fsck/pass1.c scan_extent_node(), a leaf: "check whether first cluster got marked in
 * previous iteration", then DIV_ROUND_UP of the rest by the cluster ratio. */
static uint64_t charge_extent(struct walker *w, struct ick_claim *c)
{
	ext2_filsys fs = w->fs;
	blk64_t blk, end = c->pblk + c->len;
	uint64_t n = 0;

	if (!fs->cluster_ratio_bits)
		return c->len;
	c->misaligned = misaligned(w, c->pblk, c->lblk);
	c->cluster_shared = w->prev_pblk &&
			    EXT2FS_B2C(fs, c->pblk) == EXT2FS_B2C(fs, w->prev_pblk);
	blk = EXT2FS_C2B(fs, EXT2FS_B2C(fs, c->pblk) + (c->cluster_shared ? 1 : 0));
	if (blk < end)
		n = (end - blk + EXT2FS_CLUSTER_RATIO(fs) - 1) >> fs->cluster_ratio_bits;
	w->prev_lblk = c->lblk + c->len - 1;
	w->prev_pblk = end - 1;
	return EXT2FS_C2B(fs, n);
}

/* e2fsck/pass1.c process_block(): a block in the previous block's cluster at the matching
 * offset is neither charged nor claimed again (the resize inode's blocks always count). */
static uint64_t charge_block(struct walker *w, struct ick_claim *c, e2_blkcnt_t blockcnt)
{
	ext2_filsys fs = w->fs;
	uint64_t mask = EXT2FS_CLUSTER_MASK(fs);

	if (!fs->cluster_ratio_bits)
		return 1;
	c->cluster_shared = c->ino != EXT2_RESIZE_INO && w->prev_pblk &&
			    EXT2FS_B2C(fs, c->pblk) == EXT2FS_B2C(fs, w->prev_pblk) &&
			    (c->pblk & mask) == ((uint64_t)(unsigned)blockcnt & mask);
	if (blockcnt >= 0)
		w->prev_lblk = (uint64_t)blockcnt;
	w->prev_pblk = c->pblk;
	return c->cluster_shared ? 0 : EXT2FS_CLUSTER_RATIO(fs);
}

/* ---- extent trees ---- */

struct bounds { uint64_t start, end; }; /* logical span a node may map, end exclusive */

static enum ick_bad leaf_problem(struct walker *w, const struct ick_inode_ctx *ic,
				 const struct ext2fs_extent *e, const struct bounds *b)
{
	ext2_filsys fs = w->fs;
	blk64_t total = w->total;

	if (e->e_pblk == 0 || e->e_pblk < w->first || e->e_pblk >= total)
		return ICK_BAD_RANGE;
	if (e->e_lblk < b->start || (uint64_t)e->e_lblk + e->e_len > b->end)
		return ICK_BAD_ORDER;
	if (e->e_len == 0)
		return ICK_BAD_ZERO_LEN;
	if (e->e_pblk + e->e_len > total)
		return ICK_BAD_RANGE;
	/* e2fsck's PR_1_TOOBIG_DIR: a directory may not map past 2^32 bytes without largedir */
	if (LINUX_S_ISDIR(ic->inode->i_mode) && !ic->inode->i_size_high &&
	    !ext2fs_has_feature_largedir(fs->super) &&
	    (uint64_t)e->e_lblk + e->e_len > (1ULL << (21 - fs->super->s_log_block_size)))
		return ICK_BAD_DIR_TOO_BIG;
	return ICK_BAD_NONE;
}

static errcode_t do_leaf(struct walker *w, struct ick_inode_ctx *ic, const struct ext2fs_extent *e,
			 const struct bounds *b)
{
	struct ick_claim c = { .kind = ICK_CLAIM_DATA, .ino = ic->ino, .lblk = e->e_lblk,
			       .pblk = e->e_pblk, .len = e->e_len,
			       .unwritten = !!(e->e_flags & EXT2_EXTENT_FLAGS_UNINIT) };
	int collide = 0;
	errcode_t err;

	c.bad = leaf_problem(w, ic, e, b);
	if (!c.bad) {
		if ((err = region_add(w, e->e_lblk, e->e_len, &collide)))
			return err;
		if (collide)
			c.bad = ICK_BAD_OVERLAP;
	}
	if (!c.bad) {
		int64_t last = (int64_t)e->e_lblk + e->e_len - 1;
		ic->nblocks += charge_extent(w, &c);
		if (last > ic->last_mapped)
			ic->last_mapped = last;
		if (!c.unwritten && last > ic->last_written)
			ic->last_written = last;
	}
	return emit(w, &c, ic);
}

static errcode_t scan_node(struct walker *w, ext2_extent_handle_t h, struct ick_inode_ctx *ic,
			   int depth, struct bounds b);

static errcode_t do_index(struct walker *w, ext2_extent_handle_t h, struct ick_inode_ctx *ic,
			  const struct ext2fs_extent *e, int depth, struct bounds child)
{
	struct ick_claim c = { .kind = ICK_CLAIM_TREE, .ino = ic->ino, .lblk = ICK_NONE,
			       .pblk = e->e_pblk, .len = 1 };
	struct ext2fs_extent tmp;
	int loop;
	errcode_t err;

	if (outside(w, e->e_pblk, 1) || e->e_pblk == 0)
		c.bad = ICK_BAD_RANGE;
	else if (e->e_lblk < child.start)
		c.bad = ICK_BAD_ORDER;
	else if (depth + 1 > ICK_MAX_EXTENT_DEPTH)
		c.bad = ICK_BAD_NODE;
	if (c.bad)
		return emit(w, &c, ic);
	if ((err = seen_add(w, e->e_pblk, &loop)))
		return err;
	if (loop) {
		c.bad = ICK_BAD_LOOP;
		return emit(w, &c, ic);
	}
	map_read(w, e->e_pblk);
	err = ext2fs_extent_get(h, EXT2_EXTENT_DOWN, &tmp);
	if (err && err != EXT2_ET_EXTENT_CSUM_INVALID) {
		c.bad = ICK_BAD_NODE;
		c.err = err;
		return emit(w, &c, ic);
	}
	child.start = e->e_lblk;
	if ((err = scan_node(w, h, ic, depth + 1, child)))
		return err;
	if ((err = ext2fs_extent_get(h, EXT2_EXTENT_UP, &tmp)))
		return err;
	ic->nblocks += EXT2FS_CLUSTER_RATIO(w->fs);
	return emit(w, &c, ic);
}

static errcode_t scan_node(struct walker *w, ext2_extent_handle_t h, struct ick_inode_ctx *ic,
			   int depth, struct bounds b)
{
	struct ext2_extent_info info;
	struct ext2fs_extent e;
	errcode_t err;

	if ((err = ext2fs_extent_get_info(h, &info)))
		return err;
	err = ext2fs_extent_get(h, EXT2_EXTENT_FIRST_SIB, &e);
	for (int i = 0; i < info.num_entries; i++) {
		if (err && err != EXT2_ET_EXTENT_CSUM_INVALID)
			break;
		if (++w->entries > w->max_entries) {
			struct ick_claim c = { .kind = ICK_CLAIM_TREE, .ino = ic->ino,
					       .lblk = ICK_NONE, .pblk = 0, .len = 0,
					       .bad = ICK_BAD_TOO_MANY };
			return emit(w, &c, ic);
		}
		if (e.e_flags & EXT2_EXTENT_FLAGS_LEAF) {
			err = do_leaf(w, ic, &e, &b);
		} else {
			struct bounds child = b;
			/* e_len of an index entry runs to the next index; the last inherits */
			if (i + 1 < info.num_entries)
				child.end = (uint64_t)e.e_lblk + e.e_len;
			err = do_index(w, h, ic, &e, depth, child);
		}
		if (err)
			return err;
		if (i + 1 < info.num_entries)
			err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_SIB, &e);
	}
	return 0;
}

static errcode_t walk_extents(struct walker *w, struct ick_inode_ctx *ic)
{
	ext2_extent_handle_t h;
	struct bounds b = { 0, 1ULL << 32 };
	errcode_t err;

	ic->extents = 1;
	err = ext2fs_extent_open2(w->fs, ic->ino, (struct ext2_inode *)ic->inode, &h);
	if (err) {
		struct ick_claim c = { .kind = ICK_CLAIM_TREE, .ino = ic->ino, .lblk = ICK_NONE,
				       .pblk = 0, .len = 0, .bad = ICK_BAD_NODE, .err = err };
		return emit(w, &c, ic);
	}
	err = scan_node(w, h, ic, 0, b);
	ext2fs_extent_free(h);
	return err;
}

/* ---- indirect (block-mapped) files ---- */

struct ind_ctx { struct walker *w; struct ick_inode_ctx *ic; errcode_t err; };

/*
 * e2fsck's process_block() (e2fsprogs e2fsck/pass1.c) refuses, in this order of strength
 * (the last rule that matches wins there; any match makes the block uncounted): a directory
 * block with blockcnt > 2^(21 - s_log_block_size) without largedir or i_size_high
 * (PR_1_TOOBIG_DIR), a directory or regular file reaching max_blocks = 2^(31 -
 * s_log_block_size) counted blocks (PR_1_TOOBIG_DIR / PR_1_TOOBIG_REG), and any data block
 * past the first of an inode that is neither (PR_1_TOOBIG_SYMLINK: a symlink's target fits
 * one block).  With -n the mapping stays and the block is neither marked in use nor counted
 * in i_blocks; so here it is a bad claim.  The bad-blocks inode is walked apart.
 */
static enum ick_bad ind_too_big(struct walker *w, const struct ick_inode_ctx *ic,
				e2_blkcnt_t blockcnt)
{
	struct ext2_super_block *sb = w->fs->super;
	int dir = LINUX_S_ISDIR(ic->inode->i_mode), reg = LINUX_S_ISREG(ic->inode->i_mode);
	uint64_t max_blocks = 1ULL << (31 - sb->s_log_block_size);

	if (!dir && !reg && blockcnt > 0)
		return ICK_BAD_SYMLINK_TOO_BIG;
	if ((dir || reg) && ic->nblocks + 1 >= max_blocks)
		return dir ? ICK_BAD_DIR_TOO_BIG : ICK_BAD_FILE_TOO_BIG;
	if (dir && !ext2fs_has_feature_largedir(sb) && !ic->inode->i_size_high &&
	    blockcnt > (e2_blkcnt_t)(1LL << (21 - sb->s_log_block_size)))
		return ICK_BAD_DIR_TOO_BIG;
	return ICK_BAD_NONE;
}

static int ind_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref_blk,
		     int ref_offset, void *p)
{
	struct ind_ctx *x = p;
	struct ick_claim c = { .kind = blockcnt < 0 ? ICK_CLAIM_IND : ICK_CLAIM_DATA,
			       .ino = x->ic->ino, .lblk = blockcnt < 0 ? ICK_NONE : (uint64_t)blockcnt,
			       .pblk = *blocknr, .len = 1 };

	/* block_iterate3 hands each indirect block over before it reads it */
	if (blockcnt < 0)
		map_read(x->w, *blocknr);
	if (++x->w->entries > x->w->max_entries) {
		c.bad = ICK_BAD_TOO_MANY;
		x->err = emit(x->w, &c, x->ic);
		return BLOCK_ABORT;
	}
	if (outside(x->w, *blocknr, 1))
		c.bad = ICK_BAD_RANGE;
	else if (x->ic->ino == EXT2_BAD_INO && blockcnt >= 0)
		c.kind = ICK_CLAIM_BADBLOCK;
	else if (x->ic->ino != EXT2_BAD_INO)
		c.bad = ind_too_big(x->w, x->ic, blockcnt);
	if (!c.bad) {
		x->ic->nblocks += charge_block(x->w, &c, blockcnt);
		if (blockcnt >= 0 && blockcnt > x->ic->last_mapped)
			x->ic->last_mapped = x->ic->last_written = blockcnt;
	}
	/* The resize inode's indirect blocks are the reserved GDT blocks, already claimed. */
	if (x->ic->ino == EXT2_RESIZE_INO) {
		if (blockcnt != BLOCK_COUNT_DIND)
			return 0;
		c.kind = ICK_CLAIM_RESIZE;
	}
	x->err = emit(x->w, &c, x->ic);
	return x->err ? BLOCK_ABORT : 0;
}

static errcode_t walk_indirect(struct walker *w, struct ick_inode_ctx *ic)
{
	struct ind_ctx x = { w, ic, 0 };
	errcode_t err;

	err = ext2fs_block_iterate3(w->fs, ic->ino, BLOCK_FLAG_READ_ONLY, w->buf, ind_block, &x);
	if (x.err)
		return x.err;
	if (err == EXT2_ET_BAD_IND_BLOCK || err == EXT2_ET_BAD_DIND_BLOCK ||
	    err == EXT2_ET_BAD_TIND_BLOCK)
		err = 0; /* already handed over as a bad claim */
	if (err) {
		struct ick_claim c = { .kind = ICK_CLAIM_IND, .ino = ic->ino, .lblk = ICK_NONE,
				       .pblk = 0, .len = 0, .bad = ICK_BAD_NODE, .err = err };
		return emit(w, &c, ic);
	}
	return 0;
}

/* ---- EA block ---- */

/*
 * e2fsck's check_ext_attr() counts an in-range EA block even when its header is bad (it
 * only offers to clear it), and skips one outside the file system or on a file system
 * without ext_attr; we do the same.
 */
static errcode_t walk_ea(struct walker *w, struct ick_inode_ctx *ic)
{
	blk64_t blk = ext2fs_file_acl_block(w->fs, (struct ext2_inode *)ic->inode);
	struct ick_claim c = { .kind = ICK_CLAIM_EA, .ino = ic->ino, .lblk = ICK_NONE,
			       .pblk = blk, .len = 1 };

	if (!blk || !ext2fs_has_feature_xattr(w->fs->super))
		return 0;
	if (outside(w, blk, 1)) {
		c.bad = ICK_BAD_RANGE;
		return emit(w, &c, ic);
	}
	ic->nblocks += EXT2FS_CLUSTER_RATIO(w->fs);
	if (w->ops->map_read)
		w->ops->map_read(w->priv, blk);
	if (ext2fs_has_feature_ea_inode(w->fs->super) &&
	    !io_channel_read_blk64(w->fs->io, blk, 1, w->buf))
		ic->nblocks += whole_clusters_down(w->fs,
						   ick_ea_inode_blocks_block(w->fs, w->buf));
	if (!w->ea_every && ext2fs_test_block_bitmap2(w->ea_seen, blk))
		return 0; /* shared EA block (h_refcount > 1): one owner claim is enough */
	ext2fs_mark_block_bitmap2(w->ea_seen, blk);
	return emit(w, &c, ic);
}

/* ---- the inode table ---- */

/* The inode's block map again, as a walk of the same bytes and blocks gave it. */
static errcode_t replay_map(struct walker *w, struct ick_inode_ctx *ic,
			    const struct ick_walk_map *m)
{
	errcode_t err;

	for (size_t i = 0; w->ops->map_read && i < m->nread; i++)
		w->ops->map_read(w->priv, m->read[i]);
	for (size_t i = 0; i < m->nclaims; i++)
		if (w->ops->claim && (err = w->ops->claim(w->priv, &m->claims[i], ic)))
			return err;
	ic->extents = m->extents;
	ic->nblocks += m->nblocks;
	ic->last_written = m->last_written;
	ic->last_mapped = m->last_mapped;
	ic->nbad += m->nbad;
	return 0;
}

/*
 * What a map walk reads of the inode: the map itself, the flags that select how to walk it,
 * the mode and i_size_high (the directory size limit) and, in libext2fs's block_iterate3,
 * the Hurd translator block.  Times, i_size and i_blocks change at most writes without
 * changing the map; they are not part of the key, so the map is reused across them.
 */
struct map_key {
	uint16_t mode;
	uint32_t flags, size_high, generation, osd1;
	uint32_t block[EXT2_N_BLOCKS];
};

static void map_key(ext2_filsys fs, const struct ext2_inode_large *in, struct map_key *k)
{
	memset(k, 0, sizeof(*k));
	k->mode = in->i_mode;
	k->flags = in->i_flags;
	k->size_high = in->i_size_high;
	k->generation = in->i_generation;
	if (fs->super->s_creator_os == EXT2_OS_HURD) /* elsewhere osd1 is i_version */
		k->osd1 = in->osd1.hurd1.h_i_translator;
	memcpy(k->block, in->i_block, sizeof(k->block));
}

static errcode_t walk_map_fresh(struct walker *w, struct ick_inode_ctx *ic)
{
	return ic->inode->i_flags & EXT4_EXTENTS_FL ? walk_extents(w, ic) : walk_indirect(w, ic);
}

static errcode_t walk_map(struct walker *w, struct ick_inode_ctx *ic)
{
	struct map_key key;
	const struct ick_walk_map *kept;
	struct ick_walk_map sum;
	uint64_t nblocks = ic->nblocks;
	unsigned nbad = ic->nbad;
	errcode_t err;

	if (!w->cache)
		return walk_map_fresh(w, ic);
	map_key(w->fs, ic->inode, &key);
	if ((kept = w->cache->find(w->cache->priv, ic->ino, &key, sizeof(key))))
		return replay_map(w, ic, kept);
	w->cache->begin(w->cache->priv, ic->ino);
	if ((err = walk_map_fresh(w, ic))) {
		w->cache->abandon(w->cache->priv);
		return err;
	}
	sum = (struct ick_walk_map){ .nblocks = ic->nblocks - nblocks,
				     .last_written = ic->last_written,
				     .last_mapped = ic->last_mapped, .nbad = ic->nbad - nbad,
				     .extents = ic->extents };
	w->cache->keep(w->cache->priv, &key, sizeof(key), &sum);
	return 0;
}

static errcode_t walk_one_inode(struct walker *w, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	struct ick_inode_ctx ic = { .ino = ino, .inode = inode, .last_written = -1,
				    .last_mapped = -1 };
	errcode_t err = 0;

	inode_reset(w);
	if (w->ops->begin_inode && (err = w->ops->begin_inode(w->priv, &ic)))
		return err;
	ic.nblocks = whole_clusters_down(w->fs, ick_ea_inode_blocks_ibody(w->fs, inode));
	/* The bad-blocks inode has mode 0, so libext2fs says it has no blocks; e2fsck's
	 * e2fsck_pass1() walks its block map anyway (process_bad_block) and marks what it
	 * lists, indirect blocks included, as in use. */
	if (ino == EXT2_BAD_INO && !(inode->i_flags & (EXT4_EXTENTS_FL | EXT4_INLINE_DATA_FL)))
		err = walk_map(w, &ic);
	else if (!(inode->i_flags & EXT4_INLINE_DATA_FL) &&
		 ext2fs_inode_has_valid_blocks2(w->fs, (struct ext2_inode *)inode))
		err = walk_map(w, &ic);
	if (!err)
		err = walk_ea(w, &ic);
	if (!err && w->ops->end_inode)
		err = w->ops->end_inode(w->priv, &ic);
	return err;
}

static errcode_t walk_inodes(struct walker *w)
{
	ext2_filsys fs = w->fs;
	int isize = EXT2_INODE_SIZE(fs->super);
	struct ext2_inode_large *inode;
	ext2_inode_scan scan;
	ext2_ino_t ino = 0, prev = 0;
	errcode_t err;

	if ((err = ext2fs_get_memzero(isize > (int)sizeof(*inode) ? (unsigned long)isize : sizeof(*inode), &inode)))
		return err;
	if ((err = ext2fs_open_inode_scan(fs, 0, &scan)))
		goto out_free;
	ext2fs_inode_scan_flags(scan, EXT2_SF_SKIP_MISSING_ITABLE, 0);
	for (;;) {
		err = ext2fs_get_next_inode_full(scan, &ino, (struct ext2_inode *)inode, isize);
		if (err == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE) {
			if (w->ops->scan_error && (err = w->ops->scan_error(w->priv, ino, err)))
				break;
			continue;
		}
		if (err == EXT2_ET_INODE_CSUM_INVALID || err == EXT2_ET_INODE_IS_GARBAGE)
			err = 0;
		if (err || ino == 0)
			break;
		if (ino <= prev) { /* the scan must advance; refuse to loop */
			err = ICK_ET_INTERNAL;
			break;
		}
		prev = ino;
		if (!ick_inode_in_use(fs, ino, (struct ext2_inode *)inode))
			continue;
		if ((err = walk_one_inode(w, ino, inode)))
			break;
	}
	ext2fs_close_inode_scan(scan);
out_free:
	ext2fs_free_mem(&inode);
	return err;
}

errcode_t ick_walk(ext2_filsys fs, const struct ick_walk_ops *ops, void *priv)
{
	return ick_walk_cached(fs, ops, priv, NULL);
}

static errcode_t walker_init(struct walker *w, ext2_filsys fs, const struct ick_walk_ops *ops,
			     void *priv)
{
	errcode_t err;

	*w = (struct walker){ .fs = fs, .ops = ops, .priv = priv };
	w->first = fs->super->s_first_data_block;
	w->total = ext2fs_blocks_count(fs->super);
	w->max_entries = w->total + 1024;
	if ((err = ext2fs_get_mem(3 * fs->blocksize, &w->buf))) /* block_iterate3 needs 3 */
		return err;
	/* per block, not per cluster, under bigalloc */
	if ((err = ext2fs_allocate_subcluster_bitmap(fs, "tree blocks", &w->tree_seen)))
		return err;
	return ext2fs_allocate_subcluster_bitmap(fs, "EA blocks", &w->ea_seen);
}

static void walker_fini(struct walker *w)
{
	if (w->ea_seen)
		ext2fs_free_block_bitmap(w->ea_seen);
	if (w->tree_seen)
		ext2fs_free_block_bitmap(w->tree_seen);
	free(w->seen_list);
	free(w->reg);
	ext2fs_free_mem(&w->buf);
}

errcode_t ick_walk_cached(ext2_filsys fs, const struct ick_walk_ops *ops, void *priv,
			  const struct ick_map_cache *cache)
{
	struct walker w;
	errcode_t err;

	if (!(err = walker_init(&w, fs, ops, priv))) {
		w.cache = cache;
		if (cache)
			cache->walk_start(cache->priv, fs);
		err = walk_groups(&w);
		if (!err)
			err = walk_inodes(&w);
		if (cache)
			cache->walk_end(cache->priv);
	}
	walker_fini(&w);
	return err;
}

errcode_t ick_walk_inodes(ext2_filsys fs, const struct ick_walk_ops *ops, void *priv,
			  const ext2_ino_t *inos, size_t n)
{
	int isize = EXT2_INODE_SIZE(fs->super);
	struct ext2_inode_large *inode = NULL;
	struct walker w;
	errcode_t err;

	if ((err = walker_init(&w, fs, ops, priv)))
		goto out;
	w.ea_every = 1;
	if ((err = ext2fs_get_memzero(isize > (int)sizeof(*inode) ? (unsigned long)isize :
				      sizeof(*inode), &inode)))
		goto out;
	for (size_t i = 0; i < n && !err; i++) {
		if (!inos[i] || inos[i] > fs->super->s_inodes_count) {
			err = EXT2_ET_BAD_INODE_NUM;
			break;
		}
		err = ext2fs_read_inode_full(fs, inos[i], (struct ext2_inode *)inode, isize);
		if (err == EXT2_ET_INODE_CSUM_INVALID || err == EXT2_ET_INODE_IS_GARBAGE)
			err = 0; /* walked anyway, as the scan does */
		if (!err && ick_inode_in_use(fs, inos[i], (struct ext2_inode *)inode))
			err = walk_one_inode(&w, inos[i], inode);
	}
out:
	ext2fs_free_mem(&inode);
	walker_fini(&w);
	return err;
}
