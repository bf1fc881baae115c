/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wp_write.c - the buffered write: ick_iomap_buffered_write with the model's page-cache
 * hooks (the validity cookie, folio lookup and read, write_end, the race and crash points).
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "wp.h"

/* ---- the buffered write's page-cache hooks ---- */

static int wp_valid(void *p, const struct ick_iomap *map)
{
	return map->cookie == ((struct wpi *)p)->es_seq;
}

static errcode_t wp_get_folio(void *p, uint64_t index, const struct ick_iomap *map,
			      unsigned from, unsigned to, unsigned char **data, int *uptodate)
{
	struct wpi *wi = p;
	unsigned bs = wi->wp->fs->blocksize;
	struct folio *f;
	errcode_t err;

	if ((err = wp_fo_create(wi, index, &f)))
		return err;
	*uptodate = f->uptodate;
	*data = f->data;
	if (f->uptodate || (from == 0 && to == bs))
		return 0;
	if (map->type == ICK_IOMAP_MAPPED) {
		blk64_t pblk = map->pblk + (index - map->offset / bs);
		if ((err = io_channel_read_blk64(wi->wp->fs->io, pblk, 1, f->data)))
			return err;
		f->uptodate = 1;
		*uptodate = 1;
	} else {
		memset(f->data, 0, bs);
	}
	return 0;
}

static void wp_write_end(void *p, uint64_t index, unsigned from, unsigned to)
{
	struct wpi *wi = p;
	struct folio *f = wp_fo_lookup(wi, index);
	uint64_t end = index * wi->wp->fs->blocksize + to;

	(void)from;
	if (f) {
		f->uptodate = 1;
		f->dirty = 1;
	}
	if (end > wi->i_size)
		wi->i_size = end;
}


static errcode_t wp_after_begin(void *p, const struct ick_iomap *map)
{
	struct wpi *wi = p;
	const struct ick_wp_call *call = wi->call;
	errcode_t err;

	if (map->flags & ICK_IOMAP_F_NEW)
		wp_passed(wi, map->type == ICK_IOMAP_DELALLOC ? ICK_WP_AFTER_RESERVE : ICK_WP_AFTER_ALLOC);
	if (wi->crash_armed && (map->flags & ICK_IOMAP_F_NEW) &&
	    ((call->crash == ICK_WP_AFTER_RESERVE && map->type == ICK_IOMAP_DELALLOC) ||
	     (call->crash == ICK_WP_AFTER_ALLOC && map->type != ICK_IOMAP_DELALLOC))) {
		wp_trace(wi->wp, "crash: %s", ick_wp_crash_name(call->crash));
		return ICK_ET_CRASHED;
	}
	if (call->race_writeback && !wi->raced) {
		/* a flusher thread between begin and the copy: the cookie must catch it */
		wi->raced = 1;
		wp_trace(wi->wp, "race: writeback between begin and copy");
		if ((err = wp_writeback_inode(wi, &wp_no_call)))
			return err;
		wi->call = call;
	}
	return 0;
}

static void wp_trace_event(void *p, const char *event, const struct ick_iomap *map, uint64_t pos,
		     uint64_t n)
{
	struct wpi *wi = p;

	if (!strcmp(event, "begin"))
		wp_trace(wi->wp, "begin: ino %u pos %llu len %llu -> %s%s %llu+%llu cookie %llu",
		      wi->ino, (unsigned long long)pos, (unsigned long long)n,
		      ick_iomap_type_name(map->type), (map->flags & ICK_IOMAP_F_NEW) ? " new" : "",
		      (unsigned long long)map->offset, (unsigned long long)map->length,
		      (unsigned long long)map->cookie);
	else if (!strcmp(event, "stale"))
		wp_trace(wi->wp, "stale: ino %u pos %llu cookie %llu != %llu, remap", wi->ino,
		      (unsigned long long)pos, (unsigned long long)map->cookie,
		      (unsigned long long)wi->es_seq);
	else
		wp_trace(wi->wp, "%s: ino %u pos %llu bytes %llu", event, wi->ino,
		      (unsigned long long)pos, (unsigned long long)n);
}

/* ---- the write ---- */

static void fill_src(void *priv, uint64_t off, unsigned char *dst, size_t n)
{
	const struct ick_wp_call *call = priv;

	call->fill(call->fill_priv, off, dst, n);
}

errcode_t ick_wp_write(struct ick_wp *wp, ext2_ino_t ino, uint64_t pos, uint64_t len,
		       const struct ick_wp_call *call, uint64_t *written)
{
	unsigned bs = wp->fs->blocksize;
	const struct ick_write_ops wops = {
		.blocksize = bs, .valid = wp_valid, .get_folio = wp_get_folio,
		.write_end = wp_write_end, .after_begin = wp_after_begin, .trace = wp_trace_event,
	};
	struct ick_write_src src = { .fill = fill_src, .priv = (void *)call,
				     .limit = call->short_after };
	const struct ick_iomap_ops *ops;
	struct wpi *wi;
	errcode_t err;
	int da;

	*written = 0;
	if (!len)
		return 0;
	if (pos + len < pos || (pos + len - 1) / bs > MAX_LBLK)
		return EFBIG;
	if ((err = wp_get_inode(wp, ino, &wi)))
		return err;
	/* the folios this write will need, in one chunk (a failure falls back to growing) */
	if ((pos + len - 1) / bs - pos / bs + 1 > wp->nfree)
		(void)wp_pool_grow(wp, (size_t)((pos + len - 1) / bs - pos / bs + 1 - wp->nfree));
	da = call->mode == ICK_WP_DA || (call->mode == ICK_WP_AUTO && !wp_nonda_switch(wp));
	ops = da ? &wp_da_ops : &wp_nonda_ops;
	wp_trace(wp, "write: ino %u pos %llu len %llu, %s ops", ino, (unsigned long long)pos,
	      (unsigned long long)len, da ? "da" : "non-da");
	wi->call = call;
	wi->raced = 0;
	wi->crash_armed = call->crash != ICK_WP_CRASH_NONE;
	err = ick_iomap_buffered_write(wi, pos, len, ops, &wops, &src, written);
	if (!err && wp_crash_at(wi, call, ICK_WP_AFTER_COPY))
		err = ICK_ET_CRASHED;
	if (!err && (call->sync || call->crash >= ICK_WP_AFTER_ALLOC))
		err = wp_writeback_inode(wi, call);
	wi->crash_armed = 0;
	wi->call = NULL;
	if (!err && wp->hook_err)
		err = wp->hook_err;
	wp->hook_err = 0;
	wp_trace(wp, "write: ino %u %llu of %llu bytes written, i_size %llu", ino,
	      (unsigned long long)*written, (unsigned long long)len,
	      (unsigned long long)wi->i_size);
	return err;
}
