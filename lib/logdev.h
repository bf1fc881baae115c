/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * logdev.h - the device a dm-log-writes log describes at some entry: the base image with
 * the log's writes on top, without copying them.  Each written sector maps to where its
 * newest data lies in the log file (or to zeros, for a discard); reads assemble the bytes
 * from the log and the base with one pread per run.  Memory is one 16-byte slot per
 * distinct sector written, at most twice over in the hash table: at most 1/16 of the log's
 * size for 512-byte sectors, whatever the log writes; one 24-byte range per discard.
 *
 * The base is read through a read-only mapping when it is a regular file, the log through
 * the log reader's (a file truncated by someone else while the sweep runs then ends it
 * with SIGBUS, as for any reader that maps its input); otherwise with pread.
 *
 * ick_logdev_io_manager serves a logdev read-only to libext2fs (view.c stacks journal
 * recovery on top of it); each channel serves the logdev registered for the name it opens
 * (ick_logdev_io_register; io_chan.h), taken at open.
 */
#ifndef ICK_LOGDEV_H
#define ICK_LOGDEV_H
#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"
#include "io_chan.h"
#include "log.h"

struct ick_logdev;
/* @base: the device when logging began (read-only; reads past its end are zeros);
 * @log: the log whose payloads the sectors read (not owned; its sector size is the
 * device's). */
ICK_MUST_CHECK errcode_t ick_logdev_new(const char *base, const struct ick_log *log,
					struct ick_logdev **out);
void ick_logdev_free(struct ick_logdev *d);
/* Sectors [sector, sector+n) now read from the log at @log_off. */
ICK_MUST_CHECK errcode_t ick_logdev_map(struct ick_logdev *d, uint64_t sector, uint64_t n,
					uint64_t log_off);
/* Sectors [sector, sector+n) now read as zeros; @pos is the entry's position in the log
 * (entries are applied in log order).  Kept as a range: a discard's length is unbounded. */
ICK_MUST_CHECK errcode_t ick_logdev_discard(struct ick_logdev *d, uint64_t sector, uint64_t n,
					    uint64_t pos);
/* Apply one log entry: a write maps its sectors to its payload, a discard zeroes its
 * range, a mark (or an empty flush) changes nothing.  The log holds the data; the device
 * only records where each sector's newest bytes are. */
ICK_MUST_CHECK errcode_t ick_logdev_apply(struct ick_logdev *d, const struct ick_log_entry *e);
/* Is the mapping of @sector at @log_off newer than every discard over it? */
int ick_logdev_current(const struct ick_logdev *d, uint64_t sector, uint64_t log_off);
/* The oldest of the newest writes to sectors [sector, sector+n): the log offset of its
 * payload; 0 when any of them reads the base or a discard's zeros (no write since). */
uint64_t ick_logdev_written_at(const struct ick_logdev *d, uint64_t sector, uint64_t n);
errcode_t ick_logdev_iterate_discards(const struct ick_logdev *d,
				      errcode_t (*fn)(uint64_t sector, uint64_t n, void *priv),
				      void *priv);
ICK_MUST_CHECK errcode_t ick_logdev_pread(struct ick_logdev *d, uint64_t off, size_t len,
					  void *buf);
unsigned ick_logdev_sectorsize(const struct ick_logdev *d);
size_t ick_logdev_discards(const struct ick_logdev *d); /* discards applied so far */
/* Every mapped sector (no order); non-zero from @fn stops and is returned. */
errcode_t ick_logdev_iterate(const struct ick_logdev *d,
			     errcode_t (*fn)(uint64_t sector, uint64_t log_off, void *priv),
			     void *priv);
extern io_manager ick_logdev_io_manager;
/* Register @r: opens of @name through ick_logdev_io_manager serve @d, until
 * ick_io_unregister(@r). */
void ick_logdev_io_register(struct ick_io_reg *r, const char *name, struct ick_logdev *d);
#endif
