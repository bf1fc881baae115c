/*
 * debugfs-ext - a debugfs-style shell for replaying ext4's iomap buffered write path on an
 * image: `debugfs-ext [-w] [-t] [-R request] [-f cmd_file] image`.  Built on libss like
 * debugfs (prompt, help, list_requests, quit); the requests are in cmds.c.
 */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <et/com_err.h>
#include <ss/ss.h>
#include "shell.h"

extern ss_request_table ext_cmds;

struct shell sh;
const char *prog = "debugfs-ext";

static void usage(void)
{
	fprintf(stderr, "Usage: %s [-w] [-t] [-L log] [-R request] [-f cmd_file] image\n", prog);
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
	errcode_t err;

	/* -w opens through the recorder (it passes through until a log is attached), so that
	 * -L and iomap_write --log can record.  An io_manager given skips the libblkid probe:
	 * a non-ext image still fails, as libext2fs finds no magic, 5 ms sooner. */
	ick_logw_io_attach(sh.log);
	sh.cur = sh.log;
	err = ick_image_open(sh.path, sh.rw ? ICK_OPEN_RW : 0,
			     sh.rw ? ick_logw_io_manager : unix_io_manager, &sh.img);

	if (err) {
		if (sh.img && sh.img->refused[0])
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

int main(int argc, char **argv)
{
	const char *request = NULL, *cmd_file = NULL, *log_path = NULL;
	errcode_t err;
	int c, sci, code;

	add_error_table(&et_ext2_error_table);
	add_error_table(&et_ick_error_table);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt(argc, argv, "wtL:R:f:")) != -1) {
		switch (c) {
		case 'L': log_path = optarg; break;
		case 'w': sh.rw = 1; break;
		case 't': sh.trace = 1; break;
		case 'R': request = optarg; break;
		case 'f': cmd_file = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || (request && cmd_file))
		usage();
	sh.path = argv[optind];
	if (log_path && !sh.rw)
		usage();
	if (log_path && (err = ick_logw_create(log_path, 512, &sh.log))) {
		com_err(prog, err, "while creating the log %s", log_path);
		return SH_EXIT_OPEN;
	}
	if (sh_mount())
		return SH_EXIT_OPEN;
	sci = ss_create_invocation("debugfs-ext", "0.1", NULL, &ext_cmds, &code);
	if (code) {
		com_err(prog, code, "while creating the shell");
		return SH_EXIT_FAILED;
	}
	ss_add_request_table(sci, &ss_std_requests, 1, &code);
	if (request) {
		char *line = strdup(request);
		if (line && (code = ss_execute_line(sci, line)))
			sh_fail(prog, code, "%s", request);
		free(line);
	} else if (cmd_file) {
		FILE *f = strcmp(cmd_file, "-") ? fopen(cmd_file, "r") : stdin;
		char buf[4096];

		if (!f) {
			perror(cmd_file);
			return SH_EXIT_USAGE;
		}
		while (fgets(buf, sizeof(buf), f)) {
			char *p = buf + strspn(buf, " \t");
			p[strcspn(p, "\r\n")] = 0;
			if (!*p || *p == '#')
				continue;
			printf("%s: %s\n", prog, p);
			if ((code = ss_execute_line(sci, p)))
				sh_fail(prog, code, "%s", p);
		}
		if (f != stdin)
			fclose(f);
	} else {
		ss_listen(sci);
	}
	ss_delete_invocation(sci);
	sh_unmount(0);
	if (sh.log) {
		/* the kernel target's destructor ends every log with this mark */
		if ((err = ick_logw_mark(sh.log, "dm-log-writes-end")) ||
		    (err = ick_logw_close(sh.log)))
			sh_fail(prog, err, "while closing the log %s", log_path);
		sh.log = NULL;
	}
	return sh.status;
}
