/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * report_json.c - renders a report as JSON through json-c:
 * {"image":…,"findings":[{"check","code","severity","ino","lblk","pblk","len","expected",
 *  "found","message","detail"}],"summary":{"errors","warnings","info","dropped","exit"}}.
 * Absent numbers are null.  The strings that come from outside (the image's name, the
 * note, a finding's detail, which may hold paths and mark names) are written by the rule
 * of untrusted.h, so the document is valid UTF-8.  Reads the report only.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json.h>
#include "report.h"
#include "untrusted.h"

static json_object *num_or_null(uint64_t v)
{
	return v == ICK_NONE ? NULL : json_object_new_uint64(v);
}

/* @s (NULL: null) by the rule of untrusted.h */
static json_object *untrusted_string(const char *s)
{
	char *c;
	json_object *o;

	if (!s || !(c = ick_untrusted_clean(s, strlen(s))))
		return NULL;
	o = json_object_new_string(c);
	free(c);
	return o;
}

static json_object *finding_json(const struct ick_finding *f)
{
	const struct ick_pr_info *pi = ick_pr_lookup(f->code);
	json_object *o = json_object_new_object();
	char code[16];

	snprintf(code, sizeof(code), "0x%04x", f->code);
	json_object_object_add(o, "check", json_object_new_string(ick_check_name(pi->check)));
	json_object_object_add(o, "code", json_object_new_string(code));
	json_object_object_add(o, "name", json_object_new_string(pi->name));
	json_object_object_add(o, "severity",
			       json_object_new_string(ick_severity_name(pi->severity)));
	json_object_object_add(o, "ino", f->ino ? json_object_new_uint64(f->ino) : NULL);
	json_object_object_add(o, "lblk", num_or_null(f->lblk));
	json_object_object_add(o, "pblk", num_or_null(f->pblk));
	json_object_object_add(o, "len", num_or_null(f->len));
	json_object_object_add(o, "expected", num_or_null(f->expected));
	json_object_object_add(o, "found", num_or_null(f->found));
	json_object_object_add(o, "message", json_object_new_string(pi->text));
	json_object_object_add(o, "detail", untrusted_string(f->detail));
	return o;
}

json_object *ick_report_json(const struct ick_report *rep)
{
	json_object *root = json_object_new_object();
	json_object *arr = json_object_new_array();
	json_object *sum = json_object_new_object();

	if (!root || !arr || !sum) {
		json_object_put(root);
		json_object_put(arr);
		json_object_put(sum);
		return NULL;
	}
	json_object_object_add(root, "image", untrusted_string(rep->image));
	if (rep->note)
		json_object_object_add(root, "note", untrusted_string(rep->note));
	for (size_t i = 0; i < rep->nr; i++)
		json_object_array_add(arr, finding_json(&rep->f[i]));
	json_object_object_add(root, "findings", arr);
	json_object_object_add(sum, "errors", json_object_new_uint64(rep->by_sev[ICK_SEV_ERROR]));
	json_object_object_add(sum, "warnings",
			       json_object_new_uint64(rep->by_sev[ICK_SEV_WARNING]));
	json_object_object_add(sum, "info", json_object_new_uint64(rep->by_sev[ICK_SEV_INFO]));
	json_object_object_add(sum, "dropped", json_object_new_uint64(rep->dropped));
	json_object_object_add(sum, "exit", json_object_new_int(ick_report_exit_bits(rep)));
	json_object_object_add(root, "summary", sum);
	return root;
}

errcode_t ick_report_write_json(const struct ick_report *rep, FILE *out)
{
	json_object *root = ick_report_json(rep);
	errcode_t err = 0;

	if (!root)
		return ENOMEM;
	if (fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
									 JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		err = errno ? errno : EIO;
	json_object_put(root);
	return err;
}
