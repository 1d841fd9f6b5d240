# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The LVM reference driver (Cinder's LVMVolumeDriver, without Cinder).

Ownership lives in LV tags: ``ck.kind=volume`` or ``ck.kind=snapshot``
marks an LV this collection manages; ``ck.src=<kind>:<name>`` records the
source a volume was created from.  LVs without those tags are never changed
by the volume/snapshot modules; manage_existing adopts them.

Groups (capability ``groups``) live in tags too: a group is a VG tag
``ck.group=NAME`` (so an empty group exists; VG tags are metadata of the
backend's own VG, namespaced ``ck.``, and nothing else reads them), its members
carry the LV tag ``ck.group=NAME``, and each member snapshot of a group snapshot
carries ``ck.gsnap=NAME`` and ``ck.gsnap_group=GROUP``.  All of it comes with
the one ``lvs`` report (the VG's fields ride on every LV row).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import math
import os
import shutil
import socket
import time

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, CommandFailed, Conflict, InvalidParameter, MissingDependency, NotFound,
    NotSupported)
from ansible_collections.cinderkit.storage.plugins.module_utils._lvm import (
    LVMClient, dm_available, dm_path, name_problem)
from ansible_collections.cinderkit.storage.plugins.module_utils._sizes import gb, human
from ansible_collections.cinderkit.storage.plugins.module_utils._options import (
    cfg, common_opts, require_oslo, target_opts)
from ansible_collections.cinderkit.storage.plugins.module_utils import _copy
from ansible_collections.cinderkit.storage.plugins.module_utils import _inuse
from ansible_collections.cinderkit.storage.plugins.module_utils._locks import host_lock
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers._base import (
    GiB, KEY_KIND, KEY_SRC, KIND_SNAPSHOT, KIND_VOLUME, Group, GroupSnapshot, Inventory, Snapshot,
    Volume, VolumeDriver, note_half_made, register, source_from_tag, source_tag)

MAX_VG_LV = 127     # len(vg) + len(lv) + 3 (measured with LVM 2.03: 128 is refused)
MAX_DM_NAME = 127   # the kernel's DM_NAME_LEN (128) less its NUL
# LVM's suffixes for a thick snapshot: its origin gets '<vg>-<lv>-real', the CoW '<vg>-<snap>-cow'
SNAPSHOT_SUFFIXES = (('origin', '-real'), ('snapshot', '-cow'))


def dm_name_length(vg, lv, suffix=''):
    """Length of the device-mapper name LVM gives ``vg/lv`` (each '-' doubled, 'vg-lv')."""
    return len(vg.replace('-', '--')) + 1 + len(lv.replace('-', '--')) + len(suffix)


TAG_KIND = KEY_KIND
TAG_SRC = KEY_SRC
TAG_GROUP = 'ck.group'
TAG_GSNAP = 'ck.gsnap'
TAG_GSNAP_GROUP = 'ck.gsnap_group'
# bounded waits of a group snapshot: a suspend waits for the I/O in flight (and a mounted
# file system's freeze), a snapshot for LVM's metadata commit; a resume must never hang
SUSPEND_TIMEOUT = 60
SNAPSHOT_TIMEOUT = 300
RESUME_TIMEOUT = 60
# the chunk size of the temporary snapshot a thick clone reads through, for a COW area of at
# least 32 such chunks (a smaller one keeps LVM's default, 4 KiB)
TEMP_SNAPSHOT_CHUNK = 512 * 1024


def lvm_opts():
    require_oslo()
    return [
        cfg.StrOpt('volume_group', default='cinder-volumes',
                   help='Name for the VG that will contain exported volumes'),
        cfg.IntOpt('lvm_mirrors', default=0,
                   help='If >0, create LVs with multiple mirrors. Note that this requires '
                        'lvm_mirrors + 2 PVs with available space'),
        cfg.StrOpt('lvm_type', default='auto', choices=['default', 'thin', 'auto'],
                   help='Type of LVM volumes to deploy; (default, thin, or auto). '
                        'Auto defaults to thin if thin is supported.'),
        cfg.StrOpt('lvm_conf_file', default='/etc/cinder/lvm.conf',
                   help="LVM conf file to use for the LVM driver; ignored if the file does "
                        "not exist ('None' to not use a conf file even if one exists)."),
        cfg.BoolOpt('lvm_suppress_fd_warnings', default=False,
                    help='Suppress leaked file descriptor warnings in LVM commands.'),
        cfg.BoolOpt('lvm_share_target', default=False,
                    help='Whether to share the same target for all LUNs or not '
                         '(currently only supported by nvmet).'),
        # cinderkit addition: Cinder always sizes a thick snapshot's CoW area
        # like its origin (100); a smaller share saves space for short-lived
        # snapshots and overflows (invalidates the snapshot) if exceeded.
        cfg.IntOpt('lvm_snapshot_cow_percent', default=100, min=1, max=100,
                   help='Size of a thick snapshot CoW area in percent of its origin '
                        '(cinderkit; Cinder always uses 100).'),
    ]


def escape_snapshot(name):
    """Cinder's mangling: LVM reserves names that start with 'snapshot'."""
    return '_' + name if name.startswith('snapshot') else name


def unescape_snapshot(lv_name):
    return lv_name[1:] if lv_name.startswith('_snapshot') else lv_name


@register('lvm', aliases=('cinder.volume.drivers.lvm.LVMVolumeDriver', 'LVMVolumeDriver'))
class LVMDriver(VolumeDriver):
    """Volumes are LVs of one VG; thick (``default``) or thin in ``<vg>-pool``."""

    VERSION = '3.0.0'
    default_backend_name = 'LVM'
    capabilities = frozenset(('image', 'manage', 'revert', 'online_extend', 'multiattach',
                              'snapshot_cow_size', 'groups'))

    @classmethod
    def get_driver_options(cls):
        return lvm_opts() + common_opts() + target_opts()

    def __init__(self, config, runner):
        super(LVMDriver, self).__init__(config, runner)
        self.vg_name = config.volume_group
        self.pool_name = '%s-pool' % self.vg_name
        self.lvm = LVMClient(runner, self.vg_name, config.lvm_conf_file)
        self._inv = None
        self._vg = None
        self._lvs = None
        self._extent = None
        self._thin_ok = None

    # -- names ----------------------------------------------------------------
    def validate_name(self, name, param='name'):
        problem = name_problem(name)
        if problem is None and name == self.pool_name:
            problem = 'is the name of the thin pool of this volume group'
        if problem is None and len(self.vg_name) + len(name) + 3 > MAX_VG_LV:
            # LVM's limit is on 'VG/LV' (lvcreate: 'LV name "vg/lv" length 128 is not supported')
            problem = ('is %d characters long; in volume group %r (%d characters) LVM takes at most %d'
                       % (len(name), self.vg_name, len(self.vg_name), MAX_VG_LV - 3 - len(self.vg_name)))
        if problem is None and dm_name_length(self.vg_name, name) > MAX_DM_NAME:
            problem = ('gives a device-mapper name of %d bytes (volume group and name joined by '
                       "'-', each '-' doubled); the kernel takes at most %d: use a shorter name "
                       'or fewer dashes' % (dm_name_length(self.vg_name, name), MAX_DM_NAME))
        if problem:
            raise InvalidParameter(param, '%r %s' % (name, problem))

    def local_path(self, name):
        return '/dev/%s/%s' % (self.vg_name, name)

    # -- the planners' hooks (drivers/_base.py) --------------------------------------
    object_noun = 'LV'

    def snapshot_storage_name(self, name):
        return escape_snapshot(name)

    def snapshot_name_of(self, storage_name):
        return unescape_snapshot(storage_name)

    def storage_name(self, record):
        return (record.extra or {}).get('lv_name') or record.name

    def new_volume_kind(self):
        return self.effective_lvm_type(creating=True)[0]

    def snapshot_unchanged(self, snap):
        """A thick snapshot whose CoW area holds nothing: the origin was not written since."""
        return not snap.thin and snap.extra.get('cow_used_percent') == 0.0

    # -- setup ------------------------------------------------------------------
    def close(self):
        self.lvm.close()

    def check_for_setup_error(self):
        if self.config.lvm_mirrors:
            raise NotSupported("option 'lvm_mirrors' > 0 is not supported by cinderkit's LVM "
                               "driver; set it to 0 (use RAID below the VG instead)")
        self._load()

    def thin_supported(self):
        """Thin pools need device-mapper, activation and thin-provisioning-tools."""
        if self._thin_ok is None:
            self._thin_ok = (dm_available()
                             and bool(shutil.which('thin_check', path=os.environ.get('PATH', '') + ':/usr/sbin:/sbin'))
                             and self.lvm.activation_enabled())
        return self._thin_ok

    def effective_lvm_type(self, creating=False):
        """(lvm_type, pool_to_create): Cinder's auto semantics, without side effects."""
        lvs = self._get_lvs()
        pool = next((lv for lv in lvs if lv.name == self.pool_name), None)
        wanted = self.config.lvm_type
        if wanted == 'auto':
            if pool is not None and pool.is_thin_pool:
                return 'thin', False
            if not lvs and creating and self.thin_supported():
                return 'thin', True
            return 'default', False
        if wanted == 'thin':
            if pool is None or not pool.is_thin_pool:
                raise InvalidParameter(
                    'backend.lvm_type', "lvm_type is 'thin' but volume group %r has no thin pool %r"
                    % (self.vg_name, self.pool_name),
                    "create the pool (cinderkit.storage.lvm_backend with lvm_backend_thin_pool: true) "
                    "or use lvm_type: auto, which creates it in an empty volume group")
            return 'thin', False
        return 'default', False

    # -- state ------------------------------------------------------------------
    def _get_vg(self):
        """The VG record: from the ``lvs`` report, or one ``vgs`` when the VG has no LV."""
        if self._vg is None:
            if self._lvs is None:
                self._get_lvs()
            if self._vg is None:
                self._vg = self.lvm.require_vg()
            self._extent = self._vg.extent_size
        return self._vg

    def _get_lvs(self):
        """Every LV of the VG and the VG itself: ONE ``lvs`` call per task (and per write)."""
        if self._lvs is None:
            vg, self._lvs = self.lvm.report()
            if vg is not None:
                self._vg = vg
                self._extent = vg.extent_size
            self._inv = None
        return self._lvs

    def _load(self, refresh=False):
        if refresh:
            self.refresh()
        return self._get_vg(), self._get_lvs()

    def refresh(self):
        """Forget what was read; the next use re-queries (``vgs`` only if space is needed)."""
        self._vg = None
        self._lvs = None
        self._inv = None

    def get_inventory(self, refresh=False):
        if refresh:
            self.refresh()
        lvs = self._get_lvs()
        if self._inv is not None:
            return self._inv
        inv = Inventory(space=lambda: self._space(self._get_vg(), self._get_lvs()))
        for lv in lvs:
            kind = lv.tag_value(TAG_KIND)
            if lv.is_thin_pool or lv.is_internal:
                inv.internal[lv.name] = dict(name=lv.name, segtype=lv.segtype, size_bytes=lv.size,
                                             attr=lv.attr)
            elif kind == KIND_SNAPSHOT:
                snap = self._snapshot_record(lv, managed=True)
                inv.snapshots[snap.name] = snap
            elif kind == KIND_VOLUME:
                inv.volumes[lv.name] = self._volume_record(lv, managed=True)
            elif lv.is_cow_snapshot or (lv.is_thin and lv.origin and lv.skip_activation):
                inv.unmanaged[lv.name] = self._snapshot_record(lv, managed=False)
            else:
                inv.unmanaged[lv.name] = self._volume_record(lv, managed=False)
        for snap in inv.snapshots.values():
            if snap.volume in inv.volumes:
                inv.volumes[snap.volume].snapshots.append(snap.name)
        self._read_groups(inv, lvs)
        self._inv = inv
        return inv

    def _read_groups(self, inv, lvs):
        """Groups from the VG's tags and the members' LV tags; group snapshots from the
        member snapshots' tags (the same report)."""
        members = {}
        for tag in self._get_vg().tags:
            if tag.startswith(TAG_GROUP + '='):
                members.setdefault(tag[len(TAG_GROUP) + 1:], [])
        by_lv = dict((lv.name, lv) for lv in lvs)
        for name in inv.volumes:
            group = by_lv[name].tag_value(TAG_GROUP)
            if group:
                members.setdefault(group, []).append(name)
        for name, vols in members.items():
            inv.groups[name] = Group(name, vols)
        for snap in inv.snapshots.values():
            lv = by_lv.get(snap.extra['lv_name'])
            gsnap = lv.tag_value(TAG_GSNAP) if lv is not None else None
            if not gsnap:
                continue
            snap.extra['group_snapshot'] = gsnap
            gs = inv.group_snapshots.get(gsnap)
            if gs is None:
                gs = inv.group_snapshots[gsnap] = GroupSnapshot(gsnap, lv.tag_value(TAG_GSNAP_GROUP))
            gs.snapshots[snap.volume] = snap.name

    def _space(self, vg, lvs):
        pool = next((lv for lv in lvs if lv.name == self.pool_name and lv.is_thin_pool), None)
        return dict(vg_size=vg.size, vg_free=vg.free, extent_size=vg.extent_size,
                    free_extents=vg.free_count, pool_size=pool.size if pool else None,
                    pool_data_percent=pool.data_percent if pool else None)

    def _volume_record(self, lv, managed):
        return Volume(lv.name, lv.size, thin=lv.is_thin, path=self.local_path(lv.name),
                      provider_location='%s/%s' % (self.vg_name, lv.name),
                      source=source_from_tag(lv.tag_value(TAG_SRC)), managed=managed,
                      in_use=lv.open,
                      extra=dict(lvm_type='thin' if lv.is_thin else 'default',
                                 volume_group=self.vg_name, lv_name=lv.name, lv_uuid=lv.uuid,
                                 active=lv.active))

    def _snapshot_record(self, lv, managed):
        name = unescape_snapshot(lv.name) if managed else lv.name
        size = lv.origin_size if (lv.is_cow_snapshot and lv.origin_size) else lv.size
        extra = dict(lv_name=lv.name, volume_group=self.vg_name, lv_uuid=lv.uuid,
                     lvm_type='thin' if lv.is_thin else 'default', active=lv.active)
        if lv.is_cow_snapshot:
            extra['cow_size_bytes'] = lv.size
            extra['cow_used_percent'] = lv.snap_percent
        return Snapshot(name, lv.origin, size, thin=lv.is_thin, path=self.local_path(lv.name),
                        managed=managed, in_use=lv.open, extra=extra)

    def lv(self, lv_name):
        return next((lv for lv in self._get_lvs() if lv.name == lv_name), None)

    # -- sizing -----------------------------------------------------------------
    def round_size(self, size_bytes):
        """What LVM will allocate for ``size_bytes`` (whole extents)."""
        ext = self._extent or self._get_vg().extent_size
        return int(math.ceil(size_bytes / float(ext))) * ext

    def check_space(self, specs, kind='default', extra_thick_bytes=0, freed_bytes=0):
        """Raise Conflict before any change when the VG/pool cannot hold ``specs``.

        ``freed_bytes``: thick space that deletions in the same task release first.
        """
        vg = self._get_vg()
        need = sum(self.round_size(s.size_bytes) for s in specs)
        if kind == 'default' or extra_thick_bytes:
            thick = (need if kind == 'default' else 0) + extra_thick_bytes
            if thick > vg.free + freed_bytes:
                raise Conflict(
                    "volume group %r has %s free; %s needed for %d volume(s). Nothing was changed; "
                    "add a PV to the VG, delete volumes, or ask for less"
                    % (self.vg_name, human(vg.free), human(thick), len(specs)))
        if kind == 'thin':
            space = self.get_inventory().space
            pool_size = space['pool_size'] or vg.free
            ratio = self.over_subscription_ratio()
            provisioned = sum(lv.size for lv in self._get_lvs() if lv.is_thin)
            if ratio and provisioned + need > pool_size * ratio:
                raise Conflict(
                    "thin pool %r would be over-subscribed: %s provisioned + %s new > %s x %.1f "
                    "(max_over_subscription_ratio). Nothing was changed; raise the ratio or grow the pool"
                    % (self.pool_name, human(provisioned), human(need), human(pool_size), ratio))

    def over_subscription_ratio(self):
        r = self.config.max_over_subscription_ratio
        if r == 'auto':
            return None
        return float(r)

    def snapshot_cow_bytes(self, origin_bytes, cow_bytes=None):
        if cow_bytes:
            return self.round_size(cow_bytes)
        pct = self.config.get('lvm_snapshot_cow_percent', 100) or 100
        return self.round_size(int(math.ceil(origin_bytes * pct / 100.0)))

    # -- volumes ----------------------------------------------------------------
    def _tags(self, kind, source=None):
        tags = ['%s=%s' % (TAG_KIND, kind)]
        st = source_tag(source)
        if st:
            tags.append(st)
        return tags

    def ensure_pool(self):
        """Create ``<vg>-pool`` (100%FREE, as Cinder) when auto picked thin on an empty VG.

        Two tasks at once on an empty VG must not both decide to make the pool: the
        decision is taken again on a fresh report under a host lock per VG, held until
        the pool exists.
        """
        lvm_type, create = self.effective_lvm_type(creating=True)
        if not create:
            return lvm_type
        if self.runner.check_mode:
            return lvm_type
        with host_lock('lvm-pool-%s' % self.vg_name):
            self.refresh()
            lvm_type, create = self.effective_lvm_type(creating=True)
            if create:
                self.lvm.run_batch([['lvcreate', '--yes', '--thin', '--extents', '100%FREE',
                                     '%s/%s' % (self.vg_name, self.pool_name)]])
                self.refresh()
                if self.lv(self.pool_name) is None:
                    raise CinderkitError('could not create thin pool %s/%s'
                                         % (self.vg_name, self.pool_name))
        return lvm_type

    def create_volume(self, spec):
        self.create_volumes([spec])

    def create_volumes(self, specs):
        """Create plain volumes; many go to one ``lvm`` process, one query verifies."""
        if not specs:
            return
        lvm_type = self.ensure_pool()
        self.check_space(specs, lvm_type)
        cmds = []
        for s in specs:
            tags = self._tags(KIND_VOLUME, s.source) + list(s.tags)
            cmds.append(self.lvm.lvcreate_argv(s.name, s.size_bytes, tags=tags,
                                               thin_pool=self.pool_name if lvm_type == 'thin' else None))
        # independent lvcreates: two lvm processes at once (LVMClient.run_batch)
        errors = self.lvm.run_batch(cmds, workers=2)
        self.refresh()
        made = set(lv.name for lv in self._get_lvs())
        missing = [s.name for s in specs if s.name not in made]
        if missing:
            created = [s.name for s in specs if s.name in made]
            raise CinderkitError('LVM did not create %d of %d volume(s): %s. LVM said: %s'
                                 % (len(missing), len(specs), ', '.join(missing[:20]),
                                    (errors or '').strip()[-2000:]),
                                 not_created=missing, created=created, changed=bool(created))
        self._settle([s.name for s in specs], refresh=False)

    def delete_volume(self, name):
        self.delete_volumes([name])

    def _open_problem(self, lv, what):
        """Why ``lv`` must not be wiped or removed now (it is open), or None.

        The open count comes from the ``lvs`` report (device-mapper's own count:
        processes, mounts, kernel targets and stacked devices alike); the
        holders are named from /proc and /sys.
        """
        if lv is None or not lv.open:
            return None
        return ('%s is in use (open by %s); nothing was wiped or removed. Stop the holder (unmount, '
                'detach, remove its export) and run the task again'
                % (what, _inuse.describe(dm_path(self.vg_name, lv.name))))

    def check_delete(self, vol):
        problem = self._open_problem(self.lv(vol.name), 'volume %s' % vol.name)
        if problem:
            raise Conflict(problem)

    def check_delete_snapshot(self, snap):
        problem = self._open_problem(self.lv(snap.extra['lv_name']), 'snapshot %s' % snap.name)
        if problem:
            raise Conflict(problem)

    def delete_volumes(self, names):
        """Wipe thick volumes (volume_clear), then one lvremove for all.

        Every check runs before the first wipe, on a fresh ``lvs`` report when anything
        is to be wiped: a volume that is open (or has snapshots) stops the whole delete
        with nothing wiped.  Right before each wipe its holders are looked up once more;
        lvremove itself refuses an LV that is open (so a delete without wipes needs no
        second report).
        """
        inv = self.get_inventory()
        if self.config.volume_clear != 'none' and any(
                n in inv.volumes and not inv.volumes[n].thin for n in names):
            inv = self.get_inventory(refresh=True)
        names = [n for n in names if n in inv.volumes]
        if not names:
            return
        busy = [n for n in names if inv.volumes[n].snapshots]
        if busy:
            raise Conflict('cannot delete volume(s) %s: they still have snapshots (%s); delete the '
                           'snapshots first' % (', '.join(busy), ', '.join(
                               s for n in busy for s in inv.volumes[n].snapshots)))
        problems = [p for p in (self._open_problem(self.lv(n), 'volume %s' % n) for n in names) if p]
        if problems:
            raise Conflict(' | '.join(problems))
        for n in names:
            vol = inv.volumes[n]
            if not vol.thin and self.config.volume_clear != 'none':
                self._clear(self.lv(n), self.local_path(n))
        self.lvm.lvremove(names)
        self.refresh()

    def _clear(self, lv, path, hold=None):
        """Zero ``path`` (``volume_clear_size`` MiB of it at most) once nothing holds
        ``hold`` (default: ``path``): a CoW device is claimed by its snapshot's
        device-mapper table, so the snapshot's own device is the one checked and held."""
        size = lv.size
        if self.config.volume_clear_size:
            size = min(size, self.config.volume_clear_size * 1024 * 1024)
        if not os.path.exists(path):
            raise CinderkitError(
                'cannot wipe %s before deleting it: the device %s does not exist (inactive LV or no '
                "device-mapper). Activate it, or set backend option volume_clear: none to delete "
                'without wiping' % (lv.name, path))
        if self.runner.check_mode:
            return
        # the last look before the first byte changes: a mount or a kernel target that
        # took the device since the lvs report holds it exclusively
        found = _inuse.holders([hold or path]).get(hold or path)
        if found:
            raise Conflict('logical volume %s/%s is in use (held by %s); it was not wiped'
                           % (self.vg_name, lv.name, ', '.join(found)))
        _copy.zero_device(self.runner, path, size, self.config.volume_dd_blocksize,
                          self.config.volume_clear_ionice, hold=hold)

    # -- snapshots --------------------------------------------------------------
    def create_snapshot(self, name, volume_name, cow_bytes=None):
        inv = self.get_inventory()
        vol = inv.volumes[volume_name]
        lv_name = escape_snapshot(name)
        if vol.thin:
            argv = self.lvm.lvcreate_argv(lv_name, snapshot_of=volume_name,
                                          tags=self._tags(KIND_SNAPSHOT), extra=('--setactivationskip', 'y'))
        else:
            pairs = zip((('origin', volume_name), ('snapshot', lv_name)), SNAPSHOT_SUFFIXES)
            for (what, lv), (dummy, suffix) in pairs:
                if dm_name_length(self.vg_name, lv, suffix) > MAX_DM_NAME:
                    raise InvalidParameter(
                        'name' if what == 'snapshot' else 'volume',
                        'a thick snapshot makes the device %s-%s%s of %d bytes (each \'-\' '
                        'doubled); the kernel takes at most %d. Nothing was changed'
                        % (self.vg_name, lv, suffix, dm_name_length(self.vg_name, lv, suffix),
                           MAX_DM_NAME), 'use a shorter name')
            cow = self.snapshot_cow_bytes(vol.size_bytes, cow_bytes)
            vg = self._get_vg()
            if cow > vg.free:
                raise Conflict('volume group %r has %s free; the snapshot needs %s of CoW space. '
                               'Nothing was changed' % (self.vg_name, human(vg.free), human(cow)))
            argv = self.lvm.lvcreate_argv(lv_name, cow, snapshot_of=volume_name,
                                          tags=self._tags(KIND_SNAPSHOT))
        self.lvm.run(argv, write=True)
        if vol.thin:
            # LVM suspended and resumed the active origin; udev can drop its /dev/VG/LV link
            # after that (reproduced with plain lvcreate -s in the VM tier's udev-less LVM
            # config): wait for udev, remake a missing link (only active LVs are checked)
            self._settle([volume_name])
        else:
            self.refresh()

    def delete_snapshot(self, name):
        inv = self.get_inventory()
        snap = inv.snapshots.get(name)
        if snap is None:
            return
        self.refresh()
        lv = self.lv(snap.extra['lv_name'])
        problem = self._open_problem(lv, 'snapshot %s' % name)
        if problem:
            raise Conflict(problem)
        if lv.is_cow_snapshot and self.config.volume_clear != 'none':
            if not lv.active:
                self.lvm.lvchange(lv.name, '--activate', 'y')
            self._clear(lv, dm_path(self.vg_name, lv.name) + '-cow', hold=dm_path(self.vg_name, lv.name))
        self.lvm.lvremove([lv.name])
        self.refresh()

    def snapshot_backing(self, name):
        """The snapshot LV's device (thick: the snapshot LV; thin: the thin snapshot, once
        ``activate_snapshot`` ran), exported read-only."""
        from ansible_collections.cinderkit.storage.plugins.module_utils._backing import Backing
        snap = self.get_inventory().snapshots[name]
        return Backing.from_path(self.local_path(snap.extra['lv_name']), read_only=True)

    def activate_snapshot(self, name, check=False):
        """Thin snapshots skip activation (``--setactivationskip y``): ``lvchange -ay -K``."""
        snap = self.get_inventory().snapshots[name]
        lv = self.lv(snap.extra['lv_name'])
        if lv is None or lv.active:
            return False
        if not check:
            self.lvm.lvchange(lv.name, '--activate', 'y', '--ignoreactivationskip')
            self._settle([lv.name])
        return True

    def _activate_for_read(self, lv_name):
        lv = self.lv(lv_name)
        activate = lv is not None and not lv.active
        if activate:
            self.lvm.lvchange(lv_name, '--activate', 'y', '--ignoreactivationskip')
        self._settle([lv_name], refresh=activate)

    def _settle(self, lv_names, refresh=True, timeout=30.0):
        """Return only when the device node of every active LV in ``lv_names`` exists.

        udev creates /dev/VG/LV after each activation or table reload; a merge that
        finishes in the background (revert) reloads the origin again outside LVM's
        own udev wait.  So: wait for udev's queue, then for the nodes, and let
        ``vgmknodes`` make any that are still missing.  No-op without device-mapper.
        ``refresh``: forget the LV report first (after a change); the next use re-reads it.
        """
        if refresh:
            self.refresh()
        if self.runner.check_mode or not dm_available():
            return
        paths = [self.local_path(n) for n in lv_names
                 if self.lv(n) is not None and self.lv(n).active]
        if not paths:
            return
        udevadm = shutil.which('udevadm', path=os.environ.get('PATH', '') + ':/usr/sbin:/sbin:/usr/bin:/bin')
        deadline = time.monotonic() + timeout
        mknodes = False
        while True:
            if udevadm:
                self.runner.run([udevadm, 'settle', '--timeout=%d' % max(1, int(timeout))], check=False)
            missing = [p for p in paths if not os.path.exists(p)]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise CinderkitError('the device node(s) %s did not appear within %d s after activation; '
                                     'check udev (udevadm monitor) and run the task again'
                                     % (', '.join(missing), timeout), changed=True)
            if not mknodes:
                self.lvm.run(['vgmknodes', '--', self.vg_name], write=True, check=False)
                mknodes = True
            time.sleep(0.2)

    def _thin_copy_of(self, spec, src_lv, src_size):
        """Thin clone: a thin snapshot made writable and independent (Cinder)."""
        tags = self._tags(KIND_VOLUME, spec.source)
        argv = self.lvm.lvcreate_argv(spec.name, snapshot_of=src_lv, tags=tags,
                                      extra=('--setactivationskip', 'n'))
        self.lvm.run(argv, write=True)
        self.lvm.lvchange(spec.name, '--activate', 'y', '--ignoreactivationskip')
        if spec.size_bytes > src_size:
            self.lvm.lvextend(spec.name, spec.size_bytes)
        # the source too: LVM suspended and resumed an active source for the snapshot, and udev,
        # handling that change event after LVM returned, can drop its /dev/VG/LV link (seen in
        # the VM tier with LVM's udev_rules = 0 while udevd runs); the one settle covers both
        self._settle([spec.name, src_lv])

    def _thick_copy_of(self, spec, src_path, src_size, cleanup=None):
        """Create a thick LV and copy ``src_path`` into it; remove it on failure."""
        self.check_space([spec], 'default')
        argv = self.lvm.lvcreate_argv(spec.name, spec.size_bytes,
                                      tags=self._tags(KIND_VOLUME, spec.source))
        self.lvm.run(argv, write=True)
        try:
            self._settle([spec.name])
            _copy.copy_device(self.runner, src_path, self.local_path(spec.name), src_size,
                              target_is_zero=False, timeout=self.copy_timeout)
        except BaseException as exc:
            self._remove_half_made(spec.name, exc)
            raise
        finally:
            if cleanup:
                cleanup()
        self.refresh()

    def _remove_half_made(self, name, exc):
        failure = None
        try:
            self.lvm.lvremove([name])
        except CinderkitError as err:
            failure = err.msg
        self.refresh()
        note_half_made(exc, name, failure)

    def create_volume_from_snapshot(self, spec, snapshot_name):
        inv = self.get_inventory()
        snap = inv.snapshots[snapshot_name]
        lv_name = snap.extra['lv_name']
        if snap.thin:
            self._thin_copy_of(spec, lv_name, snap.size_bytes)
            return
        self._activate_for_read(lv_name)
        self._thick_copy_of(spec, self.local_path(lv_name), snap.size_bytes)

    def create_cloned_volume(self, spec, src_volume_name):
        inv = self.get_inventory()
        src = inv.volumes[src_volume_name]
        if src.thin:
            self._thin_copy_of(spec, src_volume_name, src.size_bytes)
            return
        # thick: copy through a temporary snapshot so the source stays usable
        # a fixed-length name: 'clone-snap-' + a long volume name could pass LVM's name limit
        tmp = 'clone-snap-%s' % hashlib.sha1(spec.name.encode('utf-8')).hexdigest()[:16]
        cow = self.snapshot_cow_bytes(src.size_bytes)
        self.check_space([spec], 'default', extra_thick_bytes=cow)
        # 512 KiB chunks (LVM's largest; its default is 4 KiB): dm-snapshot splits every read at
        # a chunk boundary, so the copy's reads through a 4 KiB-chunk snapshot took 3x those of the
        # origin in the test VM (2 GiB: 38-41 s against 13.7 s; 64 KiB: 15.6 s; 512 KiB: 11-13 s).
        # The snapshot lives only for the copy; a write to the source meanwhile copies 512 KiB
        chunk = ()
        if cow >= 32 * TEMP_SNAPSHOT_CHUNK:
            chunk = ('--chunksize', '%dk' % (TEMP_SNAPSHOT_CHUNK // 1024))
        self.lvm.run(self.lvm.lvcreate_argv(tmp, cow, snapshot_of=src_volume_name,
                                            tags=('ck.kind=temp',), extra=chunk), write=True)

        def drop_tmp():
            self.lvm.lvremove([tmp])

        self._activate_for_read(tmp)
        self._thick_copy_of(spec, self.local_path(tmp), src.size_bytes, cleanup=drop_tmp)

    # -- extend -----------------------------------------------------------------
    def check_extend(self, vol, new_size_bytes):
        """Raise before any change when the extend cannot be done (space, LVM rules)."""
        lv = self.lv(vol.name)
        delta = new_size_bytes - vol.size_bytes
        if vol.thin:
            from ansible_collections.cinderkit.storage.plugins.module_utils.drivers._base import VolumeSpec
            self.check_space([VolumeSpec(vol.name, delta)], 'thin')
        else:
            vg = self._get_vg()
            if delta > vg.free:
                raise Conflict('volume group %r has %s free; growing %s by %s needs more. Nothing was '
                               'changed; add a PV or ask for less'
                               % (self.vg_name, human(vg.free), vol.name, human(delta)))
        if lv.is_origin and lv.open:
            raise Conflict(
                'volume %s is a thick volume with snapshots and is in use; LVM resizes such an origin '
                'only while it is inactive. Stop using it (remove its export) or delete its snapshots, '
                'then extend' % vol.name)

    def extend_volume(self, name, new_size_bytes):
        """Grow; online unless a thick origin with snapshots (LVM: only while inactive)."""
        lv = self.lv(name)
        if lv.is_origin:
            if lv.open:
                raise Conflict(
                    'volume %s is a thick volume with snapshots and is in use; LVM resizes such '
                    'an origin only while it is inactive. Stop using it (remove its export) or '
                    'delete its snapshots, then extend' % name)
            was_active = lv.active
            if was_active:
                self.lvm.lvchange(name, '--activate', 'n')
            try:
                self.lvm.lvextend(name, new_size_bytes)
            finally:
                if was_active:
                    self.lvm.lvchange(name, '--activate', 'y')
            self._settle([name])
            return False
        self.lvm.lvextend(name, new_size_bytes)
        self.refresh()
        return True

    # -- revert -----------------------------------------------------------------
    def revert_to_snapshot(self, volume_name, snapshot_name):
        """Merge the snapshot into the volume, keep the volume's size, recreate the snapshot."""
        inv = self.get_inventory()
        vol = inv.volumes[volume_name]
        snap = inv.snapshots[snapshot_name]
        lv = self.lv(volume_name)
        if lv.open:
            raise Conflict('volume %s is open (in use by %s); LVM would only merge the snapshot at its '
                           'next activation. Detach it and remove its export, then revert; nothing '
                           'was changed' % (volume_name, _inuse.describe(dm_path(self.vg_name, lv.name))))
        problem = self._open_problem(self.lv(snap.extra['lv_name']), 'snapshot %s' % snapshot_name)
        if problem:
            raise Conflict(problem)
        cow = snap.extra.get('cow_size_bytes')
        # the tags to keep: the volume's own, and the snapshot's group snapshot membership
        vol_tags = [t for t in lv.tags if t.startswith('ck.')]
        snap_tags = [t for t in self.lv(snap.extra['lv_name']).tags
                     if t.startswith('ck.') and not t.startswith(TAG_KIND + '=')]
        self.lvm.lvconvert_merge(snap.extra['lv_name'])
        if not snap.thin and lv.active:
            # (a CoW snapshot: of a thick volume, or a group snapshot of an active thin one)
            # a merge of an active origin finishes in the background; cycle it and wait
            # (the wait's last query is the fresh state)
            self.lvm.lvchange(volume_name, '--activate', 'n')
            self.lvm.lvchange(volume_name, '--activate', 'y')
            self._wait_merged(snap.extra['lv_name'])
        else:
            self.refresh()
        cur = self.lv(volume_name)
        if cur is not None and cur.size < vol.size_bytes:
            self.lvm.lvextend(volume_name, vol.size_bytes)
        if cur is not None and vol.thin and not cur.active:
            self.lvm.lvchange(volume_name, '--activate', 'y', '--ignoreactivationskip')
        if cur is not None and vol.thin:
            # the merged thin snapshot took the origin's place: restore the volume's tags
            missing = [t for t in vol_tags if t not in cur.tags]
            extra = [t for t in cur.tags if t.startswith('ck.') and t not in vol_tags]
            if missing or extra:
                self.lvm.addtags(volume_name, add=missing, delete=extra)
            if cur.skip_activation:
                self.lvm.lvchange(volume_name, '--setactivationskip', 'n')
        self.refresh()
        self.create_snapshot(snapshot_name, volume_name, cow_bytes=cow)
        if snap_tags:
            self.lvm.addtags(escape_snapshot(snapshot_name), add=snap_tags)
        self._settle([volume_name])

    # -- groups (capability 'groups') ------------------------------------------------
    def create_group(self, name, volumes=()):
        self.lvm.vg_tags(add=['%s=%s' % (TAG_GROUP, name)])
        self.refresh()
        if volumes:
            self.add_group_members(name, volumes)

    def delete_group(self, name):
        group = self.get_inventory().groups.get(name)
        if group is not None and group.volumes:
            self.remove_group_members(name, group.volumes)
        if '%s=%s' % (TAG_GROUP, name) in self._get_vg().tags:
            self.lvm.vg_tags(delete=['%s=%s' % (TAG_GROUP, name)])
        self.refresh()

    def add_group_members(self, name, volumes):
        for vol in sorted(volumes):
            self.lvm.addtags(vol, add=['%s=%s' % (TAG_GROUP, name)])
        self.refresh()

    def remove_group_members(self, name, volumes):
        for vol in sorted(volumes):
            self.lvm.addtags(vol, delete=['%s=%s' % (TAG_GROUP, name)])
        self.refresh()

    def _cow_members(self, members):
        """The members whose group snapshot is a CoW snapshot: the thick ones, and the thin
        ones that are active on a host with device-mapper.

        Measured (LVM 2.03.16, Debian bookworm): lvcreate of a THIN snapshot whose origin is
        already suspended skips its own suspend, and with it the thin pool's create_snap
        message; the metadata then says transaction N+1 while the pool's kernel state stays at
        N, and every later thin command of the pool fails.  A CoW snapshot of the same
        suspended thin origin (``lvcreate -s -L``) takes the thick path (its tables load on
        resume), keeps the pool's transaction id in step, merges back (revert) and is read
        like any thick snapshot; it takes its CoW space from the volume group, as a thick
        one does.  An inactive thin member has no I/O to hold back: it gets a thin snapshot.
        """
        inv = self.get_inventory()
        dm = dm_available()
        return set(v for v in members
                   if not inv.volumes[v].thin or (dm and self.lv(v).active))

    def check_group_snapshot(self, group, members, export_holder=None):
        """Before any change: names LVM and the kernel take, CoW space for EVERY member that
        gets a CoW snapshot (thick ones, and active thin ones: ``_cow_members``; one shortfall
        would otherwise leave a half-made group snapshot), and dmsetup when a member is
        active."""
        inv = self.get_inventory()
        cow = 0
        cow_members = self._cow_members(members)
        for vol in sorted(members):
            v = inv.volumes[vol]
            if vol not in cow_members:
                continue
            for what, lv, suffix in (('volume', vol, '-real'),
                                     ('name', escape_snapshot(members[vol]), '-cow')):
                if dm_name_length(self.vg_name, lv, suffix) > MAX_DM_NAME:
                    raise InvalidParameter(
                        what, 'a thick snapshot of %s makes the device %s-%s%s of %d bytes; the '
                        'kernel takes at most %d. Nothing was changed'
                        % (vol, self.vg_name, lv, suffix, dm_name_length(self.vg_name, lv, suffix),
                           MAX_DM_NAME), 'use a shorter name')
            cow += self.snapshot_cow_bytes(v.size_bytes)
        vg = self._get_vg()
        if cow > vg.free:
            raise Conflict('volume group %r has %s free; the snapshots of the members of group '
                           '%s (thick, and active thin) need %s of CoW space. Nothing was changed; '
                           'free space or add a PV'
                           % (self.vg_name, human(vg.free), group.name, human(cow)))
        if dm_available() and any(self.lv(v).active for v in members):
            self.runner.which('dmsetup')

    def _member_snapshot_argv(self, vol, snap_name, name, group):
        tags = self._tags(KIND_SNAPSHOT) + ['%s=%s' % (TAG_GSNAP, name),
                                            '%s=%s' % (TAG_GSNAP_GROUP, group)]
        # (LVM 2.03 does not scan LVs for PVs, scan_lvs=0: the suspended members are not read)
        v = self.get_inventory().volumes[vol]
        if vol not in self._cow_members([vol]):
            return self.lvm.lvcreate_argv(escape_snapshot(snap_name), snapshot_of=vol, tags=tags,
                                          extra=('--setactivationskip', 'y'))
        return self.lvm.lvcreate_argv(escape_snapshot(snap_name), self.snapshot_cow_bytes(v.size_bytes),
                                      snapshot_of=vol, tags=tags)

    def create_group_snapshot(self, name, group, members):
        """Crash-consistent snapshots of every member: suspend all, snapshot each, resume all.

        Why the cut is consistent: every member's device-mapper device is suspended (in
        sorted order) BEFORE the first snapshot is taken.  A suspended device completes the
        I/O in flight and then holds back every new one, so from the moment the last
        suspend returns no write reaches any member.  Each snapshot then records its
        member as it was at its own suspend.  LVM itself suspends and resumes the origin
        while it makes a snapshot (it finds it suspended already, and resumes it after
        the snapshot point): that member's writes flow again, but only into the origin
        after its snapshot point, never into a snapshot, and the members not yet
        snapshotted stay suspended.  So a write W2 that was issued after a write W1
        completed (a database's log, then its data) is in a snapshot only if W1 is: W2
        reached its member before that member's suspend, so W1 completed before it too,
        hence before W1's member was suspended (after its suspend nothing completes there
        until its own snapshot point).  That is the cut a power loss at one instant gives.

        An active thin member gets a CoW snapshot (``_cow_members`` says why: LVM cannot
        make a thin snapshot of a held-suspended origin); an inactive one has no device,
        hence no I/O, and gets a thin snapshot, consistent as it is.

        Every call has a timeout; the resumes run in a ``finally``.  A failure part-way
        removes the member snapshots already made (all or none), and the error says so.
        Inactive members (no device, e.g. activation off) have no I/O to hold back.
        """
        inv = self.get_inventory(refresh=True)
        self.check_group_snapshot(inv.groups.get(group) or Group(group, members), members)
        order = sorted(members)
        argvs = [(vol, self._member_snapshot_argv(vol, members[vol], name, group)) for vol in order]
        dm = dm_available()
        suspended, made = [], []
        failure = None
        try:
            for vol in order:
                if dm and self.lv(vol).active:
                    dev = os.path.basename(dm_path(self.vg_name, vol))
                    suspended.append(dev)       # before the call: a timed-out suspend may land
                    self.runner.run(['dmsetup', 'suspend', dev], write=True, timeout=SUSPEND_TIMEOUT)
            for vol, argv in argvs:
                self.lvm.run(argv, write=True, timeout=SNAPSHOT_TIMEOUT)
                made.append(escape_snapshot(members[vol]))
        except CinderkitError as exc:
            failure = exc
        finally:
            not_resumed = []
            for dev in reversed(suspended):
                res = self.runner.run(['dmsetup', 'resume', dev], write=True, check=False,
                                      timeout=RESUME_TIMEOUT)
                if res.rc != 0:
                    not_resumed.append('%s (%s)' % (dev, (res.stderr or '').strip()[-200:]))
        self.refresh()
        if failure is not None:
            left = None
            if made:
                try:
                    self.lvm.lvremove(made)
                except CinderkitError as err:
                    left = err.msg
            self.refresh()
            failure.msg = '%s; group snapshot %s was not made: %s%s' % (
                failure.msg, name,
                ('no member snapshot had been made' if not made else
                 'the %d member snapshot(s) made before the failure (%s) were removed'
                 % (len(made), ', '.join(made)) if left is None else
                 'the member snapshots %s could NOT be removed (%s): delete them' % (
                     ', '.join(made), left)),
                '' if not suspended else '; suspended and resumed: %s' % ', '.join(suspended))
            if not_resumed:
                failure.msg += '; STILL SUSPENDED: %s: run dmsetup resume on them' % ', '.join(not_resumed)
            # lvcreate ran (and lvremove undid it), or a device is left suspended: say so
            failure.result['changed'] = bool(made) or bool(not_resumed)
            raise failure
        if not_resumed:
            raise CinderkitError('group snapshot %s was made, but member device(s) %s did not '
                                 'resume: run dmsetup resume on them' % (name, ', '.join(not_resumed)),
                                 changed=True)

    def delete_group_snapshot(self, name):
        gs = self.get_inventory().group_snapshots.get(name)
        if gs is None:
            return
        for snap in sorted(gs.snapshots.values()):
            self.delete_snapshot(snap)

    def revert_group_snapshot(self, name):
        inv = self.get_inventory(refresh=True)
        gs = inv.group_snapshots[name]
        problems = [p for p in (self._open_problem(self.lv(v), 'volume %s' % v)
                                for v in sorted(gs.snapshots)) if p]
        if problems:
            raise Conflict(' | '.join(problems))
        done = []
        try:
            for vol, snap in sorted(gs.snapshots.items()):
                self.revert_to_snapshot(vol, snap)
                done.append(vol)
        except CinderkitError as exc:
            if done:
                exc.msg = '%s; reverted before the failure: %s' % (exc.msg, ', '.join(done))
                exc.result['changed'] = True
            raise

    def _wait_merged(self, snapshot_lv, timeout=600):
        """Wait until LVM's background merge has consumed the snapshot LV (it polls the
        merge after the activation); the snapshot is recreated under the same name next."""
        if self.runner.check_mode:
            return
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            self.refresh()
            if self.lv(snapshot_lv) is None:
                return
            if time.monotonic() > deadline:
                raise CinderkitError(
                    'the merge of snapshot %s into its volume did not finish in %d s; LVM goes on '
                    'merging in the background: run the task again when `lvs` no longer lists it'
                    % (snapshot_lv, timeout))
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    # -- images -----------------------------------------------------------------
    def copy_image_to_volume(self, spec, image):
        lvm_type = self.ensure_pool()
        self.check_space([spec], lvm_type)
        argv = self.lvm.lvcreate_argv(spec.name, spec.size_bytes,
                                      tags=self._tags(KIND_VOLUME, spec.source),
                                      thin_pool=self.pool_name if lvm_type == 'thin' else None)
        self.lvm.run(argv, write=True)
        try:
            self._settle([spec.name])
            _copy.image_to_device(self.runner, image, self.local_path(spec.name),
                                  target_is_zero=(lvm_type == 'thin'), timeout=self.copy_timeout)
        except BaseException as exc:
            self._remove_half_made(spec.name, exc)
            raise
        self.refresh()

    def copy_volume_to_image(self, name, image):
        self._activate_for_read(name)
        return _copy.device_to_image(self.runner, self.local_path(name), image,
                                     timeout=self.copy_timeout)

    # -- manage -----------------------------------------------------------------
    # Cinder's LVM driver: manage_existing renames the LV to the volume's name;
    # here ownership is an LV tag as well, and ``rename=False`` adopts in place.
    def _ref_name(self, existing_ref, param='source_name'):
        if isinstance(existing_ref, dict):
            if 'source-name' not in existing_ref:
                raise InvalidParameter(param, 'reference %r has no source-name element' % (existing_ref,),
                                       "use {'source-name': LV_NAME}")
            existing_ref = existing_ref['source-name']
        if not isinstance(existing_ref, str) or not existing_ref:
            raise InvalidParameter(param, 'reference must be an LV name', "use {'source-name': LV_NAME}")
        return existing_ref

    def _ref_lv(self, existing_ref):
        name = self._ref_name(existing_ref)
        lv = self.lv(name)
        if lv is None:
            raise NotFound("parameter 'source_name': logical volume %r does not exist in volume group %r"
                           % (name, self.vg_name))
        return lv

    @staticmethod
    def _is_snapshot_lv(lv):
        """Whether an LV is a snapshot (managed ones by tag, others by LVM's view of it)."""
        kind = lv.tag_value(TAG_KIND)
        if kind == KIND_SNAPSHOT:
            return True
        if kind == KIND_VOLUME or lv.is_thin_pool:
            return False
        # a thin LV with an origin that LVM skips at activation is a thin snapshot; a thin
        # clone (made writable and independent) has that flag off
        return lv.is_cow_snapshot or bool(lv.is_thin and lv.origin and lv.skip_activation)

    @staticmethod
    def _snapshot_size(lv):
        """A snapshot's size is its origin's (a thick snapshot's LV size is its CoW area)."""
        return lv.origin_size if (lv.is_cow_snapshot and lv.origin_size) else lv.size

    def manage_existing_get_size(self, existing_ref):
        """Size in whole GiB, rounded up (Cinder's manage_existing_get_size)."""
        lv = self._ref_lv(existing_ref)
        return int(math.ceil(lv.size / float(GiB)))

    def manage_existing_snapshot_get_size(self, existing_ref):
        """Size of the snapshotted volume in whole GiB, rounded up."""
        lv = self._ref_lv(existing_ref)
        return int(math.ceil(self._snapshot_size(lv) / float(GiB)))

    def _adopt(self, name, existing_ref, kind, rename):
        lv = self._ref_lv(existing_ref)
        if lv.is_thin_pool or lv.is_internal:
            raise Conflict('logical volume %s is %s of volume group %s, not a %s'
                           % (lv.name, 'the thin pool' if lv.is_thin_pool else 'an internal LV',
                              self.vg_name, kind))
        if self._is_snapshot_lv(lv) != (kind == KIND_SNAPSHOT):
            raise InvalidParameter('kind', 'logical volume %s is %s' % (
                lv.name, 'a snapshot' if kind == KIND_VOLUME else 'not a snapshot'),
                'adopt it as kind %s' % (KIND_SNAPSHOT if kind == KIND_VOLUME else KIND_VOLUME))
        target_lv = (escape_snapshot(name) if kind == KIND_SNAPSHOT else name) if rename else lv.name
        if target_lv != lv.name:
            self.lvm.lvrename(lv.name, target_lv)
        kept = [t for t in lv.tags if t.startswith(TAG_KIND + '=') and t != '%s=%s' % (TAG_KIND, kind)]
        if kept or '%s=%s' % (TAG_KIND, kind) not in lv.tags:
            self.lvm.addtags(target_lv, add=['%s=%s' % (TAG_KIND, kind)], delete=kept)
        self._settle([target_lv] if target_lv != lv.name else [])

    def manage_existing(self, name, existing_ref, rename=True):
        self._adopt(name, existing_ref, KIND_VOLUME, rename)

    def manage_existing_snapshot(self, name, existing_ref, rename=True):
        self._adopt(name, existing_ref, KIND_SNAPSHOT, rename)

    def unmanage(self, name):
        """Drop the ownership tags; the LV, its name and its data stay."""
        lv = self.lv(name)
        if lv is not None:
            ours = [t for t in lv.tags if t.startswith('ck.')]
            if ours:
                self.lvm.addtags(name, delete=ours)
                self.refresh()

    def unmanage_snapshot(self, name):
        self.unmanage(escape_snapshot(name))

    def _not_safe(self, lv, kind, want_snapshots, exported):
        """Why an LV must not be adopted (Cinder's reason_not_safe), or None."""
        if kind in (KIND_VOLUME, KIND_SNAPSHOT):
            return 'already managed'
        if lv.is_thin_pool:
            return 'thin pool'
        if lv.is_internal:
            return 'internal LV (%s)' % lv.segtype
        if kind is not None:
            return 'internal LV (%s)' % ('temporary' if kind == 'temp' else 'ck.kind=%s' % kind)
        if lv.name in exported:
            return 'exported'
        if lv.open:
            return '%s in use' % ('snapshot' if want_snapshots else 'volume')
        return None

    def manageable_entries(self, want_snapshots, exported=()):
        """Every LV of the VG of one kind (thin pools count as volumes), each listed once."""
        entries = []
        for lv in self._get_lvs():
            if self._is_snapshot_lv(lv) != want_snapshots:
                continue
            kind = lv.tag_value(TAG_KIND)
            size = self._snapshot_size(lv) if want_snapshots else lv.size
            reason = self._not_safe(lv, kind, want_snapshots, exported)
            cinder_id = None
            if kind in (KIND_VOLUME, KIND_SNAPSHOT):
                cinder_id = unescape_snapshot(lv.name) if kind == KIND_SNAPSHOT else lv.name
            lvm_type = 'thin-pool' if lv.is_thin_pool else ('thin' if lv.is_thin else 'default')
            entry = {'reference': {'source-name': lv.name},
                     'size': int(math.ceil(size / float(GiB))),
                     'safe_to_manage': reason is None,
                     'reason_not_safe': reason,
                     'cinder_id': cinder_id,
                     'extra_info': 'lvm_type=%s, attr=%s' % (lvm_type, lv.attr)}
            if want_snapshots:
                entry['source_reference'] = {'source-name': lv.origin}
            entries.append(entry)
        return entries

    # -- stats ------------------------------------------------------------------
    def get_volume_stats(self, refresh=False):
        vg, lvs = self._load(refresh)
        lvm_type = self.effective_lvm_type()[0]
        pool = next((lv for lv in lvs if lv.name == self.pool_name and lv.is_thin_pool), None)
        if lvm_type == 'thin' and pool is not None:
            total = gb(pool.size)
            used = pool.size / 100.0 * (pool.data_percent or 0.0)
            free = round((pool.size - used) / float(GiB), 2)
            provisioned = round(sum(lv.size for lv in lvs if lv.name != self.pool_name) / float(GiB), 2)
        else:
            total = gb(vg.size)
            free = gb(vg.free)
            provisioned = round(float(total) - float(free), 2)
        thin = lvm_type == 'thin'
        location_info = 'LVMVolumeDriver:%s:%s:%s:%s' % (
            socket.gethostname(), self.vg_name, lvm_type, self.config.lvm_mirrors)
        pool_stats = dict(
            pool_name=self.backend_name,
            total_capacity_gb=total,
            free_capacity_gb=free,
            reserved_percentage=self.config.reserved_percentage,
            location_info=location_info,
            QoS_support=False,
            provisioned_capacity_gb=provisioned,
            max_over_subscription_ratio=self.config.max_over_subscription_ratio,
            thin_provisioning_support=thin,
            thick_provisioning_support=not thin,
            total_volumes=len(lvs),
            filter_function=self.config.filter_function,
            goodness_function=self.config.goodness_function,
            multiattach=True,
            backend_state='up',
        )
        return dict(
            volume_backend_name=self.backend_name,
            vendor_name=self.vendor_name,
            driver_version=self.VERSION,
            pools=[pool_stats],
            shared_targets=self.config.lvm_share_target,
            sparse_copy_volume=thin,
            total_capacity_gb=total,
            free_capacity_gb=free,
            reserved_percentage=self.config.reserved_percentage,
            lvm_type=lvm_type,
            volume_group=self.vg_name,
        )

    def vendor_properties(self):
        return {
            'cinderkit:lvm_type': dict(
                title='LVM type', description='Provisioning of new LVs on this backend.',
                type='string', enum=['default', 'thin']),
            'cinderkit:volume_clear': dict(
                title='Volume clear', description='How thick volumes are wiped on delete.',
                type='string', enum=['none', 'zero'], default=self.config.volume_clear),
            'cinderkit:snapshot_cow_percent': dict(
                title='Snapshot CoW size', description='Thick snapshot CoW area, percent of origin.',
                type='integer', minimum=1, maximum=100,
                default=self.config.get('lvm_snapshot_cow_percent', 100)),
        }


__all__ = ['LVMDriver', 'MissingDependency', 'CommandFailed']
