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


# -- groups: the pure parts of the inventory ------------------------------------------------
class Img(object):
    """The fields of an RBDImage that read_groups reads."""

    def __init__(self, name, group=None, snaps=()):
        self.name = name
        self.group = dict(pool=1, name=group) if group else None
        self.snaps = list(snaps)


def gsnap(snap_id, group, name, pool=1):
    return dict(id=snap_id, name='.group.%d_gid_%d' % (pool, snap_id), size=1, namespace=1,
                group=dict(pool=pool, name=group, snap=name))


def test_group_directory_and_record_parse():
    def enc(value):
        return len(value).to_bytes(4, 'little') + value.encode()
    omap = {'name_g': enc('abc1'), 'id_abc1': enc('g'), 'name_bad': b'\x09\x00', 'name_h': enc('x2')}
    assert _rbd.parse_group_directory(omap) == {'g': 'abc1', 'h': 'x2'}
    rec = _rbd.parse_record({'group.g': b'{"id": "abc1"}', 'group.x': b'not json',
                             'group.y': b'[1]'})
    assert rec == {'group.g': {'id': 'abc1'}}          # malformed entries own nothing


def test_read_groups_ownership_by_recorded_id():
    images = [Img('a', 'g', [gsnap(4, 'g', 's1'), gsnap(5, 'g', 'hand')]), Img('b', 'g'),
              Img('c', 'theirs'), Img('d', 'stale'), Img('e', 'g', [gsnap(7, 'g', 's1', pool=2)])]
    directory = {'g': 'id1', 'theirs': 'id2', 'stale': 'id3', 'empty': 'id4'}
    record = {'group.g': {'id': 'id1'}, 'group.stale': {'id': 'old'}, 'group.empty': {'id': 'id4'},
              _rbd.gsnap_key('id1', 's1'): {'group': 'g', 'snapshots': {'a': 's1-a'}}}
    groups, foreign, members, foreign_gsnaps = _rbd.read_groups(1, directory, record, images)
    assert groups == {'g': ('id1', ['a', 'b', 'e']), 'empty': ('id4', [])}
    # a group whose name the record has with another id was made again by someone else
    assert foreign == {'theirs': ['c'], 'stale': ['d']}
    assert [(m[0].name, m[2], m[3], m[4]) for m in members] == [('a', 'g', 's1', 's1-a')]
    # a group snapshot of our group the record does not name; another pool's is not ours
    assert foreign_gsnaps == {'hand': 'g'}
    # negative control: without the record every group is foreign
    groups, foreign, members, dummy = _rbd.read_groups(1, directory, {}, images)
    assert groups == {} and sorted(foreign) == ['empty', 'g', 'stale', 'theirs'] and members == []


def test_snap_group_only_for_the_group_namespace():
    assert _rbd._snap_group(dict(namespace=0, name='x')) is None
    assert _rbd._snap_group(dict(namespace=1, group=dict(pool=1, name=b'g', snap_name=b's'))) == \
        dict(pool=1, name='g', snap='s')
