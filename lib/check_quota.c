/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * check_quota.c - the quota check: each user's, group's and project's usage computed from the
 * inodes, compared with every quota file the superblock names (quota feature only, as e2fsck).
 *
 * Accounting follows e2fsck -n (e2fsprogs 1.47.0: e2fsck/pass1.c check_blocks() and the
 * inode loop of e2fsck_pass1(), lib/support/mkquota.c quota_data_add/quota_data_inodes and
 * quota_compare_and_update), which is what the kernel charges after a clean unmount:
 *  - space = the blocks the walk counts for the inode (data extents written or unwritten,
 *    extent-tree or indirect blocks, the EA block, EA-inode values) x block size, in bytes —
 *    not i_blocks (only tune2fs's quota_compute_usage uses i_blocks);
 *  - inodes = 1, plus 1 per EA inode the inode's xattrs reference (ea_inode feature);
 *  - counted: the root directory and every in-use inode from s_first_ino on, except the
 *    project quota inode, the orphan file, EA inodes (EXT4_EA_INODE_FL) and symlinks kept in
 *    inline data (e2fsck's pass 1 skips check_blocks() for those; the kernel does charge them);
 *  - ids: uid and gid with their high halves; project = i_projid when the inode is large enough
 *    to hold it, else 0; no project accounting at all on 128-byte inodes.
 * A file entry with zero usage and no computed usage is consistent (e2fsck compares against
 * zero).  Findings carry exact bytes and inode counts; the id and type are in the detail.
 * Never writes.  Incrementally (incr.h) the usage is kept by deltas of each inode's charge
 * (ick_quota_usage_*) and compared with the files at every point; not with ea_inode.
 */
#include "config.h"
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "check.h"
#include "ick_err.h"
#include "quota_file.h"
#include "u64map.h"

#define ENTRY_FIXED 16 /* struct ext2_ext_attr_entry without its name */

struct usage {
	uint32_t id;
	uint64_t space, inodes;
};

struct utab {
	struct ick_u64map at;   /* id -> index in v */
	struct usage *v;        /* in the order the ids came */
	size_t cap, nr;
};

struct qstate {
	struct ick_ctx *ctx;
	int active[ICK_QUOTA_NTYPES];
	struct utab tab[ICK_QUOTA_NTYPES];
	int prj_valid;
	char *eabuf;
};

/* ---- per-id usage ---- */

static errcode_t utab_add(struct utab *t, uint32_t id, uint64_t space, uint64_t inodes)
{
	int found;
	uint64_t i = ick_u64map_get(&t->at, id, &found);

	if (!found) {
		i = t->nr;
		if (ICK_ARRAY_PUSH(t->v, t->nr, t->cap, 64, &((struct usage){ .id = id })))
			return ENOMEM;
		if (ick_u64map_put(&t->at, id, i)) {
			t->nr--;
			return ENOMEM;
		}
	}
	t->v[i].space += space;
	t->v[i].inodes += inodes;
	return 0;
}

static void utab_free(struct utab *t)
{
	free(t->v);
	ick_u64map_free(&t->at);
}

static int cmp_usage(const void *a, const void *b)
{
	const struct usage *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* The table's entries sorted by id (the table is consumed: only freed after). */
static struct usage *utab_sorted(struct utab *t)
{
	if (t->nr)
		qsort(t->v, t->nr, sizeof(*t->v), cmp_usage);
	return t->v;
}

/* ---- EA inodes an inode references (each is one more inode charged to it) ---- */

/* The same entries ea_inode.c charges blocks for: e_value_inum set and the hash matching. */
static uint64_t count_ea_inodes(ext2_filsys fs, const unsigned char *p, const unsigned char *end)
{
	uint64_t n = 0;

	while (p + sizeof(uint32_t) <= end) {
		uint32_t first, inum;
		__u32 hash, signed_hash;
		size_t len;

		memcpy(&first, p, 4);
		if (first == 0 || p + ENTRY_FIXED > end)
			break;
		len = (p[0] + ENTRY_FIXED + 3) & ~(size_t)3;
		if (p + len > end)
			break;
		memcpy(&inum, p + 4, 4);
		if (ext2fs_le32_to_cpu(inum) &&
		    !ext2fs_ext_attr_hash_entry3(fs, (struct ext2_ext_attr_entry *)(uintptr_t)p,
						 NULL, &hash, &signed_hash)) {
			const struct ext2_ext_attr_entry *e = (const void *)p;
			if (e->e_hash == hash || e->e_hash == signed_hash)
				n++;
		}
		p += len;
	}
	return n;
}

static uint64_t ea_inode_refs(struct qstate *st, const struct ick_inode_ctx *ic)
{
	ext2_filsys fs = st->ctx->fs;
	const unsigned char *base = (const unsigned char *)ic->inode;
	size_t isize = EXT2_INODE_SIZE(fs->super), start;
	blk64_t blk = ext2fs_file_acl_block(fs, (struct ext2_inode *)ic->inode);
	uint64_t n = 0;
	uint32_t magic;

	if (!ext2fs_has_feature_ea_inode(fs->super))
		return 0;
	start = EXT2_GOOD_OLD_INODE_SIZE + ic->inode->i_extra_isize;
	if (isize > EXT2_GOOD_OLD_INODE_SIZE && !(ic->inode->i_extra_isize & 3) &&
	    start + sizeof(magic) <= isize) {
		memcpy(&magic, base + start, sizeof(magic));
		if (ext2fs_le32_to_cpu(magic) == EXT2_EXT_ATTR_MAGIC)
			n += count_ea_inodes(fs, base + start + sizeof(magic), base + isize);
	}
	if (blk && ext2fs_has_feature_xattr(fs->super) && blk >= fs->super->s_first_data_block &&
	    blk < ext2fs_blocks_count(fs->super) &&
	    !io_channel_read_blk64(fs->io, blk, 1, st->eabuf)) {
		memcpy(&magic, st->eabuf, sizeof(magic));
		if (ext2fs_le32_to_cpu(magic) == EXT2_EXT_ATTR_MAGIC)
			n += count_ea_inodes(fs, (unsigned char *)st->eabuf +
						 sizeof(struct ext2_ext_attr_header),
					     (unsigned char *)st->eabuf + fs->blocksize);
	}
	return n;
}

/* ---- which inodes are charged ---- */

/* e2fsck_pass1_check_symlink()'s test for a valid inline-data symlink. */
static int inline_symlink(ext2_filsys fs, const struct ick_inode_ctx *ic)
{
	const struct ext2_inode_large *in = ic->inode;
	size_t size;

	if (!LINUX_S_ISLNK(in->i_mode) || !(in->i_flags & EXT4_INLINE_DATA_FL))
		return 0;
	if (in->i_size_high || !in->i_size || (in->i_flags & (EXT2_INDEX_FL | EXT4_EXTENTS_FL)))
		return 0;
	if (ext2fs_inline_data_size(fs, ic->ino, &size))
		return 0;
	return in->i_size == size;
}

static int charged(struct qstate *st, const struct ick_inode_ctx *ic)
{
	ext2_filsys fs = st->ctx->fs;
	ext2_ino_t ino = ic->ino;

	if (ino != EXT2_ROOT_INO && ino < EXT2_FIRST_INODE(fs->super))
		return 0;
	if (!ic->inode->i_links_count) /* the root; e2fsck skips it then */
		return 0;
	if (ino == fs->super->s_prj_quota_inum || ino == fs->super->s_orphan_file_inum)
		return 0;
	if (ic->inode->i_flags & EXT4_EA_INODE_FL)
		return 0;
	return !inline_symlink(fs, ic);
}

/* The project id is accounted only where the inode can hold it (q_setup's prj_valid). */
static int prj_valid(ext2_filsys fs)
{
	return EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE;
}

static errcode_t q_end_inode(void *p, struct ick_inode_ctx *ic)
{
	struct qstate *st = p;
	uint64_t space, inodes;
	errcode_t err;

	if (!(st->active[0] || st->active[1] || st->active[2]) || !charged(st, ic))
		return 0;
	space = ic->nblocks * st->ctx->fs->blocksize;
	inodes = 1 + ea_inode_refs(st, ic);
	if (st->active[ICK_QUOTA_USER] &&
	    (err = utab_add(&st->tab[ICK_QUOTA_USER], inode_uid(*ic->inode), space, inodes)))
		return err;
	if (st->active[ICK_QUOTA_GROUP] &&
	    (err = utab_add(&st->tab[ICK_QUOTA_GROUP], inode_gid(*ic->inode), space, inodes)))
		return err;
	if (st->active[ICK_QUOTA_PROJECT] && st->prj_valid &&
	    (err = utab_add(&st->tab[ICK_QUOTA_PROJECT], ick_quota_owner(st->ctx->fs, ic->inode, ICK_QUOTA_PROJECT), space, inodes)))
		return err;
	return 0;
}

/* ---- comparison ---- */

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* One figure (bytes or inodes) that differs: computed @want, the file's @got. */
static errcode_t mismatch(struct ick_ctx *ctx, uint32_t code, uint64_t want, uint64_t got,
			  const char *tn, uint32_t id, const char *what)
{
	struct ick_finding f = ick_finding_blank(code, 0);

	if (want == got)
		return 0;
	f.expected = want;
	f.found = got;
	return ick_report_add(ctx->rep, &f, "%s %u: %s", tn, id, what);
}

static errcode_t differ(struct ick_ctx *ctx, enum ick_quota_type t, uint32_t id,
			const struct usage *u, const struct ick_dquot *d)
{
	const char *tn = ick_quota_type_name(t);
	uint64_t cs = u ? u->space : 0, ci = u ? u->inodes : 0;
	uint64_t fs = d ? d->curspace : 0, fi = d ? d->curinodes : 0;
	char what[160];
	struct ick_finding f;
	errcode_t err;

	if (cs == fs && ci == fi)
		return 0;
	if (!d)
		snprintf(what, sizeof(what), "%llu bytes and %llu inode%s computed; no entry in the "
			 "quota file", (unsigned long long)cs, (unsigned long long)ci, plural(ci));
	else if (!u)
		snprintf(what, sizeof(what), "owns no inode; the quota file charges %llu bytes and "
			 "%llu inode%s", (unsigned long long)fs, (unsigned long long)fi, plural(fi));
	else
		snprintf(what, sizeof(what), "%llu bytes and %llu inode%s computed; the quota file "
			 "has %llu bytes and %llu inode%s", (unsigned long long)cs,
			 (unsigned long long)ci, plural(ci), (unsigned long long)fs,
			 (unsigned long long)fi, plural(fi));
	if ((err = mismatch(ctx, ICK_PR_QUOTA_SPACE, cs, fs, tn, id, what)) ||
	    (err = mismatch(ctx, ICK_PR_QUOTA_INODES, ci, fi, tn, id, what)))
		return err;
	if (!d || !u) {
		f = ick_finding_blank(d ? ICK_PR_QUOTA_ID_NO_INODES : ICK_PR_QUOTA_ID_MISSING, 0);
		if ((err = ick_report_add(ctx->rep, &f, "%s %u", tn, id)))
			return err;
	}
	return 0;
}

struct cmp_ctx {
	struct ick_ctx *ctx;
	enum ick_quota_type t;
	struct usage *u;
	size_t nr, i;
};

static errcode_t cmp_one(const struct ick_dquot *d, void *p)
{
	struct cmp_ctx *c = p;
	errcode_t err;

	for (; c->i < c->nr && c->u[c->i].id < d->id; c->i++)
		if ((err = differ(c->ctx, c->t, c->u[c->i].id, &c->u[c->i], NULL)))
			return err;
	if (c->i < c->nr && c->u[c->i].id == d->id)
		return differ(c->ctx, c->t, d->id, &c->u[c->i++], d);
	return differ(c->ctx, c->t, d->id, NULL, d);
}

/* Limits and grace deadlines of one entry of a malformed file, so they are not lost. */
static errcode_t salvage_one(const struct ick_dquot *d, void *p)
{
	struct cmp_ctx *c = p;
	struct ick_finding f = ick_finding_blank(ICK_PR_QUOTA_LIMITS, 0);

	if (!d->bhardlimit && !d->bsoftlimit && !d->ihardlimit && !d->isoftlimit && !d->btime &&
	    !d->itime)
		return 0;
	return ick_report_add(c->ctx->rep, &f,
			      "%s %u: space limits %llu soft, %llu hard (1 KiB blocks); inode "
			      "limits %llu soft, %llu hard; grace deadlines %llu (space), %llu "
			      "(inodes); usage %llu bytes, %llu inodes",
			      ick_quota_type_name(c->t), d->id, (unsigned long long)d->bsoftlimit,
			      (unsigned long long)d->bhardlimit, (unsigned long long)d->isoftlimit,
			      (unsigned long long)d->ihardlimit, (unsigned long long)d->btime,
			      (unsigned long long)d->itime, (unsigned long long)d->curspace,
			      (unsigned long long)d->curinodes);
}

static errcode_t bad_file(struct ick_ctx *ctx, enum ick_quota_type t, ext2_ino_t ino,
			  struct ick_quota_file *qf)
{
	const struct ick_quota_info *in = ick_quota_get_info(qf);
	int valid = ino <= ctx->fs->super->s_inodes_count;
	struct ick_finding f = ick_finding_blank(ICK_PR_QUOTA_BAD_FILE, valid ? ino : 0);
	struct cmp_ctx c = { .ctx = ctx, .t = t };
	errcode_t err;

	if (in->header_ok)
		err = ick_report_add(ctx->rep, &f, "%s quota file (inode %u): %s; grace periods "
				     "%u s (space), %u s (inodes)", ick_quota_type_name(t), ino,
				     ick_quota_why(qf), in->bgrace, in->igrace);
	else
		err = ick_report_add(ctx->rep, &f, "%s quota file (inode %u): %s",
				     ick_quota_type_name(t), ino, ick_quota_why(qf));
	return err ? err : ick_quota_iterate(qf, salvage_one, &c);
}

/* Type @t's file against @u (@nr entries sorted by id). */
static errcode_t compare_usage(struct ick_ctx *ctx, enum ick_quota_type t, struct usage *u,
			       size_t nr)
{
	ext2_ino_t ino = ick_quota_inum(ctx->fs, t);
	struct ick_quota_file *qf = NULL;
	struct cmp_ctx c = { .ctx = ctx, .t = t, .u = u, .nr = nr };
	errcode_t err;

	err = ick_quota_open(ctx->fs, t, ICK_QUOTA_SALVAGE, &qf);
	if (err == ICK_ET_QUOTA_BAD_MAGIC || err == ICK_ET_QUOTA_BAD_VERSION ||
	    err == ICK_ET_QUOTA_CORRUPT) {
		err = bad_file(ctx, t, ino, qf);
		ick_quota_close(qf);
		return err;
	}
	if (err)
		return err;
	if (ick_quota_list_problem(qf)) {
		struct ick_finding f = ick_finding_blank(ICK_PR_QUOTA_FREE_LIST, ino);
		if ((err = ick_report_add(ctx->rep, &f, "%s quota file (inode %u): %s",
					  ick_quota_type_name(t), ino, ick_quota_list_problem(qf))))
			goto out;
	}
	if ((err = ick_quota_iterate(qf, cmp_one, &c)))
		goto out;
	for (; c.i < c.nr; c.i++)
		if ((err = differ(ctx, t, c.u[c.i].id, &c.u[c.i], NULL)))
			goto out;
out:
	ick_quota_close(qf);
	return err;
}

static errcode_t compare_type(struct qstate *st, enum ick_quota_type t)
{
	size_t nr = st->tab[t].nr;

	return compare_usage(st->ctx, t, utab_sorted(&st->tab[t]), nr);
}

static errcode_t q_finish(struct ick_ctx *ctx, void *p)
{
	struct qstate *st = p;
	errcode_t err;

	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		if (st->active[t] && (err = compare_type(st, (enum ick_quota_type)t)))
			return err;
	return 0;
}

static errcode_t q_setup(struct ick_ctx *ctx, void **state)
{
	struct qstate *st = calloc(1, sizeof(*st));
	errcode_t err;

	*state = st;
	if (!st)
		return ENOMEM;
	st->ctx = ctx;
	st->prj_valid = prj_valid(ctx->fs);
	if (!ext2fs_has_feature_quota(ctx->fs->super))
		return 0;
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		st->active[t] = ick_quota_inum(ctx->fs, (enum ick_quota_type)t) != 0;
	if ((err = ext2fs_get_mem(ctx->fs->blocksize, &st->eabuf)))
		return err;
	return 0;
}

static void q_cleanup(void *p)
{
	struct qstate *st = p;

	if (!st)
		return;
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		utab_free(&st->tab[t]);
	ext2fs_free_mem(&st->eabuf);
	free(st);
}

/* ---- usage kept by the per-inode cache (incr.h), updated by deltas ---- */

struct ick_quota_usage { struct utab tab[ICK_QUOTA_NTYPES]; };

errcode_t ick_quota_usage_new(struct ick_quota_usage **out)
{
	return (*out = calloc(1, sizeof(**out))) ? 0 : ENOMEM;
}

void ick_quota_usage_free(struct ick_quota_usage *u)
{
	if (!u)
		return;
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		utab_free(&u->tab[t]);
	free(u);
}

void ick_quota_charge(ext2_filsys fs, const struct ick_inode_ctx *ic, struct ick_quota_charge *q)
{
	struct qstate st = { 0 };
	struct ick_ctx ctx = { .fs = fs };

	st.ctx = &ctx;
	memset(q, 0, sizeof(*q));
	q->charged = charged(&st, ic);
	q->id[ICK_QUOTA_USER] = inode_uid(*ic->inode);
	q->id[ICK_QUOTA_GROUP] = inode_gid(*ic->inode);
	if (prj_valid(fs))
		q->id[ICK_QUOTA_PROJECT] = ick_quota_owner(fs, ic->inode, ICK_QUOTA_PROJECT);
	q->space = ic->nblocks * fs->blocksize;
	q->inodes = 1;
}

static int active(ext2_filsys fs, enum ick_quota_type t)
{
	return ext2fs_has_feature_quota(fs->super) && ick_quota_inum(fs, t) &&
	       (t != ICK_QUOTA_PROJECT || prj_valid(fs));
}

errcode_t ick_quota_usage_add(struct ick_quota_usage *u, ext2_filsys fs,
			      const struct ick_quota_charge *q, int sign)
{
	errcode_t err;

	if (!q->charged)
		return 0;
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		/* unsigned arithmetic: a charge taken back wraps back exactly */
		if (active(fs, (enum ick_quota_type)t) &&
		    (err = utab_add(&u->tab[t], q->id[t], sign < 0 ? 0 - q->space : q->space,
				    sign < 0 ? 0 - q->inodes : q->inodes)))
			return err;
	return 0;
}

errcode_t ick_quota_usage_compare(ext2_filsys fs, const struct ick_quota_usage *u,
				  struct ick_report *rep)
{
	struct ick_ctx ctx = { .fs = fs, .rep = rep };
	errcode_t err = 0;

	for (int t = 0; t < ICK_QUOTA_NTYPES && !err; t++) {
		const struct utab *tab = &u->tab[t];
		struct usage *v;
		size_t n = 0;

		if (!active(fs, (enum ick_quota_type)t))
			continue;
		if (!(v = malloc((tab->nr + 1) * sizeof(*v))))
			return ENOMEM;
		/* an id left with no inode has no usage at all, as in a walk that never met it */
		for (size_t i = 0; i < tab->nr; i++)
			if (tab->v[i].inodes)
				v[n++] = tab->v[i];
		if (n)
			qsort(v, n, sizeof(*v), cmp_usage);
		err = compare_usage(&ctx, (enum ick_quota_type)t, v, n);
		free(v);
	}
	return err;
}

const struct ick_check_def ick_check_quota = {
	.name = "quota",
	.id = ICK_CHECK_QUOTA,
	.setup = q_setup,
	.ops = { .end_inode = q_end_inode },
	.finish = q_finish,
	.cleanup = q_cleanup,
};
