/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * quota_file-test: the quota file module and the quota check on real images made by the
 * installed mkfs.ext4 -O quota,project and debugfs.
 *  - reading a fresh file (header, info, the one entry mkfs writes) and refusing writes on a
 *    read-only image;
 *  - round trip: usage written for many ids reads back identically, the installed
 *    `debugfs -R "lq …"` lists exactly the same entries, and once the usage written is the
 *    true usage the installed `e2fsck -fn` exits 0 — after inserts that grow the tree,
 *    deletes that free blocks, and inserts that reuse them;
 *  - limits survive usage updates and keep a zero-usage entry; grace deadlines follow;
 *  - damaged files (bad magic, byte order, version, info block, out-of-range and looping
 *    references, shared subtrees, lost entries, inconsistent free lists, invalid inode
 *    numbers) give the right error and a QUOTA_BAD_FILE or QUOTA_FREE_LIST finding;
 *  - fuzzing: random damage never crashes the reader, the check or the writer, and a file
 *    that validates stays valid after the writer changes it.
 */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "env.h"
#include "iomapck.h"
#include "quota_file.h"

#define FAKE_TIME 1700000000ull
#define GRACE 604800ull

static char dir[] = "/tmp/quota_file-testXXXXXX";
static char fresh[96];    /* mkfs only: every quota file right, the user file holds id 0 only */
static char pristine[96]; /* fresh + files debugfs added without charging them */

static int run(const char *fmt, ...) ICK_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

static void image_copy_of(const char *src, const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", dir, name);
	assert_int_equal(run("cp %s %s", src, path), 0);
}

static void image_copy(const char *name, char *path, size_t len)
{
	image_copy_of(pristine, name, path, len);
}

static struct ick_image *open_img(const char *path, int rw)
{
	struct ick_image *im = NULL;

	assert_int_equal(ick_image_open(path, rw ? ICK_OPEN_RW : 0, NULL, &im), 0);
	return im;
}

static int e2fsck_rc(const char *path)
{
	return run("e2fsck -fn %s >%s.fsck 2>&1", path, path);
}

/*
 * The image: mkfs writes root (4096 B) and lost+found (16384 B) to id 0 in every file.  Then
 * debugfs, which charges nothing, adds f1 (20000 B: 5 blocks, uid/gid 1000, project 7),
 * f2 (5000 B: 2 blocks, uid 2000) and directory d (1 block, uid 1000, project 7).
 */
struct truth { enum ick_quota_type t; uint32_t id; uint64_t space, inodes; };
static const struct truth truth[] = {
	{ ICK_QUOTA_USER, 0, 20480, 2 },     { ICK_QUOTA_USER, 1000, 24576, 2 },
	{ ICK_QUOTA_USER, 2000, 8192, 1 },   { ICK_QUOTA_GROUP, 0, 32768, 4 },
	{ ICK_QUOTA_GROUP, 1000, 20480, 1 }, { ICK_QUOTA_PROJECT, 0, 28672, 3 },
	{ ICK_QUOTA_PROJECT, 7, 24576, 2 },
};

static void set_truth(ext2_filsys fs, enum ick_quota_type t)
{
	struct ick_quota_file *qf;

	assert_int_equal(ick_quota_open(fs, t, ICK_QUOTA_RW, &qf), 0);
	for (size_t i = 0; i < ICK_ARRAY_SIZE(truth); i++)
		if (truth[i].t == t)
			assert_int_equal(ick_quota_set_usage(qf, truth[i].id, truth[i].space,
							     truth[i].inodes), 0);
	assert_int_equal(ick_quota_close(qf), 0);
}

static int setup(void **s)
{
	const char *path = getenv("PATH");
	char np[4096];

	snprintf(np, sizeof(np), "/usr/sbin:/sbin:%s", path ? path : "/usr/bin:/bin");
	setenv("PATH", np, 1);
	setenv("E2FSPROGS_FAKE_TIME", "1700000000", 1);
	setenv("E2FSCK_CONFIG", "/dev/null", 1);
	add_error_table(&et_ext2_error_table);
	add_error_table(&et_ick_error_table);
	if (!mkdtemp(dir))
		return -1;
	snprintf(fresh, sizeof(fresh), "%s/fresh.img", dir);
	snprintf(pristine, sizeof(pristine), "%s/pristine.img", dir);
	if (run("mkfs.ext4 -q -F -I 256 -b 4096 -O quota,project -E root_owner=0:0 "
		"-U 01234567-89ab-cdef-0123-456789abcdef %s 16M >/dev/null 2>&1", fresh) ||
	    run("cp %s %s", fresh, pristine) ||
	    run("head -c 20000 /dev/urandom >%s/data && head -c 5000 /dev/urandom >%s/small",
		dir, dir) ||
	    run("printf '%%s\\n' 'write %s/data f1' 'sif f1 uid 1000' 'sif f1 gid 1000' "
		"'sif f1 projid 7' 'write %s/small f2' 'sif f2 uid 2000' 'mkdir d' "
		"'sif d uid 1000' 'sif d projid 7' | debugfs -w -f - %s >/dev/null 2>&1",
		dir, dir, pristine))
		return -1;
	return 0;
}

static int teardown(void **s)
{
	return run("rm -rf %s", dir) == 0 ? 0 : -1;
}

/* ---- debugfs's view ---- */

struct lq_row { uint32_t id; uint64_t space, bsoft, bhard, inodes, isoft, ihard; };

/* `debugfs -R "lq TYPE"`: rows into @rows (at most @max); returns the count. */
static size_t debugfs_lq(const char *img, const char *type, struct lq_row *rows, size_t max)
{
	char cmd[512], line[256];
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "debugfs -R 'lq %s' %s 2>/dev/null", type, img);
	assert_non_null(p = popen(cmd, "r"));
	while (fgets(line, sizeof(line), p)) {
		struct lq_row r;
		unsigned long long v[6];
		unsigned id;
		if (sscanf(line, "%u %llu %llu %llu %llu %llu %llu", &id, &v[0], &v[1], &v[2], &v[3],
			   &v[4], &v[5]) != 7)
			continue;
		r.id = id;
		r.space = v[0];
		r.bsoft = v[1];
		r.bhard = v[2];
		r.inodes = v[3];
		r.isoft = v[4];
		r.ihard = v[5];
		assert_true(n < max);
		rows[n++] = r;
	}
	pclose(p);
	return n;
}

struct collect { struct ick_dquot *d; size_t n, max; };

static errcode_t collect_one(const struct ick_dquot *dq, void *p)
{
	struct collect *c = p;

	if (c->n >= c->max)
		return ICK_ET_LIMIT;
	if (c->n && c->d[c->n - 1].id >= dq->id)
		return ICK_ET_INTERNAL; /* not ascending */
	c->d[c->n++] = *dq;
	return 0;
}

/* Our entries and debugfs's rows must be the same set with the same figures. */
static void agree_with_debugfs(const char *img, enum ick_quota_type t)
{
	static struct lq_row rows[512];
	static struct ick_dquot mine[512];
	struct collect c = { mine, 0, 512 };
	struct ick_image *im = open_img(img, 0);
	struct ick_quota_file *qf;
	size_t n = debugfs_lq(img, ick_quota_type_name(t), rows, 512);

	assert_int_equal(ick_quota_open(im->fs, t, 0, &qf), 0);
	assert_null(ick_quota_why(qf));
	assert_null(ick_quota_list_problem(qf));
	assert_int_equal(ick_quota_iterate(qf, collect_one, &c), 0);
	assert_int_equal(c.n, n);
	assert_int_equal(ick_quota_count(qf), n);
	for (size_t i = 0; i < n; i++) {
		struct ick_dquot d;
		assert_int_equal(ick_quota_lookup(qf, rows[i].id, &d), 0);
		assert_int_equal(d.curspace, rows[i].space);
		assert_int_equal(d.curinodes, rows[i].inodes);
		assert_int_equal(d.bsoftlimit, rows[i].bsoft);
		assert_int_equal(d.bhardlimit, rows[i].bhard);
		assert_int_equal(d.isoftlimit, rows[i].isoft);
		assert_int_equal(d.ihardlimit, rows[i].ihard);
	}
	ick_quota_close(qf);
	ick_image_close(im);
}

/* ---- reading ---- */

static void test_read_fresh(void **s)
{
	struct ick_image *im = open_img(pristine, 0);
	struct ick_quota_file *qf = NULL;
	const struct ick_quota_info *in;
	struct ick_dquot d;

	assert_int_equal(ick_quota_open(im->fs, ICK_QUOTA_USER, ICK_QUOTA_RW, &qf),
			 ICK_ET_READ_ONLY);
	assert_null(qf);
	assert_int_equal(ick_quota_open(im->fs, ICK_QUOTA_NTYPES, 0, &qf), EINVAL);
	assert_int_equal(ick_quota_open_ino(im->fs, 0, ICK_QUOTA_USER, 0, &qf),
			 ICK_ET_QUOTA_NO_FILE);
	assert_int_equal(ick_quota_inum(im->fs, ICK_QUOTA_PROJECT), 12);
	assert_int_equal(ick_quota_open(im->fs, ICK_QUOTA_USER, 0, &qf), 0);
	in = ick_quota_get_info(qf);
	assert_int_equal(in->ino, 3);
	assert_int_equal(in->version, 1);
	assert_int_equal(in->blocks, 6);     /* header, 4 tree levels, 1 data block */
	assert_int_equal(in->tree_blocks, 4);
	assert_int_equal(in->data_blocks, 1);
	assert_int_equal(in->free_entry, 5);
	assert_int_equal(in->free_blk, 0);
	assert_int_equal(in->bgrace, GRACE);
	assert_int_equal(in->igrace, GRACE);
	assert_int_equal(ick_quota_count(qf), 1);
	assert_int_equal(ick_quota_lookup(qf, 0, &d), 0);
	assert_int_equal(d.curspace, 20480);
	assert_int_equal(d.curinodes, 2);
	assert_int_equal(ick_quota_lookup(qf, 1000, &d), ICK_ET_QUOTA_NOT_FOUND);
	assert_int_equal(ick_quota_set_usage(qf, 0, 1, 1), ICK_ET_READ_ONLY);
	assert_null(ick_quota_why(qf));
	assert_null(ick_quota_list_problem(qf));
	ick_quota_close(qf);
	assert_int_equal(ick_quota_open(im->fs, ICK_QUOTA_PROJECT, 0, &qf), 0);
	assert_int_equal(ick_quota_get_info(qf)->ino, 12);
	ick_quota_close(qf);
	ick_image_close(im);
	agree_with_debugfs(pristine, ICK_QUOTA_USER);
	agree_with_debugfs(pristine, ICK_QUOTA_PROJECT);
}

/* ---- the quota check ---- */

struct qfind { uint32_t code; uint64_t expected, found; char detail[512]; };

/* The quota check's findings on @img, in order. */
static size_t check_findings(const char *img, struct qfind *out, size_t max)
{
	struct ick_image *im = open_img(img, 0);
	struct ick_report rep;
	size_t n = 0;

	assert_int_equal(ick_report_init(&rep, img), 0);
	assert_int_equal(ick_checks_run(im, ick_check_mask("quota"), &rep), 0);
	for (size_t i = 0; i < rep.nr; i++) {
		assert_true(n < max);
		out[n].code = rep.f[i].code;
		out[n].expected = rep.f[i].expected;
		out[n].found = rep.f[i].found;
		snprintf(out[n].detail, sizeof(out[n].detail), "%s",
			 rep.f[i].detail ? rep.f[i].detail : "");
		n++;
	}
	ick_report_free(&rep);
	ick_image_close(im);
	return n;
}

/* ---- writing ---- */

static const uint32_t bogus_ids[] = {
	1,     2,     3,     4,     5,     6,     7,     8,     9,     10,   11,   12,
	13,    14,    15,    16,    17,    18,    19,    20,    21,    22,   23,   24,
	25,    26,    27,    28,    29,    30,    31,    32,    33,    34,   35,   36,
	255,   256,   257,   65535, 65536, 70000, 1000,  2000,  16777215,  16777216,
	0x7fffffffu, 0x80000000u, 0xfffffffeu, 123456789,
};

static uint64_t bogus_space(uint32_t id) { return (uint64_t)id * 4096 + 512 + (id & 7); }
static uint64_t bogus_inodes(uint32_t id) { return (id % 97) + 1; }

static void write_bogus(const char *img, enum ick_quota_type t, size_t nids)
{
	struct ick_image *im = open_img(img, 1);
	struct ick_quota_file *qf;

	assert_int_equal(ick_quota_open(im->fs, t, ICK_QUOTA_RW, &qf), 0);
	for (size_t i = 0; i < nids; i++)
		assert_int_equal(ick_quota_set_usage(qf, bogus_ids[i], bogus_space(bogus_ids[i]),
						     bogus_inodes(bogus_ids[i])), 0);
	assert_int_equal(ick_quota_close(qf), 0);
	ick_image_close(im);
}

static void clear_bogus(const char *img, enum ick_quota_type t, size_t nids)
{
	struct ick_image *im = open_img(img, 1);
	struct ick_quota_file *qf;

	assert_int_equal(ick_quota_open(im->fs, t, ICK_QUOTA_RW, &qf), 0);
	for (size_t i = 0; i < nids; i++)
		assert_int_equal(ick_quota_set_usage(qf, bogus_ids[i], 0, 0), 0);
	assert_int_equal(ick_quota_close(qf), 0);
	set_truth(im->fs, t);
	ick_image_close(im);
}

static const struct ick_quota_info *info_of(const char *img, enum ick_quota_type t,
					    struct ick_quota_info *save)
{
	struct ick_image *im = open_img(img, 0);
	struct ick_quota_file *qf;

	assert_int_equal(ick_quota_open(im->fs, t, 0, &qf), 0);
	*save = *ick_quota_get_info(qf);
	ick_quota_close(qf);
	ick_image_close(im);
	return save;
}

static void test_round_trip(void **s)
{
	char img[128];
	struct ick_quota_info in;
	struct ick_image *im;
	struct ick_quota_file *qf;
	static struct qfind f[256];
	size_t n, nids = ICK_ARRAY_SIZE(bogus_ids);
	uint32_t blocks;

	image_copy("roundtrip.img", img, sizeof(img));
	assert_int_equal(e2fsck_rc(img), 4); /* debugfs charged nothing */

	/* the truth: e2fsck -fn is clean, and so is our check */
	im = open_img(img, 1);
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		set_truth(im->fs, (enum ick_quota_type)t);
	ick_image_close(im);
	assert_int_equal(e2fsck_rc(img), 0);
	assert_int_equal(check_findings(img, f, 256), 0);
	for (int t = 0; t < ICK_QUOTA_NTYPES; t++)
		agree_with_debugfs(img, (enum ick_quota_type)t);

	/* many ids: new data blocks, new subtrees for high ids */
	write_bogus(img, ICK_QUOTA_USER, nids);
	im = open_img(img, 0);
	assert_int_equal(ick_quota_open(im->fs, ICK_QUOTA_USER, 0, &qf), 0);
	assert_int_equal(ick_quota_count(qf), nids + 1);
	for (size_t i = 0; i < nids; i++) {
		struct ick_dquot d;
		assert_int_equal(ick_quota_lookup(qf, bogus_ids[i], &d), 0);
		assert_int_equal(d.curspace, bogus_space(bogus_ids[i]));
		assert_int_equal(d.curinodes, bogus_inodes(bogus_ids[i]));
	}
	assert_true(ick_quota_get_info(qf)->data_blocks >= 4);
	ick_quota_close(qf);
	ick_image_close(im);
	agree_with_debugfs(img, ICK_QUOTA_USER);
	assert_int_equal(e2fsck_rc(img), 4);
	/* the check sees the writes: user 1 owns nothing but is charged */
	n = check_findings(img, f, 256);
	assert_true(n >= 3);
	assert_int_equal(f[0].code, ICK_PR_QUOTA_SPACE);
	assert_int_equal(f[0].expected, 0);
	assert_int_equal(f[0].found, bogus_space(1));
	assert_string_equal(f[0].detail, "user 1: owns no inode; the quota file charges 4609 "
					 "bytes and 2 inodes");
	assert_int_equal(f[1].code, ICK_PR_QUOTA_INODES);
	assert_int_equal(f[2].code, ICK_PR_QUOTA_ID_NO_INODES);

	/* back to the truth: deletes free blocks onto the free-block list */
	clear_bogus(img, ICK_QUOTA_USER, nids);
	assert_int_equal(e2fsck_rc(img), 0);
	agree_with_debugfs(img, ICK_QUOTA_USER);
	info_of(img, ICK_QUOTA_USER, &in);
	assert_int_equal(in.entries, 3);
	assert_int_not_equal(in.free_blk, 0);
	assert_true(in.free_blocks >= 6);
	blocks = in.blocks;

	/* inserting again reuses freed blocks: the file does not grow */
	write_bogus(img, ICK_QUOTA_USER, 30);
	info_of(img, ICK_QUOTA_USER, &in);
	assert_int_equal(in.blocks, blocks);
	agree_with_debugfs(img, ICK_QUOTA_USER);
	clear_bogus(img, ICK_QUOTA_USER, 30);
	assert_int_equal(e2fsck_rc(img), 0);

	/* the same on the group and project files */
	write_bogus(img, ICK_QUOTA_GROUP, nids);
	write_bogus(img, ICK_QUOTA_PROJECT, 20);
	agree_with_debugfs(img, ICK_QUOTA_GROUP);
	agree_with_debugfs(img, ICK_QUOTA_PROJECT);
	clear_bogus(img, ICK_QUOTA_GROUP, nids);
	clear_bogus(img, ICK_QUOTA_PROJECT, 20);
	assert_int_equal(e2fsck_rc(img), 0);
	assert_int_equal(check_findings(img, f, 256), 0);

	/* deltas, and a decrease below zero stopping at zero */
	im = open_img(img, 1);
	assert_int_equal(ick_quota_open(im->fs, ICK_QUOTA_USER, ICK_QUOTA_RW, &qf), 0);
	assert_int_equal(ick_quota_add_usage(qf, 1000, 4096, 1), 0);
	assert_int_equal(ick_quota_add_usage(qf, 3000, 8192, 1), 0);
	assert_int_equal(ick_quota_add_usage(qf, 1000, -4096, -1), 0);
	assert_int_equal(ick_quota_add_usage(qf, 3000, -100000, -5), 0); /* deleted */
	assert_int_equal(ick_quota_add_usage(qf, 4000, -1, -1), 0);     /* never inserted */
	assert_int_equal(ick_quota_count(qf), 3);
	assert_int_equal(ick_quota_close(qf), 0);
	ick_image_close(im);
	assert_int_equal(e2fsck_rc(img), 0);
}

/* Raw bytes into a quota inode (damage, limits): through libext2fs's file API. */
static void poke(const char *img, ext2_ino_t ino, uint64_t off, const void *buf, unsigned len)
{
	struct ick_image *im = open_img(img, 1);
	ext2_file_t file;
	unsigned done;

	assert_int_equal(ext2fs_file_open(im->fs, ino, EXT2_FILE_WRITE, &file), 0);
	assert_int_equal(ext2fs_file_llseek(file, off, EXT2_SEEK_SET, NULL), 0);
	assert_int_equal(ext2fs_file_write(file, buf, len, &done), 0);
	assert_int_equal(done, len);
	assert_int_equal(ext2fs_file_close(file), 0);
	ick_image_close(im);
}

static void poke32(const char *img, uint64_t off, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 24) };
	poke(img, 3, off, b, 4);
}

static void poke64(const char *img, uint64_t off, uint64_t v)
{
	poke32(img, off, (uint32_t)v);
	poke32(img, off + 4, (uint32_t)(v >> 32));
}

/* mkfs's user file: id 0's entry is the first slot of data block 5. */
#define E0 (5 * 1024 + 16)

static void test_limits_kept(void **s)
{
	char img[128];
	struct ick_image *im;
	struct ick_quota_file *qf;
	struct ick_dquot d;
	struct lq_row rows[8];

	image_copy_of(fresh, "limits.img", img, sizeof(img));
	poke64(img, E0 + 8, 5);   /* inode hard limit */
	poke64(img, E0 + 16, 1);  /* inode soft limit */
	poke64(img, E0 + 32, 20); /* space hard limit, KiB */
	poke64(img, E0 + 40, 10); /* space soft limit, KiB */
	im = open_img(img, 1);
	assert_int_equal(ick_quota_open(im->fs, ICK_QUOTA_USER, ICK_QUOTA_RW, &qf), 0);
	assert_int_equal(ick_quota_set_usage(qf, 0, 20480, 2), 0); /* over both soft limits */
	assert_int_equal(ick_quota_lookup(qf, 0, &d), 0);
	assert_int_equal(d.btime, FAKE_TIME + GRACE);
	assert_int_equal(d.itime, FAKE_TIME + GRACE);
	assert_int_equal(ick_quota_set_usage(qf, 0, 0, 0), 0); /* limits keep the entry */
	assert_int_equal(ick_quota_lookup(qf, 0, &d), 0);
	assert_int_equal(d.curspace, 0);
	assert_int_equal(d.btime, 0);
	assert_int_equal(d.itime, 0);
	assert_int_equal(d.bsoftlimit, 10);
	assert_int_equal(ick_quota_close(qf), 0);
	ick_image_close(im);
	assert_int_equal(debugfs_lq(img, "user", rows, 8), 1);
	assert_int_equal(rows[0].space, 0);
	assert_int_equal(rows[0].bsoft, 10);
	assert_int_equal(rows[0].bhard, 20);
	assert_int_equal(rows[0].isoft, 1);
	assert_int_equal(rows[0].ihard, 5);
	im = open_img(img, 1);
	assert_int_equal(ick_quota_open(im->fs, ICK_QUOTA_USER, ICK_QUOTA_RW, &qf), 0);
	assert_int_equal(ick_quota_set_usage(qf, 0, 20480, 2), 0); /* the truth again */
	assert_int_equal(ick_quota_close(qf), 0);
	ick_image_close(im);
	assert_int_equal(e2fsck_rc(img), 0);
	agree_with_debugfs(img, ICK_QUOTA_USER);
}

/* ---- damage ---- */

struct damage {
	const char *name;
	uint64_t off;
	uint32_t val;
	errcode_t err;       /* from ick_quota_open */
	const char *why;     /* in ick_quota_why, or in the list problem when err is 0 */
	int e2fsck;          /* the installed e2fsck -fn's exit code: 4 when it finds the quota
				wrong too; 0 where e2fsprogs does not look (see doc/quota.md) */
};

static const struct damage damages[] = {
	{ "bad magic", 0, 0x12345678, ICK_ET_QUOTA_BAD_MAGIC, "magic 0x12345678", 0 },
	{ "byte-swapped magic", 0, 0x111fc0d9, ICK_ET_QUOTA_BAD_MAGIC, "wrong byte order", 4 },
	{ "version 7", 4, 7, ICK_ET_QUOTA_BAD_VERSION, "version 7", 4 },
	{ "dqi_blocks past the file", 20, 100, ICK_ET_QUOTA_CORRUPT, "dqi_blocks is 100", 4 },
	{ "dqi_blocks 1", 20, 1, ICK_ET_QUOTA_CORRUPT, "no room for the tree root", 4 },
	{ "free_blk outside", 24, 6, ICK_ET_QUOTA_CORRUPT, "free-block list starts at block 6", 4 },
	{ "free_entry outside", 28, 9, ICK_ET_QUOTA_CORRUPT, "free-entry list starts at block 9",
	  4 },
	{ "root reference out of range", 1024, 999, ICK_ET_QUOTA_CORRUPT, "refers to block 999",
	  4 },
	{ "loop to the root", 2048, 1, ICK_ET_QUOTA_CORRUPT, "a loop or a shared subtree", 4 },
	{ "shared subtree", 1024 + 4, 2, ICK_ET_QUOTA_CORRUPT, "a loop or a shared subtree", 0 },
	{ "data reference to a tree block", 4096, 2, ICK_ET_QUOTA_CORRUPT,
	  "which is a tree block", 4 },
	{ "entry id changed", E0, 5, ICK_ET_QUOTA_CORRUPT, "holds no entry for it", 4 },
	{ "second entry unreachable", E0 + 72, 9, ICK_ET_QUOTA_CORRUPT, "not reachable", 0 },
	{ "entry count wrong", 5 * 1024 + 8, 3, 0, "counts 3 entries but holds 1", 0 },
	{ "free_entry list empty", 28, 0, 0, "not on the free-entry list", 0 },
	{ "free_entry at a tree block", 28, 4, 0, "not a data block", 0 },
	{ "free_blk list at a tree block", 24, 3, 0, "in use as a tree block", 0 },
};

static void test_damaged(void **s)
{
	for (size_t i = 0; i < ICK_ARRAY_SIZE(damages); i++) {
		const struct damage *dm = &damages[i];
		char img[128];
		struct ick_image *im;
		struct ick_quota_file *qf = NULL;
		struct qfind f[16];
		size_t n;
		const char *why;
		uint32_t want;

		image_copy_of(fresh, "damaged.img", img, sizeof(img));
		poke32(img, dm->off, dm->val);
		if (!strcmp(dm->name, "second entry unreachable"))
			poke32(img, 5 * 1024 + 8, 2); /* keep the count honest */
		im = open_img(img, 1);
		errcode_t err = ick_quota_open(im->fs, ICK_QUOTA_USER,
					       ICK_QUOTA_RW | ICK_QUOTA_SALVAGE, &qf);
		if (err != dm->err)
			fail_msg("%s: open gave %ld, want %ld", dm->name, (long)err, (long)dm->err);
		assert_non_null(qf);
		why = dm->err ? ick_quota_why(qf) : ick_quota_list_problem(qf);
		if (!why || !strstr(why, dm->why))
			fail_msg("%s: reason '%s' lacks '%s'", dm->name, why ? why : "(none)", dm->why);
		assert_int_equal(ick_quota_set_usage(qf, 1, 1, 1), ICK_ET_QUOTA_CORRUPT);
		ick_quota_close(qf);
		ick_image_close(im);
		n = check_findings(img, f, 16);
		want = dm->err ? ICK_PR_QUOTA_BAD_FILE : ICK_PR_QUOTA_FREE_LIST;
		if (n < 1 || f[0].code != want || strncmp(f[0].detail, "user quota file (inode 3): ", 27))
			fail_msg("%s: first finding 0x%04x '%s'", dm->name, n ? f[0].code : 0,
				 n ? f[0].detail : "");
		if (e2fsck_rc(img) != dm->e2fsck)
			fail_msg("%s: e2fsck -fn exit %d, want %d", dm->name, e2fsck_rc(img),
				 dm->e2fsck);
	}
}

static void test_invalid_inum(void **s)
{
	char img[128];
	struct ick_image *im;
	struct ick_quota_file *qf;
	struct qfind f[16];

	image_copy_of(fresh, "inum.img", img, sizeof(img));
	assert_int_equal(run("debugfs -w -R 'ssv usr_quota_inum 7' %s >/dev/null 2>&1", img), 0);
	im = open_img(img, 0);
	assert_int_equal(ick_quota_open(im->fs, ICK_QUOTA_USER, 0, &qf), ICK_ET_QUOTA_CORRUPT);
	assert_null(qf); /* no handle without ICK_QUOTA_SALVAGE */
	assert_int_equal(ick_quota_open(im->fs, ICK_QUOTA_USER, ICK_QUOTA_SALVAGE, &qf),
			 ICK_ET_QUOTA_CORRUPT);
	assert_string_equal(ick_quota_why(qf), "invalid quota inode number 7");
	ick_quota_close(qf);
	ick_image_close(im);
	assert_true(check_findings(img, f, 16) >= 1);
	assert_int_equal(f[0].code, ICK_PR_QUOTA_BAD_FILE);
	assert_string_equal(f[0].detail, "user quota file (inode 7): invalid quota inode number 7");
}

/* A limited, salvaged entry of a malformed file is reported with its limits. */
static void test_salvaged_limits(void **s)
{
	char img[128];
	struct qfind f[16];
	size_t n;

	image_copy_of(fresh, "salvage.img", img, sizeof(img));
	poke64(img, E0 + 32, 20);
	poke64(img, E0 + 40, 10);
	poke32(img, 1024 + 8, 999); /* root slot 2: out of range */
	n = check_findings(img, f, 16);
	assert_int_equal(n, 2);
	assert_int_equal(f[0].code, ICK_PR_QUOTA_BAD_FILE);
	assert_string_equal(f[0].detail, "user quota file (inode 3): tree block 1 (depth 0) slot 2 "
					 "refers to block 999, outside the file's 6 blocks; grace "
					 "periods 604800 s (space), 604800 s (inodes)");
	assert_int_equal(f[1].code, ICK_PR_QUOTA_LIMITS);
	assert_string_equal(f[1].detail, "user 0: space limits 10 soft, 20 hard (1 KiB blocks); "
					 "inode limits 0 soft, 0 hard; grace deadlines 0 (space), 0 "
					 "(inodes); usage 20480 bytes, 2 inodes");
}

/* ---- fuzzing ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static void test_fuzz(void **s)
{
	char img[128];
	struct ick_image *im;
	ext2_file_t file;
	unsigned char *base, *buf;
	unsigned size, done;
	unsigned clean = 0, written = 0, iters;
	uint64_t n = 300;

	ick_env_u64("ICK_FUZZ_ITERS", UINT32_MAX, &n);
	iters = (unsigned)n;
	image_copy("fuzz.img", img, sizeof(img));
	write_bogus(img, ICK_QUOTA_USER, ICK_ARRAY_SIZE(bogus_ids));
	im = open_img(img, 1);
	assert_int_equal(ext2fs_file_open(im->fs, 3, 0, &file), 0);
	size = (unsigned)ext2fs_file_get_size(file);
	assert_non_null(base = malloc(size));
	assert_non_null(buf = malloc(size));
	assert_int_equal(ext2fs_file_read(file, base, size, &done), 0);
	assert_int_equal(done, size);
	assert_int_equal(ext2fs_file_close(file), 0);
	for (unsigned it = 0; it < iters; it++) {
		struct ick_quota_file *qf = NULL;
		struct ick_report rep;
		unsigned nmut = 1 + rnd() % 4;
		errcode_t err;

		memcpy(buf, base, size);
		for (unsigned k = 0; k < nmut; k++) {
			unsigned at = rnd() % size;
			switch (rnd() % 5) {
			case 3: /* usage of a used slot: the file stays well formed */
			case 4: {
				unsigned slot = 1024 * (rnd() % (size / 1024)) + 16 + 72 * (rnd() % 14);
				int used = 0;
				for (unsigned b = 0; b < 72 && slot + b < size; b++)
					used |= buf[slot + b];
				if (used && slot + 56 <= size)
					buf[slot + 48 + rnd() % 8] = (unsigned char)rnd();
				break;
			}
			case 0: /* a random byte */
				buf[at] = (unsigned char)rnd();
				break;
			case 1: /* a plausible block number in a reference */
			case 2: {
				uint32_t v = rnd() % (size / 1024 + 3);
				at &= ~3u;
				for (int b = 0; b < 4 && at + b < size; b++)
					buf[at + b] = (unsigned char)(v >> (8 * b));
				break;
			}
			}
		}
		assert_int_equal(ext2fs_file_open(im->fs, 3, EXT2_FILE_WRITE, &file), 0);
		assert_int_equal(ext2fs_file_write(file, buf, size, &done), 0);
		assert_int_equal(ext2fs_file_set_size2(file, size), 0); /* drop what a write added */
		assert_int_equal(ext2fs_file_close(file), 0);

		err = ick_quota_open(im->fs, ICK_QUOTA_USER, ICK_QUOTA_SALVAGE, &qf);
		assert_true(err == 0 || err == ICK_ET_QUOTA_BAD_MAGIC ||
			    err == ICK_ET_QUOTA_BAD_VERSION || err == ICK_ET_QUOTA_CORRUPT);
		assert_non_null(qf);
		assert_true(!err == !ick_quota_why(qf));
		ick_quota_close(qf);
		/* the whole check, as e2fsck-ext runs it */
		assert_int_equal(ick_report_init(&rep, img), 0);
		assert_int_equal(ick_checks_run(im, ick_check_mask("quota"), &rep), 0);
		ick_report_free(&rep);
		if (err)
			continue;
		clean++;
		/* a file that validates must still validate after the writer changes it */
		assert_int_equal(ick_quota_open(im->fs, ICK_QUOTA_USER, ICK_QUOTA_RW, &qf), 0);
		if (ick_quota_list_problem(qf)) {
			assert_int_equal(ick_quota_set_usage(qf, 1, 2, 3), ICK_ET_QUOTA_CORRUPT);
			ick_quota_close(qf);
			continue;
		}
		uint32_t ids[4];
		uint64_t sp[4], ino[4];
		for (int k = 0; k < 4; k++) {
			ids[k] = k == 0 ? bogus_ids[rnd() % ICK_ARRAY_SIZE(bogus_ids)] : rnd() % 300;
			sp[k] = rnd() % 3 ? rnd() : 0;
			ino[k] = sp[k] ? rnd() % 100 : 0;
			for (int j = 0; j < k; j++)
				if (ids[j] == ids[k])
					ids[k] = 1000000 + (uint32_t)k;
			assert_int_equal(ick_quota_set_usage(qf, ids[k], sp[k], ino[k]), 0);
		}
		assert_int_equal(ick_quota_close(qf), 0);
		assert_int_equal(ick_quota_open(im->fs, ICK_QUOTA_USER, 0, &qf), 0);
		assert_null(ick_quota_list_problem(qf));
		for (int k = 0; k < 4; k++) {
			struct ick_dquot d;
			err = ick_quota_lookup(qf, ids[k], &d);
			if (!sp[k] && !ino[k]) {
				/* deleted unless limits keep it */
				assert_true(err == ICK_ET_QUOTA_NOT_FOUND ||
					    (err == 0 && (d.bsoftlimit || d.bhardlimit ||
							  d.isoftlimit || d.ihardlimit)));
				continue;
			}
			assert_int_equal(err, 0);
			assert_int_equal(d.curspace, sp[k]);
			assert_int_equal(d.curinodes, ino[k]);
		}
		ick_quota_close(qf);
		written++;
	}
	print_message("fuzz: %u iterations, %u files validated, %u rewritten and revalidated\n",
		      iters, clean, written);
	assert_true(clean > 0 && written > 0);
	free(base);
	free(buf);
	ick_image_close(im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_fresh),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_limits_kept),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_invalid_inum),
		cmocka_unit_test(test_salvaged_limits),
		cmocka_unit_test(test_fuzz),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
