/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fast_commit.h - ext4 fast-commit replay into the view, after the full jbd2 replay.
 *
 * The fast-commit area is the journal's last s_num_fc_blks blocks (256 when 0) less one:
 * log blocks are [s_first, maxlen - num_fc), fast-commit blocks (maxlen - num_fc, maxlen)
 * (Linux fs/jbd2/journal.c sets j_fc_first = j_last + 1).  Each block holds tags (a 16-bit
 * tag and a 16-bit length, then the value, little-endian): HEAD (features, tid), INODE,
 * ADD_RANGE, DEL_RANGE, CREAT, LINK, UNLINK, PAD and TAIL (tid, crc32c of every tag since
 * the last TAIL, seed 0).  Two steps, both as e2fsprogs e2fsck/journal.c does (its
 * ext4_fc_replay_scan and ext4_fc_replay, the same rules as Linux fs/ext4/fast_commit.c):
 *
 * ick_fc_scan counts the tags to replay: none unless block 0 starts with a HEAD of the
 * expected tid (the transaction after the last full commit); then every tag up to the last
 * TAIL whose tid is the expected one and whose crc matches.  A bad TAIL, an unknown tag
 * or a tag that does not fit ends the scan there once one TAIL was good; before that it is
 * an error (the kernel and e2fsck fail the recovery: ICK_ET_JOURNAL_CORRUPT), as are HEAD
 * features this replay does not know.  Every length comes from the image: a tag's value
 * must lie inside its block and be at least its type's size, or the scan ends as above.
 *
 * ick_fc_replay applies those tags to @fs, an RW handle whose io lands in the overlay:
 * INODE writes the logged inode over the on-disk one (keeping i_block unless inline data;
 * i_blocks counted again) and marks it in the inode bitmap; ADD_RANGE / DEL_RANGE edit the
 * inode's extent list, which is written back as a fresh extent tree at the next tag for
 * another inode or a TAIL; CREAT and LINK add the name unless it is there (raising the
 * link count; CREAT sets it to 1), UNLINK removes it (dropping the count; at 0 the inode
 * goes on the orphan list).  Where e2fsck 1.47 and the kernel differ, the kernel is
 * followed (its recovery is what a mount sees): tags for an inode the kernel's ext4_iget
 * refuses (no links, a reserved or out-of-range number) are skipped, and an INODE tag
 * logging an inode with no links, or a CREAT of one, fails the replay as it fails the
 * kernel's journal recovery (st->refused; the mount fails).  Blocks of changed extents are set or
 * cleared in the block bitmap as they change; at the end the summary counts are computed
 * from the bitmaps and bitmaps, descriptors and superblock written.  A libext2fs error in
 * a tag stops the replay with that error, as it fails e2fsck's recovery (the caller reports
 * JOURNAL_CORRUPT and checks the raw image).
 */
#ifndef ICK_FAST_COMMIT_H
#define ICK_FAST_COMMIT_H

#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"

struct ick_fc_stats {
	uint32_t tags;       /* tags replayed (HEAD, PAD and TAIL included, as e2fsck counts) */
	uint32_t commits;    /* good TAILs: fast commits replayed */
	uint32_t inodes, ranges_added, ranges_deleted, links, unlinks;
	uint32_t skipped;    /* tags the kernel's replay ignores: an inode it cannot get */
	int refused;         /* the replay failed where the kernel's fails (a mount fails) */
	char why[256];       /* why the scan or the replay failed */
};

/*
 * ick_fc_scan - the number of tags of @area (@nblocks blocks of @bs bytes) to replay for
 * transaction @tid into *ntags (0: nothing).  Returns 0 or ICK_ET_JOURNAL_CORRUPT (why in
 * st->why).
 */
ICK_MUST_CHECK errcode_t ick_fc_scan(const unsigned char *area, uint32_t nblocks, unsigned bs,
				     uint32_t tid, uint32_t *ntags, struct ick_fc_stats *st);

/* ick_fc_replay - replay the first @ntags tags of @area into @fs (opened RW).  Returns 0,
 * ICK_ET_JOURNAL_CORRUPT (a tag the replay cannot apply; why in st->why), or ENOMEM. */
ICK_MUST_CHECK errcode_t ick_fc_replay(ext2_filsys fs, const unsigned char *area,
				       uint32_t nblocks, uint32_t ntags, struct ick_fc_stats *st);

#endif
