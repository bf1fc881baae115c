/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * logdiff - a dm-log-writes log that takes a device through a series of images, through
 * iomapck's own writer: for each image after the first, the blocks that differ from the
 * one before as write entries in ascending order, the last of them FUA (a crash point
 * for --check fua), then a mark "state-K".  Tests use it to sweep states made by real
 * tools (mkfs, debugfs) where no kernel or device mapper is at hand.
 *
 *     logdiff OUT BLOCKSIZE IMG0 IMG1 [IMG2...]
 *
 * An argument discard:BLK:N in the series is a DISCARD entry of N blocks from BLK there
 * (the next image is compared with the one before it).
 * Holes read as zeros (SEEK_DATA is used to skip them).  Exit 0, or 1 with one line on
 * stderr.
 */
#define _GNU_SOURCE
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <et/com_err.h>
#include "ick_err.h"
#include "logw.h"

static int readblk(int fd, uint64_t blk, unsigned bs, unsigned char *buf)
{
	ssize_t n = pread(fd, buf, bs, (off_t)(blk * bs));

	if (n < 0)
		return -1;
	memset(buf + n, 0, bs - (size_t)n);
	return 0;
}

/* Mark in @chg the blocks of @scan's data extents where @a and @b differ. */
static int diff_extents(int scan, int a, int b, unsigned bs, uint64_t nblk, unsigned char *chg,
			unsigned char *x, unsigned char *y)
{
	off_t off = 0, end;

	for (;;) {
		off = lseek(scan, off, SEEK_DATA);
		if (off < 0)
			return errno == ENXIO ? 0 : -1;
		if ((end = lseek(scan, off, SEEK_HOLE)) < 0)
			return -1;
		for (uint64_t k = (uint64_t)off / bs; k < nblk && k * bs < (uint64_t)end; k++) {
			if (chg[k / 8] & (1u << (k % 8)))
				continue;
			if (readblk(a, k, bs, x) || readblk(b, k, bs, y))
				return -1;
			if (memcmp(x, y, bs))
				chg[k / 8] |= (unsigned char)(1u << (k % 8));
		}
		off = end;
	}
}

int main(int argc, char **argv)
{
	struct ick_logw *out = NULL;
	unsigned bs;
	unsigned char *x, *y, *run, *chg;
	errcode_t err;

	add_error_table(&et_ick_error_table);
	if (argc < 5 || !(bs = (unsigned)strtoul(argv[2], NULL, 10)) || bs % 512 || bs > 65536) {
		fprintf(stderr, "usage: logdiff OUT BLOCKSIZE IMG0 IMG1 [IMG2...]\n");
		return 1;
	}
	x = malloc(bs);
	y = malloc(bs);
	run = malloc((size_t)bs * 256);
	if (!x || !y || !run || (err = ick_logw_create(argv[1], 512, &out)))
		goto fail_msg;
	for (int i = 4, ref = 3; i < argc; i++) {
		unsigned long long dblk, dn;
		int a, b;

		if (sscanf(argv[i], "discard:%llu:%llu", &dblk, &dn) == 2) {
			if (dn > UINT64_MAX / bs || dblk > UINT64_MAX / bs ||
			    (err = ick_logw_append(out, dblk * (bs / 512), dn * (bs / 512),
						   ICK_LOG_DISCARD, NULL)))
				goto fail;
			continue;
		}
		a = open(argv[ref], O_RDONLY);
		b = open(argv[i], O_RDONLY);
		ref = i;
		struct stat sa, sb;
		uint64_t nblk, k, last = UINT64_MAX;
		char name[32];

		if (a < 0 || b < 0 || fstat(a, &sa) || fstat(b, &sb)) {
			perror(argv[i]);
			goto fail_io;
		}
		nblk = ((uint64_t)(sa.st_size > sb.st_size ? sa.st_size : sb.st_size) + bs - 1) / bs;
		if (!(chg = calloc(nblk / 8 + 1, 1)))
			goto fail_msg;
		if (diff_extents(b, a, b, bs, nblk, chg, x, y) || diff_extents(a, a, b, bs, nblk, chg, x, y)) {
			perror(argv[i]);
			goto fail_io;
		}
		for (k = 0; k < nblk; k++)
			if (chg[k / 8] & (1u << (k % 8)))
				last = k;
		/* runs of changed blocks, at most 256 a write; the one holding the last is FUA */
		for (k = 0; k < nblk;) {
			uint64_t n = 0;
			if (!(chg[k / 8] & (1u << (k % 8)))) {
				k++;
				continue;
			}
			while (k + n < nblk && n < 256 && (chg[(k + n) / 8] & (1u << ((k + n) % 8)))) {
				if (readblk(b, k + n, bs, run + n * bs)) {
					perror(argv[i]);
					goto fail_io;
				}
				n++;
			}
			if ((err = ick_logw_append(out, k * (bs / 512), n * (bs / 512),
						   k + n - 1 == last ? ICK_LOG_FUA : 0, run)))
				goto fail;
			k += n;
		}
		snprintf(name, sizeof(name), "state-%d", i - 3);
		if ((err = ick_logw_mark(out, name)))
			goto fail;
		free(chg);
		close(a);
		close(b);
	}
	err = ick_logw_close(out);
	out = NULL;
	if (err)
		goto fail;
	free(x);
	free(y);
	free(run);
	return 0;
fail_msg:
	err = ENOMEM;
fail:
	com_err("logdiff", err, "%s", argv[1]);
fail_io: /* (a test tool: a failed run's per-image buffers and descriptors go with it) */
	ick_logw_close(out);
	free(x);
	free(y);
	free(run);
	return 1;
}
