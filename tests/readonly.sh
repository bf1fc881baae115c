#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Check mode never writes: the image's bytes (and mtime) are unchanged after our checks,
# on a clean image and on a damaged one, with and without JSON output.
. "$top_srcdir/tests/lib.sh"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT; cd "$t" || exit 1
mkimg fs.img 16M -b 4096
head -c 20000 /dev/urandom >data
dbg fs.img "write data f" "freeb 2000 4" "setb 3000 2" "sif f size 10"
chmod a-w fs.img 2>/dev/null
before=$(sha256sum <fs.img); mt=$(stat -c %Y fs.img)
"$E2FSCK_EXT" -E iomapcheck,iomap_only -fn fs.img >/dev/null; rc=$?
[ $rc -eq 4 ] || fail "expected exit 4, got $rc"
"$E2FSCK_EXT" -E iomapcheck,iomap_only,iomap_json=out.json -n fs.img >/dev/null
[ "$(sha256sum <fs.img)" = "$before" ] || fail "image bytes changed"
[ "$(stat -c %Y fs.img)" = "$mt" ] || fail "image mtime changed"
echo "PASS: image unchanged ($before)"
