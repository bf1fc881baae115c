/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * junit - iomapck-replay's --junit report: one JUnit/xunit <testsuite> for the run, one
 * <testcase> for the log with at most one <failure> (the JUnit schema's rule and fstests'
 * way): its message names the first failing crash point and how many there are, its text
 * gives each point ("== entry ...", then its findings and the commands that make its state
 * again); written with libxml2's xmlTextWriter in the shape fstests' common/report gives
 * its xunit reports.  Every string is written by the rule of lib/untrusted.h.
 */
#ifndef ICK_JUNIT_H
#define ICK_JUNIT_H

#include <stddef.h>
#include <stdint.h>

#define ICK_JUNIT_MAX_FAILURES 1000     /* <failure> elements kept; the rest counted */
#define ICK_JUNIT_MAX_TEXT (64 * 1024)  /* bytes of one failure's text */
#define ICK_JUNIT_FULL_TEXTS 100        /* points whose findings the <failure> text holds */

struct ick_junit;

/* Start a report to be written to @path at the end; NULL on no memory. */
struct ick_junit *ick_junit_new(const char *path, const char *log);
/* A property of the suite (name, value copied); repeated names keep the last. */
void ick_junit_property(struct ick_junit *j, const char *name, const char *value);
/* A failing point: @message names it, @text (@len bytes, any bytes) says why. */
void ick_junit_failure(struct ick_junit *j, const char *message, const char *text, size_t len);
/* The run ended with an operational error (an <error> element). */
void ick_junit_error(struct ick_junit *j, const char *message);
/* Nothing was checked: the case is <skipped>. */
void ick_junit_skipped(struct ick_junit *j, const char *message);
/* Write the file and free @j; 0, or -1 with errno set (the file then incomplete). */
int ick_junit_finish(struct ick_junit *j, double seconds);

#endif
