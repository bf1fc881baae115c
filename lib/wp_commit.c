/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wp_commit.c - the model's commits (one atomic metadata step, as a replayed journal
 * transaction leaves it), the crash-point report, and quota: usage charged by i_blocks,
 * delalloc's in-memory reservation per id (dquot's reserved space).
 */
#include "config.h"
#include <errno.h>
#include "wp.h"

/* ---- commits ---- */

/* One metadata step, atomically: everything it changed reaches the image now. */
errcode_t wp_commit(struct ick_wp *wp, struct wpi *wi, const char *what)
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
	wp_trace(wp, "commit: %s", what);
	return wp->hooks.commit ? wp->hooks.commit(wp->hooks.priv, what) : 0;
}

/* A crash-point boundary: tell the observer (a failure is kept for the request). */
void wp_passed(struct wpi *wi, enum ick_wp_crash c)
{
	struct ick_wp *wp = wi->wp;
	errcode_t err;

	if (wp->hooks.point && (err = wp->hooks.point(wp->hooks.priv, c, wi->ino)) &&
	    !wp->hook_err)
		wp->hook_err = err;
}

/* ---- quota ---- */

/* Charge (or return) usage to the user, group and project in @owner. */
void wp_charge_ids(struct ick_wp *wp, const uint32_t *owner, int64_t bytes, int64_t inodes)
{
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++) {
		/* a malformed quota file keeps its old usage: the quota check reports it */
		errcode_t e = wp->q[t] ? ick_quota_add_usage(wp->q[t], owner[t], bytes, inodes) : 0;
		(void)e;
	}
}

void wp_charge(struct ick_wp *wp, struct wpi *wi, int64_t bytes, int64_t inodes)
{
	if (wi->call && (wi->call->bugs & ICK_WP_BUG_NO_QUOTA) && bytes > 0)
		return;
	wp_charge_ids(wp, wi->owner, bytes, inodes);
}

static struct qresv *qresv_get(struct ick_wp *wp, int t, uint32_t id)
{
	for (size_t i = 0; i < wp->nqr[t]; i++)
		if (wp->qr[t][i].id == id)
			return &wp->qr[t][i];
	if (wp_grow((void **)&wp->qr[t], &wp->cap_qr[t], wp->nqr[t] + 1,
			   sizeof(struct qresv)))
		return NULL;
	wp->qr[t][wp->nqr[t]] = (struct qresv){ .id = id };
	return &wp->qr[t][wp->nqr[t]++];
}

errcode_t wp_qresv_add(struct ick_wp *wp, struct wpi *wi, int64_t bytes)
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
