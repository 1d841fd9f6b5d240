#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: group
short_description: Create, change and delete volume groups (Cinder's generic groups)
version_added: 0.1.0
description:
  - Manages a group of volumes made by M(cinderkit.storage.volume), with the semantics of Cinder's
    generic volume groups. M(cinderkit.storage.group_snapshot) takes a crash-consistent snapshot of
    all members of a group at one instant.
  - A volume can be in one group only; listing a volume that is in another group is refused.
  - Membership converges to O(volumes) when it is given. Without O(volumes) an existing group's
    members are left as they are, and a new group starts empty.
  - The LVM driver records a group as a tag of its volume group and the members as LV tags; the
    C(file) driver records both in its ownership record.
  - RBD - a group is a librbd group of the pool (C(rbd group ls) shows it), its members the
    group's images. It is this collection's when the record object C(cinderkit.groups) of the
    pool names it with the id librbd gave it; a group made by anyone else (or made again under
    the same name) is never changed or removed, and its volumes cannot join a group here. A new
    group from a group snapshot gets full sparse copies of the member snapshots (librbd 16.2
    clones no group snapshot); one from a group gets copy-on-write clones.
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
    description: Name of the group.
    type: str
    required: true
  volumes:
    description:
      - The member volumes. Members not listed are removed from the group (their data stays);
        listed volumes are added.
      - Each must be a volume of this backend made or adopted by this collection.
      - A member that has a snapshot in one of the group's group snapshots cannot be removed.
      - Not with O(source).
    type: list
    elements: str
  state:
    description:
      - V(present) creates the group or converges its membership; V(absent) deletes the group.
      - Deleting a group that has group snapshots is refused; delete them first.
    type: str
    choices: [present, absent]
    default: present
  source:
    description:
      - Create the group and all its volumes from a source (Cinder's C(create_group_from_src)).
        Only when the group does not exist yet; an existing group is left as it is.
      - Each member C(M) of the source gives the new volume C(<name>-M), made as
        M(cinderkit.storage.volume) makes a volume from a snapshot (the group snapshot's member
        snapshot of C(M)) or from a volume (a clone of the other group's member C(M)).
      - A new member name that is taken (by any volume or snapshot) is refused before anything
        is made.
    type: dict
    suboptions:
      group_snapshot:
        description: Group snapshot to create the members from.
        type: str
      group:
        description: Group whose members are cloned.
        type: str
  delete_volumes:
    description:
      - With O(state=absent), delete the member volumes too. Every check of
        M(cinderkit.storage.volume) applies first (a member that is exported, open or has
        snapshots is refused, naming the holder), so either all of them go or nothing changes.
      - Default as in Cinder, the volumes stay.
    type: bool
    default: false
seealso:
  - module: cinderkit.storage.group_snapshot
  - module: cinderkit.storage.volume
'''

EXAMPLES = r'''
- name: Put the database's volumes in one group
  cinderkit.storage.group:
    backend: "{{ backend }}"
    name: db01
    volumes: [db01-data, db01-log]

- name: A copy of the database from its group snapshot (volumes db01-copy-db01-data, ...)
  cinderkit.storage.group:
    backend: "{{ backend }}"
    name: db01-copy
    source:
      group_snapshot: db01-nightly

- name: Drop the copy with its volumes
  cinderkit.storage.group:
    backend: "{{ backend }}"
    name: db01-copy
    state: absent
    delete_volumes: true
'''

RETURN = r'''
group:
  description: The group (planned in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Group name.
      type: str
    state:
      description: Requested state.
      type: str
    action:
      description: What this task did.
      type: str
      choices: [create, update, delete, none]
    volumes:
      description: The member volumes (state present).
      type: list
      elements: str
    added:
      description: Volumes added to the group by this task.
      type: list
      elements: str
    removed:
      description: Volumes removed from the group by this task.
      type: list
      elements: str
    source:
      description: The source the group was created from (with O(source)).
      type: dict
    volumes_deleted:
      description: State absent. Member volumes deleted with the group (O(delete_volumes)).
      type: list
      elements: str
    group_snapshots:
      description: Names of the group's group snapshots.
      type: list
      elements: str
    paths:
      description: State present. Member volume name -> its device (or file) path on the storage host.
      type: dict
commands:
  description: Commands this task ran.
  returned: always
  type: list
  elements: str
writes:
  description:
    - In-process changes, in order, secrets redacted; here the group records the file and rbd
      drivers wrote (members added or removed), and the volumes deleted with the group.
    - No command ran for them, so C(commands) does not list them; after a failure they are what was done.
  returned: when the task made an in-process change
  type: list
  elements: str
'''

from ansible_collections.cinderkit.storage.plugins.module_utils._module import CinderkitModule
from ansible_collections.cinderkit.storage.plugins.module_utils._groups import GroupTask


def main():
    m = CinderkitModule(argument_spec=dict(
        name=dict(type='str', required=True),
        volumes=dict(type='list', elements='str'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        source=dict(type='dict', options=dict(group_snapshot=dict(type='str'),
                                              group=dict(type='str'))),
        delete_volumes=dict(type='bool', default=False),
    ))
    m.converge(GroupTask)


if __name__ == '__main__':
    main()
