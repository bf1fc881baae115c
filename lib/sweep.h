/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sweep.h - crash states from a dm-log-writes log, checked in-process.
 *
 * The device at entry k is the base image (the device when logging began; all zeros if
 * none) with entries 0..k applied, held as a block overlay in memory: no copy of the image
 * is made and the base is only read.  At each selected crash point the state is opened as
 * a mount would see it (journal recovery and orphan release in a second overlay, view.c)
 * and every check runs on it, the stale check with evidence from the log itself (blocks
 * written extents map that no write reached since their allocation: stale_log.h).  A
 * state in which no ext4 can be found yet (before mkfs's superblock is in the log) is
 * counted, not checked.
 */
#ifndef ICK_SWEEP_H
#define ICK_SWEEP_H
#include <stdint.h>
#include "check.h"
#include "log.h"
#include "manifest.h"
#include "report.h"

enum ick_sweep_when { ICK_SWEEP_FUA, ICK_SWEEP_FLUSH, ICK_SWEEP_MARK, ICK_SWEEP_EVERY,
		      ICK_SWEEP_NTH };

struct ick_sweep_opts {
	const char *log;
	const char *base;            /* NULL: a zero device as long as the log needs */
	enum ick_sweep_when when;
	uint64_t nth;                /* ICK_SWEEP_NTH: every nth entry */
	const char *start_mark;      /* check only after this mark */
	const char *end_mark;        /* stop after this mark */
	uint64_t limit;              /* stop after this many entries (0: all) */
	int keep_going;              /* go on after a point with findings */
	uint64_t shard, nshards;     /* check only points p with p % nshards == shard */
	unsigned mask;               /* checks */
	const struct ick_check_opts *copts;
	const char *replay_out;      /* write the device at the end as an image file */
	const char *fsck_cmd;        /* at each point: write replay_out, run this (replay-log's
				      * --fsck); a non-zero exit is a failing point */
	uint64_t drop_after;         /* dm-flakey: writes after this entry are lost; the state
				      * after it is checked and the sweep ends (0: off) */
	int progress_fd;             /* -1: none; else "point N entry E/TOTAL" lines */
	unsigned reorder;            /* at each point, also the states where up to this many of
				      * the writes since the last FLUSH did not persist (0: off) */
	int no_stale_log;            /* no stale evidence from the log (stale_log.h) */
	int no_incremental;          /* keep nothing between points (memo.h): every block
				      * map walked, every checksum computed, at every point */
	const struct ick_manifest *manifest; /* each mark it names is also a crash point, where
				      * its files must hold (manifest.h); NULL: none */
};
#define ICK_REORDER_MAX_K 3
#define ICK_REORDER_MAX_STATES 256 /* per crash point, in a fixed order */

struct ick_sweep_point {
	uint64_t entry;              /* the entry just applied */
	uint64_t point;              /* the crash point's ordinal */
	const char *mark;            /* the last mark at or before it ("" if none) */
	struct ick_report *rep;      /* findings (with the view's note) */
	int no_fs;                   /* nothing ext4 on the device yet: not checked */
	int fsck_status;             /* --fsck: the command's exit status */
	const uint64_t *dropped;     /* --reorder: the entries that did not persist */
	size_t ndropped;
	int manifest;                /* the entry is a mark the manifest names */
	const char *stale_log_off;   /* why the log gave no stale evidence here (bigalloc,
				      * no journal: stale_log.h), or NULL */
};

struct ick_sweep_stats {
	uint64_t entries, points, checked, no_fs, findings, failing_points;
	uint64_t reordered;          /* --reorder states checked */
	uint64_t manifest_marks;     /* manifest marks reached and checked */
	uint64_t maps_reused, maps_walked; /* inode block maps reused from an earlier point
				      * and walked (memo.h) */
	uint64_t incr_fast, incr_full, incr_rewalked; /* points answered from the per-inode
				      * cache, checked in full; inodes re-walked (incr.h) */
	char incr_why[96];           /* why the last full point was full ("" if none) */
	int truncated;               /* the log stopped early: why in ick_log_why */
	char why[160];
};

/* Called after each checked point; a non-zero return stops the sweep with that code. */
typedef errcode_t (*ick_sweep_fn)(void *priv, const struct ick_sweep_point *p);
/* Called for each entry read (for --dump), before it is applied; may be NULL. */
typedef errcode_t (*ick_entry_fn)(void *priv, const struct ick_log_entry *e);

ICK_MUST_CHECK errcode_t ick_sweep(const struct ick_sweep_opts *o, ick_entry_fn on_entry,
				   ick_sweep_fn on_point, void *priv, struct ick_sweep_stats *st);

/*
 * ick_sweep_jobs - the same sweep over @jobs worker processes (2..64), each checking every
 * jobs-th point (within o->shard of o->nshards) while following every point for the stale
 * evidence; @on_point then receives the points in order in this process, and the sweep
 * stops after the first failing one unless o->keep_going, as ick_sweep does.  Not with
 * fsck_cmd, replay_out or drop_after (EINVAL); entries are not reported one by one.
 */
ICK_MUST_CHECK errcode_t ick_sweep_jobs(const struct ick_sweep_opts *o, unsigned jobs,
					ick_sweep_fn on_point, void *priv,
					struct ick_sweep_stats *st);

#endif
