/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wp_ops.c - the iomap ops of ext4's buffered write: ext4_iomap_buffered_do_write_begin
 * with ext4_da_map_blocks (da) or ext4_iomap_get_blocks (non-da), and
 * ext4_iomap_buffered_da_write_end; the two ops tables differ only in these.
 */
#include "config.h"
#include <errno.h>
#include "wp.h"

/* ---- the iomap ops ---- */

static void set_map(struct wpi *wi, struct ick_iomap *map, uint64_t lblk, const struct dmap *m,
		   unsigned flags)
{
	unsigned bs = wi->wp->fs->blocksize;

	map->offset = lblk * bs;
	map->length = m->len * bs;
	map->type = m->type;
	map->pblk = m->pblk;
	map->flags = flags;
	map->cookie = wi->es_seq;
}

void wp_range_of(struct wpi *wi, uint64_t pos, uint64_t len, uint64_t *lblk, uint64_t *n)
{
	unsigned bs = wi->wp->fs->blocksize;

	*lblk = pos / bs;
	*n = (pos + len - 1) / bs - *lblk + 1;
}

/* ext4_should_retry_alloc retries an ENOSPC three times after a journal commit; offline
 * a commit frees nothing, so the retries only show in the trace. */
static errcode_t injected_failure(struct wpi *wi, const char *who)
{
	errcode_t err = wi->call->fail;

	if (err == ENOSPC)
		for (int i = 1; i <= 3; i++)
			wp_trace(wi->wp, "%s: ENOSPC, retry %d", who, i);
	return err;
}

/*
 * ext4_iomap_buffered_do_write_begin: map the range as the model sees it, let the mode's
 * get_blocks reserve or allocate a hole, set the iomap with the cookie.  The da and non-da
 * ops differ only in get_blocks (and da's end).
 */
typedef errcode_t (*get_blocks_fn)(struct wpi *wi, uint64_t lblk, uint64_t n, struct dmap *m,
				   unsigned *flags);

static errcode_t do_write_begin(struct wpi *wi, uint64_t pos, uint64_t len,
				get_blocks_fn get_blocks, struct ick_iomap *map)
{
	uint64_t lblk, n;
	unsigned flags = 0;
	struct dmap m;
	errcode_t err;

	wp_range_of(wi, pos, len, &lblk, &n);
	if ((err = wp_model_lookup(wi, lblk, n, &m)) || (err = get_blocks(wi, lblk, n, &m, &flags)))
		return err;
	set_map(wi, map, lblk, &m, flags);
	return 0;
}

/* ext4_da_map_blocks: a hole becomes delalloc, reserved (nothing on disk). */
static errcode_t da_get_blocks(struct wpi *wi, uint64_t lblk, uint64_t n, struct dmap *m,
			       unsigned *flags)
{
	errcode_t err;

	if (m->type != ICK_IOMAP_HOLE)
		return 0;
	if (wi->call->fail)
		return injected_failure(wi, "da reserve");
	if ((err = wp_reserve(wi->wp, wi, m->len)) || (err = wp_da_insert(wi, lblk, m->len)))
		return err;
	wi->es_seq++;
	m->type = ICK_IOMAP_DELALLOC;
	*flags = ICK_IOMAP_F_NEW;
	wp_trace(wi->wp, "reserve: ino %u blocks %llu+%llu", wi->ino, (unsigned long long)lblk,
	      (unsigned long long)m->len);
	return 0;
}

static errcode_t da_begin(void *p, uint64_t pos, uint64_t len, struct ick_iomap *map)
{
	return do_write_begin(p, pos, len, da_get_blocks, map);
}

/* ext4_iomap_buffered_da_write_end: punch what the copy did not reach, where no dirty
 * folio covers it (iomap_write_delalloc_release). */
static errcode_t da_end(void *p, uint64_t pos, uint64_t len, uint64_t written,
			struct ick_iomap *map)
{
	struct wpi *wi = p;
	unsigned bs = wi->wp->fs->blocksize;
	uint64_t start, end, released = 0;
	errcode_t err;

	if (map->type != ICK_IOMAP_DELALLOC || !(map->flags & ICK_IOMAP_F_NEW))
		return 0;
	start = ick_iomap_last_written_block(bs, pos, written);
	end = (pos + len + bs - 1) / bs * bs;
	if (start >= end)
		return 0;
	if (wi->call->bugs & ICK_WP_BUG_NO_PUNCH) {
		wp_trace(wi->wp, "end: delalloc %llu+%llu left in place (no_punch)",
		      (unsigned long long)(start / bs), (unsigned long long)((end - start) / bs));
		return 0;
	}
	for (uint64_t b = start / bs; b < end / bs; b++)
		if (wp_is_delalloc(wi, b) && !wp_fo_dirty(wi, b)) {
			if ((err = wp_da_remove1(wi, b)))
				return err;
			released++;
		}
	if (released) {
		wp_unreserve(wi->wp, wi, released);
		wi->es_seq++;
		wp_trace(wi->wp, "punch: ino %u delalloc %llu+%llu, %llu released", wi->ino,
		      (unsigned long long)(start / bs), (unsigned long long)((end - start) / bs),
		      (unsigned long long)released);
	}
	return 0;
}

/* ext4_iomap_get_blocks: a hole (or delalloc past i_size) is allocated as unwritten
 * extents at once, one commit. */
static errcode_t nonda_get_blocks(struct wpi *wi, uint64_t lblk, uint64_t n, struct dmap *m,
				  unsigned *flags)
{
	unsigned bs = wi->wp->fs->blocksize;
	uint64_t done = 0;
	errcode_t err;

	/* inside i_size a mapped, unwritten or delalloc range is returned as it is; past it
	 * ext4_map_blocks(CREATE_UNWRIT_EXT) returns existing mappings the same way */
	if (m->type != ICK_IOMAP_HOLE && m->type != ICK_IOMAP_DELALLOC)
		return 0;
	if (m->type == ICK_IOMAP_DELALLOC && lblk + n <= (wi->i_size + bs - 1) / bs)
		return 0;
	if (wi->call->fail)
		return wp_fail_alloc(wi, m->len, injected_failure(wi, "alloc"));
	/* ENOSPC part way (ext4_mb_new_blocks gave fewer blocks, the next map none): the
	 * blocks allocated are mapped and written, the write stops short after them */
	err = wp_alloc_range_n(wi, lblk, m->len, &done);
	if (err == ENOSPC && done)
		err = 0;
	else
		done = m->len;
	if (err || (err = wp_commit(wi->wp, wi, "allocate unwritten")) ||
	    (err = wp_disk_lookup(wi, lblk, done, m)))
		return err;
	if (m->type == ICK_IOMAP_HOLE)
		return ICK_ET_INTERNAL;
	*flags = ICK_IOMAP_F_NEW;
	return 0;
}

static errcode_t nonda_begin(void *p, uint64_t pos, uint64_t len, struct ick_iomap *map)
{
	return do_write_begin(p, pos, len, nonda_get_blocks, map);
}

const struct ick_iomap_ops wp_da_ops = { .begin = da_begin, .end = da_end };
const struct ick_iomap_ops wp_nonda_ops = { .begin = nonda_begin };
