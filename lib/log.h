/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * log.h - dm-log-writes logs (the kernel's drivers/md/dm-log-writes.c format, all
 * little-endian): a super sector {magic "rhswfsj\0", version 1, nr_entries, sectorsize},
 * then entries, each a header sector {sector, nr_sectors, flags, data_len} (a MARK's name
 * follows the 32-byte header in the same sector) and, except for DISCARD, nr_sectors
 * sectors of data.  No installed library reads or writes this format, hence this module
 * (the format and its reader; logw.h writes it, logw_io.h records an io_channel into it).
 *
 * Reading: every field is checked against the log's size before anything is allocated or
 * read; entries past nr_entries are not read (as xfstests' replay-log); a truncated or
 * damaged log is read up to its last whole entry and ick_log_next says why it stopped.
 * Data is not held in memory: ick_log_read_data reads an entry's payload in pieces.
 */
#ifndef ICK_LOG_H
#define ICK_LOG_H
#include <stdint.h>
#include <stdio.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"

#define ICK_LOG_MAGIC 0x6a736677736872ULL
#define ICK_LOG_VERSION 1
#define ICK_LOG_HDR 32 /* bytes of an entry's header (a mark's name follows) */
#define ICK_LOG_FLUSH    0x01
#define ICK_LOG_FUA      0x02
#define ICK_LOG_DISCARD  0x04
#define ICK_LOG_MARK     0x08
#define ICK_LOG_METADATA 0x10
#define ICK_LOG_MARK_MAX 4063 /* sectorsize - 33 on a 4 KiB log */

struct ick_log_entry {
	uint64_t index;          /* 0-based */
	uint64_t sector, nr_sectors, flags, data_len;
	uint64_t data_off;       /* byte offset of the payload in the log file */
	uint64_t data_bytes;     /* payload bytes (0 for DISCARD and MARK) */
	char mark[ICK_LOG_MARK_MAX + 1]; /* MARK: the name, NUL-terminated */
};

struct ick_log;

/* "FLUSH|FUA|…" for an entry's flags (unknown bits as UNKNOWN.0x…, as replay-log
 * prints them; "NONE" for none). */
const char *ick_log_flags_text(uint64_t flags, char *buf, size_t len);

/* Open @path; ICK_ET_LOG_CORRUPT (bad magic, version, sector size; see ick_log_why). */
ICK_MUST_CHECK errcode_t ick_log_open(const char *path, struct ick_log **out);
void ick_log_close(struct ick_log *log);
unsigned ick_log_sectorsize(const struct ick_log *log);
uint64_t ick_log_nr_entries(const struct ick_log *log);
/* Why the log stopped early or failed to open ("" if not). */
const char *ick_log_why(const struct ick_log *log);
/* The next entry: 0, ICK_ET_LOG_END (nr_entries read), ICK_ET_LOG_CORRUPT (the entry is
 * damaged or truncated: the log ends before it; ick_log_why says why). */
ICK_MUST_CHECK errcode_t ick_log_next(struct ick_log *log, struct ick_log_entry *e);
/* @len bytes of the log file from byte @off (through the log's mapping when it is a
 * regular file, so every reader of the log shares one). */
ICK_MUST_CHECK errcode_t ick_log_pread(const struct ick_log *log, uint64_t off, void *buf,
				       size_t len);
/* Read @len bytes of @e's payload from byte @off of it. */
ICK_MUST_CHECK errcode_t ick_log_read_data(struct ick_log *log, const struct ick_log_entry *e,
					   uint64_t off, void *buf, size_t len);

#endif
