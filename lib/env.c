/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * env.c - see env.h.
 */
#include "config.h"
#include <stdlib.h>
#include "env.h"

int ick_env_u64(const char *name, uint64_t max, uint64_t *out)
{
	const char *s = getenv(name);
	unsigned long long v;
	char *end;

	if (!s || !*s)
		return 0;
	v = strtoull(s, &end, 10);
	if (*end || v > max)
		return 0;
	*out = v;
	return 1;
}
