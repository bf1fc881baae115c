/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * manifest.c - durability manifests (see manifest.h).  The parser is written here by hand:
 * the format is ours, and no installed library reads it.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "ick_err.h"
#include "manifest.h"
#include "array.h"

struct mfile { char *path; uint64_t size, hash; };
struct mmark { char *name; size_t first, n, line; };

struct ick_manifest {
	char *text;                 /* the file, NUL-terminated lines; names point into it */
	struct mmark *marks;
	size_t nmarks;
	struct mfile *files;
	size_t nfiles;              /* marks are sorted by name once loaded */
};

uint64_t ick_fnv1a64(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void ick_manifest_free(struct ick_manifest *m)
{
	if (!m)
		return;
	free(m->text);
	free(m->marks);
	free(m->files);
	free(m);
}

/* The whole file (a pipe too: read to its end), NUL-terminated, at most
 * ICK_MANIFEST_MAX_BYTES; a NUL inside is refused (it would hide the rest): *@nul is then
 * the line it is on. */
static errcode_t slurp(const char *path, char **out, size_t *nul)
{
	size_t len = 0, cap = 65536;
	errcode_t err = 0;
	char *buf = malloc(cap + 1), *z;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || !buf) {
		err = fd < 0 ? errno : ENOMEM;
		goto fail;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap >= ICK_MANIFEST_MAX_BYTES) {
				err = EFBIG;
				goto fail;
			}
			cap *= 2;
			if (!(nb = realloc(buf, cap + 1))) {
				err = ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			goto fail;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	if ((z = memchr(buf, 0, len))) {
		*nul = 1;
		for (char *c = buf; c < z; c++)
			*nul += *c == '\n';
		err = ICK_ET_MANIFEST;
		goto fail;
	}
	buf[len] = 0;
	close(fd);
	*out = buf;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}

/* Digits only (no sign, space or 0x): strtoull alone accepts more. */
static int parse_u64(const char *s, int base, uint64_t *v)
{
	char *end;

	if (!*s || strspn(s, base == 16 ? "0123456789abcdefABCDEF" : "0123456789") != strlen(s))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, base);
	return errno || *end ? -1 : 0;
}

/* Split @line at single spaces into at most @max fields; returns the count. */
static int fields(char *line, char **f, int max)
{
	int n = 0;

	while (*line && n < max) {
		f[n++] = line;
		while (*line && *line != ' ')
			line++;
		if (*line)
			*line++ = 0;
	}
	return *line ? max + 1 : n;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct mmark *)a)->name, ((const struct mmark *)b)->name);
}

/* One line; *why is set on a syntax error. */
static errcode_t parse_line(struct ick_manifest *m, char *line, size_t lineno, size_t *capm,
			    size_t *capf, const char **why)
{
	char *f[5];
	int n = fields(line, f, 4);

	if (n == 2 && !strcmp(f[0], "mark")) {
		if (m->nmarks == *capm) {
			struct mmark *nm = ick_array_grow(m->marks, capm, sizeof(*nm), 64);
			if (!nm)
				return ENOMEM;
			m->marks = nm;
		}
		m->marks[m->nmarks++] = (struct mmark){ f[1], m->nfiles, 0, lineno };
		return 0;
	}
	if (n == 4 && !strcmp(f[0], "file")) {
		struct mfile mf = { .path = f[1] };

		if (!m->nmarks)
			*why = "a file before any mark";
		else if (f[1][0] != '/')
			*why = "the path is not absolute";
		else if (parse_u64(f[2], 10, &mf.size))
			*why = "bad size";
		else if (strncmp(f[3], "fnv1a64:", 8) || strlen(f[3] + 8) != 16 ||
			 parse_u64(f[3] + 8, 16, &mf.hash))
			*why = "bad hash (fnv1a64: and 16 hex digits)";
		if (*why)
			return 0;
		if (m->nfiles == *capf) {
			struct mfile *nf = ick_array_grow(m->files, capf, sizeof(*nf), 64);
			if (!nf)
				return ENOMEM;
			m->files = nf;
		}
		m->files[m->nfiles++] = mf;
		m->marks[m->nmarks - 1].n++;
		return 0;
	}
	*why = "not 'mark NAME' or 'file PATH SIZE fnv1a64:HEX'";
	return 0;
}

/* Each mark keeps its files (first, n): the marks themselves are sorted by name. */
static void index_marks(struct ick_manifest *m, const char **why, size_t *line)
{
	if (!m->nmarks)
		return;
	qsort(m->marks, m->nmarks, sizeof(*m->marks), by_name);
	for (size_t i = 1; i < m->nmarks; i++)
		if (!strcmp(m->marks[i].name, m->marks[i - 1].name)) {
			size_t a = m->marks[i].line, b = m->marks[i - 1].line;

			*why = "a mark named twice";
			if (!*line || (a > b ? a : b) < *line)
				*line = a > b ? a : b; /* the second naming */
		}
}

errcode_t ick_manifest_load(const char *path, struct ick_manifest **out, char *why, size_t whylen)
{
	struct ick_manifest *m;
	size_t capm = 0, capf = 0, lineno = 0;
	const char *bad = NULL;
	errcode_t err;
	char *line, *next;

	*out = NULL;
	if (whylen)
		why[0] = 0;
	if (!(m = calloc(1, sizeof(*m))))
		return ENOMEM;
	if ((err = slurp(path, &m->text, &lineno))) {
		if (err == ICK_ET_MANIFEST)
			snprintf(why, whylen, "line %zu: a NUL byte", lineno);
		goto fail;
	}
	for (line = m->text; *line && !bad; line = next) {
		size_t len = strcspn(line, "\n");

		next = line + len + (line[len] ? 1 : 0);
		line[len] = 0;
		lineno++;
		if (len && line[len - 1] == '\r')
			line[len - 1] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		if ((err = parse_line(m, line, lineno, &capm, &capf, &bad)))
			goto fail;
	}
	if (!bad) {
		size_t dup = 0;

		index_marks(m, &bad, &dup);
		if (bad)
			lineno = dup;
		else if (!m->nmarks)
			bad = "no mark (an empty manifest checks nothing)";
	}
	if (bad) {
		snprintf(why, whylen, "line %zu: %s", lineno, bad);
		err = ICK_ET_MANIFEST;
		goto fail;
	}
	*out = m;
	return 0;
fail:
	ick_manifest_free(m);
	return err;
}

size_t ick_manifest_marks(const struct ick_manifest *m)
{
	return m ? m->nmarks : 0;
}

long ick_manifest_find(const struct ick_manifest *m, const char *name)
{
	size_t lo = 0, hi = m ? m->nmarks : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, m->marks[mid].name);

		if (!c)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* The hash of the first @size bytes of @ino (holes and unwritten ranges read as zeros). */
static errcode_t hash_file(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode *inode, uint64_t size,
			   uint64_t *out)
{
	enum { CHUNK = 65536 };
	unsigned char *buf;
	ext2_file_t f;
	uint64_t h = ICK_FNV1A64_INIT, done = 0;
	errcode_t err;

	if (!(buf = malloc(CHUNK)))
		return ENOMEM;
	if ((err = ext2fs_file_open2(fs, ino, inode, 0, &f))) {
		free(buf);
		return err;
	}
	while (done < size) {
		unsigned int want = size - done < CHUNK ? (unsigned)(size - done) : CHUNK;
		unsigned int got = 0;

		if ((err = ext2fs_file_read(f, buf, want, &got)))
			break;
		if (!got) {
			err = EXT2_ET_SHORT_READ;
			break;
		}
		h = ick_fnv1a64(h, buf, got);
		done += got;
	}
	ext2fs_file_close(f);
	free(buf);
	*out = h;
	return err;
}

static errcode_t check_file(const struct mfile *mf, const char *mark, ext2_filsys fs,
			    struct ick_report *rep)
{
	struct ext2_inode inode;
	struct ick_finding f;
	ext2_ino_t ino = 0;
	uint64_t h;
	errcode_t err;

	err = ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, mf->path, &ino);
	if (!err)
		err = ext2fs_read_inode(fs, ino, &inode);
	if (err == ENOMEM)
		return err;
	if (err || !LINUX_S_ISREG(inode.i_mode)) {
		f = ick_finding_blank(ICK_PR_DURABLE_MISSING, err ? 0 : ino);
		return ick_report_add(rep, &f, "%s at mark %s: %s", mf->path, mark,
				      err ? error_message(err) : "not a regular file");
	}
	if (EXT2_I_SIZE(&inode) != mf->size) {
		f = ick_finding_blank(ICK_PR_DURABLE_SIZE, ino);
		f.expected = mf->size;
		f.found = EXT2_I_SIZE(&inode);
		return ick_report_add(rep, &f, "%s at mark %s", mf->path, mark);
	}
	if ((err = hash_file(fs, ino, &inode, mf->size, &h)) == ENOMEM)
		return err;
	if (err || h != mf->hash) {
		f = ick_finding_blank(ICK_PR_DURABLE_CONTENT, ino);
		return ick_report_add(rep, &f, "%s at mark %s: fnv1a64 %016llx expected, %s%016llx",
				      mf->path, mark, (unsigned long long)mf->hash,
				      err ? "unreadable: " : "", (unsigned long long)(err ? 0 : h));
	}
	return 0;
}

errcode_t ick_manifest_check(const struct ick_manifest *m, long idx, ext2_filsys fs,
			     struct ick_report *rep)
{
	const struct mmark *mk;
	errcode_t err;

	if (!m || idx < 0 || (size_t)idx >= m->nmarks)
		return EINVAL;
	mk = &m->marks[idx];
	for (size_t i = 0; i < mk->n; i++)
		if ((err = check_file(&m->files[mk->first + i], mk->name, fs, rep)))
			return err;
	return 0;
}
