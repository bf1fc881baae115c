/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * write_path.h - an offline model of ext4's iomap buffered write path ("ext4: implement
 * buffered write path using iomap", v4 08/23), run against an image opened read-write.
 *
 * The model is one mount: a page cache of block-sized folios per inode, an extent-status
 * model holding the delalloc extents (the written/unwritten ones are read from the on-disk
 * extent tree) with the sequence number that is the iomap validity cookie, the reserved-
 * block counts (per inode, file-system dirty clusters, per-id quota reservations).
 *
 *  - da ops (the default): begin maps on-disk blocks or reserves delalloc (nothing on disk);
 *    end punches the delalloc range a short or failed copy left without a dirty folio and
 *    releases its reservation.
 *  - non-da ops: begin maps on-disk blocks or allocates new ones as unwritten extents at
 *    once (one commit); no end.
 *  - auto: ext4_nonda_switch's rule picks non-da when free clusters are below 150% of the
 *    dirty ones or below dirty + EXT4_FREECLUSTERS_WATERMARK (4 * max(32, 2 * ncpus) *
 *    ncpus, CONFIG_SMP; ncpus = 1 here).
 *  - writeback, per run of dirty folios: allocate delalloc as unwritten (commit), write the
 *    data, convert what was written to written extents and raise the on-disk i_size
 *    (commit).  The data write is a plain write with no flush (data carries no flag).
 *
 * A commit is atomic by construction: the inode, quota files, bitmaps, group descriptors
 * and superblock are written together before anything else happens, and crash points lie
 * only between commits.  The image is what the kernel's journal would leave once replayed
 * (the metadata is written in place; issue 6 records the commits as FUA writes).
 * Quota: every allocation charges the owner's user/group/project usage by the inode's
 * i_blocks delta (data and tree blocks), every release returns it; delalloc reserves quota
 * in memory (as dquot's reserved space) and the reservation is claimed at allocation.
 * The writer is modelled as the file's owner: root (uid 0), s_def_resuid or s_def_resgid
 * may use the root-reserved blocks, others may not (ext4_has_free_clusters).
 */
#ifndef ICK_WRITE_PATH_H
#define ICK_WRITE_PATH_H
#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"
#include "iomap_iter.h"
#include "report.h"

enum ick_wp_mode { ICK_WP_DA, ICK_WP_NONDA, ICK_WP_AUTO };
enum ick_wp_crash {
	ICK_WP_CRASH_NONE, ICK_WP_AFTER_RESERVE, ICK_WP_AFTER_COPY, ICK_WP_AFTER_ALLOC,
	ICK_WP_AFTER_DATA, ICK_WP_AFTER_CONVERT,
};
/* bug toggles: each a real mistake one check must catch */
#define ICK_WP_BUG_WRITTEN_ALLOC 0x01 /* allocate written, not unwritten         -> stale */
#define ICK_WP_BUG_CONVERT_EARLY 0x02 /* convert before the data write          -> stale */
#define ICK_WP_BUG_NO_PUNCH      0x04 /* short da write keeps its delalloc      -> delalloc */
#define ICK_WP_BUG_NO_QUOTA      0x08 /* allocation not charged to quota        -> quota */
#define ICK_WP_BUG_LEAK_ON_FAIL  0x10 /* failed allocation keeps its bitmap bits -> bitmap */

int ick_wp_mode_parse(const char *s, enum ick_wp_mode *out);
int ick_wp_crash_parse(const char *s, enum ick_wp_crash *out);
const char *ick_wp_crash_name(enum ick_wp_crash c);
int ick_wp_bug_parse(const char *s, unsigned *bits); /* ORs the bit in; 0 ok, -1 unknown */
/* The table of bug toggles (wp_bugs.c): the @i-th, NULL past the last.  caught_by is the
 * finding that catches it, as the reports print it ("stale 0x0601"). */
struct ick_wp_bug { const char *name; unsigned bit; const char *caught_by, *desc; };
const struct ick_wp_bug *ick_wp_bug_get(size_t i);

/* The documented content of a write without a source file: the byte at file offset o is
 * ((o % 251) + (o / 4096) + seed) & 0xff. */
unsigned char ick_wp_pattern_byte(uint64_t off, unsigned seed);

struct ick_wp;

typedef void (*ick_wp_trace_fn)(void *priv, const char *line);

struct ick_wp_call {
	enum ick_wp_mode mode;
	uint64_t short_after;    /* bytes the source gives (UINT64_MAX: all) */
	errcode_t fail;          /* begin fails with this (0: no) */
	enum ick_wp_crash crash;
	unsigned bugs;
	int sync;                /* write back and wait for I/O end before returning */
	int race_writeback;      /* write the inode back between the first begin and copy */
	void (*fill)(void *priv, uint64_t off, unsigned char *dst, size_t n);
	void *fill_priv;
};

/*
 * ick_wp_open - mount the model on @fs (opened EXT2_FLAG_RW, bitmaps loaded here).
 * Returns 0, ICK_ET_READ_ONLY, ICK_ET_NEEDS_RECOVERY, ICK_ET_UNSUPPORTED_FEATURE
 * (bigalloc), or a libext2fs code (quota files that cannot be opened for writing).
 * The io channel's cache is turned off so that every commit is on the image when it
 * returns.
 */
ICK_MUST_CHECK errcode_t ick_wp_open(ext2_filsys fs, struct ick_wp **out);
void ick_wp_set_trace(struct ick_wp *wp, ick_wp_trace_fn fn, void *priv);

/* Observers for a recorder (dm-log-writes): @commit after every metadata commit is on the
 * image, @point at every crash-point boundary a write passes, crashing there or not.
 * A non-zero return fails the request. */
struct ick_wp_hooks {
	errcode_t (*commit)(void *priv, const char *what);
	errcode_t (*point)(void *priv, enum ick_wp_crash point, ext2_ino_t ino);
	void *priv;
};
void ick_wp_set_hooks(struct ick_wp *wp, const struct ick_wp_hooks *h);

/* Write: returns 0 (also on a short write: *written says how much), ICK_ET_CRASHED when
 * the call's crash point was reached (call ick_wp_crash next), ICK_ET_WP_FILE (inline
 * data, block-mapped or not a regular file), EFBIG, or the injected/real error. */
ICK_MUST_CHECK errcode_t ick_wp_write(struct ick_wp *wp, ext2_ino_t ino, uint64_t pos,
				      uint64_t len, const struct ick_wp_call *call,
				      uint64_t *written);
/* Write back @ino (0: every inode) as the flusher would; the crash point and bugs of @call
 * (NULL: none) apply. */
ICK_MUST_CHECK errcode_t ick_wp_writeback(struct ick_wp *wp, ext2_ino_t ino,
					  const struct ick_wp_call *call);
/* fallocate(2) without and with KEEP_SIZE: unwritten extents over the holes. */
ICK_MUST_CHECK errcode_t ick_wp_fallocate(struct ick_wp *wp, ext2_ino_t ino, uint64_t pos,
					  uint64_t len, int keep_size);
/* Create a regular file at absolute @path (parent must exist), owned as given. */
ICK_MUST_CHECK errcode_t ick_wp_create(struct ick_wp *wp, const char *path, uint32_t uid,
				       uint32_t gid, uint32_t projid, int set_projid,
				       ext2_ino_t *ino);

struct ick_wp_range {
	uint64_t offset, length;
	enum ick_iomap_type type;
	blk64_t pblk;
	uint64_t cookie;
	uint64_t dirty_blocks;   /* folios in the range that are dirty */
};
/* Call @fn for each range of [pos, pos+len) as the model maps it now. */
ICK_MUST_CHECK errcode_t ick_wp_map(struct ick_wp *wp, ext2_ino_t ino, uint64_t pos,
				    uint64_t len,
				    errcode_t (*fn)(void *priv, const struct ick_wp_range *r),
				    void *priv);
/* In-memory i_size and the es sequence of @ino (0 if the model holds no state for it). */
uint64_t ick_wp_isize(struct ick_wp *wp, ext2_ino_t ino);

/* What the model holds that is not on disk: dirty folios, and delalloc blocks reserved
 * (both 0 for a NULL @wp).  A reader of the image sees none of it. */
void ick_wp_pending(struct ick_wp *wp, uint64_t *dirty_folios, uint64_t *reserved_blocks);

/* The model's own check (delalloc findings 0x05xx) into @rep. */
ICK_MUST_CHECK errcode_t ick_wp_check(struct ick_wp *wp, struct ick_report *rep);

/* Fill every free block with @pat repeated from each block's start (CI's poison). */
ICK_MUST_CHECK errcode_t ick_wp_poison_free(struct ick_wp *wp, const unsigned char *pat,
					    size_t len, uint64_t *blocks);

/* Unmount: write everything back, report what the model still holds (@rep may be NULL),
 * close quota files, free.  The caller then closes the file system normally. */
ICK_MUST_CHECK errcode_t ick_wp_unmount(struct ick_wp *wp, struct ick_report *rep);
/* Power cut: drop the model; nothing more is written.  The caller must then free the file
 * system with ext2fs_free(), not ext2fs_close(), which would write the superblock. */
void ick_wp_crash(struct ick_wp *wp);

#endif
