/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sweep_point.c - which log entries are crash points, and the accounting of failing ones
 * (see sweep_point.h).
 */
#include "config.h"
#include <string.h>
#include "sweep_point.h"

void ick_sweep_point_init(struct ick_sweep_sel *s, const struct ick_sweep_opts *o, int want)
{
	memset(s, 0, sizeof(*s));
	s->o = o;
	s->want = want;
	s->checking = !o->start_mark;
}

/* The entry's kind matches --check (FUA, FLUSH, a mark, every or every nth entry). */
static int when_matches(const struct ick_sweep_opts *o, const struct ick_log_entry *e)
{
	switch (o->when) {
	case ICK_SWEEP_FUA: return !!(e->flags & ICK_LOG_FUA);
	case ICK_SWEEP_FLUSH: return !!(e->flags & ICK_LOG_FLUSH);
	case ICK_SWEEP_MARK: return !!(e->flags & ICK_LOG_MARK);
	case ICK_SWEEP_EVERY: return 1;
	case ICK_SWEEP_NTH: return o->nth && (e->index + 1) % o->nth == 0;
	}
	return 0;
}

static int is_mark(const struct ick_log_entry *e, const char *name)
{
	return name && (e->flags & ICK_LOG_MARK) && !strcmp(e->mark, name);
}

void ick_sweep_point_classify(struct ick_sweep_sel *s, const struct ick_log_entry *e,
			      struct ick_sweep_class *c)
{
	const struct ick_sweep_opts *o = s->o;

	memset(c, 0, sizeof(*c));
	c->man_idx = (e->flags & ICK_LOG_MARK) ? ick_manifest_find(o->manifest, e->mark) : -1;
	s->entries++;
	if (s->checking && s->want)
		c->point = o->drop_after ? e->index == o->drop_after
					 : when_matches(o, e) || c->man_idx >= 0;
	if (c->point) {
		c->ordinal = s->points++;
		c->ours = o->nshards <= 1 || c->ordinal % o->nshards == o->shard;
	}
	/* the start mark opens the points after it, not itself */
	if (!s->checking && is_mark(e, o->start_mark))
		s->checking = 1;
	c->last = is_mark(e, o->end_mark) || (o->limit && s->entries >= o->limit) ||
		  (o->drop_after && e->index >= o->drop_after);
}

int ick_sweep_point_account(const struct ick_sweep_opts *o, const struct ick_sweep_point *p,
			    struct ick_sweep_stats *st)
{
	if (!ick_report_exit_bits(p->rep) && !p->fsck_status)
		return 0;
	st->failing_points++;
	st->findings += p->rep->nr;
	if (o->keep_going)
		return 0;
	/* the sweep ends at its first failing point: so do its counts */
	st->points = p->point + 1;
	st->entries = p->entry + 1;
	return 1;
}
