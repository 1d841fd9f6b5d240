# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connect NVMe-oF controllers with DH-HMAC-CHAP secrets, off every command line.

os-brick (checked: 7.1.1) has no DH-HMAC-CHAP: its NVMeOFConnector runs
``nvme connect`` without ``--dhchap-secret``, and a target that requires
authentication refuses it ("Required key not available").  ``nvme connect
--dhchap-secret=...`` would put the secret on a command line, visible to every
user in ``/proc/*/cmdline``.  So the attachment module does for an
authenticated connection what nvme-cli does inside: it writes the connect
options, secrets included, to the kernel's ``/dev/nvme-fabrics`` and reads back
the new controller's instance.  Lookups and the disconnect stay os-brick's
(they need no secret).

The kernel refuses a host NQN other than its default with the default host ID
("found same hostid ... but different hostnqn"): the host ID always comes with
the host NQN it belongs to (os-brick's connector properties ``nqn`` and
``nvme_hostid``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import time

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import CinderkitError

FABRICS = '/dev/nvme-fabrics'
SYS_NVME = '/sys/class/nvme'
# errno the kernel returns for an authentication failure, as the error says it
AUTH_ERRORS = {126: 'the target requires a DH-HMAC-CHAP key and none was accepted',
               129: 'the key was rejected (wrong host key, or the controller failed '
                    'bidirectional authentication)'}
_INSTANCE_RE = re.compile(r'instance=(\d+)')


def options(transport, address, port, nqn, hostnqn, hostid, secret, ctrl_secret=None):
    """The option string ``/dev/nvme-fabrics`` takes (nvme-cli's, for one portal)."""
    for value in (transport, address, str(port), nqn, hostnqn, hostid or ''):
        if ',' in value or '\n' in value:
            raise CinderkitError('an NVMe-oF connect option holds a comma or a newline: %r'
                                 % value)
    parts = ['transport=%s' % ('rdma' if transport == 'RoCEv2' else transport),
             'traddr=%s' % address, 'trsvcid=%s' % port, 'nqn=%s' % nqn,
             'hostnqn=%s' % hostnqn]
    if hostid:
        parts.append('hostid=%s' % hostid)
    if secret:
        parts.append('dhchap_secret=%s' % secret)
    if ctrl_secret:
        parts.append('dhchap_ctrl_secret=%s' % ctrl_secret)
    return ','.join(parts)


def write_connect(opts, device=FABRICS):
    """Create one controller; its instance number.  Raises CinderkitError (secret-free)."""
    try:
        fd = os.open(device, os.O_RDWR)
    except OSError as exc:
        raise CinderkitError('cannot open %s (%s): load nvme-fabrics and the transport module '
                             '(modprobe nvme-tcp / nvme-rdma)' % (device, exc.strerror))
    try:
        os.write(fd, opts.encode('ascii'))
        answer = os.read(fd, 256).decode('ascii', 'replace')
    except OSError as exc:
        why = AUTH_ERRORS.get(exc.errno) or exc.strerror
        raise CinderkitError('the NVMe-oF connect was refused: %s' % why)
    finally:
        os.close(fd)
    m = _INSTANCE_RE.search(answer)
    if not m:
        raise CinderkitError('the kernel answered the NVMe-oF connect with %r' % answer,
                             changed=True)
    return int(m.group(1))


def namespace_device(instance, ns_id=None, timeout=30.0, sys_nvme=SYS_NVME):
    """/dev path of controller ``instance``'s namespace ``ns_id`` (the first one when None).

    With native NVMe multipath the block device is the subsystem's (``nvmeXnY``, listed
    as ``nvmeXcZnY`` under the controller); without it, the controller's own ``nvmeZnY``.
    """
    deadline = time.monotonic() + timeout
    ctrl = os.path.join(sys_nvme, 'nvme%d' % instance)
    while True:
        found = []
        for path in sorted(glob.glob(os.path.join(ctrl, 'nvme*n*'))):
            name = os.path.basename(path)
            nsid = _read(os.path.join(path, 'nsid'))
            if ns_id is not None and nsid != str(ns_id):
                continue
            m = re.match(r'^nvme(\d+)c\d+n(\d+)$', name)
            dev = '/dev/nvme%sn%s' % m.groups() if m else '/dev/%s' % name
            found.append(dev)
        for dev in found:
            if os.path.exists(dev):
                return dev
        if time.monotonic() > deadline:
            raise CinderkitError('controller nvme%d connected but namespace %s did not appear '
                                 'within %d s' % (instance, ns_id or '(any)', timeout),
                                 changed=True)
        time.sleep(0.2)


def delete_controller(instance, sys_nvme=SYS_NVME):
    try:
        with open(os.path.join(sys_nvme, 'nvme%d' % instance, 'delete_controller'), 'w') as fh:
            fh.write('1')
        return True
    except (IOError, OSError):
        return False


def _read(path):
    try:
        with open(path) as fh:
            return fh.read().strip()
    except (IOError, OSError):
        return None


def connect(data, hostnqn, hostid, timeout=30.0):
    """Connect every portal of an authenticated NVMe-oF connection_info (``data``, checked);
    {'path': device, 'instances': [...]}.  A failure on the first portal leaves nothing;
    a later one removes the controllers made before it."""
    nqn = data.get('target_nqn') or data.get('nqn')
    if data.get('portals'):
        portals = [tuple(p) for p in data['portals']]
    else:
        portals = [(data['target_portal'], data['target_port'], data['transport_type'])]
    made = []
    try:
        for addr, port, transport in portals:
            made.append(write_connect(options(transport, addr, port, nqn, hostnqn, hostid,
                                              data.get('dhchap_secret'),
                                              data.get('dhchap_ctrl_secret'))))
        path = namespace_device(made[0], data.get('ns_id'), timeout)
    except CinderkitError:
        for instance in made:
            delete_controller(instance)
        raise
    return {'type': 'block', 'path': path, 'instances': made}
