# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one module wrapper.

* merges the shared backend argument spec (``backend`` / ``config_file`` +
  ``backend_name``) into every backend module;
* builds the task's CommandRunner (check mode aware) and, on demand, the
  backend config and the task's one Backend (driver + target helper, _backend.py);
* adds every secret it learns (secret options, generated CHAP secrets) to
  the module's no_log values, so they are masked in all output;
* is the only place that turns errors into ``fail_json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import CinderkitError
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
        self._backend = None
        self._config = None
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
    def backend(self):
        """The task's one Backend: driver + target helper + runner."""
        if self._backend is None:
            from ansible_collections.cinderkit.storage.plugins.module_utils._backend import Backend
            cls, config = self.load()
            self._backend = Backend(cls, config, self.runner)
        return self._backend

    @property
    def driver(self):
        return self.backend.driver

    # the target side, as planners ask for it (the Backend answers)
    def export_holders(self):
        return self.backend.export_holders()

    def export_holder(self, name):
        return self.backend.export_holder(name)

    def exported(self, volume_name):
        return self.backend.exported(volume_name)

    def refresh_export(self, volume_name, device_path):
        return self.backend.refresh_export(volume_name, device_path)

    # -- the one loop -------------------------------------------------------
    def converge(self, task_class):
        """Run the module's Task through the converge loop (_converge.py), then exit."""
        from ansible_collections.cinderkit.storage.plugins.module_utils._converge import converge

        def go(m):
            if m.with_backend:
                from ansible_collections.cinderkit.storage.plugins.module_utils._options import (
                    mask_raw_secrets)
                mask_raw_secrets(m)     # before anything can fail and echo the arguments
            return converge(m, task_class(m))
        self.run(go)

    # -- the one exit -------------------------------------------------------
    def _account(self, res):
        """What the task did, into ``res``: the commands it ran, and its in-process writes
        (``writes``, only when there were any: librbd calls, the file driver's files)."""
        res['commands'] = self.runner.commands()
        writes = self.runner.writes()
        if writes:
            res['writes'] = writes
        return res

    def close(self):
        """End the driver's backend session (e.g. the task's Ceph connection)."""
        if self._backend is not None:
            self._backend.close()

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
            self._account(res)
            if self.warnings:
                res['warnings'] = self.warnings
            self.module.fail_json(msg=exc.msg, **res)
        except Exception as exc:  # pragma: no cover - a bug: report it with the traceback
            self.module.fail_json(msg='internal error in cinderkit.storage: %s: %s'
                                  % (type(exc).__name__, exc),
                                  exception=traceback.format_exc(),
                                  **self._account(dict(changed=self.runner.changed())))
        result.setdefault('changed', False)
        self._account(result)
        for w in self.warnings:
            self.module.warn(w)
        self.module.exit_json(**result)
