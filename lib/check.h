/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * check.h - the table of checks and the context they share.
 *
 * A check is a row {name, setup, walk ops, finish, cleanup}.  ick_checks_run() sets up the
 * selected checks, runs one ick_walk() whose claims and inodes fan out to every check that
 * wants them (one pass over the inode table, however many checks), then lets each finish.
 * Checks only add findings to the report; they never print and never write the image.
 */
#ifndef ICK_CHECK_H
#define ICK_CHECK_H

#include "image.h"
#include "report.h"
#include "walk.h"

/* Inputs some checks need beyond the image.  NULL (or a zeroed struct) runs every check
 * with its defaults; a check whose evidence is missing (stale without a pattern) does
 * nothing. */
#define ICK_POISON_MAX 64 /* bytes */
#define ICK_STALE_SINCE_BASE UINT64_MAX /* stale_judge's *since: no write since the base */
struct ick_check_opts {
	const unsigned char *poison; /* the pattern CI filled free space with; NULL: stale off */
	size_t poison_len;           /* 1..ICK_POISON_MAX */
	/* Evidence from a log (sweep.c, stale_log.h): non-zero when block @pblk of the state
	 * checked has had no write since it was allocated; *since is the entry up to which
	 * every write belongs to its earlier life (ICK_STALE_SINCE_BASE: the log holds no
	 * write to it since the base image, where it was free).  NULL: none. */
	int (*stale_judge)(void *priv, blk64_t pblk, uint64_t *since);
	void *stale_priv;
	/* What the checks of earlier states left to reuse: block maps, checksum verdicts
	 * (memo.h); NULL: everything afresh. */
	struct ick_memo *memo;
};

struct ick_ctx {
	ext2_filsys fs;
	struct ick_report *rep;
	const struct ick_check_opts *opts; /* may be NULL */
};

struct ick_check_def {
	const char *name;
	enum ick_check id;
	errcode_t (*setup)(struct ick_ctx *ctx, void **state);
	struct ick_walk_ops ops; /* priv is the check's state */
	errcode_t (*finish)(struct ick_ctx *ctx, void *state);
	void (*cleanup)(void *state);
};

extern const struct ick_check_def ick_check_bitmap;
extern const struct ick_check_def ick_check_unwritten;
extern const struct ick_check_def ick_check_size;
extern const struct ick_check_def ick_check_quota;
extern const struct ick_check_def ick_check_stale;

/* All checks in the order they run; *nr receives the count. */
const struct ick_check_def *const *ick_checks(size_t *nr);

/* Bit (1 << id) for the check called @name, or 0. */
unsigned ick_check_mask(const char *name);
#define ICK_CHECKS_ALL (~0u)

/*
 * ick_checks_run - run the checks selected by @mask on an open image.
 * Findings go to @rep; returns 0, or an operational error (image unreadable).
 */
ICK_MUST_CHECK errcode_t ick_checks_run(struct ick_image *img, unsigned mask,
					struct ick_report *rep);

/* ick_checks_run_opts - the same, with @opts (may be NULL) handed to every check. */
ICK_MUST_CHECK errcode_t ick_checks_run_opts(struct ick_image *img, unsigned mask,
					     const struct ick_check_opts *opts,
					     struct ick_report *rep);

/*
 * ick_checks_run_rec - ick_checks_run_opts with a recorder @rec (may be NULL) visiting the
 * same walk: its begin_inode runs before the checks', its claim, end_inode and
 * scan_error after theirs, its map_read on every map block read.
 */
ICK_MUST_CHECK errcode_t ick_checks_run_rec(struct ick_image *img, unsigned mask,
					    const struct ick_check_opts *opts,
					    struct ick_report *rep, const struct ick_walk_ops *rec,
					    void *rec_priv);

/*
 * ick_checks_run_inodes - the same for the inodes @inos only (ick_walk_inodes: no group
 * metadata).  Only a check that judges each inode on its own means the same this way
 * (unwritten, size, stale: incr.h says how the others are kept); @mask selects them.
 */
ICK_MUST_CHECK errcode_t ick_checks_run_inodes(struct ick_image *img, unsigned mask,
					       const struct ick_check_opts *opts,
					       struct ick_report *rep, const ext2_ino_t *inos,
					       size_t n, const struct ick_walk_ops *rec,
					       void *rec_priv);

/*
 * The bitmap check's verdict on one group, given the blocks owned in it: @owned holds one
 * bit per unit (block, or cluster under bigalloc) from the group's first, as
 * ext2fs_get_block_bitmap_range2 gives them; @disk is scratch of
 * EXT2_CLUSTERS_PER_GROUP / 8 + 8 bytes.  Reports leaked units, the bitmap checksum, an
 * uninit group in use and the group's free count; *@nfree receives the units the on-disk
 * bitmap calls free.  fs->block_map must be loaded.  @memo may be NULL.
 */
struct ick_memo;
ICK_MUST_CHECK errcode_t ick_bitmap_group(ext2_filsys fs, dgrp_t g, const unsigned char *owned,
					  unsigned char *disk, struct ick_memo *memo,
					  struct ick_report *rep, uint64_t *nfree);
/* ... and on the superblock's free count, @nfree being the groups' sum. */
ICK_MUST_CHECK errcode_t ick_bitmap_total(ext2_filsys fs, uint64_t nfree, struct ick_report *rep);

/*
 * The quota check's usage, kept by a caller across states and updated by deltas (incr.h):
 * what an inode is charged (as the check charges it; not with ea_inode, whose EA inodes
 * the check counts from the EA block), a table of usage per type and id, and the
 * check's comparison of it with every quota file.  @sign < 0 takes a charge back.
 */
struct ick_quota_usage;
struct ick_quota_charge { int charged; uint32_t id[3]; uint64_t space, inodes; };
ICK_MUST_CHECK errcode_t ick_quota_usage_new(struct ick_quota_usage **out);
void ick_quota_usage_free(struct ick_quota_usage *u);
void ick_quota_charge(ext2_filsys fs, const struct ick_inode_ctx *ic, struct ick_quota_charge *q);
ICK_MUST_CHECK errcode_t ick_quota_usage_add(struct ick_quota_usage *u, ext2_filsys fs,
					     const struct ick_quota_charge *q, int sign);
ICK_MUST_CHECK errcode_t ick_quota_usage_compare(ext2_filsys fs, const struct ick_quota_usage *u,
						 struct ick_report *rep);

/* Does the stale check judge the written data of inode @ino (a regular file nobody reads
 * only internally)? */
int ick_stale_judges(ext2_filsys fs, ext2_ino_t ino, const struct ext2_inode_large *in);

/*
 * ick_poison_parse - a poison pattern from hex text ("5a", "deadbeef", an optional 0x):
 * an even number of hex digits, 1 to ICK_POISON_MAX bytes and at most @cap.  Fills @buf and
 * *@len; EINVAL otherwise (*@len is then 0).
 */
ICK_MUST_CHECK errcode_t ick_poison_parse(const char *hex, unsigned char *buf, size_t cap,
					  size_t *len);

#endif
