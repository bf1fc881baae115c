/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iomap_iter.c - the iomap iterator and the buffered write actor (see iomap_iter.h).
 * The kernel's shape is kept on purpose (iter → begin → actor → end, validity checked per
 * folio) so that a difference between this model and fs/iomap is a difference in one
 * function, not in structure.
 */
#include "config.h"
#include <string.h>
#include "ick_err.h"
#include "iomap_iter.h"

const char *ick_iomap_type_name(enum ick_iomap_type t)
{
	static const char *const n[] = { "HOLE", "DELALLOC", "MAPPED", "UNWRITTEN" };

	return (unsigned)t < sizeof(n) / sizeof(n[0]) ? n[t] : "?";
}

uint64_t ick_iomap_last_written_block(unsigned blocksize, uint64_t pos, uint64_t written)
{
	if (!written)
		return pos / blocksize * blocksize;
	return (pos + written + blocksize - 1) / blocksize * blocksize;
}

/* iomap_length(): the part of the mapping inside what is left of the range. */
static uint64_t map_len(const struct ick_iomap_iter *it)
{
	uint64_t mend = it->map.offset + it->map.length;

	return mend - it->pos < it->len ? mend - it->pos : it->len;
}

int ick_iomap_iter(struct ick_iomap_iter *it, const struct ick_iomap_ops *ops, errcode_t *err)
{
	*err = 0;
	if (it->started) {
		uint64_t done = it->processed;
		int stale = it->map.flags & ICK_IOMAP_F_STALE;

		if (ops->end && (*err = ops->end(it->inode, it->pos, map_len(it), done, &it->map)))
			return 0;
		it->pos += done;
		it->len -= done;
		if (!it->len || (!done && !stale))
			return 0;
	}
	it->started = 1;
	it->processed = 0;
	memset(&it->map, 0, sizeof(it->map));
	if ((*err = ops->begin(it->inode, it->pos, it->len, &it->map)))
		return 0;
	/* a mapping that does not cover pos would loop forever or skip bytes */
	if (it->map.offset > it->pos || it->map.offset + it->map.length <= it->pos) {
		*err = ICK_ET_INTERNAL;
		return 0;
	}
	return 1;
}

/* iomap_write_iter(): copy into the folios of one mapping; returns the bytes written. */
static uint64_t write_iter(struct ick_iomap_iter *it, const struct ick_write_ops *w,
			   struct ick_write_src *src, errcode_t *err)
{
	unsigned bs = w->blocksize;
	uint64_t pos = it->pos, end = it->pos + map_len(it), done = 0;

	while (pos < end) {
		uint64_t index = pos / bs, n, avail = src->limit - src->copied;
		unsigned from = pos % bs, to = end - pos < bs - from ? from + (end - pos) : bs;
		unsigned char *data;
		int uptodate;

		if (!w->valid(it->inode, &it->map)) {
			it->map.flags |= ICK_IOMAP_F_STALE;
			if (w->trace)
				w->trace(it->inode, "stale", &it->map, pos, 0);
			break;
		}
		if ((*err = w->get_folio(it->inode, index, &it->map, from, to, &data, &uptodate)))
			break;
		n = to - from < avail ? to - from : avail;
		/* a short copy into a folio that is not uptodate is thrown away whole: the
		 * part not copied would otherwise be read over the part that was */
		if (n < to - from && !uptodate)
			n = 0;
		if (n) {
			src->fill(src->priv, pos, data + from, n);
			src->copied += n;
			w->write_end(it->inode, index, from, from + n);
		}
		done += n;
		pos += n;
		if (n < (uint64_t)(to - from))
			break;
	}
	return done;
}

errcode_t ick_iomap_buffered_write(void *inode, uint64_t pos, uint64_t len,
				   const struct ick_iomap_ops *ops, const struct ick_write_ops *w,
				   struct ick_write_src *src, uint64_t *written)
{
	struct ick_iomap_iter it = { .inode = inode, .pos = pos, .len = len };
	errcode_t err = 0, aerr = 0;
	uint64_t total = 0;

	while (ick_iomap_iter(&it, ops, &err)) {
		if (w->trace)
			w->trace(inode, "begin", &it.map, it.pos, map_len(&it));
		/* a crash point stops here: no end, nothing more (a power cut) */
		if (w->after_begin && (err = w->after_begin(inode, &it.map)))
			break;
		it.processed = write_iter(&it, w, src, &aerr);
		total += it.processed;
		if (w->trace)
			w->trace(inode, "copied", &it.map, it.pos, it.processed);
		if (aerr) {
			err = aerr;
			break;
		}
	}
	*written = total;
	if (err == ICK_ET_CRASHED || !total)
		return err;
	return 0;
}
