/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * quota_file.h - ext4's hidden quota files (the v2 "vfsv1" tree format in the inodes named by
 * s_usr_quota_inum, s_grp_quota_inum and s_prj_quota_inum): open and validate one, list its
 * entries, look one id up, and update or insert one id's usage.
 *
 * The file is a sequence of 1 KiB blocks: block 0 holds the header (magic per type, version)
 * and the info block (grace times, block count, heads of the free-block and free-entry lists);
 * block 1 is the root of a four-level radix tree indexed by the id's bytes, most significant
 * first; the fourth level points at data blocks of 14 (version 1) or 21 (version 0) entries.
 *
 * Opening walks the whole tree once, bounds-checking every reference, depth and entry, with
 * a visited set so a loop or a shared subtree is found rather than followed; the entries are
 * then held in memory, sorted by id (memory and work are bounded by the file's size, itself
 * at most 2 GiB as in e2fsprogs).  A malformed file is an error code with a reason
 * (ick_quota_why), never a crash.
 *
 * Writing: only on an image opened with EXT2_FLAG_RW (ick_image_open with ICK_OPEN_RW) and a
 * handle opened with ICK_QUOTA_RW.  The writer follows the kernel's fs/quota/quota_tree.c and
 * e2fsprogs' quotaio_tree.c: tree and data blocks come from the free-block list or by growing
 * the file, data blocks with a free slot are on the free-entry list, each data block counts
 * its entries, and an entry left with no usage and no limits is deleted (the kernel releases
 * such a "fake" dquot), freeing blocks that become empty.  The block bitmap, the quota
 * inode's i_blocks/i_size and the info block are updated through libext2fs; the image is
 * written when the caller closes it (ext2fs_close).
 */
#ifndef ICK_QUOTA_FILE_H
#define ICK_QUOTA_FILE_H

#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"

#define ICK_QUOTA_BLKSIZE 1024u        /* QT_BLKSIZE, whatever the file system's block size */
#define ICK_QUOTA_MAX_SIZE (1ull << 31) /* e2fsprogs refuses larger quota files */

enum ick_quota_type { ICK_QUOTA_USER, ICK_QUOTA_GROUP, ICK_QUOTA_PROJECT, ICK_QUOTA_NTYPES };

/* One id's record.  Space is in bytes, block limits in 1 KiB quota blocks, times are epoch
 * seconds (grace deadlines; 0 = not running). */
struct ick_dquot {
	uint32_t id;
	uint64_t curspace;
	uint64_t curinodes;
	uint64_t bhardlimit, bsoftlimit;
	uint64_t ihardlimit, isoftlimit;
	uint64_t btime, itime;
};

struct ick_quota_info {
	enum ick_quota_type type;
	ext2_ino_t ino;
	uint64_t size;          /* i_size of the quota inode */
	uint32_t version;       /* 0 (48-byte entries) or 1 (72-byte entries) */
	uint32_t bgrace, igrace; /* seconds */
	uint32_t flags;
	uint32_t blocks;        /* dqi_blocks: 1 KiB blocks in use, header included */
	uint32_t free_blk;      /* head of the free-block list, 0 if empty */
	uint32_t free_entry;    /* head of the list of data blocks with a free slot, 0 if empty */
	uint32_t tree_blocks, data_blocks, free_blocks; /* as found by the walk */
	uint64_t entries;       /* used entries */
	int header_ok;          /* header and info block were read and are sane */
};

#define ICK_QUOTA_RW      0x1 /* allow ick_quota_set_usage (needs EXT2_FLAG_RW) */
#define ICK_QUOTA_SALVAGE 0x2 /* on a malformed file, return the handle all the same (read-only,
				 holding the entries that could be read) */

struct ick_quota_file;

const char *ick_quota_type_name(enum ick_quota_type t); /* "user", "group", "project" */
/* The superblock's quota inode for @t (0: none). */
ext2_ino_t ick_quota_inum(ext2_filsys fs, enum ick_quota_type t);

/*
 * ick_quota_open - open the quota file of type @t named by the superblock.
 * ick_quota_open_ino - the same for an explicit inode.
 * Returns 0, ICK_ET_QUOTA_NO_FILE (the superblock names none), ICK_ET_READ_ONLY (RW asked on
 * an image opened read-only), ICK_ET_QUOTA_BAD_MAGIC, ICK_ET_QUOTA_BAD_VERSION,
 * ICK_ET_QUOTA_CORRUPT (invalid inode number, insane info block, bad tree: see
 * ick_quota_why), or a libext2fs/errno code.  With ICK_QUOTA_SALVAGE, *out is set for the
 * three ICK_ET_QUOTA_* format errors too; otherwise *out is NULL on any error.
 */
ICK_MUST_CHECK errcode_t ick_quota_open(ext2_filsys fs, enum ick_quota_type t, unsigned flags,
					struct ick_quota_file **out);
ICK_MUST_CHECK errcode_t ick_quota_open_ino(ext2_filsys fs, ext2_ino_t ino, enum ick_quota_type t,
					    unsigned flags, struct ick_quota_file **out);

/* Why the file is malformed (the first structural problem found), or NULL. */
const char *ick_quota_why(const struct ick_quota_file *qf);
/* Why the free-block/free-entry bookkeeping is inconsistent, or NULL.  Such a file reads
 * correctly, but the kernel may misallocate in it, so ick_quota_set_usage refuses it. */
const char *ick_quota_list_problem(const struct ick_quota_file *qf);
const struct ick_quota_info *ick_quota_get_info(const struct ick_quota_file *qf);
size_t ick_quota_count(const struct ick_quota_file *qf);

/* Call @fn for every entry in ascending id order; a non-zero return stops and is returned. */
ICK_MUST_CHECK errcode_t ick_quota_iterate(const struct ick_quota_file *qf,
					   errcode_t (*fn)(const struct ick_dquot *dq, void *priv),
					   void *priv);

/* One id's entry; ICK_ET_QUOTA_NOT_FOUND if the file has none. */
ICK_MUST_CHECK errcode_t ick_quota_lookup(const struct ick_quota_file *qf, uint32_t id,
					  struct ick_dquot *out);

/*
 * ick_quota_set_usage - make @id's usage @space bytes and @inodes inodes, inserting the entry
 * (with no limits) if there is none, and deleting it if usage becomes zero and it has no
 * limits.  Grace deadlines follow the soft limits as the kernel and e2fsprogs keep them.
 * ick_quota_add_usage - the same by signed deltas; a decrease below zero stops at zero, as
 * the kernel's dquot_decr_space/dquot_decr_inodes do.
 * Returns 0, ICK_ET_READ_ONLY, ICK_ET_QUOTA_CORRUPT (the file is malformed or its free lists
 * are inconsistent), EOVERFLOW (a version-0 file cannot hold the value), or a libext2fs code
 * (ENOSPC-like codes when no block can be allocated).
 */
ICK_MUST_CHECK errcode_t ick_quota_set_usage(struct ick_quota_file *qf, uint32_t id,
					     uint64_t space, uint64_t inodes);
ICK_MUST_CHECK errcode_t ick_quota_add_usage(struct ick_quota_file *qf, uint32_t id,
					     int64_t dspace, int64_t dinodes);

/* The id of type @t that owns @in, as the kernel charges it: uid and gid with their high
 * halves; project = i_projid when the inode (on-disk size and i_extra_isize) holds it, else 0. */
uint32_t ick_quota_owner(ext2_filsys fs, const struct ext2_inode_large *in,
			 enum ick_quota_type t);

/*
 * ick_quota_flush - write back the info block and i_size if they changed and flush the
 * file's buffer, so that every change made so far is in the image's io channel (the write
 * path commits quota together with the allocation it accounts for).  NULL is accepted.
 */
errcode_t ick_quota_flush(struct ick_quota_file *qf);

/*
 * ick_quota_close - write back the info block and i_size if they changed, close the file
 * and free the handle.  Returns the first error met while writing (the handle is freed
 * regardless).  NULL is accepted.
 */
errcode_t ick_quota_close(struct ick_quota_file *qf);

#endif
