# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The helper of a backend whose driver serves its volumes itself (RBD's ``rbd`` protocol).

Nothing is exported: there is no target-side state, so ``list_exports`` is
empty and a volume is never held by an export.  The connection info is the
driver's own (``VolumeDriver.connection_info``), given to the helper as its
``server`` by the task's Backend; this module never imports a driver.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import NotSupported
from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import (
    Target, register_target)


@register_target('native')
class Native(Target):
    """Volumes served by the driver's own protocol: no export, the driver's connection info."""

    protocols = ()
    exports_volumes = False
    # no 'multiattach': the clients open the RBD image themselves, and Cinder's RBD
    # multiattach needs the image's exclusive-lock feature off
    features = frozenset()
    initiator_kind = None
    lock_name = None
    # the driver serves the grown volume itself (RBD clients see a resize at once)
    online_extend = True
    # set by the Backend: the driver serving the volumes
    server = None

    @property
    def storage_protocol(self):
        return self.server.native_storage_protocol

    def list_exports(self, refresh=False):
        return {}

    def _nothing_to_export(self, *args):
        raise NotSupported('volumes of this backend are served by its driver (%s); there is '
                           'nothing to export: set the backend option target_helper to export '
                           'them through a target' % self.storage_protocol)

    create_export = ensure_export = update_export = remove_export = _nothing_to_export

    def commit(self):
        return None

    def initialize_connection(self, export, connector):
        return self.server.connection_info(export.volume, connector or {})

    def terminate_connection(self, export, connector):
        return False

    def extend_target(self, export):
        return False
