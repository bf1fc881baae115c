/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * manifest.h - what a workload made durable, checked in a crash state.
 *
 * A manifest (written by iomapck-vm's workload, or by hand) is text, one record a line:
 *     # comment
 *     mark NAME                       a dm-log-writes mark the workload placed
 *     file PATH SIZE fnv1a64:HEX      after that mark's entry, PATH (absolute in the file
 *                                     system) is a regular file of SIZE bytes whose content
 *                                     (holes and unwritten ranges as zeros) hashes to HEX
 * The files listed under a mark are those the workload had fsync'ed (data, and the
 * directory for the name) and not changed since: POSIX says they survive a crash there.
 * A name may appear once; the parser refuses anything else with the line number.
 *
 * The check opens each file in the state (journal recovered, as the sweep sees it) by
 * path and reports DURABLE_MISSING, DURABLE_SIZE or DURABLE_CONTENT.
 */
#ifndef ICK_MANIFEST_H
#define ICK_MANIFEST_H
#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "ick_compiler.h"
#include "report.h"

struct ick_manifest;

#define ICK_MANIFEST_MAX_BYTES (256u << 20) /* a longer manifest is refused (EFBIG) */

/* Parse @path.  On a syntax error returns ICK_ET_MANIFEST and puts "line N: why" in @why. */
ICK_MUST_CHECK errcode_t ick_manifest_load(const char *path, struct ick_manifest **out,
					   char *why, size_t whylen);
void ick_manifest_free(struct ick_manifest *m);

/* The index of mark @name, or -1 when the manifest does not name it. */
long ick_manifest_find(const struct ick_manifest *m, const char *name);
size_t ick_manifest_marks(const struct ick_manifest *m);

/* Check every file of mark @idx in @fs; findings go to @rep. */
ICK_MUST_CHECK errcode_t ick_manifest_check(const struct ick_manifest *m, long idx,
					    ext2_filsys fs, struct ick_report *rep);

/* FNV-1a, 64 bits: the manifest's content hash (@h: the running value, start with
 * ICK_FNV1A64_INIT). */
#define ICK_FNV1A64_INIT 0xcbf29ce484222325ull
uint64_t ick_fnv1a64(uint64_t h, const void *buf, size_t len);

#endif
