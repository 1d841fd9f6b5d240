#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: group_snapshot
short_description: Crash-consistent snapshots of all volumes of a group
version_added: 0.1.0
description:
  - Takes, deletes and reverts to a snapshot of every member of a M(cinderkit.storage.group) at
    one instant (Cinder's group snapshots). The member snapshots hold what a power loss at one
    instant would have left on the members, so a database spread over several volumes can
    recover from them.
  - Each member C(V) gets the snapshot C(<name>-V), an ordinary snapshot of this collection;
    M(cinderkit.storage.snapshot) shows it and M(cinderkit.storage.volume) can make a volume
    from it (its O(cinderkit.storage.volume#module:source) option). Deleting one member snapshot
    alone is refused; delete the group snapshot.
  - LVM - every member's device-mapper device is suspended (in sorted order) before the first
    snapshot is taken, then each is snapshotted and all are resumed; the resume is guaranteed,
    every step has a timeout, and a failure part-way removes the member snapshots already made.
    CoW space for all members that get a CoW snapshot is checked before the first suspend. A
    suspend waits for the I/O in flight and freezes a mounted file system.
  - LVM thin members that are active get a CoW snapshot of the thin volume, sized as a thick
    one and taken from the volume group's free space, because LVM cannot make a thin snapshot
    of an origin that is held suspended (it skips the thin pool's message and the pool's
    transaction id falls out of step). Inactive thin members have no I/O to hold back and get
    thin snapshots.
  - RBD - librbd's group snapshot (C(rbd group snap create)), where librbd asks every member's
    clients to quiesce, takes every member's exclusive lock (so no client writes until the
    last member snapshot is made) and snapshots each member in the group snapshot namespace.
    A member in use without the exclusive-lock feature is refused before any change (librbd
    could not hold its writes off), as is a group holding images this collection does not
    manage (librbd would snapshot them too).
  - RBD member snapshots live in librbd's group namespace, which librbd 16.2 opens by snapshot
    id only (result key C(rbd_snap_id) of M(cinderkit.storage.snapshot)); so a volume made from
    one is a full sparse copy, not a clone, it cannot be exported by itself, and a member cannot
    be reverted alone (V(reverted) here rolls every member back, C(Group.rollback_to_snap), and
    each member keeps its size). A group snapshot this collection did not make (one taken with
    the C(rbd) CLI) is left alone and keeps its group from being deleted.
  - C(file) driver - writes to files cannot be suspended; the driver takes a read lease on
    every member (the kernel then blocks any new open for writing), so a member open for
    writing, or exported, is refused naming its holder, and the reflinks of all members
    are taken while no writer can get in.
author:
  - cinderkit.storage maintainers (@cinderkit)
extends_documentation_fragment:
  - cinderkit.storage.backend
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - cinderkit.storage.attributes
attributes:
  action_group:
    support: full
    membership: [cinderkit.storage.backend]
options:
  name:
    description: Name of the group snapshot.
    type: str
    required: true
  group:
    description:
      - The group to snapshot. Required to create; checked when given otherwise.
      - The group must have at least one volume.
    type: str
  state:
    description:
      - V(present) takes the group snapshot; V(absent) deletes it with its member snapshots (a
        no-op when it does not exist).
      - V(reverted) reverts every member volume it has a snapshot of to that snapshot (the
        snapshots are kept). It is refused while a member volume is exported or in use, unless
        O(force), and always while a member snapshot is exported.
    type: str
    choices: [present, absent, reverted]
    default: present
  force:
    description: Revert even when a member volume is exported or in use (initiators may see stale data).
    type: bool
    default: false
seealso:
  - module: cinderkit.storage.group
  - module: cinderkit.storage.snapshot
'''

EXAMPLES = r'''
- name: One consistent snapshot of the database's volumes
  cinderkit.storage.group_snapshot:
    backend: "{{ backend }}"
    group: db01
    name: db01-nightly

- name: Put all of them back
  cinderkit.storage.group_snapshot:
    backend: "{{ backend }}"
    name: db01-nightly
    state: reverted

- name: Drop it
  cinderkit.storage.group_snapshot:
    backend: "{{ backend }}"
    name: db01-nightly
    state: absent
'''

RETURN = r'''
group_snapshot:
  description: The group snapshot (planned in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Group snapshot name.
      type: str
    group:
      description: The group it is a snapshot of.
      type: str
    state:
      description: Requested state.
      type: str
    action:
      description: What this task did.
      type: str
      choices: [create, delete, revert, none]
    snapshots:
      description: Member volume name -> its member snapshot's name.
      type: dict
    paths:
      description: Member volume name -> its member snapshot's device (or file) path, where it has one (RBD member snapshots have none, null).
      type: dict
commands:
  description: Commands this task ran.
  returned: always
  type: list
  elements: str
writes:
  description:
    - In-process changes, in order, secrets redacted; here the librbd group-snapshot calls, or the
      member snapshot files the file driver made, reverted or removed.
    - No command ran for them, so C(commands) does not list them; after a failure they are what was done.
  returned: when the task made an in-process change
  type: list
  elements: str
'''

from ansible_collections.cinderkit.storage.plugins.module_utils._module import CinderkitModule
from ansible_collections.cinderkit.storage.plugins.module_utils._group_snapshots import (
    GroupSnapshotTask)


def main():
    m = CinderkitModule(argument_spec=dict(
        name=dict(type='str', required=True),
        group=dict(type='str'),
        state=dict(type='str', choices=['present', 'absent', 'reverted'], default='present'),
        force=dict(type='bool', default=False),
    ))
    m.converge(GroupSnapshotTask)


if __name__ == '__main__':
    main()
