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
#include <sys/wait.h>
#include "crash.h"
#include "ick_err.h"
#include "overlay.h"
#include "view.h"

#define CHUNK (1u << 20)

const char *ick_log_flags_text(uint64_t flags, char *buf, size_t len)
{
	static const char *const n[] = { "FLUSH", "FUA", "DISCARD", "MARK", "METADATA" };
	size_t used = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < 64; i++) {
		if (!(flags >> i & 1))
			continue;
		if (i < 5)
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
						 used ? "|" : "", n[i]);
		else
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0,
						 "%sUNKNOWN.%#llx", used ? "|" : "",
						 1ULL << i);
	}
	if (!used)
		snprintf(buf, len, "NONE");
	return buf;
}

struct dev {
	struct ick_overlay *ov;
	io_channel base;
	char *path;               /* the base image (or a sparse zero file we made) */
	int made;
	unsigned char *buf;
	int out_fd;               /* --fsck: the replay target, kept in step entry by entry */
};

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
	while (!ick_log_next(log, &e))
		if ((e.sector + e.nr_sectors) * ick_log_sectorsize(log) > end)
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

static errcode_t dev_open(const struct ick_sweep_opts *o, struct dev *d)
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
	if ((err = ick_overlay_new(4096, &d->ov)) ||
	    (err = unix_io_manager->open(d->path, 0, &d->base)) ||
	    (err = io_channel_set_blksize(d->base, 1024)))
		return err;
	return (d->buf = malloc(CHUNK)) ? 0 : ENOMEM;
}

static void dev_close(struct dev *d)
{
	if (d->out_fd >= 0)
		close(d->out_fd);
	if (d->base)
		io_channel_close(d->base);
	ick_overlay_free(d->ov);
	if (d->made)
		unlink(d->path);
	free(d->path);
	free(d->buf);
}

static errcode_t apply(struct dev *d, struct ick_log *log, const struct ick_log_entry *e)
{
	unsigned ss = ick_log_sectorsize(log);
	uint64_t off = e->sector * ss, len = e->nr_sectors * ss, done = 0;
	errcode_t err = 0;

	if (e->flags & ICK_LOG_MARK)
		return 0;
	if (e->flags & ICK_LOG_DISCARD)
		memset(d->buf, 0, CHUNK);
	while (done < len && !err) {
		size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;

		if (!(e->flags & ICK_LOG_DISCARD) &&
		    (err = ick_log_read_data(log, e, done, d->buf, n)))
			break;
		err = ick_overlay_pwrite(d->ov, d->base, off + done, n, d->buf);
		if (!err && d->out_fd >= 0 &&
		    pwrite(d->out_fd, d->buf, n, (off_t)(off + done)) != (ssize_t)n)
			err = errno ? errno : EIO;
		done += n;
	}
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

static errcode_t check_point(const struct ick_sweep_opts *o, struct dev *d,
			     struct ick_sweep_point *p, struct ick_sweep_stats *st)
{
	const struct ick_view_opts vo = { .io = ick_overlay_io_manager_lower };
	struct ick_image *img = NULL;
	errcode_t err;

	if (o->fsck_cmd)
		return run_fsck(o, d, p, st);
	ick_overlay_io_backing_lower(NULL);
	ick_overlay_io_attach_lower(d->ov);
	err = ick_view_open(d->path, &vo, p->rep, &img);
	if (err == ICK_ET_NOT_EXT || err == EXT2_ET_BAD_MAGIC || err == EXT2_ET_SB_CSUM_INVALID ||
	    err == EXT2_ET_CORRUPT_SUPERBLOCK || err == EXT2_ET_SHORT_READ) {
		p->no_fs = 1;
		st->no_fs++;
		return 0;
	}
	if (err)
		return err;
	err = ick_checks_run_opts(img, o->mask, o->copts, p->rep);
	ick_image_close(img);
	st->checked++;
	return err;
}

static errcode_t put_block(uint64_t blk, const unsigned char *data, void *priv)
{
	int fd = *(int *)priv;

	return pwrite(fd, data, 4096, (off_t)(blk * 4096)) == 4096 ? 0 : (errno ? errno : EIO);
}

/* --replay: the device as a real image file: the base copied, the overlay written over. */
static errcode_t write_out(struct dev *d, const char *out)
{
	errcode_t err = 0;
	ssize_t n;
	int in, fd;

	if (!strcmp(out, d->path))
		return EEXIST;
	if ((in = open(d->path, O_RDONLY)) < 0)
		return errno;
	if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
		err = errno;
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
	if (!err)
		err = ick_overlay_iterate(d->ov, put_block, &fd);
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
	struct dev d;
	errcode_t err;

	memset(st, 0, sizeof(*st));
	if ((err = ick_log_open(o->log, &log))) {
		if (log)
			snprintf(st->why, sizeof(st->why), "%s", ick_log_why(log));
		ick_log_close(log);
		return err;
	}
	if ((err = dev_open(o, &d)))
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
	while (!(err = ick_log_next(log, &e))) {
		if (on_entry && (err = on_entry(priv, &e)))
			break;
		if ((err = apply(&d, log, &e)))
			break;
		st->entries++;
		if (e.flags & ICK_LOG_MARK)
			memcpy(mark, e.mark, sizeof(mark));
		if (o->drop_after && e.index < o->drop_after)
			goto next;
		if (checking && on_point && (o->drop_after ? e.index == o->drop_after : is_point(o, &e))) {
			struct ick_report rep;
			struct ick_sweep_point p = { .entry = e.index, .point = st->points,
						     .mark = mark, .rep = &rep };

			st->points++;
			if (o->nshards > 1 && p.point % o->nshards != o->shard)
				goto next;
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
	dev_close(&d);
	ick_log_close(log);
	return err;
}
