/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * memo_map.c - the block maps a crash sweep keeps from one point to the next (see
 * memo_map.h); the memo's checksum verdicts are memo_verdict.c's.
 *
 * Written by hand: libext2fs keeps nothing between two opens of a file system, and no
 * installed library keeps results keyed by block contents.
 *
 * Two tables (u64map.h): inode -> kept map (a slot of an array; one allocation holding the
 * claims, the blocks the walk read, their bytes and the key), and watched block -> the
 * walk before which it was last reported changed.  Only
 * blocks some kept map read are watched: a change to any other block cannot make a kept
 * map wrong.  A map kept at walk j holds at walk k when each block it read was last
 * reported changed before walk j, or reads the bytes it read then.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "memo_map.h"
#include "overlay.h"
#include "u64map.h"

struct kept {
	ext2_ino_t ino;
	uint64_t epoch;        /* the walk it was kept at */
	size_t klen, nread;
	const blk64_t *read;
	const unsigned char *data;   /* the blocks read, as they read then */
	const unsigned char *key;    /* what the walk read of the inode */
	struct ick_walk_map map;
	size_t bytes;
	uint64_t reused;       /* times handed over again */
};

struct geo {
	unsigned blocksize, inode_size;
	blk64_t blocks, first_data;
	uint32_t compat, incompat, ro_compat, csum_seed, creator_os;
	int flags;
};

struct ick_memo {
	struct ick_u64map kat;     /* inode -> slot of kept */
	struct kept **kept;
	size_t knr, kcap;
	struct ick_u64map w;       /* watched block -> epoch */
	uint64_t epoch;            /* the walk under way, or the next one */
	size_t bytes;
	struct geo geo;
	int have_geo;
	/* the inode being kept */
	int rec, rec_failed;
	ext2_ino_t rec_ino;
	struct ick_claim *rc;
	size_t rc_nr, rc_cap;
	blk64_t *rb;
	size_t rb_nr, rb_cap;
	uint64_t reused, walked;
	const struct ick_overlay *ov; /* blocks read from elsewhere than the device */
	ext2_filsys fs;            /* the walk under way */
	unsigned char *cur;        /* one block */
	size_t curlen;
	struct ick_memo_verdicts *verdicts;
};

errcode_t ick_memo_new(struct ick_memo **out)
{
	struct ick_memo *m = calloc(1, sizeof(*m));

	if (m && !(m->verdicts = ick_memo_verdicts_new())) {
		free(m);
		m = NULL;
	}
	*out = m;
	if (!m)
		return ENOMEM;
	m->epoch = 1;
	return 0;
}

void ick_memo_forget(struct ick_memo *m)
{
	for (size_t i = 0; i < m->knr; i++)
		free(m->kept[i]);
	free(m->kept);
	m->kept = NULL;
	m->kcap = m->knr = 0;
	ick_u64map_free(&m->kat);
	ick_u64map_free(&m->w);
	m->bytes = 0;
}

void ick_memo_free(struct ick_memo *m)
{
	if (!m)
		return;
	ick_memo_forget(m);
	ick_memo_verdicts_free(m->verdicts);
	free(m->rc);
	free(m->rb);
	free(m->cur);
	free(m);
}

void ick_memo_stats(const struct ick_memo *m, uint64_t *reused, uint64_t *walked)
{
	*reused = m ? m->reused : 0;
	*walked = m ? m->walked : 0;
}

/* ---- watched blocks ---- */

/* Watch @blk from now on (as unchanged since before this walk, whose read it is). */
static errcode_t watch(struct ick_memo *m, blk64_t blk)
{
	if (ick_u64map_ref(&m->w, blk))
		return 0;
	return ick_u64map_put(&m->w, blk, 0);
}

errcode_t ick_memo_changed(struct ick_memo *m, blk64_t blk, uint64_t n)
{
	const struct ick_u64map *w = &m->w;

	if (!w->nr || !n)
		return 0;
	if (blk + n < blk)
		n = UINT64_MAX - blk;
	if (n >= w->nr) { /* a long range: look at the watched blocks instead */
		for (size_t i = 0; i < w->cap; i++)
			if (w->k[i] != ICK_U64MAP_EMPTY && w->k[i] >= blk && w->k[i] - blk < n)
				w->v[i] = m->epoch;
		return 0;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t *e = ick_u64map_ref(w, blk + i);
		if (e)
			*e = m->epoch;
	}
	return 0;
}

/* ---- kept maps ---- */

/* The map kept for @ino, or NULL. */
static struct kept *kept_of(const struct ick_memo *m, ext2_ino_t ino)
{
	int found;
	uint64_t i = ick_u64map_get(&m->kat, ino, &found);

	return found ? m->kept[i] : NULL;
}

/* @k kept for its inode, in place of the one kept before; 0 or ENOMEM (@k not taken). */
static errcode_t kept_put(struct ick_memo *m, struct kept *k)
{
	int found;
	uint64_t i = ick_u64map_get(&m->kat, k->ino, &found);

	if (found) {
		m->bytes -= m->kept[i]->bytes;
		free(m->kept[i]);
		m->kept[i] = k;
		return 0;
	}
	if (m->knr == m->kcap) {
		struct kept **n = ick_array_grow(m->kept, &m->kcap, sizeof(*n), 64);
		if (!n)
			return ENOMEM;
		m->kept = n;
	}
	if (ick_u64map_put(&m->kat, k->ino, m->knr))
		return ENOMEM;
	m->kept[m->knr++] = k;
	return 0;
}

static void geo_of(ext2_filsys fs, struct geo *g)
{
	memset(g, 0, sizeof(*g));
	g->blocksize = fs->blocksize;
	g->inode_size = EXT2_INODE_SIZE(fs->super);
	g->blocks = ext2fs_blocks_count(fs->super);
	g->first_data = fs->super->s_first_data_block;
	/* a journal needing recovery or an orphan list changes no map */
	g->compat = fs->super->s_feature_compat;
	g->incompat = fs->super->s_feature_incompat & ~EXT3_FEATURE_INCOMPAT_RECOVER;
	g->ro_compat = fs->super->s_feature_ro_compat & ~EXT4_FEATURE_RO_COMPAT_ORPHAN_PRESENT;
	g->csum_seed = fs->csum_seed;
	g->creator_os = fs->super->s_creator_os;
	g->flags = fs->flags;
}

static void ick_memo_walk_start(struct ick_memo *m, ext2_filsys fs)
{
	struct geo g;

	geo_of(fs, &g);
	if (m->have_geo && memcmp(&g, &m->geo, sizeof(g)))
		ick_memo_forget(m);
	m->geo = g;
	m->have_geo = 1;
	m->rec = 0;
	m->fs = fs;
	if (m->curlen != fs->blocksize) {
		free(m->cur);
		m->cur = malloc(fs->blocksize);
		m->curlen = m->cur ? fs->blocksize : 0;
	}
}

static void ick_memo_walk_end(struct ick_memo *m)
{
	m->rec = 0;
	m->fs = NULL;
	m->epoch++;
}

static const struct ick_walk_map *ick_memo_map_find(struct ick_memo *m, ext2_ino_t ino,
					     const void *key, size_t len)
{
	struct kept *k;

	if (!(k = kept_of(m, ino)) || k->klen != len || memcmp(k->key, key, len))
		return NULL;
	for (size_t i = 0; i < k->nread; i++) {
		if (m->ov && ick_overlay_get(m->ov, k->read[i]))
			return NULL;
		/* written since, maybe with the same bytes (a journal commit rewrites every
		 * block a transaction touched): compare */
		if (ick_u64map_get(&m->w, k->read[i], NULL) > k->epoch &&
		    (!m->cur || io_channel_read_blk64(m->fs->io, k->read[i], 1, m->cur) ||
		     memcmp(m->cur, k->data + i * m->curlen, m->curlen)))
			return NULL;
	}
	k->epoch = m->epoch; /* every block it read reads the same now */
	k->reused++;
	m->reused++;
	return &k->map;
}

static void ick_memo_map_begin(struct ick_memo *m, ext2_ino_t ino)
{
	const struct kept *k = kept_of(m, ino);

	m->walked++;
	/* a map kept at the last walk and already changed (a file written at every point):
	 * keeping it again costs more than it saves; keep it at every other walk */
	m->rec = !k || k->reused || k->epoch + 1 != m->epoch;
	m->rec_failed = 0;
	m->rec_ino = ino;
	m->rc_nr = m->rb_nr = 0;
}

static void ick_memo_map_claim(struct ick_memo *m, const struct ick_claim *c)
{
	if (!m->rec || m->rec_failed)
		return;
	/* a node that could not be read may read at the next state: not kept */
	if (c->err || (m->rc_nr + 1) * sizeof(*c) > ICK_MEMO_BUDGET / 4) {
		m->rec_failed = 1;
		return;
	}
	if (m->rc_nr == m->rc_cap) {
		struct ick_claim *n = ick_array_grow(m->rc, &m->rc_cap, sizeof(*n), 64);
		if (!n) {
			m->rec_failed = 1;
			return;
		}
		m->rc = n;
	}
	m->rc[m->rc_nr++] = *c;
}

void ick_memo_view(struct ick_memo *m, const struct ick_overlay *ov)
{
	m->ov = ov;
}

static void ick_memo_map_read(struct ick_memo *m, blk64_t blk)
{
	if (!m->rec || m->rec_failed)
		return;
	if (m->ov && ick_overlay_get(m->ov, blk)) { /* not the device's: not kept */
		m->rec_failed = 1;
		return;
	}
	if ((m->rb_nr + 1) * sizeof(blk) > ICK_MEMO_BUDGET / 4) {
		m->rec_failed = 1;
		return;
	}
	if (m->rb_nr == m->rb_cap) {
		blk64_t *n = ick_array_grow(m->rb, &m->rb_cap, sizeof(*n), 16);
		if (!n) {
			m->rec_failed = 1;
			return;
		}
		m->rb = n;
	}
	m->rb[m->rb_nr++] = blk;
}

static void ick_memo_map_abandon(struct ick_memo *m)
{
	m->rec = 0;
}

/* One allocation: the record, then the claims, the blocks read, their bytes and the key. */
static struct kept *kept_make(struct ick_memo *m, const void *key, size_t len,
			      const struct ick_walk_map *sum)
{
	size_t cb, rb, db, bytes;
	struct kept *k;
	unsigned char *p;

	/* each part bounded first, so that the sum cannot wrap (32-bit size_t) */
	if (!m->cur || m->rc_nr > ICK_MEMO_BUDGET / 4 / sizeof(*m->rc) ||
	    m->rb_nr > ICK_MEMO_BUDGET / 4 / (m->curlen + sizeof(*m->rb)) ||
	    len > ICK_MEMO_BUDGET / 4)
		return NULL;
	cb = m->rc_nr * sizeof(*m->rc);
	rb = m->rb_nr * sizeof(*m->rb);
	db = m->rb_nr * m->curlen;
	bytes = sizeof(struct kept) + cb + rb + db + len;
	if (bytes > ICK_MEMO_BUDGET / 4 || !(k = malloc(bytes)))
		return NULL;
	p = (unsigned char *)(k + 1);
	if (cb)
		memcpy(p, m->rc, cb);
	k->map = *sum;
	k->map.claims = (const struct ick_claim *)p;
	k->map.nclaims = m->rc_nr;
	if (rb)
		memcpy(p + cb, m->rb, rb);
	k->read = (const blk64_t *)(p + cb);
	k->nread = m->rb_nr;
	k->map.read = k->read;
	k->map.nread = k->nread;
	for (size_t i = 0; i < m->rb_nr; i++)
		if (io_channel_read_blk64(m->fs->io, m->rb[i], 1, p + cb + rb + i * m->curlen)) {
			free(k); /* what cannot be read again cannot be compared later */
			return NULL;
		}
	k->data = p + cb + rb;
	memcpy(p + cb + rb + db, key, len);
	k->key = p + cb + rb + db;
	k->klen = len;
	k->ino = m->rec_ino;
	k->epoch = m->epoch;
	k->bytes = bytes;
	k->reused = 0;
	return k;
}

/* Bytes the tables take. */
static size_t tables(const struct ick_memo *m)
{
	return ick_u64map_bytes(&m->w) + ick_u64map_bytes(&m->kat) + m->kcap * sizeof(*m->kept);
}

static void ick_memo_map_keep(struct ick_memo *m, const void *key, size_t len,
		       const struct ick_walk_map *sum)
{
	struct kept *k;

	if (!m->rec || m->rec_failed) {
		m->rec = 0;
		return;
	}
	m->rec = 0;
	if (!(k = kept_make(m, key, len, sum)))
		return;
	/* with room for the blocks it makes watched */
	if (m->bytes + tables(m) + k->bytes + (m->rb_nr + 1) * 32 > ICK_MEMO_BUDGET)
		ick_memo_forget(m);
	for (size_t i = 0; i < k->nread; i++)
		if (watch(m, k->read[i]))
			goto drop;
	if (kept_put(m, k))
		goto drop;
	m->bytes += k->bytes;
	return;
drop:
	free(k); /* out of memory: the inode is simply walked again next time */
}

int ick_memo_verdict(struct ick_memo *m, enum ick_memo_kind kind, uint64_t index, uint64_t k1,
		     uint64_t k2, const void *bytes, size_t n, int (*compute)(void *arg), void *arg)
{
	return ick_memo_verdicts_get(m ? m->verdicts : NULL, kind, index, k1, k2, bytes, n,
				     compute, arg);
}

/* ---- the walk's map cache ---- */

static void c_start(void *p, ext2_filsys fs) { ick_memo_walk_start(p, fs); }
static void c_end(void *p) { ick_memo_walk_end(p); }
static const struct ick_walk_map *c_find(void *p, ext2_ino_t ino, const void *key, size_t len)
{
	return ick_memo_map_find(p, ino, key, len);
}
static void c_begin(void *p, ext2_ino_t ino) { ick_memo_map_begin(p, ino); }
static void c_claim(void *p, const struct ick_claim *c) { ick_memo_map_claim(p, c); }
static void c_read(void *p, blk64_t blk) { ick_memo_map_read(p, blk); }
static void c_keep(void *p, const void *key, size_t len, const struct ick_walk_map *sum)
{
	ick_memo_map_keep(p, key, len, sum);
}
static void c_abandon(void *p) { ick_memo_map_abandon(p); }

void ick_memo_map_cache(struct ick_memo *m, struct ick_map_cache *out)
{
	*out = (struct ick_map_cache){ .priv = m, .walk_start = c_start, .walk_end = c_end,
				       .find = c_find, .begin = c_begin, .claim = c_claim,
				       .read = c_read, .keep = c_keep, .abandon = c_abandon };
}

errcode_t ick_walk_incremental(ext2_filsys fs, const struct ick_walk_ops *ops, void *priv,
			       struct ick_memo *memo)
{
	struct ick_map_cache c;

	if (!memo)
		return ick_walk_cached(fs, ops, priv, NULL);
	ick_memo_map_cache(memo, &c);
	return ick_walk_cached(fs, ops, priv, &c);
}
