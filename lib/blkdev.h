/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkdev.h - the size and mount state of a path we are given: a regular file or a block
 * device (a loop device, $LOGWRITES_DEV in fstests).  st_size is 0 for a block device; its
 * size comes from BLKGETSIZE64.  The mount check is libext2fs's ext2fs_check_mount_point(),
 * the one e2fsck and mke2fs use.  Nothing here reads or writes the contents.
 */
#ifndef ICK_BLKDEV_H
#define ICK_BLKDEV_H

#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"

/* Bytes in the regular file or block device open on @fd; ICK_ET_NOT_FILE_OR_DEVICE for
 * anything else (a pipe, a directory, a character device). */
ICK_MUST_CHECK errcode_t ick_fd_size(int fd, uint64_t *size);

/* The same for @path (opened read-only for the ioctl, then closed). */
ICK_MUST_CHECK errcode_t ick_path_size(const char *path, uint64_t *size);

/* Is @path a block device the system has mounted?  0: no, 1: yes (with the mount point in
 * @where, if given, NUL-terminated), -1: cannot tell (ext2fs_check_mount_point failed). */
int ick_path_mounted(const char *path, char *where, size_t where_len);

/* ICK_ET_MOUNTED when @path is a mounted block device: for paths we would write. */
ICK_MUST_CHECK errcode_t ick_refuse_mounted(const char *path);

#endif
