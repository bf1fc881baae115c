/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iomapck-replay - sweep the crash states of a dm-log-writes log in-process: the base
 * image plus each log prefix in memory, journal recovery as a mount does it, then every
 * check (lib/crash.c).  Option parsing and printing only.
 */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <et/com_err.h>
#include <json.h>
#include "crash.h"
#include "recovery_cmp.h"
#include "ick_err.h"
#include "iomapck.h"
#include "junit.h"
#include "exit_codes.h"

static const char *prog = "iomapck-replay";

static void print_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s --log LOG [--base IMAGE] [--check fua|flush|mark|every|N]\n"
		"\t[--start-mark M] [--end-mark M] [--limit N] [--keep-going] [--shard I/N]\n"
		"\t[--poison HEX] [--json FILE] [--junit FILE] [--replay OUT] [--dump]\n"
		"\t[-v] [-C FD] [--fsck CMD --replay OUT] [--drop-writes-after N]\n"
		"\t[--error-writes-after N] [--reorder K (1-3)] [--no-stale-log]\n"
		"\t[--manifest FILE] [--jobs N] [--no-incremental]\n"
		"   or: %s --base CRASHED --compare-recovery RECOVERED [--json FILE]\n"
		"   or: %s --help | --version\n", prog, prog, prog);
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
		char *mark = ick_junit_clean(p->mark, strlen(p->mark));

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

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "log", 1, 0, 'l' }, { "base", 1, 0, 'b' }, { "check", 1, 0, 'c' },
		{ "start-mark", 1, 0, 's' }, { "end-mark", 1, 0, 'e' }, { "limit", 1, 0, 'n' },
		{ "keep-going", 0, 0, 'k' }, { "shard", 1, 0, 'S' }, { "poison", 1, 0, 'p' },
		{ "json", 1, 0, 'j' }, { "replay", 1, 0, 'r' }, { "dump", 0, 0, 'd' },
		{ "verbose", 0, 0, 'v' }, { "fsck", 1, 0, 'f' }, { "drop-writes-after", 1, 0, 'D' },
		{ "error-writes-after", 1, 0, 'E' }, { "reorder", 1, 0, 'R' },
		{ "no-stale-log", 0, 0, 'N' }, { "manifest", 1, 0, 'M' },
		{ "compare-recovery", 1, 0, 'P' }, { "jobs", 1, 0, 'J' },
		{ "no-incremental", 0, 0, 'I' }, { "junit", 1, 0, 'X' }, { "help", 0, 0, 'h' }, { "version", 0, 0, 'V' },
		{ 0, 0, 0, 0 },
	};
	struct ick_sweep_opts o = { .when = ICK_SWEEP_FUA, .mask = ICK_CHECKS_ALL,
				    .progress_fd = -1 };
	struct ick_check_opts copts = { 0 };
	unsigned char pat[ICK_POISON_MAX];
	struct ick_sweep_stats st;
	struct ctx c = { .first = 1 };
	const char *json = NULL, *manifest = NULL, *recovered = NULL, *junit = NULL;
	const char *check = "fua";
	struct timespec t0;
	struct ick_manifest *man = NULL;
	size_t nmarks;
	unsigned jobs = 1;
	errcode_t err;
	int ch;

	add_error_table(&et_ext2_error_table);
	add_error_table(&et_ick_error_table);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((ch = getopt_long(argc, argv, "vC:", lo, NULL)) != -1) {
		uint64_t v;
		switch (ch) {
		case 'C': if (parse_u64(optarg, &v) || v > 1024) usage(); o.progress_fd = (int)v; break;
		case 'f': o.fsck_cmd = optarg; break;
		case 'N': o.no_stale_log = 1; break;
		case 'I': o.no_incremental = 1; break;
		case 'X': junit = optarg; break;
		case 'M': manifest = optarg; break;
		case 'P': recovered = optarg; break;
		case 'J': if (parse_u64(optarg, &v) || !v || v > 64) usage(); jobs = (unsigned)v; break;
		case 'R':
			if (parse_u64(optarg, &v) || !v || v > ICK_REORDER_MAX_K) usage();
			o.reorder = (unsigned)v;
			break;
		/* a dropped write and a failed one leave the device the same: the prefix */
		case 'D': case 'E':
			if (parse_u64(optarg, &o.drop_after) || !o.drop_after) usage();
			break;
		case 'l': o.log = optarg; break;
		case 'b': o.base = optarg; break;
		case 'c':
			check = optarg;
			if (!strcmp(optarg, "fua")) o.when = ICK_SWEEP_FUA;
			else if (!strcmp(optarg, "flush")) o.when = ICK_SWEEP_FLUSH;
			else if (!strcmp(optarg, "mark")) o.when = ICK_SWEEP_MARK;
			else if (!strcmp(optarg, "every")) o.when = ICK_SWEEP_EVERY;
			else if (!parse_u64(optarg, &o.nth) && o.nth) o.when = ICK_SWEEP_NTH;
			else usage();
			break;
		case 's': o.start_mark = optarg; break;
		case 'e': o.end_mark = optarg; break;
		case 'n': if (parse_u64(optarg, &o.limit) || !o.limit) usage(); break;
		case 'k': o.keep_going = 1; break;
		case 'S':
			if (sscanf(optarg, "%llu/%llu", (unsigned long long *)&o.shard,
				   (unsigned long long *)&o.nshards) != 2 || !o.nshards ||
			    o.shard >= o.nshards)
				usage();
			break;
		case 'p':
			if (ick_poison_parse(optarg, pat, sizeof(pat), &copts.poison_len))
				usage();
			copts.poison = pat;
			c.poison = optarg;
			break;
		case 'j': json = optarg; break;
		case 'r': o.replay_out = optarg; break;
		case 'd': c.dump = 1; break;
		case 'v': c.verbose++; break;
		case 'h': print_usage(stdout); return 0;
		case 'V': printf("%s %s\n", prog, PACKAGE_VERSION); return 0;
		default: usage();
		}
	}
	if (recovered) {
		/* nothing of the sweep applies to a comparison */
		if (o.log || !o.base || optind != argc || manifest || jobs > 1 || o.fsck_cmd ||
		    o.replay_out || c.dump || copts.poison || o.reorder || o.drop_after || junit)
			usage();
		return compare_recovery(o.base, recovered, json);
	}
	if (!o.log || optind != argc || (o.fsck_cmd && !o.replay_out) ||
	    (jobs > 1 && (o.fsck_cmd || o.replay_out || o.drop_after || c.dump)))
		usage();
	o.copts = &copts;
	if (manifest) {
		char why[128];

		if ((err = ick_manifest_load(manifest, &man, why, sizeof(why)))) {
			com_err(prog, err, "%s%s%s while reading %s", why[0] ? "(" : "", why,
				why[0] ? ")" : "", manifest);
			return ICK_EXIT_OPER;
		}
		o.manifest = man;
	}
	if (json && !(c.json = strcmp(json, "-") ? fopen(json, "w") : stdout)) {
		perror(json);
		return ICK_EXIT_OPER;
	}
	if (c.json && !(c.jfail = json_object_new_array())) {
		com_err(prog, ENOMEM, "while starting %s", json);
		return ICK_EXIT_OPER;
	}
	c.log = o.log;
	c.base = o.base;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (junit && !(c.junit = ick_junit_new(junit, o.log))) {
		perror(junit);
		return ICK_EXIT_OPER;
	}
	err = jobs > 1 ? ick_sweep_jobs(&o, jobs, on_point, &c, &st)
		       : ick_sweep(&o, on_entry, c.dump && !o.replay_out ? NULL : on_point, &c, &st);
	nmarks = ick_manifest_marks(man);
	ick_manifest_free(man);
	if (err) {
		com_err(prog, err, "%s%s%s while replaying %s", st.why[0] ? "(" : "", st.why,
			st.why[0] ? ")" : "", o.log);
		if (c.junit) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s%s%s%s", error_message(err), st.why[0] ? " (" : "",
				 st.why, st.why[0] ? ")" : "");
			ick_junit_error(c.junit, msg);
			finish_junit(&c, junit, &o, check, &st, &t0);
		}
		return ICK_EXIT_OPER;
	}
	printf("%s: %llu entries, %llu crash points, %llu checked%s, %llu findings", o.log,
	       (unsigned long long)st.entries, (unsigned long long)st.points,
	       (unsigned long long)st.checked, o.reorder ? " (reordered states included)" : "",
	       (unsigned long long)st.findings);
	if (manifest)
		printf("; %llu of the manifest's %zu marks checked", (unsigned long long)st.manifest_marks,
		       nmarks);
	printf("%s%s\n", st.truncated ? "; log ends early: " : "", st.truncated ? st.why : "");
	if (c.stale_log_off[0])
		printf("%s: info: no stale evidence from the log on this file system: %s\n", o.log,
		       c.stale_log_off);
	if (c.verbose && (st.maps_reused || st.maps_walked || st.incr_fast || st.incr_full))
		printf("%s: inode block maps: %llu reused from an earlier point, %llu walked; "
		       "points from the per-inode cache: %llu (%llu inodes walked again), in full: "
		       "%llu%s%s%s\n",
		       o.log, (unsigned long long)st.maps_reused, (unsigned long long)st.maps_walked,
		       (unsigned long long)st.incr_fast, (unsigned long long)st.incr_rewalked,
		       (unsigned long long)st.incr_full, st.incr_why[0] ? " (the last: " : "",
		       st.incr_why, st.incr_why[0] ? ")" : "");
	if (c.json) {
		/* the log's path and the marks are untrusted bytes: ick_junit_clean's rule
		 * (valid UTF-8 passes, a backslash is doubled, any other byte is \xHH) keeps
		 * the document valid UTF-8; json-c escapes quotes and control characters */
		json_object *root = json_object_new_object();
		char *logname = ick_junit_clean(o.log, strlen(o.log));
		int bad = !root || !logname;

		if (!bad) {
			json_object_object_add(root, "log", json_object_new_string(logname));
			json_object_object_add(root, "failing", c.jfail);
			c.jfail = NULL;
			json_object_object_add(root, "entries", json_object_new_uint64(st.entries));
			json_object_object_add(root, "points", json_object_new_uint64(st.points));
			json_object_object_add(root, "checked", json_object_new_uint64(st.checked));
			json_object_object_add(root, "no_fs", json_object_new_uint64(st.no_fs));
			json_object_object_add(root, "findings", json_object_new_uint64(st.findings));
			json_object_object_add(root, "manifest_marks",
					       json_object_new_uint64(st.manifest_marks));
			json_object_object_add(root, "truncated",
					       json_object_new_boolean(st.truncated));
			bad = fprintf(c.json, "%s\n", json_object_to_json_string_ext(root,
				      JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0;
		}
		json_object_put(root);
		json_object_put(c.jfail);
		free(logname);
		if (bad | ferror(c.json) | (c.json == stdout ? fflush(stdout) : fclose(c.json))) {
			perror(json);
			return ICK_EXIT_OPER;
		}
	}
	if (c.junit && finish_junit(&c, junit, &o, check, &st, &t0))
		return ICK_EXIT_OPER;
	return st.failing_points ? ICK_EXIT_FOUND : 0;
}
