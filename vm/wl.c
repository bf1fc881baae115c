/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wl.c - seeded, deterministic file workload for iomapck-vm.
 *
 * Runs inside the guest on an ext4 mounted over dm-log-writes.  It keeps an
 * in-memory model of every file's content, and after every fsync/fdatasync
 * (of a file or a directory) it places a dm-log-writes mark and appends to a
 * manifest the files whose content and name are durable at that point:
 *
 *	# iomapck-vm manifest v1 seed=S config=NAME
 *	mark fsync-17
 *	file /d1/f3 123456 fnv1a64:0123456789abcdef
 *
 * A file is listed only when its last change was followed by an fsync or
 * fdatasync of it, and every directory touched by its create or last rename
 * was fsynced afterwards.  Anything uncertain is left out.
 *
 * Usage:
 *	wl run SEED MNT MANIFEST CONFIG [NOPS]   the logged workload
 *	wl script FILE MNT MANIFEST [CONFIG]     the operations listed in FILE
 *	                                         (same model, marks, manifest)
 *	wl kept MNT SEED                         flakey phase: a synced file
 *	wl lost MNT SEED                         flakey phase: writes to lose
 *	wl flakey-check MNT SEED                 kept intact, lost absent?
 *	wl copy SRC DST                          copy a disk onto a zeroed one
 *	wl hash PATH...                          size and FNV-1a 64 of each file:
 *	                                         "hash PATH SIZE HEX" or "hash PATH missing"
 *
 * Marks go through the DM_TARGET_MSG ioctl on /dev/mapper/control (target
 * name $WL_DM_NAME, default "lw"); if that fails, "dmsetup message" is run.
 * WL_NOMARK=1 disables marks (for trying wl on a host directory); WL_TRACE=1
 * prints every operation.
 *
 * The op log: every operation that took effect is also a manifest comment
 * "#op OP ARGS" in the syntax of "wl script" (below), in the order done, so a
 * seeded run can be replayed elsewhere (iomapck-vm compare-model).  Seeded-only
 * operations: "sfr PATH" (sync_file_range of the whole file), "chown PATH UID
 * GID", "projid PATH ID" and "orphan-sync fsync|fdatasync" (a sync mark from an
 * fsync of a file already unlinked); a write is logged with the bytes it wrote;
 * operations on an unlinked file are logged as comments ("#op # ...").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/dm-ioctl.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#define NDIRS	  4		/* 0 = mount root, 1..3 = d1..d3 */
#define NSLOTS	  10
#define MAX_SIZE  (1u << 20)	/* model cap per file */
#define MAX_LEN	  (256u << 10)	/* longest single write */
#define DIO_ALIGN 4096u

struct wfile {
	int used;
	unsigned id;		/* unique per created file: content key */
	int dir;
	char name[32];
	int fd;			/* -1 when closed */
	unsigned char *data;	/* MAX_SIZE + MAX_LEN bytes, zero past size */
	uint64_t size;
	int dirty;		/* changed since its last fsync/fdatasync */
	unsigned name_pending;	/* dirs to fsync before its name is durable */
	int unlinked;
	int bad;		/* model disagreed with the file: never listed */
};

static struct {
	uint64_t seed, rng;
	const char *mnt;
	FILE *manifest;
	unsigned nmarks, nops, opno, next_id, mismatches;
	unsigned skipped, skip_shown;
	unsigned dir_pending;	/* script mode: dirs made but not yet durable in / */
	int ctl_fd;
	const char *dm_name;
	int nomark;
	int oplog;		/* wl run: log operations in the manifest (#op) */
	struct wfile f[NSLOTS];
	unsigned char *buf;	/* DIO-aligned scratch */
	unsigned char *rbuf;	/* read-back scratch */
} W = { .ctl_fd = -1 };

static int trace_on;
static void rel_path(const struct wfile *f, char *out, size_t n);

/* the op log: "#op OP PATH REST" in the manifest (see the top); PATH left out when @f is
 * NULL; an operation on an unlinked file is logged as a comment */
static void oplog(const struct wfile *f, const char *op, const char *fmt, ...)
{
	char rel[64];
	va_list ap;

	if (!W.manifest || !W.oplog)
		return;
	fprintf(W.manifest, "#op %s%s", f && f->unlinked ? "# unlinked: " : "", op);
	if (f) {
		rel_path(f, rel, sizeof(rel));
		fprintf(W.manifest, " %s", rel);
	}
	va_start(ap, fmt);
	vfprintf(W.manifest, fmt, ap);
	va_end(ap);
	fputc('\n', W.manifest);
}

/* WL_TRACE=1: one line per operation */
static void trace(const struct wfile *f, const char *fmt, ...)
{
	char rel[64] = "-";
	va_list ap;

	if (!trace_on)
		return;
	if (f)
		rel_path(f, rel, sizeof(rel));
	printf("wl: op %u %s ", W.opno, rel);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "wl: fatal: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/* ---- PRNG and content ------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t rnd(void)
{
	W.rng += 0x9e3779b97f4a7c15ULL;
	return mix64(W.rng);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static uint64_t content_key(unsigned id, unsigned opno)
{
	return mix64(W.seed * 0x100000001b3ULL ^ mix64(id + 1) ^ ((uint64_t)opno << 32));
}

/* byte at file offset pos written by the op with this key */
static void fill(unsigned char *dst, uint64_t key, uint64_t pos, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++) {
		uint64_t p = pos + i;
		dst[i] = (unsigned char)(mix64(key ^ (p >> 3)) >> ((p & 7) * 8));
	}
}

/* FNV-1a 64, streaming (@h: the running value, FNV_INIT to start), as the manifest's
 * checker computes it (lib/manifest.h: ick_fnv1a64; wl is built alone for the guest) */
#define FNV_INIT 0xcbf29ce484222325ULL
static uint64_t fnv1a64(uint64_t h, const unsigned char *p, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* ---- paths, marks, manifest ------------------------------------------- */

static void dir_path(int dir, char *out, size_t n)
{
	if (dir)
		snprintf(out, n, "%s/d%d", W.mnt, dir);
	else
		snprintf(out, n, "%s", W.mnt);
}

static void rel_path(const struct wfile *f, char *out, size_t n)
{
	if (f->dir)
		snprintf(out, n, "/d%d/%s", f->dir, f->name);
	else
		snprintf(out, n, "/%s", f->name);
}

static void abs_path(const struct wfile *f, char *out, size_t n)
{
	char rel[64];

	rel_path(f, rel, sizeof(rel));
	snprintf(out, n, "%s%s", W.mnt, rel);
}

static int mark_ioctl(const char *text)
{
	union {
		struct dm_ioctl io;
		unsigned char raw[sizeof(struct dm_ioctl) + sizeof(struct dm_target_msg) + 128];
	} u;
	struct dm_target_msg *msg = (void *)(u.raw + sizeof(struct dm_ioctl));

	if (W.ctl_fd < 0)
		W.ctl_fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (W.ctl_fd < 0)
		return -1;
	memset(&u, 0, sizeof(u));
	u.io.version[0] = DM_VERSION_MAJOR;
	u.io.data_size = sizeof(u);
	u.io.data_start = sizeof(struct dm_ioctl);
	snprintf(u.io.name, sizeof(u.io.name), "%s", W.dm_name);
	msg->sector = 0;
	snprintf(msg->message, 100, "mark %s", text);
	return ioctl(W.ctl_fd, DM_TARGET_MSG, &u);
}

static int mark_exec(const char *text)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		execlp("dmsetup", "dmsetup", "message", W.dm_name, "0", "mark", text,
		       (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void place_mark(const char *text)
{
	if (W.nomark)
		return;
	if (mark_ioctl(text) && mark_exec(text))
		die("cannot place mark %s", text);
}

/* Compare the model with the file; on a mismatch trust the file, never list it. */
static void verify(struct wfile *f)
{
	struct stat st;
	char rel[64];
	ssize_t got = 0;

	if (fstat(f->fd, &st))
		die("fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size <= MAX_SIZE + MAX_LEN)
		got = pread(f->fd, W.rbuf, st.st_size, 0);
	if ((uint64_t)st.st_size == f->size && got == st.st_size &&
	    !memcmp(W.rbuf, f->data, f->size))
		return;
	rel_path(f, rel, sizeof(rel));
	printf("wl: MODEL MISMATCH %s: model size %" PRIu64 ", file size %lld (read %zd)\n",
	       rel, f->size, (long long)st.st_size, got);
	W.mismatches++;
	f->bad = 1;
	if (got == st.st_size) {
		memset(f->data, 0, MAX_SIZE + MAX_LEN);
		memcpy(f->data, W.rbuf, got);
		f->size = got;
	}
}

static void list_file(FILE *out, const struct wfile *f)
{
	char rel[64];

	rel_path(f, rel, sizeof(rel));
	fprintf(out, "file %s %" PRIu64 " fnv1a64:%016" PRIx64 "\n", rel, f->size,
		fnv1a64(FNV_INIT, f->data, f->size));
}

/* a dm-log-writes mark and its manifest section: the files durable now */
static void emit_mark(const char *name)
{
	place_mark(name);
	trace(NULL, "mark %s", name);
	fprintf(W.manifest, "mark %s\n", name);
	for (int i = 0; i < NSLOTS; i++) {
		struct wfile *f = &W.f[i];
		if (f->used && !f->unlinked && !f->dirty && !f->name_pending && !f->bad &&
		    !(W.dir_pending & (1u << f->dir)))
			list_file(W.manifest, f);
	}
	fflush(W.manifest);
}

static void sync_point(const char *kind)
{
	char name[32];

	snprintf(name, sizeof(name), "%s-%u", kind, ++W.nmarks);
	emit_mark(name);
}

static void skip(const char *op, const struct wfile *f, int err)
{
	W.skipped++;
	if (W.skip_shown++ < 12)
		printf("wl: op %u %s on %s skipped: %s\n", W.opno, op, f ? f->name : "-",
		       strerror(err));
}

/* ---- file slots -------------------------------------------------------- */

static struct wfile *pick(int want_open)
{
	int cand[NSLOTS], n = 0;

	for (int i = 0; i < NSLOTS; i++)
		if (W.f[i].used && (!want_open || W.f[i].fd >= 0))
			cand[n++] = i;
	return n ? &W.f[cand[below(n)]] : NULL;
}

static int ensure_open(struct wfile *f)
{
	char p[160];

	if (f->fd >= 0)
		return 0;
	abs_path(f, p, sizeof(p));
	f->fd = open(p, O_RDWR | O_CLOEXEC);
	return f->fd < 0 ? -1 : 0;
}

static void free_slot(struct wfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->data);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

static struct wfile *by_name(int dir, const char *name)
{
	for (int i = 0; i < NSLOTS; i++)
		if (W.f[i].used && !W.f[i].unlinked && W.f[i].dir == dir &&
		    !strcmp(W.f[i].name, name))
			return &W.f[i];
	return NULL;
}

/* set the model size; data past the size always reads as zero */
static void model_size(struct wfile *f, uint64_t size)
{
	if (size < f->size)
		memset(f->data + size, 0, f->size - size);
	f->size = size;
}

/* the model takes the bytes that were written (not generated again) */
static void model_write(struct wfile *f, uint64_t pos, uint64_t len, const unsigned char *src)
{
	memcpy(f->data + pos, src, len);
	if (pos + len > f->size)
		f->size = pos + len;
}

/* ---- operations ---------------------------------------------------------- */
/*
 * What each operation does to the file and the model, shared by the seeded run
 * (its arguments drawn, a failing call skipped) and the scripted run (its
 * arguments parsed, a failing call fatal): each returns -1 with errno set when
 * the call failed, and leaves the reaction to its caller.  The op log (#op) is
 * written only by a seeded run (W.oplog), the trace by both.
 */

/* the first free slot, or NULL */
static struct wfile *free_slot_find(void)
{
	for (int i = 0; i < NSLOTS; i++)
		if (!W.f[i].used)
			return &W.f[i];
	return NULL;
}

/* create @dir/@name in the free slot @f (its name set even when open fails) */
static int file_create(struct wfile *f, int dir, const char *name)
{
	char p[160];

	f->id = W.next_id++;
	f->dir = dir;
	snprintf(f->name, sizeof(f->name), "%s", name);
	abs_path(f, p, sizeof(p));
	f->fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (f->fd < 0)
		return -1;
	if (!(f->data = calloc(1, MAX_SIZE + MAX_LEN)))
		die("out of memory");
	f->used = 1;
	f->dirty = 1;
	f->name_pending = 1u << f->dir;
	trace(f, "create");
	oplog(f, "create", "");
	return 0;
}

static uint64_t rand_len(void)
{
	switch (below(8)) {
	case 0: return 1 + below(64);
	case 1: return 1 + below(MAX_LEN);
	default: return 1 + below(64 << 10);
	}
}

/*
 * A store of @len bytes at @pos through a shared mapping (the page fault path:
 * ext4's page_mkwrite, through iomap with buffered_iomap), inside the file's
 * size (a mapping cannot extend a file).  Returns @len, or -1 with errno set.
 */
static ssize_t mmap_store(int fd, uint64_t pos, uint64_t len, const unsigned char *src)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t start = pos - pos % (uint64_t)pg, maplen = pos + len - start;
	unsigned char *m;
	int e;

	m = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)start);
	if (m == MAP_FAILED)
		return -1;
	memcpy(m + (pos - start), src, len);
	e = munmap(m, maplen) ? errno : 0;
	if (e) {
		errno = e;
		return -1;
	}
	return (ssize_t)len;
}

/*
 * Whether the buffered write of op @opno goes through a mapping: one in eight,
 * decided by a hash, not a draw, so a seed keeps the operation sequence it had
 * before mmap writes existed.
 */
static int via_mmap(unsigned opno)
{
	return (mix64(W.seed ^ 0x6d6d6170ULL ^ ((uint64_t)opno << 20)) & 7) == 0;
}

/* @len bytes of the content @key at @pos through @fd: a store through a mapping
 * when @mapped, else a pwrite; W.buf holds the bytes (for the model) */
static ssize_t store(int fd, uint64_t key, uint64_t pos, uint64_t len, int mapped)
{
	fill(W.buf, key, pos, len);
	return mapped ? mmap_store(fd, pos, len, W.buf) : pwrite(fd, W.buf, len, pos);
}

/* open @f's file again with O_DIRECT */
static int open_direct(struct wfile *f)
{
	char p[160];

	abs_path(f, p, sizeof(p));
	return open(p, O_RDWR | O_DIRECT | O_CLOEXEC);
}

/* the model after a fallocate of @mode that succeeded */
static void falloc_model(struct wfile *f, int mode, uint64_t pos, uint64_t len)
{
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		uint64_t end = pos + len < f->size ? pos + len : f->size;
		if (pos < end)
			memset(f->data + pos, 0, end - pos);
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && pos + len > f->size)
		model_size(f, pos + len);
}

static int do_fallocate(struct wfile *f, int mode, uint64_t pos, uint64_t len)
{
	f->dirty = 1;
	trace(f, "fallocate mode %#x %" PRIu64 "+%" PRIu64 " (size %" PRIu64 ")", mode, pos,
	      len, f->size);
	return fallocate(f->fd, mode, pos, len);
}

static int do_truncate(struct wfile *f, uint64_t size)
{
	f->dirty = 1;
	trace(f, "ftruncate %" PRIu64 " (size %" PRIu64 ")", size, f->size);
	if (ftruncate(f->fd, size))
		return -1;
	oplog(f, "truncate", " %" PRIu64, size);
	model_size(f, size);
	return 0;
}

/* fsync or (@data) fdatasync, then a mark: the file's content is durable */
static int do_fsync(struct wfile *f, int data)
{
	if (data ? fdatasync(f->fd) : fsync(f->fd))
		return -1;
	verify(f);
	f->dirty = 0;
	trace(f, "%s (size %" PRIu64 ")", data ? "fdatasync" : "fsync", f->size);
	if (f->unlinked)
		oplog(NULL, "orphan-sync", " %s", data ? "fdatasync" : "fsync");
	else
		oplog(f, data ? "fdatasync" : "fsync", "");
	sync_point(data ? "fdatasync" : "fsync");
	return 0;
}

/*
 * rename @f to @dir/@name, replacing @old (the model file there, or NULL; never
 * @f), which is freed if closed or @free_old; @from and @to (160 bytes) get the
 * absolute paths
 */
static int do_rename(struct wfile *f, struct wfile *old, int dir, const char *name,
		     int free_old, char *from, char *to)
{
	abs_path(f, from, 160);
	dir_path(dir, to, 160);
	snprintf(to + strlen(to), 160 - strlen(to), "/%s", name);
	if (rename(from, to))
		return -1;
	oplog(f, "rename", " %s", to + strlen(W.mnt));
	if (old) {
		old->unlinked = 1;
		if (free_old || old->fd < 0)
			free_slot(old);
	}
	trace(f, "rename to %s%s", to + strlen(W.mnt), old ? " (replacing)" : "");
	f->name_pending |= (1u << f->dir) | (1u << dir);
	f->dir = dir;
	snprintf(f->name, sizeof(f->name), "%s", name);
	return 0;
}

static void fsync_dir(int dir)
{
	char p[160];
	int fd;

	dir_path(dir, p, sizeof(p));
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		die("fsync dir %s: %s", p, strerror(errno));
	close(fd);
	for (int i = 0; i < NSLOTS; i++)
		W.f[i].name_pending &= ~(1u << dir);
	if (dir == 0)
		W.dir_pending = 0;	/* the entries of d1..d3 are durable now */
	trace(NULL, "fsync dir %s", p);
	oplog(NULL, "fsyncdir", dir ? " /d%d" : " /", dir);
	sync_point("dirsync");
}

static void op_close(struct wfile *f)
{
	trace(f, "close");
	oplog(f, "close", "");
	if (f->unlinked) {
		free_slot(f);
		return;
	}
	close(f->fd);
	f->fd = -1;
}

/* ---- seeded operations: their arguments drawn -------------------------- */
/*
 * Each draws its arguments with below() in a fixed order: a seed's operation
 * sequence depends on the number and order of these draws, never change them.
 */

static void seed_create(struct wfile *unused)
{
	struct wfile *f = free_slot_find();
	char name[32];
	int dir;

	(void)unused;
	if (!f)
		return;
	snprintf(name, sizeof(name), "f%u", W.next_id);
	dir = (int)below(NDIRS);
	if (file_create(f, dir, name)) {
		skip("create", f, errno);
		f->fd = -1;
	}
}

static void seed_buffered_write(struct wfile *f)
{
	uint64_t len = rand_len(), pos = below(f->size + (128 << 10));
	uint64_t key = content_key(f->id, W.opno);
	int mapped;
	ssize_t n;

	if (pos + len > MAX_SIZE)
		pos = MAX_SIZE - len;
	mapped = via_mmap(W.opno) && pos + len <= f->size;
	n = store(f->fd, key, pos, len, mapped);
	f->dirty = 1;
	trace(f, "%s %" PRIu64 "+%" PRIu64 " = %zd", mapped ? "mmap write" : "pwrite", pos, len,
	      n);
	if (n < 0) {
		skip("pwrite", f, errno);
		return;
	}
	oplog(f, mapped ? "mwrite" : "write", " %" PRIu64 " %zd %u", pos, n, W.opno & 0xff);
	model_write(f, pos, n, W.buf);
}

static void seed_direct_write(struct wfile *f)
{
	uint64_t len = (1 + below(16)) * DIO_ALIGN;
	uint64_t pos = below((f->size + (256 << 10)) / DIO_ALIGN) * DIO_ALIGN;
	uint64_t key = content_key(f->id, W.opno);
	ssize_t n;
	int fd;

	if (f->unlinked)
		return;
	if (pos + len > MAX_SIZE)
		pos = MAX_SIZE - len;
	if ((fd = open_direct(f)) < 0) {
		skip("open O_DIRECT", f, errno);
		return;
	}
	n = store(fd, key, pos, len, 0);
	f->dirty = 1;
	trace(f, "O_DIRECT pwrite %" PRIu64 "+%" PRIu64 " = %zd", pos, len, n);
	if (n < 0) {
		skip("O_DIRECT pwrite", f, errno);
	} else {
		oplog(f, "dwrite", " %" PRIu64 " %zd %u", pos, n, W.opno & 0xff);
		model_write(f, pos, n, W.buf);
	}
	close(fd);
}

static void seed_fallocate(struct wfile *f)
{
	static const int modes[] = {
		0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		FALLOC_FL_ZERO_RANGE, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
	};
	int mode = modes[below(sizeof(modes) / sizeof(modes[0]))];
	uint64_t len = rand_len(), pos = below(f->size + (64 << 10));

	if (pos + len > MAX_SIZE)
		pos = MAX_SIZE - len;
	if (do_fallocate(f, mode, pos, len)) {
		skip("fallocate", f, errno);
		return;
	}
	oplog(f, mode & FALLOC_FL_PUNCH_HOLE ? "punch" : mode & FALLOC_FL_ZERO_RANGE ?
	      "zero_range" : "falloc", " %" PRIu64 " %" PRIu64 "%s", pos, len,
	      (mode & FALLOC_FL_KEEP_SIZE) && !(mode & FALLOC_FL_PUNCH_HOLE) ? " keep" : "");
	falloc_model(f, mode, pos, len);
}

static void seed_truncate(struct wfile *f)
{
	uint64_t size = below(2) ? below(f->size + 1) : f->size + below(256 << 10);

	if (size > MAX_SIZE)
		size = MAX_SIZE;
	if (do_truncate(f, size))
		skip("ftruncate", f, errno);
}

/* a write crossing RLIMIT_FSIZE: the kernel writes only up to the limit */
static void seed_short_write(struct wfile *f)
{
	uint64_t limit = f->size + 1 + below(16 << 10);
	uint64_t before = 1 + below(8 << 10), after = 1 + below(8 << 10);
	uint64_t key = content_key(f->id, W.opno), pos;
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	ssize_t n;

	if (limit + after > MAX_SIZE)
		return;
	pos = limit > before ? limit - before : 0;
	fill(W.buf, key, pos, limit + after - pos);
	rl.rlim_cur = limit;
	if (setrlimit(RLIMIT_FSIZE, &rl))
		die("setrlimit: %s", strerror(errno));
	n = pwrite(f->fd, W.buf, limit + after - pos, pos);
	rl.rlim_cur = RLIM_INFINITY;
	setrlimit(RLIMIT_FSIZE, &rl);
	f->dirty = 1;
	trace(f, "short pwrite %" PRIu64 "+%" PRIu64 " limit %" PRIu64 " = %zd", pos,
	      limit + after - pos, limit, n);
	if (n < 0) {
		skip("short pwrite", f, errno);
		return;
	}
	/* the VFS cut it to the limit before ext4 saw it: a write of the @n bytes */
	oplog(f, "write", " %" PRIu64 " %zd %u", pos, n, W.opno & 0xff);
	model_write(f, pos, n, W.buf);
}

static void seed_fsync(struct wfile *f)
{
	int data = below(3) == 0;

	if (do_fsync(f, data))
		skip(data ? "fdatasync" : "fsync", f, errno);
}

static void seed_sync_file_range(struct wfile *f)
{
	if (sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
			    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER))
		skip("sync_file_range", f, errno);
	else
		oplog(f, "sfr", "");
}

static void seed_rename(struct wfile *f)
{
	int dir = (int)below(NDIRS);
	char from[160], to[160], name[32];
	struct wfile *old;

	if (f->unlinked)
		return;
	if (below(3) == 0)	/* rename over another file, if there is one */
		snprintf(name, sizeof(name), "f%u", (unsigned)below(W.next_id));
	else
		snprintf(name, sizeof(name), "r%u", W.opno);
	old = by_name(dir, name);
	if (old == f)
		return;
	if (do_rename(f, old, dir, name, 0, from, to))
		skip("rename", f, errno);
}

/* unlink a file that is still open: it stays writable until closed */
static void seed_unlink_open(struct wfile *f)
{
	char p[160];

	if (f->unlinked)
		return;
	abs_path(f, p, sizeof(p));
	if (unlink(p)) {
		skip("unlink", f, errno);
		return;
	}
	oplog(f, "unlink", "");
	f->unlinked = 1;
	trace(f, "unlink (still open)");
}

static void seed_fsync_dir(struct wfile *unused)
{
	(void)unused;
	fsync_dir((int)below(NDIRS));
}

static void seed_owner(struct wfile *f)
{
	static const unsigned ids[] = { 0, 1000, 1001, 1002 };
	struct fsxattr fa;

	if (below(2)) {
		/* gid drawn first: gcc evaluated fchown(fd, ids[below(4)], ids[below(4)])
		 * right to left, and a seed keeps the owners it had */
		unsigned gid = ids[below(4)];
		unsigned uid = ids[below(4)];

		if (fchown(f->fd, uid, gid))
			skip("fchown", f, errno);
		else
			oplog(f, "chown", " %u %u", uid, gid);
		return;
	}
	if (ioctl(f->fd, FS_IOC_FSGETXATTR, &fa)) {
		if (errno != ENOTTY && errno != EOPNOTSUPP)
			skip("FS_IOC_FSGETXATTR", f, errno);
		return;
	}
	fa.fsx_projid = (unsigned)below(4);
	if (ioctl(f->fd, FS_IOC_FSSETXATTR, &fa)) {
		if (errno != ENOTTY && errno != EOPNOTSUPP)
			skip("FS_IOC_FSSETXATTR", f, errno);
	} else {
		oplog(f, "projid", " %u", fa.fsx_projid);
	}
}

/* ---- scripted mode ------------------------------------------------------- */
/*
 * wl script FILE MNT MANIFEST [CONFIG]: the operations of FILE, one a line, on
 * the same model, with the same marks and manifest as "wl run".  "#" starts a
 * comment.  Numbers are bytes (0x.. allowed; suffix k = KiB, m = MiB).  PATH is
 * /NAME or /dK/NAME (K = 1..3), DIR is / or /dK.  Any failing call is fatal.
 *
 *	create PATH                  open(O_CREAT|O_EXCL); durable after fsync + fsyncdir
 *	write PATH OFF LEN SEED      buffered pwrite of seeded content
 *	dwrite PATH OFF LEN SEED     O_DIRECT pwrite (OFF, LEN multiples of 4096)
 *	mwrite PATH OFF LEN SEED     store through a shared mapping (inside the size)
 *	fsync PATH / fdatasync PATH  then mark fsync-N / fdatasync-N
 *	fsyncdir DIR                 then mark dirsync-N
 *	mkdir DIR                    /dK; its entry is durable after "fsyncdir /"
 *	falloc PATH OFF LEN [keep]   fallocate mode 0 (or FALLOC_FL_KEEP_SIZE)
 *	zero_range PATH OFF LEN [keep]   FALLOC_FL_ZERO_RANGE (| KEEP_SIZE)
 *	punch PATH OFF LEN           FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
 *	truncate PATH SIZE           ftruncate
 *	rename PATH NEWPATH          rename (replaces NEWPATH if it exists)
 *	unlink PATH                  unlink and close
 *	close PATH                   close (later ops reopen it)
 *	sync                         sync(), then mark sync-N (everything durable)
 *	mark NAME                    a mark (and manifest section) named NAME
 *	sleep SECONDS                sleep
 *
 * A trailing "enospc" after write or falloc (mode 0 or keep) lets the call fail or
 * stop short with ENOSPC (logged: "#op ... enospc = N" or "= -ENOSPC"), and a falloc
 * keep from at or past the size may be of any length (to fill the disk).
 */
static const char *script_name;
static unsigned script_line;
static char script_result[48];	/* " = N" or " = -ENOSPC" of an "enospc" op, for the op log */

static void sdie(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "wl: fatal: %s:%u: ", script_name, script_line);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static uint64_t snum(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (errno || end == s || *end || s[0] == '-')
		sdie("bad number '%s'", s);
	return v;
}

static int sdir(const char *p)
{
	if (!strcmp(p, "/"))
		return 0;
	if (p[0] == '/' && p[1] == 'd' && p[2] >= '1' && p[2] < '0' + NDIRS && !p[3])
		return p[2] - '0';
	sdie("'%s' is not / or /d1../d%d", p, NDIRS - 1);
	return -1;
}

static void spath(const char *p, int *dir, char *name, size_t n)
{
	const char *s = p + 1;

	*dir = 0;
	if (p[0] != '/')
		sdie("'%s' does not start with /", p);
	if (s[0] == 'd' && s[1] >= '1' && s[1] < '0' + NDIRS && s[2] == '/') {
		*dir = s[1] - '0';
		s += 3;
	}
	if (!*s || strchr(s, '/') || strlen(s) >= n)
		sdie("'%s' is not /NAME or /dK/NAME", p);
	snprintf(name, n, "%s", s);
}

/* the open model file at PATH */
static struct wfile *sfile(const char *p)
{
	char name[32];
	struct wfile *f;
	int dir;

	spath(p, &dir, name, sizeof(name));
	if (!(f = by_name(dir, name)))
		sdie("%s was not created by this script", p);
	if (ensure_open(f))
		sdie("open %s: %s", p, strerror(errno));
	return f;
}

static void srange(uint64_t pos, uint64_t len)
{
	if (pos > MAX_SIZE || len > MAX_SIZE - pos)
		sdie("range %" PRIu64 "+%" PRIu64 " beyond the model's %u bytes", pos, len,
		     MAX_SIZE);
}

/* a script line: its words @a[0..n) (a trailing "enospc" taken off as @mayfail, a
 * trailing "keep" of an op that takes one as @keep) and the table's @mode */
struct sargs {
	int n;
	char **a;
	int keep, mayfail, mode;
};

/* an "enospc" op's result for the op log */
#define SRESULT(...) snprintf(script_result, sizeof(script_result), __VA_ARGS__)

static void script_create(const struct sargs *s)
{
	struct wfile *f;
	char name[32], ap[160];
	int dir;

	spath(s->a[1], &dir, name, sizeof(name));
	if (by_name(dir, name))
		sdie("%s exists", s->a[1]);
	if (!(f = free_slot_find()))
		sdie("more than %d files", NSLOTS);
	if (file_create(f, dir, name)) {
		abs_path(f, ap, sizeof(ap));
		sdie("create %s: %s", ap, strerror(errno));
	}
}

/* write (mode 0), dwrite (1: O_DIRECT), mwrite (2: through a mapping) */
static void script_write(const struct sargs *s)
{
	struct wfile *f = sfile(s->a[1]);
	uint64_t pos = snum(s->a[2]), len = snum(s->a[3]), seed = snum(s->a[4]);
	uint64_t key = content_key(f->id, (unsigned)seed) ^ mix64(seed);
	int direct = s->mode, fd = f->fd;
	ssize_t n;

	srange(pos, len);
	if (direct == 1) {
		if (pos % DIO_ALIGN || len % DIO_ALIGN)
			sdie("dwrite wants OFF and LEN multiples of %u", DIO_ALIGN);
		if ((fd = open_direct(f)) < 0)
			sdie("open O_DIRECT %s%s: %s", W.mnt, s->a[1], strerror(errno));
	}
	if (direct == 2 && pos + len > f->size)
		sdie("mwrite past the size (%" PRIu64 "): a mapping cannot extend a file", f->size);
	n = store(fd, key, pos, len, direct == 2);
	trace(f, "%s %" PRIu64 "+%" PRIu64 " seed %" PRIu64 " = %zd",
	      direct == 2 ? "mmap write" : direct ? "O_DIRECT pwrite" : "pwrite", pos, len, seed, n);
	if (direct == 1)
		close(fd);
	if (n != (ssize_t)len && s->mayfail && (n >= 0 || errno == ENOSPC)) {
		/* "enospc": a short or failed write is the result, logged */
		if (n < 0)
			SRESULT(" = -ENOSPC");
		else
			SRESULT(" = %zd", n);
		f->dirty = 1;
		if (n > 0)
			model_write(f, pos, n, W.buf);
		return;
	}
	if (n != (ssize_t)len)
		sdie("%s: %s", direct == 2 ? "mmap write" : "pwrite",
		     n < 0 ? strerror(errno) : "short write");
	f->dirty = 1;
	model_write(f, pos, len, W.buf);
	if (s->mayfail)
		SRESULT(" = %zd", n);
}

/* falloc (mode 0), zero_range, punch; "keep" adds FALLOC_FL_KEEP_SIZE */
static void script_fallocate(const struct sargs *s)
{
	struct wfile *f = sfile(s->a[1]);
	uint64_t pos = snum(s->a[2]), len = snum(s->a[3]);
	int mode = s->mode | (s->keep ? FALLOC_FL_KEEP_SIZE : 0);
	struct stat st;

	/* preallocation past the size changes no content: any length (to fill the disk) */
	if (mode != FALLOC_FL_KEEP_SIZE || pos < f->size || len > (1ull << 40))
		srange(pos, len);
	if (!do_fallocate(f, mode, pos, len)) {
		if (s->mayfail)
			SRESULT(" = 0");
		falloc_model(f, mode, pos, len);
		return;
	}
	if (!s->mayfail || errno != ENOSPC || (mode & ~FALLOC_FL_KEEP_SIZE))
		sdie("fallocate mode %#x: %s", mode, strerror(errno));
	/* "enospc": what was allocated stays; without KEEP_SIZE the size follows it */
	SRESULT(" = -ENOSPC");
	if (fstat(f->fd, &st))
		sdie("fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size > f->size)
		model_size(f, (uint64_t)st.st_size);
}

static void script_truncate(const struct sargs *s)
{
	struct wfile *f = sfile(s->a[1]);
	uint64_t size = snum(s->a[2]);

	srange(size, 0);
	if (do_truncate(f, size))
		sdie("ftruncate: %s", strerror(errno));
}

/* fsync (mode 0) or fdatasync (1) */
static void script_fsync(const struct sargs *s)
{
	if (do_fsync(sfile(s->a[1]), s->mode))
		sdie("%s: %s", s->mode ? "fdatasync" : "fsync", strerror(errno));
}

static void script_rename(const struct sargs *s)
{
	struct wfile *f = sfile(s->a[1]), *old;
	char from[160], to[160], name[32];
	int dir;

	spath(s->a[2], &dir, name, sizeof(name));
	old = by_name(dir, name);
	if (old == f)
		sdie("rename onto itself");
	if (do_rename(f, old, dir, name, 1, from, to))
		sdie("rename %s %s: %s", from, to, strerror(errno));
}

/* unlink and close */
static void script_unlink(const struct sargs *s)
{
	struct wfile *f = sfile(s->a[1]);
	char p[160];

	abs_path(f, p, sizeof(p));
	if (unlink(p))
		sdie("unlink %s: %s", p, strerror(errno));
	trace(f, "unlink");
	free_slot(f);
}

static void script_close(const struct sargs *s)
{
	op_close(sfile(s->a[1]));
}

static void script_fsync_dir(const struct sargs *s)
{
	fsync_dir(sdir(s->a[1]));
}

static void script_mkdir(const struct sargs *s)
{
	char p[160];
	int d;

	if (!(d = sdir(s->a[1])))
		sdie("mkdir /");
	dir_path(d, p, sizeof(p));
	if (mkdir(p, 0755))
		sdie("mkdir %s: %s", p, strerror(errno));
	W.dir_pending |= 1u << d;
	trace(NULL, "mkdir %s", s->a[1]);
}

/* sync(), then everything linked is durable */
static void script_sync(const struct sargs *s)
{
	(void)s;
	sync();
	for (int i = 0; i < NSLOTS; i++) {
		struct wfile *f = &W.f[i];
		if (!f->used || f->unlinked)
			continue;
		if (f->fd >= 0)
			verify(f);
		f->dirty = 0;
		f->name_pending = 0;
	}
	W.dir_pending = 0;
	trace(NULL, "sync");
	sync_point("sync");
}

static void script_mark(const struct sargs *s)
{
	if (strlen(s->a[1]) > 60)
		sdie("mark name too long");
	emit_mark(s->a[1]);
}

static void script_sleep(const struct sargs *s)
{
	trace(NULL, "sleep %s", s->a[1]);
	sleep((unsigned)snum(s->a[1]));
}

/* ---- the table of operations ------------------------------------------- */
/*
 * Every operation once: its word in a script (and the op log), its weight in a
 * seeded run's draw, the number of words a script line of it has, and what does
 * it in each run.  A seeded step draws r = below(100) and takes the entry whose
 * range of r (the weights added up in table order) holds it; weight 0 is script
 * only, no script function seeded only.  Keep the order and the weights: seeds
 * depend on them (they add up to 100).
 */
#define OP_NOFILE 1	/* seeded: picks no file (a create, also when there is none) */
#define OP_NOOPEN 2	/* seeded: picks a file, but does not open it */
#define OP_KEEP	  4	/* script: takes a trailing "keep" (one more word) */
#define OP_ENOSPC 8	/* script: takes a trailing "enospc" */

struct wl_op {
	const char *name;
	unsigned weight;
	unsigned flags;
	int words;			/* script: words of the line, the name included */
	int mode;			/* script: passed on (sargs.mode) */
	void (*seeded)(struct wfile *f);
	void (*script)(const struct sargs *s);
};

static const struct wl_op ops[] = {
	{ "create", 6, OP_NOFILE, 2, 0, seed_create, script_create },
	{ "write", 24, OP_ENOSPC, 5, 0, seed_buffered_write, script_write },
	{ "dwrite", 10, 0, 5, 1, seed_direct_write, script_write },
	{ "falloc", 10, OP_KEEP | OP_ENOSPC, 4, 0, seed_fallocate, script_fallocate },
	{ "truncate", 6, 0, 3, 0, seed_truncate, script_truncate },
	{ "short-write", 4, 0, 0, 0, seed_short_write, NULL },
	{ "fsync", 20, 0, 2, 0, seed_fsync, script_fsync },	/* seeded: 1 in 3 fdatasync */
	{ "sfr", 2, 0, 0, 0, seed_sync_file_range, NULL },
	{ "rename", 3, 0, 3, 0, seed_rename, script_rename },
	{ "unlink", 2, 0, 2, 0, seed_unlink_open, script_unlink },	/* seeded: kept open */
	{ "close", 3, 0, 2, 0, op_close, script_close },
	{ "fsyncdir", 6, OP_NOOPEN, 2, 0, seed_fsync_dir, script_fsync_dir },
	{ "owner", 4, 0, 0, 0, seed_owner, NULL },	/* logged as chown or projid */
	{ "mwrite", 0, 0, 5, 2, NULL, script_write },
	{ "fdatasync", 0, 0, 2, 1, NULL, script_fsync },
	{ "zero_range", 0, OP_KEEP, 4, FALLOC_FL_ZERO_RANGE, NULL, script_fallocate },
	{ "punch", 0, 0, 4, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, NULL, script_fallocate },
	{ "mkdir", 0, 0, 2, 0, NULL, script_mkdir },
	{ "sync", 0, 0, 1, 0, NULL, script_sync },
	{ "mark", 0, 0, 2, 0, NULL, script_mark },
	{ "sleep", 0, 0, 2, 0, NULL, script_sleep },
};
#define NOPS_TABLE (sizeof(ops) / sizeof(ops[0]))

/* the entry a seeded draw @r (0..99) takes */
static const struct wl_op *op_drawn(unsigned r)
{
	for (size_t i = 0; i < NOPS_TABLE; i++) {
		if (r < ops[i].weight)
			return &ops[i];
		r -= ops[i].weight;
	}
	die("the weights of the operations add up to less than 100");
	return NULL;
}

/* one seeded step: the draw, a file picked (twice: a seed keeps its draws), the op */
static void one_op(void)
{
	const struct wl_op *op = op_drawn((unsigned)below(100));
	struct wfile *f;

	if ((op->flags & OP_NOFILE) || !pick(0)) {
		seed_create(NULL);
		return;
	}
	f = pick(0);
	if (!(op->flags & OP_NOOPEN) && ensure_open(f)) {
		skip("open", f, errno);
		return;
	}
	op->seeded(f);
}

/* the entry of a script's word, or NULL */
static const struct wl_op *op_named(const char *name)
{
	for (size_t i = 0; i < NOPS_TABLE; i++)
		if (ops[i].script && !strcmp(ops[i].name, name))
			return &ops[i];
	return NULL;
}

/* one script line, its @n words in @a */
static void script_op(int n, char **a)
{
	const struct wl_op *op = op_named(a[0]);
	struct sargs s = { .a = a };

	/* a trailing "enospc": the call may fail or be short with ENOSPC (write, falloc) */
	s.mayfail = n > 1 && !strcmp(a[n - 1], "enospc");
	if (s.mayfail && !(op && (op->flags & OP_ENOSPC)))
		sdie("%s: enospc only after write or falloc", a[0]);
	n -= s.mayfail;
	s.keep = op && (op->flags & OP_KEEP) && n > 1 && !strcmp(a[n - 1], "keep");
	if (!op)
		sdie("unknown operation '%s'", a[0]);
	if (n != op->words + s.keep)
		sdie("%s: wrong number of arguments", a[0]);
	s.n = n;
	s.mode = op->mode;
	op->script(&s);
}

static void setup_dirs(void)
{
	char p[160];

	for (int d = 1; d < NDIRS; d++) {
		dir_path(d, p, sizeof(p));
		if (mkdir(p, 0755) && errno != EEXIST)
			die("mkdir %s: %s", p, strerror(errno));
		oplog(NULL, "mkdir", " /d%d", d);
	}
	fsync_dir(0);
}

/* after umount everything linked is durable: the final section */
static void write_final(const char *path)
{
	FILE *out = fopen(path, "w");

	if (!out)
		die("%s: %s", path, strerror(errno));
	fprintf(out, "mark umount\n");
	for (int i = 0; i < NSLOTS; i++) {
		struct wfile *f = &W.f[i];
		if (f->used && !f->unlinked && !f->bad)
			list_file(out, f);
	}
	fclose(out);
}

static void close_all(void)
{
	for (int i = 0; i < NSLOTS; i++) {	/* close; verify the final contents */
		struct wfile *f = &W.f[i];
		if (!f->used)
			continue;
		if (!ensure_open(f))
			verify(f);
		if (f->unlinked)
			free_slot(f);
		else
			op_close(f);
	}
}

static int cmd_run(int argc, char **argv)
{
	char final[300];

	if (argc < 6)
		die("usage: wl run SEED MNT MANIFEST CONFIG [NOPS]");
	W.mnt = argv[3];
	W.nops = argc > 6 ? (unsigned)strtoul(argv[6], NULL, 0) : 400;
	W.manifest = fopen(argv[4], "w");
	if (!W.manifest)
		die("%s: %s", argv[4], strerror(errno));
	fprintf(W.manifest, "# iomapck-vm manifest v1 seed=%" PRIu64 " config=%s\n", W.seed,
		argv[5]);
	W.oplog = 1;
	for (int i = 0; i < NSLOTS; i++)
		W.f[i].fd = -1;
	setup_dirs();
	for (W.opno = 1; W.opno <= W.nops; W.opno++)
		one_op();
	close_all();
	fclose(W.manifest);
	snprintf(final, sizeof(final), "%s.final", argv[4]);
	write_final(final);
	printf("@@ wl: seed %" PRIu64 ", %u ops, %u marks, %u skipped, %u model mismatches\n",
	       W.seed, W.nops, W.nmarks, W.skipped, W.mismatches);
	return 0;	/* mismatches are reported; the host counts them */
}

static int cmd_script(int argc, char **argv)
{
	char line[512], final[300], *a[8], *t, *save;
	FILE *in;
	int n;

	if (argc < 5)
		die("usage: wl script FILE MNT MANIFEST [CONFIG]");
	script_name = argv[2];
	if (!(in = fopen(script_name, "r")))
		die("%s: %s", script_name, strerror(errno));
	W.mnt = argv[3];
	W.manifest = fopen(argv[4], "w");
	if (!W.manifest)
		die("%s: %s", argv[4], strerror(errno));
	t = strrchr(script_name, '/');
	fprintf(W.manifest, "# iomapck-vm manifest v1 script=%s config=%s\n",
		t ? t + 1 : script_name, argc > 5 ? argv[5] : "-");
	for (int i = 0; i < NSLOTS; i++)
		W.f[i].fd = -1;
	trace_on = 1;
	while (fgets(line, sizeof(line), in)) {
		script_line++;
		if ((t = strchr(line, '#')))
			*t = 0;
		n = 0;
		for (t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
			if (n == 8)
				sdie("too many words");
			a[n++] = t;
		}
		if (!n)
			continue;
		W.opno++;
		script_result[0] = 0;
		script_op(n, a);
		fputs("#op", W.manifest);	/* the op log, with the result of an "enospc" op */
		for (int i = 0; i < n; i++)
			fprintf(W.manifest, " %s", a[i]);
		fprintf(W.manifest, "%s\n", script_result);
	}
	fclose(in);
	close_all();
	fclose(W.manifest);
	snprintf(final, sizeof(final), "%s.final", argv[4]);
	write_final(final);
	printf("@@ wl: script %s, %u ops, %u marks, %u model mismatches\n", script_name, W.opno,
	       W.nmarks, W.mismatches);
	return 0;
}

/* ---- flakey phase -------------------------------------------------------- */

static uint64_t write_seeded(const char *path, unsigned id, uint64_t len, int do_fsync)
{
	uint64_t key = content_key(id, 0);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	fill(W.buf, key, 0, len);
	if (pwrite(fd, W.buf, len, 0) != (ssize_t)len)
		die("write %s: %s", path, strerror(errno));
	if (do_fsync && fsync(fd))
		die("fsync %s: %s", path, strerror(errno));
	close(fd);
	return fnv1a64(FNV_INIT, W.buf, len);
}

static int cmd_flakey(const char *what, int argc, char **argv)
{
	char p[300];

	if (argc < 4)
		die("usage: wl %s MNT SEED", what);
	W.mnt = argv[2];
	snprintf(p, sizeof(p), "%s/kept", W.mnt);
	if (!strcmp(what, "kept")) {
		write_seeded(p, 1000, 64 << 10, 1);
		W.nomark = 1;
		W.manifest = fopen("/dev/null", "w");
		fsync_dir(0);
		return 0;
	}
	if (!strcmp(what, "lost")) {
		for (unsigned i = 0; i < 4; i++) {
			snprintf(p, sizeof(p), "%s/d%u/lost%u", W.mnt, 1 + i % 3, i);
			write_seeded(p, 2000 + i, (1 + below(8)) * (32 << 10), 0);
		}
		sync();
		return 0;
	}
	/* flakey-check: kept must be there with its content, lost files gone */
	fill(W.buf, content_key(1000, 0), 0, 64 << 10);
	{
		uint64_t want = fnv1a64(FNV_INIT, W.buf, 64 << 10);
		int fd = open(p, O_RDONLY | O_CLOEXEC), lost = 0;
		ssize_t n = fd < 0 ? -1 : pread(fd, W.rbuf, MAX_SIZE, 0);
		const char *kept = fd < 0 ? "absent" : n == (64 << 10) &&
			fnv1a64(FNV_INIT, W.rbuf, n) == want ? "intact" : "corrupt";

		for (unsigned i = 0; i < 4; i++) {
			snprintf(p, sizeof(p), "%s/d%u/lost%u", W.mnt, 1 + i % 3, i);
			lost += access(p, F_OK) == 0;
		}
		printf("@@ flakey result: kept=%s lost=%d present (expect kept=intact lost=0)\n",
		       kept, lost);
		return strcmp(kept, "intact") || lost ? 1 : 0;
	}
}

/* copy a block device onto a fresh (all-zero) one, writing only non-zero blocks */
static int cmd_copy(const char *src, const char *dst)
{
	const size_t chunk = 1 << 20, blk = 4096;
	int in = open(src, O_RDONLY | O_CLOEXEC), out = open(dst, O_WRONLY | O_CLOEXEC);
	static const unsigned char zero[4096];
	uint64_t pos = 0, written = 0;
	ssize_t n;

	if (in < 0 || out < 0)
		die("copy %s %s: %s", src, dst, strerror(errno));
	while ((n = pread(in, W.rbuf, chunk, pos)) > 0) {
		for (size_t i = 0; i < (size_t)n; i += blk) {
			size_t len = (size_t)n - i < blk ? (size_t)n - i : blk;
			if (!memcmp(W.rbuf + i, zero, len))
				continue;
			if (pwrite(out, W.rbuf + i, len, pos + i) != (ssize_t)len)
				die("write %s: %s", dst, strerror(errno));
			written += len;
		}
		pos += n;
	}
	if (n < 0 || fsync(out))
		die("copy %s: %s", src, strerror(errno));
	printf("wl: copied %s to %s: %" PRIu64 " bytes, %" PRIu64 " non-zero\n", src, dst, pos,
	       written);
	return 0;
}

/* size and FNV-1a 64 of each file as read through the kernel (kernel-verdict mode) */
static int cmd_hash(int argc, char **argv)
{
	int rc = 0;

	for (int i = 2; i < argc; i++) {
		uint64_t h = FNV_INIT, size = 0;
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		struct stat st;
		ssize_t n;

		if (fd < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				printf("hash %s missing\n", argv[i]);
			else {
				printf("hash %s error %s\n", argv[i], strerror(errno));
				rc = 1;
			}
			continue;
		}
		if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
			printf("hash %s error %s\n", argv[i], "not a regular file");
			close(fd);
			rc = 1;
			continue;
		}
		while ((n = read(fd, W.rbuf, MAX_SIZE)) > 0) {
			h = fnv1a64(h, W.rbuf, (uint64_t)n);
			size += (uint64_t)n;
		}
		if (n < 0) {
			printf("hash %s error %s\n", argv[i], strerror(errno));
			rc = 1;
		} else {
			printf("hash %s %" PRIu64 " %016" PRIx64 "%s\n", argv[i], size, h,
			       size == (uint64_t)st.st_size ? "" : " (size differs from st_size)");
		}
		close(fd);
	}
	return rc;
}

int main(int argc, char **argv)
{
	const char *e;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGXFSZ, SIG_IGN);
	if (argc < 3)
		die("usage: wl run|script|kept|lost|flakey-check|copy|hash ...");
	W.dm_name = (e = getenv("WL_DM_NAME")) ? e : "lw";
	W.nomark = (e = getenv("WL_NOMARK")) && *e == '1';
	trace_on = (e = getenv("WL_TRACE")) && *e == '1';
	if (posix_memalign((void **)&W.buf, DIO_ALIGN, MAX_SIZE + MAX_LEN) ||
	    posix_memalign((void **)&W.rbuf, DIO_ALIGN, MAX_SIZE + MAX_LEN))
		die("out of memory");
	if (!strcmp(argv[1], "copy") && argc == 4)
		return cmd_copy(argv[2], argv[3]);
	if (!strcmp(argv[1], "hash"))
		return cmd_hash(argc, argv);
	if (!strcmp(argv[1], "script"))
		return cmd_script(argc, argv);
	if (!strcmp(argv[1], "run")) {
		W.seed = strtoull(argv[2], NULL, 0);
		W.rng = mix64(W.seed ^ 0x6a736677736872ULL);
		return cmd_run(argc, argv);
	}
	W.seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 1;
	W.rng = mix64(W.seed ^ 0x666c616b6579ULL);
	return cmd_flakey(argv[1], argc, argv);
}
