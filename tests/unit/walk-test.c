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
	char cmd[512];

	if (!mkdtemp(dir))
		return -1;
	snprintf(img, sizeof(img), "%s/fs.img", dir);
	snprintf(cmd, sizeof(cmd),
		 "mkfs.ext4 -q -F -b 4096 %s 16M >/dev/null 2>&1 && "
		 "head -c 20000 /dev/urandom >%s/data && "
		 "debugfs -w -R 'write %s/data f' %s >/dev/null 2>&1", img, dir, dir, img);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_owns_exactly_used_blocks),
		cmocka_unit_test(test_walk_refuses_non_ext),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
