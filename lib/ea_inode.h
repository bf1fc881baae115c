/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ea_inode.h - blocks an inode is charged for through EA inodes (the ea_inode feature):
 * each xattr whose value lives in its own inode adds that value's size, rounded up to
 * blocks, to the owner's i_blocks and quota.  Parsed by hand: libext2fs's xattr API hides
 * e_value_inum.  Every offset is bounds-checked against the inode or block.
 */
#ifndef ICK_EA_INODE_H
#define ICK_EA_INODE_H

#include <ext2fs/ext2fs.h>

/* Blocks charged for EA-inode values referenced from the in-inode xattr area. */
uint64_t ick_ea_inode_blocks_ibody(ext2_filsys fs, const struct ext2_inode_large *inode);

/* Blocks charged for EA-inode values referenced from one EA block (@buf: fs->blocksize). */
uint64_t ick_ea_inode_blocks_block(ext2_filsys fs, const void *buf);

#endif
