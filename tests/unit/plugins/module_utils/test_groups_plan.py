# -*- coding: utf-8 -*-
"""The group and group snapshot planners on the real file driver (a tmp directory): the
decisions and the refusals, before any change."""

import pytest

from ansible_collections.cinderkit.storage.plugins.module_utils import _group_snapshots as gsp
from ansible_collections.cinderkit.storage.plugins.module_utils import _groups as gp
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, InvalidParameter, NotSupported)
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import CommandRunner
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import (
    VolumeSpec, load_backend)


@pytest.fixture
def drv(tmp_path):
    cls, config = load_backend(dict(volume_driver='file', file_volume_dir=str(tmp_path / 'v')))
    d = cls(config, CommandRunner())
    d.check_for_setup_error()
    d.create_volumes([VolumeSpec(n, 1024 * 1024) for n in ('a', 'b', 'c')])
    return d


def params(**kw):
    p = dict(name='g', volumes=None, state='present', source=None, delete_volumes=False)
    p.update(kw)
    return p


def test_membership_converges(drv):
    drv.create_group('g', ['a', 'b'])
    p = gp.plan_group(drv, drv.runner, params(volumes=['b', 'c']))
    assert (p.action, p.add, p.remove, p.members) == ('update', ['c'], ['a'], ['b', 'c'])
    assert gp.plan_group(drv, drv.runner, params(volumes=['a', 'b'])).action == 'none'
    assert gp.plan_group(drv, drv.runner, params()).action == 'none'      # no volumes: left alone


def test_one_group_per_volume_and_every_problem_named(drv):
    drv.create_group('g', ['a'])
    with pytest.raises(InvalidParameter) as e:
        gp.plan_group(drv, drv.runner, params(name='h', volumes=['a', 'zz', 'b', 'b']))
    msg = e.value.msg
    assert "parameter 'volumes'" in msg and '3 problems' in msg
    assert 'volumes[0]: volume a is in group g' in msg and 'volumes[1]: volume zz not found' in msg
    assert 'volumes[3]: volume b is listed twice' in msg


def test_source_names_and_checks(drv):
    drv.create_group('g', ['a', 'b'])
    drv.create_group_snapshot('s', 'g', {'a': 's-a', 'b': 's-b'})
    p = gp.plan_group(drv, drv.runner, params(name='n', source=dict(group_snapshot='s', group=None)))
    assert p.action == 'create' and p.members == ['n-a', 'n-b']
    assert [it.source for it in p.items] == [{'snapshot': 's-a'}, {'snapshot': 's-b'}]
    for bad, where in ((dict(group_snapshot='s', group='g'), "'source'"),
                       (dict(group_snapshot=None, group=None), "'source'"),
                       (dict(group='nope', group_snapshot=None), "'source.group'")):
        with pytest.raises(InvalidParameter) as e:
            gp.plan_group(drv, drv.runner, params(name='n', source=bad))
        assert where in e.value.msg
    # a member name that is taken stops the whole create
    drv.create_volumes([VolumeSpec('n2-a', 1024 * 1024)])
    with pytest.raises(CinderkitError) as e:
        gp.plan_group(drv, drv.runner, params(name='n2', source=dict(group='g', group_snapshot=None)))
    assert 'n2-a is taken' in e.value.msg and 'nothing was changed' in e.value.msg


def test_group_snapshot_plans(drv):
    drv.create_group('g', ['a', 'b'])
    drv.create_group('empty')
    p = gsp.plan_group_snapshot(drv, dict(name='s', group='g', state='present'))
    assert p.action == 'create' and p.members == {'a': 's-a', 'b': 's-b'}
    with pytest.raises(InvalidParameter) as e:
        gsp.plan_group_snapshot(drv, dict(name='s', group='empty', state='present'))
    assert "'group'" in e.value.msg and 'no volumes' in e.value.msg
    drv.create_group_snapshot('s', 'g', p.members)
    assert gsp.plan_group_snapshot(drv, dict(name='s', group='g', state='present')).action == 'none'
    assert gsp.plan_group_snapshot(drv, dict(name='s', state='absent')).action == 'delete'
    with pytest.raises(InvalidParameter) as e:
        gsp.plan_group_snapshot(drv, dict(name='s', group='empty', state='absent'))
    assert 'snapshot of group g, not empty' in e.value.msg


def test_revert_refused_while_a_member_is_exported(drv):
    drv.create_group('g', ['a', 'b'])
    drv.create_group_snapshot('s', 'g', {'a': 's-a', 'b': 's-b'})
    with pytest.raises(CinderkitError) as e:
        gsp.plan_group_snapshot(drv, dict(name='s', state='reverted'), exported=lambda v: v == 'b',
                                export_holder=lambda n: 'tgtadm target T' if n == 'b' else None)
    assert 'member volume b is exported (tgtadm target T)' in e.value.msg
    p = gsp.plan_group_snapshot(drv, dict(name='s', state='reverted', force=True),
                                exported=lambda v: v == 'b', export_holder=lambda n: None)
    assert p.action == 'revert'


def test_a_driver_without_groups_says_so(tmp_path):
    cls, config = load_backend(dict(volume_driver='file', file_volume_dir=str(tmp_path / 'v')))

    class NoGroups(cls):
        capabilities = frozenset(c for c in cls.capabilities if c != 'groups')
    d = NoGroups(config, CommandRunner())
    with pytest.raises(NotSupported) as e:
        gp.plan_group(d, d.runner, params())
    assert 'volume groups is not supported by the file driver' in e.value.msg
