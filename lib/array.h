/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * array.h - heap arrays, the one way lib/ does them: growing by doubling, appending,
 * sorting without repeats and binary search.
 */
#ifndef ICK_ARRAY_H
#define ICK_ARRAY_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * ick_array_push - the @size bytes at @elem appended to the array whose pointer is at
 * @arrp (*@nr elements of *@cap, grown as by ick_array_grow).  0, or ENOMEM (nothing
 * changed).  ICK_ARRAY_PUSH(arr, nr, cap, first, elem) names the array, its counts and a
 * pointer to the element.
 */
static inline int ick_array_push(void *arrp, size_t *nr, size_t *cap, size_t size, size_t first,
				 const void *elem)
{
	void *arr;

	memcpy(&arr, arrp, sizeof(arr));
	if (*nr == *cap) {
		void *n = ick_array_grow(arr, cap, size, first);
		if (!n)
			return ENOMEM;
		arr = n;
		memcpy(arrp, &arr, sizeof(arr));
	}
	memcpy((char *)arr + *nr * size, elem, size);
	(*nr)++;
	return 0;
}
#define ICK_ARRAY_PUSH(arr, nr, cap, first, elem) \
	ick_array_push(&(arr), &(nr), &(cap), sizeof(*(arr)), (first), (elem))

/* ick_array_sort_unique - the @n elements of @arr sorted by @cmp, each run of equal ones
 * kept once; returns how many are left. */
static inline size_t ick_array_sort_unique(void *arr, size_t n, size_t size,
					   int (*cmp)(const void *, const void *))
{
	char *a = arr;
	size_t w = 0;

	if (!n)
		return 0;
	qsort(a, n, size, cmp);
	for (size_t i = 1; i < n; i++)
		if (cmp(a + w * size, a + i * size) && ++w != i)
			memcpy(a + w * size, a + i * size, size);
	return w + 1;
}

/* ick_array_lower_bound - the index of the first of the @n elements of @arr (sorted) for
 * which @cmp(@key, element) <= 0, @n if none. */
static inline size_t ick_array_lower_bound(const void *arr, size_t n, size_t size, const void *key,
					   int (*cmp)(const void *key, const void *elem))
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp(key, (const char *)arr + mid * size) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#endif
