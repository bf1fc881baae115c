/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * logwrites.c - dm-log-writes reader, writer and recording io_manager (see logwrites.h).
 * Written by hand: no installed library handles this format.  Facts from the kernel's
 * drivers/md/dm-log-writes.c and xfstests' src/log-writes/log-writes.c (validity rules).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ick_err.h"
#include "io_chan.h"
#include "logwrites.h"
#include "blkdev.h"

#define HDR 32

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static errcode_t pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	unsigned char *b = buf;

	while (len) {
		ssize_t n = pread(fd, b, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EXT2_ET_SHORT_READ;
		b += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static errcode_t pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const unsigned char *b = buf;

	while (len) {
		ssize_t n = pwrite(fd, b, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EXT2_ET_SHORT_WRITE;
		b += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

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

/* ---- reader ---- */

struct ick_log {
	int fd;
	uint64_t size;        /* bytes in the file */
	unsigned ss;          /* sectorsize */
	uint64_t nr_entries;
	uint64_t next;        /* index of the next entry */
	uint64_t pos;         /* its byte offset */
	unsigned char *sec;   /* one sector */
	const unsigned char *map; /* the file mapped read-only (NULL: pread) */
	uint64_t unmapped;    /* pages of the map before this were given back */
	unsigned char *ra;    /* read-ahead of headers: entries without data are adjacent */
	uint64_t ra_off;
	size_t ra_len;
	char why[160];
};
#define READAHEAD (64u << 10)
#define GIVE_BACK (8u << 20)

errcode_t ick_log_open(const char *path, struct ick_log **out)
{
	struct ick_log *log;
	unsigned char sup[HDR];
	struct stat st;
	errcode_t err;

	*out = NULL;
	if (!(log = calloc(1, sizeof(*log))))
		return ENOMEM;
	if ((log->fd = open(path, O_RDONLY)) < 0 || fstat(log->fd, &st)) {
		err = errno;
		goto fail;
	}
	/* a log on a block device ($LOGWRITES_DEV) has st_size 0: BLKGETSIZE64 */
	if ((err = ick_fd_size(log->fd, &log->size)))
		goto fail;
	if (log->size < 512 || (err = pread_all(log->fd, sup, HDR, 0))) {
		snprintf(log->why, sizeof(log->why), "shorter than a super sector");
		err = ICK_ET_LOG_CORRUPT;
		goto fail;
	}
	log->ss = (unsigned)(sup[24] | sup[25] << 8 | sup[26] << 16 | (uint32_t)sup[27] << 24);
	log->nr_entries = get64(sup + 16);
	if (get64(sup) != ICK_LOG_MAGIC)
		snprintf(log->why, sizeof(log->why), "bad magic %#llx",
			 (unsigned long long)get64(sup));
	else if (get64(sup + 8) != ICK_LOG_VERSION)
		snprintf(log->why, sizeof(log->why), "unsupported version %llu",
			 (unsigned long long)get64(sup + 8));
	else if (log->ss < 512 || log->ss > 65536 || (log->ss & (log->ss - 1)))
		snprintf(log->why, sizeof(log->why), "impossible sector size %u", log->ss);
	else if (log->size < log->ss)
		snprintf(log->why, sizeof(log->why), "shorter than its super sector");
	if (log->why[0]) {
		err = ICK_ET_LOG_CORRUPT;
		goto fail;
	}
	if (!(log->sec = malloc(log->ss))) {
		err = ENOMEM;
		goto fail;
	}
	if (S_ISREG(st.st_mode) && log->size <= SIZE_MAX) {
		void *m = mmap(NULL, (size_t)log->size, PROT_READ, MAP_SHARED, log->fd, 0);
		log->map = m == MAP_FAILED ? NULL : m;
	}
	log->pos = log->ss;
	*out = log;
	return 0;
fail:
	*out = log->why[0] ? log : NULL;
	if (!*out) {
		if (log->fd >= 0)
			close(log->fd);
		free(log);
	}
	return err;
}

void ick_log_close(struct ick_log *log)
{
	if (!log)
		return;
	if (log->fd >= 0)
		close(log->fd);
	free(log->sec);
	free(log->ra);
	if (log->map)
		munmap((void *)log->map, (size_t)log->size);
	free(log);
}

unsigned ick_log_sectorsize(const struct ick_log *log) { return log->ss; }
uint64_t ick_log_nr_entries(const struct ick_log *log) { return log->nr_entries; }
const char *ick_log_why(const struct ick_log *log) { return log->why; }

static errcode_t corrupt(struct ick_log *log, const char *what)
{
	snprintf(log->why, sizeof(log->why), "entry %llu at byte %llu: %s",
		 (unsigned long long)log->next, (unsigned long long)log->pos, what);
	return ICK_ET_LOG_CORRUPT;
}

/* The header sector at log->pos into log->sec, through the read-ahead window. */
static errcode_t read_header(struct ick_log *log)
{
	unsigned ss = log->ss;
	ssize_t n;

	if (log->map) { /* the caller checked pos + ss <= size */
		memcpy(log->sec, log->map + log->pos, ss);
		/* headers are read once, in order: the pages behind are dropped from this
		 * process (the page cache keeps them), so resident memory stays what the sweep
		 * holds, not the log's size */
		if (log->pos - log->unmapped >= GIVE_BACK) {
			uint64_t to = log->pos & ~(uint64_t)(GIVE_BACK - 1);
			if (!madvise((void *)(log->map + log->unmapped), (size_t)(to - log->unmapped),
				     MADV_DONTNEED))
				log->unmapped = to;
		}
		return 0;
	}
	if (log->pos < log->ra_off || log->pos - log->ra_off + ss > log->ra_len) {
		if (!log->ra && !(log->ra = malloc(READAHEAD)))
			return ENOMEM;
		log->ra_len = 0;
		do
			n = pread(log->fd, log->ra, READAHEAD, (off_t)log->pos);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return errno;
		log->ra_off = log->pos;
		log->ra_len = (size_t)n;
		if (log->ra_len < ss) /* the size was checked: a file that shrank under us */
			return EIO;
	}
	memcpy(log->sec, log->ra + (log->pos - log->ra_off), ss);
	return 0;
}

errcode_t ick_log_next(struct ick_log *log, struct ick_log_entry *e)
{
	unsigned ss = log->ss;
	uint64_t left;
	errcode_t err;

	if (log->next >= log->nr_entries)
		return ICK_ET_LOG_END;
	if (log->pos > log->size || log->size - log->pos < ss)
		return corrupt(log, "the log ends inside its header (truncated)");
	if ((err = read_header(log)))
		return err;
	memset(e, 0, sizeof(*e));
	e->index = log->next;
	e->sector = get64(log->sec);
	e->nr_sectors = get64(log->sec + 8);
	e->flags = get64(log->sec + 16);
	e->data_len = get64(log->sec + 24);
	if (!e->flags && !e->nr_sectors)
		return corrupt(log, "zero flags and length (a stale or zeroed sector)");
	left = log->size - log->pos - ss;
	if (e->flags & ICK_LOG_MARK) {
		if (e->data_len > ss - HDR - 1)
			return corrupt(log, "mark longer than its sector");
		memcpy(e->mark, log->sec + HDR, e->data_len);
		e->mark[e->data_len] = 0;
	} else {
		if (log->sec[HDR])
			return corrupt(log, "header sector not zero-padded");
		if (!(e->flags & ICK_LOG_DISCARD)) {
			if (e->nr_sectors > left / ss)
				return corrupt(log, "data runs past the end of the log (truncated)");
			e->data_bytes = e->nr_sectors * ss;
		}
	}
	if (e->nr_sectors > UINT64_MAX / ss || e->sector > UINT64_MAX / ss - e->nr_sectors)
		return corrupt(log, "sector range overflows");
	e->data_off = log->pos + ss;
	log->pos += ss + e->data_bytes;
	log->next++;
	return 0;
}

errcode_t ick_log_read_data(struct ick_log *log, const struct ick_log_entry *e, uint64_t off,
			    void *buf, size_t len)
{
	if (off > e->data_bytes || len > e->data_bytes - off)
		return EXT2_ET_INVALID_ARGUMENT;
	return ick_log_pread(log, e->data_off + off, buf, len);
}

errcode_t ick_log_pread(const struct ick_log *log, uint64_t off, void *buf, size_t len)
{
	if (off > log->size || len > log->size - off)
		return EXT2_ET_SHORT_READ;
	if (log->map) {
		memcpy(buf, log->map + off, len);
		return 0;
	}
	return pread_all(log->fd, buf, len, off);
}

/* ---- writer ---- */

struct ick_logw {
	int fd;
	unsigned ss;
	uint64_t entries, pos;
	unsigned char *sec;
	io_channel inner;   /* the recorded channel's unix_io channel, for commits */
};

static errcode_t write_super(struct ick_logw *lw)
{
	unsigned char sup[HDR] = { 0 };

	put64(sup, ICK_LOG_MAGIC);
	put64(sup + 8, ICK_LOG_VERSION);
	put64(sup + 16, lw->entries);
	sup[24] = lw->ss & 0xff;
	sup[25] = lw->ss >> 8 & 0xff;
	sup[26] = lw->ss >> 16 & 0xff;
	return pwrite_all(lw->fd, sup, HDR, 0);
}

errcode_t ick_logw_create(const char *path, unsigned sectorsize, struct ick_logw **out)
{
	struct ick_logw *lw;
	errcode_t err;

	*out = NULL;
	if (sectorsize < 512 || sectorsize > 65536 || (sectorsize & (sectorsize - 1)))
		return EXT2_ET_INVALID_ARGUMENT;
	if (!(lw = calloc(1, sizeof(*lw))) || !(lw->sec = calloc(1, sectorsize))) {
		free(lw);
		return ENOMEM;
	}
	lw->ss = sectorsize;
	lw->pos = sectorsize;
	if ((lw->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
		err = errno;
		free(lw->sec);
		free(lw);
		return err;
	}
	/* the super sector, zero-padded */
	if ((err = pwrite_all(lw->fd, lw->sec, sectorsize, 0)) || (err = write_super(lw))) {
		(void)ick_logw_close(lw);
		return err;
	}
	*out = lw;
	return 0;
}

uint64_t ick_logw_entries(const struct ick_logw *lw) { return lw->entries; }

static errcode_t append(struct ick_logw *lw, uint64_t sector, uint64_t nr, uint64_t flags,
			const char *mark, const void *data)
{
	uint64_t bytes = (flags & (ICK_LOG_DISCARD | ICK_LOG_MARK)) ? 0 : nr * lw->ss;
	size_t mlen = mark ? strlen(mark) : 0;
	errcode_t err;

	if (mlen > ick_logw_mark_max(lw) || (bytes && !data))
		return EXT2_ET_INVALID_ARGUMENT;
	memset(lw->sec, 0, lw->ss);
	put64(lw->sec, sector);
	put64(lw->sec + 8, nr);
	put64(lw->sec + 16, flags);
	put64(lw->sec + 24, mlen);
	if (mlen)
		memcpy(lw->sec + HDR, mark, mlen);
	if ((err = pwrite_all(lw->fd, lw->sec, lw->ss, lw->pos)) ||
	    (bytes && (err = pwrite_all(lw->fd, data, bytes, lw->pos + lw->ss))))
		return err;
	lw->pos += lw->ss + bytes;
	lw->entries++;
	/* the kernel rewrites the super only after FUA and MARK entries */
	return (flags & (ICK_LOG_FUA | ICK_LOG_MARK)) ? write_super(lw) : 0;
}

errcode_t ick_logw_append(struct ick_logw *lw, uint64_t sector, uint64_t nr_sectors,
			  uint64_t flags, const void *data)
{
	if (flags & ICK_LOG_MARK)
		return EXT2_ET_INVALID_ARGUMENT;
	return append(lw, sector, nr_sectors, flags, NULL, data);
}

size_t ick_logw_mark_max(const struct ick_logw *lw)
{
	return lw->ss - HDR - 1;
}

errcode_t ick_logw_mark(struct ick_logw *lw, const char *name)
{
	return append(lw, 0, 0, ICK_LOG_MARK, name, NULL);
}

errcode_t ick_logw_close(struct ick_logw *lw)
{
	errcode_t err, e;

	if (!lw)
		return 0;
	err = write_super(lw);
	if (close(lw->fd) && !err)
		err = errno;
	(void)e;
	free(lw->sec);
	free(lw);
	return err;
}

/* ---- the recording io_manager ---- */

struct rec {
	io_channel inner;
	struct ick_logw *lw;
};

static struct ick_logw *next_lw;
static struct struct_io_manager rec_manager;

void ick_logw_io_attach(struct ick_logw *lw)
{
	next_lw = lw;
}

static struct rec *rec_of(io_channel ch)
{
	return ch->private_data;
}

errcode_t ick_logw_io_set(io_channel ch, struct ick_logw *lw)
{
	struct rec *r;

	if (ch->manager != &rec_manager)
		return EXT2_ET_INVALID_ARGUMENT;
	r = rec_of(ch);
	if (r->lw)
		r->lw->inner = NULL;
	r->lw = lw;
	if (lw)
		lw->inner = r->inner;
	return 0;
}

/* Log bytes [off, off+len) just written (whole sectors; a partial one is re-read). */
static errcode_t record(struct rec *r, uint64_t off, size_t len, uint64_t flags)
{
	unsigned ss;
	uint64_t start, end;
	unsigned char *buf;
	errcode_t err;

	if (!len || !r->lw)
		return 0;
	ss = r->lw->ss;
	start = off / ss * ss;
	end = (off + len + ss - 1) / ss * ss;
	if (end - start > INT32_MAX || !(buf = malloc(end - start)))
		return ENOMEM;
	err = io_channel_read_blk64(r->inner, start / 512, -(int)(end - start), buf);
	if (!err)
		err = ick_logw_append(r->lw, start / ss, (end - start) / ss, flags, buf);
	free(buf);
	return err;
}

errcode_t ick_logw_commit(struct ick_logw *lw)
{
	struct rec r = { .inner = lw->inner, .lw = lw };

	if (!lw->inner)
		return EXT2_ET_INVALID_ARGUMENT;
	return record(&r, 1024, 1024, ICK_LOG_FLUSH | ICK_LOG_FUA | ICK_LOG_METADATA);
}

static errcode_t rec_open(const char *name, int flags, io_channel *out)
{
	struct rec *r;
	errcode_t err;

	*out = NULL;
	if (!(r = calloc(1, sizeof(*r))))
		return ENOMEM;
	if ((err = unix_io_manager->open(name, flags, &r->inner))) {
		free(r);
		return err;
	}
	/* record() reads back by 512-byte units */
	if ((err = io_channel_set_blksize(r->inner, 512)) ||
	    (err = ick_io_chan_new(name, &rec_manager, r, out))) {
		io_channel_close(r->inner);
		free(r);
		return err;
	}
	r->lw = next_lw;
	if (r->lw)
		r->lw->inner = r->inner;
	next_lw = NULL;
	return 0;
}

static errcode_t rec_close(io_channel ch)
{
	struct rec *r = rec_of(ch);
	errcode_t err;

	if (!ick_io_chan_put(ch))
		return 0;
	if (r->lw)
		r->lw->inner = NULL;
	err = io_channel_close(r->inner);
	free(r);
	return err;
}

static errcode_t rec_set_blksize(io_channel ch, int blksize)
{
	ch->block_size = blksize;
	return 0;
}

static errcode_t rec_read64(io_channel ch, unsigned long long blk, int count, void *buf)
{
	uint64_t off;
	size_t len;
	errcode_t err = ick_io_span(ch, blk, count, &off, &len);

	if (err || len > INT32_MAX || off % 512)
		return err ? err : EXT2_ET_INVALID_ARGUMENT;
	return io_channel_read_blk64(rec_of(ch)->inner, off / 512, -(int)len, buf);
}

static errcode_t rec_write64(io_channel ch, unsigned long long blk, int count, const void *buf)
{
	struct rec *r = rec_of(ch);
	uint64_t off;
	size_t len;
	errcode_t err = ick_io_span(ch, blk, count, &off, &len);

	if (err || len > INT32_MAX || off % 512)
		return err ? err : EXT2_ET_INVALID_ARGUMENT;
	if ((err = io_channel_write_blk64(r->inner, off / 512, -(int)len, buf)))
		return err;
	return record(r, off, len, 0);
}

static errcode_t rec_read(io_channel ch, unsigned long blk, int count, void *buf)
{
	return rec_read64(ch, blk, count, buf);
}

static errcode_t rec_write(io_channel ch, unsigned long blk, int count, const void *buf)
{
	return rec_write64(ch, blk, count, buf);
}

static errcode_t rec_write_byte(io_channel ch, unsigned long off, int count, const void *buf)
{
	struct rec *r = rec_of(ch);
	errcode_t err;

	if (count < 0)
		return EXT2_ET_INVALID_ARGUMENT;
	if ((err = io_channel_write_byte(r->inner, off, count, buf)))
		return err;
	return record(r, off, (size_t)count, 0);
}

static errcode_t rec_flush(io_channel ch)
{
	struct rec *r = rec_of(ch);
	errcode_t err = io_channel_flush(r->inner);

	return err || !r->lw ? err : ick_logw_append(r->lw, 0, 0, ICK_LOG_FLUSH, NULL);
}

static errcode_t rec_set_option(io_channel ch, const char *opt, const char *arg)
{
	return rec_of(ch)->inner->manager->set_option(rec_of(ch)->inner, opt, arg);
}

static errcode_t rec_zeroout(io_channel ch, unsigned long long blk, unsigned long long count)
{
	unsigned char *zero = calloc(1, (size_t)ch->block_size);
	errcode_t err = zero ? 0 : ENOMEM;

	for (unsigned long long i = 0; i < count && !err; i++)
		err = rec_write64(ch, blk + i, 1, zero);
	free(zero);
	return err;
}

static struct struct_io_manager rec_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "iomapck dm-log-writes recording I/O manager",
	.open = rec_open,
	.close = rec_close,
	.set_blksize = rec_set_blksize,
	.read_blk = rec_read,
	.write_blk = rec_write,
	.flush = rec_flush,
	.write_byte = rec_write_byte,
	.set_option = rec_set_option,
	.read_blk64 = rec_read64,
	.write_blk64 = rec_write64,
	.zeroout = rec_zeroout,
};

io_manager ick_logw_io_manager = &rec_manager;
