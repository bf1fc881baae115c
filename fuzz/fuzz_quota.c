/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_quota.c - libFuzzer harness, structure-aware: the input IS the user quota file.
 *
 * A small valid ext4 image with quota and project quota (fuzz/mkquotabase.sh, made with
 * mkfs.ext4 and debugfs when the harness is built) holds a user quota inode whose 64 blocks
 * are written and mapped.  Each input is copied over those blocks (the rest zeroed), the
 * inode's i_size becomes the input's length (its checksum recomputed, so metadata_csum
 * holds), and the image is opened from memory (mem_io.c).  Then, both plainly and with
 * ICK_QUOTA_SALVAGE: ick_quota_open, the info, every entry by ick_quota_iterate (which must
 * come in strictly ascending id order) and ick_quota_lookup of each of them (which must find
 * the same record) and of a few ids taken from the input; and the quota check over the
 * whole image, rendered as text and JSON.
 *
 * The base image is FUZZ_QUOTA_BASE (set by fuzz.mk), or $ICK_FUZZ_QUOTA_BASE.
 * Inputs longer than the file's 64 blocks (64 KiB) are ignored (-max_len=65536).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "image.h"
#include "quota_file.h"
#include "report.h"
#include "mem_io.h"

#ifndef FUZZ_QUOTA_BASE
#define FUZZ_QUOTA_BASE "fuzz/obj/quota-base.img"
#endif
#define QBLOCKS 64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char *base, *work;
static size_t base_size;
static ext2_filsys base_fs;    /* the base image, kept open to checksum the patched inode */
static ext2_ino_t qino;
static uint64_t inode_off;     /* byte offset of the quota inode in the image */
static unsigned inode_size, bs;
static blk64_t phys[QBLOCKS];  /* where the file's blocks lie */
static FILE *devnull;

static void die(const char *what, errcode_t err)
{
	fprintf(stderr, "fuzz_quota: %s: %s\n", what, err ? error_message(err) : "bad base image");
	abort();
}

static void load_base(void)
{
	const char *path = getenv("ICK_FUZZ_QUOTA_BASE");
	struct mem_io_src src;
	FILE *f;
	long n = 0;
	dgrp_t g;
	blk64_t tab;
	errcode_t err;

	if (!path || !*path)
		path = FUZZ_QUOTA_BASE;
	if (!(f = fopen(path, "rb")) || fseek(f, 0, SEEK_END))
		die(path, errno);
	if ((n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET))
		die(path, errno ? errno : EIO);
	base_size = (size_t)n;
	if (!(base = malloc(base_size)) || !(work = malloc(base_size)) ||
	    fread(base, 1, base_size, f) != base_size)
		die(path, EIO);
	fclose(f);
	mem_io_register(&src, "quota-base", base, base_size);
	err = ext2fs_open2("quota-base", NULL, EXT2_FLAG_64BITS, 0, 0, mem_io_manager, &base_fs);
	ick_io_unregister(&src.reg);
	if (err)
		die("ext2fs_open2", err);
	bs = base_fs->blocksize;
	qino = base_fs->super->s_usr_quota_inum;
	if (bs != ICK_QUOTA_BLKSIZE || !qino || qino > base_fs->super->s_inodes_count)
		die(path, 0);
	for (blk64_t l = 0; l < QBLOCKS; l++) {
		if ((err = ext2fs_bmap2(base_fs, qino, NULL, NULL, 0, l, NULL, &phys[l])))
			die("ext2fs_bmap2", err);
		if (!phys[l] || (phys[l] + 1) * bs > base_size)
			die(path, 0);
	}
	inode_size = EXT2_INODE_SIZE(base_fs->super);
	g = (qino - 1) / base_fs->super->s_inodes_per_group;
	tab = ext2fs_inode_table_loc(base_fs, g);
	inode_off = tab * bs + (uint64_t)((qino - 1) % base_fs->super->s_inodes_per_group) *
		    inode_size;
	if (inode_size < sizeof(struct ext2_inode_large) || inode_off + inode_size > base_size)
		die(path, 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (!(devnull = fopen("/dev/null", "w")))
		abort();
	load_base();
	return 0;
}

struct walk {
	const struct ick_quota_file *qf;
	int have_prev;
	uint32_t prev;
	size_t n;
};

static errcode_t each(const struct ick_dquot *dq, void *priv)
{
	struct walk *w = priv;
	struct ick_dquot again;

	if (w->have_prev && dq->id <= w->prev) {
		fprintf(stderr, "fuzz_quota: ids out of order: %u after %u\n", dq->id, w->prev);
		abort();
	}
	w->have_prev = 1;
	w->prev = dq->id;
	w->n++;
	if (ick_quota_lookup(w->qf, dq->id, &again) || memcmp(&again, dq, sizeof(again))) {
		fprintf(stderr, "fuzz_quota: lookup of listed id %u disagrees\n", dq->id);
		abort();
	}
	return 0;
}

static void exercise(ext2_filsys fs, unsigned flags, const uint8_t *data, size_t size)
{
	struct ick_quota_file *qf = NULL;
	struct ick_dquot dq;
	struct walk w = { 0 };
	const struct ick_quota_info *in;
	const char *s;
	uint32_t ids[3] = { 0, 0xffffffffu, 0 };
	errcode_t err;

	err = ick_quota_open(fs, ICK_QUOTA_USER, flags, &qf);
	if (!qf)
		return;
	if (err && !(flags & ICK_QUOTA_SALVAGE)) {
		fprintf(stderr, "fuzz_quota: error %ld with a handle\n", (long)err);
		abort();
	}
	in = ick_quota_get_info(qf);
	fprintf(devnull, "%u %u %u %u %llu\n", in->version, in->blocks, in->tree_blocks,
		in->data_blocks, (unsigned long long)in->entries);
	if ((s = ick_quota_why(qf)))
		fprintf(devnull, "%s\n", s);
	if ((s = ick_quota_list_problem(qf)))
		fprintf(devnull, "%s\n", s);
	w.qf = qf;
	if (ick_quota_iterate(qf, each, &w) || w.n != ick_quota_count(qf)) {
		fprintf(stderr, "fuzz_quota: iterate listed %zu of %zu\n", w.n, ick_quota_count(qf));
		abort();
	}
	if (size >= 8) {
		memcpy(&ids[0], data + size - 4, 4);
		memcpy(&ids[2], data + size - 8, 4);
	}
	for (int i = 0; i < 3; i++)
		if ((err = ick_quota_lookup(qf, ids[i], &dq)))
			(void)err;
	if ((err = ick_quota_close(qf))) /* read-only: nothing to write back */
		(void)err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ext2_inode_large *ino;
	struct ick_image *img = NULL;
	struct mem_io_src src;
	struct ick_report rep;
	errcode_t err;

	if (size > (size_t)QBLOCKS * bs)
		return 0;
	memcpy(work, base, base_size);
	for (size_t l = 0; l < QBLOCKS; l++) {
		size_t off = l * bs, n = off < size ? (size - off < bs ? size - off : bs) : 0;

		memcpy(work + phys[l] * bs, data + off, n);
		memset(work + phys[l] * bs + n, 0, bs - n);
	}
	if (!(ino = malloc(inode_size)))
		return 0;
	memcpy(ino, work + inode_off, inode_size);
	ino->i_size = (uint32_t)size;
	ino->i_size_high = 0;
	if ((err = ext2fs_inode_csum_set(base_fs, qino, ino)))
		die("ext2fs_inode_csum_set", err);
	memcpy(work + inode_off, ino, inode_size);
	free(ino);

	mem_io_register(&src, "quota.img", work, base_size);
	err = ick_image_open("quota.img", 0, mem_io_manager, &img);
	ick_io_unregister(&src.reg);
	if (err)
		die("ick_image_open", err); /* only the quota file differs from the base */
	exercise(img->fs, 0, data, size);
	exercise(img->fs, ICK_QUOTA_SALVAGE, data, size);
	if (!ick_report_init(&rep, "quota.img")) {
		if ((err = ick_checks_run(img, 1u << ICK_CHECK_QUOTA, &rep)))
			(void)err;
		ick_report_print_text(&rep, devnull);
		if ((err = ick_report_write_json(&rep, devnull)))
			(void)err;
		ick_report_free(&rep);
	}
	ick_image_close(img);
	return 0;
}
