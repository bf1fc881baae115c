/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * report_text.c - renders a report for people, in e2fsck's voice: one line per finding,
 * ranges as "a-b", then a summary line.  Reads the report only.
 */
#include "config.h"
#include <inttypes.h>
#include "report.h"

static void print_range(FILE *out, const char *what, uint64_t start, uint64_t len)
{
	if (start == ICK_NONE)
		return;
	if (len == ICK_NONE || len <= 1)
		fprintf(out, ", %s %" PRIu64, what, start);
	else
		fprintf(out, ", %s %" PRIu64 "-%" PRIu64, what, start, start + len - 1);
}

static void print_one(FILE *out, const struct ick_finding *f)
{
	const struct ick_pr_info *pi = ick_pr_lookup(f->code);

	if (!pi)
		return;
	fprintf(out, "%s: ", pi->severity == ICK_SEV_ERROR ? "Error" :
			     pi->severity == ICK_SEV_WARNING ? "Warning" : "Info");
	if (f->ino)
		fprintf(out, "inode %u", f->ino);
	else
		fprintf(out, "file system");
	print_range(out, "logical", f->lblk, f->len);
	print_range(out, "physical", f->pblk, f->len);
	fprintf(out, ": %s", pi->text);
	if (f->expected != ICK_NONE || f->found != ICK_NONE) {
		fputs(" (", out);
		if (f->expected != ICK_NONE)
			fprintf(out, "expected %" PRIu64, f->expected);
		if (f->expected != ICK_NONE && f->found != ICK_NONE)
			fputs(", ", out);
		if (f->found != ICK_NONE)
			fprintf(out, "found %" PRIu64, f->found);
		fputc(')', out);
	}
	if (f->detail)
		fprintf(out, "; %s", f->detail);
	fprintf(out, ".  [%s 0x%04x]\n", ick_check_name(pi->check), pi->code);
}

void ick_report_print_text(const struct ick_report *rep, FILE *out)
{
	if (rep->note)
		fprintf(out, "%s\n", rep->note);
	for (size_t i = 0; i < rep->nr; i++)
		print_one(out, &rep->f[i]);
	if (rep->dropped)
		fprintf(out, "(%" PRIu64 " more findings not kept: limit %d reached)\n", rep->dropped,
			ICK_REPORT_MAX);
	fprintf(out, "%s: iomapck: %" PRIu64 " error(s), %" PRIu64 " warning(s), %" PRIu64
		     " info.\n",
		rep->image, rep->by_sev[ICK_SEV_ERROR], rep->by_sev[ICK_SEV_WARNING],
		rep->by_sev[ICK_SEV_INFO]);
}
