/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iomapck.h - the public umbrella: include this to use the library.
 * Handles: struct ick_image (image.h), struct ick_report (report.h), the check table
 * (check.h).  Every function returns errcode_t; com_err's error_message() names it once
 * et_ick_error_table and et_ext2_error_table are added.
 */
#ifndef IOMAPCK_H
#define IOMAPCK_H

#include "ick_err.h"
#include "image.h"
#include "report.h"
#include "walk.h"
#include "memo.h"
#include "check.h"
#include "overlay.h"
#include "journal.h"
#include "view.h"

#endif
