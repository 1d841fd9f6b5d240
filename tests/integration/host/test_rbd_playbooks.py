# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host tier: the playbooks/ examples run as they are.

* rbd_volumes.yml against the test cluster, from a "client host" whose keyring the
  play installs (0600, never shown, also at -vvv);
* multi_host_lvm.yml against an inventory group of two LVM "hosts" (two loop VGs);

both with the same task file, both a no-change second run.
"""

import json
import os
import re
import stat
import subprocess
import sys
import uuid

import yaml

from support import ROOT

GiB = 1024 ** 3
PLAYBOOKS = os.path.join(ROOT, 'playbooks')


def run_playbook(tmp_path, playbook, inventory, extra=None, verbosity=0):
    results = str(tmp_path / ('results-%s.jsonl' % uuid.uuid4().hex[:6]))
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
            os.path.join(PLAYBOOKS, playbook), '-i', inventory]
    if extra:
        path = str(tmp_path / 'extra.json')
        with open(path, 'w') as fh:
            json.dump(extra, fh)
        argv += ['-e', '@' + path]
    if verbosity:
        argv.append('-' + 'v' * verbosity)
    env = dict(os.environ, ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.build', 'collections'),
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, 'tests', 'integration', 'callback_plugins'),
               ANSIBLE_CALLBACKS_ENABLED='ck_results', CK_RESULTS_FILE=results)
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=600, check=False)
    out = []
    if os.path.exists(results):
        with open(results) as fh:
            out = [json.loads(line) for line in fh if line.strip()]
    return proc, out


def failures(res):
    return [(r['_task'], r.get('msg')) for r in res if r['_status'] == 'failed']


def recap(stdout):
    """{host: {'ok': n, 'changed': n, 'failed': n, ...}} from PLAY RECAP."""
    out = {}
    for m in re.finditer(r'^(\S+)\s+:\s+(.*)$', stdout.split('PLAY RECAP')[-1], re.M):
        out[m.group(1)] = dict((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', m.group(2)))
    return out


def write_yaml(path, data):
    with open(str(path), 'w') as fh:
        yaml.safe_dump(data, fh)
    return str(path)


def test_rbd_play_from_a_client_host(ceph, tmp_path):
    key = re.search(r'key = (\S+)', open(ceph.cinder_keyring).read()).group(1)
    keyring = tmp_path / 'etc-ceph' / 'ceph.client.cinder.keyring'
    keyring.parent.mkdir()
    inv = write_yaml(tmp_path / 'inventory.yml', {'ceph_clients': {'hosts': {'client-a': {
        'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}}})
    extra = dict(ceph_conf=ceph.conf, ceph_pool=ceph.pool, ceph_user='cinder',
                 ceph_keyring=str(keyring), ceph_client_key=key,
                 ceph_libvirt_secret_uuid='b0c4f6a2-6a29-4f0e-9d43-8e3b7b8d6c11')
    proc, res = run_playbook(tmp_path, 'rbd_volumes.yml', inv, extra)
    assert proc.returncode == 0, (failures(res), proc.stderr[-3000:])
    assert recap(proc.stdout)['client-a']['failed'] == 0
    # the keyring the play wrote: 0600, used by the driver, never shown
    assert stat.S_IMODE(os.stat(str(keyring)).st_mode) == 0o600
    assert key in keyring.read_text()
    assert key not in proc.stdout + proc.stderr
    assert sorted(ceph.images()) == ['app-db', 'app-db-test', 'app-logs', 'app-scratch']
    assert ceph.size('app-db') == 2 * GiB and ceph.snaps('app-db') == ['app-db-nightly']
    assert ceph.size('app-db-test') == 3 * GiB
    assert ceph.parent('app-db-test') == '%s/app-db@app-db-nightly' % ceph.pool
    conn = next(r for r in res if r['_task'].startswith('Connection info'))['connection_info']
    assert conn['driver_volume_type'] == 'rbd' and conn['data']['name'] == '%s/app-db' % ceph.pool
    assert conn['data']['secret_uuid'] == 'b0c4f6a2-6a29-4f0e-9d43-8e3b7b8d6c11'
    report = next(r for r in res if r['_task'] == 'Report')['msg']
    assert 'app-db, app-logs, app-scratch on a ceph backend' in report, report
    assert 'test copy 3.0 GiB, grown online: True' in report, report

    # the same play again: nothing changes; at -vvv the key still never shows
    proc, dummy = run_playbook(tmp_path, 'rbd_volumes.yml', inv, extra, verbosity=3)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert recap(proc.stdout)['client-a']['changed'] == 0, proc.stdout[-3000:]
    assert key not in proc.stdout + proc.stderr


def test_same_tasks_on_a_group_of_lvm_hosts(loop_vg, tmp_path):
    vgs = {'stor-a': loop_vg(size_gb=8), 'stor-b': loop_vg(size_gb=8)}
    hosts = {}
    for host, vg in vgs.items():
        extra = vg.backend()
        hosts[host] = {'ansible_connection': 'local', 'lvm_volume_group': vg.name,
                       'lvm_backend_extra': extra}
    inv = write_yaml(tmp_path / 'inventory.yml', {'lvm_hosts': {
        'hosts': hosts,
        # no device-mapper on this host: no LVM snapshots or copies (the VM tier covers them)
        'vars': {'ansible_python_interpreter': sys.executable, 'lvm_type': 'default',
                 'app_snapshots': False}}})
    proc, res = run_playbook(tmp_path, 'multi_host_lvm.yml', inv)
    assert proc.returncode == 0, (failures(res), proc.stderr[-3000:])
    rc = recap(proc.stdout)
    assert set(rc) == {'stor-a', 'stor-b'} and all(r['failed'] == 0 for r in rc.values()), rc
    for host, vg in vgs.items():
        lvs = vg.lvs()
        assert {'app-db', 'app-logs', 'app-scratch'} <= set(lvs), (host, lvs)
        assert int(lvs['app-db']['lv_size']) == 2 * GiB
        assert 'ck.kind=volume' in lvs['app-db']['lv_tags']
    reports = [r['msg'] for r in res if r['_task'] == 'Report']
    assert len(reports) == 2 and all('on a iSCSI backend' in m for m in reports), reports
    proc, dummy = run_playbook(tmp_path, 'multi_host_lvm.yml', inv)
    assert proc.returncode == 0 and all(r['changed'] == 0 for r in recap(proc.stdout).values()), \
        proc.stdout[-3000:]
