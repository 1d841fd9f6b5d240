# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""os-brick, loaded once per process and driven through the task's one CommandRunner.

os-brick runs in this (root) process: privsep in-process, no sudo, no privsep-helper;
its logs never reach stdout (stdout carries the module's JSON); the commands it runs
are recorded, redacted, in the task's command history.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import logging
import os
import time
import traceback
import warnings

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, MissingDependency)
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import REDACTED, redact_text

TOOLS = {
    'ISCSI': (('iscsiadm', 'open-iscsi'),),
    'ISER': (('iscsiadm', 'open-iscsi'),),
    'NVMEOF': (('nvme', 'nvme-cli'),),
    'RBD': (('rbd', 'ceph-common'),),
    'LOCAL': (),
}
MULTIPATH_TOOLS = (('multipath', 'multipath-tools'), ('multipathd', 'multipath-tools'))
OS_BRICK_PACKAGE = ("os-brick on the managed node ('pip install os-brick', or the "
                    "cinderkit.storage.managed_node role)")


# ------------------------------------------------------------------ os-brick
class _Capture(logging.Handler):
    """Keep os-brick's warnings for error messages (never on stdout)."""

    def __init__(self):
        logging.Handler.__init__(self, level=logging.WARNING)
        self.lines = []

    def emit(self, record):
        try:
            self.lines.append('%s: %s' % (record.levelname, record.getMessage()))
            del self.lines[:-20]
        except Exception:  # pragma: no cover - logging must never fail the task
            pass


_BRICK = {}


class Brick(object):
    """os-brick loaded and set up for this process: in-process privsep, a lock path,
    logs captured instead of printed, commands recorded in the task's runner."""

    def __init__(self, runner, lock_path):
        self.runner = runner
        mods = _BRICK.get('mods')
        if mods is None:
            mods = _BRICK['mods'] = _import_brick()
        self.cfg, self.os_brick, self.privileged, self.connector, self.rootwrap, \
            self.exception = mods
        if not os.path.isdir(lock_path):
            os.makedirs(lock_path, 0o700)
        conf = self.cfg.CONF
        if not _BRICK.get('conf'):
            conf([], project='cinderkit', default_config_files=[], default_config_dirs=[])
            # privileged calls run in this root process: no sudo, no privsep-helper
            self.privileged.default.set_client_mode(False)
            self.privileged.brick_privsep_hide_output.set_client_mode(False)
            _BRICK['conf'] = True
        conf.set_override('lock_path', lock_path, 'oslo_concurrency')
        self.os_brick.setup(conf)
        self.log = _Capture()
        logger = logging.getLogger('os_brick')
        for h in list(logger.handlers):
            if isinstance(h, _Capture):
                logger.removeHandler(h)
        logger.addHandler(self.log)
        logger.propagate = False

    def execute(self, *cmd, **kwargs):
        """os-brick's executor, recording each command (secrets redacted) in the runner."""
        shown = [REDACTED if str(c) in self.runner.secrets else
                 redact_text(str(c), self.runner.secrets) for c in cmd]
        t0 = time.time()
        rc = 0
        try:
            return self.rootwrap.execute(*cmd, **kwargs)
        except Exception as exc:
            rc = getattr(exc, 'exit_code', None)
            raise
        finally:
            self.runner.history.append(dict(cmd=shown, rc=rc, seconds=round(time.time() - t0, 4)))

    def connector_for(self, conn, use_multipath, scan_attempts):
        kwargs = dict(use_multipath=use_multipath, device_scan_attempts=scan_attempts,
                      execute=self.execute)
        if conn.protocol == 'RBD':
            kwargs['do_local_attach'] = True     # krbd: a /dev/rbdN block device
        return self.connector.InitiatorConnector.factory(conn.protocol, None, **kwargs)

    def properties(self, my_ip, host, use_multipath, enforce_multipath):
        """os-brick's connector properties of this host (the export module's ``connector``)."""
        try:
            return self.connector.get_connector_properties(
                None, my_ip, use_multipath, enforce_multipath, host=host, execute=self.execute)
        except Exception as exc:
            raise self.error('reading the connector properties of this host', exc)

    def error(self, what, exc):
        detail = redact_text('%s: %s' % (type(exc).__name__, exc), self.runner.secrets)
        hint = ''
        if isinstance(exc, self.exception.VolumeDeviceNotFound):
            hint = ('; no device appeared - wrong CHAP credentials, an export whose ACL lacks '
                    "this host's initiator, or an unreachable target")
        log = [redact_text(line, self.runner.secrets) for line in self.log.lines]
        return CinderkitError('%s failed: %s%s' % (what, detail, hint), brick_log=log)


def _import_brick():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')    # eventlet / deprecation banners
            from oslo_config import cfg
            import os_brick
            from os_brick import exception
            from os_brick import privileged
            from os_brick.initiator import connector
            from os_brick.privileged import rootwrap
    except ImportError as exc:
        raise MissingDependency('the Python library os-brick', OS_BRICK_PACKAGE,
                                reason='%s: %s' % (type(exc).__name__, exc))
    except Exception as exc:  # a broken installation: say what broke
        raise MissingDependency('a working os-brick', OS_BRICK_PACKAGE,
                                reason=traceback.format_exception_only(type(exc), exc)[-1].strip())
    return cfg, os_brick, privileged, connector, rootwrap, exception


def require_tools(runner, conn, use_multipath):
    """MissingDependency naming the distribution package of the first missing tool."""
    needed = list(TOOLS[conn.protocol]) if conn is not None else []
    if use_multipath and (conn is None or conn.protocol in ('ISCSI', 'ISER')):
        needed += list(MULTIPATH_TOOLS)
    for binary, package in needed:
        runner.which(binary, package)
