/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * check_stale.c - the stale check: blocks a written extent maps whose data never reached
 * the disk.  Inside i_size that stale data is readable now (STALE_EXPOSED); past i_size the
 * next extending write, a truncate up or e2fsck's own i_size repair exposes it
 * (STALE_PAST_EOF).  Both are errors.
 *
 * Two kinds of evidence, each only when given (ick_check_opts):
 * - content: CI filled free space with a poison pattern before the workload; a block
 *   whose every byte equals the pattern repeated from the block's start (the phase
 *   restarts at each block, since free space is poisoned block by block) still holds it.
 *   Partial matches are not judged.
 * - a log (stale_judge, from a dm-log-writes sweep): the device has had no write to the
 *   block since it was allocated (stale_log.h says how that is known).
 * Unwritten extents are not judged (reads return zeros), nor internal files nobody reads
 * through read(2).  Reads data blocks (content evidence); never writes.
 * Incrementally (incr.h): log evidence is judged again only for the inodes a point walks
 * again (a block owned at both points changes its verdict only with its bitmap bit, which
 * sends the point to the full checks); content evidence cannot be kept (any data block
 * written may now hold the pattern), so with a pattern every point is checked in full.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"

/* One read covers at most this many bytes (and ICK_STALE_CHUNK_MAX blocks), so memory does
 * not follow the extent length. */
#define ICK_STALE_READ_BYTES (1u << 20)
#define ICK_STALE_CHUNK_MAX 256

struct stale {
	struct ick_ctx *ctx;
	unsigned char *want;   /* one block of the pattern, phase 0 at the block's start */
	unsigned char *buf;    /* one chunk of read data */
	size_t chunk;          /* blocks per read */
	char hex[2 * ICK_POISON_MAX + 1];
	/* Each physical block is read once: seen marks blocks judged, poisoned the stale ones,
	 * so a block claimed by many inodes (a hostile image) costs one read, not one each. */
	ext2fs_block_bitmap seen, poisoned;
	/* This inode: judged at all, its size, and the pending run, carried across claims so a
	 * run over adjacent extents (or a block-mapped file: one claim per block) is one finding
	 * and a run crossing i_size is split there. */
	int judge;
	ext2_ino_t ino;
	uint64_t size;
	uint64_t run_lblk, run_pblk, run_len;
	int run_past;
	int run_why;           /* STALE_POISON or STALE_LOG */
	uint64_t run_since;    /* STALE_LOG: the first block's threshold entry */
};

enum { STALE_NO, STALE_POISON, STALE_LOG };

errcode_t ick_poison_parse(const char *hex, unsigned char *buf, size_t cap, size_t *len)
{
	size_t n;

	*len = 0;
	if (!hex)
		return EINVAL;
	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	n = strlen(hex);
	if (!n || (n & 1) || n / 2 > ICK_POISON_MAX || n / 2 > cap)
		return EINVAL;
	for (size_t i = 0; i < n; i += 2) {
		int v = 0;
		for (size_t k = i; k < i + 2; k++) {
			char c = hex[k];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
				c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			if (d < 0) {
				*len = 0;
				return EINVAL;
			}
			v = v * 16 + d;
		}
		buf[i / 2] = (unsigned char)v;
	}
	*len = n / 2;
	return 0;
}

/* Files whose content no read(2) returns: reserved inodes (the journal, which lazy journal
 * init leaves holding whatever the device held, the resize inode, old quota inodes) and
 * the internal files the superblock names. */
static int internal_file(ext2_filsys fs, ext2_ino_t ino)
{
	const struct ext2_super_block *s = fs->super;

	return ino < EXT2_FIRST_INO(s) || ino == s->s_journal_inum ||
	       ino == s->s_usr_quota_inum || ino == s->s_grp_quota_inum ||
	       ino == s->s_prj_quota_inum || ino == s->s_orphan_file_inum;
}

int ick_stale_judges(ext2_filsys fs, ext2_ino_t ino, const struct ext2_inode_large *in)
{
	return LINUX_S_ISREG(in->i_mode) && !internal_file(fs, ino);
}

static errcode_t flush(struct stale *st)
{
	struct ick_finding f;

	if (!st->run_len)
		return 0;
	f = ick_finding_blank(st->run_past ? ICK_PR_STALE_PAST_EOF : ICK_PR_STALE_EXPOSED, st->ino);
	f.lblk = st->run_lblk;
	f.pblk = st->run_pblk;
	f.len = st->run_len;
	f.found = st->size;
	st->run_len = 0;
	if (st->run_why == STALE_LOG && st->run_since == ICK_STALE_SINCE_BASE)
		return ick_report_add(st->ctx->rep, &f,
				      "i_size is %llu; no write reached these blocks since their "
				      "allocation (the log holds no write to them since the base "
				      "image, which held them free or as an earlier file's data)",
				      (unsigned long long)st->size);
	if (st->run_why == STALE_LOG)
		return ick_report_add(st->ctx->rep, &f,
				      "i_size is %llu; no write reached these blocks since their "
				      "allocation (the log's last write to them is at or before "
				      "entry %llu, when they held an earlier file's data or none)",
				      (unsigned long long)st->size, (unsigned long long)st->run_since);
	return ick_report_add(st->ctx->rep, &f, "i_size is %llu; poison 0x%s",
			      (unsigned long long)st->size, st->hex);
}

/* One block of the file: stale (and by which evidence) or not. */
static errcode_t block(struct stale *st, uint64_t lblk, blk64_t pblk, int why, uint64_t since)
{
	int past = lblk * st->ctx->fs->blocksize >= st->size;
	errcode_t err;

	if (st->run_len && (why != st->run_why || past != st->run_past ||
			    st->run_lblk + st->run_len != lblk || st->run_pblk + st->run_len != pblk) &&
	    (err = flush(st)))
		return err;
	if (!why)
		return 0;
	if (!st->run_len) {
		st->run_lblk = lblk;
		st->run_pblk = pblk;
		st->run_past = past;
		st->run_why = why;
		st->run_since = since;
	}
	st->run_len++;
	return 0;
}

/* Log evidence for one block (content evidence, when also given, was found absent). */
static errcode_t log_block(struct stale *st, uint64_t lblk, blk64_t pblk)
{
	const struct ick_check_opts *o = st->ctx->opts;
	uint64_t since = 0;
	int why = o->stale_judge && o->stale_judge(o->stale_priv, pblk, &since) ? STALE_LOG
									      : STALE_NO;
	return block(st, lblk, pblk, why, since);
}

/* Read and judge up to one chunk of blocks no earlier claim has judged, from @pblk on;
 * returns how many in *done. */
static errcode_t judge_unseen(struct stale *st, uint64_t lblk, blk64_t pblk, uint64_t left,
			      uint64_t *done)
{
	ext2_filsys fs = st->ctx->fs;
	uint64_t n = left < st->chunk ? left : st->chunk;
	blk64_t next_seen;
	errcode_t err;

	if (!ext2fs_find_first_set_block_bitmap2(st->seen, pblk, pblk + n - 1, &next_seen))
		n = next_seen - pblk; /* >= 1: pblk itself is unseen */
	if ((err = io_channel_read_blk64(fs->io, pblk, (int)n, st->buf)))
		return err;
	ext2fs_mark_block_bitmap_range2(st->seen, pblk, (unsigned)n);
	for (uint64_t i = 0; i < n; i++) {
		int p = !memcmp(st->buf + i * fs->blocksize, st->want, fs->blocksize);
		if (p)
			ext2fs_mark_block_bitmap2(st->poisoned, pblk + i);
		err = p ? block(st, lblk + i, pblk + i, STALE_POISON, 0)
			: log_block(st, lblk + i, pblk + i);
		if (err)
			return err;
	}
	*done = n;
	return 0;
}

static errcode_t st_claim(void *p, const struct ick_claim *c, struct ick_inode_ctx *ic)
{
	struct stale *st = p;
	errcode_t err;

	if (!st || !ic || !st->judge || c->kind != ICK_CLAIM_DATA || c->bad != ICK_BAD_NONE ||
	    c->unwritten)
		return 0;
	for (uint64_t off = 0; off < c->len;) {
		uint64_t done = 1;
		blk64_t b = c->pblk + off;
		if (!st->want)
			err = log_block(st, c->lblk + off, b);
		else if (ext2fs_test_block_bitmap2(st->poisoned, b))
			err = block(st, c->lblk + off, b, STALE_POISON, 0);
		else if (ext2fs_test_block_bitmap2(st->seen, b))
			err = log_block(st, c->lblk + off, b);
		else
			err = judge_unseen(st, c->lblk + off, b, c->len - off, &done);
		if (err)
			return err;
		off += done;
	}
	return 0;
}

static errcode_t st_begin(void *p, struct ick_inode_ctx *ic)
{
	struct stale *st = p;

	if (!st)
		return 0;
	st->ino = ic->ino;
	st->size = EXT2_I_SIZE(ic->inode);
	st->run_len = 0;
	st->judge = ick_stale_judges(st->ctx->fs, ic->ino, ic->inode);
	return 0;
}

static errcode_t st_end(void *p, struct ick_inode_ctx *ic)
{
	return p ? flush(p) : 0;
}

static void st_cleanup(void *p)
{
	struct stale *st = p;

	if (!st)
		return;
	if (st->seen)
		ext2fs_free_block_bitmap(st->seen);
	if (st->poisoned)
		ext2fs_free_block_bitmap(st->poisoned);
	free(st->want);
	free(st->buf);
	free(st);
}

static errcode_t st_setup(struct ick_ctx *ctx, void **state)
{
	const struct ick_check_opts *o = ctx->opts;
	unsigned bs = ctx->fs->blocksize;
	struct stale *st;
	errcode_t err;

	*state = NULL;
	if (!o || (!o->poison && !o->stale_judge)) /* no evidence: the check is off */
		return 0;
	if (o->poison && (!o->poison_len || o->poison_len > ICK_POISON_MAX))
		return EINVAL;
	if (!(st = calloc(1, sizeof(*st))))
		return ENOMEM;
	*state = st; /* cleanup frees it even if the rest fails */
	st->ctx = ctx;
	if (!o->poison)
		return 0;
	st->chunk = ICK_STALE_READ_BYTES / bs;
	if (st->chunk > ICK_STALE_CHUNK_MAX)
		st->chunk = ICK_STALE_CHUNK_MAX;
	if (!st->chunk)
		st->chunk = 1;
	if (!(st->want = malloc(bs)) || !(st->buf = malloc(st->chunk * bs)))
		return ENOMEM;
	for (unsigned i = 0; i < bs; i++)
		st->want[i] = o->poison[i % o->poison_len];
	for (size_t i = 0; i < o->poison_len; i++) {
		static const char digits[] = "0123456789abcdef";
		st->hex[2 * i] = digits[o->poison[i] >> 4];
		st->hex[2 * i + 1] = digits[o->poison[i] & 15];
	}
	/* per block, also under bigalloc: a cluster's blocks are judged one by one (a written
	 * extent's block that still holds the poison is stale whatever its cluster holds) */
	if ((err = ext2fs_allocate_subcluster_bitmap(ctx->fs, "stale: judged", &st->seen)))
		return err;
	return ext2fs_allocate_subcluster_bitmap(ctx->fs, "stale: poisoned", &st->poisoned);
}

const struct ick_check_def ick_check_stale = {
	.name = "stale",
	.id = ICK_CHECK_STALE,
	.setup = st_setup,
	.ops = { .claim = st_claim, .begin_inode = st_begin, .end_inode = st_end },
	.cleanup = st_cleanup,
};
