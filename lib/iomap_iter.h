/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iomap_iter.h - the kernel's iomap iteration (fs/iomap/iter.c, buffered-io.c), offline.
 *
 * A file range is walked one mapping at a time: ops->begin(pos, len) returns the mapping
 * that covers pos (HOLE, DELALLOC, MAPPED or UNWRITTEN, with a validity cookie), the actor
 * works on it and says how many bytes it processed, then ops->end(pos, len, written) may
 * clean up what the actor did not use.  A mapping whose cookie went stale while the actor
 * worked (another extent-status change on the inode) ends early with IOMAP_F_STALE and the
 * range is mapped again from where it stopped — the race iomap_valid exists for.
 *
 * ick_iomap_buffered_write() is iomap_file_buffered_write(): copy a byte source into the
 * inode's folios (block-sized here), reading or zeroing around partial blocks as the
 * mapping requires, checking the cookie before every folio, and accepting a short copy
 * into a folio only if the folio was already uptodate (otherwise it counts as nothing,
 * exactly as __iomap_write_end treats it).  The file system supplies the mapping ops (da
 * or non-da: the only difference between the two paths) and a page cache.
 */
#ifndef ICK_IOMAP_ITER_H
#define ICK_IOMAP_ITER_H
#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"

enum ick_iomap_type { ICK_IOMAP_HOLE, ICK_IOMAP_DELALLOC, ICK_IOMAP_MAPPED, ICK_IOMAP_UNWRITTEN };
#define ICK_IOMAP_F_NEW   0x1 /* begin reserved or allocated this range just now */
#define ICK_IOMAP_F_STALE 0x2 /* the cookie went stale: map again from iter->pos */

struct ick_iomap {
	uint64_t offset, length;  /* bytes, block aligned */
	enum ick_iomap_type type;
	unsigned flags;
	blk64_t pblk;             /* MAPPED/UNWRITTEN: physical block at offset, else 0 */
	uint64_t cookie;          /* the inode's extent-status sequence at begin */
};

const char *ick_iomap_type_name(enum ick_iomap_type t);

struct ick_iomap_ops {
	errcode_t (*begin)(void *inode, uint64_t pos, uint64_t len, struct ick_iomap *map);
	/* may be NULL (the non-da ops have none) */
	errcode_t (*end)(void *inode, uint64_t pos, uint64_t len, uint64_t written,
			 struct ick_iomap *map);
};

struct ick_iomap_iter {
	void *inode;
	uint64_t pos, len;      /* what is left of the range */
	uint64_t processed;     /* set by the actor for the current mapping */
	struct ick_iomap map;
	int started;
};

/*
 * ick_iomap_iter - finish the current mapping (end, advance by processed) and begin the
 * next.  Returns 1 with it->map set, 0 when the range is done or the actor processed
 * nothing (a short write), or sets *err and returns 0.
 */
int ick_iomap_iter(struct ick_iomap_iter *it, const struct ick_iomap_ops *ops, errcode_t *err);

/* The page cache and the hooks the buffered write needs from the file system. */
struct ick_write_ops {
	unsigned blocksize;
	/* iomap_valid: is the mapping's cookie still current? */
	int (*valid)(void *inode, const struct ick_iomap *map);
	/* The folio for block @index, created if absent; a new folio is read from disk
	 * (MAPPED) or zeroed (anything else) when the write covers only [from, to) of it.
	 * *uptodate says whether it was uptodate before this write. */
	errcode_t (*get_folio)(void *inode, uint64_t index, const struct ick_iomap *map,
			       unsigned from, unsigned to, unsigned char **data, int *uptodate);
	/* Bytes [from, to) of the folio now hold new data: dirty it, raise i_size. */
	void (*write_end)(void *inode, uint64_t index, unsigned from, unsigned to);
	/* After each begin (crash points, injected races); non-zero stops the write. */
	errcode_t (*after_begin)(void *inode, const struct ick_iomap *map);
	void (*trace)(void *inode, const char *event, const struct ick_iomap *map,
		      uint64_t pos, uint64_t n);
};

struct ick_write_src {
	/* Fill @dst with the @n bytes destined for file offset @off. */
	void (*fill)(void *priv, uint64_t off, unsigned char *dst, size_t n);
	void *priv;
	uint64_t limit;         /* bytes the source can give before it fails (short copy) */
	uint64_t copied;
};

/*
 * ick_iomap_buffered_write - write [pos, pos+len) from @src.  *written receives the bytes
 * written (less than len on a short copy).  A begin error after some bytes were written
 * ends the write with those bytes and no error, as write(2) does; before any, it is
 * returned.
 */
ICK_MUST_CHECK errcode_t ick_iomap_buffered_write(void *inode, uint64_t pos, uint64_t len,
						  const struct ick_iomap_ops *ops,
						  const struct ick_write_ops *wops,
						  struct ick_write_src *src, uint64_t *written);

/* iomap_last_written_block: the first byte past the blocks a write of @written bytes at
 * @pos dirtied (the start of what a da end may punch). */
uint64_t ick_iomap_last_written_block(unsigned blocksize, uint64_t pos, uint64_t written);

#endif
