/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * memo_map.h - what the checks of one state can reuse from the checks of earlier states: a crash
 * sweep's points differ by a few blocks, and walking every inode's block map and verifying
 * every journal checksum again at each one was most of the sweep's time.  This is the
 * memo itself and its first cache, the block maps; memo_verdict.h is the second.
 *
 * Block maps.  Per inode the memo keeps the claims its block map (extent tree or indirect
 * blocks) produced, the map's summary (blocks counted, last mapped and written block, bad
 * mappings), a key (walk.c: every field of the inode the map walk reads), every block that
 * walk read (tree nodes, indirect blocks) and those blocks' bytes.  A later walk hands the
 * claims over again instead of walking when the key is equal, each block read either was
 * not reported changed since or reads the same bytes, and the file system's geometry (block
 * size and count, features, checksum seed, inode size, creator OS, open flags) is the
 * same; a different geometry forgets everything.  The EA block and the EA-inode charges
 * are always walked afresh (a shared EA block is claimed by its first owner only).
 *
 * The caller's contract: ick_memo_changed() for every block of the device that may read
 * differently than at the last walk with this memo (sweep.c: every log write and discard
 * since).  A block left out gives a stale result, so when in doubt call ick_memo_forget().
 * Blocks read from somewhere else than that device (a view's overlay: journal recovery,
 * orphan release) are named by ick_memo_view(); a map that reads one is neither kept nor
 * reused.
 *
 * Claim handlers see replayed claims with ic->ino and ic->inode as in a walk, but ic's
 * running counters (nblocks, last_written, last_mapped, nbad) are only right at
 * end_inode: handlers must not read them in claim (none of ours does).  Nor may they rely
 * on i_block as the walk leaves it: libext2fs's extent open writes a header into an
 * all-zero i_block, a replay leaves it as read.
 *
 * Bounded: block maps at most ICK_MEMO_BUDGET bytes (past it the memo forgets them and
 * keeps again from the next walk).  The memo also holds the checksum verdicts of
 * memo_verdict.h (bounded on their own).  Not thread-safe; one memo per sweep process.
 */
#ifndef ICK_MEMO_MAP_H
#define ICK_MEMO_MAP_H
#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"
#include "memo_verdict.h"
#include "walk.h"

struct ick_memo;

ICK_MUST_CHECK errcode_t ick_memo_new(struct ick_memo **out);
void ick_memo_free(struct ick_memo *m);
/* Blocks [blk, blk+n) may read differently at the next walk than at any earlier one. */
ICK_MUST_CHECK errcode_t ick_memo_changed(struct ick_memo *m, blk64_t blk, uint64_t n);
void ick_memo_forget(struct ick_memo *m);
/* The next walks read the blocks @ov holds from it (NULL: none); not owned. */
struct ick_overlay;
void ick_memo_view(struct ick_memo *m, const struct ick_overlay *ov);
/* Inode walks reused and done since the memo was made. */
void ick_memo_stats(const struct ick_memo *m, uint64_t *reused, uint64_t *walked);

/* ---- the walk's map cache (walk.h) ---- */

/* @out: the memo as the cache a walk asks (valid while @m lives). */
void ick_memo_map_cache(struct ick_memo *m, struct ick_map_cache *out);
/* ick_walk reusing the block maps @memo kept from earlier walks where they still hold and
 * keeping this walk's; NULL @memo is ick_walk. */
ICK_MUST_CHECK errcode_t ick_walk_incremental(ext2_filsys fs, const struct ick_walk_ops *ops,
					      void *priv, struct ick_memo *memo);

#endif
