#!/usr/bin/env bash
# tests/harness/vm.sh - the project's VM harness for the tier that needs a real
# kernel storage stack (device-mapper, LIO, nvmet, iSCSI/NVMe initiators).
#
# Boots Debian's kernel (linux-image-amd64) under qemu TCG with THIS host's root
# filesystem shared read-only over 9p, RAM overlays on the writable folders, and a
# sparse scratch disk (ext4, mounted at /mnt/scratch in the guest).
#
#   vm.sh run 'COMMAND'        one-shot: boot, run COMMAND as root, stream output,
#                              exit with its exit code (files the guest writes to
#                              $VM_OUT_GUEST are copied to $VM_OUT on the host)
#   vm.sh start NAME           boot in the background with sshd on 127.0.0.1:<port>;
#                              prints "host port key" once ssh answers
#   vm.sh ssh NAME 'COMMAND'   run a command in a started VM
#   vm.sh stop NAME            power it off and clean up
#   vm.sh info NAME            "host port key user" of a started VM
#
# Env: VM_MEM (2G) VM_CPUS (2) VM_TIMEOUT (s, 1500) VM_DISK_GB (20, sparse)
#      VM_CPU (Nehalem: SSE4.2 without AVX; under TCG, glibc's AVX string and memcpy paths
#      are slow: dd of 2000 MiB took 10.5 s with -cpu max and 2 s with Nehalem or qemu64)
#      VM_OUT (host dir for results of `run`) VM_KERNEL VM_VERBOSE=1
#      VM_STATE (state dir for started VMs, default .build/vm)
#      VM_NET=1 (run): user networking, the guest reaches this host's own addresses
#      VM_ASLR=1: keep address-space randomisation in the guest (default: norandmaps, see launch)
#      VM_ZIPCACHE=0: no bytecode cache for zip imports in the guest (tests/harness/zipcache.py)
# Debian packages: qemu-system-x86 linux-image-amd64 busybox-static cpio e2fsprogs
#   openssh-server openssh-client (start/ssh), plus the storage tools under test.
# KVM does not work on these hosts (the guest hangs), hence TCG; Python in the
# guest is 20-60x slower than on the host, so batch work into few boots.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MODE=${1:-}
shift || true

# VM_KERNEL: a path, or a version prefix (6.12 -> the newest /boot/vmlinuz-6.12*).  Default: the
# kernel of Debian's linux-image-amd64 (6.1 on bookworm), so that installing 6.12 for the
# nvmet-auth tests changes nothing else; else the newest kernel in /boot.
default_kernel() {
  local dep
  dep=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null | grep -o 'linux-image-[^ ,(]*' | head -1)
  dep=${dep#linux-image-}
  if [ -n "$dep" ] && [ -e "/boot/vmlinuz-$dep" ]; then echo "/boot/vmlinuz-$dep"; return; fi
  # shellcheck disable=SC2012  # ls -v: version sort of the kernel names
  ls -1v /boot/vmlinuz-* 2>/dev/null | tail -1
}
case "${VM_KERNEL:-}" in
  "") KERNEL=$(default_kernel) ;;
  /*) KERNEL=$VM_KERNEL ;;
  *) # shellcheck disable=SC2012  # ls -v: version sort of the kernel names
     KERNEL=$(ls -1v /boot/vmlinuz-"$VM_KERNEL"* 2>/dev/null | tail -1)
     [ -n "$KERNEL" ] || { echo "vm.sh: VM_KERNEL=$VM_KERNEL: no /boot/vmlinuz-$VM_KERNEL* (apt-get install linux-image-$VM_KERNEL-amd64)" >&2; exit 2; } ;;
esac
[ -n "$KERNEL" ] || { echo "vm.sh: no kernel in /boot (apt-get install linux-image-amd64)" >&2; exit 2; }
KVER=${KERNEL##*/vmlinuz-}
MEM=${VM_MEM:-2G}
CPUS=${VM_CPUS:-2}
TIMEOUT=${VM_TIMEOUT:-1500}
DISK_GB=${VM_DISK_GB:-20}
WORK=${VM_WORKDIR:-/var/tmp/cinderkit-vm}
CACHE=$WORK/cache
INITRD=$CACHE/initramfs-$KVER.cpio.gz
STATE_ROOT=${VM_STATE:-$ROOT/.build/vm}

[ -d "/lib/modules/$KVER" ] || { echo "vm.sh: /lib/modules/$KVER missing (apt-get install linux-image-amd64)" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "vm.sh: qemu-system-x86_64 missing (apt-get install qemu-system-x86)" >&2; exit 2; }

# shellcheck disable=SC2015  # || true on purpose: log never fails
log() { [ -n "${VM_VERBOSE:-}" ] && echo "[vm.sh] $*" >&2 || true; }

# ------------------------------------------------------------------ initramfs (cached)
build_initramfs() {
  local d m; d=$(mktemp -d)
  mkdir -p "$d"/{bin,dev,proc,sys,newroot,mods}
  cp /bin/busybox "$d/bin/busybox"
  if ldd /bin/busybox >/dev/null 2>&1; then echo "vm.sh: /bin/busybox is dynamic; apt-get install busybox-static" >&2; exit 2; fi
  for a in sh mount umount mkdir insmod switch_root cat echo sleep poweroff cp ln chmod; do ln -s busybox "$d/bin/$a"; done
  local mods=()
  for m in 9p 9pnet_virtio virtio_pci overlay virtio_console virtio-rng virtio_blk; do
    # shellcheck disable=SC2207  # split on purpose: module paths (no blanks) from modprobe
    mods+=( $(modprobe -S "$KVER" --show-depends $m 2>/dev/null | awk '$1=="insmod"{print $2}') )
  done
  : > "$d/mods/order"
  for m in "${mods[@]}"; do
    grep -qx "$(basename "$m")" "$d/mods/order" && continue
    cp "$m" "$d/mods/"; basename "$m" >> "$d/mods/order"
  done
  cat > "$d/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do insmod /mods/$m 2>/dev/null; done
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose,access=any hostroot /newroot || {
  echo "stage1: cannot mount 9p root"; poweroff -f; }
mount -t tmpfs -o mode=755 run /newroot/run
mkdir -p /newroot/run/ov /newroot/run/xfer
for d in etc var root tmp home srv mnt opt usr; do
  [ -d /newroot/$d ] || continue
  mkdir -p /newroot/run/ov/$d/u /newroot/run/ov/$d/w
  mount -t overlay -o lowerdir=/newroot/$d,upperdir=/newroot/run/ov/$d/u,workdir=/newroot/run/ov/$d/w ov-$d /newroot/$d
done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,access=any xfer /newroot/run/xfer
cp /bin/busybox /newroot/run/busybox
umount /proc /sys; mount --move /dev /newroot/dev
exec switch_root /newroot /bin/bash /run/xfer/stage2.sh
EOF
  chmod +x "$d/init"
  mkdir -p "$CACHE"
  (cd "$d" && find . | cpio -o -H newc --quiet | gzip -1) > "$INITRD.tmp"
  mv "$INITRD.tmp" "$INITRD"; rm -rf "$d"
}

# PVH boot of the uncompressed vmlinux skips slow real-mode setup and decompression under TCG
boot_kernel() {
  local vml=$CACHE/vmlinux-$KVER
  if [ ! -s "$vml" ] && head -c 4 "$KERNEL" | grep -q 'HdrS\|MZ'; then
    mkdir -p "$CACHE"
    # shellcheck disable=SC2015  # rm -f of the temp file is fine whichever step failed
    /usr/bin/python3 - "$KERNEL" "$vml.tmp" <<'PY' && mv "$vml.tmp" "$vml" || rm -f "$vml.tmp"
import sys, lzma, zlib
d = open(sys.argv[1], 'rb').read()
for magic, fn in ((b'\xfd7zXZ\x00', lambda b: lzma.LZMADecompressor().decompress(b)),
                  (b'\x1f\x8b\x08', lambda b: zlib.decompressobj(31).decompress(b))):
    i = d.find(magic)
    while i >= 0:
        try:
            out = fn(d[i:])
            if out[:4] == b'\x7fELF':
                open(sys.argv[2], 'wb').write(out); sys.exit(0)
        except Exception:
            pass
        i = d.find(magic, i + 1)
sys.exit(1)
PY
  fi
  if [ -s "$vml" ] && readelf -n "$vml" 2>/dev/null | grep -q 'Unknown note type: (0x00000012)'; then
    echo "$vml"
  else
    echo "$KERNEL"
  fi
}

# ------------------------------------------------------------------ stage 2 (PID 1 in the guest)
write_stage2() {  # write_stage2 XFER CWD
  local xfer=$1 cwd=$2
  if [ "${VM_ZIPCACHE:-1}" != 0 ]; then cp "$ROOT/tests/harness/zipcache.py" "$xfer/zipcache.py"; fi
  cat > "$xfer/stage2.sh" <<EOF
#!/bin/bash
exec </dev/null >/dev/hvc0 2>&1
: > /run/xfer/started
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb LANG=C.UTF-8
export LVM_SUPPRESS_FD_WARNINGS=1 PYTHONDONTWRITEBYTECODE=1 CINDERKIT_IN_VM=1
mount -t proc proc /proc; mount -t sysfs sys /sys
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /dev/shm
modprobe configfs 2>/dev/null; mount -t configfs configfs /sys/kernel/config 2>/dev/null
mount -t tmpfs tmpfs /var/log
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mkdir -p /run/lock /run/lvm /run/udev /run/sshd /mnt/scratch
ln -sf /proc/self/fd /dev/fd; ln -sf /proc/self/fd/0 /dev/stdin; ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
hostname cinderkit-vm; ip link set lo up
# a bytecode cache for code imported from zip files (Ansible's module payloads), guest only:
# tests/harness/zipcache.py says why; VM_ZIPCACHE=0 leaves it out
if [ -s /run/xfer/zipcache.py ]; then
  for f in /etc/python3.*/sitecustomize.py; do [ -f "\$f" ] && cat /run/xfer/zipcache.py >> "\$f"; done
fi
for m in loop dm_mod dm_snapshot dm_thin_pool dm_bufio; do modprobe \$m 2>/dev/null; done
# the host's lvm.conf may say activation=0; the guest has device-mapper
[ -f /etc/lvm/lvm.conf ] && sed -i 's/^\([[:space:]]*activation[[:space:]]*=[[:space:]]*\)0/\11/' /etc/lvm/lvm.conf
# the host's files are read-only here; give initiator tools their own identities
mkdir -p /etc/iscsi /etc/nvme
[ -s /etc/iscsi/initiatorname.iscsi ] || echo "InitiatorName=\$(iscsi-iname 2>/dev/null || echo iqn.2004-10.com.ubuntu:01:cinderkitvm)" > /etc/iscsi/initiatorname.iscsi
[ -s /etc/nvme/hostnqn ] || (nvme gen-hostnqn > /etc/nvme/hostnqn 2>/dev/null || true)
if [ -x /usr/bin/dbus-daemon ]; then mkdir -p /run/dbus; dbus-daemon --system --fork --nopidfile 2>/dev/null; fi
if [ -b /dev/vda ]; then mount -o discard /dev/vda /mnt/scratch 2>/dev/null || echo "[vm] cannot mount scratch disk"; fi
if [ -f /run/xfer/ssh/authorized_keys ] || [ -f /run/xfer/net ]; then
  modprobe virtio_net 2>/dev/null
  # the NIC comes up before udevd starts: udevd renamed eth0 now and then, even with
  # net.ifnames=0, between the lookup and 'ip link set' ("Cannot find device eth0"), so SSH
  # never answered; an interface that is up is not renamed. Retry the lookup all the same.
  nic=
  for _ in \$(seq 1 100); do
    nic=\$(ls /sys/class/net | grep -v '^lo\$' | head -1)
    if [ -n "\$nic" ] && ip link set "\$nic" up 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "[vm] network interface: \${nic:-none}"
  ip addr add 10.0.2.15/24 dev "\$nic" && ip route add default via 10.0.2.2
fi
if [ -f /run/xfer/ssh/authorized_keys ]; then
  # sshd runs every command through bash, which then reads ~/.bashrc; the host's (pyenv init)
  # costs ~10 s per command under TCG. SSH commands get the environment of 'vm.sh run' instead.
  : > /root/.bashrc
  /usr/sbin/sshd -o PermitRootLogin=prohibit-password -o PasswordAuthentication=no -o UsePAM=no \
    -o StrictModes=no -o AuthorizedKeysFile=/run/xfer/ssh/authorized_keys \
    -o HostKey=/run/xfer/ssh/host_ed25519 -o UseDNS=no -o PidFile=/run/sshd.pid \
    -o AcceptEnv='LANG LC_* ANSIBLE_* CINDERKIT_*' -o SetEnv='PYTHONDONTWRITEBYTECODE=1 CINDERKIT_IN_VM=1'
fi
if [ -x /lib/systemd/systemd-udevd ]; then /lib/systemd/systemd-udevd --daemon 2>/dev/null; fi
[ -n "\${VM_VERBOSE:-$VM_VERBOSE_FLAG}" ] && echo "[vm] guest ready, uptime \$(cut -d' ' -f1 /proc/uptime)s"
cd "$cwd" 2>/dev/null || cd /
bash /run/xfer/cmd.sh </dev/null
rc=\$?
echo \$rc > /run/xfer/rc
sync
/run/busybox poweroff -f
EOF
}

# ------------------------------------------------------------------ qemu
launch() {  # launch XFER NETOPTS... (foreground; caller backgrounds it)
  local xfer=$1; shift
  local bootk log=$xfer/console.log
  bootk=$(boot_kernel)
  # norandmaps (no address-space randomisation in the guest): TCG keys its translated code by
  # virtual address too, so with randomised library bases every new process (python, lvm,
  # iscsiadm, ...) translates libc and libpython again. Measured in an idle guest: 5 x
  # (lvm version + lsblk) 2.1-2.7 s -> 0.84-1.0 s; TCG's translated-code count stops growing.
  # VM_ASLR=1 keeps the kernel's default. A test guest only: nothing here relies on ASLR.
  local aslr=' norandmaps'
  if [ "${VM_ASLR:-0}" = 1 ]; then aslr=''; fi
  # werror/rerror=report: qemu's default pauses the guest when the host disk is full, which
  # looks like a hang until the timeout; the guest gets an I/O error instead
  timeout --foreground -k 5 "$TIMEOUT" qemu-system-x86_64 \
    -accel tcg,thread=multi -cpu "${VM_CPU:-Nehalem}" -smp "$CPUS" -m "$MEM" -machine q35 \
    -nodefaults -no-user-config -display none -no-reboot \
    -kernel "$bootk" -initrd "$INITRD" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init mitigations=off tsc=reliable net.ifnames=0$aslr" \
    -serial "file:$log" -monitor none \
    -fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
    -device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
    -fsdev local,id=xfer,path="$xfer",security_model=none \
    -device virtio-9p-pci,fsdev=xfer,mount_tag=xfer \
    -drive file="$xfer/scratch.img",if=virtio,format=raw,cache=unsafe,discard=unmap,werror=report,rerror=report \
    -device virtio-serial-pci -chardev stdio,id=out,signal=off -device virtconsole,chardev=out \
    -device virtio-rng-pci "$@" </dev/null
}

new_xfer() {
  mkdir -p "$WORK"
  local x; x=$(mktemp -d "$WORK/xfer.XXXXXX")
  truncate -s "${DISK_GB}G" "$x/scratch.img"
  local free_gb; free_gb=$(df -P -BG "$WORK" | awk 'NR==2{sub("G","",$4); print $4}')
  if [ "${free_gb:-0}" -lt 12 ]; then
    echo "vm.sh: WARNING: only ${free_gb}G free under $WORK; the guest's scratch disk is sparse and may need up to 12G" >&2
  fi
  mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1,nodiscard -L scratch "$x/scratch.img"
  echo "$x"
}

prepare() {
  [ -s "$INITRD" ] || build_initramfs
  # the guest cannot write .pyc files to the read-only host tree: compile them here
  if [ -x "$ROOT/.venv/bin/python" ]; then
    "$ROOT/.venv/bin/python" -m compileall -q -j 0 "$ROOT/plugins" "$ROOT/tests" >/dev/null 2>&1 || true
  fi
}

cmd_run() {
  [ $# -ge 1 ] || { echo "usage: vm.sh run 'command'" >&2; exit 2; }
  prepare
  local xfer qpid=
  xfer=$(new_xfer)
  trap '[ -n "$qpid" ] && kill $qpid 2>/dev/null; rm -rf "$xfer"' EXIT INT TERM
  mkdir -p "$xfer/out"
  printf 'export VM_OUT_GUEST=/run/xfer/out\n%s\n' "$1" > "$xfer/cmd.sh"
  VM_VERBOSE_FLAG=${VM_VERBOSE:-} write_stage2 "$xfer" "${VM_CWD:-$PWD}"
  local t0 net=(); t0=$(date +%s)
  # VM_NET=1: user networking (no forwarded ports), so the guest reaches this host's addresses
  # shellcheck disable=SC2054  # the commas belong to qemu's option values
  if [ -n "${VM_NET:-}" ]; then : > "$xfer/net"; net=(-netdev user,id=n0 -device virtio-net-pci,netdev=n0); fi
  local boot
  for boot in 1 2; do
    launch "$xfer" "${net[@]}" &
    qpid=$!
    wait $qpid || true
    qpid=
    # A guest kernel that panics while it boots, before stage 2 (and so before any test) runs,
    # gets one more boot: seen once with the 6.12 kernel under TCG (an oops in sched_clock_cpu
    # during the late initcalls). Anything after stage 2 started is never retried.
    if [ "$boot" = 1 ] && [ ! -e "$xfer/started" ] && [ ! -s "$xfer/rc" ] && grep -q 'Kernel panic' "$xfer/console.log" 2>/dev/null; then
      echo "vm.sh: WARNING: the guest kernel panicked while booting, before any command ran; booting it again. Console tail:" >&2
      tail -n 12 "$xfer/console.log" >&2 || true
      continue
    fi
    break
  done
  log "wall $(( $(date +%s) - t0 ))s"
  if [ -n "${VM_OUT:-}" ]; then mkdir -p "$VM_OUT"; cp -a "$xfer/out/." "$VM_OUT/" 2>/dev/null || true; fi
  if [ -s "$xfer/rc" ]; then exit "$(cat "$xfer/rc")"; fi
  echo "vm.sh: the guest did not report an exit code (timeout ${TIMEOUT}s or crash); console log tail:" >&2
  tail -n 30 "$xfer/console.log" >&2 || true
  exit 125
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cmd_start() {
  local name=${1:?usage: vm.sh start NAME}
  local st=$STATE_ROOT/$name
  if [ -f "$st/pid" ] && kill -0 "$(cat "$st/pid")" 2>/dev/null; then
    echo "vm.sh: VM $name is already running" >&2; cat "$st/info"; return 0
  fi
  prepare
  rm -rf "$st"; mkdir -p "$st"
  local xfer port
  xfer=$(new_xfer); echo "$xfer" > "$st/xfer"
  mkdir -p "$xfer/ssh"
  ssh-keygen -q -t ed25519 -N '' -f "$st/id_ed25519" -C "cinderkit-vm-$name"
  ssh-keygen -q -t ed25519 -N '' -f "$xfer/ssh/host_ed25519" -C "cinderkit-vm-host"
  cp "$st/id_ed25519.pub" "$xfer/ssh/authorized_keys"
  printf 'while [ ! -e /run/xfer/stop ]; do sleep 1; done\n' > "$xfer/cmd.sh"
  VM_VERBOSE_FLAG=${VM_VERBOSE:-} write_stage2 "$xfer" /
  port=$(free_port)
  # the background subshell must not hold the caller's stdout/stderr: a caller reading them
  # to EOF (subprocess with pipes, $(...)) would wait for the VM to stop
  ( launch "$xfer" -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" \
      -device virtio-net-pci,netdev=n0 ) >"$st/console.out" 2>&1 </dev/null &
  echo $! > "$st/pid"
  echo "127.0.0.1 $port $st/id_ed25519 root" > "$st/info"
  local deadline=$(( $(date +%s) + ${VM_BOOT_TIMEOUT:-180} ))
  until ssh_cmd "$name" true >/dev/null 2>&1; do
    if ! kill -0 "$(cat "$st/pid")" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
      echo "vm.sh: VM $name did not come up; console:" >&2
      tail -n 30 "$xfer/console.log" "$st/console.out" >&2 2>/dev/null || true
      cmd_stop "$name"
      if [ "${VM_BOOT_RETRY:-1}" -gt 0 ]; then
        echo "vm.sh: RETRYING the boot of VM $name once (VM_BOOT_RETRY=0 turns this off)" >&2
        VM_BOOT_RETRY=$(( ${VM_BOOT_RETRY:-1} - 1 )) exec "$0" start "$name"
      fi
      exit 1
    fi
    sleep 1
  done
  cat "$st/info"
}

ssh_cmd() {
  local name=$1; shift
  local st=$STATE_ROOT/$name host port key user
  read -r host port key user < "$st/info"
  ssh -q -i "$key" -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
      -o ConnectTimeout=5 -o BatchMode=yes "$user@$host" "$@"
}

cmd_stop() {
  local name=${1:?usage: vm.sh stop NAME}
  local st=$STATE_ROOT/$name
  [ -d "$st" ] || return 0
  local xfer; xfer=$(cat "$st/xfer" 2>/dev/null || true)
  [ -n "$xfer" ] && touch "$xfer/stop" 2>/dev/null
  if [ -f "$st/pid" ]; then
    local pid; pid=$(cat "$st/pid")
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    pkill -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
  fi
  [ -n "$xfer" ] && rm -rf "$xfer"
  rm -rf "$st"
}

case "$MODE" in
  run) cmd_run "$@" ;;
  start) cmd_start "$@" ;;
  ssh) ssh_cmd "$@" ;;
  stop) cmd_stop "$@" ;;
  info) cat "$STATE_ROOT/${1:?usage: vm.sh info NAME}/info" ;;
  *) sed -n '2,22p' "$0"; exit 2 ;;
esac
