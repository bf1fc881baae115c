/* SPDX-License-Identifier: GPL-2.0-only */
/* sweep_point-test: which entries of a synthetic log are crash points under each selector
 * (fua, flush, mark, every, nth, start / end mark, limit, shard i/n, drop-after, manifest
 * marks), where the sweep ends, and how a failing point is counted. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "sweep_point.h"

/*
 * The log:  0 write          4 write              8 MARK "m1" (the manifest's)
 *           1 write FUA      5 write FLUSH|FUA    9 write FUA
 *           2 FLUSH          6 MARK "b"          10 MARK "c"
 *           3 MARK "a"       7 write             11 write
 */
#define N 12
static struct ick_log_entry log_[N];

static void make_log(void)
{
	static const uint64_t flags[N] = { 0, ICK_LOG_FUA, ICK_LOG_FLUSH, ICK_LOG_MARK, 0,
					   ICK_LOG_FLUSH | ICK_LOG_FUA, ICK_LOG_MARK, 0,
					   ICK_LOG_MARK, ICK_LOG_FUA, ICK_LOG_MARK, 0 };
	static const char *const marks[N] = { [3] = "a", [6] = "b", [8] = "m1", [10] = "c" };

	memset(log_, 0, sizeof(log_));
	for (unsigned i = 0; i < N; i++) {
		log_[i].index = i;
		log_[i].flags = flags[i];
		log_[i].sector = 8 * i;
		log_[i].nr_sectors = (flags[i] & ICK_LOG_MARK) || flags[i] == ICK_LOG_FLUSH ? 0 : 8;
		if (marks[i])
			snprintf(log_[i].mark, sizeof(log_[i].mark), "%s", marks[i]);
	}
}

#define BIT(i) (1u << (i))

/* What a sweep with @o sees: the points (a bit an entry), those it checks, the last
 * entry classified, and each point's ordinal and manifest mark. */
struct seen {
	unsigned points, ours;
	int last;
	uint64_t ordinal[N];
	long man_idx[N];
};

static struct seen sweep_with(const struct ick_sweep_opts *o, int want)
{
	struct ick_sweep_sel sel;
	struct seen s = { 0, 0, -1, { 0 }, { 0 } };

	make_log();
	ick_sweep_point_init(&sel, o, want);
	for (unsigned i = 0; i < N; i++) {
		struct ick_sweep_class c;

		ick_sweep_point_classify(&sel, &log_[i], &c);
		s.last = (int)i;
		s.man_idx[i] = c.man_idx;
		if (c.point) {
			s.points |= BIT(i);
			s.ordinal[i] = c.ordinal;
		}
		if (c.ours) {
			assert_true(c.point);
			s.ours |= BIT(i);
		}
		if (c.last)
			break;
	}
	assert_int_equal(sel.entries, s.last + 1);
	return s;
}

static unsigned points_of(enum ick_sweep_when when, uint64_t nth)
{
	struct ick_sweep_opts o = { .when = when, .nth = nth };
	struct seen s = sweep_with(&o, 1);

	assert_int_equal(s.ours, s.points); /* no shards: every point is checked */
	assert_int_equal(s.last, N - 1);    /* nothing ends the sweep early */
	return s.points;
}

static void test_flag_selectors(void **state)
{
	(void)state;
	assert_int_equal(points_of(ICK_SWEEP_FUA, 0), BIT(1) | BIT(5) | BIT(9));
	assert_int_equal(points_of(ICK_SWEEP_FLUSH, 0), BIT(2) | BIT(5));
	assert_int_equal(points_of(ICK_SWEEP_MARK, 0), BIT(3) | BIT(6) | BIT(8) | BIT(10));
	assert_int_equal(points_of(ICK_SWEEP_EVERY, 0), BIT(N) - 1);
}

static void test_nth(void **state)
{
	(void)state;
	/* every 3rd entry: the 3rd, 6th, ... (entries 2, 5, 8, 11) */
	assert_int_equal(points_of(ICK_SWEEP_NTH, 3), BIT(2) | BIT(5) | BIT(8) | BIT(11));
	assert_int_equal(points_of(ICK_SWEEP_NTH, 1), BIT(N) - 1);
	assert_int_equal(points_of(ICK_SWEEP_NTH, 0), 0);
}

static void test_start_and_end_mark(void **state)
{
	struct ick_sweep_opts o = { .when = ICK_SWEEP_EVERY, .start_mark = "a" };
	struct seen s;

	(void)state;
	s = sweep_with(&o, 1); /* after the mark, not the mark itself */
	assert_int_equal(s.points, (BIT(N) - 1) & ~(BIT(4) - 1));
	assert_int_equal(s.ordinal[4], 0);
	assert_int_equal(s.ordinal[11], 7);
	o.when = ICK_SWEEP_FUA;
	assert_int_equal(sweep_with(&o, 1).points, BIT(5) | BIT(9));
	o.start_mark = "no such mark";
	assert_int_equal(sweep_with(&o, 1).points, 0);

	o = (struct ick_sweep_opts){ .when = ICK_SWEEP_EVERY, .end_mark = "b" };
	s = sweep_with(&o, 1); /* the end mark is the last entry, and a point */
	assert_int_equal(s.last, 6);
	assert_int_equal(s.points, BIT(7) - 1);
	o.start_mark = "a";
	s = sweep_with(&o, 1);
	assert_int_equal(s.points, BIT(4) | BIT(5) | BIT(6));
	assert_int_equal(s.last, 6);
}

static void test_limit(void **state)
{
	struct ick_sweep_opts o = { .when = ICK_SWEEP_EVERY, .limit = 4 };
	struct seen s = sweep_with(&o, 1);

	(void)state;
	assert_int_equal(s.last, 3);
	assert_int_equal(s.points, BIT(4) - 1);
	o.when = ICK_SWEEP_FUA;
	o.limit = N + 5; /* past the end: no effect */
	s = sweep_with(&o, 1);
	assert_int_equal(s.last, N - 1);
	assert_int_equal(s.points, BIT(1) | BIT(5) | BIT(9));
}

static void test_shard(void **state)
{
	struct ick_sweep_opts o = { .when = ICK_SWEEP_EVERY, .shard = 1, .nshards = 3 };
	struct seen s = sweep_with(&o, 1);

	(void)state;
	/* every shard numbers all the points; shard 1 of 3 checks ordinals 1, 4, 7, 10 */
	assert_int_equal(s.points, BIT(N) - 1);
	assert_int_equal(s.ours, BIT(1) | BIT(4) | BIT(7) | BIT(10));
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(s.ordinal[i], i);
	o = (struct ick_sweep_opts){ .when = ICK_SWEEP_FUA, .shard = 0, .nshards = 2 };
	s = sweep_with(&o, 1);
	assert_int_equal(s.points, BIT(1) | BIT(5) | BIT(9));
	assert_int_equal(s.ordinal[9], 2);
	assert_int_equal(s.ours, BIT(1) | BIT(9));
	o.nshards = 1; /* one shard: all of them */
	assert_int_equal(sweep_with(&o, 1).ours, BIT(1) | BIT(5) | BIT(9));
}

static void test_drop_after(void **state)
{
	struct ick_sweep_opts o = { .when = ICK_SWEEP_MARK, .drop_after = 5 };
	struct seen s = sweep_with(&o, 1);

	(void)state;
	/* the state after entry 5 and no other, whatever --check says; then the end */
	assert_int_equal(s.points, BIT(5));
	assert_int_equal(s.ordinal[5], 0);
	assert_int_equal(s.last, 5);
	o.when = ICK_SWEEP_EVERY;
	o.drop_after = 3;
	s = sweep_with(&o, 1);
	assert_int_equal(s.points, BIT(3));
	assert_int_equal(s.last, 3);
}

static void test_manifest_marks(void **state)
{
	char path[] = "/tmp/sweep_point-testXXXXXX", why[128];
	struct ick_sweep_opts o = { .when = ICK_SWEEP_FUA };
	struct seen s;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "mark m1\n", 8), 8);
	close(fd);
	assert_int_equal(ick_manifest_load(path, (struct ick_manifest **)&o.manifest, why,
					   sizeof(why)), 0);
	unlink(path);
	/* a mark the manifest names is a point too, with its index */
	s = sweep_with(&o, 1);
	assert_int_equal(s.points, BIT(1) | BIT(5) | BIT(8) | BIT(9));
	assert_int_equal(s.man_idx[8], 0);
	assert_int_equal(s.man_idx[3], -1);
	assert_int_equal(s.man_idx[9], -1);
	/* ... but not before the start mark */
	o.start_mark = "c";
	assert_int_equal(sweep_with(&o, 1).points, 0);
	ick_manifest_free((struct ick_manifest *)o.manifest);
}

static void test_no_points_wanted(void **state)
{
	struct ick_sweep_opts o = { .when = ICK_SWEEP_EVERY, .end_mark = "b" };
	struct seen s = sweep_with(&o, 0);

	(void)state;
	/* --dump: no points, but the sweep still ends where it would */
	assert_int_equal(s.points, 0);
	assert_int_equal(s.last, 6);
}

static void test_account(void **state)
{
	struct ick_sweep_opts o = { .when = ICK_SWEEP_EVERY };
	struct ick_sweep_stats st = { .entries = 40, .points = 9 };
	struct ick_report rep;
	struct ick_finding f = ick_finding_blank(ICK_PR_BITMAP_USED_FREE, 12);
	struct ick_sweep_point p = { .entry = 20, .point = 4, .mark = "", .rep = &rep };

	(void)state;
	assert_int_equal(ick_report_init(&rep, "x.log"), 0);
	assert_int_equal(ick_sweep_point_account(&o, &p, &st), 0); /* clean */
	assert_int_equal(st.failing_points, 0);
	f.pblk = 100;
	f.len = 1;
	assert_int_equal(ick_report_add(&rep, &f, NULL), 0);
	o.keep_going = 1;
	assert_int_equal(ick_sweep_point_account(&o, &p, &st), 0);
	assert_int_equal(st.failing_points, 1);
	assert_int_equal(st.findings, 1);
	assert_int_equal(st.points, 9); /* going on: the counts go on */
	o.keep_going = 0;
	assert_int_equal(ick_sweep_point_account(&o, &p, &st), 1);
	assert_int_equal(st.failing_points, 2);
	assert_int_equal(st.findings, 2);
	assert_int_equal(st.points, 5); /* the sweep ends here: so do its counts */
	assert_int_equal(st.entries, 21);
	ick_report_free(&rep);

	/* --fsck: the command's failure fails the point, with no findings */
	assert_int_equal(ick_report_init(&rep, "x.log"), 0);
	p.fsck_status = 1;
	assert_int_equal(ick_sweep_point_account(&o, &p, &st), 1);
	assert_int_equal(st.failing_points, 3);
	assert_int_equal(st.findings, 2);
	ick_report_free(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flag_selectors),
		cmocka_unit_test(test_nth),
		cmocka_unit_test(test_start_and_end_mark),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_shard),
		cmocka_unit_test(test_drop_after),
		cmocka_unit_test(test_manifest_marks),
		cmocka_unit_test(test_no_points_wanted),
		cmocka_unit_test(test_account),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
