/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fast_commit.c - ext4 fast-commit scan and replay (contract in fast_commit.h).
 *
 * The rules are e2fsprogs e2fsck/journal.c's (ext4_fc_replay_scan, ext4_fc_replay and the
 * ext4_fc_handle_* functions, read for facts, no code copied), which follow Linux
 * fs/ext4/fast_commit.c; where the two differ it is said at the spot.  libext2fs does the
 * inode, directory, extent and bitmap work (ext2fs_read/write_inode_full, ext2fs_link,
 * ext2fs_unlink, ext2fs_extent_*, ext2fs_count_blocks, bitmap ranges, summary counts).
 * Written by hand, as no library offers them: the tag walk and its crc (the on-disk
 * format), and the per-inode extent list that e2fsck keeps between tags (e2fsck/extents.c
 * e2fsck_read_extents / e2fsck_rewrite_extent_tree, e2fsck/journal.c
 * ext4_modify_extent_list): punch the new range out of the list, add it, sort and merge,
 * then write the list back as a fresh extent tree.  All fields are little-endian; this
 * file assumes a little-endian host like the rest of iomapck's inode handling.
 */
#include "config.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ick_err.h"
#include "fast_commit.h"

enum {
	TAG_ADD_RANGE = 1, TAG_DEL_RANGE = 2, TAG_CREAT = 3, TAG_LINK = 4, TAG_UNLINK = 5,
	TAG_INODE = 6, TAG_PAD = 7, TAG_TAIL = 8, TAG_HEAD = 9,
};
#define TL 4                /* struct ext4_fc_tl: le16 tag, le16 len */
#define FC_FEATURES_KNOWN 0 /* EXT4_FC_SUPPORTED_FEATURES */
#define DENTRY_HDR 8        /* struct ext4_fc_dentry_info: parent ino, ino, then the name */
#define INIT_MAX_LEN 32768u /* EXT_INIT_MAX_LEN */
#define UNINIT_MAX_LEN 32767u
#define EXT4_LINK_MAX_FC 65000u /* EXT4_LINK_MAX */

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static errcode_t ICK_PRINTF(2, 3) bad(struct ick_fc_stats *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->why, sizeof(st->why), fmt, ap);
	va_end(ap);
	return ICK_ET_JOURNAL_CORRUPT;
}

/*
 * The smallest value each tag needs (Linux fs/ext4/fast_commit.c ext4_fc_value_len_isvalid;
 * e2fsck 1.47 checks none and reads past short values).  0: a length this tag cannot have.
 */
static int len_ok(unsigned tag, unsigned len)
{
	switch (tag) {
	case TAG_ADD_RANGE: return len == 16;
	case TAG_DEL_RANGE: return len == 12;
	case TAG_CREAT: case TAG_LINK: case TAG_UNLINK: return len > DENTRY_HDR;
	case TAG_INODE: return len > 4;
	case TAG_PAD: return 1;
	case TAG_TAIL: return len >= 8;
	case TAG_HEAD: return len == 8;
	default: return 0;
	}
}

/* The next tag of a block at *off: 1 and tag/len/value, or 0 at the block's end.  A tag
 * whose header or value does not fit is returned with tag 0 (the scan's "unknown"). */
static int next_tag(const unsigned char *blk, unsigned bs, unsigned *off, unsigned *tag,
		    unsigned *len, const unsigned char **val)
{
	/* e2fsck and the kernel walk while cur < start + bs - 1 */
	if (*off + 1 >= bs)
		return 0;
	if (*off + TL > bs) {
		*tag = 0;
		*len = 0;
		return 1;
	}
	*tag = le16(blk + *off);
	*len = le16(blk + *off + 2);
	*val = blk + *off + TL;
	if (*off + TL + *len > bs || !len_ok(*tag, *len))
		*tag = 0;
	return 1;
}

errcode_t ick_fc_scan(const unsigned char *area, uint32_t nblocks, unsigned bs, uint32_t tid,
		      uint32_t *ntags, struct ick_fc_stats *st)
{
	uint32_t cur_tag = 0, good = 0, crc = 0;

	*ntags = 0;
	if (!nblocks || bs < TL || le16(area) != TAG_HEAD)
		return 0; /* block 0 must start with a HEAD, or there is nothing to replay */
	for (uint32_t b = 0; b < nblocks; b++) {
		const unsigned char *blk = area + (size_t)b * bs, *val = NULL;
		unsigned off = 0, tag, len;

		while (next_tag(blk, bs, &off, &tag, &len, &val)) {
			switch (tag) {
			case TAG_ADD_RANGE: case TAG_DEL_RANGE: case TAG_LINK: case TAG_UNLINK:
			case TAG_CREAT: case TAG_INODE: case TAG_PAD:
				cur_tag++;
				crc = ext2fs_crc32c_le(crc, blk + off, TL + len);
				break;
			case TAG_TAIL:
				cur_tag++;
				crc = ext2fs_crc32c_le(crc, blk + off, TL + 4); /* the tid, not the crc */
				if (le32(val) == tid && le32(val + 4) == crc) {
					good = cur_tag;
					st->commits++;
				} else if (good) {
					goto done;
				} else {
					return bad(st, "the first fast commit's tail (fast-commit block "
						   "%u) fails its tid or checksum", b);
				}
				crc = 0;
				break;
			case TAG_HEAD:
				if (le32(val) & ~(uint32_t)FC_FEATURES_KNOWN)
					return bad(st, "fast-commit head has unknown features 0x%x",
						   le32(val));
				/* the kernel stops here; e2fsck 1.47 fails the recovery (-EINVAL) */
				if (le32(val + 4) != tid)
					goto done;
				cur_tag++;
				crc = ext2fs_crc32c_le(crc, blk + off, TL + len);
				break;
			default:
				if (good)
					goto done;
				return bad(st, "fast-commit block %u offset %u: tag %u (length %u) "
					   "before any good tail", b, off, le16(blk + off),
					   off + TL <= bs ? le16(blk + off + 2) : 0);
			}
			off += TL + len;
		}
	}
done:
	*ntags = good;
	return 0;
}

/* ---- replay ---- */

struct xlist {
	ext2_ino_t ino;        /* 0: none loaded */
	struct ext2fs_extent *ex;
	size_t n, cap;
	blk64_t freed;         /* index blocks released when the list was read */
};

struct fc {
	ext2_filsys fs;
	struct ick_fc_stats *st;
	struct xlist xl;
};

static errcode_t xl_room(struct xlist *l, size_t more)
{
	struct ext2fs_extent *n;
	size_t cap;

	if (l->n + more <= l->cap)
		return 0;
	cap = l->cap ? l->cap * 2 : 16;
	while (cap < l->n + more)
		cap *= 2;
	if (cap > SIZE_MAX / sizeof(*n) || !(n = realloc(l->ex, cap * sizeof(*n))))
		return ENOMEM;
	l->ex = n;
	l->cap = cap;
	return 0;
}

static int range_ok(ext2_filsys fs, blk64_t pblk, uint64_t len)
{
	return len == 0 || (pblk >= fs->super->s_first_data_block &&
			    pblk < ext2fs_blocks_count(fs->super) &&
			    len <= ext2fs_blocks_count(fs->super) - pblk);
}

/* e2fsck/extents.c load_extents: the leaf extents in order (adjacent ones merged), index
 * blocks released in the bitmap (the tree is rebuilt from the list). */
static errcode_t xl_load(struct fc *c, ext2_ino_t ino)
{
	struct xlist *l = &c->xl;
	ext2_extent_handle_t h;
	struct ext2fs_extent e;
	errcode_t err;

	l->ino = ino;
	l->n = 0;
	l->freed = 0;
	if ((err = ext2fs_extent_open(c->fs, ino, &h)))
		return err;
	err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &e);
	while (!err) {
		if (e.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT) {
			/* nothing: seen on the way down */
		} else if (!(e.e_flags & EXT2_EXTENT_FLAGS_LEAF)) {
			if (!range_ok(c->fs, e.e_pblk, 1)) {
				err = bad(c->st, "inode %u: extent index block %llu is outside the "
					  "file system", ino, (unsigned long long)e.e_pblk);
				break;
			}
			l->freed++;
			ext2fs_block_alloc_stats2(c->fs, e.e_pblk, -1);
		} else {
			struct ext2fs_extent *last = l->n ? &l->ex[l->n - 1] : NULL;
			if (last && last->e_pblk + last->e_len == e.e_pblk &&
			    last->e_lblk + last->e_len == e.e_lblk &&
			    (last->e_flags & EXT2_EXTENT_FLAGS_UNINIT) ==
				    (e.e_flags & EXT2_EXTENT_FLAGS_UNINIT) &&
			    (uint64_t)last->e_len + e.e_len < (1ull << 32)) {
				last->e_len += e.e_len;
			} else {
				if ((err = xl_room(l, 1)))
					break;
				l->ex[l->n++] = e;
			}
		}
		err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &e);
	}
	ext2fs_extent_free(h);
	return err == EXT2_ET_EXTENT_NO_NEXT ? 0 : err;
}

static int by_lblk(const void *a, const void *b)
{
	const struct ext2fs_extent *x = a, *y = b;

	if (x->e_lblk != y->e_lblk)
		return x->e_lblk < y->e_lblk ? -1 : 1;
	return x->e_len < y->e_len ? -1 : x->e_len > y->e_len;
}

/* e2fsck ex_sort_and_merge: drop empty extents, sort by logical block, merge neighbours
 * contiguous in both spaces with the same written state. */
static void xl_sort_merge(struct xlist *l)
{
	size_t i, k = 0;

	for (i = 0; i < l->n; i++)
		if (l->ex[i].e_len)
			l->ex[k++] = l->ex[i];
	l->n = k;
	if (l->n < 2)
		return;
	qsort(l->ex, l->n, sizeof(*l->ex), by_lblk);
	for (i = 0; i + 1 < l->n;) {
		struct ext2fs_extent *a = &l->ex[i], *b = &l->ex[i + 1];
		if ((uint64_t)a->e_lblk + a->e_len == b->e_lblk && a->e_pblk + a->e_len == b->e_pblk &&
		    (a->e_flags & EXT2_EXTENT_FLAGS_UNINIT) == (b->e_flags & EXT2_EXTENT_FLAGS_UNINIT)) {
			a->e_len += b->e_len;
			memmove(b, b + 1, (l->n - i - 2) * sizeof(*b));
			l->n--;
		} else {
			i++;
		}
	}
}

/* e2fsck ext4_modify_extent_list: punch [lblk, lblk + len) out of the list (the old blocks
 * cleared in the bitmap), add @x unless deleting, then mark every listed block in use. */
static errcode_t xl_modify(struct fc *c, const struct ext2fs_extent *x, int del)
{
	struct xlist *l = &c->xl;
	uint64_t s = x->e_lblk, e = (uint64_t)x->e_lblk + x->e_len; /* [s, e) */
	errcode_t err;

	for (size_t i = 0; i < l->n; i++) {
		struct ext2fs_extent *o = &l->ex[i];
		uint64_t os = o->e_lblk, oe = (uint64_t)o->e_lblk + o->e_len;

		if (oe <= s || !o->e_len)
			continue;
		if (os >= e)
			break; /* sorted: nothing further overlaps */
		ext2fs_unmark_block_bitmap_range2(c->fs->block_map, o->e_pblk, o->e_len);
		if (os < s && oe > e) { /* split in two around the hole */
			if ((err = xl_room(l, 1)))
				return err;
			o = &l->ex[i];
			memmove(o + 2, o + 1, (l->n - i - 1) * sizeof(*o));
			l->n++;
			o[1] = o[0];
			o[1].e_lblk = (blk64_t)e;
			o[1].e_pblk += e - os;
			o[1].e_len = (uint32_t)(oe - e);
			o[0].e_len = (uint32_t)(s - os);
			break;
		}
		if (os >= s && oe <= e) { /* covered */
			o->e_len = 0;
			continue;
		}
		if (oe > e) { /* its head is punched */
			o->e_pblk += e - os;
			o->e_lblk = (blk64_t)e;
			o->e_len = (uint32_t)(oe - e);
			break;
		}
		o->e_len = (uint32_t)(s - os); /* its tail is punched */
	}
	if (x->e_len && !del) {
		if ((err = xl_room(l, 1)))
			return err;
		l->ex[l->n++] = *x;
	}
	xl_sort_merge(l);
	for (size_t i = 0; i < l->n; i++)
		ext2fs_mark_block_bitmap_range2(c->fs->block_map, l->ex[i].e_pblk, l->ex[i].e_len);
	ext2fs_mark_bb_dirty(c->fs);
	return 0;
}

/* e2fsck_rewrite_extent_tree / rewrite_extent_replay: a fresh tree from the list (inline
 * data inodes are left alone), i_blocks counted again. */
static errcode_t xl_flush(struct fc *c, ext2_ino_t next)
{
	struct xlist *l = &c->xl;
	ext2_filsys fs = c->fs;
	unsigned isz = EXT2_INODE_SIZE(fs->super);
	struct ext2_inode_large *in = NULL;
	ext2_extent_handle_t h = NULL;
	blk64_t blks;
	errcode_t err;

	if (!l->ino || l->ino == next)
		return 0;
	if ((err = ext2fs_get_memzero(isz, &in)))
		return err;
	if ((err = ext2fs_read_inode_full(fs, l->ino, EXT2_INODE(in), isz)))
		goto out;
	if (in->i_flags & EXT4_INLINE_DATA_FL)
		goto out;
	in->i_flags &= ~EXT4_EXTENTS_FL;
	memset(in->i_block, 0, sizeof(in->i_block));
	if ((err = ext2fs_iblk_sub_blocks(fs, EXT2_INODE(in), l->freed)) ||
	    (err = ext2fs_extent_open2(fs, l->ino, EXT2_INODE(in), &h)))
		goto out;
	for (size_t i = 0; i < l->n; i++) {
		struct ext2fs_extent x = l->ex[i];
		unsigned max = (x.e_flags & EXT2_EXTENT_FLAGS_UNINIT) ? UNINIT_MAX_LEN : INIT_MAX_LEN;
		uint64_t left = x.e_len;

		x.e_flags &= EXT2_EXTENT_FLAGS_UNINIT;
		while (left) {
			x.e_len = (uint32_t)(left > max ? max : left);
			if ((err = ext2fs_extent_insert(h, EXT2_EXTENT_INSERT_AFTER, &x)) ||
			    (err = ext2fs_extent_fix_parents(h)))
				goto out;
			left -= x.e_len;
			x.e_lblk += x.e_len;
			x.e_pblk += x.e_len;
		}
	}
	if ((err = ext2fs_count_blocks(fs, l->ino, EXT2_INODE(in), &blks)) ||
	    (err = ext2fs_iblk_set(fs, EXT2_INODE(in), blks)))
		goto out;
	err = ext2fs_write_inode_full(fs, l->ino, EXT2_INODE(in), isz);
out:
	if (h)
		ext2fs_extent_free(h);
	ext2fs_free_mem(&in);
	l->ino = 0;
	l->n = 0;
	return err;
}

/*
 * Whether the kernel's replay can get inode @ino.  Every tag handler of Linux
 * fs/ext4/fast_commit.c gets its inode with ext4_iget(EXT4_IGET_NORMAL), which
 * (fs/ext4/inode.c __ext4_iget) refuses a number below s_first_ino other than the root or
 * past s_inodes_count (-EFSCORRUPTED) and, outside orphan processing (which runs after the
 * journal's recovery), an inode with i_links_count 0 (-ESTALE: "deleted or unallocated").
 * e2fsck 1.47 reads such inodes anyway; here the kernel is followed, as its recovery is
 * what a mount sees.  Read errors count as refusals too.
 */
static int kernel_gets(ext2_filsys fs, ext2_ino_t ino)
{
	struct ext2_inode in;

	if ((ino < EXT2_FIRST_INO(fs->super) && ino != EXT2_ROOT_INO) ||
	    ino > fs->super->s_inodes_count || ino == 0)
		return 0;
	return !ext2fs_read_inode(fs, ino, &in) && in.i_links_count != 0;
}

static errcode_t use_list(struct fc *c, ext2_ino_t ino)
{
	errcode_t err;

	if ((err = xl_flush(c, ino)))
		return err;
	return c->xl.ino == ino ? 0 : xl_load(c, ino);
}

/* The extent list of a range tag's inode, or *skip when the kernel's handler cannot get
 * the inode (ext4_fc_replay_add_range / _del_range: "Inode not found", return 0). */
static errcode_t range_inode(struct fc *c, ext2_ino_t ino, int *skip)
{
	errcode_t err;

	*skip = 0;
	if ((err = xl_flush(c, ino)))
		return err;
	if (c->xl.ino != ino && !kernel_gets(c->fs, ino)) {
		c->st->skipped++;
		*skip = 1;
		return 0;
	}
	return use_list(c, ino);
}

static errcode_t add_range(struct fc *c, const unsigned char *val)
{
	struct ext2fs_extent x;
	ext2_ino_t ino = le32(val);
	int skip;
	errcode_t err;

	memset(&x, 0, sizeof(x));
	if ((err = ext2fs_decode_extent(&x, (void *)(val + 4), 12)))
		return err;
	if (!range_ok(c->fs, x.e_pblk, x.e_len))
		return bad(c->st, "fast commit adds blocks %llu+%u to inode %u, outside the file "
			   "system", (unsigned long long)x.e_pblk, x.e_len, ino);
	if ((err = range_inode(c, ino, &skip)) || skip)
		return err;
	c->st->ranges_added++;
	return xl_modify(c, &x, 0);
}

static errcode_t del_range(struct fc *c, const unsigned char *val)
{
	struct ext2fs_extent x;
	ext2_ino_t ino = le32(val);
	int skip;
	errcode_t err;

	memset(&x, 0, sizeof(x));
	x.e_lblk = le32(val + 4);
	x.e_len = le32(val + 8);
	if ((err = range_inode(c, ino, &skip)) || skip)
		return err;
	c->st->ranges_deleted++;
	return xl_modify(c, &x, 1);
}

/* e2fsck ext4_fc_handle_inode: the logged inode over the on-disk one (i_block kept but for
 * inline data; an extent inode whose i_block is no tree gets an empty root), i_blocks
 * counted again, the inode bitmap bit set while it has links. */
static errcode_t inode_tag(struct fc *c, const unsigned char *val, unsigned len)
{
	ext2_filsys fs = c->fs;
	unsigned isz = EXT2_INODE_SIZE(fs->super), n = EXT2_GOOD_OLD_INODE_SIZE;
	ext2_ino_t ino = le32(val);
	const unsigned char *raw = val + 4;
	struct ext2_inode_large *in = NULL;
	size_t ib = offsetof(struct ext2_inode_large, i_block),
	       gen = offsetof(struct ext2_inode_large, i_generation);
	blk64_t blks;
	errcode_t err;

	if (isz > EXT2_GOOD_OLD_INODE_SIZE) {
		unsigned extra = len >= 4 + 130 ? le16(raw + 128) : 0;
		if (extra < 4 || extra > isz - EXT2_GOOD_OLD_INODE_SIZE)
			return bad(c->st, "fast-commit inode %u has i_extra_isize %u", ino, extra);
		n += extra;
	}
	if (len < 4 + n)
		return bad(c->st, "fast-commit inode %u: %u bytes logged, the inode is %u", ino,
			   len - 4, n);
	/* the kernel logs the quota inodes (3, 4) of a quota file system this way: its
	 * replay then fails on them ("iget: illegal inode #"; seen on 6.1) */
	if (ino < EXT2_FIRST_INO(fs->super) && ino != EXT2_ROOT_INO) {
		c->st->refused = 1;
		return bad(c->st, "the fast commit logs inode %u, a reserved inode (a quota "
			   "file's?): the kernel's replay cannot get it (ext4_iget: illegal inode) "
			   "and its journal recovery fails: the file system does not mount", ino);
	}
	if (ino == 0 || ino > fs->super->s_inodes_count)
		return bad(c->st, "fast commit logs inode %u of %u", ino, fs->super->s_inodes_count);
	/*
	 * ext4_fc_replay_inode writes the logged inode, then gets it back with ext4_iget,
	 * which refuses one with no links (kernel_gets): -EFSCORRUPTED, and the kernel's
	 * journal recovery fails ("JBD2: journal recovery failed"; the mount fails).  The
	 * kernel logs an open file unlinked before its fsync this way (6.1 and 7.1.5
	 * confirmed in the VM); e2fsck 1.47's replay fails on such states too.
	 */
	if (!le16(raw + 26)) {
		c->st->refused = 1;
		return bad(c->st, "the fast commit logs inode %u with no links (an open file "
			   "unlinked, then fsync'ed): the kernel's replay cannot get it back "
			   "(ext4_fc_replay_inode: ext4_iget refuses it) and its journal recovery "
			   "fails: the file system does not mount", ino);
	}
	if ((err = use_list(c, ino)))
		return err;
	if ((err = ext2fs_get_memzero(isz, &in)))
		return err;
	if ((err = ext2fs_read_inode_full(fs, ino, EXT2_INODE(in), isz)))
		goto out;
	memcpy(in, raw, ib);
	memcpy((unsigned char *)in + gen, raw + gen, n - gen);
	if (in->i_flags & EXT4_EXTENTS_FL) {
		struct ext3_extent_header *eh = (struct ext3_extent_header *)in->i_block;
		if (eh->eh_magic != EXT3_EXT_MAGIC) {
			memset(eh, 0, sizeof(*eh));
			eh->eh_magic = EXT3_EXT_MAGIC;
			eh->eh_max = (sizeof(in->i_block) - sizeof(*eh)) / sizeof(struct ext3_extent);
		}
	} else if (in->i_flags & EXT4_INLINE_DATA_FL) {
		memcpy(in->i_block, raw + ib, sizeof(in->i_block));
	}
	if ((err = ext2fs_count_blocks(fs, ino, EXT2_INODE(in), &blks)) ||
	    (err = ext2fs_iblk_set(fs, EXT2_INODE(in), blks)) ||
	    (err = ext2fs_write_inode_full(fs, ino, EXT2_INODE(in), isz)))
		goto out;
	ext2fs_mark_inode_bitmap2(fs->inode_map, ino); /* ext4_mark_inode_used */
	ext2fs_mark_ib_dirty(fs);
	c->st->inodes++;
out:
	ext2fs_free_mem(&in);
	return err;
}

/* An UNLINK tag's name removed from @dir, as the kernel's replay removes it. */
static errcode_t dentry_unlink(struct fc *c, ext2_ino_t dir, ext2_ino_t ino, const char *name)
{
	ext2_filsys fs = c->fs;
	struct ext2_inode in;
	errcode_t err;

	c->st->unlinks++;
	/* __ext4_unlink's -ENOENT is ignored (the name may be gone already); another
	 * error fails the recovery, as e2fsck's ext4_fc_handle_unlink fails it.
	 * ext2fs_unlink says EXT2_ET_DIR_NO_SPACE for a name it did not find. */
	err = ext2fs_unlink(fs, dir, name, ino, 0);
	if (err == EXT2_ET_DIR_NO_SPACE)
		return 0;
	if (err)
		return err;
	/*
	 * The kernel's replay unlinks through __ext4_unlink (fs/ext4/fast_commit.c
	 * ext4_fc_replay_unlink), which drops i_links_count and puts an inode left
	 * with none on the orphan list, released at the end of the mount; e2fsck
	 * 1.47's ext2fs_unlink leaves the count (its copy then has "Unattached
	 * inode"s).  As the kernel: the view's orphan release (orphan.c) deletes it.
	 */
	if ((err = ext2fs_read_inode(fs, ino, &in)))
		return err;
	if (!in.i_links_count)
		return 0;
	if (!--in.i_links_count) {
		in.i_dtime = fs->super->s_last_orphan;
		fs->super->s_last_orphan = ino;
		ext2fs_mark_super_dirty(fs);
	}
	return ext2fs_write_inode(fs, ino, &in);
}

/* The directory entry type of @mode: EXT2_FT_SYMLINK for a symlink, 0 for none. */
static int dentry_type(uint16_t mode)
{
	if (LINUX_S_ISREG(mode))
		return EXT2_FT_REG_FILE;
	if (LINUX_S_ISDIR(mode))
		return EXT2_FT_DIR;
	if (LINUX_S_ISCHR(mode))
		return EXT2_FT_CHRDEV;
	if (LINUX_S_ISBLK(mode))
		return EXT2_FT_BLKDEV;
	if (LINUX_S_ISLNK(mode))
		return EXT2_FT_SYMLINK;
	if (LINUX_S_ISFIFO(mode))
		return EXT2_FT_FIFO;
	if (LINUX_S_ISSOCK(mode))
		return EXT2_FT_SOCK;
	return 0;
}

/* A LINK or CREAT tag's name added to @dir, as the kernel's replay adds it. */
static errcode_t dentry_link(struct fc *c, unsigned tag, ext2_ino_t dir, ext2_ino_t ino,
			     const char *name, unsigned nlen)
{
	ext2_filsys fs = c->fs;
	struct ext2_inode in;
	int ft;
	errcode_t err;

	if ((err = ext2fs_read_inode(fs, ino, &in)))
		return err;
	ft = dentry_type(in.i_mode);
	if (ft == EXT2_FT_SYMLINK)
		return 0; /* e2fsck 1.47 returns here without linking a symlink (the kernel links it) */
	if (!ft)
		return bad(c->st, "fast commit links inode %u of mode 0%o", ino, in.i_mode);
	/*
	 * The kernel links through __ext4_link (ext4_fc_replay_link_internal): a name that is
	 * there already (ext4_add_entry's -EEXIST, whatever inode it names) leaves everything
	 * as it is; otherwise the name is added and the link count raised (ext4_inc_count:
	 * an indexed directory past EXT4_LINK_MAX, or at 2, counts 1); a CREAT then sets it
	 * to 1 (ext4_fc_replay_create: set_nlink).  e2fsck 1.47 replaces the name and leaves
	 * the count; a later UNLINK of the old name would then take the count to 0 and put
	 * a live inode on the orphan list, where the next INODE tag's i_dtime cuts the list.
	 */
	err = ext2fs_lookup(fs, dir, name, (int)nlen, NULL, &(ext2_ino_t){0});
	if (!err)
		return 0;
	if (err != EXT2_ET_FILE_NOT_FOUND)
		return err;
	c->st->links++;
	if ((err = ext2fs_link(fs, dir, name, ino, ft)))
		return err;
	if (tag == TAG_CREAT) {
		in.i_links_count = 1;
	} else {
		in.i_links_count++;
		if (LINUX_S_ISDIR(in.i_mode) && (in.i_flags & EXT2_INDEX_FL) &&
		    (in.i_links_count > EXT4_LINK_MAX_FC || in.i_links_count == 2))
			in.i_links_count = 1;
	}
	return ext2fs_write_inode(fs, ino, &in);
}

static errcode_t dentry(struct fc *c, unsigned tag, const unsigned char *val, unsigned len)
{
	ext2_filsys fs = c->fs;
	ext2_ino_t dir = le32(val), ino = le32(val + 4);
	unsigned nlen = len - DENTRY_HDR;
	char name[EXT2_NAME_LEN + 1];
	errcode_t err;

	if (nlen > EXT2_NAME_LEN)
		return bad(c->st, "fast-commit name of %u bytes for inode %u", nlen, ino);
	memcpy(name, val + DENTRY_HDR, nlen);
	name[nlen] = 0;
	if ((err = xl_flush(c, 0)))
		return err;
	if (tag != TAG_CREAT && (!kernel_gets(fs, ino) || !kernel_gets(fs, dir))) {
		/* ext4_fc_replay_unlink, ext4_fc_replay_link(_internal): "not found", 0 */
		c->st->skipped++;
		return 0;
	}
	if (tag == TAG_CREAT && !kernel_gets(fs, ino)) {
		/* ext4_fc_replay_create: ext4_iget fails, -EINVAL: the recovery fails */
		c->st->refused = 1;
		return bad(c->st, "the fast commit creates a name for inode %u, which the kernel's "
			   "replay cannot get (no links or a bad number): its journal recovery "
			   "fails", ino);
	}
	if (tag == TAG_UNLINK)
		return dentry_unlink(c, dir, ino, name);
	return dentry_link(c, tag, dir, ino, name, nlen);
}

/*
 * e2fsck's ext2fs_calculate_summary_stats also sets BLOCK_UNINIT / INODE_UNINIT on groups
 * it finds empty, with or without a descriptor checksum; without one the flags mean
 * nothing to the kernel and e2fsck -fn reports them ("Group descriptor 0 marked
 * uninitialized without feature set"): the kernel's replay never sets them, so without
 * gdt_csum / metadata_csum they (and bg_itable_unused, also set) are put back as they were.
 */
static errcode_t summary(ext2_filsys fs)
{
	int csum = ext2fs_has_group_desc_csum(fs);
	uint32_t *keep = NULL; /* per group: flags, itable_unused */
	errcode_t err;

	if (!csum && (err = ext2fs_get_array(fs->group_desc_count, 2 * sizeof(*keep), &keep)))
		return err;
	for (dgrp_t g = 0; !csum && g < fs->group_desc_count; g++) {
		keep[2 * g] = ext2fs_bg_flags(fs, g);
		keep[2 * g + 1] = ext2fs_bg_itable_unused(fs, g);
	}
	err = ext2fs_calculate_summary_stats(fs, 0);
	for (dgrp_t g = 0; !csum && g < fs->group_desc_count; g++) {
		ext2fs_bg_flags_zap(fs, g);
		ext2fs_bg_flags_set(fs, g, (uint16_t)keep[2 * g]);
		ext2fs_bg_itable_unused_set(fs, g, keep[2 * g + 1]);
	}
	ext2fs_free_mem(&keep);
	return err;
}

errcode_t ick_fc_replay(ext2_filsys fs, const unsigned char *area, uint32_t nblocks,
			uint32_t ntags, struct ick_fc_stats *st)
{
	struct fc c = { .fs = fs, .st = st };
	unsigned bs = fs->blocksize;
	uint16_t state;
	errcode_t err;

	if (!ntags)
		return 0;
	fs->flags |= EXT2_FLAG_IGNORE_CSUM_ERRORS; /* e2fsck: checksums are set again */
	if ((err = ext2fs_read_bitmaps(fs)))
		return err;
	state = fs->super->s_state;
	for (uint32_t b = 0; b < nblocks && ntags; b++) {
		const unsigned char *blk = area + (size_t)b * bs, *val = NULL;
		unsigned off = 0, tag, len;

		while (ntags && next_tag(blk, bs, &off, &tag, &len, &val)) {
			ntags--;
			st->tags++;
			switch (tag) {
			case TAG_CREAT: case TAG_LINK: case TAG_UNLINK:
				err = dentry(&c, tag, val, len);
				break;
			case TAG_ADD_RANGE:
				err = add_range(&c, val);
				break;
			case TAG_DEL_RANGE:
				err = del_range(&c, val);
				break;
			case TAG_INODE:
				err = inode_tag(&c, val, len);
				break;
			case TAG_TAIL:
				err = xl_flush(&c, 0);
				break;
			case TAG_PAD: case TAG_HEAD:
				break;
			default: /* the scan counted only tags it knew */
				err = bad(st, "fast-commit tag %u met in the replay", tag);
			}
			if (err) {
				if (err != ICK_ET_JOURNAL_CORRUPT && err != ENOMEM) {
					snprintf(st->why, sizeof(st->why), "fast-commit replay, tag %u "
						 "(block %u offset %u): %s", tag, b, off,
						 error_message(err));
					err = ICK_ET_JOURNAL_CORRUPT;
				}
				goto out;
			}
			off += TL + len;
		}
	}
	if ((err = xl_flush(&c, 0)))
		goto out;
	/* e2fsck ext4_fc_replay's replay_done: counts from the bitmaps, everything written */
	if ((err = summary(fs)))
		goto out;
	ext2fs_mark_bb_dirty(fs);
	ext2fs_mark_ib_dirty(fs);
	ext2fs_set_gdt_csum(fs);
	fs->super->s_state = state;
	ext2fs_mark_super_dirty(fs);
out:
	free(c.xl.ex);
	if (err && err != ENOMEM && err != ICK_ET_JOURNAL_CORRUPT) {
		snprintf(st->why, sizeof(st->why), "fast-commit replay: %s", error_message(err));
		err = ICK_ET_JOURNAL_CORRUPT;
	}
	return err;
}
