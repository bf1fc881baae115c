/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkdev.c - sizes of regular files and block devices, and whether a device is mounted
 * (blkdev.h).  Never reads or writes the contents.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h> /* BLKGETSIZE64 */
#include "blkdev.h"
#include "ick_err.h"

errcode_t ick_fd_size(int fd, uint64_t *size)
{
	struct stat st;

	*size = 0;
	if (fstat(fd, &st))
		return errno;
	if (S_ISREG(st.st_mode)) {
		*size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
		return 0;
	}
	if (!S_ISBLK(st.st_mode))
		return ICK_ET_NOT_FILE_OR_DEVICE;
	return ioctl(fd, BLKGETSIZE64, size) ? errno : 0;
}

errcode_t ick_path_size(const char *path, uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	errcode_t err;

	*size = 0;
	if (fd < 0)
		return errno;
	err = ick_fd_size(fd, size);
	close(fd);
	return err;
}

int ick_path_mounted(const char *path, char *where, size_t where_len)
{
	struct stat st;
	char buf[4096] = "";
	int flags = 0;

	if (where && where_len)
		where[0] = '\0';
	if (stat(path, &st) || !S_ISBLK(st.st_mode))
		return 0; /* an image file: not a mounted device (a loop mount shows as /dev/loopN) */
	if (ext2fs_check_mount_point(path, &flags, buf, sizeof(buf)))
		return -1;
	if (!(flags & EXT2_MF_MOUNTED))
		return 0;
	if (where && where_len) {
		strncpy(where, buf, where_len - 1);
		where[where_len - 1] = '\0';
	}
	return 1;
}

errcode_t ick_refuse_mounted(const char *path)
{
	return ick_path_mounted(path, NULL, 0) == 1 ? ICK_ET_MOUNTED : 0;
}
