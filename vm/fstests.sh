# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# fstests.sh - "iomapck-vm fstests TESTS...", sourced by iomapck-vm after build_cache
# (KDIR, KV, CACHE, DATADIR, REPLAY, OUT and the helpers say/die/skip/now/elapsed there).
#
# A Debian 12 root made offline with mmdebstrap holds fstests built from a source tarball
# (or --fstests DIR) twice: /opt/fstests as it is, /opt/fstests-iomapck with
# contrib/fstests/*.patch applied; our tools; the kernel's modules.  It boots from a small
# busybox initramfs (modules for virtio and ext4, then switch_root) and runs each test
# once each way on ext4 with TEST/SCRATCH/LOGWRITES devices as virtio disks.
#
# Cache (next to the kernel's):
#   fstests-root-KEY.tar      the mmdebstrap tarball with fstests built in /opt/fstests;
#                             KEY covers FST_REV, the package list, the build hook, the
#                             fstests source (sha256) and the apt sources used
#   modules-KV/lib/modules/KV the Debian kernel's whole module tree (dm-thin-pool etc.)
#   fstests-image-KEY.img     the ext4 root disk (mke2fs -d; the VM sees it snapshot=on);
#                             KEY covers the root, the kernel, our tools, the patches and
#                             fstests-guest.sh; a new one replaces the old
#   fstests-initramfs-KV-KEY.cpio.gz
FST_REV=1
FST_PKGS="bash,mount,xfsprogs,e2fsprogs,util-linux,dmsetup,acl,attr,bc,gawk,psmisc,procps,kmod,\
file,hostname,libaio1,liburing2,libgdbm6,libcap2-bin,libjson-c5,libxml2,xfslibs-dev,uuid-dev,\
uuid-runtime,libtool-bin,libacl1-dev,libaio-dev,libgdbm-dev,libcap-dev,liburing-dev,make,gcc,\
libc6-dev,autoconf,automake,pkg-config,quota,xz-utils"
FST_TEST_MB=1024 FST_SCRATCH_MB=1024 FST_LOG_MB=4096 FST_OUT_MB=2048 FST_ROOT_MB=4096

# the fstests source: --fstests (a tree or a tarball), $IOMAPCK_FSTESTS, else the
# tarball in ../shared/fstests/ next to the project (or its build tree)
fst_source() {
	local c
	FST_SRC=${FSTESTS_SRC:-${IOMAPCK_FSTESTS:-}}
	if [ -z "$FST_SRC" ]; then
		for c in "$SCRIPT_DIR"/../../shared/fstests/fstests-*.tar.gz \
			"$SCRIPT_DIR"/../shared/fstests/fstests-*.tar.gz \
			"$PWD"/../shared/fstests/fstests-*.tar.gz; do
			[ -f "$c" ] && FST_SRC=$c
		done
	fi
	[ -n "$FST_SRC" ] ||
		skip "no fstests source: no ../shared/fstests/fstests-*.tar.gz; give --fstests DIR (an fstests tree)"
	if [ -d "$FST_SRC" ]; then
		[ -f "$FST_SRC/check" ] && [ -f "$FST_SRC/common/dmlogwrites" ] ||
			die "--fstests $FST_SRC: not an fstests tree (no check or common/dmlogwrites)"
	else
		[ -f "$FST_SRC" ] || die "--fstests $FST_SRC: no such tree or tarball"
		# no early exit (grep -q): tar cut off by SIGPIPE fails the pipeline under pipefail
		[ "$(tar -tzf "$FST_SRC" 2>/dev/null | grep -c '^[^/]*/common/dmlogwrites$')" -gt 0 ] ||
			die "--fstests $FST_SRC: not an fstests tarball (no TOP/common/dmlogwrites)"
	fi
}

# the apt sources the host uses (so mmdebstrap reads the configured mirror)
fst_mirrors() {
	local f
	FST_MIRRORS=()
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && grep -qv '^[[:space:]]*\(#\|$\)' "$f" && FST_MIRRORS+=("$f")
	done
	return 0
}

fst_hook() {	# the customize hook: $1 root; FST_TGZ the source tarball (one top directory)
	cat <<'EOF'
#!/bin/sh
set -e
mkdir -p "$1/opt/fstests"
tar -xzf "$FST_TGZ" -C "$1/opt/fstests" --strip-components=1
chroot "$1" sh -c 'cd /opt/fstests && make -j2 >/tmp/fstests-build.log 2>&1' ||
	{ tail -n 40 "$1/tmp/fstests-build.log"; exit 1; }
test -x "$1/opt/fstests/src/log-writes/replay-log" && test -x "$1/opt/fstests/ltp/fsx"
EOF
}

fst_root() {	# -> FST_ROOT (the tarball), FST_ROOT_KEY
	local tmp key srchash t0
	command -v mmdebstrap >/dev/null || skip "mmdebstrap not installed (apt-get install mmdebstrap)"
	[ "$(id -u)" = 0 ] ||
		skip "fstests needs root (mmdebstrap's root mode, mke2fs -d of a root-owned tree)"
	fst_mirrors
	tmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
	if [ -d "$FST_SRC" ]; then
		tar -C "$(dirname "$FST_SRC")" --exclude=.git -czf "$tmp/src.tgz" "$(basename "$FST_SRC")" ||
			die "cannot pack $FST_SRC"
	else
		cp "$FST_SRC" "$tmp/src.tgz"
	fi
	srchash=$( { [ -d "$FST_SRC" ] && tar -C "$FST_SRC" --exclude=.git --sort=name \
		--mtime=@0 --owner=0 --group=0 -cf - . || cat "$FST_SRC"; } | sha256sum | cut -c1-16)
	key=$( { echo "rev $FST_REV"; echo "$FST_PKGS"; fst_hook; echo "$srchash";
		cat "${FST_MIRRORS[@]}" 2>/dev/null; } | sha256sum | cut -c1-16)
	FST_ROOT_KEY=$key
	FST_ROOT=$CACHE/fstests-root-$key.tar
	if [ -f "$FST_ROOT" ]; then rm -rf "$tmp"; return 0; fi
	say "building $FST_ROOT (mmdebstrap bookworm + fstests build, about 2-3 min)"
	t0=$(now)
	fst_hook >"$tmp/hook.sh"
	chmod +x "$tmp/hook.sh"
	FST_TGZ=$tmp/src.tgz mmdebstrap --variant=apt --include="$FST_PKGS" \
		--customize-hook="$tmp/hook.sh \"\$1\"" bookworm "$tmp/root.tar" "${FST_MIRRORS[@]}" \
		>"$tmp/mmdebstrap.log" 2>&1 ||
		{ tail -n 30 "$tmp/mmdebstrap.log" >&2; rm -rf "$tmp"
		  skip "mmdebstrap failed (no mirror reachable?); its log's tail is above"; }
	rm -f "$CACHE"/fstests-root-*.tar	# one root at a time (about 500 MB)
	mv "$tmp/root.tar" "$FST_ROOT"
	rm -rf "$tmp"
	say "root ready in $(elapsed "$t0") s"
}

fst_modtree() {	# -> FST_MODTREE: a lib/modules/KV tree for the guest, or ''
	local tmp pkg
	FST_MODTREE=
	if [ -n "$KERNEL" ]; then
		[ -z "$MODULES" ] || FST_MODTREE=$(cd "$MODULES" && pwd)
		return 0
	fi
	FST_MODTREE=$CACHE/modules-$KV/lib/modules/$KV
	[ -f "$FST_MODTREE/modules.dep" ] && return 0
	pkg=linux-image-$KV
	say "fetching $pkg for its modules"
	tmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
	(cd "$tmp" && apt-get download "$pkg" >/dev/null 2>"$tmp/apt.err") ||
		{ cat "$tmp/apt.err" >&2; rm -rf "$tmp"; skip "apt-get download $pkg failed"; }
	dpkg-deb -x "$tmp"/*.deb "$tmp/tree" || die "dpkg-deb -x $pkg"
	rm -rf "$CACHE/modules-$KV"
	mkdir -p "$CACHE/modules-$KV/lib/modules"
	mv "$tmp/tree/lib/modules/$KV" "$CACHE/modules-$KV/lib/modules/$KV" || die "no modules in $pkg"
	depmod -b "$CACHE/modules-$KV" "$KV" || die "depmod $KV"
	rm -rf "$tmp"
}

fst_tools() {	# our tools for the guest: FST_E2FSCK (may be empty)
	FST_E2FSCK=
	if [ -x "$(dirname "$REPLAY")/../e2fsck-ext/e2fsck-ext" ]; then
		FST_E2FSCK=$(cd "$(dirname "$REPLAY")/../e2fsck-ext" && pwd)/e2fsck-ext
	else
		FST_E2FSCK=$(command -v e2fsck-ext || true)
	fi
}

fst_patches() { ls "$FST_PATCHDIR"/*.patch 2>/dev/null; }

fst_image() {	# -> FST_IMG
	local key tree p t0 modkv
	# shellcheck disable=SC2046	# the patches' names have no spaces
	key=$( { echo "$FST_ROOT_KEY"; cat "$KDIR/kv"; sha256sum <"$KDIR/kernel";
		[ -z "$FST_MODTREE" ] || ls -lR "$FST_MODTREE";
		sha256sum <"$REPLAY"; [ -z "$FST_E2FSCK" ] || sha256sum <"$FST_E2FSCK";
		cat $(fst_patches) "$DATADIR/fstests-guest.sh"; } | sha256sum | cut -c1-16)
	FST_IMG=$CACHE/fstests-image-$key.img
	[ -f "$FST_IMG" ] && return 0
	say "building $FST_IMG"
	t0=$(now)
	rm -f "$CACHE"/fstests-image-*.img
	tree=$(mktemp -d "$CACHE/tmp.XXXXXX")
	tar -xf "$FST_ROOT" -C "$tree" --numeric-owner || die "cannot unpack $FST_ROOT"
	cp -a "$tree/opt/fstests" "$tree/opt/fstests-iomapck"
	for p in $(fst_patches); do
		patch -s -d "$tree/opt/fstests-iomapck" -p1 <"$p" >"$tree/patch.out" 2>&1 ||
			{ cat "$tree/patch.out" >&2; rm -rf "$tree"; die "${p##*/} does not apply to this fstests"; }
	done
	rm -f "$tree/patch.out"
	mkdir -p "$tree/usr/local/bin" "$tree/usr/local/sbin"
	copy_with_libs "$tree" "$REPLAY" usr/local/bin/iomapck-replay
	[ -z "$FST_E2FSCK" ] || copy_with_libs "$tree" "$FST_E2FSCK" usr/local/bin/e2fsck-ext
	install -m 755 "$DATADIR/fstests-guest.sh" "$tree/usr/local/sbin/iomapck-fstests"
	if [ -n "$FST_MODTREE" ]; then
		modkv=$(basename "$FST_MODTREE")
		mkdir -p "$tree/lib/modules"
		cp -a "$FST_MODTREE" "$tree/lib/modules/$modkv"
		depmod -b "$tree" "$modkv" 2>/dev/null || true
	fi
	mke2fs -q -F -t ext4 -L iomapck-root -d "$tree" "$FST_IMG.tmp" ${FST_ROOT_MB}M ||
		{ rm -rf "$tree" "$FST_IMG.tmp"; die "mke2fs -d of the root failed"; }
	rm -rf "$tree"
	mv "$FST_IMG.tmp" "$FST_IMG"
	say "root disk ready in $(elapsed "$t0") s"
}

fst_initramfs() {	# -> FST_INITRD: busybox, the boot modules, mount vda, switch_root
	local key root app
	key=$( { echo "fstests rev $FST_REV"; cat "$KDIR/load.list"; fst_init; } | sha256sum | cut -c1-16)
	FST_INITRD=$CACHE/fstests-initramfs-$(cat "$KDIR/kv")-$key.cpio.gz
	[ -f "$FST_INITRD" ] && return 0
	root=$(mktemp -d "$CACHE/tmp.XXXXXX")
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,newroot,lib/modules}
	cp "$(command -v busybox)" "$root/bin/busybox"
	for app in $(busybox --list); do [ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"; done
	cp "$KDIR"/modules/*.ko "$root/lib/modules/" 2>/dev/null || true
	cp "$KDIR/load.list" "$root/lib/modules/load.list"
	fst_init >"$root/init"
	chmod 755 "$root/init"
	(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$FST_INITRD.tmp" ||
		die "cpio failed"
	mv "$FST_INITRD.tmp" "$FST_INITRD"
	rm -rf "$root"
}

fst_init() {
	cat <<'EOF'
#!/bin/busybox sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r ko; do [ -n "$ko" ] && insmod "$ko" 2>/dev/null; done </lib/modules/load.list
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 /dev/vda /newroot || { echo "@@ FAIL cannot mount the root disk"; poweroff -f; }
[ -x /newroot/usr/local/sbin/iomapck-fstests ] || { echo "@@ FAIL no iomapck-fstests"; poweroff -f; }
mount --move /dev /newroot/dev
umount /proc /sys
exec switch_root /newroot /usr/local/sbin/iomapck-fstests
EOF
}

# one VM: FST_DISKS (name:MB or name=FILE), the config text -> console in $1
fst_boot() {
	local console=$1 conf=$2 timeout=$3 d name spec drives rc
	drives="-drive file=$FST_IMG,if=none,id=root,format=raw,snapshot=on -device virtio-blk-pci,drive=root"
	for d in $FST_DISKS; do
		name=${d%%[:=]*} spec=${d#*[:=]}
		case $d in
		*:*) rm -f "$OUT/$name.img"; truncate -s "${spec}M" "$OUT/$name.img"; spec=$OUT/$name.img ;;
		*) spec="$spec,snapshot=on" ;;	# an input: never written
		esac
		drives+=" -drive file=$spec,if=none,id=$name,format=raw,cache=unsafe,discard=unmap"
		drives+=" -device virtio-blk-pci,drive=$name"
	done
	# the out disk starts as the configuration: "iomapck-fstests-conf\n" + shell text
	{ echo "# iomapck-fstests-conf"; printf '%s\n' "$conf"; } | dd of="$OUT/out.img" conv=notrunc status=none
	rc=0
	# shellcheck disable=SC2086
	timeout -k 5 "$timeout" qemu-system-x86_64 $ACCEL_ARGS -smp 2 -m 2048 -nodefaults \
		-no-user-config -display none -serial stdio -monitor none -no-reboot \
		-kernel "$KDIR/kernel" -initrd "$FST_INITRD" $drives \
		-append "console=ttyS0 panic=-1 loglevel=4" </dev/null >"$console" 2>&1 || rc=$?
	[ "$VERBOSE" -lt 2 ] || cat "$console" >&2
	mkdir -p "$OUT/out"
	tar -xf "$OUT/out.img" -C "$OUT/out" 2>/dev/null || true
	rm -f "$OUT/out.img"
	return $rc
}

fst_conf() {	# the guest's configuration (shell)
	local entry name mkfs mnt
	entry=$(matrix_entry "$FST_CONFIG")
	IFS='|' read -r name mkfs mnt <<<"$entry"
	FST_MKFS=$mkfs FST_MOUNT=$mnt
	printf 'MODE=%q\nTESTS=%q\nWAYS=%q\nMKFS_OPTIONS=%q\nMOUNT_OPTIONS=%q\nMOUNT_OPTS_LOOP=%q\nTEST_TIMEOUT=%q\nLOAD_FACTOR=1\nEXTRA_CONFIG=%q\n' \
		"$1" "$FST_TESTS" "$FST_WAYS" "$mkfs" "${mnt:+-o $mnt}" "${mnt:+-o $mnt}" "$FST_TIMEOUT" \
		"$(for a in "${FST_SET[@]}"; do printf 'export %q\n' "$a"; done)"
}

fst_vm_status() {	# console -> 0, or dies naming what failed
	local console=$1 rc=$2
	if ! tr -d '\r' <"$console" | grep -q '^@@ DONE'; then
		say "VM failed (qemu rc $rc): $(tr -d '\r' <"$console" | grep -m1 '^@@ FAIL' ||
			tr -d '\r' <"$console" | grep -v '^@@ kmsg' | tail -n 1)"
		die "see $console"
	fi
	KWARN=$(kernel_log "$console" "$OUT/dmesg.txt")
}

fstests_main() {
	local conf rc t0 test way v s up us ok=1 line ratio status=$EXIT_CLEAN
	FST_PATCHDIR=${FST_PATCHDIR:-}
	if [ -z "$FST_PATCHDIR" ]; then
		for FST_PATCHDIR in "$DATADIR/../contrib/fstests" "$DATADIR/fstests-patches"; do
			[ -n "$(fst_patches)" ] && break
		done
	fi
	[ -n "$(fst_patches)" ] || die "no contrib/fstests/*.patch next to $DATADIR"
	find_replay
	fst_source
	fst_root
	fst_modtree
	fst_tools
	fst_image
	fst_initramfs
	pick_accel
	[ -n "$OUT" ] || OUT=$(mktemp -d "${TMPDIR:-/tmp}/iomapck-fstests.XXXXXX")
	mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || die "cannot create $OUT"
	rm -rf "$OUT/out"
	t0=$(now)
	if [ -n "$FST_LOOP_LOG" ]; then
		FST_TESTS=- FST_WAYS=-
		conf=$(fst_conf replay-loop)
		FST_DISKS="log=$FST_LOOP_LOG replay:$FST_SCRATCH_MB unused:1 out:$FST_OUT_MB"
		say "replay-loop $FST_LOOP_LOG: kernel $KV, accel $ACCEL_USED, out $OUT"
		rc=0
		fst_boot "$OUT/console.txt" "$conf" "$FST_TIMEOUT" || rc=$?
		fst_vm_status "$OUT/console.txt" $rc
		rm -f "$OUT/replay.img" "$OUT/unused.img"
		tr -d '\r' <"$OUT/console.txt" | grep '^@@ LOOP' | sed 's/^@@ LOOP /replay-loop: /'
		say "done in $(elapsed "$t0") s; $OUT/out/replay-loop*.txt"
		up=$(tr -d '\r' <"$OUT/console.txt" | awk '$2 == "LOOP" && $3 == "upstream" { print $4 }')
		us=$(tr -d '\r' <"$OUT/console.txt" | awk '$2 == "LOOP" && $3 == "iomapck" { print $4 }')
		[ -n "$up" ] && [ -n "$us" ] || die "no LOOP lines in $OUT/console.txt"
		if [ "$up" = "$us" ]; then echo "replay-loop: same first failing entry: $up"
		else echo "replay-loop: first failing entry differs: upstream $up, iomapck $us"; exit $EXIT_FOUND; fi
		[ -z "$KWARN" ] || { say "the kernel warned: $KWARN"; exit $EXIT_FOUND; }
		exit $EXIT_CLEAN
	fi
	conf=$(fst_conf run)
	# vdb TEST_DEV, vdc SCRATCH_DEV, vdd LOGWRITES_DEV (kept: the last test's log), vde out
	FST_DISKS="test:$FST_TEST_MB scratch:$FST_SCRATCH_MB logwrites:$FST_LOG_MB out:$FST_OUT_MB"
	say "fstests ${FST_TESTS} config $FST_CONFIG (mkfs [${FST_MKFS:-}] mount [${FST_MOUNT:-}])," \
		"ways $FST_WAYS: kernel $KV, accel $ACCEL_USED, out $OUT"
	rc=0
	# every test each way, plus the boot
	fst_boot "$OUT/console.txt" "$conf" \
		$(( FST_TIMEOUT * $(wc -w <<<"$FST_TESTS") * $(wc -w <<<"$FST_WAYS") + 300 )) || rc=$?
	fst_vm_status "$OUT/console.txt" $rc
	rm -f "$OUT/test.img" "$OUT/scratch.img"
	tr -d '\r' <"$OUT/console.txt" | awk '$2 == "RESULT" { print $3, $4, $5, $6 }' >"$OUT/results.tsv"
	printf '%-12s %-14s %-18s %-18s %s\n' test config upstream iomapck ratio | tee "$OUT/results.txt"
	for test in $FST_TESTS; do
		line=$(printf '%-12s %-14s' "$test" "$FST_CONFIG")
		v=() s=()
		for way in upstream iomapck; do
			vv='' ss=''
			read -r vv ss < <(awk -v w=$way -v t="$test" '$1 == w && $2 == t { print $3, $4 }' "$OUT/results.tsv") || true
			v+=("${vv:--}") s+=("${ss:--}")
			line+=$(printf ' %-18s' "${vv:--} ${ss:--} s")
		done
		ratio=$(awk -v a="${s[0]}" -v b="${s[1]}" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.1f", a / b; else print "-" }')
		echo "$line $ratio" | tee -a "$OUT/results.txt"
		case "$FST_WAYS" in
		*upstream*iomapck*|*iomapck*upstream*) [ "${v[0]}" = "${v[1]}" ] || ok=0 ;;
		esac
		for vv in "${v[@]}"; do case $vv in pass|-) ;; *) ok=0 ;; esac; done
	done
	[ -z "$KWARN" ] || { say "the kernel warned: $(head -n 3 <<<"$KWARN" | paste -sd'|')"; ok=0; }
	say "done in $(elapsed "$t0") s: $OUT/results.txt, each way's check output and results in $OUT/out/, the last test's log $OUT/logwrites.img"
	[ $ok = 1 ] || status=$EXIT_FOUND
	exit $status
}
