# -*- coding: utf-8 -*-
"""VM tier: the two-host playbooks end to end, with real sessions and real bytes.

playbooks/adopt_existing.yml adopts a host's existing LVs (a volume that already holds an
ext4 filesystem with a file, and its snapshot); playbooks/attach_volume.yml exports the
adopted volume (LIO, CHAP) to the compute host's initiator, attaches it there through
os-brick (an iscsiadm login to 127.0.0.1), keeps the existing filesystem and mounts it;
a second run changes nothing; the teardown unmounts, detaches and removes the export.
The inventory has two hosts, ``stor`` (group storage) and ``comp`` (group compute), both
this guest over the local connection: the data flows between them through hostvars as it
would between two machines.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import time

import pytest

from support import ROOT, LoopVG, pattern, sh

MiB = 1024 ** 2


def _play(tmp, playbook, extra, check_recap=None):
    inv = os.path.join(tmp, 'inventory.ini')
    with open(inv, 'w') as fh:
        fh.write('[storage]\nstor ansible_connection=local ansible_python_interpreter=%s\n'
                 '[compute]\ncomp ansible_connection=local ansible_python_interpreter=%s\n'
                 % (sys.executable, sys.executable))
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='False',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.build', 'collections'))
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inv,
            os.path.join(ROOT, 'playbooks', playbook), '-e', json.dumps(extra)]
    t0 = time.time()
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=1200, check=False)
    print('%s %s: %.0fs' % (playbook, extra.get('attach_state', ''), time.time() - t0))
    assert proc.returncode == 0, proc.stdout[-6000:]
    recap = dict((m.group(1), dict(ok=int(m.group(2)), changed=int(m.group(3))))
                 for m in re.finditer(r'^(\w+)\s+: ok=(\d+)\s+changed=(\d+)', proc.stdout, re.M))
    return proc.stdout, recap


def _digest(path):
    with open(path, 'rb') as fh:
        return hashlib.sha256(fh.read()).hexdigest()


@pytest.fixture(scope='module')
def legacy(tmp_path_factory):
    from support import tool_missing
    missing = tool_missing('iscsiadm', 'iscsid', 'targetcli', 'mkfs.ext4', 'findmnt')
    if missing:
        pytest.fail('missing in the guest: %s' % ', '.join(missing))
    for m in ('target_core_mod', 'iscsi_target_mod', 'target_core_iblock', 'iscsi_tcp'):
        sh(['modprobe', m])
    started = None
    if subprocess.call(['pidof', 'iscsid'], stdout=subprocess.DEVNULL) != 0:
        sh(['iscsid'])
        time.sleep(1)
        started = sh(['pidof', 'iscsid']).stdout.split()
    vg = LoopVG(size_gb=2, activation=True)
    tmp = str(tmp_path_factory.mktemp('play'))
    yield vg, tmp
    sh(['umount', os.path.join(tmp, 'mnt')], check=False)
    vg.close()
    for pid in started or ():
        subprocess.call(['kill', pid])


def test_adopt_export_attach_mount_then_tear_down(legacy):
    vg, tmp = legacy
    dev = '/dev/%s/legacy-data' % vg.name
    # what a host has before cinderkit: an LV with a filesystem and a file, and a snapshot
    vg.lvm(['lvcreate', '--yes', '-L', '128m', '-n', 'legacy-data', vg.name])
    sh(['mkfs.ext4', '-q', dev])
    mnt = os.path.join(tmp, 'mnt')
    os.makedirs(mnt)
    sh(['mount', dev, mnt])
    with open(os.path.join(mnt, 'before.bin'), 'wb') as fh:
        fh.write(pattern(41, 4 * MiB))
    before = _digest(os.path.join(mnt, 'before.bin'))
    sh(['umount', mnt])
    vg.lvm(['lvcreate', '--yes', '-s', '-L', '32m', '-n', 'legacy-data-snap',
            '%s/legacy-data' % vg.name])
    backend = vg.backend(target_helper='lioadm', target_ip_address='127.0.0.1', target_port=3260)

    out, recap = _play(tmp, 'adopt_existing.yml', dict(cinderkit_backend=backend))
    lvs = vg.lvs()
    assert 'ck.kind=volume' in lvs['legacy-data']['lv_tags']
    assert 'ck.kind=snapshot' in lvs['legacy-data-snap']['lv_tags']
    assert recap['stor']['changed'] == 2, out[-3000:]

    attach = dict(cinderkit_backend=backend, attach_volume='legacy-data', attach_create=False,
                  attach_mount=mnt)
    out, recap = _play(tmp, 'attach_volume.yml', attach)
    assert recap['comp']['changed'] >= 3 and recap['stor']['changed'] == 1, out[-3000:]
    source = sh(['findmnt', '-n', '-o', 'SOURCE', '--mountpoint', mnt]).stdout.strip()
    assert source.startswith('/dev/sd'), source          # the iSCSI disk, not the LV
    sessions = sh(['iscsiadm', '-m', 'session']).stdout
    assert 'iqn.2010-10.org.openstack:legacy-data' in sessions
    assert _digest(os.path.join(mnt, 'before.bin')) == before     # the filesystem was kept
    new = pattern(42, 16 * MiB)
    with open(os.path.join(mnt, 'written-on-compute.bin'), 'wb') as fh:
        fh.write(new)
        os.fsync(fh.fileno())
    secret_lines = [line for line in out.splitlines() if 'auth_password' in line]
    assert not [x for x in secret_lines if '********' not in x and 'censored' not in x.lower()], \
        secret_lines

    out, recap = _play(tmp, 'attach_volume.yml', attach)
    assert recap['comp']['changed'] == 0 and recap['stor']['changed'] == 0, out[-3000:]

    out, recap = _play(tmp, 'attach_volume.yml', dict(attach, attach_state='absent',
                                                      attach_delete_volume=False))
    assert subprocess.call(['findmnt', '--mountpoint', mnt], stdout=subprocess.DEVNULL) != 0
    assert 'legacy-data' not in sh(['iscsiadm', '-m', 'session'], check=False).stdout
    assert not os.path.exists('/var/lib/cinderkit/attachments/legacy-data.json')
    import rtslib_fb
    assert not [t for t in rtslib_fb.RTSRoot().targets if t.wwn.endswith(':legacy-data')]
    # the bytes written on the compute host are on the LV of the storage host
    sh(['mount', '-o', 'ro', dev, mnt])
    try:
        with open(os.path.join(mnt, 'written-on-compute.bin'), 'rb') as fh:
            assert fh.read() == new
        assert _digest(os.path.join(mnt, 'before.bin')) == before
    finally:
        sh(['umount', mnt])
    # the teardown is idempotent too
    out, recap = _play(tmp, 'attach_volume.yml', dict(attach, attach_state='absent',
                                                      attach_delete_volume=False))
    assert recap['comp']['changed'] == 0 and recap['stor']['changed'] == 0, out[-3000:]
