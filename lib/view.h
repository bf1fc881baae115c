/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * view.h - open an image as the kernel would see it after mount: when the journal needs
 * recovery, replay it into an overlay (journal.c) and open the file system through the
 * overlay's io_manager, so every check runs unchanged on the recovered view while the
 * image file stays read-only.
 *
 * What is reported (into @rep, when given): one note line saying how the image was read
 * (recovered: transactions, blocks replayed and revoked, last sequence; or raw, and why),
 * JOURNAL_CORRUPT when the journal cannot be recovered (the raw image is then checked, as
 * nothing else is honest: the kernel would refuse to mount it), JOURNAL_NOT_RECOVERED when
 * recovery was skipped (norecovery, or an external journal not given), JOURNAL_TXN_CORRUPT
 * when a corrupt commit stopped the replay early (the view is what the kernel replays).
 * Fast commits are replayed after the full transactions (fast_commit.h) and counted in
 * the note line.
 *
 * Orphans are released in the view as a mount releases them (orphan.c: deleted or
 * truncated to i_size, quota returned), whether or not the journal needed recovery; each
 * is reported (JOURNAL_ORPHAN, info) and the note line counts them.  With norecovery the
 * image is checked exactly as it is on disk, orphans included.
 */
#ifndef ICK_VIEW_H
#define ICK_VIEW_H

#include "image.h"
#include "journal.h"
#include "report.h"

struct ick_memo;
struct ick_view_opts {
	int norecovery;          /* check the image as it is on disk */
	const char *ext_journal; /* external journal device, or NULL */
	io_manager io;           /* reads the image (NULL: unix_io after a libblkid probe) */
	struct ick_memo *memo;   /* journal checksum verdicts kept between views, or NULL */
	struct ick_sb_choice sb; /* e2fsck's -b/-B; zero: primary, or backup as e2fsck falls back */
	/* Called, when there are orphans, with the view recovered but before they are
	 * released: the state the running kernel had, which only a crash's orphan release
	 * changes (the stale tracker follows this one: stale_log.h).  NULL: none. */
	errcode_t (*before_orphans)(void *priv, struct ick_image *img);
	void *priv;
};

/*
 * ick_view_open - open @path read-only, recovered when it needs recovery.
 * Returns 0 and *out (the journal's stats are in the note line), or what ick_image_open or
 * ick_journal_recover return for operational failures (I/O, memory, not ext2/3/4).
 */
ICK_MUST_CHECK errcode_t ick_view_open(const char *path, const struct ick_view_opts *o,
				       struct ick_report *rep, struct ick_image **out);

/*
 * ick_view_dump - write every block of @img's view (recovered or not) to @out_path, a
 * regular file created or truncated (all-zero blocks are left as holes).  Refuses the
 * image itself (EEXIST).
 */
ICK_MUST_CHECK errcode_t ick_view_dump(struct ick_image *img, const char *out_path);

/* EEXIST when @a and @b name one file (same device and inode), else 0: an output that
 * would overwrite an input is refused. */
ICK_MUST_CHECK errcode_t ick_same_file(const char *a, const char *b);

#endif
