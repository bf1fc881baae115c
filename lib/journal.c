/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * journal.c - jbd2 recovery into an overlay (contract in journal.h).
 *
 * Written by hand: the installed libext2fs exports no journal recovery (e2fsprogs keeps
 * it inside e2fsck and debugfs), so the on-disk format and the recovery rules are
 * implemented here from Linux fs/jbd2/recovery.c and e2fsprogs e2fsck/recovery.c and
 * journal.c (read for facts; no code copied).  All journal fields are big-endian.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ick_err.h"
#include "journal.h"
#include "memo_verdict.h"
#include "fast_commit.h"
#include "u64map.h"

#define JMAGIC 0xC03B3998u
enum { JT_DESCRIPTOR = 1, JT_COMMIT = 2, JT_SB_V1 = 3, JT_SB_V2 = 4, JT_REVOKE = 5 };

/* superblock offsets */
#define JSB_BLOCKSIZE 0x0C
#define JSB_MAXLEN 0x10
#define JSB_FIRST 0x14
#define JSB_SEQUENCE 0x18
#define JSB_START 0x1C
#define JSB_COMPAT 0x24
#define JSB_INCOMPAT 0x28
#define JSB_ROCOMPAT 0x2C
#define JSB_UUID 0x30
#define JSB_NR_USERS 0x40
#define JSB_CSUM_TYPE 0x50
#define JSB_NUM_FC 0x54
#define JSB_CHECKSUM 0xFC
#define JSB_SIZE 1024

#define COMPAT_CHECKSUM 0x1
#define INC_REVOKE 0x1
#define INC_64BIT 0x2
#define INC_ASYNC 0x4
#define INC_CSUM2 0x8
#define INC_CSUM3 0x10
#define INC_FAST_COMMIT 0x20
#define INC_KNOWN 0x3f

#define CRC32_CHKSUM 1
#define CRC32C_CHKSUM 4
#define FC_DEFAULT_BLOCKS 256
#define MIN_JOURNAL_BLOCKS 1024

#define FLAG_ESCAPE 1
#define FLAG_SAME_UUID 2
#define FLAG_LAST_TAG 8

#define HDR 12 /* journal_header_t */
#define TAIL 4 /* jbd2_journal_block_tail */
#define COMMIT_CSUM_TYPE 12
#define COMMIT_CSUM_SIZE 13
#define COMMIT_CSUM 16
#define COMMIT_SEC 48
#define REVOKE_HDR 16

/* file-system superblock fields e2fsck changes after a replay */
#define SB_OFFSET 1024
#define SB_STATE 0x3A
#define SB_INCOMPAT 0x60
#define SB_ROCOMPAT 0x64
#define SB_CHECKSUM 0x3FC
#define SB_INCOMPAT_RECOVER 0x4
#define SB_ROCOMPAT_METADATA_CSUM 0x400
#define SB_STATE_ERROR 0x2

enum pass { PASS_SCAN, PASS_REVOKE, PASS_REPLAY };

struct jnl {
	ext2_filsys fs;
	struct ick_overlay *ov;
	struct ick_journal_stats *st;
	/* where the journal is */
	ext2_ino_t ino;
	struct ext2_inode inode;
	int backup;          /* inode built from s_jnl_blocks (e2fsck's try_backup_journal) */
	io_channel ext;      /* external device, or NULL: journal block N is device block N */
	uint32_t sb_lblk;    /* journal block holding the journal superblock */
	/* geometry and features */
	unsigned bs;
	uint32_t first, last, total;
	int v2;
	uint32_t compat, incompat;
	uint32_t seed; /* crc32c of the uuid (csum v2/v3) */
	unsigned tag_bytes;
	unsigned char sb[JSB_SIZE];
	uint64_t sb_pblk;    /* where the journal superblock lies (internal journal) */
	/* recovery state */
	uint32_t end_transaction;
	int have_end;
	struct ick_u64map rv; /* revoked block -> the latest sequence revoking it */
	int rv_top;           /* block UINT64_MAX (no key of rv) revoked, by rv_top_seq */
	uint32_t rv_top_seq;
	unsigned char *buf, *data;
	struct ick_memo *memo; /* checksum verdicts kept from earlier recoveries, or NULL */
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* tid_gt of jbd2: sequence numbers compare modulo 2^32 */
static int tid_gt(uint32_t x, uint32_t y)
{
	return (int32_t)(x - y) > 0;
}

static int tid_geq(uint32_t x, uint32_t y)
{
	return (int32_t)(x - y) >= 0;
}

static errcode_t ICK_PRINTF(2, 3) corrupt(struct jnl *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->st->why, sizeof(j->st->why), fmt, ap);
	va_end(ap);
	return ICK_ET_JOURNAL_CORRUPT;
}

static int csum_v23(const struct jnl *j)
{
	return j->v2 && (j->incompat & (INC_CSUM2 | INC_CSUM3));
}

static int has_inc(const struct jnl *j, uint32_t f)
{
	return j->v2 && (j->incompat & f);
}

/* ---- reading journal blocks ---- */

/* Physical block of journal block @lblk, checked to be inside the file system. */
static errcode_t jmap(struct jnl *j, uint32_t lblk, uint64_t *pblk)
{
	blk64_t p = 0;
	errcode_t err;

	if (lblk >= j->total)
		return corrupt(j, "journal block %u is past the journal's end (%u blocks)", lblk,
			       j->total);
	if (j->ext) {
		*pblk = lblk;
		return 0;
	}
	err = ext2fs_bmap2(j->fs, j->ino, &j->inode, NULL, 0, lblk, NULL, &p);
	if (err)
		return corrupt(j, "cannot map journal block %u: %s", lblk, error_message(err));
	if (p == 0 || p < j->fs->super->s_first_data_block ||
	    p >= ext2fs_blocks_count(j->fs->super))
		return corrupt(j, "journal block %u maps to block %llu, outside the file system",
			       lblk, (unsigned long long)p);
	*pblk = p;
	return 0;
}

static errcode_t jread(struct jnl *j, uint32_t lblk, unsigned char *buf)
{
	uint64_t p;
	errcode_t err;

	if ((err = jmap(j, lblk, &p)))
		return err;
	err = io_channel_read_blk64(j->ext ? j->ext : j->fs->io, p, 1, buf);
	if (err)
		return corrupt(j, "cannot read journal block %u: %s", lblk, error_message(err));
	return 0;
}

static uint32_t wrap(const struct jnl *j, uint32_t b)
{
	return b >= j->last ? b - (j->last - j->first) : b;
}

/* ---- checksums ---- */

/*
 * A crash sweep recovers the same transactions at point after point: each verdict is kept
 * (memo.h) with the block's bytes and the seed, under @slot (where the block lies: a key
 * for the memo's table only, the bytes decide).
 */
struct blk_arg { const struct jnl *j; const unsigned char *blk; };

static int descr_compute(void *p)
{
	const struct blk_arg *a = p;
	unsigned char zero[TAIL] = { 0 };
	uint32_t c;

	c = ext2fs_crc32c_le(a->j->seed, a->blk, a->j->bs - TAIL);
	c = ext2fs_crc32c_le(c, zero, TAIL);
	return c == be32(a->blk + a->j->bs - TAIL);
}

static int commit_compute(void *p)
{
	const struct blk_arg *a = p;
	unsigned char zero[4] = { 0 };
	uint32_t c;

	c = ext2fs_crc32c_le(a->j->seed, a->blk, COMMIT_CSUM);
	c = ext2fs_crc32c_le(c, zero, 4);
	c = ext2fs_crc32c_le(c, a->blk + COMMIT_CSUM + 4, a->j->bs - COMMIT_CSUM - 4);
	return c == be32(a->blk + COMMIT_CSUM);
}

static int descr_csum_ok(const struct jnl *j, const unsigned char *blk, uint32_t slot)
{
	struct blk_arg a = { j, blk };

	return !csum_v23(j) ||
	       ick_memo_verdict(j->memo, ICK_MEMO_JOURNAL_DESCR, slot, j->seed, 0, blk, j->bs,
				descr_compute, &a);
}

static int commit_csum_ok(const struct jnl *j, const unsigned char *blk, uint32_t slot)
{
	struct blk_arg a = { j, blk };

	return !csum_v23(j) ||
	       ick_memo_verdict(j->memo, ICK_MEMO_JOURNAL_COMMIT, slot, j->seed, 0, blk, j->bs,
				commit_compute, &a);
}

struct tag_arg { const struct jnl *j; const unsigned char *tag, *data; uint32_t seq; };

static int tag_csum_compute(void *p)
{
	const struct tag_arg *a = p;
	unsigned char s[4];
	uint32_t c;

	put_be32(s, a->seq);
	c = ext2fs_crc32c_le(a->j->seed, s, 4);
	c = ext2fs_crc32c_le(c, a->data, a->j->bs);
	if (has_inc(a->j, INC_CSUM3))
		return c == be32(a->tag + 12);
	return (c & 0xffff) == be16(a->tag + 4);
}

/* A crash sweep recovers the same transactions at point after point: the verdict on a
 * data block is kept with its bytes, the sequence, the seed and the stored checksum. */
static int tag_csum_ok(const struct jnl *j, const unsigned char *tag, const unsigned char *data,
		       uint32_t seq, uint32_t io_block)
{
	struct tag_arg a = { j, tag, data, seq };
	uint64_t stored;

	if (!csum_v23(j))
		return 1;
	/* v3 tags are 16 bytes, v2 tags hold 16 bits at offset 4 */
	stored = has_inc(j, INC_CSUM3) ? be32(tag + 12) | 1ull << 32 : be16(tag + 4);
	return ick_memo_verdict(j->memo, ICK_MEMO_JOURNAL_TAG, io_block,
				(uint64_t)j->seed | (uint64_t)seq << 32, stored, data, j->bs,
				tag_csum_compute, &a);
}

/* ---- tags ---- */

/* Tag bytes as jbd2's journal_tag_bytes(): v3 16; else 12, +2 with csum v2, -4 without 64bit. */
static unsigned tag_bytes(const struct jnl *j)
{
	unsigned sz = 12;

	if (has_inc(j, INC_CSUM3))
		return 16;
	if (has_inc(j, INC_CSUM2))
		sz += 2;
	return has_inc(j, INC_64BIT) ? sz : sz - 4;
}

/* Flags of a tag: 16 bits at offset 6 in every layout (v3's 32-bit field holds them low). */
static unsigned tag_flags(const unsigned char *tag)
{
	return be16(tag + 6);
}

static uint64_t tag_block(const struct jnl *j, const unsigned char *tag)
{
	uint64_t b = be32(tag);

	if (has_inc(j, INC_64BIT))
		b |= (uint64_t)be32(tag + 8) << 32;
	return b;
}

/* Where the tag area of a descriptor ends (the v2/v3 tail excluded). */
static unsigned tag_limit(const struct jnl *j)
{
	return csum_v23(j) ? j->bs - TAIL : j->bs;
}

/* Number of tags (= data blocks that follow), counted the way jbd2 counts them. */
static unsigned count_tags(const struct jnl *j, const unsigned char *blk)
{
	unsigned off = HDR, nr = 0, limit = tag_limit(j);

	while (off + j->tag_bytes <= limit) {
		unsigned fl = tag_flags(blk + off);
		nr++;
		off += j->tag_bytes + ((fl & FLAG_SAME_UUID) ? 0 : 16);
		if (fl & FLAG_LAST_TAG)
			break;
	}
	return nr;
}

/* ---- revoke table ---- */

/* Whether @blk is revoked, with the latest sequence revoking it in *@seq. */
static int rv_get(const struct jnl *j, uint64_t blk, uint32_t *seq)
{
	int found;

	if (blk == ICK_U64MAP_EMPTY) {
		*seq = j->rv_top_seq;
		return j->rv_top;
	}
	*seq = (uint32_t)ick_u64map_get(&j->rv, blk, &found);
	return found;
}

/* A revoke in transaction @seq: keep the latest sequence per block, as jbd2 does. */
static errcode_t rv_set(struct jnl *j, uint64_t blk, uint32_t seq)
{
	uint32_t old;

	if (rv_get(j, blk, &old) && !tid_gt(seq, old))
		return 0;
	if (blk != ICK_U64MAP_EMPTY)
		return ick_u64map_put(&j->rv, blk, seq) ? ENOMEM : 0;
	j->rv_top = 1;
	j->rv_top_seq = seq;
	return 0;
}

/* Revoked for transaction @seq: a revoke in that transaction or a later one covers it. */
static int rv_test(const struct jnl *j, uint64_t blk, uint32_t seq)
{
	uint32_t last;

	return rv_get(j, blk, &last) && !tid_gt(seq, last);
}

static errcode_t scan_revokes(struct jnl *j, const unsigned char *blk, uint32_t seq)
{
	uint32_t rcount = be32(blk + HDR);
	unsigned rec = has_inc(j, INC_64BIT) ? 8 : 4;
	errcode_t err;

	if (rcount > tag_limit(j))
		return corrupt(j, "revoke block of transaction %u counts %u bytes, more than the "
			       "block holds", seq, rcount);
	for (uint32_t off = REVOKE_HDR; off + rec <= rcount; off += rec) {
		uint64_t b = rec == 8 ? be64(blk + off) : be32(blk + off);
		if ((err = rv_set(j, b, seq)))
			return err;
		j->st->revokes++;
	}
	return 0;
}

/* ---- the passes ---- */

/* Replay the data blocks a descriptor names, starting at journal block *next. */
static errcode_t replay_descriptor(struct jnl *j, const unsigned char *desc, uint32_t seq,
				   uint32_t *next, int *block_error)
{
	unsigned off = HDR, limit = tag_limit(j);
	uint64_t nblocks = ext2fs_blocks_count(j->fs->super);
	errcode_t err;

	while (off + j->tag_bytes <= limit) {
		const unsigned char *tag = desc + off;
		unsigned fl = tag_flags(tag);
		uint32_t io_block = *next;
		uint64_t target = tag_block(j, tag);

		*next = wrap(j, *next + 1);
		if ((err = jread(j, io_block, j->data)))
			return err;
		if (rv_test(j, target, seq)) {
			j->st->revoke_hits++;
		} else if (!tag_csum_ok(j, tag, j->data, seq, io_block)) {
			*block_error = 1;
			snprintf(j->st->why, sizeof(j->st->why),
				 "data block for block %llu in transaction %u (journal block %u) "
				 "fails its checksum", (unsigned long long)target, seq, io_block);
		} else if (target >= nblocks) {
			return corrupt(j, "transaction %u writes block %llu, outside the file "
				       "system (%llu blocks)", seq, (unsigned long long)target,
				       (unsigned long long)nblocks);
		} else {
			if (fl & FLAG_ESCAPE)
				put_be32(j->data, JMAGIC);
			if ((err = ick_overlay_put(j->ov, target, j->data)))
				return err;
			j->st->replayed++;
		}
		off += j->tag_bytes + ((fl & FLAG_SAME_UUID) ? 0 : 16);
		if (fl & FLAG_LAST_TAG)
			break;
	}
	return 0;
}

/* v1 transaction checksum (COMPAT_CHECKSUM): crc32_be over the descriptor and its blocks. */
static errcode_t v1_checksum(struct jnl *j, const unsigned char *desc, uint32_t *next,
			     uint32_t *crc)
{
	unsigned n = count_tags(j, desc);
	errcode_t err;

	*crc = ext2fs_crc32_be(*crc, desc, j->bs);
	for (unsigned i = 0; i < n; i++) {
		uint32_t b = *next;
		*next = wrap(j, *next + 1);
		if ((err = jread(j, b, j->data)))
			return err;
		*crc = ext2fs_crc32_be(*crc, j->data, j->bs);
	}
	return 0;
}

struct pass_state {
	uint32_t next_id, next_blk;
	uint32_t crc;
	int need_check_commit_time;
	uint64_t last_commit_time;
	int block_error;
	uint64_t scanned;
};

enum step { STEP_GO, STEP_END, STEP_DONE };

static errcode_t on_descriptor(struct jnl *j, enum pass pass, struct pass_state *ps,
			       enum step *step)
{
	if (csum_v23(j) && !descr_csum_ok(j, j->buf, ps->next_blk)) {
		/* the scan may meet stale blocks of an older log; replay may not */
		if (pass != PASS_SCAN)
			return corrupt(j, "descriptor block of transaction %u fails its checksum",
				       ps->next_id);
		ps->need_check_commit_time = 1;
	}
	if (pass == PASS_REPLAY)
		return replay_descriptor(j, j->buf, ps->next_id, &ps->next_blk, &ps->block_error);
	if (pass == PASS_SCAN && j->v2 && (j->compat & COMPAT_CHECKSUM) &&
	    !ps->need_check_commit_time && !j->have_end) {
		errcode_t err = v1_checksum(j, j->buf, &ps->next_blk, &ps->crc);
		if (err == ICK_ET_JOURNAL_CORRUPT) {
			*step = STEP_END; /* jbd2 ends the scan on a read error here */
			return 0;
		}
		return err;
	}
	ps->next_blk = wrap(j, ps->next_blk + count_tags(j, j->buf));
	return 0;
}

static errcode_t on_commit(struct jnl *j, enum pass pass, struct pass_state *ps, enum step *step)
{
	uint64_t commit_time = be64(j->buf + COMMIT_SEC);
	int bad = 0;

	if (ps->need_check_commit_time) {
		if (commit_time >= ps->last_commit_time)
			return corrupt(j, "transaction %u has a block that fails its checksum",
				       ps->next_id);
		*step = STEP_DONE; /* a stale block of an older log: the log ends here */
		return 0;
	}
	if (pass == PASS_SCAN && j->v2 && (j->compat & COMPAT_CHECKSUM)) {
		uint32_t found = be32(j->buf + COMMIT_CSUM);
		unsigned type = j->buf[COMMIT_CSUM_TYPE], size = j->buf[COMMIT_CSUM_SIZE];

		if (j->have_end) {
			j->st->failed_commit = j->end_transaction;
			*step = STEP_END;
			return 0;
		}
		if (!((ps->crc == found && type == CRC32_CHKSUM && size == 4) ||
		      (type == 0 && size == 0 && found == 0)))
			bad = 1;
		ps->crc = ~0u;
	}
	if (pass == PASS_SCAN && (bad || !commit_csum_ok(j, j->buf, ps->next_blk))) {
		if (commit_time < ps->last_commit_time) {
			*step = STEP_DONE;
			return 0;
		}
		j->end_transaction = ps->next_id;
		j->have_end = 1;
		if (!has_inc(j, INC_ASYNC)) {
			j->st->failed_commit = ps->next_id;
			*step = STEP_END;
			return 0;
		}
	}
	if (pass == PASS_SCAN)
		ps->last_commit_time = commit_time;
	ps->next_id++;
	return 0;
}

static errcode_t do_pass(struct jnl *j, enum pass pass)
{
	struct pass_state ps = { .next_id = be32(j->sb + JSB_SEQUENCE),
				 .next_blk = be32(j->sb + JSB_START), .crc = ~0u };
	uint64_t limit = 2ull * (j->last - j->first) + 2;
	errcode_t err = 0;

	for (;;) {
		enum step step = STEP_GO;
		uint32_t type;

		if (pass != PASS_SCAN && tid_geq(ps.next_id, j->end_transaction))
			break;
		/* every step consumes a journal block; a valid log is shorter than the journal */
		if (++ps.scanned > limit)
			return corrupt(j, "the log runs on past the journal's length (a loop)");
		if ((err = jread(j, ps.next_blk, j->buf)))
			return err;
		ps.next_blk = wrap(j, ps.next_blk + 1);
		if (be32(j->buf) != JMAGIC || be32(j->buf + 8) != ps.next_id)
			break;
		type = be32(j->buf + 4);
		if (type == JT_DESCRIPTOR)
			err = on_descriptor(j, pass, &ps, &step);
		else if (type == JT_COMMIT)
			err = on_commit(j, pass, &ps, &step);
		else if (type == JT_REVOKE) {
			if (pass == PASS_SCAN && csum_v23(j) && !descr_csum_ok(j, j->buf, ps.next_blk))
				ps.need_check_commit_time = 1;
			if (pass == PASS_REVOKE)
				err = scan_revokes(j, j->buf, ps.next_id);
		} else
			step = STEP_DONE;
		if (err)
			return err;
		if (step != STEP_GO)
			break;
	}
	if (pass == PASS_SCAN) {
		if (!j->have_end) {
			j->end_transaction = ps.next_id;
			j->have_end = 1;
		}
	} else if (j->end_transaction != ps.next_id) {
		return corrupt(j, "recovery pass %d ended at transaction %u, the scan at %u", pass,
			       ps.next_id, j->end_transaction);
	}
	if (ps.block_error)
		return ICK_ET_JOURNAL_CORRUPT; /* why was set where the block failed */
	return 0;
}

/* ---- the journal superblock ---- */

static errcode_t load_super(struct jnl *j)
{
	const unsigned char *sb = j->sb;
	uint32_t type, maxlen;

	if (be32(sb) != JMAGIC)
		return corrupt(j, "journal superblock has a bad magic number (0x%08x)", be32(sb));
	type = be32(sb + 4);
	if (type != JT_SB_V1 && type != JT_SB_V2)
		return corrupt(j, "journal superblock has block type %u", type);
	j->v2 = type == JT_SB_V2;
	if (j->v2) {
		j->compat = be32(sb + JSB_COMPAT);
		j->incompat = be32(sb + JSB_INCOMPAT);
		if (be32(sb + JSB_NR_USERS) > 1)
			return corrupt(j, "journal is shared by %u file systems", be32(sb + JSB_NR_USERS));
		if (j->incompat & ~INC_KNOWN)
			return corrupt(j, "journal has unknown incompatible features 0x%x",
				       j->incompat & ~INC_KNOWN);
		if (be32(sb + JSB_ROCOMPAT))
			return corrupt(j, "journal has unknown read-only features 0x%x",
				       be32(sb + JSB_ROCOMPAT));
		if ((j->incompat & INC_CSUM2) && (j->incompat & INC_CSUM3))
			return corrupt(j, "journal claims both checksum v2 and v3");
		if (csum_v23(j) && (j->compat & COMPAT_CHECKSUM))
			return corrupt(j, "journal claims checksum v1 and v2/v3");
	}
	if (csum_v23(j)) {
		unsigned char copy[JSB_SIZE];
		if (sb[JSB_CSUM_TYPE] != CRC32C_CHKSUM)
			return corrupt(j, "journal checksum type is %u, not crc32c", sb[JSB_CSUM_TYPE]);
		memcpy(copy, sb, JSB_SIZE);
		memset(copy + JSB_CHECKSUM, 0, 4);
		if (ext2fs_crc32c_le(~0u, copy, JSB_SIZE) != be32(sb + JSB_CHECKSUM))
			return corrupt(j, "journal superblock fails its checksum");
		j->seed = ext2fs_crc32c_le(~0u, sb + JSB_UUID, 16);
	}
	if (be32(sb + JSB_BLOCKSIZE) != j->bs)
		return corrupt(j, "journal block size %u is not the file system's %u",
			       be32(sb + JSB_BLOCKSIZE), j->bs);
	maxlen = be32(sb + JSB_MAXLEN);
	if (maxlen > j->total)
		return corrupt(j, "journal superblock says %u blocks, the journal has %u", maxlen,
			       j->total);
	j->total = maxlen;
	j->first = be32(sb + JSB_FIRST);
	j->last = maxlen;
	if (has_inc(j, INC_FAST_COMMIT)) {
		uint32_t fc = be32(sb + JSB_NUM_FC) ? be32(sb + JSB_NUM_FC) : FC_DEFAULT_BLOCKS;
		if (maxlen < fc || maxlen - fc < MIN_JOURNAL_BLOCKS)
			return corrupt(j, "journal's fast-commit area (%u blocks) leaves too few", fc);
		j->last = maxlen - fc;
		j->st->fast_commit = 1;
	}
	if (j->first == 0 || j->first >= j->last)
		return corrupt(j, "journal's first log block %u is outside 1..%u", j->first,
			       j->last - 1);
	if (be32(sb + JSB_START) &&
	    (be32(sb + JSB_START) < j->first || be32(sb + JSB_START) >= j->last))
		return corrupt(j, "journal's log start %u is outside %u..%u", be32(sb + JSB_START),
			       j->first, j->last - 1);
	j->tag_bytes = tag_bytes(j);
	return 0;
}

/* ---- locating the journal ---- */

/*
 * e2fsck's test of a journal inode (e2fsprogs e2fsck/journal.c, e2fsck_get_journal): in
 * use, a regular file, not encrypted, at least JBD2_MIN_JOURNAL_BLOCKS long, and every
 * block up to i_size mapped inside the file system (its ext2fs_block_iterate3 with
 * BLOCK_FLAG_HOLE aborting on a hole or an outside block).  NULL when it passes, else why.
 */
struct jblk_walk { ext2_filsys fs; e2_blkcnt_t last; };

static int jblk_fn(ext2_filsys fs, blk64_t *blk, e2_blkcnt_t cnt, blk64_t ref, int off,
		   void *priv)
{
	struct jblk_walk *w = priv;

	(void)ref;
	(void)off;
	if (!*blk || *blk < fs->super->s_first_data_block || *blk >= ext2fs_blocks_count(fs->super))
		return BLOCK_ABORT;
	if (cnt >= 0)
		w->last = cnt;
	return 0;
}

static const char *journal_inode_bad(struct jnl *j, const struct ext2_inode *in)
{
	struct jblk_walk w = { j->fs, -1 };
	uint64_t size = EXT2_I_SIZE(in);

	if (!in->i_links_count || !LINUX_S_ISREG(in->i_mode) || (in->i_flags & EXT4_ENCRYPT_FL))
		return "is not a regular file in use";
	if (size / j->bs < MIN_JOURNAL_BLOCKS)
		return "is smaller than 1024 blocks";
	/* the walk reads the inode by number: the backup's is checked block by block below */
	if (!j->backup) {
		/* as e2fsck, the walk's own error is not looked at, only how far it got */
		(void)ext2fs_block_iterate3(j->fs, j->ino, BLOCK_FLAG_HOLE | BLOCK_FLAG_READ_ONLY,
					    NULL, jblk_fn, &w);
	} else {
		for (uint64_t b = 0; b < size / j->bs; b++) {
			blk64_t p = 0;
			if (ext2fs_bmap2(j->fs, j->ino, (struct ext2_inode *)in, NULL, 0, b, NULL, &p) ||
			    !p || p < j->fs->super->s_first_data_block ||
			    p >= ext2fs_blocks_count(j->fs->super))
				break;
			w.last = (e2_blkcnt_t)b;
		}
	}
	if ((uint64_t)(w.last + 1) * j->bs < size)
		return "does not map all its blocks";
	return NULL;
}

/*
 * The journal inode from the superblock's backup of its block map (s_jnl_blocks), as
 * e2fsck_get_journal builds it: i_block from s_jnl_blocks[0..14], the size from [15] (high)
 * and [16], one link, a regular file 0600, every other field zero.  Like e2fsck it sets no
 * EXT4_EXTENTS_FL, so an extent-mapped backup is read as a block map and (almost always)
 * fails the test above: e2fsck 1.47.0 does not recover those either (tests/cases/j_jnl_backup).
 * The kernel never reads the backup (fs/ext4/super.c, ext4_get_journal_inode refuses).
 */
static void backup_inode(const struct ext2_super_block *s, struct ext2_inode *in)
{
	memset(in, 0, sizeof(*in));
	memcpy(in->i_block, s->s_jnl_blocks, EXT2_N_BLOCKS * 4);
	in->i_size_high = s->s_jnl_blocks[15];
	in->i_size = s->s_jnl_blocks[16];
	in->i_links_count = 1;
	in->i_mode = LINUX_S_IFREG | 0600;
}

/*
 * e2fsck -y writes the backup inode to the journal inode before replaying
 * (e2fsck_get_journal, tried_backup_jnl && !E2F_OPT_READONLY); so does the view, into the
 * overlay.  Written by hand because the file system handle reads the raw image: the first
 * 128 bytes replaced in the on-disk inode (as ext2fs_write_inode does for a small inode),
 * the checksum set by libext2fs.  Little-endian hosts only (no ext2fs_swap_inode_full).
 */
static errcode_t write_backup_inode(struct jnl *j)
{
	ext2_filsys fs = j->fs;
	unsigned isz = EXT2_INODE_SIZE(fs->super);
	dgrp_t g = (j->ino - 1) / fs->super->s_inodes_per_group;
	uint64_t idx = (j->ino - 1) % fs->super->s_inodes_per_group;
	uint64_t off = ext2fs_inode_table_loc(fs, g) * j->bs + idx * isz;
	struct ext2_inode_large *big;
	errcode_t err;

	if (!ext2fs_inode_table_loc(fs, g) || isz < sizeof(struct ext2_inode))
		return corrupt(j, "the journal inode's table is not in the file system");
	if ((err = ext2fs_get_memzero(isz, &big)))
		return err;
	if (!(err = ick_overlay_pread(j->ov, fs->io, off, isz, big))) {
		memcpy(big, &j->inode, sizeof(struct ext2_inode));
		if (!(err = ext2fs_inode_csum_set(fs, j->ino, big)))
			err = ick_overlay_pwrite(j->ov, fs->io, off, isz, big);
	}
	ext2fs_free_mem(&big);
	return err;
}

static errcode_t locate_internal(struct jnl *j)
{
	struct ext2_super_block *s = j->fs->super;
	const char *bad;
	uint64_t size;
	errcode_t err;

	j->ino = s->s_journal_inum;
	if (j->ino < 1 || j->ino > s->s_inodes_count)
		return corrupt(j, "journal inode number %u is invalid", j->ino);
	err = ext2fs_read_inode(j->fs, j->ino, &j->inode);
	bad = err ? error_message(err) : journal_inode_bad(j, &j->inode);
	if (bad) {
		/* e2fsck_get_journal's try_backup_journal */
		if (s->s_jnl_backup_type != EXT3_JNL_BACKUP_BLOCKS)
			return corrupt(j, "journal inode %u %s%s, and the superblock keeps no "
				       "backup of its blocks", j->ino, err ? "cannot be read: " : "",
				       bad);
		j->backup = 1;
		backup_inode(s, &j->inode);
		if ((bad = journal_inode_bad(j, &j->inode)))
			return corrupt(j, "journal inode %u is unusable and its backup in the "
				       "superblock (s_jnl_blocks) %s", j->ino, bad);
		j->st->backup = 1;
	}
	size = EXT2_I_SIZE(&j->inode);
	if (size / j->bs > UINT32_MAX || size / j->bs > ext2fs_blocks_count(s))
		return corrupt(j, "journal inode's size %llu is larger than the file system",
			       (unsigned long long)size);
	j->total = (uint32_t)(size / j->bs);
	if (j->total < 2)
		return corrupt(j, "journal inode has %u blocks", j->total);
	if ((err = jmap(j, 0, &j->sb_pblk)))
		return err;
	return j->backup ? write_backup_inode(j) : 0;
}

static errcode_t locate_external(struct jnl *j, const char *path)
{
	unsigned char esb[1024];
	errcode_t err;
	uint32_t start = j->bs == 1024 ? 2 : 1; /* the block after the ext2 superblock */
	uint64_t count;

	if (!path)
		return ICK_ET_NO_EXT_JOURNAL;
	if ((err = unix_io_manager->open(path, 0, &j->ext)))
		return err;
	/* the journal device carries an ext2 superblock at byte 1024 (journal_dev, its uuid) */
	if ((err = io_channel_set_blksize(j->ext, 1024)) ||
	    (err = io_channel_read_blk64(j->ext, 1, 1, esb)) ||
	    (err = io_channel_set_blksize(j->ext, (int)j->bs)))
		return err;
	if ((esb[0x38] | esb[0x39] << 8) != EXT2_SUPER_MAGIC ||
	    !(le32(esb + 0x60) & EXT3_FEATURE_INCOMPAT_JOURNAL_DEV))
		return corrupt(j, "%s is not an external journal device", path);
	if (memcmp(esb + 0x68, j->fs->super->s_journal_uuid, 16))
		return corrupt(j, "%s is not this file system's journal (uuid differs)", path);
	count = le32(esb + 0x04) | (uint64_t)le32(esb + 0x150) << 32;
	if (count <= start + 1)
		return corrupt(j, "external journal %s has %llu blocks", path,
			       (unsigned long long)count);
	/* as e2fsck: the log is addressed in device blocks, the superblock at @start */
	j->sb_lblk = start;
	j->total = count < UINT32_MAX ? (uint32_t)count : UINT32_MAX;
	j->st->external = 1;
	return 0;
}

/* ---- what e2fsck writes after a replay ---- */

static errcode_t mark_journal_empty(struct jnl *j)
{
	unsigned char *b = j->buf;
	errcode_t err;

	if (j->ext)
		return 0; /* the external device is not part of the view */
	if ((err = ick_overlay_pread(j->ov, j->fs->io, j->sb_pblk * j->bs, j->bs, b)))
		return err;
	put_be32(b + JSB_SEQUENCE, j->end_transaction + 1);
	put_be32(b + JSB_START, 0);
	if (csum_v23(j)) {
		memset(b + JSB_CHECKSUM, 0, 4);
		put_be32(b + JSB_CHECKSUM, ext2fs_crc32c_le(~0u, b, JSB_SIZE));
	}
	return ick_overlay_put(j->ov, j->sb_pblk, b);
}

/* e2fsck sets the journal s_errno on a corrupt commit, then moves it into the file system
 * state (ERROR_FS) and clears it: the net effect is only the state bit. */
static errcode_t clear_recover_flag(struct jnl *j)
{
	unsigned char sb[1024];
	errcode_t err;

	if ((err = ick_overlay_pread(j->ov, j->fs->io, SB_OFFSET, sizeof(sb), sb)))
		return err;
	put_le32(sb + SB_INCOMPAT, le32(sb + SB_INCOMPAT) & ~(uint32_t)SB_INCOMPAT_RECOVER);
	if (j->st->failed_commit)
		sb[SB_STATE] |= SB_STATE_ERROR;
	if (le32(sb + SB_ROCOMPAT) & SB_ROCOMPAT_METADATA_CSUM)
		put_le32(sb + SB_CHECKSUM, ext2fs_crc32c_le(~0u, sb, SB_CHECKSUM));
	return ick_overlay_pwrite(j->ov, j->fs->io, SB_OFFSET, sizeof(sb), sb);
}

/* ---- fast commits ---- */

/*
 * After the full replay, the fast commits of the transaction after the last full commit
 * (Linux fs/jbd2/recovery.c fc_do_one_pass: expected tid = end_transaction), in the
 * fast-commit area [last + 1, maxlen).  The blocks are read while they can continue a
 * scan (block 0 starts with a HEAD, every later one with a known tag): memory stays below
 * the journal's size.  The replay runs on an RW handle over the overlay, backups untouched
 * (e2fsck opens with EXT2_FLAG_MASTER_SB_ONLY).
 */
static errcode_t replay_fast_commits(struct jnl *j)
{
	uint32_t first = j->last + 1, n = j->total > first ? j->total - first : 0, got = 0, ntags;
	struct ick_fc_stats fst;
	unsigned char *area = NULL, *grown;
	ext2_filsys rw = NULL;
	struct ick_io_reg reg;
	errcode_t err = 0, err2;

	memset(&fst, 0, sizeof(fst));
	for (uint32_t i = 0; i < n; i++) {
		unsigned tag;
		if (!(grown = realloc(area, (size_t)(i + 1) * j->bs))) {
			err = ENOMEM;
			goto out;
		}
		area = grown;
		if ((err = jread(j, first + i, area + (size_t)i * j->bs)))
			goto out;
		tag = area[(size_t)i * j->bs] | area[(size_t)i * j->bs + 1] << 8;
		if (i == 0 ? tag != 9 : (tag == 0 || tag > 9))
			break;
		got = i + 1;
	}
	if ((err = ick_fc_scan(area, got, j->bs, j->end_transaction, &ntags, &fst)))
		goto why;
	j->st->fc_commits = fst.commits;
	if (!ntags)
		goto out;
	ick_overlay_io_register(&reg, j->fs->device_name, j->ov, j->fs->io->manager);
	err = ext2fs_open2(j->fs->device_name, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS |
			   EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0, ick_overlay_io_manager, &rw);
	ick_io_unregister(&reg);
	if (err)
		goto out;
	rw->flags |= EXT2_FLAG_MASTER_SB_ONLY;
	err = ick_fc_replay(rw, area, got, ntags, &fst);
	err2 = ext2fs_close_free(&rw);
	if (!err)
		err = err2;
	j->st->fc_tags = fst.tags;
	j->st->fc_inodes = fst.inodes;
	j->st->fc_ranges = fst.ranges_added + fst.ranges_deleted;
	j->st->fc_dentries = fst.links + fst.unlinks;
why:
	if (err == ICK_ET_JOURNAL_CORRUPT)
		snprintf(j->st->why, sizeof(j->st->why), "%s", fst.why);
out:
	free(area);
	return err;
}

/* ---- entry point ---- */

static errcode_t recover(struct jnl *j, const char *ext_journal)
{
	struct ext2_super_block *s = j->fs->super;
	errcode_t err;

	if (!ext2fs_has_feature_journal(s))
		return corrupt(j, "needs_recovery is set but the file system has no journal");
	err = s->s_journal_inum ? locate_internal(j) : locate_external(j, ext_journal);
	if (err)
		return err;
	if (!(j->buf = malloc(j->bs)) || !(j->data = malloc(j->bs)))
		return ENOMEM;
	err = jread(j, j->sb_lblk, j->buf);
	if (err == ICK_ET_JOURNAL_CORRUPT)
		return err;
	if (err)
		return corrupt(j, "cannot read the journal superblock: %s", error_message(err));
	memcpy(j->sb, j->buf, JSB_SIZE);
	if ((err = load_super(j)))
		return err;
	j->st->first_seq = j->st->end_seq = be32(j->sb + JSB_SEQUENCE);
	if (be32(j->sb + JSB_START)) {
		j->st->needed = 1;
		if ((err = do_pass(j, PASS_SCAN)) || (err = do_pass(j, PASS_REVOKE)) ||
		    (err = do_pass(j, PASS_REPLAY)))
			return err;
		if (has_inc(j, INC_FAST_COMMIT) && (err = replay_fast_commits(j)))
			return err;
		j->st->end_seq = j->end_transaction;
	} else {
		/* nothing to replay; the next transaction is still one past s_sequence */
		j->end_transaction = be32(j->sb + JSB_SEQUENCE);
	}
	if ((err = mark_journal_empty(j)))
		return err;
	return clear_recover_flag(j);
}

errcode_t ick_journal_recover(ext2_filsys fs, const char *ext_journal, struct ick_overlay *ov,
			      struct ick_journal_stats *stats)
{
	return ick_journal_recover_memo(fs, ext_journal, ov, stats, NULL);
}

errcode_t ick_journal_recover_memo(ext2_filsys fs, const char *ext_journal,
				   struct ick_overlay *ov, struct ick_journal_stats *stats,
				   struct ick_memo *memo)
{
	struct jnl j = { .fs = fs, .st = stats, .bs = fs->blocksize, .ov = ov, .memo = memo };
	errcode_t err;

	memset(stats, 0, sizeof(*stats));
	if (ick_overlay_blocksize(ov) != fs->blocksize)
		return EXT2_ET_INVALID_ARGUMENT;
	err = recover(&j, ext_journal);
	if (j.ext)
		io_channel_close(j.ext);
	ick_u64map_free(&j.rv);
	free(j.buf);
	free(j.data);
	return err;
}
