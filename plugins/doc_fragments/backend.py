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
        C(max_over_subscription_ratio), C(reserved_percentage).
      - An option the driver does not know is an error that names it. Options that only matter to the
        Cinder service (image cache, scheduler hints) are accepted and reported as ignored.
      - Values of secret options (C(chap_password)) are masked in all output.
      - Mutually exclusive with O(config_file). Share it between tasks with
        C(module_defaults) and the C(group/cinderkit.storage.backend) action group.
    type: dict
  config_file:
    description:
      - Path, on the managed node, of a cinder.conf-style file that holds the backend section.
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
