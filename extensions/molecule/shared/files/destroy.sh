#!/usr/bin/env bash
# destroy (on the instance, as root): remove whatever this scenario made, from any half-made state,
# then check that nothing is left: no initiator connection, target, tgtd, saved target config
# naming this scenario, LV, VG, device-mapper device, loop device, tgt conf file or work directory.
# Prints "removed: ..." for what it removed, "LEFT: ..." for what is still there (exit 1), else
# "nothing left".
# Plain shell on purpose (no Python start in the VM) except where a saved JSON config must be
# rewritten without this scenario's entries.
set -uo pipefail
export PATH=$PATH:/usr/sbin:/sbin LC_ALL=C LVM_SUPPRESS_FD_WARNINGS=1
W=$CKM_WORKDIR
CFS=/sys/kernel/config
NVMET=$CFS/nvmet
LIO=$CFS/target
TGT_CONF=/etc/tgt/conf.d/cinder.conf
LIO_SAVED="/etc/target/saveconfig.json /etc/rtslib-fb-target/saveconfig.json"
NVMET_SAVED=/etc/nvmet/config.json
# device-mapper names of this VG's LVs start with the VG name, '-' doubled
DM_PREFIX="${CKM_VG//-/--}-"
# the saved target configurations that existed before this run (prepare wrote the list)
HAVE_BEFORE=0; SAVED_BEFORE=
if [ -f "$W/saved-before" ]; then HAVE_BEFORE=1; SAVED_BEFORE=$(cat "$W/saved-before"); fi
made_by_us() { [ "$HAVE_BEFORE" = 1 ] && ! grep -qxF "$1" <<< "$SAVED_BEFORE"; }

removed() { echo "removed: $*"; }
# shellcheck disable=SC2153  # CKM_PREFIX comes from the environment (the scenario), like every CKM_*
ours() { [[ "$1" == "$CKM_PREFIX"* ]]; }   # a target (IQN or NQN) of this scenario

# ------------------------------------------------------------------ initiators
for sub in /sys/class/nvme-subsystem/*; do
  nqn=$(cat "$sub/subsysnqn" 2>/dev/null) || continue
  [[ "$nqn" == "nqn.$CKM_PREFIX"* ]] && nvme disconnect -n "$nqn" >/dev/null 2>&1 && removed "NVMe connection to $nqn"
done

# ------------------------------------------------------------------ tgt: the private tgtd
if [ "$CKM_HELPER" = tgtadm ]; then
  ctl=(tgtadm -C "$CKM_TGT_CONTROL_PORT")
  if "${ctl[@]}" --op show --mode sys >/dev/null 2>&1; then
    "${ctl[@]}" --op update --mode sys --name State -v offline >/dev/null 2>&1
    # tgtd refuses to delete a system that still has targets: then the kill below ends it (waiting
    # for a tgtd that stays cost 10 s of every destroy)
    if "${ctl[@]}" --op delete --mode system >/dev/null 2>&1; then
      removed "tgtd (control port $CKM_TGT_CONTROL_PORT) and its targets"
      for _ in $(seq 1 50); do "${ctl[@]}" --op show --mode sys >/dev/null 2>&1 || break; sleep 0.2; done
    fi
  fi
  pid=$(cat "$W/tgtd.pid" 2>/dev/null)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q tgtd "/proc/$pid/comm" 2>/dev/null; then
    kill -9 "$pid" && removed "tgtd process $pid"
  fi
fi

# ------------------------------------------------------------------ LIO (configfs), if the export
# module could not remove it: ACLs, LUNs, portals, the TPG, the target, then the backstore
lio_remove_target() {
  local t=$1 tpg acl lun np
  for tpg in "$t"/tpgt_*; do
    [ -d "$tpg" ] || continue
    echo 0 > "$tpg/enable" 2>/dev/null
    for acl in "$tpg"/acls/*; do
      [ -d "$acl" ] || continue
      for lun in "$acl"/lun_*; do
        [ -d "$lun" ] || continue
        find "$lun" -maxdepth 1 -type l -exec rm -f {} +
        rmdir "$lun"
      done
      rmdir "$acl"
    done
    for lun in "$tpg"/lun/lun_*; do
      [ -d "$lun" ] || continue
      find "$lun" -maxdepth 1 -type l -exec rm -f {} +
      rmdir "$lun"
    done
    for np in "$tpg"/np/*; do [ -d "$np" ] && rmdir "$np"; done
    rmdir "$tpg"
  done
  rmdir "$t" && removed "LIO target ${t##*/}"
}
if [ -d "$LIO/iscsi" ]; then
  for t in "$LIO"/iscsi/*; do
    [ -d "$t" ] && ours "${t##*/}" && lio_remove_target "$t"
  done
fi
# backstores whose device is one of this VG's LVs
for so in "$LIO"/core/*_*/*; do
  [ -f "$so/udev_path" ] || continue
  dev=$(cat "$so/udev_path" 2>/dev/null)
  case "$dev" in
    /dev/"$CKM_VG"/*|/dev/mapper/"$DM_PREFIX"*) rmdir "$so" && removed "LIO backstore ${so##*/} ($dev)" ;;
  esac
done

# ------------------------------------------------------------------ nvmet (configfs)
if [ -d "$NVMET" ]; then
  for s in "$NVMET"/subsystems/*; do
    [ -d "$s" ] || continue
    nqn=${s##*/}
    [[ "$nqn" == "nqn.$CKM_PREFIX"* ]] || continue
    for link in "$NVMET"/ports/*/subsystems/"$nqn"; do [ -L "$link" ] && rm -f "$link"; done
    for ns in "$s"/namespaces/*; do
      [ -d "$ns" ] || continue
      echo 0 > "$ns/enable" 2>/dev/null; rmdir "$ns"
    done
    for h in "$s"/allowed_hosts/*; do [ -L "$h" ] && rm -f "$h"; done
    rmdir "$s" && removed "nvmet subsystem $nqn"
  done
  p=$NVMET/ports/$CKM_NVMET_PORT_ID
  if [ -d "$p" ] && [ -z "$(ls -A "$p/subsystems" 2>/dev/null)" ]; then
    rmdir "$p" && removed "nvmet port $CKM_NVMET_PORT_ID"
  fi
  h=$NVMET/hosts/$CKM_HOST_NQN
  # shellcheck disable=SC2010  # ls -l shows the allowed_hosts links' names and targets, grepped for the NQN
  if [ -d "$h" ] && ! ls -l "$NVMET"/subsystems/*/allowed_hosts/ 2>/dev/null | grep -qF "$CKM_HOST_NQN"; then
    rmdir "$h" && removed "nvmet host $CKM_HOST_NQN"
  fi
fi

# ------------------------------------------------------------------ saved target configurations
# A saved file this run made (prepare listed the ones that existed before) is removed. One that
# existed before is rewritten without this scenario's entries. Without prepare's list (a run
# that stopped early), a file naming this scenario is rewritten and removed when nothing is left
# in it. rtslib's backups that name this scenario are removed.
names_us() {  # names_us FILE: it holds a target of this scenario or its nvmet port
  grep -qF "$CKM_PREFIX" "$1" || grep -qE "\"portid\": $CKM_NVMET_PORT_ID([^0-9]|\$)" "$1"
}
clean_saved() {  # clean_saved FILE lio|nvmet
  local f=$1 kind=$2
  [ -f "$f" ] || return 0
  if made_by_us "$f"; then
    rm -f "$f" && removed "saved config $f (made by this run)"
    return 0
  fi
  names_us "$f" || return 0
  "$CKM_PYTHON" - "$f" "$kind" "$CKM_PREFIX" "$CKM_NVMET_PORT_ID" <<'PY' && removed "this scenario's entries in $f"
import json, os, sys
path, kind, prefix, portid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
conf = json.load(open(path))
if kind == 'lio':
    conf['targets'] = [t for t in conf.get('targets', []) if not t.get('wwn', '').startswith(prefix)]
    used = set()
    for t in conf['targets']:
        for tpg in t.get('tpgs', []):
            for lun in tpg.get('luns', []):
                used.add(lun.get('storage_object'))
    conf['storage_objects'] = [
        s for s in conf.get('storage_objects', [])
        if '/backstores/%s/%s' % (s.get('plugin'), s.get('name')) in used]
    empty = not conf['targets'] and not conf['storage_objects']
else:
    nqn = 'nqn.' + prefix
    conf['subsystems'] = [s for s in conf.get('subsystems', []) if not s.get('nqn', '').startswith(nqn)]
    conf['ports'] = [p for p in conf.get('ports', []) if p.get('portid') != portid]
    for p in conf['ports']:
        p['subsystems'] = [s for s in p.get('subsystems', []) if not s.startswith(nqn)]
    hosts = set(h for s in conf['subsystems'] for h in s.get('allowed_hosts', []))
    conf['hosts'] = [h for h in conf.get('hosts', []) if h.get('nqn') in hosts]
    empty = not conf['subsystems'] and not conf['ports']
if empty:
    os.unlink(path)
else:
    with open(path + '.ckm', 'w') as fh:
        json.dump(conf, fh, indent=2, sort_keys=True)
    os.chmod(path + '.ckm', 0o600)
    os.rename(path + '.ckm', path)
PY
}
for f in $LIO_SAVED; do
  clean_saved "$f" lio
  for b in "$(dirname "$f")"/backup/*.json; do
    [ -f "$b" ] && grep -qF "$CKM_PREFIX" "$b" && rm -f "$b" && removed "LIO config backup $b"
  done
done
clean_saved "$NVMET_SAVED" nvmet

# ------------------------------------------------------------------ LVM, device-mapper, loop device
loops=$(losetup -j "$W/pv0.img" 2>/dev/null | cut -d: -f1)
if [ -n "$loops" ]; then
  if [ -f "$W/lvm/lvm.conf" ]; then
    lvm_env=(env LVM_SYSTEM_DIR="$W/lvm")
    lvm_cfg=()
  else
    filter=""; for l in $loops; do filter="$filter\"a|^$l\$|\", "; done
    lvm_env=(env)
    lvm_cfg=(--config "devices { global_filter = [ $filter\"r|.*|\" ] } backup { backup = 0 archive = 0 }")
  fi
  if "${lvm_env[@]}" vgs "${lvm_cfg[@]}" "$CKM_VG" >/dev/null 2>&1; then
    "${lvm_env[@]}" vgremove -ff -y "${lvm_cfg[@]}" "$CKM_VG" >/dev/null && removed "volume group $CKM_VG and its LVs"
  fi
  for l in $loops; do
    "${lvm_env[@]}" pvremove -ff -y "${lvm_cfg[@]}" "$l" >/dev/null 2>&1
  done
fi
for d in $(dmsetup ls 2>/dev/null | awk -v p="$DM_PREFIX" 'index($1, p) == 1 {print $1}' | sort -r); do
  dmsetup remove --retry "$d" >/dev/null 2>&1 && removed "device-mapper device $d"
done
# an empty CKM_VG stops the script here (never rm -rf /dev/)
rm -rf "/dev/${CKM_VG:?is empty}"
for l in $loops; do losetup -d "$l" && removed "loop device $l"; done

# ------------------------------------------------------------------ files
if [ -f "$TGT_CONF" ] && grep -qF "include $CKM_VOLUMES_DIR/*" "$TGT_CONF"; then
  rm -f "$TGT_CONF" && removed "$TGT_CONF"
fi
if [ -d "$W" ]; then rm -rf "$W" && removed "$W"; fi
rmdir "${W%/*}" 2>/dev/null

# ------------------------------------------------------------------ is anything left?
left() { echo "LEFT: $*"; LEFT=1; }
LEFT=0
for sub in /sys/class/nvme-subsystem/*; do
  nqn=$(cat "$sub/subsysnqn" 2>/dev/null) || continue
  [[ "$nqn" == "nqn.$CKM_PREFIX"* ]] && left "NVMe connection to $nqn"
done
losetup -a 2>/dev/null | grep -F "$W/" | while read -r l; do echo "LEFT: loop device $l"; done
losetup -a 2>/dev/null | grep -qF "$W/" && LEFT=1
dmsetup ls 2>/dev/null | awk -v p="$DM_PREFIX" 'index($1, p) == 1 {print $1}' | while read -r d; do
  echo "LEFT: device-mapper device $d (LV of $CKM_VG)"
done
dmsetup ls 2>/dev/null | awk -v p="$DM_PREFIX" 'index($1, p) == 1 {f=1} END {exit !f}' && LEFT=1
[ -e "/dev/$CKM_VG" ] && left "/dev/$CKM_VG"
if [ -d "$LIO/iscsi" ]; then
  for t in "$LIO"/iscsi/*; do [ -d "$t" ] && ours "${t##*/}" && left "LIO target ${t##*/}"; done
fi
for so in "$LIO"/core/*_*/*; do
  [ -f "$so/udev_path" ] || continue
  case "$(cat "$so/udev_path" 2>/dev/null)" in
    /dev/"$CKM_VG"/*|/dev/mapper/"$DM_PREFIX"*) left "LIO backstore ${so##*/}" ;;
  esac
done
for s in "$NVMET"/subsystems/*; do
  [ -d "$s" ] && [[ "${s##*/}" == "nqn.$CKM_PREFIX"* ]] && left "nvmet subsystem ${s##*/}"
done
[ -d "$NVMET/ports/$CKM_NVMET_PORT_ID" ] && left "nvmet port $CKM_NVMET_PORT_ID"
[ -d "$NVMET/hosts/$CKM_HOST_NQN" ] && left "nvmet host $CKM_HOST_NQN"
if [ "$CKM_HELPER" = tgtadm ]; then
  tgtadm -C "$CKM_TGT_CONTROL_PORT" --op show --mode sys >/dev/null 2>&1 && left "tgtd on control port $CKM_TGT_CONTROL_PORT"
fi
# a system tgtd (default control socket) must not serve this scenario's targets either
if command -v tgtadm >/dev/null && tgtadm --op show --mode target 2>/dev/null | grep -qF "$CKM_PREFIX"; then
  left "a target named $CKM_PREFIX* in the system tgtd"
fi
for f in $LIO_SAVED $NVMET_SAVED /etc/target/backup/*.json /etc/rtslib-fb-target/backup/*.json; do
  [ -f "$f" ] && names_us "$f" && left "saved target config $f names this scenario"
done
for f in $LIO_SAVED $NVMET_SAVED; do
  [ -f "$f" ] && made_by_us "$f" && left "saved target config $f (made by this run)"
done
[ -f "$TGT_CONF" ] && grep -qF "$CKM_VOLUMES_DIR" "$TGT_CONF" && left "$TGT_CONF"
[ -e "$W" ] && left "$W"
[ "$LEFT" = 0 ] && echo "nothing left"
exit "$LEFT"
