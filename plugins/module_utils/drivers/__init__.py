# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Driver registry entry point.

Importing this package registers every driver shipped with the collection
(static imports, so AnsiballZ bundles them).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.module_utils._options import (
    DEFAULT_VOLUME_DRIVER, load_raw, resolve)
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers._base import (  # noqa: F401
    CAPABILITIES, REQUIRED_METHODS, Inventory, Snapshot, Volume, VolumeDriver, VolumeSpec,
    get_driver_class, register, registered_drivers, unimplemented)
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import _lvm  # noqa: F401
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import _rbd  # noqa: F401
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import _file  # noqa: F401


def load_backend(backend=None, config_file=None, backend_name=None):
    """(driver class, BackendConfig) for a backend dict or a config file section."""
    raw, defaults, source = load_raw(backend, config_file, backend_name)
    name = raw.get('volume_driver') or DEFAULT_VOLUME_DRIVER
    cls = get_driver_class(name, param='backend.volume_driver' if not config_file else 'config_file')
    config = resolve(raw, cls.get_driver_options(), source, defaults,
                     param='backend' if not config_file else 'config_file')
    return cls, config
