/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * report.c - the finding sink: the code table, merging of adjacent ranges, severity counts.
 * Owns every finding's detail string.  Never prints (see report_text.c / report_json.c).
 */
#include "config.h"
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "report.h"
#include "ick_err.h"
#include "exit_codes.h"

static const struct ick_pr_info pr_table[] = {
#define ICK_PR(name, code, check, sev, text) \
	{ code, #name, ICK_CHECK_##check, ICK_SEV_##sev, text },
#include "findings.def"
#undef ICK_PR
};

const struct ick_pr_info *ick_pr_table(size_t *nr)
{
	*nr = ICK_ARRAY_SIZE(pr_table);
	return pr_table;
}

const struct ick_pr_info *ick_pr_lookup(uint32_t code)
{
	for (size_t i = 0; i < ICK_ARRAY_SIZE(pr_table); i++)
		if (pr_table[i].code == code)
			return &pr_table[i];
	return NULL;
}

const char *ick_check_name(enum ick_check c)
{
	static const char *const names[] = { "?", "bitmap", "unwritten", "size", "quota",
					     "delalloc", "stale", "?", "journal", "durable" };
	return (unsigned)c < ICK_ARRAY_SIZE(names) ? names[c] : "?";
}

const char *ick_severity_name(enum ick_severity s)
{
	static const char *const names[] = { "info", "warning", "error" };
	return (unsigned)s < ICK_ARRAY_SIZE(names) ? names[s] : "?";
}

errcode_t ick_report_init(struct ick_report *rep, const char *image)
{
	memset(rep, 0, sizeof(*rep));
	rep->image = strdup(image ? image : "");
	return rep->image ? 0 : ENOMEM;
}

void ick_report_free(struct ick_report *rep)
{
	for (size_t i = 0; i < rep->nr; i++)
		free(rep->f[i].detail);
	free(rep->f);
	free(rep->image);
	free(rep->note);
	memset(rep, 0, sizeof(*rep));
}

struct ick_finding ick_finding_blank(uint32_t code, ext2_ino_t ino)
{
	struct ick_finding f = { .code = code, .ino = ino, .lblk = ICK_NONE, .pblk = ICK_NONE,
				 .len = ICK_NONE, .expected = ICK_NONE, .found = ICK_NONE };
	return f;
}

static int adjacent(uint64_t a, uint64_t alen, uint64_t b)
{
	if (a == ICK_NONE || b == ICK_NONE)
		return a == b;
	return a + alen == b;
}

/* Merge @f into the last record when it continues the same range of the same problem. */
static int try_merge(struct ick_report *rep, const struct ick_finding *f)
{
	struct ick_finding *last;

	if (!rep->nr)
		return 0;
	last = &rep->f[rep->nr - 1];
	if (last->code != f->code || last->ino != f->ino || last->detail ||
	    last->len == ICK_NONE || f->len == ICK_NONE || last->expected != f->expected ||
	    last->found != f->found || last->pblk == ICK_NONE)
		return 0;
	if (!adjacent(last->pblk, last->len, f->pblk) || !adjacent(last->lblk, last->len, f->lblk))
		return 0;
	last->len += f->len;
	return 1;
}

static errcode_t grow(struct ick_report *rep)
{
	struct ick_finding *n = ick_array_grow(rep->f, &rep->cap, sizeof(*n), 64);

	if (!n)
		return ENOMEM;
	rep->f = n;
	return 0;
}

errcode_t ick_report_add(struct ick_report *rep, const struct ick_finding *f, const char *fmt, ...)
{
	const struct ick_pr_info *pi = ick_pr_lookup(f->code);
	struct ick_finding *dst;
	errcode_t err;

	if (!pi)
		return ICK_ET_INTERNAL;
	if (!fmt && try_merge(rep, f))
		return 0;
	rep->by_sev[pi->severity]++;
	if (rep->nr >= ICK_REPORT_MAX) {
		rep->dropped++;
		return 0;
	}
	if (rep->nr == rep->cap && (err = grow(rep)))
		return err;
	dst = &rep->f[rep->nr];
	*dst = *f;
	dst->detail = NULL;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		int n = vasprintf(&dst->detail, fmt, ap);
		va_end(ap);
		if (n < 0)
			return ENOMEM;
	}
	rep->nr++;
	return 0;
}

int ick_report_exit_bits(const struct ick_report *rep)
{
	return rep->by_sev[ICK_SEV_ERROR] || (!rep->lenient && rep->by_sev[ICK_SEV_WARNING])
		? ICK_EXIT_FOUND : 0;
}
