# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ceph RBD driver (Cinder's RBDDriver, without Cinder).

Everything goes through librados/librbd (Debian's python3-rados and
python3-rbd); the ``rbd`` CLI is never run.  One cluster connection serves a
task; the inventory is one pool listing (images opened read-only, in
parallel).

Ownership lives in image metadata, as LV tags do for LVM: ``ck.kind=volume``
marks an image this collection manages, ``ck.src=<kind>:<name>`` records its
source, and ``ck.snap.<name>=snapshot`` marks a managed snapshot of that
image.  Images without ``ck.kind`` are never changed by the volume/snapshot
modules; manage_existing adopts them.

Clones are Cinder's: a protected snapshot ``<clone>.clone_snap`` of the
source and a copy-on-write child, flattened once the chain would exceed
``rbd_max_clone_depth`` (0: always a full, sparse copy).  A volume or
snapshot that clones depend on is not deleted unless ``rbd_flatten_on_delete``
asks to flatten the clones first.

Groups (capability ``groups``) are librbd groups of the pool.  A group is ours when the
record object ``cinderkit.groups`` (an omap in the pool, one key per group) names it with
the id librbd gave it (read back from librbd's group directory, as the file driver keeps
an inode): a group of the same name made by anyone else is never changed or removed.  A
group snapshot is librbd's (``Group.create_snap``): librbd sends every member's clients
a quiesce, takes every member's exclusive lock, snapshots each member in the group
snapshot namespace and lets go, so the member snapshots are one crash-consistent cut.
It is ours when the record names it (written before librbd makes it) with the mapping
member volume -> member snapshot name.  librbd names a member snapshot
``.group.<pool>_<group id>_<snap id>`` in its own namespace, where only its id reaches it:
librbd 16.2 clones from user snapshots only (by name), so a volume made from a member
snapshot is a full sparse copy of the snapshot opened by id, and a member reverts only
with its whole group (``Group.rollback_to_snap``).  Everything comes with the one
inventory query: the pool listing, the images' reads (each image's group and its
snapshots with their group namespace), one omap read of the group directory and one of
the record.

Capacity without opening every image: the record object ``cinderkit.volumes`` (an omap,
one key per managed volume: ``{"id": librbd's image id, "size": bytes}``) is written after
every change this collection makes to a managed volume (one omap write per batch).  It is
never the ownership: that stays the image's ``ck.kind``.  ``backend_facts`` on an exclusive
pool (Cinder's default) counts a listed image as the record has it when the image id
matches, and opens only the images the record does not explain, so a pool of cinderkit's
volumes costs a fixed number of cluster calls (one listing, one omap read per 1,024
volumes, two mon commands).  Bulk creates and removes run on WRITE_THREADS threads.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import os
import time

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, Conflict, InvalidParameter, NotFound, NotSupported)
from ansible_collections.cinderkit.storage.plugins.module_utils._sizes import gb, human
from ansible_collections.cinderkit.storage.plugins.module_utils._options import (
    cfg, common_opts, require_oslo, target_opts)
from ansible_collections.cinderkit.storage.plugins.module_utils import _copy
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers._ceph import (  # noqa: F401 pylint: disable=unused-import
    HAS_RBD, CephClient, parse_mon_addr, rados, rbd, require_rbd, text)
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers._base import (
    GiB, KEY_KIND, KEY_SRC, KIND_SNAPSHOT, KIND_VOLUME, MiB, Group, GroupSnapshot, Inventory,
    Snapshot, Volume, VolumeDriver, note_half_made, register, source_from_tag, source_tag)

META_KIND = KEY_KIND
META_SRC = KEY_SRC
META_SNAP = 'ck.snap.'
STALE_WATCH_WAIT = 45               # s: > the OSDs' osd_client_watch_timeout (30 s)
CLONE_SNAP = '.clone_snap'          # Cinder's temporary snapshot a clone hangs on
RESERVED_SUFFIXES = (CLONE_SNAP, '.deleted')
MAX_NAME = 250
LIST_THREADS = 8                    # parallel read-only opens of the inventory
WRITE_THREADS = 8                   # parallel creates/removes of a bulk task (bench/rbd_bench.py)
GROUP_RECORD = 'cinderkit.groups'   # omap: group.<name> -> {"id"}, gsnap.<group id>.<name> -> {...}
GROUP_DIRECTORY = 'rbd_group_directory'     # librbd's: name_<name> -> id, id_<id> -> name
OMAP_PAGE = 1024                    # the OSDs' osd_max_omap_entries_per_request (default 1024)
VOLUME_RECORD = 'cinderkit.volumes'  # omap: <image name> -> {"id", "size"} of each managed volume
SNAP_NS_GROUP = 1                   # RBD_SNAP_NAMESPACE_TYPE_GROUP


def rbd_opts():
    """Cinder's RBD_OPTS (names and defaults) plus cinderkit's additions."""
    require_oslo()
    return [
        cfg.StrOpt('rbd_cluster_name', default='ceph', help='The name of ceph cluster'),
        cfg.StrOpt('rbd_pool', default='rbd', help='The RADOS pool where rbd volumes are stored'),
        cfg.StrOpt('rbd_user',
                   help='The RADOS client name for accessing rbd volumes - only set when '
                        'using cephx authentication'),
        cfg.StrOpt('rbd_ceph_conf', default='',
                   help='Path to the ceph configuration file ("": librados searches '
                        '$CEPH_CONF, /etc/ceph/$cluster.conf ...)'),
        cfg.StrOpt('rbd_keyring_conf', default='',
                   help='Path to the ceph keyring file of rbd_user ("": the keyring ceph.conf '
                        'names, else /etc/ceph/$cluster.client.$user.keyring). Its content is '
                        'never returned in connection info.'),
        cfg.BoolOpt('rbd_flatten_volume_from_snapshot', default=False,
                    help='Flatten volumes created from snapshots to remove dependency from '
                         'volume to snapshot'),
        cfg.StrOpt('rbd_secret_uuid',
                   help='The libvirt uuid of the secret for the rbd_user volumes'),
        cfg.IntOpt('rbd_max_clone_depth', default=5, min=0,
                   help='Maximum number of nested volume clones that are taken before a '
                        'flatten occurs. Set to 0 to disable cloning.'),
        cfg.IntOpt('rbd_store_chunk_size', default=4, min=1,
                   help='Volumes will be chunked into objects of this size (in megabytes).'),
        cfg.IntOpt('rados_connect_timeout', default=-1,
                   help='Timeout value (in seconds) used when connecting to ceph cluster. '
                        'If value < 0, no timeout is set and default librados value is used.'),
        cfg.IntOpt('rados_connection_retries', default=3,
                   help='Number of retries if connection to ceph cluster failed. Accepted for '
                        'cinder.conf compatibility; cinderkit connects once per task (use the '
                        "task's retries/until)."),
        cfg.IntOpt('rados_connection_interval', default=5,
                   help='Interval value (in seconds) between connection retries to ceph '
                        'cluster. Accepted for cinder.conf compatibility (see '
                        'rados_connection_retries).'),
        cfg.BoolOpt('report_dynamic_total_capacity', default=True,
                    help='Set to True for driver to report total capacity as a dynamic value '
                         '(used + current free) and to False to report a static value (quota '
                         'max bytes if defined and global size of cluster if not).'),
        cfg.BoolOpt('rbd_exclusive_cinder_pool', default=True,
                    help='Set to False if the pool is shared with other usages. Exclusive: '
                         'provisioned capacity is the sum of the managed volumes; shared: the '
                         'sum of every image in the pool.'),
        # cinderkit additions
        cfg.BoolOpt('rbd_secure_mode', default=False,
                    help='Require messenger v2 secure mode (encrypted traffic) on every '
                         'connection to the cluster, whatever ceph.conf says (sets '
                         'ms_client_mode and ms_mon_client_mode to secure). A ceph.conf with '
                         'ms_client_mode = secure has the same effect (cinderkit).'),
        cfg.BoolOpt('rbd_flatten_on_delete', default=False,
                    help='When clones depend on a volume or snapshot being deleted, flatten '
                         'the clones first (each gets its own copy of the shared data), then '
                         'delete. Default: refuse the delete and name the clones (cinderkit).'),
    ]


def rbd_target_opts():
    """The target options, with no target helper by default.

    RBD volumes are served natively (``driver_volume_type: rbd``).  Setting
    ``target_helper: tgtadm`` exports them instead as iSCSI LUNs through tgt's
    rbd backing store (package tgt-rbd), for hosts without Ceph clients.
    """
    out = []
    for opt in target_opts():
        if opt.name == 'target_helper':
            opt = cfg.StrOpt('target_helper', choices=['tgtadm'],
                             help='Unset (default): volumes are served natively over RBD. '
                                  'tgtadm: export them as iSCSI LUNs through tgt\'s rbd backing '
                                  'store (tgt-rbd), for hosts without Ceph clients (cinderkit).')
        out.append(opt)
    return out


class RBDImage(object):
    """What one read-only open of an image returned."""

    __slots__ = ('name', 'id', 'size', 'features', 'meta', 'snaps', 'parent', 'watchers',
                 'stripe_unit', 'group')

    def __init__(self, name, image_id, size, features, meta, snaps, parent, watchers,
                 stripe_unit, group=None):
        self.name = name
        self.id = image_id
        self.size = size
        self.features = features
        self.meta = meta
        self.snaps = snaps
        self.parent = parent
        self.watchers = watchers
        self.stripe_unit = stripe_unit
        self.group = group          # {'pool': pool id, 'name': group} or None

    @property
    def kind(self):
        return self.meta.get(META_KIND)

    def snap(self, name):
        return next((s for s in self.snaps if s['name'] == name), None)

    def managed_snaps(self):
        return [s for s in self.snaps
                if s.get('namespace', 0) == 0 and self.meta.get(META_SNAP + s['name']) == KIND_SNAPSHOT]


def name_problem(name):
    """Why ``name`` cannot be a volume or snapshot name on RBD, or None."""
    if not isinstance(name, str) or not name:
        return 'must be a non-empty string'
    if len(name) > MAX_NAME:
        return 'is %d characters long; the limit is %d' % (len(name), MAX_NAME)
    if name[0] in '-.':
        return 'must not start with "%s"' % name[0]
    bad = sorted(set(c for c in name if not (c.isascii() and (c.isalnum() or c in '+_.-'))))
    if bad:
        return 'contains %s; use only letters, digits and + _ . -' % ', '.join(repr(c) for c in bad)
    for suffix in RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return 'must not end with %r (used by the RBD driver for clones)' % suffix
    return None


def _snap_group(snap):
    """{'pool', 'name', 'snap'} of a group namespace snapshot of list_snaps, else None."""
    g = snap.get('group')
    if snap.get('namespace', 0) != SNAP_NS_GROUP or not isinstance(g, dict):
        return None
    return dict(pool=g.get('pool'), name=text(g.get('name')), snap=text(g.get('snap_name')))


def group_key(name):
    return 'group.%s' % name


def gsnap_key(group_id, name):
    return 'gsnap.%s.%s' % (group_id, name)


def parse_group_directory(omap):
    """{group name: group id} of librbd's group directory omap (``name_<name>`` -> an
    encoded string: a 32-bit little-endian length, then the id)."""
    out = {}
    for key, value in omap.items():
        if not key.startswith('name_') or not isinstance(value, bytes) or len(value) < 4:
            continue
        n = int.from_bytes(value[:4], 'little')
        if 0 < n <= len(value) - 4:
            out[key[len('name_'):]] = value[4:4 + n].decode('utf-8', 'replace')
    return out


def parse_record(omap):
    """The group record's omap as {key: dict}; a value that is not a JSON object is dropped
    (ownership fails closed)."""
    out = {}
    for key, value in omap.items():
        try:
            rec = json.loads(text(value))
        except (TypeError, ValueError):
            continue
        if isinstance(rec, dict):
            out[key] = rec
    return out


def read_groups(pool_id, directory, record, images):
    """(groups, foreign_groups, member_snaps, foreign_gsnaps) from one inventory's reads.

    ``groups``: name -> (group id, [image names]) of the groups the record names with the
    id librbd has; ``foreign_groups``: name -> [image names] of every other group of the
    pool.  ``member_snaps``: [(image, snap, group, group snapshot, member snapshot name)]
    of the member snapshots of our recorded group snapshots; ``foreign_gsnaps``:
    {group snapshot: group} of the group snapshots of our groups the record does not name.
    """
    members = {}
    for img in images:
        if img.group and img.group['pool'] == pool_id and img.group['name']:
            members.setdefault(img.group['name'], []).append(img.name)
    groups, foreign = {}, {}
    for name, gid in sorted(directory.items()):
        rec = record.get(group_key(name))
        if rec is not None and rec.get('id') == gid:
            groups[name] = (gid, sorted(members.get(name, ())))
        else:
            foreign[name] = sorted(members.get(name, ()))
    member_snaps, foreign_gsnaps = [], {}
    for img in images:
        for s in img.snaps:
            g = s.get('group')
            if s.get('namespace') != SNAP_NS_GROUP or not g or g['pool'] != pool_id:
                continue
            if g['name'] not in groups:
                continue
            rec = record.get(gsnap_key(groups[g['name']][0], g['snap']))
            snaps = rec.get('snapshots') if rec else None
            if isinstance(snaps, dict) and isinstance(snaps.get(img.name), str):
                member_snaps.append((img, s, g['name'], g['snap'], snaps[img.name]))
            else:
                foreign_gsnaps.setdefault(g['snap'], g['name'])
    return groups, foreign, member_snaps, foreign_gsnaps


def qemu_escape(value):
    """Escape ':' and '\\' for qemu's rbd: filename syntax."""
    return str(value).replace('\\', '\\\\').replace(':', '\\:')


@register('rbd', aliases=('cinder.volume.drivers.rbd.RBDDriver', 'RBDDriver'))
class RBDDriver(VolumeDriver):
    """Volumes are RBD images of one pool; snapshots are protected RBD snapshots."""

    VERSION = '1.2.0'
    STORAGE_PROTOCOL = 'ceph'
    # served natively (driver_volume_type: rbd) unless target_helper is set
    native_storage_protocol = STORAGE_PROTOCOL
    object_noun = 'image'
    default_backend_name = 'RBD'
    capabilities = frozenset(('image', 'manage', 'revert', 'online_extend', 'groups'))

    @classmethod
    def get_driver_options(cls):
        return rbd_opts() + common_opts() + rbd_target_opts()

    def __init__(self, config, runner):
        super(RBDDriver, self).__init__(config, runner)
        self.pool = config.rbd_pool
        self.ceph = CephClient(config)      # the task's cluster connection (_ceph.py)
        self._images = None       # name -> RBDImage
        self._inv = None
        self._group_dir = {}      # group name -> librbd group id (the pool's group directory)
        self._group_rec = {}      # the group record (omap key -> dict)
        self._vol_rec = None      # the volume record (image name -> dict), read with the inventory

    # -- names ----------------------------------------------------------------
    def validate_name(self, name, param='name'):
        problem = name_problem(name)
        if problem:
            raise InvalidParameter(param, '%r %s' % (name, problem))

    def qemu_spec(self, name, snap=None):
        """qemu's ``rbd:`` filename for an image (no secret in it: the key stays in the keyring)."""
        c = self.config
        spec = 'rbd:%s/%s' % (qemu_escape(self.pool), qemu_escape(name))
        if snap:
            spec += '@%s' % qemu_escape(snap)
        if c.rbd_user:
            spec += ':id=%s' % qemu_escape(c.rbd_user)
        if c.rbd_ceph_conf:
            spec += ':conf=%s' % qemu_escape(c.rbd_ceph_conf)
        if c.rbd_keyring_conf:
            spec += ':keyring=%s' % qemu_escape(c.rbd_keyring_conf)
        if c.rbd_secure_mode:
            spec += ':ms_client_mode=secure:ms_mon_client_mode=secure'
        return spec

    def local_path(self, name):
        return self.qemu_spec(name)

    # -- connection -----------------------------------------------------------
    def close(self):
        """End the task's cluster connection (the module wrapper calls it last)."""
        self.ceph.close()

    @property
    def ioctx(self):
        return self.ceph.ioctx

    # -- setup ------------------------------------------------------------------
    def check_for_setup_error(self):
        require_rbd()
        for attr in ('rbd_cluster_name', 'rbd_pool'):
            if not self.config.get(attr):
                raise InvalidParameter('backend.%s' % attr, 'must not be empty', 'give a value')
        chunk = self.config.rbd_store_chunk_size
        if chunk & (chunk - 1):
            raise InvalidParameter('backend.rbd_store_chunk_size', '%d is not a power of two' % chunk,
                                   'use 1, 2, 4 (default), 8, 16 or 32 (MiB)')
        self.ceph.connect()

    def order(self):
        return int(math.log(self.config.rbd_store_chunk_size * MiB, 2))

    def features(self):
        """Cinder's RADOSClient.features: rbd_default_features, else layering."""
        raw = self.ceph.conf_get('rbd_default_features')
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = rbd.RBD().features_from_string(raw) if raw else 0
        return value or rbd.RBD_FEATURE_LAYERING

    # -- state ------------------------------------------------------------------
    def _read_image(self, name):
        try:
            with rbd.Image(self.ioctx, name, read_only=True) as im:
                size = im.size()
                meta = dict((text(k), text(v)) for k, v in im.metadata_list() if text(k).startswith('ck.'))
                snaps = [dict(name=text(s['name']), id=s['id'], size=s['size'],
                              namespace=s.get('namespace', 0), group=_snap_group(s))
                         for s in im.list_snaps()]
                try:
                    p = im.get_parent_image_spec()
                    parent = dict(pool=text(p['pool_name']), image=text(p['image_name']),
                                  snap=text(p['snap_name']))
                except rbd.ImageNotFound:
                    parent = None
                watchers = [dict(addr=text(w['addr']), id=w['id']) for w in im.watchers_list()]
                g = im.group()
                group = (dict(pool=g['pool'], name=text(g['name']))
                         if g and g.get('pool', -1) >= 0 else None)
                return RBDImage(name, text(im.id()), size, im.features(), meta, snaps, parent,
                                watchers, im.stripe_unit(), group)
        except rbd.ImageNotFound:
            return None

    def _load(self, refresh=False):
        if self._images is None or refresh:
            self.ceph.connect()
            try:
                names = sorted(text(e['name']) for e in rbd.RBD().list2(self.ceph.ioctx))
            except rbd.Error as exc:
                raise CinderkitError('cannot list images of pool %r as %s: %s' % (self.pool, self.ceph.who(), exc))
            images = dict((img.name, img) for img in self._read_images(names))
            self._images = images
            self._read_group_objects()
            self._vol_rec = parse_record(self._omap(VOLUME_RECORD))
            self._inv = None
        return self._images

    def _read_images(self, names):
        """[RBDImage] of the images ``names`` that exist (read-only opens, in parallel)."""
        if not names:
            return []
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=min(LIST_THREADS, len(names))) as ex:
            return [img for img in ex.map(self._read_image, names) if img is not None]

    def _omap(self, obj):
        """Every omap key/value of ``obj`` (pages of OMAP_PAGE), {} when it does not exist."""
        out, start = {}, ''
        while True:
            try:
                with rados.ReadOpCtx() as op:
                    it, _ret = self.ioctx.get_omap_vals(op, start, '', OMAP_PAGE)
                    self.ioctx.operate_read_op(op, obj)
                    batch = [(text(k), v) for k, v in it]
            except rados.ObjectNotFound:
                return out
            except rados.Error as exc:
                raise CinderkitError('cannot read %s/%s as %s: %s' % (self.pool, obj, self.ceph.who(), exc))
            out.update(batch)
            if len(batch) < OMAP_PAGE:
                return out
            start = batch[-1][0]

    def _read_group_objects(self):
        self._group_dir = parse_group_directory(self._omap(GROUP_DIRECTORY))
        self._group_rec = parse_record(self._omap(GROUP_RECORD))

    def _refresh_groups(self, *names):
        """After a group write: the group directory, the record and the images ``names``."""
        self._read_group_objects()
        if names:
            self.refresh(*names)
        self._inv = None

    def refresh(self, *names):
        """Re-read ``names`` only (or everything when none are given)."""
        if not names or self._images is None:
            self._load(refresh=True)
            return
        for n in names:
            img = self._read_image(n)
            if img is None:
                self._images.pop(n, None)
            else:
                self._images[n] = img
        self._inv = None
        self._note_volumes(names)

    def _note_volumes(self, names):
        """Bring the volume record in line with ``self._images`` for ``names`` (after a
        write): one omap write op, none when the record already says so."""
        if self._vol_rec is None:
            self._vol_rec = parse_record(self._omap(VOLUME_RECORD))
        keys, values, gone = [], [], []
        for n in sorted(set(names)):
            img = self._images.get(n)
            want = dict(id=img.id, size=img.size) if img is not None and img.kind == KIND_VOLUME else None
            have = self._vol_rec.get(n)
            if want is not None and want != have:
                keys.append(n)
                values.append(json.dumps(want, sort_keys=True).encode())
            elif want is None and have is not None:
                gone.append(n)
        if not keys and not gone:
            return

        def do():
            with rados.WriteOpCtx() as op:
                if keys:
                    self.ioctx.set_omap(op, tuple(keys), tuple(values))
                if gone:
                    self.ioctx.remove_omap_keys(op, tuple(gone))
                self.ioctx.operate_write_op(op, VOLUME_RECORD)
        self._op('recording %d volume(s) in %s/%s' % (len(keys) + len(gone), self.pool, VOLUME_RECORD), do)
        for n, v in zip(keys, values):
            self._vol_rec[n] = json.loads(v)
        for n in gone:
            self._vol_rec.pop(n, None)

    def managed_capacity(self):
        """(managed bytes, managed volumes) of the pool in a fixed number of cluster calls:
        one listing (names and ids), the volume record; only images the record does not
        explain (made before the record existed, or not ours) are opened."""
        if self._images is not None:
            space = self.get_inventory().space
            return space['managed_bytes'], len(self.get_inventory().volumes)
        self.ceph.connect()
        try:
            listed = dict((text(e['name']), text(e['id'])) for e in rbd.RBD().list2(self.ceph.ioctx))
        except rbd.Error as exc:
            raise CinderkitError('cannot list images of pool %r as %s: %s' % (self.pool, self.ceph.who(), exc))
        record = parse_record(self._omap(VOLUME_RECORD))
        total, count, unknown = 0, 0, []
        for name, image_id in listed.items():
            rec = record.get(name)
            if rec is not None and rec.get('id') == image_id and isinstance(rec.get('size'), int):
                total += rec['size']
                count += 1
            else:
                unknown.append(name)
        for img in self._read_images(sorted(unknown)):
            if img.kind == KIND_VOLUME:
                total += img.size
                count += 1
        return total, count

    def image(self, name):
        return self._load().get(name)

    def get_inventory(self, refresh=False):
        images = self._load(refresh)
        if self._inv is not None:
            return self._inv
        volumes, snapshots, unmanaged, internal = {}, {}, {}, {}
        for img in images.values():
            if img.kind == KIND_VOLUME:
                volumes[img.name] = self._volume_record(img, managed=True)
            else:
                unmanaged[img.name] = self._volume_record(img, managed=False)
        groups, foreign, member_snaps, foreign_gsnaps = read_groups(
            self.ioctx.get_pool_id(), self._group_dir, self._group_rec,
            sorted(images.values(), key=lambda i: i.name))
        members = set()
        for img, s, _group, gsnap, snap_name in member_snaps:
            if img.name in volumes and snap_name not in snapshots:
                members.add((img.name, s['id']))
                snapshots[snap_name] = self._snapshot_record(img, s, snap_name, managed=True,
                                                             group_snapshot=gsnap)
                volumes[img.name].snapshots.append(snap_name)
        for img in images.values():
            managed_vol = img.kind == KIND_VOLUME
            for s in img.snaps:
                key = '%s@%s' % (img.name, s['name'])
                if (img.name, s['id']) in members:
                    continue
                if s['name'].endswith(CLONE_SNAP) or s.get('namespace', 0) != 0:
                    internal[key] = dict(image=img.name, snapshot=s['name'], size_bytes=s['size'],
                                         kind='clone_snap' if s['name'].endswith(CLONE_SNAP)
                                         else 'namespace %s' % s.get('namespace'))
                elif managed_vol and img.meta.get(META_SNAP + s['name']) == KIND_SNAPSHOT:
                    name = s['name'] if s['name'] not in snapshots else key
                    snapshots[name] = self._snapshot_record(img, s, name, managed=True)
                    volumes[img.name].snapshots.append(name)
                else:
                    unmanaged[key] = self._snapshot_record(img, s, key, managed=False)
        space = dict(pool=self.pool, images=len(images),
                     provisioned_bytes=sum(i.size for i in images.values()),
                     managed_bytes=sum(v.size_bytes for v in volumes.values()))
        inv = Inventory(volumes, snapshots, unmanaged, internal, space)
        for name, (gid, imgs) in groups.items():
            others = [i for i in imgs if i not in volumes]
            inv.groups[name] = Group(name, [i for i in imgs if i in volumes],
                                     extra=dict(rbd_pool=self.pool, rbd_group_id=gid,
                                                other_images=others))
        for name, imgs in foreign.items():
            inv.foreign_groups[name] = Group(name, imgs, extra=dict(rbd_pool=self.pool))
        for snap in snapshots.values():
            gsnap = snap.extra.get('group_snapshot')
            if gsnap:
                gs = inv.group_snapshots.get(gsnap)
                if gs is None:
                    gs = inv.group_snapshots[gsnap] = GroupSnapshot(
                        gsnap, self._group_of_snap(member_snaps, gsnap))
                gs.snapshots[snap.volume] = snap.name
        for gsnap, group in sorted(foreign_gsnaps.items()):
            if gsnap not in inv.group_snapshots:
                inv.group_snapshots[gsnap] = GroupSnapshot(gsnap, group, extra=dict(foreign=True))
        self._inv = inv
        return inv

    @staticmethod
    def _group_of_snap(member_snaps, gsnap):
        return next(m[2] for m in member_snaps if m[3] == gsnap)

    def _volume_record(self, img, managed):
        parent = img.parent
        return Volume(img.name, img.size, thin=True, path='rbd:%s/%s' % (self.pool, img.name),
                      provider_location='%s/%s' % (self.pool, img.name),
                      source=source_from_tag(img.meta.get(META_SRC)) if managed else None,
                      managed=managed, in_use=bool(img.watchers),
                      extra=dict(rbd_pool=self.pool, rbd_image_id=img.id,
                                 parent='%s/%s@%s' % (parent['pool'], parent['image'], parent['snap'])
                                 if parent else None,
                                 clone_depth=self.clone_depth(img.name),
                                 watchers=len(img.watchers),
                                 rbd_group=img.group['name'] if img.group else None))

    def _snapshot_record(self, img, snap, name, managed, group_snapshot=None):
        extra = dict(rbd_pool=self.pool, rbd_image=img.name, rbd_snapshot=snap['name'],
                     rbd_snap_id=snap['id'])
        path = 'rbd:%s/%s@%s' % (self.pool, img.name, snap['name'])
        if group_snapshot:
            # librbd opens a group namespace snapshot by id only: no rbd: path names it
            extra.update(group_snapshot=group_snapshot, rbd_snap_namespace='group')
            path = None
        return Snapshot(name, img.name, snap['size'], thin=True, path=path,
                        managed=managed, in_use=False, extra=extra)

    def clone_depth(self, name):
        """Number of ancestors of an image (parents in other pools count as one)."""
        depth = 0
        seen = set()
        img = self._load().get(name)
        while img is not None and img.parent is not None and img.name not in seen:
            seen.add(img.name)
            depth += 1
            if img.parent['pool'] != self.pool:
                break
            img = self._images.get(img.parent['image'])
        return depth

    def children(self, image_name, snap_name):
        """[(pool, image)] of the clones of image@snap (one read-only open)."""
        try:
            with rbd.Image(self.ioctx, image_name, read_only=True) as im:
                im.set_snap(snap_name)
                kids = [(text(k['pool']), text(k['image'])) for k in im.list_children2()
                        if not k.get('trash')]
                im.set_snap(None)
                return kids
        except rbd.ImageNotFound:
            return []

    def dependents(self, image_name):
        """{snap: [(pool, image)]} for every snapshot of an image that has clones."""
        img = self.image(image_name)
        out = {}
        for s in (img.snaps if img else ()):
            if s.get('namespace', 0) != 0:
                continue
            kids = self.children(image_name, s['name'])
            if kids:
                out[s['name']] = kids
        return out

    # -- sizing / planning hooks ---------------------------------------------
    def round_size(self, size_bytes):
        """RBD sizes are bytes; cinderkit keeps whole MiB."""
        return int(math.ceil(size_bytes / float(MiB))) * MiB

    def pool_capacity(self):
        """(free_bytes, total_bytes, df) as Cinder's _get_pool_stats computes them."""
        df = self.ceph.mon_command({'prefix': 'df', 'format': 'json'}, 'the cluster usage')
        quota = self.ceph.mon_command({'prefix': 'osd pool get-quota', 'pool': self.pool,
                                       'format': 'json'}, 'the pool quota')
        pool = next((p for p in df['pools'] if p['name'] == self.pool), None)
        if pool is None:
            raise NotFound('pool %r is not in the cluster usage report' % self.pool)
        stats = pool['stats']
        bytes_quota = quota.get('quota_max_bytes') or 0
        if bytes_quota:
            total = bytes_quota
            free = max(min(total - stats['bytes_used'], stats['max_avail']), 0)
        else:
            total = df['stats']['total_bytes']
            free = stats['max_avail']
        if self.config.report_dynamic_total_capacity:
            total = free + stats['bytes_used']
        return free, total, df

    def provisioned_bytes(self):
        """Exclusive pool: the managed volumes (Cinder's allocated); shared: every image."""
        space = self.get_inventory().space
        return space['managed_bytes'] if self.config.rbd_exclusive_cinder_pool else space['provisioned_bytes']

    def over_subscription_ratio(self):
        r = self.config.max_over_subscription_ratio
        return None if r == 'auto' else float(r)

    def check_space(self, specs, kind=None, extra_thick_bytes=0, freed_bytes=0):
        """Cinder's capacity filter for thin backends, before any change."""
        need = sum(self.round_size(s.size_bytes) for s in specs)
        self._check_thin(need, '%d new volume(s)' % len(specs))

    def _check_thin(self, need, what):
        ratio = self.over_subscription_ratio()
        if not need or ratio is None:
            return
        free, total = self.pool_capacity()[:2]
        reserved = total * self.config.reserved_percentage / 100.0
        provisioned = self.provisioned_bytes()
        usable = total - reserved
        if usable <= 0 or (provisioned + need) / float(usable) > ratio:
            raise Conflict(
                'pool %r would be over-subscribed: %s provisioned + %s for %s > %s x %.1f '
                '(max_over_subscription_ratio, %d%% reserved). Nothing was changed; raise the '
                'ratio, add capacity or ask for less'
                % (self.pool, human(provisioned), human(need), what, human(usable), ratio,
                   self.config.reserved_percentage))
        if need > (free - reserved) * ratio:
            raise Conflict('pool %r has %s free (x %.1f over-subscription); %s needs %s. Nothing '
                           'was changed' % (self.pool, human(free), ratio, what, human(need)))

    def check_extend(self, vol, new_size_bytes):
        self._check_thin(new_size_bytes - vol.size_bytes, 'growing %s' % vol.name)

    def check_delete(self, vol):
        """Generic hook: why ``vol`` cannot be deleted now (raised before any change)."""
        img = self.image(vol.name)
        if img is None:
            return
        if img.watchers:
            raise Conflict('volume %s is in use (%d watcher(s): %s); detach it and remove its export '
                           'first' % (vol.name, len(img.watchers),
                                      ', '.join(w['addr'] for w in img.watchers)))
        inv = self.get_inventory()
        if img.group and img.group['name'] in inv.foreign_groups:
            raise Conflict('volume %s is in group %s, which cinderkit did not make; remove it from '
                           'that group first' % (vol.name, img.group['name']))
        gsnaps = sorted(set(s['group']['snap'] for s in img.snaps if s.get('group')))
        if gsnaps:
            raise Conflict('volume %s has member snapshots of group snapshot(s) %s; delete those '
                           'group snapshots first (cinderkit.storage.group_snapshot state=absent)'
                           % (vol.name, ', '.join(gsnaps)))
        others = [s['name'] for s in img.snaps if s.get('namespace', 0) == 0
                  and not s['name'].endswith(CLONE_SNAP) and s['name'] not in
                  [m['name'] for m in img.managed_snaps()]]
        if others:
            raise Conflict('volume %s has snapshots cinderkit does not manage (%s); remove or adopt '
                           'them first' % (vol.name, ', '.join(others)))
        deps = dict((k, v) for k, v in self.dependents(vol.name).items() if k.endswith(CLONE_SNAP))
        if deps and not self.config.rbd_flatten_on_delete:
            clones = sorted('%s/%s' % kid for kids in deps.values() for kid in kids)
            raise Conflict('volume %s has %d dependent clone(s) (%s); delete them first, or set the '
                           'backend option rbd_flatten_on_delete: true to flatten them and delete'
                           % (vol.name, len(clones), ', '.join(clones)))

    def check_delete_snapshot(self, snap):
        """Generic hook: why snapshot ``snap`` cannot be deleted now."""
        if snap.extra.get('group_snapshot'):
            return      # librbd clones from no group namespace snapshot: nothing depends on it
        kids = self.children(snap.volume, snap.extra.get('rbd_snapshot', snap.name))
        if kids and not self.config.rbd_flatten_on_delete:
            raise Conflict('snapshot %s has %d dependent volume(s) (%s); delete them first, or set '
                           'the backend option rbd_flatten_on_delete: true to flatten them and delete'
                           % (snap.name, len(kids), ', '.join('%s/%s' % k for k in sorted(kids))))

    # -- helpers ------------------------------------------------------------------
    def _op(self, what, fn, *args, **kwargs):
        """Run a librbd write; turn its errors into one clear CinderkitError.  A call that
        returned is noted as a write (a later failure of the task then says changed: true)."""
        try:
            out = fn(*args, **kwargs)
            self.runner.note_write(what)
            return out
        except rbd.ImageBusy as exc:
            raise Conflict('%s: the image is busy (in use or has clones): %s' % (what, exc))
        except rbd.ImageExists as exc:
            raise Conflict('%s: it already exists: %s' % (what, exc))
        except (rbd.Error, rados.Error) as exc:
            raise CinderkitError('%s failed: %s: %s' % (what, type(exc).__name__, exc))

    def _set_meta(self, name, kind, source=None):
        """Make ``name`` exactly a managed volume: drop inherited ck.* keys, set ours."""
        def do():
            with rbd.Image(self.ioctx, name) as im:
                for k, _v in list(im.metadata_list()):
                    if text(k).startswith('ck.'):
                        im.metadata_remove(k)
                im.metadata_set(META_KIND, kind)
                st = source_tag(source)
                if st:
                    k, v = st.split('=', 1)
                    im.metadata_set(k, v)
        self._op('marking %s/%s as managed' % (self.pool, name), do)

    def _remove_half_made(self, name, exc, refresh=True):
        """Remove the image a failed copy left.  A copy stopped by force (a timeout) leaves
        its watch behind until the OSDs time it out (osd_client_watch_timeout, 30 s): the
        image is busy until then, and nobody else knows the half-made image exists."""
        failure = None
        deadline = time.time() + STALE_WATCH_WAIT
        while True:
            try:
                rbd.RBD().remove(self.ioctx, name)
                break
            except rbd.ImageNotFound:
                break
            except rbd.ImageBusy as err:
                if time.time() >= deadline:
                    failure = 'still busy after %d s: %s' % (STALE_WATCH_WAIT, err)
                    break
                time.sleep(1)
            except rbd.Error as err:
                failure = '%s: %s' % (type(err).__name__, err)
                break
        if refresh:         # a worker of a bulk create leaves it to the batch
            self.refresh(name)
        note_half_made(exc, name, failure)

    def _resize(self, name, size_bytes):
        def do():
            with rbd.Image(self.ioctx, name) as im:
                if im.size() < size_bytes:
                    im.resize(size_bytes)
        self._op('resizing %s/%s' % (self.pool, name), do)

    def _flatten(self, name):
        def do():
            with rbd.Image(self.ioctx, name) as im:
                im.flatten()
        self._op('flattening %s/%s' % (self.pool, name), do)

    def _drop_snap(self, image_name, snap_name, unprotect=True):
        def do():
            with rbd.Image(self.ioctx, image_name) as im:
                if unprotect and im.is_protected_snap(snap_name):
                    im.unprotect_snap(snap_name)
                im.remove_snap(snap_name)
        self._op('removing snapshot %s/%s@%s' % (self.pool, image_name, snap_name), do)

    # -- volumes --------------------------------------------------------------------
    def create_volume(self, spec):
        self.create_volumes([spec])

    def create_volumes(self, specs):
        """Every spec on WRITE_THREADS threads: create, then mark it ours in the same open
        that reads back its id; no re-read.  One record write for the batch.  A failure
        leaves the others made (each half-made image removed) and says which failed."""
        if not specs:
            return
        self.ceph.connect()
        order, features = self.order(), self.features()
        self._load()
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=min(WRITE_THREADS, len(specs))) as ex:
            made = list(ex.map(lambda s: self._create_one(s, order, features), specs))
        failed = []
        for s, (img, err) in zip(specs, made):
            if img is not None:
                self._images[s.name] = img
            else:
                self._images.pop(s.name, None)
                failed.append((s.name, err))
        self._inv = None
        self._note_volumes([s.name for s in specs])
        if failed:
            raise CinderkitError('could not create %d of %d volume(s): %s'
                                 % (len(failed), len(specs), '; '.join('%s: %s' % f for f in failed[:20])),
                                 failed=[f[0] for f in failed])

    def _create_one(self, spec, order, features):
        """(RBDImage, None) of one new managed image, or (None, why it is not there)."""
        name = spec.name
        try:
            self._op('creating %s/%s' % (self.pool, name), rbd.RBD().create, self.ceph.ioctx, name,
                     self.round_size(spec.size_bytes), order=order, old_format=False, features=features)
        except CinderkitError as exc:
            return None, exc.msg
        meta = {META_KIND: KIND_VOLUME}
        st = source_tag(spec.source)
        if st:
            meta.update([st.split('=', 1)])

        def mark():
            with rbd.Image(self.ioctx, name) as im:      # a new image: no inherited ck.* keys
                for k in sorted(meta):
                    im.metadata_set(k, meta[k])
                return RBDImage(name, text(im.id()), im.size(), im.features(), meta, [], None, [],
                                im.stripe_unit())
        try:
            return self._op('marking %s/%s as managed' % (self.pool, name), mark), None
        except CinderkitError as exc:
            self._remove_half_made(name, exc, refresh=False)
            return None, exc.msg

    def delete_volume(self, name):
        self.delete_volumes([name])

    def delete_volumes(self, names):
        """Every check first; then the plain images (no snapshot, parent or group: nothing
        but the image to remove) on WRITE_THREADS threads, the others one by one.  librbd's
        remove itself refuses an image that got a watcher since the plan (ImageBusy)."""
        inv = self.get_inventory()
        names = [n for n in names if n in inv.volumes]
        for n in names:
            self.check_delete(inv.volumes[n])
        plain = [n for n in names if self._plain(self._images[n])]
        failed = []
        if plain:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(max_workers=min(WRITE_THREADS, len(plain))) as ex:
                for n, err in zip(plain, ex.map(self._remove_one, plain)):
                    if err is None:
                        self._images.pop(n, None)
                    else:
                        failed.append((n, err))
            self._inv = None
            self._note_volumes([n for n in plain if n not in self._images])
        for n in names:
            if n not in plain:
                self._delete_one(n)
        if failed:
            raise CinderkitError('could not delete %d of %d volume(s): %s'
                                 % (len(failed), len(names), '; '.join('%s: %s' % f for f in failed[:20])),
                                 failed=[f[0] for f in failed])

    @staticmethod
    def _plain(img):
        return not img.snaps and img.parent is None and img.group is None

    def _remove_one(self, name):
        """None once ``name`` is gone, else why not."""
        try:
            self._op('deleting %s/%s' % (self.pool, name), rbd.RBD().remove, self.ioctx, name)
        except CinderkitError as exc:
            if 'ImageNotFound' in exc.msg:
                return None
            return exc.msg
        return None

    def _delete_one(self, name):
        img = self.image(name)
        if img is None:
            return
        # clones hanging on this volume: flatten them (check_delete refused unless asked)
        for snap, kids in sorted(self.dependents(name).items()):
            for pool, child in kids:
                if pool != self.pool:
                    raise Conflict('volume %s has a clone in another pool (%s/%s); cinderkit does not '
                                   'flatten across pools. Flatten or delete it first' % (name, pool, child))
                self._flatten(child)
        for s in img.snaps:
            if s.get('namespace', 0) == 0:
                self._drop_snap(name, s['name'])
        if img.group and img.group['name'] in self.get_inventory().groups:
            # librbd removes no image of a group: leave our group first
            self._group_call('removing %s from group %s' % (name, img.group['name']),
                             img.group['name'], 'remove_image', self.ioctx, name)
        self._op('deleting %s/%s' % (self.pool, name), rbd.RBD().remove, self.ioctx, name)
        parent = img.parent
        self.refresh(name)
        # a Cinder-style clone: drop the parent's temporary <name>.clone_snap once unused
        if parent and parent['pool'] == self.pool and parent['snap'] == name + CLONE_SNAP:
            if not self.children(parent['image'], parent['snap']):
                self._drop_snap(parent['image'], parent['snap'])
            self.refresh(parent['image'])
        for other in list(self._images.values()):
            if other.parent and other.parent['image'] == name:
                self.refresh(other.name)

    # -- snapshots -------------------------------------------------------------------
    def create_snapshot(self, name, volume_name):
        def do():
            with rbd.Image(self.ioctx, volume_name) as im:
                im.create_snap(name)
                try:
                    im.protect_snap(name)
                    im.metadata_set(META_SNAP + name, KIND_SNAPSHOT)
                except BaseException:
                    try:
                        if im.is_protected_snap(name):
                            im.unprotect_snap(name)
                        im.remove_snap(name)
                    except rbd.Error:
                        pass
                    raise
        self._op('creating snapshot %s/%s@%s' % (self.pool, volume_name, name), do)
        self.refresh(volume_name)

    def delete_snapshot(self, name):
        inv = self.get_inventory()
        snap = inv.snapshots.get(name)
        if snap is None:
            return
        self.check_delete_snapshot(snap)
        image_name, snap_name = snap.volume, snap.extra['rbd_snapshot']
        for pool, child in self.children(image_name, snap_name):
            if pool != self.pool:
                raise Conflict('snapshot %s has a clone in another pool (%s/%s); flatten or delete it '
                               'first' % (name, pool, child))
            self._flatten(child)
            self.refresh(child)
        self._drop_snap(image_name, snap_name)

        def forget():
            with rbd.Image(self.ioctx, image_name) as im:
                im.metadata_remove(META_SNAP + snap_name)
        self._op('forgetting snapshot %s' % name, forget)
        self.refresh(image_name)

    def check_revert(self, snap):
        if snap.extra.get('group_snapshot'):
            raise Conflict('snapshot %s is a member of group snapshot %s: librbd rolls a group '
                           'snapshot back as a whole only; revert the group snapshot '
                           '(cinderkit.storage.group_snapshot name=%s state=reverted); nothing '
                           'was changed' % (snap.name, snap.extra['group_snapshot'],
                                            snap.extra['group_snapshot']))

    def revert_to_snapshot(self, volume_name, snapshot_name):
        """Roll the image back (librbd shrinks it to the snapshot's size), then grow it back."""
        inv = self.get_inventory()
        vol = inv.volumes[volume_name]
        snap = inv.snapshots[snapshot_name]
        self.check_revert(snap)

        def do():
            with rbd.Image(self.ioctx, volume_name) as im:
                im.rollback_to_snap(snap.extra['rbd_snapshot'])
                if im.size() < vol.size_bytes:
                    im.resize(vol.size_bytes)
        self._op('reverting %s/%s to %s' % (self.pool, volume_name, snapshot_name), do)
        self.refresh(volume_name)

    # -- groups (capability 'groups') ------------------------------------------------------
    def in_use_holder(self, vol):
        img = self.image(vol.name)
        if img is None or not img.watchers:
            return None
        return 'watched by %s' % ', '.join('%s (client.%s)' % (w['addr'], w['id'])
                                           for w in img.watchers)

    def _group_call(self, what, name, method, *args):
        def do():
            with rbd.Group(self.ioctx, name) as g:
                return getattr(g, method)(*args)
        return self._op(what, do)

    def _record_set(self, key, value):
        def do():
            with rados.WriteOpCtx() as op:
                self.ioctx.set_omap(op, (key,), (json.dumps(value, sort_keys=True).encode(),))
                self.ioctx.operate_write_op(op, GROUP_RECORD)
        self._op('recording %s in %s/%s' % (key, self.pool, GROUP_RECORD), do)

    def _record_forget(self, *keys):
        def do():
            with rados.WriteOpCtx() as op:
                self.ioctx.remove_omap_keys(op, tuple(keys))
                self.ioctx.operate_write_op(op, GROUP_RECORD)
        try:
            self._op('forgetting %s in %s/%s' % (', '.join(keys), self.pool, GROUP_RECORD), do)
        except CinderkitError as exc:
            if 'ObjectNotFound' not in exc.msg:
                raise

    def create_group(self, name, volumes=()):
        """librbd's group_create, then the record with the id librbd gave the group."""
        self._op('creating group %s/%s' % (self.pool, name), rbd.RBD().group_create, self.ioctx, name)
        self._read_group_objects()
        gid = self._group_dir.get(name)
        if gid is None:
            raise CinderkitError('group %s/%s was created but is not in the group directory; it is '
                                 'left as a group cinderkit does not own' % (self.pool, name),
                                 changed=True)
        self._record_set(group_key(name), dict(id=gid))
        self._refresh_groups()
        if volumes:
            self.add_group_members(name, volumes)

    def delete_group(self, name):
        """librbd's group_remove (the images stay, out of the group), then the record."""
        group = self.get_inventory().groups.get(name)
        if group is None:
            return
        self._op('removing group %s/%s' % (self.pool, name), rbd.RBD().group_remove, self.ioctx, name)
        self._record_forget(group_key(name))
        self._refresh_groups(*group.volumes)

    def add_group_members(self, name, volumes):
        for vol in sorted(volumes):
            self._group_call('adding %s to group %s' % (vol, name), name, 'add_image', self.ioctx, vol)
        self._refresh_groups(*volumes)

    def remove_group_members(self, name, volumes):
        for vol in sorted(volumes):
            self._group_call('removing %s from group %s' % (vol, name), name, 'remove_image',
                             self.ioctx, vol)
        self._refresh_groups(*volumes)

    def check_group_snapshot(self, group, members, export_holder=None):
        """Before any change: librbd snapshots every image of the group, so every one must
        be a member volume; a member that is written to (watched) must have the
        exclusive-lock feature, which is how librbd holds its writes off during the cut."""
        inv = self.get_inventory()
        rec = inv.groups.get(group.name)
        others = rec.extra.get('other_images') if rec is not None else None
        if others:
            raise Conflict('group %s also holds image(s) %s that cinderkit does not manage; librbd '
                           'would snapshot them too: remove them from the group first; nothing was '
                           'changed' % (group.name, ', '.join(others)))
        unlocked = []
        for vol in sorted(members):
            img = self.image(vol)
            if img.watchers and not img.features & rbd.RBD_FEATURE_EXCLUSIVE_LOCK:
                unlocked.append('%s (%s)' % (vol, self.in_use_holder(inv.volumes[vol])))
        if unlocked:
            raise Conflict('member volume(s) %s are in use and lack the exclusive-lock feature: '
                           'librbd cannot hold their writes off, so the group snapshot would not be '
                           'crash-consistent. Stop the writers, or enable exclusive-lock on those '
                           'images; nothing was changed' % ', '.join(unlocked))

    def create_group_snapshot(self, name, group, members):
        """The record first (a task that dies half-way still finds its snapshot), then
        librbd's group snapshot: quiesce, every member's exclusive lock, one snapshot per
        member, release.  A failure removes the record again; librbd undoes its own part."""
        inv = self.get_inventory()
        gid = inv.groups[group].extra['rbd_group_id']
        self.check_group_snapshot(inv.groups[group], members)
        key = gsnap_key(gid, name)
        self._record_set(key, dict(group=group, snapshots=dict(members)))
        try:
            self._group_call('creating group snapshot %s of group %s/%s' % (name, self.pool, group),
                             group, 'create_snap', name)
        except CinderkitError as exc:
            try:
                self._record_forget(key)
                exc.msg = '%s; group snapshot %s was not made (librbd removes the member snapshots ' \
                          'of a failed group snapshot)' % (exc.msg, name)
            except CinderkitError as err:
                exc.msg = '%s; the record of group snapshot %s could not be removed: %s' % (
                    exc.msg, name, err.msg)
            self._refresh_groups(*members)
            raise
        self._refresh_groups(*members)

    def delete_group_snapshot(self, name):
        gs = self.get_inventory().group_snapshots.get(name)
        if gs is None or gs.extra.get('foreign'):
            return
        gid = self.get_inventory().groups[gs.group].extra['rbd_group_id']
        self._group_call('removing group snapshot %s of group %s/%s' % (name, self.pool, gs.group),
                         gs.group, 'remove_snap', name)
        self._record_forget(gsnap_key(gid, name))
        self._refresh_groups(*gs.snapshots)

    def revert_group_snapshot(self, name):
        """librbd's Group.rollback_to_snap (every member, each shrunk to its snapshot's size),
        then every member grows back to the size it had (as a single revert does)."""
        inv = self.get_inventory()
        gs = inv.group_snapshots[name]
        sizes = dict((v, inv.volumes[v].size_bytes) for v in gs.snapshots)
        self._group_call('rolling group %s/%s back to group snapshot %s' % (self.pool, gs.group, name),
                         gs.group, 'rollback_to_snap', name)
        for vol in sorted(sizes):
            self._resize(vol, sizes[vol])
        self._refresh_groups(*gs.snapshots)

    # -- clones --------------------------------------------------------------------------
    def _clone_from(self, spec, src_image, src_snap, src_size, flatten):
        """Child of src_image@src_snap (protected); flatten when asked or past the depth limit."""
        self.ceph.connect()
        depth = self.clone_depth(src_image) + 1
        too_deep = depth > self.config.rbd_max_clone_depth
        stripe = max(self.config.rbd_store_chunk_size * MiB, self.image(src_image).stripe_unit)
        self._op('cloning %s/%s@%s to %s' % (self.pool, src_image, src_snap, spec.name),
                 rbd.RBD().clone, self.ceph.ioctx, src_image, src_snap, self.ceph.ioctx, spec.name,
                 features=self.features(), order=int(math.log(stripe, 2)))
        try:
            self._set_meta(spec.name, KIND_VOLUME, spec.source)
            if flatten or too_deep:
                self._flatten(spec.name)
            if spec.size_bytes > src_size:
                self._resize(spec.name, self.round_size(spec.size_bytes))
        except BaseException as exc:
            self._remove_half_made(spec.name, exc)
            raise
        self.refresh(spec.name, src_image)
        return bool(flatten or too_deep)

    def create_volume_from_snapshot(self, spec, snapshot_name):
        inv = self.get_inventory()
        snap = inv.snapshots[snapshot_name]
        if snap.extra.get('group_snapshot'):
            self._copy_snap_by_id(spec, snap)
            return
        self._clone_from(spec, snap.volume, snap.extra['rbd_snapshot'], snap.size_bytes,
                         self.config.rbd_flatten_volume_from_snapshot)

    def create_cloned_volume(self, spec, src_volume_name):
        inv = self.get_inventory()
        src = inv.volumes[src_volume_name]
        clone_snap = spec.name + CLONE_SNAP

        def snap():
            with rbd.Image(self.ioctx, src_volume_name) as im:
                im.create_snap(clone_snap)
                im.protect_snap(clone_snap)
        self._op('snapshotting %s/%s for a clone' % (self.pool, src_volume_name), snap)
        try:
            if self.config.rbd_max_clone_depth <= 0:
                self._full_copy(spec, src_volume_name, clone_snap, src.size_bytes)
                flattened = True
            else:
                flattened = self._clone_from(spec, src_volume_name, clone_snap, src.size_bytes, False)
        except BaseException:
            self._drop_snap(src_volume_name, clone_snap)
            self.refresh(src_volume_name)
            raise
        if flattened:
            self._drop_snap(src_volume_name, clone_snap)
        self.refresh(spec.name, src_volume_name)

    def _copy_snap_by_id(self, spec, snap):
        """A member snapshot of a group snapshot: librbd 16.2 clones no group namespace
        snapshot (clone takes a user snapshot's name), so the volume is a full sparse copy
        of the snapshot opened by its id (librbd copies allocated objects only)."""
        def do():
            with rbd.Image(self.ioctx, snap.volume, read_only=True) as im:
                im.set_snap_by_id(snap.extra['rbd_snap_id'])
                im.copy(self.ceph.ioctx, spec.name, features=self.features(), order=self.order())
        self._op('copying member snapshot %s (%s/%s, snapshot id %s) to %s'
                 % (snap.name, self.pool, snap.volume, snap.extra['rbd_snap_id'], spec.name), do)
        try:
            self._set_meta(spec.name, KIND_VOLUME, spec.source)
            if spec.size_bytes > snap.size_bytes:
                self._resize(spec.name, self.round_size(spec.size_bytes))
        except BaseException as exc:
            self._remove_half_made(spec.name, exc)
            raise
        self.refresh(spec.name)

    def _full_copy(self, spec, src_image, src_snap, src_size):
        """rbd_max_clone_depth = 0: a full copy (librbd copies allocated objects only)."""
        def do():
            with rbd.Image(self.ioctx, src_image, snapshot=src_snap, read_only=True) as im:
                im.copy(self.ceph.ioctx, spec.name, features=self.features(), order=self.order())
        self._op('copying %s/%s@%s to %s' % (self.pool, src_image, src_snap, spec.name), do)
        try:
            self._set_meta(spec.name, KIND_VOLUME, spec.source)
            if spec.size_bytes > src_size:
                self._resize(spec.name, self.round_size(spec.size_bytes))
        except BaseException as exc:
            self._remove_half_made(spec.name, exc)
            raise

    # -- extend ------------------------------------------------------------------------
    def extend_volume(self, name, new_size_bytes):
        """RBD images grow online (watchers see the new size)."""
        self._resize(name, new_size_bytes)
        self.refresh(name)
        return True

    # -- images ------------------------------------------------------------------------
    def copy_image_to_volume(self, spec, image):
        self.check_space([spec])
        self.create_volumes([spec])
        try:
            _copy.image_to_device(self.runner, image, self.qemu_spec(spec.name), target_is_zero=True,
                                  timeout=self.copy_timeout)
        except BaseException as exc:
            self._remove_half_made(spec.name, exc)
            raise
        self.refresh(spec.name)

    def copy_volume_to_image(self, name, image):
        return _copy.device_to_image(self.runner, self.qemu_spec(name), image,
                                     timeout=self.copy_timeout)

    # -- manage --------------------------------------------------------------------------
    def _ref_name(self, existing_ref, what='image'):
        if isinstance(existing_ref, dict):
            if 'source-name' not in existing_ref:
                raise InvalidParameter('source_name', 'reference %r has no source-name element'
                                       % (existing_ref,), "use {'source-name': NAME}")
            existing_ref = existing_ref['source-name']
        if not isinstance(existing_ref, str) or not existing_ref:
            raise InvalidParameter('source_name', 'reference must be an RBD %s name' % what,
                                   "use {'source-name': NAME}")
        return existing_ref

    def manage_existing_get_size(self, existing_ref):
        name = self._ref_name(existing_ref)
        img = self.image(name)
        if img is None:
            raise NotFound("parameter 'source_name': image %r does not exist in pool %r" % (name, self.pool))
        return int(math.ceil(img.size / float(GiB)))

    def manage_existing(self, name, existing_ref, rename=True):
        src = self._ref_name(existing_ref)
        img = self.image(src)
        if img is None:
            raise NotFound("image %r does not exist in pool %r" % (src, self.pool))
        target = src
        if rename and name != src:
            self._op('renaming %s/%s to %s' % (self.pool, src, name), rbd.RBD().rename, self.ioctx, src, name)
            target = name
            self.refresh(src)

        def do():
            with rbd.Image(self.ioctx, target) as im:
                im.metadata_set(META_KIND, KIND_VOLUME)
        self._op('marking %s/%s as managed' % (self.pool, target), do)
        self.refresh(target)

    def _find_snapshot(self, existing_ref):
        ref = self._ref_name(existing_ref, 'snapshot')
        if '@' in ref:
            image_name, snap_name = ref.split('@', 1)
            img = self.image(image_name)
            if img is None or img.snap(snap_name) is None:
                raise NotFound("parameter 'source_name': snapshot %s not found in pool %r" % (ref, self.pool))
            return img, snap_name
        hits = [(img, ref) for img in self._load().values() if img.snap(ref) is not None]
        if not hits:
            raise NotFound("parameter 'source_name': no image in pool %r has a snapshot %r" % (self.pool, ref))
        if len(hits) > 1:
            raise InvalidParameter('source_name', 'snapshot name %r is ambiguous (images %s)'
                                   % (ref, ', '.join(h[0].name for h in hits)), "use 'IMAGE@SNAPSHOT'")
        return hits[0]

    def manage_existing_snapshot_get_size(self, existing_ref):
        img, snap_name = self._find_snapshot(existing_ref)
        return int(math.ceil(img.snap(snap_name)['size'] / float(GiB)))

    def manage_existing_snapshot(self, name, existing_ref, rename=True):
        img, snap_name = self._find_snapshot(existing_ref)
        if img.kind != KIND_VOLUME:
            raise Conflict('snapshot %s@%s belongs to image %s, which cinderkit does not manage; '
                           'adopt the image first' % (img.name, snap_name, img.name))
        target = name if rename else snap_name

        def do():
            with rbd.Image(self.ioctx, img.name) as im:
                if target != snap_name:
                    im.rename_snap(snap_name, target)
                if not im.is_protected_snap(target):
                    im.protect_snap(target)
                im.metadata_set(META_SNAP + target, KIND_SNAPSHOT)
        self._op('adopting snapshot %s@%s' % (img.name, snap_name), do)
        self.refresh(img.name)

    def unmanage(self, name):
        img = self.image(name)
        if img is None:
            return

        def do():
            with rbd.Image(self.ioctx, name) as im:
                for key in (META_KIND, META_SRC):
                    if key in img.meta:
                        im.metadata_remove(key)
        self._op('unmanaging %s/%s' % (self.pool, name), do)
        self.refresh(name)

    def unmanage_snapshot(self, name):
        snap = self.get_inventory().snapshots.get(name)
        if snap is None:
            return
        image_name, snap_name = snap.volume, snap.extra['rbd_snapshot']
        kids = self.children(image_name, snap_name)

        def do():
            with rbd.Image(self.ioctx, image_name) as im:
                im.metadata_remove(META_SNAP + snap_name)
                if not kids and im.is_protected_snap(snap_name):
                    im.unprotect_snap(snap_name)
        self._op('unmanaging snapshot %s' % name, do)
        self.refresh(image_name)

    def manageable_entries(self, want_snapshots, exported=()):
        entries = []
        for img in sorted(self._load().values(), key=lambda i: i.name):
            if not want_snapshots:
                entry = {'reference': {'source-name': img.name},
                         'size': int(math.ceil(img.size / float(GiB))),
                         'cinder_id': None, 'extra_info': None}
                if img.kind == KIND_VOLUME:
                    entry.update(safe_to_manage=False, reason_not_safe='already managed', cinder_id=img.name)
                elif img.watchers:
                    entry.update(safe_to_manage=False, reason_not_safe='volume in use')
                elif img.name in exported:
                    entry.update(safe_to_manage=False, reason_not_safe='exported')
                else:
                    entry.update(safe_to_manage=True, reason_not_safe=None)
                entries.append(entry)
                continue
            for s in img.snaps:
                entry = {'reference': {'source-name': s['name']},
                         'size': int(math.ceil(s['size'] / float(GiB))),
                         'cinder_id': None, 'extra_info': None, 'safe_to_manage': False,
                         'reason_not_safe': None, 'source_reference': {'source-name': img.name}}
                if img.kind == KIND_VOLUME and img.meta.get(META_SNAP + s['name']) == KIND_SNAPSHOT:
                    entry.update(reason_not_safe='already managed', cinder_id=s['name'])
                elif s['name'].endswith(CLONE_SNAP):
                    entry['reason_not_safe'] = 'used for clone snap'
                elif s['name'].startswith('backup') and '.snap.' in s['name']:
                    entry['reason_not_safe'] = 'used for volume backup'
                elif s.get('namespace', 0) != 0:
                    entry['reason_not_safe'] = 'not a user snapshot'
                else:
                    entry['safe_to_manage'] = True
                entries.append(entry)
        return entries

    # -- connections --------------------------------------------------------------------
    def connection_info(self, name, connector=None):
        """Cinder's RBD connection info for os-brick's RBD connector and libvirt."""
        hosts, ports = self.ceph.mon_addrs()
        user = self.config.rbd_user
        return {
            'driver_volume_type': 'rbd',
            'data': {
                'name': '%s/%s' % (self.pool, name),
                'hosts': hosts,
                'ports': ports,
                'cluster_name': self.config.rbd_cluster_name,
                'auth_enabled': user is not None,
                'auth_username': user,
                'secret_type': 'ceph',
                'secret_uuid': self.config.rbd_secret_uuid,
                'volume_id': name,
                'discard': True,
            },
        }

    def target_backing(self, name):
        """How a userspace target opens the image: tgt's ``rbd`` backing store.

        tgt reads only ``conf=``, ``id=`` and ``cluster=``: what cinderkit sets on top of
        ceph.conf (rbd_secure_mode, rbd_keyring_conf) cannot reach it, so an export that
        would silently lose them is refused.
        """
        from ansible_collections.cinderkit.storage.plugins.module_utils._backing import Backing
        c = self.config
        require_rbd()
        if c.rbd_secure_mode and self.ceph.conf_file_value('ms_client_mode') != 'secure':
            raise InvalidParameter(
                'backend.rbd_secure_mode', "tgt's rbd backing store reads only %s, which does not "
                'set ms_client_mode = secure: the export would reach the cluster unencrypted'
                % (c.rbd_ceph_conf or 'the default ceph.conf'),
                'set ms_client_mode = secure (and ms_mon_client_mode = secure) in that ceph.conf')
        if c.rbd_keyring_conf:
            found = [k.strip() for k in self.ceph.conf_file_value('keyring').split(',')]
            if os.path.abspath(c.rbd_keyring_conf) not in [os.path.abspath(k) for k in found if k]:
                raise InvalidParameter(
                    'backend.rbd_keyring_conf', "tgt's rbd backing store reads only %s, which does "
                    'not name the keyring %s' % (c.rbd_ceph_conf or 'the default ceph.conf',
                                                 c.rbd_keyring_conf),
                    'name it there ([client.%s] keyring = %s) or leave rbd_keyring_conf unset'
                    % (c.rbd_user or 'admin', c.rbd_keyring_conf))
        opts = []
        if c.rbd_ceph_conf:
            opts.append('conf=%s' % c.rbd_ceph_conf)
        if c.rbd_user:
            opts.append('id=%s' % c.rbd_user)
        if c.rbd_cluster_name and c.rbd_cluster_name != 'ceph':
            opts.append('cluster=%s' % c.rbd_cluster_name)
        return Backing('rbd', '%s/%s' % (self.pool, name), ';'.join(opts) or None)

    def snapshot_backing(self, name):
        """tgt's ``rbd`` backing store on ``pool/image@snap`` (librbd opens a snapshot
        read-only), exported read-only."""
        snap = self.get_inventory().snapshots[name]
        if snap.extra.get('group_snapshot'):
            raise NotSupported('snapshot %s is a member of group snapshot %s, which librbd opens by '
                               'id only (tgt opens pool/image@name): export a volume made from it '
                               '(volume source: {snapshot: %s})' % (name, snap.extra['group_snapshot'],
                                                                    name))
        b = self.target_backing(snap.volume)
        b.path = '%s@%s' % (b.path, snap.extra['rbd_snapshot'])
        b.read_only = True
        return b

    # -- stats ---------------------------------------------------------------------------
    def get_volume_stats(self, refresh=False):
        c = self.config
        location_info = '%s:%s:%s:%s:%s' % (c.rbd_cluster_name, c.rbd_ceph_conf, self.ceph.fsid(),
                                            c.rbd_user, c.rbd_pool)
        state, total, free = 'down', 'unknown', 'unknown'
        try:
            free_b, total_b = self.pool_capacity()[:2]
            free, total, state = gb(free_b), gb(total_b), 'up'
        except CinderkitError:
            pass
        if refresh:
            self._images = None
        if not c.rbd_exclusive_cinder_pool:
            self._load()            # every image's size: the whole inventory
        managed_bytes, total_volumes = self.managed_capacity()
        if c.rbd_exclusive_cinder_pool:
            provisioned = gb(managed_bytes)
        else:   # Cinder's _get_usage_info: every image (each opened, as Cinder does), whole GiB
            provisioned = int(math.ceil(self.get_inventory().space['provisioned_bytes'] / float(GiB)))
        common = dict(
            total_capacity_gb=total,
            free_capacity_gb=free,
            reserved_percentage=c.reserved_percentage,
            multiattach=False,
            thin_provisioning_support=True,
            max_over_subscription_ratio=c.max_over_subscription_ratio,
            location_info=location_info,
            backend_state=state,
            provisioned_capacity_gb=provisioned,
        )
        pool = dict(common, pool_name=self.backend_name, QoS_support=False,
                    thick_provisioning_support=False, total_volumes=total_volumes,
                    filter_function=c.filter_function, goodness_function=c.goodness_function)
        stats = dict(common,
                     volume_backend_name=self.backend_name,
                     vendor_name=self.vendor_name,
                     driver_version=self.VERSION,
                     storage_protocol=self.STORAGE_PROTOCOL,
                     replication_enabled=False,
                     pools=[pool],
                     sparse_copy_volume=True,
                     online_extend_support=True,
                     rbd_pool=self.pool,
                     rbd_cluster_fsid=self.ceph.fsid(),
                     secure_mode=self.ceph.secure_mode())
        return stats

    def vendor_properties(self):
        return {
            'cinderkit:rbd_flatten_volume_from_snapshot': dict(
                title='Flatten volumes from snapshots',
                description='Volumes created from snapshots are flattened (independent).',
                type='boolean', default=self.config.rbd_flatten_volume_from_snapshot),
            'cinderkit:rbd_max_clone_depth': dict(
                title='Maximum clone depth', description='Clone chains longer than this are flattened.',
                type='integer', minimum=0, default=self.config.rbd_max_clone_depth),
        }
