/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * exit_codes.h - the exit codes of iomapck's C programs, defined once.
 *
 * Bits, as e2fsck(8)'s, so that e2fsck-ext can OR ours with e2fsck's own:
 *   ICK_EXIT_OK      0  nothing found (every program)
 *   ICK_EXIT_FAILED  1  debugfs-ext: a request failed
 *   ICK_EXIT_FOUND   4  findings: e2fsck-ext's checks (e2fsck's "errors left uncorrected"),
 *                       iomapck-replay's failing points or a recovery that differs,
 *                       debugfs-ext's iomap_check or unmount; ick_report_exit_bits' bit
 *   ICK_EXIT_OPER    8  an operational error: an image, log or manifest that cannot be
 *                       read, a report that cannot be written (e2fsck's "operational
 *                       error"; debugfs-ext: the image cannot be opened)
 *   ICK_EXIT_USAGE  16  a usage error, the usage on standard error (every program)
 *   ICK_EXIT_SKIP   77  a test that cannot run here (automake's SKIP; tests/ and iomapck-vm)
 * iomapck-vm, a shell script, keeps its own, documented in iomapck-vm(1): 0 clean, 1
 * found, 2 operational, 77 skipped.  Each program's man page lists the codes it uses.
 */
#ifndef ICK_EXIT_CODES_H
#define ICK_EXIT_CODES_H

#define ICK_EXIT_OK 0
#define ICK_EXIT_FAILED 1
#define ICK_EXIT_FOUND 4
#define ICK_EXIT_OPER 8
#define ICK_EXIT_USAGE 16
#define ICK_EXIT_SKIP 77

#endif
