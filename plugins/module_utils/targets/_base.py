# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# Apache License 2.0 (see LICENSE)
"""The target-helper interface and its registry.

Cinder's target drivers (cinder/volume/targets/driver.py) have five verbs
plus extend_target; helpers are found by name (Cinder's ``target_mapping``).
Here helpers register with ``@register_target('tgtadm')``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import InvalidParameter

REQUIRED_TARGET_METHODS = (
    'create_export', 'ensure_export', 'remove_export', 'initialize_connection',
    'terminate_connection', 'extend_target', 'list_exports',
)

_TARGETS = {}


def register_target(name):
    def deco(cls):
        if name in _TARGETS and _TARGETS[name] is not cls:
            raise ValueError('target helper %s registered twice' % name)
        cls.name = name
        _TARGETS[name] = cls
        return cls
    return deco


def registered_targets():
    return dict(_TARGETS)


def get_target_class(name, param='backend.target_helper'):
    try:
        return _TARGETS[name]
    except KeyError:
        raise InvalidParameter(param, 'unknown or unsupported target helper %r' % (name,),
                               'use one of: %s' % ', '.join(sorted(_TARGETS)))


def storage_protocol_for(target_helper, target_protocol):
    """Cinder's constant spelling of the protocol a helper serves."""
    if target_protocol in ('nvmet_tcp', 'nvmet_rdma') or target_helper in ('nvmet', 'spdk-nvmeof'):
        return 'NVMe-oF'
    if target_protocol == 'iser':
        return 'iSER'
    return 'iSCSI'


class Target(object):
    """Base target helper.  Construction runs no command."""

    name = None
    # protocols this helper can serve (Cinder target_protocol values)
    protocols = ('iscsi',)
    # whether a LUN grown underneath is visible to initiators after extend_target
    online_extend = True
    # optional features: 'mutual_chap', 'discovery_chap', 'acl', 'persistence'
    features = frozenset()

    def __init__(self, config, runner):
        self.config = config
        self.runner = runner

    @property
    def storage_protocol(self):
        return storage_protocol_for(self.name, self.config.get('target_protocol', 'iscsi'))

    def supports(self, feature):
        return feature in self.features

    # -- interface ---------------------------------------------------------
    def list_exports(self):
        """Every export this helper manages on the host: one query."""
        raise NotImplementedError

    def create_export(self, volume, device_path, auth, initiators):
        raise NotImplementedError

    def ensure_export(self, volume, device_path, auth, initiators):
        raise NotImplementedError

    def remove_export(self, volume):
        raise NotImplementedError

    def initialize_connection(self, volume, connector, export):
        raise NotImplementedError

    def terminate_connection(self, volume, connector, export):
        raise NotImplementedError

    def extend_target(self, volume, device_path):
        raise NotImplementedError


def unimplemented_target(cls):
    missing = []
    for meth in REQUIRED_TARGET_METHODS:
        owner = next((k for k in cls.__mro__ if meth in k.__dict__), None)
        if owner is None or owner is Target:
            missing.append(meth)
    return missing
