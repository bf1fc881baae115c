/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * recovery_cmp.h - does our journal recovery do what the kernel's did?
 *
 * Given a crashed image (one that needs recovery) and the same device after the kernel
 * mounted it (journal replayed) and unmounted it, every block our replay writes
 * (journal.c) is compared with that block of the kernel's image.  The file system's
 * superblock and the journal's superblock are left out: the kernel rewrites both after
 * recovery for its own reasons (mount time and count, state, the journal's next
 * sequence).  A block that differs from our replay but equals our view after orphan
 * release (view.c) is counted as equal: the kernel's mount released the same orphans.  A
 * block both orphan releases changed, differently, is counted apart and not judged: a
 * deleted orphan's inode holds each side's clock (i_dtime).  Every other difference is
 * JOURNAL_RECOVERY_DIFFERS, and so is every block outside the journal that the kernel
 * changed (RECOVERED against CRASHED) and neither our replay nor our orphan release
 * writes: a transaction it replayed and we did not.  The journal's own blocks are left out
 * there: after a read-write mount the kernel writes new transactions into it.  Both
 * images are only read.
 */
#ifndef ICK_RECOVERY_CMP_H
#define ICK_RECOVERY_CMP_H
#include <stdint.h>
#include "ick_compiler.h"
#include "journal.h"
#include "report.h"

struct ick_recovery_cmp {
	struct ick_journal_stats journal; /* our replay */
	uint64_t blocks;      /* distinct blocks our replay writes (compared) */
	uint64_t skipped;     /* the two superblocks */
	uint64_t equal;       /* as the kernel left them */
	uint64_t equal_after_orphans;
	uint64_t orphan_changed; /* changed by both orphan releases, not judged */
	uint64_t differ;
	uint64_t kernel_only;    /* blocks the kernel changed that we do not write */
};

/* Returns 0 with @out filled and findings in @rep (nothing to replay is not an error), or
 * what opening either image or ick_journal_recover returns. */
ICK_MUST_CHECK errcode_t ick_recovery_compare(const char *crashed, const char *recovered,
					      struct ick_report *rep, struct ick_recovery_cmp *out);

#endif
