/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * check_unwritten.c - the unwritten check: every unwritten extent must belong to a regular
 * file, fit the kernel's length limit and not overlap another extent; one wholly past i_size
 * is legal (fallocate KEEP_SIZE) and reported as info.  Rules from the kernel's
 * ext4_ext_is_unwritten()/EXT_UNINIT_MAX_LEN (fs/ext4/ext4_extents.h) and e2fsck's
 * PR_1_UNINIT_DBLOCK.  Never writes.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include "check.h"

static errcode_t add(struct ick_ctx *ctx, uint32_t code, const struct ick_claim *c,
		     uint64_t expected, uint64_t found)
{
	struct ick_finding f = ick_finding_blank(code, c->ino);

	f.lblk = c->lblk;
	f.pblk = c->pblk;
	f.len = c->len;
	f.expected = expected;
	f.found = found;
	return ick_report_add(ctx->rep, &f, NULL);
}

/* Is @c (a valid unwritten extent) a problem?  Exposed for unit tests through the table. */
static errcode_t uw_claim(void *p, const struct ick_claim *c, struct ick_inode_ctx *ic)
{
	struct ick_ctx *ctx = p;
	uint64_t size, bs = ctx->fs->blocksize;
	errcode_t err;

	if (c->kind != ICK_CLAIM_DATA || !c->unwritten || !ic)
		return 0;
	if (c->bad == ICK_BAD_OVERLAP)
		return add(ctx, ICK_PR_UNWRITTEN_OVERLAP, c, ICK_NONE, ICK_NONE);
	if (c->bad)
		return 0;
	if (!LINUX_S_ISREG(ic->inode->i_mode) &&
	    (err = add(ctx, ICK_PR_UNWRITTEN_NOT_REGULAR, c, ICK_NONE, ic->inode->i_mode)))
		return err;
	if (c->len > ICK_UNINIT_MAX_LEN &&
	    (err = add(ctx, ICK_PR_UNWRITTEN_TOO_LONG, c, ICK_UNINIT_MAX_LEN, c->len)))
		return err;
	size = EXT2_I_SIZE(ic->inode);
	if (LINUX_S_ISREG(ic->inode->i_mode) && c->lblk * bs >= size)
		return add(ctx, ICK_PR_UNWRITTEN_PAST_EOF, c, ICK_NONE, size);
	return 0;
}

static errcode_t uw_setup(struct ick_ctx *ctx, void **state)
{
	*state = ctx;
	return 0;
}

const struct ick_check_def ick_check_unwritten = {
	.name = "unwritten",
	.id = ICK_CHECK_UNWRITTEN,
	.setup = uw_setup,
	.ops = { .claim = uw_claim },
};
