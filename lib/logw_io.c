/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * logw_io.c - the recording io_manager (see logw_io.h): unix_io underneath, every write,
 * zeroout and flush made through it appended to a log writer.
 */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include "io_chan.h"
#include "logw_io.h"

struct rec {
	const struct ick_io_ops *ops; /* first: io_chan.h's shim reads it */
	io_channel inner;
	struct ick_logw *lw;
};

static struct struct_io_manager rec_manager;

void ick_logw_io_register(struct ick_io_reg *r, const char *name, struct ick_logw *lw)
{
	*r = (struct ick_io_reg){ .mgr = &rec_manager, .name = name, .state = lw };
	ick_io_register(r);
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

static errcode_t rec_pread(io_channel ch, uint64_t off, size_t len, void *buf)
{
	if (len > INT32_MAX || off % 512)
		return EXT2_ET_INVALID_ARGUMENT;
	return io_channel_read_blk64(rec_of(ch)->inner, off / 512, -(int)len, buf);
}

/* Whole 512-byte units as blocks of the inner channel, any other offset as bytes. */
static errcode_t rec_pwrite(io_channel ch, uint64_t off, size_t len, const void *buf)
{
	struct rec *r = rec_of(ch);
	errcode_t err;

	if (len > INT32_MAX || (off % 512 && off > ULONG_MAX))
		return EXT2_ET_INVALID_ARGUMENT;
	err = off % 512 ? io_channel_write_byte(r->inner, (unsigned long)off, (int)len, buf)
			: io_channel_write_blk64(r->inner, off / 512, -(int)len, buf);
	return err ? err : record(r, off, len, 0);
}

static const struct ick_io_ops rec_ops = { .pread = rec_pread, .pwrite = rec_pwrite };

static errcode_t rec_open(const char *name, int flags, io_channel *out)
{
	struct ick_io_reg *reg = ick_io_lookup(&rec_manager, name);
	struct rec *r;
	errcode_t err;

	*out = NULL;
	if (!(r = calloc(1, sizeof(*r))))
		return ENOMEM;
	r->ops = &rec_ops;
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
	/* the writer is the first channel's: image.c may open others on the same name */
	r->lw = reg ? reg->state : NULL;
	if (reg)
		reg->state = NULL;
	if (r->lw)
		ick_logw_bind(r->lw, r->inner);
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

static struct struct_io_manager rec_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "iomapck dm-log-writes recording I/O manager",
	.open = rec_open,
	.close = rec_close,
	.set_blksize = rec_set_blksize,
	.read_blk = ick_io_read_blk,
	.write_blk = ick_io_write_blk,
	.flush = rec_flush,
	.write_byte = ick_io_write_byte,
	.set_option = rec_set_option,
	.read_blk64 = ick_io_read_blk64,
	.write_blk64 = ick_io_write_blk64,
	.zeroout = ick_io_zeroout,
};

io_manager ick_logw_io_manager = &rec_manager;
