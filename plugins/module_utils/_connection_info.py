# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""connection_info as the export module (or Cinder) returns it, checked before os-brick sees it.

No command runs and os-brick is not imported: a wrong shape fails with the key and the fix.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import re

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    InvalidParameter, NotSupported)
from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import iqn_problem
from ansible_collections.cinderkit.storage.plugins.module_utils._dhchap import secret_problem

PROTOCOLS = {'iscsi': 'ISCSI', 'iser': 'ISER', 'nvmeof': 'NVMEOF', 'rbd': 'RBD', 'local': 'LOCAL'}
SECRET_KEYS = ('auth_password', 'auth_password_in', 'discovery_auth_password', 'keyring',
               'dhchap_secret', 'dhchap_ctrl_secret')
NVME_TRANSPORTS = ('tcp', 'rdma', 'RoCEv2')


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
    for key in ('dhchap_secret', 'dhchap_ctrl_secret'):
        if d.get(key) is not None:
            problem = secret_problem(d[key])
            if problem:
                raise _bad('data.%s' % key, 'the DH-HMAC-CHAP secret %s' % problem,
                           'pass the connection_info the export module returned')
    if d.get('dhchap_ctrl_secret') and not d.get('dhchap_secret'):
        raise _bad('data.dhchap_ctrl_secret', 'is given without dhchap_secret',
                   'bidirectional authentication needs the host key too')
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
