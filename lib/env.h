/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * env.h - numbers read from the environment (test and tuning knobs): a base header, no
 * other part of lib/ below it.
 */
#ifndef ICK_ENV_H
#define ICK_ENV_H
#include <stdint.h>

/* The environment variable @name as a decimal number of at most @max: 1 with *@out set, or
 * 0 (*@out unchanged) when it is unset, empty, not a whole number or larger. */
int ick_env_u64(const char *name, uint64_t max, uint64_t *out);

#endif
