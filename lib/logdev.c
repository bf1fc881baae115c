/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * logdev.c - a log-described device without copying its data (see logdev.h).  The sector
 * map is a u64map from sector to log offset, kept at most half full.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "io_chan.h"
#include "logdev.h"
#include "u64map.h"

/* A discard is a range, not per-sector slots: its length is not bounded by the log's size
 * (it has no payload).  Positions order it against the writes (a log offset grows with the
 * entry index). */
struct discard { uint64_t start, end, pos; };

struct ick_logdev {
	int base_fd;
	const struct ick_log *log; /* the log's bytes, read through its own mapping */
	unsigned ss;
	struct ick_u64map map; /* sector -> log offset of its newest data */
	struct discard *dis;
	size_t ndis, capdis;
	/* the base mapped read-only (NULL: read with pread): a sweep reads the same
	 * metadata thousands of times, a system call each */
	const unsigned char *base_map;
	uint64_t base_size;
};

/* A regular file mapped read-only, or NULL (then reads use pread). */
static const unsigned char *map(int fd, uint64_t *size)
{
	struct stat st;
	void *p;

	*size = 0;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > SIZE_MAX)
		return NULL;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	*size = (uint64_t)st.st_size;
	return p;
}

errcode_t ick_logdev_new(const char *base, const struct ick_log *log, struct ick_logdev **out)
{
	struct ick_logdev *d = calloc(1, sizeof(*d));
	errcode_t err;

	*out = NULL;
	if (!d)
		return ENOMEM;
	d->log = log;
	d->ss = ick_log_sectorsize(log);
	if (ick_u64map_reserve(&d->map, 511)) { /* 1024 slots */
		free(d);
		return ENOMEM;
	}
	if ((d->base_fd = open(base, O_RDONLY)) < 0) {
		err = errno;
		ick_logdev_free(d);
		return err;
	}
	d->base_map = map(d->base_fd, &d->base_size);
	*out = d;
	return 0;
}

void ick_logdev_free(struct ick_logdev *d)
{
	if (!d)
		return;
	if (d->base_map)
		munmap((void *)d->base_map, (size_t)d->base_size);
	if (d->base_fd >= 0)
		close(d->base_fd);
	ick_u64map_free(&d->map);
	free(d->dis);
	free(d);
}

unsigned ick_logdev_sectorsize(const struct ick_logdev *d)
{
	return d->ss;
}

size_t ick_logdev_discards(const struct ick_logdev *d)
{
	return d->ndis;
}

errcode_t ick_logdev_discard(struct ick_logdev *d, uint64_t sector, uint64_t n, uint64_t pos)
{
	if (d->ndis == d->capdis) {
		size_t nc = d->capdis ? d->capdis * 2 : 16;
		struct discard *nd;

		if (nc > SIZE_MAX / sizeof(*nd) || !(nd = realloc(d->dis, nc * sizeof(*nd))))
			return ENOMEM;
		d->dis = nd;
		d->capdis = nc;
	}
	d->dis[d->ndis++] = (struct discard){ sector, sector + n, pos };
	return 0;
}

/* The position of the newest discard covering @s, or 0. */
static uint64_t discarded_at(const struct ick_logdev *d, uint64_t s)
{
	for (size_t i = d->ndis; i-- > 0;)
		if (d->dis[i].start <= s && s < d->dis[i].end)
			return d->dis[i].pos;
	return 0;
}

errcode_t ick_logdev_iterate_discards(const struct ick_logdev *d,
				      errcode_t (*fn)(uint64_t sector, uint64_t n, void *priv),
				      void *priv)
{
	errcode_t err;

	for (size_t i = 0; i < d->ndis; i++)
		if ((err = fn(d->dis[i].start, d->dis[i].end - d->dis[i].start, priv)))
			return err;
	return 0;
}

int ick_logdev_current(const struct ick_logdev *d, uint64_t sector, uint64_t log_off)
{
	return discarded_at(d, sector) < log_off;
}

errcode_t ick_logdev_map(struct ick_logdev *d, uint64_t sector, uint64_t n, uint64_t log_off)
{
	int err;

	/* at most half full, for short probes: room for 3/2 of the sectors at 3/4 load */
	if (n > SIZE_MAX / 8 - d->map.nr || ick_u64map_reserve(&d->map, (d->map.nr + n) * 3 / 2))
		return ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		if ((err = ick_u64map_put(&d->map, sector + i, log_off + i * d->ss)))
			return err;
	return 0;
}

errcode_t ick_logdev_apply(struct ick_logdev *d, const struct ick_log_entry *e)
{
	if ((e->flags & ICK_LOG_MARK) || !e->nr_sectors)
		return 0;
	if (e->flags & ICK_LOG_DISCARD)
		return ick_logdev_discard(d, e->sector, e->nr_sectors, e->data_off);
	return ick_logdev_map(d, e->sector, e->nr_sectors, e->data_off);
}

/* pread that treats the end of the file as zeros */
static errcode_t read_zero(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got;
	errcode_t err = ick_fd_pread(fd, buf, len, off, &got);

	if (!err)
		memset((unsigned char *)buf + got, 0, len - got);
	return err;
}

/* As read_zero, from a mapping. */
static errcode_t from_map(const unsigned char *m, uint64_t size, unsigned char *b, size_t len,
			  uint64_t off)
{
	size_t n = off >= size ? 0 : size - off < len ? (size_t)(size - off) : len;

	memcpy(b, m + off, n);
	memset(b + n, 0, len - n);
	return 0;
}

/* Where sector @s reads from: 0 base, 1 log at *lo, 2 zeros (the newest of a write and
 * a discard wins). */
static int source(const struct ick_logdev *d, uint64_t s, uint64_t *lo)
{
	int found;
	uint64_t off = ick_u64map_get(&d->map, s, &found);
	uint64_t dpos = d->ndis ? discarded_at(d, s) : 0;

	if (found && off > dpos) {
		*lo = off;
		return 1;
	}
	return dpos ? 2 : 0;
}

uint64_t ick_logdev_written_at(const struct ick_logdev *d, uint64_t sector, uint64_t n)
{
	uint64_t oldest = UINT64_MAX, lo;

	for (uint64_t i = 0; i < n; i++) {
		if (source(d, sector + i, &lo) != 1)
			return 0;
		if (lo < oldest)
			oldest = lo;
	}
	return n ? oldest : 0;
}

errcode_t ick_logdev_pread(struct ick_logdev *d, uint64_t off, size_t len, void *buf)
{
	unsigned ss = d->ss;
	unsigned char *b = buf;
	errcode_t err;

	if (off > UINT64_MAX - len)
		return EXT2_ET_INVALID_ARGUMENT;
	while (len) {
		uint64_t s = off / ss, lo = 0, lo2 = 0, in = off % ss;
		int kind = source(d, s, &lo);
		size_t run = ss - in < len ? ss - in : len;

		/* extend over following sectors of the same kind (and contiguous in the log) */
		while (run < len) {
			int k2 = source(d, s + (in + run) / ss, &lo2);
			if (k2 != kind || (kind == 1 && lo2 != lo + (in + run)))
				break;
			run = run + ss < len ? run + ss : len;
		}
		if (kind == 0)
			err = d->base_map ? from_map(d->base_map, d->base_size, b, run, off)
					  : read_zero(d->base_fd, b, run, off);
		else if (kind == 1)
			err = ick_log_pread(d->log, lo + in, b, run);
		else
			err = (memset(b, 0, run), 0);
		if (err)
			return err;
		b += run;
		off += run;
		len -= run;
	}
	return 0;
}

errcode_t ick_logdev_iterate(const struct ick_logdev *d,
			     errcode_t (*fn)(uint64_t sector, uint64_t log_off, void *priv),
			     void *priv)
{
	const struct ick_u64map *m = &d->map;
	errcode_t err;

	for (size_t i = 0; i < m->cap; i++)
		if (m->k[i] != ICK_U64MAP_EMPTY && (err = fn(m->k[i], m->v[i], priv)))
			return err;
	return 0;
}

/* ---- the io_manager (read-only) ---- */

struct ld_chan {
	const struct ick_io_ops *ops; /* first: io_chan.h's shim reads it */
	struct ick_logdev *d;
};

static errcode_t ld_pread(io_channel ch, uint64_t off, size_t len, void *buf)
{
	return ick_logdev_pread(((struct ld_chan *)ch->private_data)->d, off, len, buf);
}

/* read-only: writes belong to the layer above */
static const struct ick_io_ops ld_ops = { .pread = ld_pread, .ro_err = EXT2_ET_UNIMPLEMENTED };
static struct struct_io_manager logdev_manager;

void ick_logdev_io_register(struct ick_io_reg *r, const char *name, struct ick_logdev *d)
{
	*r = (struct ick_io_reg){ .mgr = &logdev_manager, .name = name, .state = d };
	ick_io_register(r);
}

static errcode_t ld_open(const char *name, int flags, io_channel *out)
{
	struct ick_io_reg *reg = ick_io_lookup(&logdev_manager, name);
	struct ld_chan *c;
	errcode_t err;

	*out = NULL;
	if (!reg || !reg->state)
		return EXT2_ET_INVALID_ARGUMENT;
	if (!(c = calloc(1, sizeof(*c))))
		return ENOMEM;
	c->ops = &ld_ops;
	c->d = reg->state;
	if ((err = ick_io_chan_new(name, &logdev_manager, c, out)))
		free(c);
	return err;
}

static errcode_t ld_close(io_channel ch)
{
	void *c = ch->private_data;

	if (ick_io_chan_put(ch))
		free(c);
	return 0;
}

static errcode_t ld_set_blksize(io_channel ch, int blksize)
{
	if (blksize < 512)
		return EXT2_ET_INVALID_ARGUMENT;
	ch->block_size = blksize;
	return 0;
}

static errcode_t ld_flush(io_channel ch)
{
	return 0;
}

static struct struct_io_manager logdev_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "iomapck log-described device I/O manager",
	.open = ld_open,
	.close = ld_close,
	.set_blksize = ld_set_blksize,
	.read_blk = ick_io_read_blk,
	.write_blk = ick_io_write_blk,
	.flush = ld_flush,
	.write_byte = ick_io_write_byte,
	.set_option = ick_io_no_option,
	.read_blk64 = ick_io_read_blk64,
	.write_blk64 = ick_io_write_blk64,
};

io_manager ick_logdev_io_manager = &logdev_manager;
