/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * debugfs-ext - a debugfs-style shell for replaying ext4's iomap buffered write path on an
 * image: `debugfs-ext [-w] [-c] [-b N] [-s N] [-z undo] [-t] [-L log]
 * [--writeback-before-foreign] [-R request] [-f cmd_file] image`.  Built on libss like
 * debugfs (prompt, help, list_requests, quit); our requests are in cmds.c, every other
 * debugfs request is run by the real debugfs (foreign.c).  Called as `debugfs` (the shim
 * of `make install-shim`) it speaks as debugfs, and what it cannot serve itself (no image,
 * options it does not take, an image our library refuses) it hands to the real debugfs
 * whole.
 */
#include "config.h"
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <errno.h>
#include <et/com_err.h>
#include <ss/ss.h>
#include "shell.h"

extern ss_request_table ext_cmds;

struct shell sh;
const char *prog = "debugfs-ext";

static int shim;        /* called as debugfs */
static char **orig_argv;

/* The shim cannot serve this session: the real debugfs runs it, as it was given. */
static void hand_over(void)
{
	fflush(stdout);
	signal(SIGPIPE, SIG_DFL);
	execv(sh_debugfs_path(), orig_argv);
	com_err(prog, errno, "while running %s", sh_debugfs_path());
	exit(SH_EXIT_FAILED);
}

static void print_usage(FILE *out)
{
	fprintf(out, "Usage: %s [-w] [-c] [-b blocksize] [-s superblock] [-z undo_file] [-t] "
		"[-L log] [--writeback-before-foreign] [-R request] [-f cmd_file] image\n"
		"       %s --help | --version\n", prog, prog);
}

static void usage(void)
{
	if (shim)
		hand_over();
	print_usage(stderr);
	exit(SH_EXIT_USAGE);
}

void sh_fail(const char *who, errcode_t err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	com_err_va(who, err, fmt, ap);
	va_end(ap);
	if (sh.status < SH_EXIT_FAILED)
		sh.status = SH_EXIT_FAILED;
}

void sh_trace_line(void *priv, const char *line)
{
	(void)priv;
	printf("  %s\n", line);
}

/* -L: commits end in a FUA write, crash-point boundaries are marks */
static errcode_t log_commit(void *priv, const char *what)
{
	return sh.cur ? ick_logw_commit(sh.cur) : 0;
}

static errcode_t log_point(void *priv, enum ick_wp_crash point, ext2_ino_t ino)
{
	return sh.cur ? ick_logw_mark(sh.cur, ick_wp_crash_name(point)) : 0;
}

errcode_t sh_mount(void)
{
	static const struct ick_wp_hooks hooks = { .commit = log_commit, .point = log_point };
	struct ick_io_reg reg;
	errcode_t err;

	/* -w opens through the recorder (it passes through until a log is attached), so that
	 * -L and iomap_write --log can record.  An io_manager given skips the libblkid probe:
	 * a non-ext image still fails, as libext2fs finds no magic, 5 ms sooner. */
	ick_logw_io_register(&reg, sh.path, sh.log);
	sh.cur = sh.log;
	err = ick_image_open(sh.path, sh.rw ? ICK_OPEN_RW : 0,
			     sh.rw ? ick_logw_io_manager : unix_io_manager, &sh.img);
	ick_io_unregister(&reg);

	if (err) {
		if (sh.quiet_open)
			;   /* the real debugfs will say it, or open it */
		else if (sh.img && sh.img->refused[0])
			com_err(prog, err, "(%s) while opening %s", sh.img->refused, sh.path);
		else
			com_err(prog, err, "while opening %s", sh.path);
		ick_image_close(sh.img);
		sh.img = NULL;
		return err;
	}
	sh.wp = NULL;
	sh.wp_err = 0;
	if (sh.rw && (sh.wp_err = ick_wp_open(sh.img->fs, &sh.wp)))
		/* the shell stays usable for iomap_check; writes say why they cannot run */
		com_err(prog, sh.wp_err, "- the write path is unavailable on %s%s", sh.path,
			ext2fs_has_feature_bigalloc(sh.img->fs->super)
				? " (bigalloc: the write path models block, not cluster, allocation)"
				: "");
	if (sh.wp && sh.trace)
		ick_wp_set_trace(sh.wp, sh_trace_line, NULL);
	if (sh.wp)
		ick_wp_set_hooks(sh.wp, &hooks);
	return 0;
}

/* After a write by debugfs: the model (clean, by the rules of foreign.c) is dropped and
 * the image read again, as a remount would. */
void sh_remount(void)
{
	sh_unmount(1);
	if (sh_mount())
		sh.status = SH_EXIT_OPEN;
}

/* Leave the model: an unmount writes everything back, a crash writes nothing. */
void sh_unmount(int crashed)
{
	struct ick_report rep;
	errcode_t err;

	if (!sh.img)
		return;
	if (crashed) {
		ick_wp_crash(sh.wp);
		sh.wp = NULL;
		/* ext2fs_free, not close: a power cut writes no superblock */
		ext2fs_free(sh.img->fs);
		sh.img->fs = NULL;
		ick_image_close(sh.img);
		sh.img = NULL;
		return;
	}
	if (sh.wp) {
		if ((err = ick_report_init(&rep, sh.path))) {
			sh_fail(prog, err, "while unmounting");
			rep.nr = 0;
		}
		err = ick_wp_unmount(sh.wp, err ? NULL : &rep);
		sh.wp = NULL;
		if (err)
			sh_fail(prog, err, "while writing back at unmount");
		if (rep.nr) {
			printf("%s: the write-path model at unmount:\n", prog);
			ick_report_print_text(&rep, stdout);
			if (sh.status < SH_EXIT_FOUND)
				sh.status = SH_EXIT_FOUND;
		}
		ick_report_free(&rep);
	}
	ick_image_close(sh.img);
	sh.img = NULL;
}

/* Which of our tables -R's request (its first word, as libss splits it) is in: 1 ours,
 * 2 libss's (help, lr, quit), 0 neither: the real debugfs's. */
static int request_table(const char *request)
{
	const char *p = request + strspn(request, " \t");
	size_t len = strcspn(p, " \t");

	if (!len || *p == '"')
		return 1;   /* empty, or quoted: let libss say what it is */
	return sh_request_table(p, len);
}

/* -f: as debugfs reads a command file: a line starting with '#' is printed as it is,
 * every other one echoed after the program's name and run. */
static int source_file(int sci, const char *cmd_file)
{
	FILE *f = strcmp(cmd_file, "-") ? fopen(cmd_file, "r") : stdin;
	char buf[8192];
	int code;

	if (!f) {
		perror(cmd_file);
		return SH_EXIT_USAGE;
	}
	while (fgets(buf, sizeof(buf), f)) {
		if (buf[0] == '#') {
			fputs(buf, stdout);
			continue;
		}
		buf[strcspn(buf, "\n")] = 0;
		buf[strcspn(buf, "\r")] = 0;
		printf("%s: %s\n", prog, buf);
		if ((code = ss_execute_line(sci, buf)))
			sh_fail(prog, code, "%s", buf);
	}
	if (f != stdin)
		fclose(f);
	return 0;
}

enum { OPT_WB_FOREIGN = 256 };

/* The options into sh (and *request, *cmd_file, *log_path); a usage error exits. */
static void parse_args(int argc, char **argv, const char **request, const char **cmd_file,
		       const char **log_path)
{
	static const struct option lo[] = {
		{ "writeback-before-foreign", 0, 0, OPT_WB_FOREIGN }, { 0, 0, 0, 0 },
	};
	int c;

	opterr = !shim;
	while ((c = getopt_long(argc, argv, "wtL:R:f:cb:s:z:", lo, NULL)) != -1) {
		switch (c) {
		case 'L': *log_path = optarg; break;
		case 'w': sh.rw = 1; break;
		case 't': sh.trace = 1; break;
		case 'R': *request = optarg; break;
		case 'f': *cmd_file = optarg; break;
		case 'c': sh.catastrophic = 1; break;
		case 'b': sh.blocksize = optarg; break;
		case 's': sh.superblock = optarg; break;
		case 'z': sh.undo = optarg; break;
		case OPT_WB_FOREIGN: sh.writeback_before_foreign = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || (*request && *cmd_file))
		usage();
	sh.path = argv[optind];
	if (*log_path && !sh.rw)
		usage();
}

/* The libss shell on the mounted image: -R's request, -f's file or the prompt; returns
 * 0, or an exit code that ends the run at once. */
static int run_shell(const char *request, const char *cmd_file, int table)
{
	ss_request_table *foreign;
	int sci, code;

	sci = ss_create_invocation(prog, "0.1", NULL, &ext_cmds, &code);
	if (code) {
		com_err(prog, code, "while creating the shell");
		return SH_EXIT_FAILED;
	}
	ss_add_request_table(sci, &ss_std_requests, 1, &code);
	/* -R iomap_write needs no list of debugfs's requests; help and lr show it */
	if (table != 1 && (foreign = sh_foreign_table()))
		ss_add_request_table(sci, foreign, 2, &code);
	if (shim && !request)
		sh_foreign_begin();
	if (request) {
		char *line = strdup(request);
		if (line && (code = ss_execute_line(sci, line)))
			sh_fail(prog, code, "%s", request);
		free(line);
	} else if (cmd_file) {
		if ((code = source_file(sci, cmd_file)))
			return code;
	} else {
		ss_listen(sci);
	}
	ss_delete_invocation(sci);
	return 0;
}

int main(int argc, char **argv)
{
	const char *request = NULL, *cmd_file = NULL, *log_path = NULL, *base;
	errcode_t err;
	int code, table = 0;

	add_error_table(&et_ext2_error_table);
	add_error_table(&et_ick_error_table);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);   /* a coprocess gone shows as EPIPE */
	orig_argv = argv;
	base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (!strcmp(base, "debugfs")) {
		shim = 1;
		prog = "debugfs";
	}
	if (!shim && argc == 2 && !strcmp(argv[1], "--help")) {
		print_usage(stdout);
		return SH_EXIT_OK;
	}
	if (!shim && argc == 2 && !strcmp(argv[1], "--version")) {
		printf("%s %s\n", prog, PACKAGE_VERSION);
		return SH_EXIT_OK;
	}
	parse_args(argc, argv, &request, &cmd_file, &log_path);
	if (request && !(table = request_table(request))) {
		if (log_path) {
			com_err(prog, 0, "-L records our requests; %s is debugfs's", request);
			return SH_EXIT_USAGE;
		}
		return sh_foreign_exec_request(request);
	}
	if (shim && cmd_file && strcmp(cmd_file, "-") && access(cmd_file, R_OK))
		hand_over();    /* debugfs's own words for a command file it cannot read */
	sh.quiet_open = shim && !log_path;
	if (log_path && (err = ick_logw_create(log_path, 512, &sh.log))) {
		com_err(prog, err, "while creating the log %s", log_path);
		return SH_EXIT_OPEN;
	}
	if (sh_mount()) {
		if (sh.quiet_open)
			hand_over();
		return SH_EXIT_OPEN;
	}
	sh.quiet_open = 0;
	if ((code = run_shell(request, cmd_file, table)))
		return code;
	sh_foreign_stop();
	sh_foreign_free();
	/* a model debugfs wrote under is clean but stale: dropped, never written */
	sh_unmount(sh.model_stale);
	if (sh.log) {
		/* the kernel target's destructor ends every log with this mark */
		if ((err = ick_logw_mark(sh.log, "dm-log-writes-end")) ||
		    (err = ick_logw_close(sh.log)))
			sh_fail(prog, err, "while closing the log %s", log_path);
		sh.log = NULL;
	}
	return sh.status;
}
