/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * array.h - growing a heap array by doubling, the one way lib/ does it.
 */
#ifndef ICK_ARRAY_H
#define ICK_ARRAY_H

#include <stdint.h>
#include <stdlib.h>

/*
 * ick_array_grow - @arr (of *@cap elements of @size bytes) reallocated to twice its
 * capacity, or to @first elements when empty.  Returns the new array and updates *@cap,
 * or NULL (ENOMEM; @arr and *@cap unchanged).
 */
static inline void *ick_array_grow(void *arr, size_t *cap, size_t size, size_t first)
{
	size_t ncap = *cap ? *cap * 2 : first;
	void *n;

	if (ncap < *cap || ncap > SIZE_MAX / size || !(n = realloc(arr, ncap * size)))
		return NULL;
	*cap = ncap;
	return n;
}

#endif
