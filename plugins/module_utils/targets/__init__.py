# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target-helper registry entry point: importing it registers every helper.

Public API for other modules (all take the task's BackendConfig and CommandRunner):

``load_target(config, runner, name=None) -> Target``
    The helper named by ``name`` or ``config.target_helper``.  Cheap: runs no command.

``is_exported(config, runner, volume_name) -> bool``
    Whether the configured helper exports ``volume_name`` (one target query).

``refresh_export(config, runner, volume_name, device_path=None) -> bool``
    After a volume grew: if it is exported (one query), make the target
    show the new size (``Target.extend_target``); True when it did.  The
    extend and volume modules call it through ``CinderkitModule.refresh_export``.

``Target.online_extend``
    Whether initiators see the new size without I/O errors (backend_facts'
    ``online_extend_support``).

Records: ``ExportSpec`` (wanted), ``Export`` (actual), ``Chap``, ``Backing``.
A driver can give the backing store of a volume (e.g. tgt's ``rbd``
backing store for Ceph) with an optional method ``target_backing(name) ->
Backing``; without it ``local_path(name)`` is exported.
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


def load_target(config, runner, name=None):
    """The target helper for ``config`` (or the one named ``name``)."""
    name = name or config.get('target_helper')
    return get_target_class(name)(config, runner)


def is_exported(config, runner, volume_name):
    try:
        helper = load_target(config, runner)
    except Exception:  # unknown helper: nothing of ours can be exported
        return False
    exp = helper.list_exports().get(volume_name)
    return bool(exp is not None and exp.live)


def refresh_export(config, runner, volume_name, device_path=None):
    """Let the export of a grown volume show its new size; True when one was refreshed."""
    helper = load_target(config, runner)
    with helper.lock():     # the same host lock as the export module's changes
        exp = helper.list_exports().get(volume_name)
        if exp is None or not exp.live:
            return False
        if device_path and exp.backing is None:
            exp.backing = Backing.from_path(device_path)
        return bool(helper.extend_target(exp))
