/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * quota_write.c - update one id's usage in an ext4 quota file opened read-write
 * (quota_read.c opens it): the tree and data blocks, the free-block and free-entry lists and
 * the info block, as the kernel's fs/quota/quota_tree.c and e2fsprogs' quotaio_tree.c keep
 * them (see quota_file.h; no code is copied from them).
 */
#include "config.h"
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "quota_handle.h"
#include "ick_err.h"

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

/* A block for the tree or for entries: from the free-block list, else a new one at the end. */
static errcode_t alloc_blk(struct ick_quota_file *qf, uint32_t *out)
{
	struct ick_quota_info *in = &qf->info;
	errcode_t err;

	if (in->free_blk) {
		uint32_t b = in->free_blk, next;
		if ((err = ick_quota_read_blk(qf, b, qf->tmp)))
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

	if ((err = ick_quota_read_blk(qf, b, qf->tmp)))
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
		if ((err = ick_quota_read_blk(qf, b, buf)))
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
	if ((err = ick_quota_entry_encode(qf->info.version, d, buf + DQDH + s * qf->esize)))
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

	if ((err = ick_quota_entry_encode(qf->info.version, d, ent))) /* refuse before changing anything */
		return err;
	if ((err = ick_quota_room(qf)))
		return err;
	for (int depth = 0; depth < DEPTH - 1; depth++) {
		unsigned char *buf = qf->tb[depth];
		if ((err = ick_quota_read_blk(qf, path, buf)))
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
	if ((err = ick_quota_read_blk(qf, path, qf->tb[DEPTH - 1])))
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
		if ((err = ick_quota_read_blk(qf, path[depth], qf->tb[depth])))
			return err;
		r = get32(qf->tb[depth] + 4 * idx_of(id, depth));
		if (depth < DEPTH - 1)
			path[depth + 1] = r;
		if (!r || r >= qf->info.blocks || (depth == DEPTH - 1 && r != e->blk))
			return ICK_ET_QUOTA_CORRUPT;
	}
	/* the data block */
	if ((err = ick_quota_read_blk(qf, e->blk, buf)))
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
	i = ick_quota_find(qf, id, &pos);
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
	if ((err = ick_quota_entry_encode(qf->info.version, &d, raw)))
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
	long i = ick_quota_find(qf, id, NULL);
	uint64_t space, inodes;
	errcode_t err;

	if (i >= 0)
		d = qf->ent[i].dq;
	if ((err = apply_delta(d.curspace, dspace, &space)) ||
	    (err = apply_delta(d.curinodes, dinodes, &inodes)))
		return err;
	return ick_quota_set_usage(qf, id, space, inodes);
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

