# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the host tier.

``ceph_cluster`` (session): the one-node Ceph cluster (tests/harness/ceph.sh), started
once on first use and stopped (data removed) at the end of the session; fails loudly
when it cannot start.  ``ceph`` (function): the same cluster, pool emptied after the test.
See ceph_fixtures.py.
"""

import pytest

import ceph_fixtures
import export_support

# tgtd fixtures of export_support.py, shared by the tgt, export, role and manage tests
tgtd = export_support.tgtd
tgt_env = export_support.tgt_env


def pytest_collection_modifyitems(config, items):
    """Tests that use the cluster carry the ``ceph`` marker (``make ceph`` runs just them)."""
    for item in items:
        if 'ceph_cluster' in getattr(item, 'fixturenames', ()):
            item.add_marker(pytest.mark.ceph)


@pytest.fixture(scope='session')
def ceph_cluster():
    yield from ceph_fixtures.cluster()


@pytest.fixture
def ceph(ceph_cluster):
    yield from ceph_fixtures.emptied(ceph_cluster)
