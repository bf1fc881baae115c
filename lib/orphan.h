/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * orphan.h - release orphan inodes the way a mount does (the kernel's ext4_orphan_cleanup,
 * e2fsck's release_orphan_inodes): each inode on the s_last_orphan chain and in the
 * orphan file is deleted (no links left: blocks, EA block reference, inode freed) or
 * truncated to i_size (blocks wholly past it freed), with the owners' quota released
 * through quota_write.c; then the chain head and the orphan-file entries are cleared.
 * With ERROR_FS set nothing is released and only the head is cleared, as both do.
 *
 * Only on a file system opened read-write through the overlay io_manager (view.c): the
 * changes land in the overlay, never in the image.  The chain is walked with a visited
 * set and every inode number checked, so a loop or a wild number stops the walk with a
 * reason rather than running on.
 */
#ifndef ICK_ORPHAN_H
#define ICK_ORPHAN_H

#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"
#include "report.h"

struct ick_orphan_stats {
	unsigned deleted, truncated;
	int skipped_error_fs; /* ERROR_FS: the list was cleared, not processed */
	unsigned wild_blocks; /* block numbers outside the file system met while freeing */
	char why[160];        /* why the walk stopped early, "" if it did not */
};

/* Does @fs have orphans to release (a chain head, or the orphan_present feature)? */
int ick_orphans_present(ext2_filsys fs);

/*
 * ick_orphans_release - release every orphan of @fs (opened RW over an overlay).  Each
 * inode released is reported into @rep (JOURNAL_ORPHAN, info) when @rep is given.
 * Returns 0 (a broken chain is not an error: st->why), or a libext2fs code.
 */
ICK_MUST_CHECK errcode_t ick_orphans_release(ext2_filsys fs, struct ick_report *rep,
					     struct ick_orphan_stats *st);

#endif
