#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Install the .deb into a clean Debian 12 root made by mmdebstrap from the configured
# mirror and run it there (chroot): e2fsck-ext -E iomapcheck,iomap_only -n on an image
# made inside, iomapck-replay --help, and each man page through man.
#   tests/deb-chroot.sh IOMAPCK.DEB
# Exit 77 (SKIP, with the reason) where it cannot run: not root, no mmdebstrap, no mirror.
set -euo pipefail
deb=$(readlink -f "$1")
skip() { echo "SKIP: deb-chroot: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (chroot)"
command -v mmdebstrap >/dev/null || skip "no mmdebstrap (apt-get install mmdebstrap)"
[ -f "$deb" ] || { echo "FAIL: no $1"; exit 1; }
# the mirror apt is configured with here (one-line or deb822 sources)
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
	sed -n -e 's/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*\) .*/\2/p' -e 's/^URIs: *\(http[^ ]*\).*/\1/p' |
	grep -v security | head -1 || true)
[ -n "$mirror" ] || skip "no Debian mirror in the apt sources"
t=$(mktemp -d); trap 'umount -l "$t/root/proc" 2>/dev/null || true; rm -rf "$t"' EXIT
mmdebstrap --variant=apt --include=man-db,e2fsprogs --skip=check/signed-by --skip=cleanup/apt/lists \
	bookworm "$t/root" "deb $mirror bookworm main" >"$t/mmdebstrap.log" 2>&1 ||
	{ tail -20 "$t/mmdebstrap.log"; skip "mmdebstrap could not make a bookworm root from $mirror"; }
cp "$deb" "$t/root/tmp/"
chroot "$t/root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "/tmp/${deb##*/}" \
	>"$t/install.log" 2>&1 || { tail -20 "$t/install.log"; echo "FAIL: apt-get install of the .deb"; exit 1; }
mount -t proc proc "$t/root/proc"
run() { chroot "$t/root" env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
run mkfs.ext4 -q -F /tmp/demo.img 16M
run debugfs-ext -w -R "iomap_write --create --sync /demo 1000 100K" /tmp/demo.img >/dev/null
run e2fsck-ext -E iomapcheck,iomap_only -n /tmp/demo.img
run iomapck-replay --help >"$t/help" && grep -q '^Usage: iomapck-replay' "$t/help" ||
	{ echo "FAIL: iomapck-replay --help"; exit 1; }
# the shim: a plain `e2fsck -E iomapcheck` with its directory first on PATH
chroot "$t/root" env PATH=/usr/libexec/iomapck/shim:/usr/sbin:/usr/bin \
	e2fsck -E iomapcheck,iomap_only -n /tmp/demo.img | grep -q iomapck ||
	{ echo "FAIL: the shim did not run iomapck"; exit 1; }
for p in e2fsck-ext debugfs-ext iomapck-replay iomapck-vm; do
	run man -P cat "$p" 2>/dev/null | grep -q '^SYNOPSIS' || { echo "FAIL: man $p"; exit 1; }
done
echo "PASS: deb-chroot: ${deb##*/} installed into a clean bookworm root and run there"
