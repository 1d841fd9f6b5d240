# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and apply group snapshots for the ``group_snapshot`` module.

A group snapshot is one crash-consistent snapshot of every member of a group (how each
driver makes it consistent: its ``create_group_snapshot``).  Its member snapshots are
ordinary snapshots of this collection named ``<group snapshot>-<volume>``: the snapshot
module shows them and the volume module clones from them.  The snapshot planner's rules
apply to every member: an exported member snapshot is never deleted or reverted to, and a
revert is refused while a member volume is exported or open, unless ``force``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.module_utils._converge import Task
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, Conflict, InvalidParameter)
from ansible_collections.cinderkit.storage.plugins.module_utils._snapshots import (
    refuse_exported_snapshot)


class GroupSnapshotPlan(object):
    def __init__(self, name, group, state, force=False):
        self.name = name
        self.group = group
        self.state = state
        self.force = force
        self.action = 'none'        # create | delete | revert | none
        self.before = None          # GroupSnapshot or None
        self.members = {}           # volume -> member snapshot name


def member_snapshot_name(group_snapshot, volume):
    return '%s-%s' % (group_snapshot, volume)


def plan_group_snapshot(driver, params, exported=None, export_holder=None):
    """Decide what to do; raise before any change on bad input."""
    name, group, state = params['name'], params.get('group'), params['state']
    p = GroupSnapshotPlan(name, group, state, bool(params.get('force')))
    driver.require('groups', 'group snapshots')
    driver.validate_name(driver.snapshot_storage_name(name), 'name')
    inv = driver.get_inventory()
    gs = inv.group_snapshots.get(name)
    p.before = gs
    if gs is not None and gs.extra.get('foreign'):
        raise Conflict('group snapshot %s of group %s was not made by cinderkit; it is left alone '
                       '(never deleted or reverted to): choose another name; nothing was changed'
                       % (name, gs.group))
    if gs is None and group in inv.foreign_groups:
        raise InvalidParameter('group', 'group %s was not made by cinderkit; cinderkit does not '
                               'snapshot it' % group, 'snapshot a group of this collection')
    if gs is not None:
        if group and gs.group != group:
            raise InvalidParameter('group', 'group snapshot %s is a snapshot of group %s, not %s'
                                   % (name, gs.group, group),
                                   'name the right group, or choose another name')
        p.group = gs.group
        p.members = dict(gs.snapshots)
    if state == 'absent':
        if gs is not None:
            for snap_name in sorted(gs.snapshots.values()):
                snap = inv.snapshots.get(snap_name)
                if snap is not None:
                    refuse_exported_snapshot(driver, snap, export_holder, 'deleting')
                    driver.check_delete_snapshot(snap)
            p.action = 'delete'
        return p
    if state == 'present':
        if gs is not None:
            return p
        if not group:
            raise InvalidParameter('group', 'required to create a group snapshot',
                                   'name the group to snapshot')
        grp = inv.groups.get(group)
        if grp is None:
            raise InvalidParameter('group', 'group %r not found' % group,
                                   'create it first (cinderkit.storage.group) or fix the name')
        if not grp.volumes:
            raise InvalidParameter('group', 'group %s has no volumes; there is nothing to snapshot'
                                   % group, 'add volumes to it first (cinderkit.storage.group volumes)')
        problems = []
        for vol in grp.volumes:
            snap_name = member_snapshot_name(name, vol)
            stored = driver.snapshot_storage_name(snap_name)
            try:
                driver.validate_name(stored, 'name')
            except InvalidParameter as exc:
                problems.append(exc.msg)
                continue
            if inv.taken(snap_name) or (stored != snap_name and inv.taken(stored)):
                problems.append('the member snapshot name %s (of volume %s) is taken by another '
                                'volume or %s' % (snap_name, vol, driver.object_noun))
            p.members[vol] = snap_name
        if problems:
            raise InvalidParameter('name', ' | '.join(problems), 'choose another group snapshot name')
        driver.check_group_snapshot(grp, dict(p.members), export_holder=export_holder)
        p.action = 'create'
        return p
    # reverted
    driver.require('revert', 'reverting volumes to a group snapshot')
    if gs is None:
        raise InvalidParameter('name', 'group snapshot %r not found; nothing to revert to' % name,
                               'create it first or fix the name')
    unchanged = True
    for vol, snap_name in sorted(gs.snapshots.items()):
        snap = inv.snapshots.get(snap_name)
        volume = inv.volumes.get(vol)
        if snap is None or volume is None:
            raise CinderkitError('group snapshot %s lacks member %s (snapshot %s); nothing was '
                                 'changed' % (name, vol, snap_name))
        refuse_exported_snapshot(driver, snap, export_holder, 'reverting to')
        if not p.force:
            holder = export_holder(vol) if export_holder is not None else None
            if exported is not None and exported(vol):
                raise Conflict('member volume %s is exported (%s); reverting it under an initiator '
                               'corrupts what the initiator caches. Remove the export first, or set '
                               'force: true; nothing was changed' % (vol, holder or 'live'))
            if volume.in_use:
                who = driver.in_use_holder(volume)
                raise Conflict('member volume %s is open (in use%s); detach it first, or set force: '
                               'true; nothing was changed' % (vol, ': %s' % who if who else ''))
        unchanged = unchanged and driver.snapshot_unchanged(snap)
    p.action = 'none' if unchanged else 'revert'
    return p


def apply_group_snapshot(driver, p):
    if p.action == 'create':
        driver.create_group_snapshot(p.name, p.group, dict(p.members))
    elif p.action == 'delete':
        driver.delete_group_snapshot(p.name)
    elif p.action == 'revert':
        driver.revert_group_snapshot(p.name)


def group_snapshot_result(driver, p, check_mode):
    inv = driver.get_inventory(refresh=not check_mode and p.action != 'none')
    gs = inv.group_snapshots.get(p.name)
    rec = dict(name=p.name, group=p.group, state=p.state, action=p.action,
               changed=p.action != 'none', snapshots=dict(p.members))
    if gs is not None and p.state != 'absent' and not check_mode:
        rec.update(gs.to_result())
        rec['paths'] = dict((v, getattr(inv.snapshots.get(s), 'path', None))
                            for v, s in sorted(rec['snapshots'].items()))
    if p.state == 'absent':
        rec['snapshots'] = {} if p.action == 'delete' and not check_mode else dict(p.members)
    return rec


def group_snapshot_diff(p):
    before = None if p.before is None else dict(group=p.before.group,
                                                snapshots=dict(p.before.snapshots))
    if p.action == 'delete':
        after = None
    elif p.action == 'revert':
        before = dict(group=p.group, content=dict((v, 'current data') for v in sorted(p.members)))
        after = dict(group=p.group, content=dict((v, 'data of snapshot %s' % s)
                                                 for v, s in sorted(p.members.items())))
    else:
        after = dict(group=p.group, snapshots=dict(p.members))
    return dict(before={p.name: before}, after={p.name: after})


class GroupSnapshotTask(Task):
    """The group_snapshot module's steps."""

    def plan(self):
        self.p = plan_group_snapshot(self.driver, self.params, exported=self.backend.exported,
                                     export_holder=self.backend.export_holder)

    def changed(self):
        return self.p.action != 'none'

    def apply(self):
        apply_group_snapshot(self.driver, self.p)

    def result(self, changed):
        return dict(group_snapshot=group_snapshot_result(self.driver, self.p, self.check_mode))

    def diff(self):
        return group_snapshot_diff(self.p)
