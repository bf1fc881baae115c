/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * eopts.h - e2fsck-ext's command line: e2fsck's own syntax, with our sub-options riding in
 * -E.  One table of sub-options drives both parsing and the usage text.
 */
#ifndef E2FSCK_EXT_EOPTS_H
#define E2FSCK_EXT_EOPTS_H

#include <stddef.h>
#include "check.h"

struct eopts {
	int iomapcheck;        /* -E iomapcheck seen */
	int only;              /* iomap_only */
	char *json;            /* iomap_json=FILE, "-" for stdout */
	unsigned checks;       /* iomap_checks=a:b:c, all if 0 */
	int norecovery;        /* iomap_norecovery */
	int strict;            /* iomap_strict: warnings make exit bit 4 too */
	char *journal;         /* iomap_journal=PATH */
	char *journal_j;       /* e2fsck's own -j PATH (used when iomap_journal is not given) */
	char *recovered;       /* iomap_recovered=FILE */
	unsigned char poison[ICK_POISON_MAX]; /* iomap_poison=HEX */
	size_t poison_len;     /* 0: not given, the stale check is off */
	unsigned long long superblock; /* e2fsck's -b SB, 0 if not given */
	unsigned blocksize;    /* e2fsck's -B BLOCKSIZE, 0 if not given */
	const char *device;    /* the one non-option argument */
	int ndevices;
	char **e2fsck_argv;    /* argv for the real e2fsck: ours removed */
	int e2fsck_argc;
	char *error;           /* a usage error, NULL if none */
};

/* Parse argv as e2fsck does; never exits.  Returns 0, or -1 with o->error set. */
int eopts_parse(int argc, char **argv, struct eopts *o);
void eopts_free(struct eopts *o);
void eopts_usage(FILE *out, const char *prog);

#endif
