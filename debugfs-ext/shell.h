/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shell.h - debugfs-ext's state shared by main.c (options, the libss loop) and cmds.c
 * (the requests).  The image is opened by the library; the write-path model (page cache,
 * extent status, reservations) lives from open to quit, or to a crash, after which the
 * image is opened again as a reboot would.
 */
#ifndef DEBUGFS_EXT_SHELL_H
#define DEBUGFS_EXT_SHELL_H
#include "iomapck.h"
#include "write_path.h"
#include "logw_io.h"
#include "exit_codes.h"
#include <ss/ss.h>

/* exit codes: as documented in debugfs-ext(8), EXIT STATUS */
#define SH_EXIT_OK      ICK_EXIT_OK
#define SH_EXIT_FAILED  ICK_EXIT_FAILED  /* a request failed */
#define SH_EXIT_FOUND   ICK_EXIT_FOUND   /* iomap_check (or the unmount) found problems */
#define SH_EXIT_OPEN    ICK_EXIT_OPER    /* the image cannot be opened */
#define SH_EXIT_USAGE   ICK_EXIT_USAGE

struct shell {
	const char *path;
	int rw;
	int trace;
	struct ick_image *img;
	struct ick_wp *wp;
	errcode_t wp_err;       /* why wp is NULL on a -w shell */
	int status;             /* the exit code so far */
	struct ick_logw *log;   /* -L: every write of the session recorded */
	struct ick_logw *cur;   /* the log being recorded now (-L's, or one --log write's) */
	/* for the real debugfs (foreign.c), as given: -c, -b, -s, -z */
	int catastrophic;
	const char *blocksize, *superblock, *undo;
	int writeback_before_foreign;
	int model_stale;        /* debugfs wrote since the model was mounted */
	int noted_dirty;        /* "not on disk" said since the model was last clean */
	int quiet_open;         /* the shim's first open: a failure hands over, unsaid */
};

extern struct shell sh;
extern const char *prog;

errcode_t sh_mount(void);
void sh_unmount(int crashed);
void sh_remount(void);
void sh_trace_line(void *priv, const char *line);
void sh_fail(const char *who, errcode_t err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* foreign.c: what is not ours goes to the real debugfs */
const char *sh_debugfs_path(void);
int sh_request_table(const char *name, size_t len);
int sh_foreign_exec_request(const char *request);
ss_request_table *sh_foreign_table(void);
void sh_foreign_free(void);
void sh_foreign_stop(void);
void sh_sync_model(void);
void sh_foreign_begin(void);
#endif
