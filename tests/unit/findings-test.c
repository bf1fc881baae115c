/* findings-test: the code table is sorted, unique, coded by check, and every code is in
 * README.md's table (so the docs cannot drift from findings.def). */
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

static void test_findings_in_readme(void **s)
{
	FILE *f = fopen(README, "r");
	static char text[1 << 20];
	size_t n, nr;
	const struct ick_pr_info *t = ick_pr_table(&nr);

	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	for (size_t i = 0; i < nr; i++) {
		char row[96];
		snprintf(row, sizeof(row), "| 0x%04x | %s |", t[i].code, t[i].name);
		if (!strstr(text, row))
			fail_msg("README.md has no row '%s'", row);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_findings_sorted_unique),
		cmocka_unit_test(test_findings_in_readme),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
