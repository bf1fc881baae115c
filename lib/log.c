/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * log.c - the dm-log-writes reader (see log.h).  Written by hand: no installed library
 * handles this format.  Facts from the kernel's drivers/md/dm-log-writes.c and xfstests'
 * src/log-writes/log-writes.c (validity rules).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ick_err.h"
#include "log.h"
#include "blkdev.h"
#include "io_chan.h"

#define HDR ICK_LOG_HDR

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static errcode_t pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got;
	errcode_t err = ick_fd_pread(fd, buf, len, off, &got);

	return err ? err : got < len ? EXT2_ET_SHORT_READ : 0;
}

const char *ick_log_flags_text(uint64_t flags, char *buf, size_t len)
{
	static const char *const n[] = { "FLUSH", "FUA", "DISCARD", "MARK", "METADATA" };
	size_t used = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < 64; i++) {
		if (!(flags >> i & 1))
			continue;
		if (i < 5)
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
						 used ? "|" : "", n[i]);
		else
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0,
						 "%sUNKNOWN.%#llx", used ? "|" : "",
						 1ULL << i);
	}
	if (!used)
		snprintf(buf, len, "NONE");
	return buf;
}

struct ick_log {
	int fd;
	uint64_t size;        /* bytes in the file */
	unsigned ss;          /* sectorsize */
	uint64_t nr_entries;
	uint64_t next;        /* index of the next entry */
	uint64_t pos;         /* its byte offset */
	unsigned char *sec;   /* one sector */
	const unsigned char *map; /* the file mapped read-only (NULL: pread) */
	uint64_t unmapped;    /* pages of the map before this were given back */
	unsigned char *ra;    /* read-ahead of headers: entries without data are adjacent */
	uint64_t ra_off;
	size_t ra_len;
	char why[160];
};
#define READAHEAD (64u << 10)
#define GIVE_BACK (8u << 20)

errcode_t ick_log_open(const char *path, struct ick_log **out)
{
	struct ick_log *log;
	unsigned char sup[HDR];
	struct stat st;
	errcode_t err;

	*out = NULL;
	if (!(log = calloc(1, sizeof(*log))))
		return ENOMEM;
	if ((log->fd = open(path, O_RDONLY)) < 0 || fstat(log->fd, &st)) {
		err = errno;
		goto fail;
	}
	/* a log on a block device ($LOGWRITES_DEV) has st_size 0: BLKGETSIZE64 */
	if ((err = ick_fd_size(log->fd, &log->size)))
		goto fail;
	if (log->size < 512 || (err = pread_all(log->fd, sup, HDR, 0))) {
		snprintf(log->why, sizeof(log->why), "shorter than a super sector");
		err = ICK_ET_LOG_CORRUPT;
		goto fail;
	}
	log->ss = (unsigned)(sup[24] | sup[25] << 8 | sup[26] << 16 | (uint32_t)sup[27] << 24);
	log->nr_entries = get64(sup + 16);
	if (get64(sup) != ICK_LOG_MAGIC)
		snprintf(log->why, sizeof(log->why), "bad magic %#llx",
			 (unsigned long long)get64(sup));
	else if (get64(sup + 8) != ICK_LOG_VERSION)
		snprintf(log->why, sizeof(log->why), "unsupported version %llu",
			 (unsigned long long)get64(sup + 8));
	else if (log->ss < 512 || log->ss > 65536 || (log->ss & (log->ss - 1)))
		snprintf(log->why, sizeof(log->why), "impossible sector size %u", log->ss);
	else if (log->size < log->ss)
		snprintf(log->why, sizeof(log->why), "shorter than its super sector");
	if (log->why[0]) {
		err = ICK_ET_LOG_CORRUPT;
		goto fail;
	}
	if (!(log->sec = malloc(log->ss))) {
		err = ENOMEM;
		goto fail;
	}
	if (S_ISREG(st.st_mode) && log->size <= SIZE_MAX) {
		void *m = mmap(NULL, (size_t)log->size, PROT_READ, MAP_SHARED, log->fd, 0);
		log->map = m == MAP_FAILED ? NULL : m;
	}
	log->pos = log->ss;
	*out = log;
	return 0;
fail:
	*out = log->why[0] ? log : NULL;
	if (!*out) {
		if (log->fd >= 0)
			close(log->fd);
		free(log);
	}
	return err;
}

void ick_log_close(struct ick_log *log)
{
	if (!log)
		return;
	if (log->fd >= 0)
		close(log->fd);
	free(log->sec);
	free(log->ra);
	if (log->map)
		munmap((void *)log->map, (size_t)log->size);
	free(log);
}

unsigned ick_log_sectorsize(const struct ick_log *log) { return log->ss; }
uint64_t ick_log_nr_entries(const struct ick_log *log) { return log->nr_entries; }
const char *ick_log_why(const struct ick_log *log) { return log->why; }

static errcode_t corrupt(struct ick_log *log, const char *what)
{
	snprintf(log->why, sizeof(log->why), "entry %llu at byte %llu: %s",
		 (unsigned long long)log->next, (unsigned long long)log->pos, what);
	return ICK_ET_LOG_CORRUPT;
}

/* The header sector at log->pos into log->sec, through the read-ahead window. */
static errcode_t read_header(struct ick_log *log)
{
	unsigned ss = log->ss;
	ssize_t n;

	if (log->map) { /* the caller checked pos + ss <= size */
		memcpy(log->sec, log->map + log->pos, ss);
		/* headers are read once, in order: the pages behind are dropped from this
		 * process (the page cache keeps them), so resident memory stays what the sweep
		 * holds, not the log's size */
		if (log->pos - log->unmapped >= GIVE_BACK) {
			uint64_t to = log->pos & ~(uint64_t)(GIVE_BACK - 1);
			if (!madvise((void *)(log->map + log->unmapped), (size_t)(to - log->unmapped),
				     MADV_DONTNEED))
				log->unmapped = to;
		}
		return 0;
	}
	if (log->pos < log->ra_off || log->pos - log->ra_off + ss > log->ra_len) {
		if (!log->ra && !(log->ra = malloc(READAHEAD)))
			return ENOMEM;
		log->ra_len = 0;
		do
			n = pread(log->fd, log->ra, READAHEAD, (off_t)log->pos);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return errno;
		log->ra_off = log->pos;
		log->ra_len = (size_t)n;
		if (log->ra_len < ss) /* the size was checked: a file that shrank under us */
			return EIO;
	}
	memcpy(log->sec, log->ra + (log->pos - log->ra_off), ss);
	return 0;
}

errcode_t ick_log_next(struct ick_log *log, struct ick_log_entry *e)
{
	unsigned ss = log->ss;
	uint64_t left;
	errcode_t err;

	if (log->next >= log->nr_entries)
		return ICK_ET_LOG_END;
	if (log->pos > log->size || log->size - log->pos < ss)
		return corrupt(log, "the log ends inside its header (truncated)");
	if ((err = read_header(log)))
		return err;
	memset(e, 0, sizeof(*e));
	e->index = log->next;
	e->sector = get64(log->sec);
	e->nr_sectors = get64(log->sec + 8);
	e->flags = get64(log->sec + 16);
	e->data_len = get64(log->sec + 24);
	if (!e->flags && !e->nr_sectors)
		return corrupt(log, "zero flags and length (a stale or zeroed sector)");
	left = log->size - log->pos - ss;
	if (e->flags & ICK_LOG_MARK) {
		if (e->data_len > ss - HDR - 1)
			return corrupt(log, "mark longer than its sector");
		memcpy(e->mark, log->sec + HDR, e->data_len);
		e->mark[e->data_len] = 0;
	} else {
		if (log->sec[HDR])
			return corrupt(log, "header sector not zero-padded");
		if (!(e->flags & ICK_LOG_DISCARD)) {
			if (e->nr_sectors > left / ss)
				return corrupt(log, "data runs past the end of the log (truncated)");
			e->data_bytes = e->nr_sectors * ss;
		}
	}
	if (e->nr_sectors > UINT64_MAX / ss || e->sector > UINT64_MAX / ss - e->nr_sectors)
		return corrupt(log, "sector range overflows");
	e->data_off = log->pos + ss;
	log->pos += ss + e->data_bytes;
	log->next++;
	return 0;
}

errcode_t ick_log_read_data(struct ick_log *log, const struct ick_log_entry *e, uint64_t off,
			    void *buf, size_t len)
{
	if (off > e->data_bytes || len > e->data_bytes - off)
		return EXT2_ET_INVALID_ARGUMENT;
	return ick_log_pread(log, e->data_off + off, buf, len);
}

errcode_t ick_log_pread(const struct ick_log *log, uint64_t off, void *buf, size_t len)
{
	if (off > log->size || len > log->size - off)
		return EXT2_ET_SHORT_READ;
	if (log->map) {
		memcpy(buf, log->map + off, len);
		return 0;
	}
	return pread_all(log->fd, buf, len, off);
}
