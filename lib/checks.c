/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * checks.c - the check table and the fan-out of one walk to every selected check.
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "check.h"
#include "memo.h"

static const struct ick_check_def *const all_checks[] = {
	&ick_check_bitmap,
	&ick_check_unwritten,
	&ick_check_size,
	&ick_check_quota,
	&ick_check_stale,
};

const struct ick_check_def *const *ick_checks(size_t *nr)
{
	*nr = ICK_ARRAY_SIZE(all_checks);
	return all_checks;
}

unsigned ick_check_mask(const char *name)
{
	for (size_t i = 0; i < ICK_ARRAY_SIZE(all_checks); i++)
		if (!strcmp(all_checks[i]->name, name))
			return 1u << all_checks[i]->id;
	return 0;
}

struct fanout {
	const struct ick_check_def *def[ICK_ARRAY_SIZE(all_checks)];
	void *state[ICK_ARRAY_SIZE(all_checks)];
	size_t nr;
	const struct ick_walk_ops *rec; /* a recorder: first to begin, last to claim and end */
	void *rec_priv;
};

static errcode_t fan_claim(void *p, const struct ick_claim *c, struct ick_inode_ctx *ic)
{
	struct fanout *f = p;
	errcode_t err;

	for (size_t i = 0; i < f->nr; i++)
		if (f->def[i]->ops.claim && (err = f->def[i]->ops.claim(f->state[i], c, ic)))
			return err;
	return f->rec && f->rec->claim ? f->rec->claim(f->rec_priv, c, ic) : 0;
}

static errcode_t fan_begin(void *p, struct ick_inode_ctx *ic)
{
	struct fanout *f = p;
	errcode_t err;

	if (f->rec && f->rec->begin_inode && (err = f->rec->begin_inode(f->rec_priv, ic)))
		return err;
	for (size_t i = 0; i < f->nr; i++)
		if (f->def[i]->ops.begin_inode && (err = f->def[i]->ops.begin_inode(f->state[i], ic)))
			return err;
	return 0;
}

static errcode_t fan_end(void *p, struct ick_inode_ctx *ic)
{
	struct fanout *f = p;
	errcode_t err;

	for (size_t i = 0; i < f->nr; i++)
		if (f->def[i]->ops.end_inode && (err = f->def[i]->ops.end_inode(f->state[i], ic)))
			return err;
	return f->rec && f->rec->end_inode ? f->rec->end_inode(f->rec_priv, ic) : 0;
}

static errcode_t fan_scan_error(void *p, ext2_ino_t ino, errcode_t e)
{
	struct fanout *f = p;
	errcode_t err;

	for (size_t i = 0; i < f->nr; i++)
		if (f->def[i]->ops.scan_error &&
		    (err = f->def[i]->ops.scan_error(f->state[i], ino, e)))
			return err;
	return f->rec && f->rec->scan_error ? f->rec->scan_error(f->rec_priv, ino, e) : 0;
}

static void fan_map_read(void *p, blk64_t blk)
{
	struct fanout *f = p;

	if (f->rec && f->rec->map_read)
		f->rec->map_read(f->rec_priv, blk);
}

static const struct ick_walk_ops fan_ops = {
	.claim = fan_claim, .begin_inode = fan_begin, .end_inode = fan_end,
	.scan_error = fan_scan_error, .map_read = fan_map_read,
};

errcode_t ick_checks_run(struct ick_image *img, unsigned mask, struct ick_report *rep)
{
	return ick_checks_run_opts(img, mask, NULL, rep);
}

errcode_t ick_checks_run_opts(struct ick_image *img, unsigned mask,
			      const struct ick_check_opts *opts, struct ick_report *rep)
{
	return ick_checks_run_rec(img, mask, opts, rep, NULL, NULL);
}

/* The walk: everything (@inos NULL) or those inodes only. */
static errcode_t run(struct ick_image *img, unsigned mask, const struct ick_check_opts *opts,
		     struct ick_report *rep, const ext2_ino_t *inos, size_t n,
		     const struct ick_walk_ops *rec, void *rec_priv)
{
	struct ick_ctx ctx = { .fs = img->fs, .rep = rep, .opts = opts };
	struct fanout f = { .nr = 0, .rec = rec, .rec_priv = rec_priv };
	errcode_t err = 0;

	for (size_t i = 0; i < ICK_ARRAY_SIZE(all_checks); i++) {
		if (!(mask & (1u << all_checks[i]->id)))
			continue;
		f.def[f.nr] = all_checks[i];
		f.state[f.nr] = NULL;
		err = all_checks[i]->setup ? all_checks[i]->setup(&ctx, &f.state[f.nr]) : 0;
		f.nr++; /* cleanup runs even for a failed setup: it frees what setup got */
		if (err)
			goto out;
	}
	if (inos)
		err = ick_walk_inodes(img->fs, &fan_ops, &f, inos, n);
	else if (f.nr || rec)
		err = ick_walk_incremental(img->fs, &fan_ops, &f, opts ? opts->memo : NULL);
	if (err)
		goto out;
	for (size_t i = 0; i < f.nr && !err; i++)
		if (f.def[i]->finish)
			err = f.def[i]->finish(&ctx, f.state[i]);
out:
	for (size_t i = 0; i < f.nr; i++)
		if (f.def[i]->cleanup)
			f.def[i]->cleanup(f.state[i]);
	return err;
}

errcode_t ick_checks_run_rec(struct ick_image *img, unsigned mask,
			     const struct ick_check_opts *opts, struct ick_report *rep,
			     const struct ick_walk_ops *rec, void *rec_priv)
{
	return run(img, mask, opts, rep, NULL, 0, rec, rec_priv);
}

errcode_t ick_checks_run_inodes(struct ick_image *img, unsigned mask,
				const struct ick_check_opts *opts, struct ick_report *rep,
				const ext2_ino_t *inos, size_t n, const struct ick_walk_ops *rec,
				void *rec_priv)
{
	return run(img, mask, opts, rep, inos, n, rec, rec_priv);
}
