#!/bin/busybox sh
# PID 1 of vigil's IPVS VM (see mod.rs): loads the boot modules, mounts the
# host's root read-only over virtio-9p under a tmpfs overlay, puts the
# unpacked module tree at /lib/modules, chroots into it to run the run
# directory's cmd.sh and writes its exit status beside it, then powers off.
/bin/busybox --install -s /bin
export PATH=/bin

say() { echo "vigil-vm: $*" >/dev/console; }
halt() {
    say "$*"
    poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in /boot-modules/*.ko; do
    insmod "$m" || halt "insmod $m failed"
done

for w in $(cat /proc/cmdline); do
    case "$w" in
    vigil.modules=*) MODULES="${w#vigil.modules=}" ;;
    vigil.run=*) RUN="${w#vigil.run=}" ;;
    esac
done
[ -n "$MODULES" ] && [ -n "$RUN" ] || halt "no vigil.modules= or vigil.run= on the command line"

mkdir -p /lower /rw /root /sbin /lib
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 host /lower || halt "cannot mount the host root"
mount -t tmpfs rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work root /root || halt "overlay failed"
# The chroot's modprobe reads /lib/modules; the kernel's own requests
# (schedulers, veth, nf_tables) run /sbin/modprobe in this initramfs.
mkdir -p /root/lib/modules
mount --bind "/lower$MODULES" /root/lib/modules || halt "no module tree at $MODULES"
ln -s "/lower$MODULES" /lib/modules
ln -s /bin/busybox /sbin/modprobe
mount -t proc proc /root/proc
mount -t sysfs sys /root/sys
mount -t devtmpfs dev /root/dev
mkdir -p /root/dev/pts /root/dev/shm
mount -t devpts devpts /root/dev/pts
mount -t tmpfs shm /root/dev/shm
mount -t tmpfs tmp /root/tmp
mount -t tmpfs run /root/run
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 run "/root$RUN" || halt "cannot mount the run directory"
ip link set lo up
modprobe ip_vs || halt "modprobe ip_vs failed"

chroot /root /bin/sh -c "exec /bin/sh '$RUN/cmd.sh' >'$RUN/output' 2>&1"
echo $? >"/root$RUN/status"
sync
poweroff -f
