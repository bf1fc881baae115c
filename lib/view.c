/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * view.c - the image as the kernel sees it after mount (contract in view.h).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ick_err.h"
#include "view.h"
#include "orphan.h"

static errcode_t note(struct ick_report *rep, const char *fmt, ...) ICK_PRINTF(2, 3);

static errcode_t note(struct ick_report *rep, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (!rep)
		return 0;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ENOMEM;
	free(rep->note);
	rep->note = s;
	return 0;
}

static errcode_t finding(struct ick_report *rep, uint32_t code, const char *detail)
{
	struct ick_finding f = ick_finding_blank(code, 0);

	return rep ? ick_report_add(rep, &f, "%s", detail) : 0;
}

/* The journal could not or would not be replayed: say so, and check the raw image. */
static errcode_t keep_raw(struct ick_report *rep, errcode_t why, const struct ick_journal_stats *st,
			  const struct ick_view_opts *o)
{
	errcode_t err;

	if (why == ICK_ET_JOURNAL_CORRUPT) {
		if ((err = finding(rep, ICK_PR_JOURNAL_CORRUPT, st->why)))
			return err;
		return note(rep, "journal: cannot be recovered (%s); checked the image as it is "
			    "on disk", st->why);
	}
	if ((err = finding(rep, ICK_PR_JOURNAL_NOT_RECOVERED,
			   o->norecovery ? "iomap_norecovery was given"
					 : "the journal is on an external device; give "
					   "iomap_journal=PATH")))
		return err;
	return note(rep, "journal: needs recovery, not recovered (%s); checked the image as it "
		    "is on disk", o->norecovery ? "iomap_norecovery" : "external journal not given");
}

static errcode_t recovered_note(struct ick_report *rep, const struct ick_journal_stats *st);

static errcode_t report_recovered(struct ick_report *rep, const struct ick_journal_stats *st)
{
	char *old;
	errcode_t err;

	if ((err = recovered_note(rep, st)) || !rep)
		return err;
	if (st->fc_commits) {
		old = rep->note;
		rep->note = NULL;
		err = note(rep, "%s; then %u fast commit%s (%u tags: %u inodes, %u ranges, %u "
			   "names)", old ? old : "journal:", st->fc_commits,
			   st->fc_commits == 1 ? "" : "s", st->fc_tags, st->fc_inodes, st->fc_ranges,
			   st->fc_dentries);
		free(old);
		if (err)
			return err;
	}
	if (!st->backup)
		return 0;
	old = rep->note;
	rep->note = NULL;
	err = note(rep, "%s; the journal inode is unusable, read through the superblock's backup "
		   "of its blocks (s_jnl_blocks) as e2fsck does", old ? old : "journal:");
	free(old);
	return err;
}

static errcode_t recovered_note(struct ick_report *rep, const struct ick_journal_stats *st)
{
	char d[160];
	errcode_t err;

	if (st->failed_commit) {
		snprintf(d, sizeof(d), "transaction %u: its commit block fails its checksum; "
			 "transactions from it on were not replayed", st->failed_commit);
		if ((err = finding(rep, ICK_PR_JOURNAL_TXN_CORRUPT, d)))
			return err;
	}
	if (!st->needed)
		return note(rep, "journal: needs_recovery set but the log is empty; checked the "
			    "image with the flag cleared");
	if (st->end_seq == st->first_seq)
		return note(rep, "journal: recovered 0 transactions (no complete transaction at "
			    "sequence %u); checked the recovered view", st->first_seq);
	return note(rep, "journal: recovered %u transaction%s (sequence %u to %u), replayed %llu "
		    "block%s, %llu revoked; checked the recovered view",
		    st->end_seq - st->first_seq, st->end_seq - st->first_seq == 1 ? "" : "s",
		    st->first_seq, st->end_seq - 1, (unsigned long long)st->replayed,
		    st->replayed == 1 ? "" : "s", (unsigned long long)st->revoke_hits);
}

/* Open @path through @ov over @io (read-only, or read-write into the overlay). */
static errcode_t open_over(const char *path, struct ick_overlay *ov, io_manager io, int flags,
			   const struct ick_sb_choice *sb, struct ick_image **out)
{
	struct ick_io_reg reg;
	errcode_t err;

	ick_overlay_io_register(&reg, path, ov, io);
	err = ick_image_open_sb(path, flags, ick_overlay_io_manager, sb, out);
	ick_io_unregister(&reg);
	return err;
}

/* Release the orphans into @ov as a mount would (orphan.c), then close: it all lands in @ov. */
static errcode_t release_orphans(const char *path, struct ick_overlay *ov, io_manager io,
				 const struct ick_sb_choice *sb, struct ick_report *rep,
				 struct ick_orphan_stats *os)
{
	struct ick_image *rw = NULL;
	errcode_t err, err2;

	if ((err = open_over(path, ov, io, ICK_OPEN_RW, sb, &rw)))
		return err;
	rw->fs->flags |= EXT2_FLAG_MASTER_SB_ONLY; /* as e2fsck: backups are not touched */
	err = ick_orphans_release(rw->fs, rep, os);
	err2 = ext2fs_close_free(&rw->fs);
	ick_image_close(rw);
	return err ? err : err2;
}

static errcode_t orphan_note(struct ick_report *rep, const struct ick_orphan_stats *os)
{
	char *old;
	errcode_t err;

	if (!rep || (!os->deleted && !os->truncated && !os->why[0] && !os->skipped_error_fs))
		return 0;
	old = rep->note;
	rep->note = NULL;
	if (os->skipped_error_fs)
		err = note(rep, "%s%sorphans: ERROR_FS is set, so the orphan list was cleared, not "
			   "processed (as a mount does)", old ? old : "", old ? "; " : "");
	else
		err = note(rep, "%s%sorphans: %u deleted, %u truncated in the view as a mount "
			   "does%s%s%s", old ? old : "", old ? "; " : "", os->deleted, os->truncated,
			   os->why[0] ? "; stopped early: " : "", os->why,
			   os->wild_blocks ? "; their maps held block numbers outside the file "
					     "system, left alone" : "");
	free(old);
	return err;
}

errcode_t ick_view_open(const char *path, const struct ick_view_opts *o, struct ick_report *rep,
			struct ick_image **out)
{
	static const struct ick_view_opts none;
	struct ick_image *raw = NULL, *img = NULL;
	struct ick_overlay *ov = NULL;
	struct ick_journal_stats st;
	struct ick_orphan_stats os;
	struct ick_sb_choice use;
	char sb_note[sizeof(raw->sb_note)];
	int recovered = 0;
	errcode_t err;

	if (!o)
		o = &none;
	*out = NULL;
	memset(&st, 0, sizeof(st));
	if ((err = ick_image_open_sb(path, 0, o->io, &o->sb, &raw)))
		return err == ICK_ET_UNSUPPORTED_FEATURE || err == ICK_ET_BAD_GEOMETRY ? (*out = raw, err)
										     : err;
	if (o->norecovery || (!raw->needs_recovery && !ick_orphans_present(raw->fs))) {
		if (raw->needs_recovery && (err = keep_raw(rep, ICK_ET_NO_EXT_JOURNAL, &st, o)))
			goto fail;
		*out = raw;
		return 0;
	}
	/* The copy chosen on the raw image is read again through the overlay, as e2fsck keeps
	 * ctx->superblock when it reopens after journal recovery (e2fsck/journal.c). */
	use = o->sb;
	if (raw->superblock)
		use = (struct ick_sb_choice){ raw->superblock, raw->fs->blocksize };
	memcpy(sb_note, raw->sb_note, sizeof(sb_note));
	if ((err = ick_overlay_new(raw->fs->blocksize, &ov)))
		goto fail;
	if (raw->needs_recovery) {
		err = ick_journal_recover_memo(raw->fs, o->ext_journal, ov, &st, o->memo);
		if (err == ICK_ET_JOURNAL_CORRUPT || err == ICK_ET_NO_EXT_JOURNAL) {
			ick_overlay_free(ov);
			if ((err = keep_raw(rep, err, &st, o)))
				goto fail_raw;
			*out = raw;
			return 0;
		}
		if (err)
			goto fail;
		recovered = 1;
		if ((err = report_recovered(rep, &st)))
			goto fail;
	}
	ick_image_close(raw);
	raw = NULL;
	if ((err = open_over(path, ov, o->io, 0, &use, &img)))
		goto fail;
	if (ick_orphans_present(img->fs)) {
		if (o->before_orphans) {
			img->recovered = img->needs_recovery = recovered;
			if ((err = o->before_orphans(o->priv, img)))
				goto fail;
		}
		ick_image_close(img);
		img = NULL;
		if ((err = release_orphans(path, ov, o->io, &use, rep, &os)) ||
		    (err = orphan_note(rep, &os)) ||
		    (err = open_over(path, ov, o->io, 0, &use, &img)))
			goto fail;
	}
	img->overlay = ov;
	img->recovered = recovered;
	img->needs_recovery = recovered;
	memcpy(img->sb_note, sb_note, sizeof(sb_note));
	*out = img;
	return 0;
fail:
	ick_image_close(img); /* before the overlay it reads through */
	img = NULL;
	ick_overlay_free(ov);
fail_raw:
	ick_image_close(raw);
	ick_image_close(img);
	return err;
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

errcode_t ick_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	    sa.st_ino == sb.st_ino)
		return EEXIST;
	return 0;
}

errcode_t ick_view_dump(struct ick_image *img, const char *out_path)
{
	ext2_filsys fs = img->fs;
	uint64_t n = ext2fs_blocks_count(fs->super);
	unsigned char *buf;
	errcode_t err = 0;
	int fd;

	if ((err = ick_same_file(img->path, out_path)))
		return err;
	if ((fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return errno;
	if (!(buf = malloc(fs->blocksize))) {
		close(fd);
		return ENOMEM;
	}
	for (uint64_t b = 0; b < n && !err; b++) {
		if ((err = io_channel_read_blk64(fs->io, b, 1, buf)))
			break;
		if (all_zero(buf, fs->blocksize))
			continue;
		if (pwrite(fd, buf, fs->blocksize, (off_t)(b * fs->blocksize)) !=
		    (ssize_t)fs->blocksize)
			err = errno ? errno : EIO;
	}
	if (!err && ftruncate(fd, (off_t)(n * fs->blocksize)) < 0)
		err = errno;
	if (close(fd) < 0 && !err)
		err = errno;
	free(buf);
	return err;
}
