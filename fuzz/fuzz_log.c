/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_log.c - libFuzzer harness: the input IS a dm-log-writes log, replayed over a small
 * valid ext4 image with quota (fuzz/mkquotabase.sh) and swept: every entry up to the 32nd
 * is a crash point, each opened as a mount would (journal recovery, orphans) and checked
 * by every check (the stale check with a poison pattern), rendered as text and JSON; then
 * the same log is dumped entry by entry.  The log lives in a memfd (no temporary files);
 * the base is only read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "sweep.h"
#include "report.h"

#ifndef FUZZ_QUOTA_BASE
#define FUZZ_QUOTA_BASE "fuzz/obj/quota-base.img"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;
static const char *base;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (!(devnull = fopen("/dev/null", "w")))
		abort();
	base = getenv("ICK_FUZZ_QUOTA_BASE");
	if (!base || !*base)
		base = FUZZ_QUOTA_BASE;
	if (access(base, R_OK)) {
		fprintf(stderr, "fuzz_log: base image %s: %s\n", base, strerror(errno));
		abort();
	}
	return 0;
}

static errcode_t point(void *priv, const struct ick_sweep_point *p)
{
	ick_report_print_text(p->rep, devnull);
	return ick_report_write_json(p->rep, devnull);
}

static errcode_t entry(void *priv, const struct ick_log_entry *e)
{
	char fl[128];

	fprintf(devnull, "%llu %s %s\n", (unsigned long long)e->index,
		ick_log_flags_text(e->flags, fl, sizeof(fl)), e->mark);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char poison[] = { 0x5a, 0xa5 };
	const struct ick_check_opts copts = { .poison = poison, .poison_len = 2 };
	struct ick_sweep_opts o = { .base = base, .when = ICK_SWEEP_EVERY, .limit = 32,
				    .keep_going = 1, .mask = ~0u, .copts = &copts };
	struct ick_sweep_stats st;
	char path[64];
	int fd = memfd_create("fuzz-log", 0);
	errcode_t err;

	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	o.log = path;
	err = ick_sweep(&o, entry, point, NULL, &st);
	(void)err;
	if (st.checked > st.points || st.entries > 32)
		abort(); /* the sweep's own bounds */
	o.limit = 0;
	o.mask = 0;
	err = ick_sweep(&o, entry, NULL, NULL, &st);
	close(fd);
	return 0;
}
