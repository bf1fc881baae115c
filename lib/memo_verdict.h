/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * memo_verdict.h - checksum verdicts a crash sweep keeps by content from one point to the
 * next (the memo's second cache; memo_map.h is the first).  A verdict is a pure function
 * of some bytes and a little more (the checksum stored elsewhere, the seed, a sequence
 * number: @k1, @k2); the last one of each (@kind, @index) is kept with a copy of its bytes
 * and given again when all are equal, else @compute(@arg) gives it afresh.  Bounded by
 * ICK_MEMO_BUDGET bytes of its own (past it, computed every time).  Not thread-safe.
 */
#ifndef ICK_MEMO_VERDICT_H
#define ICK_MEMO_VERDICT_H
#include <stddef.h>
#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"

#define ICK_MEMO_BUDGET (64u << 20)

struct ick_memo;            /* memo_map.h: holds one table of verdicts */
struct ick_memo_verdicts;   /* the table */

enum ick_memo_kind { ICK_MEMO_BITMAP, ICK_MEMO_JOURNAL_TAG, ICK_MEMO_JOURNAL_DESCR,
		     ICK_MEMO_JOURNAL_COMMIT };

/* @m NULL: always computed. */
int ick_memo_verdict(struct ick_memo *m, enum ick_memo_kind kind, uint64_t index, uint64_t k1,
		     uint64_t k2, const void *bytes, size_t n, int (*compute)(void *arg), void *arg);
/* ext2fs_block_bitmap_csum_verify of group @g's @n bitmap bytes, keyed on the group, the
 * bytes, the checksum its descriptor stores, the seed and the incompat features. */
int ick_memo_bitmap_csum(struct ick_memo *m, ext2_filsys fs, dgrp_t g, const void *bytes,
			 size_t n);

/* The table itself (what ick_memo_verdict asks of its memo's): NULL on ENOMEM. */
struct ick_memo_verdicts *ick_memo_verdicts_new(void);
void ick_memo_verdicts_free(struct ick_memo_verdicts *vs);
/* ick_memo_verdict on a table; @vs NULL: always computed. */
int ick_memo_verdicts_get(struct ick_memo_verdicts *vs, enum ick_memo_kind kind, uint64_t index,
			  uint64_t k1, uint64_t k2, const void *bytes, size_t n,
			  int (*compute)(void *arg), void *arg);

#endif
