# -*- coding: utf-8 -*-
"""The driver contract, on every registered driver this host can run: ``file`` (XFS with
reflink, and a directory without it), RBD (the one-node Ceph) and LVM (metadata only here;
tests/integration/vm/test_contract_lvm.py runs the same scenarios on LVM's bytes)."""

import pytest

from rigs import HOST_RIGS
from scenarios import SCENARIOS, applies

RIG_DRIVERS = {'file-reflink': 'file', 'file-copy': 'file', 'rbd': 'rbd', 'lvm-metadata': 'lvm'}


class _Probe(object):
    """What applies() needs of a rig, without making one."""

    def __init__(self, name):
        self.driver = RIG_DRIVERS[name]
        self.data = name != 'lvm-metadata'


CASES = [(r, s) for r in HOST_RIGS for s in sorted(SCENARIOS) if applies(_Probe(r), s)]


def test_every_registered_driver_has_a_rig():
    from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import (
        registered_drivers)
    assert set(registered_drivers()) <= set(RIG_DRIVERS.values()), (
        'a driver without a contract rig: add one to tests/integration/contract/rigs.py')


@pytest.mark.parametrize('rig_name,scenario', CASES, ids=['%s-%s' % c for c in CASES])
def test_contract(rig_for, tmp_path, rig_name, scenario):
    rig = rig_for(rig_name)
    SCENARIOS[scenario][0](rig, tmp_path)


def test_the_contract_catches_a_driver_that_breaks_it(rig_for, tmp_path, monkeypatch):
    """The negative control: a file driver whose copies keep the size and lose the bytes
    fails the snapshot scenario (so a pass means the bytes were checked)."""
    from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import _file

    def hollow_copy(self, src_path, dst_path, size_bytes):
        with open(dst_path, 'wb') as fh:
            fh.truncate(max(size_bytes, __import__('os').path.getsize(src_path)))
        return 'hollow'
    monkeypatch.setattr(_file.FileDriver, '_copy_into', hollow_copy)
    with pytest.raises(AssertionError) as info:
        SCENARIOS['snapshots_and_clones'][0](rig_for('file-copy'), tmp_path)
    assert 'volume from snapshot' in str(info.value) or 'clone' in str(info.value)
