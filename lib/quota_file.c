/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * quota_file.c - read, validate and update ext4's hidden quota files (v2 "vfsv1" tree format).
 *
 * Written by hand: the installed libext2fs (e2fsprogs 1.47.0) exports no quota code — e2fsprogs
 * keeps it in its private lib/support, which no Debian package ships — so the format is
 * implemented here from its description.  Authorities: Linux fs/quota/quota_tree.c and
 * quota_v2.c, e2fsprogs lib/support/quotaio_tree.c and quotaio_v2.c (layout notes in
 * ../shared/research/formats.md §5).  No code is copied from them.
 *
 * The file is read through libext2fs's file API (ext2fs_file_*), 1 KiB at a time, so holes
 * read as zeros and any file system block size works.  Opening walks the tree once: every
 * block number is checked against dqi_blocks, every block gets one role (tree node, data block,
 * free block) and a second claim on it is a loop or a shared subtree, every entry is checked to
 * be the one its id's path reaches.  Then the free-block list and the free-entry list are
 * followed (each block at most once) and compared with what the tree says.  Work and memory
 * are bounded by dqi_blocks, which is bounded by the file size (at most 2 GiB).
 */
#include "config.h"
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <et/com_err.h>
#include "array.h"
#include "quota_file.h"
#include "ick_err.h"

#define QBLK ICK_QUOTA_BLKSIZE
#define TREEOFF 1u          /* the root block */
#define DEPTH 4             /* tree levels: one per byte of the id */
#define REFS (QBLK / 4)     /* references per tree block */
#define DQDH 16u            /* data block header: next_free, prev_free, entries, padding */
#define INFO_OFF 8u
#define INFO_LEN 24u
#define R0_SIZE 48u
#define R1_SIZE 72u

enum kind { K_NONE, K_TREE, K_DATA, K_FREE, K_HDR };
#define K_MASK 0x0f
#define K_ONLIST 0x80 /* a data block met on the free-entry list */

struct qent {
	struct ick_dquot dq;
	uint32_t blk;
	uint16_t slot;
};

struct qref {
	uint32_t id, blk;
};

struct ick_quota_file {
	ext2_filsys fs;
	ext2_file_t file;
	unsigned flags;
	struct ick_quota_info info;
	unsigned esize, per_blk;
	struct qent *ent;       /* sorted by id, one per id */
	size_t nr, cap;
	/* only while opening */
	struct qref *ref;
	size_t nref, refcap;
	uint64_t max_refs;
	uint8_t *kind;
	uint16_t *used;         /* entries found in each data block */
	uint16_t *nrefs;        /* references to each data block */
	/* state */
	errcode_t format_err;   /* ICK_ET_QUOTA_BAD_MAGIC/BAD_VERSION/CORRUPT, or 0 */
	int list_bad;
	int info_dirty;
	char why[224];
	char listwhy[224];
	unsigned char tb[DEPTH][QBLK]; /* one tree block per level */
	unsigned char db[QBLK];        /* a data block */
	unsigned char tmp[QBLK];       /* a neighbour on a list */
};

static const char *const type_names[] = { "user", "group", "project" };
static const uint32_t magics[] = { 0xd9c01f11, 0xd9c01927, 0xd9c03f14 };

const char *ick_quota_type_name(enum ick_quota_type t)
{
	return (unsigned)t < ICK_QUOTA_NTYPES ? type_names[t] : "?";
}

uint32_t ick_quota_magic(enum ick_quota_type t)
{
	return (unsigned)t < ICK_QUOTA_NTYPES ? magics[t] : 0;
}

ext2_ino_t ick_quota_inum(ext2_filsys fs, enum ick_quota_type t)
{
	switch (t) {
	case ICK_QUOTA_USER:
		return fs->super->s_usr_quota_inum;
	case ICK_QUOTA_GROUP:
		return fs->super->s_grp_quota_inum;
	case ICK_QUOTA_PROJECT:
		return fs->super->s_prj_quota_inum;
	default:
		return 0;
	}
}

/* ---- little-endian fields at any alignment ---- */

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* The tree index of @id at @depth: its bytes, most significant first. */
static unsigned idx_of(uint32_t id, int depth)
{
	return (id >> (8 * (DEPTH - 1 - depth))) & 0xff;
}

/* ---- problems ---- */

static void ICK_PRINTF(2, 3) problem(struct ick_quota_file *qf, const char *fmt, ...)
{
	va_list ap;

	if (!qf->format_err) {
		qf->format_err = ICK_ET_QUOTA_CORRUPT;
		va_start(ap, fmt);
		vsnprintf(qf->why, sizeof(qf->why), fmt, ap);
		va_end(ap);
	}
}

static void ICK_PRINTF(2, 3) list_problem(struct ick_quota_file *qf, const char *fmt, ...)
{
	va_list ap;

	if (!qf->list_bad) {
		qf->list_bad = 1;
		va_start(ap, fmt);
		vsnprintf(qf->listwhy, sizeof(qf->listwhy), fmt, ap);
		va_end(ap);
	}
}

static const char *kind_name(uint8_t k)
{
	switch (k & K_MASK) {
	case K_TREE:
		return "tree";
	case K_DATA:
		return "data";
	case K_FREE:
		return "free";
	case K_HDR:
		return "header";
	default:
		return "unused";
	}
}

/* ---- I/O ---- */

static errcode_t read_at(struct ick_quota_file *qf, uint64_t off, void *buf, unsigned len,
			 unsigned *got)
{
	errcode_t err = ext2fs_file_llseek(qf->file, off, EXT2_SEEK_SET, NULL);

	*got = 0;
	return err ? err : ext2fs_file_read(qf->file, buf, len, got);
}

/* A block past the end of the file reads as zeros, as in e2fsprogs. */
static errcode_t read_blk(struct ick_quota_file *qf, uint32_t blk, unsigned char *buf)
{
	unsigned got;
	errcode_t err = read_at(qf, (uint64_t)blk * QBLK, buf, QBLK, &got);

	if (err)
		return err;
	if (got < QBLK)
		memset(buf + got, 0, QBLK - got);
	return 0;
}

static errcode_t write_at(struct ick_quota_file *qf, uint64_t off, const void *buf, unsigned len)
{
	unsigned done = 0;
	errcode_t err = ext2fs_file_llseek(qf->file, off, EXT2_SEEK_SET, NULL);

	if (!err)
		err = ext2fs_file_write(qf->file, buf, len, &done);
	if (!err && done != len)
		err = EXT2_ET_SHORT_WRITE;
	return err;
}

static errcode_t write_blk(struct ick_quota_file *qf, uint32_t blk, const unsigned char *buf)
{
	return write_at(qf, (uint64_t)blk * QBLK, buf, QBLK);
}

/* ---- entries ---- */

static void decode(const struct ick_quota_file *qf, const unsigned char *p, struct ick_dquot *d)
{
	memset(d, 0, sizeof(*d));
	d->id = get32(p);
	if (qf->info.version == 0) {
		d->ihardlimit = get32(p + 4);
		d->isoftlimit = get32(p + 8);
		d->curinodes = get32(p + 12);
		d->bhardlimit = get32(p + 16);
		d->bsoftlimit = get32(p + 20);
		d->curspace = get64(p + 24);
		d->btime = get64(p + 32);
		d->itime = get64(p + 40);
	} else {
		d->ihardlimit = get64(p + 8);
		d->isoftlimit = get64(p + 16);
		d->curinodes = get64(p + 24);
		d->bhardlimit = get64(p + 32);
		d->bsoftlimit = get64(p + 40);
		d->curspace = get64(p + 48);
		d->btime = get64(p + 56);
		d->itime = get64(p + 64);
	}
	/* An all-zero record would look unused, so writers store itime = 1 in it. */
	if (d->itime == 1) {
		unsigned char z[R1_SIZE];
		memcpy(z, p, qf->esize);
		put64(z + qf->esize - 8, 0);
		if (all_zero(z, qf->esize))
			d->itime = 0;
	}
}

static errcode_t encode(const struct ick_quota_file *qf, const struct ick_dquot *d,
			unsigned char *p)
{
	memset(p, 0, qf->esize);
	put32(p, d->id);
	if (qf->info.version == 0) {
		if (d->ihardlimit > UINT32_MAX || d->isoftlimit > UINT32_MAX ||
		    d->curinodes > UINT32_MAX || d->bhardlimit > UINT32_MAX ||
		    d->bsoftlimit > UINT32_MAX)
			return EOVERFLOW;
		put32(p + 4, (uint32_t)d->ihardlimit);
		put32(p + 8, (uint32_t)d->isoftlimit);
		put32(p + 12, (uint32_t)d->curinodes);
		put32(p + 16, (uint32_t)d->bhardlimit);
		put32(p + 20, (uint32_t)d->bsoftlimit);
		put64(p + 24, d->curspace);
		put64(p + 32, d->btime);
		put64(p + 40, d->itime);
	} else {
		put64(p + 8, d->ihardlimit);
		put64(p + 16, d->isoftlimit);
		put64(p + 24, d->curinodes);
		put64(p + 32, d->bhardlimit);
		put64(p + 40, d->bsoftlimit);
		put64(p + 48, d->curspace);
		put64(p + 56, d->btime);
		put64(p + 64, d->itime);
	}
	if (all_zero(p, qf->esize))
		put64(p + qf->esize - 8, 1);
	return 0;
}

static errcode_t room_for_entry(struct ick_quota_file *qf)
{
	struct qent *n;

	if (qf->nr < qf->cap)
		return 0;
	if (!(n = ick_array_grow(qf->ent, &qf->cap, sizeof(*n), 64)))
		return ENOMEM;
	qf->ent = n;
	return 0;
}

static errcode_t add_ent(struct ick_quota_file *qf, const struct ick_dquot *d, uint32_t blk,
			 unsigned slot)
{
	errcode_t err;

	if ((err = room_for_entry(qf)))
		return err;
	qf->ent[qf->nr].dq = *d;
	qf->ent[qf->nr].blk = blk;
	qf->ent[qf->nr].slot = (uint16_t)slot;
	qf->nr++;
	return 0;
}

static errcode_t add_ref(struct ick_quota_file *qf, uint32_t id, uint32_t blk)
{
	if (qf->nref >= qf->max_refs) {
		problem(qf, "more id references than a file of %u blocks can hold entries",
			qf->info.blocks);
		return 0;
	}
	if (qf->nref == qf->refcap) {
		struct qref *n = ick_array_grow(qf->ref, &qf->refcap, sizeof(*n), 64);
		if (!n)
			return ENOMEM;
		qf->ref = n;
	}
	qf->ref[qf->nref].id = id;
	qf->ref[qf->nref].blk = blk;
	qf->nref++;
	return 0;
}

/* Binary search: the index of @id, or -1 with *pos where it would go. */
static long find_ent(const struct ick_quota_file *qf, uint32_t id, size_t *pos)
{
	size_t lo = 0, hi = qf->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (qf->ent[mid].dq.id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	return lo < qf->nr && qf->ent[lo].dq.id == id ? (long)lo : -1;
}

/* ---- the walk (opening) ---- */

static errcode_t read_data(struct ick_quota_file *qf, uint32_t blk)
{
	unsigned char *buf = qf->db;
	unsigned used = 0, entries;
	errcode_t err;

	if ((err = read_blk(qf, blk, buf))) {
		problem(qf, "cannot read data block %u: %s", blk, error_message(err));
		return 0;
	}
	entries = get16(buf + 8);
	for (unsigned s = 0; s < qf->per_blk; s++) {
		const unsigned char *p = buf + DQDH + s * qf->esize;
		struct ick_dquot d;
		if (all_zero(p, qf->esize))
			continue;
		used++;
		decode(qf, p, &d);
		if ((err = add_ent(qf, &d, blk, s)))
			return err;
	}
	qf->used[blk] = (uint16_t)used;
	if (entries != used)
		list_problem(qf, "data block %u counts %u entries but holds %u", blk, entries, used);
	return 0;
}

static errcode_t walk_tree(struct ick_quota_file *qf, uint32_t blk, int depth, uint32_t prefix)
{
	unsigned char *buf = qf->tb[depth];
	errcode_t err;

	if ((err = read_blk(qf, blk, buf))) {
		problem(qf, "cannot read tree block %u: %s", blk, error_message(err));
		return 0;
	}
	for (unsigned i = 0; i < REFS; i++) {
		uint32_t r = get32(buf + 4 * i);
		uint32_t id = prefix | (uint32_t)i << (8 * (DEPTH - 1 - depth));

		if (!r)
			continue;
		if (r >= qf->info.blocks) {
			problem(qf, "tree block %u (depth %d) slot %u refers to block %u, outside the "
				    "file's %u blocks", blk, depth, i, r, qf->info.blocks);
			continue;
		}
		if (depth < DEPTH - 1) {
			if (qf->kind[r] != K_NONE) {
				problem(qf, "tree block %u (depth %d) slot %u refers to block %u, "
					    "already a %s block (a loop or a shared subtree)",
					blk, depth, i, r, kind_name(qf->kind[r]));
				continue;
			}
			qf->kind[r] = K_TREE;
			qf->info.tree_blocks++;
			if ((err = walk_tree(qf, r, depth + 1, id)))
				return err;
			continue;
		}
		if (qf->kind[r] != K_NONE && qf->kind[r] != K_DATA) {
			problem(qf, "tree block %u slot %u sends id %u to block %u, which is a %s block",
				blk, i, id, r, kind_name(qf->kind[r]));
			continue;
		}
		if (qf->kind[r] == K_NONE) {
			qf->kind[r] = K_DATA;
			qf->info.data_blocks++;
			if ((err = read_data(qf, r)))
				return err;
		}
		/* each reference must find its own entry: no more references than entries
		 * (this also bounds the references kept by the entries read) */
		if (qf->nrefs[r] >= qf->used[r]) {
			problem(qf, "the tree sends id %u to data block %u, which holds no entry for "
				    "it", id, r);
			continue;
		}
		qf->nrefs[r]++;
		if ((err = add_ref(qf, id, r)))
			return err;
	}
	return 0;
}

static int cmp_ent(const void *a, const void *b)
{
	const struct qent *x = a, *y = b;

	if (x->dq.id != y->dq.id)
		return x->dq.id < y->dq.id ? -1 : 1;
	if (x->blk != y->blk)
		return x->blk < y->blk ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static int cmp_ref(const void *a, const void *b)
{
	const struct qref *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Every entry must be the one its id's path reaches (the kernel finds entries only that way),
 * and every path must reach an entry of its id.  Keeps one entry per id: the reachable one.
 */
static void match_refs(struct ick_quota_file *qf)
{
	size_t i = 0, j = 0, out = 0;

	if (qf->nr)
		qsort(qf->ent, qf->nr, sizeof(*qf->ent), cmp_ent);
	if (qf->nref)
		qsort(qf->ref, qf->nref, sizeof(*qf->ref), cmp_ref);
	while (i < qf->nr) {
		uint32_t id = qf->ent[i].dq.id;
		size_t end = i, keep = i;
		while (end < qf->nr && qf->ent[end].dq.id == id)
			end++;
		while (j < qf->nref && qf->ref[j].id < id) {
			problem(qf, "the tree sends id %u to data block %u, which holds no entry for it",
				qf->ref[j].id, qf->ref[j].blk);
			j++;
		}
		if (j < qf->nref && qf->ref[j].id == id) {
			for (size_t k = i; k < end; k++)
				if (qf->ent[k].blk == qf->ref[j].blk)
					keep = k;
			if (qf->ent[keep].blk != qf->ref[j].blk)
				problem(qf, "the tree sends id %u to data block %u, but its entry is in "
					    "block %u", id, qf->ref[j].blk, qf->ent[keep].blk);
			j++;
		} else {
			problem(qf, "the entry for id %u in data block %u is not reachable through "
				    "the tree", id, qf->ent[i].blk);
		}
		if (end - i > 1)
			problem(qf, "id %u has %zu entries (data blocks %u and %u)", id, end - i,
				qf->ent[i].blk, qf->ent[i + 1].blk);
		qf->ent[out++] = qf->ent[keep];
		i = end;
	}
	for (; j < qf->nref; j++)
		problem(qf, "the tree sends id %u to data block %u, which holds no entry for it",
			qf->ref[j].id, qf->ref[j].blk);
	qf->nr = out;
}

/* The free-block list: blocks the tree does not use, each once, ending in 0. */
static void walk_free_blocks(struct ick_quota_file *qf)
{
	uint32_t b = qf->info.free_blk;
	errcode_t err;

	while (b) {
		if (b <= TREEOFF || b >= qf->info.blocks) {
			list_problem(qf, "the free-block list reaches block %u, outside the file's "
					 "blocks 2..%u", b, qf->info.blocks - 1);
			return;
		}
		if (qf->kind[b] != K_NONE) {
			list_problem(qf, qf->kind[b] == K_FREE ? "the free-block list loops at block %u"
					 : "the free-block list holds block %u, which is in use as a %s block",
				     b, kind_name(qf->kind[b]));
			return;
		}
		qf->kind[b] = K_FREE;
		qf->info.free_blocks++;
		if ((err = read_blk(qf, b, qf->tmp))) {
			list_problem(qf, "cannot read free block %u: %s", b, error_message(err));
			return;
		}
		b = get32(qf->tmp);
	}
}

/* The free-entry list: exactly the data blocks with a free slot, doubly linked. */
static void walk_free_entries(struct ick_quota_file *qf)
{
	uint32_t b = qf->info.free_entry, prev = 0;
	errcode_t err;

	while (b) {
		if (b >= qf->info.blocks || (qf->kind[b] & K_MASK) != K_DATA) {
			list_problem(qf, "the free-entry list reaches block %u, which is not a data "
					 "block of the tree", b);
			return;
		}
		if (qf->kind[b] & K_ONLIST) {
			list_problem(qf, "the free-entry list loops at block %u", b);
			return;
		}
		qf->kind[b] |= K_ONLIST;
		if ((err = read_blk(qf, b, qf->tmp))) {
			list_problem(qf, "cannot read data block %u: %s", b, error_message(err));
			return;
		}
		if (get32(qf->tmp + 4) != prev)
			list_problem(qf, "data block %u on the free-entry list links back to %u, not %u",
				     b, get32(qf->tmp + 4), prev);
		if (qf->used[b] >= qf->per_blk)
			list_problem(qf, "data block %u is on the free-entry list but full", b);
		prev = b;
		b = get32(qf->tmp);
	}
	for (uint32_t k = TREEOFF + 1; k < qf->info.blocks; k++)
		if (qf->kind[k] == K_DATA && qf->used[k] < qf->per_blk)
			list_problem(qf, "data block %u has a free slot but is not on the free-entry "
					 "list", k);
}

static int invalid_ino(ext2_filsys fs, ext2_ino_t ino)
{
	/* e2fsck's e2fsck_validate_quota_inodes() */
	switch (ino) {
	case EXT2_BAD_INO:
	case EXT2_ROOT_INO:
	case EXT2_BOOT_LOADER_INO:
	case EXT2_UNDEL_DIR_INO:
	case EXT2_RESIZE_INO:
	case EXT2_JOURNAL_INO:
	case EXT2_EXCLUDE_INO:
	case EXT4_REPLICA_INO:
		return 1;
	default:
		return ino > fs->super->s_inodes_count;
	}
}

static errcode_t read_header(struct ick_quota_file *qf)
{
	unsigned char h[INFO_OFF + INFO_LEN];
	struct ick_quota_info *in = &qf->info;
	uint32_t magic, want = magics[in->type];
	uint64_t fblocks;
	unsigned got;
	errcode_t err;

	in->size = EXT2_I_SIZE(ext2fs_file_get_inode(qf->file));
	if ((err = read_at(qf, 0, h, sizeof(h), &got))) {
		problem(qf, "cannot read the header: %s", error_message(err));
		return 0;
	}
	if (got < INFO_OFF) {
		problem(qf, "the file is %llu bytes, too short for the header",
			(unsigned long long)in->size);
		return 0;
	}
	magic = get32(h);
	if (magic != want) {
		qf->format_err = ICK_ET_QUOTA_BAD_MAGIC;
		snprintf(qf->why, sizeof(qf->why), "magic 0x%08x, not 0x%08x (%s quota)%s", magic,
			 want, type_names[in->type],
			 ext2fs_swab32(magic) == want ? ": stored in the wrong byte order" : "");
		return 0;
	}
	in->version = get32(h + 4);
	if (in->version > 1) {
		qf->format_err = ICK_ET_QUOTA_BAD_VERSION;
		snprintf(qf->why, sizeof(qf->why), "version %u (only 0 and 1 exist)", in->version);
		return 0;
	}
	qf->esize = in->version ? R1_SIZE : R0_SIZE;
	qf->per_blk = (QBLK - DQDH) / qf->esize;
	if (got < sizeof(h)) {
		problem(qf, "the file is %llu bytes, too short for the info block",
			(unsigned long long)in->size);
		return 0;
	}
	in->bgrace = get32(h + 8);
	in->igrace = get32(h + 12);
	in->flags = get32(h + 16);
	in->blocks = get32(h + 20);
	in->free_blk = get32(h + 24);
	in->free_entry = get32(h + 28);
	in->header_ok = 1;
	fblocks = (in->size + QBLK - 1) / QBLK;
	if (in->size > ICK_QUOTA_MAX_SIZE)
		problem(qf, "the file is %llu bytes, more than 2 GiB", (unsigned long long)in->size);
	else if (in->blocks > fblocks)
		problem(qf, "dqi_blocks is %u but the file has only %llu blocks", in->blocks,
			(unsigned long long)fblocks);
	else if (in->blocks <= TREEOFF)
		problem(qf, "dqi_blocks is %u, leaving no room for the tree root", in->blocks);
	else if (in->free_blk >= in->blocks)
		problem(qf, "the free-block list starts at block %u, outside the file's %u blocks",
			in->free_blk, in->blocks);
	else if (in->free_entry >= in->blocks)
		problem(qf, "the free-entry list starts at block %u, outside the file's %u blocks",
			in->free_entry, in->blocks);
	return 0;
}

static errcode_t validate(struct ick_quota_file *qf)
{
	errcode_t err;

	qf->kind = calloc(qf->info.blocks, 1);
	qf->used = calloc(qf->info.blocks, sizeof(*qf->used));
	qf->nrefs = calloc(qf->info.blocks, sizeof(*qf->nrefs));
	if (!qf->kind || !qf->used || !qf->nrefs)
		return ENOMEM;
	qf->max_refs = (uint64_t)qf->per_blk * qf->info.blocks;
	qf->kind[0] = K_HDR;
	qf->kind[TREEOFF] = K_TREE;
	qf->info.tree_blocks = 1;
	if ((err = walk_tree(qf, TREEOFF, 0, 0)))
		return err;
	match_refs(qf);
	walk_free_blocks(qf);
	walk_free_entries(qf);
	return 0;
}

errcode_t ick_quota_open_ino(ext2_filsys fs, ext2_ino_t ino, enum ick_quota_type t,
			     unsigned flags, struct ick_quota_file **out)
{
	struct ick_quota_file *qf;
	errcode_t err = 0;

	*out = NULL;
	if ((unsigned)t >= ICK_QUOTA_NTYPES)
		return EINVAL;
	if (!ino)
		return ICK_ET_QUOTA_NO_FILE;
	if ((flags & ICK_QUOTA_RW) && !(fs->flags & EXT2_FLAG_RW))
		return ICK_ET_READ_ONLY;
	if (!(qf = calloc(1, sizeof(*qf))))
		return ENOMEM;
	qf->fs = fs;
	qf->flags = flags;
	qf->info.type = t;
	qf->info.ino = ino;
	if (invalid_ino(fs, ino)) {
		problem(qf, "invalid quota inode number %u", ino);
		goto done;
	}
	if ((flags & ICK_QUOTA_RW) && (err = ext2fs_read_bitmaps(fs)))
		goto fail;
	err = ext2fs_file_open(fs, ino, (flags & ICK_QUOTA_RW) ? EXT2_FILE_WRITE : 0, &qf->file);
	if (err) {
		problem(qf, "cannot open inode %u: %s", ino, error_message(err));
		qf->file = NULL;
		goto done;
	}
	if ((err = read_header(qf)))
		goto fail;
	if (!qf->format_err && (err = validate(qf)))
		goto fail;
	qf->info.entries = qf->nr;
done:
	free(qf->ref);
	free(qf->kind);
	free(qf->used);
	free(qf->nrefs);
	qf->ref = NULL;
	qf->kind = NULL;
	qf->used = NULL;
	qf->nrefs = NULL;
	err = qf->format_err;
	if (err && !(flags & ICK_QUOTA_SALVAGE)) {
		(void)ick_quota_close(qf);
		return err;
	}
	*out = qf;
	return err;
fail:
	*out = NULL;
	(void)ick_quota_close(qf);
	return err;
}

errcode_t ick_quota_open(ext2_filsys fs, enum ick_quota_type t, unsigned flags,
			 struct ick_quota_file **out)
{
	*out = NULL;
	if ((unsigned)t >= ICK_QUOTA_NTYPES)
		return EINVAL;
	return ick_quota_open_ino(fs, ick_quota_inum(fs, t), t, flags, out);
}

const char *ick_quota_why(const struct ick_quota_file *qf)
{
	return qf->format_err ? qf->why : NULL;
}

const char *ick_quota_list_problem(const struct ick_quota_file *qf)
{
	return qf->list_bad ? qf->listwhy : NULL;
}

const struct ick_quota_info *ick_quota_get_info(const struct ick_quota_file *qf)
{
	return &qf->info;
}

size_t ick_quota_count(const struct ick_quota_file *qf)
{
	return qf->nr;
}

errcode_t ick_quota_iterate(const struct ick_quota_file *qf,
			    errcode_t (*fn)(const struct ick_dquot *dq, void *priv), void *priv)
{
	errcode_t err;

	for (size_t i = 0; i < qf->nr; i++)
		if ((err = fn(&qf->ent[i].dq, priv)))
			return err;
	return 0;
}

errcode_t ick_quota_lookup(const struct ick_quota_file *qf, uint32_t id, struct ick_dquot *out)
{
	long i = find_ent(qf, id, NULL);

	if (i < 0)
		return ICK_ET_QUOTA_NOT_FOUND;
	*out = qf->ent[i].dq;
	return 0;
}

/* ---- the writer ---- */

/* A block for the tree or for entries: from the free-block list, else a new one at the end. */
static errcode_t alloc_blk(struct ick_quota_file *qf, uint32_t *out)
{
	struct ick_quota_info *in = &qf->info;
	errcode_t err;

	if (in->free_blk) {
		uint32_t b = in->free_blk, next;
		if ((err = read_blk(qf, b, qf->tmp)))
			return err;
		next = get32(qf->tmp);
		if (next == b || (next && (next <= TREEOFF || next >= in->blocks)))
			return ICK_ET_QUOTA_CORRUPT;
		in->free_blk = next;
		in->free_blocks--;
		*out = b;
	} else {
		if ((uint64_t)in->blocks + 1 > ICK_QUOTA_MAX_SIZE / QBLK)
			return EFBIG;
		memset(qf->tmp, 0, QBLK);
		if ((err = write_blk(qf, in->blocks, qf->tmp)))
			return err;
		*out = in->blocks++;
	}
	qf->info_dirty = 1;
	return 0;
}

static errcode_t free_blk(struct ick_quota_file *qf, uint32_t b, unsigned char *buf)
{
	memset(buf, 0, QBLK);
	put32(buf, qf->info.free_blk);
	qf->info.free_blk = b;
	qf->info.free_blocks++;
	qf->info_dirty = 1;
	return write_blk(qf, b, buf);
}

/* Set the 32-bit list link at byte @off of block @b (read, change, write). */
static errcode_t set_link(struct ick_quota_file *qf, uint32_t b, unsigned off, uint32_t val)
{
	errcode_t err;

	if ((err = read_blk(qf, b, qf->tmp)))
		return err;
	put32(qf->tmp + off, val);
	return write_blk(qf, b, qf->tmp);
}

/* Unlink data block @b (contents in @buf, written by the caller) from the free-entry list. */
static errcode_t unlink_free_entry(struct ick_quota_file *qf, uint32_t b, unsigned char *buf)
{
	uint32_t next = get32(buf), prev = get32(buf + 4);
	errcode_t err;

	if (next && (err = set_link(qf, next, 4, prev)))
		return err;
	if (prev) {
		if ((err = set_link(qf, prev, 0, next)))
			return err;
	} else {
		qf->info.free_entry = next;
		qf->info_dirty = 1;
	}
	put32(buf, 0);
	put32(buf + 4, 0);
	return 0;
}

/* Put data block @b (contents in @buf) at the head of the free-entry list; writes it. */
static errcode_t link_free_entry(struct ick_quota_file *qf, uint32_t b, unsigned char *buf)
{
	uint32_t head = qf->info.free_entry;
	errcode_t err;

	put32(buf, head);
	put32(buf + 4, 0);
	if ((err = write_blk(qf, b, buf)))
		return err;
	if (head && (err = set_link(qf, head, 4, b)))
		return err;
	qf->info.free_entry = b;
	qf->info_dirty = 1;
	return 0;
}

/* Store @d in a free slot (kernel's find_free_dqentry): *blk and *slot say where. */
static errcode_t store_new_entry(struct ick_quota_file *qf, const struct ick_dquot *d,
				 uint32_t *blk, unsigned *slot)
{
	unsigned char *buf = qf->db;
	unsigned entries, s;
	uint32_t b;
	errcode_t err;

	if (qf->info.free_entry) {
		b = qf->info.free_entry;
		if ((err = read_blk(qf, b, buf)))
			return err;
	} else {
		if ((err = alloc_blk(qf, &b)))
			return err;
		memset(buf, 0, QBLK);
		qf->info.free_entry = b;
		qf->info.data_blocks++;
		qf->info_dirty = 1;
	}
	entries = get16(buf + 8);
	if (entries >= qf->per_blk)
		return ICK_ET_QUOTA_CORRUPT;
	for (s = 0; s < qf->per_blk; s++)
		if (all_zero(buf + DQDH + s * qf->esize, qf->esize))
			break;
	if (s == qf->per_blk)
		return ICK_ET_QUOTA_CORRUPT;
	if ((err = encode(qf, d, buf + DQDH + s * qf->esize)))
		return err;
	if (entries + 1 >= qf->per_blk && (err = unlink_free_entry(qf, b, buf)))
		return err;
	put16(buf + 8, (uint16_t)(entries + 1));
	if ((err = write_blk(qf, b, buf)))
		return err;
	*blk = b;
	*slot = s;
	return 0;
}

static errcode_t insert_entry(struct ick_quota_file *qf, size_t pos, const struct ick_dquot *d)
{
	uint32_t path = TREEOFF, child, blk;
	unsigned slot, i;
	unsigned char ent[R1_SIZE];
	errcode_t err;

	if ((err = encode(qf, d, ent))) /* refuse before changing anything */
		return err;
	if ((err = room_for_entry(qf)))
		return err;
	for (int depth = 0; depth < DEPTH - 1; depth++) {
		unsigned char *buf = qf->tb[depth];
		if ((err = read_blk(qf, path, buf)))
			return err;
		i = idx_of(d->id, depth);
		child = get32(buf + 4 * i);
		if (child >= qf->info.blocks)
			return ICK_ET_QUOTA_CORRUPT;
		if (!child) {
			/* a new, empty tree block, then the reference to it */
			if ((err = alloc_blk(qf, &child)))
				return err;
			memset(qf->tb[depth + 1], 0, QBLK);
			if ((err = write_blk(qf, child, qf->tb[depth + 1])))
				return err;
			qf->info.tree_blocks++;
			put32(buf + 4 * i, child);
			if ((err = write_blk(qf, path, buf)))
				return err;
		}
		path = child;
	}
	if ((err = read_blk(qf, path, qf->tb[DEPTH - 1])))
		return err;
	i = idx_of(d->id, DEPTH - 1);
	if (get32(qf->tb[DEPTH - 1] + 4 * i))
		return ICK_ET_QUOTA_CORRUPT; /* referenced, yet not in the file we validated */
	if ((err = store_new_entry(qf, d, &blk, &slot)))
		return err;
	put32(qf->tb[DEPTH - 1] + 4 * i, blk);
	if ((err = write_blk(qf, path, qf->tb[DEPTH - 1])))
		return err;
	memmove(&qf->ent[pos + 1], &qf->ent[pos], (qf->nr - pos) * sizeof(*qf->ent));
	qf->ent[pos].dq = *d;
	qf->ent[pos].blk = blk;
	qf->ent[pos].slot = (uint16_t)slot;
	qf->nr++;
	qf->info.entries = qf->nr;
	return 0;
}

/* Remove entry @pos: free its slot, free blocks that become empty (never the root). */
static errcode_t delete_entry(struct ick_quota_file *qf, size_t pos)
{
	const struct qent *e = &qf->ent[pos];
	uint32_t id = e->dq.id, path[DEPTH];
	unsigned char *buf = qf->db;
	unsigned entries;
	errcode_t err;

	path[0] = TREEOFF;
	for (int depth = 0; depth < DEPTH; depth++) {
		uint32_t r;
		if ((err = read_blk(qf, path[depth], qf->tb[depth])))
			return err;
		r = get32(qf->tb[depth] + 4 * idx_of(id, depth));
		if (depth < DEPTH - 1)
			path[depth + 1] = r;
		if (!r || r >= qf->info.blocks || (depth == DEPTH - 1 && r != e->blk))
			return ICK_ET_QUOTA_CORRUPT;
	}
	/* the data block */
	if ((err = read_blk(qf, e->blk, buf)))
		return err;
	entries = get16(buf + 8);
	if (!entries)
		return ICK_ET_QUOTA_CORRUPT;
	put16(buf + 8, (uint16_t)--entries);
	memset(buf + DQDH + e->slot * qf->esize, 0, qf->esize);
	if (!entries) {
		if ((err = unlink_free_entry(qf, e->blk, buf)) || (err = free_blk(qf, e->blk, buf)))
			return err;
		qf->info.data_blocks--;
	} else if (entries == qf->per_blk - 1) {
		if ((err = link_free_entry(qf, e->blk, buf)))
			return err;
	} else if ((err = write_blk(qf, e->blk, buf))) {
		return err;
	}
	/* the references, bottom up */
	for (int depth = DEPTH - 1;; depth--) {
		put32(qf->tb[depth] + 4 * idx_of(id, depth), 0);
		if (depth == 0 || !all_zero(qf->tb[depth], QBLK)) {
			if ((err = write_blk(qf, path[depth], qf->tb[depth])))
				return err;
			break;
		}
		if ((err = free_blk(qf, path[depth], qf->tb[depth])))
			return err;
		qf->info.tree_blocks--;
	}
	memmove(&qf->ent[pos], &qf->ent[pos + 1], (qf->nr - pos - 1) * sizeof(*qf->ent));
	qf->nr--;
	qf->info.entries = qf->nr;
	return 0;
}

/* Grace deadlines start when usage passes a soft limit and stop when it drops back. */
static void update_grace(const struct ick_quota_file *qf, struct ick_dquot *d)
{
	uint64_t now = qf->fs->now ? (uint64_t)qf->fs->now : (uint64_t)time(NULL);

	if (d->bsoftlimit && (d->curspace + QBLK - 1) / QBLK > d->bsoftlimit) {
		if (!d->btime)
			d->btime = now + qf->info.bgrace;
	} else {
		d->btime = 0;
	}
	if (d->isoftlimit && d->curinodes > d->isoftlimit) {
		if (!d->itime)
			d->itime = now + qf->info.igrace;
	} else {
		d->itime = 0;
	}
}

static int no_limits(const struct ick_dquot *d)
{
	return !d->bhardlimit && !d->bsoftlimit && !d->ihardlimit && !d->isoftlimit;
}

errcode_t ick_quota_set_usage(struct ick_quota_file *qf, uint32_t id, uint64_t space,
			      uint64_t inodes)
{
	struct ick_dquot d;
	unsigned char raw[R1_SIZE];
	size_t pos;
	long i;
	errcode_t err;

	if (!(qf->flags & ICK_QUOTA_RW))
		return ICK_ET_READ_ONLY;
	if (qf->format_err || qf->list_bad || !qf->file)
		return ICK_ET_QUOTA_CORRUPT;
	i = find_ent(qf, id, &pos);
	if (i < 0) {
		if (!space && !inodes)
			return 0;
		memset(&d, 0, sizeof(d));
		d.id = id;
		d.curspace = space;
		d.curinodes = inodes;
		return insert_entry(qf, pos, &d);
	}
	d = qf->ent[i].dq;
	d.curspace = space;
	d.curinodes = inodes;
	update_grace(qf, &d);
	if (!space && !inodes && no_limits(&d))
		return delete_entry(qf, (size_t)i);
	if ((err = encode(qf, &d, raw)))
		return err;
	err = write_at(qf, (uint64_t)qf->ent[i].blk * QBLK + DQDH + qf->ent[i].slot * qf->esize,
		       raw, qf->esize);
	if (!err)
		qf->ent[i].dq = d;
	return err;
}

/* @cur moved by @delta: down to zero at most, as the kernel's dquot_decr_* do. */
static errcode_t apply_delta(uint64_t cur, int64_t delta, uint64_t *out)
{
	uint64_t mag = delta < 0 ? (uint64_t)(-(delta + 1)) + 1 : (uint64_t)delta;

	if (delta < 0) {
		*out = mag >= cur ? 0 : cur - mag;
		return 0;
	}
	if (cur > UINT64_MAX - mag)
		return EOVERFLOW;
	*out = cur + mag;
	return 0;
}

errcode_t ick_quota_add_usage(struct ick_quota_file *qf, uint32_t id, int64_t dspace,
			      int64_t dinodes)
{
	struct ick_dquot d = { .id = id };
	long i = find_ent(qf, id, NULL);
	uint64_t space, inodes;
	errcode_t err;

	if (i >= 0)
		d = qf->ent[i].dq;
	if ((err = apply_delta(d.curspace, dspace, &space)) ||
	    (err = apply_delta(d.curinodes, dinodes, &inodes)))
		return err;
	return ick_quota_set_usage(qf, id, space, inodes);
}

uint32_t ick_quota_owner(ext2_filsys fs, const struct ext2_inode_large *in,
			 enum ick_quota_type t)
{
	if (t == ICK_QUOTA_USER)
		return inode_uid(*in);
	if (t == ICK_QUOTA_GROUP)
		return inode_gid(*in);
	if (EXT2_INODE_SIZE(fs->super) <= EXT2_GOOD_OLD_INODE_SIZE ||
	    EXT2_GOOD_OLD_INODE_SIZE + (size_t)in->i_extra_isize <
	    offsetof(struct ext2_inode_large, i_projid) + sizeof(in->i_projid))
		return 0;
	return inode_projid(*in);
}

errcode_t ick_quota_flush(struct ick_quota_file *qf)
{
	errcode_t err = 0, e;

	if (!qf || !qf->file)
		return 0;
	if (qf->info_dirty) {
		unsigned char in[INFO_LEN];
		uint64_t want = (uint64_t)qf->info.blocks * QBLK;

		put32(in, qf->info.bgrace);
		put32(in + 4, qf->info.igrace);
		put32(in + 8, qf->info.flags);
		put32(in + 12, qf->info.blocks);
		put32(in + 16, qf->info.free_blk);
		put32(in + 20, qf->info.free_entry);
		err = write_at(qf, INFO_OFF, in, sizeof(in));
		if (EXT2_I_SIZE(ext2fs_file_get_inode(qf->file)) < want &&
		    (e = ext2fs_file_set_size2(qf->file, want)) && !err)
			err = e;
		if (!err)
			qf->info_dirty = 0;
	}
	if ((e = ext2fs_file_flush(qf->file)) && !err)
		err = e;
	return err;
}

errcode_t ick_quota_close(struct ick_quota_file *qf)
{
	errcode_t err, e;

	if (!qf)
		return 0;
	err = ick_quota_flush(qf);
	if (qf->file && (e = ext2fs_file_close(qf->file)) && !err)
		err = e;
	free(qf->ent);
	free(qf->ref);
	free(qf->kind);
	free(qf->used);
	free(qf->nrefs);
	free(qf);
	return err;
}
