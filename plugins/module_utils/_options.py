# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Driver options: oslo.config Opts with Cinder's names and defaults.

A backend is described either by a ``backend`` dict of option values or by a
cinder.conf-style file plus the name of a backend section in it
(``config_file`` + ``backend_name``).  Both go through the same path: raw
values are checked against the driver's ``get_driver_options()``, converted
by oslo.config (``set_override`` enforces types, choices and ranges) and
returned as a read-only ``BackendConfig``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import math
import os
import re
import socket
import stat
import traceback

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    InvalidParameter, MissingDependency)
from ansible_collections.cinderkit.storage.plugins.module_utils._lazy import defer

# oslo.config's import-time dependencies that only URI/IP option checks and config-source
# drivers use: loaded on first use instead of in every task (_lazy.py says why)
defer('rfc3986', 'netaddr', 'stevedore')

try:
    from oslo_config import cfg
    HAS_OSLO = True
    OSLO_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported through require_oslo()
    cfg = None
    HAS_OSLO = False
    OSLO_IMPORT_ERROR = traceback.format_exc()

DEFAULT_VOLUME_DRIVER = 'cinder.volume.drivers.lvm.LVMVolumeDriver'

# Options a cinder.conf backend section may carry that only matter to the
# Cinder service (scheduling, image cache, threading).  They are accepted
# so an existing section can be used as it is, and reported as ignored.
CINDER_SERVICE_OPTIONS = frozenset((
    'backend_host', 'backend_availability_zone', 'backend_native_threads_pool_size',
    'image_volume_cache_enabled', 'image_volume_cache_max_size_gb',
    'image_volume_cache_max_count', 'image_upload_use_cinder_backend',
    'image_upload_use_internal_tenant', 'volume_copy_bps_limit',
    'volume_copy_blkio_cgroup_name', 'suppress_requests_ssl_warnings',
    'driver_ssl_cert_verify', 'driver_ssl_cert_path', 'driver_use_ssl',
    'trace_flags', 'num_shell_tries', 'num_volume_device_scan_tries',
    'replication_device', 'driver_data_namespace', 'volume_name_template',
    'snapshot_name_template', 'backup_use_temp_snapshot', 'enable_unsupported_driver',
    'use_multipath_for_image_xfer',
    'enforce_multipath_for_image_xfer', 'volume_service_inithost_offload',
))


# Names of options whose values are secrets, beyond those declared secret=True: any
# option a user gives that looks like one (an unknown or misspelt option is echoed in
# the task's arguments before it is found unknown).
SECRET_NAME_RE = re.compile(r'(^|_)(password|passwd|passphrase|secret|token|credentials?|key)(_|$)',
                            re.I)
NOT_SECRET_NAMES = frozenset(('rbd_secret_uuid',))


def raw_secrets(backend):
    """The values of secret-looking options of a ``backend`` dict, before any check."""
    found = []
    if not isinstance(backend, dict):
        return found
    for key, value in backend.items():
        if isinstance(key, str) and key not in NOT_SECRET_NAMES and SECRET_NAME_RE.search(key):
            for v in (value if isinstance(value, list) else [value]):
                if v is not None and not isinstance(v, (bool, dict, list)) and str(v):
                    found.append(str(v))
    return found


def mask_raw_secrets(m):
    """Let the module mask (no_log) the secrets of its ``backend`` argument from the start:
    a task that fails before the backend is loaded still echoes its arguments."""
    for value in raw_secrets(m.params.get('backend')):
        m.add_secret(value)


def require_oslo():
    if not HAS_OSLO:
        last = (OSLO_IMPORT_ERROR or '').strip().splitlines()
        raise MissingDependency('the Python library oslo.config',
                                "oslo.config on the managed node ('pip install oslo.config', "
                                "or the cinderkit.storage.managed_node role)",
                                reason=last[-1] if last else None)


def _my_ip():
    """Cinder's my_ip default: the address of the default route, else loopback."""
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.connect(('192.0.2.1', 9))  # TEST-NET-1; no packet is sent
            return s.getsockname()[0]
        finally:
            s.close()
    except OSError:
        return '127.0.0.1'


def default_group_opts():
    """Options Cinder keeps in [DEFAULT] that backend defaults interpolate."""
    require_oslo()
    return [
        cfg.StrOpt('my_ip', default=_my_ip(), sample_default='<host_ipv4>',
                   help='IP address of this host.'),
        cfg.StrOpt('state_path', default='/var/lib/cinder',
                   help="Top-level directory for maintaining cinder's state."),
        cfg.HostAddressOpt('host', default=socket.gethostname(), sample_default='localhost',
                           help='Name of this node.'),
    ]


def common_opts():
    """Options every driver has (cinder/volume/driver.py volume_opts)."""
    require_oslo()
    return [
        cfg.StrOpt('volume_driver', default=DEFAULT_VOLUME_DRIVER,
                   help='Driver to use for volume creation: a registry name '
                        '(lvm, rbd) or Cinder\'s class path.'),
        cfg.StrOpt('volume_backend_name',
                   help='The backend name for a given driver implementation.'),
        cfg.IntOpt('reserved_percentage', default=0, min=0, max=100,
                   help='The percentage of backend capacity is reserved.'),
        cfg.StrOpt('max_over_subscription_ratio', default='20.0', regex=r'^(auto|\d*\.\d+|\d+)$',
                   help='Representation of the over subscription ratio when thin '
                        'provisioning is involved, or "auto".'),
        cfg.StrOpt('volume_clear', default='zero', choices=['none', 'zero'],
                   help='Method used to wipe old volumes.'),
        cfg.IntOpt('volume_clear_size', default=0, min=0,
                   help='Size in MiB to wipe at start of old volumes. 0 => all.'),
        cfg.StrOpt('volume_clear_ionice',
                   help='The flag to pass to ionice to alter the i/o priority of '
                        'the process used to zero a volume after deletion, for '
                        'example "-c3" for idle only priority.'),
        cfg.StrOpt('volume_dd_blocksize', default='1M',
                   help='The default block size used when copying/clearing volumes.'),
        cfg.StrOpt('image_conversion_dir', default='$state_path/conversion',
                   help='Directory used for temporary storage during image conversion '
                        '(an image URL is fetched here first).'),
        # cinderkit addition: a copy from a stalled URL or device must end, not hang the play
        cfg.IntOpt('copy_timeout', default=3600, min=0,
                   help='Seconds one copy (clone, image in or out) may take before it is '
                        'stopped and its half-made volume removed; 0 = no limit (cinderkit).'),
        cfg.StrOpt('filter_function',
                   help='String representation for an equation that will be used '
                        'to filter hosts.'),
        cfg.StrOpt('goodness_function',
                   help='String representation for an equation that will be used '
                        'to determine the goodness of a host.'),
    ]


def target_opts():
    """Target helper options (Cinder keeps them in volume_opts too)."""
    require_oslo()
    return [
        cfg.StrOpt('target_helper', default='tgtadm',
                   choices=['tgtadm', 'lioadm', 'scstadmin', 'iscsictl', 'ietadm',
                            'nvmet', 'spdk-nvmeof', 'fake'],
                   help='Target user-land tool to use.'),
        cfg.StrOpt('target_protocol', default='iscsi',
                   choices=['iscsi', 'iser', 'nvmet_rdma', 'nvmet_tcp'],
                   help='Determines the target protocol for new volumes.'),
        cfg.StrOpt('target_prefix', default='iqn.2010-10.org.openstack:',
                   help='Prefix for iSCSI/NVMEoF volumes.'),
        cfg.StrOpt('target_ip_address', default='$my_ip',
                   help='The IP address that the iSCSI/NVMEoF daemon is listening on.'),
        cfg.ListOpt('target_secondary_ip_addresses', default=[],
                    deprecated_name='iscsi_secondary_ip_addresses',
                    help='The list of secondary IP addresses of the iSCSI/NVMEoF daemon.'),
        cfg.PortOpt('target_port', default=3260,
                    help='The port that the iSCSI/NVMEoF daemon is listening on.'),
        cfg.StrOpt('volumes_dir', default='$state_path/volumes',
                   help='Volume configuration file storage directory.'),
        cfg.StrOpt('iscsi_iotype', default='fileio', choices=['blockio', 'fileio', 'auto'],
                   help='Sets the behavior of the iSCSI target to either perform '
                        'blockio or fileio; auto checks if the volume is a block device.'),
        cfg.StrOpt('iscsi_write_cache', default='on', choices=['on', 'off'],
                   help='Sets the behavior of the iSCSI target to either perform '
                        'write-back(on) or write-through(off). Valid for tgtadm.'),
        cfg.StrOpt('iscsi_target_flags', default='',
                   help='Sets the target-specific flags for the iSCSI target. '
                        'Only used for tgtadm to specify backing device flags.'),
        cfg.BoolOpt('use_chap_auth', default=False,
                    help='Option to enable/disable CHAP authentication for targets.'),
        cfg.StrOpt('chap_username', default='',
                   help='CHAP user name.'),
        cfg.StrOpt('chap_password', default='', secret=True,
                   help='Password for specified CHAP account name.'),
        cfg.PortOpt('nvmet_port_id', default=1,
                    help='The port that the NVMe target is listening on.'),
        cfg.IntOpt('nvmet_ns_id', default=10,
                   help='Namespace id for the subsystem for the LVM volume when '
                        'not sharing targets.'),
        cfg.IntOpt('nvmeof_conn_info_version', default=1, min=1, max=2,
                   help='NVMe os-brick connector has 2 different connection info '
                        'formats; 1 (nqn, transport_type, target_portal, target_port, '
                        'ns_id) or 2 (target_nqn, vol_uuid, portals, ns_id).'),
        cfg.BoolOpt('report_discard_supported', default=False,
                    help='Report to clients that the backend supports discard '
                         '(connection_info data.discard).'),
        # cinderkit addition: Cinder's tgtadm always uses tgtd's default control
        # socket; a control port lets a host run a second, isolated tgtd.
        cfg.IntOpt('tgt_control_port', default=0, min=0, max=65535,
                   help='tgtd control port (tgtadm -C); 0 = the default socket '
                        '(cinderkit).'),
    ]


class BackendConfig(object):
    """Resolved option values of one backend (read-only attribute access)."""

    def __init__(self, values, secret_names, source, ignored=()):
        object.__setattr__(self, '_values', dict(values))
        object.__setattr__(self, '_secret_names', frozenset(secret_names))
        object.__setattr__(self, 'source', source)
        object.__setattr__(self, 'ignored', tuple(ignored))

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name)

    def __setattr__(self, name, value):
        raise AttributeError('BackendConfig is read-only')

    def get(self, name, default=None):
        return self._values.get(name, default)

    def secrets(self):
        return [self._values[n] for n in self._secret_names if self._values.get(n)]

    def with_overrides(self, **values):
        new = dict(self._values)
        new.update(values)
        return BackendConfig(new, self._secret_names, self.source, self.ignored)

    def as_dict(self, redact=True):
        out = {}
        for k, v in self._values.items():
            if redact and k in self._secret_names and v:
                v = '<redacted>'
            out[k] = v
        return out


def _config_file_problem(config_file):
    """Why ``config_file`` cannot be read as a file, or None (never reads it)."""
    if '\x00' in config_file:
        return 'the path contains a NUL byte'
    if not os.path.isabs(config_file):
        return 'the path %s is not absolute' % config_file
    try:
        st = os.stat(config_file)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return '%s does not exist' % config_file
        return 'cannot reach %s: %s' % (config_file, exc.strerror)
    if stat.S_ISDIR(st.st_mode):
        return '%s is a directory' % config_file
    if not stat.S_ISREG(st.st_mode):
        return '%s is not a regular file' % config_file
    return None


def read_config_section(config_file, backend_name):
    """Raw values of [backend_name] over [backend_defaults], plus [DEFAULT].

    Errors name the file and the line, never the line's content (it may hold a secret).
    """
    require_oslo()
    fix = 'give the absolute path of a readable cinder.conf-style file'
    problem = _config_file_problem(config_file)
    if problem:
        raise InvalidParameter('config_file', problem, fix)
    sections = {}
    try:
        cfg.ConfigParser(config_file, sections).parse()
    except cfg.ParseError as exc:   # its str() quotes the line: it may be a secret
        raise InvalidParameter('config_file', 'cannot parse %s: line %s: %s'
                               % (config_file, exc.lineno, exc.msg),
                               'fix the syntax of that line (the line is not shown: it may hold a secret)')
    except UnicodeError as exc:
        raise InvalidParameter('config_file', 'cannot parse %s: it is not UTF-8 text (%s at byte %s)'
                               % (config_file, getattr(exc, 'reason', 'undecodable'),
                                  getattr(exc, 'start', '?')), 'save the file as UTF-8 text')
    except (IOError, OSError) as exc:
        raise InvalidParameter('config_file', 'cannot read %s: %s'
                               % (config_file, exc.strerror or type(exc).__name__), fix)
    except Exception as exc:  # oslo's other errors: the type only, never their text
        raise InvalidParameter('config_file', 'cannot parse %s (%s)' % (config_file, type(exc).__name__),
                               'fix the file syntax')
    if backend_name not in sections:
        raise InvalidParameter('backend_name', "no section [%s] in %s" % (backend_name, config_file),
                               'use one of: %s' % (', '.join(sorted(s for s in sections if s != 'DEFAULT'))
                                                   or 'no sections found'))

    def last(section):
        return dict((k, v[-1]) for k, v in sections.get(section, {}).items())

    raw = last('backend_defaults')
    raw.update(last(backend_name))
    defaults = last('DEFAULT')
    return raw, defaults


def resolve(raw, opts, source, defaults=None, param='backend'):
    """Check ``raw`` against ``opts`` and convert through oslo.config."""
    require_oslo()
    known = {}
    for opt in opts:
        known[opt.name] = opt.name
        for dep in getattr(opt, 'deprecated_opts', ()) or ():
            if dep.name:
                known[dep.name] = opt.name
    unknown = sorted(k for k in raw if k not in known and k not in CINDER_SERVICE_OPTIONS)
    if unknown:
        raise InvalidParameter(
            param, 'unknown option%s %s in %s' % ('s' if len(unknown) > 1 else '',
                                                  ', '.join("'%s'" % u for u in unknown), source),
            'check the spelling; this driver knows: %s' % ', '.join(sorted(o.name for o in opts)))
    ignored = sorted(k for k in raw if k in CINDER_SERVICE_OPTIONS and k not in known)

    conf = cfg.ConfigOpts()
    dopts = default_group_opts()
    conf.register_opts(dopts)
    conf.register_opts(opts, group='backend')
    conf([], project='cinderkit', default_config_files=[], default_config_dirs=[],
         use_env=False)
    for d in dopts:
        if defaults and d.name in defaults:
            try:
                conf.set_override(d.name, defaults[d.name])
            except (ValueError, TypeError, cfg.Error) as exc:
                raise InvalidParameter(param, 'invalid value %s for option %s in [DEFAULT] of %s: %s'
                                       % (_shown(defaults[d.name]), d.name, source, exc),
                                       'fix the option value')
    by_name = dict((o.name, o) for o in opts)
    for key, value in raw.items():
        if key in ignored:
            continue
        name = known[key]
        if value is None:
            continue
        secret = bool(getattr(by_name[name], 'secret', False))
        where = '%s.%s' % (param, key) if param == 'backend' else param
        problem = value_problem(value, isinstance(by_name[name], cfg.ListOpt))
        if problem:
            raise InvalidParameter(where, 'option %s in %s %s' % (name, source, problem),
                                   'give a value of the documented type')
        try:
            conf.set_override(name, value, group='backend')
        except (ValueError, TypeError, AttributeError, OverflowError, cfg.Error) as exc:
            if secret:   # the error text may quote the value
                raise InvalidParameter(where, 'invalid value for the secret option %s in %s'
                                       % (name, source), 'give a string')
            raise InvalidParameter(where, 'invalid value %s for option %s in %s: %s'
                                   % (_shown(value), name, source, exc),
                                   'give a value of the documented type')
    values = {}
    for opt in opts:
        try:
            values[opt.name] = conf.backend[opt.name]
        except (ValueError, TypeError, cfg.Error) as exc:
            if getattr(opt, 'secret', False):   # a "$name" in a secret: the error quotes it
                raise InvalidParameter(param, 'option %s in %s: the value does not interpolate '
                                       '(a "$" starts a reference to another option)'
                                       % (opt.name, source), 'write a literal "$" as "$$"')
            raise InvalidParameter(param, 'option %s in %s: %s' % (opt.name, source, exc),
                                   'fix the option value')
    for name, check in VALUE_CHECKS:
        problem = check(values[name]) if values.get(name) not in (None, '') else None
        if problem:
            raise InvalidParameter('%s.%s' % (param, name) if param == 'backend' else param,
                                   'option %s in %s %s' % (name, source, problem[0]), problem[1])
    secret_names = [o.name for o in opts if getattr(o, 'secret', False)]
    return BackendConfig(values, secret_names, source, ignored)


IONICE_TOKEN_RE = re.compile(r'^(-c[0-3]?|-n[0-7]?|-t|--class(=(none|realtime|best-effort|idle|[0-3]))?|'
                             r'--classdata(=[0-7])?|--ignore|[0-7]|none|realtime|best-effort|idle)$')


def ionice_problem(value):
    """(problem, fix) when ``value`` is more than ionice's class options, else None: the words
    go on ionice's command line in front of the wipe command, so anything else would run."""
    bad = [t for t in str(value).split() if not IONICE_TOKEN_RE.match(t)]
    if bad:
        return ('%r is not an ionice scheduling option (%s)' % (value, ', '.join(repr(t) for t in bad[:3])),
                'give only ionice class options, e.g. "-c3" (idle) or "-c2 -n7"')
    return None


def blocksize_problem(value):
    if not re.match(r'^[1-9][0-9]*[kKmMgG]?$', str(value)):
        return ('%r is not a block size' % (value,), 'give a number with an optional K, M or G suffix, e.g. 1M')
    return None


def vg_name_problem(value):
    """LVM's rules for a VG name (it is an argument of every LVM command and a /dev path)."""
    value = str(value)
    if value in ('.', '..') or value.startswith('-') or len(value) > 127 or \
            not re.match(r'^[A-Za-z0-9+_.-]+$', value):
        return ('%r is not an LVM volume group name' % value[:200],
                'use letters, digits and + _ . - (not starting with -), at most 127 characters')
    return None


def conf_path_problem(value):
    value = str(value)
    if not value.startswith('/'):
        return ('%r is not an absolute path' % value[:200], 'give the absolute path of the file')
    return None


# options whose values reach a command line or a path: checked when the backend is loaded
VALUE_CHECKS = (('volume_clear_ionice', ionice_problem), ('volume_dd_blocksize', blocksize_problem),
                ('volume_group', vg_name_problem), ('lvm_conf_file', conf_path_problem))


def _shown(value):
    """A value for a message, cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + '...'


def value_problem(value, is_list=False):
    """Why ``value`` cannot be an option value, or None: scalars only (a list for list
    options), no NUL bytes (no file name or command argument can hold one), finite numbers."""
    items = value if (is_list and isinstance(value, list)) else [value]
    for v in items:
        if isinstance(v, float) and not math.isfinite(v):
            return 'is not a finite number'
        if isinstance(v, (dict, list, tuple, set)):
            want = 'a list of strings' if is_list else 'a single value'
            return 'must be %s, not a %s' % (want, type(v).__name__)
        if not isinstance(v, (str, int, float, bool)):
            return 'must be a string or a number, not %s' % type(v).__name__
        if isinstance(v, str) and '\x00' in v:
            return 'contains a NUL byte'
    return None


def opt_secret(opts, name):
    for o in opts:
        if o.name == name:
            return bool(getattr(o, 'secret', False))
    return False


def load_raw(backend=None, config_file=None, backend_name=None):
    """(raw values, [DEFAULT] values, description of the source)."""
    if backend is not None and config_file:
        raise InvalidParameter('backend', "'backend' and 'config_file' are mutually exclusive",
                               'give the options inline or point to a file, not both')
    if config_file:
        if not backend_name:
            raise InvalidParameter('backend_name', 'required with config_file',
                                   'name the backend section of %s' % config_file)
        raw, defaults = read_config_section(config_file, backend_name)
        return raw, defaults, '[%s] of %s' % (backend_name, config_file)
    raw = dict(backend or {})
    bad = [k for k in raw if not isinstance(k, str)]
    if bad:
        raise InvalidParameter('backend', 'option names must be strings', 'quote the keys')
    driver = raw.get('volume_driver')
    if driver is not None and not isinstance(driver, str):
        raise InvalidParameter('backend.volume_driver', 'must be a string, not a %s'
                               % type(driver).__name__, 'give a driver name: lvm or rbd')
    if isinstance(driver, str) and '\x00' in driver:
        raise InvalidParameter('backend.volume_driver', 'contains a NUL byte',
                               'give a driver name: lvm or rbd')
    return raw, {}, "'backend'"
