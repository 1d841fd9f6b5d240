# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Driver registry entry point.

``get_driver_class(name)`` imports the one driver module that registers ``name``;
``registered_drivers()`` imports them all. The imports are static statements, so AnsiballZ
bundles every driver.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.module_utils._options import (
    DEFAULT_VOLUME_DRIVER, load_raw, resolve)
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import _base
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers._base import (  # noqa: F401
    CAPABILITIES, REQUIRED_METHODS, Inventory, Snapshot, Volume, VolumeDriver, VolumeSpec,
    register, unimplemented)


# A task imports only the driver its backend names. Each driver module is compiled from the
# AnsiballZ payload on every task (no bytecode cache there): under TCG the RBD driver with its
# Ceph helpers costs 1.3 s and the file driver 0.4 s of a 12 s task, for nothing on an LVM host.
# The imports stay static statements (inside the loaders), so AnsiballZ still bundles them.
def _load_lvm():
    from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import _lvm  # noqa: F401 pylint: disable=unused-import


def _load_rbd():
    from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import _rbd  # noqa: F401 pylint: disable=unused-import


def _load_file():
    from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import _file  # noqa: F401 pylint: disable=unused-import


# every name a backend may give (the name and the aliases each driver registers), and the
# module that registers it; tests/unit/.../test_lazy_registries.py holds this to the drivers
DRIVER_MODULES = {
    'lvm': _load_lvm, 'cinder.volume.drivers.lvm.LVMVolumeDriver': _load_lvm,
    'LVMVolumeDriver': _load_lvm,
    'rbd': _load_rbd, 'cinder.volume.drivers.rbd.RBDDriver': _load_rbd, 'RBDDriver': _load_rbd,
    'file': _load_file, 'cinderkit.file': _load_file,
}


def load_all():
    """Import every driver shipped (for the registry's full list)."""
    for loader in (_load_lvm, _load_rbd, _load_file):
        loader()


def registered_drivers():
    """Every driver shipped, by name."""
    load_all()
    return _base.registered_drivers()


def get_driver_class(name, param='backend.volume_driver'):
    """The driver class for ``name`` (a name or an alias), importing only its module; an
    unknown name imports them all, so that the error lists every name there is."""
    DRIVER_MODULES.get(name, load_all)()
    return _base.get_driver_class(name, param=param)


def load_backend(backend=None, config_file=None, backend_name=None):
    """(driver class, BackendConfig) for a backend dict or a config file section."""
    raw, defaults, source = load_raw(backend, config_file, backend_name)
    name = raw.get('volume_driver') or DEFAULT_VOLUME_DRIVER
    cls = get_driver_class(name, param='backend.volume_driver' if not config_file else 'config_file')
    config = resolve(raw, cls.get_driver_options(), source, defaults,
                     param='backend' if not config_file else 'config_file')
    return cls, config
