#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: discovery_auth
short_description: Set iSCSI discovery CHAP (one-way or mutual) on the storage host's target
version_added: 0.1.0
description:
  - Runs on the storage host. Sets the CHAP credentials an initiator must give before the target
    lists its targets (SendTargets discovery), and optionally the credentials the target gives
    back (mutual CHAP).
  - Only the C(lioadm) helper has discovery CHAP. It is set through rtslib (configfs writes), so
    no secret is ever on a command line, and saved with LIO's configuration (mode 0600) where the
    restore service reads it. C(tgtadm) has no discovery CHAP (tgt binds accounts to targets only)
    and C(nvmet) has no CHAP; both are refused.
  - Credentials not given are kept from the target, or generated (a 20-character user name and a
    16-character secret, as Cinder's per-export CHAP).
  - The result carries the secrets, so the action plugin hides it from all output (also with
    C(-vvv)); register it to hand the credentials to initiators.
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
  diff_mode:
    support: full
    details: Diffs show CHAP user names, never secrets.
options:
  state:
    description:
      - V(present) enforces discovery CHAP with these credentials; V(absent) turns it off.
    type: str
    choices: [present, absent]
    default: present
  target_helper:
    description:
      - The target helper, overriding the backend's C(target_helper). Only V(lioadm) has discovery CHAP.
    type: str
    choices: [tgtadm, lioadm, nvmet]
  auth:
    description: The credentials. Left out, they are kept from the target or generated.
    type: dict
    suboptions:
      username:
        description: User name the initiator discovers with; letters, digits and C(._:@-).
        type: str
      password:
        description:
          - Secret of the initiator, 12 to 255 characters of letters, digits and C(._~+=-).
        type: str
      mutual:
        description: Have the target authenticate itself too (mutual CHAP), generating its
          credentials when not given.
        type: bool
        default: false
      mutual_username:
        description: User name the target answers with (mutual CHAP).
        type: str
      mutual_password:
        description: Secret the target answers with (mutual CHAP); must differ from O(auth.password).
        type: str
'''

EXAMPLES = r'''
- name: Discovery CHAP on LIO, credentials generated once and kept
  cinderkit.storage.discovery_auth:
    backend:
      volume_group: cinder-volumes
      target_helper: lioadm
  register: disc

- name: Mutual discovery CHAP with given credentials
  cinderkit.storage.discovery_auth:
    backend:
      volume_group: cinder-volumes
      target_helper: lioadm
    auth:
      username: discoveryuser
      password: "{{ vault_discovery_secret }}"
      mutual_username: storagehost
      mutual_password: "{{ vault_discovery_mutual_secret }}"

- name: Turn discovery CHAP off
  cinderkit.storage.discovery_auth:
    backend:
      volume_group: cinder-volumes
      target_helper: lioadm
    state: absent
'''

RETURN = r'''
discovery_auth:
  description: The discovery CHAP the target has after the task.
  returned: always
  type: dict
  contains:
    enabled:
      description: Whether discovery CHAP is enforced.
      type: bool
    username:
      description: The initiator's user name.
      type: str
    password:
      description: The initiator's secret (the whole result is hidden from output).
      type: str
    mutual_username:
      description: The target's user name (mutual CHAP), or null.
      type: str
    mutual_password:
      description: The target's secret (mutual CHAP), or null.
      type: str
    action:
      description: V(create), V(update), V(remove) or V(none).
      type: str
    target_helper:
      description: The helper that was set.
      type: str
    generated_credentials:
      description: Whether this task generated credentials.
      type: bool
commands:
  description: Commands this task ran.
  returned: always
  type: list
  elements: str
'''

from ansible_collections.cinderkit.storage.plugins.module_utils._discovery import DiscoveryTask
from ansible_collections.cinderkit.storage.plugins.module_utils._exports import ExportModule


def main():
    m = ExportModule(argument_spec=dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        target_helper=dict(type='str', choices=['tgtadm', 'lioadm', 'nvmet']),
        auth=dict(type='dict', options=dict(
            username=dict(type='str'),
            password=dict(type='str', no_log=False),
            mutual=dict(type='bool', default=False),
            mutual_username=dict(type='str'),
            mutual_password=dict(type='str', no_log=False),
        )),
    ))
    m.converge(DiscoveryTask)


if __name__ == '__main__':
    main()
