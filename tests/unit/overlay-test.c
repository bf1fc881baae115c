/* SPDX-License-Identifier: GPL-2.0-only */
/* overlay-test: the block overlay and its io_manager.  Reads come from the overlay over the
 * image (whole blocks, partial ranges, byte offsets that straddle blocks); writes through
 * libext2fs land in the overlay and never in the file (hash before and after); a file
 * system opened read-write through the overlay, changed by libext2fs and closed, reads
 * back changed through a new overlay channel while the installed e2fsck still finds the
 * image itself untouched; the table grows past its first size; two views of one image
 * open at once through two overlays each read their own blocks and directories. */
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

static char dir[] = "/tmp/overlay-testXXXXXX";
static char img[64];

static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int setup(void **s)
{
	if (!mkdtemp(dir))
		return -1;
	snprintf(img, sizeof(img), "%s/fs.img", dir);
	return run("mkfs.ext4 -q -F -b 4096 %s 8M >/dev/null 2>&1 && sha256sum <%s >%s/sum",
		   img, img, dir) == 0 ? 0 : -1;
}

static int teardown(void **s)
{
	return run("rm -rf %s", dir) == 0 ? 0 : -1;
}

static void image_unchanged(void)
{
	assert_int_equal(run("sha256sum <%s | cmp -s - %s/sum", img, dir), 0);
}

static void test_table(void **s)
{
	struct ick_overlay *ov;
	unsigned char b[1024];

	assert_int_equal(ick_overlay_new(1000, &ov), EXT2_ET_INVALID_ARGUMENT);
	assert_int_equal(ick_overlay_new(1024, &ov), 0);
	for (uint64_t i = 0; i < 5000; i++) {
		memset(b, (int)(i & 0xff), sizeof(b));
		assert_int_equal(ick_overlay_put(ov, i * 7919, b), 0);
	}
	memset(b, 0xaa, sizeof(b));
	assert_int_equal(ick_overlay_put(ov, 7919, b), 0); /* replace */
	assert_int_equal(ick_overlay_count(ov), 5000);
	assert_int_equal(ick_overlay_get(ov, 7919)[5], 0xaa);
	assert_int_equal(ick_overlay_get(ov, 4999 * 7919)[0], 4999 & 0xff);
	assert_null(ick_overlay_get(ov, 1));
	ick_overlay_free(ov);
}

/* Reads through the raw channel and through the overlay agree except where overlaid. */
static void test_pread(void **s)
{
	struct ick_image *im;
	struct ick_overlay *ov;
	unsigned char blk[4096], raw[3 * 4096], got[3 * 4096];

	assert_int_equal(ick_image_open(img, 0, NULL, &im), 0);
	assert_int_equal(ick_overlay_new(4096, &ov), 0);
	memset(blk, 0x5c, sizeof(blk));
	assert_int_equal(ick_overlay_put(ov, 1, blk), 0);
	assert_int_equal(io_channel_read_blk64(im->fs->io, 0, 3, raw), 0);
	assert_int_equal(ick_overlay_pread(ov, im->fs->io, 0, sizeof(got), got), 0);
	assert_memory_equal(got, raw, 4096);
	assert_memory_equal(got + 4096, blk, 4096);
	assert_memory_equal(got + 8192, raw + 8192, 4096);
	/* a range straddling the overlaid block, at byte offsets */
	assert_int_equal(ick_overlay_pread(ov, im->fs->io, 4000, 200, got), 0);
	assert_memory_equal(got, raw + 4000, 96);
	assert_memory_equal(got + 96, blk, 104);
	/* partial write merges with what is below it */
	assert_int_equal(ick_overlay_pwrite(ov, im->fs->io, 8192 + 10, 4, "abcd"), 0);
	assert_int_equal(ick_overlay_pread(ov, im->fs->io, 8192, 4096, got), 0);
	assert_memory_equal(got, raw + 8192, 10);
	assert_memory_equal(got + 10, "abcd", 4);
	assert_memory_equal(got + 14, raw + 8192 + 14, 4096 - 14);
	ick_overlay_free(ov);
	ick_image_close(im);
	image_unchanged();
}

/* libext2fs writing through the overlay: changes visible through the overlay only. */
static void test_rw_through_overlay(void **s)
{
	struct ick_image *im;
	struct ick_overlay *ov;
	struct ick_io_reg reg;
	ext2_ino_t ino;

	assert_int_equal(ick_overlay_new(4096, &ov), 0);
	ick_overlay_io_register(&reg, img, ov, NULL);
	assert_int_equal(ick_image_open(img, ICK_OPEN_RW, ick_overlay_io_manager, &im), 0);
	ick_io_unregister(&reg);
	assert_int_equal(ext2fs_read_bitmaps(im->fs), 0);
	assert_int_equal(ext2fs_mkdir(im->fs, EXT2_ROOT_INO, 0, "in-overlay"), 0);
	assert_int_equal(ext2fs_close_free(&im->fs), 0);
	ick_image_close(im);
	assert_true(ick_overlay_count(ov) > 0);
	image_unchanged();
	assert_int_equal(run("e2fsck -fn %s >/dev/null 2>&1", img), 0);

	ick_overlay_io_register(&reg, img, ov, NULL);
	assert_int_equal(ick_image_open(img, 0, ick_overlay_io_manager, &im), 0);
	ick_io_unregister(&reg);
	assert_int_equal(ext2fs_namei(im->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, "in-overlay", &ino), 0);
	assert_true(ino > EXT2_ROOT_INO);
	im->overlay = ov; /* the image owns it now */
	ick_image_close(im);

	assert_int_equal(ick_image_open(img, 0, NULL, &im), 0);
	assert_int_equal(ext2fs_namei(im->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, "in-overlay", &ino),
			 EXT2_ET_FILE_NOT_FOUND);
	ick_image_close(im);
	image_unchanged();
}

/* Open @img through @ov (registered only for the open) into *@fs. */
static void open_view(struct ick_overlay *ov, int flags, ext2_filsys *fs)
{
	struct ick_io_reg reg;

	ick_overlay_io_register(&reg, img, ov, NULL);
	assert_int_equal(ext2fs_open2(img, NULL, flags | EXT2_FLAG_64BITS, 0, 0,
				      ick_overlay_io_manager, fs), 0);
	ick_io_unregister(&reg);
}

/* Each view's own directory, made through libext2fs into its overlay. */
static void mkdir_in(struct ick_overlay *ov, const char *name)
{
	ext2_filsys fs;

	open_view(ov, EXT2_FLAG_RW, &fs);
	assert_int_equal(ext2fs_read_bitmaps(fs), 0);
	assert_int_equal(ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, name), 0);
	assert_int_equal(ext2fs_close_free(&fs), 0);
}

/* Block @b as @fs reads it is all @byte (-1: the image file's own bytes). */
static void assert_block(ext2_filsys fs, blk64_t b, int byte)
{
	unsigned char got[4096], want[4096];
	FILE *f;

	memset(want, byte, sizeof(want));
	if (byte < 0) {
		assert_non_null(f = fopen(img, "rb"));
		assert_int_equal(fseek(f, (long)(b * 4096), SEEK_SET), 0);
		assert_int_equal(fread(want, 1, sizeof(want), f), sizeof(want));
		fclose(f);
	}
	assert_int_equal(io_channel_read_blk64(fs->io, b, 1, got), 0);
	assert_memory_equal(got, want, sizeof(want));
}

/* Two overlay views of one image open at once: each channel reads its own overlay. */
static void test_two_views(void **s)
{
	struct ick_overlay *a, *b;
	unsigned char blk[4096];
	ext2_filsys fa, fb, none;
	ext2_ino_t ino;

	assert_int_equal(ick_overlay_new(4096, &a), 0);
	assert_int_equal(ick_overlay_new(4096, &b), 0);
	mkdir_in(a, "only-a");
	mkdir_in(b, "only-b");
	memset(blk, 0xaa, sizeof(blk));
	assert_int_equal(ick_overlay_put(a, 1500, blk), 0);
	memset(blk, 0xbb, sizeof(blk));
	assert_int_equal(ick_overlay_put(b, 1500, blk), 0);
	assert_int_equal(ick_overlay_put(b, 1501, blk), 0);
	open_view(a, 0, &fa);
	open_view(b, 0, &fb);
	/* nothing registered: the manager has no overlay to serve */
	assert_int_equal(ext2fs_open2(img, NULL, 0, 0, 0, ick_overlay_io_manager, &none),
			 EXT2_ET_INVALID_ARGUMENT);
	for (int round = 0; round < 2; round++) { /* interleaved, twice */
		assert_block(fa, 1500, 0xaa);
		assert_block(fb, 1500, 0xbb);
		assert_block(fb, 1501, 0xbb);
		assert_block(fa, 1501, -1); /* not in a's overlay: the image's */
	}
	assert_int_equal(ext2fs_namei(fa, EXT2_ROOT_INO, EXT2_ROOT_INO, "only-a", &ino), 0);
	assert_int_equal(ext2fs_namei(fa, EXT2_ROOT_INO, EXT2_ROOT_INO, "only-b", &ino),
			 EXT2_ET_FILE_NOT_FOUND);
	assert_int_equal(ext2fs_namei(fb, EXT2_ROOT_INO, EXT2_ROOT_INO, "only-b", &ino), 0);
	assert_int_equal(ext2fs_namei(fb, EXT2_ROOT_INO, EXT2_ROOT_INO, "only-a", &ino),
			 EXT2_ET_FILE_NOT_FOUND);
	assert_int_equal(ext2fs_close_free(&fa), 0);
	assert_int_equal(ext2fs_close_free(&fb), 0);
	ick_overlay_free(a);
	ick_overlay_free(b);
	image_unchanged();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_pread),
		cmocka_unit_test(test_rw_through_overlay),
		cmocka_unit_test(test_two_views),
	};
	add_error_table(&et_ext2_error_table);
	return cmocka_run_group_tests(tests, setup, teardown);
}
