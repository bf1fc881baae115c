/* SPDX-License-Identifier: GPL-2.0-only */
/* report-test: the finding sink merges adjacent ranges, caps memory, maps exit bits and
 * renders JSON that parses back with the same numbers. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json.h>
#include "report.h"

static struct ick_finding range(uint32_t code, ext2_ino_t ino, uint64_t lblk, uint64_t pblk,
				uint64_t len)
{
	struct ick_finding f = ick_finding_blank(code, ino);
	f.lblk = lblk;
	f.pblk = pblk;
	f.len = len;
	return f;
}

static void test_report_merges_adjacent(void **s)
{
	struct ick_report r;
	struct ick_finding a = range(ICK_PR_BITMAP_USED_FREE, 12, 0, 100, 2);
	struct ick_finding b = range(ICK_PR_BITMAP_USED_FREE, 12, 2, 102, 3);
	struct ick_finding c = range(ICK_PR_BITMAP_USED_FREE, 12, 6, 106, 1); /* gap */
	struct ick_finding d = range(ICK_PR_BITMAP_USED_FREE, 13, 7, 107, 1); /* other inode */

	assert_int_equal(ick_report_init(&r, "x.img"), 0);
	assert_int_equal(ick_report_add(&r, &a, NULL), 0);
	assert_int_equal(ick_report_add(&r, &b, NULL), 0);
	assert_int_equal(ick_report_add(&r, &c, NULL), 0);
	assert_int_equal(ick_report_add(&r, &d, NULL), 0);
	assert_int_equal(r.nr, 3);
	assert_int_equal(r.f[0].len, 5);
	assert_int_equal(r.f[0].pblk, 100);
	assert_int_equal(r.by_sev[ICK_SEV_ERROR], 3);
	assert_int_equal(ick_report_exit_bits(&r), 4);
	ick_report_free(&r);
}

static void test_report_info_exits_zero(void **s)
{
	struct ick_report r;
	struct ick_finding f = range(ICK_PR_UNWRITTEN_PAST_EOF, 12, 0, 10, 1);

	assert_int_equal(ick_report_init(&r, "x.img"), 0);
	assert_int_equal(ick_report_add(&r, &f, NULL), 0);
	assert_int_equal(ick_report_exit_bits(&r), 0);
	ick_report_free(&r);
}

static void test_report_caps_records(void **s)
{
	struct ick_report r;

	assert_int_equal(ick_report_init(&r, "x.img"), 0);
	for (uint64_t i = 0; i < ICK_REPORT_MAX + 10; i++) {
		struct ick_finding f = range(ICK_PR_BITMAP_UNOWNED, 0, ICK_NONE, 2 * i, 1);
		assert_int_equal(ick_report_add(&r, &f, NULL), 0);
	}
	assert_int_equal(r.nr, ICK_REPORT_MAX);
	assert_int_equal(r.dropped, 10);
	ick_report_free(&r);
}

static void test_report_rejects_unknown_code(void **s)
{
	struct ick_report r;
	struct ick_finding f = ick_finding_blank(0xffff, 1);

	assert_int_equal(ick_report_init(&r, "x.img"), 0);
	assert_int_not_equal(ick_report_add(&r, &f, NULL), 0);
	ick_report_free(&r);
}

static void test_report_json_round_trip(void **s)
{
	struct ick_report r;
	struct ick_finding f = range(ICK_PR_SIZE_WRITTEN_PAST_EOF, 12, 1, ICK_NONE, 4);
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	json_object *root, *arr, *one, *v;

	f.expected = 20480;
	f.found = 4096;
	assert_int_equal(ick_report_init(&r, "x.img"), 0);
	assert_int_equal(ick_report_add(&r, &f, "i_size is %d", 4096), 0);
	mem = open_memstream(&buf, &len);
	assert_int_equal(ick_report_write_json(&r, mem), 0);
	fclose(mem);
	root = json_tokener_parse(buf);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "findings", &arr));
	one = json_object_array_get_idx(arr, 0);
	assert_true(json_object_object_get_ex(one, "check", &v));
	assert_string_equal(json_object_get_string(v), "size");
	assert_true(json_object_object_get_ex(one, "expected", &v));
	assert_int_equal(json_object_get_int64(v), 20480);
	assert_true(json_object_object_get_ex(one, "pblk", &v));
	assert_null(v);
	assert_true(json_object_object_get_ex(one, "detail", &v));
	assert_string_equal(json_object_get_string(v), "i_size is 4096");
	json_object_put(root);
	free(buf);
	ick_report_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_merges_adjacent),
		cmocka_unit_test(test_report_info_exits_zero),
		cmocka_unit_test(test_report_caps_records),
		cmocka_unit_test(test_report_rejects_unknown_code),
		cmocka_unit_test(test_report_json_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
