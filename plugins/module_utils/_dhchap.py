# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NVMe in-band authentication (DH-HMAC-CHAP) secrets, hashes and DH groups.

A secret is the NVMe base specification's text form (8.13.5.8, "DHHC-1"):

    DHHC-1:<tt>:<base64(key || crc32(key), little-endian)>:

``tt`` is the transformation the key goes through with the host NQN before use
(00 none, 01 SHA-256, 02 SHA-384, 03 SHA-512); the key is 32, 48 or 64 bytes,
and with a transformation it must be the hash's length (nvme-cli's
``gen-dhchap-key`` and the kernel's ``nvme_auth_extract_key`` agree).  The CRC
is zlib's CRC-32 of the key.

Secrets generated here use ``secrets`` and transformation 00, as
``nvme gen-dhchap-key`` does by default.  Nothing here runs a command.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import re
import struct
import zlib

PREFIX = 'DHHC-1'
# transformation id -> key length it requires (0: any of KEY_LENGTHS)
TRANSFORMS = {0: None, 1: 32, 2: 48, 3: 64}
KEY_LENGTHS = (32, 48, 64)
# what nvmet's configfs dhchap_hash and dhchap_dhgroup take (drivers/nvme/common/auth.c)
HASHES = ('hmac(sha256)', 'hmac(sha384)', 'hmac(sha512)')
DHGROUPS = ('null', 'ffdhe2048', 'ffdhe3072', 'ffdhe4096', 'ffdhe6144', 'ffdhe8192')
DEFAULT_HASH = 'hmac(sha256)'
DEFAULT_DHGROUP = 'null'

_SECRET_RE = re.compile(r'^DHHC-1:(0[0-3]):([A-Za-z0-9+/]+={0,2}):$')


def secret_problem(value):
    """Why ``value`` is not a DH-HMAC-CHAP secret in the DHHC-1 form, or None.

    Never shows the value.
    """
    if not isinstance(value, str) or not value:
        return 'must be a non-empty string'
    m = _SECRET_RE.match(value)
    if not m:
        return ("is not a DHHC-1 secret: expected DHHC-1:<00|01|02|03>:<base64 of the key and "
                "its CRC-32>: (as 'nvme gen-dhchap-key' prints)")
    transform = int(m.group(1))
    try:
        raw = base64.b64decode(m.group(2), validate=True)
    except (binascii.Error, ValueError):
        return 'has a base64 part that does not decode'
    key, crc = raw[:-4], raw[-4:]
    if len(key) not in KEY_LENGTHS:
        return 'holds a %d-byte key; DH-HMAC-CHAP keys are 32, 48 or 64 bytes' % max(len(key), 0)
    want = TRANSFORMS[transform]
    if want is not None and len(key) != want:
        return ('holds a %d-byte key, but transformation %02d needs a %d-byte key'
                % (len(key), transform, want))
    if struct.unpack('<I', crc)[0] != (zlib.crc32(key) & 0xffffffff):
        return 'has a wrong CRC-32 (the secret is damaged or mistyped)'
    return None


def make_secret(key, transform=0):
    """The DHHC-1 text of ``key`` (bytes)."""
    if len(key) not in KEY_LENGTHS:
        raise ValueError('a DH-HMAC-CHAP key is 32, 48 or 64 bytes')
    crc = struct.pack('<I', zlib.crc32(key) & 0xffffffff)
    return '%s:%02d:%s:' % (PREFIX, transform, base64.b64encode(key + crc).decode('ascii'))


def generate_secret(length=32):
    """A new random secret (transformation 00, ``length`` bytes of key)."""
    import secrets
    return make_secret(secrets.token_bytes(length))


def hash_problem(value):
    if value not in HASHES:
        return '%r is not a DH-HMAC-CHAP hash; use one of: %s' % (value, ', '.join(HASHES))
    return None


def dhgroup_problem(value):
    if value not in DHGROUPS:
        return '%r is not a DH group; use one of: %s' % (value, ', '.join(DHGROUPS))
    return None


class HostAuth(object):
    """The DH-HMAC-CHAP settings of one allowed host of an nvmet export."""

    __slots__ = ('host_key', 'ctrl_key', 'hash', 'dhgroup')

    def __init__(self, host_key, ctrl_key=None, hash_name=DEFAULT_HASH, dhgroup=DEFAULT_DHGROUP):
        self.host_key = host_key
        self.ctrl_key = ctrl_key or None
        self.hash = hash_name or DEFAULT_HASH
        self.dhgroup = dhgroup or DEFAULT_DHGROUP

    @property
    def bidirectional(self):
        return bool(self.ctrl_key)

    def secrets(self):
        return [s for s in (self.host_key, self.ctrl_key) if s]

    def __eq__(self, other):
        return isinstance(other, HostAuth) and all(
            getattr(self, a) == getattr(other, a) for a in self.__slots__)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __repr__(self):
        return 'HostAuth(<redacted>%s, %s, %s)' % (', <redacted ctrl>' if self.ctrl_key else '',
                                                   self.hash, self.dhgroup)

    def redacted(self):
        out = dict(method='dhchap', dhchap_hash=self.hash, dhchap_dhgroup=self.dhgroup,
                   host_key='<redacted>')
        if self.ctrl_key:
            out['ctrl_key'] = '<redacted>'
        return out

    def problems(self):
        """[(field, problem)] of settings nvmet would refuse."""
        out = []
        for field, value in (('host_key', self.host_key), ('ctrl_key', self.ctrl_key)):
            if value is None and field == 'ctrl_key':
                continue
            problem = secret_problem(value)
            if problem:
                out.append((field, problem))
        if self.ctrl_key is not None and self.ctrl_key == self.host_key:
            out.append(('ctrl_key', 'is the same as host_key; bidirectional authentication '
                                    'needs a different controller key'))
        for field, problem in (('dhchap_hash', hash_problem(self.hash)),
                               ('dhchap_dhgroup', dhgroup_problem(self.dhgroup))):
            if problem:
                out.append((field, problem))
        return out


def kernel_support(configfs_hosts='/sys/kernel/config/nvmet/hosts', kallsyms='/proc/kallsyms',
                   kconfig=None):
    """(True|False|None, how) - whether the running kernel's nvmet can authenticate hosts.

    Read-only.  The first that answers: an existing nvmet host directory (it has a
    ``dhchap_key`` attribute exactly when CONFIG_NVME_TARGET_AUTH is set); the loaded
    nvmet module's symbols; the kernel's build config.  None: cannot tell (nvmet not
    loaded and no config file).
    """
    import os
    try:
        hosts = sorted(os.listdir(configfs_hosts))
    except OSError:
        hosts = []
    if hosts:
        has = os.path.exists(os.path.join(configfs_hosts, hosts[0], 'dhchap_key'))
        return has, 'nvmet host %s %s a dhchap_key attribute' % (hosts[0], 'has' if has else 'has no')
    try:
        with open(kallsyms) as f:
            names = set()
            nvmet_loaded = False
            for line in f:
                parts = line.split()
                if len(parts) >= 4 and parts[3] == '[nvmet]':
                    nvmet_loaded = True
                    names.add(parts[2])
            if nvmet_loaded:
                has = 'nvmet_setup_auth' in names
                return has, 'the loaded nvmet module %s nvmet_setup_auth' % (
                    'has' if has else 'has no')
    except (IOError, OSError):
        pass
    path = kconfig or '/boot/config-%s' % os.uname()[2]
    try:
        with open(path) as f:
            for line in f:
                if line.startswith('CONFIG_NVME_TARGET_AUTH='):
                    return True, '%s sets CONFIG_NVME_TARGET_AUTH' % path
        return False, '%s does not set CONFIG_NVME_TARGET_AUTH' % path
    except (IOError, OSError):
        return None, 'nvmet is not loaded and %s cannot be read' % path
