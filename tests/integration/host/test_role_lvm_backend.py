# -*- coding: utf-8 -*-
"""Host tier: roles/lvm_backend on loop devices (LVM metadata with activation off)."""

import json
import os
import shutil
import tempfile
import uuid

import pytest

from support import HAS_DM, WORKDIR, sh


class Loops(object):
    def __init__(self, n=2, size_gb=1):
        os.makedirs(WORKDIR, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix='cklvmrole-', dir=WORKDIR)
        self.conf_dir = os.path.join(self.dir, 'lvm')
        os.makedirs(self.conf_dir)
        base = open('/etc/lvm/lvm.conf').read() if os.path.exists('/etc/lvm/lvm.conf') else ''
        with open(os.path.join(self.conf_dir, 'lvm.conf'), 'w') as fh:
            fh.write(base + '\nglobal { activation = %d }\n' % (1 if HAS_DM else 0))
            if not HAS_DM:
                fh.write('activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }\n')
            fh.write('devices { obtain_device_list_from_udev = 0 }\nbackup { backup = 0 archive = 0 }\n')
        self.env = {'LVM_SYSTEM_DIR': self.conf_dir, 'LVM_SUPPRESS_FD_WARNINGS': '1'}
        self.loops = []
        self.vgs = []
        for i in range(n):
            f = os.path.join(self.dir, 'd%d.img' % i)
            with open(f, 'wb') as fh:
                fh.truncate(size_gb * 1024 ** 3)
            self.loops.append(sh(['losetup', '--find', '--show', f]).stdout.strip())

    def lvm(self, argv, check=True):
        return sh(argv, env=self.env, check=check)

    def vg(self, name):
        out = self.lvm(['vgs', '--reportformat', 'json', '-o', 'vg_name,pv_count', name],
                       check=False)
        if out.returncode:
            return None
        return json.loads(out.stdout)['report'][0]['vg'][0]

    def close(self):
        for vg in self.vgs:
            self.lvm(['vgremove', '--yes', '--force', vg], check=False)
        for loop in self.loops:
            self.lvm(['pvremove', '--yes', '--force', '--force', loop], check=False)
            sh(['losetup', '--detach', loop], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def loops(need):
    need('losetup', 'pvcreate', 'blkid', 'mkfs.ext4')
    lo = Loops()
    yield lo
    lo.close()


def role(loops, vg, devices, **over):
    v = dict(lvm_backend_devices=devices, lvm_backend_vg=vg, lvm_backend_environment=loops.env)
    v.update(over)
    return {'name': 'lvm_backend', 'ansible.builtin.include_role': {'name': 'cinderkit.storage.lvm_backend'},
            'vars': v}


def summary(results):
    """(anything changed, failed results); a looped task's failure is in its items."""
    failed = []
    for r in results:
        items = [x for x in r.get('results', []) if isinstance(x, dict) and x.get('failed')]
        if r.get('failed') or r.get('_status') == 'failed' or items:
            failed.append(items[0] if items else r)
    return any(r.get('changed') for r in results), failed


def test_vg_from_two_devices_then_nothing_changes(loops, play):
    vg = 'ckr%s' % uuid.uuid4().hex[:6]
    loops.vgs.append(vg)
    changed, failed = summary(play.run([role(loops, vg, loops.loops[:1])]))
    assert changed and not failed, failed
    assert loops.vg(vg)['pv_count'] == '1'
    # a second device extends the VG; a rerun changes nothing
    changed, failed = summary(play.run([role(loops, vg, loops.loops)]))
    assert changed and not failed, failed
    assert loops.vg(vg)['pv_count'] == '2'
    changed, failed = summary(play.run([role(loops, vg, loops.loops)]))
    assert not changed and not failed, failed


def test_a_device_with_data_is_refused_unless_forced(loops, play):
    vg = 'ckr%s' % uuid.uuid4().hex[:6]
    loops.vgs.append(vg)
    sh(['mkfs.ext4', '-q', '-F', loops.loops[0]])
    changed, failed = summary(play.run([role(loops, vg, loops.loops[:1])]))
    assert failed and not changed
    msg = failed[0]['msg']
    assert 'holds data' in msg and 'TYPE=ext4' in msg and 'lvm_backend_force' in msg
    assert loops.vg(vg) is None
    assert 'ext4' in sh(['blkid', '-p', '-o', 'export', loops.loops[0]], check=False).stdout
    changed, failed = summary(play.run([role(loops, vg, loops.loops[:1], lvm_backend_force=True)]))
    assert changed and not failed, failed
    assert loops.vg(vg)['pv_count'] == '1'


def test_a_pv_of_another_vg_is_refused_even_forced(loops, play):
    other = 'ckr%s' % uuid.uuid4().hex[:6]
    vg = 'ckr%s' % uuid.uuid4().hex[:6]
    loops.vgs += [other, vg]
    loops.lvm(['pvcreate', '--yes', loops.loops[0]])
    loops.lvm(['vgcreate', '--yes', other, loops.loops[0]])
    changed, failed = summary(play.run([role(loops, vg, loops.loops[:1], lvm_backend_force=True)]))
    assert failed and not changed
    assert 'volume group %s' % other in failed[0]['msg']
    assert loops.vg(vg) is None


def test_argument_specs_refuse_bad_input(loops, play):
    results = play.run([role(loops, 'x', 'not-a-list-but-a-string', lvm_backend_thin_pool='maybe')])
    changed, failed = summary(results)
    assert failed and not changed
    assert 'lvm_backend_thin_pool' in failed[0]['msg']
