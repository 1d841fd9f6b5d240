#!/usr/bin/env bash
# prepare (on the instance, as root): check that this host can run the scenario, then make its
# sparse file, loop device and LVM config, and (tgtadm) start a private tgtd.
# Plain shell on purpose: no Python starts here (in the VM a Python start costs seconds).
# Exit 77 with "NOT RUN: <reason>" when the host lacks something the scenario needs.
# Last line of output: {"devices": ["/dev/loopN"]}
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin LC_ALL=C LVM_SUPPRESS_FD_WARNINGS=1
W=$CKM_WORKDIR

not_run() { echo "NOT RUN: $*"; exit 77; }
need() {  # need TOOL PACKAGE
  command -v "$1" >/dev/null 2>&1 || not_run "$1 is missing (install $2)"
}
load() {  # load MODULE... (kernel modules)
  local m
  for m in "$@"; do
    [ -d "/sys/module/${m//-/_}" ] || modprobe "$m" 2>/dev/null \
      || not_run "kernel module $m is not available on $(uname -r)"
  done
}

# ---------------------------------------------------------------- can this host run it?
grep -qw device-mapper /proc/misc || load dm_mod
grep -qw device-mapper /proc/misc || not_run "the kernel has no device-mapper"
need losetup util-linux; need blkid util-linux; need blockdev util-linux
need lvcreate lvm2; need dmsetup dmsetup
if [ "$CKM_THIN" = 1 ]; then need thin_check thin-provisioning-tools; load dm_thin_pool; fi
load loop
case "$CKM_HELPER" in
  tgtadm|lioadm)
    need qemu-img "qemu-utils and qemu-block-extra (RHEL: qemu-img)"
    qemu-img --help | grep -qw iscsi || not_run "qemu-img has no iscsi driver (install qemu-block-extra)"
    need iscsi-readcapacity16 "libiscsi-bin (RHEL: libiscsi-utils)" ;;
esac
case "$CKM_HELPER" in
  tgtadm)
    need tgtd "tgt (RHEL: scsi-target-utils)"; need tgtadm "tgt (RHEL: scsi-target-utils)" ;;
  lioadm)
    load configfs target_core_mod iscsi_target_mod target_core_iblock
    [ -d /sys/kernel/config/target ] || not_run "configfs is not mounted at /sys/kernel/config"
    "$CKM_PYTHON" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("rtslib_fb") is None)' \
      || not_run "$CKM_PYTHON cannot import rtslib_fb (install python3-rtslib-fb or pip install rtslib-fb)" ;;
  nvmet)
    load configfs nvmet nvmet-tcp nvme-tcp
    [ -d /sys/kernel/config/nvmet ] || not_run "configfs has no nvmet directory"
    need nvme nvme-cli ;;
  *) echo "unknown helper $CKM_HELPER" >&2; exit 2 ;;
esac

# ---------------------------------------------------------------- sparse file, loop device
mkdir -p "$W/lvm" "$W/systemd"
chmod 0700 "$W"
# which saved target configurations exist before this run (destroy removes the ones it made)
if [ ! -f "$W/saved-before" ]; then
  for f in /etc/target/saveconfig.json /etc/rtslib-fb-target/saveconfig.json /etc/nvmet/config.json; do
    [ -f "$f" ] && echo "$f"
  done > "$W/saved-before"
fi
[ -f "$W/pv0.img" ] || truncate -s "$CKM_PV_SIZE" "$W/pv0.img"
loop=$(losetup -j "$W/pv0.img" | cut -d: -f1 | head -n1)
[ -n "$loop" ] || loop=$(losetup --find --show "$W/pv0.img")

# LVM config of this scenario: the host's, scanning only this loop device, no metadata backups
# under /etc/lvm, LVM makes the device nodes itself (no waiting for udev).
{
  [ -f /etc/lvm/lvm.conf ] && cat /etc/lvm/lvm.conf
  echo "# cinderkit.storage molecule scenario $CKM_SCENARIO"
  echo "global { activation = 1 }"
  echo "activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }"
  echo "devices { obtain_device_list_from_udev = 0 global_filter = [ \"a|^$loop\$|\", \"r|.*|\" ] }"
  lvmconfig devices/use_devicesfile >/dev/null 2>&1 && echo "devices { use_devicesfile = 0 }"
  echo "backup { backup = 0 archive = 0 }"
} > "$W/lvm/lvm.conf.new"
mv "$W/lvm/lvm.conf.new" "$W/lvm/lvm.conf"
# and the host's command profiles, as /etc/lvm has them (the modules' lvm shell uses lvmdbusd's)
if [ -d /etc/lvm/profile ] && [ ! -d "$W/lvm/profile" ]; then cp -r /etc/lvm/profile "$W/lvm/profile"; fi

# ---------------------------------------------------------------- a private tgtd (tgtadm)
if [ "$CKM_HELPER" = tgtadm ]; then
  ctl=(tgtadm -C "$CKM_TGT_CONTROL_PORT")
  if ! "${ctl[@]}" --op show --mode sys >/dev/null 2>&1; then
    setsid tgtd -f -C "$CKM_TGT_CONTROL_PORT" --iscsi "portal=127.0.0.1:$CKM_PORT" \
      </dev/null >"$W/tgtd.log" 2>&1 &
    echo $! > "$W/tgtd.pid"
    for _ in $(seq 1 100); do
      "${ctl[@]}" --op show --mode sys >/dev/null 2>&1 && break
      kill -0 "$(cat "$W/tgtd.pid")" 2>/dev/null || { cat "$W/tgtd.log"; exit 1; }
      sleep 0.2
    done
    "${ctl[@]}" --op show --mode sys >/dev/null
  fi
fi

echo "{\"devices\": [\"$loop\"]}"
