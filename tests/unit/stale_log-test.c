/* SPDX-License-Identifier: GPL-2.0-only */
/* stale_log-test: the stale-data tracker (stale_log.h) on file systems made in memory by
 * ext2fs_initialize (1 KiB blocks, 3 groups of 8192, first data block 1), their block
 * bitmaps changed between updates, and a device whose writes are mapped at chosen log
 * offsets (512-byte sectors, two a block).  What it learns: a block seen owned, then free,
 * then owned again is stale while its newest write is at or before the last point it was
 * seen owned (since = that point's entry), a block free at first sight only while no
 * write at all, one owned at first sight never; with a base the threshold is "no write
 * since the base" (ICK_STALE_SINCE_BASE).  Not stale: a block the journal overlay holds, a
 * block remembered not stale (until a discard or a new threshold).  Forgetting: another
 * geometry starts over, a state of another geometry is not judged.  Off (no claims, one
 * phrase why): no journal, bigalloc, data=writeback, an inconsistent or oversized group
 * geometry.  Bounds: blocks outside the file system, NULL trackers; a changed bitmap
 * failing its checksum teaches nothing. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "iomapck.h"
#include "log.h"
#include "logw.h"
#include "logdev.h"
#include "stale_log.h"

#define BLOCKS 24577	/* 1 + 3 groups of 8192 */
#define B 9000		/* in group 1 */
#define C 9100

static char dir[] = "/tmp/stale_log-testXXXXXX";
static char img[64], base[64], logp[64];

static int setup(void **s)
{
	struct ick_logw *lw;
	FILE *f;

	(void)s;
	if (!mkdtemp(dir))
		return -1;
	snprintf(img, sizeof(img), "%s/fs.img", dir);
	snprintf(base, sizeof(base), "%s/base", dir);
	snprintf(logp, sizeof(logp), "%s/log", dir);
	if (!(f = fopen(base, "w")))
		return -1;
	fclose(f);
	if (ick_logw_create(logp, 512, &lw) || ick_logw_close(lw))
		return -1;
	return 0;
}

static int teardown(void **s)
{
	char cmd[128];

	(void)s;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* a file system of @blocks 1 KiB blocks, a journal's feature flag set; @csum: with
 * metadata_csum */
static ext2_filsys mkfs(blk64_t blocks, int csum)
{
	struct ext2_super_block p;
	ext2_filsys fs;
	FILE *f = fopen(img, "w");

	assert_non_null(f);
	fclose(f);
	assert_int_equal(truncate(img, (off_t)blocks * 1024), 0);
	memset(&p, 0, sizeof(p));
	ext2fs_blocks_count_set(&p, blocks);
	p.s_blocks_per_group = 8192;
	p.s_feature_incompat = EXT2_FEATURE_INCOMPAT_FILETYPE;
	p.s_feature_ro_compat = EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER |
		(csum ? EXT4_FEATURE_RO_COMPAT_METADATA_CSUM : 0);
	assert_int_equal(ext2fs_initialize(img, EXT2_FLAG_64BITS, &p, unix_io_manager, &fs), 0);
	ext2fs_set_feature_journal(fs->super);
	assert_int_equal(fs->super->s_first_data_block, 1);
	assert_int_equal(fs->group_desc_count, (blocks - 1 + 8191) / 8192);
	return fs;
}

struct dev {
	struct ick_log *log;
	struct ick_logdev *ld;
};

static void dev_open(struct dev *d)
{
	assert_int_equal(ick_log_open(logp, &d->log), 0);
	assert_int_equal(ick_logdev_new(base, d->log, &d->ld), 0);
	assert_int_equal(ick_logdev_sectorsize(d->ld), 512);
}

static void dev_close(struct dev *d)
{
	ick_logdev_free(d->ld);
	ick_log_close(d->log);
}

/* block @blk's newest write: the payload at log offset @off */
static void wr(struct dev *d, blk64_t blk, uint64_t off)
{
	assert_int_equal(ick_logdev_map(d->ld, blk * 2, 2, off), 0);
}

static void own(ext2_filsys fs, blk64_t blk, int in_use)
{
	if (in_use)
		ext2fs_mark_block_bitmap2(fs->block_map, blk);
	else
		ext2fs_unmark_block_bitmap2(fs->block_map, blk);
}

static void update(struct ick_stale_log *t, ext2_filsys fs, uint64_t entry, uint64_t off)
{
	assert_int_equal(ick_stale_log_update(t, fs, entry, off, NULL), 0);
}

/* judge @blk in state @fs: -1 not stale, else since */
static int64_t judge(struct ick_stale_log *t, ext2_filsys fs, struct dev *d, blk64_t blk,
		     int remember, const struct ick_overlay *journal)
{
	uint64_t since = 42;

	ick_stale_log_begin(t, fs, d->ld, remember);
	if (!ick_stale_log_judge(t, d->ld, journal, blk, remember, &since))
		return -1;
	return (int64_t)since;
}

/* point 0 (entry 10, off 1000): B owned, C free; point 1 (20, 2000): B freed, C owned;
 * point 2 (30, 3000): B owned again */
static void history(struct ick_stale_log *t, ext2_filsys fs)
{
	own(fs, B, 1);
	own(fs, C, 0);
	update(t, fs, 10, 1000);
	own(fs, B, 0);
	own(fs, C, 1);
	update(t, fs, 20, 2000);
	own(fs, B, 1);
	update(t, fs, 30, 3000);
}

/* a tracker, a file system and a device, as most tests start */
struct fix {
	struct ick_stale_log *t;
	ext2_filsys fs;
	struct dev d;
};

static void fix_open(struct fix *x)
{
	x->fs = mkfs(BLOCKS, 0);
	dev_open(&x->d);
	assert_int_equal(ick_stale_log_new(&x->t), 0);
}

static void fix_close(struct fix *x)
{
	ick_stale_log_free(x->t);
	ext2fs_free(x->fs);
	dev_close(&x->d);
}

static void test_learns(void **s)
{
	struct fix x;

	(void)s;
	fix_open(&x);
	assert_null(ick_stale_log_off(x.t));
	own(x.fs, B, 1);
	update(x.t, x.fs, 10, 1000);
	/* owned at first sight: no history, never stale */
	assert_int_equal(judge(x.t, x.fs, &x.d, B, 0, NULL), -1);
	own(x.fs, B, 0);
	own(x.fs, C, 1);
	update(x.t, x.fs, 20, 2000);
	own(x.fs, B, 1);
	update(x.t, x.fs, 30, 3000);
	assert_null(ick_stale_log_off(x.t));
	/* reused with no write at all, then written before, at, after the point it was last
	 * seen owned (point 0: entry 10, off 1000) */
	assert_int_equal(judge(x.t, x.fs, &x.d, B, 0, NULL), 10);
	wr(&x.d, B, 500);
	assert_int_equal(judge(x.t, x.fs, &x.d, B, 0, NULL), 10);
	wr(&x.d, B, 1000);
	assert_int_equal(judge(x.t, x.fs, &x.d, B, 0, NULL), 10);
	wr(&x.d, B, 1001);
	assert_int_equal(judge(x.t, x.fs, &x.d, B, 0, NULL), -1);
	/* free at first sight: stale only while never written, since the first point */
	assert_int_equal(judge(x.t, x.fs, &x.d, C, 0, NULL), 10);
	wr(&x.d, C, 1);
	assert_int_equal(judge(x.t, x.fs, &x.d, C, 0, NULL), -1);
	/* a block of a group that never changed, owned or not: no claim */
	own(x.fs, 20000, 1);
	assert_int_equal(judge(x.t, x.fs, &x.d, 20000, 0, NULL), -1);
	fix_close(&x);
}

static void test_base(void **s)
{
	struct fix x;

	(void)s;
	fix_open(&x);
	own(x.fs, B, 1);
	assert_int_equal(ick_stale_log_base(x.t, x.fs), 0);
	/* the base is point 0: owned there, freed, owned again; free there, owned later */
	own(x.fs, B, 0);
	own(x.fs, C, 1);
	update(x.t, x.fs, 20, 2000);
	own(x.fs, B, 1);
	update(x.t, x.fs, 30, 3000);
	assert_int_equal(judge(x.t, x.fs, &x.d, B, 0, NULL), (int64_t)ICK_STALE_SINCE_BASE);
	assert_int_equal(judge(x.t, x.fs, &x.d, C, 0, NULL), (int64_t)ICK_STALE_SINCE_BASE);
	/* any write since the base: not stale, whichever life it belonged to */
	wr(&x.d, B, 1);
	wr(&x.d, C, 2999);
	assert_int_equal(judge(x.t, x.fs, &x.d, B, 0, NULL), -1);
	assert_int_equal(judge(x.t, x.fs, &x.d, C, 0, NULL), -1);
	fix_close(&x);
}

static void test_journal_and_remember(void **s)
{
	struct ick_overlay *ov;
	unsigned char blk[1024] = { 1 };
	struct fix x;

	(void)s;
	fix_open(&x);
	history(x.t, x.fs);
	/* a block the journal replay wrote in the view holds the journal's data */
	assert_int_equal(ick_overlay_new(1024, &ov), 0);
	assert_int_equal(ick_overlay_put(ov, B, blk), 0);
	assert_int_equal(judge(x.t, x.fs, &x.d, B, 0, ov), -1);
	assert_int_equal(judge(x.t, x.fs, &x.d, B, 0, NULL), 10);
	/* remembered not stale; a discard over it (its newest bytes now zeros) forgets */
	wr(&x.d, B, 2500);
	assert_int_equal(judge(x.t, x.fs, &x.d, B, 1, NULL), -1);
	assert_int_equal(ick_logdev_discard(x.d.ld, B * 2, 2, 2600), 0);
	assert_int_equal(judge(x.t, x.fs, &x.d, B, 1, NULL), 10);
	/* remembered until its threshold changes: freed at point 3 (seen owned at point 2,
	 * off 3000), owned again; its write at 2800 is of its earlier life */
	wr(&x.d, B, 2800);
	assert_int_equal(judge(x.t, x.fs, &x.d, B, 1, NULL), -1);
	own(x.fs, B, 0);
	update(x.t, x.fs, 40, 4000);
	own(x.fs, B, 1);
	update(x.t, x.fs, 50, 5000);
	assert_int_equal(judge(x.t, x.fs, &x.d, B, 1, NULL), 30);
	ick_overlay_free(ov);
	fix_close(&x);
}

static void test_forgets_geometry(void **s)
{
	struct ick_stale_log *t;
	ext2_filsys fs = mkfs(BLOCKS, 0), other;
	struct dev d;

	(void)s;
	dev_open(&d);
	assert_int_equal(ick_stale_log_new(&t), 0);
	history(t, fs);
	assert_int_equal(judge(t, fs, &d, B, 0, NULL), 10);
	other = mkfs(BLOCKS + 8192, 0);
	/* a state of another geometry is not judged */
	assert_int_equal(judge(t, other, &d, B, 0, NULL), -1);
	/* and an update from it starts over: B owned at its first sight, no history */
	own(other, B, 1);
	update(t, other, 60, 6000);
	assert_int_equal(judge(t, other, &d, B, 0, NULL), -1);
	assert_int_equal(judge(t, fs, &d, B, 0, NULL), -1);
	ick_stale_log_free(t);
	ext2fs_free(other);
	ext2fs_free(fs);
	dev_close(&d);
}

/* the tracker on @fs: off, with a phrase containing @why, and no claim on B */
static void off_for(ext2_filsys fs, struct dev *d, const char *why)
{
	struct ick_stale_log *t;

	assert_int_equal(ick_stale_log_new(&t), 0);
	history(t, fs);
	assert_non_null(ick_stale_log_off(t));
	assert_non_null(strstr(ick_stale_log_off(t), why));
	assert_int_equal(judge(t, fs, d, B, 0, NULL), -1);
	ick_stale_log_free(t);
}

static void test_off(void **s)
{
	ext2_filsys fs = mkfs(BLOCKS, 0);
	struct dev d;

	(void)s;
	dev_open(&d);
	assert_null(ick_stale_log_off(NULL));
	ext2fs_clear_feature_journal(fs->super);
	off_for(fs, &d, "no journal");
	ext2fs_set_feature_journal(fs->super);
	fs->super->s_default_mount_opts = EXT3_DEFM_JMODE_WBACK;
	off_for(fs, &d, "data=writeback");
	fs->super->s_default_mount_opts = 0;
	ext2fs_set_feature_bigalloc(fs->super);
	off_for(fs, &d, "bigalloc");
	ext2fs_clear_feature_bigalloc(fs->super);
	ext2fs_free(fs);
	dev_close(&d);
}

/* superblock values the geometry checks refuse, restored before the free */
static void test_hostile(void **s)
{
	struct ick_stale_log *t;
	ext2_filsys fs = mkfs(BLOCKS, 0);
	uint64_t since = 0;
	struct dev d;

	(void)s;
	dev_open(&d);
	ick_stale_log_begin(NULL, fs, d.ld, 1);
	assert_int_equal(ick_stale_log_judge(NULL, d.ld, NULL, B, 1, &since), 0);
	assert_int_equal(ick_stale_log_new(&t), 0);
	/* judged before any state was seen: no claim */
	assert_int_equal(judge(t, fs, &d, B, 1, NULL), -1);
	history(t, fs);
	assert_int_equal(judge(t, fs, &d, 0, 0, NULL), -1);	/* before s_first_data_block */
	assert_int_equal(judge(t, fs, &d, BLOCKS, 0, NULL), -1);
	assert_int_equal(judge(t, fs, &d, ~0ull, 0, NULL), -1);
	ick_stale_log_free(t);
	/* as many groups as the counts say, or off */
	fs->group_desc_count = 7;
	off_for(fs, &d, "inconsistent group geometry");
	fs->group_desc_count = 3;
	fs->super->s_blocks_per_group = 0;
	off_for(fs, &d, "inconsistent group geometry");
	fs->super->s_blocks_per_group = 8192;
	/* 2^34 blocks of 1 KiB: 2 GiB of bitmap, past the tracker's memory */
	ext2fs_set_feature_64bit(fs->super);
	ext2fs_blocks_count_set(fs->super, (1ull << 34) + 1);
	fs->group_desc_count = (1u << 21);
	off_for(fs, &d, "too large");
	ext2fs_blocks_count_set(fs->super, BLOCKS);
	ext2fs_clear_feature_64bit(fs->super);
	fs->group_desc_count = 3;
	ext2fs_free(fs);
	dev_close(&d);
}

/* set group 1's block bitmap checksum to its bytes now */
static void csum_set(ext2_filsys fs)
{
	char buf[1024];

	assert_int_equal(ext2fs_get_block_bitmap_range2(fs->block_map, 1 + 8192, 8192, buf), 0);
	assert_int_equal(ext2fs_block_bitmap_csum_set(fs, 1, buf, 1024), 0);
}

/* a freed block learnt from a bitmap that passes its checksum, not from a torn one */
static void test_torn(void **s)
{
	struct ick_stale_log *t;
	ext2_filsys fs;
	struct dev d;

	(void)s;
	dev_open(&d);
	for (int torn = 0; torn < 2; torn++) {
		fs = mkfs(BLOCKS, 1);
		ext2fs_bg_flags_clear(fs, 1, EXT2_BG_BLOCK_UNINIT);
		assert_int_equal(ick_stale_log_new(&t), 0);
		own(fs, B, 1);
		csum_set(fs);
		update(t, fs, 10, 1000);
		own(fs, B, 0);
		if (!torn)
			csum_set(fs);
		update(t, fs, 20, 2000);
		own(fs, B, 1);
		csum_set(fs);
		update(t, fs, 30, 3000);
		assert_int_equal(judge(t, fs, &d, B, 0, NULL), torn ? -1 : 10);
		ick_stale_log_free(t);
		ext2fs_free(fs);
	}
	dev_close(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learns),
		cmocka_unit_test(test_base),
		cmocka_unit_test(test_journal_and_remember),
		cmocka_unit_test(test_forgets_geometry),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_torn),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
