# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one module wrapper.

* merges the shared backend argument spec (``backend`` / ``config_file`` +
  ``backend_name``) into every backend module;
* builds the task's CommandRunner (check mode aware) and, on demand, the
  backend config and driver;
* adds every secret it learns (secret options, generated CHAP secrets) to
  the module's no_log values, so they are masked in all output;
* is the only place that turns errors into ``fail_json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, MissingDependency, TargetUnavailable)
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import CommandRunner

BACKEND_ARGSPEC = dict(
    backend=dict(type='dict'),
    config_file=dict(type='path'),
    backend_name=dict(type='str'),
)


class CinderkitModule(object):

    def __init__(self, argument_spec, with_backend=True, mutually_exclusive=None,
                 required_together=None, required_if=None, required_one_of=None,
                 required_by=None, supports_check_mode=True):
        spec = {}
        mutex = list(mutually_exclusive or [])
        together = list(required_together or [])
        if with_backend:
            spec.update(BACKEND_ARGSPEC)
            mutex.append(['backend', 'config_file'])
            together.append(['config_file', 'backend_name'])
        spec.update(argument_spec)
        self.module = AnsibleModule(
            argument_spec=spec, supports_check_mode=supports_check_mode,
            mutually_exclusive=mutex, required_together=together,
            required_if=required_if or [], required_one_of=required_one_of or [],
            required_by=required_by or {})
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.diff_mode = bool(getattr(self.module, '_diff', False))
        self.runner = CommandRunner(check_mode=self.check_mode)
        self.with_backend = with_backend
        self._driver = None
        self._config = None
        self._holders = None
        self.warnings = []

    # -- secrets -----------------------------------------------------------
    def add_secret(self, value):
        if value:
            self.module.no_log_values.add(str(value))
            self.runner.add_secret(value)

    # -- backend -------------------------------------------------------------
    def load(self):
        """(driver class, config), once per task."""
        if self._config is None:
            from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import load_backend
            p = self.params
            if p.get('backend') is None and not p.get('config_file'):
                p['backend'] = {}
            cls, config = load_backend(p.get('backend'), p.get('config_file'), p.get('backend_name'))
            for s in config.secrets():
                self.add_secret(s)
            if config.ignored:
                self.warnings.append('ignored Cinder service option(s) with no meaning here: %s'
                                     % ', '.join(config.ignored))
            self._config = (cls, config)
        return self._config

    @property
    def config(self):
        return self.load()[1]

    @property
    def driver(self):
        if self._driver is None:
            cls, config = self.load()
            drv = cls(config, self.runner)
            drv.check_for_setup_error()
            self._driver = drv
        return self._driver

    # -- hooks into the target layer ---------------------------------------
    def export_holders(self):
        """{storage name: Export} for what the configured target helper exports, live or
        saved: ONE target query per task, cached.

        An export counts for its volume name, and for every volume, snapshot or
        unmanaged LV/image whose device is the export's backing (an export made
        with ``device_path``).  No target helper (a driver that serves volumes
        itself), no target software, or a target daemon that is not running:
        only what is saved counts.
        """
        if self._holders is None:
            self._holders = self._read_export_holders()
        return self._holders

    def _read_export_holders(self):
        if self.config.get('target_helper') is None:
            return {}
        from ansible_collections.cinderkit.storage.plugins.module_utils import targets
        try:
            exports = targets.load_target(self.config, self.runner).list_exports()
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
                        lv_name = (getattr(rec, 'extra', None) or {}).get('lv_name')
                        if lv_name:
                            out.setdefault(lv_name, e)
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
        if self.config.get('target_helper') is None:   # the driver serves volumes itself
            return False
        from ansible_collections.cinderkit.storage.plugins.module_utils import targets
        fn = getattr(targets, 'refresh_export', None)
        try:
            return bool(fn is not None and fn(self.config, self.runner, volume_name, device_path))
        except TargetUnavailable:
            return False

    # -- the one exit -------------------------------------------------------
    def close(self):
        """End the driver's backend session (e.g. the task's Ceph connection)."""
        drv, self._driver = self._driver, None
        if drv is not None:
            drv.close()

    def run(self, fn):
        try:
            try:
                result = fn(self) or {}
            finally:
                self.close()
        except CinderkitError as exc:
            res = dict(exc.result)
            # a failure after a change says so: an error's own account, or any write that ran
            res['changed'] = bool(res.get('changed')) or self.runner.changed()
            res['commands'] = self.runner.commands()
            if self.warnings:
                res['warnings'] = self.warnings
            self.module.fail_json(msg=exc.msg, **res)
        except Exception as exc:  # pragma: no cover - a bug: report it with the traceback
            self.module.fail_json(msg='internal error in cinderkit.storage: %s: %s'
                                  % (type(exc).__name__, exc),
                                  exception=traceback.format_exc(),
                                  commands=self.runner.commands())
        result.setdefault('changed', False)
        result['commands'] = self.runner.commands()
        for w in self.warnings:
            self.module.warn(w)
        self.module.exit_json(**result)
