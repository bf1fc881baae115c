/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * logw.c - the dm-log-writes writer (see logw.h): entries appended in the kernel's
 * layout (drivers/md/dm-log-writes.c), the super rewritten when the kernel rewrites it.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "logw.h"

#define HDR ICK_LOG_HDR

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
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

struct ick_logw {
	int fd;
	unsigned ss;
	uint64_t entries, pos;
	unsigned char *sec;
	io_channel inner;   /* the recording channel's unix_io channel, for commits */
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
	errcode_t err;

	if (!lw)
		return 0;
	err = write_super(lw);
	if (close(lw->fd) && !err)
		err = errno;
	free(lw->sec);
	free(lw);
	return err;
}

unsigned ick_logw_sectorsize(const struct ick_logw *lw)
{
	return lw->ss;
}

void ick_logw_bind(struct ick_logw *lw, io_channel dev)
{
	lw->inner = dev;
}

io_channel ick_logw_bound(const struct ick_logw *lw)
{
	return lw->inner;
}
