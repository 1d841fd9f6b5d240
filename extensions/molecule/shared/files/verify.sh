#!/usr/bin/env bash
# verify (on the instance, as root): write 4 MiB of random bytes to the exported volume's LV, read
# them back through a real initiator (libiscsi through qemu-img for tgt and LIO, the kernel's
# NVMe/TCP host for nvmet), and check that the wrong secret / another initiator is refused.
# The CHAP secret is read on the target side (tgt's include file, LIO's configfs) and compared
# with the SHA-256 of the one in connection_info, so no secret travels through Ansible here.
# Output (stdout): one JSON document; progress goes to stderr.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin LC_ALL=C LVM_SUPPRESS_FD_WARNINGS=1
export LVM_SYSTEM_DIR=$CKM_WORKDIR/lvm
V=$CKM_WORKDIR/verify
MiB=1048576
INTRUDER_IQN=iqn.1994-05.com.example:intruder
INTRUDER_NQN=nqn.2014-08.org.nvmexpress:uuid:00000000-1111-2222-3333-444444444444
rm -rf "$V"; mkdir -m 0700 "$V"
connected=
cleanup() {
  [ -n "$connected" ] && nvme disconnect -n "$CKM_TARGET" >/dev/null 2>&1
  rm -rf "$V"
}
trap cleanup EXIT
log() { echo "[verify] $*" >&2; }
yes_no() { if "$@" >/dev/null 2>&1; then echo true; else echo false; fi; }

lv=/dev/$CKM_VG/ckm-data
lv_bytes=$(blockdev --getsize64 "$lv")
head -c $((4 * MiB)) /dev/urandom > "$V/pattern"
dd if="$V/pattern" of="$lv" bs=1M oflag=direct conv=fsync status=none
log "wrote 4 MiB to $lv ($lv_bytes bytes)"

chap_matches=null wrong_secret_refused=null
case "$CKM_HELPER" in
  tgtadm|lioadm)
    if [ "$CKM_HELPER" = tgtadm ]; then
      read -r user secret < <(awk '$1 == "incominguser" {print $2, $3; exit}' "$CKM_VOLUMES_DIR/ckm-data")
    else
      acl=/sys/kernel/config/target/iscsi/$CKM_TARGET/tpgt_1/acls/$CKM_INITIATOR_IQN/auth
      user=$(cat "$acl/userid"); secret=$(cat "$acl/password")
    fi
    [ "$(printf %s "$secret" | sha256sum | cut -d' ' -f1)" = "$CKM_AUTH_SHA256" ] && chap_matches=true || chap_matches=false
    [ "$user" = "$CKM_AUTH_USER" ] || chap_matches=false
    (umask 077; printf %s "$secret" > "$V/secret")
    opts="driver=iscsi,transport=tcp,portal=127.0.0.1:$CKM_PORT,target=$CKM_TARGET,lun=$CKM_LUN"
    opts="$opts,user=$user,password-secret=s0,initiator-name=$CKM_INITIATOR_IQN"
    qemu-img convert --object "secret,id=s0,file=$V/secret" --image-opts "$opts" -O raw "$V/read.raw"
    initiator_bytes=$(stat -c %s "$V/read.raw")
    read_equal=$(yes_no cmp -n $((4 * MiB)) "$V/pattern" "$V/read.raw")
    log "read $initiator_bytes bytes through qemu-img (libiscsi) with CHAP; equal: $read_equal"
    url=iscsi://127.0.0.1:$CKM_PORT/$CKM_TARGET/$CKM_LUN
    if LIBISCSI_CHAP_USERNAME=$user LIBISCSI_CHAP_PASSWORD="wrong-$secret" \
        iscsi-readcapacity16 -i "$CKM_INITIATOR_IQN" "$url" >/dev/null 2>&1; then
      wrong_secret_refused=false
    else
      wrong_secret_refused=true
    fi
    if LIBISCSI_CHAP_USERNAME=$user LIBISCSI_CHAP_PASSWORD=$secret \
        iscsi-readcapacity16 -i "$INTRUDER_IQN" "$url" >/dev/null 2>&1; then
      other_refused=false
    else
      other_refused=true
    fi
    ;;
  nvmet)
    if nvme connect -t tcp -a 127.0.0.1 -s "$CKM_PORT" -n "$CKM_TARGET" --hostnqn "$INTRUDER_NQN" >/dev/null 2>&1; then
      other_refused=false
      nvme disconnect -n "$CKM_TARGET" >/dev/null 2>&1 || true
    else
      other_refused=true
    fi
    nvme connect -t tcp -a 127.0.0.1 -s "$CKM_PORT" -n "$CKM_TARGET" --hostnqn "$CKM_HOST_NQN" >&2
    connected=1
    dev=
    for _ in $(seq 1 100); do
      for sub in /sys/class/nvme-subsystem/*; do
        [ "$(cat "$sub/subsysnqn" 2>/dev/null)" = "$CKM_TARGET" ] || continue
        for ns in "$sub"/nvme*n*; do
          [ -e "$ns" ] && [ -b "/dev/${ns##*/}" ] && dev=/dev/${ns##*/}
        done
      done
      [ -n "$dev" ] && break
      sleep 0.3
    done
    [ -n "$dev" ] || { log "no namespace device for $CKM_TARGET"; exit 1; }
    initiator_bytes=$(blockdev --getsize64 "$dev")
    dd if="$dev" of="$V/read.raw" bs=1M count=4 iflag=direct status=none
    read_equal=$(yes_no cmp -n $((4 * MiB)) "$V/pattern" "$V/read.raw")
    log "read 4 MiB through $dev (nvme connect, $initiator_bytes bytes); equal: $read_equal"
    nvme disconnect -n "$CKM_TARGET" >&2
    connected=
    ;;
esac

cat <<EOF
{"lv_bytes": $lv_bytes, "initiator_bytes": $initiator_bytes, "read_equal": $read_equal,
 "chap_matches": $chap_matches, "wrong_secret_refused": $wrong_secret_refused,
 "other_initiator_refused": $other_refused,
 "lvs": $(lvs --reportformat json --units b --nosuffix -o lv_name,lv_size,origin,pool_lv,segtype "$CKM_VG")}
EOF
