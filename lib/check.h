/*
 * check.h - the table of checks and the context they share.
 *
 * A check is a row {name, setup, walk ops, finish, cleanup}.  ick_checks_run() sets up the
 * selected checks, runs one ick_walk() whose claims and inodes fan out to every check that
 * wants them (one pass over the inode table, however many checks), then lets each finish.
 * Checks only add findings to the report; they never print and never write the image.
 */
#ifndef ICK_CHECK_H
#define ICK_CHECK_H

#include "image.h"
#include "report.h"
#include "walk.h"

struct ick_ctx {
	ext2_filsys fs;
	struct ick_report *rep;
};

struct ick_check_def {
	const char *name;
	enum ick_check id;
	errcode_t (*setup)(struct ick_ctx *ctx, void **state);
	struct ick_walk_ops ops; /* priv is the check's state */
	errcode_t (*finish)(struct ick_ctx *ctx, void *state);
	void (*cleanup)(void *state);
};

extern const struct ick_check_def ick_check_bitmap;
extern const struct ick_check_def ick_check_unwritten;
extern const struct ick_check_def ick_check_size;
extern const struct ick_check_def ick_check_quota;

/* All checks in the order they run; *nr receives the count. */
const struct ick_check_def *const *ick_checks(size_t *nr);

/* Bit (1 << id) for the check called @name, or 0. */
unsigned ick_check_mask(const char *name);
#define ICK_CHECKS_ALL (~0u)

/*
 * ick_checks_run - run the checks selected by @mask on an open image.
 * Findings go to @rep; returns 0, or an operational error (image unreadable).
 */
ICK_MUST_CHECK errcode_t ick_checks_run(struct ick_image *img, unsigned mask,
					struct ick_report *rep);

#endif
