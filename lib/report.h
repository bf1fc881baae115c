/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * report.h - the finding sink.
 *
 * Every check hands its findings here as data (struct ick_finding); nothing in lib/ prints.
 * The report merges adjacent block ranges of the same code and inode (as e2fsck's pass 5
 * coalesces bitmap differences), counts by severity and keeps at most ICK_REPORT_MAX records
 * so a hostile image cannot make memory grow without bound (the rest are only counted).
 * Renderers (report_text.c, report_json.c) are separate and read the report.
 */
#ifndef ICK_REPORT_H
#define ICK_REPORT_H

#include <stdint.h>
#include <stdio.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"

#define ICK_NONE UINT64_MAX /* an absent number: null in JSON, omitted in text */
#define ICK_REPORT_MAX 100000

/* a code's high byte is its check's number (findings.def); 7 has no codes */
enum ick_check { ICK_CHECK_BITMAP = 1, ICK_CHECK_UNWRITTEN, ICK_CHECK_SIZE, ICK_CHECK_QUOTA,
		 ICK_CHECK_DELALLOC, ICK_CHECK_STALE, ICK_CHECK_JOURNAL = 8,
		 ICK_CHECK_DURABLE };
enum ick_severity { ICK_SEV_INFO, ICK_SEV_WARNING, ICK_SEV_ERROR };

enum ick_pr_code {
#define ICK_PR(name, code, check, sev, text) ICK_PR_##name = code,
#include "findings.def"
#undef ICK_PR
};

struct ick_pr_info {
	uint32_t code;
	const char *name;
	enum ick_check check;
	enum ick_severity severity;
	const char *text;
};

struct ick_finding {
	uint32_t code;     /* ICK_PR_*; check and severity come from the table */
	ext2_ino_t ino;    /* 0: not an inode (group metadata, the superblock) */
	uint64_t lblk;     /* logical start, ICK_NONE if none */
	uint64_t pblk;     /* physical start, ICK_NONE if none */
	uint64_t len;      /* blocks in the range, ICK_NONE if no range */
	uint64_t expected; /* ICK_NONE if not a number */
	uint64_t found;
	char *detail;      /* optional, owned by the report */
};

struct ick_report {
	char *image;
	struct ick_finding *f;
	size_t nr, cap;
	uint64_t dropped;     /* findings past ICK_REPORT_MAX, counted only */
	uint64_t by_sev[3];
	char *note;           /* one line about how the image was read (recovery etc.) */
	int lenient;          /* warnings do not make exit bit 4 (e2fsck-ext without iomap_strict) */
};

/* Find the table row of a code, or NULL. */
const struct ick_pr_info *ick_pr_lookup(uint32_t code);
const struct ick_pr_info *ick_pr_table(size_t *nr);
const char *ick_check_name(enum ick_check c);
const char *ick_severity_name(enum ick_severity s);

ICK_MUST_CHECK errcode_t ick_report_init(struct ick_report *rep, const char *image);
void ick_report_free(struct ick_report *rep);

/*
 * ick_report_add - record one finding.
 * @f: copied; ranges adjacent to the last finding of the same code and inode are merged.
 * @fmt: optional printf-style detail (NULL for none).
 */
ICK_MUST_CHECK errcode_t ick_report_add(struct ick_report *rep, const struct ick_finding *f,
					const char *fmt, ...) ICK_PRINTF(3, 4);

/* A finding with every number absent, to fill in. */
struct ick_finding ick_finding_blank(uint32_t code, ext2_ino_t ino);

/* 4 when there is an error, or a warning and the report is not lenient; else 0. */
int ick_report_exit_bits(const struct ick_report *rep);

void ick_report_print_text(const struct ick_report *rep, FILE *out);
ICK_MUST_CHECK errcode_t ick_report_write_json(const struct ick_report *rep, FILE *out);
/* The same document as a json-c object (a struct json_object *, caller puts it), NULL on no
 * memory: for a front end that embeds reports in its own JSON. */
struct json_object;
struct json_object *ick_report_json(const struct ick_report *rep);

#endif
