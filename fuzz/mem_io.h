/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mem_io.h - a read-only libext2fs io_manager over a buffer in memory (see mem_io.c).
 */
#ifndef ICK_FUZZ_MEM_IO_H
#define ICK_FUZZ_MEM_IO_H

#include <stddef.h>
#include <ext2fs/ext2fs.h>

extern io_manager mem_io_manager;

/*
 * The bytes the next open of mem_io_manager reads (the name given to ext2fs_open2 is
 * ignored).  The buffer is not copied: it must stay valid and unchanged until the file
 * system is closed.  It serves every open until the next attach (the mounted view opens
 * the image several times: raw, then through the overlay).
 */
void mem_io_attach(const void *data, size_t size);

#endif
