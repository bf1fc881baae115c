/* SPDX-License-Identifier: GPL-2.0-only */
/* walk-test: on a real image made by mkfs.ext4 + debugfs, the walk's valid claims cover
 * exactly the blocks the bitmap marks in use (blocks_count - free), each once, and a
 * file's extent comes back with its logical and physical start. */
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

struct tally { uint64_t owned; uint64_t bad; int saw_file; ext2fs_block_bitmap seen; int dup; };

static errcode_t on_claim(void *p, const struct ick_claim *c, struct ick_inode_ctx *ic)
{
	struct tally *t = p;

	if (c->bad) {
		t->bad++;
		return 0;
	}
	for (uint64_t i = 0; i < c->len; i++) {
		if (ext2fs_test_block_bitmap2(t->seen, c->pblk + i))
			t->dup = 1;
		ext2fs_mark_block_bitmap2(t->seen, c->pblk + i);
	}
	t->owned += c->len;
	if (ic && ic->ino == 12 && c->kind == ICK_CLAIM_DATA && c->lblk == 0 && c->len == 5)
		t->saw_file = 1;
	return 0;
}

static char dir[] = "/tmp/walk-testXXXXXX";
static char img[64];

static int setup(void **s)
{
	char cmd[1024];

	if (!mkdtemp(dir))
		return -1;
	snprintf(img, sizeof(img), "%s/fs.img", dir);
	snprintf(cmd, sizeof(cmd),
		 "mkfs.ext4 -q -F -b 4096 %s 16M >/dev/null 2>&1 && "
		 "head -c 20000 /dev/urandom >%s/data && "
		 "debugfs -w -R 'write %s/data f' %s >/dev/null 2>&1 && "
		 "head -c 81920 /dev/urandom >%s/data2 && "
		 "debugfs -w -R 'write %s/data2 g' %s >/dev/null 2>&1 && "
		 "for b in 1 3 5 7 9 11 13 15 17; do debugfs -w -R \"punch g $b $b\" %s "
		 ">/dev/null 2>&1 || exit 1; done", img, dir, dir, img, dir, dir, img, img);
	return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **s)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_walk_owns_exactly_used_blocks(void **s)
{
	struct ick_image *im;
	struct tally t = { 0 };
	struct ick_walk_ops ops = { .claim = on_claim };
	blk64_t total;

	add_error_table(&et_ext2_error_table);
	assert_int_equal(ick_image_open(img, 0, NULL, &im), 0);
	assert_int_equal(ext2fs_allocate_block_bitmap(im->fs, "seen", &t.seen), 0);
	assert_int_equal(ick_walk(im->fs, &ops, &t), 0);
	total = ext2fs_blocks_count(im->fs->super) - im->fs->super->s_first_data_block;
	assert_int_equal(t.owned, total - ext2fs_free_blocks_count(im->fs->super));
	assert_int_equal(t.bad, 0);
	assert_false(t.dup);
	assert_true(t.saw_file);
	ext2fs_free_block_bitmap(t.seen);
	ick_image_close(im);
}

/* ---- the memo: a walk that reuses kept maps hands over what a full walk does ---- */

struct trace {
	char *text;
	size_t len, cap;
	blk64_t g_leaf; /* the extent tree block of g (inode 13) */
};

static void tprintf(struct trace *t, const char *fmt, ...)
{
	va_list ap;
	char line[256];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	if (t->len + (size_t)n + 1 > t->cap) {
		t->cap = (t->len + (size_t)n + 1) * 2;
		assert_non_null(t->text = realloc(t->text, t->cap));
	}
	memcpy(t->text + t->len, line, (size_t)n + 1);
	t->len += (size_t)n;
}

static errcode_t tr_claim(void *p, const struct ick_claim *c, struct ick_inode_ctx *ic)
{
	struct trace *t = p;

	tprintf(t, "c %d %d %u %u %llu %llu %llu %d\n", c->kind, c->bad, c->ino, c->group,
		(unsigned long long)c->lblk, (unsigned long long)c->pblk,
		(unsigned long long)c->len, c->unwritten);
	if (ic && ic->ino == 13 && c->kind == ICK_CLAIM_TREE)
		t->g_leaf = c->pblk;
	return 0;
}

static errcode_t tr_end(void *p, struct ick_inode_ctx *ic)
{
	tprintf(p, "e %u %d %llu %lld %lld %u\n", ic->ino, ic->extents,
		(unsigned long long)ic->nblocks, (long long)ic->last_written,
		(long long)ic->last_mapped, ic->nbad);
	return 0;
}

static void walk_trace(ext2_filsys fs, struct ick_memo *m, struct trace *t)
{
	struct ick_walk_ops ops = { .claim = tr_claim, .end_inode = tr_end };

	t->len = 0;
	if (t->text)
		t->text[0] = 0;
	assert_int_equal(ick_walk_incremental(fs, &ops, t, m), 0);
}

static void test_memo_reuses_and_rewalks(void **s)
{
	struct ick_image *im;
	struct ick_memo *m;
	struct trace full = { 0 }, again = { 0 };
	uint64_t reused, walked, walked1;
	static char buf[65536];

	assert_int_equal(ick_image_open(img, 0, NULL, &im), 0);
	assert_int_equal(ick_memo_new(&m), 0);
	walk_trace(im->fs, NULL, &full);
	assert_true(full.g_leaf != 0); /* g has an extent tree block: the test needs one */
	walk_trace(im->fs, m, &again); /* keeps every map */
	assert_string_equal(again.text, full.text);
	ick_memo_stats(m, &reused, &walked1);
	assert_int_equal(reused, 0);
	assert_true(walked1 >= 4); /* root, resize inode, journal, lost+found, f, g */
	walk_trace(im->fs, m, &again); /* reuses every one */
	assert_string_equal(again.text, full.text);
	ick_memo_stats(m, &reused, &walked);
	assert_int_equal(reused, walked1);
	assert_int_equal(walked, walked1);
	/* g's tree block written again with the same bytes: compared, still reused */
	assert_int_equal(ick_memo_changed(m, full.g_leaf, 1), 0);
	assert_int_equal(ick_memo_changed(m, 0, ext2fs_blocks_count(im->fs->super)), 0);
	walk_trace(im->fs, m, &again);
	assert_string_equal(again.text, full.text);
	ick_memo_stats(m, &reused, &walked);
	assert_int_equal(walked, walked1);
	assert_int_equal(reused, 2 * walked1);
	/* a later state where g lost a block (its tree block rewritten, its inode's map
	 * root not): g alone is walked again, and the walk is the later state's */
	{
		struct ick_image *im2;
		struct trace full2 = { 0 };
		char cmd[512], img2[96];

		snprintf(img2, sizeof(img2), "%s/fs2.img", dir);
		snprintf(cmd, sizeof(cmd), "cp %s %s && debugfs -w -R 'punch g 19 19' %s >/dev/null 2>&1",
			 img, img2, img2);
		assert_int_equal(system(cmd), 0);
		assert_int_equal(ick_image_open(img2, 0, NULL, &im2), 0);
		walk_trace(im2->fs, NULL, &full2);
		assert_string_not_equal(full2.text, full.text);
		assert_int_equal(ick_memo_changed(m, full.g_leaf, 1), 0);
		walk_trace(im2->fs, m, &again);
		assert_string_equal(again.text, full2.text);
		ick_memo_stats(m, &reused, &walked);
		assert_int_equal(walked, walked1 + 1);
		/* back to the first state (its tree block written back) */
		assert_int_equal(ick_memo_changed(m, full.g_leaf, 1), 0);
		walk_trace(im->fs, m, &again);
		assert_string_equal(again.text, full.text);
		ick_memo_stats(m, &reused, &walked);
		assert_int_equal(walked, walked1 + 2);
		free(full2.text);
		ick_image_close(im2);
	}
	/* g's tree block read from an overlay (a recovered journal): g is walked, not kept */
	{
		struct ick_overlay *ov;
		uint64_t w0;

		walk_trace(im->fs, m, &again); /* everything kept again */
		ick_memo_stats(m, &reused, &w0);
		assert_int_equal(ick_overlay_new(im->fs->blocksize, &ov), 0);
		assert_int_equal(io_channel_read_blk64(im->fs->io, full.g_leaf, 1, buf), 0);
		assert_int_equal(ick_overlay_put(ov, full.g_leaf, buf), 0);
		ick_memo_view(m, ov);
		walk_trace(im->fs, m, &again);
		walk_trace(im->fs, m, &again);
		assert_string_equal(again.text, full.text);
		ick_memo_stats(m, &reused, &walked);
		assert_int_equal(walked, w0 + 2);
		ick_memo_view(m, NULL); /* the device's block again: the map kept before holds */
		walk_trace(im->fs, m, &again);
		assert_string_equal(again.text, full.text);
		ick_memo_stats(m, &reused, &walked);
		assert_int_equal(walked, w0 + 2);
		ick_overlay_free(ov);
	}
	ick_memo_forget(m);
	walk_trace(im->fs, m, &again);
	assert_string_equal(again.text, full.text);
	free(full.text);
	free(again.text);
	ick_memo_free(m);
	ick_image_close(im);
}

/* ---- checksum verdicts kept by content ---- */

struct vcount { int calls, answer; };

static int vcompute(void *p)
{
	struct vcount *v = p;

	v->calls++;
	return v->answer;
}

static void test_memo_verdicts(void **s)
{
	struct ick_memo *m;
	struct vcount v = { 0, 1 };
	unsigned char a[4096], b[4096];

	memset(a, 0x5a, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_int_equal(ick_memo_new(&m), 0);
	assert_int_equal(ick_memo_verdict(m, ICK_MEMO_JOURNAL_TAG, 7, 1, 2, a, sizeof(a), vcompute, &v), 1);
	assert_int_equal(ick_memo_verdict(m, ICK_MEMO_JOURNAL_TAG, 7, 1, 2, b, sizeof(b), vcompute, &v), 1);
	assert_int_equal(v.calls, 1); /* equal bytes and keys: kept */
	v.answer = 0;
	b[4095] ^= 1;                 /* other bytes: computed again */
	assert_int_equal(ick_memo_verdict(m, ICK_MEMO_JOURNAL_TAG, 7, 1, 2, b, sizeof(b), vcompute, &v), 0);
	assert_int_equal(v.calls, 2);
	assert_int_equal(ick_memo_verdict(m, ICK_MEMO_JOURNAL_TAG, 7, 1, 3, b, sizeof(b), vcompute, &v), 0);
	assert_int_equal(v.calls, 3); /* another stored checksum */
	assert_int_equal(ick_memo_verdict(m, ICK_MEMO_JOURNAL_DESCR, 7, 1, 3, b, sizeof(b), vcompute, &v), 0);
	assert_int_equal(v.calls, 4); /* another kind, same slot number */
	assert_int_equal(ick_memo_verdict(m, ICK_MEMO_JOURNAL_TAG, 7, 1, 3, b, sizeof(b), vcompute, &v), 0);
	assert_int_equal(v.calls, 4);
	assert_int_equal(ick_memo_verdict(NULL, ICK_MEMO_JOURNAL_TAG, 7, 1, 3, b, sizeof(b), vcompute, &v), 0);
	assert_int_equal(v.calls, 5); /* no memo: always computed */
	for (uint64_t i = 0; i < 1000; i++) /* the table grows and keeps what it held */
		(void)ick_memo_verdict(m, ICK_MEMO_BITMAP, i, 0, 0, a, 16, vcompute, &v);
	assert_int_equal(v.calls, 1005);
	assert_int_equal(ick_memo_verdict(m, ICK_MEMO_JOURNAL_TAG, 7, 1, 3, b, sizeof(b), vcompute, &v), 0);
	assert_int_equal(v.calls, 1005);
	ick_memo_free(m);
}

static void test_walk_refuses_non_ext(void **s)
{
	struct ick_image *im = NULL;
	char path[96], cmd[160];

	snprintf(path, sizeof(path), "%s/zero.img", dir);
	snprintf(cmd, sizeof(cmd), "head -c 1048576 /dev/zero >%s", path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(ick_image_open(path, 0, NULL, &im), ICK_ET_NOT_EXT);
	assert_null(im);
}

/* ---- bigalloc: whole clusters charged, one file's shared cluster claimed once ---- */

struct ba_tally { ext2_filsys fs; uint64_t nblocks, iblocks; unsigned shared, claims; };

static errcode_t ba_claim(void *p, const struct ick_claim *c, struct ick_inode_ctx *ic)
{
	struct ba_tally *t = p;

	if (ic && ic->ino == 12 && c->kind == ICK_CLAIM_DATA && !c->bad) {
		t->claims++;
		t->shared += c->cluster_shared != 0;
	}
	return 0;
}

static errcode_t ba_end(void *p, struct ick_inode_ctx *ic)
{
	struct ba_tally *t = p;

	if (ic->ino == 12) {
		t->nblocks = ic->nblocks;
		t->iblocks = ext2fs_get_stat_i_blocks(t->fs, (struct ext2_inode *)ic->inode);
	}
	return 0;
}

/* 4 KiB blocks, 16 KiB clusters; a 20-block file punched at every odd block: ten extents,
 * each pair in one cluster, under an extent tree block.  The walk charges each cluster
 * once (the i_blocks libext2fs's punch left) and flags the second extent of each pair as
 * in its predecessor's cluster. */
static void test_walk_bigalloc_clusters(void **s)
{
	const struct ick_walk_ops ops = { .claim = ba_claim, .end_inode = ba_end };
	struct ba_tally t = { 0 };
	struct ick_image *im = NULL;
	char path[96], cmd[1024];

	snprintf(path, sizeof(path), "%s/ba.img", dir);
	snprintf(cmd, sizeof(cmd),
		 "mkfs.ext4 -q -F -b 4096 -O bigalloc -C 16384 %s 32M >/dev/null 2>&1 && "
		 "head -c 81920 /dev/urandom >%s/data3 && "
		 "debugfs -w -R 'write %s/data3 g' %s >/dev/null 2>&1 && "
		 "for b in 1 3 5 7 9 11 13 15 17 19; do debugfs -w -R \"punch g $b $b\" %s "
		 ">/dev/null 2>&1 || exit 1; done", path, dir, dir, path, path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(ick_image_open(path, 0, NULL, &im), 0);
	t.fs = im->fs;
	assert_int_equal(ick_walk(im->fs, &ops, &t), 0);
	assert_int_equal(t.claims, 10);
	assert_int_equal(t.shared, 5);
	assert_int_equal(t.nblocks, 6 * 4); /* five data clusters and the tree block's, 4 blocks each */
	assert_int_equal(t.iblocks, t.nblocks * 8);     /* as debugfs's punch left i_blocks */
	ick_image_close(im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_owns_exactly_used_blocks),
		cmocka_unit_test(test_walk_refuses_non_ext),
		cmocka_unit_test(test_memo_reuses_and_rewalks),
		cmocka_unit_test(test_memo_verdicts),
		cmocka_unit_test(test_walk_bigalloc_clusters),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
