# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and apply volume group changes for the ``group`` module (Cinder's generic groups).

* ``present`` without ``source``: the group exists; with ``volumes`` its membership
  converges (members added and removed).  A volume is in one group at most.
* ``present`` with ``source``: a new group whose members are made from a group snapshot
  (``{group_snapshot: NAME}``) or as clones of another group's members (``{group: NAME}``),
  Cinder's ``create_group_from_src``.  Member ``<member>`` of the source gives the new
  volume ``<group>-<member>``.  The members are planned by the volume planner, so every
  check of the volume module (names, space, sources) applies.
* ``absent``: the group record goes and its volumes stay, unless ``delete_volumes``: then
  the volumes go too, through the volume planner's delete checks (exported, open, with
  snapshots: refused naming the holder).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.module_utils import _volumes
from ansible_collections.cinderkit.storage.plugins.module_utils._converge import Task
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, Conflict, InvalidParameter)

SOURCE_KINDS = ('group_snapshot', 'group')


class GroupPlan(object):
    def __init__(self, name, state):
        self.name = name
        self.state = state
        self.action = 'none'        # create | delete | update | none
        self.before = None          # Group or None
        self.add = []
        self.remove = []
        self.members = []           # the group's volumes after the task
        self.source = None
        self.items = []             # volume planner items (create from source, delete_volumes)


def member_name(group, member):
    """The name of the new group's volume made from the source's ``member``."""
    return '%s-%s' % (group, member)


def normalize_source(source):
    if source is None:
        return None
    kinds = [k for k in SOURCE_KINDS if source.get(k)]
    extra = sorted(k for k in source if k not in SOURCE_KINDS)
    if len(kinds) != 1 or extra:
        raise InvalidParameter('source', 'give exactly one of group_snapshot or group, got %s'
                               % (', '.join(kinds + extra) or 'none'),
                               'e.g. source: {group_snapshot: NAME}')
    return {kinds[0]: source[kinds[0]]}


def plan_group(driver, runner, params, export_holder=None):
    """Decide what to do; raise before any change on bad input."""
    name, state = params['name'], params['state']
    driver.require('groups', 'volume groups')
    driver.validate_name(name, 'name')
    p = GroupPlan(name, state)
    p.source = normalize_source(params.get('source'))
    volumes = params.get('volumes')
    if p.source is not None and volumes is not None:
        raise InvalidParameter('volumes', 'a group made from a source gets its volumes from it',
                               'leave volumes out with source (members are named <group>-<member>)')
    if p.source is not None and state == 'absent':
        raise InvalidParameter('source', 'only with state=present', 'leave source out')
    inv = driver.get_inventory()
    if name in inv.foreign_groups:
        raise Conflict('group %s exists on backend %s but was not made by cinderkit; it is left '
                       'alone (never changed or removed): choose another name; nothing was changed'
                       % (name, driver.backend_name))
    group = inv.groups.get(name)
    p.before = group
    if state == 'absent':
        if group is None:
            return p
        gsnaps = sorted(g.name for g in inv.group_snapshots.values() if g.group == name)
        if gsnaps:
            raise Conflict('group %s has group snapshots (%s); delete them first (cinderkit.storage.'
                           'group_snapshot state=absent); nothing was changed' % (name, ', '.join(gsnaps)))
        p.action = 'delete'
        if params.get('delete_volumes') and group.volumes:
            p.items = [_volumes.Item(v, 'absent', param='name (group member %s)' % v)
                       for v in group.volumes]
            _volumes.plan(driver, runner, p.items, export_holder=export_holder)
        return p
    if group is not None:
        p.members = list(group.volumes)
        if volumes is None:
            return p
        wanted = _check_members(driver, inv, name, volumes)
        p.add = [v for v in wanted if v not in group.volumes]
        p.remove = [v for v in group.volumes if v not in wanted]
        _refuse_removing_snapshotted(inv, name, p.remove)
        p.members = sorted(wanted)
        p.action = 'update' if (p.add or p.remove) else 'none'
        return p
    p.action = 'create'
    if p.source is None:
        p.members = sorted(_check_members(driver, inv, name, volumes or []))
        return p
    pairs = _source_pairs(inv, p.source)
    taken = []
    for member, src in pairs:
        new = member_name(name, member)
        driver.validate_name(new, 'name')
        if inv.taken(new):
            taken.append(new)
        p.items.append(_volumes.Item(new, 'present', source=src,
                                     param='name (the volume made from %s)' % member))
    if taken:
        # an existing volume is never taken over as a member made from the source
        raise InvalidParameter('name', 'the new members are named <group>-<member>, and %s is '
                               'taken' % ', '.join(taken),
                               'choose another group name; nothing was changed')
    _volumes.plan(driver, runner, p.items)
    p.members = sorted(it.name for it in p.items)
    return p


def _source_pairs(inv, source):
    """[(source member, volume source)] of a ``source`` that must exist."""
    if 'group_snapshot' in source:
        gs = inv.group_snapshots.get(source['group_snapshot'])
        if gs is None:
            raise InvalidParameter('source.group_snapshot', 'group snapshot %r not found'
                                   % source['group_snapshot'],
                                   'create it first (cinderkit.storage.group_snapshot) or fix the name')
        return [(vol, {'snapshot': snap}) for vol, snap in sorted(gs.snapshots.items())]
    src = inv.groups.get(source['group'])
    if src is None:
        raise InvalidParameter('source.group', 'group %r not found' % source['group'],
                               'create it first or fix the name')
    return [(vol, {'volume': vol}) for vol in src.volumes]


def _check_members(driver, inv, name, volumes):
    """The wanted member list, every problem found before any change."""
    problems = []
    seen = []
    for i, vol in enumerate(volumes):
        param = 'volumes[%d]' % i
        if vol in seen:
            problems.append('%s: volume %s is listed twice; list each volume once' % (param, vol))
            continue
        seen.append(vol)
        if vol not in inv.volumes:
            if vol in inv.unmanaged:
                problems.append('%s: %s exists but is not a volume of this collection (not managed '
                                'by cinderkit); adopt it with cinderkit.storage.manage_existing first'
                                % (param, vol))
            elif vol in inv.snapshots:
                problems.append('%s: %s is a snapshot, not a volume; list volumes only' % (param, vol))
            else:
                problems.append('%s: volume %s not found on backend %s; create it first or fix the name'
                                % (param, vol, driver.backend_name))
            continue
        foreign = next((g for g in sorted(inv.foreign_groups)
                        if vol in inv.foreign_groups[g].volumes), None)
        if foreign is not None:
            problems.append('%s: volume %s is in group %s, which cinderkit did not make; remove it '
                            'from that group with the tool that made it first' % (param, vol, foreign))
            continue
        other = inv.group_of(vol)
        if other is not None and other != name:
            problems.append('%s: volume %s is in group %s; a volume can be in one group only: remove '
                            'it from %s first' % (param, vol, other, other))
    if problems:
        raise InvalidParameter('volumes', problems[0] if len(problems) == 1 else
                               '%d problems: %s' % (len(problems), ' | '.join(problems)),
                               'nothing was changed')
    return seen


def _refuse_removing_snapshotted(inv, name, remove):
    """A member with a snapshot in one of the group's group snapshots stays: reverting that
    group snapshot would otherwise change a volume that is no longer in the group."""
    held = []
    for gs in sorted(inv.group_snapshots.values(), key=lambda g: g.name):
        if gs.group != name:
            continue
        held.extend('%s (group snapshot %s)' % (v, gs.name) for v in remove if v in gs.snapshots)
    if held:
        raise InvalidParameter('volumes', 'removing %s from group %s would leave group snapshots '
                               'with members outside the group' % (', '.join(held), name),
                               'delete those group snapshots first, or keep the volumes; nothing '
                               'was changed')


def apply_group(driver, p):
    done = []
    try:
        if p.action == 'create':
            if p.items:
                _volumes.apply(driver, p.items)
                done.append('created volumes %s' % ', '.join(it.name for it in p.items))
            driver.create_group(p.name, p.members)
        elif p.action == 'update':
            if p.remove:
                driver.remove_group_members(p.name, p.remove)
                done.append('removed %s from the group' % ', '.join(p.remove))
            if p.add:
                driver.add_group_members(p.name, p.add)
        elif p.action == 'delete':
            if p.items:
                _volumes.apply(driver, p.items)
                done.append('deleted volumes %s' % ', '.join(it.name for it in p.items))
            driver.delete_group(p.name)
    except CinderkitError as exc:
        if done:
            exc.msg = '%s; done before the failure: %s' % (exc.msg, '; '.join(done))
            exc.result['changed'] = True
        raise


def group_result(driver, p, check_mode):
    inv = driver.get_inventory(refresh=not check_mode and p.action != 'none')
    group = inv.groups.get(p.name)
    rec = dict(name=p.name, state=p.state, action=p.action, changed=p.action != 'none')
    if p.state == 'present':
        if group is not None and not check_mode:
            rec.update(group.to_result())
        else:
            rec['volumes'] = list(p.members)
        if not check_mode:
            # where each member is on the storage host (a copy's bytes can be checked at once)
            rec['paths'] = dict((v, getattr(inv.volumes.get(v), 'path', None))
                                for v in rec.get('volumes') or ())
        rec['added'] = list(p.add if p.action != 'create' else p.members)
        rec['removed'] = list(p.remove)
        if p.source is not None:
            rec['source'] = dict(p.source)
    else:
        rec['volumes_deleted'] = [it.name for it in p.items]
    rec['group_snapshots'] = sorted(g.name for g in inv.group_snapshots.values()
                                    if g.group == p.name)
    return rec


def group_diff(p):
    before = None if p.before is None else dict(volumes=list(p.before.volumes))
    after = None if p.action == 'delete' else dict(volumes=list(p.members))
    out = dict(before={p.name: before}, after={p.name: after})
    for it in p.items:
        out['before'][it.name] = None if it.action == 'create' else dict(volume=it.name)
        out['after'][it.name] = dict(source=it.source_public()) if it.action == 'create' else None
    return out


class GroupTask(Task):
    """The group module's steps."""

    def plan(self):
        self.p = plan_group(self.driver, self.m.runner, self.params,
                            export_holder=self.backend.export_holder)

    def changed(self):
        return self.p.action != 'none'

    def apply(self):
        apply_group(self.driver, self.p)

    def result(self, changed):
        return dict(group=group_result(self.driver, self.p, self.check_mode))

    def diff(self):
        return group_diff(self.p)
