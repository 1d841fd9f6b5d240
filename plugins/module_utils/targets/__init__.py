# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target-helper registry entry point: ``get_target_class(name)`` imports the one helper
module that registers ``name``; ``registered_targets()`` imports them all.

Public API for other modules (all take the task's BackendConfig and CommandRunner):

``load_target(config, runner, name=None) -> Target``
    The helper named by ``name`` or ``config.target_helper``.  Cheap: runs no command.

Which helper serves a backend, whether a volume is exported, and the refresh
of a grown volume's export are the task's Backend's (``_backend.py``): the
one place that pairs a driver with its helper.

``Target.online_extend``
    Whether initiators see the new size without I/O errors (backend_facts'
    ``online_extend_support``).

Records: ``ExportSpec`` (wanted), ``Export`` (actual), ``Chap``, ``Backing``.
A driver gives the backing store of a volume through
``VolumeDriver.target_backing(name) -> Backing`` (tgt's ``rbd`` backing store
for Ceph; by default the device at ``local_path(name)``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.module_utils.targets import _base
from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import (  # noqa: F401
    GENERATED_PASSWORD_LEN, GENERATED_USERNAME_LEN, REQUIRED_TARGET_METHODS, Backing, Chap,
    Export, ExportSpec, Target, chap_problem, generate_secret, iqn_problem,
    nqn_problem, register_target, storage_protocol_for, unimplemented_target,
    write_private)


# A task imports only the helper its backend names (each is compiled from the AnsiballZ
# payload on every task; see drivers/__init__.py). The imports stay static statements.
def _load_tgtadm():
    from ansible_collections.cinderkit.storage.plugins.module_utils.targets import _tgtadm  # noqa: F401 pylint: disable=unused-import


def _load_lioadm():
    from ansible_collections.cinderkit.storage.plugins.module_utils.targets import _lioadm  # noqa: F401 pylint: disable=unused-import


def _load_nvmet():
    from ansible_collections.cinderkit.storage.plugins.module_utils.targets import _nvmet  # noqa: F401 pylint: disable=unused-import


def _load_native():
    from ansible_collections.cinderkit.storage.plugins.module_utils.targets import _native  # noqa: F401 pylint: disable=unused-import


# every helper name, and the module that registers it (held to the helpers by
# tests/unit/plugins/module_utils/test_lazy_registries.py)
TARGET_MODULES = {'tgtadm': _load_tgtadm, 'lioadm': _load_lioadm, 'nvmet': _load_nvmet,
                  'native': _load_native}


def load_all():
    """Import every helper shipped (for the registry's full list)."""
    for loader in (_load_tgtadm, _load_lioadm, _load_nvmet, _load_native):
        loader()


def registered_targets():
    """Every helper shipped, by name."""
    load_all()
    return _base.registered_targets()


def get_target_class(name, param='backend.target_helper'):
    """The helper class for ``name``, importing only its module; an unknown name imports
    them all, so that the error lists every name there is."""
    TARGET_MODULES.get(name, load_all)()
    return _base.get_target_class(name, param=param)


def find_target_class(name):
    """The helper class for ``name``, or None for no name or an unknown one."""
    if not name or name not in TARGET_MODULES:
        return None
    return get_target_class(name)


def load_target(config, runner, name=None):
    """The target helper for ``config`` (or the one named ``name``)."""
    name = name or config.get('target_helper')
    return get_target_class(name)(config, runner)
