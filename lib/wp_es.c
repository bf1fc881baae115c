/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wp_es.c - the extent-status model: the delalloc extents of an inode and their
 * reservations (ext4_da_reserve_space, ext4_da_release_space, ext4_da_update_reserve_space).
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "wp.h"

/* ---- the extent-status model: delalloc extents ---- */

/* Index of the first delalloc extent ending after @lblk. */
size_t wp_da_find(const struct wpi *wi, uint64_t lblk)
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

int wp_is_delalloc(const struct wpi *wi, uint64_t lblk)
{
	size_t i = wp_da_find(wi, lblk);

	return i < wi->nda && wi->da[i].lblk <= lblk;
}

errcode_t wp_da_insert(struct wpi *wi, uint64_t lblk, uint64_t len)
{
	size_t i = wp_da_find(wi, lblk);

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
	if (wp_grow((void **)&wi->da, &wi->cap_da, wi->nda + 1, sizeof(*wi->da)))
		return ENOMEM;
	memmove(&wi->da[i + 1], &wi->da[i], (wi->nda - i) * sizeof(*wi->da));
	wi->da[i] = (struct da_ext){ lblk, len };
	wi->nda++;
	return 0;
}

/* Remove block @lblk from the delalloc extents (it must be one). */
errcode_t wp_da_remove1(struct wpi *wi, uint64_t lblk)
{
	size_t i = wp_da_find(wi, lblk);
	struct da_ext *e = &wi->da[i];
	uint64_t end = e->lblk + e->len;

	if (e->lblk == lblk) {
		e->lblk++;
		e->len--;
	} else if (end == lblk + 1) {
		e->len--;
	} else {
		if (wp_grow((void **)&wi->da, &wi->cap_da, wi->nda + 1, sizeof(*wi->da)))
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
errcode_t wp_reserve(struct ick_wp *wp, struct wpi *wi, uint64_t n)
{
	errcode_t err;

	if (!wp_has_free(wp, wi, n))
		return ENOSPC;
	if ((err = wp_qresv_add(wp, wi, (int64_t)(n * wp->fs->blocksize))))
		return err;
	wp->dirty_clusters += n;
	wi->reserved += n;
	return 0;
}

/* ext4_da_release_space (punch) and ext4_da_update_reserve_space (claim at allocation):
 * the same counters go down; a claim's usage is charged separately, by i_blocks. */
void wp_unreserve(struct ick_wp *wp, struct wpi *wi, uint64_t n)
{
	wp->dirty_clusters -= n <= wp->dirty_clusters ? n : wp->dirty_clusters;
	wi->reserved -= n <= wi->reserved ? n : wi->reserved;
	(void)wp_qresv_add(wp, wi, -(int64_t)(n * wp->fs->blocksize));
}
