/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmds.c - debugfs-ext's requests: argument parsing and printing only; the work is in
 * the write-path model (lib/write_path.h, lib/wp_*.c) and the checks.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <et/com_err.h>
#include "shell.h"

/* Requests have libss's signature. */
void do_iomap_write(int argc, const char *const *argv, int sci, void *info);
void do_iomap_writeback(int argc, const char *const *argv, int sci, void *info);
void do_iomap_map(int argc, const char *const *argv, int sci, void *info);
void do_iomap_check(int argc, const char *const *argv, int sci, void *info);
void do_iomap_fallocate(int argc, const char *const *argv, int sci, void *info);
void do_iomap_poison(int argc, const char *const *argv, int sci, void *info);
void do_crash(int argc, const char *const *argv, int sci, void *info);
void do_log_mark(int argc, const char *const *argv, int sci, void *info);

/* A byte count or offset: decimal, 0x hex, or with a K/M/G suffix (powers of 1024). */
static int parse_num(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Every request that uses the model calls this first: debugfs, if running, is closed
 * before the model commits, and what debugfs wrote is read in (foreign.c). */
static int need_model(const char *who)
{
	sh_sync_model();
	if (sh.wp)
		return 1;
	if (!sh.img)
		com_err(who, 0, "no file system is open");
	else if (!sh.rw)
		com_err(who, 0, "the file system is open read-only (start with -w)");
	else
		com_err(who, sh.wp_err, "- the write path is unavailable");
	if (sh.status < SH_EXIT_FAILED)
		sh.status = SH_EXIT_FAILED;
	return 0;
}

static errcode_t lookup(const char *path, ext2_ino_t *ino)
{
	return ext2fs_namei(sh.img->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, ino);
}

/* ---- iomap_write ---- */

struct src { int fd; unsigned seed; errcode_t err; };

static void fill_pattern(void *priv, uint64_t off, unsigned char *dst, size_t n)
{
	struct src *s = priv;

	for (size_t i = 0; i < n; i++)
		dst[i] = ick_wp_pattern_byte(off + i, s->seed);
}

/* SRCFILE's byte k goes to file offset OFFSET + k; read 64 KiB at a time (a larger buffer
 * costs more in page faults than it saves in reads). */
#define SRC_BUF (64u << 10)
struct file_src { struct src s; uint64_t base; unsigned char *buf; uint64_t boff, blen; };

static void fill_file(void *priv, uint64_t off, unsigned char *dst, size_t n)
{
	struct file_src *f = priv;
	uint64_t k = off - f->base;

	while (n) {
		size_t take;
		if (k < f->boff || k >= f->boff + f->blen) {
			ssize_t got = pread(f->s.fd, f->buf, SRC_BUF, (off_t)k);
			if (got <= 0) {
				memset(dst, 0, n);
				f->s.err = got < 0 ? errno : EIO;
				return;
			}
			f->boff = k;
			f->blen = (uint64_t)got;
		}
		take = f->boff + f->blen - k < n ? (size_t)(f->boff + f->blen - k) : n;
		memcpy(dst, f->buf + (k - f->boff), take);
		dst += take;
		k += take;
		n -= take;
	}
}

static const char *const write_usage_head =
	"Usage: iomap_write [--mode da|nonda|auto] [--short N] [--fail ERRNO] [--crash POINT]\n"
	"\t[--bug NAME]... [--sync] [--race] [--seed N] [--trace] [--log FILE]\n"
	"\t[--create [--uid U] [--gid G] [--projid P]] FILE OFFSET LENGTH [SRCFILE]";

/* The usage with the bug toggles' names, from their table. */
static const char *write_usage(void)
{
	static char buf[1024];
	const struct ick_wp_bug *b;
	size_t n;

	if (buf[0])
		return buf;
	n = (size_t)snprintf(buf, sizeof(buf), "%s\n\tNAME:", write_usage_head);
	for (size_t i = 0; (b = ick_wp_bug_get(i)) && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s", b->name);
	if (n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, " (iomap_write --bug list: what each breaks)");
	return buf;
}

/* iomap_write --bug list: each toggle, the finding that catches it, what it breaks. */
static void list_bugs(void)
{
	const struct ick_wp_bug *b;

	for (size_t i = 0; (b = ick_wp_bug_get(i)); i++)
		printf("%-14s %-16s %s\n", b->name, b->caught_by, b->desc);
}

static int errno_parse(const char *s, errcode_t *out)
{
	static const struct { const char *n; int e; } t[] = {
		{ "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT }, { "EIO", EIO }, { "ENOMEM", ENOMEM },
		{ "EFBIG", EFBIG },
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcasecmp(s, t[i].n)) {
			*out = t[i].e;
			return 0;
		}
	if (parse_num(s, &v) || !v || v > 4095)
		return -1;
	*out = (errcode_t)v;
	return 0;
}

struct write_args {
	struct ick_wp_call call;
	int create, set_projid, trace;
	uint32_t uid, gid, projid;
	uint64_t seed;
	const char *log;         /* --log: record this write (from the image as it is now) */
};

static int parse_write_opts(int argc, char **argv, struct write_args *a)
{
	static const struct option lo[] = {
		{ "mode", 1, 0, 'm' }, { "short", 1, 0, 's' }, { "fail", 1, 0, 'F' },
		{ "crash", 1, 0, 'c' }, { "bug", 1, 0, 'b' }, { "sync", 0, 0, 'S' },
		{ "race", 0, 0, 'r' }, { "seed", 1, 0, 'e' }, { "trace", 0, 0, 't' },
		{ "create", 0, 0, 'C' }, { "uid", 1, 0, 'u' }, { "gid", 1, 0, 'g' },
		{ "projid", 1, 0, 'p' }, { "log", 1, 0, 'L' }, { 0, 0, 0, 0 },
	};
	uint64_t v;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'm': bad = ick_wp_mode_parse(optarg, &a->call.mode); break;
		case 's': bad = parse_num(optarg, &a->call.short_after); break;
		case 'F': bad = errno_parse(optarg, &a->call.fail); break;
		case 'c': bad = ick_wp_crash_parse(optarg, &a->call.crash); break;
		case 'b': bad = ick_wp_bug_parse(optarg, &a->call.bugs); break;
		case 'S': a->call.sync = 1; break;
		case 'r': a->call.race_writeback = 1; break;
		case 'e': bad = parse_num(optarg, &a->seed) || a->seed > 255; break;
		case 't': a->trace = 1; break;
		case 'C': a->create = 1; break;
		case 'L': a->log = optarg; break;
		case 'u': bad = parse_num(optarg, &v) || v > UINT32_MAX; a->uid = v; break;
		case 'g': bad = parse_num(optarg, &v) || v > UINT32_MAX; a->gid = v; break;
		case 'p': bad = parse_num(optarg, &v) || v > UINT32_MAX; a->projid = v;
			  a->set_projid = 1; break;
		default: bad = 1;
		}
		if (bad) {
			com_err(argv[0], 0, "bad option or value near '%s'\n%s",
				argv[optind - 1], write_usage());
			return -1;
		}
	}
	return 0;
}

static void print_written(const char *who, ext2_ino_t ino, uint64_t written, uint64_t len)
{
	if (written < len)
		printf("%s: short write: %llu of %llu bytes (inode %u, i_size %llu)\n", who,
		       (unsigned long long)written, (unsigned long long)len, ino,
		       (unsigned long long)ick_wp_isize(sh.wp, ino));
}

static void after_write(const char *who, errcode_t err, ext2_ino_t ino, uint64_t written,
			uint64_t len, const struct ick_wp_call *call)
{
	if (err == ICK_ET_CRASHED) {
		print_written(who, ino, written, len);
		printf("%s: power cut at %s; the image is as the crash left it\n", who,
		       ick_wp_crash_name(call->crash));
		if (sh.cur && (err = ick_logw_mark(sh.cur, "crash")))
			sh_fail(who, err, "while marking the log");
		sh_unmount(1);
		if (sh_mount())
			sh.status = SH_EXIT_OPEN;
		return;
	}
	if (err) {
		sh_fail(who, err, "after %llu of %llu bytes (inode %u)", (unsigned long long)written,
			(unsigned long long)len, ino);
		return;
	}
	print_written(who, ino, written, len);
	if (call->crash != ICK_WP_CRASH_NONE)
		printf("%s: crash point %s not reached; the request completed\n", who,
		       ick_wp_crash_name(call->crash));
}

/* --log: record one write; the log's base is the image as it is before the write (after
 * the file's creation when --create is given: copy the image after an earlier request). */
static errcode_t start_log(const char *who, const char *path)
{
	errcode_t err;

	if (sh.log) {
		sh_fail(who, 0, "--log inside a session already recorded with -L");
		return EINVAL;
	}
	if ((err = ick_logw_create(path, 512, &sh.cur))) {
		sh_fail(who, err, "while creating the log %s", path);
		return err;
	}
	if ((err = ick_logw_io_set(sh.img->fs->io, sh.cur))) {
		sh_fail(who, err, "while recording to %s", path);
		(void)ick_logw_close(sh.cur);
		sh.cur = NULL;
	}
	return err;
}

static void stop_log(const char *who, const char *path, int crashed)
{
	errcode_t err;

	/* the image is still open here, even after a power cut (the remount comes later) */
	if (crashed && (err = ick_logw_mark(sh.cur, "crash")))
		sh_fail(who, err, "while marking the log %s", path);
	if (sh.img && (err = ick_logw_io_set(sh.img->fs->io, NULL)))
		sh_fail(who, err, "while stopping the log %s", path);
	if ((err = ick_logw_mark(sh.cur, "dm-log-writes-end")) || (err = ick_logw_close(sh.cur)))
		sh_fail(who, err, "while closing the log %s", path);
	sh.cur = NULL;
}

void do_iomap_write(int argc, const char *const *argv, int sci, void *info)
{
	struct write_args a = { .call = { .mode = ICK_WP_DA, .short_after = UINT64_MAX } };
	struct file_src fs = { .s = { .fd = -1 } };
	char **av = (char **)argv;
	uint64_t off, len, written = 0;
	ext2_ino_t ino;
	errcode_t err;

	if (argc == 3 && !strcmp(argv[1], "--bug") && !strcmp(argv[2], "list")) {
		list_bugs();
		return;
	}
	if (!need_model(argv[0]) || parse_write_opts(argc, av, &a))
		goto usage_fail;
	if (argc - optind < 3 || argc - optind > 4 || parse_num(argv[optind + 1], &off) ||
	    parse_num(argv[optind + 2], &len)) {
		com_err(argv[0], 0, "%s", write_usage());
		goto usage_fail;
	}
	if (argc - optind == 4) {
		struct stat st;
		if ((fs.s.fd = open(argv[optind + 3], O_RDONLY)) < 0 || fstat(fs.s.fd, &st)) {
			sh_fail(argv[0], errno, "while opening %s", argv[optind + 3]);
			goto out;
		}
		if ((uint64_t)st.st_size < len) {
			sh_fail(argv[0], 0, "%s holds %llu bytes, fewer than LENGTH", argv[optind + 3],
				(unsigned long long)st.st_size);
			goto out;
		}
		fs.base = off;
		if (!(fs.buf = malloc(SRC_BUF))) {
			sh_fail(argv[0], ENOMEM, "while reading %s", argv[optind + 3]);
			goto out;
		}
		a.call.fill = fill_file;
		a.call.fill_priv = &fs;
	} else {
		fs.s.seed = a.seed;
		a.call.fill = fill_pattern;
		a.call.fill_priv = &fs.s;
	}
	if (a.create)
		err = ick_wp_create(sh.wp, argv[optind], a.uid, a.gid, a.projid, a.set_projid, &ino);
	else
		err = lookup(argv[optind], &ino);
	if (err) {
		sh_fail(argv[0], err, "while %s %s", a.create ? "creating" : "looking up",
			argv[optind]);
		goto out;
	}
	if (a.log && (err = start_log(argv[0], a.log)))
		goto out;
	if (a.trace && !sh.trace)
		ick_wp_set_trace(sh.wp, sh_trace_line, NULL);
	err = ick_wp_write(sh.wp, ino, off, len, &a.call, &written);
	if (a.log)
		stop_log(argv[0], a.log, err == ICK_ET_CRASHED);
	if (a.trace && !sh.trace && sh.wp)
		ick_wp_set_trace(sh.wp, NULL, NULL);
	if (!err && fs.s.err)
		err = fs.s.err;
	after_write(argv[0], err, ino, written, len, &a.call);
out:
	if (fs.s.fd >= 0)
		close(fs.s.fd);
	free(fs.buf);
	return;
usage_fail:
	if (sh.status < SH_EXIT_FAILED)
		sh.status = SH_EXIT_FAILED;
}

/* ---- iomap_writeback ---- */

void do_iomap_writeback(int argc, const char *const *argv, int sci, void *info)
{
	struct ick_wp_call call = { .mode = ICK_WP_DA, .short_after = UINT64_MAX };
	ext2_ino_t ino = 0;
	int i = 1;
	errcode_t err;

	if (!need_model(argv[0]))
		return;
	if (argc > 2 && !strncmp(argv[1], "--crash=", 8)) {
		if (ick_wp_crash_parse(argv[1] + 8, &call.crash)) {
			sh_fail(argv[0], 0, "unknown crash point %s", argv[1] + 8);
			return;
		}
		i++;
	}
	if (argc - i > 1) {
		sh_fail(argv[0], 0, "Usage: iomap_writeback [--crash=POINT] [FILE]");
		return;
	}
	if (argc - i == 1 && (err = lookup(argv[i], &ino))) {
		sh_fail(argv[0], err, "while looking up %s", argv[i]);
		return;
	}
	err = ick_wp_writeback(sh.wp, ino, &call);
	after_write(argv[0], err, ino, 0, 0, &call);
}

/* ---- iomap_map ---- */

static errcode_t print_range(void *priv, const struct ick_wp_range *r)
{
	printf("%12llu %12llu  %-9s", (unsigned long long)r->offset, (unsigned long long)r->length,
	       ick_iomap_type_name(r->type));
	if (r->type == ICK_IOMAP_MAPPED || r->type == ICK_IOMAP_UNWRITTEN)
		printf(" pblk %-10llu", (unsigned long long)r->pblk);
	else
		printf(" %-15s", "");
	printf(" dirty %llu cookie %llu\n", (unsigned long long)r->dirty_blocks,
	       (unsigned long long)r->cookie);
	return 0;
}

void do_iomap_map(int argc, const char *const *argv, int sci, void *info)
{
	uint64_t off = 0, len = 0;
	ext2_ino_t ino;
	errcode_t err;

	if (!need_model(argv[0]))
		return;
	if ((argc != 2 && argc != 4) ||
	    (argc == 4 && (parse_num(argv[2], &off) || parse_num(argv[3], &len)))) {
		sh_fail(argv[0], 0, "Usage: iomap_map FILE [OFFSET LENGTH]");
		return;
	}
	if ((err = lookup(argv[1], &ino))) {
		sh_fail(argv[0], err, "while looking up %s", argv[1]);
		return;
	}
	printf("%12s %12s  %s (inode %u, i_size %llu)\n", "offset", "length", "type", ino,
	       (unsigned long long)ick_wp_isize(sh.wp, ino));
	if ((err = ick_wp_map(sh.wp, ino, off, len, print_range, NULL)))
		sh_fail(argv[0], err, "while mapping %s", argv[1]);
}

/* ---- iomap_check ---- */

void do_iomap_check(int argc, const char *const *argv, int sci, void *info)
{
	unsigned char pat[ICK_POISON_MAX];
	struct ick_check_opts opts = { 0 };
	struct ick_report rep;
	int json = 0;
	errcode_t err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--poison") && i + 1 < argc) {
			if (ick_poison_parse(argv[++i], pat, sizeof(pat), &opts.poison_len)) {
				sh_fail(argv[0], 0, "bad poison pattern %s", argv[i]);
				return;
			}
			opts.poison = pat;
		} else {
			sh_fail(argv[0], 0, "Usage: iomap_check [--poison HEX] [--json]");
			return;
		}
	}
	sh_sync_model();
	if (!sh.img) {
		sh_fail(argv[0], 0, "no file system is open");
		return;
	}
	if ((err = ick_report_init(&rep, sh.path))) {
		sh_fail(argv[0], err, "while checking");
		return;
	}
	err = ick_checks_run_opts(sh.img, ICK_CHECKS_ALL, &opts, &rep);
	if (!err && sh.wp)
		err = ick_wp_check(sh.wp, &rep);
	if (err)
		sh_fail(argv[0], err, "while checking %s", sh.path);
	else if (json && (err = ick_report_write_json(&rep, stdout)))
		sh_fail(argv[0], err, "while writing JSON");
	else if (!json)
		ick_report_print_text(&rep, stdout);
	if (!err && ick_report_exit_bits(&rep) && sh.status < SH_EXIT_FOUND)
		sh.status = SH_EXIT_FOUND;
	ick_report_free(&rep);
}

/* ---- iomap_fallocate, iomap_poison, crash ---- */

void do_iomap_fallocate(int argc, const char *const *argv, int sci, void *info)
{
	int keep = argc > 1 && !strcmp(argv[1], "--keep-size");
	uint64_t off, len;
	ext2_ino_t ino;
	errcode_t err;

	if (!need_model(argv[0]))
		return;
	if (argc != 4 + keep || parse_num(argv[2 + keep], &off) || parse_num(argv[3 + keep], &len)) {
		sh_fail(argv[0], 0, "Usage: iomap_fallocate [--keep-size] FILE OFFSET LENGTH");
		return;
	}
	if ((err = lookup(argv[1 + keep], &ino))) {
		sh_fail(argv[0], err, "while looking up %s", argv[1 + keep]);
		return;
	}
	if ((err = ick_wp_fallocate(sh.wp, ino, off, len, keep)))
		sh_fail(argv[0], err, "while allocating in %s", argv[1 + keep]);
}

void do_iomap_poison(int argc, const char *const *argv, int sci, void *info)
{
	unsigned char pat[ICK_POISON_MAX];
	size_t n;
	uint64_t blocks;
	errcode_t err;

	if (!need_model(argv[0]))
		return;
	if (argc != 2 || ick_poison_parse(argv[1], pat, sizeof(pat), &n)) {
		sh_fail(argv[0], 0, "Usage: iomap_poison HEX (1 to %d bytes)", ICK_POISON_MAX);
		return;
	}
	if ((err = ick_wp_poison_free(sh.wp, pat, n, &blocks)))
		sh_fail(argv[0], err, "while poisoning free blocks");
	else
		printf("%s: %llu free blocks filled with %s\n", argv[0], (unsigned long long)blocks,
		       argv[1]);
}

/* As `dmsetup message LW 0 mark NAME` does on a dm-log-writes target: a user mark after
 * everything recorded so far (what a workload does after an fsync returned). */
void do_log_mark(int argc, const char *const *argv, int sci, void *info)
{
	errcode_t err;

	if (argc != 2) {
		sh_fail(argv[0], 0, "Usage: log_mark NAME");
		return;
	}
	if (!sh.cur) {
		sh_fail(argv[0], 0, "no log is being recorded (-L LOG)");
		return;
	}
	if (strlen(argv[1]) > ick_logw_mark_max(sh.cur)) {
		sh_fail(argv[0], 0, "a mark is at most %zu bytes in this log",
			ick_logw_mark_max(sh.cur));
		return;
	}
	if ((err = ick_logw_mark(sh.cur, argv[1])))
		sh_fail(argv[0], err, "while marking the log");
}

void do_crash(int argc, const char *const *argv, int sci, void *info)
{
	errcode_t err;

	if (argc != 1) {
		sh_fail(argv[0], 0, "Usage: crash");
		return;
	}
	if (!sh.img) {
		sh_fail(argv[0], 0, "no file system is open");
		return;
	}
	sh_sync_model();
	printf("%s: power cut; dirty folios and reservations dropped\n", argv[0]);
	if (sh.cur && (err = ick_logw_mark(sh.cur, "crash")))
		sh_fail(argv[0], err, "while marking the log");
	sh_unmount(1);
	if (sh_mount())
		sh.status = SH_EXIT_OPEN;
}
