/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sweep_replay.h - private to lib/sweep*.c: what the sweep does as xfstests' replay-log
 * does, so that its outputs can replace replay-log's: the zero device a log without a base
 * is replayed onto, --replay OUT (the device at the end as an image file), and --fsck CMD
 * (a replay target kept in step with the log entry by entry, the command run on it at each
 * crash point).  The sweep's device is only read; only OUT is written.
 */
#ifndef ICK_SWEEP_REPLAY_H
#define ICK_SWEEP_REPLAY_H
#include <stdint.h>
#include "logdev.h"
#include "log.h"

#define ICK_SWEEP_CHUNK (1u << 20) /* bytes of scratch the functions below need */

/* The sweep's device, as these functions read it. */
struct ick_sweep_replay {
	const char *path;         /* the device: the base image, or the zero device */
	const char *logpath;      /* the log (an output must not be it either) */
	struct ick_log *log;
	struct ick_logdev *ld;    /* the log's writes over the device */
	uint64_t size;            /* bytes in the device */
	unsigned char *buf;       /* ICK_SWEEP_CHUNK bytes of scratch */
};

/* A sparse zero file (in /tmp) big enough for every write of @log_path; *out: its path. */
ICK_MUST_CHECK errcode_t ick_sweep_replay_zero_device(const char *log_path, char **out);
/* --replay: @out becomes the device as it stands (the base copied, the writes over it);
 * EEXIST when @out is the device or the log, ENOSPC when a block device is too small. */
ICK_MUST_CHECK errcode_t ick_sweep_replay_write(const struct ick_sweep_replay *r,
						const char *out);
/* --fsck: entry @e applied to the target @fd (a discard zeroes no more than the device). */
ICK_MUST_CHECK errcode_t ick_sweep_replay_follow(const struct ick_sweep_replay *r, int fd,
						 const struct ick_log_entry *e);
/* --fsck: @fd synced, then @cmd run by the shell; *status: its exit status (127: it could
 * not run, 128: it did not exit). */
ICK_MUST_CHECK errcode_t ick_sweep_replay_fsck(int fd, const char *cmd, int *status);

#endif
