/* SPDX-License-Identifier: GPL-2.0-only */
/* log-test: the dm-log-writes reader (log.c) on logs made by the project's own writer
 * (logw.c).  Entries come back as written: sectors, lengths, FLUSH/FUA/DISCARD/MARK flags,
 * payloads, mark names, and the end after nr_entries.  Damaged logs: a bad magic, a
 * super sector cut short, an entry whose data runs past the file, a huge nr_sectors (a
 * write and a discard), nr_entries past the last entry: each one clear reason, read up to
 * the last whole entry, nothing allocated from the hostile numbers. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "ick_err.h"
#include "log.h"
#include "logw.h"

static char dir[] = "/tmp/log-testXXXXXX";
static char path[64];

static int setup(void **s)
{
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/log", dir);
	return 0;
}

static int teardown(void **s)
{
	unlink(path);
	return rmdir(dir) ? -1 : 0;
}

/* The log every test starts from: a write, a flush, a FUA write, a discard, a mark. */
static void write_log(void)
{
	unsigned char data[3 * 512];
	struct ick_logw *lw;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i / 512 + 1);
	assert_int_equal(ick_logw_create(path, 512, &lw), 0);
	assert_int_equal(ick_logw_mark_max(lw), 512 - ICK_LOG_HDR - 1);
	assert_int_equal(ick_logw_append(lw, 8, 2, 0, data), 0);
	assert_int_equal(ick_logw_append(lw, 0, 0, ICK_LOG_FLUSH, NULL), 0);
	assert_int_equal(ick_logw_append(lw, 2, 3, ICK_LOG_FLUSH | ICK_LOG_FUA | ICK_LOG_METADATA,
					 data), 0);
	assert_int_equal(ick_logw_append(lw, 100, 50, ICK_LOG_DISCARD, NULL), 0);
	assert_int_equal(ick_logw_mark(lw, "after_discard"), 0);
	assert_int_equal(ick_logw_append(lw, 0, 0, ICK_LOG_MARK, NULL), EXT2_ET_INVALID_ARGUMENT);
	assert_int_equal(ick_logw_close(lw), 0);
}

/* Overwrite 8 bytes of the log file at @off with @v (little-endian). */
static void poke64(uint64_t off, uint64_t v)
{
	unsigned char b[8];
	FILE *f = fopen(path, "r+b");

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	assert_non_null(f);
	assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
	assert_int_equal(fwrite(b, 1, 8, f), 8);
	assert_int_equal(fclose(f), 0);
}

static void expect(struct ick_log *log, uint64_t sector, uint64_t n, uint64_t flags,
		   uint64_t bytes, struct ick_log_entry *e)
{
	assert_int_equal(ick_log_next(log, e), 0);
	assert_int_equal(e->sector, sector);
	assert_int_equal(e->nr_sectors, n);
	assert_int_equal(e->flags, flags);
	assert_int_equal(e->data_bytes, bytes);
}

static void test_entries(void **s)
{
	struct ick_log *log;
	struct ick_log_entry e;
	unsigned char got[512];
	char txt[64];

	write_log();
	assert_int_equal(ick_log_open(path, &log), 0);
	assert_int_equal(ick_log_sectorsize(log), 512);
	assert_int_equal(ick_log_nr_entries(log), 5);
	expect(log, 8, 2, 0, 1024, &e);
	assert_int_equal(e.index, 0);
	assert_int_equal(e.data_off, 1024); /* super sector, header sector */
	assert_int_equal(ick_log_read_data(log, &e, 512, got, 512), 0);
	assert_int_equal(got[0], 2);
	assert_int_equal(ick_log_read_data(log, &e, 600, got, 512), EXT2_ET_INVALID_ARGUMENT);
	expect(log, 0, 0, ICK_LOG_FLUSH, 0, &e);
	expect(log, 2, 3, ICK_LOG_FLUSH | ICK_LOG_FUA | ICK_LOG_METADATA, 1536, &e);
	assert_string_equal(ick_log_flags_text(e.flags, txt, sizeof(txt)), "FLUSH|FUA|METADATA");
	assert_int_equal(ick_log_read_data(log, &e, 1024, got, 512), 0);
	assert_int_equal(got[511], 3);
	expect(log, 100, 50, ICK_LOG_DISCARD, 0, &e); /* a discard has no payload */
	expect(log, 0, 0, ICK_LOG_MARK, 0, &e);
	assert_string_equal(e.mark, "after_discard");
	assert_int_equal(e.index, 4);
	assert_int_equal(ick_log_next(log, &e), ICK_ET_LOG_END);
	assert_string_equal(ick_log_why(log), "");
	ick_log_close(log);
	assert_string_equal(ick_log_flags_text(0, txt, sizeof(txt)), "NONE");
	assert_string_equal(ick_log_flags_text(0x21, txt, sizeof(txt)), "FLUSH|UNKNOWN.0x20");
}

/* Open @path expecting ICK_ET_LOG_CORRUPT for @why. */
static void refused(const char *why)
{
	struct ick_log *log = NULL;

	assert_int_equal(ick_log_open(path, &log), ICK_ET_LOG_CORRUPT);
	assert_non_null(log);
	assert_string_equal(ick_log_why(log), why);
	ick_log_close(log);
}

static void test_bad_super(void **s)
{
	write_log();
	poke64(0, 0x1234);
	refused("bad magic 0x1234");
	write_log();
	poke64(8, 2);
	refused("unsupported version 2");
	write_log();
	poke64(24, 1000);
	refused("impossible sector size 1000");
	assert_int_equal(truncate(path, 100), 0);
	refused("shorter than a super sector");
}

/* Read the log to its end: @whole entries, then ICK_ET_LOG_CORRUPT for @why. */
static void stops_after(uint64_t whole, const char *why)
{
	struct ick_log *log;
	struct ick_log_entry e;
	uint64_t n = 0;
	errcode_t err;

	assert_int_equal(ick_log_open(path, &log), 0);
	while (!(err = ick_log_next(log, &e)))
		n++;
	assert_int_equal(err, ICK_ET_LOG_CORRUPT);
	assert_int_equal(n, whole);
	assert_string_equal(ick_log_why(log), why);
	/* it stays stopped, for the same reason */
	assert_int_equal(ick_log_next(log, &e), ICK_ET_LOG_CORRUPT);
	assert_string_equal(ick_log_why(log), why);
	ick_log_close(log);
}

static void test_truncated(void **s)
{
	write_log();
	/* inside the FUA write's data: header at 2560, data 3072..4608 */
	assert_int_equal(truncate(path, 3500), 0);
	stops_after(2, "entry 2 at byte 2560: data runs past the end of the log (truncated)");
	assert_int_equal(truncate(path, 2600), 0);
	stops_after(2, "entry 2 at byte 2560: the log ends inside its header (truncated)");
	/* nr_entries past the last entry: the file ends where the next header would be */
	write_log();
	poke64(16, 9);
	stops_after(5, "entry 5 at byte 5632: the log ends inside its header (truncated)");
}

static void test_hostile_lengths(void **s)
{
	write_log();
	poke64(512 + 8, 1ULL << 60); /* the first write's nr_sectors */
	stops_after(0, "entry 0 at byte 512: data runs past the end of the log (truncated)");
	write_log();
	poke64(512 + 8, UINT64_MAX); /* as above: bounded by the file, not the number */
	stops_after(0, "entry 0 at byte 512: data runs past the end of the log (truncated)");
	write_log();
	poke64(4608 + 8, UINT64_MAX / 2); /* the discard: no data, but no overflow either */
	stops_after(3, "entry 3 at byte 4608: sector range overflows");
	write_log();
	poke64(5120 + 24, 600); /* the mark's name longer than its sector */
	stops_after(4, "entry 4 at byte 5120: mark longer than its sector");
	write_log();
	poke64(2048 + 16, 0); /* the flush: no flags, no length */
	stops_after(1, "entry 1 at byte 2048: zero flags and length (a stale or zeroed sector)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_bad_super),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_hostile_lengths),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
