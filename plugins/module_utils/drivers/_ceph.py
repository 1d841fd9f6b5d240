# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ceph client of the RBD driver: one librados connection and the pool's I/O context
per task, the monitor map, and what ceph.conf sets.  No command line: librados only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import traceback

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, InvalidParameter, MissingDependency)

# rados for the client, rbd for the RBD driver (which takes both from here)
try:
    import rados
    import rbd  # noqa: F401 pylint: disable=unused-import
    HAS_RBD = True
    RBD_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported through require_rbd()
    rados = None
    rbd = None
    HAS_RBD = False
    RBD_IMPORT_ERROR = traceback.format_exc()

PACKAGES = 'python3-rbd python3-rados (Debian/Ubuntu; EPEL/Ceph repositories on RHEL)'


def require_rbd():
    if not HAS_RBD:
        last = (RBD_IMPORT_ERROR or '').strip().splitlines()
        raise MissingDependency('the Ceph Python bindings (rados, rbd)', PACKAGES,
                                reason=last[-1] if last else None)


def text(value):
    """librados returns bytes or str: str."""
    return value.decode('utf-8', 'replace') if isinstance(value, bytes) else value


def parse_mon_addr(addr):
    """'1.2.3.4:6789/0' or '[::1]:3300/0' -> (host, port)."""
    hostport = addr.rsplit('/', 1)[0]
    host, port = hostport.rsplit(':', 1)
    return host.strip('[]'), port


class CephClient(object):
    """One task's connection to the cluster of a backend (built lazily, closed last)."""

    def __init__(self, config):
        self.config = config
        self.pool = config.rbd_pool
        self.cluster = None
        self._ioctx = None
        self._fsid = None

    def conf_get(self, key):
        self.connect()
        return self.cluster.conf_get(key)

    def who(self):
        return 'client.%s' % (self.config.rbd_user or 'admin')

    def connect(self):
        if self._ioctx is not None:
            return
        require_rbd()
        c = self.config
        if c.rbd_ceph_conf and not os.path.isfile(c.rbd_ceph_conf):
            raise InvalidParameter('backend.rbd_ceph_conf', '%s does not exist or is not a file'
                                   % c.rbd_ceph_conf, 'give the path of the cluster\'s ceph.conf')
        if c.rbd_keyring_conf and not os.access(c.rbd_keyring_conf, os.R_OK):
            raise InvalidParameter('backend.rbd_keyring_conf', 'keyring %s does not exist or is not '
                                   'readable' % c.rbd_keyring_conf,
                                   'copy the keyring of %s there (mode 0600) or fix the path' % self.who())
        try:
            client = rados.Rados(rados_id=c.rbd_user, clustername=c.rbd_cluster_name,
                                 conffile=c.rbd_ceph_conf)
        except rados.Error as exc:
            raise CinderkitError('cannot read the Ceph configuration %s: %s'
                                 % (c.rbd_ceph_conf or '(librados default search path)', exc))
        try:
            # librados logs to stderr by default; keep module output clean
            client.conf_set('log_to_stderr', 'false')
            client.conf_set('err_to_stderr', 'false')
            if c.rbd_keyring_conf:
                client.conf_set('keyring', c.rbd_keyring_conf)
            if c.rbd_secure_mode:
                client.conf_set('ms_client_mode', 'secure')
                client.conf_set('ms_mon_client_mode', 'secure')
            timeout = c.rados_connect_timeout
            if timeout >= 0:
                for key in ('rados_osd_op_timeout', 'rados_mon_op_timeout', 'client_mount_timeout'):
                    client.conf_set(key, str(timeout))
            mon_host = client.conf_get('mon_host') or '(none)'
            try:
                if timeout >= 0:
                    client.connect(timeout=timeout)
                else:
                    client.connect()
            except rados.Error as exc:
                raise self._connect_error(exc, mon_host, timeout)
            try:
                ioctx = client.open_ioctx(self.pool)
            except rados.ObjectNotFound:
                raise InvalidParameter('backend.rbd_pool', 'pool %r does not exist in Ceph cluster %s'
                                       % (self.pool, text(client.get_fsid())),
                                       'create it (ceph osd pool create %s; rbd pool init %s) or fix '
                                       'rbd_pool' % (self.pool, self.pool))
            except rados.Error as exc:
                raise CinderkitError('cannot open pool %r as %s: %s' % (self.pool, self.who(), exc))
        except BaseException:
            client.shutdown()
            raise
        self.cluster = client
        self._ioctx = ioctx

    def _connect_error(self, exc, mon_host, timeout):
        who = self.who()
        conf = self.config.rbd_ceph_conf or '(librados default ceph.conf)'
        if isinstance(exc, rados.TimedOut):
            return CinderkitError(
                'cannot reach the Ceph monitors %s within %s as %s (conf %s): timed out. Check '
                'mon_host, the network/firewall and that the monitors run; with msgr2 secure mode '
                'both sides must allow it' % (mon_host, '%d s (rados_connect_timeout)' % timeout
                                              if timeout >= 0 else "librados' client_mount_timeout",
                                              who, conf))
        errno_ = getattr(exc, 'errno', None)
        if isinstance(exc, (rados.PermissionDeniedError, rados.PermissionError)) or errno_ in (1, 13):
            return CinderkitError(
                'the Ceph monitors %s refused %s: permission denied (a wrong key in the keyring '
                '%s, an unknown user, or a messenger mode the cluster does not allow)'
                % (mon_host, who, self.config.rbd_keyring_conf or 'named by %s' % conf))
        if isinstance(exc, rados.ObjectNotFound) or errno_ == 2:
            return CinderkitError(
                'no key found for %s: no keyring at rbd_keyring_conf, in %s or in '
                '/etc/ceph/%s.%s.keyring. Install the keyring (mode 0600) or set rbd_keyring_conf'
                % (who, conf, self.config.rbd_cluster_name, who))
        return CinderkitError('cannot connect to the Ceph cluster (monitors %s) as %s: %s'
                              % (mon_host, who, exc))

    def close(self):
        """End the task's cluster connection."""
        if self._ioctx is not None:
            self._ioctx.close()
            self._ioctx = None
        if self.cluster is not None:
            self.cluster.shutdown()
            self.cluster = None

    @property
    def ioctx(self):
        self.connect()
        return self._ioctx

    def mon_command(self, cmd, what):
        self.connect()
        ret, out, err = self.cluster.mon_command(json.dumps(cmd), b'')
        if ret != 0:
            raise CinderkitError('Ceph refused %s (%s) for %s: %s'
                                 % (what, cmd.get('prefix'), self.who(), err or ret))
        return json.loads(text(out) or 'null')

    def fsid(self):
        if self._fsid is None:
            self.connect()
            self._fsid = text(self.cluster.get_fsid())
        return self._fsid

    def secure_mode(self):
        """True when every connection must be encrypted (option or ceph.conf)."""
        if self.config.rbd_secure_mode:
            return True
        self.connect()
        return (self.cluster.conf_get('ms_client_mode') or '').strip() == 'secure'

    def mon_addrs(self):
        """([hosts], [ports]) of the monitors from the monmap (librados, not the CLI).

        Like Cinder, each monitor's legacy ``addr``; in secure mode its msgr2 address,
        since messenger v1 cannot encrypt.
        """
        monmap = self.mon_command({'prefix': 'mon dump', 'format': 'json'}, 'the monitor map')
        secure = self.secure_mode()
        hosts, ports = [], []
        for mon in monmap.get('mons', []):
            addr = mon.get('addr')
            if secure:
                v2 = [a['addr'] for a in mon.get('public_addrs', {}).get('addrvec', []) if a.get('type') == 'v2']
                addr = v2[0] if v2 else addr
            if not addr:
                continue
            host, port = parse_mon_addr(addr)
            hosts.append(host)
            ports.append(port)
        return hosts, ports

    def conf_file_value(self, key):
        """``key`` as the ceph.conf alone sets it for rbd_user (no cinderkit override)."""
        c = self.config
        probe = rados.Rados(rados_id=c.rbd_user, clustername=c.rbd_cluster_name, conffile=c.rbd_ceph_conf)
        try:
            return (probe.conf_get(key) or '').strip()
        finally:
            probe.shutdown()
