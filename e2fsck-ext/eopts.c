/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * eopts.c - split an e2fsck command line into ours and e2fsck's.
 * e2fsck's option letters (e2fsprogs 1.47.0 e2fsck/unix.c, PRS()) are walked as getopt
 * would, so "-fnE iomapcheck", "-Eiomapcheck" and "-E a,iomapcheck,b" all work; our tokens
 * are taken out of each -E list and an -E left empty is dropped.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eopts.h"
#include "check.h"

#define E2FSCK_OPTSTRING "panyrcC:B:dE:fvtFVM:b:I:j:P:l:L:N:SsDkz:"

struct subopt {
	const char *name;
	int takes_arg;
	const char *help;
	int (*handle)(struct eopts *o, const char *val);
};

static int set_check(struct eopts *o, const char *val) { o->iomapcheck = 1; return 0; }
static int set_only(struct eopts *o, const char *val) { o->only = 1; return 0; }
static int set_str(char **dst, const char *val);
static int set_json(struct eopts *o, const char *val) { return set_str(&o->json, val); }

static int set_str(char **dst, const char *val)
{
	free(*dst);
	*dst = strdup(val);
	return *dst ? 0 : -1;
}

static int set_norecovery(struct eopts *o, const char *val) { o->norecovery = 1; return 0; }
static int set_journal(struct eopts *o, const char *val) { return set_str(&o->journal, val); }
static int set_recovered(struct eopts *o, const char *val) { return set_str(&o->recovered, val); }

static int set_poison(struct eopts *o, const char *val)
{
	if (!ick_poison_parse(val, o->poison, sizeof(o->poison), &o->poison_len))
		return 0;
	if (asprintf(&o->error, "bad iomap_poison '%s': want 1 to %d bytes as hex digits "
		     "(an even number, e.g. a5 or deadbeef)", val, ICK_POISON_MAX) < 0)
		o->error = NULL;
	return -1;
}

static int set_checks(struct eopts *o, const char *val)
{
	char *copy = strdup(val), *save = NULL;

	if (!copy)
		return -1;
	for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
		unsigned m = ick_check_mask(t);
		if (!m) {
			if (asprintf(&o->error, "unknown check '%s' in iomap_checks", t) < 0)
				o->error = NULL;
			free(copy);
			return -1;
		}
		o->checks |= m;
	}
	free(copy);
	return 0;
}

static int set_strict(struct eopts *o, const char *val) { o->strict = 1; return 0; }

static const struct subopt subopts[] = {
	{ "iomapcheck", 0, "run iomapck's checks, then e2fsck", set_check },
	{ "iomap_only", 0, "run iomapck's checks only, not e2fsck", set_only },
	{ "iomap_json", 1, "write the findings as JSON to FILE ('-': stdout)", set_json },
	/* its help ends with the check names, from the check table */
	{ "iomap_checks", 1, "run only these checks, ':'-separated", set_checks },
	{ "iomap_poison", 1, "the hex pattern free space was filled with: report written blocks "
	  "holding it (the stale check)", set_poison },
	{ "iomap_norecovery", 0, "check the image as it is on disk, without journal recovery",
	  set_norecovery },
	{ "iomap_strict", 0, "warnings also set exit bit 4 (by default only errors do, as in "
	  "e2fsck)", set_strict },
	{ "iomap_journal", 1, "the external journal device (default: e2fsck's -j, if given)",
	  set_journal },
	{ "iomap_recovered", 1, "write the view we check (journal recovered) to FILE, an image",
	  set_recovered },
};

/* " (a:b:c)": the checks iomap_checks takes, in the order they run */
static void print_check_names(FILE *out)
{
	size_t nr;
	const struct ick_check_def *const *defs = ick_checks(&nr);

	for (size_t i = 0; i < nr; i++)
		fprintf(out, "%s%s", i ? ":" : " (", defs[i]->name);
	fputs(nr ? ")" : "", out);
}

void eopts_usage(FILE *out, const char *prog)
{
	fprintf(out, "Usage: %s -E iomapcheck[,sub-option...] [e2fsck options] device\n"
		     "Without iomapcheck, %s is e2fsck itself (same options, same exit code).\n"
		     "       %s --help | --version\n"
		     "iomapck's -E sub-options:\n", prog, prog, prog);
	for (size_t i = 0; i < ICK_ARRAY_SIZE(subopts); i++) {
		fprintf(out, "\t%s%s\t%s", subopts[i].name, subopts[i].takes_arg ? "=VALUE" : "",
			subopts[i].help);
		if (subopts[i].handle == set_checks)
			print_check_names(out);
		fputc('\n', out);
	}
}

static const struct subopt *find_subopt(const char *name, size_t len)
{
	for (size_t i = 0; i < ICK_ARRAY_SIZE(subopts); i++)
		if (strlen(subopts[i].name) == len && !strncmp(subopts[i].name, name, len))
			return &subopts[i];
	return NULL;
}

/* Take our tokens out of one -E list; returns what is left for e2fsck (maybe ""). */
static char *split_elist(struct eopts *o, const char *list)
{
	char *left = calloc(1, strlen(list) + 1);
	const char *p = list;

	while (left && *p) {
		const char *end = strchr(p, ','), *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		eq = memchr(p, '=', len);
		const struct subopt *so = find_subopt(p, eq ? (size_t)(eq - p) : len);
		if (!so) {
			if (*left)
				strcat(left, ",");
			strncat(left, p, len);
		} else if (so->takes_arg != !!eq || (eq && eq + 1 == p + len)) {
			if (asprintf(&o->error, "-E %s %s a value", so->name,
				     so->takes_arg ? "needs" : "takes no") < 0)
				o->error = NULL;
			free(left);
			return NULL;
		} else {
			char *val = eq ? strndup(eq + 1, len - (eq + 1 - p)) : NULL;
			int rc = so->handle(o, val);
			free(val);
			if (rc < 0) {
				free(left);
				return NULL;
			}
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return left;
}

static int takes_arg(char c)
{
	const char *s = strchr(E2FSCK_OPTSTRING, c);
	return s && c != ':' && s[1] == ':';
}

static int push(struct eopts *o, const char *s)
{
	char *d = strdup(s);
	if (!d)
		return -1;
	o->e2fsck_argv[o->e2fsck_argc++] = d;
	return 0;
}

/* One "-xyz..." word: copy flags, pull out E's value; *used is set if the value was argv[i+1]. */
static int parse_word(struct eopts *o, int argc, char **argv, int i, int *used)
{
	const char *w = argv[i];
	char flags[256] = "-";
	size_t nf = 1;

	*used = 0;
	for (size_t k = 1; w[k]; k++) {
		char c = w[k];
		if (!takes_arg(c)) {
			if (nf < sizeof(flags) - 1)
				flags[nf++] = c;
			continue;
		}
		const char *val = w[k + 1] ? &w[k + 1] : (i + 1 < argc ? argv[i + 1] : NULL);
		*used = !w[k + 1] && val;
		flags[nf] = '\0';
		if (nf > 1 && push(o, flags) < 0)
			return -1;
		if (!val) /* let e2fsck report the missing argument */
			return push(o, (char[]){ '-', c, 0 });
		if (c == 'j' && !o->journal && set_str(&o->journal_j, val) < 0)
			return -1;
		/* -b and -B are e2fsck's too (unix.c PRS(): sscanf %llu, atoi); ours read the
		 * same superblock, and both stay in e2fsck's argv */
		if (c == 'b' && sscanf(val, "%llu", &o->superblock) != 1) {
			o->error = strdup("-b needs a block number");
			return -1;
		}
		if (c == 'B')
			o->blocksize = (unsigned)atoi(val);
		if (c != 'E')
			return push(o, (char[]){ '-', c, 0 }) || push(o, val) ? -1 : 0;
		char *left = split_elist(o, val);
		if (!left)
			return -1;
		int rc = *left ? (push(o, "-E") || push(o, left) ? -1 : 0) : 0;
		free(left);
		return rc;
	}
	flags[nf] = '\0';
	return nf > 1 ? push(o, flags) : 0;
}

/*
 * IOMAPCK_OPTIONS: our -E sub-options from the environment, read before the command line (so
 * the command line's values win).  fsck(8) and fstests pass one options string split at
 * spaces and take a word with '=' for a device (LABEL=, UUID=), so "-E iomap_json=F" cannot
 * reach us through them; e2fsck's E2FSCK_CONFIG is the precedent.  Only our sub-options are
 * allowed there: e2fsck's own belong on its command line.
 */
static int parse_env(struct eopts *o)
{
	const char *env = getenv("IOMAPCK_OPTIONS");
	char *left;

	if (!env || !*env)
		return 0;
	if (!(left = split_elist(o, env)))
		return -1;
	if (*left) {
		if (asprintf(&o->error, "IOMAPCK_OPTIONS: '%s' is not an iomapck sub-option", left) < 0)
			o->error = NULL;
		free(left);
		return -1;
	}
	free(left);
	return 0;
}

int eopts_parse(int argc, char **argv, struct eopts *o)
{
	int dashdash = 0, used;

	memset(o, 0, sizeof(*o));
	o->e2fsck_argv = calloc((size_t)argc * 2 + 2, sizeof(char *));
	if (!o->e2fsck_argv || push(o, argv[0]) < 0 || parse_env(o) < 0)
		return -1;
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i];
		if (dashdash || w[0] != '-' || !w[1]) {
			o->device = w;
			o->ndevices++;
			if (push(o, w) < 0)
				return -1;
			continue;
		}
		if (!strcmp(w, "--")) {
			dashdash = 1;
			if (push(o, w) < 0)
				return -1;
			continue;
		}
		if (parse_word(o, argc, argv, i, &used) < 0)
			return -1;
		i += used;
	}
	/* Asking for the stale check by name without its evidence would silently check nothing. */
	if ((o->checks & ick_check_mask("stale")) && !o->poison_len) {
		o->error = strdup("iomap_checks=stale needs iomap_poison=HEX");
		return -1;
	}
	return 0;
}

void eopts_free(struct eopts *o)
{
	for (int i = 0; i < o->e2fsck_argc; i++)
		free(o->e2fsck_argv[i]);
	free(o->e2fsck_argv);
	free(o->error);
	free(o->json);
	free(o->journal);
	free(o->journal_j);
	free(o->recovered);
}
