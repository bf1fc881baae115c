/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sweep_replay.c - the sweep's replay-log outputs: the zero device, --replay and --fsck
 * (see sweep_replay.h).  The target is written as replay-log writes its device.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "sweep_replay.h"
#include "blkdev.h"
#include "view.h"

#define CHUNK ICK_SWEEP_CHUNK

errcode_t ick_sweep_replay_zero_device(const char *log_path, char **out)
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

errcode_t ick_sweep_replay_follow(const struct ick_sweep_replay *r, int fd,
				  const struct ick_log_entry *e)
{
	unsigned ss = ick_log_sectorsize(r->log);
	uint64_t len = e->nr_sectors * ss, done = 0;
	errcode_t err = 0;

	/* a discard zeroes what the target holds, never more: its length is unbounded */
	if ((e->flags & ICK_LOG_DISCARD) && e->sector * ss >= r->size)
		return 0;
	if ((e->flags & ICK_LOG_DISCARD) && len > r->size - e->sector * ss)
		len = r->size - e->sector * ss;
	if (e->flags & ICK_LOG_DISCARD)
		memset(r->buf, 0, CHUNK);
	while (done < len && !err) {
		size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;

		if (!(e->flags & ICK_LOG_DISCARD) &&
		    (err = ick_log_read_data(r->log, e, done, r->buf, n)))
			break;
		if (pwrite(fd, r->buf, n, (off_t)(e->sector * ss + done)) != (ssize_t)n)
			err = errno ? errno : EIO;
		done += n;
	}
	return err;
}

/* replay-log's --fsck: the replay target is kept in step with the log (written entry by
 * entry, as replay-log writes its device), synced, and the user's command runs on it. */
errcode_t ick_sweep_replay_fsck(int fd, const char *cmd, int *status)
{
	int rc;

	if (fsync(fd))
		return errno;
	rc = system(cmd);
	*status = rc == -1 ? 127 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
	return 0;
}

struct put { const struct ick_sweep_replay *r; int fd; unsigned ss; };

static errcode_t put_zero(uint64_t sector, uint64_t n, void *priv)
{
	struct put *p = priv;
	uint64_t off = sector * p->ss, end = p->r->size;

	if (off >= end)
		return 0;
	if (n * p->ss < end - off)
		end = off + n * p->ss;
	memset(p->r->buf, 0, CHUNK);
	while (off < end) {
		size_t k = end - off < CHUNK ? (size_t)(end - off) : CHUNK;
		if (pwrite(p->fd, p->r->buf, k, (off_t)off) != (ssize_t)k)
			return errno ? errno : EIO;
		off += k;
	}
	return 0;
}

static errcode_t put_sector(uint64_t sector, uint64_t log_off, void *priv)
{
	struct put *p = priv;
	unsigned char *b = p->r->buf;
	errcode_t err;

	if (!ick_logdev_current(p->r->ld, sector, log_off))
		return 0; /* a later discard zeroed it */
	if ((err = ick_log_pread(p->r->log, log_off, b, p->ss)))
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
errcode_t ick_sweep_replay_write(const struct ick_sweep_replay *r, const char *out)
{
	errcode_t err = 0;
	ssize_t n;
	int in, fd;

	if (ick_same_file(out, r->path) || ick_same_file(out, r->logpath))
		return EEXIST;
	if ((err = ick_refuse_mounted(out)))
		return err;
	if ((in = open(r->path, O_RDONLY)) < 0)
		return errno;
	/* O_TRUNC does nothing to a block device; it must hold the whole base */
	if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
	    (err = out_fits(fd, r->size))) {
		err = err ? err : errno;
		if (fd >= 0)
			close(fd);
		close(in);
		return err;
	}
	while ((n = read(in, r->buf, CHUNK)) > 0)
		if (write(fd, r->buf, (size_t)n) != n) {
			err = errno ? errno : EIO;
			break;
		}
	if (n < 0 && !err)
		err = errno;
	close(in);
	if (!err) {
		struct put p = { r, fd, ick_log_sectorsize(r->log) };
		if (!(err = ick_logdev_iterate_discards(r->ld, put_zero, &p)))
			err = ick_logdev_iterate(r->ld, put_sector, &p);
	}
	if (close(fd) && !err)
		err = errno;
	return err;
}
