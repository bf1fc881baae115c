/* SPDX-License-Identifier: GPL-2.0-only */
/* logdev-test: the device a log describes at an entry (logdev.c), on a log made by the
 * project's own writer over a base file.  After each entry, every byte reads as the base
 * with the log's writes so far on top: the newest write of a sector wins, a discard reads
 * as zeros until a later write, reads past the base's end are zeros, reads straddle
 * sectors and sources.  written_at/current/iterate report what the map holds.  Through
 * the io_manager: two channels over two devices of one base, at different entries, open
 * at once, each read their own bytes; writes are refused; an open with nothing
 * registered fails; a registration for "path?options" serves "path", not "path2". */
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
#include "logdev.h"
#include "logw.h"

#define SS 512
#define BASE_SECTORS 64

static char dir[] = "/tmp/logdev-testXXXXXX";
static char base[64], logpath[64];

/* The base's byte @off (past its end: 0). */
static unsigned char base_byte(uint64_t off)
{
	return off < BASE_SECTORS * SS ? (unsigned char)(off % 251 + 1) : 0;
}

static void fill(unsigned char *b, size_t sectors, int v)
{
	memset(b, v, sectors * SS);
}

/* The log: 0 write 4..5 'A'; 1 write 5 'B'; 2 discard 10..19; 3 write 12 'C';
 * 4 mark; 5 FUA write 62..65 'D' (past the base's end). */
static int setup(void **s)
{
	unsigned char b[4 * SS];
	struct ick_logw *lw;
	FILE *f;

	if (!mkdtemp(dir))
		return -1;
	snprintf(base, sizeof(base), "%s/base", dir);
	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	if (!(f = fopen(base, "wb")))
		return -1;
	for (uint64_t i = 0; i < BASE_SECTORS * SS; i++)
		fputc(base_byte(i), f);
	if (fclose(f) || ick_logw_create(logpath, SS, &lw))
		return -1;
	fill(b, 2, 'A');
	if (ick_logw_append(lw, 4, 2, 0, b))
		return -1;
	fill(b, 1, 'B');
	if (ick_logw_append(lw, 5, 1, 0, b) || ick_logw_append(lw, 10, 10, ICK_LOG_DISCARD, NULL))
		return -1;
	fill(b, 1, 'C');
	if (ick_logw_append(lw, 12, 1, 0, b) || ick_logw_mark(lw, "m"))
		return -1;
	fill(b, 4, 'D');
	if (ick_logw_append(lw, 62, 4, ICK_LOG_FUA, b))
		return -1;
	return ick_logw_close(lw) ? -1 : 0;
}

static int teardown(void **s)
{
	unlink(base);
	unlink(logpath);
	return rmdir(dir) ? -1 : 0;
}

/* What sector @sec's byte @i reads after entries [0, @applied). */
static unsigned char want(unsigned applied, uint64_t sec, unsigned i)
{
	if (sec >= 62 && sec < 66 && applied > 5)
		return 'D';
	if (sec == 12 && applied > 3)
		return 'C';
	if (sec >= 10 && sec < 20 && applied > 2)
		return 0;
	if (sec == 5 && applied > 1)
		return 'B';
	if ((sec == 4 || sec == 5) && applied > 0)
		return 'A';
	return base_byte(sec * SS + i);
}

/* The whole device, in one read and in odd pieces that straddle sectors. */
static void check_device(struct ick_logdev *d, unsigned applied)
{
	static unsigned char got[70 * SS];
	const size_t len = sizeof(got);

	assert_int_equal(ick_logdev_pread(d, 0, len, got), 0);
	for (size_t off = 0; off < len; off++)
		assert_int_equal(got[off], want(applied, off / SS, off % SS));
	for (size_t off = 0; off + 700 <= len; off += 333) {
		assert_int_equal(ick_logdev_pread(d, off, 700, got), 0);
		for (size_t i = 0; i < 700; i++)
			assert_int_equal(got[i], want(applied, (off + i) / SS, (off + i) % SS));
	}
}

static errcode_t count(uint64_t sector, uint64_t log_off, void *priv)
{
	(*(unsigned *)priv)++;
	return 0;
}

/* The device at @upto entries (all: the whole log) of @log, checked entry by entry. */
static struct ick_logdev *device_at(struct ick_log *log, unsigned upto)
{
	struct ick_logdev *d;
	struct ick_log_entry e;
	unsigned applied = 0;

	assert_int_equal(ick_logdev_new(base, log, &d), 0);
	assert_int_equal(ick_logdev_sectorsize(d), SS);
	check_device(d, 0);
	while (applied < upto && !ick_log_next(log, &e)) {
		assert_int_equal(ick_logdev_apply(d, &e), 0);
		check_device(d, ++applied);
	}
	return d;
}

static void test_entries(void **s)
{
	struct ick_log *log;
	struct ick_logdev *d;
	unsigned n = 0;

	assert_int_equal(ick_log_open(logpath, &log), 0);
	d = device_at(log, 99);
	assert_int_equal(ick_logdev_discards(d), 1);
	assert_int_equal(ick_logdev_iterate(d, count, &n), 0);
	assert_int_equal(n, 2 + 1 + 4); /* sectors 4, 5, 12, 62..65 */
	/* sector 4: the first entry's payload (super, header: byte 1024); 5: the second's */
	assert_int_equal(ick_logdev_written_at(d, 4, 1), 2 * SS);
	assert_int_equal(ick_logdev_written_at(d, 4, 2), 2 * SS);
	assert_int_equal(ick_logdev_written_at(d, 5, 1), 5 * SS);
	assert_int_equal(ick_logdev_written_at(d, 3, 2), 0); /* 3 reads the base */
	assert_int_equal(ick_logdev_written_at(d, 11, 2), 0); /* 11 reads the discard's zeros */
	assert_true(ick_logdev_current(d, 12, ick_logdev_written_at(d, 12, 1)));
	assert_false(ick_logdev_current(d, 11, 2 * SS)); /* the discard came later */
	ick_logdev_free(d);
	ick_log_close(log);
}

/* A channel of the logdev io_manager over @d (registered only for the open). */
static io_channel open_chan(struct ick_logdev *d)
{
	struct ick_io_reg reg;
	io_channel ch;

	ick_logdev_io_register(&reg, base, d);
	assert_int_equal(ick_logdev_io_manager->open(base, 0, &ch), 0);
	ick_io_unregister(&reg);
	return ch;
}

static void test_channels(void **s)
{
	struct ick_log *la, *lb;
	struct ick_logdev *a, *b;
	unsigned char got[1024];
	io_channel ca, cb, none;

	assert_int_equal(ick_log_open(logpath, &la), 0);
	assert_int_equal(ick_log_open(logpath, &lb), 0);
	a = device_at(la, 1);  /* after the first write */
	b = device_at(lb, 99); /* at the end */
	ca = open_chan(a);
	cb = open_chan(b);
	assert_int_equal(ick_logdev_io_manager->open(base, 0, &none), EXT2_ET_INVALID_ARGUMENT);
	{	/* "path?options" is opened as "path" by ext2fs_open2; "path2" is another name */
		char opts[80], other[80];
		struct ick_io_reg r1, r2;

		snprintf(opts, sizeof(opts), "%s?offset=0", base);
		snprintf(other, sizeof(other), "%s2", base);
		ick_logdev_io_register(&r1, opts, a);
		ick_logdev_io_register(&r2, other, b);
		assert_int_equal(ick_logdev_io_manager->open(base, 0, &none), 0);
		assert_int_equal(io_channel_read_blk64(none, 2, 1, got), 0);
		assert_int_equal(got[1023], 'A'); /* a's bytes, not b's 'B' */
		assert_int_equal(io_channel_close(none), 0);
		ick_io_unregister(&r2);
		ick_io_unregister(&r1);
		ick_io_unregister(&r1); /* twice: harmless */
		assert_int_equal(ick_logdev_io_manager->open(base, 0, &none),
				 EXT2_ET_INVALID_ARGUMENT);
	}
	assert_int_equal(io_channel_set_blksize(ca, 1024), 0);
	assert_int_equal(io_channel_set_blksize(cb, 1024), 0);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(io_channel_read_blk64(ca, 2, 1, got), 0); /* sectors 4, 5 */
		assert_int_equal(got[0], 'A');
		assert_int_equal(got[1023], 'A');
		assert_int_equal(io_channel_read_blk64(cb, 2, 1, got), 0);
		assert_int_equal(got[0], 'A');
		assert_int_equal(got[1023], 'B');
		assert_int_equal(io_channel_read_blk64(ca, 6, -SS, got), 0); /* sector 12 */
		assert_int_equal(got[0], base_byte(12 * SS));
		assert_int_equal(io_channel_read_blk(cb, 6, -SS, got), 0);
		assert_int_equal(got[0], 'C');
	}
	assert_int_equal(io_channel_write_blk64(cb, 2, 1, got), EXT2_ET_UNIMPLEMENTED);
	assert_int_equal(io_channel_write_byte(cb, 10, 4, got), EXT2_ET_UNIMPLEMENTED);
	assert_int_equal(io_channel_close(ca), 0);
	assert_int_equal(io_channel_close(cb), 0);
	ick_logdev_free(a);
	ick_logdev_free(b);
	ick_log_close(la);
	ick_log_close(lb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_channels),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
