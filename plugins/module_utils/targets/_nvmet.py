# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel NVMe-oF target (nvmet) through configfs.

One export = one subsystem ``nqn.<target_prefix>-<volume>`` (Cinder's
naming), namespace ``nvmet_ns_id`` on the volume's device, linked to port
``nvmet_port_id`` (+1 per secondary address).  Only the host NQNs listed
may connect (``allowed_hosts``); ``attr_allow_any_host`` only when asked.
nvmet has no CHAP here.

State: configfs (``/sys/kernel/config/nvmet``, read in one walk) and the
saved configuration ``/etc/nvmet/config.json`` in nvmetcli's layout
(written whole, 0600, once per task), which ``nvmetcli restore`` or the
target_helper role's ``cinderkit-nvmet-restore`` unit loads at boot.

Ownership: the subsystems, ports and host entries this helper makes are
recorded in ``cinderkit-nvmet.json`` beside the saved configuration
(``_record.OwnerRecord``).  A subsystem is ours when the record names it with
the serial it still has (``attr_serial``, random, set when it is made, kept
by the saved configuration); a port when the record names it with the
address it still has; a host entry when the record names it.  Anything else
named like an export is reported, holds its volume (a delete is refused),
and is never changed or removed (``subsystem_problem``, ``port_decision``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import secrets

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, Conflict, InvalidParameter, NotSupported)
from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import (
    Backing, Export, Target, nqn_problem, register_target, volume_uuid, write_private)
from ansible_collections.cinderkit.storage.plugins.module_utils._record import OwnerRecord
from ansible_collections.cinderkit.storage.plugins.module_utils._dhchap import (
    HostAuth, kernel_support)

ROOT = '/sys/kernel/config/nvmet'
SAVE_FILE = '/etc/nvmet/config.json'
TRANSPORTS = {'nvmet_tcp': 'tcp', 'nvmet_rdma': 'rdma'}
RECORD_NAME = 'cinderkit-nvmet.json'
ADDR_KEYS = ('trtype', 'adrfam', 'traddr', 'trsvcid')


def new_serial():
    """A subsystem serial that marks it as ours: 20 hex digits (nvmet's limit is 20)."""
    return secrets.token_hex(10)


def port_key(addr):
    """The address a port listens on, as the record keeps it: ``tcp:ipv4:10.0.0.1:4420``."""
    return ':'.join(str(addr.get(k)) for k in ADDR_KEYS)


def subsystem_problem(nqn, serial, recorded, record_file):
    """Why subsystem ``nqn`` is not ours (its fix included), or None when it is.

    ``serial``: the subsystem's serial (None where the kernel has no attr_serial);
    ``recorded``: the serial our record keeps for ``nqn`` (None: we never made it).
    """
    if recorded is None:
        why = 'was not made by cinderkit (%s does not name it)' % record_file
    elif serial is not None and serial != recorded:
        why = ('has serial %s, not the one cinderkit gave it: another tool re-made it'
               % serial)
    else:
        return None
    return ('nvmet subsystem %s %s; it is left alone: remove it yourself (nvmetcli, or '
            'rmdir in configfs), or export the volume under another target_prefix' % (nqn, why))


def port_decision(pid, have, want, recorded):
    """'create' or 'reuse' for port ``pid``; raises Conflict for a port that is not ours to use.

    ``have``: the live port's address attributes (None: no such port); ``want``: the address
    this backend needs; ``recorded``: the address our record keeps for ``pid`` (``port_key``).
    """
    if have is None:
        return 'create'
    diff = dict((k, v) for k, v in want.items() if have.get(k) != v)
    if diff:
        raise Conflict('nvmet port %d exists with %s; this backend wants %s. Use another '
                       'nvmet_port_id, or the same address and port'
                       % (pid, ', '.join('%s=%s' % (k, have.get(k)) for k in sorted(diff)),
                          ', '.join('%s=%s' % (k, v) for k, v in sorted(diff.items()))))
    if recorded != port_key(have):
        raise Conflict('nvmet port %d (%s) was not made by cinderkit; it is left alone: set '
                       'nvmet_port_id to a free port id (and target_port to a free TCP port), or '
                       'remove the port yourself' % (pid, port_key(have)))
    return 'reuse'


def _read(path, default=None):
    try:
        with open(path) as fh:
            return fh.read().strip()
    except (IOError, OSError):
        return default


def _write(path, value):
    with open(path, 'w') as fh:
        fh.write(str(value))


def _listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _attrs(path, prefix):
    """{name: value} of the writable ``<prefix>_*`` attributes of a configfs node."""
    out = {}
    for entry in _listdir(path):
        full = os.path.join(path, entry)
        if entry.startswith(prefix + '_') and os.path.isfile(full) and os.stat(full).st_mode & 0o200:
            value = _read(full)
            if value is not None:
                out[entry[len(prefix) + 1:]] = value
    return out


class NvmetState(object):
    """One walk of nvmet's configfs: subsystems, ports, hosts (nvmetcli's dump layout)."""

    def __init__(self, root=ROOT):
        self.root = root
        self.subsystems = {}
        self.ports = {}
        self.hosts = []
        if not os.path.isdir(root):
            return
        self.hosts = _listdir(os.path.join(root, 'hosts'))
        # DH-HMAC-CHAP settings per host (CONFIG_NVME_TARGET_AUTH kernels): key, ctrl_key,
        # hash, dhgroup; only hosts that have a key
        self.host_auth = {}
        for h in self.hosts:
            attrs = _attrs(os.path.join(root, 'hosts', h), 'dhchap')
            if attrs.get('key'):
                self.host_auth[h] = attrs
        for nqn in _listdir(os.path.join(root, 'subsystems')):
            spath = os.path.join(root, 'subsystems', nqn)
            namespaces = []
            for nsid in _listdir(os.path.join(spath, 'namespaces')):
                npath = os.path.join(spath, 'namespaces', nsid)
                namespaces.append(dict(nsid=int(nsid), enable=int(_read(os.path.join(npath, 'enable'), '0')),
                                       device=_attrs(npath, 'device'), ana_grpid=int(
                                           _read(os.path.join(npath, 'ana_grpid'), '1') or 1)))
            self.subsystems[nqn] = dict(nqn=nqn, attr=_attrs(spath, 'attr'), namespaces=namespaces,
                                        allowed_hosts=_listdir(os.path.join(spath, 'allowed_hosts')))
        for pid in _listdir(os.path.join(root, 'ports')):
            ppath = os.path.join(root, 'ports', pid)
            self.ports[int(pid)] = dict(portid=int(pid), addr=_attrs(ppath, 'addr'),
                                        param=_attrs(ppath, 'param'), referrals=[],
                                        subsystems=_listdir(os.path.join(ppath, 'subsystems')))

    def dump(self):
        return dict(hosts=[dict(nqn=h, dhchap=self.host_auth[h]) if h in self.host_auth
                           else dict(nqn=h) for h in self.hosts],
                    subsystems=[self.subsystems[k] for k in sorted(self.subsystems)],
                    ports=[self.ports[k] for k in sorted(self.ports)])


@register_target('nvmet')
class Nvmet(Target):
    """Cinder's nvmet helper (not shared targets), through configfs."""

    protocols = ('nvmet_tcp', 'nvmet_rdma')
    # a namespace re-reads its device size on revalidate_size (Linux >= 5.14),
    # and the host gets a namespace-changed event: no I/O errors
    online_extend = True
    # one allowed_hosts entry per host NQN; read-only namespaces only where the running
    # kernel's configfs has such an attribute (``read_only_attribute``); dhchap: NVMe in-band
    # authentication, where the running kernel has it (dhchap_support)
    features = frozenset(('acl', 'multiattach', 'dhchap'))
    initiator_kind = 'nqn'
    # what a read-only namespace option is called, where a kernel has one
    READ_ONLY_ATTRS = ('readonly', 'read_only', 'device_readonly')

    # nvmet is kernel-wide: one lock for its configfs tree (port and namespace ids) and
    # its saved configuration
    lock_name = 'nvmet'
    hostname_portals = False

    def __init__(self, config, runner, root=ROOT, save_file=SAVE_FILE):
        super(Nvmet, self).__init__(config, runner)
        self.root = root
        self.save_file = save_file
        self._state = None
        # the walk ``commit`` saved from, kept for the one re-read that follows it (the
        # result's check after the writes): no write comes between the two
        self._committed = False
        self._owned = None
        # subsystems ``reserve`` recorded that had no entry before (dropped again when a
        # failed task leaves them unmade); a removal asks for one sweep of our unused hosts
        self._reserved = set()
        self._sweep = False

    @property
    def transport(self):
        return TRANSPORTS.get(self.protocol, 'tcp')

    @property
    def storage_protocol(self):
        return 'NVMe-oF'

    def target_name(self, volume):
        return 'nqn.%s-%s' % (self.config.get('target_prefix'), volume)

    def volume_of(self, target_name):
        prefix = 'nqn.%s-' % self.config.get('target_prefix')
        if target_name.startswith(prefix) and len(target_name) > len(prefix):
            return target_name[len(prefix):]
        return None

    def target_name_problem(self, volume):
        name = self.target_name(volume)
        if len(name.encode('utf-8')) > 223:
            return 'is longer than 223 bytes'
        if any(c.isspace() or c == '/' for c in name):
            return 'contains a blank or "/"'
        return None

    def validate(self, spec, param='volume'):
        super(Nvmet, self).validate(spec, param)
        if self.config.get('lvm_share_target'):
            raise NotSupported('lvm_share_target (one subsystem per host) is not supported by '
                               "cinderkit's nvmet helper; set it to false")
        if spec.backing.kind not in ('block', 'file'):
            raise NotSupported('the nvmet helper exports block devices and files, not %s'
                               % spec.backing.kind)
        self.check_ports()
        self.validate_host_auth(spec)

    def initiator_problem(self, name):
        return nqn_problem(name)

    # -- DH-HMAC-CHAP ------------------------------------------------------------------
    def dhchap_support(self):
        """(True|False|None, how): whether this kernel's nvmet authenticates hosts (a read)."""
        return kernel_support(self._path('hosts'))

    def validate_host_auth(self, spec):
        """Raise before any change for DH-HMAC-CHAP this kernel or these settings cannot do."""
        if not spec.host_auth:
            return
        if spec.allow_any_host:
            raise InvalidParameter('allow_any_host', 'conflicts with DH-HMAC-CHAP: nvmet '
                                   'authenticates the hosts it lists, and allow_any_host lists none',
                                   'name the hosts (connector, connectors or initiators)')
        ok, how = self.dhchap_support()
        if not ok:
            raise InvalidParameter('auth.method', 'this kernel (%s) cannot authenticate NVMe '
                                   'hosts: %s' % (os.uname()[2], how),
                                   'boot a kernel with CONFIG_NVME_TARGET_AUTH (Debian: '
                                   'linux-image-6.12-amd64), or use auth.method: none')
        for host, auth in sorted(spec.host_auth.items()):
            for field, problem in auth.problems():
                raise InvalidParameter('auth.%s' % field, 'the DH-HMAC-CHAP setting for host %s %s'
                                       % (host, problem), 'give a DHHC-1 secret (nvme '
                                       'gen-dhchap-key), or leave it out to have one generated')
            hpath = self._path('hosts', host)
            if os.path.isdir(hpath) and not self.owned.get('hosts', host):
                have = self._load().host_auth.get(host)
                if have is None or HostAuth(have.get('key'), have.get('ctrl_key'),
                                            have.get('hash'), have.get('dhgroup')) != auth:
                    raise Conflict('nvmet host %s was not made by cinderkit; its DH-HMAC-CHAP '
                                   'settings are left alone: give its own key, or remove the '
                                   'host entry yourself' % host)

    def host_auths(self, hosts, saved_hosts=None):
        """{host: HostAuth} of ``hosts`` that have a key (live configfs, else the saved file)."""
        live = self._load().host_auth
        saved = dict((h.get('nqn'), h.get('dhchap')) for h in (saved_hosts or []) if h.get('dhchap'))
        out = {}
        for h in hosts:
            a = live.get(h) or saved.get(h)
            if a and a.get('key'):
                out[h] = HostAuth(a['key'], a.get('ctrl_key') or None, a.get('hash'),
                                  a.get('dhgroup'))
        return out

    def _set_host_auth(self, host, auth):
        hpath = self._path('hosts', host)
        have = _attrs(hpath, 'dhchap')
        for attr, value in (('hash', auth.hash), ('dhgroup', auth.dhgroup),
                            ('key', auth.host_key), ('ctrl_key', auth.ctrl_key or '')):
            if (have.get(attr) or '') != value:
                _write(os.path.join(hpath, 'dhchap_' + attr), value)

    def supports(self, feature):
        if feature == 'snapshot_export':
            return self.read_only_attribute() is not None
        return feature in self.features

    def read_only_attribute(self):
        """The namespace attribute that makes it read-only in this kernel's configfs, or None.

        Mainline nvmet (through Linux 6.x) has none: a namespace is always writable, so
        snapshot exports are refused rather than exported writable.  A namespace's
        attributes show only in an existing namespace directory: every one under the
        subsystems is looked at (a read).
        """
        for nqn in _listdir(self._path('subsystems')):
            for nsid in _listdir(self._path('subsystems', nqn, 'namespaces')):
                have = set(_listdir(self._path('subsystems', nqn, 'namespaces', nsid)))
                for attr in self.READ_ONLY_ATTRS:
                    if attr in have:
                        return attr
        return None

    def read_only_unsupported(self):
        have = ', '.join(_listdir(self._path('subsystems', *self._any_namespace()))) \
            if self._any_namespace() else None
        return ("parameter 'snapshot': the nvmet target helper cannot export read-only: this "
                "kernel's nvmet namespaces have no read-only attribute (%s), so a snapshot "
                "export would be writable; export snapshots through tgtadm or lioadm"
                % ('a namespace has: %s' % have if have else
                   'no namespace in %s shows one' % self._path('subsystems')))

    def _any_namespace(self):
        for nqn in _listdir(self._path('subsystems')):
            for nsid in _listdir(self._path('subsystems', nqn, 'namespaces')):
                return (nqn, 'namespaces', nsid)
        return None

    # -- state -----------------------------------------------------------------
    def _load(self, refresh=False):
        if refresh and self._committed:
            self._committed = False
            return self._state
        if self._state is None or refresh:
            self._state = NvmetState(self.root)
        self._committed = False
        return self._state

    def _saved(self):
        try:
            with open(self.save_file) as fh:
                return json.load(fh)
        except (IOError, OSError, ValueError):
            return {}

    @property
    def record_file(self):
        return os.path.join(os.path.dirname(self.save_file), RECORD_NAME)

    @property
    def owned(self):
        """The record of the subsystems, ports and hosts this helper made."""
        if self._owned is None:
            self._owned = OwnerRecord(self.record_file, ('subsystems', 'ports', 'hosts'), self)
        return self._owned

    def _subsystem_problem(self, nqn, sub):
        serial = (sub or {}).get('attr', {}).get('serial')
        return subsystem_problem(nqn, serial, self.owned.get('subsystems', nqn), self.record_file)

    def _require_ours(self, nqn, sub=None):
        if sub is None:
            sub = self._load().subsystems.get(nqn)
        problem = self._subsystem_problem(nqn, sub) if sub is not None else None
        if problem:
            raise Conflict(problem)

    def list_exports(self, refresh=False):
        state = self._load(refresh)
        saved_conf = self._saved()
        saved = dict((s.get('nqn'), s) for s in saved_conf.get('subsystems', []))
        saved_hosts = saved_conf.get('hosts', [])
        out = {}
        for nqn in sorted(set(state.subsystems) | set(saved)):
            volume = self.volume_of(nqn)
            if volume is None:
                continue
            live = state.subsystems.get(nqn)
            sub = live or saved[nqn]
            nsid = int(self.config.get('nvmet_ns_id'))
            ns = next((n for n in sub.get('namespaces', []) if int(n.get('nsid')) == nsid), None)
            backing = Backing.from_path(ns['device'].get('path')) if ns and ns.get('device', {}).get('path') else None
            any_host = str(sub.get('attr', {}).get('allow_any_host')) == '1'
            extra = dict(nsid=nsid)
            if ns is not None:
                extra['uuid'] = ns.get('device', {}).get('uuid')
            foreign = self._subsystem_problem(nqn, sub)
            if foreign:
                extra['foreign'] = foreign
            if live is not None:
                ports = [p for p in state.ports.values() if nqn in p['subsystems']]
                extra['ports'] = sorted(p['portid'] for p in ports)
                if ns is None or not ns.get('enable') or not ports:
                    extra['missing_lun'] = True
            hosts = () if any_host else tuple(sub.get('allowed_hosts', []))
            out[volume] = Export(volume, nqn, backing=backing, lun=nsid, auth=None,
                                 initiators=hosts, allow_any_host=any_host, live=live is not None,
                                 persisted=nqn in saved, extra=extra,
                                 host_auth=self.host_auths(hosts, saved_hosts))
        return out

    # -- writes ----------------------------------------------------------------------
    def _path(self, *parts):
        return os.path.join(self.root, *[str(p) for p in parts])

    def _modprobe(self, *modules):
        for mod in modules:
            if not os.path.isdir('/sys/module/%s' % mod.replace('-', '_')):
                self.runner.run(['modprobe', mod], write=True, check=False)

    def ensure_ready(self):
        """nvmet's configfs tree must be there (the modules are loaded when missing).

        In check mode nothing is loaded: the modules must at least be loadable
        (``modprobe -n``, a read), or check mode reports what the real run would.
        """
        missing = [mod for mod in ('nvmet', 'nvmet-%s' % self.transport)
                   if not os.path.isdir('/sys/module/%s' % mod.replace('-', '_'))]
        if self.runner.check_mode and missing and not os.path.isdir(self.root):
            res = self.runner.run(['modprobe', '-n'] + missing, check=False)
            if res.rc == 0:
                self.warnings.append('nvmet is not loaded; the real run loads %s'
                                     % ', '.join(missing))
                return
        self._modprobe(*missing)
        if not os.path.isdir(self.root):
            raise CinderkitError('nvmet is not available (%s missing); load the nvmet module and '
                                 'mount configfs (the cinderkit.storage.target_helper role does)'
                                 % self.root)

    def ensure_writable(self):
        from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import (
            writable_dir_problem)
        d = os.path.dirname(self.save_file)
        problem = writable_dir_problem(d)
        if problem:
            raise CinderkitError("nvmet's saved configuration directory %s %s" % (d, problem))

    def _port_specs(self):
        out = []
        first = int(self.config.get('nvmet_port_id'))
        for i, portal in enumerate(self.portals()):
            ip, port = portal.rpartition(':')[::2]
            ip = ip.strip('[]')
            out.append((first + i, dict(adrfam='ipv6' if ':' in ip else 'ipv4', traddr=ip,
                                        trsvcid=str(port), trtype=self.transport)))
        return out

    def check_ports(self):
        """Conflict for the first port this backend needs that is not ours to use (a read)."""
        state = self._load()
        for pid, addr in self._port_specs():
            have = state.ports[pid]['addr'] if pid in state.ports else None
            port_decision(pid, have, addr, self.owned.get('ports', str(pid)))

    def _link_ports(self, nqn):
        state = self._load()
        for pid, addr in self._port_specs():
            ppath = self._path('ports', pid)
            have = state.ports[pid]['addr'] if pid in state.ports else None
            made = port_decision(pid, have, addr, self.owned.get('ports', str(pid))) == 'create'
            if made:
                self.owned.set('ports', str(pid), port_key(addr))      # before it exists
                os.mkdir(ppath)
                for key in ('adrfam', 'traddr', 'trsvcid', 'trtype'):
                    _write(os.path.join(ppath, 'addr_' + key), addr[key])
                state.ports[pid] = dict(portid=pid, addr=addr, param={}, referrals=[], subsystems=[])
            link = os.path.join(ppath, 'subsystems', nqn)
            if os.path.lexists(link):
                continue
            try:
                os.symlink(self._path('subsystems', nqn), link)
            except OSError as exc:
                if made:
                    try:
                        os.rmdir(ppath)
                        self.owned.forget('ports', str(pid))
                    except OSError:
                        pass
                    state.ports.pop(pid, None)
                if exc.errno == errno.EADDRINUSE:
                    raise Conflict('nvmet cannot listen on %s:%s: the port is in use by another '
                                   'process' % (addr['traddr'], addr['trsvcid']))
                raise Conflict('nvmet cannot enable port %d on %s:%s (%s): the address may not be '
                               'on this host' % (pid, addr['traddr'], addr['trsvcid'], exc))
            state.ports[pid]['subsystems'].append(nqn)

    def _hosts(self, spath, spec):
        _write(os.path.join(spath, 'attr_allow_any_host'), '1' if spec.allow_any_host else '0')
        want = set() if spec.allow_any_host else set(spec.initiators)
        have = set(_listdir(os.path.join(spath, 'allowed_hosts')))
        for h in sorted(have - want):
            os.unlink(os.path.join(spath, 'allowed_hosts', h))
        for h in sorted(want - have):
            hpath = self._path('hosts', h)
            if not os.path.isdir(hpath):
                self.owned.set('hosts', h, True)                      # before it exists
                os.mkdir(hpath)
            os.symlink(hpath, os.path.join(spath, 'allowed_hosts', h))
        for h, auth in sorted(spec.host_auth.items()):
            if h in want:
                self._set_host_auth(h, auth)

    def _namespace(self, spath, spec):
        nsid = int(self.config.get('nvmet_ns_id'))
        npath = os.path.join(spath, 'namespaces', str(nsid))
        if not os.path.isdir(npath):
            os.mkdir(npath)
        if _read(os.path.join(npath, 'enable')) == '1':
            if _read(os.path.join(npath, 'device_path')) == spec.backing.path:
                return
            _write(os.path.join(npath, 'enable'), 0)
        uid = volume_uuid(spec.volume, self.target_name(spec.volume))
        _write(os.path.join(npath, 'device_path'), spec.backing.path)
        _write(os.path.join(npath, 'device_uuid'), uid)
        _write(os.path.join(npath, 'device_nguid'), uid)
        if spec.backing.read_only:
            attr = self.read_only_attribute()
            if attr is None:     # validate() refused it; never enable a writable snapshot
                raise NotSupported(self.read_only_unsupported())
            _write(os.path.join(npath, attr), 1)
        try:
            _write(os.path.join(npath, 'enable'), 1)
        except OSError as exc:
            raise CinderkitError('nvmet could not enable namespace %d on %s: %s'
                                 % (nsid, spec.backing.path, exc))

    def create_export(self, spec):
        with self.lock():
            return self._create_export(spec)

    def _create_export(self, spec):
        self.ensure_ready()
        nqn = self.target_name(spec.volume)
        spath = self._path('subsystems', nqn)
        fresh = not os.path.isdir(spath)
        if not fresh:
            self._require_ours(nqn)
        try:
            if fresh:
                # a restore keeps the serial hosts saw; a new subsystem gets a new one
                serial = self.owned.get('subsystems', nqn) or new_serial()
                self.owned.set('subsystems', nqn, serial)             # before it exists
                os.mkdir(spath)
                self._set_serial(spath, serial)
            self._hosts(spath, spec)
            self._namespace(spath, spec)
            self._link_ports(nqn)
        except (OSError, CinderkitError) as exc:
            if fresh:
                self._delete_subsystem(nqn)
            if isinstance(exc, CinderkitError):
                raise
            raise CinderkitError('nvmet could not export %s: %s' % (spec.volume, exc))

    def _set_serial(self, spath, serial):
        path = os.path.join(spath, 'attr_serial')
        if os.path.exists(path):            # Linux < 5.x: the record alone marks it
            _write(path, serial)

    def ensure_export(self, spec, actual):
        self.create_export(spec)

    def update_export(self, spec, actual):
        with self.lock():
            nqn = self.target_name(spec.volume)
            self._require_ours(nqn)
            self._hosts(self._path('subsystems', nqn), spec)

    def _delete_subsystem(self, nqn):
        state = self._load()
        for pid in _listdir(self._path('ports')):
            link = self._path('ports', pid, 'subsystems', nqn)
            if os.path.lexists(link):
                os.unlink(link)
            if int(pid) in state.ports and nqn in state.ports[int(pid)]['subsystems']:
                state.ports[int(pid)]['subsystems'].remove(nqn)
        spath = self._path('subsystems', nqn)
        for nsid in _listdir(os.path.join(spath, 'namespaces')):
            npath = os.path.join(spath, 'namespaces', nsid)
            try:
                _write(os.path.join(npath, 'enable'), 0)
            except OSError:
                pass
            os.rmdir(npath)
        for h in _listdir(os.path.join(spath, 'allowed_hosts')):
            os.unlink(os.path.join(spath, 'allowed_hosts', h))
        if os.path.isdir(spath):
            os.rmdir(spath)
        state.subsystems.pop(nqn, None)
        self.owned.forget('subsystems', nqn, later=True)
        self._sweep = True

    def _sweep_hosts(self):
        """Remove the host entries we made that no subsystem allows any more (once a task)."""
        if not self._sweep:
            return
        self._sweep = False
        used = set()
        for s in _listdir(self._path('subsystems')):
            used.update(_listdir(self._path('subsystems', s, 'allowed_hosts')))
        for h in _listdir(self._path('hosts')):
            if h not in used and self.owned.get('hosts', h):
                try:
                    os.rmdir(self._path('hosts', h))
                    self.owned.forget('hosts', h, later=True)
                except OSError:
                    pass

    def _settle_record(self):
        """The record's end of a task: reservations no create used are dropped, our unused
        hosts swept, the removals written (one write)."""
        for nqn in sorted(self._reserved):
            if not os.path.isdir(self._path('subsystems', nqn)):
                self.owned.forget('subsystems', nqn, later=True)
        self._reserved = set()
        self._sweep_hosts()
        self.owned.save_pending()

    def remove_export(self, actual):
        with self.lock():
            if os.path.isdir(self._path('subsystems', actual.target_name)):
                self._require_ours(actual.target_name)
                self._delete_subsystem(actual.target_name)

    def reserve(self, specs):
        """One record write for the subsystems the coming creates make (before any exists)."""
        fresh = {}
        for spec in specs:
            nqn = self.target_name(spec.volume)
            if not os.path.isdir(self._path('subsystems', nqn)) and not self.owned.get('subsystems', nqn):
                fresh[nqn] = new_serial()
        if fresh and not self.runner.check_mode:
            with self.lock():
                self.owned.set_many('subsystems', fresh)
            self._reserved.update(fresh)

    def flush(self):
        """After a failed step: the record as the done steps left it."""
        if self.runner.check_mode:
            return
        with self.lock():
            self._settle_record()

    def commit(self):
        """Save nvmet's whole configuration (nvmetcli's layout, 0600), after the record."""
        if self.runner.check_mode:
            return
        with self.lock():
            self._settle_record()
            state = NvmetState(self.root)
            write_private(self.save_file, json.dumps(state.dump(), indent=2,
                                                     sort_keys=True) + '\n')
            self._state, self._committed = state, True

    # -- connections -----------------------------------------------------------------
    def initialize_connection(self, export, connector):
        """Cinder's NVMeOF shapes: version 1 or 2 (nvmeof_conn_info_version)."""
        ips = [p.rpartition(':')[0].strip('[]') for p in self.portals()]
        port = str(self.config.get('target_port'))
        ns_id = str(export.lun if export.lun is not None else self.config.get('nvmet_ns_id'))
        if int(self.config.get('nvmeof_conn_info_version') or 1) == 2:
            transport = 'RoCEv2' if self.transport == 'rdma' else self.transport
            data = dict(target_nqn=export.target_name,
                        vol_uuid=export.extra.get('uuid') or volume_uuid(export.volume,
                                                                         export.target_name),
                        portals=[[ip, port, transport] for ip in ips], ns_id=ns_id)
        else:
            data = dict(target_portal=ips[0], target_port=port, nqn=export.target_name,
                        transport_type=self.transport, ns_id=ns_id)
        data['discard'] = bool(self.config.get('report_discard_supported', False))
        data['encrypted'] = False
        auth = export.host_auth.get((connector or {}).get('nqn') or '')
        if auth is not None:
            # what the host connects with (the attachment module passes them to the kernel)
            data['dhchap_secret'] = auth.host_key
            if auth.ctrl_key:
                data['dhchap_ctrl_secret'] = auth.ctrl_key
        return {'driver_volume_type': 'nvmeof', 'data': data}

    def terminate_connection(self, export, connector):
        """Unlink the host NQN from the subsystem's allowed_hosts (the other hosts stay) and
        remove a host entry of ours that no subsystem allows any more; ``commit`` saves."""
        nqn = self.connector_initiator(connector)
        if not nqn:
            return False
        with self.lock():
            self._require_ours(export.target_name)
            link = self._path('subsystems', export.target_name, 'allowed_hosts', nqn)
            if not os.path.lexists(link):
                return False
            os.unlink(link)
            used = any(os.path.lexists(self._path('subsystems', s, 'allowed_hosts', nqn))
                       for s in _listdir(self._path('subsystems')))
            if not used and self.owned.get('hosts', nqn):
                try:
                    os.rmdir(self._path('hosts', nqn))
                    self.owned.forget('hosts', nqn)
                except OSError:
                    pass
            self._state = None
            return True

    def extend_target(self, export):
        npath = self._path('subsystems', export.target_name, 'namespaces', export.lun)
        reval = os.path.join(npath, 'revalidate_size')
        if os.path.exists(reval):
            _write(reval, 1)
            return True
        # older kernels: re-enable the namespace so it reads the size again (I/O pauses)
        _write(os.path.join(npath, 'enable'), 0)
        _write(os.path.join(npath, 'enable'), 1)
        return True
