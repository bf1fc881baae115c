/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wp.h - the write-path model's private header: its state and the functions its files
 * share (lib/wp_*.c; callers use write_path.h).  Contract:
 *  - struct ick_wp is one mount; struct wpi one inode it has touched (page cache,
 *    delalloc extents, reservation, the validity cookie es_seq); both are owned by
 *    wp_mount.c (ick_wp_open/unmount/crash), inodes are added by wp_get_inode.
 *  - every function returns errcode_t (0 or an errno / ext2 / ICK_ET code) unless it is a
 *    predicate or a count; none of them commits unless its comment says so (wp_commit is
 *    the one commit, wp_passed the one crash-point report).
 *  - wi->call is the write (or writeback) in progress; wp_no_call is the call of a plain
 *    writeback (no bugs, no crash point).
 * The files, by the kernel concept each models: wp_names (names, the trace line), wp_bugs
 * (the bug toggles), wp_commit (commits, quota charge), wp_es (extent status: delalloc
 * extents and reservations), wp_folio (page cache), wp_inode (inodes), wp_alloc (free-
 * space rules, on-disk mapping, allocation and conversion), wp_ops (the iomap ops),
 * wp_writeback, wp_write (the buffered write and its page-cache hooks), wp_create
 * (fallocate, create), wp_check (map, the model's checks), wp_mount (mount, unmount,
 * crash, poison).
 */
#ifndef ICK_WP_H
#define ICK_WP_H
#include <stddef.h>
#include <stdint.h>
#include "array.h"
#include "ick_err.h"
#include "quota_file.h"
#include "write_path.h"

#define MAX_LBLK 0xFFFFFFFEULL /* EXT4_MAX_LOGICAL_BLOCK */

struct folio {
	uint64_t index;
	struct folio *next;          /* on the pool's free list */
	unsigned dirty : 1, uptodate : 1;
	unsigned char data[];
};

/* Folios come from mmap'ed chunks populated at once (one fault per page costs more than
 * the copy itself) and go back to a free list when evicted. */
#define POOL_CHUNK (2u << 20)
struct chunk { struct chunk *next; size_t size; };

struct da_ext { uint64_t lblk, len; };

struct wpi {
	struct ick_wp *wp;
	ext2_ino_t ino;
	struct ext2_inode_large inode;  /* on-disk inode; EXT2_I_SIZE is i_disksize */
	uint64_t i_size;                /* the VFS i_size */
	uint64_t es_seq;                /* i_es_seq: the validity cookie */
	struct da_ext *da;              /* delalloc extents, sorted, disjoint */
	size_t nda, cap_da;
	uint64_t reserved;              /* i_reserved_data_blocks */
	struct folio **fo;              /* sorted by index */
	size_t nfo, cap_fo;
	uint32_t owner[ICK_QUOTA_NTYPES];
	const struct ick_wp_call *call; /* the write in progress */
	int crash_armed, raced;
	struct wpi *next;
};

struct qresv { uint32_t id; uint64_t bytes; };

struct ick_wp {
	ext2_filsys fs;
	struct ick_quota_file *q[ICK_QUOTA_NTYPES];
	struct wpi *inodes;
	uint64_t dirty_clusters;        /* s_dirtyclusters_counter */
	struct qresv *qr[ICK_QUOTA_NTYPES];
	size_t nqr[ICK_QUOTA_NTYPES], cap_qr[ICK_QUOTA_NTYPES];
	unsigned ncpus;
	ick_wp_trace_fn trace;
	void *trace_priv;
	struct folio *free_folios;
	size_t nfree;
	struct chunk *chunks;
	size_t folio_size;
	struct ick_wp_hooks hooks;
	errcode_t hook_err;     /* the first hook failure, returned by the request */
};

/* What the model maps at a block: the on-disk extent tree, else delalloc, else a hole. */
struct dmap { enum ick_iomap_type type; blk64_t pblk; uint64_t len; };

extern const struct ick_wp_call wp_no_call;

/* Room for @need elements in *@arr; non-zero on ENOMEM. */
static inline int wp_grow(void **arr, size_t *cap, size_t need, size_t size)
{
	void *n;

	if (need <= *cap)
		return 0;
	if (!(n = ick_array_grow(*arr, cap, size, 16)))
		return -1;
	*arr = n;
	return 0;
}

/* wp_names.c */
void ICK_PRINTF(2, 3) wp_trace(struct ick_wp *wp, const char *fmt, ...);

/* wp_commit.c: commits and quota */
errcode_t wp_commit(struct ick_wp *wp, struct wpi *wi, const char *what);
void wp_passed(struct wpi *wi, enum ick_wp_crash c);
void wp_charge_ids(struct ick_wp *wp, const uint32_t *owner, int64_t bytes, int64_t inodes);
void wp_charge(struct ick_wp *wp, struct wpi *wi, int64_t bytes, int64_t inodes);
errcode_t wp_qresv_add(struct ick_wp *wp, struct wpi *wi, int64_t bytes);

/* wp_es.c: the extent-status model (delalloc extents, reservations) */
size_t wp_da_find(const struct wpi *wi, uint64_t lblk);
int wp_is_delalloc(const struct wpi *wi, uint64_t lblk);
errcode_t wp_da_insert(struct wpi *wi, uint64_t lblk, uint64_t len);
errcode_t wp_da_remove1(struct wpi *wi, uint64_t lblk);
errcode_t wp_reserve(struct ick_wp *wp, struct wpi *wi, uint64_t n);
void wp_unreserve(struct ick_wp *wp, struct wpi *wi, uint64_t n);

/* wp_folio.c: the page cache */
struct folio *wp_fo_lookup(const struct wpi *wi, uint64_t index);
int wp_fo_dirty(const struct wpi *wi, uint64_t index);
int wp_pool_grow(struct ick_wp *wp, size_t want);
void wp_folio_put(struct ick_wp *wp, struct folio *f);
void wp_evict_clean(struct wpi *wi);
errcode_t wp_fo_create(struct wpi *wi, uint64_t index, struct folio **out);

/* wp_inode.c */
void wp_inode_free(struct wpi *wi);
errcode_t wp_read_inode(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode_large *in);
errcode_t wp_get_inode(struct ick_wp *wp, ext2_ino_t ino, struct wpi **out);

/* wp_alloc.c: free-space rules, on-disk mapping, allocation and conversion */
int wp_has_free(struct ick_wp *wp, struct wpi *wi, uint64_t n);
int wp_nonda_switch(struct ick_wp *wp);
errcode_t wp_disk_lookup(struct wpi *wi, uint64_t lblk, uint64_t max, struct dmap *m);
errcode_t wp_model_lookup(struct wpi *wi, uint64_t lblk, uint64_t max, struct dmap *m);
errcode_t wp_alloc_range_n(struct wpi *wi, uint64_t lblk, uint64_t n, uint64_t *done_out);
errcode_t wp_alloc_range(struct wpi *wi, uint64_t lblk, uint64_t n);
errcode_t wp_convert_range(struct wpi *wi, uint64_t lblk, uint64_t n);
errcode_t wp_fail_alloc(struct wpi *wi, uint64_t n, errcode_t why);

/* wp_ops.c: the iomap ops */
extern const struct ick_iomap_ops wp_da_ops, wp_nonda_ops;
void wp_range_of(struct wpi *wi, uint64_t pos, uint64_t len, uint64_t *lblk, uint64_t *n);

/* wp_writeback.c */
int wp_crash_at(struct wpi *wi, const struct ick_wp_call *call, enum ick_wp_crash c);
errcode_t wp_writeback_inode(struct wpi *wi, const struct ick_wp_call *call);
#endif
