/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_image.c - libFuzzer harness: the input is a whole ext2/3/4 image.
 *
 * Each input is opened through the in-memory io_manager (mem_io.c) with ick_view_open()
 * (so journal recovery into the overlay, the fast-commit scan and replay after it
 * (fast_commit.c: seeds mk_fc1k and mk_fcnocsum from mkseeds.sh), the s_jnl_blocks fallback
 * and orphan release run on it as well),
 * every check runs over it (ick_checks_run with ICK_CHECKS_ALL), the report is rendered as
 * text and as JSON (to /dev/null: the renderers read the details the checks built from
 * on-disk bytes), and everything is freed; AddressSanitizer's leak check then fails the
 * run if anything was not.
 *
 * Inputs larger than FUZZ_IMAGE_MAX are ignored (run with -max_len=4194304).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "check.h"
#include "image.h"
#include "view.h"
#include "report.h"
#include "mem_io.h"

#define FUZZ_IMAGE_MAX (4u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ick_image *img = NULL;
	struct ick_report rep;
	struct ick_view_opts vo = { .io = mem_io_manager };
	struct mem_io_src src;
	errcode_t err;

	if (size > FUZZ_IMAGE_MAX)
		return 0;
	if (ick_report_init(&rep, "fuzz.img"))
		return 0;
	/* the mounted view: journal recovery and orphan release run on the input too */
	mem_io_register(&src, "fuzz.img", data, size);
	err = ick_view_open("fuzz.img", &vo, &rep, &img);
	ick_io_unregister(&src.reg);
	if (err) {
		/* refused images come back closed, for their reason */
		ick_image_close(img);
		ick_report_free(&rep);
		return 0;
	}
	err = ick_checks_run(img, ICK_CHECKS_ALL, &rep);
	(void)err; /* an operational error is a legitimate outcome for a broken image */
	ick_report_print_text(&rep, devnull);
	if ((err = ick_report_write_json(&rep, devnull)))
		(void)err; /* only ENOMEM or a write error */
	ick_report_free(&rep);
	ick_image_close(img);
	return 0;
}
