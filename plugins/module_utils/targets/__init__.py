# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target-helper registry entry point: importing it registers every helper.

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

from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import (  # noqa: F401
    GENERATED_PASSWORD_LEN, GENERATED_USERNAME_LEN, REQUIRED_TARGET_METHODS, Backing, Chap,
    Export, ExportSpec, Target, chap_problem, generate_secret, get_target_class, iqn_problem,
    nqn_problem, register_target, registered_targets, storage_protocol_for, unimplemented_target,
    write_private)
from ansible_collections.cinderkit.storage.plugins.module_utils.targets import _tgtadm  # noqa: F401
from ansible_collections.cinderkit.storage.plugins.module_utils.targets import _lioadm  # noqa: F401
from ansible_collections.cinderkit.storage.plugins.module_utils.targets import _nvmet  # noqa: F401
from ansible_collections.cinderkit.storage.plugins.module_utils.targets import _native  # noqa: F401


def load_target(config, runner, name=None):
    """The target helper for ``config`` (or the one named ``name``)."""
    name = name or config.get('target_helper')
    return get_target_class(name)(config, runner)
