#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: export
short_description: Export a volume over iSCSI or NVMe-oF with CHAP and initiator ACLs
version_added: 0.1.0
description:
  - Runs on the storage host. Exports one volume (O(volume)) through the backend's target helper
    (C(tgtadm), C(lioadm) or C(nvmet), Cinder's names and defaults) and returns the
    RV(connection_info) Cinder's C(initialize_connection) would return for it.
  - Only the initiators named in O(connector) or O(initiators) may log in (C(allow_any_host) only
    when asked for). iSCSI exports use one-way CHAP, generated when not given
    (a 20-character user name and a 16-character secret, as Cinder); mutual CHAP where the helper
    supports it (C(tgtadm), C(lioadm)).
  - Idempotent. A second run changes nothing, keeps the credentials it generated the first time
    (they are read back from the target and its saved configuration) and returns the same
    RV(connection_info).
  - Exports are saved where the target service restores them at start - tgt include files under
    C(volumes_dir) (mode 0600; C(/etc/tgt/conf.d) must include C(volumes_dir/*), as the
    P(cinderkit.storage.target_helper#role) role sets up), LIO's saveconfig, nvmet's config.json.
    A run with V(present) also restores an export the target lost (the ensure path);
    O(ensure_all) restores every saved export.
  - O(state=absent) removes exactly this export (target, CHAP accounts, saved entry) and leaves
    other exports alone. Removing an export that does not exist changes nothing.
  - Multiattach - several hosts attach one volume at once (O(connectors), or further tasks with
    other connectors); each connector adds its initiator to the ACL and leaves the sessions of
    the others alone. O(state=absent) with O(connector) or O(connectors) removes only their
    access (Cinder's C(terminate_connection)); the export goes when no initiator remains in its
    ACL (one ACL entry per initiator, as Cinder's LVM driver counts attachments).
  - Snapshot exports - O(snapshot) exports a snapshot read-only (Cinder's
    C(create_export_snapshot) and C(initialize_connection_snapshot)) - LVM snapshot LVs (thin
    snapshots are activated with C(lvchange -ay -K) first), the file driver's reflink file, or
    an RBD snapshot through tgt's C(rbd) backing store. Initiators cannot write it. A snapshot
    that is exported cannot be deleted (M(cinderkit.storage.snapshot) refuses it).
  - The result carries CHAP secrets, so the action plugin hides it from all output (also with
    C(-vvv)); register it to use RV(connection_info).
author:
  - cinderkit.storage maintainers (@cinderkit)
extends_documentation_fragment:
  - cinderkit.storage.backend
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - ansible.builtin.action_common_attributes.flow
  - cinderkit.storage.attributes
attributes:
  action_group:
    support: full
    membership: [cinderkit.storage.backend]
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  diff_mode:
    support: full
    details: Diffs show CHAP user names, never secrets.
options:
  volume:
    description:
      - Name of the volume to export. Required unless O(snapshot), O(volumes) or O(ensure_all)
        is set.  Mutually exclusive with O(snapshot).
      - Without O(device_path) it must be a volume of the backend (for LVM, a managed LV with a
        device node). The target name is C(target_prefix) + O(volume) (Cinder's naming), so the
        name may hold only lower-case letters, digits, C(.), C(-) and C(:).
    type: str
  snapshot:
    description:
      - Name of a snapshot (M(cinderkit.storage.snapshot)) to export read-only instead of a
        volume. The target name is C(target_prefix) + O(snapshot), as Cinder's
        C(create_export_snapshot); RV(connection_info) has Cinder's
        C(initialize_connection_snapshot) shape (C(volume_id) is the snapshot).
      - C(tgtadm) (LUN C(readonly=1), kept in the include file) and C(lioadm) (a read-only
        block backstore and write-protected mapped LUNs) can; C(nvmet) only where the kernel's
        configfs has a read-only namespace attribute (mainline Linux has none, so it refuses).
      - Mutually exclusive with O(volume), O(volumes) and O(device_path).
    type: str
  state:
    description:
      - V(present) creates, updates or restores the export; V(absent) removes it.
      - V(absent) with O(connector) or O(connectors) removes only their initiators from the ACL,
        and the export when no initiator remains.
    type: str
    choices: [present, absent]
    default: present
  volumes:
    description:
      - Bulk form. Export (or remove the exports of) many volumes in one task, with ONE query of
        the target's state and one save of its configuration, whatever the count.
      - Each item takes O(volume), O(state) (default O(state)) and O(device_path);
        O(connector), O(initiators), O(allow_any_host) and O(auth) apply to every item.
      - Each record of RV(exports) carries its own C(connection_info).
    type: list
    elements: dict
    suboptions:
      volume:
        description: Name of the volume, as O(volume).
        type: str
        required: true
      state:
        description: State of this export; defaults to the task's O(state).
        type: str
        choices: [present, absent]
      device_path:
        description: As O(device_path).
        type: path
  device_path:
    description:
      - Export this block device or regular file instead of resolving O(volume) through the
        backend driver. Use it on hosts where an LV has no device node (no device-mapper), or to
        export a file. The backend's volume group is then not consulted.
      - An absolute, normalised path. With C(tgtadm) it may hold only letters, digits and
        the punctuation C(._/+:@,=%-), because tgt's service restore passes its include files to a shell.
    type: path
  connector:
    description:
      - The initiator host, as os-brick's connector properties (C(os_brick.initiator.connector.
        get_connector_properties)). C(initiator) (iSCSI) or C(nqn) (NVMe-oF) is added to the
        export's ACL; other initiators keep their access (Cinder's C(initialize_connection)).
        C(multipath) true returns every portal. Other keys (C(host), C(ip), C(platform) ...) are
        accepted and ignored.
      - Mutually exclusive with O(initiators) and O(connectors).
    type: dict
  connectors:
    description:
      - Multiattach - several initiator hosts at once, each as O(connector). Each C(initiator)
        (iSCSI) or C(nqn) (NVMe-oF) is checked and added to the ACL; initiators already there
        keep their access and sessions.
      - More than one only where the driver and the target helper can attach a volume to several
        hosts (C(backend_facts) C(multiattach)) - C(tgtadm), C(lioadm) and C(nvmet) can; RBD
        served natively (no target helper) cannot.
      - RV(connections) returns the connection info of each, keyed by its C(host).
      - Mutually exclusive with O(connector) and O(initiators).
    type: list
    elements: dict
  initiators:
    description:
      - The exact list of initiator names allowed to log in (IQNs for iSCSI, host NQNs for
        nvmet); initiators not listed lose access.
    type: list
    elements: str
  allow_any_host:
    description:
      - Let any initiator log in (CHAP still applies to iSCSI). Off unless asked for.
    type: bool
    default: false
  target_helper:
    description:
      - The target helper, overriding the backend's C(target_helper) (Cinder's default C(tgtadm)).
      - With C(nvmet) and the backend's C(target_protocol) left at C(iscsi), C(nvmet_tcp) is used.
    type: str
    choices: [tgtadm, lioadm, nvmet]
  auth:
    description:
      - CHAP for iSCSI exports. Without it, the export keeps its credentials, or gets the
        backend's C(chap_username)/C(chap_password) when C(use_chap_auth) is true (one credential
        for every export, as in Cinder), or generated ones (also with C(use_chap_auth) true and
        no credentials, as Cinder's tgt and LIO targets do).
      - With C(tgtadm) one user name may serve many exports (tgt binds one account to many
        targets) only with the same secret everywhere; a tgt account that no saved export of
        this collection names (another tool's, or tgt's discovery account) is never replaced.
      - User names and secrets are checked for given, backend, saved and generated values alike.
    type: dict
    suboptions:
      method:
        description:
          - V(chap) (the default for iSCSI), V(dhchap) (NVMe in-band authentication, C(nvmet)
            only) or V(none) (ACL only; the default for C(nvmet)).
          - V(dhchap) needs a kernel with C(CONFIG_NVME_TARGET_AUTH) (Debian's 6.1 has none, 6.12
            has it); elsewhere the task fails before any change, never exporting without
            authentication. Each host (its NQN) gets its own key, set in nvmet's configfs and its
            saved configuration (0600), returned in RV(connection_info) as C(dhchap_secret) (and
            C(dhchap_ctrl_secret)) for M(cinderkit.storage.attachment). Once an export
            authenticates, every host added later gets a key too; taking authentication off is
            refused (remove the export instead). V(dhchap) with O(allow_any_host) is refused.
        type: str
        choices: [chap, dhchap, none]
      username:
        description:
          - CHAP user name the initiator logs in with; letters, digits and the punctuation C(._:@-).
        type: str
      password:
        description:
          - CHAP secret of the initiator, 12 to 255 characters (Windows accepts at most 16) of
            letters, digits and the punctuation C(._~+=-). Blanks, quotes and shell punctuation are refused, since
            tgt's service restore (C(tgt-admin -e)) passes its include files to C(/bin/sh).
          - Not masked by the module itself (the result must carry it); the action plugin hides
            the whole result.
        type: str
      mutual:
        description:
          - Also authenticate the target to the initiator (mutual CHAP), generating the target's
            credentials when O(auth.mutual_username) is not given.
        type: bool
        default: false
      mutual_username:
        description: CHAP user name of the target (mutual CHAP); the characters of O(auth.username).
        type: str
      mutual_password:
        description:
          - CHAP secret of the target (mutual CHAP); must differ from O(auth.password). The
            characters and length of O(auth.password).
        type: str
      dhchap_secret:
        description:
          - DH-HMAC-CHAP host key (V(dhchap)) for the hosts of this task (O(connector),
            O(connectors) or O(initiators)), in the C(DHHC-1:NN:base64:) form with its CRC, as
            C(nvme gen-dhchap-key) prints it. Left out, a host keeps its key, or gets a generated
            32-byte key (Python's C(secrets)).
        type: str
      dhchap_ctrl_secret:
        description:
          - Controller key for bidirectional authentication (the host checks the target); implies
            O(auth.bidirectional). Must differ from O(auth.dhchap_secret).
        type: str
      bidirectional:
        description: Bidirectional DH-HMAC-CHAP, with a generated controller key unless given.
        type: bool
        default: false
      dhchap_hash:
        description: The hash nvmet offers (its C(dhchap_hash)); default hmac(sha256).
        type: str
        choices: ['hmac(sha256)', 'hmac(sha384)', 'hmac(sha512)']
      dhchap_dhgroup:
        description: The Diffie-Hellman group (its C(dhchap_dhgroup)); default null (no DH exchange).
        type: str
        choices: ['null', ffdhe2048, ffdhe3072, ffdhe4096, ffdhe6144, ffdhe8192]
  ensure_all:
    description:
      - Restore every export the helper has saved but the target lost (after a restart of the
        target service or of the host), and save live exports that are not saved. The handler of
        P(cinderkit.storage.target_helper#role) runs it. Mutually exclusive with O(volume).
    type: bool
    default: false
notes:
  - NVMe-oF connection info comes in os-brick's two shapes; the backend option
    C(nvmeof_conn_info_version) (1, Cinder's default, or 2) selects one.
  - tgt has no resize; after a volume grows, its LUN is re-created (M(cinderkit.storage.extend)
    does it), which interrupts I/O in flight. LIO and nvmet show the new size online.
  - Option C(tgt_control_port) (cinderkit) points C(tgtadm) at a tgtd started with C(-C N).
  - Two tasks on one host take turns - a host lock (C(fcntl) on a file under
    C(/run/lock/cinderkit)) per tgtd, for LIO and for nvmet is held from the task's query of the
    target state to its last write; a task that waits more than 300 s fails naming the lock file.
  - Backend options are checked before any command - C(volumes_dir) absolute and normalised,
    C(iscsi_target_flags) a list of tgt flags (C(direct), C(sync)), C(target_ip_address) an IP
    address (C(tgtadm) also takes a host name). The directory that keeps the saved exports must be
    writable before anything is made, in check mode too.
  - A failure after a change reports C(changed=true), what was done before it (C(done)) and the
    item that failed (C(failed_item)); for example a live tgt target whose include file could
    not be written. A re-run saves it.
  - LIO backstores this collection makes carry a random WWN recorded in
    C(cinderkit-backstores.json) beside LIO's saved configuration; another backstore with an
    export's name is never deleted or replaced.
seealso:
  - module: cinderkit.storage.volume
  - module: cinderkit.storage.extend
'''

EXAMPLES = r'''
- name: Export a volume to one compute host with generated CHAP
  cinderkit.storage.export:
    backend: "{{ backend }}"
    volume: db01-data
    connector:
      initiator: iqn.2004-10.com.ubuntu:01:3f2a1b0c9d8e
      host: compute01
      multipath: false
  register: exp

- name: Give the connection info to the compute host (keep it out of logs)
  ansible.builtin.copy:
    content: "{{ exp.connection_info | to_json }}"
    dest: /root/db01-data.json
    mode: "0600"
  delegate_to: compute01
  no_log: true

- name: Export a file on a host without device-mapper, through LIO, with mutual CHAP
  cinderkit.storage.export:
    backend: {target_helper: lioadm, target_ip_address: 192.0.2.10}
    volume: scratch01
    device_path: /srv/images/scratch01.img
    initiators: [iqn.2004-10.com.ubuntu:01:3f2a1b0c9d8e]
    auth: {mutual: true}

- name: NVMe/TCP export, connection info in os-brick's version 2 shape
  cinderkit.storage.export:
    backend: {target_helper: nvmet, target_protocol: nvmet_tcp, target_port: 4420,
              target_prefix: nvme-subsystem-1, nvmeof_conn_info_version: 2}
    volume: db01-data
    connector: {nqn: "nqn.2014-08.org.nvmexpress:uuid:2b1e9b0a-7c1f-4f5e-9a51-0c3d5e6f7a81"}

- name: Attach one volume to two hosts at once (multiattach)
  cinderkit.storage.export:
    backend: "{{ backend }}"
    volume: shared01
    connectors:
      - {initiator: "iqn.2004-10.com.ubuntu:01:aa11", host: node1}
      - {initiator: "iqn.2004-10.com.ubuntu:01:bb22", host: node2}
  register: shared

- name: Detach node1 only (node2 keeps its access; the export goes with the last one)
  cinderkit.storage.export:
    backend: "{{ backend }}"
    volume: shared01
    state: absent
    connector: {initiator: "iqn.2004-10.com.ubuntu:01:aa11", host: node1}

- name: Export a snapshot read-only to a backup host
  cinderkit.storage.export:
    backend: "{{ backend }}"
    snapshot: db01-nightly
    connector: {initiator: "iqn.2004-10.com.ubuntu:01:backup", host: backup01}

- name: Remove the export (other exports stay)
  cinderkit.storage.export:
    backend: "{{ backend }}"
    volume: db01-data
    state: absent

- name: Export many volumes to one compute host in one task
  cinderkit.storage.export:
    backend: "{{ backend }}"
    volumes:
      - {volume: web01-data}
      - {volume: web02-data}
      - {volume: old01-data, state: absent}
    connector: "{{ hostvars['compute01'].connector }}"
  register: many

- name: After a target restart, bring back every saved export
  cinderkit.storage.export:
    backend: "{{ backend }}"
    ensure_all: true
'''

RETURN = r'''
connection_info:
  description:
    - What Cinder's C(initialize_connection) returns for this export (os-brick's input).
    - iSCSI - C(driver_volume_type) (C(iscsi) or C(iser)) and C(data) with C(target_iqn),
      C(target_portal), C(target_lun), C(target_discovered), C(volume_id), C(discard),
      C(encrypted), C(auth_method)/C(auth_username)/C(auth_password) with CHAP, C(target_iqns)/
      C(target_portals)/C(target_luns) with several portals or C(connector.multipath), and
      C(auth_username_in)/C(auth_password_in) (open-iscsi's names) with mutual CHAP.
    - NVMe-oF - C(driver_volume_type) C(nvmeof) and C(data) in version 1 (C(nqn),
      C(transport_type), C(target_portal), C(target_port), C(ns_id)) or version 2 (C(target_nqn),
      C(vol_uuid), C(portals) as [address, port, transport], C(ns_id)); ports and ns_id are strings.
  returned: with O(state=present)
  type: dict
  sample:
    driver_volume_type: iscsi
    data:
      target_discovered: false
      target_iqn: iqn.2010-10.org.openstack:db01-data
      target_portal: 192.0.2.10:3260
      target_lun: 1
      volume_id: db01-data
      discard: false
      encrypted: false
      auth_method: CHAP
      auth_username: 7Kd2mPq9RtWx3YzAbCdE
      auth_password: (secret)
export:
  description: The export (single form). Secrets redacted.
  returned: when O(volume) is given
  type: dict
  contains:
    volume:
      description: Volume name.
      type: str
    action:
      description: What this task did (or would do).
      type: str
      choices: [create, update, restore, delete, none]
    target:
      description: Target IQN or subsystem NQN.
      type: str
    device_path:
      description: The exported block device or file.
      type: str
    lun:
      description: LUN (tgt 1, LIO 0) or NVMe namespace id.
      type: int
    initiators:
      description: Initiators in the ACL.
      type: list
      elements: str
    allow_any_host:
      description: Whether any initiator may log in.
      type: bool
    auth:
      description: CHAP user names (secrets shown as C(<redacted>)), or null.
      type: dict
    live:
      description: Whether the target serves it now.
      type: bool
    snapshot:
      description: With O(snapshot), the exported snapshot (RV(export.volume) is its volume).
      type: str
      returned: with O(snapshot)
    read_only:
      description: Whether initiators can only read the LUN (a snapshot export).
      type: bool
    activated:
      description: Whether this task activated the snapshot's device (LVM thin, C(lvchange -ay -K)).
      type: bool
      returned: when it did (or would)
    removed_initiators:
      description: With O(state=absent) and connectors, the initiators whose access was removed.
      type: list
      elements: str
      returned: when a connector's access was removed
    persisted:
      description: Whether it is saved for the next start of the target service.
      type: bool
    generated_credentials:
      description: Whether this task generated CHAP credentials.
      type: bool
connections:
  description:
    - With O(connector) or O(connectors) and O(state=present), the connection info for each
      connector (the shape of RV(connection_info)), keyed by the connector's C(host), else by its
      initiator name or host NQN.
  returned: with O(connector) or O(connectors) and O(state=present)
  type: dict
  sample:
    compute01:
      driver_volume_type: iscsi
      data:
        target_iqn: iqn.2010-10.org.openstack:db01-data
        target_portal: 192.0.2.10:3260
        target_lun: 1
        volume_id: db01-data
exports:
  description:
    - With O(volumes), one record per item, in order, with the keys of RV(export) and, for
      O(state=present), its own C(connection_info).
    - With O(ensure_all), one record per export that was (or would be) restored.
  returned: with O(volumes) or O(ensure_all)
  type: list
  elements: dict
diff:
  description: Before and after, with CHAP user names only.
  returned: when changed and diff mode is on
  type: dict
done:
  description: On a failure after a change, the items applied before it (C(volume), C(action)).
  returned: on failure
  type: list
  elements: dict
failed_item:
  description:
    - On a failure while applying, the item that failed (C(volume), C(action)) and whether its
      own step left a change (C(changed)).
  returned: on failure
  type: dict
commands:
  description: Commands this task ran, in order, with secrets redacted.
  returned: always
  type: list
  elements: str
writes:
  description:
    - In-process changes of the volume's driver, in order, secrets redacted. None today, so the key is
      absent; the target helpers' own configfs and rtslib writes show in C(export) or C(exports), not here.
    - A driver that makes one lists it here, since no command ran for it and C(commands) cannot show it.
  returned: when the task made an in-process change
  type: list
  elements: str
'''

from ansible_collections.cinderkit.storage.plugins.module_utils import _exports

AUTH_SPEC = dict(
    method=dict(type='str', choices=['chap', 'dhchap', 'none']),
    dhchap_secret=dict(type='str', no_log=False),
    dhchap_ctrl_secret=dict(type='str', no_log=False),
    bidirectional=dict(type='bool', default=False),
    dhchap_hash=dict(type='str', choices=['hmac(sha256)', 'hmac(sha384)', 'hmac(sha512)']),
    dhchap_dhgroup=dict(type='str', choices=['null', 'ffdhe2048', 'ffdhe3072', 'ffdhe4096',
                                             'ffdhe6144', 'ffdhe8192']),
    username=dict(type='str'),
    password=dict(type='str', no_log=False),
    mutual=dict(type='bool', default=False),
    mutual_username=dict(type='str'),
    mutual_password=dict(type='str', no_log=False),
)


def main():
    m = _exports.ExportModule(
        argument_spec=dict(
            volume=dict(type='str'),
            snapshot=dict(type='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            device_path=dict(type='path'),
            connector=dict(type='dict'),
            connectors=dict(type='list', elements='dict'),
            initiators=dict(type='list', elements='str'),
            allow_any_host=dict(type='bool', default=False),
            target_helper=dict(type='str', choices=['tgtadm', 'lioadm', 'nvmet']),
            auth=dict(type='dict', options=AUTH_SPEC),
            ensure_all=dict(type='bool', default=False),
            volumes=dict(type='list', elements='dict', options=dict(
                volume=dict(type='str', required=True),
                state=dict(type='str', choices=['present', 'absent']),
                device_path=dict(type='path'),
            )),
        ),
        mutually_exclusive=[['connector', 'initiators'], ['volume', 'volumes'],
                            ['device_path', 'volumes'], ['ensure_all', 'volumes'],
                            ['connectors', 'connector'], ['connectors', 'initiators'],
                            ['snapshot', 'volume'], ['snapshot', 'volumes'],
                            ['snapshot', 'device_path'], ['snapshot', 'ensure_all']],
    )
    m.converge(_exports.ExportTask)


if __name__ == '__main__':
    main()
