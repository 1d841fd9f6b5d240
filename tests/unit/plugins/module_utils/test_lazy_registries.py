# -*- coding: utf-8 -*-
"""The lazy registries: a task imports only the driver and the helper it names.

The name tables in drivers/__init__.py and targets/__init__.py are written by hand, so they
are held here to what the modules register: every module that registers a driver or a helper
is in its table, and every name or alias it registers leads to that module alone.
"""

from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

import pytest

from ansible_collections.cinderkit.storage.plugins.module_utils import drivers, targets

from test_layers import registered

PKG = 'ansible_collections.cinderkit.storage.plugins.module_utils.'


def _names(cls):
    return set([cls.name]) | set(getattr(cls, 'aliases', ()))


def test_every_registered_name_is_in_the_lazy_tables():
    mods = registered()
    assert 'module_utils.drivers._rbd' in mods and 'module_utils.targets._nvmet' in mods
    seen = set()
    for name, cls in drivers.registered_drivers().items():
        assert _names(cls) <= set(drivers.DRIVER_MODULES), (
            'driver %s: names %s missing from drivers.DRIVER_MODULES' % (
                name, sorted(_names(cls) - set(drivers.DRIVER_MODULES))))
        seen.add(cls.__module__.split('.plugins.')[1])
    for name, cls in targets.registered_targets().items():
        assert name in targets.TARGET_MODULES, 'helper %s missing from TARGET_MODULES' % name
        seen.add(cls.__module__.split('.plugins.')[1])
    # a module that registers something but is not reached by any loader would not be in seen
    assert mods == seen, sorted(mods ^ seen)


def _imported_after(code):
    """The collection's driver and helper modules a fresh interpreter holds after ``code``."""
    probe = ('import sys\n%s\nprint(" ".join(sorted(m for m in sys.modules if m.startswith(%r) '
             'and (".drivers._" in m or ".targets._" in m))))' % (code, PKG))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.check_output([sys.executable, '-c', probe], universal_newlines=True, env=env)
    return set(m[len(PKG):] for m in out.split())


@pytest.mark.parametrize('name,module', [
    ('cinder.volume.drivers.lvm.LVMVolumeDriver', 'drivers._lvm'),
    ('lvm', 'drivers._lvm'),
    ('RBDDriver', 'drivers._rbd'),
    ('cinderkit.file', 'drivers._file'),
])
def test_a_driver_name_imports_its_module_alone(name, module):
    got = _imported_after('from %sdrivers import get_driver_class\nget_driver_class(%r)' % (PKG, name))
    drivers_got = set(m for m in got if m.startswith('drivers.') and m not in (
        'drivers._base', 'drivers._ceph'))
    assert drivers_got == set([module]), drivers_got


def test_a_helper_name_imports_its_module_alone():
    got = _imported_after('from %stargets import get_target_class\nget_target_class("nvmet")' % PKG)
    assert set(m for m in got if m in ('targets._tgtadm', 'targets._lioadm', 'targets._nvmet',
                                       'targets._native')) == set(['targets._nvmet'])


def test_the_probe_sees_an_eager_import():
    """Negative control: loading every driver shows up as more than one driver module."""
    got = _imported_after('from %sdrivers import registered_drivers\nregistered_drivers()' % PKG)
    assert set(['drivers._lvm', 'drivers._rbd', 'drivers._file']) <= got


def test_an_unknown_name_still_lists_every_driver():
    with pytest.raises(Exception) as err:
        drivers.get_driver_class('nosuch')
    for name in ('lvm', 'rbd', 'file', 'cinder.volume.drivers.lvm.LVMVolumeDriver'):
        assert name in str(err.value)
