# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Units of the RBD driver that need no cluster: options, names, qemu specs, addresses."""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    InvalidParameter, MissingDependency)
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import CommandRunner
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import load_backend
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import _rbd


def driver(**backend):
    cls, config = load_backend(dict(volume_driver='rbd', **backend))
    return cls(config, CommandRunner())


def test_cinder_names_and_defaults():
    for name in ('rbd', 'RBDDriver', 'cinder.volume.drivers.rbd.RBDDriver'):
        assert load_backend(dict(volume_driver=name))[0] is _rbd.RBDDriver
    c = driver().config
    assert (c.rbd_pool, c.rbd_user, c.rbd_ceph_conf, c.rbd_cluster_name, c.rbd_keyring_conf) == (
        'rbd', None, '', 'ceph', '')
    assert (c.rbd_flatten_volume_from_snapshot, c.rbd_max_clone_depth, c.rbd_store_chunk_size) == (
        False, 5, 4)
    assert (c.rados_connect_timeout, c.report_dynamic_total_capacity, c.rbd_exclusive_cinder_pool) == (
        -1, True, True)
    assert c.rbd_secret_uuid is None and c.target_helper is None   # native exports by default
    assert driver().backend_name == 'RBD'
    assert driver().order() == 22


def test_option_checks():
    with pytest.raises(InvalidParameter) as exc:
        load_backend(dict(volume_driver='rbd', rbd_max_clone_depth=-1))
    assert 'rbd_max_clone_depth' in str(exc.value)
    with pytest.raises(InvalidParameter) as exc:
        load_backend(dict(volume_driver='rbd', target_helper='lioadm'))
    assert 'target_helper' in str(exc.value)
    with pytest.raises(InvalidParameter) as exc:
        load_backend(dict(volume_driver='rbd', volume_group='x'))    # an LVM option
    assert "unknown option 'volume_group'" in str(exc.value)


@pytest.mark.parametrize('name,problem', [
    ('db01-data', None), ('a.b+c_d', None), ('', 'non-empty'), ('-x', 'must not start with "-"'),
    ('.x', 'must not start with "."'), ('a/b', "'/'"), ('a@b', "'@'"), ('a b', "' '"),
    ('é', "'é'"), ('v.clone_snap', '.clone_snap'), ('v.deleted', '.deleted'), ('x' * 251, 'limit is 250'),
])
def test_names(name, problem):
    got = _rbd.name_problem(name)
    assert (got is None) if problem is None else (problem in got), got


def test_qemu_spec_carries_no_secret_and_escapes():
    d = driver(rbd_pool='vol:s', rbd_user='cinder', rbd_ceph_conf='/etc/ceph/c:1.conf',
               rbd_keyring_conf='/etc/ceph/k', rbd_secure_mode=True)
    assert d.qemu_spec('img') == ('rbd:vol\\:s/img:id=cinder:conf=/etc/ceph/c\\:1.conf'
                                  ':keyring=/etc/ceph/k:ms_client_mode=secure:ms_mon_client_mode=secure')
    assert d.local_path('img') == d.qemu_spec('img')
    assert driver().qemu_spec('img', snap='s1') == 'rbd:rbd/img@s1'


@pytest.mark.parametrize('addr,expected', [
    ('10.0.0.1:6789/0', ('10.0.0.1', '6789')), ('[fd00::1]:3300/0', ('fd00::1', '3300')),
])
def test_mon_addresses(addr, expected):
    assert _rbd.parse_mon_addr(addr) == expected


def test_round_size_keeps_whole_mib():
    d = driver()
    assert d.round_size(1) == 1024 ** 2 and d.round_size(3 * 1024 ** 2) == 3 * 1024 ** 2


def test_missing_bindings_name_the_packages(monkeypatch):
    from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import _ceph
    monkeypatch.setattr(_ceph, 'HAS_RBD', False)
    monkeypatch.setattr(_ceph, 'RBD_IMPORT_ERROR', "ModuleNotFoundError: No module named 'rados'")
    with pytest.raises(MissingDependency) as exc:
        driver().check_for_setup_error()
    assert 'python3-rbd python3-rados' in str(exc.value) and "No module named 'rados'" in str(exc.value)
