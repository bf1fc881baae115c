/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * logw_io.h - the recording io_manager: opens the image with unix_io and records every
 * write, zeroout and flush made through it to a log writer (logw.h); the write path's
 * commits are then made FUA by ick_logw_commit, so our own write path leaves the same kind
 * of log the kernel does.
 *
 * The writer a channel records to is its own: taken at open from the registration
 * (io_chan.h) of ick_logw_io_manager for the name opened, by the first channel that opens
 * it; none: the channel records nothing until one is set with ick_logw_io_set.
 */
#ifndef ICK_LOGW_IO_H
#define ICK_LOGW_IO_H
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"
#include "io_chan.h"
#include "logw.h"

extern io_manager ick_logw_io_manager;
/* Register @r: the first channel of ick_logw_io_manager opened on @name records to @lw
 * (NULL: nothing), until ick_io_unregister(@r). */
void ick_logw_io_register(struct ick_io_reg *r, const char *name, struct ick_logw *lw);
/* Record from now on to @lw (NULL: stop) on an open recording channel. */
ICK_MUST_CHECK errcode_t ick_logw_io_set(io_channel ch, struct ick_logw *lw);
/* A metadata commit just completed: log the primary superblock again as a FLUSH|FUA
 * write (the commit record), as a jbd2 commit block is written. */
ICK_MUST_CHECK errcode_t ick_logw_commit(struct ick_logw *lw);

#endif
