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

import os
import socket
import traceback

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    InvalidParameter, MissingDependency, NotFound)

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


def read_config_section(config_file, backend_name):
    """Raw values of [backend_name] over [backend_defaults], plus [DEFAULT]."""
    require_oslo()
    if not os.path.isfile(config_file):
        raise NotFound("parameter 'config_file': %s does not exist or is not a file; "
                       "give the path of a cinder.conf-style file" % config_file)
    sections = {}
    try:
        cfg.ConfigParser(config_file, sections).parse()
    except Exception as exc:  # oslo raises ParseError and IOError
        raise InvalidParameter('config_file', 'cannot parse %s: %s' % (config_file, exc),
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
            conf.set_override(d.name, defaults[d.name])
    for key, value in raw.items():
        if key in ignored:
            continue
        name = known[key]
        if value is None:
            continue
        try:
            conf.set_override(name, value, group='backend')
        except (ValueError, TypeError) as exc:
            raise InvalidParameter('%s.%s' % (param, key) if param == 'backend' else param,
                                   'invalid value %r for option %s in %s: %s'
                                   % ('<redacted>' if opt_secret(opts, name) else value, name, source, exc),
                                   'give a value of the documented type')
    values = {}
    for opt in opts:
        try:
            values[opt.name] = conf.backend[opt.name]
        except (ValueError, cfg.Error) as exc:
            raise InvalidParameter(param, 'option %s in %s: %s' % (opt.name, source, exc),
                                   'fix the option value')
    secret_names = [o.name for o in opts if getattr(o, 'secret', False)]
    return BackendConfig(values, secret_names, source, ignored)


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
    return raw, {}, "'backend'"
