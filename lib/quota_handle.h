/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * quota_handle.h - the quota file handle's layout and the helpers its reader (quota_read.c)
 * and writer (quota_write.c) share; internal to them.  quota_file.h states the API.
 */
#ifndef ICK_QUOTA_HANDLE_H
#define ICK_QUOTA_HANDLE_H

#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "quota_entry.h"
#include "quota_file.h"

enum kind { K_NONE, K_TREE, K_DATA, K_FREE, K_HDR };
#define K_MASK 0x0f
#define K_ONLIST 0x80 /* a data block met on the free-entry list */

struct qent {
	struct ick_dquot dq;
	uint32_t blk;
	uint16_t slot;
};

struct qref {
	uint32_t id, blk;
};

struct ick_quota_file {
	ext2_filsys fs;
	ext2_file_t file;
	unsigned flags;
	struct ick_quota_info info;
	unsigned esize, per_blk;
	struct qent *ent;       /* sorted by id, one per id */
	size_t nr, cap;
	/* only while opening */
	struct qref *ref;
	size_t nref, refcap;
	uint64_t max_refs;
	uint8_t *kind;
	uint16_t *used;         /* entries found in each data block */
	uint16_t *nrefs;        /* references to each data block */
	/* state */
	errcode_t format_err;   /* ICK_ET_QUOTA_BAD_MAGIC/BAD_VERSION/CORRUPT, or 0 */
	int list_bad;
	int info_dirty;
	char why[224];
	char listwhy[224];
	unsigned char tb[DEPTH][QBLK]; /* one tree block per level */
	unsigned char db[QBLK];        /* a data block */
	unsigned char tmp[QBLK];       /* a neighbour on a list */
};

/* Block @blk of the file; a block past its end reads as zeros, as in e2fsprogs. */
ICK_MUST_CHECK errcode_t ick_quota_read_blk(struct ick_quota_file *qf, uint32_t blk,
					    unsigned char *buf);
/* Room for one more entry in qf->ent: 0 or ENOMEM. */
ICK_MUST_CHECK errcode_t ick_quota_room(struct ick_quota_file *qf);
/* Binary search: the index of @id in qf->ent, or -1 with *pos where it would go. */
long ick_quota_find(const struct ick_quota_file *qf, uint32_t id, size_t *pos);

#endif
