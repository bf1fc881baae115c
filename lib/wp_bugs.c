/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wp_bugs.c - the write path's bug toggles: each a real mistake of the kernel's write path
 * that one check must catch.  One row per toggle (its bit in write_path.h): the name
 * iomap_write --bug takes, the finding that catches it (tests/cases/w_bug_toggles runs the
 * write that exposes each and wants that finding with the toggle and not without), and
 * what it does.
 */
#include "config.h"
#include <string.h>
#include "wp.h"

static const struct ick_wp_bug bugs[] = {
	{ "written_alloc", ICK_WP_BUG_WRITTEN_ALLOC, "stale 0x0601",
	  "new blocks allocated written instead of unwritten" },
	{ "convert_early", ICK_WP_BUG_CONVERT_EARLY, "stale 0x0601",
	  "the conversion committed before the data write" },
	{ "no_punch", ICK_WP_BUG_NO_PUNCH, "delalloc 0x0501",
	  "a short da write keeps its stale delalloc range and reservation" },
	{ "no_quota", ICK_WP_BUG_NO_QUOTA, "quota 0x0401",
	  "an allocation not charged to quota" },
	{ "leak_on_fail", ICK_WP_BUG_LEAK_ON_FAIL, "bitmap 0x0102",
	  "the failure path drops the allocation but not its bitmap bits" },
};

const struct ick_wp_bug *ick_wp_bug_get(size_t i)
{
	return i < ICK_ARRAY_SIZE(bugs) ? &bugs[i] : NULL;
}

int ick_wp_bug_parse(const char *s, unsigned *bits)
{
	const struct ick_wp_bug *b;

	for (size_t i = 0; (b = ick_wp_bug_get(i)); i++)
		if (!strcmp(s, b->name)) {
			*bits |= b->bit;
			return 0;
		}
	return -1;
}
