/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * incr.c - the per-inode result cache of a crash sweep (see incr.h for what it keeps, when
 * it answers and when it falls back).
 *
 * Written by hand: the inode digest (a 64-bit multiply-xorshift hash; no installed library
 * offers one to this project) and the bit arrays, which hold one bit per block in the
 * byte order of ext2fs_get_block_bitmap_range2 so that a group's slice is what
 * ick_bitmap_group() takes.  Everything else is libext2fs (inode and block reads, the
 * descriptors, the loaded block bitmap) and the checks themselves.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "env.h"
#include "image.h"
#include "incr.h"
#include "overlay.h"
#include "u64map.h"

struct cl { blk64_t pblk; uint64_t len; int judged; };

struct rec {
	ext2_ino_t ino;
	uint64_t digest;
	blk64_t ea;              /* its EA block, 0 if none */
	struct cl *cl;           /* the blocks it owns (EA block apart) */
	blk64_t *rd;             /* the map blocks its walk read */
	struct ick_finding *seg; /* the findings its walk gave, details owned */
	size_t ncl, nrd, nseg, bytes;
	struct ick_quota_charge q; /* what it is charged (quota only) */
	int partial;             /* its claims were past the budget: not kept */
};

struct geo {
	unsigned blocksize, inode_size, desc_size;
	blk64_t blocks, first_data, sb_at, mmp;
	uint32_t inodes, bpg, ipg, first_ino, ngroups;
	uint32_t compat, incompat, ro_compat, csum_seed, creator_os, first_meta_bg;
	uint32_t journal_ino, quota_ino[3], orphan_ino, backup_bgs[2];
	uint16_t reserved_gdt;
	uint8_t prealloc_dir;      /* the size check's directory rule reads it */
	int flags;
};

struct itab { blk64_t start; uint64_t len; dgrp_t g; };

struct ick_incr {
	int valid;                 /* the cache holds the last point checked */
	struct geo geo;
	struct ick_u64map recs;    /* ino -> struct rec * */
	struct ick_u64map watch;   /* map block -> its inode (0: more than one) */
	struct ick_u64map ea;      /* EA block -> inodes naming it */
	struct ick_quota_usage *qu; /* usage per type and id (quota only), by deltas */
	unsigned char *found;      /* blocks owned */
	unsigned char *judged;     /* blocks the stale check judges (written data) */
	unsigned char *disk;       /* the on-disk bitmap as last judged */
	unsigned char *now;        /* scratch: the on-disk bitmap now */
	size_t nbytes;             /* of each bit array: the groups' whole span */
	unsigned char *desc;       /* group descriptors as last judged */
	uint64_t *gfree, nfree;    /* free units per group and their sum */
	struct itab *it;           /* inode tables, by start */
	struct itab *bb;           /* block bitmaps (one block each), by block */
	blk64_t *ov;               /* the last point's overlay blocks, sorted */
	size_t nov;
	ext2_ino_t *segs;          /* inodes with a segment, ascending */
	size_t nsegs, capsegs;
	/* changes since the last point */
	struct pend { blk64_t blk; uint64_t n; } *pend;
	size_t npend, cappend;
	int pend_lost;
	size_t bytes, budget;
	size_t claim_bytes, claims_budget; /* of the claims kept (a test knob bounds it apart) */
	int over;                  /* the last full point ran past the budget */
	/* recording (a full walk, or the inodes re-walked) */
	ext2_filsys fs;
	struct ick_report *rep;
	int fast, bail, impure, judge;
	int last_impure;           /* the last full point had findings the cache cannot keep */
	size_t seg_from;
	struct cl *ccl;
	size_t nccl, capccl;
	blk64_t *crd;
	size_t ncrd, capcrd;
	unsigned char *touched;    /* groups whose owned blocks changed */
	errcode_t err;
	struct ick_incr_stats st;
};

/* ---- small parts ---- */

static uint64_t digest(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, l[4] = { 1, 2, 3, 4 }, w;
	size_t i = 0;

	for (; i + 32 <= n; i += 32) /* four lanes: an inode is 128 to 1024 bytes */
		for (int k = 0; k < 4; k++) {
			memcpy(&w, b + i + 8 * k, 8);
			l[k] = (l[k] ^ w) * 0xff51afd7ed558ccdULL;
			l[k] ^= l[k] >> 31;
		}
	for (; i < n; i += 8) {
		w = 0;
		memcpy(&w, b + i, n - i < 8 ? n - i : 8);
		h ^= w;
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	for (int k = 0; k < 4; k++) {
		h ^= l[k];
		h *= 0xc4ceb9fe1a85ec53ULL;
		h ^= h >> 29;
	}
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 32);
}

static int bit(const unsigned char *a, uint64_t i) { return (a[i / 8] >> (i % 8)) & 1; }
static void set(unsigned char *a, uint64_t i) { a[i / 8] |= (unsigned char)(1u << (i % 8)); }
static void clr(unsigned char *a, uint64_t i) { a[i / 8] &= (unsigned char)~(1u << (i % 8)); }

static void set_range(unsigned char *a, uint64_t i, uint64_t n, int on)
{
	while (n && (i % 8)) {
		on ? set(a, i) : clr(a, i);
		i++, n--;
	}
	if (n >= 8) {
		memset(a + i / 8, on ? 0xff : 0, n / 8);
		i += n / 8 * 8;
		n %= 8;
	}
	while (n--) {
		on ? set(a, i) : clr(a, i);
		i++;
	}
}

static int any_set(const unsigned char *a, uint64_t i, uint64_t n)
{
	for (; n && (i % 8); i++, n--)
		if (bit(a, i))
			return 1;
	for (; n >= 8; i += 8, n -= 8)
		if (a[i / 8])
			return 1;
	for (; n; i++, n--)
		if (bit(a, i))
			return 1;
	return 0;
}

static int all_set(const unsigned char *a, uint64_t i, uint64_t n)
{
	for (; n && (i % 8); i++, n--)
		if (!bit(a, i))
			return 0;
	for (; n >= 8; i += 8, n -= 8)
		if (a[i / 8] != 0xff)
			return 0;
	for (; n; i++, n--)
		if (!bit(a, i))
			return 0;
	return 1;
}

static void geo_of(const struct ick_image *img, struct geo *g)
{
	ext2_filsys fs = img->fs;
	struct ext2_super_block *s = fs->super;

	memset(g, 0, sizeof(*g));
	g->blocksize = fs->blocksize;
	g->inode_size = EXT2_INODE_SIZE(s);
	g->desc_size = EXT2_DESC_SIZE(s);
	g->blocks = ext2fs_blocks_count(s);
	g->first_data = s->s_first_data_block;
	g->sb_at = img->superblock;
	g->mmp = s->s_mmp_block;
	g->inodes = s->s_inodes_count;
	g->bpg = s->s_blocks_per_group;
	g->ipg = s->s_inodes_per_group;
	g->first_ino = EXT2_FIRST_INO(s);
	g->ngroups = fs->group_desc_count;
	g->compat = s->s_feature_compat;
	g->incompat = s->s_feature_incompat & ~EXT3_FEATURE_INCOMPAT_RECOVER;
	g->ro_compat = s->s_feature_ro_compat & ~EXT4_FEATURE_RO_COMPAT_ORPHAN_PRESENT;
	g->csum_seed = fs->csum_seed;
	g->creator_os = s->s_creator_os;
	g->first_meta_bg = s->s_first_meta_bg;
	g->journal_ino = s->s_journal_inum;
	g->quota_ino[0] = s->s_usr_quota_inum;
	g->quota_ino[1] = s->s_grp_quota_inum;
	g->quota_ino[2] = s->s_prj_quota_inum;
	g->orphan_ino = s->s_orphan_file_inum;
	g->backup_bgs[0] = s->s_backup_bgs[0];
	g->backup_bgs[1] = s->s_backup_bgs[1];
	g->reserved_gdt = s->s_reserved_gdt_blocks;
	g->prealloc_dir = s->s_prealloc_dir_blocks;
	g->flags = fs->flags;
}

/* Why the cache cannot serve this file system at all (incr.h), or NULL. */
static const char *not_incremental(const struct ick_image *img, unsigned mask,
				   const struct ick_check_opts *o)
{
	ext2_filsys fs = img->fs;
	size_t nr;
	const struct ick_check_def *const *defs = ick_checks(&nr);
	unsigned need = 0;

	for (size_t i = 0; i < nr; i++)
		need |= 1u << defs[i]->id;
	if ((mask & need) != need)
		return "not every check selected";
	if (fs->cluster_ratio_bits)
		return "bigalloc";
	if (ext2fs_has_feature_shared_blocks(fs->super))
		return "shared_blocks";
	if (ext2fs_has_feature_ea_inode(fs->super))
		return "ea_inode";
	if (o && o->poison)
		return "a poison pattern (content evidence)";
	if (img->superblock)
		return "a backup superblock";
	return NULL;
}

static int pure(uint32_t code)
{
	const struct ick_pr_info *pi = ick_pr_lookup(code);

	return pi && (pi->check == ICK_CHECK_UNWRITTEN || pi->check == ICK_CHECK_SIZE);
}

static uint64_t unit(const struct ick_incr *c, blk64_t blk)
{
	return blk - c->geo.first_data;
}

static void touch(struct ick_incr *c, blk64_t blk, uint64_t n)
{
	uint64_t g0 = unit(c, blk) / c->geo.bpg, g1 = unit(c, blk + n - 1) / c->geo.bpg;

	for (uint64_t g = g0; g <= g1 && g < c->geo.ngroups; g++)
		c->touched[g] = 1;
}

/* Is [blk, blk+n) a range of the bit arrays (inside the file system)? */
static int inside(const struct ick_incr *c, blk64_t blk, uint64_t n)
{
	return blk >= c->geo.first_data && blk < c->geo.blocks && n <= c->geo.blocks - blk;
}

/* ---- records ---- */

static void rec_free(struct rec *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nseg; i++)
		free(r->seg[i].detail);
	free(r);
}

static void drop_all(struct ick_incr *c)
{
	for (size_t i = 0; i < c->recs.cap; i++)
		if (c->recs.k[i] != UINT64_MAX)
			rec_free((struct rec *)(uintptr_t)c->recs.v[i]);
	ick_u64map_free(&c->recs);
	ick_u64map_free(&c->watch);
	ick_u64map_free(&c->ea);
	ick_quota_usage_free(c->qu);
	c->qu = NULL;
	free(c->found);
	free(c->judged);
	free(c->disk);
	free(c->now);
	free(c->desc);
	free(c->gfree);
	free(c->it);
	free(c->bb);
	free(c->touched);
	c->found = c->judged = c->disk = c->now = c->desc = c->touched = NULL;
	c->gfree = NULL;
	c->it = c->bb = NULL;
	c->nsegs = 0;
	c->valid = 0;
	c->bytes = c->claim_bytes = 0;
}

static int cmp_ino(const void *a, const void *b)
{
	ext2_ino_t x = *(const ext2_ino_t *)a, y = *(const ext2_ino_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_blk(const void *a, const void *b)
{
	blk64_t x = *(const blk64_t *)a, y = *(const blk64_t *)b;
	return x < y ? -1 : x > y;
}

/* Where @ino is or would go in c->segs. */
static size_t segs_at(const struct ick_incr *c, ext2_ino_t ino)
{
	return ick_array_lower_bound(c->segs, c->nsegs, sizeof(*c->segs), &ino, cmp_ino);
}

static errcode_t segs_insert(struct ick_incr *c, ext2_ino_t ino)
{
	size_t lo = segs_at(c, ino);

	if (lo < c->nsegs && c->segs[lo] == ino)
		return 0;
	if (ICK_ARRAY_PUSH(c->segs, c->nsegs, c->capsegs, 64, &ino))
		return ENOMEM;
	memmove(&c->segs[lo + 1], &c->segs[lo], (c->nsegs - 1 - lo) * sizeof(*c->segs));
	c->segs[lo] = ino;
	return 0;
}

static void segs_remove(struct ick_incr *c, ext2_ino_t ino)
{
	size_t lo = segs_at(c, ino);

	if (lo < c->nsegs && c->segs[lo] == ino) {
		memmove(&c->segs[lo], &c->segs[lo + 1], (c->nsegs - lo - 1) * sizeof(*c->segs));
		c->nsegs--;
	}
}

/* An inode leaves the cache: its owned blocks, EA reference, watches and segment. */
static void forget_inode(struct ick_incr *c, ext2_ino_t ino)
{
	int have;
	struct rec *r = (struct rec *)(uintptr_t)ick_u64map_get(&c->recs, ino, &have);

	if (!have)
		return;
	for (size_t i = 0; i < r->ncl; i++) {
		set_range(c->found, unit(c, r->cl[i].pblk), r->cl[i].len, 0);
		if (r->cl[i].judged)
			set_range(c->judged, unit(c, r->cl[i].pblk), r->cl[i].len, 0);
		touch(c, r->cl[i].pblk, r->cl[i].len);
	}
	if (r->ea) {
		uint64_t refs = ick_u64map_get(&c->ea, r->ea, NULL);
		if (refs <= 1) {
			ick_u64map_del(&c->ea, r->ea);
			clr(c->found, unit(c, r->ea));
			touch(c, r->ea, 1);
		} else if (ick_u64map_put(&c->ea, r->ea, refs - 1)) {
			c->err = ENOMEM;
		}
	}
	for (size_t i = 0; i < r->nrd; i++)
		if (ick_u64map_get(&c->watch, r->rd[i], NULL) == ino)
			ick_u64map_del(&c->watch, r->rd[i]);
	if (c->qu && ick_quota_usage_add(c->qu, c->fs, &r->q, -1))
		c->err = ENOMEM;
	if (r->nseg)
		segs_remove(c, ino);
	c->bytes -= r->bytes;
	c->claim_bytes -= r->ncl * sizeof(struct cl);
	ick_u64map_del(&c->recs, ino);
	rec_free(r);
}

/* ---- the recorder: visits the walk beside the checks ---- */

static errcode_t rec_begin(void *p, struct ick_inode_ctx *ic)
{
	struct ick_incr *c = p;

	c->nccl = c->ncrd = 0;
	c->seg_from = c->rep->nr;
	c->judge = ick_stale_judges(c->fs, ic->ino, ic->inode);
	return 0;
}

static errcode_t rec_claim(void *p, const struct ick_claim *k, struct ick_inode_ctx *ic)
{
	struct ick_incr *c = p;
	int judged;

	if (c->bail || c->impure)
		return 0;
	if (k->bad) {
		/* the bitmap check reports it (an unwritten overlap is the unwritten check's) */
		if (!(k->bad == ICK_BAD_OVERLAP && k->unwritten))
			c->bail = 1;
		return 0;
	}
	if (!k->len || (ic && k->kind == ICK_CLAIM_EA))
		return 0;
	if (!inside(c, k->pblk, k->len)) {
		c->bail = 1;
		return 0;
	}
	if (c->fast) {
		/* the bitmap check would report a block claimed twice or in use but free */
		if (any_set(c->found, unit(c, k->pblk), k->len)) {
			c->bail = 1;
			return 0;
		}
		if (!all_set(c->now, unit(c, k->pblk), k->len)) { /* the bitmap as it is now */
			c->bail = 1;
			return 0;
		}
		touch(c, k->pblk, k->len);
	}
	set_range(c->found, unit(c, k->pblk), k->len, 1);
	if (!ic)
		return 0; /* group metadata: kept as owned, recomputed only with the geometry */
	judged = c->judge && k->kind == ICK_CLAIM_DATA && !k->unwritten;
	if (judged)
		set_range(c->judged, unit(c, k->pblk), k->len, 1);
	if (ICK_ARRAY_PUSH(c->ccl, c->nccl, c->capccl, 16,
			   &((struct cl){ k->pblk, k->len, judged }))) {
		c->err = ENOMEM;
		c->bail = c->impure = 1;
	}
	return 0;
}

static void rec_map_read(void *p, blk64_t blk)
{
	struct ick_incr *c = p;

	if (ICK_ARRAY_PUSH(c->crd, c->ncrd, c->capcrd, 16, &blk)) {
		c->err = ENOMEM;
		c->bail = c->impure = 1;
	}
}

static errcode_t rec_scan_error(void *p, ext2_ino_t ino, errcode_t e)
{
	struct ick_incr *c = p;

	c->bail = c->impure = 1;
	return 0;
}

/* The inode's EA block, as walk.c claims it: in range, on a file system with xattrs. */
static blk64_t ea_block(struct ick_incr *c, const struct ext2_inode_large *in)
{
	blk64_t blk = ext2fs_file_acl_block(c->fs, (struct ext2_inode *)in);

	if (!blk || !ext2fs_has_feature_xattr(c->fs->super) || !inside(c, blk, 1))
		return 0;
	return blk;
}

/* The walk's claims, map blocks and findings kept, in one allocation with the record of
 * the inode just walked; NULL (the cache off for this point) when it cannot be kept. */
static struct rec *rec_make(struct ick_incr *c, struct ick_inode_ctx *ic, size_t nseg)
{
	size_t bytes = sizeof(struct rec) + c->nccl * sizeof(struct cl) +
		       c->ncrd * sizeof(blk64_t) + nseg * sizeof(struct ick_finding);
	int partial = 0;
	struct rec *r;
	unsigned char *q;

	/* past the budget an inode keeps no claims: the cache still serves until it changes */
	if (c->bytes + bytes > c->budget ||
	    c->claim_bytes + c->nccl * sizeof(struct cl) > c->claims_budget) {
		bytes -= c->nccl * sizeof(struct cl);
		c->nccl = 0;
		partial = 1;
	}
	if (c->bytes + bytes > c->budget)
		c->over = 1;
	if (c->bytes + bytes > c->budget || !(r = calloc(1, bytes))) {
		c->bail = c->impure = 1;
		return NULL;
	}
	c->claim_bytes += c->nccl * sizeof(struct cl);
	q = (unsigned char *)(r + 1);
	r->ino = ic->ino;
	r->bytes = bytes;
	r->partial = partial;
	r->digest = digest(ic->inode, EXT2_INODE_SIZE(c->fs->super));
	r->cl = (struct cl *)q;
	if (c->nccl)
		memcpy(r->cl, c->ccl, c->nccl * sizeof(struct cl));
	r->ncl = c->nccl;
	q += c->nccl * sizeof(struct cl);
	r->rd = (blk64_t *)q;
	if (c->ncrd)
		memcpy(r->rd, c->crd, c->ncrd * sizeof(blk64_t));
	r->nrd = c->ncrd;
	q += c->ncrd * sizeof(blk64_t);
	r->seg = (struct ick_finding *)q;
	for (size_t i = 0; i < nseg; i++) {
		r->seg[i] = c->rep->f[c->seg_from + i];
		if (r->seg[i].detail && !(r->seg[i].detail = strdup(r->seg[i].detail))) {
			rec_free(r);
			c->err = ENOMEM;
			c->bail = c->impure = 1;
			return NULL;
		}
		r->nseg = i + 1;
	}
	return r;
}

/* @r's EA block owned (by the first inode naming it) and counted: 0, ENOMEM, or 1 when a
 * fast walk finds it owned already or free (the point must be full). */
static errcode_t rec_ea(struct ick_incr *c, struct rec *r, const struct ext2_inode_large *in)
{
	uint64_t refs;

	if (!(r->ea = ea_block(c, in)))
		return 0;
	refs = ick_u64map_get(&c->ea, r->ea, NULL);
	if (!refs) {
		if (c->fast && (bit(c->found, unit(c, r->ea)) || !bit(c->now, unit(c, r->ea))))
			return 1;
		set(c->found, unit(c, r->ea));
		touch(c, r->ea, 1);
	}
	return ick_u64map_put(&c->ea, r->ea, refs + 1) ? ENOMEM : 0;
}

static errcode_t rec_end(void *p, struct ick_inode_ctx *ic)
{
	struct ick_incr *c = p;
	size_t nseg = c->rep->nr - c->seg_from;
	struct rec *r;
	errcode_t err;

	if (c->bail || c->impure)
		return 0;
	for (size_t i = c->seg_from; i < c->rep->nr; i++)
		if (!pure(c->rep->f[i].code) || c->rep->f[i].ino != ic->ino) {
			c->bail = c->impure = 1;
			return 0;
		}
	if (!(r = rec_make(c, ic, nseg)))
		return 0;
	if ((err = rec_ea(c, r, ic->inode)) == 1) {
		rec_free(r);
		c->bail = 1;
		return 0;
	}
	if (err)
		goto nomem;
	for (size_t i = 0; i < r->nrd; i++) {
		int have;
		uint64_t v = ick_u64map_get(&c->watch, r->rd[i], &have);
		if (ick_u64map_put(&c->watch, r->rd[i], have && v != ic->ino ? 0 : ic->ino))
			goto nomem;
	}
	if (c->qu) {
		ick_quota_charge(c->fs, ic, &r->q);
		if (ick_quota_usage_add(c->qu, c->fs, &r->q, 1))
			goto nomem;
	}
	if (ick_u64map_put(&c->recs, ic->ino, (uint64_t)(uintptr_t)r))
		goto nomem;
	c->bytes += r->bytes;
	if (nseg && segs_insert(c, ic->ino)) {
		c->err = ENOMEM;
		c->bail = c->impure = 1;
	}
	return 0;
nomem:
	rec_free(r);
	c->err = ENOMEM;
	c->bail = c->impure = 1;
	return 0;
}

static const struct ick_walk_ops rec_ops = {
	.begin_inode = rec_begin, .claim = rec_claim, .end_inode = rec_end,
	.scan_error = rec_scan_error, .map_read = rec_map_read,
};

/* ---- the overlay's blocks ---- */

struct ovl { blk64_t *b; size_t nr, cap; };

static errcode_t ov_one(uint64_t blk, const unsigned char *data, void *p)
{
	struct ovl *o = p;
	blk64_t b = blk;

	return ICK_ARRAY_PUSH(o->b, o->nr, o->cap, 64, &b);
}

static errcode_t ov_blocks(const struct ick_image *img, struct ovl *o)
{
	errcode_t err;

	*o = (struct ovl){ 0 };
	if (!img->overlay)
		return 0;
	if ((err = ick_overlay_iterate(img->overlay, ov_one, o)))
		return err;
	if (o->nr)
		qsort(o->b, o->nr, sizeof(*o->b), cmp_blk);
	return 0;
}

static int in_sorted(const blk64_t *a, size_t n, blk64_t x)
{
	size_t lo = ick_array_lower_bound(a, n, sizeof(*a), &x, cmp_blk);

	return lo < n && a[lo] == x;
}

/* ---- a full point ---- */

static int cmp_itab(const void *a, const void *b)
{
	const struct itab *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* The arrays a full point fills; 0, or why not (the cache then stays off). */
static const char *prepare(struct ick_incr *c, const struct ick_image *img)
{
	ext2_filsys fs = img->fs;
	uint64_t nbits = (uint64_t)fs->group_desc_count * fs->super->s_blocks_per_group;
	size_t dsz = EXT2_DESC_SIZE(fs->super);

	geo_of(img, &c->geo);
	if (!c->geo.bpg || c->geo.bpg % 8 || nbits / 8 > c->budget / 4 ||
	    (uint64_t)fs->group_desc_count * (dsz + sizeof(uint64_t) + sizeof(struct itab) + 1) >
	    c->budget / 4)
		return "the cache's budget";
	c->nbytes = nbits / 8 + 8;
	if (!(c->found = calloc(1, c->nbytes)) || !(c->judged = calloc(1, c->nbytes)) ||
	    !(c->disk = calloc(1, c->nbytes)) || !(c->now = calloc(1, c->nbytes)) ||
	    !(c->desc = malloc(fs->group_desc_count * dsz)) ||
	    !(c->gfree = calloc(fs->group_desc_count, sizeof(*c->gfree))) ||
	    !(c->it = calloc(fs->group_desc_count, sizeof(*c->it))) ||
	    !(c->bb = calloc(fs->group_desc_count, sizeof(*c->bb))) ||
	    !(c->touched = calloc(fs->group_desc_count, 1)) ||
	    (ext2fs_has_feature_quota(fs->super) && ick_quota_usage_new(&c->qu)))
		return "no memory for the cache";
	c->bytes = 5 * c->nbytes + fs->group_desc_count * (dsz + sizeof(uint64_t) +
							   2 * sizeof(struct itab) + 1);
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		memcpy(c->desc + (size_t)g * dsz, ext2fs_group_desc(fs, fs->group_desc, g), dsz);
		c->it[g] = (struct itab){ ext2fs_inode_table_loc(fs, g), fs->inode_blocks_per_group,
					  g };
		c->bb[g] = (struct itab){ ext2fs_block_bitmap_loc(fs, g), 1, g };
	}
	qsort(c->it, fs->group_desc_count, sizeof(*c->it), cmp_itab);
	qsort(c->bb, fs->group_desc_count, sizeof(*c->bb), cmp_itab);
	/* the inodes in use, as the superblock counts them (a hint) */
	if (fs->super->s_free_inodes_count < fs->super->s_inodes_count &&
	    (ick_u64map_reserve(&c->recs, fs->super->s_inodes_count -
				fs->super->s_free_inodes_count) ||
	     ick_u64map_reserve(&c->watch, (fs->super->s_inodes_count -
					   fs->super->s_free_inodes_count) / 8)))
		return "no memory for the cache";
	return NULL;
}

/* Units of group @g inside the file system, as ick_bitmap_group counts them. */
static uint64_t group_units(ext2_filsys fs, dgrp_t g)
{
	return ext2fs_group_last_block2(fs, g) - ext2fs_group_first_block2(fs, g) + 1;
}

static uint64_t popcount(const unsigned char *a, uint64_t n)
{
	uint64_t r = 0;

	for (uint64_t i = 0; i < n; i++)
		r += bit(a, i);
	return r;
}

static errcode_t full(struct ick_incr *c, struct ick_image *img, unsigned mask,
		      const struct ick_check_opts *opts, struct ick_report *rep, const char *why)
{
	ext2_filsys fs = img->fs;
	size_t base = rep->nr;
	uint64_t dropped = rep->dropped;
	struct ovl o = { 0 };
	errcode_t err;

	c->st.full++;
	c->st.why_full = why;
	why = NULL;
	drop_all(c);
	why = not_incremental(img, mask, opts);
	if (!why)
		why = prepare(c, img);
	if (!why && !fs->block_map && (err = ext2fs_read_block_bitmap(fs)))
		why = "the block bitmap cannot be read";
	if (why) {
		c->st.why_full = why;
		drop_all(c);
		return ick_checks_run_opts(img, mask, opts, rep);
	}
	c->fs = fs;
	c->rep = rep;
	c->fast = c->bail = c->impure = c->over = 0;
	c->err = 0;
	{
		/* the walk memo's maps serve points in full one after another (findings that
		 * keep the cache off); at a point that builds the cache they cost, not save */
		struct ick_check_opts o2 = { 0 };
		if (opts)
			o2 = *opts;
		if (!c->last_impure)
			o2.memo = NULL;
		err = ick_checks_run_rec(img, mask, &o2, rep, &rec_ops, c);
	}
	if (err)
		goto off;
	if (c->err) {
		why = "no memory for the cache";
		goto off;
	}
	for (size_t i = base; i < rep->nr && !c->impure; i++)
		c->impure = !pure(rep->f[i].code);
	c->last_impure = c->impure || c->bail || rep->dropped != dropped;
	if (c->last_impure) {
		why = c->over ? "past the cache's budget" : "findings that depend on more than one inode";
		goto off;
	}
	if ((err = ext2fs_get_block_bitmap_range2(fs->block_map, c->geo.first_data,
						  (c->nbytes - 8) * 8, c->disk)))
		goto off;
	memcpy(c->now, c->disk, c->nbytes);
	c->nfree = 0;
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		uint64_t n = group_units(fs, g);
		c->gfree[g] = n - popcount(c->disk + (size_t)g * (c->geo.bpg / 8), n);
		c->nfree += c->gfree[g];
	}
	if ((err = ov_blocks(img, &o)))
		goto off;
	free(c->ov);
	c->ov = o.b;
	c->nov = o.nr;
	c->valid = 1;
	return 0;
off:
	c->st.why_full = why ? why : "an error during the walk";
	drop_all(c);
	return err;
}

/* ---- a point from the cache ---- */

struct dirty { ext2_ino_t *v; size_t nr, cap; };

static errcode_t dirty_add(struct dirty *d, ext2_ino_t ino)
{
	return ICK_ARRAY_PUSH(d->v, d->nr, d->cap, 64, &ino);
}

/* For ick_array_lower_bound: is @key (a block) before the table entry @e starts? */
static int before_start(const void *key, const void *e)
{
	return *(const blk64_t *)key < ((const struct itab *)e)->start ? -1 : 1;
}

/* The entry of @t (@n, sorted by start) holding @blk: its group and the block's index in
 * it, or -1. */
static int table_of(const struct itab *t, size_t n, blk64_t blk, dgrp_t *g, uint64_t *idx)
{
	/* after the last entry starting at or before blk */
	size_t lo = ick_array_lower_bound(t, n, sizeof(*t), &blk, before_start);

	if (!lo || !t[lo - 1].start || blk - t[lo - 1].start >= t[lo - 1].len)
		return -1;
	*g = t[lo - 1].g;
	*idx = blk - t[lo - 1].start;
	return 0;
}

static int itable_of(const struct ick_incr *c, blk64_t blk, dgrp_t *g, uint64_t *idx)
{
	return table_of(c->it, c->geo.ngroups, blk, g, idx);
}

/* The group whose block bitmap is @blk (when two share it, one of them), or -1. */
static int bbitmap_of(const struct ick_incr *c, blk64_t blk, dgrp_t *g)
{
	uint64_t idx;

	return table_of(c->bb, c->geo.ngroups, blk, g, &idx);
}

/* Does the inode scan (ext2fs_get_next_inode_full) see inode @i (0-based) of group @g? */
static int scanned(ext2_filsys fs, dgrp_t g, uint64_t i)
{
	if (!ext2fs_inode_table_loc(fs, g))
		return 0; /* EXT2_SF_SKIP_MISSING_ITABLE */
	if (!ext2fs_has_group_desc_csum(fs))
		return 1;
	if (ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT))
		return 0;
	/* the scan sees ipg - unused inodes, none when unused is ipg or more (a crafted
	 * descriptor: the difference must not wrap) */
	return ext2fs_bg_itable_unused(fs, g) < fs->super->s_inodes_per_group &&
	       i < fs->super->s_inodes_per_group - ext2fs_bg_itable_unused(fs, g);
}

/* The inodes of inode-table block @idx of group @g whose walk may differ from the cache. */
static errcode_t itable_block(struct ick_incr *c, dgrp_t g, uint64_t idx, unsigned char *buf,
			      struct dirty *d)
{
	ext2_filsys fs = c->fs;
	unsigned isize = EXT2_INODE_SIZE(fs->super), per = fs->blocksize / isize;
	errcode_t err;

	if ((err = io_channel_read_blk64(fs->io, ext2fs_inode_table_loc(fs, g) + idx, 1, buf)))
		return err;
	for (unsigned k = 0; k < per; k++) {
		uint64_t i = idx * per + k;
		ext2_ino_t ino = (ext2_ino_t)((uint64_t)g * fs->super->s_inodes_per_group + i + 1);
		const struct ext2_inode *in = (const void *)(buf + (size_t)k * isize);
		int have, used;
		struct rec *r;

		if (i >= fs->super->s_inodes_per_group)
			break;
		used = scanned(fs, g, i) && ick_inode_in_use(fs, ino, in);
		r = (struct rec *)(uintptr_t)ick_u64map_get(&c->recs, ino, &have);
		if (used != have || (used && r->digest != digest(in, isize)))
			if ((err = dirty_add(d, ino)))
				return err;
	}
	return 0;
}

/* What of a descriptor decides where things are and which inodes the scan sees. */
struct dsum { blk64_t bb, ib, it; uint16_t flags; uint32_t unused; };

static void dsum_of(const unsigned char *raw, size_t dsz, struct dsum *d)
{
	struct ext4_group_desc g;

	memset(&g, 0, sizeof(g));
	memcpy(&g, raw, dsz < sizeof(g) ? dsz : sizeof(g));
	d->bb = g.bg_block_bitmap | (dsz >= EXT2_MIN_DESC_SIZE_64BIT ? (blk64_t)g.bg_block_bitmap_hi << 32 : 0);
	d->ib = g.bg_inode_bitmap | (dsz >= EXT2_MIN_DESC_SIZE_64BIT ? (blk64_t)g.bg_inode_bitmap_hi << 32 : 0);
	d->it = g.bg_inode_table | (dsz >= EXT2_MIN_DESC_SIZE_64BIT ? (blk64_t)g.bg_inode_table_hi << 32 : 0);
	d->flags = g.bg_flags;
	d->unused = g.bg_itable_unused |
		    (dsz >= EXT2_MIN_DESC_SIZE_64BIT ? (uint32_t)g.bg_itable_unused_hi << 16 : 0);
}

/* Every group descriptor against the cache's: @rescan marks the groups whose scanned
 * inodes may differ, @rejudge those to judge again.  Non-zero: a bitmap or inode table
 * moved (a new geometry). */
static int descs_changed(struct ick_incr *c, unsigned char *rescan, unsigned char *rejudge)
{
	ext2_filsys fs = c->fs;
	size_t dsz = c->geo.desc_size;

	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		const unsigned char *now = (const void *)ext2fs_group_desc(fs, fs->group_desc, g);
		struct dsum a, b;

		if (!memcmp(now, c->desc + (size_t)g * dsz, dsz))
			continue;
		rejudge[g] = 1;
		dsum_of(now, dsz, &a);
		dsum_of(c->desc + (size_t)g * dsz, dsz, &b);
		if (a.bb != b.bb || a.ib != b.ib || a.it != b.it)
			return 1;
		if ((a.flags ^ b.flags) & EXT2_BG_INODE_UNINIT || a.unused != b.unused)
			rescan[g] = 1;
	}
	return 0;
}

/* A point tried from the cache: what fast() and its steps share.  A step returns an error
 * (the point fails) or 0, with @why set when the point must be full. */
struct pt {
	struct ick_incr *c;
	struct ick_image *img;
	ext2_filsys fs;
	unsigned mask;
	const struct ick_check_opts *opts;
	struct ick_report *rep;
	struct ick_report scratch; /* the re-walked inodes' and the groups' findings */
	struct ovl o;              /* the point's overlay blocks, sorted */
	struct dirty d;            /* the inodes whose walk may differ */
	unsigned char *rescan, *rejudge, *cand, *buf;
	blk64_t *ch;               /* every block that may read differently, sorted */
	size_t nch;
	struct chg { uint64_t u; int owned; } *chg; /* units whose bitmap bit changed */
	size_t nchg, capchg;
	const char *why;
	int ok;
};

/* The point may come from the cache at all: the same geometry and options, the changes
 * known, the bitmap loaded; the scratch arrays. */
static errcode_t pt_usable(struct pt *p)
{
	struct ick_incr *c = p->c;
	ext2_filsys fs = p->fs;
	uint64_t total = 0;
	struct geo g;
	errcode_t err;

	geo_of(p->img, &g);
	if (memcmp(&g, &c->geo, sizeof(g))) {
		p->why = "the geometry changed";
		return 0;
	}
	/* (the base may have been recorded with other options than the points) */
	if ((p->why = not_incremental(p->img, p->mask, p->opts)))
		return 0;
	if (c->pend_lost) {
		p->why = "too many changed blocks";
		return 0;
	}
	if (!fs->block_map && ext2fs_read_block_bitmap(fs)) {
		p->why = "the block bitmap cannot be read";
		return 0;
	}
	if ((err = ov_blocks(p->img, &p->o)))
		return err;
	for (size_t i = 0; i < c->npend; i++)
		total += c->pend[i].n;
	if (total + p->o.nr + c->nov > ICK_INCR_MAX_CHANGED) {
		p->why = "too many changed blocks";
		return 0;
	}
	if (!(p->ch = malloc((total + p->o.nr + c->nov + 1) * sizeof(*p->ch))) ||
	    !(p->rescan = calloc(fs->group_desc_count, 1)) ||
	    !(p->rejudge = calloc(fs->group_desc_count, 1)) ||
	    !(p->cand = calloc(fs->group_desc_count, 1)) || !(p->buf = malloc(fs->blocksize)))
		return ENOMEM;
	return 0;
}

/* Every block that may read differently: the device's writes, both overlays; and the
 * descriptors against the cache's. */
static errcode_t pt_changed_blocks(struct pt *p)
{
	struct ick_incr *c = p->c;

	for (size_t i = 0; i < c->npend; i++)
		for (uint64_t k = 0; k < c->pend[i].n; k++)
			p->ch[p->nch++] = c->pend[i].blk + k;
	if (p->o.nr)
		memcpy(p->ch + p->nch, p->o.b, p->o.nr * sizeof(*p->ch));
	p->nch += p->o.nr;
	if (c->nov)
		memcpy(p->ch + p->nch, c->ov, c->nov * sizeof(*p->ch));
	p->nch += c->nov;
	p->nch = ick_array_sort_unique(p->ch, p->nch, sizeof(*p->ch), cmp_blk);
	if (descs_changed(c, p->rescan, p->rejudge))
		p->why = "a group's bitmap or inode table moved";
	return 0;
}

/* The inodes whose walk may differ: those that read a changed map block, those whose
 * inode changed, every scanned one of a group to scan again. */
static errcode_t pt_dirty_inodes(struct pt *p)
{
	struct ick_incr *c = p->c;
	errcode_t err;

	for (size_t i = 0; i < p->nch; i++) {
		dgrp_t gr;
		uint64_t idx;
		int have;
		uint64_t v = ick_u64map_get(&c->watch, p->ch[i], &have);

		if (have && !v) {
			p->why = "a map block more than one inode read changed";
			return 0;
		}
		if (have && (err = dirty_add(&p->d, (ext2_ino_t)v)))
			return err;
		if (!itable_of(c, p->ch[i], &gr, &idx) && !p->rescan[gr] &&
		    itable_block(c, gr, idx, p->buf, &p->d)) {
			p->why = "an inode table block cannot be read";
			return 0;
		}
	}
	for (dgrp_t gr = 0; gr < p->fs->group_desc_count; gr++)
		for (uint64_t idx = 0; p->rescan[gr] && idx < p->fs->inode_blocks_per_group; idx++)
			if (itable_block(c, gr, idx, p->buf, &p->d)) {
				p->why = "an inode table block cannot be read";
				return 0;
			}
	p->d.nr = ick_array_sort_unique(p->d.v, p->d.nr, sizeof(*p->d.v), cmp_ino);
	return 0;
}

/* Group @gr's on-disk bitmap now into c->now, and the units whose bit changed since the
 * cache's, with whether they were owned. */
static errcode_t pt_group_bits(struct pt *p, dgrp_t gr)
{
	struct ick_incr *c = p->c;
	size_t n8 = c->geo.bpg / 8, off = (size_t)gr * n8;

	if (ext2fs_get_block_bitmap_range2(p->fs->block_map,
					   c->geo.first_data + (blk64_t)gr * c->geo.bpg,
					   c->geo.bpg, c->now + off)) {
		p->why = "the block bitmap cannot be read";
		return 0;
	}
	if (!memcmp(c->now + off, c->disk + off, n8))
		return 0;
	p->rejudge[gr] = 1;
	for (size_t b = 0; b < n8; b += 8) {
		uint64_t xw, dw;
		memcpy(&xw, c->now + off + b, 8);
		memcpy(&dw, c->disk + off + b, 8);
		if (!(xw ^= dw))
			continue;
		for (unsigned k = 0; k < 64; k++) {
			uint64_t u = (off + b) * 8 + k;
			if (bit(c->now, u) != bit(c->disk, u) &&
			    ICK_ARRAY_PUSH(p->chg, p->nchg, p->capchg, 64,
					   &((struct chg){ u, bit(c->found, u) })))
				return ENOMEM;
		}
	}
	return 0;
}

/* The on-disk bitmap now where it may have changed (the group's bitmap block was written
 * or overlaid, or its descriptor changed); elsewhere c->now equals c->disk. */
static errcode_t pt_bitmap_bits(struct pt *p)
{
	errcode_t err;
	dgrp_t gr;

	for (const blk64_t *b = p->ch; b < p->ch + p->nch; b++)
		if (!bbitmap_of(p->c, *b, &gr))
			p->cand[gr] = 1;
	for (gr = 0; gr < p->fs->group_desc_count; gr++) {
		if (!p->cand[gr] && !p->rejudge[gr])
			continue;
		p->cand[gr] = 1;
		if ((err = pt_group_bits(p, gr)) || p->why)
			return err;
	}
	if (p->nchg > ICK_INCR_MAX_CHANGED)
		p->why = "too many bitmap bits changed";
	return 0;
}

/* Out with the old, in with the new: the dirty inodes forgotten, those the scan sees
 * walked again into the scratch report. */
static errcode_t pt_rewalk(struct pt *p)
{
	struct ick_incr *c = p->c;
	ext2_filsys fs = p->fs;
	const struct ick_check_def *const *defs;
	unsigned inode_mask = 0;
	size_t nr, w = 0;
	errcode_t err;

	/* blocks that left the overlay: the stale check judged them not at all before */
	for (size_t i = 0; i < c->nov; i++)
		if (!in_sorted(p->o.b, p->o.nr, c->ov[i]) && inside(c, c->ov[i], 1) &&
		    bit(c->judged, unit(c, c->ov[i])))
			c->ov[i] |= 1ULL << 63; /* judged before: looked at again below */
	for (size_t i = 0; i < p->d.nr; i++) {
		struct rec *r = (struct rec *)(uintptr_t)ick_u64map_get(&c->recs, p->d.v[i], NULL);
		if (r && r->partial) {
			p->why = "an inode whose claims were past the budget changed";
			return 0;
		}
	}
	memset(c->touched, 0, fs->group_desc_count);
	c->err = 0;
	for (size_t i = 0; i < p->d.nr; i++)
		forget_inode(c, p->d.v[i]);
	defs = ick_checks(&nr);
	for (size_t i = 0; i < nr; i++)
		if (defs[i]->id != ICK_CHECK_BITMAP && defs[i]->id != ICK_CHECK_QUOTA)
			inode_mask |= 1u << defs[i]->id;
	c->rep = &p->scratch;
	c->fast = 1;
	c->bail = c->impure = 0;
	for (size_t i = 0; i < p->d.nr; i++) { /* forgotten all; walked those the scan sees */
		uint64_t i0 = p->d.v[i] - 1;
		if (p->d.v[i] <= fs->super->s_inodes_count &&
		    scanned(fs, (dgrp_t)(i0 / fs->super->s_inodes_per_group),
			    i0 % fs->super->s_inodes_per_group))
			p->d.v[w++] = p->d.v[i];
	}
	p->d.nr = w;
	err = w ? ick_checks_run_inodes(p->img, p->mask & inode_mask, p->opts, &p->scratch,
					p->d.v, w, &rec_ops, c) : 0;
	c->fast = 0;
	c->st.rewalked += w;
	if (err || c->err || c->bail)
		p->why = "a re-walked inode reports more than its own findings";
	return 0;
}

/* What the re-walk found is the inodes' own, no block owned at both points changed its
 * bit, no judged data left the journal's overlay. */
static errcode_t pt_verify(struct pt *p)
{
	struct ick_incr *c = p->c;

	for (size_t i = 0; i < p->scratch.nr; i++)
		if (!pure(p->scratch.f[i].code)) {
			p->why = "a re-walked inode reports more than its own findings";
			return 0;
		}
	for (size_t i = 0; i < p->nchg; i++)
		if (p->chg[i].owned && bit(c->found, p->chg[i].u)) {
			p->why = "a block owned at both points changed its bitmap bit";
			return 0;
		}
	for (size_t i = 0; i < c->nov; i++)
		if ((c->ov[i] >> 63) && bit(c->judged, unit(c, c->ov[i] & ~(1ULL << 63)))) {
			p->why = "written data left the journal's overlay";
			return 0;
		}
	return 0;
}

/* The groups to judge again, the free total and the quota files: all must be quiet. */
static errcode_t pt_rejudge(struct pt *p)
{
	struct ick_incr *c = p->c;
	ext2_filsys fs = p->fs;
	size_t before = p->scratch.nr;
	unsigned char *disk;
	errcode_t err = 0;

	if (!(disk = malloc(c->geo.bpg / 8 + 8)))
		return ENOMEM;
	for (dgrp_t gr = 0; gr < fs->group_desc_count && !err; gr++) {
		uint64_t nf;
		if (!p->rejudge[gr] && !c->touched[gr])
			continue;
		err = ick_bitmap_group(fs, gr, c->found + (size_t)gr * (c->geo.bpg / 8), disk,
				       p->opts ? p->opts->memo : NULL, &p->scratch, &nf);
		c->nfree = c->nfree - c->gfree[gr] + nf;
		c->gfree[gr] = nf;
	}
	free(disk);
	if (!err)
		err = ick_bitmap_total(fs, c->nfree, &p->scratch);
	/* the quota files against the usage the deltas keep */
	if (!err && c->qu)
		err = ick_quota_usage_compare(fs, c->qu, &p->scratch);
	if (err)
		p->why = "a group cannot be judged";
	else if (p->scratch.nr != before || p->scratch.dropped)
		p->why = "a group's bitmap or counts report";
	return 0;
}

/* Answered: the new state becomes the cache's, the report its segments. */
static errcode_t pt_answer(struct pt *p)
{
	struct ick_incr *c = p->c;
	ext2_filsys fs = p->fs;
	size_t n8 = c->geo.bpg / 8;
	errcode_t err = 0;

	for (dgrp_t gr = 0; gr < fs->group_desc_count; gr++)
		if (p->cand[gr])
			memcpy(c->disk + (size_t)gr * n8, c->now + (size_t)gr * n8, n8);
	for (dgrp_t gr = 0; gr < fs->group_desc_count; gr++)
		memcpy(c->desc + (size_t)gr * c->geo.desc_size,
		       ext2fs_group_desc(fs, fs->group_desc, gr), c->geo.desc_size);
	free(c->ov);
	c->ov = p->o.b;
	c->nov = p->o.nr;
	p->o.b = NULL;
	for (size_t i = 0; i < c->nsegs && !err; i++) {
		struct rec *r = (struct rec *)(uintptr_t)ick_u64map_get(&c->recs, c->segs[i], NULL);
		for (size_t k = 0; k < r->nseg && !err; k++)
			err = r->seg[k].detail ?
			      ick_report_add(p->rep, &r->seg[k], "%s", r->seg[k].detail) :
			      ick_report_add(p->rep, &r->seg[k], NULL);
	}
	p->ok = !err;
	c->st.fast++;
	return err;
}

/* Try the point from the cache: 0 with *@ok set when answered (findings added to @rep);
 * *@ok 0 and *@why when it must be full (the cache is then stale: the caller redoes it). */
static errcode_t fast(struct ick_incr *c, struct ick_image *img, unsigned mask,
		      const struct ick_check_opts *opts, struct ick_report *rep, int *ok,
		      const char **why)
{
	static errcode_t (*const steps[])(struct pt *) = {
		pt_usable, pt_changed_blocks, pt_dirty_inodes, pt_bitmap_bits, pt_rewalk,
		pt_verify, pt_rejudge, pt_answer,
	};
	struct pt p = { .c = c, .img = img, .fs = img->fs, .mask = mask, .opts = opts,
			.rep = rep };
	errcode_t err;

	*ok = 0;
	*why = NULL;
	if ((err = ick_report_init(&p.scratch, NULL)))
		return err;
	c->fs = p.fs;
	for (size_t i = 0; i < ICK_ARRAY_SIZE(steps) && !err && !p.why; i++)
		err = steps[i](&p);
	*ok = p.ok;
	*why = p.why;
	ick_report_free(&p.scratch);
	free(p.o.b);
	free(p.d.v);
	free(p.ch);
	free(p.chg);
	free(p.rescan);
	free(p.rejudge);
	free(p.cand);
	free(p.buf);
	return err;
}

/* ---- the interface ---- */

errcode_t ick_incr_new(struct ick_incr **out)
{
	struct ick_incr *c = calloc(1, sizeof(*c));
	uint64_t v = ICK_INCR_BUDGET;

	*out = c;
	if (!c)
		return ENOMEM;
	ick_env_u64("IOMAPCK_INCR_BUDGET", SIZE_MAX, &v);
	c->budget = (size_t)v;
	ick_env_u64("IOMAPCK_INCR_CLAIMS_BUDGET", SIZE_MAX, &v);
	c->claims_budget = (size_t)v;
	return 0;
}

void ick_incr_free(struct ick_incr *c)
{
	if (!c)
		return;
	drop_all(c);
	free(c->ov);
	free(c->segs);
	free(c->pend);
	free(c->ccl);
	free(c->crd);
	free(c);
}

void ick_incr_changed(struct ick_incr *c, blk64_t blk, uint64_t n)
{
	if (c->pend_lost || !n)
		return;
	if ((c->npend == c->cappend && c->npend >= 4096) ||
	    ICK_ARRAY_PUSH(c->pend, c->npend, c->cappend, 64, &((struct pend){ blk, n })))
		c->pend_lost = 1;
}

void ick_incr_forget(struct ick_incr *c)
{
	c->valid = 0;
}

errcode_t ick_incr_check(struct ick_incr *c, struct ick_image *img, unsigned mask,
			 const struct ick_check_opts *opts, struct ick_report *rep)
{
	const char *why = NULL;
	int ok = 0;
	errcode_t err = 0;

	/* the changes are clipped to the file system: blocks past it hold nothing walked */
	if (c->valid) {
		for (size_t i = 0; i < c->npend; i++) {
			blk64_t end = c->pend[i].blk + c->pend[i].n;
			if (end < c->pend[i].blk || end > c->geo.blocks)
				end = c->geo.blocks;
			c->pend[i].n = c->pend[i].blk < end ? end - c->pend[i].blk : 0;
		}
		err = fast(c, img, mask, opts, rep, &ok, &why);
	} else {
		why = c->st.why_full ? c->st.why_full : "the first point";
	}
	c->npend = 0;
	c->pend_lost = 0;
	if (err || ok)
		return err;
	return full(c, img, mask, opts, rep, why);
}

void ick_incr_stats(const struct ick_incr *c, struct ick_incr_stats *st)
{
	*st = c ? c->st : (struct ick_incr_stats){ 0 };
}
