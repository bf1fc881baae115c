/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * walk.h - one pass over everything that owns blocks: each group's metadata, then every
 * in-use inode (the way e2fsck pass 1 decides "in use": reserved inodes always, others when
 * i_links_count is non-zero) with its extent tree or indirect blocks and its EA block.
 *
 * Each owned range is handed to a visitor as a claim.  Mappings that cannot be trusted
 * (outside the file system, zero length, out of order, overlapping an earlier extent of the
 * same file, a tree node that cannot be read) are handed over too, flagged bad, and are not
 * counted as owned — the same choice e2fsck -n makes, so bitmap differences agree.
 * Termination: extent depth is capped, each tree block is visited once per inode, and the
 * number of entries walked per inode is capped by the file system's size.  Read-only.
 */
#ifndef ICK_WALK_H
#define ICK_WALK_H

#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"

/* The kernel stops at 5 (EXT4_MAX_EXTENT_DEPTH); e2fsck still walks deeper trees, and so do
 * we, up to a cap that only bounds the recursion. */
#define ICK_MAX_EXTENT_DEPTH 32
#define ICK_UNINIT_MAX_LEN 32767 /* EXT_UNINIT_MAX_LEN */

enum ick_claim_kind {
	ICK_CLAIM_SUPER, ICK_CLAIM_GDT, ICK_CLAIM_BBITMAP, ICK_CLAIM_IBITMAP, ICK_CLAIM_ITABLE,
	ICK_CLAIM_DATA, ICK_CLAIM_TREE, ICK_CLAIM_IND, ICK_CLAIM_EA, ICK_CLAIM_BADBLOCK,
	ICK_CLAIM_RESIZE, ICK_CLAIM_MMP,
};

enum ick_bad {
	ICK_BAD_NONE, ICK_BAD_RANGE, ICK_BAD_ZERO_LEN, ICK_BAD_ORDER, ICK_BAD_OVERLAP,
	ICK_BAD_NODE, ICK_BAD_LOOP, ICK_BAD_TOO_MANY, ICK_BAD_DIR_TOO_BIG,
	ICK_BAD_SYMLINK_TOO_BIG, ICK_BAD_FILE_TOO_BIG,
};

struct ick_claim {
	enum ick_claim_kind kind;
	enum ick_bad bad;
	ext2_ino_t ino;  /* 0 for group metadata */
	dgrp_t group;    /* group metadata: its group */
	uint64_t lblk;   /* logical start for file data, else ICK_NONE */
	blk64_t pblk;
	uint64_t len;
	int unwritten;
	errcode_t err;   /* why a node is bad */
	/* bigalloc (walk.c, charge_extent): the first cluster is the one this file's previous
	 * mapping ended in, charged and claimed already; the mapping's cluster offsets differ
	 * from its logical ones (e2fsck's PR_1_MISALIGNED_CLUSTER) */
	int cluster_shared, misaligned;
};

struct ick_inode_ctx {
	ext2_ino_t ino;
	const struct ext2_inode_large *inode;
	int extents;           /* mapped by an extent tree */
	uint64_t nblocks;      /* blocks owned and counted: data, tree, indirect, EA; under
				* bigalloc whole clusters, as e2fsck charges them (walk.c) */
	int64_t last_written;  /* last logical block of written data, -1 if none */
	int64_t last_mapped;   /* last logical block mapped at all, -1 if none */
	unsigned nbad;         /* bad mappings seen */
};

struct ick_walk_ops {
	/* group metadata has ic == NULL.  Returning non-zero stops the walk with that code. */
	errcode_t (*claim)(void *priv, const struct ick_claim *c, struct ick_inode_ctx *ic);
	errcode_t (*begin_inode)(void *priv, struct ick_inode_ctx *ic);
	errcode_t (*end_inode)(void *priv, struct ick_inode_ctx *ic);
	/* an inode or a stretch of the inode table that cannot be read */
	errcode_t (*scan_error)(void *priv, ext2_ino_t ino, errcode_t err);
	/* the map walk of the current inode is about to read block @blk (an extent tree
	 * node, an indirect block, an EA block): what its result depends on besides the
	 * inode itself.  May be NULL. */
	void (*map_read)(void *priv, blk64_t blk);
};

const char *ick_claim_kind_name(enum ick_claim_kind k);
const char *ick_bad_name(enum ick_bad b);

/* ick_walk - visit all group metadata, then every in-use inode.  The block bitmap need
 * not be loaded. */
ICK_MUST_CHECK errcode_t ick_walk(ext2_filsys fs, const struct ick_walk_ops *ops, void *priv);

/*
 * A cache of inode block maps the walk asks before walking one (memo_map.c keeps one across
 * crash points).  find: the map of @ino as kept for this key, or NULL; on a miss the walk
 * calls begin, then claim for each claim it hands over and read for each map block before
 * reading it, then keep with the summary (or abandon).  walk_start and walk_end bracket
 * every walk.  Claim handlers see a found map's claims as in a walk (memo.h says what
 * differs for them).
 */
struct ick_walk_map {
	const struct ick_claim *claims;
	size_t nclaims;
	uint64_t nblocks;      /* added to ic->nblocks */
	int64_t last_written, last_mapped;
	unsigned nbad;         /* added to ic->nbad */
	int extents;
	const blk64_t *read;   /* the map blocks the walk read */
	size_t nread;
};
struct ick_map_cache {
	void *priv;
	void (*walk_start)(void *priv, ext2_filsys fs);
	void (*walk_end)(void *priv);
	const struct ick_walk_map *(*find)(void *priv, ext2_ino_t ino, const void *key, size_t len);
	void (*begin)(void *priv, ext2_ino_t ino);
	void (*claim)(void *priv, const struct ick_claim *c);
	void (*read)(void *priv, blk64_t blk);
	void (*keep)(void *priv, const void *key, size_t len, const struct ick_walk_map *sum);
	void (*abandon)(void *priv);
};

/* ick_walk, asking @cache (NULL: none) for each inode's block map. */
ICK_MUST_CHECK errcode_t ick_walk_cached(ext2_filsys fs, const struct ick_walk_ops *ops,
					 void *priv, const struct ick_map_cache *cache);

/*
 * ick_walk_inodes - the same visits for the inodes @inos only (@n of them, ascending),
 * as the full walk makes them, without the group metadata: each is read afresh and
 * skipped when not in use.  One difference: an EA block is handed to every inode that
 * names it, not only to the first (the caller keeps the count).
 */
ICK_MUST_CHECK errcode_t ick_walk_inodes(ext2_filsys fs, const struct ick_walk_ops *ops,
					 void *priv, const ext2_ino_t *inos, size_t n);

/* Is @ino in use by e2fsck's pass-1 rule? */
int ick_inode_in_use(ext2_filsys fs, ext2_ino_t ino, const struct ext2_inode *inode);

#endif
