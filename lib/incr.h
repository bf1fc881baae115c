/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * incr.h - a crash sweep's per-inode result cache: a point costs what changed since the
 * last one, not what the file system holds.
 *
 * At a full point (the first, and any the cache cannot answer) every check runs over the
 * whole file system (ick_checks_run_rec) and the cache records what that walk gave: per
 * in-use inode a 64-bit digest of its inode bytes, the blocks it owns, the map blocks its
 * walk read, its EA block and the findings its walk gave (its segment); for the file
 * system the owned blocks, the on-disk block bitmap, the group descriptors and each
 * group's free count.
 *
 * At the next point, told every device block written since (ick_incr_changed) and seeing
 * the view's overlay (journal recovery, orphan release) at both points, it re-walks only
 * the inodes that may walk differently: those whose inode bytes changed (read from the
 * inode-table blocks that changed, never from all tables; or from a group whose descriptor
 * changes which inodes the scan sees) and those a changed map or EA block belongs to,
 * through the checks that judge one inode on its own (unwritten, size, stale:
 * ick_checks_run_inodes).  Their old claims leave the owned set and their new ones enter
 * it, and the groups whose bitmap, descriptor or owned blocks changed are judged again
 * (ick_bitmap_group), as is the superblock's free count.  The report is the cached
 * segments in inode order, which is what the full walk gives when nothing else reports.
 *
 * It answers a point only where that is provably the full checks' answer, and otherwise
 * falls back to a full point (which records anew); so the output is always the full
 * checks' output (tests/incr.sh compares it with --no-incremental, point by point):
 * - the last point's check findings were all of the per-inode kind (unwritten, size):
 *   the bitmap, stale, quota and group findings depend on other inodes, the on-disk
 *   bitmap or the log, so after one the next point is full;
 * - at this point the re-walked inodes and re-judged groups report nothing but per-inode
 *   findings, no block is claimed twice, and no block owned at both points changed its
 *   on-disk bit, nor (one a written extent of a regular file maps at both points, which
 *   the stale check judges) left the view's overlay;
 * - a geometry change (block and inode counts, features, sizes, checksum seed, the
 *   superblock's internal inodes, where a group's bitmaps and inode table are), an
 *   unreadable block, more than ICK_INCR_MAX_CHANGED changed blocks: full.
 * Quota usage is kept per type and id by deltas (each inode's charge taken back and
 * added again: ick_quota_usage_add) and compared with the quota files at every point.
 * Not incremental at all (every point full, say so in -v): bigalloc (cluster charging
 * follows the previous mapping),
 * shared_blocks, ea_inode (an EA inode's blocks are charged to the inodes naming it), a
 * poison pattern (content evidence reads every data block: check_stale.c), and a subset
 * of checks; a bad-blocks inode listing inode-table blocks makes the scan report them
 * unreadable, which keeps the cache off.  The caller forgets the cache for states that
 * are not the next point of one sweep (--reorder, --jobs workers, shards, a point another
 * shard checks) and after a discard (a discarded block reads as never written: the stale
 * evidence on a block nobody re-walks may change).
 *
 * Memory: about 100 bytes per in-use inode plus 16 per owned extent and 24 per map block,
 * and 3 bits per block of the file system (owned, judged, the on-disk bitmap), within
 * ICK_INCR_BUDGET (IOMAPCK_INCR_BUDGET in the environment, bytes, overrides it, and
 * IOMAPCK_INCR_CLAIMS_BUDGET bounds the claims kept apart: test knobs).  Past the budget, inodes (in inode order) keep no claims: the cache still
 * answers every point at which none of them changes, and a point where one does is full
 * (so the cost grows with how much of the file system is both over the budget and
 * written, not all at once); if not even the bit arrays and the inodes' digests fit, the
 * cache is off and every point is full (the walk memo, memo.h, still serves).
 * A digest collision (2^-64 a changed inode) would go unseen.  Not thread-safe.
 */
#ifndef ICK_INCR_H
#define ICK_INCR_H
#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "check.h"
#include "ick_compiler.h"

#define ICK_INCR_BUDGET (1024ull << 20)
#define ICK_INCR_MAX_CHANGED 65536 /* blocks changed between two points, past it: full */

struct ick_incr;

struct ick_incr_stats {
	uint64_t fast, full;       /* points answered from the cache, checked in full */
	uint64_t rewalked;         /* inodes walked again at fast points */
	const char *why_full;      /* why the last full point was full, or NULL */
};

ICK_MUST_CHECK errcode_t ick_incr_new(struct ick_incr **out);
void ick_incr_free(struct ick_incr *c);
/* Blocks [blk, blk+n) of the device may read differently than at the last point. */
void ick_incr_changed(struct ick_incr *c, blk64_t blk, uint64_t n);
/* The next point is not the successor of the last one: check it in full. */
void ick_incr_forget(struct ick_incr *c);
/*
 * ick_incr_check - the checks in @mask on @img, as ick_checks_run_opts gives them, from
 * the cache where it can (@opts->memo serves a full point).  Findings go to @rep.
 */
ICK_MUST_CHECK errcode_t ick_incr_check(struct ick_incr *c, struct ick_image *img, unsigned mask,
					const struct ick_check_opts *opts, struct ick_report *rep);
void ick_incr_stats(const struct ick_incr *c, struct ick_incr_stats *st);

#endif
