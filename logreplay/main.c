/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iomapck-replay - sweep the crash states of a dm-log-writes log in-process: the base
 * image plus each log prefix in memory, journal recovery as a mount does it, then every
 * check (lib/sweep.c).  Option parsing and printing only.
 */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <et/com_err.h>
#include <json.h>
#include "sweep.h"
#include "recovery_cmp.h"
#include "ick_err.h"
#include "iomapck.h"
#include "junit.h"
#include "untrusted.h"
#include "exit_codes.h"

static const char *prog = "iomapck-replay";

/*
 * The options, in the order the usage names them: one row builds the getopt_long array,
 * the usage text and (through tests/man.sh) is checked against the man page's OPTIONS.
 * @line: which line of the first form's usage shows it (0: only in an "or:" form);
 * @letter: shown as -LETTER (it has a short form); @note: more words inside its brackets.
 */
enum {
	OPT_LOG = 256, OPT_BASE, OPT_CHECK, OPT_START_MARK, OPT_END_MARK, OPT_LIMIT,
	OPT_KEEP_GOING, OPT_SHARD, OPT_POISON, OPT_JSON, OPT_JUNIT, OPT_REPLAY, OPT_DUMP,
	OPT_FSCK, OPT_DROP_AFTER, OPT_ERROR_AFTER, OPT_REORDER, OPT_NO_STALE_LOG,
	OPT_MANIFEST, OPT_JOBS, OPT_NO_INCREMENTAL, OPT_COMPARE_RECOVERY, OPT_HELP, OPT_VERSION,
};

struct opt_row {
	const char *name;     /* the long name; NULL: a short option only */
	int val;              /* getopt_long's value: the letter, or an OPT_ */
	const char *arg;      /* its argument's name; NULL: it takes none */
	int line;
	int letter;
	const char *note;
};

static const struct opt_row opt_rows[] = {
	{ "log", OPT_LOG, "LOG", 1, 0, NULL },
	{ "base", OPT_BASE, "IMAGE", 1, 0, NULL },
	{ "check", OPT_CHECK, "fua|flush|mark|every|N", 1, 0, NULL },
	{ "start-mark", OPT_START_MARK, "M", 2, 0, NULL },
	{ "end-mark", OPT_END_MARK, "M", 2, 0, NULL },
	{ "limit", OPT_LIMIT, "N", 2, 0, NULL },
	{ "keep-going", OPT_KEEP_GOING, NULL, 2, 0, NULL },
	{ "shard", OPT_SHARD, "I/N", 2, 0, NULL },
	{ "poison", OPT_POISON, "HEX", 3, 0, NULL },
	{ "json", OPT_JSON, "FILE", 3, 0, NULL },
	{ "junit", OPT_JUNIT, "FILE", 3, 0, NULL },
	{ "replay", OPT_REPLAY, "OUT", 3, 0, NULL },
	{ "dump", OPT_DUMP, NULL, 3, 0, NULL },
	{ "verbose", 'v', NULL, 4, 1, NULL },
	{ NULL, 'C', "FD", 4, 1, NULL },
	{ "fsck", OPT_FSCK, "CMD", 4, 0, "--replay OUT" },
	{ "drop-writes-after", OPT_DROP_AFTER, "N", 4, 0, NULL },
	{ "error-writes-after", OPT_ERROR_AFTER, "N", 5, 0, NULL },
	{ "reorder", OPT_REORDER, "K", 5, 0, "(1-3)" },
	{ "no-stale-log", OPT_NO_STALE_LOG, NULL, 5, 0, NULL },
	{ "manifest", OPT_MANIFEST, "FILE", 6, 0, NULL },
	{ "jobs", OPT_JOBS, "N", 6, 0, NULL },
	{ "no-incremental", OPT_NO_INCREMENTAL, NULL, 6, 0, NULL },
	{ "compare-recovery", OPT_COMPARE_RECOVERY, "RECOVERED", 0, 0, NULL },
	{ "help", OPT_HELP, NULL, 0, 0, NULL },
	{ "version", OPT_VERSION, NULL, 0, 0, NULL },
};

static void print_usage(FILE *out)
{
	int line = 1;

	fprintf(out, "Usage: %s --log LOG", prog);
	for (size_t i = 1; i < ICK_ARRAY_SIZE(opt_rows); i++) {
		const struct opt_row *r = &opt_rows[i];

		if (!r->line)
			continue;
		if (r->line != line)
			fputs("\n\t", out);
		else
			fputc(' ', out);
		line = r->line;
		if (r->letter)
			fprintf(out, "[-%c", r->val);
		else
			fprintf(out, "[--%s", r->name);
		fprintf(out, "%s%s%s%s]", r->arg ? " " : "", r->arg ? r->arg : "",
			r->note ? " " : "", r->note ? r->note : "");
	}
	fprintf(out, "\n   or: %s --base CRASHED --compare-recovery RECOVERED [--json FILE]\n"
		"   or: %s --help | --version\n", prog, prog);
}

/* getopt_long's array and short options from opt_rows */
static void build_getopt(struct option *lo, char *shorts)
{
	size_t n = 0;

	for (size_t i = 0; i < ICK_ARRAY_SIZE(opt_rows); i++) {
		const struct opt_row *r = &opt_rows[i];

		if (r->letter) {
			*shorts++ = (char)r->val;
			if (r->arg)
				*shorts++ = ':';
		}
		if (r->name)
			lo[n++] = (struct option){ r->name, r->arg ? 1 : 0, NULL, r->val };
	}
	*shorts = 0;
	lo[n] = (struct option){ 0, 0, 0, 0 };
}

static void usage(void)
{
	print_usage(stderr);
	exit(ICK_EXIT_USAGE);
}

struct ctx {
	int verbose, dump;
	FILE *json;
	json_object *jfail; /* the "failing" array, written at the end */
	int first;
	char stale_log_off[128];   /* the last reason the log gave no stale evidence */
	struct ick_junit *junit;   /* --junit: the failing points */
	const char *log, *base, *poison;
};

/* @s for a POSIX shell: as is when only safe characters, else in single quotes */
static void shell_word(FILE *f, const char *s)
{
	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
			    "_./:=,+-@%") == strlen(s)) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

/* --junit: a failing point as a <failure>: the point, then its findings and how to make
 * its state again and check it */
static void junit_point(struct ctx *c, const struct ick_sweep_point *p)
{
	char *msg = NULL, *text = NULL;
	size_t mlen = 0, tlen = 0;
	FILE *m = open_memstream(&msg, &mlen), *t = open_memstream(&text, &tlen);
	int bad;

	if (!m || !t) {
		if (m)
			fclose(m);
		if (t)
			fclose(t);
		free(msg);
		free(text);
		ick_junit_error(c->junit, "no memory for a failing point");
		return;
	}
	fprintf(m, "entry %llu", (unsigned long long)p->entry);
	if (p->mark[0])
		fprintf(m, " (after mark \"%s\")", p->mark);
	for (size_t i = 0; i < p->ndropped; i++)
		fprintf(m, "%s%llu", i ? "," : " without entries ", (unsigned long long)p->dropped[i]);
	if (p->fsck_status)
		fprintf(t, "the --fsck command exited %d\n", p->fsck_status);
	else
		ick_report_print_text(p->rep, t);
	fprintf(t, "reproduce (the state after entry %llu, then the checks on it):\n"
		"  iomapck-replay --log ", (unsigned long long)p->entry);
	shell_word(t, c->log);
	if (c->base) {
		fputs(" --base ", t);
		shell_word(t, c->base);
	}
	fprintf(t, " --check every --keep-going --limit %llu --replay state.img\n"
		"  e2fsck-ext -E iomapcheck", (unsigned long long)p->entry + 1);
	if (c->poison) {
		fputs(",iomap_poison=", t);
		shell_word(t, c->poison);
	}
	fputs(" -fn state.img\n", t);
	if (p->ndropped)
		fputs("(this state also lost the entries named above; the commands make the state "
		      "with them)\n", t);
	bad = ferror(m) | ferror(t);
	bad |= fclose(m) | fclose(t);
	if (bad)
		ick_junit_error(c->junit, "no memory for a failing point");
	else
		ick_junit_failure(c->junit, msg, text, tlen);
	free(msg);
	free(text);
}

static errcode_t on_entry(void *priv, const struct ick_log_entry *e)
{
	struct ctx *c = priv;
	char fl[128];

	if (!c->dump)
		return 0;
	printf("%llu: sector %llu, sectors %llu, flags %#llx(%s)", (unsigned long long)e->index,
	       (unsigned long long)e->sector, (unsigned long long)e->nr_sectors,
	       (unsigned long long)e->flags, ick_log_flags_text(e->flags, fl, sizeof(fl)));
	if (e->flags & ICK_LOG_MARK)
		printf(" mark \"%s\"", e->mark);
	printf("\n");
	return 0;
}

static errcode_t on_point(void *priv, const struct ick_sweep_point *p)
{
	struct ctx *c = priv;
	int bad = ick_report_exit_bits(p->rep);

	if (p->no_fs) {
		if (c->verbose)
			printf("entry %llu: no ext4 on the device yet\n", (unsigned long long)p->entry);
		return 0;
	}
	if (p->stale_log_off)
		snprintf(c->stale_log_off, sizeof(c->stale_log_off), "%s", p->stale_log_off);
	if (p->fsck_status) {
		printf("Fsck errored out on entry %llu (exit %d)\n", (unsigned long long)p->entry,
		       p->fsck_status);
		if (c->junit)
			junit_point(c, p);
		return 0;
	}
	if (bad || c->verbose) {
		printf("entry %llu%s%s%s", (unsigned long long)p->entry,
		       p->mark[0] ? " (after mark \"" : "", p->mark, p->mark[0] ? "\")" : "");
		for (size_t i = 0; i < p->ndropped; i++)
			printf("%s%llu", i ? "," : " without entries ",
			       (unsigned long long)p->dropped[i]);
		printf(": %s\n", bad ? "findings" : "clean");
		if (bad || c->verbose > 1)
			ick_report_print_text(p->rep, stdout);
	}
	if (bad && c->junit)
		junit_point(c, p);
	if (bad && c->json) {
		json_object *pt = json_object_new_object(), *rep = ick_report_json(p->rep);
		char *mark = ick_untrusted_clean(p->mark, strlen(p->mark));

		if (!pt || !rep || !mark) {
			json_object_put(pt);
			json_object_put(rep);
			free(mark);
			return ENOMEM;
		}
		json_object_object_add(pt, "entry", json_object_new_uint64(p->entry));
		json_object_object_add(pt, "mark", json_object_new_string(mark));
		json_object_object_add(pt, "report", rep);
		free(mark);
		if (json_object_array_add(c->jfail, pt)) {
			json_object_put(pt);
			return ENOMEM;
		}
	}
	return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-')
		return -1;
	*v = strtoull(s, &end, 0);
	return *end ? -1 : 0;
}

/* --junit: the properties, then the file */
static int finish_junit(struct ctx *c, const char *path, const struct ick_sweep_opts *o,
			const char *check, const struct ick_sweep_stats *st,
			const struct timespec *t0)
{
	struct timespec t1;
	char v[32];
	int rc;

	ick_junit_property(c->junit, "log", o->log);
	if (o->base)
		ick_junit_property(c->junit, "base", o->base);
	ick_junit_property(c->junit, "check", check);
#define NUM(name, val) (snprintf(v, sizeof(v), "%llu", (unsigned long long)(val)), \
			ick_junit_property(c->junit, name, v))
	NUM("entries", st->entries);
	NUM("points", st->points);
	NUM("checked", st->checked);
	NUM("findings", st->findings);
	NUM("failing_points", st->failing_points);
#undef NUM
	ick_junit_property(c->junit, "version", PACKAGE_VERSION);
	if (!st->checked)
		ick_junit_skipped(c->junit, "no crash point checked");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rc = ick_junit_finish(c->junit, (double)(t1.tv_sec - t0->tv_sec) +
					(double)(t1.tv_nsec - t0->tv_nsec) / 1e9);
	c->junit = NULL;
	if (rc)
		perror(path);
	return rc;
}

/* --compare-recovery: our journal replay of CRASHED against the kernel's, RECOVERED. */
static int compare_recovery(const char *crashed, const char *recovered, const char *json)
{
	struct ick_recovery_cmp r;
	struct ick_report rep;
	errcode_t err;
	FILE *f;

	if ((err = ick_report_init(&rep, crashed))) {
		com_err(prog, err, "while starting a report");
		return ICK_EXIT_OPER;
	}
	if ((err = ick_recovery_compare(crashed, recovered, &rep, &r))) {
		com_err(prog, err, "while comparing the recovery of %s with %s", crashed, recovered);
		ick_report_free(&rep);
		return ICK_EXIT_OPER;
	}
	if (rep.nr)
		ick_report_print_text(&rep, stdout);
	printf("%s: %s; %llu blocks replayed and compared, %llu as the kernel left them, "
	       "%llu after orphan release, %llu differ; %llu changed by the kernel only (%llu "
	       "superblocks not compared, %llu changed by both orphan releases not judged)\n",
	       crashed, r.journal.needed ? "recovered" : "no recovery needed",
	       (unsigned long long)r.blocks, (unsigned long long)r.equal,
	       (unsigned long long)r.equal_after_orphans, (unsigned long long)r.differ,
	       (unsigned long long)r.kernel_only, (unsigned long long)r.skipped,
	       (unsigned long long)r.orphan_changed);
	if (json && (!(f = strcmp(json, "-") ? fopen(json, "w") : stdout) ||
		     ick_report_write_json(&rep, f) | (f == stdout ? fflush(f) : fclose(f)))) {
		perror(json);
		ick_report_free(&rep);
		return ICK_EXIT_OPER;
	}
	ick_report_free(&rep);
	return r.differ || r.kernel_only ? ICK_EXIT_FOUND : 0;
}

/* What the command line asks for */
struct args {
	struct ick_sweep_opts o;
	struct ick_check_opts copts;
	unsigned char pat[ICK_POISON_MAX];
	const char *json, *manifest, *recovered, *junit, *check, *poison;
	unsigned jobs;
	int verbose, dump;
};

/* --check fua|flush|mark|every|N */
static int parse_check(struct ick_sweep_opts *o, const char *arg)
{
	if (!strcmp(arg, "fua"))
		o->when = ICK_SWEEP_FUA;
	else if (!strcmp(arg, "flush"))
		o->when = ICK_SWEEP_FLUSH;
	else if (!strcmp(arg, "mark"))
		o->when = ICK_SWEEP_MARK;
	else if (!strcmp(arg, "every"))
		o->when = ICK_SWEEP_EVERY;
	else if (!parse_u64(arg, &o->nth) && o->nth)
		o->when = ICK_SWEEP_NTH;
	else
		return -1;
	return 0;
}

/* One option: 0, or -1 for a usage error */
static int parse_opt(struct args *a, int ch, const char *arg)
{
	struct ick_sweep_opts *o = &a->o;
	uint64_t v;

	switch (ch) {
	case 'C': if (parse_u64(arg, &v) || v > 1024) return -1; o->progress_fd = (int)v; break;
	case OPT_FSCK: o->fsck_cmd = arg; break;
	case OPT_NO_STALE_LOG: o->no_stale_log = 1; break;
	case OPT_NO_INCREMENTAL: o->no_incremental = 1; break;
	case OPT_JUNIT: a->junit = arg; break;
	case OPT_MANIFEST: a->manifest = arg; break;
	case OPT_COMPARE_RECOVERY: a->recovered = arg; break;
	case OPT_JOBS: if (parse_u64(arg, &v) || !v || v > 64) return -1; a->jobs = (unsigned)v; break;
	case OPT_REORDER:
		if (parse_u64(arg, &v) || !v || v > ICK_REORDER_MAX_K)
			return -1;
		o->reorder = (unsigned)v;
		break;
	/* a dropped write and a failed one leave the device the same: the prefix */
	case OPT_DROP_AFTER: case OPT_ERROR_AFTER:
		if (parse_u64(arg, &o->drop_after) || !o->drop_after)
			return -1;
		break;
	case OPT_LOG: o->log = arg; break;
	case OPT_BASE: o->base = arg; break;
	case OPT_CHECK: a->check = arg; return parse_check(o, arg);
	case OPT_START_MARK: o->start_mark = arg; break;
	case OPT_END_MARK: o->end_mark = arg; break;
	case OPT_LIMIT: if (parse_u64(arg, &o->limit) || !o->limit) return -1; break;
	case OPT_KEEP_GOING: o->keep_going = 1; break;
	case OPT_SHARD:
		if (sscanf(arg, "%llu/%llu", (unsigned long long *)&o->shard,
			   (unsigned long long *)&o->nshards) != 2 || !o->nshards ||
		    o->shard >= o->nshards)
			return -1;
		break;
	case OPT_POISON:
		if (ick_poison_parse(arg, a->pat, sizeof(a->pat), &a->copts.poison_len))
			return -1;
		a->copts.poison = a->pat;
		a->poison = arg;
		break;
	case OPT_JSON: a->json = arg; break;
	case OPT_REPLAY: o->replay_out = arg; break;
	case OPT_DUMP: a->dump = 1; break;
	case 'v': a->verbose++; break;
	default: return -1;
	}
	return 0;
}

/* The command line into @a; exits on a usage error, on --help and on --version. */
static void parse_args(int argc, char **argv, struct args *a)
{
	struct option lo[ICK_ARRAY_SIZE(opt_rows) + 1];
	char shorts[2 * ICK_ARRAY_SIZE(opt_rows) + 1];
	int ch;

	build_getopt(lo, shorts);
	while ((ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (ch == OPT_HELP) {
			print_usage(stdout);
			exit(ICK_EXIT_OK);
		}
		if (ch == OPT_VERSION) {
			printf("%s %s\n", prog, PACKAGE_VERSION);
			exit(ICK_EXIT_OK);
		}
		if (parse_opt(a, ch, optarg))
			usage();
	}
	if (a->recovered) {
		/* nothing of the sweep applies to a comparison */
		if (a->o.log || !a->o.base || optind != argc || a->manifest || a->jobs > 1 ||
		    a->o.fsck_cmd || a->o.replay_out || a->dump || a->copts.poison ||
		    a->o.reorder || a->o.drop_after || a->junit)
			usage();
		return;
	}
	if (!a->o.log || optind != argc || (a->o.fsck_cmd && !a->o.replay_out) ||
	    (a->jobs > 1 && (a->o.fsck_cmd || a->o.replay_out || a->o.drop_after || a->dump)))
		usage();
}

/* The sweep's last lines: its counts, why the log ended, what the stale evidence lacked */
static void print_summary(const struct args *a, const struct ctx *c,
			  const struct ick_sweep_stats *st, size_t nmarks)
{
	const char *log = a->o.log;

	printf("%s: %llu entries, %llu crash points, %llu checked%s, %llu findings", log,
	       (unsigned long long)st->entries, (unsigned long long)st->points,
	       (unsigned long long)st->checked, a->o.reorder ? " (reordered states included)" : "",
	       (unsigned long long)st->findings);
	if (a->manifest)
		printf("; %llu of the manifest's %zu marks checked",
		       (unsigned long long)st->manifest_marks, nmarks);
	printf("%s%s\n", st->truncated ? "; log ends early: " : "", st->truncated ? st->why : "");
	if (c->stale_log_off[0])
		printf("%s: info: no stale evidence from the log on this file system: %s\n", log,
		       c->stale_log_off);
	if (c->verbose && (st->maps_reused || st->maps_walked || st->incr_fast || st->incr_full))
		printf("%s: inode block maps: %llu reused from an earlier point, %llu walked; "
		       "points from the per-inode cache: %llu (%llu inodes walked again), in full: "
		       "%llu%s%s%s\n",
		       log, (unsigned long long)st->maps_reused, (unsigned long long)st->maps_walked,
		       (unsigned long long)st->incr_fast, (unsigned long long)st->incr_rewalked,
		       (unsigned long long)st->incr_full, st->incr_why[0] ? " (the last: " : "",
		       st->incr_why, st->incr_why[0] ? ")" : "");
}

/* --json: the document, then the file closed; 0 or -1 (errno, or nothing, says why) */
static int write_json_doc(struct ctx *c, const char *logpath, const struct ick_sweep_stats *st)
{
	/* the log's path and the marks are untrusted bytes: ick_untrusted_clean keeps the
	 * document valid UTF-8; json-c escapes quotes and control characters */
	json_object *root = json_object_new_object();
	char *logname = ick_untrusted_clean(logpath, strlen(logpath));
	int bad = !root || !logname;

	if (!bad) {
		json_object_object_add(root, "log", json_object_new_string(logname));
		json_object_object_add(root, "failing", c->jfail);
		c->jfail = NULL;
		json_object_object_add(root, "entries", json_object_new_uint64(st->entries));
		json_object_object_add(root, "points", json_object_new_uint64(st->points));
		json_object_object_add(root, "checked", json_object_new_uint64(st->checked));
		json_object_object_add(root, "no_fs", json_object_new_uint64(st->no_fs));
		json_object_object_add(root, "findings", json_object_new_uint64(st->findings));
		json_object_object_add(root, "manifest_marks",
				       json_object_new_uint64(st->manifest_marks));
		json_object_object_add(root, "truncated", json_object_new_boolean(st->truncated));
		bad = fprintf(c->json, "%s\n", json_object_to_json_string_ext(root,
			      JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0;
	}
	json_object_put(root);
	json_object_put(c->jfail);
	free(logname);
	return bad | ferror(c->json) | (c->json == stdout ? fflush(stdout) : fclose(c->json))
		? -1 : 0;
}

/* --manifest, --json and --junit opened before the sweep; 0 or an exit code */
static int open_outputs(struct args *a, struct ctx *c, struct ick_manifest **man)
{
	errcode_t err;

	if (a->manifest) {
		char why[128];

		if ((err = ick_manifest_load(a->manifest, man, why, sizeof(why)))) {
			com_err(prog, err, "%s%s%s while reading %s", why[0] ? "(" : "", why,
				why[0] ? ")" : "", a->manifest);
			return ICK_EXIT_OPER;
		}
		a->o.manifest = *man;
	}
	if (a->json && !(c->json = strcmp(a->json, "-") ? fopen(a->json, "w") : stdout)) {
		perror(a->json);
		return ICK_EXIT_OPER;
	}
	if (c->json && !(c->jfail = json_object_new_array())) {
		com_err(prog, ENOMEM, "while starting %s", a->json);
		return ICK_EXIT_OPER;
	}
	return 0;
}

/* The sweep and its reports; returns the exit code */
static int sweep(struct args *a, struct ctx *c)
{
	struct ick_manifest *man = NULL;
	struct ick_sweep_stats st;
	struct timespec t0;
	size_t nmarks;
	errcode_t err;
	int rc;

	a->o.copts = &a->copts;
	if ((rc = open_outputs(a, c, &man)))
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (a->junit && !(c->junit = ick_junit_new(a->junit, a->o.log))) {
		perror(a->junit);
		return ICK_EXIT_OPER;
	}
	err = a->jobs > 1 ? ick_sweep_jobs(&a->o, a->jobs, on_point, c, &st)
			  : ick_sweep(&a->o, on_entry, c->dump && !a->o.replay_out ? NULL : on_point,
				      c, &st);
	nmarks = ick_manifest_marks(man);
	ick_manifest_free(man);
	if (err) {
		com_err(prog, err, "%s%s%s while replaying %s", st.why[0] ? "(" : "", st.why,
			st.why[0] ? ")" : "", a->o.log);
		if (c->junit) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s%s%s%s", error_message(err), st.why[0] ? " (" : "",
				 st.why, st.why[0] ? ")" : "");
			ick_junit_error(c->junit, msg);
			finish_junit(c, a->junit, &a->o, a->check, &st, &t0);
		}
		return ICK_EXIT_OPER;
	}
	print_summary(a, c, &st, nmarks);
	if (c->json && write_json_doc(c, a->o.log, &st)) {
		perror(a->json);
		return ICK_EXIT_OPER;
	}
	if (c->junit && finish_junit(c, a->junit, &a->o, a->check, &st, &t0))
		return ICK_EXIT_OPER;
	return st.failing_points ? ICK_EXIT_FOUND : 0;
}

int main(int argc, char **argv)
{
	struct args a = { .o = { .when = ICK_SWEEP_FUA, .mask = ICK_CHECKS_ALL, .progress_fd = -1 },
			  .check = "fua", .jobs = 1 };
	struct ctx c = { .first = 1 };

	add_error_table(&et_ext2_error_table);
	add_error_table(&et_ick_error_table);
	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv, &a);
	if (a.recovered)
		return compare_recovery(a.o.base, a.recovered, a.json);
	c.verbose = a.verbose;
	c.dump = a.dump;
	c.poison = a.poison;
	c.log = a.o.log;
	c.base = a.o.base;
	return sweep(&a, &c);
}
