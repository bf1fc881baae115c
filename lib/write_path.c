/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * write_path.c - ext4's iomap buffered write path, offline (see write_path.h for the model
 * and its rules).  Kernel facts this follows: fs/ext4/inode.c (ext4_da_map_blocks,
 * ext4_iomap_get_blocks, ext4_iomap_buffered_da_write_end, ext4_nonda_switch,
 * ext4_da_reserve_space/release_space, mpage writeback), fs/ext4/balloc.c
 * (ext4_has_free_clusters), fs/ext4/super.c (ext4_calculate_resv_clusters).
 * Allocation uses libext2fs's ext2fs_fallocate (unwritten extents over holes);
 * conversion uses its extent API.
 */
#include "config.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
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

static const struct ick_wp_call no_call = { .mode = ICK_WP_DA, .short_after = UINT64_MAX };

/* Room for @need elements in *@arr; non-zero on ENOMEM. */
static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	void *n;

	if (need <= *cap)
		return 0;
	if (!(n = ick_array_grow(*arr, cap, size, 16)))
		return -1;
	*arr = n;
	return 0;
}

/* ---- names ---- */

static const char *const crash_names[] = { "none", "after_reserve", "after_copy",
					   "after_alloc", "after_data", "after_convert" };
static const struct { const char *name; unsigned bit; } bug_names[] = {
	{ "written_alloc", ICK_WP_BUG_WRITTEN_ALLOC }, { "convert_early", ICK_WP_BUG_CONVERT_EARLY },
	{ "no_punch", ICK_WP_BUG_NO_PUNCH }, { "no_quota", ICK_WP_BUG_NO_QUOTA },
	{ "leak_on_fail", ICK_WP_BUG_LEAK_ON_FAIL },
};

int ick_wp_mode_parse(const char *s, enum ick_wp_mode *out)
{
	if (!strcmp(s, "da"))
		*out = ICK_WP_DA;
	else if (!strcmp(s, "nonda"))
		*out = ICK_WP_NONDA;
	else if (!strcmp(s, "auto"))
		*out = ICK_WP_AUTO;
	else
		return -1;
	return 0;
}

int ick_wp_crash_parse(const char *s, enum ick_wp_crash *out)
{
	for (unsigned i = 1; i < sizeof(crash_names) / sizeof(crash_names[0]); i++)
		if (!strcmp(s, crash_names[i])) {
			*out = i;
			return 0;
		}
	return -1;
}

const char *ick_wp_crash_name(enum ick_wp_crash c)
{
	return (unsigned)c < sizeof(crash_names) / sizeof(crash_names[0]) ? crash_names[c] : "?";
}

int ick_wp_bug_parse(const char *s, unsigned *bits)
{
	for (size_t i = 0; i < sizeof(bug_names) / sizeof(bug_names[0]); i++)
		if (!strcmp(s, bug_names[i].name)) {
			*bits |= bug_names[i].bit;
			return 0;
		}
	return -1;
}

unsigned char ick_wp_pattern_byte(uint64_t off, unsigned seed)
{
	return (unsigned char)((off % 251) + (off / 4096) + seed);
}

static void ICK_PRINTF(2, 3) trace(struct ick_wp *wp, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!wp->trace)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	wp->trace(wp->trace_priv, line);
}

/* ---- commits ---- */

/* One metadata step, atomically: everything it changed reaches the image now. */
static errcode_t commit(struct ick_wp *wp, struct wpi *wi, const char *what)
{
	ext2_filsys fs = wp->fs;
	errcode_t err;

	if (wi && (err = ext2fs_write_inode_full(fs, wi->ino, (struct ext2_inode *)&wi->inode,
						 sizeof(wi->inode))))
		return err;
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		if ((err = ick_quota_flush(wp->q[t])))
			return err;
	ext2fs_mark_super_dirty(fs);
	if ((err = ext2fs_flush2(fs, EXT2_FLAG_FLUSH_NO_SYNC)))
		return err;
	trace(wp, "commit: %s", what);
	return wp->hooks.commit ? wp->hooks.commit(wp->hooks.priv, what) : 0;
}

/* A crash-point boundary: tell the observer (a failure is kept for the request). */
static void passed(struct wpi *wi, enum ick_wp_crash c)
{
	struct ick_wp *wp = wi->wp;
	errcode_t err;

	if (wp->hooks.point && (err = wp->hooks.point(wp->hooks.priv, c, wi->ino)) &&
	    !wp->hook_err)
		wp->hook_err = err;
}

/* ---- quota ---- */

/* Charge (or return) usage to the user, group and project in @owner. */
static void charge_ids(struct ick_wp *wp, const uint32_t *owner, int64_t bytes, int64_t inodes)
{
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++) {
		/* a malformed quota file keeps its old usage: the quota check reports it */
		errcode_t e = wp->q[t] ? ick_quota_add_usage(wp->q[t], owner[t], bytes, inodes) : 0;
		(void)e;
	}
}

static void charge(struct ick_wp *wp, struct wpi *wi, int64_t bytes, int64_t inodes)
{
	if (wi->call && (wi->call->bugs & ICK_WP_BUG_NO_QUOTA) && bytes > 0)
		return;
	charge_ids(wp, wi->owner, bytes, inodes);
}

static struct qresv *qresv_get(struct ick_wp *wp, int t, uint32_t id)
{
	for (size_t i = 0; i < wp->nqr[t]; i++)
		if (wp->qr[t][i].id == id)
			return &wp->qr[t][i];
	if (grow((void **)&wp->qr[t], &wp->cap_qr[t], wp->nqr[t] + 1,
			   sizeof(struct qresv)))
		return NULL;
	wp->qr[t][wp->nqr[t]] = (struct qresv){ .id = id };
	return &wp->qr[t][wp->nqr[t]++];
}

static errcode_t qresv_add(struct ick_wp *wp, struct wpi *wi, int64_t bytes)
{
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++) {
		struct qresv *r;

		if (!wp->q[t])
			continue;
		if (!(r = qresv_get(wp, t, wi->owner[t])))
			return ENOMEM;
		r->bytes += bytes;
	}
	return 0;
}

/* ---- the free-space rules ---- */

static uint64_t resv_clusters(ext2_filsys fs)
{
	uint64_t r = ext2fs_blocks_count(fs->super) / 50;

	if (!ext2fs_has_feature_extents(fs->super))
		return 0;
	return r < 4096 ? r : 4096;
}

static int privileged(ext2_filsys fs, const struct wpi *wi)
{
	return wi->owner[ICK_QUOTA_USER] == 0 ||
	       wi->owner[ICK_QUOTA_USER] == fs->super->s_def_resuid ||
	       (fs->super->s_def_resgid && wi->owner[ICK_QUOTA_GROUP] == fs->super->s_def_resgid);
}

/* ext4_has_free_clusters */
static int has_free(struct ick_wp *wp, struct wpi *wi, uint64_t n)
{
	ext2_filsys fs = wp->fs;
	uint64_t free = ext2fs_free_blocks_count(fs->super), dirty = wp->dirty_clusters;
	uint64_t rc = resv_clusters(fs), rsv = ext2fs_r_blocks_count(fs->super) + rc;

	if (free >= rsv + n + dirty)
		return 1;
	return privileged(fs, wi) && free >= n + dirty + rc;
}

/* ext4_nonda_switch */
static int nonda_switch(struct ick_wp *wp)
{
	uint64_t free = ext2fs_free_blocks_count(wp->fs->super), dirty = wp->dirty_clusters;
	uint64_t batch = 2 * wp->ncpus > 32 ? 2 * wp->ncpus : 32;
	uint64_t watermark = 4 * batch * wp->ncpus;

	return 2 * free < 3 * dirty || free < dirty + watermark;
}

/* ---- the extent-status model: delalloc extents ---- */

/* Index of the first delalloc extent ending after @lblk. */
static size_t da_find(const struct wpi *wi, uint64_t lblk)
{
	size_t lo = 0, hi = wi->nda;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (wi->da[mid].lblk + wi->da[mid].len <= lblk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int is_delalloc(const struct wpi *wi, uint64_t lblk)
{
	size_t i = da_find(wi, lblk);

	return i < wi->nda && wi->da[i].lblk <= lblk;
}

static errcode_t da_insert(struct wpi *wi, uint64_t lblk, uint64_t len)
{
	size_t i = da_find(wi, lblk);

	if (i > 0 && wi->da[i - 1].lblk + wi->da[i - 1].len == lblk) {
		wi->da[i - 1].len += len;
		if (i < wi->nda && wi->da[i].lblk == lblk + len) {
			wi->da[i - 1].len += wi->da[i].len;
			memmove(&wi->da[i], &wi->da[i + 1], (wi->nda - i - 1) * sizeof(*wi->da));
			wi->nda--;
		}
		return 0;
	}
	if (i < wi->nda && wi->da[i].lblk == lblk + len) {
		wi->da[i].lblk = lblk;
		wi->da[i].len += len;
		return 0;
	}
	if (grow((void **)&wi->da, &wi->cap_da, wi->nda + 1, sizeof(*wi->da)))
		return ENOMEM;
	memmove(&wi->da[i + 1], &wi->da[i], (wi->nda - i) * sizeof(*wi->da));
	wi->da[i] = (struct da_ext){ lblk, len };
	wi->nda++;
	return 0;
}

/* Remove block @lblk from the delalloc extents (it must be one). */
static errcode_t da_remove1(struct wpi *wi, uint64_t lblk)
{
	size_t i = da_find(wi, lblk);
	struct da_ext *e = &wi->da[i];
	uint64_t end = e->lblk + e->len;

	if (e->lblk == lblk) {
		e->lblk++;
		e->len--;
	} else if (end == lblk + 1) {
		e->len--;
	} else {
		if (grow((void **)&wi->da, &wi->cap_da, wi->nda + 1, sizeof(*wi->da)))
			return ENOMEM;
		e = &wi->da[i];
		memmove(&wi->da[i + 2], &wi->da[i + 1], (wi->nda - i - 1) * sizeof(*wi->da));
		e->len = lblk - e->lblk;
		wi->da[i + 1] = (struct da_ext){ lblk + 1, end - lblk - 1 };
		wi->nda++;
		return 0;
	}
	if (!e->len) {
		memmove(&wi->da[i], &wi->da[i + 1], (wi->nda - i - 1) * sizeof(*wi->da));
		wi->nda--;
	}
	return 0;
}

/* ext4_da_reserve_space for @n clusters */
static errcode_t reserve(struct ick_wp *wp, struct wpi *wi, uint64_t n)
{
	errcode_t err;

	if (!has_free(wp, wi, n))
		return ENOSPC;
	if ((err = qresv_add(wp, wi, (int64_t)(n * wp->fs->blocksize))))
		return err;
	wp->dirty_clusters += n;
	wi->reserved += n;
	return 0;
}

/* ext4_da_release_space (punch) and ext4_da_update_reserve_space (claim at allocation):
 * the same counters go down; a claim's usage is charged separately, by i_blocks. */
static void unreserve(struct ick_wp *wp, struct wpi *wi, uint64_t n)
{
	wp->dirty_clusters -= n <= wp->dirty_clusters ? n : wp->dirty_clusters;
	wi->reserved -= n <= wi->reserved ? n : wi->reserved;
	(void)qresv_add(wp, wi, -(int64_t)(n * wp->fs->blocksize));
}

/* ---- the page cache ---- */

static size_t fo_find(const struct wpi *wi, uint64_t index)
{
	size_t lo = 0, hi = wi->nfo;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (wi->fo[mid]->index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct folio *fo_lookup(const struct wpi *wi, uint64_t index)
{
	size_t i = fo_find(wi, index);

	return i < wi->nfo && wi->fo[i]->index == index ? wi->fo[i] : NULL;
}

static int fo_dirty(const struct wpi *wi, uint64_t index)
{
	const struct folio *f = fo_lookup(wi, index);

	return f && f->dirty;
}

/* Chunks double from 64 KiB to POOL_CHUNK: a small write pays for little memory. */
#define POOL_RESERVE_MAX (256u << 20)
/* @want > 0: one chunk of about @want folios (a write reserves what it will need, so a
 * small write populates no more than it uses); 0: the doubling rule. */
static int pool_grow(struct ick_wp *wp, size_t want)
{
	size_t size = wp->chunks ? wp->chunks->size * 2 : (64u << 10), fs = wp->folio_size, n;
	struct chunk *c;
	unsigned char *p;

	if (size > POOL_CHUNK)
		size = POOL_CHUNK;
	if (want)
		size = want < (POOL_RESERVE_MAX - sizeof(struct chunk)) / fs
			       ? sizeof(struct chunk) + want * fs : POOL_RESERVE_MAX;
	if (size < sizeof(struct chunk) + fs)
		size = sizeof(struct chunk) + fs;
	n = (size - sizeof(struct chunk)) / fs;
	c = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		 -1, 0);
	if (c == MAP_FAILED)
		return -1;
	c->size = size;
	c->next = wp->chunks;
	wp->chunks = c;
	p = (unsigned char *)(c + 1);
	for (size_t i = 0; i < n; i++) {
		struct folio *f = (struct folio *)(p + i * fs);
		f->next = wp->free_folios;
		wp->free_folios = f;
	}
	wp->nfree += n;
	return 0;
}

static struct folio *folio_get(struct ick_wp *wp)
{
	struct folio *f;

	if (!wp->free_folios && pool_grow(wp, 0))
		return NULL;
	f = wp->free_folios;
	wp->free_folios = f->next;
	wp->nfree--;
	f->next = NULL;
	f->dirty = f->uptodate = 0;
	return f;
}

static void folio_put(struct ick_wp *wp, struct folio *f)
{
	f->next = wp->free_folios;
	wp->free_folios = f;
	wp->nfree++;
}

/* After writeback the clean folios are evicted, as memory pressure would: memory stays
 * bounded by what is dirty, and a later partial write reads the block again. */
static void evict_clean(struct wpi *wi)
{
	size_t j = 0;

	for (size_t i = 0; i < wi->nfo; i++) {
		if (wi->fo[i]->dirty)
			wi->fo[j++] = wi->fo[i];
		else
			folio_put(wi->wp, wi->fo[i]);
	}
	wi->nfo = j;
}

static errcode_t fo_create(struct wpi *wi, uint64_t index, struct folio **out)
{
	size_t i = fo_find(wi, index);
	struct folio *f;

	if (i < wi->nfo && wi->fo[i]->index == index) {
		*out = wi->fo[i];
		return 0;
	}
	if (grow((void **)&wi->fo, &wi->cap_fo, wi->nfo + 1, sizeof(*wi->fo)))
		return ENOMEM;
	if (!(f = folio_get(wi->wp)))
		return ENOMEM;
	f->index = index;
	memmove(&wi->fo[i + 1], &wi->fo[i], (wi->nfo - i) * sizeof(*wi->fo));
	wi->fo[i] = f;
	wi->nfo++;
	*out = f;
	return 0;
}

/* ---- inodes ---- */

static void wpi_free(struct wpi *wi)
{
	for (size_t i = 0; i < wi->nfo; i++)
		folio_put(wi->wp, wi->fo[i]);
	free(wi->fo);
	free(wi->da);
	free(wi);
}

static errcode_t read_inode(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode_large *in)
{
	memset(in, 0, sizeof(*in));
	return ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)in, sizeof(*in));
}

static errcode_t get_inode(struct ick_wp *wp, ext2_ino_t ino, struct wpi **out)
{
	struct wpi *wi;
	errcode_t err;

	for (wi = wp->inodes; wi; wi = wi->next)
		if (wi->ino == ino) {
			*out = wi;
			return 0;
		}
	if (ino < EXT2_FIRST_INODE(wp->fs->super) || ino > wp->fs->super->s_inodes_count)
		return EXT2_ET_BAD_INODE_NUM;
	if (!(wi = calloc(1, sizeof(*wi))))
		return ENOMEM;
	wi->wp = wp;
	wi->ino = ino;
	if ((err = read_inode(wp->fs, ino, &wi->inode))) {
		free(wi);
		return err;
	}
	/* the kernel path refuses these (ERANGE / EINVAL in do_write_begin) */
	if (!LINUX_S_ISREG(wi->inode.i_mode) || (wi->inode.i_flags & EXT4_INLINE_DATA_FL) ||
	    !(wi->inode.i_flags & EXT4_EXTENTS_FL)) {
		free(wi);
		return ICK_ET_WP_FILE;
	}
	wi->i_size = EXT2_I_SIZE(&wi->inode);
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		wi->owner[t] = ick_quota_owner(wp->fs, &wi->inode, t);
	wi->next = wp->inodes;
	wp->inodes = wi;
	*out = wi;
	return 0;
}

/* ---- on-disk mapping ---- */

struct dmap { enum ick_iomap_type type; blk64_t pblk; uint64_t len; };

/* What the extent tree maps at @lblk, for at most @max blocks (HOLE up to the next
 * extent). */
static errcode_t disk_lookup(struct wpi *wi, uint64_t lblk, uint64_t max, struct dmap *m)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent e;
	errcode_t err;

	m->type = ICK_IOMAP_HOLE;
	m->pblk = 0;
	m->len = max;
	if ((err = ext2fs_extent_open2(wi->wp->fs, wi->ino, (struct ext2_inode *)&wi->inode, &h)))
		return err;
	err = ext2fs_extent_goto2(h, 0, lblk);
	if (!err && !(err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &e)) &&
	    e.e_lblk <= lblk && lblk < e.e_lblk + e.e_len) {
		m->type = (e.e_flags & EXT2_EXTENT_FLAGS_UNINIT) ? ICK_IOMAP_UNWRITTEN
								  : ICK_IOMAP_MAPPED;
		m->pblk = e.e_pblk + (lblk - e.e_lblk);
		if (e.e_lblk + e.e_len - lblk < max)
			m->len = e.e_lblk + e.e_len - lblk;
		goto out;
	}
	/* a hole: it ends where the next leaf extent starts */
	err = 0;
	if (ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &e))
		goto out;
	for (int i = 0; i < 4 && e.e_lblk <= lblk; i++)
		if (ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &e))
			goto out;
	if (e.e_lblk > lblk && e.e_lblk - lblk < max)
		m->len = e.e_lblk - lblk;
out:
	ext2fs_extent_free(h);
	return err == EXT2_ET_EXTENT_NOT_FOUND ? 0 : err;
}

/* The model's view of @lblk: on disk, else delalloc, else a hole (clipped at the next
 * delalloc extent). */
static errcode_t model_lookup(struct wpi *wi, uint64_t lblk, uint64_t max, struct dmap *m)
{
	errcode_t err = disk_lookup(wi, lblk, max, m);
	size_t i;

	if (err || m->type != ICK_IOMAP_HOLE)
		return err;
	i = da_find(wi, lblk);
	if (i < wi->nda && wi->da[i].lblk <= lblk) {
		uint64_t left = wi->da[i].lblk + wi->da[i].len - lblk;
		m->type = ICK_IOMAP_DELALLOC;
		if (left < m->len)
			m->len = left;
	} else if (i < wi->nda && wi->da[i].lblk - lblk < m->len) {
		m->len = wi->da[i].lblk - lblk;
	}
	return 0;
}

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

/* ---- allocation and conversion ---- */

/* Map the free physical run [pblk, pblk+len) at @lblk (a hole): libext2fs maps the first
 * block of each piece (merging, splitting and growing the tree as needed), then the extent
 * that now ends there is lengthened over the rest, up to the extent length limit. */
static errcode_t map_run(struct wpi *wi, ext2_extent_handle_t h, uint64_t lblk, blk64_t pblk,
			 uint64_t len, int uninit)
{
	ext2_filsys fs = wi->wp->fs;
	uint64_t max = uninit ? EXT_UNINIT_MAX_LEN : EXT_INIT_MAX_LEN, i = 0;
	struct ext2fs_extent e;
	errcode_t err = 0;

	ext2fs_block_alloc_stats_range(fs, pblk, len, +1);
	while (i < len) {
		uint64_t more;

		if ((err = ext2fs_extent_set_bmap(h, lblk + i, pblk + i,
						  uninit ? EXT2_EXTENT_SET_BMAP_UNINIT : 0)) ||
		    (err = ext2fs_extent_goto(h, lblk + i)) ||
		    (err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &e)))
			break;
		more = len - i - 1;
		if (e.e_lblk + e.e_len != lblk + i + 1 ||
		    e.e_pblk + (lblk + i - e.e_lblk) != pblk + i)
			more = 0; /* not the extent we expected: go block by block */
		if (more > max - e.e_len)
			more = max - e.e_len;
		if (more) {
			e.e_len += (uint32_t)more;
			if ((err = ext2fs_extent_replace(h, 0, &e)) ||
			    (err = ext2fs_extent_fix_parents(h)))
				break;
		}
		i += 1 + more;
	}
	if (err) /* what is not mapped goes back */
		ext2fs_block_alloc_stats_range(fs, pblk + i, len - i, -1);
	return ext2fs_iblk_add_blocks(fs, (struct ext2_inode *)&wi->inode, i) ? EOVERFLOW : err;
}

/* ext4_mb_new_blocks: a request not reserved by delalloc is halved until
 * ext4_claim_free_clusters (ext4_has_free_clusters) lets it through; 0: ENOSPC */
static uint64_t claimable(struct wpi *wi, uint64_t lblk, uint64_t n)
{
	if (is_delalloc(wi, lblk))
		return n;	/* EXT4_MB_DELALLOC_RESERVED: claimed at reservation */
	while (n && !has_free(wi->wp, wi, n))
		n >>= 1;
	return n;
}

/*
 * Allocate the hole [lblk, lblk+n) as unwritten extents (written with the written_alloc
 * bug) near the inode's goal, and charge the quota by the inode's i_blocks growth (data
 * and tree blocks).  Delalloc blocks in the range have their reservation claimed; other
 * blocks only as far as the free-space rules allow (claimable; ENOSPC beyond, with the
 * blocks before it allocated, *@done of them).  The caller commits.  (ext2fs_fallocate is
 * not used: given a range short of the next extent it also fills the gap up to that
 * extent.)
 */
static errcode_t alloc_range_n(struct wpi *wi, uint64_t lblk, uint64_t n, uint64_t *done_out)
{
	struct ick_wp *wp = wi->wp;
	ext2_filsys fs = wp->fs;
	unsigned bugs = wi->call ? wi->call->bugs : 0;
	uint64_t before = ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)&wi->inode), after;
	uint64_t claimed = 0, done = 0;
	ext2_extent_handle_t h;
	errcode_t err;

	if ((err = ext2fs_extent_open2(fs, wi->ino, (struct ext2_inode *)&wi->inode, &h)))
		return err;
	while (done < n) {
		blk64_t goal = ext2fs_find_inode_goal(fs, wi->ino, (struct ext2_inode *)&wi->inode,
						      lblk + done);
		blk64_t pblk, plen;
		uint64_t want = claimable(wi, lblk + done, n - done);

		if (!want) {
			err = ENOSPC;
			break;
		}
		if ((err = ext2fs_new_range(fs, 0, goal, want, NULL, &pblk, &plen)) &&
		    (err = ext2fs_new_range(fs, 0, fs->super->s_first_data_block, want, NULL,
					    &pblk, &plen)))
			break;
		if (plen > want)
			plen = want;
		if ((err = map_run(wi, h, lblk + done, pblk, plen,
				   !(bugs & ICK_WP_BUG_WRITTEN_ALLOC))))
			break;
		done += plen;
	}
	ext2fs_extent_free(h);
	after = ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)&wi->inode);
	if (after > before)
		charge(wp, wi, (int64_t)((after - before) * 512), 0);
	if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
		err = ENOSPC;
	for (uint64_t b = lblk; b < lblk + done; b++)
		if (is_delalloc(wi, b)) {
			errcode_t e = da_remove1(wi, b);
			if (e && !err)
				err = e;
			claimed++;
		}
	unreserve(wp, wi, claimed);
	if (done)
		wi->es_seq++;
	trace(wp, "alloc: ino %u blocks %llu+%llu %s%s", wi->ino, (unsigned long long)lblk,
	      (unsigned long long)done, (bugs & ICK_WP_BUG_WRITTEN_ALLOC) ? "written" : "unwritten",
	      claimed ? " (delalloc claimed)" : "");
	if (done_out)
		*done_out = done;
	return err;
}

static errcode_t alloc_range(struct wpi *wi, uint64_t lblk, uint64_t n)
{
	return alloc_range_n(wi, lblk, n, NULL);
}

/* Convert the unwritten blocks of [lblk, lblk+n) to written. */
static errcode_t convert_range(struct wpi *wi, uint64_t lblk, uint64_t n)
{
	struct ick_wp *wp = wi->wp;
	ext2_filsys fs = wp->fs;
	uint64_t before = ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)&wi->inode), after;
	ext2_extent_handle_t h;
	struct ext2fs_extent e;
	uint64_t b = lblk, end = lblk + n, converted = 0;
	errcode_t err;

	if ((err = ext2fs_extent_open2(fs, wi->ino, (struct ext2_inode *)&wi->inode, &h)))
		return err;
	while (b < end) {
		if ((err = ext2fs_extent_goto2(h, 0, b)) == EXT2_ET_EXTENT_NOT_FOUND) {
			b++;
			continue;
		}
		if (err || (err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &e)))
			break;
		if (b < e.e_lblk || b >= e.e_lblk + e.e_len) {
			b++;
			continue;
		}
		if (!(e.e_flags & EXT2_EXTENT_FLAGS_UNINIT)) {
			b = e.e_lblk + e.e_len;
			continue;
		}
		if (e.e_lblk == b && e.e_lblk + e.e_len <= end) {
			/* the whole extent: one replace */
			e.e_flags &= ~EXT2_EXTENT_FLAGS_UNINIT;
			if ((err = ext2fs_extent_replace(h, 0, &e)) ||
			    (err = ext2fs_extent_fix_parents(h)))
				break;
			converted += e.e_len;
			b = e.e_lblk + e.e_len;
			continue;
		}
		/* a partial extent: block by block, libext2fs splits and merges */
		if ((err = ext2fs_extent_set_bmap(h, b, e.e_pblk + (b - e.e_lblk), 0)))
			break;
		converted++;
		b++;
	}
	ext2fs_extent_free(h);
	after = ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)&wi->inode);
	if (after != before) /* a split may have grown the tree */
		charge(wp, wi, ((int64_t)after - (int64_t)before) * 512, 0);
	if (converted) {
		wi->es_seq++;
		trace(wp, "convert: ino %u blocks %llu+%llu, %llu converted", wi->ino,
		      (unsigned long long)lblk, (unsigned long long)n, (unsigned long long)converted);
	}
	return err;
}

/* The failure path of an allocation that got its blocks but could not map them: the
 * blocks go back (unless the leak_on_fail bug keeps their bitmap bits). */
static errcode_t fail_alloc(struct wpi *wi, uint64_t n, errcode_t why)
{
	ext2_filsys fs = wi->wp->fs;
	blk64_t goal = ext2fs_find_inode_goal(fs, wi->ino, (struct ext2_inode *)&wi->inode, 0);
	blk64_t pblk, plen;
	errcode_t err;

	if (n > 64)
		n = 64;
	err = ext2fs_new_range(fs, 0, goal, n, NULL, &pblk, &plen);
	if (err)
		return why;
	ext2fs_block_alloc_stats_range(fs, pblk, plen, +1);
	if (wi->call->bugs & ICK_WP_BUG_LEAK_ON_FAIL) {
		trace(wi->wp, "fail: %llu blocks at %llu kept in the bitmap (leak_on_fail)",
		      (unsigned long long)plen, (unsigned long long)pblk);
		if ((err = commit(wi->wp, NULL, "failed allocation")))
			return err;
	} else {
		ext2fs_block_alloc_stats_range(fs, pblk, plen, -1);
		trace(wi->wp, "fail: %llu blocks at %llu returned", (unsigned long long)plen,
		      (unsigned long long)pblk);
	}
	return why;
}

/* ---- the iomap ops ---- */

static void range_of(struct wpi *wi, uint64_t pos, uint64_t len, uint64_t *lblk, uint64_t *n)
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
			trace(wi->wp, "%s: ENOSPC, retry %d", who, i);
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

	range_of(wi, pos, len, &lblk, &n);
	if ((err = model_lookup(wi, lblk, n, &m)) || (err = get_blocks(wi, lblk, n, &m, &flags)))
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
	if ((err = reserve(wi->wp, wi, m->len)) || (err = da_insert(wi, lblk, m->len)))
		return err;
	wi->es_seq++;
	m->type = ICK_IOMAP_DELALLOC;
	*flags = ICK_IOMAP_F_NEW;
	trace(wi->wp, "reserve: ino %u blocks %llu+%llu", wi->ino, (unsigned long long)lblk,
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
		trace(wi->wp, "end: delalloc %llu+%llu left in place (no_punch)",
		      (unsigned long long)(start / bs), (unsigned long long)((end - start) / bs));
		return 0;
	}
	for (uint64_t b = start / bs; b < end / bs; b++)
		if (is_delalloc(wi, b) && !fo_dirty(wi, b)) {
			if ((err = da_remove1(wi, b)))
				return err;
			released++;
		}
	if (released) {
		unreserve(wi->wp, wi, released);
		wi->es_seq++;
		trace(wi->wp, "punch: ino %u delalloc %llu+%llu, %llu released", wi->ino,
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
		return fail_alloc(wi, m->len, injected_failure(wi, "alloc"));
	/* ENOSPC part way (ext4_mb_new_blocks gave fewer blocks, the next map none): the
	 * blocks allocated are mapped and written, the write stops short after them */
	err = alloc_range_n(wi, lblk, m->len, &done);
	if (err == ENOSPC && done)
		err = 0;
	else
		done = m->len;
	if (err || (err = commit(wi->wp, wi, "allocate unwritten")) ||
	    (err = disk_lookup(wi, lblk, done, m)))
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

static const struct ick_iomap_ops da_ops = { .begin = da_begin, .end = da_end };
static const struct ick_iomap_ops nonda_ops = { .begin = nonda_begin };

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

	if ((err = fo_create(wi, index, &f)))
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
	struct folio *f = fo_lookup(wi, index);
	uint64_t end = index * wi->wp->fs->blocksize + to;

	(void)from;
	if (f) {
		f->uptodate = 1;
		f->dirty = 1;
	}
	if (end > wi->i_size)
		wi->i_size = end;
}

static errcode_t writeback_inode(struct wpi *wi, const struct ick_wp_call *call);

static errcode_t wp_after_begin(void *p, const struct ick_iomap *map)
{
	struct wpi *wi = p;
	const struct ick_wp_call *call = wi->call;
	errcode_t err;

	if (map->flags & ICK_IOMAP_F_NEW)
		passed(wi, map->type == ICK_IOMAP_DELALLOC ? ICK_WP_AFTER_RESERVE : ICK_WP_AFTER_ALLOC);
	if (wi->crash_armed && (map->flags & ICK_IOMAP_F_NEW) &&
	    ((call->crash == ICK_WP_AFTER_RESERVE && map->type == ICK_IOMAP_DELALLOC) ||
	     (call->crash == ICK_WP_AFTER_ALLOC && map->type != ICK_IOMAP_DELALLOC))) {
		trace(wi->wp, "crash: %s", ick_wp_crash_name(call->crash));
		return ICK_ET_CRASHED;
	}
	if (call->race_writeback && !wi->raced) {
		/* a flusher thread between begin and the copy: the cookie must catch it */
		wi->raced = 1;
		trace(wi->wp, "race: writeback between begin and copy");
		if ((err = writeback_inode(wi, &no_call)))
			return err;
		wi->call = call;
	}
	return 0;
}

static void wp_trace(void *p, const char *event, const struct ick_iomap *map, uint64_t pos,
		     uint64_t n)
{
	struct wpi *wi = p;

	if (!strcmp(event, "begin"))
		trace(wi->wp, "begin: ino %u pos %llu len %llu -> %s%s %llu+%llu cookie %llu",
		      wi->ino, (unsigned long long)pos, (unsigned long long)n,
		      ick_iomap_type_name(map->type), (map->flags & ICK_IOMAP_F_NEW) ? " new" : "",
		      (unsigned long long)map->offset, (unsigned long long)map->length,
		      (unsigned long long)map->cookie);
	else if (!strcmp(event, "stale"))
		trace(wi->wp, "stale: ino %u pos %llu cookie %llu != %llu, remap", wi->ino,
		      (unsigned long long)pos, (unsigned long long)map->cookie,
		      (unsigned long long)wi->es_seq);
	else
		trace(wi->wp, "%s: ino %u pos %llu bytes %llu", event, wi->ino,
		      (unsigned long long)pos, (unsigned long long)n);
}

/* ---- writeback ---- */

static int crash_at(struct wpi *wi, const struct ick_wp_call *call, enum ick_wp_crash c)
{
	passed(wi, c);
	if (!wi->crash_armed || call->crash != c)
		return 0;
	trace(wi->wp, "crash: %s", ick_wp_crash_name(c));
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
		if ((err = disk_lookup(wi, b, a + n - b, &m)))
			return err;
		if (m.type == ICK_IOMAP_HOLE) {
			if ((err = alloc_range(wi, b, m.len)))
				return err;
			allocated += m.len;
		}
		b += m.len;
	}
	return allocated ? commit(wi->wp, wi, "writeback allocation") : 0;
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
		if ((err = disk_lookup(wi, b, a + n - b, &m)))
			break;
		if (m.type == ICK_IOMAP_HOLE) {
			err = ICK_ET_INTERNAL;
			break;
		}
		for (uint64_t i = 0; !err && i < m.len; i += batch) {
			uint64_t k = m.len - i < batch ? m.len - i : batch;

			for (uint64_t j = 0; j < k; j++) {
				struct folio *f = fo_lookup(wi, b + i + j);
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
		trace(wi->wp, "data: ino %u blocks %llu+%llu written", wi->ino,
		      (unsigned long long)a, (unsigned long long)n);
	return err;
}

/* I/O end: convert, raise i_disksize to what is written (never past i_size). */
static errcode_t wb_convert(struct wpi *wi, uint64_t a, uint64_t n)
{
	unsigned bs = wi->wp->fs->blocksize;
	uint64_t want = (a + n) * bs < wi->i_size ? (a + n) * bs : wi->i_size;
	errcode_t err;

	if ((err = convert_range(wi, a, n)))
		return err;
	if (want > EXT2_I_SIZE(&wi->inode)) {
		if ((err = ext2fs_inode_size_set(wi->wp->fs, (struct ext2_inode *)&wi->inode, want)))
			return err;
		trace(wi->wp, "i_disksize: ino %u -> %llu", wi->ino, (unsigned long long)want);
	}
	return commit(wi->wp, wi, "I/O end");
}

static errcode_t writeback_run(struct wpi *wi, const struct ick_wp_call *call, uint64_t a,
			       uint64_t n)
{
	errcode_t err;

	if ((err = wb_alloc(wi, a, n)))
		return err;
	if (crash_at(wi, call, ICK_WP_AFTER_ALLOC))
		return ICK_ET_CRASHED;
	if (call->bugs & ICK_WP_BUG_CONVERT_EARLY) {
		if ((err = wb_convert(wi, a, n)))
			return err;
		if (crash_at(wi, call, ICK_WP_AFTER_CONVERT))
			return ICK_ET_CRASHED;
	}
	if ((err = wb_data(wi, a, n)))
		return err;
	if (crash_at(wi, call, ICK_WP_AFTER_DATA))
		return ICK_ET_CRASHED;
	if (!(call->bugs & ICK_WP_BUG_CONVERT_EARLY)) {
		if ((err = wb_convert(wi, a, n)))
			return err;
		if (crash_at(wi, call, ICK_WP_AFTER_CONVERT))
			return ICK_ET_CRASHED;
	}
	return 0;
}

static errcode_t writeback_inode(struct wpi *wi, const struct ick_wp_call *call)
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
	evict_clean(wi);
	return 0;
}

errcode_t ick_wp_writeback(struct ick_wp *wp, ext2_ino_t ino, const struct ick_wp_call *call)
{
	struct wpi *wi;
	errcode_t err;

	if (!call)
		call = &no_call;
	for (wi = wp->inodes; wi; wi = wi->next) {
		if (ino && wi->ino != ino)
			continue;
		wi->crash_armed = call->crash != ICK_WP_CRASH_NONE;
		err = writeback_inode(wi, call);
		wi->crash_armed = 0;
		wi->call = NULL;
		if (err)
			return err;
	}
	return 0;
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
		.write_end = wp_write_end, .after_begin = wp_after_begin, .trace = wp_trace,
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
	if ((err = get_inode(wp, ino, &wi)))
		return err;
	/* the folios this write will need, in one chunk (a failure falls back to growing) */
	if ((pos + len - 1) / bs - pos / bs + 1 > wp->nfree)
		(void)pool_grow(wp, (size_t)((pos + len - 1) / bs - pos / bs + 1 - wp->nfree));
	da = call->mode == ICK_WP_DA || (call->mode == ICK_WP_AUTO && !nonda_switch(wp));
	ops = da ? &da_ops : &nonda_ops;
	trace(wp, "write: ino %u pos %llu len %llu, %s ops", ino, (unsigned long long)pos,
	      (unsigned long long)len, da ? "da" : "non-da");
	wi->call = call;
	wi->raced = 0;
	wi->crash_armed = call->crash != ICK_WP_CRASH_NONE;
	err = ick_iomap_buffered_write(wi, pos, len, ops, &wops, &src, written);
	if (!err && crash_at(wi, call, ICK_WP_AFTER_COPY))
		err = ICK_ET_CRASHED;
	if (!err && (call->sync || call->crash >= ICK_WP_AFTER_ALLOC))
		err = writeback_inode(wi, call);
	wi->crash_armed = 0;
	wi->call = NULL;
	if (!err && wp->hook_err)
		err = wp->hook_err;
	wp->hook_err = 0;
	trace(wp, "write: ino %u %llu of %llu bytes written, i_size %llu", ino,
	      (unsigned long long)*written, (unsigned long long)len,
	      (unsigned long long)wi->i_size);
	return err;
}

/* ---- fallocate, create ---- */

errcode_t ick_wp_fallocate(struct ick_wp *wp, ext2_ino_t ino, uint64_t pos, uint64_t len,
			   int keep_size)
{
	struct wpi *wi;
	uint64_t lblk, n, b;
	struct dmap m;
	errcode_t err;

	if (!len)
		return EINVAL;
	if (pos + len < pos || (pos + len - 1) / wp->fs->blocksize > MAX_LBLK)
		return EFBIG;
	if ((err = get_inode(wp, ino, &wi)))
		return err;
	wi->call = &no_call;
	range_of(wi, pos, len, &lblk, &n);
	for (b = lblk; b < lblk + n; b += m.len) {
		uint64_t done = 0;

		if ((err = disk_lookup(wi, b, lblk + n - b, &m)))
			break;
		if (m.type == ICK_IOMAP_HOLE && (err = alloc_range_n(wi, b, m.len, &done))) {
			b += done;
			break;
		}
	}
	/* ext4_alloc_file_blocks: on ENOSPC what was allocated stays, and without KEEP_SIZE
	 * the size goes to the end of it (epos), at most to the end asked */
	if ((!err || err == ENOSPC) && !keep_size) {
		uint64_t end = err ? b * (uint64_t)wp->fs->blocksize : pos + len;
		errcode_t e = 0;

		if (end > pos + len)
			end = pos + len;
		if (end > wi->i_size) {
			wi->i_size = end;
			e = ext2fs_inode_size_set(wp->fs, (struct ext2_inode *)&wi->inode, end);
		}
		if (e)
			err = e;
	}
	if (!err || err == ENOSPC) {
		errcode_t e = commit(wp, wi, keep_size ? "fallocate keep_size" : "fallocate");
		if (e)
			err = e;
	}
	wi->call = NULL;
	return err;
}

static errcode_t link_name(ext2_filsys fs, ext2_ino_t dir, const char *name, ext2_ino_t ino)
{
	errcode_t err = ext2fs_link(fs, dir, name, ino, EXT2_FT_REG_FILE);

	if (err == EXT2_ET_DIR_NO_SPACE) {
		if ((err = ext2fs_expand_dir(fs, dir)))
			return err;
		err = ext2fs_link(fs, dir, name, ino, EXT2_FT_REG_FILE);
	}
	return err;
}

/* The directory's owner pays for the block a link may add to it. */
static errcode_t link_charged(struct ick_wp *wp, ext2_ino_t dir, const char *name, ext2_ino_t ino)
{
	struct ext2_inode_large before, after;
	errcode_t err;

	if ((err = read_inode(wp->fs, dir, &before)))
		return err;
	if ((err = link_name(wp->fs, dir, name, ino)) || (err = read_inode(wp->fs, dir, &after)))
		return err;
	if (after.i_blocks != before.i_blocks) {
		uint64_t d = ext2fs_get_stat_i_blocks(wp->fs, (struct ext2_inode *)&after) -
			     ext2fs_get_stat_i_blocks(wp->fs, (struct ext2_inode *)&before);
		uint32_t owner[ICK_QUOTA_NTYPES];

		for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
			owner[t] = ick_quota_owner(wp->fs, &after, t);
		charge_ids(wp, owner, (int64_t)d * 512, 0);
	}
	return 0;
}

static errcode_t split_path(ext2_filsys fs, const char *path, ext2_ino_t *dir, char **name)
{
	const char *slash = strrchr(path, '/');
	char *parent;
	errcode_t err;

	if (!slash || !slash[1])
		return EINVAL;
	if (!(parent = strndup(path, slash == path ? 1 : (size_t)(slash - path))))
		return ENOMEM;
	err = ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, parent, dir);
	free(parent);
	if (err)
		return err;
	return (*name = strdup(slash + 1)) ? 0 : ENOMEM;
}

static errcode_t init_inode(struct ick_wp *wp, struct ext2_inode_large *in, uint32_t uid,
			    uint32_t gid, uint32_t projid, int set_projid)
{
	ext2_filsys fs = wp->fs;
	uint32_t now = (uint32_t)time(NULL);
	int large = EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE;

	if (set_projid && (!large || !ext2fs_has_feature_project(fs->super)))
		return EXT2_ET_UNSUPP_FEATURE;
	memset(in, 0, sizeof(*in));
	in->i_mode = LINUX_S_IFREG | 0644;
	in->i_uid = uid & 0xffff;
	ext2fs_set_i_uid_high(*in, uid >> 16);
	in->i_gid = gid & 0xffff;
	ext2fs_set_i_gid_high(*in, gid >> 16);
	in->i_links_count = 1;
	in->i_atime = in->i_ctime = in->i_mtime = now;
	in->i_flags = EXT4_EXTENTS_FL;
	if (large) {
		in->i_extra_isize = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
		in->i_crtime = now;
		in->i_projid = set_projid ? projid : 0;
	}
	return 0;
}

errcode_t ick_wp_create(struct ick_wp *wp, const char *path, uint32_t uid, uint32_t gid,
			uint32_t projid, int set_projid, ext2_ino_t *ino)
{
	ext2_filsys fs = wp->fs;
	struct ext2_inode_large in;
	ext2_extent_handle_t h;
	ext2_ino_t dir, exist;
	struct wpi *wi;
	char *name = NULL;
	errcode_t err;

	if ((err = split_path(fs, path, &dir, &name)))
		return err;
	if (!ext2fs_lookup(fs, dir, name, strlen(name), NULL, &exist)) {
		free(name);
		return EEXIST;
	}
	if ((err = init_inode(wp, &in, uid, gid, projid, set_projid)) ||
	    (err = ext2fs_new_inode(fs, dir, LINUX_S_IFREG | 0644, NULL, ino)) ||
	    (err = link_charged(wp, dir, name, *ino)))
		goto out;
	ext2fs_inode_alloc_stats2(fs, *ino, +1, 0);
	/* an empty extent header in i_block, written with the inode */
	if ((err = ext2fs_extent_open2(fs, *ino, (struct ext2_inode *)&in, &h)))
		goto out;
	ext2fs_extent_free(h);
	if ((err = ext2fs_write_new_inode(fs, *ino, (struct ext2_inode *)&in)) ||
	    (err = ext2fs_write_inode_full(fs, *ino, (struct ext2_inode *)&in, sizeof(in))) ||
	    (err = get_inode(wp, *ino, &wi)))
		goto out;
	charge(wp, wi, 0, 1);
	err = commit(wp, wi, "create");
	trace(wp, "create: %s ino %u uid %u gid %u projid %u", path, *ino, uid, gid,
	      set_projid ? projid : 0);
out:
	free(name);
	return err;
}

/* ---- map, check ---- */

uint64_t ick_wp_isize(struct ick_wp *wp, ext2_ino_t ino)
{
	for (struct wpi *wi = wp->inodes; wi; wi = wi->next)
		if (wi->ino == ino)
			return wi->i_size;
	return 0;
}

errcode_t ick_wp_map(struct ick_wp *wp, ext2_ino_t ino, uint64_t pos, uint64_t len,
		     errcode_t (*fn)(void *priv, const struct ick_wp_range *r), void *priv)
{
	unsigned bs = wp->fs->blocksize;
	uint64_t lblk, n, b;
	struct wpi *wi;
	struct dmap m;
	errcode_t err;

	if ((err = get_inode(wp, ino, &wi)))
		return err;
	if (!len)
		len = wi->i_size > pos ? wi->i_size - pos : bs;
	if (pos + len < pos || (pos + len - 1) / bs > MAX_LBLK)
		return EFBIG;
	range_of(wi, pos, len, &lblk, &n);
	for (b = lblk; b < lblk + n; b += m.len) {
		struct ick_wp_range r = { .offset = b * bs, .cookie = wi->es_seq };

		if ((err = model_lookup(wi, b, lblk + n - b, &m)))
			return err;
		r.length = m.len * bs;
		r.type = m.type;
		r.pblk = m.pblk;
		for (uint64_t i = 0; i < m.len; i++)
			r.dirty_blocks += fo_dirty(wi, b + i);
		if ((err = fn(priv, &r)))
			return err;
	}
	return 0;
}

static errcode_t add(struct ick_report *rep, uint32_t code, ext2_ino_t ino, uint64_t lblk,
		     uint64_t len, uint64_t expected, uint64_t found, const char *detail)
{
	struct ick_finding f = ick_finding_blank(code, ino);

	f.lblk = lblk;
	f.len = len;
	f.expected = expected;
	f.found = found;
	return ick_report_add(rep, &f, detail ? "%s" : NULL, detail);
}

static int has_dirty(const struct wpi *wi)
{
	for (size_t i = 0; i < wi->nfo; i++)
		if (wi->fo[i]->dirty)
			return 1;
	return 0;
}

void ick_wp_pending(struct ick_wp *wp, uint64_t *dirty_folios, uint64_t *reserved_blocks)
{
	uint64_t d = 0, r = 0;

	for (struct wpi *wi = wp ? wp->inodes : NULL; wi; wi = wi->next) {
		for (size_t i = 0; i < wi->nfo; i++)
			d += wi->fo[i]->dirty;
		r += wi->reserved;
	}
	*dirty_folios = d;
	*reserved_blocks = r;
}

static errcode_t check_inode(struct wpi *wi, struct ick_report *rep)
{
	uint64_t blocks = 0;
	errcode_t err;

	for (size_t i = 0; i < wi->nda; i++)
		blocks += wi->da[i].len;
	if (!has_dirty(wi) && (wi->nda || wi->reserved))
		return add(rep, ICK_PR_DELALLOC_LEFT, wi->ino, wi->nda ? wi->da[0].lblk : ICK_NONE,
			   wi->nda ? blocks : ICK_NONE, 0, wi->reserved + blocks,
			   "no dirty folio left, yet delalloc blocks or a reservation remain");
	for (size_t i = 0; i < wi->nda; i++) {
		uint64_t run = 0, start = 0;
		for (uint64_t b = wi->da[i].lblk; b <= wi->da[i].lblk + wi->da[i].len; b++) {
			int bad = b < wi->da[i].lblk + wi->da[i].len && !fo_dirty(wi, b);
			if (bad && !run++)
				start = b;
			if (!bad && run) {
				if ((err = add(rep, ICK_PR_DELALLOC_NO_FOLIO, wi->ino, start, run,
					       ICK_NONE, ICK_NONE, NULL)))
					return err;
				run = 0;
			}
		}
	}
	if (wi->reserved != blocks)
		return add(rep, ICK_PR_DELALLOC_RESERVED, wi->ino, ICK_NONE, ICK_NONE, blocks,
			   wi->reserved, NULL);
	return 0;
}

errcode_t ick_wp_check(struct ick_wp *wp, struct ick_report *rep)
{
	uint64_t total = 0;
	errcode_t err;

	for (struct wpi *wi = wp->inodes; wi; wi = wi->next) {
		if ((err = check_inode(wi, rep)))
			return err;
		for (size_t i = 0; i < wi->nda; i++)
			total += wi->da[i].len;
	}
	if (total != wp->dirty_clusters &&
	    (err = add(rep, ICK_PR_DELALLOC_FS_DIRTY, 0, ICK_NONE, ICK_NONE, total,
		       wp->dirty_clusters, NULL)))
		return err;
	/* each id's reserved quota against its inodes' delalloc blocks */
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		for (size_t k = 0; k < wp->nqr[t]; k++) {
			uint64_t want = 0;
			char d[64];

			for (struct wpi *wi = wp->inodes; wi; wi = wi->next)
				if (wi->owner[t] == wp->qr[t][k].id)
					for (size_t i = 0; i < wi->nda; i++)
						want += wi->da[i].len * wp->fs->blocksize;
			if (want == wp->qr[t][k].bytes)
				continue;
			snprintf(d, sizeof(d), "%s id %u", ick_quota_type_name(t), wp->qr[t][k].id);
			if ((err = add(rep, ICK_PR_DELALLOC_QUOTA_RESERVED, 0, ICK_NONE, ICK_NONE,
				       want, wp->qr[t][k].bytes, d)))
				return err;
		}
	return 0;
}

/* ---- poison ---- */

errcode_t ick_wp_poison_free(struct ick_wp *wp, const unsigned char *pat, size_t len,
			     uint64_t *blocks)
{
	ext2_filsys fs = wp->fs;
	unsigned bs = fs->blocksize;
	unsigned char *buf;
	errcode_t err = 0;

	*blocks = 0;
	if (!len || !(buf = malloc(bs)))
		return len ? ENOMEM : EINVAL;
	for (unsigned i = 0; i < bs; i++)
		buf[i] = pat[i % len];
	for (blk64_t b = fs->super->s_first_data_block; b < ext2fs_blocks_count(fs->super); b++) {
		if (ext2fs_fast_test_block_bitmap2(fs->block_map, b))
			continue;
		if ((err = io_channel_write_blk64(fs->io, b, 1, buf)))
			break;
		(*blocks)++;
	}
	free(buf);
	return err;
}

/* ---- mount, unmount, crash ---- */

errcode_t ick_wp_open(ext2_filsys fs, struct ick_wp **out)
{
	struct ick_wp *wp;
	errcode_t err;

	*out = NULL;
	if (!(fs->flags & EXT2_FLAG_RW))
		return ICK_ET_READ_ONLY;
	if (ext2fs_has_feature_journal_needs_recovery(fs->super))
		return ICK_ET_NEEDS_RECOVERY;
	if (ext2fs_has_feature_bigalloc(fs->super))
		return ICK_ET_UNSUPPORTED_FEATURE;
	if ((err = ext2fs_read_bitmaps(fs)))
		return err;
	if (!(wp = calloc(1, sizeof(*wp))))
		return ENOMEM;
	wp->fs = fs;
	wp->ncpus = 1;
	wp->folio_size = (sizeof(struct folio) + fs->blocksize + 63) / 64 * 64;
	/* a commit must be on the image when it returns: no write-back cache in between */
	if ((err = io_channel_set_options(fs->io, "cache=off")))
		goto fail;
	fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;
	if (ext2fs_has_feature_quota(fs->super))
		for (int t = 0; t < ICK_QUOTA_NTYPES; t++) {
			if (!ick_quota_inum(fs, t))
				continue;
			if ((err = ick_quota_open(fs, t, ICK_QUOTA_RW, &wp->q[t])))
				goto fail;
		}
	*out = wp;
	return 0;
fail:
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		(void)ick_quota_close(wp->q[t]);
	free(wp);
	return err;
}

void ick_wp_set_hooks(struct ick_wp *wp, const struct ick_wp_hooks *h)
{
	wp->hooks = h ? *h : (struct ick_wp_hooks){ 0 };
}

void ick_wp_set_trace(struct ick_wp *wp, ick_wp_trace_fn fn, void *priv)
{
	wp->trace = fn;
	wp->trace_priv = priv;
}

static void wp_free(struct ick_wp *wp)
{
	while (wp->inodes) {
		struct wpi *n = wp->inodes->next;
		wpi_free(wp->inodes);
		wp->inodes = n;
	}
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		free(wp->qr[t]);
	while (wp->chunks) {
		struct chunk *n = wp->chunks->next;
		munmap(wp->chunks, wp->chunks->size);
		wp->chunks = n;
	}
	free(wp);
}

errcode_t ick_wp_unmount(struct ick_wp *wp, struct ick_report *rep)
{
	errcode_t err, e;

	if (!wp)
		return 0;
	err = ick_wp_writeback(wp, 0, NULL);
	if (!err && rep)
		err = ick_wp_check(wp, rep);
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		if ((e = ick_quota_close(wp->q[t])) && !err)
			err = e;
	wp_free(wp);
	return err;
}

void ick_wp_crash(struct ick_wp *wp)
{
	if (!wp)
		return;
	/* every commit flushed its quota files, so closing writes nothing */
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		(void)ick_quota_close(wp->q[t]);
	wp_free(wp);
}
