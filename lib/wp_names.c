/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wp_names.c - the write-path model's names (modes, crash points) and its trace line.
 */
#include "config.h"
#include <string.h>
#include <stdarg.h>
#include <stdio.h>
#include "wp.h"

static const char *const crash_names[] = { "none", "after_reserve", "after_copy",
					   "after_alloc", "after_data", "after_convert" };

int ick_wp_mode_parse(const char *s, enum ick_wp_mode *out)
{
	if (!strcmp(s, "da"))
		*out = ICK_WP_DA;
	else if (!strcmp(s, "nonda"))
		*out = ICK_WP_NONDA;
	else if (!strcmp(s, "auto"))
		*out = ICK_WP_AUTO;
	else
		return -1;
	return 0;
}

int ick_wp_crash_parse(const char *s, enum ick_wp_crash *out)
{
	for (unsigned i = 1; i < ICK_ARRAY_SIZE(crash_names); i++)
		if (!strcmp(s, crash_names[i])) {
			*out = i;
			return 0;
		}
	return -1;
}

const char *ick_wp_crash_name(enum ick_wp_crash c)
{
	return (unsigned)c < ICK_ARRAY_SIZE(crash_names) ? crash_names[c] : "?";
}

unsigned char ick_wp_pattern_byte(uint64_t off, unsigned seed)
{
	return (unsigned char)((off % 251) + (off / 4096) + seed);
}

void ICK_PRINTF(2, 3) wp_trace(struct ick_wp *wp, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!wp->trace)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	wp->trace(wp->trace_priv, line);
}
