#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: attachment
short_description: Attach an exported volume on the initiator host through os-brick
version_added: 0.1.0
description:
  - Runs on the initiator (compute) host. Takes the RV(cinderkit.storage.export#module:connection_info)
    that M(cinderkit.storage.export) returns on the storage host and connects it with os-brick's
    connector for its protocol - C(iscsi) and C(iser) (open-iscsi), C(nvmeof) (NVMe-oF, both of
    os-brick's connection info shapes), C(rbd) (the kernel RBD client, C(rbd map)) and C(local)
    (a block device of this host, for same-host use). os-brick does the work (logins, scans,
    flushes, logouts); this module decides whether there is anything to do.
  - V(present) returns the block device. A second run finds the existing session and device and
    changes nothing (os-brick does not count users of a session, so connecting twice would let one
    disconnect remove it for both).
  - V(absent) flushes the device, then logs out (iSCSI), disconnects the controller (NVMe-oF) or
    unmaps (RBD). Detaching something that is not attached changes nothing.
  - Every run returns RV(connector), this host's connector properties - the dict the export module
    takes as O(cinderkit.storage.export#module:connector). V(connector) returns only that, so a play
    can read it on the compute host, export on the storage host, then attach on the compute host.
  - CHAP secrets and keyring keys in O(connection_info) are masked in all output; the connection
    info is never echoed back.
  - Needs root (C(become) - os-brick runs its privileged calls in this process, without sudo or
    privsep-helper), the Python library os-brick, and the initiator tools of the protocol -
    C(iscsiadm) (package open-iscsi, with iscsid running), C(nvme) (nvme-cli), C(rbd)
    (ceph-common), C(multipath) and C(multipathd) (multipath-tools) with O(use_multipath).
    A missing one is an error that names the package.
author:
  - cinderkit.storage maintainers (@cinderkit)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - cinderkit.storage.attributes
attributes:
  check_mode:
    support: full
    details: Looks up the attachment and reports what would change. Reading the connector
      properties may make os-brick create /etc/nvme/hostid when missing.
options:
  state:
    description:
      - V(present) attaches, V(absent) detaches, V(connector) only reports RV(connector).
    type: str
    choices: [present, absent, connector]
    default: present
  connection_info:
    description:
      - Cinder's connection info, C({driver_volume_type, data}), as the export module returns it.
        Required with V(present) and V(absent).
      - C(driver_volume_type) is C(iscsi), C(iser), C(nvmeof), C(rbd) or C(local).
      - iSCSI C(data) needs C(target_iqn), C(target_portal), C(target_lun) (or the plural lists), and
        C(auth_username)/C(auth_password) with C(auth_method=CHAP). NVMe-oF needs C(nqn),
        C(transport_type), C(target_portal), C(target_port) and C(ns_id) (version 1) or C(target_nqn)
        and C(portals) (version 2); ports and C(ns_id) may be numbers or strings (they are passed to
        os-brick as strings). RBD needs C(name) (C(pool/image)), C(hosts), C(ports). Local needs
        C(device_path), a block device under C(/dev).
    type: dict
  use_multipath:
    description:
      - Use multipath (iSCSI - device-mapper multipath; NVMe-oF - the kernel's native multipath).
        RV(attachment.path) is then the multipath device.
    type: bool
    default: false
  enforce_multipath:
    description:
      - With O(use_multipath), fail when multipathd is not running instead of using a single path.
      - It also refuses a connection_info with one portal (iSCSI, iSER, NVMe-oF) before anything
        runs, since one path cannot be multipath.
    type: bool
    default: false
  device_scan_attempts:
    description: How many times os-brick rescans for the device before it gives up.
    type: int
    default: 3
  lock_path:
    description:
      - Absolute path of the directory for os-brick's lock files. Use the same one as other os-brick users on the host
        (Nova's C([os_brick] lock_path)) so that their attach and detach calls do not race.
    type: path
    default: /var/lib/cinderkit/locks
  my_ip:
    description: The C(ip) reported in RV(connector). Default - the address of the default route.
    type: str
  host:
    description: The C(host) reported in RV(connector). Default - this host's name.
    type: str
  rbd_keyring_file:
    description:
      - RBD only. The absolute path of a Ceph keyring file on this host for C(auth_username) (the export module never
        sends key material). Without it the C(rbd) command uses the usual
        C(/etc/ceph/CLUSTER.client.USER.keyring).
    type: path
  rbd_map_options:
    description:
      - RBD only. Kernel rbd (krbd) map options, comma-separated, as C(rbd device map -o) takes
        them (rbd(8)), e.g. V(ms_mode=secure) for a cluster whose monitors speak messenger v2
        only. os-brick's RBD connector has no such option; they reach C(rbd map) through
        C(CEPH_ARGS) (C(--rbd_default_map_options)), never a shell.
      - Without it krbd speaks messenger v1, which a v2-only cluster refuses (the error says so).
    type: str
  force:
    description: With V(absent), detach even when flushing the device fails (data may be lost).
    type: bool
    default: false
notes:
  - "Connecting the same volume from the same host as the storage host (C(127.0.0.1) portals) works:
    the VM tier of this collection attaches LIO and nvmet exports over loopback."
seealso:
  - module: cinderkit.storage.export
'''

EXAMPLES = r'''
- name: Connector properties of the compute host
  cinderkit.storage.attachment:
    state: connector
  become: true
  register: compute

- name: Export the volume to it (on the storage host)
  cinderkit.storage.export:
    backend: "{{ backend }}"
    volume: db01-data
    connector: "{{ compute.connector }}"
  delegate_to: stor01
  register: exp

- name: Attach it
  cinderkit.storage.attachment:
    connection_info: "{{ exp.connection_info }}"
  become: true
  register: att

- name: Show the device
  ansible.builtin.debug:
    msg: "{{ att.attachment.path }}"

- name: Detach (flush, then logout)
  cinderkit.storage.attachment:
    connection_info: "{{ exp.connection_info }}"
    state: absent
  become: true
'''

RETURN = r'''
attachment:
  description: The attachment (planned in check mode). Never contains secrets.
  returned: with O(state=present) or O(state=absent)
  type: dict
  contains:
    protocol:
      description: The C(driver_volume_type).
      type: str
    action:
      description: What this task did (or would do).
      type: str
      choices: [connect, disconnect, none]
    attached:
      description: Whether the volume is attached after this task.
      type: bool
    path:
      description: The block device to use (the multipath device with O(use_multipath)).
      type: str
      sample: /dev/sdb
    devices:
      description: The block devices of the volume (one per path).
      type: list
      elements: str
    multipath_device:
      description: The multipath device (C(/dev/dm-N), or the NVMe namespace head), or null.
      type: str
    multipath_name:
      description: iSCSI multipath only. The C(/dev/mapper) name of the multipath device.
      type: str
    size_bytes:
      description: Size of the device.
      type: int
    target:
      description: Target IQN, subsystem NQN, C(pool/image), or the local device.
      type: str
    portals:
      description: Portals of the connection.
      type: list
      elements: str
    lun:
      description: iSCSI LUN.
      type: int
    ns_id:
      description: NVMe-oF namespace id (when the connection info gives one).
      type: str
    scsi_wwn:
      description: iSCSI only, when this task connected. The WWN os-brick found.
      type: str
connector:
  description:
    - This host's connector properties (os-brick's C(get_connector_properties)) - C(initiator)
      (iSCSI initiator name), C(nqn) and C(nvme_hostid) (NVMe host), C(host), C(ip), C(multipath),
      C(platform), C(os_type) and others. Not secret. Give it to the export module as
      O(cinderkit.storage.export#module:connector).
  returned: always
  type: dict
  sample:
    initiator: iqn.1993-08.org.debian:01:3f2a1b0c9d8e
    nqn: nqn.2014-08.org.nvmexpress:uuid:2b1e9b0a-7c1f-4f5e-9a51-0c3d5e6f7a81
    host: compute01
    ip: 192.0.2.20
    multipath: false
    enforce_multipath: false
    platform: x86_64
    os_type: linux
diff:
  description: Attached before and after, with the device path.
  returned: when changed and diff mode is on
  type: dict
brick_log:
  description: os-brick's warnings and errors, secrets masked.
  returned: on failure of an os-brick call
  type: list
  elements: str
commands:
  description: Commands os-brick ran for this task, in order, secrets redacted.
  returned: always
  type: list
  elements: str
writes:
  description:
    - In-process changes, in order, secrets redacted. None today, so the key is absent; the shipped
      drivers attach and detach with commands only (os-brick, C(rbd map)).
    - A driver that makes one lists it here, since no command ran for it and C(commands) cannot show it.
  returned: when the task made an in-process change
  type: list
  elements: str
'''

from ansible_collections.cinderkit.storage.plugins.module_utils._module import CinderkitModule
from ansible_collections.cinderkit.storage.plugins.module_utils._attach import AttachTask


def main():
    m = CinderkitModule(
        argument_spec=dict(
            state=dict(type='str', choices=['present', 'absent', 'connector'], default='present'),
            connection_info=dict(type='dict'),
            use_multipath=dict(type='bool', default=False),
            enforce_multipath=dict(type='bool', default=False),
            device_scan_attempts=dict(type='int', default=3),
            lock_path=dict(type='path', default='/var/lib/cinderkit/locks'),
            my_ip=dict(type='str'),
            host=dict(type='str'),
            rbd_keyring_file=dict(type='path', no_log=False),
            rbd_map_options=dict(type='str'),
            force=dict(type='bool', default=False),
        ),
        with_backend=False,
    )
    m.converge(AttachTask)


if __name__ == '__main__':
    main()
