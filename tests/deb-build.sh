#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build the Debian package from the dist tarball (as a user of it would: nothing of the
# developer's tree leaks in), run lintian on it (errors fail, warnings are printed), leave
# iomapck_*.deb in OUTDIR.  Run by .ci/run after `make distcheck`.
#   tests/deb-build.sh TARBALL OUTDIR
# DEB_BUILD_OPTIONS is passed on (.ci/run sets nocheck: it has run every test already).
set -euo pipefail
tarball=$(readlink -f "$1") out=$(readlink -f "$2")
for tool in dpkg-buildpackage dh lintian; do
	command -v $tool >/dev/null || { echo "SKIP: deb-build: no $tool (apt-get install devscripts debhelper lintian)"; exit 77; }
done
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
tar -C "$t" -xzf "$tarball"
src=$(echo "$t"/iomapck-*/)
(cd "$src" && dpkg-buildpackage -us -uc -b >"$t/build.log" 2>&1) ||
	{ tail -40 "$t/build.log"; echo "FAIL: dpkg-buildpackage"; exit 1; }
deb=$(echo "$t"/iomapck_*.deb)
[ -f "$deb" ] || { echo "FAIL: no iomapck_*.deb"; exit 1; }
# errors fail; every other tag is listed
lintian --tag-display-limit 0 "$t"/iomapck_*.changes >"$t/lintian.out" 2>&1 || true
grep -E '^[EW]: ' "$t/lintian.out" | sort -u || true
if grep -q '^E: ' "$t/lintian.out"; then echo "FAIL: lintian errors"; exit 1; fi
dpkg-deb -c "$deb" >"$t/contents"
grep -q ' \./usr/sbin/e2fsck-ext$' "$t/contents" || { echo "FAIL: no /usr/sbin/e2fsck-ext"; exit 1; }
for l in e2fsck fsck.ext2 fsck.ext3 fsck.ext4; do
	grep -q " \./usr/libexec/iomapck/shim/$l -> " "$t/contents" ||
		{ echo "FAIL: no shim link $l"; exit 1; }
done
mkdir -p "$out" && cp "$deb" "$out"/ && cp "$t/lintian.out" "$out"/lintian.txt
echo "PASS: deb-build: $(basename "$deb") ($(grep -c '^W: ' "$t/lintian.out" || true) lintian warnings)"
