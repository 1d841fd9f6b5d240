#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: snapshot
short_description: Create, delete and revert to volume snapshots
version_added: 0.1.0
description:
  - Manages a snapshot of a volume made by M(cinderkit.storage.volume), with Cinder's driver semantics.
  - On LVM, thin volumes get thin snapshots; thick volumes get copy-on-write snapshots whose CoW
    area is sized by O(cow_size), else by the backend option C(lvm_snapshot_cow_percent) of the
    origin size (default 100, which is what Cinder does and never overflows).
  - LVM reserves LV names that start with C(snapshot); such snapshot names are stored as
    C(_snapshot...), as Cinder does, and shown under the name you gave.
  - V(reverted) puts the volume's data back to the snapshot, keeping the volume's size (Cinder's
    C(revert_to_snapshot)). The snapshot is kept. It is refused while the volume is exported or
    in use, unless O(force).
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
    description: Name of the snapshot.
    type: str
    required: true
  volume:
    description:
      - The volume the snapshot belongs to. Required to create or revert.
      - With V(absent) it is checked when given.
    type: str
  state:
    description:
      - V(present) creates the snapshot; V(absent) deletes it (a no-op when it does not exist).
      - V(reverted) reverts O(volume) to this snapshot. On thick LVM volumes it reports no change
        when the volume was not written since the snapshot; otherwise it always reports a change.
      - Deleting a thick LVM snapshot wipes its CoW data first when the backend's C(volume_clear)
        is C(zero).
    type: str
    choices: [present, absent, reverted]
    default: present
  cow_size:
    description:
      - Size of a thick snapshot's copy-on-write area, as O(cinderkit.storage.volume#module:size).
        Ignored for thin snapshots.
      - A CoW area that fills up invalidates the snapshot.
    type: raw
  force:
    description: Revert even when the volume is exported or in use (initiators may see stale data).
    type: bool
    default: false
seealso:
  - module: cinderkit.storage.volume
'''

EXAMPLES = r'''
- name: Nightly snapshot
  cinderkit.storage.snapshot:
    backend: "{{ backend }}"
    volume: db01-data
    name: db01-nightly

- name: Put the volume back to the snapshot
  cinderkit.storage.snapshot:
    backend: "{{ backend }}"
    volume: db01-data
    name: db01-nightly
    state: reverted

- name: Drop it
  cinderkit.storage.snapshot:
    backend: "{{ backend }}"
    name: db01-nightly
    state: absent
'''

RETURN = r'''
snapshot:
  description: The snapshot (planned in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Snapshot name.
      type: str
    volume:
      description: The volume it belongs to.
      type: str
    state:
      description: Requested state.
      type: str
    action:
      description: What this task did.
      type: str
      choices: [create, delete, revert, none]
    size_gb:
      description: Size of the snapshotted volume in GiB.
      type: float
    size_bytes:
      description: Size of the snapshotted volume in bytes.
      type: int
    provisioning:
      description: V(thin) or V(thick).
      type: str
    path:
      description: Device path of the snapshot on the storage host.
      type: str
    lv_name:
      description: LVM only. The LV name (C(_snapshot...) for names LVM reserves).
      type: str
    cow_size_bytes:
      description: LVM thick snapshots only. Size of the CoW area.
      type: int
    cow_used_percent:
      description: LVM thick snapshots only. How full the CoW area is.
      type: float
commands:
  description: Commands this task ran.
  returned: always
  type: list
  elements: str
writes:
  description:
    - In-process changes, in order, secrets redacted; here the librbd snapshot calls (create,
      protect, revert, remove) or the snapshot files the file driver wrote or removed.
    - No command ran for them, so C(commands) does not list them; after a failure they are what was done.
  returned: when the task made an in-process change
  type: list
  elements: str
'''

from ansible_collections.cinderkit.storage.plugins.module_utils._module import CinderkitModule
from ansible_collections.cinderkit.storage.plugins.module_utils._snapshots import SnapshotTask


def main():
    m = CinderkitModule(argument_spec=dict(
        name=dict(type='str', required=True),
        volume=dict(type='str'),
        state=dict(type='str', choices=['present', 'absent', 'reverted'], default='present'),
        cow_size=dict(type='raw'),
        force=dict(type='bool', default=False),
    ))
    m.converge(SnapshotTask)


if __name__ == '__main__':
    main()
