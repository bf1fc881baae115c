/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * memo_verdict.c - checksum verdicts kept by content (see memo_verdict.h).  (kind, index)
 * -> a slot of an array (u64map.h), each slot one verdict with a copy of the bytes it
 * judged.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "memo_verdict.h"
#include "u64map.h"

struct verdict {
	uint64_t k1, k2;
	int ok;
	size_t n;
	unsigned char *bytes;
};

struct ick_memo_verdicts {
	struct ick_u64map at;      /* index * 8 + kind -> slot of v */
	struct verdict *v;
	size_t nr, cap;
	size_t bytes;              /* held by the verdicts' copies */
};

struct ick_memo_verdicts *ick_memo_verdicts_new(void)
{
	return calloc(1, sizeof(struct ick_memo_verdicts));
}

void ick_memo_verdicts_free(struct ick_memo_verdicts *vs)
{
	if (!vs)
		return;
	for (size_t i = 0; i < vs->nr; i++)
		free(vs->v[i].bytes);
	free(vs->v);
	ick_u64map_free(&vs->at);
	free(vs);
}

static size_t held(const struct ick_memo_verdicts *vs)
{
	return vs->bytes + vs->cap * sizeof(*vs->v) + ick_u64map_bytes(&vs->at);
}

/* The slot of @key, a new empty one if it has none; NULL when full. */
static struct verdict *slot(struct ick_memo_verdicts *vs, uint64_t key)
{
	int found;
	uint64_t i = ick_u64map_get(&vs->at, key, &found);

	if (found)
		return &vs->v[i];
	if (held(vs) >= ICK_MEMO_BUDGET)
		return NULL;
	if (vs->nr == vs->cap) {
		struct verdict *n = ick_array_grow(vs->v, &vs->cap, sizeof(*n), 64);
		if (!n)
			return NULL;
		vs->v = n;
	}
	if (ick_u64map_put(&vs->at, key, vs->nr))
		return NULL;
	vs->v[vs->nr] = (struct verdict){ 0 };
	return &vs->v[vs->nr++];
}

int ick_memo_verdicts_get(struct ick_memo_verdicts *vs, enum ick_memo_kind kind, uint64_t index,
			  uint64_t k1, uint64_t k2, const void *bytes, size_t n,
			  int (*compute)(void *arg), void *arg)
{
	struct verdict *v;

	/* the indices (groups, journal blocks) are 32-bit: a larger one is not kept */
	if (!vs || !n || index >= 1ull << 60 || !(v = slot(vs, index * 8 + kind)))
		return compute(arg);
	if (v->bytes && v->k1 == k1 && v->k2 == k2 && v->n == n && !memcmp(v->bytes, bytes, n))
		return v->ok;
	if (!v->bytes || v->n != n) { /* a new slot, or another size: (re)allocate */
		size_t more = n > v->n ? n - v->n : 0; /* an empty slot's n is 0 */
		unsigned char *nb;

		if (more > ICK_MEMO_BUDGET - held(vs) || !(nb = realloc(v->bytes, n)))
			return compute(arg); /* full: compute every time */
		vs->bytes = vs->bytes - v->n + n;
		v->bytes = nb;
		v->n = n;
	}
	v->k1 = k1;
	v->k2 = k2;
	v->ok = compute(arg);
	memcpy(v->bytes, bytes, n);
	return v->ok;
}

/* ---- block bitmap checksums ---- */

struct bitmap_arg { ext2_filsys fs; dgrp_t g; const void *bytes; size_t n; };

static int bitmap_compute(void *p)
{
	struct bitmap_arg *a = p;

	return ext2fs_block_bitmap_csum_verify(a->fs, a->g, (char *)a->bytes, (int)a->n);
}

int ick_memo_bitmap_csum(struct ick_memo *m, ext2_filsys fs, dgrp_t g, const void *bytes,
			 size_t n)
{
	struct bitmap_arg a = { fs, g, bytes, n };

	if (n > INT32_MAX)
		return 0;
	return ick_memo_verdict(m, ICK_MEMO_BITMAP, g,
				(uint64_t)fs->csum_seed | (uint64_t)fs->super->s_feature_incompat << 32,
				ext2fs_block_bitmap_checksum(fs, g), bytes, n, bitmap_compute, &a);
}
