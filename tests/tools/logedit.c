/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * logedit - copy a dm-log-writes log with some entries left out, through iomapck's own
 * reader and writer: the log a disk would have produced had it lost those writes after
 * acknowledging them.  Tests use it to seed wrongness into real kernel logs.
 *
 *     logedit IN OUT N [N...]      entries N (indexes from iomapck-replay --dump) dropped
 *     logedit --mark-name NAME IN OUT [N...]
 *                                  also every mark renamed NAME (any bytes: tests give
 *                                  readers hostile names)
 *
 * Exit 0, or 1 with one line on stderr.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <et/com_err.h>
#include "ick_err.h"
#include "logw.h"

static int dropped(uint64_t i, char **v, int n)
{
	for (int k = 0; k < n; k++)
		if (strtoull(v[k], NULL, 10) == i)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct ick_log *in = NULL;
	struct ick_logw *out = NULL;
	struct ick_log_entry e;
	unsigned char *buf = NULL;
	size_t cap = 0;
	const char *rename = NULL;
	errcode_t err;

	add_error_table(&et_ick_error_table);
	if (argc > 2 && !strcmp(argv[1], "--mark-name")) {
		rename = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < (rename ? 3 : 4)) {
		fprintf(stderr, "usage: logedit [--mark-name NAME] IN OUT N [N...]\n");
		return 1;
	}
	if ((err = ick_log_open(argv[1], &in)) ||
	    (err = ick_logw_create(argv[2], ick_log_sectorsize(in), &out)))
		goto fail;
	while (!(err = ick_log_next(in, &e))) {
		uint64_t len = e.nr_sectors * ick_log_sectorsize(in);

		if (dropped(e.index, argv + 3, argc - 3))
			continue;
		if (e.flags & ICK_LOG_MARK) {
			err = ick_logw_mark(out, rename ? rename : e.mark);
		} else if (e.flags & ICK_LOG_DISCARD || !len) {
			err = ick_logw_append(out, e.sector, e.nr_sectors, e.flags, NULL);
		} else {
			if (len > cap) {
				unsigned char *nb = realloc(buf, len);
				if (!nb) {
					err = ENOMEM;
					break;
				}
				buf = nb;
				cap = len;
			}
			if (!(err = ick_log_read_data(in, &e, 0, buf, len)))
				err = ick_logw_append(out, e.sector, e.nr_sectors, e.flags, buf);
		}
		if (err)
			break;
	}
	if (err == ICK_ET_LOG_END)
		err = 0;
	if (!err)
		err = ick_logw_close(out);
	else
		ick_logw_close(out);
	out = NULL;
	if (err)
		goto fail;
	free(buf);
	ick_log_close(in);
	return 0;
fail:
	com_err("logedit", err, "%s", in ? ick_log_why(in) : argv[1]);
	free(buf);
	ick_logw_close(out);
	ick_log_close(in);
	return 1;
}
