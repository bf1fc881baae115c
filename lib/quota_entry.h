/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * quota_entry.h - the on-disk pieces of ext4's v2 quota files that quota_read.c and
 * quota_write.c share (internal to them): the little-endian fields, the tree's constants and
 * the one codec of a dquot entry, version 0 (48 bytes: id, five 32-bit counts and limits,
 * space and the two grace times in 64 bits) and version 1 (72 bytes: id, padding, eight
 * 64-bit fields in the same order).  quota_file.h states the format and the API.
 */
#ifndef ICK_QUOTA_ENTRY_H
#define ICK_QUOTA_ENTRY_H

#include <stddef.h>
#include <stdint.h>
#include "quota_file.h"

#define QBLK ICK_QUOTA_BLKSIZE
#define TREEOFF 1u          /* the root block */
#define DEPTH 4             /* tree levels: one per byte of the id */
#define REFS (QBLK / 4)     /* references per tree block */
#define DQDH 16u            /* data block header: next_free, prev_free, entries, padding */
#define INFO_OFF 8u
#define INFO_LEN 24u
#define R0_SIZE 48u
#define R1_SIZE 72u

static inline uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static inline void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static inline int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* The tree index of @id at @depth: its bytes, most significant first. */
static inline unsigned idx_of(uint32_t id, int depth)
{
	return (id >> (8 * (DEPTH - 1 - depth))) & 0xff;
}

/* Bytes of an entry of file format @version (0 or 1). */
static inline unsigned ick_quota_entry_size(uint32_t version)
{
	return version ? R1_SIZE : R0_SIZE;
}

/* The entry at @p as a dquot (an all-zero record's itime 1, which writers store so that it
 * does not look unused, read as 0). */
void ick_quota_entry_decode(uint32_t version, const unsigned char *p, struct ick_dquot *d);
/* @d as an entry at @p; EOVERFLOW (@p zeroed but for the id) when version 0 cannot hold a
 * count or limit. */
ICK_MUST_CHECK errcode_t ick_quota_entry_encode(uint32_t version, const struct ick_dquot *d,
						unsigned char *p);

#endif
