/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * foreign.c - the requests debugfs-ext does not know, run by the real debugfs against the
 * same image with the same -w, -c, -b, -s and -z.  Its request names come from its own
 * `lr` (one short process at start), become a libss table after ours, so `help`/`lr` list
 * both and libss dispatches them here.  A -f or interactive session keeps one debugfs
 * coprocess (`debugfs -f -`): its stdin a pipe, its stdout a pty (so its stdio flushes every
 * line), its stderr ours.  After each request we send a comment line with a per-session
 * nonce, which debugfs echoes verbatim: the end of that request's output.
 *
 * Consistency (README, "Requests debugfs-ext does not know"): debugfs sees the image as
 * last committed; with -w a request not known to be read-only is a write and runs only
 * with no dirty folio or delalloc reservation in the model (or after writing them back with
 * --writeback-before-foreign); after it the model is stale, and before the model is next
 * used the coprocess is closed (its writes then are all on the image) and the model
 * remounted.  The coprocess is also closed before any request of ours that can write, so
 * debugfs never holds a view older than the image.  Never writes the image itself.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/wait.h>
#include <et/com_err.h>
#include <ss/ss.h>
#include "shell.h"

void do_foreign(int argc, const char *const *argv, int sci, void *info);

#define LR_MAX_OUT   (256u << 10)  /* debugfs's `lr` is about 4 KiB */
#define LR_MAX_REQS  1024
#define NAME_MAX_LEN 64
#define LINE_MAX_LEN 8000          /* debugfs -f reads lines of BUFSIZ (8192) bytes */
#define IOBUF        (64u << 10)

/* Requests of debugfs 1.47 that never write the image (by their first name or an alias);
 * with -w every other one is taken as a write.  bmap -a allocates: see is_write(). */
static const char *const read_only[] = {
	"show_debugfs_params", "params", "freefrag", "e2freefrag", "show_super_stats", "stats",
	"ncheck", "icheck", "change_root_directory", "chroot", "change_working_directory", "cd",
	"list_directory", "ls", "show_inode_info", "stat", "dump_extents", "extents", "ex",
	"blocks", "filefrag", "testi", "testb", "find_free_block", "ffb", "find_free_inode",
	"ffi", "print_working_directory", "pwd", "list_deleted_inodes", "lsdel", "dump_inode",
	"dump", "cat", "lcd", "rdump", "logdump", "htree_dump", "htree", "dx_hash", "hash",
	"dirsearch", "bmap", "imap", "dump_unused", "supported_features", "dump_mmp",
	"block_dump", "bdump", "bd", "ea_list", "ea_get", "list_quota", "lq", "get_quota", "gq",
	"inode_dump", "idump", "id",
};
/* Requests that change which image, or which mode, the coprocess is in: a debugfs-ext
 * session is about its one image, so these are not run. */
static const char *const not_forwarded[] = {
	"open_filesys", "open", "close_filesys", "close", "init_filesys", "extent_open", "eo",
};

static int in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return 1;
	return 0;
}
#define IN(name, list) in_list(name, list, sizeof(list) / sizeof(list[0]))

const char *sh_debugfs_path(void)
{
	const char *env = getenv("IOMAPCK_DEBUGFS");
	return env && *env ? env : ICK_DEBUGFS_PATH;
}

/* The real debugfs's argv: its options as we were given them, then @tail (NULL-ended),
 * then the image. */
static char **debugfs_argv(const char *const *tail)
{
	size_t n = 0, ntail = 0;
	char **av;

	while (tail && tail[ntail])
		ntail++;
	if (!(av = calloc(12 + ntail, sizeof(*av))))
		return NULL;
	av[n++] = (char *)"debugfs";
	if (sh.rw)
		av[n++] = (char *)"-w";
	if (sh.catastrophic)
		av[n++] = (char *)"-c";
	if (sh.blocksize) {
		av[n++] = (char *)"-b";
		av[n++] = (char *)sh.blocksize;
	}
	if (sh.superblock) {
		av[n++] = (char *)"-s";
		av[n++] = (char *)sh.superblock;
	}
	if (sh.undo) {
		av[n++] = (char *)"-z";
		av[n++] = (char *)sh.undo;
	}
	for (size_t i = 0; i < ntail; i++)
		av[n++] = (char *)tail[i];
	av[n++] = (char *)sh.path;
	return av;
}

/* -R with a request that is not ours: nothing of the model is involved, so the real
 * debugfs runs in our place and its output and exit status are exactly its own. */
int sh_foreign_exec_request(const char *request)
{
	const char *tail[] = { "-R", request, NULL };
	char **av = debugfs_argv(tail);

	if (!av) {
		com_err(prog, ENOMEM, "while starting %s", sh_debugfs_path());
		return SH_EXIT_FAILED;
	}
	fflush(stdout);
	signal(SIGPIPE, SIG_DFL);   /* as debugfs would start */
	execv(sh_debugfs_path(), av);
	com_err(prog, errno, "while running %s", sh_debugfs_path());
	free(av);
	return SH_EXIT_FAILED;
}

/* ---- the request table, from `debugfs -R lr` ---- */

static int valid_name(const char *s, size_t n)
{
	if (!n || n > NAME_MAX_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '_' || s[i] == '?' || s[i] == '-' || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

/* Read all of @fd, at most LR_MAX_OUT bytes (more is not an lr listing). */
static char *read_all(int fd)
{
	size_t len = 0, cap = 8192;
	char *buf = malloc(cap + 1), *n;
	ssize_t got;

	while (buf) {
		if (len == cap) {
			if (cap >= LR_MAX_OUT || !(n = realloc(buf, 2 * cap + 1))) {
				free(buf);
				return NULL;
			}
			buf = n;
			cap *= 2;
		}
		got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	if (buf)
		buf[len] = 0;
	return buf;
}

static char *run_lr(void)
{
	int p[2], status, devnull;
	pid_t pid;
	char *out;

	if (pipe(p))
		return NULL;
	fflush(stdout);
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	if (pid == 0) {
		dup2(p[1], 1);
		if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 2);
		}
		close_range(3, ~0u, 0);
		signal(SIGPIPE, SIG_DFL);
		execl(sh_debugfs_path(), "debugfs", "-R", "lr", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	out = read_all(p[0]);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return out;
}

struct ftable {
	ss_request_table *t;
	ss_request_entry *e;
	size_t n;
	char *text;     /* the listing: names and info strings point into it */
};
static struct ftable ft;

/* Which of our tables holds the request @name (@len bytes): 1 ours, 2 libss's (help, lr,
 * quit), 0 neither. */
int sh_request_table(const char *name, size_t len)
{
	extern ss_request_table ext_cmds;
	const ss_request_table *tabs[] = { &ext_cmds, &ss_std_requests };

	for (size_t t = 0; t < 2; t++)
		for (const ss_request_entry *e = tabs[t]->requests; e->command_names; e++)
			for (const char *const *n = e->command_names; *n; n++)
				if (strlen(*n) == len && !strncmp(*n, name, len))
					return (int)t + 1;
	return 0;
}

/* One listing line "name, alias<spaces>info" (info may be on the next line): the names
 * split in place; 0 if the line is not a request (a header, a bad name, one of ours). */
static int parse_names(char *line, char **info, const char ***names)
{
	char *end = strstr(line, "  "), *p = line;
	const char **nv;
	size_t nn = 0;

	*info = NULL;
	if (end) {
		*end = 0;
		*info = end + 2 + strspn(end + 2, " ");
	}
	if (!(nv = calloc(9, sizeof(*nv))))
		return 0;
	while (*p && nn < 8) {
		size_t len = strcspn(p, ",");
		if (!valid_name(p, len))
			goto bad;
		nv[nn++] = p;
		if (!p[len])
			break;
		p[len] = 0;
		p += len + 1 + strspn(p + len + 1, " ");
	}
	for (size_t i = 0; i < nn; i++)
		if (sh_request_table(nv[i], strlen(nv[i])))
			goto bad;
	if (!nn)
		goto bad;
	*names = nv;
	return 1;
bad:
	free(nv);
	return 0;
}

static void parse_lr(char *text)
{
	char *line = text, *next, *info;
	const char **names;

	for (; line && *line; line = next) {
		if ((next = strchr(line, '\n')))
			*next++ = 0;
		if (*line == ' ' || !*line || !strncmp(line, "Available ", 10))
			continue;
		if (ft.n >= LR_MAX_REQS || !parse_names(line, &info, &names))
			continue;
		if ((!info || !*info) && next && *next == ' ') {
			info = next + strspn(next, " ");
			if ((next = strchr(next, '\n')))
				*next++ = 0;
		}
		/* libss's entries are const: fill the calloc'ed ones by copy */
		ss_request_entry e = { names, do_foreign, info && *info ? info : "(debugfs)", 0 };
		memcpy((void *)&ft.e[ft.n++], &e, sizeof(e));
	}
}

/* The table of the real debugfs's requests not in ours; NULL when it cannot be listed
 * (then those requests are "Command not found", as before). */
ss_request_table *sh_foreign_table(void)
{
	if (!(ft.text = run_lr()))
		return NULL;
	if (!(ft.e = calloc(LR_MAX_REQS + 1, sizeof(*ft.e)))) {
		free(ft.text);
		return NULL;
	}
	parse_lr(ft.text);
	if (!ft.n)
		return NULL;
	ss_request_table t = { SS_RQT_TBL_V2, ft.e };
	if (!(ft.t = malloc(sizeof(t))))
		return NULL;
	memcpy((void *)ft.t, &t, sizeof(t));
	return ft.t;
}

void sh_foreign_free(void)
{
	for (size_t i = 0; i < ft.n; i++)
		free((void *)ft.e[i].command_names);
	free((void *)ft.e);
	free((void *)ft.t);
	free(ft.text);
	memset(&ft, 0, sizeof(ft));
}

/* ---- the coprocess ---- */

struct copro {
	pid_t pid;
	int in;         /* its stdin */
	int out;        /* the pty master: its stdout */
	unsigned long seq;
	int busy;       /* a request sent and its end mark not yet back */
	char nonce[40];
};
static struct copro cp = { .pid = -1, .in = -1, .out = -1 };

static int open_pty(int *master, int *slave)
{
	struct termios t;
	char *name;

	if ((*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return -1;
	if (grantpt(*master) || unlockpt(*master) || !(name = ptsname(*master)) ||
	    (*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		goto fail;
	/* raw: no \n -> \r\n, nothing interpreted, bytes as debugfs wrote them */
	if (tcgetattr(*slave, &t))
		goto fail_slave;
	cfmakeraw(&t);
	if (tcsetattr(*slave, TCSANOW, &t))
		goto fail_slave;
	return 0;
fail_slave:
	close(*slave);
fail:
	close(*master);
	return -1;
}

static void make_nonce(void)
{
	unsigned char r[8] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, r, sizeof(r)) != (ssize_t)sizeof(r))
			memset(r, 0, sizeof(r));
		close(fd);
	}
	snprintf(cp.nonce, sizeof(cp.nonce), "%02x%02x%02x%02x%02x%02x%02x%02x-%ld",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], (long)getpid());
}

static errcode_t start(void)
{
	const char *tail[] = { "-f", "-", NULL };
	int in[2], master, slave;
	char **av;

	if (!(av = debugfs_argv(tail)))
		return ENOMEM;
	if (pipe2(in, O_CLOEXEC)) {
		free(av);
		return errno;
	}
	if (open_pty(&master, &slave)) {
		errcode_t err = errno;
		close(in[0]);
		close(in[1]);
		free(av);
		return err;
	}
	fflush(stdout);
	fflush(stderr);
	if ((cp.pid = fork()) < 0) {
		errcode_t err = errno;
		close(in[0]);
		close(in[1]);
		close(master);
		close(slave);
		free(av);
		return err;
	}
	if (cp.pid == 0) {
		setpgid(0, 0);   /* ^C at our prompt is libss's, not a kill of an idle debugfs */
		dup2(in[0], 0);
		dup2(slave, 1);
		close_range(3, ~0u, 0);   /* the image and log descriptors are ours */
		/* its stdout is a tty: no pager, as when it writes to a file */
		setenv("DEBUGFS_PAGER", "__none__", 1);
		signal(SIGPIPE, SIG_DFL);
		execv(sh_debugfs_path(), av);
		_exit(127);
	}
	close(in[0]);
	close(slave);
	free(av);
	cp.in = in[1];
	cp.out = master;
	if (!cp.nonce[0])
		make_nonce();
	return 0;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Copy the coprocess's output to our stdout up to @end (NULL: to its end), leaving out a
 * first line equal to @echo (debugfs's own echo of the request; we printed ours).
 * Returns 1 when @end was seen, 0 at end of output.
 */
static int copy_output(const char *echo, const char *end)
{
	static char buf[IOBUF];
	size_t len = 0, elen = echo ? strlen(echo) : 0, slen = end ? strlen(end) : 0;
	int echo_done = !echo, found = 0;

	fflush(stdout);
	for (;;) {
		ssize_t got = read(cp.out, buf + len, sizeof(buf) - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)   /* EIO: every slave descriptor closed, debugfs has exited */
			break;
		len += (size_t)got;
		if (!echo_done) {
			size_t n = len < elen ? len : elen;
			if (memcmp(buf, echo, n))
				echo_done = 1;
			else if (len >= elen) {
				memmove(buf, buf + elen, len - elen);
				len -= elen;
				echo_done = 1;
			} else
				continue;
		}
		if (slen && len >= slen && !memcmp(buf + len - slen, end, slen)) {
			len -= slen;
			found = 1;
			break;
		}
		/* keep what could be the start of the end mark */
		if (len > slen) {
			size_t out = len - (slen ? slen - 1 : 0);
			if (write_all(1, buf, out))
				break;
			memmove(buf, buf + out, len - out);
			len -= out;
		}
	}
	if (len)
		(void)write_all(1, buf, len);
	return found;
}

/* Kill the coprocess; what it still had to say is dropped. */
static void abandon(void)
{
	int status;

	kill(cp.pid, SIGKILL);
	close(cp.in);
	close(cp.out);
	while (waitpid(cp.pid, &status, 0) < 0 && errno == EINTR)
		;
	cp.pid = -1;
	cp.in = cp.out = -1;
	cp.busy = 0;
}

/* Close the coprocess: end of its input, its last output, its exit status. */
void sh_foreign_stop(void)
{
	int status;

	if (cp.pid < 0)
		return;
	if (cp.busy) {
		abandon();
		return;
	}
	close(cp.in);
	copy_output(NULL, NULL);
	close(cp.out);
	while (waitpid(cp.pid, &status, 0) < 0 && errno == EINTR)
		;
	cp.pid = -1;
	cp.in = cp.out = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status)) {
		if (sh.status < WEXITSTATUS(status))
			sh.status = WEXITSTATUS(status);
	} else if (!WIFEXITED(status)) {
		sh_fail(prog, 0, "%s ended by signal %d", sh_debugfs_path(), WTERMSIG(status));
	}
}

/* libss's parser in reverse: every word double-quoted, a quote in it doubled. */
static char *requote(int argc, const char *const *argv)
{
	size_t cap = 1;
	char *line, *p;

	for (int i = 0; i < argc; i++) {
		if (strpbrk(argv[i], "\r\n"))
			return NULL;   /* one request is one line to debugfs */
		cap += 2 * strlen(argv[i]) + 3;
	}
	if (cap > LINE_MAX_LEN || !(line = malloc(cap)))
		return NULL;
	p = line;
	for (int i = 0; i < argc; i++) {
		if (i)
			*p++ = ' ';
		*p++ = '"';
		for (const char *s = argv[i]; *s; s++) {
			if (*s == '"')
				*p++ = '"';
			*p++ = *s;
		}
		*p++ = '"';
	}
	*p = 0;
	return line;
}

/* Run one request in the coprocess; its output to our stdout. */
static int send_request(const char *line, const char *end)
{
	return write_all(cp.in, line, strlen(line)) || write_all(cp.in, "\n", 1) ||
	       write_all(cp.in, end, strlen(end));
}

static void run_in_copro(const char *who, const char *line)
{
	size_t elen = strlen(line) + 12;
	char end[64], *echo;
	errcode_t err;

	if (cp.busy)
		/* the last request was interrupted (libss's ^C jumps out of it): its output
		 * would come before this one's, so that debugfs goes */
		abandon();
	if (!(echo = malloc(elen))) {
		sh_fail(who, ENOMEM, "while running %s", sh_debugfs_path());
		return;
	}
	snprintf(echo, elen, "debugfs: %s\n", line);
	for (int tries = 0;; tries++) {
		if (cp.pid < 0 && (err = start())) {
			sh_fail(who, err, "while starting %s", sh_debugfs_path());
			goto out;
		}
		snprintf(end, sizeof(end), "#debugfs-ext-end-%s-%lu\n", cp.nonce, ++cp.seq);
		cp.busy = 1;
		if (!send_request(line, end))
			break;
		err = errno;
		abandon();      /* it had gone while idle (killed): once more, a new one */
		if (tries) {
			sh_fail(who, err, "while talking to %s", sh_debugfs_path());
			goto out;
		}
	}
	if (!copy_output(echo, end)) {
		/* it ended before our end mark: report how, start a new one next time */
		cp.busy = 0;
		sh_foreign_stop();
		sh_fail(who, 0, "%s exited during the request", sh_debugfs_path());
	}
	cp.busy = 0;
out:
	free(echo);
}

static int is_write(int argc, const char *const *argv)
{
	if (!sh.rw)
		return 0;   /* debugfs itself refuses writes on a read-only open */
	if (!strcmp(argv[0], "bmap"))
		for (int i = 1; i < argc; i++)
			if (!strcmp(argv[i], "-a"))
				return 1;
	return !IN(argv[0], read_only);
}

/* The rules before a request debugfs may write with: nothing of the model off disk. */
static int ready_to_write(const char *who, uint64_t dirty, uint64_t rsv)
{
	errcode_t err;

	if (sh.log) {
		sh_fail(who, 0, "refused: a write by debugfs would be missing from the log being "
			"recorded (-L)");
		return 0;
	}
	if (!dirty && !rsv)
		return 1;
	if (!sh.writeback_before_foreign) {
		sh_fail(who, 0, "refused: %llu dirty folios and %llu reserved delalloc blocks are "
			"not on disk (iomap_writeback first, or start with "
			"--writeback-before-foreign)", (unsigned long long)dirty,
			(unsigned long long)rsv);
		return 0;
	}
	printf("%s: writing back %llu dirty folios before %s\n", prog, (unsigned long long)dirty,
	       who);
	sh_foreign_stop();   /* closed before the model commits; started again to see it */
	if ((err = ick_wp_writeback(sh.wp, 0, NULL))) {
		sh_fail(who, err, "while writing back before the request");
		return 0;
	}
	return 1;
}

void do_foreign(int argc, const char *const *argv, int sci, void *info)
{
	uint64_t dirty, rsv;
	int write;
	char *line;

	if (IN(argv[0], not_forwarded)) {
		sh_fail(argv[0], 0, "not run: a %s session is about %s alone (use the real "
			"debugfs for this)", prog, sh.path);
		return;
	}
	write = is_write(argc, argv);
	ick_wp_pending(sh.wp, &dirty, &rsv);
	if (!dirty && !rsv)
		sh.noted_dirty = 0;   /* say it again the next time there is some */
	if (write && !ready_to_write(argv[0], dirty, rsv))
		return;
	if (!write && (dirty || rsv) && !sh.noted_dirty) {
		printf("%s: note: %llu dirty folios and %llu reserved delalloc blocks are not on "
		       "disk; debugfs sees the image as last committed\n", prog,
		       (unsigned long long)dirty, (unsigned long long)rsv);
		sh.noted_dirty = 1;
	}
	if (!(line = requote(argc, argv))) {
		sh_fail(argv[0], 0, "the request is too long for debugfs, or holds a line break");
		return;
	}
	run_in_copro(argv[0], line);
	free(line);
	/* Its bitmaps and counts reach the image when it closes: the model is read again
	 * (sh_sync_model) before it is next used, not now, so that a run of debugfs requests
	 * stays one debugfs session (its cwd, one banner). */
	if (write)
		sh.model_stale = 1;
}

/* Before the model writes or is read: debugfs closed (with -w; it must not keep a view
 * older than the image), and the model remounted if debugfs wrote since. */
void sh_sync_model(void)
{
	if (!sh.rw)
		return;
	sh_foreign_stop();
	if (sh.model_stale) {
		sh.model_stale = 0;
		sh_remount();
	}
}

/* The shim starts debugfs with the session, as debugfs prints its banner first. */
void sh_foreign_begin(void)
{
	errcode_t err;

	char end[64];

	if (cp.pid < 0 && (err = start())) {
		sh_fail(prog, err, "while starting %s", sh_debugfs_path());
		return;
	}
	/* an end mark alone: once it is back, so is the banner, before our first prompt */
	snprintf(end, sizeof(end), "#debugfs-ext-end-%s-%lu\n", cp.nonce, ++cp.seq);
	if (write_all(cp.in, end, strlen(end)) || !copy_output(NULL, end)) {
		sh_foreign_stop();
		sh_fail(prog, 0, "%s exited as it started", sh_debugfs_path());
	}
}
