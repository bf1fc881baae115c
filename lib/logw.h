/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * logw.h - writing dm-log-writes logs (the format: log.h).  ick_logw_* append entries and
 * rewrite the super after each FUA or MARK entry and at close, as the kernel target does.
 * A writer may be bound to the io_channel recording into it (logw_io.h), whose device
 * bytes its commits read back.
 */
#ifndef ICK_LOGW_H
#define ICK_LOGW_H
#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"
#include "log.h"

struct ick_logw;
ICK_MUST_CHECK errcode_t ick_logw_create(const char *path, unsigned sectorsize,
					 struct ick_logw **out);
/* Append one entry; @data holds nr_sectors sectors (ignored for DISCARD, MARK). */
ICK_MUST_CHECK errcode_t ick_logw_append(struct ick_logw *lw, uint64_t sector,
					 uint64_t nr_sectors, uint64_t flags, const void *data);
ICK_MUST_CHECK errcode_t ick_logw_mark(struct ick_logw *lw, const char *name);
/* The longest mark name @lw's sector holds (its header, the name, a NUL). */
size_t ick_logw_mark_max(const struct ick_logw *lw);
unsigned ick_logw_sectorsize(const struct ick_logw *lw);
/* Close, writing the final super; NULL accepted. */
errcode_t ick_logw_close(struct ick_logw *lw);
/* The device channel recording into @lw (NULL: none); set by the recorder only. */
void ick_logw_bind(struct ick_logw *lw, io_channel dev);
io_channel ick_logw_bound(const struct ick_logw *lw);

#endif
