/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * memo.h - what the checks of one state can reuse from the checks of earlier states (a
 * crash sweep's memo): its block maps (memo_map.h, with the memo's life cycle) and its
 * checksum verdicts (memo_verdict.h).  Code that needs only the verdicts includes
 * memo_verdict.h, which does not bring in the walk.
 */
#ifndef ICK_MEMO_H
#define ICK_MEMO_H
#include "memo_map.h"
#include "memo_verdict.h"

#endif
