# -*- coding: utf-8 -*-
"""VM tier: the target-helper contract (tests/integration/contract/target_scenarios.py) on LIO
(iscsiadm) and nvmet (nvme connect), each exporting an LV that holds known bytes."""

import glob
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'contract'))

import test_export_lio as lio_t  # noqa: E402
import test_export_nvmet as nvmet_t  # noqa: E402
from support import pattern, run_module  # noqa: E402
from target_scenarios import TARGET_SCENARIOS  # noqa: E402
from test_export_lio import lio, need_tools  # noqa: E402,F401 pylint: disable=unused-import
from test_export_nvmet import nvmet  # noqa: E402,F401 pylint: disable=unused-import

MiB = 1024 ** 2


def _tree_of_backstores():
    return glob.glob('/sys/kernel/config/target/core/*/*')


def _tree(pattern):
    out = []
    for root in glob.glob(pattern) or [pattern]:
        out += _walk(root)
    return sorted(out)


def _walk(root):
    out = []
    for top, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            full = os.path.join(top, name)
            if os.path.islink(full):
                out.append((full, os.readlink(full)))
            elif not os.path.isfile(full):
                out.append((full,))
    return sorted(out)


def _saved(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (IOError, OSError, ValueError):
        return None


class _LvRig(object):
    def __init__(self, vg, backend, volume):
        self.backend = backend
        self.volume = volume
        res = run_module('volume', dict(backend=backend, name=volume, size='64M'))
        assert not res.failed, res
        self.device = res['volume']['path']
        self.data = pattern(13, MiB)
        fd = os.open(self.device, os.O_WRONLY)
        try:
            os.pwrite(fd, self.data, 0)
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self):
        run_module('export', dict(backend=self.backend, volume=self.volume, state='absent'))
        run_module('volume', dict(backend=self.backend, name=self.volume, state='absent'))


class LioRig(_LvRig):
    volume_type = 'iscsi'
    other = 'iqn.1994-05.com.example:not-this-host'

    def __init__(self, vg):
        super(LioRig, self).__init__(vg, vg.backend(target_helper='lioadm', target_ip_address='127.0.0.1',
                                                    target_port=3260), 'ctlio')
        self.initiator = lio_t.initiator_name()

    def _login(self, res):
        d = res['connection_info']['data']
        return d['target_iqn'], lio_t.login(d['target_iqn'], d['auth_username'], d['auth_password'])

    def read(self, res, size):
        iqn, p = self._login(res)
        try:
            assert p.returncode == 0, p.stderr
            return lio_t.read(lio_t.session_device(iqn), size)
        finally:
            lio_t.logout(iqn)

    def login_refused(self, res):
        iqn, p = self._login(res)
        lio_t.logout(iqn)
        return p.returncode != 0

    def state(self):
        """The exports' own objects, live and saved: targets with their TPGs, LUNs, ACLs and
        portals, and the backstores (not the fabric's own directories, made on first use)."""
        saved = _saved('/etc/target/saveconfig.json') or {}
        return (_tree('/sys/kernel/config/target/iscsi/iqn.*'),
                sorted(_tree_of_backstores()),
                sorted(t.get('wwn') for t in saved.get('targets', [])),
                sorted(so.get('name') for so in saved.get('storage_objects', [])))


class NvmetRig(_LvRig):
    volume_type = 'nvmeof'
    other = nvmet_t.OTHER_NQN

    def __init__(self, vg):
        super(NvmetRig, self).__init__(vg, vg.backend(
            target_helper='nvmet', target_protocol='nvmet_tcp', target_ip_address='127.0.0.1',
            target_port=nvmet_t.PORT, target_prefix=nvmet_t.PREFIX), 'ctnvme')
        self.initiator = nvmet_t.host_nqn()

    def read(self, res, size):
        nqn = res['connection_info']['data']['nqn']
        ok = nvmet_t.connect(nqn, self.initiator)
        try:
            assert ok.returncode == 0, ok.stderr
            return nvmet_t.read(nvmet_t.namespace_device(nqn), size)
        finally:
            nvmet_t.disconnect(nqn)

    def login_refused(self, res):
        nqn = res['connection_info']['data']['nqn']
        p = nvmet_t.connect(nqn, self.initiator)
        if p.returncode == 0:
            nvmet_t.disconnect(nqn)
        return p.returncode != 0

    def state(self):
        """The exports' own objects, live and saved: subsystems (namespaces, allowed hosts),
        host entries and port links (not the ports: they stay for the next export)."""
        saved = _saved('/etc/nvmet/config.json') or {}
        root = '/sys/kernel/config/nvmet'
        return (_tree(root + '/subsystems'), _tree(root + '/hosts'),
                sorted(glob.glob(root + '/ports/*/subsystems/*')),
                sorted(s.get('nqn') for s in saved.get('subsystems', [])),
                sorted(h.get('nqn') for h in saved.get('hosts', [])),
                sorted((p.get('portid'), n) for p in saved.get('ports', [])
                       for n in p.get('subsystems', [])))


@pytest.mark.parametrize('scenario', sorted(TARGET_SCENARIOS))
def test_lio_contract(lio, scenario):
    rig = LioRig(lio)
    try:
        TARGET_SCENARIOS[scenario](rig)
    finally:
        rig.close()


@pytest.mark.parametrize('scenario', sorted(TARGET_SCENARIOS))
def test_nvmet_contract(nvmet, scenario):
    rig = NvmetRig(nvmet)
    try:
        TARGET_SCENARIOS[scenario](rig)
    finally:
        rig.close()
