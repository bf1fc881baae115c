/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * u64map.h - a map from 64-bit keys to 64-bit values: open addressing, linear probing,
 * deletion by backward shift, so lookups stay short however many keys come and go.
 * Any key but UINT64_MAX (the empty slot).  Grows by doubling; not thread-safe.
 * To visit every entry, walk the slots: k[i] != ICK_U64MAP_EMPTY holds v[i].
 */
#ifndef ICK_U64MAP_H
#define ICK_U64MAP_H
#include <stddef.h>
#include <stdint.h>
#include "ick_compiler.h"

#define ICK_U64MAP_EMPTY UINT64_MAX

struct ick_u64map {
	uint64_t *k, *v;
	size_t cap, nr;   /* cap: 0 or a power of two */
};

/* Value of @key, or 0 with *@found 0 when absent (@found may be NULL). */
uint64_t ick_u64map_get(const struct ick_u64map *m, uint64_t key, int *found);
/* Where the value of @key is held (valid until the next put or del), or NULL if absent. */
uint64_t *ick_u64map_ref(const struct ick_u64map *m, uint64_t key);
/* Set @key to @val; ENOMEM (the map unchanged) or EINVAL for UINT64_MAX. */
ICK_MUST_CHECK int ick_u64map_put(struct ick_u64map *m, uint64_t key, uint64_t val);
/* Room for @n keys without growing (a hint: ENOMEM leaves the map as it was). */
ICK_MUST_CHECK int ick_u64map_reserve(struct ick_u64map *m, size_t n);
/* Remove @key if present. */
void ick_u64map_del(struct ick_u64map *m, uint64_t key);
void ick_u64map_free(struct ick_u64map *m);
/* Bytes the map holds. */
size_t ick_u64map_bytes(const struct ick_u64map *m);

#endif
