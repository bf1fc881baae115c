/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * u64map.c - see u64map.h.  Written by hand: no installed library offers an integer hash
 * map (libext2fs has bitmaps and the inode cache, glib is not a dependency).
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include "u64map.h"

#define EMPTY ICK_U64MAP_EMPTY

static size_t slot0(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

static size_t find(const struct ick_u64map *m, uint64_t key)
{
	size_t i = slot0(key, m->cap);

	while (m->k[i] != EMPTY && m->k[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

uint64_t *ick_u64map_ref(const struct ick_u64map *m, uint64_t key)
{
	size_t i;

	if (!m->cap || key == EMPTY)
		return NULL;
	i = find(m, key);
	return m->k[i] == EMPTY ? NULL : &m->v[i];
}

uint64_t ick_u64map_get(const struct ick_u64map *m, uint64_t key, int *found)
{
	const uint64_t *v = ick_u64map_ref(m, key);

	if (found)
		*found = v != NULL;
	return v ? *v : 0;
}

static int grow_to(struct ick_u64map *m, size_t cap)
{
	struct ick_u64map n = { .cap = cap };

	if (n.cap < m->cap || n.cap > SIZE_MAX / sizeof(uint64_t) ||
	    !(n.k = malloc(n.cap * sizeof(uint64_t))) || !(n.v = malloc(n.cap * sizeof(uint64_t)))) {
		free(n.k);
		return ENOMEM;
	}
	for (size_t i = 0; i < n.cap; i++)
		n.k[i] = EMPTY;
	for (size_t i = 0; i < m->cap; i++)
		if (m->k[i] != EMPTY) {
			size_t j = find(&n, m->k[i]);
			n.k[j] = m->k[i];
			n.v[j] = m->v[i];
		}
	n.nr = m->nr;
	ick_u64map_free(m);
	*m = n;
	return 0;
}

static int grow(struct ick_u64map *m)
{
	return grow_to(m, m->cap ? m->cap * 2 : 64);
}

int ick_u64map_reserve(struct ick_u64map *m, size_t n)
{
	size_t cap = m->cap ? m->cap : 64;

	while ((n + 1) * 4 > cap * 3) {
		if (cap > SIZE_MAX / 4)
			return ENOMEM;
		cap *= 2;
	}
	return cap > m->cap ? grow_to(m, cap) : 0;
}

int ick_u64map_put(struct ick_u64map *m, uint64_t key, uint64_t val)
{
	size_t i;

	if (key == EMPTY)
		return EINVAL;
	if ((m->nr + 1) * 4 > m->cap * 3 && grow(m))
		return ENOMEM;
	i = find(m, key);
	if (m->k[i] == EMPTY) {
		m->k[i] = key;
		m->nr++;
	}
	m->v[i] = val;
	return 0;
}

void ick_u64map_del(struct ick_u64map *m, uint64_t key)
{
	size_t i, j, mask = m->cap - 1;

	if (!m->cap || key == EMPTY || m->k[i = find(m, key)] == EMPTY)
		return;
	/* backward shift: move up every later entry of the run that may sit in the hole */
	for (j = (i + 1) & mask; m->k[j] != EMPTY; j = (j + 1) & mask) {
		size_t h = slot0(m->k[j], m->cap);
		/* entry j may move to i when its home h is not cyclically in (i, j] */
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			m->k[i] = m->k[j];
			m->v[i] = m->v[j];
			i = j;
		}
	}
	m->k[i] = EMPTY;
	m->nr--;
}

void ick_u64map_free(struct ick_u64map *m)
{
	free(m->k);
	free(m->v);
	*m = (struct ick_u64map){ 0 };
}

size_t ick_u64map_bytes(const struct ick_u64map *m)
{
	return m->cap * 2 * sizeof(uint64_t);
}
