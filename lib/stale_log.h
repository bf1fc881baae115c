/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stale_log.h - stale-data evidence from a dm-log-writes log: which blocks in a crash
 * state were never written since they were allocated.
 *
 * The tracker follows the block bitmap of the state the running kernel had at each crash
 * point, from point to point: the journal recovered (the kernel had every committed
 * transaction in memory) but the orphans not released (a crash at that point would free
 * an orphan's blocks, the kernel going on did not: an extending direct write leaves its
 * inode on the orphan list with the old size until the size lands; ick_view_opts.
 * before_orphans hands the sweep that state).  For a block that
 * was seen allocated at point A, then seen free, then is allocated again, every write the
 * log holds up to A belongs to its earlier life: ext4 with a journal (data=ordered and
 * data=journal) does not reuse a freed block before the transaction that freed it
 * commits, and that commit comes after A.  So a block that a written extent maps now and
 * whose newest write on the device is at or before that threshold holds data that never
 * reached the device in its current life: stale.  A block free when the tracker first
 * saw the file system has no such point (an allocation may have been in flight there,
 * its data written and its commit to come): it is stale only if the log holds no write
 * to it at all.
 *
 * The first state seen is the base (the device before the log's first entry) when the
 * caller gives it (ick_stale_log_base): a file system at rest, recovered as a mount sees
 * it, that the bitmap check finds consistent.  No write of the log precedes it, so the
 * rule followed for a block free there (and for one seen owned there and free later) is:
 * stale if the log holds no write to it at all up to the state judged, i.e. none since
 * the base; a block the log wrote after the base is not stale, whichever life the write
 * belonged to.  This assumes nothing was in flight when logging began (no allocation
 * whose data reached the device before the log and whose commit is in it): true of a
 * log begun with the file system unmounted, as dm-log-writes is set up under a mount and
 * as iomap_write --log records from a model at rest.  Without a base (zeros: the log
 * starts with mkfs) the first state is the first crash point, as above.
 *
 * What it does not claim: blocks allocated when the tracker first saw the file system
 * (their history is not in the log), blocks freed and reused between two checked points
 * (no free state was seen), and blocks the journal replay wrote in the view (their data
 * is in the journal, as data=journal puts it).  It does not learn from a state whose
 * journal could not be recovered (the caller skips it) or whose bitmap fails its
 * checksum (a torn or lost bitmap write), and it is off without a journal, with
 * data=writeback as the default mount mode, and with bigalloc: there a freed block may
 * be reused at once.  (A data=writeback mount of a file system whose default is ordered
 * cannot be told from the image: sweep such logs with --no-stale-log.)  With coarse crash
 * points (marks, shards) the thresholds are older, so the evidence is weaker, never wrong
 * in the other direction; every shard and --jobs worker follows every point, so they
 * judge as the whole sweep does.
 *
 * Memory: two bits per block of the file system (the previous state and the one being
 * read) and, for each block group in which a bit ever changed, five bytes per block.
 */
#ifndef ICK_STALE_LOG_H
#define ICK_STALE_LOG_H
#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"
#include "logdev.h"

struct ick_stale_log;

ICK_MUST_CHECK errcode_t ick_stale_log_new(struct ick_stale_log **out);
void ick_stale_log_free(struct ick_stale_log *t);

/*
 * ick_stale_log_update - the state at log entry @entry (whose payload starts at log offset
 * @off) is open as @fs, with @fs->block_map loaded.  Records the bitmap transitions since
 * the previous update.  A file system of another geometry than the last one starts over.
 * @memo (may be NULL): where bitmap checksum verdicts are shared with the bitmap check.
 */
struct ick_memo;
ICK_MUST_CHECK errcode_t ick_stale_log_update(struct ick_stale_log *t, ext2_filsys fs,
					      uint64_t entry, uint64_t off, struct ick_memo *memo);

/*
 * ick_stale_log_base - @fs is the base, the device before the log's first entry, opened as
 * a mount would see it (journal recovered, orphans released) and found consistent by the
 * caller (no bitmap check error: every block a file maps is marked in use, the bitmaps
 * pass their checksums).  It becomes the first state followed, point 0, with no entry of
 * its own: a block judged stale from it has *since == ICK_STALE_SINCE_BASE (check.h).
 * Call before the first update; a later state of another geometry starts over.
 */
ICK_MUST_CHECK errcode_t ick_stale_log_base(struct ick_stale_log *t, ext2_filsys fs);

/*
 * ick_stale_log_begin - the state open as @fs on device @ld is about to be judged (after
 * its update, if it had one).  @remember: @ld is the device the tracker follows (not a
 * --reorder state rebuilt without some writes): a block found not stale is remembered
 * until its threshold changes or a discard comes.  Per state, not per block.
 *
 * ick_stale_log_judge - is block @pblk of that state stale?  @ld and @remember as given to
 * begin; @journal: the view's journal overlay or NULL (blocks it holds are not stale).
 * Returns 1 and *@since (the entry up to which every write is of its earlier life, or
 * ICK_STALE_SINCE_BASE: no write since the base), or 0.
 */
/*
 * ick_stale_log_off - why the tracker gives no evidence on the file system it follows, as
 * one phrase (NULL when it does, or has seen none yet).  Under bigalloc the bitmaps are one
 * bit per cluster: a block can be unmapped and mapped again while its cluster stays
 * allocated (a punch inside a cluster the file still uses), and the kernel may reuse a
 * freed cluster at once, so "no write since the allocation" cannot be told per block.
 */
const char *ick_stale_log_off(const struct ick_stale_log *t);

void ick_stale_log_begin(struct ick_stale_log *t, ext2_filsys fs, const struct ick_logdev *ld,
			 int remember);
int ick_stale_log_judge(struct ick_stale_log *t, const struct ick_logdev *ld,
			const struct ick_overlay *journal, blk64_t pblk, int remember,
			uint64_t *since);

#endif
