/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * overlay.h - a block overlay over an image: a map from file-system block to replacement
 * bytes, and an io_manager that serves reads from the overlay over the image and takes
 * every write into the overlay.  The image itself is opened read-only, always: a view
 * (a recovered journal, a replayed log prefix, the write-path model's changes) can be
 * checked with every libext2fs-based check unchanged, and nothing reaches the file.
 *
 * Memory is one block per distinct overlaid block plus a hash table; callers bound the
 * number of blocks they put (journal recovery: at most the journal's length).
 *
 * The io_manager learns which overlay to use, and through which io_manager to read the
 * image, from a registration for the name it opens (io_chan.h: ick_overlay_io_register
 * before ext2fs_open2(), ick_io_unregister after); each channel keeps its own.  The
 * overlay must outlive the channel; struct ick_image owns it when opened through
 * ick_view_open().
 */
#ifndef ICK_OVERLAY_H
#define ICK_OVERLAY_H

#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"
#include "io_chan.h"

struct ick_overlay;

/* A new, empty overlay of @blocksize-byte blocks (1024..65536, a power of two). */
ICK_MUST_CHECK errcode_t ick_overlay_new(unsigned blocksize, struct ick_overlay **out);
void ick_overlay_free(struct ick_overlay *ov);

unsigned ick_overlay_blocksize(const struct ick_overlay *ov);
uint64_t ick_overlay_count(const struct ick_overlay *ov);

/* Make block @blk read as @data (blocksize bytes, copied); replaces an earlier one. */
ICK_MUST_CHECK errcode_t ick_overlay_put(struct ick_overlay *ov, uint64_t blk, const void *data);
/* The overlaid bytes of @blk, or NULL when @blk reads from the image. */
const unsigned char *ick_overlay_get(const struct ick_overlay *ov, uint64_t blk);
/* Call @fn for every overlaid block, in no particular order; non-zero stops and is returned. */
errcode_t ick_overlay_iterate(const struct ick_overlay *ov,
			      errcode_t (*fn)(uint64_t blk, const unsigned char *data, void *priv),
			      void *priv);

/*
 * Reads of [off, off + len) from @backing with the overlay applied: the bytes come from the
 * image, then every overlaid block intersecting the range is copied over them.
 */
ICK_MUST_CHECK errcode_t ick_overlay_pread(struct ick_overlay *ov, io_channel backing,
					   uint64_t off, size_t len, void *buf);

/* Write [off, off + len) into the overlay (partial blocks are merged with what they read). */
ICK_MUST_CHECK errcode_t ick_overlay_pwrite(struct ick_overlay *ov, io_channel backing,
					    uint64_t off, size_t len, const void *buf);

extern io_manager ick_overlay_io_manager;
/* Register @r: opens of @name through ick_overlay_io_manager read @ov over the image, the
 * image read through @backing (NULL: unix_io), until ick_io_unregister(@r). */
void ick_overlay_io_register(struct ick_io_reg *r, const char *name, struct ick_overlay *ov,
			     io_manager backing);

#endif
