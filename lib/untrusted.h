/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * untrusted.h - bytes from outside (a log's mark names, file and device paths, names in an
 * image) made into text every report format can hold, by one rule, the one
 * iomapck-replay(8) documents under UNTRUSTED STRINGS: valid UTF-8 passes, except the
 * characters XML 1.0 forbids; a backslash becomes "\\"; every other byte (a control byte
 * other than tab, newline and carriage return, a byte of invalid or overlong UTF-8, a
 * surrogate, U+FFFE, U+FFFF) becomes "\xHH" (upper-case hex).  The result is valid UTF-8
 * and valid XML character data, and the bytes can be recovered from it.  The JSON report
 * (report_json.c) and iomapck-replay's JSON and JUnit reports write strings through it.
 */
#ifndef ICK_UNTRUSTED_H
#define ICK_UNTRUSTED_H

#include <stddef.h>

/* The clean form of @len bytes of @s (caller frees); NULL on no memory. */
char *ick_untrusted_clean(const char *s, size_t len);

#endif
