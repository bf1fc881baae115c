# SPDX-License-Identifier: GPL-2.0-only
# tests/cases/stale-lib.sh - helpers for the c_stale_* cases (sourced after tests/lib.sh).

# poison_blocks HEX BLOCKSIZE N OUT: N blocks, each the pattern repeated from the block's
# start (what a CI tool filling free space block by block writes, and what the check matches).
poison_blocks() {
	python3 - "$@" <<'PY'
import sys
pat, bs, n, out = bytes.fromhex(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
blk = (pat * (bs // len(pat) + 1))[:bs]
open(out, "wb").write(blk * n)
PY
}

# poison_free IMG HEX N: poison N free blocks of IMG as CI does before a workload: a file
# of pattern blocks is written and removed, so the blocks are free again and hold the pattern.
# POISON_START is set to the first of them (they are contiguous on a fresh image).
poison_free() {
	local bs; bs=$("$DEBUGFS" -R stats "$1" 2>/dev/null | awk '/^Block size:/ { print $3 }')
	poison_blocks "$2" "$bs" "$3" poison.bin
	dbg "$1" "write poison.bin poison"
	POISON_START=$(bmap "$1" poison 0)
	[ "$(bmap "$1" poison $(($3 - 1)))" -eq $((POISON_START + $3 - 1)) ] ||
		fail "poisoned blocks are not contiguous"
	dbg "$1" "rm poison"
}

# ick_poison IMG JSON HEX [CHECKS]: our checks only, with iomap_poison=HEX (and
# iomap_checks=CHECKS if given); returns our exit code.
ick_poison() {
	"$E2FSCK_EXT" -E "iomapcheck,iomap_only,iomap_json=$2,iomap_poison=$3${4:+,iomap_checks=$4}" \
		-fn "$1" >"$2.txt" 2>&1
}

# bmap IMG FILE LBLK: the physical block of FILE's logical block LBLK.
bmap() { "$DEBUGFS" -R "bmap $2 $3" "$1" 2>/dev/null | awk '{ print $1 }'; }

# extents IMG FILE: "lblk-lblk pblk-pblk len [Uninit]" one extent a line.
extents() {
	"$DEBUGFS" -R "ex $2" "$1" 2>/dev/null |
		awk 'NR > 1 { print $5 "-" $7, $8 "-" $10, $11, $12 }' | sed 's/ $//'
}
