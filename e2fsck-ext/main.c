/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * e2fsck-ext - `e2fsck -E iomapcheck[,…] …`: run iomapck's checks on the device, print them
 * in e2fsck's voice (and as JSON if asked), then run the real e2fsck with every option that
 * is not ours and exit with both exit codes ORed.  Without iomapcheck it is e2fsck itself:
 * it execs the real e2fsck with the same arguments.  Option parsing and printing only; the
 * checks live in lib/.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <et/com_err.h>
#include <ext2fs/ext2fs.h>
#include "eopts.h"
#include "check.h"
#include "ick_err.h"
#include "view.h"
#include "blkdev.h"
#include "exit_codes.h"

static const char *prog = "e2fsck-ext";

static const char *real_e2fsck(void)
{
	const char *env = getenv("IOMAPCK_E2FSCK");
	return env && *env ? env : ICK_E2FSCK_PATH;
}

static int run_e2fsck(char **argv)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		com_err(prog, errno, "while starting %s", real_e2fsck());
		return ICK_EXIT_OPER;
	}
	if (pid == 0) {
		argv[0] = (char *)"e2fsck";
		execv(real_e2fsck(), argv);
		com_err(prog, errno, "while running %s", real_e2fsck());
		_exit(ICK_EXIT_OPER);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return ICK_EXIT_OPER;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return ICK_EXIT_OPER;
}

static int write_json(const struct ick_report *rep, const char *path)
{
	FILE *out = strcmp(path, "-") ? fopen(path, "w") : stdout;
	errcode_t err;

	if (!out) {
		com_err(prog, errno, "while opening %s for the JSON report", path);
		return ICK_EXIT_OPER;
	}
	err = ick_report_write_json(rep, out);
	if (out != stdout && fclose(out) && !err)
		err = errno;
	if (err) {
		com_err(prog, err, "while writing the JSON report to %s", path);
		return ICK_EXIT_OPER;
	}
	return 0;
}

static int open_error(struct ick_image *img, errcode_t err, const char *dev)
{
	if ((err == ICK_ET_UNSUPPORTED_FEATURE || err == ICK_ET_BAD_GEOMETRY) && img)
		com_err(prog, err, "(%s) while opening %s", img->refused, dev);
	else
		com_err(prog, err, "while opening %s", dev);
	ick_image_close(img);
	return ICK_EXIT_OPER;
}

/* Our half: open read-only, check, print.  Returns e2fsck-style exit bits. */
static int run_checks(const struct eopts *o)
{
	struct ick_image *img = NULL;
	struct ick_report rep;
	FILE *txt = o->json && !strcmp(o->json, "-") ? stderr : stdout; /* JSON owns stdout */
	errcode_t err;
	int rc;

	struct ick_view_opts vo = { .norecovery = o->norecovery,
				    .ext_journal = o->journal ? o->journal : o->journal_j,
				    .sb = { o->superblock, o->blocksize } };
	struct ick_check_opts co = { .poison = o->poison_len ? o->poison : NULL,
				     .poison_len = o->poison_len };

	if ((err = ick_report_init(&rep, o->device)))
		return ICK_EXIT_OPER;
	rep.lenient = !o->strict;
	{
		char where[256];
		/* e2fsck -n goes on with a mounted device after a warning; so do we */
		if (ick_path_mounted(o->device, where, sizeof(where)) == 1)
			fprintf(stderr, "%s: warning: %s is mounted on %s: the checks read what is "
				"on disk now, which the kernel may be changing\n", prog, o->device,
				where);
	}
	if ((err = ick_view_open(o->device, &vo, &rep, &img))) {
		ick_report_free(&rep);
		return open_error(img, err, o->device);
	}
	if (o->recovered && (err = ick_view_dump(img, o->recovered))) {
		com_err(prog, err, "while writing the checked view to %s", o->recovered);
		ick_report_free(&rep);
		ick_image_close(img);
		return ICK_EXIT_OPER;
	}
	fprintf(txt, "iomapck %s: checking %s (%u-byte blocks, %llu blocks)\n", PACKAGE_VERSION,
	       o->device, img->fs->blocksize,
	       (unsigned long long)ext2fs_blocks_count(img->fs->super));
	if (img->sb_note[0])
		fprintf(txt, "iomapck: %s\n", img->sb_note);
	err = ick_checks_run_opts(img, o->checks ? o->checks : ICK_CHECKS_ALL, &co, &rep);
	if (err) {
		com_err(prog, err, "while checking %s", o->device);
		rc = ICK_EXIT_OPER;
	} else {
		ick_report_print_text(&rep, txt);
		rc = ick_report_exit_bits(&rep);
		if (o->json)
			rc |= write_json(&rep, o->json);
	}
	ick_report_free(&rep);
	ick_image_close(img);
	return rc;
}

int main(int argc, char **argv)
{
	struct eopts o;
	int rc;

	add_error_table(&et_ext2_error_table);
	add_error_table(&et_ick_error_table);
	/* ours alone: e2fsck has no long options */
	if (argc == 2 && !strcmp(argv[1], "--help")) {
		eopts_usage(stdout, prog);
		return ICK_EXIT_OK;
	}
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("%s %s\n", prog, PACKAGE_VERSION);
		return ICK_EXIT_OK;
	}
	if (eopts_parse(argc, argv, &o) < 0) {
		fprintf(stderr, "%s: %s\n", prog, o.error ? o.error : "out of memory");
		eopts_usage(stderr, prog);
		eopts_free(&o);
		return ICK_EXIT_USAGE;
	}
	if (!o.iomapcheck) {
		eopts_free(&o);
		argv[0] = (char *)"e2fsck";
		execv(real_e2fsck(), argv);
		com_err(prog, errno, "while running %s", real_e2fsck());
		return ICK_EXIT_OPER;
	}
	if (o.ndevices != 1) {
		fprintf(stderr, "%s: expected exactly one device, got %d\n", prog, o.ndevices);
		eopts_usage(stderr, prog);
		eopts_free(&o);
		return ICK_EXIT_USAGE;
	}
	rc = run_checks(&o);
	if (!o.only) /* e2fsck may handle what we refused */
		rc |= run_e2fsck(o.e2fsck_argv);
	eopts_free(&o);
	return rc;
}
