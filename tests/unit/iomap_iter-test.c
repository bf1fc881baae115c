/* SPDX-License-Identifier: GPL-2.0-only */
/* iomap_iter-test: the iterator and the buffered-write actor against a fake file system
 * whose mappings are two blocks long: begin/end are called in the kernel's order with the
 * bytes written; a cookie made stale before a folio stops the copy there and the range is
 * mapped again from that byte; a short copy keeps whole folios and partial ones only when
 * they were uptodate; a begin failure after some bytes ends the write with those bytes;
 * iomap_last_written_block rounds as the kernel does. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "ick_err.h"
#include "iomap_iter.h"

#define BS 1024u
#define NB 16

struct fake {
	unsigned char page[NB][BS];
	int uptodate[NB], dirty[NB];
	uint64_t seq;
	int begins, ends;
	uint64_t end_written[8], end_pos[8], begin_pos[8];
	int stale_at_folio;      /* bump seq before this folio index is copied (-1: never) */
	int fail_begin_at;       /* begin number that fails (-1: never) */
};

static errcode_t f_begin(void *p, uint64_t pos, uint64_t len, struct ick_iomap *m)
{
	struct fake *f = p;

	if (f->begins == f->fail_begin_at)
		return ENOSPC;
	f->begin_pos[f->begins++ & 7] = pos;
	m->offset = pos / BS * BS;
	m->length = 2 * BS;
	m->type = ICK_IOMAP_DELALLOC;
	m->flags = ICK_IOMAP_F_NEW;
	m->cookie = f->seq;
	return 0;
}

static errcode_t f_end(void *p, uint64_t pos, uint64_t len, uint64_t written, struct ick_iomap *m)
{
	struct fake *f = p;

	f->end_pos[f->ends & 7] = pos;
	f->end_written[f->ends++ & 7] = written;
	return 0;
}

static int f_valid(void *p, const struct ick_iomap *m)
{
	return m->cookie == ((struct fake *)p)->seq;
}

static errcode_t f_get(void *p, uint64_t index, const struct ick_iomap *m, unsigned from,
		       unsigned to, unsigned char **data, int *uptodate)
{
	struct fake *f = p;

	if (index >= NB)
		return EFBIG;
	if ((int)index == f->stale_at_folio) {
		f->stale_at_folio = -1;
		f->seq++; /* too late: valid() ran already; the next folio sees it */
	}
	*data = f->page[index];
	*uptodate = f->uptodate[index];
	return 0;
}

static void f_write_end(void *p, uint64_t index, unsigned from, unsigned to)
{
	struct fake *f = p;

	f->uptodate[index] = 1;
	f->dirty[index] = 1;
}

static void fill(void *priv, uint64_t off, unsigned char *dst, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (unsigned char)(off + i);
}

static const struct ick_iomap_ops ops = { .begin = f_begin, .end = f_end };
static const struct ick_write_ops wops = {
	.blocksize = BS, .valid = f_valid, .get_folio = f_get, .write_end = f_write_end,
};

static struct fake *fresh(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->stale_at_folio = -1;
	f->fail_begin_at = -1;
	return f;
}

static void test_whole(void **s)
{
	struct fake *f = fresh();
	struct ick_write_src src = { .fill = fill, .limit = UINT64_MAX };
	uint64_t w;

	assert_int_equal(ick_iomap_buffered_write(f, 100, 5000, &ops, &wops, &src, &w), 0);
	assert_int_equal(w, 5000);
	/* 100..5100 spans blocks 0-4: mappings [0,2) [2,4) [4,6) */
	assert_int_equal(f->begins, 3);
	assert_int_equal(f->ends, 3);
	assert_int_equal(f->begin_pos[1], 2048);
	assert_int_equal(f->end_written[0], 2048 - 100);
	assert_int_equal(f->end_written[2], 5100 - 4096);
	assert_int_equal(f->page[0][100], (unsigned char)100);
	assert_int_equal(f->page[4][5099 - 4096], (unsigned char)5099);
	assert_int_equal(f->dirty[5], 0);
	free(f);
}

static void test_stale_remaps(void **s)
{
	struct fake *f = fresh();
	struct ick_write_src src = { .fill = fill, .limit = UINT64_MAX };
	uint64_t w;

	f->stale_at_folio = 0; /* seq changes while folio 0 is copied */
	assert_int_equal(ick_iomap_buffered_write(f, 0, 4 * BS, &ops, &wops, &src, &w), 0);
	assert_int_equal(w, 4 * BS);
	/* mapping 1 ended after one folio (stale), then mapped again at 1024 */
	assert_int_equal(f->end_written[0], BS);
	assert_int_equal(f->begin_pos[1], BS);
	assert_int_equal(f->begins, 3);
	free(f);
}

static void test_short_copy(void **s)
{
	struct fake *f = fresh();
	struct ick_write_src src = { .fill = fill, .limit = 2500 };
	uint64_t w;

	/* 100..: folio 0 takes 924, folio 1 1024, folio 2 would take 552 of 1024 into a
	 * folio that is not uptodate: thrown away */
	assert_int_equal(ick_iomap_buffered_write(f, 100, 10000, &ops, &wops, &src, &w), 0);
	assert_int_equal(w, 1948);
	assert_int_equal(f->dirty[2], 0);
	assert_int_equal(f->end_written[f->ends - 1], 0); /* the last mapping wrote nothing */
	/* the same into uptodate folios keeps the partial folio */
	struct fake *g = fresh();
	struct ick_write_src src2 = { .fill = fill, .limit = 2500 };
	for (int i = 0; i < NB; i++)
		g->uptodate[i] = 1;
	assert_int_equal(ick_iomap_buffered_write(g, 100, 10000, &ops, &wops, &src2, &w), 0);
	assert_int_equal(w, 2500);
	free(f);
	free(g);
}

static void test_begin_fails(void **s)
{
	struct fake *f = fresh();
	struct ick_write_src src = { .fill = fill, .limit = UINT64_MAX };
	uint64_t w;

	f->fail_begin_at = 1;
	assert_int_equal(ick_iomap_buffered_write(f, 0, 8 * BS, &ops, &wops, &src, &w), 0);
	assert_int_equal(w, 2 * BS);
	f = (free(f), fresh());
	f->fail_begin_at = 0;
	assert_int_equal(ick_iomap_buffered_write(f, 0, 8 * BS, &ops, &wops, &src, &w), ENOSPC);
	assert_int_equal(w, 0);
	free(f);
}

static void test_last_written_block(void **s)
{
	assert_int_equal(ick_iomap_last_written_block(BS, 1500, 0), 1024);
	assert_int_equal(ick_iomap_last_written_block(BS, 1500, 1), 2048);
	assert_int_equal(ick_iomap_last_written_block(BS, 1024, 1024), 2048);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_whole), cmocka_unit_test(test_stale_remaps),
		cmocka_unit_test(test_short_copy), cmocka_unit_test(test_begin_fails),
		cmocka_unit_test(test_last_written_block),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
