/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sweep_jobs.c - a crash sweep split over worker processes (see sweep.h, ick_sweep_jobs).
 *
 * Each worker replays the whole log (cheap: a map of sectors) and checks the points of its
 * shard; the stale tracker follows every point in every worker, so the evidence is the
 * one sequential sweep would have.  A worker writes each checked point to its own
 * temporary file as a record; the parent reads them all back and hands them to the
 * caller in point order, stopping after the first failing one unless --keep-going, so the
 * output is the sequential sweep's.  The record format is ours (text lines with lengths)
 * and never leaves this process tree.
 */
#include "config.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "array.h"
#include "sweep.h"
#include "sweep_point.h"
#include "ick_err.h"

#define MAX_JOBS 64

struct rec {
	struct ick_sweep_point p;
	struct ick_report rep;
	char *mark;
	char *stale_off;
	uint64_t *dropped;
	int job;
	size_t order;            /* position in its worker's file */
};

/* ---- worker: points out ---- */

static void put_str(FILE *f, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	fprintf(f, "%zu\n", n);
	if (n)
		fwrite(s, 1, n, f);
	fputc('\n', f);
}

static errcode_t put_point(void *priv, const struct ick_sweep_point *p)
{
	FILE *f = priv;

	fprintf(f, "P %" PRIu64 " %" PRIu64 " %d %d %d %zu", p->point, p->entry, p->no_fs,
		p->fsck_status, p->manifest, p->ndropped);
	for (size_t i = 0; i < p->ndropped; i++)
		fprintf(f, " %" PRIu64, p->dropped[i]);
	fputc('\n', f);
	put_str(f, p->mark);
	put_str(f, p->stale_log_off ? p->stale_log_off : "");
	put_str(f, p->rep->note);
	fprintf(f, "%zu %" PRIu64 "\n", p->rep->nr, p->rep->dropped);
	for (size_t i = 0; i < p->rep->nr; i++) {
		const struct ick_finding *x = &p->rep->f[i];

		fprintf(f, "%" PRIu32 " %" PRIu32 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
			   " %" PRIu64 "\n", x->code, (uint32_t)x->ino, x->lblk, x->pblk, x->len,
			x->expected, x->found);
		put_str(f, x->detail);
	}
	return ferror(f) ? EIO : 0;
}

static void put_stats(FILE *f, errcode_t err, const struct ick_sweep_stats *st)
{
	fprintf(f, "S %ld %" PRIu64 " %" PRIu64 " %d %" PRIu64 " %" PRIu64 "\n", (long)err,
		st->entries, st->points, st->truncated, st->maps_reused, st->maps_walked);
	put_str(f, st->why);
}

static int worker(const struct ick_sweep_opts *o, unsigned job, unsigned jobs, FILE *f)
{
	struct ick_sweep_opts oc = *o;
	struct ick_sweep_stats st;
	errcode_t err;
	uint64_t n = o->nshards ? o->nshards : 1;

	oc.shard = o->shard + n * job;
	oc.nshards = n * jobs;
	err = ick_sweep(&oc, NULL, put_point, f, &st);
	put_stats(f, err, &st);
	return fflush(f) || ferror(f) ? 1 : 0;
}

/* ---- parent: records in ---- */

static char *get_str(FILE *f)
{
	size_t n;
	char *s;

	if (fscanf(f, "%zu", &n) != 1 || fgetc(f) != '\n' || n > (1u << 20) ||
	    !(s = malloc(n + 1)))
		return NULL;
	if (fread(s, 1, n, f) != n || fgetc(f) != '\n') {
		free(s);
		return NULL;
	}
	s[n] = 0;
	return s;
}

static void rec_free(struct rec *r)
{
	ick_report_free(&r->rep);
	free(r->mark);
	free(r->stale_off);
	free(r->dropped);
}

static errcode_t get_point(FILE *f, const char *log, struct rec *r)
{
	size_t nf;
	uint64_t dropped;
	errcode_t err;

	memset(r, 0, sizeof(*r));
	if ((err = ick_report_init(&r->rep, log)))
		return err;
	r->p.rep = &r->rep;
	if (fscanf(f, "%" SCNu64 " %" SCNu64 " %d %d %d %zu", &r->p.point, &r->p.entry,
		   &r->p.no_fs, &r->p.fsck_status, &r->p.manifest, &r->p.ndropped) != 6 ||
	    r->p.ndropped > ICK_REORDER_MAX_K)
		return EIO;
	if (r->p.ndropped && !(r->dropped = calloc(r->p.ndropped, sizeof(*r->dropped))))
		return ENOMEM;
	for (size_t i = 0; i < r->p.ndropped; i++)
		if (fscanf(f, "%" SCNu64, &r->dropped[i]) != 1)
			return EIO;
	r->p.dropped = r->dropped;
	if (fgetc(f) != '\n' || !(r->mark = get_str(f)) || !(r->stale_off = get_str(f)) ||
	    !(r->rep.note = get_str(f)))
		return EIO;
	r->p.mark = r->mark;
	if (!r->rep.note[0]) {
		free(r->rep.note);
		r->rep.note = NULL;
	}
	if (fscanf(f, "%zu %" SCNu64 "\n", &nf, &dropped) != 2)
		return EIO;
	for (size_t i = 0; i < nf; i++) {
		struct ick_finding x = { 0 };
		uint32_t ino;
		char *detail;

		if (fscanf(f, "%" SCNu32 " %" SCNu32 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
			      " %" SCNu64 "\n", &x.code, &ino, &x.lblk, &x.pblk, &x.len, &x.expected,
			   &x.found) != 7 || !(detail = get_str(f)))
			return EIO;
		x.ino = ino;
		err = ick_report_add(&r->rep, &x, detail[0] ? "%s" : NULL, detail);
		free(detail);
		if (err)
			return err;
	}
	r->rep.dropped += dropped;
	return 0;
}

struct jobs_in {
	struct rec *r;
	size_t nr, cap;
	struct ick_sweep_stats st[MAX_JOBS];
	errcode_t err[MAX_JOBS];
};

static errcode_t read_worker(FILE *f, const char *log, unsigned job, struct jobs_in *in)
{
	size_t order = 0;
	int c;

	rewind(f);
	while ((c = fgetc(f)) == 'P' && fgetc(f) == ' ') {
		errcode_t err;

		if (in->nr == in->cap) {
			struct rec *nr = ick_array_grow(in->r, &in->cap, sizeof(*nr), 256);
			if (!nr)
				return ENOMEM;
			in->r = nr;
		}
		err = get_point(f, log, &in->r[in->nr]);
		in->r[in->nr].job = (int)job;
		in->r[in->nr].order = order++;
		in->nr++;
		if (err)
			return err;
	}
	if (c == 'S') {
		struct ick_sweep_stats *st = &in->st[job];
		long e;
		char *why;

		if (fscanf(f, " %ld %" SCNu64 " %" SCNu64 " %d %" SCNu64 " %" SCNu64 "\n", &e,
			   &st->entries, &st->points, &st->truncated, &st->maps_reused,
			   &st->maps_walked) != 6 || !(why = get_str(f)))
			return EIO;
		snprintf(st->why, sizeof(st->why), "%s", why);
		free(why);
		in->err[job] = (errcode_t)e;
		return 0;
	}
	return EIO; /* the worker died before its summary */
}

static int by_point(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->p.point != y->p.point)
		return x->p.point < y->p.point ? -1 : 1;
	if (x->job != y->job)
		return x->job < y->job ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * The records in point order, as the sequential sweep would have delivered them.  A worker
 * that failed (@werr, at its entry @wend: it had applied entries up to there) ends the
 * sweep there: the points before it are delivered, then its error is returned, unless a
 * failing point before it ends the sweep first (as it would have sequentially).
 */
static errcode_t deliver(const struct ick_sweep_opts *o, struct jobs_in *in, unsigned jobs,
			 errcode_t werr, uint64_t wend, ick_sweep_fn on_point, void *priv,
			 struct ick_sweep_stats *st)
{
	errcode_t err = 0;
	int stopped = 0;

	if (in->nr)
		qsort(in->r, in->nr, sizeof(*in->r), by_point);
	for (unsigned j = 0; j < jobs; j++) {
		if (in->st[j].entries > st->entries)
			st->entries = in->st[j].entries;
		if (in->st[j].points > st->points)
			st->points = in->st[j].points;
		st->maps_reused += in->st[j].maps_reused; /* each worker keeps its own memo */
		st->maps_walked += in->st[j].maps_walked;
	}
	for (size_t i = 0; i < in->nr && !err; i++) {
		struct rec *r = &in->r[i];

		if (werr && r->p.entry > wend)
			break;
		/* records moved (realloc, sort): their inner pointers are set here */
		r->p.rep = &r->rep;
		r->p.mark = r->mark;
		r->p.stale_log_off = r->stale_off && r->stale_off[0] ? r->stale_off : NULL;
		r->p.dropped = r->dropped;

		if (r->p.no_fs)
			st->no_fs++;
		else
			st->checked++;
		st->reordered += r->p.ndropped > 0;
		st->manifest_marks += r->p.manifest && !r->p.ndropped && !r->p.no_fs;
		err = on_point(priv, &r->p);
		/* the sequential sweep's accounting: it ends where that one would */
		if (!err && (stopped = ick_sweep_point_account(o, &r->p, st)))
			break;
	}
	if (err || stopped)
		return err;
	/* the log's damage, as the sequential sweep would have reached it */
	for (unsigned j = 0; j < jobs && !werr; j++)
		if (in->st[j].truncated && !st->truncated) {
			st->truncated = 1;
			memcpy(st->why, in->st[j].why, sizeof(st->why));
		}
	return werr;
}

errcode_t ick_sweep_jobs(const struct ick_sweep_opts *o, unsigned jobs, ick_sweep_fn on_point,
			 void *priv, struct ick_sweep_stats *st)
{
	struct jobs_in in;
	FILE *f[MAX_JOBS] = { 0 };
	pid_t pid[MAX_JOBS];
	unsigned started = 0;
	errcode_t err = 0;

	memset(st, 0, sizeof(*st));
	memset(&in, 0, sizeof(in));
	if (jobs < 2 || jobs > MAX_JOBS || o->fsck_cmd || o->replay_out || o->drop_after ||
	    o->nshards > UINT64_MAX / jobs)
		return EINVAL;
	fflush(NULL);
	for (; started < jobs; started++) {
		if (!(f[started] = tmpfile())) {
			err = errno;
			break;
		}
		if ((pid[started] = fork()) < 0) {
			err = errno;
			fclose(f[started]);
			f[started] = NULL;
			break;
		}
		if (!pid[started])
			_exit(worker(o, started, jobs, f[started]));
	}
	for (unsigned j = 0; j < started; j++) {
		int status;

		while (waitpid(pid[j], &status, 0) < 0 && errno == EINTR)
			;
		if (!err && (!WIFEXITED(status) || WEXITSTATUS(status)))
			err = EIO;
		if (!err)
			err = read_worker(f[j], o->log, j, &in);
	}
	if (!err) {
		/* the earliest worker failure, if any: where the sequential sweep would fail */
		errcode_t werr = 0;
		uint64_t wend = 0;

		for (unsigned j = 0; j < started; j++)
			if (in.err[j] && (!werr || in.st[j].entries < wend + 1)) {
				werr = in.err[j];
				wend = in.st[j].entries ? in.st[j].entries - 1 : 0;
				memcpy(st->why, in.st[j].why, sizeof(st->why));
			}
		err = deliver(o, &in, jobs, werr, wend, on_point, priv, st);
		/* a reason stays only for the failure or the damage the sweep reached */
		if (!st->truncated && (!err || err != werr))
			st->why[0] = 0;
	}
	for (size_t i = 0; i < in.nr; i++)
		rec_free(&in.r[i]);
	free(in.r);
	for (unsigned j = 0; j < started; j++)
		fclose(f[j]);
	return err;
}
