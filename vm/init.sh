#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=dash
# init.sh - /init of the iomapck-vm initramfs (busybox sh).
#
# Disks (virtio, in this order):
#   vda data      ext4 under dm-log-writes, then the dm-flakey test
#   vdb log       dm-log-writes log device
#   vdc crashed   copy of vda after the dm-flakey drop_writes "crash"
#   vdd recovered copy of vda after a read-only mount replayed the journal
#   vde manifest  out: "iomapck-vm-manifest LEN\n" then LEN bytes of text
#   vdf script    only with iomapck_script=1: in, "iomapck-vm-script NAME\n" then
#                 the operations for "wl script" (NUL padded) instead of "wl run"
#
# Parameters come from the kernel command line:
#   iomapck_seed=N iomapck_config=NAME iomapck_ops=N
#   iomapck_mkfs=HEX iomapck_mount=HEX   (hex of the option strings; "-" = empty)
#   iomapck_probe=1                      (accel probe: print and power off)
#   iomapck_mode=verdict                 (kernel-verdict mode, below)
#   iomapck_script=1                     (run the script on vdf, not the seeded workload)
#   iomapck_vmount=ro|rw                 (kernel-verdict: the recovering mount's mode)
# Prints "@@ DONE" or "@@ FAIL <why>" and powers off.
#
# Kernel-verdict mode (iomapck_mode=verdict) has other disks:
#   vda state      a copy of a crash state: mounted (journal replay), umounted,
#                  copied to vdc, mounted read-only again and read
#   vdb paths      in: "iomapck-vm-paths\n" then one path per line, NUL padded
#   vdc recovered  out: copy of vda after the mount + umount
# and prints "@@ HASH PATH SIZE HEX" or "@@ HASH PATH missing" per path.  A first mount
# the kernel refuses (its journal recovery failed) is a verdict, not a failure: it prints
# "@@ MOUNT-REFUSED <mount mode>", the kernel's lines as "@@ refused: ...", and "@@ DONE".

export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export DM_DISABLE_UDEV=1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /mnt /tmp

say() { echo "@@ [$(cut -d' ' -f1 /proc/uptime)] $*"; }
# the whole kernel log, for the host to keep (dmesg.txt) and to scan for WARNING/BUG/Oops:
# the console runs at loglevel 4, which hides a WARN() (KERN_WARNING)
kmsg() { dmesg | sed 's/^/@@ kmsg: /'; }
fail() {
	echo "@@ FAIL $*"
	dmesg | tail -n 30 | sed 's/^/@@ dmesg: /'
	kmsg
	sync
	poweroff -f
	sleep 60
}
# copy_out DEV WHAT: the data disk as the device holds it now (buffers dropped, so the
# kernel's cache cannot hide a lost write) copied to DEV, the host's image of WHAT
copy_out() {
	blockdev --flushbufs /dev/vda
	echo 3 > /proc/sys/vm/drop_caches
	wl copy /dev/vda "$1" || fail "copy $2"
	say "$2 image copied"
}
# wait_disk DEV: virtio disks appear a little after /init starts
wait_disk() {
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ -b "/dev/$1" ] && return 0
		sleep 0.25
	done
	return 1
}
# mount_ext4 DEV: on /mnt, with the config's mount options if it has any
mount_ext4() {
	if [ -n "$MOUNT_OPTS" ]; then
		mount -t ext4 -o "$MOUNT_OPTS" "$1" /mnt
	else
		mount -t ext4 "$1" /mnt
	fi
}
unhex() {
	[ "$1" = "-" ] && return 0
	printf '%b' "$(echo "$1" | sed 's/\(..\)/\\x\1/g')"
}

SEED=1 CONFIG=default OPS=400 MKFS_HEX=- MOUNT_HEX=- PROBE=0 MODE=record SCRIPT=0 VMOUNT=ro
for w in $(cat /proc/cmdline); do
	case "$w" in
	iomapck_seed=*) SEED=${w#*=} ;;
	iomapck_config=*) CONFIG=${w#*=} ;;
	iomapck_ops=*) OPS=${w#*=} ;;
	iomapck_mkfs=*) MKFS_HEX=${w#*=} ;;
	iomapck_mount=*) MOUNT_HEX=${w#*=} ;;
	iomapck_probe=*) PROBE=${w#*=} ;;
	iomapck_mode=*) MODE=${w#*=} ;;
	iomapck_script=*) SCRIPT=${w#*=} ;;
	iomapck_vmount=rw) VMOUNT=rw ;;
	esac
done
MKFS_OPTS=$(unhex "$MKFS_HEX")
MOUNT_OPTS=$(unhex "$MOUNT_HEX")
say "init started, kernel $(uname -r)"

# modules, in the order the host computed (crc32c-intel may fail under TCG)
if [ -f /lib/modules/load.list ]; then
	while read -r ko; do
		[ -n "$ko" ] || continue
		insmod "$ko" 2>/dev/null && continue
		case "$ko" in
		*crc32c-intel*|*crc32c_intel*) ;;
		*) grep -q "^$(basename "$ko" .ko | tr - _) " /proc/modules ||
			fail "insmod $ko" ;;
		esac
	done < /lib/modules/load.list
fi
if [ "$PROBE" = 1 ]; then
	echo "@@ PROBE OK"
	poweroff -f
	sleep 60
fi

# ---- tracepoints of the ext4 iomap buffered I/O series, where the kernel has them ----
# Counted from the trace buffer (no hist triggers in these configs): "@@ TRACE EVENT N"
# (or "absent"), and "@@ TRACE lost N" when the buffer overran (the counts are then
# lower bounds).
TRACE_EVENTS="ext4_iomap_buffered_write_begin ext4_iomap_map_writeback_range \
ext4_iomap_zero_begin ext4_iomap_buffered_read_begin"
TR=/sys/kernel/tracing
# trace_enable EVENT...: an empty buffer, those ext4 events on (the ones the kernel has)
trace_enable() {
	[ -d $TR/events ] || mount -t tracefs tracefs $TR 2>/dev/null || return 0
	[ -d $TR/events/ext4 ] || return 0
	echo 16384 >$TR/buffer_size_kb 2>/dev/null
	: >$TR/trace
	for e in "$@"; do
		[ -d "$TR/events/ext4/$e" ] && echo 1 >"$TR/events/ext4/$e/enable"
	done
	echo 1 >$TR/tracing_on
}
# shellcheck disable=SC2086
trace_start() { trace_enable $TRACE_EVENTS; }
trace_counts() {
	local e n w b
	[ -d $TR/events/ext4 ] || { echo "@@ TRACE none"; return 0; }
	echo 0 >$TR/tracing_on
	for e in $TRACE_EVENTS; do
		if [ -d "$TR/events/ext4/$e" ]; then
			n=$(grep -c " $e:" $TR/trace)
			echo "@@ TRACE $e $n"
		else
			echo "@@ TRACE $e absent"
		fi
	done
	b=$(sed -n 's|^# entries-in-buffer/entries-written: \([0-9]*\)/\([0-9]*\).*|\1 \2|p' $TR/trace)
	set -- $b
	[ -n "${2:-}" ] && [ "$2" -gt "$1" ] && echo "@@ TRACE lost $(($2 - $1))"
	return 0
}

# The recovery's own tracepoints (fast-commit scan and replay: one event per block scanned
# with its result, one per tag replayed), printed as "@@ trace: ..." lines so a refused
# recovery says where: the kernel prints only "journal recovery failed".
RECOVERY_EVENTS="ext4_fc_replay_scan ext4_fc_replay"
# shellcheck disable=SC2086
recovery_trace_start() { trace_enable $RECOVERY_EVENTS; }
recovery_trace_dump() {
	[ -d $TR/events/ext4 ] || return 0
	echo 0 >$TR/tracing_on
	grep -v '^#' $TR/trace | head -n 400 | sed 's/^ *//; s/^/@@ trace: /'
	for e in $RECOVERY_EVENTS; do
		[ -d "$TR/events/ext4/$e" ] && echo 0 >"$TR/events/ext4/$e/enable"
	done
	return 0
}

# ---- kernel-verdict mode: the kernel's own journal recovery of one crash state ----
if [ "$MODE" = verdict ]; then
	wait_disk vdc || fail "virtio disks vda..vdc did not appear"
	say "verdict: config $CONFIG mount [$MOUNT_OPTS]"
	head -c 1048576 /dev/vdb | tr -d '\000' > /tmp/paths
	[ "$(head -n1 /tmp/paths)" = iomapck-vm-paths ] || fail "paths disk has no header"
	# 1. mount read-only with the config's options: the kernel still replays the
	#    journal and releases orphans (the device is writable), and writes nothing
	#    else a read-write mount would (lazy init flags, new transactions); umount,
	#    copy: the kernel's recovery, untouched by reads.  iomapck_vmount=rw mounts
	#    read-write instead (a recovery that differs between the two is a finding).
	recovery_trace_start
	if ! mount -t ext4 -o "$VMOUNT${MOUNT_OPTS:+,$MOUNT_OPTS}" /dev/vda /mnt; then
		recovery_trace_dump
		echo "@@ MOUNT-REFUSED $VMOUNT${MOUNT_OPTS:+,$MOUNT_OPTS}"
		dmesg | grep -E 'EXT4-fs|JBD2' | sed 's/^\[[^]]*\] *//; s/^/@@ refused: /'
		kmsg
		sync
		say "DONE"
		echo "@@ DONE"
		poweroff -f
		sleep 60
	fi
	recovery_trace_dump
	say "mounted: $(grep ' /mnt ' /proc/mounts)"
	dmesg | grep -E 'EXT4-fs|JBD2|Quota' | sed 's/^/@@ dmesg: /'
	umount /mnt || fail "verdict umount"
	copy_out /dev/vdc recovered
	# 2. read the files back through the kernel: a read-only mount of the now
	#    clean file system, so reading (atime) writes nothing
	mount -t ext4 -o "ro${MOUNT_OPTS:+,$MOUNT_OPTS}" /dev/vda /mnt ||
		fail "verdict ro mount -o ro${MOUNT_OPTS:+,$MOUNT_OPTS}"
	say "mounted: $(grep ' /mnt ' /proc/mounts)"
	tail -n +2 /tmp/paths | while read -r p; do
		[ -n "$p" ] || continue
		wl hash "/mnt$p" | sed "s|^hash /mnt|@@ HASH |"
	done
	umount /mnt || fail "verdict ro umount"
	dmesg | grep -E 'EXT4-fs|JBD2|Quota' | sed 's/^/@@ dmesg-end: /'
	sync
	kmsg
	say "DONE"
	echo "@@ DONE"
	poweroff -f
	sleep 60
fi

LASTDISK=vde
[ "$SCRIPT" = 1 ] && LASTDISK=vdf
wait_disk $LASTDISK || fail "virtio disks vda..$LASTDISK did not appear"
if [ "$SCRIPT" = 1 ]; then
	head -c 1048576 /dev/vdf | tr -d '\000' > /tmp/script.disk
	SNAME=$(head -n1 /tmp/script.disk)
	case "$SNAME" in
	"iomapck-vm-script "*) SNAME=$(basename "${SNAME#iomapck-vm-script }" | tr -cd 'A-Za-z0-9._-') ;;
	*) fail "script disk has no header" ;;
	esac
	[ -n "$SNAME" ] || SNAME=script.ops
	mkdir -p /tmp/script
	tail -n +2 /tmp/script.disk > "/tmp/script/$SNAME"
	say "script $SNAME ($(grep -cv '^[[:space:]]*\(#\|$\)' "/tmp/script/$SNAME") operation lines) config $CONFIG mkfs [$MKFS_OPTS] mount [$MOUNT_OPTS]"
else
	say "seed $SEED config $CONFIG ops $OPS mkfs [$MKFS_OPTS] mount [$MOUNT_OPTS]"
fi

# ---- phase 1: logged run ---------------------------------------------------
SZ=$(blockdev --getsz /dev/vda)
dmsetup create lw --table "0 $SZ log-writes /dev/vda /dev/vdb" || fail "dmsetup create lw"
# shellcheck disable=SC2086
mkfs.ext4 -F -q -T default $MKFS_OPTS /dev/mapper/lw || fail "mkfs.ext4 $MKFS_OPTS"
dmsetup message lw 0 mark mkfs || fail "mark mkfs"
say "mkfs done"
mount_ext4 /dev/mapper/lw || fail "mount${MOUNT_OPTS:+ -o $MOUNT_OPTS}"
say "mounted: $(grep ' /mnt ' /proc/mounts)"
trace_start
if [ "$SCRIPT" = 1 ]; then
	for d in /sys/fs/ext4/dm-*; do
		[ -f "$d/extent_max_zeroout_kb" ] && say "${d##*/}: extent_max_zeroout_kb $(cat "$d/extent_max_zeroout_kb")"
	done
	wl script "/tmp/script/$SNAME" /mnt /tmp/manifest "$CONFIG" || fail "script (wl exit $?)"
else
	wl run "$SEED" /mnt /tmp/manifest "$CONFIG" "$OPS" || fail "workload (wl exit $?)"
fi
umount /mnt || fail "umount"
trace_counts
dmsetup message lw 0 mark umount || fail "mark umount"
cat /tmp/manifest.final >> /tmp/manifest
say "lw status: $(dmsetup status lw)"
dmsetup remove lw || fail "dmsetup remove lw"

# ---- phase 2: dm-flakey drop_writes on the same data disk (not logged) -------
# The flakey table starts linear-equivalent (up forever), then is switched to
# drop_writes without freezing the fs (--nolockfs), so the journal needs recovery.
dmsetup create fl --table "0 $SZ flakey /dev/vda 0 1000000 0" || fail "dmsetup create fl"
mount_ext4 /dev/mapper/fl || fail "flakey mount"
mkdir -p /mnt/d1 /mnt/d2 /mnt/d3	# wl lost writes there; a script may not have made them
wl kept /mnt "$SEED" || fail "wl kept"
dmsetup suspend --nolockfs fl || fail "suspend fl"
dmsetup load fl --table "0 $SZ flakey /dev/vda 0 0 1000000 1 drop_writes" || fail "load drop_writes"
dmsetup resume fl || fail "resume fl"
say "flakey table now: $(dmsetup table fl)"
wl lost /mnt "$SEED" || fail "wl lost"
umount /mnt || fail "flakey umount"
dmsetup remove fl || fail "remove fl"
copy_out /dev/vdc crashed
dmsetup create fl --table "0 $SZ linear /dev/vda 0" || fail "create linear"
mount -t ext4 -o ro /dev/mapper/fl /mnt || fail "ro mount after crash"
wl flakey-check /mnt "$SEED" || fail "flakey check"
umount /mnt || fail "ro umount"
dmsetup remove fl || fail "remove linear"
copy_out /dev/vdd recovered

# ---- manifest out ---------------------------------------------------------------
{
	echo "iomapck-vm-manifest $(wc -c < /tmp/manifest)"
	cat /tmp/manifest
} > /tmp/manifest.disk
dd if=/tmp/manifest.disk of=/dev/vde bs=64k conv=fsync 2>/dev/null || fail "write manifest"
dmesg | grep -E 'EXT4-fs|log-writes|flakey|Quota' | sed 's/^/@@ dmesg: /'
sync
kmsg
say "DONE"
echo "@@ DONE"
poweroff -f
sleep 60
