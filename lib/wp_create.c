/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wp_create.c - fallocate(2) (ext4_alloc_file_blocks: unwritten extents over the holes)
 * and creating a file (inode, link, quota charge), each one commit.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "wp.h"

/* ---- fallocate, create ---- */

errcode_t ick_wp_fallocate(struct ick_wp *wp, ext2_ino_t ino, uint64_t pos, uint64_t len,
			   int keep_size)
{
	struct wpi *wi;
	uint64_t lblk, n, b;
	struct dmap m;
	errcode_t err;

	if (!len)
		return EINVAL;
	if (pos + len < pos || (pos + len - 1) / wp->fs->blocksize > MAX_LBLK)
		return EFBIG;
	if ((err = wp_get_inode(wp, ino, &wi)))
		return err;
	wi->call = &wp_no_call;
	wp_range_of(wi, pos, len, &lblk, &n);
	for (b = lblk; b < lblk + n; b += m.len) {
		uint64_t done = 0;

		if ((err = wp_disk_lookup(wi, b, lblk + n - b, &m)))
			break;
		if (m.type == ICK_IOMAP_HOLE && (err = wp_alloc_range_n(wi, b, m.len, &done))) {
			b += done;
			break;
		}
	}
	/* ext4_alloc_file_blocks: on ENOSPC what was allocated stays, and without KEEP_SIZE
	 * the size goes to the end of it (epos), at most to the end asked */
	if ((!err || err == ENOSPC) && !keep_size) {
		uint64_t end = err ? b * (uint64_t)wp->fs->blocksize : pos + len;
		errcode_t e = 0;

		if (end > pos + len)
			end = pos + len;
		if (end > wi->i_size) {
			wi->i_size = end;
			e = ext2fs_inode_size_set(wp->fs, (struct ext2_inode *)&wi->inode, end);
		}
		if (e)
			err = e;
	}
	if (!err || err == ENOSPC) {
		errcode_t e = wp_commit(wp, wi, keep_size ? "fallocate keep_size" : "fallocate");
		if (e)
			err = e;
	}
	wi->call = NULL;
	return err;
}

static errcode_t link_name(ext2_filsys fs, ext2_ino_t dir, const char *name, ext2_ino_t ino)
{
	errcode_t err = ext2fs_link(fs, dir, name, ino, EXT2_FT_REG_FILE);

	if (err == EXT2_ET_DIR_NO_SPACE) {
		if ((err = ext2fs_expand_dir(fs, dir)))
			return err;
		err = ext2fs_link(fs, dir, name, ino, EXT2_FT_REG_FILE);
	}
	return err;
}

/* The directory's owner pays for the block a link may add to it. */
static errcode_t link_charged(struct ick_wp *wp, ext2_ino_t dir, const char *name, ext2_ino_t ino)
{
	struct ext2_inode_large before, after;
	errcode_t err;

	if ((err = wp_read_inode(wp->fs, dir, &before)))
		return err;
	if ((err = link_name(wp->fs, dir, name, ino)) || (err = wp_read_inode(wp->fs, dir, &after)))
		return err;
	if (after.i_blocks != before.i_blocks) {
		uint64_t d = ext2fs_get_stat_i_blocks(wp->fs, (struct ext2_inode *)&after) -
			     ext2fs_get_stat_i_blocks(wp->fs, (struct ext2_inode *)&before);
		uint32_t owner[ICK_QUOTA_NTYPES];

		for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
			owner[t] = ick_quota_owner(wp->fs, &after, t);
		wp_charge_ids(wp, owner, (int64_t)d * 512, 0);
	}
	return 0;
}

static errcode_t split_path(ext2_filsys fs, const char *path, ext2_ino_t *dir, char **name)
{
	const char *slash = strrchr(path, '/');
	char *parent;
	errcode_t err;

	if (!slash || !slash[1])
		return EINVAL;
	if (!(parent = strndup(path, slash == path ? 1 : (size_t)(slash - path))))
		return ENOMEM;
	err = ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, parent, dir);
	free(parent);
	if (err)
		return err;
	return (*name = strdup(slash + 1)) ? 0 : ENOMEM;
}

static errcode_t init_inode(struct ick_wp *wp, struct ext2_inode_large *in, uint32_t uid,
			    uint32_t gid, uint32_t projid, int set_projid)
{
	ext2_filsys fs = wp->fs;
	uint32_t now = (uint32_t)time(NULL);
	int large = EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE;

	if (set_projid && (!large || !ext2fs_has_feature_project(fs->super)))
		return EXT2_ET_UNSUPP_FEATURE;
	memset(in, 0, sizeof(*in));
	in->i_mode = LINUX_S_IFREG | 0644;
	in->i_uid = uid & 0xffff;
	ext2fs_set_i_uid_high(*in, uid >> 16);
	in->i_gid = gid & 0xffff;
	ext2fs_set_i_gid_high(*in, gid >> 16);
	in->i_links_count = 1;
	in->i_atime = in->i_ctime = in->i_mtime = now;
	in->i_flags = EXT4_EXTENTS_FL;
	if (large) {
		in->i_extra_isize = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
		in->i_crtime = now;
		in->i_projid = set_projid ? projid : 0;
	}
	return 0;
}

errcode_t ick_wp_create(struct ick_wp *wp, const char *path, uint32_t uid, uint32_t gid,
			uint32_t projid, int set_projid, ext2_ino_t *ino)
{
	ext2_filsys fs = wp->fs;
	struct ext2_inode_large in;
	ext2_extent_handle_t h;
	ext2_ino_t dir, exist;
	struct wpi *wi;
	char *name = NULL;
	errcode_t err;

	if ((err = split_path(fs, path, &dir, &name)))
		return err;
	if (!ext2fs_lookup(fs, dir, name, strlen(name), NULL, &exist)) {
		free(name);
		return EEXIST;
	}
	if ((err = init_inode(wp, &in, uid, gid, projid, set_projid)) ||
	    (err = ext2fs_new_inode(fs, dir, LINUX_S_IFREG | 0644, NULL, ino)) ||
	    (err = link_charged(wp, dir, name, *ino)))
		goto out;
	ext2fs_inode_alloc_stats2(fs, *ino, +1, 0);
	/* an empty extent header in i_block, written with the inode */
	if ((err = ext2fs_extent_open2(fs, *ino, (struct ext2_inode *)&in, &h)))
		goto out;
	ext2fs_extent_free(h);
	if ((err = ext2fs_write_new_inode(fs, *ino, (struct ext2_inode *)&in)) ||
	    (err = ext2fs_write_inode_full(fs, *ino, (struct ext2_inode *)&in, sizeof(in))) ||
	    (err = wp_get_inode(wp, *ino, &wi)))
		goto out;
	wp_charge(wp, wi, 0, 1);
	err = wp_commit(wp, wi, "create");
	wp_trace(wp, "create: %s ino %u uid %u gid %u projid %u", path, *ino, uid, gid,
	      set_projid ? projid : 0);
out:
	free(name);
	return err;
}
