/* SPDX-License-Identifier: GPL-2.0-only */
/* ick_compiler.h - attributes every lib/ header uses. */
#ifndef ICK_COMPILER_H
#define ICK_COMPILER_H

#define ICK_MUST_CHECK __attribute__((warn_unused_result))
#define ICK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ICK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
