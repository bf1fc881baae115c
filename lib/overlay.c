/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * overlay.c - block overlay and its io_manager.
 *
 * Written by hand: libext2fs offers undo_io (which writes through to the device) and
 * test_io (which sees no data), but no manager that keeps writes in memory over a
 * read-only file, so this one wraps unix_io the way the struct_io_manager interface
 * (ext2_io.h) intends: our channel, a private backing channel, byte-exact forwarding.
 *
 * The backing channel of our own channel has 1 KiB blocks: every offset libext2fs asks
 * for is a multiple of 1 KiB (superblock at 1024, blocks of 1 KiB or more), so reads
 * forward as whole blocks; any other offset is served through a bounce buffer.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "overlay.h"
#include "io_chan.h"
#include "u64map.h"

#define BACKING_BLK 1024u

/* block -> index into data[]; the map is kept at most half full (see put) */
struct ick_overlay {
	unsigned blocksize;
	struct ick_u64map map;
	unsigned char **data;
	size_t nr, cap;
};

errcode_t ick_overlay_new(unsigned blocksize, struct ick_overlay **out)
{
	struct ick_overlay *ov;

	*out = NULL;
	if (blocksize < 1024 || blocksize > 65536 || (blocksize & (blocksize - 1)))
		return EXT2_ET_INVALID_ARGUMENT;
	if (!(ov = calloc(1, sizeof(*ov))))
		return ENOMEM;
	ov->blocksize = blocksize;
	*out = ov;
	return 0;
}

void ick_overlay_free(struct ick_overlay *ov)
{
	if (!ov)
		return;
	for (size_t i = 0; i < ov->nr; i++)
		free(ov->data[i]);
	free(ov->data);
	ick_u64map_free(&ov->map);
	free(ov);
}

unsigned ick_overlay_blocksize(const struct ick_overlay *ov)
{
	return ov->blocksize;
}

uint64_t ick_overlay_count(const struct ick_overlay *ov)
{
	return ov->nr;
}

/* A new block's slot: data[] and the map room for it.  The map grows when it would be
 * more than half full (reserving 3/2 of the count at u64map's 3/4 load), so that its
 * slots, and the order ick_overlay_iterate visits them in, are as they always were. */
static errcode_t room(struct ick_overlay *ov)
{
	if (ov->nr == ov->cap) {
		size_t nc = ov->cap ? ov->cap * 2 : 64;
		unsigned char **nd;

		if (nc > SIZE_MAX / sizeof(*nd) || !(nd = realloc(ov->data, nc * sizeof(*nd))))
			return ENOMEM;
		ov->data = nd;
		ov->cap = nc;
	}
	if (ov->nr + 1 > (SIZE_MAX - 1) / 3)
		return ENOMEM;
	return ick_u64map_reserve(&ov->map, (ov->nr + 1) * 3 / 2 - 1) ? ENOMEM : 0;
}

errcode_t ick_overlay_put(struct ick_overlay *ov, uint64_t blk, const void *data)
{
	int found;
	uint64_t i = ick_u64map_get(&ov->map, blk, &found);
	errcode_t err;

	if (!found) {
		if ((err = room(ov)))
			return err;
		if (!(ov->data[ov->nr] = malloc(ov->blocksize)))
			return ENOMEM;
		if (ick_u64map_put(&ov->map, blk, ov->nr)) {
			free(ov->data[ov->nr]);
			return blk == ICK_U64MAP_EMPTY ? EXT2_ET_INVALID_ARGUMENT : ENOMEM;
		}
		i = ov->nr++;
	}
	memcpy(ov->data[i], data, ov->blocksize);
	return 0;
}

const unsigned char *ick_overlay_get(const struct ick_overlay *ov, uint64_t blk)
{
	int found;
	uint64_t i = ick_u64map_get(&ov->map, blk, &found);

	return found ? ov->data[i] : NULL;
}

errcode_t ick_overlay_iterate(const struct ick_overlay *ov,
			      errcode_t (*fn)(uint64_t blk, const unsigned char *data, void *priv),
			      void *priv)
{
	const struct ick_u64map *m = &ov->map;
	errcode_t err;

	for (size_t i = 0; i < m->cap; i++)
		if (m->k[i] != ICK_U64MAP_EMPTY && (err = fn(m->k[i], ov->data[m->v[i]], priv)))
			return err;
	return 0;
}

/* Bytes [off, off+len) of the image, in whole blocks of the backing channel's size. */
static errcode_t backing_read(io_channel backing, uint64_t off, size_t len, unsigned char *buf)
{
	uint64_t cbs = (uint64_t)backing->block_size;
	uint64_t start = off / cbs * cbs, end = (off + len + cbs - 1) / cbs * cbs;
	unsigned char *bounce;
	errcode_t err;

	if (len == 0)
		return 0;
	if (start == off && end == off + len && len / cbs <= INT32_MAX)
		return io_channel_read_blk64(backing, off / cbs, (int)(len / cbs), buf);
	if (end - start > INT32_MAX)
		return EXT2_ET_INVALID_ARGUMENT;
	if (!(bounce = malloc(end - start)))
		return ENOMEM;
	err = io_channel_read_blk64(backing, start / cbs, -(int)(end - start), bounce);
	if (!err)
		memcpy(buf, bounce + (off - start), len);
	free(bounce);
	return err;
}

errcode_t ick_overlay_pread(struct ick_overlay *ov, io_channel backing, uint64_t off, size_t len,
			    void *buf)
{
	unsigned bs = ov->blocksize;
	errcode_t err;

	if (off > UINT64_MAX - len)
		return EXT2_ET_INVALID_ARGUMENT;
	if ((err = backing_read(backing, off, len, buf)))
		return err;
	if (!ov->nr || !len)
		return 0;
	for (uint64_t b = off / bs; b <= (off + len - 1) / bs; b++) {
		const unsigned char *d = ick_overlay_get(ov, b);
		uint64_t bstart = b * bs, lo, hi;

		if (!d)
			continue;
		lo = bstart > off ? bstart : off;
		hi = bstart + bs < off + len ? bstart + bs : off + len;
		memcpy((unsigned char *)buf + (lo - off), d + (lo - bstart), hi - lo);
	}
	return 0;
}

/* Write [off, off+len) into the overlay: whole blocks directly, partial ones merged. */
errcode_t ick_overlay_pwrite(struct ick_overlay *ov, io_channel backing, uint64_t off, size_t len,
			     const void *buf)
{
	unsigned bs = ov->blocksize;
	const unsigned char *src = buf;
	unsigned char *tmp = NULL;
	errcode_t err = 0;

	if (!len)
		return 0;
	if (off > UINT64_MAX - len)
		return EXT2_ET_INVALID_ARGUMENT;
	for (uint64_t b = off / bs; b <= (off + len - 1) / bs && !err; b++) {
		uint64_t bstart = b * bs;
		uint64_t lo = bstart > off ? bstart : off;
		uint64_t hi = bstart + bs < off + len ? bstart + bs : off + len;

		if (lo == bstart && hi == bstart + bs) {
			err = ick_overlay_put(ov, b, src + (lo - off));
			continue;
		}
		if (!tmp && !(tmp = malloc(bs)))
			return ENOMEM;
		if ((err = ick_overlay_pread(ov, backing, bstart, bs, tmp)))
			break;
		memcpy(tmp + (lo - bstart), src + (lo - off), hi - lo);
		err = ick_overlay_put(ov, b, tmp);
	}
	free(tmp);
	return err;
}

/* ---- the io_manager ---- */

struct chan_priv {
	const struct ick_io_ops *ops; /* first: io_chan.h's shim reads it */
	struct ick_overlay *ov;
	io_channel backing;
};

static struct chan_priv *priv_of(io_channel ch)
{
	return ch->private_data;
}

static errcode_t ov_pread(io_channel ch, uint64_t off, size_t len, void *buf)
{
	return ick_overlay_pread(priv_of(ch)->ov, priv_of(ch)->backing, off, len, buf);
}

static errcode_t ov_pwrite(io_channel ch, uint64_t off, size_t len, const void *buf)
{
	return ick_overlay_pwrite(priv_of(ch)->ov, priv_of(ch)->backing, off, len, buf);
}

static const struct ick_io_ops ov_ops = { .pread = ov_pread, .pwrite = ov_pwrite };

void ick_overlay_io_register(struct ick_io_reg *r, const char *name, struct ick_overlay *ov,
			     io_manager backing)
{
	*r = (struct ick_io_reg){ .mgr = ick_overlay_io_manager, .name = name, .state = ov,
				  .backing = backing };
	ick_io_register(r);
}

static errcode_t ov_open(const char *name, int flags, io_channel *out)
{
	struct ick_io_reg *reg = ick_io_lookup(ick_overlay_io_manager, name);
	struct chan_priv *p;
	errcode_t err;

	*out = NULL;
	if (!reg || !reg->state)
		return EXT2_ET_INVALID_ARGUMENT;
	if (!(p = calloc(1, sizeof(*p))))
		return ENOMEM;
	p->ops = &ov_ops;
	p->ov = reg->state;
	/* The image is opened read-only whatever @flags asks: writes stay in the overlay. */
	err = (reg->backing ? reg->backing : unix_io_manager)
		      ->open(name, flags & ~(IO_FLAG_RW | IO_FLAG_EXCLUSIVE), &p->backing);
	if (err)
		goto fail;
	if ((err = io_channel_set_blksize(p->backing, BACKING_BLK)) ||
	    (err = ick_io_chan_new(name, ick_overlay_io_manager, p, out))) {
		io_channel_close(p->backing);
		goto fail;
	}
	return 0;
fail:
	free(p);
	return err;
}

static errcode_t ov_close(io_channel ch)
{
	struct chan_priv *p = priv_of(ch);
	errcode_t err = 0;

	if (!ick_io_chan_put(ch))
		return 0;
	if (p->backing)
		err = io_channel_close(p->backing);
	free(p);
	return err;
}

static errcode_t ov_set_blksize(io_channel ch, int blksize)
{
	if (blksize < 1024 || blksize % 1024)
		return EXT2_ET_INVALID_ARGUMENT;
	ch->block_size = blksize;
	return 0;
}

static errcode_t ov_flush(io_channel ch)
{
	(void)ch;
	return 0;
}

static struct struct_io_manager overlay_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "iomapck overlay I/O manager",
	.open = ov_open,
	.close = ov_close,
	.set_blksize = ov_set_blksize,
	.read_blk = ick_io_read_blk,
	.write_blk = ick_io_write_blk,
	.flush = ov_flush,
	.write_byte = ick_io_write_byte,
	.set_option = ick_io_no_option,
	.read_blk64 = ick_io_read_blk64,
	.write_blk64 = ick_io_write_blk64,
	.zeroout = ick_io_zeroout,
};

io_manager ick_overlay_io_manager = &overlay_manager;
