/*
 * stale_log.h - stale-data evidence from a dm-log-writes log: which blocks in a crash
 * state were never written since they were allocated.
 *
 * The tracker follows the block bitmap of the state the sweep checks (journal recovered,
 * orphans released, as a mount sees it) from crash point to crash point.  For a block that
 * was seen allocated at point A, then seen free, then is allocated again, every write the
 * log holds up to A belongs to its earlier life: ext4 (data=ordered and data=journal)
 * does not reuse a freed block before the transaction that freed it commits, and that
 * commit comes after A.  A block never seen allocated has, as earlier life, everything
 * up to the first point at which the file system was seen at all.  So a block that a
 * written extent maps now and whose newest write on the device is at or before that
 * threshold holds data that never reached the device in its current life: stale.
 *
 * What it does not claim: blocks allocated when the tracker first saw the file system
 * (their history is not in the log), blocks freed and reused between two checked points
 * (no free state was seen), and blocks the journal replay wrote in the view (their data
 * is in the journal, as data=journal puts it).  With coarse crash points (marks, shards)
 * the threshold is older, so the evidence is weaker, never wrong in the other direction.
 * A block whose first and last sectors come from one write counts as written by it
 * (ick_logdev_written_at): a later discard of only its middle would not be seen.
 *
 * Memory: one bit per block of the file system (the previous state) and, for each block
 * group in which a bit ever changed, four bytes per block.
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
 */
ICK_MUST_CHECK errcode_t ick_stale_log_update(struct ick_stale_log *t, ext2_filsys fs,
					      uint64_t entry, uint64_t off);

/*
 * ick_stale_log_judge - is block @pblk of @fs (the state last updated) stale on device @ld?
 * @journal: the view's journal overlay or NULL (blocks it holds are not stale).  Returns 1
 * and *@since (the entry up to which every write is of its earlier life), or 0.
 */
int ick_stale_log_judge(const struct ick_stale_log *t, ext2_filsys fs,
			const struct ick_logdev *ld, const struct ick_overlay *journal,
			blk64_t pblk, uint64_t *since);

#endif
