# SPDX-License-Identifier: GPL-2.0-only
# tests/cases/log-lib.sh - helpers of the log-sweep cases (tests/cases/l_*, sourced after
# tests/lib.sh): sessions recorded by our writer (debugfs-ext -L) onto poisoned images, swept
# by iomapck-replay.  A case runs in its own empty directory with relative paths; every
# sweep's output goes to ./got (lg_rp), which case_expect compares with the case's golden
# ./expect (UPDATE_EXPECT=1 writes it instead).  Exit codes are checked where the sweep runs.
DX=${DEBUGFS_EXT:-$top_builddir/debugfs-ext/debugfs-ext}
RP=${IOMAPCK_REPLAY:-$top_builddir/logreplay/iomapck-replay}
[ -x "$DX" ] && [ -x "$RP" ] || fail "debugfs-ext or iomapck-replay not built"
POISON=5aa5
: >got

# lg_record NAME MKFS-OPTS REQUEST...: base image NAME.base (poisoned), log NAME.log, result
# NAME.img, the session's output NAME.out; returns the session's exit code.
lg_record() {
	local name=$1 opts=$2; shift 2
	# shellcheck disable=SC2086
	mkimg "$name.img" 16M $opts
	printf '%s\n' "iomap_poison $POISON" | "$DX" -w -f - "$name.img" >/dev/null 2>&1 || fail "$name: poison"
	cp "$name.img" "$name.base"
	printf '%s\n' "$@" | "$DX" -w -L "$name.log" -f - "$name.img" >"$name.out" 2>&1
}

# lg_bug BUG: the session bug-BUG: a file, then a write with the bug toggle BUG, on a 4 KiB
# image with user and group quota (the session's exit code is not judged: a failing write
# is part of leak_on_fail).
lg_bug() {
	local first="iomap_write --create --uid 1000 --sync /f 100000 10" second
	case $1 in
	written_alloc) second="iomap_write --mode nonda --bug written_alloc --sync /f 8192 8192" ;;
	convert_early) second="iomap_write --mode da --bug convert_early --sync /f 8192 8192" ;;
	no_quota) first="iomap_write --create --uid 1000 /f 0 1"
		second="iomap_write --bug no_quota --sync /f 8192 16384" ;;
	leak_on_fail) first="iomap_write --create --uid 1000 --sync /f 0 1"
		second="iomap_write --mode nonda --bug leak_on_fail --fail ENOSPC /f 8192 16384" ;;
	*) fail "no bug session $1" ;;
	esac
	lg_record "bug-$1" "-b 4096 -O quota -E quotatype=usrquota:grpquota" "$first" "$second"
}

# lg_session NAME: records one of the shared sessions:
#   da, nonda: both modes, with and without --sync, a short write, a seeded pattern;
#   k1: 1 KiB blocks with quota, a fallocate --keep-size past the end;
#   man: 50000 bytes from ./src (lg_src) fsync'ed, then marks m1 and m2 around a write;
#   frag: a file with an extent tree block (13 extents), then holes filled: at each
#     conversion the tree block changes while the inode does not;
#   noflush: the da log with its I/O-end commit made FUA without FLUSH (as a missing
#     preflush would leave it), da.base its base.
lg_session() {
	local mode=$1 req k
	case $1 in
	da|nonda) lg_record "$1" "-b 4096" "iomap_write --mode $mode --create --uid 1000 /f 1000 50000" \
		"iomap_write --mode $mode --sync /f 200000 30000" \
		"iomap_write --mode $mode --short 5000 /f 300000 20000" \
		"iomap_write --mode $mode --seed 3 /f 2000 3000" ;;
	k1) lg_record k1 "-b 1024 -O quota,^64bit" "iomap_write --create --uid 7 --gid 8 --sync /f 0 200K" \
		"iomap_write --mode nonda --sync /f 100K 300K" "iomap_fallocate --keep-size /f 1M 100K" \
		"iomap_write /f 1M 50K" ;;
	man) lg_src && lg_record man "-b 4096" "iomap_write --create --sync /f 0 50000 $PWD/src" \
		"log_mark m1" "iomap_write /f 1000 10" "log_mark m2" ;;
	frag) req="iomap_write --create --uid 1000 --mode nonda --sync /f 0 4096"
		for k in 1 2 3 4 5 6 7 8 9 10 11 12; do
			req="$req|iomap_write --mode nonda --sync /f $((k * 8192)) 4096"
		done
		for k in 1 5 9; do
			req="$req|iomap_write --mode nonda --sync /f $((k * 4096)) 4096"
		done
		IFS='|' read -r -a reqs <<<"$req"
		lg_record frag "-b 4096" "${reqs[@]}" ;;
	noflush) [ -f da.log ] || lg_session da
		lg_noflush da.log noflush.log ;;
	*) fail "no session $1" ;;
	esac || { cat "$1.out"; fail "$1 session"; }
}

# lg_noflush IN OUT: OUT is IN with the first FLUSH|FUA write after the mark "after_data"
# turned into a FUA-only write.
lg_noflush() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
ss = struct.unpack_from("<I", d, 24)[0]
n = struct.unpack_from("<Q", d, 16)[0]
pos, after_data, done = ss, False, False
for i in range(n):
    sector, nr, flags, dlen = struct.unpack_from("<QQQQ", d, pos)
    if flags & 8 and d[pos + 32:pos + 32 + dlen] == b"after_data":
        after_data = True
    elif after_data and flags & 2 and not done:
        struct.pack_into("<Q", d, pos + 16, flags & ~1)   # FUA without FLUSH
        done = True
    pos += ss + (0 if flags & 0xc else nr * ss)
assert done
open(sys.argv[2], "wb").write(d)
PY
}

# lg_src: ./src, 50000 bytes of a fixed pseudo-random pattern (the same in every run, so
# the manifest's hashes in expect are too); LG_HASH its FNV-1a 64-bit hash in hex.
lg_src() {
	# shellcheck disable=SC2034 # the cases use it
	LG_HASH=$(python3 - src <<'PY'
import sys
x, d = 12345, bytearray()
for i in range(50000):
    x = (x * 1103515245 + 12345) & 0x7fffffff
    d.append(x >> 16 & 255)
open(sys.argv[1], "wb").write(d)
h = 0xcbf29ce484222325
for b in d:
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)
PY
	)
}

# lg_norm: stdin to stdout without what varies between machines and runs: the e2fsck
# used, the case's directory.
lg_norm() {
	sed "s|$E2FSCK|e2fsck|g; s|$PWD/|./|g"
}

# lg_rp WANT ARGS...: iomapck-replay ARGS, its output in ./o and, after the command line,
# in ./got with its exit code; fails unless it exits WANT ("-" takes any exit code).
# LG_RC is the exit code.
lg_rp() {
	local want=$1; shift
	"$RP" "$@" >o 2>&1
	LG_RC=$?
	{ echo "\$ iomapck-replay $*"; cat o; echo "(exit $LG_RC)"; } | lg_norm >>got
	[ "$want" = - ] || [ "$LG_RC" = "$want" ] || { cat o; fail "exit $LG_RC, not $want: iomapck-replay $*"; }
}

# lg_summary FILE: FILE's summary line ("LOG: N entries, N crash points, ...").
lg_summary() {
	grep ': [0-9]* entries, [0-9]* crash points' "$1"
}

# case_expect: ./got is the case's golden expect.
