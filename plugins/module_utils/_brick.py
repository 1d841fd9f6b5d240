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
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import (
    Secret, redact_text)

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

    def __init__(self, runner, lock_path, rbd_map_options=None):
        self.runner = runner
        self.rbd_map_options = rbd_map_options
        for tools in list(TOOLS.values()) + [MULTIPATH_TOOLS]:
            runner.packages.update(dict(tools))     # a missing tool names its package
        mods = _BRICK.get('mods')
        if mods is None:
            mods = _BRICK['mods'] = _import_brick()
        self.cfg, self.os_brick, self.privileged, self.connector, self.processutils, \
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

    # set by the planner while it connects or disconnects: what os-brick runs then changes state
    writing = False
    rbd_map_options = None      # krbd map options for ``rbd map`` (the attachment's option)

    def execute(self, *cmd, **kwargs):
        """os-brick's executor (oslo.concurrency's ``processutils.execute`` contract), run by
        the task's one CommandRunner: recorded with secrets redacted, ``LC_ALL=C``, a missing
        tool named with its package, and marked as a write while the planner changes state.

        This process is root, so ``run_as_root``/``root_helper`` need nothing more.
        """
        if kwargs.get('shell'):
            raise CinderkitError('os-brick asked for a shell command; cinderkit runs argv only')
        secrets = [x for x in self.runner.secrets if x]
        # an item holding a secret is shown as a whole as redacted (history, errors)
        argv = [Secret(str(c)) if any(x in str(c) for x in secrets) else str(c) for c in cmd]
        check = kwargs.get('check_exit_code', True)
        if isinstance(check, bool):
            ok_codes = (0,) if check else None
        else:
            ok_codes = tuple(check) if isinstance(check, (list, tuple)) else (int(check),)
        attempts = max(1, int(kwargs.get('attempts') or 1))
        env = kwargs.get('env_variables') or None
        if self.rbd_map_options and cmd[:2] in (('rbd', 'map'), ('rbd', 'device')):
            # os-brick's RBD connector has no map options and writes its own ceph.conf: the
            # rbd CLI takes them from CEPH_ARGS (a v2-only cluster needs ms_mode for krbd)
            env = dict(env or {}, CEPH_ARGS='--rbd_default_map_options=%s' % self.rbd_map_options)
        for attempt in range(attempts):
            res = self.runner.run(argv, write=self.writing, check=False,
                                  stdin=kwargs.get('process_input'), env=env,
                                  timeout=kwargs.get('timeout'))
            if ok_codes is None or res.rc in ok_codes:
                return res.stdout, res.stderr
            if attempt < attempts - 1 and kwargs.get('delay_on_retry', True):
                time.sleep(min(2.0, 0.2 * (attempt + 1)))
        raise self.processutils.ProcessExecutionError(
            exit_code=res.rc, stdout=redact_text(res.stdout, self.runner.secrets),
            stderr=res.stderr, cmd=' '.join(res.cmd))

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
        elif 'ms_mode mismatch' in detail:
            hint = ('; the kernel rbd client speaks messenger v1 unless told otherwise: for a '
                    'cluster on messenger v2 set rbd_map_options: ms_mode=secure (or prefer-crc)')
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
            from oslo_concurrency import processutils
    except ImportError as exc:
        raise MissingDependency('the Python library os-brick', OS_BRICK_PACKAGE,
                                reason='%s: %s' % (type(exc).__name__, exc))
    except Exception as exc:  # a broken installation: say what broke
        raise MissingDependency('a working os-brick', OS_BRICK_PACKAGE,
                                reason=traceback.format_exception_only(type(exc), exc)[-1].strip())
    return cfg, os_brick, privileged, connector, processutils, exception


def require_tools(runner, conn, use_multipath):
    """MissingDependency naming the distribution package of the first missing tool."""
    needed = list(TOOLS[conn.protocol]) if conn is not None else []
    if use_multipath and (conn is None or conn.protocol in ('ISCSI', 'ISER')):
        needed += list(MULTIPATH_TOOLS)
    for binary, package in needed:
        runner.which(binary, package)
