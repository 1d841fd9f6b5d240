#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: volume
short_description: Create, grow and delete block volumes on a Cinder-style backend
version_added: 0.1.0
description:
  - Converges one volume (O(name)) or many (O(volumes)) on an LVM or Ceph RBD backend, with
    Cinder's driver semantics and option names.
  - One backend query serves the whole task, whatever the number of volumes; many LVM creations
    are fed to two C(lvm) command interpreters, and every deletion goes to one C(lvremove).
  - Volumes are never shrunk. A larger O(size) grows an existing volume (as M(cinderkit.storage.extend)).
  - Only volumes this collection manages are changed. An existing volume of another origin with
    the same name is an error; adopt it with M(cinderkit.storage.manage_existing).
  - A O(source) is used only when the volume is created. A present volume whose recorded source
    differs is reported in RV(volume.source_mismatch), never rewritten.
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
    description:
      - Name of the volume (for LVM, the LV name).
      - Letters, digits and C(+ _ . -), not starting with C(-), at most 127 characters; LVM's
        reserved names (C(snapshot*), C(pvmove*), C(*_tdata) ...) are refused.
      - Required unless O(volumes) is given.
    type: str
  size:
    description:
      - Size of the volume. An integer is GiB, as in Cinder; a string may carry a unit
        (C(512M), C(10G), C(1.5T)). It must be a whole number of MiB.
      - The backend rounds it up to its allocation unit (the VG extent size for LVM).
      - Required to create a volume without a O(source); with a source it defaults to the
        source's size.
    type: raw
  state:
    description:
      - V(present) creates the volume (or grows it); V(absent) deletes it.
      - Deleting a thick LVM volume wipes it first when the backend's C(volume_clear) is C(zero).
      - A volume with snapshots is not deleted; delete its snapshots first.
    type: str
    choices: [present, absent]
    default: present
  source:
    description:
      - Create the volume from a snapshot, another volume (a clone) or an image.
      - Give exactly one of O(source.snapshot), O(source.volume), O(source.image).
    type: dict
    suboptions:
      snapshot:
        description: Name of a snapshot (M(cinderkit.storage.snapshot)) to create the volume from.
        type: str
      volume:
        description:
          - Name of a volume to clone. Thin LVM clones are thin snapshots made writable and
            independent; thick clones are copied through a temporary snapshot.
        type: str
      image:
        description:
          - Absolute, normalised path (on the managed node) or http(s)/ftp(s) URL of an image, converted
            with C(qemu-img). Relative paths and C(..) parts are refused.
          - Images with a backing file or encryption are refused.
        type: str
      format:
        description: Format of O(source.image); V(auto) detects it.
        type: str
        choices: [auto, raw, qcow2, vmdk]
        default: auto
      grow:
        description:
          - When the image's virtual size exceeds O(size), create the volume at the image's size
            (rounded up to GiB) instead of failing.
        type: bool
        default: false
  to_image:
    description:
      - Copy the volume's content to an image file on the storage host (Cinder's
        C(copy_volume_to_image)), with C(qemu-img convert), which keeps zero runs sparse.
      - Idempotent - nothing is written when the file exists with the same format and virtual
        size as the volume, unless O(to_image.force).
      - The file is written next to its final path and renamed into place, mode C(0600).
      - Only with the single form and O(state=present).
    type: dict
    suboptions:
      path:
        description: Absolute, normalised path of the image file.
        type: path
        required: true
      format:
        description: Image format.
        type: str
        choices: [raw, qcow2]
        default: raw
      compress:
        description: Compress a qcow2 image.
        type: bool
        default: false
      force:
        description: Write even when a matching image exists.
        type: bool
        default: false
  volumes:
    description:
      - Bulk form. Converge every listed volume in one task with one backend query.
      - Each item takes O(name), O(size), O(state) (default O(state)) and O(source).
      - The whole list is checked before anything changes.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the volume.
        type: str
        required: true
      size:
        description: Size, as O(size).
        type: raw
      state:
        description: State of this volume; defaults to the task's O(state).
        type: str
        choices: [present, absent]
      source:
        description: Source, as O(source).
        type: dict
        suboptions:
          snapshot:
            description: As O(source.snapshot).
            type: str
          volume:
            description: As O(source.volume).
            type: str
          image:
            description: As O(source.image).
            type: str
          format:
            description: As O(source.format).
            type: str
            choices: [auto, raw, qcow2, vmdk]
            default: auto
          grow:
            description: As O(source.grow).
            type: bool
            default: false
notes:
  - Copies (clones, volumes from thick snapshots, images) use C(qemu-img convert), which skips
    zero runs in the source.
  - On LVM, an interrupted copy removes the half-made volume.
seealso:
  - module: cinderkit.storage.snapshot
  - module: cinderkit.storage.extend
  - module: cinderkit.storage.backend_facts
'''

EXAMPLES = r'''
- name: A 10 GiB volume on the LVM backend
  cinderkit.storage.volume:
    backend:
      volume_driver: lvm
      volume_group: cinder-volumes
      lvm_type: default
    name: db01-data
    size: 10

- name: The same backend from an existing cinder.conf
  cinderkit.storage.volume:
    config_file: /etc/cinder/cinder.conf
    backend_name: lvmdriver-1
    name: db01-data
    size: 10

- name: Many volumes in one task
  cinderkit.storage.volume:
    backend: "{{ backend }}"
    volumes:
      - {name: web01, size: 1}
      - {name: web02, size: 2}
      - {name: old01, state: absent}

- name: A clone and a volume from a snapshot
  cinderkit.storage.volume:
    backend: "{{ backend }}"
    volumes:
      - {name: db01-clone, source: {volume: db01-data}}
      - {name: db01-restore, source: {snapshot: db01-nightly}, size: 20}

- name: A volume from a qcow2 image, grown to the image's size if needed
  cinderkit.storage.volume:
    backend: "{{ backend }}"
    name: vm01-root
    size: 1
    source:
      image: /var/lib/images/debian-12.qcow2
      format: qcow2
      grow: true

- name: Save a volume's content as a compressed qcow2 image
  cinderkit.storage.volume:
    backend: "{{ backend }}"
    name: db01-data
    to_image:
      path: /srv/images/db01-data.qcow2
      format: qcow2
      compress: true

- name: Delete it (thick LVM volumes are wiped first when volume_clear is zero)
  cinderkit.storage.volume:
    backend: "{{ backend }}"
    name: db01-data
    state: absent
'''

RETURN = r'''
volume:
  description: The volume (single form). In check mode, the planned record.
  returned: when O(name) is given
  type: dict
  contains:
    name:
      description: Volume name.
      type: str
      sample: db01-data
    state:
      description: V(present) or V(absent).
      type: str
      sample: present
    action:
      description: What this task did (or would do) to it.
      type: str
      choices: [create, delete, extend, none]
      sample: create
    changed:
      description: Whether this volume changed.
      type: bool
    size_gb:
      description: Size in GiB.
      type: float
      sample: 10.0
    size_bytes:
      description: Size in bytes, as allocated by the backend.
      type: int
      sample: 10737418240
    provisioning:
      description: V(thin) or V(thick).
      type: str
    path:
      description: Block device path on the storage host.
      type: str
      sample: /dev/cinder-volumes/db01-data
    provider_location:
      description: Driver location of the volume (C(vg/lv) for LVM, C(pool/image) for RBD).
      type: str
      sample: cinder-volumes/db01-data
    lvm_type:
      description: LVM only. C(thin) or C(default).
      type: str
    volume_group:
      description: LVM only. The volume group.
      type: str
    source:
      description: The source recorded when the volume was created, or null.
      type: dict
    source_mismatch:
      description: Present when the volume exists and O(source) differs from the recorded one.
      type: dict
      returned: when the sources differ
    snapshots:
      description: Names of this volume's snapshots.
      type: list
      elements: str
    online:
      description: For an extended volume, whether the extend happened while it stayed usable.
      type: bool
      returned: when grown
    image:
      description: With O(to_image), the image file and whether this task wrote it.
      type: dict
      returned: when O(to_image) is given
      sample: {path: /srv/images/db01.qcow2, format: qcow2, written: true}
volumes:
  description: One record per item of O(volumes), in order; the same keys as RV(volume).
  returned: when O(volumes) is given
  type: list
  elements: dict
diff:
  description: Before and after sizes of the volumes that change (with O(ignore:diff) on).
  returned: when changed and diff mode is on
  type: dict
commands:
  description: Commands this task ran, in order, with secrets redacted.
  returned: always
  type: list
  elements: str
writes:
  description:
    - In-process changes, in order, secrets redacted; here the librbd calls (create, clone, copy,
      resize, remove, the volume record) or the file driver's files (created, copied, grown, removed).
    - No command ran for them, so C(commands) does not list them; after a failure they are what was done.
  returned: when the task made an in-process change
  type: list
  elements: str
'''

from ansible_collections.cinderkit.storage.plugins.module_utils._module import CinderkitModule
from ansible_collections.cinderkit.storage.plugins.module_utils._volumes import VolumeTask

SOURCE_SPEC = dict(
    snapshot=dict(type='str'),
    volume=dict(type='str'),
    image=dict(type='str'),
    format=dict(type='str', choices=['auto', 'raw', 'qcow2', 'vmdk'], default='auto'),
    grow=dict(type='bool', default=False),
)


def main():
    m = CinderkitModule(
        argument_spec=dict(
            name=dict(type='str'),
            size=dict(type='raw'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            source=dict(type='dict', options=SOURCE_SPEC),
            to_image=dict(type='dict', options=dict(
                path=dict(type='path', required=True),
                format=dict(type='str', choices=['raw', 'qcow2'], default='raw'),
                compress=dict(type='bool', default=False),
                force=dict(type='bool', default=False),
            )),
            volumes=dict(type='list', elements='dict', options=dict(
                name=dict(type='str', required=True),
                size=dict(type='raw'),
                state=dict(type='str', choices=['present', 'absent']),
                source=dict(type='dict', options=SOURCE_SPEC),
            )),
        ),
        required_one_of=[['name', 'volumes']],
        mutually_exclusive=[['name', 'volumes'], ['size', 'volumes'], ['source', 'volumes'],
                            ['to_image', 'volumes']],
    )
    m.converge(VolumeTask)


if __name__ == '__main__':
    main()
