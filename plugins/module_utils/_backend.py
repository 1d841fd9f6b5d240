# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One Backend per task: the driver, the target helper serving its volumes, and the runner.

The module wrapper builds it once (``CinderkitModule.backend``); modules and
planners reach the driver and the target through it.  Construction runs no
command.

* **Target selection happens here and nowhere else.**  The backend's
  ``target_helper`` (or a task's override, the export module's
  ``target_helper``) names a registered helper.  A driver that serves its
  volumes itself (``VolumeDriver.native_storage_protocol``, RBD) and has no
  ``target_helper`` gets the ``native`` helper, so "no helper" is not a case
  anyone else handles.
* **Facts that depend on the pair** come from what the pair does:
  ``storage_protocol`` (the helper's), ``online_extend_support`` (driver and
  helper both), ``multiattach`` (driver and helper both).
* **What holds a volume on the target side** (``export_holders``): ONE target
  query per task, by volume name and by backing device.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, InvalidParameter, MissingDependency, TargetUnavailable)

NVMET_PROTOCOLS = ('nvmet_tcp', 'nvmet_rdma')


class Backend(object):
    """The task's driver (built on first use) and the target helper that serves it."""

    def __init__(self, driver_cls, config, runner):
        self.driver_cls = driver_cls
        self.config = config
        self.runner = runner
        self._driver = None
        self._targets = {}
        self._holders = None

    # -- the driver -----------------------------------------------------------
    @property
    def driver(self):
        if self._driver is None:
            drv = self.driver_cls(self.config, self.runner)
            drv.check_for_setup_error()
            self._driver = drv
        return self._driver

    def close(self):
        """End the driver's backend session (e.g. the task's Ceph connection)."""
        drv, self._driver = self._driver, None
        if drv is not None:
            drv.close()

    # -- the target helper ------------------------------------------------------
    def target_name(self, override=None):
        """The helper's registry name: ``override``, the backend's, or the native one."""
        name = override or self.config.get('target_helper')
        if name is None and self.driver_cls.native_storage_protocol:
            return 'native'
        return name

    def target(self, override=None):
        """The helper serving this backend's volumes (``override``: a task's own choice).

        Raises InvalidParameter for a backend with neither a helper nor a protocol of its
        own, an unknown helper, or a protocol the helper does not serve.
        """
        name = self.target_name(override)
        if name in self._targets:
            return self._targets[name]
        from ansible_collections.cinderkit.storage.plugins.module_utils import targets
        param = 'target_helper' if override else 'backend.target_helper'
        if name is None:
            raise InvalidParameter(param, 'backend %s has no target helper'
                                   % self.driver_cls.default_backend_name,
                                   'set backend option target_helper')
        cls = targets.get_target_class(name, param=param)
        config = self.config
        if override and override != config.get('target_helper'):
            config = config.with_overrides(target_helper=name)
        if cls.protocols and config.get('target_protocol') not in cls.protocols:
            if cls.protocols == NVMET_PROTOCOLS and config.get('target_protocol') == 'iscsi':
                # Cinder needs target_protocol set for nvmet; iscsi (the default) means "not set"
                config = config.with_overrides(target_protocol='nvmet_tcp')
            else:
                raise InvalidParameter(
                    'backend.target_protocol', 'target helper %s does not serve %r' % (
                        name, config.get('target_protocol')),
                    'use one of: %s' % ', '.join(cls.protocols))
        helper = cls(config, self.runner)
        if name == 'native':
            helper.server = self.driver
        helper.check_config()
        self._targets[name] = helper
        return helper

    @property
    def serves_itself(self):
        """True when the driver serves its volumes (no export to make)."""
        return self.target_name() == 'native'

    # -- facts of the pair --------------------------------------------------------
    def online_extend_support(self):
        """True when a volume in use, and its export, grow online."""
        if not self.driver.supports('online_extend'):
            return False
        from ansible_collections.cinderkit.storage.plugins.module_utils import targets
        name = self.target_name()
        cls = targets.find_target_class(name)
        return bool(cls is None or cls.online_extend)

    def storage_protocol(self):
        from ansible_collections.cinderkit.storage.plugins.module_utils import targets
        name = self.target_name()
        if name == 'native':
            return self.driver_cls.native_storage_protocol
        return targets.storage_protocol_for(name, self.config.get('target_protocol'))

    def multiattach(self, override=None):
        """True when a volume may be attached to several hosts at once: the driver declares
        it (``multiattach``) AND the helper serving it (``override``: a task's own) does."""
        if 'multiattach' not in self.driver_cls.capabilities:
            return False
        from ansible_collections.cinderkit.storage.plugins.module_utils import targets
        name = self.target_name(override)
        cls = targets.find_target_class(name)
        return bool(cls is not None and 'multiattach' in cls.features)

    def stats(self):
        """The driver's stats, with the facts that depend on the driver and its helper."""
        stats = dict(self.driver.get_volume_stats())
        stats['storage_protocol'] = self.storage_protocol()
        stats['online_extend_support'] = self.online_extend_support()
        multiattach = self.multiattach()
        stats['multiattach'] = multiattach
        stats['pools'] = [dict(pool, multiattach=bool(pool.get('multiattach')) and multiattach)
                          for pool in stats.get('pools') or []]
        stats['dhchap_support'] = self.dhchap_support()
        return stats

    def dhchap_support(self):
        """Whether exports of this pair can authenticate NVMe hosts (DH-HMAC-CHAP) on the
        running kernel: False for helpers without it, None when the kernel cannot tell."""
        if self.target_name() in (None, 'native'):
            return False
        try:
            helper = self.target()
        except CinderkitError:
            return False
        if not helper.supports('dhchap'):
            return False
        return helper.dhchap_support()[0]

    # -- what holds a volume on the target side ----------------------------------------
    def export_holders(self):
        """{storage name: Export} for what the configured target helper exports, live or
        saved: ONE target query per task, cached.

        An export counts for its volume name, and for every volume, snapshot or
        unmanaged LV/image whose device is the export's backing (an export made
        with ``device_path``).  No target software, or a target daemon that is not
        running: only what is saved counts.
        """
        if self._holders is None:
            self._holders = self._read_export_holders()
        return self._holders

    def _read_export_holders(self):
        if self.target_name() is None:
            return {}
        try:
            exports = self.target().list_exports()
        except (TargetUnavailable, MissingDependency):
            return {}
        out = dict((e.volume, e) for e in exports.values())
        by_path = dict((os.path.realpath(e.backing.path), e) for e in exports.values()
                       if e.backing is not None and e.backing.kind in ('block', 'file'))
        if by_path:
            inv = self.driver.get_inventory()
            for group in (inv.volumes, inv.snapshots, inv.unmanaged):
                for name, rec in group.items():
                    path = getattr(rec, 'path', None)
                    e = by_path.get(os.path.realpath(path)) if path else None
                    if e is not None:
                        out.setdefault(name, e)
                        storage = self.driver.storage_name(rec)
                        if storage != name:
                            out.setdefault(storage, e)
        return out

    def export_holder(self, name):
        """'target T (tgtadm, live)' when ``name`` is exported, else None."""
        e = self.export_holders().get(name)
        if e is None:
            return None
        return '%s target %s%s' % (self.config.get('target_helper'), e.target_name,
                                   '' if e.live else ' (saved, not live)')

    def exported(self, volume_name):
        """True when the configured target helper exports ``volume_name`` live."""
        e = self.export_holders().get(volume_name)
        return bool(e is not None and e.live)

    def refresh_export(self, volume_name, device_path):
        """Let an existing export show a grown volume; True when one was refreshed."""
        if self.target_name() in (None, 'native'):
            return False
        helper = self.target()
        try:
            with helper.lock():     # the same host lock as the export module's changes
                exp = helper.list_exports().get(volume_name)
                if exp is None or not exp.live:
                    return False
                if device_path and exp.backing is None:
                    from ansible_collections.cinderkit.storage.plugins.module_utils._backing import (
                        Backing)
                    exp.backing = Backing.from_path(device_path)
                return bool(helper.extend_target(exp))
        except TargetUnavailable:
            return False
