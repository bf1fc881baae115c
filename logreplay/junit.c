/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * junit - iomapck-replay's --junit report (junit.h).  The XML is written by libxml2's
 * xmlTextWriter.  Every string passes ick_untrusted_clean (lib/untrusted.h) first: untrusted
 * bytes (mark names from the log, file names from the image) become the characters XML 1.0
 * allows before they reach the writer (which wants valid UTF-8 and has no way to write a
 * control byte at all).  The shape (attributes, elements) follows fstests' common/report
 * xunit output.
 */
#define _GNU_SOURCE
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libxml/xmlwriter.h>
#include "junit.h"
#include "untrusted.h"

#define MAX_PROPS 32

struct failure {
	char *message, *text;
};

struct ick_junit {
	FILE *out;
	char *path, *log;
	char *pname[MAX_PROPS], *pvalue[MAX_PROPS];
	size_t nprops;
	struct failure *f;
	size_t nf, cap;
	uint64_t omitted;     /* failing points past ICK_JUNIT_MAX_FAILURES */
	char *error, *skipped;
	time_t start;
	int oom;
};

static char *clean(const char *s)
{
	return ick_untrusted_clean(s, strlen(s));
}

/* libxml2 prints its errors itself; ours are the caller's one line */
static void quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

struct ick_junit *ick_junit_new(const char *path, const char *log)
{
	struct ick_junit *j = calloc(1, sizeof(*j));
	int e;

	if (!j)
		return NULL;
	xmlSetGenericErrorFunc(NULL, quiet);
	j->path = strdup(path);
	j->log = clean(log);
	j->start = time(NULL);
	/* opened now, so a file that cannot be written stops the run before its sweep */
	if (!j->path || !j->log || !(j->out = fopen(path, "w"))) {
		e = j->path && j->log ? errno : ENOMEM;
		free(j->path);
		free(j->log);
		free(j);
		errno = e;
		return NULL;
	}
	return j;
}

void ick_junit_property(struct ick_junit *j, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < j->nprops && strcmp(j->pname[i], name); i++)
		;
	if (i == MAX_PROPS)
		return;
	if (i == j->nprops) {
		if (!(j->pname[i] = strdup(name))) {
			j->oom = 1;
			return;
		}
		j->nprops++;
	}
	free(j->pvalue[i]);
	if (!(j->pvalue[i] = clean(value)))
		j->oom = 1;
}

void ick_junit_failure(struct ick_junit *j, const char *message, const char *text, size_t len)
{
	struct failure *f;

	if (j->nf == ICK_JUNIT_MAX_FAILURES) {
		j->omitted++;
		return;
	}
	if (j->nf == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 16;
		struct failure *nf = realloc(j->f, cap * sizeof(*nf));

		if (!nf) {
			j->oom = 1;
			return;
		}
		j->f = nf;
		j->cap = cap;
	}
	f = &j->f[j->nf];
	f->message = clean(message);
	f->text = ick_untrusted_clean(text, len > ICK_JUNIT_MAX_TEXT ? ICK_JUNIT_MAX_TEXT : len);
	if (!f->message || !f->text) {
		free(f->message);
		free(f->text);
		j->oom = 1;
		return;
	}
	j->nf++;
}

void ick_junit_error(struct ick_junit *j, const char *message)
{
	free(j->error);
	if (!(j->error = clean(message)))
		j->oom = 1;
}

void ick_junit_skipped(struct ick_junit *j, const char *message)
{
	free(j->skipped);
	if (!(j->skipped = clean(message)))
		j->oom = 1;
}

/* ISO 8601 with a "+HH:MM" offset, as date -Iseconds (the xunit schema's pattern) */
static void iso8601(time_t t, char *buf, size_t size)
{
	struct tm tm;
	char z[8];

	localtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(z, sizeof(z), "%z", &tm);
	if (strlen(z) == 5)
		snprintf(buf + strlen(buf), size - strlen(buf), "%.3s:%s", z, z + 3);
}

static int prop_cmp(const void *a, const void *b)
{
	return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

/* each call's result: negative on a write error */
#define W(call) do { if ((call) < 0) return -1; } while (0)

/* <testsuite ...> and its <properties>, sorted by name as fstests sorts them */
static int write_suite(struct ick_junit *j, xmlTextWriterPtr w, const char *secs,
		       const char *host)
{
	char start[40], end[40], num[32];
	char **order[MAX_PROPS];

	iso8601(j->start, start, sizeof(start));
	iso8601(time(NULL), end, sizeof(end));
	W(xmlTextWriterStartElement(w, BAD_CAST "testsuite"));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST "iomapck-replay"));
	snprintf(num, sizeof(num), "%d", j->nf || j->omitted ? 1 : 0);
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "failures", BAD_CAST num));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "errors", BAD_CAST (j->error ? "1" : "0")));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "skipped", BAD_CAST (j->skipped && !j->error && !j->nf ? "1" : "0")));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "tests", BAD_CAST "1"));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "time", BAD_CAST secs));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "hostname", BAD_CAST host));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "start_timestamp", BAD_CAST start));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "timestamp", BAD_CAST start));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "report_timestamp", BAD_CAST end));
	W(xmlTextWriterStartElement(w, BAD_CAST "properties"));
	for (size_t i = 0; i < j->nprops; i++)
		order[i] = &j->pname[i];
	qsort(order, j->nprops, sizeof(order[0]), prop_cmp);
	for (size_t k = 0; k < j->nprops; k++) {
		size_t i = (size_t)(order[k] - j->pname);

		W(xmlTextWriterStartElement(w, BAD_CAST "property"));
		W(xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST j->pname[i]));
		W(xmlTextWriterWriteAttribute(w, BAD_CAST "value",
					      BAD_CAST (j->pvalue[i] ? j->pvalue[i] : "")));
		W(xmlTextWriterEndElement(w));
	}
	W(xmlTextWriterEndElement(w));
	return 0;
}

/* one <failure> a testcase, as fstests' xunit and the JUnit schema have it: the message
 * names the first failing point, the text holds each point in order */
static int write_failure(struct ick_junit *j, xmlTextWriterPtr w)
{
	char *msg = NULL;
	int rc;

	if (asprintf(&msg, "%zu failing point%s%s; the first: %s", j->nf + (size_t)j->omitted,
		     j->nf + j->omitted > 1 ? "s" : "", j->omitted ? " (not all listed)" : "",
		     j->f[0].message) < 0)
		return -1;
	rc = xmlTextWriterStartElement(w, BAD_CAST "failure") < 0 ||
	     xmlTextWriterWriteAttribute(w, BAD_CAST "message", BAD_CAST msg) < 0 ? -1 : 0;
	free(msg);
	if (rc)
		return rc;
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST "TestFail"));
	for (size_t i = 0; i < j->nf; i++) {
		W(xmlTextWriterWriteString(w, BAD_CAST "== "));
		W(xmlTextWriterWriteString(w, BAD_CAST j->f[i].message));
		W(xmlTextWriterWriteString(w, BAD_CAST "\n"));
		if (i < ICK_JUNIT_FULL_TEXTS)
			W(xmlTextWriterWriteString(w, BAD_CAST j->f[i].text));
	}
	if (j->nf > ICK_JUNIT_FULL_TEXTS)
		W(xmlTextWriterWriteFormatString(w, "(the findings of the points after the "
						    "first %d: run the sweep)\n",
						 ICK_JUNIT_FULL_TEXTS));
	W(xmlTextWriterEndElement(w));
	return 0;
}

/* the <testcase>: an <error>, <skipped/>, the <failure>, then a <system-out> */
static int write_case(struct ick_junit *j, xmlTextWriterPtr w, const char *secs)
{
	W(xmlTextWriterStartElement(w, BAD_CAST "testcase"));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "classname", BAD_CAST "iomapck-replay"));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST j->log));
	W(xmlTextWriterWriteAttribute(w, BAD_CAST "time", BAD_CAST secs));
	if (j->error) {
		W(xmlTextWriterStartElement(w, BAD_CAST "error"));
		W(xmlTextWriterWriteAttribute(w, BAD_CAST "message", BAD_CAST j->error));
		W(xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST "OperationalError"));
		W(xmlTextWriterEndElement(w));
	}
	if (j->skipped && !j->nf && !j->error) {
		W(xmlTextWriterStartElement(w, BAD_CAST "skipped"));
		W(xmlTextWriterWriteAttribute(w, BAD_CAST "message", BAD_CAST j->skipped));
		W(xmlTextWriterEndElement(w));
	}
	if (j->nf)
		W(write_failure(j, w));
	if (j->omitted) {
		char note[128];

		snprintf(note, sizeof(note), "%llu more failing points not listed (at most %d are)\n",
			 (unsigned long long)j->omitted, ICK_JUNIT_MAX_FAILURES);
		W(xmlTextWriterWriteElement(w, BAD_CAST "system-out", BAD_CAST note));
	}
	return 0;
}

static int write_doc(struct ick_junit *j, xmlTextWriterPtr w, double seconds)
{
	char host[256], secs[32];
	char *chost;
	int rc = -1;

	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = 0;
	if (!(chost = clean(host)))
		return -1;
	snprintf(secs, sizeof(secs), "%.3f", seconds);
	if (xmlTextWriterSetIndent(w, 1) >= 0 &&
	    xmlTextWriterSetIndentString(w, BAD_CAST "\t") >= 0 &&
	    xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL) >= 0 &&
	    !write_suite(j, w, secs, chost) && !write_case(j, w, secs) &&
	    xmlTextWriterEndDocument(w) >= 0 && xmlTextWriterFlush(w) >= 0)
		rc = 0;
	free(chost);
	return rc;
}
#undef W

int ick_junit_finish(struct ick_junit *j, double seconds)
{
	xmlOutputBufferPtr buf = NULL;
	xmlTextWriterPtr w = NULL;
	int rc = -1, e = ENOMEM;

	if (!j->oom && (buf = xmlOutputBufferCreateFile(j->out, NULL)) &&
	    (w = xmlNewTextWriter(buf))) {
		rc = write_doc(j, w, seconds);
		e = EIO;
	}
	if (w)
		xmlFreeTextWriter(w);   /* and its buffer; the FILE stays ours */
	else if (buf)
		xmlOutputBufferClose(buf);
	errno = 0;
	if (fflush(j->out) || ferror(j->out)) {
		rc = -1;
		e = errno ? errno : EIO;
	}
	if (fclose(j->out)) {
		e = errno;
		rc = -1;
	}
	if (rc)
		errno = e;
	for (size_t i = 0; i < j->nprops; i++) {
		free(j->pname[i]);
		free(j->pvalue[i]);
	}
	for (size_t i = 0; i < j->nf; i++) {
		free(j->f[i].message);
		free(j->f[i].text);
	}
	free(j->f);
	free(j->error);
	free(j->skipped);
	free(j->path);
	free(j->log);
	free(j);
	return rc;
}
