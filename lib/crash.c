/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * crash.c - replaying a dm-log-writes log into an overlay and checking crash points
 * (see crash.h).  The selection rules follow xfstests' replay-log where they overlap:
 * FUA / FLUSH points are the entries with that flag, marks match exactly, --limit counts
 * entries, DISCARD zeroes its range.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "array.h"
#include "crash.h"
#include "blkdev.h"
#include "ick_err.h"
#include "logdev.h"
#include "stale_log.h"
#include "view.h"
#include "memo.h"
#include "incr.h"

#define CHUNK (1u << 20)
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

/* A zero device big enough for every entry of the log (headers only are read). */
static errcode_t zero_device(const char *log_path, char **out)
{
	struct ick_log *log;
	struct ick_log_entry e;
	uint64_t end = 0;
	char tmpl[] = "/tmp/iomapck-zeroXXXXXX";
	errcode_t err;
	int fd;

	if ((err = ick_log_open(log_path, &log))) {
		ick_log_close(log);
		return err;
	}
	/* writes only: their length is bounded by the log's size, a discard's is not */
	while (!ick_log_next(log, &e))
		if (!(e.flags & ICK_LOG_DISCARD) &&
		    (e.sector + e.nr_sectors) * ick_log_sectorsize(log) > end)
			end = (e.sector + e.nr_sectors) * ick_log_sectorsize(log);
	ick_log_close(log);
	if ((fd = mkstemp(tmpl)) < 0)
		return errno;
	err = ftruncate(fd, (off_t)(end < 1048576 ? 1048576 : end)) ? errno : 0;
	close(fd);
	if (err) {
		unlink(tmpl);
		return err;
	}
	return (*out = strdup(tmpl)) ? 0 : ENOMEM;
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
		if ((err = zero_device(o->log, &d->path)))
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
	return (d->buf = malloc(CHUNK)) ? 0 : ENOMEM;
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

/* --fsck: the replay target follows the log, entry by entry (as replay-log writes it). */
static errcode_t to_target(struct dev *d, const struct ick_log_entry *e, unsigned ss)
{
	uint64_t len = e->nr_sectors * ss, done = 0;
	errcode_t err = 0;

	/* a discard zeroes what the target holds, never more: its length is unbounded */
	if ((e->flags & ICK_LOG_DISCARD) && e->sector * ss >= d->size)
		return 0;
	if ((e->flags & ICK_LOG_DISCARD) && len > d->size - e->sector * ss)
		len = d->size - e->sector * ss;
	if (e->flags & ICK_LOG_DISCARD)
		memset(d->buf, 0, CHUNK);
	while (done < len && !err) {
		size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;

		if (!(e->flags & ICK_LOG_DISCARD) &&
		    (err = ick_log_read_data(d->log, e, done, d->buf, n)))
			break;
		if (pwrite(d->out_fd, d->buf, n, (off_t)(e->sector * ss + done)) != (ssize_t)n)
			err = errno ? errno : EIO;
		done += n;
	}
	return err;
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
		err = to_target(d, e, ick_log_sectorsize(log));
	return err;
}

static int is_point(const struct ick_sweep_opts *o, const struct ick_log_entry *e)
{
	switch (o->when) {
	case ICK_SWEEP_FUA: return !!(e->flags & ICK_LOG_FUA);
	case ICK_SWEEP_FLUSH: return !!(e->flags & ICK_LOG_FLUSH);
	case ICK_SWEEP_MARK: return !!(e->flags & ICK_LOG_MARK);
	case ICK_SWEEP_EVERY: return 1;
	case ICK_SWEEP_NTH: return o->nth && (e->index + 1) % o->nth == 0;
	}
	return 0;
}

static errcode_t write_out(struct dev *d, const char *out);


/* replay-log's --fsck: the replay target is kept in step with the log (written entry by
 * entry, as replay-log writes its device), synced, and the user's command runs on it. */
static errcode_t run_fsck(const struct ick_sweep_opts *o, struct dev *d, struct ick_sweep_point *p,
			  struct ick_sweep_stats *st)
{
	int rc;

	if (fsync(d->out_fd))
		return errno;
	rc = system(o->fsck_cmd);
	p->fsck_status = rc == -1 ? 127 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
	st->checked++;
	return 0;
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

static errcode_t check_point(const struct ick_sweep_opts *o, struct dev *d,
			     struct ick_sweep_point *p, struct ick_sweep_stats *st)
{
	struct learn l = { d, p->entry, 0 };
	struct ick_view_opts vo = { .io = ick_logdev_io_manager, .memo = d->memo };
	struct ick_image *img = NULL;
	struct ick_io_reg reg;
	errcode_t err;

	if (d->trk && !d->reordered) {
		vo.before_orphans = learn_before_orphans;
		vo.priv = &l;
	}

	if (o->fsck_cmd)
		return run_fsck(o, d, p, st);
	ick_logdev_io_register(&reg, d->path, d->ld);
	err = ick_view_open(d->path, &vo, p->rep, &img);
	ick_io_unregister(&reg);
	if (err == ICK_ET_NOT_EXT || err == EXT2_ET_BAD_MAGIC || err == EXT2_ET_SB_CSUM_INVALID ||
	    err == EXT2_ET_CORRUPT_SUPERBLOCK || err == EXT2_ET_SHORT_READ) {
		p->no_fs = 1;
		st->no_fs++;
		return 0;
	}
	if (err) {
		ick_image_close(img); /* a refused file system comes back with its reason */
		return err;
	}
	{
		struct ick_check_opts co = { 0 };
		struct judge j = { d, img };

		if (o->copts)
			co = *o->copts;
		co.memo = memo_for(d, img);
		if (d->trk) {
			co.stale_judge = judge_block;
			co.stale_priv = &j;
			if (!d->reordered && learnable(img) && !l.done)
				err = ick_stale_log_update(d->trk, img->fs, p->entry, d->off,
							   co.memo);
			ick_stale_log_begin(d->trk, img->fs, d->ld, !d->reordered);
			p->stale_log_off = ick_stale_log_off(d->trk);
		}
		if (!err && co.memo && d->incr)
			err = ick_incr_check(d->incr, img, o->mask, &co, p->rep);
		else if (!err)
			err = ick_checks_run_opts(img, o->mask, &co, p->rep);
		if (co.memo)
			ick_memo_view(co.memo, NULL); /* the overlay goes with the image */
		/* the tracker did not learn this state: the next point's evidence may have
		 * moved on blocks the cache would not look at again */
		if (d->incr && !d->reordered && d->trk && !learnable(img))
			ick_incr_forget(d->incr);
	}
	if (!err && d->man_idx >= 0) {
		err = ick_manifest_check(o->manifest, d->man_idx, img->fs, p->rep);
		if (!err && !d->reordered)
			st->manifest_marks++;
	}
	ick_image_close(img);
	st->checked++;
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

/* --reorder: each state where 1..K of the writes in @w (since the last FLUSH) were lost. */
static errcode_t reorder_point(const struct ick_sweep_opts *o, struct dev *d, uint64_t entry,
			       const char *mark, const uint64_t *w, size_t n, ick_sweep_fn on_point,
			       void *priv, struct ick_sweep_stats *st)
{
	size_t c[ICK_REORDER_MAX_K];
	uint64_t drop[ICK_REORDER_MAX_K];
	unsigned states = 0;
	errcode_t err = 0;

	for (size_t r = 1; r <= o->reorder && r <= n && !err; r++) {
		for (size_t i = 0; i < r; i++)
			c[i] = i;
		do {
			struct ick_logdev *ld, *saved = d->ld;
			struct ick_report rep;
			struct ick_sweep_point p = { .entry = entry, .point = st->points - 1,
						     .mark = mark, .rep = &rep, .dropped = drop,
						     .ndropped = r, .manifest = d->man_idx >= 0 };

			if (states++ >= ICK_REORDER_MAX_STATES)
				return 0;
			for (size_t i = 0; i < r; i++)
				drop[i] = w[c[i]];
			if ((err = build_without(o, d, entry, drop, r, &ld)))
				break;
			if ((err = ick_report_init(&rep, o->log))) {
				ick_logdev_free(ld);
				break;
			}
			d->ld = ld;
			d->reordered = 1;
			err = check_point(o, d, &p, st);
			d->reordered = 0;
			d->ld = saved;
			ick_logdev_free(ld);
			st->reordered++;
			if (!err)
				err = on_point(priv, &p);
			if (!err && ick_report_exit_bits(&rep)) {
				st->failing_points++;
				st->findings += rep.nr;
			}
			ick_report_free(&rep);
			if (!err && st->failing_points && !o->keep_going)
				return 0;
		} while (!err && next_subset(c, r, n));
	}
	return err;
}

struct put { struct dev *d; int fd; unsigned ss; };

static errcode_t put_zero(uint64_t sector, uint64_t n, void *priv)
{
	struct put *p = priv;
	uint64_t off = sector * p->ss, end = p->d->size;

	if (off >= end)
		return 0;
	if (n * p->ss < end - off)
		end = off + n * p->ss;
	memset(p->d->buf, 0, CHUNK);
	while (off < end) {
		size_t k = end - off < CHUNK ? (size_t)(end - off) : CHUNK;
		if (pwrite(p->fd, p->d->buf, k, (off_t)off) != (ssize_t)k)
			return errno ? errno : EIO;
		off += k;
	}
	return 0;
}

static errcode_t put_sector(uint64_t sector, uint64_t log_off, void *priv)
{
	struct put *p = priv;
	unsigned char *b = p->d->buf;
	errcode_t err;

	if (!ick_logdev_current(p->d->ld, sector, log_off))
		return 0; /* a later discard zeroed it */
	if ((err = ick_log_pread(p->d->log, log_off, b, p->ss)))
		return err;
	return pwrite(p->fd, b, p->ss, (off_t)(sector * p->ss)) == (ssize_t)p->ss ? 0
										 : (errno ? errno : EIO);
}

/* A block device as --replay's target must hold @need bytes; a regular file grows. */
static errcode_t out_fits(int fd, uint64_t need)
{
	struct stat st;
	uint64_t have;
	errcode_t err;

	if (fstat(fd, &st))
		return errno;
	if (!S_ISBLK(st.st_mode))
		return 0;
	if ((err = ick_fd_size(fd, &have)))
		return err;
	return have < need ? ENOSPC : 0;
}

/* --replay: the device as a real image file: the base copied, the overlay written over. */
static errcode_t write_out(struct dev *d, const char *out)
{
	errcode_t err = 0;
	ssize_t n;
	int in, fd;

	if (ick_same_file(out, d->path) || ick_same_file(out, d->logpath))
		return EEXIST;
	if ((err = ick_refuse_mounted(out)))
		return err;
	if ((in = open(d->path, O_RDONLY)) < 0)
		return errno;
	/* O_TRUNC does nothing to a block device; it must hold the whole base */
	if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
	    (err = out_fits(fd, d->size))) {
		err = err ? err : errno;
		if (fd >= 0)
			close(fd);
		close(in);
		return err;
	}
	while ((n = read(in, d->buf, CHUNK)) > 0)
		if (write(fd, d->buf, (size_t)n) != n) {
			err = errno ? errno : EIO;
			break;
		}
	if (n < 0 && !err)
		err = errno;
	close(in);
	if (!err) {
		struct put p = { d, fd, ick_log_sectorsize(d->log) };
		if (!(err = ick_logdev_iterate_discards(d->ld, put_zero, &p)))
			err = ick_logdev_iterate(d->ld, put_sector, &p);
	}
	if (close(fd) && !err)
		err = errno;
	return err;
}

errcode_t ick_sweep(const struct ick_sweep_opts *o, ick_entry_fn on_entry, ick_sweep_fn on_point,
		    void *priv, struct ick_sweep_stats *st)
{
	struct ick_log *log = NULL;
	struct ick_log_entry e;
	char mark[ICK_LOG_MARK_MAX + 1] = "";
	int checking = !o->start_mark;
	uint64_t *w = NULL;
	size_t nw = 0, capw = 0;
	struct dev d;
	errcode_t err;

	memset(st, 0, sizeof(*st));
	if ((err = ick_log_open(o->log, &log))) {
		if (log)
			snprintf(st->why, sizeof(st->why), "%s", ick_log_why(log));
		ick_log_close(log);
		return err;
	}
	if ((err = dev_open(o, log, &d)))
		goto out;
	if (o->fsck_cmd) {
		/* the target starts as the base, then follows the log */
		if ((err = write_out(&d, o->replay_out)))
			goto out;
		if ((d.out_fd = open(o->replay_out, O_WRONLY)) < 0) {
			err = errno;
			goto out;
		}
	}
	if (d.trk && o->base && (err = track_base(o, &d)))
		goto out;
	while (!(err = ick_log_next(log, &e))) {
		if (on_entry && (err = on_entry(priv, &e)))
			break;
		/* what a volatile cache may still lose: the writes since the last FLUSH */
		if (e.flags & ICK_LOG_FLUSH)
			nw = 0;
		else if (!(e.flags & ICK_LOG_MARK) && e.nr_sectors && o->reorder) {
			if (nw == capw) {
				uint64_t *nwp = realloc(w, (capw ? capw * 2 : 64) * sizeof(*w));
				if (!nwp) {
					err = ENOMEM;
					break;
				}
				w = nwp;
				capw = capw ? capw * 2 : 64;
			}
			w[nw++] = e.index;
		}
		if ((err = apply(&d, log, &e)))
			break;
		d.off = e.data_off;
		d.man_idx = (e.flags & ICK_LOG_MARK) ? ick_manifest_find(o->manifest, e.mark) : -1;
		st->entries++;
		if (e.flags & ICK_LOG_MARK)
			memcpy(mark, e.mark, sizeof(mark));
		if (o->drop_after && e.index < o->drop_after)
			goto next;
		if (checking && on_point &&
		    (o->drop_after ? e.index == o->drop_after : is_point(o, &e) || d.man_idx >= 0)) {
			struct ick_report rep;
			struct ick_sweep_point p = { .entry = e.index, .point = st->points,
						     .mark = mark, .rep = &rep,
						     .manifest = d.man_idx >= 0 };

			st->points++;
			if (o->nshards > 1 && p.point % o->nshards != o->shard) {
				/* not ours to check, but the stale evidence follows every point,
				 * so a shard judges as the whole sweep would */
				if (d.trk && (err = track_only(&d, e.index)))
					break;
				goto next;
			}
			if ((err = ick_report_init(&rep, o->log)))
				break;
			if (!(err = check_point(o, &d, &p, st)))
				err = on_point(priv, &p);
			if (o->progress_fd >= 0)
				dprintf(o->progress_fd, "point %llu entry %llu/%llu\n",
					(unsigned long long)p.point, (unsigned long long)e.index,
					(unsigned long long)ick_log_nr_entries(log));
			if (!err && (ick_report_exit_bits(&rep) || p.fsck_status)) {
				st->failing_points++;
				st->findings += rep.nr;
			}
			ick_report_free(&rep);
			if (err)
				break;
			if (st->failing_points && !o->keep_going)
				break;
			if (o->reorder && !o->fsck_cmd && nw &&
			    (err = reorder_point(o, &d, e.index, mark, w, nw, on_point, priv, st)))
				break;
			if (st->failing_points && !o->keep_going)
				break;
		}
next:
		if (!checking && (e.flags & ICK_LOG_MARK) && !strcmp(e.mark, o->start_mark))
			checking = 1;
		if (o->end_mark && (e.flags & ICK_LOG_MARK) && !strcmp(e.mark, o->end_mark))
			break;
		if (o->limit && st->entries >= o->limit)
			break;
		if (o->drop_after && e.index >= o->drop_after)
			break;
	}
	if (err == ICK_ET_LOG_END)
		err = 0;
	if (err == ICK_ET_LOG_CORRUPT) {
		/* read up to the last whole entry: the sweep stands, the log's end is reported */
		st->truncated = 1;
		snprintf(st->why, sizeof(st->why), "%s", ick_log_why(log));
		err = 0;
	}
	if (!err && o->replay_out && !o->fsck_cmd)
		err = write_out(&d, o->replay_out);
out:
	free(w);
	if (d.memo)
		ick_memo_stats(d.memo, &st->maps_reused, &st->maps_walked);
	if (d.incr) {
		struct ick_incr_stats is;
		ick_incr_stats(d.incr, &is);
		st->incr_fast = is.fast;
		st->incr_full = is.full;
		st->incr_rewalked = is.rewalked;
		snprintf(st->incr_why, sizeof(st->incr_why), "%s", is.why_full ? is.why_full : "");
	}
	dev_close(&d);
	ick_log_close(log);
	return err;
}
