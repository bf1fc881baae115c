/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * logw_io.c - the recording io_manager (see logw_io.h): unix_io underneath, every write,
 * zeroout and flush made through it appended to a log writer.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include "io_chan.h"
#include "logw_io.h"

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
		ick_logw_bind(r->lw, NULL);
	r->lw = lw;
	if (lw)
		ick_logw_bind(lw, r->inner);
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
	ss = ick_logw_sectorsize(r->lw);
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
	struct rec r = { .inner = ick_logw_bound(lw), .lw = lw };

	if (!r.inner)
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
		ick_logw_bind(r->lw, r->inner);
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
		ick_logw_bind(r->lw, NULL);
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
