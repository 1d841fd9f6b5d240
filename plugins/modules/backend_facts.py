#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: backend_facts
short_description: Cinder-style stats and capabilities of a storage backend
version_added: 0.1.0
description:
  - Returns what Cinder's C(get_volume_stats) and C(init_capabilities) return for the backend, as
    C(ansible_facts.cinderkit_backends[<volume_backend_name>]).
  - For LVM the stats come from one C(vgs) and one C(lvs) call in JSON, whatever the LV count.
  - For RBD on an exclusive pool (O(ignore:rbd_exclusive_cinder_pool=true), the default) the stats
    come from one pool listing, one read of the record object C(cinderkit.volumes) (each managed
    volume's image id and size, kept by the volume tasks) and two mon commands, whatever the image
    count; only images the record does not explain are opened. A shared pool opens every image, as
    Cinder does.
  - On an exclusive pool a volume's size comes from that record, so a resize made outside this
    collection (for example with the C(rbd) CLI) shows in C(provisioned_capacity_gb) only after a
    task of this collection next changes that volume. Set O(ignore:rbd_exclusive_cinder_pool=false)
    for figures read from every image.
  - Changes nothing. With O(ignore:lvm_type=auto) and no thin pool yet, the stats describe the
    volume group as it is (thick); the pool is created by the first volume task.
author:
  - cinderkit.storage maintainers (@cinderkit)
extends_documentation_fragment:
  - cinderkit.storage.backend
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - ansible.builtin.action_common_attributes.facts
  - cinderkit.storage.attributes
attributes:
  action_group:
    support: full
    membership: [cinderkit.storage.backend]
  diff_mode:
    support: none
  facts:
    support: full
options: {}
'''

EXAMPLES = r'''
- name: Read the LVM backend's stats
  cinderkit.storage.backend_facts:
    backend:
      volume_driver: lvm
      volume_group: cinder-volumes
      volume_backend_name: lvm-1

- name: Show free space
  ansible.builtin.debug:
    msg: "{{ ansible_facts.cinderkit_backends['lvm-1'].free_capacity_gb }} GiB free"
'''

RETURN = r'''
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: complex
  contains:
    cinderkit_backends:
      description: Backend name to its stats. Each call sets the entry of its own backend.
      type: dict
      contains:
        volume_backend_name:
          description: C(volume_backend_name) option, else the driver's default (C(LVM)).
          type: str
          sample: LVM
        vendor_name:
          description: Vendor name, as Cinder's driver reports it.
          type: str
          sample: Open Source
        driver_version:
          description: Driver version.
          type: str
          sample: 3.0.0
        storage_protocol:
          description: Cinder's spelling of the protocol (C(iSCSI), C(iSER), C(NVMe-oF), C(ceph)).
          type: str
          sample: iSCSI
        total_capacity_gb:
          description: Total capacity in GiB (the thin pool for thin LVM, else the VG).
          type: float
        free_capacity_gb:
          description: Free capacity in GiB.
          type: float
        reserved_percentage:
          description: The C(reserved_percentage) option.
          type: int
        online_extend_support:
          description: Whether M(cinderkit.storage.extend) grows volumes that are in use and exported.
          type: bool
        multiattach:
          description:
            - Whether a volume can be attached to several hosts at once (M(cinderkit.storage.export)
              with C(connectors)) - true only where the driver AND the backend's target helper can
              (C(tgtadm), C(lioadm), C(nvmet); not RBD served natively). Each pool's C(multiattach)
              says the same.
          type: bool
        dhchap_support:
          description:
            - Whether exports can authenticate NVMe hosts (DH-HMAC-CHAP, M(cinderkit.storage.export)
              O(cinderkit.storage.export#module:auth.method=dhchap)) on the running kernel - true only
              for C(nvmet) on a kernel with C(CONFIG_NVME_TARGET_AUTH) (Debian's 6.12, not 6.1);
              null when the kernel cannot tell (nvmet not loaded and no kernel config in /boot).
          type: bool
        pools:
          description:
            - One pool per backend pool, with C(pool_name), C(total_capacity_gb), C(free_capacity_gb),
              C(provisioned_capacity_gb), C(max_over_subscription_ratio), C(thin_provisioning_support),
              C(thick_provisioning_support), C(total_volumes), C(location_info), C(multiattach),
              C(backend_state), C(QoS_support), C(reserved_percentage), C(filter_function) and
              C(goodness_function), as Cinder's driver reports them.
          type: list
          elements: dict
        capabilities:
          description:
            - Cinder's C(init_capabilities) output - the stats plus C(properties) (standard
              C(thin_provisioning), C(compression), C(qos), C(replication_enabled) and vendor
              properties under C(vendor_prefix)).
          type: dict
commands:
  description: Commands this task ran.
  returned: always
  type: list
  elements: str
'''

from ansible_collections.cinderkit.storage.plugins.module_utils._module import CinderkitModule
from ansible_collections.cinderkit.storage.plugins.module_utils._options import mask_raw_secrets


def run(m):
    mask_raw_secrets(m)   # before anything can fail and echo the arguments
    driver = m.driver
    stats = m.backend.stats()
    facts = dict(stats)
    facts['capabilities'] = driver.init_capabilities(stats)
    return dict(changed=False, ansible_facts=dict(cinderkit_backends={driver.backend_name: facts}))


def main():
    m = CinderkitModule(argument_spec=dict())
    m.run(run)


if __name__ == '__main__':
    main()
