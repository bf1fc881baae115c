/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wp_writeback.c - writeback, per run of dirty folios (the mpage path): allocate
 * delalloc and holes as unwritten (commit), write the data, convert and raise i_disksize
 * (commit), with the crash points between.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "wp.h"

/* ---- writeback ---- */

const struct ick_wp_call wp_no_call = { .mode = ICK_WP_DA, .short_after = UINT64_MAX };

int wp_crash_at(struct wpi *wi, const struct ick_wp_call *call, enum ick_wp_crash c)
{
	wp_passed(wi, c);
	if (!wi->crash_armed || call->crash != c)
		return 0;
	wp_trace(wi->wp, "crash: %s", ick_wp_crash_name(c));
	return 1;
}

/* Allocate whatever in [a, a+n) is not on disk yet (delalloc, or a hole under a dirty
 * folio), one commit. */
static errcode_t wb_alloc(struct wpi *wi, uint64_t a, uint64_t n)
{
	uint64_t b = a, allocated = 0;
	struct dmap m;
	errcode_t err;

	while (b < a + n) {
		if ((err = wp_disk_lookup(wi, b, a + n - b, &m)))
			return err;
		if (m.type == ICK_IOMAP_HOLE) {
			if ((err = wp_alloc_range(wi, b, m.len)))
				return err;
			allocated += m.len;
		}
		b += m.len;
	}
	return allocated ? wp_commit(wi->wp, wi, "writeback allocation") : 0;
}

/* Bytes per data write: large enough that a big writeback is few writes, small enough that
 * its bounce buffer costs few page faults (each costs more than copying the page). */
#define WB_BYTES (64u << 10)

static errcode_t wb_data(struct wpi *wi, uint64_t a, uint64_t n)
{
	ext2_filsys fs = wi->wp->fs;
	unsigned bs = fs->blocksize;
	uint64_t batch = WB_BYTES / bs ? WB_BYTES / bs : 1;
	unsigned char *buf = malloc((size_t)batch * bs);
	uint64_t b = a;
	struct dmap m;
	errcode_t err = buf ? 0 : ENOMEM;

	while (!err && b < a + n) {
		if ((err = wp_disk_lookup(wi, b, a + n - b, &m)))
			break;
		if (m.type == ICK_IOMAP_HOLE) {
			err = ICK_ET_INTERNAL;
			break;
		}
		for (uint64_t i = 0; !err && i < m.len; i += batch) {
			uint64_t k = m.len - i < batch ? m.len - i : batch;

			for (uint64_t j = 0; j < k; j++) {
				struct folio *f = wp_fo_lookup(wi, b + i + j);
				uint64_t start = (b + i + j) * bs;

				if (!f) {
					err = ICK_ET_INTERNAL;
					break;
				}
				/* iomap zeroes the part of the EOF folio past i_size */
				if (start + bs > wi->i_size && wi->i_size > start)
					memset(f->data + (wi->i_size - start), 0,
					       start + bs - wi->i_size);
				memcpy(buf + j * bs, f->data, bs);
				f->dirty = 0;
			}
			if (!err)
				err = io_channel_write_blk64(fs->io, m.pblk + i, (int)k, buf);
		}
		b += m.len;
	}
	free(buf);
	if (!err)
		wp_trace(wi->wp, "data: ino %u blocks %llu+%llu written", wi->ino,
		      (unsigned long long)a, (unsigned long long)n);
	return err;
}

/* I/O end: convert, raise i_disksize to what is written (never past i_size). */
static errcode_t wb_convert(struct wpi *wi, uint64_t a, uint64_t n)
{
	unsigned bs = wi->wp->fs->blocksize;
	uint64_t want = (a + n) * bs < wi->i_size ? (a + n) * bs : wi->i_size;
	errcode_t err;

	if ((err = wp_convert_range(wi, a, n)))
		return err;
	if (want > EXT2_I_SIZE(&wi->inode)) {
		if ((err = ext2fs_inode_size_set(wi->wp->fs, (struct ext2_inode *)&wi->inode, want)))
			return err;
		wp_trace(wi->wp, "i_disksize: ino %u -> %llu", wi->ino, (unsigned long long)want);
	}
	return wp_commit(wi->wp, wi, "I/O end");
}

static errcode_t writeback_run(struct wpi *wi, const struct ick_wp_call *call, uint64_t a,
			       uint64_t n)
{
	errcode_t err;

	if ((err = wb_alloc(wi, a, n)))
		return err;
	if (wp_crash_at(wi, call, ICK_WP_AFTER_ALLOC))
		return ICK_ET_CRASHED;
	if (call->bugs & ICK_WP_BUG_CONVERT_EARLY) {
		if ((err = wb_convert(wi, a, n)))
			return err;
		if (wp_crash_at(wi, call, ICK_WP_AFTER_CONVERT))
			return ICK_ET_CRASHED;
	}
	if ((err = wb_data(wi, a, n)))
		return err;
	if (wp_crash_at(wi, call, ICK_WP_AFTER_DATA))
		return ICK_ET_CRASHED;
	if (!(call->bugs & ICK_WP_BUG_CONVERT_EARLY)) {
		if ((err = wb_convert(wi, a, n)))
			return err;
		if (wp_crash_at(wi, call, ICK_WP_AFTER_CONVERT))
			return ICK_ET_CRASHED;
	}
	return 0;
}

errcode_t wp_writeback_inode(struct wpi *wi, const struct ick_wp_call *call)
{
	size_t i = 0;
	errcode_t err;

	wi->call = call;
	while (i < wi->nfo) {
		uint64_t a;
		size_t j;

		if (!wi->fo[i]->dirty) {
			i++;
			continue;
		}
		a = wi->fo[i]->index;
		for (j = i + 1; j < wi->nfo && wi->fo[j]->dirty &&
				wi->fo[j]->index == wi->fo[j - 1]->index + 1; j++)
			;
		if ((err = writeback_run(wi, call, a, wi->fo[j - 1]->index - a + 1)))
			return err;
		i = j;
	}
	wp_evict_clean(wi);
	return 0;
}

errcode_t ick_wp_writeback(struct ick_wp *wp, ext2_ino_t ino, const struct ick_wp_call *call)
{
	struct wpi *wi;
	errcode_t err;

	if (!call)
		call = &wp_no_call;
	for (wi = wp->inodes; wi; wi = wi->next) {
		if (ino && wi->ino != ino)
			continue;
		wi->crash_armed = call->crash != ICK_WP_CRASH_NONE;
		err = wp_writeback_inode(wi, call);
		wi->crash_armed = 0;
		wi->call = NULL;
		if (err)
			return err;
	}
	return 0;
}
