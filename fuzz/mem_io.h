/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mem_io.h - a read-only libext2fs io_manager over a buffer in memory (see mem_io.c).
 */
#ifndef ICK_FUZZ_MEM_IO_H
#define ICK_FUZZ_MEM_IO_H

#include <stddef.h>
#include <ext2fs/ext2fs.h>
#include "io_chan.h"

extern io_manager mem_io_manager;

struct mem_io_src {
	struct ick_io_reg reg;
	const void *data;
	size_t size;
};

/*
 * Register @m: every open of @name through mem_io_manager reads @data (the mounted view
 * opens the image several times: raw, then through the overlay), until
 * ick_io_unregister(&@m->reg); each channel keeps what it opened.  The buffer is not
 * copied: it must stay valid and unchanged until the file system is closed.
 */
void mem_io_register(struct mem_io_src *m, const char *name, const void *data, size_t size);

#endif
