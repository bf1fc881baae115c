/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * check_bitmap.c - the bitmap check: rebuild the set of blocks that must be in use from
 * every owner the walk reports, and compare it with the on-disk block bitmap (BLOCK_UNINIT
 * groups synthesised by libext2fs, as e2fsck pass 5 sees them) and with the group and
 * superblock free counts.  Blocks claimed twice are traced to every claimant by a second walk
 * (e2fsck's pass 1b idea), run only when there are any.  Never writes the image.
 * Incrementally (incr.h) the owned set is kept by deltas and only the groups that changed
 * are judged again (ick_bitmap_group); a block claimed twice, or in use but free, sends
 * the point to this full check, and so does bigalloc (a cluster's charge follows the
 * file's previous mapping, walk.c).
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "ick_err.h"
#include "memo.h"

struct bm_state {
	struct ick_ctx *ctx;
	ext2fs_block_bitmap found; /* owned blocks */
	ext2fs_block_bitmap dup;   /* owned more than once, NULL until the first */
	ext2fs_block_bitmap meta;  /* bigalloc: group metadata per block, else NULL */
	int tracing;               /* second walk: report claimants of dup blocks */
	unsigned char *a, *b;      /* one group of bits each */
	ext2_ino_t scan_first, scan_last; /* a run of unreadable inodes not yet reported */
	blk64_t start, end;        /* the bitmaps' first and last block */
	errcode_t scan_err;
};

/* Under bigalloc a run found in a cluster bitmap starts and ends on cluster boundaries: keep
 * the blocks of the claim. */
static void clamp_to_claim(const struct ick_claim *c, blk64_t *pblk, uint64_t *len)
{
	blk64_t end = *pblk + *len;

	if (*pblk < c->pblk)
		*pblk = c->pblk;
	if (end > c->pblk + c->len)
		end = c->pblk + c->len;
	*len = end > *pblk ? end - *pblk : 0;
}

static errcode_t add_range(struct ick_ctx *ctx, uint32_t code, const struct ick_claim *c,
			   blk64_t pblk, uint64_t len)
{
	struct ick_finding f = ick_finding_blank(code, c->ino);

	clamp_to_claim(c, &pblk, &len);
	if (!len)
		return 0;
	f.pblk = pblk;
	f.len = len;
	if (c->lblk != ICK_NONE)
		f.lblk = c->lblk + (pblk - c->pblk);
	if (c->kind == ICK_CLAIM_DATA)
		return ick_report_add(ctx->rep, &f, NULL);
	if (c->ino)
		return ick_report_add(ctx->rep, &f, "%s", ick_claim_kind_name(c->kind));
	return ick_report_add(ctx->rep, &f, "group %u %s", c->group, ick_claim_kind_name(c->kind));
}

/* Call @fn for each run of blocks in [start, start+len) whose bit in @bm is @set. */
static errcode_t for_runs(ext2fs_block_bitmap bm, int set, blk64_t start, uint64_t len,
			  errcode_t (*fn)(struct bm_state *, const struct ick_claim *, blk64_t,
					  uint64_t),
			  struct bm_state *st, const struct ick_claim *c)
{
	blk64_t end = start + len - 1, first, stop;
	errcode_t err;

	while (start <= end) {
		err = set ? ext2fs_find_first_set_block_bitmap2(bm, start, end, &first)
			  : ext2fs_find_first_zero_block_bitmap2(bm, start, end, &first);
		if (err == ENOENT)
			return 0;
		if (err)
			return err;
		err = set ? ext2fs_find_first_zero_block_bitmap2(bm, first, end, &stop)
			  : ext2fs_find_first_set_block_bitmap2(bm, first, end, &stop);
		if (err == ENOENT)
			stop = end + 1;
		else if (err)
			return err;
		if ((err = fn(st, c, first, stop - first)))
			return err;
		start = stop;
	}
	return 0;
}

/*
 * shared_blocks (a read-only feature: images built with deduplicated blocks) makes a block
 * owned twice legal: e2fsck's mark_block_used() (e2fsck/pass1.c) returns early for an
 * already-marked block when the feature is on and -E unshare_blocks is not given.
 */
static errcode_t on_dup(struct bm_state *st, const struct ick_claim *c, blk64_t pblk,
			uint64_t len)
{
	errcode_t err;

	if (ext2fs_has_feature_shared_blocks(st->ctx->fs->super))
		return 0;

	if (!st->dup &&
	    (err = ext2fs_allocate_block_bitmap(st->ctx->fs, "multiply claimed", &st->dup)))
		return err;
	ext2fs_mark_block_bitmap_range2(st->dup, pblk, len);
	return 0;
}

static errcode_t on_free(struct bm_state *st, const struct ick_claim *c, blk64_t pblk,
			 uint64_t len)
{
	return add_range(st->ctx, ICK_PR_BITMAP_USED_FREE, c, pblk, len);
}

static errcode_t on_claimant(struct bm_state *st, const struct ick_claim *c, blk64_t pblk,
			     uint64_t len)
{
	return add_range(st->ctx, ICK_PR_BITMAP_MULTIPLY_CLAIMED, c, pblk, len);
}

static errcode_t report_bad(struct bm_state *st, const struct ick_claim *c)
{
	struct ick_finding f = ick_finding_blank(ICK_PR_BITMAP_BAD_MAPPING, c->ino);

	if (c->bad == ICK_BAD_OVERLAP && c->unwritten)
		return 0; /* the unwritten check owns this one */
	if (!c->ino) {
		f.code = ICK_PR_BITMAP_META_OUTSIDE;
		f.pblk = c->pblk;
		f.len = c->len;
		return ick_report_add(st->ctx->rep, &f, "group %u %s at block %llu",
				      c->group, ick_claim_kind_name(c->kind),
				      (unsigned long long)c->pblk);
	}
	if (c->bad == ICK_BAD_NODE || c->bad == ICK_BAD_LOOP || c->bad == ICK_BAD_TOO_MANY)
		f.code = ICK_PR_BITMAP_BAD_TREE;
	f.lblk = c->lblk;
	if (c->len) {
		f.pblk = c->pblk;
		f.len = c->len;
	}
	if (c->err)
		return ick_report_add(st->ctx->rep, &f, "%s %s: %s", ick_claim_kind_name(c->kind),
				      ick_bad_name(c->bad), error_message(c->err));
	return ick_report_add(st->ctx->rep, &f, "%s %s", ick_claim_kind_name(c->kind),
			      ick_bad_name(c->bad));
}

/*
 * Most claims are a block or a few (a fragmented file's extents, tree and indirect blocks):
 * testing each bit is cheaper than searching for runs, which are then only looked for when
 * something is amiss, so what is reported is the same.
 */
#define SHORT_CLAIM 16

static errcode_t short_claim(struct bm_state *st, const struct ick_claim *c)
{
	ext2fs_block_bitmap used = st->ctx->fs->block_map;
	int dup = 0, free_ = 0;
	errcode_t err;

	for (uint64_t i = 0; i < c->len; i++) {
		dup |= ext2fs_fast_test_block_bitmap2(st->found, c->pblk + i);
		free_ |= !ext2fs_fast_test_block_bitmap2(used, c->pblk + i);
	}
	if (dup && (err = for_runs(st->found, 1, c->pblk, c->len, on_dup, st, c)))
		return err;
	for (uint64_t i = 0; i < c->len; i++)
		ext2fs_fast_mark_block_bitmap2(st->found, c->pblk + i);
	return free_ ? for_runs(used, 0, c->pblk, c->len, on_free, st, c) : 0;
}

/*
 * libext2fs marks a range bit by bit; the whole bytes inside a long one (the inode tables,
 * the journal) are set through ext2fs_set_block_bitmap_range2, which copies bytes.
 */
static void mark_range(ext2fs_block_bitmap bm, blk64_t pblk, uint64_t len)
{
	unsigned char ones[256];
	blk64_t base = ext2fs_get_block_bitmap_start2(bm);
	uint64_t head = (8 - (pblk - base) % 8) % 8;

	/* (a cluster bitmap's byte ranges count clusters: bigalloc takes the bit-wise way) */
	if (len < head + 8 || pblk < base || ext2fs_get_bitmap_granularity(bm)) {
		ext2fs_mark_block_bitmap_range2(bm, pblk, len);
		return;
	}
	memset(ones, 0xff, sizeof(ones));
	if (head)
		ext2fs_mark_block_bitmap_range2(bm, pblk, head);
	pblk += head;
	len -= head;
	while (len >= 8) {
		uint64_t n = len / 8 > sizeof(ones) ? sizeof(ones) * 8 : len / 8 * 8;
		if (ext2fs_set_block_bitmap_range2(bm, pblk, (size_t)n, ones))
			ext2fs_mark_block_bitmap_range2(bm, pblk, n);
		pblk += n;
		len -= n;
	}
	if (len)
		ext2fs_mark_block_bitmap_range2(bm, pblk, len);
}

/* ---- bigalloc: one bit per cluster ---- */

/*
 * The clusters of @c that are a new claim (walk.c sets cluster_shared when the first is the
 * one its file's previous mapping ended in): 0 when there are none.
 */
static uint64_t new_clusters(ext2_filsys fs, const struct ick_claim *c, blk64_t *pblk)
{
	blk64_t start = EXT2FS_C2B(fs, EXT2FS_B2C(fs, c->pblk) + (c->cluster_shared ? 1 : 0));
	blk64_t end = c->pblk + c->len;

	*pblk = start;
	return start < end ? end - start : 0;
}

static errcode_t report_misaligned(struct bm_state *st, const struct ick_claim *c)
{
	struct ick_finding f = ick_finding_blank(ICK_PR_BITMAP_BAD_MAPPING, c->ino);

	f.lblk = c->lblk;
	f.pblk = c->pblk;
	f.len = c->len;
	return ick_report_add(st->ctx->rep, &f, "%s: logical and physical cluster offsets differ",
			      ick_claim_kind_name(c->kind));
}

/*
 * A claim on a bigalloc file system.  e2fsck (e2fsck/pass1.c, e2fsck_pass1()) marks group
 * metadata in a per-block map (mark_table_blocks(), ext2fs_reserve_super_and_bgd()), so
 * metadata sharing a cluster is no double claim, then converts it to clusters
 * (ext2fs_convert_subcluster_bitmap()): from there on a cluster claimed by two files, or by a
 * file and metadata, is claimed twice (mark_block_used(), pass 1b), except a cluster one file
 * claims again with its next mapping (see walk.c).
 */
static errcode_t cluster_claim(struct bm_state *st, const struct ick_claim *c)
{
	ext2_filsys fs = st->ctx->fs;
	blk64_t pblk = c->pblk;
	uint64_t len = c->len;
	errcode_t err;

	if (c->misaligned && st->ctx->rep && (err = report_misaligned(st, c)))
		return err;
	if (!c->ino && st->meta) {
		if ((err = for_runs(st->meta, 1, c->pblk, c->len, on_dup, st, c)))
			return err;
		ext2fs_mark_block_bitmap_range2(st->meta, c->pblk, c->len);
	} else if ((len = new_clusters(fs, c, &pblk)) &&
		   (err = for_runs(st->found, 1, pblk, len, on_dup, st, c))) {
		return err;
	}
	ext2fs_mark_block_bitmap_range2(st->found, c->pblk, c->len);
	return for_runs(fs->block_map, 0, c->pblk, c->len, on_free, st, c);
}

/* The second walk: who claims the clusters claimed twice. */
static errcode_t cluster_claimants(struct bm_state *st, const struct ick_claim *c)
{
	blk64_t pblk;
	uint64_t len = new_clusters(st->ctx->fs, c, &pblk);

	return len ? for_runs(st->dup, 1, pblk, len, on_claimant, st, c) : 0;
}

static errcode_t bm_claim(void *p, const struct ick_claim *c, struct ick_inode_ctx *ic)
{
	struct bm_state *st = p;
	ext2_filsys fs = st->ctx->fs;
	errcode_t err;

	if (st->tracing) {
		if (c->bad || !c->len)
			return 0;
		if (fs->cluster_ratio_bits)
			return cluster_claimants(st, c);
		return for_runs(st->dup, 1, c->pblk, c->len, on_claimant, st, c);
	}
	if (c->bad)
		return st->ctx->rep ? report_bad(st, c) : 0;
	if (!c->len)
		return 0;
	if (fs->cluster_ratio_bits)
		return cluster_claim(st, c);
	if (c->len <= SHORT_CLAIM && c->pblk >= st->start && c->pblk + c->len - 1 <= st->end)
		return short_claim(st, c); /* (group metadata is not range-checked by the walk) */
	if ((err = for_runs(st->found, 1, c->pblk, c->len, on_dup, st, c)))
		return err;
	mark_range(st->found, c->pblk, c->len);
	return for_runs(fs->block_map, 0, c->pblk, c->len, on_free, st, c);
}

static errcode_t flush_scan_errors(struct bm_state *st)
{
	struct ick_finding f = ick_finding_blank(ICK_PR_BITMAP_INODE_SCAN, st->scan_first);

	if (!st->scan_first)
		return 0;
	st->scan_first = 0;
	return ick_report_add(st->ctx->rep, &f, "inodes %u-%u: %s", f.ino, st->scan_last,
			      error_message(st->scan_err));
}

/* Unreadable inodes come one at a time; report each run once. */
static errcode_t bm_scan_error(void *p, ext2_ino_t ino, errcode_t e)
{
	struct bm_state *st = p;
	errcode_t err;

	if (st->scan_first && ino == st->scan_last + 1 && e == st->scan_err) {
		st->scan_last = ino;
		return 0;
	}
	if ((err = flush_scan_errors(st)))
		return err;
	st->scan_first = st->scan_last = ino;
	st->scan_err = e;
	return 0;
}

static errcode_t bm_setup(struct ick_ctx *ctx, void **state)
{
	struct bm_state *st = calloc(1, sizeof(*st));
	errcode_t err;

	if (!st)
		return ENOMEM;
	*state = st;
	st->ctx = ctx;
	/* loaded once per open (the crash sweep's stale tracker may have read it already) */
	if (!ctx->fs->block_map && (err = ext2fs_read_block_bitmap(ctx->fs)))
		return err;
	if ((err = ext2fs_get_mem(ctx->fs->super->s_blocks_per_group / 8 + 8, &st->a)) ||
	    (err = ext2fs_get_mem(ctx->fs->super->s_blocks_per_group / 8 + 8, &st->b)))
		return err;
	if ((err = ext2fs_allocate_block_bitmap(ctx->fs, "owned blocks", &st->found)))
		return err;
	st->start = ext2fs_get_block_bitmap_start2(st->found);
	st->end = ext2fs_get_block_bitmap_end2(st->found);
	if (ctx->fs->cluster_ratio_bits &&
	    (err = ext2fs_allocate_subcluster_bitmap(ctx->fs, "group metadata", &st->meta)))
		return err;
	return 0;
}

/*
 * The bitmaps' byte ranges (ext2fs_get_block_bitmap_range2) count in the bitmap's own
 * units: clusters under bigalloc, where the groups' free counts count clusters too.
 */
static blk64_t group_first_unit(ext2_filsys fs, dgrp_t g)
{
	return EXT2FS_B2C(fs, ext2fs_group_first_block2(fs, g));
}

/* Blocks of the cluster at @pblk inside the file system (the last may be partial). */
static uint64_t unit_blocks(ext2_filsys fs, blk64_t pblk)
{
	blk64_t total = ext2fs_blocks_count(fs->super);
	uint64_t n = EXT2FS_CLUSTER_RATIO(fs);

	return pblk + n > total ? total - pblk : n;
}

/* A torn or stale bitmap write shows as a checksum mismatch (metadata_csum only).  @have:
 * bits @disk already holds from the group's first block. */
static errcode_t check_csum(ext2_filsys fs, dgrp_t g, unsigned char *disk, uint64_t have,
			    struct ick_memo *memo, struct ick_report *rep)
{
	size_t nbytes = EXT2_CLUSTERS_PER_GROUP(fs->super) / 8;
	struct ick_finding f = ick_finding_blank(ICK_PR_BITMAP_CSUM, 0);
	errcode_t err;

	if (!ext2fs_has_feature_metadata_csum(fs->super) ||
	    ext2fs_bg_flags_test(fs, g, EXT2_BG_BLOCK_UNINIT))
		return 0;
	/* the last group's bits past the file system's end count too, as on disk */
	if (have != nbytes * 8 &&
	    (err = ext2fs_get_block_bitmap_range2(fs->block_map, group_first_unit(fs, g),
						  nbytes * 8, disk)))
		return err;
	if (ick_memo_bitmap_csum(memo, fs, g, disk, nbytes))
		return 0;
	f.pblk = ext2fs_block_bitmap_loc(fs, g);
	f.len = 1;
	return ick_report_add(rep, &f, "group %u", g);
}

/*
 * Leaked blocks: marked on disk, owned by nothing.  Also counts the blocks the on-disk bitmap
 * calls free: the group descriptor and superblock counts are compared with the bitmap, as
 * e2fsck -n pass 5 does (the kernel journals bitmap and descriptor together, so after a
 * crash these must still agree; the differences against the owners are reported above).
 */
errcode_t ick_bitmap_group(ext2_filsys fs, dgrp_t g, const unsigned char *owned,
			   unsigned char *disk, struct ick_memo *memo, struct ick_report *rep,
			   uint64_t *nfree)
{
	blk64_t first = group_first_unit(fs, g);
	uint64_t n = EXT2FS_B2C(fs, ext2fs_group_last_block2(fs, g)) - first + 1, marked_nr = 0;
	errcode_t err;

	if ((err = ext2fs_get_block_bitmap_range2(fs->block_map, first, n, disk)))
		return err;
	for (uint64_t i = 0; i < n; i++) {
		int own, marked;

		/* 64 blocks with no leak: count them at once */
		if (!(i % 64) && i + 64 <= n) {
			uint64_t a, b;

			memcpy(&a, owned + i / 8, 8);
			memcpy(&b, disk + i / 8, 8);
			if (!(b & ~a)) {
				marked_nr += (uint64_t)__builtin_popcountll(b);
				i += 63;
				continue;
			}
		}
		own = (owned[i / 8] >> (i % 8)) & 1;
		marked = (disk[i / 8] >> (i % 8)) & 1;
		marked_nr += marked;
		if (marked && !own) {
			struct ick_finding f = ick_finding_blank(ICK_PR_BITMAP_UNOWNED, 0);
			f.pblk = EXT2FS_C2B(fs, first + i);
			f.len = unit_blocks(fs, f.pblk);
			if ((err = ick_report_add(rep, &f, NULL)))
				return err;
		}
	}
	*nfree = n - marked_nr;
	if ((err = check_csum(fs, g, disk, n, memo, rep)))
		return err;
	if (memcmp(owned, disk, (n + 7) / 8) && ext2fs_bg_flags_test(fs, g, EXT2_BG_BLOCK_UNINIT)) {
		struct ick_finding f = ick_finding_blank(ICK_PR_BITMAP_UNINIT_GROUP_USED, 0);
		if ((err = ick_report_add(rep, &f, "group %u", g)))
			return err;
	}
	if (*nfree != ext2fs_bg_free_blocks_count(fs, g)) {
		struct ick_finding f = ick_finding_blank(ICK_PR_BITMAP_GROUP_FREE_COUNT, 0);
		f.expected = *nfree;
		f.found = ext2fs_bg_free_blocks_count(fs, g);
		return ick_report_add(rep, &f, "group %u", g);
	}
	return 0;
}

errcode_t ick_bitmap_total(ext2_filsys fs, uint64_t nfree, struct ick_report *rep)
{
	uint64_t total = EXT2FS_C2B(fs, nfree); /* e2fsck/pass5.c check_block_bitmaps(): in blocks */

	if (total != ext2fs_free_blocks_count(fs->super)) {
		struct ick_finding f = ick_finding_blank(ICK_PR_BITMAP_SB_FREE_COUNT, 0);
		f.expected = total;
		f.found = ext2fs_free_blocks_count(fs->super);
		return ick_report_add(rep, &f, NULL);
	}
	return 0;
}

static errcode_t check_counts(struct bm_state *st)
{
	ext2_filsys fs = st->ctx->fs;
	struct ick_memo *memo = st->ctx->opts ? st->ctx->opts->memo : NULL;
	uint64_t total = 0, nfree;
	errcode_t err;

	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		blk64_t first = group_first_unit(fs, g);
		uint64_t n = EXT2FS_B2C(fs, ext2fs_group_last_block2(fs, g)) - first + 1;

		if ((err = ext2fs_get_block_bitmap_range2(st->found, first, n, st->a)) ||
		    (err = ick_bitmap_group(fs, g, st->a, st->b, memo, st->ctx->rep, &nfree)))
			return err;
		total += nfree;
	}
	return ick_bitmap_total(fs, total, st->ctx->rep);
}

static const struct ick_walk_ops trace_ops = { .claim = bm_claim };

static errcode_t bm_finish(struct ick_ctx *ctx, void *state)
{
	struct bm_state *st = state;
	errcode_t err;

	if ((err = flush_scan_errors(st)))
		return err;
	if (st->dup) {
		st->tracing = 1;
		if ((err = ick_walk(ctx->fs, &trace_ops, st)))
			return err;
	}
	return check_counts(st);
}

static void bm_cleanup(void *state)
{
	struct bm_state *st = state;

	if (!st)
		return;
	if (st->found)
		ext2fs_free_block_bitmap(st->found);
	if (st->dup)
		ext2fs_free_block_bitmap(st->dup);
	if (st->meta)
		ext2fs_free_block_bitmap(st->meta);
	ext2fs_free_mem(&st->a);
	ext2fs_free_mem(&st->b);
	free(st);
}

const struct ick_check_def ick_check_bitmap = {
	.name = "bitmap",
	.id = ICK_CHECK_BITMAP,
	.setup = bm_setup,
	.ops = { .claim = bm_claim, .scan_error = bm_scan_error },
	.finish = bm_finish,
	.cleanup = bm_cleanup,
};
