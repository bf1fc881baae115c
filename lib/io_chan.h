/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * io_chan.h - what our io_managers (overlay, recorder, logdev, the fuzzers' in-memory one)
 * share: making and releasing a channel, and libext2fs's count convention (a count > 0 is
 * that many blocks of the channel's size, a count < 0 that many bytes).
 */
#ifndef ICK_IO_CHAN_H
#define ICK_IO_CHAN_H
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ext2fs/ext2fs.h>

/* A channel of @mgr named @name over @priv, 1 KiB blocks, one reference. */
static inline errcode_t ick_io_chan_new(const char *name, io_manager mgr, void *priv,
					io_channel *out)
{
	io_channel ch = calloc(1, sizeof(*ch));

	*out = NULL;
	if (!ch || !(ch->name = strdup(name ? name : ""))) {
		free(ch);
		return ENOMEM;
	}
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = mgr;
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = priv;
	*out = ch;
	return 0;
}

/* Drop a reference; when it was the last, free the channel and return 1 (the caller
 * frees its private data first, having read it). */
static inline int ick_io_chan_put(io_channel ch)
{
	if (--ch->refcount > 0)
		return 0;
	free(ch->name);
	free(ch);
	return 1;
}

static inline errcode_t ick_io_span(io_channel ch, unsigned long long blk, int count,
				    uint64_t *off, size_t *len)
{
	uint64_t bs = (uint64_t)ch->block_size;

	if (blk > UINT64_MAX / bs)
		return EXT2_ET_LLSEEK_FAILED;
	*off = blk * bs;
	*len = count < 0 ? (size_t)(-(int64_t)count) : (size_t)count * bs;
	return 0;
}

#endif
