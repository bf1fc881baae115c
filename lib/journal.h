/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * journal.h - jbd2 journal recovery into a block overlay, read-only.
 *
 * What the kernel does at mount (fs/jbd2/recovery.c) and e2fsck does before checking
 * (e2fsprogs e2fsck/recovery.c, journal.c), done into memory: the three passes (scan for
 * the end of the log, collect revokes, replay), with the same rules for sequence numbers,
 * wrap-around, descriptor/commit/data checksums (csum v2 and v3, and the v1 transaction
 * checksum), async commit and revoke records.  Then the two things e2fsck writes after a
 * replay, so the view matches the e2fsck-recovered image: the journal superblock is
 * marked empty (s_start 0, s_sequence the next transaction, its checksum) and the file
 * system superblock loses needs_recovery (and gains ERROR_FS when a transaction's commit
 * was corrupt, as e2fsck and the kernel mark it).
 *
 * Fast commits (FAST_COMMIT journals) are replayed after the full transactions, as e2fsck
 * and the kernel do (fast_commit.h).  Orphans are not processed (see view.h).
 *
 * A journal inode e2fsck would not use (not a regular file in use, under 1024 blocks, not
 * mapping every block) is replaced by the superblock's backup (s_jnl_blocks), which is
 * also written into the view as e2fsck -y writes it (e2fsck/journal.c, e2fsck_get_journal).
 *
 * Every number read from the journal is checked: the journal inode's mapping (inside the
 * file system), the superblock's geometry (block size, first, maxlen against the inode's
 * size, start inside the log), every tag's target (inside the file system), tag and revoke
 * counts against the block, and the scan stops after one journal's length of blocks, so
 * a crafted log cannot loop.  Memory: one block per replayed fs block (at most the
 * journal's length) and one record per distinct revoked block.
 */
#ifndef ICK_JOURNAL_H
#define ICK_JOURNAL_H

#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"
#include "overlay.h"

struct ick_journal_stats {
	int needed;           /* the journal held transactions to replay (s_start != 0) */
	uint32_t first_seq;   /* transactions first_seq .. end_seq - 1 were replayed */
	uint32_t end_seq;
	uint64_t replayed;    /* block writes replayed (a block written twice counts twice) */
	uint64_t revoke_hits; /* tagged blocks skipped because revoked */
	uint64_t revokes;     /* revoke records read */
	uint32_t failed_commit; /* a corrupt commit stopped the replay before this sequence (0: none) */
	int fast_commit;      /* the journal has a fast-commit area */
	uint32_t fc_commits;  /* fast commits replayed (good tails), after the full replay */
	uint32_t fc_tags;     /* their tags */
	uint32_t fc_inodes, fc_ranges, fc_dentries; /* inode, range and name tags applied */
	int external;         /* the journal is on an external device */
	int backup;           /* the journal inode was unusable: read through the superblock's
	                       * backup of its block map (s_jnl_blocks), as e2fsck does */
	char why[256];        /* why the journal cannot be recovered (ICK_ET_JOURNAL_CORRUPT) */
};

/*
 * ick_journal_recover - replay @fs's journal into @ov (whose block size is @fs's).
 * @ext_journal: path of the external journal device, or NULL.
 * Returns 0 (stats filled; nothing to do is not an error), ICK_ET_JOURNAL_CORRUPT (the
 * kernel could not recover it either; stats->why says why), ICK_ET_NO_EXT_JOURNAL, or a
 * libext2fs/errno code for an I/O or memory failure.  On any error @ov holds a partial
 * replay: the caller discards it (view.c checks the raw image then).
 */
ICK_MUST_CHECK errcode_t ick_journal_recover(ext2_filsys fs, const char *ext_journal,
					     struct ick_overlay *ov,
					     struct ick_journal_stats *stats);
/* The same, keeping the data blocks' checksum verdicts in @memo (memo.h) for the next
 * recovery (a crash sweep recovers the same transactions at point after point). */
struct ick_memo;
ICK_MUST_CHECK errcode_t ick_journal_recover_memo(ext2_filsys fs, const char *ext_journal,
						  struct ick_overlay *ov,
						  struct ick_journal_stats *stats,
						  struct ick_memo *memo);

#endif
