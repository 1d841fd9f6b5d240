# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  backend:
    description:
      - The backend, as a dict of Cinder driver options (the keys of a cinder.conf backend section).
      - C(volume_driver) picks the driver by registry name (C(lvm), C(rbd)) or by Cinder's class path
        (C(cinder.volume.drivers.lvm.LVMVolumeDriver)); Cinder's default is LVM.
      - Options keep Cinder's names and defaults, for example C(volume_group) (C(cinder-volumes)),
        C(lvm_type) (C(auto)), C(lvm_conf_file), C(volume_clear) (C(zero)), C(target_helper) (C(tgtadm)),
        C(max_over_subscription_ratio), C(reserved_percentage). cinderkit adds C(copy_timeout) (C(3600)
        seconds, C(0) for no limit); a copy (clone, image in or out) that takes longer is stopped and its
        half-made volume removed.
      - "RBD (C(volume_driver: rbd), needs python3-rbd and python3-rados on the managed node): C(rbd_pool)
        (C(rbd)), C(rbd_user), C(rbd_ceph_conf), C(rbd_cluster_name) (C(ceph)), C(rbd_keyring_conf),
        C(rbd_secret_uuid), C(rbd_flatten_volume_from_snapshot), C(rbd_max_clone_depth) (C(5)),
        C(rbd_store_chunk_size) (C(4)), C(rados_connect_timeout) (C(-1); set it, or an unreachable
        monitor blocks for librados' 300 s), C(report_dynamic_total_capacity), C(rbd_exclusive_cinder_pool);
        cinderkit adds C(rbd_secure_mode) (msgr2 encryption) and C(rbd_flatten_on_delete). RBD volumes
        are served natively unless C(target_helper) is set (C(tgtadm): iSCSI through tgt-rbd).
        See docs/lvm-to-rbd.md."
      - "File (C(volume_driver: file)): volumes are sparse files in C(file_volume_dir)
        (C($state_path/file-volumes)); snapshots and clones are reflinks where the file system shares
        extents (XFS with reflink, btrfs), else sparse copies of the allocated data;
        C(file_sparsed_volumes) (C(true)) false allocates volumes whole. Exported as files (tgt C(rdwr),
        LIO C(fileio), an nvmet file namespace)."
      - An option the driver does not know is an error that names it. Options that only matter to the
        Cinder service (image cache, scheduler hints) are accepted and reported as ignored.
      - Values of secret options (C(chap_password)) and of any option whose name looks secret (C(*password*),
        C(*secret*) except C(rbd_secret_uuid), C(*_key), C(*token*)) are masked in all output, at any verbosity
        and in C(ANSIBLE_LOG_PATH), also when the task fails in Ansible's argument checks (each module's
        action plugin masks them on the controller). Ansible itself prints the playbook lines just above a
        failing task (for an ad-hoc command, its arguments) and, with C(display_args_to_stdout), every
        task's arguments; keep secrets in (vaulted) variables, whose names are all those show.
      - Option values are single values (a list only for list options), finite numbers, without NUL bytes.
        C(volume_clear_ionice) takes only ionice class options (C(-c3), C(-c2 -n7)), since they go on the
        wipe's command line.
      - Mutually exclusive with O(config_file). Share it between tasks with
        C(module_defaults) and the C(group/cinderkit.storage.backend) action group.
    type: dict
  config_file:
    description:
      - Absolute path, on the managed node, of a cinder.conf-style file that holds the backend section.
      - A parse error names the file and the line number, never the line (it may hold a secret).
      - Values come from the O(backend_name) section, then C([backend_defaults]); C($my_ip) and
        C($state_path) interpolate from C([DEFAULT]).
    type: path
  backend_name:
    description:
      - Name of the backend section in O(config_file). Required with O(config_file).
    type: str
requirements:
  - oslo.config on the managed node
'''
