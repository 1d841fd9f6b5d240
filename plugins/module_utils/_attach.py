# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attach and detach on the initiator host, with os-brick as the engine.

module -> check the connection info (no command, no import of os-brick) -> load os-brick
once per process -> find what is attached now (os-brick's own lookups, sysfs) -> plan
(connect | disconnect | none) -> apply through os-brick's connector -> check the device.

os-brick runs in this (root) process: privsep in-process, no sudo, no privsep-helper;
its logs never reach stdout (stdout carries the module's JSON); the commands it runs
are recorded, redacted, in the task's command history.  It does not count users of a
session (one disconnect removes a session that was "connected" twice), so a second run
must find the attachment and report no change instead of connecting again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import glob
import logging
import os
import re
import stat
import time
import traceback
import warnings

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, InvalidParameter, MissingDependency, NotFound, NotSupported)
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import (
    REDACTED, redact_text)
from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import iqn_problem

# driver_volume_type (Cinder) -> os-brick protocol
PROTOCOLS = {'iscsi': 'ISCSI', 'iser': 'ISER', 'nvmeof': 'NVMEOF', 'rbd': 'RBD', 'local': 'LOCAL'}
# what each protocol needs on the initiator host: (command, distribution package)
TOOLS = {
    'ISCSI': (('iscsiadm', 'open-iscsi'),),
    'ISER': (('iscsiadm', 'open-iscsi'),),
    'NVMEOF': (('nvme', 'nvme-cli'),),
    'RBD': (('rbd', 'ceph-common'),),
    'LOCAL': (),
}
MULTIPATH_TOOLS = (('multipath', 'multipath-tools'), ('multipathd', 'multipath-tools'))
# keys of connection_info.data whose values are secrets
SECRET_KEYS = ('auth_password', 'auth_password_in', 'discovery_auth_password', 'keyring')
NVME_TRANSPORTS = ('tcp', 'rdma', 'RoCEv2')
OS_BRICK_PACKAGE = ("os-brick on the managed node ('pip install os-brick', or the "
                    "cinderkit.storage.managed_node role)")


# ---------------------------------------------------------------- validation
class Connection(object):
    """A checked connection_info: protocol, os-brick's properties, what to show of it."""

    __slots__ = ('volume_type', 'protocol', 'data', 'target', 'portals', 'lun', 'secrets',
                 'warnings')

    def __init__(self, volume_type, data):
        self.volume_type = volume_type
        self.protocol = PROTOCOLS[volume_type]
        self.data = data
        self.target = None
        self.portals = []
        self.lun = None
        self.secrets = []
        self.warnings = []

    def summary(self):
        out = dict(protocol=self.volume_type, target=self.target)
        if self.portals:
            out['portals'] = list(self.portals)
        if self.lun is not None:
            out['lun' if self.protocol in ('ISCSI', 'ISER') else 'ns_id'] = self.lun
        return out


UNCHANGED = 'pass the connection_info the export module returned, unchanged'


def _bad(key, problem, fix=None):
    return InvalidParameter('connection_info.%s' % key, problem, fix)


def _str(data, key, required=True):
    val = data.get(key)
    if val is None or val == '':
        if required:
            raise _bad('data', 'has no %s' % key, UNCHANGED)
        return None
    if not isinstance(val, str):
        raise _bad('data.%s' % key, 'must be a string, not %s' % type(val).__name__)
    return val


def _port(value, key):
    port = int(str(value)) if (not isinstance(value, bool) and
                               DIGITS_RE.match(str(value))) else -1
    if not 0 < port < 65536:
        raise _bad(key, '%r is not a TCP port' % (value,))
    return str(port)


# a host name, an IPv4 address or a bracketed IPv6 address: nothing a tool could read as more
ADDRESS_RE = r'(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9._-]*)'


def _portal(value, key):
    """'host:port', '[v6]:port' or 'host' (port 3260)."""
    if not isinstance(value, str) or not value.strip():
        raise _bad(key, 'must be "address:port", not %r' % (value,))
    m = re.match(r'^%s(?::([0-9]+))?$' % ADDRESS_RE, value)
    if not m:
        raise _bad(key, '%r is not "address:port"' % value,
                   'give an IP address or host name and a port, e.g. 192.0.2.10:3260')
    _port(m.group(2) or '3260', key)
    return value


def _address(value, key):
    """A bare host name or IP address (NVMe-oF portals, Ceph monitors)."""
    if not isinstance(value, str) or not re.match(r'^%s$' % ADDRESS_RE, value) and \
            not re.match(r'^[0-9a-fA-F:.]+$', value):
        raise _bad(key, '%r is not an IP address or host name' % (value,),
                   UNCHANGED)
    return value


def _no_nul(value, path='data'):
    """The key path of the first string with a NUL byte (or a non-string key), or None."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str) or '\x00' in k:
                return path
            found = _no_nul(v, '%s.%s' % (path, k))
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = _no_nul(v, '%s[%d]' % (path, i))
            if found:
                return found
    elif isinstance(value, str) and '\x00' in value:
        return path
    return None


DIGITS_RE = re.compile(r'^[0-9]+$')   # str.isdigit() also takes '²', which int() refuses


def _lun(value, key):
    if isinstance(value, bool) or not (isinstance(value, int) or (
            isinstance(value, str) and DIGITS_RE.match(value))):
        raise _bad(key, 'must be a LUN number, not %r' % (value,))
    if not 0 <= int(value) < 2 ** 64:
        raise _bad(key, 'LUN %r is out of range' % (value,))
    return int(value)


def _iscsi(conn, d):
    iqns = d.get('target_iqns') or ([d['target_iqn']] if d.get('target_iqn') else [])
    portals = d.get('target_portals') or ([d['target_portal']] if d.get('target_portal') else [])
    if not iqns:
        raise _bad('data', 'has no target_iqn', UNCHANGED)
    if not portals:
        raise _bad('data', 'has no target_portal', UNCHANGED)
    if 'target_lun' not in d and 'target_luns' not in d:
        raise _bad('data', 'has no target_lun', UNCHANGED)
    for key, val in (('target_iqns', iqns), ('target_portals', portals)):
        if not isinstance(val, list) or not all(isinstance(x, str) for x in val):
            raise _bad('data.%s' % key, 'must be a list of strings')
    luns = d.get('target_luns') if d.get('target_luns') is not None else [d.get('target_lun')]
    if not isinstance(luns, list):
        raise _bad('data.target_luns', 'must be a list of LUN numbers')
    luns = [_lun(x, 'data.target_luns' if 'target_luns' in d else 'data.target_lun') for x in luns]
    for i, iqn in enumerate(iqns):
        problem = target_iqn_problem(iqn)
        if problem:
            raise _bad('data.target_iqn', '%r %s' % (iqn, problem))
    for p in portals:
        _portal(p, 'data.target_portal')
    if 'target_iqns' in d or 'target_portals' in d or 'target_luns' in d:
        if not (len(iqns) == len(portals) == len(luns)):
            raise _bad('data', 'target_iqns, target_portals and target_luns differ in length '
                               '(%d, %d, %d)' % (len(iqns), len(portals), len(luns)))
    d['target_lun'] = luns[0]
    if 'target_luns' in d:
        d['target_luns'] = luns
    method = d.get('auth_method')
    if method is not None and str(method).upper() not in ('CHAP', 'NONE', ''):
        raise _bad('data.auth_method', 'unknown method %r' % (method,), 'use CHAP (or leave it out)')
    if method is not None and str(method).upper() == 'CHAP':
        _str(d, 'auth_username')
        _str(d, 'auth_password')
    if d.get('auth_username_in'):
        conn.warnings.append("the export uses mutual CHAP (auth_username_in); os-brick logs in "
                             "with one-way CHAP only, so the initiator does not authenticate the "
                             "target")
    if d.get('discovery_auth_method'):
        _str(d, 'discovery_auth_username')
        _str(d, 'discovery_auth_password')
    conn.target = iqns[0]
    conn.portals = list(portals)
    conn.lun = luns[0]


def _nvmeof(conn, d):
    if 'volume_replicas' in d:
        raise NotSupported('replicated NVMe-oF connection info (volume_replicas) is not supported '
                           'by the attachment module; attach one replica at a time')
    if 'target_nqn' in d or 'portals' in d:     # version 2
        nqn = _str(d, 'target_nqn')
        portals = d.get('portals')
        if not isinstance(portals, list) or not portals:
            raise _bad('data', 'has no portals', 'give portals as [[address, port, transport]]')
        norm = []
        for i, p in enumerate(portals):
            if not isinstance(p, (list, tuple)) or len(p) != 3:
                raise _bad('data.portals[%d]' % i, 'must be [address, port, transport], not %r'
                           % (p,))
            addr, port, transport = p
            if not isinstance(addr, str) or not addr:
                raise _bad('data.portals[%d]' % i, 'has no address')
            _address(addr, 'data.portals[%d]' % i)
            if transport not in NVME_TRANSPORTS:
                raise _bad('data.portals[%d]' % i, 'unknown transport %r' % (transport,),
                           'use one of: %s' % ', '.join(NVME_TRANSPORTS))
            norm.append([addr, _port(port, 'data.portals[%d]' % i), transport])
        d['portals'] = norm
        conn.portals = ['%s:%s (%s)' % tuple(p) for p in norm]
        if d.get('vol_uuid') is not None and not isinstance(d['vol_uuid'], str):
            raise _bad('data.vol_uuid', 'must be a string')
    else:                                        # version 1
        nqn = _str(d, 'nqn')
        transport = _str(d, 'transport_type')
        if transport not in NVME_TRANSPORTS:
            raise _bad('data.transport_type', 'unknown transport %r' % transport,
                       'use one of: %s' % ', '.join(NVME_TRANSPORTS))
        addr = _address(_str(d, 'target_portal'), 'data.target_portal')
        if d.get('target_port') is None:
            raise _bad('data', 'has no target_port')
        d['target_port'] = _port(d['target_port'], 'data.target_port')
        conn.portals = ['%s:%s (%s)' % (addr, d['target_port'], transport)]
        if d.get('ns_id') is None and not d.get('volume_nguid'):
            raise _bad('data', 'has neither ns_id nor volume_nguid', UNCHANGED)
    problem = target_nqn_problem(nqn)
    if problem:
        raise _bad('data.%s' % ('target_nqn' if 'target_nqn' in d else 'nqn'), '%r %s' % (nqn, problem))
    if d.get('ns_id') is not None:
        # os-brick compares it with sysfs text: an int never matches (and leaves the
        # controller connected after a long wait)
        if isinstance(d['ns_id'], bool) or not DIGITS_RE.match(str(d['ns_id'])) or \
                not 0 < int(str(d['ns_id'])) < 2 ** 32:
            raise _bad('data.ns_id', 'must be a namespace number, not %r' % (d['ns_id'],))
        d['ns_id'] = str(int(str(d['ns_id'])))
        conn.lun = d['ns_id']
    conn.target = nqn


def target_iqn_problem(iqn):
    """Why ``iqn`` cannot be a target name, or None (any case: the target names itself)."""
    return iqn_problem(iqn.lower())


def target_nqn_problem(nqn):
    """Why ``nqn`` cannot be a subsystem NQN, or None.

    Looser than a host NQN: Cinder's nvmet naming (``nqn.`` + target_prefix + volume, e.g.
    ``nqn.nvme-subsystem-1-volume-1``) has no date part, and the initiator must take what
    the target serves.
    """
    if len(nqn.encode('utf-8')) > 223:
        return 'is longer than 223 bytes'
    if not re.match(r'^nqn\.[\x21-\x7e]+$', nqn):
        return "is not an NVMe qualified name (nqn. followed by printable characters, no blanks)"
    return None


def _rbd(conn, d):
    name = _str(d, 'name')
    if name.count('/') != 1 or not all(name.split('/')):
        raise _bad('data.name', '%r is not "pool/image"' % name)
    hosts, ports = d.get('hosts'), d.get('ports')
    if not isinstance(hosts, list) or not hosts:
        raise _bad('data', 'has no hosts (the monitor addresses)')
    if not isinstance(ports, list) or len(ports) != len(hosts):
        raise _bad('data.ports', 'must list one port per monitor in hosts')
    for i, h in enumerate(hosts):
        _address(h, 'data.hosts[%d]' % i)
    d['ports'] = [_port(p, 'data.ports') for p in ports]
    if d.get('auth_enabled') and not d.get('auth_username'):
        raise _bad('data', 'has auth_enabled but no auth_username')
    conn.target = name
    conn.portals = ['%s:%s' % hp for hp in zip(hosts, d['ports'])]


def _local(conn, d):
    path = _str(d, 'device_path')
    if '\x00' in path:
        raise _bad('data.device_path', 'contains a NUL byte',
                   'a local connection attaches a block device of this host, e.g. /dev/vg/volume')
    norm = os.path.normpath(path)
    if not os.path.isabs(path) or not norm.startswith('/dev/') or \
            not os.path.realpath(norm).startswith('/dev/'):
        raise _bad('data.device_path', '%r is not a device under /dev' % path,
                   'a local connection attaches a block device of this host, e.g. /dev/vg/volume')
    d['device_path'] = norm
    conn.target = norm


CHECKS = {'ISCSI': _iscsi, 'ISER': _iscsi, 'NVMEOF': _nvmeof, 'RBD': _rbd, 'LOCAL': _local}


def check_connection_info(info):
    """A Connection from Cinder's ``{driver_volume_type, data}``; raise before any change."""
    if not isinstance(info, dict):
        raise InvalidParameter('connection_info', 'must be a dict with driver_volume_type and data')
    vtype = info.get('driver_volume_type')
    if not vtype:
        raise InvalidParameter('connection_info', 'has no driver_volume_type',
                               'pass the connection_info the export module returned, unchanged')
    if not isinstance(vtype, str) or vtype.lower() not in PROTOCOLS:
        raise InvalidParameter('connection_info.driver_volume_type', 'unknown type %r' % (vtype,),
                               'this module connects: %s' % ', '.join(sorted(PROTOCOLS)))
    data = info.get('data')
    if not isinstance(data, dict):
        raise InvalidParameter('connection_info', 'has no data dict',
                               'pass the connection_info the export module returned, unchanged')
    bad = _no_nul(data)
    if bad:
        raise InvalidParameter('connection_info.%s' % bad, 'contains a NUL byte or a key that '
                               'is not a string', UNCHANGED)
    conn = Connection(vtype.lower(), copy.deepcopy(data))
    conn.secrets = secrets_in(info)
    CHECKS[conn.protocol](conn, conn.data)
    return conn


def secrets_in(info):
    """Every secret value of a connection_info, found before anything is checked (so that
    even the error about a malformed one masks them)."""
    data = info.get('data') if isinstance(info, dict) else None
    if not isinstance(data, dict):
        return []
    found = [str(data[k]) for k in SECRET_KEYS if data.get(k)]
    if isinstance(data.get('keyring'), str):
        found.extend(keyring_secrets(data['keyring']))
    return found


def keyring_secrets(text):
    """The key values of a Ceph keyring (masked in all output)."""
    return re.findall(r'^\s*key\s*=\s*(\S+)', text or '', re.M)


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


# ------------------------------------------------------------- what is attached
def _is_block(path):
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False


def _iscsi_sessions(conn):
    """sysfs ids of the iSCSI sessions to this connection's targets (read-only)."""
    iqns = set(conn.data.get('target_iqns') or [conn.data.get('target_iqn')])
    out = []
    for sess in glob.glob('/sys/class/iscsi_session/session*'):
        try:
            with open(os.path.join(sess, 'targetname')) as fh:
                if fh.read().strip() in iqns:
                    out.append(os.path.basename(sess))
        except (IOError, OSError):
            continue
    return sorted(out)


def _holders(dev):
    """Multipath maps (dm-N with an mpath uuid) that hold block device ``dev``."""
    out = []
    for h in glob.glob('/sys/block/%s/holders/dm-*' % os.path.basename(dev)):
        name = os.path.basename(h)
        try:
            with open('/sys/block/%s/dm/uuid' % name) as fh:
                if not fh.read().startswith('mpath-'):
                    continue
            with open('/sys/block/%s/dm/name' % name) as fh:
                mapper = '/dev/mapper/' + fh.read().strip()
        except (IOError, OSError):
            continue
        out.append(('/dev/' + name, mapper))
    return out


class Attached(object):
    """What this host has of one connection now."""

    __slots__ = ('devices', 'path', 'multipath_device', 'multipath_name', 'sessions')

    def __init__(self, devices=(), path=None, multipath_device=None, multipath_name=None,
                 sessions=()):
        self.devices = sorted(set(devices))
        self.path = path or (self.devices[0] if self.devices else None)
        self.multipath_device = multipath_device
        self.multipath_name = multipath_name
        self.sessions = list(sessions)

    @property
    def attached(self):
        return bool(self.devices)

    @property
    def leftover(self):
        """A session without a device (a LUN that went away): detach cleans it up."""
        return not self.devices and bool(self.sessions)


def find_attached(brick, connector, conn, use_multipath):
    """Look up the attachment with os-brick's own lookups (no connect, no login)."""
    proto, d = conn.protocol, conn.data
    try:
        if proto in ('ISCSI', 'ISER'):
            paths = connector.get_volume_paths(copy.deepcopy(d))
            devices = [os.path.realpath(p) for p in paths if _is_block(p)]
            found = Attached(devices, sessions=_iscsi_sessions(conn))
            maps = sorted(set(m for dev in found.devices for m in _holders(dev)))
            if maps:
                found.multipath_device, found.multipath_name = maps[0]
                if use_multipath:
                    found.path = maps[0][0]
            return found
        if proto == 'NVMEOF':
            from os_brick.initiator.connectors import nvmeof
            props = nvmeof.NVMeOFConnProps(copy.deepcopy(d), find_controllers=True)
            devices = [p for p in props.get_devices(only_live=True) if _is_block(p)]
            found = Attached(devices)
            if found.attached and use_multipath and connector.native_multipath_supported:
                found.multipath_device = found.path
            return found
        if proto == 'RBD':
            pool, image = d['name'].split('/')
            link = connector.get_rbd_device_name(pool, image)
            return Attached([os.path.realpath(link)] if _is_block(link) else [])
        return Attached([d['device_path']] if _is_block(d['device_path']) else [])
    except CinderkitError:
        raise
    except Exception as exc:
        raise brick.error('looking up the attachment of %s' % conn.target, exc)


# ------------------------------------------------------------------ plan / apply
class AttachPlan(object):
    __slots__ = ('state', 'conn', 'before', 'after', 'action', 'device_info')

    def __init__(self, state, conn, before):
        self.state = state
        self.conn = conn
        self.before = before
        self.after = before
        self.action = 'none'
        self.device_info = None


def plan(state, conn, before):
    p = AttachPlan(state, conn, before)
    if conn.protocol == 'LOCAL':
        # nothing to connect: the device is on this host already
        if state == 'present' and not before.attached:
            raise NotFound("parameter 'connection_info.data.device_path': %s is not a block "
                           'device on this host' % conn.data['device_path'])
        return p
    if state == 'present':
        p.action = 'none' if before.attached else 'connect'
    elif before.attached or before.leftover:
        p.action = 'disconnect'
    return p


def connect(brick, connector, p, use_multipath):
    conn = p.conn
    props = copy.deepcopy(conn.data)
    try:
        info = connector.connect_volume(props)
    except Exception as exc:
        raise brick.error('connecting %s %s' % (conn.volume_type, conn.target), exc)
    conf = info.get('conf') if isinstance(info, dict) else None
    if conf and os.path.exists(conf):
        # os-brick's temporary ceph.conf for an RBD map holds the key: the mapping needs
        # it no longer
        os.unlink(conf)
    path = info.get('path') if isinstance(info, dict) else None
    if not isinstance(path, str) or not _is_block(path):
        raise CinderkitError('os-brick connected %s %s but returned no block device (%r)'
                             % (conn.volume_type, conn.target, path), changed=True)
    after = find_attached(brick, connector, conn, use_multipath)
    if not after.attached:
        after = Attached([os.path.realpath(path)])
    if info.get('multipath_id') or path.startswith('/dev/dm-'):
        after.multipath_device = path
        after.path = path
        maps = _holders(after.devices[0]) if after.devices else []
        if maps:
            after.multipath_name = maps[0][1]
    else:
        after.path = path
    p.device_info = dict((k, v) for k, v in info.items() if k in ('type', 'path', 'scsi_wwn',
                                                                  'multipath_id'))
    p.after = after


def disconnect(brick, connector, p, use_multipath, force):
    conn = p.conn
    device_info = {'type': 'block', 'path': p.before.path}
    props = copy.deepcopy(conn.data)
    if conn.protocol == 'NVMEOF' and p.before.path:
        props['device_path'] = p.before.path
    try:
        connector.disconnect_volume(props, device_info, force=force, ignore_errors=False)
    except Exception as exc:
        raise brick.error('disconnecting %s %s' % (conn.volume_type, conn.target), exc)
    after = find_attached(brick, connector, conn, use_multipath)
    if after.attached:
        raise CinderkitError('%s %s is still attached after the disconnect (%s)'
                             % (conn.volume_type, conn.target, ', '.join(after.devices)),
                             changed=True)
    p.after = after


# ---------------------------------------------------------------------- results
def size_of(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)


def record(p, check_mode):
    a = p.after
    attached = a.attached if not check_mode else (
        p.state == 'present' if p.action != 'none' else a.attached)
    out = p.conn.summary()
    out.update(state=p.state, action=p.action, attached=attached,
               path=a.path if attached else None,
               devices=list(a.devices) if attached else [],
               multipath_device=a.multipath_device if attached else None,
               multipath_name=a.multipath_name if attached else None)
    if attached and a.path and not (check_mode and p.action == 'connect'):
        out['size_bytes'] = size_of(a.path)
    if p.device_info and p.device_info.get('scsi_wwn'):
        out['scsi_wwn'] = p.device_info['scsi_wwn']
    return out


def diff(p):
    def view(att):
        return dict(attached=att.attached, path=att.path if att.attached else None)
    after = view(p.after)
    if p.action == 'connect' and not p.after.attached:      # check mode
        after = dict(attached=True, path=None)
    elif p.action == 'disconnect' and p.after.attached:     # check mode
        after = dict(attached=False, path=None)
    return dict(before=view(p.before), after=after)
