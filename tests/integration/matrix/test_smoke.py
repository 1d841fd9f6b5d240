# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The version matrix's smoke (tests/harness/matrix.sh runs it in each matrix venv).

smoke.yml with this venv's ansible-playbook, once per managed-node Python in
MATRIX_MANAGED_PYTHONS (comma list; default: this interpreter): an LVM-metadata VG on a loop
device and an isolated tgtd (LVM makes no snapshot without device-mapper: the snapshot is taken
on a file-driver volume in a plain directory); between the play's ``up`` and ``down`` phases the export is logged
into with libiscsi, and after ``down`` nothing the play made is left.
"""

import json
import os
import subprocess
import sys
import uuid

import pytest

from support import ROOT, LoopVG
from export_support import GOOD_IQN, TgtEnv, TgtDaemon, iscsi_login_ok

HERE = os.path.dirname(os.path.abspath(__file__))
CHAP = dict(username='smoke-user', password='Smoke-%s' % uuid.uuid4().hex[:12])
MANAGED = [p for p in os.environ.get('MATRIX_MANAGED_PYTHONS', sys.executable).split(',') if p]


def python_version(interpreter):
    out = subprocess.run([interpreter, '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    return out.strip()


def smoke(phase, interpreter, backend, file_backend, device, tmp_path):
    results = str(tmp_path / ('results-%s-%s.jsonl' % (phase, uuid.uuid4().hex[:6])))
    extra = dict(smoke_phase=phase, smoke_backend=backend, smoke_file_backend=file_backend,
                 smoke_device=device,
                 smoke_initiator=GOOD_IQN, smoke_chap=CHAP, smoke_python=python_version(interpreter),
                 ansible_python_interpreter=interpreter)
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='False',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.build', 'collections'),
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, 'tests', 'integration', 'callback_plugins'),
               ANSIBLE_CALLBACKS_ENABLED='ck_results', CK_RESULTS_FILE=results)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                           os.path.join(HERE, 'smoke.yml'), '-i', 'localhost,', '-c', 'local',
                           '-e', json.dumps(extra)],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    with open(results) as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.mark.parametrize('interpreter', MANAGED, ids=[os.path.basename(os.path.dirname(
    os.path.dirname(p))) for p in MANAGED])
def test_smoke_play(interpreter, need, tmp_path):
    need('tgtd', 'tgtadm', 'lvcreate', 'iscsi-readcapacity16', 'qemu-img')
    assert os.access(interpreter, os.X_OK), 'managed-node Python %s is missing' % interpreter
    tgtd = TgtDaemon()
    vg = None
    try:
        vg = LoopVG(size_gb=4)
        env = TgtEnv(tgtd, tmp_path)
        backend = vg.backend(volume_backend_name='smoke', **env.backend)
        files = tmp_path / 'files'
        files.mkdir()
        file_backend = dict(volume_driver='file', file_volume_dir=str(files))
        up = smoke('up', interpreter, backend, file_backend, env.file, tmp_path)
        iqn = 'iqn.2010-10.org.openstack:smoke-vol'
        # the export lets the initiator in with the CHAP it was given, and not without
        assert iscsi_login_ok(tgtd.port, iqn, CHAP['username'], CHAP['password'])[0]
        assert not iscsi_login_ok(tgtd.port, iqn)[0]
        assert 'smoke-vol' in vg.lvs()
        assert (files / '.snapshots' / 'smoke-file' / 'smoke-snap').is_file()
        assert [r['_status'] for r in up].count('ok') == 11, [(r['_task'], r['_status']) for r in up]
        smoke('down', interpreter, backend, file_backend, env.file, tmp_path)
        assert 'smoke-vol' not in vg.lvs()
        assert not (files / 'smoke-file').exists()
        assert not (files / '.snapshots' / 'smoke-file' / 'smoke-snap').exists()
        assert iqn not in tgtd.targets()
    finally:
        if vg is not None:
            vg.close()
        tgtd.close()
