/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * io_chan.h - what our io_managers (overlay, recorder, logdev, the fuzzers' in-memory one)
 * share: making and releasing a channel, libext2fs's count convention (a count > 0 is
 * that many blocks of the channel's size, a count < 0 that many bytes), one read/write
 * shim over byte-addressed I/O, and the registry through which a channel gets its state.
 *
 * Per-channel state: libext2fs gives an io_manager's open only a name and flags, so the
 * caller registers the state for (manager, name) before opening (ick_io_register, a
 * caller-owned struct, usually on its stack) and unregisters it after; the manager's open
 * looks it up (the newest registration for that pair) and keeps it in the channel's
 * private data.  Open channels do not depend on the registration: any number of channels
 * of one manager, over one name or several, each read their own state.  The registry is
 * one list per process (the sweep's workers are processes); not thread-safe.
 */
#ifndef ICK_IO_CHAN_H
#define ICK_IO_CHAN_H
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ext2fs/ext2fs.h>

/* A channel of @mgr named @name over @priv, 1 KiB blocks, one reference. */
static inline errcode_t ick_io_chan_new(const char *name, io_manager mgr, void *priv,
					io_channel *out)
{
	io_channel ch = calloc(1, sizeof(*ch));

	*out = NULL;
	if (!ch || !(ch->name = strdup(name ? name : ""))) {
		free(ch);
		return ENOMEM;
	}
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = mgr;
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = priv;
	*out = ch;
	return 0;
}

/* Drop a reference; when it was the last, free the channel and return 1 (the caller
 * frees its private data first, having read it). */
static inline int ick_io_chan_put(io_channel ch)
{
	if (--ch->refcount > 0)
		return 0;
	free(ch->name);
	free(ch);
	return 1;
}

static inline errcode_t ick_io_span(io_channel ch, unsigned long long blk, int count,
				    uint64_t *off, size_t *len)
{
	uint64_t bs = (uint64_t)ch->block_size;

	if (blk > UINT64_MAX / bs)
		return EXT2_ET_LLSEEK_FAILED;
	*off = blk * bs;
	*len = count < 0 ? (size_t)(-(int64_t)count) : (size_t)count * bs;
	return 0;
}

/* A channel's state for opens of @mgr on @name (neither copied: they outlive the
 * registration).  @backing: the io_manager the channel reads its device through, for the
 * managers stacked on another (NULL: unix_io). */
struct ick_io_reg {
	io_manager mgr;
	const char *name;
	void *state;
	io_manager backing;
	struct ick_io_reg *next;
};
void ick_io_register(struct ick_io_reg *r);
/* Remove @r (registered or not). */
void ick_io_unregister(struct ick_io_reg *r);
/* The newest registration of @mgr for @name (or for "@name?…", which libext2fs opens as
 * @name), or NULL. */
struct ick_io_reg *ick_io_lookup(io_manager mgr, const char *name);

/* Byte-addressed I/O of one of our channels: its private data starts with a pointer to
 * these.  @pwrite NULL: read-only, every write fails with @ro_err. */
struct ick_io_ops {
	errcode_t (*pread)(io_channel ch, uint64_t off, size_t len, void *buf);
	errcode_t (*pwrite)(io_channel ch, uint64_t off, size_t len, const void *buf);
	errcode_t ro_err;
};

/* The struct_io_manager entry points over ick_io_ops: read_blk and write_blk go to the
 * channel's manager's 64-bit ones; read_blk64, write_blk64 and write_byte to the ops. */
errcode_t ick_io_read_blk(io_channel ch, unsigned long blk, int count, void *buf);
errcode_t ick_io_write_blk(io_channel ch, unsigned long blk, int count, const void *buf);
errcode_t ick_io_read_blk64(io_channel ch, unsigned long long blk, int count, void *buf);
errcode_t ick_io_write_blk64(io_channel ch, unsigned long long blk, int count,
			     const void *buf);
errcode_t ick_io_write_byte(io_channel ch, unsigned long off, int count, const void *buf);
/* zeroout as @count zero blocks written through the channel's own write_blk64 */
errcode_t ick_io_zeroout(io_channel ch, unsigned long long blk, unsigned long long count);
/* set_option for a manager that takes none */
errcode_t ick_io_no_option(io_channel ch, const char *opt, const char *arg);

/* pread(2) of [off, off + len) from @fd until it is read or the file ends (EINTR retried):
 * *got is what was read, short only at the end of the file; errno on an error. */
errcode_t ick_fd_pread(int fd, void *buf, size_t len, uint64_t off, size_t *got);

#endif
