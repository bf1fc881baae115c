/* SPDX-License-Identifier: GPL-2.0-only */
/* findings-test: the code table is sorted, unique, coded by check, and the FINDINGS section
 * of e2fsck-ext(8) lists every code with its severity, and no other (so the one place the
 * codes are documented cannot drift from findings.def). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "report.h"

static void test_findings_sorted_unique(void **s)
{
	size_t nr;
	const struct ick_pr_info *t = ick_pr_table(&nr);

	assert_true(nr > 0);
	for (size_t i = 0; i < nr; i++) {
		assert_int_equal(t[i].code >> 8, t[i].check);
		if (i)
			assert_true(t[i - 1].code < t[i].code);
		assert_ptr_equal(ick_pr_lookup(t[i].code), &t[i]);
	}
}

static void test_findings_in_man_page(void **s)
{
	FILE *f = fopen(MANPAGE, "r");
	static char text[1 << 20];
	size_t n, nr, rows = 0;
	const struct ick_pr_info *t = ick_pr_table(&nr);
	const char *p;

	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	for (size_t i = 0; i < nr; i++) {
		char row[128];
		snprintf(row, sizeof(row), ".BR \"0x%04x %s\" \" (%s)\"\n", t[i].code, t[i].name,
			 ick_severity_name(t[i].severity));
		if (!strstr(text, row))
			fail_msg("%s has no row '%s'", MANPAGE, row);
	}
	for (p = text; (p = strstr(p, ".BR \"0x")); p++)
		rows++;
	if (rows != nr)
		fail_msg("%s has %zu code rows, findings.def %zu", MANPAGE, rows, nr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_findings_sorted_unique),
		cmocka_unit_test(test_findings_in_man_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
