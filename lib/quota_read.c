/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * quota_read.c - open, read and validate ext4's hidden quota files (v2 "vfsv1" tree format);
 * quota_write.c updates them, quota_entry.c codes their entries.
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
#include <et/com_err.h>
#include "array.h"
#include "quota_handle.h"
#include "ick_err.h"

static const char *const type_names[] = { "user", "group", "project" };
static const uint32_t magics[] = { 0xd9c01f11, 0xd9c01927, 0xd9c03f14 };

const char *ick_quota_type_name(enum ick_quota_type t)
{
	return (unsigned)t < ICK_QUOTA_NTYPES ? type_names[t] : "?";
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

errcode_t ick_quota_read_blk(struct ick_quota_file *qf, uint32_t blk, unsigned char *buf)
{
	unsigned got;
	errcode_t err = read_at(qf, (uint64_t)blk * QBLK, buf, QBLK, &got);

	if (err)
		return err;
	if (got < QBLK)
		memset(buf + got, 0, QBLK - got);
	return 0;
}

errcode_t ick_quota_room(struct ick_quota_file *qf)
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

	if ((err = ick_quota_room(qf)))
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
	return ICK_ARRAY_PUSH(qf->ref, qf->nref, qf->refcap, 64, &((struct qref){ id, blk }));
}

/* For ick_array_lower_bound: the id at @key against entry @e's. */
static int cmp_id_ent(const void *key, const void *e)
{
	uint32_t id = *(const uint32_t *)key, eid = ((const struct qent *)e)->dq.id;

	return id < eid ? -1 : id > eid;
}

long ick_quota_find(const struct ick_quota_file *qf, uint32_t id, size_t *pos)
{
	size_t lo = ick_array_lower_bound(qf->ent, qf->nr, sizeof(*qf->ent), &id, cmp_id_ent);

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

	if ((err = ick_quota_read_blk(qf, blk, buf))) {
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
		ick_quota_entry_decode(qf->info.version, p, &d);
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

	if ((err = ick_quota_read_blk(qf, blk, buf))) {
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
		if ((err = ick_quota_read_blk(qf, b, qf->tmp))) {
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
		if ((err = ick_quota_read_blk(qf, b, qf->tmp))) {
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
	qf->esize = ick_quota_entry_size(in->version);
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
	long i = ick_quota_find(qf, id, NULL);

	if (i < 0)
		return ICK_ET_QUOTA_NOT_FOUND;
	*out = qf->ent[i].dq;
	return 0;
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
