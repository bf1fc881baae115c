#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# fstests-guest.sh - the guest side of "iomapck-vm fstests": PID 1 of the Debian 12
# root (after the initramfs's switch_root), at /usr/local/sbin/iomapck-fstests.
#
# The root holds fstests built as /opt/fstests (upstream) and /opt/fstests-iomapck (the
# same tree with contrib/fstests/*.patch applied), iomapck-replay and e2fsck-ext in
# /usr/local/bin and the kernel's modules in /lib/modules.  The configuration (shell: MODE,
# TESTS, WAYS, MKFS_OPTIONS, MOUNT_OPTIONS, TEST_TIMEOUT) is the start of the out disk.
#
# Disks (virtio): vda root (the host keeps it unchanged: snapshot=on), then
#   MODE=run:    vdb TEST_DEV, vdc SCRATCH_DEV, vdd LOGWRITES_DEV, vde out
#   MODE=replay-loop: vdb the log to check, vdc the replay target, vde out
# "out" receives a tar of /tmp/out (each way's check output and results/).
# Console lines for the host: "@@ RESULT WAY TEST VERDICT SECONDS", "@@ LOOP ...",
# "@@ DONE" or "@@ FAIL <why>".

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DM_DISABLE_UDEV=1 HOME=/root LANG=C.UTF-8

mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run /tmp
mountpoint -q /dev/pts || mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs -o size=512m tmpfs /tmp
mount -o remount,rw / 2>/dev/null
hostname iomapck-fstests
echo 1 >/proc/sys/kernel/sysrq

say() { echo "@@ [$(cut -d' ' -f1 /proc/uptime)] $*"; }
off() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 60
}
fail() {
	echo "@@ FAIL $*"
	dmesg | tail -n 40 | sed 's/^/@@ dmesg: /'
	off
}
# the whole kernel log for the host's scan (WARNING, BUG, Oops ...)
kmsg() { dmesg | sed 's/^/@@ kmsg: /'; }
save_out() {
	tar -S -cf /dev/vde -C /tmp/out . 2>/dev/null || say "cannot write the out disk"
}

mkdir -p /tmp/out
for d in vdb vdc vdd vde; do
	for i in $(seq 1 50); do [ -b /dev/$d ] && break; sleep 0.1; done
done
# the configuration: the out disk starts as "iomapck-fstests-conf\n" + shell text
head -c 65536 /dev/vde | tr -d '\000' >/tmp/conf.sh
[ "$(head -n 1 /tmp/conf.sh)" = "# iomapck-fstests-conf" ] || fail "no configuration on vde"
. /tmp/conf.sh
dd if=/dev/zero of=/dev/vde bs=64k count=1 status=none
say "kernel $(uname -r), $(nproc) cpus, $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo)"

# ---- MODE=replay-loop: generic/482's loop (upstream) and iomapck-replay on one log --------
if [ "$MODE" = replay-loop ]; then
	LOG=/dev/vdb DEV=/dev/vdc RL=/opt/fstests/src/log-writes/replay-log
	mkdir -p /mnt/replay
	exec 3>/tmp/out/replay-loop.txt
	t0=$(cut -d' ' -f1 /proc/uptime)
	# as generic/482 (and common/dmlogwrites) do: every FUA after the mkfs mark replayed
	# from entry 0, mounted (the kernel replays the journal), unmounted, fsck'ed
	prev=$($RL --find --log $LOG --end-mark mkfs 2>/dev/null | cut -f1 -d@)
	[ -n "$prev" ] || fail "no mkfs mark in the log"
	cur=$($RL --find --log $LOG --next-fua --start-entry "$prev" 2>/dev/null | cut -f1 -d@)
	first='' n=0
	while [ -n "$cur" ]; do
		n=$((n + 1))
		echo "=== replay to $cur ===" >&3
		$RL --log $LOG --replay $DEV --limit $((cur + 1)) >&3 2>&1 || fail "replay-log to $cur"
		ok=1
		if mount -t ext4 $MOUNT_OPTS_LOOP $DEV /mnt/replay >&3 2>&1; then
			umount /mnt/replay || fail "umount"
		else
			echo "mount failed at $cur" >&3; ok=0
		fi
		e2fsck -fn $DEV >&3 2>&1 || { echo "fsck failed at $cur" >&3; ok=0; }
		if [ $ok = 0 ]; then first=$cur; break; fi
		cur=$($RL --find --log $LOG --next-fua --start-entry $((cur + 1)) 2>/dev/null | cut -f1 -d@)
	done
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo "@@ LOOP upstream ${first:-none} $n $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
	t0=$t1
	# --set IOMAPCK_REPLAY_OPTIONS=... applies here too
	eval "${EXTRA_CONFIG:-}"
	# shellcheck disable=SC2086
	iomapck-replay --log $LOG ${IOMAPCK_REPLAY_OPTIONS:-} --check fua --start-mark mkfs \
		>/tmp/out/replay-loop-iomapck.txt 2>&1
	rc=$?
	t1=$(cut -d' ' -f1 /proc/uptime)
	first=$(sed -n 's/^entry \([0-9][0-9]*\) .*/\1/p' /tmp/out/replay-loop-iomapck.txt | head -n 1)
	echo "@@ LOOP iomapck ${first:-none} rc=$rc $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
	exec 3>&-
	save_out
	kmsg
	echo "@@ DONE"
	off
fi

# ---- MODE=run: the tests, once each way ------------------------------------------------
mkdir -p /mnt/test /mnt/scratch
mkfs.ext4 -q -F $MKFS_OPTIONS /dev/vdb >/tmp/out/mkfs-test.txt 2>&1 || fail "mkfs.ext4 TEST_DEV"
for way in $WAYS; do
	case $way in
	upstream) tree=/opt/fstests ;;
	iomapck) tree=/opt/fstests-iomapck ;;
	*) fail "no way $way" ;;
	esac
	[ -x $tree/check ] || fail "no $tree/check"
	cat >$tree/local.config <<EOF
export FSTYP=ext4
export TEST_DEV=/dev/vdb
export TEST_DIR=/mnt/test
export SCRATCH_DEV=/dev/vdc
export SCRATCH_MNT=/mnt/scratch
export LOGWRITES_DEV=/dev/vdd
export LOAD_FACTOR=${LOAD_FACTOR:-1}
export MKFS_OPTIONS="$MKFS_OPTIONS"
export MOUNT_OPTIONS="$MOUNT_OPTIONS"
EOF
	[ -z "${EXTRA_CONFIG:-}" ] || printf '%s\n' "$EXTRA_CONFIG" >>$tree/local.config
	# the upstream way never sees our tools, even through the patched helper's default
	if [ $way = upstream ]; then echo 'export IOMAPCK_REPLAY_PROG=""' >>$tree/local.config; fi
	mkdir -p /tmp/out/$way
	for t in $TESTS; do
		say "$way $t: start"
		t0=$(cut -d' ' -f1 /proc/uptime)
		(cd $tree && timeout -k 10 "$TEST_TIMEOUT" ./check "$t") >/tmp/out/$way/${t//\//-}.check.txt 2>&1
		rc=$?
		t1=$(cut -d' ' -f1 /proc/uptime)
		secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
		o=/tmp/out/$way/${t//\//-}.check.txt
		if [ $rc = 124 ] || [ $rc = 137 ]; then verdict=timeout
		elif grep -q '^Passed all 1 tests' $o; then verdict=pass
		elif grep -q '^Not run:' $o; then verdict=notrun
		elif grep -q '^Failures:' $o; then verdict=fail
		else verdict=error; fi
		echo "@@ RESULT $way $t $verdict $secs"
		sed "s|^|@@ check $way: |" $o
		# the test's own record (.full, .out.bad, artifacts of a failure) for the host;
		# the log and state images only by name (the log disk is the host's after the run)
		mkdir -p /tmp/out/$way/results
		for f in $tree/results/ext4/${t}*  $tree/results/${t}*; do
			[ -e "$f" ] || continue
			case $f in
			*.logwrites) ls -ls "$f" >>/tmp/out/$way/results/artifacts.txt ;;
			*) cp -a --sparse=always "$f" /tmp/out/$way/results/ ;;
			esac
		done
		umount /mnt/scratch /mnt/test 2>/dev/null
		dmsetup remove_all 2>/dev/null
	done
done
kmsg
save_out
echo "@@ DONE"
off
