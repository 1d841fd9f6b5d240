# -*- coding: utf-8 -*-
"""Fixtures of the contract suite: one rig per registered driver (rigs.py).

The Ceph cluster and the loop VG are the host tier's (tests/integration/host).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'host'))

import ceph_fixtures  # noqa: E402
import rigs  # noqa: E402


@pytest.fixture(scope='session')
def ceph_cluster():
    yield from ceph_fixtures.cluster()


@pytest.fixture
def rig_for(request, tmp_path):
    """rig_for(name) -> a fresh rig, torn down after the test."""
    closers = []

    def make(name):
        if name == 'file-reflink':
            xfs = rigs.XfsDir(tmp_path)
            closers.append(xfs.close)
            return rigs.FileRig(name, os.path.join(xfs.mnt, 'volumes'))
        if name == 'file-copy':
            return rigs.FileRig(name, str(tmp_path / 'volumes'))
        if name == 'rbd':
            ceph = request.getfixturevalue('ceph')
            return rigs.RbdRig(ceph)
        if name == 'lvm-metadata':
            return rigs.LvmRig(request.getfixturevalue('vg'))
        raise AssertionError('no rig %r' % name)
    yield make
    for close in reversed(closers):
        close()


@pytest.fixture
def ceph(ceph_cluster):
    yield from ceph_fixtures.emptied(ceph_cluster)
