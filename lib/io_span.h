/*
 * io_span.h - libext2fs's io_channel count convention, for our io_managers: a count > 0 is
 * that many blocks of the channel's size, a count < 0 is that many bytes.
 */
#ifndef ICK_IO_SPAN_H
#define ICK_IO_SPAN_H
#include <stdint.h>
#include <ext2fs/ext2fs.h>

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
