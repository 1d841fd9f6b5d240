# -*- coding: utf-8 -*-
"""Compliance: every registered driver and target helper implements its interface.

Walks the registries (not a hand-made list), so a new driver or helper is
covered the moment it registers.
"""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.cinderkit.storage.plugins.module_utils import drivers, targets
from ansible_collections.cinderkit.storage.plugins.module_utils._options import cfg
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import _base

DRIVERS = sorted(drivers.registered_drivers().items())
TARGETS = sorted(targets.registered_targets().items())


def test_registries_are_not_empty():
    assert 'lvm' in dict(DRIVERS)
    assert DRIVERS, 'no driver registered'


@pytest.mark.parametrize('name,cls', DRIVERS, ids=[n for n, c in DRIVERS])
def test_driver_implements_interface(name, cls):
    missing = _base.unimplemented(cls)
    assert not missing, 'driver %s does not implement: %s' % (name, ', '.join(missing))
    assert cls.name == name
    unknown = set(cls.capabilities) - set(_base.CAPABILITIES)
    assert not unknown, 'driver %s declares unknown capabilities %s' % (name, unknown)


@pytest.mark.parametrize('name,cls', DRIVERS, ids=[n for n, c in DRIVERS])
def test_driver_options_are_oslo_opts(name, cls):
    opts = cls.get_driver_options()
    assert opts, 'driver %s has no options' % name
    names = [o.name for o in opts]
    assert len(names) == len(set(names)), 'duplicate options in %s: %s' % (
        name, sorted(n for n in names if names.count(n) > 1))
    for o in opts:
        assert isinstance(o, cfg.Opt), '%s option %r is not an oslo.config Opt' % (name, o)
    assert 'volume_driver' in names and 'volume_backend_name' in names


@pytest.mark.parametrize('name,cls', DRIVERS, ids=[n for n, c in DRIVERS])
def test_driver_is_found_by_alias(name, cls):
    for alias in cls.aliases:
        assert drivers.get_driver_class(alias) is cls


@pytest.mark.parametrize('name,cls', TARGETS, ids=[n for n, c in TARGETS] or None)
def test_target_helper_implements_interface(name, cls):
    missing = targets.unimplemented_target(cls)
    assert not missing, 'target helper %s does not implement: %s' % (name, ', '.join(missing))
    assert cls.name == name


def test_unimplemented_detects_a_missing_method():
    """The check itself can fail: a driver that forgets a method is caught."""
    class Broken(_base.VolumeDriver):
        capabilities = frozenset(('revert',))

        @classmethod
        def get_driver_options(cls):
            return []

        def validate_name(self, name, param='name'):
            return None

    missing = _base.unimplemented(Broken)
    assert 'create_volume' in missing and 'revert_to_snapshot' in missing

    class BrokenTarget(targets.Target):
        def create_export(self, *a):
            return None

    assert 'remove_export' in targets.unimplemented_target(BrokenTarget)
