#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: manage_existing
short_description: Adopt existing LVs or RBD images as volumes and snapshots, release them, list candidates
version_added: 0.1.0
description:
  - Cinder's C(manage_existing), C(unmanage) and C(get_manageable_volumes) /
    C(get_manageable_snapshots), for a backend's LVs (LVM) or images (RBD) that this collection
    did not create.
  - V(managed) brings the LV named by O(source_name) (or Cinder's reference form
    O(reference)) under management. By default it is renamed to O(name), as Cinder does;
    with O(rename=false) it is adopted in place and keeps its name. Either way ownership is
    recorded on the LV itself (LV tag C(ck.kind=volume) or C(ck.kind=snapshot); RBD image
    metadata), which is what the other modules of this collection look for.
  - The size reported is rounded up to whole GiB, as Cinder's C(manage_existing_get_size) does.
    For a snapshot it is the size of the volume it belongs to (Cinder's LVM driver reports the
    size of a thick snapshot's copy-on-write area there instead).
  - Adopting something the manageable listing marks as not safe is refused with that reason.
    O(force) overrides only C(volume in use), C(snapshot in use) and C(exported); C(already
    managed), C(thin pool) and internal LVs are never adopted.
  - A snapshot can only be adopted when the volume it belongs to is managed (adopt volumes
    first).
  - V(unmanaged) releases a managed volume or snapshot without touching its data or its name
    (Cinder's LVM C(unmanage) keeps the LV). A volume with managed snapshots, or one that is
    exported (unless O(force)), is refused.
  - V(listed) returns what Cinder's C(get_manageable_volumes) / C(get_manageable_snapshots) return,
    with Cinder's pagination (O(marker), O(limit), O(offset), O(sort_keys), O(sort_dirs)).
  - Idempotent; check mode and diff mode report the same plan the real run applies.
author:
  - cinderkit.storage maintainers (@cinderkit)
extends_documentation_fragment:
  - cinderkit.storage.backend
  - ansible.builtin.action_common_attributes
  - cinderkit.storage.attributes
options:
  state:
    description:
      - V(managed) adopts O(source_name); V(unmanaged) releases O(name); V(listed) lists what
        could be adopted and changes nothing.
    type: str
    choices: [managed, unmanaged, listed]
    default: managed
  kind:
    description:
      - Whether this task is about volumes or snapshots (Cinder's manage volume / manage
        snapshot). A kind option rather than a C(snapshot) flag, so that listings read the same way
        (O(kind=snapshot) with V(listed) is C(get_manageable_snapshots)).
      - On LVM a thick snapshot is an LV with an origin; a thin snapshot is a thin LV with an origin
        that LVM skips at activation. Thin pools are listed with the volumes (never safe).
    type: str
    choices: [volume, snapshot]
    default: volume
  name:
    description:
      - V(managed) - the name to manage the volume or snapshot under. Required unless
        O(rename=false); with O(rename=false) it may be left out and must otherwise equal the source.
      - V(unmanaged) - the managed volume or snapshot to release.
      - On LVM, snapshot names that start with C(snapshot) are stored as C(_snapshot...) (Cinder's
        escaping) and shown under the name given.
    type: str
  source_name:
    description:
      - The existing LV (LVM) or image (RBD) to adopt. For an RBD snapshot, C(SNAPSHOT) or
        C(IMAGE@SNAPSHOT).
      - Mutually exclusive with O(reference).
    type: str
  reference:
    description:
      - Cinder's reference form of the source, a dict with one key C(source-name) (the name) - what
        O(state=listed) returns in C(reference), so a listing entry can be fed back as it is.
      - Mutually exclusive with O(source_name).
    type: dict
  rename:
    description:
      - Rename the source to O(name) (Cinder's behaviour), or adopt it in place under its own name
        (V(false)); ownership is recorded in a tag either way.
    type: bool
    default: true
  force:
    description:
      - Adopt a volume or snapshot that is in use or exported, or release one that is exported.
      - Never overrides C(already managed), C(thin pool) or C(internal LV).
    type: bool
    default: false
  marker:
    description:
      - With V(listed), the C(reference) of the last entry of the previous page (the dict with
        the key C(source-name), its JSON text, or a bare name); the page starts after it.
    type: raw
  limit:
    description: With V(listed), at most this many entries (all when not given).
    type: int
  offset:
    description: With V(listed), skip this many entries (after O(marker)).
    type: int
  sort_keys:
    description:
      - With V(listed), sort by these keys in order, C(identifier) (the reference) or C(size).
        Default C(identifier).
    type: list
    elements: str
  sort_dirs:
    description: With V(listed), C(asc) or C(desc) per key in O(sort_keys) (missing ones are C(asc)).
    type: list
    elements: str
notes:
  - An LV counts as exported when the backend's target helper (C(target_helper)) exports a volume
    of that name, or exports its device (O(cinderkit.storage.export#module:device_path)). A target
    daemon that is not running exports nothing.
  - On hosts without device-mapper (LVM activation off) LVM cannot tell whether an LV is open; such
    LVs are never reported C(in use).
seealso:
  - module: cinderkit.storage.volume
  - module: cinderkit.storage.snapshot
  - module: cinderkit.storage.export
'''

EXAMPLES = r'''
- name: What could be adopted (largest first, 20 per page)
  cinderkit.storage.manage_existing:
    backend: "{{ backend }}"
    state: listed
    sort_keys: [size]
    sort_dirs: [desc]
    limit: 20
  register: candidates

- name: Adopt every safe LV in place (names stay)
  cinderkit.storage.manage_existing:
    backend: "{{ backend }}"
    reference: "{{ item.reference }}"
    rename: false
  loop: "{{ candidates.manageable | selectattr('safe_to_manage') | list }}"
  loop_control:
    label: "{{ item.reference['source-name'] }}"

- name: Adopt an LV under a new name, as Cinder does
  cinderkit.storage.manage_existing:
    backend: "{{ backend }}"
    source_name: lv_legacy_db
    name: db01-data

- name: Adopt one of its snapshots
  cinderkit.storage.manage_existing:
    backend: "{{ backend }}"
    kind: snapshot
    source_name: lv_legacy_db_snap
    name: db01-before-upgrade

- name: Release the volume again (data and name stay)
  cinderkit.storage.manage_existing:
    backend: "{{ backend }}"
    name: db01-data
    state: unmanaged
'''

RETURN = r'''
volume:
  description:
    - The adopted or released volume (O(kind=volume)), as the volume module reports it. In check
      mode only the planned fields.
  returned: with O(state=managed) or O(state=unmanaged) and O(kind=volume)
  type: dict
  contains:
    name:
      description: The name it is managed under (V(managed)) or was released from.
      type: str
    action:
      description: What this task did (or would do).
      type: str
      choices: [adopt, release, none]
    source_name:
      description: The source as given.
      type: str
    renamed:
      description: Whether the source was (or would be) renamed.
      type: bool
    managed:
      description: Whether it is managed after this task.
      type: bool
    size_gb:
      description: Size in whole GiB, rounded up (Cinder's C(manage_existing_get_size)).
      type: int
    size_bytes:
      description: Exact size in bytes (not in check mode for an adoption).
      type: int
    path:
      description: Device path on the storage host.
      type: str
    forced:
      description: The reason O(force) overrode, when it did.
      type: str
  sample:
    name: db01-data
    action: adopt
    source_name: lv_legacy_db
    renamed: true
    managed: true
    size_gb: 3
    size_bytes: 2151677952
    path: /dev/cinder-volumes/db01-data
snapshot:
  description:
    - The adopted or released snapshot (O(kind=snapshot)); same fields as RV(volume), plus
      C(volume), the volume it belongs to.
  returned: with O(state=managed) or O(state=unmanaged) and O(kind=snapshot)
  type: dict
manageable:
  description:
    - With O(state=listed), one entry per LV (or image, or snapshot) in Cinder's shape.
    - C(reference) (a dict with the key C(source-name)), C(size) (GiB, rounded up), C(safe_to_manage),
      C(reason_not_safe) (C(already managed), C(volume in use), C(snapshot in use), C(exported),
      C(thin pool), C(internal LV (...)), or null), C(cinder_id) (the managed name when already
      managed), C(extra_info), and for snapshots C(source_reference) (the volume's reference).
  returned: with O(state=listed)
  type: list
  elements: dict
  sample:
    - reference: {source-name: lv_legacy_db}
      size: 3
      safe_to_manage: true
      reason_not_safe: null
      cinder_id: null
      extra_info: lvm_type=default, attr=-wi-a-----
diff:
  description: Before and after (name, storage name, managed).
  returned: when changed and diff mode is on
  type: dict
commands:
  description: Commands this task ran, in order.
  returned: always
  type: list
  elements: str
writes:
  description:
    - In-process changes, in order, secrets redacted; here the librbd metadata and renames that
      adopt or release an image, or the file driver's renames and ownership record.
    - No command ran for them, so C(commands) does not list them; after a failure they are what was done.
  returned: when the task made an in-process change
  type: list
  elements: str
'''

from ansible_collections.cinderkit.storage.plugins.module_utils._module import CinderkitModule
from ansible_collections.cinderkit.storage.plugins.module_utils._manage import ManageTask


def main():
    m = CinderkitModule(
        argument_spec=dict(
            state=dict(type='str', choices=['managed', 'unmanaged', 'listed'], default='managed'),
            kind=dict(type='str', choices=['volume', 'snapshot'], default='volume'),
            name=dict(type='str'),
            source_name=dict(type='str'),
            reference=dict(type='dict'),
            rename=dict(type='bool', default=True),
            force=dict(type='bool', default=False),
            marker=dict(type='raw'),
            limit=dict(type='int'),
            offset=dict(type='int'),
            sort_keys=dict(type='list', elements='str', no_log=False),
            sort_dirs=dict(type='list', elements='str'),
        ),
        mutually_exclusive=[['source_name', 'reference']],
    )
    m.converge(ManageTask)


if __name__ == '__main__':
    main()
