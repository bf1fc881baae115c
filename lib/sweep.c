/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sweep.c - replaying a dm-log-writes log into an overlay and checking crash points
 * (see sweep.h).  Which entries are points, and how a failing one counts, is
 * sweep_point.c's; the replay-log outputs (--replay, --fsck, the zero device) are
 * sweep_replay.c's.  As in xfstests' replay-log, DISCARD zeroes its range.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "array.h"
#include "sweep.h"
#include "blkdev.h"
#include "ick_err.h"
#include "image.h"
#include "logdev.h"
#include "stale_log.h"
#include "view.h"
#include "memo.h"
#include "incr.h"
#include "sweep_point.h"
#include "sweep_replay.h"

#define MAX_PENDING 4096 /* changed ranges held for the walk memo; past it, it forgets */

struct range { uint64_t off, len; }; /* bytes */

struct dev {
	struct ick_logdev *ld;
	struct ick_log *log;
	char *path;               /* the base image (or a sparse zero file we made) */
	const char *logpath;      /* the log (an output must not be it either) */
	int made;
	unsigned char *buf;
	int out_fd;               /* --fsck: the replay target, kept in step entry by entry */
	uint64_t size;            /* bytes in the base (the device) */
	struct ick_stale_log *trk; /* stale-from-the-log evidence, NULL when off */
	uint64_t off;             /* the log offset of the entry just applied */
	int reordered;            /* the state checked is a --reorder one: not tracked */
	long man_idx;             /* the entry is this manifest mark (-1: not one) */
	/* the walk memo (memo.h) and what changed since its last walk: the log's writes
	 * and discards */
	struct ick_memo *memo;
	struct ick_incr *incr;    /* the per-inode result cache (incr.h), with the memo */
	struct range *pend;
	size_t npend, cappend;
	int pend_lost;            /* too many to hold: forget everything */
	struct ick_sweep_replay rp; /* what the replay-log outputs read (replay_of) */
};

/* What the stale check asks of the log for one checked state. */
struct judge { struct dev *d; struct ick_image *img; };

static int judge_block(void *priv, blk64_t pblk, uint64_t *since)
{
	struct judge *j = priv;

	return ick_stale_log_judge(j->d->trk, j->d->ld,
				   j->img->recovered ? j->img->overlay : NULL, pblk,
				   !j->d->reordered, since);
}

static errcode_t dev_open(const struct ick_sweep_opts *o, struct ick_log *log, struct dev *d)
{
	errcode_t err;

	memset(d, 0, sizeof(*d));
	d->out_fd = -1;
	if (o->base) {
		if (!(d->path = strdup(o->base)))
			return ENOMEM;
	} else {
		if ((err = ick_sweep_replay_zero_device(o->log, &d->path)))
			return err;
		d->made = 1;
	}
	d->log = log;
	d->logpath = o->log;
	if ((err = ick_path_size(d->path, &d->size))) /* a file or a block device */
		return err;
	if ((err = ick_logdev_new(d->path, log, &d->ld)))
		return err;
	if (!o->no_stale_log && !o->fsck_cmd && (err = ick_stale_log_new(&d->trk)))
		return err;
	if (!o->no_incremental && !o->fsck_cmd && (err = ick_memo_new(&d->memo)))
		return err;
	/* a shard (a --jobs worker) tracks points it does not check: the cache could not
	 * follow them (incr.h), so only the memo serves there */
	if (!o->no_incremental && !o->fsck_cmd && o->nshards <= 1 &&
	    (err = ick_incr_new(&d->incr)))
		return err;
	return (d->buf = malloc(ICK_SWEEP_CHUNK)) ? 0 : ENOMEM;
}

/* The device as the replay-log outputs read it (sweep_replay.h). */
static const struct ick_sweep_replay *replay_of(struct dev *d)
{
	d->rp = (struct ick_sweep_replay){ d->path, d->logpath, d->log, d->ld, d->size, d->buf };
	return &d->rp;
}

static void dev_close(struct dev *d)
{
	if (d->out_fd >= 0)
		close(d->out_fd);
	ick_logdev_free(d->ld);
	ick_stale_log_free(d->trk);
	ick_memo_free(d->memo);
	ick_incr_free(d->incr);
	free(d->pend);
	if (d->made)
		unlink(d->path);
	free(d->path);
	free(d->buf);
}

/* The walk memo must hear of every write and discard before its next walk. */
static void pend_change(struct dev *d, uint64_t off, uint64_t len)
{
	if (d->pend_lost)
		return;
	if (d->npend == d->cappend) {
		struct range *n = d->npend < MAX_PENDING ?
			ick_array_grow(d->pend, &d->cappend, sizeof(*n), 64) : NULL;
		if (!n) {
			d->pend_lost = 1;
			d->npend = 0;
			return;
		}
		d->pend = n;
	}
	d->pend[d->npend++] = (struct range){ off, len };
}

static errcode_t apply(struct dev *d, struct ick_log *log, const struct ick_log_entry *e)
{
	errcode_t err = ick_logdev_apply(d->ld, e);

	/* a discard moves the stale evidence of blocks the cache would not walk again */
	if (!err && d->incr && (e->flags & ICK_LOG_DISCARD) && e->nr_sectors)
		ick_incr_forget(d->incr);
	if (!err && d->memo && !(e->flags & ICK_LOG_MARK) && e->nr_sectors) {
		uint64_t ss = ick_log_sectorsize(log);
		/* a discard's range is unbounded: clamp instead of overflowing */
		pend_change(d, e->sector > UINT64_MAX / ss ? UINT64_MAX - ss : e->sector * ss,
			    e->nr_sectors > UINT64_MAX / ss ? UINT64_MAX / 2 : e->nr_sectors * ss);
	}
	if (!err && d->out_fd >= 0 && !(e->flags & ICK_LOG_MARK) && e->nr_sectors)
		err = ick_sweep_replay_follow(replay_of(d), d->out_fd, e);
	return err;
}

/*
 * Tell the walk memo what may read differently in @img than in the last state it walked:
 * the log's writes since.  Blocks the view's overlay holds (journal recovery, orphan
 * release) are read from it, so the memo neither keeps nor reuses a map that reads one.
 * Returns the memo to use, or NULL when it cannot be kept right.
 */
static struct ick_memo *memo_for(struct dev *d, const struct ick_image *img)
{
	uint64_t bs = img->fs->blocksize;
	errcode_t err = 0;

	if (!d->memo || d->reordered)
		return NULL;
	if (d->pend_lost) {
		ick_memo_forget(d->memo);
		if (d->incr)
			ick_incr_forget(d->incr);
	}
	for (size_t i = 0; i < d->npend && !err; i++) {
		uint64_t first = d->pend[i].off / bs;
		uint64_t last = (d->pend[i].off + (d->pend[i].len - 1)) / bs;
		if (d->pend[i].off + (d->pend[i].len - 1) < d->pend[i].off)
			last = UINT64_MAX / bs;
		err = ick_memo_changed(d->memo, first, last - first + 1);
		if (d->incr)
			ick_incr_changed(d->incr, first, last - first + 1);
	}
	d->npend = 0;
	d->pend_lost = 0;
	if (err) { /* the list of what changed is incomplete: start over */
		ick_memo_forget(d->memo);
		if (d->incr)
			ick_incr_forget(d->incr);
		return NULL;
	}
	ick_memo_view(d->memo, img->overlay);
	return d->memo;
}

/* The stale tracker learns from a state only as a mount would see it: not from the raw
 * image of a journal that could not be recovered. */
static int learnable(const struct ick_image *img)
{
	return !img->needs_recovery || img->recovered;
}

/*
 * The stale tracker learns from the state the running kernel had: journal recovered (the
 * kernel had it all in memory), but not the orphans released, which a crash at that
 * point would do and the kernel going on did not (an extending direct write's inode sits
 * on the orphan list with its old size until the size lands: its blocks are not freed).
 */
struct learn { struct dev *d; uint64_t entry; int done; };

static errcode_t learn_before_orphans(void *priv, struct ick_image *img)
{
	struct learn *l = priv;

	if (!learnable(img))
		return 0;
	l->done = 1;
	return ick_stale_log_update(l->d->trk, img->fs, l->entry, l->d->off, l->d->memo);
}

/* One sweep's state, handed to each step (nothing is kept in statics). */
struct sweep {
	const struct ick_sweep_opts *o;
	struct ick_sweep_stats *st;
	ick_sweep_fn on_point;
	void *priv;
	struct ick_log *log;
	struct dev d;
	char mark[ICK_LOG_MARK_MAX + 1]; /* the last mark read ("" if none) */
	uint64_t *w;                     /* --reorder: the writes since the last FLUSH */
	size_t nw, capw;
};

/* The checks on the state @img, which the tracker learns first if the view did not. */
static errcode_t run_checks(struct sweep *s, struct ick_image *img, const struct learn *l,
			    struct ick_sweep_point *p)
{
	const struct ick_sweep_opts *o = s->o;
	struct dev *d = &s->d;
	struct ick_check_opts co = { 0 };
	struct judge j = { d, img };
	errcode_t err = 0;

	if (o->copts)
		co = *o->copts;
	co.memo = memo_for(d, img);
	if (d->trk) {
		co.stale_judge = judge_block;
		co.stale_priv = &j;
		if (!d->reordered && learnable(img) && !l->done)
			err = ick_stale_log_update(d->trk, img->fs, p->entry, d->off, co.memo);
		ick_stale_log_begin(d->trk, img->fs, d->ld, !d->reordered);
		p->stale_log_off = ick_stale_log_off(d->trk);
	}
	if (!err && co.memo && d->incr)
		err = ick_incr_check(d->incr, img, o->mask, &co, p->rep);
	else if (!err)
		err = ick_checks_run_opts(img, o->mask, &co, p->rep);
	if (co.memo)
		ick_memo_view(co.memo, NULL); /* the overlay goes with the image */
	/* the tracker did not learn this state: the next point's evidence may have moved on
	 * blocks the cache would not look at again */
	if (d->incr && !d->reordered && d->trk && !learnable(img))
		ick_incr_forget(d->incr);
	return err;
}

static errcode_t check_point(struct sweep *s, struct ick_sweep_point *p)
{
	const struct ick_sweep_opts *o = s->o;
	struct dev *d = &s->d;
	struct learn l = { d, p->entry, 0 };
	struct ick_view_opts vo = { .io = ick_logdev_io_manager, .memo = d->memo };
	struct ick_image *img = NULL;
	struct ick_io_reg reg;
	errcode_t err;

	if (o->fsck_cmd) {
		if ((err = ick_sweep_replay_fsck(d->out_fd, o->fsck_cmd, &p->fsck_status)))
			return err;
		s->st->checked++;
		return 0;
	}
	if (d->trk && !d->reordered) {
		vo.before_orphans = learn_before_orphans;
		vo.priv = &l;
	}
	ick_logdev_io_register(&reg, d->path, d->ld);
	err = ick_view_open(d->path, &vo, p->rep, &img);
	ick_io_unregister(&reg);
	if (ick_image_no_fs(err)) {
		p->no_fs = 1;
		s->st->no_fs++;
		return 0;
	}
	if (err) {
		ick_image_close(img); /* a refused file system comes back with its reason */
		return err;
	}
	err = run_checks(s, img, &l, p);
	if (!err && d->man_idx >= 0) {
		err = ick_manifest_check(o->manifest, d->man_idx, img->fs, p->rep);
		if (!err && !d->reordered)
			s->st->manifest_marks++;
	}
	ick_image_close(img);
	s->st->checked++;
	return err;
}

/* A point another shard checks: only the stale tracker sees its bitmap. */
static errcode_t track_only(struct dev *d, uint64_t entry)
{
	struct learn l = { d, entry, 0 };
	const struct ick_view_opts vo = { .io = ick_logdev_io_manager, .memo = d->memo,
					  .before_orphans = learn_before_orphans, .priv = &l };
	struct ick_image *img = NULL;
	struct ick_io_reg reg;
	errcode_t err;

	if (d->incr) /* the tracker learns a state the cache does not see */
		ick_incr_forget(d->incr);
	ick_logdev_io_register(&reg, d->path, d->ld);
	err = ick_view_open(d->path, &vo, NULL, &img);
	ick_io_unregister(&reg);
	if (err) {
		ick_image_close(img);
		return 0; /* not a file system (yet), or refused: the checking shard says so */
	}
	err = learnable(img) && !l.done ?
	      ick_stale_log_update(d->trk, img->fs, entry, d->off, d->memo) : 0;
	ick_image_close(img);
	return err;
}

/*
 * The base as the stale tracker's first state (stale_log.h): the device before the log's
 * first entry, opened as every crash point is (journal recovered, orphans released).  It
 * counts only as a consistent file system: one whose journal recovers and in which the
 * bitmap check finds no error (every block a file maps marked in use, checksums right), so
 * that "free in the base" means no file's data was there.  Otherwise (no file system yet:
 * zeros, a log that starts with mkfs; or refused) the first crash point is the first
 * state, as without a base.  One view and one bitmap walk per sweep, nothing per point.
 */
static errcode_t track_base(const struct ick_sweep_opts *o, struct dev *d)
{
	const struct ick_view_opts vo = { .io = ick_logdev_io_manager };
	struct ick_image *img = NULL;
	struct ick_io_reg reg;
	struct ick_report rep;
	errcode_t err;

	ick_logdev_io_register(&reg, d->path, d->ld);
	err = ick_view_open(d->path, &vo, NULL, &img);
	ick_io_unregister(&reg);
	if (err) {
		ick_image_close(img);
		return 0;
	}
	if (!learnable(img)) {
		ick_image_close(img);
		return 0;
	}
	if (!(err = ick_report_init(&rep, o->log))) {
		int bad = 0;
		/* with the per-inode cache, the base is its first point (every check, so that
		 * it can serve the log's first): only the bitmap check's errors count here */
		if (d->incr && o->mask == ICK_CHECKS_ALL)
			err = ick_incr_check(d->incr, img, o->mask, NULL, &rep);
		else
			err = ick_checks_run_opts(img, ick_check_mask("bitmap"), NULL, &rep);
		for (size_t i = 0; i < rep.nr; i++) {
			const struct ick_pr_info *pi = ick_pr_lookup(rep.f[i].code);
			bad |= pi && pi->check == ICK_CHECK_BITMAP && pi->severity == ICK_SEV_ERROR;
		}
		if (!err && !bad && !rep.dropped)
			err = ick_stale_log_base(d->trk, img->fs);
		ick_report_free(&rep);
	}
	ick_image_close(img);
	return err;
}

/* The device at entry @upto with the entries in @drop (sorted) lost: rebuilt from the start
 * of the log (the map keeps only each sector's newest write, so a lost one cannot simply
 * be taken out). */
static errcode_t build_without(const struct ick_sweep_opts *o, struct dev *d, uint64_t upto,
			       const uint64_t *drop, size_t ndrop, struct ick_logdev **out)
{
	struct ick_log *log;
	struct ick_log_entry e;
	size_t k = 0;
	int reached = 0;
	errcode_t err;

	if ((err = ick_log_open(o->log, &log))) {
		ick_log_close(log);
		return err;
	}
	/* the map reads data through the sweep's own log: same file */
	if ((err = ick_logdev_new(d->path, d->log, out)))
		goto done;
	while (!(err = ick_log_next(log, &e)) && e.index <= upto) {
		reached = e.index == upto;
		if (k < ndrop && drop[k] == e.index) {
			k++;
			continue;
		}
		if ((err = ick_logdev_apply(*out, &e)))
			break;
	}
	/* the log ending (or damaged) past @upto does not concern this state */
	if (err == ICK_ET_LOG_END || (!err && e.index > upto) ||
	    (err == ICK_ET_LOG_CORRUPT && reached))
		err = 0;
	if (err) {
		ick_logdev_free(*out);
		*out = NULL;
	}
done:
	ick_log_close(log);
	return err;
}

/* Next subset of size r of {0..n-1} in lexicographic order; 0 when there is none. */
static int next_subset(size_t *c, size_t r, size_t n)
{
	size_t i = r;

	while (i-- > 0)
		if (c[i] < n - r + i) {
			c[i]++;
			for (size_t j = i + 1; j < r; j++)
				c[j] = c[j - 1] + 1;
			return 1;
		}
	return 0;
}

/* One --reorder state, @p with its writes lost: rebuilt, checked, delivered, counted. */
static errcode_t reorder_state(struct sweep *s, struct ick_sweep_point *p, int *stop)
{
	struct dev *d = &s->d;
	struct ick_logdev *ld, *saved = d->ld;
	errcode_t err;

	if ((err = build_without(s->o, d, p->entry, p->dropped, p->ndropped, &ld)))
		return err;
	if ((err = ick_report_init(p->rep, s->o->log))) {
		ick_logdev_free(ld);
		return err;
	}
	d->ld = ld;
	d->reordered = 1;
	err = check_point(s, p);
	d->reordered = 0;
	d->ld = saved;
	ick_logdev_free(ld);
	s->st->reordered++;
	if (!err)
		err = s->on_point(s->priv, p);
	if (!err)
		*stop = ick_sweep_point_account(s->o, p, s->st);
	ick_report_free(p->rep);
	return err;
}

/* --reorder: each state where 1..K of the writes since the last FLUSH were lost. */
static errcode_t reorder_point(struct sweep *s, uint64_t entry, uint64_t ordinal, int *stop)
{
	size_t c[ICK_REORDER_MAX_K];
	uint64_t drop[ICK_REORDER_MAX_K];
	unsigned states = 0;
	errcode_t err = 0;

	for (size_t r = 1; r <= s->o->reorder && r <= s->nw && !err && !*stop; r++) {
		for (size_t i = 0; i < r; i++)
			c[i] = i;
		do {
			struct ick_report rep;
			struct ick_sweep_point p = { .entry = entry, .point = ordinal,
						     .mark = s->mark, .rep = &rep, .dropped = drop,
						     .ndropped = r, .manifest = s->d.man_idx >= 0 };

			if (states++ >= ICK_REORDER_MAX_STATES)
				return 0;
			for (size_t i = 0; i < r; i++)
				drop[i] = s->w[c[i]];
			err = reorder_state(s, &p, stop);
		} while (!err && !*stop && next_subset(c, r, s->nw));
	}
	return err;
}

/* --reorder: what a volatile cache may still lose, the writes since the last FLUSH. */
static errcode_t note_write(struct sweep *s, const struct ick_log_entry *e)
{
	if (e->flags & ICK_LOG_FLUSH) {
		s->nw = 0;
		return 0;
	}
	if ((e->flags & ICK_LOG_MARK) || !e->nr_sectors || !s->o->reorder)
		return 0;
	if (s->nw == s->capw) {
		uint64_t *n = realloc(s->w, (s->capw ? s->capw * 2 : 64) * sizeof(*s->w));

		if (!n)
			return ENOMEM;
		s->w = n;
		s->capw = s->capw ? s->capw * 2 : 64;
	}
	s->w[s->nw++] = e->index;
	return 0;
}

/* Crash point @c at entry @e: checked and delivered (or, another shard's, only followed),
 * then its --reorder states.  *stop: the sweep ends here. */
static errcode_t at_point(struct sweep *s, const struct ick_sweep_class *c,
			  const struct ick_log_entry *e, int *stop)
{
	const struct ick_sweep_opts *o = s->o;
	struct ick_report rep;
	struct ick_sweep_point p = { .entry = e->index, .point = c->ordinal, .mark = s->mark,
				     .rep = &rep, .manifest = c->man_idx >= 0 };
	errcode_t err;

	/* not ours to check, but the stale evidence follows every point, so a shard judges
	 * as the whole sweep would */
	if (!c->ours)
		return s->d.trk ? track_only(&s->d, e->index) : 0;
	if ((err = ick_report_init(&rep, o->log)))
		return err;
	if (!(err = check_point(s, &p)))
		err = s->on_point(s->priv, &p);
	if (o->progress_fd >= 0)
		dprintf(o->progress_fd, "point %llu entry %llu/%llu\n",
			(unsigned long long)p.point, (unsigned long long)e->index,
			(unsigned long long)ick_log_nr_entries(s->log));
	if (!err)
		*stop = ick_sweep_point_account(o, &p, s->st);
	ick_report_free(&rep);
	if (err || *stop || !o->reorder || o->fsck_cmd || !s->nw)
		return err;
	return reorder_point(s, e->index, c->ordinal, stop);
}

/* The log, the device and what --fsck writes, before the first entry. */
static errcode_t sweep_open(struct sweep *s)
{
	const struct ick_sweep_opts *o = s->o;
	errcode_t err;

	if ((err = ick_log_open(o->log, &s->log))) {
		if (s->log)
			snprintf(s->st->why, sizeof(s->st->why), "%s", ick_log_why(s->log));
		return err;
	}
	if ((err = dev_open(o, s->log, &s->d)))
		return err;
	if (o->fsck_cmd) {
		/* the target starts as the base, then follows the log */
		if ((err = ick_sweep_replay_write(replay_of(&s->d), o->replay_out)))
			return err;
		if ((s->d.out_fd = open(o->replay_out, O_WRONLY)) < 0)
			return errno;
	}
	return s->d.trk && o->base ? track_base(o, &s->d) : 0;
}

static void sweep_close(struct sweep *s)
{
	struct ick_sweep_stats *st = s->st;

	free(s->w);
	if (s->d.memo)
		ick_memo_stats(s->d.memo, &st->maps_reused, &st->maps_walked);
	if (s->d.incr) {
		struct ick_incr_stats is;
		ick_incr_stats(s->d.incr, &is);
		st->incr_fast = is.fast;
		st->incr_full = is.full;
		st->incr_rewalked = is.rewalked;
		snprintf(st->incr_why, sizeof(st->incr_why), "%s", is.why_full ? is.why_full : "");
	}
	dev_close(&s->d);
	ick_log_close(s->log);
}

errcode_t ick_sweep(const struct ick_sweep_opts *o, ick_entry_fn on_entry, ick_sweep_fn on_point,
		    void *priv, struct ick_sweep_stats *st)
{
	struct sweep s = { .o = o, .st = st, .on_point = on_point, .priv = priv };
	struct ick_sweep_sel sel;
	struct ick_log_entry e;
	errcode_t err;

	memset(st, 0, sizeof(*st));
	s.d.out_fd = -1;
	ick_sweep_point_init(&sel, o, on_point != NULL);
	if ((err = sweep_open(&s)))
		goto out;
	while (!(err = ick_log_next(s.log, &e))) {
		struct ick_sweep_class c;
		int stop = 0;

		if (on_entry && (err = on_entry(priv, &e)))
			break;
		if ((err = note_write(&s, &e)) || (err = apply(&s.d, s.log, &e)))
			break;
		s.d.off = e.data_off;
		ick_sweep_point_classify(&sel, &e, &c);
		s.d.man_idx = c.man_idx;
		st->entries = sel.entries;
		st->points = sel.points;
		if (e.flags & ICK_LOG_MARK)
			memcpy(s.mark, e.mark, sizeof(s.mark));
		if ((c.point && ((err = at_point(&s, &c, &e, &stop)) || stop)) || c.last)
			break;
	}
	if (err == ICK_ET_LOG_END)
		err = 0;
	if (err == ICK_ET_LOG_CORRUPT) {
		/* read up to the last whole entry: the sweep stands, the log's end is reported */
		st->truncated = 1;
		snprintf(st->why, sizeof(st->why), "%s", ick_log_why(s.log));
		err = 0;
	}
	if (!err && o->replay_out && !o->fsck_cmd)
		err = ick_sweep_replay_write(replay_of(&s.d), o->replay_out);
out:
	sweep_close(&s);
	return err;
}
