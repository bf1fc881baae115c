/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wp_check.c - the model seen from outside: ick_wp_map (how a range maps), the
 * pending counts, and the model's own checks (delalloc without folio, reservations).
 */
#include "config.h"
#include <stdio.h>
#include "wp.h"

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

	if ((err = wp_get_inode(wp, ino, &wi)))
		return err;
	if (!len)
		len = wi->i_size > pos ? wi->i_size - pos : bs;
	if (pos + len < pos || (pos + len - 1) / bs > MAX_LBLK)
		return EFBIG;
	wp_range_of(wi, pos, len, &lblk, &n);
	for (b = lblk; b < lblk + n; b += m.len) {
		struct ick_wp_range r = { .offset = b * bs, .cookie = wi->es_seq };

		if ((err = wp_model_lookup(wi, b, lblk + n - b, &m)))
			return err;
		r.length = m.len * bs;
		r.type = m.type;
		r.pblk = m.pblk;
		for (uint64_t i = 0; i < m.len; i++)
			r.dirty_blocks += wp_fo_dirty(wi, b + i);
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
			int bad = b < wi->da[i].lblk + wi->da[i].len && !wp_fo_dirty(wi, b);
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
