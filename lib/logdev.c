/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * logdev.c - a log-described device without copying its data (see logdev.h).  The sector
 * map is an open-addressing hash table (linear probing, kept at most half full).
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

struct slot { uint64_t key; uint64_t off; }; /* key = sector + 1; 0 = empty */

/* A discard is a range, not per-sector slots: its length is not bounded by the log's size
 * (it has no payload).  Positions order it against the writes (a log offset grows with the
 * entry index). */
struct discard { uint64_t start, end, pos; };

struct ick_logdev {
	int base_fd;
	const struct ick_log *log; /* the log's bytes, read through its own mapping */
	unsigned ss;
	struct slot *tab;
	size_t cap, nr;        /* cap is a power of two */
	struct discard *dis;
	size_t ndis, capdis;
	/* the base mapped read-only (NULL: read with pread): a sweep reads the same
	 * metadata thousands of times, a system call each */
	const unsigned char *base_map;
	uint64_t base_size;
};

static size_t hash(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

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
	d->cap = 1024;
	if (!(d->tab = calloc(d->cap, sizeof(*d->tab)))) {
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
	free(d->tab);
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

static struct slot *find(const struct ick_logdev *d, uint64_t sector)
{
	size_t i = hash(sector + 1, d->cap);

	while (d->tab[i].key && d->tab[i].key != sector + 1)
		i = (i + 1) & (d->cap - 1);
	return &d->tab[i];
}

static errcode_t grow(struct ick_logdev *d)
{
	struct ick_logdev n = *d;

	if (d->cap > SIZE_MAX / 2 / sizeof(struct slot))
		return ENOMEM;
	n.cap = d->cap * 2;
	if (!(n.tab = calloc(n.cap, sizeof(*n.tab))))
		return ENOMEM;
	for (size_t i = 0; i < d->cap; i++)
		if (d->tab[i].key)
			*find(&n, d->tab[i].key - 1) = d->tab[i];
	free(d->tab);
	d->tab = n.tab;
	d->cap = n.cap;
	return 0;
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
	errcode_t err;

	for (uint64_t i = 0; i < n; i++) {
		struct slot *s;

		if ((d->nr + 1) * 2 > d->cap && (err = grow(d)))
			return err;
		s = find(d, sector + i);
		if (!s->key) {
			s->key = sector + i + 1;
			d->nr++;
		}
		s->off = log_off + i * d->ss;
	}
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
	unsigned char *b = buf;

	while (len) {
		ssize_t n = pread(fd, b, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0) {
			memset(b, 0, len);
			return 0;
		}
		b += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
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
	const struct slot *sl = find(d, s);
	uint64_t dpos = d->ndis ? discarded_at(d, s) : 0;

	if (sl->key && sl->off > dpos) {
		*lo = sl->off;
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
	errcode_t err;

	for (size_t i = 0; i < d->cap; i++)
		if (d->tab[i].key && (err = fn(d->tab[i].key - 1, d->tab[i].off, priv)))
			return err;
	return 0;
}

/* ---- the io_manager (read-only) ---- */

static struct ick_logdev *attached;
static struct struct_io_manager logdev_manager;

void ick_logdev_io_attach(struct ick_logdev *d)
{
	attached = d;
}

static errcode_t ld_open(const char *name, int flags, io_channel *out)
{
	*out = NULL;
	if (!attached)
		return EXT2_ET_INVALID_ARGUMENT;
	return ick_io_chan_new(name, &logdev_manager, attached, out);
}

static errcode_t ld_close(io_channel ch)
{
	(void)ick_io_chan_put(ch);
	return 0;
}

static errcode_t ld_set_blksize(io_channel ch, int blksize)
{
	if (blksize < 512)
		return EXT2_ET_INVALID_ARGUMENT;
	ch->block_size = blksize;
	return 0;
}

static errcode_t ld_read64(io_channel ch, unsigned long long blk, int count, void *buf)
{
	uint64_t off;
	size_t len;
	errcode_t err = ick_io_span(ch, blk, count, &off, &len);

	return err ? err : ick_logdev_pread(ch->private_data, off, len, buf);
}

static errcode_t ld_read(io_channel ch, unsigned long blk, int count, void *buf)
{
	return ld_read64(ch, blk, count, buf);
}

static errcode_t ld_write64(io_channel ch, unsigned long long blk, int count, const void *buf)
{
	return EXT2_ET_UNIMPLEMENTED; /* read-only: writes belong to the layer above */
}

static errcode_t ld_write(io_channel ch, unsigned long blk, int count, const void *buf)
{
	return EXT2_ET_UNIMPLEMENTED;
}

static errcode_t ld_write_byte(io_channel ch, unsigned long off, int count, const void *buf)
{
	return EXT2_ET_UNIMPLEMENTED;
}

static errcode_t ld_flush(io_channel ch)
{
	return 0;
}

static errcode_t ld_set_option(io_channel ch, const char *opt, const char *arg)
{
	return EXT2_ET_INVALID_ARGUMENT;
}

static struct struct_io_manager logdev_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "iomapck log-described device I/O manager",
	.open = ld_open,
	.close = ld_close,
	.set_blksize = ld_set_blksize,
	.read_blk = ld_read,
	.write_blk = ld_write,
	.flush = ld_flush,
	.write_byte = ld_write_byte,
	.set_option = ld_set_option,
	.read_blk64 = ld_read64,
	.write_blk64 = ld_write64,
};

io_manager ick_logdev_io_manager = &logdev_manager;
