# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The target-helper interface, its records and its registry.

Cinder's target drivers (cinder/volume/targets/driver.py) have five verbs
plus extend_target; helpers are found by name (Cinder's ``target_mapping``).
Here helpers register with ``@register_target('tgtadm')``.

Differences from Cinder, on purpose:

* there is no database: what Cinder keeps in ``provider_location`` and
  ``provider_auth`` is read back from the target itself and from the
  helper's persistence (tgt include files, LIO saveconfig, nvmet config);
* ``list_exports()`` reads the whole target state in ONE query and returns
  typed ``Export`` records, so a task converges any number of exports with
  one query (plus one after writes);
* the verbs take records (``ExportSpec`` = wanted, ``Export`` = actual),
  never strings to split.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import re
import uuid

from ansible_collections.cinderkit.storage.plugins.module_utils._backing import Backing  # noqa: F401 pylint: disable=unused-import
from ansible_collections.cinderkit.storage.plugins.module_utils._files import write_private  # noqa: F401 pylint: disable=unused-import
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    InvalidParameter, NotSupported)

REQUIRED_TARGET_METHODS = (
    'create_export', 'ensure_export', 'remove_export', 'initialize_connection',
    'terminate_connection', 'extend_target', 'list_exports',
)

_TARGETS = {}

# --------------------------------------------------------------------- names
MAX_NAME_BYTES = 223  # RFC 3720 (iSCSI names) and the NVMe base spec (NQNs)
_DATE = r'[0-9]{4}-(0[1-9]|1[0-2])'
_LABEL = r'[a-z0-9]([a-z0-9-]*[a-z0-9])?'
IQN_RE = re.compile(r'^iqn\.%s\.%s(\.%s)*(:[a-z0-9.:-]+)?$' % (_DATE, _LABEL, _LABEL))
EUI_RE = re.compile(r'^eui\.[0-9a-fA-F]{16}$')
NAA_RE = re.compile(r'^naa\.([0-9a-fA-F]{16}|[0-9a-fA-F]{32})$')
NQN_RE = re.compile(r'^nqn\.%s\.[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*:[\x21-\x7e]+$' % _DATE)

# CHAP: at least 12 characters for secrets (Windows and many iSCSI HBAs refuse
# shorter ones; RFC 3720 asks for 96 bits).  The character sets are strict on
# purpose: tgt's service restore (tgt-admin -e, a Perl script) reads the include
# files with Config::General and hands every line to /bin/sh unquoted
# ("tgtadm ... --user=NAME --password=SECRET"), so a blank, a quote, '#', '$',
# '`', ';', '|', '&', '<', '>', '(', ')', '{', '}', '*', '?', '[', '!' or '\\'
# in a name or secret would be a shell command at the next service start.  What
# is left has no meaning to sh, Config::General, configfs or iscsid ('~' only
# expands at the start of a word; tgt-admin always writes "--password=" first).
CHAP_MIN = 12
CHAP_MAX = 255
CHAP_NAME_RE = re.compile(r'^[A-Za-z0-9._:@-]+$')
CHAP_SECRET_RE = re.compile(r'^[A-Za-z0-9._~+=-]+$')
CHAP_NAME_CHARS = "letters, digits and . _ : @ -"
CHAP_SECRET_CHARS = "letters, digits and . _ ~ + = -"
# the random alphabet of generate_secret: letters and digits without look-alikes
SECRET_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
GENERATED_USERNAME_LEN = 20   # Cinder: volume_utils.generate_username()
GENERATED_PASSWORD_LEN = 16   # Cinder: volume_utils.generate_password(); Windows accepts 12-16

# tgt reads an address ACL that can never match a TCP peer, so that an
# include file with only initiator-name ACLs is not opened to ALL by tgt-admin
TGT_NO_ADDRESS = '255.255.255.255'


def iqn_problem(name):
    """Why ``name`` is not an iSCSI name (iqn./eui./naa.), or None."""
    if not isinstance(name, str) or not name:
        return 'must be a non-empty string'
    if len(name.encode('utf-8')) > MAX_NAME_BYTES:
        return 'is longer than %d bytes' % MAX_NAME_BYTES
    if name.startswith(('eui.', 'naa.')):
        return None if (EUI_RE.match(name) or NAA_RE.match(name)) else \
            'is not a valid eui.<16 hex> or naa.<16|32 hex> name'
    if name != name.lower() and name.lower().startswith('iqn.'):
        return ('contains upper-case letters; iSCSI names are compared in their normalized '
                '(lower-case) form, as initiators send them')
    if not IQN_RE.match(name):
        return ("is not an iSCSI qualified name: expected iqn.YYYY-MM.reversed.domain[:unique], "
                "lower-case letters, digits, '.', '-' and ':' (RFC 3720 3.2.6)")
    return None


def nqn_problem(name):
    """Why ``name`` is not an NVMe qualified name, or None."""
    if not isinstance(name, str) or not name:
        return 'must be a non-empty string'
    if len(name.encode('utf-8')) > MAX_NAME_BYTES:
        return 'is longer than %d bytes' % MAX_NAME_BYTES
    if not NQN_RE.match(name):
        return ("is not an NVMe qualified name: expected nqn.YYYY-MM.reversed.domain:unique "
                "(for example the output of 'nvme gen-hostnqn')")
    return None


def chap_problem(value, what):
    """Why ``value`` cannot be a CHAP user name (``what='name'``) or secret, or None.

    Never shows the value.  The same check applies to given, backend, saved and
    generated credentials.
    """
    if not isinstance(value, str) or not value:
        return 'must be a non-empty string'
    if what == 'secret' and len(value) < CHAP_MIN:
        return ('is %d characters long; common initiators (Windows, many HBAs) need at least %d'
                % (len(value), CHAP_MIN))
    if len(value) > CHAP_MAX:
        return 'is longer than %d characters' % CHAP_MAX
    if what == 'secret':
        if not CHAP_SECRET_RE.match(value):
            return ('contains a character outside the allowed set (%s): tgt restores exports '
                    'through a shell, so blanks, quotes, control characters and shell '
                    'punctuation are refused' % CHAP_SECRET_CHARS)
    elif not CHAP_NAME_RE.match(value):
        return ('contains a character outside the allowed set (%s): tgt restores exports '
                'through a shell, so blanks, quotes, control characters and shell punctuation '
                'are refused' % CHAP_NAME_CHARS)
    return None


def generate_secret(length):
    """A random CHAP user name or secret (letters and digits, like Cinder's)."""
    import secrets
    return ''.join(secrets.choice(SECRET_ALPHABET) for dummy in range(length))


# ----------------------------------------------------- values written to files
# Control characters (newline, NUL, ...) end or corrupt a config line everywhere.
_CONTROL_RE = re.compile(r'[\x00-\x1f\x7f]')
# What tgt-admin can take in a path (``-b "PATH"`` through sh, Config::General
# values): no blank, quote, '$', '`', '\\', '#', '<', '>' or shell punctuation.
PATH_CHARS_RE = re.compile(r'^[A-Za-z0-9._/+:@,=%-]+$')
PATH_CHARS = "letters, digits and . _ / + : @ , = % -"


def control_problem(value):
    """Why a string holds a character no config line can carry, or None."""
    if '\x00' in value:
        return 'contains a NUL byte'
    if _CONTROL_RE.search(value):
        return 'contains a newline or another control character'
    return None


def path_problem(value, chars=False):
    """Why ``value`` is not an absolute, normalised path, or None.

    ``chars``: also require tgt's safe character set (values written into tgt
    include files, which tgt-admin passes through a shell).
    """
    if not isinstance(value, str) or not value:
        return 'must be a non-empty path'
    problem = control_problem(value)
    if problem:
        return problem
    if not value.startswith('/'):
        return 'is not an absolute path'
    if os.path.normpath(value) != value or value.startswith('//'):
        return ('is not normalised (no ".", "..", "//" or trailing "/"); use %s'
                % os.path.normpath(value).replace('//', '/'))
    if chars and not PATH_CHARS_RE.match(value):
        return ('contains a character outside the allowed set (%s): tgt restores exports '
                'through a shell' % PATH_CHARS)
    return None


_HOSTNAME_RE = re.compile(r'^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)'
                          r'(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$')


def address_problem(value, hostnames=True):
    """Why ``value`` is not an IP address (or, with ``hostnames``, an RFC 1123 host name)."""
    import ipaddress
    if not isinstance(value, str) or not value:
        return 'must be a non-empty address'
    problem = control_problem(value)
    if problem:
        return problem
    try:
        ipaddress.ip_address(value.strip('[]') if value.startswith('[') else value)
        return None
    except ValueError:
        pass
    if hostnames and _HOSTNAME_RE.match(value) and not re.match(r'^[0-9.]+$', value):
        return None
    return ('is not an IP address%s' % (' or a host name' if hostnames else '')
            + ('' if hostnames else ' (this target helper listens on addresses only)'))


def decimal_problem(value):
    """Why ``value`` is not a non-negative decimal integer (ASCII digits only), or None.

    ``'²'.isdigit()`` is true and ``int('²')`` fails: only [0-9] counts.
    """
    if isinstance(value, bool):
        return 'must be a number, not a boolean'
    if isinstance(value, int):
        return None if value >= 0 else 'must not be negative'
    if isinstance(value, str) and re.match(r'^[0-9]+$', value):
        return None
    return 'must be a number (ASCII digits), not %r' % (value,)


def volume_uuid(volume, salt):
    """The volume's UUID when its name holds one (Cinder's volume-<uuid>), else a stable uuid5."""
    m = re.search(r'[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}', volume)
    if m:
        return m.group(0).lower()
    return str(uuid.uuid5(uuid.NAMESPACE_URL, 'cinderkit:%s:%s' % (salt, volume)))


# ------------------------------------------------------------------- records
class Chap(object):
    """CHAP credentials of one export: one-way, optionally mutual."""

    __slots__ = ('username', 'password', 'mutual_username', 'mutual_password')

    def __init__(self, username, password, mutual_username=None, mutual_password=None):
        self.username = username
        self.password = password
        self.mutual_username = mutual_username or None
        self.mutual_password = mutual_password or None

    @property
    def mutual(self):
        return bool(self.mutual_username)

    def secrets(self):
        return [s for s in (self.password, self.mutual_password) if s]

    def __eq__(self, other):
        return isinstance(other, Chap) and all(
            getattr(self, a) == getattr(other, a) for a in self.__slots__)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __repr__(self):
        mutual = ', mutual %r' % self.mutual_username if self.mutual else ''
        return 'Chap(%r, <redacted>%s)' % (self.username, mutual)

    def redacted(self):
        out = dict(method='CHAP', username=self.username, password='<redacted>')
        if self.mutual:
            out.update(mutual_username=self.mutual_username, mutual_password='<redacted>')
        return out


class ExportSpec(object):
    """What a caller wants exported."""

    __slots__ = ('volume', 'backing', 'auth', 'initiators', 'allow_any_host', 'acl_mode',
                 'host_auth')

    def __init__(self, volume, backing, auth=None, initiators=(), allow_any_host=False,
                 acl_mode='exact', host_auth=None):
        self.volume = volume
        self.backing = backing
        self.auth = auth                      # Chap or None (no CHAP)
        self.initiators = tuple(sorted(set(initiators)))
        self.allow_any_host = bool(allow_any_host)
        self.acl_mode = acl_mode              # exact | add
        # NVMe DH-HMAC-CHAP: {host NQN: _dhchap.HostAuth} of the hosts that authenticate
        self.host_auth = dict(host_auth or {})


class Export(object):
    """An export as the target (and its persistence) has it."""

    __slots__ = ('volume', 'target_name', 'backing', 'lun', 'auth', 'initiators',
                 'allow_any_host', 'live', 'persisted', 'size_bytes', 'extra', 'host_auth')

    def __init__(self, volume, target_name, backing=None, lun=None, auth=None, initiators=(),
                 allow_any_host=False, live=False, persisted=False, size_bytes=None, extra=None,
                 host_auth=None):
        self.host_auth = dict(host_auth or {})   # NVMe DH-HMAC-CHAP, as ExportSpec.host_auth
        self.volume = volume
        self.target_name = target_name
        self.backing = backing
        self.lun = lun
        self.auth = auth
        self.initiators = tuple(sorted(set(initiators)))
        self.allow_any_host = bool(allow_any_host)
        self.live = live
        self.persisted = persisted
        self.size_bytes = size_bytes
        self.extra = dict(extra or {})

    def to_result(self):
        out = dict(volume=self.volume, target=self.target_name,
                   device_path=self.backing.path if self.backing else None,
                   backing=self.backing.kind if self.backing else None,
                   lun=self.lun, initiators=list(self.initiators),
                   allow_any_host=self.allow_any_host, live=self.live, persisted=self.persisted,
                   auth=self.auth.redacted() if self.auth else None,
                   read_only=bool(self.backing is not None and self.backing.read_only))
        if self.host_auth:
            out['auth'] = dict(method='dhchap', hosts=dict(
                (h, a.redacted()) for h, a in sorted(self.host_auth.items())))
        if self.size_bytes is not None:
            out['size_bytes'] = self.size_bytes
        out.update(self.extra)
        return out


# ------------------------------------------------------------------ registry
def register_target(name):
    def deco(cls):
        if name in _TARGETS and _TARGETS[name] is not cls:
            raise ValueError('target helper %s registered twice' % name)
        cls.name = name
        _TARGETS[name] = cls
        return cls
    return deco


def registered_targets():
    return dict(_TARGETS)


def get_target_class(name, param='backend.target_helper'):
    try:
        return _TARGETS[name]
    except KeyError:
        raise InvalidParameter(param, 'unknown or unsupported target helper %r' % (name,),
                               'use one of: %s' % ', '.join(sorted(_TARGETS)))


def storage_protocol_for(target_helper, target_protocol):
    """Cinder's constant spelling of the protocol a helper serves."""
    if target_protocol in ('nvmet_tcp', 'nvmet_rdma') or target_helper in ('nvmet', 'spdk-nvmeof'):
        return 'NVMe-oF'
    if target_protocol == 'iser':
        return 'iSER'
    return 'iSCSI'


# ------------------------------------------------------------------ interface
class Target(object):
    """Base target helper.  Construction runs no command.

    Call order for one task: ``list_exports()`` once; then any of
    ``create_export`` / ``ensure_export`` / ``update_export`` /
    ``remove_export`` per export; then ``commit()`` once (LIO and nvmet save
    their whole configuration there); then ``list_exports(refresh=True)``.
    """

    name = None
    # Cinder target_protocol values this helper serves
    protocols = ('iscsi',)
    # whether an initiator sees a grown LUN after extend_target without I/O errors
    online_extend = True
    # optional features: 'mutual_chap', 'discovery_chap', 'chap', 'acl', 'multiattach' (several
    # initiators attached at once, each with its own ACL entry), 'snapshot_export' (read-only
    # LUNs/namespaces: a snapshot's export); callers ask ``supports()``
    features = frozenset()
    # what an initiator name looks like for this helper
    initiator_kind = 'iqn'
    # whether target_ip_address may be a host name (only the connection info carries it)
    hostname_portals = False
    # whether device paths must keep to PATH_CHARS (they are written where a shell reads them)
    strict_paths = False
    # the host lock (plugins/module_utils/_locks.py) a task holds while it changes this
    # helper's state; None: no lock
    lock_name = None
    # False for a helper that makes no exports (the driver serves its volumes itself)
    exports_volumes = True

    def __init__(self, config, runner):
        self.config = config
        self.runner = runner
        self.warnings = []

    # -- facts ---------------------------------------------------------------
    @property
    def protocol(self):
        return self.config.get('target_protocol') or 'iscsi'

    @property
    def storage_protocol(self):
        return storage_protocol_for(self.name, self.protocol)

    def supports(self, feature):
        return feature in self.features

    def portals(self):
        """['ip:port', ...]: target_ip_address first, then the secondary addresses."""
        port = self.config.get('target_port')
        ips = [self.config.get('target_ip_address')] + list(
            self.config.get('target_secondary_ip_addresses') or [])
        return ['%s:%s' % (_host(ip), port) for ip in ips if ip]

    def target_name(self, volume):
        """The IQN (or NQN) this helper gives the export of ``volume`` (Cinder's naming)."""
        return '%s%s' % (self.config.get('target_prefix'), volume)

    def volume_of(self, target_name):
        """Inverse of target_name(), or None for a target this helper does not manage."""
        prefix = self.config.get('target_prefix')
        if target_name.startswith(prefix) and len(target_name) > len(prefix):
            return target_name[len(prefix):]
        return None

    def target_name_problem(self, volume):
        return iqn_problem(self.target_name(volume))

    def initiator_problem(self, name):
        return iqn_problem(name) if self.initiator_kind == 'iqn' else nqn_problem(name)

    @property
    def connector_key(self):
        """The os-brick connector property naming the initiator: ``initiator`` or ``nqn``."""
        return 'initiator' if self.initiator_kind == 'iqn' else 'nqn'

    def connector_initiator(self, connector):
        """The initiator name (IQN or host NQN) a connector brings, or None."""
        return (connector or {}).get(self.connector_key) or None

    def lock(self, timeout=None):
        """Context manager: the host-wide lock of this helper's state (re-entrant).

        Held by the export module from its one query to its last write, so that
        what it decides comes from a view no other task changes meanwhile.
        """
        from ansible_collections.cinderkit.storage.plugins.module_utils import _locks
        if not self.lock_name:
            return _nolock()
        return _locks.host_lock(self.lock_name, timeout or _locks.DEFAULT_TIMEOUT)

    def locked(self):
        from ansible_collections.cinderkit.storage.plugins.module_utils import _locks
        return bool(self.lock_name) and _locks.held(self.lock_name)

    def config_problems(self):
        """[(parameter, problem)] for backend options this helper cannot use (no command)."""
        out = []
        ips = [('backend.target_ip_address', self.config.get('target_ip_address'))]
        ips += [('backend.target_secondary_ip_addresses[%d]' % i, ip) for i, ip in
                enumerate(self.config.get('target_secondary_ip_addresses') or [])]
        for param, ip in ips:
            if ip is None and param == 'backend.target_ip_address':
                continue
            problem = address_problem(ip, hostnames=self.hostname_portals)
            if problem:
                out.append((param, '%r %s' % (ip, problem) if not control_problem(str(ip))
                            else problem))
        seen = {}
        for param, ip in ips:
            if ip is None:
                continue
            if ip in seen:
                out.append((param, '%r is listed twice (also %s): each portal is one path, on '
                                   'its own address' % (ip, seen[ip])))
            seen.setdefault(ip, param)
        return out

    def check_config(self):
        """Raise InvalidParameter for the first backend option this helper cannot use."""
        for param, problem in self.config_problems():
            raise InvalidParameter(param, problem, 'fix the backend option')

    def backing_problem(self, backing):
        """Why ``backing`` cannot be exported by this helper (its path), or None."""
        if backing is None:
            return None     # unknown: the apply step reports the missing device
        if backing.kind in ('block', 'file', 'missing', 'other'):
            return path_problem(backing.path, chars=self.strict_paths)
        problem = control_problem(backing.path or '') if isinstance(backing.path, str) else \
            'must be a string'
        if problem is None and self.strict_paths and not PATH_CHARS_RE.match(backing.path):
            problem = 'contains a character outside the allowed set (%s)' % PATH_CHARS
        return problem

    def auth_problems(self, auth):
        """[(field, problem)] of credentials that break the set every helper keeps to."""
        out = []
        if auth is None:
            return out
        for field, what in (('username', 'name'), ('password', 'secret'),
                            ('mutual_username', 'name'), ('mutual_password', 'secret')):
            value = getattr(auth, field)
            if value is None and field.startswith('mutual'):
                continue
            if value is None and field == 'password':
                continue    # live account with an unknown secret (read back from tgtd)
            problem = chap_problem(value, what)
            if problem:
                out.append((field, problem))
        return out

    def validate(self, spec, param='volume'):
        """Raise InvalidParameter/NotSupported for a spec this helper cannot export."""
        problem = self.target_name_problem(spec.volume)
        if problem:
            raise InvalidParameter(param, 'the target name %r for volume %r %s'
                                   % (self.target_name(spec.volume), spec.volume, problem),
                                   'check backend option target_prefix, or export a volume whose '
                                   'name is valid in a target name')
        if spec.auth is not None and not self.supports('chap'):
            raise NotSupported("the %s target helper does not support CHAP; set auth.method: none "
                               "and restrict access with initiators" % self.name)
        if spec.auth is not None and spec.auth.mutual and not self.supports('mutual_chap'):
            raise NotSupported('the %s target helper does not support mutual CHAP' % self.name)
        if spec.backing is not None and spec.backing.read_only and \
                not self.supports('snapshot_export'):
            raise NotSupported(self.read_only_unsupported())
        problem = self.backing_problem(spec.backing)
        if problem:
            raise InvalidParameter('device_path', 'the device of volume %s %s'
                                   % (spec.volume, problem), 'export a device whose path is '
                                   'absolute and normalised, with no blank or shell character')
        for field, problem in self.auth_problems(spec.auth):
            raise InvalidParameter('auth.%s' % field, 'the CHAP %s of the export of %s %s' % (
                'secret' if 'password' in field else 'user name', spec.volume, problem),
                'give credentials in the allowed set (auth), or let them be generated')

    def read_only_unsupported(self):
        """Why this helper cannot export read-only (NotSupported's message)."""
        return ('parameter \'snapshot\': the %s target helper cannot export read-only, so it '
                'does not export snapshots (a writable snapshot export is refused); use a helper '
                'that can (tgtadm, lioadm)' % self.name)

    # -- interface -------------------------------------------------------------
    def list_exports(self, refresh=False):
        """{volume: Export} for every export this helper manages on the host: one query."""
        raise NotImplementedError

    def create_export(self, spec):
        """Export ``spec`` (live and persisted); the caller checked it does not exist."""
        raise NotImplementedError

    def ensure_export(self, spec, actual):
        """Bring back what is missing of an existing export (live or persisted part)."""
        raise NotImplementedError

    def update_export(self, spec, actual):
        """Change the ACL or the CHAP credentials of an existing export in place."""
        raise NotImplementedError

    def remove_export(self, actual):
        raise NotImplementedError

    def initialize_connection(self, export, connector):
        """Connection info with Cinder's keys and shape for this protocol."""
        raise NotImplementedError

    def terminate_connection(self, export, connector):
        """Take the connector's initiator out of the export's ACL, live and in what the
        helper saves (Cinder's terminate_connection); True when it changed.  Other
        initiators and their sessions are left alone; the caller removes the export when
        no initiator remains."""
        raise NotImplementedError

    def extend_target(self, export):
        """Make a grown backing device visible to initiators; True when something ran."""
        raise NotImplementedError

    def reserve(self, specs):
        """Before the first of a task's creates: record in one write whatever the creates of
        ``specs`` (ExportSpecs) will make that only a record marks as ours (nvmet); helpers
        that keep no record have nothing to do."""
        return None

    def commit(self):
        """Persist the whole configuration once per task (where the helper saves it whole)."""
        return None

    def flush(self):
        """Make durable what the steps so far wrote to the helper's own files, also when a
        step failed and the task ends without ``commit`` (tgt: one directory fsync for the
        include files); helpers that save only in ``commit`` have nothing to do."""
        return None

    def discovery_auth(self):
        """The CHAP the target asks of initiators at discovery (a Chap), or None when off.

        Helpers with the ``discovery_chap`` feature implement it; read-only."""
        raise NotSupported('the %s target helper has no discovery CHAP; use lioadm, or protect '
                           'discovery with the initiators ACL and the network' % self.name)

    def set_discovery_auth(self, auth):
        """Set (a Chap) or turn off (None) discovery CHAP, live; ``commit`` saves it."""
        raise NotSupported('the %s target helper has no discovery CHAP' % self.name)

    def ensure_ready(self):
        """Check (before changes) that the target service can take exports; raise if not.

        Read-only: check mode runs it too, so it reports what the real run would meet.
        """
        return None

    def ensure_writable(self):
        """Check (before changes) that the helper's persistence can be written; raise if not."""
        return None

    # the target_protocol values that listen on RDMA
    RDMA_PROTOCOLS = ('iser', 'nvmet_rdma')

    def check_transport(self):
        """Check (before changes, read-only) that every portal can carry the protocol:
        an RDMA protocol needs an RDMA device on each portal's network device."""
        if self.protocol not in self.RDMA_PROTOCOLS or getattr(self, '_transport_checked', False):
            return
        from ansible_collections.cinderkit.storage.plugins.module_utils.targets._rdma import (
            rdma_problem, rdma_netdevs)
        devs = rdma_netdevs()
        netdevs = {}
        for portal in self.portals():
            address = portal.rpartition(':')[0]
            problem = rdma_problem(self.runner, address, devs=devs, netdevs=netdevs)
            if problem:
                raise InvalidParameter('backend.target_protocol', '%s exports need RDMA: %s'
                                       % (self.protocol, problem),
                                       'use target_protocol %s, or bring up an RDMA device'
                                       % ('iscsi' if self.protocol == 'iser' else 'nvmet_tcp'))
        self._transport_checked = True      # once per task: plan, then the preflight

    # -- shared pieces -----------------------------------------------------------
    def acl_for(self, spec, actual):
        """The initiator set an export should have after this task."""
        if spec.acl_mode == 'add' and actual is not None:
            return tuple(sorted(set(actual.initiators) | set(spec.initiators)))
        return spec.initiators

    def iscsi_connection_info(self, export, connector, lun):
        """Cinder's ISCSITarget.initialize_connection data, from typed records."""
        portals = self.portals()
        multipath = bool((connector or {}).get('multipath'))
        data = dict(target_discovered=False, target_iqn=export.target_name,
                    target_portal=portals[0], target_lun=lun, volume_id=export.volume,
                    discard=bool(self.config.get('report_discard_supported', False)),
                    encrypted=False)
        if len(portals) > 1 or multipath:
            data['target_portals'] = portals
            data['target_iqns'] = [export.target_name] * len(portals)
            data['target_luns'] = [lun] * len(portals)
        if export.auth is not None:
            data['auth_method'] = 'CHAP'
            data['auth_username'] = export.auth.username
            data['auth_password'] = export.auth.password
            if export.auth.mutual:
                # open-iscsi's node.session.auth.username_in/password_in; os-brick
                # has no mutual CHAP, Cinder no key for it
                data['auth_username_in'] = export.auth.mutual_username
                data['auth_password_in'] = export.auth.mutual_password
        return {'driver_volume_type': 'iser' if self.protocol == 'iser' else 'iscsi', 'data': data}


@contextlib.contextmanager
def _nolock():
    yield None


def writable_dir_problem(path):
    """Why files cannot be written in directory ``path`` (made when missing), or None."""
    if os.path.lexists(path) and not os.path.isdir(path):
        return 'exists and is not a directory'
    probe = path
    while not os.path.isdir(probe):
        if os.path.lexists(probe):
            return 'cannot be made: %s is not a directory' % probe
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.access(probe, os.W_OK | os.X_OK):
        return ('cannot be written (%s is read-only or not writable for this user)' % probe
                if probe != path else 'is not writable for this user (or on a read-only file '
                'system)')
    return None


def _host(ip):
    return '[%s]' % ip if ':' in ip and not ip.startswith('[') else ip


def unimplemented_target(cls):
    missing = []
    for meth in REQUIRED_TARGET_METHODS:
        owner = next((k for k in cls.__mro__ if meth in k.__dict__), None)
        if owner is None or owner is Target:
            missing.append(meth)
    return missing
