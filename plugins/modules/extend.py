#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: extend
short_description: Grow a volume, online where the backend allows it
version_added: 0.1.0
description:
  - Grows a volume to O(size). A no-op when it is already at least that size; never shrinks.
  - When the volume is exported, the export is refreshed so initiators see the new size.
  - "LVM: thin volumes and thick volumes without snapshots grow online. A thick volume with
    snapshots can only be resized while inactive (an LVM rule): it is deactivated, grown and
    reactivated, and RV(online) is false; if it is in use (exported or open) the task fails
    and nothing changes."
  - backend_facts' C(online_extend_support) reports whether volumes in use and exported grow online.
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
    description: Name of the volume.
    type: str
    required: true
  size:
    description:
      - New size. An integer is GiB; a string may carry a unit (C(512M), C(20G)).
    type: raw
    required: true
seealso:
  - module: cinderkit.storage.volume
  - module: cinderkit.storage.backend_facts
'''

EXAMPLES = r'''
- name: Grow db01-data to 20 GiB
  cinderkit.storage.extend:
    backend: "{{ backend }}"
    name: db01-data
    size: 20
  register: grown

- name: Tell whether it stayed online
  ansible.builtin.debug:
    msg: "online={{ grown.online }}"
'''

RETURN = r'''
online:
  description: Whether the volume stayed usable while it grew (null when nothing changed).
  returned: always
  type: bool
export_refreshed:
  description: Whether an export of the volume was refreshed to show the new size.
  returned: always
  type: bool
volume:
  description: The volume after the task (planned size in check mode); keys as in M(cinderkit.storage.volume).
  returned: always
  type: dict
commands:
  description: Commands this task ran.
  returned: always
  type: list
  elements: str
writes:
  description:
    - In-process changes, in order, secrets redacted; here the librbd resize, or the file the file
      driver grew.
    - No command ran for them, so C(commands) does not list them; after a failure they are what was done.
  returned: when the task made an in-process change
  type: list
  elements: str
'''

from ansible_collections.cinderkit.storage.plugins.module_utils._module import CinderkitModule
from ansible_collections.cinderkit.storage.plugins.module_utils._extend import ExtendTask


def main():
    m = CinderkitModule(argument_spec=dict(
        name=dict(type='str', required=True),
        size=dict(type='raw', required=True),
    ))
    m.converge(ExtendTask)


if __name__ == '__main__':
    main()
