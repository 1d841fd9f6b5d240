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
import os
import re
import socket
import stat

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, InvalidParameter, NotFound)
from ansible_collections.cinderkit.storage.plugins.module_utils._brick import Brick, require_tools
from ansible_collections.cinderkit.storage.plugins.module_utils._connection_info import (
    check_connection_info, keyring_secrets, secrets_in)
from ansible_collections.cinderkit.storage.plugins.module_utils._converge import Task
from ansible_collections.cinderkit.storage.plugins.module_utils import _nvme_fabrics


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
            # the path: os-brick's /dev/rbd/POOL/IMAGE, as its connect returns it
            return Attached([os.path.realpath(link)], path=link) if _is_block(link) else Attached()
        return Attached([d['device_path']] if _is_block(d['device_path']) else [])
    except CinderkitError:
        raise
    except Exception as exc:
        raise brick.error('looking up the attachment of %s' % conn.target, exc)


MULTIPATH_PROTOCOLS = ('ISCSI', 'ISER', 'NVMEOF')


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


def connect(brick, connector, p, use_multipath, host_props=None):
    conn = p.conn
    props = copy.deepcopy(conn.data)
    if conn.protocol == 'NVMEOF' and props.get('dhchap_secret'):
        # os-brick has no DH-HMAC-CHAP: the kernel's fabrics device takes the secrets
        # (never a command line); see _nvme_fabrics
        host_props = host_props or {}
        if not host_props.get('nqn'):
            raise CinderkitError('this host has no NVMe host NQN (/etc/nvme/hostnqn; install '
                                 'nvme-cli): an authenticated connect needs it')
        info = _nvme_fabrics.connect(props, host_props['nqn'], host_props.get('nvme_hostid'))
    else:
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


# ----------------------------------------------------------------- the module
def _check_paths(p):
    """Path and name options: absolute, no NUL byte (open() and os-brick would raise on one)."""
    for key in ('rbd_keyring_file', 'lock_path'):
        path = p.get(key)
        if path is None:
            continue
        if '\x00' in path:
            raise InvalidParameter(key, 'the path contains a NUL byte', 'give an absolute path')
        if not os.path.isabs(path):
            raise InvalidParameter(key, 'the path %s is not absolute' % path, 'give an absolute path')
    for key in ('my_ip', 'host'):
        value = p.get(key)
        if value is not None and (not value or not value.isprintable() or ' ' in value):
            raise InvalidParameter(key, 'must be a host name or an IP address, not %r' % value,
                                   'leave it out to use this host\'s')
    if p['device_scan_attempts'] < 1:
        raise InvalidParameter('device_scan_attempts', 'must be 1 or more')
    opts = p.get('rbd_map_options')
    if opts is not None and not RBD_MAP_OPTIONS.match(opts):
        raise InvalidParameter('rbd_map_options', 'must be comma-separated krbd map options '
                               '(NAME or NAME=VALUE of letters, digits, "-", "_", ".", ":"), not %r'
                               % opts, 'e.g. ms_mode=secure')


# krbd map options (rbd(8) "Kernel rbd (krbd) options"): name[=value],...
RBD_MAP_OPTIONS = re.compile(r'^[A-Za-z0-9_]+(=[A-Za-z0-9_.:-]+)?(,[A-Za-z0-9_]+(=[A-Za-z0-9_.:-]+)?)*$')


def _connection(m):
    p = m.params
    for s in secrets_in(p.get('connection_info')):
        m.add_secret(s)
    _check_paths(p)
    if p['state'] == 'connector':
        for key in ('connection_info', 'rbd_keyring_file', 'rbd_map_options'):
            if p.get(key) is not None:
                raise InvalidParameter(key, 'does not apply with state: connector')
        return None
    if p.get('connection_info') is None:
        raise InvalidParameter('connection_info', 'is required with state: %s' % p['state'],
                               'pass the connection_info the export module returned; use '
                               "state: connector to read this host's connector properties")
    conn = check_connection_info(p['connection_info'])
    if p.get('rbd_map_options') is not None and conn.protocol != 'RBD':
        raise InvalidParameter('rbd_map_options', 'only applies to rbd connections')
    path = p.get('rbd_keyring_file')
    if path:
        if conn.protocol != 'RBD':
            raise InvalidParameter('rbd_keyring_file', 'only applies to rbd connections')
        if os.path.isdir(path):
            raise InvalidParameter('rbd_keyring_file', '%s is a directory' % path,
                                   'give the path of the keyring file')
        try:
            with open(path) as fh:
                conn.data['keyring'] = fh.read()
        except (IOError, OSError) as exc:
            raise NotFound("parameter 'rbd_keyring_file': cannot read %s: %s" % (path, exc.strerror))
        except UnicodeError:
            raise InvalidParameter('rbd_keyring_file', '%s is not a text file' % path,
                                   'give the path of a Ceph keyring (text)')
        for s in keyring_secrets(conn.data['keyring']):
            m.add_secret(s)
    if p['use_multipath'] and p['enforce_multipath'] and conn.protocol in MULTIPATH_PROTOCOLS \
            and len(conn.portals) < 2:
        raise InvalidParameter('enforce_multipath', 'the connection_info has one portal (%s): '
                               'one path cannot be multipath' % ', '.join(conn.portals),
                               'export on two or more portals (target_secondary_ip_addresses) '
                               'with connector multipath: true, or leave enforce_multipath out')
    m.warnings.extend(conn.warnings)
    return conn


class AttachTask(Task):
    """The attachment module's steps: os-brick connects or disconnects one volume."""

    def plan(self):
        p, m = self.params, self.m
        self.conn = _connection(m)
        if os.geteuid() != 0:
            raise CinderkitError('the attachment module must run as root (become: true): os-brick '
                                 'logs in, scans and flushes devices with root privileges')
        require_tools(m.runner, self.conn, p['use_multipath'])
        self.brick = Brick(m.runner, p['lock_path'], rbd_map_options=p.get('rbd_map_options'))
        if p.get('my_ip'):
            my_ip = p['my_ip']
        else:
            from ansible_collections.cinderkit.storage.plugins.module_utils._options import _my_ip
            my_ip = _my_ip()
        self.props = self.brick.properties(my_ip, p.get('host') or socket.gethostname(),
                                           p['use_multipath'], p['enforce_multipath'])
        self.p = None
        if self.conn is None:
            for key, what in (('initiator', 'no iSCSI initiator name (install open-iscsi)'),
                              ('nqn', 'no NVMe host NQN (install nvme-cli)')):
                if not self.props.get(key):
                    m.warnings.append('this host has %s' % what)
            return
        self.connector = self.brick.connector_for(self.conn, p['use_multipath'],
                                                  p['device_scan_attempts'])
        before = find_attached(self.brick, self.connector, self.conn, p['use_multipath'])
        self.p = plan(p['state'], self.conn, before)

    def changed(self):
        return self.p is not None and self.p.action != 'none'

    def apply(self):
        p = self.params
        self.brick.writing = True       # what os-brick runs from here on changes this host
        if self.p.action == 'connect':
            connect(self.brick, self.connector, self.p, p['use_multipath'], self.props)
        else:
            disconnect(self.brick, self.connector, self.p, p['use_multipath'], p['force'])

    def result(self, changed):
        out = dict(connector=self.props)
        if self.p is not None:
            out['attachment'] = record(self.p, self.check_mode)
        return out

    def diff(self):
        return diff(self.p)
