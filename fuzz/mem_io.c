/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mem_io.c - a read-only io_manager that serves an image from a buffer in memory.
 *
 * Why: libext2fs ships io_managers for files and devices (unix_io), sparse files, undo
 * files and tests, but none over memory.  The fuzz harnesses must open every input as an
 * image thousands of times a second; writing each one to a temporary file would cost a
 * file-system round trip per execution and leave files behind when a run is killed.
 * Passing a non-NULL io_manager to ick_image_open() also skips the blkid probe (which
 * wants a path), so the harness reaches libext2fs and our checks directly.
 *
 * Contract (struct struct_io_manager in <ext2fs/ext2_io.h>):
 *  - read_blk/read_blk64: count > 0 is a number of blocks of the channel's block size,
 *    count < 0 is a number of bytes (libext2fs reads the superblock that way), 0 reads
 *    nothing.
 *  - Reads wholly or partly past the end of the buffer: the bytes that exist are copied,
 *    the rest of the caller's buffer is zero-filled and the read fails with
 *    EXT2_ET_SHORT_READ (through channel->read_error when the caller installed one).
 *    That is what unix_io does on a regular file that is too short, so the library meets
 *    the same errors as on a truncated image file; and it keeps the on-disk geometry
 *    honest: a superblock cannot make libext2fs read group descriptors, bitmaps or inode
 *    tables out of zeros that the input never contained.
 *  - Read-only: opening with IO_FLAG_RW fails with EROFS, and every write, discard or
 *    zeroout fails with EXT2_ET_RO_FILSYS, so a harness can never modify its input.
 *  - Block numbers whose byte offset does not fit in 64 bits are reads past the end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "io_chan.h"
#include "mem_io.h"

struct mem_chan {
	const struct ick_io_ops *ops; /* first: io_chan.h's shim reads it */
	const unsigned char *data;
	size_t size;
	struct struct_io_stats stats;
};

/* read_blk64 is this file's own (short reads go to read_error); writes fail */
static const struct ick_io_ops mem_ops = { .ro_err = EXT2_ET_RO_FILSYS };

void mem_io_register(struct mem_io_src *m, const char *name, const void *data, size_t size)
{
	m->data = data;
	m->size = size;
	m->reg = (struct ick_io_reg){ .mgr = mem_io_manager, .name = name, .state = m };
	ick_io_register(&m->reg);
}

static errcode_t mem_open(const char *name, int flags, io_channel *out)
{
	struct ick_io_reg *reg = ick_io_lookup(mem_io_manager, name);
	const struct mem_io_src *src = reg ? reg->state : NULL;
	struct mem_chan *mc;
	errcode_t err;

	*out = NULL;
	if (flags & IO_FLAG_RW)
		return EROFS;
	if (!src || (!src->data && src->size))
		return EXT2_ET_INVALID_ARGUMENT;
	if (!(mc = calloc(1, sizeof(*mc))))
		return ENOMEM;
	mc->ops = &mem_ops;
	mc->data = src->data;
	mc->size = src->size;
	mc->stats.num_fields = 2;
	if ((err = ick_io_chan_new(name ? name : "mem", mem_io_manager, mc, out)))
		free(mc);
	return err;
}

static errcode_t mem_close(io_channel ch)
{
	if (ch->magic != EXT2_ET_MAGIC_IO_CHANNEL)
		return EXT2_ET_MAGIC_IO_CHANNEL;
	void *mc = ch->private_data;

	if (ick_io_chan_put(ch))
		free(mc);
	return 0;
}

static errcode_t mem_set_blksize(io_channel ch, int blksize)
{
	if (blksize <= 0)
		return EXT2_ET_INVALID_ARGUMENT;
	ch->block_size = blksize;
	return 0;
}

static errcode_t mem_read64(io_channel ch, unsigned long long blk, int count, void *buf)
{
	struct mem_chan *mc = ch->private_data;
	uint64_t bs = (uint64_t)ch->block_size, off;
	size_t len, have = 0;

	if (count == 0)
		return 0;
	len = count < 0 ? (size_t)(-(int64_t)count) : (size_t)count * bs;
	if (blk <= UINT64_MAX / bs) {
		off = blk * bs;
		if (off < mc->size)
			have = mc->size - off < len ? mc->size - off : len;
		if (have)
			memcpy(buf, mc->data + off, have);
	}
	mc->stats.bytes_read += have;
	if (have == len)
		return 0;
	memset((unsigned char *)buf + have, 0, len - have);
	if (ch->read_error)
		return ch->read_error(ch, (unsigned long)blk, count, buf, len, (int)have,
				      EXT2_ET_SHORT_READ);
	return EXT2_ET_SHORT_READ;
}

static errcode_t mem_flush(io_channel ch)
{
	return 0;
}

static errcode_t mem_get_stats(io_channel ch, io_stats *out)
{
	*out = &((struct mem_chan *)ch->private_data)->stats;
	return 0;
}

static errcode_t mem_discard(io_channel ch, unsigned long long blk, unsigned long long count)
{
	return EXT2_ET_RO_FILSYS;
}

static errcode_t mem_readahead(io_channel ch, unsigned long long blk, unsigned long long count)
{
	return 0;
}

static struct struct_io_manager mem_io = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "iomapck in-memory I/O manager",
	.open = mem_open,
	.close = mem_close,
	.set_blksize = mem_set_blksize,
	.read_blk = ick_io_read_blk,
	.write_blk = ick_io_write_blk,
	.flush = mem_flush,
	.write_byte = ick_io_write_byte,
	.set_option = ick_io_no_option,
	.get_stats = mem_get_stats,
	.read_blk64 = mem_read64,
	.write_blk64 = ick_io_write_blk64,
	.discard = mem_discard,
	.cache_readahead = mem_readahead,
	.zeroout = mem_discard,
};

io_manager mem_io_manager = &mem_io;
