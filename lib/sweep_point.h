/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sweep_point.h - crash points: which entries of a log the sweep checks, where it ends,
 * and what a point that fails does to it.
 *
 * The rules (those of xfstests' replay-log where they overlap): a point is an entry with
 * the FUA flag, the FLUSH flag, a mark, every entry or every nth (ick_sweep_opts.when),
 * or a mark the manifest names; only after the start mark (when one is given: the mark
 * itself is not checked); with drop_after, the one entry drop_after and no other.  The
 * sweep ends after the end mark, after limit entries, or after entry drop_after.  Points
 * are numbered from 0 in log order; with nshards, point p is checked where
 * p % nshards == shard and only followed elsewhere.  No I/O: the log's entries are handed
 * in one by one, in order.
 */
#ifndef ICK_SWEEP_POINT_H
#define ICK_SWEEP_POINT_H
#include <stdint.h>
#include "sweep.h"

/* The selection over one pass of a log (ick_sweep_point_init). */
struct ick_sweep_sel {
	const struct ick_sweep_opts *o;
	int want;                    /* 0: the caller takes no points (only the end counts) */
	int checking;                /* past the start mark, or none given */
	uint64_t entries;            /* entries classified */
	uint64_t points;             /* crash points among them */
};

/* What one entry is. */
struct ick_sweep_class {
	int point;                   /* a crash point, numbered @ordinal */
	int ours;                    /* ... that this shard checks (else only follows) */
	uint64_t ordinal;
	long man_idx;                /* the manifest mark the entry is (-1: none) */
	int last;                    /* the sweep ends after this entry */
};

void ick_sweep_point_init(struct ick_sweep_sel *s, const struct ick_sweep_opts *o, int want);
/* @e, the entry after those classified so far, in @c; @s moves past it. */
void ick_sweep_point_classify(struct ick_sweep_sel *s, const struct ick_log_entry *e,
			      struct ick_sweep_class *c);

/*
 * ick_sweep_point_account - @p, a point (or --reorder state) delivered to the caller, in
 * @st: a failing one (a finding that sets an exit bit, or --fsck's command failed) counts
 * with its findings.  Returns 1 when the sweep ends at it, the first failing point without
 * o->keep_going; @st's entries and points then stop at it too.  The sequential sweep and
 * the --jobs merger both count here, so that their outputs are the same.
 */
int ick_sweep_point_account(const struct ick_sweep_opts *o, const struct ick_sweep_point *p,
			    struct ick_sweep_stats *st);

#endif
