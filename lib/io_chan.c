/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * io_chan.c - the registry of channel state and the read/write shim (see io_chan.h).
 */
#include "config.h"
#include <unistd.h>
#include "io_chan.h"

static struct ick_io_reg *registry; /* newest first */

void ick_io_register(struct ick_io_reg *r)
{
	r->next = registry;
	registry = r;
}

void ick_io_unregister(struct ick_io_reg *r)
{
	for (struct ick_io_reg **p = &registry; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	r->next = NULL;
}

/* ext2fs_open2 opens "path?options" as "path" (openfs.c), so that is a match too. */
static int same_name(const char *reg, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(reg, name, n) && (!reg[n] || reg[n] == '?');
}

struct ick_io_reg *ick_io_lookup(io_manager mgr, const char *name)
{
	for (struct ick_io_reg *r = registry; r; r = r->next)
		if (r->mgr == mgr && name && r->name && same_name(r->name, name))
			return r;
	return NULL;
}

static const struct ick_io_ops *ops_of(io_channel ch)
{
	return *(const struct ick_io_ops *const *)ch->private_data;
}

errcode_t ick_io_read_blk(io_channel ch, unsigned long blk, int count, void *buf)
{
	return ch->manager->read_blk64(ch, blk, count, buf);
}

errcode_t ick_io_write_blk(io_channel ch, unsigned long blk, int count, const void *buf)
{
	return ch->manager->write_blk64(ch, blk, count, buf);
}

errcode_t ick_io_read_blk64(io_channel ch, unsigned long long blk, int count, void *buf)
{
	uint64_t off;
	size_t len;
	errcode_t err = ick_io_span(ch, blk, count, &off, &len);

	return err ? err : ops_of(ch)->pread(ch, off, len, buf);
}

errcode_t ick_io_write_blk64(io_channel ch, unsigned long long blk, int count, const void *buf)
{
	const struct ick_io_ops *ops = ops_of(ch);
	uint64_t off;
	size_t len;
	errcode_t err;

	if (!ops->pwrite)
		return ops->ro_err;
	err = ick_io_span(ch, blk, count, &off, &len);
	return err ? err : ops->pwrite(ch, off, len, buf);
}

errcode_t ick_io_write_byte(io_channel ch, unsigned long off, int count, const void *buf)
{
	const struct ick_io_ops *ops = ops_of(ch);

	if (!ops->pwrite)
		return ops->ro_err;
	if (count < 0)
		return EXT2_ET_INVALID_ARGUMENT;
	return ops->pwrite(ch, off, (size_t)count, buf);
}

errcode_t ick_io_zeroout(io_channel ch, unsigned long long blk, unsigned long long count)
{
	unsigned char *zero = calloc(1, (size_t)ch->block_size);
	errcode_t err = zero ? 0 : ENOMEM;

	for (unsigned long long i = 0; i < count && !err; i++)
		err = ch->manager->write_blk64(ch, blk + i, 1, zero);
	free(zero);
	return err;
}

errcode_t ick_io_no_option(io_channel ch, const char *opt, const char *arg)
{
	(void)ch;
	(void)opt;
	(void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

errcode_t ick_fd_pread(int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
	unsigned char *b = buf;

	*got = 0;
	while (*got < len) {
		ssize_t n = pread(fd, b + *got, len - *got, (off_t)(off + *got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}
