/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stale_log.c - stale-data evidence from a log (see stale_log.h).  Thresholds are kept as
 * ordinals of the updates (crash points) seen, so a block costs four bytes.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "overlay.h"
#include "stale_log.h"
#include "memo.h"
#include "check.h"

#define UNKNOWN UINT32_MAX
/* Free when the tracker first saw the file system: an allocation may have been in flight
 * there (its data already written, its commit still to come), so only a block with no
 * write at all in the log is known to hold no data of its own. */
#define FIRST (UINT32_MAX - 1)
/* The previous state is one bit per block; past this the tracker stays off (no claims). */
#define PREV_BYTES_MAX (1ull << 30)

struct ick_stale_log {
	/* geometry of the file system being followed */
	blk64_t blocks, first;
	uint32_t bpg, ngroups;
	unsigned bs;
	const char *off;          /* why there is no evidence (bigalloc, ...), else NULL */
	unsigned char *prev;      /* the bitmap at the previous update, bpg/8 bytes a group */
	unsigned char *next;      /* the state being read, as prev */
	uint32_t **thr;           /* per group, allocated at its first change */
	/* Per block of those groups: judged not stale under its present threshold.  Writes
	 * only make a block's newest write newer, so that holds until its threshold changes
	 * or a discard comes (@ndis: the discards the device had when these were set). */
	unsigned char **ok;
	size_t ndis;
	struct { uint64_t entry, off; } *pt; /* the points followed: entry, payload offset */
	size_t npts, cappts;
	uint32_t last;
	int based;                /* point 0 is the base, not a crash point (stale_log.h) */
	/* the state being judged (ick_stale_log_begin) */
	int judging;              /* same geometry as the state followed, evidence on */
	unsigned ss;              /* the device's sector size */
};

errcode_t ick_stale_log_new(struct ick_stale_log **out)
{
	return (*out = calloc(1, sizeof(**out))) ? 0 : ENOMEM;
}

static void reset(struct ick_stale_log *t)
{
	if (t->thr)
		for (uint32_t g = 0; g < t->ngroups; g++) {
			free(t->thr[g]);
			free(t->ok[g]);
		}
	free(t->thr);
	free(t->ok);
	free(t->prev);
	free(t->next);
	free(t->pt);
	memset(t, 0, sizeof(*t));
}

void ick_stale_log_free(struct ick_stale_log *t)
{
	if (!t)
		return;
	reset(t);
	free(t);
}

static uint64_t group_bytes(const struct ick_stale_log *t)
{
	return ((uint64_t)t->bpg + 7) / 8;
}

static int same_geometry(const struct ick_stale_log *t, ext2_filsys fs)
{
	return t->prev && t->blocks == ext2fs_blocks_count(fs->super) &&
	       t->first == fs->super->s_first_data_block &&
	       t->bpg == fs->super->s_blocks_per_group && t->bs == fs->blocksize;
}

/* The bits of group @g as the state holds them, the last group's padding past the end of
 * the file system included (as on disk, so that its checksum can be verified). */
static errcode_t read_group(const struct ick_stale_log *t, ext2_filsys fs, uint32_t g,
			    unsigned char *buf)
{
	return ext2fs_get_block_bitmap_range2(fs->block_map, t->first + (blk64_t)g * t->bpg,
					      t->bpg, buf);
}

static errcode_t push_point(struct ick_stale_log *t, uint64_t entry, uint64_t off)
{
	if (t->npts >= FIRST) /* a point's number must stay below the two markers */
		return ENOMEM;
	if (t->npts == t->cappts) {
		void *n = ick_array_grow(t->pt, &t->cappts, sizeof(*t->pt), 256);
		if (!n)
			return ENOMEM;
		t->pt = n;
	}
	t->pt[t->npts].entry = entry;
	t->pt[t->npts].off = off;
	t->last = (uint32_t)t->npts++;
	return 0;
}

/* Why the rule cannot hold here (stale_log.h), or NULL. */
static const char *off_reason(const struct ick_stale_log *t, ext2_filsys fs)
{
	if (ext2fs_has_feature_bigalloc(fs->super))
		return "bigalloc (one bitmap bit per cluster: a block's own allocation is not seen)";
	if (!ext2fs_has_feature_journal(fs->super))
		return "no journal (a freed block is reused at once)";
	if ((fs->super->s_default_mount_opts & EXT3_DEFM_JMODE) == EXT3_DEFM_JMODE_WBACK)
		return "data=writeback default mount mode (a freed block is reused at once)";
	if (!t->bpg || t->blocks <= t->first ||
	    (t->blocks - t->first + t->bpg - 1) / t->bpg != t->ngroups)
		return "inconsistent group geometry";
	if ((uint64_t)t->ngroups * group_bytes(t) > PREV_BYTES_MAX)
		return "file system too large for the tracker's memory";
	return NULL;
}

const char *ick_stale_log_off(const struct ick_stale_log *t)
{
	return t ? t->off : NULL;
}

/* First sight of a file system: its bitmap is the starting state, point 0. */
static errcode_t start(struct ick_stale_log *t, ext2_filsys fs, uint64_t entry, uint64_t off)
{
	errcode_t err;

	reset(t);
	t->blocks = ext2fs_blocks_count(fs->super);
	t->first = fs->super->s_first_data_block;
	t->bpg = fs->super->s_blocks_per_group;
	t->bs = fs->blocksize;
	t->ngroups = fs->group_desc_count;
	/* The rule needs freed blocks held until the freeing transaction commits, as ext4
	 * does with a journal in data=ordered and data=journal; without a journal, or with
	 * data=writeback as the default mount mode, a freed block is reused at once. */
	if ((t->off = off_reason(t, fs))) {
		t->prev = malloc(1); /* marks the geometry as seen */
		return t->prev ? 0 : ENOMEM;
	}
	if (!(t->prev = malloc(t->ngroups * group_bytes(t))) ||
	    !(t->next = malloc(t->ngroups * group_bytes(t))) ||
	    !(t->thr = calloc(t->ngroups, sizeof(*t->thr))) ||
	    !(t->ok = calloc(t->ngroups, sizeof(*t->ok))))
		return ENOMEM;
	for (uint32_t g = 0; g < t->ngroups; g++)
		if ((err = read_group(t, fs, g, t->prev + g * group_bytes(t))))
			return err;
	return push_point(t, entry, off);
}

static int bit(const unsigned char *b, uint32_t i)
{
	return (b[i / 8] >> (i % 8)) & 1;
}

/* Until its first change, a group's blocks are as at point 0: those allocated there have
 * no known history, the free ones were free since point 0 (FIRST). */
static errcode_t group_table(struct ick_stale_log *t, uint32_t g, const unsigned char *prev)
{
	uint32_t *a;

	if (t->thr[g])
		return 0;
	if (!(a = malloc((size_t)t->bpg * sizeof(*a))))
		return ENOMEM;
	if (!(t->ok[g] = calloc(t->bpg, 1))) {
		free(a);
		return ENOMEM;
	}
	for (uint32_t i = 0; i < t->bpg; i++)
		a[i] = bit(prev, i) ? UNKNOWN : FIRST;
	t->thr[g] = a;
	return 0;
}

/* Does group @g's bitmap (@buf, as read) fail its checksum?  A torn or lost write:
 * learning frees from it would judge the owners stale at every later point. */
static int torn(ext2_filsys fs, uint32_t g, const unsigned char *buf, struct ick_memo *memo)
{
	return ext2fs_has_feature_metadata_csum(fs->super) &&
	       !ext2fs_bg_flags_test(fs, g, EXT2_BG_BLOCK_UNINIT) &&
	       !ick_memo_bitmap_csum(memo, fs, g, buf, EXT2_CLUSTERS_PER_GROUP(fs->super) / 8);
}

/*
 * The base as point 0.  Its payload offset is 0, below every write of the log, so the two
 * rules meet: a block free in the base (FIRST) and a block owned there and seen free later
 * (threshold 0) are both stale only while the log holds no write to them at all.
 */
errcode_t ick_stale_log_base(struct ick_stale_log *t, ext2_filsys fs)
{
	errcode_t err;

	if (!fs->block_map && (err = ext2fs_read_block_bitmap(fs)))
		return 0; /* no bitmap to learn from: the first crash point starts, as before */
	if ((err = start(t, fs, 0, 0)))
		return err;
	t->based = !t->off;
	return 0;
}

errcode_t ick_stale_log_update(struct ick_stale_log *t, ext2_filsys fs, uint64_t entry,
			       uint64_t off, struct ick_memo *memo)
{
	uint32_t before = t->last;
	size_t gb;
	errcode_t err = 0;

	/* a state whose bitmap cannot be read (the bitmap check says why) is not followed:
	 * the next one is compared with the last one read, which only makes thresholds older */
	if (!fs->block_map && ext2fs_read_block_bitmap(fs))
		return 0;
	if (!same_geometry(t, fs))
		return start(t, fs, entry, off);
	if (t->off)
		return 0;
	gb = group_bytes(t);
	/* the whole state first: one torn bitmap and nothing of this state is learnt (only
	 * a changed bitmap can be newly torn: an unchanged one was judged when it came) */
	for (uint32_t g = 0; g < t->ngroups; g++) {
		unsigned char *cur = t->next + g * gb;

		if ((err = read_group(t, fs, g, cur)))
			return err;
		if (memcmp(t->prev + g * gb, cur, gb) && torn(fs, g, cur, memo))
			return 0;
	}
	if ((err = push_point(t, entry, off)))
		return err;
	for (uint32_t g = 0; g < t->ngroups; g++) {
		unsigned char *prev = t->prev + g * gb, *cur = t->next + g * gb;

		if (!memcmp(prev, cur, gb))
			continue;
		if ((err = group_table(t, g, prev)))
			return err;
		for (size_t k = 0; k < gb; k++) {
			unsigned freed;

			/* most of a changed group is not: skip equal words */
			if (!(k % 8) && k + 8 <= gb && !memcmp(prev + k, cur + k, 8)) {
				k += 7;
				continue;
			}
			freed = prev[k] & ~cur[k];

			/* freed: everything written up to the last point it was seen owned is
			 * its earlier life; newly allocated blocks keep their threshold */
			for (unsigned j = 0; freed && j < 8; j++)
				if (freed & (1u << j)) {
					t->thr[g][k * 8 + j] = before;
					t->ok[g][k * 8 + j] = 0;
				}
		}
	}
	/* the state just read is the previous one from now on */
	{
		unsigned char *tmp = t->prev;

		t->prev = t->next;
		t->next = tmp;
	}
	return 0;
}

void ick_stale_log_begin(struct ick_stale_log *t, ext2_filsys fs, const struct ick_logdev *ld,
			 int remember)
{
	if (!t)
		return;
	t->judging = !t->off && same_geometry(t, fs);
	t->ss = ick_logdev_sectorsize(ld);
	if (t->judging && remember && t->ndis != ick_logdev_discards(ld)) {
		for (uint32_t k = 0; k < t->ngroups; k++)
			if (t->ok[k])
				memset(t->ok[k], 0, t->bpg);
		t->ndis = ick_logdev_discards(ld);
	}
}

int ick_stale_log_judge(struct ick_stale_log *t, const struct ick_logdev *ld,
			const struct ick_overlay *journal, blk64_t pblk, int remember, uint64_t *since)
{
	uint64_t g, i, first, last, w;
	uint32_t v;

	if (!t || !t->judging || pblk < t->first || pblk >= t->blocks)
		return 0;
	g = (pblk - t->first) / t->bpg;
	i = (pblk - t->first) % t->bpg;
	if (!t->thr[g] || (v = t->thr[g][i]) == UNKNOWN)
		return 0;
	if (journal && ick_overlay_get(journal, pblk))
		return 0;
	if (remember && t->ok[g][i])
		return 0;
	first = pblk * t->bs / t->ss;
	last = ((pblk + 1) * t->bs - 1) / t->ss;
	w = ick_logdev_written_at(ld, first, last - first + 1);
	if (v == FIRST ? w != 0 : w > t->pt[v].off) {
		if (remember)
			t->ok[g][i] = 1;
		return 0;
	}
	v = v == FIRST ? 0 : v;
	*since = v == 0 && t->based ? ICK_STALE_SINCE_BASE : t->pt[v].entry;
	return 1;
}
