/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wp_folio.c - the page cache: block-sized folios per inode, from a pool of mmap'ed chunks.
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "wp.h"

/* ---- the page cache ---- */

static size_t fo_find(const struct wpi *wi, uint64_t index)
{
	size_t lo = 0, hi = wi->nfo;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (wi->fo[mid]->index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct folio *wp_fo_lookup(const struct wpi *wi, uint64_t index)
{
	size_t i = fo_find(wi, index);

	return i < wi->nfo && wi->fo[i]->index == index ? wi->fo[i] : NULL;
}

int wp_fo_dirty(const struct wpi *wi, uint64_t index)
{
	const struct folio *f = wp_fo_lookup(wi, index);

	return f && f->dirty;
}

/* Chunks double from 64 KiB to POOL_CHUNK: a small write pays for little memory. */
#define POOL_RESERVE_MAX (256u << 20)
/* @want > 0: one chunk of about @want folios (a write reserves what it will need, so a
 * small write populates no more than it uses); 0: the doubling rule. */
int wp_pool_grow(struct ick_wp *wp, size_t want)
{
	size_t size = wp->chunks ? wp->chunks->size * 2 : (64u << 10), fs = wp->folio_size, n;
	struct chunk *c;
	unsigned char *p;

	if (size > POOL_CHUNK)
		size = POOL_CHUNK;
	if (want)
		size = want < (POOL_RESERVE_MAX - sizeof(struct chunk)) / fs
			       ? sizeof(struct chunk) + want * fs : POOL_RESERVE_MAX;
	if (size < sizeof(struct chunk) + fs)
		size = sizeof(struct chunk) + fs;
	n = (size - sizeof(struct chunk)) / fs;
	c = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		 -1, 0);
	if (c == MAP_FAILED)
		return -1;
	c->size = size;
	c->next = wp->chunks;
	wp->chunks = c;
	p = (unsigned char *)(c + 1);
	for (size_t i = 0; i < n; i++) {
		struct folio *f = (struct folio *)(p + i * fs);
		f->next = wp->free_folios;
		wp->free_folios = f;
	}
	wp->nfree += n;
	return 0;
}

static struct folio *folio_get(struct ick_wp *wp)
{
	struct folio *f;

	if (!wp->free_folios && wp_pool_grow(wp, 0))
		return NULL;
	f = wp->free_folios;
	wp->free_folios = f->next;
	wp->nfree--;
	f->next = NULL;
	f->dirty = f->uptodate = 0;
	return f;
}

void wp_folio_put(struct ick_wp *wp, struct folio *f)
{
	f->next = wp->free_folios;
	wp->free_folios = f;
	wp->nfree++;
}

/* After writeback the clean folios are evicted, as memory pressure would: memory stays
 * bounded by what is dirty, and a later partial write reads the block again. */
void wp_evict_clean(struct wpi *wi)
{
	size_t j = 0;

	for (size_t i = 0; i < wi->nfo; i++) {
		if (wi->fo[i]->dirty)
			wi->fo[j++] = wi->fo[i];
		else
			wp_folio_put(wi->wp, wi->fo[i]);
	}
	wi->nfo = j;
}

errcode_t wp_fo_create(struct wpi *wi, uint64_t index, struct folio **out)
{
	size_t i = fo_find(wi, index);
	struct folio *f;

	if (i < wi->nfo && wi->fo[i]->index == index) {
		*out = wi->fo[i];
		return 0;
	}
	if (wp_grow((void **)&wi->fo, &wi->cap_fo, wi->nfo + 1, sizeof(*wi->fo)))
		return ENOMEM;
	if (!(f = folio_get(wi->wp)))
		return ENOMEM;
	f->index = index;
	memmove(&wi->fo[i + 1], &wi->fo[i], (wi->nfo - i) * sizeof(*wi->fo));
	wi->fo[i] = f;
	wi->nfo++;
	*out = f;
	return 0;
}
