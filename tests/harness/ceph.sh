#!/usr/bin/env bash
# ceph.sh - the project's throw-away one-node Ceph cluster for the host tier.
#
#   ceph.sh start    bootstrap a fresh cluster (1 mon, 1 bluestore OSD on a sparse file, 1 mgr,
#                    all on 127.0.0.1 or CINDERKIT_CEPH_ADDR, cephx on, pool size 1), create the pool, wait for HEALTH_OK
#   ceph.sh stop     stop the daemons (by recorded PID) and delete the data directory
#   ceph.sh status   ceph -s
#   ceph.sh env      shell variables a client needs:  eval "$(tests/harness/ceph.sh env)"
#
# No cephadm, containers, systemd or kernel modules: Debian's ceph-mon ceph-osd ceph-mgr
# ceph-common python3-rados (bindep.txt, profile test).  HEALTH_OK in about 6 s.
#
# Knobs (environment):
#   CINDERKIT_CEPH_DIR    data directory (default /var/tmp/cinderkit-ceph); everything lives here
#   CINDERKIT_CEPH_POOL   pool to create (default volumes), application rbd
#   CINDERKIT_CEPH_MSGR   secure (default): messenger v2 only, every connection encrypted
#                         (ms_{cluster,service,client}_mode and the ms_mon_* ones = secure, no v1);
#                         open: msgr2 "crc secure" plus v1, nothing required
#   CINDERKIT_CEPH_V2_PORT / _V1_PORT   monitor ports (default 13300 / 16789: not the well-known
#                         ones, so a lab cluster on this host does not collide)
#   CINDERKIT_CEPH_OSD_PORTS  "min max" bind range of the OSD and mgr (default "16800 16999")
#   CINDERKIT_CEPH_OSD_GB sparse OSD size (default 10)
#   CINDERKIT_CEPH_ADDR   the address every daemon binds to and advertises (default 127.0.0.1;
#                         vm-tier.sh gives this host's own address, so that a qemu guest on
#                         user networking reaches the cluster)
#   KEEP_DATA=1           stop keeps the data directory
#
# Users: client.admin (all caps) and client.cinder (profile rbd on the pool), keyrings
# $D/ceph.client.<user>.keyring, mode 0600.  Clients use CEPH_CONF=$D/ceph.conf.
set -eEuo pipefail

D=${CINDERKIT_CEPH_DIR:-/var/tmp/cinderkit-ceph}
CONF=$D/ceph.conf
POOL=${CINDERKIT_CEPH_POOL:-volumes}
MSGR=${CINDERKIT_CEPH_MSGR:-secure}
ADDR=${CINDERKIT_CEPH_ADDR:-127.0.0.1}
V2=${CINDERKIT_CEPH_V2_PORT:-13300}
V1=${CINDERKIT_CEPH_V1_PORT:-16789}
read -r PMIN PMAX <<<"${CINDERKIT_CEPH_OSD_PORTS:-16800 16999}"
OSD_GB=${CINDERKIT_CEPH_OSD_GB:-10}
WAIT_TIMEOUT=${CINDERKIT_CEPH_WAIT:-120}
PY=/usr/bin/python3   # python3-rados is built for Debian's python3 only
export CEPH_CONF=$CONF

T0=$(date +%s.%N)
log() { printf '[ceph %6.2fs] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN{print a-b}')" "$*"; }
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

mon_addrs() {
  if [ "$MSGR" = secure ]; then echo "[v2:$ADDR:$V2]"; else echo "[v2:$ADDR:$V2,v1:$ADDR:$V1]"; fi
}

write_conf() {
  umask 022
  cat > "$CONF" <<EOF
# cinderkit test cluster (tests/harness/ceph.sh) - throw-away, one node
[global]
fsid = $FSID
mon initial members = a
mon host = $(mon_addrs)
public addr = $ADDR
cluster addr = $ADDR
public network = $ADDR/32
ms bind ipv4 = true
ms bind ipv6 = false
ms bind port min = $PMIN
ms bind port max = $PMAX
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
paxos propose interval = 0.05
paxos min wait = 0.01
mon osd prime pg temp = false
mgr stats period = 1
mgr tick period = 1
mgr initial modules = iostat
run dir = $D/run
pid file = $D/run/\$type.\$id.pid
admin socket = $D/run/\$cluster-\$name.asok
log file = $D/log/\$cluster-\$name.log
mon cluster log file = $D/log/\$cluster.log
crash dir = $D/crash
log to stderr = false
err to stderr = true
EOF
  if [ "$MSGR" = secure ]; then
    cat >> "$CONF" <<EOF
# every connection encrypted (msgr2 secure mode), no messenger v1 at all
ms bind msgr1 = false
ms cluster mode = secure
ms service mode = secure
ms client mode = secure
ms mon cluster mode = secure
ms mon service mode = secure
ms mon client mode = secure
EOF
  fi
  cat >> "$CONF" <<EOF

[client]
keyring = $D/ceph.\$name.keyring
admin socket =
log file = $D/log/client.log

[mon]
mon data = $D/mon/\$cluster-\$id
keyring = $D/mon/\$cluster-\$id/keyring

[mgr]
mgr data = $D/mgr/\$cluster-\$id
keyring = $D/mgr/\$cluster-\$id/keyring
mgr disabled modules = diskprediction_local nfs restful

[osd]
osd data = $D/osd/\$cluster-\$id
keyring = $D/osd/\$cluster-\$id/keyring
osd objectstore = bluestore
bluestore block path = $D/osd/\$cluster-\$id/block.img
bluestore block create = true
bluestore block size = $((OSD_GB * 1024 * 1024 * 1024))
bluestore block db create = false
bluestore block wal create = false
bluestore fsck on mount = false
bluestore fsck on mkfs = false
osd memory target = 1073741824
osd crush update on start = false
osd class update on start = false
EOF
}

spawn() {  # spawn NAME CMD... : own session, PID recorded
  local name=$1; shift
  setsid "$@" </dev/null >"$D/log/$name.stdout" 2>&1 &
  echo $! > "$D/run/$name.pid"
}

mon_cmds() {  # JSON mon commands, one librados session
  "$PY" - "$CONF" "$@" <<'EOF'
import sys, rados
c = rados.Rados(conffile=sys.argv[1], rados_id='admin'); c.connect(timeout=15)
for cmd in sys.argv[2:]:
    ret, out, err = c.mon_command(cmd, b"", timeout=30)
    if ret not in (0, -17):
        sys.exit("mon command %s failed: %d %s" % (cmd, ret, err))
c.shutdown()
EOF
}

wait_ready() {  # HEALTH_OK, all PGs active+clean, the pool takes I/O
  "$PY" - "$CONF" "$WAIT_TIMEOUT" "$POOL" <<'EOF'
import json, sys, time, rados
conf, timeout, pool = sys.argv[1], float(sys.argv[2]), sys.argv[3]
c = rados.Rados(conffile=conf, rados_id='admin'); c.conf_set("rados_osd_op_timeout", "30"); c.connect(timeout=15)
deadline, last = time.time() + timeout, None
while time.time() < deadline:
    s = json.loads(c.mon_command(json.dumps({"prefix": "status", "format": "json"}), b"")[1])
    pgs, npg = s["pgmap"].get("pgs_by_state", []), s["pgmap"].get("num_pgs", 0)
    clean = sum(p["count"] for p in pgs if p["state_name"] == "active+clean")
    cur = (s["health"]["status"], s["osdmap"]["num_up_osds"], clean, npg, sorted(s["health"].get("checks", {})))
    if cur != last:
        print("   health=%s up_osds=%d active+clean=%d/%d checks=%s" % cur, flush=True); last = cur
    if cur[0] == "HEALTH_OK" and cur[1] >= 1 and npg > 0 and clean == npg:
        with c.open_ioctx(pool) as io:
            io.write_full("cinderkit-probe", b"ok"); assert io.read("cinderkit-probe") == b"ok"
            io.remove_object("cinderkit-probe")
        sys.exit(0)
    time.sleep(0.25)
sys.exit("timeout waiting for HEALTH_OK")
EOF
}

term_wait() {  # SIGTERM the named daemons, bounded wait, SIGKILL stragglers
  local pids=() n p
  for n in "$@"; do
    [ -f "$D/run/$n.pid" ] || continue
    p=$(cat "$D/run/$n.pid")
    if alive "$p"; then kill -TERM "$p"; pids+=("$p"); fi
  done
  local deadline=$(( $(date +%s) + 10 ))
  for p in ${pids[@]+"${pids[@]}"}; do
    while alive "$p"; do
      if [ "$(date +%s)" -ge "$deadline" ]; then kill -KILL "$p" 2>/dev/null || true; fi
      sleep 0.05
    done
  done
}

start() {
  if [ -f "$D/run/mon.a.pid" ] && alive "$(cat "$D/run/mon.a.pid")"; then
    echo "ceph.sh: already running in $D (mon pid $(cat "$D/run/mon.a.pid"))" >&2; exit 1
  fi
  for t in ceph-mon ceph-osd ceph-mgr ceph-authtool monmaptool uuidgen; do
    command -v "$t" >/dev/null || { echo "ceph.sh: $t missing (make deps)" >&2; exit 1; }
  done
  rm -rf "$D"
  mkdir -p "$D"/{run,log,crash,mon/ceph-a,osd/ceph-0,mgr/ceph-x}
  chmod 700 "$D"
  trap 'echo "ceph.sh start FAILED - logs in $D/log:" >&2; tail -n 5 "$D"/log/*.log "$D"/log/*.mkfs "$D"/log/*.stdout >&2 2>/dev/null; KEEP_DATA=1 stop >&2' ERR
  FSID=$(uuidgen); OSD_UUID=$(uuidgen)
  write_conf
  log "conf $CONF (fsid $FSID, messenger: $MSGR)"
  local K=$D/mon.keyring
  ( umask 077
    ceph-authtool --create-keyring "$K" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool --create-keyring "$D/ceph.client.admin.keyring" --gen-key -n client.admin \
        --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
    ceph-authtool --create-keyring "$D/ceph.client.cinder.keyring" --gen-key -n client.cinder \
        --cap mon 'profile rbd' --cap osd "profile rbd pool=$POOL" --cap mgr "profile rbd pool=$POOL" >/dev/null
    ceph-authtool --create-keyring "$D/osd/ceph-0/keyring" --gen-key -n osd.0 \
        --cap mon 'allow profile osd' --cap mgr 'allow profile osd' --cap osd 'allow *' >/dev/null
    ceph-authtool --create-keyring "$D/mgr/ceph-x/keyring" --gen-key -n mgr.x \
        --cap mon 'allow profile mgr' --cap osd 'allow *' --cap mds 'allow *' >/dev/null
    for k in "$D/ceph.client.admin.keyring" "$D/ceph.client.cinder.keyring" "$D/osd/ceph-0/keyring" "$D/mgr/ceph-x/keyring"; do
      ceph-authtool "$K" --import-keyring "$k" >/dev/null
    done )
  monmaptool --create --fsid "$FSID" --addv a "$(mon_addrs)" "$D/monmap" >/dev/null
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" --no-mon-config >"$D/log/osd.0.mkfs" 2>&1 &
  local MKFS_PID=$!
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$D/monmap" --keyring "$K" >"$D/log/mon.a.mkfs" 2>&1
  spawn mon.a ceph-mon -c "$CONF" -i a -f
  spawn mgr.x ceph-mgr -c "$CONF" -i x -f
  log "mon pid $(cat "$D/run/mon.a.pid"), mgr pid $(cat "$D/run/mgr.x.pid")"
  mon_cmds "{\"prefix\":\"osd new\",\"uuid\":\"$OSD_UUID\",\"id\":0}" \
    "{\"prefix\":\"osd crush add\",\"id\":0,\"name\":\"osd.0\",\"weight\":$(awk -v g="$OSD_GB" 'BEGIN{printf "%.4f", g/1024}'),\"args\":[\"host=$(hostname -s)\",\"root=default\"]}" \
    "{\"prefix\":\"osd crush set-device-class\",\"class\":\"hdd\",\"ids\":[\"0\"]}" \
    "{\"prefix\":\"osd pool create\",\"pool\":\"$POOL\",\"pg_num\":8,\"pgp_num\":8,\"pool_type\":\"replicated\"}" \
    "{\"prefix\":\"osd pool application enable\",\"pool\":\"$POOL\",\"app\":\"rbd\"}"
  if ! wait $MKFS_PID; then cat "$D/log/osd.0.mkfs" >&2; echo "osd mkfs failed" >&2; false; fi
  spawn osd.0 ceph-osd -c "$CONF" -i 0 -f
  log "osd pid $(cat "$D/run/osd.0.pid"); waiting for HEALTH_OK"
  wait_ready
  trap - ERR
  log "ready: pool $POOL.  eval \"\$($0 env)\""
}

stop() {
  term_wait osd.0 mgr.x   # while the mon can still ack the OSD going down
  term_wait mon.a
  if [ "${KEEP_DATA:-0}" != 1 ]; then rm -rf "$D"; fi
  log "stopped${KEEP_DATA:+ (data kept in $D)}"
}

env_() {
  cat <<EOF
export CEPH_CONF=$CONF
export CINDERKIT_CEPH_DIR=$D
export CINDERKIT_CEPH_POOL=$POOL
export CINDERKIT_CEPH_MSGR=$MSGR
export CINDERKIT_CEPH_MON_V2=$ADDR:$V2
export CINDERKIT_CEPH_ADMIN_KEYRING=$D/ceph.client.admin.keyring
export CINDERKIT_CEPH_CINDER_KEYRING=$D/ceph.client.cinder.keyring
EOF
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) ceph -c "$CONF" --id admin --connect-timeout 10 -s ;;
  env) env_ ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
