# -*- coding: utf-8 -*-
"""VM tier: two export tasks at once (two processes, 5 volumes each) against LIO and
against nvmet on one kernel.

Without the host locks both read the same saved config, and the last save drops the other
task's targets (and nvmet namespace/port choices collide).  Both must succeed, every
target must be live with the right backing device, and the saved config must hold all ten.
"""

import json
import os

import pytest

from export_support import child_result, go, module_child
from support import LoopVG, run_module, sh

N = 5
INITIATOR = 'iqn.1994-05.com.example:concurrent'
HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b'


def _two_at_once(backend, connector):
    """Start both tasks (their Python imports first), then let them go together."""
    plays = {}
    for who in ('a', 'b'):
        vols = [dict(volume='cc%s%d' % (who, i)) for i in range(N)]
        plays[who] = module_child('export', dict(backend=backend, volumes=vols, connector=connector))
    go(*plays.values())
    return dict((who, child_result(p)) for who, p in plays.items())


@pytest.fixture(scope='module')
def vg(kernel_targets):
    for m in ('target_core_mod', 'iscsi_target_mod', 'target_core_iblock', 'nvmet', 'nvmet-tcp'):
        sh(['modprobe', m])
    v = LoopVG(size_gb=2, activation=True)
    b = v.backend()
    res = run_module('volume', dict(backend=b, volumes=[
        dict(name='cc%s%d' % (w, i), size='8M') for w in 'ab' for i in range(N)]))
    assert not res.failed, res
    yield v
    v.close()


def _cleanup(backend):
    run_module('export', dict(backend=backend, volumes=[
        dict(volume='cc%s%d' % (w, i), state='absent') for w in 'ab' for i in range(N)]))


def test_two_lio_exports_at_once_keep_every_target_live_and_saved(vg):
    import rtslib_fb.root
    b = vg.backend(target_helper='lioadm', target_ip_address='127.0.0.1', target_port=3260)
    try:
        results = _two_at_once(b, dict(initiator=INITIATOR))
        for who, res in results.items():
            assert not res.get('failed'), (who, res.get('msg'))
            assert [e['action'] for e in res['exports']] == ['create'] * N
        want = dict(('iqn.2010-10.org.openstack:cc%s%d' % (w, i), '/dev/%s/cc%s%d' % (vg.name, w, i))
                    for w in 'ab' for i in range(N))
        root = rtslib_fb.root.RTSRoot()
        live = {}
        for t in root.targets:
            for tpg in t.tpgs:
                for lun in tpg.luns:
                    live[t.wwn] = os.path.realpath(lun.storage_object.udev_path)
        for iqn, path in want.items():
            assert live.get(iqn) == os.path.realpath(path), (iqn, live.get(iqn))
        saved = json.load(open(rtslib_fb.root.default_save_file))
        saved_iqns = set(t['wwn'] for t in saved['targets'])
        assert set(want) <= saved_iqns, sorted(set(want) - saved_iqns)
    finally:
        _cleanup(b)


def test_two_nvmet_exports_at_once_keep_every_subsystem_live_and_saved(vg):
    prefix = 'nvme-cc'
    b = vg.backend(target_helper='nvmet', target_protocol='nvmet_tcp', target_ip_address='127.0.0.1',
                   target_port=4421, target_prefix=prefix, nvmet_port_id=2)
    try:
        results = _two_at_once(b, dict(nqn=HOSTNQN))
        for who, res in results.items():
            assert not res.get('failed'), (who, res.get('msg'))
            assert [e['action'] for e in res['exports']] == ['create'] * N
        base = '/sys/kernel/config/nvmet/subsystems'
        saved = json.load(open('/etc/nvmet/config.json'))
        saved_nqns = set(s['nqn'] for s in saved.get('subsystems', []))
        for w in 'ab':
            for i in range(N):
                nqn = 'nqn.%s-cc%s%d' % (prefix, w, i)
                ns = os.listdir(os.path.join(base, nqn, 'namespaces'))
                assert len(ns) == 1, (nqn, ns)
                path = open(os.path.join(base, nqn, 'namespaces', ns[0], 'device_path')).read().strip()
                assert os.path.realpath(path) == os.path.realpath('/dev/%s/cc%s%d' % (vg.name, w, i))
                assert nqn in saved_nqns, nqn
    finally:
        _cleanup(b)
