# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The driver interface, its records and the driver registry.

The interface is the small core of Cinder's volume driver: create/delete
volume, create/delete snapshot, volume from snapshot, clone, extend and
stats are required.  Optional capabilities (image copies, manage/unmanage,
revert, online extend) are *declared* by a driver in ``capabilities``; a
driver that does not declare one simply does not have it, and callers ask
``driver.supports(name)`` instead of catching NotImplementedError.

Hooks the planners call, each a method of ``VolumeDriver`` with a neutral
default (a driver overrides what its backend needs; nobody probes with getattr):

* ``round_size(size_bytes)``: what the backend allocates for a size (default: as asked).
* ``new_volume_kind()``: how a new volume is provisioned, the ``kind`` that
  ``check_space`` takes (default ``'default'``; LVM: ``default`` or ``thin``).
* ``check_space(specs, kind, extra_thick_bytes=0, freed_bytes=0)``,
  ``check_extend(volume, new_size_bytes)``: raise before any change when the backend
  cannot hold the request (default: no check).
* ``check_delete(volume)``, ``check_delete_snapshot(snapshot)``: raise (Conflict)
  before any change when the volume/snapshot cannot be deleted now (in use,
  clones depending on it ...).  The planners collect these with the other problems.
* ``check_revert(snapshot)``: raise (Conflict) before any change when the volume cannot
  be reverted to ``snapshot`` alone (RBD: a member of a group snapshot); default: no check.
* ``snapshot_storage_name(name)`` / ``snapshot_name_of(storage_name)``: the name a
  snapshot has on the backend, and back (default: the same; LVM escapes names it
  reserves).  ``storage_name(record)``: the backend name of an inventory record.
* ``snapshot_unchanged(snapshot)``: True when nothing was written to the volume
  since the snapshot was taken, so a revert has nothing to do (default: False).
* ``connection_info(name, connector)``: the connection info an initiator needs
  when the driver serves volumes itself (``native_storage_protocol`` set; Cinder's
  ``initialize_connection`` for drivers without a target helper, e.g. RBD).
* ``target_backing(name)``: the ``Backing`` a target helper exports (default: the
  device or file at ``local_path(name)``; RBD: tgt's ``rbd`` backing store).
* ``snapshot_backing(name)``: the read-only ``Backing`` a target helper exports for a
  snapshot (Cinder's create_export_snapshot; default: NotSupported).
  ``activate_snapshot(name, check=False)``: make that backing's device exist (LVM thin
  snapshots skip activation: ``lvchange -ay -K``); True when it did (``check``: would);
  default: nothing to do.
* ``close()``: end the task's backend session (the module wrapper calls it last).
* ``check_group_snapshot(group, members, export_holder=None)``: raise before any change
  when a crash-consistent snapshot of ``group`` cannot be taken now (space for every
  member, members that cannot be frozen); default: no check.
* ``in_use_holder(volume)``: who holds an in-use volume open, for refusal messages
  (default None; RBD: its watchers' addresses).

Capability ``groups`` (Cinder's generic volume groups): the inventory carries
``groups`` (name -> ``Group``) and ``group_snapshots`` (name -> ``GroupSnapshot``),
read in the same one backend query; the member snapshots of a group snapshot are
ordinary ``Snapshot`` records whose ``extra['group_snapshot']`` names it.  A group on the
backend that this collection did not make is in ``foreign_groups`` (the planners refuse
to change it or take its volumes); a group snapshot it did not make carries
``extra['foreign']`` (never deleted or reverted to).

Drivers register with ``@register('name', aliases=(...))``.  The compliance
test (tests/unit/.../test_compliance.py, ``make compliance``) walks the
registry and fails on any required or declared method left unimplemented.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, InvalidParameter, NotSupported)

GiB = 1024 ** 3
MiB = 1024 ** 2

REQUIRED_METHODS = (
    'check_for_setup_error',
    'get_inventory',
    'get_volume_stats',
    'create_volume',
    'delete_volume',
    'create_snapshot',
    'delete_snapshot',
    'create_volume_from_snapshot',
    'create_cloned_volume',
    'extend_volume',
    'local_path',
)

# capability name -> methods a driver declaring it must implement
CAPABILITIES = {
    'image': ('copy_image_to_volume', 'copy_volume_to_image'),
    'manage': ('manage_existing', 'manage_existing_get_size', 'unmanage',
               'manageable_entries', 'manage_existing_snapshot',
               'manage_existing_snapshot_get_size', 'unmanage_snapshot'),
    'revert': ('revert_to_snapshot',),
    'online_extend': (),
    'multiattach': (),
    # snapshots take their own size (``create_snapshot(..., cow_bytes=N)``: a CoW area)
    'snapshot_cow_size': (),
    # generic volume groups and crash-consistent group snapshots (Cinder's create_group ...)
    'groups': ('create_group', 'delete_group', 'add_group_members', 'remove_group_members',
               'create_group_snapshot', 'delete_group_snapshot', 'revert_group_snapshot'),
}

_REGISTRY = {}
_ALIASES = {}

# the ownership keys every driver records on what it makes (LV tags, RBD image metadata)
KEY_KIND = 'ck.kind'
KEY_SRC = 'ck.src'
KIND_VOLUME = 'volume'
KIND_SNAPSHOT = 'snapshot'


def source_tag(source):
    """``ck.src=...``: where a volume came from, as drivers record it (an LV tag, an RBD
    metadata key/value); images are recorded by a digest of their location."""
    if not source:
        return None
    if source.get('snapshot'):
        return '%s=snapshot:%s' % (KEY_SRC, source['snapshot'])
    if source.get('volume'):
        return '%s=volume:%s' % (KEY_SRC, source['volume'])
    if source.get('image'):
        digest = hashlib.sha1(source['image'].encode('utf-8')).hexdigest()[:16]
        return '%s=image:%s' % (KEY_SRC, digest)
    return None


def source_from_tag(value):
    """The source dict of a recorded ``kind:ref`` value (the part after ``ck.src=``)."""
    if not value or ':' not in value:
        return None
    kind, ref = value.split(':', 1)
    if kind == 'image':
        return {'image_digest': ref}
    return {kind: ref}


def note_half_made(exc, name, failure=None):
    """Say in ``exc`` what became of the half-made volume ``name`` after a failed copy:
    removed, or left (``failure``: why the removal failed), never a claim that is not true."""
    if not isinstance(exc, CinderkitError):
        return
    if failure is None:
        exc.msg = '%s; the half-made volume %s was removed' % (exc.msg, name)
    else:
        exc.msg = ('%s; the half-made volume %s could not be removed (%s): delete it '
                   '(state: absent) once nothing holds it' % (exc.msg, name, failure))


def register(name, aliases=()):
    """Class decorator: make a driver available under ``name``."""
    def deco(cls):
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError('driver %s registered twice' % name)
        cls.name = name
        cls.aliases = tuple(aliases)
        _REGISTRY[name] = cls
        for alias in aliases:
            _ALIASES[alias] = name
        return cls
    return deco


def registered_drivers():
    return dict(_REGISTRY)


def get_driver_class(name, param='backend.volume_driver'):
    key = _ALIASES.get(name, name)
    try:
        return _REGISTRY[key]
    except KeyError:
        known = sorted(_REGISTRY) + sorted(_ALIASES)
        raise InvalidParameter(param, 'unknown volume driver %r' % (name,),
                               'use one of: %s' % ', '.join(known))


class Volume(object):
    """A volume as the backend has it."""

    __slots__ = ('name', 'size_bytes', 'thin', 'path', 'provider_location', 'source',
                 'managed', 'in_use', 'snapshots', 'extra')

    def __init__(self, name, size_bytes, thin=False, path=None, provider_location=None,
                 source=None, managed=True, in_use=False, snapshots=(), extra=None):
        self.name = name
        self.size_bytes = int(size_bytes)
        self.thin = bool(thin)
        self.path = path
        self.provider_location = provider_location
        self.source = source
        self.managed = managed
        self.in_use = in_use
        self.snapshots = list(snapshots)
        self.extra = dict(extra or {})

    @property
    def size_gb(self):
        return round(self.size_bytes / float(GiB), 3)

    def to_result(self):
        res = dict(name=self.name, size_gb=self.size_gb, size_bytes=self.size_bytes,
                   provisioning='thin' if self.thin else 'thick', path=self.path,
                   provider_location=self.provider_location, source=self.source,
                   managed=self.managed, in_use=self.in_use, snapshots=sorted(self.snapshots))
        res.update(self.extra)
        return res


class Snapshot(object):
    """A snapshot as the backend has it."""

    __slots__ = ('name', 'volume', 'size_bytes', 'thin', 'path', 'managed', 'in_use', 'extra')

    def __init__(self, name, volume, size_bytes, thin=False, path=None, managed=True,
                 in_use=False, extra=None):
        self.name = name
        self.volume = volume
        self.size_bytes = int(size_bytes)
        self.thin = bool(thin)
        self.path = path
        self.managed = managed
        self.in_use = in_use
        self.extra = dict(extra or {})

    @property
    def size_gb(self):
        return round(self.size_bytes / float(GiB), 3)

    def to_result(self):
        res = dict(name=self.name, volume=self.volume, size_gb=self.size_gb,
                   size_bytes=self.size_bytes, provisioning='thin' if self.thin else 'thick',
                   path=self.path, managed=self.managed, in_use=self.in_use)
        res.update(self.extra)
        return res


class Group(object):
    """A volume group (Cinder's generic group): a name and its member volumes."""

    __slots__ = ('name', 'volumes', 'extra')

    def __init__(self, name, volumes=(), extra=None):
        self.name = name
        self.volumes = sorted(volumes)
        self.extra = dict(extra or {})

    def to_result(self):
        res = dict(name=self.name, volumes=list(self.volumes))
        res.update(self.extra)
        return res


class GroupSnapshot(object):
    """A crash-consistent snapshot of a group: one member snapshot per volume."""

    __slots__ = ('name', 'group', 'snapshots', 'extra')

    def __init__(self, name, group, snapshots=None, extra=None):
        self.name = name
        self.group = group
        self.snapshots = dict(snapshots or {})     # volume name -> snapshot name
        self.extra = dict(extra or {})

    def to_result(self):
        res = dict(name=self.name, group=self.group, snapshots=dict(self.snapshots))
        res.update(self.extra)
        return res


class Inventory(object):
    """Everything one backend query returned, for one task."""

    def __init__(self, volumes=None, snapshots=None, unmanaged=None, internal=None, space=None,
                 groups=None, group_snapshots=None, foreign_groups=None):
        self.volumes = volumes or {}        # name -> Volume (managed by this collection)
        self.snapshots = snapshots or {}    # name -> Snapshot (managed)
        self.unmanaged = unmanaged or {}    # name -> Volume|Snapshot not (yet) managed
        self.internal = internal or {}      # name -> dict (thin pools, hidden LVs ...)
        self._space = space                 # dict, or a callable that returns it when first needed
        self.groups = groups or {}          # name -> Group (capability 'groups')
        self.group_snapshots = group_snapshots or {}    # name -> GroupSnapshot
        self.foreign_groups = foreign_groups or {}      # name -> Group not made by cinderkit

    def group_of(self, volume):
        """The name of the group ``volume`` belongs to, or None (one group at most)."""
        return next((g.name for g in self.groups.values() if volume in g.volumes), None)

    @property
    def space(self):
        """Driver-specific capacity facts (computed on first use)."""
        if callable(self._space):
            self._space = self._space()
        if self._space is None:
            self._space = {}
        return self._space

    def taken(self, name):
        return (name in self.volumes or name in self.snapshots or name in self.unmanaged
                or name in self.internal)

    def snapshots_of(self, volume):
        return sorted(s.name for s in self.snapshots.values() if s.volume == volume)


class VolumeSpec(object):
    """What a caller wants created."""

    __slots__ = ('name', 'size_bytes', 'source', 'tags')

    def __init__(self, name, size_bytes, source=None, tags=()):
        self.name = name
        self.size_bytes = int(size_bytes)
        self.source = source
        self.tags = tuple(tags)


class VolumeDriver(object):
    """Base class.  Construction is cheap and runs no command."""

    name = None
    aliases = ()
    capabilities = frozenset()
    vendor_name = 'Open Source'
    VERSION = '0.0.0'

    def __init__(self, config, runner):
        self.config = config
        self.runner = runner

    # -- registry / options ------------------------------------------------
    @classmethod
    def get_driver_options(cls):
        raise NotImplementedError

    def close(self):
        """End the task's backend session (connections); the module wrapper calls it."""
        return None

    def supports(self, capability):
        return capability in self.capabilities

    def require(self, capability, what):
        if capability not in self.capabilities:
            raise NotSupported('%s is not supported by the %s driver' % (what, self.name))

    @property
    def backend_name(self):
        return self.config.get('volume_backend_name') or self.default_backend_name

    default_backend_name = 'backend'

    @property
    def copy_timeout(self):
        """Seconds one copy may take (the backend's ``copy_timeout``), None for no limit."""
        return int(self.config.get('copy_timeout') or 0) or None

    def validate_name(self, name, param='name'):
        """Raise InvalidParameter for names this backend cannot hold."""
        raise NotImplementedError

    # -- hooks the planners call (neutral defaults; see the module docstring) -----
    # the protocol the driver serves its volumes with itself (Cinder's storage_protocol,
    # e.g. 'ceph'), or None when a target helper must export them
    native_storage_protocol = None
    # what one stored object of this backend is called in messages
    object_noun = 'object'

    def round_size(self, size_bytes):
        return size_bytes

    def new_volume_kind(self):
        return 'default'

    def check_space(self, specs, kind='default', extra_thick_bytes=0, freed_bytes=0):
        return None

    def check_extend(self, vol, new_size_bytes):
        return None

    def check_delete(self, vol):
        return None

    def check_delete_snapshot(self, snap):
        return None

    def check_revert(self, snap):
        return None

    def snapshot_storage_name(self, name):
        return name

    def snapshot_name_of(self, storage_name):
        return storage_name

    def storage_name(self, record):
        return record.name

    def snapshot_unchanged(self, snap):
        return False

    def check_group_snapshot(self, group, members, export_holder=None):
        return None

    def in_use_holder(self, vol):
        return None

    def connection_info(self, name, connector=None):
        raise NotSupported('the %s driver does not serve volumes itself; set the backend '
                           'option target_helper' % self.name)

    def target_backing(self, name):
        from ansible_collections.cinderkit.storage.plugins.module_utils._backing import Backing
        return Backing.from_path(self.local_path(name))

    # -- snapshot exports (hooks of the export planner) -----------------------------------
    def snapshot_backing(self, name):
        raise NotSupported('exporting a snapshot is not supported by the %s driver' % self.name)

    def activate_snapshot(self, name, check=False):
        return False

    # -- manage (capability 'manage'): the listing, paginated once for every driver ---------
    def manageable_entries(self, want_snapshots, exported=()):
        """[entry] of everything of one kind on the backend, each listed once: Cinder's
        manageable entry (``reference``, ``size``, ``safe_to_manage``, ``reason_not_safe``,
        ``cinder_id``, ``extra_info``, and for snapshots ``source_reference``)."""
        raise NotImplementedError

    def get_manageable_volumes(self, marker=None, limit=None, offset=None, sort_keys=None,
                               sort_dirs=None, exported=()):
        from ansible_collections.cinderkit.storage.plugins.module_utils._paginate import paginate
        return paginate(self.manageable_entries(False, exported), marker, limit, offset,
                        sort_keys, sort_dirs)

    def get_manageable_snapshots(self, marker=None, limit=None, offset=None, sort_keys=None,
                                 sort_dirs=None, exported=()):
        from ansible_collections.cinderkit.storage.plugins.module_utils._paginate import paginate
        return paginate(self.manageable_entries(True, exported), marker, limit, offset,
                        sort_keys, sort_dirs)

    # -- capabilities (Cinder's init_capabilities) ----------------------------
    vendor_prefix = 'cinderkit'

    def vendor_properties(self):
        """Vendor unique properties; keys start with ``vendor_prefix + ':'``."""
        return {}

    def init_capabilities(self, stats=None):
        caps = dict(stats if stats is not None else self.get_volume_stats())
        props = {}
        for key, title, desc in (
                ('thin_provisioning', 'Thin Provisioning', 'Sets thin provisioning.'),
                ('compression', 'Compression', 'Enables compression.'),
                ('qos', 'QoS', 'Enables QoS.'),
                ('replication_enabled', 'Replication', 'Enables replication.')):
            props[key] = dict(title=title, description=desc, type='boolean')
        vendor = dict((k, v) for k, v in self.vendor_properties().items()
                      if k.startswith(self.vendor_prefix + ':'))
        if vendor:
            caps['vendor_prefix'] = self.vendor_prefix
            props.update(vendor)
        caps['properties'] = props
        return caps

    # -- bulk helpers with per-item defaults ---------------------------------
    def create_volumes(self, specs):
        for spec in specs:
            self.create_volume(spec)

    def delete_volumes(self, names):
        for name in names:
            self.delete_volume(name)

    # -- required ----------------------------------------------------------
    def check_for_setup_error(self):
        raise NotImplementedError

    def get_inventory(self, refresh=False):
        raise NotImplementedError

    def get_volume_stats(self, refresh=False):
        raise NotImplementedError

    def create_volume(self, spec):
        raise NotImplementedError

    def delete_volume(self, name):
        raise NotImplementedError

    def create_snapshot(self, name, volume_name):
        raise NotImplementedError

    def delete_snapshot(self, name):
        raise NotImplementedError

    def create_volume_from_snapshot(self, spec, snapshot_name):
        raise NotImplementedError

    def create_cloned_volume(self, spec, src_volume_name):
        raise NotImplementedError

    def extend_volume(self, name, new_size_bytes):
        """Grow a volume; return True when it was done online."""
        raise NotImplementedError

    def local_path(self, name):
        raise NotImplementedError

    # -- optional: declared through ``capabilities`` ------------------------
    def copy_image_to_volume(self, spec, image):
        raise NotImplementedError

    def copy_volume_to_image(self, name, image):
        raise NotImplementedError

    def manage_existing(self, name, existing_ref, rename=True):
        raise NotImplementedError

    def manage_existing_get_size(self, existing_ref):
        raise NotImplementedError

    def unmanage(self, name):
        raise NotImplementedError

    def manage_existing_snapshot(self, name, existing_ref, rename=True):
        raise NotImplementedError

    def manage_existing_snapshot_get_size(self, existing_ref):
        raise NotImplementedError

    def unmanage_snapshot(self, name):
        raise NotImplementedError

    def revert_to_snapshot(self, volume_name, snapshot_name):
        raise NotImplementedError

    # capability 'groups'
    def create_group(self, name, volumes=()):
        """Record group ``name`` with member volumes ``volumes`` (none: an empty group)."""
        raise NotImplementedError

    def delete_group(self, name):
        """Drop the group record and the membership; the volumes stay."""
        raise NotImplementedError

    def add_group_members(self, name, volumes):
        raise NotImplementedError

    def remove_group_members(self, name, volumes):
        raise NotImplementedError

    def create_group_snapshot(self, name, group, members):
        """One crash-consistent snapshot of every member: ``members`` maps each volume
        of ``group`` to its snapshot's name.  All of them or none."""
        raise NotImplementedError

    def delete_group_snapshot(self, name):
        raise NotImplementedError

    def revert_group_snapshot(self, name):
        """Revert every member volume to its snapshot in group snapshot ``name``."""
        raise NotImplementedError


def unimplemented(cls):
    """Methods ``cls`` must implement (required + declared) but does not."""
    missing = []
    wanted = list(REQUIRED_METHODS) + ['get_driver_options', 'validate_name']
    for cap in cls.capabilities:
        if cap not in CAPABILITIES:
            missing.append('unknown capability %r' % cap)
            continue
        wanted.extend(CAPABILITIES[cap])
    for meth in wanted:
        owner = next((k for k in cls.__mro__ if meth in k.__dict__), None)
        if owner is None or owner is VolumeDriver or owner is object:
            missing.append(meth)
    return missing
