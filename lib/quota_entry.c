/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * quota_entry.c - a dquot entry of a v2 quota file, both versions, from one table of its
 * fields (see quota_entry.h).
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "quota_entry.h"

/* The fields after the id, in the order both versions store them; version 0 stores the
 * first V0_NARROW in 32 bits, version 1 every one in 64 bits from offset 8. */
static const size_t fields[] = {
	offsetof(struct ick_dquot, ihardlimit), offsetof(struct ick_dquot, isoftlimit),
	offsetof(struct ick_dquot, curinodes), offsetof(struct ick_dquot, bhardlimit),
	offsetof(struct ick_dquot, bsoftlimit), offsetof(struct ick_dquot, curspace),
	offsetof(struct ick_dquot, btime), offsetof(struct ick_dquot, itime),
};
#define V0_NARROW 5

static unsigned width(uint32_t version, size_t i)
{
	return !version && i < V0_NARROW ? 4 : 8;
}

static uint64_t *field(struct ick_dquot *d, size_t i)
{
	return (uint64_t *)((char *)d + fields[i]);
}

void ick_quota_entry_decode(uint32_t version, const unsigned char *p, struct ick_dquot *d)
{
	unsigned esize = ick_quota_entry_size(version), off = version ? 8 : 4;

	memset(d, 0, sizeof(*d));
	d->id = get32(p);
	for (size_t i = 0; i < ICK_ARRAY_SIZE(fields); off += width(version, i), i++)
		*field(d, i) = width(version, i) == 4 ? get32(p + off) : get64(p + off);
	/* An all-zero record would look unused, so writers store itime = 1 in it. */
	if (d->itime == 1) {
		unsigned char z[R1_SIZE];
		memcpy(z, p, esize);
		put64(z + esize - 8, 0);
		if (all_zero(z, esize))
			d->itime = 0;
	}
}

errcode_t ick_quota_entry_encode(uint32_t version, const struct ick_dquot *d, unsigned char *p)
{
	unsigned esize = ick_quota_entry_size(version), off = version ? 8 : 4;
	struct ick_dquot v = *d;

	memset(p, 0, esize);
	put32(p, d->id);
	for (size_t i = 0; i < ICK_ARRAY_SIZE(fields); i++)
		if (width(version, i) == 4 && *field(&v, i) > UINT32_MAX)
			return EOVERFLOW;
	for (size_t i = 0; i < ICK_ARRAY_SIZE(fields); off += width(version, i), i++)
		if (width(version, i) == 4)
			put32(p + off, (uint32_t)*field(&v, i));
		else
			put64(p + off, *field(&v, i));
	if (all_zero(p, esize))
		put64(p + esize - 8, 1);
	return 0;
}
