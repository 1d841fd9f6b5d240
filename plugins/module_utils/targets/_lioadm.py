# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LIO (the kernel SCSI target) through rtslib-fb objects, never targetcli output.

One export = one iSCSI target ``target_prefix + volume`` with TPG 1, LUN 0
(Cinder's LIO numbering), a ``block`` backstore (or ``fileio`` for a regular
file) named after the volume, one network portal per configured address,
and one node ACL per allowed initiator carrying the export's CHAP
credentials (TPG authentication on).  ``allow_any_host`` uses LIO's
generated ACLs with the CHAP credentials on the TPG.

State: rtslib's view of configfs (live) and rtslib's saveconfig file
(persisted; mode 0600, written once per task by ``commit``), which LIO's
restore service (rtslib-fb-targetctl / target.service) loads at boot.

Ownership: a backstore this helper makes gets a random WWN (unit serial),
recorded in ``cinderkit-backstores.json`` beside the saveconfig file.  A
backstore is ours when the record names it with its live WWN, or when it
serves LUN 0 of our target; any other backstore with a volume's name is never
deleted or replaced (``backstore_decision``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import traceback
import uuid

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, Conflict, MissingDependency, TargetUnavailable)
from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import (
    Backing, Chap, Export, Target, register_target)
from ansible_collections.cinderkit.storage.plugins.module_utils._record import OwnerRecord

LUN = 0
TPG_TAG = 1
RECORD_NAME = 'cinderkit-backstores.json'


def backstore_decision(key, path, wwn, attached, want_path, recorded_wwn):
    """What to do with an existing backstore ``key`` ('plugin/name') named like a volume.

    ``path``/``wwn``: the backstore's device and unit serial; ``attached``: it serves a LUN;
    ``want_path``: the device the export needs; ``recorded_wwn``: the WWN our record keeps
    for ``key`` (None: we never made it).  Returns 'reuse' or 'replace' (delete it, make a
    new one); raises Conflict for a backstore that is not ours to change.
    """
    ours = recorded_wwn is not None and wwn == recorded_wwn
    if path == want_path and (attached or ours):
        return 'reuse'
    if attached:
        raise Conflict('LIO backstore %s serves %s, not %s; remove the export using it first'
                       % (key, path, want_path))
    if not ours:
        raise Conflict('LIO backstore %s exists (on %s) and was not made by cinderkit (no record '
                       'of its WWN); it is left alone: remove or rename it (targetcli '
                       '/backstores/%s delete %s), or export the volume under another name'
                       % (key, path, key.split('/')[0], key.split('/')[-1]))
    return 'replace'


def attached(so):
    """Whether backstore ``so`` serves a LUN of any target now, read live from configfs.

    The kernel lists every LUN of a block or fileio backstore in one of its ALUA target port
    groups (``alua/<group>/members``; a LUN joins ``default_tg_pt_gp`` when it is made and can
    only move to another group), so reading those few files answers without rtslib's
    ``attached_luns``, which walks every LUN of every target (O(exports) per call, O(N^2) in
    a bulk task).  A backstore without ALUA groups gets that walk."""
    alua = os.path.join(so.path, 'alua')
    try:
        groups = sorted(os.listdir(alua))
    except OSError:
        groups = []
    members = []
    for group in groups:
        try:
            with open(os.path.join(alua, group, 'members')) as fh:
                members.extend(line for line in fh.read().splitlines() if line.strip())
        except (IOError, OSError):
            return bool(list(so.attached_luns))
    if groups:
        return bool(members)
    return bool(list(so.attached_luns))


def _rtslib():
    try:
        import rtslib_fb as rtslib
    except ImportError:
        try:
            import rtslib
        except ImportError:
            raise MissingDependency('the Python library rtslib-fb', 'python3-rtslib-fb (Debian), '
                                    'python3-rtslib (RHEL) or pip install rtslib-fb',
                                    reason=traceback.format_exc().strip().splitlines()[-1])
    return rtslib


def _chap_of(obj):
    user = obj.get('chap_userid') if isinstance(obj, dict) else getattr(obj, 'chap_userid', None)
    if not user:
        return None
    get = obj.get if isinstance(obj, dict) else (lambda k: getattr(obj, k, None))
    return Chap(user, get('chap_password') or None, get('chap_mutual_userid') or None,
                get('chap_mutual_password') or None)


def _read_only_lun(so, tpg, lun):
    """True when initiators cannot write LUN ``lun``: a readonly block backstore, or every
    node ACL maps it write-protected (generated ACLs: the TPG's demo_mode_write_protect)."""
    if so.plugin == 'block' and getattr(so, 'readonly', False):
        return True
    if tpg.get_attribute('generate_node_acls') == '1':
        return tpg.get_attribute('demo_mode_write_protect') == '1'
    wp = [bool(m.write_protect) for a in tpg.node_acls for m in a.mapped_luns
          if m.tpg_lun.lun == lun.lun]
    return bool(wp) and all(wp)


@register_target('lioadm')
class LioAdm(Target):
    """Cinder's lioadm, with rtslib objects instead of cinder-rtstool."""

    protocols = ('iscsi', 'iser')
    # a block backstore reports the device's current size: after an initiator
    # rescan (iscsiadm -m session -R) the grown LUN shows, without I/O errors
    online_extend = True
    # read-only: a block backstore opened readonly, and write-protected mapped LUNs (any
    # backstore); one node ACL per initiator
    features = frozenset(('chap', 'mutual_chap', 'discovery_chap', 'acl', 'multiattach',
                          'snapshot_export'))
    initiator_kind = 'iqn'

    # LIO is kernel-wide: one lock for its configfs tree and its saved files
    lock_name = 'lio'
    hostname_portals = False

    def __init__(self, config, runner):
        super(LioAdm, self).__init__(config, runner)
        self._rts = None
        self._root = None
        self._cache = None
        self._records = None

    @property
    def rts(self):
        if self._rts is None:
            self._rts = _rtslib()
        return self._rts

    @property
    def root(self):
        if self._root is None:
            # rtslib moves LIO's dbroot to /etc/target and refuses when it is missing
            dbroot = getattr(self.rts.RTSRoot, '_preferred_dbroot', None)
            if dbroot and not os.path.isdir(dbroot):
                try:
                    os.makedirs(dbroot, 0o700)
                except OSError:
                    pass
            try:
                self._root = self.rts.RTSRoot()
            except Exception as exc:
                raise CinderkitError('cannot open LIO through configfs (%s); load the modules '
                                     'target_core_mod and iscsi_target_mod (the '
                                     'cinderkit.storage.target_helper role does)' % exc)
        return self._root

    @property
    def save_file(self):
        from importlib import import_module
        mod = import_module(self.rts.__name__ + '.root')
        return getattr(mod, 'default_save_file', '/etc/target/saveconfig.json')

    @property
    def record_file(self):
        return os.path.join(os.path.dirname(self.save_file), RECORD_NAME)

    def records(self):
        """{'plugin/name': wwn} of the backstores this helper made."""
        if self._records is None:
            self._records = OwnerRecord(self.record_file, ('backstores',), self)
        return self._records.section('backstores')

    def _record(self, so, wwn=None):
        """Record (or forget) backstore ``so`` at once: a task that fails later must still
        find its own backstore recorded on the next run."""
        self.records()
        key = '%s/%s' % (so.plugin, so.name)
        if wwn is None:
            self._records.forget('backstores', key)
        else:
            self._records.set('backstores', key, wwn)

    def ensure_writable(self):
        from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import (
            writable_dir_problem)
        d = os.path.dirname(self.save_file)
        problem = writable_dir_problem(d)
        if problem:
            raise CinderkitError("LIO's saved configuration directory %s %s" % (d, problem))

    # -- state -------------------------------------------------------------
    def _live(self):
        out = {}
        for t in self.root.targets:
            if t.fabric_module.name not in ('iscsi',):
                continue
            volume = self.volume_of(t.wwn)
            if volume is None:
                continue
            out[volume] = t
        return out

    def _saved(self):
        try:
            with open(self.save_file) as fh:
                conf = json.load(fh)
        except (IOError, OSError, ValueError):
            return {}, {}
        sos = dict(('/backstores/%s/%s' % (so.get('plugin'), so.get('name')), so)
                   for so in conf.get('storage_objects', []))
        out = {}
        for t in conf.get('targets', []):
            volume = self.volume_of(t.get('wwn', ''))
            if volume is not None and t.get('fabric') == 'iscsi':
                out[volume] = t
        return out, sos

    def list_exports(self, refresh=False):
        if self._cache is not None and not refresh:
            return self._cache
        if refresh:
            self.root.invalidate_caches() if hasattr(self.root, 'invalidate_caches') else None
        live = self._live()
        saved, sos = self._saved()
        out = {}
        for volume in sorted(set(live) | set(saved)):
            if volume in live:
                out[volume] = self._from_live(volume, live[volume], volume in saved)
            else:
                out[volume] = self._from_saved(volume, saved[volume], sos)
        self._cache = out
        return out

    def _tpg(self, target):
        for tpg in target.tpgs:
            if tpg.tag == TPG_TAG:
                return tpg
        return None

    def _from_live(self, volume, target, persisted):
        tpg = self._tpg(target)
        backing, auth, initiators, any_host, extra = None, None, (), False, {}
        if tpg is not None:
            for lun in tpg.luns:
                if lun.lun == LUN:
                    so = lun.storage_object
                    backing = Backing('block' if so.plugin == 'block' else 'file', so.udev_path,
                                      read_only=_read_only_lun(so, tpg, lun))
                    extra['backstore'] = '%s/%s' % (so.plugin, so.name)
            any_host = tpg.get_attribute('generate_node_acls') == '1'
            acls = list(tpg.node_acls)
            initiators = tuple(a.node_wwn for a in acls) if not any_host else ()
            if any_host:
                auth = _chap_of(tpg)
            elif acls:
                auth = _chap_of(acls[0])
                if any(_chap_of(a) != auth for a in acls[1:]):
                    extra['acl_auth_differs'] = True
            if tpg.get_attribute('authentication') != '1' and auth is not None:
                extra['authentication_off'] = True
            extra['portals'] = sorted('%s:%s' % (p.ip_address, p.port) for p in tpg.network_portals)
            extra['sessions'] = sorted(a.node_wwn for a in acls if getattr(a, 'session', None))
        if backing is None:
            extra['missing_lun'] = True
        return Export(volume, target.wwn, backing=backing, lun=LUN, auth=auth,
                      initiators=initiators, allow_any_host=any_host, live=True,
                      persisted=persisted, extra=extra)

    def _from_saved(self, volume, t, sos):
        tpg = next((x for x in t.get('tpgs', []) if x.get('tag') == TPG_TAG), {})
        backing = None
        for lun in tpg.get('luns', []):
            if lun.get('index') == LUN:
                so = sos.get(lun.get('storage_object'))
                if so is not None:
                    wp = [m.get('write_protect') for a in tpg.get('node_acls', [])
                          for m in a.get('mapped_luns', []) if m.get('tpg_lun') == LUN]
                    backing = Backing.from_path(so.get('dev'), read_only=bool(
                        so.get('readonly') or (wp and all(wp))))
        any_host = str(tpg.get('attributes', {}).get('generate_node_acls')) == '1'
        acls = tpg.get('node_acls', [])
        auth = _chap_of(tpg) if any_host else (_chap_of(acls[0]) if acls else None)
        return Export(volume, t.get('wwn'), backing=backing, lun=LUN, auth=auth,
                      initiators=tuple(a.get('node_wwn') for a in acls) if not any_host else (),
                      allow_any_host=any_host, live=False, persisted=True)

    # -- writes ---------------------------------------------------------------
    def _storage_object(self, spec):
        rts = self.rts
        b = spec.backing
        for so in self.root.storage_objects:
            if so.name == spec.volume and so.plugin in ('block', 'fileio'):
                key = '%s/%s' % (so.plugin, so.name)
                action = backstore_decision(key, so.udev_path, so.wwn, attached(so),
                                            b.path, self.records().get(key))
                readonly = bool(getattr(so, 'readonly', False))
                if action == 'reuse' and (so.plugin != 'block' or readonly == bool(b.read_only)):
                    return so
                if action == 'reuse' and attached(so):
                    raise Conflict('LIO backstore %s/%s is %s and serves a LUN; remove the export '
                                   'using it first' % (so.plugin, so.name,
                                                       'read-only' if readonly else 'writable'))
                so.delete()
                self._record(so)
        wwn = str(uuid.uuid4())     # our marker: recorded in commit()
        try:
            if b.kind == 'block':
                extra = dict(readonly=True) if b.read_only else {}
                so = rts.BlockStorageObject(spec.volume, dev=b.path, wwn=wwn, **extra)
            elif b.kind == 'file':
                so = rts.FileIOStorageObject(spec.volume, dev=b.path,
                                             size=os.path.getsize(b.path), wwn=wwn)
            else:
                so = None
        except rts.RTSLibError as exc:
            raise CinderkitError('LIO could not open %s: %s' % (b.path, exc))
        if so is None:
            raise CinderkitError('the lioadm helper exports block devices and files, not %s (%s)'
                                 % (b.kind, b.path))
        self._record(so, wwn)
        return so

    def _portals(self, tpg):
        have = set((p.ip_address, int(p.port)) for p in tpg.network_portals)
        for portal in self.portals():
            ip, port = portal.rpartition(':')[::2]
            ip = ip.strip('[]')
            if (ip, int(port)) in have:
                continue
            try:
                np = self.rts.NetworkPortal(tpg, ip, int(port), mode='create')
            except self.rts.RTSLibError as exc:
                raise Conflict('LIO cannot listen on %s (target_ip_address:target_port): %s; '
                               'the port may be in use by another process or the address not '
                               'on this host' % (portal, exc))
            if self.protocol == 'iser':
                np.iser = True

    def _set_auth(self, obj, auth):
        if auth is None:
            for attr in ('chap_userid', 'chap_password', 'chap_mutual_userid',
                         'chap_mutual_password'):
                setattr(obj, attr, '')
            return
        obj.chap_userid = auth.username
        obj.chap_password = auth.password
        obj.chap_mutual_userid = auth.mutual_username or ''
        obj.chap_mutual_password = auth.mutual_password or ''

    def _apply_acl(self, tpg, lun, spec):
        tpg.set_attribute('authentication', '1' if spec.auth is not None else '0')
        wp = bool(spec.backing is not None and spec.backing.read_only)
        if spec.allow_any_host:
            for acl in list(tpg.node_acls):
                acl.delete()
            tpg.set_attribute('generate_node_acls', '1')
            tpg.set_attribute('cache_dynamic_acls', '1')
            tpg.set_attribute('demo_mode_write_protect', '1' if wp else '0')
            self._set_auth(tpg, spec.auth)
            return
        tpg.set_attribute('generate_node_acls', '0')
        want = set(spec.initiators)
        for acl in list(tpg.node_acls):
            if acl.node_wwn not in want:
                acl.delete()
        have = dict((a.node_wwn, a) for a in tpg.node_acls)
        for ini in sorted(want):
            acl = have.get(ini)
            if acl is None:
                acl = self.rts.NodeACL(tpg, ini, mode='create')
                self.rts.MappedLUN(acl, LUN, lun, write_protect=wp)
            else:
                for mlun in acl.mapped_luns:
                    if mlun.tpg_lun.lun == LUN and bool(mlun.write_protect) != wp:
                        mlun.write_protect = wp
            if _chap_of(acl) != spec.auth:
                self._set_auth(acl, spec.auth)

    def create_export(self, spec):
        with self.lock():
            return self._create_export(spec)

    def _create_export(self, spec):
        rts = self.rts
        so = self._storage_object(spec)
        name = self.target_name(spec.volume)
        target = None
        try:
            target = rts.Target(rts.FabricModule('iscsi'), name, mode='any')
            tpg = rts.TPG(target, TPG_TAG, mode='any')
            luns = [x for x in tpg.luns if x.lun == LUN]
            lun = luns[0] if luns else rts.LUN(tpg, LUN, so)
            self._portals(tpg)
            self._apply_acl(tpg, lun, spec)
            tpg.enable = True
        except (rts.RTSLibError, CinderkitError) as exc:
            if target is not None:
                try:
                    target.delete()
                    if self.records().get('%s/%s' % (so.plugin, so.name)) == so.wwn and \
                            not attached(so):
                        so.delete()
                        self._record(so)
                except Exception:
                    pass
            if isinstance(exc, CinderkitError):
                exc.msg += '; the half-made target %s was removed' % name
                raise
            raise CinderkitError('LIO could not export %s: %s; the half-made target was removed'
                                 % (spec.volume, exc))

    def ensure_export(self, spec, actual):
        if not actual.live or actual.extra.get('missing_lun'):
            self.create_export(spec)
        else:
            self.update_export(spec, actual)

    def update_export(self, spec, actual):
        with self.lock():
            return self._update_export(spec, actual)

    def _update_export(self, spec, actual):
        rts = self.rts
        target = self._live_target(spec.volume)
        if target is None:
            return self.create_export(spec)
        tpg = self._tpg(target) or rts.TPG(target, TPG_TAG, mode='any')
        luns = [x for x in tpg.luns if x.lun == LUN]
        lun = luns[0] if luns else rts.LUN(tpg, LUN, self._storage_object(spec))
        self._portals(tpg)
        self._apply_acl(tpg, lun, spec)
        tpg.enable = True

    def remove_export(self, actual):
        with self.lock():
            target = self._live_target(actual.volume)
            if target is None:
                return
            sos = []
            for tpg in target.tpgs:
                for lun in tpg.luns:
                    sos.append(lun.storage_object)
            target.delete()
            for so in sos:
                key = '%s/%s' % (so.plugin, so.name)
                # ours: recorded with this WWN, or (made before the record) named for the volume
                ours = self.records().get(key) == so.wwn or so.name == actual.volume
                if ours and not attached(so):
                    so.delete()
                    self._record(so)

    def _live_target(self, volume):
        """The live target of ``volume``, looked up by its name (no walk of every target)."""
        rts = self.rts
        try:
            return rts.Target(rts.FabricModule('iscsi'), self.target_name(volume), mode='lookup')
        except rts.RTSLibNotInCFS:
            return None

    def commit(self):
        """Save LIO's whole configuration (0600) where its restore service reads it."""
        if self.runner.check_mode:
            return
        with self.lock():
            path = self.save_file
            d = os.path.dirname(path)
            if not os.path.isdir(d):
                os.makedirs(d, 0o700)
            self.root.save_to_file(path)
            os.chmod(path, 0o600)

    # -- discovery CHAP (rtslib: configfs writes, no command line) ------------------
    def _iscsi_fabric(self):
        try:
            return self.rts.FabricModule('iscsi')
        except self.rts.RTSLibError as exc:
            raise TargetUnavailable('cannot open LIO\'s iscsi fabric (modprobe '
                                    'iscsi_target_mod): %s' % exc)

    def discovery_auth(self):
        fm = self._iscsi_fabric()
        if not fm.discovery_enable_auth:
            return None
        return Chap(fm.discovery_userid or None, fm.discovery_password or None,
                    fm.discovery_mutual_userid or None, fm.discovery_mutual_password or None)

    def set_discovery_auth(self, auth):
        fm = self._iscsi_fabric()
        if auth is None:
            fm.clear_discovery_auth_settings()
            return
        fm.discovery_userid = auth.username
        fm.discovery_password = auth.password
        fm.discovery_mutual_userid = auth.mutual_username or ''
        fm.discovery_mutual_password = auth.mutual_password or ''
        fm.discovery_enable_auth = True

    # -- connections -------------------------------------------------------------
    def initialize_connection(self, export, connector):
        return self.iscsi_connection_info(export, connector, LUN)

    def terminate_connection(self, export, connector):
        """Delete the connector's node ACL (its sessions end; the others' stay); ``commit``
        saves the configuration."""
        ini = self.connector_initiator(connector)
        if not ini:
            return False
        with self.lock():
            target = self._live_target(export.volume)
            tpg = self._tpg(target) if target is not None else None
            if tpg is None:
                return False
            for acl in tpg.node_acls:
                if acl.node_wwn == ini:
                    acl.delete()
                    self._cache = None
                    return True
            return False

    def extend_target(self, export):
        """A block backstore reports the new size by itself; a fileio file cannot grow live."""
        if export.backing is not None and export.backing.kind == 'file':
            self.warnings.append('LIO fileio backstores keep their size; remove and re-create the '
                                 'export of %s to show the new size' % export.volume)
            return False
        return True
