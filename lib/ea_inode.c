/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ea_inode.c - EA-inode value charges, as e2fsck's check_large_ea_inode()/
 * size_to_quota_blocks() (e2fsprogs 1.47.0 e2fsck/pass1.c) count them.  Written by hand
 * because libext2fs's xattr iterator does not expose e_value_inum.  Read-only.
 */
#include "config.h"
#include <stdint.h>
#include <string.h>
#include "ea_inode.h"

#define ENTRY_FIXED 16 /* sizeof(struct ext2_ext_attr_entry) without the name */

static uint64_t value_blocks(ext2_filsys fs, uint32_t size)
{
	return ((uint64_t)size + fs->blocksize - 1) / fs->blocksize;
}

/*
 * e2fsck charges an EA inode's value only when the entry's hash matches (signed or unsigned
 * name hash mixed with the EA inode's value hash); a mismatch is a problem it offers to fix,
 * and the value is not counted.  The entry is 4-byte aligned with its name following it.
 */
static int hash_ok(ext2_filsys fs, const unsigned char *p)
{
	struct ext2_ext_attr_entry *e = (struct ext2_ext_attr_entry *)(uintptr_t)p;
	__u32 hash, signed_hash;

	if (ext2fs_ext_attr_hash_entry3(fs, e, NULL, &hash, &signed_hash))
		return 0;
	return e->e_hash == hash || e->e_hash == signed_hash;
}

/* Walk entries in [p, end); stop at the 4 zero bytes that end the list or at any overrun. */
static uint64_t walk_entries(ext2_filsys fs, const unsigned char *p, const unsigned char *end)
{
	uint64_t blocks = 0;

	while (p + sizeof(uint32_t) <= end) {
		uint32_t first, inum, size;
		memcpy(&first, p, 4);
		if (first == 0 || p + ENTRY_FIXED > end)
			break;
		size_t len = (p[0] + ENTRY_FIXED + 3) & ~(size_t)3;
		if (p + len > end)
			break;
		memcpy(&inum, p + 4, 4);
		memcpy(&size, p + 8, 4);
		if (ext2fs_le32_to_cpu(inum) && hash_ok(fs, p))
			blocks += value_blocks(fs, ext2fs_le32_to_cpu(size));
		p += len;
	}
	return blocks;
}

uint64_t ick_ea_inode_blocks_ibody(ext2_filsys fs, const struct ext2_inode_large *inode)
{
	size_t isize = EXT2_INODE_SIZE(fs->super), start;
	const unsigned char *base = (const unsigned char *)inode;
	uint32_t magic;

	if (!ext2fs_has_feature_ea_inode(fs->super) || isize <= EXT2_GOOD_OLD_INODE_SIZE)
		return 0;
	start = EXT2_GOOD_OLD_INODE_SIZE + inode->i_extra_isize;
	if (inode->i_extra_isize & 3 || start + sizeof(magic) > isize)
		return 0;
	memcpy(&magic, base + start, sizeof(magic));
	if (ext2fs_le32_to_cpu(magic) != EXT2_EXT_ATTR_MAGIC)
		return 0;
	return walk_entries(fs, base + start + sizeof(magic), base + isize);
}

uint64_t ick_ea_inode_blocks_block(ext2_filsys fs, const void *buf)
{
	const unsigned char *p = buf;
	uint32_t magic;

	if (!ext2fs_has_feature_ea_inode(fs->super))
		return 0;
	memcpy(&magic, p, sizeof(magic));
	if (ext2fs_le32_to_cpu(magic) != EXT2_EXT_ATTR_MAGIC)
		return 0;
	return walk_entries(fs, p + sizeof(struct ext2_ext_attr_header), p + fs->blocksize);
}
