# -*- coding: utf-8 -*-
"""Guest tier: the two-host playbooks end to end, with real sessions and real bytes.

playbooks/adopt_existing.yml adopts a host's existing LVs (a volume that already holds an
ext4 filesystem with a file, and its snapshot); playbooks/attach_volume.yml exports the
adopted volume (LIO, CHAP) to the compute host's initiator, attaches it there through
os-brick (an iscsiadm login to 127.0.0.1), keeps the existing filesystem and mounts it;
a second run changes nothing; the teardown unmounts, detaches and removes the export.

The Ansible controller is this host, as in a user's setup. The inventory has two hosts,
``stor`` (group storage) and ``comp`` (group compute), both the same machine: the data
flows between them through hostvars as it would between two machines. That machine is
this host when it has device-mapper (local connection), else a qemu guest booted with
tests/harness/vm.sh and reached over SSH (the modules run there, the controller here,
which keeps the emulated CPU's share small).
"""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

import pytest

from support import HAS_DM, ROOT

VM = os.path.join(ROOT, 'tests', 'harness', 'vm.sh')
VM_NAME = 'playbooks'
VG = 'ckpb'
IQN = 'iqn.2010-10.org.openstack:legacy-data'


class Machine(object):
    """Where the modules run: run(script) there, and the inventory lines that reach it."""

    def __init__(self):
        self.vm = not HAS_DM or bool(os.environ.get('CINDERKIT_FORCE_VM'))
        if self.vm:
            proc = subprocess.run([VM, 'start', VM_NAME], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, universal_newlines=True, check=False)
            if proc.returncode != 0:
                pytest.fail('vm.sh start %s failed (%d): %s' % (VM_NAME, proc.returncode, proc.stderr[-3000:]))
            host, port, key, user = proc.stdout.split()[-4:]
            self.work = '/mnt/scratch/playbooks'
            self.host_vars = ('ansible_host=%s ansible_port=%s ansible_user=%s ansible_ssh_private_key_file=%s '
                              'ansible_python_interpreter=%s' % (host, port, user, key, sys.executable))
        else:
            self.work = tempfile.mkdtemp(prefix='ckpb-', dir=os.environ.get('CINDERKIT_TEST_WORKDIR'))
            self.host_vars = 'ansible_connection=local ansible_python_interpreter=%s' % sys.executable

    def run(self, script, check=True):
        """Run a bash script on the machine; returns stdout."""
        script = 'set -euo pipefail\nexport PATH=$PATH:/usr/sbin:/sbin\nW=%s\n%s' % (shlex.quote(self.work), script)
        argv = ([VM, 'ssh', VM_NAME, 'bash -c %s' % shlex.quote(script)] if self.vm
                else ['bash', '-c', script])
        try:
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  universal_newlines=True, check=False, timeout=600)
        except subprocess.TimeoutExpired:
            pytest.fail('no answer in 600 s from:\n%s' % script)
        if check and proc.returncode != 0:
            where = 'guest' if self.vm else 'host'
            pytest.fail('on the %s, rc %d:\n%s\n%s\n%s' % (
                where, proc.returncode, script, proc.stdout[-2000:], proc.stderr[-2000:]))
        return proc.stdout

    def close(self):
        if self.vm:
            subprocess.call([VM, 'stop', VM_NAME])


# The LVs a host has before cinderkit: an LV with an ext4 filesystem and a file, and a
# snapshot of it, in a VG on a loop device with its own LVM config (only that loop device).
SETUP = r'''
mkdir -p "$W/lvm" "$W/mnt"
for m in dm_mod dm_snapshot target_core_mod iscsi_target_mod target_core_iblock iscsi_tcp; do modprobe "$m"; done
pidof iscsid >/dev/null || { iscsid </dev/null >/dev/null 2>&1; sleep 1; }   # no inherited pipe: ssh would wait on it
truncate -s 2G "$W/pv.img"
L=$(losetup --find --show "$W/pv.img")
{ cat /etc/lvm/lvm.conf
  echo 'global { activation = 1 }'
  echo 'activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }'
  echo "devices { obtain_device_list_from_udev = 0 global_filter = [ \"a|^$L\$|\", \"r|.*|\" ] }"
  echo 'backup { backup = 0 archive = 0 }'; } > "$W/lvm/lvm.conf"
cp -r /etc/lvm/profile "$W/lvm/profile"     # lvmdbusd's, for the modules' lvm shell
export LVM_SYSTEM_DIR=$W/lvm LVM_SUPPRESS_FD_WARNINGS=1
pvcreate -qy --metadatasize 16m "$L" >/dev/null
vgcreate -qy {vg} "$L" >/dev/null
lvcreate -qy -L 128m -n legacy-data {vg} >/dev/null
mkfs.ext4 -q /dev/{vg}/legacy-data
mount /dev/{vg}/legacy-data "$W/mnt"
head -c 4M /dev/urandom > "$W/mnt/before.bin"
sha256sum < "$W/mnt/before.bin" | cut -d' ' -f1 > "$W/before.sha"
umount "$W/mnt"
lvcreate -qy -s -L 32m -n legacy-data-snap {vg}/legacy-data >/dev/null
'''.replace('{vg}', VG)

TEARDOWN = r'''
umount "$W/mnt" 2>/dev/null || true
export LVM_SYSTEM_DIR=$W/lvm LVM_SUPPRESS_FD_WARNINGS=1
vgremove -qy --force {vg} >/dev/null 2>&1 || true
for d in $(losetup -j "$W/pv.img" | cut -d: -f1); do pvremove -qy "$d" >/dev/null 2>&1 || true; losetup -d "$d"; done
rm -rf "$W"
'''.replace('{vg}', VG)


@pytest.fixture(scope='module')
def machine():
    m = Machine()
    try:
        m.run(SETUP)
        yield m
    finally:
        try:
            m.run(TEARDOWN, check=False)
        finally:
            m.close()


def _play(m, playbook, extra):
    inv = os.path.join(tempfile.mkdtemp(prefix='ckpb-inv-'), 'inventory.ini')
    with open(inv, 'w') as fh:
        fh.write('[storage]\nstor %s\n[compute]\ncomp %s\n' % (m.host_vars, m.host_vars))
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='False',
               ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_PIPELINING='True',
               # ssh's banner exchange with a TCG guest's sshd took over Ansible's default 10 s
               # in CI, with three guests on the two cores (the play then failed UNREACHABLE)
               ANSIBLE_TIMEOUT='120',
               ANSIBLE_SSH_ARGS='-o ControlMaster=auto -o ControlPersist=300s -o UserKnownHostsFile=/dev/null',
               ANSIBLE_REMOTE_TMP='/tmp/ansible-remote',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.build', 'collections'))
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inv,
            os.path.join(ROOT, 'playbooks', playbook), '-e', json.dumps(extra)]
    t0 = time.time()
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=1500, check=False)
    print('%s %s: %.0fs' % (playbook, extra.get('attach_state', ''), time.time() - t0))
    assert proc.returncode == 0, proc.stdout[-6000:]
    recap = dict((g.group(1), dict(ok=int(g.group(2)), changed=int(g.group(3))))
                 for g in re.finditer(r'^(\w+)\s+: ok=(\d+)\s+changed=(\d+)', proc.stdout, re.M))
    return proc.stdout, recap


def _tags(m):
    out = m.run('LVM_SYSTEM_DIR=$W/lvm lvs --reportformat json -o lv_name,lv_tags %s' % VG)
    return dict((r['lv_name'], r['lv_tags']) for r in json.loads(out)['report'][0]['lv'])


def test_adopt_export_attach_mount_then_tear_down(machine):
    m = machine
    mnt = m.work + '/mnt'
    backend = dict(volume_driver='lvm', volume_group=VG, lvm_type='default',
                   lvm_conf_file=m.work + '/lvm/lvm.conf', volume_clear='zero',
                   target_helper='lioadm', target_ip_address='127.0.0.1', target_port=3260)

    out, recap = _play(m, 'adopt_existing.yml', dict(cinderkit_backend=backend))
    tags = _tags(m)
    assert 'ck.kind=volume' in tags['legacy-data'], tags
    assert 'ck.kind=snapshot' in tags['legacy-data-snap'], tags
    assert recap['stor']['changed'] == 2, out[-3000:]

    attach = dict(cinderkit_backend=backend, attach_volume='legacy-data', attach_create=False,
                  attach_mount=mnt)
    out, recap = _play(m, 'attach_volume.yml', attach)
    assert recap['comp']['changed'] >= 3 and recap['stor']['changed'] == 1, out[-3000:]
    seen = m.run('findmnt -n -o SOURCE --mountpoint "$W/mnt"; iscsiadm -m session; '
                 'sha256sum < "$W/mnt/before.bin" | cut -d" " -f1; cat "$W/before.sha"; '
                 'head -c 16M /dev/urandom > "$W/mnt/written-on-compute.bin"; sync "$W/mnt/written-on-compute.bin"; '
                 'sha256sum < "$W/mnt/written-on-compute.bin" | cut -d" " -f1').strip().split('\n')
    assert seen[0].startswith('/dev/sd'), seen          # the iSCSI disk, not the LV
    assert IQN in '\n'.join(seen), seen
    written = seen[-1]
    assert seen[-3] == seen[-2], seen                    # the filesystem (and its file) was kept
    secret_lines = [line for line in out.splitlines() if 'auth_password' in line]
    assert not [x for x in secret_lines if '********' not in x and 'censored' not in x.lower()], \
        secret_lines

    out, recap = _play(m, 'attach_volume.yml', attach)
    assert recap['comp']['changed'] == 0 and recap['stor']['changed'] == 0, out[-3000:]

    down = dict(attach, attach_state='absent', attach_delete_volume=False)
    out, recap = _play(m, 'attach_volume.yml', down)
    gone = m.run('findmnt --mountpoint "$W/mnt" >/dev/null && echo mounted; '
                 'iscsiadm -m session 2>/dev/null | grep -c legacy-data || true; '
                 'ls /var/lib/cinderkit/attachments/legacy-data.json 2>/dev/null || true; '
                 'ls -d /sys/kernel/config/target/iscsi/*:legacy-data 2>/dev/null || true').split()
    assert gone == ['0'], gone                        # unmounted, no session, no record, no LIO target
    # the bytes written on the compute host are on the LV of the storage host
    back = m.run('mount -o ro /dev/%s/legacy-data "$W/mnt"; '
                 'sha256sum < "$W/mnt/written-on-compute.bin" | cut -d" " -f1; '
                 'sha256sum < "$W/mnt/before.bin" | cut -d" " -f1; umount "$W/mnt"' % VG).split()
    assert back == [written, seen[-2]], (back, written)
    # the teardown is idempotent too
    out, recap = _play(m, 'attach_volume.yml', down)
    assert recap['comp']['changed'] == 0 and recap['stor']['changed'] == 0, out[-3000:]


def test_group_snapshot_under_a_writer_copy_multiattach_and_read_only_backup(machine):
    """playbooks/group_consistency.yml: three volumes in a group, a crash-consistent group
    snapshot while a writer runs (checked on the records it left), a group built from it (bytes
    equal), one volume exported to two hosts at once (both read it: os-brick on the compute host,
    libiscsi as a second initiator), a member snapshot exported read-only to a backup initiator
    (it reads the snapshot's bytes, its write is refused), then everything torn down."""
    m = machine
    backend = dict(volume_driver='lvm', volume_group=VG, lvm_type='default',
                   lvm_conf_file=m.work + '/lvm/lvm.conf', volume_clear='zero',
                   target_helper='lioadm', target_ip_address='127.0.0.1', target_port=3260)
    out, recap = _play(m, 'group_consistency.yml', dict(cinderkit_backend=backend,
                                                        gc_workdir=m.work + '/group'))
    assert recap['stor']['changed'] >= 8 and recap['comp']['changed'] >= 2, out[-3000:]
    left = _tags(m)
    assert not [lv for lv in left if lv.startswith('db-')], left     # the teardown removed them
    assert 'auth_password' not in out or 'censored' in out.lower()
