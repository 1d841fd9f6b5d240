# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and apply snapshot changes: create, delete, revert."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.module_utils._converge import Task
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    Conflict, InvalidParameter, NotFound)
from ansible_collections.cinderkit.storage.plugins.module_utils._sizes import parse_size


class SnapshotPlan(object):
    def __init__(self, name, volume, state, cow_bytes=None, force=False):
        self.name = name
        self.volume = volume
        self.state = state
        self.cow_bytes = cow_bytes
        self.force = force
        self.action = 'none'   # create | delete | revert | none
        self.before = None


def plan_snapshot(driver, params, exported=None, export_holder=None):
    """Decide what to do; raise before any change on bad input.

    ``exported``: callable(volume_name) -> bool, True when the volume is
    exported by a target helper (revert is refused then unless ``force``).
    ``export_holder``: callable(name) -> description of the export holding a
    volume or snapshot, or None; an exported snapshot is never deleted or
    merged, ``force`` or not.
    """
    name, volume, state = params['name'], params.get('volume'), params['state']
    cow = params.get('cow_size')
    p = SnapshotPlan(name, volume, state, parse_size(cow, 'cow_size') if cow is not None else None,
                     bool(params.get('force')))
    driver.validate_name(driver.snapshot_storage_name(name), 'name')
    if p.cow_bytes is not None and state == 'present' and not driver.supports('snapshot_cow_size'):
        raise InvalidParameter('cow_size', "snapshots of the %s driver have no size of their own"
                               % driver.name, 'leave cow_size out')
    inv = driver.get_inventory()
    snap = inv.snapshots.get(name)
    p.before = snap
    if state == 'absent':
        if snap is not None:
            if volume and snap.volume != volume:
                raise InvalidParameter('volume', 'snapshot %s belongs to volume %s, not %s'
                                       % (name, snap.volume, volume),
                                       'name the right volume or leave volume out to delete it')
            _refuse_exported_snapshot(driver, snap, export_holder, 'deleting')
            gsnap = snap.extra.get('group_snapshot')
            if gsnap:
                raise Conflict('snapshot %s is a member of group snapshot %s; deleting it alone '
                               'would leave that group snapshot incomplete: delete the group '
                               'snapshot (cinderkit.storage.group_snapshot name=%s state=absent); '
                               'nothing was changed' % (name, gsnap, gsnap))
            driver.check_delete_snapshot(snap)
            p.action = 'delete'
        return p
    if not volume and snap is not None:
        p.volume = volume = snap.volume
    if not volume:
        raise InvalidParameter('volume', 'required with state=%s' % state,
                               'name the volume the snapshot belongs to')
    vol = inv.volumes.get(volume)
    if state == 'present':
        if snap is not None:
            if snap.volume != volume:
                raise InvalidParameter('name', 'snapshot %s already exists for volume %s, not %s'
                                       % (name, snap.volume, volume),
                                       'choose another snapshot name')
            return p
        if vol is None:
            raise NotFound("parameter 'volume': volume %r not found%s; create it first or fix the name"
                           % (volume, ' (it exists but is not managed by cinderkit)'
                              if volume in inv.unmanaged else ''))
        stored = driver.snapshot_storage_name(name)
        if inv.taken(name) or (stored != name and inv.taken(stored)):
            raise InvalidParameter('name', 'the name %s is taken by another volume or %s'
                                   % (name, driver.object_noun),
                                   'choose another snapshot name')
        p.action = 'create'
        return p
    # reverted
    driver.require('revert', 'reverting a volume to a snapshot')
    if snap is None:
        raise NotFound("parameter 'name': snapshot %r not found; nothing to revert to" % name)
    if snap.volume != volume:
        raise InvalidParameter('volume', 'snapshot %s is a snapshot of volume %s, not of %s'
                               % (name, snap.volume, volume),
                               'revert %s to one of its own snapshots' % volume)
    if vol is None:
        raise NotFound("parameter 'volume': volume %r not found" % volume)
    _refuse_exported_snapshot(driver, snap, export_holder, 'reverting to')
    driver.check_revert(snap)          # at plan time: check mode refuses what the run would
    if not p.force:
        if exported is not None and exported(volume):
            raise Conflict('volume %s is exported; reverting it under an initiator corrupts what the '
                           'initiator caches. Remove the export first, or set force: true' % volume)
        if vol.in_use:
            who = driver.in_use_holder(vol)
            raise Conflict('volume %s is open (in use%s); detach it first, or set force: true'
                           % (volume, ': %s' % who if who else ''))
    p.action = 'none' if driver.snapshot_unchanged(snap) else 'revert'
    return p


def _refuse_exported_snapshot(driver, snap, export_holder, doing):
    if export_holder is None:
        return
    holder = export_holder(snap.name) or export_holder(driver.storage_name(snap))
    if holder:
        raise Conflict('snapshot %s is exported (%s); %s it would change what its initiators read: '
                       'remove that export first; nothing was changed' % (snap.name, holder, doing))


refuse_exported_snapshot = _refuse_exported_snapshot     # the group snapshot planner's too


def apply_snapshot(driver, p):
    if p.action == 'create':
        if p.cow_bytes is not None:
            driver.create_snapshot(p.name, p.volume, cow_bytes=p.cow_bytes)
        else:
            driver.create_snapshot(p.name, p.volume)
    elif p.action == 'delete':
        driver.delete_snapshot(p.name)
    elif p.action == 'revert':
        driver.revert_to_snapshot(p.volume, p.name)


def snapshot_result(driver, p, check_mode):
    inv = driver.get_inventory()
    snap = inv.snapshots.get(p.name)
    rec = dict(name=p.name, volume=p.volume, state=p.state, action=p.action,
               changed=p.action != 'none')
    if snap is not None and p.state != 'absent':
        rec.update(snap.to_result())
        rec['name'] = p.name
    elif p.state != 'absent' and check_mode and p.action == 'create':
        vol = inv.volumes.get(p.volume)
        if vol is not None:
            rec.update(size_bytes=vol.size_bytes, size_gb=vol.size_gb,
                       provisioning='thin' if vol.thin else 'thick')
    return rec


def snapshot_diff(p):
    before = None if p.before is None else dict(volume=p.before.volume, size_gb=p.before.size_gb)
    if p.action == 'delete':
        after = None
    elif p.action == 'revert':
        before = dict(volume=p.volume, content='current data')
        after = dict(volume=p.volume, content='data of snapshot %s' % p.name)
    else:
        after = dict(volume=p.volume)
    return dict(before={p.name: before}, after={p.name: after})


class SnapshotTask(Task):
    """The snapshot module's steps."""

    def plan(self):
        self.p = plan_snapshot(self.driver, self.params, exported=self.backend.exported,
                               export_holder=self.backend.export_holder)

    def changed(self):
        return self.p.action != 'none'

    def apply(self):
        apply_snapshot(self.driver, self.p)

    def result(self, changed):
        return dict(snapshot=snapshot_result(self.driver, self.p, self.check_mode))

    def diff(self):
        return snapshot_diff(self.p)
